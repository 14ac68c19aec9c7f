//! The MFA prompt through a real terminal: tmux runs bash, zsh or fish in
//! a pty; the test types into it (`send-keys`) and reads the screen
//! (`capture-pane`). The prompt, a typed code (with a space, as apps show
//! it), malformed and rejected codes asked again, Ctrl-C (terminal
//! restored, 130), Ctrl-D, under `eval "$(…)"` and under the AWS CLI's
//! credential_process.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::*;

pub(crate) struct Tmux {
    socket: PathBuf,
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .status();
    }
}

/// What counts as the terminal being broken: any of these in `stty -a`.
const STTY_CHECK_POSIX: &str =
    r#"echo "bad=$(stty -a | tr ' ;' '\n\n' | grep -c -x -e -echo -e -icanon -e -isig)""#;
const STTY_CHECK_FISH: &str =
    r#"echo "bad="(stty -a | tr ' ;' '\n\n' | grep -c -x -e -echo -e -icanon -e -isig)"#;

impl Tmux {
    /// `shell` in a fresh tmux server (its own socket), with HOME's
    /// environment minus the non-interactive and TOTP settings, so mfacli
    /// prompts; mfacli (and the venv's `aws`, if given) on PATH.
    pub(crate) fn start(h: &Home, shell: &str, venv: Option<&std::path::Path>) -> Option<Self> {
        if !have("tmux") || !have(shell) {
            return None;
        }
        let socket = h.path().join("tmux.sock");
        let bin = PathBuf::from(env!("CARGO_BIN_EXE_mfacli"));
        let mut path = vec![bin.parent().unwrap().to_owned()];
        path.extend(venv.map(|v| v.join("bin")));
        path.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        let argv: &[&str] = match shell {
            "bash" => &["bash", "--norc", "--noprofile"],
            "zsh" => &["zsh", "-f"],
            _ => &["fish", "--no-config"],
        };
        let ok = h
            .command("tmux")
            .env_remove("MFACLI_NON_INTERACTIVE")
            .env_remove("MFACLI_TOTP_SECRET")
            .env("PATH", std::env::join_paths(path).unwrap())
            .env("TERM", "xterm")
            .env("SHELL", format!("/bin/{shell}"))
            .env("PS1", "$ ")
            .arg("-S")
            .arg(&socket)
            .args([
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "200",
                "-y",
                "50",
            ])
            .args(argv)
            .status()
            .unwrap()
            .success();
        assert!(ok, "tmux new-session failed");
        let t = Tmux { socket };
        // Let the shell draw its first prompt.
        std::thread::sleep(Duration::from_millis(500));
        Some(t)
    }

    fn tmux(&self) -> Command {
        let mut c = Command::new("tmux");
        c.arg("-S").arg(&self.socket);
        c
    }

    /// Types `text` literally, then Enter.
    pub(crate) fn type_line(&self, text: &str) {
        assert!(self
            .tmux()
            .args(["send-keys", "-l", text])
            .status()
            .unwrap()
            .success());
        self.key("Enter");
    }

    /// Presses a key (tmux names: Enter, C-c, C-d).
    fn key(&self, key: &str) {
        assert!(self
            .tmux()
            .args(["send-keys", key])
            .status()
            .unwrap()
            .success());
    }

