//! `mfacli env TARGET|--bastion`: shell code that exports the credentials, for eval.

use anyhow::Result;

use super::Ctx;
use crate::cli::EnvArgs;

pub(crate) fn run(ctx: &Ctx, args: EnvArgs) -> Result<u8> {
    let sources = ctx.sources()?;
    let issued = super::issue(ctx, &sources, args.target.as_deref(), 0)?;
    super::print_exports_for(
        &sources,
        &issued.creds.credentials,
        issued.region.as_deref(),
        issued.target.as_deref(),
        ctx.shell(args.shell),
    )?;
    Ok(0)
}
