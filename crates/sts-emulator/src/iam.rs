//! The IAM subset a bastion user needs to look after itself: its access keys
//! (create, update, delete, list) and virtual MFA devices (create, enable,
//! list). Served on the STS port: the `Action` decides. Requests are signed
//! with SigV4 for service `iam` in us-east-1 and authorised by the same
//! policy evaluation as STS (with `${aws:username}` and
//! `aws:MultiFactorAuthPresent`, true for GetSessionToken-with-MFA sessions).
//!
//! A new access key works only after a configurable propagation delay; a
//! deactivated or deleted key is refused (InvalidClientTokenId) by STS too.
//!
//! The only hooks elsewhere: `State::handle` asks [`handle`] first,
//! `State::authenticate` resolves long-term keys with [`Iam::long_term_key`],
//! and `Emulator::state` gives the controls below the state.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;

use crate::http::Request;
use crate::policy::{self, ConditionContext, Decision};
use crate::server::Emulator;
use crate::sts::{Caller, Identity, Outcome, Params, State, StsError};
use crate::world::{MfaDevice, World, MAX_MFA_DEVICES};
use crate::{sigv4, totp, xml};

const NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
const API_VERSION: &str = "2010-05-08";
/// IAM's quota AccessKeysPerUser.
pub const MAX_ACCESS_KEYS: usize = 2;
const ACTIONS: [&str; 7] = [
    "CreateAccessKey",
    "UpdateAccessKey",
    "DeleteAccessKey",
    "ListAccessKeys",
    "ListMFADevices",
    "CreateVirtualMFADevice",
    "EnableMFADevice",
];

/// One access key as [`Emulator::access_keys`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessKeyInfo {
    pub access_key_id: String,
    /// "Active" or "Inactive"
    pub status: String,
    pub created: DateTime<Utc>,
}

#[derive(Debug)]
struct Key {
    user: usize,
    id: String,
    secret: String,
    active: bool,
    created: DateTime<Utc>,
    usable_from: DateTime<Utc>,
}

/// A virtual MFA device created but not yet enabled for a user.
#[derive(Debug)]
struct Pending {
    serial: String,
    seed: String,
}

/// The IAM side of the emulator's state.
#[derive(Debug)]
pub(crate) struct Iam {
    keys: Vec<Key>,
    delay: chrono::Duration,
    started: DateTime<Utc>,
    enable_dates: HashMap<String, DateTime<Utc>>,
    pending: Vec<Pending>,
    /// Action -> number of requests still to fail with InternalFailure.
    faults: HashMap<String, usize>,
}

impl Iam {
    pub(crate) fn new(world: &World) -> Iam {
        let started = whole_seconds(Utc::now());
        Iam {
            keys: world
                .users
                .iter()
                .enumerate()
                .map(|(user, u)| Key {
                    user,
                    id: u.access_key_id.clone(),
                    secret: u.secret_access_key.clone(),
                    active: true,
                    created: started,
                    // The world's keys work at any emulator time (the clock may be moved back).
                    usable_from: DateTime::<Utc>::MIN_UTC,
                })
                .collect(),
            delay: chrono::Duration::zero(),
            started,
            enable_dates: HashMap::new(),
            pending: Vec::new(),
            faults: HashMap::new(),
        }
    }

