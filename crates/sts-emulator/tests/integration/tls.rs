//! HTTPS: the emulator serving `https://sts.<region>.amazonaws.com` on
//! 127.0.0.1 with a throwaway CA.

use std::process::Command;

use crate::binary::{finish, spawn};
use crate::util::*;
use sts_emulator::{Emulator, SigningRegion, StartError, World};

const HOST: &str = "sts.eu-west-1.amazonaws.com";

#[tokio::test]
async fn sdk_over_tls_with_a_private_ca_and_the_real_host_name() {
    let pki = test_pki(&[HOST, "sts.amazonaws.com", "127.0.0.1"]);
    let emu = Emulator::start_tls(
        World::demo(),
        pki.chain_pem.as_bytes(),
        pki.key_pem.as_bytes(),
    )
    .unwrap();
    assert!(emu.is_tls());
    assert_eq!(
        emu.endpoint_url(),
        format!("https://127.0.0.1:{}", emu.port())
    );
    emu.set_signing_region(SigningRegion::FromHost);
    let endpoint = format!("https://{HOST}:{}", emu.port());
    let out = tls_client(&endpoint, "eu-west-1", &pki.ca_pem, ALICE_KEY, ALICE_SECRET)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(out.arn(), Some("arn:aws:iam::111111111111:user/alice"));
    // The Host names eu-west-1: a us-east-1 signature is refused, as by AWS.
    let e = tls_client(&endpoint, "us-east-1", &pki.ca_pem, ALICE_KEY, ALICE_SECRET)
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(err(e).1, "SignatureDoesNotMatch");
    // The global endpoint name is us-east-1.
    let global = format!("https://sts.amazonaws.com:{}", emu.port());
    tls_client(&global, "us-east-1", &pki.ca_pem, ALICE_KEY, ALICE_SECRET)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(emu.count("GetCallerIdentity"), 2);
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_ca_fails_and_the_server_goes_on() {
    let pki = test_pki(&[HOST]);
    let other = test_pki(&[HOST]);
    let emu = Emulator::start_tls(
        World::demo(),
        pki.chain_pem.as_bytes(),
        pki.key_pem.as_bytes(),
    )
    .unwrap();
    let endpoint = format!("https://{HOST}:{}", emu.port());
    let e = tls_client(
        &endpoint,
        "eu-west-1",
        &other.ca_pem,
        ALICE_KEY,
        ALICE_SECRET,
    )
    .get_caller_identity()
    .send()
    .await
    .unwrap_err();
    assert!(
        matches!(e, aws_sdk_sts::error::SdkError::DispatchFailure(_)),
        "{e:?}"
    );
    // A name the certificate does not hold fails too.
    let wrong_name = format!("https://sts.eu-central-1.amazonaws.com:{}", emu.port());
    tls_client(
        &wrong_name,
        "eu-central-1",
        &pki.ca_pem,
        ALICE_KEY,
        ALICE_SECRET,
    )
    .get_caller_identity()
    .send()
    .await
    .unwrap_err();
    // Plain HTTP to the TLS port gets nothing useful, and stops nothing.
    let resp = send_raw(
        emu.port(),
        &RawRequest::post(GCI, ALICE_KEY, ALICE_SECRET, emu.now()).build(emu.port()),
    );
    assert_ne!(resp.status, 200);
    tls_client(&endpoint, "eu-west-1", &pki.ca_pem, ALICE_KEY, ALICE_SECRET)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(emu.count_all("GetCallerIdentity"), 1);
}

#[test]
fn bad_certificate_or_key_is_a_start_error() {
    let pki = test_pki(&[HOST]);
    let other = test_pki(&[HOST]);
    for (cert, key) in [
        ("", pki.key_pem.as_str()),
        (pki.chain_pem.as_str(), "not a key"),
        // A key that does not belong to the certificate.
        (pki.chain_pem.as_str(), other.key_pem.as_str()),
    ] {
        let e = Emulator::start_tls(World::demo(), cert.as_bytes(), key.as_bytes()).unwrap_err();
        assert!(matches!(e, StartError::Tls(_)), "{e:?}");
        assert!(e.to_string().starts_with("TLS: "), "{e}");
        assert!(!e.to_string().contains("PRIVATE KEY-----"), "{e}");
    }
}

#[test]
fn binary_serves_https_with_tls_flags() {
    let pki = test_pki(&[HOST, "127.0.0.1"]);
    let dir = std::env::temp_dir().join(format!("sts-emulator-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("chain.pem"), dir.join("key.pem"));
    std::fs::write(&cert, &pki.chain_pem).unwrap();
    std::fs::write(&key, &pki.key_pem).unwrap();
    let (child, port) = spawn(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
        "--signing-region",
        "eu-west-1",
    ]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let endpoint = format!("https://{HOST}:{port}");
    let out = rt
        .block_on(
            tls_client(&endpoint, "eu-west-1", &pki.ca_pem, ALICE_KEY, ALICE_SECRET)
                .get_caller_identity()
                .send(),
        )
        .unwrap();
    assert_eq!(out.account(), Some("111111111111"));
    let log = finish(child);
    assert!(
        log.contains("GetCallerIdentity") && log.contains("status=200"),
        "{log}"
    );
    // One flag without the other is a usage error.
    let out = Command::new(env!("CARGO_BIN_EXE_sts-emulator"))
        .args(["--tls-cert", cert.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tls-key"));
    std::fs::remove_dir_all(dir).unwrap();
}
