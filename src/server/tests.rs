//! The server core in process: a stub fetcher and a manual clock.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};

use super::*;
use crate::clock::ManualClock;
use crate::server::peer::Peer;

struct Stub {
    calls: AtomicUsize,
    delay: Duration,
    clock: Arc<ManualClock>,
    fail: std::sync::atomic::AtomicBool,
}

impl Fetcher for Stub {
    fn fetch(&self, _target: &str) -> Result<TemporaryCredentials, UserError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(self.delay);
        if self.fail.load(Ordering::SeqCst) {
            return Err(UserError::new("no code source").hint("set a TOTP seed"));
        }
        Ok(TemporaryCredentials {
            access_key_id: format!("ASIA{n}"),
            secret_access_key: Secret::new("s"),
            session_token: Secret::new("t"),
            expiration: self.clock.now() + chrono::Duration::hours(1),
        })
    }
}

fn setup(delay: Duration) -> (Server, Arc<Stub>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 28, 8, 0, 0).unwrap(),
    ));
    let stub = Arc::new(Stub {
        calls: AtomicUsize::new(0),
        delay,
        clock: Arc::clone(&clock),
        fail: false.into(),
    });
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server = Server::start(
        listener,
        vec![RouteSpec {
            target: "prod".into(),
            margin_secs: 900,
        }],
        stub.clone(),
        clock.clone(),
        Log {
            level: crate::log::Level::Quiet,
            color: false,
        },
    )
    .unwrap();
    (server, stub, clock)
}