    /// The user and secret of a long-term key; `Ok(None)` when no such key
    /// exists (it may be a session's), an error when it is inactive or not
    /// yet propagated.
    pub(crate) fn long_term_key(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(usize, &str)>, StsError> {
        let Some(key) = self.keys.iter().find(|k| k.id == id) else {
            return Ok(None);
        };
        if !key.active || now < key.usable_from {
            return Err(StsError::invalid_token());
        }
        Ok(Some((key.user, key.secret.as_str())))
    }
}

fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

fn iso8601(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn random_string(len: usize, alphabet: &[u8]) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
        .collect()
}

const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (the wire form of an IAM Blob).
fn base64(data: &[u8]) -> String {
    let mut out = String::new();
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

fn success(action: &str, inner: Option<&str>, request_id: &str) -> String {
    let result = inner.map_or_else(String::new, |i| {
        format!("<{action}Result>{i}</{action}Result>")
    });
    format!(
        "<{action}Response xmlns=\"{NS}\">{result}<ResponseMetadata><RequestId>{}</RequestId>\
         </ResponseMetadata></{action}Response>",
        xml::escape(request_id)
    )
}

fn error_body(e: &StsError, request_id: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"{NS}\"><Error><Type>{}</Type><Code>{}</Code>\
         <Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
        if e.status < 500 { "Sender" } else { "Receiver" },
        xml::escape(e.code),
        xml::escape(&e.message),
        xml::escape(request_id)
    )
}

/// Answer an IAM request; `None` when the Action is not IAM's (STS's turn).
pub(crate) fn handle(
    state: &mut State,
    req: &Request,
    now: DateTime<Utc>,
    request_id: &str,
) -> Option<Outcome> {
    let params = Params::from_request(req);
    let action = ACTIONS
        .into_iter()
        .find(|a| params.get("Action") == Some(*a))?;
    Some(match run(state, req, &params, action, now) {
        Ok(inner) => Outcome {
            status: 200,
            body: success(action, inner.as_deref(), request_id),
            error_code: None,
        },
        Err(e) => Outcome {
            status: e.status,
            body: error_body(&e, request_id),
            error_code: Some(e.code.to_string()),
        },
    })
}

fn run(
    state: &mut State,
    req: &Request,
    params: &Params,
    action: &'static str,
    now: DateTime<Utc>,
) -> Result<Option<String>, StsError> {
    if let Some(n) = state.iam.faults.get_mut(action).filter(|n| **n > 0) {
        *n -= 1;
        return Err(StsError::new(
            500,
            "ServiceFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
        ));
    }
    let version = params.get("Version").unwrap_or("NO_VERSION_SPECIFIED");
    if version != API_VERSION {
        return Err(StsError::new(
            400,
            "InvalidAction",
            format!("Could not find operation {action} for version {version}"),
        ));
    }
    let caller = state.authenticate(req, now, "iam")?;
    let auth = sigv4::parse_authorization(req)?;
    if auth.region != "us-east-1" {
        return Err(StsError::new(
            403,
            "SignatureDoesNotMatch",
            format!(
                "Credential should be scoped to a valid region, not '{}'. ",
                auth.region
            ),
        ));
    }
    let cx = Cx {
        caller: &caller,
        params,
        action,
        now,
    };
    match action {
        "CreateAccessKey" => create_access_key(state, &cx).map(Some),
        "UpdateAccessKey" => update_access_key(state, &cx).map(|()| None),
        "DeleteAccessKey" => delete_access_key(state, &cx).map(|()| None),
        "ListAccessKeys" => list_access_keys(state, &cx).map(Some),
        "ListMFADevices" => list_mfa_devices(state, &cx).map(Some),
        "CreateVirtualMFADevice" => create_virtual_mfa_device(state, &cx).map(Some),
        _ => enable_mfa_device(state, &cx).map(|()| None),
    }
}

/// One request's caller and parameters.
struct Cx<'a> {
    caller: &'a Caller,
    params: &'a Params,
    action: &'static str,
    now: DateTime<Utc>,
}

fn validation(message: impl Into<String>) -> StsError {
    StsError::new(400, "ValidationError", message)
}

fn no_such_entity(message: impl Into<String>) -> StsError {
    StsError::new(404, "NoSuchEntity", message)
}

fn caller_account(state: &State, caller: &Caller) -> String {
    state.caller_principal(&caller.identity).account
}

/// The user a request is about: `UserName`, else the calling user.
fn target_user(state: &State, cx: &Cx) -> Result<usize, StsError> {
    let account = caller_account(state, cx.caller);
    match (cx.params.get("UserName"), &cx.caller.identity) {
        (Some(name), _) => state
            .world
            .users
            .iter()
            .position(|u| u.name == name && u.account == account)
            .ok_or_else(|| no_such_entity(format!("The user with name {name} cannot be found."))),
        (None, Identity::User(i)) => Ok(*i),
        (None, Identity::AssumedRole { .. }) => Err(validation(
            "Must specify userName when calling with non-User credentials",
        )),
    }
}

