//! Every way of handing credentials over: shell exports, credential_process
//! JSON and a human summary (a profile in ~/.aws/credentials is written by
//! `aws_files::editor`). Pure
//! functions of their inputs, so tests check exact text.

use std::fmt::Write as _;
use std::path::Path;

use chrono::{DateTime, Local, SecondsFormat, Utc};

use crate::env::Env;
use crate::error::UserError;
use crate::secret::TemporaryCredentials;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    /// GitHub Actions: the values go to the file `$GITHUB_ENV` names (see
    /// [`github_env_lines`]); stdout gets only `::add-mask::` lines.
    Github,
}

/// The variables whose values are secrets (masked in CI logs).
pub(crate) const SECRET_VARS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
];

/// `::add-mask::VALUE` for each secret value (once each), so GitHub Actions
/// replaces them by `***` wherever a later step prints them.
pub(crate) fn github_masks(vars: &[(&str, String)]) -> String {
    let mut out = String::new();
    let mut seen: Vec<&str> = Vec::new();
    for (k, v) in vars {
        if SECRET_VARS.contains(k) && !seen.contains(&v.as_str()) {
            seen.push(v);
            let _ = writeln!(out, "::add-mask::{v}");
        }
    }
    out
}

/// `KEY=value` lines for `$GITHUB_ENV`. A value with a line break could
/// inject other variables, so it is refused (the name only, never the value).
pub(crate) fn github_env_lines(vars: &[(&str, String)]) -> Result<String, UserError> {
    let mut out = String::new();
    for (k, v) in vars {
        if v.contains(['\n', '\r']) {
            return Err(UserError::new(format!(
                "refusing to write {k} to $GITHUB_ENV: its value contains a line break"
            ))
            .hint("STS returned an unexpected value; check the STS endpoint (--endpoint-url / AWS_ENDPOINT_URL_STS)"));
        }
        let _ = writeln!(out, "{k}={v}");
    }
    Ok(out)
}

impl Shell {
    /// From `$SHELL`'s file name; POSIX syntax otherwise.
    pub(crate) fn from_env(env: &Env) -> Self {
        let shell = env.lossy("SHELL").unwrap_or_default();
        match Path::new(&shell)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
        {
            "fish" => Shell::Fish,
            "zsh" => Shell::Zsh,
            "pwsh" | "powershell" | "pwsh.exe" | "powershell.exe" => Shell::Powershell,
            _ => Shell::Bash,
        }
    }
}

/// RFC 3339 with whole seconds and `Z`, as AWS writes expirations.
pub(crate) fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The variables to set, in output order.
pub(crate) fn env_vars(
    creds: &TemporaryCredentials,
    region: Option<&str>,
) -> Vec<(&'static str, String)> {
    let mut vars = vec![
        ("AWS_ACCESS_KEY_ID", creds.access_key_id.clone()),
        (
            "AWS_SECRET_ACCESS_KEY",
            creds.secret_access_key.expose().to_owned(),
        ),
        ("AWS_SESSION_TOKEN", creds.session_token.expose().to_owned()),
        // Older SDKs (boto2, some Java tools) still read this name.
        (
            "AWS_SECURITY_TOKEN",
            creds.session_token.expose().to_owned(),
        ),
        ("AWS_CREDENTIAL_EXPIRATION", rfc3339(creds.expiration)),
    ];
    if let Some(r) = region {
        vars.push(("AWS_REGION", r.to_owned()));
        vars.push(("AWS_DEFAULT_REGION", r.to_owned()));
    }
    vars
}

/// Variables removed so the SDKs use the exported keys, not a profile.
pub(crate) const UNSET_VARS: &[&str] = &["AWS_PROFILE", "AWS_DEFAULT_PROFILE"];

fn posix_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', r"'\''"))
}

fn fish_quote(v: &str) -> String {
    format!("'{}'", v.replace('\\', r"\\").replace('\'', r"\'"))
}

/// PowerShell treats five characters as a single quote: ASCII `'` and the
/// typographic U+2018, U+2019, U+201A, U+201B. Inside a single-quoted
/// string each of them is escaped by doubling it, so every one is doubled.
pub(crate) const POWERSHELL_SINGLE_QUOTES: [char; 5] =
    ['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'];

