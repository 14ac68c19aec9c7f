//! mfacli's integration tests: the real binary against the STS emulator,
//! moto, the AWS CLI, boto3 and real shells. One test binary (as in
//! ripgrep's `tests/tests.rs`), one module per area, helpers in `util`.

// Tests read their own environment (PATH, CI, the venv) and report skips.
#![allow(clippy::disallowed_methods, clippy::print_stderr, clippy::print_stdout)]

mod util;

mod attacker_files;
mod ci;
mod clock;
mod console;
mod consumers;
mod daily;
mod docs_examples;
mod edges;
mod flow;
mod force_mfa;
mod fuzz_regressions;
mod gui_prompt;
mod hardening;
mod hardening_local;
mod hook;
mod hook_pty;
mod init_doctor;
mod interop;
mod keyring;
mod options;
mod output_edge;
mod policies;
mod real_endpoints;
mod reliability;
pub(crate) mod self_service;
mod server;
mod server_attacks;
mod server_profiles;
mod session_policy;
pub(crate) mod terminal;
pub(crate) mod tls;
mod write_profile;
mod yubikey;
