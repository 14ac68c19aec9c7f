//! mfacli under AWS's documented force-MFA policies (issue 28): bastion users
//! carrying `mfacli policy bastion --self-manage-mfa` plus a Deny with
//! NotAction and BoolIfExists on aws:MultiFactorAuthPresent. With the IAM
//! tutorial's "Force_MFA" statement (it exempts sts:GetSessionToken) every
//! flow works; the IAM guide's self-manage example does not exempt it, and
//! then the error and `doctor` name the statement and the fix.

use crate::util::*;
use sts_emulator::World;

/// The IAM tutorial's "Force_MFA" policy (also the knowledge center's
/// "mfa-iam-user-aws-cli" answer): sts:GetSessionToken is exempt.
const FORCE_MFA_TUTORIAL: &str = r#"{"Version":"2012-10-17","Statement":[{
  "Sid":"BlockMostAccessUnlessSignedInWithMFA","Effect":"Deny",
  "NotAction":["iam:CreateVirtualMFADevice","iam:DeleteVirtualMFADevice","iam:ListVirtualMFADevices","iam:EnableMFADevice","iam:ResyncMFADevice","iam:ListAccountAliases","iam:ListUsers","iam:ListSSHPublicKeys","iam:ListAccessKeys","iam:ListServiceSpecificCredentials","iam:ListMFADevices","iam:GetAccountSummary","sts:GetSessionToken"],
  "Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]}"#;

/// The statement of the IAM guide's "Allows IAM users to self-manage an MFA
/// device" example: sts:GetSessionToken is not exempt.
const FORCE_MFA_SELF_MANAGE_EXAMPLE: &str = r#"{"Version":"2012-10-17","Statement":[{
  "Sid":"BlockMostAccessUnlessSignedInWithMFA","Effect":"Deny",
  "NotAction":["iam:CreateVirtualMFADevice","iam:EnableMFADevice","iam:ListMFADevices","iam:ListUsers","iam:ListVirtualMFADevices","iam:ResyncMFADevice"],
  "Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]}"#;

/// The demo world whose users carry the printed bastion policy plus `force`.
fn home_with(force: &str) -> Home {
    let mut world = World::demo();
    let bastion = bare_mfacli_stdout(&["policy", "bastion", "--self-manage-mfa"]);
    for u in &mut world.users {
        u.policies = vec![bastion.clone(), force.to_owned()];
    }
    Home::with_world(world)
}

/// `mfacli` with IAM and console federation at the emulator too.
fn m(h: &Home) -> assert_cmd::Command {
    let mut c = h.mfacli();
    c.env("AWS_ENDPOINT_URL_IAM", h.emu().endpoint_url()).env(
        "MFACLI_FEDERATION_URL",
        format!("{}/federation", h.emu().endpoint_url()),
    );
    c
}

fn run(h: &Home, args: &[&str]) -> std::process::Output {
    m(h).args(args).output().unwrap()
}

