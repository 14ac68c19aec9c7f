//! Hardening (issue 12): rogue STS answers, region validation, insecure
//! endpoints, cache trust, replay records, directory modes, special files,
//! core dumps and mfa_command limits.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::util::*;

/// What a rogue STS answers with: one set of credentials per action.
#[derive(Clone)]
struct Creds {
    id: String,
    secret: String,
    token: String,
    expiration: String,
    /// `AssumedRoleUser/Arn` of an AssumeRole answer.
    arn: String,
}

fn good() -> Creds {
    Creds {
        id: "ASIAROGUE00000000001".into(),
        secret: "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY00".into(),
        token: "IQoJb3JpZ2luX2VjEGOODTOKEN0000000000000000000000000000".into(),
        expiration: "2099-01-01T00:00:00Z".into(),
        arn: "arn:aws:sts::222222222222:assumed-role/PowerUser/alice".into(),
    }
}

/// A tiny HTTP server on 127.0.0.1:0 that answers GetSessionToken and
/// AssumeRole with crafted XML. Stopped on drop.
struct RogueSts {
    url: String,
    stop: Arc<AtomicBool>,
    hits: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

fn xml_response(action: &str, c: &Creds) -> String {
    let extra = if action == "AssumeRole" {
        format!(
            "<AssumedRoleUser><Arn>{}</Arn><AssumedRoleId>AROAEXAMPLE:alice</AssumedRoleId></AssumedRoleUser>",
            c.arn
        )
    } else {
        String::new()
    };
    format!(
        "<{action}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><{action}Result><Credentials><AccessKeyId>{}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey><SessionToken>{}</SessionToken><Expiration>{}</Expiration></Credentials>{extra}</{action}Result><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></{action}Response>",
        c.id, c.secret, c.token, c.expiration
    )
}

fn handle(mut s: TcpStream, session: &Creds, role: &Creds) {
    s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    // Headers, then Content-Length bytes of body.
    let body_start = loop {
        let Ok(n) = s.read(&mut chunk) else { return };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..body_start]).to_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < body_start + len {
        let Ok(n) = s.read(&mut chunk) else { return };
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[body_start..]);
    let (action, c) = if body.contains("Action=AssumeRole") {
        ("AssumeRole", role)
    } else {
        ("GetSessionToken", session)
    };
    let xml = xml_response(action, c);
    let _ = write!(
        s,
        "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
        xml.len()
    );
}

