//! The credentials server (`serve`, `exec --server`) attacked by another
//! local user: uid 65534 through `setpriv`, as in issue 25. Each attack
//! uses inputs only the check under test stops, and the expected answers
//! are spelled out here, not taken from the implementation.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::server::{get, Served};
use crate::util::*;

/// Debian's python3: readable by every user (a pyenv shim under /root is
/// not).
const PYTHON: &str = "/usr/bin/python3";

/// Debian's python3 as the attacker ([`as_attacker`]), or None (a skip)
/// without it.
fn attacker_python() -> Option<Command> {
    if !Path::new(PYTHON).is_file() {
        skip(&format!("no {PYTHON}"), ".ci/run installs python3-venv");
        return None;
    }
    as_attacker(PYTHON)
}

/// Sends each request of a JSON list on its own connection to ADDR, and
/// prints `STATUS BODY_LENGTH` per request (`0 0`: no answer).
const RAW_CLIENT: &str = r#"
import json, socket, sys
host, port = sys.argv[1].rsplit(":", 1)
for req in json.loads(sys.stdin.read()):
    s = socket.create_connection((host, int(port)), timeout=10)
    s.sendall(req.encode("latin-1"))
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except OSError:
        pass
    s.close()
    head, _, body = out.partition(b"\r\n\r\n")
    status = int(head[9:12]) if head[9:12].isdigit() else 0
    print(status, len(body), flush=True)
"#;

/// Every request in `requests` sent by the attacker: (status, body length).
fn attack(addr: &str, requests: &[String]) -> Option<Vec<(u16, usize)>> {
    let mut c = attacker_python()?;
    let mut child = c
        .args(["-c", RAW_CLIENT, addr])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(requests).unwrap().as_bytes())
        .unwrap();
    let out = output_bounded(child, "the attacker's raw client");
    assert!(out.status.success(), "attacker's client: {}", stderr(&out));
    let answers: Vec<(u16, usize)> = stdout(&out)
        .lines()
        .map(|l| {
            let (s, n) = l.split_once(' ').unwrap();
            (s.parse().unwrap(), n.parse().unwrap())
        })
        .collect();
    assert_eq!(answers.len(), requests.len(), "{}", stdout(&out));
    Some(answers)
}

fn request(method: &str, target: &str, headers: &[(&str, &str)]) -> String {
    let mut r = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str("\r\n");
    r
}

/// A hex digit other than `c`.
fn other_hex(c: char) -> char {
    if c == '0' {
        '1'
    } else {
        '0'
    }
}

/// Issue 25, items 8 and 11: without the token the server says nothing,
/// not even which targets exist, and only the exact token opens a route.
/// Each near miss below is stopped by the token comparison alone (the path
/// is right, the header is the one SDKs send).
#[test]
fn without_the_exact_token_another_user_learns_nothing() {
    let h = Home::new();
    let served = Served::start_with(h.std_mfacli(), &["prod", "staging"]);
    let (addr, path, token) = served.route("prod");
    let (_, staging_path, staging_token) = served.route("staging");
    assert_eq!(token.len(), 64, "256 bits as hex");
    assert!(token
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));

    let mut changed_first = token.clone();
    changed_first.replace_range(0..1, &other_hex(token.chars().next().unwrap()).to_string());
    let mut changed_middle = token.clone();
    changed_middle.replace_range(
        31..32,
        &other_hex(token.chars().nth(31).unwrap()).to_string(),
    );
    let mut changed_last = token.clone();
    changed_last.replace_range(
        63..64,
        &other_hex(token.chars().nth(63).unwrap()).to_string(),
    );
    let upper = token.to_ascii_uppercase();
    // The case change must change something (a token of digits only has
    // a 1 in 2^64 chance).
    assert_ne!(upper, token);

    // The near misses in the Authorization header, against the right path.
    let near_misses: Vec<(&str, String)> = vec![
        (
            "a strict prefix (all but the last char)",
            token[..63].to_owned(),
        ),
        ("a strict prefix (half)", token[..32].to_owned()),
        ("a strict prefix (one char)", token[..1].to_owned()),
        ("the first char changed", changed_first),
        ("a middle char changed", changed_middle),
        ("the last char changed", changed_last),
        ("the token plus one char", format!("{token}0")),
        ("the token twice", format!("{token}{token}")),
        ("the token plus a word", format!("{token} x")),
        ("the token upper-cased", upper),
        ("a Bearer token", format!("Bearer {token}")),
        ("empty", String::new()),
        ("another route's token", staging_token.clone()),
    ];
    let mut cases: Vec<(String, String)> = near_misses
        .iter()
        .map(|(what, v)| {
            (
                format!("Authorization: {what}"),
                request("GET", &path, &[("Authorization", v)]),
            )
        })
        .collect();
    // The exact token anywhere but the Authorization header.
    for header in [
        "X-Authorization",
        "Proxy-Authorization",
        "Authorization-Token",
        "X-Aws-Ec2-Metadata-Token",
        "Cookie",
    ] {
        cases.push((
            format!("the token in {header}"),
            request("GET", &path, &[(header, &token)]),
        ));
    }
    for query in ["token", "Authorization", "auth"] {
        cases.push((
            format!("the token in ?{query}="),
            request("GET", &format!("{path}?{query}={token}"), &[]),
        ));
    }
    cases.push((
        "the token as a path segment".into(),
        request("GET", &format!("{path}/{token}"), &[]),
    ));
    // No token at all, against paths that exist and paths that do not: one
    // answer for all, so a target's existence is not confirmed.
    for p in [
        path.as_str(),
        staging_path.as_str(),
        "/creds/nope",
        "/creds/",
        "/",
        "/latest/meta-data/iam/security-credentials/",
    ] {
        cases.push((format!("no token, GET {p}"), request("GET", p, &[])));
        cases.push((format!("no token, POST {p}"), request("POST", p, &[])));
    }
    cases.push((
        "a wrong token, an unknown target".into(),
        request("GET", "/creds/nope", &[("Authorization", "wrong")]),
    ));

    let requests: Vec<String> = cases.iter().map(|(_, r)| r.clone()).collect();
    let Some(answers) = attack(&addr, &requests) else {
        return;
    };
    let wrong: Vec<String> = cases
        .iter()
        .zip(&answers)
        .filter(|(_, a)| **a != (403, 0))
        .map(|((what, _), a)| format!("{what}: {a:?}"))
        .collect();
    assert!(
        wrong.is_empty(),
        "expected 403 with no body for each of these, got:\n{}",
        wrong.join("\n")
    );

    // The harness can succeed: the exact token, from the same user, is
    // answered with the credentials (the token, not the uid, decides).
    let good = attack(
        &addr,
        &[request("GET", &path, &[("Authorization", &token)])],
    )
    .unwrap();
    assert_eq!(good[0].0, 200);
    assert!(good[0].1 > 100);
    // And the holder of a token may learn that a path is wrong.
    assert_eq!(get(&addr, "/creds/nope", Some(&token)).0, 404);
    assert_eq!(h.counts(), (1, 2), "no request above fetched anything");
}

