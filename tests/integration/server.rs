//! `exec --server` and `serve`: the container-credentials server against
//! consumers nobody here wrote (boto3/botocore, the AWS CLI v1), bad input,
//! renewal under a moved clock, signals and exit status.
//!
//! The clock: mfacli (and the child it starts, which inherits
//! `LD_PRELOAD`) runs under libfaketime with `FAKETIME_TIMESTAMP_FILE`, so
//! the test moves the clock of the running server and its client by
//! rewriting one file, in step with the emulator's clock.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::*;

/// The client under the same moved clock, with monotonic time faked too:
/// Python's `time.sleep` (clock_nanosleep, absolute) fails with EINVAL
/// under libfaketime otherwise. mfacli keeps the real monotonic clock.
const FAKED_PYTHON: [&str; 5] = [
    "env",
    "-u",
    "FAKETIME_DONT_FAKE_MONOTONIC",
    "python",
    "client.py",
];

/// A boto3 client: with `once`, one GetCallerIdentity; else one per line
/// read from stdin, answering `ok ARN` or `err MESSAGE` per line.
const CLIENT: &str = r#"
import os, sys, boto3
def client():
    return boto3.session.Session().client(
        "sts", endpoint_url=os.environ["AWS_ENDPOINT_URL_STS"], region_name="eu-west-1")
sts = client()
def call():
    try:
        print("ok " + sts.get_caller_identity()["Arn"], flush=True)
    except Exception as e:
        print("err " + str(e).replace("\n", " "), flush=True)
if sys.argv[1:] == ["once"]:
    call()
else:
    for line in sys.stdin:
        call()
"#;

struct Setup {
    h: Home,
    bin: PathBuf,
    faketime_file: PathBuf,
}

impl Setup {
    fn new() -> Option<Self> {
        let bin = venv_bin()?;
        let h = Home::new();
        std::fs::write(h.path().join("client.py"), CLIENT).unwrap();
        let faketime_file = h.path().join("faketime");
        std::fs::write(&faketime_file, "+0s\n").unwrap();
        Some(Self {
            h,
            bin,
            faketime_file,
        })
    }

    /// mfacli with the venv first on PATH, IMDS off, and (with `faked`)
    /// under libfaketime following [`Setup::set_clock`].
    fn mfacli(&self, faked: bool) -> Command {
        let mut c = self.h.std_mfacli();
        let path = format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        c.env("PATH", path)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("TZ", "UTC");
        if faked {
            fake_clock(&mut c, FakeClock::File(&self.faketime_file));
        }
        c
    }

    /// Moves mfacli's clock (and its child's) and the emulator's together.
    fn set_clock(&self, secs: i64) {
        let tmp = self.faketime_file.with_extension("tmp");
        std::fs::write(&tmp, format!("+{secs}s\n")).unwrap();
        std::fs::rename(&tmp, &self.faketime_file).unwrap();
        self.h.emu().set_offset_secs(secs);
    }
}

fn have_faketime() -> bool {
    libfaketime().is_some()
}

/// Kills the child on drop, so a failing test leaves nothing running.
pub(crate) struct Running(pub(crate) Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Running {
    fn wait_timeout(&mut self, limit: Duration, what: &str) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(s) = self.0.try_wait().unwrap() {
                return s;
            }
            assert!(
                start.elapsed() < limit,
                "process still running {limit:?} {what}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.0.id().to_string()])
            .status_bounded()
            .unwrap()
            .success();
        assert!(ok);
    }
}

/// Raw HTTP: the status code and body of one request.
pub(crate) fn http(addr: &str, request: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = s.write_all(request.as_bytes());
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let out = String::from_utf8_lossy(&out).into_owned();
    let status = out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    (
        status,
        out.split("\r\n\r\n").nth(1).unwrap_or("").to_owned(),
    )
}

pub(crate) fn get(addr: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let auth = token
        .map(|t| format!("Authorization: {t}\r\n"))
        .unwrap_or_default();
    http(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}\r\n"),
    )
}

