//! A deliberately small HTTP/1.1 server side: request parsing with
//! Content-Length bodies, `Expect: 100-continue`, keep-alive, and response
//! writing. Enough for the AWS SDKs, botocore and curl; nothing more.

use std::io::{self, BufRead, Read, Write};

const MAX_LINE: u64 = 16 * 1024;
const MAX_HEADERS: usize = 100;
const MAX_BODY: usize = 1024 * 1024;

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
    http10: bool,
}

impl Request {
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

    /// HTTP/1.1 defaults to keep-alive, HTTP/1.0 to close.
    pub(crate) fn keep_alive(&self) -> bool {
        let connection = self.header("connection").unwrap_or("").to_ascii_lowercase();
        if self.http10 {
            connection.contains("keep-alive")
        } else {
            !connection.contains("close")
        }
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
            http10: false,
        }
    }
}

#[derive(Debug)]
pub(crate) enum ReadError {
    /// The peer closed (or went idle past the read timeout) between requests.
    Closed,
    Io(io::Error),
    /// A malformed or unsupported request: answer with this status, then close.
    Bad(u16, &'static str),
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

fn read_line<R: BufRead>(r: &mut R) -> Result<Option<String>, ReadError> {
    let mut buf = Vec::new();
    let n = r.by_ref().take(MAX_LINE).read_until(b'\n', &mut buf)?;
    if n == 0 {
        return Ok(None);
    }
    if !buf.ends_with(b"\n") {
        return Err(ReadError::Bad(431, "header line too long"));
    }
    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        buf.pop();
    }
    String::from_utf8(buf)
        .map(Some)
        .map_err(|_| ReadError::Bad(400, "header is not UTF-8"))
}

/// Read one request. `interim` receives `100 Continue` when the client asks for it.
pub(crate) fn read_request<R: BufRead, W: Write>(
    r: &mut R,
    interim: &mut W,
) -> Result<Request, ReadError> {
    // Tolerate stray empty lines between pipelined requests (RFC 9112 §2.2).
    let request_line = loop {
        match read_line(r) {
            Ok(Some(l)) if l.is_empty() => continue,
            Ok(Some(l)) => break l,
            Ok(None) => return Err(ReadError::Closed),
            Err(ReadError::Io(e))
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::ConnectionReset
                ) =>
            {
                return Err(ReadError::Closed)
            }
            Err(e) => return Err(e),
        }
    };
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Bad(400, "malformed request line"));
    };
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => {
            return Err(ReadError::Bad(
                505,
                "only HTTP/1.0 and HTTP/1.1 are supported",
            ))
        }
    };
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target.to_string(), String::new()),
    };
    if !path.starts_with('/') {
        return Err(ReadError::Bad(
            400,
            "request target must be an absolute path",
        ));
    }

    let mut headers = Vec::new();
    loop {
        let line = read_line(r)?.ok_or(ReadError::Bad(400, "connection closed in headers"))?;
        if line.is_empty() {
            break;
        }
        if headers.len() == MAX_HEADERS {
            return Err(ReadError::Bad(431, "too many headers"));
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(ReadError::Bad(400, "malformed header line"));
        };
        if name.is_empty() || name.contains(' ') {
            return Err(ReadError::Bad(400, "malformed header name"));
        }
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }

    let mut req = Request {
        method: method.to_string(),
        path,
        query,
        headers,
        body: Vec::new(),
        http10,
    };

    if req.header("transfer-encoding").is_some() {
        return Err(ReadError::Bad(
            411,
            "chunked request bodies are not supported; send Content-Length",
        ));
    }
    let lengths: Vec<&str> = req.header_values("content-length").collect();
    let length = match lengths.as_slice() {
        [] => 0,
        [one] => one
            .parse::<usize>()
            .map_err(|_| ReadError::Bad(400, "invalid Content-Length"))?,
        _ => return Err(ReadError::Bad(400, "repeated Content-Length")),
    };
    if length > MAX_BODY {
        return Err(ReadError::Bad(413, "request body too large"));
    }
    if length > 0 {
        if req
            .header("expect")
            .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
            && !req.http10
        {
            interim.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
            interim.flush()?;
        }
        let mut body = vec![0; length];
        r.read_exact(&mut body)?;
        req.body = body;
    }
    Ok(req)
}

#[derive(Debug, Clone)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

pub(crate) fn write_response<W: Write>(
    w: &mut W,
    resp: &Response,
    keep_alive: bool,
) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    for (name, value) in &resp.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n", resp.body.len()));
    head.push_str(if keep_alive {
        "Connection: keep-alive\r\n\r\n"
    } else {
        "Connection: close\r\n\r\n"
    });
    // One write so the response leaves in as few segments as possible.
    let mut out = head.into_bytes();
    out.extend_from_slice(&resp.body);
    w.write_all(&out)?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn parse(raw: &str) -> (Result<Request, ReadError>, Vec<u8>) {
        let mut interim = Vec::new();
        let r = read_request(&mut Cursor::new(raw.as_bytes().to_vec()), &mut interim);
        (r, interim)
    }

    #[test]
    fn parses_post_with_body_and_continue() {
        let (r, interim) = parse(
            "POST /?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\nX-A:  b \r\n\r\nabc",
        );
        let r = r.unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/");
        assert_eq!(r.query, "x=1");
        assert_eq!(r.header("x-a"), Some("b"));
        assert_eq!(r.body, b"abc");
        assert!(r.keep_alive());
        assert_eq!(interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    }

    #[test]
    fn refuses_chunked_and_garbage() {
        assert!(matches!(
            parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").0,
            Err(ReadError::Bad(411, _))
        ));
        assert!(matches!(
            parse("HELLO\r\n\r\n").0,
            Err(ReadError::Bad(400, _))
        ));
        assert!(matches!(parse("").0, Err(ReadError::Closed)));
    }

    #[test]
    fn http10_closes_by_default() {
        let r = parse("GET / HTTP/1.0\r\n\r\n").0.unwrap();
        assert!(!r.keep_alive());
        let r = parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
            .0
            .unwrap();
        assert!(!r.keep_alive());
    }
}