fn get(server: &Server, path: &str, token: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(server.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: x\r\n");
    if let Some(t) = token {
        req.push_str(&format!("Authorization: {t}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

fn token(server: &Server) -> String {
    server.client_env("prod").unwrap().1.expose().to_owned()
}

#[test]
fn serves_from_memory_and_renews_inside_the_margin() {
    let (server, stub, clock) = setup(Duration::ZERO);
    let t = token(&server);
    let (status, body) = get(&server, "/creds/prod", Some(&t));
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["AccessKeyId"], "ASIA0");
    assert_eq!(v["Expiration"], "2026-11-28T09:00:00Z");
    assert_eq!(v.as_object().unwrap().len(), 4);
    clock.advance(chrono::Duration::minutes(44));
    assert_eq!(get(&server, "/creds/prod", Some(&t)).0, 200);
    assert_eq!(stub.calls.load(Ordering::SeqCst), 1, "45 min left: memory");
    clock.advance(chrono::Duration::minutes(2));
    let (_, body) = get(&server, "/creds/prod", Some(&t));
    assert!(body.contains("ASIA1"), "{body}");
    assert_eq!(stub.calls.load(Ordering::SeqCst), 2);
    server.stop();
}

#[test]
fn concurrent_requests_share_one_renewal() {
    let (server, stub, _) = setup(Duration::from_millis(300));
    let t = token(&server);
    let server = Arc::new(server);
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let (s, t) = (Arc::clone(&server), t.clone());
            std::thread::spawn(move || get(&s, "/creds/prod", Some(&t)))
        })
        .collect();
    for h in handles {
        let (status, body) = h.join().unwrap();
        assert_eq!(status, 200);
        assert!(body.contains("ASIA0"), "{body}");
    }
    assert_eq!(stub.calls.load(Ordering::SeqCst), 1);
}

#[test]
fn bad_requests_get_a_status_and_nothing_else() {
    let (server, stub, _) = setup(Duration::ZERO);
    let t = token(&server);
    assert!(t.len() >= 32 && t.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(get(&server, "/creds/prod", None), (403, String::new()));
    assert_eq!(
        get(&server, "/creds/prod", Some("nope")),
        (403, String::new())
    );
    // The token with its last digit changed (a token ending in 0 gets 1).
    let last = if t.ends_with('0') { '1' } else { '0' };
    let almost = format!("{}{last}", &t[..t.len() - 1]);
    assert_ne!(almost, t);
    assert_eq!(get(&server, "/creds/prod", Some(&almost)).0, 403);
    assert_eq!(get(&server, "/creds/other", Some(&t)), (404, String::new()));
    assert_eq!(get(&server, "/", Some(&t)).0, 404);
    // Without the token a path that does not exist looks like one that
    // does: no target's existence is confirmed.
    assert_eq!(get(&server, "/creds/other", None), (403, String::new()));
    assert_eq!(get(&server, "/", Some("nope")), (403, String::new()));
    assert_eq!(
        stub.calls.load(Ordering::SeqCst),
        0,
        "no fetch for bad requests"
    );
    // A huge request head is refused with 431, and the server goes on.
    let mut s = TcpStream::connect(server.addr()).unwrap();
    let _ = s.write_all(
        format!("GET /creds/prod HTTP/1.1\r\nX: {}\r\n", "a".repeat(100_000)).as_bytes(),
    );
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    assert!(String::from_utf8_lossy(&out).starts_with("HTTP/1.1 431"));
    assert_eq!(get(&server, "/creds/prod", Some(&t)).0, 200);
}

#[test]
fn a_slow_client_does_not_delay_another() {
    let (server, _, _) = setup(Duration::ZERO);
    let t = token(&server);
    let mut slow = TcpStream::connect(server.addr()).unwrap();
    slow.write_all(b"GET /creds/prod HTTP/1.1\r\n").unwrap();
    let start = Instant::now();
    for _ in 0..20 {
        assert_eq!(get(&server, "/creds/prod", Some(&t)).0, 200);
    }
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    drop(slow);
}

#[test]
fn failed_renewal_is_an_error_json_and_the_server_goes_on() {
    let (server, stub, clock) = setup(Duration::ZERO);
    let t = token(&server);
    stub.fail.store(true, Ordering::SeqCst);
    let (status, body) = get(&server, "/creds/prod", Some(&t));
    assert_eq!(status, 503);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["Code"], "CredentialsUnavailable");
    assert!(
        v["Message"].as_str().unwrap().contains("set a TOTP seed"),
        "{v}"
    );
    // Within the back-off the error is repeated without a new attempt.
    assert_eq!(get(&server, "/creds/prod", Some(&t)).0, 503);
    assert_eq!(stub.calls.load(Ordering::SeqCst), 1);
    stub.fail.store(false, Ordering::SeqCst);
    std::thread::sleep(ERROR_BACKOFF + Duration::from_millis(100));
    assert_eq!(get(&server, "/creds/prod", Some(&t)).0, 200);
    // Credentials still valid are served while renewal fails.
    clock.advance(chrono::Duration::minutes(50));
    stub.fail.store(true, Ordering::SeqCst);
    assert_eq!(get(&server, "/creds/prod", Some(&t)).0, 200);
    clock.advance(chrono::Duration::minutes(10));
    std::thread::sleep(ERROR_BACKOFF + Duration::from_millis(100));
    assert_eq!(get(&server, "/creds/prod", Some(&t)).0, 503);
}

#[test]
fn tokens_compare_in_full() {
    assert!(constant_time_eq(b"abc", b"abc"));
    assert!(!constant_time_eq(b"abc", b"abd"));
    assert!(!constant_time_eq(b"abc", b"ab"));
    // Two differences by the same bits cancel in an xor-accumulator: a
    // guess with two hex digits of the token swapped must still fail.
    let token = b"3f9a";
    assert!(!constant_time_eq(token, b"f39a"));
    assert!(!constant_time_eq(b"ab", b"ba"));
    assert_ne!(
        random_token().unwrap().expose(),
        random_token().unwrap().expose()
    );
}

#[test]
fn a_full_table_gives_way_to_the_own_user_and_bounds_each_other_user() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let _in = rt.enter();
    let handle = || tokio::spawn(std::future::pending::<()>()).abort_handle();
    let mut t = Conns::default();
    let add = |t: &mut Conns, peer: Peer| -> bool {
        let Some(evicted) = t.admit(peer) else {
            return false;
        };
        if let Some(e) = evicted {
            e.abort();
        }
        let id = t.next;
        t.next += 1;
        t.open.insert(id, (peer, handle()));
        true
    };
    // One other user: MAX_PER_OTHER_USER, then refused.
    for _ in 0..MAX_PER_OTHER_USER {
        assert!(add(&mut t, Peer::Other(65534)));
    }
    assert!(!add(&mut t, Peer::Other(65534)));
    // Fill the rest with many other users and unknown peers.
    let mut uid = 1000;
    while t.open.len() < MAX_CONNECTIONS - 10 {
        assert!(add(&mut t, Peer::Other(uid)));
        uid += 1;
    }
    while t.open.len() < MAX_CONNECTIONS {
        assert!(add(&mut t, Peer::Unknown));
    }
    // Full: the own user takes the oldest other user's place (the first).
    assert!(add(&mut t, Peer::Own));
    assert_eq!(t.open.len(), MAX_CONNECTIONS);
    assert!(!t.open.contains_key(&0), "the oldest other user's gave way");
    assert!(t.open.contains_key(&1));
    // An unknown peer takes another user's place too, never the own user's.
    assert!(add(&mut t, Peer::Unknown));
    assert!(!t.open.contains_key(&1));
    // With only the own user's and unknown connections left, another user
    // is refused.
    t.open.retain(|_, (p, _)| p.rank() > 0);
    while t.open.len() < MAX_CONNECTIONS {
        assert!(add(&mut t, Peer::Own));
    }
    assert!(!add(&mut t, Peer::Other(4242)));
    let unknown_before = t.open.values().filter(|(p, _)| *p == Peer::Unknown).count();
    assert!(add(&mut t, Peer::Own));
    let unknown_after = t.open.values().filter(|(p, _)| *p == Peer::Unknown).count();
    assert_eq!(unknown_after, unknown_before - 1);
}

/// The server's state without its sockets: renewals called directly.
fn shared(stub: Arc<Stub>, clock: Arc<ManualClock>) -> Shared {
    let mut routes = BTreeMap::new();
    routes.insert(
        "/creds/prod".to_owned(),
        Route {
            target: "prod".into(),
            path: "/creds/prod".into(),
            token: Secret::new("t"),
            margin_secs: 900,
            slot: Slot::default(),
        },
    );
    Shared {
        routes,
        fetcher: stub,
        clock,
        log: Log {
            level: crate::log::Level::Quiet,
            color: false,
        },
        stopping: AtomicBool::new(false),
    }
}

fn stub(clock: &Arc<ManualClock>) -> Arc<Stub> {
    Arc::new(Stub {
        calls: AtomicUsize::new(0),
        delay: Duration::ZERO,
        clock: Arc::clone(clock),
        fail: false.into(),
    })
}

/// The back-off and the last-resort rule without waiting: the failure's
/// time is moved back instead (the in-server test of this takes 10 s).
#[test]
fn a_failed_renewal_backs_off_and_still_valid_credentials_are_served() {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 28, 8, 0, 0).unwrap(),
    ));
    let stub = stub(&clock);
    let s = shared(stub.clone(), clock.clone());
    let route = &s.routes["/creds/prod"];
    let calls = || stub.calls.load(Ordering::SeqCst);
    let age_the_failure = || {
        let mut st = lock(&route.slot.state);
        let (at, _) = st.last_error.as_mut().unwrap();
        *at = Instant::now()
            .checked_sub(ERROR_BACKOFF + Duration::from_millis(10))
            .unwrap();
    };
    stub.fail.store(true, Ordering::SeqCst);
    let e = s.credentials(route).unwrap_err();
    assert!(e.hint.unwrap().contains("set a TOTP seed"));
    assert_eq!(s.credentials(route).unwrap_err().message, "no code source");
    assert_eq!(calls(), 1, "within the back-off: no new attempt");
    age_the_failure();
    stub.fail.store(false, Ordering::SeqCst);
    assert_eq!(s.credentials(route).unwrap().access_key_id, "ASIA1");
    assert!(lock(&route.slot.state).last_error.is_none());
    // 10 minutes left (inside the 15-minute margin), renewal failing: the
    // old credentials are served.
    clock.advance(chrono::Duration::minutes(50));
    stub.fail.store(true, Ordering::SeqCst);
    assert_eq!(s.credentials(route).unwrap().access_key_id, "ASIA1");
    assert_eq!(calls(), 3);
    // 61 s left: still served (from the back-off) ...
    clock.advance(chrono::Duration::seconds(9 * 60 - 1));
    assert_eq!(s.credentials(route).unwrap().access_key_id, "ASIA1");
    // ... and at 60 s left no longer, failing or backing off.
    clock.advance(chrono::Duration::seconds(1));
    assert!(s.credentials(route).is_err());
    age_the_failure();
    assert!(s.credentials(route).is_err());
    assert_eq!(calls(), 4);
    // While renewal works, credentials inside the margin are renewed.
    stub.fail.store(false, Ordering::SeqCst);
    age_the_failure();
    assert_eq!(s.credentials(route).unwrap().access_key_id, "ASIA4");
    clock.advance(chrono::Duration::minutes(45) - chrono::Duration::seconds(1));
    assert_eq!(s.fresh(route).unwrap().access_key_id, "ASIA4");
    clock.advance(chrono::Duration::seconds(1));
    assert!(s.fresh(route).is_none(), "15 minutes left: not fresh");
}

