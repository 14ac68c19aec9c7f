//! The three STS actions and the rules AWS enforces around them:
//! authentication (SigV4, session tokens, expiry), parameter validation with
//! AWS's messages, IAM policy evaluation and TOTP MFA with replay protection.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::http::Request;
use crate::policy::{self, aws_managed, ConditionContext, Decision, Policy, PolicyKind, Principal};

/// AssumeRole takes at most this many `PolicyArns`.
const MAX_POLICY_ARNS: usize = 10;
/// The emulator's model of the packed session-policy space: characters of
/// the whitespace-free inline policy plus the ARNs' characters.
const PACKED_POLICY_LIMIT: usize = 2048;
use crate::sigv4::{self, SigError};
use crate::world::{parse_role_arn, World};

/// Which SigV4 credential scope region the emulator accepts (AWS accepts only
/// the region of the endpoint a request was sent to).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SigningRegion {
    /// Any region: the emulator serves every region at once (the default).
    #[default]
    Any,
    /// Only this region, as the endpoint `sts.REGION.amazonaws.com` does.
    Fixed(String),
    /// The region the request's `Host` names: `sts.REGION.amazonaws.com`
    /// (or `.amazonaws.com.cn`), `sts.amazonaws.com` = us-east-1. Requests to
    /// any other host (127.0.0.1, localhost) may claim any region.
    FromHost,
}

impl SigningRegion {
    /// The region a request for `service` must be signed for, if any. IAM is
    /// a global service: under either check it follows the Host alone
    /// (`iam.amazonaws.com` is signed for us-east-1, as AWS signs IAM); sent
    /// to an address through an endpoint override, clients sign IAM for
    /// their own region, which is then accepted.
    pub(crate) fn expected(&self, req: &Request, service: &str) -> Option<String> {
        let from_host = || {
            req.header("host")
                .and_then(|h| sigv4::region_from_host(h, service))
        };
        match self {
            SigningRegion::Any => None,
            SigningRegion::Fixed(_) | SigningRegion::FromHost if service == "iam" => from_host(),
            SigningRegion::Fixed(r) => Some(r.clone()),
            SigningRegion::FromHost => from_host(),
        }
    }
}
use crate::{totp, xml};

pub(crate) const API_VERSION: &str = "2011-06-15";
/// AWS caps sessions of roles assumed with temporary credentials at one hour.
const ROLE_CHAINING_MAX_SECS: u32 = 3600;
const MFA_FAILED: &str = "MultiFactorAuthentication failed with invalid MFA one time pass code. ";
/// What AWS says when the serial is not a device of the caller.
const MFA_BAD_SERIAL: &str = "MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA serial number is valid and associated with this user.";

