//! `mfacli whoami TARGET|--bastion`: STS GetCallerIdentity with the target's credentials.

use anyhow::Result;

use super::Ctx;
use crate::chain;
use crate::cli::WhoamiArgs;
use crate::sts::{Signer, StsClient};

pub(crate) fn run(ctx: &Ctx, args: WhoamiArgs) -> Result<u8> {
    let sources = ctx.sources()?;
    let (endpoint, creds) = match &args.target {
        Some(t) => {
            let (plan, creds) = super::credentials(ctx, &sources, t)?;
            (plan.endpoint, creds)
        }
        None => {
            let (plan, creds) = chain::for_bastion(&sources, &ctx.log, 0)?;
            (plan.endpoint, creds)
        }
    };
    ctx.log
        .verbose("calling STS GetCallerIdentity with the target's credentials");
    let id = StsClient::new(endpoint)
        .and_then(|sts| sts.get_caller_identity(Signer::Temporary(&creds.credentials)))
        .map_err(chain::sts_user_error)?;
    if args.json {
        crate::io::stdout(&format!("{}\n", serde_json::to_string_pretty(&id)?))?;
    } else {
        crate::io::stdout(&format!(
            "Account: {}\nArn:     {}\nUserId:  {}\n",
            id.account, id.arn, id.user_id
        ))?;
    }
    Ok(0)
}
