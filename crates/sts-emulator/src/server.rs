//! The running emulator: hyper's HTTP/1.1 server (keep-alive, as the AWS SDKs
//! pool connections; chunked bodies; `Expect: 100-continue`) on a tokio
//! runtime that the emulator owns on its own thread, in front of synchronous
//! request handling; plus a request log, fault injection and a movable clock,
//! all shared behind mutexes.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use crate::clock::Clock;
use crate::http::{Request, Response};
use crate::sigv4;
use crate::sts::{self, Outcome, Params, SigningRegion, State, StsError};
use crate::world::{World, WorldError};

/// A client has this long to send a request's headers once it starts one
/// (slow clients cannot hold a handler). Idle keep-alive connections stay
/// open until the client closes them or the emulator stops.
const HEADER_TIMEOUT: Duration = Duration::from_secs(120);
/// Largest request body accepted (413 beyond).
const MAX_BODY: usize = 1024 * 1024;

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
    /// The TLS certificate chain or key could not be used.
    Tls(String),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::World(e) => e.fmt(f),
            StartError::Io(e) => write!(f, "cannot listen: {e}"),
            StartError::Tls(e) => write!(f, "TLS: {e}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::World(e) => Some(e),
            StartError::Io(e) => Some(e),
            StartError::Tls(_) => None,
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
    log_to_stderr: AtomicBool,
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
    tls: bool,
    /// Tells the server thread to stop; it then closes every connection.
    stop: watch::Sender<bool>,
    server_thread: Option<JoinHandle<()>>,
}

/// The response future's error: close the connection without answering.
#[derive(Debug)]
struct DropConnection;

impl fmt::Display for DropConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DropConnection {}

