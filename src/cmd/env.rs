//! `mfacli env TARGET`: shell code that exports the credentials, for eval.

use anyhow::Result;

use super::Ctx;
use crate::cli::EnvArgs;

pub(crate) fn run(ctx: &Ctx, args: EnvArgs) -> Result<u8> {
    let sources = ctx.sources()?;
    let (plan, creds) = super::credentials(ctx, &sources, &args.target)?;
    super::print_exports(&sources, &plan, &creds, ctx.shell(args.shell))?;
    Ok(0)
}
