//! The only place that talks to IAM: the bastion user's own access keys and
//! MFA devices, always signed with the MFA session. Built on demand by
//! `rotate`, `mfa` and `doctor`; the credential_process cache-hit path never
//! reaches this module.

use std::time::Duration;

use aws_credential_types::Credentials;
use aws_sdk_iam::config::{BehaviorVersion, Region};
use aws_sdk_iam::types::StatusType;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use chrono::{DateTime, Utc};

use crate::error::UserError;
use crate::secret::{LongTermKeys, Secret, TemporaryCredentials};
use crate::sts::{Endpoint, StsClient, StsErrorKind};
use crate::types::Partition;

/// The partition's global IAM endpoint and the region IAM signs for.
pub(crate) fn partition_endpoint(partition: Partition) -> (&'static str, &'static str) {
    match partition {
        Partition::Aws => ("https://iam.amazonaws.com", "us-east-1"),
        Partition::AwsCn => ("https://iam.cn-north-1.amazonaws.com.cn", "cn-north-1"),
        Partition::AwsUsGov => ("https://iam.us-gov.amazonaws.com", "us-gov-west-1"),
    }
}

/// One IAM call that failed.
#[derive(Debug, Clone)]
pub struct IamError {
    pub(crate) action: &'static str,
    pub(crate) endpoint: String,
    pub(crate) kind: StsErrorKind,
}

impl IamError {
    /// The AWS error code (`AccessDenied`, ...), if the failure came from IAM.
    pub fn code(&self) -> Option<&str> {
        match &self.kind {
            StsErrorKind::Service { code, .. } => Some(code),
            _ => None,
        }
    }

    pub(crate) fn hint(&self) -> Option<String> {
        let explicit = matches!(&self.kind, StsErrorKind::Service { message, .. } if message.contains("explicit deny"));
        let h = match self.code() {
            Some("AccessDenied") if explicit => {
                crate::sts::explicit_deny_hint(&format!("iam:{}", self.action))
            }
            Some("AccessDenied") => format!(
                "the bastion user's IAM policy does not allow iam:{} for itself with this MFA session: attach the policy from `mfacli policy bastion --self-manage-mfa`",
                self.action
            ),
            Some("InvalidClientTokenId") => {
                "the MFA session is no longer valid: run `mfacli clear --all` and try again"
                    .to_owned()
            }
            Some("ExpiredToken") => "the MFA session expired: run again to start a new one".to_owned(),
            Some("LimitExceeded") => {
                "IAM allows two access keys per user: delete the one you no longer use (see `mfacli doctor`)".to_owned()
            }
            Some("EntityAlreadyExists") => {
                "an MFA device with this name exists already: choose another NAME".to_owned()
            }
            Some("InvalidAuthenticationCode") => {
                "IAM did not accept the two codes from the new seed: check this machine's clock (NTP) and try again with another NAME".to_owned()
            }
            _ => match &self.kind {
                StsErrorKind::Timeout | StsErrorKind::Unreachable(_) => format!(
                    "cannot reach IAM at {}; check the network or AWS_ENDPOINT_URL_IAM",
                    self.endpoint
                ),
                _ => return None,
            },
        };
        Some(h)
    }
}

impl std::fmt::Display for IamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.kind.describe(f, "IAM", self.action, &self.endpoint)
    }
}

impl std::error::Error for IamError {}

impl From<IamError> for UserError {
    fn from(e: IamError) -> UserError {
        let hint = e.hint();
        let err = UserError::new(e.to_string());
        match hint {
            Some(h) => err.hint(h),
            None => err,
        }
    }
}

/// An access key as ListAccessKeys reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct AccessKeyInfo {
    pub(crate) access_key_id: String,
    pub(crate) active: bool,
    pub(crate) created: Option<DateTime<Utc>>,
}

/// An MFA device of the user.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct MfaDeviceInfo {
    pub serial: String,
    pub(crate) enabled: Option<DateTime<Utc>>,
}

/// A new virtual MFA device: its serial and the base32 seed (shown once).
pub struct NewVirtualDevice {
    /// The device's ARN, used as the MFA serial.
    pub serial: String,
    /// The base32 TOTP seed; IAM returns it only this once.
    pub seed: Secret,
}

/// IAM signed with the MFA session.
pub struct IamClient {
    base: StsClient,
    session: TemporaryCredentials,
}

fn to_utc(t: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::<Utc>::from_timestamp(t.secs(), 0))
}

impl IamClient {
    /// A client signing with the MFA session (IAM self-service calls need MFA).
    pub fn new(endpoint: Endpoint, session: TemporaryCredentials) -> Result<Self, IamError> {
        let url = endpoint.url.clone();
        let base = StsClient::new(endpoint).map_err(|e| IamError {
            action: "setup",
            endpoint: url,
            kind: e.kind,
        })?;
        Ok(Self { base, session })
    }

    pub(crate) fn endpoint(&self) -> &Endpoint {
        self.base.endpoint()
    }

