//! What each command does, on top of the provider chain.

use std::io::{IsTerminal, Write};
use std::os::unix::process::CommandExt;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::{
    AssumeArgs, Cli, Command, CompletionShell, ExecArgs, GlobalArgs, PolicyCommand, Template,
};
use crate::clock::{Clock, SystemClock};
use crate::error::UserError;
use crate::log::{Level, Log};
use crate::mfa::CodeSources;
use crate::output::{self, Shell};
use crate::provider::{self, Options, Provider, RoleCredentials};
use crate::resolve::{Overrides, Plan, Sources};
use crate::sts::{Signer, StsClient};

/// Runs a parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    let log = Log::new(if cli.global.quiet {
        Level::Quiet
    } else if cli.global.verbose > 0 || cli.global.debug {
        Level::Verbose
    } else {
        Level::Normal
    });
    // Only the commands that need credentials read the config files.
    let sources = || load_sources(&cli.global, &log);
    match cli.command {
        Command::Completions { shell } => {
            completions(shell);
            Ok(0)
        }
        Command::Man => {
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut out)
                .context("rendering the man page")?;
            std::io::stdout().write_all(&out)?;
            Ok(0)
        }
        Command::Policy(p) => policy(p),
        Command::Totp => totp(&cli.global),
        Command::Init(a) => crate::init::run(&cli.global, a, &log),
        Command::Doctor(d) => crate::doctor::run(overrides(&cli.global), d),
        Command::Assume(a) => assume(&sources()?, &log, a),
        Command::Env(e) => {
            let sources = sources()?;
            let (plan, creds) = credentials(&sources, &log, &e.target)?;
            let shell = e.shell.unwrap_or_else(Shell::from_env);
            print_exports(&sources, &plan, &creds, shell)?;
            Ok(0)
        }
        Command::Exec(e) => exec(&sources()?, &log, &cli.global, e),
        Command::CredentialProcess(t) => {
            let (_, creds) =
                credentials_with_margin(&sources()?, &log, &t.target, SDK_REFRESH_SECS)?;
            write_stdout(&output::credential_process_json(&creds.credentials))?;
            Ok(0)
        }
        Command::List(j) => list(&sources()?, j.json),
        Command::Clear(c) => clear(&sources()?, &log, c.target.as_deref(), c.all),
        Command::Whoami(w) => whoami(&sources()?, &log, &w.target, w.json),
    }
}

fn overrides(g: &GlobalArgs) -> Overrides {
    Overrides {
        config: g.config.clone(),
        profile: g.profile.clone(),
        endpoint_url: g.endpoint_url.clone(),
        region: g.region.clone(),
        token_code: g.token_code.clone(),
        totp_secret_env: g.totp_secret_env.clone(),
        timeout: g.timeout,
        lock_timeout: g.lock_timeout,
        no_cache: g.no_cache,
        refresh: g.refresh,
        non_interactive: g.non_interactive,
    }
}

fn load_sources(g: &GlobalArgs, log: &Log) -> Result<Sources> {
    let sources = Sources::load(overrides(g))?;
    for w in sources.config.warnings.iter().chain(&sources.aws.warnings) {
        log.warn(w);
    }
    Ok(sources)
}

fn write_stdout(s: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(s.as_bytes())
        .and_then(|_| out.flush())
        .or_else(|e| {
            // A closed pipe (`| head`) is not an error worth a message.
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                Ok(())
            } else {
                Err(e)
            }
        })?;
    Ok(())
}

/// Credentials for a target: the cache-hit path touches no runtime or SDK.
fn credentials(sources: &Sources, log: &Log, target: &str) -> Result<(Plan, RoleCredentials)> {
    credentials_with_margin(sources, log, target, 0)
}

/// The SDKs start refreshing `credential_process` credentials 15 minutes
/// before they expire and re-run the process on every call until they get
/// fresher ones; so for them mfacli renews at 15 minutes (at most half the
/// role's duration) instead of its own `refresh_margin`.
const SDK_REFRESH_SECS: i64 = 15 * 60;