/// The parameters of a Query API request: the query string, then a form body.
#[derive(Debug, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub(crate) fn from_request(req: &Request) -> Params {
        let mut pairs: Vec<(String, String)> = form_urlencoded::parse(req.query.as_bytes())
            .into_owned()
            .collect();
        let is_form = req.header("content-type").is_some_and(|ct| {
            ct.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
        if req.method == "POST" && is_form {
            pairs.extend(form_urlencoded::parse(&req.body).into_owned());
        }
        Params(pairs)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An AWS error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StsError {
    pub(crate) status: u16,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl StsError {
    pub(crate) fn new(status: u16, code: &'static str, message: impl Into<String>) -> StsError {
        StsError {
            status,
            code,
            message: message.into(),
        }
    }

    pub(crate) fn access_denied(message: impl Into<String>) -> StsError {
        StsError::new(403, "AccessDenied", message)
    }

    pub(crate) fn validation(message: impl Into<String>) -> StsError {
        StsError::new(400, "ValidationError", message)
    }

    pub(crate) fn invalid_token() -> StsError {
        StsError::new(
            403,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        )
    }
}

impl From<SigError> for StsError {
    fn from(e: SigError) -> StsError {
        match e {
            SigError::Missing => StsError::new(
                403,
                "MissingAuthenticationToken",
                "Request is missing Authentication Token",
            ),
            SigError::Incomplete(m) => StsError::new(400, "IncompleteSignature", m),
            SigError::Mismatch(m) => StsError::new(403, "SignatureDoesNotMatch", m),
        }
    }
}

/// The result of one request, ready to be rendered.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub(crate) status: u16,
    pub(crate) body: String,
    pub(crate) error_code: Option<String>,
    pub(crate) content_type: &'static str,
    /// Extra response headers (e.g. `Location`).
    pub(crate) headers: Vec<(String, String)>,
    /// What the request log shows where the request itself does not say it
    /// (federation requests carry no SigV4 Authorization).
    pub(crate) log: LogHints,
}

/// Request-log fields an action fills in itself; never secrets.
#[derive(Debug, Clone, Default)]
pub(crate) struct LogHints {
    pub(crate) action: Option<String>,
    pub(crate) access_key_id: Option<String>,
    pub(crate) duration_seconds: Option<u32>,
}

impl Outcome {
    pub(crate) fn xml(status: u16, body: String, error_code: Option<String>) -> Outcome {
        Outcome {
            status,
            body,
            error_code,
            content_type: "text/xml",
            headers: Vec::new(),
            log: LogHints::default(),
        }
    }

    pub(crate) fn error(e: &StsError, request_id: &str) -> Outcome {
        Outcome::xml(
            e.status,
            xml::error(e.status < 500, e.code, &e.message, request_id),
            Some(e.code.to_string()),
        )
    }
}

/// Who a set of credentials belongs to.
#[derive(Debug, Clone)]
pub(crate) enum Identity {
    /// Index into `world.users`.
    User(usize),
    /// Index into `world.roles`, plus the role session name.
    AssumedRole { role: usize, session_name: String },
}

#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) secret: String,
    pub(crate) token: String,
    pub(crate) expiration: DateTime<Utc>,
    pub(crate) revoked: bool,
    pub(crate) identity: Identity,
    /// AssumeRole called with temporary credentials (role chaining).
    pub(crate) chained: bool,
    /// When MFA was used to obtain this session (or its ancestor), if it was.
    mfa_auth_time: Option<DateTime<Utc>>,
    /// When it was issued (`aws:TokenIssueTime`).
    issued: DateTime<Utc>,
    /// AssumeRole's `Policy` and `PolicyArns`: the session may do only what
    /// these allow too. `None`: not narrowed.
    pub(crate) session_policies: Option<Vec<Policy>>,
}

/// A long-term access key.
#[derive(Debug)]
pub(crate) struct AccessKey {
    /// Index into `world.users`.
    pub(crate) user: usize,
    pub(crate) id: String,
    pub(crate) secret: String,
    pub(crate) active: bool,
    pub(crate) created: DateTime<Utc>,
    /// Requests signed with it are refused (InvalidClientTokenId) before
    /// this time: IAM's eventual consistency.
    pub(crate) usable_from: DateTime<Utc>,
}

/// A TOTP MFA device, assigned to a user or (a new virtual one) not yet.
#[derive(Debug)]
pub(crate) struct Device {
    pub(crate) account: String,
    pub(crate) serial: String,
    pub(crate) seed: String,
    /// Index into `world.users` once enabled for a user.
    pub(crate) user: Option<usize>,
    pub(crate) enabled: Option<DateTime<Utc>>,
}

/// The authenticated caller of one request.
#[derive(Debug)]
pub(crate) struct Caller {
    pub(crate) identity: Identity,
    /// Temporary (session) credentials rather than a long-term access key.
    pub(crate) temporary: bool,
    pub(crate) mfa_auth_time: Option<DateTime<Utc>>,
    /// When the session was issued (temporary credentials only).
    pub(crate) issued: Option<DateTime<Utc>>,
    pub(crate) session_policies: Option<Vec<Policy>>,
    /// The connection's peer address, for `aws:SourceIp`.
    pub(crate) source_ip: Option<std::net::IpAddr>,
    /// Over TLS, for `aws:SecureTransport`.
    pub(crate) secure: bool,
    /// The SigV4 credential scope's region, for `aws:RequestedRegion`.
    pub(crate) region: String,
}

/// Everything that changes while the emulator runs, plus the parsed world.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) world: World,
    pub(crate) identity_policies: Vec<Vec<Policy>>,
    /// Every long-term access key: the world's, then those CreateAccessKey made.
    pub(crate) keys: Vec<AccessKey>,
    /// Every MFA device: the world's (assigned), then virtual ones IAM made.
    pub(crate) devices: Vec<Device>,
    /// How long a key made by CreateAccessKey is unknown to STS (and IAM).
    pub(crate) key_propagation: Duration,
    /// IAM Action -> requests still to fail with ServiceFailure (tests).
    pub(crate) iam_faults: HashMap<String, usize>,
    /// IAM actions whose next answers are lost after the action was done.
    pub(crate) lost_iam_answers: HashMap<String, usize>,
    trust_policies: Vec<Policy>,
    /// Per role: its permission policies, `None` when not modelled.
    role_policies: Vec<Option<Vec<Policy>>>,
    /// The world's managed policies by ARN (AWS managed ones are built in).
    managed_policies: HashMap<String, Policy>,
    pub(crate) sessions: HashMap<String, Session>,
    /// Console sign-in tokens and console sessions (see `federation.rs`).
    pub(crate) federation: crate::federation::Federation,
    /// TOTP steps already consumed, per device serial (codes are single-use).
    used_steps: HashMap<String, HashSet<u64>>,
    pub(crate) signing_region: SigningRegion,
}

