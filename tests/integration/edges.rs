//! The rough edges a first-hour user hit (issue 24), each as the user met
//! it: a typo's hint, an external id, a region of another partition,
//! `serve`'s exports, `--shell sh`, a forgotten `--`, `whoami --bastion`,
//! `env` alone, doctor's statuses and colour, lock files after `clear`,
//! and the demo's build.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use crate::util::*;

/// CONFIG with `audit`'s external id taken out, or replaced.
fn audit_external_id(id: Option<&str>) -> String {
    let line = "external_id = \"audit-42\"\n";
    assert!(CONFIG.contains(line));
    CONFIG.replace(
        line,
        &id.map(|x| format!("external_id = \"{x}\"\n"))
            .unwrap_or_default(),
    )
}

#[test]
fn a_mistyped_profile_is_not_told_to_aws_configure_the_typo() {
    let h = Home::new();
    let o = h
        .mfacli()
        .args(["--profile", "bastoin", "env", "prod"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("did you mean 'bastion'?"), "{err}");
    assert!(err.contains("use --profile bastion"), "{err}");
    assert!(!err.contains("aws configure --profile bastoin"), "{err}");
    // A profile with no near name keeps the aws configure hint.
    let o = h
        .mfacli()
        .args(["--profile", "team-ci", "env", "prod"])
        .output()
        .unwrap();
    assert!(
        stderr(&o).contains("aws configure --profile team-ci"),
        "{}",
        stderr(&o)
    );
    assert_eq!(h.emu().requests().len(), 0);
}

/// A role whose trust policy requires sts:ExternalId refuses a caller
/// without one exactly as it refuses a stranger: the hint names both.
#[test]
fn the_access_denied_hint_names_the_external_id() {
    let h = Home::builder()
        .config(Some(&audit_external_id(None)))
        .build();
    let o = h.mfacli().args(["env", "audit"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("AccessDenied"), "{err}");
    assert!(
        err.contains("requires an sts:ExternalId, set external_id = \"...\" under [targets.audit]"),
        "{err}"
    );
    h.write_config(&audit_external_id(Some("audit-41")));
    let o = h.mfacli().args(["env", "audit"]).output().unwrap();
    let err = stderr(&o);
    assert!(
        err.contains("'audit' sends an external id: check that its external_id equals the trust policy's sts:ExternalId"),
        "{err}"
    );
    // A role that does not trust the bastion account at all: the same hint
    // (nothing tells the two apart), and the trust sentence first.
    let o = h.mfacli().args(["env", "untrusting"]).output().unwrap();
    let err = stderr(&o);
    assert!(err.contains("does not allow this caller"), "{err}");
}

/// `doctor --check-roles` tries each role through the cached MFA session:
/// a missing external id is an error there, with no MFA code spent.
#[test]
fn doctor_check_roles_finds_a_missing_external_id() {
    let h = Home::builder()
        .config(Some(&audit_external_id(None)))
        .build();
    // Without a cached session: not checked, and no code asked.
    let o = h
        .mfacli()
        .args(["doctor", "--check-roles", "audit"])
        .env_remove("MFACLI_TOTP_SECRET")
        .output()
        .unwrap();
    let out = stdout(&o);
    assert!(
        out.contains("skip   target audit: trust policy not checked: no MFA session is cached"),
        "{out}"
    );
    assert_eq!(h.emu().count_all("GetSessionToken"), 0);
    let o = h.mfacli().args(["env", "--bastion"]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let o = h
        .mfacli()
        .args(["doctor", "--check-roles", "prod", "audit"])
        .env_remove("MFACLI_TOTP_SECRET")
        .output()
        .unwrap();
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("ok     target prod: the trust policy of arn:aws:iam::222222222222:role/PowerUser accepts the MFA session"),
        "{out}"
    );
    let audit = out
        .lines()
        .skip_while(|l| !l.starts_with("error  target audit:"))
        .take(2)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(audit.contains("AccessDenied"), "{out}");
    assert!(audit.contains("set external_id"), "{out}");
    assert_eq!(h.emu().count_all("GetSessionToken"), 1);
    // The plain doctor still makes no AssumeRole.
    let before = h.emu().count_all("AssumeRole");
    h.mfacli().args(["doctor"]).output().unwrap();
    assert_eq!(h.emu().count_all("AssumeRole"), before);
}

/// The wizard asks for the external id, and takes the account id as the
/// console shows it.
#[test]
fn the_wizard_asks_for_an_external_id_and_takes_dashed_account_ids() {
    let h = Home::builder().config(None).build();
    // profile [bastion], account (dashed), user, serial [derived],
    // duration [12h], region [-], target audit: account (dashed), role,
    // duration [1h], external id; then an empty name.
    let answers = "\n1111-1111-1111\nalice\n\n\n-\naudit\n4444-4444-4444\nAuditor\n\naudit-42\n\n";
    let o = h
        .mfacli()
        .env_remove("MFACLI_NON_INTERACTIVE")
        .arg("init")
        .write_stdin(answers)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("external id (only if the role's trust policy requires sts:ExternalId"),
        "{}",
        stderr(&o)
    );
    let text = std::fs::read_to_string(h.config()).unwrap();
    assert!(text.contains("external_id = \"audit-42\""), "{text}");
    assert!(
        text.contains("role_arn = \"arn:aws:iam::444444444444:role/Auditor\""),
        "{text}"
    );
    assert!(
        text.contains(&format!("mfa_serial = \"{SERIAL}\"")),
        "{text}"
    );
    let o = h.mfacli().args(["env", "audit"]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_region_of_another_partition_is_refused_before_any_sts_call() {
    let h = Home::builder()
        .config(Some(&CONFIG.replace(
            "region = \"eu-central-1\"",
            "region = \"us-gov-west-1\"",
        )))
        .build();
    let o = h.mfacli().args(["env", "prod"]).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("[targets.prod] region 'us-gov-west-1' is in the aws-us-gov partition, but the role of 'prod' (arn:aws:iam::222222222222:role/PowerUser) is in aws"),
        "{err}"
    );
    assert!(!stdout(&o).contains("AWS_ACCESS_KEY_ID"), "{}", stdout(&o));
    let h = Home::new();
    let o = h
        .mfacli()
        .args(["--region", "cn-north-1", "env", "prod"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--region 'cn-north-1' is in the aws-cn partition"));
    assert_eq!(h.emu().requests().len(), 0);
}

/// `serve` with two targets: one set of live exports (the first target,
/// with its region), the other commented out; `--shell github` refused.
#[test]
fn serve_exports_one_target_live_with_its_region() {
    let h = Home::new();
    let o = h
        .mfacli()
        .args(["serve", "prod", "--shell", "github"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("serve does not support --shell github"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty());

    let mut child = h
        .std_mfacli()
        .args(["serve", "prod", "staging", "--shell", "bash"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    while lines
        .iter()
        .filter(|l: &&String| l.ends_with("unset AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"))
        .count()
        < 2
    {
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(l) => lines.push(l),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = lines.join("\n");
    let live = |name: &str| {
        lines
            .iter()
            .filter(|l| l.starts_with(&format!("export {name}=")))
            .count()
    };
    assert_eq!(live("AWS_CONTAINER_CREDENTIALS_FULL_URI"), 1, "{text}");
    assert_eq!(live("AWS_CONTAINER_AUTHORIZATION_TOKEN"), 1, "{text}");
    assert!(text.contains("export AWS_REGION='eu-central-1'"), "{text}");
    assert!(text.starts_with("# prod\n"), "{text}");
    assert!(
        text.contains("# staging (to use it instead, run these lines without the #)\n# export AWS_CONTAINER_CREDENTIALS_FULL_URI='http://127.0.0.1:"),
        "{text}"
    );
    // staging has no region of its own: [bastion] region.
    assert!(text.contains("# export AWS_REGION='eu-west-1'"), "{text}");
}

/// POSIX sh and dash take the bash exports: `--shell sh` is accepted.
#[test]
fn shell_sh_exports_work_in_dash_and_sh() {
    let h = Home::new();
    let bin = env!("CARGO_BIN_EXE_mfacli");
    for sh in ["dash", "sh"] {
        if !have(sh) {
            skip(sh, "apt-get install dash");
            continue;
        }
        let script = format!(
            r#"eval "$('{bin}' env prod --shell sh)" && echo "region=$AWS_REGION target=$MFACLI_TARGET key=${{AWS_ACCESS_KEY_ID%%????????????????}}""#
        );
        let o = h.command(sh).args(["-c", &script]).output().unwrap();
        assert!(o.status.success(), "{sh}: {}", stderr(&o));
        assert_eq!(
            stdout(&o),
            "region=eu-central-1 target=prod key=ASIA\n",
            "{sh}"
        );
    }
}

#[test]
fn exec_without_dashes_says_where_the_dashes_go() {
    let h = Home::new();
    let o = h
        .mfacli()
        .args(["exec", "prod", "aws", "sts", "get-caller-identity"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("the command to run goes after `--`: mfacli exec prod -- aws …"),
        "{err}"
    );
    assert_eq!(h.emu().requests().len(), 0);
}

#[test]
fn whoami_bastion_is_the_iam_user() {
    let h = Home::new();
    let o = h.mfacli().args(["whoami", "--bastion"]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("Account: 111111111111\n"), "{out}");
    assert!(
        out.contains("arn:aws:iam::111111111111:user/alice"),
        "{out}"
    );
    assert_eq!(h.counts(), (1, 0));
}

#[test]
fn env_without_a_target_lists_the_targets() {
    let h = Home::new();
    let o = h.mfacli().arg("env").output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("env needs a TARGET: audit, long, prod, staging, untrusting"),
        "{err}"
    );
    assert_eq!(h.emu().requests().len(), 0);
}

/// doctor: a check it could not make is "skip", not "ok"; a fix names the
/// real profile; the status words are coloured on a terminal only, and
/// never with NO_COLOR.
#[test]
fn doctor_skips_are_not_ok_fixes_name_the_profile_and_colour_on_a_terminal() {
    let h = Home::new();
    let o = h.mfacli().arg("doctor").output().unwrap();
    let out = stdout(&o);
    assert!(
        out.lines()
            .any(|l| l.starts_with("skip   key age: not checked")),
        "{out}"
    );
    assert!(
        !out.lines()
            .any(|l| l.starts_with("ok") && l.contains("not checked")),
        "{out}"
    );
    assert!(
        out.contains(" ok, 1 not checked, 1 warning, 0 errors\n"),
        "{out}"
    );
    assert!(!out.contains('\x1b'), "no colour into a pipe: {out:?}");

    let h = Home::with_credentials(&format!(
        "[bastion]\naws_access_key_id = {ALICE_KEY}\naws_secret_access_key = wrongSECRETkey0000000000000000EXAMPLE001\n"
    ));
    let o = h.mfacli().arg("doctor").output().unwrap();
    let out = stdout(&o);
    assert!(out.contains("aws configure --profile bastion`"), "{out}");
    assert!(!out.contains("PROFILE"), "{out}");

    if !have("script") {
        skip("script", "apt-get install util-linux");
        return;
    }
    let h = Home::new();
    let bin = env!("CARGO_BIN_EXE_mfacli");
    for (no_color, coloured) in [(None, true), (Some("1"), false)] {
        let mut c = h.command("script");
        c.args(["-qec", &format!("{bin} doctor"), "/dev/null"]);
        if let Some(v) = no_color {
            c.env("NO_COLOR", v);
        }
        let o = c.output().unwrap();
        let out = stdout(&o);
        assert_eq!(
            out.contains("\x1b[32mok   \x1b[0m  config:"),
            coloured,
            "{out:?}"
        );
        assert_eq!(out.contains('\x1b'), coloured, "{out:?}");
    }
}

/// `clear --all --totp-state` leaves no lock files, also of a target the
/// config no longer has.
#[test]
fn clear_all_totp_state_removes_the_lock_files() {
    let h = Home::new();
    for t in ["prod", "staging"] {
        let o = h.mfacli().args(["env", t]).output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let locks = || -> Vec<String> {
        std::fs::read_dir(h.cache_dir())
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".lock"))
            .collect()
    };
    assert!(
        locks().iter().any(|n| n.starts_with("role-staging-")),
        "{:?}",
        locks()
    );
    assert!(
        locks().iter().any(|n| n.starts_with("totp-")),
        "{:?}",
        locks()
    );
    h.write_config(&CONFIG.replace("[targets.staging]", "[targets.staging-gone]"));
    let o = h
        .mfacli()
        .args(["clear", "--all", "--totp-state"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(locks(), Vec::<String>::new());
    assert!(stderr(&o).contains(" lock files"), "{}", stderr(&o));
    // Only --all: the TOTP device lock stays.
    h.mfacli().args(["env", "prod"]).output().unwrap();
    h.mfacli().args(["clear", "--all"]).output().unwrap();
    let left = locks();
    assert!(
        left.iter().all(|n| n.starts_with("totp-")) && !left.is_empty(),
        "{left:?}"
    );
}

/// The demo says what it is doing before the build, which takes minutes
/// on a fresh clone.
#[test]
fn the_demo_says_it_is_building() {
    let h = Home::new();
    let fake = h.path().join("fakebin");
    std::fs::create_dir_all(&fake).unwrap();
    let cargo = fake.join("cargo");
    std::fs::write(&cargo, "#!/bin/sh\necho FAKE-CARGO-RAN >&2\nexit 7\n").unwrap();
    std::fs::set_permissions(&cargo, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/demo.sh");
    let o = h
        .command("bash")
        .arg(&demo)
        .env("PATH", format!("{}:/usr/bin:/bin", fake.display()))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(7));
    let err = stderr(&o);
    let said = err.find("building mfacli and the STS emulator");
    let ran = err.find("FAKE-CARGO-RAN");
    assert!(said.is_some() && said < ran, "{err}");
}

/// `console --duration 8h` on a role whose maximum is 1h: AWS's refusal is
/// remembered, so the next run refuses before asking for a code (the
/// bastion user cannot read a role's MaxSessionDuration beforehand).
#[test]
fn console_duration_over_the_roles_maximum_is_refused_before_a_code_next_time() {
    let h = Home::new();
    let run = |d: &str| {
        h.mfacli()
            .args(["console", "audit", "--print", "--duration", d])
            .output()
            .unwrap()
    };
    let o = run("8h");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("MaxSessionDuration"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("mfacli remembers this"),
        "{}",
        stderr(&o)
    );
    let calls = h.emu().requests().len();
    for d in ["8h", "12h"] {
        let o = run(d);
        assert_eq!(o.status.code(), Some(2), "{d}");
        assert!(
            stderr(&o).contains("AWS refused 8h for arn:aws:iam::444444444444:role/Auditor before"),
            "{}",
            stderr(&o)
        );
        assert!(!stderr(&o).contains("costs one MFA code"), "{}", stderr(&o));
    }
    assert_eq!(h.emu().requests().len(), calls, "no STS call, no code");
    // clear --all forgets it (the role's maximum may have been raised).
    h.mfacli().args(["clear", "--all"]).assert().success();
    let o = run("8h");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}
