//! Where an MFA code comes from: flag, environment, TOTP seed, a command,
//! or the terminal (never stdout, so `eval "$(mfacli env …)"` works).

pub mod totp;
pub mod tty;

use std::process::{Command, Stdio};

use crate::cache::Cache;
use crate::clock::Clock;
use crate::config::BastionConfig;
use crate::env::Env;
use crate::error::UserError;
use crate::log::Log;
use crate::mfa::totp::{find_seed, ReplayGuard, Seed};
use crate::types::{MfaSerial, TokenCode};

pub const TOKEN_CODE_ENV: &str = "MFACLI_TOKEN_CODE";

/// A code plus what produced it (for `--verbose`, and to know whether a
/// rejected code can be retried with the next TOTP step).
pub struct Code {
    pub code: TokenCode,
    pub source: String,
    pub from_totp: bool,
}

/// The configured code sources, in order of preference.
pub struct CodeSources<'a> {
    pub env: &'a Env,
    pub flag: Option<TokenCode>,
    pub totp_flag_env: Option<&'a str>,
    pub bastion: &'a BastionConfig,
    pub non_interactive: bool,
}

const SOURCES_LIST: &str = "--token-code, $MFACLI_TOKEN_CODE, a TOTP seed (--totp-secret-env, $MFACLI_TOTP_SECRET, [bastion] totp_secret_env/totp_secret_file), [bastion] mfa_command, or a terminal prompt";

impl CodeSources<'_> {
    /// Gets one code. A TOTP code is taken through the replay guard, whose
    /// lock the caller must hold (see [`ReplayGuard::lock_name`]).
    pub fn obtain(
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
                from_totp: false,
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
                from_totp: false,
            });
        }
        if let Some(seed) = self.seed()? {
            let code = self.totp_code(&seed, serial, cache, clock, log)?;
            return Ok(Code {
                code,
                source: format!("TOTP seed from {}", seed.source),
                from_totp: true,
            });
        }
        if let Some(cmd) = &self.bastion.mfa_command {
            return run_mfa_command(cmd).map(|code| Code {
                code,
                source: "[bastion] mfa_command".into(),
                from_totp: false,
            });
        }
        if self.non_interactive {
            return Err(UserError::new(
                "an MFA code is needed, and --non-interactive forbids prompting",
            )
            .hint(format!("provide one through {SOURCES_LIST}")));
        }
        prompt(serial, None).map(|code| Code {
            code,
            source: PROMPT_SOURCE.into(),
            from_totp: false,
        })
    }

    pub fn seed(&self) -> Result<Option<Seed>, UserError> {
        find_seed(self.env, self.totp_flag_env, self.bastion)
    }

    /// The next unused TOTP code; waits (and says why) if this step's code
    /// was already sent.
    pub fn totp_code(
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

fn run_mfa_command(cmd: &str) -> Result<TokenCode, UserError> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| UserError::new(format!("[bastion] mfa_command could not be started: {e}")))?;
    if !out.status.success() {
        return Err(UserError::new(format!(
            "[bastion] mfa_command `{cmd}` failed ({})",
            out.status
        ))
        .hint("run it by hand to see why (is the hardware key plugged in?)"));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    // ykman prints just the code; some tools print "name  123456".
    let candidate = last.split_whitespace().last().unwrap_or("");
    candidate.parse().map_err(|_| {
        UserError::new(format!(
            "[bastion] mfa_command `{cmd}` did not print a 6-digit code"
        ))
        .hint("the command's last output line must end with the code")
    })
}

/// What [`Code::source`] says for a typed code.
pub const PROMPT_SOURCE: &str = "terminal prompt";

/// Prompts on the controlling terminal (/dev/tty, without echo; the
/// terminal is restored even on Ctrl-C, see [`tty`]). A malformed code is
/// asked again, up to 3 times in all; spaces inside (`123 456`, as
/// authenticator apps show it) are fine. Fails at once if there is no
/// terminal, and cleanly at end of input (Ctrl-D).
pub fn prompt(serial: &MfaSerial, why: Option<&str>) -> Result<TokenCode, UserError> {
    let mut tty = tty::Tty::open().map_err(|_| {
        UserError::new("an MFA code is needed, but there is no terminal to ask on")
            .hint(format!("provide one through {SOURCES_LIST}"))
    })?;
    if let Some(why) = why {
        tty.say(&format!("{why}\n"));
    }
    for attempt in 0..3 {
        let line = tty
            .read_hidden(&format!("MFA code for {serial}: "))
            .map_err(|e| {
                UserError::new(format!("cannot read the MFA code from the terminal: {e}"))
            })?
            .ok_or_else(|| {
                UserError::new("no MFA code entered (end of input at the prompt)").hint(format!(
                    "type the 6-digit code, or provide one through {SOURCES_LIST}"
                ))
            })?;
        match line.parse::<TokenCode>() {
            Ok(code) => return Ok(code),
            Err(e) if attempt < 2 => tty.say(&format!("{e}; try again\n")),
            Err(e) => return Err(UserError::new(format!("MFA code: {e} (3 attempts)"))),
        }
    }
    unreachable!("the loop returns on its last attempt")
}