fn powershell_quote(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    out.push('\'');
    for c in v.chars() {
        if POWERSHELL_SINGLE_QUOTES.contains(&c) {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// Shell code that sets the variables, for `eval`/`source`/`Invoke-Expression`.
pub(crate) fn render_exports(shell: Shell, vars: &[(&str, String)]) -> String {
    render_exports_unset(shell, vars, UNSET_VARS)
}

/// Like [`render_exports`], unsetting `unset` afterwards.
pub(crate) fn render_exports_unset(
    shell: Shell,
    vars: &[(&str, String)],
    unset: &[&str],
) -> String {
    let mut out = String::new();
    for (k, v) in vars {
        let _ = match shell {
            Shell::Bash | Shell::Zsh => writeln!(out, "export {k}={}", posix_quote(v)),
            Shell::Fish => writeln!(out, "set -gx {k} {}", fish_quote(v)),
            Shell::Powershell => writeln!(out, "$Env:{k} = {}", powershell_quote(v)),
            Shell::Github => return github_masks(vars),
        };
    }
    for k in unset {
        let _ = match shell {
            Shell::Bash | Shell::Zsh => writeln!(out, "unset {k}"),
            // `set -e` of an unset variable fails (status 4); the source
            // must end with success so that `… | source; and …` works.
            Shell::Fish => writeln!(out, "set -e {k}; or true"),
            Shell::Powershell => writeln!(out, "Remove-Item Env:{k} -ErrorAction SilentlyContinue"),
            Shell::Github => Ok(()),
        };
    }
    out
}

/// What `env` (and `assume --export`) print to stdout when they fail: a
/// statement that fails in `shell`, so that `eval "$(mfacli env …)"`
/// returns non-zero and a `set -e` script stops there, instead of going on
/// with no credentials (eval of an empty string succeeds). It only fails
/// the eval: an interactive shell stays open. PowerShell's
/// `… | Invoke-Expression` gets a `throw`, which stops a script (and
/// shows an error at the prompt).
pub(crate) fn render_failure(shell: Shell) -> String {
    let why = "mfacli could not get credentials (see the error above)";
    match shell {
        Shell::Bash | Shell::Zsh | Shell::Fish => format!("# {why}\nfalse\n"),
        Shell::Powershell => format!("throw '{why}'\n"),
        // Not eval'd: the step fails by mfacli's exit status.
        Shell::Github => String::new(),
    }
}

/// Exactly what `credential_process` consumers expect.
pub(crate) fn credential_process_json(creds: &TemporaryCredentials) -> String {
    /// Borrowed fields in the order they have always been printed: no copy
    /// of the secrets, no intermediate JSON tree on the cache-hit path.
    #[derive(serde::Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Output<'a> {
        access_key_id: &'a str,
        expiration: String,
        secret_access_key: &'a str,
        session_token: &'a str,
        version: u8,
    }
    let out = Output {
        access_key_id: &creds.access_key_id,
        expiration: rfc3339(creds.expiration),
        secret_access_key: creds.secret_access_key.expose(),
        session_token: creds.session_token.expose(),
        version: 1,
    };
    format!("{}\n", serde_json::to_string(&out).expect("json"))
}

/// "1h 59m", "4m 10s", "expired".
pub(crate) fn human_left(secs: i64) -> String {
    if secs <= 0 {
        return "expired".into();
    }
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

pub(crate) fn local_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use chrono::TimeZone;

    fn creds() -> TemporaryCredentials {
        TemporaryCredentials {
            access_key_id: "ASIAXAMPLE".into(),
            secret_access_key: Secret::new("se'cr\\et"),
            session_token: Secret::new("tok"),
            expiration: Utc.with_ymd_and_hms(2026, 11, 28, 22, 0, 0).unwrap(),
        }
    }

    #[test]
    fn exports_are_quoted_per_shell() {
        let vars = env_vars(&creds(), Some("eu-west-1"));
        let bash = render_exports(Shell::Bash, &vars);
        assert!(
            bash.contains("export AWS_SECRET_ACCESS_KEY='se'\\''cr\\et'\n"),
            "{bash}"
        );
        assert!(bash.ends_with("unset AWS_PROFILE\nunset AWS_DEFAULT_PROFILE\n"));
        let fish = render_exports(Shell::Fish, &vars);
        assert!(
            fish.contains("set -gx AWS_SECRET_ACCESS_KEY 'se\\'cr\\\\et'\n"),
            "{fish}"
        );
        let ps = render_exports(Shell::Powershell, &vars);
        assert!(
            ps.contains("$Env:AWS_SECRET_ACCESS_KEY = 'se''cr\\et'\n"),
            "{ps}"
        );
        assert!(bash.contains("export AWS_CREDENTIAL_EXPIRATION='2026-11-28T22:00:00Z'"));
    }

    #[test]
    fn a_failure_makes_each_shells_eval_fail() {
        let why = "mfacli could not get credentials (see the error above)";
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            assert_eq!(render_failure(shell), format!("# {why}\nfalse\n"));
        }
        assert_eq!(
            render_failure(Shell::Powershell),
            format!("throw '{why}'\n")
        );
        assert_eq!(render_failure(Shell::Github), "");
    }

    #[test]
    fn credential_process_shape() {
        let v: serde_json::Value =
            serde_json::from_str(&credential_process_json(&creds())).unwrap();
        assert_eq!(v["Version"], 1);
        assert_eq!(v["Expiration"], "2026-11-28T22:00:00Z");
        assert_eq!(v.as_object().unwrap().len(), 5);
    }

    #[test]
    fn powershell_doubles_every_single_quote_character() {
        for q in POWERSHELL_SINGLE_QUOTES {
            let payload = format!("ASIA{q}; New-Item -Path pwned; {q}");
            let quoted = powershell_quote(&payload);
            // Inside the quotes every quote character comes in pairs, so
            // none of them ends the string.
            let inner = &quoted[1..quoted.len() - 1];
            let mut chars = inner.chars().peekable();
            while let Some(c) = chars.next() {
                if POWERSHELL_SINGLE_QUOTES.contains(&c) {
                    assert_eq!(chars.next(), Some(c), "{quoted}");
                }
            }
            assert_eq!(
                quoted,
                format!("'ASIA{q}{q}; New-Item -Path pwned; {q}{q}'")
            );
        }
    }

    /// The five characters PowerShell takes for a single quote, spelled out
    /// here (not taken from the implementation's list): each is doubled.
    #[test]
    fn powershell_doubles_each_of_its_five_quote_characters() {
        let cases = [
            ("a'b", "'a''b'"),
            ("a\u{2018}b", "'a\u{2018}\u{2018}b'"),
            ("a\u{2019}b", "'a\u{2019}\u{2019}b'"),
            ("a\u{201A}b", "'a\u{201A}\u{201A}b'"),
            ("a\u{201B}b", "'a\u{201B}\u{201B}b'"),
            (
                "'\u{2018}\u{2019}\u{201A}\u{201B}; New-Item pwned",
                "'''\u{2018}\u{2018}\u{2019}\u{2019}\u{201A}\u{201A}\u{201B}\u{201B}; New-Item pwned'",
            ),
            // Look-alikes that are not quotes to PowerShell stay single.
            ("a\u{201C}\u{201D}\u{2032}`$b", "'a\u{201C}\u{201D}\u{2032}`$b'"),
        ];
        for (value, quoted) in cases {
            assert_eq!(powershell_quote(value), quoted, "{value:?}");
        }
    }

    /// Hostile values through the real shells: the exported variable holds
    /// exactly the value, and nothing in it ran. (PowerShell is not on the
    /// test machines; its quoting is checked above, character by character.)
    #[test]
    fn hostile_values_round_trip_through_each_real_shell() {
        use std::io::Write;
        let values = [
            "'",
            "''",
            "\\",
            "\\'",
            "'\\''",
            "$(touch pwned)",
            "`touch pwned`",
            "${HOME}",
            "$HOME",
            "\"",
            "a b  c",
            "line\nbreak",
            "cr\r\nlf",
            "tab\tx",
            "; touch pwned; #",
            "&& touch pwned",
            "| touch pwned",
            "!!",
            "~",
            "*",
            "?[a]{a,b}",
            "%s%n",
            "$'\\x41'",
            "\u{2018}\u{2019}\u{201A}\u{201B}",
            "caf\u{e9} \u{2713}",
            "-e",
            "--",
            "(echo pwned)",
            "\\n",
            "end\\",
        ];
        let dir = tempfile::tempdir().unwrap();
        // (program, arguments, shell syntax); each prints the variable back.
        let shells: [(&str, &[&str], Shell); 4] = [
            ("bash", &["--norc", "--noprofile", "-s"], Shell::Bash),
            ("dash", &["-s"], Shell::Bash),
            ("zsh", &["-f", "-s"], Shell::Zsh),
            ("fish", &["--no-config"], Shell::Fish),
        ];
        for (program, args, shell) in shells {
            for value in values {
                let script = format!(
                    "{}printf '%s' \"$MFACLI_RT\"\n",
                    render_exports_unset(shell, &[("MFACLI_RT", value.to_owned())], &[])
                );
                let Ok(mut child) = std::process::Command::new(program)
                    .args(args)
                    .current_dir(dir.path())
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                else {
                    // Not installed here (CI installs all four).
                    continue;
                };
                let mut stdin = child.stdin.take().unwrap();
                stdin.write_all(script.as_bytes()).unwrap();
                drop(stdin);
                let out = child.wait_with_output().unwrap();
                assert!(
                    out.status.success(),
                    "{program} {value:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                assert_eq!(
                    String::from_utf8_lossy(&out.stdout),
                    value,
                    "{program}: {script}"
                );
                assert!(
                    !dir.path().join("pwned").exists(),
                    "{program} ran {value:?}"
                );
            }
        }
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_left(3599), "59m 59s");
        assert_eq!(human_left(7260), "2h 01m");
        assert_eq!(human_left(0), "expired");
        assert_eq!(human_left(250), "4m 10s");
        assert_eq!(human_left(45), "45s");
        assert_eq!(human_left(-5), "expired");
    }

    #[test]
    fn shell_from_the_shell_variable() {
        for (shell, want) in [
            ("/usr/bin/fish", Shell::Fish),
            ("/bin/zsh", Shell::Zsh),
            ("zsh", Shell::Zsh),
            ("/usr/bin/pwsh", Shell::Powershell),
            ("powershell", Shell::Powershell),
            ("pwsh.exe", Shell::Powershell),
            ("powershell.exe", Shell::Powershell),
            ("/bin/bash", Shell::Bash),
            ("/bin/dash", Shell::Bash),
            ("", Shell::Bash),
        ] {
            let env = Env::from_pairs([("SHELL", shell)]);
            assert_eq!(Shell::from_env(&env), want, "SHELL={shell}");
        }
        assert_eq!(
            Shell::from_env(&Env::from_pairs::<&str, &str>([])),
            Shell::Bash
        );
    }

    #[test]
    fn local_time_has_date_time_and_zone() {
        let t = Utc.with_ymd_and_hms(2026, 11, 28, 22, 0, 7).unwrap();
        let s = local_time(t);
        assert!(s.starts_with("2026-11-"), "{s}");
        assert_eq!(&s[16..20], ":07 ", "{s}");
        assert!(s.len() > 20, "{s}");
    }

    #[test]
    fn github_env_lines_and_masks() {
        let vars = env_vars(&creds(), Some("eu-west-1"));
        let lines = github_env_lines(&vars).unwrap();
        let c = creds();
        assert_eq!(
            lines,
            format!(
                "AWS_ACCESS_KEY_ID={}\nAWS_SECRET_ACCESS_KEY={}\nAWS_SESSION_TOKEN={}\nAWS_SECURITY_TOKEN={}\nAWS_CREDENTIAL_EXPIRATION={}\nAWS_REGION=eu-west-1\nAWS_DEFAULT_REGION=eu-west-1\n",
                c.access_key_id,
                c.secret_access_key.expose(),
                c.session_token.expose(),
                c.session_token.expose(),
                rfc3339(c.expiration)
            )
        );
        assert_eq!(
            render_exports(Shell::Github, &vars),
            format!(
                "::add-mask::{}\n::add-mask::{}\n::add-mask::{}\n",
                c.access_key_id,
                c.secret_access_key.expose(),
                c.session_token.expose()
            )
        );
        let mut bad = vars.clone();
        bad[2].1 = "tok\nAWS_PROFILE=evil".into();
        let e = github_env_lines(&bad).unwrap_err().to_string();
        assert!(
            e.contains("AWS_SESSION_TOKEN") && e.contains("line break") && !e.contains("evil"),
            "{e}"
        );
        bad[2].1 = "tok\rX".into();
        assert!(github_env_lines(&bad).is_err());
    }
}
