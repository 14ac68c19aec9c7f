//! AWS console sign-in through the federation endpoint: the URLs (pure
//! functions, tested for every partition and destination form), the one
//! HTTPS GET that exchanges role credentials for a sign-in token, and the
//! browser launch. The sign-in token and the login URL are secrets for 15
//! minutes: nothing here logs them or puts them in an error.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::env::Env;
use crate::error::UserError;
use crate::secret::{Secret, TemporaryCredentials};
use crate::types::{InvalidValue, Partition, SessionDuration};

/// The `Issuer` mfacli puts in login URLs.
pub(crate) const ISSUER: &str = "mfacli";
/// Where a custom federation endpoint can be set.
pub(crate) const FEDERATION_URL_ENV: &str = "MFACLI_FEDERATION_URL";
/// `SessionDuration` limits of the federation endpoint (15 min to 12 h).
pub(crate) const SESSION_DURATION_MIN: u32 = 900;
pub(crate) const SESSION_DURATION_MAX: u32 = 43_200;
/// Largest federation response read (the token is ~1 KiB).
const MAX_RESPONSE: usize = 64 * 1024;

/// The sign-in host of a partition.
pub(crate) fn signin_host(p: Partition) -> &'static str {
    match p {
        Partition::Aws => "signin.aws.amazon.com",
        Partition::AwsCn => "signin.amazonaws.cn",
        Partition::AwsUsGov => "signin.amazonaws-us-gov.com",
    }
}

/// The console host of a partition.
pub(crate) fn console_host(p: Partition) -> &'static str {
    match p {
        Partition::Aws => "console.aws.amazon.com",
        Partition::AwsCn => "console.amazonaws.cn",
        Partition::AwsUsGov => "console.amazonaws-us-gov.com",
    }
}

/// `https://signin.aws.amazon.com/federation` and its partition twins.
pub(crate) fn default_federation_url(p: Partition) -> String {
    format!("https://{}/federation", signin_host(p))
}

/// The federation endpoint: `--federation-url` > `$MFACLI_FEDERATION_URL` >
/// the partition's.
pub(crate) fn federation_url(
    flag: Option<&str>,
    env: &Env,
    partition: Partition,
) -> Result<String, UserError> {
    let (url, source) = match flag {
        Some(u) => (u.to_owned(), "--federation-url"),
        None => match env.text(FEDERATION_URL_ENV)? {
            Some(u) => (u.to_owned(), FEDERATION_URL_ENV),
            None => return Ok(default_federation_url(partition)),
        },
    };
    let url = url.trim().to_owned();
    let example = format!(
        "e.g. {} (the login and getSigninToken parameters are added by mfacli)",
        default_federation_url(partition)
    );
    if !is_http_url(&url) || url.contains('?') || url.contains('#') {
        return Err(UserError::new(format!(
            "{source}: '{url}' is not an http(s) URL without a query"
        ))
        .hint(example));
    }
    // The role's credentials go there: the rule of the STS and IAM endpoints.
    crate::plan::checked_url(&url, source, &example, env)
}

fn is_http_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split('/').next().unwrap_or("");
        !host.is_empty() && !r.contains(char::is_whitespace)
    })
}

/// Where the console opens: its home page, a service's page, or a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Destination {
    Home,
    Service(String),
    Url(String),
}

impl FromStr for Destination {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        let s = s.trim();
        if s.contains("://") {
            return if is_http_url(s) {
                Ok(Self::Url(s.to_owned()))
            } else {
                Err(InvalidValue(format!("'{s}' is not an http(s) console URL")))
            };
        }
        let service = s.to_ascii_lowercase();
        let ok = !service.is_empty()
            && service.len() <= 64
            && service
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !service.starts_with('-');
        if ok {
            Ok(Self::Service(service))
        } else {
            Err(InvalidValue(format!(
                "'{s}' is neither a console service (s3, ec2, iam, cloudwatch, …) nor a console URL (https://…)"
            )))
        }
    }
}

/// The console URL to land on. `region` picks the region of the home page
/// or a service page; a full URL is used as given.
pub(crate) fn destination_url(p: Partition, dest: &Destination, region: Option<&str>) -> String {
    let host = console_host(p);
    let query = region
        .map(|r| {
            let mut q = form_urlencoded::Serializer::new(String::new());
            q.append_pair("region", r);
            format!("?{}", q.finish())
        })
        .unwrap_or_default();
    match dest {
        Destination::Home => format!("https://{host}/console/home{query}"),
        Destination::Service(s) => format!("https://{host}/{s}/home{query}"),
        Destination::Url(u) => u.clone(),
    }
}

