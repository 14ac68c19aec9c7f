//! `mfacli clear TARGET | --all`: deletes cached credentials.

use anyhow::{Context, Result};

use super::Ctx;
use crate::chain;
use crate::cli::ClearArgs;

pub(crate) fn run(ctx: &Ctx, args: ClearArgs) -> Result<u8> {
    let sources = ctx.sources()?;
    let cache = sources.cache().with_log(ctx.log);
    let names = match (&args.target, args.all) {
        (_, true) => {
            let mut n = cache.entries("role-");
            n.extend(cache.entries("session-"));
            n
        }
        (Some(target), false) => {
            // Unknown targets are an error, so a typo does not look like success.
            sources.plan(target)?;
            cache.entries(&chain::role_file_prefix(target))
        }
        (None, false) => anyhow::bail!("clear: name a TARGET or pass --all"),
    };
    let mut removed = 0;
    for n in &names {
        if cache
            .remove(n)
            .with_context(|| format!("removing {}", cache.path(n).display()))?
        {
            removed += 1;
        }
    }
    ctx.log.notice(&format!(
        "removed {removed} cached credential file{}",
        if removed == 1 { "" } else { "s" }
    ));
    Ok(0)
}
