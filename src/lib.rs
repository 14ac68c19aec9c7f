//! mfacli: MFA-aware AWS credentials for the bastion-account pattern.
//!
//! Layers, top to bottom (see ARCHITECTURE.md): `cli` is the clap
//! contract and `cmd` one file per command; below them the core never
//! imports clap. The chain is long-term keys ([`aws_files`]) -> cached MFA
//! session -> cached role credentials ([`chain`]), configured by [`config`]
//! and `plan`, handed over by `output`. Only [`sts`] talks to AWS, and
//! only `io` writes to stdout and stderr.

#![warn(missing_docs, unreachable_pub)]

pub mod aws_files;
pub(crate) mod bastion;
pub mod cache;
pub mod chain;
pub(crate) mod cli;
pub(crate) mod clock;
mod cmd;
pub mod config;
pub(crate) mod console;
pub(crate) mod doctor;
pub(crate) mod env;
pub mod error;
pub(crate) mod fsread;
#[doc(hidden)]
pub mod fuzz_checks;
pub mod iam;
pub(crate) mod init;
pub(crate) mod io;
pub(crate) mod keystore;
pub(crate) mod log;
pub mod mfa;
pub(crate) mod output;
pub(crate) mod plan;
pub(crate) mod policy;
pub mod secret;
pub(crate) mod server;
pub mod sts;
pub mod sts_validate;
pub mod types;

use std::process::ExitCode;

/// Entry point for the binary: parses arguments, runs, returns the exit
/// code. One place decides exit codes: 0 ok (and a closed stdout), 1 error,
/// 2 usage (clap, or a [`error::UserError`] marked `usage`: a bad flag
/// value found after parsing), or the code a command chose.
pub fn main() -> ExitCode {
    // First, before any secret is in memory.
    disable_core_dumps();
    let env = env::Env::capture();
    // `COMPLETE=bash mfacli …`: a shell asking for completions; exits.
    cli::complete_if_asked(&env);
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match cli::Cli::parse_args(args.clone(), &env) {
        Ok(cli) => cli,
        Err(e) => {
            // A usage error of `env` fails the caller's eval as any other
            // failure of it does (not `--help`, which is no failure).
            if e.use_stderr() {
                if let Some(failure) = cmd::env::usage_failure(&args, &env) {
                    let _ = io::stdout(&failure);
                }
            }
            e.exit()
        }
    };
    let log = log::Log::new(log::Level::Normal, &env);
    match cmd::run(cli, env) {
        Ok(code) => ExitCode::from(code),
        Err(e) if io::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            report(&log, &e);
            let usage = e
                .downcast_ref::<error::UserError>()
                .is_some_and(|u| u.usage);
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

/// Prints an error for a person: message, hint, no debug dump.
fn report(log: &log::Log, err: &anyhow::Error) {
    if let Some(u) = err.downcast_ref::<error::UserError>() {
        log.error(&u.to_string());
    } else {
        log.error(&format!("{err:#}"));
    }
}

/// No core file, and no ptrace by other processes of the same user: this
/// process holds long-term keys, a TOTP seed and sessions (as ssh-agent
/// does). `RLIMIT_CORE` 0 is inherited by `exec`'s command.
fn disable_core_dumps() {
    let zero = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain system calls with valid arguments; failures only
    // leave the defaults in place.
    unsafe {
        libc::setrlimit(libc::RLIMIT_CORE, &zero);
        #[cfg(target_os = "linux")]
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}
