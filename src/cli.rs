//! The command-line contract: commands, flags and environment variables.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ArgAction, Args, CommandFactory, Parser, Subcommand, ValueEnum};
use clap_complete::{ArgValueCandidates, CompletionCandidate};

use crate::env::Env;
use crate::output::Shell;
use crate::types::{AccountId, ExternalId, InvalidValue, Partition, SessionDuration, TokenCode};

const AFTER_HELP: &str = "\
Examples:
  mfacli assume prod                        # one MFA code, then a summary
  eval \"$(mfacli env prod)\"                 # credentials into this shell
  mfacli exec prod -- aws s3 ls             # run one command with them
  credential_process = mfacli credential-process prod   # in ~/.aws/config

Shared options (--profile, --region, --token-code, --refresh, …): mfacli help globals
Exit codes: 0 ok, 1 error, 2 usage error; `exec` returns the command's code.
Config: $MFACLI_CONFIG, else $XDG_CONFIG_HOME/mfacli/config.toml, else ~/.config/mfacli/config.toml.";

/// MFA-aware AWS credentials for the bastion-account pattern: one MFA code
/// per working day, cached role credentials for every target account.
#[derive(Debug, Parser)]
#[command(name = "mfacli", version, about, after_help = AFTER_HELP, max_term_width = 100)]
pub(crate) struct Cli {
    /// -v, -q: the only options every command takes.
    #[command(flatten)]
    pub(crate) verbosity: Verbosity,

    /// The shared options given before the command's name (`mfacli
    /// --profile x env prod`, as before they became per command): hidden,
    /// merged into the command's own by [`Cli::settings`], and a usage
    /// error for a command that does not take them.
    #[command(flatten)]
    pub(crate) before: SharedBefore,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The settings a command runs with, merged from the options it takes
/// (see [`Cli::settings`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct GlobalArgs {
    pub(crate) config: Option<PathBuf>,
    pub(crate) profile: Option<String>,
    pub(crate) endpoint_url: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) token_code: Option<TokenCode>,
    pub(crate) totp_secret_env: Option<String>,
    pub(crate) no_cache: bool,
    pub(crate) refresh: bool,
    pub(crate) non_interactive: bool,
    pub(crate) timeout: Option<SessionDuration>,
    pub(crate) lock_timeout: Option<SessionDuration>,
    pub(crate) mfa_deadline: Option<SessionDuration>,
    pub(crate) verbose: u8,
    pub(crate) debug: bool,
    pub(crate) quiet: bool,
}

impl Cli {
    /// Parses the command line. `credential-process TARGET`, which the AWS
    /// CLI and SDKs run before every call, is recognised without building
    /// clap's command tree (about half of a cache hit's instructions);
    /// every other command line goes to clap. Both give the same `Cli`
    /// (`tests::fast_path_parses_as_clap_does`).
    /// A usage error (or `--help`) is returned, for the caller to print
    /// with [`clap::Error::exit`].
    pub(crate) fn parse_args(args: Vec<OsString>, env: &Env) -> Result<Cli, clap::Error> {
        match Self::parse_fast(&args, env) {
            Some(cli) => Ok(cli),
            None => Self::try_parse(&args).map_err(|e| exec_needs_dashes(e, &args)),
        }
    }

    /// clap's parse of [`command`]'s tree.
    pub(crate) fn try_parse(args: &[OsString]) -> Result<Cli, clap::Error> {
        use clap::FromArgMatches;
        let matches = command().try_get_matches_from(args)?;
        Cli::from_arg_matches(&matches)
    }

    /// The command's settings: its own shared options, then those given
    /// before its name. One given before the name of a command that does
    /// not take it is a usage error (as it is after the name).
    pub(crate) fn settings(&self) -> Result<GlobalArgs, crate::error::UserError> {
        let (config, mfa, cache) = self.command.shared();
        let b = &self.before;
        let unused: Vec<&str> = [
            (config.is_none(), b.config.given()),
            (mfa.is_none(), b.mfa.given()),
            (cache.is_none(), b.cache.given()),
        ]
        .into_iter()
        .filter(|(unused, _)| *unused)
        .flat_map(|(_, given)| given)
        .collect();
        if !unused.is_empty() {
            return Err(crate::error::UserError::new(format!(
                "this command does not take {}",
                unused.join(", ")
            ))
            .hint("see the command's options with `mfacli COMMAND --help`, the shared ones with `mfacli help globals`")
            .usage());
        }
        let c = config.cloned().unwrap_or_default();
        let m = mfa.cloned().unwrap_or_default();
        let k = cache.cloned().unwrap_or_default();
        let (bc, bm, bk) = (&b.config, &b.mfa, &b.cache);
        let v = &self.verbosity;
        Ok(GlobalArgs {
            // Before the name: typed (no environment variable there), so it
            // wins over the command's own, which may come from the environment.
            config: bc.config.clone().or(c.config),
            profile: bc.profile.clone().or(c.profile),
            endpoint_url: bc.endpoint_url.clone().or(c.endpoint_url),
            region: bc.region.clone().or(c.region),
            timeout: bc.timeout.or(c.timeout),
            token_code: bm.token_code.clone().or(m.token_code),
            totp_secret_env: bm.totp_secret_env.clone().or(m.totp_secret_env),
            non_interactive: m.non_interactive
                || bm.non_interactive
                || self.command.init_non_interactive(),
            lock_timeout: bm.lock_timeout.or(m.lock_timeout),
            mfa_deadline: bm.mfa_deadline.or(m.mfa_deadline),
            no_cache: k.no_cache || bk.no_cache,
            refresh: k.refresh || bk.refresh,
            verbose: v.verbose,
            debug: v.debug,
            quiet: v.quiet,
        })
    }

