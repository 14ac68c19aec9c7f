//! The federation endpoint: getSigninToken, login and the console page,
//! through real HTTP on the emulator's port.

mod common;

use std::time::Duration;

use common::*;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use sts_emulator::{Emulator, World};

const PROD_ARN: &str = "arn:aws:sts::222222222222:assumed-role/PowerUser/alice";

fn enc(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

fn get(emu: &Emulator, path_and_query: &str, cookie: Option<&str>) -> RawResponse {
    let mut raw =
        format!("GET {path_and_query} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n");
    if let Some(c) = cookie {
        raw.push_str(&format!("cookie: {c}\r\n"));
    }
    raw.push_str("\r\n");
    send_raw(emu.port(), &raw)
}

fn session_json(c: &aws_sdk_sts::types::Credentials) -> String {
    serde_json::json!({
        "sessionId": c.access_key_id(),
        "sessionKey": c.secret_access_key(),
        "sessionToken": c.session_token(),
    })
    .to_string()
}

fn get_signin_token(
    emu: &Emulator,
    c: &aws_sdk_sts::types::Credentials,
    duration: Option<u32>,
) -> RawResponse {
    let mut q = format!(
        "/federation?Action=getSigninToken&Session={}",
        enc(&session_json(c))
    );
    if let Some(d) = duration {
        q.push_str(&format!("&SessionDuration={d}"));
    }
    get(emu, &q, None)
}

fn token_of(resp: &RawResponse) -> String {
    let v: serde_json::Value = serde_json::from_str(&resp.body).expect("JSON body");
    v["SigninToken"].as_str().expect("SigninToken").to_string()
}

fn login(emu: &Emulator, token: &str) -> RawResponse {
    get(
        emu,
        &format!(
            "/federation?Action=login&Issuer=test&Destination={}&SigninToken={}",
            enc("https://console.aws.amazon.com/s3/home?region=eu-west-1"),
            enc(token)
        ),
        None,
    )
}

/// Role credentials for prod through the MFA session (role chaining).
async fn chained(emu: &Emulator) -> aws_sdk_sts::types::Credentials {
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

/// Role credentials for prod straight from the long-term keys with MFA.
async fn direct(emu: &Emulator, secs: i32) -> aws_sdk_sts::types::Credentials {
    settle(emu);
    alice(emu)
        .assume_role()
        .role_arn(PROD)
        .role_session_name("alice")
        .duration_seconds(secs)
        .serial_number(ALICE_SERIAL)
        .token_code(code(emu, 0))
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap()
}

fn cookie_of(resp: &RawResponse) -> String {
    let set = resp.header("set-cookie").expect("Set-Cookie");
    set.split(';').next().unwrap().to_string()
}

#[tokio::test]
async fn chained_credentials_sign_in_once_and_land_on_the_console_page() {
    let emu = Emulator::start(World::demo()).unwrap();
    let creds = chained(&emu).await;
    let resp = get_signin_token(&emu, &creds, None);
    assert_eq!(resp.status, 200, "{}", resp.body);
    let token = token_of(&resp);
    assert!(token.len() >= 100);

    let resp = login(&emu, &token);
    assert_eq!(resp.status, 302);
    assert_eq!(resp.header("location").as_deref(), Some("/console"));
    let cookie = cookie_of(&resp);

    let page = get(&emu, "/console", Some(&cookie));
    assert_eq!(page.status, 200);
    assert!(page.body.contains(PROD_ARN), "{}", page.body);
    assert!(page.body.contains("<dd id=\"account\">222222222222</dd>"));
    assert!(page.body.contains("/s3/home?region=eu-west-1"));
    // Without SessionDuration the console lasts as long as the credentials (1 h).
    let left: i64 = page
        .header("x-console-session-seconds")
        .unwrap()
        .parse()
        .unwrap();
    assert!((3590..=3600).contains(&left), "{left}");

    // Usable once: the second login shows the sign-in error page.
    let again = login(&emu, &token);
    assert_eq!(again.status, 400);
    assert!(
        again.body.contains("invalid sign-in token"),
        "{}",
        again.body
    );
    assert!(again.header("set-cookie").is_none());

    // The log names the actions and the key id, never the token.
    let log = emu.requests();
    let actions: Vec<(&str, u16)> = log
        .iter()
        .filter(|r| r.action != "GetSessionToken" && r.action != "AssumeRole")
        .map(|r| (r.action.as_str(), r.status))
        .collect();
    assert_eq!(
        actions,
        [
            ("getSigninToken", 200),
            ("login", 302),
            ("console", 200),
            ("login", 400)
        ]
    );
    assert_eq!(emu.count("getSigninToken"), 1);
    assert_eq!(
        log.iter()
            .find(|r| r.action == "getSigninToken")
            .unwrap()
            .access_key_id
            .as_deref(),
        Some(creds.access_key_id())
    );
    let dump = format!("{log:?}");
    assert!(!dump.contains(&token[..40]));
    assert!(!dump.contains(creds.session_token()));
}

#[tokio::test]
async fn session_duration_is_refused_for_role_chaining_with_aws_page() {
    let emu = Emulator::start(World::demo()).unwrap();
    let creds = chained(&emu).await;
    let resp = get_signin_token(&emu, &creds, Some(28_800));
    assert_eq!(resp.status, 400);
    assert!(resp
        .body
        .contains("HTTP Status 400 - Invalid credentials parameter"));
    assert!(resp
        .body
        .contains("The request sent by the client was syntactically incorrect."));
    let rec = emu.requests().pop().unwrap();
    assert_eq!(rec.action, "getSigninToken");
    assert_eq!(rec.duration_seconds, Some(28_800));
    assert_eq!(
        rec.error_code.as_deref(),
        Some("SessionDurationWithRoleChaining")
    );
    // Without SessionDuration the same credentials work.
    assert_eq!(get_signin_token(&emu, &creds, None).status, 200);
}

#[tokio::test]
async fn direct_credentials_accept_session_duration() {
    let emu = Emulator::start(World::demo()).unwrap();
    let creds = direct(&emu, 28_800).await;
    let resp = get_signin_token(&emu, &creds, Some(28_800));
    assert_eq!(resp.status, 200, "{}", resp.body);
    let cookie = cookie_of(&login(&emu, &token_of(&resp)));
    let page = get(&emu, "/console", Some(&cookie));
    assert!(page.body.contains(PROD_ARN));
    let left: i64 = page
        .header("x-console-session-seconds")
        .unwrap()
        .parse()
        .unwrap();
    assert!((28_790..=28_800).contains(&left), "{left}");
    let rec = emu
        .requests()
        .into_iter()
        .find(|r| r.action == "getSigninToken")
        .unwrap();
    assert_eq!(rec.duration_seconds, Some(28_800));
    // Out of AWS's range (15 min to 12 h).
    assert_eq!(get_signin_token(&emu, &creds, Some(43_201)).status, 400);
    assert_eq!(get_signin_token(&emu, &creds, Some(600)).status, 400);
}

#[tokio::test]
async fn expired_unknown_and_session_token_credentials_are_refused() {
    let emu = Emulator::start(World::demo()).unwrap();
    // GetSessionToken credentials cannot sign in to the console.
    let session = mfa_session(&emu).await;
    assert_eq!(get_signin_token(&emu, &session, None).status, 400);
    // Tampered secret.
    let creds = chained(&emu).await;
    let tampered = aws_sdk_sts::types::Credentials::builder()
        .access_key_id(creds.access_key_id())
        .secret_access_key("x".repeat(40))
        .session_token(creds.session_token())
        .expiration(*creds.expiration())
        .build()
        .unwrap();
    assert_eq!(get_signin_token(&emu, &tampered, None).status, 400);
    // Malformed Session parameter.
    let resp = get(
        &emu,
        "/federation?Action=getSigninToken&Session=notjson",
        None,
    );
    assert_eq!(resp.status, 400);
    // Expired by the emulator's clock.
    emu.advance(Duration::from_secs(3601));
    let resp = get_signin_token(&emu, &creds, None);
    assert_eq!(resp.status, 400);
    assert_eq!(
        emu.requests().pop().unwrap().error_code.as_deref(),
        Some("ExpiredCredentials")
    );
}

#[tokio::test]
async fn signin_token_expires_after_15_minutes() {
    let emu = Emulator::start(World::demo()).unwrap();
    let creds = direct(&emu, 7200).await;
    let token = token_of(&get_signin_token(&emu, &creds, None));
    emu.advance(Duration::from_secs(901));
    let resp = login(&emu, &token);
    assert_eq!(resp.status, 400);
    assert!(resp.body.contains("invalid sign-in token"));
    assert_eq!(
        emu.requests().pop().unwrap().error_code.as_deref(),
        Some("ExpiredSigninToken")
    );
}

#[tokio::test]
async fn console_session_ends_when_the_credentials_do() {
    let emu = Emulator::start(World::demo()).unwrap();
    let creds = chained(&emu).await;
    let token = token_of(&get_signin_token(&emu, &creds, None));
    let cookie = cookie_of(&login(&emu, &token));
    assert_eq!(get(&emu, "/console", Some(&cookie)).status, 200);
    // STS itself is unaffected by the federation paths.
    alice(&emu).get_caller_identity().send().await.unwrap();
    emu.advance(Duration::from_secs(3601));
    let page = get(&emu, "/console", Some(&cookie));
    assert_eq!(page.status, 403);
    assert!(page.body.contains("not signed in"));
}
