//! Parsing a policy document into statements, refusing at load whatever
//! the evaluator does not implement, with the statement (index and Sid) and
//! the construct named.

use serde_json::Value;

use super::conditions;
use super::matching::{Pattern, PrincipalPattern};
use super::{Effect, Policy, PolicyError, PolicyKind, Statement, Targets};

const VERSION_2012: &str = "2012-10-17";
const VERSION_2008: &str = "2008-10-17";
const PARTITIONS: [&str; 3] = ["aws", "aws-cn", "aws-us-gov"];

/// Names the statement in error messages.
pub(super) struct StatementContext {
    label: String,
}

impl StatementContext {
    pub(super) fn error(&self, detail: impl std::fmt::Display) -> PolicyError {
        PolicyError::new(format!("{}: {detail}", self.label))
    }
}

pub(super) fn document(json: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
    let document: Value = serde_json::from_str(json)
        .map_err(|e| PolicyError::new(format!("policy is not valid JSON: {e}")))?;
    let Value::Object(top) = document else {
        return Err(PolicyError::new(format!(
            "policy document must be a JSON object, found {}",
            json_type(&document)
        )));
    };
    for key in top.keys() {
        if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
            return Err(PolicyError::new(format!(
                "unsupported top-level key {key:?} (supported: Version, Id, Statement)"
            )));
        }
    }
    // A missing Version means the legacy 2008 grammar, as in IAM.
    let version = match top.get("Version") {
        None => VERSION_2008,
        Some(Value::String(v)) if v == VERSION_2012 => VERSION_2012,
        Some(Value::String(v)) if v == VERSION_2008 => VERSION_2008,
        Some(other) => {
            return Err(PolicyError::new(format!(
                "unsupported Version {other} (supported: \"{VERSION_2012}\", \"{VERSION_2008}\")"
            )))
        }
    };
    if let Some(id) = top.get("Id") {
        if !id.is_string() {
            return Err(PolicyError::new(format!(
                "Id must be a string, found {}",
                json_type(id)
            )));
        }
    }
    let raw: Vec<&Value> = match top.get("Statement") {
        None => return Err(PolicyError::new("policy has no Statement")),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(single @ Value::Object(_)) => vec![single],
        Some(other) => {
            return Err(PolicyError::new(format!(
                "Statement must be an object or an array of objects, found {}",
                json_type(other)
            )))
        }
    };
    if raw.is_empty() {
        return Err(PolicyError::new("Statement array is empty"));
    }
    // Policy variables exist only in the 2012-10-17 grammar.
    let variables = version == VERSION_2012;
    let statements = raw
        .into_iter()
        .enumerate()
        .map(|(index, raw)| statement(index, raw, kind, variables))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Policy { kind, statements })
}

/// Exactly one of `name` / `Not{name}`; `None` when neither is there.
fn one_of<'v>(
    ctx: &StatementContext,
    fields: &'v serde_json::Map<String, Value>,
    name: &str,
) -> Result<Option<(bool, &'v Value)>, PolicyError> {
    let not = format!("Not{name}");
    match (fields.get(name), fields.get(&not)) {
        (Some(_), Some(_)) => Err(ctx.error(format!(
            "has both {name} and {not} (a statement takes one of them)"
        ))),
        (Some(v), None) => Ok(Some((false, v))),
        (None, Some(v)) => Ok(Some((true, v))),
        (None, None) => Ok(None),
    }
}

fn targets<T>(negated: bool, items: Vec<T>) -> Targets<T> {
    if negated {
        Targets::AllBut(items)
    } else {
        Targets::Only(items)
    }
}

