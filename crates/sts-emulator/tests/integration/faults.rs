//! Fault injection, concurrency, and start/stop behaviour.

use std::time::{Duration, Instant};

use crate::util::*;
use sts_emulator::{Emulator, Fault, World};

#[tokio::test]
async fn internal_error_for_the_next_request_only() {
    let emu = Emulator::start(World::demo()).unwrap();
    emu.inject(Fault::InternalError, Some(1));
    let (status, code, _) = err(alice(&emu).get_caller_identity().send().await.unwrap_err());
    assert_eq!((status, code.as_str()), (500, "InternalFailure"));
    alice(&emu).get_caller_identity().send().await.unwrap();
    let log = emu.requests();
    assert_eq!(log[0].status, 500);
    assert_eq!(log[0].error_code.as_deref(), Some("InternalFailure"));
    assert_eq!(emu.count("GetCallerIdentity"), 1);
    assert_eq!(emu.count_all("GetCallerIdentity"), 2);
}

#[test]
fn internal_error_has_receiver_type() {
    let emu = Emulator::start(World::demo()).unwrap();
    emu.inject(Fault::InternalError, None);
    let resp = send_raw(
        emu.port(),
        &RawRequest::post(GCI, ALICE_KEY, ALICE_SECRET, emu.now()).build(emu.port()),
    );
    assert_eq!(resp.status, 500);
    assert_eq!(resp.tag("Type").as_deref(), Some("Receiver"));
}

#[tokio::test]
async fn throttling_counts_down() {
    let emu = Emulator::start(World::demo()).unwrap();
    emu.inject(Fault::Throttling, Some(2));
    for _ in 0..2 {
        let (status, code, message) =
            err(alice(&emu).get_caller_identity().send().await.unwrap_err());
        assert_eq!(
            (status, code.as_str(), message.as_str()),
            (400, "Throttling", "Rate exceeded")
        );
    }
    alice(&emu).get_caller_identity().send().await.unwrap();
}

#[tokio::test]
async fn sdk_retries_through_transient_throttling() {
    let emu = Emulator::start(World::demo()).unwrap();
    emu.inject(Fault::Throttling, Some(1));
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .region(aws_sdk_sts::config::Region::new("us-east-1"))
        .endpoint_url(emu.endpoint_url())
        .credentials_provider(aws_sdk_sts::config::Credentials::new(
            ALICE_KEY,
            ALICE_SECRET,
            None,
            None,
            "test",
        ))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    aws_sdk_sts::Client::from_conf(config)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(emu.count_all("GetCallerIdentity"), 2);
}

#[tokio::test]
async fn unlimited_fault_until_cleared() {
    let emu = Emulator::start(World::demo()).unwrap();
    emu.inject(Fault::InternalError, None);
    for _ in 0..3 {
        alice(&emu).get_caller_identity().send().await.unwrap_err();
    }
    emu.clear_faults();
    alice(&emu).get_caller_identity().send().await.unwrap();
}

#[tokio::test]
async fn latency_delays_the_response() {
    let emu = Emulator::start(World::demo()).unwrap();
    emu.inject(Fault::Latency(Duration::from_millis(300)), Some(1));
    let t = Instant::now();
    alice(&emu).get_caller_identity().send().await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(300));
    let t = Instant::now();
    alice(&emu).get_caller_identity().send().await.unwrap();
    assert!(t.elapsed() < Duration::from_millis(300));
}

#[tokio::test]
async fn latency_beyond_the_client_timeout_is_a_timeout() {
    let emu = Emulator::start(World::demo()).unwrap();
    emu.inject(Fault::Latency(Duration::from_secs(2)), Some(1));
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .region(aws_sdk_sts::config::Region::new("us-east-1"))
        .endpoint_url(emu.endpoint_url())
        .credentials_provider(aws_sdk_sts::config::Credentials::new(
            ALICE_KEY,
            ALICE_SECRET,
            None,
            None,
            "test",
        ))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .retry_config(aws_sdk_sts::config::retry::RetryConfig::disabled())
        .timeout_config(
            aws_sdk_sts::config::timeout::TimeoutConfig::builder()
                .operation_timeout(Duration::from_millis(300))
                .build(),
        )
        .build();
    let e = aws_sdk_sts::Client::from_conf(config)
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(e, aws_sdk_sts::error::SdkError::TimeoutError(_)),
        "{e:?}"
    );
}

#[tokio::test]
async fn dropped_connection_is_a_dispatch_failure() {
    let emu = Emulator::start(World::demo()).unwrap();
    emu.inject(Fault::DropConnection, Some(1));
    let e = alice(&emu).get_caller_identity().send().await.unwrap_err();
    assert!(
        matches!(e, aws_sdk_sts::error::SdkError::DispatchFailure(_)),
        "{e:?}"
    );
    let rec = &emu.requests()[0];
    assert_eq!(rec.status, 0);
    assert_eq!(rec.action, "GetCallerIdentity");
    assert_eq!(rec.error_code.as_deref(), Some("DropConnection"));
    // The fault was used up: the next request is answered.
    alice(&emu).get_caller_identity().send().await.unwrap();
    assert_eq!(emu.requests().len(), 2);
    assert_eq!(emu.requests()[1].status, 200);
}

