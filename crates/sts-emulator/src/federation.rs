//! The AWS federation endpoint (console sign-in), as
//! `https://signin.aws.amazon.com/federation` behaves:
//!
//! - `GET /federation?Action=getSigninToken&Session=<JSON>[&SessionDuration=N]`
//!   exchanges credentials this emulator issued by AssumeRole for
//!   `{"SigninToken": "…"}`, valid 15 minutes and usable once. Anything else
//!   (unknown, expired or revoked credentials, GetSessionToken credentials,
//!   `SessionDuration` with role-chained credentials or out of range) gets
//!   AWS's `400 Invalid credentials parameter` page.
//! - `GET /federation?Action=login&Issuer=…&Destination=…&SigninToken=…`
//!   consumes the token and redirects (302) to `/console`, a small page that
//!   shows the assumed-role ARN, the account and the session time left. An
//!   unknown, expired or reused token gets the sign-in error page.
//!
//! Request-log entries carry the action, the credentials' key id and the
//! `SessionDuration`; never the session JSON or the token.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use rand::Rng;

use crate::http::{Request, Response};
use crate::server::RequestRecord;
use crate::sts::{Params, State};

/// A sign-in token works for this long after it was issued.
pub const SIGNIN_TOKEN_LIFETIME_SECS: i64 = 900;
/// The `SessionDuration` range AWS accepts.
pub const SESSION_DURATION_MIN: u32 = 900;
pub const SESSION_DURATION_MAX: u32 = 43_200;
/// The cookie that carries a console session.
const COOKIE: &str = "sts-emulator-console";

/// What the federation endpoint needs to know about issued credentials
/// (from [`State::issued_session`]).
#[derive(Debug, Clone)]
pub(crate) struct Issued {
    pub(crate) arn: String,
    pub(crate) account: String,
    pub(crate) expiration: DateTime<Utc>,
    pub(crate) revoked: bool,
    /// From AssumeRole (GetSessionToken credentials cannot sign in).
    pub(crate) assumed_role: bool,
    /// AssumeRole made with session credentials.
    pub(crate) chained: bool,
}

#[derive(Debug)]
struct Grant {
    issued: DateTime<Utc>,
    arn: String,
    account: String,
    /// Console session length from `SessionDuration`, else until the
    /// credentials expire.
    session_secs: Option<u32>,
    credentials_expire: DateTime<Utc>,
}

#[derive(Debug)]
struct ConsoleSession {
    arn: String,
    account: String,
    expires: DateTime<Utc>,
    destination: String,
}

/// Sign-in tokens not yet used, and console sessions (by cookie).
#[derive(Debug, Default)]
pub(crate) struct Federation {
    tokens: HashMap<String, Grant>,
    consoles: HashMap<String, ConsoleSession>,
}

/// Answer a federation or console request; `None` for any other path (STS).
pub(crate) fn handle(
    state: &mut State,
    req: &Request,
    now: DateTime<Utc>,
) -> Option<(Response, RequestRecord)> {
    let console = req.path == "/console" || req.path.starts_with("/console/");
    if req.path != "/federation" && !console {
        return None;
    }
    let params = Params::from_request(req);
    let mut rec = RequestRecord {
        action: params.get("Action").unwrap_or("").to_string(),
        access_key_id: None,
        token_code_sent: false,
        serial_number: None,
        duration_seconds: None,
        role_arn: None,
        status: 0,
        error_code: None,
        at: now,
    };
    let resp = if console {
        rec.action = "console".to_string();
        console_page(state, req, now, &mut rec)
    } else if req.method != "GET" && req.method != "POST" {
        page(405, "Method Not Allowed", "<p>Use GET.</p>")
    } else {
        match params.get("Action") {
            Some("getSigninToken") => get_signin_token(state, &params, now, &mut rec),
            Some("login") => login(state, &params, now, &mut rec),
            _ => invalid_request(&mut rec),
        }
    };
    rec.status = resp.status;
    Some((resp, rec))
}

#[derive(serde::Deserialize)]
struct SessionJson {
    #[serde(rename = "sessionId")]
    session_id: String,
    #[serde(rename = "sessionKey")]
    session_key: String,
    #[serde(rename = "sessionToken")]
    session_token: String,
}