#[test]
fn the_error_body_has_the_message_and_the_hint() {
    let v: serde_json::Value = serde_json::from_str(&error_json(
        &UserError::new("no code source").hint("set a TOTP seed"),
    ))
    .unwrap();
    assert_eq!(v["Code"], "CredentialsUnavailable");
    assert_eq!(
        v["Message"],
        "mfacli cannot renew the credentials: no code source (hint: set a TOTP seed)"
    );
    let v: serde_json::Value = serde_json::from_str(&error_json(&UserError::new("x"))).unwrap();
    assert_eq!(v["Message"], "mfacli cannot renew the credentials: x");
}

#[test]
fn the_margin_is_at_least_the_sdks_or_half_the_session() {
    assert_eq!(margin_for(300, 3600), 900);
    assert_eq!(margin_for(1200, 3600), 1200);
    assert_eq!(margin_for(300, 1200), 600);
    assert_eq!(margin_for(0, 901), 450);
}

#[test]
fn prefetch_fills_memory_and_an_unknown_target_is_an_error() {
    let (server, stub, _) = setup(Duration::ZERO);
    server.prefetch("prod").unwrap();
    assert_eq!(stub.calls.load(Ordering::SeqCst), 1);
    assert_eq!(get(&server, "/creds/prod", Some(&token(&server))).0, 200);
    assert_eq!(stub.calls.load(Ordering::SeqCst), 1, "served from memory");
    let e = server.prefetch("dev").unwrap_err();
    assert!(e.message.contains("no route for 'dev'"), "{e}");
    // A failing first fetch is the caller's error (exec stops there).
    let (server, stub, _) = setup(Duration::ZERO);
    stub.fail.store(true, Ordering::SeqCst);
    assert!(server.prefetch("prod").is_err());
}

