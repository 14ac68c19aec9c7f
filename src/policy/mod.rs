//! IAM policy documents and CloudFormation templates for the bastion-account
//! pattern.
//!
//! * The **bastion account** holds IAM users that may do nothing except call
//!   `sts:GetSessionToken` and, once MFA-authenticated, `sts:AssumeRole`
//!   ([`bastion_policy`]).  Optionally they may also manage their own MFA device
//!   and access keys (the minimum of AWS's documented "MFA-authenticated IAM
//!   users manage their own credentials" example).
//! * Each **target account** has a role (at most `PowerUserAccess`) whose trust
//!   policy trusts the bastion account, but only for MFA-authenticated sessions
//!   ([`trust_policy`]).
//!
//! Documents are built from typed structs so that the key order is the
//! conventional IAM one (`Version`, `Statement`; `Sid`, `Effect`, `Principal`,
//! `Action`, `Resource`, `Condition`).  The `serde_json::Value` returned by
//! [`bastion_policy`] / [`trust_policy`] may not keep that order (the crate does
//! not enable serde_json's `preserve_order`), so [`to_pretty_json`] re-imposes
//! the canonical IAM key order when printing.

use serde::{Serialize, Serializer};
use serde_json::Value;
use std::collections::BTreeMap;

use crate::types::{AccountId, ExternalId, Partition, SessionDuration};

/// IAM policy language version used by every document.
pub(crate) const POLICY_VERSION: &str = "2012-10-17";

const MFA_PRESENT_KEY: &str = "aws:MultiFactorAuthPresent";
const MFA_AGE_KEY: &str = "aws:MultiFactorAuthAge";
const EXTERNAL_ID_KEY: &str = "sts:ExternalId";
const OWN_USER_ARN: &str = "arn:aws:iam::*:user/${aws:username}";
const OWN_MFA_ARN: &str = "arn:aws:iam::*:mfa/${aws:username}*";

// ---------------------------------------------------------------------------
// Typed policy documents
// ---------------------------------------------------------------------------

/// An IAM policy document; serializes with keys in the conventional order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PolicyDocument {
    #[serde(rename = "Version")]
    pub(crate) version: &'static str,
    #[serde(rename = "Statement")]
    pub(crate) statement: Vec<Statement>,
}

/// One policy statement (always `Effect: Allow` in this module).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Statement {
    #[serde(rename = "Sid")]
    pub(crate) sid: &'static str,
    #[serde(rename = "Effect")]
    pub(crate) effect: &'static str,
    #[serde(rename = "Principal", skip_serializing_if = "Option::is_none")]
    pub(crate) principal: Option<Principal>,
    #[serde(rename = "Action")]
    pub(crate) action: OneOrMany,
    #[serde(rename = "Resource", skip_serializing_if = "Option::is_none")]
    pub(crate) resource: Option<OneOrMany>,
    #[serde(rename = "Condition", skip_serializing_if = "Option::is_none")]
    pub(crate) condition: Option<Condition>,
}

/// `Principal` of a trust policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Principal {
    #[serde(rename = "AWS")]
    pub(crate) aws: String,
}

/// A string or a list of strings, as IAM allows for `Action` / `Resource`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub(crate) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn many(items: &[&str]) -> Self {
        OneOrMany::Many(items.iter().map(|s| (*s).to_owned()).collect())
    }
}

/// The condition operators used in this module (serialized in this order).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Condition {
    #[serde(rename = "Bool", skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) bool: BTreeMap<&'static str, String>,
    #[serde(rename = "NumericLessThan", skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) numeric_less_than: BTreeMap<&'static str, String>,
    #[serde(rename = "StringEquals", skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) string_equals: BTreeMap<&'static str, String>,
}

impl Condition {
    fn mfa_present() -> Self {
        let mut c = Condition::default();
        c.bool.insert(MFA_PRESENT_KEY, "true".to_owned());
        c
    }
}

