//! The bastion flow end to end: the real binary against the STS emulator.

use std::time::{Duration, Instant};

use crate::util::*;

#[test]
fn one_mfa_session_serves_every_target() {
    let h = Home::new();
    let first = h
        .mfacli()
        .args(["env", "prod", "--shell", "bash"])
        .assert()
        .success();
    assert_eq!(
        h.counts(),
        (1, 1),
        "first env prod: 1 GetSessionToken + 1 AssumeRole"
    );
    let first = stdout(first.get_output());
    assert!(
        first.starts_with("export AWS_ACCESS_KEY_ID='ASIA"),
        "{first}"
    );

    let second = h
        .mfacli()
        .args(["env", "prod", "--shell", "bash"])
        .assert()
        .success();
    assert_eq!(h.counts(), (1, 1), "second env prod: served from the cache");
    assert_eq!(stdout(second.get_output()), first);

    h.mfacli().args(["env", "staging"]).assert().success();
    assert_eq!(
        h.counts(),
        (1, 2),
        "staging: one AssumeRole, no new MFA session"
    );
    let codes_sent = h
        .emu()
        .requests()
        .iter()
        .filter(|r| r.token_code_sent)
        .count();
    assert_eq!(codes_sent, 1, "one MFA code for both targets");
}

#[test]
fn credential_process_prints_exactly_the_json() {
    let h = Home::new();
    let out = h
        .mfacli()
        .args(["credential-process", "prod"])
        .assert()
        .success();
    let o = out.get_output();
    assert_eq!(stderr(o), "");
    let text = stdout(o);
    assert_eq!(text.lines().count(), 1, "one line of JSON: {text}");
    let v = json(&text);
    let obj = v.as_object().unwrap();
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "AccessKeyId",
            "Expiration",
            "SecretAccessKey",
            "SessionToken",
            "Version"
        ]
    );
    assert_eq!(v["Version"], 1);
    assert!(v["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    let exp = chrono::DateTime::parse_from_rfc3339(v["Expiration"].as_str().unwrap()).unwrap();
    let left = exp.timestamp() - h.emu().now().timestamp();
    assert!(
        (3500..=3600).contains(&left),
        "role credentials last 1h: {left}"
    );
}

/// Evaluates `env`'s output in the real shell and compares each variable
/// with the credential_process values; also checks the exact text.
#[test]
fn env_output_is_exact_and_evaluates_in_each_shell() {
    let h = Home::new();
    let cp = json(&stdout(
        h.mfacli()
            .args(["credential-process", "prod"])
            .assert()
            .success()
            .get_output(),
    ));
    let (id, secret, token, exp) = (
        cp["AccessKeyId"].as_str().unwrap(),
        cp["SecretAccessKey"].as_str().unwrap(),
        cp["SessionToken"].as_str().unwrap(),
        cp["Expiration"].as_str().unwrap(),
    );
    let vars = [
        ("AWS_ACCESS_KEY_ID", id),
        ("AWS_SECRET_ACCESS_KEY", secret),
        ("AWS_SESSION_TOKEN", token),
        ("AWS_SECURITY_TOKEN", token),
        ("AWS_CREDENTIAL_EXPIRATION", exp),
        ("AWS_REGION", "eu-central-1"),
        ("AWS_DEFAULT_REGION", "eu-central-1"),
        // For `mfacli hook` and `mfacli prompt`.
        ("MFACLI_TARGET", "prod"),
    ];
    let expected = |set: &dyn Fn(&str, &str) -> String, unset: &dyn Fn(&str) -> String| {
        let mut s: String = vars.iter().map(|(k, v)| set(k, v)).collect();
        s.push_str(&unset("AWS_PROFILE"));
        s.push_str(&unset("AWS_DEFAULT_PROFILE"));
        s
    };
    let posix = expected(&|k, v| format!("export {k}='{v}'\n"), &|k| {
        format!("unset {k}\n")
    });
    let fish = expected(&|k, v| format!("set -gx {k} '{v}'\n"), &|k| {
        format!("set -e {k}; or true\n")
    });
    let pwsh = expected(&|k, v| format!("$Env:{k} = '{v}'\n"), &|k| {
        format!("Remove-Item Env:{k} -ErrorAction SilentlyContinue\n")
    });
    for (shell, want) in [
        ("bash", &posix),
        ("zsh", &posix),
        ("fish", &fish),
        ("powershell", &pwsh),
    ] {
        let got = stdout(
            h.mfacli()
                .args(["env", "prod", "--shell", shell])
                .assert()
                .success()
                .get_output(),
        );
        assert_eq!(&got, want, "exact output for {shell}");
    }
    // $SHELL picks the default syntax.
    let got = stdout(
        h.mfacli()
            .env("SHELL", "/usr/bin/fish")
            .args(["env", "prod"])
            .assert()
            .success()
            .get_output(),
    );
    assert_eq!(got, fish);
    assert_eq!(h.counts(), (1, 1));

    let print = "printf '%s|%s|%s|%s|%s|%s\\n' \"$AWS_ACCESS_KEY_ID\" \"$AWS_SECRET_ACCESS_KEY\" \"$AWS_SESSION_TOKEN\" \"$AWS_CREDENTIAL_EXPIRATION\" \"$AWS_REGION\" \"${AWS_PROFILE-unset}\"";
    let want_line = format!("{id}|{secret}|{token}|{exp}|eu-central-1|unset");
    let bin = env!("CARGO_BIN_EXE_mfacli");
    for shell in ["bash", "zsh", "fish"] {
        if !have(shell) {
            continue;
        }
        let script = match shell {
            "fish" => format!(
                "{bin} env prod --shell fish | source; printf '%s|%s|%s|%s|%s|%s\\n' \"$AWS_ACCESS_KEY_ID\" \"$AWS_SECRET_ACCESS_KEY\" \"$AWS_SESSION_TOKEN\" \"$AWS_CREDENTIAL_EXPIRATION\" \"$AWS_REGION\" (set -q AWS_PROFILE; and echo $AWS_PROFILE; or echo unset)"
            ),
            _ => format!("eval \"$({bin} env prod --shell {shell})\"; {print}"),
        };
        let out = in_shell(&h, shell, &script);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        assert_eq!(
            stdout(&out).trim(),
            want_line,
            "{shell} sees the exported values"
        );
    }
}

/// Runs `script` in `shell` with the test environment, AWS_PROFILE set.
fn in_shell(h: &Home, shell: &str, script: &str) -> std::process::Output {
    let mut sh = h.command(shell);
    sh.env("AWS_PROFILE", "bastion").arg("-c").arg(script);
    sh.run_bounded().unwrap()
}

#[test]
fn cache_files_are_private_and_secrets_stay_put() {
    let h = Home::new();
    h.mfacli().args(["env", "prod"]).assert().success();
    let cache = h.cache_dir();
    assert_eq!(mode(&cache), 0o700);
    let mut files = 0;
    walk(&cache, &mut |p| {
        assert_eq!(mode(p), 0o600, "{}", p.display());
        files += 1;
    });
    assert!(files >= 3, "session, role and TOTP state files (and locks)");
    for (p, text) in h.files_outside_cache() {
        assert!(
            !text.contains("ASIA"),
            "session credentials leaked into {}",
            p.display()
        );
        assert!(!text.contains(SEED), "seed leaked into {}", p.display());
    }
}

#[test]
fn exec_gives_the_child_role_credentials_only() {
    let h = Home::new();
    let out = h
        .mfacli()
        .env("AWS_PROFILE", "bastion")
        .env("MY_SEED", SEED)
        .args([
            "--totp-secret-env",
            "MY_SEED",
            "exec",
            "prod",
            "--",
            "sh",
            "-c",
            "env; exit 7",
        ])
        .env_remove("MFACLI_TOTP_SECRET")
        .assert()
        .code(7);
    let env = stdout(out.get_output());
    assert!(env.contains("AWS_ACCESS_KEY_ID=ASIA"), "{env}");
    assert!(env.contains("AWS_REGION=eu-central-1"));
    for forbidden in [
        ALICE_KEY,
        ALICE_SECRET,
        SEED,
        "AWS_PROFILE=",
        "MFACLI_TOTP_SECRET",
        "MY_SEED",
    ] {
        assert!(!env.contains(forbidden), "child saw {forbidden}");
    }
    // exec is a real exec: the child's status, including a signal, comes back.
    let sig = h
        .std_mfacli()
        .args(["exec", "prod", "--", "sh", "-c", "kill -TERM $$"])
        .status_bounded()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(sig.signal(), Some(15), "{sig:?}");
    h.mfacli().args(["exec", "prod"]).assert().code(2);
    let missing = h
        .mfacli()
        .args(["exec", "prod", "--", "no-such-command-xyz"])
        .assert()
        .code(127);
    assert!(stderr(missing.get_output()).contains("cannot run 'no-such-command-xyz'"));
}

#[test]
fn no_code_source_fails_at_once_and_names_the_sources() {
    let h = Home::new();
    let start = Instant::now();
    let out = h
        .mfacli()
        .env_remove("MFACLI_TOTP_SECRET")
        .args(["env", "prod"])
        .assert()
        .code(1);
    assert!(start.elapsed() < Duration::from_secs(5));
    let err = stderr(out.get_output());
    for source in [
        "--token-code",
        "MFACLI_TOKEN_CODE",
        "MFACLI_TOTP_SECRET",
        "mfa_command",
    ] {
        assert!(err.contains(source), "{err}");
    }
    assert_eq!(h.emu().count_all("GetSessionToken"), 0);

    // Without --non-interactive and without a controlling terminal (setsid).
    if have("setsid") {
        let mut setsid = h.command("setsid");
        setsid
            .env_remove("MFACLI_TOTP_SECRET")
            .env_remove("MFACLI_NON_INTERACTIVE")
            .args(["--wait", env!("CARGO_BIN_EXE_mfacli"), "env", "prod"])
            .stdin(std::process::Stdio::null());
        let out = setsid.run_bounded().unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr(&out).contains("no terminal"), "{}", stderr(&out));
    }
}

