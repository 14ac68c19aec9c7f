//! `mfacli doctor`: checks the setup and says what to fix. It reads the
//! config, the AWS files and the cache, and makes one STS call per bastion
//! profile (GetCallerIdentity with the long-term keys, which also measures
//! the clock). It never asks for an MFA code, never calls GetSessionToken or
//! AssumeRole, and never prints a secret.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;

mod mfa;

use crate::aws_files::AwsFiles;
use crate::cache::Cache;
use crate::chain;
use crate::config::Config;
use crate::env::Env;
use crate::error::UserError;
use crate::output::human_left;
use crate::plan::{Overrides, Plan, Sources};
use crate::secret::LongTermKeys;
use crate::sts::{Endpoint, Signer, StsClient, StsError, StsErrorKind};
use crate::types::{Partition, SessionDuration};

/// Skew beyond which signatures (and MFA codes) fail.
pub(crate) const SKEW_ERROR_SECS: i64 = 300;
/// Skew at which TOTP codes start to land in the wrong 30 s step.
pub(crate) const SKEW_WARN_SECS: i64 = 30;
/// Long-term keys older than this should be rotated.
pub(crate) const KEY_MAX_AGE_DAYS: i64 = 90;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    Ok,
    /// Not checked (no cached session, not allowed, not asked for): neither
    /// ok nor a problem.
    Skip,
    Warn,
    Error,
}

impl Status {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Skip => "skip",
            Status::Warn => "warn",
            Status::Error => "error",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Check {
    pub(crate) status: Status,
    pub(crate) check: String,
    pub(crate) detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) fix: Option<String>,
}

#[derive(Debug, Default)]
pub(crate) struct Report {
    pub(crate) checks: Vec<Check>,
}

impl Report {
    fn push(
        &mut self,
        status: Status,
        check: impl Into<String>,
        detail: impl Into<String>,
        fix: Option<String>,
    ) {
        self.checks.push(Check {
            status,
            check: check.into(),
            detail: detail.into(),
            fix,
        });
    }
    fn ok(&mut self, check: impl Into<String>, detail: impl Into<String>) {
        self.push(Status::Ok, check, detail, None);
    }
    fn skip(&mut self, check: impl Into<String>, detail: impl Into<String>) {
        self.push(Status::Skip, check, detail, None);
    }
    fn warn(
        &mut self,
        check: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.push(Status::Warn, check, detail, Some(fix.into()));
    }
    fn error(
        &mut self,
        check: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.push(Status::Error, check, detail, Some(fix.into()));
    }
    fn user_error(&mut self, check: impl Into<String>, e: &UserError) {
        let fix = e.hint.clone().unwrap_or_else(|| "see the message".into());
        self.error(check, e.message.clone(), fix);
    }

    pub(crate) fn count(&self, s: Status) -> usize {
        self.checks.iter().filter(|c| c.status == s).count()
    }

    /// The report for a person; `color`: the status words in colour (a
    /// terminal without NO_COLOR).
    pub(crate) fn render_text(&self, color: bool) -> String {
        let mut s = String::new();
        for c in &self.checks {
            let label = format!("{:<5}", c.status.label());
            let label = match (color, c.status) {
                (false, _) => label,
                (true, Status::Ok) => format!("\x1b[32m{label}\x1b[0m"),
                (true, Status::Skip) => format!("\x1b[2m{label}\x1b[0m"),
                (true, Status::Warn) => format!("\x1b[33m{label}\x1b[0m"),
                (true, Status::Error) => format!("\x1b[31m{label}\x1b[0m"),
            };
            s.push_str(&format!("{label}  {}: {}\n", c.check, c.detail));
            if let Some(fix) = &c.fix {
                s.push_str(&format!("       fix: {fix}\n"));
            }
        }
        let (w, e) = (self.count(Status::Warn), self.count(Status::Error));
        let skipped = match self.count(Status::Skip) {
            0 => String::new(),
            n => format!("{n} not checked, "),
        };
        s.push_str(&format!(
            "{} check{}: {} ok, {skipped}{w} warning{}, {e} error{}\n",
            self.checks.len(),
            plural(self.checks.len()),
            self.count(Status::Ok),
            plural(w),
            plural(e)
        ));
        s
    }