impl Emulator {
    /// Validate `world` and serve it on 127.0.0.1 with an ephemeral port.
    pub fn start(world: World) -> Result<Emulator, StartError> {
        Emulator::start_on(world, SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Validate `world` and serve it on `addr`.
    pub fn start_on(world: World, addr: SocketAddr) -> Result<Emulator, StartError> {
        Emulator::launch(world, addr, None)
    }

    /// Validate `world` and serve it over HTTPS on 127.0.0.1 with an
    /// ephemeral port. `cert_pem` is the server's certificate chain (leaf
    /// first), `key_pem` its private key (PKCS#8, PKCS#1 or SEC1), both PEM.
    /// Clients connect to 127.0.0.1 under whatever names the certificate
    /// holds (e.g. `sts.eu-west-1.amazonaws.com`), trusting its CA (for the
    /// AWS SDKs and CLI: `AWS_CA_BUNDLE`).
    pub fn start_tls(
        world: World,
        cert_pem: &[u8],
        key_pem: &[u8],
    ) -> Result<Emulator, StartError> {
        Emulator::start_tls_on(
            world,
            SocketAddr::from(([127, 0, 0, 1], 0)),
            cert_pem,
            key_pem,
        )
    }

    /// [`Emulator::start_tls`] on `addr`.
    pub fn start_tls_on(
        world: World,
        addr: SocketAddr,
        cert_pem: &[u8],
        key_pem: &[u8],
    ) -> Result<Emulator, StartError> {
        let acceptor = tls_acceptor(cert_pem, key_pem)?;
        Emulator::launch(world, addr, Some(acceptor))
    }

    fn launch(
        world: World,
        addr: SocketAddr,
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> Result<Emulator, StartError> {
        world.validate()?;
        let state = State::new(world, Utc::now())
            .map_err(|e| StartError::World(WorldError::Parse(e.message)))?;
        // Bind here, so that a taken port is an error of start itself.
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            clock: Clock::default(),
            state: Mutex::new(state),
            log: Mutex::new(Vec::new()),
            faults: Mutex::new(Vec::new()),
            log_to_stderr: AtomicBool::new(false),
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("sts-emulator")
            .build()?;
        let (stop, stopped) = watch::channel(false);
        let server_shared = Arc::clone(&shared);
        let is_tls = tls.is_some();
        let server_thread =
            thread::Builder::new()
                .name("sts-emulator".into())
                .spawn(move || {
                    runtime.block_on(serve(listener, server_shared, tls, stopped));
                    // Drops every connection task, which closes its socket.
                    runtime.shutdown_timeout(Duration::from_secs(1));
                })?;
        Ok(Emulator {
            shared,
            addr,
            tls: is_tls,
            stop,
            server_thread: Some(server_thread),
        })
    }

    /// The console federation endpoint: `ENDPOINT/federation`
    /// (getSigninToken, login; see the crate README).
    pub fn federation_url(&self) -> String {
        format!("{}/federation", self.endpoint_url())
    }

    /// Whether the emulator serves HTTPS ([`Emulator::start_tls`]).
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// `http://127.0.0.1:PORT` (`https://` with TLS).
    pub fn endpoint_url(&self) -> String {
        let host = if self.addr.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else {
            match self.addr {
                SocketAddr::V4(a) => a.ip().to_string(),
                SocketAddr::V6(a) => format!("[{}]", a.ip()),
            }
        };
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{host}:{}", self.addr.port())
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

    /// Every secret it knows or issued so far: access key secrets, MFA
    /// seeds, and each session's secret and token.
    pub fn issued_secrets(&self) -> Vec<crate::IssuedSecret> {
        lock(&self.shared.state).issued_secrets()
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

    /// Which credential scope region signatures must name (default
    /// [`SigningRegion::Any`]). A wrong one is refused as AWS refuses it:
    /// 403 `SignatureDoesNotMatch`, "Credential should be scoped to a valid
    /// region, not 'REGION'. "
    pub fn set_signing_region(&self, region: SigningRegion) {
        lock(&self.shared.state).signing_region = region;
    }

    pub fn signing_region(&self) -> SigningRegion {
        lock(&self.shared.state).signing_region.clone()
    }

    /// How long an access key made by IAM `CreateAccessKey` stays unknown
    /// (InvalidClientTokenId, as a key IAM has not propagated yet) to STS and
    /// IAM, in emulator time: the key works once the emulator clock reaches
    /// its CreateDate plus this delay ([`Emulator::advance`] skips it).
    /// Default: none. Applies to keys created afterwards.
    pub fn set_key_propagation_delay(&self, delay: Duration) {
        let secs = i64::try_from(delay.as_secs()).unwrap_or(i64::MAX);
        lock(&self.shared.state).key_propagation = chrono::Duration::seconds(secs);
    }

    /// The user's access keys, oldest first.
    pub fn access_keys(&self, user: &str) -> Vec<crate::AccessKeyInfo> {
        lock(&self.shared.state).access_key_infos(user)
    }

    /// Gives `user` another access key, usable at once (as an admin in the
    /// console would); `(id, secret)`, or `None` at the quota of two.
    pub fn add_access_key(&self, user: &str) -> Option<(String, String)> {
        let now = self.now();
        lock(&self.shared.state).add_access_key(user, now)
    }

    /// Pretends the key was created at `when` (for key-age checks).
    pub fn set_access_key_created(&self, access_key_id: &str, when: DateTime<Utc>) {
        lock(&self.shared.state).set_access_key_created(access_key_id, when);
    }

    /// Fails the next `times` requests with this IAM Action (HTTP 500 ServiceFailure).
    pub fn fail_iam_action(&self, action: &str, times: usize) {
        lock(&self.shared.state)
            .iam_faults
            .insert(action.to_owned(), times);
    }

    /// Carries out the next `times` requests with this IAM Action, then
    /// closes the connection without answering: an answer lost on its way
    /// back, after IAM acted.
    pub fn lose_iam_answers(&self, action: &str, times: usize) {
        lock(&self.shared.state)
            .lost_iam_answers
            .insert(action.to_owned(), times);
    }

    /// Serial numbers of the user's enabled MFA devices, in enabling order.
    pub fn mfa_serials(&self, user: &str) -> Vec<String> {
        lock(&self.shared.state).enabled_mfa_serials(user)
    }

    /// Serial numbers of virtual MFA devices created but enabled by no user
    /// (ListVirtualMFADevices' `Unassigned`), in creation order.
    pub fn unassigned_mfa_serials(&self) -> Vec<String> {
        lock(&self.shared.state).unassigned_mfa_serials()
    }

    pub fn key_propagation_delay(&self) -> Duration {
        let secs = lock(&self.shared.state).key_propagation.num_seconds();
        Duration::from_secs(u64::try_from(secs).unwrap_or(0))
    }

    /// Print one line per request to stderr (used by the binary).
    pub fn set_stderr_logging(&self, enabled: bool) {
        self.shared.log_to_stderr.store(enabled, Ordering::SeqCst);
    }

    /// Stop accepting, close open connections (idle keep-alive ones too)
    /// and join the server thread.
    pub fn stop(self) {
        // Drop does the work.
    }

    fn shutdown(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.server_thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A TLS acceptor (rustls with the ring provider) for a PEM chain and key.
fn tls_acceptor(cert_pem: &[u8], key_pem: &[u8]) -> Result<tokio_rustls::TlsAcceptor, StartError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls;

    let certs = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StartError::Tls(format!("certificate chain: {e}")))?;
    if certs.is_empty() {
        return Err(StartError::Tls(
            "certificate chain: no CERTIFICATE in the PEM".into(),
        ));
    }
    // The key's error names no key material.
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|_| StartError::Tls("private key: no usable PEM private key".into()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StartError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| StartError::Tls(format!("certificate and key: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// A client has this long to complete a TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Accept connections until told to stop.
async fn serve(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut stopped: watch::Receiver<bool>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    loop {
        let accepted = tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok((stream, peer)) => (stream, peer.ip()),
            Err(_) => {
                // e.g. EMFILE: back off briefly rather than spin.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        match &tls {
            None => {
                tokio::spawn(serve_connection(stream, shared, peer, false));
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let handshake =
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream));
                    if let Ok(Ok(stream)) = handshake.await {
                        serve_connection(stream, shared, peer, true).await;
                    }
                });
            }
        }
    }
}

/// HTTP/1.1 on one connection (plain TCP, or TLS once accepted).
async fn serve_connection<I>(io: I, shared: Arc<Shared>, peer: std::net::IpAddr, secure: bool)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| respond(Arc::clone(&shared), req, peer, secure));
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .title_case_headers(true)
        .serve_connection(TokioIo::new(io), service)
        .await;
}

type HyperResponse = hyper::Response<Full<Bytes>>;

/// Read the whole body, then answer through the synchronous handler. An
/// error closes the connection without a response ([`Fault::DropConnection`]).
async fn respond(
    shared: Arc<Shared>,
    req: hyper::Request<Incoming>,
    peer: std::net::IpAddr,
    secure: bool,
) -> Result<HyperResponse, DropConnection> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes().to_vec(),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            let e = StsError::new(413, "MalformedRequest", "request body too large");
            let outcome = Outcome::error(&e, &sts::new_request_id());
            return Ok(to_hyper(render(&shared, &outcome, "")));
        }
        Err(_) => return Err(DropConnection),
    };
    let mut req = Request::from_parts(&parts, body);
    // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d.
    req.peer = Some(match peer {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, std::net::IpAddr::V4),
        v4 => v4,
    });
    req.secure = secure;
    let faults = take_faults(&shared);
    let latency: Duration = faults
        .iter()
        .filter_map(|f| match f {
            Fault::Latency(d) => Some(*d),
            _ => None,
        })
        .sum();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    // Request handling is synchronous (mutexes, no awaits): run it off the
    // runtime's thread so that one request never stalls the others.
    let answer = tokio::task::spawn_blocking(move || handle_request(&shared, &req, &faults))
        .await
        .map_err(|_| DropConnection)?;
    answer.map(to_hyper).ok_or(DropConnection)
}

