//! Every way of handing credentials over: shell exports, credential_process
//! JSON, a human summary, and a profile in ~/.aws/credentials. Pure
//! functions of their inputs, so tests check exact text.

use std::fmt::Write as _;
use std::path::Path;

use chrono::{DateTime, Local, SecondsFormat, Utc};

use crate::env::Env;
use crate::error::UserError;
use crate::secret::TemporaryCredentials;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

impl Shell {
    /// From `$SHELL`'s file name; POSIX syntax otherwise.
    pub fn from_env(env: &Env) -> Self {
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
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The variables to set, in output order.
pub fn env_vars(creds: &TemporaryCredentials, region: Option<&str>) -> Vec<(&'static str, String)> {
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
pub const UNSET_VARS: &[&str] = &["AWS_PROFILE", "AWS_DEFAULT_PROFILE"];

fn posix_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', r"'\''"))
}

fn fish_quote(v: &str) -> String {
    format!("'{}'", v.replace('\\', r"\\").replace('\'', r"\'"))
}

/// PowerShell treats five characters as a single quote: ASCII `'` and the
/// typographic U+2018, U+2019, U+201A, U+201B. Inside a single-quoted
/// string each of them is escaped by doubling it, so every one is doubled.
pub const POWERSHELL_SINGLE_QUOTES: [char; 5] =
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
pub fn render_exports(shell: Shell, vars: &[(&str, String)]) -> String {
    render_exports_unset(shell, vars, UNSET_VARS)
}

/// Like [`render_exports`], unsetting `unset` afterwards.
pub fn render_exports_unset(shell: Shell, vars: &[(&str, String)], unset: &[&str]) -> String {
    let mut out = String::new();
    for (k, v) in vars {
        let _ = match shell {
            Shell::Bash | Shell::Zsh => writeln!(out, "export {k}={}", posix_quote(v)),
            Shell::Fish => writeln!(out, "set -gx {k} {}", fish_quote(v)),
            Shell::Powershell => writeln!(out, "$Env:{k} = {}", powershell_quote(v)),
        };
    }
    for k in unset {
        let _ = match shell {
            Shell::Bash | Shell::Zsh => writeln!(out, "unset {k}"),
            Shell::Fish => writeln!(out, "set -e {k}"),
            Shell::Powershell => writeln!(out, "Remove-Item Env:{k} -ErrorAction SilentlyContinue"),
        };
    }
    out
}

/// Exactly what `credential_process` consumers expect.
pub fn credential_process_json(creds: &TemporaryCredentials) -> String {
    let v = serde_json::json!({
        "Version": 1,
        "AccessKeyId": creds.access_key_id,
        "SecretAccessKey": creds.secret_access_key.expose(),
        "SessionToken": creds.session_token.expose(),
        "Expiration": rfc3339(creds.expiration),
    });
    format!("{}\n", serde_json::to_string(&v).expect("json"))
}

/// "1h 59m", "4m 10s", "expired".
pub fn human_left(secs: i64) -> String {
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

pub fn local_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

/// Marks sections mfacli wrote, so it never overwrites a user's own.
pub const PROFILE_MARKER: &str =
    "# managed by mfacli: rewritten by `mfacli assume --write-profile`";

/// Puts `section` with the credentials into an INI text, keeping every
/// other line (comments included) untouched. Refuses to replace a section
/// mfacli did not write unless `force`.
pub fn upsert_profile(
    text: &str,
    section: &str,
    creds: &TemporaryCredentials,
    region: Option<&str>,
    force: bool,
) -> Result<String, UserError> {
    // A line break (or any control character) in a value would start a new
    // line of the INI file: a new key or a whole `[default]` section with
    // `credential_process`. STS values are validated on arrival; this is the
    // last line of defence for everything that reaches the file.
    let values = [
        ("the section name", section),
        ("aws_access_key_id", creds.access_key_id.as_str()),
        ("aws_secret_access_key", creds.secret_access_key.expose()),
        ("aws_session_token", creds.session_token.expose()),
        ("region", region.unwrap_or("")),
    ];
    if let Some((what, _)) = values.iter().find(|(_, v)| v.chars().any(char::is_control)) {
        return Err(UserError::new(format!(
            "refusing to write [{}]: {what} contains a line break or control character",
            section.escape_debug()
        ))
        .hint("nothing was written; check the STS endpoint and the region setting"));
    }
    let mut body = vec![
        PROFILE_MARKER.to_owned(),
        format!("aws_access_key_id = {}", creds.access_key_id),
        format!(
            "aws_secret_access_key = {}",
            creds.secret_access_key.expose()
        ),
        format!("aws_session_token = {}", creds.session_token.expose()),
        format!("expiration = {}", rfc3339(creds.expiration)),
    ];
    if let Some(r) = region {
        body.push(format!("region = {r}"));
    }
    let header_name = |line: &str| -> Option<String> {
        let t = line.trim();
        t.strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .map(|n| n.trim().to_owned())
    };
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| header_name(l).as_deref() == Some(section));
    let mut out: Vec<String> = Vec::new();
    match start {
        None => {
            out.extend(lines.iter().map(|l| l.to_string()));
            if out.last().is_some_and(|l| !l.trim().is_empty()) {
                out.push(String::new());
            }
            out.push(format!("[{section}]"));
            out.extend(body);
        }
        Some(i) => {
            let end = lines[i + 1..]
                .iter()
                .position(|l| header_name(l).is_some())
                .map_or(lines.len(), |p| i + 1 + p);
            let ours = lines[i + 1..end].iter().any(|l| l.trim() == PROFILE_MARKER);
            if !ours && !force {
                return Err(UserError::new(format!(
                    "section [{section}] exists and was not written by mfacli; not overwriting it"
                ))
                .hint("choose another name for --write-profile, or add --force to replace it"));
            }
            out.extend(lines[..=i].iter().map(|l| l.to_string()));
            out.extend(body);
            // Keep the blank lines/comments that separate it from the next section.
            let trailing: Vec<&str> = lines[i + 1..end]
                .iter()
                .rev()
                .take_while(|l| l.trim().is_empty())
                .copied()
                .collect();
            out.extend(trailing.iter().map(|l| l.to_string()));
            out.extend(lines[end..].iter().map(|l| l.to_string()));
        }
    }
    let mut s = out.join("\n");
    s.push('\n');
    Ok(s)
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
    fn credential_process_shape() {
        let v: serde_json::Value =
            serde_json::from_str(&credential_process_json(&creds())).unwrap();
        assert_eq!(v["Version"], 1);
        assert_eq!(v["Expiration"], "2026-11-28T22:00:00Z");
        assert_eq!(v.as_object().unwrap().len(), 5);
    }

    #[test]
    fn upsert_keeps_other_sections_and_refuses_foreign() {
        let text = "# my keys\n[default]\naws_access_key_id = AKIA\n\n[other]\nx = 1\n";
        let out = upsert_profile(text, "prod", &creds(), None, false).unwrap();
        assert!(out.starts_with(text), "{out}");
        assert!(out.contains("[prod]\n# managed by mfacli"));
        let again = upsert_profile(&out, "prod", &creds(), Some("eu-west-1"), false).unwrap();
        assert_eq!(again.matches("[prod]").count(), 1);
        assert!(again.contains("region = eu-west-1"));
        let err = upsert_profile(text, "other", &creds(), None, false).unwrap_err();
        assert!(err.message.contains("[other]"));
        let forced = upsert_profile(text, "other", &creds(), None, true).unwrap();
        assert!(
            !forced.contains("x = 1") && forced.contains("[default]\naws_access_key_id = AKIA")
        );
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

    #[test]
    fn upsert_refuses_line_breaks_and_control_characters() {
        let mut c = creds();
        c.session_token = Secret::new("tok\n[default]\ncredential_process = sh -c 'id'");
        let err = upsert_profile("", "prod", &c, None, false).unwrap_err();
        assert!(err.message.contains("aws_session_token"), "{err}");
        assert!(!err.to_string().contains("credential_process"), "{err}");
        let err =
            upsert_profile("", "prod", &creds(), Some("eu-west-1\r\n[x]"), false).unwrap_err();
        assert!(err.message.contains("region"), "{err}");
        let err = upsert_profile("", "pr\u{7}od", &creds(), None, false).unwrap_err();
        assert!(err.message.contains("section name"), "{err}");
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

    /// Exact text: a blank line before an appended section (one, not two),
    /// and a section in the middle replaced with its neighbours intact.
    #[test]
    fn upsert_exact_text() {
        let c = creds();
        let body = "# managed by mfacli: rewritten by `mfacli assume --write-profile`\n\
                    aws_access_key_id = ASIAXAMPLE\n\
                    aws_secret_access_key = se'cr\\et\n\
                    aws_session_token = tok\n\
                    expiration = 2026-11-28T22:00:00Z\n";
        for text in ["[a]\nx = 1\n", "[a]\nx = 1\n\n"] {
            assert_eq!(
                upsert_profile(text, "p", &c, None, false).unwrap(),
                format!("[a]\nx = 1\n\n[p]\n{body}"),
                "{text:?}"
            );
        }
        let middle = format!("[a]\nx = 1\n\n[p]\n{body}old = 1\n\n[b]\ny = 2\n");
        assert_eq!(
            upsert_profile(&middle, "p", &c, Some("eu-west-1"), false).unwrap(),
            format!("[a]\nx = 1\n\n[p]\n{body}region = eu-west-1\n\n[b]\ny = 2\n")
        );
        let first = format!("[p]\n{body}\n[b]\ny = 2\n");
        assert_eq!(upsert_profile(&first, "p", &c, None, false).unwrap(), first);
        // No blank line before the next section: its last line is replaced too.
        let tight = format!("[p]\n{body}[b]\ny = 2\n");
        assert_eq!(upsert_profile(&tight, "p", &c, None, false).unwrap(), tight);
    }

    #[test]
    fn local_time_has_date_time_and_zone() {
        let t = Utc.with_ymd_and_hms(2026, 11, 28, 22, 0, 7).unwrap();
        let s = local_time(t);
        assert!(s.starts_with("2026-11-"), "{s}");
        assert_eq!(&s[16..20], ":07 ", "{s}");
        assert!(s.len() > 20, "{s}");
    }
}
