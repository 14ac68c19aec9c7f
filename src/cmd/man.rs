//! `mfacli man`: the man page (roff), rendered into a buffer first.

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::Cli;

pub(crate) fn run() -> Result<u8> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .context("rendering the man page")?;
    crate::io::stdout(&one_page(&String::from_utf8_lossy(&out)))?;
    Ok(0)
}

/// clap_mangen lists subcommands as `mfacli-assume(1)`, pages that do not
/// exist: name them as commands instead, and say where their options are.
fn one_page(roff: &str) -> String {
    let mut out = String::with_capacity(roff.len() + 128);
    for line in roff.lines() {
        match line
            .strip_prefix("mfacli\\-")
            .and_then(|l| l.strip_suffix("(1)"))
        {
            Some(sub) => out.push_str(&format!("\\fBmfacli {sub}\\fR")),
            None => out.push_str(line),
        }
        out.push('\n');
        if line == ".SH SUBCOMMANDS" {
            out.push_str("Each command's own options: \\fBmfacli COMMAND \\-\\-help\\fR.\n");
        }
    }
    out
}
