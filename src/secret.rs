//! Secret strings and credential types: `Debug` never shows a secret, and
//! memory is zeroed on drop.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A string that must not be logged. `Debug`/`Display` print a redaction;
/// use [`Secret::expose`] where the value is really needed.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret so it is redacted in debug output and wiped on drop.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The secret text, for the one place that must send or write it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The bastion IAM user's long-term access key. Never exported or printed.
#[derive(Clone, Debug)]
pub struct LongTermKeys {
    /// The access key id (not secret; it names the key).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: Secret,
}

/// Temporary credentials from GetSessionToken or AssumeRole.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TemporaryCredentials {
    /// The temporary access key id.
    pub access_key_id: String,
    /// The temporary secret access key.
    pub secret_access_key: Secret,
    /// The session token that goes with the temporary keys.
    pub session_token: Secret,
    /// When STS said the credentials stop working.
    pub expiration: DateTime<Utc>,
}

impl TemporaryCredentials {
    /// Seconds left before `expiration`, negative once expired.
    pub fn seconds_left(&self, now: DateTime<Utc>) -> i64 {
        (self.expiration - now).num_seconds()
    }

    /// Usable: more than `margin_secs` left.
    pub fn is_fresh(&self, now: DateTime<Utc>, margin_secs: i64) -> bool {
        self.seconds_left(now) > margin_secs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts() {
        let c = TemporaryCredentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: Secret::new("topsecret"),
            session_token: Secret::new("tokenvalue"),
            expiration: Utc::now(),
        };
        let dbg = format!("{c:?}");
        assert!(
            !dbg.contains("topsecret") && !dbg.contains("tokenvalue"),
            "{dbg}"
        );
        let k = LongTermKeys {
            access_key_id: "AKIA".into(),
            secret_access_key: Secret::new("longterm"),
        };
        assert!(!format!("{k:?}").contains("longterm"));
    }
}
