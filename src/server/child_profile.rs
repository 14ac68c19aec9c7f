//! The AWS profile an `exec --server` child runs with, so that every SDK
//! takes the server's credentials.
//!
//! The SDKs read the profile before the container endpoint: keys or a
//! `credential_process` in `[default]` (either file), a `role_arn`, SSO or
//! web identity settings would all win over the server, and the command
//! would silently run as another identity (issue 25). Removing keys one by
//! one cannot keep up with every way a profile names credentials, so the
//! child gets a profile of its own instead: `AWS_PROFILE=mfacli-exec`,
//! defined in a copy of the user's config file that ends with
//! `[profile mfacli-exec]`, holding only those settings of `[default]`
//! that cannot name credentials (region, output, retries, endpoints…).
//! No file has credentials for it, so every SDK goes on to the server.
//! Everything else (other profiles, `[sso-session]`, `[services]`) is the
//! user's own text, and the credentials file is the user's own (it has no
//! `[mfacli-exec]`), so `--profile other` still works in the child.

use std::path::{Path, PathBuf};

use crate::aws_files::{self, AwsFiles};
use crate::cache::Cache;
use crate::error::UserError;

/// The profile the child runs with.
pub(crate) const CHILD_PROFILE: &str = "mfacli-exec";

/// Settings of `[default]` the child's profile keeps: none of them can
/// name or produce credentials. Anything else (keys, `credential_process`,
/// `role_arn`, `source_profile`, `sso_*`, `web_identity_token_file`,
/// `login_session`, settings added later) is left out.
const KEPT: &[&str] = &[
    "region",
    "output",
    "cli_pager",
    "cli_timestamp_format",
    "cli_binary_format",
    "cli_follow_urlparam",
    "cli_auto_prompt",
    "cli_history",
    "ca_bundle",
    "max_attempts",
    "retry_mode",
    "parameter_validation",
    "tcp_keepalive",
    "defaults_mode",
    "use_fips_endpoint",
    "use_dualstack_endpoint",
    "endpoint_url",
    "ignore_configure_endpoint_urls",
    "services",
    "s3",
    "api_versions",
    "sts_regional_endpoints",
    "account_id_endpoint_mode",
    "request_checksum_calculation",
    "response_checksum_validation",
    "sdk_ua_app_id",
    "disable_request_compression",
    "request_min_compression_size_bytes",
    "metadata_service_timeout",
    "metadata_service_num_attempts",
];

/// The child's config file text: the user's config, then the child's
/// profile with the kept settings of `[default]` (from `[default]` and
/// `[profile default]`, in file order).
pub(crate) fn config_text(user_config: &str, default_region: Option<&str>) -> String {
    let mut out = user_config.to_owned();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!(
        "\n# Added by mfacli exec --server for the command it runs: no credentials,\n# so SDKs take them from mfacli's server.\n[profile {CHILD_PROFILE}]\n"
    ));
    match aws_files::editor::sections_of(user_config) {
        Some(sections) => {
            for (sdk_key, py_name, text) in sections {
                let is_default = |n: &str| n == "default" || n == "profile default";
                if is_default(&sdk_key) && is_default(&py_name) {
                    out.push_str(&kept_lines(&text));
                }
            }
        }
        // A text the strict model refuses: only the region, as the SDK
        // parser read it.
        None => {
            if let Some(r) = default_region {
                out.push_str(&format!("region = {r}\n"));
            }
        }
    }
    out
}

/// The kept properties of one section's text (its header line first), each
/// with its indented sub-properties, verbatim.
fn kept_lines(section: &str) -> String {
    let mut out = String::new();
    let mut keep = false;
    for line in section.lines().skip(1) {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if keep {
                out.push_str(line);
                out.push('\n');
            }
            continue;
        }
        let key = t
            .split('=')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        keep = KEPT.contains(&key.as_str());
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The child's config file, in a private directory of its own under
/// mfacli's cache directory; removed on drop.
pub(crate) struct ChildConfig {
    dir: PathBuf,
    pub(crate) file: PathBuf,
}

impl ChildConfig {
    /// Writes the config for the child of this process. Directories left
    /// by runs that were killed are removed first.
    pub(crate) fn create(cache: &Cache, aws: &AwsFiles) -> Result<Self, UserError> {
        let cache_dir = cache.dir();
        if aws.profile(CHILD_PROFILE).is_some() || aws.has_credentials_section(CHILD_PROFILE) {
            return Err(UserError::new(format!(
                "the AWS files already have a profile named '{CHILD_PROFILE}', the name exec --server gives the command's own profile"
            ))
            .hint(format!(
                "rename [{CHILD_PROFILE}] in {} or {}",
                aws.config_path.display(),
                aws.credentials_path.display()
            )));
        }
        let user = aws_files::read_text_file(&aws.config_path, "AWS config file")?;
        let region = aws
            .profile("default")
            .and_then(|p| p.get("region"))
            .map(str::to_owned);
        let text = zeroize::Zeroizing::new(config_text(
            user.as_ref().map_or("", |f| f.text.as_str()),
            region.as_deref(),
        ));
        let cannot = |e: std::io::Error, what: &Path| {
            UserError::new(format!(
                "cannot write the command's AWS config in {}: {e}",
                what.display()
            ))
            .hint("check that mfacli's cache directory is yours and writable (or set MFACLI_CACHE_DIR)")
        };
        cache.ensure_dir().map_err(|e| cannot(e, cache_dir))?;
        remove_stale(cache_dir);
        let dir = cache_dir.join(format!("exec-{}", std::process::id()));
        // A directory of this pid is from a dead run (pids are reused).
        let _ = std::fs::remove_dir_all(&dir);
        {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&dir)
                .map_err(|e| cannot(e, &dir))?;
        }
        let file = dir.join("config");
        crate::cache::write_atomic(&file, text.as_bytes(), 0o600, false)
            .map_err(|e| cannot(e, &file))?;
        Ok(Self { dir, file })
    }
}