    pub(crate) fn render_json(&self) -> String {
        let v = serde_json::json!({
            "ok": self.count(Status::Error) == 0,
            "errors": self.count(Status::Error),
            "warnings": self.count(Status::Warn),
            "checks": self.checks,
        });
        format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default())
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// What [bastion] says that still parses, when the whole config does not.
fn salvage(path: &Path) -> Config {
    let mut c = Config::default();
    let table = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok());
    if let Some(toml::Value::Table(b)) = table.as_ref().and_then(|t| t.get("bastion")) {
        c.bastion.profile = b.get("profile").and_then(|v| v.as_str()).map(str::to_owned);
        c.bastion.mfa_serial = b
            .get("mfa_serial")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse().ok());
        c.bastion.region = b
            .get("region")
            .and_then(|v| v.as_str())
            .filter(|r| crate::types::check_region(r).is_ok())
            .map(str::to_owned);
    }
    c
}

/// `AKIA…E001`: enough to recognise a key, not the whole id.
pub(crate) fn short_key(id: &str) -> String {
    if id.len() > 8 && id.is_ascii() {
        format!("{}…{}", &id[..4], &id[id.len() - 4..])
    } else {
        id.to_owned()
    }
}

/// Runs every check. Never fails: a failed step is an error line. With
/// `check_mfa`, also one GetSessionToken per TOTP device (each spends a code).
pub(crate) fn diagnose(
    overrides: Overrides,
    env: Env,
    wanted: &[String],
    check_mfa: bool,
    check_roles: bool,
) -> Report {
    let mut r = Report::default();
    let (config_path, _) = crate::config::config_path(overrides.config.as_deref(), &env);
    let (config, config_failed) =
        check_config(&mut r, &config_path, overrides.config.as_deref(), &env);
    let aws = match AwsFiles::load(&env) {
        Ok(a) => a,
        Err(e) => {
            r.user_error("aws files", &e);
            return r;
        }
    };
    let sources = Sources {
        config,
        aws,
        overrides,
        env,
        flag_policy: None,
    };
    let names: Vec<String> = if wanted.is_empty() {
        sources
            .target_names()
            .into_iter()
            .map(|(n, _)| n.to_string())
            .collect()
    } else {
        wanted.to_vec()
    };
    let plans: Vec<(String, Result<Plan, UserError>)> =
        names.iter().map(|n| (n.clone(), sources.plan(n))).collect();
    let keys = check_keys(&mut r, &sources, &plans);
    for (profile, k) in &keys {
        check_key_age(&mut r, &sources, profile, &k.access_key_id);
    }
    check_sts_per_profile(&mut r, &sources, &plans, &keys);
    if check_mfa {
        let first = plans
            .iter()
            .filter_map(|(_, p)| p.as_ref().ok())
            .find_map(|p| keys.get(&p.bastion_profile).map(|k| (p, k)));
        match first {
            Some((p, k)) => mfa::check_devices(&mut r, &sources, p, k),
            None => r.warn(
                "mfa device",
                "not checked: no target with working bastion keys",
                "fix the errors above, then run `mfacli doctor --check-mfa` again",
            ),
        }
    }

    let cache = sources.cache();
    let now = Utc::now();
    check_sessions(&mut r, &cache, &plans, &keys, now);
    if plans.is_empty() && config_failed {
        r.warn(
            "targets",
            "the mfacli config's targets were not read (see the config error)",
            "fix the config error above, then run `mfacli doctor` again",
        );
    } else if plans.is_empty() {
        r.warn(
            "targets",
            "none defined",
            format!(
                "run `mfacli init`, or add [targets.NAME] to {} or a [profile NAME] with role_arn to {}",
                config_path.display(),
                sources.aws.config_path.display()
            ),
        );
    }
    for (name, p) in &plans {
        let check = format!("target {name}");
        match p {
            Err(e) => r.user_error(check, e),
            Ok(p) => {
                let k = keys.get(&p.bastion_profile);
                // The role cache is keyed as the chain keys it: by the key
                // id, or by the profile when the key is in the keyring.
                let tag = k.and_then(|_| {
                    crate::keystore::key_source(&sources)
                        .and_then(|s| s.key_tag(&p.bastion_profile))
                        .ok()
                });
                check_target(&mut r, &check, &cache, p, tag.as_deref(), now);
                if check_roles {
                    check_role(&mut r, &check, &cache, p, k);
                }
            }
        }
    }
    r
}

