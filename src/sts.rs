//! The only place that talks to STS. Built lazily: the cache-hit path never
//! constructs a runtime, TLS roots or an SDK client.

use std::time::Duration;

use aws_credential_types::Credentials;
use aws_sdk_sts::config::{BehaviorVersion, Region};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use chrono::{DateTime, Utc};

use crate::secret::{LongTermKeys, TemporaryCredentials};
use crate::types::{
    ExternalId, MfaSerial, RoleArn, SessionDuration, SessionName, SessionPolicy, TokenCode,
};

/// Where and how to reach STS.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The STS URL (regional, FIPS, or an emulator).
    pub url: String,
    /// The region to sign for.
    pub region: String,
    /// Per-attempt connect/read timeout.
    pub timeout: Duration,
    /// `$AWS_CA_BUNDLE`: extra roots (a PEM file), as the AWS CLI and SDKs honour it.
    pub ca_bundle: Option<std::path::PathBuf>,
}

impl Endpoint {
    /// What an STS session is valid at, for cache keys. A GetSessionToken
    /// session works at every regional (and the global) endpoint of its
    /// partition, so AWS's own endpoints all share one scope per partition
    /// (`partition:aws`); any other URL (an emulator, a VPC endpoint, a
    /// proxy) is its own scope. The region never changes the scope, so
    /// mfacli's own `AWS_REGION` export cannot change which session it uses.
    pub(crate) fn cache_scope(&self) -> String {
        aws_partition_of_url(&self.url)
            .map(|p| format!("partition:{p}"))
            .unwrap_or_else(|| format!("url:{}", self.url))
    }
}

/// `aws`, `aws-cn` or `aws-us-gov` for an AWS STS endpoint URL
/// (`https://sts[-fips][.REGION].amazonaws.com[.cn]`), else None.
fn aws_partition_of_url(url: &str) -> Option<&'static str> {
    let host = url.strip_prefix("https://")?.trim_end_matches('/');
    let host = host.strip_suffix(":443").unwrap_or(host);
    let (rest, cn) = match host.strip_suffix(".amazonaws.com.cn") {
        Some(r) => (r, true),
        None => (host.strip_suffix(".amazonaws.com")?, false),
    };
    let region = match rest.split_once('.') {
        Some((svc, region)) if svc == "sts" || svc == "sts-fips" => Some(region),
        None if rest == "sts" || rest == "sts-fips" => None,
        _ => return None,
    };
    if region.is_some_and(|r| {
        r.is_empty()
            || !r
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    }) {
        return None;
    }
    Some(match (cn, region) {
        (true, _) => "aws-cn",
        (false, Some(r)) if r.starts_with("us-gov-") => "aws-us-gov",
        (false, Some(r)) if r.starts_with("cn-") => return None,
        _ => "aws",
    })
}

/// What went wrong in one STS call, typed so callers can react (retry on
/// `ExpiredToken`, explain `AccessDenied`) and show a hint.
#[derive(Debug, Clone)]
pub struct StsError {
    pub(crate) action: &'static str,
    pub(crate) endpoint: String,
    pub(crate) kind: StsErrorKind,
    /// Server `Date` minus local time, when the server answered.
    pub(crate) skew_secs: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StsErrorKind {
    /// STS answered with an error code.
    Service {
        code: String,
        message: String,
    },
    Timeout,
    Unreachable(String),
    Other(String),
}

impl StsError {
    /// The AWS error code (`AccessDenied`, ...), if the failure came from STS.
    pub fn code(&self) -> Option<&str> {
        match &self.kind {
            StsErrorKind::Service { code, .. } => Some(code),
            _ => None,
        }
    }

    pub(crate) fn is_expired_token(&self) -> bool {
        self.code() == Some("ExpiredToken")
    }

    /// STS does not know the access key (or session) that signed.
    pub(crate) fn is_invalid_token(&self) -> bool {
        self.code() == Some("InvalidClientTokenId")
    }

