//! The one output edge: every byte mfacli writes to stdout or stderr goes
//! through here (enforced by clippy's `print_stdout`/`print_stderr` lints).
//! A closed stdout (`mfacli … | head -c 1`) is a quiet, successful exit,
//! as in ripgrep; a closed stderr is ignored; neither ever panics.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{self, IsTerminal, Write};

/// Writes `text` to stdout and flushes. A broken pipe comes back as an
/// error that [`is_broken_pipe`] recognises, so the caller stops at once.
pub(crate) fn stdout(text: &str) -> io::Result<()> {
    stdout_bytes(text.as_bytes())
}

/// Like [`stdout`], for bytes.
pub(crate) fn stdout_bytes(bytes: &[u8]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

/// One line on stderr. Errors (a closed stderr) are ignored: there is
/// nowhere left to report them.
pub(crate) fn stderr_line(line: &str) {
    let mut err = io::stderr().lock();
    let _ = err.write_all(line.as_bytes());
    let _ = err.write_all(b"\n");
    let _ = err.flush();
}

/// Whether stdout is a terminal (a person reading, not `eval` or a pipe).
pub(crate) fn stdout_is_terminal() -> bool {
    io::stdout().is_terminal()
}

/// Whether stderr is a terminal (colour, progress).
pub(crate) fn stderr_is_terminal() -> bool {
    io::stderr().is_terminal()
}

/// Whether an error is, anywhere in its chain, a write to a closed pipe.
pub(crate) fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn broken_pipe_is_found_through_context() {
        let e: anyhow::Error = Err::<(), _>(io::Error::from(io::ErrorKind::BrokenPipe))
            .context("writing the man page")
            .unwrap_err();
        assert!(is_broken_pipe(&e));
        let other = anyhow::anyhow!("something else");
        assert!(!is_broken_pipe(&other));
    }
}