/// The `Session` parameter: the credentials as JSON (a secret).
pub(crate) fn session_json(creds: &TemporaryCredentials) -> Secret {
    Secret::new(
        serde_json::json!({
            "sessionId": creds.access_key_id,
            "sessionKey": creds.secret_access_key.expose(),
            "sessionToken": creds.session_token.expose(),
        })
        .to_string(),
    )
}

/// `…/federation?Action=getSigninToken[&SessionDuration=N]&Session=…` (a secret).
pub(crate) fn signin_token_url(
    federation_url: &str,
    session: &Secret,
    duration: Option<SessionDuration>,
) -> Secret {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("Action", "getSigninToken");
    if let Some(d) = duration {
        q.append_pair("SessionDuration", &d.secs().to_string());
    }
    q.append_pair("Session", session.expose());
    Secret::new(format!("{federation_url}?{}", q.finish()))
}

/// `…/federation?Action=login&Issuer=…&Destination=…&SigninToken=…` (a secret).
pub(crate) fn login_url(federation_url: &str, destination: &str, token: &Secret) -> Secret {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("Action", "login");
    q.append_pair("Issuer", ISSUER);
    q.append_pair("Destination", destination);
    q.append_pair("SigninToken", token.expose());
    Secret::new(format!("{federation_url}?{}", q.finish()))
}

/// How to reach the federation endpoint.
#[derive(Debug, Clone)]
pub(crate) struct FederationEndpoint {
    pub(crate) url: String,
    /// Bound on the whole exchange (connect, TLS, response).
    pub(crate) timeout: Duration,
    /// `$AWS_CA_BUNDLE`: extra roots, as for STS.
    pub(crate) ca_bundle: Option<PathBuf>,
}

/// Why no sign-in token came back. Never holds the URL's query or a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FederationError {
    /// Connection, DNS or TLS failure: nothing was exchanged.
    Unreachable(String),
    Timeout,
    /// The endpoint answered with this HTTP status.
    Refused {
        status: u16,
        message: String,
    },
    /// 200 but no `SigninToken`.
    BadResponse(String),
    Setup(String),
}

/// Exchanges role credentials for a sign-in token (one GET).
pub(crate) fn get_signin_token(
    endpoint: &FederationEndpoint,
    creds: &TemporaryCredentials,
    duration: Option<SessionDuration>,
) -> Result<Secret, FederationError> {
    let url = signin_token_url(&endpoint.url, &session_json(creds), duration);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| FederationError::Setup(e.to_string()))?;
    let result = rt.block_on(async {
        tokio::time::timeout(endpoint.timeout, fetch(endpoint, &url))
            .await
            .unwrap_or(Err(FederationError::Timeout))
    });
    // A DNS lookup stuck in a blocking thread must not delay the exit.
    rt.shutdown_background();
    let (status, body) = result?;
    if status != 200 {
        return Err(FederationError::Refused {
            status,
            message: page_message(&body),
        });
    }
    let v: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|_| FederationError::BadResponse("the answer is not JSON".into()))?;
    match v.get("SigninToken").and_then(|t| t.as_str()) {
        Some(t) if !t.is_empty() => Ok(Secret::new(t)),
        _ => Err(FederationError::BadResponse(
            "the answer has no SigninToken".into(),
        )),
    }
}

async fn fetch(
    endpoint: &FederationEndpoint,
    url: &Secret,
) -> Result<(u16, Vec<u8>), FederationError> {
    use http_body_util::{BodyExt, Empty, Limited};
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;

    let tls = tls_config(endpoint)?;
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Empty<bytes::Bytes>> =
        Client::builder(TokioExecutor::new()).build(connector);
    let req = http::Request::get(url.expose())
        .header("accept", "application/json")
        .header("user-agent", concat!("mfacli/", env!("CARGO_PKG_VERSION")))
        .body(Empty::new())
        // The builder's error could quote the URL: say nothing of it.
        .map_err(|_| FederationError::Setup("the federation URL is not a valid URI".into()))?;
    let resp = client
        .request(req)
        .await
        .map_err(|e| FederationError::Unreachable(crate::error::remote_text(&error_chain(&e))))?;
    let status = resp.status().as_u16();
    let body = Limited::new(resp.into_body(), MAX_RESPONSE)
        .collect()
        .await
        .map_err(|_| FederationError::BadResponse("the answer could not be read".into()))?
        .to_bytes()
        .to_vec();
    Ok((status, body))
}

