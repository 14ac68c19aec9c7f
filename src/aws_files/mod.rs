//! The AWS CLI's own files (`~/.aws/credentials`, `~/.aws/config`), parsed
//! with aws-config's profile parser so mfacli reads them exactly as the SDKs do.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::task::{Context as TaskContext, Poll, Waker};

use aws_config::profile::{Profile, ProfileSet};
use aws_runtime::env_config::file::{
    EnvConfigFileKind as ProfileFileKind, EnvConfigFiles as ProfileFiles,
};
use aws_types::os_shim_internal::{Env as SdkEnv, Fs};
use zeroize::Zeroizing;

use crate::env::Env;
use crate::error::UserError;
use crate::secret::{LongTermKeys, Secret};

pub(crate) mod editor;
#[doc(hidden)]
pub mod fuzz_check;
pub(crate) mod writer;

pub(crate) use editor::{
    set_keys_in_section, upsert_section, EditError, ProfileName, PROFILE_MARKER,
};
pub(crate) use writer::{write_credentials_file, WriteError, WriteOutcome};

/// Files larger than this are refused rather than read whole.
pub(crate) const MAX_FILE_BYTES: u64 = crate::fsread::TEXT_LIMIT;

/// A small text file and its permission bits and owner (from the `fstat`
/// of the descriptor it was read from). The text is wiped on drop.
pub(crate) struct TextFile {
    pub(crate) text: Zeroizing<String>,
    pub(crate) mode: u32,
}

impl TextFile {
    /// Group or other users may read it.
    pub(crate) fn readable_by_others(&self) -> bool {
        self.mode & 0o077 != 0
    }

    /// Group or other users may change it.
    pub(crate) fn writable_by_others(&self) -> bool {
        self.mode & 0o022 != 0
    }
}

/// Reads a text file of at most 10 MiB (see [`read_text_file_limited`]).
pub(crate) fn read_text_file(path: &Path, what: &str) -> Result<Option<TextFile>, UserError> {
    read_text_file_limited(path, what, MAX_FILE_BYTES)
}

/// Reads a small text file through [`crate::fsread::read`] (one open, one
/// fstat, a regular file, at most `limit` bytes; never hangs on a FIFO),
/// with a clear error for each way it can be wrong. Symlinks are followed:
/// these are the user's own files. `Ok(None)` if it does not exist.
pub(crate) fn read_text_file_limited(
    path: &Path,
    what: &str,
    limit: u64,
) -> Result<Option<TextFile>, UserError> {
    use crate::fsread::{read, ReadError, ReadOpts};
    // `AWS_SHARED_CREDENTIALS_FILE=/dev/null` is the usual way to say "no
    // file" in CI; the AWS CLI and SDKs read it as empty, and so does mfacli
    // (and `--write-profile` refuses to write it: see `writer`).
    if is_dev_null(path) {
        return Ok(None);
    }
    let file = match read(
        path,
        ReadOpts {
            limit,
            no_follow: false,
        },
    ) {
        Ok(None) => return Ok(None),
        Ok(Some(f)) => f,
        Err(e) => {
            let hint = match &e {
                ReadError::NotRegular(_) => "point to a regular file",
                ReadError::TooLarge { .. } => "is this the right file?",
                _ => "check the file's permissions",
            };
            return Err(
                UserError::new(format!("cannot read {what} {}: {e}", path.display())).hint(hint),
            );
        }
    };
    let crate::fsread::FileBytes { bytes, mode, .. } = file;
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => Zeroizing::new(t.to_owned()),
        Err(_) => {
            return Err(
                UserError::new(format!("{what} {} is not UTF-8 text", path.display()))
                    .hint("the file looks binary or corrupted; restore it from a backup"),
            )
        }
    };
    Ok(Some(TextFile {
        text,
        mode: mode & 0o777,
    }))
}

/// `/dev/null` itself (or a link to it): the character device 1:3.
fn is_dev_null(path: &Path) -> bool {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let (Ok(m), Ok(null)) = (std::fs::metadata(path), std::fs::metadata("/dev/null")) else {
        return false;
    };
    m.file_type().is_char_device() && m.rdev() == null.rdev()
}