    /// The connection (TCP or TLS) failed, so no request, and no MFA code,
    /// reached STS. hyper reports exactly these as "client error (Connect)".
    pub(crate) fn never_sent(&self) -> bool {
        matches!(&self.kind, StsErrorKind::Unreachable(d) if d.contains("(Connect)") || d.starts_with("DNS lookup"))
    }

    /// A wrong or reused code (worth one retry with the next TOTP step);
    /// not a wrong serial, which no code can fix.
    pub(crate) fn is_invalid_mfa_code(&self) -> bool {
        matches!(&self.kind, StsErrorKind::Service { code, message }
            if code == "AccessDenied" && message.contains("invalid MFA one time pass code"))
    }

    /// What a person should do about it.
    pub(crate) fn hint(&self) -> Option<String> {
        let base = match &self.kind {
            StsErrorKind::Service { code, message } => match code.as_str() {
                "InvalidClientTokenId" => "the access key is unknown to STS: it was deleted or deactivated, or the wrong profile is selected (check [bastion] profile / --profile)".to_owned(),
                "SignatureDoesNotMatch" if message.starts_with("Signature expired") => "the request's timestamp is too far from STS's clock: fix this machine's clock".to_owned(),
                "SignatureDoesNotMatch" => "the secret access key does not match the access key id: re-enter it with `aws configure --profile PROFILE`".to_owned(),
                "AccessDenied" if message.contains("unable to validate MFA code") => "the MFA serial is not a device of this IAM user: check mfa_serial (IAM console, Security credentials, Assigned MFA device)".to_owned(),
                "AccessDenied" if message.contains("MultiFactorAuthentication") => "the MFA code was rejected: it was mistyped, already used (wait for the next code), belongs to another device (check mfa_serial), or the clock is off".to_owned(),
                "AccessDenied" if message.contains("explicit deny") => explicit_deny_hint(self.action),
                "AccessDenied" if self.action == "AssumeRole" => "the role's trust policy does not allow this caller, or MFA is missing: check the role ARN, that the role trusts the bastion account, and that the bastion policy allows sts:AssumeRole with MFA".to_owned(),
                "AccessDenied" => "the bastion user's IAM policy does not allow this call".to_owned(),
                "ExpiredToken" => "the session expired or was revoked; run again (or `mfacli clear --all`) to start a new one".to_owned(),
                "ValidationError" if message.contains("DurationSeconds") || message.contains("durationSeconds") => "the requested duration is outside what STS allows: role chaining is capped at 1h, AssumeRole at the role's MaxSessionDuration (max 12h), GetSessionToken at 15m-36h; lower `duration` / `session_duration`".to_owned(),
                "ValidationError" => "a parameter was rejected by STS; check the target's settings".to_owned(),
                // AWS and botocore's model say PackedPolicyTooLarge; the
                // name in some references is PackedPolicySizeTooLarge.
                "PackedPolicyTooLarge" | "PackedPolicySizeTooLarge" => "STS packs the session policies (--policy-arn / --policy, or the target's policy_arns / policy) into a compressed form with a size limit of its own, which these exceed although their text is within 2048 characters; use fewer managed policy ARNs, or a shorter inline policy (fewer statements, wildcards such as s3:Get*)".to_owned(),
                "MalformedPolicyDocument" => "STS rejected the session policy (--policy, or the target's policy file): check its grammar (Effect, Action, Resource in each statement) against the IAM policy reference".to_owned(),
                "Throttling" | "RequestLimitExceeded" => "STS is throttling requests; wait a moment and retry".to_owned(),
                "RegionDisabledException" => "STS is not activated in this region; use another region or activate it in IAM account settings".to_owned(),
                _ => String::new(),
            },
            StsErrorKind::Timeout => format!("STS at {} did not answer in time; check the network or raise --timeout", self.endpoint),
            StsErrorKind::Unreachable(_) => format!("cannot connect to {}; check the network, the region, or --endpoint-url / AWS_ENDPOINT_URL_STS", self.endpoint),
            StsErrorKind::Other(_) => String::new(),
        };
        // One sentence each: the cause, then the clock if it is off.
        let sentences: Vec<String> = [
            (!base.is_empty()).then(|| format!("{base}.")),
            self.skew_secs.and_then(skew_sentence),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!sentences.is_empty()).then(|| sentences.join(" "))
    }
}

/// AWS's documented force-MFA statement, by the Sids AWS gives it.
pub(crate) const FORCE_MFA_STATEMENT: &str =
    "\"BlockMostAccessUnlessSignedInWithMFA\" (AWS's force-MFA policy, also published as \"Force_MFA\")";

/// An explicit Deny refused `action` (an STS or IAM action name). Before MFA
/// (GetSessionToken is called with the long-term keys) that is almost
/// always the force-MFA statement, whose NotAction lists what it exempts.
pub(crate) fn explicit_deny_hint(action: &str) -> String {
    let full = if action.contains(':') {
        action.to_owned()
    } else {
        format!("sts:{action}")
    };
    if full == "sts:GetSessionToken" {
        format!(
            "an explicit Deny in the bastion user's IAM policies refuses sts:GetSessionToken to the long-term keys, which mfacli needs to start an MFA session: this is the statement {FORCE_MFA_STATEMENT} without \"sts:GetSessionToken\" in its NotAction; add it there (see the \"Force MFA\" chapter of mfacli's docs)"
        )
    } else {
        format!(
            "an explicit Deny in the bastion user's IAM policies refuses {full} even with this MFA session: find the Deny statement that matches it (a force-MFA statement {FORCE_MFA_STATEMENT} only denies without MFA)"
        )
    }
}

/// Skew (server time minus local time) above which mfacli names the clock
/// in errors: a TOTP step is 30 s, so more than that changes the code.
pub(crate) const SKEW_NAMED_SECS: i64 = 30;

/// The sentence naming a clock skew over [`SKEW_NAMED_SECS`], with the fix.
pub(crate) fn skew_sentence(skew_secs: i64) -> Option<String> {
    (skew_secs.abs() > SKEW_NAMED_SECS).then(|| {
        format!(
            "This machine's clock is {}s {} STS's clock (from its Date header); sync it with `timedatectl set-ntp true` or `sudo chronyc makestep`.",
            skew_secs.abs(),
            if skew_secs > 0 { "behind" } else { "ahead of" }
        )
    })
}

impl StsErrorKind {
    /// One line for a failed call of `service` (STS, IAM): the AWS error
    /// code and message, or what kept the call from being answered.
    pub(crate) fn describe(
        &self,
        f: &mut std::fmt::Formatter<'_>,
        service: &str,
        action: &str,
        endpoint: &str,
    ) -> std::fmt::Result {
        match self {
            StsErrorKind::Service { code, message } => {
                write!(f, "{service} {action} failed: {code}: {}", message.trim())
            }
            StsErrorKind::Timeout => write!(f, "{service} {action} timed out ({endpoint})"),
            StsErrorKind::Unreachable(d) => {
                write!(f, "{service} {action} failed: cannot reach {endpoint}: {d}")
            }
            StsErrorKind::Other(d) => write!(f, "{service} {action} failed ({endpoint}): {d}"),
        }
    }
}

impl std::fmt::Display for StsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.kind.describe(f, "STS", self.action, &self.endpoint)
    }
}

