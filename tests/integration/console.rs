//! `mfacli console`: the sign-in URL from the cached MFA session, the
//! federation endpoint of the emulator, `--duration`, the browser launch,
//! errors, and a real headless Chromium.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::*;

const ROLE_PREFIX: &str = "arn:aws:sts::222222222222:assumed-role/PowerUser/";

fn federation(h: &Home) -> String {
    format!("{}/federation", h.emu().endpoint_url())
}

/// `mfacli` with the emulator as the federation endpoint.
fn console(h: &Home) -> assert_cmd::Command {
    let mut c = h.mfacli();
    c.env("MFACLI_FEDERATION_URL", federation(h));
    c
}

fn query(url: &str) -> Vec<(String, String)> {
    let q = url.split_once('?').expect("a query").1;
    url_decode_pairs(q)
}

fn url_decode_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

fn token_of(url: &str) -> String {
    query(url)
        .into_iter()
        .find(|(k, _)| k == "SigninToken")
        .expect("SigninToken")
        .1
}

struct Resp {
    status: u16,
    head: String,
    body: String,
}

/// A plain HTTP/1.1 GET of an `http://127.0.0.1:PORT/…` URL.
fn http_get(url: &str, cookie: Option<&str>) -> Resp {
    let rest = url.strip_prefix("http://").unwrap();
    let (authority, path) = rest.split_at(rest.find('/').unwrap());
    let mut s = TcpStream::connect(authority).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    if let Some(c) = cookie {
        req.push_str(&format!("Cookie: {c}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    Resp {
        status: head.split(' ').nth(1).unwrap().parse().unwrap(),
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

fn header(r: &Resp, name: &str) -> Option<String> {
    r.head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

fn signin_records(h: &Home) -> Vec<sts_emulator::RequestRecord> {
    h.emu()
        .requests()
        .into_iter()
        .filter(|r| r.action == "getSigninToken")
        .collect()
}

#[test]
fn print_gives_a_login_url_that_works_once_from_the_cached_session() {
    let h = Home::new();
    let out = console(&h)
        .args(["console", "prod", "--print"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let url = stdout(&out).trim().to_owned();
    assert_eq!(stdout(&out).lines().count(), 1);
    assert!(
        url.starts_with(&format!("{}?Action=login&", federation(&h))),
        "{url}"
    );
    let q = query(&url);
    let names: Vec<&str> = q.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["Action", "Issuer", "Destination", "SigninToken"]);
    assert_eq!(q[1].1, "mfacli");
    // The target's region picks the landing page.
    assert_eq!(
        q[2].1,
        "https://console.aws.amazon.com/console/home?region=eu-central-1"
    );
    assert!(stderr(&out).contains(PROD_ROLE_SESSION), "{}", stderr(&out));
    assert_eq!(
        h.counts(),
        (1, 1),
        "one MFA session, one chained AssumeRole"
    );
    let recs = signin_records(&h);
    assert_eq!(recs.len(), 1);
    assert_eq!(
        recs[0].duration_seconds, None,
        "never SessionDuration when chained"
    );
    assert_eq!(recs[0].status, 200);

    // The URL signs in once, then shows AWS's error page.
    let login = http_get(&url, None);
    assert_eq!(login.status, 302);
    let location = header(&login, "location").unwrap();
    let page = http_get(&format!("{}{location}", h.emu().endpoint_url()), None);
    assert!(page.body.contains(PROD_ROLE_SESSION), "{}", page.body);
    assert!(page
        .body
        .contains("<span id=\"account\">222222222222</span>"));
    let again = http_get(&url, None);
    assert_eq!(again.status, 400);
    assert!(again.body.contains("invalid or expired sign-in token"));

    // Again, with a service and --region: from the cache, no STS call,
    // and --region changes only the landing page.
    let out = console(&h)
        .args([
            "console",
            "prod",
            "--print",
            "--destination",
            "s3",
            "--region",
            "us-west-2",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let q = query(stdout(&out).trim());
    assert_eq!(
        q[2].1,
        "https://console.aws.amazon.com/s3/home?region=us-west-2"
    );
    assert_eq!(h.counts(), (1, 1));
    assert_eq!(signin_records(&h).len(), 2);

    // A full console URL is passed through as given.
    let dest = "https://console.aws.amazon.com/iam/home?x=1&y=2#/roles";
    let out = console(&h)
        .args(["console", "prod", "--print", "--destination", dest])
        .output()
        .unwrap();
    assert_eq!(query(stdout(&out).trim())[2].1, dest);
    // A bad destination is a usage error before any call.
    let out = console(&h)
        .args(["console", "prod", "--print", "--destination", "s3 bucket"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--destination"), "{}", stderr(&out));
    assert_eq!(signin_records(&h).len(), 3);
}

/// The console lands in the region `env` exports: a target without its
/// own region (staging) gets `[bastion] region`, as its shell would.
#[test]
fn console_lands_in_the_region_env_exports() {
    let h = Home::new();
    let env = h
        .mfacli()
        .args(["env", "staging", "--shell", "bash"])
        .output()
        .unwrap();
    assert!(
        stdout(&env).contains("export AWS_REGION='eu-west-1'"),
        "{}",
        stdout(&env)
    );
    let out = console(&h)
        .args(["console", "staging", "--print"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        query(stdout(&out).trim())[2].1,
        "https://console.aws.amazon.com/console/home?region=eu-west-1"
    );
    // --region still picks another landing page.
    let out = console(&h)
        .args(["console", "staging", "--print", "--region", "us-east-2"])
        .output()
        .unwrap();
    assert_eq!(
        query(stdout(&out).trim())[2].1,
        "https://console.aws.amazon.com/console/home?region=us-east-2"
    );
}

#[test]
fn verbose_output_and_errors_never_contain_the_token() {
    let h = Home::new();
    let out = console(&h)
        .args(["-v", "console", "prod", "--print"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let url = stdout(&out).trim().to_owned();
    let token = token_of(&url);
    let err = stderr(&out);
    assert!(err.contains("sign-in token at"), "{err}");
    for secret in [&token[..32], &url[..], "SigninToken", "sessionToken"] {
        assert!(!err.contains(secret), "-v output leaks {secret}: {err}");
    }
    // The cached role credentials: never on stderr either.
    let creds = json(&stdout(
        &h.mfacli()
            .args(["credential-process", "prod"])
            .output()
            .unwrap(),
    ));
    let session_token = creds["SessionToken"].as_str().unwrap().to_owned();
    assert!(!err.contains(&session_token[..40]));

    // Revoked credentials (still cached): the federation endpoint refuses.
    h.emu().expire_all_sessions();
    let out = console(&h)
        .args(["-v", "console", "prod", "--print"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).is_empty());
    let err = stderr(&out);
    assert!(
        err.contains(
            "refused the credentials of arn:aws:sts::222222222222:assumed-role/PowerUser/alice"
        ),
        "{err}"
    );
    assert!(err.contains("Invalid credentials parameter"), "{err}");
    assert!(err.contains("hint: run `mfacli clear prod`"), "{err}");
    assert!(!err.contains(&session_token[..40]) && !err.contains("Session="));
    // The fix works: clear, then a new role session from the (revoked → renewed) chain.
    h.mfacli().args(["clear", "--all"]).assert().success();
    console(&h)
        .args(["console", "prod", "--print"])
        .assert()
        .success();
}

#[test]
fn federation_errors_are_one_line_with_the_fix() {
    let h = Home::new();
    // Unreachable: nothing listens on a port we just closed.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = h
        .mfacli()
        .args(["console", "prod", "--print", "--federation-url"])
        .arg(format!("http://127.0.0.1:{port}/federation"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!(
            "mfacli: error: cannot reach the AWS federation endpoint http://127.0.0.1:{port}/federation"
        )),
        "{err}"
    );
    assert!(err.contains("hint: check the network or proxy"), "{err}");
    assert_eq!(err.lines().count(), 2, "{err}");

    // A role that may not use the console: the endpoint answers 403.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 8192];
        let n = s.read(&mut buf).unwrap();
        let request = String::from_utf8_lossy(&buf[..n]).into_owned();
        let body = "<html><head><title>Access denied</title></head></html>";
        let _ = s.write_all(
            format!(
                "HTTP/1.1 403 Forbidden\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
        request
    });
    let out = h
        .mfacli()
        .args(["console", "prod", "--print", "--federation-url"])
        .arg(format!("http://{addr}/federation"))
        .output()
        .unwrap();
    let request = server.join().unwrap();
    assert!(
        request.starts_with("GET /federation?Action=getSigninToken&Session="),
        "{request}"
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(
            "may not sign in to the AWS console (federation endpoint: HTTP 403 Access denied)"
        ),
        "{err}"
    );
    assert!(err.contains("mfacli exec prod"), "{err}");

    // A federation URL that is not one: refused before any STS call.
    let before = h.emu().requests().len();
    let out = h
        .mfacli()
        .args([
            "console",
            "prod",
            "--print",
            "--federation-url",
            "signin.example",
        ])
        .output()
        .unwrap();
    assert!(stderr(&out).contains("--federation-url: 'signin.example' is not an http(s) URL"));
    assert_eq!(h.emu().requests().len(), before);
}

#[test]
fn duration_makes_one_direct_assume_role_and_passes_session_duration() {
    let h = Home::new();
    // The default path: the cached flow, no SessionDuration.
    console(&h)
        .args(["console", "prod", "--print"])
        .assert()
        .success();
    assert_eq!(h.counts(), (1, 1));
    h.emu().clear_log();

    let out = console(&h)
        .args(["console", "prod", "--print", "--duration", "8h"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("--duration 8h") && err.contains("costs one MFA code"),
        "{err}"
    );
    assert!(err.contains("console session 8h"), "{err}");
    let log = h.emu().requests();
    let actions: Vec<&str> = log.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["AssumeRole", "getSigninToken"], "{log:?}");
    let assume = &log[0];
    assert_eq!(assume.status, 200);
    assert_eq!(
        assume.access_key_id.as_deref(),
        Some(ALICE_KEY),
        "long-term keys"
    );
    assert!(assume.token_code_sent, "with an MFA code");
    assert_eq!(assume.duration_seconds, Some(28_800));
    assert_eq!(log[1].duration_seconds, Some(28_800));
    assert_eq!(log[1].status, 200);

    // The console session lasts 8 h.
    let url = stdout(&out).trim().to_owned();
    let login = http_get(&url, None);
    let location = header(&login, "location").unwrap();
    let page = http_get(&format!("{}{location}", h.emu().endpoint_url()), None);
    // The emulator shows the time left as "7h 59m" (or "8h 00m").
    assert!(
        page.body.contains("<span id=\"remaining\">7h 59m</span>")
            || page.body.contains("<span id=\"remaining\">8h 00m</span>"),
        "{}",
        page.body
    );

    // Out of range: refused before any STS call.
    h.emu().clear_log();
    for bad in ["13h", "10m"] {
        let out = console(&h)
            .args(["console", "prod", "--print", "--duration", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr(&out).contains("--duration:"), "{}", stderr(&out));
    }
    assert!(h.emu().requests().is_empty());
}

#[test]
fn browser_gets_a_one_time_redirect_as_one_argument_not_through_a_shell() {
    let h = Home::new();
    let record = h.path().join("browser.txt");
    let script = h.path().join("browser.sh");
    // The browser: its argv and parent's, then what the URL it got answers
    // (a 302 to the sign-in URL), then a second fetch (refused).
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n{{ echo \"argc=$#\"; printf 'arg=%s\\n' \"$@\"; printf 'parent='; tr '\\0' ' ' < /proc/$PPID/cmdline; echo; \
             curl -sS -m 5 -D - -o /dev/null \"$1\" | tr -d '\\r' | grep -i '^location: ' | sed 's/^[Ll]ocation: /location=/'; \
             curl -s -m 5 -o /dev/null -w 'second=%{{http_code}}\\n' \"$1\"; }} > '{}' 2>&1\n",
            record.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = console(&h)
        .args(["console", "prod", "--destination", "ec2"])
        .env("BROWSER", &script)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "the URL is not printed");
    assert!(
        stderr(&out).contains("opened the AWS console as"),
        "{}",
        stderr(&out)
    );
    // The script finishes its second fetch after mfacli is gone.
    let start = Instant::now();
    let text = loop {
        let t = std::fs::read_to_string(&record).unwrap_or_default();
        if t.contains("second=") || start.elapsed() > Duration::from_secs(20) {
            break t;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "argc=1", "{text}");
    let arg = lines[1].strip_prefix("arg=").unwrap();
    assert!(
        arg.starts_with("http://127.0.0.1:") && arg.contains("/mfacli-console/"),
        "{arg}"
    );
    assert!(!arg.contains("SigninToken"), "{arg}");
    // mfacli's own command line (the browser's parent) never holds the URL.
    let parent = lines[2];
    assert!(parent.contains("console prod"), "{parent}");
    assert!(!parent.contains("SigninToken"), "{parent}");
    // The redirect leads to the sign-in URL, which works; only once.
    let url = lines[3].strip_prefix("location=").expect(&text);
    assert!(url.starts_with(&format!(
        "{}?Action=login&Issuer=mfacli&Destination=",
        federation(&h)
    )));
    assert!(
        url.contains("%2Fec2%2Fhome%3Fregion%3Deu-central-1"),
        "{url}"
    );
    assert_eq!(lines[4], "second=000", "the redirect works once: {text}");
    assert_eq!(http_get(url, None).status, 302);

    // A browser that fails: one line, with the fix.
    let out = console(&h)
        .args(["console", "prod"])
        .env("BROWSER", "/bin/false")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("cannot open a browser: '/bin/false' failed"),
        "{err}"
    );
    assert!(err.contains("--print"), "{err}");
    assert!(!err.contains("SigninToken"));
}

/// Runs headless Chromium on `url` and returns the DOM it dumps, bounded in
/// time; the whole process group is killed at the end.
fn chromium_dom(h: &Home, url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(url)
        .env("HOME", h.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("chromium starts");
    let pgid = child.id();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Chromium leaves helpers (zygote, GPU, network service): end them all.
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status_bounded();
    let _ = child.wait();
    assert!(status.is_some(), "chromium did not finish within 60 s");
    reader.join().unwrap()
}

#[test]
fn headless_chromium_signs_in_and_a_second_use_fails() {
    if !have("chromium") {
        return;
    }
    let h = Home::new();
    let out = console(&h)
        .args(["console", "prod", "--print"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let url = stdout(&out).trim().to_owned();

    let dom = chromium_dom(&h, &url);
    assert!(dom.contains(ROLE_PREFIX), "landing page DOM: {dom}");
    assert!(dom.contains(PROD_ROLE_SESSION), "{dom}");
    assert!(
        dom.contains("<span id=\"account\">222222222222</span>"),
        "{dom}"
    );
    assert!(dom.contains("Session time left"), "{dom}");
    let logins: Vec<_> = h
        .emu()
        .requests()
        .into_iter()
        .filter(|r| r.action == "login" || r.action == "console")
        .map(|r| (r.action, r.status))
        .collect();
    assert_eq!(
        logins[..2],
        [("login".into(), 302), ("console".into(), 200)]
    );

    // The same URL again, as AWS: the token was used.
    let dom = chromium_dom(&h, &url);
    assert!(!dom.contains(ROLE_PREFIX), "{dom}");
    assert!(dom.contains("invalid or expired sign-in token"), "{dom}");
}

#[test]
fn https_federation_endpoint_honours_aws_ca_bundle() {
    let h = Home::new();
    let Some((_proxy, endpoint, ca)) = crate::tls::tls_proxy(&h) else {
        return;
    };
    let fed = format!("{endpoint}/federation");
    // A private CA the system does not trust: refused, with the fix.
    let out = h
        .mfacli()
        .args(["console", "prod", "--print", "--federation-url", &fed])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("cannot reach the AWS federation endpoint {fed}")),
        "{err}"
    );
    assert!(signin_records(&h).is_empty(), "nothing got through");
    // With AWS_CA_BUNDLE, as for STS: the exchange works over TLS.
    let out = h
        .mfacli()
        .env("AWS_CA_BUNDLE", &ca)
        .args(["console", "prod", "--print", "--federation-url", &fed])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with(&format!("{fed}?Action=login&")));
    assert_eq!(signin_records(&h).len(), 1);
    assert_eq!(h.counts(), (1, 1), "the refused attempt cost no extra code");
}

/// A real browser through the one-time redirect: headless Chromium as
/// $BROWSER follows the loopback URL to the sign-in URL and lands signed in.
#[test]
fn headless_chromium_as_browser_signs_in_through_the_one_time_redirect() {
    if !have("chromium") {
        return;
    }
    let h = Home::new();
    let profile = tempfile::tempdir().unwrap();
    let dom = h.path().join("dom.html");
    let script = h.path().join("browser.sh");
    // Headless Chromium with --dump-dom exits once the page is loaded; the
    // DOM file appears only then (the pid is kept to end a hung one).
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nchromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
             --disable-background-networking --disable-component-update --disable-sync --disable-dev-shm-usage \
             --user-data-dir='{p}' --dump-dom \"$1\" > '{d}.part' 2>/dev/null &\necho $! > '{d}.pid'\nwait\nmv '{d}.part' '{d}'\n",
            p = profile.path().display(),
            d = dom.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut c = console(&h);
    c.args(["console", "prod"]).env("BROWSER", &script);
    // mfacli returns once Chromium fetched the redirect; Chromium goes on.
    let out = c.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let start = Instant::now();
    while !dom.exists() && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(200));
    }
    if !dom.exists() {
        let pid = std::fs::read_to_string(h.path().join("dom.html.pid")).unwrap_or_default();
        let _ = Command::new("kill")
            .args(["-KILL", pid.trim()])
            .status_bounded();
        panic!("chromium did not finish within 60 s");
    }
    let text = std::fs::read_to_string(&dom).unwrap();
    assert!(text.contains(ROLE_PREFIX), "landing page DOM: {text}");
    assert!(text.contains(PROD_ROLE_SESSION), "{text}");
}