fn statement(
    index: usize,
    raw: &Value,
    kind: PolicyKind,
    variables: bool,
) -> Result<Statement, PolicyError> {
    let mut ctx = StatementContext {
        label: format!("Statement[{index}]"),
    };
    let Value::Object(fields) = raw else {
        return Err(ctx.error(format!(
            "statement must be a JSON object, found {}",
            json_type(raw)
        )));
    };
    // Parse Sid first so every later error can name it.
    if let Some(sid) = fields.get("Sid") {
        let Value::String(sid) = sid else {
            return Err(ctx.error(format!("Sid must be a string, found {}", json_type(sid))));
        };
        ctx.label = format!("Statement[{index}] (Sid {sid:?})");
    }
    for key in fields.keys() {
        if !matches!(
            key.as_str(),
            "Sid"
                | "Effect"
                | "Action"
                | "NotAction"
                | "Resource"
                | "NotResource"
                | "Principal"
                | "NotPrincipal"
                | "Condition"
        ) {
            return Err(ctx.error(format!(
                "unsupported key {key:?} (supported: Sid, Effect, Action, NotAction, Resource, NotResource, Principal, NotPrincipal, Condition)"
            )));
        }
    }
    let effect = match fields.get("Effect") {
        None => return Err(ctx.error("missing required field Effect")),
        Some(Value::String(e)) if e == "Allow" => Effect::Allow,
        Some(Value::String(e)) if e == "Deny" => Effect::Deny,
        Some(other) => {
            return Err(ctx.error(format!(
                "Effect must be \"Allow\" or \"Deny\", found {other}"
            )))
        }
    };

    let Some((not_action, value)) = one_of(&ctx, fields, "Action")? else {
        return Err(ctx.error("missing required field Action (or NotAction)"));
    };
    let field = if not_action { "NotAction" } else { "Action" };
    let actions = string_list(&ctx, field, value)?
        .into_iter()
        .map(|a| action(&ctx, field, a))
        .collect::<Result<Vec<_>, _>>()?;
    let actions = targets(not_action, actions);

    let resources = match (kind, one_of(&ctx, fields, "Resource")?) {
        (PolicyKind::Trust, Some((not, _))) => {
            let field = if not { "NotResource" } else { "Resource" };
            return Err(ctx.error(format!(
                "Has prohibited field {field} (trust policies must not have a {field})"
            )));
        }
        (PolicyKind::Trust, None) => None,
        (PolicyKind::Identity, None) => {
            return Err(ctx.error("missing required field Resource (or NotResource)"))
        }
        (PolicyKind::Identity, Some((not, value))) => {
            let field = if not { "NotResource" } else { "Resource" };
            let items = string_list(&ctx, field, value)?
                .into_iter()
                .map(|r| resource(&ctx, field, r, variables))
                .collect::<Result<Vec<_>, _>>()?;
            Some(targets(not, items))
        }
    };

    let principals = match (kind, one_of(&ctx, fields, "Principal")?) {
        (PolicyKind::Identity, Some((not, _))) => {
            let field = if not { "NotPrincipal" } else { "Principal" };
            return Err(ctx.error(format!(
                "Has prohibited field {field} (identity policies must not have a {field})"
            )));
        }
        (PolicyKind::Identity, None) => None,
        (PolicyKind::Trust, None) => {
            return Err(ctx.error("missing required field Principal (or NotPrincipal)"))
        }
        (PolicyKind::Trust, Some((not, value))) => {
            let field = if not { "NotPrincipal" } else { "Principal" };
            if not && effect == Effect::Allow {
                // AWS advises against it and its semantics for sessions
                // are subtle: refused rather than guessed.
                return Err(ctx.error(
                    "NotPrincipal with \"Effect\": \"Allow\" is not supported (use Principal, or NotPrincipal with Deny)",
                ));
            }
            Some(targets(not, principal(&ctx, field, value)?))
        }
    };

    let conditions = match fields.get("Condition") {
        None => Vec::new(),
        Some(value) => conditions::parse_block(&ctx, value, variables)?,
    };
    Ok(Statement {
        label: ctx.label,
        effect,
        actions,
        resources,
        principals,
        conditions,
    })
}

/// A string or a non-empty array of strings.
fn string_list<'v>(
    ctx: &StatementContext,
    field: &str,
    value: &'v Value,
) -> Result<Vec<&'v str>, PolicyError> {
    match value {
        Value::String(s) => Ok(vec![s.as_str()]),
        Value::Array(items) if items.is_empty() => Err(ctx.error(format!("{field} is empty"))),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => Ok(s.as_str()),
                other => Err(ctx.error(format!(
                    "{field} entries must be strings, found {}",
                    json_type(other)
                ))),
            })
            .collect(),
        other => Err(ctx.error(format!(
            "{field} must be a string or an array of strings, found {}",
            json_type(other)
        ))),
    }
}

/// `service:action` (or `*`), lower-cased: action names are case-insensitive.
fn action(ctx: &StatementContext, field: &str, action: &str) -> Result<Pattern, PolicyError> {
    if action != "*" {
        let Some((service, name)) = action.split_once(':') else {
            return Err(ctx.error(format!(
                "{field} {action:?} has no service prefix (expected e.g. \"sts:AssumeRole\")"
            )));
        };
        let service_ok = !service.is_empty()
            && service
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        let name_ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '*' || c == '?');
        if !service_ok || !name_ok {
            return Err(ctx.error(format!(
                "{field} {action:?} is not a valid \"service:action\" pattern"
            )));
        }
    }
    Pattern::parse(&action.to_ascii_lowercase(), false, true).map_err(|e| ctx.error(e))
}

