//! Latency of credential fetches from `mfacli serve`, beside a bare
//! loopback HTTP round trip (the floor: a thread-per-connection server that
//! answers a fixed body). Built with plain rustc by bench/server.sh.
//!
//! usage: server_client URL TOKEN N

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

fn round_trip(addr: &str, request: &[u8]) -> (Duration, usize) {
    let start = Instant::now();
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).ok();
    s.write_all(request).expect("write");
    let mut out = Vec::with_capacity(2048);
    s.read_to_end(&mut out).expect("read");
    assert!(out.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&out));
    (start.elapsed(), out.len())
}

fn stats(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (ms(v[v.len() / 2]), ms(v[v.len() * 99 / 100]))
}

fn bare_server() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let body = "x".repeat(1200);
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let body = body.clone();
            std::thread::spawn(move || {
                let mut s = s;
                s.set_nodelay(true).ok();
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    addr
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (url, token, n) = (&args[1], &args[2], args[3].parse::<usize>().unwrap());
    let rest = url.strip_prefix("http://").expect("http URL");
    let (addr, path) = rest.split_at(rest.find('/').unwrap());
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nAuthorization: {token}\r\n\r\n"
    );
    let bare = bare_server();
    let bare_req = format!("GET {path} HTTP/1.1\r\nHost: {bare}\r\n\r\n");
    // Warm up both.
    for _ in 0..200 {
        round_trip(&bare, bare_req.as_bytes());
        round_trip(addr, req.as_bytes());
    }
    let mut floor = Vec::with_capacity(n);
    let mut served = Vec::with_capacity(n);
    let mut size = 0;
    // Interleaved, so both see the same machine load.
    for _ in 0..n {
        floor.push(round_trip(&bare, bare_req.as_bytes()).0);
        let (d, len) = round_trip(addr, req.as_bytes());
        served.push(d);
        size = len;
    }
    let (f50, f99) = stats(floor);
    let (s50, s99) = stats(served);
    println!("requests            {n} each, new connection per request");
    println!("bare loopback HTTP  p50 {f50:.3} ms  p99 {f99:.3} ms");
    println!("mfacli serve        p50 {s50:.3} ms  p99 {s99:.3} ms  ({size} bytes per response)");
}
