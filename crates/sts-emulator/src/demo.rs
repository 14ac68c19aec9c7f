//! The identity of [`World::demo`](crate::World::demo), exported once so that
//! tests (this crate's and mfacli's) stop redeclaring it.
//!
//! Bastion account `111111111111` holds the IAM users; the roles live in the
//! target accounts and trust the bastion account when MFA was used.

/// The bastion account, which holds the IAM users.
pub const BASTION_ACCOUNT: &str = "111111111111";

/// The bastion user (with an MFA device).
pub const ALICE: &str = "alice";
/// `arn:aws:iam::111111111111:user/alice`
pub const ALICE_ARN: &str = "arn:aws:iam::111111111111:user/alice";
pub const ALICE_KEY: &str = "AKIAALICE0EXAMPLE001";
pub const ALICE_SECRET: &str = "aliceSECRETkey0000000000000000EXAMPLE001";
/// Alice's virtual MFA device.
pub const ALICE_SERIAL: &str = "arn:aws:iam::111111111111:mfa/alice";
/// Base32 TOTP seed of [`ALICE_SERIAL`].
pub const ALICE_SEED: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

/// Seven more devices (serial, seed) that [`World::demo_with_mfa_devices`]
/// gives alice after [`ALICE_SERIAL`], for tests of several devices.
///
/// [`World::demo_with_mfa_devices`]: crate::World::demo_with_mfa_devices
pub const ALICE_EXTRA_DEVICES: [(&str, &str); 7] = [
    (
        "arn:aws:iam::111111111111:mfa/alice-2",
        "NVTGCY3MNEWWIZLNN4WWIZLWNFRWKLJS",
    ),
    (
        "arn:aws:iam::111111111111:mfa/alice-3",
        "NVTGCY3MNEWWIZLNN4WWIZLWNFRWKLJT",
    ),
    (
        "arn:aws:iam::111111111111:mfa/alice-4",
        "NVTGCY3MNEWWIZLNN4WWIZLWNFRWKLJU",
    ),
    (
        "arn:aws:iam::111111111111:mfa/alice-5",
        "NVTGCY3MNEWWIZLNN4WWIZLWNFRWKLJV",
    ),
    (
        "arn:aws:iam::111111111111:mfa/alice-6",
        "NVTGCY3MNEWWIZLNN4WWIZLWNFRWKLJW",
    ),
    (
        "arn:aws:iam::111111111111:mfa/alice-7",
        "NVTGCY3MNEWWIZLNN4WWIZLWNFRWKLJX",
    ),
    (
        "arn:aws:iam::111111111111:mfa/alice-8",
        "NVTGCY3MNEWWIZLNN4WWIZLWNFRWKLJY",
    ),
];

/// A second bastion user, without MFA device.
pub const BOB: &str = "bob";
pub const BOB_ARN: &str = "arn:aws:iam::111111111111:user/bob";
pub const BOB_KEY: &str = "AKIABOB00000EXAMPLE2";
pub const BOB_SECRET: &str = "bobSECRETkey00000000000000000000EXAMPLE2";

pub const PROD_ACCOUNT: &str = "222222222222";
pub const STAGING_ACCOUNT: &str = "333333333333";
pub const AUDIT_ACCOUNT: &str = "444444444444";
pub const UNTRUSTING_ACCOUNT: &str = "555555555555";

/// 12 h, MFA required.
pub const PROD_ROLE: &str = "arn:aws:iam::222222222222:role/PowerUser";
/// 12 h, MFA required.
pub const STAGING_ROLE: &str = "arn:aws:iam::333333333333:role/PowerUser";
/// 1 h, MFA and the external id [`AUDITOR_EXTERNAL_ID`] required.
pub const AUDITOR_ROLE: &str = "arn:aws:iam::444444444444:role/Auditor";
pub const AUDITOR_EXTERNAL_ID: &str = "audit-42";
/// Trusts only account 999999999999: every AssumeRole is denied.
pub const UNTRUSTING_ROLE: &str = "arn:aws:iam::555555555555:role/Untrusting";

/// The assumed-role ARN of [`PROD_ROLE`] with session name `session`.
pub fn prod_session_arn(session: &str) -> String {
    format!("arn:aws:sts::{PROD_ACCOUNT}:assumed-role/PowerUser/{session}")
}

/// The code of a base32 `seed` at a Unix time (RFC 6238, SHA-1, 30 s, 6
/// digits), as the emulator computes it; `None` for an invalid seed.
pub fn totp_code(seed: &str, unix_secs: u64) -> Option<String> {
    crate::totp::code_at(seed, unix_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::World;

    #[test]
    fn constants_match_the_demo_world() {
        let w = World::demo_with_mfa_devices(8);
        let alice = &w.users[0];
        assert_eq!(
            (
                alice.name.as_str(),
                alice.account.as_str(),
                alice.arn().as_str()
            ),
            (ALICE, BASTION_ACCOUNT, ALICE_ARN)
        );
        assert_eq!(
            (
                alice.access_key_id.as_str(),
                alice.secret_access_key.as_str()
            ),
            (ALICE_KEY, ALICE_SECRET)
        );
        let devices: Vec<(&str, &str)> = alice
            .devices()
            .map(|d| (d.serial.as_str(), d.seed.as_str()))
            .collect();
        assert_eq!(devices[0], (ALICE_SERIAL, ALICE_SEED));
        assert_eq!(devices[1..], ALICE_EXTRA_DEVICES);
        let bob = &w.users[1];
        assert_eq!(
            (
                bob.name.as_str(),
                bob.arn().as_str(),
                bob.access_key_id.as_str(),
                bob.secret_access_key.as_str()
            ),
            (BOB, BOB_ARN, BOB_KEY, BOB_SECRET)
        );
        let roles: Vec<&str> = w.roles.iter().map(|r| r.arn.as_str()).collect();
        assert_eq!(
            roles,
            [PROD_ROLE, STAGING_ROLE, AUDITOR_ROLE, UNTRUSTING_ROLE]
        );
        assert_eq!(w.roles[0].account(), PROD_ACCOUNT);
        assert_eq!(w.roles[1].account(), STAGING_ACCOUNT);
        assert_eq!(w.roles[2].account(), AUDIT_ACCOUNT);
        assert_eq!(w.roles[3].account(), UNTRUSTING_ACCOUNT);
        assert!(w.roles[2].trust_policy.contains(AUDITOR_EXTERNAL_ID));
        assert_eq!(World::demo_with_mfa_devices(1), World::demo());
    }
}