/// `--check-roles`: AssumeRole through the cached MFA session (no MFA
/// code), so a trust policy that refuses, e.g. for a missing or wrong
/// sts:ExternalId, shows here instead of at the first real use.
fn check_role(r: &mut Report, check: &str, cache: &Cache, p: &Plan, k: Option<&LongTermKeys>) {
    let t = &p.target;
    let Some(k) = k else {
        r.skip(check, "trust policy not checked: no long-term keys");
        return;
    };
    if t.duration.secs() > SessionDuration::CHAINED_MAX {
        r.skip(
            check,
            format!("trust policy not checked: {} is over 1h, so AssumeRole needs an MFA code of its own, and doctor never asks for one", t.duration),
        );
        return;
    }
    let session = chain::cached_session(cache, k, &p.mfa_serial, &p.endpoint)
        .map(|e| e.credentials)
        .filter(|c| c.seconds_left(Utc::now()) > 0);
    let Some(session) = session else {
        r.skip(
            check,
            "trust policy not checked: no MFA session is cached (run `mfacli env --bastion > /dev/null`, then doctor --check-roles again)",
        );
        return;
    };
    let result = StsClient::new(p.endpoint.clone()).and_then(|sts| {
        sts.assume_role(
            Signer::Temporary(&session),
            &t.role_arn,
            &t.session_name,
            SessionDuration::from_secs(900),
            t.external_id.as_ref(),
            None,
        )
    });
    match result {
        Ok(_) => r.ok(
            check,
            format!(
                "the trust policy of {} accepts the MFA session{}",
                t.role_arn,
                if t.external_id.is_some() {
                    " with its external id"
                } else {
                    ""
                }
            ),
        ),
        Err(e) => r.user_error(check, &chain::assume_role_error(e, t)),
    }
}

/// The mfacli config: parses, and its warnings. A broken config is an
/// error line and what can be salvaged of it (true: it failed), so the
/// other checks still run, on the user's bastion profile.
fn check_config(r: &mut Report, path: &Path, flag: Option<&Path>, env: &Env) -> (Config, bool) {
    match Config::load(flag, env) {
        Ok(c) => {
            let what = if c.path.is_some() {
                format!(
                    "{} parses ({} target{})",
                    path.display(),
                    c.targets.len(),
                    plural(c.targets.len())
                )
            } else {
                format!(
                    "no file at {} (targets can still come from the AWS config)",
                    path.display()
                )
            };
            r.ok("config", what);
            for w in &c.warnings {
                r.warn(
                    "config",
                    w.clone(),
                    "remove the key or fix its spelling; see the configuration reference: `man mfacli`, or the book (docs/)",
                );
            }
            (c, false)
        }
        Err(e) => {
            r.user_error("config", &e);
            // Keep what can be read of [bastion] (profile, mfa_serial), so
            // the checks below look at the user's bastion profile, not at
            // `default` with misleading follow-on errors.
            (salvage(path), true)
        }
    }
}

