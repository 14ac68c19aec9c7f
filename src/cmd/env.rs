//! `mfacli env TARGET|--bastion`: shell code that exports the credentials, for eval.

use anyhow::Result;

use super::Ctx;
use crate::cli::EnvArgs;

pub(crate) fn run(ctx: &Ctx, args: EnvArgs) -> Result<u8> {
    let shell = ctx.shell(args.shell);
    super::failing_eval(shell, || {
        let sources = ctx.sources()?;
        if args.target.is_none() && !args.bastion {
            return Err(no_target(&sources).into());
        }
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

/// `mfacli env` alone: which targets there are, as a usage error.
fn no_target(sources: &crate::plan::Sources) -> crate::error::UserError {
    let names: Vec<String> = sources
        .target_names()
        .into_iter()
        .map(|(n, _)| n.to_string())
        .collect();
    let e = crate::error::UserError::new(if names.is_empty() {
        "env needs a TARGET, and none is defined".to_owned()
    } else {
        format!("env needs a TARGET: {}", names.join(", "))
    });
    let example = names.first().map_or("prod", String::as_str);
    if names.is_empty() {
        e.hint("define one with `mfacli init` (or [targets.NAME] in the mfacli config), or use `mfacli env --bastion` for the bastion account")
    } else {
        e.hint(format!(
            "eval \"$(mfacli env {example})\", or `mfacli env --bastion` for the bastion account"
        ))
    }
    .usage()
}
