//! `mfacli clear TARGET | --all`: deletes cached credentials.

use anyhow::{Context, Result};

use super::Ctx;
use crate::chain;
use crate::cli::ClearArgs;

pub(crate) fn run(ctx: &Ctx, args: ClearArgs) -> Result<u8> {
    let sources = ctx.sources()?;
    let cache = sources.cache().with_log(ctx.log);
    let mut names = match (&args.target, args.all) {
        (_, true) => {
            let mut n = cache.entries("role-");
            n.extend(cache.entries("session-"));
            n
        }
        (None, false) if args.totp_state => Vec::new(),
        (Some(target), false) => {
            // Unknown targets are an error, so a typo does not look like success.
            sources.plan(target)?;
            chain::role_files(&cache, target)
        }
        (None, false) => anyhow::bail!("clear: name a TARGET or pass --all"),
    };
    if args.totp_state {
        // Replay records are kept by --all: they stop a TOTP code from being
        // sent twice. Removed only when asked (e.g. one from a clock that ran ahead).
        names.extend(cache.entries("totp-"));
    }
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
