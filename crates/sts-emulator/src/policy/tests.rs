//! Unit tests of the policy language: parsing, matching, conditions, evaluation.

use super::matching::wildcard_match;
use super::*;

const BASTION_GROUP_POLICY: &str = r#"{"Version": "2012-10-17", "Statement": [
  {"Sid": "1", "Effect": "Allow", "Action": ["sts:AssumeRole"], "Resource": "*",
   "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}},
  {"Sid": "2", "Effect": "Allow", "Action": ["sts:GetSessionToken"], "Resource": "*"}]}"#;

const TRUST_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"},"NumericLessThan":{"aws:MultiFactorAuthAge":"43200"},"StringEquals":{"sts:ExternalId":"abc"}}}]}"#;

const ROLE_ARN: &str = "arn:aws:iam::222222222222:role/admin";

fn alice() -> Principal {
    Principal {
        account: "111111111111".into(),
        arn: "arn:aws:iam::111111111111:user/alice".into(),
    }
}

fn bob_elsewhere() -> Principal {
    Principal {
        account: "333333333333".into(),
        arn: "arn:aws:iam::333333333333:user/bob".into(),
    }
}

fn mfa(present: Option<bool>, age: Option<u64>, external_id: Option<&str>) -> ConditionContext {
    let mut ctx = ConditionContext::new();
    if let Some(present) = present {
        ctx.set("aws:MultiFactorAuthPresent", present.to_string());
    }
    if let Some(age) = age {
        ctx.set("aws:MultiFactorAuthAge", age.to_string());
    }
    if let Some(id) = external_id {
        ctx.set("sts:ExternalId", id);
    }
    ctx
}

fn identity(json: &str) -> Policy {
    Policy::parse(json, PolicyKind::Identity).expect("identity policy should parse")
}

fn trust(json: &str) -> Policy {
    Policy::parse(json, PolicyKind::Trust).expect("trust policy should parse")
}

fn eval(
    policy: &Policy,
    action: &str,
    resource: &str,
    principal: &Principal,
    ctx: &ConditionContext,
) -> Decision {
    policy.evaluate(&Request {
        action,
        resource,
        principal,
        context: ctx,
    })
}

/// Evaluate an identity policy for alice on `resource` with the given context.
fn eval_id(policy: &Policy, action: &str, resource: &str, ctx: &ConditionContext) -> Decision {
    eval(policy, action, resource, &alice(), ctx)
}

/// Evaluate a trust policy for `sts:AssumeRole` on ROLE_ARN.
fn eval_trust(policy: &Policy, principal: &Principal, ctx: &ConditionContext) -> Decision {
    eval(policy, "sts:AssumeRole", ROLE_ARN, principal, ctx)
}

fn identity_err(json: &str) -> String {
    Policy::parse(json, PolicyKind::Identity)
        .expect_err("identity policy should be refused")
        .message
}

fn trust_err(json: &str) -> String {
    Policy::parse(json, PolicyKind::Trust)
        .expect_err("trust policy should be refused")
        .message
}

/// Wraps one statement body (without braces) in a 2012 identity policy.
fn one_statement(body: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":{{{body}}}}}"#)
}

/// Identity statement allowing sts:AssumeRole on "*" with the given Condition JSON.
fn with_condition(condition: &str) -> String {
    one_statement(&format!(
        r#""Effect":"Allow","Action":"sts:AssumeRole","Resource":"*","Condition":{condition}"#
    ))
}

/// Trust statement allowing sts:AssumeRole for the given Principal JSON.
fn trust_with_principal(principal: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{principal},"Action":"sts:AssumeRole"}}]}}"#
    )
}

fn assert_one_line_containing(message: &str, needles: &[&str]) {
    assert!(
        !message.contains('\n'),
        "message is not one line: {message}"
    );
    for needle in needles {
        assert!(
            message.contains(needle),
            "message {message:?} does not contain {needle:?}"
        );
    }
}

// ---- The two documents from the bastion setup ----

#[test]
fn bastion_group_policy_parses_as_identity() {
    assert_eq!(identity(BASTION_GROUP_POLICY).kind(), PolicyKind::Identity);
}

#[test]
fn bastion_get_session_token_allowed_without_mfa() {
    let p = identity(BASTION_GROUP_POLICY);
    for ctx in [
        mfa(None, None, None),
        mfa(Some(false), None, None),
        mfa(Some(true), Some(5), None),
    ] {
        assert_eq!(
            eval_id(&p, "sts:GetSessionToken", "*", &ctx),
            Decision::Allow
        );
    }
}

#[test]
fn bastion_assume_role_requires_mfa() {
    let p = identity(BASTION_GROUP_POLICY);
    assert_eq!(
        eval_id(
            &p,
            "sts:AssumeRole",
            ROLE_ARN,
            &mfa(Some(true), Some(10), None)
        ),
        Decision::Allow
    );
    assert_eq!(
        eval_id(
            &p,
            "sts:AssumeRole",
            ROLE_ARN,
            &mfa(Some(false), None, None)
        ),
        Decision::ImplicitDeny
    );
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", ROLE_ARN, &mfa(None, None, None)),
        Decision::ImplicitDeny
    );
}

#[test]
fn bastion_other_actions_implicitly_denied() {
    let p = identity(BASTION_GROUP_POLICY);
    let ctx = mfa(Some(true), Some(1), None);
    assert_eq!(
        eval_id(&p, "sts:GetCallerIdentity", "*", &ctx),
        Decision::ImplicitDeny
    );
    assert_eq!(
        eval_id(&p, "iam:ListUsers", "*", &ctx),
        Decision::ImplicitDeny
    );
}

#[test]
fn trust_policy_parses_and_requires_all_conditions() {
    let p = trust(TRUST_POLICY);
    assert_eq!(p.kind(), PolicyKind::Trust);
    let good = mfa(Some(true), Some(100), Some("abc"));
    assert_eq!(eval_trust(&p, &alice(), &good), Decision::Allow);
    // Each condition failing on its own denies (AND across operators).
    assert_eq!(
        eval_trust(&p, &alice(), &mfa(Some(false), Some(100), Some("abc"))),
        Decision::ImplicitDeny
    );
    assert_eq!(
        eval_trust(&p, &alice(), &mfa(Some(true), Some(43200), Some("abc"))),
        Decision::ImplicitDeny
    );
    assert_eq!(
        eval_trust(&p, &alice(), &mfa(Some(true), Some(100), Some("abd"))),
        Decision::ImplicitDeny
    );
    // Absent keys make their condition false.
    assert_eq!(
        eval_trust(&p, &alice(), &mfa(None, Some(100), Some("abc"))),
        Decision::ImplicitDeny
    );
    assert_eq!(
        eval_trust(&p, &alice(), &mfa(Some(true), None, Some("abc"))),
        Decision::ImplicitDeny
    );
    assert_eq!(
        eval_trust(&p, &alice(), &mfa(Some(true), Some(100), None)),
        Decision::ImplicitDeny
    );
}

#[test]
fn trust_policy_rejects_other_account_and_other_actions() {
    let p = trust(TRUST_POLICY);
    let good = mfa(Some(true), Some(100), Some("abc"));
    assert_eq!(
        eval_trust(&p, &bob_elsewhere(), &good),
        Decision::ImplicitDeny
    );
    assert_eq!(
        eval(&p, "sts:TagSession", ROLE_ARN, &alice(), &good),
        Decision::ImplicitDeny
    );
}

#[test]
fn trust_policy_boundary_of_numeric_less_than() {
    let p = trust(TRUST_POLICY);
    assert_eq!(
        eval_trust(&p, &alice(), &mfa(Some(true), Some(43199), Some("abc"))),
        Decision::Allow
    );
    assert_eq!(
        eval_trust(&p, &alice(), &mfa(Some(true), Some(0), Some("abc"))),
        Decision::Allow
    );
    assert_eq!(
        eval_trust(&p, &alice(), &mfa(Some(true), Some(43201), Some("abc"))),
        Decision::ImplicitDeny
    );
}

// ---- Top-level document ----

#[test]
fn version_2008_and_missing_version_accepted() {
    for json in [
        r#"{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"sts:GetSessionToken","Resource":"*"}}"#,
        r#"{"Statement":{"Effect":"Allow","Action":"sts:GetSessionToken","Resource":"*"}}"#,
    ] {
        let p = identity(json);
        assert_eq!(
            eval_id(&p, "sts:GetSessionToken", "*", &mfa(None, None, None)),
            Decision::Allow
        );
    }
}

#[test]
fn bad_version_refused() {
    let msg = identity_err(
        r#"{"Version":"2012-10-18","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
    );
    assert_one_line_containing(&msg, &["Version", "2012-10-18", "2012-10-17"]);
    let msg = identity_err(
        r#"{"Version":20121017,"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
    );
    assert_one_line_containing(&msg, &["Version", "20121017"]);
}

#[test]
fn id_accepted_when_string_refused_otherwise() {
    identity(
        r#"{"Version":"2012-10-17","Id":"my-policy","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
    );
    let msg = identity_err(
        r#"{"Version":"2012-10-17","Id":7,"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
    );
    assert_one_line_containing(&msg, &["Id must be a string"]);
}

