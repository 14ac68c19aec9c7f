//! mfacli's own TOML config, validated into typed settings. Raw file structs
//! stay private: the rest of the crate sees only checked values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;

use crate::aws_files::read_text_file;
use crate::env::Env;
use crate::error::{did_you_mean, UserError};
use crate::keystore::{Backend, KeyStoreKind};
use crate::mfa::prompt::PromptKind;
use crate::types::{
    AccountId, ExternalId, InvalidValue, MfaSerial, Partition, PolicyArn, RoleArn, SessionDuration,
    SessionName, SessionPolicy, TargetName,
};

const TOP_KEYS: &[&str] = &[
    "refresh_margin",
    "timeout",
    "lock_timeout",
    "exec_server",
    "bastion",
    "targets",
];
pub(crate) const BASTION_KEYS: &[&str] = &[
    "profile",
    "mfa_serial",
    "session_duration",
    "region",
    "totp_secret_env",
    "totp_secret_file",
    "mfa_command",
    "mfa_command_timeout",
    "mfa_deadline",
    "mfa_devices",
    "prompt",
    "key_store",
    "keyring",
    "yubikey_oath",
    "yubikey_timeout",
];
pub(crate) const DEVICE_KEYS: &[&str] = &[
    "serial",
    "totp_secret_env",
    "totp_secret_file",
    "yubikey_oath",
];
/// IAM allows this many MFA devices per user.
pub(crate) const MAX_MFA_DEVICES: usize = 8;
/// `mfa_deadline` limits: at least one 30 s step, at most an hour.
pub(crate) const MFA_DEADLINE_MIN: u32 = 30;
pub(crate) const MFA_DEADLINE_MAX: u32 = 3600;
/// Default `mfa_deadline`: 5 minutes.
pub(crate) const MFA_DEADLINE_DEFAULT: u32 = 300;
pub(crate) const TARGET_KEYS: &[&str] = &[
    "role_arn",
    "account",
    "role",
    "duration",
    "session_name",
    "external_id",
    "region",
    "exec_server",
    "from",
    "policy_arns",
    "policy",
];

#[derive(Debug, Default, Deserialize)]
struct RawConfig {
    refresh_margin: Option<String>,
    timeout: Option<String>,
    lock_timeout: Option<String>,
    exec_server: Option<bool>,
    #[serde(default)]
    bastion: RawBastion,
    #[serde(default)]
    targets: BTreeMap<String, RawTarget>,
}

