//! Codes from a YubiKey's OATH applet: `ykman oath accounts code --single
//! ACCOUNT`. An account that needs a touch makes ykman block until the key
//! is touched, so mfacli says so: on the terminal when there is one (a line
//! on /dev/tty, erased once the code is read), otherwise as a desktop
//! notification (`notify-send`, `osascript`), and as a last resort on
//! stderr. Never silently: under `credential_process` in an IDE nobody
//! sees a terminal, and the AWS call would just hang.

use std::fs::File;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::cache::Cache;
use crate::clock::Clock;
use crate::config::YubikeyAccount;
use crate::error::UserError;
use crate::log::Log;
use crate::mfa::totp::{step_of, ReplayGuard, STEP_SECS};
use crate::mfa::{last_code, run_code_command, CommandError};
use crate::types::{MfaSerial, TokenCode};

/// How long ykman may wait for a touch by default.
pub(crate) const YKMAN_TIMEOUT: Duration = Duration::from_secs(30);
/// ykman answers at once for an account without touch; a cue only after
/// this long, so such accounts never flash a line or a notification.
const CUE_AFTER: Duration = Duration::from_millis(400);
/// How long a notification helper may take.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(5);

/// What the user was shown while ykman waited.
enum Cue {
    /// A line on the terminal, to erase afterwards.
    Tty(File),
    /// A desktop notification (it expires by itself).
    Notified,
    /// A line on stderr.
    Stderr,
}

/// The code of the first device whose account the plugged-in YubiKey
/// holds, tried in order; `devices` is never empty. Returns the device
/// (its serial goes to STS with the code) and the code.
/// Like a TOTP seed, a key's code is recorded as sent (per device, in the
/// replay guard), and a step already sent is waited out: AWS accepts a
/// code once, and a direct AssumeRole right after a new MFA session would
/// otherwise send the same code twice.
pub(crate) fn code(
    devices: &[(MfaSerial, YubikeyAccount)],
    timeout: Duration,
    log: &Log,
    cache: &Cache,
    clock: &dyn Clock,
) -> Result<(MfaSerial, TokenCode, String), UserError> {
    let mut last = None;
    for (serial, account) in devices {
        let guard = ReplayGuard::new(cache, serial);
        let step = unsent_step(&guard, clock, log);
        log.verbose(&format!(
            "reading the YubiKey OATH code of '{}' for {serial} (ykman)",
            account.as_str()
        ));
        match one(account, timeout, log) {
            Ok(code) => {
                // ykman asks the key for the code of the time it started at.
                guard.record(step)?;
                return Ok((
                    serial.clone(),
                    code,
                    format!("YubiKey OATH account '{}'", account.as_str()),
                ));
            }
            // A missing account (another device's key is plugged in) or
            // a failed read: the next device may do. A timeout means the
            // key is there but was not touched: asking the next one would
            // only make the user wait again.
            Err((e, timed_out)) => {
                if timed_out || devices.len() == 1 {
                    return Err(e);
                }
                log.verbose(&format!("{}; trying the next device", e.message));
                last = Some(e);
            }
        }
    }
    let names: Vec<&str> = devices.iter().map(|(_, a)| a.as_str()).collect();
    let mut e = last.unwrap_or_else(|| UserError::new("no YubiKey OATH account configured"));
    e.message = format!(
        "no YubiKey gave a code for any of the OATH accounts {} (last: {})",
        names.join(", "),
        e.message
    );
    Err(e)
}

/// The current TOTP step, after waiting for the next one if this machine
/// already sent this step's code for the device.
fn unsent_step(guard: &ReplayGuard<'_>, clock: &dyn Clock, log: &Log) -> u64 {
    let now = clock.now().timestamp().max(0) as u64;
    let step = step_of(now);
    // A record far ahead came from a clock that ran ahead: not honoured
    // (as for seeds), so no run waits forever.
    match guard.last_step().filter(|&l| l >= step && l <= step + 1) {
        Some(last) => {
            let wait = ((last + 1) * STEP_SECS).saturating_sub(now).max(1);
            log.notice(&format!(
                "waiting {wait}s for the YubiKey's next code: this step's code was already sent to STS, and AWS rejects a reused code"
            ));
            clock.sleep(Duration::from_secs(wait));
            step_of(clock.now().timestamp().max(0) as u64).max(last + 1)
        }
        None => step,
    }
}

