//! The emulated IAM world: users (with keys, MFA devices and identity
//! policies) and roles (with trust policies). Loaded from TOML/JSON or built
//! in code, and always validated before the emulator serves it.

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::policy::{Policy, PolicyKind};
use crate::totp;

/// Everything the emulator knows about: who may sign requests and which roles exist.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct World {
    #[serde(default)]
    pub users: Vec<User>,
    #[serde(default)]
    pub roles: Vec<Role>,
    /// Customer managed policies, by ARN, for AssumeRole's `PolicyArns`
    /// (AWS managed ones the emulator knows are built in: see
    /// [`crate::policy::aws_managed`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_policies: Vec<ManagedPolicy>,
}

/// A managed policy: `arn:aws:iam::ACCOUNT:policy/[PATH/]NAME` and its document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManagedPolicy {
    pub arn: String,
    pub document: String,
}

/// IAM's limit on MFA devices per user.
pub const MAX_MFA_DEVICES: usize = 8;

/// An IAM user with one long-term access key and up to eight MFA devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// 12-digit account id.
    pub account: String,
    pub name: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// The key's CreateDate for IAM ListAccessKeys (RFC 3339, e.g.
    /// `2026-01-01T00:00:00Z`); default: when the emulator started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_created: Option<String>,
    /// The user's first (or only) virtual MFA device: `[users.mfa]`.
    #[serde(default)]
    pub mfa: Option<MfaDevice>,
    /// Further MFA devices: `[[users.mfa_devices]]`. With `mfa`, at most
    /// [`MAX_MFA_DEVICES`] in all, as IAM allows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mfa_devices: Vec<MfaDevice>,
    /// IAM JSON identity policies (the user's own plus its groups').
    #[serde(default)]
    pub policies: Vec<String>,
}

/// A virtual (TOTP) MFA device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfaDevice {
    /// `arn:aws:iam::ACCOUNT:mfa/NAME`
    pub serial: String,
    /// Base32 TOTP seed (RFC 6238, SHA-1, 30 s, 6 digits).
    pub seed: String,
}

impl MfaDevice {
    pub fn new(serial: impl Into<String>, seed: impl Into<String>) -> MfaDevice {
        MfaDevice {
            serial: serial.into(),
            seed: seed.into(),
        }
    }
}

/// An IAM role that can be assumed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// `arn:aws:iam::ACCOUNT:role/NAME` (paths allowed).
    pub arn: String,
    /// IAM JSON trust policy.
    pub trust_policy: String,
    /// Seconds, 3600..=43200.
    #[serde(default = "default_max_session_duration")]
    pub max_session_duration: u32,
    /// Refuse AssumeRole unless the caller authenticated with MFA, whatever the policies say.
    #[serde(default)]
    pub require_mfa: bool,
    /// The role's permission policies. Unset: the role's permissions are not
    /// modelled, and its sessions may call every STS action (role chaining
    /// is then decided by the target's trust policy) and no IAM action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<Vec<String>>,
}

fn default_max_session_duration() -> u32 {
    3600
}

