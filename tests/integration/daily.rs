//! The daily flow in real conditions: dead sessions that heal, failures
//! that an `eval` sees, the small things a newcomer trips over.

use std::net::SocketAddr;

use sts_emulator::{Emulator, World};

use crate::util::*;

/// Restart the emulator on the same port: it forgets every session, as
/// STS forgets a revoked one (InvalidClientTokenId).
fn restart(h: &mut Home) {
    let addr = SocketAddr::from(([127, 0, 0, 1], h.emu().port()));
    let placeholder = Emulator::start(World::demo()).unwrap();
    drop(std::mem::replace(h.emu_mut(), placeholder));
    *h.emu_mut() = Emulator::start_on(World::demo(), addr).unwrap();
}

#[test]
fn a_session_sts_forgot_heals_and_doctor_reports_it() {
    let mut h = Home::new();
    h.mfacli().args(["env", "prod"]).assert().success();
    assert_eq!(h.counts(), (1, 1));
    restart(&mut h);

    let out = h.mfacli().args(["doctor"]).output().unwrap();
    let text = stdout(&out);
    assert!(
        text.contains("is rejected by STS: InvalidClientTokenId"),
        "{text}"
    );
    assert!(text.contains("mfacli clear --all"), "{text}");
    assert_eq!(
        h.emu().count_all("GetSessionToken"),
        0,
        "doctor spends no code"
    );

    let out = h
        .mfacli()
        .args(["-v", "env", "prod", "--refresh"])
        .assert()
        .success();
    let err = stderr(out.get_output());
    assert!(
        err.contains("STS rejected the cached MFA session (InvalidClientTokenId); dropping it"),
        "{err}"
    );
    assert_eq!(h.emu().count("GetSessionToken"), 1);
    assert_eq!(
        h.emu().count_all("AssumeRole"),
        2,
        "one rejected, one retried"
    );
    // Healed: the new session is cached and accepted.
    h.mfacli().args(["env", "staging"]).assert().success();
    assert_eq!(h.counts(), (1, 2));
    let out = h.mfacli().args(["doctor"]).output().unwrap();
    assert!(
        !stdout(&out).contains("rejected by STS"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_revoked_session_heals_with_one_new_code() {
    let h = Home::new();
    h.mfacli().args(["env", "prod"]).assert().success();
    h.emu().expire_all_sessions();
    let out = h.mfacli().args(["doctor"]).output().unwrap();
    assert!(
        stdout(&out).contains("is rejected by STS: ExpiredToken"),
        "{}",
        stdout(&out)
    );
    h.mfacli().args(["env", "staging"]).assert().success();
    assert_eq!(h.counts(), (2, 2));
}

fn shell(h: &Home, program: &str, args: &[&str]) -> std::process::Output {
    let mut c = assert_cmd::Command::from_std(h.command(program));
    c.env("MFACLI", env!("CARGO_BIN_EXE_mfacli"))
        .args(args)
        .timeout(std::time::Duration::from_secs(60));
    c.output().unwrap()
}

/// `bash -ec 'eval "$(mfacli env prdo)"; echo continued'` printed
/// "continued" and exited 0; now the eval fails, so `set -e` stops there.
#[test]
fn a_failing_env_fails_the_eval_in_bash_and_zsh() {
    let h = Home::new();
    for sh in ["bash", "zsh"] {
        if !have(sh) {
            continue;
        }
        for cmd in [
            "env prdo",
            "assume prdo --export",
            "env prod --profile nosuch",
        ] {
            let o = shell(
                &h,
                sh,
                &[
                    "-ec",
                    &format!(r#"eval "$("$MFACLI" {cmd})"; echo continued"#),
                ],
            );
            assert!(!o.status.success(), "{sh} {cmd}: {o:?}");
            assert!(!stdout(&o).contains("continued"), "{sh} {cmd}: {o:?}");
            assert!(stderr(&o).contains("error:"), "{sh} {cmd}: {o:?}");
        }
        // Without -e (an interactive shell) only the eval fails: the shell
        // goes on, with $? = 1.
        let o = shell(
            &h,
            sh,
            &[
                "-c",
                r#"eval "$("$MFACLI" env prdo)"; echo "still here $?""#,
            ],
        );
        assert_eq!(stdout(&o), "still here 1\n", "{sh}: {o:?}");
        // Success still works, and sets the variables.
        let o = shell(
            &h,
            sh,
            &[
                "-ec",
                r#"eval "$("$MFACLI" env prod)"; echo "ok $AWS_REGION""#,
            ],
        );
        assert_eq!(stdout(&o), "ok eu-central-1\n", "{sh}: {o:?}");
    }
}

#[test]
fn a_failing_env_fails_the_source_in_fish() {
    let h = Home::new();
    if !have("fish") {
        return;
    }
    let o = shell(
        &h,
        "fish",
        &[
            "-c",
            r#"$MFACLI env prdo --shell fish | source; or echo "failed $status"; echo still"#,
        ],
    );
    assert_eq!(stdout(&o), "failed 1\nstill\n", "{o:?}");
    let o = shell(
        &h,
        "fish",
        &[
            "-c",
            r#"$MFACLI env prod --shell fish | source; and echo "ok $AWS_REGION""#,
        ],
    );
    assert_eq!(stdout(&o), "ok eu-central-1\n", "{o:?}");
}

#[test]
fn powershell_gets_a_throw_on_failure() {
    let h = Home::new();
    let out = h
        .mfacli()
        .args(["env", "prdo", "--shell", "powershell"])
        .assert()
        .failure();
    assert_eq!(
        stdout(out.get_output()),
        "throw 'mfacli could not get credentials (see the error above)'\n"
    );
}

#[test]
fn region_typos_are_clear_errors() {
    let h = Home::new();
    let out = h
        .mfacli()
        .args(["env", "prod", "--region", "eu west"])
        .assert()
        .code(2);
    let err = stderr(out.get_output());
    assert!(
        err.contains("'eu west' is not a region name (like eu-west-1); did you mean 'eu-west-1'?"),
        "{err}"
    );
    assert!(!err.contains("nterceptor"), "{err}");
    h.write_config(&CONFIG.replace("region = \"eu-central-1\"", "region = \"eu-cetnral-1\""));
    let out = h.mfacli().args(["env", "staging"]).assert().code(1);
    let err = stderr(out.get_output());
    assert!(
        err.contains("[targets.prod] region: 'eu-cetnral-1' is not a known region; did you mean 'eu-central-1'?"),
        "{err}"
    );
    assert_eq!(h.emu().requests().len(), 0);
}

/// `mfacli env prod` straight to a terminal: the exports, and a hint on
/// stderr to eval them.
#[test]
fn env_to_a_terminal_hints_at_eval() {
    let h = Home::new();
    if !have("script") {
        return;
    }
    let o = shell(
        &h,
        "script",
        &["-qec", "\"$MFACLI\" env prod 2>&1", "/dev/null"],
    );
    let text = stdout(&o);
    assert!(o.status.success(), "{o:?}");
    assert!(text.contains("export AWS_ACCESS_KEY_ID="), "{text}");
    assert!(
        text.contains("to set them in this shell run: eval \"$(mfacli env prod)\""),
        "{text}"
    );
    // Not when captured.
    let out = h.mfacli().args(["env", "prod"]).assert().success();
    assert!(stderr(out.get_output()).is_empty());
}

/// `role-arn = …` drops a required key: the error says which key was
/// meant; doctor keeps the bastion profile instead of falling back to
/// `default`.
#[test]
fn config_key_typo_gets_a_did_you_mean_and_doctor_stays_on_topic() {
    let h = Home::new();
    h.write_config(&CONFIG.replacen("role_arn = ", "role-arn = ", 1));
    let out = h.mfacli().args(["env", "prod"]).assert().code(1);
    let err = stderr(out.get_output());
    assert!(
        err.contains("[targets.prod] needs either role_arn")
            && err.contains(
                "unknown key 'role-arn' in [targets.prod] (ignored); did you mean 'role_arn'?"
            ),
        "{err}"
    );
    let o = h.mfacli().args(["doctor"]).output().unwrap();
    let text = stdout(&o);
    assert!(text.contains("did you mean 'role_arn'?"), "{text}");
    assert!(
        text.contains("ok     bastion keys: profile 'bastion'"),
        "{text}"
    );
    assert!(!text.contains("'default'"), "{text}");
    assert!(!text.contains("none defined"), "{text}");
}

#[test]
fn a_wrong_profile_name_gets_a_suggestion() {
    let h = Home::new();
    let out = h
        .mfacli()
        .args(["env", "prod", "--profile", "bastoin"])
        .assert()
        .code(1);
    let err = stderr(out.get_output());
    assert!(
        err.contains("no long-term keys for profile 'bastoin'")
            && err.contains("did you mean 'bastion'? (profiles with keys: bastion)"),
        "{err}"
    );
}

/// The README promises exit code 2 for a bad flag value.
#[test]
fn bad_values_exit_2() {
    let h = Home::new();
    for args in [
        &["policy", "trust", "--bastion-account", "11111111111"][..],
        &[
            "policy",
            "trust",
            "--bastion-account",
            "111111111111",
            "--max-session",
            "40h",
        ],
        &["env", "prod", "--endpoint-url", "notaurl"],
        &["env", "prod", "--region", "eu west"],
        &["init", "--non-interactive", "--target", "prod=1:X"],
    ] {
        let out = h.mfacli().args(args).assert().code(2);
        let err = stderr(out.get_output());
        assert!(err.contains("error"), "{args:?}: {err}");
    }
    // A runtime failure stays 1.
    h.mfacli().args(["env", "prdo"]).assert().code(1);
}

#[test]
fn clear_without_a_target_mentions_all() {
    let h = Home::new();
    let out = h.mfacli().args(["clear"]).assert().code(2);
    assert!(
        stderr(out.get_output()).contains("mfacli clear <TARGET | --all>"),
        "{}",
        stderr(out.get_output())
    );
}

#[test]
fn target_typo_hint_agrees_with_its_did_you_mean() {
    let h = Home::new();
    let out = h.mfacli().args(["env", "prdo"]).assert().code(1);
    let err = stderr(out.get_output());
    assert!(
        err.contains("did you mean 'prod'?")
            && err.contains("hint: if you meant 'prod', use that name; to add a new target 'prdo', define it as [targets.prdo]"),
        "{err}"
    );
}

#[test]
fn totp_prints_only_the_code_on_stdout() {
    let h = Home::new();
    let out = h.mfacli().args(["totp"]).assert().success();
    let text = stdout(out.get_output());
    assert_eq!(text.len(), 7, "{text:?}");
    assert!(text[..6].bytes().all(|b| b.is_ascii_digit()), "{text:?}");
    assert!(stderr(out.get_output()).contains("s left in this step)"));
}

#[test]
fn signature_mismatch_hint_names_the_profile() {
    let h = Home::with_credentials(&format!(
        "[bastion]\naws_access_key_id = {ALICE_KEY}\naws_secret_access_key = wrongSECRET\n"
    ));
    let out = h.mfacli().args(["env", "prod"]).assert().code(1);
    let err = stderr(out.get_output());
    assert!(
        err.contains("SignatureDoesNotMatch") && err.contains("`aws configure --profile bastion`"),
        "{err}"
    );
}

/// Target names complete in bash, zsh and fish, from the config and the
/// AWS config, through clap's dynamic completion (`mfacli completions
/// SHELL` registers a function that runs `COMPLETE=SHELL mfacli -- WORDS`).
/// The shells' own completion functions are driven here; terminal.rs
/// presses Tab in real interactive shells.
#[test]
fn completions_complete_target_names() {
    let h = Home::new();
    let names = stdout(
        h.mfacli()
            .args(["__complete-targets"])
            .assert()
            .success()
            .get_output(),
    );
    assert_eq!(names, "audit\nlong\nprod\nstaging\nuntrusting\n");
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_mfacli"))
        .parent()
        .unwrap()
        .to_owned();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for sh in ["bash", "zsh", "fish"] {
        let script = h.path().join(format!("completion.{sh}"));
        let text = stdout(
            h.mfacli()
                .args(["completions", sh])
                .assert()
                .success()
                .get_output(),
        );
        std::fs::write(&script, text).unwrap();
        if !have(sh) {
            continue;
        }
        let (args, want): (Vec<String>, &str) = match sh {
            "bash" => (
                vec![
                    "-c".into(),
                    format!(
                        r#"source {s}
for line in "mfacli env p" "mfacli --profile bastion whoami s" "mfacli env --region eu-west-1 " "mfacli exec prod -- "; do
  read -ra COMP_WORDS <<<"$line"; [[ "$line" == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 )); COMPREPLY=()
  _clap_complete_mfacli mfacli "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
  echo "${{COMPREPLY[*]}}"
done"#,
                        s = script.display()
                    ),
                ],
                // Targets first; then the command's own flags (never the
                // hidden --debug, nor the shared ones, until `--pro` asks).
                "prod\nstaging\naudit long prod staging untrusting --bastion --verbose --shell",
            ),
            "zsh" => (
                vec![
                    "-fc".into(),
                    format!(
                        r#"autoload -U compinit && compinit -u -d {d}/zcompdump
source {s}
_describe() {{ print -l -- ${{(P)${{@[-1]}}}} }}
words=(mfacli env "") CURRENT=3
_clap_dynamic_completer_mfacli"#,
                        s = script.display(),
                        d = h.path().display()
                    ),
                ],
                "audit:mfacli config\nlong:mfacli config\nprod:mfacli config\nstaging:mfacli config\nuntrusting:mfacli config\n",
            ),
            _ => (
                vec![
                    "--no-config".into(),
                    "-c".into(),
                    format!(
                        r#"source {s}; complete -C "mfacli env pr"; complete -C "mfacli whoami "| string match -r '^\w+\t.*'"#,
                        s = script.display()
                    ),
                ],
                "prod\tmfacli config\naudit\tmfacli config\nlong\tmfacli config\nprod\tmfacli config\nstaging\tmfacli config\nuntrusting\tmfacli config\n",
            ),
        };
        let o = h
            .command(sh)
            .env("PATH", &path)
            .args(&args)
            .output()
            .unwrap();
        let got = stdout(&o);
        // bash's last case (the command after `--`) falls through to clap's
        // completion: only check the target cases.
        assert!(
            got.starts_with(want),
            "{sh}: {got:?} (stderr {})",
            stderr(&o)
        );
    }
}

/// A command's help is its own options and examples, and one line
/// naming the shared groups it takes; `mfacli help globals` lists those.
#[test]
fn subcommand_help_lists_its_own_flags_and_points_to_the_shared_ones() {
    let h = Home::new();
    let help = |args: &[&str]| stdout(h.mfacli().args(args).assert().success().get_output());
    let env = help(&["env", "--help"]);
    assert!(env.contains("--shell"), "{env}");
    assert!(!env.contains("--token-code"), "{env}");
    assert!(
        env.contains("Also takes the shared config, MFA, cache options: mfacli help globals"),
        "{env}"
    );
    // Its own options (the session-policy pair included) and examples: one
    // screen, where the 13 shared options made it 81 lines.
    assert!(env.contains("--policy-arn"), "{env}");
    assert!(env.lines().count() < 48, "{env}");
    let globals = help(&["help", "globals"]);
    for flag in ["--profile", "--token-code", "--refresh", "--mfa-deadline"] {
        assert!(globals.contains(flag), "{flag}: {globals}");
    }
    assert_eq!(help(&["globals"]).trim_end(), globals.trim_end());
    // Commands that read no config take no shared options.
    let policy = help(&["policy", "trust", "--help"]);
    assert!(!policy.contains("mfacli help globals"), "{policy}");
    let prompt = help(&["prompt", "--help"]);
    assert!(prompt.lines().count() <= 24, "{prompt}");
    assert!(!prompt.contains("mfacli help globals"), "{prompt}");
}

/// A shared option a command does not take is a usage error, after the
/// command's name (clap's) and before it (mfacli's); and before the name
/// it still works for a command that takes it.
#[test]
fn a_shared_option_a_command_does_not_use_is_a_usage_error() {
    let h = Home::new();
    for args in [
        &[
            "policy",
            "trust",
            "--bastion-account",
            "111111111111",
            "--token-code",
            "123456",
        ][..],
        &[
            "--token-code",
            "123456",
            "policy",
            "trust",
            "--bastion-account",
            "111111111111",
        ],
        &["list", "--token-code", "123456"],
        &["--refresh", "doctor"],
        &["man", "--profile", "x"],
        &["hook", "bash", "--no-cache"],
    ] {
        let o = h.mfacli().args(args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stdout(&o).is_empty(), "{args:?}");
    }
    let o = h
        .mfacli()
        .args(["--token-code", "123456", "policy", "bastion"])
        .output()
        .unwrap();
    assert!(
        stderr(&o).contains("this command does not take --token-code"),
        "{}",
        stderr(&o)
    );
    // Taken: before and after the name.
    for args in [
        &["--region", "eu-west-2", "env", "prod"][..],
        &["env", "prod", "--region", "eu-west-2"],
    ] {
        let o = h.mfacli().args(args).output().unwrap();
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        assert!(
            stdout(&o).contains("export AWS_REGION='eu-west-2'"),
            "{args:?}"
        );
    }
    // One session and one role; the second run is a cache hit.
    assert_eq!(h.emu().requests().len(), 2);
}

/// `mfacli man --dir` writes a page per command, with examples as written.
#[test]
fn man_dir_writes_a_page_per_command() {
    let h = Home::new();
    let dir = h.path().join("man1");
    let o = h
        .mfacli()
        .args(["man", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    for page in [
        "mfacli.1",
        "mfacli-env.1",
        "mfacli-policy-trust.1",
        "mfacli-mfa-add-virtual.1",
    ] {
        assert!(dir.join(page).is_file(), "{page}");
    }
    assert!(!dir.join("mfacli-help.1").exists());
    assert!(!dir.join("mfacli-__complete-targets.1").exists());
    let env = std::fs::read_to_string(dir.join("mfacli-env.1")).unwrap();
    for section in [
        ".SH EXAMPLES\n.nf\n",
        ".SH ENVIRONMENT",
        ".SH FILES",
        ".SH \"EXIT STATUS\"",
        ".SH OPTIONS",
    ] {
        assert!(env.contains(section), "{section}: {env}");
    }
    // The page lists the shared options the command takes.
    assert!(env.contains("\\-\\-token\\-code"), "{env}");
    assert!(env.contains("eval \"$(mfacli env prod)\""), "{env}");
    // mfacli.1 is the configuration reference the hints point to.
    let page = stdout(h.mfacli().arg("man").assert().success().get_output());
    for key in [
        ".SH CONFIGURATION",
        "mfa_deadline",
        "external_id",
        ".SH \"EXIT STATUS\"",
    ] {
        assert!(page.contains(key), "{key}");
    }
    h.write_config("[bastion\n");
    let o = h.mfacli().args(["env", "prod"]).output().unwrap();
    assert!(stderr(&o).contains("`man mfacli`"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("README"), "{}", stderr(&o));
    let top = std::fs::read_to_string(dir.join("mfacli.1")).unwrap();
    assert!(top.contains("\\fBmfacli\\-env\\fR(1)"), "{top}");
    if have("man") {
        let o = h
            .command("man")
            .args(["-l"])
            .arg(dir.join("mfacli-init.1"))
            .env("MANWIDTH", "80")
            .output()
            .unwrap();
        let text = stdout(&o);
        // The example's continuation lines stay as written, not reflowed.
        assert!(
            text.contains("  mfacli init --non-interactive --bastion-profile bastion \\\n"),
            "{text}"
        );
    }
}

/// The README's Install block works on an empty HOME (after its
/// `cargo install` line), and the man page names no missing pages.
#[test]
fn readme_install_block_works_on_a_fresh_home() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let install = readme.split("## Install").nth(1).unwrap();
    let block = install
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .unwrap();
    let script: String = block
        .lines()
        .filter(|l| !l.starts_with("cargo install"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(script.contains("mfacli man"), "{script}");
    let home = tempfile::tempdir().unwrap();
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_mfacli"))
        .parent()
        .unwrap()
        .to_owned();
    let o = std::process::Command::new("bash")
        .args(["-euc", &script])
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", format!("{}:/usr/bin:/bin", bin_dir.display()))
        .output()
        .unwrap();
    assert!(o.status.success(), "{script}\n{}", stderr(&o));
    // The completion files are the dynamic registration (a few lines that
    // ask `COMPLETE=SHELL mfacli` at each Tab).
    for f in [
        ".local/share/bash-completion/completions/mfacli",
        ".zfunc/_mfacli",
        ".config/fish/completions/mfacli.fish",
    ] {
        let text = std::fs::read_to_string(home.path().join(f)).unwrap_or_default();
        assert!(
            text.contains("COMPLETE=") && text.contains("mfacli"),
            "{f}: {text:?}"
        );
    }
    let len = std::fs::metadata(home.path().join(".local/share/man/man1/mfacli.1"))
        .map(|m| m.len())
        .unwrap_or(0);
    assert!(len > 1000, "mfacli.1: {len} bytes");
    let man_dir = home.path().join(".local/share/man/man1");
    let man = std::fs::read_to_string(man_dir.join("mfacli.1")).unwrap();
    // Every page it refers to was installed beside it.
    let refs: Vec<&str> = man
        .split("\\fBmfacli\\-")
        .skip(1)
        .filter_map(|r| r.split_once("\\fR(1)").map(|(name, _)| name))
        .collect();
    assert!(
        refs.len() > 10,
        "mfacli.1 names the command pages: {refs:?}"
    );
    for r in refs {
        let page = format!("mfacli-{}.1", r.replace("\\-", "-"));
        assert!(
            man_dir.join(&page).is_file(),
            "{page} is referred to, not installed"
        );
    }
    assert!(man.contains("\\fBmfacli credential\\-process\\fR"), "{man}");
}

/// The JSON key convention (README): mfacli's own documents snake_case,
/// AWS-shaped output PascalCase. Both stable.
#[test]
fn json_keys_follow_the_documented_convention() {
    let h = Home::new();
    let keys = |args: &[&str]| -> Vec<String> {
        let v = json(&stdout(
            h.mfacli().args(args).assert().success().get_output(),
        ));
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&["assume", "prod", "--json"]),
        [
            "access_key_id",
            "account",
            "assumed_role_arn",
            "expiration",
            "from_cache",
            "role",
            "role_arn",
            "seconds_left",
            "session_name",
            "target"
        ]
    );
    assert_eq!(keys(&["list", "--json"]), ["mfa_sessions", "targets"]);
    assert_eq!(
        keys(&["whoami", "prod", "--json"]),
        ["Account", "Arn", "UserId"]
    );
    assert_eq!(
        keys(&["credential-process", "prod"]),
        [
            "AccessKeyId",
            "Expiration",
            "SecretAccessKey",
            "SessionToken",
            "Version"
        ]
    );
}
