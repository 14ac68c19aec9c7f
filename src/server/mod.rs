//! A local container-credentials server (the `AWS_CONTAINER_CREDENTIALS_FULL_URI`
//! contract every AWS SDK and both AWS CLIs read), for `exec --server` and
//! `serve`: credentials that outlive the one-hour cap on role chaining.
//!
//! Design, and why:
//! - **One event loop, limits per local user.** Another local user can
//!   connect to a loopback port without the token; a thread and a slot per
//!   connection let ~300 idle sockets from another uid starve the token
//!   holder (issue 25). So connections are tasks on one current-thread
//!   tokio runtime (an idle socket costs a descriptor and a few hundred
//!   bytes), a client must send its first byte within
//!   [`http::FIRST_BYTE_DEADLINE`] and its whole head (at most
//!   [`http::MAX_HEAD`]) within [`http::READ_DEADLINE`], and each
//!   connection's owner is looked up ([`peer`], Linux): another user holds
//!   at most [`MAX_PER_OTHER_USER`] connections, and when
//!   [`MAX_CONNECTIONS`] are open a new one closes the oldest of the
//!   lowest class (other users, then unknown, then our own user's), so the
//!   token holder's requests always get in. Renewals, which may block on
//!   STS or a prompt, run on tokio's blocking threads; only requests with
//!   a valid token get there. The server is not on the cache-hit path.
//! - **Renewal on demand, single-flight.** Credentials are served from
//!   memory while they have more than the refresh margin left (at least the
//!   SDKs' 15 minutes, see [`crate::chain::for_target`]). The first request
//!   inside the margin renews them through the credential chain (a fresh
//!   AssumeRole with the cached MFA session; a new MFA code only when that
//!   session has ended); requests arriving meanwhile wait on a condition
//!   variable for that one renewal. No timer: while idle the process sleeps
//!   in `epoll_wait(2)` and wakes for nothing. The SDKs ask again before their
//!   copy expires, so renewal on demand is always ahead of expiry.
//! - **Failures are the SDK's to show**: a renewal that fails (no code
//!   source can answer) is a non-200 JSON `{"Code","Message"}`, which
//!   botocore and the Rust SDK print, and a line on stderr saying what to do.
//!   Credentials that are still valid are served meanwhile.

pub(crate) mod child_profile;
pub(crate) mod http;
pub(crate) mod peer;
pub(crate) mod signals;

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use peer::Peer;

use crate::clock::Clock;
use crate::error::UserError;
use crate::log::Log;
use crate::output::rfc3339;
use crate::plan::Sources;
use crate::secret::{Secret, TemporaryCredentials};

/// Connections open at once; a new one beyond this closes the oldest of
/// the lowest class (see [`Peer`]), or is closed itself.
pub(crate) const MAX_CONNECTIONS: usize = 256;
/// Connections one other local user may hold open at once; more are
/// closed as they come.
pub(crate) const MAX_PER_OTHER_USER: usize = 16;
/// Refused connections held open at once (see [`park`]). With
/// [`MAX_CONNECTIONS`] this keeps the server under the usual limit of 1024
/// open files.
pub(crate) const MAX_PARKED: usize = 512;
/// The listen backlog asked for (the kernel caps it at somaxconn): a
/// burst of another user's connects must not fill the queue our own
/// client's connect waits in.
const BACKLOG: i32 = 4096;
/// A failed renewal is not retried for this long (each attempt may run
/// `mfa_command` or prompt); requests meanwhile get the same error.
pub(crate) const ERROR_BACKOFF: Duration = Duration::from_secs(5);
/// Credentials this close to expiry are no longer served, even while a
/// renewal fails.
const LAST_RESORT_SECS: i64 = 60;

/// Something that produces role credentials for a target: the credential
/// chain in mfacli, a stub in tests.
pub(crate) trait Fetcher: Send + Sync {
    /// Fresh credentials for `target` (more than its margin left).
    fn fetch(&self, target: &str) -> Result<TemporaryCredentials, UserError>;
}

