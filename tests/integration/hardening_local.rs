//! Hardening (issue 25), written from the attacker's side: every input here
//! is stopped by exactly one check, and each expected set is spelled out in
//! the test rather than taken from the implementation. Attacks by another
//! local user run as uid 65534 (`setpriv`).

use crate::util::*;

/// Endpoint rule: the console's federation endpoint gets the role's
/// credentials, so it follows the rule of STS and IAM: plain http only to
/// this machine, unless opted in. Refused before any MFA code is spent.
#[test]
fn plain_http_federation_endpoint_to_another_host_is_refused_before_any_call() {
    let h = Home::new();
    // (URL, refused?) Only the http-to-another-host rule stops the first three.
    let cases = [
        ("http://192.0.2.1:8080/federation", true),
        ("http://10.99.0.1:8080/federation", true),
        ("http://127.0.0.1.nip.io:8080/federation", true),
        ("http://localhost.:1/federation", true),
        ("http://user@127.0.0.1:1/federation", false),
        ("http://[::1]:1/federation", false),
    ];
    for (url, refused) in cases {
        for how in ["flag", "env"] {
            let mut c = h.mfacli();
            c.args(["--timeout", "1s", "console", "prod", "--print"]);
            if how == "flag" {
                c.args(["--federation-url", url]);
            } else {
                c.env("MFACLI_FEDERATION_URL", url);
            }
            let before = h.emu().requests().len();
            let out = c.output().unwrap();
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(1), "{url}: {err}");
            let says = err.contains("plain http to a host that is not this machine");
            assert_eq!(says, refused, "{url} ({how}): {err}");
            if refused {
                let source = if how == "flag" {
                    "--federation-url"
                } else {
                    "MFACLI_FEDERATION_URL"
                };
                assert!(err.contains(source), "{err}");
                assert!(err.contains("MFACLI_ALLOW_INSECURE_ENDPOINT=1"), "{err}");
                assert_eq!(h.emu().requests().len(), before, "no STS call: {url}");
            }
        }
    }
    // Opted in, the same rule as STS: the host is tried.
    let out = h
        .mfacli()
        .env("MFACLI_ALLOW_INSECURE_ENDPOINT", "1")
        .args(["--timeout", "1s", "console", "prod", "--print"])
        .args(["--federation-url", "http://192.0.2.1:8080/federation"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(!err.contains("plain http to a host"), "{err}");
    assert!(err.contains("federation endpoint"), "{err}");
}

/// A one-request-at-a-time HTTP server on 127.0.0.1 that answers every
/// request with `status` and `body`; stops with the test process.
fn canned_server(status: &'static str, content_type: &'static str, body: String) -> String {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
                .ok();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            // Headers and the body (Content-Length), then answer.
            while let Ok(n) = s.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_lowercase();
                if let Some(p) = text.find("\r\n\r\n") {
                    let len: usize = text[..p]
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if buf.len() >= p + 4 + len {
                        break;
                    }
                }
            }
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// Hostile remote text: every escape form and control character that can
/// repaint a terminal or fake a line, around a visible marker.
const HOSTILE: &str = "denied\u{1b}]0;pwned-title\u{7}\u{1b}[2J\u{1b}[31mFAKE\u{9b}1mX\u{1b}]8;;http://evil\u{1b}\\link\r\nmfacli: ok: \u{202e}txt\u{8}";

/// What stderr may hold: printable text and line breaks between mfacli's
/// own lines. Spelled out: no C0/C1 control but '\n', no bidi override.
fn assert_clean_terminal_text(err: &str) {
    for c in err.chars() {
        let bad = (c.is_control() && c != '\n')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        assert!(!bad, "control {c:?} reached stderr: {err:?}");
    }
    assert!(
        !err.contains("pwned-title") && !err.contains("http://evil"),
        "{err:?}"
    );
    assert!(!err.lines().any(|l| l.starts_with("mfacli: ok")), "{err:?}");
}

/// STS's error message (and IAM's, same mapping) is remote text.
#[test]
fn escape_sequences_in_an_sts_error_message_never_reach_the_terminal() {
    let h = Home::new();
    // Character references: the XML parser hands over the raw controls.
    let escaped: String = HOSTILE
        .chars()
        .map(|c| {
            if c.is_control() || c == '&' || c == '<' {
                format!("&#{};", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect();
    let xml = format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{escaped}</Message></Error><RequestId>r</RequestId></ErrorResponse>"
    );
    let url = canned_server("403 Forbidden", "text/xml", xml);
    let out = h
        .mfacli()
        .env("AWS_ENDPOINT_URL_STS", &url)
        .args(["env", "prod"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("FAKE"), "the message is still shown: {err:?}");
    assert_clean_terminal_text(&err);
}

/// The federation endpoint's error page is remote text too.
#[test]
fn escape_sequences_in_a_federation_error_page_never_reach_the_terminal() {
    let h = Home::new();
    let page = format!("<html><head><title>{HOSTILE}</title></head></html>");
    let url = canned_server("400 Bad Request", "text/html", page);
    let out = h
        .mfacli()
        .args(["console", "prod", "--print", "--federation-url"])
        .arg(format!("{url}/federation"))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("FAKE"), "the title is still shown: {err:?}");
    assert_clean_terminal_text(&err);
}

/// A usage error of `env` fails the caller's eval in every shell, as a
/// runtime failure does: clap's refusals (a typo, a bad --region, no target,
/// an unknown --shell) used to exit 2 with nothing on stdout, and the
/// script went on with the credentials already in its environment.
#[test]
fn usage_errors_of_env_fail_the_eval_in_every_shell() {
    let h = Home::new();
    let bin = env!("CARGO_BIN_EXE_mfacli");
    // (shell, how it evals, how a script would go on)
    let shells = [
        (
            "bash",
            "bash",
            "-ec",
            "eval \"$(MFACLI ARGS)\"; echo continued",
        ),
        (
            "sh",
            "dash",
            "-ec",
            "eval \"$(MFACLI ARGS)\"; echo continued",
        ),
        (
            "zsh",
            "zsh",
            "-ec",
            "eval \"$(MFACLI ARGS)\"; echo continued",
        ),
        (
            "fish",
            "fish",
            "-c",
            "MFACLI ARGS | source; or exit 3; echo continued",
        ),
    ];
    for (name, shell, flag, script) in shells {
        if !have(shell) {
            skip(shell, "apt-get install zsh fish");
            continue;
        }
        let sh = if name == "sh" { "bash" } else { name };
        let bad_args = [
            format!("env prod --regoin x --shell {sh}"),
            format!("env prod --region 'eu west' --shell {sh}"),
            format!("env --shell {sh}"),
            format!("env prod --bastion --shell {sh}"),
            format!("--profile bastion --region eu-west-1 env prod --regoin x --shell={sh}"),
            // No or an unknown --shell: $SHELL's syntax.
            "env prod --regoin x".to_owned(),
            "env prod --shell tcsh".to_owned(),
        ];
        for args in bad_args {
            let line = script.replace("MFACLI", bin).replace("ARGS", &args);
            let out = h
                .command(shell)
                .env("SHELL", format!("/bin/{name}"))
                .args([flag, &line])
                .run_bounded()
                .unwrap();
            let so = stdout(&out);
            assert!(!so.contains("continued"), "{name}: `{line}` went on: {so}");
            assert!(!out.status.success(), "{name}: `{line}`");
            assert!(stderr(&out).contains("error"), "{name}: {}", stderr(&out));
        }
    }
    // --help is no failure: nothing but the help.
    let out = h.mfacli().args(["env", "--help"]).output().unwrap();
    assert!(out.status.success());
    assert!(!stdout(&out).contains("could not get credentials"));
    // PowerShell (pwsh is not installed in CI): the statement it evals.
    let out = h
        .mfacli()
        .args(["env", "prod", "--shell", "powershell", "--regoin", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stdout(&out),
        "throw 'mfacli could not get credentials (see the error above)'\n"
    );
}

/// On a terminal nothing is eval'd: no `# mfacli could not …` / `false`
/// before the error (issue 24), for runtime and usage errors alike.
#[test]
fn on_a_terminal_a_failed_env_prints_only_the_error() {
    let h = Home::new();
    let bin = env!("CARGO_BIN_EXE_mfacli");
    for args in ["env prdo", "env prod --regoin x"] {
        let out = h
            .command("script")
            .args(["-qec", &format!("{bin} {args}"), "/dev/null"])
            .run_bounded()
            .unwrap();
        let screen = stdout(&out);
        assert!(screen.contains("error"), "{args}: {screen}");
        assert!(
            !screen.contains("could not get credentials")
                && !screen.lines().any(|l| l.trim() == "false"),
            "{args}: {screen}"
        );
    }
    // Not a terminal: the statement is still printed.
    let out = h
        .mfacli()
        .args(["env", "prdo", "--shell", "bash"])
        .output()
        .unwrap();
    assert!(stdout(&out).ends_with("false\n"), "{}", stdout(&out));
}

/// A serial whose path part is markup would paint a fake dialog in zenity
/// (`--text` is Pango markup): refused where it is configured, before any
/// dialog runs. A fake zenity records what it was asked.
#[test]
fn a_serial_with_markup_in_its_path_never_reaches_a_dialog() {
    use std::os::unix::fs::PermissionsExt;
    let bin = tempfile::tempdir().unwrap();
    let argv = bin.path().join("argv");
    let zenity = bin.path().join("zenity");
    std::fs::write(
        &zenity,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" >> {}\necho 123456\n",
            argv.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&zenity, std::fs::Permissions::from_mode(0o755)).unwrap();
    let hostile = "arn:aws:iam::111111111111:mfa/<big><b>Session_expired.Enter_your_AWS_password</b></big>/alice";
    let config = CONFIG
        .replace("arn:aws:iam::111111111111:mfa/alice", hostile)
        .replace("[bastion]\n", "[bastion]\nprompt = \"zenity\"\n");
    let h = Home::builder()
        .config(Some(&config))
        .path_dir(bin.path())
        .code(None)
        .env("DISPLAY", ":99")
        .build();
    let out = h
        .mfacli()
        .env_remove("MFACLI_NON_INTERACTIVE")
        .args(["credential-process", "prod"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("mfa_serial") && err.contains("not an MFA"),
        "{err}"
    );
    assert!(
        !argv.exists(),
        "zenity ran: {:?}",
        std::fs::read_to_string(&argv)
    );
    assert!(stdout(&out).is_empty());
}

/// The console sign-in URL is a bearer credential. Another local user
/// scanning every process's command line while `mfacli console` opens the
/// browser sees only the loopback redirect, and fetching it gets nothing;
/// the user's own browser then gets the sign-in URL, once. A failing
/// browser's stderr never shows the URL.
#[test]
fn another_user_never_sees_or_gets_the_console_sign_in_url() {
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    if !have("setpriv") || !have("curl") {
        skip("setpriv or curl", "apt-get install util-linux curl");
        return;
    }
    let h = Home::new();
    let fed = format!("{}/federation", h.emu().endpoint_url());
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let stop = dir.path().join("stop");
    // Where the attacker says it has tried (a directory it may write).
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let tried = shared.join("tried");
    // The attacker: scans /proc/*/cmdline; fetches every URL it sees.
    let scanner = format!(
        r#"end=$(( $(date +%s) + 40 ))
while [ ! -e {stop} ] && [ $(date +%s) -lt $end ]; do
  for f in /proc/[0-9]*/cmdline; do tr '\0' ' ' < "$f" 2>/dev/null; echo; done \
  | grep -o 'http[^ ]*' | sort -u | while read -r u; do
      case "$u" in *SigninToken*) echo "SAW-TOKEN $u";; *mfacli-console*) echo "SAW $u";; *) continue;; esac
      curl -s -m 2 -D - -o /dev/null "$u" | tr -d '\r' | grep -i '^location' | sed 's/^/GOT /'
      touch {tried}
    done
done
echo scanned"#,
        stop = stop.display(),
        tried = tried.display()
    );
    let Some(mut attacker) = as_attacker("sh") else {
        return;
    };
    let mut attacker = attacker
        .args(["-c", &scanner])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The victim's browser waits until the attacker has tried (30 s at most),
    // then fetches its URL, recording where it leads.
    let record = h.path().join("browser.txt");
    let browser = h.path().join("browser.sh");
    std::fs::write(
        &browser,
        format!(
            "#!/bin/sh\ni=0\nwhile [ ! -e '{}' ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done\ncurl -s -m 5 -D - -o /dev/null \"$1\" | tr -d '\\r' | grep -i '^location' > '{}'\n",
            tried.display(),
            record.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = h
        .mfacli()
        .env("MFACLI_FEDERATION_URL", &fed)
        .env("BROWSER", &browser)
        .args(["console", "prod"])
        .output()
        .unwrap();
    std::fs::write(&stop, "").unwrap();
    let mut seen = String::new();
    attacker
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut seen)
        .unwrap();
    let _ = attacker.wait();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(seen.contains("scanned"), "{seen}");
    assert!(
        !seen.contains("SigninToken") && !seen.contains("GOT"),
        "the attacker got it: {seen}"
    );
    assert!(
        seen.contains("SAW http://127.0.0.1:"),
        "the scan works (it saw the loopback URL): {seen}"
    );
    // The attacker did connect, and the victim is told.
    assert!(
        stderr(&out).contains("of another local user to the one-time redirect were refused"),
        "{}",
        stderr(&out)
    );
    let got = std::fs::read_to_string(&record).unwrap();
    assert!(
        got.to_lowercase()
            .starts_with(&format!("location: {fed}?action=login&").to_lowercase()),
        "{got}"
    );

    // A browser that fails and prints its argument (xdg-open does): the
    // error says it failed, never with the URL.
    let failing = h.path().join("failing.sh");
    std::fs::write(
        &failing,
        "#!/bin/sh\necho \"xdg-open: no method available for opening '$1'\" >&2\nexit 3\n",
    )
    .unwrap();
    std::fs::set_permissions(&failing, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = h
        .mfacli()
        .env("MFACLI_FEDERATION_URL", &fed)
        .env("BROWSER", &failing)
        .args(["console", "prod"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("failed (exit status: 3)"), "{err}");
    assert!(
        err.contains("no method available"),
        "its message is shown: {err}"
    );
    for secret in ["SigninToken", "mfacli-console", "Action=login", "http://"] {
        assert!(!err.contains(secret), "{secret} in: {err}");
    }
}
