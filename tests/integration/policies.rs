//! The policies mfacli generates, enforced by the STS emulator: a world
//! built from `mfacli policy bastion` and `mfacli policy trust` lets MFA
//! sessions in and keeps everything else out.

use crate::util::*;
use mfacli::secret::{LongTermKeys, Secret};
use mfacli::sts::{Endpoint, Signer, StsClient};
use sts_emulator::{Emulator, Role, User, World};

const ROLE: &str = "arn:aws:iam::222222222222:role/PowerUser";

/// A world whose policies are exactly what `mfacli policy` prints; the
/// role itself does not insist on MFA, so only the policies decide.
fn generated_world(trust_args: &[&str]) -> World {
    let bastion = bare_mfacli_stdout(&["policy", "bastion"]);
    let mut args = vec!["policy", "trust", "--bastion-account", "111111111111"];
    args.extend_from_slice(trust_args);
    let trust = bare_mfacli_stdout(&args);
    World::new()
        .with_user(
            User::new("111111111111", "alice", ALICE_KEY, ALICE_SECRET)
                .with_mfa(SERIAL, SEED)
                .with_policy(bastion),
        )
        .with_role(
            Role::new(ROLE, trust)
                .with_max_session_duration(43_200)
                .with_require_mfa(false),
        )
}

fn client(emu: &Emulator) -> StsClient {
    StsClient::new(Endpoint {
        url: emu.endpoint_url(),
        region: "us-east-1".into(),
        timeout: std::time::Duration::from_secs(5),
        ca_bundle: None,
    })
    .unwrap()
}

fn alice() -> LongTermKeys {
    LongTermKeys {
        access_key_id: ALICE_KEY.into(),
        secret_access_key: Secret::new(ALICE_SECRET),
    }
}

fn code(emu: &Emulator, steps: i64) -> mfacli::types::TokenCode {
    let t = emu.now().timestamp() + steps * 30;
    mfacli::mfa::totp::Seed::decode(SEED, "test")
        .unwrap()
        .code_at(t as u64)
}

#[test]
fn generated_policies_admit_mfa_sessions_and_refuse_the_rest() {
    let emu = Emulator::start(generated_world(&[])).unwrap();
    let sts = client(&emu);
    let serial: mfacli::types::MfaSerial = SERIAL.parse().unwrap();
    let role: mfacli::types::RoleArn = ROLE.parse().unwrap();
    let name: mfacli::types::SessionName = "alice".parse().unwrap();
    let hour = mfacli::types::SessionDuration::ONE_HOUR;

    // Without MFA: GetSessionToken works (the policy allows it), but the
    // resulting session cannot assume the role.
    let plain = sts.get_session_token(&alice(), hour, None).unwrap();
    let denied = sts
        .assume_role(Signer::Temporary(&plain), &role, &name, hour, None, None)
        .unwrap_err();
    assert_eq!(denied.code(), Some("AccessDenied"), "{denied}");
    // Nor can the long-term keys alone.
    let denied = sts
        .assume_role(Signer::LongTerm(&alice()), &role, &name, hour, None, None)
        .unwrap_err();
    assert_eq!(denied.code(), Some("AccessDenied"), "{denied}");

    // With MFA: the session assumes the role.
    let mfa = sts
        .get_session_token(&alice(), hour, Some((&serial, &code(&emu, 0))))
        .unwrap();
    let (_, arn) = sts
        .assume_role(Signer::Temporary(&mfa), &role, &name, hour, None, None)
        .unwrap();
    assert_eq!(
        arn.as_deref(),
        Some("arn:aws:sts::222222222222:assumed-role/PowerUser/alice")
    );
}

#[test]
fn generated_external_id_and_mfa_age_are_enforced() {
    let emu = Emulator::start(generated_world(&[
        "--external-id",
        "deploy-7",
        "--max-session",
        "1h",
    ]))
    .unwrap();
    let sts = client(&emu);
    let serial: mfacli::types::MfaSerial = SERIAL.parse().unwrap();
    let role: mfacli::types::RoleArn = ROLE.parse().unwrap();
    let name: mfacli::types::SessionName = "alice".parse().unwrap();
    let hour = mfacli::types::SessionDuration::ONE_HOUR;
    let session = sts
        .get_session_token(
            &alice(),
            mfacli::types::SessionDuration::from_secs(43_200),
            Some((&serial, &code(&emu, 0))),
        )
        .unwrap();
    let wrong: mfacli::types::ExternalId = "deploy-8".parse().unwrap();
    let right: mfacli::types::ExternalId = "deploy-7".parse().unwrap();
    let e = sts
        .assume_role(Signer::Temporary(&session), &role, &name, hour, None, None)
        .unwrap_err();
    assert_eq!(e.code(), Some("AccessDenied"), "no external id");
    let e = sts
        .assume_role(
            Signer::Temporary(&session),
            &role,
            &name,
            hour,
            Some(&wrong),
            None,
        )
        .unwrap_err();
    assert_eq!(e.code(), Some("AccessDenied"), "wrong external id");
    sts.assume_role(
        Signer::Temporary(&session),
        &role,
        &name,
        hour,
        Some(&right),
        None,
    )
    .unwrap();

    // 61 minutes after the MFA authentication, aws:MultiFactorAuthAge < 3600
    // no longer holds. The SDK signs with the local clock, so move it in
    // steps the signature check tolerates (< 15 min) with a call each.
    for _ in 0..6 {
        emu.advance(std::time::Duration::from_secs(610));
        let _ = sts.get_caller_identity(Signer::Temporary(&session));
    }
    let e = sts
        .assume_role(
            Signer::Temporary(&session),
            &role,
            &name,
            hour,
            Some(&right),
            None,
        )
        .unwrap_err();
    assert_eq!(e.code(), Some("AccessDenied"), "MFA too old: {e}");
}
