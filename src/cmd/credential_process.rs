//! `mfacli credential-process TARGET|--bastion`: JSON for `credential_process`.

use anyhow::Result;

use super::Ctx;
use crate::cli::TargetArg;
use crate::output;

/// The SDKs start refreshing `credential_process` credentials 15 minutes
/// before they expire and re-run the process on every call until they get
/// fresher ones; so for them mfacli renews at 15 minutes (at most half the
/// role's duration) instead of its own `refresh_margin`.
const SDK_REFRESH_SECS: i64 = 15 * 60;

pub(crate) fn run(ctx: &Ctx, args: TargetArg) -> Result<u8> {
    let sources = ctx.sources_for(&args.policy)?;
    let issued = super::issue(ctx, &sources, args.target.as_deref(), SDK_REFRESH_SECS)?;
    crate::io::stdout(&output::credential_process_json(&issued.creds.credentials))?;
    Ok(0)
}
