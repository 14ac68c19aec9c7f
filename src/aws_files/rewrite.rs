//! MINIMAL SECTION REWRITE for `mfacli rotate`: replace the values of
//! `aws_access_key_id` and `aws_secret_access_key` in one section of the
//! credentials file, keeping every other byte (comments, other sections,
//! spacing around `=`, line endings) unchanged.
//!
//! TO BE REPLACED by the hardened INI editor when it lands: callers use only
//! [`replace_long_term_keys`] and [`write_long_term_keys`].

use std::path::{Path, PathBuf};

use crate::error::UserError;
use crate::secret::LongTermKeys;

/// `<file>.mfacli-bak`
pub fn backup_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".mfacli-bak");
    PathBuf::from(s)
}

/// The section name of a header line (`[name]`, spaces allowed inside).
fn header(line: &str) -> Option<&str> {
    let t = line.trim();
    let inner = t.strip_prefix('[')?;
    let end = inner.find(']')?;
    Some(inner[..end].trim())
}

/// `text` with the two key values of `[section]` replaced. Each key must
/// appear in the section (in every copy of a repeated section); anything
/// else is an error and `text` is left alone.
pub fn replace_long_term_keys(
    text: &str,
    section: &str,
    keys: &LongTermKeys,
) -> Result<String, String> {
    let id = keys.access_key_id.as_str();
    let secret = keys.secret_access_key.expose();
    if [id, secret]
        .iter()
        .any(|v| v.is_empty() || v.contains(['\r', '\n', '#', ';']) || v.trim() != *v)
    {
        return Err("the new key has characters that cannot go into an INI value".into());
    }
    let mut out = String::with_capacity(text.len() + 64);
    let mut in_section = false;
    let (mut ids, mut secrets) = (0, 0);
    for line in text.split_inclusive('\n') {
        if let Some(name) = header(line) {
            in_section = name == section;
            out.push_str(line);
            continue;
        }
        let replaced = in_section
            .then(|| {
                let (body, eol) = match line.strip_suffix("\r\n") {
                    Some(b) => (b, "\r\n"),
                    None => match line.strip_suffix('\n') {
                        Some(b) => (b, "\n"),
                        None => (line, ""),
                    },
                };
                let (key, _) = body.split_once('=')?;
                let value = match key.trim() {
                    "aws_access_key_id" => {
                        ids += 1;
                        id
                    }
                    "aws_secret_access_key" => {
                        secrets += 1;
                        secret
                    }
                    _ => return None,
                };
                // Keep the key, its indentation and the spacing after '='.
                let after_eq = &body[key.len() + 1..];
                let spacing = &after_eq[..after_eq.len() - after_eq.trim_start().len()];
                Some(format!("{key}={spacing}{value}{eol}"))
            })
            .flatten();
        match replaced {
            Some(l) => out.push_str(&l),
            None => out.push_str(line),
        }
    }
    if ids == 0 || secrets == 0 {
        return Err(format!(
            "[{section}] has no aws_access_key_id and aws_secret_access_key lines to replace"
        ));
    }
    Ok(out)
}

/// Writes `keys` into `[section]` of the credentials file at `path`, after
/// copying the file as it was to `<file>.mfacli-bak` (mode 0600). Both
/// writes are atomic (temp file + rename) and synced.
pub fn write_long_term_keys(
    path: &Path,
    section: &str,
    keys: &LongTermKeys,
) -> Result<(), UserError> {
    let file = super::read_text_file(path, "AWS credentials file")?.ok_or_else(|| {
        UserError::new(format!("{} does not exist", path.display()))
            .hint("the bastion profile's keys must be in the AWS credentials file")
    })?;
    let new = replace_long_term_keys(&file.text, section, keys)
        .map_err(|m| UserError::new(format!("{}: {m}", path.display())))?;
    let backup = backup_path(path);
    crate::cache::write_atomic(&backup, file.text.as_bytes(), 0o600, true).map_err(|e| {
        UserError::new(format!("cannot write the backup {}: {e}", backup.display()))
            .hint("check the permissions of the directory")
    })?;
    crate::cache::write_atomic(path, new.as_bytes(), file.mode & 0o666 | 0o600, true).map_err(
        |e| {
            UserError::new(format!("cannot write {}: {e}", path.display()))
                .hint("check the permissions of the file and its directory")
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn keys(id: &str, secret: &str) -> LongTermKeys {
        LongTermKeys {
            access_key_id: id.into(),
            secret_access_key: Secret::new(secret),
        }
    }

    #[test]
    fn replaces_only_the_two_values_of_the_section() {
        let text = "# my keys\r\n[default]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = other\n\n[bastion]\n; work\naws_access_key_id=AKIAOLD\n  aws_secret_access_key   =  oldsecret\nregion = eu-west-1\n[after]\naws_access_key_id = AKIAAFTER\n";
        let out = replace_long_term_keys(text, "bastion", &keys("AKIANEW", "newsecret")).unwrap();
        assert_eq!(
            out,
            "# my keys\r\n[default]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = other\n\n[bastion]\n; work\naws_access_key_id=AKIANEW\n  aws_secret_access_key   =  newsecret\nregion = eu-west-1\n[after]\naws_access_key_id = AKIAAFTER\n"
        );
    }

    #[test]
    fn keeps_crlf_and_a_missing_final_newline() {
        let text = "[ bastion ]\r\naws_access_key_id = A\r\naws_secret_access_key = B";
        let out = replace_long_term_keys(text, "bastion", &keys("C", "D")).unwrap();
        assert_eq!(
            out,
            "[ bastion ]\r\naws_access_key_id = C\r\naws_secret_access_key = D"
        );
    }

    #[test]
    fn repeated_sections_are_all_updated() {
        let text = "[b]\naws_access_key_id = A\n[x]\n[b]\naws_secret_access_key = B\n";
        let out = replace_long_term_keys(text, "b", &keys("C", "D")).unwrap();
        assert_eq!(
            out,
            "[b]\naws_access_key_id = C\n[x]\n[b]\naws_secret_access_key = D\n"
        );
    }

    #[test]
    fn refuses_missing_keys_and_unsafe_values() {
        let text = "[b]\naws_access_key_id = A\n[c]\naws_secret_access_key = B\n";
        assert!(replace_long_term_keys(text, "b", &keys("C", "D")).is_err());
        assert!(replace_long_term_keys(text, "zzz", &keys("C", "D")).is_err());
        let ok = "[b]\naws_access_key_id = A\naws_secret_access_key = B\n";
        assert!(replace_long_term_keys(ok, "b", &keys("C\n[x]", "D")).is_err());
        assert!(replace_long_term_keys(ok, "b", &keys("C", "")).is_err());
    }

    #[test]
    fn writes_backup_0600_and_new_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials");
        let text = "[b]\naws_access_key_id = A\naws_secret_access_key = B\n";
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_long_term_keys(&path, "b", &keys("C", "D")).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "[b]\naws_access_key_id = C\naws_secret_access_key = D\n"
        );
        let bak = backup_path(&path);
        assert_eq!(std::fs::read_to_string(&bak).unwrap(), text);
        let mode = std::fs::metadata(&bak).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
