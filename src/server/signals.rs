//! Signals for a parent that stays: `exec --server` forwards SIGINT,
//! SIGTERM, SIGHUP and SIGWINCH to its child and waits for it; `serve`
//! stops on SIGINT/SIGTERM. The signals are blocked in every thread (call
//! [`block`] before starting any) and taken synchronously with
//! `sigwaitinfo`, so no handler runs and the process sleeps until one
//! arrives. Children start with an empty mask (std resets it).

use std::io;
use std::process::{Child, ExitStatus};

/// The signals forwarded to an `exec` child.
pub(crate) const FORWARDED: [i32; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGWINCH];

fn set_of(signals: &[i32]) -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise and fill a local set.
    unsafe {
        let mut set = std::mem::zeroed::<libc::sigset_t>();
        libc::sigemptyset(&mut set);
        for &s in signals {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}

fn all() -> Vec<i32> {
    let mut v = FORWARDED.to_vec();
    v.push(libc::SIGCHLD);
    v
}

/// Blocks the forwarded signals and SIGCHLD in this thread and every
/// thread started after it.
pub(crate) fn block() -> io::Result<()> {
    let set = set_of(&all());
    // SAFETY: a valid set; the old mask is not needed.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(())
}

/// Waits for one of `signals` (blocked beforehand); returns its number and
/// whether a process sent it (`kill`), rather than the kernel (a terminal's
/// ^C or resize, which the child's process group got as well).
fn wait(signals: &[i32]) -> io::Result<(i32, bool)> {
    let set = set_of(signals);
    loop {
        // SAFETY: a valid set and a zeroed siginfo for the kernel to fill.
        let (rc, info) = unsafe {
            let mut info = std::mem::zeroed::<libc::siginfo_t>();
            let rc = libc::sigwaitinfo(&set, &mut info);
            (rc, info)
        };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        // SI_USER (kill), SI_QUEUE, SI_TKILL are <= 0; the kernel's > 0.
        return Ok((rc, info.si_code <= 0));
    }
}

/// Waits for the child, forwarding signals to it; returns its status. A
/// signal from the terminal (same process group as the child) is not sent
/// twice: programs like terraform treat a second ^C as "abort now".
pub(crate) fn forward_until_exit(child: &mut Child) -> io::Result<ExitStatus> {
    let pid = child.id() as libc::pid_t;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        let (sig, from_process) = wait(&all())?;
        if sig != libc::SIGCHLD && from_process {
            // SAFETY: kill(2) with our child's pid; a child that is gone
            // already is reaped on the next turn.
            unsafe {
                libc::kill(pid, sig);
            }
        }
    }
}

/// Waits for SIGINT, SIGTERM or SIGHUP (blocked beforehand by [`block`]).
pub(crate) fn wait_for_stop() -> io::Result<i32> {
    loop {
        let (sig, _) = wait(&all())?;
        if [libc::SIGINT, libc::SIGTERM, libc::SIGHUP].contains(&sig) {
            return Ok(sig);
        }
    }
}

/// The shell's convention: the exit code, or 128 + the signal that killed it.
pub(crate) fn exit_code(status: ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => (c & 0xff) as u8,
        (None, Some(s)) => (128 + s).clamp(0, 255) as u8,
        _ => 1,
    }
}

/// Runs `f` (startup work that may prompt for an MFA code) on a helper
/// thread while this thread watches for SIGINT/SIGTERM/SIGHUP, which
/// [`block`] holds back: one of them ends the process by that signal, as
/// it would have without the blocking.
pub(crate) fn interruptible<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    let stop = set_of(&[libc::SIGINT, libc::SIGTERM, libc::SIGHUP]);
    std::thread::scope(|s| {
        let h = s.spawn(f);
        loop {
            if h.is_finished() {
                return h.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            }
            let timeout = libc::timespec {
                tv_sec: 0,
                tv_nsec: 100_000_000,
            };
            // SAFETY: valid set and timeout; no siginfo wanted.
            let sig = unsafe { libc::sigtimedwait(&stop, std::ptr::null_mut(), &timeout) };
            if sig > 0 {
                die_by(sig);
            }
        }
    })
}

/// Ends the process by `sig` with its default action.
fn die_by(sig: i32) -> ! {
    // SAFETY: restoring the default action and unblocking delivers the
    // signal to this thread, which then terminates the process.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        let set = set_of(&[sig]);
        libc::raise(sig);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
    }
    std::process::exit(128 + sig)
}