fn credentials_with_margin(
    sources: &Sources,
    log: &Log,
    target: &str,
    min_margin_secs: i64,
) -> Result<(Plan, RoleCredentials)> {
    let plan = sources.plan(target)?;
    let o = &sources.overrides;
    let floor = min_margin_secs.min(i64::from(plan.target.duration.secs()) / 2);
    let options = Options {
        no_cache: o.no_cache,
        refresh: o.refresh,
        refresh_margin_secs: sources.refresh_margin_secs().max(floor),
        lock_timeout: sources.lock_timeout(),
    };
    let codes = CodeSources {
        flag: o.token_code.clone(),
        totp_flag_env: o.totp_secret_env.as_deref(),
        bastion: sources.bastion(),
        non_interactive: o.non_interactive,
    };
    let cache = sources.cache();
    let clock = SystemClock;
    let mut provider = Provider::new(&cache, &clock, log, &options, &codes);
    let creds = provider.role_credentials(&plan, &sources.aws)?;
    Ok((plan, creds))
}

/// The region to export: --region > the target's region > [bastion] region.
fn export_region(sources: &Sources, plan: &Plan) -> Option<String> {
    sources
        .overrides
        .region
        .clone()
        .or_else(|| plan.target.region.clone())
        .or_else(|| sources.bastion().region.clone())
}

fn print_exports(
    sources: &Sources,
    plan: &Plan,
    creds: &RoleCredentials,
    shell: Shell,
) -> Result<()> {
    let region = export_region(sources, plan);
    let vars = output::env_vars(&creds.credentials, region.as_deref());
    write_stdout(&output::render_exports(shell, &vars))
}

