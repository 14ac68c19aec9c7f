//! `mfacli init`: writes the mfacli config, from a short wizard or, with
//! `--non-interactive`, from flags alone.
//!
//! The wizard reads answers from a `BufRead` and prompts on a `Write`, so
//! it runs the same against a terminal, a pipe or a test's byte buffers.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::aws_files::AwsFiles;
use crate::error::UserError;
use crate::types::{
    AccountId, ExternalId, InvalidValue, MfaSerial, Partition, RoleArn, SessionDuration,
    SessionName, TargetName,
};

/// Defaults offered by the wizard and used without flags.
pub(crate) const DEFAULT_SESSION_DURATION: SessionDuration = SessionDuration::from_secs(43_200);
pub(crate) const DEFAULT_TARGET_DURATION: SessionDuration = SessionDuration::ONE_HOUR;
pub(crate) const DEFAULT_ROLE: &str = "PowerUser";

/// What the AWS files already say, to suggest defaults.
#[derive(Debug, Clone, Default)]
pub(crate) struct Profiles {
    pub(crate) credentials_path: PathBuf,
    /// All profile names in both AWS files.
    pub(crate) names: Vec<String>,
    /// Profiles holding long-term keys: bastion candidates.
    pub(crate) with_keys: Vec<String>,
    /// `mfa_serial` per profile, as written.
    pub(crate) mfa_serials: BTreeMap<String, String>,
    /// `region` per profile.
    pub(crate) regions: BTreeMap<String, String>,
    /// Profiles with `role_arn`: already usable as targets.
    pub(crate) role_profiles: Vec<String>,
}

impl Profiles {
    pub(crate) fn from_aws(aws: &AwsFiles) -> Self {
        let names = aws.profile_names();
        let mut p = Profiles {
            credentials_path: aws.credentials_path.clone(),
            ..Default::default()
        };
        for n in &names {
            if aws.long_term_keys(n).is_ok() {
                p.with_keys.push(n.clone());
            }
            if let Some(profile) = aws.profile(n) {
                if let Some(s) = profile.get("mfa_serial") {
                    p.mfa_serials.insert(n.clone(), s.to_owned());
                }
                if let Some(r) = profile.get("region") {
                    p.regions.insert(n.clone(), r.to_owned());
                }
            }
        }
        p.role_profiles = aws.role_profiles().into_iter().map(|(n, _)| n).collect();
        p.names = names;
        p
    }

    /// The profile to suggest as the bastion: one with keys, preferring a
    /// name that says so.
    fn suggested_bastion(&self) -> Option<&str> {
        self.with_keys
            .iter()
            .find(|n| n.contains("bastion"))
            .or_else(|| self.with_keys.first())
            .map(String::as_str)
    }

    /// The profile's `mfa_serial`, if it is a valid one.
    fn mfa_serial_of(&self, profile: &str) -> Option<MfaSerial> {
        self.mfa_serials.get(profile).and_then(|s| s.parse().ok())
    }
}

/// One `[targets.NAME]`. The role ARN is built once the partition is known
/// (it follows the MFA device's), unless it was given as a whole ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TargetSpec {
    pub(crate) name: TargetName,
    pub(crate) account: AccountId,
    /// Role name, with its path if any (`team/PowerUser`).
    pub(crate) role: String,
    pub(crate) partition: Option<Partition>,
    pub(crate) duration: SessionDuration,
    /// The trust policy's sts:ExternalId, when it requires one.
    pub(crate) external_id: Option<ExternalId>,
}

impl TargetSpec {
    pub(crate) fn role_arn(&self, default_partition: Partition) -> RoleArn {
        RoleArn::new(
            self.partition.unwrap_or(default_partition),
            &self.account,
            &self.role,
        )
        .expect("the role name was validated when the spec was built")
    }
}

fn check_target_duration(d: SessionDuration) -> Result<SessionDuration, InvalidValue> {
    d.check(SessionDuration::SESSION_MIN, SessionDuration::ROLE_MAX)
        .map_err(|e| InvalidValue(format!("{e} (AssumeRole's limits)")))
}

pub(crate) fn check_session_duration(d: SessionDuration) -> Result<SessionDuration, InvalidValue> {
    d.check(SessionDuration::SESSION_MIN, SessionDuration::SESSION_MAX)
        .map_err(|e| InvalidValue(format!("{e} (GetSessionToken's limits)")))
}

