//! The running emulator: a std::net listener with one thread per connection
//! (keep-alive, as the AWS SDKs pool connections), a request log, fault
//! injection and a movable clock, all shared behind mutexes.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, BufReader};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::http::{self, ReadError, Request, Response};
use crate::sigv4;
use crate::sts::{self, Outcome, Params, State, StsError};
use crate::world::{World, WorldError};

/// Idle keep-alive connections are closed after this long. Longer than
/// hyper's 90 s pool idle timeout, so the client always gives up on a pooled
/// connection first (otherwise a request sent just as the server closes fails
/// spuriously). Stop does not depend on it: it shuts connections down itself.
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// A failure to inject into the next requests (see [`Emulator::inject`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Sleep this long before answering (combines with the other faults).
    Latency(Duration),
    /// HTTP 500, Code `InternalFailure` (Type Receiver).
    InternalError,
    /// HTTP 400, Code `Throttling`, "Rate exceeded".
    Throttling,
    /// Read the request, then close the socket without any response.
    DropConnection,
}

/// One request as the emulator saw it. Never holds secrets or token codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// The `Action` parameter ("" if absent).
    pub action: String,
    /// From the Authorization header's Credential, whether or not it verified.
    pub access_key_id: Option<String>,
    /// Whether a `TokenCode` was sent (the code itself is not kept).
    pub token_code_sent: bool,
    pub serial_number: Option<String>,
    pub duration_seconds: Option<u32>,
    pub role_arn: Option<String>,
    /// HTTP status; 0 when the connection was dropped by [`Fault::DropConnection`].
    pub status: u16,
    pub error_code: Option<String>,
    /// Emulator clock time when the request was handled.
    pub at: DateTime<Utc>,
}

impl fmt::Display for RequestRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} key={} status={}",
            self.at.format("%Y-%m-%dT%H:%M:%SZ"),
            if self.action.is_empty() {
                "-"
            } else {
                &self.action
            },
            self.access_key_id.as_deref().unwrap_or("-"),
            self.status
        )?;
        if let Some(code) = &self.error_code {
            write!(f, " error={code}")?;
        }
        if let Some(role) = &self.role_arn {
            write!(f, " role={role}")?;
        }
        if self.token_code_sent {
            write!(f, " mfa=yes")?;
        }
        Ok(())
    }
}

/// Why the emulator could not start.
#[derive(Debug)]
pub enum StartError {
    World(WorldError),
    Io(io::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::World(e) => e.fmt(f),
            StartError::Io(e) => write!(f, "cannot listen: {e}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::World(e) => Some(e),
            StartError::Io(e) => Some(e),
        }
    }
}

impl From<WorldError> for StartError {
    fn from(e: WorldError) -> Self {
        StartError::World(e)
    }
}

impl From<io::Error> for StartError {
    fn from(e: io::Error) -> Self {
        StartError::Io(e)
    }
}

#[derive(Debug)]
struct ActiveFault {
    fault: Fault,
    remaining: Option<usize>,
}

#[derive(Debug)]
struct Shared {
    clock: Clock,
    state: Mutex<State>,
    log: Mutex<Vec<RequestRecord>>,
    faults: Mutex<Vec<ActiveFault>>,
    stopping: AtomicBool,
    log_to_stderr: AtomicBool,
    /// Open connections, so that stop can shut them down.
    connections: Mutex<HashMap<u64, TcpStream>>,
    next_connection: AtomicU64,
}

/// Locks survive a panicking handler thread: the data is still consistent
/// enough for a test double, and poisoning would hide the original panic.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running STS emulator. Dropping it stops it.
#[derive(Debug)]
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept_thread: Option<JoinHandle<()>>,
}