#[test]
fn token_code_flag_and_env_are_validated_before_sts() {
    let h = Home::new();
    let out = h
        .mfacli()
        .args(["env", "prod", "--token-code", "12345"])
        .assert()
        .code(2);
    assert!(stderr(out.get_output()).contains("--token-code"));
    let out = h
        .mfacli()
        .env_remove("MFACLI_TOTP_SECRET")
        .env("MFACLI_TOKEN_CODE", "abc")
        .args(["env", "prod"])
        .assert()
        .code(1);
    assert!(stderr(out.get_output()).contains("MFACLI_TOKEN_CODE"));
    assert_eq!(h.emu().requests().len(), 0, "nothing reached STS");

    let code = h.code(0);
    h.mfacli()
        .env_remove("MFACLI_TOTP_SECRET")
        .args(["env", "prod", "--token-code", &code])
        .assert()
        .success();
    assert_eq!(h.counts(), (1, 1));
}

#[test]
fn sts_errors_come_with_hints_and_no_secrets() {
    // Wrong MFA code.
    let h = Home::new();
    let right = [h.code(-1), h.code(0), h.code(1)];
    let wrong = (0..)
        .map(|i| format!("{:06}", (i * 7919) % 1_000_000))
        .find(|c| !right.contains(c))
        .unwrap();
    let out = h
        .mfacli()
        .env_remove("MFACLI_TOTP_SECRET")
        .args(["env", "prod", "--token-code", &wrong])
        .assert()
        .code(1);
    let err = stderr(out.get_output());
    assert!(
        err.contains("AccessDenied") && err.contains("MFA code was rejected"),
        "{err}"
    );
    assert!(!err.contains(ALICE_SECRET));

    // An MFA serial that is not the user's device: no code can fix that.
    h.write_config(&CONFIG.replace("mfa/alice", "mfa/bob"));
    let out = h
        .mfacli()
        .args(["env", "prod", "--no-cache"])
        .assert()
        .code(1);
    let err = stderr(out.get_output());
    assert!(
        err.contains("unable to validate MFA code") && err.contains("check mfa_serial"),
        "{err}"
    );
    assert!(
        !err.contains("retrying"),
        "a wrong serial is not retried: {err}"
    );
    h.write_config(CONFIG);

    // Untrusting role: AssumeRole denied.
    let out = h.mfacli().args(["env", "untrusting"]).assert().code(1);
    let err = stderr(out.get_output());
    assert!(
        err.contains("AssumeRole") && err.contains("trust policy"),
        "{err}"
    );

    // Wrong secret.
    let h = Home::with_credentials(&format!("[bastion]\naws_access_key_id = {ALICE_KEY}\naws_secret_access_key = wrongSECRETwrongSECRETwrongSECRET00000000\n"));
    let out = h.mfacli().args(["env", "prod"]).assert().code(1);
    let err = stderr(out.get_output());
    assert!(
        err.contains("SignatureDoesNotMatch") && err.contains("secret access key"),
        "{err}"
    );
    assert!(!err.contains("wrongSECRET"), "the secret is never printed");

    // Unknown key.
    let h = Home::with_credentials("[bastion]\naws_access_key_id = AKIAUNKNOWN000000000\naws_secret_access_key = whatever0000000000000000000000000000000\n");
    let out = h.mfacli().args(["env", "prod"]).assert().code(1);
    let err = stderr(out.get_output());
    assert!(
        err.contains("InvalidClientTokenId") && err.contains("deleted"),
        "{err}"
    );

    // Missing keys: names the file and section.
    let h = Home::with_credentials("[other]\naws_access_key_id = X\n");
    let out = h.mfacli().args(["env", "prod"]).assert().code(1);
    let err = stderr(out.get_output());
    assert!(
        err.contains("[bastion]") && err.contains(".aws/credentials"),
        "{err}"
    );
}

