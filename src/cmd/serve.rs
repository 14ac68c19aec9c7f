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
    // Resolve every target first: a typo fails before anything starts.
    for t in &targets {
        sources.plan(t)?;
    }
    let shell = ctx.shell(args.shell);
    signals::block().context("blocking signals")?;
    let server = super::exec::start(ctx, sources, &targets, args.port.unwrap_or(0))?;
    let mut out = String::new();
    for t in &targets {
        let (url, token) = server.client_env(t).expect("one route per target");
        let vars = [
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", url),
            (
                "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                token.expose().to_owned(),
            ),
        ];
        out.push_str(&format!("# {t}\n"));
        out.push_str(&output::render_exports_unset(shell, &vars, CLIENT_UNSET));
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