/// IAM policy evaluation for `iam:<action>` on `resource`.
fn authorize(state: &State, cx: &Cx, resource: &str) -> Result<(), StsError> {
    let principal = state.caller_principal(&cx.caller.identity);
    let mfa_auth_time = cx.caller.mfa_auth_time;
    let context = ConditionContext {
        // Absent for long-term keys; for sessions, whether MFA was used.
        mfa_present: cx.caller.temporary.then_some(mfa_auth_time.is_some()),
        mfa_age_secs: mfa_auth_time.map(|t| u64::try_from((cx.now - t).num_seconds()).unwrap_or(0)),
        external_id: None,
    };
    let action = format!("iam:{}", cx.action);
    let request = policy::Request {
        action: &action,
        resource,
        principal: &principal,
        context: &context,
    };
    let allowed = match cx.caller.identity {
        Identity::User(u) => {
            policy::combine(
                state.identity_policies[u]
                    .iter()
                    .map(|p| p.evaluate(&request)),
            ) == Decision::Allow
        }
        // Roles carry no permission policies in this world model.
        Identity::AssumedRole { .. } => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(StsError::new(
            403,
            "AccessDenied",
            format!(
                "User: {} is not authorized to perform: {action} on resource: {resource}",
                principal.arn
            ),
        ))
    }
}

fn key_of_user<'a>(state: &'a mut State, user: usize, id: &str) -> Result<&'a mut Key, StsError> {
    state
        .iam
        .keys
        .iter_mut()
        .find(|k| k.user == user && k.id == id)
        .ok_or_else(|| no_such_entity(format!("The Access Key with id {id} cannot be found.")))
}

