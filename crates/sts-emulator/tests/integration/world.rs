//! World files: parsing, validation and error messages.

use sts_emulator::{Emulator, Role, User, World, WorldError};

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"}]}"#;

fn user() -> User {
    User::new(
        "111111111111",
        "u",
        "AKIAUSER000000000001",
        "userSECRET0000000000000000000000000000000",
    )
}

fn toml_err(s: &str) -> String {
    World::from_toml(s).unwrap_err().to_string()
}

#[test]
fn demo_toml_and_demo_agree() {
    assert_eq!(World::from_toml(World::demo_toml()).unwrap(), World::demo());
    let alice = &World::demo().users[0];
    assert_eq!(alice.name, "alice");
    assert_eq!(alice.access_key_id, "AKIAALICE0EXAMPLE001");
    assert_eq!(alice.secret_access_key.len(), 40);
    assert_eq!(
        alice.mfa.as_ref().unwrap().serial,
        "arn:aws:iam::111111111111:mfa/alice"
    );
}

#[test]
fn json_world_works() {
    let json = format!(
        r#"{{"users":[{{"account":"111111111111","name":"u","access_key_id":"AKIAUSER000000000001","secret_access_key":"userSECRET0000000000000000000000000000000","policies":[]}}],
            "roles":[{{"arn":"arn:aws:iam::222222222222:role/R","trust_policy":{}}}]}}"#,
        serde_json::to_string(TRUST).unwrap()
    );
    let w = World::from_json(&json).unwrap();
    assert_eq!(w.roles[0].max_session_duration, 3600);
    assert!(!w.roles[0].require_mfa);
}

#[test]
fn unknown_keys_are_refused() {
    let e = toml_err(
        r#"[[users]]
account = "111111111111"
name = "u"
access_key_id = "AKIAUSER000000000001"
secret_access_key = "userSECRET0000000000000000000000000000000"
polices = []
"#,
    );
    assert!(e.contains("polices"), "{e}");
    assert!(!e.contains('\n'), "one line: {e}");
    let e = toml_err("[[groups]]\nname = \"x\"\n");
    assert!(e.contains("groups"), "{e}");
}