fn assume(sources: &Sources, log: &Log, a: AssumeArgs) -> Result<i32> {
    let (plan, creds) = credentials(sources, log, &a.target)?;
    if let Some(section) = &a.write_profile {
        write_profile(sources, &plan, &creds, section, a.force)?;
        log.notice(&format!(
            "wrote [{section}] to {}; use it with `aws --profile {section} …` (expires {})",
            sources.aws.credentials_path.display(),
            output::local_time(creds.credentials.expiration)
        ));
    }
    let t = &plan.target;
    let now = SystemClock.now();
    let left = creds.credentials.seconds_left(now);
    if a.export {
        print_exports(
            sources,
            &plan,
            &creds,
            a.shell.unwrap_or_else(Shell::from_env),
        )?;
    } else if a.json {
        let v = serde_json::json!({
            "target": t.name.as_str(),
            "account": t.role_arn.account().as_str(),
            "role": t.role_arn.role_name(),
            "role_arn": t.role_arn.as_str(),
            "assumed_role_arn": creds.assumed_role_arn,
            "session_name": t.session_name.as_str(),
            "access_key_id": creds.credentials.access_key_id,
            "expiration": output::rfc3339(creds.credentials.expiration),
            "seconds_left": left,
            "from_cache": creds.from_cache,
        });
        write_stdout(&format!("{}\n", serde_json::to_string_pretty(&v)?))?;
    } else if a.write_profile.is_none() || std::io::stdout().is_terminal() {
        let mut s = String::new();
        s.push_str(&format!(
            "Credentials for {} ({})\n",
            t.name,
            if creds.from_cache { "cached" } else { "new" }
        ));
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
        write_stdout(&s)?;
    }
    Ok(0)
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
    let text = crate::awsfiles::read_text_file(path, "AWS credentials file")?
        .map(|f| f.text)
        .unwrap_or_default();
    let region = export_region(sources, plan);
    let new = output::upsert_profile(&text, section, &creds.credentials, region.as_deref(), force)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    crate::cache::write_atomic(path, new.as_bytes(), 0o600, true)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn exec(sources: &Sources, log: &Log, g: &GlobalArgs, e: ExecArgs) -> Result<i32> {
    let (plan, creds) = credentials(sources, log, &e.target)?;
    let region = export_region(sources, &plan);
    let (program, args) = e.command.split_first().expect("clap requires a command");
    let mut cmd = std::process::Command::new(program);
    cmd.args(args);
    // The child gets the role credentials and nothing that could lead back
    // to the long-term keys or the MFA seed.
    for k in output::UNSET_VARS {
        cmd.env_remove(k);
    }
    for k in [crate::totp::SEED_ENV, crate::mfa::TOKEN_CODE_ENV] {
        cmd.env_remove(k);
    }
    for k in [
        g.totp_secret_env.as_deref(),
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
    log.verbose(&format!(
        "running {} with the credentials for '{}'",
        program.to_string_lossy(),
        plan.target.name
    ));
    // exec(2) replaces mfacli: the command's exit status and signals are
    // its own. It returns only on failure.
    let err = cmd.exec();
    let code = if err.kind() == std::io::ErrorKind::NotFound {
        127
    } else {
        126
    };
    report(
        &UserError::new(format!("cannot run '{}': {err}", program.to_string_lossy()))
            .hint("check the command name and your PATH")
            .into(),
    );
    Ok(code)
}

fn list(sources: &Sources, json: bool) -> Result<i32> {
    let cache = sources.cache();
    let now = SystemClock.now();
    let margin = sources.refresh_margin_secs();
    let mut rows = Vec::new();
    let mut sessions: Vec<(String, i64)> = Vec::new();
    for (name, origin) in sources.target_names() {
        let mut row = serde_json::json!({"target": name.as_str(), "source": origin.label()});
        match sources.plan(name.as_str()) {
            Ok(plan) => {
                row["role_arn"] = plan.target.role_arn.as_str().into();
                row["duration"] = plan.target.duration.to_string().into();
                if let Ok(keys) = sources.aws.long_term_keys(&plan.bastion_profile) {
                    let left = provider::RoleSlot::new(&plan, &keys.access_key_id)
                        .read_fresh(&cache, now, 0)
                        .map(|e| e.credentials.seconds_left(now));
                    row["credentials_seconds_left"] = left.into();
                    row["credentials_fresh"] = left.is_some_and(|l| l > margin).into();
                    if let Some(s) = provider::cached_session(
                        &cache,
                        &keys,
                        &plan.mfa_serial,
                        &plan.endpoint.url,
                    ) {
                        let label = plan.mfa_serial.to_string();
                        if !sessions.iter().any(|(l, _)| *l == label) {
                            sessions.push((label, s.credentials.seconds_left(now)));
                        }
                    }
                }
            }
            Err(e) => row["error"] = e.message.into(),
        }
        rows.push(row);
    }
    if json {
        let sessions: Vec<_> = sessions
            .iter()
            .map(|(serial, left)| serde_json::json!({"mfa_serial": serial, "seconds_left": left}))
            .collect();
        let v = serde_json::json!({"targets": rows, "mfa_sessions": sessions});
        write_stdout(&format!("{}\n", serde_json::to_string_pretty(&v)?))?;
        return Ok(0);
    }
    if rows.is_empty() {
        let config = crate::config::config_path(sources.overrides.config.as_deref()).0;
        write_stdout(&format!(
            "No targets. Add [targets.NAME] to {} or a [profile NAME] with role_arn to {}.\n",
            config.display(),
            sources.aws.config_path.display()
        ))?;
        return Ok(0);
    }
    let w = rows
        .iter()
        .map(|r| r["target"].as_str().unwrap_or("").len())
        .max()
        .unwrap_or(6)
        .max(6);
    let mut s = format!(
        "{:<w$}  {:<13}  {:<46}  CREDENTIALS\n",
        "TARGET", "SOURCE", "ROLE"
    );
    for r in &rows {
        let role = r["role_arn"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| format!("error: {}", r["error"].as_str().unwrap_or("")));
        let creds = match r["credentials_seconds_left"].as_i64() {
            Some(l) if l > 0 => format!("{} left", output::human_left(l)),
            Some(_) => "expired".into(),
            None => "-".into(),
        };
        s.push_str(&format!(
            "{:<w$}  {:<13}  {:<46}  {creds}\n",
            r["target"].as_str().unwrap_or(""),
            r["source"].as_str().unwrap_or(""),
            role
        ));
    }
    if sessions.is_empty() {
        s.push_str("MFA session: none cached\n");
    }
    for (serial, left) in &sessions {
        s.push_str(&format!(
            "MFA session: {serial}: {}\n",
            if *left > 0 {
                format!("{} left", output::human_left(*left))
            } else {
                "expired".into()
            }
        ));
    }
    write_stdout(&s)?;
    Ok(0)
}

fn clear(sources: &Sources, log: &Log, target: Option<&str>, all: bool) -> Result<i32> {
    let cache = sources.cache();
    let names = if all {
        let mut n = cache.entries("role-");
        n.extend(cache.entries("session-"));
        n
    } else {
        let target = target.expect("clap requires TARGET or --all");
        // Unknown targets are an error, so a typo does not look like success.
        sources.plan(target)?;
        cache.entries(&provider::role_file_prefix(target))
    };
    let mut removed = 0;
    for n in &names {
        if cache
            .remove(n)
            .with_context(|| format!("removing {}", cache.path(n).display()))?
        {
            removed += 1;
        }
    }
    log.notice(&format!(
        "removed {removed} cached credential file{}",
        if removed == 1 { "" } else { "s" }
    ));
    Ok(0)
}

fn whoami(sources: &Sources, log: &Log, target: &str, json: bool) -> Result<i32> {
    let (plan, creds) = credentials(sources, log, target)?;
    log.verbose("calling STS GetCallerIdentity with the target's credentials");
    let id = StsClient::new(plan.endpoint.clone())
        .and_then(|sts| sts.get_caller_identity(Signer::Temporary(&creds.credentials)))
        .map_err(provider::sts_user_error)?;
    if json {
        write_stdout(&format!("{}\n", serde_json::to_string_pretty(&id)?))?;
    } else {
        write_stdout(&format!(
            "Account: {}\nArn:     {}\nUserId:  {}\n",
            id.account, id.arn, id.user_id
        ))?;
    }
    Ok(0)
}

fn totp(g: &GlobalArgs) -> Result<i32> {
    let config = crate::config::Config::load(g.config.as_deref())?;
    let seed = crate::totp::find_seed(g.totp_secret_env.as_deref(), &config.bastion)?.ok_or_else(|| {
        UserError::new("no TOTP seed is configured").hint(
            "set MFACLI_TOTP_SECRET, pass --totp-secret-env NAME, or set totp_secret_env / totp_secret_file in [bastion]",
        )
    })?;
    let now = SystemClock.now().timestamp().max(0) as u64;
    let left = crate::totp::STEP_SECS - now % crate::totp::STEP_SECS;
    write_stdout(&format!(
        "{} ({left}s left in this step)\n",
        seed.code_at(now).as_str()
    ))?;
    Ok(0)
}

fn policy(p: PolicyCommand) -> Result<i32> {
    use crate::policies;
    let text = match p {
        PolicyCommand::Bastion { self_manage_mfa } => {
            policies::to_pretty_json(&policies::bastion_policy(self_manage_mfa))
        }
        PolicyCommand::Trust {
            bastion_account,
            external_id,
            max_session,
            partition,
        } => {
            let v = policies::trust_policy(
                &bastion_account,
                external_id.as_deref(),
                max_session.map(|d| u64::from(d.secs())),
                &partition,
            )
            .map_err(|e| UserError::new(e.to_string()))?;
            policies::to_pretty_json(&v)
        }
        PolicyCommand::Cloudformation {
            template: Template::Bastion,
            self_manage_mfa,
        } => policies::cloudformation_bastion(self_manage_mfa),
        PolicyCommand::Cloudformation {
            template: Template::Target,
            ..
        } => policies::cloudformation_target(),
    };
    write_stdout(&text)?;
    Ok(0)
}

fn completions(shell: CompletionShell) {
    use clap_complete::{generate, shells};
    let mut cmd = Cli::command();
    let out = &mut std::io::stdout();
    match shell {
        CompletionShell::Bash => generate(shells::Bash, &mut cmd, "mfacli", out),
        CompletionShell::Zsh => generate(shells::Zsh, &mut cmd, "mfacli", out),
        CompletionShell::Fish => generate(shells::Fish, &mut cmd, "mfacli", out),
        CompletionShell::Powershell => generate(shells::PowerShell, &mut cmd, "mfacli", out),
        CompletionShell::Elvish => generate(shells::Elvish, &mut cmd, "mfacli", out),
    }
}

/// Prints an error for a person: message, hint, no debug dump.
pub fn report(err: &anyhow::Error) {
    let prefix = crate::log::paint("mfacli: error", "31");
    if let Some(u) = err.downcast_ref::<UserError>() {
        eprintln!("{prefix}: {u}");
    } else {
        eprintln!("{prefix}: {err:#}");
    }
}