impl RogueSts {
    fn start(session: Creds, role: Creds) -> Self {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let hits = Arc::new(AtomicUsize::new(0));
        let (st, h) = (Arc::clone(&stop), Arc::clone(&hits));
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::SeqCst) {
                match l.accept() {
                    Ok((s, _)) => {
                        s.set_nonblocking(false).ok();
                        h.fetch_add(1, Ordering::SeqCst);
                        handle(s, &session, &role);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self {
            url,
            stop,
            hits,
            thread: Some(thread),
        }
    }
}

impl Drop for RogueSts {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn cache_entries(h: &Home) -> Vec<String> {
    std::fs::read_dir(h.cache_dir())
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".json"))
                .filter(|n| n.starts_with("session-") || n.starts_with("role-"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn rogue_sts_values_are_refused_before_anything_is_cached_or_printed() {
    let injected =
        "IQoJb3JpZ2luX2VjE\n[default]\ncredential_process = sh -c 'touch /tmp/mfacli-pwned'\n";
    let cases: Vec<(&str, Creds, Creds)> = vec![
        (
            "session token with a [default] credential_process section",
            Creds {
                token: injected.into(),
                ..good()
            },
            good(),
        ),
        (
            "role secret with a unicode quote",
            good(),
            Creds {
                secret: "wJalrXUtnFEMI’; New-Item pwned; ’EXAMPLEKEY".into(),
                ..good()
            },
        ),
        (
            "role key id with a shell quote",
            good(),
            Creds {
                id: "ASIA'$(touch pwned)'".into(),
                ..good()
            },
        ),
        (
            "role token with CRLF",
            good(),
            Creds {
                token: "IQoJb3JpZ2luX2VjE\r\nregion = evil".into(),
                ..good()
            },
        ),
        // Only the alphabet check stops these: base64 and a valid length
        // but for one line break (a character reference, so the XML parser
        // hands it over as is).
        (
            "role token with a bare LF inside",
            good(),
            Creds {
                token: "IQoJb3JpZ2luX2VjE&#10;W2RlZmF1bHRdCg0000000".into(),
                ..good()
            },
        ),
        (
            "role secret with a bare CR inside",
            good(),
            Creds {
                secret: "wJalrXUtnFEMIK7MDENG&#13;bPxRfiCYEXAMPLEKEY0".into(),
                ..good()
            },
        ),
        (
            "session key id with a LF inside",
            Creds {
                id: "ASIAROGUE0&#10;0000001".into(),
                ..good()
            },
            good(),
        ),
        (
            "bad expiration",
            good(),
            Creds {
                expiration: "not-a-date".into(),
                ..good()
            },
        ),
    ];
    for (what, session, role) in cases {
        let h = Home::new();
        let rogue = RogueSts::start(session, role);
        let creds_path = h.path().join(".aws/credentials");
        let before = std::fs::read(&creds_path).unwrap();
        for args in [
            vec!["assume", "prod", "--write-profile", "prod-temp"],
            vec!["env", "prod", "--shell", "powershell"],
            vec!["credential-process", "prod"],
        ] {
            let out = h
                .mfacli()
                .env("AWS_ENDPOINT_URL_STS", &rogue.url)
                .env_remove("MFACLI_TOTP_SECRET")
                .env("MFACLI_TOKEN_CODE", "123456")
                .args(&args)
                .output()
                .unwrap();
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(1), "{what} {args:?}: {err}");
            assert!(
                printed_only_a_failure(&out),
                "{what} {args:?}: printed {}",
                stdout(&out)
            );
            if what != "bad expiration" {
                assert!(
                    err.contains(&format!("malformed response from STS at {}", rogue.url)),
                    "{what} {args:?}: {err}"
                );
            }
            assert!(
                !err.contains("pwned") && !err.contains("EXAMPLEKEY"),
                "{err}"
            );
            // A well-formed MFA session may be cached; the malformed
            // values never are.
            let bad_prefix = if what.starts_with("session") {
                ""
            } else {
                "role-"
            };
            let cached = cache_entries(&h);
            assert!(
                !cached.iter().any(|n| n.starts_with(bad_prefix)),
                "{what}: {cached:?}"
            );
            assert_eq!(std::fs::read(&creds_path).unwrap(), before, "{what}");
        }
        assert!(
            rogue.hits.load(Ordering::SeqCst) >= 3,
            "{what}: the rogue STS was asked"
        );
    }
    // And the same server with well-formed values works (the test server is
    // a faithful enough STS).
    let h = Home::new();
    let rogue = RogueSts::start(good(), good());
    let out = h
        .mfacli()
        .env("AWS_ENDPOINT_URL_STS", &rogue.url)
        .env_remove("MFACLI_TOTP_SECRET")
        .env("MFACLI_TOKEN_CODE", "123456")
        .args(["credential-process", "prod"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("ASIAROGUE00000000001"));
}

#[test]
fn bad_regions_are_refused_by_source_before_a_code_is_spent() {
    let h = Home::new();
    let replay_records = |h: &Home| {
        std::fs::read_dir(h.cache_dir())
            .map(|rd| {
                rd.flatten()
                    .filter(|e| {
                        e.file_name().to_string_lossy().starts_with("totp-")
                            && e.file_name().to_string_lossy().ends_with(".json")
                    })
                    .count()
            })
            .unwrap_or(0)
    };
    let run = |envs: &[(&str, &str)], args: &[&str]| {
        let mut c = h.mfacli();
        for (k, v) in envs {
            c.env(k, v);
        }
        c.args(args).output().unwrap()
    };
    // The ambient region picks mfacli's STS region only when neither
    // --region nor [bastion] region does (see Sources::sts_region).
    h.write_config(&CONFIG.replacen("region = \"eu-west-1\"\n", "", 1));
    for (envs, args, needle, code) in [
        (
            vec![("AWS_REGION", "evil.example:8443/")],
            vec!["env", "prod"],
            "$AWS_REGION",
            1,
        ),
        (
            vec![("AWS_DEFAULT_REGION", "eu west 1")],
            vec!["env", "prod"],
            "$AWS_DEFAULT_REGION",
            1,
        ),
        // A bad flag is a usage error (exit 2), found by clap.
        (
            vec![],
            vec!["--region", "eu-west-1\n[default]", "env", "prod"],
            "--region",
            2,
        ),
    ] {
        let out = run(&envs, &args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert!(
            err.contains(needle) && err.contains("not a region name"),
            "{err}"
        );
        assert!(err.contains("eu-west-1"), "{err}");
        assert_eq!(h.counts(), (0, 0));
        assert_eq!(replay_records(&h), 0, "no TOTP step spent");
    }
    // Config and target regions name the key.
    h.write_config(&CONFIG.replace(
        "region = \"eu-west-1\"",
        "region = \"eu-west-1\\n[default]\\ncredential_process = sh\"",
    ));
    let out = run(&[], &["env", "prod"]);
    assert!(
        stderr(&out).contains("[bastion] region"),
        "{}",
        stderr(&out)
    );
    h.write_config(&CONFIG.replace("region = \"eu-central-1\"", "region = \"Eu-Central\""));
    let out = run(&[], &["env", "prod"]);
    assert!(
        stderr(&out).contains("[targets.prod] region"),
        "{}",
        stderr(&out)
    );
    // A profile's region in ~/.aws/config.
    h.write_config(&CONFIG.replace("region = \"eu-west-1\"\n", ""));
    std::fs::write(
        h.path().join(".aws/config"),
        "[profile bastion]\nregion = us-east-1/x\n",
    )
    .unwrap();
    let out = run(&[], &["env", "prod"]);
    assert!(
        stderr(&out).contains("[profile bastion] region"),
        "{}",
        stderr(&out)
    );
    assert_eq!(h.counts(), (0, 0));
    assert_eq!(replay_records(&h), 0);
}

#[test]
fn plain_http_to_another_host_needs_an_explicit_opt_in() {
    let h = Home::new();
    // 192.0.2.1 (TEST-NET-1) never answers: the refusal must come first.
    let out = h
        .mfacli()
        .env("AWS_ENDPOINT_URL_STS", "http://192.0.2.1:8080")
        .args(["env", "prod"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("AWS_ENDPOINT_URL_STS")
            && err.contains("plain http")
            && err.contains("MFACLI_ALLOW_INSECURE_ENDPOINT=1"),
        "{err}"
    );
    // Opted in: a warning, then the (unreachable) host is tried.
    let out = h
        .mfacli()
        .env("AWS_ENDPOINT_URL_STS", "http://192.0.2.1:8080")
        .env("MFACLI_ALLOW_INSECURE_ENDPOINT", "1")
        .args(["--timeout", "1s", "env", "prod"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(
        err.contains("warning: MFACLI_ALLOW_INSECURE_ENDPOINT=1"),
        "{err}"
    );
    assert!(!err.contains("plain http to a host that is not"), "{err}");
    // Loopback stays allowed without a word (the emulator is on 127.0.0.1).
    let out = h.mfacli().args(["env", "prod"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("plain http"));
}

fn replay_file(h: &Home) -> std::path::PathBuf {
    h.cache_dir()
        .join(format!("totp-{}.json", mfacli::cache::key_hash(&[SERIAL])))
}

fn write_private(p: &Path, text: &str) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::set_permissions(p.parent().unwrap(), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(p, text).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600)).unwrap();
}

#[test]
fn a_replay_record_from_the_future_is_ignored_and_clear_keeps_it_unless_asked() {
    let h = Home::new();
    let step = h.emu().now().timestamp() / 30;
    write_private(
        &replay_file(&h),
        &format!("{{\"serial\":\"{SERIAL}\",\"last_step\":{}}}", step + 2880),
    );
    let start = Instant::now();
    let out = h.mfacli().args(["env", "prod"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    assert!(
        stderr(&out).contains("ignoring the TOTP replay record"),
        "{}",
        stderr(&out)
    );
    assert_eq!(h.counts(), (1, 1));
    // clear --all keeps the replay record (it stops a code being sent twice)…
    h.mfacli().args(["clear", "--all"]).assert().success();
    assert!(replay_file(&h).exists());
    assert!(!std::fs::read_dir(h.cache_dir())
        .unwrap()
        .flatten()
        .any(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with("session-") && n.ends_with(".json")
        }));
    // …and --totp-state removes it too.
    h.mfacli()
        .args(["clear", "--all", "--totp-state"])
        .assert()
        .success();
    assert!(!replay_file(&h).exists());
}

/// Runs `sh -c 'umask 000; exec mfacli ARGS'` in the fixture's environment.
fn under_umask_000(h: &Home, envs: &[(&str, &Path)], args: &[&str]) -> std::process::Output {
    let mut c = h.command("sh");
    c.arg("-c")
        .arg("umask 000; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_mfacli"))
        .args(args);
    for (k, v) in envs {
        c.env(k, v);
    }
    let mut c = assert_cmd::Command::from_std(c);
    c.timeout(Duration::from_secs(60));
    c.output().unwrap()
}

#[test]
fn directories_mfacli_creates_are_0700_under_umask_000() {
    let h = Home::new();
    std::fs::remove_dir_all(h.path().join(".config")).unwrap();
    let out = under_umask_000(
        &h,
        &[],
        &[
            "init",
            "--non-interactive",
            "--bastion-profile",
            "bastion",
            "--mfa-serial",
            SERIAL,
            "--region",
            "eu-west-1",
            "--target",
            "prod=222222222222:PowerUser",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(mode(&h.path().join(".config")), 0o700);
    assert_eq!(mode(&h.path().join(".config/mfacli")), 0o700);
    assert_eq!(mode(&h.path().join(".config/mfacli/config.toml")), 0o600);
    // --write-profile into a credentials file whose directory does not
    // exist yet (the keys come from the AWS config file here), and the
    // cache directory, both made under umask 000.
    let keys = h.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    write_private(
        &keys.join("config"),
        &format!("[profile bastion]\naws_access_key_id = {ALICE_KEY}\naws_secret_access_key = {ALICE_SECRET}\n"),
    );
    let new_creds = h.path().join("new-aws/credentials");
    let out = under_umask_000(
        &h,
        &[
            ("AWS_CONFIG_FILE", &keys.join("config")),
            ("AWS_SHARED_CREDENTIALS_FILE", &new_creds),
        ],
        &["assume", "prod", "--write-profile", "prod-temp"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(mode(&h.path().join("new-aws")), 0o700);
    assert_eq!(mode(&new_creds), 0o600);
    assert_eq!(mode(&h.path().join(".cache")), 0o700);
    assert_eq!(mode(&h.cache_dir()), 0o700);
}

#[test]
fn a_config_others_can_write_is_refused_with_the_chmod_fix() {
    let h = Home::new();
    let cfg = h.path().join(".config/mfacli/config.toml");
    for m in [0o620, 0o602, 0o666] {
        std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(m)).unwrap();
        let out = h.mfacli().args(["env", "prod"]).output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains(&format!("mode {m:04o}"))
                && err.contains(&format!("chmod go-w {}", cfg.display())),
            "{err}"
        );
        assert!(printed_only_a_failure(&out), "{}", stdout(&out));
    }
    assert_eq!(h.counts(), (0, 0));
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o644)).unwrap();
    h.mfacli().args(["env", "prod"]).assert().success();
}

fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

#[test]
fn special_files_give_a_clear_error_never_a_hang() {
    let h = Home::new();
    let fifo = h.path().join("fifo");
    mkfifo(&fifo);
    let run = |c: &mut assert_cmd::Command| {
        let start = Instant::now();
        let out = c.timeout(Duration::from_secs(20)).output().unwrap();
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "took {:?}",
            start.elapsed()
        );
        out
    };
    // Config: /dev/zero (would grow without bound) and a FIFO (would hang).
    for (path, kind) in [
        (Path::new("/dev/zero"), "a character device"),
        (fifo.as_path(), "a FIFO"),
    ] {
        let out = run(h.mfacli().env("MFACLI_CONFIG", path).args(["env", "prod"]));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains(&format!("cannot read mfacli config {}", path.display()))
                && err.contains(kind),
            "{err}"
        );
    }
    // Seed file.
    h.write_config(&CONFIG.replace(
        "region = \"eu-west-1\"",
        &format!(
            "region = \"eu-west-1\"\ntotp_secret_file = \"{}\"",
            fifo.display()
        ),
    ));
    let out = run(h
        .mfacli()
        .env_remove("MFACLI_TOTP_SECRET")
        .args(["env", "prod"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("totp_secret_file") && err.contains("a FIFO"),
        "{err}"
    );
    // An oversized seed file.
    let big = h.path().join("big-seed");
    write_private(&big, &"A".repeat(5000));
    h.write_config(&CONFIG.replace(
        "region = \"eu-west-1\"",
        &format!(
            "region = \"eu-west-1\"\ntotp_secret_file = \"{}\"",
            big.display()
        ),
    ));
    let out = run(h
        .mfacli()
        .env_remove("MFACLI_TOTP_SECRET")
        .args(["env", "prod"]));
    assert!(stderr(&out).contains("4 KiB"), "{}", stderr(&out));
    // AWS credentials file as a FIFO.
    h.write_config(CONFIG);
    let out = run(h
        .mfacli()
        .env("AWS_SHARED_CREDENTIALS_FILE", &fifo)
        .args(["env", "prod"]));
    assert!(stderr(&out).contains("a FIFO"), "{}", stderr(&out));
    // A cache entry that is a FIFO: ignored with a warning, then fetched.
    h.mfacli().args(["env", "prod"]).assert().success();
    let role = std::fs::read_dir(h.cache_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with("role-prod-") && n.ends_with(".json")
        })
        .unwrap();
    std::fs::remove_file(&role).unwrap();
    mkfifo(&role);
    let out = run(h.mfacli().args(["env", "prod"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("ignoring cache file") && stderr(&out).contains("FIFO"),
        "{}",
        stderr(&out)
    );
    assert_eq!(h.counts(), (1, 2));
}

#[test]
fn a_planted_cache_entry_is_never_a_cache_hit() {
    let h = Home::new();
    let first = h
        .mfacli()
        .args(["credential-process", "prod"])
        .output()
        .unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    let role = std::fs::read_dir(h.cache_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with("role-prod-") && n.ends_with(".json")
        })
        .unwrap();
    // The attacker's credentials, in an entry mfacli did not write: mode
    // 0644 (and, when the tests run as root, owned by another user).
    let text = std::fs::read_to_string(&role).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let real = v["credentials"]["access_key_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let planted = text.replace(&real, "ASIAATTACKER00000001");
    std::fs::remove_file(&role).unwrap();
    std::fs::write(&role, planted).unwrap();
    std::fs::set_permissions(&role, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = || {
        h.mfacli()
            .args(["-v", "credential-process", "prod"])
            .output()
            .unwrap()
    };
    let out = run();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stdout(&out).contains("ATTACKER"), "{}", stdout(&out));
    assert!(
        !stderr(&out).contains("cache hit: credentials"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("ignoring cache file"),
        "{}",
        stderr(&out)
    );
    assert_eq!(h.counts(), (1, 2));
    // Owned by someone else (only possible as root): ignored too.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        let text = std::fs::read_to_string(&role).unwrap();
        std::fs::remove_file(&role).unwrap();
        std::fs::write(&role, text.replace("ASIA", "ASIB")).unwrap();
        std::fs::set_permissions(&role, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::chown(&role, Some(4242), Some(4242)).unwrap();
        let out = run();
        assert!(
            stderr(&out).contains("owned by uid 4242"),
            "{}",
            stderr(&out)
        );
        assert!(!stdout(&out).contains("ASIB"));
        assert_eq!(h.counts(), (1, 3));
    }
}

#[test]
fn a_shared_cache_dir_is_never_trusted_and_never_chmod_advised() {
    let h = Home::new();
    let shared = h.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let out = h
        .mfacli()
        .env("MFACLI_CACHE_DIR", &shared)
        .args(["env", "prod"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(err.contains("mode 1777"), "{err}");
    assert!(!err.contains("chmod"), "{err}");
    assert!(err.contains("private directory"), "{err}");
    assert!(printed_only_a_failure(&out) || out.status.success());
}

#[test]
fn non_utf8_variables_are_errors_naming_the_variable() {
    use std::os::unix::ffi::OsStrExt;
    let bad = std::ffi::OsStr::from_bytes(&[0x66, 0xff, 0xfe]);
    let h = Home::new();
    for var in [
        "AWS_ENDPOINT_URL_STS",
        "MFACLI_TOTP_SECRET",
        "MFACLI_TOKEN_CODE",
    ] {
        let mut c = h.mfacli();
        if var == "MFACLI_TOKEN_CODE" {
            c.env_remove("MFACLI_TOTP_SECRET");
        }
        let out = c.env(var, bad).args(["env", "prod"]).output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{var}: {err}");
        assert!(
            err.contains(&format!("{var} is not valid UTF-8")),
            "{var}: {err}"
        );
        assert!(printed_only_a_failure(&out), "{}", stdout(&out));
    }
    assert_eq!(h.emu().count("GetSessionToken"), 0);
}

fn with_mfa_command(h: &Home, cmd: &str, timeout: Option<&str>) {
    let mut extra = format!("mfa_command = '{cmd}'\n");
    if let Some(t) = timeout {
        extra.push_str(&format!("mfa_command_timeout = \"{t}\"\n"));
    }
    h.write_config(&CONFIG.replace(
        "region = \"eu-west-1\"\n",
        &format!("region = \"eu-west-1\"\n{extra}"),
    ));
}

#[test]
fn mfa_command_is_bounded_in_time_and_output_and_never_echoed() {
    let h = Home::new();
    let pidfile = h.path().join("sleep.pid");
    // The group is killed, not just sh: the backgrounded sleep goes too.
    with_mfa_command(
        &h,
        &format!(
            "sleep 600 & echo $! > {}; wait # SEEDMARKER",
            pidfile.display()
        ),
        Some("1s"),
    );
    let start = Instant::now();
    let out = h
        .mfacli()
        .env_remove("MFACLI_TOTP_SECRET")
        .args(["-v", "env", "prod"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert!(err.contains("did not finish within 1s"), "{err}");
    assert!(
        !err.contains("SEEDMARKER") && !err.contains("sleep"),
        "{err}"
    );
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // Gone, or a zombie waiting for its new parent to reap it.
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = state
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .next();
    assert!(
        matches!(state, None | Some("Z")),
        "sleep {pid} still runs: {state:?}"
    );
    // The device lock is free: the next run gets on at once.
    let start = Instant::now();
    h.mfacli()
        .env_remove("MFACLI_TOTP_SECRET")
        .env("MFACLI_TOKEN_CODE", h.code(0))
        .args(["--lock-timeout", "2s", "env", "prod"])
        .assert()
        .success();
    assert!(start.elapsed() < Duration::from_secs(10));

    // Endless output: stopped at the cap, promptly, without growing.
    with_mfa_command(&h, "yes 123456 # SEEDMARKER", None);
    let start = Instant::now();
    let out = h
        .mfacli()
        .env_remove("MFACLI_TOTP_SECRET")
        .args(["-v", "--no-cache", "env", "staging"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert!(err.contains("printed more than 4096 bytes"), "{err}");
    assert!(!err.contains("SEEDMARKER") && !err.contains("yes"), "{err}");

    // A failing command: its text is not in the error either.
    with_mfa_command(&h, "echo SEEDMARKER >/dev/null; exit 3", None);
    let out = h
        .mfacli()
        .env_remove("MFACLI_TOTP_SECRET")
        .args(["-v", "--no-cache", "env", "audit"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(
        err.contains("mfa_command failed") && !err.contains("SEEDMARKER"),
        "{err}"
    );
}

#[test]
fn core_dumps_are_disabled_and_a_closed_stderr_does_not_abort() {
    let h = Home::new();
    // The mfa_command runs as mfacli's child: it reads mfacli's limits and
    // sees /proc/PID owned by root once mfacli is not dumpable.
    let report = h.path().join("report");
    with_mfa_command(
        &h,
        &format!(
            "grep \"Max core file size\" /proc/$PPID/limits > {r}; stat -c %u /proc/$PPID/status >> {r}; echo {code}",
            r = report.display(),
            code = "000000"
        ),
        None,
    );
    let mut c = h.command("sh");
    c.env_remove("MFACLI_TOTP_SECRET")
        .arg("-c")
        .arg("ulimit -c unlimited; exec \"$0\" env prod")
        .arg(env!("CARGO_BIN_EXE_mfacli"));
    let mut c = assert_cmd::Command::from_std(c);
    let _ = c.timeout(Duration::from_secs(60)).output().unwrap();
    let text = std::fs::read_to_string(&report).unwrap();
    let mut lines = text.lines();
    let core = lines.next().unwrap();
    assert!(
        core.split_whitespace().nth(4) == Some("0") && core.split_whitespace().nth(5) == Some("0"),
        "{core}"
    );
    assert_eq!(
        lines.next(),
        Some("0"),
        "/proc/PID owned by root: not dumpable"
    );
    // -v with stderr into a pipe that closes after one line.
    h.write_config(CONFIG);
    let mut c = h.command("bash");
    c.arg("-c")
        .arg("ulimit -c unlimited; \"$0\" -v env prod --refresh 2>&1 | head -1 >/dev/null; echo \"${PIPESTATUS[0]}\"")
        .arg(env!("CARGO_BIN_EXE_mfacli"));
    let mut c = assert_cmd::Command::from_std(c);
    let out = c.timeout(Duration::from_secs(60)).output().unwrap();
    let status = stdout(&out);
    assert!(
        status.trim() == "0" || status.trim() == "1",
        "exit {status}: {}",
        stderr(&out)
    );
    assert!(!h.path().join("core").exists());
}

/// The role's identity from AssumeRole is shown (`assume`, `console`): an
/// escape sequence in it never reaches the terminal.
#[test]
fn escape_sequences_in_the_assumed_role_arn_never_reach_the_terminal() {
    let h = Home::new();
    let rogue = RogueSts::start(
        good(),
        Creds {
            arn: "arn:aws:sts::222222222222:assumed-role/PowerUser/alice&#27;]0;pwned&#7;&#27;[2J&#13;&#10;FAKE".into(),
            ..good()
        },
    );
    let out = h
        .mfacli()
        .env("AWS_ENDPOINT_URL_STS", &rogue.url)
        .env_remove("MFACLI_TOTP_SECRET")
        .env("MFACLI_TOKEN_CODE", "123456")
        .args(["assume", "prod"])
        .output()
        .unwrap();
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(out.status.success(), "{all}");
    assert!(all.contains("assumed-role/PowerUser/alice"), "{all}");
    assert!(
        !all.chars().any(|c| c.is_control() && c != '\n') && !all.contains("pwned"),
        "{all:?}"
    );
    assert!(!all.lines().any(|l| l.starts_with("FAKE")), "{all:?}");
}
