//! The bastion user looks after itself (issue 16): `--bastion` credentials,
//! `rotate`, `mfa add-virtual|list` and doctor's key age, all against an
//! emulator whose users carry exactly `mfacli policy bastion --self-manage-mfa`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::util::*;
use sts_emulator::World;

fn printed_policy() -> String {
    bare_mfacli_stdout(&["policy", "bastion", "--self-manage-mfa"])
}

/// The demo world, with alice's and bob's policies replaced by the printed
/// self-manage policy; `edit` may change it further.
fn home_with(edit: impl FnOnce(&mut World)) -> Home {
    let mut world = World::demo();
    let policy = printed_policy();
    for u in &mut world.users {
        u.policies = vec![policy.clone()];
    }
    edit(&mut world);
    Home::with_world(world)
}

pub(crate) fn home() -> Home {
    home_with(|_| {})
}

/// `mfacli` with IAM at the emulator too.
pub(crate) fn m(h: &Home) -> assert_cmd::Command {
    let mut c = h.mfacli();
    c.env("AWS_ENDPOINT_URL_IAM", h.emu().endpoint_url());
    c
}

fn run(h: &Home, args: &[&str]) -> std::process::Output {
    m(h).args(args).output().unwrap()
}

fn file_text(h: &Home) -> String {
    std::fs::read_to_string(h.credentials()).unwrap()
}

pub(crate) fn keys_of(h: &Home) -> Vec<(String, String)> {
    h.emu()
        .access_keys("alice")
        .into_iter()
        .map(|k| (k.access_key_id, k.status))
        .collect()
}

/// The access key id in [bastion] of the credentials file.
fn key_in_file(h: &Home) -> String {
    file_text(h)
        .lines()
        .find_map(|l| l.strip_prefix("aws_access_key_id = "))
        .unwrap()
        .to_owned()
}

/// A new MFA session with whatever key the file holds proves it works.
fn assert_file_key_works(h: &Home) {
    let before = h.emu().count("GetSessionToken");
    let o = m(h)
        .args(["--no-cache", "credential-process", "--bastion"])
        .env("MFACLI_TOKEN_CODE", h.code(1))
        .env_remove("MFACLI_TOTP_SECRET")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(h.emu().count("GetSessionToken"), before + 1);
}

/// STS's answer to GetCallerIdentity with alice's original key.
pub(crate) fn old_key_at_sts(h: &Home) -> Option<String> {
    let sts = mfacli::sts::StsClient::new(mfacli::sts::Endpoint {
        url: h.emu().endpoint_url(),
        region: "us-east-1".into(),
        timeout: Duration::from_secs(5),
        ca_bundle: None,
    })
    .unwrap();
    let keys = mfacli::secret::LongTermKeys {
        access_key_id: ALICE_KEY.into(),
        secret_access_key: mfacli::secret::Secret::new(ALICE_SECRET),
    };
    sts.get_caller_identity(mfacli::sts::Signer::LongTerm(&keys))
        .err()
        .map(|e| e.code().unwrap_or("other").to_owned())
}

