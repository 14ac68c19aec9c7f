//! `mfacli rotate [--deactivate] [--yes | --dry-run]`: a new access key for
//! the bastion user; the old one is deleted (or deactivated) only after a
//! person confirmed it on the terminal, or with `--yes`.

use anyhow::Result;

use super::Ctx;
use crate::cli::RotateArgs;
use crate::error::UserError;

pub(crate) fn run(ctx: &Ctx, args: RotateArgs) -> Result<u8> {
    let sources = ctx.sources()?;
    let retire_verb = if args.deactivate {
        "deactivate"
    } else {
        "delete"
    };
    let go = |plan: &str| -> Result<bool, UserError> {
        if args.dry_run {
            crate::io::stdout(&format!("dry run, nothing changed: {plan}\n"))
                .map_err(|e| UserError::new(format!("cannot write to stdout: {e}")))?;
            return Ok(false);
        }
        if args.yes {
            return Ok(true);
        }
        let tty = (!ctx.global.non_interactive)
            .then(|| {
                std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open("/dev/tty")
                    .ok()
            })
            .flatten();
        let Some(mut tty) = tty else {
            return Err(UserError::new(format!(
                "nothing changed: rotate would {retire_verb} an IAM access key and there is no terminal to confirm it on"
            ))
            .hint("pass --yes to rotate without asking (scripts), or --dry-run to see what it would do"));
        };
        let mut input = std::io::BufReader::new(
            tty.try_clone()
                .map_err(|e| UserError::new(format!("cannot read the terminal: {e}")))?,
        );
        let mut p = crate::init::Prompter::new(&mut input, &mut tty);
        p.say(plan)?;
        p.confirm("Go ahead?")
    };
    let Some(r) = crate::bastion::rotate(&sources, &ctx.log, args.deactivate, go)? else {
        if !args.dry_run {
            ctx.log.notice("nothing changed");
        }
        return Ok(if args.dry_run { 0 } else { 1 });
    };
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
