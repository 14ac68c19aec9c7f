//! The command-line contract: commands, flags and environment variables.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::output::Shell;
use crate::types::{SessionDuration, TokenCode};

const AFTER_HELP: &str = "\
Examples:
  mfacli assume prod                        # one MFA code, then a summary
  eval \"$(mfacli env prod)\"                 # credentials into this shell
  mfacli exec prod -- aws s3 ls             # run one command with them
  credential_process = mfacli credential-process prod   # in ~/.aws/config

Exit codes: 0 ok, 1 error, 2 usage error; `exec` returns the command's code.
Config: $MFACLI_CONFIG, else $XDG_CONFIG_HOME/mfacli/config.toml, else ~/.config/mfacli/config.toml.";

/// MFA-aware AWS credentials for the bastion-account pattern: one MFA code
/// per working day, cached role credentials for every target account.
#[derive(Debug, Parser)]
#[command(name = "mfacli", version, about, after_help = AFTER_HELP, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes, listed under their own heading so that each
/// command's own few flags come first in its help.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// mfacli config file [default: $MFACLI_CONFIG, $XDG_CONFIG_HOME/mfacli/config.toml, ~/.config/mfacli/config.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Profile in ~/.aws/credentials with the bastion user's long-term keys
    #[arg(long, global = true, value_name = "NAME", env = "MFACLI_PROFILE")]
    pub profile: Option<String>,

    /// STS endpoint [default: $AWS_ENDPOINT_URL_STS, $AWS_ENDPOINT_URL, the regional endpoint]
    #[arg(long, global = true, value_name = "URL", value_parser = parse_url)]
    pub endpoint_url: Option<String>,

    /// Region for STS and for the exported AWS_REGION
    #[arg(long, global = true, value_name = "REGION", value_parser = parse_region)]
    pub region: Option<String>,

    /// The 6-digit MFA code (else $MFACLI_TOKEN_CODE, a TOTP seed, mfa_command, or a prompt)
    #[arg(long, global = true, value_name = "CODE", value_parser = parse_token_code)]
    pub token_code: Option<TokenCode>,

    /// Name of an environment variable holding a base32 TOTP seed (never the seed itself)
    #[arg(long, global = true, value_name = "NAME")]
    pub totp_secret_env: Option<String>,

    /// Ignore cached credentials (and do not write new ones)
    #[arg(long, global = true)]
    pub no_cache: bool,

    /// Fetch new role credentials even if cached ones are still valid
    #[arg(long, global = true)]
    pub refresh: bool,

    /// Never prompt; fail at once if an MFA code is needed and no source gives one
    #[arg(long, global = true, env = "MFACLI_NON_INTERACTIVE", value_parser = clap::builder::FalseyValueParser::new())]
    pub non_interactive: bool,

    /// STS connect/read timeout per attempt, e.g. 5s [default: 10s, or `timeout` in the config]
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<SessionDuration>,

    /// How long to wait for another mfacli fetching the same credentials [default: 60s]
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub lock_timeout: Option<SessionDuration>,

    /// Say what mfacli is doing and why (cache hits, code sources, STS calls); never secrets
    #[arg(short, long, global = true, action = ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Same as -v
    #[arg(long, global = true, hide = true)]
    pub debug: bool,

    /// Print nothing but errors on stderr
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

fn parse_token_code(s: &str) -> Result<TokenCode, String> {
    s.parse().map_err(|e: crate::types::InvalidValue| e.0)
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
    s.parse().map_err(|e: crate::types::InvalidValue| e.0)
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the known target names, one a line (for the shell completions)
    #[command(name = "__complete-targets", hide = true)]
    CompleteTargets,

    /// Get credentials for a target and show a summary (or exports, or write a profile)
    #[command(
        after_help = "Examples:\n  mfacli assume prod\n  mfacli assume prod --export\n  mfacli assume prod --write-profile prod-temp && aws --profile prod-temp s3 ls"
    )]
    Assume(AssumeArgs),

    /// Print shell code that exports the target's credentials, for eval
    #[command(
        after_help = "Examples:\n  eval \"$(mfacli env prod)\"                 # bash, zsh\n  mfacli env prod --shell fish | source\n  mfacli env prod --shell powershell | Invoke-Expression"
    )]
    Env(EnvArgs),

    /// Run a command with the target's credentials in its environment
    #[command(
        after_help = "Examples:\n  mfacli exec prod -- aws sts get-caller-identity\n  mfacli exec staging -- terraform plan"
    )]
    Exec(ExecArgs),

    /// Print credentials as JSON for the AWS CLI/SDK `credential_process` setting
    #[command(
        name = "credential-process",
        after_help = "Example, in ~/.aws/config:\n  [profile prod]\n  credential_process = mfacli credential-process prod"
    )]
    CredentialProcess(TargetArg),

    /// List targets from both config sources with their cached credentials
    #[command(after_help = "Examples:\n  mfacli list\n  mfacli list --json")]
    List(JsonArg),

    /// Delete cached credentials for a target, or everything with --all
    #[command(
        override_usage = "mfacli clear <TARGET | --all>",
        after_help = "Examples:\n  mfacli clear prod\n  mfacli clear --all"
    )]
    Clear(ClearArgs),

    /// Show who the target's credentials are (STS GetCallerIdentity)
    #[command(after_help = "Examples:\n  mfacli whoami prod\n  mfacli whoami prod --json")]
    Whoami(WhoamiArgs),

    /// Write the mfacli config: a short wizard, or flags with --non-interactive
    #[command(
        after_help = "Examples:\n  mfacli init\n  mfacli init --non-interactive --bastion-profile bastion \\\n    --mfa-serial arn:aws:iam::111111111111:mfa/alice --region eu-west-1 \\\n    --target prod=222222222222:PowerUser --target audit=444444444444:Auditor:1h\nThe global --region sets [bastion] region. An existing config is replaced only after\nasking (or with --force)."
    )]
    Init(InitArgs),

    /// Check the setup: config, keys, file modes, clock, caches and targets
    #[command(
        after_help = "Examples:\n  mfacli doctor\n  mfacli doctor prod --json\nMakes one STS GetCallerIdentity call with the long-term keys; never asks for an MFA code.\nExit code 1 if any check is an error."
    )]
    Doctor(DoctorArgs),

    /// Print the current TOTP code from the configured seed and the seconds left
    #[command(
        after_help = "Example:\n  MFACLI_TOTP_SECRET=... mfacli totp\nThe code shown is not recorded as used: mfacli may send the same code later."
    )]
    Totp,

    /// Print the IAM policies and CloudFormation templates of the bastion pattern
    #[command(subcommand)]
    Policy(PolicyCommand),

    /// Print shell completions
    #[command(
        after_help = "Examples:\n  mfacli completions bash > ~/.local/share/bash-completion/completions/mfacli\n  mfacli completions zsh > \"${fpath[1]}/_mfacli\"\n  mfacli completions fish > ~/.config/fish/completions/mfacli.fish"
    )]
    Completions {
        #[arg(value_enum)]
        shell: CompletionShell,
    },

    /// Print the man page (roff)
    #[command(after_help = "Example:\n  mfacli man > ~/.local/share/man/man1/mfacli.1")]
    Man,
}