impl std::error::Error for StsError {}

/// The identity returned by GetCallerIdentity.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CallerIdentity {
    #[serde(rename = "Account")]
    pub(crate) account: String,
    #[serde(rename = "Arn")]
    pub(crate) arn: String,
    #[serde(rename = "UserId")]
    pub(crate) user_id: String,
}

/// The STS calls the credential chain makes. [`StsClient`] makes them
/// through the AWS SDK; tests substitute a fake to exercise the chain in
/// process, without a network or a real clock.
pub(crate) trait Sts {
    /// GetSessionToken with the long-term keys (and an MFA code).
    fn get_session_token(
        &self,
        keys: &LongTermKeys,
        duration: SessionDuration,
        mfa: Option<(&MfaSerial, &TokenCode)>,
    ) -> Result<TemporaryCredentials, StsError>;

    /// AssumeRole; returns the credentials and the assumed-role ARN.
    fn assume_role(
        &self,
        signer: Signer<'_>,
        request: &AssumeRoleRequest<'_>,
    ) -> Result<(TemporaryCredentials, Option<String>), StsError>;
}

/// What AssumeRole asks for, besides who signs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AssumeRoleRequest<'a> {
    pub(crate) role: &'a RoleArn,
    pub(crate) session_name: &'a SessionName,
    pub(crate) duration: SessionDuration,
    pub(crate) external_id: Option<&'a ExternalId>,
    pub(crate) mfa: Option<(&'a MfaSerial, &'a TokenCode)>,
    /// Session policies (`PolicyArns`, `Policy`); empty: none sent.
    pub(crate) policy: &'a SessionPolicy,
}