/// The long-term keys of every bastion profile in use (first the one a
/// plain command would use), and the modes of the files that hold them.
fn check_keys(
    r: &mut Report,
    sources: &Sources,
    plans: &[(String, Result<Plan, UserError>)],
) -> BTreeMap<String, LongTermKeys> {
    let mut profiles: Vec<String> = Vec::new();
    for p in plans.iter().filter_map(|(_, p)| p.as_ref().ok()) {
        if !profiles.contains(&p.bastion_profile) {
            profiles.push(p.bastion_profile.clone());
        }
    }
    if profiles.is_empty() {
        profiles.push(sources.bastion_profile(None));
    }
    let mut keys = BTreeMap::new();
    let creds_path = sources.aws.credentials_path.as_path();
    let mut files_with_keys: Vec<&Path> = vec![creds_path];
    if sources.bastion().key_store == crate::keystore::KeyStoreKind::Keyring {
        check_keyring_keys(r, sources, &profiles, &mut keys);
        check_mode(r, creds_path);
        return keys;
    }
    let keyring = persistent_keyring(sources);
    for profile in &profiles {
        match sources.aws.long_term_keys(profile) {
            Ok(k) => {
                let file = if sources.aws.has_credentials_section(profile) {
                    creds_path
                } else {
                    sources.aws.config_path.as_path()
                };
                r.ok(
                    "bastion keys",
                    format!(
                        "profile '{profile}' in {} (access key {})",
                        file.display(),
                        short_key(&k.access_key_id)
                    ),
                );
                if !files_with_keys.contains(&file) {
                    files_with_keys.push(file);
                }
                if let Some(label) = keyring {
                    r.warn(
                        "plain-text key",
                        format!(
                            "the key of '{profile}' is in plain text in {} while {label} is usable",
                            file.display()
                        ),
                        format!("move it: `mfacli keys import --profile {profile}`"),
                    );
                }
                keys.insert(profile.clone(), k);
            }
            Err(e) => r.user_error("bastion keys", &e),
        }
    }
    // The credentials file always, and any other file with keys.
    for file in &files_with_keys {
        check_mode(r, file);
    }
    keys
}

/// A desktop keyring that keeps keys across reboots (Secret Service,
/// Keychain) and answers: worth moving a plain-text key into. The kernel
/// keyring forgets at reboot, so it is not pushed on anyone.
fn persistent_keyring(sources: &Sources) -> Option<&'static str> {
    use crate::keystore::{Backend, Keyring};
    let backend = Backend::choose(sources.bastion().keyring, &sources.env).ok()?;
    if backend == Backend::Keyutils {
        return None;
    }
    Keyring::open(backend, std::time::Duration::from_secs(5))
        .ok()
        .map(|k| k.backend.label())
}

/// `key_store = "keyring"`: the keys from the keyring, and a warning for a
/// plain-text copy left in the AWS files.
fn check_keyring_keys(
    r: &mut Report,
    sources: &Sources,
    profiles: &[String],
    keys: &mut BTreeMap<String, LongTermKeys>,
) {
    let keyring = match crate::keystore::manage::open(sources) {
        Ok(k) => k,
        Err(e) => return r.user_error("bastion keys", &e),
    };
    for profile in profiles {
        match keyring.keys(profile) {
            Ok(Some(k)) => {
                r.ok(
                    "bastion keys",
                    format!(
                        "profile '{profile}' in {} (access key {}; key_store = \"keyring\")",
                        keyring.backend.label(),
                        short_key(&k.access_key_id)
                    ),
                );
                keys.insert(profile.clone(), k);
            }
            Ok(None) => r.error(
                "bastion keys",
                format!("no key for profile '{profile}' in {} (key_store = \"keyring\")", keyring.backend.label()),
                format!("`mfacli keys add --profile {profile}`, or `mfacli keys import --profile {profile}`"),
            ),
            Err(e) => r.user_error("bastion keys", &e),
        }
        if sources.aws.long_term_keys(profile).is_ok() {
            r.warn(
                "plain-text key",
                format!(
                    "a key of '{profile}' is still in plain text in the AWS files although key_store = \"keyring\""
                ),
                format!("move it: `mfacli keys import --profile {profile}`"),
            );
        }
    }
}