/// `serve` started, with its exports parsed per target.
pub(crate) struct Served {
    pub(crate) proc: Running,
    exports: Vec<(String, String, String)>,
}

impl Served {
    fn start(s: &Setup, faked: bool, targets: &[&str]) -> Served {
        Self::start_with(s.mfacli(faked), targets)
    }

    /// `serve TARGETS` run by `c` (mfacli with a HOME's environment).
    pub(crate) fn start_with(mut c: Command, targets: &[&str]) -> Served {
        c.env("SHELL", "/bin/bash")
            .arg("serve")
            .args(targets)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut proc = Running(c.spawn().unwrap());
        let mut lines = BufReader::new(proc.0.stdout.take().unwrap()).lines();
        let mut exports = Vec::new();
        let mut current = (String::new(), String::new(), String::new());
        while exports.len() < targets.len() {
            let line = lines.next().expect("serve printed its exports").unwrap();
            // Targets after the first come commented out.
            let line = match line.strip_prefix("# ") {
                Some(l) if l.starts_with("export ") => l.to_owned(),
                _ => line,
            };
            if let Some(t) = line.strip_prefix("# ") {
                current.0 = t.split(' ').next().unwrap().to_owned();
            } else if let Some(v) = line.strip_prefix("export AWS_CONTAINER_CREDENTIALS_FULL_URI=")
            {
                current.1 = v.trim_matches('\'').to_owned();
            } else if let Some(v) = line.strip_prefix("export AWS_CONTAINER_AUTHORIZATION_TOKEN=") {
                current.2 = v.trim_matches('\'').to_owned();
                exports.push(std::mem::take(&mut current));
            }
        }
        Served { proc, exports }
    }

    /// The address, path and token of `target`'s route.
    pub(crate) fn route(&self, target: &str) -> (String, String, String) {
        let (_, url, token) = self.exports.iter().find(|e| e.0 == target).unwrap().clone();
        let rest = url.strip_prefix("http://").unwrap();
        let (addr, path) = rest.split_at(rest.find('/').unwrap());
        (addr.to_owned(), path.to_owned(), token)
    }
}

#[test]
fn exec_server_gives_boto3_and_the_aws_cli_the_role() {
    let Some(s) = Setup::new() else { return };
    let out = s
        .mfacli(false)
        .env("AWS_ACCESS_KEY_ID", "AKIASHOULDGO")
        .env("AWS_SECRET_ACCESS_KEY", "x")
        .env("AWS_SESSION_TOKEN", "x")
        .env("AWS_PROFILE", "bastion")
        .args(["exec", "--server", "prod", "--", "sh", "-c"])
        .arg(
            "env | grep -E '^(AWS_|MFACLI_)' | sed 's/=.*//' | sort; echo \"profile=$AWS_PROFILE\"; python client.py once; \
             aws sts get-caller-identity --query Arn --output text",
        )
        .run_bounded()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let o = stdout(&out);
    for var in [
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ] {
        assert!(o.lines().any(|l| l == var), "{var} missing:\n{o}");
    }
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "MFACLI_TOTP_SECRET",
    ] {
        assert!(!o.lines().any(|l| l == var), "{var} leaked:\n{o}");
    }
    // The user's AWS_PROFILE (bastion) never reaches the command: it gets
    // mfacli's own profile, which names no credentials (issue 25 item 4).
    assert!(o.lines().any(|l| l == "profile=mfacli-exec"), "{o}");
    assert!(
        o.contains(&format!("ok {PROD_ROLE_SESSION}")),
        "boto3:\n{o}"
    );
    assert!(
        o.lines().any(|l| l == PROD_ROLE_SESSION),
        "aws cli v1:\n{o}\n{}",
        stderr(&out)
    );
    assert_eq!(
        s.h.counts(),
        (1, 1),
        "one code, one AssumeRole for both clients"
    );
}

