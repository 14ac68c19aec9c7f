//! AssumeRole: MFA requirements, policies, durations, role chaining and
//! parameter validation.

use crate::util::*;
use sts_emulator::{Emulator, Role, User, World};

const MSG_CHAIN: &str = "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.";
const MSG_MAX: &str =
    "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.";

fn denied(caller: &str, role: &str) -> String {
    format!("User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role}")
}

const ALICE_ARN: &str = "arn:aws:iam::111111111111:user/alice";

#[tokio::test]
async fn flagship_mfa_session_then_role_then_caller_identity() {
    let emu = Emulator::start(World::demo()).unwrap();
    let session = mfa_session(&emu).await;
    let before = emu.now().timestamp();
    let out = session_client(&emu, &session)
        .assume_role()
        .role_arn(PROD)
        .role_session_name("alice")
        .send()
        .await
        .unwrap();
    let user = out.assumed_role_user().unwrap();
    assert_eq!(
        user.arn(),
        "arn:aws:sts::222222222222:assumed-role/PowerUser/alice"
    );
    assert!(user.assumed_role_id().starts_with("AROA"));
    assert!(user.assumed_role_id().ends_with(":alice"));
    let creds = out.credentials().unwrap();
    assert!(creds.access_key_id().starts_with("ASIA"));
    let exp = creds.expiration().secs();
    assert!(
        (before + 3600..=before + 3602).contains(&exp),
        "default duration is 1 h"
    );
    let id = session_client(&emu, creds)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(
        id.arn(),
        Some("arn:aws:sts::222222222222:assumed-role/PowerUser/alice")
    );
    assert_eq!(id.account(), Some("222222222222"));
    assert_eq!(id.user_id(), Some(user.assumed_role_id()));
    assert_eq!(emu.count("AssumeRole"), 1);
    let rec = emu
        .requests()
        .into_iter()
        .find(|r| r.action == "AssumeRole")
        .unwrap();
    assert_eq!(rec.role_arn.as_deref(), Some(PROD));
    assert!(!rec.token_code_sent);
}

#[tokio::test]
async fn staging_works_with_the_same_session() {
    let emu = Emulator::start(World::demo()).unwrap();
    let session = mfa_session(&emu).await;
    let c = session_client(&emu, &session);
    for role in [PROD, STAGING] {
        c.assume_role()
            .role_arn(role)
            .role_session_name("alice")
            .send()
            .await
            .unwrap();
    }
    assert_eq!(emu.count("GetSessionToken"), 1);
    assert_eq!(emu.count("AssumeRole"), 2);
}

#[tokio::test]
async fn session_without_mfa_is_denied() {
    let emu = Emulator::start(World::demo()).unwrap();
    let creds = alice(&emu)
        .get_session_token()
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    let e = session_client(&emu, &creds)
        .assume_role()
        .role_arn(PROD)
        .role_session_name("alice")
        .send()
        .await
        .unwrap_err();
    let (status, c, message) = err(e);
    assert_eq!((status, c.as_str()), (403, "AccessDenied"));
    assert_eq!(message, denied(ALICE_ARN, PROD));
}

#[tokio::test]
async fn long_term_keys_without_mfa_are_denied() {
    let emu = Emulator::start(World::demo()).unwrap();
    let e = alice(&emu)
        .assume_role()
        .role_arn(PROD)
        .role_session_name("alice")
        .send()
        .await
        .unwrap_err();
    let (status, c, message) = err(e);
    assert_eq!(
        (status, c.as_str(), message),
        (403, "AccessDenied", denied(ALICE_ARN, PROD))
    );
}

#[tokio::test]
async fn long_term_keys_with_mfa_code_are_allowed_and_the_code_is_consumed() {
    let emu = Emulator::start(World::demo()).unwrap();
    settle(&emu);
    let call = |code: String| {
        alice(&emu)
            .assume_role()
            .role_arn(PROD)
            .role_session_name("alice")
            .duration_seconds(43_200)
            .serial_number(ALICE_SERIAL)
            .token_code(code)
            .send()
    };
    let now = emu.now().timestamp();
    let out = call(code(&emu, 0)).await.unwrap();
    // Not chained, so the role's 12 h maximum applies.
    let exp = out.credentials().unwrap().expiration().secs();
    assert!((now + 43_200..=now + 43_202).contains(&exp));
    let (status, c, _) = err(call(code(&emu, 0)).await.unwrap_err());
    assert_eq!((status, c.as_str()), (403, "AccessDenied"));
    assert!(emu
        .requests()
        .iter()
        .filter(|r| r.action == "AssumeRole")
        .all(|r| r.token_code_sent));
}