/// One GetCallerIdentity per bastion profile with keys.
fn check_sts_per_profile(
    r: &mut Report,
    sources: &Sources,
    plans: &[(String, Result<Plan, UserError>)],
    keys: &BTreeMap<String, LongTermKeys>,
) {
    for (profile, k) in keys {
        let endpoint = plans
            .iter()
            .filter_map(|(_, p)| p.as_ref().ok())
            .find(|p| &p.bastion_profile == profile)
            .map(|p| Ok(p.endpoint.clone()))
            .unwrap_or_else(|| {
                let partition = sources
                    .config
                    .bastion
                    .mfa_serial
                    .as_ref()
                    .and_then(|s| s.partition())
                    .unwrap_or(Partition::Aws);
                sources.endpoint(partition, Some(profile))
            });
        match endpoint {
            Ok(endpoint) => check_sts(r, &endpoint, profile, k),
            Err(e) => r.user_error("sts", &e),
        }
    }
}

/// Cached MFA sessions, once per key, device and endpoint.
fn check_sessions(
    r: &mut Report,
    cache: &Cache,
    plans: &[(String, Result<Plan, UserError>)],
    keys: &BTreeMap<String, LongTermKeys>,
    now: DateTime<Utc>,
) {
    let mut seen: Vec<(String, String, String)> = Vec::new();
    for p in plans.iter().filter_map(|(_, p)| p.as_ref().ok()) {
        let Some(k) = keys.get(&p.bastion_profile) else {
            continue;
        };
        let id = (
            k.access_key_id.clone(),
            p.mfa_serial.to_string(),
            p.endpoint.cache_scope(),
        );
        if !seen.contains(&id) {
            seen.push(id);
            check_session(r, cache, p, k, now);
        }
    }
}

fn check_mode(r: &mut Report, file: &Path) {
    let check = "file mode";
    match std::fs::metadata(file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            r.ok(check, format!("{} does not exist", file.display()));
        }
        Err(e) => r.error(
            check,
            format!("cannot read {}: {e}", file.display()),
            "check the file's permissions",
        ),
        Ok(m) => {
            let mode = m.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                r.warn(
                    check,
                    format!(
                        "{} is mode {mode:04o}: other users can read the long-term keys",
                        file.display()
                    ),
                    format!("chmod 600 {}", file.display()),
                );
            } else {
                r.ok(check, format!("{} is mode {mode:04o}", file.display()));
            }
        }
    }
}

/// The key's real age from iam:ListAccessKeys, signed with the cached MFA
/// session only: doctor never asks for a code.
fn check_key_age(r: &mut Report, sources: &Sources, profile: &str, access_key_id: &str) {
    let check = "key age";
    let key = short_key(access_key_id);
    let own_profile = sources
        .bastion_plan()
        .is_ok_and(|p| p.bastion_profile == profile);
    if !own_profile {
        r.skip(
            check,
            format!("not checked for {key}: [{profile}] is not the bastion profile of `--bastion`"),
        );
        return;
    }
    let log = crate::log::Log::new(crate::log::Level::Quiet, &sources.env);
    match crate::bastion::cached_key_created(sources, &log) {
        Ok(None) => r.skip(
            check,
            format!(
                "not checked for {key}: no MFA session is cached, and doctor never asks for a code (run `mfacli env --bastion > /dev/null`, then doctor again)"
            ),
        ),
        Ok(Some(None)) => r.warn(
            check,
            format!("{key} is not among the IAM user's access keys (iam:ListAccessKeys)"),
            format!("check that [{profile}] and mfa_serial belong to the same IAM user"),
        ),
        Ok(Some(Some(created))) => {
            let days = (Utc::now() - created).num_days();
            let detail = format!(
                "{key} is {days} days old (created {}, from iam:ListAccessKeys)",
                created.format("%Y-%m-%d")
            );
            if days > KEY_MAX_AGE_DAYS {
                r.warn(
                    check,
                    detail,
                    format!("rotate it: `mfacli rotate` (older than {KEY_MAX_AGE_DAYS} days)"),
                );
            } else {
                r.ok(check, detail);
            }
        }
        Err(e) if e.message.contains("AccessDenied") => r.skip(
            check,
            format!(
                "not checked for {key}: the bastion policy does not allow iam:ListAccessKeys (`mfacli policy bastion --self-manage-mfa` does)"
            ),
        ),
        Err(e) => r.warn(
            check,
            format!("could not read the age of {key}: {}", e.message),
            e.hint.unwrap_or_else(|| {
                "attach the policy from `mfacli policy bastion --self-manage-mfa`".into()
            }),
        ),
    }
}

