//! `[bastion] yubikey_oath`: codes from `ykman oath accounts code --single
//! ACCOUNT`, with a fake `ykman` on PATH that holds the accounts' seeds,
//! computes the code of the time it starts (as a YubiKey does for ykman's
//! challenge) and blocks until the key is "touched" (the test creates
//! `$HOME/touched`). The user
//! is told to touch it: on the terminal (a real pty, through tmux), else as
//! a desktop notification (a fake notification server on a private session
//! bus records it), else on stderr. A key never touched times out with a
//! clear error; with several devices, the plugged-in key's device is used.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::terminal::Tmux;
use crate::util::*;
use sts_emulator::demo::ALICE_EXTRA_DEVICES;
use sts_emulator::{Emulator, World};

/// Answers for the accounts in `$HOME/yk-accounts` (lines "ACCOUNT
/// SEED"); "No matching account" (exit 1) for others, as ykman does.
const FAKE_YKMAN: &str = r#"#!/usr/bin/python3
import base64, hmac, os, struct, sys, time
home = os.environ["HOME"]
with open(home + "/ykman.calls", "a") as f:
    f.write(" ".join(sys.argv[1:]) + "\n")
if sys.argv[1:5] != ["oath", "accounts", "code", "--single"] or len(sys.argv) != 6:
    sys.exit("Usage: ykman [OPTIONS] COMMAND")
seeds = dict(l.split() for l in open(home + "/yk-accounts") if l.strip())
if sys.argv[5] not in seeds:
    sys.exit("Error: No matching account found.")
