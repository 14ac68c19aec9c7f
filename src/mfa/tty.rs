//! Reading an MFA code from the controlling terminal without echo, and
//! always giving the terminal back: a Ctrl-C (or SIGTERM, SIGHUP, SIGQUIT)
//! at the prompt restores the saved terminal settings before the process
//! dies of that signal, so the shell sees 130 for Ctrl-C and `stty` shows
//! echo back on. (rpassword restores only on a normal return: a Ctrl-C left
//! the terminal with echo off.)

use std::cell::UnsafeCell;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicI32, Ordering};

/// The terminal's settings before the prompt, for the signal handler.
struct Saved(UnsafeCell<Option<libc::termios>>);

// SAFETY: written only while TTY_FD is -1 (disarmed), read only by the
// signal handler while armed; one prompt at a time.
unsafe impl Sync for Saved {}

static SAVED: Saved = Saved(UnsafeCell::new(None));
/// The terminal's fd while a prompt is reading; -1 otherwise.
static TTY_FD: AtomicI32 = AtomicI32::new(-1);

const SIGNALS: [libc::c_int; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

extern "C" fn on_signal(sig: libc::c_int) {
    let fd = TTY_FD.swap(-1, Ordering::SeqCst);
    if fd >= 0 {
        // SAFETY: tcsetattr and write are async-signal-safe; SAVED was set
        // before TTY_FD was armed.
        unsafe {
            if let Some(t) = &*SAVED.0.get() {
                libc::tcsetattr(fd, libc::TCSANOW, t);
            }
            libc::write(fd, b"\n".as_ptr().cast(), 1);
        }
    }
    // SA_RESETHAND put the default action back: die of the signal, so the
    // shell sees it (exit status 128 + sig, 130 for Ctrl-C) and a script
    // stops, as it would for any program interrupted.
    // SAFETY: raise is async-signal-safe.
    unsafe {
        libc::raise(sig);
    }
}

/// Installs the handlers; returns the previous actions.
fn arm(fd: i32, saved: libc::termios) -> Vec<(libc::c_int, libc::sigaction)> {
    // SAFETY: disarmed (TTY_FD == -1), so no handler reads SAVED now.
    unsafe {
        *SAVED.0.get() = Some(saved);
    }
    TTY_FD.store(fd, Ordering::SeqCst);
    let mut old = Vec::new();
    for sig in SIGNALS {
        // SAFETY: a zeroed sigaction is valid; the handler is extern "C".
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            sa.sa_flags = libc::SA_RESETHAND;
            libc::sigemptyset(&mut sa.sa_mask);
            let mut prev: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, &sa, &mut prev) == 0 {
                old.push((sig, prev));
            }
        }
    }
    old
}

fn disarm(old: Vec<(libc::c_int, libc::sigaction)>) {
    TTY_FD.store(-1, Ordering::SeqCst);
    for (sig, prev) in old {
        // SAFETY: restoring what sigaction returned.
        unsafe {
            libc::sigaction(sig, &prev, std::ptr::null_mut());
        }
    }
}

/// The controlling terminal, opened for reading and writing.
pub(crate) struct Tty(File);

impl Tty {
    pub(crate) fn open() -> io::Result<Self> {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .map(Tty)
    }

    /// Writes a message to the terminal.
    pub(crate) fn say(&mut self, text: &str) {
        let _ = self.0.write_all(text.as_bytes());
        let _ = self.0.flush();
    }

    /// Shows `prompt` and reads one line with echo off. `None` at end of
    /// input (Ctrl-D on an empty line).
    pub(crate) fn read_hidden(&mut self, prompt: &str) -> io::Result<Option<String>> {
        let fd = self.0.as_raw_fd();
        // SAFETY: a zeroed termios is valid for tcgetattr to fill.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: fd is open for the lifetime of self.
        let is_tty = unsafe { libc::tcgetattr(fd, &mut saved) } == 0;
        let old = if is_tty {
            let mut quiet = saved;
            quiet.c_lflag &= !libc::ECHO;
            quiet.c_lflag |= libc::ECHONL | libc::ICANON | libc::ISIG;
            let old = arm(fd, saved);
            // SAFETY: as above.
            unsafe {
                libc::tcsetattr(fd, libc::TCSANOW, &quiet);
            }
            Some(old)
        } else {
            None
        };
        // The prompt only once the handlers are armed: a Ctrl-C as soon as
        // it shows must find them.
        self.say(prompt);
        let line = self.read_line();
        if is_tty && matches!(line, Ok(None)) {
            // Ctrl-D echoes nothing: end the prompt's line, so the error
            // that follows starts on a line of its own.
            self.say("\n");
        }
        if let Some(old) = old {
            // SAFETY: as above.
            unsafe {
                libc::tcsetattr(fd, libc::TCSANOW, &saved);
            }
            disarm(old);
        }
        line
    }

    /// Shows `prompt` and reads one line with echo on (a value that is not
    /// secret, like an access key id).
    pub(crate) fn read_shown(&mut self, prompt: &str) -> io::Result<Option<String>> {
        self.say(prompt);
        self.read_line()
    }

    fn read_line(&mut self) -> io::Result<Option<String>> {
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            match self.0.read(&mut byte) {
                Ok(0) if line.is_empty() => return Ok(None),
                Ok(0) => break,
                Ok(_) if byte[0] == b'\n' => break,
                Ok(_) => line.push(byte[0]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            if line.len() > 256 {
                break;
            }
        }
        Ok(Some(String::from_utf8_lossy(&line).into_owned()))
    }
}