#[test]
fn revoked_session_is_dropped_and_replaced_once() {
    let h = Home::new();
    h.mfacli().args(["env", "prod"]).assert().success();
    h.emu().expire_all_sessions();
    // The next code must be a fresh step: pass the next step's code.
    let next = h.code(1);
    let out = h
        .mfacli()
        .env_remove("MFACLI_TOTP_SECRET")
        .args(["-v", "env", "staging", "--token-code", &next])
        .assert()
        .success();
    let err = stderr(out.get_output());
    assert!(
        err.contains("STS rejected the cached MFA session (ExpiredToken); dropping it"),
        "{err}"
    );
    assert_eq!(h.counts(), (2, 2));
    assert_eq!(
        h.emu().count_all("AssumeRole"),
        3,
        "one failed with ExpiredToken, retried once"
    );
}

#[test]
fn long_role_sessions_use_the_long_term_keys_with_mfa() {
    let h = Home::new();
    let out = h.mfacli().args(["-v", "env", "long"]).assert().success();
    let err = stderr(out.get_output());
    assert!(err.contains("> 1h"), "{err}");
    assert_eq!(h.counts(), (0, 1), "no MFA session for a direct AssumeRole");
    let r = h
        .emu()
        .requests()
        .into_iter()
        .find(|r| r.action == "AssumeRole")
        .unwrap();
    assert!(r.token_code_sent);
    assert_eq!(r.duration_seconds, Some(7200));
    assert_eq!(r.access_key_id.as_deref(), Some(ALICE_KEY));

    // Above the role's MaxSessionDuration: STS's ValidationError, with a hint.
    let mut cfg = CONFIG.to_owned();
    cfg.push_str("\n[targets.audit-long]\nrole_arn = \"arn:aws:iam::444444444444:role/Auditor\"\nexternal_id = \"audit-42\"\nduration = \"2h\"\n");
    h.write_config(&cfg);
    let out = h.mfacli().args(["env", "audit-long"]).assert().code(1);
    let err = stderr(out.get_output());
    assert!(
        err.contains("ValidationError")
            && err.contains("MaxSessionDuration")
            && err.contains("duration"),
        "{err}"
    );
}

