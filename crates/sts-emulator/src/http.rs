//! The request and response as the (synchronous) handlers see them, and the
//! conversion from hyper's types. HTTP itself (parsing, chunked bodies,
//! `Expect: 100-continue`, keep-alive) is hyper's job (see `server.rs`).

/// A whole request: head plus the body, already read.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: String,
    /// Path as sent, still percent-encoded.
    pub(crate) path: String,
    /// Raw query string without `?`.
    pub(crate) query: String,
    /// Header names lower-cased, in arrival order, duplicates kept.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// The connection's peer address (`aws:SourceIp`).
    pub(crate) peer: Option<std::net::IpAddr>,
    /// Whether the request came over TLS (`aws:SecureTransport`).
    pub(crate) secure: bool,
}

impl Request {
    pub(crate) fn from_parts(parts: &http::request::Parts, body: Vec<u8>) -> Request {
        Request {
            method: parts.method.as_str().to_string(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().unwrap_or("").to_string(),
            headers: parts
                .headers
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).trim().to_string(),
                    )
                })
                .collect(),
            body,
            peer: None,
            secure: false,
        }
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
impl Request {
    pub(crate) fn for_test(
        method: &str,
        path: &str,
        query: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Request {
        Request {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string()))
                .collect(),
            body: body.to_vec(),
            peer: None,
            secure: false,
        }
    }
}

/// A response to send: status, headers (Content-Length is added by hyper).
#[derive(Debug, Clone)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_hyper_parts() {
        let (parts, ()) = http::Request::builder()
            .method("POST")
            .uri("/a%20b?x=1&y=2")
            .header("X-A", "  b ")
            .header("x-a", "c")
            .body(())
            .unwrap()
            .into_parts();
        let r = Request::from_parts(&parts, b"abc".to_vec());
        assert_eq!(
            (r.method.as_str(), r.path.as_str(), r.query.as_str()),
            ("POST", "/a%20b", "x=1&y=2")
        );
        assert_eq!(r.header("x-a"), Some("b"));
        assert_eq!(r.header_values("x-a").collect::<Vec<_>>(), ["b", "c"]);
        assert_eq!(r.body, b"abc");
    }
}
