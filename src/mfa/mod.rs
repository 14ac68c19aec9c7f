//! Where an MFA code comes from: flag, environment, TOTP seed, a command,
//! or the terminal (never stdout, so `eval "$(mfacli env …)"` works).

pub(crate) mod prompt;
mod prompt_gui;
pub mod totp;
pub(crate) mod tty;
mod yubikey;

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::cache::Cache;
use crate::clock::Clock;
use crate::config::BastionConfig;
use crate::env::Env;
use crate::error::UserError;
use crate::log::Log;
use crate::mfa::totp::{find_seed, ReplayGuard, Seed};
use crate::types::{MfaSerial, TokenCode};

pub(crate) const TOKEN_CODE_ENV: &str = "MFACLI_TOKEN_CODE";

/// A code plus what produced it (for `--verbose`, and to know whether a
/// rejected code can be retried with the next TOTP step).
pub(crate) struct Code {
    pub(crate) code: TokenCode,
    pub(crate) source: String,
    /// The MFA device the code is for, when not the one asked for (one of
    /// several YubiKeys: the one plugged in).
    pub(crate) device: Option<MfaSerial>,
}

/// A TOTP device this run can take codes from.
pub(crate) struct TotpDevice {
    pub(crate) serial: MfaSerial,
    pub(crate) seed: Seed,
}

/// The configured code sources, in order of preference.
pub(crate) struct CodeSources<'a> {
    pub(crate) env: &'a Env,
    pub(crate) flag: Option<TokenCode>,
    pub(crate) totp_flag_env: Option<&'a str>,
    pub(crate) bastion: &'a BastionConfig,
    pub(crate) non_interactive: bool,
}

const SOURCES_LIST: &str = "--token-code, $MFACLI_TOKEN_CODE, a TOTP seed (--totp-secret-env, $MFACLI_TOTP_SECRET, [bastion] totp_secret_env/totp_secret_file), a YubiKey ([bastion] yubikey_oath), [bastion] mfa_command, or a prompt ([bastion] prompt = terminal | zenity | kdialog | osascript)";