#[tokio::test]
async fn wrong_code_with_long_term_keys_is_mfa_failure() {
    let emu = Emulator::start(World::demo()).unwrap();
    settle(&emu);
    let e = alice(&emu)
        .assume_role()
        .role_arn(PROD)
        .role_session_name("alice")
        .serial_number(ALICE_SERIAL)
        .token_code(code(&emu, 3))
        .send()
        .await
        .unwrap_err();
    let (_, c, message) = err(e);
    assert_eq!(c, "AccessDenied");
    assert!(
        message.starts_with("MultiFactorAuthentication failed"),
        "{message}"
    );
}

#[tokio::test]
async fn role_chaining_is_capped_at_one_hour() {
    let emu = Emulator::start(World::demo()).unwrap();
    let session = mfa_session(&emu).await;
    let c = session_client(&emu, &session);
    let e = c
        .assume_role()
        .role_arn(PROD)
        .role_session_name("alice")
        .duration_seconds(3601)
        .send()
        .await
        .unwrap_err();
    let (status, code_, message) = err(e);
    assert_eq!(
        (status, code_.as_str(), message.as_str()),
        (400, "ValidationError", MSG_CHAIN)
    );
    c.assume_role()
        .role_arn(PROD)
        .role_session_name("alice")
        .duration_seconds(3600)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn max_session_duration_of_the_role_applies() {
    let emu = Emulator::start(World::demo()).unwrap();
    settle(&emu);
    let e = alice(&emu)
        .assume_role()
        .role_arn(AUDITOR)
        .role_session_name("alice")
        .external_id("audit-42")
        .duration_seconds(7200)
        .serial_number(ALICE_SERIAL)
        .token_code(code(&emu, 0))
        .send()
        .await
        .unwrap_err();
    let (status, c, message) = err(e);
    assert_eq!(
        (status, c.as_str(), message.as_str()),
        (400, "ValidationError", MSG_MAX)
    );
    // The refused call did not consume the code.
    alice(&emu)
        .assume_role()
        .role_arn(AUDITOR)
        .role_session_name("alice")
        .external_id("audit-42")
        .serial_number(ALICE_SERIAL)
        .token_code(code(&emu, 0))
        .send()
        .await
        .unwrap();
    // Out of the API's range entirely.
    let e = alice(&emu)
        .assume_role()
        .role_arn(PROD)
        .role_session_name("alice")
        .duration_seconds(43_201)
        .send()
        .await
        .unwrap_err();
    let (_, _, message) = err(e);
    assert!(
        message.ends_with("Member must have value less than or equal to 43200"),
        "{message}"
    );
    let e = alice(&emu)
        .assume_role()
        .role_arn(PROD)
        .role_session_name("alice")
        .duration_seconds(899)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err(e).1, "ValidationError");
}

#[tokio::test]
async fn untrusting_and_missing_roles_are_denied() {
    let emu = Emulator::start(World::demo()).unwrap();
    let session = mfa_session(&emu).await;
    let c = session_client(&emu, &session);
    let missing = "arn:aws:iam::222222222222:role/DoesNotExist";
    for role in [UNTRUSTING, missing] {
        let e = c
            .assume_role()
            .role_arn(role)
            .role_session_name("alice")
            .send()
            .await
            .unwrap_err();
        let (status, code_, message) = err(e);
        assert_eq!(
            (status, code_.as_str(), message),
            (403, "AccessDenied", denied(ALICE_ARN, role))
        );
    }
}

#[tokio::test]
async fn malformed_role_arn_is_a_validation_error() {
    let emu = Emulator::start(World::demo()).unwrap();
    let session = mfa_session(&emu).await;
    let c = session_client(&emu, &session);
    for arn in [
        "PowerUser",
        "arn:aws:iam::2222:role/PowerUser",
        "arn:aws:iam::222222222222:user/PowerUser",
    ] {
        let e = c
            .assume_role()
            .role_arn(arn)
            .role_session_name("alice")
            .send()
            .await
            .unwrap_err();
        let (status, code_, _) = err(e);
        assert_eq!((status, code_.as_str()), (400, "ValidationError"), "{arn}");
    }
}