impl User {
    /// A user without MFA device and without policies.
    pub fn new(
        account: impl Into<String>,
        name: impl Into<String>,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> User {
        User {
            account: account.into(),
            name: name.into(),
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            access_key_created: None,
            mfa: None,
            mfa_devices: Vec::new(),
            policies: Vec::new(),
        }
    }

    /// Set the user's first MFA device (`[users.mfa]`), replacing any there was.
    pub fn with_mfa(mut self, serial: impl Into<String>, seed: impl Into<String>) -> User {
        self.mfa = Some(MfaDevice {
            serial: serial.into(),
            seed: seed.into(),
        });
        self
    }

    /// Add one more MFA device (`[[users.mfa_devices]]`); each device has
    /// its own serial, seed and record of used codes.
    pub fn with_mfa_device(mut self, serial: impl Into<String>, seed: impl Into<String>) -> User {
        self.mfa_devices.push(MfaDevice {
            serial: serial.into(),
            seed: seed.into(),
        });
        self
    }

    /// Every MFA device of the user: `mfa` first, then `mfa_devices`.
    pub fn devices(&self) -> impl Iterator<Item = &MfaDevice> {
        self.mfa.iter().chain(self.mfa_devices.iter())
    }

    /// The access key's CreateDate (RFC 3339) as IAM reports it.
    pub fn with_access_key_created(mut self, rfc3339: impl Into<String>) -> User {
        self.access_key_created = Some(rfc3339.into());
        self
    }

    pub fn with_policy(mut self, policy_json: impl Into<String>) -> User {
        self.policies.push(policy_json.into());
        self
    }

    /// `arn:aws:iam::ACCOUNT:user/NAME`
    pub fn arn(&self) -> String {
        format!("arn:aws:iam::{}:user/{}", self.account, self.name)
    }
}

impl Role {
    /// A role with MaxSessionDuration 3600 that does not itself require MFA.
    pub fn new(arn: impl Into<String>, trust_policy: impl Into<String>) -> Role {
        Role {
            arn: arn.into(),
            trust_policy: trust_policy.into(),
            max_session_duration: default_max_session_duration(),
            require_mfa: false,
            policies: None,
        }
    }

    /// Add a permission policy (the role's permissions are then modelled).
    pub fn with_policy(mut self, policy_json: impl Into<String>) -> Role {
        self.policies
            .get_or_insert_with(Vec::new)
            .push(policy_json.into());
        self
    }

    pub fn with_max_session_duration(mut self, secs: u32) -> Role {
        self.max_session_duration = secs;
        self
    }

    pub fn with_require_mfa(mut self, require: bool) -> Role {
        self.require_mfa = require;
        self
    }

    /// Account id from the ARN (the ARN is validated before use).
    pub fn account(&self) -> &str {
        parse_role_arn(&self.arn).map(|p| p.0).unwrap_or("")
    }

    /// Role name without path, as used in assumed-role ARNs.
    pub fn name(&self) -> &str {
        parse_role_arn(&self.arn).map(|p| p.1).unwrap_or("")
    }
}

/// Why a world was refused. Display is one line naming the user or role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorldError {
    /// The TOML/JSON text could not be parsed (syntax, types, unknown keys).
    Parse(String),
    /// A user's field is invalid.
    User { user: String, problem: String },
    /// A role's field is invalid.
    Role { role: String, problem: String },
    /// One of a user's identity policies is invalid.
    UserPolicy {
        user: String,
        index: usize,
        message: String,
    },
    /// A role's trust policy is invalid.
    TrustPolicy { role: String, message: String },
    /// Two users share an access key id.
    DuplicateAccessKey(String),
    /// Two roles share an ARN.
    DuplicateRole(String),
    /// A managed policy is invalid.
    ManagedPolicy { arn: String, problem: String },
}

impl fmt::Display for WorldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorldError::Parse(m) => write!(f, "invalid world file: {}", one_line(m)),
            WorldError::User { user, problem } => write!(f, "user {user}: {problem}"),
            WorldError::Role { role, problem } => write!(f, "role {role}: {problem}"),
            WorldError::UserPolicy {
                user,
                index,
                message,
            } => write!(f, "user {user}: policies[{index}]: {message}"),
            WorldError::TrustPolicy { role, message } => {
                write!(f, "role {role}: trust_policy: {message}")
            }
            WorldError::DuplicateAccessKey(k) => {
                write!(f, "access key id {k} is used by more than one user")
            }
            WorldError::DuplicateRole(arn) => write!(f, "role {arn} is defined more than once"),
            WorldError::ManagedPolicy { arn, problem } => {
                write!(f, "managed policy {arn}: {problem}")
            }
        }
    }
}

impl std::error::Error for WorldError {}

/// Parser errors (toml in particular) span several lines with a source excerpt.
fn one_line(message: &str) -> String {
    // Drop the excerpt lines ("  |", "3 | text", "  | ^^^"), keep the prose.
    let is_excerpt = |l: &str| {
        l.split_once('|')
            .is_some_and(|(gutter, _)| gutter.trim().chars().all(|c| c.is_ascii_digit()))
    };
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !is_excerpt(l))
        .collect::<Vec<_>>()
        .join(": ")
}

