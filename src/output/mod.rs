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

fn powershell_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

/// Shell code that sets the variables, for `eval`/`source`/`Invoke-Expression`.
pub fn render_exports(shell: Shell, vars: &[(&str, String)]) -> String {
    let mut out = String::new();
    for (k, v) in vars {
        let _ = match shell {
            Shell::Bash | Shell::Zsh => writeln!(out, "export {k}={}", posix_quote(v)),
            Shell::Fish => writeln!(out, "set -gx {k} {}", fish_quote(v)),
            Shell::Powershell => writeln!(out, "$Env:{k} = {}", powershell_quote(v)),
        };
    }
    for k in UNSET_VARS {
        let _ = match shell {
            Shell::Bash | Shell::Zsh => writeln!(out, "unset {k}"),
            // `set -e` of an unset variable fails (status 4); the source
            // must end with success so that `… | source; and …` works.
            Shell::Fish => writeln!(out, "set -e {k}; or true"),
            Shell::Powershell => writeln!(out, "Remove-Item Env:{k} -ErrorAction SilentlyContinue"),
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
pub fn render_failure(shell: Shell) -> String {
    let why = "mfacli could not get credentials (see the error above)";
    match shell {
        Shell::Bash | Shell::Zsh | Shell::Fish => format!("# {why}\nfalse\n"),
        Shell::Powershell => format!("throw '{why}'\n"),
    }
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
    fn human_durations() {
        assert_eq!(human_left(3599), "59m 59s");
        assert_eq!(human_left(7260), "2h 01m");
        assert_eq!(human_left(0), "expired");
    }
}