#[test]
fn unknown_top_level_key_refused() {
    let msg = identity_err(r#"{"Version":"2012-10-17","Statements":[]}"#);
    assert_one_line_containing(&msg, &["top-level key", "\"Statements\""]);
}

#[test]
fn missing_or_empty_or_wrongly_typed_statement_refused() {
    assert_one_line_containing(
        &identity_err(r#"{"Version":"2012-10-17"}"#),
        &["no Statement"],
    );
    assert_one_line_containing(
        &identity_err(r#"{"Version":"2012-10-17","Statement":[]}"#),
        &["empty"],
    );
    assert_one_line_containing(
        &identity_err(r#"{"Version":"2012-10-17","Statement":"Allow"}"#),
        &["Statement must be an object or an array"],
    );
    assert_one_line_containing(
        &identity_err(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}, 5]}"#,
        ),
        &["Statement[1]", "must be a JSON object"],
    );
}

#[test]
fn malformed_json_refused_with_message() {
    let msg = identity_err(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",}]}"#);
    assert_one_line_containing(&msg, &["not valid JSON", "line 1"]);
    let msg = identity_err("");
    assert_one_line_containing(&msg, &["not valid JSON"]);
    let msg = identity_err("[1,2]");
    assert_one_line_containing(&msg, &["must be a JSON object", "an array"]);
}

#[test]
fn single_statement_object_equivalent_to_array() {
    let p = identity(&one_statement(
        r#""Effect":"Allow","Action":"sts:GetSessionToken","Resource":"*""#,
    ));
    assert_eq!(
        eval_id(&p, "sts:GetSessionToken", "*", &mfa(None, None, None)),
        Decision::Allow
    );
}

// ---- Statement elements ----

#[test]
fn not_and_plain_element_together_refused() {
    for key in ["Action", "Resource"] {
        let json = one_statement(&format!(
            r#""Sid":"X","Effect":"Allow","Action":"*","Resource":"*","Not{key}":"sts:GetSessionToken""#
        ));
        let msg = identity_err(&json);
        assert_one_line_containing(
            &msg,
            &[
                "Statement[0]",
                "Sid \"X\"",
                &format!("both {key} and Not{key}"),
            ],
        );
    }
    let msg = trust_err(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","NotPrincipal":{"AWS":"111111111111"},"Action":"sts:AssumeRole"}}"#,
    );
    assert_one_line_containing(&msg, &["both Principal and NotPrincipal"]);
    let msg = trust_err(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotPrincipal":{"AWS":"111111111111"},"Action":"sts:AssumeRole"}}"#,
    );
    assert_one_line_containing(&msg, &["NotPrincipal", "Allow", "not supported"]);
    let msg = identity_err(&one_statement(
        r#""Effect":"Deny","NotPrincipal":{"AWS":"111111111111"},"Action":"*","Resource":"*""#,
    ));
    assert_one_line_containing(&msg, &["prohibited field NotPrincipal"]);
}

#[test]
fn unknown_statement_key_refused_with_index() {
    let json = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"*","Resource":"*"},
        {"Effect":"Allow","Action":"*","Resource":"*","Effects":"Deny"}]}"#;
    let msg = identity_err(json);
    assert_one_line_containing(&msg, &["Statement[1]", "\"Effects\""]);
    assert!(!msg.contains("(Sid"), "no Sid to name: {msg}");
}

#[test]
fn error_names_sid_when_present() {
    let json = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"First","Effect":"Allow","Action":"*","Resource":"*"},
        {"Sid":"Second","Effect":"Permit","Action":"*","Resource":"*"}]}"#;
    let msg = identity_err(json);
    assert_eq!(
        msg,
        "Statement[1] (Sid \"Second\"): Effect must be \"Allow\" or \"Deny\", found \"Permit\""
    );
}

#[test]
fn sid_must_be_string() {
    let msg = identity_err(&one_statement(
        r#""Sid":1,"Effect":"Allow","Action":"*","Resource":"*""#,
    ));
    assert_one_line_containing(&msg, &["Statement[0]", "Sid must be a string"]);
}