/// A regular expression as AWS prints it, and the character test it stands for.
pub(crate) type Pattern = (&'static str, fn(char) -> bool);

/// Collects constraint violations into AWS's "N validation errors detected" message.
#[derive(Default)]
pub(crate) struct Validation(Vec<String>);

impl Validation {
    pub(crate) fn fail(&mut self, value: Option<&str>, member: &str, constraint: &str) {
        let value = value.map_or_else(|| "null".to_string(), |v| format!("'{v}'"));
        self.0.push(format!(
            "Value {value} at '{member}' failed to satisfy constraint: Member must {constraint}"
        ));
    }

    pub(crate) fn required(&mut self, value: Option<&str>, member: &str) {
        if value.is_none() {
            self.fail(None, member, "not be null");
        }
    }

    pub(crate) fn string(
        &mut self,
        value: Option<&str>,
        member: &str,
        min: usize,
        max: usize,
        pattern: Option<Pattern>,
    ) {
        let Some(v) = value else { return };
        let len = v.chars().count();
        if len < min {
            self.fail(
                value,
                member,
                &format!("have length greater than or equal to {min}"),
            );
        }
        if len > max {
            self.fail(
                value,
                member,
                &format!("have length less than or equal to {max}"),
            );
        }
        if let Some((shown, allowed)) = pattern {
            if !v.chars().all(allowed) {
                self.fail(
                    value,
                    member,
                    &format!("satisfy regular expression pattern: {shown}"),
                );
            }
        }
    }

    fn duration(&mut self, value: Option<&str>, min: u32, max: u32, default: u32) -> u32 {
        let Some(v) = value else { return default };
        match v.parse::<i64>() {
            Ok(n) if n < i64::from(min) => {
                self.fail(
                    value,
                    "durationSeconds",
                    &format!("have value greater than or equal to {min}"),
                );
                default
            }
            Ok(n) if n > i64::from(max) => {
                self.fail(
                    value,
                    "durationSeconds",
                    &format!("have value less than or equal to {max}"),
                );
                default
            }
            Ok(n) => n as u32,
            Err(_) => {
                self.fail(value, "durationSeconds", "be an integer");
                default
            }
        }
    }

    fn mfa(&mut self, serial: Option<&str>, code: Option<&str>) {
        self.string(
            serial,
            "serialNumber",
            9,
            256,
            Some((r"[\w+=/:,.@-]*", |c| is_word(c) || "+=/:,.@-".contains(c))),
        );
        self.string(
            code,
            "tokenCode",
            6,
            6,
            Some((r"[\d]*", |c| c.is_ascii_digit())),
        );
    }

    pub(crate) fn finish(self) -> Result<(), StsError> {
        match self.0.len() {
            0 => Ok(()),
            1 => Err(StsError::validation(format!(
                "1 validation error detected: {}",
                self.0[0]
            ))),
            n => Err(StsError::validation(format!(
                "{n} validation errors detected: {}",
                self.0.join("; ")
            ))),
        }
    }
}

pub(crate) fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

pub(crate) fn random_string(len: usize, alphabet: &[u8]) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
        .collect()
}

pub(crate) const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
pub(crate) const BASE64: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Stable, AWS-looking unique ids (AIDA…, AROA…) derived from the ARN.
pub(crate) fn stable_id(prefix: &str, seed: &str) -> String {
    let digest = Sha256::digest(seed.as_bytes());
    let tail: String = digest
        .iter()
        .take(17)
        .map(|b| UPPER_DIGITS[usize::from(*b) % UPPER_DIGITS.len()] as char)
        .collect();
    format!("{prefix}{tail}")
}

pub(crate) fn new_request_id() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40; // version 4
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    let h: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        h[0..4].concat(),
        h[4..6].concat(),
        h[6..8].concat(),
        h[8..10].concat(),
        h[10..16].concat()
    )
}

