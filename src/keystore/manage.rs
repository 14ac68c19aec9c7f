//! `mfacli keys`: putting the bastion key into the keyring, moving it out of
//! ~/.aws/credentials, listing and removing it.

use std::path::{Path, PathBuf};

use super::{forget_role_cache, mask_key_id, Backend, KeyStoreKind, Keyring};
use crate::aws_files::editor::{remove_keys_from_section, ProfileName};
use crate::aws_files::writer::{write_credentials_file_without_backup, BACKUP_SUFFIX};
use crate::error::UserError;
use crate::log::Log;
use crate::plan::Sources;
use crate::secret::LongTermKeys;
use crate::sts::{Signer, StsClient};
use crate::types::Partition;

/// What `keys add` / `keys import` did.
pub(crate) struct Stored {
    pub(crate) backend: Backend,
    pub(crate) arn: String,
    /// The config file `key_store = "keyring"` was written into, if it changed.
    pub(crate) config_written: Option<PathBuf>,
    /// `keys import`: the credentials file the key lines left.
    pub(crate) removed_from: Option<PathBuf>,
}

/// The keyring the config and environment name.
pub(crate) fn open(sources: &Sources) -> Result<Keyring, UserError> {
    let backend = Backend::choose(sources.bastion().keyring, &sources.env)?;
    Keyring::open(backend, sources.lock_timeout())
}

/// The bastion profile `keys` works on: --profile, else the one every
/// command uses.
pub(crate) fn profile(sources: &Sources) -> String {
    sources.bastion_profile(None)
}

/// One GetCallerIdentity with the key: a typo is refused before it is stored.
fn verify(
    sources: &Sources,
    profile: &str,
    keys: &LongTermKeys,
    log: &Log,
) -> Result<String, UserError> {
    let partition = sources
        .bastion()
        .mfa_serial
        .as_ref()
        .and_then(|s| s.partition())
        .unwrap_or(Partition::Aws);
    let endpoint = sources.endpoint(partition, Some(profile))?;
    log.verbose(&format!(
        "calling STS GetCallerIdentity at {} with the key",
        endpoint.url
    ));
    let sts = StsClient::new(endpoint).map_err(crate::chain::sts_user_error)?;
    let id = sts
        .get_caller_identity(Signer::LongTerm(keys))
        .map_err(|e| {
            let err = crate::chain::sts_user_error(e);
            UserError::new(format!(
                "nothing stored: STS refused the access key {} ({})",
                mask_key_id(&keys.access_key_id),
                err.message
            ))
            .hint(
                "check the access key id and secret (IAM console: the user's Security credentials)",
            )
        })?;
    Ok(id.arn)
}

/// Stores `keys` for `profile`, reads them back and compares.
fn store(keyring: &Keyring, profile: &str, keys: &LongTermKeys) -> Result<(), UserError> {
    keyring.set_keys(profile, keys)?;
    let back = keyring.keys(profile)?;
    let same = back.as_ref().is_some_and(|b| {
        b.access_key_id == keys.access_key_id && b.secret_access_key == keys.secret_access_key
    });
    if !same {
        return Err(UserError::new(format!(
            "{} did not give back the key just stored for '{profile}'",
            keyring.backend.label()
        ))
        .hint("nothing else was changed; try another backend with MFACLI_KEYRING"));
    }
    Ok(())
}

/// `keys add`: check, store, and switch the config to the keyring.
pub(crate) fn add(
    sources: &Sources,
    log: &Log,
    profile: &str,
    keys: &LongTermKeys,
) -> Result<Stored, UserError> {
    let arn = verify(sources, profile, keys, log)?;
    let keyring = open(sources)?;
    store(&keyring, profile, keys)?;
    forget_role_cache(&sources.cache());
    let config_written = use_keyring_in_config(sources, keyring.backend)?;
    Ok(Stored {
        backend: keyring.backend,
        arn,
        config_written,
        removed_from: None,
    })
}

