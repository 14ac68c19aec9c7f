//! Authentication: SigV4 verification, unknown keys, skew, session tokens,
//! expiry and revocation, and the protocol envelope.

use std::time::Duration;

use crate::util::*;
use sts_emulator::{Emulator, World};

#[tokio::test]
async fn valid_signature_is_accepted_and_logged_without_secrets() {
    let emu = Emulator::start(World::demo()).unwrap();
    let out = alice(&emu).get_caller_identity().send().await.unwrap();
    assert_eq!(out.arn(), Some("arn:aws:iam::111111111111:user/alice"));
    assert_eq!(out.account(), Some("111111111111"));
    assert!(out.user_id().unwrap().starts_with("AIDA"));
    assert_eq!(emu.count("GetCallerIdentity"), 1);
    let rec = &emu.requests()[0];
    assert_eq!(rec.access_key_id.as_deref(), Some(ALICE_KEY));
    assert_eq!(rec.status, 200);
    assert!(!format!("{rec:?}").contains(ALICE_SECRET));
}

#[tokio::test]
async fn unknown_access_key_is_invalid_client_token_id() {
    let emu = Emulator::start(World::demo()).unwrap();
    let c = client(&emu, "AKIANOBODY0000000000", ALICE_SECRET, None);
    let (status, code, message) = err(c.get_caller_identity().send().await.unwrap_err());
    assert_eq!((status, code.as_str()), (403, "InvalidClientTokenId"));
    assert_eq!(
        message,
        "The security token included in the request is invalid."
    );
    assert_eq!(emu.count("GetCallerIdentity"), 0);
    assert_eq!(emu.count_all("GetCallerIdentity"), 1);
}

#[tokio::test]
async fn wrong_secret_is_signature_does_not_match() {
    let emu = Emulator::start(World::demo()).unwrap();
    let c = client(&emu, ALICE_KEY, BOB_SECRET, None);
    let (status, code, message) = err(c.get_caller_identity().send().await.unwrap_err());
    assert_eq!((status, code.as_str()), (403, "SignatureDoesNotMatch"));
    assert!(
        message.starts_with("The request signature we calculated does not match"),
        "{message}"
    );
}

#[tokio::test]
async fn skewed_clock_is_refused_both_ways() {
    let emu = Emulator::start(World::demo()).unwrap();
    // Emulator 30 min ahead: the client's signature looks 30 min old.
    emu.set_offset_secs(1800);
    let (status, code, message) = err(alice(&emu).get_caller_identity().send().await.unwrap_err());
    assert_eq!((status, code.as_str()), (403, "SignatureDoesNotMatch"));
    assert!(message.starts_with("Signature expired: "), "{message}");
    assert!(message.ends_with(" - 15 min.)"), "{message}");
    // Emulator 30 min behind: the signature is from the future.
    emu.set_offset_secs(-1800);
    let (_, code, message) = err(alice(&emu).get_caller_identity().send().await.unwrap_err());
    assert_eq!(code, "SignatureDoesNotMatch");
    assert!(
        message.starts_with("Signature not yet current: "),
        "{message}"
    );
    // Within 15 minutes is fine.
    emu.set_offset_secs(600);
    alice(&emu).get_caller_identity().send().await.unwrap();
}

#[test]
fn skew_message_has_aws_shape_exactly() {
    let emu = Emulator::start(World::demo()).unwrap();
    let now = emu.now();
    let signed_at = now - chrono::Duration::minutes(30);
    let resp = send_raw(
        emu.port(),
        &RawRequest::post(GCI, ALICE_KEY, ALICE_SECRET, signed_at).build(emu.port()),
    );
    assert_eq!(resp.status, 403);
    let f = |t: chrono::DateTime<chrono::Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    let message = resp.tag("Message").unwrap();
    // The server's "now" is a few ms later than ours; allow a second of drift.
    let ok = (0..=1).any(|d| {
        let n = now + chrono::Duration::seconds(d);
        message
            == format!(
                "Signature expired: {} is now earlier than {} ({} - 15 min.)",
                f(signed_at),
                f(n - chrono::Duration::minutes(15)),
                f(n)
            )
    });
    assert!(ok, "{message}");
}

