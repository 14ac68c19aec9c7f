//! Validated value types: once constructed, a value is known to be well formed,
//! so the rest of the code never re-checks an ARN or a duration.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// Why a value was rejected. The message says what was expected; callers add
/// which flag, key or file the value came from.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

fn invalid<T>(msg: impl Into<String>) -> Result<T, InvalidValue> {
    Err(InvalidValue(msg.into()))
}

/// Regions known when this was written, for did-you-mean on typos. A
/// well-formed region not listed here is accepted (AWS adds regions).
const KNOWN_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    // The isolated partitions, so their names are never taken for typos.
    "us-iso-east-1",
    "us-iso-west-1",
    "us-isob-east-1",
    "eu-isoe-west-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

/// Checks a region name; see [`Region`], the one rule every source of a
/// region goes through.
pub(crate) fn check_region(region: &str) -> Result<(), InvalidValue> {
    region.parse::<Region>().map(|_| ())
}

/// AWS partition, derived from ARNs; decides the STS host name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Partition {
    /// The commercial partition, `aws`.
    Aws,
    /// China, `aws-cn`.
    AwsCn,
    /// GovCloud (US), `aws-us-gov`.
    AwsUsGov,
}

impl Partition {
    /// Parses a partition name as it appears in ARNs.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        match s {
            "aws" => Ok(Self::Aws),
            "aws-cn" => Ok(Self::AwsCn),
            "aws-us-gov" => Ok(Self::AwsUsGov),
            other => invalid(format!(
                "unknown partition '{other}' (expected aws, aws-cn or aws-us-gov)"
            )),
        }
    }

    /// The partition name as it appears in ARNs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Aws => "aws",
            Self::AwsCn => "aws-cn",
            Self::AwsUsGov => "aws-us-gov",
        }
    }

    /// The region to use for STS when none is configured.
    pub fn default_region(self) -> &'static str {
        match self {
            Self::Aws => "us-east-1",
            Self::AwsCn => "cn-north-1",
            Self::AwsUsGov => "us-gov-west-1",
        }
    }

    /// Every partition, in the order help texts list them.
    #[cfg(test)]
    pub(crate) const ALL: [Partition; 3] = [Self::Aws, Self::AwsCn, Self::AwsUsGov];

    /// The regional STS endpoint for this partition.
    pub fn sts_endpoint(self, region: &str) -> String {
        match self {
            Self::AwsCn => format!("https://sts.{region}.amazonaws.com.cn"),
            _ => format!("https://sts.{region}.amazonaws.com"),
        }
    }
}

