//! Interoperability tests: the real mfacli binary against moto's STS server
//! and the project's strict STS emulator, with the real consumers of its
//! output (AWS CLI v1, boto3, bash, zsh, fish).
//!
//! The Python tools come from the venv at `$MFACLI_TEST_VENV` (set by
//! scripts/test.sh), else `<crate>/.venv`. A missing venv or shell fails the
//! test unless `MFACLI_ALLOW_SKIP=1` (then a counted "skipped: …" line).
//!
//! Every test has its own HOME, cache dir and STS server, and every process
//! runs with a cleared environment plus only what the test sets.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::util::{describe, mode, Bounded, Home, HomeBuilder, CALLER_ARN_ARGS};
use sts_emulator::demo::{ALICE_KEY, ALICE_SECRET, ALICE_SERIAL};
use sts_emulator::Emulator;

const MFACLI: &str = env!("CARGO_BIN_EXE_mfacli");
const REGION: &str = "us-east-1";

const EMU_PROD_ROLE: &str = "arn:aws:iam::222222222222:role/PowerUser";
const EMU_STAGING_ROLE: &str = "arn:aws:iam::333333333333:role/PowerUser";
const EMU_PROD_ARN: &str = "arn:aws:sts::222222222222:assumed-role/PowerUser/alice";
const EMU_STAGING_ARN: &str = "arn:aws:sts::333333333333:assumed-role/PowerUser/alice";
const MOTO_PROD_ARN: &str = "arn:aws:sts::123456789012:assumed-role/PowerUser/alice";
const MOTO_KEY: &str = "AKIAMOTOFAKE00000001";

// ---------------------------------------------------------------------------
// Prerequisites: the venv and the shells
// ---------------------------------------------------------------------------

/// A missing prerequisite: a failure, or `None` after a counted skip
/// when `MFACLI_ALLOW_SKIP=1` (see `util::skip`).
fn missing<T>(what: &str, fix: &str) -> Option<T> {
    crate::util::skip(&format!("{what} is missing"), fix);
    None
}

/// The venv with moto_server, aws (v1) and python with boto3.
fn venv() -> Option<PathBuf> {
    let dir = std::env::var_os("MFACLI_TEST_VENV")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv"));
    let bin = dir.join("bin");
    if ["moto_server", "aws", "python"]
        .iter()
        .all(|b| bin.join(b).is_file())
    {
        Some(dir)
    } else {
        missing(
            &format!(
                "the test venv {} (moto[server], awscli, boto3)",
                dir.display()
            ),
            "scripts/test.sh creates it and sets MFACLI_TEST_VENV",
        )
    }
}

/// A shell found on PATH.
fn shell(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .or_else(|| {
            missing(
                &format!("the shell `{name}`"),
                "apt-get install zsh fish; .ci/run does",
            )
        })
}

// ---------------------------------------------------------------------------
// Running commands
// ---------------------------------------------------------------------------