#[test]
fn bad_or_missing_effect_refused() {
    // Effect values are case-sensitive.
    let msg = identity_err(&one_statement(
        r#""Effect":"allow","Action":"*","Resource":"*""#,
    ));
    assert_one_line_containing(&msg, &["Statement[0]", "Effect", "\"allow\""]);
    let msg = identity_err(&one_statement(
        r#""Effect":true,"Action":"*","Resource":"*""#,
    ));
    assert_one_line_containing(&msg, &["Effect"]);
    let msg = identity_err(&one_statement(r#""Action":"*","Resource":"*""#));
    assert_one_line_containing(&msg, &["Statement[0]", "missing required field Effect"]);
}

#[test]
fn missing_action_refused() {
    let msg = identity_err(&one_statement(r#""Effect":"Allow","Resource":"*""#));
    assert_one_line_containing(&msg, &["missing required field Action"]);
}

#[test]
fn malformed_actions_refused() {
    for (action, needle) in [
        (r#""AssumeRole""#, "no service prefix"),
        (r#"":AssumeRole""#, "not a valid"),
        (r#""sts:""#, "not a valid"),
        (r#""sts:Assume:Role""#, "not a valid"),
        (r#""st s:AssumeRole""#, "not a valid"),
        (r#"[]"#, "Action is empty"),
        (r#"["sts:AssumeRole", 3]"#, "must be strings"),
        (r#"{"a":1}"#, "string or an array"),
    ] {
        let msg = identity_err(&one_statement(&format!(
            r#""Effect":"Allow","Action":{action},"Resource":"*""#
        )));
        assert_one_line_containing(&msg, &["Statement[0]", "Action", needle]);
    }
}

#[test]
fn missing_resource_in_identity_refused() {
    let msg = identity_err(&one_statement(r#""Effect":"Allow","Action":"*""#));
    assert_one_line_containing(&msg, &["Statement[0]", "missing required field Resource"]);
}

#[test]
fn malformed_resources_refused() {
    for resource in [
        r#""role/admin""#,
        r#""arn:aws:iam""#,
        r#""arn:*""#,
        r#"[]"#,
        r#"[1]"#,
    ] {
        let msg = identity_err(&one_statement(&format!(
            r#""Effect":"Allow","Action":"*","Resource":{resource}"#
        )));
        assert_one_line_containing(&msg, &["Statement[0]", "Resource"]);
    }
}

#[test]
fn username_variable_in_2012_but_literal_in_2008() {
    let stmt =
        r#"{"Effect":"Allow","Action":"*","Resource":"arn:aws:iam::*:user/${aws:username}"}"#;
    let p = identity(&format!(r#"{{"Version":"2012-10-17","Statement":{stmt}}}"#));
    let alice_ctx = mfa(None, None, None).with("aws:username", "alice");
    let own = "arn:aws:iam::111111111111:user/alice";
    let other = "arn:aws:iam::111111111111:user/bob";
    assert_eq!(
        eval_id(&p, "iam:ListAccessKeys", own, &alice_ctx),
        Decision::Allow
    );
    assert_eq!(
        eval_id(&p, "iam:ListAccessKeys", other, &alice_ctx),
        Decision::ImplicitDeny
    );
    // No user name (a role session): the statement matches nothing.
    assert_eq!(
        eval_id(&p, "iam:ListAccessKeys", own, &mfa(None, None, None)),
        Decision::ImplicitDeny
    );
    let literal = "arn:aws:iam::*:user/${aws:username}";
    assert_eq!(
        eval_id(&p, "iam:ListAccessKeys", literal, &alice_ctx),
        Decision::ImplicitDeny
    );
    // Case-insensitive variable name, with a wildcard after it.
    let p = identity(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:iam::*:mfa/${AWS:UserName}*"}}"#,
    );
    assert_eq!(
        eval_id(
            &p,
            "iam:CreateVirtualMFADevice",
            "arn:aws:iam::111111111111:mfa/alice-ci",
            &alice_ctx
        ),
        Decision::Allow
    );
    assert_eq!(
        eval_id(
            &p,
            "iam:CreateVirtualMFADevice",
            "arn:aws:iam::111111111111:mfa/bob",
            &alice_ctx
        ),
        Decision::ImplicitDeny
    );
    // In 2008-10-17 policies it is literal text.
    let p = identity(&format!(r#"{{"Version":"2008-10-17","Statement":{stmt}}}"#));
    assert_eq!(
        eval_id(&p, "iam:GetUser", literal, &alice_ctx),
        Decision::Allow
    );
    assert_eq!(
        eval_id(&p, "iam:GetUser", own, &alice_ctx),
        Decision::ImplicitDeny
    );
}

#[test]
fn unknown_policy_variables_are_refused() {
    for resource in [
        "arn:aws:iam::*:user/${aws:PrincipalTag/team}",
        "arn:aws:iam::*:user/${aws:username",
    ] {
        let msg = identity_err(&format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"*","Resource":"{resource}"}}}}"#
        ));
        assert_one_line_containing(&msg, &["Resource", "policy variable"]);
    }
    let msg = identity_err(&with_condition(
        r#"{"StringEquals":{"sts:ExternalId":"${s3:prefix}"}}"#,
    ));
    assert_one_line_containing(&msg, &["policy variable", "StringEquals", "not supported"]);
}

#[test]
fn resource_in_trust_policy_refused() {
    let json = r#"{"Version":"2012-10-17","Statement":[{"Sid":"T","Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}]}"#;
    let msg = trust_err(json);
    assert_one_line_containing(
        &msg,
        &["Statement[0]", "Sid \"T\"", "Has prohibited field Resource"],
    );
}

#[test]
fn principal_in_identity_policy_refused() {
    let msg = identity_err(&one_statement(
        r#""Effect":"Allow","Principal":"*","Action":"*","Resource":"*""#,
    ));
    assert_one_line_containing(&msg, &["Statement[0]", "Has prohibited field Principal"]);
}

#[test]
fn missing_principal_in_trust_refused() {
    let msg = trust_err(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}"#,
    );
    assert_one_line_containing(&msg, &["Statement[0]", "missing required field Principal"]);
}

#[test]
fn bastion_group_policy_is_not_a_trust_policy() {
    let msg = trust_err(BASTION_GROUP_POLICY);
    assert_one_line_containing(&msg, &["Statement[0]", "Sid \"1\"", "Resource"]);
}

// ---- Principals ----

#[test]
fn unsupported_principal_types_refused() {
    for (principal, needle) in [
        (
            r#"{"Service":"ec2.amazonaws.com"}"#,
            "\"Service\" is not supported",
        ),
        (
            r#"{"Federated":"cognito-identity.amazonaws.com"}"#,
            "\"Federated\" is not supported",
        ),
        (
            r#"{"CanonicalUser":"79a59df900b949e55d96a1e698fbace"}"#,
            "\"CanonicalUser\" is not supported",
        ),
        (
            r#"{"AWS":"*","Service":"ec2.amazonaws.com"}"#,
            "\"Service\" is not supported",
        ),
        (r#"{"aws":"*"}"#, "unknown Principal type"),
        (r#"{}"#, "must contain \"AWS\""),
        (r#""111111111111""#, "Principal must be"),
        (r#"["*"]"#, "Principal must be"),
    ] {
        let msg = trust_err(&trust_with_principal(principal));
        assert_one_line_containing(&msg, &["Statement[0]", needle]);
    }
}

#[test]
fn malformed_aws_principals_refused() {
    for value in [
        "11111111111",                                // 11 digits
        "1111111111111",                              // 13 digits
        "11111111111a",                               // not digits
        "alice",                                      // not an ARN
        "arn:aws:iam::11111111111:root",              // bad account
        "arn:aws:iam::111111111111",                  // too short
        "arn:aws-eu:iam::111111111111:root",          // unknown partition
        "arn:aws:sts::111111111111:assumed-role/r",   // no session
        "arn:aws:sts::111111111111:federated-user/f", // not a session
        "arn:aws:iam:us-east-1:111111111111:root",    // IAM ARNs have no region
        "arn:aws:iam::111111111111:group/devs",       // groups are not principals
        "arn:aws:iam::111111111111:user/",            // empty name
        "arn:aws:iam::111111111111:user/*",           // wildcard
        "arn:aws:iam::*:root",                        // wildcard account
    ] {
        let msg = trust_err(&trust_with_principal(&format!(r#"{{"AWS":"{value}"}}"#)));
        assert_one_line_containing(&msg, &["Statement[0]", "Principal AWS", value]);
    }
    let msg = trust_err(&trust_with_principal(r#"{"AWS":[]}"#));
    assert_one_line_containing(&msg, &["Principal AWS is empty"]);
}

#[test]
fn account_id_and_root_arn_match_any_principal_in_account() {
    for principal in [
        r#"{"AWS":"111111111111"}"#,
        r#"{"AWS":"arn:aws:iam::111111111111:root"}"#,
    ] {
        let p = trust(&trust_with_principal(principal));
        let ctx = mfa(None, None, None);
        assert_eq!(
            eval_trust(&p, &alice(), &ctx),
            Decision::Allow,
            "{principal}"
        );
        let carol = Principal {
            account: "111111111111".into(),
            arn: "arn:aws:iam::111111111111:user/ops/carol".into(),
        };
        assert_eq!(eval_trust(&p, &carol, &ctx), Decision::Allow, "{principal}");
        assert_eq!(
            eval_trust(&p, &bob_elsewhere(), &ctx),
            Decision::ImplicitDeny,
            "{principal}"
        );
    }
}

#[test]
fn root_arn_respects_partition() {
    let p = trust(&trust_with_principal(
        r#"{"AWS":"arn:aws-cn:iam::111111111111:root"}"#,
    ));
    let ctx = mfa(None, None, None);
    assert_eq!(eval_trust(&p, &alice(), &ctx), Decision::ImplicitDeny);
    let cn_alice = Principal {
        account: "111111111111".into(),
        arn: "arn:aws-cn:iam::111111111111:user/alice".into(),
    };
    assert_eq!(eval_trust(&p, &cn_alice, &ctx), Decision::Allow);
    // GovCloud ARNs parse too.
    trust(&trust_with_principal(
        r#"{"AWS":"arn:aws-us-gov:iam::111111111111:user/alice"}"#,
    ));
}

#[test]
fn user_arn_matches_exactly() {
    let p = trust(&trust_with_principal(
        r#"{"AWS":"arn:aws:iam::111111111111:user/alice"}"#,
    ));
    let ctx = mfa(None, None, None);
    assert_eq!(eval_trust(&p, &alice(), &ctx), Decision::Allow);
    let alicia = Principal {
        account: "111111111111".into(),
        arn: "arn:aws:iam::111111111111:user/alicia".into(),
    };
    assert_eq!(eval_trust(&p, &alicia, &ctx), Decision::ImplicitDeny);
    let role = Principal {
        account: "111111111111".into(),
        arn: "arn:aws:iam::111111111111:role/alice".into(),
    };
    assert_eq!(eval_trust(&p, &role, &ctx), Decision::ImplicitDeny);
}

#[test]
fn role_arn_and_user_path_principals_parse() {
    let p = trust(&trust_with_principal(
        r#"{"AWS":"arn:aws:iam::111111111111:role/path/ci"}"#,
    ));
    let ci = Principal {
        account: "111111111111".into(),
        arn: "arn:aws:iam::111111111111:role/path/ci".into(),
    };
    assert_eq!(eval_trust(&p, &ci, &mfa(None, None, None)), Decision::Allow);
    assert_eq!(
        eval_trust(&p, &alice(), &mfa(None, None, None)),
        Decision::ImplicitDeny
    );
}

#[test]
fn wildcard_principals_match_anyone() {
    for principal in [r#""*""#, r#"{"AWS":"*"}"#, r#"{"AWS":["*"]}"#] {
        let p = trust(&trust_with_principal(principal));
        assert_eq!(
            eval_trust(&p, &alice(), &mfa(None, None, None)),
            Decision::Allow
        );
        assert_eq!(
            eval_trust(&p, &bob_elsewhere(), &mfa(None, None, None)),
            Decision::Allow
        );
    }
}

#[test]
fn principal_array_is_or() {
    let p = trust(&trust_with_principal(
        r#"{"AWS":["arn:aws:iam::999999999999:root","arn:aws:iam::333333333333:user/bob"]}"#,
    ));
    let ctx = mfa(None, None, None);
    assert_eq!(eval_trust(&p, &bob_elsewhere(), &ctx), Decision::Allow);
    assert_eq!(eval_trust(&p, &alice(), &ctx), Decision::ImplicitDeny);
}

#[test]
fn identity_policy_ignores_principal() {
    let p = identity(&one_statement(
        r#""Effect":"Allow","Action":"sts:GetSessionToken","Resource":"*""#,
    ));
    let ctx = mfa(None, None, None);
    assert_eq!(
        eval(&p, "sts:GetSessionToken", "*", &bob_elsewhere(), &ctx),
        Decision::Allow
    );
}

#[test]
fn trust_policy_ignores_resource() {
    let p = trust(&trust_with_principal(r#""*""#));
    let ctx = mfa(None, None, None);
    assert_eq!(
        eval(&p, "sts:AssumeRole", "*", &alice(), &ctx),
        Decision::Allow
    );
    assert_eq!(
        eval(&p, "sts:AssumeRole", "anything", &alice(), &ctx),
        Decision::Allow
    );
}

// ---- Action and resource matching ----

#[test]
fn action_matching_is_case_insensitive_with_wildcards() {
    let ctx = mfa(None, None, None);
    let cases: [(&str, &str, bool); 12] = [
        ("sts:AssumeRole", "sts:AssumeRole", true),
        ("sts:AssumeRole", "STS:assumerole", true),
        ("STS:ASSUMEROLE", "sts:AssumeRole", true),
        ("sts:*", "sts:GetSessionToken", true),
        ("sts:*", "iam:GetUser", false),
        ("*", "iam:GetUser", true),
        ("sts:Get*", "sts:GetSessionToken", true),
        ("sts:Get*", "sts:GetCallerIdentity", true),
        ("sts:Get*", "sts:AssumeRole", false),
        ("sts:Assume????", "sts:AssumeRole", true),
        ("sts:Assume???", "sts:AssumeRole", false),
        ("sts:AssumeRole", "sts:AssumeRoleWithSAML", false),
    ];
    for (pattern, action, expected) in cases {
        let p = identity(&one_statement(&format!(
            r#""Effect":"Allow","Action":"{pattern}","Resource":"*""#
        )));
        let want = if expected {
            Decision::Allow
        } else {
            Decision::ImplicitDeny
        };
        assert_eq!(
            eval_id(&p, action, "*", &ctx),
            want,
            "{pattern} vs {action}"
        );
    }
}

#[test]
fn action_array_is_or() {
    let p = identity(&one_statement(
        r#""Effect":"Allow","Action":["sts:GetSessionToken","iam:ListMFADevices"],"Resource":"*""#,
    ));
    let ctx = mfa(None, None, None);
    assert_eq!(
        eval_id(&p, "sts:GetSessionToken", "*", &ctx),
        Decision::Allow
    );
    assert_eq!(
        eval_id(&p, "iam:ListMFADevices", "*", &ctx),
        Decision::Allow
    );
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", "*", &ctx),
        Decision::ImplicitDeny
    );
}

#[test]
fn resource_matching_is_case_sensitive_with_wildcards() {
    let ctx = mfa(None, None, None);
    let cases: [(&str, &str, bool); 8] = [
        ("*", ROLE_ARN, true),
        ("*", "*", true),
        (ROLE_ARN, ROLE_ARN, true),
        (ROLE_ARN, "arn:aws:iam::222222222222:role/Admin", false),
        ("arn:aws:iam::222222222222:role/*", ROLE_ARN, true),
        ("arn:aws:iam::*:role/admin", ROLE_ARN, true),
        ("arn:aws:iam::22222222222?:role/admi?", ROLE_ARN, true),
        (
            "arn:aws:iam::222222222222:role/*",
            "arn:aws:iam::222222222223:role/admin",
            false,
        ),
    ];
    for (pattern, resource, expected) in cases {
        let p = identity(&one_statement(&format!(
            r#""Effect":"Allow","Action":"sts:AssumeRole","Resource":"{pattern}""#
        )));
        let want = if expected {
            Decision::Allow
        } else {
            Decision::ImplicitDeny
        };
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", resource, &ctx),
            want,
            "{pattern} vs {resource}"
        );
    }
}

#[test]
fn resource_array_is_or() {
    let p = identity(&one_statement(
        r#""Effect":"Allow","Action":"sts:AssumeRole","Resource":["arn:aws:iam::222222222222:role/admin","arn:aws:iam::444444444444:role/*"]"#,
    ));
    let ctx = mfa(None, None, None);
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", ROLE_ARN, &ctx),
        Decision::Allow
    );
    assert_eq!(
        eval_id(
            &p,
            "sts:AssumeRole",
            "arn:aws:iam::444444444444:role/ro",
            &ctx
        ),
        Decision::Allow
    );
    assert_eq!(
        eval_id(
            &p,
            "sts:AssumeRole",
            "arn:aws:iam::555555555555:role/ro",
            &ctx
        ),
        Decision::ImplicitDeny
    );
}

#[test]
fn wildcard_match_edge_cases() {
    assert!(wildcard_match("", ""));
    assert!(!wildcard_match("", "a"));
    assert!(wildcard_match("*", ""));
    assert!(wildcard_match("**", "abc"));
    assert!(!wildcard_match("?", ""));
    assert!(wildcard_match("a*b*c", "aXbYbZc"));
    assert!(!wildcard_match("a*b*c", "aXbYbZ"));
    assert!(wildcard_match("*abc", "ababc"));
    assert!(wildcard_match("a*?", "ab"));
    assert!(!wildcard_match("a*?", "a"));
    assert!(
        wildcard_match("h?llo", "hällo"),
        "? matches one character, not one byte"
    );
    assert!(!wildcard_match("abc", "ab"));
    assert!(!wildcard_match("ab", "abc"));
}

// ---- Deny semantics and combine ----

#[test]
fn explicit_deny_overrides_allow() {
    let json = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"sts:*","Resource":"*"},
        {"Effect":"Deny","Action":"sts:AssumeRole","Resource":"*",
         "Condition":{"Bool":{"aws:MultiFactorAuthPresent":"false"}}}]}"#;
    let p = identity(json);
    assert_eq!(
        eval_id(
            &p,
            "sts:AssumeRole",
            ROLE_ARN,
            &mfa(Some(false), None, None)
        ),
        Decision::ExplicitDeny
    );
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", ROLE_ARN, &mfa(Some(true), None, None)),
        Decision::Allow
    );
    // The Deny's condition is false when the key is absent, so the Allow stands.
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", ROLE_ARN, &mfa(None, None, None)),
        Decision::Allow
    );
    assert_eq!(
        eval_id(
            &p,
            "sts:GetSessionToken",
            "*",
            &mfa(Some(false), None, None)
        ),
        Decision::Allow
    );
}

#[test]
fn deny_order_does_not_matter() {
    let json = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Deny","Action":"*","Resource":"*"},
        {"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    let p = identity(json);
    assert_eq!(
        eval_id(&p, "sts:GetSessionToken", "*", &mfa(None, None, None)),
        Decision::ExplicitDeny
    );
}

#[test]
fn deny_in_trust_policy() {
    let json = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"sts:AssumeRole"},
        {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111111111111:user/alice"},"Action":"sts:*"}]}"#;
    let p = trust(json);
    let ctx = mfa(None, None, None);
    assert_eq!(eval_trust(&p, &alice(), &ctx), Decision::ExplicitDeny);
    let carol = Principal {
        account: "111111111111".into(),
        arn: "arn:aws:iam::111111111111:user/carol".into(),
    };
    assert_eq!(eval_trust(&p, &carol, &ctx), Decision::Allow);
}

#[test]
fn non_matching_deny_is_not_explicit() {
    let p = identity(&one_statement(
        r#""Effect":"Deny","Action":"iam:*","Resource":"*""#,
    ));
    assert_eq!(
        eval_id(&p, "sts:GetSessionToken", "*", &mfa(None, None, None)),
        Decision::ImplicitDeny
    );
}

#[test]
fn combine_rules() {
    use Decision::*;
    assert_eq!(combine([]), ImplicitDeny);
    assert_eq!(combine([ImplicitDeny, ImplicitDeny]), ImplicitDeny);
    assert_eq!(combine([ImplicitDeny, Allow]), Allow);
    assert_eq!(combine([Allow, Allow]), Allow);
    assert_eq!(combine([Allow, ExplicitDeny, Allow]), ExplicitDeny);
    assert_eq!(combine([ExplicitDeny, Allow]), ExplicitDeny);
    assert_eq!(combine(vec![ImplicitDeny, ExplicitDeny]), ExplicitDeny);
}

// ---- Conditions ----

#[test]
fn unsupported_operator_refused() {
    for (op, why) in [
        ("bool", "is not supported"),
        ("StringEqualsIgnoreCaseX", "is not supported"),
        ("ForSomeValues:StringLike", "is not supported"),
        ("BinaryEquals", "no binary keys"),
        ("NullIfExists", "Null takes neither"),
        ("ForAnyValue:Null", "Null takes neither"),
    ] {
        let json = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"*","Resource":"*"}},{{"Sid":"S","Effect":"Allow","Action":"*","Resource":"*","Condition":{{"{op}":{{"aws:MultiFactorAuthPresent":"true"}}}}}}]}}"#
        );
        let msg = identity_err(&json);
        assert_one_line_containing(
            &msg,
            &[
                "Statement[1]",
                "Sid \"S\"",
                &format!("Condition operator \"{op}\""),
                why,
            ],
        );
    }
}

#[test]
fn unsupported_condition_key_refused() {
    for (op, key) in [
        ("StringEquals", "aws:PrincipalTag/team"),
        ("Bool", "aws:ViaKMS"),
        ("StringLike", "s3:prefix"),
        ("DateGreaterThan", "aws:MultiFactorAuthTime"),
    ] {
        let msg = identity_err(&with_condition(&format!(r#"{{"{op}":{{"{key}":"x"}}}}"#)));
        assert_one_line_containing(
            &msg,
            &["Statement[0]", key, op, "not supported", "aws:SourceIp"],
        );
    }
}

#[test]
fn condition_key_names_are_case_insensitive() {
    let p = identity(&with_condition(
        r#"{"Bool":{"AWS:multifactorauthpresent":"true"},"NumericLessThan":{"aws:multifactorauthage":3600},"StringEquals":{"STS:EXTERNALID":"x"}}"#,
    ));
    assert_eq!(
        eval_id(
            &p,
            "sts:AssumeRole",
            "*",
            &mfa(Some(true), Some(1), Some("x"))
        ),
        Decision::Allow
    );
    assert_eq!(
        eval_id(
            &p,
            "sts:AssumeRole",
            "*",
            &mfa(Some(true), Some(3600), Some("x"))
        ),
        Decision::ImplicitDeny
    );
}

#[test]
fn operators_apply_to_any_key_as_iam_does() {
    // IAM compares by the operator's type, whatever the key: a
    // StringEquals on a boolean key compares the text "true".
    let p = identity(&with_condition(
        r#"{"StringEquals":{"aws:MultiFactorAuthPresent":"true"}}"#,
    ));
    let ctx = mfa(Some(true), None, None);
    assert_eq!(eval_id(&p, "sts:AssumeRole", "*", &ctx), Decision::Allow);
    // A numeric operator on a value that is not a number never matches.
    let p = identity(&with_condition(
        r#"{"NumericLessThan":{"sts:ExternalId":"5"}}"#,
    ));
    let ctx = mfa(None, None, Some("3"));
    assert_eq!(eval_id(&p, "sts:AssumeRole", "*", &ctx), Decision::Allow);
    let ctx = mfa(None, None, Some("three"));
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", "*", &ctx),
        Decision::ImplicitDeny
    );
}

#[test]
fn condition_value_validation() {
    for (condition, needle) in [
        (
            r#"{"Bool":{"aws:MultiFactorAuthPresent":"yes"}}"#,
            "true or false",
        ),
        (
            r#"{"Bool":{"aws:MultiFactorAuthPresent":1}}"#,
            "true or false",
        ),
        (
            r#"{"Bool":{"aws:MultiFactorAuthPresent":null}}"#,
            "a string, number or boolean",
        ),
        (
            r#"{"Null":{"aws:MultiFactorAuthPresent":"maybe"}}"#,
            "true or false",
        ),
        (
            r#"{"NumericLessThan":{"aws:MultiFactorAuthAge":""}}"#,
            "a number",
        ),
        (
            r#"{"NumericLessThan":{"aws:MultiFactorAuthAge":"ten"}}"#,
            "a number",
        ),
        (
            r#"{"NumericLessThan":{"aws:MultiFactorAuthAge":true}}"#,
            "a number",
        ),
        (
            r#"{"NumericLessThan":{"aws:MultiFactorAuthAge":"NaN"}}"#,
            "a number",
        ),
        (
            r#"{"DateLessThan":{"aws:CurrentTime":"tomorrow"}}"#,
            "ISO 8601",
        ),
        (r#"{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}"#, "CIDR"),
        (r#"{"IpAddress":{"aws:SourceIp":"10.0.0"}}"#, "CIDR"),
        (r#"{"StringEquals":{"sts:ExternalId":null}}"#, "a string"),
        (
            r#"{"StringEquals":{"sts:ExternalId":{"a":"b"}}}"#,
            "a string",
        ),
        (r#"{"StringEquals":{"sts:ExternalId":[]}}"#, "empty list"),
        (
            r#"{"StringEquals":{"sts:ExternalId":"${aws:username"}}"#,
            "unterminated",
        ),
        (
            r#"{"StringEquals":{"sts:ExternalId":"${aws:username, x}"}}"#,
            "default",
        ),
        (r#"{"StringEquals":{}}"#, "has no keys"),
        (r#"{"StringEquals":"abc"}"#, "must map to an object"),
        (r#"{}"#, "Condition is empty"),
        (r#"[]"#, "Condition must be an object"),
    ] {
        let msg = identity_err(&with_condition(condition));
        assert_one_line_containing(&msg, &["Statement[0]", needle]);
    }
}

#[test]
fn bool_accepts_json_booleans_and_strings() {
    for value in [r#"true"#, r#""true""#, r#"[true]"#] {
        let p = identity(&with_condition(&format!(
            r#"{{"Bool":{{"aws:MultiFactorAuthPresent":{value}}}}}"#
        )));
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &mfa(Some(true), None, None)),
            Decision::Allow,
            "{value}"
        );
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &mfa(Some(false), None, None)),
            Decision::ImplicitDeny,
            "{value}"
        );
    }
    for value in [r#"false"#, r#""false""#] {
        let p = identity(&with_condition(&format!(
            r#"{{"Bool":{{"aws:MultiFactorAuthPresent":{value}}}}}"#
        )));
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &mfa(Some(false), None, None)),
            Decision::Allow,
            "{value}"
        );
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &mfa(Some(true), None, None)),
            Decision::ImplicitDeny,
            "{value}"
        );
        // Absent is not false: the key is missing, so the condition fails.
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, None)),
            Decision::ImplicitDeny,
            "{value}"
        );
    }
}

#[test]
fn numeric_less_than_accepts_numbers_and_strings() {
    for value in ["3600", r#""3600""#, r#"["3600"]"#] {
        let p = identity(&with_condition(&format!(
            r#"{{"NumericLessThan":{{"aws:MultiFactorAuthAge":{value}}}}}"#
        )));
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &mfa(None, Some(3599), None)),
            Decision::Allow,
            "{value}"
        );
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &mfa(None, Some(3600), None)),
            Decision::ImplicitDeny,
            "{value}"
        );
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, None)),
            Decision::ImplicitDeny,
            "{value}"
        );
    }
}

#[test]
fn string_equals_is_exact_and_case_sensitive() {
    let p = identity(&with_condition(
        r#"{"StringEquals":{"sts:ExternalId":"Abc"}}"#,
    ));
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, Some("Abc"))),
        Decision::Allow
    );
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, Some("abc"))),
        Decision::ImplicitDeny
    );
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, Some("Abcd"))),
        Decision::ImplicitDeny
    );
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, None)),
        Decision::ImplicitDeny
    );
    // StringEquals does not treat '*' as a wildcard.
    let p = identity(&with_condition(
        r#"{"StringEquals":{"sts:ExternalId":"a*"}}"#,
    ));
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, Some("abc"))),
        Decision::ImplicitDeny
    );
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, Some("a*"))),
        Decision::Allow
    );
}

