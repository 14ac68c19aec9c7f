//! STS answers are checked before anything is cached, written or printed.
//!
//! mfacli puts what STS returns into shell code (`env`), INI files
//! (`--write-profile`), JSON and its cache. A rogue or intercepted endpoint
//! could otherwise smuggle a newline and a `[default] credential_process =
//! …` section into `~/.aws/credentials`, or a quote into an `eval`. So a
//! response is malformed unless every value has AWS's shape:
//! - `AccessKeyId`: `[A-Z0-9]{16,128}` (AWS documents 16-128 characters);
//! - `SecretAccessKey` and `SessionToken`: only the base64 alphabet
//!   (`A-Z a-z 0-9 + / =`), 16 bytes to 128 bytes (secret) or 16 KiB (token);
//! - `Expiration`: a real instant (the SDK parsed the ISO 8601 text).
//!
//! The reason given never quotes a value: it could be a secret.

use chrono::{DateTime, Utc};

use crate::secret::{Secret, TemporaryCredentials};
use crate::sts::{StsError, StsErrorKind};

/// Longest secret access key accepted (AWS's are 40 characters).
pub(crate) const MAX_SECRET_LEN: usize = 128;
/// Longest session token accepted (AWS's are a few hundred to ~2 KB).
pub(crate) const MAX_TOKEN_LEN: usize = 16 * 1024;
/// Shortest value accepted for each field.
pub(crate) const MIN_LEN: usize = 16;
/// Longest access key id accepted.
pub(crate) const MAX_KEY_ID_LEN: usize = 128;

fn is_base64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')
}

/// Checks the three strings and the expiration (Unix seconds and
/// nanoseconds, as the SDK's `DateTime` holds them). `Err` says which
/// field is wrong and how, never its value.
pub(crate) fn check(
    access_key_id: &str,
    secret_access_key: &str,
    session_token: &str,
    expiration_secs: i64,
    expiration_nanos: u32,
) -> Result<DateTime<Utc>, String> {
    let id = access_key_id.as_bytes();
    if !(MIN_LEN..=MAX_KEY_ID_LEN).contains(&id.len()) {
        return Err(format!(
            "AccessKeyId has {} characters (expected {MIN_LEN}-{MAX_KEY_ID_LEN})",
            id.len()
        ));
    }
    if !id
        .iter()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Err("AccessKeyId has characters other than A-Z and 0-9".into());
    }
    for (name, value, max) in [
        ("SecretAccessKey", secret_access_key, MAX_SECRET_LEN),
        ("SessionToken", session_token, MAX_TOKEN_LEN),
    ] {
        if !(MIN_LEN..=max).contains(&value.len()) {
            return Err(format!(
                "{name} has {} bytes (expected {MIN_LEN}-{max})",
                value.len()
            ));
        }
        if !value.bytes().all(is_base64) {
            return Err(format!(
                "{name} has characters outside the base64 alphabet (A-Z a-z 0-9 + / =)"
            ));
        }
    }
    DateTime::<Utc>::from_timestamp(expiration_secs, expiration_nanos)
        // Whole seconds, as AWS reports them and mfacli prints them.
        .and_then(|t| DateTime::<Utc>::from_timestamp(t.timestamp(), 0))
        .ok_or_else(|| "Expiration is not a valid time".to_owned())
}

/// The SDK's credentials as mfacli's, or "malformed response from STS at
/// <endpoint>" saying which field is wrong.
pub(crate) fn to_credentials(
    action: &'static str,
    endpoint: &str,
    c: aws_sdk_sts::types::Credentials,
) -> Result<TemporaryCredentials, StsError> {
    let expiration = check(
        &c.access_key_id,
        &c.secret_access_key,
        &c.session_token,
        c.expiration.secs(),
        c.expiration.subsec_nanos(),
    )
    .map_err(|why| StsError {
        action,
        endpoint: endpoint.to_owned(),
        kind: StsErrorKind::Other(format!(
            "malformed response from STS at {endpoint}: {why}; nothing was cached or written (is the endpoint really STS?)"
        )),
        skew_secs: None,
    })?;
    Ok(TemporaryCredentials {
        access_key_id: c.access_key_id,
        secret_access_key: Secret::new(c.secret_access_key),
        session_token: Secret::new(c.session_token),
        expiration,
    })
}

