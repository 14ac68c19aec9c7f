//! The console federation endpoint (getSigninToken, login) and the
//! emulator's console page.

use std::time::Duration;

use crate::util::*;
use sts_emulator::{Emulator, World};

const PROD_ALICE: &str = "arn:aws:sts::222222222222:assumed-role/PowerUser/alice";
const INVALID_CREDENTIALS: &str = "Invalid credentials parameter";

fn session_json(c: &aws_sdk_sts::types::Credentials) -> String {
    serde_json::json!({
        "sessionId": c.access_key_id(),
        "sessionKey": c.secret_access_key(),
        "sessionToken": c.session_token(),
    })
    .to_string()
}

fn get_signin_token(emu: &Emulator, session: &str, duration: Option<u32>) -> RawResponse {
    let mut q = format!("/federation?Action=getSigninToken&Session={}", enc(session));
    if let Some(d) = duration {
        q.push_str(&format!("&SessionDuration={d}"));
    }
    get(emu.port(), &q)
}

fn signin_token(resp: &RawResponse) -> String {
    assert_eq!(resp.status, 200, "{}", resp.body);
    let v: serde_json::Value = serde_json::from_str(&resp.body).unwrap();
    v["SigninToken"].as_str().unwrap().to_string()
}

fn login(emu: &Emulator, token: &str) -> RawResponse {
    get(
        emu.port(),
        &format!(
            "/federation?Action=login&Issuer=mfacli&Destination={}&SigninToken={}",
            enc("https://console.aws.amazon.com/s3/home?region=eu-west-1"),
            enc(token)
        ),
    )
}

/// Role credentials the bastion way: MFA session, then AssumeRole (chained).
async fn chained_role(emu: &Emulator) -> aws_sdk_sts::types::Credentials {
    let session = mfa_session(emu).await;
    session_client(emu, &session)
        .assume_role()
        .role_arn(PROD)
        .role_session_name("alice")
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap()
}