    fn parse_fast(args: &[OsString], env: &Env) -> Option<Cli> {
        let [_, command, target] = args else {
            return None;
        };
        let target = target.to_str()?;
        if command != "credential-process" || target.is_empty() || target.starts_with('-') {
            return None;
        }
        // The two global flags clap also takes from the environment, read
        // as clap reads them: present means set, even when empty.
        let text = |name: &str| env.var_os(name).map(|v| v.to_str().map(str::to_owned));
        let profile = match text(FAST_PROFILE_ENV) {
            Some(Some(v)) => Some(v),
            Some(None) => return None,
            None => None,
        };
        let non_interactive = match text(FAST_NON_INTERACTIVE_ENV) {
            Some(Some(v)) => !matches!(
                v.to_ascii_lowercase().as_str(),
                "" | "n" | "no" | "f" | "false" | "off" | "0"
            ),
            Some(None) => return None,
            None => false,
        };
        Some(Cli {
            verbosity: Verbosity::default(),
            before: SharedBefore::default(),
            command: Command::CredentialProcess(TargetArg {
                target: Some(target.to_owned()),
                bastion: false,
                shared: CredOpts {
                    config: ConfigArgs {
                        profile,
                        ..ConfigArgs::default()
                    },
                    mfa: MfaArgs {
                        non_interactive,
                        ..MfaArgs::default()
                    },
                    cache: CacheArgs::default(),
                },
                policy: PolicyArgs::default(),
            }),
        })
    }
}

/// The environment variable of clap's dynamic completion:
/// `source <(COMPLETE=bash mfacli)` prints the shell's registration, and
/// the shell then runs `COMPLETE=bash mfacli -- WORDS…` at each Tab.
pub(crate) const COMPLETE_ENV: &str = "COMPLETE";

/// Answers a completion request and exits, when `$COMPLETE` asks for one
/// (set, not empty, not `0`); otherwise returns at once. Checked in the
/// captured environment first, so a normal run never builds the command tree.
pub(crate) fn complete_if_asked(env: &Env) {
    if env
        .var_os(COMPLETE_ENV)
        .is_some_and(|v| !v.is_empty() && v != "0")
    {
        clap_complete::CompleteEnv::with_factory(Cli::command)
            .var(COMPLETE_ENV)
            .complete();
    }
}