/// Makes an [`Sts`] for an endpoint. Called lazily, so the cache-hit path
/// never builds a runtime, TLS roots or the SDK.
pub(crate) trait Connect {
    /// A client for `endpoint`; fails before any code is spent if the
    /// endpoint cannot be used (bad host, bad CA bundle).
    fn connect(&self, endpoint: &Endpoint) -> Result<Box<dyn Sts>, StsError>;
}

/// The real connector: the AWS SDK over hyper and rustls.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SdkConnect;

impl Connect for SdkConnect {
    fn connect(&self, endpoint: &Endpoint) -> Result<Box<dyn Sts>, StsError> {
        Ok(Box::new(StsClient::new(endpoint.clone())?))
    }
}

impl Sts for StsClient {
    fn get_session_token(
        &self,
        keys: &LongTermKeys,
        duration: SessionDuration,
        mfa: Option<(&MfaSerial, &TokenCode)>,
    ) -> Result<TemporaryCredentials, StsError> {
        StsClient::get_session_token(self, keys, duration, mfa)
    }

    fn assume_role(
        &self,
        signer: Signer<'_>,
        r: &AssumeRoleRequest<'_>,
    ) -> Result<(TemporaryCredentials, Option<String>), StsError> {
        StsClient::assume_role_narrowed(
            self,
            signer,
            r.role,
            r.session_name,
            r.duration,
            r.external_id,
            r.mfa,
            r.policy,
        )
    }
}

/// A tokio runtime and HTTP client, shared by the calls of one invocation.
pub struct StsClient {
    // Option so Drop can shut it down without waiting for stuck blocking
    // tasks (a DNS lookup that never returns must not delay exit).
    rt: Option<tokio::runtime::Runtime>,
    http: SharedHttpClient,
    endpoint: Endpoint,
}