#[test]
fn env_exec_server_rotate_mfa_and_console_work_under_force_mfa() {
    let h = home_with(FORCE_MFA_TUTORIAL);
    // The long-term keys alone may do nothing else (the statement works).
    let sts = mfacli::sts::StsClient::new(mfacli::sts::Endpoint {
        url: h.emu().endpoint_url(),
        region: "us-east-1".into(),
        timeout: std::time::Duration::from_secs(5),
        ca_bundle: None,
    })
    .unwrap();
    let keys = mfacli::secret::LongTermKeys {
        access_key_id: ALICE_KEY.into(),
        secret_access_key: mfacli::secret::Secret::new(ALICE_SECRET),
    };
    let denied = sts
        .assume_role(
            mfacli::sts::Signer::LongTerm(&keys),
            &"arn:aws:iam::222222222222:role/PowerUser".parse().unwrap(),
            &"alice".parse().unwrap(),
            mfacli::types::SessionDuration::ONE_HOUR,
            None,
            None,
        )
        .unwrap_err();
    assert_eq!(denied.code(), Some("AccessDenied"), "{denied}");

    let o = run(&h, &["env", "prod"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("AWS_SESSION_TOKEN"), "{}", stdout(&o));

    // exec --server: boto3 in the child gets staging's role from the server.
    if let Some(bin) = venv_bin() {
        let o = m(&h)
            .env("EMU_URL", h.emu().endpoint_url())
            .args(["exec", "--server", "staging", "--"])
            .arg(bin.join("python"))
            .args([
                "-c",
                "import os, boto3; print(boto3.client('sts', endpoint_url=os.environ['EMU_URL']).get_caller_identity()['Arn'])",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(
            stdout(&o).trim(),
            "arn:aws:sts::333333333333:assumed-role/PowerUser/alice"
        );
    }

    let o = run(&h, &["console", "prod", "--print"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("SigninToken="), "{}", stdout(&o));

    let o = run(&h, &["mfa", "add-virtual", "alice-ci"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim().len(), 64, "the new seed, printed once");
    assert_eq!(h.emu().mfa_serials("alice").len(), 2);

    let o = run(&h, &["rotate", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let keys = h.emu().access_keys("alice");
    assert_eq!(keys.len(), 1);
    assert_ne!(keys[0].access_key_id, ALICE_KEY);

    // One code for all of it: the MFA session does the IAM calls.
    assert_eq!(h.emu().count("GetSessionToken"), 1);
    assert_eq!(h.emu().count("CreateAccessKey"), 1);
    assert_eq!(h.emu().count("EnableMFADevice"), 1);
}

#[test]
fn roles_over_an_hour_assume_directly_with_a_code_under_force_mfa() {
    // The `long` target (2 h) calls AssumeRole with the long-term keys and
    // a code: MFA accompanies the call, so the force-MFA Deny does not apply.
    let h = home_with(FORCE_MFA_TUTORIAL);
    let o = run(&h, &["credential-process", "long"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(h.counts(), (0, 1));
}

#[test]
fn a_statement_that_does_not_exempt_get_session_token_is_named_with_the_fix() {
    let h = home_with(FORCE_MFA_SELF_MANAGE_EXAMPLE);
    let o = run(&h, &["env", "prod"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    for needle in [
        "explicit deny",
        "BlockMostAccessUnlessSignedInWithMFA",
        "\"sts:GetSessionToken\" in its NotAction",
        "Force MFA",
    ] {
        assert!(err.contains(needle), "{needle:?} missing: {err}");
    }
    assert!(printed_only_a_failure(&o), "{}", stdout(&o));

    // doctor --check-mfa without a seed spends no code and names it too.
    let o = m(&h)
        .env_remove("MFACLI_TOTP_SECRET")
        .args(["doctor", "--check-mfa"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let report = stdout(&o);
    let line = report
        .lines()
        .find(|l| l.contains("force-mfa"))
        .unwrap_or_else(|| panic!("no force-mfa line: {report}"));
    assert!(line.trim_start().starts_with("error"), "{report}");
    assert!(
        report.contains("BlockMostAccessUnlessSignedInWithMFA"),
        "{report}"
    );

    // The documented fix: sts:GetSessionToken in the NotAction.
    let fixed = FORCE_MFA_SELF_MANAGE_EXAMPLE.replace(
        r#""iam:ResyncMFADevice"]"#,
        r#""iam:ResyncMFADevice","sts:GetSessionToken"]"#,
    );
    let h = home_with(&fixed);
    let o = run(&h, &["env", "prod"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = m(&h)
        .env_remove("MFACLI_TOTP_SECRET")
        .args(["doctor", "--check-mfa"])
        .output()
        .unwrap();
    let report = stdout(&o);
    let line = report.lines().find(|l| l.contains("force-mfa")).unwrap();
    assert!(line.trim_start().starts_with("ok"), "{report}");
}