fn role_name_ok(partition: Partition, account: &AccountId, role: &str) -> Result<(), InvalidValue> {
    RoleArn::new(partition, account, role)
        .map(|_| ())
        .map_err(|_| InvalidValue(format!("'{role}' is not a role name (1-64 characters of letters, digits and _+=,.@-, optionally after a path like team/)")))
}

/// Parses `NAME=ACCOUNT:ROLE[:DURATION]` or `NAME=ROLE_ARN[:DURATION]`.
pub(crate) fn parse_target_spec(spec: &str) -> Result<TargetSpec, InvalidValue> {
    let shape = "expected NAME=ACCOUNT:ROLE[:DURATION], e.g. prod=222222222222:PowerUser:1h";
    let Some((name, rest)) = spec.split_once('=') else {
        return Err(InvalidValue(format!("'{spec}' has no '=' ({shape})")));
    };
    let name: TargetName = name.parse()?;
    let (account, role, partition, duration) = if rest.starts_with("arn:") {
        // arn:PARTITION:iam::ACCOUNT:role/NAME, then maybe :DURATION.
        let parts: Vec<&str> = rest.splitn(7, ':').collect();
        let arn = parts[..parts.len().min(6)].join(":");
        let arn: RoleArn = arn.parse()?;
        let role = arn
            .as_str()
            .split_once(":role/")
            .map(|(_, r)| r.to_owned())
            .unwrap_or_default();
        (
            arn.account().clone(),
            role,
            Some(arn.partition()),
            parts.get(6).copied(),
        )
    } else {
        let parts: Vec<&str> = rest.split(':').collect();
        if !(2..=3).contains(&parts.len()) {
            return Err(InvalidValue(format!("'{spec}': {shape}")));
        }
        let account: AccountId = parts[0].parse()?;
        role_name_ok(Partition::Aws, &account, parts[1])?;
        (account, parts[1].to_owned(), None, parts.get(2).copied())
    };
    let duration = match duration {
        Some(d) => check_target_duration(d.parse()?)?,
        None => DEFAULT_TARGET_DURATION,
    };
    Ok(TargetSpec {
        name,
        account,
        role,
        partition,
        duration,
        external_id: None,
    })
}

/// An account id as typed: 12 digits, or the console's `2222-2222-2222`.
pub(crate) fn parse_account(s: &str) -> Result<AccountId, InvalidValue> {
    let b = s.as_bytes();
    if b.len() == 14 && b[4] == b'-' && b[9] == b'-' {
        if let Ok(a) = s.replace('-', "").parse() {
            return Ok(a);
        }
    }
    s.parse()
}

/// A region for `init`: the one rule, [`crate::types::Region`].
pub(crate) fn parse_region(s: &str) -> Result<String, InvalidValue> {
    s.parse::<crate::types::Region>()
        .map(|r| r.as_str().to_owned())
}

pub(crate) fn parse_profile_name(s: &str) -> Result<String, InvalidValue> {
    if s.is_empty()
        || s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '[' || c == ']')
    {
        Err(InvalidValue(format!(
            "'{s}' is not a profile name (no spaces or brackets)"
        )))
    } else {
        Ok(s.to_owned())
    }
}

/// Values given as flags, validated. In the wizard they become the defaults.
#[derive(Debug, Clone, Default)]
pub(crate) struct Given {
    pub(crate) bastion_profile: Option<String>,
    pub(crate) mfa_serial: Option<MfaSerial>,
    pub(crate) session_duration: Option<SessionDuration>,
    pub(crate) session_name: Option<SessionName>,
    pub(crate) region: Option<String>,
    pub(crate) targets: Vec<TargetSpec>,
    /// `--mfa-device SERIAL=ENV`: more TOTP devices for parallel CI.
    pub(crate) mfa_devices: Vec<(MfaSerial, String)>,
}

/// Parses `--mfa-device SERIAL=ENV` (the variable that will hold the
/// device's base32 seed; never the seed itself).
pub(crate) fn parse_device_spec(spec: &str) -> Result<(MfaSerial, String), InvalidValue> {
    let (serial, env) = spec.rsplit_once('=').ok_or_else(|| {
        InvalidValue(format!(
            "'{spec}' is not SERIAL=ENV (the device's ARN, then the name of the variable holding its seed)"
        ))
    })?;
    let serial: MfaSerial = serial.trim().parse()?;
    let env = env.trim();
    // The value is never echoed: it may be a seed pasted by mistake.
    let looks_like_seed = env.len() >= 16
        && env
            .chars()
            .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c));
    if env.is_empty()
        || looks_like_seed
        || env.starts_with(|c: char| c.is_ascii_digit())
        || !env.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(InvalidValue(format!(
            "the part after '=' for {serial} is not an environment variable name (or looks like a seed): give the name of the variable that holds the seed, never the seed"
        )));
    }
    Ok((serial, env.to_owned()))
}