/// The system's roots plus `$AWS_CA_BUNDLE`, with the ring provider that
/// the STS client uses too. Plain http (tests, private setups) needs none.
fn tls_config(endpoint: &FederationEndpoint) -> Result<rustls::ClientConfig, FederationError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;

    let mut roots = rustls::RootCertStore::empty();
    if endpoint.url.starts_with("https://") {
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        if let Some(path) = &endpoint.ca_bundle {
            let pem = crate::aws_files::read_text_file(path, "AWS_CA_BUNDLE file")
                .map_err(|e| FederationError::Setup(e.message))?
                .map(|f| f.text)
                .ok_or_else(|| {
                    FederationError::Setup(format!(
                        "AWS_CA_BUNDLE names {}, which does not exist",
                        path.display()
                    ))
                })?;
            let mut added = 0;
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()).flatten() {
                if roots.add(cert).is_ok() {
                    added += 1;
                }
            }
            if added == 0 {
                return Err(FederationError::Setup(format!(
                    "AWS_CA_BUNDLE file {} holds no PEM certificate",
                    path.display()
                )));
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| FederationError::Setup(format!("TLS setup failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The message of an HTML or text error page, on one short line: the
/// `<title>` if there is one, else the start of the text.
fn page_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let title = text
        .find("<title>")
        .and_then(|s| {
            let rest = &text[s + 7..];
            rest.find("</title>").map(|e| rest[..e].to_owned())
        })
        .unwrap_or_else(|| text.chars().take(120).collect());
    // A page from the network: no escape sequence reaches the terminal.
    let title = crate::error::remote_text(&title);
    let one_line: String = title.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.chars().take(160).collect()
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = s.source();
    }
    parts.join(": ")
}

/// What a person sees when the exchange fails: one line, and the fix.
pub(crate) fn federation_user_error(
    e: &FederationError,
    endpoint: &str,
    target: &str,
    role: &str,
    with_duration: bool,
) -> UserError {
    match e {
        FederationError::Unreachable(detail) => UserError::new(format!(
            "cannot reach the AWS federation endpoint {endpoint}: {detail}"
        ))
        .hint(format!(
            "check the network or proxy (HTTPS to it must be allowed), or set --federation-url / {FEDERATION_URL_ENV}"
        )),
        FederationError::Timeout => UserError::new(format!(
            "the AWS federation endpoint {endpoint} did not answer in time"
        ))
        .hint(format!(
            "check the network, raise --timeout, or set --federation-url / {FEDERATION_URL_ENV}"
        )),
        FederationError::Refused { status: 400, message } if with_duration => UserError::new(format!(
            "the AWS federation endpoint refused a {}-long console session for {role} ({message})",
            "--duration"
        ))
        .hint(format!(
            "the credentials may have been revoked or the duration is outside 15m-12h; retry, or drop --duration for a session as long as the role credentials (`mfacli console {target}`)"
        )),
        FederationError::Refused { status: 400, message } => UserError::new(format!(
            "the AWS federation endpoint refused the credentials of {role} ({message}): they expired, were revoked or are not from AssumeRole"
        ))
        .hint(format!("run `mfacli clear {target}` and then `mfacli console {target}` again")),
        FederationError::Refused { status, message } if *status == 401 || *status == 403 => {
            UserError::new(format!(
                "{role} may not sign in to the AWS console (federation endpoint: HTTP {status} {message})"
            ))
            .hint(format!(
                "an administrator must allow console sign-in for this role (an SCP or permissions boundary denies it); the CLI still works: `mfacli exec {target} -- aws …`"
            ))
        }
        FederationError::Refused { status, message } => UserError::new(format!(
            "the AWS federation endpoint {endpoint} answered HTTP {status} ({message})"
        ))
        .hint("retry in a moment; if it persists, check --federation-url / MFACLI_FEDERATION_URL"),
        FederationError::BadResponse(detail) => UserError::new(format!(
            "unexpected answer from the AWS federation endpoint {endpoint}: {detail}"
        ))
        .hint(format!(
            "is {endpoint} really a federation endpoint? check --federation-url / {FEDERATION_URL_ENV}"
        )),
        FederationError::Setup(detail) => UserError::new(format!(
            "cannot set up the connection to the federation endpoint: {detail}"
        ))
        .hint("check AWS_CA_BUNDLE and the federation URL"),
    }
}

/// The program that opens a URL, and the arguments before the URL:
/// `$BROWSER` (the first of a `:`-separated list, run directly, no shell),
/// else the platform's opener.
pub(crate) fn browser_command(env: &Env) -> (String, Vec<String>) {
    if let Some(b) = env
        .lossy("BROWSER")
        .and_then(|b| b.split(':').map(str::trim).find(|s| !s.is_empty()))
    {
        return (b.to_owned(), Vec::new());
    }
    if cfg!(target_os = "macos") {
        ("open".into(), Vec::new())
    } else if cfg!(windows) {
        // `start`'s first quoted argument is the window title.
        (
            "cmd".into(),
            vec!["/c".into(), "start".into(), "\"\"".into()],
        )
    } else {
        ("xdg-open".into(), Vec::new())
    }
}

/// The browser never gets the sign-in URL on its command line (every local
/// user can read `/proc/*/cmdline`): it gets a loopback URL with an
/// unguessable path, which redirects to the sign-in URL once, and only for
/// a connection of this user; then the port is closed.
pub(crate) struct OneTimeRedirect {
    listener: std::net::TcpListener,
    path: String,
    url: String,
    /// Connections of other users, dropped unanswered.
    refused: std::cell::Cell<usize>,
}

/// What [`OneTimeRedirect::poll`] saw.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Served {
    /// The redirect went out: the port is closed now.
    Redirected,
    Waiting,
}

impl OneTimeRedirect {
    pub(crate) fn bind() -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let path = format!("/mfacli-console/{}", random_hex(16)?);
        let url = format!("http://127.0.0.1:{port}{path}");
        Ok(Self {
            listener,
            path,
            url,
            refused: std::cell::Cell::new(0),
        })
    }

    /// The loopback URL for the browser (not a secret on its own: it
    /// answers only this user, once).
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// How many connections of other users were dropped so far.
    pub(crate) fn refused(&self) -> usize {
        self.refused.get()
    }

    /// Answers the connections waiting now: another user's are closed
    /// unanswered, a wrong path gets 404, the right one a 302 to `target`.
    pub(crate) fn poll(&self, target: &Secret) -> Served {
        use std::io::{Read, Write};
        while let Ok((mut s, peer)) = self.listener.accept() {
            let Ok(local) = s.local_addr() else { continue };
            if !same_user(local, peer) {
                // Dropped: another local user gets nothing.
                self.refused.set(self.refused.get() + 1);
                continue;
            }
            let _ = s.set_nonblocking(false);
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while head.len() < 8192 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let head = String::from_utf8_lossy(&head);
            let path = head
                .lines()
                .next()
                .and_then(|l| l.strip_prefix("GET "))
                .and_then(|l| l.split(' ').next());
            if path == Some(self.path.as_str()) {
                let _ = write!(
                    s,
                    "HTTP/1.1 302 Found\r\nLocation: {}\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    target.expose()
                );
                let _ = s.flush();
                return Served::Redirected;
            }
            let _ = s.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
        Served::Waiting
    }
}

/// `n` random bytes as hex, from the kernel.
fn random_hex(n: usize) -> std::io::Result<String> {
    use std::fmt::Write;
    use std::io::Read;
    let mut bytes = vec![0u8; n];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    }))
}

