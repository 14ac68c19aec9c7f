//! `mfacli serve [TARGET…]`: the `exec --server` credentials server as a
//! long-lived process for programs mfacli does not start.

use anyhow::{Context, Result};

use super::Ctx;
use crate::cli::ServeArgs;
use crate::output;
use crate::server::signals;

/// Unset in the client's shell: each would win over the server.
const CLIENT_UNSET: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
];

pub(crate) fn run(ctx: &Ctx, args: ServeArgs) -> Result<u8> {
    let sources = ctx.sources_for(&args.policy)?;
    let targets: Vec<String> = if args.targets.is_empty() {
        sources
            .target_names()
            .into_iter()
            .map(|(n, _)| n.to_string())
            .collect()
    } else {
        args.targets.clone()
    };
    if targets.is_empty() {
        anyhow::bail!(crate::error::UserError::new("no targets to serve")
            .hint("name them (`mfacli serve prod`) or define [targets.NAME] in the mfacli config"));
    }
    let shell = ctx.shell(args.shell);
    if shell == output::Shell::Github {
        // A server that one step starts cannot hand later steps anything
        // through $GITHUB_ENV that outlives it; env writes real values.
        anyhow::bail!(crate::error::UserError::new(
            "serve does not support --shell github: a job's later steps would point at a server that stops with this step"
        )
        .hint("in GitHub Actions use `mfacli env TARGET --shell github` (credentials for the job's later steps) or `mfacli exec --server TARGET -- COMMAND`")
        .usage());
    }
    // Resolve every target first: a typo fails before anything starts.
    let mut regions = Vec::new();
    for t in &targets {
        let plan = sources.plan(t)?;
        regions.push(sources.export_region(&plan));
    }
    signals::block().context("blocking signals")?;
    let server = super::exec::start(ctx, sources, &targets, args.port.unwrap_or(0))?;
    // The first target's exports are live; a shell can point at one
    // route at a time, so the others' come commented out, to copy.
    let mut out = String::new();
    for (i, (t, region)) in targets.iter().zip(&regions).enumerate() {
        let (url, token) = server.client_env(t).expect("one route per target");
        let mut vars = vec![
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", url),
            (
                "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                token.expose().to_owned(),
            ),
        ];
        if let Some(r) = region {
            vars.push(("AWS_REGION", r.clone()));
            vars.push(("AWS_DEFAULT_REGION", r.clone()));
        }
        let text = output::render_exports_unset(shell, &vars, CLIENT_UNSET);
        if i == 0 {
            out.push_str(&format!("# {t}\n{text}"));
        } else {
            out.push_str(&format!(
                "# {t} (to use it instead, run these lines without the #)\n"
            ));
            for line in text.lines() {
                out.push_str(&format!("# {line}\n"));
            }
        }
    }
    crate::io::stdout(&out)?;
    ctx.log.notice(&format!(
        "serving {} on {}; stop with Ctrl-C",
        targets.join(", "),
        server.addr()
    ));
    let sig = signals::wait_for_stop().context("waiting for a signal")?;
    ctx.log.verbose(&format!("signal {sig}: stopping"));
    server.stop();
    Ok(0)
}