/// Everything the config file will hold.
#[derive(Debug, Clone)]
pub(crate) struct Answers {
    pub(crate) bastion_profile: String,
    pub(crate) mfa_serial: MfaSerial,
    pub(crate) session_duration: SessionDuration,
    /// Needed when the MFA serial has no user name in it (hardware tokens).
    pub(crate) session_name: Option<SessionName>,
    pub(crate) region: Option<String>,
    pub(crate) targets: Vec<TargetSpec>,
    pub(crate) mfa_devices: Vec<(MfaSerial, String)>,
    /// `key_store = "keyring"`: the access key in the OS keyring.
    pub(crate) keyring: bool,
}

impl Answers {
    fn partition(&self) -> Partition {
        self.mfa_serial.partition().unwrap_or(Partition::Aws)
    }
}

/// `--non-interactive`: flags, then what the AWS files say, else an error
/// naming the missing flag.
pub(crate) fn from_flags(given: Given, profiles: &Profiles) -> Result<Answers, UserError> {
    let bastion_profile = match given.bastion_profile {
        Some(p) => p,
        None => match profiles.with_keys.as_slice() {
            [one] => one.clone(),
            [] => {
                return Err(UserError::new(format!(
                    "--bastion-profile is required: no profile in {} has long-term keys",
                    profiles.credentials_path.display()
                ))
                .hint("add the bastion user's keys with `aws configure --profile bastion`, then pass --bastion-profile bastion"))
            }
            many => {
                return Err(UserError::new(format!(
                    "--bastion-profile is required: several profiles have long-term keys ({})",
                    many.join(", ")
                ))
                .hint(format!("e.g. --bastion-profile {}", many[0])))
            }
        },
    };
    let mfa_serial = match given.mfa_serial {
        Some(s) => s,
        None => match profiles.mfa_serials.get(&bastion_profile) {
            Some(s) => s.parse().map_err(|e| {
                UserError::new(format!("the mfa_serial of profile '{bastion_profile}' is invalid: {e}"))
                    .hint("pass --mfa-serial arn:aws:iam::ACCOUNT:mfa/USER")
            })?,
            None => {
                return Err(UserError::new(format!(
                    "--mfa-serial is required: profile '{bastion_profile}' has no mfa_serial"
                ))
                .hint("e.g. --mfa-serial arn:aws:iam::111111111111:mfa/alice (IAM console: your user, Security credentials)"))
            }
        },
    };
    if mfa_serial.device_name().is_none()
        && given.session_name.is_none()
        && !given.targets.is_empty()
    {
        return Err(UserError::new(format!(
            "--session-name is required: the MFA serial {mfa_serial} has no user name to name role sessions after"
        ))
        .hint("e.g. --session-name alice"));
    }
    let region = given
        .region
        .or_else(|| profiles.regions.get(&bastion_profile).cloned());
    Ok(Answers {
        keyring: false,
        bastion_profile,
        mfa_serial,
        session_duration: given.session_duration.unwrap_or(DEFAULT_SESSION_DURATION),
        session_name: given.session_name,
        region,
        targets: given.targets,
        mfa_devices: given.mfa_devices,
    })
}

/// The prompt side of the wizard.
pub(crate) struct Prompter<'a> {
    input: &'a mut dyn BufRead,
    out: &'a mut dyn Write,
}

fn io_err(e: std::io::Error) -> UserError {
    UserError::new(format!("init: terminal I/O failed: {e}"))
}

fn ended() -> UserError {
    UserError::new("init: the input ended before the questions were answered; nothing was written")
        .hint("run `mfacli init` in a terminal, or script it with --non-interactive and flags (see `mfacli init --help`)")
}

impl<'a> Prompter<'a> {
    pub(crate) fn new(input: &'a mut dyn BufRead, out: &'a mut dyn Write) -> Self {
        Self { input, out }
    }

    pub(crate) fn say(&mut self, text: &str) -> Result<(), UserError> {
        writeln!(self.out, "{text}")
            .and_then(|_| self.out.flush())
            .map_err(io_err)
    }

