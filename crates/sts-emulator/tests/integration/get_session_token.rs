//! GetSessionToken: MFA codes (window, replay, wrong device), durations and
//! who may call it.

use crate::util::*;
use sts_emulator::{Emulator, World};

async fn gst(
    emu: &Emulator,
    serial: &str,
    code: String,
) -> Result<aws_sdk_sts::types::Credentials, (u16, String, String)> {
    alice(emu)
        .get_session_token()
        .serial_number(serial)
        .token_code(code)
        .send()
        .await
        .map(|o| o.credentials.unwrap())
        .map_err(err)
}

const MFA_FAILED: &str = "MultiFactorAuthentication failed with invalid MFA one time pass code. ";

#[tokio::test]
async fn valid_code_gives_credentials_with_default_12h_expiry() {
    let emu = Emulator::start(World::demo()).unwrap();
    settle(&emu);
    let before = emu.now();
    let creds = gst(&emu, ALICE_SERIAL, code(&emu, 0)).await.unwrap();
    assert!(creds.access_key_id().starts_with("ASIA"));
    assert_eq!(creds.access_key_id().len(), 20);
    assert!(creds.access_key_id()[4..]
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
    assert_eq!(creds.secret_access_key().len(), 40);
    assert!(creds.session_token().len() > 100);
    let expires = creds.expiration().secs();
    let expected = before.timestamp() + 43_200;
    assert!(
        (expected..=expected + 2).contains(&expires),
        "{expires} vs {expected}"
    );
    // Session credentials identify as the IAM user.
    let id = session_client(&emu, &creds)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(id.arn(), Some("arn:aws:iam::111111111111:user/alice"));
    assert!(id.user_id().unwrap().starts_with("AIDA"));
    let rec = emu
        .requests()
        .into_iter()
        .find(|r| r.action == "GetSessionToken")
        .unwrap();
    assert!(rec.token_code_sent);
    assert_eq!(rec.serial_number.as_deref(), Some(ALICE_SERIAL));
    assert!(!format!("{rec:?}").contains(&code(&emu, 0)));
}

#[tokio::test]
async fn credentials_are_random_per_call() {
    let emu = Emulator::start(World::demo()).unwrap();
    let a = alice(&emu)
        .get_session_token()
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    let b = alice(&emu)
        .get_session_token()
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    assert_ne!(a.access_key_id(), b.access_key_id());
    assert_ne!(a.secret_access_key(), b.secret_access_key());
    assert_ne!(a.session_token(), b.session_token());
}

#[tokio::test]
async fn wrong_code_is_refused() {
    let emu = Emulator::start(World::demo()).unwrap();
    settle(&emu);
    let good = code(&emu, 0);
    let bad = format!("{:06}", (good.parse::<u32>().unwrap() + 1) % 1_000_000);
    let (status, code_, message) = gst(&emu, ALICE_SERIAL, bad).await.unwrap_err();
    assert_eq!(
        (status, code_.as_str(), message.as_str()),
        (403, "AccessDenied", MFA_FAILED)
    );
}

#[tokio::test]
async fn wrong_serial_is_refused() {
    let emu = Emulator::start(World::demo()).unwrap();
    settle(&emu);
    let (status, c, message) = gst(&emu, "arn:aws:iam::111111111111:mfa/bob", code(&emu, 0))
        .await
        .unwrap_err();
    assert_eq!(
        (status, c.as_str(), message.as_str()),
        (
            403,
            "AccessDenied",
            "MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA serial number is valid and associated with this user."
        )
    );
    // The code was not consumed by the failed attempt.
    gst(&emu, ALICE_SERIAL, code(&emu, 0)).await.unwrap();
}

#[tokio::test]
async fn reused_code_is_refused() {
    let emu = Emulator::start(World::demo()).unwrap();
    settle(&emu);
    gst(&emu, ALICE_SERIAL, code(&emu, 0)).await.unwrap();
    let (status, c, _) = gst(&emu, ALICE_SERIAL, code(&emu, 0)).await.unwrap_err();
    assert_eq!((status, c.as_str()), (403, "AccessDenied"));
    // The next step's code is a different, unused code.
    gst(&emu, ALICE_SERIAL, code(&emu, 1)).await.unwrap();
    assert_eq!(emu.count("GetSessionToken"), 2);
    assert_eq!(emu.count_all("GetSessionToken"), 3);
}

#[tokio::test]
async fn previous_and_next_step_codes_are_accepted() {
    let emu = Emulator::start(World::demo()).unwrap();
    settle(&emu);
    gst(&emu, ALICE_SERIAL, code(&emu, -1)).await.unwrap();
    gst(&emu, ALICE_SERIAL, code(&emu, 1)).await.unwrap();
}

#[tokio::test]
async fn codes_two_steps_away_are_refused() {
    let emu = Emulator::start(World::demo()).unwrap();
    settle(&emu);
    for steps in [-2, 2] {
        let (status, c, _) = gst(&emu, ALICE_SERIAL, code(&emu, steps))
            .await
            .unwrap_err();
        assert_eq!((status, c.as_str()), (403, "AccessDenied"), "steps {steps}");
    }
}

#[tokio::test]
async fn codes_follow_the_emulator_clock() {
    let emu = Emulator::start(World::demo()).unwrap();
    // Ten minutes ahead: inside the signature window, 20 TOTP steps away.
    emu.set_offset_secs(600);
    settle(&emu);
    let (_, c, _) = gst(&emu, ALICE_SERIAL, code_at(chrono::Utc::now()))
        .await
        .unwrap_err();
    assert_eq!(c, "AccessDenied");
    gst(&emu, ALICE_SERIAL, code(&emu, 0)).await.unwrap();
}

#[tokio::test]
async fn token_code_format_is_validated() {
    let emu = Emulator::start(World::demo()).unwrap();
    let (status, c, message) = gst(&emu, ALICE_SERIAL, "12345".into()).await.unwrap_err();
    assert_eq!((status, c.as_str()), (400, "ValidationError"));
    assert_eq!(
        message,
        "1 validation error detected: Value '12345' at 'tokenCode' failed to satisfy constraint: Member must have length greater than or equal to 6"
    );
    let (_, c, message) = gst(&emu, ALICE_SERIAL, "12a456".into()).await.unwrap_err();
    assert_eq!(c, "ValidationError");
    assert!(
        message.ends_with("Member must satisfy regular expression pattern: [\\d]*"),
        "{message}"
    );
}

#[tokio::test]
async fn duration_limits() {
    let emu = Emulator::start(World::demo()).unwrap();
    for (d, expected) in [
        (899, "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"),
        (129_601, "1 validation error detected: Value '129601' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 129600"),
    ] {
        let e = alice(&emu).get_session_token().duration_seconds(d).send().await.unwrap_err();
        let (status, c, message) = err(e);
        assert_eq!((status, c.as_str(), message.as_str()), (400, "ValidationError", expected));
    }
    for d in [900, 129_600] {
        let now = emu.now().timestamp();
        let creds = alice(&emu)
            .get_session_token()
            .duration_seconds(d)
            .send()
            .await
            .unwrap()
            .credentials
            .unwrap();
        let exp = creds.expiration().secs();
        assert!((now + i64::from(d)..=now + i64::from(d) + 2).contains(&exp));
    }
    assert_eq!(
        emu.requests().last().unwrap().duration_seconds,
        Some(129_600)
    );
}

#[tokio::test]
async fn session_credentials_cannot_call_get_session_token() {
    let emu = Emulator::start(World::demo()).unwrap();
    let creds = alice(&emu)
        .get_session_token()
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    let e = session_client(&emu, &creds)
        .get_session_token()
        .send()
        .await
        .unwrap_err();
    let (status, c, message) = err(e);
    assert_eq!((status, c.as_str()), (403, "AccessDenied"));
    assert_eq!(
        message,
        "Cannot call GetSessionToken with session credentials"
    );
}

#[tokio::test]
async fn user_without_device_cannot_use_mfa_but_can_get_plain_session() {
    let emu = Emulator::start(World::demo()).unwrap();
    settle(&emu);
    let bob = client(&emu, BOB_KEY, BOB_SECRET, None);
    let e = bob
        .get_session_token()
        .serial_number(ALICE_SERIAL)
        .token_code(code(&emu, 0))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err(e).1, "AccessDenied");
    bob.get_session_token().send().await.unwrap();
}