#[test]
fn exec_server_is_the_configured_default_and_no_server_overrides_it() {
    let Some(s) = Setup::new() else { return };
    s.h.write_config(&format!("exec_server = true\n{CONFIG}"));
    let probe = [
        "sh",
        "-c",
        "echo uri=${AWS_CONTAINER_CREDENTIALS_FULL_URI:-} key=${AWS_ACCESS_KEY_ID:-}",
    ];
    let out = s
        .mfacli(false)
        .args(["exec", "prod", "--"])
        .args(probe)
        .run_bounded()
        .unwrap();
    let o = stdout(&out);
    assert!(
        o.contains("uri=http://127.0.0.1:") && o.contains("key=\n"),
        "{o}"
    );
    let out = s
        .mfacli(false)
        .args(["exec", "--no-server", "prod", "--"])
        .args(probe)
        .run_bounded()
        .unwrap();
    let o = stdout(&out);
    assert!(o.contains("uri= key=ASIA"), "{o}");
    assert!(
        stderr(&out).is_empty(),
        "no unknown-key warning: {}",
        stderr(&out)
    );
}

#[test]
fn serve_answers_sdks_and_refuses_everything_else() {
    let Some(s) = Setup::new() else { return };
    let served = Served::start(&s, false, &["prod", "staging"]);
    assert_eq!(s.h.counts(), (1, 2), "both targets fetched at startup");
    let (addr, path, token) = served.route("prod");
    let (_, _, staging_token) = served.route("staging");
    assert!(addr.starts_with("127.0.0.1:") && path == "/creds/prod");
    assert!(token.len() >= 32 && token != staging_token);

    // botocore and the AWS CLI v1 with the printed exports.
    let (_, url, _) = served.exports[0].clone();
    let client_env = |c: &mut Command| {
        c.env("AWS_CONTAINER_CREDENTIALS_FULL_URI", &url)
            .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", &token)
            .env("AWS_EC2_METADATA_DISABLED", "true");
    };
    let mut py = s.h.command(s.bin.join("python"));
    client_env(py.args(["client.py", "once"]));
    let o = stdout(&py.run_bounded().unwrap());
    assert_eq!(o.trim(), format!("ok {PROD_ROLE_SESSION}"));
    let mut aws = s.h.command(s.bin.join("aws"));
    client_env(aws.args(CALLER_ARN_ARGS));
    aws.env("AWS_DEFAULT_REGION", "eu-west-1");
    let out = aws.run_bounded().unwrap();
    assert_eq!(stdout(&out).trim(), PROD_ROLE_SESSION, "{}", stderr(&out));

    // The JSON contract.
    let (status, body) = get(&addr, &path, Some(&token));
    assert_eq!(status, 200);
    let v = json(&body);
    for k in ["AccessKeyId", "SecretAccessKey", "Token", "Expiration"] {
        assert!(v[k].is_string(), "{k}: {body}");
    }
    assert!(chrono::DateTime::parse_from_rfc3339(v["Expiration"].as_str().unwrap()).is_ok());

    // Wrong, missing and another route's token: 403 and nothing else.
    assert_eq!(get(&addr, &path, Some("wrong")), (403, String::new()));
    assert_eq!(get(&addr, &path, None), (403, String::new()));
    assert_eq!(
        get(&addr, &path, Some(&staging_token)),
        (403, String::new())
    );
    assert_eq!(
        get(&addr, "/creds/nope", Some(&token)),
        (404, String::new())
    );
    assert_eq!(get(&addr, "/latest/meta-data", Some(&token)).0, 404);
    // A huge request: 431, the server goes on.
    let huge = format!("GET {path} HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(1 << 20));
    assert_eq!(http(&addr, &huge).0, 431);
    // Garbage.
    assert_eq!(http(&addr, "\x16\x03\x01 hello\r\n\r\n").0, 400);

    // Slow clients holding connections open do not delay another client.
    let slow: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut c = TcpStream::connect(&addr).unwrap();
            c.write_all(b"GET /creds/prod HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            c
        })
        .collect();
    let start = Instant::now();
    for _ in 0..50 {
        assert_eq!(get(&addr, &path, Some(&token)).0, 200);
    }
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    drop(slow);

    // Clients closing mid-response (reset before reading).
    for _ in 0..50 {
        let mut c = TcpStream::connect(&addr).unwrap();
        c.write_all(format!("GET {path} HTTP/1.1\r\nAuthorization: {token}\r\n\r\n").as_bytes())
            .unwrap();
        drop(c);
    }
    assert_eq!(get(&addr, &path, Some(&token)).0, 200);
    assert_eq!(s.h.counts(), (1, 2), "everything served from memory");

    // SIGTERM: a clean stop, exit 0.
    let mut proc = served.proc;
    proc.signal("TERM");
    let status = proc.wait_timeout(Duration::from_secs(10), "after SIGTERM to serve");
    assert_eq!(status.code(), Some(0));
    assert!(TcpStream::connect(&addr).is_err(), "the port is closed");
}

