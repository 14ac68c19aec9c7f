//! Asking a person for the MFA code: on the terminal, or, for programs that
//! have none (an IDE running `credential_process`, a desktop app), in a
//! dialog (`[bastion] prompt`). The dialogs live in [`super::prompt_gui`].

use std::io::Write;
use std::str::FromStr;

use crate::env::Env;
use crate::error::UserError;
use crate::mfa::prompt_gui;
use crate::types::{InvalidValue, MfaSerial, TokenCode};

/// Where to ask (`[bastion] prompt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    Terminal,
    Zenity,
    Kdialog,
    Osascript,
}

impl PromptKind {
    pub const NAMES: [&'static str; 4] = ["terminal", "zenity", "kdialog", "osascript"];

    pub fn name(self) -> &'static str {
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
pub fn ask(
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
        PromptKind::Terminal => terminal(serial, sources)?,
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

/// Prompts on the controlling terminal (rpassword reads and writes
/// /dev/tty, without echo). Fails at once if there is no terminal.
pub fn terminal(serial: &MfaSerial, sources: &str) -> Result<TokenCode, UserError> {
    let mut tty = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/tty")
        .map_err(|_| {
            UserError::new("an MFA code is needed, but there is no terminal to ask on")
                .hint(format!("provide one through {sources}"))
        })?;
    for attempt in 0..3 {
        let line = rpassword::prompt_password(format!("MFA code for {serial}: ")).map_err(|e| {
            UserError::new(format!("cannot read the MFA code from the terminal: {e}"))
        })?;
        match line.trim().parse::<TokenCode>() {
            Ok(code) => return Ok(code),
            Err(e) if attempt < 2 => {
                let _ = writeln!(tty, "{e}; try again");
            }
            Err(e) => return Err(UserError::new(format!("MFA code: {e}"))),
        }
    }
    unreachable!("the loop returns on its last attempt")
}