fn allow(sid: &'static str, actions: &[&str], resources: &[&str], mfa: bool) -> Statement {
    Statement {
        sid,
        effect: "Allow",
        principal: None,
        action: OneOrMany::many(actions),
        resource: Some(match resources {
            [one] => OneOrMany::One((*one).to_owned()),
            many => OneOrMany::many(many),
        }),
        condition: mfa.then(Condition::mfa_present),
    }
}

/// Typed form of [`bastion_policy`].
pub(crate) fn bastion_policy_document(self_manage_mfa: bool) -> PolicyDocument {
    let mut statement = vec![
        allow("AssumeRoleWithMfa", &["sts:AssumeRole"], &["*"], true),
        allow("GetSessionToken", &["sts:GetSessionToken"], &["*"], false),
    ];
    if self_manage_mfa {
        // Exactly what `mfacli rotate`, `mfacli mfa add-virtual|list` and
        // `mfacli doctor` call, on the caller's own user and devices, and
        // only with an MFA session.
        statement.extend([
            allow(
                "ManageOwnAccessKeysWithMfa",
                &[
                    "iam:ListAccessKeys",
                    "iam:CreateAccessKey",
                    "iam:UpdateAccessKey",
                    "iam:DeleteAccessKey",
                ],
                &[OWN_USER_ARN],
                true,
            ),
            allow(
                "ListOwnMfaDevicesWithMfa",
                &["iam:ListMFADevices"],
                &[OWN_USER_ARN],
                true,
            ),
            // Delete: `mfa add-virtual` removes a device it created when
            // its seed could not be stored or enabling failed. IAM refuses
            // to delete an enabled device (DeleteConflict) and
            // DeactivateMFADevice is not granted, so no MFA can be removed.
            allow(
                "ManageOwnVirtualMfaDevicesWithMfa",
                &["iam:CreateVirtualMFADevice", "iam:DeleteVirtualMFADevice"],
                &[OWN_MFA_ARN],
                true,
            ),
            allow(
                "EnableOwnMfaDeviceWithMfa",
                &["iam:EnableMFADevice"],
                &[OWN_USER_ARN],
                true,
            ),
        ]);
    }
    PolicyDocument {
        version: POLICY_VERSION,
        statement,
    }
}

/// Identity policy for the bastion account's users (attach to their group).
///
/// Allows `sts:GetSessionToken`, and `sts:AssumeRole` only with MFA.  With
/// `self_manage_mfa`, also exactly what `mfacli rotate`, `mfacli mfa
/// add-virtual|list` and `mfacli doctor` call: each user's own access keys
/// and virtual MFA devices (named `USER*`), only with an MFA session.
pub(crate) fn bastion_policy(self_manage_mfa: bool) -> Value {
    serde_json::to_value(bastion_policy_document(self_manage_mfa))
        .expect("policy documents always serialize")
}

/// Typed form of [`trust_policy`]. Its inputs are validated values
/// (`types.rs`), so it cannot fail.
pub(crate) fn trust_policy_document(
    bastion_account: &AccountId,
    external_id: Option<&ExternalId>,
    max_mfa_age: Option<SessionDuration>,
    partition: Partition,
) -> PolicyDocument {
    let mut condition = Condition::mfa_present();
    if let Some(age) = max_mfa_age {
        condition
            .numeric_less_than
            .insert(MFA_AGE_KEY, age.secs().to_string());
    }
    if let Some(id) = external_id {
        condition
            .string_equals
            .insert(EXTERNAL_ID_KEY, id.as_str().to_owned());
    }
    PolicyDocument {
        version: POLICY_VERSION,
        statement: vec![Statement {
            sid: "TrustBastionWithMfa",
            effect: "Allow",
            principal: Some(Principal {
                aws: format!("arn:{partition}:iam::{bastion_account}:root"),
            }),
            action: OneOrMany::One("sts:AssumeRole".to_owned()),
            resource: None,
            condition: Some(condition),
        }],
    }
}