/// `keys import`: the key of `profile` from ~/.aws/credentials into the
/// keyring, checked, then its two lines out of the file (no backup of the
/// old text, which would be a plain-text copy).
pub(crate) fn import(sources: &Sources, log: &Log, profile: &str) -> Result<Stored, UserError> {
    let path = sources.aws.credentials_path.clone();
    if !sources.aws.has_credentials_section(profile) {
        return Err(UserError::new(format!(
            "nothing imported: {} has no [{profile}] section with a key",
            path.display()
        ))
        .hint(format!(
            "name the profile with --profile, or store a key directly: `mfacli keys add --profile {profile}`"
        )));
    }
    let keys = sources.aws.long_term_keys(profile)?;
    let arn = verify(sources, profile, &keys, log)?;
    let keyring = open(sources)?;
    store(&keyring, profile, &keys)?;
    let name = ProfileName::new(profile)
        .map_err(|e| UserError::new(format!("{}: {e}", path.display())))?;
    let written = write_credentials_file_without_backup(&path, |text| {
        remove_keys_from_section(
            text,
            &name,
            &[
                "aws_access_key_id",
                "aws_secret_access_key",
                "aws_session_token",
            ],
        )
    })
    .map_err(|e| {
        let mut err = e.into_user_error(&path);
        err.message = format!(
            "the key is in {} now, but its lines could not be removed from {}: {}",
            keyring.backend.label(),
            path.display(),
            err.message
        );
        err
    })?;
    drop_backup_holding(&written.path, keys.secret_access_key.expose());
    forget_role_cache(&sources.cache());
    let config_written = use_keyring_in_config(sources, keyring.backend)?;
    Ok(Stored {
        backend: keyring.backend,
        arn,
        config_written,
        removed_from: Some(written.path),
    })
}

/// An earlier backup of the credentials file (from `rotate` or
/// `--write-profile`) may hold the secret just moved: it goes too.
fn drop_backup_holding(file: &Path, secret: &str) {
    let backup = PathBuf::from(format!("{}{BACKUP_SUFFIX}", file.display()));
    if let Ok(Some(f)) = crate::aws_files::read_text_file(&backup, "backup") {
        if f.text.contains(secret) {
            let _ = std::fs::remove_file(&backup);
        }
    }
}

/// One `keys list` line.
pub(crate) struct Listed {
    pub(crate) profile: String,
    pub(crate) backend: Backend,
    pub(crate) masked_id: String,
    /// The key's creation time, when IAM could tell (the bastion profile's
    /// key, through a cached MFA session).
    pub(crate) created: Option<chrono::DateTime<chrono::Utc>>,
}

/// Every profile the AWS files and the config know, with a key in the keyring.
pub(crate) fn list(sources: &Sources, log: &Log) -> Result<Vec<Listed>, UserError> {
    let keyring = open(sources)?;
    let bastion = profile(sources);
    let mut names = vec![bastion.clone()];
    for n in sources.aws.profile_names() {
        if !names.contains(&n)
            && sources
                .aws
                .profile(&n)
                .is_some_and(|p| p.get("role_arn").is_none())
        {
            names.push(n);
        }
    }
    if !names.iter().any(|n| n == "default") {
        names.push("default".into());
    }
    let mut out = Vec::new();
    for name in names {
        if let Some(k) = keyring.keys(&name)? {
            let created = if name == bastion && sources.bastion().key_store == KeyStoreKind::Keyring
            {
                crate::bastion::cached_key_created(sources, log)
                    .ok()
                    .flatten()
                    .flatten()
            } else {
                None
            };
            out.push(Listed {
                profile: name,
                backend: keyring.backend,
                masked_id: mask_key_id(&k.access_key_id),
                created,
            });
        }
    }
    Ok(out)
}

/// `keys remove`: `false` when there was no key.
pub(crate) fn remove(sources: &Sources, profile: &str) -> Result<(Backend, bool), UserError> {
    let keyring = open(sources)?;
    let removed = keyring.remove(profile)?;
    if removed {
        forget_role_cache(&sources.cache());
    }
    Ok((keyring.backend, removed))
}

