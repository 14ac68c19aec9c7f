//! `mfacli exec TARGET|--bastion -- COMMAND…`: runs a command with the credentials.

use std::os::unix::process::CommandExt;

use anyhow::Result;

use super::Ctx;
use crate::cli::ExecArgs;
use crate::output;

pub(crate) fn run(ctx: &Ctx, e: ExecArgs) -> Result<u8> {
    let sources = ctx.sources()?;
    let issued = super::issue(ctx, &sources, e.target.as_deref(), 0)?;
    let (creds, region) = (&issued.creds, &issued.region);
    let Some((program, args)) = e.command.split_first() else {
        anyhow::bail!("exec: no command given");
    };
    let mut cmd = std::process::Command::new(program);
    cmd.args(args).env_clear().envs(ctx.env.iter());
    // The child gets the role credentials and nothing that could lead back
    // to the long-term keys or the MFA seed.
    for k in output::UNSET_VARS {
        cmd.env_remove(k);
    }
    for k in [crate::mfa::totp::SEED_ENV, crate::mfa::TOKEN_CODE_ENV] {
        cmd.env_remove(k);
    }
    for k in [
        ctx.global.totp_secret_env.as_deref(),
        sources.bastion().totp_secret_env.as_deref(),
    ]
    .into_iter()
    .flatten()
    {
        cmd.env_remove(k);
    }
    for (k, v) in output::env_vars(&creds.credentials, region.as_deref()) {
        cmd.env(k, v);
    }
    ctx.log.verbose(&format!(
        "running {} with the credentials for {}",
        program.to_string_lossy(),
        issued.label
    ));
    // exec(2) replaces mfacli: the command's exit status and signals are
    // its own. It returns only on failure.
    let err = cmd.exec();
    let code = if err.kind() == std::io::ErrorKind::NotFound {
        127
    } else {
        126
    };
    ctx.log.error(&format!(
        "cannot run '{}': {err}\n  hint: check the command name and your PATH",
        program.to_string_lossy()
    ));
    Ok(code)
}
