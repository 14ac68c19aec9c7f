//! Turns flags, environment, mfacli config and the AWS files into one plan
//! per target, with precedence flag > environment > mfacli config > ~/.aws.

use std::path::PathBuf;
use std::time::Duration;

use crate::aws_files::AwsFiles;
use crate::cache::Cache;
use crate::config::{BastionConfig, Config};
use crate::env::Env;
use crate::error::{did_you_mean, UserError};
use crate::sts::Endpoint;
use crate::types::{
    ExternalId, InlinePolicy, MfaSerial, Partition, PolicyArn, Region, RoleArn, SessionDuration,
    SessionName, SessionPolicy, TargetName, TokenCode,
};

/// Settings that apply to every command, from flags and environment.
#[derive(Debug, Clone, Default)]
pub(crate) struct Overrides {
    pub(crate) config: Option<PathBuf>,
    pub(crate) profile: Option<String>,
    pub(crate) endpoint_url: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) token_code: Option<TokenCode>,
    pub(crate) totp_secret_env: Option<String>,
    pub(crate) timeout: Option<SessionDuration>,
    pub(crate) lock_timeout: Option<SessionDuration>,
    /// `--mfa-deadline`: how long to keep trying rejected TOTP codes.
    pub(crate) mfa_deadline: Option<SessionDuration>,
    pub(crate) no_cache: bool,
    pub(crate) refresh: bool,
    pub(crate) non_interactive: bool,
    /// stderr is a terminal: someone is watching, so a TOTP code STS
    /// rejects ends the run at once instead of being retried until the
    /// MFA deadline (that retry is for CI machines sharing a device).
    pub(crate) terminal: bool,
    /// `--policy-arn` (repeatable) and `--policy FILE|-`: a session policy
    /// that replaces the target's own, checked once in [`Sources::load`].
    pub(crate) policy_arns: Vec<String>,
    pub(crate) policy_file: Option<PathBuf>,
}

/// Where a target was defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Origin {
    MfacliConfig,
    AwsConfig,
}

impl Origin {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Origin::MfacliConfig => "mfacli config",
            Origin::AwsConfig => "aws config",
        }
    }
}

/// One target, fully resolved.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) name: TargetName,
    pub(crate) origin: Origin,
    pub(crate) role_arn: RoleArn,
    pub(crate) duration: SessionDuration,
    pub(crate) session_name: SessionName,
    pub(crate) external_id: Option<ExternalId>,
    pub(crate) region: Option<String>,
    /// The session policy that narrows the role (empty: the role's own
    /// permissions).
    pub(crate) policy: SessionPolicy,
}

/// Everything needed to produce credentials for a target, except secrets.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) target: Target,
    pub(crate) bastion_profile: String,
    pub(crate) mfa_serial: MfaSerial,
    pub(crate) session_duration: SessionDuration,
    pub(crate) endpoint: Endpoint,
}

/// The most a session policy file may hold (STS takes 2 048 characters
/// without whitespace; indentation can make the file several times that).
const POLICY_FILE_LIMIT: u64 = 64 * 1024;

