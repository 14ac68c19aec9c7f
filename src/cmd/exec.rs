//! `mfacli exec TARGET|--bastion -- COMMAND…`: runs a command with the
//! credentials: static ones (mfacli replaces itself with the command), or
//! with `--server` / `exec_server = true` a local credentials server that
//! keeps renewing them while mfacli stays the parent.

use std::os::unix::process::CommandExt;
use std::sync::Arc;

use anyhow::{Context, Result};

use super::Ctx;
use crate::cli::ExecArgs;
use crate::output;
use crate::plan::Sources;
use crate::server::child_profile::{ChildConfig, CHILD_PROFILE};
use crate::server::{signals, ChainFetcher, Fetcher, RouteSpec, Server};

/// What the child must not inherit in server mode: static credentials
/// (every SDK prefers them to the server), another container setting (the
/// relative URI and the token file win over ours), web identity (botocore
/// and the JS SDK try it first), boto2's credentials file, and the
/// profile and config file (replaced by the child's own, see
/// [`crate::server::child_profile`]).
const SERVER_UNSET: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CREDENTIAL_FILE",
    "MFACLI_TARGET",
];

pub(crate) fn run(ctx: &Ctx, e: ExecArgs) -> Result<u8> {
    // Signals are blocked before any thread exists (server mode), so that
    // every thread inherits the mask and only `sigwaitinfo` takes them.
    let sources = ctx.sources_for(&e.policy)?;
    if let Some(target) = e.target.as_deref() {
        let plan = sources.plan(target)?;
        let configured = sources
            .config
            .targets
            .get(&plan.target.name)
            .and_then(|t| t.exec_server)
            .or(sources.config.exec_server)
            .unwrap_or(false);
        if e.server || (configured && !e.no_server) {
            return run_with_server(ctx, e, sources);
        }
    } else if e.server {
        return Err(crate::error::UserError::new(
            "--server serves a target's role credentials; it does not work with --bastion",
        )
        .hint(
            "run `mfacli exec --bastion -- COMMAND` without --server (the MFA session lasts hours)",
        )
        .into());
    }
    let issued = super::issue(ctx, &sources, e.target.as_deref(), 0)?;
    let (creds, region) = (&issued.creds, &issued.region);
    let Some((program, args)) = e.command.split_first() else {
        anyhow::bail!("exec: no command given");
    };
    let mut cmd = child_command(ctx, &sources, program, args);
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
    Ok(cannot_run(ctx, program, &err))
}

/// The child's environment: mfacli's, without anything that could lead
/// back to the long-term keys or the MFA seed.
fn child_command(
    ctx: &Ctx,
    sources: &Sources,
    program: &std::ffi::OsStr,
    args: &[std::ffi::OsString],
) -> std::process::Command {
    let mut cmd = std::process::Command::new(program);
    cmd.args(args).env_clear().envs(ctx.env.iter());
    for k in output::UNSET_VARS {
        cmd.env_remove(k);
    }
    super::strip_code_sources(ctx, sources, &mut cmd);
    cmd
}

fn cannot_run(ctx: &Ctx, program: &std::ffi::OsStr, err: &std::io::Error) -> u8 {
    ctx.log.error(&format!(
        "cannot run '{}': {err}\n  hint: check the command name and your PATH",
        program.to_string_lossy()
    ));
    if err.kind() == std::io::ErrorKind::NotFound {
        127
    } else {
        126
    }
}

fn run_with_server(ctx: &Ctx, e: ExecArgs, sources: Sources) -> Result<u8> {
    let Some((program, args)) = e.command.split_first() else {
        anyhow::bail!("exec: no command given");
    };
    let Some(target) = e.target.as_deref() else {
        anyhow::bail!("exec --server: no target given");
    };
    let plan = sources.plan(target)?;
    let region = sources.export_region(&plan);
    let mut cmd = child_command(ctx, &sources, program, args);
    for k in SERVER_UNSET {
        cmd.env_remove(k);
    }
    // The SDKs read a profile before the container endpoint: the child
    // gets a profile of its own that names no credentials, and botocore's
    // boto2 files are out of its reach.
    let child_config = ChildConfig::create(&sources.cache(), &sources.aws)?;
    cmd.env("AWS_CONFIG_FILE", &child_config.file)
        .env("AWS_PROFILE", CHILD_PROFILE)
        .env("AWS_DEFAULT_PROFILE", CHILD_PROFILE)
        .env("BOTO_CONFIG", "/dev/null");
    ctx.log.verbose(&format!(
        "the command runs with AWS_PROFILE={CHILD_PROFILE} from {} (your config, plus a profile without credentials)",
        child_config.file.display()
    ));
    if let Some(r) = &region {
        cmd.env("AWS_REGION", r).env("AWS_DEFAULT_REGION", r);
    }
    let target = plan.target.name.to_string();
    signals::block().context("blocking signals")?;
    let server = start(ctx, sources, std::slice::from_ref(&target), 0)?;
    let (url, token) = server.client_env(&target).expect("route just added");
    cmd.env("AWS_CONTAINER_CREDENTIALS_FULL_URI", &url)
        .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", token.expose());
    ctx.log.verbose(&format!(
        "running {} with credentials served at {url}",
        program.to_string_lossy()
    ));
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(err) => return Ok(cannot_run(ctx, program, &err)),
    };
    let status = signals::forward_until_exit(&mut child).context("waiting for the command")?;
    drop(child_config);
    Ok(signals::exit_code(status))
}

/// Starts a server with one route per target on 127.0.0.1:`port` and
/// fetches each target's credentials once (any MFA prompt happens now,
/// interruptible). Signals must be blocked already.
pub(crate) fn start(ctx: &Ctx, sources: Sources, targets: &[String], port: u16) -> Result<Server> {
    let fetcher = Arc::new(ChainFetcher::new(sources, ctx.log));
    let mut routes = Vec::new();
    for t in targets {
        routes.push(RouteSpec {
            target: t.clone(),
            margin_secs: fetcher.margin_secs(t)?,
        });
    }
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).with_context(|| {
        format!(
            "cannot listen on 127.0.0.1:{port} (is another server using it? try another --port)"
        )
    })?;
    let server = Server::start(
        listener,
        routes,
        fetcher.clone() as Arc<dyn Fetcher>,
        Arc::new(crate::clock::SystemClock),
        ctx.log,
    )
    .context("starting the credentials server")?;
    for t in targets {
        signals::interruptible(|| server.prefetch(t))?;
    }
    Ok(server)
}