#[test]
fn policy_errors_name_the_user_and_the_problem() {
    let w = World::new().with_user(user().with_policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*","NotPrincipal":"x"}]}"#));
    let e = w.validate().unwrap_err();
    assert!(
        matches!(e, WorldError::UserPolicy { ref user, index: 0, .. } if user == "u"),
        "{e:?}"
    );
    let text = e.to_string();
    assert!(text.starts_with("user u: policies[0]: "), "{text}");
    assert!(!text.contains('\n'));
    // Emulator::start validates too.
    assert!(Emulator::start(w).is_err());
}

#[test]
fn trust_policy_errors_name_the_role() {
    let w = World::new().with_role(Role::new("arn:aws:iam::222222222222:role/R", "{not json"));
    let text = w.validate().unwrap_err().to_string();
    assert!(
        text.starts_with("role arn:aws:iam::222222222222:role/R: trust_policy: "),
        "{text}"
    );
    // An identity-style policy is not a trust policy.
    let w = World::new().with_role(Role::new(
        "arn:aws:iam::222222222222:role/R",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#,
    ));
    assert!(w.validate().is_err());
}

#[test]
fn field_validation() {
    let cases: Vec<(World, &str)> = vec![
        (
            World::new().with_user(User {
                account: "1111".into(),
                ..user()
            }),
            "account",
        ),
        (
            World::new().with_user(User {
                access_key_id: "ASIAUSER000000000001".into(),
                ..user()
            }),
            "access_key_id",
        ),
        (
            World::new().with_user(User {
                access_key_id: "AKIAshort".into(),
                ..user()
            }),
            "access_key_id",
        ),
        (
            World::new().with_user(User {
                name: "a b".into(),
                ..user()
            }),
            "name",
        ),
        (
            World::new()
                .with_user(user().with_mfa("arn:aws:iam::111111111111:mfa/u", "not base32!")),
            "base32",
        ),
        (
            World::new()
                .with_user(user().with_mfa("arn:aws:iam::222222222222:mfa/u", "JBSWY3DPEHPK3PXP")),
            "mfa.serial",
        ),
        (
            World::new().with_user(user()).with_user(User {
                name: "v".into(),
                ..user()
            }),
            "more than one user",
        ),
        (
            World::new().with_role(Role::new("arn:aws:iam::2222:role/R", TRUST)),
            "arn",
        ),
        (
            World::new().with_role(Role::new("arn:aws:iam::222222222222:user/R", TRUST)),
            "arn",
        ),
        (
            World::new().with_role(
                Role::new("arn:aws:iam::222222222222:role/R", TRUST)
                    .with_max_session_duration(3599),
            ),
            "max_session_duration",
        ),
        (
            World::new().with_role(
                Role::new("arn:aws:iam::222222222222:role/R", TRUST)
                    .with_max_session_duration(43_201),
            ),
            "max_session_duration",
        ),
        (
            World::new()
                .with_role(Role::new("arn:aws:iam::222222222222:role/R", TRUST))
                .with_role(Role::new("arn:aws:iam::222222222222:role/R", TRUST)),
            "more than once",
        ),
    ];
    for (w, needle) in cases {
        let e = w.validate().unwrap_err().to_string();
        assert!(e.contains(needle), "expected {needle:?} in {e:?}");
    }
    // Lower-case and spaced seeds are fine, as authenticator apps accept them.
    World::new()
        .with_user(user().with_mfa("arn:aws:iam::111111111111:mfa/u", "jbsw y3dp ehpk 3pxp"))
        .validate()
        .unwrap();
}

#[test]
fn toml_syntax_error_is_one_line() {
    let e = toml_err("[[users]\n");
    assert!(e.starts_with("invalid world file: "), "{e}");
    assert!(!e.contains('\n'), "{e}");
}

#[test]
fn several_mfa_devices_in_toml_and_their_limits() {
    let mut toml = String::from(
        r#"[[users]]
account = "111111111111"
name = "u"
access_key_id = "AKIAUSER000000000001"
secret_access_key = "userSECRET0000000000000000000000000000000"

[users.mfa]
serial = "arn:aws:iam::111111111111:mfa/u"
seed = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
"#,
    );
    for i in 2..=8 {
        toml.push_str(&format!(
            "\n[[users.mfa_devices]]\nserial = \"arn:aws:iam::111111111111:mfa/u-{i}\"\nseed = \"{}\"\n",
            sts_emulator::demo::ALICE_EXTRA_DEVICES[i - 2].1
        ));
    }
    let w = World::from_toml(&toml).unwrap();
    assert_eq!(w.users[0].devices().count(), 8);
    assert_eq!(
        w.users[0].mfa_devices[6].serial,
        "arn:aws:iam::111111111111:mfa/u-8"
    );
    // JSON round trip keeps them.
    let json = serde_json::to_string(&w).unwrap();
    assert_eq!(World::from_json(&json).unwrap(), w);
    // A ninth device is one too many.
    toml.push_str("\n[[users.mfa_devices]]\nserial = \"arn:aws:iam::111111111111:mfa/u-9\"\nseed = \"JBSWY3DPEHPK3PXP\"\n");
    let e = toml_err(&toml);
    assert!(
        e.contains("9 MFA devices") && e.contains("at most 8"),
        "{e}"
    );
    // Devices added in code, each validated and named in errors.
    let e = World::new()
        .with_user(
            user()
                .with_mfa_device("arn:aws:iam::111111111111:mfa/a", "JBSWY3DPEHPK3PXP")
                .with_mfa_device("arn:aws:iam::111111111111:mfa/b", "not base32!"),
        )
        .validate()
        .unwrap_err()
        .to_string();
    assert!(e.contains("mfa_devices[1].seed"), "{e}");
    let e = World::new()
        .with_user(
            user()
                .with_mfa("arn:aws:iam::111111111111:mfa/a", "JBSWY3DPEHPK3PXP")
                .with_mfa_device("arn:aws:iam::111111111111:mfa/a", "JBSWY3DPEHPK3PXP"),
        )
        .validate()
        .unwrap_err()
        .to_string();
    assert!(e.contains("used more than once"), "{e}");
    let e = World::new()
        .with_user(user().with_mfa_device("arn:aws:iam::222222222222:mfa/a", "JBSWY3DPEHPK3PXP"))
        .validate()
        .unwrap_err()
        .to_string();
    assert!(e.contains("mfa_devices[0].serial"), "{e}");
    // A user may have only mfa_devices, no [users.mfa].
    World::new()
        .with_user(user().with_mfa_device("arn:aws:iam::111111111111:mfa/a", "JBSWY3DPEHPK3PXP"))
        .validate()
        .unwrap();
}

#[test]
fn access_key_created_must_be_rfc3339() {
    let e = World::new()
        .with_user(user().with_access_key_created("yesterday"))
        .validate()
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("user u: access_key_created"), "{e}");
    World::new()
        .with_user(user().with_access_key_created("2026-01-02T03:04:05Z"))
        .validate()
        .unwrap();
}

