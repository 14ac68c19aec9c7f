//! mfacli: MFA-aware AWS credentials for the bastion-account pattern.
//!
//! The chain is long-term keys ([`awsfiles`]) -> cached MFA session ->
//! cached role credentials ([`provider`]), configured by [`config`] and
//! [`resolve`], handed over by [`output`]. Only [`sts`] talks to AWS.

pub mod awsfiles;
pub mod cache;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod doctor;
pub mod error;
pub mod init;
pub mod log;
pub mod mfa;
pub mod output;
pub mod policies;
pub mod provider;
pub mod resolve;
pub mod secret;
pub mod sts;
pub mod totp;
pub mod types;

/// Entry point for the binary: parses arguments, runs, returns the exit code.
pub fn main() -> i32 {
    use clap::Parser;
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            commands::report(&e);
            1
        }
    }
}