fn get_signin_token(
    state: &mut State,
    params: &Params,
    now: DateTime<Utc>,
    rec: &mut RequestRecord,
) -> Response {
    let session: Option<SessionJson> = params
        .get("Session")
        .and_then(|s| serde_json::from_str(s).ok());
    let Some(session) = session else {
        return invalid_credentials(rec, "MalformedSession");
    };
    rec.access_key_id = Some(session.session_id.clone());
    let duration = match params.get("SessionDuration") {
        None => None,
        Some(d) => match d.parse::<u32>() {
            Ok(d) => {
                rec.duration_seconds = Some(d);
                Some(d)
            }
            Err(_) => return invalid_credentials(rec, "InvalidSessionDuration"),
        },
    };
    let Some(issued) = state.issued_session(
        &session.session_id,
        &session.session_key,
        &session.session_token,
    ) else {
        return invalid_credentials(rec, "UnknownCredentials");
    };
    if issued.revoked || now >= issued.expiration {
        return invalid_credentials(rec, "ExpiredCredentials");
    }
    if !issued.assumed_role {
        // GetSessionToken credentials: "SSO to console is not allowed".
        return invalid_credentials(rec, "NotAssumedRole");
    }
    rec.role_arn = Some(issued.arn.clone());
    if let Some(d) = duration {
        if issued.chained {
            return invalid_credentials(rec, "SessionDurationWithRoleChaining");
        }
        if !(SESSION_DURATION_MIN..=SESSION_DURATION_MAX).contains(&d) {
            return invalid_credentials(rec, "InvalidSessionDuration");
        }
    }
    let token = random_token(320);
    state.federation.tokens.insert(
        token.clone(),
        Grant {
            issued: now,
            arn: issued.arn,
            account: issued.account,
            session_secs: duration,
            credentials_expire: issued.expiration,
        },
    );
    let body = serde_json::json!({ "SigninToken": token }).to_string();
    Response {
        status: 200,
        headers: vec![
            (
                "Content-Type".to_string(),
                "application/json;charset=UTF-8".to_string(),
            ),
            ("Cache-Control".to_string(), "no-store".to_string()),
        ],
        body: body.into_bytes(),
    }
}

fn login(
    state: &mut State,
    params: &Params,
    now: DateTime<Utc>,
    rec: &mut RequestRecord,
) -> Response {
    // A token is consumed by its first use, whether or not it still worked.
    let grant = params
        .get("SigninToken")
        .and_then(|t| state.federation.tokens.remove(t));
    let Some(grant) = grant else {
        return signin_error(rec, "InvalidSigninToken");
    };
    if now - grant.issued > Duration::seconds(SIGNIN_TOKEN_LIFETIME_SECS) {
        return signin_error(rec, "ExpiredSigninToken");
    }
    let expires = match grant.session_secs {
        Some(secs) => now + Duration::seconds(i64::from(secs)),
        None => grant.credentials_expire,
    };
    rec.role_arn = Some(grant.arn.clone());
    let id = random_token(32);
    state.federation.consoles.insert(
        id.clone(),
        ConsoleSession {
            arn: grant.arn,
            account: grant.account,
            expires,
            destination: params.get("Destination").unwrap_or("").to_string(),
        },
    );
    Response {
        status: 302,
        headers: vec![
            ("Location".to_string(), "/console".to_string()),
            (
                "Set-Cookie".to_string(),
                format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax"),
            ),
            ("Cache-Control".to_string(), "no-store".to_string()),
        ],
        body: Vec::new(),
    }
}

fn console_page(
    state: &State,
    req: &Request,
    now: DateTime<Utc>,
    rec: &mut RequestRecord,
) -> Response {
    let id = req.header_values("cookie").find_map(|header| {
        header.split(';').find_map(|c| {
            let (name, value) = c.trim().split_once('=')?;
            (name == COOKIE).then_some(value)
        })
    });
    let session = id.and_then(|id| state.federation.consoles.get(id));
    let Some(s) = session.filter(|s| now < s.expires) else {
        rec.error_code = Some("NotSignedIn".to_string());
        return page(
            403,
            "AWS Management Console",
            "<h1>You are not signed in</h1><p>Your session has expired or you have signed out. Sign in again.</p>",
        );
    };
    rec.role_arn = Some(s.arn.clone());
    let left = (s.expires - now).num_seconds();
    let body = format!(
        "<h1>AWS Management Console</h1>\
         <p class=\"emulator\">served by sts-emulator</p>\
         <dl>\
         <dt>Signed in as</dt><dd id=\"arn\">{}</dd>\
         <dt>Account</dt><dd id=\"account\">{}</dd>\
         <dt>Session time left</dt><dd id=\"remaining\" data-seconds=\"{left}\">{}</dd>\
         <dt>Destination</dt><dd id=\"destination\">{}</dd>\
         </dl>",
        escape(&s.arn),
        escape(&s.account),
        human(left),
        escape(&s.destination),
    );
    let mut resp = page(200, "AWS Management Console", &body);
    resp.headers
        .push(("X-Console-Session-Seconds".to_string(), left.to_string()));
    resp
}