#[test]
fn string_values_may_be_numbers_or_booleans() {
    let p = identity(&with_condition(
        r#"{"StringEquals":{"sts:ExternalId":[12345, true]}}"#,
    ));
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, Some("12345"))),
        Decision::Allow
    );
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, Some("true"))),
        Decision::Allow
    );
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, Some("1234"))),
        Decision::ImplicitDeny
    );
}

#[test]
fn string_like_supports_wildcards_case_sensitively() {
    let p = identity(&with_condition(
        r#"{"StringLike":{"sts:ExternalId":"team-?-*"}}"#,
    ));
    assert_eq!(
        eval_id(
            &p,
            "sts:AssumeRole",
            "*",
            &mfa(None, None, Some("team-a-prod"))
        ),
        Decision::Allow
    );
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, Some("team-a-"))),
        Decision::Allow
    );
    assert_eq!(
        eval_id(
            &p,
            "sts:AssumeRole",
            "*",
            &mfa(None, None, Some("team-ab-prod"))
        ),
        Decision::ImplicitDeny
    );
    assert_eq!(
        eval_id(
            &p,
            "sts:AssumeRole",
            "*",
            &mfa(None, None, Some("Team-a-prod"))
        ),
        Decision::ImplicitDeny
    );
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, None)),
        Decision::ImplicitDeny
    );
}

