//! `mfacli init` and `mfacli doctor`, run as the real binary against the
//! STS emulator's demo world, with a throwaway HOME.

use std::os::unix::fs::PermissionsExt;

use assert_cmd::Command;

use crate::util::{mode, write_private, Home};
use sts_emulator::demo::{ALICE_KEY, ALICE_SECRET, ALICE_SEED, ALICE_SERIAL};

/// An empty HOME (no AWS files, no mfacli config, no MFA code source) whose
/// AWS files and cache are named explicitly.
fn home() -> Home {
    Home::builder()
        .credentials(None)
        .config(None)
        .code(None)
        .aws_file_vars()
        .cache_dir("cache")
        .build()
}

fn alice_keys(h: &Home, secret: &str) {
    write_private(
        &h.credentials(),
        &format!("[bastion]\naws_access_key_id = {ALICE_KEY}\naws_secret_access_key = {secret}\n"),
    );
}

/// The healthy setup: alice's keys (0600) and a config with two targets.
fn healthy(h: &Home) {
    alice_keys(h, ALICE_SECRET);
    mfacli_config(
        h,
        "[targets.prod]\nrole_arn = \"arn:aws:iam::222222222222:role/PowerUser\"\n\n\
         [targets.audit]\naccount = \"444444444444\"\nrole = \"Auditor\"\nexternal_id = \"audit-42\"\n",
    );
}

fn mfacli_config(h: &Home, targets: &str) {
    let text = format!(
        "[bastion]\nprofile = \"bastion\"\nmfa_serial = \"{ALICE_SERIAL}\"\nsession_duration = \"12h\"\n\n{targets}"
    );
    write_private(&h.config(), &text);
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(mut c: Command, args: &[&str]) -> Out {
    let o = c.args(args).output().unwrap();
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// The line of a check, e.g. `line(out, "error", "sts")`.
fn line<'a>(out: &'a str, status: &str, check: &str) -> Option<&'a str> {
    out.lines()
        .find(|l| l.starts_with(&format!("{status:<5}  {check}:")))
}

fn has(out: &Out, status: &str, check: &str) -> String {
    line(&out.stdout, status, check)
        .unwrap_or_else(|| {
            panic!(
                "no `{status} {check}` line in:\n{}\nstderr:\n{}",
                out.stdout, out.stderr
            )
        })
        .to_owned()
}

// ---------------------------------------------------------------- init

const INIT_FLAGS: &[&str] = &[
    "init",
    "--non-interactive",
    "--bastion-profile",
    "bastion",
    "--mfa-serial",
    ALICE_SERIAL,
    "--session-duration",
    "8h",
    "--region",
    "eu-west-1",
    "--target",
    "prod=222222222222:PowerUser",
    "--target",
    "staging=333333333333:PowerUser:30m",
];

#[test]
fn init_non_interactive_writes_a_config_that_list_reads() {
    let h = home();
    alice_keys(&h, ALICE_SECRET);
    let o = run(h.mfacli(), INIT_FLAGS);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains(&h.config().display().to_string()),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("mfacli list"), "{}", o.stdout);
    assert_eq!(mode(&h.config()), 0o600);
    let text = std::fs::read_to_string(h.config()).unwrap();
    assert!(text.contains("session_duration = \"8h\""), "{text}");
    assert!(text.contains("region = \"eu-west-1\""), "{text}");

    let l = run(h.mfacli(), &["list"]);
    assert_eq!(l.code, 0, "{}", l.stderr);
    assert!(l.stderr.is_empty(), "no warnings expected: {}", l.stderr);
    assert!(
        l.stdout.contains("prod")
            && l.stdout
                .contains("arn:aws:iam::222222222222:role/PowerUser"),
        "{}",
        l.stdout
    );
    assert!(
        l.stdout.contains("staging")
            && l.stdout
                .contains("arn:aws:iam::333333333333:role/PowerUser"),
        "{}",
        l.stdout
    );

    let j = run(h.mfacli(), &["list", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    let staging = v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["target"] == "staging")
        .unwrap();
    assert_eq!(staging["duration"], "30m");
}

