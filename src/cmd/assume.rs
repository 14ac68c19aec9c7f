//! `mfacli assume TARGET`: credentials, then a summary, exports, JSON, or a
//! profile written into ~/.aws/credentials.

use anyhow::Result;
use serde::Serialize;

use super::Ctx;
use crate::aws_files::{
    upsert_section, write_credentials_file, EditError, ProfileName, WriteError, PROFILE_MARKER,
};
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
    let sources = ctx.sources_for(&a.policy)?;
    // The name is checked before any MFA code or STS call is spent.
    let section = match &a.write_profile {
        Some(raw) => Some(profile_name(&sources.plan(&a.target)?, raw)?),
        None => None,
    };
    let (plan, creds) = super::credentials(ctx, &sources, &a.target)?;
    if let Some(section) = &section {
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

/// The `--write-profile` name, normalised as the AWS parsers read a
/// section name (`" bastion"` is `bastion`), and never the bastion profile.
fn profile_name(plan: &Plan, raw: &str) -> Result<ProfileName, UserError> {
    let name = ProfileName::new(raw).map_err(|e| {
        UserError::new(format!("--write-profile: {e}"))
            .hint("choose a name such as --write-profile prod-temp")
    })?;
    // Compared as the parsers compare them: after the same normalisation.
    let bastion = ProfileName::new(&plan.bastion_profile).map_or_else(
        |_| plan.bastion_profile.trim().to_owned(),
        |b| b.to_string(),
    );
    if name.as_str() == bastion {
        return Err(UserError::new(format!(
            "--write-profile {name}: that is the bastion profile holding your long-term keys; refusing to replace it"
        ))
        .hint("choose another name, e.g. --write-profile prod-temp"));
    }
    Ok(name)
}

/// Writes the role credentials into `[section]` of the credentials file
/// with the locked, verifying editor (see `aws_files::writer`): every other
/// byte kept, a backup beside it, a section mfacli did not write replaced
/// only with `--force`.
fn write_profile(
    sources: &Sources,
    plan: &Plan,
    creds: &RoleCredentials,
    section: &ProfileName,
    force: bool,
) -> Result<()> {
    let path = &sources.aws.credentials_path;
    let region = sources.export_region(plan);
    let c = &creds.credentials;
    let expiration = output::rfc3339(c.expiration);
    let mut body = vec![
        ("aws_access_key_id", c.access_key_id.as_str()),
        ("aws_secret_access_key", c.secret_access_key.expose()),
        ("aws_session_token", c.session_token.expose()),
        ("expiration", expiration.as_str()),
    ];
    if let Some(r) = region.as_deref() {
        body.push(("region", r));
    }
    write_credentials_file(path, |text| {
        upsert_section(text, section, &body, PROFILE_MARKER, force)
    })
    .map_err(|e| {
        let not_ours = matches!(e, WriteError::Edit(EditError::NotManaged { .. }));
        let u = e.into_user_error(path);
        if not_ours {
            u.hint("choose another name for --write-profile, or add --force to replace it")
        } else {
            u
        }
    })?;
    Ok(())
}