impl Drop for ChildConfig {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Removes `exec-PID` directories whose process is gone.
fn remove_stale(cache_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(cache_dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("exec-"))
            .and_then(|p| p.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        // SAFETY: kill(2) with signal 0 only checks that the pid exists.
        let gone = unsafe { libc::kill(pid, 0) } != 0
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if gone {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_childs_profile_keeps_settings_and_never_credentials() {
        let user = "[default]\nregion = eu-west-3\naws_access_key_id = AKIA1\naws_secret_access_key = x\ncredential_process = /bin/evil\n# a comment\noutput = text\ns3 =\n  addressing_style = path\nrole_arn = arn:aws:iam::1:role/r\n  odd = continuation\nsource_profile = other\nsso_session = corp\nlogin_session = arn\nweb_identity_token_file = /t\nsome_future_key = 1\n\n[profile other]\nregion = us-east-1\ncredential_process = /bin/other";
        let out = config_text(user, Some("eu-west-3"));
        assert!(out.starts_with(user), "the user's text first, verbatim");
        let added = &out[user.len()..];
        let (_, profile) = added.split_once("[profile mfacli-exec]\n").unwrap();
        assert_eq!(
            profile,
            "region = eu-west-3\noutput = text\ns3 =\n  addressing_style = path\n"
        );
    }

    #[test]
    fn profile_default_counts_and_an_unreadable_layout_keeps_the_region() {
        let out = config_text("[profile default]\nregion = r1\nmfa_serial = m\n", None);
        assert!(
            out.ends_with("[profile mfacli-exec]\nregion = r1\n"),
            "{out}"
        );
        let out = config_text("", None);
        assert!(out.ends_with("[profile mfacli-exec]\n"), "{out}");
        // `[ default ]` is the default profile to the SDKs (they trim the
        // name) but not to botocore: nothing of it is copied.
        let out = config_text("[ default ]\nregion = r1\n", Some("r1"));
        assert!(out.ends_with("[profile mfacli-exec]\n"), "{out}");
    }

    #[test]
    fn the_added_profile_follows_the_users_text_on_a_line_of_its_own() {
        let header = "\n# Added by mfacli exec --server for the command it runs: no credentials,\n# so SDKs take them from mfacli's server.\n[profile mfacli-exec]\n";
        assert_eq!(config_text("", None), header);
        assert_eq!(
            config_text("[default]\nregion = r1", None),
            format!("[default]\nregion = r1\n{header}region = r1\n")
        );
        assert_eq!(
            config_text("[default]\nregion = r1\n", None),
            format!("[default]\nregion = r1\n{header}region = r1\n")
        );
        // Comments of both kinds and blank lines are not copied; an
        // indented line goes with the property above it only.
        assert_eq!(
            kept_lines("[default]\n; c\n# c\n\n  stray = 1\nregion = r\n  sub = 2\nrole_arn = a\n  sub = 3\n"),
            "region = r\n  sub = 2\n"
        );
        // A comment or a blank line does not end a kept property's
        // indented lines.
        for between in ["# c\n", "; c\n", "\n"] {
            assert_eq!(
                kept_lines(&format!(
                    "[default]\ns3 =\n{between}  addressing_style = path\n"
                )),
                "s3 =\n  addressing_style = path\n",
                "{between:?}"
            );
        }
    }

    fn aws_files(dir: &Path, config: &str, credentials: &str) -> AwsFiles {
        let (cfg, creds) = (dir.join("config"), dir.join("credentials"));
        std::fs::write(&cfg, config).unwrap();
        std::fs::write(&creds, credentials).unwrap();
        AwsFiles::load_from(creds, cfg).unwrap()
    }

    #[test]
    fn the_childs_config_is_private_replaces_dead_runs_and_goes_with_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let aws = aws_files(
            dir.path(),
            "[default]\nregion = eu-west-3\ncredential_process = /bin/evil\n",
            "[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = x\n",
        );
        let cache = Cache::new(dir.path().join("cache"));
        cache.ensure_dir().unwrap();
        // A run that is gone (a child reaped), one still running (pid 1),
        // and a directory that is not a run's.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        for d in [format!("exec-{dead}"), "exec-1".into(), "exec-x".into()] {
            std::fs::create_dir(cache.dir().join(d)).unwrap();
        }
        let c = ChildConfig::create(&cache, &aws).unwrap();
        let own = cache.dir().join(format!("exec-{}", std::process::id()));
        assert_eq!(c.file, own.join("config"));
        let text = std::fs::read_to_string(&c.file).unwrap();
        assert!(
            text.ends_with("[profile mfacli-exec]\nregion = eu-west-3\n"),
            "{text}"
        );
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode(&own), mode(&c.file)), (0o700, 0o600));
        assert!(!cache.dir().join(format!("exec-{dead}")).exists());
        assert!(cache.dir().join("exec-1").exists());
        assert!(cache.dir().join("exec-x").exists());
        drop(c);
        assert!(!own.exists(), "removed with the child's config");
    }

    #[test]
    fn a_profile_named_like_the_childs_in_either_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("cache"));
        for (config, credentials) in [
            ("[profile mfacli-exec]\nregion = r\n", ""),
            ("", "[mfacli-exec]\naws_access_key_id = AKIAEXAMPLE\n"),
        ] {
            let aws = aws_files(dir.path(), config, credentials);
            let e = ChildConfig::create(&cache, &aws).err().unwrap();
            assert!(
                e.message
                    .contains("already have a profile named 'mfacli-exec'"),
                "{e}"
            );
        }
    }
}