pub(crate) fn iso8601(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl State {
    /// The world must already be validated; policies are parsed once here.
    pub(crate) fn new(world: World, now: DateTime<Utc>) -> Result<State, policy::PolicyError> {
        let identity_policies = world
            .users
            .iter()
            .map(|u| {
                u.policies
                    .iter()
                    .map(|p| Policy::parse(p, PolicyKind::Identity))
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let trust_policies = world
            .roles
            .iter()
            .map(|r| Policy::parse(&r.trust_policy, PolicyKind::Trust))
            .collect::<Result<Vec<_>, _>>()?;
        let role_policies = world
            .roles
            .iter()
            .map(|r| {
                r.policies
                    .as_ref()
                    .map(|ps| {
                        ps.iter()
                            .map(|p| Policy::parse(p, PolicyKind::Identity))
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .transpose()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let managed_policies = world
            .managed_policies
            .iter()
            .map(|m| {
                Ok((
                    m.arn.clone(),
                    Policy::parse(&m.document, PolicyKind::Identity)?,
                ))
            })
            .collect::<Result<HashMap<_, _>, policy::PolicyError>>()?;
        let keys = world
            .users
            .iter()
            .enumerate()
            .map(|(user, u)| {
                let created = u
                    .access_key_created
                    .as_deref()
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map_or(now, |t| t.with_timezone(&Utc));
                AccessKey {
                    user,
                    id: u.access_key_id.clone(),
                    secret: u.secret_access_key.clone(),
                    active: true,
                    created,
                    // The world's keys work whatever the clock says.
                    usable_from: DateTime::<Utc>::MIN_UTC,
                }
            })
            .collect();
        let devices = world
            .users
            .iter()
            .enumerate()
            .flat_map(|(user, u)| {
                u.devices().map(move |d| Device {
                    account: u.account.clone(),
                    serial: d.serial.clone(),
                    seed: d.seed.clone(),
                    user: Some(user),
                    enabled: Some(now),
                })
            })
            .collect();
        Ok(State {
            world,
            identity_policies,
            keys,
            devices,
            key_propagation: Duration::zero(),
            iam_faults: HashMap::new(),
            lost_iam_answers: HashMap::new(),
            trust_policies,
            role_policies,
            managed_policies,
            sessions: HashMap::new(),
            federation: Default::default(),
            used_steps: HashMap::new(),
            signing_region: SigningRegion::Any,
        })
    }

    /// Revoke every session issued so far.
    pub(crate) fn revoke_all(&mut self) {
        for s in self.sessions.values_mut() {
            s.revoked = true;
        }
    }

    /// Authenticate, authorise and run one request (STS or IAM: the Action decides).
    pub(crate) fn handle(
        &mut self,
        req: &Request,
        now: DateTime<Utc>,
        request_id: &str,
    ) -> Outcome {
        let params = Params::from_request(req);
        let action = params.get("Action").unwrap_or("").to_string();
        let iam = crate::iam::is_iam_action(&action);
        let ns = if iam { xml::IAM_NS } else { xml::STS_NS };
        match self.dispatch(req, &params, &action, iam, now) {
            Ok(Some(inner)) => Outcome::xml(
                200,
                xml::success_in(ns, &action, Some(&inner), request_id),
                None,
            ),
            Ok(None) => Outcome::xml(200, xml::success_in(ns, &action, None, request_id), None),
            Err(e) => Outcome::xml(
                e.status,
                xml::error_in(ns, e.status < 500, e.code, &e.message, request_id),
                Some(e.code.to_string()),
            ),
        }
    }

    /// The result element's inner XML, or `None` for actions without one.
    fn dispatch(
        &mut self,
        req: &Request,
        params: &Params,
        action: &str,
        iam: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StsError> {
        if req.method != "POST" && req.method != "GET" {
            return Err(StsError::new(
                405,
                "MethodNotAllowed",
                format!("The HTTP method {} is not allowed", req.method),
            ));
        }
        let service = if iam { "iam" } else { "sts" };
        let caller = self.authenticate(req, now, service)?;
        let version = params.get("Version").unwrap_or("NO_VERSION_SPECIFIED");
        if iam {
            if version != crate::iam::API_VERSION {
                return Err(StsError::new(
                    400,
                    "InvalidAction",
                    format!("Could not find operation {action} for version {version}"),
                ));
            }
            return self.iam(&caller, action, params, now);
        }
        let known = matches!(
            action,
            "GetSessionToken" | "AssumeRole" | "GetCallerIdentity"
        );
        if !known || version != API_VERSION {
            return Err(StsError::new(
                400,
                "InvalidAction",
                format!("Could not find operation {action} for version {version}"),
            ));
        }
        match action {
            "GetSessionToken" => self.get_session_token(&caller, params, now).map(Some),
            "AssumeRole" => self.assume_role(&caller, params, now).map(Some),
            _ => Ok(Some(self.get_caller_identity(&caller))),
        }
    }

    fn authenticate(
        &self,
        req: &Request,
        now: DateTime<Utc>,
        service: &str,
    ) -> Result<Caller, StsError> {
        let auth = sigv4::parse_authorization(req)?;
        let (amz_date, signed_at) = sigv4::request_time(req)?;
        let token = req.header("x-amz-security-token");
        let (secret, caller, session) =
            if let Some(key) = self.keys.iter().find(|k| k.id == auth.access_key_id) {
                // A long-term key never carries a session token; an inactive key
                // and one IAM has not propagated yet are unknown to STS.
                if token.is_some() || !key.active || now < key.usable_from {
                    return Err(StsError::invalid_token());
                }
                let caller = Caller {
                    identity: Identity::User(key.user),
                    temporary: false,
                    mfa_auth_time: None,
                    issued: None,
                    session_policies: None,
                    source_ip: req.peer,
                    secure: req.secure,
                    region: auth.region.clone(),
                };
                (key.secret.as_str(), caller, None)
            } else if let Some(s) = self.sessions.get(&auth.access_key_id) {
                if !token.is_some_and(|t| ct_eq(t, &s.token)) {
                    return Err(StsError::invalid_token());
                }
                let caller = Caller {
                    identity: s.identity.clone(),
                    temporary: true,
                    mfa_auth_time: s.mfa_auth_time,
                    issued: Some(s.issued),
                    session_policies: s.session_policies.clone(),
                    source_ip: req.peer,
                    secure: req.secure,
                    region: auth.region.clone(),
                };
                (s.secret.as_str(), caller, Some(s))
            } else {
                return Err(StsError::invalid_token());
            };
        sigv4::check_skew(signed_at, now)?;
        let region = self.signing_region.expected(req, service);
        sigv4::verify(req, &auth, &amz_date, secret, region.as_deref(), service)?;
        if let Some(s) = session {
            if s.revoked || now >= s.expiration {
                return Err(StsError::new(
                    400,
                    "ExpiredToken",
                    "The security token included in the request is expired",
                ));
            }
        }
        Ok(caller)
    }

    pub(crate) fn caller_principal(&self, identity: &Identity) -> Principal {
        match identity {
            Identity::User(i) => {
                let u = &self.world.users[*i];
                Principal {
                    account: u.account.clone(),
                    arn: u.arn(),
                }
            }
            Identity::AssumedRole { role, session_name } => {
                let r = &self.world.roles[*role];
                Principal {
                    account: r.account().to_string(),
                    arn: assumed_role_arn(r.account(), r.name(), session_name),
                }
            }
        }
    }

    /// The request context AWS builds for this caller: the global keys,
    /// present or absent as AWS sets them for long-term keys (no MFA keys),
    /// GetSessionToken sessions and role sessions (`aws:username` only for
    /// users; `aws:MultiFactorAuthPresent` only for temporary credentials).
    pub(crate) fn context(&self, caller: &Caller, now: DateTime<Utc>) -> ConditionContext {
        let mut ctx = ConditionContext::new();
        ctx.set("aws:CurrentTime", iso8601(now));
        ctx.set("aws:EpochTime", now.timestamp().to_string());
        ctx.set("aws:SecureTransport", caller.secure.to_string());
        if let Some(ip) = caller.source_ip {
            ctx.set("aws:SourceIp", ip.to_string());
        }
        ctx.set("aws:RequestedRegion", caller.region.clone());
        // Callers here are principals calling directly, never a service.
        ctx.set("aws:ViaAWSService", "false");
        match &caller.identity {
            Identity::User(i) => {
                let u = &self.world.users[*i];
                ctx.set("aws:username", u.name.clone());
                ctx.set("aws:userid", stable_id("AIDA", &u.arn()));
                ctx.set("aws:PrincipalArn", u.arn());
                ctx.set("aws:PrincipalAccount", u.account.clone());
                ctx.set("aws:PrincipalType", "User");
            }
            Identity::AssumedRole { role, session_name } => {
                let r = &self.world.roles[*role];
                ctx.set(
                    "aws:userid",
                    format!("{}:{session_name}", stable_id("AROA", &r.arn)),
                );
                // The role's ARN, not the session's (as AWS documents).
                ctx.set("aws:PrincipalArn", r.arn.clone());
                ctx.set("aws:PrincipalAccount", r.account().to_string());
                ctx.set("aws:PrincipalType", "AssumedRole");
            }
        }
        if caller.temporary {
            ctx.set(
                "aws:MultiFactorAuthPresent",
                caller.mfa_auth_time.is_some().to_string(),
            );
        }
        if let Some(t) = caller.mfa_auth_time {
            ctx.set(
                "aws:MultiFactorAuthAge",
                (now - t).num_seconds().max(0).to_string(),
            );
        }
        if let Some(t) = caller.issued {
            ctx.set("aws:TokenIssueTime", iso8601(t));
        }
        ctx
    }

    /// The caller's identity-side decision: a user's policies; a role
    /// session's role policies (unmodelled roles: STS actions only), within
    /// its session policies. With the explicit deny's statement, if any.
    pub(crate) fn identity_decision(
        &self,
        caller: &Caller,
        request: &policy::Request,
    ) -> (Decision, Option<String>) {
        let identity = self.principal_decision(caller, request);
        match &caller.session_policies {
            None => identity,
            Some(session) => {
                let (s, why) = explain_all(session, request);
                match (identity.0, s) {
                    (Decision::ExplicitDeny, _) => identity,
                    (_, Decision::ExplicitDeny) => (Decision::ExplicitDeny, why),
                    _ => (policy::intersect(identity.0, s), None),
                }
            }
        }
    }

    /// The identity side without session policies: a user's policies, or a
    /// role session's role policies (unmodelled roles: STS actions only).
    pub(crate) fn principal_decision(
        &self,
        caller: &Caller,
        request: &policy::Request,
    ) -> (Decision, Option<String>) {
        match &caller.identity {
            Identity::User(u) => explain_all(&self.identity_policies[*u], request),
            Identity::AssumedRole { role, .. } => match &self.role_policies[*role] {
                Some(policies) => explain_all(policies, request),
                None if request.action.to_ascii_lowercase().starts_with("sts:") => {
                    (Decision::Allow, None)
                }
                None => (Decision::ImplicitDeny, None),
            },
        }
    }

    /// Verify a TOTP code for the caller's own device, without consuming it yet.
    fn check_mfa(
        &self,
        caller: &Caller,
        serial: Option<&str>,
        code: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(String, u64), StsError> {
        let denied = || StsError::access_denied(MFA_FAILED);
        let (Some(serial), Some(code)) = (serial, code) else {
            return Err(denied());
        };
        let Identity::User(i) = caller.identity else {
            return Err(denied());
        };
        let bad_serial = || StsError::access_denied(MFA_BAD_SERIAL);
        let device = self
            .devices
            .iter()
            .find(|d| d.user == Some(i) && d.serial == serial)
            .ok_or_else(bad_serial)?;
        let at = u64::try_from(now.timestamp()).map_err(|_| denied())?;
        let used = self.used_steps.get(serial);
        // A code is single-use per device: a step already consumed on this
        // device is refused, exactly like a wrong code.
        let step = totp::matching_steps(&device.seed, code, at)
            .into_iter()
            .find(|step| !used.is_some_and(|u| u.contains(step)))
            .ok_or_else(denied)?;
        Ok((serial.to_string(), step))
    }

    fn consume_mfa(&mut self, used: Option<(String, u64)>) {
        if let Some((serial, step)) = used {
            self.used_steps.entry(serial).or_default().insert(step);
        }
    }

    fn issue(
        &mut self,
        identity: Identity,
        now: DateTime<Utc>,
        duration: u32,
        mfa_auth_time: Option<DateTime<Utc>>,
        chained: bool,
        session_policies: Option<Vec<Policy>>,
    ) -> String {
        let access_key_id = format!("ASIA{}", random_string(16, UPPER_DIGITS));
        let secret = random_string(40, BASE64);
        let token = format!("IQoJb3JpZ2luX2VjE{}", random_string(380, BASE64));
        // Whole seconds, as AWS reports them.
        let issued = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
        let expiration = issued + Duration::seconds(i64::from(duration));
        let xml = format!(
            "<Credentials>{}</Credentials>",
            xml::elements(&[
                ("AccessKeyId", &access_key_id),
                ("SecretAccessKey", &secret),
                ("SessionToken", &token),
                ("Expiration", &iso8601(expiration)),
            ])
        );
        self.sessions.insert(
            access_key_id,
            Session {
                secret,
                token,
                expiration,
                revoked: false,
                identity,
                chained,
                mfa_auth_time,
                issued,
                session_policies,
            },
        );
        xml
    }

    fn get_session_token(
        &mut self,
        caller: &Caller,
        p: &Params,
        now: DateTime<Utc>,
    ) -> Result<String, StsError> {
        let mut v = Validation::default();
        let duration = v.duration(p.get("DurationSeconds"), 900, 129_600, 43_200);
        let (serial, code) = (p.get("SerialNumber"), p.get("TokenCode"));
        v.mfa(serial, code);
        v.finish()?;

        let Identity::User(user) = caller.identity else {
            return Err(StsError::access_denied(
                "Cannot call GetSessionToken with session credentials",
            ));
        };
        if caller.temporary {
            return Err(StsError::access_denied(
                "Cannot call GetSessionToken with session credentials",
            ));
        }
        let principal = self.caller_principal(&caller.identity);
        // Long-term keys carry no aws:MultiFactorAuthPresent key at all.
        let context = self.context(caller, now);
        let request = policy::Request {
            action: "sts:GetSessionToken",
            resource: "*",
            principal: &principal,
            context: &context,
        };
        match self.identity_decision(caller, &request).0 {
            Decision::Allow => {}
            // AWS names an explicit deny (a force-MFA statement, typically).
            Decision::ExplicitDeny => {
                return Err(StsError::access_denied(format!(
                    "User: {} is not authorized to perform: sts:GetSessionToken with an explicit deny in an identity-based policy",
                    principal.arn
                )))
            }
            Decision::ImplicitDeny => {
                return Err(StsError::access_denied(format!(
                    "User: {} is not authorized to perform: sts:GetSessionToken",
                    principal.arn
                )))
            }
        }
        let mfa = if serial.is_some() || code.is_some() {
            Some(self.check_mfa(caller, serial, code, now)?)
        } else {
            None
        };
        let mfa_auth_time = mfa.is_some().then_some(now);
        self.consume_mfa(mfa);
        Ok(self.issue(
            Identity::User(user),
            now,
            duration,
            mfa_auth_time,
            false,
            None,
        ))
    }

    fn assume_role(
        &mut self,
        caller: &Caller,
        p: &Params,
        now: DateTime<Utc>,
    ) -> Result<String, StsError> {
        let mut v = Validation::default();
        let role_arn = p.get("RoleArn");
        v.required(role_arn, "roleArn");
        v.string(role_arn, "roleArn", 20, 2048, None);
        let session_name = p.get("RoleSessionName");
        v.required(session_name, "roleSessionName");
        v.string(
            session_name,
            "roleSessionName",
            2,
            64,
            Some((r"[\w+=,.@-]*", |c| is_word(c) || "+=,.@-".contains(c))),
        );
        let external_id = p.get("ExternalId");
        v.string(
            external_id,
            "externalId",
            2,
            1224,
            Some((r"[\w+=,.@:\/-]*", |c| is_word(c) || "+=,.@:/-".contains(c))),
        );
        let duration = v.duration(p.get("DurationSeconds"), 900, 43_200, 3600);
        let (serial, code) = (p.get("SerialNumber"), p.get("TokenCode"));
        v.mfa(serial, code);
        let inline_policy = p.get("Policy");
        v.string(
            inline_policy,
            "policy",
            1,
            2048,
            Some((r"[\u0009\u000A\u000D\u0020-\u00FF]+", |c| {
                matches!(c, '\t' | '\n' | '\r' | ' '..='\u{ff}')
            })),
        );
        let policy_arns: Vec<&str> = (1..)
            .map_while(|n| p.get(&format!("PolicyArns.member.{n}.arn")))
            .collect();
        if policy_arns.len() > MAX_POLICY_ARNS {
            let shown: Vec<String> = policy_arns
                .iter()
                .map(|a| format!("PolicyDescriptorType(arn={a})"))
                .collect();
            v.fail(
                Some(&format!("[{}]", shown.join(", "))),
                "policyArns",
                &format!("have length less than or equal to {MAX_POLICY_ARNS}"),
            );
        }
        for (i, arn) in policy_arns.iter().enumerate() {
            v.string(
                Some(arn),
                &format!("policyArns.{}.member.arn", i + 1),
                20,
                2048,
                None,
            );
        }
        v.finish()?;
        let (session_policies, packed) = self.session_policies(inline_policy, &policy_arns)?;
        let (role_arn, session_name) = (
            role_arn.unwrap_or_default(),
            session_name.unwrap_or_default(),
        );
        if parse_role_arn(role_arn).is_none() {
            return Err(StsError::validation("Request ARN is invalid"));
        }

        let principal = self.caller_principal(&caller.identity);
        let denied = || {
            StsError::access_denied(format!(
                "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                principal.arn
            ))
        };
        let Some(role_index) = self.world.roles.iter().position(|r| r.arn == role_arn) else {
            return Err(denied());
        };
        let mfa = if serial.is_some() || code.is_some() {
            Some(self.check_mfa(caller, serial, code, now)?)
        } else {
            None
        };
        let mfa_auth_time = if mfa.is_some() {
            Some(now)
        } else {
            caller.mfa_auth_time
        };
        let mut context = self.context(caller, now);
        if mfa.is_some() {
            // MFA accompanying this very call counts, even for long-term keys.
            context.set("aws:MultiFactorAuthPresent", "true");
            context.set("aws:MultiFactorAuthAge", "0");
        }
        if let Some(id) = external_id {
            context.set("sts:ExternalId", id);
        }
        context.set("sts:RoleSessionName", session_name);
        let request = |principal| policy::Request {
            action: "sts:AssumeRole",
            resource: role_arn,
            principal,
            context: &context,
        };

        // Identity side: the user's policies, or the calling session's role
        // policies within its session policies, must allow it.
        let identity_ok = self.identity_decision(caller, &request(&principal)).0 == Decision::Allow;
        // Resource side: the trust policy must allow this principal. An
        // assumed-role session also matches statements naming its role.
        let trust = &self.trust_policies[role_index];
        let mut decisions = vec![trust.evaluate(&request(&principal))];
        if let Identity::AssumedRole { role, .. } = caller.identity {
            let source = &self.world.roles[role];
            let role_principal = Principal {
                account: source.account().to_string(),
                arn: source.arn.clone(),
            };
            decisions.push(trust.evaluate(&request(&role_principal)));
        }
        let trust_ok = policy::combine(decisions) == Decision::Allow;
        let role = &self.world.roles[role_index];
        let mfa_ok = !role.require_mfa || mfa_auth_time.is_some();
        if !(identity_ok && trust_ok && mfa_ok) {
            return Err(denied());
        }

        if caller.temporary && duration > ROLE_CHAINING_MAX_SECS {
            return Err(StsError::validation(
                "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
            ));
        }
        if duration > role.max_session_duration {
            return Err(StsError::validation(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
            ));
        }

        let (account, name) = (role.account().to_string(), role.name().to_string());
        let role_id = stable_id("AROA", &role.arn);
        self.consume_mfa(mfa);
        let credentials = self.issue(
            Identity::AssumedRole {
                role: role_index,
                session_name: session_name.to_string(),
            },
            now,
            duration,
            mfa_auth_time,
            caller.temporary,
            session_policies,
        );
        let packed = packed.map_or_else(String::new, |n| {
            format!("<PackedPolicySize>{n}</PackedPolicySize>")
        });
        Ok(format!(
            "{credentials}<AssumedRoleUser>{}</AssumedRoleUser>{packed}",
            xml::elements(&[
                ("AssumedRoleId", &format!("{role_id}:{session_name}")),
                ("Arn", &assumed_role_arn(&account, &name, session_name)),
            ])
        ))
    }

    /// AssumeRole's session policies, parsed, and their packed size (per
    /// cent of the limit); `(None, None)` without any.
    #[allow(clippy::type_complexity)]
    fn session_policies(
        &self,
        inline: Option<&str>,
        arns: &[&str],
    ) -> Result<(Option<Vec<Policy>>, Option<u32>), StsError> {
        if inline.is_none() && arns.is_empty() {
            return Ok((None, None));
        }
        let mut policies = Vec::new();
        let mut packed_chars = 0;
        if let Some(text) = inline {
            let json: serde_json::Value = serde_json::from_str(text).map_err(|_| {
                StsError::new(
                    400,
                    "MalformedPolicyDocument",
                    "The policy is not in the valid JSON format.",
                )
            })?;
            let policy = Policy::parse(text, PolicyKind::Identity).map_err(|e| {
                // AWS names no detail; a construct the emulator does not
                // implement is named so that a test author knows why.
                let message = if e.message.contains("not supported") {
                    format!("The emulator does not support this policy: {}", e.message)
                } else {
                    "Syntax errors in policy.".to_string()
                };
                StsError::new(400, "MalformedPolicyDocument", message)
            })?;
            policies.push(policy);
            // Packing drops insignificant whitespace.
            packed_chars += json.to_string().chars().count();
        }
        for arn in arns {
            packed_chars += arn.len();
            let policy = match aws_managed(arn) {
                Some(doc) => Some(
                    Policy::parse(doc, PolicyKind::Identity)
                        .map_err(|e| StsError::new(500, "InternalFailure", e.message))?,
                ),
                None => self.managed_policies.get(*arn).cloned(),
            };
            // A policy the world does not define grants nothing.
            policies.extend(policy);
        }
        let percent =
            u32::try_from((packed_chars * 100).div_ceil(PACKED_POLICY_LIMIT)).unwrap_or(u32::MAX);
        if percent > 100 {
            return Err(StsError::new(
                400,
                "PackedPolicyTooLarge",
                format!("Packed policy consumes {percent}% of allotted space, please use smaller policy."),
            ));
        }
        Ok((Some(policies), Some(percent)))
    }

    fn get_caller_identity(&self, caller: &Caller) -> String {
        let principal = self.caller_principal(&caller.identity);
        let user_id = match &caller.identity {
            Identity::User(i) => stable_id("AIDA", &self.world.users[*i].arn()),
            Identity::AssumedRole { role, session_name } => {
                format!(
                    "{}:{session_name}",
                    stable_id("AROA", &self.world.roles[*role].arn)
                )
            }
        };
        xml::elements(&[
            ("Arn", &principal.arn),
            ("UserId", &user_id),
            ("Account", &principal.account),
        ])
    }
}

/// Several policies of one kind: an explicit deny in any (with its
/// statement), else an allow from any, else the default deny.
fn explain_all(policies: &[Policy], request: &policy::Request) -> (Decision, Option<String>) {
    let mut decision = Decision::ImplicitDeny;
    for p in policies {
        match p.explain(request) {
            (Decision::ExplicitDeny, why) => return (Decision::ExplicitDeny, why),
            (Decision::Allow, _) => decision = Decision::Allow,
            _ => {}
        }
    }
    (decision, None)
}

pub(crate) fn assumed_role_arn(account: &str, role_name: &str, session_name: &str) -> String {
    format!("arn:aws:sts::{account}:assumed-role/{role_name}/{session_name}")
}

pub(crate) fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_messages_have_aws_shape() {
        let mut v = Validation::default();
        v.duration(Some("100"), 900, 129_600, 43_200);
        assert_eq!(
            v.finish().unwrap_err().message,
            "1 validation error detected: Value '100' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
        );
        let mut v = Validation::default();
        v.mfa(None, Some("12a45"));
        assert_eq!(
            v.finish().unwrap_err().message,
            "2 validation errors detected: Value '12a45' at 'tokenCode' failed to satisfy constraint: Member must have length greater than or equal to 6; Value '12a45' at 'tokenCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\d]*"
        );
    }

    #[test]
    fn ids_look_like_aws() {
        let id = new_request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        let aida = stable_id("AIDA", "x");
        assert_eq!(aida.len(), 21);
        assert_eq!(aida, stable_id("AIDA", "x"));
    }
}