/// Trust (assume-role) policy for a target-account role: trusts the bastion
/// account's root principal, only for MFA-authenticated sessions, optionally
/// requiring a recent MFA (`aws:MultiFactorAuthAge < max_mfa_age`) and an
/// external id.
pub(crate) fn trust_policy(
    bastion_account: &AccountId,
    external_id: Option<&ExternalId>,
    max_mfa_age: Option<SessionDuration>,
    partition: Partition,
) -> Value {
    let doc = trust_policy_document(bastion_account, external_id, max_mfa_age, partition);
    serde_json::to_value(doc).expect("policy documents always serialize")
}

// ---------------------------------------------------------------------------
// Pretty printing in canonical IAM key order
// ---------------------------------------------------------------------------

fn key_rank(key: &str) -> usize {
    const ORDER: [&str; 13] = [
        "Version",
        "Id",
        "Statement",
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
        "AWS",
    ];
    ORDER.iter().position(|k| *k == key).unwrap_or(ORDER.len())
}

/// Serializes a `Value` with object keys in canonical IAM order (known keys
/// first, in their conventional order; anything else alphabetically after).
struct Canonical<'a>(&'a Value);

impl Serialize for Canonical<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.0 {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries
                    .sort_by(|(a, _), (b, _)| key_rank(a).cmp(&key_rank(b)).then_with(|| a.cmp(b)));
                let mut m = serializer.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    m.serialize_entry(k, &Canonical(v))?;
                }
                m.end()
            }
            Value::Array(items) => {
                let mut s = serializer.serialize_seq(Some(items.len()))?;
                for v in items {
                    s.serialize_element(&Canonical(v))?;
                }
                s.end()
            }
            other => other.serialize(serializer),
        }
    }
}

/// Pretty JSON (2-space indent) with a trailing newline, object keys in the
/// conventional IAM order (`Version`, `Statement`, `Sid`, `Effect`,
/// `Principal`, `Action`, `Resource`, `Condition`, ...).
pub(crate) fn to_pretty_json(v: &Value) -> String {
    let mut out =
        serde_json::to_string_pretty(&Canonical(v)).expect("JSON values always serialize");
    out.push('\n');
    out
}

// ---------------------------------------------------------------------------
// CloudFormation templates (long-form intrinsic functions only)
// ---------------------------------------------------------------------------

const BASTION_TEMPLATE_HEAD: &str = r#"AWSTemplateFormatVersion: '2010-09-09'
Description: >-
  mfacli bastion account: an IAM group whose members may only call
  sts:GetSessionToken and, with MFA, sts:AssumeRole into target accounts.
  Add the bastion IAM users to this group.
Parameters:
  GroupName:
    Type: String
    Default: mfacli-bastion-users
    AllowedPattern: '^[\w+=,.@-]{1,128}$'
    Description: Name of the IAM group for the bastion users.
Resources:
  BastionGroup:
    Type: AWS::IAM::Group
    Properties:
      GroupName:
        Ref: GroupName
  BastionGroupPolicy:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: mfacli-bastion
      Groups:
        - Ref: BastionGroup
      PolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Sid: AssumeRoleWithMfa
            Effect: Allow
            Action:
              - 'sts:AssumeRole'
            Resource: '*'
            Condition:
              Bool:
                'aws:MultiFactorAuthPresent': 'true'
          - Sid: GetSessionToken
            Effect: Allow
            Action:
              - 'sts:GetSessionToken'
            Resource: '*'
"#;