/// Credentials to sign with.
pub enum Signer<'a> {
    /// Long-term keys: for GetSessionToken and GetCallerIdentity.
    LongTerm(&'a LongTermKeys),
    /// Session credentials: for AssumeRole.
    Temporary(&'a TemporaryCredentials),
}

impl StsClient {
    /// A client for `endpoint`; builds the SDK client but sends nothing.
    pub fn new(endpoint: Endpoint) -> Result<Self, StsError> {
        resolve_host(&endpoint)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StsError {
                action: "setup",
                endpoint: endpoint.url.clone(),
                kind: StsErrorKind::Other(e.to_string()),
                skew_secs: None,
            })?;
        let http = if endpoint.url.starts_with("http://") {
            aws_smithy_http_client::Builder::new().build_http()
        } else {
            aws_smithy_http_client::Builder::new()
                .tls_provider(tls::Provider::Rustls(
                    tls::rustls_provider::CryptoMode::Ring,
                ))
                .tls_context(tls_context(&endpoint)?)
                .build_https()
        };
        Ok(Self {
            rt: Some(rt),
            http,
            endpoint,
        })
    }

    pub(crate) fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt
            .as_ref()
            .expect("runtime lives until drop")
            .block_on(f)
    }

    pub(crate) fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The HTTP client (for the IAM client in src/iam.rs).
    pub(crate) fn http_client(&self) -> SharedHttpClient {
        self.http.clone()
    }

    fn client(&self, signer: Signer<'_>) -> aws_sdk_sts::Client {
        let creds = match signer {
            Signer::LongTerm(k) => Credentials::new(
                k.access_key_id.clone(),
                k.secret_access_key.expose().to_owned(),
                None,
                None,
                "mfacli-bastion",
            ),
            Signer::Temporary(t) => Credentials::new(
                t.access_key_id.clone(),
                t.secret_access_key.expose().to_owned(),
                Some(t.session_token.expose().to_owned()),
                None,
                "mfacli-session",
            ),
        };
        let t = self.endpoint.timeout;
        let config = aws_sdk_sts::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(self.endpoint.region.clone()))
            .endpoint_url(self.endpoint.url.clone())
            .credentials_provider(creds)
            .http_client(self.http.clone())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(t.min(Duration::from_secs(3)))
                    .read_timeout(t)
                    .operation_attempt_timeout(t)
                    .build(),
            )
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(3)
                    .with_initial_backoff(Duration::from_millis(200))
                    .with_max_backoff(Duration::from_secs(2)),
            )
            .build();
        aws_sdk_sts::Client::from_conf(config)
    }

    pub(crate) fn map_err<E: ProvideErrorMetadata + std::error::Error + 'static>(
        &self,
        action: &'static str,
        err: SdkError<E, HttpResponse>,
    ) -> StsError {
        let endpoint = self.endpoint.url.clone();
        let skew_secs = err.raw_response().and_then(|r| {
            let date = r.headers().get("date")?;
            let server = DateTime::parse_from_rfc2822(date).ok()?;
            Some((server.with_timezone(&Utc) - Utc::now()).num_seconds())
        });
        let kind = match &err {
            SdkError::ServiceError(se) => {
                let e = se.err();
                // Remote text: shown to a person, never raw.
                StsErrorKind::Service {
                    code: crate::error::remote_text(e.code().unwrap_or("Unknown")),
                    message: crate::error::remote_text(e.message().unwrap_or("")),
                }
            }
            SdkError::TimeoutError(_) => StsErrorKind::Timeout,
            SdkError::DispatchFailure(df) if df.is_timeout() => StsErrorKind::Timeout,
            SdkError::DispatchFailure(df) => {
                let detail = df
                    .as_connector_error()
                    .map(|c| crate::error::remote_text(&error_chain(c)))
                    .unwrap_or_else(|| "dispatch failure".into());
                StsErrorKind::Unreachable(detail)
            }
            SdkError::ResponseError(_) => StsErrorKind::Other(format!(
                "unreadable response: {}",
                crate::error::remote_text(&error_chain(&err))
            )),
            other => StsErrorKind::Other(crate::error::remote_text(&error_chain(other))),
        };
        StsError {
            action,
            endpoint,
            kind,
            skew_secs,
        }
    }

    /// GetSessionToken: a session for the MFA device and code.
    pub fn get_session_token(
        &self,
        keys: &LongTermKeys,
        duration: SessionDuration,
        mfa: Option<(&MfaSerial, &TokenCode)>,
    ) -> Result<TemporaryCredentials, StsError> {
        let mut req = self
            .client(Signer::LongTerm(keys))
            .get_session_token()
            .duration_seconds(duration.secs() as i32);
        if let Some((serial, code)) = mfa {
            req = req.serial_number(serial.as_str()).token_code(code.as_str());
        }
        let out = self
            .block_on(req.send())
            .map_err(|e| self.map_err("GetSessionToken", e))?;
        self.convert("GetSessionToken", out.credentials)
    }

    #[allow(clippy::too_many_arguments)]
    /// AssumeRole for a target, signed with the MFA session.
    pub fn assume_role(
        &self,
        signer: Signer<'_>,
        role: &RoleArn,
        session_name: &SessionName,
        duration: SessionDuration,
        external_id: Option<&ExternalId>,
        mfa: Option<(&MfaSerial, &TokenCode)>,
    ) -> Result<(TemporaryCredentials, Option<String>), StsError> {
        let none = SessionPolicy::default();
        self.assume_role_narrowed(
            signer,
            role,
            session_name,
            duration,
            external_id,
            mfa,
            &none,
        )
    }

    /// AssumeRole with session policies (`PolicyArns`, `Policy`) narrowing
    /// the credentials; an empty policy sends neither.
    #[allow(clippy::too_many_arguments)]
    pub fn assume_role_narrowed(
        &self,
        signer: Signer<'_>,
        role: &RoleArn,
        session_name: &SessionName,
        duration: SessionDuration,
        external_id: Option<&ExternalId>,
        mfa: Option<(&MfaSerial, &TokenCode)>,
        policy: &SessionPolicy,
    ) -> Result<(TemporaryCredentials, Option<String>), StsError> {
        let mut req = self
            .client(signer)
            .assume_role()
            .role_arn(role.as_str())
            .role_session_name(session_name.as_str())
            .duration_seconds(duration.secs() as i32);
        if let Some(x) = external_id {
            req = req.external_id(x.as_str());
        }
        if let Some((serial, code)) = mfa {
            req = req.serial_number(serial.as_str()).token_code(code.as_str());
        }
        for arn in policy.arns() {
            req = req.policy_arns(
                aws_sdk_sts::types::PolicyDescriptorType::builder()
                    .arn(arn.as_str())
                    .build(),
            );
        }
        if let Some(p) = policy.inline() {
            req = req.policy(p.as_str());
        }
        let out = self
            .block_on(req.send())
            .map_err(|e| self.map_err("AssumeRole", e))?;
        // Shown to a person (and cached): remote text, never raw.
        let arn = out
            .assumed_role_user
            .map(|u| crate::error::remote_text(&u.arn));
        Ok((self.convert("AssumeRole", out.credentials)?, arn))
    }

    /// GetCallerIdentity: who the signer is (used by `whoami` and `doctor`).
    pub fn get_caller_identity(&self, signer: Signer<'_>) -> Result<CallerIdentity, StsError> {
        let out = self
            .block_on(self.client(signer).get_caller_identity().send())
            .map_err(|e| self.map_err("GetCallerIdentity", e))?;
        Ok(CallerIdentity {
            account: crate::error::remote_text(&out.account.unwrap_or_default()),
            arn: crate::error::remote_text(&out.arn.unwrap_or_default()),
            user_id: crate::error::remote_text(&out.user_id.unwrap_or_default()),
        })
    }

    /// GetCallerIdentity that also measures the clock: on success, the
    /// server's `Date` minus local time in seconds (`None` if STS sent no
    /// usable `Date`). On failure the skew is in [`StsError::skew_secs`].
    pub(crate) fn get_caller_identity_with_skew(
        &self,
        signer: Signer<'_>,
    ) -> Result<(CallerIdentity, Option<i64>), StsError> {
        let capture = DateCapture::default();
        let skew = std::sync::Arc::clone(&capture.skew_secs);
        let out = self
            .block_on(
                self.client(signer)
                    .get_caller_identity()
                    .customize()
                    .interceptor(capture)
                    .send(),
            )
            .map_err(|e| self.map_err("GetCallerIdentity", e))?;
        let id = CallerIdentity {
            account: crate::error::remote_text(&out.account.unwrap_or_default()),
            arn: crate::error::remote_text(&out.arn.unwrap_or_default()),
            user_id: crate::error::remote_text(&out.user_id.unwrap_or_default()),
        };
        let skew = *skew
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok((id, skew))
    }

    fn convert(
        &self,
        action: &'static str,
        c: Option<aws_sdk_sts::types::Credentials>,
    ) -> Result<TemporaryCredentials, StsError> {
        let c = c.ok_or_else(|| StsError {
            action,
            endpoint: self.endpoint.url.clone(),
            kind: StsErrorKind::Other("the response had no credentials".into()),
            skew_secs: None,
        })?;
        crate::sts_validate::to_credentials(action, &self.endpoint.url, c)
    }
}

