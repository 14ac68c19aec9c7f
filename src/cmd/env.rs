//! `mfacli env TARGET`: shell code that exports the credentials, for eval.

use anyhow::Result;

use super::Ctx;
use crate::cli::EnvArgs;

pub(crate) fn run(ctx: &Ctx, args: EnvArgs) -> Result<u8> {
    let shell = ctx.shell(args.shell);
    super::failing_eval(shell, || {
        let sources = ctx.sources()?;
        let (plan, creds) = super::credentials(ctx, &sources, &args.target)?;
        if crate::io::stdout_is_terminal() {
            ctx.log.notice(&format!(
                "these are shell statements for eval; to set them in this shell run: eval \"$(mfacli env {})\"",
                args.target
            ));
        }
        super::print_exports(&sources, &plan, &creds, shell)?;
        Ok(0)
    })
}