#[test]
fn a_stopped_server_takes_no_more_connections() {
    let (server, _, _) = setup(Duration::ZERO);
    let addr = server.addr();
    assert!(server.client_env("dev").is_none());
    let (url, _) = server.client_env("prod").unwrap();
    assert_eq!(url, format!("http://{addr}/creds/prod"));
    server.stop();
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn malformed_requests_get_400_and_the_own_user_may_wait_before_sending() {
    let (server, _, _) = setup(Duration::ZERO);
    let mut s = TcpStream::connect(server.addr()).unwrap();
    s.write_all(b"hello\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{out}");
    // Our own user gets the whole read deadline for its first byte, not
    // the half second other users get.
    let mut s = TcpStream::connect(server.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    let t = token(&server);
    s.write_all(format!("GET /creds/prod HTTP/1.1\r\nAuthorization: {t}\r\n\r\n").as_bytes())
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
}

/// A connection to `addr` owned by `uid`: as root, a socket created under
/// another file-system uid (setfsuid is per thread) is that user's.
#[cfg(target_os = "linux")]
fn connect_as(uid: u32, addr: std::net::SocketAddr) -> TcpStream {
    std::thread::spawn(move || {
        // SAFETY: setfsuid changes the calling thread's file-system uid only.
        unsafe { libc::setfsuid(uid) };
        let c = TcpStream::connect(addr);
        // SAFETY: as above, back to root.
        unsafe { libc::setfsuid(0) };
        c.unwrap()
    })
    .join()
    .unwrap()
}

/// How long until the server closes `s` (reads to the end).
fn time_to_close(mut s: TcpStream) -> std::thread::JoinHandle<(Duration, usize)> {
    std::thread::spawn(move || {
        let start = Instant::now();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        (start.elapsed(), out.len())
    })
}

#[cfg(target_os = "linux")]
#[test]
fn another_users_idle_connections_close_soon_and_beyond_its_share_are_held_unanswered() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return; // Needs root; server_attacks:: runs it as uid 65534.
    }
    let (server, _, _) = setup(Duration::ZERO);
    let local = server.addr();
    let c = connect_as(65534, local);
    let peer = c.local_addr().unwrap();
    assert_eq!(Peer::of(local, peer), Peer::Other(65534));
    let mut conns = vec![c];
    conns.extend((0..MAX_PER_OTHER_USER).map(|_| connect_as(65534, local)));
    let waits: Vec<_> = conns.into_iter().map(time_to_close).collect();
    // The token holder is served meanwhile.
    assert_eq!(get(&server, "/creds/prod", Some(&token(&server))).0, 200);
    let closed: Vec<(Duration, usize)> = waits.into_iter().map(|h| h.join().unwrap()).collect();
    let (admitted, refused) = closed.split_at(MAX_PER_OTHER_USER);
    for (after, bytes) in admitted {
        // FIRST_BYTE_DEADLINE (0.5 s), not the READ_DEADLINE (2 s).
        assert!(*after < Duration::from_millis(1500), "{after:?}");
        assert_eq!(*bytes, 0);
    }
    // The 17th is parked: held unanswered for READ_DEADLINE, not closed
    // at once (a client reconnecting on close would spin the loop).
    let (after, bytes) = refused[0];
    assert!(after >= Duration::from_millis(1500), "{after:?}");
    assert_eq!(bytes, 0);
    // Its closed connections left the table: the same user is admitted
    // again (closed at its first-byte deadline, not parked).
    let (after, _) = time_to_close(connect_as(65534, local)).join().unwrap();
    assert!(after < Duration::from_millis(1500), "{after:?}");
}