/// Records the skew between the response's `Date` header and local time.
#[derive(Debug, Default)]
struct DateCapture {
    skew_secs: std::sync::Arc<std::sync::Mutex<Option<i64>>>,
}

impl aws_smithy_runtime_api::client::interceptors::Intercept for DateCapture {
    fn name(&self) -> &'static str {
        "mfacli-date-capture"
    }

    fn read_before_deserialization(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let skew = context
            .response()
            .headers()
            .get("date")
            .and_then(|d| DateTime::parse_from_rfc2822(d).ok())
            .map(|server| (server.with_timezone(&Utc) - Utc::now()).num_seconds());
        *self
            .skew_secs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = skew;
        Ok(())
    }
}

impl Drop for StsClient {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

/// The system's roots, plus `$AWS_CA_BUNDLE` (a PEM file) as the AWS CLI
/// and SDKs honour it, for TLS-inspecting corporate proxies.
fn tls_context(endpoint: &Endpoint) -> Result<tls::TlsContext, StsError> {
    let fail = |detail: String| StsError {
        action: "setup",
        endpoint: endpoint.url.clone(),
        kind: StsErrorKind::Other(detail),
        skew_secs: None,
    };
    let mut store = tls::TrustStore::empty().with_native_roots(true);
    if let Some(path) = &endpoint.ca_bundle {
        let pem = crate::aws_files::read_text_file(path, "AWS_CA_BUNDLE file")
            .map_err(|e| fail(e.message))?
            .map(|f| f.text)
            .ok_or_else(|| {
                fail(format!(
                    "AWS_CA_BUNDLE names {}, which does not exist",
                    path.display()
                ))
            })?;
        if !pem.contains("-----BEGIN CERTIFICATE-----") {
            return Err(fail(format!(
                "AWS_CA_BUNDLE file {} holds no PEM certificate",
                path.display()
            )));
        }
        store = store.with_pem_certificate(pem.as_bytes().to_vec());
    }
    tls::TlsContext::builder()
        .with_trust_store(store)
        .build()
        .map_err(|e| fail(format!("TLS setup failed: {}", error_chain(&e))))
}

/// Resolves the endpoint's host name and opens a TCP connection to it
/// first, bounded in time: the system resolver can hang for tens of
/// seconds on a bad name, the SDK's timeouts do not cover DNS, and a
/// refused or unroutable endpoint must fail before a TOTP step is spent.
fn resolve_host(endpoint: &Endpoint) -> Result<(), StsError> {
    let rest = endpoint.url.split("://").nth(1).unwrap_or("");
    let authority = rest.split('/').next().unwrap_or("");
    let default_port = if endpoint.url.starts_with("https://") {
        443
    } else {
        80
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (
            h.trim_matches(['[', ']']).to_owned(),
            p.parse().unwrap_or(default_port),
        ),
        _ => (authority.to_owned(), default_port),
    };
    let fail = |detail: String| StsError {
        action: "connect",
        endpoint: endpoint.url.clone(),
        kind: StsErrorKind::Unreachable(detail),
        skew_secs: None,
    };
    let limit = endpoint.timeout.min(Duration::from_secs(3));
    let (tx, rx) = std::sync::mpsc::channel();
    let lookup_host = host.clone();
    std::thread::spawn(move || {
        use std::net::ToSocketAddrs;
        let addrs = match (lookup_host.as_str(), port).to_socket_addrs() {
            Ok(a) => a.collect::<Vec<_>>(),
            Err(e) => {
                let _ = tx.send(Err(format!("DNS lookup of {lookup_host} failed: {e}")));
                return;
            }
        };
        if addrs.is_empty() {
            let _ = tx.send(Err(format!(
                "DNS lookup of {lookup_host} returned no address"
            )));
            return;
        }
        let mut last = None;
        for a in addrs {
            match std::net::TcpStream::connect_timeout(&a, limit) {
                Ok(_) => {
                    let _ = tx.send(Ok(()));
                    return;
                }
                Err(e) => last = Some((a, e)),
            }
        }
        if let Some((a, e)) = last {
            let _ = tx.send(Err(format!("TCP connect to {a} failed: {e} (Connect)")));
        }
    });
    match rx.recv_timeout(limit + Duration::from_millis(200)) {
        Ok(r) => r.map_err(fail),
        Err(_) => Err(fail(format!(
            "connecting to {host}:{port} timed out (Connect)"
        ))),
    }
}

/// An error and its sources on one line (the SDK nests the useful part).
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(url: &str) -> String {
        Endpoint {
            url: url.into(),
            region: "us-east-1".into(),
            timeout: Duration::from_secs(1),
            ca_bundle: None,
        }
        .cache_scope()
    }