#[test]
fn multiple_values_for_one_key_are_or() {
    let p = identity(&with_condition(
        r#"{"StringEquals":{"sts:ExternalId":["one","two"]}}"#,
    ));
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, Some("one"))),
        Decision::Allow
    );
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, Some("two"))),
        Decision::Allow
    );
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, Some("three"))),
        Decision::ImplicitDeny
    );
    let p = identity(&with_condition(
        r#"{"NumericLessThan":{"aws:MultiFactorAuthAge":[10, "100"]}}"#,
    ));
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", "*", &mfa(None, Some(50), None)),
        Decision::Allow
    );
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", "*", &mfa(None, Some(100), None)),
        Decision::ImplicitDeny
    );
}

#[test]
fn multiple_keys_under_one_operator_are_and() {
    // Same key twice (differently cased) under one operator: both must hold.
    let p = identity(&with_condition(
        r#"{"StringLike":{"sts:ExternalId":"a*","STS:ExternalId":"*z"}}"#,
    ));
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, Some("abz"))),
        Decision::Allow
    );
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, Some("abc"))),
        Decision::ImplicitDeny
    );
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, Some("xbz"))),
        Decision::ImplicitDeny
    );
}

#[test]
fn multiple_operators_are_and() {
    let p = identity(&with_condition(
        r#"{"Bool":{"aws:MultiFactorAuthPresent":true},"NumericLessThan":{"aws:MultiFactorAuthAge":"60"}}"#,
    ));
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", "*", &mfa(Some(true), Some(59), None)),
        Decision::Allow
    );
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", "*", &mfa(Some(true), Some(61), None)),
        Decision::ImplicitDeny
    );
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", "*", &mfa(Some(false), Some(1), None)),
        Decision::ImplicitDeny
    );
}