fn is_clock_rejection(e: &StsError) -> bool {
    matches!(&e.kind, StsErrorKind::Service { code, message }
        if code == "SignatureDoesNotMatch" && (message.starts_with("Signature expired") || message.starts_with("Signature not yet current")))
}

fn check_clock(r: &mut Report, skew: Option<i64>, answered: bool) {
    let check = "clock";
    let Some(s) = skew else {
        let why = if answered {
            "STS sent no Date header"
        } else {
            "STS did not answer"
        };
        r.skip(check, format!("not checked ({why})"));
        return;
    };
    let dir = if s > 0 { "behind" } else { "ahead of" };
    let fix = "fix this machine's clock (enable NTP, e.g. `timedatectl set-ntp true`): skew breaks request signatures and MFA codes";
    if s.abs() > SKEW_ERROR_SECS {
        r.error(check, format!("this machine's clock is {}s {dir} STS's (from its Date header): over 5 min, AWS rejects requests signed with this time and TOTP codes are wrong", s.abs()), fix);
    } else if s.abs() > SKEW_WARN_SECS {
        r.warn(
            check,
            format!(
                "this machine's clock is {}s {dir} STS's; MFA codes may be rejected",
                s.abs()
            ),
            fix,
        );
    } else {
        r.ok(check, format!("within {}s of STS's clock", s.abs().max(1)));
    }
}

fn check_sts(r: &mut Report, endpoint: &Endpoint, profile: &str, k: &LongTermKeys) {
    let check = "sts";
    let client = match StsClient::new(endpoint.clone()) {
        Ok(c) => c,
        Err(e) => {
            r.error(check, e.to_string(), e.hint().unwrap_or_default());
            return;
        }
    };
    match client.get_caller_identity_with_skew(Signer::LongTerm(k)) {
        Ok((id, skew)) => {
            r.ok(
                check,
                format!(
                    "the keys of profile '{profile}' work: {} (GetCallerIdentity at {})",
                    id.arn, endpoint.url
                ),
            );
            check_clock(r, skew, true);
        }
        Err(e) => {
            let key = short_key(&k.access_key_id);
            // Hints name the profile in general terms; here it is known.
            let fix = e
                .hint()
                .unwrap_or_else(|| "see the message".into())
                .replace("--profile PROFILE", &format!("--profile {profile}"));
            let skewed = e.skew_secs.is_some_and(|s| s.abs() > SKEW_ERROR_SECS);
            match e.code() {
                _ if is_clock_rejection(&e) && skewed => r.warn(
                    check,
                    format!("the keys of profile '{profile}' were not verified: STS rejected the request's timestamp (see clock)"),
                    "fix the clock, then run `mfacli doctor` again",
                ),
                Some("InvalidClientTokenId") => r.error(
                    check,
                    format!("STS does not know access key {key} of profile '{profile}' (InvalidClientTokenId)"),
                    fix,
                ),
                Some("SignatureDoesNotMatch") if !is_clock_rejection(&e) => r.error(
                    check,
                    format!("the secret access key of profile '{profile}' does not match access key {key} (SignatureDoesNotMatch)"),
                    fix,
                ),
                _ => r.error(check, format!("profile '{profile}': {e}"), fix),
            }
            let answered = matches!(e.kind, StsErrorKind::Service { .. });
            check_clock(r, e.skew_secs, answered);
        }
    }
}