/// Runs `cmd`, panics with everything it printed unless it exits 0, and
/// returns its stdout.
fn ok(cmd: &mut Command) -> String {
    let what = describe(cmd);
    let out = cmd
        .run_bounded()
        .unwrap_or_else(|e| panic!("cannot start `{what}`: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "`{what}` failed ({})\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    stdout
}

// ---------------------------------------------------------------------------
// STS servers
// ---------------------------------------------------------------------------

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// A running `moto_server`; dropping it kills and reaps the process.
struct Moto {
    child: Child,
    url: String,
    _log_dir: tempfile::TempDir,
    /// Where moto's recorder writes the requests once started
    /// ([`Moto::start_recording`]).
    recording: PathBuf,
}

impl Moto {
    /// Starts moto's request recorder (its `/moto-api/recorder`).
    fn start_recording(&self) {
        let port: u16 = self
            .url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port");
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connecting to moto");
        s.write_all(b"POST /moto-api/recorder/start-recording HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n")
            .expect("asking moto to record");
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        assert!(
            answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"),
            "{answer}"
        );
    }

    /// The form bodies of the STS `action` requests recorded so far, as
    /// decoded key/value pairs.
    fn recorded(&self, action: &str) -> Vec<Vec<(String, String)>> {
        let text = std::fs::read_to_string(&self.recording).unwrap_or_default();
        serde_json::Deserializer::from_str(&text)
            .into_iter::<serde_json::Value>()
            .map(|v| v.expect("moto's recording is JSON"))
            .filter_map(|v| {
                let body = v["body"].as_str()?.to_owned();
                let body = if v["body_encoded"].as_bool() == Some(true) {
                    String::from_utf8(base64_decode(&body)).ok()?
                } else {
                    body
                };
                let pairs: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
                    .into_owned()
                    .collect();
                pairs
                    .iter()
                    .any(|(k, v)| k == "Action" && v == action)
                    .then_some(pairs)
            })
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Standard base64 (moto records request bodies so); padding ignored.
fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
    for v in s.bytes().filter_map(val) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// Whether an HTTP server answers on `port` (any status line will do).
fn answers_http(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    if s.write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 5];
    s.read_exact(&mut buf).is_ok() && &buf == b"HTTP/"
}

/// Starts moto's server on a free port and waits until it answers HTTP.
/// Retries with another port if the chosen one was taken in the meantime.
fn start_moto(venv: &Path) -> Moto {
    for _attempt in 0..3 {
        let port = free_port();
        let log_dir = tempfile::tempdir().expect("tempdir");
        let log_path = log_dir.path().join("moto.log");
        let log = std::fs::File::create(&log_path).expect("moto log");
        let child = Command::new(venv.join("bin/moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", log_dir.path())
            .env("MOTO_RECORDER_FILEPATH", log_dir.path().join("recording"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log)
            .spawn()
            .expect("starting moto_server");
        let mut moto = Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
            recording: log_dir.path().join("recording"),
            _log_dir: log_dir,
        };
        let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            // The port was free a moment ago; if something else took it,
            // moto fails to bind and exits: only a moto still running
            // after answering is ours.
            if answers_http(port) {
                thread::sleep(Duration::from_millis(300));
                if moto.child.try_wait().expect("waiting for moto").is_none() && answers_http(port)
                {
                    return moto;
                }
            }
            if let Some(status) = moto.child.try_wait().expect("waiting for moto") {
                eprintln!(
                    "moto_server on port {port} exited ({status}); retrying\n{}",
                    log()
                );
                break;
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not answer on port {port} within 60s\n{}",
                log()
            );
            thread::sleep(Duration::from_millis(100));
        }
    }
    panic!("moto_server could not be started; see the messages above");
}

// ---------------------------------------------------------------------------
// A HOME with the AWS files and the mfacli config
// ---------------------------------------------------------------------------

const CREDENTIALS_TAIL: &str = "
# A colleague's sandbox keys; mfacli must leave this section alone.
[sandbox]
aws_access_key_id = AKIASANDBOX000000001
aws_secret_access_key = sandboxSecret00000000000000000000000001
region = eu-west-1
";

fn home_credentials(key: &str, secret: &str) -> String {
    format!(
        "# Long-term keys of the bastion IAM user.\n[bastion]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n{CREDENTIALS_TAIL}"
    )
}

/// A HOME with ~/.aws/credentials ([bastion] plus an unrelated section),
/// ~/.aws/config ([profile prod] with credential_process), and the mfacli
/// config and cache at paths named by variables, which the AWS CLI passes
/// on to credential_process. mfacli's directory and then the venv's come
/// first on PATH.
fn interop_home(
    key: &str,
    secret: &str,
    serial: &str,
    [prod_role, staging_role]: [&str; 2],
    venv: Option<&Path>,
) -> HomeBuilder {
    let aws_config = format!(
        "# AWS CLI config written by tests/interop.rs\n[profile prod]\ncredential_process = {MFACLI} credential-process prod\n"
    );
    let config = format!(
        "[bastion]\nprofile = \"bastion\"\nmfa_serial = \"{serial}\"\nregion = \"{REGION}\"\n\n\
         [targets.prod]\nrole_arn = \"{prod_role}\"\n\n[targets.staging]\nrole_arn = \"{staging_role}\"\n"
    );
    let home = Home::builder()
        .credentials(Some(&home_credentials(key, secret)))
        .aws_config(&aws_config)
        .config(Some(&config))
        .config_path("mfacli.toml")
        .cache_dir("mfacli-cache")
        .aws_file_vars()
        .env("AWS_DEFAULT_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .path_dir(Path::new(MFACLI).parent().expect("binary dir"));
    match venv {
        Some(venv) => home.path_dir(venv.join("bin")),
        None => home,
    }
}

/// The emulator's demo world: alice, with her TOTP seed (the emulator
/// rejects reused codes; mfacli guards against replay itself).
fn emulator_home(venv: Option<&Path>) -> HomeBuilder {
    interop_home(
        ALICE_KEY,
        ALICE_SECRET,
        ALICE_SERIAL,
        [EMU_PROD_ROLE, EMU_STAGING_ROLE],
        venv,
    )
}

/// moto's STS at `url`; moto accepts any keys and any MFA code.
fn moto_home(url: &str, venv: &Path) -> Home {
    interop_home(
        MOTO_KEY,
        "motoFakeSecret0000000000000000000000001",
        "arn:aws:iam::123456789012:mfa/alice",
        [
            "arn:aws:iam::123456789012:role/PowerUser",
            "arn:aws:iam::123456789012:role/Staging",
        ],
        Some(venv),
    )
    .endpoint(url)
    .code(Some(("MFACLI_TOKEN_CODE", "123456")))
    .build()
}

/// `aws sts get-caller-identity ARGS` from the venv, returning the Arn.
fn caller_arn(home: &Home, venv: &Path, args: &[&str], extra_env: &[(&str, &str)]) -> String {
    let mut cmd = home.command(venv.join("bin/aws"));
    cmd.args(CALLER_ARN_ARGS).args(args);
    cmd.envs(extra_env.iter().copied());
    ok(&mut cmd).trim().to_owned()
}

/// `SHELL FLAGS -c SCRIPT`, with $SHELL set to that shell; returns stdout.
fn shell_script(home: &Home, shell: &Path, flags: &[&str], script: &str) -> String {
    ok(home
        .command(shell)
        .env("SHELL", shell)
        .args(flags)
        .arg("-c")
        .arg(script))
}

// ---------------------------------------------------------------------------
// Credentials as mfacli hands them over
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
struct Creds {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
}

impl Creds {
    fn from_map(m: &BTreeMap<String, String>, names: [&str; 3], what: &str) -> Creds {
        let get = |k: &str| {
            m.get(k)
                .cloned()
                .unwrap_or_else(|| panic!("{what}: no {k} in {m:?}"))
        };
        Creds {
            access_key_id: get(names[0]),
            secret_access_key: get(names[1]),
            session_token: get(names[2]),
        }
    }

    fn from_env_lines(text: &str, what: &str) -> Creds {
        let m = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Creds::from_map(
            &m,
            [
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN",
            ],
            what,
        )
    }

    fn from_credential_process(json: &str) -> Creds {
        let v: serde_json::Value = serde_json::from_str(json)
            .unwrap_or_else(|e| panic!("credential-process: {e}: {json}"));
        assert_eq!(v["Version"], 1, "{json}");
        let s = |k: &str| {
            v[k].as_str()
                .unwrap_or_else(|| panic!("credential-process: no {k}: {json}"))
                .to_owned()
        };
        assert!(!s("Expiration").is_empty());
        Creds {
            access_key_id: s("AccessKeyId"),
            secret_access_key: s("SecretAccessKey"),
            session_token: s("SessionToken"),
        }
    }

    /// `[section]` of an INI file.
    fn from_ini_section(text: &str, section: &str) -> Creds {
        let header = format!("[{section}]");
        let m = text
            .lines()
            .skip_while(|l| l.trim() != header)
            .skip(1)
            .take_while(|l| !l.trim_start().starts_with('['))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        Creds::from_map(
            &m,
            [
                "aws_access_key_id",
                "aws_secret_access_key",
                "aws_session_token",
            ],
            &header,
        )
    }

    fn as_env(&self) -> [(&str, &str); 3] {
        [
            ("AWS_ACCESS_KEY_ID", self.access_key_id.as_str()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_access_key.as_str()),
            ("AWS_SESSION_TOKEN", self.session_token.as_str()),
        ]
    }
}

/// Successful requests of `action` (e.g. AssumeRole) for `role`.
fn count_for_role(emu: &Emulator, action: &str, role: &str) -> usize {
    emu.requests()
        .iter()
        .filter(|r| r.action == action && r.status == 200 && r.role_arn.as_deref() == Some(role))
        .count()
}

// ---------------------------------------------------------------------------
// 1. moto's STS server
// ---------------------------------------------------------------------------

#[test]
fn moto_env_exec_credential_process_and_profile_hold_the_assumed_role() {
    let Some(venv) = venv() else { return };
    let Some(bash) = shell("bash") else { return };
    let moto = start_moto(&venv);
    let home = moto_home(&moto.url, &venv);

    // env, evaluated by bash.
    let script = r#"eval "$(mfacli env prod)" && env | grep '^AWS_'"#;
    let from_env = Creds::from_env_lines(
        &shell_script(&home, &bash, &["--norc", "--noprofile"], script),
        "env in bash",
    );

    // exec: the command sees the credentials, and not the MFA code.
    let exec_env = ok(home.std_mfacli().args(["exec", "prod", "--", "env"]));
    let from_exec = Creds::from_env_lines(&exec_env, "exec prod -- env");
    for gone in ["MFACLI_TOKEN_CODE", "AWS_PROFILE"] {
        assert!(
            !exec_env.lines().any(|l| l.starts_with(&format!("{gone}="))),
            "exec leaked {gone}:\n{exec_env}"
        );
    }

    let from_cp =
        Creds::from_credential_process(&ok(home.std_mfacli().args(["credential-process", "prod"])));

    ok(home
        .std_mfacli()
        .args(["assume", "prod", "--write-profile", "prod-temp"]));
    let written = std::fs::read_to_string(home.credentials()).expect("reading credentials");
    let from_profile = Creds::from_ini_section(&written, "prod-temp");

    // One HOME, one cache: every command hands over the same credentials.
    assert_eq!(from_env, from_exec, "env and exec disagree");
    assert_eq!(from_env, from_cp, "env and credential-process disagree");
    assert_eq!(from_env, from_profile, "env and --write-profile disagree");
    assert_ne!(
        from_env.access_key_id, MOTO_KEY,
        "got the long-term keys back"
    );

    // moto knows these credentials as the assumed role.
    let arn = caller_arn(
        &home,
        &venv,
        &["--endpoint-url", &moto.url],
        &from_env.as_env(),
    );
    assert_eq!(
        arn, MOTO_PROD_ARN,
        "GetCallerIdentity with the credentials from env/exec/credential-process"
    );
    let arn = caller_arn(
        &home,
        &venv,
        &["--endpoint-url", &moto.url, "--profile", "prod-temp"],
        &[],
    );
    assert_eq!(
        arn, MOTO_PROD_ARN,
        "GetCallerIdentity with the profile written by assume"
    );

    let whoami = ok(home.std_mfacli().args(["whoami", "prod"]));
    let arn_line = whoami
        .lines()
        .find_map(|l| l.strip_prefix("Arn:"))
        .map(str::trim);
    assert_eq!(arn_line, Some(MOTO_PROD_ARN), "whoami prod:\n{whoami}");
}

// ---------------------------------------------------------------------------
// 2.-5. The project's emulator, with real consumers
// ---------------------------------------------------------------------------

#[test]
fn aws_cli_uses_mfacli_as_credential_process() {
    let Some(venv) = venv() else { return };
    let home = emulator_home(Some(&venv)).build();
    let emu = home.emu();

    // [profile prod] has only credential_process; [bastion] in the
    // credentials file must not be used.
    assert_eq!(
        caller_arn(&home, &venv, &["--profile", "prod"], &[]),
        EMU_PROD_ARN
    );
    // AWS CLI v1 does not cache credential_process results: mfacli does.
    assert_eq!(
        caller_arn(&home, &venv, &["--profile", "prod"], &[]),
        EMU_PROD_ARN
    );
    assert_eq!(emu.count("GetSessionToken"), 1, "{:#?}", emu.requests());
    assert_eq!(emu.count("AssumeRole"), 1, "{:#?}", emu.requests());
    assert_eq!(emu.count("GetCallerIdentity"), 2, "{:#?}", emu.requests());
}

/// `AWS_PROFILE=prod aws …` (how Terraform and most SDK users pick a
/// profile) runs credential_process with AWS_PROFILE=prod in its
/// environment. That names the consumer's profile, not the bastion's: with
/// the keys in [default] and no `[bastion] profile`, mfacli must still use
/// [default].
#[test]
fn aws_profile_env_selecting_the_credential_process_profile() {
    let Some(venv) = venv() else { return };
    let home = emulator_home(Some(&venv)).build();
    let credentials = home_credentials(ALICE_KEY, ALICE_SECRET).replace("[bastion]", "[default]");
    std::fs::write(home.credentials(), credentials).expect("writing credentials");
    let config = std::fs::read_to_string(home.config()).expect("reading config");
    std::fs::write(home.config(), config.replace("profile = \"bastion\"\n", ""))
        .expect("writing config");

    assert_eq!(
        caller_arn(&home, &venv, &["--profile", "prod"], &[]),
        EMU_PROD_ARN
    );
    assert_eq!(
        caller_arn(&home, &venv, &[], &[("AWS_PROFILE", "prod")]),
        EMU_PROD_ARN
    );
}

#[test]
fn exec_and_env_in_bash_zsh_fish_share_one_mfa_session() {
    let Some(venv) = venv() else { return };
    let home = emulator_home(Some(&venv)).build();
    let emu = home.emu();
    let who = "aws sts get-caller-identity --query Arn --output text";

    let out = ok(home
        .std_mfacli()
        .args(["exec", "prod", "--", "aws"])
        .args(CALLER_ARN_ARGS));
    assert_eq!(out.trim(), EMU_PROD_ARN, "exec prod -- aws");

    let mut shells_run = vec![];
    if let Some(bash) = shell("bash") {
        let out = shell_script(
            &home,
            &bash,
            &["--norc", "--noprofile"],
            &format!(r#"eval "$(mfacli env prod)"; {who}"#),
        );
        assert_eq!(out.trim(), EMU_PROD_ARN, "bash");
        shells_run.push("bash");
    }
    if let Some(zsh) = shell("zsh") {
        let out = shell_script(
            &home,
            &zsh,
            &["-f"],
            &format!(r#"eval "$(mfacli env prod --shell zsh)"; {who}"#),
        );
        assert_eq!(out.trim(), EMU_PROD_ARN, "zsh");
        shells_run.push("zsh");
    }
    if let Some(fish) = shell("fish") {
        let out = shell_script(
            &home,
            &fish,
            &["--no-config"],
            &format!("mfacli env prod --shell fish | source; {who}"),
        );
        assert_eq!(out.trim(), EMU_PROD_ARN, "fish");
        shells_run.push("fish");
    }

    // A second target reuses the MFA session too.
    let out = ok(home
        .std_mfacli()
        .args(["exec", "staging", "--", "aws"])
        .args(CALLER_ARN_ARGS));
    assert_eq!(out.trim(), EMU_STAGING_ARN, "exec staging -- aws");

    let log = emu.requests();
    assert_eq!(
        emu.count("GetSessionToken"),
        1,
        "one MFA code for everything ({shells_run:?}):\n{log:#?}"
    );
    assert_eq!(
        count_for_role(emu, "AssumeRole", EMU_PROD_ROLE),
        1,
        "prod assumed once:\n{log:#?}"
    );
    assert_eq!(
        count_for_role(emu, "AssumeRole", EMU_STAGING_ROLE),
        1,
        "staging assumed once:\n{log:#?}"
    );
    assert_eq!(emu.count_all("AssumeRole"), 2, "{log:#?}");
}

#[test]
fn boto3_uses_mfacli_as_credential_process() {
    let Some(venv) = venv() else { return };
    let home = emulator_home(Some(&venv)).build();
    let emu = home.emu();
    let script = "import sys, boto3\n\
                  sts = boto3.Session(profile_name='prod').client('sts', endpoint_url=sys.argv[1])\n\
                  print(sts.get_caller_identity()['Arn'])";
    let out = ok(home
        .command(venv.join("bin/python"))
        .args(["-c", script, &emu.endpoint_url()]));
    assert_eq!(out.trim(), EMU_PROD_ARN);
    assert_eq!(emu.count("AssumeRole"), 1);
}

#[test]
fn aws_cli_reads_the_profile_written_by_assume() {
    let Some(venv) = venv() else { return };
    let home = emulator_home(Some(&venv)).build();
    let emu = home.emu();
    let before = home_credentials(ALICE_KEY, ALICE_SECRET);

    for _ in 0..2 {
        // The second run rewrites the section mfacli wrote the first time.
        ok(home
            .std_mfacli()
            .args(["assume", "prod", "--write-profile", "prod-temp"]));
        assert_eq!(
            caller_arn(&home, &venv, &["--profile", "prod-temp"], &[]),
            EMU_PROD_ARN
        );

        let text = std::fs::read_to_string(home.credentials()).expect("reading credentials");
        assert!(
            text.starts_with(&before),
            "other sections and comments changed:\n{text}"
        );
        assert_eq!(text.matches("[prod-temp]").count(), 1, "{text}");
        assert_eq!(mode(&home.credentials()), 0o600, "credentials file mode");
    }
    // All that was added is the one new section, at the end.
    let text = std::fs::read_to_string(home.credentials()).expect("reading credentials");
    let added = &text[before.len()..];
    assert!(added.trim_start().starts_with("[prod-temp]\n"), "{text}");
    assert_eq!(
        added
            .lines()
            .filter(|l| l.trim_start().starts_with('['))
            .count(),
        1,
        "{text}"
    );
    assert_eq!(emu.count("AssumeRole"), 1);
}

// ---------------------------------------------------------------------------
// 6. Shell completions load cleanly
// ---------------------------------------------------------------------------

/// Runs the completion `script` in `shell`; it must exit 0, print nothing on
/// stderr, and print `expect` (proof the completion was registered).
fn completions_load(name: &str, flags: &[&str], script: &str, expect: &str) {
    let Some(sh) = shell(name) else { return };
    let home = emulator_home(None).endpoint("http://127.0.0.1:9").build();
    let out = home
        .command(&sh)
        .args(flags)
        .arg("-c")
        .arg(script)
        .run_bounded()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{name}: {}\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stderr.is_empty(), "{name} printed on stderr:\n{stderr}");
    assert!(
        stdout.contains(expect),
        "{name}: expected {expect:?} in:\n{stdout}"
    );
}

#[test]
fn bash_completions_load() {
    // Registered, and the completion function completes a subcommand.
    let script = "source <(mfacli completions bash) && complete -p mfacli && \
                  COMP_WORDS=(mfacli credential-p) COMP_CWORD=1 && _clap_complete_mfacli mfacli credential-p mfacli && \
                  printf '%s\\n' \"${COMPREPLY[@]}\"";
    completions_load(
        "bash",
        &["--norc", "--noprofile"],
        script,
        "-F _clap_complete_mfacli mfacli\ncredential-process\n",
    );
}

#[test]
fn zsh_completions_load() {
    // compdef registered the dynamic completer for mfacli, and it is defined.
    let script = "autoload -U compinit && compinit -u -D && source <(mfacli completions zsh) && \
                  print -r -- \"$_comps[mfacli] $+functions[_clap_dynamic_completer_mfacli]\"";
    completions_load("zsh", &["-f"], script, "_clap_dynamic_completer_mfacli 1");
}

#[test]
fn fish_completions_load() {
    let script = "mfacli completions fish | source; and complete -C 'mfacli credential-p'";
    completions_load("fish", &["--no-config"], script, "credential-process\t");
}

// ---------------------------------------------------------------------------
// Session policies, as moto receives them
// ---------------------------------------------------------------------------

#[test]
fn moto_receives_session_policies_from_every_command_and_keeps_caches_apart() {
    let Some(venv) = venv() else { return };
    let moto = start_moto(&venv);
    let home = moto_home(&moto.url, &venv);
    home.write_config(&format!(
        "{}\n[targets.prod-ro]\nfrom = \"prod\"\npolicy_arns = [\"arn:aws:iam::aws:policy/ReadOnlyAccess\"]\n",
        std::fs::read_to_string(home.config()).expect("config")
    ));
    let policy = home.path().join("s3-read.json");
    std::fs::write(
        &policy,
        "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"s3:Get*\", \"Resource\": \"*\"}]\n}\n",
    )
    .unwrap();
    let compact = r#"{"Statement":[{"Action":"s3:Get*","Effect":"Allow","Resource":"*"}],"Version":"2012-10-17"}"#;
    let ro = "arn:aws:iam::aws:policy/ReadOnlyAccess";
    moto.start_recording();
    let get = |p: &Vec<(String, String)>, k: &str| {
        p.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone())
    };

    // Full, then narrowed by flags: two AssumeRole calls, two credentials.
    let full =
        Creds::from_credential_process(&ok(home.std_mfacli().args(["credential-process", "prod"])));
    let policy_arg = policy.to_str().unwrap();
    let narrowed = Creds::from_credential_process(&ok(home.std_mfacli().args([
        "credential-process",
        "prod",
        "--policy-arn",
        ro,
        "--policy",
        policy_arg,
    ])));
    assert_ne!(
        full, narrowed,
        "a narrowed run never gets the full credentials"
    );
    let calls = moto.recorded("AssumeRole");
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(get(&calls[0], "PolicyArns.member.1.arn"), None);
    assert_eq!(get(&calls[0], "Policy"), None);
    assert_eq!(
        get(&calls[1], "PolicyArns.member.1.arn").as_deref(),
        Some(ro)
    );
    assert_eq!(
        get(&calls[1], "Policy").as_deref(),
        Some(compact),
        "canonical JSON"
    );

    // Both are cached apart: the same commands again make no call.
    let again =
        Creds::from_credential_process(&ok(home.std_mfacli().args(["credential-process", "prod"])));
    assert_eq!(again, full);
    let env_narrowed = Creds::from_env_lines(
        &ok(home.std_mfacli().args([
            "exec",
            "prod",
            "--policy-arn",
            ro,
            "--policy",
            policy_arg,
            "--",
            "env",
        ])),
        "exec --policy",
    );
    assert_eq!(env_narrowed, narrowed);
    assert_eq!(moto.recorded("AssumeRole").len(), 2);

    // The named narrowing, through env and the `exec --server` route.
    ok(home.std_mfacli().args(["env", "prod-ro"]));
    let calls = moto.recorded("AssumeRole");
    assert_eq!(calls.len(), 3);
    assert_eq!(
        get(&calls[2], "PolicyArns.member.1.arn").as_deref(),
        Some(ro)
    );
    assert_eq!(get(&calls[2], "Policy"), None);
    ok(home.std_mfacli().args([
        "exec",
        "staging",
        "--server",
        "--policy-arn",
        ro,
        "--",
        "aws",
        "sts",
        "get-caller-identity",
        "--endpoint-url",
        &moto.url,
    ]));
    let calls = moto.recorded("AssumeRole");
    assert_eq!(calls.len(), 4, "{calls:?}");
    assert!(get(&calls[3], "RoleArn").unwrap().ends_with("role/Staging"));
    assert_eq!(
        get(&calls[3], "PolicyArns.member.1.arn").as_deref(),
        Some(ro)
    );

    // list and whoami say which policy a credential carries.
    let list = ok(home.std_mfacli().arg("list"));
    assert!(list.contains(&format!("narrowed by {ro}")), "{list}");
    assert!(
        list.contains(&format!(
            "also cached, narrowed by {ro} + inline policy sha256:"
        )),
        "{list}"
    );
    let whoami = ok(home.std_mfacli().args(["whoami", "prod-ro"]));
    assert!(whoami.contains(&format!("Policy:  {ro}\n")), "{whoami}");
}
