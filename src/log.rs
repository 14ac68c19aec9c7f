//! Messages on stderr: `-v` says what mfacli does and why, `-q` silences
//! everything but errors. Nothing here ever receives a secret.

use std::io::IsTerminal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Level {
    Quiet,
    #[default]
    Normal,
    Verbose,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Log {
    pub level: Level,
}

impl Log {
    pub fn new(level: Level) -> Self {
        Self { level }
    }

    /// `-v` detail: cache hits and misses, code sources, STS calls.
    pub fn verbose(&self, msg: &str) {
        if self.level >= Level::Verbose {
            eprintln!("mfacli: {msg}");
        }
    }

    /// Something the user should know even without `-v` (a wait, a warning).
    pub fn notice(&self, msg: &str) {
        if self.level >= Level::Normal {
            eprintln!("mfacli: {msg}");
        }
    }

    pub fn warn(&self, msg: &str) {
        if self.level >= Level::Normal {
            eprintln!("{}: {msg}", paint("mfacli: warning", "33"));
        }
    }
}

/// Colour only on a terminal and never with NO_COLOR.
pub fn color_enabled() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

pub fn paint(text: &str, ansi: &str) -> String {
    if color_enabled() {
        format!("\x1b[{ansi}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}