#[test]
fn a_finished_connection_leaves_the_table() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let _in = rt.enter();
    let conns = Arc::new(Mutex::new(Conns::default()));
    let task = tokio::spawn(std::future::pending::<()>()).abort_handle();
    lock(&conns).open.insert(7, (Peer::Own, task));
    drop(Registered(Arc::clone(&conns), 7));
    assert!(lock(&conns).open.is_empty());
}

#[test]
fn exit_codes_follow_the_shell() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;
    assert_eq!(signals::exit_code(ExitStatus::from_raw(3 << 8)), 3);
    assert_eq!(signals::exit_code(ExitStatus::from_raw(libc::SIGTERM)), 143);
    assert_eq!(signals::exit_code(ExitStatus::from_raw(libc::SIGKILL)), 137);
}

/// The real fetcher over a bastion and three targets (no network: only
/// planning is called).
fn chain_fetcher(config: &str) -> (tempfile::TempDir, ChainFetcher) {
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("credentials");
    std::fs::write(
        &creds,
        "[bastion]\naws_access_key_id = AKIAALICE0EXAMPLE001\naws_secret_access_key = s\n",
    )
    .unwrap();
    let cfg = dir.path().join("config");
    std::fs::write(&cfg, "").unwrap();
    let sources = crate::plan::Sources {
        config: crate::config::Config::parse(config, std::path::Path::new("/c.toml")).unwrap(),
        aws: crate::aws_files::AwsFiles::load_from(creds, cfg).unwrap(),
        overrides: Default::default(),
        env: crate::env::Env::from_pairs([("MFACLI_CACHE_DIR", dir.path().join("cache"))]),
        flag_policy: None,
    };
    let log = Log {
        level: crate::log::Level::Quiet,
        color: false,
    };
    (dir, ChainFetcher::new(sources, log))
}

#[test]
fn the_chain_fetchers_margin_follows_the_targets_session() {
    let config = "[bastion]\nmfa_serial = \"arn:aws:iam::111111111111:mfa/alice\"\n\
        [targets.prod]\nrole_arn = \"arn:aws:iam::222222222222:role/PowerUser\"\n\
        [targets.short]\nrole_arn = \"arn:aws:iam::222222222222:role/Short\"\nduration = \"20m\"\n";
    let (_d, f) = chain_fetcher(config);
    assert_eq!(f.margin_secs("prod").unwrap(), 900);
    assert_eq!(f.margin_secs("short").unwrap(), 600, "half of 20 minutes");
    assert!(f.margin_secs("nope").is_err());
    let (_d, f) = chain_fetcher(&format!("refresh_margin = \"25m\"\n{config}"));
    assert_eq!(f.margin_secs("prod").unwrap(), 1500);
}