/// Target names for completion: the config's and ~/.aws/config's, as
/// `mfacli list` sees them with no flags; none when they cannot be read.
fn target_candidates() -> Vec<CompletionCandidate> {
    let env = Env::capture();
    crate::plan::Sources::load(crate::plan::Overrides::default(), env)
        .map(|s| {
            s.target_names()
                .into_iter()
                .map(|(n, origin)| {
                    CompletionCandidate::new(n.to_string()).help(Some(origin.label().into()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `mfacli exec prod aws sts …` without `--`: clap sees `aws` as an
/// argument of exec; say where the `--` goes.
fn exec_needs_dashes(mut e: clap::Error, args: &[OsString]) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let exec = args.iter().position(|a| a == "exec");
    let stray = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) if !s.starts_with('-') => s.clone(),
        _ => return e,
    };
    if e.kind() != ErrorKind::UnknownArgument || exec.is_none() || args.iter().any(|a| a == "--") {
        return e;
    }
    let before: Vec<String> = args[1..]
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .take_while(|a| *a != stray)
        .collect();
    e.insert(
        ContextKind::Suggested,
        ContextValue::StyledStrs(vec![format!(
            "the command to run goes after `--`: mfacli {} -- {stray} …",
            before.join(" ")
        )
        .into()]),
    );
    e
}

/// The environment variables behind global flags (see [`Cli::parse_args`]).
const FAST_PROFILE_ENV: &str = "MFACLI_PROFILE";
const FAST_NON_INTERACTIVE_ENV: &str = "MFACLI_NON_INTERACTIVE";

/// The parse tree: [`Cli`]'s, with the options given before a command's
/// name read from the command line only (their environment variables are
/// the command's own), and each subcommand's help ending with where the
/// shared options are described.
pub(crate) fn command() -> clap::Command {
    let cmd = Cli::command().mut_args(|a| if a.is_global_set() { a } else { a.env(None) });
    cmd.mut_subcommands(with_pointer)
}

/// How each subcommand's help ends when it takes shared options.
pub(crate) const SHARED_POINTER: &str = "options: mfacli help globals";

/// Appends [`SHARED_POINTER`] to the help of a command that takes shared
/// options, and shows them on `mfacli help globals`.
fn with_pointer(sub: clap::Command) -> clap::Command {
    if sub.get_name() == "globals" {
        return sub.mut_args(|a| if a.is_global_set() { a } else { a.hide(false) });
    }
    let has = |id: &str| sub.get_arguments().any(|a| a.get_id() == id);
    let groups: Vec<&str> = [
        ("config", "config"),
        ("token_code", "MFA"),
        ("refresh", "cache"),
    ]
    .into_iter()
    .filter(|(id, _)| has(id))
    .map(|(_, group)| group)
    .collect();
    let sub = sub.mut_subcommands(with_pointer);
    if groups.is_empty() {
        return sub;
    }
    let line = format!(
        "Also takes the shared {} {SHARED_POINTER}",
        groups.join(", ")
    );
    let text = match sub.get_after_help() {
        Some(h) => format!("{h}\n{line}"),
        None => line,
    };
    sub.after_help(text)
}

/// -v and -q: every command takes them, before or after its name.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct Verbosity {
    /// Say what mfacli is doing and why (cache hits, code sources, STS calls); never secrets
    #[arg(short, long, global = true, action = ArgAction::Count, conflicts_with = "quiet")]
    pub(crate) verbose: u8,

    /// Same as -v
    #[arg(long, global = true, hide = true)]
    pub(crate) debug: bool,

    /// Print nothing but errors on stderr
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
}

/// Where mfacli reads its setup: the config, the bastion profile, STS.
/// Taken by every command that reads the config (hidden from its help;
/// `mfacli help globals` lists them).
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Config options")]
pub(crate) struct ConfigArgs {
    /// mfacli config file [default: $MFACLI_CONFIG, $XDG_CONFIG_HOME/mfacli/config.toml, ~/.config/mfacli/config.toml]
    #[arg(long, value_name = "PATH", hide = true)]
    pub(crate) config: Option<PathBuf>,

    /// Profile in ~/.aws/credentials with the bastion user's long-term keys
    #[arg(long, value_name = "NAME", env = FAST_PROFILE_ENV, hide = true)]
    pub(crate) profile: Option<String>,

    /// STS endpoint [default: $AWS_ENDPOINT_URL_STS, $AWS_ENDPOINT_URL, the regional endpoint]
    #[arg(long, value_name = "URL", value_parser = parse_url, hide = true)]
    pub(crate) endpoint_url: Option<String>,

    /// Region for STS and for the exported AWS_REGION
    #[arg(long, value_name = "REGION", value_parser = parse_region, hide = true)]
    pub(crate) region: Option<String>,

    /// STS connect/read timeout per attempt, e.g. 5s [default: 10s, or `timeout` in the config]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, hide = true)]
    pub(crate) timeout: Option<SessionDuration>,
}

/// Where an MFA code comes from, and how long to wait for one. Taken by
/// the commands that may need a code.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "MFA options")]
pub(crate) struct MfaArgs {
    /// The 6-digit MFA code (else $MFACLI_TOKEN_CODE, a TOTP seed, mfa_command, or a prompt)
    #[arg(long, value_name = "CODE", value_parser = parse_token_code, hide = true)]
    pub(crate) token_code: Option<TokenCode>,

    /// Name of an environment variable holding a base32 TOTP seed (never the seed itself)
    #[arg(long, value_name = "NAME", hide = true)]
    pub(crate) totp_secret_env: Option<String>,

    /// Never prompt; fail at once if an MFA code is needed and no source gives one
    #[arg(long, env = FAST_NON_INTERACTIVE_ENV, value_parser = clap::builder::FalseyValueParser::new(), hide = true)]
    pub(crate) non_interactive: bool,

    /// How long to wait for another mfacli fetching the same credentials [default: 60s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, hide = true)]
    pub(crate) lock_timeout: Option<SessionDuration>,

    /// How long to keep trying TOTP codes that STS rejects as already used (by another CI machine), e.g. 10m [default: 5m, or [bastion] mfa_deadline]
    #[arg(long, value_name = "DURATION", value_parser = parse_mfa_deadline, hide = true)]
    pub(crate) mfa_deadline: Option<SessionDuration>,
}

/// The credentials cache. Taken by the commands that hand out credentials.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Cache options")]
pub(crate) struct CacheArgs {
    /// Ignore cached credentials (and do not write new ones)
    #[arg(long, hide = true)]
    pub(crate) no_cache: bool,

    /// Fetch new role credentials even if cached ones are still valid
    #[arg(long, hide = true)]
    pub(crate) refresh: bool,
}

impl ConfigArgs {
    fn given(&self) -> Vec<&'static str> {
        [
            (self.config.is_some(), "--config"),
            (self.profile.is_some(), "--profile"),
            (self.endpoint_url.is_some(), "--endpoint-url"),
            (self.region.is_some(), "--region"),
            (self.timeout.is_some(), "--timeout"),
        ]
        .into_iter()
        .filter_map(|(set, name)| set.then_some(name))
        .collect()
    }
}

impl MfaArgs {
    fn given(&self) -> Vec<&'static str> {
        [
            (self.token_code.is_some(), "--token-code"),
            (self.totp_secret_env.is_some(), "--totp-secret-env"),
            (self.non_interactive, "--non-interactive"),
            (self.lock_timeout.is_some(), "--lock-timeout"),
            (self.mfa_deadline.is_some(), "--mfa-deadline"),
        ]
        .into_iter()
        .filter_map(|(set, name)| set.then_some(name))
        .collect()
    }
}

impl CacheArgs {
    fn given(&self) -> Vec<&'static str> {
        [(self.no_cache, "--no-cache"), (self.refresh, "--refresh")]
            .into_iter()
            .filter_map(|(set, name)| set.then_some(name))
            .collect()
    }
}

/// The shared options given before the command's name.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct SharedBefore {
    #[command(flatten)]
    pub(crate) config: ConfigArgs,
    #[command(flatten)]
    pub(crate) mfa: MfaArgs,
    #[command(flatten)]
    pub(crate) cache: CacheArgs,
}

/// The options of the commands that hand out credentials.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct CredOpts {
    #[command(flatten)]
    pub(crate) config: ConfigArgs,
    #[command(flatten)]
    pub(crate) mfa: MfaArgs,
    #[command(flatten)]
    pub(crate) cache: CacheArgs,
}

/// The options of the commands on the bastion account (no role cache).
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct AccountOpts {
    #[command(flatten)]
    pub(crate) config: ConfigArgs,
    #[command(flatten)]
    pub(crate) mfa: MfaArgs,
}

/// The options of the commands that only read the config.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct ConfigOpts {
    #[command(flatten)]
    pub(crate) config: ConfigArgs,
}

type Shared<'a> = (
    Option<&'a ConfigArgs>,
    Option<&'a MfaArgs>,
    Option<&'a CacheArgs>,
);

impl CredOpts {
    fn shared(&self) -> Shared<'_> {
        (Some(&self.config), Some(&self.mfa), Some(&self.cache))
    }
}
impl AccountOpts {
    fn shared(&self) -> Shared<'_> {
        (Some(&self.config), Some(&self.mfa), None)
    }
}
impl ConfigOpts {
    fn shared(&self) -> Shared<'_> {
        (Some(&self.config), None, None)
    }
}

