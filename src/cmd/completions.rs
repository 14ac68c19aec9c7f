//! `mfacli completions SHELL`: rendered into a buffer first, so a closed
//! pipe is one failed write, never a panic inside clap_complete.

use anyhow::Result;
use clap::CommandFactory;
use clap_complete::{generate, shells};

use crate::cli::{Cli, CompletionShell};

pub(crate) fn run(shell: CompletionShell) -> Result<u8> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    match shell {
        CompletionShell::Bash => generate(shells::Bash, &mut cmd, "mfacli", &mut out),
        CompletionShell::Zsh => generate(shells::Zsh, &mut cmd, "mfacli", &mut out),
        CompletionShell::Fish => generate(shells::Fish, &mut cmd, "mfacli", &mut out),
        CompletionShell::Powershell => generate(shells::PowerShell, &mut cmd, "mfacli", &mut out),
        CompletionShell::Elvish => generate(shells::Elvish, &mut cmd, "mfacli", &mut out),
    }
    crate::io::stdout_bytes(&out)?;
    Ok(0)
}
