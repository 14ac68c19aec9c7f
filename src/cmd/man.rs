//! `mfacli man`: the man page (roff), rendered into a buffer first.

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::Cli;

pub(crate) fn run() -> Result<u8> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .context("rendering the man page")?;
    crate::io::stdout_bytes(&out)?;
    Ok(0)
}