fn to_hyper(resp: Response) -> HyperResponse {
    let mut builder = hyper::Response::builder().status(resp.status);
    for (name, value) in &resp.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder
        .body(Full::new(Bytes::from(resp.body)))
        .unwrap_or_else(|_| {
            let mut r = hyper::Response::new(Full::new(Bytes::new()));
            *r.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
            r
        })
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

/// Answer one request (latency already applied); `None` means drop the
/// connection without answering.
fn handle_request(shared: &Shared, req: &Request, faults: &[Fault]) -> Option<Response> {
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
            let mut state = lock(&shared.state);
            let outcome = match req.path.as_str() {
                "/federation" => state.federation(req, now),
                "/console" => state.console(req, now),
                _ => state.handle(req, now, &request_id),
            };
            let action = Params::from_request(req).get("Action").map(str::to_owned);
            let lost = action
                .and_then(|a| state.lost_iam_answers.get_mut(&a))
                .filter(|n| **n > 0)
                .map(|n| *n -= 1)
                .is_some();
            drop(state);
            if lost {
                // Done, but the answer never reaches the caller.
                record(shared, req, Some(&outcome));
                return None;
            }
            Some(outcome)
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
        ("Content-Type".to_string(), outcome.content_type.to_string()),
        ("Date".to_string(), date),
    ];
    if !request_id.is_empty() {
        headers.push(("x-amzn-RequestId".to_string(), request_id.to_string()));
    }
    headers.extend(outcome.headers.iter().cloned());
    Response {
        status: outcome.status,
        headers,
        body: outcome.body.clone().into_bytes(),
    }
}

fn record(shared: &Shared, req: &Request, outcome: Option<&Outcome>) {
    let params = Params::from_request(req);
    let owned = |name: &str| params.get(name).map(str::to_string);
    let hints = outcome.map(|o| &o.log);
    let rec = RequestRecord {
        action: hints
            .and_then(|h| h.action.clone())
            .unwrap_or_else(|| params.get("Action").unwrap_or("").to_string()),
        access_key_id: hints.and_then(|h| h.access_key_id.clone()).or_else(|| {
            sigv4::parse_authorization(req)
                .ok()
                .map(|a| a.access_key_id)
        }),
        token_code_sent: params.get("TokenCode").is_some(),
        serial_number: owned("SerialNumber"),
        duration_seconds: hints
            .and_then(|h| h.duration_seconds)
            .or_else(|| params.get("DurationSeconds").and_then(|d| d.parse().ok())),
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