#[derive(Debug, Default, Deserialize)]
struct RawBastion {
    profile: Option<String>,
    mfa_serial: Option<String>,
    session_duration: Option<String>,
    region: Option<String>,
    totp_secret_env: Option<String>,
    totp_secret_file: Option<String>,
    mfa_command: Option<String>,
    mfa_command_timeout: Option<String>,
    mfa_deadline: Option<String>,
    #[serde(default)]
    mfa_devices: Vec<RawDevice>,
    prompt: Option<String>,
    key_store: Option<String>,
    keyring: Option<String>,
    yubikey_oath: Option<String>,
    yubikey_timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct RawDevice {
    serial: Option<String>,
    totp_secret_env: Option<String>,
    totp_secret_file: Option<String>,
    yubikey_oath: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
struct RawTarget {
    from: Option<String>,
    policy_arns: Option<Vec<String>>,
    policy: Option<String>,
    role_arn: Option<String>,
    account: Option<String>,
    role: Option<String>,
    duration: Option<String>,
    session_name: Option<String>,
    external_id: Option<String>,
    region: Option<String>,
    exec_server: Option<bool>,
}

/// The `[bastion]` table, validated.
#[derive(Debug, Clone, Default)]
pub struct BastionConfig {
    pub(crate) profile: Option<String>,
    pub(crate) mfa_serial: Option<MfaSerial>,
    /// `session_duration` for GetSessionToken, within its limits.
    pub session_duration: Option<SessionDuration>,
    pub(crate) region: Option<String>,
    pub(crate) totp_secret_env: Option<String>,
    pub(crate) totp_secret_file: Option<PathBuf>,
    pub(crate) mfa_command: Option<String>,
    /// How long `mfa_command` may run before its process group is killed
    /// (default 60 s).
    pub(crate) mfa_command_timeout: Option<SessionDuration>,
    /// How long a non-interactive run keeps trying TOTP codes that STS
    /// rejects (used by another machine) before giving up.
    pub(crate) mfa_deadline: Option<SessionDuration>,
    /// `[[bastion.mfa_devices]]`: more TOTP devices of the same IAM user,
    /// each with its own seed, so parallel CI machines rarely collide.
    pub(crate) mfa_devices: Vec<MfaDeviceConfig>,
    /// Where to ask for a code (default: the terminal when there is one,
    /// else the first dialog helper found).
    pub(crate) prompt: Option<PromptKind>,
    /// Where the long-term key lives: ~/.aws/credentials or the OS keyring.
    pub(crate) key_store: KeyStoreKind,
    /// `keyring`: the keyring backend, when not the platform's own.
    pub(crate) keyring: Option<Backend>,
    /// `yubikey_oath`: the OATH account (as `ykman oath accounts list`
    /// names it) whose code `ykman` reads from a YubiKey.
    pub(crate) yubikey_oath: Option<YubikeyAccount>,
    /// How long `ykman` may wait (for a touch) before it is stopped.
    pub(crate) yubikey_timeout: Option<SessionDuration>,
    /// `[[bastion.mfa_devices]]` entries with `yubikey_oath`: more MFA
    /// devices whose codes come from YubiKeys (one key per device).
    pub(crate) yubikey_devices: Vec<YubikeyDevice>,
}

/// A YubiKey OATH account name, passed to `ykman` as one argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct YubikeyAccount(String);

impl YubikeyAccount {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for YubikeyAccount {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        // ykman would read a leading '-' as an option.
        if s.trim().is_empty()
            || s.starts_with('-')
            || s.len() > 128
            || s.chars().any(char::is_control)
        {
            return Err(InvalidValue(
                "an OATH account name as `ykman oath accounts list` shows it (e.g. \"AWS:alice\"; not empty, not starting with '-')".into(),
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

/// One `[[bastion.mfa_devices]]` entry whose codes come from a YubiKey.
#[derive(Debug, Clone)]
pub(crate) struct YubikeyDevice {
    pub(crate) serial: MfaSerial,
    pub(crate) account: YubikeyAccount,
}

/// Where a device's TOTP seed comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SeedSource {
    /// The name of an environment variable holding the base32 seed.
    Env(String),
    /// A 0600 file holding the base32 seed.
    File(PathBuf),
}

/// One `[[bastion.mfa_devices]]` entry, validated.
#[derive(Debug, Clone)]
pub(crate) struct MfaDeviceConfig {
    pub(crate) serial: MfaSerial,
    pub(crate) seed: SeedSource,
}

/// A `[targets.NAME]` table, validated.
#[derive(Debug, Clone)]
pub struct TargetConfig {
    /// The role to assume for this target.
    pub role_arn: RoleArn,
    /// `duration` for AssumeRole; `None` means the AWS default.
    pub duration: Option<SessionDuration>,
    pub(crate) session_name: Option<SessionName>,
    pub(crate) external_id: Option<ExternalId>,
    pub(crate) region: Option<String>,
    /// `exec` serves credentials from a local server for this target.
    pub(crate) exec_server: Option<bool>,
    /// `policy_arns`: managed session policies that narrow the role.
    pub(crate) policy_arns: Vec<PolicyArn>,
    /// `policy`: a file with an inline session policy (relative paths
    /// are from the config file's directory). Read when the target is
    /// planned, not here: a config load must stay cheap for every target.
    pub(crate) policy_file: Option<PathBuf>,
}

/// The whole config file, validated. `Default` is "no file".
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file it was read from; `None` when there is no config file.
    pub path: Option<PathBuf>,
    pub(crate) refresh_margin: Option<SessionDuration>,
    pub(crate) timeout: Option<SessionDuration>,
    pub(crate) lock_timeout: Option<SessionDuration>,
    /// `exec` serves credentials from a local server by default.
    pub(crate) exec_server: Option<bool>,
    /// The `[bastion]` table.
    pub bastion: BastionConfig,
    /// The `[targets.<name>]` tables, by name.
    pub targets: BTreeMap<TargetName, TargetConfig>,
    /// Unknown keys, as warnings to print (with a did-you-mean).
    pub warnings: Vec<String>,
}

/// `--config` > `$MFACLI_CONFIG` > `$XDG_CONFIG_HOME/mfacli/config.toml` >
/// `~/.config/mfacli/config.toml`. The bool says whether it was chosen
/// explicitly (then it must exist).
pub(crate) fn config_path(flag: Option<&Path>, env: &Env) -> (PathBuf, bool) {
    if let Some(p) = flag {
        return (p.to_owned(), true);
    }
    if let Some(p) = env.path("MFACLI_CONFIG") {
        return (p, true);
    }
    let base = env
        .path("XDG_CONFIG_HOME")
        .unwrap_or_else(|| env.home().join(".config"));
    (base.join("mfacli").join("config.toml"), false)
}

impl Config {
    /// Loads the config file; a missing default file is an empty config.
    pub(crate) fn load(flag: Option<&Path>, env: &Env) -> Result<Self, UserError> {
        let (path, explicit) = config_path(flag, env);
        match read_text_file(&path, "mfacli config")? {
            Some(file) if file.writable_by_others() => Err(UserError::new(format!(
                "refusing mfacli config {}: it has mode {:04o}, so other users could change it (and make mfacli run their mfa_command)",
                path.display(),
                file.mode
            ))
            .hint(format!("run `chmod go-w {}`", path.display()))),
            Some(file) => Self::parse(&file.text, &path),
            None if explicit => Err(UserError::new(format!(
                "mfacli config {} does not exist",
                path.display()
            ))
            .hint("create it (see `mfacli init`), or fix --config / MFACLI_CONFIG")),
            None => Ok(Self::default()),
        }
    }

    /// Parses and validates config text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, UserError> {
        let file = path.display().to_string();
        // One parse serves both the unknown-key warnings and the typed
        // config, spans kept for errors: this runs before every cache hit.
        let table = toml::de::DeTable::parse(text).map_err(|e| syntax(text, &file, e))?;
        let warnings = unknown_keys(table.get_ref(), &file);
        // An unknown key often is the cause of the error that follows
        // (`role-arn` for `role_arn`): say so in the error itself.
        Self::parse_known(table, text, path, &file, warnings.clone()).map_err(|mut e| {
            if !warnings.is_empty() {
                let mut hint = warnings.join("; ");
                if let Some(h) = e.hint.take() {
                    hint.push_str(&format!("; {h}"));
                }
                e.hint = Some(hint);
            }
            e
        })
    }

    fn parse_known(
        table: toml::Spanned<toml::de::DeTable<'_>>,
        text: &str,
        path: &Path,
        file: &str,
        warnings: Vec<String>,
    ) -> Result<Self, UserError> {
        let raw = RawConfig::deserialize(toml::de::Deserializer::from(table))
            .map_err(|e| syntax(text, file, e))?;
        let at = |section: &str, key: &str| format!("{file}: [{section}] {key}");
        let top = |key: &str| format!("{file}: {key}");
        let refresh_margin = field(&raw.refresh_margin, || top("refresh_margin"))?;
        let timeout = field(&raw.timeout, || top("timeout"))?;
        let lock_timeout = field(&raw.lock_timeout, || top("lock_timeout"))?;

        let b = &raw.bastion;
        let mfa_serial: Option<MfaSerial> = field(&b.mfa_serial, || at("bastion", "mfa_serial"))?;
        let session_duration = within(
            field(&b.session_duration, || at("bastion", "session_duration"))?,
            SessionDuration::SESSION_MIN,
            SessionDuration::SESSION_MAX,
            || {
                format!(
                    "{} (GetSessionToken's limits)",
                    at("bastion", "session_duration")
                )
            },
        )?;
        let partition = mfa_serial
            .as_ref()
            .and_then(MfaSerial::partition)
            .unwrap_or(Partition::Aws);
        let mfa_deadline = within(
            field(&b.mfa_deadline, || at("bastion", "mfa_deadline"))?,
            MFA_DEADLINE_MIN,
            MFA_DEADLINE_MAX,
            || at("bastion", "mfa_deadline"),
        )?;
        let (mfa_devices, yubikey_devices) =
            parse_devices(&b.mfa_devices, mfa_serial.as_ref(), file)?;
        // With only [[bastion.mfa_devices]], the first device names the MFA
        // identity (the session cache key and the default session name).
        let mfa_serial = mfa_serial
            .or_else(|| mfa_devices.first().map(|d| d.serial.clone()))
            .or_else(|| yubikey_devices.first().map(|d| d.serial.clone()));
        let bastion = BastionConfig {
            profile: b.profile.clone(),
            mfa_serial,
            session_duration,
            region: region(&b.region, || at("bastion", "region"))?,
            totp_secret_env: b.totp_secret_env.clone(),
            totp_secret_file: b.totp_secret_file.as_deref().map(PathBuf::from),
            mfa_command: b.mfa_command.clone(),
            mfa_command_timeout: field(&b.mfa_command_timeout, || {
                at("bastion", "mfa_command_timeout")
            })?,
            mfa_deadline,
            mfa_devices,
            prompt: field(&b.prompt, || at("bastion", "prompt"))?,
            key_store: field(&b.key_store, || at("bastion", "key_store"))?.unwrap_or_default(),
            keyring: field(&b.keyring, || at("bastion", "keyring"))?,
            yubikey_oath: field(&b.yubikey_oath, || at("bastion", "yubikey_oath"))?,
            yubikey_timeout: within(
                field(&b.yubikey_timeout, || at("bastion", "yubikey_timeout"))?,
                1,
                3600,
                || at("bastion", "yubikey_timeout"),
            )?,
            yubikey_devices,
        };

        let mut targets = BTreeMap::new();
        for (name, t) in &raw.targets {
            let section = format!("targets.{name}");
            let t = &inherit(name, t, &raw.targets, file)?;
            let tname: TargetName = name
                .parse()
                .map_err(|e| UserError::new(format!("{file}: [{section}]: {e}")))?;
            let role_arn = match (&t.role_arn, &t.account, &t.role) {
                (Some(arn), None, None) => arn
                    .parse::<RoleArn>()
                    .map_err(|e| UserError::new(format!("{}: {e}", at(&section, "role_arn"))))?,
                (None, Some(account), Some(role)) => {
                    let account: AccountId = account
                        .parse()
                        .map_err(|e| UserError::new(format!("{}: {e}", at(&section, "account"))))?;
                    RoleArn::new(partition, &account, role)
                        .map_err(|e| UserError::new(format!("{}: {e}", at(&section, "role"))))?
                }
                _ => {
                    return Err(UserError::new(format!(
                        "{file}: [{section}] needs either role_arn, or both account and role"
                    ))
                    .hint("e.g. role_arn = \"arn:aws:iam::222222222222:role/PowerUser\""))
                }
            };
            let duration = within(
                field(&t.duration, || at(&section, "duration"))?,
                SessionDuration::SESSION_MIN,
                SessionDuration::ROLE_MAX,
                || format!("{} (AssumeRole's limits)", at(&section, "duration")),
            )?;
            let session_name = field(&t.session_name, || at(&section, "session_name"))?;
            let external_id = field(&t.external_id, || at(&section, "external_id"))?;
            let policy_arns = policy_arns(t.policy_arns.as_deref(), &at(&section, "policy_arns"))?;
            let policy_file = t.policy.as_deref().map(|p| {
                let p = Path::new(p);
                // `~/…` is expanded when read (with the Env); other relative
                // paths are from the config file's directory.
                match path.parent() {
                    Some(dir) if p.is_relative() && !p.starts_with("~") => dir.join(p),
                    _ => p.to_owned(),
                }
            });
            targets.insert(
                tname,
                TargetConfig {
                    role_arn,
                    duration,
                    session_name,
                    external_id,
                    region: region(&t.region, || at(&section, "region"))?,
                    exec_server: t.exec_server,
                    policy_arns,
                    policy_file,
                },
            );
        }
        Ok(Self {
            path: Some(path.to_owned()),
            refresh_margin,
            timeout,
            lock_timeout,
            exec_server: raw.exec_server,
            bastion,
            targets,
            warnings,
        })
    }
}

/// A `[targets.NAME]` with `from = "BASE"`: every key it does not set
/// comes from `[targets.BASE]`. The role is taken whole (role_arn, or
/// account and role) and so is the session policy (policy_arns and
/// policy): a variant's policy replaces its base's, never adds to it,
/// since two session policies together allow more than either. One level
/// only, within this file.
fn inherit(
    name: &str,
    t: &RawTarget,
    all: &BTreeMap<String, RawTarget>,
    file: &str,
) -> Result<RawTarget, UserError> {
    let Some(from) = &t.from else {
        return Ok(t.clone());
    };
    let place = format!("{file}: [targets.{name}] from = \"{from}\"");
    let Some(base) = all.get(from) else {
        let mut e = UserError::new(format!(
            "{place}: there is no [targets.{from}] in this file"
        ));
        e = match did_you_mean(from, all.keys().map(String::as_str)) {
            Some(s) => e.hint(format!("did you mean \"{s}\"?")),
            None => e.hint("`from` names another [targets.NAME] of the mfacli config, whose role this target narrows"),
        };
        return Err(e);
    };
    if from == name || base.from.is_some() {
        return Err(UserError::new(format!(
            "{place}: [targets.{from}] {}",
            if from == name { "is this target itself" } else { "has a `from` of its own" }
        ))
        .hint(format!("`from` must name a target with its own role (one level only): give [targets.{name}] the role of the target it narrows")));
    }
    let own_role = t.role_arn.is_some() || t.account.is_some() || t.role.is_some();
    let own_policy = t.policy_arns.is_some() || t.policy.is_some();
    let or = |a: &Option<String>, b: &Option<String>| a.clone().or_else(|| b.clone());
    let role_from = if own_role { t } else { base };
    let policy_from = if own_policy { t } else { base };
    Ok(RawTarget {
        from: None,
        policy_arns: policy_from.policy_arns.clone(),
        policy: policy_from.policy.clone(),
        role_arn: role_from.role_arn.clone(),
        account: role_from.account.clone(),
        role: role_from.role.clone(),
        duration: or(&t.duration, &base.duration),
        session_name: or(&t.session_name, &base.session_name),
        external_id: or(&t.external_id, &base.external_id),
        region: or(&t.region, &base.region),
        exec_server: t.exec_server.or(base.exec_server),
    })
}

/// `policy_arns`: each a managed policy ARN, at most 10.
fn policy_arns(raw: Option<&[String]>, place: &str) -> Result<Vec<PolicyArn>, UserError> {
    let arns = raw
        .unwrap_or_default()
        .iter()
        .map(|a| a.parse::<PolicyArn>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            UserError::new(format!("{place}: {e}"))
                .hint("e.g. policy_arns = [\"arn:aws:iam::aws:policy/ReadOnlyAccess\"]")
        })?;
    // The ARN count and length limits, checked the same way as for flags.
    SessionPolicy::new(arns.clone(), None).map_err(|e| UserError::new(format!("{place}: {e}")))?;
    Ok(arns)
}

/// Validates `[[bastion.mfa_devices]]`: a serial and exactly one seed
/// source each, no serial twice, at most IAM's 8 devices in all.
#[allow(clippy::type_complexity)]
fn parse_devices(
    raw: &[RawDevice],
    primary: Option<&MfaSerial>,
    file: &str,
) -> Result<(Vec<MfaDeviceConfig>, Vec<YubikeyDevice>), UserError> {
    let mut devices: Vec<MfaDeviceConfig> = Vec::new();
    let mut yubikeys: Vec<YubikeyDevice> = Vec::new();
    for (i, d) in raw.iter().enumerate() {
        let place = format!("{file}: [[bastion.mfa_devices]] #{}", i + 1);
        let serial: MfaSerial =
            field(&d.serial, || format!("{place} serial"))?.ok_or_else(|| {
                UserError::new(format!("{place} has no serial"))
                    .hint("add serial = \"arn:aws:iam::ACCOUNT:mfa/NAME\" (the device's ARN)")
            })?;
        let seed = match (&d.totp_secret_env, &d.totp_secret_file, &d.yubikey_oath) {
            (Some(name), None, None) if !name.trim().is_empty() => SeedSource::Env(name.clone()),
            (None, Some(path), None) if !path.trim().is_empty() => {
                SeedSource::File(PathBuf::from(path))
            }
            (None, None, Some(account)) => {
                let account = account
                    .parse()
                    .map_err(|e| UserError::new(format!("{place} yubikey_oath: {e}")))?;
                if devices.iter().any(|x| x.serial == serial)
                    || yubikeys.iter().any(|x| x.serial == serial)
                {
                    return Err(UserError::new(format!("{place}: {serial} is listed twice"))
                        .hint("each device has its own serial; remove the duplicate"));
                }
                yubikeys.push(YubikeyDevice { serial, account });
                continue;
            }
            _ => {
                return Err(UserError::new(format!(
                    "{place} ({serial}) needs exactly one of totp_secret_env, totp_secret_file or yubikey_oath"
                ))
                .hint("e.g. totp_secret_env = \"MFACLI_TOTP_SECRET_2\" (the name of a variable holding that device's base32 seed), or yubikey_oath = \"AWS:alice-2\""))
            }
        };
        if devices.iter().any(|x| x.serial == serial) || yubikeys.iter().any(|x| x.serial == serial)
        {
            return Err(UserError::new(format!("{place}: {serial} is listed twice"))
                .hint("each device has its own serial and seed; remove the duplicate"));
        }
        devices.push(MfaDeviceConfig { serial, seed });
    }
    let extra = usize::from(primary.is_some_and(|p| {
        !devices.iter().any(|d| &d.serial == p) && !yubikeys.iter().any(|d| &d.serial == p)
    }));
    let total = devices.len() + yubikeys.len() + extra;
    if total > MAX_MFA_DEVICES {
        return Err(UserError::new(format!(
            "{file}: [bastion] lists {total} MFA devices; IAM allows at most {MAX_MFA_DEVICES} per user"
        ))
        .hint("remove devices from [[bastion.mfa_devices]]"));
    }
    Ok((devices, yubikeys))
}

/// Parses an optional value; the error names where it came from.
fn field<T: FromStr<Err = InvalidValue>>(
    value: &Option<String>,
    place: impl Fn() -> String,
) -> Result<Option<T>, UserError> {
    value
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e| UserError::new(format!("{}: {e}", place())))
}

/// A region, checked by the one rule ([`crate::types::Region`]).
fn region(value: &Option<String>, place: impl Fn() -> String) -> Result<Option<String>, UserError> {
    value
        .as_deref()
        .map(|r| crate::types::Region::parse_from(r, &place()).map(|r| r.as_str().to_owned()))
        .transpose()
}

/// Checks an optional duration against an STS call's limits.
fn within(
    d: Option<SessionDuration>,
    min: u32,
    max: u32,
    place: impl Fn() -> String,
) -> Result<Option<SessionDuration>, UserError> {
    d.map(|d| d.check(min, max))
        .transpose()
        .map_err(|e| UserError::new(format!("{}: {e}", place())))
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// A TOML error as `file:line:col: message`, with the offending line
/// quoted and a caret under the column, since the parser's message alone
/// ("duplicate key") may not say which key. String values in the quoted
/// line are masked: a value (say, an `mfa_command` with a password in it)
/// never reaches an error message.
fn syntax(text: &str, file: &str, e: toml::de::Error) -> UserError {
    let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
    let mut message = format!("{file}:{line}:{col}: {}", e.message().trim_end());
    if let Some(source) = line.checked_sub(1).and_then(|i| text.lines().nth(i)) {
        let source: String = mask_strings(source).chars().take(120).collect();
        let pad = " ".repeat(col.saturating_sub(1).min(120));
        message.push_str(&format!("\n    {source}\n    {pad}^"));
    }
    UserError::new(message)
        .hint("fix the TOML syntax at that line; see the configuration reference: `man mfacli`, or the book (docs/)")
}

/// `line` with every character inside a TOML string replaced by `*`, so
/// columns still line up. A line that starts inside a multi-line string
/// is masked from its first quote on, which errs towards hiding.
fn mask_strings(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut quote = None;
    let mut escaped = false;
    for c in line.chars() {
        match quote {
            None => {
                if c == '"' || c == '\'' {
                    quote = Some(c);
                }
                out.push(c);
            }
            Some(q) if c == q && !escaped => {
                quote = None;
                out.push(c);
            }
            Some(q) => {
                escaped = q == '"' && c == '\\' && !escaped;
                out.push('*');
            }
        }
    }
    out
}

/// The value of `name` in `t`.
fn section<'t, 'i>(t: &'t toml::de::DeTable<'i>, name: &str) -> Option<&'t toml::de::DeValue<'i>> {
    t.get(name).map(|v| v.get_ref())
}

fn unknown_keys(table: &toml::de::DeTable<'_>, file: &str) -> Vec<String> {
    use toml::de::DeValue;
    let mut warnings = Vec::new();
    let mut check = |t: &toml::de::DeTable<'_>, known: &[&str], section: &str| {
        for key in t.keys() {
            let key: &str = key.get_ref();
            if !known.contains(&key) {
                let place = if section.is_empty() {
                    "at the top level".to_owned()
                } else {
                    format!("in [{section}]")
                };
                let mut w = format!("{file}: unknown key '{key}' {place} (ignored)");
                if let Some(s) = did_you_mean(key, known.iter().copied()) {
                    w.push_str(&format!("; did you mean '{s}'?"));
                }
                warnings.push(w);
            }
        }
    };
    check(table, TOP_KEYS, "");
    if let Some(DeValue::Table(b)) = section(table, "bastion") {
        check(b, BASTION_KEYS, "bastion");
        if let Some(DeValue::Array(devices)) = section(b, "mfa_devices") {
            for d in devices {
                if let DeValue::Table(d) = d.get_ref() {
                    check(d, DEVICE_KEYS, "[bastion.mfa_devices]");
                }
            }
        }
    }
    if let Some(DeValue::Table(ts)) = section(table, "targets") {
        for (name, t) in ts {
            if let DeValue::Table(t) = t.get_ref() {
                check(t, TARGET_KEYS, &format!("targets.{}", name.get_ref()));
            }
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
[bastion]
profile = "bastion"
mfa_serial = "arn:aws:iam::111111111111:mfa/alice"
session_duration = "12h"
region = "eu-west-1"

[targets.prod]
role_arn = "arn:aws:iam::222222222222:role/PowerUser"
duration = "1h"
session_name = "alice"
external_id = "optional"
region = "eu-central-1"

[targets.staging]
account = "333333333333"
role = "PowerUser"
"#;

    fn parse(text: &str) -> Result<Config, UserError> {
        Config::parse(text, Path::new("/cfg.toml"))
    }

    #[test]
    fn parses_the_documented_example() {
        let c = parse(SAMPLE).unwrap();
        assert_eq!(c.bastion.profile.as_deref(), Some("bastion"));
        assert_eq!(c.bastion.session_duration.unwrap().secs(), 43200);
        let prod = &c.targets[&"prod".parse().unwrap()];
        assert_eq!(
            prod.role_arn.as_str(),
            "arn:aws:iam::222222222222:role/PowerUser"
        );
        let staging = &c.targets[&"staging".parse().unwrap()];
        assert_eq!(
            staging.role_arn.as_str(),
            "arn:aws:iam::333333333333:role/PowerUser"
        );
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn exec_server_at_the_top_and_per_target() {
        let c = parse(&format!("exec_server = true\n{SAMPLE}")).unwrap();
        assert_eq!(c.exec_server, Some(true));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let c = parse(&SAMPLE.replace(
            "[targets.staging]",
            "[targets.staging]\nexec_server = false",
        ))
        .unwrap();
        assert_eq!(
            c.targets[&"staging".parse().unwrap()].exec_server,
            Some(false)
        );
        assert_eq!(c.exec_server, None);
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let err = parse("[bastion]\nprofile = \n").unwrap_err().to_string();
        assert!(err.starts_with("/cfg.toml:2:"), "{err}");
    }

    #[test]
    fn syntax_errors_quote_the_line_with_a_caret() {
        let err = parse("[bastion]\nprofile = \"a\"\n[bastion]\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("/cfg.toml:3:2: duplicate key"), "{err}");
        assert!(err.contains("\n    [bastion]\n     ^"), "{err}");
        let err = parse("[targets.p]\nrole_arn = 5\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/cfg.toml:2:12: invalid type: integer `5`"),
            "{err}"
        );
        assert!(
            err.contains("\n    role_arn = 5\n               ^"),
            "{err}"
        );
    }

    #[test]
    fn quoted_lines_never_show_string_values() {
        let err = parse("[bastion]\nmfa_command = \"ykman --password hunter2\" x\n")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(
            err.contains("\n    mfa_command = \"************************\" x\n"),
            "{err}"
        );
        assert_eq!(
            mask_strings(r#"a = "x\"y" b = 'z\' c"#),
            r#"a = "****" b = '**' c"#
        );
    }

    #[test]
    fn unknown_keys_warn_with_suggestion() {
        let c = parse("[bastion]\nsesion_duration = \"1h\"\n").unwrap();
        assert_eq!(c.warnings.len(), 1);
        assert!(
            c.warnings[0].contains("did you mean 'session_duration'"),
            "{}",
            c.warnings[0]
        );
    }

    #[test]
    fn bad_values_name_the_key() {
        for (text, needle) in [
            ("[bastion]\nsession_duration = \"12x\"", "[bastion] session_duration"),
            ("[bastion]\nsession_duration = \"40h\"", "[bastion] session_duration"),
            ("[bastion]\nsession_duration = \"0s\"", "[bastion] session_duration"),
            ("[bastion]\nmfa_serial = \"arn:aws:iam::1:mfa/a\"", "[bastion] mfa_serial"),
            ("[targets.p]\nrole_arn = \"nope\"", "[targets.p] role_arn"),
            ("[targets.p]\naccount = \"12\"\nrole = \"R\"", "[targets.p] account"),
            ("[targets.p]\nrole_arn = \"arn:aws:iam::222222222222:role/R\"\nsession_name = \"a b\"", "session_name"),
            ("[targets.p]\nrole_arn = \"arn:aws:iam::222222222222:role/R\"\nexternal_id = \"x\"", "external_id"),
            ("[targets.p]\nrole = \"R\"", "needs either role_arn"),
            ("[bastion]\nregion = \"eu-west-1\\n[default]\"", "[bastion] region"),
            ("[targets.p]\nrole_arn = \"arn:aws:iam::222222222222:role/R\"\nregion = \"evil.example:8443/\"", "[targets.p] region"),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn mfa_devices_and_deadline() {
        let c = parse(
            "[bastion]\nmfa_deadline = \"10m\"\n\n[[bastion.mfa_devices]]\nserial = \"arn:aws:iam::111111111111:mfa/ci-1\"\ntotp_secret_env = \"SEED_1\"\n\n[[bastion.mfa_devices]]\nserial = \"arn:aws:iam::111111111111:mfa/ci-2\"\ntotp_secret_file = \"~/.seed2\"\n",
        )
        .unwrap();
        let b = &c.bastion;
        assert_eq!(b.mfa_deadline.unwrap().secs(), 600);
        assert_eq!(b.mfa_devices.len(), 2);
        assert_eq!(b.mfa_devices[0].seed, SeedSource::Env("SEED_1".into()));
        assert_eq!(b.mfa_devices[1].seed, SeedSource::File("~/.seed2".into()));
        assert_eq!(
            b.mfa_serial.as_ref().unwrap().as_str(),
            "arn:aws:iam::111111111111:mfa/ci-1",
            "the first device names the MFA identity when mfa_serial is absent"
        );
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn bad_mfa_devices_name_the_entry() {
        let dev = |body: &str| format!("[[bastion.mfa_devices]]\n{body}\n");
        let both = dev("serial = \"arn:aws:iam::111111111111:mfa/a\"\ntotp_secret_env = \"A\"\ntotp_secret_file = \"/f\"");
        let none = dev("serial = \"arn:aws:iam::111111111111:mfa/a\"");
        let no_serial = dev("totp_secret_env = \"A\"");
        let a = dev("serial = \"arn:aws:iam::111111111111:mfa/a\"\ntotp_secret_env = \"A\"");
        let twice = format!("{a}{a}");
        let nine: String = (1..=9)
            .map(|i| {
                dev(&format!(
                    "serial = \"arn:aws:iam::111111111111:mfa/d{i}\"\ntotp_secret_env = \"S{i}\""
                ))
            })
            .collect();
        for (text, needle) in [
            (both.as_str(), "#1 (arn:aws:iam::111111111111:mfa/a) needs exactly one of totp_secret_env, totp_secret_file or yubikey_oath"),
            (none.as_str(), "needs exactly one of"),
            (no_serial.as_str(), "[[bastion.mfa_devices]] #1 has no serial"),
            (twice.as_str(), "#2: arn:aws:iam::111111111111:mfa/a is listed twice"),
            (nine.as_str(), "lists 9 MFA devices; IAM allows at most 8"),
            ("[bastion]\nmfa_deadline = \"10s\"", "[bastion] mfa_deadline"),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
        let c = parse(&dev("serial = \"arn:aws:iam::111111111111:mfa/a\"\ntotp_secret_evn = \"A\"\ntotp_secret_env = \"A\"")).unwrap();
        assert!(
            c.warnings[0].contains("did you mean 'totp_secret_env'"),
            "{:?}",
            c.warnings
        );
    }

    #[test]
    fn a_named_narrowing_inherits_its_base_and_replaces_its_policy() {
        let c = parse(
            r#"
[targets.prod]
account = "222222222222"
role = "PowerUser"
duration = "2h"
region = "eu-west-1"
policy = "deny-iam.json"

[targets.prod-ro]
from = "prod"
policy_arns = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
region = "us-east-1"
"#,
        )
        .unwrap();
        let base = &c.targets[&"prod".parse().unwrap()];
        let ro = &c.targets[&"prod-ro".parse().unwrap()];
        assert_eq!(ro.role_arn, base.role_arn);
        assert_eq!(ro.duration, base.duration);
        assert_eq!(ro.region.as_deref(), Some("us-east-1"));
        assert_eq!(
            base.policy_file.as_deref(),
            Some(Path::new("/deny-iam.json")),
            "relative to the config"
        );
        assert_eq!(
            ro.policy_file, None,
            "the variant's policy replaces the base's"
        );
        assert_eq!(
            ro.policy_arns[0].as_str(),
            "arn:aws:iam::aws:policy/ReadOnlyAccess"
        );
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn bad_narrowings_name_the_key() {
        let base = "[targets.prod]\nrole_arn = \"arn:aws:iam::222222222222:role/R\"\n";
        for (text, needle) in [
            (
                "[targets.a]\nfrom = \"prdo\"\n",
                "[targets.a] from = \"prdo\": there is no [targets.prdo]",
            ),
            ("[targets.a]\nfrom = \"a\"\n", "is this target itself"),
            (
                "[targets.a]\nfrom = \"b\"\n[targets.b]\nfrom = \"prod\"\n",
                "[targets.b] has a `from` of its own",
            ),
            (
                "[targets.a]\nfrom = \"prod\"\npolicy_arns = [\"ReadOnlyAccess\"]\n",
                "[targets.a] policy_arns: 'ReadOnlyAccess' is not a policy ARN",
            ),
            (
                "[targets.a]\nfrom = \"prod\"\npolicy_arns = [\"arn:aws:iam::aws:role/X\"]\n",
                "[targets.a] policy_arns",
            ),
        ] {
            let e = parse(&format!("{base}{text}")).unwrap_err();
            assert!(e.message.contains(needle), "{text}: {e}");
        }
        let eleven: Vec<String> = (0..11)
            .map(|i| format!("\"arn:aws:iam::aws:policy/P{i}\""))
            .collect();
        let e = parse(&format!("{base}policy_arns = [{}]\n", eleven.join(","))).unwrap_err();
        assert!(
            e.message.contains(
                "[targets.prod] policy_arns: 11 policy ARNs given; AssumeRole takes at most 10"
            ),
            "{e}"
        );
        let e = parse(&format!("{base}[targets.a]\nfrom = \"prdo\"\n")).unwrap_err();
        assert!(e.hint.unwrap().contains("did you mean \"prod\""));
    }

    #[test]
    fn yubikey_sources_are_checked() {
        let c = parse(
            "[bastion]\nyubikey_oath = \"AWS:alice\"\nyubikey_timeout = \"45s\"\n\n[[bastion.mfa_devices]]\nserial = \"arn:aws:iam::111111111111:mfa/alice-2\"\nyubikey_oath = \"AWS:alice-2\"\n",
        )
        .unwrap();
        assert_eq!(
            c.bastion.yubikey_oath.as_ref().unwrap().as_str(),
            "AWS:alice"
        );
        assert_eq!(c.bastion.yubikey_timeout.unwrap().secs(), 45);
        assert_eq!(c.bastion.yubikey_devices[0].account.as_str(), "AWS:alice-2");
        assert!(c.bastion.mfa_devices.is_empty());
        assert_eq!(
            c.bastion.mfa_serial.unwrap().as_str(),
            "arn:aws:iam::111111111111:mfa/alice-2",
            "the first device names the MFA identity"
        );
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        for (text, needle) in [
            ("[bastion]\nyubikey_oath = \"--help\"\n", "[bastion] yubikey_oath"),
            ("[bastion]\nyubikey_oath = \"\"\n", "[bastion] yubikey_oath"),
            ("[bastion]\nyubikey_timeout = \"2h\"\n", "[bastion] yubikey_timeout"),
            (
                "[[bastion.mfa_devices]]\nserial = \"arn:aws:iam::1:mfa/a\"\n",
                "serial",
            ),
            (
                "[[bastion.mfa_devices]]\nserial = \"arn:aws:iam::111111111111:mfa/a\"\nyubikey_oath = \"A\"\ntotp_secret_env = \"X\"\n",
                "needs exactly one of totp_secret_env, totp_secret_file or yubikey_oath",
            ),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.message.contains(needle), "{text}: {e}");
        }
    }
}
