//! HTTPS to STS through a TLS endpoint with a private CA, as behind a
//! TLS-inspecting proxy: refused by default, accepted with AWS_CA_BUNDLE.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::util::*;

/// A TLS terminator on 127.0.0.1 that forwards bytes to the emulator.
const PROXY: &str = r#"
import socket, ssl, sys, threading
cert, key, upstream = sys.argv[1], sys.argv[2], int(sys.argv[3])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(16)
print(srv.getsockname()[1], flush=True)
def pipe(a, b):
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
def serve(raw):
    try:
        tls = ctx.wrap_socket(raw, server_side=True)
    except (ssl.SSLError, OSError):
        raw.close()
        return
    up = socket.create_connection(("127.0.0.1", upstream))
    threading.Thread(target=pipe, args=(up, tls), daemon=True).start()
    pipe(tls, up)
while True:
    conn, _ = srv.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
"#;

pub(crate) struct Proxy(Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A TLS terminator in front of the emulator, with a certificate for
/// "localhost" from a private CA: (the proxy, `https://localhost:PORT`, the
/// CA's PEM file). None (skip) without openssl or python3.
pub(crate) fn tls_proxy(h: &Home) -> Option<(Proxy, String, std::path::PathBuf)> {
    if !have("openssl") || !have("python3") {
        return None;
    }
    // A private CA and a server certificate it signed for "localhost".
    let (ca, cert, key) = (
        h.path().join("ca.pem"),
        h.path().join("cert.pem"),
        h.path().join("key.pem"),
    );
    let script = r#"set -e
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=mfacli-test-ca -keyout ca.key -out ca.pem
openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout key.pem -out leaf.csr
printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > leaf.ext
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile leaf.ext -out cert.pem
"#;
    let ok = Command::new("sh")
        .args(["-c", script])
        .current_dir(h.path())
        .stderr(Stdio::null())
        .status_bounded()
        .unwrap();
    assert!(ok.success() && ca.exists() && cert.exists());
    let mut child = Command::new("python3")
        .args(["-c", PROXY])
        .arg(&cert)
        .arg(&key)
        .arg(h.emu().port().to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut port = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    Some((
        Proxy(child),
        format!("https://localhost:{}", port.trim()),
        ca,
    ))
}

#[test]
fn private_ca_needs_aws_ca_bundle() {
    let h = Home::new();
    let Some((_proxy, endpoint, ca)) = tls_proxy(&h) else {
        return;
    };

    let out = h
        .mfacli()
        .args(["env", "prod", "--endpoint-url", &endpoint])
        .assert()
        .code(1);
    let err = stderr(out.get_output());
    assert!(err.contains(&endpoint), "{err}");
    assert_eq!(
        h.emu().requests().len(),
        0,
        "nothing got through an untrusted TLS endpoint"
    );

    let out = h
        .mfacli()
        .env("AWS_CA_BUNDLE", &ca)
        .args(["credential-process", "prod", "--endpoint-url", &endpoint])
        .assert()
        .success();
    json(&stdout(out.get_output()));
    let err = stderr(out.get_output());
    assert!(
        !err.contains("waiting"),
        "the failed TLS handshake did not use up a TOTP step: {err}"
    );
    assert_eq!(h.counts(), (1, 1));

    let out = h
        .mfacli()
        .env("AWS_CA_BUNDLE", h.path().join("nope.pem"))
        .args(["--refresh", "env", "prod", "--endpoint-url", &endpoint])
        .assert()
        .code(1);
    assert!(
        stderr(out.get_output()).contains("AWS_CA_BUNDLE"),
        "{}",
        stderr(out.get_output())
    );
}