#[test]
fn error_type_displays_message() {
    let err = Policy::parse("{", PolicyKind::Identity).unwrap_err();
    assert_eq!(err.to_string(), err.message);
    let _: &dyn std::error::Error = &err;
}

// ---- Table-driven: each operator family, allow and deny cases ----

/// Whether an Allow statement with this one condition applies to a request
/// whose context is `ctx`.
fn condition_holds(condition: &str, ctx: &ConditionContext) -> bool {
    let p = identity(&with_condition(condition));
    eval_id(&p, "sts:AssumeRole", "*", ctx) == Decision::Allow
}

fn ctx_with(key: &str, value: &str) -> ConditionContext {
    ConditionContext::new().with(key, value)
}

#[test]
fn operator_table_from_the_iam_documentation() {
    let now = "2026-06-01T12:00:00Z";
    // (operator, key, policy value, context value, holds)
    let table: &[(&str, &str, &str, &str, bool)] = &[
        ("StringEquals", "aws:username", "alice", "alice", true),
        ("StringEquals", "aws:username", "alice", "Alice", false),
        ("StringNotEquals", "aws:username", "alice", "bob", true),
        ("StringNotEquals", "aws:username", "alice", "alice", false),
        (
            "StringEqualsIgnoreCase",
            "aws:username",
            "ALICE",
            "alice",
            true,
        ),
        (
            "StringEqualsIgnoreCase",
            "aws:username",
            "ALICE",
            "bob",
            false,
        ),
        (
            "StringNotEqualsIgnoreCase",
            "aws:username",
            "ALICE",
            "alice",
            false,
        ),
        (
            "StringNotEqualsIgnoreCase",
            "aws:username",
            "ALICE",
            "bob",
            true,
        ),
        ("StringLike", "aws:username", "ali*", "alice", true),
        ("StringLike", "aws:username", "a?ice", "alice", true),
        ("StringLike", "aws:username", "ali*", "Alice", false),
        ("StringNotLike", "aws:username", "ali*", "alice", false),
        ("StringNotLike", "aws:username", "ali*", "bob", true),
        (
            "NumericEquals",
            "aws:MultiFactorAuthAge",
            "3600",
            "3600",
            true,
        ),
        (
            "NumericEquals",
            "aws:MultiFactorAuthAge",
            "3600",
            "3601",
            false,
        ),
        (
            "NumericNotEquals",
            "aws:MultiFactorAuthAge",
            "3600",
            "3601",
            true,
        ),
        (
            "NumericNotEquals",
            "aws:MultiFactorAuthAge",
            "3600",
            "3600",
            false,
        ),
        (
            "NumericLessThan",
            "aws:MultiFactorAuthAge",
            "3600",
            "3599",
            true,
        ),
        (
            "NumericLessThan",
            "aws:MultiFactorAuthAge",
            "3600",
            "3600",
            false,
        ),
        (
            "NumericLessThanEquals",
            "aws:MultiFactorAuthAge",
            "3600",
            "3600",
            true,
        ),
        (
            "NumericLessThanEquals",
            "aws:MultiFactorAuthAge",
            "3600",
            "3601",
            false,
        ),
        (
            "NumericGreaterThan",
            "aws:MultiFactorAuthAge",
            "3600",
            "3601",
            true,
        ),
        (
            "NumericGreaterThan",
            "aws:MultiFactorAuthAge",
            "3600",
            "3600",
            false,
        ),
        (
            "NumericGreaterThanEquals",
            "aws:MultiFactorAuthAge",
            "3600",
            "3600",
            true,
        ),
        (
            "NumericGreaterThanEquals",
            "aws:MultiFactorAuthAge",
            "3600.5",
            "3600",
            false,
        ),
        ("DateEquals", "aws:CurrentTime", now, now, true),
        ("DateEquals", "aws:CurrentTime", "1780315200", now, true),
        ("DateEquals", "aws:CurrentTime", "2026-06-01", now, false),
        ("DateNotEquals", "aws:CurrentTime", "2026-06-01", now, true),
        ("DateNotEquals", "aws:CurrentTime", now, now, false),
        (
            "DateLessThan",
            "aws:CurrentTime",
            "2026-12-31T23:59:59Z",
            now,
            true,
        ),
        (
            "DateLessThan",
            "aws:CurrentTime",
            "2026-06-01T12:00:00+00:00",
            now,
            false,
        ),
        ("DateLessThanEquals", "aws:CurrentTime", now, now, true),
        (
            "DateLessThanEquals",
            "aws:CurrentTime",
            "2026-05-31",
            now,
            false,
        ),
        (
            "DateGreaterThan",
            "aws:CurrentTime",
            "2026-06-01",
            now,
            true,
        ),
        (
            "DateGreaterThan",
            "aws:CurrentTime",
            "2027-01-01T00:00:00Z",
            now,
            false,
        ),
        ("DateGreaterThanEquals", "aws:CurrentTime", now, now, true),
        (
            "DateGreaterThanEquals",
            "aws:CurrentTime",
            "2026-06-01T13:00:00+01:00",
            now,
            true,
        ),
        (
            "DateGreaterThanEquals",
            "aws:CurrentTime",
            "2026-06-01T12:00:01Z",
            now,
            false,
        ),
        ("Bool", "aws:SecureTransport", "true", "true", true),
        ("Bool", "aws:SecureTransport", "true", "false", false),
        ("Bool", "aws:SecureTransport", "false", "false", true),
        (
            "IpAddress",
            "aws:SourceIp",
            "203.0.113.0/24",
            "203.0.113.7",
            true,
        ),
        (
            "IpAddress",
            "aws:SourceIp",
            "203.0.113.0/24",
            "198.51.100.1",
            false,
        ),
        (
            "IpAddress",
            "aws:SourceIp",
            "203.0.113.7",
            "203.0.113.7",
            true,
        ),
        (
            "IpAddress",
            "aws:SourceIp",
            "0.0.0.0/0",
            "198.51.100.1",
            true,
        ),
        (
            "IpAddress",
            "aws:SourceIp",
            "2001:DB8:1234:5678::/64",
            "2001:db8:1234:5678::1",
            true,
        ),
        (
            "IpAddress",
            "aws:SourceIp",
            "2001:DB8:1234:5678::/64",
            "2001:db8:1234:5679::1",
            false,
        ),
        (
            "IpAddress",
            "aws:SourceIp",
            "203.0.113.0/24",
            "2001:db8::1",
            false,
        ),
        (
            "NotIpAddress",
            "aws:SourceIp",
            "203.0.113.0/24",
            "198.51.100.1",
            true,
        ),
        (
            "NotIpAddress",
            "aws:SourceIp",
            "203.0.113.0/24",
            "203.0.113.7",
            false,
        ),
        (
            "ArnEquals",
            "aws:PrincipalArn",
            "arn:aws:iam::111111111111:role/Admin",
            "arn:aws:iam::111111111111:role/Admin",
            true,
        ),
        (
            "ArnEquals",
            "aws:PrincipalArn",
            "arn:aws:iam::111111111111:role/Admin",
            "arn:aws:iam::111111111111:role/admin",
            false,
        ),
        (
            "ArnLike",
            "aws:PrincipalArn",
            "arn:aws:iam::*:role/Adm*",
            "arn:aws:iam::111111111111:role/Admin",
            true,
        ),
        (
            "ArnLike",
            "aws:PrincipalArn",
            "arn:aws:iam::*:role/Adm*",
            "arn:aws:iam::111111111111:user/Admin",
            false,
        ),
        // Wildcards stay within one part: "*" in the account does not eat colons.
        (
            "ArnLike",
            "aws:PrincipalArn",
            "arn:aws:iam::*",
            "arn:aws:iam::111111111111:role/Admin",
            false,
        ),
        (
            "ArnLike",
            "aws:PrincipalArn",
            "arn:aws:iam::*:*",
            "not-an-arn",
            false,
        ),
        (
            "ArnNotEquals",
            "aws:PrincipalArn",
            "arn:aws:iam::111111111111:role/Admin",
            "arn:aws:iam::111111111111:role/Other",
            true,
        ),
        (
            "ArnNotLike",
            "aws:PrincipalArn",
            "arn:aws:iam::*:role/Adm*",
            "arn:aws:iam::111111111111:role/Admin",
            false,
        ),
        (
            "ArnNotLike",
            "aws:PrincipalArn",
            "arn:aws:iam::*:role/Adm*",
            "arn:aws:iam::111111111111:role/Dev",
            true,
        ),
    ];
    for (op, key, want, got, holds) in table {
        let condition = format!(r#"{{"{op}":{{"{key}":"{want}"}}}}"#);
        assert_eq!(
            condition_holds(&condition, &ctx_with(key, got)),
            *holds,
            "{condition} with {key}={got}"
        );
        // The same as a Deny: the statement denies exactly when it holds.
        let p = identity(&format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"*","Resource":"*"}},{{"Effect":"Deny","Action":"*","Resource":"*","Condition":{condition}}}]}}"#
        ));
        let expected = if *holds {
            Decision::ExplicitDeny
        } else {
            Decision::Allow
        };
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &ctx_with(key, got)),
            expected,
            "Deny {condition}"
        );
    }
}

