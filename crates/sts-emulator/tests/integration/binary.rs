//! The `sts-emulator` binary, and compatibility with botocore (the AWS CLI's
//! and boto3's signer) when Python has it installed.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::*;

const BIN: &str = env!("CARGO_BIN_EXE_sts-emulator");

/// Start the binary and return it with its port (parsed from the stdout line).
pub(crate) fn spawn(args: &[&str]) -> (Child, u16) {
    let mut child = Command::new(BIN)
        .args(args)
        .arg("--exit-on-stdin-eof")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim_end()
        .strip_prefix("sts-emulator listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let port = url
        .strip_prefix("http://127.0.0.1:")
        .or_else(|| url.strip_prefix("https://127.0.0.1:"))
        .unwrap()
        .parse()
        .unwrap();
    (child, port)
}

pub(crate) fn finish(mut child: Child) -> String {
    drop(child.stdin.take()); // EOF on stdin stops it
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "emulator did not exit on stdin EOF"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(child.wait().unwrap().success());
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    err
}

#[test]
fn serves_the_demo_world_and_logs_without_secrets() {
    let (child, port) = spawn(&[]);
    let resp = send_raw(
        port,
        &RawRequest::post(GCI, ALICE_KEY, ALICE_SECRET, chrono::Utc::now()).build(port),
    );
    assert_eq!(resp.status, 200);
    let body = "Action=GetSessionToken&Version=2011-06-15&SerialNumber=arn%3Aaws%3Aiam%3A%3A111111111111%3Amfa%2Falice&TokenCode=000000";
    let resp = send_raw(
        port,
        &RawRequest::post(body, ALICE_KEY, ALICE_SECRET, chrono::Utc::now()).build(port),
    );
    assert_eq!(resp.status, 403);
    let log = finish(child);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert!(
        lines[0].contains("GetCallerIdentity")
            && lines[0].contains(ALICE_KEY)
            && lines[0].contains("status=200")
    );
    assert!(lines[1].contains("GetSessionToken") && lines[1].contains("error=AccessDenied"));
    assert!(!log.contains(ALICE_SECRET) && !log.contains("000000"));
}

#[test]
fn fixed_port_offset_and_world_file() {
    let dir = std::env::temp_dir().join(format!("sts-emulator-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("world.toml");
    std::fs::write(&file, sts_emulator::World::demo_toml()).unwrap();
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let free = probe.local_addr().unwrap().port();
    drop(probe);
    let (child, port) = spawn(&[
        "--world",
        file.to_str().unwrap(),
        "--port",
        &free.to_string(),
        "--offset-secs",
        "3600",
    ]);
    assert_eq!(port, free);
    // Signed with real time, one hour behind the emulator: refused as expired.
    let resp = send_raw(
        port,
        &RawRequest::post(GCI, ALICE_KEY, ALICE_SECRET, chrono::Utc::now()).build(port),
    );
    assert_eq!(resp.tag("Code").as_deref(), Some("SignatureDoesNotMatch"));
    let date = chrono::DateTime::parse_from_rfc2822(&resp.header("date").unwrap()).unwrap();
    let ahead = date.timestamp() - chrono::Utc::now().timestamp();
    assert!((3598..=3602).contains(&ahead), "{ahead}");
    finish(child);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn invalid_world_file_is_a_one_line_error() {
    let dir = std::env::temp_dir().join(format!("sts-emulator-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.toml");
    let bad = sts_emulator::World::demo_toml().replace(
        "max_session_duration = 43200",
        "max_session_duration = 99999",
    );
    std::fs::write(&file, bad).unwrap();
    let out = Command::new(BIN)
        .arg("--world")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("bad.toml"), "{err}");
    assert!(
        err.contains("role arn:aws:iam::222222222222:role/PowerUser")
            && err.contains("max_session_duration"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn help_and_demo_world() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("AWS_ENDPOINT_URL_STS=http://127.0.0.1:PORT aws sts get-caller-identity"));
    assert!(
        help.contains("[[users]]") && help.contains("[[roles]]") && help.contains("[users.mfa]")
    );
    let out = Command::new(BIN)
        .arg("--print-demo-world")
        .output()
        .unwrap();
    let world = sts_emulator::World::from_toml(&String::from_utf8(out.stdout).unwrap()).unwrap();
    assert_eq!(world, sts_emulator::World::demo());
    let out = Command::new(BIN).arg("--bogus").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
}

const BOTOCORE_FLOW: &str = r#"
import os, botocore.session
s = botocore.session.get_session()
url = os.environ["EMU_URL"]
def sts(**kw):
    return s.create_client("sts", region_name="us-east-1", endpoint_url=url, **kw)
c = sts(aws_access_key_id=os.environ["AKID"], aws_secret_access_key=os.environ["SECRET"])
t = c.get_session_token(SerialNumber=os.environ["SERIAL"], TokenCode=os.environ["CODE"])["Credentials"]
c2 = sts(aws_access_key_id=t["AccessKeyId"], aws_secret_access_key=t["SecretAccessKey"], aws_session_token=t["SessionToken"])
r = c2.assume_role(RoleArn=os.environ["ROLE"], RoleSessionName="alice")["Credentials"]
c3 = sts(aws_access_key_id=r["AccessKeyId"], aws_secret_access_key=r["SecretAccessKey"], aws_session_token=r["SessionToken"])
print(c3.get_caller_identity()["Arn"])
try:
    sts(aws_access_key_id=os.environ["AKID"], aws_secret_access_key="wrong").get_caller_identity()
except Exception as e:
    print(e.response["Error"]["Code"])
"#;

/// Python with botocore: the venv scripts/test.sh makes ($MFACLI_TEST_VENV),
/// else the system python3. In CI (where the venv exists) missing botocore
/// is a failure, not a skip.
// The workspace's ban on reading the environment directly is about mfacli's
// core (src/env.rs); this test harness reads its own two variables.
#[allow(clippy::disallowed_methods)]
pub(crate) fn python_with_botocore() -> Option<String> {
    let venv_python = std::env::var("MFACLI_TEST_VENV")
        .ok()
        .map(|v| format!("{v}/bin/python"));
    let candidates = venv_python.into_iter().chain(["python3".to_owned()]);
    for python in candidates {
        let ok = Command::new(&python)
            .args(["-c", "import botocore"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(python);
        }
    }
    // As mfacli's tests/integration/util.rs `skip`: a failure unless
    // MFACLI_ALLOW_SKIP=1, then a line in $MFACLI_SKIP_LOG for scripts/test.sh.
    let what = "python3 with botocore is not installed (scripts/test.sh installs it)";
    assert!(
        std::env::var_os("MFACLI_ALLOW_SKIP").is_some_and(|v| v == "1"),
        "{what}; set MFACLI_ALLOW_SKIP=1 to skip instead"
    );
    eprintln!("skipped: {what}");
    if let Some(log) = std::env::var_os("MFACLI_SKIP_LOG").filter(|v| !v.is_empty()) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("MFACLI_SKIP_LOG is writable");
        writeln!(f, "sts-emulator binary: {what}").unwrap();
    }
    None
}

#[test]
fn botocore_flow_when_available() {
    let Some(python) = python_with_botocore() else {
        return;
    };
    let emu = sts_emulator::Emulator::start(sts_emulator::World::demo()).unwrap();
    settle(&emu);
    let mut py = Command::new(&python)
        .arg("-")
        .env("EMU_URL", emu.endpoint_url())
        .env("AKID", ALICE_KEY)
        .env("SECRET", ALICE_SECRET)
        .env("SERIAL", ALICE_SERIAL)
        .env("CODE", code(&emu, 0))
        .env("ROLE", PROD)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_MAX_ATTEMPTS", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    py.stdin
        .take()
        .unwrap()
        .write_all(BOTOCORE_FLOW.as_bytes())
        .unwrap();
    let out = py.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [
            "arn:aws:sts::222222222222:assumed-role/PowerUser/alice",
            "SignatureDoesNotMatch"
        ]
    );
}

#[test]
fn signing_region_flag() {
    let (child, port) = spawn(&["--signing-region", "eu-west-1"]);
    let mut r = RawRequest::post(GCI, ALICE_KEY, ALICE_SECRET, chrono::Utc::now());
    r.region = "eu-west-1";
    assert_eq!(send_raw(port, &r.build(port)).status, 200);
    r.region = "eu-central-1";
    let resp = send_raw(port, &r.build(port));
    assert_eq!(resp.status, 403);
    assert_eq!(
        resp.tag("Message").as_deref(),
        Some("Credential should be scoped to a valid region, not 'eu-central-1'. ")
    );
    finish(child);
    let (child, port) = spawn(&["--signing-region=host"]);
    r.host = Some("sts.amazonaws.com");
    assert_eq!(send_raw(port, &r.build(port)).status, 403);
    r.region = "us-east-1";
    assert_eq!(send_raw(port, &r.build(port)).status, 200);
    finish(child);
    let out = Command::new(BIN)
        .args(["--signing-region", "EU WEST"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}