#[test]
fn external_id_is_sent() {
    let h = Home::new();
    h.mfacli()
        .args(["credential-process", "audit"])
        .assert()
        .success();
    assert_eq!(h.counts(), (1, 1));
}

#[test]
fn list_clear_and_whoami() {
    let h = Home::new();
    let out = h.mfacli().args(["list"]).assert().success();
    let text = stdout(out.get_output());
    assert!(text.contains("MFA session: none cached"), "{text}");
    h.mfacli().args(["env", "prod"]).assert().success();

    let text = stdout(h.mfacli().args(["list"]).assert().success().get_output());
    let prod = text.lines().find(|l| l.starts_with("prod ")).unwrap();
    assert!(
        prod.contains("arn:aws:iam::222222222222:role/PowerUser") && prod.contains("left"),
        "{text}"
    );
    let staging = text.lines().find(|l| l.starts_with("staging ")).unwrap();
    assert!(staging.trim_end().ends_with('-'), "{text}");
    assert!(
        text.contains(&format!("MFA session: {SERIAL}: ")) && text.contains("11h"),
        "{text}"
    );

    let v = json(&stdout(
        h.mfacli()
            .args(["list", "--json"])
            .assert()
            .success()
            .get_output(),
    ));
    assert_eq!(v["targets"].as_array().unwrap().len(), 5);
    assert!(v["mfa_sessions"][0]["seconds_left"].as_i64().unwrap() > 40_000);

    let who = stdout(
        h.mfacli()
            .args(["whoami", "prod"])
            .assert()
            .success()
            .get_output(),
    );
    assert!(
        who.contains(&format!("Arn:     {PROD_ROLE_SESSION}")),
        "{who}"
    );
    assert!(who.contains("Account: 222222222222"));
    let who = json(&stdout(
        h.mfacli()
            .args(["whoami", "prod", "--json"])
            .assert()
            .success()
            .get_output(),
    ));
    assert_eq!(who["Arn"], PROD_ROLE_SESSION);

    h.mfacli().args(["clear", "prod"]).assert().success();
    let text = stdout(h.mfacli().args(["list"]).assert().success().get_output());
    assert!(
        text.lines()
            .find(|l| l.starts_with("prod "))
            .unwrap()
            .trim_end()
            .ends_with('-'),
        "{text}"
    );
    assert!(
        text.contains("11h"),
        "the MFA session survives `clear prod`"
    );
    h.mfacli().args(["clear", "--all"]).assert().success();
    let text = stdout(h.mfacli().args(["list"]).assert().success().get_output());
    assert!(text.contains("MFA session: none cached"), "{text}");

    let out = h.mfacli().args(["clear", "prd"]).assert().code(1);
    let err = stderr(out.get_output());
    assert!(
        err.contains("did you mean 'prod'")
            && err.contains("known targets: audit, long, prod, staging, untrusting"),
        "{err}"
    );
}