#[test]
fn missing_authorization_is_missing_authentication_token() {
    let emu = Emulator::start(World::demo()).unwrap();
    let raw = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{GCI}",
        GCI.len()
    );
    let resp = send_raw(emu.port(), &raw);
    assert_eq!(resp.status, 403);
    assert_eq!(
        resp.tag("Code").as_deref(),
        Some("MissingAuthenticationToken")
    );
    assert_eq!(
        resp.tag("Message").as_deref(),
        Some("Request is missing Authentication Token")
    );
    assert_eq!(resp.tag("Type").as_deref(), Some("Sender"));
    assert!(resp
        .body
        .starts_with("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"));
}

#[test]
fn botocore_style_signing_verifies_and_envelope_is_aws_shaped() {
    let emu = Emulator::start(World::demo()).unwrap();
    let resp = send_raw(
        emu.port(),
        &RawRequest::post(GCI, ALICE_KEY, ALICE_SECRET, emu.now()).build(emu.port()),
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(resp.header("content-type").as_deref(), Some("text/xml"));
    let rid = resp.header("x-amzn-RequestId").unwrap();
    assert_eq!(rid.len(), 36);
    assert_eq!(resp.tag("RequestId"), Some(rid));
    assert!(resp.body.starts_with(
        "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:aws:iam::111111111111:user/alice</Arn>"
    ));
    // Date reflects the emulator clock, which mfacli uses to detect skew.
    emu.set_offset_secs(600);
    let resp = send_raw(
        emu.port(),
        &RawRequest::post(GCI, ALICE_KEY, ALICE_SECRET, emu.now()).build(emu.port()),
    );
    let date = chrono::DateTime::parse_from_rfc2822(&resp.header("date").unwrap()).unwrap();
    let drift = (date.timestamp() - emu.now().timestamp()).abs();
    assert!(drift <= 2, "Date header {date} vs emulator {}", emu.now());
}

#[test]
fn tampered_body_fails_signature() {
    let emu = Emulator::start(World::demo()).unwrap();
    let raw = RawRequest::post(GCI, ALICE_KEY, ALICE_SECRET, emu.now()).build(emu.port());
    let tampered = raw.replace("Action=GetCallerIdentity", "Action=GetCallerIdentitx");
    let resp = send_raw(emu.port(), &tampered);
    assert_eq!(resp.status, 403);
    assert_eq!(resp.tag("Code").as_deref(), Some("SignatureDoesNotMatch"));
}

#[test]
fn get_with_query_string_works() {
    let emu = Emulator::start(World::demo()).unwrap();
    let mut r = RawRequest::post("", ALICE_KEY, ALICE_SECRET, emu.now());
    r.method = "GET";
    r.query = GCI;
    let resp = send_raw(emu.port(), &r.build(emu.port()));
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(
        resp.tag("Arn").as_deref(),
        Some("arn:aws:iam::111111111111:user/alice")
    );
}

#[test]
fn unknown_action_and_wrong_version_are_invalid_action() {
    let emu = Emulator::start(World::demo()).unwrap();
    for body in [
        "Action=GetFederationToken&Version=2011-06-15",
        "Action=GetCallerIdentity&Version=2010-01-01",
        "Action=GetCallerIdentity",
    ] {
        let resp = send_raw(
            emu.port(),
            &RawRequest::post(body, ALICE_KEY, ALICE_SECRET, emu.now()).build(emu.port()),
        );
        assert_eq!(resp.status, 400, "{body}");
        assert_eq!(resp.tag("Code").as_deref(), Some("InvalidAction"), "{body}");
    }
}

#[tokio::test]
async fn session_key_needs_its_own_token() {
    let emu = Emulator::start(World::demo()).unwrap();
    let creds = alice(&emu)
        .get_session_token()
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    let ok = session_client(&emu, &creds);
    ok.get_caller_identity().send().await.unwrap();

    let wrong = client(
        &emu,
        creds.access_key_id(),
        creds.secret_access_key(),
        Some("bogus-token"),
    );
    let (status, code, _) = err(wrong.get_caller_identity().send().await.unwrap_err());
    assert_eq!((status, code.as_str()), (403, "InvalidClientTokenId"));

    let missing = client(&emu, creds.access_key_id(), creds.secret_access_key(), None);
    let (status, code, _) = err(missing.get_caller_identity().send().await.unwrap_err());
    assert_eq!((status, code.as_str()), (403, "InvalidClientTokenId"));

    // A long-term key with a token attached is not valid either.
    let odd = client(&emu, ALICE_KEY, ALICE_SECRET, Some(creds.session_token()));
    let (_, code, _) = err(odd.get_caller_identity().send().await.unwrap_err());
    assert_eq!(code, "InvalidClientTokenId");
}

#[tokio::test]
async fn session_expires_by_emulator_clock() {
    let emu = Emulator::start(World::demo()).unwrap();
    let creds = alice(&emu)
        .get_session_token()
        .duration_seconds(900)
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    let c = session_client(&emu, &creds);
    c.get_caller_identity().send().await.unwrap();
    // Move in two hops: the SDK corrects its signing clock from each
    // response's Date header, so every hop stays inside the 15-minute window.
    emu.advance(Duration::from_secs(14 * 60));
    c.get_caller_identity().send().await.unwrap();
    emu.advance(Duration::from_secs(61));
    let (status, code, message) = err(c.get_caller_identity().send().await.unwrap_err());
    assert_eq!((status, code.as_str()), (400, "ExpiredToken"));
    assert_eq!(
        message,
        "The security token included in the request is expired"
    );
}

#[tokio::test]
async fn revoked_sessions_fail_with_expired_token_and_new_ones_work() {
    let emu = Emulator::start(World::demo()).unwrap();
    let creds = alice(&emu)
        .get_session_token()
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    let c = session_client(&emu, &creds);
    c.get_caller_identity().send().await.unwrap();
    emu.expire_all_sessions();
    let (status, code, _) = err(c.get_caller_identity().send().await.unwrap_err());
    assert_eq!((status, code.as_str()), (400, "ExpiredToken"));
    let fresh = alice(&emu)
        .get_session_token()
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    session_client(&emu, &fresh)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    // Long-term keys are unaffected.
    alice(&emu).get_caller_identity().send().await.unwrap();
}

#[test]
fn expect_continue_and_keep_alive_on_one_connection() {
    use std::io::{BufRead, BufReader, Read, Write};
    let emu = Emulator::start(World::demo()).unwrap();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", emu.port())).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut reader = BufReader::new(s.try_clone().unwrap());
    for i in 0..3 {
        let raw = RawRequest::post(GCI, ALICE_KEY, ALICE_SECRET, emu.now())
            .build(emu.port())
            .replace("connection: close\r\n", "expect: 100-continue\r\n");
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        s.write_all(format!("{head}\r\n\r\n").as_bytes()).unwrap();
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert_eq!(line, "HTTP/1.1 100 Continue\r\n", "request {i}");
        reader.read_line(&mut line).unwrap();
        s.write_all(body.as_bytes()).unwrap();
        let mut head = String::new();
        loop {
            let mut l = String::new();
            reader.read_line(&mut l).unwrap();
            if l == "\r\n" {
                break;
            }
            head.push_str(&l);
        }
        assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        assert!(String::from_utf8(body)
            .unwrap()
            .contains("<Arn>arn:aws:iam::111111111111:user/alice</Arn>"));
    }
    assert_eq!(emu.count("GetCallerIdentity"), 3);
}

#[test]
fn chunked_bodies_work() {
    let emu = Emulator::start(World::demo()).unwrap();
    let raw = RawRequest::post(GCI, ALICE_KEY, ALICE_SECRET, emu.now()).build(emu.port());
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let head = head.replace(
        &format!("content-length: {}\r\n", body.len()),
        "transfer-encoding: chunked\r\n",
    );
    let (a, b) = body.split_at(10);
    let chunked = format!(
        "{head}\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
        a.len(),
        b.len()
    );
    assert!(!chunked.contains("content-length"));
    let resp = send_raw(emu.port(), &chunked);
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(
        resp.tag("Arn").as_deref(),
        Some("arn:aws:iam::111111111111:user/alice")
    );
}

#[test]
fn malformed_and_oversized_requests_are_refused() {
    let emu = Emulator::start(World::demo()).unwrap();
    assert_eq!(send_raw(emu.port(), "HELLO\r\n\r\n").status, 400);
    let big = "x".repeat(1024 * 1024 + 1);
    let resp = send_raw(
        emu.port(),
        &format!(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{big}",
            big.len()
        ),
    );
    assert_eq!(resp.status, 413);
    // The emulator still serves.
    alice_gci_raw(&emu);
}

fn alice_gci_raw(emu: &Emulator) {
    let resp = send_raw(
        emu.port(),
        &RawRequest::post(GCI, ALICE_KEY, ALICE_SECRET, emu.now()).build(emu.port()),
    );
    assert_eq!(resp.status, 200);
}

// --- Signing region (issue 18) ---------------------------------------------

use sts_emulator::SigningRegion;

const WRONG_REGION: &str = "Credential should be scoped to a valid region, not 'us-east-1'. ";

#[tokio::test]
async fn any_region_is_accepted_by_default() {
    let emu = Emulator::start(World::demo()).unwrap();
    assert_eq!(emu.signing_region(), SigningRegion::Any);
    for region in ["us-east-1", "eu-west-1", "ap-southeast-2"] {
        client_in(&emu, region, ALICE_KEY, ALICE_SECRET, None)
            .get_caller_identity()
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn fixed_region_refuses_other_regions_as_aws_does() {
    let emu = Emulator::start(World::demo()).unwrap();
    emu.set_signing_region(SigningRegion::Fixed("eu-west-1".into()));
    client_in(&emu, "eu-west-1", ALICE_KEY, ALICE_SECRET, None)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    let e = client_in(&emu, "us-east-1", ALICE_KEY, ALICE_SECRET, None)
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err(e),
        (
            403,
            "SignatureDoesNotMatch".to_string(),
            WRONG_REGION.to_string()
        )
    );
    // Session credentials too, and nothing is issued for a wrong region.
    settle(&emu);
    let e = client_in(&emu, "us-east-1", ALICE_KEY, ALICE_SECRET, None)
        .get_session_token()
        .serial_number(ALICE_SERIAL)
        .token_code(code(&emu, 0))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err(e).1, "SignatureDoesNotMatch");
    assert_eq!(emu.count("GetSessionToken"), 0);
    // The code was not consumed by the refused request.
    client_in(&emu, "eu-west-1", ALICE_KEY, ALICE_SECRET, None)
        .get_session_token()
        .serial_number(ALICE_SERIAL)
        .token_code(code(&emu, 0))
        .send()
        .await
        .unwrap();
    emu.set_signing_region(SigningRegion::Any);
    client_in(&emu, "us-east-1", ALICE_KEY, ALICE_SECRET, None)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
}

#[test]
fn region_from_the_host_header() {
    let emu = Emulator::start(World::demo()).unwrap();
    emu.set_signing_region(SigningRegion::FromHost);
    let send = |host: Option<&str>, region: &str| {
        let mut r = RawRequest::post(GCI, ALICE_KEY, ALICE_SECRET, emu.now());
        r.host = host;
        r.region = region;
        send_raw(emu.port(), &r.build(emu.port()))
    };
    for (host, good, bad) in [
        ("sts.eu-west-1.amazonaws.com", "eu-west-1", "us-east-1"),
        ("sts.amazonaws.com", "us-east-1", "eu-west-1"),
        ("sts.cn-north-1.amazonaws.com.cn", "cn-north-1", "us-east-1"),
    ] {
        assert_eq!(send(Some(host), good).status, 200, "{host}");
        let resp = send(Some(host), bad);
        assert_eq!(resp.status, 403, "{host}");
        assert_eq!(resp.tag("Code").as_deref(), Some("SignatureDoesNotMatch"));
        assert_eq!(
            resp.tag("Message"),
            Some(format!(
                "Credential should be scoped to a valid region, not '{bad}'. "
            ))
        );
    }
    // An address names no region: any is accepted.
    assert_eq!(send(None, "ap-south-1").status, 200);
    assert_eq!(
        WRONG_REGION,
        format!(
            "Credential should be scoped to a valid region, not '{}'. ",
            "us-east-1"
        )
    );
}
