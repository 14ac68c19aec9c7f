//! mfacli's integration tests: the real binary against the STS emulator,
//! moto, the AWS CLI, boto3 and real shells. One test binary (as in
//! ripgrep's `tests/tests.rs`), one module per area, helpers in `util`.

// Tests read their own environment (PATH, CI, the venv) and report skips.
#![allow(clippy::disallowed_methods, clippy::print_stderr, clippy::print_stdout)]

mod util;

mod clock;
mod console;
mod flow;
mod fuzz_regressions;
mod hardening;
mod hook;
mod init_doctor;
mod interop;
mod options;
mod output_edge;
mod policies;
mod reliability;
mod server;
pub(crate) mod tls;