fn required<'a>(cx: &Cx<'a>, name: &str, member: &str) -> Result<&'a str, StsError> {
    cx.params.get(name).ok_or_else(|| {
        validation(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

fn create_access_key(state: &mut State, cx: &Cx) -> Result<String, StsError> {
    let user = target_user(state, cx)?;
    let user_arn = state.world.users[user].arn();
    authorize(state, cx, &user_arn)?;
    if state.iam.keys.iter().filter(|k| k.user == user).count() >= MAX_ACCESS_KEYS {
        return Err(StsError::new(
            409,
            "LimitExceeded",
            format!("Cannot exceed quota for AccessKeysPerUser: {MAX_ACCESS_KEYS}"),
        ));
    }
    let created = whole_seconds(cx.now);
    let key = Key {
        user,
        id: format!("AKIA{}", random_string(16, UPPER_DIGITS)),
        secret: random_string(40, BASE64),
        active: true,
        created,
        usable_from: cx.now + state.iam.delay,
    };
    let body = format!(
        "<AccessKey>{}</AccessKey>",
        xml::elements(&[
            ("UserName", &state.world.users[user].name),
            ("AccessKeyId", &key.id),
            ("Status", "Active"),
            ("SecretAccessKey", &key.secret),
            ("CreateDate", &iso8601(created)),
        ])
    );
    state.iam.keys.push(key);
    Ok(body)
}

fn update_access_key(state: &mut State, cx: &Cx) -> Result<(), StsError> {
    let id = required(cx, "AccessKeyId", "accessKeyId")?;
    let status = required(cx, "Status", "status")?;
    let user = target_user(state, cx)?;
    let user_arn = state.world.users[user].arn();
    authorize(state, cx, &user_arn)?;
    let active = match status {
        "Active" => true,
        "Inactive" => false,
        other => {
            return Err(validation(format!(
                "1 validation error detected: Value '{other}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]"
            )))
        }
    };
    key_of_user(state, user, id)?.active = active;
    Ok(())
}

fn delete_access_key(state: &mut State, cx: &Cx) -> Result<(), StsError> {
    let id = required(cx, "AccessKeyId", "accessKeyId")?;
    let user = target_user(state, cx)?;
    let user_arn = state.world.users[user].arn();
    authorize(state, cx, &user_arn)?;
    key_of_user(state, user, id)?;
    state.iam.keys.retain(|k| !(k.user == user && k.id == id));
    Ok(())
}

fn list_access_keys(state: &mut State, cx: &Cx) -> Result<String, StsError> {
    let user = target_user(state, cx)?;
    let user_arn = state.world.users[user].arn();
    authorize(state, cx, &user_arn)?;
    let name = &state.world.users[user].name;
    let members: String = state
        .iam
        .keys
        .iter()
        .filter(|k| k.user == user)
        .map(|k| {
            format!(
                "<member>{}</member>",
                xml::elements(&[
                    ("UserName", name),
                    ("AccessKeyId", &k.id),
                    ("Status", if k.active { "Active" } else { "Inactive" }),
                    ("CreateDate", &iso8601(k.created)),
                ])
            )
        })
        .collect();
    Ok(format!(
        "<AccessKeyMetadata>{members}</AccessKeyMetadata><IsTruncated>false</IsTruncated>"
    ))
}

fn list_mfa_devices(state: &mut State, cx: &Cx) -> Result<String, StsError> {
    let user = target_user(state, cx)?;
    let u = &state.world.users[user];
    authorize(state, cx, &u.arn())?;
    let members: String = u
        .devices()
        .map(|d| {
            let enabled = state
                .iam
                .enable_dates
                .get(&d.serial)
                .copied()
                .unwrap_or(state.iam.started);
            format!(
                "<member>{}</member>",
                xml::elements(&[
                    ("UserName", &u.name),
                    ("SerialNumber", &d.serial),
                    ("EnableDate", &iso8601(enabled)),
                ])
            )
        })
        .collect();
    Ok(format!(
        "<IsTruncated>false</IsTruncated><MFADevices>{members}</MFADevices>"
    ))
}

fn serial_taken(state: &State, serial: &str) -> bool {
    state
        .world
        .users
        .iter()
        .flat_map(|u| u.devices())
        .any(|d| d.serial == serial)
        || state.iam.pending.iter().any(|p| p.serial == serial)
}

fn create_virtual_mfa_device(state: &mut State, cx: &Cx) -> Result<String, StsError> {
    let name = required(cx, "VirtualMFADeviceName", "virtualMFADeviceName")?;
    let path = cx.params.get("Path").unwrap_or("/");
    let name_ok = !name.is_empty()
        && name.len() <= 226
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if !name_ok {
        return Err(validation(format!(
            "1 validation error detected: Value '{name}' at 'virtualMFADeviceName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
        )));
    }
    if !(path.starts_with('/') && path.ends_with('/')) {
        return Err(validation("The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters."));
    }
    let account = caller_account(state, cx.caller);
    let serial = format!("arn:aws:iam::{account}:mfa{path}{name}");
    authorize(state, cx, &serial)?;
    if serial_taken(state, &serial) {
        return Err(StsError::new(
            409,
            "EntityAlreadyExists",
            "MFADevice entity at the same path and name already exists.",
        ));
    }
    let seed = random_string(64, BASE32);
    let body = format!(
        "<VirtualMFADevice>{}</VirtualMFADevice>",
        xml::elements(&[
            ("SerialNumber", &serial),
            ("Base32StringSeed", &base64(seed.as_bytes())),
        ])
    );
    state.iam.pending.push(Pending { serial, seed });
    Ok(body)
}

fn enable_mfa_device(state: &mut State, cx: &Cx) -> Result<(), StsError> {
    let serial = required(cx, "SerialNumber", "serialNumber")?;
    let code1 = required(cx, "AuthenticationCode1", "authenticationCode1")?;
    let code2 = required(cx, "AuthenticationCode2", "authenticationCode2")?;
    let user = target_user(state, cx)?;
    let user_arn = state.world.users[user].arn();
    authorize(state, cx, &user_arn)?;
    let Some(index) = state.iam.pending.iter().position(|p| p.serial == serial) else {
        if state
            .world
            .users
            .iter()
            .flat_map(|u| u.devices())
            .any(|d| d.serial == serial)
        {
            return Err(StsError::new(
                409,
                "EntityAlreadyExists",
                "MFA Device is already in use.",
            ));
        }
        return Err(no_such_entity(format!(
            "MFA Device with serial number {serial} does not exist."
        )));
    };
    if state.world.users[user].devices().count() >= MAX_MFA_DEVICES {
        return Err(StsError::new(
            409,
            "LimitExceeded",
            format!("Cannot exceed quota for MFADevicesPerUser: {MAX_MFA_DEVICES}"),
        ));
    }
    let seed = &state.iam.pending[index].seed;
    let at = u64::try_from(cx.now.timestamp()).unwrap_or(0);
    let first = totp::matching_steps(seed, code1, at);
    let second = totp::matching_steps(seed, code2, at);
    if !first.iter().any(|s| second.contains(&(s + 1))) {
        return Err(StsError::new(
            403,
            "InvalidAuthenticationCode",
            "Authentication code for device is not valid.",
        ));
    }
    let device = state.iam.pending.remove(index);
    state
        .iam
        .enable_dates
        .insert(device.serial.clone(), whole_seconds(cx.now));
    state.world.users[user]
        .mfa_devices
        .push(MfaDevice::new(device.serial, device.seed));
    Ok(())
}

/// Test and demo controls for the IAM side.
impl Emulator {
    /// How long a new access key takes before STS (and IAM) accept it.
    pub fn set_iam_propagation_delay(&self, delay: Duration) {
        self.state().iam.delay = chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
    }

    /// The user's access keys, oldest first.
    pub fn access_keys(&self, user: &str) -> Vec<AccessKeyInfo> {
        let state = self.state();
        let Some(index) = state.world.users.iter().position(|u| u.name == user) else {
            return Vec::new();
        };
        state
            .iam
            .keys
            .iter()
            .filter(|k| k.user == index)
            .map(|k| AccessKeyInfo {
                access_key_id: k.id.clone(),
                status: if k.active { "Active" } else { "Inactive" }.to_string(),
                created: k.created,
            })
            .collect()
    }

    /// Give `user` another access key (as the console would), usable at once;
    /// returns (access key id, secret). `None` at the quota or for an unknown user.
    pub fn add_access_key(&self, user: &str) -> Option<(String, String)> {
        let mut state = self.state();
        let index = state.world.users.iter().position(|u| u.name == user)?;
        if state.iam.keys.iter().filter(|k| k.user == index).count() >= MAX_ACCESS_KEYS {
            return None;
        }
        let now = whole_seconds(self.now());
        let key = Key {
            user: index,
            id: format!("AKIA{}", random_string(16, UPPER_DIGITS)),
            secret: random_string(40, BASE64),
            active: true,
            created: now,
            usable_from: DateTime::<Utc>::MIN_UTC,
        };
        let out = (key.id.clone(), key.secret.clone());
        state.iam.keys.push(key);
        Some(out)
    }

    /// Pretend the key was created at `when` (for key-age checks).
    pub fn set_access_key_created(&self, access_key_id: &str, when: DateTime<Utc>) {
        let mut state = self.state();
        if let Some(k) = state.iam.keys.iter_mut().find(|k| k.id == access_key_id) {
            k.created = whole_seconds(when);
        }
    }

    /// Fail the next `times` requests with this IAM Action (HTTP 500 ServiceFailure).
    pub fn fail_iam_action(&self, action: &str, times: usize) {
        self.state().iam.faults.insert(action.to_string(), times);
    }

    /// Serial numbers of the user's enabled MFA devices.
    pub fn mfa_serials(&self, user: &str) -> Vec<String> {
        let state = self.state();
        state
            .world
            .users
            .iter()
            .filter(|u| u.name == user)
            .flat_map(|u| u.devices().map(|d| d.serial.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn success_without_result_has_metadata_only() {
        assert_eq!(
            success("DeleteAccessKey", None, "id"),
            "<DeleteAccessKeyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
             <ResponseMetadata><RequestId>id</RequestId></ResponseMetadata></DeleteAccessKeyResponse>"
        );
    }
}