/// Writes `key_store = "keyring"` and the backend the key went to into
/// `[bastion]` of the mfacli config (creating the file if needed), so every
/// later run looks in that keyring, whatever the session it runs in (an SSH
/// login has no session bus); `None` when the config says so already.
fn use_keyring_in_config(
    sources: &Sources,
    backend: Backend,
) -> Result<Option<PathBuf>, UserError> {
    let b = sources.bastion();
    if b.key_store == KeyStoreKind::Keyring && b.keyring == Some(backend) {
        return Ok(None);
    }
    let path = crate::config::config_path(sources.overrides.config.as_deref(), &sources.env).0;
    let old = crate::aws_files::read_text_file(&path, "mfacli config")?
        .map(|f| f.text)
        .unwrap_or_default();
    let new = set_in_bastion(
        &set_in_bastion(&old, "keyring", backend.name()),
        "key_store",
        "keyring",
    );
    if let Some(dir) = path.parent() {
        crate::fsread::create_private_dirs(dir)
            .map_err(|e| UserError::new(format!("{}: {e}", dir.display())))?;
    }
    crate::cache::write_atomic(&path, new.as_bytes(), 0o600, true).map_err(|e| {
        UserError::new(format!(
            "the key is in the keyring, but {} could not be written ({e})",
            path.display()
        ))
        .hint(format!(
            "add key_store = \"keyring\" and keyring = \"{}\" to [bastion] of the mfacli config by hand",
            backend.name()
        ))
    })?;
    Ok(Some(path))
}

/// The config text with `key = "value"` in `[bastion]`: an existing `key`
/// line is replaced, else the line goes right under the header (or a new
/// `[bastion]` table is appended). Every other line is kept.
pub(crate) fn set_in_bastion(text: &str, key: &str, value: &str) -> String {
    let line = format!("{key} = \"{value}\"");
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let is_header = |l: &str| l.trim_start().starts_with('[');
    let header = lines.iter().position(|l| l.trim().starts_with("[bastion]"));
    let Some(h) = header else {
        let mut out = text.to_owned();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str("[bastion]\n");
        out.push_str(&line);
        out.push('\n');
        return out;
    };
    let end = lines[h + 1..]
        .iter()
        .position(|l| is_header(l))
        .map_or(lines.len(), |i| h + 1 + i);
    let existing = (h + 1..end).find(|&i| {
        let t = lines[i].trim_start();
        t.strip_prefix(key)
            .is_some_and(|r| r.trim_start().starts_with('='))
    });
    let mut out = String::with_capacity(text.len() + line.len() + 1);
    for (i, l) in lines.iter().enumerate() {
        if Some(i) == existing {
            out.push_str(&line);
            out.push_str(if l.ends_with("\r\n") { "\r\n" } else { "\n" });
            continue;
        }
        out.push_str(l);
        if i == h && existing.is_none() {
            if !l.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::set_in_bastion;

    fn set_key_store(text: &str) -> String {
        set_in_bastion(text, "key_store", "keyring")
    }

    #[test]
    fn key_store_goes_into_bastion_and_nothing_else_moves() {
        assert_eq!(set_key_store(""), "[bastion]\nkey_store = \"keyring\"\n");
        assert_eq!(
            set_key_store("# mine\n[bastion]\nprofile = \"b\"\n\n[targets.prod]\nrole_arn = \"x\"\n"),
            "# mine\n[bastion]\nkey_store = \"keyring\"\nprofile = \"b\"\n\n[targets.prod]\nrole_arn = \"x\"\n"
        );
        assert_eq!(
            set_key_store("[bastion]\nkey_store = \"aws-files\"\nprofile = \"b\""),
            "[bastion]\nkey_store = \"keyring\"\nprofile = \"b\""
        );
        assert_eq!(
            set_key_store("[targets.prod]\nrole_arn = \"x\""),
            "[targets.prod]\nrole_arn = \"x\"\n\n[bastion]\nkey_store = \"keyring\"\n"
        );
        // [bastion.mfa_devices] is another table: the key goes in [bastion].
        let t =
            set_key_store("[bastion]\nprofile = \"b\"\n[[bastion.mfa_devices]]\nserial = \"s\"\n");
        let parsed: toml::Table = toml::from_str(&t).unwrap();
        assert_eq!(parsed["bastion"]["key_store"].as_str(), Some("keyring"));
        // `keyring` is not `key_store`'s prefix match, nor the other way round.
        let t = set_in_bastion(
            &set_in_bastion("[bastion]\nkeyring = \"x\"\n", "key_store", "keyring"),
            "keyring",
            "keyutils",
        );
        assert_eq!(
            t,
            "[bastion]\nkey_store = \"keyring\"\nkeyring = \"keyutils\"\n"
        );
    }
}
