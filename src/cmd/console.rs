//! `mfacli console TARGET`: the AWS web console as the target role, from
//! the same cached MFA session as `env` (no new code while it is valid).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Result;

use super::Ctx;
use crate::chain;
use crate::cli::ConsoleArgs;
use crate::console::{self, Destination, FederationEndpoint};
use crate::error::UserError;
use crate::output::human_left;
use crate::plan::Sources;
use crate::secret::Secret;

/// Role credentials with less left than this are renewed first (through
/// the MFA session, no code), so the console session is not cut short.
const MIN_CONSOLE_SECS: i64 = 900;
/// How long to watch the browser command for an early failure.
const BROWSER_GRACE: Duration = Duration::from_secs(3);

pub(crate) fn run(ctx: &Ctx, args: ConsoleArgs) -> Result<u8> {
    // Here --region picks the landing page only: STS stays where the MFA
    // session is cached, so a region never costs a code.
    let mut overrides = ctx.overrides_with_policy(&args.policy);
    let landing_region = overrides.region.take();
    let sources = ctx.sources_with(overrides)?;

    let destination = match args.destination.as_deref() {
        None => Destination::Home,
        Some(d) => d.parse::<Destination>().map_err(|e| {
            UserError::new(format!("--destination: {e}")).hint(
                "e.g. --destination s3, --destination ec2, or --destination https://console.aws.amazon.com/iam/home",
            )
        })?,
    };
    let duration = args
        .duration
        .map(|d| {
            d.check(console::SESSION_DURATION_MIN, console::SESSION_DURATION_MAX)
                .map_err(|e| {
                    UserError::new(format!("--duration: {e}")).hint(
                        "the console allows 15m to 12h, and at most the role's maximum session duration",
                    )
                })
        })
        .transpose()?;
    // Fail on a bad target or federation URL before any code is spent.
    let plan = sources.plan(&args.target)?;
    let partition = plan.target.role_arn.partition();
    let federation_url =
        console::federation_url(args.federation_url.as_deref(), &ctx.env, partition)?;

    let (plan, creds) = match duration {
        None => chain::for_target(&sources, &ctx.log, &args.target, MIN_CONSOLE_SECS)?,
        Some(d) => {
            ctx.log.notice(&format!(
                "--duration {d}: a console session longer than the MFA session's 1h role limit needs a direct AssumeRole with the long-term keys; this costs one MFA code"
            ));
            chain::direct_for_target(&sources, &ctx.log, &args.target, d)?
        }
    };
    let role = creds
        .assumed_role_arn
        .clone()
        .unwrap_or_else(|| plan.target.role_arn.to_string());

    let endpoint = FederationEndpoint {
        url: federation_url.clone(),
        timeout: plan.endpoint.timeout,
        ca_bundle: plan.endpoint.ca_bundle.clone(),
    };
    ctx.log.verbose(&format!(
        "exchanging the credentials of {role} for a sign-in token at {federation_url}{}",
        duration.map_or(String::new(), |d| format!(
            " (SessionDuration {})",
            d.secs()
        ))
    ));
    let token =
        console::get_signin_token(&endpoint, &creds.credentials, duration).map_err(|e| {
            console::federation_user_error(
                &e,
                &federation_url,
                &args.target,
                &role,
                duration.is_some(),
            )
        })?;
    let region = landing_region.or_else(|| plan.target.region.clone());
    let landing = console::destination_url(partition, &destination, region.as_deref());
    let url = console::login_url(&federation_url, &landing, &token);
    let session_secs = match duration {
        Some(d) => i64::from(d.secs()),
        None => creds.credentials.seconds_left(chrono::Utc::now()),
    };
    let summary = format!(
        "{role}, console session {}, landing on {landing}",
        human_left(session_secs)
    );
    if args.print {
        crate::io::stdout(&format!("{}\n", url.expose()))?;
        ctx.log.notice(&format!(
            "sign-in URL for {summary}; it works once, within 15 minutes: keep it secret"
        ));
        return Ok(0);
    }
    open_browser(ctx, &sources, &url)?;
    ctx.log
        .notice(&format!("opened the AWS console as {summary}"));
    Ok(0)
}

/// Hands the URL to the browser as one argument, never through a shell.
/// The child's environment is the snapshot without the MFA seed and code.
fn open_browser(ctx: &Ctx, sources: &Sources, url: &Secret) -> Result<()> {
    let (program, before) = console::browser_command(&ctx.env);
    let url_arg = if cfg!(windows) {
        // cmd's `start` would cut the URL at each `&`.
        url.expose().replace('&', "^&")
    } else {
        url.expose().to_owned()
    };
    let mut cmd = Command::new(&program);
    cmd.args(&before)
        .arg(url_arg)
        .env_clear()
        .envs(ctx.env.iter())
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    super::strip_code_sources(ctx, sources, &mut cmd);
    ctx.log
        .verbose(&format!("opening the sign-in URL with {program}"));
    let fix =
        "set BROWSER to your browser's command, or run with --print and open the URL yourself";
    let mut child = cmd.spawn().map_err(|e| {
        UserError::new(format!(
            "cannot open a browser: cannot run '{program}': {e}"
        ))
        .hint(fix)
    })?;
    // A browser may keep running; an opener (xdg-open) exits at once. Only
    // a quick failure is reported.
    let started = Instant::now();
    while started.elapsed() < BROWSER_GRACE {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                return Err(UserError::new(format!(
                    "cannot open a browser: '{program}' failed ({status})"
                ))
                .hint(fix)
                .into())
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}