impl Command {
    /// The shared option groups this command takes.
    fn shared(&self) -> Shared<'_> {
        match self {
            Command::Assume(a) => a.shared.shared(),
            Command::Env(a) => a.shared.shared(),
            Command::Exec(a) => a.shared.shared(),
            Command::Console(a) => a.shared.shared(),
            Command::Serve(a) => a.shared.shared(),
            Command::CredentialProcess(a) => a.shared.shared(),
            Command::Whoami(a) => a.shared.shared(),
            Command::Doctor(a) => a.shared.shared(),
            Command::Rotate(a) => a.shared.shared(),
            Command::Totp(a) => a.shared(),
            Command::Mfa(
                MfaCommand::AddVirtual { shared, .. } | MfaCommand::List { shared, .. },
            ) => shared.shared(),
            Command::Keys(
                KeysCommand::Add { shared }
                | KeysCommand::Import { shared }
                | KeysCommand::List { shared }
                | KeysCommand::Remove { shared },
            ) => shared.shared(),
            Command::Hook(a) => a.shared.shared(),
            Command::List(a) => a.shared.shared(),
            Command::Clear(a) => a.shared.shared(),
            Command::CompleteTargets(a) => a.shared(),
            Command::Init(a) => a.shared.shared(),
            Command::Globals(_)
            | Command::Prompt
            | Command::Policy(_)
            | Command::Completions { .. }
            | Command::Man(_) => (None, None, None),
        }
    }

    /// `init --non-interactive` (init's own: it never needs an MFA code).
    fn init_non_interactive(&self) -> bool {
        matches!(self, Command::Init(a) if a.non_interactive)
    }
}

fn parse_token_code(s: &str) -> Result<TokenCode, String> {
    s.parse().map_err(|e: crate::types::InvalidValue| e.0)
}

fn parse_mfa_deadline(s: &str) -> Result<SessionDuration, String> {
    parse_duration(s)?
        .check(
            crate::config::MFA_DEADLINE_MIN,
            crate::config::MFA_DEADLINE_MAX,
        )
        .map_err(|e: crate::types::InvalidValue| e.0)
}

fn parse_url(s: &str) -> Result<String, String> {
    let host = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or("");
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(format!(
            "'{s}' is not an http(s) URL (e.g. https://sts.eu-west-1.amazonaws.com)"
        ));
    }
    Ok(s.to_owned())
}

fn parse_region(s: &str) -> Result<String, String> {
    crate::types::check_region(s)
        .map(|()| s.to_owned())
        .map_err(|e| e.0)
}

fn parse_duration(s: &str) -> Result<SessionDuration, String> {
    parse_value(s)
}

/// Any validated value from `types.rs`: clap reports its error with the
/// flag's name and exits 2.
fn parse_value<T: std::str::FromStr<Err = InvalidValue>>(s: &str) -> Result<T, String> {
    s.parse().map_err(|e: InvalidValue| e.0)
}