    /// One line of input, trimmed; `None` at end of input.
    fn line(&mut self, label: &str, default: Option<&str>) -> Result<Option<String>, UserError> {
        match default {
            Some(d) if !d.is_empty() => write!(self.out, "{label} [{d}]: "),
            _ => write!(self.out, "{label}: "),
        }
        .and_then(|_| self.out.flush())
        .map_err(io_err)?;
        let mut buf = String::new();
        if self.input.read_line(&mut buf).map_err(io_err)? == 0 {
            writeln!(self.out).map_err(io_err)?;
            return Ok(None);
        }
        Ok(Some(buf.trim().to_owned()))
    }

    /// Asks until `parse` accepts the answer (or the default, for an empty one).
    pub(crate) fn ask<T>(
        &mut self,
        label: &str,
        default: Option<&str>,
        parse: impl Fn(&str) -> Result<T, InvalidValue>,
    ) -> Result<T, UserError> {
        loop {
            let answer = self.line(label, default)?.ok_or_else(ended)?;
            let answer = if answer.is_empty() {
                default.unwrap_or("").to_owned()
            } else {
                answer
            };
            if answer.is_empty() {
                self.say("  an answer is needed")?;
                continue;
            }
            match parse(&answer) {
                Ok(v) => return Ok(v),
                Err(e) => self.say(&format!("  {e}"))?,
            }
        }
    }

    /// An optional value: empty keeps the default, `-` means none.
    fn ask_optional<T>(
        &mut self,
        label: &str,
        default: Option<&str>,
        parse: impl Fn(&str) -> Result<T, InvalidValue>,
    ) -> Result<Option<T>, UserError> {
        loop {
            let answer = self.line(label, default)?.ok_or_else(ended)?;
            let answer = match answer.as_str() {
                "-" => return Ok(None),
                "" => match default {
                    Some(d) if !d.is_empty() => d.to_owned(),
                    _ => return Ok(None),
                },
                _ => answer,
            };
            match parse(&answer) {
                Ok(v) => return Ok(Some(v)),
                Err(e) => self.say(&format!("  {e}"))?,
            }
        }
    }

    /// `[y/N]`: only y/yes says yes; end of input says no.
    pub(crate) fn confirm(&mut self, question: &str) -> Result<bool, UserError> {
        let answer = self.line(&format!("{question} [y/N]"), None)?;
        Ok(matches!(
            answer.as_deref().map(str::to_ascii_lowercase).as_deref(),
            Some("y" | "yes")
        ))
    }
}

/// The interactive questions. `given` (from flags) supplies defaults.
pub(crate) fn wizard(
    p: &mut Prompter<'_>,
    profiles: &Profiles,
    given: Given,
) -> Result<Answers, UserError> {
    describe_profiles(p, profiles)?;
    let default_profile = given
        .bastion_profile
        .clone()
        .or_else(|| profiles.suggested_bastion().map(str::to_owned));
    let bastion_profile = p.ask(
        "Bastion profile (the one with your IAM user's long-term keys)",
        default_profile.as_deref(),
        parse_profile_name,
    )?;
    if !profiles.with_keys.contains(&bastion_profile) {
        p.say(&format!(
            "  note: '{bastion_profile}' has no long-term keys yet; add them with `aws configure --profile {bastion_profile}`"
        ))?;
    }
    let mfa_serial = ask_mfa_serial(p, profiles, &given, &bastion_profile)?;
    let session_name = if mfa_serial.device_name().is_none() {
        let d = given.session_name.as_ref().map(ToString::to_string);
        Some(p.ask(
            "Role session name (your user name; shows in CloudTrail)",
            d.as_deref(),
            |s| s.parse::<SessionName>(),
        )?)
    } else {
        None
    };
    let d = given
        .session_duration
        .unwrap_or(DEFAULT_SESSION_DURATION)
        .to_string();
    let session_duration = p.ask(
        "MFA session duration, 15m to 36h (one code per session)",
        Some(&d),
        |s| {
            s.parse::<SessionDuration>()
                .and_then(check_session_duration)
        },
    )?;
    let default_region = given
        .region
        .clone()
        .or_else(|| profiles.regions.get(&bastion_profile).cloned());
    let region_label = if default_region.is_some() {
        "Region (- for none)"
    } else {
        "Region (empty for none)"
    };
    let region = p.ask_optional(region_label, default_region.as_deref(), parse_region)?;
    let partition = mfa_serial.partition().unwrap_or(Partition::Aws);
    let mfa_devices = given.mfa_devices.clone();
    let targets = ask_targets(p, given.targets, partition)?;
    // Last, so a scripted answer list that ends before it means no.
    let keyring = p.confirm(
        "Keep the access key in the OS keyring instead of ~/.aws/credentials (then run `mfacli keys import`)?",
    )?;
    Ok(Answers {
        keyring,
        bastion_profile,
        mfa_serial,
        session_duration,
        session_name,
        region,
        targets,
        mfa_devices,
    })
}

