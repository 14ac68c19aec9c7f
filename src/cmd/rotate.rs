//! `mfacli rotate [--deactivate]`: a new access key for the bastion user.

use anyhow::Result;

use super::Ctx;
use crate::cli::RotateArgs;

pub(crate) fn run(ctx: &Ctx, args: RotateArgs) -> Result<u8> {
    let sources = ctx.sources()?;
    let r = crate::bastion::rotate(&sources, &ctx.log, args.deactivate)?;
    let retired = if r.deactivated_only {
        "deactivated (delete it once nothing uses it)"
    } else {
        "deleted"
    };
    ctx.log.notice(&format!(
        "rotated: {} is in use (STS accepted it after {:.1} s); the old key {} was {retired}; {} cache entr{} moved to the new key",
        r.new_key,
        r.waited.as_secs_f64(),
        r.old_key,
        r.moved_cache_entries,
        if r.moved_cache_entries == 1 { "y" } else { "ies" }
    ));
    Ok(0)
}