/// Polls a future that never waits on I/O (the profile loader is only
/// nominally async once given file contents) without building a runtime.
fn block_on_ready<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = TaskContext::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// Where the AWS files are, from the environment as the AWS CLI reads it.
pub(crate) fn credentials_path(env: &Env) -> PathBuf {
    path_from_env(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials")
}

/// `$AWS_CONFIG_FILE`, else `~/.aws/config`.
pub(crate) fn config_path(env: &Env) -> PathBuf {
    path_from_env(env, "AWS_CONFIG_FILE", "config")
}

fn path_from_env(env: &Env, var: &str, file: &str) -> PathBuf {
    match env.path(var) {
        Some(p) => env.expand_tilde(p),
        None => env.home().join(".aws").join(file),
    }
}

/// Both AWS files, parsed.
pub struct AwsFiles {
    pub(crate) credentials_path: PathBuf,
    pub(crate) config_path: PathBuf,
    profiles: ProfileSet,
    credentials_sections: Vec<String>,
    /// Problems worth a warning (a credentials file others can read).
    pub(crate) warnings: Vec<String>,
}

impl AwsFiles {
    pub(crate) fn load(env: &Env) -> Result<Self, UserError> {
        Self::load_from(credentials_path(env), config_path(env))
    }

    /// Reads both files from explicit paths (the fuzz target and tests pass scratch files).
    pub fn load_from(credentials_path: PathBuf, config_path: PathBuf) -> Result<Self, UserError> {
        let credentials_file = read_text_file(&credentials_path, "AWS credentials file")?;
        let mut warnings = Vec::new();
        if let Some(f) = credentials_file.as_ref().filter(|f| f.readable_by_others()) {
            warnings.push(format!(
                "{} has mode {:04o}: other users can read your long-term keys; run `chmod 600 {}`",
                credentials_path.display(),
                f.mode,
                credentials_path.display()
            ));
        }
        // The credentials text holds the long-term keys: wiped on drop.
        let credentials: Zeroizing<String> = credentials_file.map(|f| f.text).unwrap_or_default();
        let config = read_text_file(&config_path, "AWS config file")?
            .map(|f| f.text)
            .unwrap_or_default();
        let files = ProfileFiles::builder()
            .with_contents(ProfileFileKind::Credentials, credentials.to_string())
            .with_contents(ProfileFileKind::Config, config.to_string())
            .build();
        let env = SdkEnv::from_slice(&[]);
        let fs = Fs::from_slice(&[]);
        let profiles =
            block_on_ready(aws_config::profile::load(&fs, &env, &files, None)).map_err(|e| {
                // Which file failed is not in the parser's error; find it by
                // parsing each file alone.
                let culprit = [
                    (
                        &credentials_path,
                        credentials.as_str(),
                        ProfileFileKind::Credentials,
                    ),
                    (&config_path, config.as_str(), ProfileFileKind::Config),
                ]
                .into_iter()
                .find(|(_, text, kind)| {
                    let one = ProfileFiles::builder()
                        .include_default_credentials_file(false)
                        .include_default_config_file(false)
                        .with_contents(*kind, text.to_string())
                        .build();
                    block_on_ready(aws_config::profile::load(&fs, &env, &one, None)).is_err()
                })
                .map(|(p, _, _)| p.display().to_string())
                .unwrap_or_else(|| "the AWS config files".into());
                let detail = e
                    .to_string()
                    .replace("error parsing  on", "error on")
                    .replace('\n', " ");
                UserError::new(format!("cannot parse {culprit}: {detail}")).hint(
                    "fix the INI syntax: sections look like [name], settings like key = value",
                )
            })?;
        let credentials_sections = editor::sdk_section_names(&credentials);
        Ok(Self {
            credentials_path,
            config_path,
            profiles,
            credentials_sections,
            warnings,
        })
    }

    /// The merged profile of that name, if either file has it.
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.get_profile(name)
    }

    /// Every profile name, sorted, so listings and errors are stable.
    pub fn profile_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.profiles.profiles().map(str::to_owned).collect();
        names.sort();
        names
    }

    /// Profiles that describe an assumable role (have `role_arn`).
    pub fn role_profiles(&self) -> Vec<(String, &Profile)> {
        let mut out: Vec<(String, &Profile)> = self
            .profiles
            .profiles()
            .filter_map(|n| self.profile(n).map(|p| (n.to_owned(), p)))
            .filter(|(_, p)| p.get("role_arn").is_some())
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The long-term keys of `profile`, or an error naming what was read.
    pub fn long_term_keys(&self, profile: &str) -> Result<LongTermKeys, UserError> {
        let p = self.profile(profile);
        let id = p.and_then(|p| p.get("aws_access_key_id"));
        let secret = p.and_then(|p| p.get("aws_secret_access_key"));
        match (id, secret) {
            (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => {
                if p.and_then(|p| p.get("aws_session_token")).is_some() {
                    return Err(UserError::new(format!(
                        "profile [{profile}] in {} holds temporary credentials (it has aws_session_token), not a bastion user's long-term keys",
                        self.credentials_path.display()
                    ))
                    .hint("set [bastion] profile in the mfacli config (or --profile) to the section with your IAM user's access key"));
                }
                Ok(LongTermKeys {
                    access_key_id: id.to_owned(),
                    secret_access_key: Secret::new(secret),
                })
            }
            _ => {
                let found = if p.is_none() {
                    "there is no such section"
                } else {
                    "the section has no aws_access_key_id/aws_secret_access_key"
                };
                // Profiles that do hold keys: the likely meant ones.
                let with_keys: Vec<String> = self
                    .profile_names()
                    .into_iter()
                    .filter(|n| {
                        self.profile(n)
                            .is_some_and(|p| p.get("aws_access_key_id").is_some())
                    })
                    .collect();
                let meant = if p.is_none() {
                    crate::error::did_you_mean(profile, with_keys.iter().map(String::as_str))
                } else {
                    None
                };
                let suggestion = meant
                    .map(|s| format!("; did you mean '{s}'?"))
                    .unwrap_or_default();
                let known = if with_keys.is_empty() {
                    String::new()
                } else {
                    format!(" (profiles with keys: {})", with_keys.join(", "))
                };
                Err(UserError::new(format!(
                    "no long-term keys for profile '{profile}': read [{profile}] in {} and [profile {profile}] in {}, and {found}{suggestion}{known}",
                    self.credentials_path.display(),
                    self.config_path.display()
                ))
                .hint(match meant {
                    // A typo: creating a profile under the mistyped name is not the fix.
                    Some(s) => format!(
                        "use --profile {s} (or correct [bastion] profile in the mfacli config, or $MFACLI_PROFILE)"
                    ),
                    None => format!(
                        "add the bastion IAM user's keys with `aws configure --profile {profile}`, or choose another profile with --profile"
                    ),
                }))
            }
        }
    }

    /// Whether the credentials file has a `[name]` section (keys can be written there).
    pub fn has_credentials_section(&self, name: &str) -> bool {
        self.credentials_sections.iter().any(|s| s == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(creds: &str, config: &str) -> (tempfile::TempDir, Result<AwsFiles, UserError>) {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join("credentials");
        let g = dir.path().join("config");
        std::fs::write(&c, creds).unwrap();
        std::fs::write(&g, config).unwrap();
        let loaded = AwsFiles::load_from(c, g);
        (dir, loaded)
    }

    #[test]
    fn reads_keys_and_role_profiles() {
        let (_d, f) = files(
            "[bastion]\naws_access_key_id = AKIAX\naws_secret_access_key = s3cr3t\n",
            "[profile prod]\nrole_arn = arn:aws:iam::222222222222:role/P\nsource_profile = bastion\n",
        );
        let f = f.unwrap();
        let k = f.long_term_keys("bastion").unwrap();
        assert_eq!(k.access_key_id, "AKIAX");
        assert_eq!(k.secret_access_key.expose(), "s3cr3t");
        assert_eq!(f.role_profiles().len(), 1);
        let err = f.long_term_keys("nope").unwrap_err().to_string();
        assert!(
            err.contains("[nope]") && err.contains("credentials"),
            "{err}"
        );
    }

    #[test]
    fn garbage_names_the_file() {
        let (_d, f) = files("this is not ini\n", "");
        let err = f.err().unwrap().to_string();
        assert!(err.contains("credentials"), "{err}");
    }
}
