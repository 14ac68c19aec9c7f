//! Shared helpers: demo constants, SDK clients configured as mfacli builds
//! them, TOTP codes at the emulator's clock, and a raw SigV4 HTTP client.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use aws_sdk_sts::config::retry::RetryConfig;
use aws_sdk_sts::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sts_emulator::Emulator;

pub use sts_emulator::demo::{
    ALICE_KEY, ALICE_SECRET, ALICE_SEED, ALICE_SERIAL, AUDITOR_ROLE as AUDITOR, BOB_KEY,
    BOB_SECRET, PROD_ROLE as PROD, STAGING_ROLE as STAGING, UNTRUSTING_ROLE as UNTRUSTING,
};

/// A client built the way mfacli builds it, with retries disabled so error
/// tests see exactly one request.
pub fn client(
    emu: &Emulator,
    akid: &str,
    secret: &str,
    token: Option<&str>,
) -> aws_sdk_sts::Client {
    client_in(emu, "us-east-1", akid, secret, token)
}

/// [`client`] signing for `region`.
pub fn client_in(
    emu: &Emulator,
    region: &str,
    akid: &str,
    secret: &str,
    token: Option<&str>,
) -> aws_sdk_sts::Client {
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(emu.endpoint_url())
        .credentials_provider(Credentials::new(
            akid,
            secret,
            token.map(str::to_string),
            None,
            "test",
        ))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_sts::Client::from_conf(config)
}

pub fn alice(emu: &Emulator) -> aws_sdk_sts::Client {
    client(emu, ALICE_KEY, ALICE_SECRET, None)
}

pub fn session_client(emu: &Emulator, c: &aws_sdk_sts::types::Credentials) -> aws_sdk_sts::Client {
    client(
        emu,
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token()),
    )
}

/// Alice's TOTP code at emulator time + `steps` × 30 s.
pub fn code(emu: &Emulator, steps: i64) -> String {
    code_at(emu.now() + chrono::Duration::seconds(30 * steps))
}

pub fn code_at(t: DateTime<Utc>) -> String {
    let secret = totp_rs::Secret::try_from_base32(ALICE_SEED).unwrap();
    totp_rs::Builder::new()
        .with_secret(secret)
        .build()
        .unwrap()
        .generate(t.timestamp() as u64)
        .to_string()
}

/// Move the emulator clock to ~2 s into a TOTP step, so a test has ~27 s
/// before codes computed now change meaning.
pub fn settle(emu: &Emulator) {
    let into_step = emu.now().timestamp().rem_euclid(30);
    emu.set_offset_secs(emu.offset_secs() + (30 - into_step) + 2);
}

/// (HTTP status, AWS error code, message) of an SDK error.
pub fn err<E: ProvideErrorMetadata + std::fmt::Debug>(
    e: SdkError<E, aws_sdk_sts::config::http::HttpResponse>,
) -> (u16, String, String) {
    let status = e.raw_response().map(|r| r.status().as_u16()).unwrap_or(0);
    (
        status,
        e.code().unwrap_or("").to_string(),
        e.message().unwrap_or("").to_string(),
    )
}

/// Session with MFA for alice (GetSessionToken).
pub async fn mfa_session(emu: &Emulator) -> aws_sdk_sts::types::Credentials {
    settle(emu);
    alice(emu)
        .get_session_token()
        .serial_number(ALICE_SERIAL)
        .token_code(code(emu, 0))
        .send()
        .await
        .expect("GetSessionToken with MFA")
        .credentials
        .expect("credentials")
}

// ---------------------------------------------------------------------------
// Raw HTTP with an independent SigV4 signer (botocore style: few signed headers).

pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub struct RawRequest<'a> {
    pub method: &'a str,
    pub query: &'a str,
    pub body: &'a str,
    pub akid: &'a str,
    pub secret: &'a str,
    pub token: Option<&'a str>,
    pub signed_at: DateTime<Utc>,
    pub region: &'a str,
    /// The Host header (default `127.0.0.1:PORT`).
    pub host: Option<&'a str>,
    /// SigV4 service (default `sts`).
    pub service: &'a str,
}

impl<'a> RawRequest<'a> {
    pub fn post(body: &'a str, akid: &'a str, secret: &'a str, signed_at: DateTime<Utc>) -> Self {
        RawRequest {
            method: "POST",
            query: "",
            body,
            akid,
            secret,
            token: None,
            signed_at,
            region: "eu-central-1",
            host: None,
            service: "sts",
        }
    }

