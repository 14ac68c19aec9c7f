//! Every secret the emulator knows or has handed out, for tests that
//! assert none of them ever appears where it must not (logs, errors,
//! files other than the cache).

use crate::sts::{Identity, State};

/// What kind of secret an [`IssuedSecret`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// A long-term access key's secret (the world's or CreateAccessKey's).
    AccessKeySecret,
    /// A TOTP MFA device's seed.
    MfaSeed,
    /// The secret of temporary credentials from GetSessionToken (an IAM
    /// user's session: the MFA session).
    UserSessionSecret,
    /// The session token of GetSessionToken credentials.
    UserSessionToken,
    /// The secret of AssumeRole credentials.
    RoleSessionSecret,
    /// The session token of AssumeRole credentials.
    RoleSessionToken,
}

/// One secret and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedSecret {
    pub kind: SecretKind,
    pub value: String,
}

impl State {
    pub(crate) fn issued_secrets(&self) -> Vec<IssuedSecret> {
        let mut out = Vec::new();
        let mut push = |kind, value: &str| {
            out.push(IssuedSecret {
                kind,
                value: value.to_owned(),
            })
        };
        for k in &self.keys {
            push(SecretKind::AccessKeySecret, &k.secret);
        }
        for d in &self.devices {
            push(SecretKind::MfaSeed, &d.seed);
        }
        for s in self.sessions.values() {
            let (secret, token) = match s.identity {
                Identity::User(_) => (SecretKind::UserSessionSecret, SecretKind::UserSessionToken),
                Identity::AssumedRole { .. } => {
                    (SecretKind::RoleSessionSecret, SecretKind::RoleSessionToken)
                }
            };
            push(secret, &s.secret);
            push(token, &s.token);
        }
        out
    }
}
