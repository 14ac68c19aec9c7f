//! Messages on stderr: `-v` says what mfacli does and why, `-q` silences
//! everything but errors. Nothing here ever receives a secret.

use crate::env::Env;
use crate::io;

/// How much mfacli says on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) enum Level {
    /// Errors only (`-q`).
    Quiet,
    /// Warnings and notices a person should see.
    #[default]
    Normal,
    /// What mfacli does and why (`-v`).
    Verbose,
}

/// The stderr logger, cheap to copy into closures.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Log {
    /// The level chosen by `-q`/`-v`.
    pub(crate) level: Level,
    /// Colour codes, decided once: only on a terminal, never with NO_COLOR.
    pub(crate) color: bool,
}

impl Log {
    /// A logger whose colour follows the environment and stderr.
    pub(crate) fn new(level: Level, env: &Env) -> Self {
        Self {
            level,
            color: env.var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && io::stderr_is_terminal(),
        }
    }

    /// `-v` detail: cache hits and misses, code sources, STS calls.
    pub(crate) fn verbose(&self, msg: &str) {
        if self.level >= Level::Verbose {
            io::stderr_line(&format!("mfacli: {msg}"));
        }
    }

    /// Something the user should know even without `-v` (a wait, a warning).
    pub(crate) fn notice(&self, msg: &str) {
        if self.level >= Level::Normal {
            io::stderr_line(&format!("mfacli: {msg}"));
        }
    }

    /// A problem that does not stop the command.
    pub(crate) fn warn(&self, msg: &str) {
        if self.level >= Level::Normal {
            io::stderr_line(&format!("{}: {msg}", self.paint("mfacli: warning", "33")));
        }
    }

    /// An error that ends the command; shown even with `-q`.
    pub(crate) fn error(&self, msg: &str) {
        io::stderr_line(&format!("{}: {msg}", self.paint("mfacli: error", "31")));
    }

    /// `text` in the ANSI colour `ansi` when colour is on.
    pub(crate) fn paint(&self, text: &str, ansi: &str) -> String {
        if self.color {
            format!("\x1b[{ansi}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}