const BASTION_TEMPLATE_SELF_MANAGE: &str = r#"          - Sid: ManageOwnAccessKeysWithMfa
            Effect: Allow
            Action:
              - 'iam:ListAccessKeys'
              - 'iam:CreateAccessKey'
              - 'iam:UpdateAccessKey'
              - 'iam:DeleteAccessKey'
            Resource: 'arn:aws:iam::*:user/${aws:username}'
            Condition:
              Bool:
                'aws:MultiFactorAuthPresent': 'true'
          - Sid: ListOwnMfaDevicesWithMfa
            Effect: Allow
            Action:
              - 'iam:ListMFADevices'
            Resource: 'arn:aws:iam::*:user/${aws:username}'
            Condition:
              Bool:
                'aws:MultiFactorAuthPresent': 'true'
          - Sid: ManageOwnVirtualMfaDevicesWithMfa
            Effect: Allow
            Action:
              - 'iam:CreateVirtualMFADevice'
              - 'iam:DeleteVirtualMFADevice'
            Resource: 'arn:aws:iam::*:mfa/${aws:username}*'
            Condition:
              Bool:
                'aws:MultiFactorAuthPresent': 'true'
          - Sid: EnableOwnMfaDeviceWithMfa
            Effect: Allow
            Action:
              - 'iam:EnableMFADevice'
            Resource: 'arn:aws:iam::*:user/${aws:username}'
            Condition:
              Bool:
                'aws:MultiFactorAuthPresent': 'true'
"#;

const BASTION_TEMPLATE_TAIL: &str = r#"Outputs:
  BastionGroupArn:
    Description: ARN of the bastion users' IAM group.
    Value:
      Fn::GetAtt:
        - BastionGroup
        - Arn
  BastionGroupName:
    Description: Name of the bastion users' IAM group.
    Value:
      Ref: BastionGroup
"#;

const TARGET_TEMPLATE: &str = r#"AWSTemplateFormatVersion: '2010-09-09'
Description: >-
  mfacli target account: a PowerUserAccess role that IAM users of the bastion
  account may assume, only with MFA.
Parameters:
  BastionAccountId:
    Type: String
    AllowedPattern: '^\d{12}$'
    ConstraintDescription: must be a 12-digit AWS account id.
    Description: Id of the bastion account whose MFA-authenticated users may assume the role.
  RoleName:
    Type: String
    Default: PowerUser
    AllowedPattern: '^[\w+=,.@-]{1,64}$'
    Description: Name of the role to create.
  MaxSessionDuration:
    Type: Number
    Default: 3600
    MinValue: 3600
    MaxValue: 43200
    Description: Maximum role session duration in seconds (3600 to 43200).
Resources:
  BastionAccessRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName:
        Ref: RoleName
      Description: Assumed from the mfacli bastion account with MFA.
      MaxSessionDuration:
        Ref: MaxSessionDuration
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Sid: TrustBastionWithMfa
            Effect: Allow
            Principal:
              AWS:
                Fn::Sub: 'arn:${AWS::Partition}:iam::${BastionAccountId}:root'
            Action: 'sts:AssumeRole'
            Condition:
              Bool:
                'aws:MultiFactorAuthPresent': 'true'
      ManagedPolicyArns:
        - Fn::Sub: 'arn:${AWS::Partition}:iam::aws:policy/PowerUserAccess'
Outputs:
  RoleArn:
    Description: ARN of the role to configure in mfacli.
    Value:
      Fn::GetAtt:
        - BastionAccessRole
        - Arn
"#;

/// CloudFormation template (YAML) for the bastion account: the users' group
/// and its inline policy, which is exactly [`bastion_policy`]`(self_manage_mfa)`.
pub(crate) fn cloudformation_bastion(self_manage_mfa: bool) -> String {
    let mut out = String::from(BASTION_TEMPLATE_HEAD);
    if self_manage_mfa {
        out.push_str(BASTION_TEMPLATE_SELF_MANAGE);
    }
    out.push_str(BASTION_TEMPLATE_TAIL);
    out
}