/// Splits `arn:aws:iam::ACCOUNT:role/[PATH/]NAME` into (account, name).
pub(crate) fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let path_and_name = resource.strip_prefix("role/")?;
    let name = path_and_name.rsplit('/').next()?;
    let name_ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    let path_ok = path_and_name
        .chars()
        .all(|c| c == '/' || c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    (is_account_id(account) && name_ok && path_ok).then_some((account, name))
}

pub(crate) fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_mfa_serial_for(serial: &str, account: &str) -> bool {
    serial
        .strip_prefix("arn:aws:iam::")
        .and_then(|r| r.split_once(":mfa/"))
        .is_some_and(|(acct, name)| {
            acct == account
                && !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c))
        })
}

impl World {
    pub fn new() -> World {
        World::default()
    }

    pub fn with_user(mut self, u: User) -> World {
        self.users.push(u);
        self
    }

    /// Define a customer managed policy for AssumeRole's `PolicyArns`.
    pub fn with_managed_policy(
        mut self,
        arn: impl Into<String>,
        document: impl Into<String>,
    ) -> World {
        self.managed_policies.push(ManagedPolicy {
            arn: arn.into(),
            document: document.into(),
        });
        self
    }

    pub fn with_role(mut self, r: Role) -> World {
        self.roles.push(r);
        self
    }

    /// Parse a TOML world file and validate it.
    pub fn from_toml(s: &str) -> Result<World, WorldError> {
        let world: World = toml::from_str(s).map_err(|e| WorldError::Parse(e.to_string()))?;
        world.validate()?;
        Ok(world)
    }

    /// Parse a JSON world file and validate it.
    pub fn from_json(s: &str) -> Result<World, WorldError> {
        let world: World = serde_json::from_str(s).map_err(|e| WorldError::Parse(e.to_string()))?;
        world.validate()?;
        Ok(world)
    }