#[test]
fn bastion_flag_hands_out_the_mfa_session_itself() {
    let h = home();
    let o = run(&h, &["credential-process", "--bastion"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j = json(&stdout(&o));
    assert_eq!(j["Version"], 1);
    let id = j["AccessKeyId"].as_str().unwrap().to_owned();
    assert!(id.starts_with("ASIA"), "{id}");
    assert!(j["SessionToken"].as_str().is_some() && j["Expiration"].as_str().is_some());
    assert_eq!(
        h.counts(),
        (1, 0),
        "GetSessionToken with MFA, no AssumeRole"
    );

    // Same cache: env, exec and a target reuse the session.
    let o = run(&h, &["env", "--bastion", "--shell", "bash"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let exports = stdout(&o);
    assert!(
        exports.contains(&format!("export AWS_ACCESS_KEY_ID='{id}'")),
        "{exports}"
    );
    assert!(
        exports.contains("export AWS_REGION='eu-west-1'"),
        "{exports}"
    );
    let o = run(
        &h,
        &[
            "exec",
            "--bastion",
            "--",
            "sh",
            "-c",
            "echo $AWS_ACCESS_KEY_ID",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), id);
    let o = run(&h, &["credential-process", "prod"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        h.counts(),
        (1, 1),
        "one code for the bastion and the target"
    );

    // TARGET and --bastion exclude each other; one is needed.
    for args in [
        &["credential-process", "prod", "--bastion"][..],
        &["credential-process"][..],
        &["env"][..],
        &["exec", "--", "true"][..],
    ] {
        let o = run(&h, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn bastion_cache_hit_makes_no_request() {
    let h = home();
    assert!(run(&h, &["credential-process", "--bastion"])
        .status
        .success());
    let before = h.emu().requests().len();
    let o = run(&h, &["-v", "credential-process", "--bastion"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cache hit: MFA session"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        h.emu().requests().len(),
        before,
        "no STS or IAM call on a hit"
    );
}

#[test]
fn rotate_replaces_the_key_keeps_the_file_and_moves_the_session() {
    let h = home();
    h.emu().set_key_propagation_delay(Duration::from_secs(2));
    // A session and role credentials cached with the old key.
    assert!(run(&h, &["credential-process", "prod"]).status.success());
    let before = file_text(&h);
    let started = Instant::now();
    let o = run(&h, &["rotate", "--yes"]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("waiting for STS to accept the new key"),
        "{err}"
    );
    assert!(started.elapsed() >= Duration::from_secs(2));

    let keys = keys_of(&h);
    assert_eq!(keys.len(), 1, "{keys:?}");
    let new = keys[0].0.clone();
    assert_ne!(new, ALICE_KEY);
    assert!(err.contains(&new) && err.contains(ALICE_KEY), "{err}");
    // The MFA session and prod's role credentials.
    assert!(
        err.contains("; 2 cache entries moved to the new key"),
        "{err}"
    );
    // Every other byte unchanged; the backup holds the old file, 0600.
    let after = file_text(&h);
    assert!(!after.contains(ALICE_KEY) && !after.contains(ALICE_SECRET));
    assert!(after.contains(&format!("aws_access_key_id = {new}")));
    let strip = |t: &str| {
        t.lines()
            .filter(|l| !l.starts_with("aws_"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&after), strip(&before));
    assert!(after.starts_with("# my bastion keys\n[bastion]\n"));
    let bak = h.path().join(".aws/credentials.mfacli-bak");
    assert_eq!(std::fs::read_to_string(&bak).unwrap(), before);
    assert_eq!(mode(&bak), 0o600);

    // The session moved to the new key: no new code, cached role credentials kept.
    let (gst, ar) = h.counts();
    assert_eq!((gst, ar), (1, 1));
    let o = run(&h, &["-v", "credential-process", "prod"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("cache hit"), "{}", stderr(&o));
    let o = run(&h, &["--refresh", "credential-process", "prod"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        h.counts(),
        (1, 2),
        "AssumeRole with the moved session, no code"
    );
    assert_eq!(h.emu().count("CreateAccessKey"), 1);
    assert_eq!(h.emu().count("DeleteAccessKey"), 1);
    assert_file_key_works(&h);
    assert_eq!(old_key_at_sts(&h).as_deref(), Some("InvalidClientTokenId"));
}

#[test]
fn rotate_deactivate_keeps_the_old_key_inactive() {
    let h = home();
    let o = run(&h, &["rotate", "--deactivate", "--yes"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let keys = keys_of(&h);
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], (ALICE_KEY.to_owned(), "Inactive".to_owned()));
    assert_eq!(keys[1].1, "Active");
    assert_eq!(key_in_file(&h), keys[1].0);
    assert_eq!(h.emu().count("DeleteAccessKey"), 0);
    assert_file_key_works(&h);
    assert_eq!(old_key_at_sts(&h).as_deref(), Some("InvalidClientTokenId"));
}

#[test]
fn rotate_with_two_keys_changes_nothing_and_names_the_key_to_delete() {
    let h = home();
    let (other, _) = h.emu().add_access_key("alice").unwrap();
    let before = file_text(&h);
    let o = run(&h, &["rotate", "--yes"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("nothing changed"), "{err}");
    assert!(
        err.contains(&format!("delete-access-key --access-key-id {other}")),
        "{err}"
    );
    assert_eq!(file_text(&h), before);
    assert_eq!(keys_of(&h).len(), 2);
    assert_eq!(h.emu().count_all("CreateAccessKey"), 0);
    assert!(!h.path().join(".aws/credentials.mfacli-bak").exists());
}

#[test]
fn rotate_interrupted_when_create_fails_leaves_the_old_key() {
    let h = home();
    h.emu().fail_iam_action("CreateAccessKey", 1);
    let before = file_text(&h);
    let o = run(&h, &["rotate", "--yes"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("credentials file is unchanged"), "{err}");
    assert!(
        err.contains(&format!("IAM now has {ALICE_KEY} (active")),
        "{err}"
    );
    assert_eq!(file_text(&h), before);
    assert_eq!(keys_of(&h), [(ALICE_KEY.to_owned(), "Active".to_owned())]);
    assert_file_key_works(&h);
    assert_eq!(old_key_at_sts(&h), None, "the old key still works");
}

#[test]
fn rotate_interrupted_when_sts_never_accepts_the_new_key_restores_the_old_one() {
    let h = home();
    h.emu().set_key_propagation_delay(Duration::from_secs(600));
    let before = file_text(&h);
    let started = Instant::now();
    let o = run(&h, &["rotate", "--yes"]);
    let took = started.elapsed();
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        took >= Duration::from_secs(30) && took < Duration::from_secs(60),
        "{took:?}"
    );
    assert!(err.contains("did not accept the new key"), "{err}");
    assert!(err.contains("was deleted again"), "{err}");
    assert!(
        err.contains(&format!("holds the old key {ALICE_KEY} again")),
        "{err}"
    );
    assert_eq!(file_text(&h), before);
    assert_eq!(keys_of(&h), [(ALICE_KEY.to_owned(), "Active".to_owned())]);
    assert_file_key_works(&h);
}

#[test]
fn rotate_interrupted_when_the_old_key_cannot_be_deleted_keeps_the_new_one() {
    // The same policy without iam:DeleteAccessKey.
    let h = home_with(|w| {
        let p = w.users[0].policies[0].replace("\"iam:DeleteAccessKey\"", "\"iam:GetUser\"");
        assert_ne!(p, w.users[0].policies[0]);
        w.users[0].policies = vec![p];
    });
    let o = run(&h, &["rotate", "--yes"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    let keys = keys_of(&h);
    assert_eq!(keys.len(), 2, "{keys:?}");
    let new = keys[1].0.clone();
    assert!(err.contains("AccessDenied"), "{err}");
    assert!(
        err.contains(&format!("the new key {new} is in [bastion]")),
        "{err}"
    );
    assert!(
        err.contains(&format!("the old key {ALICE_KEY} could not be deleted")),
        "{err}"
    );
    assert!(
        err.contains(&format!("delete-access-key --access-key-id {ALICE_KEY}")),
        "{err}"
    );
    assert_eq!(key_in_file(&h), new);
    assert_file_key_works(&h);

    // An emulator fault at the same step: same outcome.
    let h = home();
    h.emu().fail_iam_action("DeleteAccessKey", 5);
    let o = run(&h, &["rotate", "--yes"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("could not be deleted"),
        "{}",
        stderr(&o)
    );
    let keys = keys_of(&h);
    assert_eq!(keys.len(), 2);
    assert_eq!(key_in_file(&h), keys[1].0);
    assert_file_key_works(&h);
}

#[test]
fn mfa_add_virtual_enables_a_device_that_then_works() {
    let h = home();
    let seed_file = h.path().join("alice-ci.seed");
    let o = run(
        &h,
        &[
            "mfa",
            "add-virtual",
            "alice-ci",
            "--seed-file",
            seed_file.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "", "nothing secret on stdout");
    assert_eq!(mode(&seed_file), 0o600);
    let seed = std::fs::read_to_string(&seed_file)
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(seed.len(), 64);
    assert!(!stderr(&o).contains(&seed));
    let serial = "arn:aws:iam::111111111111:mfa/alice-ci";
    assert_eq!(h.emu().mfa_serials("alice"), [SERIAL, serial]);

    // Printed once when there is no --seed-file.
    let o = run(&h, &["mfa", "add-virtual", "alice-phone2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim().len(), 64);

    let o = run(&h, &["mfa", "list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let list = stdout(&o);
    for s in [SERIAL, serial, "arn:aws:iam::111111111111:mfa/alice-phone2"] {
        assert!(list.contains(s), "{list}");
    }
    let o = run(&h, &["mfa", "list", "--json"]);
    assert_eq!(json(&stdout(&o)).as_array().unwrap().len(), 3);

    // The same name again: EntityAlreadyExists, and a name not starting
    // with the user's own is refused by the policy.
    let o = run(&h, &["mfa", "add-virtual", "alice-ci"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("EntityAlreadyExists"), "{}", stderr(&o));
    let o = run(&h, &["mfa", "add-virtual", "bob-stolen"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("AccessDenied"), "{}", stderr(&o));

    // The new device works on its own: a session from its seed.
    h.write_config(&CONFIG.replace(SERIAL, serial));
    let o = m(&h)
        .args(["credential-process", "--bastion"])
        .env("MFACLI_TOTP_SECRET", &seed)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let last = h
        .emu()
        .requests()
        .into_iter()
        .rfind(|r| r.action == "GetSessionToken")
        .unwrap();
    assert_eq!(last.serial_number.as_deref(), Some(serial));
}

#[test]
fn enable_needs_two_consecutive_codes() {
    // Straight at the emulator with the SDK: CreateVirtualMFADevice, then
    // EnableMFADevice with non-consecutive codes is refused.
    let h = home();
    let o = run(&h, &["credential-process", "--bastion"]);
    let j = json(&stdout(&o));
    let session = mfacli::secret::TemporaryCredentials {
        access_key_id: j["AccessKeyId"].as_str().unwrap().into(),
        secret_access_key: mfacli::secret::Secret::new(j["SecretAccessKey"].as_str().unwrap()),
        session_token: mfacli::secret::Secret::new(j["SessionToken"].as_str().unwrap()),
        expiration: chrono::Utc::now() + chrono::Duration::hours(1),
    };
    let iam = mfacli::iam::IamClient::new(
        mfacli::sts::Endpoint {
            url: h.emu().endpoint_url(),
            region: "us-east-1".into(),
            timeout: Duration::from_secs(5),
            ca_bundle: None,
        },
        session,
    )
    .unwrap();
    let dev = iam.create_virtual_mfa_device("alice-x").unwrap();
    let seed = mfacli::mfa::totp::Seed::decode(dev.seed.expose(), "t").unwrap();
    let now = h.emu().now().timestamp() as u64;
    let code = |t: u64| seed.code_at(t).as_str().to_owned();
    let e = iam
        .enable_mfa_device("alice", &dev.serial, &code(now), &code(now))
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidAuthenticationCode"), "{e}");
    let e = iam
        .enable_mfa_device("alice", &dev.serial, &code(now), &code(now - 30))
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidAuthenticationCode"), "{e}");
    iam.enable_mfa_device("alice", &dev.serial, &code(now - 30), &code(now))
        .unwrap();
    // A third key is over IAM's quota.
    iam.create_access_key().unwrap();
    let e = iam.create_access_key().unwrap_err();
    assert_eq!(e.code(), Some("LimitExceeded"), "{e}");
    let e = iam.delete_access_key("AKIANOSUCHKEY0000000").unwrap_err();
    assert_eq!(e.code(), Some("NoSuchEntity"), "{e}");
    // Bob's devices are not alice's to enable.
    let e = iam
        .enable_mfa_device("bob", &dev.serial, &code(now - 30), &code(now))
        .unwrap_err();
    assert_eq!(e.code(), Some("AccessDenied"), "{e}");
}

/// boto3 under `mfacli exec --bastion`: what the policy lets the session do
/// to alice, and refuses for bob and for the long-term keys.
#[test]
fn printed_policy_refuses_other_users_and_sessions_without_mfa() {
    let Some(python) = venv_python() else {
        return;
    };
    let h = home();
    let script = r#"
import sys, boto3, botocore
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1")
def attempt(name, f):
    try:
        f(); print(name, "ok")
    except botocore.exceptions.ClientError as e:
        print(name, e.response["Error"]["Code"])
attempt("own-keys", lambda: iam.list_access_keys())
attempt("own-devices", lambda: iam.list_mfa_devices())
attempt("bob-keys", lambda: iam.list_access_keys(UserName="bob"))
attempt("bob-new-key", lambda: iam.create_access_key(UserName="bob"))
attempt("bob-devices", lambda: iam.list_mfa_devices(UserName="bob"))
attempt("bob-device", lambda: iam.create_virtual_mfa_device(VirtualMFADeviceName="bob"))
attempt("bob-device-delete", lambda: iam.delete_virtual_mfa_device(SerialNumber="arn:aws:iam::111111111111:mfa/bob"))
attempt("own-enabled-delete", lambda: iam.delete_virtual_mfa_device(SerialNumber=sys.argv[2]))
"#;
    let url = h.emu().endpoint_url();
    let o = run(
        &h,
        &[
            "exec",
            "--bastion",
            "--",
            python.to_str().unwrap(),
            "-c",
            script,
            &url,
            SERIAL,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // Deleting its own enabled device is refused by IAM itself: the policy
    // grants no DeactivateMFADevice, so no MFA can be removed with it.
    assert_eq!(
        stdout(&o),
        "own-keys ok\nown-devices ok\nbob-keys AccessDenied\nbob-new-key AccessDenied\nbob-devices AccessDenied\nbob-device AccessDenied\nbob-device-delete AccessDenied\nown-enabled-delete DeleteConflict\n"
    );
    assert_eq!(h.emu().mfa_serials("alice"), [SERIAL]);
    // The long-term keys alone (no MFA): everything refused.
    let o = h
        .command(&python)
        .args(["-c", script, &url, SERIAL])
        .env("AWS_ACCESS_KEY_ID", ALICE_KEY)
        .env("AWS_SECRET_ACCESS_KEY", ALICE_SECRET)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "own-keys AccessDenied\nown-devices AccessDenied\nbob-keys AccessDenied\nbob-new-key AccessDenied\nbob-devices AccessDenied\nbob-device AccessDenied\nbob-device-delete AccessDenied\nown-enabled-delete AccessDenied\n"
    );
    assert_eq!(h.emu().count("CreateAccessKey"), 0);
}

/// The test venv's python (boto3), or a skip.
fn venv_python() -> Option<PathBuf> {
    venv_bin().map(|bin| bin.join("python"))
}

#[test]
fn doctor_reports_the_real_key_age_without_spending_a_code() {
    let h = home();
    let o = run(&h, &["doctor", "--json"]);
    let report = stdout(&o);
    assert!(
        report.contains("no MFA session is cached, and doctor never asks for a code"),
        "{report}"
    );
    assert!(run(&h, &["credential-process", "--bastion"])
        .status
        .success());
    h.emu()
        .set_access_key_created(ALICE_KEY, h.emu().now() - chrono::Duration::days(100));
    let o = run(&h, &["doctor"]);
    let report = stdout(&o);
    assert!(
        report.contains("is 100 days old") && report.contains("from iam:ListAccessKeys"),
        "{report}"
    );
    assert!(report.contains("`mfacli rotate`"), "{report}");
    let line = report
        .lines()
        .find(|l| l.contains("key age"))
        .unwrap()
        .to_owned();
    assert!(line.trim_start().starts_with("warn"), "{line}");
    assert_eq!(h.emu().count("GetSessionToken"), 1, "doctor spent no code");
    assert_eq!(h.emu().count("ListAccessKeys"), 1);

    h.emu()
        .set_access_key_created(ALICE_KEY, h.emu().now() - chrono::Duration::days(3));
    let o = run(&h, &["doctor"]);
    let report = stdout(&o);
    let line = report.lines().find(|l| l.contains("key age")).unwrap();
    assert!(
        line.trim_start().starts_with("ok") && line.contains("3 days old"),
        "{report}"
    );
}

#[test]
fn doctor_without_the_self_manage_policy_says_why_the_age_is_unknown() {
    let h = home_with(|w| *w = World::demo());
    assert!(run(&h, &["credential-process", "--bastion"])
        .status
        .success());
    let o = run(&h, &["doctor"]);
    let report = stdout(&o);
    let line = report.lines().find(|l| l.contains("key age")).unwrap();
    assert!(
        line.trim_start().starts_with("skip") && line.contains("does not allow iam:ListAccessKeys"),
        "{report}"
    );
    assert_eq!(h.emu().count_all("ListAccessKeys"), 1);
    assert_eq!(h.emu().count("ListAccessKeys"), 0);
}

#[test]
fn iam_endpoint_follows_the_sdk_variables() {
    let h = home();
    assert!(run(&h, &["credential-process", "--bastion"])
        .status
        .success());
    // AWS_ENDPOINT_URL_IAM wins over AWS_ENDPOINT_URL.
    let o = h
        .mfacli()
        .args(["-v", "mfa", "list"])
        .env("AWS_ENDPOINT_URL_IAM", "http://127.0.0.1:9")
        .env("AWS_ENDPOINT_URL", h.emu().endpoint_url())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("using IAM at http://127.0.0.1:9 (signing region us-east-1)"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("AWS_ENDPOINT_URL_IAM"),
        "{}",
        stderr(&o)
    );
    // AWS_ENDPOINT_URL alone reaches IAM.
    let o = h
        .mfacli()
        .args(["mfa", "list"])
        .env("AWS_ENDPOINT_URL", h.emu().endpoint_url())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains(SERIAL));
    // Neither: the partition's global endpoint, from the MFA serial's partition.
    let o = h.mfacli().args(["-v", "mfa", "list"]).output().unwrap();
    assert!(
        stderr(&o).contains("using IAM at https://iam.amazonaws.com (signing region us-east-1)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn rotate_refuses_keys_outside_the_credentials_file() {
    let h = home();
    std::fs::write(h.credentials(), "").unwrap();
    std::fs::write(
        h.path().join(".aws/config"),
        format!("[profile bastion]\naws_access_key_id = {ALICE_KEY}\naws_secret_access_key = {ALICE_SECRET}\n"),
    )
    .unwrap();
    let o = run(&h, &["rotate", "--yes"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("nothing changed"), "{}", stderr(&o));
    assert_eq!(h.emu().count_all("CreateAccessKey"), 0);
    assert_eq!(keys_of(&h).len(), 1);
}

/// `mfa add-virtual` never enables a device whose seed nobody holds: a seed
/// file that cannot be created, a stdout that is closed, /dev/null or a pipe
/// whose reader is gone stop it before anything exists in IAM.
#[test]
fn add_virtual_never_enables_a_device_whose_seed_went_nowhere() {
    let h = home();
    let creates = |h: &Home| {
        h.emu()
            .requests()
            .iter()
            .filter(|r| r.action == "CreateVirtualMFADevice")
            .count()
    };
    // Seed files that cannot be created (root can write anywhere, so: a
    // missing directory, a file as directory, a file system without files).
    let plain = h.path().join("plain");
    std::fs::write(&plain, "").unwrap();
    for path in [
        h.path().join("no/such/dir/alice-ci.seed"),
        plain.join("alice-ci.seed"),
        PathBuf::from("/proc/alice-ci.seed"),
    ] {
        let o = run(
            &h,
            &[
                "mfa",
                "add-virtual",
                "alice-ci",
                "--seed-file",
                path.to_str().unwrap(),
            ],
        );
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{}: {err}", path.display());
        assert!(
            err.contains("nothing changed") && err.contains("cannot be created"),
            "{err}"
        );
        assert_eq!(creates(&h), 0, "nothing created in IAM: {}", path.display());
        assert_eq!(h.emu().mfa_serials("alice"), [SERIAL]);
    }

    // stdout closed (`>&-`; it becomes /dev/null at start-up), /dev/null,
    // and a pipe whose reader is gone: refused before anything is created.
    let bin = env!("CARGO_BIN_EXE_mfacli");
    let iam = h.emu().endpoint_url();
    for (name, how) in [
        (
            "alice-closed",
            format!("exec {bin} mfa add-virtual alice-closed >&-"),
        ),
        (
            "alice-broken",
            format!("exec {bin} mfa add-virtual alice-broken"),
        ),
        (
            "alice-null",
            format!("exec {bin} mfa add-virtual alice-null >/dev/null"),
        ),
    ] {
        let mut c = h.command("sh");
        c.env("AWS_ENDPOINT_URL_IAM", &iam).args(["-c", &how]);
        let o = if name == "alice-broken" {
            let (reader, writer) = std::io::pipe().unwrap();
            drop(reader);
            c.stdout(writer)
                .stderr(std::process::Stdio::piped())
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap()
        } else {
            c.run_bounded().unwrap()
        };
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{name}: {err}");
        assert!(
            err.contains("nothing changed: the seed would be printed on stdout, but stdout is"),
            "{err}"
        );
        assert_eq!(creates(&h), 0, "{name}: nothing created in IAM");
        assert_eq!(
            h.emu().mfa_serials("alice"),
            [SERIAL],
            "{name} is not enabled"
        );
    }
    // A seed file in a writable directory still works; it exists only once
    // the device is enabled, with the seed in it.
    let ok = h.path().join("alice-ok.seed");
    let o = run(
        &h,
        &[
            "mfa",
            "add-virtual",
            "alice-ok",
            "--seed-file",
            ok.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&ok).unwrap().trim().len(), 64);
}

/// Failures once the device exists in IAM: the seed cannot be written
/// (stdout is /dev/full, which every check before creation lets through),
/// or EnableMFADevice fails. The device is deleted again (exit 1, "nothing
/// changed in IAM") and a seed file removed; if the delete fails too, the
/// device is left created but not enabled and the error names the command
/// that deletes it.
#[test]
fn add_virtual_deletes_a_device_it_could_not_enable() {
    let h = home();
    let serial = |name: &str| format!("arn:aws:iam::111111111111:mfa/{name}");
    let deletes = |h: &Home| h.emu().count_all("DeleteVirtualMFADevice");

    // 1. The seed cannot be written: ENOSPC on stdout, after creation.
    let bin = env!("CARGO_BIN_EXE_mfacli");
    let mut c = h.command("sh");
    c.env("AWS_ENDPOINT_URL_IAM", h.emu().endpoint_url()).args([
        "-c",
        &format!("exec {bin} mfa add-virtual alice-full >/dev/full"),
    ]);
    let o = c.run_bounded().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("the seed could not be written to stdout: No space left on device"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "the device {} was deleted again: nothing changed in IAM",
            serial("alice-full")
        )),
        "{err}"
    );
    assert_eq!(h.emu().count_all("CreateVirtualMFADevice"), 1);
    assert_eq!(deletes(&h), 1);
    assert_eq!(h.emu().unassigned_mfa_serials(), Vec::<String>::new());
    assert_eq!(h.emu().mfa_serials("alice"), [SERIAL]);

    // 2. EnableMFADevice fails (HTTP 500, not retried): deleted, and the
    // seed file, of no use now, removed.
    h.emu().fail_iam_action("EnableMFADevice", 1);
    let seed = h.path().join("alice-ci.seed");
    let add = |name: &str| {
        run(
            &h,
            &[
                "mfa",
                "add-virtual",
                name,
                "--seed-file",
                seed.to_str().unwrap(),
            ],
        )
    };
    let o = add("alice-ci");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("EnableMFADevice"), "{err}");
    assert!(
        err.contains(&format!(
            "the device {} was deleted again: nothing changed in IAM",
            serial("alice-ci")
        )),
        "{err}"
    );
    assert!(
        !seed.exists(),
        "the seed file of a deleted device is removed"
    );
    assert_eq!(deletes(&h), 2);
    assert_eq!(h.emu().unassigned_mfa_serials(), Vec::<String>::new());
    assert_eq!(h.emu().mfa_serials("alice"), [SERIAL]);

    // 3. Enabling and deleting fail (the delete is retried: 3 attempts):
    // left created, not enabled, with the command that deletes it.
    h.emu().fail_iam_action("EnableMFADevice", 1);
    h.emu().fail_iam_action("DeleteVirtualMFADevice", 3);
    let o = add("alice-ci2");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let s2 = serial("alice-ci2");
    assert!(
        err.contains(&format!(
            "the device {s2} was created but not enabled (no code from it is accepted), and deleting it failed"
        )) && err.contains(&format!(
            "aws iam delete-virtual-mfa-device --serial-number {s2}"
        )),
        "{err}"
    );
    assert_eq!(deletes(&h), 5);
    assert_eq!(h.emu().unassigned_mfa_serials(), std::slice::from_ref(&s2));
    assert_eq!(h.emu().mfa_serials("alice"), [SERIAL]);
    assert!(!seed.exists());
    // The same name again: IAM refuses the existing name before anything
    // else happens; nothing changes and no seed file is left.
    let o = add("alice-ci2");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("EntityAlreadyExists") || stderr(&o).contains("already exists"),
        "{}",
        stderr(&o)
    );
    assert_eq!(h.emu().unassigned_mfa_serials(), [s2]);
    assert_eq!(deletes(&h), 5);
    assert!(!seed.exists());

    // 4. EnableMFADevice went through but its answer was lost: the delete
    // meets DeleteConflict, so the device is enabled and its seed file,
    // perhaps the only copy, is kept.
    h.emu().lose_iam_answers("EnableMFADevice", 1);
    let o = add("alice-ci3");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "IAM says {} is in use: enabling it probably went through, so its seed is kept",
            serial("alice-ci3")
        )),
        "{err}"
    );
    assert_eq!(
        h.emu().mfa_serials("alice"),
        [SERIAL.to_owned(), serial("alice-ci3")]
    );
    assert_eq!(std::fs::read_to_string(&seed).unwrap().trim().len(), 64);
}

/// Two `rotate` at once: one rotates, the other waits for it under the
/// rotate lock, sees under the lock that the file no longer holds the key
/// it read, and changes nothing. IAM ends with exactly the key in the file,
/// active and working; no message says a deleted key still works.
#[test]
fn two_rotates_at_once_leave_exactly_the_file_key_in_iam() {
    let h = home();
    // Both are in flight together: the first waits ~1 s for propagation.
    h.emu().set_key_propagation_delay(Duration::from_secs(1));
    assert!(run(&h, &["credential-process", "--bastion"])
        .status
        .success());
    let spawn = || {
        let mut c = h.std_mfacli();
        c.env("AWS_ENDPOINT_URL_IAM", h.emu().endpoint_url())
            .args(["rotate", "--yes"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        c.spawn().unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let outs = [output_bounded(a, "rotate a"), output_bounded(b, "rotate b")];
    let ok: Vec<_> = outs.iter().filter(|o| o.status.success()).collect();
    let failed: Vec<_> = outs.iter().filter(|o| !o.status.success()).collect();
    assert_eq!(
        ok.len(),
        1,
        "{:?}",
        outs.iter().map(stderr).collect::<Vec<_>>()
    );
    let err = stderr(failed[0]);
    assert_eq!(failed[0].status.code(), Some(1), "{err}");
    let file_key = key_in_file(&h);
    assert!(
        err.contains(&format!(
            "nothing changed: [bastion] of {} now holds {file_key} instead of {ALICE_KEY} (another `mfacli rotate` replaced it meanwhile)",
            h.credentials().display()
        )),
        "{err}"
    );
    assert!(
        !err.contains(&format!("still holds {ALICE_KEY}, which works")),
        "{err}"
    );
    assert_eq!(keys_of(&h), [(file_key.clone(), "Active".to_owned())]);
    assert_ne!(file_key, ALICE_KEY);
    assert_file_key_works(&h);
}

/// `rotate` retires an IAM key: without a terminal it needs --yes, on a
/// terminal it asks (only y/yes goes ahead), and --dry-run changes nothing.
#[test]
fn rotate_asks_before_retiring_a_key_and_has_a_dry_run() {
    let h = home();
    let unchanged = |h: &Home, what: &str| {
        assert_eq!(h.emu().count_all("CreateAccessKey"), 0, "{what}");
        assert_eq!(
            keys_of(h),
            [(ALICE_KEY.to_owned(), "Active".to_owned())],
            "{what}"
        );
        assert_eq!(key_in_file(h), ALICE_KEY, "{what}");
    };
    // No terminal, no --yes.
    let o = run(&h, &["rotate"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("nothing changed: rotate would delete an IAM access key and there is no terminal to confirm it on")
            && err.contains("--yes"),
        "{err}"
    );
    unchanged(&h, "no terminal");

    // --dry-run: the plan on stdout, exit 0, nothing changed.
    let o = run(&h, &["rotate", "--dry-run", "--deactivate"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with(&format!(
            "dry run, nothing changed: IAM has {ALICE_KEY} (active"
        )) && out.contains(&format!("then deactivates the old key {ALICE_KEY}")),
        "{out}"
    );
    unchanged(&h, "dry run");

    // On a terminal: "n" (and anything but y/yes) keeps everything.
    let bin = env!("CARGO_BIN_EXE_mfacli");
    let on_tty = |answer: &str| {
        let mut c = h.command("script");
        c.env_remove("MFACLI_NON_INTERACTIVE")
            .env("AWS_ENDPOINT_URL_IAM", h.emu().endpoint_url())
            .args(["-qec", &format!("{bin} rotate"), "/dev/null"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        // The question first, then the answer (the pty echoes it).
        std::thread::sleep(Duration::from_millis(1500));
        use std::io::Write;
        let _ = child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{answer}\n").as_bytes());
        output_bounded(child, "rotate on a pty")
    };
    let o = on_tty("n");
    let screen = stdout(&o);
    assert!(screen.contains("Go ahead? [y/N]"), "{screen}");
    assert!(
        screen.contains(&format!("then deletes the old key {ALICE_KEY}")),
        "{screen}"
    );
    assert!(screen.contains("nothing changed"), "{screen}");
    unchanged(&h, "answered n");
    let o = on_tty("y");
    let screen = stdout(&o);
    assert!(screen.contains("rotated: "), "{screen}");
    let keys = keys_of(&h);
    assert_eq!(keys.len(), 1);
    assert_ne!(keys[0].0, ALICE_KEY);
    assert_eq!(key_in_file(&h), keys[0].0);
}

/// On a terminal `mfa add-virtual` also shows the otpauth:// URI and a QR
/// code for a phone; piped, only the seed line (covered above).
#[test]
fn add_virtual_on_a_terminal_shows_the_otpauth_uri_and_a_qr_code() {
    let h = home();
    let bin = env!("CARGO_BIN_EXE_mfacli");
    let o = h
        .command("script")
        .env("AWS_ENDPOINT_URL_IAM", h.emu().endpoint_url())
        .args([
            "-qec",
            &format!("{bin} mfa add-virtual alice-phone3"),
            "/dev/null",
        ])
        .run_bounded()
        .unwrap();
    let screen = stdout(&o).replace('\r', "");
    assert!(o.status.success(), "{screen}");
    let lines: Vec<&str> = screen.lines().collect();
    let seed = lines
        .iter()
        .find(|l| l.len() == 64 && l.bytes().all(|b| b.is_ascii_alphanumeric()))
        .expect(&screen);
    assert!(
        screen.contains(&format!(
            "otpauth://totp/Amazon%20Web%20Services:alice-phone3@111111111111?secret={seed}&issuer=Amazon%20Web%20Services"
        )),
        "{screen}"
    );
    let qr_rows = lines
        .iter()
        .filter(|l| {
            l.chars().count() > 20 && l.chars().all(|c| "\u{2580}\u{2584}\u{2588} ".contains(c))
        })
        .count();
    assert!(qr_rows > 20, "a QR code: {screen}");
    assert_eq!(
        h.emu().mfa_serials("alice"),
        [SERIAL, "arn:aws:iam::111111111111:mfa/alice-phone3"]
    );
}