#[test]
fn null_operator_tests_presence() {
    let present = ctx_with("aws:TokenIssueTime", "2026-06-01T12:00:00Z");
    let absent = ConditionContext::new();
    let is_null = r#"{"Null":{"aws:TokenIssueTime":"true"}}"#;
    let not_null = r#"{"Null":{"aws:TokenIssueTime":"false"}}"#;
    assert!(condition_holds(is_null, &absent));
    assert!(!condition_holds(is_null, &present));
    assert!(condition_holds(not_null, &present));
    assert!(!condition_holds(not_null, &absent));
}

/// Every operator name IAM has (but Null and Binary*).
const ALL_OPERATORS: [(&str, &str); 25] = [
    ("StringEquals", "x"),
    ("StringNotEquals", "x"),
    ("StringEqualsIgnoreCase", "x"),
    ("StringNotEqualsIgnoreCase", "x"),
    ("StringLike", "x*"),
    ("StringNotLike", "x*"),
    ("NumericEquals", "1"),
    ("NumericNotEquals", "1"),
    ("NumericLessThan", "1"),
    ("NumericLessThanEquals", "1"),
    ("NumericGreaterThan", "1"),
    ("NumericGreaterThanEquals", "1"),
    ("DateEquals", "2026-01-01T00:00:00Z"),
    ("DateNotEquals", "2026-01-01T00:00:00Z"),
    ("DateLessThan", "2026-01-01T00:00:00Z"),
    ("DateLessThanEquals", "2026-01-01T00:00:00Z"),
    ("DateGreaterThan", "2026-01-01T00:00:00Z"),
    ("DateGreaterThanEquals", "2026-01-01T00:00:00Z"),
    ("Bool", "true"),
    ("IpAddress", "10.0.0.0/8"),
    ("NotIpAddress", "10.0.0.0/8"),
    ("ArnEquals", "arn:aws:iam::111111111111:role/x"),
    ("ArnLike", "arn:aws:iam::*:role/x"),
    ("ArnNotEquals", "arn:aws:iam::111111111111:role/x"),
    ("ArnNotLike", "arn:aws:iam::*:role/x"),
];

#[test]
fn absent_key_under_every_operator_with_and_without_if_exists() {
    // IAM: an absent key makes a condition false, except that a negated
    // operator ("...Not...") then holds; ...IfExists holds when the key is
    // absent. ForAnyValue over no values is false, ForAllValues true.
    let absent = ConditionContext::new();
    for (op, value) in ALL_OPERATORS {
        let negated = op.contains("Not");
        let cases = [
            (op.to_string(), negated),
            (format!("{op}IfExists"), true),
            (format!("ForAnyValue:{op}"), false),
            (format!("ForAnyValue:{op}IfExists"), true),
            (format!("ForAllValues:{op}"), true),
            (format!("ForAllValues:{op}IfExists"), true),
        ];
        for (name, holds) in cases {
            let condition = format!(r#"{{"{name}":{{"aws:TokenIssueTime":"{value}"}}}}"#);
            assert_eq!(
                condition_holds(&condition, &absent),
                holds,
                "{name} with the key absent"
            );
        }
    }
    assert!(condition_holds(
        r#"{"Null":{"aws:TokenIssueTime":"true"}}"#,
        &absent
    ));
}

#[test]
fn if_exists_checks_a_present_key_like_the_plain_operator() {
    for (op, want, got, holds) in [
        ("StringEqualsIfExists", "alice", "alice", true),
        ("StringEqualsIfExists", "alice", "bob", false),
        ("NumericLessThanIfExists", "3600", "4000", false),
        ("BoolIfExists", "false", "true", false),
        ("BoolIfExists", "false", "false", true),
        ("IpAddressIfExists", "10.0.0.0/8", "10.1.2.3", true),
        ("NotIpAddressIfExists", "10.0.0.0/8", "10.1.2.3", false),
    ] {
        let condition = format!(r#"{{"{op}":{{"aws:username":"{want}"}}}}"#);
        assert_eq!(
            condition_holds(&condition, &ctx_with("aws:username", got)),
            holds,
            "{condition} with {got}"
        );
    }
}

#[test]
fn set_qualifiers_over_multi_valued_keys() {
    // The IAM guide's example: ForAllValues:StringEquals allows a request
    // whose every value is listed; ForAnyValue needs one listed value.
    let mut ctx = ConditionContext::new();
    ctx.set_all(
        "aws:RequestedRegion",
        vec!["eu-west-1".into(), "us-east-1".into()],
    );
    let listed = r#"["eu-west-1","us-east-1","eu-central-1"]"#;
    let cases = [
        (
            format!(r#"{{"ForAllValues:StringEquals":{{"aws:RequestedRegion":{listed}}}}}"#),
            true,
        ),
        (
            r#"{"ForAllValues:StringEquals":{"aws:RequestedRegion":"eu-west-1"}}"#.to_string(),
            false,
        ),
        (
            r#"{"ForAnyValue:StringEquals":{"aws:RequestedRegion":"eu-west-1"}}"#.to_string(),
            true,
        ),
        (
            r#"{"ForAnyValue:StringEquals":{"aws:RequestedRegion":"ap-south-1"}}"#.to_string(),
            false,
        ),
        (
            r#"{"ForAnyValue:StringLike":{"aws:RequestedRegion":"us-*"}}"#.to_string(),
            true,
        ),
        // Negated under qualifiers: some value not listed / no value listed.
        (
            r#"{"ForAnyValue:StringNotEquals":{"aws:RequestedRegion":"eu-west-1"}}"#.to_string(),
            true,
        ),
        (
            r#"{"ForAllValues:StringNotEquals":{"aws:RequestedRegion":"eu-west-1"}}"#.to_string(),
            false,
        ),
        (
            r#"{"ForAllValues:StringNotEquals":{"aws:RequestedRegion":"ap-south-1"}}"#.to_string(),
            true,
        ),
    ];
    for (condition, holds) in cases {
        assert_eq!(condition_holds(&condition, &ctx), holds, "{condition}");
    }
    // A multi-valued key is no policy variable: the value matches nothing.
    let p = identity(&with_condition(
        r#"{"StringEquals":{"aws:username":"${aws:RequestedRegion}"}}"#,
    ));
    let mut ctx2 = ctx.clone();
    ctx2.set("aws:username", "eu-west-1");
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", "*", &ctx2),
        Decision::ImplicitDeny
    );
}

#[test]
fn negated_operator_with_several_values_is_none_of_them() {
    let condition = r#"{"StringNotEquals":{"aws:username":["alice","bob"]}}"#;
    assert!(!condition_holds(
        condition,
        &ctx_with("aws:username", "alice")
    ));
    assert!(!condition_holds(
        condition,
        &ctx_with("aws:username", "bob")
    ));
    assert!(condition_holds(
        condition,
        &ctx_with("aws:username", "carol")
    ));
}

#[test]
fn policy_variables_in_resources_and_conditions() {
    let ctx = ConditionContext::new()
        .with("aws:username", "alice")
        .with("aws:userid", "AIDAEXAMPLE")
        .with("aws:PrincipalAccount", "111111111111");
    // The issue's case: a role named after the user.
    let p = identity(&one_statement(
        r#""Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::*:role/${aws:username}-*""#,
    ));
    assert_eq!(
        eval_id(
            &p,
            "sts:AssumeRole",
            "arn:aws:iam::222222222222:role/alice-admin",
            &ctx
        ),
        Decision::Allow
    );
    assert_eq!(
        eval_id(
            &p,
            "sts:AssumeRole",
            "arn:aws:iam::222222222222:role/bob-admin",
            &ctx
        ),
        Decision::ImplicitDeny
    );
    // ${*}, ${?} and ${$} are the literal characters, never wildcards.
    let p = identity(&one_statement(
        r#""Effect":"Allow","Action":"*","Resource":"arn:aws:iam::${aws:PrincipalAccount}:user/a${*}b${?}${$}""#,
    ));
    assert_eq!(
        eval_id(
            &p,
            "iam:GetUser",
            "arn:aws:iam::111111111111:user/a*b?$",
            &ctx
        ),
        Decision::Allow
    );
    assert_eq!(
        eval_id(
            &p,
            "iam:GetUser",
            "arn:aws:iam::111111111111:user/axbc$",
            &ctx
        ),
        Decision::ImplicitDeny
    );
    // A value brought in by a variable is literal too.
    let starry = ctx.clone().with("aws:username", "*");
    let p = identity(&one_statement(
        r#""Effect":"Allow","Action":"*","Resource":"arn:aws:iam::111111111111:user/${aws:username}""#,
    ));
    assert_eq!(
        eval_id(
            &p,
            "iam:GetUser",
            "arn:aws:iam::111111111111:user/bob",
            &starry
        ),
        Decision::ImplicitDeny
    );
    // In condition values; a default when the key is absent.
    let p = identity(&with_condition(
        r#"{"StringEquals":{"sts:RoleSessionName":"${aws:username}"}}"#,
    ));
    assert_eq!(
        eval_id(
            &p,
            "sts:AssumeRole",
            "*",
            &ctx.clone().with("sts:RoleSessionName", "alice")
        ),
        Decision::Allow
    );
    assert_eq!(
        eval_id(
            &p,
            "sts:AssumeRole",
            "*",
            &ctx.clone().with("sts:RoleSessionName", "bob")
        ),
        Decision::ImplicitDeny
    );
    let p = identity(&with_condition(
        r#"{"StringLike":{"sts:RoleSessionName":"${aws:username, 'ci'}-*"}}"#,
    ));
    let role_session = ConditionContext::new().with("sts:RoleSessionName", "ci-42");
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", "*", &role_session),
        Decision::Allow
    );
    // Numeric and date values may come from variables.
    let p = identity(&with_condition(
        r#"{"DateGreaterThan":{"aws:CurrentTime":"${aws:TokenIssueTime}"}}"#,
    ));
    let timed = ConditionContext::new()
        .with("aws:CurrentTime", "2026-06-01T12:00:00Z")
        .with("aws:TokenIssueTime", "2026-06-01T11:00:00Z");
    assert_eq!(eval_id(&p, "sts:AssumeRole", "*", &timed), Decision::Allow);
}

#[test]
fn not_action_and_not_resource_apply_to_everything_else() {
    let p = identity(
        r#"{"Version":"2012-10-17","Statement":[
          {"Effect":"Allow","Action":"*","Resource":"*"},
          {"Effect":"Deny","NotAction":["iam:List*","sts:GetSessionToken"],"Resource":"*"}]}"#,
    );
    let ctx = ConditionContext::new();
    assert_eq!(
        eval_id(&p, "iam:ListMFADevices", "*", &ctx),
        Decision::Allow
    );
    assert_eq!(
        eval_id(&p, "STS:GetSessionToken", "*", &ctx),
        Decision::Allow
    );
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", "*", &ctx),
        Decision::ExplicitDeny
    );
    let p = identity(&one_statement(
        r#""Effect":"Allow","Action":"iam:*","NotResource":"arn:aws:iam::*:user/root-*""#,
    ));
    assert_eq!(
        eval_id(
            &p,
            "iam:GetUser",
            "arn:aws:iam::111111111111:user/alice",
            &ctx
        ),
        Decision::Allow
    );
    assert_eq!(
        eval_id(
            &p,
            "iam:GetUser",
            "arn:aws:iam::111111111111:user/root-x",
            &ctx
        ),
        Decision::ImplicitDeny
    );
    // A NotAction Allow grants nothing it excludes, even with "*" resources.
    let p = identity(&one_statement(
        r#""Effect":"Allow","NotAction":"iam:*","Resource":"*""#,
    ));
    assert_eq!(
        eval_id(&p, "iam:GetUser", "*", &ctx),
        Decision::ImplicitDeny
    );
    assert_eq!(eval_id(&p, "sts:AssumeRole", "*", &ctx), Decision::Allow);
}