/// A clock the server threads can share.
pub(crate) type SharedClock = Arc<dyn Clock + Send + Sync>;

/// One route: a target, its path, its token and its refresh margin.
pub(crate) struct Route {
    pub(crate) target: String,
    pub(crate) path: String,
    pub(crate) token: Secret,
    pub(crate) margin_secs: i64,
    slot: Slot,
}

#[derive(Default)]
struct Slot {
    state: Mutex<SlotState>,
    done: Condvar,
}

#[derive(Default)]
struct SlotState {
    creds: Option<TemporaryCredentials>,
    renewing: bool,
    last_error: Option<(Instant, UserError)>,
}

struct Shared {
    routes: BTreeMap<String, Route>,
    fetcher: Arc<dyn Fetcher>,
    clock: SharedClock,
    log: Log,
    stopping: AtomicBool,
}

/// The open connections, oldest first (ids only grow).
#[derive(Default)]
struct Conns {
    next: u64,
    open: BTreeMap<u64, (Peer, tokio::task::AbortHandle)>,
}

impl Conns {
    /// Whether a connection from `peer` may open, and the one it replaces
    /// when the server is full (to abort once the table is unlocked: the
    /// task's end takes the lock).
    fn admit(&mut self, peer: Peer) -> Option<Option<tokio::task::AbortHandle>> {
        if let Peer::Other(uid) = peer {
            let held = self
                .open
                .values()
                .filter(|(p, _)| *p == Peer::Other(uid))
                .count();
            if held >= MAX_PER_OTHER_USER {
                return None;
            }
        }
        if self.open.len() < MAX_CONNECTIONS {
            return Some(None);
        }
        // Full: the oldest connection of the lowest class at or below the
        // newcomer's gives way.
        let victim = (0..=peer.rank()).find_map(|rank| {
            self.open
                .iter()
                .find(|(_, (p, _))| p.rank() == rank)
                .map(|(id, _)| *id)
        });
        let (_, abort) = victim.and_then(|id| self.open.remove(&id))?;
        Some(Some(abort))
    }
}

/// Takes a connection out of the table when its task ends or is aborted.
struct Registered(Arc<Mutex<Conns>>, u64);