/// CloudFormation template (YAML) for a target account: a `PowerUserAccess`
/// role trusting the bastion account with MFA.
pub(crate) fn cloudformation_target() -> String {
    TARGET_TEMPLATE.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ACCOUNT: &str = "123456789012";

    fn statements(doc: &Value) -> &Vec<Value> {
        doc["Statement"].as_array().expect("Statement is an array")
    }

    fn strings(v: &Value) -> Vec<&str> {
        match v {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().map(|x| x.as_str().unwrap()).collect(),
            other => panic!("expected string or array, got {other}"),
        }
    }

    fn by_sid<'a>(doc: &'a Value, sid: &str) -> &'a Value {
        statements(doc)
            .iter()
            .find(|s| s["Sid"] == sid)
            .unwrap_or_else(|| panic!("no statement {sid}"))
    }

    fn mfa_cond() -> Value {
        json!({"Bool": {"aws:MultiFactorAuthPresent": "true"}})
    }

    /// Common invariants: Allow only, no wildcard actions, no Not* elements,
    /// no iam wildcard, unique Sids.
    fn assert_safe(doc: &Value) {
        assert_eq!(doc["Version"], "2012-10-17");
        let mut sids = std::collections::HashSet::new();
        for st in statements(doc) {
            assert!(sids.insert(st["Sid"].as_str().unwrap().to_owned()));
            assert_eq!(st["Effect"], "Allow", "{st}");
            for k in ["NotAction", "NotResource", "NotPrincipal"] {
                assert!(st.get(k).is_none(), "{k} in {st}");
            }
            for a in strings(&st["Action"]) {
                assert!(!a.contains('*'), "wildcard action {a}");
                assert!(
                    a.starts_with("sts:") || a.starts_with("iam:"),
                    "unexpected service in {a}"
                );
            }
            if let Some(p) = st.get("Principal") {
                assert!(p["AWS"].as_str().unwrap_or("").ends_with(":root") || p["AWS"].is_object());
            }
        }
    }

    fn all_actions(doc: &Value) -> Vec<String> {
        statements(doc)
            .iter()
            .flat_map(|s| strings(&s["Action"]))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn bastion_policy_minimal_is_exact() {
        let expected = r#"{"Version":"2012-10-17","Statement":[{"Sid":"AssumeRoleWithMfa","Effect":"Allow","Action":["sts:AssumeRole"],"Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}},{"Sid":"GetSessionToken","Effect":"Allow","Action":["sts:GetSessionToken"],"Resource":"*"}]}"#;
        // Typed document keeps the key order exactly.
        assert_eq!(
            serde_json::to_string(&bastion_policy_document(false)).unwrap(),
            expected
        );
        let v = bastion_policy(false);
        assert_eq!(v, serde_json::from_str::<Value>(expected).unwrap());
        assert_safe(&v);
        assert_eq!(all_actions(&v), ["sts:AssumeRole", "sts:GetSessionToken"]);
    }

    #[test]
    fn pretty_json_keeps_canonical_order_and_trailing_newline() {
        for x in [false, true] {
            let pretty = to_pretty_json(&bastion_policy(x));
            let mut expected = serde_json::to_string_pretty(&bastion_policy_document(x)).unwrap();
            expected.push('\n');
            assert_eq!(pretty, expected);
            assert!(pretty.ends_with("}\n") && !pretty.ends_with("\n\n"));
            assert!(pretty.contains("\n  \"Statement\": [\n    {\n      \"Sid\""));
        }
        let doc =
            trust_policy_document(&account(), Some(&ext("ext-id")), age(3600), Partition::Aws);
        let mut expected = serde_json::to_string_pretty(&doc).unwrap();
        expected.push('\n');
        let pretty = to_pretty_json(&trust_policy(
            &account(),
            Some(&ext("ext-id")),
            age(3600),
            Partition::Aws,
        ));
        assert_eq!(pretty, expected);
        let (p, a, c) = (
            pretty.find("\"Principal\"").unwrap(),
            pretty.find("\"Action\"").unwrap(),
            pretty.find("\"Condition\"").unwrap(),
        );
        assert!(p < a && a < c);
        // Unknown keys go after known ones, alphabetically.
        assert_eq!(
            to_pretty_json(&json!({"z": 1, "Effect": 2, "a": 3, "Sid": 4})),
            "{\n  \"Sid\": 4,\n  \"Effect\": 2,\n  \"a\": 3,\n  \"z\": 1\n}\n"
        );
    }

    #[test]
    fn bastion_policy_self_manage_statements() {
        let v = bastion_policy(true);
        assert_safe(&v);
        let sids: Vec<&str> = statements(&v)
            .iter()
            .map(|s| s["Sid"].as_str().unwrap())
            .collect();
        assert_eq!(
            sids,
            [
                "AssumeRoleWithMfa",
                "GetSessionToken",
                "ManageOwnAccessKeysWithMfa",
                "ListOwnMfaDevicesWithMfa",
                "ManageOwnVirtualMfaDevicesWithMfa",
                "EnableOwnMfaDeviceWithMfa",
            ]
        );
        // First two statements are unchanged.
        assert_eq!(statements(&v)[..2], statements(&bastion_policy(false))[..]);

        let user = OWN_USER_ARN;
        let mfa = OWN_MFA_ARN;
        assert_eq!(mfa, "arn:aws:iam::*:mfa/${aws:username}*");
        let expect = |sid: &str, actions: &[&str], resources: Value| {
            let st = by_sid(&v, sid);
            assert_eq!(strings(&st["Action"]), actions, "{sid}");
            assert_eq!(st["Resource"], resources, "{sid}");
            assert_eq!(st["Condition"], mfa_cond(), "{sid}");
        };
        expect(
            "ManageOwnAccessKeysWithMfa",
            &[
                "iam:ListAccessKeys",
                "iam:CreateAccessKey",
                "iam:UpdateAccessKey",
                "iam:DeleteAccessKey",
            ],
            json!(user),
        );
        expect(
            "ListOwnMfaDevicesWithMfa",
            &["iam:ListMFADevices"],
            json!(user),
        );
        expect(
            "ManageOwnVirtualMfaDevicesWithMfa",
            &["iam:CreateVirtualMFADevice", "iam:DeleteVirtualMFADevice"],
            json!(mfa),
        );
        expect(
            "EnableOwnMfaDeviceWithMfa",
            &["iam:EnableMFADevice"],
            json!(user),
        );

        // Every IAM statement is scoped to the caller's own user / MFA
        // devices and needs MFA.
        for st in statements(&v) {
            let actions = strings(&st["Action"]);
            if actions.iter().any(|a| a.starts_with("iam:")) {
                for r in strings(&st["Resource"]) {
                    assert!(r == user || r == mfa, "{r}");
                }
                assert_eq!(st["Condition"], mfa_cond());
            }
        }
        let actions = all_actions(&v);
        for forbidden in [
            "iam:ChangePassword",
            "iam:GetLoginProfile",
            "iam:PassRole",
            "iam:DeactivateMFADevice",
            "iam:DeleteLoginProfile",
            "iam:ResyncMFADevice",
        ] {
            assert!(!actions.iter().any(|a| a == forbidden));
        }
        // sts:AssumeRole only with MFA in both variants.
        assert_eq!(by_sid(&v, "AssumeRoleWithMfa")["Condition"], mfa_cond());
    }

    fn account() -> AccountId {
        ACCOUNT.parse().unwrap()
    }

    fn ext(s: &str) -> ExternalId {
        s.parse().unwrap()
    }

    fn age(secs: u32) -> Option<SessionDuration> {
        Some(SessionDuration::from_secs(secs))
    }

    #[test]
    fn trust_policy_basic() {
        let v = trust_policy(&account(), None, None, Partition::Aws);
        assert_eq!(
            v,
            json!({"Version":"2012-10-17","Statement":[{
                "Sid":"TrustBastionWithMfa","Effect":"Allow",
                "Principal":{"AWS":"arn:aws:iam::123456789012:root"},
                "Action":"sts:AssumeRole",
                "Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]})
        );
        assert_safe(&v);
        assert_eq!(
            serde_json::to_string(&trust_policy_document(
                &account(),
                None,
                None,
                Partition::Aws
            ))
            .unwrap(),
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"TrustBastionWithMfa","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}"#
        );
    }

    #[test]
    fn trust_policy_with_external_id_and_age() {
        let v = trust_policy(
            &account(),
            Some(&ext("a1_+=,.@:/-Z")),
            age(43200),
            Partition::Aws,
        );
        assert_safe(&v);
        assert_eq!(
            statements(&v)[0]["Condition"],
            json!({
                "Bool":{"aws:MultiFactorAuthPresent":"true"},
                "NumericLessThan":{"aws:MultiFactorAuthAge":"43200"},
                "StringEquals":{"sts:ExternalId":"a1_+=,.@:/-Z"}
            })
        );
        let only_age = trust_policy(&account(), None, age(1), Partition::Aws);
        assert_eq!(
            statements(&only_age)[0]["Condition"],
            json!({"Bool":{"aws:MultiFactorAuthPresent":"true"},
                   "NumericLessThan":{"aws:MultiFactorAuthAge":"1"}})
        );
        let only_ext = trust_policy(&account(), Some(&ext("xy")), None, Partition::Aws);
        assert_eq!(
            statements(&only_ext)[0]["Condition"],
            json!({"Bool":{"aws:MultiFactorAuthPresent":"true"},
                   "StringEquals":{"sts:ExternalId":"xy"}})
        );
    }

    #[test]
    fn trust_policy_partitions() {
        for p in Partition::ALL {
            let v = trust_policy(&account(), None, None, p);
            assert_eq!(
                statements(&v)[0]["Principal"]["AWS"],
                format!("arn:{p}:iam::{ACCOUNT}:root")
            );
        }
    }

    // What the inputs may be is decided once, by the types (`types.rs`);
    // `cli.rs` tests that bad values are usage errors naming the flag.

    // --- CloudFormation -------------------------------------------------

    fn parse_yaml(text: &str) -> Value {
        serde_yaml_ng::from_str(text).expect("template is valid YAML")
    }

    fn assert_template_basics(text: &str, t: &Value) {
        assert!(!text.contains('!'), "short-form tag found");
        assert!(!text.contains('\t'));
        assert!(text.ends_with('\n'));
        assert_eq!(t["AWSTemplateFormatVersion"], "2010-09-09");
        assert!(!t["Description"].as_str().unwrap().is_empty());
        for k in ["Parameters", "Resources", "Outputs"] {
            assert!(t[k].is_object(), "{k}");
        }
        assert!(!text.contains("AdministratorAccess"));
        assert!(!text.contains("IAMFullAccess"));
        // Every Ref / GetAtt / Sub variable points at a parameter or resource.
        let names: Vec<&String> = t["Parameters"]
            .as_object()
            .unwrap()
            .keys()
            .chain(t["Resources"].as_object().unwrap().keys())
            .collect();
        fn walk<'a>(v: &'a Value, refs: &mut Vec<&'a str>) {
            match v {
                Value::Object(m) => {
                    for (k, x) in m {
                        match (k.as_str(), x) {
                            ("Ref", Value::String(s)) => refs.push(s),
                            ("Fn::GetAtt", Value::Array(a)) => refs.push(a[0].as_str().unwrap()),
                            _ => walk(x, refs),
                        }
                    }
                }
                Value::Array(a) => a.iter().for_each(|x| walk(x, refs)),
                _ => {}
            }
        }
        let mut refs = Vec::new();
        walk(t, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            assert!(names.iter().any(|n| *n == r), "dangling reference {r}");
        }
    }

    #[test]
    fn bastion_template_matches_bastion_policy() {
        for x in [false, true] {
            let text = cloudformation_bastion(x);
            let t = parse_yaml(&text);
            assert_template_basics(&text, &t);
            let res = &t["Resources"];
            assert_eq!(res.as_object().unwrap().len(), 2);
            assert_eq!(res["BastionGroup"]["Type"], "AWS::IAM::Group");
            assert_eq!(
                res["BastionGroup"]["Properties"]["GroupName"],
                json!({"Ref": "GroupName"})
            );
            assert_eq!(
                t["Parameters"]["GroupName"]["Default"],
                "mfacli-bastion-users"
            );
            assert_eq!(t["Parameters"]["GroupName"]["Type"], "String");
            let pol = &res["BastionGroupPolicy"];
            assert_eq!(pol["Type"], "AWS::IAM::Policy");
            assert_eq!(
                pol["Properties"]["Groups"],
                json!([{"Ref": "BastionGroup"}])
            );
            let doc = &pol["Properties"]["PolicyDocument"];
            assert_eq!(*doc, bastion_policy(x), "self_manage_mfa = {x}");
            assert_safe(doc);
            assert_eq!(
                t["Outputs"]["BastionGroupArn"]["Value"],
                json!({"Fn::GetAtt": ["BastionGroup", "Arn"]})
            );
        }
        assert_ne!(cloudformation_bastion(true), cloudformation_bastion(false));
    }

    #[test]
    fn target_template_structure() {
        let text = cloudformation_target();
        let t = parse_yaml(&text);
        assert_template_basics(&text, &t);
        assert!(text.contains("PowerUserAccess"));

        let p = &t["Parameters"];
        assert_eq!(p["BastionAccountId"]["Type"], "String");
        assert_eq!(p["BastionAccountId"]["AllowedPattern"], r"^\d{12}$");
        assert_eq!(p["RoleName"]["Type"], "String");
        assert_eq!(p["RoleName"]["Default"], "PowerUser");
        assert_eq!(p["MaxSessionDuration"]["Type"], "Number");
        assert_eq!(p["MaxSessionDuration"]["Default"], 3600);
        assert_eq!(p["MaxSessionDuration"]["MinValue"], 3600);
        assert_eq!(p["MaxSessionDuration"]["MaxValue"], 43200);

        let res = t["Resources"].as_object().unwrap();
        assert_eq!(res.len(), 1);
        let role = &res["BastionAccessRole"];
        assert_eq!(role["Type"], "AWS::IAM::Role");
        let props = &role["Properties"];
        assert_eq!(props["RoleName"], json!({"Ref": "RoleName"}));
        assert_eq!(
            props["MaxSessionDuration"],
            json!({"Ref": "MaxSessionDuration"})
        );
        assert_eq!(
            props["ManagedPolicyArns"],
            json!([{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/PowerUserAccess"}])
        );
        assert!(props.get("Policies").is_none());

        // The trust policy, with Fn::Sub resolved, equals trust_policy().
        let mut trust = props["AssumeRolePolicyDocument"].clone();
        assert_eq!(
            trust["Statement"][0]["Principal"]["AWS"],
            json!({"Fn::Sub": "arn:${AWS::Partition}:iam::${BastionAccountId}:root"})
        );
        for partition in Partition::ALL {
            trust["Statement"][0]["Principal"]["AWS"] =
                json!(format!("arn:{partition}:iam::{ACCOUNT}:root"));
            assert_eq!(trust, trust_policy(&account(), None, None, partition));
        }
        assert_safe(&trust);

        assert_eq!(
            t["Outputs"]["RoleArn"]["Value"],
            json!({"Fn::GetAtt": ["BastionAccessRole", "Arn"]})
        );
    }
}
