//! `mfacli env TARGET|--bastion`: shell code that exports the credentials, for eval.

use anyhow::Result;

use super::Ctx;
use crate::cli::EnvArgs;

pub(crate) fn run(ctx: &Ctx, args: EnvArgs) -> Result<u8> {
    let shell = ctx.shell(args.shell);
    super::failing_eval(shell, || {
        let sources = ctx.sources_for(&args.policy)?;
        let issued = super::issue(ctx, &sources, args.target.as_deref(), 0)?;
        if crate::io::stdout_is_terminal() {
            let what = args.target.as_deref().unwrap_or("--bastion");
            ctx.log.notice(&format!(
                "these are shell statements for eval; to set them in this shell run: eval \"$(mfacli env {what})\""
            ));
        }
        super::print_exports_for(
            &sources,
            &issued.creds.credentials,
            issued.region.as_deref(),
            issued.target.as_deref(),
            shell,
        )?;
        Ok(0)
    })
}