/// Whether the loopback connection `peer` -> `local` was opened by this
/// process's user: the owner of the client socket in `/proc/net/tcp`.
#[cfg(target_os = "linux")]
fn same_user(local: std::net::SocketAddr, peer: std::net::SocketAddr) -> bool {
    // SAFETY: getuid has no preconditions.
    let me = unsafe { libc::getuid() };
    std::fs::read_to_string("/proc/net/tcp")
        .ok()
        .and_then(|t| tcp_owner(&t, peer, local))
        == Some(me)
}

/// No per-connection owner to look up: the unguessable path is the guard.
#[cfg(not(target_os = "linux"))]
fn same_user(_: std::net::SocketAddr, _: std::net::SocketAddr) -> bool {
    true
}

/// The uid owning the IPv4 socket `from` connected to `to`, from the text
/// of `/proc/net/tcp` (addresses in host byte order hex, ports big-endian).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn tcp_owner(table: &str, from: std::net::SocketAddr, to: std::net::SocketAddr) -> Option<u32> {
    let hex = |a: std::net::SocketAddr| match a {
        std::net::SocketAddr::V4(v4) => Some(format!(
            "{:08X}:{:04X}",
            u32::from_ne_bytes(v4.ip().octets()),
            v4.port()
        )),
        std::net::SocketAddr::V6(_) => None,
    };
    let (from, to) = (hex(from)?, hex(to)?);
    table.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.len() > 7 && f[1] == from && f[2] == to)
            .then(|| f[7].parse().ok())
            .flatten()
    })
}

