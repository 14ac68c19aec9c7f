//! The little HTTP/1.1 the container-credentials contract needs: one GET per
//! connection, a bounded request head, `Connection: close` responses.
//! Anything else is answered with a status and no body, or dropped.

use std::io;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;

/// The largest request head accepted. SDKs send about 200 bytes.
pub(crate) const MAX_HEAD: usize = 8 * 1024;
/// How long a client may stay silent after connecting. SDKs send their
/// request at once; a connection opened and left idle is dropped soon.
pub(crate) const FIRST_BYTE_DEADLINE: Duration = Duration::from_millis(500);
/// How long a client may take to send its whole request head.
pub(crate) const READ_DEADLINE: Duration = Duration::from_secs(2);
/// How long a write may block on a client that does not read.
pub(crate) const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// A parsed request head: only what the server looks at.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) authorization: Option<String>,
}

/// Why no request could be read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// Over [`MAX_HEAD`] bytes without the end of the head: answer 431.
    TooLarge,
    /// Not HTTP: answer 400.
    Malformed,
    /// Closed, timed out or failed: just drop the connection.
    Gone,
}

/// Reads one request head: its first byte within `first_byte` (the
/// server's own user gets [`READ_DEADLINE`], others
/// [`FIRST_BYTE_DEADLINE`]), all of it within [`READ_DEADLINE`] (in total,
/// so a client trickling one byte at a time cannot hold the connection
/// longer).
pub(crate) async fn read_request(
    stream: &TcpStream,
    first_byte: Duration,
) -> Result<Request, ReadError> {
    let start = Instant::now();
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = find_head_end(&buf) {
            return parse_head(&buf[..end]);
        }
        if buf.len() >= MAX_HEAD {
            return Err(ReadError::TooLarge);
        }
        let limit = if buf.is_empty() {
            first_byte.min(READ_DEADLINE)
        } else {
            READ_DEADLINE
        };
        match tokio::time::timeout_at(start + limit, stream.readable()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return Err(ReadError::Gone),
        }
        let want = chunk.len().min(MAX_HEAD - buf.len());
        match stream.try_read(&mut chunk[..want]) {
            Ok(0) => return Err(ReadError::Gone),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => return Err(ReadError::Gone),
        }
    }
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

/// Parses the request line and headers (header names case-insensitive).
pub(crate) fn parse_head(head: &[u8]) -> Result<Request, ReadError> {
    let text = std::str::from_utf8(head).map_err(|_| ReadError::Malformed)?;
    let mut lines = text.split("\r\n");
    let line = lines.next().ok_or(ReadError::Malformed)?;
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Malformed);
    };
    if !version.starts_with("HTTP/1.") || method.is_empty() || !target.starts_with('/') {
        return Err(ReadError::Malformed);
    }
    let mut authorization = None;
    for h in lines {
        let (name, value) = h.split_once(':').ok_or(ReadError::Malformed)?;
        if name.eq_ignore_ascii_case("authorization") {
            authorization = Some(value.trim().to_owned());
        }
    }
    let path = target.split('?').next().unwrap_or(target).to_owned();
    Ok(Request {
        method: method.to_owned(),
        path,
        authorization,
    })
}

