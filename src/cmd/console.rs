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
/// How long the browser has to fetch the one-time redirect.
const BROWSER_WAIT: Duration = Duration::from_secs(60);

/// A console `--duration` AWS refused for a role (over its
/// MaxSessionDuration), kept in the cache.
#[derive(serde::Serialize, serde::Deserialize)]
struct RefusedDuration {
    role_arn: String,
    refused_secs: u32,
}

/// The cache entry of [`RefusedDuration`] for a role.
pub(crate) fn refused_file(role_arn: &str) -> String {
    format!(
        "{REFUSED_PREFIX}{}.json",
        crate::cache::key_hash(&[role_arn])
    )
}

/// Cache entries `clear --all` removes with the credentials.
pub(crate) const REFUSED_PREFIX: &str = "console-max-";

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
            let cache = sources.cache().with_log(ctx.log);
            let file = refused_file(plan.target.role_arn.as_str());
            if let Some(r) = cache.read::<RefusedDuration>(&file).filter(|r| {
                r.role_arn == plan.target.role_arn.as_str() && d.secs() >= r.refused_secs
            }) {
                return Err(UserError::new(format!(
                    "--duration {d}: AWS refused {} for {} before (over the role's maximum session duration); not asking for an MFA code",
                    crate::types::SessionDuration::from_secs(r.refused_secs),
                    r.role_arn
                ))
                .hint("pass a shorter --duration (at most the role's MaxSessionDuration), or none for a session as long as the role credentials; if the role's maximum was raised, `mfacli clear --all` forgets this")
                .usage()
                .into());
            }
            ctx.log.notice(&format!(
                "--duration {d}: a console session longer than the MFA session's 1h role limit needs a direct AssumeRole with the long-term keys; this costs one MFA code"
            ));
            match chain::direct_for_target(&sources, &ctx.log, &args.target, d) {
                // The role's maximum cannot be read with the bastion
                // user's rights: remember AWS's answer, so the next run
                // refuses before a code is spent.
                Err(mut e) if e.message.contains("MaxSessionDuration") => {
                    let record = RefusedDuration {
                        role_arn: plan.target.role_arn.to_string(),
                        refused_secs: d.secs(),
                    };
                    if cache.write(&file, &record).is_ok() {
                        let h = e.hint.take().unwrap_or_default();
                        e.hint = Some(format!("{h} mfacli remembers this: --duration {d} or more for this role is refused next time before any MFA code is asked for.").trim_start().to_owned());
                    }
                    return Err(e.into());
                }
                r => r?,
            }
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
    // The region `env` would export (target, else [bastion]), unless
    // --region names another landing page.
    let region = landing_region.or_else(|| sources.export_region(&plan));
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

/// Opens the console without the sign-in URL ever being on a command line
/// (another local user can read every process's argv): the browser gets a
/// one-time loopback URL that redirects to it ([`console::OneTimeRedirect`]),
/// as one argument, never through a shell. The child's environment is the
/// snapshot without the MFA seed and code; its stderr goes to a private
/// memory file and is shown, masked, only if it fails.
fn open_browser(ctx: &Ctx, sources: &Sources, url: &Secret) -> Result<()> {
    let (program, before) = console::browser_command(&ctx.env);
    let fix =
        "set BROWSER to your browser's command, or run with --print and open the URL yourself";
    let redirect = console::OneTimeRedirect::bind().map_err(|e| {
        UserError::new(format!(
            "cannot open a browser: no loopback port for the one-time redirect: {e}"
        ))
        .hint(fix)
    })?;
    let stderr_file = private_output_file();
    let mut cmd = Command::new(&program);
    cmd.args(&before)
        .arg(redirect.url())
        .env_clear()
        .envs(ctx.env.iter())
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    match stderr_file.as_ref().and_then(|f| f.try_clone().ok()) {
        Some(f) => cmd.stderr(f),
        None => cmd.stderr(Stdio::null()),
    };
    super::strip_code_sources(ctx, sources, &mut cmd);
    ctx.log.verbose(&format!(
        "opening a one-time loopback redirect to the sign-in URL with {program}"
    ));
    let mut child = cmd.spawn().map_err(|e| {
        UserError::new(format!(
            "cannot open a browser: cannot run '{program}': {e}"
        ))
        .hint(fix)
    })?;
    // The opener (xdg-open) exits at once, a browser may keep running; the
    // page is fetched within BROWSER_WAIT or not at all. Only a failure
    // before the fetch is an error.
    let started = Instant::now();
    let mut exited = false;
    loop {
        if redirect.poll(url) == console::Served::Redirected {
            if redirect.refused() > 0 {
                ctx.log.warn(&format!(
                    "{} connection(s) of another local user to the one-time redirect were refused",
                    redirect.refused()
                ));
            }
            return Ok(());
        }
        if !exited {
            match child.try_wait() {
                Ok(Some(status)) if !status.success() => {
                    let said = stderr_file
                        .as_ref()
                        .map(read_start)
                        .map(|raw| console::helper_output(&raw, &[url.expose(), redirect.url()]))
                        .filter(|t| !t.is_empty())
                        .map(|t| format!(": {t}"))
                        .unwrap_or_default();
                    return Err(UserError::new(format!(
                        "cannot open a browser: '{program}' failed ({status}){said}"
                    ))
                    .hint(fix)
                    .into());
                }
                Ok(Some(_)) => exited = true,
                Ok(None) => {}
                Err(_) => exited = true,
            }
        }
        if started.elapsed() >= BROWSER_WAIT {
            let others = match redirect.refused() {
                0 => String::new(),
                n => format!("; {n} connection(s) of another local user were refused"),
            };
            return Err(UserError::new(format!(
                "cannot open a browser: '{program}' did not open the sign-in page within {} s{others}",
                BROWSER_WAIT.as_secs()
            ))
            .hint(format!("{fix} (the browser gets a one-time http://127.0.0.1 redirect, which answers only your user on this machine)"))
            .into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// An anonymous file only this process can reach (Linux `memfd`), for a
/// helper's stderr; `None` elsewhere (the helper's stderr is then dropped).
fn private_output_file() -> Option<std::fs::File> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::FromRawFd;
        // SAFETY: a valid NUL-terminated name; the fd is owned by the File.
        let fd =
            unsafe { libc::memfd_create(c"mfacli-browser-stderr".as_ptr(), libc::MFD_CLOEXEC) };
        (fd >= 0).then(|| unsafe { std::fs::File::from_raw_fd(fd) })
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// The first 4 KiB written to `f`.
fn read_start(f: &std::fs::File) -> Vec<u8> {
    use std::io::{Read, Seek};
    let mut f = f;
    let mut buf = Vec::new();
    let _ = f.rewind();
    let _ = f.take(4096).read_to_end(&mut buf);
    buf
}