/// What the AWS files hold, so the questions make sense.
fn describe_profiles(p: &mut Prompter<'_>, profiles: &Profiles) -> Result<(), UserError> {
    if profiles.names.is_empty() {
        p.say(&format!(
            "No profiles found in the AWS files ({}).",
            profiles.credentials_path.display()
        ))?;
    } else {
        p.say(&format!(
            "Profiles in the AWS files: {}",
            profiles.names.join(", ")
        ))?;
        if profiles.with_keys.is_empty() {
            p.say(
                "  none of them holds long-term keys (aws_access_key_id + aws_secret_access_key)",
            )?;
        } else {
            p.say(&format!(
                "  with long-term keys: {}",
                profiles.with_keys.join(", ")
            ))?;
        }
    }
    if !profiles.role_profiles.is_empty() {
        p.say(&format!(
            "Role profiles in the AWS config are targets already: {}",
            profiles.role_profiles.join(", ")
        ))?;
    }
    Ok(())
}

/// The MFA device: the flag or the profile's `mfa_serial` as the default,
/// else built from an account id and a user name.
fn ask_mfa_serial(
    p: &mut Prompter<'_>,
    profiles: &Profiles,
    given: &Given,
    bastion_profile: &str,
) -> Result<MfaSerial, UserError> {
    let mut default_serial = given
        .mfa_serial
        .clone()
        .or_else(|| profiles.mfa_serial_of(bastion_profile));
    if default_serial.is_none() {
        p.say("The MFA device ARN is arn:aws:iam::ACCOUNT:mfa/USER (IAM console: your user, Security credentials).")?;
        // An account id leads to the ARN; a whole ARN pasted here is taken as is.
        let answer = p.ask_optional(
            "Bastion account id (12 digits, or the whole MFA ARN; empty to skip)",
            None,
            |s| {
                if s.starts_with("arn:") {
                    s.parse::<MfaSerial>().map(Err)
                } else {
                    parse_account(s).map(Ok)
                }
            },
        )?;
        if let Some(Err(serial)) = answer {
            default_serial = Some(serial);
        } else if let Some(Ok(account)) = answer {
            let user = p.ask("IAM user name", None, |s| {
                format!("arn:aws:iam::{account}:mfa/{s}")
                    .parse::<MfaSerial>()
                    .map(|_| s.to_owned())
                    .map_err(|_| {
                        InvalidValue(format!(
                            "'{s}' is not an IAM user name (letters, digits and _+=,.@-)"
                        ))
                    })
            })?;
            default_serial = format!("arn:aws:iam::{account}:mfa/{user}").parse().ok();
        }
    }
    let default_serial_text = default_serial.as_ref().map(ToString::to_string);
    p.ask(
        "MFA device ARN (or hardware token serial)",
        default_serial_text.as_deref(),
        |s| s.parse::<MfaSerial>(),
    )
}

/// Targets from flags, then more until an empty name.
fn ask_targets(
    p: &mut Prompter<'_>,
    mut targets: Vec<TargetSpec>,
    partition: Partition,
) -> Result<Vec<TargetSpec>, UserError> {
    if targets.is_empty() {
        p.say("Target accounts: the roles to assume. An empty name finishes.")?;
    } else {
        let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
        p.say(&format!(
            "Targets from --target: {}. Add more; an empty name finishes.",
            names.join(", ")
        ))?;
    }
    while let Some(name) = p.line("Target name", None)? {
        if name.is_empty() {
            break;
        }
        let name: TargetName = match name.parse() {
            Ok(n) => n,
            Err(e) => {
                p.say(&format!("  {e}"))?;
                continue;
            }
        };
        if targets.iter().any(|t| t.name == name) {
            p.say(&format!("  '{name}' is already defined"))?;
            continue;
        }
        targets.push(ask_target(p, name, partition)?);
    }
    Ok(targets)
}