/// A helper's output (the browser's stderr) for an error message: the
/// loopback and sign-in URLs masked, remote-text rules, one short line.
pub(crate) fn helper_output(raw: &[u8], secrets: &[&str]) -> String {
    let mut text = String::from_utf8_lossy(raw).into_owned();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        text = text.replace(s, "<the sign-in URL>");
    }
    // Whatever is left of a token (a browser may print it cut or encoded).
    let text: String = text
        .split_whitespace()
        .map(|w| {
            if w.contains("SigninToken") || w.contains("mfacli-console") {
                "<the sign-in URL>"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    crate::error::remote_text(&text).chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn creds() -> TemporaryCredentials {
        TemporaryCredentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: Secret::new("sec/ret+key"),
            session_token: Secret::new("tok=en&x"),
            expiration: Utc::now(),
        }
    }

    fn query(url: &str) -> Vec<(String, String)> {
        let q = url.split_once('?').unwrap().1;
        form_urlencoded::parse(q.as_bytes()).into_owned().collect()
    }

    #[test]
    fn hosts_per_partition() {
        assert_eq!(
            default_federation_url(Partition::Aws),
            "https://signin.aws.amazon.com/federation"
        );
        assert_eq!(
            default_federation_url(Partition::AwsCn),
            "https://signin.amazonaws.cn/federation"
        );
        assert_eq!(
            default_federation_url(Partition::AwsUsGov),
            "https://signin.amazonaws-us-gov.com/federation"
        );
    }

    #[test]
    fn session_json_round_trips() {
        let j = session_json(&creds());
        let v: serde_json::Value = serde_json::from_str(j.expose()).unwrap();
        assert_eq!(v["sessionId"], "ASIAEXAMPLE");
        assert_eq!(v["sessionKey"], "sec/ret+key");
        assert_eq!(v["sessionToken"], "tok=en&x");
        let url = signin_token_url(
            "https://signin.aws.amazon.com/federation",
            &j,
            Some(SessionDuration::from_secs(28_800)),
        );
        let q = query(url.expose());
        assert_eq!(q[0], ("Action".into(), "getSigninToken".into()));
        assert_eq!(q[1], ("SessionDuration".into(), "28800".into()));
        assert_eq!(q[2].1, j.expose());
        let url = signin_token_url("http://127.0.0.1:1/federation", &j, None);
        assert!(!url.expose().contains("SessionDuration"));
    }

    #[test]
    fn federation_url_precedence_and_validation() {
        let env = Env::from_pairs([(FEDERATION_URL_ENV, "http://127.0.0.1:9/federation")]);
        assert_eq!(
            federation_url(None, &env, Partition::Aws).unwrap(),
            "http://127.0.0.1:9/federation"
        );
        assert_eq!(
            federation_url(Some("https://x.example/federation"), &env, Partition::Aws).unwrap(),
            "https://x.example/federation"
        );
        assert_eq!(
            federation_url(None, &Env::default(), Partition::AwsCn).unwrap(),
            "https://signin.amazonaws.cn/federation"
        );
        let e = federation_url(Some("ftp://x"), &env, Partition::Aws).unwrap_err();
        assert!(e.message.starts_with("--federation-url:"), "{e}");
        assert!(federation_url(Some("https://x/f?Action=login"), &env, Partition::Aws).is_err());
    }

    #[test]
    fn destinations() {
        assert_eq!(
            "s3".parse::<Destination>().unwrap(),
            Destination::Service("s3".into())
        );
        assert_eq!(
            "EC2".parse::<Destination>().unwrap(),
            Destination::Service("ec2".into())
        );
        assert!(matches!(
            "https://console.aws.amazon.com/iam/home#/roles".parse::<Destination>(),
            Ok(Destination::Url(_))
        ));
        assert!("s3 bucket".parse::<Destination>().is_err());
        assert!("ftp://x".parse::<Destination>().is_err());
        assert!("".parse::<Destination>().is_err());
    }

    #[test]
    fn login_urls_for_every_partition_and_destination_form() {
        let token = Secret::new("TOKEN+/=abc");
        let cases = [
            (
                Partition::Aws,
                Destination::Home,
                None,
                "https://console.aws.amazon.com/console/home",
            ),
            (
                Partition::Aws,
                Destination::Home,
                Some("eu-west-1"),
                "https://console.aws.amazon.com/console/home?region=eu-west-1",
            ),
            (
                Partition::Aws,
                Destination::Service("s3".into()),
                Some("eu-central-1"),
                "https://console.aws.amazon.com/s3/home?region=eu-central-1",
            ),
            (
                Partition::Aws,
                Destination::Service("ec2".into()),
                None,
                "https://console.aws.amazon.com/ec2/home",
            ),
            (
                Partition::AwsCn,
                Destination::Home,
                Some("cn-north-1"),
                "https://console.amazonaws.cn/console/home?region=cn-north-1",
            ),
            (
                Partition::AwsCn,
                Destination::Service("ec2".into()),
                None,
                "https://console.amazonaws.cn/ec2/home",
            ),
            (
                Partition::AwsUsGov,
                Destination::Home,
                None,
                "https://console.amazonaws-us-gov.com/console/home",
            ),
            (
                Partition::AwsUsGov,
                Destination::Service("s3".into()),
                Some("us-gov-west-1"),
                "https://console.amazonaws-us-gov.com/s3/home?region=us-gov-west-1",
            ),
            (
                Partition::Aws,
                Destination::Url("https://console.aws.amazon.com/iam/home?x=1&y=2#/roles".into()),
                Some("eu-west-1"),
                "https://console.aws.amazon.com/iam/home?x=1&y=2#/roles",
            ),
        ];
        for (p, dest, region, expected) in cases {
            let d = destination_url(p, &dest, region);
            assert_eq!(d, expected);
            let fed = default_federation_url(p);
            let url = login_url(&fed, &d, &token);
            let u = url.expose();
            assert!(
                u.starts_with(&format!(
                    "https://{}/federation?Action=login&",
                    signin_host(p)
                )),
                "{u}"
            );
            // One '?', no raw '#', spaces or '&' inside values: the URL is one unit.
            assert_eq!(u.matches('?').count(), 1, "{u}");
            assert!(!u.contains('#') && !u.contains(' '), "{u}");
            let q = query(u);
            let names: Vec<&str> = q.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(names, ["Action", "Issuer", "Destination", "SigninToken"]);
            assert_eq!(q[1].1, "mfacli");
            assert_eq!(q[2].1, expected);
            assert_eq!(q[3].1, "TOKEN+/=abc");
        }
    }

    #[test]
    fn page_messages_are_one_short_line() {
        let body = b"<html><head><title>HTTP Status 400 - Invalid credentials parameter</title></head><body>x</body></html>";
        assert_eq!(
            page_message(body),
            "HTTP Status 400 - Invalid credentials parameter"
        );
        assert_eq!(page_message(b"plain\n  text"), "plain text");
    }

    #[test]
    fn browser_from_env_first_of_list() {
        let env = Env::from_pairs([("BROWSER", "/opt/my browser/bin:firefox")]);
        assert_eq!(
            browser_command(&env),
            ("/opt/my browser/bin".into(), vec![])
        );
        let (prog, _) = browser_command(&Env::default());
        assert!(["xdg-open", "open", "cmd"].contains(&prog.as_str()));
    }

    #[test]
    fn tcp_owner_finds_the_client_socket() {
        // Two sockets of one loopback connection, 127.0.0.1:40000 -> :5000.
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1388 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 0100007F:9C40 0100007F:1388 01 00000000:00000000 00:00000000 00000000 65534        0 2 1
";
        let client: std::net::SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let server: std::net::SocketAddr = "127.0.0.1:5000".parse().unwrap();
        if cfg!(target_endian = "little") {
            assert_eq!(tcp_owner(table, client, server), Some(65534));
            assert_eq!(tcp_owner(table, server, client), Some(0));
        }
        let other: std::net::SocketAddr = "127.0.0.1:40001".parse().unwrap();
        assert_eq!(tcp_owner(table, other, server), None);
    }

    #[test]
    fn helper_output_masks_both_urls() {
        let raw = b"xdg-open: cannot open 'http://127.0.0.1:1/mfacli-console/ab'\n\x1b[31mhttps://s/f?Action=login&SigninToken=XYZ\n";
        let t = helper_output(raw, &["https://s/f?Action=login&SigninToken=XYZ"]);
        assert_eq!(
            t,
            "xdg-open: cannot open <the sign-in URL> <the sign-in URL>"
        );
    }

    #[test]
    fn errors_never_quote_a_token() {
        let e = federation_user_error(
            &FederationError::Refused {
                status: 400,
                message: "HTTP Status 400 - Invalid credentials parameter".into(),
            },
            "https://signin.aws.amazon.com/federation",
            "prod",
            "arn:aws:iam::222222222222:role/PowerUser",
            false,
        );
        let text = e.to_string();
        assert!(text.contains("mfacli clear prod"), "{text}");
        assert_eq!(text.lines().count(), 2, "one line and its hint: {text}");
    }

    #[test]
    fn urls_with_a_fragment_or_a_space_are_refused() {
        let env = Env::default();
        // A fragment alone is refused too, not only a query.
        let e = federation_url(Some("https://x.example/federation#x"), &env, Partition::Aws)
            .unwrap_err();
        assert!(e.message.contains("without a query"), "{e}");
        assert!(!is_http_url("https:///federation"), "an empty host");
        assert!(!is_http_url("https://x.example/a b"));
        assert!(!is_http_url("x.example/federation"));
        assert!(is_http_url("http://127.0.0.1:9/federation"));
        assert!("https://console.aws.amazon.com/a b"
            .parse::<Destination>()
            .is_err());
    }

    #[test]
    fn service_names_are_short_and_do_not_start_with_a_dash() {
        let longest = "a".repeat(64);
        assert_eq!(
            longest.parse::<Destination>().unwrap(),
            Destination::Service(longest.clone())
        );
        assert!(format!("{longest}b").parse::<Destination>().is_err());
        assert!("-s3".parse::<Destination>().is_err());
        assert_eq!(
            "route-53".parse::<Destination>().unwrap(),
            Destination::Service("route-53".into())
        );
    }

    #[test]
    fn each_refusal_gets_its_own_fix() {
        let refused = |status: u16, with_duration: bool| {
            federation_user_error(
                &FederationError::Refused {
                    status,
                    message: "no".into(),
                },
                "https://f.example/federation",
                "prod",
                "arn:aws:iam::1:role/R",
                with_duration,
            )
            .to_string()
        };
        assert!(refused(400, true).contains("drop --duration"));
        assert!(refused(400, false).contains("mfacli clear prod"));
        for status in [401, 403] {
            let t = refused(status, false);
            assert!(t.contains("may not sign in"), "{t}");
        }
        let t = refused(500, false);
        assert!(t.contains("answered HTTP 500"), "{t}");
        assert!(!t.contains("may not sign in"), "{t}");
    }

    #[test]
    fn error_chains_name_each_cause_once() {
        #[derive(Debug)]
        struct E(&'static str, Option<Box<E>>);
        impl std::fmt::Display for E {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.0)
            }
        }
        impl std::error::Error for E {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                self.1.as_deref().map(|e| e as _)
            }
        }
        let e = E(
            "client error (Connect)",
            Some(Box::new(E(
                "Connect",
                Some(Box::new(E("connection refused", None))),
            ))),
        );
        // "Connect" is already in the first text: not repeated.
        assert_eq!(
            error_chain(&e),
            "client error (Connect): connection refused"
        );
    }

    #[test]
    fn helper_output_masks_any_secret_given_and_ignores_empty_ones() {
        let t = helper_output(
            b"cannot open https://x.example/login?t=abc now",
            &["", "https://x.example/login?t=abc"],
        );
        assert_eq!(t, "cannot open <the sign-in URL> now");
    }

    /// A federation endpoint on loopback answering each request with
    /// `response`; the request lines it saw come back on the channel.
    fn endpoint(response: Vec<u8>) -> (FederationEndpoint, std::sync::mpsc::Receiver<String>) {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/federation", l.local_addr().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { return };
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&head)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_owned();
                let _ = tx.send(line);
                let _ = s.write_all(&response);
            }
        });
        let ep = FederationEndpoint {
            url,
            timeout: Duration::from_secs(10),
            ca_bundle: None,
        };
        (ep, rx)
    }

    fn answer(status: &str, body: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    #[test]
    fn the_sign_in_token_exchange_reads_the_answer() {
        // A token of 4 KiB: more than the real ~1 KiB, well under the bound.
        let token = "T".repeat(4096);
        let (ep, seen) = endpoint(answer(
            "200 OK",
            &format!("{{\"SigninToken\":\"{token}\"}}"),
        ));
        let got = get_signin_token(&ep, &creds(), None).unwrap();
        assert_eq!(got.expose(), token);
        let line = seen.recv().unwrap();
        assert!(
            line.starts_with("GET /federation?Action=getSigninToken&Session="),
            "{line}"
        );

        let page = "<html><title>HTTP Status 400 - Invalid credentials</title></html>";
        let (ep, _) = endpoint(answer("400 Bad Request", page));
        assert_eq!(
            get_signin_token(&ep, &creds(), None).unwrap_err(),
            FederationError::Refused {
                status: 400,
                message: "HTTP Status 400 - Invalid credentials".into()
            }
        );
        for body in ["{\"SigninToken\":\"\"}", "{}", "not json"] {
            let (ep, _) = endpoint(answer("200 OK", body));
            assert!(
                matches!(
                    get_signin_token(&ep, &creds(), None),
                    Err(FederationError::BadResponse(_))
                ),
                "{body}"
            );
        }
        // An answer over MAX_RESPONSE is not read to its end.
        let huge = format!("{{\"SigninToken\":\"{}\"}}", "T".repeat(MAX_RESPONSE));
        let (ep, _) = endpoint(answer("200 OK", &huge));
        assert_eq!(
            get_signin_token(&ep, &creds(), None).unwrap_err(),
            FederationError::BadResponse("the answer could not be read".into())
        );
    }

    #[test]
    fn a_ca_bundle_must_hold_a_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let ep = |bundle: PathBuf| FederationEndpoint {
            url: "https://f.example/federation".into(),
            timeout: Duration::from_secs(1),
            ca_bundle: Some(bundle),
        };
        let missing = dir.path().join("missing.pem");
        assert!(
            matches!(tls_config(&ep(missing)), Err(FederationError::Setup(m)) if m.contains("does not exist"))
        );
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").unwrap();
        assert!(
            matches!(tls_config(&ep(empty)), Err(FederationError::Setup(m)) if m.contains("holds no PEM certificate"))
        );
        let good = dir.path().join("ca.pem");
        let ca = rcgen::generate_simple_self_signed(vec!["f.example".into()]).unwrap();
        std::fs::write(&good, ca.cert.pem()).unwrap();
        assert!(tls_config(&ep(good)).is_ok());
    }

    /// Connects to the redirect's port and sends `parts` with a pause
    /// between them; returns what came back.
    fn browse(url: &str, parts: Vec<String>) -> std::thread::JoinHandle<String> {
        use std::io::{Read, Write};
        let addr = url
            .strip_prefix("http://")
            .and_then(|r| r.split('/').next())
            .unwrap()
            .to_owned();
        std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    std::thread::sleep(Duration::from_millis(200));
                }
                s.write_all(p.as_bytes()).unwrap();
            }
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            out
        })
    }

    fn poll_until_served(r: &OneTimeRedirect, target: &Secret) -> Served {
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if r.poll(target) == Served::Redirected {
                return Served::Redirected;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Served::Waiting
    }

    #[test]
    fn the_redirect_answers_its_own_path_once_and_at_once() {
        let r = OneTimeRedirect::bind().unwrap();
        let target = Secret::new("https://signin.example/federation?Action=login&SigninToken=T");
        let url = r.url().to_owned();
        let path = url.split_once("/mfacli-console/").unwrap().1;
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        assert!(
            path.len() == 32 && path.chars().all(|c| c.is_ascii_hexdigit()),
            "{url}"
        );
        let other = OneTimeRedirect::bind().unwrap();
        assert_ne!(
            other.url().split_once("/mfacli-console/").unwrap().1,
            path,
            "each redirect has its own random path"
        );

        // Another path of this user: 404, and the redirect still waits.
        let wrong = browse(
            &url,
            vec![format!(
                "GET /mfacli-console/{} HTTP/1.1\r\nHost: x\r\n\r\n",
                "0".repeat(32)
            )],
        );
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_secs(3) {
            assert_eq!(r.poll(&target), Served::Waiting);
            if wrong.is_finished() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(wrong.join().unwrap().starts_with("HTTP/1.1 404 "));

        // The right path, its request head in two pieces (the first
        // without the path): one 302 to the target, answered as soon as
        // the head is complete (not after the 2 s read timeout).
        let path_part = url.split_once("127.0.0.1:").unwrap().1;
        let path_part = &path_part[path_part.find('/').unwrap()..];
        let right = browse(
            &url,
            vec![
                "GET ".into(),
                format!("{path_part} HTTP/1.1\r\nHost: x\r\n\r\n"),
            ],
        );
        let start = std::time::Instant::now();
        assert_eq!(poll_until_served(&r, &target), Served::Redirected);
        assert!(
            start.elapsed() < Duration::from_millis(1500),
            "{:?}",
            start.elapsed()
        );
        let got = right.join().unwrap();
        assert!(got.starts_with("HTTP/1.1 302 Found\r\n"), "{got}");
        assert!(
            got.contains(&format!("\r\nLocation: {}\r\n", target.expose())),
            "{got}"
        );
        assert!(got.contains("Cache-Control: no-store"), "{got}");
        assert_eq!(r.refused(), 0, "our own connections are never refused");
    }

    #[test]
    fn tcp_owner_skips_short_lines() {
        // The fields up to the uid's place but not the uid: no owner, no panic.
        let table = "header\n   0: 0100007F:9C40 0100007F:1388 01 0:0 0:0 0\n";
        let client: std::net::SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let server: std::net::SocketAddr = "127.0.0.1:5000".parse().unwrap();
        assert_eq!(tcp_owner(table, client, server), None);
    }

    /// Another local user's connection: as root, a socket created under
    /// another file-system uid (setfsuid is per thread) is that user's.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_redirect_drops_another_users_connection_unanswered() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return; // Needs root; the integration test hardening_local covers it.
        }
        let r = OneTimeRedirect::bind().unwrap();
        let target = Secret::new("https://signin.example/federation?Action=login&SigninToken=T");
        let url = r.url().to_owned();
        let addr = url
            .strip_prefix("http://")
            .unwrap()
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        let path = url.split_once(addr.as_str()).unwrap().1.to_owned();
        let attacker = std::thread::spawn(move || {
            use std::io::{Read, Write};
            // SAFETY: setfsuid changes this thread's file-system uid only.
            unsafe { libc::setfsuid(65534) };
            let s = std::net::TcpStream::connect(addr);
            // SAFETY: back to root for this thread.
            unsafe { libc::setfsuid(0) };
            let mut s = s.unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let _ = s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            out
        });
        let start = std::time::Instant::now();
        while r.refused() == 0 && start.elapsed() < Duration::from_secs(10) {
            assert_eq!(r.poll(&target), Served::Waiting);
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(r.refused(), 1);
        assert_eq!(attacker.join().unwrap(), "", "closed with no answer");
        assert_eq!(r.poll(&target), Served::Waiting, "the redirect still waits");
    }
}
