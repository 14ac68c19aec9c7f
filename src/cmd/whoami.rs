//! `mfacli whoami TARGET|--bastion`: STS GetCallerIdentity with the target's credentials.

use anyhow::Result;

use super::Ctx;
use crate::chain;
use crate::cli::WhoamiArgs;
use crate::sts::{Signer, StsClient};

pub(crate) fn run(ctx: &Ctx, args: WhoamiArgs) -> Result<u8> {
    let sources = ctx.sources_for(&args.policy)?;
    // Which session policy narrows these credentials (STS does not say).
    let (endpoint, creds, policy) = match &args.target {
        Some(t) => {
            let (plan, creds) = super::credentials(ctx, &sources, t)?;
            let policy = plan.target.policy.describe();
            (plan.endpoint, creds, policy)
        }
        None => {
            let (plan, creds) = chain::for_bastion(&sources, &ctx.log, 0)?;
            (plan.endpoint, creds, None)
        }
    };
    ctx.log
        .verbose("calling STS GetCallerIdentity with the target's credentials");
    let id = StsClient::new(endpoint)
        .and_then(|sts| sts.get_caller_identity(Signer::Temporary(&creds.credentials)))
        .map_err(chain::sts_user_error)?;
    if args.json {
        let mut v = serde_json::to_value(&id)?;
        if let (Some(p), Some(o)) = (&policy, v.as_object_mut()) {
            o.insert("Policy".into(), p.clone().into());
        }
        crate::io::stdout(&format!("{}\n", serde_json::to_string_pretty(&v)?))?;
    } else {
        let policy = policy.map_or(String::new(), |p| format!("Policy:  {p}\n"));
        crate::io::stdout(&format!(
            "Account: {}\nArn:     {}\nUserId:  {}\n{policy}",
            id.account, id.arn, id.user_id
        ))?;
    }
    Ok(0)
}
