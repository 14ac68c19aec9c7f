//! The IAM subset a bastion user needs to look after itself, served on the
//! same port as STS (the Action decides; SigV4 service `iam`, API version
//! 2010-05-08): access keys (Create/Update/Delete/ListAccessKeys) and MFA
//! devices (ListMFADevices, CreateVirtualMFADevice, EnableMFADevice,
//! DeleteVirtualMFADevice).
//!
//! Every action is authorised by the caller's identity policies, deny by
//! default, with `${aws:username}` and `aws:MultiFactorAuthPresent` (true for
//! GetSessionToken credentials obtained with MFA) in the context. As in AWS,
//! GetSessionToken credentials obtained without MFA cannot call IAM at all.

use chrono::{DateTime, Utc};
use rand::Rng;

use crate::policy::{self, Decision};
use crate::sts::{
    is_word, iso8601, random_string, AccessKey, Caller, Device, Identity, Params, State, StsError,
    Validation, BASE64, UPPER_DIGITS,
};
use crate::{totp, xml, MAX_MFA_DEVICES};

pub(crate) const API_VERSION: &str = "2010-05-08";
/// IAM's quota of access keys per user.
const MAX_ACCESS_KEYS: usize = 2;

const ACTIONS: [&str; 8] = [
    "CreateAccessKey",
    "UpdateAccessKey",
    "DeleteAccessKey",
    "ListAccessKeys",
    "ListMFADevices",
    "CreateVirtualMFADevice",
    "EnableMFADevice",
    "DeleteVirtualMFADevice",
];

pub(crate) fn is_iam_action(action: &str) -> bool {
    ACTIONS.contains(&action)
}

fn no_such_entity(message: impl Into<String>) -> StsError {
    StsError::new(404, "NoSuchEntity", message)
}

fn limit_exceeded(message: impl Into<String>) -> StsError {
    StsError::new(409, "LimitExceeded", message)
}

fn already_exists(message: impl Into<String>) -> StsError {
    StsError::new(409, "EntityAlreadyExists", message)
}