fn resource(
    ctx: &StatementContext,
    field: &str,
    resource: &str,
    variables: bool,
) -> Result<Pattern, PolicyError> {
    // arn:partition:service:region:account:resource has at least five colons.
    let looks_like_arn = resource.starts_with("arn:") && resource.matches(':').count() >= 5;
    if resource != "*" && !looks_like_arn {
        return Err(ctx.error(format!(
            "{field} {resource:?} must be \"*\" or an ARN (arn:partition:service:region:account:resource)"
        )));
    }
    Pattern::parse(resource, variables, true).map_err(|e| ctx.error(format!("{field} {e}")))
}

fn principal(
    ctx: &StatementContext,
    field: &str,
    value: &Value,
) -> Result<Vec<PrincipalPattern>, PolicyError> {
    let map = match value {
        Value::String(s) if s == "*" => return Ok(vec![PrincipalPattern::Any]),
        Value::Object(map) => map,
        other => {
            return Err(ctx.error(format!(
                "{field} must be \"*\" or an object like {{\"AWS\": ...}}, found {other}"
            )))
        }
    };
    for key in map.keys() {
        match key.as_str() {
            "AWS" => {}
            "Service" | "Federated" | "CanonicalUser" => {
                return Err(ctx.error(format!(
                    "{field} type {key:?} is not supported (supported: AWS)"
                )));
            }
            _ => {
                return Err(ctx.error(format!("unknown {field} type {key:?} (supported: AWS)")));
            }
        }
    }
    let Some(aws) = map.get("AWS") else {
        return Err(ctx.error(format!("{field} object must contain \"AWS\"")));
    };
    string_list(ctx, &format!("{field} AWS"), aws)?
        .into_iter()
        .map(|p| aws_principal(field, p).map_err(|reason| ctx.error(reason)))
        .collect()
}

fn aws_principal(field: &str, value: &str) -> Result<PrincipalPattern, String> {
    if value == "*" {
        return Ok(PrincipalPattern::Any);
    }
    if is_account_id(value) {
        return Ok(PrincipalPattern::Account {
            id: value.to_owned(),
            partition: None,
        });
    }
    let invalid = |why: &str| {
        format!(
            "{field} AWS {value:?} is invalid: {why} (expected \"*\", a 12-digit account id, \
             arn:aws:iam::<account>:root|user/<name>|role/<name>, \
             or arn:aws:sts::<account>:assumed-role/<role>/<session>)"
        )
    };
    if !value.starts_with("arn:") {
        return Err(invalid("not an account id or an ARN"));
    }
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let [_, partition, service, region, account, resource] = parts[..] else {
        return Err(invalid("ARN has too few components"));
    };
    if !PARTITIONS.contains(&partition) {
        return Err(invalid(&format!("unknown partition {partition:?}")));
    }
    if !matches!(service, "iam" | "sts") || !region.is_empty() {
        return Err(invalid(
            "only IAM and STS ARNs (arn:<partition>:iam::... or :sts::...) are supported",
        ));
    }
    if !is_account_id(account) {
        return Err(invalid(&format!(
            "{account:?} is not a 12-digit account id"
        )));
    }
    // IAM does not allow wildcards in principal ARNs; only a bare "*" is special.
    if value.contains(['*', '?']) {
        return Err(invalid("wildcards are only allowed as a bare \"*\""));
    }
    if service == "sts" {
        let ok = resource
            .strip_prefix("assumed-role/")
            .and_then(|r| r.split_once('/'))
            .is_some_and(|(role, session)| {
                !role.is_empty() && !session.is_empty() && !session.contains('/')
            });
        return if ok {
            Ok(PrincipalPattern::Arn(value.to_owned()))
        } else {
            Err(invalid(&format!(
                "resource {resource:?} is not assumed-role/<role>/<session>"
            )))
        };
    }
    if resource == "root" {
        return Ok(PrincipalPattern::Account {
            id: account.to_owned(),
            partition: Some(partition.to_owned()),
        });
    }
    let name = resource
        .strip_prefix("user/")
        .or_else(|| resource.strip_prefix("role/"));
    match name {
        // The path may contain slashes; the final segment is the name.
        Some(name) if !name.is_empty() && !name.ends_with('/') => {
            Ok(PrincipalPattern::Arn(value.to_owned()))
        }
        _ => Err(invalid(&format!(
            "resource {resource:?} is not root, user/<name> or role/<name>"
        ))),
    }
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

pub(super) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