#[tokio::test]
async fn role_session_name_rules() {
    let emu = Emulator::start(World::demo()).unwrap();
    let session = mfa_session(&emu).await;
    let c = session_client(&emu, &session);
    let long = "a".repeat(65);
    for (name, constraint) in [
        ("a", "Member must have length greater than or equal to 2"),
        (
            long.as_str(),
            "Member must have length less than or equal to 64",
        ),
        (
            "alice smith",
            "Member must satisfy regular expression pattern: [\\w+=,.@-]*",
        ),
        (
            "alice/x",
            "Member must satisfy regular expression pattern: [\\w+=,.@-]*",
        ),
    ] {
        let e = c
            .assume_role()
            .role_arn(PROD)
            .role_session_name(name)
            .send()
            .await
            .unwrap_err();
        let (status, code_, message) = err(e);
        assert_eq!((status, code_.as_str()), (400, "ValidationError"), "{name}");
        assert_eq!(
            message,
            format!("1 validation error detected: Value '{name}' at 'roleSessionName' failed to satisfy constraint: {constraint}")
        );
    }
    let ok = "alice+ops=x,y.z@corp-1_2";
    let out = c
        .assume_role()
        .role_arn(PROD)
        .role_session_name(ok)
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.assumed_role_user().unwrap().arn(),
        format!("arn:aws:sts::222222222222:assumed-role/PowerUser/{ok}")
    );
}

#[test]
fn role_session_name_is_required() {
    let emu = Emulator::start(World::demo()).unwrap();
    let body = format!("Action=AssumeRole&Version=2011-06-15&RoleArn={PROD}");
    let resp = send_raw(
        emu.port(),
        &RawRequest::post(&body, ALICE_KEY, ALICE_SECRET, emu.now()).build(emu.port()),
    );
    assert_eq!(resp.status, 400);
    assert_eq!(
        resp.tag("Message").as_deref(),
        Some("1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null")
    );
}

#[tokio::test]
async fn external_id_required_wrong_and_right() {
    let emu = Emulator::start(World::demo()).unwrap();
    let session = mfa_session(&emu).await;
    let c = session_client(&emu, &session);
    let e = c
        .assume_role()
        .role_arn(AUDITOR)
        .role_session_name("alice")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err(e),
        (403, "AccessDenied".into(), denied(ALICE_ARN, AUDITOR))
    );
    let e = c
        .assume_role()
        .role_arn(AUDITOR)
        .role_session_name("alice")
        .external_id("audit-41")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err(e).1, "AccessDenied");
    let e = c
        .assume_role()
        .role_arn(AUDITOR)
        .role_session_name("alice")
        .external_id("a")
        .send()
        .await
        .unwrap_err();
    let (status, code_, message) = err(e);
    assert_eq!((status, code_.as_str()), (400, "ValidationError"));
    assert!(message.contains("at 'externalId'"), "{message}");
    let e = c
        .assume_role()
        .role_arn(AUDITOR)
        .role_session_name("alice")
        .external_id("audit 42")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err(e).1, "ValidationError");
    c.assume_role()
        .role_arn(AUDITOR)
        .role_session_name("alice")
        .external_id("audit-42")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn bob_without_mfa_device_cannot_reach_mfa_roles() {
    let emu = Emulator::start(World::demo()).unwrap();
    let bob = client(&emu, BOB_KEY, BOB_SECRET, None);
    let creds = bob
        .get_session_token()
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    let e = session_client(&emu, &creds)
        .assume_role()
        .role_arn(PROD)
        .role_session_name("bob")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err(e),
        (
            403,
            "AccessDenied".into(),
            denied("arn:aws:iam::111111111111:user/bob", PROD)
        )
    );
}