    #[test]
    fn cache_scope_is_the_partition_for_aws_endpoints() {
        for url in [
            "https://sts.amazonaws.com",
            "https://sts.eu-west-1.amazonaws.com",
            "https://sts.eu-central-1.amazonaws.com/",
            "https://sts-fips.us-east-1.amazonaws.com",
            "https://sts.us-east-1.amazonaws.com:443",
        ] {
            assert_eq!(scope(url), "partition:aws", "{url}");
        }
        assert_eq!(
            scope("https://sts.cn-north-1.amazonaws.com.cn"),
            "partition:aws-cn"
        );
        assert_eq!(
            scope("https://sts.cn-northwest-1.amazonaws.com.cn"),
            "partition:aws-cn"
        );
        assert_eq!(
            scope("https://sts.us-gov-west-1.amazonaws.com"),
            "partition:aws-us-gov"
        );
        for url in [
            "http://127.0.0.1:4566",
            "http://sts.eu-west-1.amazonaws.com",
            "https://vpce-1.sts.eu-west-1.vpce.amazonaws.com",
            "https://sts.eu-west-1.amazonaws.com.evil.example",
            "https://sts.eu-west-1.amazonaws.com:8443",
        ] {
            assert_eq!(scope(url), format!("url:{url}"), "{url}");
        }
    }