impl CodeSources<'_> {
    /// Gets one code. A TOTP code is taken through the replay guard, whose
    /// lock the caller must hold (see [`ReplayGuard::lock_name`]).
    pub(crate) fn obtain(
        &self,
        serial: &MfaSerial,
        cache: &Cache,
        clock: &dyn Clock,
        log: &Log,
    ) -> Result<Code, UserError> {
        if let Some(code) = &self.flag {
            return Ok(Code {
                code: code.clone(),
                source: "--token-code".into(),
                device: None,
            });
        }
        if let Some(v) = self.env.text(TOKEN_CODE_ENV)? {
            let code = v.parse().map_err(|e| {
                UserError::new(format!("${TOKEN_CODE_ENV}: {e}"))
                    .hint("set it to the 6-digit code your MFA device shows")
            })?;
            return Ok(Code {
                code,
                source: format!("${TOKEN_CODE_ENV}"),
                device: None,
            });
        }
        if let Some(seed) = self.seed()? {
            let code = self.totp_code(&seed, serial, cache, clock, log)?;
            return Ok(Code {
                code,
                source: format!("TOTP seed from {}", seed.source),
                device: None,
            });
        }
        let yubikeys = self.yubikeys(serial);
        if !yubikeys.is_empty() {
            let timeout = self
                .bastion
                .yubikey_timeout
                .map_or(yubikey::YKMAN_TIMEOUT, |d| {
                    Duration::from_secs(d.secs().into())
                });
            let (device, code, source) = yubikey::code(&yubikeys, timeout, log, cache, clock)?;
            return Ok(Code {
                code,
                source,
                device: Some(device),
            });
        }
        if let Some(cmd) = &self.bastion.mfa_command {
            let timeout = self
                .bastion
                .mfa_command_timeout
                .map_or(MFA_COMMAND_TIMEOUT, |d| {
                    Duration::from_secs(d.secs().into())
                });
            log.verbose("running [bastion] mfa_command for the MFA code");
            return run_mfa_command(cmd, timeout).map(|code| Code {
                code,
                source: "[bastion] mfa_command".into(),
                device: None,
            });
        }
        if self.non_interactive {
            return Err(UserError::new(
                "an MFA code is needed, and --non-interactive forbids prompting",
            )
            .hint(format!("provide one through {SOURCES_LIST}")));
        }
        prompt::ask(serial, self.bastion.prompt, self.env, SOURCES_LIST).map(|(code, how)| Code {
            code,
            source: format!("{how} prompt"),
            device: None,
        })
    }

    /// The YubiKey OATH accounts to read a code from, in order: `[bastion]
    /// yubikey_oath` for `primary`, then each `[[bastion.mfa_devices]]`
    /// entry with `yubikey_oath`.
    fn yubikeys(&self, primary: &MfaSerial) -> Vec<(MfaSerial, crate::config::YubikeyAccount)> {
        let mut out: Vec<(MfaSerial, crate::config::YubikeyAccount)> = Vec::new();
        if let Some(a) = &self.bastion.yubikey_oath {
            out.push((primary.clone(), a.clone()));
        }
        for d in &self.bastion.yubikey_devices {
            if !out.iter().any(|(s, _)| *s == d.serial) {
                out.push((d.serial.clone(), d.account.clone()));
            }
        }
        out
    }

    /// Whether a fixed code (flag or `$MFACLI_TOKEN_CODE`) is given; it
    /// wins over every seed.
    pub(crate) fn fixed_code_given(&self) -> Result<bool, UserError> {
        Ok(self.flag.is_some() || self.env.text(TOKEN_CODE_ENV)?.is_some())
    }

    /// The TOTP devices to take codes from, or `None` if codes come from
    /// elsewhere. A seed from the flag or `$MFACLI_TOTP_SECRET` is for
    /// `primary` alone; otherwise `primary` (with the `[bastion]` seed, if
    /// one is set) and every `[[bastion.mfa_devices]]` entry.
    pub(crate) fn totp_devices(
        &self,
        primary: &MfaSerial,
    ) -> Result<Option<Vec<TotpDevice>>, UserError> {
        if self.fixed_code_given()? {
            return Ok(None);
        }
        let overriding = self.totp_flag_env.is_some() || self.env.text(totp::SEED_ENV)?.is_some();
        let mut devices = Vec::new();
        if let Some(seed) = self.seed()? {
            devices.push(TotpDevice {
                serial: primary.clone(),
                seed,
            });
            if overriding {
                return Ok(Some(devices));
            }
        }
        for d in &self.bastion.mfa_devices {
            if devices.iter().any(|x| x.serial == d.serial) {
                continue;
            }
            devices.push(TotpDevice {
                serial: d.serial.clone(),
                seed: totp::device_seed(self.env, d)?,
            });
        }
        Ok((!devices.is_empty()).then_some(devices))
    }

    pub(crate) fn seed(&self) -> Result<Option<Seed>, UserError> {
        find_seed(self.env, self.totp_flag_env, self.bastion)
    }

    /// The next unused TOTP code; waits (and says why) if this step's code
    /// was already sent.
    pub(crate) fn totp_code(
        &self,
        seed: &Seed,
        serial: &MfaSerial,
        cache: &Cache,
        clock: &dyn Clock,
        log: &Log,
    ) -> Result<TokenCode, UserError> {
        ReplayGuard::new(cache, serial).take_code(seed, clock, |secs| {
            log.notice(&format!(
                "waiting {secs}s for the next TOTP code: this step's code was already sent to STS, and AWS rejects a reused code"
            ))
        })
    }
}

/// How long `mfa_command` may run by default.
pub(crate) const MFA_COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// The most `mfa_command` may print: a code is 6 digits.
pub(crate) const MFA_COMMAND_MAX_OUTPUT: usize = 4096;

