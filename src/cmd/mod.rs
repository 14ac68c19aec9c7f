//! The command layer, in the manner of cargo's `commands/`: one file per
//! subcommand turns its clap arguments into a core call and its output.
//! Nothing below this layer imports clap or [`crate::cli`].

mod assume;
mod clear;
mod completions;
mod credential_process;
mod doctor;
mod env;
mod exec;
mod init;
mod list;
mod man;
mod policy;
mod totp;
mod whoami;

use anyhow::Result;

use crate::chain::{self, RoleCredentials};
use crate::cli::{Cli, Command, GlobalArgs, ShellArg};
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
            no_cache: g.no_cache,
            refresh: g.refresh,
            non_interactive: g.non_interactive,
        }
    }

    /// The config files, for the commands that need credentials. Warnings
    /// about them are shown once, here.
    pub(crate) fn sources(&self) -> Result<Sources> {
        let sources = Sources::load(self.overrides(), self.env.clone())?;
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
pub fn run(cli: Cli, env: Env) -> Result<u8> {
    let ctx = Ctx::new(cli.global, env);
    match cli.command {
        Command::Completions { shell } => completions::run(shell),
        Command::CompleteTargets => completions::targets(&ctx),
        Command::Man => man::run(),
        Command::Policy(p) => policy::run(p),
        Command::Totp => totp::run(&ctx),
        Command::Init(a) => init::run(&ctx, a),
        Command::Doctor(d) => doctor::run(&ctx, d),
        Command::Assume(a) => assume::run(&ctx, a),
        Command::Env(e) => env::run(&ctx, e),
        Command::Exec(e) => exec::run(&ctx, e),
        Command::CredentialProcess(t) => credential_process::run(&ctx, t),
        Command::List(j) => list::run(&ctx, j),
        Command::Clear(c) => clear::run(&ctx, c),
        Command::Whoami(w) => whoami::run(&ctx, w),
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

/// Runs `f`; if it fails, prints a statement that fails in `shell`
/// ([`output::render_failure`]) so that the caller's `eval` fails too.
pub(crate) fn failing_eval(shell: Shell, f: impl FnOnce() -> Result<u8>) -> Result<u8> {
    let r = f();
    if let Err(e) = &r {
        if !crate::io::is_broken_pipe(e) {
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
    let vars = output::env_vars(&creds.credentials, region.as_deref());
    crate::io::stdout(&output::render_exports(shell, &vars))?;
    Ok(())
}