    fn denied(action: &'static str, message: &str) -> StsError {
        StsError {
            action,
            endpoint: "http://127.0.0.1:1".into(),
            kind: StsErrorKind::Service {
                code: "AccessDenied".into(),
                message: message.into(),
            },
            skew_secs: None,
        }
    }

    #[test]
    fn an_explicit_deny_of_get_session_token_names_the_force_mfa_statement() {
        let e = denied(
            "GetSessionToken",
            "User: arn:aws:iam::111111111111:user/alice is not authorized to perform: sts:GetSessionToken with an explicit deny in an identity-based policy",
        );
        let hint = e.hint().unwrap();
        for needle in [
            "BlockMostAccessUnlessSignedInWithMFA",
            "\"sts:GetSessionToken\" in its NotAction",
        ] {
            assert!(hint.contains(needle), "{hint}");
        }
        // Without "explicit deny" it is the plain policy hint.
        let e = denied(
            "GetSessionToken",
            "User: arn:aws:iam::111111111111:user/alice is not authorized to perform: sts:GetSessionToken",
        );
        assert!(!e.hint().unwrap().contains("NotAction"));
        // After MFA, an explicit deny is not the force-MFA statement's.
        let e = denied(
            "AssumeRole",
            "User: x is not authorized to perform: sts:AssumeRole on resource: y with an explicit deny in an identity-based policy",
        );
        let hint = e.hint().unwrap();
        assert!(
            hint.contains("find the Deny statement") && hint.contains("sts:AssumeRole"),
            "{hint}"
        );
    }
}