/// Standard base64 of `data` (IAM's blobs, such as `Base32StringSeed`).
fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(BASE64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A fresh 320-bit TOTP seed in base32, as IAM makes for virtual devices.
fn new_seed() -> String {
    let mut bytes = [0u8; 40];
    rand::thread_rng().fill(&mut bytes[..]);
    base32(&bytes)
}

/// RFC 4648 base32 without padding.
fn base32(data: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in data {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

fn name_pattern(c: char) -> bool {
    is_word(c) || "+=,.@-".contains(c)
}

/// One access key as [`crate::Emulator::access_keys`] shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKeyInfo {
    pub access_key_id: String,
    /// "Active" or "Inactive".
    pub status: String,
    pub created: DateTime<Utc>,
}

/// Test controls over the IAM state (see the `Emulator` methods that call them).
impl State {
    fn user_index(&self, user: &str) -> Option<usize> {
        self.world.users.iter().position(|u| u.name == user)
    }

    pub(crate) fn access_key_infos(&self, user: &str) -> Vec<AccessKeyInfo> {
        let Some(index) = self.user_index(user) else {
            return Vec::new();
        };
        self.keys
            .iter()
            .filter(|k| k.user == index)
            .map(|k| AccessKeyInfo {
                access_key_id: k.id.clone(),
                status: if k.active { "Active" } else { "Inactive" }.to_owned(),
                created: k.created,
            })
            .collect()
    }

    /// Another key for `user`, usable at once (as an admin would make it).
    pub(crate) fn add_access_key(
        &mut self,
        user: &str,
        now: DateTime<Utc>,
    ) -> Option<(String, String)> {
        let index = self.user_index(user)?;
        if self.keys.iter().filter(|k| k.user == index).count() >= MAX_ACCESS_KEYS {
            return None;
        }
        let key = AccessKey {
            user: index,
            id: format!("AKIA{}", random_string(16, UPPER_DIGITS)),
            secret: random_string(40, BASE64),
            active: true,
            created: whole_seconds(now),
            usable_from: DateTime::<Utc>::MIN_UTC,
        };
        let out = (key.id.clone(), key.secret.clone());
        self.keys.push(key);
        Some(out)
    }

    pub(crate) fn set_access_key_created(&mut self, access_key_id: &str, when: DateTime<Utc>) {
        if let Some(k) = self.keys.iter_mut().find(|k| k.id == access_key_id) {
            k.created = whole_seconds(when);
        }
    }

    pub(crate) fn enabled_mfa_serials(&self, user: &str) -> Vec<String> {
        let Some(index) = self.user_index(user) else {
            return Vec::new();
        };
        self.devices
            .iter()
            .filter(|d| d.user == Some(index) && d.enabled.is_some())
            .map(|d| d.serial.clone())
            .collect()
    }

    pub(crate) fn unassigned_mfa_serials(&self) -> Vec<String> {
        self.devices
            .iter()
            .filter(|d| d.user.is_none())
            .map(|d| d.serial.clone())
            .collect()
    }
}

impl State {
    pub(crate) fn iam(
        &mut self,
        caller: &Caller,
        action: &str,
        p: &Params,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StsError> {
        // "You cannot call any IAM API operations unless MFA authentication
        // information is included" with GetSessionToken credentials.
        if caller.temporary
            && matches!(caller.identity, Identity::User(_))
            && caller.mfa_auth_time.is_none()
        {
            return Err(StsError::invalid_token());
        }
        if let Some(n) = self.iam_faults.get_mut(action).filter(|n| **n > 0) {
            *n -= 1;
            return Err(StsError::new(
                500,
                "ServiceFailure",
                "The request processing has failed because of an unknown error, exception or failure.",
            ));
        }
        match action {
            "CreateAccessKey" => self.create_access_key(caller, p, now).map(Some),
            "UpdateAccessKey" => self.update_access_key(caller, p, now).map(|()| None),
            "DeleteAccessKey" => self.delete_access_key(caller, p, now).map(|()| None),
            "ListAccessKeys" => self.list_access_keys(caller, p, now).map(Some),
            "ListMFADevices" => self.list_mfa_devices(caller, p, now).map(Some),
            "CreateVirtualMFADevice" => self.create_virtual_mfa_device(caller, p, now).map(Some),
            "DeleteVirtualMFADevice" => self
                .delete_virtual_mfa_device(caller, p, now)
                .map(|()| None),
            _ => self.enable_mfa_device(caller, p, now).map(|()| None),
        }
    }

    /// Allow or refuse `action` on `resource` by the caller's identity
    /// policies (roles here have none: deny by default).
    fn authorize(
        &self,
        caller: &Caller,
        action: &str,
        resource: &str,
        label: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StsError> {
        let principal = self.caller_principal(&caller.identity);
        let context = self.context(caller, now);
        let request = policy::Request {
            action,
            resource,
            principal: &principal,
            context: &context,
        };
        match self.identity_decision(caller, &request).0 {
            Decision::Allow => Ok(()),
            Decision::ExplicitDeny => Err(StsError::access_denied(format!(
                "User: {} is not authorized to perform: {action} on resource: {label} with an explicit deny in an identity-based policy",
                principal.arn
            ))),
            // Allowed by the role, but not by the session policies.
            Decision::ImplicitDeny
                if caller.session_policies.is_some()
                    && self.principal_decision(caller, &request).0 == Decision::Allow =>
            {
                Err(StsError::access_denied(format!(
                    "User: {} is not authorized to perform: {action} on resource: {label} because no session policy allows the {action} action",
                    principal.arn
                )))
            }
            Decision::ImplicitDeny => Err(StsError::access_denied(format!(
                "User: {} is not authorized to perform: {action} on resource: {label} because no identity-based policy allows the {action} action",
                principal.arn
            ))),
        }
    }

    /// The user an action is about (`UserName`, else the caller), after
    /// authorising `action` on it; `NoSuchEntity` if there is no such user.
    fn target_user(
        &self,
        caller: &Caller,
        p: &Params,
        action: &str,
        now: DateTime<Utc>,
    ) -> Result<usize, StsError> {
        let mut v = Validation::default();
        let name = p.get("UserName");
        v.string(
            name,
            "userName",
            1,
            128,
            Some((r"[\w+=,.@-]+", name_pattern)),
        );
        v.finish()?;
        let account = self.caller_principal(&caller.identity).account;
        let name = match (name, &caller.identity) {
            (Some(n), _) => n.to_string(),
            (None, Identity::User(u)) => self.world.users[*u].name.clone(),
            (None, Identity::AssumedRole { .. }) => {
                return Err(StsError::validation(
                    "Must specify userName when calling with non-User credentials",
                ))
            }
        };
        let arn = format!("arn:aws:iam::{account}:user/{name}");
        self.authorize(caller, action, &arn, &format!("user {name}"), now)?;
        self.world
            .users
            .iter()
            .position(|u| u.account == account && u.name == name)
            .ok_or_else(|| no_such_entity(format!("The user with name {name} cannot be found.")))
    }

    fn key_xml(&self, k: &AccessKey, secret: bool) -> String {
        let user = &self.world.users[k.user].name;
        let status = if k.active { "Active" } else { "Inactive" };
        let created = iso8601(k.created);
        let mut fields = vec![
            ("UserName", user.as_str()),
            ("AccessKeyId", k.id.as_str()),
            ("Status", status),
        ];
        if secret {
            fields.push(("SecretAccessKey", k.secret.as_str()));
        }
        fields.push(("CreateDate", created.as_str()));
        xml::elements(&fields)
    }

    fn create_access_key(
        &mut self,
        caller: &Caller,
        p: &Params,
        now: DateTime<Utc>,
    ) -> Result<String, StsError> {
        let user = self.target_user(caller, p, "iam:CreateAccessKey", now)?;
        if self.keys.iter().filter(|k| k.user == user).count() >= MAX_ACCESS_KEYS {
            return Err(limit_exceeded(format!(
                "Cannot exceed quota for AccessKeysPerUser: {MAX_ACCESS_KEYS}"
            )));
        }
        let created = whole_seconds(now);
        let key = AccessKey {
            user,
            id: format!("AKIA{}", random_string(16, UPPER_DIGITS)),
            secret: random_string(40, BASE64),
            active: true,
            created,
            // From the exact time, not the second CreateDate shows: a delay
            // of N s is never shorter than N s.
            usable_from: now + self.key_propagation,
        };
        let inner = format!("<AccessKey>{}</AccessKey>", self.key_xml(&key, true));
        self.keys.push(key);
        Ok(inner)
    }

    /// The index of the target user's key named by `AccessKeyId`.
    fn target_key(
        &self,
        caller: &Caller,
        p: &Params,
        action: &str,
        v: &mut Validation,
        now: DateTime<Utc>,
    ) -> Result<usize, StsError> {
        let id = p.get("AccessKeyId");
        v.required(id, "accessKeyId");
        v.string(id, "accessKeyId", 16, 128, Some((r"[\w]+", is_word)));
        std::mem::take(v).finish()?;
        let user = self.target_user(caller, p, action, now)?;
        let id = id.unwrap_or_default();
        self.keys
            .iter()
            .position(|k| k.user == user && k.id == id)
            .ok_or_else(|| no_such_entity(format!("The Access Key with id {id} cannot be found.")))
    }

    fn update_access_key(
        &mut self,
        caller: &Caller,
        p: &Params,
        now: DateTime<Utc>,
    ) -> Result<(), StsError> {
        let mut v = Validation::default();
        let status = p.get("Status");
        v.required(status, "status");
        if let Some(s) = status.filter(|s| !matches!(*s, "Active" | "Inactive")) {
            v.fail(
                Some(s),
                "status",
                "satisfy enum value set: [Active, Inactive]",
            );
        }
        let key = self.target_key(caller, p, "iam:UpdateAccessKey", &mut v, now)?;
        self.keys[key].active = status == Some("Active");
        Ok(())
    }

    fn delete_access_key(
        &mut self,
        caller: &Caller,
        p: &Params,
        now: DateTime<Utc>,
    ) -> Result<(), StsError> {
        let mut v = Validation::default();
        let key = self.target_key(caller, p, "iam:DeleteAccessKey", &mut v, now)?;
        // Sessions obtained with the key stay valid, as in AWS.
        self.keys.remove(key);
        Ok(())
    }

    fn list_access_keys(
        &self,
        caller: &Caller,
        p: &Params,
        now: DateTime<Utc>,
    ) -> Result<String, StsError> {
        let user = self.target_user(caller, p, "iam:ListAccessKeys", now)?;
        let members: String = self
            .keys
            .iter()
            .filter(|k| k.user == user)
            .map(|k| format!("<member>{}</member>", self.key_xml(k, false)))
            .collect();
        Ok(format!(
            "<AccessKeyMetadata>{members}</AccessKeyMetadata><IsTruncated>false</IsTruncated>"
        ))
    }

    fn list_mfa_devices(
        &self,
        caller: &Caller,
        p: &Params,
        now: DateTime<Utc>,
    ) -> Result<String, StsError> {
        let user = self.target_user(caller, p, "iam:ListMFADevices", now)?;
        let name = &self.world.users[user].name;
        let members: String = self
            .devices
            .iter()
            .filter(|d| d.user == Some(user))
            .map(|d| {
                let enabled = d.enabled.map(iso8601).unwrap_or_default();
                format!(
                    "<member>{}</member>",
                    xml::elements(&[
                        ("UserName", name),
                        ("SerialNumber", &d.serial),
                        ("EnableDate", &enabled),
                    ])
                )
            })
            .collect();
        Ok(format!(
            "<MFADevices>{members}</MFADevices><IsTruncated>false</IsTruncated>"
        ))
    }

    fn create_virtual_mfa_device(
        &mut self,
        caller: &Caller,
        p: &Params,
        now: DateTime<Utc>,
    ) -> Result<String, StsError> {
        let mut v = Validation::default();
        let name = p.get("VirtualMFADeviceName");
        v.required(name, "virtualMFADeviceName");
        v.string(
            name,
            "virtualMFADeviceName",
            1,
            226,
            Some((r"[\w+=,.@-]+", name_pattern)),
        );
        let path = p.get("Path");
        v.string(
            path,
            "path",
            1,
            512,
            Some((r"(\u002F)|(\u002F[\u0021-\u007F]+\u002F)", |c| {
                ('\u{21}'..='\u{7f}').contains(&c)
            })),
        );
        let path = path.unwrap_or("/");
        if !path.starts_with('/') || !path.ends_with('/') {
            v.fail(
                Some(path),
                "path",
                r"satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007F]+\u002F)",
            );
        }
        v.finish()?;
        let account = self.caller_principal(&caller.identity).account;
        let serial = format!(
            "arn:aws:iam::{account}:mfa{path}{}",
            name.unwrap_or_default()
        );
        self.authorize(caller, "iam:CreateVirtualMFADevice", &serial, &serial, now)?;
        if self.devices.iter().any(|d| d.serial == serial) {
            return Err(already_exists(
                "MFADevice entity at the same path and name already exists.",
            ));
        }
        let seed = new_seed();
        // Base32StringSeed is a blob: base64 of the base32 text.
        let inner = format!(
            "<VirtualMFADevice>{}</VirtualMFADevice>",
            xml::elements(&[
                ("SerialNumber", &serial),
                ("Base32StringSeed", &base64(seed.as_bytes())),
            ])
        );
        self.devices.push(Device {
            account,
            serial,
            seed,
            user: None,
            enabled: None,
        });
        Ok(inner)
    }

    /// Deletes a virtual MFA device that no user has enabled; as in IAM, an
    /// enabled one must be deactivated first (`DeleteConflict`).
    fn delete_virtual_mfa_device(
        &mut self,
        caller: &Caller,
        p: &Params,
        now: DateTime<Utc>,
    ) -> Result<(), StsError> {
        let mut v = Validation::default();
        let serial = p.get("SerialNumber");
        v.required(serial, "serialNumber");
        serial_number(&mut v, serial);
        v.finish()?;
        let serial = serial.unwrap_or_default();
        self.authorize(caller, "iam:DeleteVirtualMFADevice", serial, serial, now)?;
        let account = self.caller_principal(&caller.identity).account;
        let index = self.device_index(serial, &account)?;
        if self.devices[index].user.is_some() {
            return Err(StsError::new(
                409,
                "DeleteConflict",
                "MFA Device is in use and must be deactivated before it can be deleted.",
            ));
        }
        self.devices.remove(index);
        Ok(())
    }

    /// Where the virtual MFA device `serial` of `account` is, or IAM's
    /// `NoSuchEntity`.
    fn device_index(&self, serial: &str, account: &str) -> Result<usize, StsError> {
        self.devices
            .iter()
            .position(|d| d.serial == serial && d.account == account)
            .ok_or_else(|| {
                no_such_entity(format!(
                    "VirtualMFADevice with serial number {serial} doesn't exist."
                ))
            })
    }

    fn enable_mfa_device(
        &mut self,
        caller: &Caller,
        p: &Params,
        now: DateTime<Utc>,
    ) -> Result<(), StsError> {
        let mut v = Validation::default();
        let serial = p.get("SerialNumber");
        v.required(p.get("UserName"), "userName");
        v.required(serial, "serialNumber");
        serial_number(&mut v, serial);
        let codes = [p.get("AuthenticationCode1"), p.get("AuthenticationCode2")];
        for (code, member) in codes
            .iter()
            .zip(["authenticationCode1", "authenticationCode2"])
        {
            v.required(*code, member);
            v.string(
                *code,
                member,
                6,
                6,
                Some((r"[\d]+", |c| c.is_ascii_digit())),
            );
        }
        v.finish()?;
        let user = self.target_user(caller, p, "iam:EnableMFADevice", now)?;
        let serial = serial.unwrap_or_default();
        let account = self.world.users[user].account.clone();
        let index = self.device_index(serial, &account)?;
        if self.devices[index].user.is_some() {
            return Err(already_exists("MFA Device is already in use."));
        }
        if self.devices.iter().filter(|d| d.user == Some(user)).count() >= MAX_MFA_DEVICES {
            return Err(limit_exceeded(format!(
                "Cannot exceed quota for MFADevicesPerUser: {MAX_MFA_DEVICES}"
            )));
        }
        if !consecutive_codes(&self.devices[index].seed, codes, now) {
            return Err(StsError::new(
                403,
                "InvalidAuthenticationCode",
                "Authentication code for device is not valid.",
            ));
        }
        let device = &mut self.devices[index];
        device.user = Some(user);
        device.enabled = Some(whole_seconds(now));
        Ok(())
    }
}

/// IAM's `SerialNumber` constraints (length 9 to 256, `[\w+=/:,.@-]+`).
fn serial_number(v: &mut Validation, serial: Option<&str>) {
    v.string(
        serial,
        "serialNumber",
        9,
        256,
        Some((r"[\w+=/:,.@-]+", |c| is_word(c) || "+=/:,.@-".contains(c))),
    );
}

/// Two codes for consecutive steps, the second no later than the next step:
/// what an authenticator shows (the previous and the current code) or a
/// program computes (the current and the next).
fn consecutive_codes(seed: &str, codes: [Option<&str>; 2], now: DateTime<Utc>) -> bool {
    let ([Some(first), Some(second)], Ok(at)) = (codes, u64::try_from(now.timestamp())) else {
        return false;
    };
    let step = totp::STEP_SECS;
    let current = at / step;
    (current.saturating_sub(2)..=current).any(|s| {
        totp::code_at(seed, s * step).as_deref() == Some(first)
            && totp::code_at(seed, (s + 1) * step).as_deref() == Some(second)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn base32_matches_the_standard() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(
            base32(b"12345678901234567890"),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
    }

    #[test]
    fn seeds_are_base32_of_40_bytes() {
        let seed = new_seed();
        assert_eq!(seed.len(), 64);
        assert!(totp::decode_seed(&seed).is_some_and(|b| b.len() == 40));
        assert_ne!(seed, new_seed());
    }

    #[test]
    fn consecutive_codes_window() {
        let seed = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
        let now = DateTime::from_timestamp(1_800_000_015, 0).unwrap();
        let code = |steps: i64| totp::code_at(seed, (1_800_000_015 + 30 * steps) as u64).unwrap();
        let ok = |a: i64, b: i64| consecutive_codes(seed, [Some(&code(a)), Some(&code(b))], now);
        assert!(ok(-1, 0) && ok(0, 1) && ok(-2, -1));
        assert!(!ok(1, 2) && !ok(-3, -2) && !ok(0, 0) && !ok(1, 0) && !ok(-1, 1));
    }
}