/// An MFA age for a trust policy: 1 s to 36 h, the longest MFA session.
fn parse_mfa_age(s: &str) -> Result<SessionDuration, String> {
    parse_value::<SessionDuration>(s)?
        .check(1, SessionDuration::SESSION_MAX)
        .map_err(|e| e.0)
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print the known target names, one a line (for the shell completions)
    #[command(name = "__complete-targets", hide = true)]
    CompleteTargets(ConfigOpts),

    /// The options shared by several commands (config, MFA, cache)
    #[command(
        hide = true,
        after_help = "Each command takes the groups it uses; `mfacli COMMAND --help` names them. -v and -q go anywhere.\nEnvironment: MFACLI_PROFILE (--profile), MFACLI_NON_INTERACTIVE (--non-interactive),\nMFACLI_CONFIG, MFACLI_TOKEN_CODE, MFACLI_TOTP_SECRET, MFACLI_CACHE_DIR, AWS_ENDPOINT_URL_STS."
    )]
    Globals(CredOpts),

    /// Get credentials for a target and show a summary (or exports, or write a profile)
    #[command(
        after_help = "Examples:\n  mfacli assume prod\n  mfacli assume prod --export\n  mfacli assume prod --write-profile prod-temp && aws --profile prod-temp s3 ls"
    )]
    Assume(AssumeArgs),

    /// Print shell code that exports the target's credentials, for eval
    #[command(
        after_help = "Examples:\n  eval \"$(mfacli env prod)\"                 # bash, zsh\n  mfacli env prod --shell fish | source\n  mfacli env prod --shell powershell | Invoke-Expression\n  mfacli env prod --shell github             # GitHub Actions: into $GITHUB_ENV, masked"
    )]
    Env(EnvArgs),

    /// Run a command with the target's credentials in its environment
    #[command(
        after_help = "Examples:\n  mfacli exec prod -- aws sts get-caller-identity\n  mfacli exec staging -- terraform plan"
    )]
    Exec(ExecArgs),

    /// Open the AWS web console as the target role (same MFA session, no password)
    #[command(
        after_help = "Examples:\n  mfacli console prod                       # opens $BROWSER / xdg-open / open\n  mfacli console prod --destination s3 --region eu-central-1\n  mfacli console prod --print               # the sign-in URL on stdout (a secret for 15 min)\n  mfacli console prod --duration 8h         # longer console session: costs one MFA code\nWithout --duration the console session lasts as long as the role credentials (at most 1h\nthrough the MFA session). --region here picks the landing page only."
    )]
    Console(ConsoleArgs),
    /// Serve renewing credentials to other programs (IDEs, docker) from a local server
    #[command(
        after_help = "Examples:\n  mfacli serve prod                 # prints the two exports a client needs\n  mfacli serve prod staging --port 9911\n  docker run --network host -e AWS_CONTAINER_CREDENTIALS_FULL_URI \\\n    -e AWS_CONTAINER_AUTHORIZATION_TOKEN amazon/aws-cli sts get-caller-identity\nStops on SIGINT/SIGTERM."
    )]
    Serve(ServeArgs),

    /// Print a shell hook that renews `mfacli env` credentials before each prompt
    #[command(
        after_help = "Examples:\n  eval \"$(mfacli hook bash)\"      # in ~/.bashrc\n  eval \"$(mfacli hook zsh)\"       # in ~/.zshrc\n  mfacli hook fish | source        # in ~/.config/fish/config.fish"
    )]
    Hook(HookArgs),

    /// Print a short prompt segment for the active target, e.g. `prod 42m`
    #[command(
        after_help = "Example:\n  PS1='$(mfacli prompt) '\"$PS1\"\nReads only MFACLI_TARGET and AWS_CREDENTIAL_EXPIRATION; prints nothing when no target is active."
    )]
    Prompt,

    /// Print credentials as JSON for the AWS CLI/SDK `credential_process` setting
    #[command(
        name = "credential-process",
        after_help = "Example, in ~/.aws/config:\n  [profile prod]\n  credential_process = mfacli credential-process prod"
    )]
    CredentialProcess(TargetArg),

    /// List targets from both config sources with their cached credentials
    #[command(after_help = "Examples:\n  mfacli list\n  mfacli list --json")]
    List(ListArgs),

    /// Delete cached credentials for a target, or everything with --all
    #[command(
        override_usage = "mfacli clear <TARGET | --all> [--totp-state]",
        after_help = "Examples:\n  mfacli clear prod\n  mfacli clear --all\n  mfacli clear --all --totp-state"
    )]
    Clear(ClearArgs),

    /// Show who the target's credentials are (STS GetCallerIdentity)
    #[command(
        after_help = "Examples:\n  mfacli whoami prod\n  mfacli whoami prod --json\n  mfacli whoami --bastion"
    )]
    Whoami(WhoamiArgs),

    /// Write the mfacli config: a short wizard, or flags with --non-interactive
    #[command(
        after_help = "Examples:\n  mfacli init\n  mfacli init --non-interactive --bastion-profile bastion \\\n    --mfa-serial arn:aws:iam::111111111111:mfa/alice --region eu-west-1 \\\n    --target prod=222222222222:PowerUser --target audit=444444444444:Auditor:1h\nThe global --region sets [bastion] region. An existing config is replaced only after\nasking (or with --force)."
    )]
    Init(InitArgs),

    /// Check the setup: config, keys, file modes, clock, caches and targets
    #[command(
        after_help = "Examples:\n  mfacli doctor\n  mfacli doctor prod --json\nMakes one STS GetCallerIdentity call with the long-term keys; never asks for an MFA code.\nWith --check-mfa, also one GetSessionToken per configured TOTP device (spends a code each).\nWith --check-roles, also one AssumeRole per target through the cached MFA session (no code).\nExit code 1 if any check is an error."
    )]
    Doctor(DoctorArgs),

    /// Rotate the bastion user's access key (with the MFA session)
    #[command(
        after_help = "Examples:\n  mfacli rotate\n  mfacli rotate --deactivate\nCreates a new key, writes it into the bastion profile (backup: <file>.mfacli-bak), waits\nuntil STS accepts it, then deletes the old key (--deactivate: only deactivates it).\nThe cached MFA session moves to the new key and stays valid."
    )]
    Rotate(RotateArgs),

    /// The bastion user's MFA devices: add a virtual device, list devices
    #[command(subcommand)]
    Mfa(MfaCommand),

    /// The bastion's access key in the OS keyring instead of ~/.aws/credentials
    #[command(subcommand)]
    Keys(KeysCommand),

    /// Print the current TOTP code from the configured seed and the seconds left
    #[command(
        after_help = "Example:\n  MFACLI_TOTP_SECRET=... mfacli totp\nThe code shown is not recorded as used: mfacli may send the same code later."
    )]
    Totp(AccountOpts),

    /// Print the IAM policies and CloudFormation templates of the bastion pattern
    #[command(subcommand)]
    Policy(PolicyCommand),

    /// Print the shell code that registers mfacli's completions (commands, flags, target names)
    #[command(
        after_help = "Examples, one line in the shell's startup file:\n  source <(COMPLETE=bash mfacli)              # ~/.bashrc (no bash-completion package needed)\n  source <(COMPLETE=zsh mfacli)               # ~/.zshrc, after compinit\n  COMPLETE=fish mfacli | source               # ~/.config/fish/config.fish\n`mfacli completions SHELL` prints the same code. At each Tab the shell asks mfacli\nitself, so completions follow upgrades and the config's targets."
    )]
    Completions {
        #[arg(value_enum)]
        shell: CompletionShell,
    },

    /// Print the man page (roff), or write one page per command with --dir
    #[command(
        after_help = "Examples:\n  mfacli man > ~/.local/share/man/man1/mfacli.1\n  mfacli man --dir ~/.local/share/man/man1      # mfacli.1, mfacli-env.1, …"
    )]
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub(crate) struct TargetArg {
    /// Target: a [targets.NAME] in the mfacli config or a role profile in ~/.aws/config
    #[arg(required_unless_present = "bastion", conflicts_with = "bastion", add = ArgValueCandidates::new(target_candidates))]
    pub(crate) target: Option<String>,
    /// The bastion account itself: the MFA session's own credentials (no AssumeRole)
    #[arg(long)]
    pub(crate) bastion: bool,
    #[command(flatten)]
    pub(crate) shared: CredOpts,
    #[command(flatten)]
    pub(crate) policy: PolicyArgs,
}

/// `--policy-arn` and `--policy`: a session policy that narrows the role
/// for this run (and replaces the target's `policy_arns` / `policy`).
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Session policy")]
pub(crate) struct PolicyArgs {
    /// Narrow the role to this managed policy ARN (repeatable, at most 10)
    #[arg(long = "policy-arn", value_name = "ARN")]
    pub(crate) policy_arns: Vec<String>,
    /// Narrow the role to this inline session policy: a JSON file, or - for stdin
    #[arg(long, value_name = "FILE")]
    pub(crate) policy: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Machine-readable output
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) shared: ConfigOpts,
}