    /// `mutating`: no automatic retry, so a call that reached IAM is never
    /// repeated (a second CreateAccessKey would make a second key).
    fn client(&self, mutating: bool) -> aws_sdk_iam::Client {
        let s = &self.session;
        let creds = Credentials::new(
            s.access_key_id.clone(),
            s.secret_access_key.expose().to_owned(),
            Some(s.session_token.expose().to_owned()),
            None,
            "mfacli-session",
        );
        let e = self.base.endpoint();
        let t = e.timeout;
        let retry = if mutating {
            RetryConfig::disabled()
        } else {
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(200))
                .with_max_backoff(Duration::from_secs(2))
        };
        let config = aws_sdk_iam::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(e.region.clone()))
            .endpoint_url(e.url.clone())
            .credentials_provider(creds)
            .http_client(self.base.http_client())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(t.min(Duration::from_secs(3)))
                    .read_timeout(t)
                    .operation_attempt_timeout(t)
                    .build(),
            )
            .retry_config(retry)
            .build();
        aws_sdk_iam::Client::from_conf(config)
    }

    fn err<E>(
        &self,
        action: &'static str,
        e: aws_sdk_iam::error::SdkError<
            E,
            aws_smithy_runtime_api::client::orchestrator::HttpResponse,
        >,
    ) -> IamError
    where
        E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        let mapped = self.base.map_err(action, e);
        IamError {
            action,
            endpoint: mapped.endpoint,
            kind: mapped.kind,
        }
    }

    pub(crate) fn list_access_keys(&self) -> Result<Vec<AccessKeyInfo>, IamError> {
        let out = self
            .base
            .block_on(self.client(false).list_access_keys().send())
            .map_err(|e| self.err("ListAccessKeys", e))?;
        Ok(out
            .access_key_metadata
            .iter()
            .map(|m| AccessKeyInfo {
                // Shown in messages: remote text, never raw.
                access_key_id: crate::error::remote_text(
                    m.access_key_id.as_deref().unwrap_or_default(),
                ),
                active: m.status == Some(StatusType::Active),
                created: to_utc(m.create_date.as_ref()),
            })
            .collect())
    }

    /// CreateAccessKey for the caller: the new keys and their creation time.
    pub fn create_access_key(&self) -> Result<(LongTermKeys, Option<DateTime<Utc>>), IamError> {
        let out = self
            .base
            .block_on(self.client(true).create_access_key().send())
            .map_err(|e| self.err("CreateAccessKey", e))?;
        let k = out.access_key.ok_or_else(|| IamError {
            action: "CreateAccessKey",
            endpoint: self.endpoint().url.clone(),
            kind: StsErrorKind::Other("the response had no access key".into()),
        })?;
        let created = to_utc(k.create_date.as_ref());
        Ok((
            LongTermKeys {
                access_key_id: k.access_key_id,
                secret_access_key: Secret::new(k.secret_access_key),
            },
            created,
        ))
    }

    pub(crate) fn set_access_key_active(&self, id: &str, active: bool) -> Result<(), IamError> {
        let status = if active {
            StatusType::Active
        } else {
            StatusType::Inactive
        };
        self.base
            .block_on(
                self.client(false)
                    .update_access_key()
                    .access_key_id(id)
                    .status(status)
                    .send(),
            )
            .map_err(|e| self.err("UpdateAccessKey", e))?;
        Ok(())
    }

    /// DeleteAccessKey for the caller (the old key after a rotation).
    pub fn delete_access_key(&self, id: &str) -> Result<(), IamError> {
        self.base
            .block_on(
                self.client(false)
                    .delete_access_key()
                    .access_key_id(id)
                    .send(),
            )
            .map_err(|e| self.err("DeleteAccessKey", e))?;
        Ok(())
    }

    pub(crate) fn list_mfa_devices(&self) -> Result<Vec<MfaDeviceInfo>, IamError> {
        let out = self
            .base
            .block_on(self.client(false).list_mfa_devices().send())
            .map_err(|e| self.err("ListMFADevices", e))?;
        Ok(out
            .mfa_devices
            .iter()
            .map(|d| MfaDeviceInfo {
                serial: crate::error::remote_text(&d.serial_number),
                enabled: DateTime::<Utc>::from_timestamp(d.enable_date.secs(), 0),
            })
            .collect())
    }

    /// CreateVirtualMFADevice named `name`, for `mfa` enrolment.
    pub fn create_virtual_mfa_device(&self, name: &str) -> Result<NewVirtualDevice, IamError> {
        let out = self
            .base
            .block_on(
                self.client(true)
                    .create_virtual_mfa_device()
                    .virtual_mfa_device_name(name)
                    .send(),
            )
            .map_err(|e| self.err("CreateVirtualMFADevice", e))?;
        let bad = |what: &str| IamError {
            action: "CreateVirtualMFADevice",
            endpoint: self.endpoint().url.clone(),
            kind: StsErrorKind::Other(format!("the response had no {what}")),
        };
        let device = out.virtual_mfa_device.ok_or_else(|| bad("device"))?;
        let seed = device
            .base32_string_seed
            .map(|b| b.into_inner())
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| bad("Base32StringSeed"))?;
        Ok(NewVirtualDevice {
            serial: device.serial_number,
            seed: Secret::new(seed),
        })
    }

    /// DeleteVirtualMFADevice: removes a device no user has enabled (the
    /// undo of [`Self::create_virtual_mfa_device`]). Retried: a repeat of a
    /// delete that went through answers NoSuchEntity, taken as done.
    pub fn delete_virtual_mfa_device(&self, serial: &str) -> Result<(), IamError> {
        let sent = self.base.block_on(
            self.client(false)
                .delete_virtual_mfa_device()
                .serial_number(serial)
                .send(),
        );
        match sent.map_err(|e| self.err("DeleteVirtualMFADevice", e)) {
            Err(e) if e.code() == Some("NoSuchEntity") => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// EnableMFADevice with two consecutive codes, binding the device to the user.
    pub fn enable_mfa_device(
        &self,
        user_name: &str,
        serial: &str,
        code1: &str,
        code2: &str,
    ) -> Result<(), IamError> {
        self.base
            .block_on(
                self.client(true)
                    .enable_mfa_device()
                    .user_name(user_name)
                    .serial_number(serial)
                    .authentication_code1(code1)
                    .authentication_code2(code2)
                    .send(),
            )
            .map_err(|e| self.err("EnableMFADevice", e))?;
        Ok(())
    }
}