/// One target's account, role and duration.
fn ask_target(
    p: &mut Prompter<'_>,
    name: TargetName,
    partition: Partition,
) -> Result<TargetSpec, UserError> {
    let account = p.ask(&format!("  account id for '{name}'"), None, parse_account)?;
    let role = p.ask("  role name", Some(DEFAULT_ROLE), |s| {
        role_name_ok(partition, &account, s).map(|_| s.to_owned())
    })?;
    let d = DEFAULT_TARGET_DURATION.to_string();
    let duration = p.ask("  duration, 15m to 12h", Some(&d), |s| {
        s.parse::<SessionDuration>().and_then(check_target_duration)
    })?;
    if duration.secs() > SessionDuration::CHAINED_MAX {
        p.say("  note: over 1h, every fetch needs its own MFA code (AWS caps roles assumed from an MFA session at 1h)")?;
    }
    let external_id = p.ask_optional(
        "  external id (only if the role's trust policy requires sts:ExternalId; empty for none)",
        None,
        |s| s.parse::<ExternalId>(),
    )?;
    Ok(TargetSpec {
        name,
        account,
        role,
        partition: None,
        duration,
        external_id,
    })
}

/// A TOML string (quoted and escaped by the toml crate).
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// A TOML key: bare when it can be, quoted otherwise.
fn toml_key(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        s.to_owned()
    } else {
        toml_str(s)
    }
}

/// The config file's text.
pub(crate) fn render(a: &Answers) -> String {
    let mut s = String::from(
        "# mfacli config, written by `mfacli init`.\n\
         # Per target you may also set session_name, external_id and region.\n\n[bastion]\n",
    );
    s.push_str(&format!("profile = {}\n", toml_str(&a.bastion_profile)));
    s.push_str(&format!(
        "mfa_serial = {}\n",
        toml_str(a.mfa_serial.as_str())
    ));
    s.push_str(&format!(
        "session_duration = {}\n",
        toml_str(&a.session_duration.to_string())
    ));
    if let Some(r) = &a.region {
        s.push_str(&format!("region = {}\n", toml_str(r)));
    }
    if a.keyring {
        s.push_str("key_store = \"keyring\"\n");
    }
    for (serial, env) in &a.mfa_devices {
        s.push_str(&format!(
            "\n[[bastion.mfa_devices]]\nserial = {}\ntotp_secret_env = {}\n",
            toml_str(serial.as_str()),
            toml_str(env)
        ));
    }
    for t in &a.targets {
        s.push_str(&format!("\n[targets.{}]\n", toml_key(t.name.as_str())));
        s.push_str(&format!(
            "role_arn = {}\n",
            toml_str(t.role_arn(a.partition()).as_str())
        ));
        s.push_str(&format!(
            "duration = {}\n",
            toml_str(&t.duration.to_string())
        ));
        if let Some(x) = &t.external_id {
            s.push_str(&format!("external_id = {}\n", toml_str(x.as_str())));
        }
        if let Some(n) = &a.session_name {
            s.push_str(&format!("session_name = {}\n", toml_str(n.as_str())));
        }
    }
    s
}