impl Drop for Registered {
    fn drop(&mut self) {
        lock(&self.0).open.remove(&self.1);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What the server answers a request with.
enum Answer<'a> {
    Status(u16),
    Credentials(&'a Route),
}

/// A running server. Dropping it does not stop it; call [`Server::stop`].
pub(crate) struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<std::thread::JoinHandle<()>>,
}

/// A fresh random token: 256 bits from the kernel, as hex.
pub(crate) fn random_token() -> std::io::Result<Secret> {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    zeroize::Zeroize::zeroize(&mut bytes);
    Ok(Secret::new(hex))
}

/// Compares without an early exit, so timing says nothing about how much
/// of a guessed token was right.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What a route is for, before the server starts.
pub(crate) struct RouteSpec {
    pub(crate) target: String,
    pub(crate) margin_secs: i64,
}

impl Server {
    /// Starts serving `routes` on `listener` (bind it to 127.0.0.1).
    pub(crate) fn start(
        listener: TcpListener,
        routes: Vec<RouteSpec>,
        fetcher: Arc<dyn Fetcher>,
        clock: SharedClock,
        log: Log,
    ) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let mut map = BTreeMap::new();
        for r in routes {
            let path = format!("/creds/{}", r.target);
            map.insert(
                path.clone(),
                Route {
                    target: r.target,
                    path,
                    token: random_token()?,
                    margin_secs: r.margin_secs,
                    slot: Slot::default(),
                },
            );
        }
        let shared = Arc::new(Shared {
            routes: map,
            fetcher,
            clock,
            log,
            stopping: AtomicBool::new(false),
        });
        // A deeper accept queue than std's default; errors leave it as is.
        // SAFETY: listen(2) again on a listening socket only resizes its
        // queue.
        unsafe {
            libc::listen(std::os::fd::AsRawFd::as_raw_fd(&listener), BACKLOG);
        }
        listener.set_nonblocking(true)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .thread_name("mfacli-server")
            .build()?;
        let listener = {
            let _in_runtime = rt.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let s = Arc::clone(&shared);
        let accept = std::thread::Builder::new()
            .name("mfacli-server".into())
            .spawn(move || {
                rt.block_on(accept_loop(listener, s));
                // Renewals still running are not waited for.
                rt.shutdown_background();
            })?;
        Ok(Self {
            addr,
            shared,
            accept: Some(accept),
        })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL and token a client of `target` needs.
    pub(crate) fn client_env(&self, target: &str) -> Option<(String, &Secret)> {
        self.shared
            .routes
            .values()
            .find(|r| r.target == target)
            .map(|r| (format!("http://{}{}", self.addr, r.path), &r.token))
    }

    /// Fetches `target`'s credentials now (at startup, so a prompt comes
    /// before the child runs), as a request would.
    pub(crate) fn prefetch(&self, target: &str) -> Result<(), UserError> {
        let route = self
            .shared
            .routes
            .values()
            .find(|r| r.target == target)
            .ok_or_else(|| UserError::new(format!("no route for '{target}'")))?;
        self.shared.credentials(route).map(|_| ())
    }

    /// Stops accepting and waits for the accept thread. Connections being
    /// served finish on their own.
    pub(crate) fn stop(mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the blocking accept.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

async fn accept_loop(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    let conns = Arc::new(Mutex::new(Conns::default()));
    let parked = Arc::new(AtomicUsize::new(0));
    // Users already reported (once each: the log is not a flood).
    let mut refused_users = std::collections::BTreeSet::new();
    loop {
        let (stream, from) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                if shared.stopping.load(Ordering::SeqCst) {
                    return;
                }
                // EMFILE and friends: back off instead of spinning.
                shared.log.verbose(&format!("server: accept failed: {e}"));
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let peer = match stream.local_addr() {
            Ok(local) => Peer::of(local, from),
            Err(_) => Peer::Unknown,
        };
        let mut table = lock(&conns);
        let Some(evicted) = table.admit(peer) else {
            drop(table);
            if let Peer::Other(uid) = peer {
                if refused_users.insert(uid) {
                    shared.log.verbose(&format!(
                        "server: another user (uid {uid}) holds {MAX_PER_OTHER_USER} connections; more are refused"
                    ));
                }
            }
            park(stream, &parked);
            continue;
        };
        let id = table.next;
        table.next += 1;
        let guard = Registered(Arc::clone(&conns), id);
        let s = Arc::clone(&shared);
        // The task starts only after this turn of the loop (one thread),
        // so its handle is in the table before it can end.
        let task = tokio::spawn(async move {
            let _guard = guard;
            s.serve(stream, peer).await;
        });
        table.open.insert(id, (peer, task.abort_handle()));
        drop(table);
        if let Some(old) = evicted {
            old.abort();
        }
    }
}

/// Holds a refused connection, unread, for [`http::READ_DEADLINE`] before
/// closing it (at most [`MAX_PARKED`] at once, beyond that it is closed at
/// once): a client that reconnects as soon as it is closed would otherwise
/// keep the event loop busy accepting.
fn park(stream: tokio::net::TcpStream, parked: &Arc<AtomicUsize>) {
    if parked.fetch_add(1, Ordering::SeqCst) >= MAX_PARKED {
        parked.fetch_sub(1, Ordering::SeqCst);
        return;
    }
    let parked = Arc::clone(parked);
    tokio::spawn(async move {
        tokio::time::sleep(http::READ_DEADLINE).await;
        drop(stream);
        parked.fetch_sub(1, Ordering::SeqCst);
    });
}

impl Shared {
    async fn serve(self: Arc<Self>, stream: tokio::net::TcpStream, peer: Peer) {
        let _ = stream.set_nodelay(true);
        // Only another user's idle connections are worth closing early.
        let first_byte = if peer == Peer::Own {
            http::READ_DEADLINE
        } else {
            http::FIRST_BYTE_DEADLINE
        };
        let req = match http::read_request(&stream, first_byte).await {
            Ok(r) => r,
            Err(http::ReadError::TooLarge) => return http::respond(&stream, 431, None).await,
            Err(http::ReadError::Malformed) => return http::respond(&stream, 400, None).await,
            Err(http::ReadError::Gone) => return,
        };
        let path = match self.answer(&req) {
            Answer::Status(status) => return http::respond(&stream, status, None).await,
            Answer::Credentials(route) => route.path.clone(),
        };
        // Fresh credentials in memory are answered at once; a renewal may
        // block (STS, a prompt), so it runs off the event loop.
        let result = match self.fresh(&self.routes[&path]) {
            Some(c) => Ok(c),
            None => {
                let s = Arc::clone(&self);
                tokio::task::spawn_blocking(move || s.credentials(&s.routes[&path]))
                    .await
                    .unwrap_or_else(|_| Err(UserError::new("renewing the credentials failed")))
            }
        };
        match result {
            Ok(c) => {
                let mut body = container_json(&c);
                http::respond(&stream, 200, Some(&body)).await;
                zeroize::Zeroize::zeroize(&mut body);
            }
            Err(e) => http::respond(&stream, 503, Some(&error_json(&e))).await,
        }
    }

    /// The answer to a request, before any credentials are looked at.
    fn answer(&self, req: &http::Request) -> Answer<'_> {
        // The token before the path: without one, every path gets the same
        // 403, so a caller without it cannot even learn which targets exist.
        let Some(route) = req
            .authorization
            .as_deref()
            .and_then(|a| self.route_for_token(a))
        else {
            return Answer::Status(403);
        };
        if req.path != route.path {
            return Answer::Status(if self.routes.contains_key(&req.path) {
                403
            } else {
                404
            });
        }
        if req.method != "GET" {
            return Answer::Status(405);
        }
        Answer::Credentials(route)
    }

    /// The route whose token `given` is. Every token is compared in full
    /// (no early exit), so timing says nothing about which came close.
    fn route_for_token(&self, given: &str) -> Option<&Route> {
        self.routes.values().fold(None, |found, r| {
            let eq = constant_time_eq(given.as_bytes(), r.token.expose().as_bytes());
            if eq {
                Some(r)
            } else {
                found
            }
        })
    }

    /// The route's credentials from memory if they are fresh. The lock is
    /// never held across a renewal, so this does not block.
    fn fresh(&self, route: &Route) -> Option<TemporaryCredentials> {
        let st = lock(&route.slot.state);
        st.creds
            .as_ref()
            .filter(|c| c.is_fresh(self.clock.now(), route.margin_secs))
            .cloned()
    }

    /// The route's credentials from memory, or after one renewal shared by
    /// every request that arrives while it runs.
    fn credentials(&self, route: &Route) -> Result<TemporaryCredentials, UserError> {
        let slot = &route.slot;
        let mut st = slot.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let now = self.clock.now();
            if let Some(c) = st
                .creds
                .as_ref()
                .filter(|c| c.is_fresh(now, route.margin_secs))
            {
                return Ok(c.clone());
            }
            if st.renewing {
                st = slot.done.wait(st).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            if let Some((at, e)) = &st.last_error {
                if at.elapsed() < ERROR_BACKOFF {
                    return self.fallback(&st, e.clone());
                }
            }
            st.renewing = true;
            drop(st);
            self.log.verbose(&format!(
                "server: renewing credentials for '{}'",
                route.target
            ));
            // The renewal runs unlocked, so other routes are served; a
            // panic in it must not leave waiters waiting forever.
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.fetcher.fetch(&route.target)
            }))
            .unwrap_or_else(|_| Err(UserError::new("renewing the credentials failed")));
            st = slot.state.lock().unwrap_or_else(|p| p.into_inner());
            st.renewing = false;
            slot.done.notify_all();
            return match result {
                Ok(c) => {
                    st.creds = Some(c.clone());
                    st.last_error = None;
                    Ok(c)
                }
                Err(e) => {
                    self.log.error(&format!(
                        "cannot renew the credentials for '{}': {e}\n  the server keeps running; the next request tries again",
                        route.target
                    ));
                    st.last_error = Some((Instant::now(), e.clone()));
                    self.fallback(&st, e)
                }
            };
        }
    }