#[test]
fn concurrent_requests_during_renewal_make_one_assume_role() {
    let Some(s) = Setup::new() else { return };
    if !have_faketime() {
        return;
    }
    let served = Served::start(&s, true, &["prod"]);
    let (addr, path, token) = served.route("prod");
    let first = json(&get(&addr, &path, Some(&token)).1)["AccessKeyId"].clone();
    assert_eq!(s.h.counts(), (1, 1));
    // 50 minutes later 10 are left: inside the SDKs' 15 min window.
    s.set_clock(3000);
    s.h.emu().inject(
        sts_emulator::server::Fault::Latency(Duration::from_millis(700)),
        Some(1),
    );
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let (addr, path, token) = (addr.clone(), path.clone(), token.clone());
            std::thread::spawn(move || get(&addr, &path, Some(&token)))
        })
        .collect();
    let keys: Vec<serde_json::Value> = threads
        .into_iter()
        .map(|t| {
            let (status, body) = t.join().unwrap();
            assert_eq!(status, 200, "{body}");
            json(&body)["AccessKeyId"].clone()
        })
        .collect();
    assert!(
        keys.iter().all(|k| *k == keys[0] && *k != first),
        "{keys:?}"
    );
    assert_eq!(
        s.h.counts(),
        (1, 2),
        "exactly one AssumeRole for 16 requests"
    );
}

#[test]
fn signals_are_forwarded_and_the_exit_status_is_the_childs() {
    let Some(s) = Setup::new() else { return };
    let code = |script: &str| {
        s.mfacli(false)
            .args(["exec", "--server", "prod", "--", "sh", "-c", script])
            .status_bounded()
            .unwrap()
    };
    assert_eq!(code("exit 3").code(), Some(3));
    assert_eq!(code("kill -KILL $$").code(), Some(137), "128 + SIGKILL");
    assert_eq!(s.h.counts(), (1, 1), "the second exec used the cached role");

    for (sig, expect) in [("TERM", 42), ("INT", 43), ("HUP", 44), ("WINCH", 45)] {
        let mut c = s.mfacli(false);
        c.args(["exec", "--server", "prod", "--", "sh", "-c"])
            .arg("trap 'exit 42' TERM; trap 'exit 43' INT; trap 'exit 44' HUP; trap 'exit 45' WINCH; echo ready; while :; do sleep 0.05; done")
            .stdout(Stdio::piped());
        // A test run started in the background (`cargo test &`, a CI
        // script's `( … ) &`) has SIGINT and SIGQUIT ignored, one under
        // `nohup` SIGHUP, and a shell cannot trap a signal ignored on
        // entry (mfacli rightly keeps inherited ignores for its child):
        // start mfacli with the default actions, as a terminal would.
        // SAFETY: signal(2) only, between fork and exec.
        unsafe {
            c.pre_exec(|| {
                for sig in [
                    libc::SIGINT,
                    libc::SIGQUIT,
                    libc::SIGTERM,
                    libc::SIGHUP,
                    libc::SIGWINCH,
                ] {
                    libc::signal(sig, libc::SIG_DFL);
                }
                Ok(())
            });
        }
        let mut p = Running(c.spawn().unwrap());
        let mut line = String::new();
        BufReader::new(p.0.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "ready\n");
        p.signal(sig);
        let status = p.wait_timeout(Duration::from_secs(10), &format!("after SIG{sig}"));
        assert_eq!(status.code(), Some(expect), "SIG{sig}");
    }
}

