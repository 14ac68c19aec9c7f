//! `mfacli assume TARGET`: credentials, then a summary, exports, JSON, or a
//! profile written into ~/.aws/credentials.

use anyhow::{Context, Result};
use serde::Serialize;

use super::Ctx;
use crate::chain::RoleCredentials;
use crate::cli::AssumeArgs;
use crate::clock::{Clock, SystemClock};
use crate::error::UserError;
use crate::output;
use crate::plan::{Plan, Sources};

/// `assume --json`: what the credentials are, never the secrets.
#[derive(Debug, Serialize)]
struct Summary<'a> {
    target: &'a str,
    account: &'a str,
    role: &'a str,
    role_arn: &'a str,
    assumed_role_arn: Option<&'a str>,
    session_name: &'a str,
    access_key_id: &'a str,
    expiration: String,
    seconds_left: i64,
    from_cache: bool,
}

pub(crate) fn run(ctx: &Ctx, a: AssumeArgs) -> Result<u8> {
    if a.export {
        let shell = ctx.shell(a.shell);
        return super::failing_eval(shell, || run_inner(ctx, a));
    }
    run_inner(ctx, a)
}

fn run_inner(ctx: &Ctx, a: AssumeArgs) -> Result<u8> {
    let sources = ctx.sources()?;
    let (plan, creds) = super::credentials(ctx, &sources, &a.target)?;
    if let Some(section) = &a.write_profile {
        write_profile(&sources, &plan, &creds, section, a.force)?;
        ctx.log.notice(&format!(
            "wrote [{section}] to {}; use it with `aws --profile {section} …` (expires {})",
            sources.aws.credentials_path.display(),
            output::local_time(creds.credentials.expiration)
        ));
    }
    let t = &plan.target;
    let left = creds.credentials.seconds_left(SystemClock.now());
    if a.export {
        super::print_exports(&sources, &plan, &creds, ctx.shell(a.shell))?;
    } else if a.json {
        let summary = Summary {
            target: t.name.as_str(),
            account: t.role_arn.account().as_str(),
            role: t.role_arn.role_name(),
            role_arn: t.role_arn.as_str(),
            assumed_role_arn: creds.assumed_role_arn.as_deref(),
            session_name: t.session_name.as_str(),
            access_key_id: &creds.credentials.access_key_id,
            expiration: output::rfc3339(creds.credentials.expiration),
            seconds_left: left,
            from_cache: creds.from_cache,
        };
        crate::io::stdout(&format!("{}\n", serde_json::to_string_pretty(&summary)?))?;
    } else if a.write_profile.is_none() || crate::io::stdout_is_terminal() {
        crate::io::stdout(&summary_text(&plan, &creds, left))?;
    }
    Ok(0)
}

fn summary_text(plan: &Plan, creds: &RoleCredentials, left: i64) -> String {
    let t = &plan.target;
    let mut s = format!(
        "Credentials for {} ({})\n",
        t.name,
        if creds.from_cache { "cached" } else { "new" }
    );
    s.push_str(&format!("  account   {}\n", t.role_arn.account()));
    s.push_str(&format!("  role      {}\n", t.role_arn.role_name()));
    if let Some(arn) = &creds.assumed_role_arn {
        s.push_str(&format!("  identity  {arn}\n"));
    }
    s.push_str(&format!(
        "  expires   {} (in {})\n",
        output::local_time(creds.credentials.expiration),
        output::human_left(left)
    ));
    s.push_str(&format!(
        "Use them:\n  eval \"$(mfacli env {0})\"            # in this shell\n  mfacli exec {0} -- aws sts get-caller-identity\n",
        t.name
    ));
    s
}

fn write_profile(
    sources: &Sources,
    plan: &Plan,
    creds: &RoleCredentials,
    section: &str,
    force: bool,
) -> Result<()> {
    let path = &sources.aws.credentials_path;
    if section.is_empty() || section.contains(['[', ']', '\n']) {
        return Err(UserError::new(format!(
            "--write-profile: '{section}' is not a valid profile name"
        ))
        .into());
    }
    if section == plan.bastion_profile {
        return Err(UserError::new(format!(
            "--write-profile {section}: that is the bastion profile holding your long-term keys; refusing to replace it"
        ))
        .hint("choose another name, e.g. --write-profile prod-temp")
        .into());
    }
    let text = crate::aws_files::read_text_file(path, "AWS credentials file")?
        .map(|f| f.text)
        .unwrap_or_default();
    let region = sources.export_region(plan);
    let new = output::upsert_profile(&text, section, &creds.credentials, region.as_deref(), force)?;
    if let Some(dir) = path.parent() {
        crate::fsread::create_private_dirs(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    crate::cache::write_atomic(path, new.as_bytes(), 0o600, true)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