#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// Write mfacli.1 and one page per command (mfacli-env.1, …) into this directory
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct AssumeArgs {
    /// Target: a [targets.NAME] in the mfacli config or a role profile in ~/.aws/config
    #[arg(add = ArgValueCandidates::new(target_candidates))]
    pub(crate) target: String,
    /// Print shell exports instead of a summary
    #[arg(long, conflicts_with = "json")]
    pub(crate) export: bool,
    /// Shell syntax for --export [default: from $SHELL]
    #[arg(long, value_enum, requires = "export")]
    pub(crate) shell: Option<ShellArg>,
    /// Write the credentials into this section of ~/.aws/credentials
    #[arg(long, value_name = "NAME")]
    pub(crate) write_profile: Option<String>,
    /// Replace a --write-profile section that mfacli did not write
    #[arg(long, requires = "write_profile")]
    pub(crate) force: bool,
    /// Machine-readable summary (no secrets)
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) shared: CredOpts,
    #[command(flatten)]
    pub(crate) policy: PolicyArgs,
}

#[derive(Debug, Args)]
pub(crate) struct EnvArgs {
    /// Target: a [targets.NAME] in the mfacli config or a role profile in ~/.aws/config
    /// (without one, env lists the targets)
    #[arg(conflicts_with = "bastion", add = ArgValueCandidates::new(target_candidates))]
    pub(crate) target: Option<String>,
    /// The bastion account itself: the MFA session's own credentials (no AssumeRole)
    #[arg(long)]
    pub(crate) bastion: bool,
    /// Shell syntax [default: from $SHELL]
    #[arg(long, value_enum)]
    pub(crate) shell: Option<ShellArg>,
    #[command(flatten)]
    pub(crate) shared: CredOpts,
    #[command(flatten)]
    pub(crate) policy: PolicyArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ExecArgs {
    /// Target: a [targets.NAME] in the mfacli config or a role profile in ~/.aws/config
    #[arg(required_unless_present = "bastion", conflicts_with = "bastion", add = ArgValueCandidates::new(target_candidates))]
    pub(crate) target: Option<String>,
    /// The bastion account itself: the MFA session's own credentials (no AssumeRole)
    #[arg(long)]
    pub(crate) bastion: bool,
    /// Serve renewing credentials to the command from a local server (container-credentials
    /// contract) instead of static ones [default: `exec_server` in the config]
    #[arg(long, conflicts_with = "no_server")]
    pub(crate) server: bool,
    /// Hand the command static credentials even if the config sets `exec_server`
    #[arg(long)]
    pub(crate) no_server: bool,
    /// The command and its arguments, after `--`
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub(crate) command: Vec<OsString>,
    #[command(flatten)]
    pub(crate) shared: CredOpts,
    #[command(flatten)]
    pub(crate) policy: PolicyArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ConsoleArgs {
    /// Target: a [targets.NAME] in the mfacli config or a role profile in ~/.aws/config
    #[arg(add = ArgValueCandidates::new(target_candidates))]
    pub(crate) target: String,
    /// Print the sign-in URL to stdout instead of opening a browser (it is a secret for 15 minutes)
    #[arg(long)]
    pub(crate) print: bool,
    /// Landing page: a service (s3, ec2, iam, …) or a full console URL [default: the console home in the target's region]
    #[arg(long, value_name = "URL-OR-SERVICE")]
    pub(crate) destination: Option<String>,
    /// Console session length, 15m to 12h (at most the role's maximum): a direct AssumeRole with the long-term keys that costs one MFA code
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(crate) duration: Option<SessionDuration>,
    /// Federation endpoint [default: $MFACLI_FEDERATION_URL, else https://signin.aws.amazon.com/federation or the partition's]
    #[arg(long, value_name = "URL")]
    pub(crate) federation_url: Option<String>,
    #[command(flatten)]
    pub(crate) shared: CredOpts,
    #[command(flatten)]
    pub(crate) policy: PolicyArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Targets to serve, one route each [default: every target]
    #[arg(value_name = "TARGET", add = ArgValueCandidates::new(target_candidates))]
    pub(crate) targets: Vec<String>,
    /// Port on 127.0.0.1 [default: a free one]
    #[arg(long, value_name = "N")]
    pub(crate) port: Option<u16>,
    /// Shell syntax of the printed exports [default: from $SHELL]
    #[arg(long, value_enum)]
    pub(crate) shell: Option<ShellArg>,
    #[command(flatten)]
    pub(crate) shared: CredOpts,
    #[command(flatten)]
    pub(crate) policy: PolicyArgs,
}

#[derive(Debug, Args)]
pub(crate) struct HookArgs {
    /// The shell to hook
    #[arg(value_enum)]
    pub(crate) shell: HookShell,
    #[command(flatten)]
    pub(crate) shared: ConfigOpts,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum HookShell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Args)]
pub(crate) struct ClearArgs {
    /// Target whose cached credentials to delete
    #[arg(required_unless_present_any = ["all", "totp_state"], conflicts_with_all = ["all", "totp_state"], add = ArgValueCandidates::new(target_candidates))]
    pub(crate) target: Option<String>,
    /// Delete all cached credentials and MFA sessions (TOTP replay records are kept)
    #[arg(long)]
    pub(crate) all: bool,
    /// Also delete the TOTP replay records (which step's code was last sent to STS)
    #[arg(long)]
    pub(crate) totp_state: bool,
    #[command(flatten)]
    pub(crate) shared: ConfigOpts,
}

#[derive(Debug, Args)]
pub(crate) struct WhoamiArgs {
    /// Target: a [targets.NAME] in the mfacli config or a role profile in ~/.aws/config
    #[arg(required_unless_present = "bastion", conflicts_with = "bastion", add = ArgValueCandidates::new(target_candidates))]
    pub(crate) target: Option<String>,
    /// The bastion account itself: the MFA session's own identity (no AssumeRole)
    #[arg(long)]
    pub(crate) bastion: bool,
    /// Machine-readable output
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) shared: CredOpts,
    #[command(flatten)]
    pub(crate) policy: PolicyArgs,
}

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Profile with the bastion user's long-term keys [default: the only profile with keys]
    #[arg(long, value_name = "NAME")]
    pub(crate) bastion_profile: Option<String>,
    /// MFA device: arn:aws:iam::ACCOUNT:mfa/USER or a hardware serial [default: the profile's mfa_serial]
    #[arg(long, value_name = "ARN")]
    pub(crate) mfa_serial: Option<String>,
    /// MFA session length, 15m to 36h [default: 12h]
    #[arg(long, value_name = "DURATION")]
    pub(crate) session_duration: Option<String>,
    /// Role session name; needed only with a hardware MFA serial [default: the user in the MFA ARN]
    #[arg(long, value_name = "NAME")]
    pub(crate) session_name: Option<String>,
    /// A target account (repeatable); DURATION defaults to 1h
    #[arg(long = "target", value_name = "NAME=ACCOUNT:ROLE[:DURATION]")]
    pub(crate) targets: Vec<String>,
    /// Another TOTP device of the bastion user for parallel CI (repeatable): its serial and the name of the variable that will hold its seed
    #[arg(long = "mfa-device", value_name = "SERIAL=ENV")]
    pub(crate) mfa_devices: Vec<String>,
    /// Replace an existing config file without asking
    #[arg(long)]
    pub(crate) force: bool,
    /// No questions: everything from the flags and the AWS files
    #[arg(long, env = FAST_NON_INTERACTIVE_ENV, value_parser = clap::builder::FalseyValueParser::new())]
    pub(crate) non_interactive: bool,
    #[command(flatten)]
    pub(crate) shared: ConfigOpts,
}

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    /// Targets to check [default: all]
    #[arg(value_name = "TARGET", add = ArgValueCandidates::new(target_candidates))]
    pub(crate) targets: Vec<String>,
    /// Machine-readable output
    #[arg(long)]
    pub(crate) json: bool,
    /// Also check that each TOTP seed's code is accepted by its device (one GetSessionToken per device; spends a code each)
    #[arg(long)]
    pub(crate) check_mfa: bool,
    /// Also AssumeRole each target through the cached MFA session (no MFA code), to check its trust policy and external id
    #[arg(long)]
    pub(crate) check_roles: bool,
    #[command(flatten)]
    pub(crate) shared: AccountOpts,
}