/// Runs `mfa_command` with `sh -c` in its own process group, stdin from
/// /dev/null, stdout read up to [`MFA_COMMAND_MAX_OUTPUT`] bytes, killed
/// (the whole group) after `timeout` or once it prints too much. The
/// command text never appears in a message: it may hold a seed.
fn run_mfa_command(cmd: &str, timeout: Duration) -> Result<TokenCode, UserError> {
    let what = "[bastion] mfa_command";
    let mut command = Command::new("sh");
    command.arg("-c").arg(cmd).stderr(Stdio::inherit());
    let run = run_code_command(
        command,
        what,
        timeout,
        "run it by hand to see why (is the hardware key plugged in and touched?), or raise [bastion] mfa_command_timeout",
        |_| {},
    )
    .map_err(|e| match e {
        CommandError::Start(e) => UserError::new(format!("{what} could not be started: {e}")),
        CommandError::User(e) | CommandError::Timeout(e) => e,
    })?;
    if !run.status.success() {
        return Err(UserError::new(format!("{what} failed ({})", run.status))
            .hint("run it by hand to see why (is the hardware key plugged in?)"));
    }
    last_code(&run.stdout).ok_or_else(|| {
        UserError::new(format!("{what} did not print a 6-digit code"))
            .hint("the command's last output line must end with the code")
    })
}

/// The code at the end of a command's last non-empty output line (ykman
/// prints just the code; some tools print "name  123456").
pub(crate) fn last_code(out: &[u8]) -> Option<TokenCode> {
    let text = String::from_utf8_lossy(out);
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    last.split_whitespace().last().unwrap_or("").parse().ok()
}

/// How a code command ended.
pub(crate) struct CommandRun {
    pub(crate) status: std::process::ExitStatus,
    pub(crate) stdout: Vec<u8>,
}

/// Why a code command gave no output.
pub(crate) enum CommandError {
    /// It could not be started (not installed, not executable).
    Start(std::io::Error),
    /// It was stopped: too much output.
    User(UserError),
    /// It was stopped: it did not finish in time.
    Timeout(UserError),
}

/// Runs a command that prints an MFA code: its own process group, stdin
/// from /dev/null, stdout read up to [`MFA_COMMAND_MAX_OUTPUT`] bytes, the
/// whole group killed after `timeout` or once it prints too much.
/// `waiting` is called with the time elapsed while it runs (about every
/// 10 ms), e.g. to tell the user it waits for a touch.
pub(crate) fn run_code_command(
    mut command: Command,
    what: &str,
    timeout: Duration,
    timeout_hint: &str,
    mut waiting: impl FnMut(Duration),
) -> Result<CommandRun, CommandError> {
    use std::io::Read;
    use std::os::unix::process::CommandExt;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(CommandError::Start)?;
    let pgid = child.id() as libc::pid_t;
    let kill_group = |child: &mut std::process::Child| {
        // SAFETY: signals the process group we created; no memory involved.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = child.wait();
    };
    let mut stdout = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let r = Read::by_ref(&mut stdout)
            .take(MFA_COMMAND_MAX_OUTPUT as u64 + 1)
            .read_to_end(&mut buf);
        let _ = tx.send(r.map(|_| buf));
    });
    let started = std::time::Instant::now();
    let deadline = started + timeout;
    let mut output: Option<Vec<u8>> = None;
    let status = loop {
        if output.is_none() {
            if let Ok(r) = rx.try_recv() {
                let buf = r.unwrap_or_default();
                if buf.len() > MFA_COMMAND_MAX_OUTPUT {
                    kill_group(&mut child);
                    return Err(CommandError::User(UserError::new(format!(
                        "{what} printed more than {MFA_COMMAND_MAX_OUTPUT} bytes; stopped it"
                    ))
                    .hint("the command must print the 6-digit code (its last output line must end with it)")));
                }
                output = Some(buf);
            }
        }
        if output.is_some() {
            if let Some(status) = child.try_wait().ok().flatten() {
                break status;
            }
        }
        if std::time::Instant::now() >= deadline {
            kill_group(&mut child);
            return Err(CommandError::Timeout(
                UserError::new(format!(
                    "{what} did not finish within {}s; stopped it",
                    timeout.as_secs()
                ))
                .hint(timeout_hint),
            ));
        }
        waiting(started.elapsed());
        std::thread::sleep(Duration::from_millis(10));
    };
    Ok(CommandRun {
        status,
        stdout: output.unwrap_or_default(),
    })
}

/// What [`Code::source`] says for a code typed on the terminal.
pub(crate) const PROMPT_SOURCE: &str = "terminal prompt";

/// Asks on the terminal (see [`prompt::terminal`]), saying `why` first:
/// for a typed code STS rejected.
pub(crate) fn prompt(serial: &MfaSerial, why: Option<&str>) -> Result<TokenCode, UserError> {
    prompt::terminal(serial, why, SOURCES_LIST)
}
