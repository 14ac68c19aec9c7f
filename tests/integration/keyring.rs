//! `key_store = "keyring"`: the bastion key in a real Secret Service
//! (gnome-keyring-daemon on a private D-Bus session) and in the kernel
//! keyring, checked from outside with `secret-tool` and `/proc/keys`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::*;

const PASSWORD: &str = "keyring-test-password";

/// A private session bus with gnome-keyring-daemon's secrets component,
/// its login collection unlocked with [`PASSWORD`]. Stopped on drop.
struct SecretService {
    child: Child,
    address: String,
    home: PathBuf,
}

impl SecretService {
    /// `None` (a skip) where the tools are missing.
    fn start(home: &Path) -> Option<Self> {
        if !have("dbus-run-session") || !have("gnome-keyring-daemon") || !have("secret-tool") {
            return None;
        }
        let run = home.join("run");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        let addr_file = home.join("bus-address");
        let mut c = Command::new("dbus-run-session");
        c.args(["--", "sh", "-c"])
            .arg(
                "printf %s \"$PW\" | gnome-keyring-daemon --unlock --components=secrets >/dev/null \
                 && echo \"$DBUS_SESSION_BUS_ADDRESS\" > \"$ADDR_FILE\" && exec sleep 300",
            )
            .env("PW", PASSWORD)
            .env("ADDR_FILE", &addr_file)
            .env("HOME", home)
            .env("XDG_RUNTIME_DIR", &run)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut c, 0);
        let child = c.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let address = loop {
            if let Ok(a) = std::fs::read_to_string(&addr_file) {
                if !a.trim().is_empty() {
                    break a.trim().to_owned();
                }
            }
            assert!(
                Instant::now() < deadline,
                "gnome-keyring-daemon did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        Some(Self {
            child,
            address,
            home: home.to_owned(),
        })
    }

    /// A tool (`secret-tool`, `dbus-send`) on this bus.
    fn tool(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("HOME", &self.home);
        c
    }

    /// `secret-tool lookup service SERVICE username NAME`.
    fn lookup(&self, service: &str, name: &str) -> Option<String> {
        let o = self
            .tool("secret-tool")
            .args(["lookup", "service", service, "username", name])
            .output()
            .unwrap();
        (o.status.success() && !o.stdout.is_empty())
            .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
    }

    /// Locks every collection, as a screen lock does.
    fn lock_all(&self) {
        let o = self
            .tool("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service.Lock",
                "array:objpath:/org/freedesktop/secrets/collection/login",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        // SAFETY: signals our own process group.
        unsafe {
            libc::kill(-(self.child.id() as i32), libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

/// A HOME with no key in any file, on the Secret Service `ss`.
fn keyring_home() -> Home {
    Home::builder().credentials(None).build()
}

fn on_bus(c: &mut assert_cmd::Command, ss: &SecretService) {
    c.env("DBUS_SESSION_BUS_ADDRESS", &ss.address)
        .env("MFACLI_KEYRING", "secret-service");
}

fn key_lines() -> String {
    format!("{ALICE_KEY}\n{ALICE_SECRET}\n")
}

/// Every file under `dir` that holds `needle`.
fn files_holding(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    walk(dir, &mut |p| {
        if std::fs::read(p).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes())) {
            found.push(p.to_owned());
        }
    });
    found
}

#[test]
fn secret_service_holds_the_key_the_flow_works_and_a_hit_never_opens_it() {
    let h = keyring_home();
    let Some(ss) = SecretService::start(&h.path().join("desktop")) else {
        return;
    };
    let mut add = h.mfacli();
    on_bus(&mut add, &ss);
    let out = add
        .args(["keys", "add", "--profile", "bastion"])
        .write_stdin(key_lines())
        .assert()
        .success();
    let err = stderr(out.get_output());
    assert!(err.contains("stored the key of profile 'bastion'"), "{err}");
    assert!(err.contains("Secret Service"), "{err}");
    assert!(!err.contains(ALICE_SECRET), "{err}");
    let config = std::fs::read_to_string(h.config()).unwrap();
    assert!(config.contains("key_store = \"keyring\""), "{config}");
    // The backend is pinned: an SSH login without the bus still looks there.
    assert!(config.contains("keyring = \"secret-service\""), "{config}");
    // From outside: the entry is there under service mfacli, user bastion.
    let stored = ss
        .lookup("mfacli", "bastion")
        .expect("secret-tool finds the entry");
    assert!(
        stored.contains(ALICE_KEY) && stored.contains(ALICE_SECRET),
        "{stored}"
    );
    // A key STS refuses is not stored.
    let mut bad = h.mfacli();
    on_bus(&mut bad, &ss);
    let out = bad
        .args(["keys", "add", "--profile", "typo"])
        .write_stdin(format!("{ALICE_KEY}\nnot-the-secret-at-all-xxxx\n"))
        .assert()
        .failure();
    assert!(
        stderr(out.get_output()).contains("nothing stored"),
        "{}",
        stderr(out.get_output())
    );
    assert!(ss.lookup("mfacli", "typo").is_none());

    // The full flow, with no key in any file.
    assert!(!h.credentials().exists());
    let mut cp = h.mfacli();
    on_bus(&mut cp, &ss);
    let first = cp.args(["credential-process", "prod"]).assert().success();
    assert_eq!(h.counts(), (1, 1));
    // The MFA session is in the keyring, not in a file.
    assert!(ss.lookup("mfacli-session", "bastion").is_some());
    let cache = h.cache_dir();
    let sessions: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("session-") && n.ends_with(".json"))
        .collect();
    assert!(sessions.is_empty(), "{sessions:?}");
    assert!(files_holding(h.path(), ALICE_SECRET).is_empty());

    // The cache hit: with the bus gone, it still answers (it never opens the keyring).
    let mut hit = h.mfacli();
    hit.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .env("MFACLI_KEYRING", "secret-service");
    let second = hit.args(["credential-process", "prod"]).assert().success();
    assert_eq!(stdout(second.get_output()), stdout(first.get_output()));
    assert_eq!(h.counts(), (1, 1));

    // Another target: one AssumeRole through the keyring's session, no new code.
    let mut staging = h.mfacli();
    on_bus(&mut staging, &ss);
    staging
        .env_remove("MFACLI_TOTP_SECRET")
        .args(["credential-process", "staging"])
        .assert()
        .success();
    assert_eq!(h.counts(), (1, 2));

    let mut list = h.mfacli();
    on_bus(&mut list, &ss);
    let out = list
        .env("AWS_ENDPOINT_URL_IAM", h.emu().endpoint_url())
        .args(["keys", "list"])
        .assert()
        .success();
    let text = stdout(out.get_output());
    assert!(
        text.starts_with("bastion\tsecret-service\t****************E001\t"),
        "{text}"
    );

    let mut rm = h.mfacli();
    on_bus(&mut rm, &ss);
    rm.args(["keys", "remove", "--profile", "bastion"])
        .assert()
        .success();
    assert!(ss.lookup("mfacli", "bastion").is_none());
    assert!(ss.lookup("mfacli-session", "bastion").is_none());
    // Deleted: the next run that needs the key says how to store it again.
    let mut gone = h.mfacli();
    on_bus(&mut gone, &ss);
    let out = gone
        .args(["credential-process", "audit"])
        .assert()
        .failure();
    let err = stderr(out.get_output());
    assert!(err.contains("no key for profile 'bastion'"), "{err}");
    assert!(err.contains("mfacli keys add --profile bastion"), "{err}");
    assert!(err.lines().count() <= 4, "{err}");
}

#[test]
fn import_moves_the_key_out_of_the_file_and_leaves_no_plaintext_copy() {
    let original = format!(
        "# my bastion keys\r\n[ci]\naws_access_key_id = AKIAOTHER0000000XMPL\naws_secret_access_key = other/secret\n\n[bastion]\n# keep me\naws_access_key_id = {ALICE_KEY}\nregion = eu-west-1\naws_secret_access_key = {ALICE_SECRET}\noutput = json\n"
    );
    let h = Home::builder().credentials(Some(&original)).build();
    let tmp = h.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    // An earlier rotate's backup holds the secret too.
    std::fs::write(h.path().join(".aws/credentials.mfacli-bak"), &original).unwrap();
    let Some(ss) = SecretService::start(&h.path().join("desktop")) else {
        return;
    };
    let mut import = h.mfacli();
    on_bus(&mut import, &ss);
    let out = import
        .env("TMPDIR", &tmp)
        .args(["keys", "import", "--profile", "bastion"])
        .assert()
        .success();
    let err = stderr(out.get_output());
    assert!(err.contains("removed aws_access_key_id"), "{err}");
    let expected = original
        .replace(&format!("aws_access_key_id = {ALICE_KEY}\n"), "")
        .replace(&format!("aws_secret_access_key = {ALICE_SECRET}\n"), "");
    assert_eq!(
        std::fs::read(h.credentials()).unwrap(),
        expected.as_bytes(),
        "every other byte kept"
    );
    assert_eq!(mode(&h.credentials()) & 0o777, 0o600);
    // HOME holds TMPDIR too.
    let holding = files_holding(h.path(), ALICE_SECRET);
    assert!(holding.is_empty(), "plain-text copies: {holding:?}");
    assert!(ss
        .lookup("mfacli", "bastion")
        .is_some_and(|s| s.contains(ALICE_SECRET)));
    let mut cp = h.mfacli();
    on_bus(&mut cp, &ss);
    cp.args(["credential-process", "prod"]).assert().success();
}

#[test]
fn a_locked_collection_is_a_clear_error_within_the_timeout() {
    let h = keyring_home();
    let Some(ss) = SecretService::start(&h.path().join("desktop")) else {
        return;
    };
    let mut add = h.mfacli();
    on_bus(&mut add, &ss);
    add.args(["keys", "add"])
        .write_stdin(key_lines())
        .assert()
        .success();
    ss.lock_all();
    let mut cp = h.mfacli();
    on_bus(&mut cp, &ss);
    let started = Instant::now();
    let out = cp
        .args(["credential-process", "prod", "--lock-timeout", "3"])
        .assert()
        .failure();
    let took = started.elapsed();
    let err = stderr(out.get_output());
    assert!(took < Duration::from_secs(10), "took {took:?}: {err}");
    assert!(err.contains("Secret Service"), "{err}");
    assert!(err.contains("locked or the unlock was dismissed"), "{err}");
    assert!(err.contains("key_store = \"aws-files\""), "{err}");
    assert!(err.lines().count() <= 4, "one screen: {err}");
    assert_eq!(h.counts(), (0, 0));
}

/// keyctl is installed and the kernel lets this process use its keyrings
/// (a container's seccomp profile may not); else a skip.
pub(crate) fn kernel_keyring() -> bool {
    if !have("keyctl") {
        return false;
    }
    let ok = Command::new("keyctl")
        .args(["session", "-", "keyctl", "get_persistent", "@s"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        skip(
            "the kernel keyring is not usable here (`keyctl get_persistent` failed)",
            "a seccomp profile that allows keyctl",
        );
    }
    ok
}

/// A profile name of this test's own: the kernel keyring is shared by
/// every process of the user.
fn own_profile(what: &str) -> String {
    format!("kr-{what}-{}", std::process::id())
}

fn proc_keys_line(description: &str) -> Option<String> {
    std::fs::read_to_string("/proc/keys")
        .ok()?
        .lines()
        .find(|l| l.contains(&format!(" {description}:")) || l.ends_with(description))
        .map(str::to_owned)
}

#[test]
fn kernel_keyring_holds_key_and_session_and_another_terminal_reuses_it() {
    if !kernel_keyring() {
        return;
    }
    let profile = own_profile("flow");
    let h = Home::builder()
        .credentials(None)
        .config(Some(&CONFIG.replace(
            "profile = \"bastion\"",
            &format!("profile = \"{profile}\""),
        )))
        .env("MFACLI_KEYRING", "keyutils")
        .build();
    h.mfacli()
        .args(["keys", "add"])
        .write_stdin(key_lines())
        .assert()
        .success();
    // From outside, in a new session keyring (as a new SSH login has):
    // keyctl finds the key in the user's persistent keyring.
    let printed = in_new_session(&format!(
        "keyctl print $(keyctl search $(keyctl get_persistent @s) user mfacli:{profile})"
    ));
    assert!(printed.contains(ALICE_KEY), "{printed}");
    // Another user cannot read it, even knowing its id.
    let id = in_new_session(&format!(
        "keyctl search $(keyctl get_persistent @s) user mfacli:{profile}"
    ));
    // stdout first: the id, then keyctl's "Joined session keyring" line.
    let id = id.lines().next().unwrap_or_default().to_owned();
    assert!(id.trim().parse::<u32>().is_ok(), "{id}");
    let attacker = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "keyctl",
            "print",
        ])
        .arg(id.trim())
        .output()
        .unwrap();
    assert!(!attacker.status.success(), "{}", stdout(&attacker));
    assert!(!stdout(&attacker).contains(ALICE_SECRET));
    let key_line = proc_keys_line(&format!("mfacli:{profile}")).expect("in /proc/keys");
    assert!(
        key_line.split_whitespace().nth(3) == Some("perm"),
        "{key_line}"
    );

    h.mfacli()
        .args(["credential-process", "prod"])
        .assert()
        .success();
    assert_eq!(h.counts(), (1, 1));
    // The session entry expires with the session (12 h), in kernel memory.
    let session =
        proc_keys_line(&format!("mfacli-session:{profile}")).expect("session in /proc/keys");
    let timeout = session.split_whitespace().nth(3).unwrap().to_owned();
    assert!(timeout == "11h" || timeout == "12h", "{session}");

    // Another terminal: a new login session, no code source; the session serves it.
    let mut other = h.command("keyctl");
    other
        .args(["session", "-"])
        .arg(env!("CARGO_BIN_EXE_mfacli"))
        .args(["credential-process", "staging"])
        .env_remove("MFACLI_TOTP_SECRET");
    let o = output_bounded(
        other
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
        "mfacli in a new session",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(h.counts(), (1, 2));
    assert!(files_holding(h.path(), ALICE_SECRET).is_empty());

    // clear --all drops the session entry too: the next run needs a code.
    let out = h.mfacli().args(["clear", "--all"]).assert().success();
    assert!(
        stderr(out.get_output()).contains("removed the MFA session"),
        "{}",
        stderr(out.get_output())
    );
    let gone = in_new_session(&format!(
        "keyctl search $(keyctl get_persistent @s) user mfacli-session:{profile} || echo gone"
    ));
    assert!(gone.contains("gone"), "{gone}");

    h.mfacli().args(["keys", "remove"]).assert().success();
    let gone = in_new_session(&format!(
        "keyctl search $(keyctl get_persistent @s) user mfacli:{profile} || echo gone"
    ));
    assert!(gone.contains("gone"), "{gone}");
}

/// A shell script in a new session keyring; its stdout and stderr.
fn in_new_session(script: &str) -> String {
    let o = Command::new("keyctl")
        .args(["session", "-", "sh", "-c", script])
        .output()
        .unwrap();
    format!("{}{}", stdout(&o), stderr(&o))
}

#[test]
fn rotate_with_the_keyring_stores_the_new_key_there_and_keeps_the_session() {
    use crate::self_service::{home, keys_of, m, old_key_at_sts};
    let h = home();
    let Some(ss) = SecretService::start(&h.path().join("desktop")) else {
        return;
    };
    let mut import = m(&h);
    on_bus(&mut import, &ss);
    import.args(["keys", "import"]).assert().success();
    let mut cp = m(&h);
    on_bus(&mut cp, &ss);
    cp.args(["credential-process", "prod"]).assert().success();
    assert_eq!(h.counts(), (1, 1));

    let mut rotate = m(&h);
    on_bus(&mut rotate, &ss);
    let out = rotate.args(["rotate", "--yes"]).assert().success();
    let err = stderr(out.get_output());
    let keys = keys_of(&h);
    assert_eq!(keys.len(), 1, "{keys:?}");
    let new = keys[0].0.clone();
    assert_ne!(new, ALICE_KEY);
    assert!(err.contains(&format!("stored the new key {new}")), "{err}");
    // The keyring holds the new key; the file still holds none; STS refuses the old one.
    let stored = ss.lookup("mfacli", "bastion").unwrap();
    assert!(
        stored.contains(&new) && !stored.contains(ALICE_KEY),
        "{stored}"
    );
    assert!(!std::fs::read_to_string(h.credentials())
        .unwrap()
        .contains("aws_access_key_id"));
    assert_eq!(old_key_at_sts(&h).as_deref(), Some("InvalidClientTokenId"));
    // The MFA session moved to the new key: another target, no new code.
    let mut staging = m(&h);
    on_bus(&mut staging, &ss);
    staging
        .env_remove("MFACLI_TOTP_SECRET")
        .args(["credential-process", "staging"])
        .assert()
        .success();
    assert_eq!(h.emu().count("GetSessionToken"), 1);
    // keys list: the masked new key and its age, from IAM through the session.
    let mut list = m(&h);
    on_bus(&mut list, &ss);
    let out = list.args(["keys", "list"]).assert().success();
    let masked = format!("{}{}", "*".repeat(new.len() - 4), &new[new.len() - 4..]);
    assert_eq!(
        stdout(out.get_output()),
        format!("bastion\tsecret-service\t{masked}\tcreated 0 days ago\n")
    );
}

#[test]
fn no_keyring_at_all_is_a_clear_error_naming_the_backend() {
    let config = CONFIG.replace("[bastion]\n", "[bastion]\nkey_store = \"keyring\"\n");
    let h = Home::builder()
        .credentials(None)
        .config(Some(&config))
        .build();
    let bus = format!("unix:path={}", h.path().join("no-bus").display());
    for (backend, says) in [
        (
            "secret-service",
            "the Secret Service (D-Bus): no such keyring is running",
        ),
        (
            "keychain",
            "the macOS Keychain is not available on this platform",
        ),
    ] {
        let started = Instant::now();
        let out = h
            .mfacli()
            .env("DBUS_SESSION_BUS_ADDRESS", &bus)
            .env("MFACLI_KEYRING", backend)
            .args(["credential-process", "prod"])
            .assert()
            .code(1);
        let err = stderr(out.get_output());
        assert!(started.elapsed() < Duration::from_secs(5), "{err}");
        assert!(err.contains(says), "{err}");
        assert!(
            err.contains("MFACLI_KEYRING") && err.contains("aws-files"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 2, "{err}");
    }
    // A backend name that does not exist names the variable and the choices.
    let out = h
        .mfacli()
        .env("MFACLI_KEYRING", "kwallet")
        .args(["credential-process", "prod"])
        .assert()
        .code(1);
    let err = stderr(out.get_output());
    assert!(
        err.contains("$MFACLI_KEYRING: `kwallet` is not a keyring backend"),
        "{err}"
    );
    assert_eq!(h.counts(), (0, 0));
}

#[test]
fn doctor_says_where_the_keys_live_and_warns_on_a_plain_text_key() {
    let h = Home::new();
    let Some(ss) = SecretService::start(&h.path().join("desktop")) else {
        return;
    };
    let doctor = || {
        let mut d = h.mfacli();
        on_bus(&mut d, &ss);
        stdout(&d.arg("doctor").output().unwrap())
    };
    let before = doctor();
    let warn = before
        .lines()
        .skip_while(|l| !l.starts_with("warn   plain-text key"))
        .take(2)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        warn.contains("while the Secret Service (D-Bus) is usable"),
        "{before}"
    );
    assert!(
        before.contains("mfacli keys import --profile bastion"),
        "{before}"
    );

    let mut import = h.mfacli();
    on_bus(&mut import, &ss);
    import.args(["keys", "import"]).assert().success();
    let after = doctor();
    assert!(
        after.contains("bastion keys: profile 'bastion' in the Secret Service (D-Bus) (access key AKIA…E001; key_store = \"keyring\")"),
        "{after}"
    );
    assert!(!after.contains("plain-text key"), "{after}");
    assert!(after.contains("ok     sts"), "{after}");

    // doctor finds the role credentials where the chain cached them (keyed
    // by the profile, not the key id, with the key in the keyring).
    let mut env = h.mfacli();
    on_bus(&mut env, &ss);
    env.args(["env", "prod"]).assert().success();
    let cached = doctor();
    let prod = cached
        .lines()
        .find(|l| l.contains("target prod:"))
        .unwrap_or_default();
    assert!(prod.contains("cached credentials, "), "{cached}");
}