/// Writes the file 0600, creating its directory.
pub(crate) fn write_config(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::fsread::create_private_dirs(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    crate::cache::write_atomic(path, text.as_bytes(), 0o600, true)
        .with_context(|| format!("writing {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("setting the mode of {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn profiles() -> Profiles {
        Profiles {
            credentials_path: PathBuf::from("/h/.aws/credentials"),
            names: vec!["bastion".into(), "default".into(), "prod".into()],
            with_keys: vec!["bastion".into()],
            mfa_serials: BTreeMap::new(),
            regions: [("bastion".to_owned(), "eu-west-1".to_owned())].into(),
            role_profiles: vec!["prod".into()],
        }
    }

    fn drive(input: &str, given: Given) -> (Result<Answers, UserError>, String) {
        let mut reader = input.as_bytes();
        let mut out = Vec::new();
        let r = {
            let mut p = Prompter::new(&mut reader, &mut out);
            wizard(&mut p, &profiles(), given)
        };
        (r, String::from_utf8(out).unwrap())
    }

    fn parse(text: &str) -> Config {
        let c = Config::parse(text, Path::new("/c.toml")).unwrap();
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        c
    }

    #[test]
    fn wizard_offers_the_keyring_last() {
        // As wizard_with_defaults_and_derived_serial (no external id), then yes
        // to the keyring.
        let input = "\n111111111111\nalice\n\n\n\nprod\n222222222222\n\n\n\n\ny\n";
        let (r, out) = drive(input, Given::default());
        let a = r.unwrap_or_else(|e| panic!("{e}\n{out}"));
        assert!(a.keyring, "{out}");
        assert!(out.contains("OS keyring"), "{out}");
        let c = parse(&render(&a));
        assert_eq!(c.bastion.key_store, crate::keystore::KeyStoreKind::Keyring);
        // An answer list that ends before the question: the AWS files.
        let (r, _) = drive("\n111111111111\nalice\n\n\n\n\n", Given::default());
        assert!(!r.unwrap().keyring);
    }

    #[test]
    fn wizard_with_defaults_and_derived_serial() {
        // profile (default), account, user, serial (derived), duration, region, one target, finish.
        let input = "\n111111111111\nalice\n\n\n\nprod\n222222222222\n\n\n\n";
        let (r, out) = drive(input, Given::default());
        let a = r.unwrap_or_else(|e| panic!("{e}\n{out}"));
        assert_eq!(a.bastion_profile, "bastion");
        assert_eq!(a.mfa_serial.as_str(), "arn:aws:iam::111111111111:mfa/alice");
        assert_eq!(a.session_duration.secs(), 43_200);
        assert_eq!(a.region.as_deref(), Some("eu-west-1"));
        assert_eq!(a.targets.len(), 1);
        assert!(
            out.contains(
                "Bastion profile (the one with your IAM user's long-term keys) [bastion]: "
            ),
            "{out}"
        );
        assert!(
            out.contains("[arn:aws:iam::111111111111:mfa/alice]"),
            "{out}"
        );
        assert!(out.contains("role name [PowerUser]"), "{out}");
        let c = parse(&render(&a));
        let prod = &c.targets[&"prod".parse().unwrap()];
        assert_eq!(
            prod.role_arn.as_str(),
            "arn:aws:iam::222222222222:role/PowerUser"
        );
        assert_eq!(prod.duration.unwrap().secs(), 3600);
        assert_eq!(c.bastion.profile.as_deref(), Some("bastion"));
        assert_eq!(c.bastion.region.as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn wizard_reasks_on_bad_values() {
        let input = "bastion\n\narn:nope\narn:aws:iam::111111111111:mfa/alice\n40h\n8h\n-\n\
                     bad name\nprod\n12\n222222222222\nbad role!\nAdmin\n13h\n2h\n\n";
        let (r, out) = drive(input, Given::default());
        let a = r.unwrap_or_else(|e| panic!("{e}\n{out}"));
        assert!(out.contains("is not an MFA"), "{out}");
        assert!(out.contains("GetSessionToken's limits"), "{out}");
        assert!(out.contains("not a valid target name"), "{out}");
        assert!(out.contains("12-digit"), "{out}");
        assert!(out.contains("is not a role name"), "{out}");
        assert!(out.contains("AssumeRole's limits"), "{out}");
        assert!(out.contains("its own MFA code"), "{out}");
        assert_eq!(a.session_duration.secs(), 8 * 3600);
        assert_eq!(a.region, None);
        assert_eq!(a.targets[0].duration.secs(), 7200);
        assert_eq!(
            a.targets[0].role_arn(Partition::Aws).as_str(),
            "arn:aws:iam::222222222222:role/Admin"
        );
        parse(&render(&a));
    }

    #[test]
    fn wizard_end_of_input_is_an_error_except_at_target_name() {
        let (r, _) = drive("bastion\n", Given::default());
        assert!(r.unwrap_err().message.contains("input ended"));
        let (r, _) = drive(
            "\n\narn:aws:iam::111111111111:mfa/alice\n\n\n",
            Given::default(),
        );
        assert!(r.unwrap().targets.is_empty());
    }

    #[test]
    fn wizard_uses_flags_as_defaults_and_asks_session_name_for_hardware_tokens() {
        let given = Given {
            mfa_serial: Some("GAHT12345678".parse().unwrap()),
            targets: vec![parse_target_spec("prod=222222222222:PowerUser").unwrap()],
            ..Default::default()
        };
        let (r, out) = drive("\n\nx\nalice\n\n\n\n", given);
        let a = r.unwrap_or_else(|e| panic!("{e}\n{out}"));
        assert_eq!(a.mfa_serial.as_str(), "GAHT12345678");
        assert_eq!(
            a.session_name.as_ref().map(SessionName::as_str),
            Some("alice")
        );
        assert!(out.contains("Targets from --target: prod"), "{out}");
        let c = parse(&render(&a));
        assert_eq!(
            c.targets[&"prod".parse().unwrap()]
                .session_name
                .as_ref()
                .unwrap()
                .as_str(),
            "alice"
        );
    }

    #[test]
    fn target_specs() {
        let t = parse_target_spec("prod=222222222222:team/PowerUser:2h").unwrap();
        assert_eq!(t.duration.secs(), 7200);
        assert_eq!(
            t.role_arn(Partition::Aws).as_str(),
            "arn:aws:iam::222222222222:role/team/PowerUser"
        );
        let t = parse_target_spec("cn=arn:aws-cn:iam::222222222222:role/X:30m").unwrap();
        assert_eq!(
            t.role_arn(Partition::Aws).as_str(),
            "arn:aws-cn:iam::222222222222:role/X"
        );
        assert_eq!(t.duration.secs(), 1800);
        let t = parse_target_spec("p=arn:aws:iam::222222222222:role/X").unwrap();
        assert_eq!(t.duration, DEFAULT_TARGET_DURATION);
        for bad in [
            "prod",
            "=2222:X",
            "p=22:X",
            "p=222222222222",
            "p=222222222222:bad role",
            "p=222222222222:X:13h",
            "p=222222222222:X:1h:x",
            "p=arn:aws:iam::2:role/X",
        ] {
            assert!(parse_target_spec(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn render_quotes_odd_names_and_round_trips() {
        let a = Answers {
            keyring: false,
            bastion_profile: "my \"odd\" profile".into(),
            mfa_serial: "arn:aws-us-gov:iam::111111111111:mfa/alice"
                .parse()
                .unwrap(),
            session_duration: SessionDuration::from_secs(5400),
            session_name: None,
            region: Some("us-gov-west-1".into()),
            targets: vec![
                parse_target_spec("prod.eu=222222222222:PowerUser").unwrap(),
                parse_target_spec("ü'x=333333333333:R").unwrap(),
            ],
            mfa_devices: vec![parse_device_spec(
                "arn:aws-us-gov:iam::111111111111:mfa/alice-ci-2=MFA_SEED_2",
            )
            .unwrap()],
        };
        let text = render(&a);
        let c = parse(&text);
        assert_eq!(c.bastion.mfa_devices.len(), 1);
        assert_eq!(
            c.bastion.mfa_devices[0].seed,
            crate::config::SeedSource::Env("MFA_SEED_2".into())
        );
        for bad in [
            "arn:aws:iam::111111111111:mfa/a",
            "arn:aws:iam::111111111111:mfa/a=JBSW Y3DP",
            "nope=X",
            "arn:aws:iam::111111111111:mfa/a=1X",
        ] {
            assert!(parse_device_spec(bad).is_err(), "{bad}");
        }
        assert_eq!(c.bastion.profile.as_deref(), Some("my \"odd\" profile"));
        assert_eq!(c.bastion.session_duration.unwrap().secs(), 5400);
        assert_eq!(c.targets.len(), 2);
        let t = &c.targets[&"prod.eu".parse().unwrap()];
        assert_eq!(
            t.role_arn.as_str(),
            "arn:aws-us-gov:iam::222222222222:role/PowerUser"
        );
        assert!(c.targets.contains_key(&"ü'x".parse().unwrap()), "{text}");
    }

    #[test]
    fn from_flags_defaults_and_errors() {
        let mut p = profiles();
        let a = from_flags(
            Given {
                mfa_serial: Some("arn:aws:iam::111111111111:mfa/alice".parse().unwrap()),
                ..Default::default()
            },
            &p,
        )
        .unwrap();
        assert_eq!(a.bastion_profile, "bastion");
        assert_eq!(a.region.as_deref(), Some("eu-west-1"));
        let e = from_flags(Given::default(), &p).unwrap_err();
        assert!(e.message.contains("--mfa-serial"), "{e}");
        p.mfa_serials
            .insert("bastion".into(), "arn:aws:iam::111111111111:mfa/bob".into());
        assert_eq!(
            from_flags(Given::default(), &p)
                .unwrap()
                .mfa_serial
                .device_name(),
            Some("bob")
        );
        p.with_keys.push("other".into());
        let e = from_flags(Given::default(), &p).unwrap_err();
        assert!(e.message.contains("--bastion-profile"), "{e}");
    }
}
