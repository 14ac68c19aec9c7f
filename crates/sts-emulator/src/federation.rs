//! The console federation endpoint (`/federation`) and a small stand-in for
//! the console (`/console`), as AWS's sign-in service behaves:
//!
//! * `Action=getSigninToken&Session={"sessionId","sessionKey","sessionToken"}`
//!   `[&SessionDuration=N]`: the session must be unexpired AssumeRole
//!   credentials that the emulator issued. `SessionDuration` (900..=43200) is
//!   refused for role-chained credentials (AssumeRole called with session
//!   credentials) with AWS's 400 "Invalid credentials parameter" page.
//!   Answers `{"SigninToken":"…"}`; the token is good for 15 minutes of
//!   emulator time, once.
//! * `Action=login&Issuer=…&Destination=URL&SigninToken=…`: a valid token
//!   redirects (302) to `/console?session=ID`, which shows the assumed-role
//!   ARN, the account and the time left; a bad, expired or used token gets an
//!   error page.
//!
//! Tokens are never logged.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use crate::http::Request;
use crate::sts::{self, Identity, LogHints, Outcome, Params, State};

/// A sign-in token is good for this long, once.
const TOKEN_LIFETIME_SECS: i64 = 15 * 60;
/// `SessionDuration` bounds.
const MIN_CONSOLE_SECS: i64 = 900;
const MAX_CONSOLE_SECS: i64 = 43_200;

/// What AWS's federation endpoint answers for unusable credentials, and for
/// `SessionDuration` with role-chained credentials.
pub(crate) const INVALID_CREDENTIALS_PAGE: &str =
    "<html><head><title>HTTP Status 400 - Invalid credentials parameter</title></head>\
<body><h1>HTTP Status 400 - Invalid credentials parameter</h1><hr/>\
<p><b>type</b> Status report</p>\
<p><b>message</b> Invalid credentials parameter</p>\
<p><b>description</b> The request sent by the client was syntactically incorrect.</p>\
<hr/></body></html>";

/// The sign-in page's text for a bad, expired or already used token.
pub(crate) const INVALID_TOKEN_TEXT: &str = "Amazon Web Services Sign-In: Your request included an invalid or expired sign-in token. Sign-in tokens are valid for 15 minutes and can be used only once.";

#[derive(Debug)]
struct SigninToken {
    access_key_id: String,
    expires: DateTime<Utc>,
    /// When the console session it opens ends.
    console_expiration: DateTime<Utc>,
    used: bool,
}

#[derive(Debug)]
struct ConsoleSession {
    arn: String,
    account: String,
    expiration: DateTime<Utc>,
    issuer: String,
    destination: String,
}

