//! `mfacli completions SHELL`: the shell code that registers clap's dynamic
//! completion, the same text `COMPLETE=SHELL mfacli` prints. At each Tab
//! the shell runs `mfacli` itself (with `$COMPLETE` set), so the binary
//! completes its own commands, flags and target names: no generated file
//! to go stale, no bash-completion package needed, hidden commands and
//! flags never offered.

use anyhow::Result;
use clap_complete::env::Shells;

use crate::cli::{CompletionShell, COMPLETE_ENV};

pub(crate) fn run(shell: CompletionShell) -> Result<u8> {
    let name = match shell {
        CompletionShell::Bash => "bash",
        CompletionShell::Zsh => "zsh",
        CompletionShell::Fish => "fish",
        CompletionShell::Powershell => "powershell",
        CompletionShell::Elvish => "elvish",
    };
    let shells = Shells::builtins();
    let completer = shells
        .completer(name)
        .expect("every CompletionShell is one of clap_complete's shells");
    // Rendered into a buffer first: a closed pipe is one failed write.
    let mut out = Vec::new();
    // The completer is `mfacli` found on PATH at each Tab, so an upgraded
    // binary answers for itself.
    completer.write_registration(COMPLETE_ENV, "mfacli", "mfacli", "mfacli", &mut out)?;
    crate::io::stdout(&String::from_utf8_lossy(&out))?;
    Ok(0)
}

/// `mfacli __complete-targets`: the target names, one a line; nothing (and
/// success) when the config cannot be read. Kept for scripts written
/// against older completions.
pub(crate) fn targets(ctx: &super::Ctx) -> Result<u8> {
    let Ok(sources) = crate::plan::Sources::load(ctx.overrides(), ctx.env.clone()) else {
        return Ok(0);
    };
    let names: String = sources
        .target_names()
        .into_iter()
        .map(|(n, _)| format!("{n}\n"))
        .collect();
    crate::io::stdout(&names)?;
    Ok(0)
}