/// One `ykman` run; the bool says whether it timed out.
fn one(
    account: &YubikeyAccount,
    timeout: Duration,
    log: &Log,
) -> Result<TokenCode, (UserError, bool)> {
    let what = format!("ykman (YubiKey OATH account '{}')", account.as_str());
    let mut command = Command::new("ykman");
    command
        .args(["oath", "accounts", "code", "--single", account.as_str()])
        // ykman's own "Touch your YubiKey" would reach no one under a
        // credential process, and clutter a terminal: mfacli gives the cue.
        .stderr(Stdio::null());
    let mut cue: Option<Cue> = None;
    let run = run_code_command(
        command,
        &what,
        timeout,
        "touch the YubiKey when mfacli asks (the key blinks), check that it is plugged in, or raise [bastion] yubikey_timeout",
        |elapsed| {
            if cue.is_none() && elapsed >= CUE_AFTER {
                cue = Some(show(account, timeout, log));
            }
        },
    );
    if let Some(c) = cue {
        clear(c);
    }
    let run = run.map_err(|e| match e {
        CommandError::Start(e) if e.kind() == std::io::ErrorKind::NotFound => (
            UserError::new("[bastion] yubikey_oath needs `ykman`, which is not on PATH").hint(
                "install YubiKey Manager (apt install yubikey-manager, brew install ykman, or pipx install yubikey-manager)",
            ),
            false,
        ),
        CommandError::Start(e) => (UserError::new(format!("{what} could not be started: {e}")), false),
        CommandError::Timeout(e) => (e, true),
        CommandError::User(e) => (e, false),
    })?;
    if !run.status.success() {
        return Err((
            UserError::new(format!("{what} failed ({})", run.status)).hint(format!(
                "check the name with `ykman oath accounts list` (is '{}' there?) and that the YubiKey is plugged in",
                account.as_str()
            )),
            false,
        ));
    }
    last_code(&run.stdout).ok_or_else(|| {
        (
            UserError::new(format!("{what} did not print a 6-digit code")).hint(
                "is the account a TOTP account with 6 digits? `ykman oath accounts list` shows it",
            ),
            false,
        )
    })
}

fn message(account: &YubikeyAccount) -> String {
    format!(
        "Touch your YubiKey… (mfacli needs the MFA code of '{}')",
        account.as_str()
    )
}

/// Tells the user to touch the key: the terminal, else a notification,
/// else stderr.
fn show(account: &YubikeyAccount, timeout: Duration, log: &Log) -> Cue {
    use std::os::unix::fs::OpenOptionsExt;
    if let Ok(mut tty) = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open("/dev/tty")
    {
        if tty.write_all(message(account).as_bytes()).is_ok() {
            let _ = tty.flush();
            return Cue::Tty(tty);
        }
    }
    if notify(account, timeout) {
        log.verbose("no terminal: asked for the touch with a desktop notification");
        return Cue::Notified;
    }
    log.warn(&format!(
        "{} (no terminal, and no desktop notification could be shown)",
        message(account)
    ));
    Cue::Stderr
}

/// Erases the terminal line; a notification expires by itself.
fn clear(cue: Cue) {
    if let Cue::Tty(mut tty) = cue {
        let _ = tty.write_all(b"\r\x1b[K");
        let _ = tty.flush();
    }
}

/// A desktop notification; whether the helper said it was shown.
fn notify(account: &YubikeyAccount, timeout: Duration) -> bool {
    let body = format!(
        "mfacli needs the MFA code of '{}' for AWS. Touch the key within {}s.",
        account.as_str(),
        timeout.as_secs()
    );
    let mut cmd = if cfg!(target_os = "macos") {
        let mut c = Command::new("osascript");
        // The text goes in as an argument, never into the script.
        c.args([
            "-e",
            "on run argv",
            "-e",
            "display notification (item 1 of argv) with title \"Touch your YubiKey\"",
            "-e",
            "end run",
            &body,
        ]);
        c
    } else {
        let mut c = Command::new("notify-send");
        c.args([
            "--app-name=mfacli",
            "--icon=dialog-password",
            &format!("--expire-time={}", timeout.as_millis()),
            "Touch your YubiKey",
            &body,
        ]);
        c
    };
    let Ok(child) = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        return false;
    };
    wait_success(child, NOTIFY_TIMEOUT)
}

/// Waits up to `limit` for `child`; a child still running is killed.
fn wait_success(mut child: std::process::Child, limit: Duration) -> bool {
    let deadline = std::time::Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
        }
    }
}