    /// While renewal fails, credentials that are still valid are better
    /// than an error.
    fn fallback(&self, st: &SlotState, e: UserError) -> Result<TemporaryCredentials, UserError> {
        match st
            .creds
            .as_ref()
            .filter(|c| c.is_fresh(self.clock.now(), LAST_RESORT_SECS))
        {
            Some(c) => Ok(c.clone()),
            None => Err(e),
        }
    }
}

/// The container-credentials response body.
pub(crate) fn container_json(c: &TemporaryCredentials) -> String {
    serde_json::json!({
        "AccessKeyId": c.access_key_id,
        "SecretAccessKey": c.secret_access_key.expose(),
        "Token": c.session_token.expose(),
        "Expiration": rfc3339(c.expiration),
    })
    .to_string()
}

/// The error body SDKs show: botocore prints the body of a non-200, the
/// Rust SDK the `Message` of a `Code` other than `Success`.
pub(crate) fn error_json(e: &UserError) -> String {
    let mut message = format!("mfacli cannot renew the credentials: {}", e.message);
    if let Some(h) = &e.hint {
        message.push_str(&format!(" (hint: {h})"));
    }
    serde_json::json!({ "Code": "CredentialsUnavailable", "Message": message }).to_string()
}

/// The real fetcher: the credential chain, with a margin of at least the
/// SDKs' 15 minutes. A code given once (`--token-code`,
/// `$MFACLI_TOKEN_CODE`) is used for the first fetch only: a later MFA
/// session needs a new code, from the seed, `mfa_command` or the prompt.
pub(crate) struct ChainFetcher {
    sources: Mutex<Sources>,
    log: Log,
}