#[test]
fn init_refuses_to_overwrite_without_force() {
    let h = home();
    alice_keys(&h, ALICE_SECRET);
    assert_eq!(run(h.mfacli(), INIT_FLAGS).code, 0);
    let before = std::fs::read_to_string(h.config()).unwrap();

    let mut again: Vec<&str> = INIT_FLAGS.to_vec();
    again.truncate(again.len() - 4); // drop the targets
    let o = run(h.mfacli(), &again);
    assert_eq!(o.code, 1);
    assert!(
        o.stderr.contains("already exists") && o.stderr.contains("--force"),
        "{}",
        o.stderr
    );
    assert_eq!(std::fs::read_to_string(h.config()).unwrap(), before);

    again.push("--force");
    let o = run(h.mfacli(), &again);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let after = std::fs::read_to_string(h.config()).unwrap();
    assert!(!after.contains("[targets."), "{after}");
    assert_eq!(mode(&h.config()), 0o600);
}

#[test]
fn init_bad_values_name_the_flag() {
    let h = home();
    alice_keys(&h, ALICE_SECRET);
    let base = ["init", "--non-interactive", "--bastion-profile", "bastion"];
    for (extra, flag) in [
        (
            vec!["--mfa-serial", "arn:aws:iam::1:mfa/alice"],
            "--mfa-serial",
        ),
        (
            vec![
                "--mfa-serial",
                ALICE_SERIAL,
                "--target",
                "prod=12:PowerUser",
            ],
            "--target",
        ),
        (
            vec!["--mfa-serial", ALICE_SERIAL, "--target", "prod"],
            "--target",
        ),
        (
            vec![
                "--mfa-serial",
                ALICE_SERIAL,
                "--target",
                "prod=222222222222:bad role",
            ],
            "--target",
        ),
        (
            vec![
                "--mfa-serial",
                ALICE_SERIAL,
                "--target",
                "prod=222222222222:R:13h",
            ],
            "--target",
        ),
        (
            vec![
                "--mfa-serial",
                ALICE_SERIAL,
                "--target",
                "a=222222222222:R",
                "--target",
                "a=333333333333:R",
            ],
            "--target",
        ),
        (
            vec!["--mfa-serial", ALICE_SERIAL, "--session-duration", "40h"],
            "--session-duration",
        ),
        (
            vec!["--mfa-serial", ALICE_SERIAL, "--region", "Not A Region"],
            "--region",
        ),
    ] {
        let args: Vec<&str> = base.iter().copied().chain(extra.iter().copied()).collect();
        let o = run(h.mfacli(), &args);
        assert_eq!(o.code, 2, "{args:?}: {}", o.stderr);
        assert!(o.stderr.contains(flag), "{args:?}: {}", o.stderr);
        assert!(!h.config().exists(), "{args:?} wrote a config");
    }
}

