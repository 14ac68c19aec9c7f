//! `[bastion] prompt` for programs without a terminal: `credential-process`
//! started with no controlling terminal (setsid, stdin /dev/null) asks in a
//! real zenity dialog on a private Xvfb display; xdotool types into it.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::*;

/// Kills (and reaps) the process on drop, so a failing test leaves nothing.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Xvfb on a display it picks itself (`-displayfd`).
fn xvfb() -> (Killed, String) {
    let mut child = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "800x600x24",
            "-nolisten",
            "tcp",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let n = line.trim();
    assert!(!n.is_empty(), "Xvfb printed no display number");
    (Killed(child), format!(":{n}"))
}

fn xdotool(display: &str, args: &[&str]) -> std::process::Output {
    Command::new("xdotool")
        .env("DISPLAY", display)
        .args(args)
        .output()
        .unwrap()
}

/// The zenity window titled "mfacli", waited for up to 20 s.
fn dialog(display: &str) -> String {
    let start = Instant::now();
    loop {
        let o = xdotool(display, &["search", "--name", "^mfacli$"]);
        if let Some(id) = stdout(&o).lines().next() {
            return id.to_owned();
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no zenity window appeared"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `mfacli credential-process prod` in a new session (no controlling
/// terminal), stdin /dev/null, no TOTP seed and prompting allowed.
fn credential_process(h: &Home, display: &str) -> Killed {
    let mut c = h.std_mfacli();
    c.env_remove("MFACLI_NON_INTERACTIVE")
        .env_remove("MFACLI_TOTP_SECRET")
        .env("DISPLAY", display)
        .args(["credential-process", "prod"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setsid is async-signal-safe; it detaches from the terminal.
    unsafe {
        c.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    Killed(c.spawn().unwrap())
}

fn finish(mut p: Killed) -> (std::process::ExitStatus, String, String) {
    let start = Instant::now();
    let status = loop {
        if let Some(s) = p.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "credential-process did not finish"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut out = String::new();
    let mut err = String::new();
    use std::io::Read;
    p.0.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    p.0.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    (status, out, err)
}

#[test]
fn zenity_asks_a_program_without_a_terminal() {
    if !(have("Xvfb") && have("zenity") && have("xdotool")) {
        return;
    }
    let (_x, display) = xvfb();
    let h = Home::new();

    // Typed code + Return: the credentials come back, one GetSessionToken.
    let p = credential_process(&h, &display);
    let win = dialog(&display);
    let o = xdotool(&display, &["windowfocus", "--sync", &win]);
    assert!(o.status.success(), "{}", stderr(&o));
    let code = h.code(0);
    let o = xdotool(&display, &["type", "--delay", "20", &code]);
    assert!(o.status.success(), "{}", stderr(&o));
    xdotool(&display, &["key", "Return"]);
    let (status, out, err) = finish(p);
    assert!(status.success(), "{err}");
    let creds = json(&out);
    assert_eq!(creds["Version"], 1);
    assert!(creds["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    assert!(!err.contains(&code), "the code leaked: {err}");
    assert_eq!(h.counts(), (1, 1));

    // A cancelled dialog is a clear error and no STS call.
    let h = Home::new();
    let p = credential_process(&h, &display);
    let win = dialog(&display);
    xdotool(&display, &["windowfocus", "--sync", &win]);
    xdotool(&display, &["key", "Escape"]);
    let (status, out, err) = finish(p);
    assert_eq!(status.code(), Some(1), "{err}");
    assert_eq!(out, "");
    assert!(err.contains("the zenity MFA dialog was cancelled"), "{err}");
    assert_eq!(h.counts(), (0, 0));
}

#[test]
fn no_terminal_and_no_dialog_is_a_clear_error() {
    let h = Home::new();
    let mut c = h.std_mfacli();
    c.env_remove("MFACLI_NON_INTERACTIVE")
        .env_remove("MFACLI_TOTP_SECRET")
        // No DISPLAY, and a PATH without any dialog helper.
        .env("PATH", "/nonexistent")
        .args(["credential-process", "prod"])
        .stdin(Stdio::null());
    // SAFETY: as above.
    unsafe {
        c.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("no terminal to ask on and no dialog helper"),
        "{err}"
    );
    assert!(err.contains("mfa_command"), "{err}");
    assert!(err.contains("prompt = terminal | zenity"), "{err}");
    assert_eq!(h.counts(), (0, 0));
}

#[test]
fn prompt_key_is_checked() {
    let h = Home::new();
    h.write_config(&CONFIG.replace(
        "region = \"eu-west-1\"\n",
        "region = \"eu-west-1\"\nprompt = \"dialog\"\n",
    ));
    let o = h
        .mfacli()
        .args(["credential-process", "prod"])
        .assert()
        .failure();
    let err = stderr(o.get_output());
    assert!(err.contains("[bastion] prompt"), "{err}");
    assert!(
        err.contains("terminal, zenity, kdialog, osascript"),
        "{err}"
    );
}