/// The SDKs refresh container credentials 15 minutes before they expire.
pub(crate) const SDK_MARGIN_SECS: i64 = 15 * 60;

impl ChainFetcher {
    pub(crate) fn new(sources: Sources, log: Log) -> Self {
        Self {
            sources: Mutex::new(sources),
            log,
        }
    }

    /// The refresh margin the chain will use for `target`.
    pub(crate) fn margin_secs(&self, target: &str) -> Result<i64, UserError> {
        let s = self.sources.lock().unwrap_or_else(|p| p.into_inner());
        let plan = s.plan(target)?;
        Ok(margin_for(
            s.refresh_margin_secs(),
            plan.target.duration.secs(),
        ))
    }
}

/// The refresh margin of a role session of `duration_secs`: the configured
/// one, but at least the SDKs' 15 minutes (half the session when that is
/// shorter, or nothing would ever be served).
fn margin_for(refresh_margin_secs: i64, duration_secs: u32) -> i64 {
    let floor = SDK_MARGIN_SECS.min(i64::from(duration_secs) / 2);
    refresh_margin_secs.max(floor)
}

impl Fetcher for ChainFetcher {
    fn fetch(&self, target: &str) -> Result<TemporaryCredentials, UserError> {
        let mut s = self.sources.lock().unwrap_or_else(|p| p.into_inner());
        let r = crate::chain::for_target(&s, &self.log, target, SDK_MARGIN_SECS);
        // One-time codes are spent (or about to be stale) after this.
        s.overrides.token_code = None;
        s.env.set(crate::mfa::TOKEN_CODE_ENV, "");
        s.overrides.refresh = false;
        r.map(|(_, c)| c.credentials)
    }
}

#[cfg(test)]
mod tests;
