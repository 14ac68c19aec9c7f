//! The IAM subset on the STS port: signing scope, XML shapes, AWS's error
//! codes, the propagation delay of a new key and keys refused by STS once
//! deactivated or deleted. Raw signed requests, so every byte is visible.

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::*;
use sts_emulator::{Emulator, World};

const IAM_NS: &str = "xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"";

/// A POST signed like botocore, for any service and region.
#[allow(clippy::too_many_arguments)]
fn send(
    emu: &Emulator,
    body: &str,
    akid: &str,
    secret: &str,
    service: &str,
    region: &str,
    at: DateTime<Utc>,
) -> RawResponse {
    let host = format!("127.0.0.1:{}", emu.port());
    let amz_date = at.format("%Y%m%dT%H%M%SZ").to_string();
    let date = &amz_date[..8];
    let content_type = "application/x-www-form-urlencoded; charset=utf-8";
    let canonical = format!(
        "POST\n/\n\ncontent-type:{content_type}\nhost:{host}\nx-amz-date:{amz_date}\n\ncontent-type;host;x-amz-date\n{}",
        sha256_hex(body.as_bytes())
    );
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let day = chrono::NaiveDate::parse_from_str(date, "%Y%m%d")
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let key = aws_sigv4::sign::v4::generate_signing_key(secret, day.into(), region, service);
    let signature = aws_sigv4::sign::v4::calculate_signature(key, string_to_sign.as_bytes());
    let raw = format!(
        "POST / HTTP/1.1\r\ncontent-type: {content_type}\r\nhost: {host}\r\nx-amz-date: {amz_date}\r\n\
         authorization: AWS4-HMAC-SHA256 Credential={akid}/{scope}, SignedHeaders=content-type;host;x-amz-date, Signature={signature}\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    send_raw(emu.port(), &raw)
}

fn iam(emu: &Emulator, body: &str, akid: &str, secret: &str) -> RawResponse {
    send(emu, body, akid, secret, "iam", "us-east-1", emu.now())
}

fn gci(emu: &Emulator, akid: &str, secret: &str) -> RawResponse {
    send(emu, GCI, akid, secret, "sts", "us-east-1", emu.now())
}

/// Alice may manage her own keys with her long-term key (no MFA condition),
/// so these tests need no session.
fn world() -> World {
    let mut w = World::demo();
    w.users[0].policies = vec![r#"{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:*", "Resource": "arn:aws:iam::*:user/${aws:username}"},
        {"Effect": "Allow", "Action": "sts:GetSessionToken", "Resource": "*"}]}"#
        .into()];
    w
}

#[test]
fn iam_requests_need_service_iam_in_us_east_1_and_the_iam_version() {
    let emu = Emulator::start(world()).unwrap();
    let list = "Action=ListAccessKeys&Version=2010-05-08";
    let r = send(
        &emu,
        list,
        ALICE_KEY,
        ALICE_SECRET,
        "sts",
        "us-east-1",
        emu.now(),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.tag("Code").as_deref(), Some("SignatureDoesNotMatch"));
    assert!(
        r.body.contains("scoped to correct service: 'iam'"),
        "{}",
        r.body
    );
    assert!(r.body.contains(IAM_NS), "{}", r.body);
    let r = send(
        &emu,
        list,
        ALICE_KEY,
        ALICE_SECRET,
        "iam",
        "eu-west-1",
        emu.now(),
    );
    assert_eq!(r.status, 403);
    assert!(
        r.body.contains("valid region, not 'eu-west-1'"),
        "{}",
        r.body
    );
    let r = iam(
        &emu,
        "Action=ListAccessKeys&Version=2011-06-15",
        ALICE_KEY,
        ALICE_SECRET,
    );
    assert_eq!(
        r.tag("Code").as_deref(),
        Some("InvalidAction"),
        "{}",
        r.body
    );
    let r = iam(&emu, list, ALICE_KEY, ALICE_SECRET);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .starts_with(&format!("<ListAccessKeysResponse {IAM_NS}>")),
        "{}",
        r.body
    );
    assert_eq!(r.tag("AccessKeyId").as_deref(), Some(ALICE_KEY));
    assert_eq!(r.tag("Status").as_deref(), Some("Active"));
    assert!(r.tag("CreateDate").unwrap().ends_with('Z'));
    // Bob is another user: the policy variable does not match him.
    let r = iam(
        &emu,
        "Action=ListAccessKeys&Version=2010-05-08&UserName=bob",
        ALICE_KEY,
        ALICE_SECRET,
    );
    assert_eq!(
        (r.status, r.tag("Code").as_deref()),
        (403, Some("AccessDenied")),
        "{}",
        r.body
    );
    // STS actions still answer on the same port.
    assert_eq!(gci(&emu, ALICE_KEY, ALICE_SECRET).status, 200);
    assert_eq!(emu.count("ListAccessKeys"), 1);
}

#[test]
fn new_keys_wait_for_propagation_and_retired_keys_are_refused_by_sts() {
    let emu = Emulator::start(world()).unwrap();
    emu.set_iam_propagation_delay(Duration::from_secs(120));
    let r = iam(
        &emu,
        "Action=CreateAccessKey&Version=2010-05-08",
        ALICE_KEY,
        ALICE_SECRET,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let id = r.tag("AccessKeyId").unwrap();
    let secret = r.tag("SecretAccessKey").unwrap();
    assert!(id.starts_with("AKIA") && id.len() == 20, "{id}");
    assert_eq!(r.tag("UserName").as_deref(), Some("alice"));

    let r = gci(&emu, &id, &secret);
    assert_eq!(
        r.tag("Code").as_deref(),
        Some("InvalidClientTokenId"),
        "not yet propagated"
    );
    emu.advance(Duration::from_secs(121));
    assert_eq!(gci(&emu, &id, &secret).status, 200, "propagated");

    // A third key is over the quota.
    let r = iam(
        &emu,
        "Action=CreateAccessKey&Version=2010-05-08",
        ALICE_KEY,
        ALICE_SECRET,
    );
    assert_eq!(
        (r.status, r.tag("Code").as_deref()),
        (409, Some("LimitExceeded")),
        "{}",
        r.body
    );

    let update = |status: &str| {
        iam(
            &emu,
            &format!("Action=UpdateAccessKey&Version=2010-05-08&AccessKeyId={id}&Status={status}"),
            ALICE_KEY,
            ALICE_SECRET,
        )
    };
    assert_eq!(update("Inactive").status, 200);
    assert_eq!(
        gci(&emu, &id, &secret).tag("Code").as_deref(),
        Some("InvalidClientTokenId")
    );
    assert_eq!(update("Active").status, 200);
    assert_eq!(gci(&emu, &id, &secret).status, 200);

    let delete = format!("Action=DeleteAccessKey&Version=2010-05-08&AccessKeyId={ALICE_KEY}");
    let r = iam(&emu, &delete, &id, &secret);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!r.body.contains("DeleteAccessKeyResult"), "{}", r.body);
    assert_eq!(
        gci(&emu, ALICE_KEY, ALICE_SECRET).tag("Code").as_deref(),
        Some("InvalidClientTokenId")
    );
    let r = iam(&emu, &delete, &id, &secret);
    assert_eq!(
        (r.status, r.tag("Code").as_deref()),
        (404, Some("NoSuchEntity")),
        "{}",
        r.body
    );
    let keys = emu.access_keys("alice");
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].access_key_id, id);
}
