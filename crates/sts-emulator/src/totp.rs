//! RFC 6238 verification (SHA-1, 30 s steps, 6 digits) as AWS virtual MFA
//! devices use it. Replay protection lives with the caller, which remembers
//! the steps already consumed per device.

use totp_rs::{Algorithm, Builder, Secret, Totp};

const STEP_SECS: u64 = 30;

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
        .with_skew(1)
        .with_step_duration(STEP_SECS)
        .with_secret(seed.to_vec())
        .build_noncompliant()
}

/// The code for the given Unix time.
#[cfg(test)]
pub(crate) fn code_at(seed: &str, unix_secs: u64) -> String {
    totp(&decode_seed(seed).expect("valid seed"))
        .generate(unix_secs)
        .to_string()
}

/// If `code` is valid for the previous, current or next step at `unix_secs`,
/// the matching step number.
pub(crate) fn verify(seed: &str, code: &str, unix_secs: u64) -> Option<u64> {
    let seed = decode_seed(seed)?;
    totp(&seed).check(code, unix_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

    #[test]
    fn rfc6238_vector() {
        // RFC 6238 appendix B, SHA-1, seed "12345678901234567890".
        let seed = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        assert_eq!(code_at(seed, 59), "287082");
        assert_eq!(code_at(seed, 1111111109), "081804");
    }

    #[test]
    fn window_is_one_step_each_side() {
        let t = 1_800_000_000;
        assert_eq!(verify(SEED, &code_at(SEED, t), t), Some(t / 30));
        assert_eq!(verify(SEED, &code_at(SEED, t - 30), t), Some(t / 30 - 1));
        assert_eq!(verify(SEED, &code_at(SEED, t + 30), t), Some(t / 30 + 1));
        assert_eq!(verify(SEED, &code_at(SEED, t - 60), t), None);
        assert_eq!(verify(SEED, &code_at(SEED, t + 60), t), None);
    }

    #[test]
    fn seeds() {
        assert!(decode_seed("jbsw y3dp ehpk 3pxp").is_some());
        assert!(decode_seed("not base32!").is_none());
        assert!(decode_seed("").is_none());
        assert!(decode_seed("1111").is_none());
    }
}
