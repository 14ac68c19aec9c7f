//! `mfacli doctor`: runs the checks and prints the report.

use anyhow::Result;

use super::Ctx;
use crate::cli::DoctorArgs;
use crate::doctor::{self, Status};

pub(crate) fn run(ctx: &Ctx, args: DoctorArgs) -> Result<u8> {
    let report = doctor::diagnose(
        ctx.overrides(),
        ctx.env.clone(),
        &args.targets,
        args.check_mfa,
        args.check_roles,
    );
    let text = if args.json {
        report.render_json()
    } else {
        let color = ctx.env.var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && crate::io::stdout_is_terminal();
        report.render_text(color)
    };
    crate::io::stdout(&text)?;
    Ok(if report.count(Status::Error) > 0 {
        1
    } else {
        0
    })
}
