//! `mfacli totp`: the current code from the configured seed.

use anyhow::Result;

use super::Ctx;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::UserError;
use crate::mfa::totp;

pub(crate) fn run(ctx: &Ctx) -> Result<u8> {
    let config = Config::load(ctx.global.config.as_deref(), &ctx.env)?;
    let seed = totp::find_seed(&ctx.env, ctx.global.totp_secret_env.as_deref(), &config.bastion)?
        .ok_or_else(|| {
            UserError::new("no TOTP seed is configured").hint(
                "set MFACLI_TOTP_SECRET, pass --totp-secret-env NAME, or set totp_secret_env / totp_secret_file in [bastion]",
            )
        })?;
    let now = SystemClock.now().timestamp().max(0) as u64;
    let left = totp::STEP_SECS - now % totp::STEP_SECS;
    // Only the code on stdout, so `$(mfacli totp)` is just the code.
    crate::io::stdout(&format!("{}\n", seed.code_at(now).as_str()))?;
    ctx.log.notice(&format!("({left}s left in this step)"));
    Ok(0)
}
