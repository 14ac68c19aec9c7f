//! Asking a person for the MFA code: on the terminal, or, for programs that
//! have none (an IDE running `credential_process`, a desktop app), in a
//! dialog (`[bastion] prompt`). The dialogs live in [`super::prompt_gui`].

use std::str::FromStr;

use crate::env::Env;
use crate::error::UserError;
use crate::mfa::prompt_gui;
use crate::types::{InvalidValue, MfaSerial, TokenCode};

/// Where to ask (`[bastion] prompt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PromptKind {
    Terminal,
    Zenity,
    Kdialog,
    Osascript,
}

impl PromptKind {
    pub(crate) const NAMES: [&'static str; 4] = ["terminal", "zenity", "kdialog", "osascript"];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Terminal => "terminal",
            Self::Zenity => "zenity",
            Self::Kdialog => "kdialog",
            Self::Osascript => "osascript",
        }
    }

    /// The dialog helpers, in the order the default tries them.
    const GUI: [PromptKind; 3] = [Self::Zenity, Self::Kdialog, Self::Osascript];
}

impl FromStr for PromptKind {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        match s {
            "terminal" => Ok(Self::Terminal),
            "zenity" => Ok(Self::Zenity),
            "kdialog" => Ok(Self::Kdialog),
            "osascript" => Ok(Self::Osascript),
            _ => Err(InvalidValue(format!(
                "`{s}` is not a prompt; use one of {}",
                Self::NAMES.join(", ")
            ))),
        }
    }
}

/// Asks for a code where `[bastion] prompt` says, or (unset) on the terminal
/// when there is one, else in the first dialog helper found on PATH.
/// `sources` lists the other code sources for the error when nothing can ask.
pub(crate) fn ask(
    serial: &MfaSerial,
    configured: Option<PromptKind>,
    env: &Env,
    sources: &str,
) -> Result<(TokenCode, &'static str), UserError> {
    let kind = match configured {
        Some(k) => k,
        None if terminal_exists() => PromptKind::Terminal,
        None => PromptKind::GUI
            .into_iter()
            .find(|k| prompt_gui::usable(*k, env))
            .ok_or_else(|| {
                UserError::new(
                    "an MFA code is needed, but there is no terminal to ask on and no dialog helper (zenity, kdialog, osascript) with a display",
                )
                .hint(format!("provide one through {sources}"))
            })?,
    };
    let code = match kind {
        PromptKind::Terminal => terminal(serial, None, sources)?,
        gui => prompt_gui::ask(gui, serial, env, prompt_gui::TIMEOUT)?,
    };
    Ok((code, kind.name()))
}

fn terminal_exists() -> bool {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .is_ok()
}

/// Prompts on the controlling terminal (/dev/tty, without echo; the
/// terminal is restored even on Ctrl-C, see [`super::tty`]), saying `why`
/// first if given. A malformed code is asked again, up to 3 times in all;
/// spaces inside (`123 456`, as authenticator apps show it) are fine.
/// Fails at once if there is no terminal, and cleanly at end of input.
pub(crate) fn terminal(
    serial: &MfaSerial,
    why: Option<&str>,
    sources: &str,
) -> Result<TokenCode, UserError> {
    let mut tty = super::tty::Tty::open().map_err(|_| {
        UserError::new("an MFA code is needed, but there is no terminal to ask on")
            .hint(format!("provide one through {sources}"))
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
                    "type the 6-digit code, or provide one through {sources}"
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