    /// Check every field and parse every policy, so that a bad world fails at
    /// start-up instead of as a confusing AccessDenied later.
    pub fn validate(&self) -> Result<(), WorldError> {
        let mut keys = HashSet::new();
        let mut serials = HashSet::new();
        for u in &self.users {
            let err = |problem: String| WorldError::User {
                user: if u.name.is_empty() {
                    u.access_key_id.clone()
                } else {
                    u.name.clone()
                },
                problem,
            };
            if !is_account_id(&u.account) {
                return Err(err(format!(
                    "account {:?} is not a 12-digit account id",
                    u.account
                )));
            }
            let name_ok = !u.name.is_empty()
                && u.name.len() <= 64
                && u.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
            if !name_ok {
                return Err(err(format!(
                    "name {:?} is not a valid IAM user name",
                    u.name
                )));
            }
            let akid_ok = u.access_key_id.len() == 20
                && u.access_key_id.starts_with("AKIA")
                && u.access_key_id
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
            if !akid_ok {
                return Err(err(format!(
                    "access_key_id {:?} must be AKIA followed by 16 characters A-Z/0-9",
                    u.access_key_id
                )));
            }
            if u.secret_access_key.len() < 16 || !u.secret_access_key.is_ascii() {
                return Err(err(
                    "secret_access_key must be at least 16 ASCII characters".into(),
                ));
            }
            if let Some(t) = &u.access_key_created {
                if chrono::DateTime::parse_from_rfc3339(t).is_err() {
                    return Err(err(format!(
                        "access_key_created {t:?} is not an RFC 3339 time like 2026-01-01T00:00:00Z"
                    )));
                }
            }
            if !keys.insert(u.access_key_id.as_str()) {
                return Err(WorldError::DuplicateAccessKey(u.access_key_id.clone()));
            }
            let labelled = u.mfa.iter().map(|d| ("mfa".to_string(), d)).chain(
                u.mfa_devices
                    .iter()
                    .enumerate()
                    .map(|(i, d)| (format!("mfa_devices[{i}]"), d)),
            );
            for (label, mfa) in labelled {
                if !is_mfa_serial_for(&mfa.serial, &u.account) {
                    return Err(err(format!(
                        "{label}.serial {:?} must be arn:aws:iam::{}:mfa/NAME",
                        mfa.serial, u.account
                    )));
                }
                if !serials.insert(mfa.serial.as_str()) {
                    return Err(err(format!(
                        "{label}.serial {} is used more than once",
                        mfa.serial
                    )));
                }
                if totp::decode_seed(&mfa.seed).is_none() {
                    return Err(err(format!("{label}.seed is not a valid base32 TOTP seed")));
                }
            }
            let count = u.devices().count();
            if count > MAX_MFA_DEVICES {
                return Err(err(format!(
                    "has {count} MFA devices; IAM allows at most {MAX_MFA_DEVICES} per user"
                )));
            }
            for (index, p) in u.policies.iter().enumerate() {
                Policy::parse(p, PolicyKind::Identity).map_err(|e| WorldError::UserPolicy {
                    user: u.name.clone(),
                    index,
                    message: e.message,
                })?;
            }
        }
        let mut arns = HashSet::new();
        for r in &self.roles {
            let err = |problem: String| WorldError::Role {
                role: r.arn.clone(),
                problem,
            };
            if parse_role_arn(&r.arn).is_none() {
                return Err(err(
                    "arn must look like arn:aws:iam::123456789012:role/NAME".into(),
                ));
            }
            if !(3600..=43200).contains(&r.max_session_duration) {
                return Err(err(format!(
                    "max_session_duration {} is outside 3600..=43200",
                    r.max_session_duration
                )));
            }
            if !arns.insert(r.arn.as_str()) {
                return Err(WorldError::DuplicateRole(r.arn.clone()));
            }
            Policy::parse(&r.trust_policy, PolicyKind::Trust).map_err(|e| {
                WorldError::TrustPolicy {
                    role: r.arn.clone(),
                    message: e.message,
                }
            })?;
            for (index, p) in r.policies.iter().flatten().enumerate() {
                Policy::parse(p, PolicyKind::Identity)
                    .map_err(|e| err(format!("policies[{index}]: {}", e.message)))?;
            }
        }
        let mut policy_arns = HashSet::new();
        for m in &self.managed_policies {
            let err = |problem: String| WorldError::ManagedPolicy {
                arn: m.arn.clone(),
                problem,
            };
            let parts: Vec<&str> = m.arn.splitn(6, ':').collect();
            let ok = matches!(parts[..], ["arn", "aws", "iam", "", account, resource]
                if is_account_id(account) && resource.strip_prefix("policy/").is_some_and(|n| !n.is_empty()));
            if !ok {
                return Err(err(
                    "managed policy arn must look like arn:aws:iam::123456789012:policy/NAME"
                        .into(),
                ));
            }
            if !policy_arns.insert(m.arn.as_str()) {
                return Err(err("managed policy is defined more than once".into()));
            }
            Policy::parse(&m.document, PolicyKind::Identity)
                .map_err(|e| err(format!("document: {}", e.message)))?;
        }
        Ok(())
    }

    /// The standard world used by mfacli's tests and demo; see [`World::demo_toml`].
    pub fn demo() -> World {
        World::from_toml(DEMO_TOML).expect("the built-in demo world is valid")
    }

    /// [`World::demo`] where alice has `devices` MFA devices (1..=8): her
    /// demo device, then the first `devices - 1` of
    /// [`demo::ALICE_EXTRA_DEVICES`](crate::demo::ALICE_EXTRA_DEVICES).
    pub fn demo_with_mfa_devices(devices: usize) -> World {
        let mut world = World::demo();
        let extra = devices.clamp(1, MAX_MFA_DEVICES) - 1;
        for (serial, seed) in &crate::demo::ALICE_EXTRA_DEVICES[..extra] {
            world.users[0]
                .mfa_devices
                .push(MfaDevice::new(*serial, *seed));
        }
        world
    }