/// Sign-in tokens and console sessions.
#[derive(Debug, Default)]
pub(crate) struct Federation {
    tokens: HashMap<String, SigninToken>,
    consoles: HashMap<String, ConsoleSession>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionJson {
    session_id: String,
    session_key: String,
    session_token: String,
}

fn html_escape(s: &str) -> String {
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

fn page(status: u16, body: String, error: Option<&str>, action: &str) -> Outcome {
    Outcome {
        status,
        body,
        error_code: error.map(str::to_string),
        content_type: "text/html; charset=utf-8",
        headers: Vec::new(),
        log: LogHints {
            action: Some(action.to_string()),
            ..LogHints::default()
        },
    }
}

fn invalid_credentials(key: Option<String>, duration: Option<u32>) -> Outcome {
    let mut o = page(
        400,
        INVALID_CREDENTIALS_PAGE.to_string(),
        Some("InvalidCredentialsParameter"),
        "getSigninToken",
    );
    o.log.access_key_id = key;
    o.log.duration_seconds = duration;
    o
}

fn invalid_token() -> Outcome {
    page(
        400,
        format!(
            "<html><head><title>Amazon Web Services Sign-In</title></head><body>\
             <h1>Amazon Web Services Sign-In</h1><p id=\"error\">{}</p></body></html>",
            html_escape(INVALID_TOKEN_TEXT)
        ),
        Some("InvalidSigninToken"),
        "login",
    )
}

/// "1h 05m" / "14m" / "0m".
fn remaining(secs: i64) -> String {
    let mins = secs.max(0) / 60;
    if mins >= 60 {
        format!("{}h {:02}m", mins / 60, mins % 60)
    } else {
        format!("{mins}m")
    }
}

impl State {
    /// `/federation`: getSigninToken and login.
    pub(crate) fn federation(&mut self, req: &Request, now: DateTime<Utc>) -> Outcome {
        let params = Params::from_request(req);
        match params.get("Action") {
            Some("getSigninToken") => self.get_signin_token(&params, now),
            Some("login") => self.login(&params, now),
            other => page(
                400,
                "<html><body><h1>HTTP Status 400</h1><p>Unsupported Action</p></body></html>"
                    .into(),
                Some("InvalidAction"),
                other.unwrap_or(""),
            ),
        }
    }

    fn get_signin_token(&mut self, params: &Params, now: DateTime<Utc>) -> Outcome {
        let duration_param = params.get("SessionDuration");
        let duration = duration_param.and_then(|d| d.parse::<i64>().ok());
        let logged_duration = duration.and_then(|d| u32::try_from(d).ok());
        let Some(session_json) = params
            .get("Session")
            .and_then(|s| serde_json::from_str::<SessionJson>(s).ok())
        else {
            return invalid_credentials(None, logged_duration);
        };
        let key = Some(session_json.session_id.clone());
        let Some(session) = self.sessions.get(&session_json.session_id) else {
            return invalid_credentials(key, logged_duration);
        };
        let genuine = sts::ct_eq(&session.secret, &session_json.session_key)
            && sts::ct_eq(&session.token, &session_json.session_token);
        // Only AssumeRole credentials can be exchanged, not GetSessionToken's.
        let role_credentials = matches!(session.identity, Identity::AssumedRole { .. });
        if !genuine || session.revoked || now >= session.expiration || !role_credentials {
            return invalid_credentials(key, logged_duration);
        }
        let console_expiration = match (duration_param, duration) {
            (None, _) => session.expiration,
            (Some(_), Some(d))
                if (MIN_CONSOLE_SECS..=MAX_CONSOLE_SECS).contains(&d) && !session.chained =>
            {
                now + Duration::seconds(d)
            }
            // Out of range, not a number, or role-chained credentials.
            _ => return invalid_credentials(key, logged_duration),
        };
        let token = sts::random_string(
            256,
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        );
        self.federation.tokens.insert(
            token.clone(),
            SigninToken {
                access_key_id: session_json.session_id,
                expires: now + Duration::seconds(TOKEN_LIFETIME_SECS),
                console_expiration,
                used: false,
            },
        );
        Outcome {
            status: 200,
            body: serde_json::json!({ "SigninToken": token }).to_string(),
            error_code: None,
            content_type: "application/json",
            headers: Vec::new(),
            log: LogHints {
                action: Some("getSigninToken".into()),
                access_key_id: key,
                duration_seconds: logged_duration,
            },
        }
    }

    fn login(&mut self, params: &Params, now: DateTime<Utc>) -> Outcome {
        let Some(token) = params
            .get("SigninToken")
            .and_then(|t| self.federation.tokens.get_mut(t))
        else {
            return invalid_token();
        };
        if token.used || now >= token.expires {
            return invalid_token();
        }
        token.used = true;
        let (key, console_expiration) = (token.access_key_id.clone(), token.console_expiration);
        // The credentials behind the token must still exist and not be revoked.
        let Some(session) = self.sessions.get(&key).filter(|s| !s.revoked) else {
            return invalid_token();
        };
        let Identity::AssumedRole { role, session_name } = &session.identity else {
            return invalid_token();
        };
        let r = &self.world.roles[*role];
        let console = ConsoleSession {
            arn: sts::assumed_role_arn(r.account(), r.name(), session_name),
            account: r.account().to_string(),
            expiration: console_expiration,
            issuer: params.get("Issuer").unwrap_or("").to_string(),
            destination: params.get("Destination").unwrap_or("").to_string(),
        };
        let id = sts::random_string(32, b"abcdefghijklmnopqrstuvwxyz0123456789");
        self.federation.consoles.insert(id.clone(), console);
        Outcome {
            status: 302,
            body: String::new(),
            error_code: None,
            content_type: "text/html; charset=utf-8",
            headers: vec![("Location".into(), format!("/console?session={id}"))],
            log: LogHints {
                action: Some("login".into()),
                access_key_id: Some(key),
                duration_seconds: None,
            },
        }
    }

    /// `/console?session=ID`: who is signed in, where, and for how long.
    pub(crate) fn console(&self, req: &Request, now: DateTime<Utc>) -> Outcome {
        let params = Params::from_request(req);
        let Some(c) = params
            .get("session")
            .and_then(|id| self.federation.consoles.get(id))
        else {
            return page(
                403,
                "<html><body><h1>Not signed in</h1></body></html>".into(),
                Some("NotSignedIn"),
                "console",
            );
        };
        let left = (c.expiration - now).num_seconds();
        if left <= 0 {
            return page(
                403,
                "<html><body><h1>Session expired</h1><p>Your console session has expired. Sign in again.</p></body></html>".into(),
                Some("SessionExpired"),
                "console",
            );
        }
        let body = format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>AWS Management Console (sts-emulator)</title></head>\
             <body><h1>AWS Management Console</h1>\
             <p>Signed in as <span id=\"arn\">{}</span></p>\
             <p>Account <span id=\"account\">{}</span></p>\
             <p>Session time left <span id=\"remaining\">{}</span> (until <span id=\"expiration\">{}</span>)</p>\
             <p>Destination <a id=\"destination\" href=\"{}\">{}</a></p>\
             <p>Issuer <span id=\"issuer\">{}</span></p></body></html>\n",
            html_escape(&c.arn),
            html_escape(&c.account),
            remaining(left),
            sts::iso8601(c.expiration),
            html_escape(&c.destination),
            html_escape(&c.destination),
            html_escape(&c.issuer),
        );
        page(200, body, None, "console")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_time_reads_well() {
        assert_eq!(remaining(3600 + 5 * 60 + 59), "1h 05m");
        assert_eq!(remaining(14 * 60 + 30), "14m");
        assert_eq!(remaining(-5), "0m");
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            html_escape("<a href=\"x\">'&"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;"
        );
    }
}