#[test]
fn init_non_interactive_takes_defaults_from_the_aws_files() {
    let h = home();
    alice_keys(&h, ALICE_SECRET);
    write_private(
        &h.aws_config(),
        &format!("[profile bastion]\nmfa_serial = {ALICE_SERIAL}\nregion = eu-central-1\n"),
    );
    let o = run(
        h.mfacli(),
        &["init", "--target", "prod=222222222222:PowerUser"],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let text = std::fs::read_to_string(h.config()).unwrap();
    assert!(text.contains("profile = \"bastion\""), "{text}");
    assert!(
        text.contains(&format!("mfa_serial = \"{ALICE_SERIAL}\"")),
        "{text}"
    );
    assert!(text.contains("session_duration = \"12h\""), "{text}");
    assert!(text.contains("region = \"eu-central-1\""), "{text}");

    // Two candidate profiles: the flag is needed, and the error says which.
    let h = home();
    write_private(
        &h.credentials(),
        &format!(
            "[a]\naws_access_key_id = {ALICE_KEY}\naws_secret_access_key = x\n[b]\naws_access_key_id = {ALICE_KEY}\naws_secret_access_key = y\n"
        ),
    );
    let o = run(h.mfacli(), &["init", "--mfa-serial", ALICE_SERIAL]);
    assert_eq!(o.code, 1);
    assert!(
        o.stderr.contains("--bastion-profile") && o.stderr.contains("a, b"),
        "{}",
        o.stderr
    );
}

#[test]
fn init_interactive_through_stdin() {
    let h = home();
    alice_keys(&h, ALICE_SECRET);
    // profile [bastion], account, user, serial [derived], duration [12h],
    // region (none), target prod (account, role [PowerUser], duration [1h]),
    // external id (none), target audit (Auditor, 1h, its external id),
    // then an empty name.
    let answers =
        "\n111111111111\nalice\n\n\n\nprod\n222222222222\n\n\n\naudit\n444444444444\nAuditor\n1h\naudit-42\n\n";
    let mut c = h.mfacli();
    c.env_remove("MFACLI_NON_INTERACTIVE").write_stdin(answers);
    let o = run(c, &["init"]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stderr
            .contains("Bastion profile (the one with your IAM user's long-term keys) [bastion]:"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains(&format!("[{ALICE_SERIAL}]")),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("[12h]") && o.stderr.contains("[PowerUser]") && o.stderr.contains("[1h]"),
        "{}",
        o.stderr
    );
    assert_eq!(mode(&h.config()), 0o600);
    let text = std::fs::read_to_string(h.config()).unwrap();
    assert!(
        text.contains(&format!("mfa_serial = \"{ALICE_SERIAL}\"")),
        "{text}"
    );
    assert!(!text.contains("region ="), "{text}");
    let l = run(h.mfacli(), &["list"]);
    assert!(
        l.stdout.contains("arn:aws:iam::444444444444:role/Auditor"),
        "{}",
        l.stdout
    );

    // An existing config: "n" keeps it, "y" replaces it.
    let before = std::fs::read_to_string(h.config()).unwrap();
    let mut c = h.mfacli();
    c.env_remove("MFACLI_NON_INTERACTIVE").write_stdin("n\n");
    let o = run(c, &["init"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("overwrite? [y/N]"), "{}", o.stderr);
    assert_eq!(std::fs::read_to_string(h.config()).unwrap(), before);

    let mut c = h.mfacli();
    c.env_remove("MFACLI_NON_INTERACTIVE")
        .write_stdin(format!("y\nbastion\n{ALICE_SERIAL}\n\n4h\neu-west-1\n\n"));
    let o = run(c, &["init"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let text = std::fs::read_to_string(h.config()).unwrap();
    assert!(
        text.contains("session_duration = \"4h\"") && !text.contains("[targets."),
        "{text}"
    );

    // Input that ends early writes nothing.
    std::fs::remove_file(h.config()).unwrap();
    let mut c = h.mfacli();
    c.env_remove("MFACLI_NON_INTERACTIVE")
        .write_stdin("bastion\n");
    let o = run(c, &["init"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("input ended"), "{}", o.stderr);
    assert!(!h.config().exists());
}

// ---------------------------------------------------------------- doctor

#[test]
fn doctor_healthy_setup() {
    let h = home();
    healthy(&h);
    let o = run(h.mfacli(), &["doctor"]);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    for check in [
        "config",
        "bastion keys",
        "file mode",
        "sts",
        "clock",
        "mfa session",
        "target prod",
        "target audit",
    ] {
        has(&o, "ok", check);
    }
    assert!(
        !o.stdout
            .lines()
            .any(|l| l.starts_with("error") || l.starts_with("warn")),
        "{}",
        o.stdout
    );
    assert!(o.stdout.ends_with("0 warnings, 0 errors\n"), "{}", o.stdout);
    assert!(
        has(&o, "ok", "sts").contains("arn:aws:iam::111111111111:user/alice"),
        "{}",
        o.stdout
    );
    assert!(
        has(&o, "ok", "mfa session").contains("none cached"),
        "{}",
        o.stdout
    );
    assert!(
        has(&o, "ok", "target prod").contains("none cached"),
        "{}",
        o.stdout
    );
    assert!(
        has(&o, "skip", "key age").contains("not checked"),
        "{}",
        o.stdout
    );
    assert!(!o.stdout.contains(ALICE_SECRET) && !o.stderr.contains(ALICE_SECRET));
    assert_eq!(h.emu().count("GetCallerIdentity"), 1);
    assert_eq!(h.emu().count_all("GetSessionToken"), 0);
    assert_eq!(h.emu().count_all("AssumeRole"), 0);

    let o = run(h.mfacli(), &["doctor", "prod", "--json"]);
    assert_eq!(o.code, 0);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["errors"], 0);
    let checks = v["checks"].as_array().unwrap();
    assert!(checks
        .iter()
        .any(|c| c["check"] == "target prod" && c["status"] == "ok"));
    assert!(
        !checks.iter().any(|c| c["check"] == "target audit"),
        "only the named target"
    );
}

#[test]
fn doctor_reports_cached_session_and_credentials_without_new_sts_calls() {
    let h = home();
    healthy(&h);
    let mut c = h.mfacli();
    c.env("MFACLI_TOTP_SECRET", ALICE_SEED);
    let a = run(c, &["assume", "prod"]);
    assert_eq!(a.code, 0, "{}", a.stderr);
    let (gst, ar) = (
        h.emu().count_all("GetSessionToken"),
        h.emu().count_all("AssumeRole"),
    );
    let o = run(h.mfacli(), &["doctor"]);
    assert_eq!(o.code, 0, "{}", o.stdout);
    assert!(
        has(&o, "ok", "mfa session").contains(" left"),
        "{}",
        o.stdout
    );
    assert!(
        has(&o, "ok", "target prod").contains("cached credentials,"),
        "{}",
        o.stdout
    );
    assert!(
        has(&o, "ok", "target audit").contains("none cached"),
        "{}",
        o.stdout
    );
    assert_eq!(
        (
            h.emu().count_all("GetSessionToken"),
            h.emu().count_all("AssumeRole")
        ),
        (gst, ar)
    );
}

#[test]
fn doctor_wrong_secret_is_an_error_about_the_secret() {
    let h = home();
    healthy(&h);
    let wrong = "wrongSECRETkey0000000000000000EXAMPLE999";
    alice_keys(&h, wrong);
    let o = run(h.mfacli(), &["doctor"]);
    assert_eq!(o.code, 1, "{}", o.stdout);
    let l = has(&o, "error", "sts");
    assert!(
        l.contains("secret access key") && l.contains("SignatureDoesNotMatch"),
        "{l}"
    );
    assert!(o.stdout.contains("fix: "), "{}", o.stdout);
    has(&o, "ok", "clock");
    assert!(!o.stdout.contains(wrong) && !o.stderr.contains(wrong));
}

#[test]
fn doctor_unknown_key_is_an_error() {
    let h = home();
    healthy(&h);
    write_private(
        &h.credentials(),
        "[bastion]\naws_access_key_id = AKIANOBODY0000000000\naws_secret_access_key = nobodySECRET00000000000000000000000000\n",
    );
    let o = run(h.mfacli(), &["doctor"]);
    assert_eq!(o.code, 1, "{}", o.stdout);
    let l = has(&o, "error", "sts");
    assert!(
        l.contains("InvalidClientTokenId") && l.contains("AKIA…0000"),
        "{l}"
    );
}

#[test]
fn doctor_missing_keys_is_an_error_without_sts_calls() {
    let h = home();
    healthy(&h);
    std::fs::remove_file(h.credentials()).unwrap();
    let o = run(h.mfacli(), &["doctor"]);
    assert_eq!(o.code, 1, "{}", o.stdout);
    assert!(
        has(&o, "error", "bastion keys").contains("no long-term keys for profile 'bastion'"),
        "{}",
        o.stdout
    );
    assert!(
        has(&o, "ok", "target prod").contains("not checked"),
        "{}",
        o.stdout
    );
    assert_eq!(h.emu().count_all("GetCallerIdentity"), 0);
}

#[test]
fn doctor_warns_about_a_readable_credentials_file() {
    let h = home();
    healthy(&h);
    std::fs::set_permissions(h.credentials(), std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = run(h.mfacli(), &["doctor"]);
    assert_eq!(o.code, 0, "a warning is not an error: {}", o.stdout);
    assert!(
        has(&o, "warn", "file mode").contains("0644"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout
            .contains(&format!("fix: chmod 600 {}", h.credentials().display())),
        "{}",
        o.stdout
    );
}

#[test]
fn doctor_names_broken_targets() {
    // A bad role ARN in the mfacli config: the config itself is the error.
    let h = home();
    alice_keys(&h, ALICE_SECRET);
    mfacli_config(
        &h,
        "[targets.broken]\nrole_arn = \"arn:aws:iam::22:role/PowerUser\"\n",
    );
    let o = run(h.mfacli(), &["doctor"]);
    assert_eq!(o.code, 1, "{}", o.stdout);
    assert!(
        has(&o, "error", "config").contains("[targets.broken] role_arn"),
        "{}",
        o.stdout
    );

    // A bad role ARN in ~/.aws/config: an error line for that target only.
    let h = home();
    healthy(&h);
    write_private(
        &h.aws_config(),
        "[profile broken]\nrole_arn = arn:aws:iam::222222222222:user/nope\nsource_profile = bastion\n",
    );
    let o = run(h.mfacli(), &["doctor"]);
    assert_eq!(o.code, 1, "{}", o.stdout);
    assert!(
        has(&o, "error", "target broken").contains("role_arn"),
        "{}",
        o.stdout
    );
    has(&o, "ok", "target prod");
    has(&o, "ok", "sts");

    // An unknown target named on the command line.
    let o = run(h.mfacli(), &["doctor", "prdo"]);
    assert_eq!(o.code, 1);
    assert!(
        has(&o, "error", "target prdo").contains("did you mean 'prod'"),
        "{}",
        o.stdout
    );
}

#[test]
fn doctor_config_warnings_and_no_targets() {
    let h = home();
    alice_keys(&h, ALICE_SECRET);
    mfacli_config(&h, "");
    let mut text = std::fs::read_to_string(h.config()).unwrap();
    text = text.replace("session_duration", "sesion_duration");
    std::fs::write(h.config(), text).unwrap();
    let o = run(h.mfacli(), &["doctor"]);
    assert_eq!(o.code, 0, "{}", o.stdout);
    assert!(
        has(&o, "warn", "config").contains("did you mean 'session_duration'"),
        "{}",
        o.stdout
    );
    has(&o, "warn", "targets");
    has(&o, "ok", "sts");
}

#[test]
fn doctor_detects_clock_skew() {
    let h = home();
    healthy(&h);
    h.emu().set_offset_secs(3600);
    let o = run(h.mfacli(), &["doctor"]);
    assert_eq!(o.code, 1, "{}", o.stdout);
    let l = has(&o, "error", "clock");
    assert!(
        l.contains("behind") && (l.contains("3600s") || l.contains("3599s") || l.contains("3601s")),
        "{l}"
    );
    // The keys are not to blame. (The SDK corrects its signing time from
    // the rejected request's Date and retries, so the call may succeed.)
    assert!(line(&o.stdout, "error", "sts").is_none(), "{}", o.stdout);
    // One call refused for the skew, one retried at the corrected time.
    assert_eq!(
        h.emu().count_all("GetCallerIdentity"),
        2,
        "{:?}",
        h.emu().requests()
    );
    assert_eq!(h.emu().count("GetCallerIdentity"), 1);

    h.emu().set_offset_secs(-3600);
    let o = run(h.mfacli(), &["doctor", "--json"]);
    assert_eq!(o.code, 1);
    let v: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    let clock = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "clock")
        .unwrap()
        .clone();
    assert_eq!(clock["status"], "error");
    assert!(
        clock["detail"].as_str().unwrap().contains("ahead of"),
        "{clock}"
    );
    assert!(clock["fix"].as_str().unwrap().contains("NTP"), "{clock}");
}

#[test]
fn doctor_warns_about_targets_over_one_hour() {
    let h = home();
    alice_keys(&h, ALICE_SECRET);
    mfacli_config(
        &h,
        "[targets.prod]\nrole_arn = \"arn:aws:iam::222222222222:role/PowerUser\"\n\n\
         [targets.long]\nrole_arn = \"arn:aws:iam::333333333333:role/PowerUser\"\nduration = \"2h\"\n",
    );
    let o = run(h.mfacli(), &["doctor"]);
    assert_eq!(o.code, 0, "{}", o.stdout);
    let l = has(&o, "warn", "target long");
    assert!(l.contains("2h") && l.contains("own MFA code"), "{l}");
    has(&o, "ok", "target prod");
}