    /// [`World::demo`] as a world file.
    pub fn demo_toml() -> &'static str {
        DEMO_TOML
    }
}

const DEMO_TOML: &str = r#"# sts-emulator world file (the built-in demo world).
#
# Bastion account 111111111111 holds the IAM users; roles live in the
# target accounts and trust the bastion account when MFA was used.

[[users]]
account = "111111111111"
name = "alice"
access_key_id = "AKIAALICE0EXAMPLE001"
secret_access_key = "aliceSECRETkey0000000000000000EXAMPLE001"
policies = ['''
{"Version": "2012-10-17", "Statement": [
  {"Sid": "1", "Effect": "Allow", "Action": ["sts:AssumeRole"], "Resource": "*",
   "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}},
  {"Sid": "2", "Effect": "Allow", "Action": ["sts:GetSessionToken"], "Resource": "*"}]}
''']

[users.mfa]
serial = "arn:aws:iam::111111111111:mfa/alice"
seed = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

[[users]]
account = "111111111111"
name = "bob"
access_key_id = "AKIABOB00000EXAMPLE2"
secret_access_key = "bobSECRETkey00000000000000000000EXAMPLE2"
policies = ['''
{"Version": "2012-10-17", "Statement": [
  {"Sid": "1", "Effect": "Allow", "Action": ["sts:AssumeRole"], "Resource": "*",
   "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}},
  {"Sid": "2", "Effect": "Allow", "Action": ["sts:GetSessionToken"], "Resource": "*"}]}
''']

[[roles]]
arn = "arn:aws:iam::222222222222:role/PowerUser"
max_session_duration = 43200
require_mfa = true
trust_policy = '''
{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
   "Action": "sts:AssumeRole",
   "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}
'''

[[roles]]
arn = "arn:aws:iam::333333333333:role/PowerUser"
max_session_duration = 43200
require_mfa = true
trust_policy = '''
{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
   "Action": "sts:AssumeRole",
   "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}
'''

[[roles]]
arn = "arn:aws:iam::444444444444:role/Auditor"
max_session_duration = 3600
require_mfa = true
trust_policy = '''
{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
   "Action": "sts:AssumeRole",
   "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"},
                 "StringEquals": {"sts:ExternalId": "audit-42"}}}]}
'''

[[roles]]
arn = "arn:aws:iam::555555555555:role/Untrusting"
max_session_duration = 3600
require_mfa = false
trust_policy = '''
{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
   "Action": "sts:AssumeRole"}]}
'''
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_world_is_valid_and_has_expected_constants() {
        let w = World::demo();
        assert_eq!(w.users.len(), 2);
        assert_eq!(w.roles.len(), 4);
        let alice = &w.users[0];
        assert_eq!(alice.access_key_id.len(), 20);
        assert_eq!(alice.secret_access_key.len(), 40);
        assert_eq!(w.users[1].secret_access_key.len(), 40);
        assert_eq!(w.users[1].access_key_id.len(), 20);
        assert_eq!(alice.arn(), "arn:aws:iam::111111111111:user/alice");
        assert_eq!(w.roles[0].account(), "222222222222");
        assert_eq!(w.roles[0].name(), "PowerUser");
    }

    #[test]
    fn json_round_trip() {
        let json = serde_json::to_string(&World::demo()).unwrap();
        assert_eq!(World::from_json(&json).unwrap(), World::demo());
    }

    #[test]
    fn role_arn_parsing() {
        assert_eq!(
            parse_role_arn("arn:aws:iam::123456789012:role/path/x/Admin"),
            Some(("123456789012", "Admin"))
        );
        assert!(parse_role_arn("arn:aws:iam::12345678901:role/A").is_none());
        assert!(parse_role_arn("arn:aws:iam::123456789012:user/A").is_none());
        assert!(parse_role_arn("arn:aws:iam::123456789012:role/").is_none());
        assert!(parse_role_arn("PowerUser").is_none());
    }
}
