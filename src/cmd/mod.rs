//! The command layer, in the manner of cargo's `commands/`: one file per
//! subcommand turns its clap arguments into a core call and its output.
//! Nothing below this layer imports clap or [`crate::cli`].

mod assume;
mod clear;
mod completions;
mod console;
mod credential_process;
mod doctor;
pub(crate) mod env;
mod exec;
mod hook;
mod init;
mod keys;
mod list;
mod man;
mod mfa;
mod policy;
mod prompt;
mod rotate;
mod serve;
mod totp;
mod whoami;

use anyhow::Result;

use crate::chain::{self, RoleCredentials};
use crate::cli::{Cli, Command, GlobalArgs, PolicyArgs, ShellArg};
use crate::env::Env;
use crate::log::{Level, Log};
use crate::output::{self, Shell};
use crate::plan::{Overrides, Plan, Sources};

/// What every command gets: the global flags, the environment snapshot and
/// the logger.
pub(crate) struct Ctx {
    pub(crate) global: GlobalArgs,
    pub(crate) env: Env,
    pub(crate) log: Log,
}

impl Ctx {
    fn new(global: GlobalArgs, env: Env) -> Self {
        let level = if global.quiet {
            Level::Quiet
        } else if global.verbose > 0 || global.debug {
            Level::Verbose
        } else {
            Level::Normal
        };
        let log = Log::new(level, &env);
        Self { global, env, log }
    }

    /// The global flags as the core's overrides.
    pub(crate) fn overrides(&self) -> Overrides {
        let g = &self.global;
        Overrides {
            config: g.config.clone(),
            profile: g.profile.clone(),
            endpoint_url: g.endpoint_url.clone(),
            region: g.region.clone(),
            token_code: g.token_code.clone(),
            totp_secret_env: g.totp_secret_env.clone(),
            timeout: g.timeout,
            lock_timeout: g.lock_timeout,
            mfa_deadline: g.mfa_deadline,
            no_cache: g.no_cache,
            refresh: g.refresh,
            non_interactive: g.non_interactive,
            terminal: crate::io::stderr_is_terminal(),
            policy_arns: Vec::new(),
            policy_file: None,
        }
    }

    /// The global flags plus a command's session policy flags.
    pub(crate) fn overrides_with_policy(&self, p: &PolicyArgs) -> Overrides {
        Overrides {
            policy_arns: p.policy_arns.clone(),
            policy_file: p.policy.clone(),
            ..self.overrides()
        }
    }

    /// [`Ctx::sources`] for a command that takes `--policy-arn` / `--policy`.
    pub(crate) fn sources_for(&self, p: &PolicyArgs) -> Result<Sources> {
        self.sources_with(self.overrides_with_policy(p))
    }

    /// The config files, for the commands that need credentials. Warnings
    /// about them are shown once, here.
    pub(crate) fn sources(&self) -> Result<Sources> {
        self.sources_with(self.overrides())
    }

    /// Like [`Ctx::sources`], with overrides the command adjusted.
    pub(crate) fn sources_with(&self, overrides: Overrides) -> Result<Sources> {
        let sources = Sources::load(overrides, self.env.clone())?;
        for w in sources.config.warnings.iter().chain(&sources.aws.warnings) {
            self.log.warn(w);
        }
        Ok(sources)
    }

    /// The shell syntax: the flag, else `$SHELL`.
    pub(crate) fn shell(&self, flag: Option<ShellArg>) -> Shell {
        flag.map(Shell::from)
            .unwrap_or_else(|| Shell::from_env(&self.env))
    }
}

/// Runs a parsed command line; returns the process exit code.
pub(crate) fn run(cli: Cli, env: Env) -> Result<u8> {
    let ctx = Ctx::new(cli.settings()?, env);
    match cli.command {
        Command::Completions { shell } => completions::run(shell),
        Command::CompleteTargets(_) => completions::targets(&ctx),
        Command::Globals(_) => man::globals(),
        Command::Man(m) => man::run(m),
        Command::Policy(p) => policy::run(p),
        Command::Totp(_) => totp::run(&ctx),
        Command::Init(a) => init::run(&ctx, a),
        Command::Doctor(d) => doctor::run(&ctx, d),
        Command::Assume(a) => assume::run(&ctx, a),
        Command::Env(e) => env::run(&ctx, e),
        Command::Exec(e) => exec::run(&ctx, e),
        Command::Console(c) => console::run(&ctx, c),
        Command::Serve(s) => serve::run(&ctx, s),
        Command::Hook(h) => hook::run(&ctx, h),
        Command::Prompt => prompt::run(&ctx),
        Command::CredentialProcess(t) => credential_process::run(&ctx, t),
        Command::List(j) => list::run(&ctx, j),
        Command::Clear(c) => clear::run(&ctx, c),
        Command::Whoami(w) => whoami::run(&ctx, w),
        Command::Rotate(r) => rotate::run(&ctx, r),
        Command::Mfa(m) => mfa::run(&ctx, m),
        Command::Keys(k) => keys::run(&ctx, k),
    }
}

/// Role credentials for a target with mfacli's own refresh margin.
pub(crate) fn credentials(
    ctx: &Ctx,
    sources: &Sources,
    target: &str,
) -> Result<(Plan, RoleCredentials)> {
    Ok(chain::for_target(sources, &ctx.log, target, 0)?)
}