#[derive(Debug, Args)]
pub(crate) struct RotateArgs {
    /// Only deactivate the old key instead of deleting it
    #[arg(long)]
    pub(crate) deactivate: bool,
    /// Do not ask before retiring the old key (needed without a terminal)
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,
    /// Say what would change in IAM and the credentials file, change nothing
    #[arg(long, conflicts_with = "yes")]
    pub(crate) dry_run: bool,
    #[command(flatten)]
    pub(crate) shared: AccountOpts,
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Store an access key in the keyring (asked on the terminal, or two lines on stdin)
    #[command(
        after_help = "Examples:\n  mfacli keys add --profile bastion\n  printf '%s\\n%s\\n' \"$ID\" \"$SECRET\" | mfacli keys add --profile bastion\nChecks the key with one STS GetCallerIdentity before storing it, then sets\n[bastion] key_store = \"keyring\" and keyring = the backend used, in the mfacli config."
    )]
    Add {
        #[command(flatten)]
        shared: AccountOpts,
    },
    /// Move a profile's access key from ~/.aws/credentials into the keyring
    #[command(
        after_help = "Example:\n  mfacli keys import --profile bastion\nStores the key, reads it back, checks it with STS, then removes its two lines from\n~/.aws/credentials (every other byte kept; no backup of the old text is left)."
    )]
    Import {
        #[command(flatten)]
        shared: AccountOpts,
    },
    /// List the profiles with a key in the keyring
    List {
        #[command(flatten)]
        shared: AccountOpts,
    },
    /// Delete a profile's key (and MFA session) from the keyring
    Remove {
        #[command(flatten)]
        shared: AccountOpts,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum MfaCommand {
    /// Create and enable a virtual MFA device for the bastion user
    #[command(
        name = "add-virtual",
        after_help = "Examples:\n  mfacli mfa add-virtual alice-ci --seed-file ~/alice-ci.seed\n  mfacli mfa add-virtual alice-phone2\nThe device's serial is arn:aws:iam::ACCOUNT:mfa/NAME. Without --seed-file the base32\nseed is printed once on stdout: store it (authenticator app, CI secret) right away."
    )]
    AddVirtual {
        /// Device name; start it with your user name (the self-manage policy allows NAME*)
        #[arg(value_name = "NAME")]
        name: String,
        /// Write the seed to this new file (mode 0600) instead of printing it
        #[arg(long, value_name = "PATH")]
        seed_file: Option<PathBuf>,
        #[command(flatten)]
        shared: AccountOpts,
    },
    /// List the bastion user's MFA devices
    #[command(after_help = "Examples:\n  mfacli mfa list\n  mfacli mfa list --json")]
    List {
        /// Machine-readable output
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        shared: AccountOpts,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// The bastion group's identity policy: GetSessionToken, and AssumeRole only with MFA
    #[command(after_help = "Example:\n  mfacli policy bastion > bastion-policy.json")]
    Bastion {
        /// Also let users rotate their own keys and add their own MFA devices (with MFA)
        #[arg(long)]
        self_manage_mfa: bool,
    },
    /// A target role's trust policy: the bastion account, only with MFA
    #[command(
        after_help = "Example:\n  mfacli policy trust --bastion-account 111111111111 --max-session 12h"
    )]
    Trust {
        /// The bastion account's 12-digit id
        #[arg(long, value_name = "ACCOUNT", value_parser = parse_value::<AccountId>)]
        bastion_account: AccountId,
        /// Require this sts:ExternalId
        #[arg(long, value_name = "ID", value_parser = parse_value::<ExternalId>)]
        external_id: Option<ExternalId>,
        /// Refuse MFA sessions older than this (aws:MultiFactorAuthAge), at most 36h
        #[arg(long, value_name = "DURATION", value_parser = parse_mfa_age)]
        max_session: Option<SessionDuration>,
        /// Partition of the ARNs: aws, aws-cn or aws-us-gov
        #[arg(long, default_value = "aws", value_parser = parse_value::<Partition>)]
        partition: Partition,
    },
    /// CloudFormation templates (YAML) for the bastion group or a target role
    #[command(after_help = "Example:\n  mfacli policy cloudformation target > target-role.yaml")]
    Cloudformation {
        #[arg(value_enum)]
        template: Template,
        /// For `bastion`: include the MFA self-management statements
        #[arg(long)]
        self_manage_mfa: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Template {
    Bastion,
    Target,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum CompletionShell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

/// Shell syntax for exports.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ShellArg {
    Bash,
    /// POSIX sh and dash: the same `export` lines bash gets
    Sh,
    Zsh,
    Fish,
    #[value(alias = "pwsh")]
    Powershell,
    /// GitHub Actions: append KEY=value lines to $GITHUB_ENV, print ::add-mask:: lines
    Github,
}

impl From<ShellArg> for Shell {
    fn from(s: ShellArg) -> Shell {
        match s {
            ShellArg::Bash | ShellArg::Sh => Shell::Bash,
            ShellArg::Zsh => Shell::Zsh,
            ShellArg::Fish => Shell::Fish,
            ShellArg::Powershell => Shell::Powershell,
            ShellArg::Github => Shell::Github,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    /// The fast path must give exactly what clap gives, for every value of
    /// the environment variables clap reads. clap reads the process
    /// environment, so this one test sets and restores them.
    #[test]
    #[allow(clippy::disallowed_methods)]
    fn fast_path_parses_as_clap_does() {
        // Every global flag clap may take from the environment is one the
        // fast path knows.
        let envs: Vec<String> = command()
            .find_subcommand("credential-process")
            .unwrap()
            .get_arguments()
            .filter_map(|a| a.get_env())
            .map(|e| e.to_string_lossy().into_owned())
            .collect();
        assert_eq!(envs, [FAST_PROFILE_ENV, FAST_NON_INTERACTIVE_ENV]);
        let values: [Option<&str>; 8] = [
            None,
            Some(""),
            Some("bastion"),
            Some("0"),
            Some("false"),
            Some("No"),
            Some("1"),
            Some("yes"),
        ];
        let guard = crate::env::PROCESS_ENV_LOCK
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for profile in values {
            for non_interactive in values {
                let mut env = Env::default();
                for (name, value) in [
                    (FAST_PROFILE_ENV, profile),
                    (FAST_NON_INTERACTIVE_ENV, non_interactive),
                ] {
                    match value {
                        Some(v) => {
                            std::env::set_var(name, v);
                            env.set(name, v);
                        }
                        None => std::env::remove_var(name),
                    }
                }
                for target in ["prod", "a.b-c_d", "ünïcode"] {
                    let args: Vec<OsString> = ["mfacli", "credential-process", target]
                        .map(Into::into)
                        .to_vec();
                    let fast = Cli::parse_fast(&args, &env).expect("the fast path applies");
                    let clap = Cli::try_parse(&args).unwrap();
                    assert_eq!(
                        format!("{fast:?}"),
                        format!("{clap:?}"),
                        "{profile:?} {non_interactive:?} {target}"
                    );
                }
            }
        }
        std::env::remove_var(FAST_PROFILE_ENV);
        std::env::remove_var(FAST_NON_INTERACTIVE_ENV);
        drop(guard);
        // Anything else is clap's.
        let env = Env::default();
        for args in [
            &["mfacli", "credential-process"][..],
            &["mfacli", "credential-process", "--bastion"],
            &["mfacli", "credential-process", "-v"],
            &["mfacli", "credential-process", "prod", "-v"],
            &["mfacli", "env", "prod"],
            &["mfacli", "credential-process", ""],
        ] {
            let args: Vec<OsString> = args.iter().map(Into::into).collect();
            assert!(Cli::parse_fast(&args, &env).is_none(), "{args:?}");
        }
    }

    fn trust(extra: &[&str]) -> Result<Cli, clap::Error> {
        let mut args = vec!["mfacli", "policy", "trust", "--bastion-account"];
        args.extend(extra);
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        Cli::try_parse(&args)
    }

    /// Bad policy inputs are usage errors (exit 2) that name the flag; the
    /// rules themselves are the types' (`types.rs`), written once.
    #[test]
    fn bad_policy_inputs_are_usage_errors_naming_the_flag() {
        let cases: &[(&[&str], &str)] = &[
            (&["12"], "--bastion-account"),
            (&["12345678901"], "--bastion-account"),
            (&["1234567890123"], "--bastion-account"),
            (&["12345678901a"], "--bastion-account"),
            (&[" 123456789012"], "--bastion-account"),
            (&["１２３４５６７８９０１２"], "--bastion-account"),
            (&["111111111111", "--external-id", "a"], "--external-id"),
            (&["111111111111", "--external-id", "ab cd"], "--external-id"),
            (
                &["111111111111", "--external-id", "ab${x}"],
                "--external-id",
            ),
            (&["111111111111", "--max-session", "0s"], "--max-session"),
            (&["111111111111", "--max-session", "40h"], "--max-session"),
            (&["111111111111", "--partition", "aws-iso"], "--partition"),
            (&["111111111111", "--partition", "AWS"], "--partition"),
        ];
        for (args, flag) in cases {
            let e = trust(args).expect_err(&format!("{args:?} must be refused"));
            assert_eq!(e.kind(), ErrorKind::ValueValidation, "{args:?}");
            assert_eq!(e.exit_code(), 2);
            assert!(e.to_string().contains(flag), "{args:?}: {e}");
        }
        let long = "a".repeat(1224);
        assert!(trust(&[
            "000000000000",
            "--external-id",
            &long,
            "--max-session",
            "36h"
        ])
        .is_ok());
        assert!(trust(&["000000000000", "--external-id", &format!("{long}a")]).is_err());
    }
}