    /// The full HTTP/1.1 request text, signed over host, content-type,
    /// x-amz-date (and x-amz-security-token) like botocore does.
    pub fn build(&self, port: u16) -> String {
        let host = self
            .host
            .map_or_else(|| format!("127.0.0.1:{port}"), str::to_string);
        let amz_date = self.signed_at.format("%Y%m%dT%H%M%SZ").to_string();
        let date = &amz_date[..8];
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";
        let mut headers = vec![
            ("content-type", content_type.to_string()),
            ("host", host.clone()),
            ("x-amz-date", amz_date.clone()),
        ];
        if let Some(t) = self.token {
            headers.push(("x-amz-security-token", t.to_string()));
        }
        let signed: Vec<&str> = headers.iter().map(|(n, _)| *n).collect();
        let canonical_headers: String = headers.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
        let canonical = format!(
            "{}\n/\n{}\n{}\n{}\n{}",
            self.method,
            self.query,
            canonical_headers,
            signed.join(";"),
            sha256_hex(self.body.as_bytes())
        );
        let scope = format!("{date}/{}/{}/aws4_request", self.region, self.service);
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            sha256_hex(canonical.as_bytes())
        );
        let day = chrono::NaiveDate::parse_from_str(date, "%Y%m%d")
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc();
        let key = aws_sigv4::sign::v4::generate_signing_key(
            self.secret,
            day.into(),
            self.region,
            self.service,
        );
        let signature = aws_sigv4::sign::v4::calculate_signature(key, string_to_sign.as_bytes());
        let target = if self.query.is_empty() {
            "/".to_string()
        } else {
            format!("/?{}", self.query)
        };
        let mut raw = format!("{} {target} HTTP/1.1\r\n", self.method);
        for (n, v) in &headers {
            raw.push_str(&format!("{n}: {v}\r\n"));
        }
        raw.push_str(&format!(
            "authorization: AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={}, Signature={signature}\r\n",
            self.akid,
            signed.join(";")
        ));
        raw.push_str(&format!(
            "content-length: {}\r\nconnection: close\r\n\r\n{}",
            self.body.len(),
            self.body
        ));
        raw
    }
}

pub struct RawResponse {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }

    pub fn tag(&self, tag: &str) -> Option<String> {
        xml_tag(&self.body, tag)
    }
}

pub fn xml_tag(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&format!("</{tag}>"))? + start;
    Some(body[start..end].to_string())
}

/// Send raw bytes on a fresh connection and read the (single) response to EOF.
pub fn send_raw(port: u16, raw: &str) -> RawResponse {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(raw.as_bytes()).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    parse_response(&String::from_utf8(out).unwrap())
}

pub fn parse_response(text: &str) -> RawResponse {
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    RawResponse {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

pub const GCI: &str = "Action=GetCallerIdentity&Version=2011-06-15";

/// The code of any seed at emulator time + `steps` × 30 s.
pub fn code_for(emu: &Emulator, seed: &str, steps: i64) -> String {
    let t = emu.now() + chrono::Duration::seconds(30 * steps);
    sts_emulator::demo::totp_code(seed, t.timestamp() as u64).unwrap()
}

// ---------------------------------------------------------------------------
// TLS: a throwaway CA and a server certificate, made with rcgen.

pub struct TestPki {
    /// The CA certificate, for clients (AWS_CA_BUNDLE).
    pub ca_pem: String,
    /// The server's chain (leaf, then the CA) and key, for the emulator.
    pub chain_pem: String,
    pub key_pem: String,
}

/// A CA and a leaf certificate for `names` (DNS names or IP addresses).
pub fn test_pki(names: &[&str]) -> TestPki {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "sts-emulator test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf_params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, names[0]);
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
    TestPki {
        ca_pem: ca_cert.pem(),
        chain_pem: format!("{}{}", leaf.pem(), ca_cert.pem()),
        key_pem: leaf_key.serialize_pem(),
    }
}

/// Resolves every name to 127.0.0.1, as a hosts-file entry would.
#[derive(Debug, Clone)]
pub struct Loopback;

impl aws_smithy_runtime_api::client::dns::ResolveDns for Loopback {
    fn resolve_dns<'a>(
        &'a self,
        _name: &'a str,
    ) -> aws_smithy_runtime_api::client::dns::DnsFuture<'a> {
        aws_smithy_runtime_api::client::dns::DnsFuture::ready(Ok(vec![[127, 0, 0, 1].into()]))
    }
}

/// An SDK client for `endpoint` (https) trusting only `ca_pem`, with every
/// host name resolving to 127.0.0.1.
pub fn tls_client(
    endpoint: &str,
    region: &str,
    ca_pem: &str,
    akid: &str,
    secret: &str,
) -> aws_sdk_sts::Client {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(
            TlsContext::builder()
                .with_trust_store(TrustStore::empty().with_pem_certificate(ca_pem.as_bytes()))
                .build()
                .unwrap(),
        )
        .build_with_resolver(Loopback);
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(akid, secret, None, None, "test"))
        .http_client(http)
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_sts::Client::from_conf(config)
}

/// `GET path_and_query` on a fresh connection (no signature).
pub fn get(port: u16, path_and_query: &str) -> RawResponse {
    send_raw(
        port,
        &format!(
            "GET {path_and_query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
        ),
    )
}

/// Query-string encoding of one value.
pub fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Credentials for a raw request: key id, secret, session token.
pub type Creds<'a> = (&'a str, &'a str, Option<&'a str>);

/// An IAM Query API call (`Version=2010-05-08` added), signed as AWS signs
/// IAM: service `iam`, region us-east-1.
pub fn iam(emu: &Emulator, creds: Creds<'_>, action_and_params: &str) -> RawResponse {
    let body = format!("Action={action_and_params}&Version=2010-05-08");
    let mut r = RawRequest::post(&body, creds.0, creds.1, emu.now());
    r.token = creds.2;
    r.service = "iam";
    r.region = "us-east-1";
    send_raw(emu.port(), &r.build(emu.port()))
}

/// Every `<tag>` value in `body`, in order.
pub fn xml_tags(body: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        out.push(after[..end].to_string());
        rest = &after[end + close.len()..];
    }
    out
}
