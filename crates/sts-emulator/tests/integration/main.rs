//! sts-emulator's integration tests: one binary, one module per area.

mod assume_role;
mod auth;
mod binary;
mod faults;
mod federation;
mod get_session_token;
mod iam;
mod policy;
mod tls;
mod util;
mod world;
