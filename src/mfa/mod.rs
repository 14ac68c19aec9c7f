//! Where an MFA code comes from: flag, environment, TOTP seed, a command,
//! or the terminal (never stdout, so `eval "$(mfacli env …)"` works).

pub(crate) mod prompt;
mod prompt_gui;
pub mod totp;
pub(crate) mod tty;

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

const SOURCES_LIST: &str = "--token-code, $MFACLI_TOKEN_CODE, a TOTP seed (--totp-secret-env, $MFACLI_TOTP_SECRET, [bastion] totp_secret_env/totp_secret_file), [bastion] mfa_command, or a prompt ([bastion] prompt = terminal | zenity | kdialog | osascript)";

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
            });
        }
        if let Some(seed) = self.seed()? {
            let code = self.totp_code(&seed, serial, cache, clock, log)?;
            return Ok(Code {
                code,
                source: format!("TOTP seed from {}", seed.source),
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
        })
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
    use std::io::Read;
    use std::os::unix::process::CommandExt;
    let what = "[bastion] mfa_command";
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .process_group(0)
        .spawn()
        .map_err(|e| UserError::new(format!("{what} could not be started: {e}")))?;
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
    let deadline = std::time::Instant::now() + timeout;
    let mut output: Option<Vec<u8>> = None;
    let status = loop {
        if output.is_none() {
            if let Ok(r) = rx.try_recv() {
                let buf = r.unwrap_or_default();
                if buf.len() > MFA_COMMAND_MAX_OUTPUT {
                    kill_group(&mut child);
                    return Err(UserError::new(format!(
                        "{what} printed more than {MFA_COMMAND_MAX_OUTPUT} bytes; stopped it"
                    ))
                    .hint("the command must print the 6-digit code (its last output line must end with it)"));
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
            return Err(UserError::new(format!(
                "{what} did not finish within {}s; stopped it",
                timeout.as_secs()
            ))
            .hint("run it by hand to see why (is the hardware key plugged in and touched?), or raise [bastion] mfa_command_timeout"));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    if !status.success() {
        return Err(UserError::new(format!("{what} failed ({status})"))
            .hint("run it by hand to see why (is the hardware key plugged in?)"));
    }
    let out = output.unwrap_or_default();
    let text = String::from_utf8_lossy(&out);
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    // ykman prints just the code; some tools print "name  123456".
    let candidate = last.split_whitespace().last().unwrap_or("");
    candidate.parse().map_err(|_| {
        UserError::new(format!("{what} did not print a 6-digit code"))
            .hint("the command's last output line must end with the code")
    })
}

/// What [`Code::source`] says for a code typed on the terminal.
pub(crate) const PROMPT_SOURCE: &str = "terminal prompt";

/// Asks on the terminal (see [`prompt::terminal`]), saying `why` first:
/// for a typed code STS rejected.
pub(crate) fn prompt(serial: &MfaSerial, why: Option<&str>) -> Result<TokenCode, UserError> {
    prompt::terminal(serial, why, SOURCES_LIST)
}