#[tokio::test]
async fn sign_in_with_role_credentials_lands_on_the_console_page_once() {
    let emu = Emulator::start(World::demo()).unwrap();
    assert_eq!(
        emu.federation_url(),
        format!("{}/federation", emu.endpoint_url())
    );
    let role = chained_role(&emu).await;
    let resp = get_signin_token(&emu, &session_json(&role), None);
    assert!(resp
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let token = signin_token(&resp);
    assert!(token.len() >= 100);

    let resp = login(&emu, &token);
    assert_eq!(resp.status, 302);
    let location = resp.header("location").unwrap();
    assert!(location.starts_with("/console?session="), "{location}");
    let page = get(emu.port(), &location);
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(
        page.body
            .contains(&format!("<span id=\"arn\">{PROD_ALICE}</span>")),
        "{}",
        page.body
    );
    assert!(page
        .body
        .contains("<span id=\"account\">222222222222</span>"));
    // Chained credentials last 1 h: so does the console session.
    assert!(
        page.body.contains("<span id=\"remaining\">59m</span>")
            || page.body.contains("<span id=\"remaining\">1h 00m</span>"),
        "{}",
        page.body
    );
    assert!(page
        .body
        .contains("https://console.aws.amazon.com/s3/home?region=eu-west-1"));

    // The token works once.
    let again = login(&emu, &token);
    assert_eq!(again.status, 400);
    assert!(
        again.body.contains("invalid or expired sign-in token"),
        "{}",
        again.body
    );

    // Logged by action, never with the token.
    let log = emu.requests();
    let actions: Vec<(&str, u16)> = log.iter().map(|r| (r.action.as_str(), r.status)).collect();
    assert!(
        actions.ends_with(&[
            ("getSigninToken", 200),
            ("login", 302),
            ("console", 200),
            ("login", 400)
        ]),
        "{actions:?}"
    );
    assert_eq!(emu.count("getSigninToken"), 1);
    assert_eq!(emu.count_all("login"), 2);
    let rec = log.iter().find(|r| r.action == "getSigninToken").unwrap();
    assert_eq!(rec.access_key_id.as_deref(), Some(role.access_key_id()));
    assert!(!format!("{log:?}").contains(&token));
    assert!(!format!("{log:?}").contains(role.secret_access_key()));
}

#[tokio::test]
async fn session_duration_is_refused_for_role_chained_credentials() {
    let emu = Emulator::start(World::demo()).unwrap();
    let role = chained_role(&emu).await;
    let resp = get_signin_token(&emu, &session_json(&role), Some(28_800));
    assert_eq!(resp.status, 400);
    assert!(resp.body.contains(INVALID_CREDENTIALS), "{}", resp.body);
    assert!(resp
        .body
        .contains("The request sent by the client was syntactically incorrect."));
    let rec = emu.requests().pop().unwrap();
    assert_eq!(
        (rec.action.as_str(), rec.duration_seconds),
        ("getSigninToken", Some(28_800))
    );
    // Without it, the same credentials work.
    signin_token(&get_signin_token(&emu, &session_json(&role), None));
}

#[tokio::test]
async fn session_duration_with_direct_assume_role_sets_the_console_session() {
    let emu = Emulator::start(World::demo()).unwrap();
    settle(&emu);
    // AssumeRole straight from the long-term keys, with an MFA code.
    let role = alice(&emu)
        .assume_role()
        .role_arn(PROD)
        .role_session_name("alice")
        .serial_number(ALICE_SERIAL)
        .token_code(code(&emu, 0))
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    for bad in [899, 43_201] {
        assert_eq!(
            get_signin_token(&emu, &session_json(&role), Some(bad)).status,
            400
        );
    }
    let token = signin_token(&get_signin_token(&emu, &session_json(&role), Some(28_800)));
    let page = get(emu.port(), &login(&emu, &token).header("location").unwrap());
    assert!(
        page.body.contains("<span id=\"remaining\">8h 00m</span>")
            || page.body.contains("<span id=\"remaining\">7h 59m</span>"),
        "{}",
        page.body
    );
    let rec = emu
        .requests()
        .into_iter()
        .find(|r| r.action == "getSigninToken" && r.status == 200)
        .unwrap();
    assert_eq!(rec.duration_seconds, Some(28_800));
}

#[tokio::test]
async fn only_genuine_unexpired_role_credentials_are_exchanged() {
    let emu = Emulator::start(World::demo()).unwrap();
    let role = chained_role(&emu).await;
    // GetSessionToken credentials cannot sign in to the console.
    let session = alice(&emu)
        .get_session_token()
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    let mut forged = serde_json::from_str::<serde_json::Value>(&session_json(&role)).unwrap();
    forged["sessionKey"] = "x".repeat(40).into();
    for json in [
        session_json(&session),
        forged.to_string(),
        "{not json".to_string(),
        r#"{"sessionId":"ASIANOBODY0000000000","sessionKey":"k","sessionToken":"t"}"#.to_string(),
    ] {
        let resp = get_signin_token(&emu, &json, None);
        assert_eq!(resp.status, 400, "{json}");
        assert!(resp.body.contains(INVALID_CREDENTIALS));
    }
    // Expired role credentials (1 h) are refused too.
    emu.advance(Duration::from_secs(3601));
    let resp = get_signin_token(&emu, &session_json(&role), None);
    assert_eq!(resp.status, 400);
    assert_eq!(emu.count("getSigninToken"), 0);
}

#[tokio::test]
async fn a_sign_in_token_lasts_15_minutes_of_emulator_time() {
    let emu = Emulator::start(World::demo()).unwrap();
    let role = chained_role(&emu).await;
    let early = signin_token(&get_signin_token(&emu, &session_json(&role), None));
    let late = signin_token(&get_signin_token(&emu, &session_json(&role), None));
    emu.advance(Duration::from_secs(14 * 60));
    assert_eq!(login(&emu, &early).status, 302);
    emu.advance(Duration::from_secs(2 * 60));
    let resp = login(&emu, &late);
    assert_eq!(resp.status, 400);
    assert!(resp.body.contains("invalid or expired sign-in token"));
    assert_eq!(login(&emu, "not-a-token").status, 400);
    assert_eq!(get(emu.port(), "/console?session=nope").status, 403);
}