#[test]
fn dropped_connection_sends_nothing() {
    let emu = Emulator::start(World::demo()).unwrap();
    let request = || RawRequest::post(GCI, ALICE_KEY, ALICE_SECRET, emu.now()).build(emu.port());
    // Without the fault, the very same request is answered...
    assert_eq!(send_raw(emu.port(), &request()).status, 200);
    emu.inject(Fault::DropConnection, None);
    // ...with it, twice, the connection is closed with not one byte sent,
    for _ in 0..2 {
        let resp = send_raw(emu.port(), &request());
        assert_eq!(resp.status, 0);
        assert!(resp.head.is_empty() && resp.body.is_empty());
    }
    // and the log shows the fault fired for each, after the request was read.
    let log = emu.requests();
    assert_eq!(log.len(), 3);
    for rec in &log[1..] {
        assert_eq!(
            (rec.action.as_str(), rec.status, rec.error_code.as_deref()),
            ("GetCallerIdentity", 0, Some("DropConnection"))
        );
        assert_eq!(rec.access_key_id.as_deref(), Some(ALICE_KEY));
    }
    emu.clear_faults();
    assert_eq!(send_raw(emu.port(), &request()).status, 200);
}

#[test]
fn dropped_connection_on_a_keep_alive_connection_closes_only_that_one() {
    use std::io::{Read, Write};
    let emu = Emulator::start(World::demo()).unwrap();
    let keep_alive = |s: &str| s.replace("connection: close\r\n", "");
    let mut first = std::net::TcpStream::connect(("127.0.0.1", emu.port())).unwrap();
    first
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let raw =
        keep_alive(&RawRequest::post(GCI, ALICE_KEY, ALICE_SECRET, emu.now()).build(emu.port()));
    first.write_all(raw.as_bytes()).unwrap();
    let mut buf = [0u8; 4096];
    let n = first.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200 OK"));
    emu.inject(Fault::DropConnection, Some(1));
    first.write_all(raw.as_bytes()).unwrap();
    // EOF: closed without a response.
    let mut rest = Vec::new();
    first.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "{}", String::from_utf8_lossy(&rest));
    assert_eq!(
        emu.requests()[1].error_code.as_deref(),
        Some("DropConnection")
    );
    // Other connections are unaffected.
    assert_eq!(
        send_raw(
            emu.port(),
            &RawRequest::post(GCI, ALICE_KEY, ALICE_SECRET, emu.now()).build(emu.port())
        )
        .status,
        200
    );
}

#[test]
fn sixteen_concurrent_clients() {
    let emu = Emulator::start(World::demo()).unwrap();
    let session = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(mfa_session(&emu));
    std::thread::scope(|s| {
        for i in 0..16 {
            let (emu, session) = (&emu, &session);
            s.spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    let c = session_client(emu, session);
                    for j in 0..5 {
                        let out = c
                            .assume_role()
                            .role_arn(PROD)
                            .role_session_name(format!("s{i}-{j}"))
                            .send()
                            .await
                            .unwrap();
                        let id = session_client(emu, out.credentials().unwrap())
                            .get_caller_identity()
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(
                            id.arn().unwrap(),
                            format!("arn:aws:sts::222222222222:assumed-role/PowerUser/s{i}-{j}")
                        );
                    }
                });
            });
        }
    });
    assert_eq!(emu.count("AssumeRole"), 80);
    assert_eq!(emu.count("GetCallerIdentity"), 80);
}

#[test]
fn start_and_stop_are_fast_even_with_idle_keep_alive_connections() {
    let t = Instant::now();
    let emu = Emulator::start(World::demo()).unwrap();
    assert!(
        t.elapsed() < Duration::from_millis(200),
        "start took {:?}",
        t.elapsed()
    );
    assert!(emu.endpoint_url().starts_with("http://127.0.0.1:"));
    assert_eq!(
        emu.endpoint_url(),
        format!("http://127.0.0.1:{}", emu.port())
    );
    // An idle keep-alive connection must not hold up stop.
    let idle = std::net::TcpStream::connect(("127.0.0.1", emu.port())).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let port = emu.port();
    let t = Instant::now();
    emu.stop();
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "stop took {:?}",
        t.elapsed()
    );
    drop(idle);
    // The port no longer accepts connections.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn start_on_a_fixed_address_and_drop_stops() {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    {
        let emu = Emulator::start_on(World::demo(), addr).unwrap();
        assert_eq!(emu.port(), addr.port());
        // A second emulator cannot bind the same port.
        assert!(Emulator::start_on(World::demo(), addr).is_err());
    }
    // Dropped: the port is free again.
    let again = Emulator::start_on(World::demo(), addr).unwrap();
    assert_eq!(again.port(), addr.port());
}

#[test]
fn clock_controls() {
    let emu = Emulator::start(World::demo()).unwrap();
    assert_eq!(emu.offset_secs(), 0);
    emu.advance(Duration::from_secs(90));
    assert_eq!(emu.offset_secs(), 90);
    emu.set_offset_secs(-5);
    assert_eq!(emu.offset_secs(), -5);
    let skew = (chrono::Utc::now() - emu.now()).num_seconds();
    assert!((4..=6).contains(&skew));
}

#[tokio::test]
async fn clear_log_empties_the_log() {
    let emu = Emulator::start(World::demo()).unwrap();
    alice(&emu).get_caller_identity().send().await.unwrap();
    assert_eq!(emu.requests().len(), 1);
    emu.clear_log();
    assert!(emu.requests().is_empty());
    assert_eq!(emu.count_all("GetCallerIdentity"), 0);
}