#[test]
fn not_principal_deny_excludes_the_named_principals() {
    let p = trust(
        r#"{"Version":"2012-10-17","Statement":[
          {"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"sts:AssumeRole"},
          {"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::111111111111:user/alice","arn:aws:sts::111111111111:assumed-role/ci/build"]},"Action":"sts:AssumeRole"}]}"#,
    );
    let ctx = ConditionContext::new();
    assert_eq!(eval_trust(&p, &alice(), &ctx), Decision::Allow);
    let carol = Principal {
        account: "111111111111".into(),
        arn: "arn:aws:iam::111111111111:user/carol".into(),
    };
    assert_eq!(eval_trust(&p, &carol, &ctx), Decision::ExplicitDeny);
    let build = Principal {
        account: "111111111111".into(),
        arn: "arn:aws:sts::111111111111:assumed-role/ci/build".into(),
    };
    assert_eq!(eval_trust(&p, &build, &ctx), Decision::Allow);
}

/// AWS's documented force-MFA statement: the IAM tutorial's "Force_MFA"
/// policy (also in the knowledge center's "mfa-iam-user-aws-cli" article).
pub(crate) const FORCE_MFA_DENY: &str = r#"{"Version":"2012-10-17","Statement":[{
  "Sid":"BlockMostAccessUnlessSignedInWithMFA","Effect":"Deny",
  "NotAction":["iam:CreateVirtualMFADevice","iam:DeleteVirtualMFADevice","iam:ListVirtualMFADevices","iam:EnableMFADevice","iam:ResyncMFADevice","iam:ListAccountAliases","iam:ListUsers","iam:ListSSHPublicKeys","iam:ListAccessKeys","iam:ListServiceSpecificCredentials","iam:ListMFADevices","iam:GetAccountSummary","sts:GetSessionToken"],
  "Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]}"#;

#[test]
fn force_mfa_deny_with_bool_if_exists() {
    let p = identity(FORCE_MFA_DENY);
    let long_term = ConditionContext::new();
    let plain_session = mfa(Some(false), None, None);
    let mfa_session = mfa(Some(true), Some(10), None);
    let (d, why) = p.explain(&Request {
        action: "sts:AssumeRole",
        resource: ROLE_ARN,
        principal: &alice(),
        context: &long_term,
    });
    assert_eq!(
        d,
        Decision::ExplicitDeny,
        "long-term keys: the key is absent"
    );
    assert_eq!(
        why.as_deref(),
        Some("Statement[0] (Sid \"BlockMostAccessUnlessSignedInWithMFA\")")
    );
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", ROLE_ARN, &plain_session),
        Decision::ExplicitDeny
    );
    assert_eq!(
        eval_id(&p, "sts:AssumeRole", ROLE_ARN, &mfa_session),
        Decision::ImplicitDeny
    );
    assert_eq!(
        eval_id(&p, "sts:GetSessionToken", "*", &long_term),
        Decision::ImplicitDeny
    );
    assert_eq!(
        eval_id(&p, "iam:ListMFADevices", "*", &long_term),
        Decision::ImplicitDeny
    );
    // The IAM guide's warning: with Bool (no IfExists) long-term keys escape.
    let bool_only = identity(&FORCE_MFA_DENY.replace("BoolIfExists", "Bool"));
    assert_eq!(
        eval_id(&bool_only, "sts:AssumeRole", ROLE_ARN, &long_term),
        Decision::ImplicitDeny
    );
    assert_eq!(
        eval_id(&bool_only, "sts:AssumeRole", ROLE_ARN, &plain_session),
        Decision::ExplicitDeny
    );
}

#[test]
fn intersection_of_policy_sets() {
    use Decision::*;
    assert_eq!(intersect(Allow, Allow), Allow);
    assert_eq!(intersect(Allow, ImplicitDeny), ImplicitDeny);
    assert_eq!(intersect(ImplicitDeny, Allow), ImplicitDeny);
    assert_eq!(intersect(ExplicitDeny, Allow), ExplicitDeny);
    assert_eq!(intersect(Allow, ExplicitDeny), ExplicitDeny);
    assert_eq!(intersect(ImplicitDeny, ImplicitDeny), ImplicitDeny);
}

#[test]
fn aws_managed_policies_are_built_in() {
    let ro = identity(aws_managed("arn:aws:iam::aws:policy/ReadOnlyAccess").unwrap());
    let ctx = ConditionContext::new();
    assert_eq!(
        eval_id(&ro, "iam:ListAccessKeys", "*", &ctx),
        Decision::Allow
    );
    assert_eq!(
        eval_id(&ro, "iam:CreateAccessKey", "*", &ctx),
        Decision::ImplicitDeny
    );
    assert_eq!(
        eval_id(&ro, "sts:AssumeRole", ROLE_ARN, &ctx),
        Decision::ImplicitDeny
    );
    assert!(aws_managed("arn:aws:iam::aws:policy/AdministratorAccess").is_some());
    assert!(aws_managed("arn:aws:iam::aws:policy/NoSuchPolicy").is_none());
    assert!(aws_managed("arn:aws:iam::111111111111:policy/ReadOnlyAccess").is_none());
}

#[test]
fn ipv6_and_mapped_addresses_in_cidrs() {
    assert!(super::conditions::cidr_contains("10.0.0.0/8", "10.255.0.1"));
    assert!(!super::conditions::cidr_contains("10.0.0.0/8", "11.0.0.1"));
    assert!(super::conditions::cidr_contains(
        "10.0.0.0/8",
        "::ffff:10.0.0.1"
    ));
    assert!(super::conditions::cidr_contains("::/0", "2001:db8::1"));
    assert!(super::conditions::cidr_contains("0.0.0.0/0", "127.0.0.1"));
    assert!(!super::conditions::cidr_contains(
        "2001:db8::/32",
        "10.0.0.1"
    ));
}