impl FromStr for Partition {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        Self::parse(s)
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An AWS region name, checked by the one rule every source goes through
/// (config `region`, a target's or profile's `region`, `--region`,
/// `$AWS_REGION` / `$AWS_DEFAULT_REGION`): `^[a-z]{2}(-[a-z]+)+-[0-9]+$`,
/// at most 32 characters (`eu-west-1`, `us-gov-west-1`, `cn-north-1`).
/// A region ends up in an URL (the STS host name), in shell exports and in
/// `~/.aws/credentials`, so nothing else may pass: no `:`, `/`, spaces or
/// line breaks. Checked before any MFA code is spent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Region(String);

impl Region {
    /// The region name.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// Checks `s`; the error names `source` (a flag, key or variable).
    pub(crate) fn parse_from(s: &str, source: &str) -> Result<Self, crate::error::UserError> {
        s.parse().map_err(|e: InvalidValue| {
            crate::error::UserError::new(format!("{source}: {e}"))
                .hint(format!("set {source} to a region name such as eu-west-1 (lower case letters, dashes, a number)"))
        })
    }
}

impl FromStr for Region {
    type Err = InvalidValue;
    /// The shape `xx-name-N` (lowercase letters, dashes, a number); a close
    /// miss of a known region is a typo, but a new number in a known area
    /// (`eu-west-4`) may be a new region.
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        let parts: Vec<&str> = s.split('-').collect();
        let shaped = s.len() <= 32
            && parts.len() >= 3
            && parts[0].len() == 2
            && parts[..parts.len() - 1]
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
            && parts
                .last()
                .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if KNOWN_REGIONS.contains(&s) {
            return Ok(Self(s.to_owned()));
        }
        let hint = crate::error::did_you_mean(s, KNOWN_REGIONS.iter().copied())
            .map(|r| format!("; did you mean '{r}'?"))
            .unwrap_or_default();
        if !shaped {
            return invalid(format!(
                "'{}' is not a region name (like eu-west-1){hint}",
                s.escape_debug()
            ));
        }
        let area = s.trim_end_matches(|c: char| c.is_ascii_digit());
        let known_area = KNOWN_REGIONS
            .iter()
            .any(|r| r.trim_end_matches(|c: char| c.is_ascii_digit()) == area);
        if !known_area && !hint.is_empty() {
            return invalid(format!("'{s}' is not a known region{hint}"));
        }
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A 12-digit AWS account id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountId(String);

impl AccountId {
    /// The 12 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AccountId {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s.to_owned()))
        } else {
            invalid(format!("'{s}' is not a 12-digit AWS account id"))
        }
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Splits `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
fn split_arn(s: &str) -> Option<(&str, &str, &str, &str, &str)> {
    let mut parts = s.splitn(6, ':');
    if parts.next()? != "arn" {
        return None;
    }
    Some((
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    ))
}

/// IAM path+name characters (`[\w+=,.@-]`, plus `/` for paths).
fn is_iam_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

/// `arn:aws:iam::222222222222:role/PowerUser` (paths allowed: `role/team/Name`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoleArn {
    arn: String,
    partition: Partition,
    account: AccountId,
    name_start: usize,
}

impl RoleArn {
    /// Builds a role ARN from its parts, validating the path and role name.
    pub fn new(
        partition: Partition,
        account: &AccountId,
        role: &str,
    ) -> Result<Self, InvalidValue> {
        format!("arn:{}:iam::{}:role/{}", partition.as_str(), account, role).parse()
    }
    /// The ARN text.
    pub fn as_str(&self) -> &str {
        &self.arn
    }
    /// The partition from the ARN.
    pub fn partition(&self) -> Partition {
        self.partition
    }
    /// The account that owns the role.
    pub fn account(&self) -> &AccountId {
        &self.account
    }
    /// The role's name without its path.
    pub fn role_name(&self) -> &str {
        &self.arn[self.name_start..]
    }
}

impl FromStr for RoleArn {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        let shape = "expected arn:aws:iam::123456789012:role/NAME";
        let Some((partition, service, region, account, resource)) = split_arn(s) else {
            return invalid(format!("'{s}' is not a role ARN ({shape})"));
        };
        let partition = Partition::parse(partition)
            .map_err(|e| InvalidValue(format!("'{s}' is not a role ARN: {e}")))?;
        if service != "iam" || !region.is_empty() {
            return invalid(format!("'{s}' is not an IAM role ARN ({shape})"));
        }
        let account: AccountId = account
            .parse()
            .map_err(|e| InvalidValue(format!("'{s}' is not a role ARN: {e}")))?;
        let Some(path_and_name) = resource.strip_prefix("role/") else {
            return invalid(format!(
                "'{s}' is not a role ARN: the resource must start with 'role/' ({shape})"
            ));
        };
        let name = path_and_name.rsplit('/').next().unwrap_or_default();
        if name.is_empty()
            || name.len() > 64
            || !path_and_name
                .chars()
                .all(|c| c == '/' || is_iam_name_char(c))
        {
            return invalid(format!(
                "'{s}' is not a role ARN: the role name must be 1-64 characters of letters, digits and _+=,.@-"
            ));
        }
        Ok(Self {
            name_start: s.len() - name.len(),
            arn: s.to_owned(),
            partition,
            account,
        })
    }
}

impl fmt::Display for RoleArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arn)
    }
}

/// A virtual MFA device ARN (`arn:aws:iam::111111111111:mfa/alice`) or a
/// hardware device serial number (`GAHT12345678`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MfaSerial {
    serial: String,
    partition: Option<Partition>,
    device_name: Option<String>,
}

impl MfaSerial {
    /// The serial text (a device ARN or a hardware serial).
    pub fn as_str(&self) -> &str {
        &self.serial
    }
    /// The partition, when the serial is a virtual-device ARN.
    pub fn partition(&self) -> Option<Partition> {
        self.partition
    }
    /// For `arn:…:mfa/alice`, `alice`: by convention the IAM user's name.
    pub fn device_name(&self) -> Option<&str> {
        self.device_name.as_deref()
    }
}

impl FromStr for MfaSerial {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        let shape = "expected arn:aws:iam::123456789012:mfa/NAME or a hardware token serial";
        if s.starts_with("arn:") {
            let Some((partition, service, region, account, resource)) = split_arn(s) else {
                return invalid(format!("'{s}' is not an MFA device ARN ({shape})"));
            };
            // IAM is global: an MFA device ARN has no region.
            if !region.is_empty() {
                return invalid(format!(
                    "'{s}' is not an MFA device ARN: IAM ARNs have no region ({shape})"
                ));
            }
            let partition = Partition::parse(partition)
                .map_err(|e| InvalidValue(format!("'{s}' is not an MFA device ARN: {e}")))?;
            account
                .parse::<AccountId>()
                .map_err(|e| InvalidValue(format!("'{s}' is not an MFA device ARN: {e}")))?;
            // `mfa/NAME` or `mfa/PATH/NAME`: every part, the path too, of
            // IAM name characters. The serial is shown in dialogs (zenity
            // reads markup) and messages, so nothing else may pass.
            let parts: Option<Vec<&str>> = resource
                .strip_prefix("mfa/")
                .map(|p| p.split('/').collect());
            let whole = parts.as_ref().is_some_and(|parts| {
                resource.len() <= 512
                    && parts
                        .iter()
                        .all(|p| !p.is_empty() && p.chars().all(is_iam_name_char))
            });
            let name = parts.as_ref().and_then(|p| p.last().copied());
            match name {
                Some(n) if service == "iam" && whole => Ok(Self {
                    serial: s.to_owned(),
                    partition: Some(partition),
                    device_name: Some(n.to_owned()),
                }),
                _ => invalid(format!("'{s}' is not an MFA device ARN ({shape})")),
            }
        } else if (9..=256).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+=/:,.@-".contains(c))
        {
            Ok(Self {
                serial: s.to_owned(),
                partition: None,
                device_name: None,
            })
        } else {
            invalid(format!("'{s}' is not an MFA serial ({shape})"))
        }
    }
}

impl fmt::Display for MfaSerial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.serial)
    }
}

/// A credential lifetime in whole seconds. Limits depend on the STS call, so
/// they are checked by [`SessionDuration::check`] where the call is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionDuration(u32);

impl SessionDuration {
    /// The default for sessions and roles when nothing is configured.
    pub const ONE_HOUR: Self = Self(3600);
    /// GetSessionToken limits.
    pub const SESSION_MIN: u32 = 900;
    /// The GetSessionToken maximum for IAM users (36 hours).
    pub const SESSION_MAX: u32 = 129_600;
    /// AssumeRole limits.
    pub const ROLE_MAX: u32 = 43_200;
    /// AWS caps AssumeRole made with session credentials ("role chaining").
    pub const CHAINED_MAX: u32 = 3600;

    /// A duration of `secs` seconds, unchecked (limits are checked by [`Self::check`]).
    pub const fn from_secs(secs: u32) -> Self {
        Self(secs)
    }
    /// The duration in seconds, as STS takes it.
    pub fn secs(self) -> u32 {
        self.0
    }
    /// The same duration if it lies within `min..=max` seconds, else an error saying the limits.
    pub fn check(self, min: u32, max: u32) -> Result<Self, InvalidValue> {
        if (min..=max).contains(&self.0) {
            Ok(self)
        } else {
            invalid(format!(
                "{} is outside the allowed range {} to {}",
                self,
                Self(min),
                Self(max)
            ))
        }
    }
}

impl FromStr for SessionDuration {
    type Err = InvalidValue;
    /// Accepts `900`, `900s`, `15m`, `12h`, `1h30m`.
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        let bad = || {
            InvalidValue(format!(
                "'{s}' is not a duration (examples: 900s, 15m, 1h, 12h, 1h30m)"
            ))
        };
        let t = s.trim();
        if t.is_empty() {
            return Err(bad());
        }
        if t.bytes().all(|b| b.is_ascii_digit()) {
            let secs: u32 = t.parse().map_err(|_| bad())?;
            return if secs == 0 {
                invalid(format!("'{s}': a duration must be more than 0"))
            } else {
                Ok(Self(secs))
            };
        }
        let mut total: u64 = 0;
        let mut number = String::new();
        for c in t.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let unit = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                _ => return Err(bad()),
            };
            let n: u64 = number.parse().map_err(|_| bad())?;
            number.clear();
            total = total
                .checked_add(n.checked_mul(unit).ok_or_else(bad)?)
                .ok_or_else(bad)?;
        }
        if !number.is_empty() {
            return Err(bad());
        }
        if total == 0 {
            return invalid(format!("'{s}': a duration must be more than 0"));
        }
        u32::try_from(total).map(Self).map_err(|_| bad())
    }
}

impl fmt::Display for SessionDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (h, m, s) = (self.0 / 3600, self.0 % 3600 / 60, self.0 % 60);
        let mut out = String::new();
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if m > 0 {
            out.push_str(&format!("{m}m"));
        }
        if s > 0 || out.is_empty() {
            out.push_str(&format!("{s}s"));
        }
        f.write_str(&out)
    }
}

/// RoleSessionName: 2-64 characters of `[\w+=,.@-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionName(String);

impl SessionName {
    /// The session name text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for SessionName {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        if !(2..=64).contains(&s.chars().count()) {
            return invalid(format!(
                "session name '{s}' must be 2 to 64 characters long"
            ));
        }
        if let Some(c) = s.chars().find(|c| !is_iam_name_char(*c)) {
            return invalid(format!(
                "session name '{s}' contains '{c}'; use only letters, digits and _+=,.@-"
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Display for SessionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// sts:ExternalId: 2-1224 characters of `[\w+=,.@:/-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExternalId(String);

impl ExternalId {
    /// The external id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ExternalId {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        if !(2..=1224).contains(&s.len()) {
            return invalid("an external id must be 2 to 1224 characters long");
        }
        if s.chars()
            .any(|c| !(is_iam_name_char(c) || c == ':' || c == '/'))
        {
            return invalid("an external id may contain only letters, digits and _+=,.@:/-");
        }
        Ok(Self(s.to_owned()))
    }
}

/// A 6-digit MFA one-time code. Checked before any STS call.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenCode(String);

impl TokenCode {
    /// The six digits (this is the only way to read a code).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TokenCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenCode(******)")
    }
}

impl FromStr for TokenCode {
    type Err = InvalidValue;
    /// Spaces inside are dropped: authenticator apps show `123 456`.
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        let t: String = s.chars().filter(|c| *c != ' ' && *c != '\t').collect();
        let t = t.trim();
        if t.len() == 6 && t.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(t.to_owned()))
        } else {
            invalid("an MFA code is exactly 6 digits")
        }
    }
}