#[tokio::test]
async fn identity_policy_must_allow_get_session_token() {
    let world = World::new().with_user(
        sts_emulator::User::new("111111111111", "carol", "AKIACAROL00000000001", "carolSECRET000000000000000000000000000000").with_policy(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#,
        ),
    );
    let emu = Emulator::start(world).unwrap();
    let c = client(
        &emu,
        "AKIACAROL00000000001",
        "carolSECRET000000000000000000000000000000",
        None,
    );
    let (status, code_, message) = err(c.get_session_token().send().await.unwrap_err());
    assert_eq!((status, code_.as_str()), (403, "AccessDenied"));
    assert_eq!(message, "User: arn:aws:iam::111111111111:user/carol is not authorized to perform: sts:GetSessionToken");
    // GetCallerIdentity needs no permission.
    c.get_caller_identity().send().await.unwrap();
}

// --- Several MFA devices per user (issue 15) -------------------------------

use sts_emulator::demo::ALICE_EXTRA_DEVICES;

async fn gst_dev(
    emu: &Emulator,
    serial: &str,
    seed: &str,
    steps: i64,
) -> Result<aws_sdk_sts::types::Credentials, (u16, String, String)> {
    gst(emu, serial, code_for(emu, seed, steps)).await
}

#[tokio::test]
async fn each_device_accepts_its_own_codes_with_its_own_replay_record() {
    let emu = Emulator::start(World::demo_with_mfa_devices(8)).unwrap();
    settle(&emu);
    // The same step on all eight devices: each accepts its own code once.
    gst_dev(&emu, ALICE_SERIAL, ALICE_SEED, 0).await.unwrap();
    for (serial, seed) in ALICE_EXTRA_DEVICES {
        gst_dev(&emu, serial, seed, 0).await.unwrap();
    }
    assert_eq!(emu.count("GetSessionToken"), 8);
    // Reused on any one device: AWS's exact refusal.
    for (serial, seed) in [(ALICE_SERIAL, ALICE_SEED), ALICE_EXTRA_DEVICES[6]] {
        let e = gst_dev(&emu, serial, seed, 0).await.unwrap_err();
        assert_eq!(
            (e.0, e.1.as_str(), e.2.as_str()),
            (403, "AccessDenied", MFA_FAILED)
        );
    }
    // The adjacent steps are still unused on every device.
    for (serial, seed) in ALICE_EXTRA_DEVICES {
        gst_dev(&emu, serial, seed, -1).await.unwrap();
        gst_dev(&emu, serial, seed, 1).await.unwrap();
    }
    let logged: Vec<_> = emu
        .requests()
        .into_iter()
        .filter_map(|r| r.serial_number)
        .collect();
    assert!(logged.contains(&ALICE_EXTRA_DEVICES[3].0.to_string()));
}