/// The invariants the fuzz target (`fuzz/fuzz_targets/sts_response.rs`)
/// and its regression replay (`tests/integration/fuzz_regressions.rs`)
/// assert, shared so both check exactly the same thing. `data` is split on
/// NUL into key id, secret, token and the expiration's seconds. Panics on a
/// violated invariant.
#[doc(hidden)]
pub fn fuzz_check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\0');
    let id = parts.next().unwrap_or("");
    let secret = parts.next().unwrap_or("");
    let token = parts.next().unwrap_or("");
    let secs: i64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    match check(id, secret, token, secs, 0) {
        Ok(t) => {
            assert_eq!(t.timestamp(), secs);
            assert!((MIN_LEN..=MAX_KEY_ID_LEN).contains(&id.len()));
            assert!(id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
            for (v, max) in [(secret, MAX_SECRET_LEN), (token, MAX_TOKEN_LEN)] {
                assert!((MIN_LEN..=max).contains(&v.len()));
                assert!(v
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)));
            }
            // What passed is safe in every place mfacli puts it: no line
            // break, control character, quote or space.
            for v in [id, secret, token] {
                assert!(!v.chars().any(|c| c.is_control()
                    || c.is_whitespace()
                    || "'\"`$\\;[]".contains(c)
                    || crate::output::POWERSHELL_SINGLE_QUOTES.contains(&c)));
            }
        }
        Err(why) => {
            // The reason is one of a few fixed sentences about a field,
            // with numbers only: it can never carry the value. (Checking
            // `!why.contains(value)` is not enough: a value may happen to
            // be a piece of the fixed text, as the fuzzer found.)
            let mut shape = String::new();
            for c in why.chars() {
                if c.is_ascii_digit() {
                    if !shape.ends_with('N') {
                        shape.push('N');
                    }
                } else {
                    shape.push(c);
                }
            }
            let allowed = [
                "AccessKeyId has N characters (expected N-N)".to_owned(),
                "AccessKeyId has characters other than A-Z and N-N".to_owned(),
                "Expiration is not a valid time".to_owned(),
            ]
            .into_iter()
            .chain(["SecretAccessKey", "SessionToken"].iter().flat_map(|f| {
                [
                    format!("{f} has N bytes (expected N-N)"),
                    format!("{f} has characters outside the baseN alphabet (A-Z a-z N-N + / =)"),
                ]
            }))
            .any(|t| t == shape);
            assert!(allowed, "unexpected reason: {why}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "ASIAABCDEFGHIJKLMNOP";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLE+/=0123456789abcdef";

    #[test]
    fn accepts_aws_shaped_values() {
        let t = check(ID, SECRET, TOKEN, 1_800_000_000, 0).unwrap();
        assert_eq!(t.timestamp(), 1_800_000_000);
        // Session tokens grow with session policies and tags: AWS's reach
        // a few KB, and 16 KiB is the bound (a mutant bound of 1 040 lived).
        for len in [2_048, 8_192, 16 * 1024] {
            let long = "A".repeat(len);
            assert!(check(ID, SECRET, &long, 0, 0).is_ok(), "{len}");
        }
    }

    /// Only the alphabet check stops these: each value keeps its valid
    /// length and every other character, with one control or line-break
    /// character put inside (where a rogue STS would smuggle a new line
    /// into `~/.aws/credentials` or an `eval`).
    #[test]
    fn a_line_break_or_control_inside_an_otherwise_valid_value_is_refused() {
        let breaks = [
            '\n', '\r', '\u{b}', '\u{c}', '\t', '\0', '\u{1b}', '\u{7f}', '\u{85}', '\u{2028}',
            '\u{2029}',
        ];
        let inside = |v: &str, c: char| format!("{}{c}{}", &v[..8], &v[8..]);
        for c in breaks {
            let e = check(&inside(ID, c), SECRET, TOKEN, 0, 0).unwrap_err();
            assert!(e.starts_with("AccessKeyId has characters"), "{c:?}: {e}");
            let e = check(ID, &inside(SECRET, c), TOKEN, 0, 0).unwrap_err();
            assert!(
                e.starts_with("SecretAccessKey has characters"),
                "{c:?}: {e}"
            );
            let e = check(ID, SECRET, &inside(TOKEN, c), 0, 0).unwrap_err();
            assert!(e.starts_with("SessionToken has characters"), "{c:?}: {e}");
            // A CR LF pair and a break at either end too.
            for token in [
                format!("{}\r\n{}", &TOKEN[..8], &TOKEN[8..]),
                format!("{TOKEN}{c}"),
                format!("{c}{TOKEN}"),
            ] {
                assert!(check(ID, SECRET, &token, 0, 0).is_err(), "{token:?}");
            }
        }
    }

    #[test]
    fn refuses_each_malformed_field_without_quoting_it() {
        let injected = "tok\n[default]\ncredential_process = sh -c 'touch /tmp/pwned'";
        for (id, secret, token, secs, field) in [
            ("asiaabcdefghijklmnop", SECRET, TOKEN, 0, "AccessKeyId"),
            ("ASIA", SECRET, TOKEN, 0, "AccessKeyId"),
            ("ASIAABCDEFGHIJKLMNOP\n", SECRET, TOKEN, 0, "AccessKeyId"),
            (ID, "short", TOKEN, 0, "SecretAccessKey"),
            (
                ID,
                "wJalrXUtnFEMI’K7MDENG/bPxRfiCYEXAMPLEKEY",
                TOKEN,
                0,
                "SecretAccessKey",
            ),
            (ID, SECRET, injected, 0, "SessionToken"),
            (ID, SECRET, "IQoJb3JpZ2luX2VjEXAMPLE 'x'", 0, "SessionToken"),
            (
                ID,
                SECRET,
                &"A".repeat(MAX_TOKEN_LEN + 1),
                0,
                "SessionToken",
            ),
            (ID, SECRET, TOKEN, i64::MAX, "Expiration"),
        ] {
            let e = check(id, secret, token, secs, 0).unwrap_err();
            assert!(e.starts_with(field), "{field}: {e}");
            assert!(!e.contains("pwned") && !e.contains("EXAMPLE"), "{e}");
        }
    }
}