/// Writes a whole response; the caller closes. Errors (a client that went
/// away, or does not read within [`WRITE_TIMEOUT`]) are the client's
/// problem, never the server's.
pub(crate) async fn respond(stream: &TcpStream, status: u16, body: Option<&str>) {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let body = body.unwrap_or("");
    let mut out = format!("HTTP/1.1 {status} {reason}\r\nConnection: close\r\n");
    if !body.is_empty() {
        out.push_str("Content-Type: application/json\r\n");
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    let _ = tokio::time::timeout(WRITE_TIMEOUT, write_all(stream, out.as_bytes())).await;
    // Zero the response buffer: it held the secret key and token.
    zeroize::Zeroize::zeroize(&mut out);
}

async fn write_all(stream: &TcpStream, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        stream.writable().await?;
        match stream.try_write(data) {
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_an_sdk_request() {
        let r = parse_head(
            b"GET /creds/prod?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nauthorization:  tok \r\nAccept: application/json",
        )
        .unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, "/creds/prod");
        assert_eq!(r.authorization.as_deref(), Some("tok"));
    }

    #[test]
    fn rejects_garbage() {
        for head in [
            &b"hello"[..],
            b"GET /x",
            b"GET x HTTP/1.1",
            b"GET /x HTTP/1.1\r\nno colon",
            b"GET /x SPDY/3",
            b"\xff\xfe",
        ] {
            assert_eq!(parse_head(head), Err(ReadError::Malformed), "{head:?}");
        }
    }

    /// What `respond` writes for `status` and `body`, read back by a
    /// client reading meanwhile.
    fn response(status: u16, body: Option<&str>) -> String {
        response_read_after(status, body, Duration::ZERO)
    }

    /// As [`response`], the client starting to read after `delay`.
    fn response_read_after(status: u16, body: Option<&str>, delay: Duration) -> String {
        use std::io::Read;
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (server, _) = l.accept().unwrap();
        server.set_nonblocking(true).unwrap();
        let reader = std::thread::spawn(move || {
            std::thread::sleep(delay);
            let mut out = String::new();
            client.read_to_string(&mut out).unwrap();
            out
        });
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let s = TcpStream::from_std(server).unwrap();
            respond(&s, status, body).await;
        });
        reader.join().unwrap()
    }

    #[test]
    fn a_body_larger_than_the_socket_buffer_is_written_whole() {
        // More than loopback's socket buffers hold (a few MB) while the
        // client is not reading yet: the writes must meet WouldBlock, which
        // means wait, not fail.
        let body = "x".repeat(32 << 20);
        let out = response_read_after(200, Some(&body), Duration::from_millis(300));
        assert!(
            out.ends_with(&format!("\r\n\r\n{body}")),
            "{} bytes",
            out.len()
        );
    }

    #[test]
    fn responses_have_their_reason_and_a_content_type_only_with_a_body() {
        for (status, reason) in [
            (200, "OK"),
            (400, "Bad Request"),
            (403, "Forbidden"),
            (404, "Not Found"),
            (405, "Method Not Allowed"),
            (431, "Request Header Fields Too Large"),
            (503, "Service Unavailable"),
            (500, "Error"),
        ] {
            assert_eq!(
                response(status, None),
                format!(
                    "HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
                )
            );
        }
        assert_eq!(
            response(200, Some("{}")),
            "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
        );
    }

    /// What the server's reader makes of `head`, sent in two writes (the
    /// first `split` bytes, a pause, the rest).
    fn read_back(head: Vec<u8>, split: usize) -> Result<Request, ReadError> {
        use std::io::Write;
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let writer = std::thread::spawn(move || {
            let mut c = std::net::TcpStream::connect(addr).unwrap();
            let _ = c.write_all(&head[..split]);
            std::thread::sleep(Duration::from_millis(100));
            let _ = c.write_all(&head[split..]);
            // Kept open until the reader is done.
            std::thread::sleep(Duration::from_millis(500));
        });
        let (server, _) = l.accept().unwrap();
        server.set_nonblocking(true).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let r = rt.block_on(async {
            let s = TcpStream::from_std(server).unwrap();
            read_request(&s, READ_DEADLINE).await
        });
        writer.join().unwrap();
        r
    }

    #[test]
    fn a_head_up_to_max_head_is_read_and_one_byte_more_is_too_large() {
        // A head whose blank line ends exactly at `len` bytes.
        let head = |len: usize| {
            let start = "GET /creds/prod HTTP/1.1\r\nX: ";
            let pad = len - start.len() - 4;
            format!("{start}{}\r\n\r\n", "a".repeat(pad)).into_bytes()
        };
        assert_eq!(read_back(head(MAX_HEAD), 0).unwrap().path, "/creds/prod");
        assert_eq!(read_back(head(4096), 0).unwrap().path, "/creds/prod");
        // Reads never go past MAX_HEAD, even when the first piece leaves
        // the later 1 KiB reads out of step with it.
        for split in [0, 100] {
            assert_eq!(
                read_back(head(MAX_HEAD + 1), split),
                Err(ReadError::TooLarge)
            );
        }
    }
}