fn check_session(r: &mut Report, cache: &Cache, p: &Plan, k: &LongTermKeys, now: DateTime<Utc>) {
    let check = "mfa session";
    match chain::cached_session(cache, k, &p.mfa_serial, &p.endpoint) {
        None => r.ok(
            check,
            format!(
                "{}: none cached (the next command asks for an MFA code)",
                p.mfa_serial
            ),
        ),
        Some(e) => {
            let left = e.credentials.seconds_left(now);
            if left > 0 {
                // STS may have forgotten it (revoked, or another STS): ask,
                // with the session itself; this needs no MFA code.
                let rejected = StsClient::new(p.endpoint.clone())
                    .and_then(|c| c.get_caller_identity(Signer::Temporary(&e.credentials)))
                    .err()
                    .filter(|e| e.is_invalid_token() || e.is_expired_token());
                match rejected {
                    Some(err) => r.warn(
                        check,
                        format!(
                            "{}: the cached session ({} left by its clock) is rejected by STS: {}",
                            p.mfa_serial,
                            human_left(left),
                            err.code().unwrap_or("rejected")
                        ),
                        "nothing to repair by hand: the next command drops it and asks for one MFA code (or run `mfacli clear --all` now)",
                    ),
                    None => r.ok(
                        check,
                        format!("{}: {} left", p.mfa_serial, human_left(left)),
                    ),
                }
            } else {
                r.warn(
                    check,
                    format!("{}: the cached session expired {} ago", p.mfa_serial, human_left(-left)),
                    "nothing to repair: the next command asks for one MFA code and starts a new session",
                );
            }
        }
    }
}

fn check_target(
    r: &mut Report,
    check: &str,
    cache: &Cache,
    p: &Plan,
    tag: Option<&str>,
    now: DateTime<Utc>,
) {
    let t = &p.target;
    let mut detail = format!("{} ({}, {})", t.role_arn, t.duration, t.origin.label());
    let creds = match tag {
        None => "credentials not checked (no long-term keys)".to_owned(),
        Some(tag) => match chain::RoleSlot::new(p, tag).read(cache) {
            Some(e) if e.credentials.is_fresh(now, 0) => format!(
                "cached credentials, {} left",
                human_left(e.credentials.seconds_left(now))
            ),
            Some(_) => "cached credentials expired (the next use fetches new ones)".to_owned(),
            None => "none cached".to_owned(),
        },
    };
    detail.push_str(&format!("; {creds}"));
    if t.duration.secs() > SessionDuration::CHAINED_MAX {
        detail.push_str(&format!(
            "; {} is over 1h, so every fetch needs its own MFA code (AWS caps roles assumed from an MFA session at 1h)",
            t.duration
        ));
        r.warn(
            check,
            detail,
            "set duration = \"1h\" (or less) to reuse the daily MFA session, unless one code per fetch is what you want",
        );
    } else {
        r.ok(check, detail);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_and_rendering() {
        assert_eq!(short_key("AKIAALICE0EXAMPLE001"), "AKIA…E001");
        let mut r = Report::default();
        r.ok("config", "fine");
        r.warn("file mode", "loose", "chmod 600 x");
        r.error("sts", "bad", "fix it");
        let t = r.render_text(false);
        assert!(t.contains("ok     config: fine\n"), "{t}");
        assert!(
            t.contains("warn   file mode: loose\n       fix: chmod 600 x\n"),
            "{t}"
        );
        assert!(t.contains("error  sts: bad\n"), "{t}");
        assert!(t.contains("1 warning, 1 error"), "{t}");
        let j: serde_json::Value = serde_json::from_str(&r.render_json()).unwrap();
        assert_eq!(j["ok"], false);
        assert_eq!(j["checks"][1]["status"], "warn");
        assert!(j["checks"][0].get("fix").is_none());
    }
}