key = base64.b32decode(seeds[sys.argv[5]])
mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), "sha1").digest()
o = mac[-1] & 15
code = (struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1000000
print("Touch your YubiKey...", file=sys.stderr)
for _ in range(1200):  # gives up after 60 s, so no test leaves it behind
    if os.path.exists(home + "/touched"):
        print("%06d" % code)
        sys.exit(0)
    time.sleep(0.05)
sys.exit(1)
"#;

fn config(extra: &str) -> String {
    format!(
        "[bastion]\nprofile = \"bastion\"\nmfa_serial = \"{SERIAL}\"\nregion = \"eu-west-1\"\n{extra}\n\
         [targets.prod]\nrole_arn = \"arn:aws:iam::222222222222:role/PowerUser\"\n"
    )
}

/// A HOME whose codes come only from the fake ykman (no seed, no code).
fn yubikey_home(
    world: World,
    bastion_extra: &str,
    accounts: &[(&str, &str)],
) -> (Home, tempfile::TempDir) {
    let bin = tempfile::tempdir().unwrap();
    let ykman = bin.path().join("ykman");
    std::fs::write(&ykman, FAKE_YKMAN).unwrap();
    std::fs::set_permissions(&ykman, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let h = Home::builder()
        .emulator(Emulator::start(world).unwrap())
        .config(Some(&config(bastion_extra)))
        .code(None)
        .path_dir(bin.path())
        .build();
    let lines: String = accounts.iter().map(|(a, s)| format!("{a} {s}\n")).collect();
    std::fs::write(h.path().join("yk-accounts"), lines).unwrap();
    (h, bin)
}

/// Touches the key (for good: later reads need no touch).
fn touch(h: &Home) {
    std::fs::write(h.path().join("touched"), "").unwrap();
}

/// mfacli without a controlling terminal (a new session), as under an
/// IDE's credential_process.
fn detached(h: &Home, args: &[&str]) -> Command {
    let mut c = h.command("setsid");
    c.arg("--wait")
        .arg(env!("CARGO_BIN_EXE_mfacli"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn wait_for_file(path: &Path, what: &str) -> String {
    let start = Instant::now();
    loop {
        if let Ok(t) = std::fs::read_to_string(path) {
            if !t.is_empty() {
                return t;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "waited 20 s for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn touch_cue_on_the_terminal_appears_then_is_erased() {
    let (h, bin) = yubikey_home(
        World::demo(),
        "yubikey_oath = \"AWS:alice\"",
        &[("AWS:alice", SEED)],
    );
    // Tmux puts VENV/bin on PATH: the fake ykman's directory.
    let fake_venv = bin
        .path()
        .parent()
        .unwrap()
        .join(format!("yk-{}", std::process::id()));
    std::fs::create_dir_all(&fake_venv).unwrap();
    let link = fake_venv.join("bin");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(bin.path(), &link).unwrap();
    let Some(t) = Tmux::start(&h, "bash", Some(&fake_venv)) else {
        return;
    };
    t.type_line("mfacli env prod > /dev/null; echo \"exit=$?\"");
    let screen = t.wait_for("Touch your YubiKey… (mfacli needs the MFA code of 'AWS:alice')");
    assert!(
        !screen.contains("exit=0") && !screen.contains("exit=1"),
        "still waiting:\n{screen}"
    );
    touch(&h);
    let screen = t.wait_for("exit=0");
    assert!(
        !screen.contains("Touch your YubiKey"),
        "the cue is erased:\n{screen}"
    );
    assert_eq!(h.counts(), (1, 1));
    let _ = std::fs::remove_dir_all(fake_venv);
}

/// A fake org.freedesktop.Notifications server: writes the session bus
/// address to argv[1] once it owns the name, and each notification as one
/// JSON line to argv[2].
const NOTIFICATION_SERVER: &str = r#"
import json, os, sys
import dbus, dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

DBusGMainLoop(set_as_default=True)
bus = dbus.SessionBus()
name = dbus.service.BusName("org.freedesktop.Notifications", bus)

class Server(dbus.service.Object):
    @dbus.service.method("org.freedesktop.Notifications", in_signature="susssasa{sv}i", out_signature="u")
    def Notify(self, app, replaces, icon, summary, body, actions, hints, timeout):
        with open(sys.argv[2], "a") as f:
            f.write(json.dumps({"app": str(app), "summary": str(summary), "body": str(body), "timeout": int(timeout)}) + "\n")
        return 1

    @dbus.service.method("org.freedesktop.Notifications", out_signature="as")
    def GetCapabilities(self):
        return ["body"]

    @dbus.service.method("org.freedesktop.Notifications", out_signature="ssss")
    def GetServerInformation(self):
        return ("fake", "mfacli-tests", "1", "1.2")

    @dbus.service.method("org.freedesktop.Notifications", in_signature="u")
    def CloseNotification(self, id):
        pass

Server(bus, "/org/freedesktop/Notifications")
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(os.environ["DBUS_SESSION_BUS_ADDRESS"])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
GLib.MainLoop().run()
"#;

/// A process group of our own (dbus-run-session, its bus and server),
/// killed whole on drop.
struct Killed(std::process::Child);
impl Drop for Killed {
    fn drop(&mut self) {
        // SAFETY: signals the process group this test created.
        unsafe {
            libc::kill(-(self.0.id() as libc::pid_t), libc::SIGKILL);
        }
        let _ = self.0.wait();
    }
}

#[test]
fn without_a_terminal_the_cue_is_a_desktop_notification() {
    if !have("dbus-run-session") || !have("notify-send") || !have("setsid") {
        return;
    }
    let python = PathBuf::from("/usr/bin/python3");
    let ok = Command::new(&python)
        .args(["-c", "import dbus, gi"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        skip(
            "python3-dbus / python3-gi are not installed",
            ".ci/run installs them",
        );
        return;
    }
    let (h, _bin) = yubikey_home(
        World::demo(),
        "yubikey_oath = \"AWS:alice\"\nyubikey_timeout = \"20s\"",
        &[("AWS:alice", SEED)],
    );
    let server = h.path().join("server.py");
    std::fs::write(&server, NOTIFICATION_SERVER).unwrap();
    let address = h.path().join("bus-address");
    let shown = h.path().join("notifications");
    let _bus = Killed(
        Command::new("dbus-run-session")
            .arg("--")
            .arg(&python)
            .arg(&server)
            .arg(&address)
            .arg(&shown)
            .stdin(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap(),
    );
    let address = wait_for_file(&address, "the notification server");
    let child = detached(&h, &["credential-process", "prod"])
        .env("DBUS_SESSION_BUS_ADDRESS", address.trim())
        .spawn()
        .unwrap();
    let line = wait_for_file(&shown, "the notification");
    let n = json(line.lines().next().unwrap());
    assert_eq!(n["app"], "mfacli");
    assert_eq!(n["summary"], "Touch your YubiKey");
    assert!(n["body"].as_str().unwrap().contains("'AWS:alice'"), "{n}");
    assert_eq!(n["timeout"], 20_000, "it expires with the wait");
    touch(&h);
    let o = output_bounded(child, "credential-process prod");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(json(&stdout(&o))["Version"], 1);
    assert!(
        !stderr(&o).contains("Touch"),
        "notified, not on stderr: {}",
        stderr(&o)
    );
}

#[test]
fn with_neither_terminal_nor_notifications_stderr_says_touch() {
    if !have("setsid") {
        return;
    }
    let (h, _bin) = yubikey_home(
        World::demo(),
        "yubikey_oath = \"AWS:alice\"",
        &[("AWS:alice", SEED)],
    );
    // No session bus: notify-send (if installed) fails.
    let child = detached(&h, &["env", "prod"])
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
        .spawn()
        .unwrap();
    wait_for_file(&h.path().join("ykman.calls"), "ykman");
    std::thread::sleep(Duration::from_millis(1500));
    touch(&h);
    let o = output_bounded(child, "env prod");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("Touch your YubiKey… (mfacli needs the MFA code of 'AWS:alice') (no terminal, and no desktop notification could be shown)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn an_untouched_key_times_out_with_a_clear_error() {
    if !have("setsid") {
        return;
    }
    let (h, bin) = yubikey_home(
        World::demo(),
        "yubikey_oath = \"AWS:alice\"\nyubikey_timeout = \"1s\"",
        &[("AWS:alice", SEED)],
    );
    let started = Instant::now();
    let o = output_bounded(
        detached(&h, &["credential-process", "prod"])
            .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
            .spawn()
            .unwrap(),
        "credential-process prod",
    );
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains(
            "ykman (YubiKey OATH account 'AWS:alice') did not finish within 1s; stopped it"
        ),
        "{err}"
    );
    assert!(err.contains("raise [bastion] yubikey_timeout"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(h.counts(), (0, 0), "no STS call");
    // ykman's process group was killed: nothing still waits for a touch.
    std::thread::sleep(Duration::from_millis(300));
    let ps = Command::new("pgrep")
        .args(["-f", &bin.path().join("ykman").display().to_string()])
        .output()
        .unwrap();
    assert!(ps.stdout.is_empty(), "a fake ykman is still running");
}

#[test]
fn with_several_devices_the_plugged_in_key_answers_for_its_own_device() {
    let (serial2, seed2) = ALICE_EXTRA_DEVICES[0];
    let (h, _bin) = yubikey_home(
        World::demo_with_mfa_devices(2),
        &format!(
            "yubikey_oath = \"AWS:alice\"\n\n[[bastion.mfa_devices]]\nserial = \"{serial2}\"\nyubikey_oath = \"AWS:alice-2\"\n"
        ),
        &[("AWS:alice-2", seed2)],
    );
    // Already touched (or a key without touch): no cue at all.
    touch(&h);
    let o = h
        .mfacli()
        .args(["-v", "credential-process", "prod"])
        .assert()
        .success();
    let err = stderr(o.get_output());
    let calls = std::fs::read_to_string(h.path().join("ykman.calls")).unwrap();
    assert_eq!(
        calls,
        "oath accounts code --single AWS:alice\noath accounts code --single AWS:alice-2\n"
    );
    assert!(
        err.contains("MFA code from YubiKey OATH account 'AWS:alice-2'"),
        "{err}"
    );
    assert!(!err.contains("Touch"), "{err}");
    assert_eq!(h.counts(), (1, 1));
    // Neither key's account: one error naming both.
    std::fs::write(h.path().join("yk-accounts"), format!("AWS:bob {seed2}\n")).unwrap();
    let o = h
        .mfacli()
        .args(["--refresh", "--no-cache", "credential-process", "prod"])
        .assert()
        .code(1);
    let err = stderr(o.get_output());
    assert!(
        err.contains("no YubiKey gave a code for any of the OATH accounts AWS:alice, AWS:alice-2"),
        "{err}"
    );
    assert!(err.contains("ykman oath accounts list"), "{err}");
}

/// A key's code is recorded as sent: a second code needed in the same
/// 30 s step (a role over 1 h right after a new MFA session) waits for the
/// key's next code instead of sending the same one, which AWS rejects.
#[test]
fn a_second_code_in_the_same_step_waits_for_the_next_one() {
    let (h, _bin) = yubikey_home(
        World::demo(),
        "yubikey_oath = \"AWS:alice\"",
        &[("AWS:alice", SEED)],
    );
    let config = std::fs::read_to_string(h.config()).unwrap();
    h.write_config(&format!(
        "{config}\n[targets.long]\nrole_arn = \"arn:aws:iam::222222222222:role/PowerUser\"\nduration = \"2h\"\n"
    ));
    // Start early in a step, so both runs fall in it.
    while h.emu().now().timestamp() % 30 > 15 {
        std::thread::sleep(Duration::from_millis(200));
    }
    touch(&h);
    h.mfacli().args(["env", "prod"]).assert().success();
    let o = h.mfacli().args(["env", "long"]).assert().success();
    let err = stderr(o.get_output());
    assert!(
        err.contains("for the YubiKey's next code: this step's code was already sent"),
        "{err}"
    );
    assert_eq!(h.counts(), (1, 2));
}
