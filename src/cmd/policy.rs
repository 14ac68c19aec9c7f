//! `mfacli policy …`: the IAM policies and CloudFormation templates.

use anyhow::Result;

use crate::cli::{PolicyCommand, Template};
use crate::error::UserError;
use crate::policy;

pub(crate) fn run(p: PolicyCommand) -> Result<u8> {
    let text = match p {
        PolicyCommand::Bastion { self_manage_mfa } => {
            policy::to_pretty_json(&policy::bastion_policy(self_manage_mfa))
        }
        PolicyCommand::Trust {
            bastion_account,
            external_id,
            max_session,
            partition,
        } => {
            let v = policy::trust_policy(
                &bastion_account,
                external_id.as_deref(),
                max_session.map(|d| u64::from(d.secs())),
                &partition,
            )
            .map_err(|e| UserError::new(e.to_string()).usage())?;
            policy::to_pretty_json(&v)
        }
        PolicyCommand::Cloudformation {
            template: Template::Bastion,
            self_manage_mfa,
        } => policy::cloudformation_bastion(self_manage_mfa),
        PolicyCommand::Cloudformation {
            template: Template::Target,
            ..
        } => policy::cloudformation_target(),
    };
    crate::io::stdout(&text)?;
    Ok(0)
}