/// The session policy from `--policy-arn` and `--policy`, if either is given.
fn flag_policy(o: &Overrides) -> Result<Option<SessionPolicy>, UserError> {
    if o.policy_arns.is_empty() && o.policy_file.is_none() {
        return Ok(None);
    }
    let arns = o
        .policy_arns
        .iter()
        .map(|a| {
            a.parse::<PolicyArn>().map_err(|e| {
                UserError::new(format!("--policy-arn: {e}"))
                    .hint("e.g. --policy-arn arn:aws:iam::aws:policy/ReadOnlyAccess")
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let inline = match &o.policy_file {
        None => None,
        Some(p) if p.as_os_str() == "-" => {
            use std::io::Read;
            let mut text = String::new();
            std::io::stdin()
                .take(POLICY_FILE_LIMIT + 1)
                .read_to_string(&mut text)
                .map_err(|e| {
                    UserError::new(format!(
                        "--policy -: cannot read the policy from stdin: {e}"
                    ))
                })?;
            if text.len() as u64 > POLICY_FILE_LIMIT {
                return Err(UserError::new(format!(
                    "--policy -: stdin holds more than {POLICY_FILE_LIMIT} bytes; a session policy is at most 2048 characters"
                )));
            }
            Some(inline_policy(&text, "--policy - (stdin)")?)
        }
        Some(p) => Some(read_policy_file(p, &format!("--policy {}", p.display()))?),
    };
    SessionPolicy::new(arns, inline).map(Some).map_err(|e| {
        UserError::new(format!("--policy-arn / --policy: {e}")).hint(POLICY_LIMIT_HINT)
    })
}

const POLICY_LIMIT_HINT: &str = "use fewer or shorter policies: at most 10 ARNs, and 2048 characters for the ARNs and the inline policy together";

fn inline_policy(text: &str, place: &str) -> Result<InlinePolicy, UserError> {
    text.parse().map_err(|e| {
        UserError::new(format!("{place}: {e}")).hint(
            "a session policy is an IAM policy document: {\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"s3:Get*\", \"Resource\": \"*\"}]}",
        )
    })
}

fn read_policy_file(path: &std::path::Path, place: &str) -> Result<InlinePolicy, UserError> {
    let file =
        crate::aws_files::read_text_file_limited(path, "session policy file", POLICY_FILE_LIMIT)
            .map_err(|mut e| {
                e.message = format!("{place}: {}", e.message);
                e
            })?;
    match file {
        Some(f) => inline_policy(&f.text, place),
        None => Err(UserError::new(format!(
            "{place}: session policy file {} does not exist",
            path.display()
        ))
        .hint("give the path of a JSON IAM policy document")),
    }
}

/// A config target's session policy: its `policy_arns`, and its `policy`
/// file read now (only the target being planned pays for the read).
fn config_policy(
    t: &crate::config::TargetConfig,
    name: &str,
    env: &Env,
) -> Result<SessionPolicy, UserError> {
    let inline = t
        .policy_file
        .as_deref()
        .map(|p| {
            read_policy_file(
                &env.expand_tilde(p.to_owned()),
                &format!("[targets.{name}] policy"),
            )
        })
        .transpose()?;
    SessionPolicy::new(t.policy_arns.clone(), inline).map_err(|e| {
        UserError::new(format!("[targets.{name}] policy_arns / policy: {e}"))
            .hint(POLICY_LIMIT_HINT)
    })
}

/// The bastion account itself: what starts (or reuses) the MFA session.
#[derive(Debug, Clone)]
pub(crate) struct SessionPlan {
    pub(crate) bastion_profile: String,
    pub(crate) mfa_serial: MfaSerial,
    pub(crate) session_duration: SessionDuration,
    pub(crate) endpoint: Endpoint,
}

impl Plan {
    /// The MFA session this target's role credentials come from.
    pub(crate) fn session(&self) -> SessionPlan {
        SessionPlan {
            bastion_profile: self.bastion_profile.clone(),
            mfa_serial: self.mfa_serial.clone(),
            session_duration: self.session_duration,
            endpoint: self.endpoint.clone(),
        }
    }
}

/// Loaded configuration sources.
pub(crate) struct Sources {
    pub(crate) config: Config,
    pub(crate) aws: AwsFiles,
    pub(crate) overrides: Overrides,
    pub(crate) env: Env,
    /// The session policy from the flags, read and checked once (stdin
    /// can be read only once, and a server plans a target many times).
    pub(crate) flag_policy: Option<SessionPolicy>,
}

pub(crate) const DEFAULT_TIMEOUT: SessionDuration = SessionDuration::from_secs(10);
pub(crate) const DEFAULT_LOCK_TIMEOUT: SessionDuration = SessionDuration::from_secs(60);
pub(crate) const DEFAULT_REFRESH_MARGIN: SessionDuration = SessionDuration::from_secs(300);
pub(crate) const DEFAULT_SESSION: SessionDuration = SessionDuration::from_secs(43_200);

impl Sources {
    pub(crate) fn load(overrides: Overrides, env: Env) -> Result<Self, UserError> {
        if let Some(r) = &overrides.region {
            Region::parse_from(r, "--region")?;
        }
        let config = Config::load(overrides.config.as_deref(), &env)?;
        let aws = AwsFiles::load(&env)?;
        let flag_policy = flag_policy(&overrides)?;
        let mut sources = Self {
            config,
            aws,
            overrides,
            env,
            flag_policy,
        };
        if let Some(w) = sources.insecure_warning()? {
            sources.config.warnings.push(w);
        }
        Ok(sources)
    }

    /// `$MFACLI_ALLOW_INSECURE_ENDPOINT=1`: plain http to another host.
    fn insecure_allowed(&self) -> Result<bool, UserError> {
        Ok(self.env.text(INSECURE_ENV)? == Some("1"))
    }

    /// A warning when plain http to another host is allowed and in use.
    fn insecure_warning(&self) -> Result<Option<String>, UserError> {
        let url = match &self.overrides.endpoint_url {
            Some(u) => Some(u.as_str()),
            None => match self.env.text("AWS_ENDPOINT_URL_STS")? {
                Some(u) => Some(u),
                None => self.env.text("AWS_ENDPOINT_URL")?,
            },
        };
        Ok(url
            .filter(|u| u.starts_with("http://") && !is_loopback_url(u))
            .filter(|_| self.insecure_allowed().unwrap_or(false))
            .map(|u| {
                format!("{INSECURE_ENV}=1: talking to STS at {u} over plain http; the MFA code and session can be read on the way")
            }))
    }

    pub(crate) fn bastion(&self) -> &BastionConfig {
        &self.config.bastion
    }

    pub(crate) fn cache(&self) -> Cache {
        Cache::new(crate::cache::default_dir(&self.env))
    }

    pub(crate) fn refresh_margin_secs(&self) -> i64 {
        i64::from(
            self.config
                .refresh_margin
                .unwrap_or(DEFAULT_REFRESH_MARGIN)
                .secs(),
        )
    }

    pub(crate) fn lock_timeout(&self) -> Duration {
        let d = self
            .overrides
            .lock_timeout
            .or(self.config.lock_timeout)
            .unwrap_or(DEFAULT_LOCK_TIMEOUT);
        Duration::from_secs(d.secs().into())
    }

    /// How long a TOTP run keeps trying codes STS rejects (another machine
    /// used them): --mfa-deadline > [bastion] mfa_deadline > 5 minutes.
    pub(crate) fn mfa_deadline(&self) -> Duration {
        let d = self
            .overrides
            .mfa_deadline
            .or(self.config.bastion.mfa_deadline)
            .map_or(crate::config::MFA_DEADLINE_DEFAULT, |d| d.secs());
        Duration::from_secs(d.into())
    }

    /// The region to export: --region > the target's region > [bastion] region.
    pub(crate) fn export_region(&self, plan: &Plan) -> Option<String> {
        self.overrides
            .region
            .clone()
            .or_else(|| plan.target.region.clone())
            // [bastion] region is a default for every target: one of
            // another partition (an aws-cn target) is not exported.
            .or_else(|| {
                self.bastion()
                    .region
                    .clone()
                    .filter(|r| region_partition(r) == plan.target.role_arn.partition())
            })
    }

    /// All target names from both sources (mfacli config wins on clashes).
    pub(crate) fn target_names(&self) -> Vec<(TargetName, Origin)> {
        let mut out: Vec<(TargetName, Origin)> = self
            .config
            .targets
            .keys()
            .map(|n| (n.clone(), Origin::MfacliConfig))
            .collect();
        for (name, _) in self.aws.role_profiles() {
            if let Ok(n) = name.parse::<TargetName>() {
                if !self.config.targets.contains_key(&n) {
                    out.push((n, Origin::AwsConfig));
                }
            }
        }
        out.sort();
        out
    }

    /// The bastion profile for a target: --profile > $MFACLI_PROFILE >
    /// [bastion] profile > the target's source_profile > $AWS_PROFILE > default.
    pub(crate) fn bastion_profile(&self, source_profile: Option<&str>) -> String {
        self.overrides
            .profile
            .clone()
            .or_else(|| self.env.lossy("MFACLI_PROFILE").map(str::to_owned))
            .or_else(|| self.config.bastion.profile.clone())
            .or_else(|| source_profile.map(str::to_owned))
            // AWS_PROFILE often names the target itself (the SDK runs
            // credential_process with it set), so it only counts when it
            // holds long-term keys.
            .or_else(|| {
                self.env
                    .lossy("AWS_PROFILE")
                    .map(str::to_owned)
                    .filter(|p| {
                        self.aws
                            .profile(p)
                            .is_some_and(|p| p.get("aws_access_key_id").is_some())
                    })
            })
            .unwrap_or_else(|| "default".to_owned())
    }

    /// The plan for `name`, or an error listing the known targets.
    pub(crate) fn plan(&self, name: &str) -> Result<Plan, UserError> {
        let tname: TargetName = name
            .parse()
            .map_err(|e: crate::types::InvalidValue| UserError::new(format!("TARGET: {e}")))?;
        if let Some(t) = self.config.targets.get(&tname) {
            let bastion_profile = self.bastion_profile(None);
            let mfa_serial =
                self.mfa_serial(None, &bastion_profile, &format!("[targets.{name}]"))?;
            let session_name = match &t.session_name {
                Some(s) => s.clone(),
                None => {
                    default_session_name(&mfa_serial, &format!("[targets.{name}] session_name"))?
                }
            };
            let target = Target {
                name: tname,
                origin: Origin::MfacliConfig,
                role_arn: t.role_arn.clone(),
                duration: t.duration.unwrap_or(SessionDuration::ONE_HOUR),
                session_name,
                external_id: t.external_id.clone(),
                region: t.region.clone(),
                policy: match &self.flag_policy {
                    Some(p) => p.clone(),
                    None => config_policy(t, name, &self.env)?,
                },
            };
            return self.finish(target, bastion_profile, mfa_serial);
        }
        if let Some(p) = self
            .aws
            .profile(name)
            .filter(|p| p.get("role_arn").is_some())
        {
            let file = self.aws.config_path.display().to_string();
            let at = |key: &str| format!("{file}: [profile {name}] {key}");
            let role_arn: RoleArn = p
                .get("role_arn")
                .unwrap_or_default()
                .parse()
                .map_err(|e| UserError::new(format!("{}: {e}", at("role_arn"))))?;
            let bastion_profile = self.bastion_profile(p.get("source_profile"));
            let mfa_serial = self.mfa_serial(
                p.get("mfa_serial"),
                &bastion_profile,
                &format!("[profile {name}]"),
            )?;
            let duration = match p.get("duration_seconds") {
                Some(s) => s
                    .parse::<SessionDuration>()
                    .and_then(|d| d.check(SessionDuration::SESSION_MIN, SessionDuration::ROLE_MAX))
                    .map_err(|e| UserError::new(format!("{}: {e}", at("duration_seconds"))))?,
                None => SessionDuration::ONE_HOUR,
            };
            let session_name = match p.get("role_session_name") {
                Some(s) => s
                    .parse()
                    .map_err(|e| UserError::new(format!("{}: {e}", at("role_session_name"))))?,
                None => default_session_name(&mfa_serial, &at("role_session_name"))?,
            };
            let external_id = p
                .get("external_id")
                .map(|s| s.parse::<ExternalId>())
                .transpose()
                .map_err(|e| UserError::new(format!("{}: {e}", at("external_id"))))?;
            let target = Target {
                name: tname,
                origin: Origin::AwsConfig,
                role_arn,
                duration,
                session_name,
                external_id,
                region: p
                    .get("region")
                    .map(|r| Region::parse_from(r, &at("region")).map(|r| r.to_string()))
                    .transpose()?,
                policy: self.flag_policy.clone().unwrap_or_default(),
            };
            return self.finish(target, bastion_profile, mfa_serial);
        }
        Err(self.unknown_target(name))
    }

    fn unknown_target(&self, name: &str) -> UserError {
        let names: Vec<String> = self
            .target_names()
            .into_iter()
            .map(|(n, _)| n.to_string())
            .collect();
        let mut msg = format!("unknown target '{name}'");
        let suggestion = did_you_mean(name, names.iter().map(String::as_str));
        if let Some(s) = suggestion {
            msg.push_str(&format!("; did you mean '{s}'?"));
        }
        let known = if names.is_empty() {
            "none are defined".to_owned()
        } else {
            format!("known targets: {}", names.join(", "))
        };
        let config = crate::config::config_path(self.overrides.config.as_deref(), &self.env).0;
        let define = format!(
            "define it as [targets.{name}] in {} or as [profile {name}] with role_arn in {}",
            config.display(),
            self.aws.config_path.display()
        );
        UserError::new(format!("{msg} ({known})")).hint(match suggestion {
            Some(s) => {
                format!("if you meant '{s}', use that name; to add a new target '{name}', {define}")
            }
            None => define,
        })
    }

    /// [bastion] mfa_serial > the target profile's mfa_serial > the bastion
    /// profile's mfa_serial in the AWS files.
    fn mfa_serial(
        &self,
        from_target: Option<&str>,
        bastion_profile: &str,
        what: &str,
    ) -> Result<MfaSerial, UserError> {
        if let Some(s) = &self.config.bastion.mfa_serial {
            return Ok(s.clone());
        }
        let candidates = [
            (
                from_target,
                format!("{}: {what} mfa_serial", self.aws.config_path.display()),
            ),
            (
                self.aws
                    .profile(bastion_profile)
                    .and_then(|p| p.get("mfa_serial")),
                format!("AWS files: [{bastion_profile}] mfa_serial"),
            ),
        ];
        for (value, place) in candidates {
            if let Some(v) = value {
                return v
                    .parse()
                    .map_err(|e| UserError::new(format!("{place}: {e}")));
            }
        }
        Err(UserError::new(format!("no MFA device is configured for {what}")).hint(
            "set mfa_serial = \"arn:aws:iam::ACCOUNT:mfa/NAME\" in [bastion] of the mfacli config, or in the AWS profile",
        ))
    }

    fn finish(
        &self,
        target: Target,
        bastion_profile: String,
        mfa_serial: MfaSerial,
    ) -> Result<Plan, UserError> {
        let session_duration = self
            .config
            .bastion
            .session_duration
            .unwrap_or(DEFAULT_SESSION);
        self.check_region_partition(&target)?;
        let endpoint = self.endpoint(target.role_arn.partition(), Some(&bastion_profile))?;
        Ok(Plan {
            target,
            bastion_profile,
            mfa_serial,
            session_duration,
            endpoint,
        })
    }

    /// The region exported for a target must be of the role's partition:
    /// credentials of `aws` are refused by every us-gov-west-1 endpoint,
    /// so a silent export would fail later, far from the cause.
    fn check_region_partition(&self, target: &Target) -> Result<(), UserError> {
        let role = target.role_arn.partition();
        let source = match (&self.overrides.region, &target.region) {
            (Some(r), _) => (r, "--region".to_owned()),
            (None, Some(r)) => (
                r,
                match target.origin {
                    Origin::MfacliConfig => format!("[targets.{}] region", target.name),
                    Origin::AwsConfig => format!(
                        "region of [profile {}] in {}",
                        target.name,
                        self.aws.config_path.display()
                    ),
                },
            ),
            (None, None) => return Ok(()),
        };
        let (region, what) = source;
        let theirs = region_partition(region);
        if theirs == role {
            return Ok(());
        }
        let err = UserError::new(format!(
            "{what} '{region}' is in the {} partition, but the role of '{}' ({}) is in {}: its credentials do not work there",
            theirs.as_str(),
            target.name,
            target.role_arn,
            role.as_str()
        ))
        .hint(format!(
            "use a region of the {} partition (e.g. {}), or correct the role ARN's partition",
            role.as_str(),
            role.default_region()
        ));
        Err(if what == "--region" { err.usage() } else { err })
    }

    /// The bastion account as a target (`--bastion`): the bastion profile
    /// and MFA device as a target would use them, and no role.
    pub(crate) fn bastion_plan(&self) -> Result<SessionPlan, UserError> {
        if self.flag_policy.is_some() {
            return Err(UserError::new(
                "--policy-arn / --policy narrow an assumed role; --bastion has no role (GetSessionToken takes no session policy)",
            )
            .hint("name a target instead of --bastion, or drop the policy flags"));
        }
        let bastion_profile = self.bastion_profile(None);
        let mfa_serial = self.mfa_serial(None, &bastion_profile, "the bastion account")?;
        let partition = mfa_serial.partition().unwrap_or(Partition::Aws);
        let endpoint = self.endpoint(partition, Some(&bastion_profile))?;
        Ok(SessionPlan {
            bastion_profile,
            mfa_serial,
            session_duration: self
                .config
                .bastion
                .session_duration
                .unwrap_or(DEFAULT_SESSION),
            endpoint,
        })
    }

    /// The region to export for the bastion account: --region > [bastion] region.
    pub(crate) fn bastion_export_region(&self, plan: &SessionPlan) -> Option<String> {
        self.overrides
            .region
            .clone()
            .or_else(|| self.bastion().region.clone())
            .or_else(|| {
                self.aws
                    .profile(&plan.bastion_profile)
                    .and_then(|p| p.get("region"))
                    .map(str::to_owned)
            })
    }

    /// IAM, as the SDKs find it: $AWS_ENDPOINT_URL_IAM > $AWS_ENDPOINT_URL >
    /// the partition's global endpoint; signed for the partition's IAM region.
    pub(crate) fn iam_endpoint(&self, partition: Partition) -> Result<Endpoint, UserError> {
        let (default_url, region) = crate::iam::partition_endpoint(partition);
        let (url, source) = if let Some(u) = self.env.text("AWS_ENDPOINT_URL_IAM")? {
            (u.to_owned(), "AWS_ENDPOINT_URL_IAM")
        } else if let Some(u) = self.env.text("AWS_ENDPOINT_URL")? {
            (u.to_owned(), "AWS_ENDPOINT_URL")
        } else {
            (default_url.to_owned(), "partition")
        };
        self.checked_endpoint(
            &url,
            source,
            "e.g. AWS_ENDPOINT_URL_IAM=https://iam.amazonaws.com",
            region.to_owned(),
        )
    }

    /// The region of mfacli's own STS calls: --region > [bastion] region >
    /// the bastion profile's region > $AWS_REGION > $AWS_DEFAULT_REGION >
    /// the partition's default.
    ///
    /// The bastion's configured region beats the ambient `AWS_REGION`
    /// because that variable usually describes the *target* (mfacli's own
    /// `env`/`exec` export the target's region): letting it pick mfacli's
    /// STS endpoint would make the last `eval` decide where the next
    /// session comes from. An ambient region of another partition (say
    /// `cn-north-1` for an `aws` role) is ignored for the same reason.
    /// Sessions are cached per partition, not per region
    /// ([`Endpoint::cache_scope`]), so the region only picks the endpoint.
    /// Whichever source wins is checked by [`Region`]'s rule, and the error
    /// names it, before any MFA code is spent.
    pub(crate) fn sts_region(
        &self,
        partition: Partition,
        bastion_profile: Option<&str>,
    ) -> Result<String, UserError> {
        let ambient = |var: &'static str| -> Result<Option<(String, String)>, UserError> {
            Ok(self
                .env
                .text(var)?
                .filter(|r| region_partition(r) == partition)
                .map(|v| (v.to_owned(), format!("${var}"))))
        };
        let configured = self
            .overrides
            .region
            .clone()
            .map(|r| (r, "--region".to_owned()))
            .or_else(|| {
                self.config
                    .bastion
                    .region
                    .clone()
                    .map(|r| (r, "[bastion] region".to_owned()))
            })
            .or_else(|| {
                let name = bastion_profile?;
                let r = self.aws.profile(name)?.get("region")?;
                Some((
                    r.to_owned(),
                    format!(
                        "{}: [profile {name}] region",
                        self.aws.config_path.display()
                    ),
                ))
            });
        let chosen = match configured {
            Some(c) => Some(c),
            None => match ambient("AWS_REGION")? {
                Some(r) => Some(r),
                None => ambient("AWS_DEFAULT_REGION")?,
            },
        };
        match chosen {
            Some((r, source)) => Ok(Region::parse_from(&r, &source)?.to_string()),
            None => Ok(partition.default_region().to_owned()),
        }
    }

    /// --endpoint-url > $AWS_ENDPOINT_URL_STS > $AWS_ENDPOINT_URL > regional.
    pub(crate) fn endpoint(
        &self,
        partition: Partition,
        bastion_profile: Option<&str>,
    ) -> Result<Endpoint, UserError> {
        let region = self.sts_region(partition, bastion_profile)?;
        let (url, source) = if let Some(u) = &self.overrides.endpoint_url {
            (u.clone(), "--endpoint-url")
        } else if let Some(u) = self.env.text("AWS_ENDPOINT_URL_STS")? {
            (u.to_owned(), "AWS_ENDPOINT_URL_STS")
        } else if let Some(u) = self.env.text("AWS_ENDPOINT_URL")? {
            (u.to_owned(), "AWS_ENDPOINT_URL")
        } else {
            (partition.sts_endpoint(&region), "region")
        };
        self.checked_endpoint(
            &url,
            source,
            "e.g. --endpoint-url https://sts.eu-west-1.amazonaws.com",
            region,
        )
    }

    /// An endpoint from `url` (named `source` in errors): an http(s) URL,
    /// plain http only to this machine unless opted in, with the timeout
    /// and CA bundle every AWS call of mfacli uses. One rule for STS and IAM.
    fn checked_endpoint(
        &self,
        url: &str,
        source: &str,
        example: &str,
        region: String,
    ) -> Result<Endpoint, UserError> {
        let url = checked_url(url, source, example, &self.env)?;
        let timeout = self
            .overrides
            .timeout
            .or(self.config.timeout)
            .unwrap_or(DEFAULT_TIMEOUT);
        Ok(Endpoint {
            url,
            region,
            timeout: Duration::from_secs(timeout.secs().into()),
            ca_bundle: self.env.path("AWS_CA_BUNDLE"),
        })
    }
}

/// The opt-in for plain http to an STS endpoint that is not loopback.
pub(crate) const INSECURE_ENV: &str = "MFACLI_ALLOW_INSECURE_ENDPOINT";

/// The URL rule of every endpoint mfacli sends credentials or codes to
/// (STS, IAM, the console's federation endpoint): http(s), and plain http
/// only to this machine unless [`INSECURE_ENV`] is `1` (`env` is read for
/// it). `source` names where the URL came from in errors.
pub(crate) fn checked_url(
    url: &str,
    source: &str,
    example: &str,
    env: &Env,
) -> Result<String, UserError> {
    let url = url.trim_end_matches('/').to_owned();
    let valid = (url.starts_with("https://") || url.starts_with("http://"))
        && url
            .split("://")
            .nth(1)
            .is_some_and(|h| !h.is_empty() && !h.contains(char::is_whitespace));
    if !valid {
        return Err(
            UserError::new(format!("{source}: '{url}' is not an http(s) URL")).hint(example),
        );
    }
    if url.starts_with("http://") && !is_loopback_url(&url) && env.text(INSECURE_ENV)? != Some("1")
    {
        return Err(UserError::new(format!(
            "{source}: '{url}' is plain http to a host that is not this machine; anyone on the path would see the MFA code and credentials sent to it"
        ))
        .hint(format!("use https://, or set {INSECURE_ENV}=1 if you really mean it (e.g. a test endpoint on another host)")));
    }
    Ok(url)
}

/// Whether an http(s) URL's host is this machine: `localhost`,
/// 127.0.0.0/8 or `::1`.
pub(crate) fn is_loopback_url(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    // A backslash is a path separator to some URL parsers: the host could
    // be read differently by whoever sends the request.
    if authority.contains('\\') {
        return false;
    }
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split_once(']').unwrap_or(("", "x"))
    } else {
        host_port
            .find(':')
            .map_or((host_port, ""), |i| host_port.split_at(i))
    };
    // Nothing after the host but `:PORT`.
    let port_ok = port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    port_ok
        && (host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback()))
}

/// The partition a region name belongs to.
fn region_partition(region: &str) -> Partition {
    if region.starts_with("cn-") {
        Partition::AwsCn
    } else if region.starts_with("us-gov-") {
        Partition::AwsUsGov
    } else {
        Partition::Aws
    }
}

/// The IAM user name from `arn:…:mfa/NAME`, which is AWS's convention.
fn default_session_name(serial: &MfaSerial, key: &str) -> Result<SessionName, UserError> {
    serial
        .device_name()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            UserError::new(format!("no session name: {key} is not set and the MFA serial {serial} has no user name in it"))
                .hint("set session_name (mfacli config) or role_session_name (AWS config)")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn sources(
        config: &str,
        env: &[(&str, &str)],
        overrides: Overrides,
    ) -> (tempfile::TempDir, Sources) {
        let dir = tempfile::tempdir().unwrap();
        let creds = dir.path().join("credentials");
        std::fs::write(
            &creds,
            "[bastion]\naws_access_key_id = AKIAALICE0EXAMPLE001\naws_secret_access_key = s\n\
             [keys2]\naws_access_key_id = AKIAOTHER0EXAMPLE001\naws_secret_access_key = s\n",
        )
        .unwrap();
        let cfg = dir.path().join("config");
        std::fs::write(
            &cfg,
            "[profile bastion]\nregion = ap-south-1\n[profile role]\nrole_arn = arn:aws:iam::222222222222:role/R\nsource_profile = keys2\nmfa_serial = arn:aws:iam::111111111111:mfa/bob\n",
        )
        .unwrap();
        let s = Sources {
            config: Config::parse(config, Path::new("/c.toml")).unwrap(),
            aws: AwsFiles::load_from(creds, cfg).unwrap(),
            overrides,
            env: Env::from_pairs(env.iter().copied()),
            flag_policy: None,
        };
        (dir, s)
    }

    const CONFIG: &str = "[bastion]\nmfa_serial = \"arn:aws:iam::111111111111:mfa/alice\"\n[targets.prod]\nrole_arn = \"arn:aws:iam::222222222222:role/PowerUser\"\n";

    #[test]
    fn bastion_profile_precedence() {
        let flag = Overrides {
            profile: Some("flag".into()),
            ..Default::default()
        };
        let (_d, s) = sources(CONFIG, &[("MFACLI_PROFILE", "envp")], flag);
        assert_eq!(s.bastion_profile(None), "flag");
        let (_d, s) = sources(CONFIG, &[("MFACLI_PROFILE", "envp")], Overrides::default());
        assert_eq!(s.bastion_profile(Some("src")), "envp");
        let with_cfg = format!("{CONFIG}\n");
        let with_cfg = with_cfg.replacen("[bastion]\n", "[bastion]\nprofile = \"cfg\"\n", 1);
        let (_d, s) = sources(&with_cfg, &[], Overrides::default());
        assert_eq!(s.bastion_profile(Some("src")), "cfg");
        let (_d, s) = sources(CONFIG, &[("AWS_PROFILE", "keys2")], Overrides::default());
        assert_eq!(
            s.bastion_profile(Some("src")),
            "src",
            "source_profile beats AWS_PROFILE"
        );
        assert_eq!(s.bastion_profile(None), "keys2");
        // AWS_PROFILE naming a profile without keys (the target itself) does not count.
        let (_d, s) = sources(CONFIG, &[("AWS_PROFILE", "role")], Overrides::default());
        assert_eq!(s.bastion_profile(None), "default");
    }

    #[test]
    fn sts_region_and_endpoint_precedence() {
        let (_d, s) = sources(CONFIG, &[], Overrides::default());
        assert_eq!(
            s.sts_region(Partition::Aws, Some("bastion")).unwrap(),
            "ap-south-1"
        );
        assert_eq!(s.sts_region(Partition::Aws, None).unwrap(), "us-east-1");
        assert_eq!(s.sts_region(Partition::AwsCn, None).unwrap(), "cn-north-1");
        let (_d, s) = sources(
            CONFIG,
            &[
                ("AWS_DEFAULT_REGION", "eu-west-3"),
                ("AWS_REGION", "eu-west-2"),
            ],
            Overrides::default(),
        );
        // The bastion profile's region beats the ambient AWS_REGION (which
        // mfacli's own exports set to the target's region).
        assert_eq!(
            s.sts_region(Partition::Aws, Some("bastion")).unwrap(),
            "ap-south-1"
        );
        assert_eq!(s.sts_region(Partition::Aws, None).unwrap(), "eu-west-2");
        let e = s.endpoint(Partition::Aws, None).unwrap();
        assert_eq!(e.url, "https://sts.eu-west-2.amazonaws.com");
        let (_d, s) = sources(
            CONFIG,
            &[("AWS_DEFAULT_REGION", "eu-west-3")],
            Overrides::default(),
        );
        assert_eq!(s.sts_region(Partition::Aws, None).unwrap(), "eu-west-3");
        // [bastion] region beats both the profile's region and AWS_REGION.
        let with_region = CONFIG.replacen("[bastion]\n", "[bastion]\nregion = \"eu-north-1\"\n", 1);
        let (_d, s) = sources(
            &with_region,
            &[("AWS_REGION", "eu-west-2")],
            Overrides::default(),
        );
        assert_eq!(
            s.sts_region(Partition::Aws, Some("bastion")).unwrap(),
            "eu-north-1"
        );
        assert_eq!(s.sts_region(Partition::Aws, None).unwrap(), "eu-north-1");
        // --region beats all.
        let flag = Overrides {
            region: Some("sa-east-1".into()),
            ..Default::default()
        };
        let (_d, s) = sources(&with_region, &[("AWS_REGION", "eu-west-2")], flag);
        assert_eq!(
            s.sts_region(Partition::Aws, Some("bastion")).unwrap(),
            "sa-east-1"
        );
        // An ambient region of another partition is not used.
        let (_d, s) = sources(
            CONFIG,
            &[("AWS_REGION", "cn-north-1")],
            Overrides::default(),
        );
        assert_eq!(s.sts_region(Partition::Aws, None).unwrap(), "us-east-1");
        assert_eq!(s.sts_region(Partition::AwsCn, None).unwrap(), "cn-north-1");
        let e = s.endpoint(Partition::AwsCn, None).unwrap();
        assert_eq!(e.url, "https://sts.cn-north-1.amazonaws.com.cn");
        assert_eq!(e.cache_scope(), "partition:aws-cn");
        let (_d, s) = sources(
            CONFIG,
            &[
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
                ("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:2/"),
            ],
            Overrides::default(),
        );
        assert_eq!(
            s.endpoint(Partition::Aws, None).unwrap().url,
            "http://127.0.0.1:2"
        );
        let flag = Overrides {
            endpoint_url: Some("http://127.0.0.1:3".into()),
            region: Some("ca-central-1".into()),
            ..Default::default()
        };
        let (_d, s) = sources(
            CONFIG,
            &[("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:2")],
            flag,
        );
        let e = s.endpoint(Partition::Aws, None).unwrap();
        assert_eq!(
            (e.url.as_str(), e.region.as_str()),
            ("http://127.0.0.1:3", "ca-central-1")
        );
        let (_d, s) = sources(
            CONFIG,
            &[("AWS_ENDPOINT_URL_STS", "notaurl")],
            Overrides::default(),
        );
        let err = s.endpoint(Partition::Aws, None).unwrap_err();
        assert!(err.message.contains("AWS_ENDPOINT_URL_STS"), "{err}");
    }

    #[test]
    fn aws_config_role_profile_uses_its_source_profile_and_serial() {
        let (_d, s) = sources("", &[], Overrides::default());
        let p = s.plan("role").unwrap();
        assert_eq!(p.bastion_profile, "keys2");
        assert_eq!(p.mfa_serial.as_str(), "arn:aws:iam::111111111111:mfa/bob");
        assert_eq!(p.target.session_name.as_str(), "bob");
        let e = s.plan("rol").unwrap_err();
        assert!(e.message.contains("did you mean 'role'"), "{e}");
    }

    /// IAM endpoints follow the same rule as STS: CreateAccessKey answers
    /// with a new secret key, so plain http goes only to this machine.
    #[test]
    fn iam_endpoint_refuses_plain_http_to_another_host() {
        let (_d, s) = sources(
            CONFIG,
            &[("AWS_ENDPOINT_URL_IAM", "http://iam.example.com")],
            Overrides::default(),
        );
        let e = s.iam_endpoint(Partition::Aws).unwrap_err();
        assert!(
            e.message.contains("AWS_ENDPOINT_URL_IAM") && e.message.contains("plain http"),
            "{e}"
        );
        let (_d, s) = sources(
            CONFIG,
            &[("AWS_ENDPOINT_URL_IAM", "http://127.0.0.1:9/")],
            Overrides::default(),
        );
        assert_eq!(
            s.iam_endpoint(Partition::Aws).unwrap().url,
            "http://127.0.0.1:9"
        );
        let (_d, s) = sources(
            CONFIG,
            &[("AWS_ENDPOINT_URL", "notaurl")],
            Overrides::default(),
        );
        assert!(s
            .iam_endpoint(Partition::Aws)
            .unwrap_err()
            .message
            .contains("AWS_ENDPOINT_URL"));
    }

    #[test]
    fn loopback_urls() {
        for yes in [
            "http://127.0.0.1:8080",
            "http://127.1.2.3/",
            "http://localhost:99",
            "http://LOCALHOST",
            "http://[::1]:4566/",
            "http://user@127.0.0.1:1",
        ] {
            assert!(is_loopback_url(yes), "{yes}");
        }
        for no in [
            "http://10.0.0.1:8080",
            "http://sts.example.com",
            "http://localhost.evil.example",
            "http://127.0.0.1.evil.example/",
            "http://[::2]:1",
            "http://evil.example/@127.0.0.1",
        ] {
            assert!(!is_loopback_url(no), "{no}");
        }
    }

    /// The endpoint rule from the attacker's side: each refused URL is a
    /// well-formed http URL that only the "plain http to this machine"
    /// rule stops (https to the same host passes).
    #[test]
    fn plain_http_only_reaches_this_machine() {
        let env = Env::default();
        let refused = [
            "http://192.0.2.1:8080",
            "http://10.99.0.1:8080/federation",
            "http://127.0.0.1.nip.io",
            "http://localhost.evil.example:1",
            "http://[::1].evil.example",
            "http://[::ffff:c000:201]:1",
            "http://127.0.0.1@evil.example",
            "http://evil.example\\@127.0.0.1",
            "http://localhost:1:evil.example",
            "http://0.0.0.0:1",
            "http://[::]:1",
        ];
        for url in refused {
            let e = checked_url(url, "X", "e.g.", &env).unwrap_err();
            assert!(
                e.message
                    .contains("plain http to a host that is not this machine"),
                "{url}: {e}"
            );
            let https = url.replacen("http://", "https://", 1);
            assert!(checked_url(&https, "X", "e.g.", &env).is_ok(), "{https}");
        }
        let allowed = [
            "http://127.0.0.1:4566",
            "http://127.8.9.10",
            "http://localhost:1/federation",
            "http://[::1]:1",
            "http://user:pw@127.0.0.1:1",
        ];
        for url in allowed {
            assert!(checked_url(url, "X", "e.g.", &env).is_ok(), "{url}");
        }
        let opted_in = Env::from_pairs([(INSECURE_ENV, "1")]);
        for url in refused {
            assert!(checked_url(url, "X", "e.g.", &opted_in).is_ok(), "{url}");
        }
        let not_one = Env::from_pairs([(INSECURE_ENV, "yes")]);
        assert!(checked_url(refused[0], "X", "e.g.", &not_one).is_err());
    }
}
