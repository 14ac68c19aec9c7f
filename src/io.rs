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

/// Why what is written to stdout would reach nobody, if it would: stdout
/// is `/dev/null` (also what a closed stdout becomes at start-up), or a
/// pipe whose reader is gone. For output that must not be lost (a seed).
pub(crate) fn stdout_goes_nowhere() -> Option<&'static str> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let out = io::stdout();
    let fd = out.as_fd();
    let mut p = libc::pollfd {
        fd: std::os::fd::AsRawFd::as_raw_fd(&fd),
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no timeout.
    let polled = unsafe { libc::poll(&mut p, 1, 0) };
    if polled == 1 && p.revents & (libc::POLLERR | libc::POLLNVAL) != 0 {
        return Some("stdout is a pipe nobody reads, or closed");
    }
    let same =
        |a: &std::fs::Metadata, b: &std::fs::Metadata| a.dev() == b.dev() && a.ino() == b.ino();
    let stdout_meta = fd
        .try_clone_to_owned()
        .ok()
        .and_then(|f| std::fs::File::from(f).metadata().ok());
    match (stdout_meta, std::fs::metadata("/dev/null").ok()) {
        (Some(a), Some(b)) if same(&a, &b) => Some("stdout is /dev/null (or was closed)"),
        _ => None,
    }
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