#[derive(Debug, Args)]
pub struct TargetArg {
    /// Target: a [targets.NAME] in the mfacli config or a role profile in ~/.aws/config
    pub target: String,
}

#[derive(Debug, Args)]
pub struct JsonArg {
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AssumeArgs {
    /// Target: a [targets.NAME] in the mfacli config or a role profile in ~/.aws/config
    pub target: String,
    /// Print shell exports instead of a summary
    #[arg(long, conflicts_with = "json")]
    pub export: bool,
    /// Shell syntax for --export [default: from $SHELL]
    #[arg(long, value_enum, requires = "export")]
    pub shell: Option<ShellArg>,
    /// Write the credentials into this section of ~/.aws/credentials
    #[arg(long, value_name = "NAME")]
    pub write_profile: Option<String>,
    /// Replace a --write-profile section that mfacli did not write
    #[arg(long, requires = "write_profile")]
    pub force: bool,
    /// Machine-readable summary (no secrets)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Target: a [targets.NAME] in the mfacli config or a role profile in ~/.aws/config
    pub target: String,
    /// Shell syntax [default: from $SHELL]
    #[arg(long, value_enum)]
    pub shell: Option<ShellArg>,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Target: a [targets.NAME] in the mfacli config or a role profile in ~/.aws/config
    pub target: String,
    /// The command and its arguments, after `--`
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct ClearArgs {
    /// Target whose cached credentials to delete
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub target: Option<String>,
    /// Delete all cached credentials and MFA sessions
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct WhoamiArgs {
    /// Target: a [targets.NAME] in the mfacli config or a role profile in ~/.aws/config
    pub target: String,
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Profile with the bastion user's long-term keys [default: the only profile with keys]
    #[arg(long, value_name = "NAME")]
    pub bastion_profile: Option<String>,
    /// MFA device: arn:aws:iam::ACCOUNT:mfa/USER or a hardware serial [default: the profile's mfa_serial]
    #[arg(long, value_name = "ARN")]
    pub mfa_serial: Option<String>,
    /// MFA session length, 15m to 36h [default: 12h]
    #[arg(long, value_name = "DURATION")]
    pub session_duration: Option<String>,
    /// Role session name; needed only with a hardware MFA serial [default: the user in the MFA ARN]
    #[arg(long, value_name = "NAME")]
    pub session_name: Option<String>,
    /// A target account (repeatable); DURATION defaults to 1h
    #[arg(long = "target", value_name = "NAME=ACCOUNT:ROLE[:DURATION]")]
    pub targets: Vec<String>,
    /// Replace an existing config file without asking
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Targets to check [default: all]
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// The bastion group's identity policy: GetSessionToken, and AssumeRole only with MFA
    #[command(after_help = "Example:\n  mfacli policy bastion > bastion-policy.json")]
    Bastion {
        /// Also let users enrol their own MFA device and rotate their own keys
        #[arg(long)]
        self_manage_mfa: bool,
    },
    /// A target role's trust policy: the bastion account, only with MFA
    #[command(
        after_help = "Example:\n  mfacli policy trust --bastion-account 111111111111 --max-session 12h"
    )]
    Trust {
        /// The bastion account's 12-digit id
        #[arg(long, value_name = "ACCOUNT")]
        bastion_account: String,
        /// Require this sts:ExternalId
        #[arg(long, value_name = "ID")]
        external_id: Option<String>,
        /// Refuse MFA sessions older than this (aws:MultiFactorAuthAge)
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        max_session: Option<SessionDuration>,
        /// Partition of the ARNs
        #[arg(long, default_value = "aws", value_parser = ["aws", "aws-cn", "aws-us-gov"])]
        partition: String,
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
pub enum Template {
    Bastion,
    Target,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

/// Shell syntax for exports.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ShellArg {
    Bash,
    Zsh,
    Fish,
    #[value(alias = "pwsh")]
    Powershell,
}

impl From<ShellArg> for Shell {
    fn from(s: ShellArg) -> Shell {
        match s {
            ShellArg::Bash => Shell::Bash,
            ShellArg::Zsh => Shell::Zsh,
            ShellArg::Fish => Shell::Fish,
            ShellArg::Powershell => Shell::Powershell,
        }
    }
}