fn chaining_world() -> World {
    let allow_all = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:*","Resource":"*"}]}"#;
    let trust_bastion = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"}]}"#;
    let trust_jump = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:role/Jump"},"Action":"sts:AssumeRole"}]}"#;
    World::new()
        .with_user(
            User::new(
                "111111111111",
                "dave",
                "AKIADAVE000000000001",
                "daveSECRET0000000000000000000000000000000",
            )
            .with_policy(allow_all),
        )
        .with_role(
            Role::new("arn:aws:iam::222222222222:role/Jump", trust_bastion)
                .with_max_session_duration(43_200),
        )
        .with_role(
            Role::new("arn:aws:iam::333333333333:role/Target", trust_jump)
                .with_max_session_duration(43_200),
        )
}

#[tokio::test]
async fn role_chaining_through_a_trusted_role() {
    let emu = Emulator::start(chaining_world()).unwrap();
    let dave = client(
        &emu,
        "AKIADAVE000000000001",
        "daveSECRET0000000000000000000000000000000",
        None,
    );
    // Direct from long-term keys: allowed (no MFA needed here), up to the role max.
    let jump = dave
        .assume_role()
        .role_arn("arn:aws:iam::222222222222:role/Jump")
        .role_session_name("dave")
        .duration_seconds(43_200)
        .send()
        .await
        .unwrap();
    let jc = session_client(&emu, jump.credentials().unwrap());
    // Dave himself is not trusted by Target.
    let e = dave
        .assume_role()
        .role_arn("arn:aws:iam::333333333333:role/Target")
        .role_session_name("dave")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err(e).1, "AccessDenied");
    // Chained: trusted via the role ARN, capped at 1 h.
    let e = jc
        .assume_role()
        .role_arn("arn:aws:iam::333333333333:role/Target")
        .role_session_name("hop")
        .duration_seconds(7200)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err(e).2, MSG_CHAIN);
    let out = jc
        .assume_role()
        .role_arn("arn:aws:iam::333333333333:role/Target")
        .role_session_name("hop")
        .send()
        .await
        .unwrap();
    let id = session_client(&emu, out.credentials().unwrap())
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(
        id.arn(),
        Some("arn:aws:sts::333333333333:assumed-role/Target/hop")
    );
    // The assumed-role caller appears by its session ARN in denials.
    let e = jc
        .assume_role()
        .role_arn("arn:aws:iam::222222222222:role/Jump")
        .role_session_name("again")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err(e).2,
        denied(
            "arn:aws:sts::222222222222:assumed-role/Jump/dave",
            "arn:aws:iam::222222222222:role/Jump"
        )
    );
}

#[tokio::test]
async fn explicit_deny_wins() {
    let allow = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:*","Resource":"*"}]}"#;
    let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sts:AssumeRole","Resource":"arn:aws:iam::222222222222:role/*"}]}"#;
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;
    let world = World::new()
        .with_user(
            User::new(
                "111111111111",
                "erin",
                "AKIAERIN000000000001",
                "erinSECRET0000000000000000000000000000000",
            )
            .with_policy(allow)
            .with_policy(deny),
        )
        .with_role(Role::new("arn:aws:iam::222222222222:role/R", trust))
        .with_role(Role::new("arn:aws:iam::333333333333:role/R", trust));
    let emu = Emulator::start(world).unwrap();
    let c = client(
        &emu,
        "AKIAERIN000000000001",
        "erinSECRET0000000000000000000000000000000",
        None,
    );
    let e = c
        .assume_role()
        .role_arn("arn:aws:iam::222222222222:role/R")
        .role_session_name("erin")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err(e).1, "AccessDenied");
    c.assume_role()
        .role_arn("arn:aws:iam::333333333333:role/R")
        .role_session_name("erin")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn assumed_role_credentials_expire() {
    let emu = Emulator::start(World::demo()).unwrap();
    let session = mfa_session(&emu).await;
    let out = session_client(&emu, &session)
        .assume_role()
        .role_arn(PROD)
        .role_session_name("alice")
        .duration_seconds(900)
        .send()
        .await
        .unwrap();
    let rc = session_client(&emu, out.credentials().unwrap());
    // Move in two hops so the SDK (which corrects its signing clock from the
    // Date header) stays inside the 15-minute signature window.
    emu.advance(std::time::Duration::from_secs(600));
    rc.get_caller_identity().send().await.unwrap();
    emu.advance(std::time::Duration::from_secs(301 + 40));
    let (status, c, _) = err(rc.get_caller_identity().send().await.unwrap_err());
    assert!(c == "ExpiredToken" && status == 400, "{c}");
}