    pub(crate) fn screen(&self) -> String {
        let out = self
            .tmux()
            .args(["capture-pane", "-p", "-S", "-200"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen shows `text` `n` times; returns the screen.
    fn wait_for_n(&self, text: &str, n: usize) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.matches(text).count() >= n {
                return s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "waited 30 s for {text:?} (x{n}); the screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub(crate) fn wait_for(&self, text: &str) -> String {
        self.wait_for_n(text, 1)
    }
}

/// A 6-digit code that STS will reject now.
fn wrong_code(h: &Home) -> String {
    let near: Vec<String> = (-2..=2).map(|s| h.code(s)).collect();
    (0..)
        .map(|n| format!("{:06}", 111_111 * (n % 9 + 1)))
        .find(|c| !near.contains(c))
        .unwrap()
}

/// "123456" as an authenticator app shows it: "123 456".
fn spaced(code: &str) -> String {
    format!("{} {}", &code[..3], &code[3..])
}

/// A typed code under `eval "$(mfacli env prod)"`: a malformed one is asked
/// again, a rejected one too, and `123 456` is accepted. The terminal is
/// as it was afterwards.
#[test]
fn typed_codes_under_eval_in_bash_and_zsh() {
    for sh in ["bash", "zsh"] {
        let h = Home::new();
        let Some(t) = Tmux::start(&h, sh, None) else {
            continue;
        };
        t.type_line(r#"eval "$(mfacli env prod)"; echo "rc=$? region=$AWS_REGION""#);
        t.wait_for("MFA code for arn:aws:iam::111111111111:mfa/alice:");
        t.type_line("12345");
        t.wait_for("an MFA code is exactly 6 digits; try again");
        t.type_line(&wrong_code(&h));
        t.wait_for("STS rejected that code");
        // The re-ask comes right after that line, in a write of its own.
        let s = t.wait_for_n("MFA code for", 3);
        assert_eq!(s.matches("MFA code for").count(), 3, "{sh}:\n{s}");
        t.type_line(&spaced(&h.code(0)));
        let s = t.wait_for("rc=0 region=eu-central-1");
        // Nothing typed was echoed.
        assert!(!s.contains("12345"), "{sh}: echo was on:\n{s}");
        assert_eq!(h.emu().count_all("GetSessionToken"), 2, "{sh}");
        assert_eq!(h.counts(), (1, 1), "{sh}");
        t.type_line(STTY_CHECK_POSIX);
        t.wait_for("bad=0");
    }
}

/// Three rejected codes end the run with STS's error, and the eval fails.
#[test]
fn three_rejected_codes_end_the_run() {
    let h = Home::new();
    let Some(t) = Tmux::start(&h, "bash", None) else {
        return;
    };
    t.type_line(r#"eval "$(mfacli env prod)"; echo "rc=$?""#);
    for n in 1..=3 {
        t.wait_for_n("MFA code for", n);
        t.type_line(&wrong_code(&h));
    }
    let s = t.wait_for("rc=1");
    assert!(s.contains("invalid MFA one time pass code"), "{s}");
    assert_eq!(h.emu().count_all("GetSessionToken"), 3);
}

/// Ctrl-C at the prompt: the terminal comes back with echo, icanon and
/// isig on, and the shell sees 130.
#[test]
fn ctrl_c_at_the_prompt_restores_the_terminal() {
    for sh in ["bash", "zsh", "fish"] {
        let h = Home::new();
        let Some(t) = Tmux::start(&h, sh, None) else {
            continue;
        };
        eprintln!("shell: {sh}");
        let (run, status, check) = if sh == "fish" {
            (
                "mfacli env prod --shell fish | source",
                r#"echo "rc=$pipestatus[1]""#,
                STTY_CHECK_FISH,
            )
        } else {
            (
                r#"eval "$(mfacli env prod)""#,
                r#"echo "rc=$?""#,
                STTY_CHECK_POSIX,
            )
        };
        t.type_line(run);
        t.wait_for("MFA code for");
        t.key("C-c");
        std::thread::sleep(Duration::from_millis(300));
        t.type_line(status);
        // mfacli dies of the SIGINT (130, checked below without eval);
        // what `eval "$(…)"` reports is the shell's: bash and zsh say 130,
        // zsh sometimes 1 when the SIGINT lands while it reads the output.
        // Either way the eval failed. ("rc=1" matches both.)
        let s = t.wait_for("rc=1");
        assert!(s.contains("rc=130") || s.contains("rc=1\n"), "{sh}:\n{s}");
        t.type_line(check);
        t.wait_for("bad=0");
        // And the direct form, not under eval.
        if sh != "fish" {
            t.type_line("mfacli env prod >/dev/null");
            t.wait_for_n("MFA code for", 2);
            t.key("C-c");
            std::thread::sleep(Duration::from_millis(300));
            t.type_line(r#"echo "direct=$?""#);
            t.wait_for("direct=130");
            t.type_line(check);
            t.wait_for_n("bad=0", 2);
        }
        assert_eq!(h.emu().requests().len(), 0, "{sh}");
    }
}

/// Ctrl-D at the prompt: a clean error, exit 1, the eval fails.
#[test]
fn ctrl_d_at_the_prompt_is_a_clean_error() {
    let h = Home::new();
    let Some(t) = Tmux::start(&h, "bash", None) else {
        return;
    };
    t.type_line(r#"eval "$(mfacli env prod)"; echo "rc=$?""#);
    t.wait_for("MFA code for");
    t.key("C-d");
    let s = t.wait_for("rc=1");
    assert!(
        s.contains("error: no MFA code entered (end of input at the prompt)"),
        "{s}"
    );
    t.type_line(STTY_CHECK_POSIX);
    t.wait_for("bad=0");
}

/// The AWS CLI runs mfacli as its credential_process; the prompt reaches
/// the terminal through /dev/tty, and Ctrl-C leaves the terminal intact.
#[test]
fn prompt_under_the_aws_cli_credential_process() {
    let venv = std::env::var_os("MFACLI_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv"));
    if !venv.join("bin/aws").is_file() {
        assert!(
            std::env::var_os("CI").is_none(),
            "the test venv with the AWS CLI is required in CI"
        );
        eprintln!("skipped: no AWS CLI in {}", venv.display());
        return;
    }
    let h = Home::new();
    std::fs::write(
        h.path().join(".aws/config"),
        format!(
            "[profile prodcp]\ncredential_process = {} credential-process prod\nregion = eu-central-1\n",
            env!("CARGO_BIN_EXE_mfacli")
        ),
    )
    .unwrap();
    let Some(t) = Tmux::start(&h, "bash", Some(&venv)) else {
        return;
    };
    let aws = format!(
        "aws --profile prodcp --endpoint-url {} sts get-caller-identity --output text; echo \"rc=$?\"",
        h.emu().endpoint_url()
    );
    t.type_line(&aws);
    t.wait_for("MFA code for");
    t.key("C-c");
    std::thread::sleep(Duration::from_millis(500));
    t.type_line(STTY_CHECK_POSIX);
    t.wait_for("bad=0");
    t.type_line("clear");
    std::thread::sleep(Duration::from_millis(300));
    t.type_line(&aws);
    t.wait_for("MFA code for");
    t.type_line(&spaced(&h.code(0)));
    let s = t.wait_for("rc=0");
    assert!(s.contains("assumed-role/PowerUser/alice"), "{s}");
    assert_eq!(h.counts(), (1, 1));
}

/// Ctrl-D echoes nothing, so the error used to follow the prompt on its
/// line; it starts a line of its own.
#[test]
fn ctrl_d_error_starts_its_own_line() {
    let h = Home::new();
    let Some(t) = Tmux::start(&h, "bash", None) else {
        return;
    };
    t.type_line(r#"mfacli env prod >/dev/null; echo "rc=$?""#);
    t.wait_for("MFA code for");
    t.key("C-d");
    let s = t.wait_for("rc=1");
    assert!(
        s.lines()
            .any(|l| l.starts_with("mfacli: error: no MFA code entered")),
        "{s}"
    );
}

/// A wrong TOTP seed on a terminal: the first rejected code ends the run
/// with a hint at the seed, instead of minutes of retries meant for CI.
/// (The deadline retry without a terminal is ci.rs's.)
#[test]
fn a_wrong_seed_on_a_terminal_fails_at_once() {
    let h = Home::new();
    let Some(t) = Tmux::start(&h, "bash", None) else {
        return;
    };
    let wrong = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    t.type_line(&format!(
        r#"MFACLI_TOTP_SECRET={wrong} mfacli env prod >/dev/null; echo "rc=$?""#
    ));
    let s = t.wait_for("rc=1");
    assert!(
        s.contains("STS rejected the TOTP code for arn:aws:iam::111111111111:mfa/alice"),
        "{s}"
    );
    assert!(s.contains("may be wrong"), "{s}");
    assert!(!s.contains("waiting"), "{s}");
    assert_eq!(h.emu().count_all("GetSessionToken"), 1);
}

/// Completion as installed, in real interactive bash, zsh and fish: the
/// one line each shell's rc file gets (no bash-completion package), then
/// Tab. A target name completes; `mfacli <Tab>` lists the commands but
/// not the hidden `__complete-targets`, and `mfacli --<Tab>` not --debug.
#[test]
fn tab_completes_targets_and_hides_internals_in_bash_zsh_fish() {
    for sh in ["bash", "zsh", "fish"] {
        let h = Home::new();
        let Some(t) = Tmux::start(&h, sh, None) else {
            continue;
        };
        eprintln!("shell: {sh}");
        t.type_line(match sh {
            "bash" => "source <(COMPLETE=bash mfacli)",
            "zsh" => "autoload -U compinit && compinit -u && source <(COMPLETE=zsh mfacli)",
            _ => "COMPLETE=fish mfacli | source",
        });
        t.type_line("echo loaded");
        t.wait_for_n("loaded", 2);
        // A target: one candidate, completed in place.
        type_text(&t, "mfacli env pr");
        t.key("Tab");
        t.wait_for("mfacli env prod");
        t.key("C-c");
        std::thread::sleep(Duration::from_millis(500));
        // The commands: a list with credential-process, no hidden one.
        type_text(&t, "mfacli ");
        t.key("Tab");
        if sh == "bash" {
            t.key("Tab");
        }
        let s = t.wait_for("credential-process");
        assert!(!s.contains("__complete-targets"), "{sh}:\n{s}");
        t.key("C-c");
        std::thread::sleep(Duration::from_millis(500));
        type_text(&t, "mfacli --");
        t.key("Tab");
        if sh == "bash" {
            t.key("Tab");
        }
        let s = t.wait_for("--verbose");
        assert!(!s.contains("--debug"), "{sh}:\n{s}");
        t.key("C-c");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Types `text` literally, without Enter.
fn type_text(t: &Tmux, text: &str) {
    assert!(t
        .tmux()
        .args(["send-keys", "-l", text])
        .status()
        .unwrap()
        .success());
}

/// `keys add` on a terminal: the key id is shown, the secret is not; Ctrl-C
/// at the secret leaves the terminal as it was (130) and stores nothing.
#[test]
fn keys_add_on_the_terminal_hides_the_secret_and_ctrl_c_restores_it() {
    if !crate::keyring::kernel_keyring() {
        return;
    }
    // The kernel keyring is the user's: a profile name of this test's own.
    let profile = format!("kr-tty-{}", std::process::id());
    let h = Home::builder().env("MFACLI_KEYRING", "keyutils").build();
    let Some(t) = Tmux::start(&h, "bash", None) else {
        return;
    };
    t.type_line(&format!(
        "mfacli keys add --profile {profile}; echo \"rc=$?\""
    ));
    t.wait_for("AWS access key id:");
    t.type_line(ALICE_KEY);
    t.wait_for("AWS secret access key (not shown):");
    t.type_line(ALICE_SECRET);
    // The command line shows "rc=" once; its output is the second.
    let s = t.wait_for_n("rc=", 2);
    assert!(s.contains("rc=0"), "{s}");
    assert!(
        s.contains(&format!("stored the key of profile '{profile}'")),
        "{s}"
    );
    assert!(!s.contains(ALICE_SECRET), "the secret was echoed:\n{s}");

    t.type_line(&format!("mfacli keys add --profile {profile}-2"));
    t.wait_for_n("AWS access key id:", 2);
    t.type_line(ALICE_KEY);
    t.wait_for_n("(not shown):", 2);
    t.key("C-c");
    std::thread::sleep(Duration::from_millis(300));
    t.type_line(r#"echo "rc2=$?""#);
    t.wait_for("rc2=130");
    t.type_line(STTY_CHECK_POSIX);
    t.wait_for("bad=0");

    let mut rm = h.mfacli();
    rm.args(["keys", "remove", "--profile", &profile])
        .assert()
        .success();
    let mut none = h.mfacli();
    none.args(["keys", "remove", "--profile", &format!("{profile}-2")])
        .assert()
        .failure();
}