/// AWS's answer to a bad `getSigninToken` (what its knowledge-center
/// article "invalid-credentials-parameter" quotes).
fn invalid_credentials(rec: &mut RequestRecord, reason: &str) -> Response {
    rec.error_code = Some(reason.to_string());
    page(
        400,
        "HTTP Status 400 - Invalid credentials parameter",
        "<h1>HTTP Status 400 - Invalid credentials parameter</h1>\
         <p><b>type</b> Status report</p>\
         <p><b>message</b> <u>Invalid credentials parameter</u></p>\
         <p><b>description</b> <u>The request sent by the client was syntactically incorrect.</u></p>",
    )
}

fn invalid_request(rec: &mut RequestRecord) -> Response {
    rec.error_code = Some("InvalidAction".to_string());
    page(
        400,
        "HTTP Status 400 - Bad Request",
        "<h1>HTTP Status 400 - Bad Request</h1>\
         <p><b>description</b> <u>The request sent by the client was syntactically incorrect.</u></p>",
    )
}

/// The sign-in error page for an unknown, expired or reused token.
fn signin_error(rec: &mut RequestRecord, reason: &str) -> Response {
    rec.error_code = Some(reason.to_string());
    page(
        400,
        "Amazon Web Services Sign-In",
        "<h1>Amazon Web Services Sign-In</h1>\
         <p id=\"error\">Your request included an invalid sign-in token. \
         Sign-in tokens are valid for 15 minutes and can be used only once. \
         Request a new sign-in URL and try again.</p>",
    )
}

fn page(status: u16, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body>{body}</body></html>\n",
        escape(title)
    );
    Response {
        status,
        headers: vec![
            (
                "Content-Type".to_string(),
                "text/html;charset=UTF-8".to_string(),
            ),
            ("Cache-Control".to_string(), "no-store".to_string()),
        ],
        body: html.into_bytes(),
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// "59m 40s", "8h 0m".
fn human(secs: i64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    if h > 0 {
        format!("{h}h {m}m")
    } else {
        format!("{m}m {s}s")
    }
}

fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::World;

    fn get(query: &str) -> Request {
        Request::for_test("GET", "/federation", query, &[], b"")
    }

    #[test]
    fn other_paths_fall_through_to_sts() {
        let mut state = State::new(World::demo()).unwrap();
        let req = Request::for_test("POST", "/", "", &[], b"Action=GetCallerIdentity");
        assert!(handle(&mut state, &req, Utc::now()).is_none());
    }

    #[test]
    fn unknown_credentials_get_the_invalid_credentials_page() {
        let mut state = State::new(World::demo()).unwrap();
        let session = r#"{"sessionId":"ASIAX","sessionKey":"k","sessionToken":"t"}"#;
        let query = format!(
            "Action=getSigninToken&Session={}",
            percent_encoding::utf8_percent_encode(session, percent_encoding::NON_ALPHANUMERIC)
        );
        let (resp, rec) = handle(&mut state, &get(&query), Utc::now()).unwrap();
        assert_eq!(resp.status, 400);
        let body = String::from_utf8(resp.body).unwrap();
        assert!(body.contains("Invalid credentials parameter"), "{body}");
        assert!(body.contains("The request sent by the client was syntactically incorrect."));
        assert_eq!(rec.action, "getSigninToken");
        assert_eq!(rec.access_key_id.as_deref(), Some("ASIAX"));
        assert_eq!(rec.error_code.as_deref(), Some("UnknownCredentials"));
    }

    #[test]
    fn login_with_unknown_token_shows_the_signin_error() {
        let mut state = State::new(World::demo()).unwrap();
        let (resp, rec) = handle(
            &mut state,
            &get("Action=login&Issuer=x&Destination=https%3A%2F%2Fconsole.aws.amazon.com%2F&SigninToken=nope"),
            Utc::now(),
        )
        .unwrap();
        assert_eq!(resp.status, 400);
        assert!(String::from_utf8(resp.body)
            .unwrap()
            .contains("invalid sign-in token"));
        assert_eq!(rec.action, "login");
        assert_eq!(rec.error_code.as_deref(), Some("InvalidSigninToken"));
    }

    #[test]
    fn console_without_cookie_is_not_signed_in() {
        let mut state = State::new(World::demo()).unwrap();
        let req = Request::for_test("GET", "/console", "", &[], b"");
        let (resp, rec) = handle(&mut state, &req, Utc::now()).unwrap();
        assert_eq!(resp.status, 403);
        assert_eq!(rec.action, "console");
    }

    #[test]
    fn helpers() {
        assert_eq!(human(3580), "59m 40s");
        assert_eq!(human(28_800), "8h 0m");
        assert_eq!(escape("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
        let t = random_token(320);
        assert_eq!(t.len(), 320);
        assert_ne!(t, random_token(320));
    }
}