/// Credentials handed out by `env`, `exec` and `credential-process`: a
/// target's role credentials, or with `--bastion` the MFA session's own.
pub(crate) struct Issued {
    pub(crate) creds: RoleCredentials,
    /// The region to export.
    pub(crate) region: Option<String>,
    /// "'prod'" or "the bastion account", for messages.
    pub(crate) label: String,
    /// The target's name; `None` for the bastion account.
    pub(crate) target: Option<String>,
}

/// `target` is `None` for `--bastion` (clap makes them exclusive).
pub(crate) fn issue(
    ctx: &Ctx,
    sources: &Sources,
    target: Option<&str>,
    min_margin_secs: i64,
) -> Result<Issued> {
    match target {
        Some(t) => {
            let (plan, creds) = chain::for_target(sources, &ctx.log, t, min_margin_secs)?;
            Ok(Issued {
                creds,
                region: sources.export_region(&plan),
                label: format!("'{}'", plan.target.name),
                target: Some(plan.target.name.to_string()),
            })
        }
        None => {
            let (plan, creds) = chain::for_bastion(sources, &ctx.log, min_margin_secs)?;
            Ok(Issued {
                creds,
                region: sources.bastion_export_region(&plan),
                label: "the bastion account".to_owned(),
                target: None,
            })
        }
    }
}

/// Runs `f`; if it fails, prints a statement that fails in `shell`
/// ([`output::render_failure`]) so that the caller's `eval` fails too.
/// On a terminal nothing is eval'd, and the statement would only be noise
/// before the error.
pub(crate) fn failing_eval(shell: Shell, f: impl FnOnce() -> Result<u8>) -> Result<u8> {
    let r = f();
    if let Err(e) = &r {
        if !crate::io::is_broken_pipe(e) && !crate::io::stdout_is_terminal() {
            let _ = crate::io::stdout(&output::render_failure(shell));
        }
    }
    r
}

/// Prints the exports of `creds` for `shell`.
pub(crate) fn print_exports(
    sources: &Sources,
    plan: &Plan,
    creds: &RoleCredentials,
    shell: Shell,
) -> Result<()> {
    let region = sources.export_region(plan);
    print_exports_for(
        sources,
        &creds.credentials,
        region.as_deref(),
        Some(plan.target.name.as_str()),
        shell,
    )
}

/// Prints exports of `creds` with `region`; `target` also goes out as
/// `MFACLI_TARGET`, for `mfacli hook` (which target to renew) and
/// `mfacli prompt`.
pub(crate) fn print_exports_for(
    sources: &Sources,
    creds: &crate::secret::TemporaryCredentials,
    region: Option<&str>,
    target: Option<&str>,
    shell: Shell,
) -> Result<()> {
    let mut vars = output::env_vars(creds, region);
    // A CI job's environment has no prompt hook to serve.
    if let Some(t) = target.filter(|_| shell != Shell::Github) {
        vars.push(("MFACLI_TARGET", t.to_owned()));
    }
    if shell == Shell::Github {
        return github_env(sources, &vars);
    }
    crate::io::stdout(&output::render_exports(shell, &vars))?;
    Ok(())
}

/// `--shell github`: masks on stdout first (so the values are hidden from
/// every later log line), then the variables appended to `$GITHUB_ENV`.
fn github_env(sources: &Sources, vars: &[(&str, String)]) -> Result<()> {
    use std::io::Write as _;
    let path = sources.env.path("GITHUB_ENV").ok_or_else(|| {
        crate::error::UserError::new("--shell github needs $GITHUB_ENV, which is not set")
            .hint("run it in a GitHub Actions step (the runner sets GITHUB_ENV), or use --shell bash with eval")
    })?;
    let lines = output::github_env_lines(vars)?;
    crate::io::stdout(&output::github_masks(vars))?;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .map_err(|e| {
            crate::error::UserError::new(format!(
                "cannot append to $GITHUB_ENV ({}): {e}",
                path.display()
            ))
        })?;
    file.write_all(lines.as_bytes()).map_err(|e| {
        crate::error::UserError::new(format!(
            "cannot append to $GITHUB_ENV ({}): {e}",
            path.display()
        ))
    })?;
    Ok(())
}

/// Removes from a child's environment every variable that gives an MFA
/// code or seed: `MFACLI_TOTP_SECRET`, `MFACLI_TOKEN_CODE`, the variable
/// named by `--totp-secret-env`, and each `totp_secret_env` of the config
/// (`[bastion]` and every `[[bastion.mfa_devices]]`).
pub(crate) fn strip_code_sources(ctx: &Ctx, sources: &Sources, cmd: &mut std::process::Command) {
    let bastion = sources.bastion();
    let devices = bastion.mfa_devices.iter().filter_map(|d| match &d.seed {
        crate::config::SeedSource::Env(name) => Some(name.as_str()),
        crate::config::SeedSource::File(_) => None,
    });
    [crate::mfa::totp::SEED_ENV, crate::mfa::TOKEN_CODE_ENV]
        .into_iter()
        .chain(ctx.global.totp_secret_env.as_deref())
        .chain(bastion.totp_secret_env.as_deref())
        .chain(devices)
        .for_each(|k| {
            cmd.env_remove(k);
        });
}