/// The name of a target: a key of `[targets]` or an AWS config profile.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TargetName(String);

impl TargetName {
    /// The target name text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// A form safe in file names; distinct names stay distinct because the
    /// cache key hash is appended to it.
    pub fn file_stem(&self) -> String {
        self.0
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }
}

impl FromStr for TargetName {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        if s.is_empty() || s.len() > 128 || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
            invalid(format!(
                "'{s}' is not a valid target name (1-128 characters, no spaces)"
            ))
        } else {
            Ok(Self(s.to_owned()))
        }
    }
}

impl fmt::Display for TargetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// At most this many managed policies per AssumeRole (`PolicyArns`).
pub const MAX_POLICY_ARNS: usize = 10;
/// The plain text of the inline and managed session policies together may
/// be at most this many characters (AssumeRole's limit, before packing).
pub const MAX_POLICY_CHARS: usize = 2048;

/// A managed policy's ARN for a session policy:
/// `arn:PARTITION:iam::ACCOUNT:policy/PATH/NAME`, or `aws` as the account
/// for AWS managed policies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PolicyArn(String);

impl PolicyArn {
    /// The ARN text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PolicyArn {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        let shape =
            "expected arn:aws:iam::aws:policy/NAME or arn:aws:iam::123456789012:policy/NAME";
        let Some((partition, service, region, account, resource)) = split_arn(s) else {
            return invalid(format!("'{s}' is not a policy ARN ({shape})"));
        };
        Partition::parse(partition)
            .map_err(|e| InvalidValue(format!("'{s}' is not a policy ARN: {e}")))?;
        if service != "iam" || !region.is_empty() {
            return invalid(format!("'{s}' is not an IAM policy ARN ({shape})"));
        }
        if account != "aws" {
            account
                .parse::<AccountId>()
                .map_err(|e| InvalidValue(format!("'{s}' is not a policy ARN: {e}")))?;
        }
        let Some(path_and_name) = resource.strip_prefix("policy/") else {
            return invalid(format!(
                "'{s}' is not a policy ARN: the resource must start with 'policy/' ({shape})"
            ));
        };
        let name = path_and_name.rsplit('/').next().unwrap_or_default();
        if name.is_empty()
            || name.len() > 128
            || s.len() > MAX_POLICY_CHARS
            || !path_and_name
                .chars()
                .all(|c| c == '/' || is_iam_name_char(c))
        {
            return invalid(format!(
                "'{s}' is not a policy ARN: the policy name must be 1-128 characters of letters, digits and _+=,.@-"
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

impl fmt::Display for PolicyArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An inline session policy: a JSON object with a `Statement`, kept in a
/// canonical compact form (keys sorted, no whitespace). That form is what
/// is sent to STS and what the cache key hashes, so reformatting a policy
/// file changes neither.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlinePolicy(String);

impl InlinePolicy {
    /// The compact JSON sent as AssumeRole's `Policy`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 hex digits of the canonical JSON's SHA-256, to name
    /// the policy in `list` and `whoami` without printing it.
    pub fn short_hash(&self) -> String {
        use sha2::{Digest, Sha256};
        Sha256::digest(self.0.as_bytes())[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl FromStr for InlinePolicy {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        let value: serde_json::Value =
            serde_json::from_str(s).map_err(|e| InvalidValue(format!("not valid JSON ({e})")))?;
        let Some(doc) = value.as_object() else {
            return invalid("a session policy is a JSON object ({\"Version\": \"2012-10-17\", \"Statement\": [...]})");
        };
        match doc.get("Statement") {
            Some(serde_json::Value::Array(a)) if !a.is_empty() => {}
            Some(serde_json::Value::Object(_)) => {}
            _ => return invalid(
                "the policy has no \"Statement\" (an object, or a non-empty list of statements)",
            ),
        }
        let compact = value.to_string();
        // STS takes these characters only (tab, newline, CR, U+0020-U+00FF).
        if let Some(c) = compact
            .chars()
            .find(|&c| !matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}'))
        {
            return invalid(format!(
                "the policy contains {c:?} (U+{:04X}); STS accepts only tab, newline and U+0020-U+00FF",
                u32::from(c)
            ));
        }
        let chars = compact.chars().count();
        if chars > MAX_POLICY_CHARS {
            return invalid(format!(
                "the policy is {chars} characters without whitespace; STS takes at most {MAX_POLICY_CHARS}"
            ));
        }
        Ok(Self(compact))
    }
}

/// What narrows a role session: managed policy ARNs and an inline policy,
/// both optional. The credentials get the role's permissions intersected
/// with these. Empty means "not narrowed".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionPolicy {
    arns: Vec<PolicyArn>,
    inline: Option<InlinePolicy>,
}

impl SessionPolicy {
    /// Checks AssumeRole's limits together: at most 10 ARNs and 2 048
    /// characters in all. ARNs are sorted and deduplicated (their order
    /// does not change the permissions, so it must not change the cache key).
    pub fn new(
        mut arns: Vec<PolicyArn>,
        inline: Option<InlinePolicy>,
    ) -> Result<Self, InvalidValue> {
        arns.sort();
        arns.dedup();
        if arns.len() > MAX_POLICY_ARNS {
            return invalid(format!(
                "{} policy ARNs given; AssumeRole takes at most {MAX_POLICY_ARNS}",
                arns.len()
            ));
        }
        let chars = arns.iter().map(|a| a.0.len()).sum::<usize>()
            + inline.as_ref().map_or(0, |p| p.0.chars().count());
        if chars > MAX_POLICY_CHARS {
            return invalid(format!(
                "the session policies are {chars} characters together (ARNs and inline policy); STS takes at most {MAX_POLICY_CHARS}"
            ));
        }
        Ok(Self { arns, inline })
    }

    /// No policy: the role's full permissions.
    pub fn is_empty(&self) -> bool {
        self.arns.is_empty() && self.inline.is_none()
    }

    /// The managed policy ARNs, sorted.
    pub fn arns(&self) -> &[PolicyArn] {
        &self.arns
    }

    /// The inline policy, if any.
    pub fn inline(&self) -> Option<&InlinePolicy> {
        self.inline.as_ref()
    }

    /// The part of a cache key that separates narrowed credentials: empty
    /// for none (so unnarrowed entries keep their key), else the sorted
    /// ARNs and the canonical inline JSON.
    pub fn cache_part(&self) -> String {
        if self.is_empty() {
            return String::new();
        }
        let mut s = String::from("session-policy");
        for a in &self.arns {
            s.push('\n');
            s.push_str(&a.0);
        }
        if let Some(p) = &self.inline {
            s.push_str("\ninline\n");
            s.push_str(&p.0);
        }
        s
    }

    /// One line naming the policy, e.g. `arn:aws:iam::aws:policy/ReadOnlyAccess
    /// + inline policy sha256:0a1b2c3d4e5f`; `None` when not narrowed.
    pub fn describe(&self) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        let mut parts: Vec<String> = self.arns.iter().map(|a| a.0.clone()).collect();
        if let Some(p) = &self.inline {
            parts.push(format!("inline policy sha256:{}", p.short_hash()));
        }
        Some(parts.join(" + "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        for ok in [
            "eu-west-1",
            "us-gov-west-1",
            "cn-north-1",
            "ap-southeast-2",
            "us-isob-east-1",
            "cn-northwest-1",
            "eu-west-4",
            "xx-new-1",
        ] {
            assert_eq!(ok.parse::<Region>().unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "eu",
            "eu-west",
            "EU-WEST-1",
            "eu west 1",
            "eu-west-1\n[default]",
            "evil.example:8443/",
            "e-west-1",
            "eu--1",
            "eu-west-1a",
            "eu-west-1-",
        ] {
            assert!(bad.parse::<Region>().is_err(), "{bad:?}");
        }
        assert!(
            check_region("eu-west-4").is_ok(),
            "a new region of a known area"
        );
        let e = check_region("eu west").unwrap_err().0;
        assert_eq!(
            e,
            "'eu west' is not a region name (like eu-west-1); did you mean 'eu-west-1'?"
        );
        let e = check_region("eu-wset-1").unwrap_err().0;
        assert!(e.contains("did you mean 'eu-west-1'"), "{e}");
        assert!(check_region("EU-WEST-1").is_err());
        assert!(check_region("euwest1").is_err());
        assert!(check_region("").is_err());
    }

    #[test]
    fn token_codes_with_spaces() {
        assert_eq!("123 456".parse::<TokenCode>().unwrap().as_str(), "123456");
        assert_eq!(" 123456\n".parse::<TokenCode>().unwrap().as_str(), "123456");
        assert!("123 45".parse::<TokenCode>().is_err());
        assert!("123-456".parse::<TokenCode>().is_err());
    }

    #[test]
    fn role_arn_parses_and_exposes_parts() {
        let arn: RoleArn = "arn:aws:iam::222222222222:role/team/PowerUser"
            .parse()
            .unwrap();
        assert_eq!(arn.account().as_str(), "222222222222");
        assert_eq!(arn.role_name(), "PowerUser");
        assert_eq!(arn.partition(), Partition::Aws);
        let cn: RoleArn = "arn:aws-cn:iam::222222222222:role/X".parse().unwrap();
        assert_eq!(cn.partition(), Partition::AwsCn);
    }

    #[test]
    fn role_arn_rejects_malformed() {
        for bad in [
            "",
            "arn:aws:iam::22222222222:role/X",
            "arn:aws:iam::222222222222:user/X",
            "arn:aws:s3::222222222222:role/X",
            "arn:aws:iam:us-east-1:222222222222:role/X",
            "arn:aws:iam::222222222222:role/",
            "arn:foo:iam::222222222222:role/X",
            "arn:aws:iam::222222222222:role/bad name",
        ] {
            assert!(bad.parse::<RoleArn>().is_err(), "{bad}");
        }
    }

    #[test]
    fn mfa_serial_forms() {
        let s: MfaSerial = "arn:aws:iam::111111111111:mfa/alice".parse().unwrap();
        assert_eq!(s.device_name(), Some("alice"));
        let hw: MfaSerial = "GAHT12345678".parse().unwrap();
        assert_eq!(hw.device_name(), None);
        assert!("arn:aws:iam::111111111111:user/alice"
            .parse::<MfaSerial>()
            .is_err());
        assert!("arn:aws:iam::1111:mfa/alice".parse::<MfaSerial>().is_err());
        assert!("short".parse::<MfaSerial>().is_err());
    }

    /// Only the path and region rules stop these: each has a valid
    /// partition, account and device name.
    #[test]
    fn mfa_serial_paths_and_regions_are_validated() {
        let ok = [
            ("arn:aws:iam::111111111111:mfa/alice", "alice"),
            ("arn:aws:iam::111111111111:mfa/team/alice", "alice"),
            (
                "arn:aws:iam::111111111111:mfa/a.b/c_d/e+f=g,h@i-j",
                "e+f=g,h@i-j",
            ),
        ];
        for (s, name) in ok {
            assert_eq!(s.parse::<MfaSerial>().unwrap().device_name(), Some(name));
        }
        let bad = [
            "arn:aws:iam::111111111111:mfa/<big>/alice",
            "arn:aws:iam::111111111111:mfa/<span_size=\"x\">/alice",
            "arn:aws:iam::111111111111:mfa/&amp;/alice",
            "arn:aws:iam::111111111111:mfa/team\n<b>Password</b>:/alice",
            "arn:aws:iam::111111111111:mfa/a\u{1b}[2J/alice",
            "arn:aws:iam::111111111111:mfa/with space/alice",
            "arn:aws:iam::111111111111:mfa/caf\u{e9}/alice",
            "arn:aws:iam::111111111111:mfa//alice",
            "arn:aws:iam::111111111111:mfa/team//alice",
            "arn:aws:iam::111111111111:mfa/alice/",
            "arn:aws:iam:us-east-1:111111111111:mfa/alice",
        ];
        for s in bad {
            assert!(s.parse::<MfaSerial>().is_err(), "{s:?}");
        }
        let long = format!("arn:aws:iam::111111111111:mfa/{}/alice", "p".repeat(520));
        assert!(long.parse::<MfaSerial>().is_err());
    }

    #[test]
    fn durations() {
        let d = |s: &str| s.parse::<SessionDuration>().map(|d| d.secs());
        assert_eq!(d("900s"), Ok(900));
        assert_eq!(d("15m"), Ok(900));
        assert_eq!(d("12h"), Ok(43200));
        assert_eq!(d("36h"), Ok(129600));
        assert_eq!(d("1h30m"), Ok(5400));
        assert_eq!(d("3600"), Ok(3600));
        assert!(d("12x").is_err());
        assert!(d("0s").is_err());
        assert!(d("h").is_err());
        assert!(d("").is_err());
        assert!(d("99999999999h").is_err());
        let forty = "40h".parse::<SessionDuration>().unwrap();
        assert!(forty
            .check(SessionDuration::SESSION_MIN, SessionDuration::SESSION_MAX)
            .is_err());
        assert_eq!(SessionDuration::from_secs(5400).to_string(), "1h30m");
        assert_eq!(SessionDuration::from_secs(900).to_string(), "15m");
    }

    #[test]
    fn session_names_and_external_ids() {
        assert!("alice".parse::<SessionName>().is_ok());
        assert!("a".parse::<SessionName>().is_err());
        assert!("x".repeat(65).parse::<SessionName>().is_err());
        assert!("has space".parse::<SessionName>().is_err());
        assert!("ok:id/1".parse::<ExternalId>().is_ok());
        assert!("x".parse::<ExternalId>().is_err());
        assert!("bad id".parse::<ExternalId>().is_err());
    }

    #[test]
    fn token_codes() {
        assert!("123456".parse::<TokenCode>().is_ok());
        assert!("12345".parse::<TokenCode>().is_err());
        assert!("12345a".parse::<TokenCode>().is_err());
        assert_eq!(
            format!("{:?}", "123456".parse::<TokenCode>().unwrap()),
            "TokenCode(******)"
        );
    }

    #[test]
    fn policy_arns() {
        assert!("arn:aws:iam::aws:policy/ReadOnlyAccess"
            .parse::<PolicyArn>()
            .is_ok());
        assert!("arn:aws-cn:iam::123456789012:policy/team/ro"
            .parse::<PolicyArn>()
            .is_ok());
        for bad in [
            "ReadOnlyAccess",
            "arn:aws:iam::aws:role/ReadOnly",
            "arn:aws:s3::aws:policy/x",
            "arn:aws:iam::12345:policy/x",
            "arn:aws:iam::aws:policy/",
            "arn:nope:iam::aws:policy/x",
            "arn:aws:iam:eu-west-1:aws:policy/x",
        ] {
            assert!(bad.parse::<PolicyArn>().is_err(), "{bad}");
        }
    }

    #[test]
    fn inline_policies_are_canonical_and_checked() {
        let a: InlinePolicy = r#"{ "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}] }"#
            .parse()
            .unwrap();
        let b: InlinePolicy =
            r#"{"Statement":[{"Resource":"*","Action":"s3:Get*","Effect":"Allow"}],"Version":"2012-10-17"}"#
                .parse()
                .unwrap();
        assert_eq!(a, b);
        assert!(!a.as_str().contains(' '));
        assert_eq!(a.short_hash().len(), 12);
        let e = "{".parse::<InlinePolicy>().unwrap_err();
        assert!(e.0.contains("not valid JSON"), "{e}");
        assert!("[]"
            .parse::<InlinePolicy>()
            .unwrap_err()
            .0
            .contains("JSON object"));
        assert!(r#"{"Version":"2012-10-17"}"#.parse::<InlinePolicy>().unwrap_err().0.contains("Statement"));
        let big = format!(
            r#"{{"Statement":{{"Effect":"Allow","Action":"s3:*","Resource":"{}"}}}}"#,
            "x".repeat(2100)
        );
        assert!(big
            .parse::<InlinePolicy>()
            .unwrap_err()
            .0
            .contains("at most 2048"));
        let wide = r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"\u2603"}}"#;
        assert!(wide
            .parse::<InlinePolicy>()
            .unwrap_err()
            .0
            .contains("U+2603"));
    }

    #[test]
    fn session_policy_limits_order_and_cache_part() {
        let arn = |n: u32| {
            format!("arn:aws:iam::aws:policy/P{n}")
                .parse::<PolicyArn>()
                .unwrap()
        };
        assert!(SessionPolicy::new((0..11).map(arn).collect(), None)
            .unwrap_err()
            .0
            .contains("at most 10"));
        let one = SessionPolicy::new(vec![arn(2), arn(1)], None).unwrap();
        let two = SessionPolicy::new(vec![arn(1), arn(2), arn(1)], None).unwrap();
        assert_eq!(one, two);
        assert_eq!(one.cache_part(), two.cache_part());
        assert_eq!(SessionPolicy::default().cache_part(), "");
        assert!(SessionPolicy::default().describe().is_none());
        let inline: InlinePolicy = r#"{"Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}"#
            .parse()
            .unwrap();
        let both = SessionPolicy::new(vec![arn(1)], Some(inline)).unwrap();
        assert_ne!(both.cache_part(), one.cache_part());
        let d = both.describe().unwrap();
        assert!(
            d.starts_with("arn:aws:iam::aws:policy/P1 + inline policy sha256:"),
            "{d}"
        );
    }
}