impl Emulator {
    /// Validate `world` and serve it on 127.0.0.1 with an ephemeral port.
    pub fn start(world: World) -> Result<Emulator, StartError> {
        Emulator::start_on(world, SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Validate `world` and serve it on `addr`.
    pub fn start_on(world: World, addr: SocketAddr) -> Result<Emulator, StartError> {
        world.validate()?;
        let state =
            State::new(world).map_err(|e| StartError::World(WorldError::Parse(e.message)))?;
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            clock: Clock::default(),
            state: Mutex::new(state),
            log: Mutex::new(Vec::new()),
            faults: Mutex::new(Vec::new()),
            stopping: AtomicBool::new(false),
            log_to_stderr: AtomicBool::new(false),
            connections: Mutex::new(HashMap::new()),
            next_connection: AtomicU64::new(0),
        });
        let accept_shared = Arc::clone(&shared);
        let accept_thread = thread::Builder::new()
            .name("sts-emulator-accept".into())
            .spawn(move || accept_loop(listener, accept_shared))?;
        Ok(Emulator {
            shared,
            addr,
            accept_thread: Some(accept_thread),
        })
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint_url(&self) -> String {
        let host = if self.addr.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else {
            match self.addr {
                SocketAddr::V4(a) => a.ip().to_string(),
                SocketAddr::V6(a) => format!("[{}]", a.ip()),
            }
        };
        format!("http://{host}:{}", self.addr.port())
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Emulator time: real UTC now plus the offset.
    pub fn now(&self) -> DateTime<Utc> {
        self.shared.clock.now()
    }

    /// Move the emulator clock forward (expire credentials without sleeping).
    pub fn advance(&self, d: Duration) {
        self.shared.clock.advance(d);
    }

    pub fn set_offset_secs(&self, secs: i64) {
        self.shared.clock.set_offset_secs(secs);
    }

    pub fn offset_secs(&self) -> i64 {
        self.shared.clock.offset_secs()
    }

    /// The emulated state, for the IAM controls in src/iam.rs.
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.shared.state)
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.shared.log).clone()
    }

    /// Requests with this Action that succeeded (HTTP 200).
    pub fn count(&self, action: &str) -> usize {
        lock(&self.shared.log)
            .iter()
            .filter(|r| r.action == action && r.status == 200)
            .count()
    }

    /// Requests with this Action, whatever their outcome.
    pub fn count_all(&self, action: &str) -> usize {
        lock(&self.shared.log)
            .iter()
            .filter(|r| r.action == action)
            .count()
    }

    pub fn clear_log(&self) {
        lock(&self.shared.log).clear();
    }

    /// Apply `fault` to the next `times` requests (`None`: until [`Emulator::clear_faults`]).
    /// Several faults may be active at once; latency adds to any of the others.
    pub fn inject(&self, fault: Fault, times: Option<usize>) {
        if times == Some(0) {
            return;
        }
        lock(&self.shared.faults).push(ActiveFault {
            fault,
            remaining: times,
        });
    }

    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// Revoke every session issued so far: they then fail with ExpiredToken.
    pub fn expire_all_sessions(&self) {
        lock(&self.shared.state).revoke_all();
    }

    /// Print one line per request to stderr (used by the binary).
    pub fn set_stderr_logging(&self, enabled: bool) {
        self.shared.log_to_stderr.store(enabled, Ordering::SeqCst);
    }

    /// Stop accepting, close open connections and join the accept thread.
    pub fn stop(self) {
        // Drop does the work.
    }

    fn shutdown(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the blocking accept() with a throwaway connection.
        let mut wake = self.addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(match wake {
                SocketAddr::V4(_) => [127, 0, 0, 1].into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
        if let Some(t) = self.accept_thread.take() {
            let _ = t.join();
        }
        for (_, conn) in lock(&self.shared.connections).drain() {
            let _ = conn.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else {
            // e.g. EMFILE: back off briefly rather than spin.
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        let id = shared.next_connection.fetch_add(1, Ordering::SeqCst);
        if let Ok(clone) = stream.try_clone() {
            lock(&shared.connections).insert(id, clone);
        }
        let conn_shared = Arc::clone(&shared);
        let spawned = thread::Builder::new()
            .name(format!("sts-emulator-conn-{id}"))
            .spawn(move || {
                serve_connection(&conn_shared, stream);
                lock(&conn_shared.connections).remove(&id);
            });
        if spawned.is_err() {
            if let Some(s) = lock(&shared.connections).remove(&id) {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }
}

fn serve_connection(shared: &Shared, stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(IDLE_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    loop {
        if shared.stopping.load(Ordering::SeqCst) {
            break;
        }
        let req = match http::read_request(&mut reader, &mut writer) {
            Ok(req) => req,
            Err(ReadError::Closed | ReadError::Io(_)) => break,
            Err(ReadError::Bad(status, message)) => {
                let e = StsError::new(status, "MalformedRequest", message);
                let outcome = Outcome::error(&e, &sts::new_request_id());
                let _ = http::write_response(&mut writer, &render(shared, &outcome, ""), false);
                break;
            }
        };
        let keep_alive = req.keep_alive();
        match handle_request(shared, &req) {
            Some(resp) => {
                if http::write_response(&mut writer, &resp, keep_alive).is_err() || !keep_alive {
                    break;
                }
            }
            None => {
                let _ = writer.shutdown(Shutdown::Both);
                break;
            }
        }
    }
}

/// Take the faults that apply to this request, counting them down.
fn take_faults(shared: &Shared) -> Vec<Fault> {
    let mut active = lock(&shared.faults);
    let taken = active.iter().map(|a| a.fault.clone()).collect();
    for a in active.iter_mut() {
        if let Some(n) = a.remaining.as_mut() {
            *n -= 1;
        }
    }
    active.retain(|a| a.remaining != Some(0));
    taken
}

/// Answer one request; `None` means drop the connection without answering.
fn handle_request(shared: &Shared, req: &Request) -> Option<Response> {
    let faults = take_faults(shared);
    let latency: Duration = faults
        .iter()
        .filter_map(|f| match f {
            Fault::Latency(d) => Some(*d),
            _ => None,
        })
        .sum();
    if !latency.is_zero() {
        thread::sleep(latency);
    }
    let request_id = sts::new_request_id();
    let failure = faults.iter().find(|f| !matches!(f, Fault::Latency(_)));
    let outcome = match failure {
        Some(Fault::DropConnection) => None,
        Some(Fault::InternalError) => Some(Outcome::error(
            &StsError::new(
                500,
                "InternalFailure",
                "The request processing has failed because of an unknown error, exception or failure.",
            ),
            &request_id,
        )),
        Some(Fault::Throttling) => Some(Outcome::error(
            &StsError::new(400, "Throttling", "Rate exceeded"),
            &request_id,
        )),
        _ => {
            let now = shared.clock.now();
            Some(lock(&shared.state).handle(req, now, &request_id))
        }
    };
    record(shared, req, outcome.as_ref());
    outcome.map(|o| render(shared, &o, &request_id))
}

fn render(shared: &Shared, outcome: &Outcome, request_id: &str) -> Response {
    let date = shared
        .clock
        .now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let mut headers = vec![
        ("Content-Type".to_string(), "text/xml".to_string()),
        ("Date".to_string(), date),
    ];
    if !request_id.is_empty() {
        headers.push(("x-amzn-RequestId".to_string(), request_id.to_string()));
    }
    Response {
        status: outcome.status,
        headers,
        body: outcome.body.clone().into_bytes(),
    }
}

fn record(shared: &Shared, req: &Request, outcome: Option<&Outcome>) {
    let params = Params::from_request(req);
    let owned = |name: &str| params.get(name).map(str::to_string);
    let rec = RequestRecord {
        action: params.get("Action").unwrap_or("").to_string(),
        access_key_id: sigv4::parse_authorization(req)
            .ok()
            .map(|a| a.access_key_id),
        token_code_sent: params.get("TokenCode").is_some(),
        serial_number: owned("SerialNumber"),
        duration_seconds: params.get("DurationSeconds").and_then(|d| d.parse().ok()),
        role_arn: owned("RoleArn"),
        status: outcome.map_or(0, |o| o.status),
        error_code: match outcome {
            Some(o) => o.error_code.clone(),
            None => Some("DropConnection".to_string()),
        },
        at: shared.clock.now(),
    };
    if shared.log_to_stderr.load(Ordering::SeqCst) {
        eprintln!("{rec}");
    }
    lock(&shared.log).push(rec);
}