#[test]
fn assume_summary_and_write_profile() {
    let h = Home::new();
    let out = h.mfacli().args(["assume", "prod"]).assert().success();
    let text = stdout(out.get_output());
    assert!(text.starts_with("Credentials for prod (new)"), "{text}");
    assert!(
        text.contains("account   222222222222") && text.contains("role      PowerUser"),
        "{text}"
    );
    assert!(
        text.contains("(in 59m") || text.contains("(in 1h"),
        "{text}"
    );
    assert!(!text.contains("ASIA"), "no secrets in the summary");

    let exports = stdout(
        h.mfacli()
            .args(["assume", "prod", "--export", "--shell", "bash"])
            .assert()
            .success()
            .get_output(),
    );
    assert!(exports.starts_with("export AWS_ACCESS_KEY_ID='ASIA"));

    let creds = h.path().join(".aws/credentials");
    let before = std::fs::read_to_string(&creds).unwrap();
    h.mfacli()
        .args(["assume", "prod", "--write-profile", "prod-temp"])
        .assert()
        .success();
    let after = std::fs::read_to_string(&creds).unwrap();
    assert!(
        after.starts_with(&before),
        "other sections and comments kept:\n{after}"
    );
    assert!(
        after.contains("[prod-temp]\n# managed by mfacli")
            && after.contains("aws_session_token = ")
            && after.contains("expiration = ")
    );
    assert_eq!(mode(&creds), 0o600);
    h.mfacli()
        .args(["assume", "prod", "--write-profile", "prod-temp"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(&creds)
            .unwrap()
            .matches("[prod-temp]")
            .count(),
        1
    );

    let out = h
        .mfacli()
        .args(["assume", "prod", "--write-profile", "bastion"])
        .assert()
        .code(1);
    assert!(stderr(out.get_output()).contains("long-term keys"));
    std::fs::write(&creds, format!("{after}\n[mine]\nx = 1\n")).unwrap();
    let out = h
        .mfacli()
        .args(["assume", "prod", "--write-profile", "mine"])
        .assert()
        .code(1);
    assert!(stderr(out.get_output()).contains("--force"));
    h.mfacli()
        .args(["assume", "prod", "--write-profile", "mine", "--force"])
        .assert()
        .success();
    // The file, not just the exit status: [mine] is now mfacli's section,
    // its old key is gone, and everything before it is unchanged.
    let forced = std::fs::read_to_string(&creds).unwrap();
    let (kept, mine) = forced.split_at(forced.find("[mine]\n").expect("[mine] is there"));
    assert_eq!(kept, format!("{after}\n"));
    assert!(
        mine.starts_with("[mine]\n# managed by mfacli")
            && mine.contains("\naws_session_token = ")
            && !mine.contains("x = 1"),
        "{mine}"
    );
    // --force replaced [mine] with the role credentials, once, and kept
    // every other section (the long-term keys above all).
    let text = std::fs::read_to_string(&creds).unwrap();
    assert_eq!(text.matches("[mine]").count(), 1, "{text}");
    let mine = text.split("[mine]").nth(1).unwrap();
    let mine = mine.split("\n[").next().unwrap();
    assert!(!mine.contains("x = 1"), "{text}");
    assert!(mine.contains("aws_access_key_id = ASIA"), "{text}");
    assert!(mine.contains("aws_session_token = "), "{text}");
    assert!(text.contains(ALICE_SECRET), "the bastion keys stay: {text}");
    assert_eq!(text.matches("[prod-temp]").count(), 1, "{text}");
    let v = json(&stdout(
        h.mfacli()
            .args(["assume", "prod", "--json"])
            .assert()
            .success()
            .get_output(),
    ));
    assert_eq!(v["account"], "222222222222");
    assert_eq!(v["from_cache"], true);
    assert!(v.get("secret_access_key").is_none());
}

#[test]
fn thirty_two_parallel_processes_make_one_sts_call_each() {
    let h = Home::new();
    let children: Vec<_> = (0..32)
        .map(|_| {
            let mut c = h.std_mfacli();
            c.args(["env", "prod", "--shell", "bash"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for o in &outputs {
        assert!(o.status.success(), "{}", stderr(o));
    }
    let first = stdout(&outputs[0]);
    assert!(
        outputs.iter().all(|o| stdout(o) == first),
        "identical credentials for all 32"
    );
    assert_eq!(h.counts(), (1, 1));
    assert_eq!(
        h.emu().count_all("GetSessionToken") + h.emu().count_all("AssumeRole"),
        2
    );
}

#[test]
fn a_killed_lock_holder_does_not_block_the_next_process() {
    let h = Home::new();
    h.mfacli().args(["env", "staging"]).assert().success(); // MFA session cached
    h.emu().inject(
        sts_emulator::Fault::Latency(Duration::from_secs(20)),
        Some(1),
    );
    let mut holder = h
        .std_mfacli()
        .args(["env", "prod"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until it holds the role lock (it then sits in AssumeRole, which
    // the emulator delays by 20 s): our own try_lock must fail.
    let deadline = Instant::now() + Duration::from_secs(20);
    let held = loop {
        let mut lock = None;
        if h.cache_dir().exists() {
            walk(&h.cache_dir(), &mut |p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                if name.starts_with("role-prod-") && name.ends_with(".lock") {
                    lock = Some(p.to_owned());
                }
            });
        }
        if let Some(lock) = lock {
            let f = std::fs::OpenOptions::new().write(true).open(&lock).unwrap();
            if matches!(
                fs4::FileExt::try_lock(&f),
                Err(fs4::TryLockError::WouldBlock)
            ) {
                break true;
            }
        }
        if Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(held, "the first process never took the role lock");
    holder.kill().unwrap(); // SIGKILL
    holder.wait().unwrap();
    h.emu().clear_faults();
    let start = Instant::now();
    h.mfacli()
        .args(["--lock-timeout", "10s", "env", "prod"])
        .assert()
        .success();
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "not blocked by the dead holder"
    );
}

#[test]
fn unreadable_cache_entries_are_misses_and_get_replaced() {
    let h = Home::new();
    h.mfacli().args(["env", "prod"]).assert().success();
    let mut role_file = None;
    walk(&h.cache_dir(), &mut |p| {
        if p.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("role-prod-")
            && p.extension().is_some_and(|e| e == "json")
        {
            role_file = Some(p.to_owned());
        }
    });
    let role_file = role_file.expect("role cache file");
    std::fs::write(&role_file, b"\x00\xffgarbage").unwrap();
    h.mfacli().args(["env", "prod"]).assert().success();
    assert_eq!(
        h.counts(),
        (1, 2),
        "garbage is a miss: one more AssumeRole, same MFA session"
    );
    json(&std::fs::read_to_string(&role_file).unwrap());
}

#[test]
fn unwritable_cache_still_returns_credentials() {
    let h = Home::new();
    let blocker = h.path().join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    let out = h
        .mfacli()
        .env("MFACLI_CACHE_DIR", blocker.join("mfacli"))
        .env_remove("MFACLI_TOTP_SECRET")
        .args(["credential-process", "prod", "--token-code", &h.code(0)])
        .assert()
        .success();
    let o = out.get_output();
    json(&stdout(o));
    let err = stderr(o);
    assert_eq!(
        err.matches("could not be cached").count(),
        1,
        "one warning: {err}"
    );
}

#[test]
fn no_cache_and_refresh() {
    let h = Home::new();
    h.mfacli().args(["env", "prod"]).assert().success();
    h.mfacli()
        .args(["--refresh", "env", "prod"])
        .assert()
        .success();
    assert_eq!(
        h.counts(),
        (1, 2),
        "--refresh: new role credentials, same MFA session"
    );
    h.mfacli()
        .args(["env", "prod", "--no-cache", "--token-code", &h.code(1)])
        .env_remove("MFACLI_TOTP_SECRET")
        .assert()
        .success();
    assert_eq!(
        h.counts(),
        (2, 3),
        "--no-cache: nothing read from the cache"
    );
}

/// A user with an existing AWS CLI setup needs no mfacli config: role
/// profiles in the AWS config file are targets, read from the files the
/// AWS_* variables name.
#[test]
fn aws_config_profiles_are_targets_without_an_mfacli_config() {
    let h = Home::new();
    std::fs::remove_file(h.path().join(".config/mfacli/config.toml")).unwrap();
    let elsewhere = h.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::rename(h.path().join(".aws/credentials"), elsewhere.join("creds")).unwrap();
    std::fs::write(
        elsewhere.join("config"),
        "[profile bastion]\nregion = eu-west-1\n\n\
         [profile prod]\nrole_arn = arn:aws:iam::222222222222:role/PowerUser\nsource_profile = bastion\n\
         mfa_serial = arn:aws:iam::111111111111:mfa/alice\nduration_seconds = 3600\n\
         role_session_name = alice-cli\nregion = ap-southeast-2\n\n\
         [profile audit]\nrole_arn = arn:aws:iam::444444444444:role/Auditor\nsource_profile = bastion\n\
         mfa_serial = arn:aws:iam::111111111111:mfa/alice\nexternal_id = audit-42\n",
    )
    .unwrap();
    let mfacli = || {
        let mut c = h.mfacli();
        c.env("AWS_SHARED_CREDENTIALS_FILE", elsewhere.join("creds"))
            .env("AWS_CONFIG_FILE", elsewhere.join("config"));
        c
    };
    let env = stdout(
        mfacli()
            .args(["env", "prod", "--shell", "bash"])
            .assert()
            .success()
            .get_output(),
    );
    assert!(env.contains("export AWS_REGION='ap-southeast-2'"), "{env}");
    mfacli().args(["env", "audit"]).assert().success();
    assert_eq!(h.counts(), (1, 2));
    let who = stdout(
        mfacli()
            .args(["whoami", "prod"])
            .assert()
            .success()
            .get_output(),
    );
    assert!(who.contains("assumed-role/PowerUser/alice-cli"), "{who}");
    let list = stdout(mfacli().args(["list"]).assert().success().get_output());
    assert!(
        list.lines()
            .any(|l| l.starts_with("prod ") && l.contains("aws config")),
        "{list}"
    );

    // With an mfacli config, its [targets.prod] wins over the profile.
    h.write_config(CONFIG);
    let who = stdout(
        mfacli()
            .args(["whoami", "prod"])
            .assert()
            .success()
            .get_output(),
    );
    assert!(
        who.contains("assumed-role/PowerUser/alice\n")
            || who.trim_end().ends_with("assumed-role/PowerUser/alice"),
        "{who}"
    );
}

/// `mfa_command` (e.g. ykman) is a code source; its failure is explained.
#[test]
fn mfa_command_supplies_the_code() {
    let h = Home::new();
    let code_file = h.path().join("code");
    std::fs::write(&code_file, format!("Touch your key...\n{}\n", h.code(0))).unwrap();
    h.write_config(&CONFIG.replace(
        "[bastion]",
        &format!("[bastion]\nmfa_command = \"cat {}\"", code_file.display()),
    ));
    let out = h
        .mfacli()
        .env_remove("MFACLI_TOTP_SECRET")
        .args(["-v", "env", "prod"])
        .assert()
        .success();
    let err = stderr(out.get_output());
    assert!(err.contains("MFA code from [bastion] mfa_command"), "{err}");
    assert_eq!(h.counts(), (1, 1));

    h.write_config(&CONFIG.replace("[bastion]", "[bastion]\nmfa_command = \"exit 3\""));
    let out = h
        .mfacli()
        .env_remove("MFACLI_TOTP_SECRET")
        .args(["env", "staging", "--no-cache"])
        .assert()
        .code(1);
    let err = stderr(out.get_output());
    // The command is never echoed (it may hold a seed): issue 12, item 15.
    assert!(
        err.contains("mfa_command failed (exit status: 3)") && !err.contains("exit 3"),
        "{err}"
    );
    h.write_config(&CONFIG.replace(
        "[bastion]",
        "[bastion]\nmfa_command = \"echo no code here\"",
    ));
    let out = h
        .mfacli()
        .env_remove("MFACLI_TOTP_SECRET")
        .args(["env", "staging", "--no-cache"])
        .assert()
        .code(1);
    assert!(stderr(out.get_output()).contains("did not print a 6-digit code"));
}

/// flag > environment > mfacli config > AWS files, for the bastion profile,
/// the endpoint and the exported region.
#[test]
fn precedence_flag_over_environment_over_config() {
    let h = Home::new();
    let dead = "http://127.0.0.1:1";
    let emu = h.emu().endpoint_url();

    // Bastion profile: config says "bastion"; MFACLI_PROFILE beats it; --profile beats both.
    let out = h
        .mfacli()
        .env("MFACLI_PROFILE", "missing")
        .args(["env", "prod"])
        .assert()
        .code(1);
    assert!(stderr(out.get_output()).contains("profile 'missing'"));
    h.mfacli()
        .env("MFACLI_PROFILE", "missing")
        .args(["--profile", "bastion", "env", "prod"])
        .assert()
        .success();
    let out = h
        .mfacli()
        .args(["--profile", "other", "env", "prod", "--refresh"])
        .assert()
        .code(1);
    assert!(stderr(out.get_output()).contains("profile 'other'"));

    // Endpoint: --endpoint-url > AWS_ENDPOINT_URL_STS > AWS_ENDPOINT_URL.
    h.mfacli()
        .env("AWS_ENDPOINT_URL_STS", dead)
        .args(["--refresh", "--endpoint-url", &emu, "env", "staging"])
        .assert()
        .success();
    h.mfacli()
        .env("AWS_ENDPOINT_URL", dead)
        .args(["--refresh", "env", "staging"])
        .assert()
        .success();
    h.mfacli()
        .env_remove("AWS_ENDPOINT_URL_STS")
        .env("AWS_ENDPOINT_URL", &emu)
        .args(["--refresh", "env", "staging"])
        .assert()
        .success();
    let out = h
        .mfacli()
        .env_remove("AWS_ENDPOINT_URL_STS")
        .env("AWS_ENDPOINT_URL", dead)
        .args(["--refresh", "env", "staging"])
        .assert()
        .code(1);
    assert!(stderr(out.get_output()).contains(dead));

    // Exported region: --region > the target's region > [bastion] region.
    let env = |args: &[&str]| stdout(h.mfacli().args(args).assert().success().get_output());
    assert!(env(&["env", "prod", "--shell", "bash"]).contains("AWS_REGION='eu-central-1'"));
    assert!(env(&["env", "staging", "--shell", "bash"]).contains("AWS_REGION='eu-west-1'"));
    assert!(
        env(&["--region", "us-west-2", "env", "prod", "--shell", "bash"])
            .contains("AWS_REGION='us-west-2'")
    );
}

#[test]
fn man_page_completions_and_usage() {
    let h = Home::new();
    let man = stdout(h.mfacli().arg("man").assert().success().get_output());
    assert!(
        man.contains(".TH mfacli 1") && man.contains("credential\\-process"),
        "{}",
        &man[..200.min(man.len())]
    );
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = stdout(
            h.mfacli()
                .args(["completions", shell])
                .assert()
                .success()
                .get_output(),
        );
        // The registration of the dynamic completion (`COMPLETE=SHELL mfacli`).
        assert!(
            out.contains("COMPLETE") && out.contains("mfacli"),
            "{shell}: {out}"
        );
    }
    h.mfacli().assert().code(2);
    h.mfacli().arg("frobnicate").assert().code(2);
    let help = stdout(
        h.mfacli()
            .args(["env", "--help"])
            .assert()
            .success()
            .get_output(),
    );
    assert!(
        help.contains("Examples:") && help.contains("eval \"$(mfacli env prod)\""),
        "{help}"
    );
}