#[tokio::test]
async fn a_code_counts_only_for_the_device_named_by_serial_number() {
    let emu = Emulator::start(World::demo_with_mfa_devices(3)).unwrap();
    settle(&emu);
    let (serial2, seed2) = ALICE_EXTRA_DEVICES[0];
    let (serial3, _) = ALICE_EXTRA_DEVICES[1];
    // Device 2's code sent with device 3's serial (or the first device's).
    for serial in [serial3, ALICE_SERIAL] {
        let e = gst(&emu, serial, code_for(&emu, seed2, 0))
            .await
            .unwrap_err();
        assert_eq!(
            (e.0, e.1.as_str(), e.2.as_str()),
            (403, "AccessDenied", MFA_FAILED)
        );
    }
    // Nothing was consumed by the failures.
    gst_dev(&emu, serial2, seed2, 0).await.unwrap();
    // A device alice does not have (device 4 is not configured here).
    let (serial4, seed4) = ALICE_EXTRA_DEVICES[2];
    let e = gst_dev(&emu, serial4, seed4, 0).await.unwrap_err();
    assert_eq!(e.1, "AccessDenied");
    assert!(
        e.2.starts_with("MultiFactorAuthentication failed, unable to validate MFA code."),
        "{}",
        e.2
    );
}

#[tokio::test]
async fn window_is_the_current_and_adjacent_steps_on_every_device() {
    let emu = Emulator::start(World::demo_with_mfa_devices(2)).unwrap();
    settle(&emu);
    let (serial, seed) = ALICE_EXTRA_DEVICES[0];
    for steps in [-2, 2, 3, -3] {
        let e = gst_dev(&emu, serial, seed, steps).await.unwrap_err();
        assert_eq!(
            (e.0, e.1.as_str(), e.2.as_str()),
            (403, "AccessDenied", MFA_FAILED),
            "steps {steps}"
        );
    }
    for steps in [-1, 0, 1] {
        gst_dev(&emu, serial, seed, steps).await.unwrap();
    }
    // After the clock moves one step, the old "next" is the current step and
    // stays used; the new next step is fresh.
    emu.advance(std::time::Duration::from_secs(30));
    let e = gst_dev(&emu, serial, seed, 0).await.unwrap_err();
    assert_eq!(e.2, MFA_FAILED);
    gst_dev(&emu, serial, seed, 1).await.unwrap();
}

#[tokio::test]
async fn assume_role_with_long_term_keys_takes_any_of_the_users_devices() {
    let emu = Emulator::start(World::demo_with_mfa_devices(4)).unwrap();
    settle(&emu);
    let (serial, seed) = ALICE_EXTRA_DEVICES[2];
    let out = alice(&emu)
        .assume_role()
        .role_arn(PROD)
        .role_session_name("ci")
        .serial_number(serial)
        .token_code(code_for(&emu, seed, 0))
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.assumed_role_user().unwrap().arn(),
        "arn:aws:sts::222222222222:assumed-role/PowerUser/ci"
    );
    // Consumed on that device only.
    let e = gst_dev(&emu, serial, seed, 0).await.unwrap_err();
    assert_eq!(e.2, MFA_FAILED);
    gst_dev(&emu, ALICE_SERIAL, ALICE_SEED, 0).await.unwrap();
}
