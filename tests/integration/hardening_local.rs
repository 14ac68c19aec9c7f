//! Hardening (issue 25), written from the attacker's side: every input here
//! is stopped by exactly one check, and each expected set is spelled out in
//! the test rather than taken from the implementation. Attacks by another
//! local user run as uid 65534 (`setpriv`).


use crate::util::*;

/// Endpoint rule: the console's federation endpoint gets the role's
/// credentials, so it follows the rule of STS and IAM: plain http only to
/// this machine, unless opted in. Refused before any MFA code is spent.
#[test]
fn plain_http_federation_endpoint_to_another_host_is_refused_before_any_call() {
    let h = Home::new();
    // (URL, refused?) Only the http-to-another-host rule stops the first three.
    let cases = [
        ("http://192.0.2.1:8080/federation", true),
        ("http://10.99.0.1:8080/federation", true),
        ("http://127.0.0.1.nip.io:8080/federation", true),
        ("http://localhost.:1/federation", true),
        ("http://user@127.0.0.1:1/federation", false),
        ("http://[::1]:1/federation", false),
    ];
    for (url, refused) in cases {
        for how in ["flag", "env"] {
            let mut c = h.mfacli();
            c.args(["--timeout", "1s", "console", "prod", "--print"]);
            if how == "flag" {
                c.args(["--federation-url", url]);
            } else {
                c.env("MFACLI_FEDERATION_URL", url);
            }
            let before = h.emu().requests().len();
            let out = c.output().unwrap();
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(1), "{url}: {err}");
            let says = err.contains("plain http to a host that is not this machine");
            assert_eq!(says, refused, "{url} ({how}): {err}");
            if refused {
                let source = if how == "flag" {
                    "--federation-url"
                } else {
                    "MFACLI_FEDERATION_URL"
                };
                assert!(err.contains(source), "{err}");
                assert!(err.contains("MFACLI_ALLOW_INSECURE_ENDPOINT=1"), "{err}");
                assert_eq!(h.emu().requests().len(), before, "no STS call: {url}");
            }
        }
    }
    // Opted in, the same rule as STS: the host is tried.
    let out = h
        .mfacli()
        .env("MFACLI_ALLOW_INSECURE_ENDPOINT", "1")
        .args(["--timeout", "1s", "console", "prod", "--print"])
        .args(["--federation-url", "http://192.0.2.1:8080/federation"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(!err.contains("plain http to a host"), "{err}");
    assert!(err.contains("federation endpoint"), "{err}");
}