#[test]
fn role_policies_and_managed_policies_load_from_toml_and_bad_ones_are_named() {
    let allow = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}}"#;
    let toml = format!(
        "[[roles]]\narn = \"arn:aws:iam::222222222222:role/R\"\ntrust_policy = '''{TRUST}'''\npolicies = ['''{allow}''']\n\n\
         [[managed_policies]]\narn = \"arn:aws:iam::111111111111:policy/P\"\ndocument = '''{allow}'''\n"
    );
    let w = World::from_toml(&toml).unwrap();
    assert_eq!(w.roles[0].policies.as_ref().map(Vec::len), Some(1));
    assert_eq!(
        w.managed_policies[0].arn,
        "arn:aws:iam::111111111111:policy/P"
    );

    let e = toml_err(&toml.replace("policy/P", "role/P"));
    assert!(
        e.starts_with("managed policy arn:aws:iam::111111111111:role/P: ")
            && e.contains("arn:aws:iam::123456789012:policy/NAME"),
        "{e}"
    );
    let e = toml_err(&toml.replace(
        r#"document = '''{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action""#,
        r#"document = '''{"Version":"2012-10-17","Statement":{"Effect":"Allow","Actions""#,
    ));
    assert!(
        e.contains("managed policy") && e.contains("\"Actions\""),
        "{e}"
    );
    // A role policy using what the emulator does not implement: refused,
    // naming the role, the statement and the construct.
    let e = toml_err(&toml.replacen(
        r#""Resource":"*"}}'''"#,
        r#""Resource":"*","Condition":{"BinaryEquals":{"aws:username":"QQ=="}}}}'''"#,
        1,
    ));
    assert!(
        e.starts_with("role arn:aws:iam::222222222222:role/R: policies[0]: Statement[0]")
            && e.contains("BinaryEquals"),
        "{e}"
    );
}

#[test]
fn the_force_mfa_policies_aws_publishes_load() {
    // The knowledge center's first version: Bool on two keys, one of them
    // aws:ViaAWSService.
    let kc = r#"{"Version":"2012-10-17","Statement":{"Sid":"BlockMostAccessUnlessSignedInWithMFA","Effect":"Deny","NotAction":["iam:CreateVirtualMFADevice","iam:DeleteVirtualMFADevice","iam:ListVirtualMFADevices","iam:EnableMFADevice","iam:ResyncMFADevice","iam:ListAccountAliases","iam:ListUsers","iam:ListSSHPublicKeys","iam:ListAccessKeys","iam:ListServiceSpecificCredentials","iam:ListMFADevices","iam:GetAccountSummary","sts:GetSessionToken"],"Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"false","aws:ViaAWSService":"false"}}}}"#;
    let w = World::new().with_user(user().with_policy(kc));
    w.validate().unwrap();
    Emulator::start(w).unwrap().stop();
}
