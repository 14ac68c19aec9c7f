//! RFC 6238 verification (SHA-1, 30 s steps, 6 digits) as AWS virtual MFA
//! devices use it. AWS accepts the current step and the adjacent ones (one
//! each side, for clock drift). Replay protection lives with the caller,
//! which remembers the steps already consumed per device.

use totp_rs::{Algorithm, Builder, Secret, Totp};

pub(crate) const STEP_SECS: u64 = 30;
/// Steps accepted on each side of the current one.
const WINDOW: u64 = 1;

/// Decode a base32 seed leniently about case, spaces and padding, as
/// authenticator apps are.
pub(crate) fn decode_seed(seed: &str) -> Option<Vec<u8>> {
    let cleaned: String = seed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '=')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if cleaned.is_empty() {
        return None;
    }
    Secret::try_from_base32(&cleaned)
        .ok()
        .map(|s| s.to_vec())
        .filter(|b| !b.is_empty())
}

fn totp(seed: &[u8]) -> Totp {
    // Non-compliant build: accept seeds shorter than the RFC's 128 bits,
    // which some test fixtures use.
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(WINDOW as u16)
        .with_step_duration(STEP_SECS)
        .with_secret(seed.to_vec())
        .build_noncompliant()
}

/// The code for the given Unix time, or `None` for an invalid seed.
pub fn code_at(seed: &str, unix_secs: u64) -> Option<String> {
    Some(totp(&decode_seed(seed)?).generate(unix_secs).to_string())
}

/// The steps in the accepted window (current, previous, next) for which
/// `code` is valid at `unix_secs`; usually none or one.
pub(crate) fn matching_steps(seed: &str, code: &str, unix_secs: u64) -> Vec<u64> {
    let Some(seed) = decode_seed(seed) else {
        return Vec::new();
    };
    let totp = totp(&seed);
    let current = unix_secs / STEP_SECS;
    [
        Some(current),
        current.checked_sub(WINDOW),
        current.checked_add(WINDOW),
    ]
    .into_iter()
    .flatten()
    .filter(|step| ct_eq(&totp.generate(step * STEP_SECS).to_string(), code))
    .collect()
}

fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

    #[test]
    fn rfc6238_vector() {
        // RFC 6238 appendix B, SHA-1, seed "12345678901234567890".
        let seed = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        assert_eq!(code(seed, 59), "287082");
        assert_eq!(code(seed, 1111111109), "081804");
    }

    fn code(seed: &str, t: u64) -> String {
        code_at(seed, t).unwrap()
    }

    #[test]
    fn window_is_one_step_each_side() {
        let t = 1_800_000_000;
        let steps = |at: u64| matching_steps(SEED, &code(SEED, at), t);
        assert_eq!(steps(t), vec![t / 30]);
        assert_eq!(steps(t - 30), vec![t / 30 - 1]);
        assert_eq!(steps(t + 30), vec![t / 30 + 1]);
        assert!(steps(t - 60).is_empty());
        assert!(steps(t + 60).is_empty());
        assert!(matching_steps(SEED, "12345", t).is_empty());
        assert!(matching_steps("not base32!", "123456", t).is_empty());
    }

    #[test]
    fn seeds() {
        assert!(decode_seed("jbsw y3dp ehpk 3pxp").is_some());
        assert!(decode_seed("not base32!").is_none());
        assert!(decode_seed("").is_none());
        assert!(decode_seed("1111").is_none());
    }
}