/// Holds N connections to ADDR open, half of them silent, half with a
/// request line sent and nothing after it (a slow client); each one the
/// server closes is opened again. Prints `ready` once all N are open, then
/// `reopened K` every second, until killed.
const HOLDER: &str = r#"
import selectors, socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
n = int(sys.argv[2])
sel = selectors.DefaultSelector()
def open_one(i):
    try:
        s = socket.create_connection((host, int(port)), timeout=5)
    except OSError:
        return False
    if i % 2:
        s.sendall(b"GET /creds/prod HTTP/1.1\r\n")
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, i)
    return True
missing = list(range(n))
reopened, ready, last = 0, False, time.monotonic()
while True:
    still = []
    for i in missing:
        if not open_one(i):
            still.append(i)
    reopened += len(missing) - len(still)
    missing = still
    if not missing and not ready:
        print("ready", flush=True)
        ready = True
    for key, _ in sel.select(timeout=0.05 if missing else 0.5):
        try:
            data = key.fileobj.recv(4096)
        except OSError:
            data = b""
        if not data:
            sel.unregister(key.fileobj)
            key.fileobj.close()
            missing.append(key.data)
    if time.monotonic() - last > 1:
        print("reopened", reopened, flush=True)
        last = time.monotonic()
"#;

/// One request by the token holder: its status (0: no answer) and time.
fn timed_get(addr: &str, path: &str, token: &str) -> (u16, std::time::Duration) {
    use std::io::{Read, Write};
    let start = std::time::Instant::now();
    let status = (|| {
        let mut s = std::net::TcpStream::connect(addr).ok()?;
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .ok()?;
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {token}\r\n\r\n")
                .as_bytes(),
        )
        .ok()?;
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        std::str::from_utf8(out.get(9..12)?).ok()?.parse().ok()
    })()
    .unwrap_or(0);
    (status, start.elapsed())
}

/// Issue 25, item 1: another local user holding 300 connections open
/// (silent, or with a request started and never finished, reopened as soon
/// as the server closes them) does not starve the token holder: each of 20
/// requests is answered within 100 ms.
#[test]
fn another_users_idle_connections_do_not_starve_the_token_holder() {
    use std::io::BufRead;
    let h = Home::new();
    let mut serve = h.std_mfacli();
    serve.arg("-v");
    let mut served = Served::start_with(serve, &["prod"]);
    let (addr, path, token) = served.route("prod");
    let Some(mut c) = attacker_python() else {
        return;
    };
    let mut holder = crate::server::Running(
        c.args(["-c", HOLDER, &addr, "300"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let mut lines = std::io::BufReader::new(holder.0.stdout.take().unwrap()).lines();
    assert_eq!(
        lines.next().expect("the attacker reports").unwrap(),
        "ready",
        "the attacker opened its 300 connections"
    );
    let mut times = Vec::new();
    for _ in 0..20 {
        times.push(timed_get(&addr, &path, &token));
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    drop(holder);
    let answered = times.iter().filter(|(s, _)| *s == 200).count();
    let mut ms: Vec<f64> = times.iter().map(|(_, d)| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    eprintln!(
        "token holder under 300 idle connections of uid {ATTACKER}: {answered}/20 answered; \
         latency min {:.1} ms, median {:.1} ms, max {:.1} ms",
        ms[0], ms[10], ms[19]
    );
    let slow: Vec<String> = times
        .iter()
        .enumerate()
        .filter(|(_, (s, d))| *s != 200 || *d >= std::time::Duration::from_millis(100))
        .map(|(i, (s, d))| format!("request {i}: status {s} after {d:?}"))
        .collect();
    assert!(
        slow.is_empty(),
        "each request must be answered (200) within 100 ms:\n{}",
        slow.join("\n")
    );
    assert_eq!(h.counts(), (1, 1), "all from memory");
    // The server knew who the connections were from (sock_diag), rather
    // than treating every peer as unknown.
    let _ = served.proc.0.kill();
    let mut log = String::new();
    std::io::Read::read_to_string(&mut served.proc.0.stderr.take().unwrap(), &mut log).unwrap();
    assert!(
        log.contains(&format!(
            "another user (uid {ATTACKER}) holds 16 connections"
        )),
        "{log}"
    );
}
