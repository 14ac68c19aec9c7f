//! Signals for a parent that stays: `exec --server` forwards SIGINT,
//! SIGTERM, SIGHUP and SIGWINCH to its child and waits for it; `serve`
//! stops on SIGINT/SIGTERM. The signals are blocked in every thread (call
//! [`block`] before starting any) and taken synchronously (`sigwaitinfo`
//! on Linux, POSIX `sigwait` elsewhere: macOS has neither `sigwaitinfo`
//! nor `sigtimedwait`), so no handler runs and the process sleeps until
//! one arrives. Children start with an empty mask (std resets it).

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
    if cfg!(not(target_os = "linux")) {
        keep_pending(&[libc::SIGCHLD, libc::SIGWINCH])?;
    }
    Ok(())
}

extern "C" fn never_runs(_: libc::c_int) {}

/// macOS and the BSDs discard a signal whose default action is to ignore
/// it (SIGCHLD, SIGWINCH) at once, blocked or not, so `sigwait` would
/// never see the child's exit. A handler makes them pend; it never runs
/// (the signals stay blocked and are taken by `sigwait`), and `exec`
/// gives the child the default action back. An inherited SIG_IGN stays.
fn keep_pending(signals: &[i32]) -> io::Result<()> {
    for &sig in signals {
        // SAFETY: sigaction reads into and from zeroed, filled locals; the
        // handler is an extern "C" fn that does nothing.
        unsafe {
            let mut old = std::mem::zeroed::<libc::sigaction>();
            if libc::sigaction(sig, std::ptr::null(), &mut old) != 0 {
                return Err(io::Error::last_os_error());
            }
            if old.sa_sigaction != libc::SIG_DFL {
                continue;
            }
            let mut sa = std::mem::zeroed::<libc::sigaction>();
            sa.sa_sigaction = never_runs as extern "C" fn(libc::c_int) as usize;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            if libc::sigaction(sig, &sa, std::ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
    }
    Ok(())
}

/// Waits for one of `signals` (blocked beforehand); returns its number and
/// whether a process sent it (`kill`), rather than the kernel (a terminal's
/// ^C or resize, which the child's process group got as well).
#[cfg(target_os = "linux")]
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

/// The portable [`wait`]: `sigwait` tells no sender, so a signal that the
/// terminal sends to its foreground process group counts as the
/// terminal's while that group is ours (the child's too), and as a
/// process's otherwise. Built and unit-tested on Linux as well.
#[cfg(not(target_os = "linux"))]
fn wait(signals: &[i32]) -> io::Result<(i32, bool)> {
    let sig = sigwait(signals)?;
    Ok((sig, !terminal_may_have_sent(sig)))
}

#[cfg_attr(target_os = "linux", allow(dead_code))]
fn sigwait(signals: &[i32]) -> io::Result<i32> {
    let set = set_of(signals);
    loop {
        let mut sig = 0;
        // SAFETY: a valid set and an int for the signal number.
        let rc = unsafe { libc::sigwait(&set, &mut sig) };
        match rc {
            0 => return Ok(sig),
            libc::EINTR => continue,
            e => return Err(io::Error::from_raw_os_error(e)),
        }
    }
}

/// ^C and a window resize go to the terminal's foreground process group;
/// with no controlling terminal, or in the background, they came from a
/// process.
#[cfg_attr(target_os = "linux", allow(dead_code))]
fn terminal_may_have_sent(sig: i32) -> bool {
    use std::os::fd::AsRawFd;
    if sig != libc::SIGINT && sig != libc::SIGWINCH {
        return false;
    }
    let Ok(tty) = std::fs::File::open("/dev/tty") else {
        return false;
    };
    // SAFETY: an open descriptor; both calls only read process state.
    unsafe { libc::tcgetpgrp(tty.as_raw_fd()) == libc::getpgrp() }
}

/// The first of `signals` pending (blocked, not yet taken) for this thread
/// or the process, if any.
fn pending(signals: &[i32]) -> Option<i32> {
    // SAFETY: sigpending fills a local set; sigismember reads it.
    unsafe {
        let mut set = std::mem::zeroed::<libc::sigset_t>();
        if libc::sigpending(&mut set) != 0 {
            return None;
        }
        signals
            .iter()
            .copied()
            .find(|&s| libc::sigismember(&set, s) == 1)
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
    const STOP: [i32; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];
    let me = std::thread::current();
    std::thread::scope(|s| {
        let h = s.spawn(move || {
            let r = f();
            me.unpark();
            r
        });
        loop {
            if h.is_finished() {
                return h.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            }
            // Polled (macOS has no sigtimedwait); the helper's end wakes
            // this thread at once.
            if let Some(sig) = pending(&STOP) {
                die_by(sig);
            }
            std::thread::park_timeout(std::time::Duration::from_millis(50));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks `sig` in this thread only and sends it to this thread, so
    /// no other test thread can take it.
    fn raise_blocked(sig: i32) {
        let set = set_of(&[sig]);
        // SAFETY: a valid set; pthread_kill targets this thread.
        unsafe {
            assert_eq!(
                libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()),
                0
            );
            assert_eq!(libc::pthread_kill(libc::pthread_self(), sig), 0);
        }
    }

    #[test]
    fn the_portable_wait_takes_a_pending_signal() {
        std::thread::spawn(|| {
            assert_eq!(pending(&[libc::SIGWINCH]), None);
            raise_blocked(libc::SIGWINCH);
            assert_eq!(
                pending(&[libc::SIGUSR1, libc::SIGWINCH]),
                Some(libc::SIGWINCH)
            );
            assert_eq!(sigwait(&[libc::SIGWINCH]).unwrap(), libc::SIGWINCH);
            assert_eq!(pending(&[libc::SIGWINCH]), None);
        })
        .join()
        .unwrap();
    }

    /// SIGURG: ignored by default like SIGCHLD, and nothing here sends it.
    #[test]
    fn keep_pending_replaces_the_default_action_only() {
        let action = || {
            // SAFETY: reads the current action into a zeroed local.
            unsafe {
                let mut old = std::mem::zeroed::<libc::sigaction>();
                assert_eq!(libc::sigaction(libc::SIGURG, std::ptr::null(), &mut old), 0);
                old.sa_sigaction
            }
        };
        let set = |h| {
            // SAFETY: SIG_IGN or SIG_DFL for a signal no test sends.
            unsafe { libc::signal(libc::SIGURG, h) };
        };
        set(libc::SIG_IGN);
        keep_pending(&[libc::SIGURG]).unwrap();
        assert_eq!(action(), libc::SIG_IGN, "an inherited ignore stays");
        set(libc::SIG_DFL);
        keep_pending(&[libc::SIGURG]).unwrap();
        assert_eq!(action(), never_runs as extern "C" fn(libc::c_int) as usize);
        set(libc::SIG_DFL);
    }

    #[test]
    fn only_terminal_signals_may_come_from_the_terminal() {
        assert!(!terminal_may_have_sent(libc::SIGTERM));
        assert!(!terminal_may_have_sent(libc::SIGHUP));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn wait_takes_the_signal_and_knows_a_process_sent_it() {
        std::thread::spawn(|| {
            raise_blocked(libc::SIGUSR2);
            assert_eq!(pending(&[libc::SIGUSR2]), Some(libc::SIGUSR2));
            // pthread_kill is a process's signal (SI_TKILL), not the kernel's.
            assert_eq!(wait(&[libc::SIGUSR2]).unwrap(), (libc::SIGUSR2, true));
            assert_eq!(pending(&[libc::SIGUSR2]), None);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn block_holds_back_the_forwarded_signals_and_sigchld() {
        assert_eq!(
            all(),
            [
                libc::SIGINT,
                libc::SIGTERM,
                libc::SIGHUP,
                libc::SIGWINCH,
                libc::SIGCHLD
            ]
        );
        // In a thread of its own: the mask is per thread.
        std::thread::spawn(|| {
            block().unwrap();
            // SAFETY: reads this thread's mask into a zeroed local.
            let mask = unsafe {
                let mut m = std::mem::zeroed::<libc::sigset_t>();
                assert_eq!(
                    libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut m),
                    0
                );
                m
            };
            for sig in all() {
                // SAFETY: reads a filled set.
                assert_eq!(unsafe { libc::sigismember(&mask, sig) }, 1, "{sig}");
            }
        })
        .join()
        .unwrap();
    }
}