#[test]
fn missing_command_is_127() {
    let Some(s) = Setup::new() else { return };
    let out = s
        .mfacli(false)
        .args(["exec", "--server", "prod", "--", "no-such-program-here"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127));
    assert!(stderr(&out).contains("cannot run 'no-such-program-here'"));
}

/// A child calling GetCallerIdentity every 10 simulated minutes for 8
/// hours never sees an error; one code, about one AssumeRole per 50 min.
/// Then at 13 h the MFA session has ended: a new code from the seed,
/// without stopping the child.
#[test]
fn eight_hours_under_a_moved_clock() {
    let Some(s) = Setup::new() else { return };
    if !have_faketime() {
        return;
    }
    let mut c = s.mfacli(true);
    c.args(["exec", "--server", "prod", "--"])
        .args(FAKED_PYTHON)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut p = Running(c.spawn().unwrap());
    let mut input = p.0.stdin.take().unwrap();
    let mut output = BufReader::new(p.0.stdout.take().unwrap()).lines();
    let mut ask = |at: i64| {
        s.set_clock(at);
        writeln!(input, "go").unwrap();
        input.flush().unwrap();
        output.next().unwrap().unwrap()
    };
    for step in 0..=48 {
        let answer = ask(step * 600);
        assert_eq!(
            answer,
            format!("ok {PROD_ROLE_SESSION}"),
            "at {} min",
            step * 10
        );
    }
    let (gst, ar) = s.h.counts();
    eprintln!("8 h: {gst} GetSessionToken, {ar} AssumeRole");
    assert_eq!(gst, 1);
    assert!((8..=10).contains(&ar), "{ar} AssumeRole");
    let errors =
        s.h.emu()
            .requests()
            .iter()
            .filter(|r| r.status != 200)
            .count();
    assert_eq!(errors, 0, "no STS call failed");

    let answer = ask(13 * 3600);
    assert_eq!(answer, format!("ok {PROD_ROLE_SESSION}"));
    assert_eq!(s.h.counts().0, 2, "a new MFA session from the seed");
    drop(input);
    assert!(p
        .wait_timeout(Duration::from_secs(30), "after the child finished")
        .success());
}

/// The MFA session ends and no source can give a code: the SDK shows the
/// server's error JSON, mfacli says on stderr what to do, the child runs on.
#[test]
fn no_code_source_is_an_error_the_sdk_shows() {
    let Some(s) = Setup::new() else { return };
    if !have_faketime() {
        return;
    }
    let mut c = s.mfacli(true);
    c.env_remove("MFACLI_TOTP_SECRET")
        .env("MFACLI_TOKEN_CODE", s.h.code(0))
        .args(["exec", "--server", "prod", "--"])
        .args(FAKED_PYTHON)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut p = Running(c.spawn().unwrap());
    let mut input = p.0.stdin.take().unwrap();
    let mut output = BufReader::new(p.0.stdout.take().unwrap()).lines();
    writeln!(input, "go").unwrap();
    assert_eq!(
        output.next().unwrap().unwrap(),
        format!("ok {PROD_ROLE_SESSION}")
    );
    s.set_clock(13 * 3600);
    writeln!(input, "go").unwrap();
    let answer = output.next().unwrap().unwrap();
    assert!(
        answer.starts_with("err ") && answer.contains("CredentialsUnavailable"),
        "{answer}"
    );
    assert!(answer.contains("an MFA code is needed"), "{answer}");
    eprintln!("{answer}");
    drop(input);
    assert!(
        p.wait_timeout(Duration::from_secs(30), "after the child finished")
            .success(),
        "the child ran on"
    );
    let mut err = String::new();
    p.0.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(
        err.contains("cannot renew the credentials for 'prod'"),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
    assert_eq!(
        s.h.counts().0,
        1,
        "no second GetSessionToken without a code"
    );
}
