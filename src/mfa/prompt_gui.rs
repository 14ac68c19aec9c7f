//! MFA code dialogs for programs without a terminal: zenity, kdialog
//! (Linux desktops) and osascript (macOS). The code only ever travels on
//! the helper's stdout: the command line carries the question, never the
//! answer. Each dialog runs in its own process group with a clean
//! environment (display and locale variables only, so no AWS key or TOTP
//! seed reaches it), and is killed with its group after [`TIMEOUT`].

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::env::Env;
use crate::error::UserError;
use crate::mfa::prompt::PromptKind;
use crate::types::{MfaSerial, TokenCode};

/// How long a dialog waits for the person before it is closed.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(120);
/// The most a helper may print: a code is 6 digits.
const MAX_OUTPUT: u64 = 4096;
/// What a dialog helper may see of the environment.
const PASS_ENV: [&str; 10] = [
    "PATH",
    "HOME",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "XAUTHORITY",
    "XDG_RUNTIME_DIR",
    "DBUS_SESSION_BUS_ADDRESS",
    "LANG",
    "LC_ALL",
    "LC_MESSAGES",
];

/// Whether `kind` can be used by default: on PATH and, for the X11/Wayland
/// helpers, a display to show it on.
pub(crate) fn usable(kind: PromptKind, env: &Env) -> bool {
    let display = env.var_os("DISPLAY").is_some_and(|d| !d.is_empty())
        || env.var_os("WAYLAND_DISPLAY").is_some_and(|d| !d.is_empty());
    find(kind.name(), env).is_some() && (kind == PromptKind::Osascript || display)
}

/// `prog` on the snapshot's PATH.
fn find(prog: &str, env: &Env) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(env.var_os("PATH")?)
        .map(|d| d.join(prog))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Shows the dialog (again with the reason after a malformed entry, three
/// times at most) and returns the code typed.
pub(crate) fn ask(
    kind: PromptKind,
    serial: &MfaSerial,
    env: &Env,
    timeout: Duration,
) -> Result<TokenCode, UserError> {
    let name = kind.name();
    let program = find(name, env).ok_or_else(|| {
        UserError::new(format!(
            "[bastion] prompt = \"{name}\", but {name} is not on PATH"
        ))
        .hint(format!(
            "install {name}, or choose another: prompt = {}",
            PromptKind::NAMES.join(" | ")
        ))
    })?;
    let mut question = format!("MFA code for {serial}");
    for attempt in 0..3 {
        let mut cmd = Command::new(&program);
        cmd.args(arguments(kind, &question, timeout));
        let typed = run(cmd, env, name, timeout)?;
        let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
        if typed.is_empty() && kind == PromptKind::Osascript {
            // `giving up after` returns an empty answer.
            return Err(timed_out(name, timeout));
        }
        match typed.parse::<TokenCode>() {
            Ok(code) => return Ok(code),
            Err(e) if attempt < 2 => question = format!("{e}; try again.\nMFA code for {serial}"),
            Err(e) => return Err(UserError::new(format!("MFA code from {name}: {e}"))),
        }
    }
    unreachable!("the loop returns on its last attempt")
}

/// `text` for Pango markup (zenity's `--text`) and Qt rich text (kdialog's
/// label): a serial or a message can never add markup of its own.
fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn arguments(kind: PromptKind, question: &str, timeout: Duration) -> Vec<String> {
    match kind {
        PromptKind::Zenity => vec![
            "--entry".into(),
            "--hide-text".into(),
            "--title=mfacli".into(),
            format!("--text={}", escape_markup(question)),
            format!("--timeout={}", timeout.as_secs()),
        ],
        // Qt shows a label as rich text when it looks like markup; `<qt>`
        // makes that always so, and the escaped text can add none.
        PromptKind::Kdialog => vec![
            "--title".into(),
            "mfacli".into(),
            "--password".into(),
            format!("<qt>{}</qt>", escape_markup(question).replace('\n', "<br>")),
        ],
        PromptKind::Osascript => {
            let q = question.replace('\\', "\\\\").replace('"', "\\\"");
            vec![
                "-e".into(),
                format!(
                    "text returned of (display dialog \"{q}\" default answer \"\" with hidden answer with title \"mfacli\" giving up after {})",
                    timeout.as_secs()
                ),
            ]
        }
        PromptKind::Terminal => unreachable!("the terminal is not a dialog"),
    }
}

fn timed_out(name: &str, timeout: Duration) -> UserError {
    UserError::new(format!(
        "the {name} MFA dialog got no answer within {}s; closed it",
        timeout.as_secs()
    ))
    .hint("run the command again and type the code, or configure a TOTP seed or mfa_command")
}

/// Runs a dialog helper: stdin /dev/null, stderr discarded (GTK chatter),
/// stdout read up to [`MAX_OUTPUT`]; the process group is killed at the
/// deadline. Exit 1 is a cancelled dialog (all three helpers agree), 5 is
/// zenity's own timeout.
fn run(mut cmd: Command, env: &Env, name: &str, timeout: Duration) -> Result<String, UserError> {
    cmd.env_clear();
    for k in PASS_ENV {
        if let Some(v) = env.var_os(k) {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| UserError::new(format!("{name} could not be started: {e}")))?;
    let pgid = child.id() as libc::pid_t;
    let mut stdout = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = Read::by_ref(&mut stdout)
            .take(MAX_OUTPUT)
            .read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    let deadline = Instant::now() + timeout + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = child.try_wait().ok().flatten() {
            break status;
        }
        if Instant::now() >= deadline {
            // SAFETY: signals the process group we created; no memory involved.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
            let _ = child.wait();
            return Err(timed_out(name, timeout));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = rx.recv_timeout(Duration::from_secs(2)).unwrap_or_default();
    match status.code() {
        Some(0) => Ok(String::from_utf8_lossy(&out).into_owned()),
        Some(1) => Err(
            UserError::new(format!("the {name} MFA dialog was cancelled")).hint(
                "run the command again and type the code, or configure a TOTP seed or mfa_command",
            ),
        ),
        Some(5) if name == "zenity" => Err(timed_out(name, timeout)),
        _ => Err(UserError::new(format!("{name} failed ({status})"))
            .hint(format!("run `{name}` by hand to see why (is DISPLAY set?)"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialog_text_carries_no_markup_of_its_own() {
        let q = "MFA code for <span size=\"xx-large\">Password</span> & 'x'\nnext";
        let t = Duration::from_secs(5);
        let zenity = arguments(PromptKind::Zenity, q, t);
        assert_eq!(
            zenity[3],
            "--text=MFA code for &lt;span size=&quot;xx-large&quot;&gt;Password&lt;/span&gt; &amp; &#39;x&#39;\nnext"
        );
        let kdialog = arguments(PromptKind::Kdialog, q, t);
        assert_eq!(
            kdialog[3],
            "<qt>MFA code for &lt;span size=&quot;xx-large&quot;&gt;Password&lt;/span&gt; &amp; &#39;x&#39;<br>next</qt>"
        );
        let osa = arguments(PromptKind::Osascript, "a \"b\" \\ c", t);
        assert!(
            osa[1].starts_with("text returned of (display dialog \"a \\\"b\\\" \\\\ c\""),
            "{}",
            osa[1]
        );
    }
}
