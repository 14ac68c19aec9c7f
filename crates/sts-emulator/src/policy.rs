//! A strict evaluator for the subset of IAM JSON policies that the
//! bastion-account pattern uses.
//!
//! The emulator must never be *more permissive* than AWS because a policy
//! element was silently skipped, so everything outside the subset is refused
//! at parse time with a one-line error naming the statement (index and Sid)
//! and the offending element. Supported:
//!
//! * top level: `Version` ("2012-10-17" or "2008-10-17"), `Id`, `Statement`;
//! * statements: `Sid`, `Effect`, `Action`, `Resource` (identity policies
//!   only), `Principal` (trust policies only, `"*"` or `{"AWS": ...}`),
//!   `Condition`;
//! * condition operators `Bool`, `StringEquals`, `StringLike`,
//!   `NumericLessThan` over the keys `aws:MultiFactorAuthPresent`,
//!   `aws:MultiFactorAuthAge` and `sts:ExternalId`;
//! * the policy variable `${aws:username}` in `Resource` (2012-10-17 only).
//!
//! Evaluation follows the IAM rules: an explicit `Deny` beats any `Allow`,
//! and without a matching `Allow` the request is implicitly denied.

use std::fmt;

use serde_json::{Map, Value};

/// Which kind of policy document is being parsed; the two kinds differ in
/// which statement elements are required and which are prohibited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// A policy attached to a user, group or role (has `Resource`, no `Principal`).
    Identity,
    /// A role's trust policy (has `Principal`, no `Resource`).
    Trust,
}

/// A policy document was malformed or used something outside the supported subset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// One-line, human-readable description, naming the statement where relevant.
    pub message: String,
}

impl PolicyError {
    fn new(message: impl Into<String>) -> Self {
        PolicyError {
            message: message.into(),
        }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PolicyError {}

/// A parsed, validated policy document.
#[derive(Debug, Clone)]
pub struct Policy {
    kind: PolicyKind,
    statements: Vec<Statement>,
}

/// The caller, as IAM sees it.
#[derive(Debug, Clone)]
pub struct Principal {
    /// 12-digit account id, e.g. "111111111111".
    pub account: String,
    /// Full ARN, e.g. "arn:aws:iam::111111111111:user/alice".
    pub arn: String,
}

/// Values of the condition keys for one request; `None` = key absent from the request context.
#[derive(Debug, Clone, Default)]
pub struct ConditionContext {
    /// `aws:MultiFactorAuthPresent`
    pub mfa_present: Option<bool>,
    /// `aws:MultiFactorAuthAge`
    pub mfa_age_secs: Option<u64>,
    /// `sts:ExternalId`
    pub external_id: Option<String>,
}

/// One authorization request to evaluate a policy against.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// e.g. "sts:AssumeRole"
    pub action: &'a str,
    /// e.g. the role ARN, or "*"
    pub resource: &'a str,
    pub principal: &'a Principal,
    pub context: &'a ConditionContext,
}

/// Outcome of evaluating one or more policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

/// Combine several policies' decisions: any ExplicitDeny wins, else any Allow, else ImplicitDeny.
pub fn combine(decisions: impl IntoIterator<Item = Decision>) -> Decision {
    let mut result = Decision::ImplicitDeny;
    for decision in decisions {
        match decision {
            Decision::ExplicitDeny => return Decision::ExplicitDeny,
            Decision::Allow => result = Decision::Allow,
            Decision::ImplicitDeny => {}
        }
    }
    result
}

const VERSION_2012: &str = "2012-10-17";
const VERSION_2008: &str = "2008-10-17";
const PARTITIONS: [&str; 3] = ["aws", "aws-cn", "aws-us-gov"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone)]
struct Statement {
    effect: Effect,
    /// Lower-cased action patterns (action names are case-insensitive).
    actions: Vec<String>,
    /// Resource patterns; empty for trust policies, which have no `Resource`.
    resources: Vec<String>,
    /// A 2012-10-17 policy: `${aws:username}` in a Resource is a policy
    /// variable (in 2008-10-17 policies it is literal text).
    variables: bool,
    /// Principal patterns; empty for identity policies, which have no `Principal`.
    principals: Vec<PrincipalPattern>,
    /// All must hold (AND).
    conditions: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PrincipalPattern {
    /// `"*"`: anyone.
    Any,
    /// A bare account id or an account root ARN: any principal in that account.
    /// The partition is known only when it was written as a root ARN.
    Account {
        id: String,
        partition: Option<String>,
    },
    /// A user or role ARN, matched exactly.
    Arn(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConditionKey {
    MfaPresent,
    MfaAge,
    ExternalId,
}

/// The value type of a condition key, which decides which operators may test it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyType {
    Boolean,
    Numeric,
    String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Bool,
    StringEquals,
    StringLike,
    NumericLessThan,
}

/// Policy values for one key under one operator; any of them may match (OR).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Test {
    Bool(Vec<bool>),
    StringEquals(Vec<String>),
    StringLike(Vec<String>),
    NumericLessThan(Vec<u64>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Condition {
    key: ConditionKey,
    test: Test,
}

/// A request-context value, borrowed from [`ConditionContext`].
enum ContextValue<'a> {
    Bool(bool),
    Number(u64),
    String(&'a str),
}

impl ConditionKey {
    const ALL: [ConditionKey; 3] = [
        ConditionKey::MfaPresent,
        ConditionKey::MfaAge,
        ConditionKey::ExternalId,
    ];

    /// Condition key names are case-insensitive in IAM.
    fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|key| key.name().eq_ignore_ascii_case(name))
    }

    fn name(self) -> &'static str {
        match self {
            ConditionKey::MfaPresent => "aws:MultiFactorAuthPresent",
            ConditionKey::MfaAge => "aws:MultiFactorAuthAge",
            ConditionKey::ExternalId => "sts:ExternalId",
        }
    }

    fn key_type(self) -> KeyType {
        match self {
            ConditionKey::MfaPresent => KeyType::Boolean,
            ConditionKey::MfaAge => KeyType::Numeric,
            ConditionKey::ExternalId => KeyType::String,
        }
    }

    fn value(self, context: &ConditionContext) -> Option<ContextValue<'_>> {
        match self {
            ConditionKey::MfaPresent => context.mfa_present.map(ContextValue::Bool),
            ConditionKey::MfaAge => context.mfa_age_secs.map(ContextValue::Number),
            ConditionKey::ExternalId => context.external_id.as_deref().map(ContextValue::String),
        }
    }
}

impl KeyType {
    fn describe(self) -> &'static str {
        match self {
            KeyType::Boolean => "a boolean key; use Bool",
            KeyType::Numeric => "a numeric key; use NumericLessThan",
            KeyType::String => "a string key; use StringEquals or StringLike",
        }
    }
}

impl Operator {
    const ALL: [Operator; 4] = [
        Operator::Bool,
        Operator::StringEquals,
        Operator::StringLike,
        Operator::NumericLessThan,
    ];

    /// Operator names are case-sensitive in IAM ("bool" is not "Bool").
    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.name() == name)
    }

    fn name(self) -> &'static str {
        match self {
            Operator::Bool => "Bool",
            Operator::StringEquals => "StringEquals",
            Operator::StringLike => "StringLike",
            Operator::NumericLessThan => "NumericLessThan",
        }
    }

    fn key_type(self) -> KeyType {
        match self {
            Operator::Bool => KeyType::Boolean,
            Operator::StringEquals | Operator::StringLike => KeyType::String,
            Operator::NumericLessThan => KeyType::Numeric,
        }
    }
}

impl Condition {
    /// A key absent from the request context makes the condition false:
    /// the subset has no `...IfExists` operators.
    fn holds(&self, context: &ConditionContext) -> bool {
        let Some(actual) = self.key.value(context) else {
            return false;
        };
        match (&self.test, actual) {
            (Test::Bool(values), ContextValue::Bool(b)) => values.contains(&b),
            (Test::StringEquals(values), ContextValue::String(s)) => values.iter().any(|v| v == s),
            (Test::StringLike(values), ContextValue::String(s)) => {
                values.iter().any(|v| wildcard_match(v, s))
            }
            (Test::NumericLessThan(values), ContextValue::Number(n)) => {
                values.iter().any(|v| n < *v)
            }
            // Operator/key type mismatches are rejected at parse time; if one
            // ever got through, failing closed is the safe answer.
            _ => false,
        }
    }
}

impl PrincipalPattern {
    fn matches(&self, principal: &Principal) -> bool {
        match self {
            PrincipalPattern::Any => true,
            PrincipalPattern::Account { id, partition } => {
                // Account ids are only unique within a partition, so a root
                // ARN in aws-cn must not admit a caller from aws.
                *id == principal.account
                    && partition
                        .as_deref()
                        .is_none_or(|p| principal.arn.split(':').nth(1) == Some(p))
            }
            PrincipalPattern::Arn(arn) => *arn == principal.arn,
        }
    }
}

impl Statement {
    fn matches(&self, kind: PolicyKind, request: &Request) -> bool {
        let action = request.action.to_ascii_lowercase();
        if !self.actions.iter().any(|a| wildcard_match(a, &action)) {
            return false;
        }
        let target_matches = match kind {
            PolicyKind::Identity => self
                .resources
                .iter()
                .any(|r| resource_matches(r, self.variables, request)),
            PolicyKind::Trust => self.principals.iter().any(|p| p.matches(request.principal)),
        };
        target_matches && self.conditions.iter().all(|c| c.holds(request.context))
    }
}

impl Policy {
    /// Parse and validate a policy document, refusing anything outside the supported subset.
    pub fn parse(json: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
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

        let raw_statements: Vec<&Value> = match top.get("Statement") {
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
        if raw_statements.is_empty() {
            return Err(PolicyError::new("Statement array is empty"));
        }

        let statements = raw_statements
            .into_iter()
            .enumerate()
            .map(|(index, raw)| parse_statement(index, raw, kind, version))
            .collect::<Result<Vec<_>, _>>()?;

        Ok(Policy { kind, statements })
    }

    /// Whether this is an identity or a trust policy.
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    /// Identity policies: Principal is ignored for matching (identity policies have none).
    /// Trust policies: a statement applies only if its Principal matches request.principal.
    pub fn evaluate(&self, request: &Request) -> Decision {
        let mut allowed = false;
        for statement in &self.statements {
            if statement.matches(self.kind, request) {
                match statement.effect {
                    Effect::Deny => return Decision::ExplicitDeny,
                    Effect::Allow => allowed = true,
                }
            }
        }
        if allowed {
            Decision::Allow
        } else {
            Decision::ImplicitDeny
        }
    }
}

/// Builds error messages that name the statement by index and, if present, Sid.
struct StatementContext {
    label: String,
}

impl StatementContext {
    fn error(&self, detail: impl fmt::Display) -> PolicyError {
        PolicyError::new(format!("{}: {detail}", self.label))
    }
}

fn parse_statement(
    index: usize,
    raw: &Value,
    kind: PolicyKind,
    version: &str,
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
        match key.as_str() {
            "Sid" | "Effect" | "Action" | "Resource" | "Principal" | "Condition" => {}
            "NotAction" | "NotResource" | "NotPrincipal" => {
                return Err(ctx.error(format!("{key} is not supported")));
            }
            _ => {
                return Err(ctx.error(format!(
                    "unsupported key {key:?} (supported: Sid, Effect, Action, Resource, Principal, Condition)"
                )));
            }
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

    let actions = match fields.get("Action") {
        None => return Err(ctx.error("missing required field Action")),
        Some(value) => string_list(&ctx, "Action", value)?
            .into_iter()
            .map(|a| parse_action(&ctx, a))
            .collect::<Result<Vec<_>, _>>()?,
    };

    let resources = match (kind, fields.get("Resource")) {
        (PolicyKind::Trust, Some(_)) => {
            return Err(ctx
                .error("Has prohibited field Resource (trust policies must not have a Resource)"))
        }
        (PolicyKind::Trust, None) => Vec::new(),
        (PolicyKind::Identity, None) => return Err(ctx.error("missing required field Resource")),
        (PolicyKind::Identity, Some(value)) => string_list(&ctx, "Resource", value)?
            .into_iter()
            .map(|r| parse_resource(&ctx, r, version))
            .collect::<Result<Vec<_>, _>>()?,
    };

    let principals = match (kind, fields.get("Principal")) {
        (PolicyKind::Identity, Some(_)) => {
            return Err(ctx.error(
                "Has prohibited field Principal (identity policies must not have a Principal)",
            ))
        }
        (PolicyKind::Identity, None) => Vec::new(),
        (PolicyKind::Trust, None) => return Err(ctx.error("missing required field Principal")),
        (PolicyKind::Trust, Some(value)) => parse_principal(&ctx, value)?,
    };

    let conditions = match fields.get("Condition") {
        None => Vec::new(),
        Some(value) => parse_condition_block(&ctx, value, version)?,
    };

    Ok(Statement {
        effect,
        actions,
        resources,
        variables: version == VERSION_2012,
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

/// Validates `service:action` (or `*`) and returns it lower-cased for
/// case-insensitive matching.
fn parse_action(ctx: &StatementContext, action: &str) -> Result<String, PolicyError> {
    if action == "*" {
        return Ok(action.to_owned());
    }
    let Some((service, name)) = action.split_once(':') else {
        return Err(ctx.error(format!(
            "Action {action:?} has no service prefix (expected e.g. \"sts:AssumeRole\")"
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
            "Action {action:?} is not a valid \"service:action\" pattern"
        )));
    }
    Ok(action.to_ascii_lowercase())
}

fn parse_resource(
    ctx: &StatementContext,
    resource: &str,
    version: &str,
) -> Result<String, PolicyError> {
    // `${aws:username}` is the one policy variable supported (in Resource only).
    check_no_policy_variable(
        ctx,
        "Resource",
        &resource.replace(USERNAME_VARIABLE, ""),
        version,
    )?;
    // arn:partition:service:region:account:resource has at least five colons.
    let looks_like_arn = resource.starts_with("arn:") && resource.matches(':').count() >= 5;
    if resource != "*" && !looks_like_arn {
        return Err(ctx.error(format!(
            "Resource {resource:?} must be \"*\" or an ARN (arn:partition:service:region:account:resource)"
        )));
    }
    Ok(resource.to_owned())
}

const USERNAME_VARIABLE: &str = "${aws:username}";

/// `aws:username`: the friendly name of an IAM user principal; absent for
/// any other principal (an assumed role, an account root).
fn principal_username(principal: &Principal) -> Option<&str> {
    let resource = principal.arn.splitn(6, ':').nth(5)?;
    let path_and_name = resource.strip_prefix("user/")?;
    path_and_name.rsplit('/').next().filter(|n| !n.is_empty())
}

/// Resource matching with `${aws:username}` substituted (2012-10-17
/// policies). When the request context has no aws:username the statement
/// does not apply, as in IAM.
fn resource_matches(pattern: &str, variables: bool, request: &Request) -> bool {
    if variables && pattern.contains(USERNAME_VARIABLE) {
        return match principal_username(request.principal) {
            Some(name) => {
                wildcard_match(&pattern.replace(USERNAME_VARIABLE, name), request.resource)
            }
            None => false,
        };
    }
    wildcard_match(pattern, request.resource)
}

/// Policy variables other than `${aws:username}` are substituted by IAM in
/// 2012-10-17 policies; this evaluator does not implement them, and matching
/// them literally would be silently wrong, so they are refused.
fn check_no_policy_variable(
    ctx: &StatementContext,
    what: &str,
    value: &str,
    version: &str,
) -> Result<(), PolicyError> {
    if version == VERSION_2012 && value.contains("${") {
        return Err(ctx.error(format!(
            "{what} {value:?} uses a policy variable (${{...}}), which is not supported"
        )));
    }
    Ok(())
}

fn parse_principal(
    ctx: &StatementContext,
    value: &Value,
) -> Result<Vec<PrincipalPattern>, PolicyError> {
    let map = match value {
        Value::String(s) if s == "*" => return Ok(vec![PrincipalPattern::Any]),
        Value::Object(map) => map,
        other => {
            return Err(ctx.error(format!(
                "Principal must be \"*\" or an object like {{\"AWS\": ...}}, found {other}"
            )))
        }
    };
    for key in map.keys() {
        match key.as_str() {
            "AWS" => {}
            "Service" | "Federated" | "CanonicalUser" => {
                return Err(ctx.error(format!(
                    "Principal type {key:?} is not supported (supported: AWS)"
                )));
            }
            _ => {
                return Err(ctx.error(format!("unknown Principal type {key:?} (supported: AWS)")));
            }
        }
    }
    let Some(aws) = map.get("AWS") else {
        return Err(ctx.error("Principal object must contain \"AWS\""));
    };
    string_list(ctx, "Principal AWS", aws)?
        .into_iter()
        .map(|p| parse_aws_principal(p).map_err(|reason| ctx.error(reason)))
        .collect()
}

fn parse_aws_principal(value: &str) -> Result<PrincipalPattern, String> {
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
            "Principal AWS {value:?} is invalid: {why} (expected \"*\", a 12-digit account id, \
             or arn:aws:iam::<account>:root|user/<name>|role/<name>)"
        )
    };
    if !value.starts_with("arn:") {
        return Err(invalid("not an account id or an ARN"));
    }
    // arn:partition:service:region:account:resource
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let [_, partition, service, region, account, resource] = parts[..] else {
        return Err(invalid("ARN has too few components"));
    };
    if !PARTITIONS.contains(&partition) {
        return Err(invalid(&format!("unknown partition {partition:?}")));
    }
    if service != "iam" || !region.is_empty() {
        return Err(invalid(
            "only IAM ARNs (arn:<partition>:iam::...) are supported",
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

fn parse_condition_block(
    ctx: &StatementContext,
    value: &Value,
    version: &str,
) -> Result<Vec<Condition>, PolicyError> {
    let Value::Object(operators) = value else {
        return Err(ctx.error(format!(
            "Condition must be an object, found {}",
            json_type(value)
        )));
    };
    if operators.is_empty() {
        return Err(ctx.error("Condition is empty"));
    }
    let mut conditions = Vec::new();
    for (op_name, keys) in operators {
        let Some(op) = Operator::parse(op_name) else {
            return Err(ctx.error(format!(
                "Condition operator {op_name:?} is not supported (supported: {})",
                Operator::ALL.map(Operator::name).join(", ")
            )));
        };
        let Value::Object(keys) = keys else {
            return Err(ctx.error(format!(
                "Condition operator {op_name} must map to an object of keys, found {}",
                json_type(keys)
            )));
        };
        if keys.is_empty() {
            return Err(ctx.error(format!("Condition operator {op_name} has no keys")));
        }
        conditions.extend(parse_operator_keys(ctx, op, keys, version)?);
    }
    Ok(conditions)
}

fn parse_operator_keys(
    ctx: &StatementContext,
    op: Operator,
    keys: &Map<String, Value>,
    version: &str,
) -> Result<Vec<Condition>, PolicyError> {
    let mut conditions = Vec::new();
    for (key_name, raw_values) in keys {
        let op_name = op.name();
        let Some(key) = ConditionKey::parse(key_name) else {
            return Err(ctx.error(format!(
                "Condition key {key_name:?} (under {op_name}) is not supported (supported: {})",
                ConditionKey::ALL.map(ConditionKey::name).join(", ")
            )));
        };
        if key.key_type() != op.key_type() {
            return Err(ctx.error(format!(
                "Condition operator {op_name} cannot be used with key {key_name:?} ({})",
                key.key_type().describe()
            )));
        }

        let values: Vec<&Value> = match raw_values {
            Value::Array(items) => items.iter().collect(),
            single => vec![single],
        };
        if values.is_empty() {
            return Err(ctx.error(format!(
                "Condition {op_name} {key_name:?} has an empty list of values"
            )));
        }
        // Errors for a single value share this prefix.
        let bad = |v: &Value, expected: &str| {
            ctx.error(format!(
                "Condition {op_name} {key_name:?} value {v} is invalid: expected {expected}"
            ))
        };

        let test = match op {
            Operator::Bool => Test::Bool(
                values
                    .iter()
                    .map(|v| match v {
                        Value::Bool(b) => Ok(*b),
                        Value::String(s) if s == "true" => Ok(true),
                        Value::String(s) if s == "false" => Ok(false),
                        other => Err(bad(other, "true or false")),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Operator::NumericLessThan => Test::NumericLessThan(
                values
                    .iter()
                    .map(|v| {
                        let parsed = match v {
                            Value::Number(n) => n.as_u64(),
                            // u64::from_str would accept a leading '+'; IAM wants plain digits.
                            Value::String(s)
                                if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) =>
                            {
                                s.parse().ok()
                            }
                            _ => None,
                        };
                        parsed.ok_or_else(|| bad(v, "a non-negative integer"))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Operator::StringEquals | Operator::StringLike => {
                let strings = values
                    .iter()
                    .map(|v| {
                        // IAM accepts numbers and booleans where strings are expected.
                        let s = match v {
                            Value::String(s) => s.clone(),
                            Value::Number(n) => n.to_string(),
                            Value::Bool(b) => b.to_string(),
                            other => return Err(bad(other, "a string")),
                        };
                        check_no_policy_variable(
                            ctx,
                            &format!("Condition {op_name} {key_name:?} value"),
                            &s,
                            version,
                        )?;
                        Ok(s)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                if op == Operator::StringEquals {
                    Test::StringEquals(strings)
                } else {
                    Test::StringLike(strings)
                }
            }
        };
        conditions.push(Condition { key, test });
    }
    Ok(conditions)
}

/// Glob match where `*` matches any run of characters (including none) and
/// `?` matches exactly one character. Linear-time greedy matching with
/// backtracking to the most recent `*`.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    // (pattern index just after the last '*', text index that '*' resumes at)
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            pi += 1;
            backtrack = Some((pi, ti));
        } else if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((star_p, star_t)) = backtrack {
            // Let the last '*' swallow one more character and retry.
            pi = star_p;
            ti = star_t + 1;
            backtrack = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASTION_GROUP_POLICY: &str = r#"{"Version": "2012-10-17", "Statement": [
  {"Sid": "1", "Effect": "Allow", "Action": ["sts:AssumeRole"], "Resource": "*",
   "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}},
  {"Sid": "2", "Effect": "Allow", "Action": ["sts:GetSessionToken"], "Resource": "*"}]}"#;

    const TRUST_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"},"NumericLessThan":{"aws:MultiFactorAuthAge":"43200"},"StringEquals":{"sts:ExternalId":"abc"}}}]}"#;

    const ROLE_ARN: &str = "arn:aws:iam::222222222222:role/admin";

    fn alice() -> Principal {
        Principal {
            account: "111111111111".into(),
            arn: "arn:aws:iam::111111111111:user/alice".into(),
        }
    }

    fn bob_elsewhere() -> Principal {
        Principal {
            account: "333333333333".into(),
            arn: "arn:aws:iam::333333333333:user/bob".into(),
        }
    }

    fn mfa(present: Option<bool>, age: Option<u64>, external_id: Option<&str>) -> ConditionContext {
        ConditionContext {
            mfa_present: present,
            mfa_age_secs: age,
            external_id: external_id.map(str::to_owned),
        }
    }

    fn identity(json: &str) -> Policy {
        Policy::parse(json, PolicyKind::Identity).expect("identity policy should parse")
    }

    fn trust(json: &str) -> Policy {
        Policy::parse(json, PolicyKind::Trust).expect("trust policy should parse")
    }

    fn eval(
        policy: &Policy,
        action: &str,
        resource: &str,
        principal: &Principal,
        ctx: &ConditionContext,
    ) -> Decision {
        policy.evaluate(&Request {
            action,
            resource,
            principal,
            context: ctx,
        })
    }

    /// Evaluate an identity policy for alice on `resource` with the given context.
    fn eval_id(policy: &Policy, action: &str, resource: &str, ctx: &ConditionContext) -> Decision {
        eval(policy, action, resource, &alice(), ctx)
    }

    /// Evaluate a trust policy for `sts:AssumeRole` on ROLE_ARN.
    fn eval_trust(policy: &Policy, principal: &Principal, ctx: &ConditionContext) -> Decision {
        eval(policy, "sts:AssumeRole", ROLE_ARN, principal, ctx)
    }

    fn identity_err(json: &str) -> String {
        Policy::parse(json, PolicyKind::Identity)
            .expect_err("identity policy should be refused")
            .message
    }

    fn trust_err(json: &str) -> String {
        Policy::parse(json, PolicyKind::Trust)
            .expect_err("trust policy should be refused")
            .message
    }

    /// Wraps one statement body (without braces) in a 2012 identity policy.
    fn one_statement(body: &str) -> String {
        format!(r#"{{"Version":"2012-10-17","Statement":{{{body}}}}}"#)
    }

    /// Identity statement allowing sts:AssumeRole on "*" with the given Condition JSON.
    fn with_condition(condition: &str) -> String {
        one_statement(&format!(
            r#""Effect":"Allow","Action":"sts:AssumeRole","Resource":"*","Condition":{condition}"#
        ))
    }

    /// Trust statement allowing sts:AssumeRole for the given Principal JSON.
    fn trust_with_principal(principal: &str) -> String {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{principal},"Action":"sts:AssumeRole"}}]}}"#
        )
    }

    fn assert_one_line_containing(message: &str, needles: &[&str]) {
        assert!(
            !message.contains('\n'),
            "message is not one line: {message}"
        );
        for needle in needles {
            assert!(
                message.contains(needle),
                "message {message:?} does not contain {needle:?}"
            );
        }
    }

    // ---- The two documents from the bastion setup ----

    #[test]
    fn bastion_group_policy_parses_as_identity() {
        assert_eq!(identity(BASTION_GROUP_POLICY).kind(), PolicyKind::Identity);
    }

    #[test]
    fn bastion_get_session_token_allowed_without_mfa() {
        let p = identity(BASTION_GROUP_POLICY);
        for ctx in [
            mfa(None, None, None),
            mfa(Some(false), None, None),
            mfa(Some(true), Some(5), None),
        ] {
            assert_eq!(
                eval_id(&p, "sts:GetSessionToken", "*", &ctx),
                Decision::Allow
            );
        }
    }

    #[test]
    fn bastion_assume_role_requires_mfa() {
        let p = identity(BASTION_GROUP_POLICY);
        assert_eq!(
            eval_id(
                &p,
                "sts:AssumeRole",
                ROLE_ARN,
                &mfa(Some(true), Some(10), None)
            ),
            Decision::Allow
        );
        assert_eq!(
            eval_id(
                &p,
                "sts:AssumeRole",
                ROLE_ARN,
                &mfa(Some(false), None, None)
            ),
            Decision::ImplicitDeny
        );
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", ROLE_ARN, &mfa(None, None, None)),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn bastion_other_actions_implicitly_denied() {
        let p = identity(BASTION_GROUP_POLICY);
        let ctx = mfa(Some(true), Some(1), None);
        assert_eq!(
            eval_id(&p, "sts:GetCallerIdentity", "*", &ctx),
            Decision::ImplicitDeny
        );
        assert_eq!(
            eval_id(&p, "iam:ListUsers", "*", &ctx),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn trust_policy_parses_and_requires_all_conditions() {
        let p = trust(TRUST_POLICY);
        assert_eq!(p.kind(), PolicyKind::Trust);
        let good = mfa(Some(true), Some(100), Some("abc"));
        assert_eq!(eval_trust(&p, &alice(), &good), Decision::Allow);
        // Each condition failing on its own denies (AND across operators).
        assert_eq!(
            eval_trust(&p, &alice(), &mfa(Some(false), Some(100), Some("abc"))),
            Decision::ImplicitDeny
        );
        assert_eq!(
            eval_trust(&p, &alice(), &mfa(Some(true), Some(43200), Some("abc"))),
            Decision::ImplicitDeny
        );
        assert_eq!(
            eval_trust(&p, &alice(), &mfa(Some(true), Some(100), Some("abd"))),
            Decision::ImplicitDeny
        );
        // Absent keys make their condition false.
        assert_eq!(
            eval_trust(&p, &alice(), &mfa(None, Some(100), Some("abc"))),
            Decision::ImplicitDeny
        );
        assert_eq!(
            eval_trust(&p, &alice(), &mfa(Some(true), None, Some("abc"))),
            Decision::ImplicitDeny
        );
        assert_eq!(
            eval_trust(&p, &alice(), &mfa(Some(true), Some(100), None)),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn trust_policy_rejects_other_account_and_other_actions() {
        let p = trust(TRUST_POLICY);
        let good = mfa(Some(true), Some(100), Some("abc"));
        assert_eq!(
            eval_trust(&p, &bob_elsewhere(), &good),
            Decision::ImplicitDeny
        );
        assert_eq!(
            eval(&p, "sts:TagSession", ROLE_ARN, &alice(), &good),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn trust_policy_boundary_of_numeric_less_than() {
        let p = trust(TRUST_POLICY);
        assert_eq!(
            eval_trust(&p, &alice(), &mfa(Some(true), Some(43199), Some("abc"))),
            Decision::Allow
        );
        assert_eq!(
            eval_trust(&p, &alice(), &mfa(Some(true), Some(0), Some("abc"))),
            Decision::Allow
        );
        assert_eq!(
            eval_trust(&p, &alice(), &mfa(Some(true), Some(43201), Some("abc"))),
            Decision::ImplicitDeny
        );
    }

    // ---- Top-level document ----

    #[test]
    fn version_2008_and_missing_version_accepted() {
        for json in [
            r#"{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"sts:GetSessionToken","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":"sts:GetSessionToken","Resource":"*"}}"#,
        ] {
            let p = identity(json);
            assert_eq!(
                eval_id(&p, "sts:GetSessionToken", "*", &mfa(None, None, None)),
                Decision::Allow
            );
        }
    }

    #[test]
    fn bad_version_refused() {
        let msg = identity_err(
            r#"{"Version":"2012-10-18","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
        );
        assert_one_line_containing(&msg, &["Version", "2012-10-18", "2012-10-17"]);
        let msg = identity_err(
            r#"{"Version":20121017,"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
        );
        assert_one_line_containing(&msg, &["Version", "20121017"]);
    }

    #[test]
    fn id_accepted_when_string_refused_otherwise() {
        identity(
            r#"{"Version":"2012-10-17","Id":"my-policy","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
        );
        let msg = identity_err(
            r#"{"Version":"2012-10-17","Id":7,"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
        );
        assert_one_line_containing(&msg, &["Id must be a string"]);
    }

    #[test]
    fn unknown_top_level_key_refused() {
        let msg = identity_err(r#"{"Version":"2012-10-17","Statements":[]}"#);
        assert_one_line_containing(&msg, &["top-level key", "\"Statements\""]);
    }

    #[test]
    fn missing_or_empty_or_wrongly_typed_statement_refused() {
        assert_one_line_containing(
            &identity_err(r#"{"Version":"2012-10-17"}"#),
            &["no Statement"],
        );
        assert_one_line_containing(
            &identity_err(r#"{"Version":"2012-10-17","Statement":[]}"#),
            &["empty"],
        );
        assert_one_line_containing(
            &identity_err(r#"{"Version":"2012-10-17","Statement":"Allow"}"#),
            &["Statement must be an object or an array"],
        );
        assert_one_line_containing(
            &identity_err(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}, 5]}"#,
            ),
            &["Statement[1]", "must be a JSON object"],
        );
    }

    #[test]
    fn malformed_json_refused_with_message() {
        let msg = identity_err(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",}]}"#);
        assert_one_line_containing(&msg, &["not valid JSON", "line 1"]);
        let msg = identity_err("");
        assert_one_line_containing(&msg, &["not valid JSON"]);
        let msg = identity_err("[1,2]");
        assert_one_line_containing(&msg, &["must be a JSON object", "an array"]);
    }

    #[test]
    fn single_statement_object_equivalent_to_array() {
        let p = identity(&one_statement(
            r#""Effect":"Allow","Action":"sts:GetSessionToken","Resource":"*""#,
        ));
        assert_eq!(
            eval_id(&p, "sts:GetSessionToken", "*", &mfa(None, None, None)),
            Decision::Allow
        );
    }

    // ---- Statement elements ----

    #[test]
    fn not_elements_refused() {
        for key in ["NotAction", "NotResource", "NotPrincipal"] {
            let json = one_statement(&format!(
                r#""Sid":"X","Effect":"Allow","Action":"*","Resource":"*","{key}":"sts:GetSessionToken""#
            ));
            let msg = identity_err(&json);
            assert_one_line_containing(&msg, &["Statement[0]", "Sid \"X\"", key, "not supported"]);
        }
    }

    #[test]
    fn unknown_statement_key_refused_with_index() {
        let json = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"*","Resource":"*"},
            {"Effect":"Allow","Action":"*","Resource":"*","Effects":"Deny"}]}"#;
        let msg = identity_err(json);
        assert_one_line_containing(&msg, &["Statement[1]", "\"Effects\""]);
        assert!(!msg.contains("(Sid"), "no Sid to name: {msg}");
    }

    #[test]
    fn error_names_sid_when_present() {
        let json = r#"{"Version":"2012-10-17","Statement":[
            {"Sid":"First","Effect":"Allow","Action":"*","Resource":"*"},
            {"Sid":"Second","Effect":"Permit","Action":"*","Resource":"*"}]}"#;
        let msg = identity_err(json);
        assert_eq!(
            msg,
            "Statement[1] (Sid \"Second\"): Effect must be \"Allow\" or \"Deny\", found \"Permit\""
        );
    }

    #[test]
    fn sid_must_be_string() {
        let msg = identity_err(&one_statement(
            r#""Sid":1,"Effect":"Allow","Action":"*","Resource":"*""#,
        ));
        assert_one_line_containing(&msg, &["Statement[0]", "Sid must be a string"]);
    }

    #[test]
    fn bad_or_missing_effect_refused() {
        // Effect values are case-sensitive.
        let msg = identity_err(&one_statement(
            r#""Effect":"allow","Action":"*","Resource":"*""#,
        ));
        assert_one_line_containing(&msg, &["Statement[0]", "Effect", "\"allow\""]);
        let msg = identity_err(&one_statement(
            r#""Effect":true,"Action":"*","Resource":"*""#,
        ));
        assert_one_line_containing(&msg, &["Effect"]);
        let msg = identity_err(&one_statement(r#""Action":"*","Resource":"*""#));
        assert_one_line_containing(&msg, &["Statement[0]", "missing required field Effect"]);
    }

    #[test]
    fn missing_action_refused() {
        let msg = identity_err(&one_statement(r#""Effect":"Allow","Resource":"*""#));
        assert_one_line_containing(&msg, &["missing required field Action"]);
    }

    #[test]
    fn malformed_actions_refused() {
        for (action, needle) in [
            (r#""AssumeRole""#, "no service prefix"),
            (r#"":AssumeRole""#, "not a valid"),
            (r#""sts:""#, "not a valid"),
            (r#""sts:Assume:Role""#, "not a valid"),
            (r#""st s:AssumeRole""#, "not a valid"),
            (r#"[]"#, "Action is empty"),
            (r#"["sts:AssumeRole", 3]"#, "must be strings"),
            (r#"{"a":1}"#, "string or an array"),
        ] {
            let msg = identity_err(&one_statement(&format!(
                r#""Effect":"Allow","Action":{action},"Resource":"*""#
            )));
            assert_one_line_containing(&msg, &["Statement[0]", "Action", needle]);
        }
    }

    #[test]
    fn missing_resource_in_identity_refused() {
        let msg = identity_err(&one_statement(r#""Effect":"Allow","Action":"*""#));
        assert_one_line_containing(&msg, &["Statement[0]", "missing required field Resource"]);
    }

    #[test]
    fn malformed_resources_refused() {
        for resource in [
            r#""role/admin""#,
            r#""arn:aws:iam""#,
            r#""arn:*""#,
            r#"[]"#,
            r#"[1]"#,
        ] {
            let msg = identity_err(&one_statement(&format!(
                r#""Effect":"Allow","Action":"*","Resource":{resource}"#
            )));
            assert_one_line_containing(&msg, &["Statement[0]", "Resource"]);
        }
    }

    #[test]
    fn username_variable_substituted_in_2012() {
        let stmt = r#"{"Effect":"Allow","Action":"iam:*","Resource":["arn:aws:iam::*:user/${aws:username}","arn:aws:iam::*:mfa/${aws:username}*"]}"#;
        let p = identity(&format!(r#"{{"Version":"2012-10-17","Statement":{stmt}}}"#));
        let ctx = mfa(None, None, None);
        let alice = Principal {
            account: "111111111111".into(),
            arn: "arn:aws:iam::111111111111:user/alice".into(),
        };
        let role = Principal {
            account: "111111111111".into(),
            arn: "arn:aws:sts::111111111111:assumed-role/R/alice".into(),
        };
        let eval = |principal: &Principal, resource: &str| {
            p.evaluate(&Request {
                action: "iam:CreateAccessKey",
                resource,
                principal,
                context: &ctx,
            })
        };
        let own = "arn:aws:iam::111111111111:user/alice";
        assert_eq!(eval(&alice, own), Decision::Allow);
        assert_eq!(
            eval(&alice, "arn:aws:iam::111111111111:mfa/alice-phone2"),
            Decision::Allow
        );
        assert_eq!(
            eval(&alice, "arn:aws:iam::111111111111:user/bob"),
            Decision::ImplicitDeny
        );
        assert_eq!(
            eval(&alice, "arn:aws:iam::111111111111:mfa/bob"),
            Decision::ImplicitDeny
        );
        assert_eq!(
            eval(&alice, "arn:aws:iam::111111111111:user/${aws:username}"),
            Decision::ImplicitDeny
        );
        // No aws:username for an assumed role: the statement does not apply.
        assert_eq!(eval(&role, own), Decision::ImplicitDeny);
    }

    #[test]
    fn policy_variables_refused_in_2012_but_literal_in_2008() {
        let refused = r#"{"Effect":"Allow","Action":"*","Resource":"arn:aws:iam::111111111111:user/${aws:userid}"}"#;
        let msg = identity_err(&format!(
            r#"{{"Version":"2012-10-17","Statement":{refused}}}"#
        ));
        assert_one_line_containing(&msg, &["policy variable"]);
        let stmt = r#"{"Effect":"Allow","Action":"*","Resource":"arn:aws:iam::111111111111:user/${aws:username}"}"#;
        let p = identity(&format!(r#"{{"Version":"2008-10-17","Statement":{stmt}}}"#));
        let literal = "arn:aws:iam::111111111111:user/${aws:username}";
        assert_eq!(
            eval_id(&p, "iam:GetUser", literal, &mfa(None, None, None)),
            Decision::Allow
        );
        assert_eq!(
            eval_id(
                &p,
                "iam:GetUser",
                "arn:aws:iam::111111111111:user/alice",
                &mfa(None, None, None)
            ),
            Decision::ImplicitDeny
        );
        let msg = identity_err(&with_condition(
            r#"{"StringEquals":{"sts:ExternalId":"${aws:username}"}}"#,
        ));
        assert_one_line_containing(&msg, &["policy variable", "StringEquals"]);
    }

    #[test]
    fn resource_in_trust_policy_refused() {
        let json = r#"{"Version":"2012-10-17","Statement":[{"Sid":"T","Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}]}"#;
        let msg = trust_err(json);
        assert_one_line_containing(
            &msg,
            &["Statement[0]", "Sid \"T\"", "Has prohibited field Resource"],
        );
    }

    #[test]
    fn principal_in_identity_policy_refused() {
        let msg = identity_err(&one_statement(
            r#""Effect":"Allow","Principal":"*","Action":"*","Resource":"*""#,
        ));
        assert_one_line_containing(&msg, &["Statement[0]", "Has prohibited field Principal"]);
    }

    #[test]
    fn missing_principal_in_trust_refused() {
        let msg = trust_err(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}"#,
        );
        assert_one_line_containing(&msg, &["Statement[0]", "missing required field Principal"]);
    }

    #[test]
    fn bastion_group_policy_is_not_a_trust_policy() {
        let msg = trust_err(BASTION_GROUP_POLICY);
        assert_one_line_containing(&msg, &["Statement[0]", "Sid \"1\"", "Resource"]);
    }

    // ---- Principals ----

    #[test]
    fn unsupported_principal_types_refused() {
        for (principal, needle) in [
            (
                r#"{"Service":"ec2.amazonaws.com"}"#,
                "\"Service\" is not supported",
            ),
            (
                r#"{"Federated":"cognito-identity.amazonaws.com"}"#,
                "\"Federated\" is not supported",
            ),
            (
                r#"{"CanonicalUser":"79a59df900b949e55d96a1e698fbace"}"#,
                "\"CanonicalUser\" is not supported",
            ),
            (
                r#"{"AWS":"*","Service":"ec2.amazonaws.com"}"#,
                "\"Service\" is not supported",
            ),
            (r#"{"aws":"*"}"#, "unknown Principal type"),
            (r#"{}"#, "must contain \"AWS\""),
            (r#""111111111111""#, "Principal must be"),
            (r#"["*"]"#, "Principal must be"),
        ] {
            let msg = trust_err(&trust_with_principal(principal));
            assert_one_line_containing(&msg, &["Statement[0]", needle]);
        }
    }

    #[test]
    fn malformed_aws_principals_refused() {
        for value in [
            "11111111111",                                // 11 digits
            "1111111111111",                              // 13 digits
            "11111111111a",                               // not digits
            "alice",                                      // not an ARN
            "arn:aws:iam::11111111111:root",              // bad account
            "arn:aws:iam::111111111111",                  // too short
            "arn:aws-eu:iam::111111111111:root",          // unknown partition
            "arn:aws:sts::111111111111:assumed-role/r/s", // not IAM
            "arn:aws:iam:us-east-1:111111111111:root",    // IAM ARNs have no region
            "arn:aws:iam::111111111111:group/devs",       // groups are not principals
            "arn:aws:iam::111111111111:user/",            // empty name
            "arn:aws:iam::111111111111:user/*",           // wildcard
            "arn:aws:iam::*:root",                        // wildcard account
        ] {
            let msg = trust_err(&trust_with_principal(&format!(r#"{{"AWS":"{value}"}}"#)));
            assert_one_line_containing(&msg, &["Statement[0]", "Principal AWS", value]);
        }
        let msg = trust_err(&trust_with_principal(r#"{"AWS":[]}"#));
        assert_one_line_containing(&msg, &["Principal AWS is empty"]);
    }

    #[test]
    fn account_id_and_root_arn_match_any_principal_in_account() {
        for principal in [
            r#"{"AWS":"111111111111"}"#,
            r#"{"AWS":"arn:aws:iam::111111111111:root"}"#,
        ] {
            let p = trust(&trust_with_principal(principal));
            let ctx = mfa(None, None, None);
            assert_eq!(
                eval_trust(&p, &alice(), &ctx),
                Decision::Allow,
                "{principal}"
            );
            let carol = Principal {
                account: "111111111111".into(),
                arn: "arn:aws:iam::111111111111:user/ops/carol".into(),
            };
            assert_eq!(eval_trust(&p, &carol, &ctx), Decision::Allow, "{principal}");
            assert_eq!(
                eval_trust(&p, &bob_elsewhere(), &ctx),
                Decision::ImplicitDeny,
                "{principal}"
            );
        }
    }

    #[test]
    fn root_arn_respects_partition() {
        let p = trust(&trust_with_principal(
            r#"{"AWS":"arn:aws-cn:iam::111111111111:root"}"#,
        ));
        let ctx = mfa(None, None, None);
        assert_eq!(eval_trust(&p, &alice(), &ctx), Decision::ImplicitDeny);
        let cn_alice = Principal {
            account: "111111111111".into(),
            arn: "arn:aws-cn:iam::111111111111:user/alice".into(),
        };
        assert_eq!(eval_trust(&p, &cn_alice, &ctx), Decision::Allow);
        // GovCloud ARNs parse too.
        trust(&trust_with_principal(
            r#"{"AWS":"arn:aws-us-gov:iam::111111111111:user/alice"}"#,
        ));
    }

    #[test]
    fn user_arn_matches_exactly() {
        let p = trust(&trust_with_principal(
            r#"{"AWS":"arn:aws:iam::111111111111:user/alice"}"#,
        ));
        let ctx = mfa(None, None, None);
        assert_eq!(eval_trust(&p, &alice(), &ctx), Decision::Allow);
        let alicia = Principal {
            account: "111111111111".into(),
            arn: "arn:aws:iam::111111111111:user/alicia".into(),
        };
        assert_eq!(eval_trust(&p, &alicia, &ctx), Decision::ImplicitDeny);
        let role = Principal {
            account: "111111111111".into(),
            arn: "arn:aws:iam::111111111111:role/alice".into(),
        };
        assert_eq!(eval_trust(&p, &role, &ctx), Decision::ImplicitDeny);
    }

    #[test]
    fn role_arn_and_user_path_principals_parse() {
        let p = trust(&trust_with_principal(
            r#"{"AWS":"arn:aws:iam::111111111111:role/path/ci"}"#,
        ));
        let ci = Principal {
            account: "111111111111".into(),
            arn: "arn:aws:iam::111111111111:role/path/ci".into(),
        };
        assert_eq!(eval_trust(&p, &ci, &mfa(None, None, None)), Decision::Allow);
        assert_eq!(
            eval_trust(&p, &alice(), &mfa(None, None, None)),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn wildcard_principals_match_anyone() {
        for principal in [r#""*""#, r#"{"AWS":"*"}"#, r#"{"AWS":["*"]}"#] {
            let p = trust(&trust_with_principal(principal));
            assert_eq!(
                eval_trust(&p, &alice(), &mfa(None, None, None)),
                Decision::Allow
            );
            assert_eq!(
                eval_trust(&p, &bob_elsewhere(), &mfa(None, None, None)),
                Decision::Allow
            );
        }
    }

    #[test]
    fn principal_array_is_or() {
        let p = trust(&trust_with_principal(
            r#"{"AWS":["arn:aws:iam::999999999999:root","arn:aws:iam::333333333333:user/bob"]}"#,
        ));
        let ctx = mfa(None, None, None);
        assert_eq!(eval_trust(&p, &bob_elsewhere(), &ctx), Decision::Allow);
        assert_eq!(eval_trust(&p, &alice(), &ctx), Decision::ImplicitDeny);
    }

    #[test]
    fn identity_policy_ignores_principal() {
        let p = identity(&one_statement(
            r#""Effect":"Allow","Action":"sts:GetSessionToken","Resource":"*""#,
        ));
        let ctx = mfa(None, None, None);
        assert_eq!(
            eval(&p, "sts:GetSessionToken", "*", &bob_elsewhere(), &ctx),
            Decision::Allow
        );
    }

    #[test]
    fn trust_policy_ignores_resource() {
        let p = trust(&trust_with_principal(r#""*""#));
        let ctx = mfa(None, None, None);
        assert_eq!(
            eval(&p, "sts:AssumeRole", "*", &alice(), &ctx),
            Decision::Allow
        );
        assert_eq!(
            eval(&p, "sts:AssumeRole", "anything", &alice(), &ctx),
            Decision::Allow
        );
    }

    // ---- Action and resource matching ----

    #[test]
    fn action_matching_is_case_insensitive_with_wildcards() {
        let ctx = mfa(None, None, None);
        let cases: [(&str, &str, bool); 12] = [
            ("sts:AssumeRole", "sts:AssumeRole", true),
            ("sts:AssumeRole", "STS:assumerole", true),
            ("STS:ASSUMEROLE", "sts:AssumeRole", true),
            ("sts:*", "sts:GetSessionToken", true),
            ("sts:*", "iam:GetUser", false),
            ("*", "iam:GetUser", true),
            ("sts:Get*", "sts:GetSessionToken", true),
            ("sts:Get*", "sts:GetCallerIdentity", true),
            ("sts:Get*", "sts:AssumeRole", false),
            ("sts:Assume????", "sts:AssumeRole", true),
            ("sts:Assume???", "sts:AssumeRole", false),
            ("sts:AssumeRole", "sts:AssumeRoleWithSAML", false),
        ];
        for (pattern, action, expected) in cases {
            let p = identity(&one_statement(&format!(
                r#""Effect":"Allow","Action":"{pattern}","Resource":"*""#
            )));
            let want = if expected {
                Decision::Allow
            } else {
                Decision::ImplicitDeny
            };
            assert_eq!(
                eval_id(&p, action, "*", &ctx),
                want,
                "{pattern} vs {action}"
            );
        }
    }

    #[test]
    fn action_array_is_or() {
        let p = identity(&one_statement(
            r#""Effect":"Allow","Action":["sts:GetSessionToken","iam:ListMFADevices"],"Resource":"*""#,
        ));
        let ctx = mfa(None, None, None);
        assert_eq!(
            eval_id(&p, "sts:GetSessionToken", "*", &ctx),
            Decision::Allow
        );
        assert_eq!(
            eval_id(&p, "iam:ListMFADevices", "*", &ctx),
            Decision::Allow
        );
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &ctx),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn resource_matching_is_case_sensitive_with_wildcards() {
        let ctx = mfa(None, None, None);
        let cases: [(&str, &str, bool); 8] = [
            ("*", ROLE_ARN, true),
            ("*", "*", true),
            (ROLE_ARN, ROLE_ARN, true),
            (ROLE_ARN, "arn:aws:iam::222222222222:role/Admin", false),
            ("arn:aws:iam::222222222222:role/*", ROLE_ARN, true),
            ("arn:aws:iam::*:role/admin", ROLE_ARN, true),
            ("arn:aws:iam::22222222222?:role/admi?", ROLE_ARN, true),
            (
                "arn:aws:iam::222222222222:role/*",
                "arn:aws:iam::222222222223:role/admin",
                false,
            ),
        ];
        for (pattern, resource, expected) in cases {
            let p = identity(&one_statement(&format!(
                r#""Effect":"Allow","Action":"sts:AssumeRole","Resource":"{pattern}""#
            )));
            let want = if expected {
                Decision::Allow
            } else {
                Decision::ImplicitDeny
            };
            assert_eq!(
                eval_id(&p, "sts:AssumeRole", resource, &ctx),
                want,
                "{pattern} vs {resource}"
            );
        }
    }

    #[test]
    fn resource_array_is_or() {
        let p = identity(&one_statement(
            r#""Effect":"Allow","Action":"sts:AssumeRole","Resource":["arn:aws:iam::222222222222:role/admin","arn:aws:iam::444444444444:role/*"]"#,
        ));
        let ctx = mfa(None, None, None);
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", ROLE_ARN, &ctx),
            Decision::Allow
        );
        assert_eq!(
            eval_id(
                &p,
                "sts:AssumeRole",
                "arn:aws:iam::444444444444:role/ro",
                &ctx
            ),
            Decision::Allow
        );
        assert_eq!(
            eval_id(
                &p,
                "sts:AssumeRole",
                "arn:aws:iam::555555555555:role/ro",
                &ctx
            ),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn wildcard_match_edge_cases() {
        assert!(wildcard_match("", ""));
        assert!(!wildcard_match("", "a"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("**", "abc"));
        assert!(!wildcard_match("?", ""));
        assert!(wildcard_match("a*b*c", "aXbYbZc"));
        assert!(!wildcard_match("a*b*c", "aXbYbZ"));
        assert!(wildcard_match("*abc", "ababc"));
        assert!(wildcard_match("a*?", "ab"));
        assert!(!wildcard_match("a*?", "a"));
        assert!(
            wildcard_match("h?llo", "hällo"),
            "? matches one character, not one byte"
        );
        assert!(!wildcard_match("abc", "ab"));
        assert!(!wildcard_match("ab", "abc"));
    }

    // ---- Deny semantics and combine ----

    #[test]
    fn explicit_deny_overrides_allow() {
        let json = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"sts:*","Resource":"*"},
            {"Effect":"Deny","Action":"sts:AssumeRole","Resource":"*",
             "Condition":{"Bool":{"aws:MultiFactorAuthPresent":"false"}}}]}"#;
        let p = identity(json);
        assert_eq!(
            eval_id(
                &p,
                "sts:AssumeRole",
                ROLE_ARN,
                &mfa(Some(false), None, None)
            ),
            Decision::ExplicitDeny
        );
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", ROLE_ARN, &mfa(Some(true), None, None)),
            Decision::Allow
        );
        // The Deny's condition is false when the key is absent, so the Allow stands.
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", ROLE_ARN, &mfa(None, None, None)),
            Decision::Allow
        );
        assert_eq!(
            eval_id(
                &p,
                "sts:GetSessionToken",
                "*",
                &mfa(Some(false), None, None)
            ),
            Decision::Allow
        );
    }

    #[test]
    fn deny_order_does_not_matter() {
        let json = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Deny","Action":"*","Resource":"*"},
            {"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        let p = identity(json);
        assert_eq!(
            eval_id(&p, "sts:GetSessionToken", "*", &mfa(None, None, None)),
            Decision::ExplicitDeny
        );
    }

    #[test]
    fn deny_in_trust_policy() {
        let json = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"sts:AssumeRole"},
            {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111111111111:user/alice"},"Action":"sts:*"}]}"#;
        let p = trust(json);
        let ctx = mfa(None, None, None);
        assert_eq!(eval_trust(&p, &alice(), &ctx), Decision::ExplicitDeny);
        let carol = Principal {
            account: "111111111111".into(),
            arn: "arn:aws:iam::111111111111:user/carol".into(),
        };
        assert_eq!(eval_trust(&p, &carol, &ctx), Decision::Allow);
    }

    #[test]
    fn non_matching_deny_is_not_explicit() {
        let p = identity(&one_statement(
            r#""Effect":"Deny","Action":"iam:*","Resource":"*""#,
        ));
        assert_eq!(
            eval_id(&p, "sts:GetSessionToken", "*", &mfa(None, None, None)),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn combine_rules() {
        use Decision::*;
        assert_eq!(combine([]), ImplicitDeny);
        assert_eq!(combine([ImplicitDeny, ImplicitDeny]), ImplicitDeny);
        assert_eq!(combine([ImplicitDeny, Allow]), Allow);
        assert_eq!(combine([Allow, Allow]), Allow);
        assert_eq!(combine([Allow, ExplicitDeny, Allow]), ExplicitDeny);
        assert_eq!(combine([ExplicitDeny, Allow]), ExplicitDeny);
        assert_eq!(combine(vec![ImplicitDeny, ExplicitDeny]), ExplicitDeny);
    }

    // ---- Conditions ----

    #[test]
    fn unsupported_operator_refused() {
        for op in [
            "DateGreaterThan",
            "bool",
            "StringEqualsIgnoreCase",
            "BoolIfExists",
            "ForAnyValue:StringLike",
            "NumericGreaterThan",
        ] {
            let json = format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"*","Resource":"*"}},{{"Sid":"S","Effect":"Allow","Action":"*","Resource":"*","Condition":{{"{op}":{{"aws:MultiFactorAuthPresent":"true"}}}}}}]}}"#
            );
            let msg = identity_err(&json);
            assert_one_line_containing(
                &msg,
                &[
                    "Statement[1]",
                    "Sid \"S\"",
                    &format!("Condition operator \"{op}\" is not supported"),
                    "Bool, StringEquals, StringLike, NumericLessThan",
                ],
            );
        }
    }

    #[test]
    fn unsupported_condition_key_refused() {
        for (op, key) in [
            ("StringEquals", "aws:SourceIp"),
            ("Bool", "aws:SecureTransport"),
            ("StringLike", "aws:PrincipalArn"),
            ("NumericLessThan", "aws:TokenIssueTime"),
        ] {
            let msg = identity_err(&with_condition(&format!(r#"{{"{op}":{{"{key}":"x"}}}}"#)));
            assert_one_line_containing(
                &msg,
                &[
                    "Statement[0]",
                    key,
                    op,
                    "not supported",
                    "aws:MultiFactorAuthPresent",
                ],
            );
        }
    }

    #[test]
    fn condition_key_names_are_case_insensitive() {
        let p = identity(&with_condition(
            r#"{"Bool":{"AWS:multifactorauthpresent":"true"},"NumericLessThan":{"aws:multifactorauthage":3600},"StringEquals":{"STS:EXTERNALID":"x"}}"#,
        ));
        assert_eq!(
            eval_id(
                &p,
                "sts:AssumeRole",
                "*",
                &mfa(Some(true), Some(1), Some("x"))
            ),
            Decision::Allow
        );
        assert_eq!(
            eval_id(
                &p,
                "sts:AssumeRole",
                "*",
                &mfa(Some(true), Some(3600), Some("x"))
            ),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn operator_key_type_mismatch_refused() {
        for (op, key, value) in [
            ("NumericLessThan", "sts:ExternalId", "5"),
            ("Bool", "aws:MultiFactorAuthAge", "true"),
            ("StringEquals", "aws:MultiFactorAuthPresent", "true"),
            ("StringLike", "aws:MultiFactorAuthAge", "3*"),
            ("Bool", "sts:ExternalId", "true"),
            ("NumericLessThan", "aws:MultiFactorAuthPresent", "1"),
        ] {
            let msg = identity_err(&with_condition(&format!(
                r#"{{"{op}":{{"{key}":"{value}"}}}}"#
            )));
            assert_one_line_containing(&msg, &["Statement[0]", op, "cannot be used with key", key]);
        }
    }

    #[test]
    fn condition_value_validation() {
        for (condition, needle) in [
            (
                r#"{"Bool":{"aws:MultiFactorAuthPresent":"yes"}}"#,
                "true or false",
            ),
            (
                r#"{"Bool":{"aws:MultiFactorAuthPresent":1}}"#,
                "true or false",
            ),
            (
                r#"{"Bool":{"aws:MultiFactorAuthPresent":null}}"#,
                "true or false",
            ),
            (
                r#"{"NumericLessThan":{"aws:MultiFactorAuthAge":"-1"}}"#,
                "non-negative integer",
            ),
            (
                r#"{"NumericLessThan":{"aws:MultiFactorAuthAge":-1}}"#,
                "non-negative integer",
            ),
            (
                r#"{"NumericLessThan":{"aws:MultiFactorAuthAge":"1.5"}}"#,
                "non-negative integer",
            ),
            (
                r#"{"NumericLessThan":{"aws:MultiFactorAuthAge":1.5}}"#,
                "non-negative integer",
            ),
            (
                r#"{"NumericLessThan":{"aws:MultiFactorAuthAge":"+5"}}"#,
                "non-negative integer",
            ),
            (
                r#"{"NumericLessThan":{"aws:MultiFactorAuthAge":""}}"#,
                "non-negative integer",
            ),
            (
                r#"{"NumericLessThan":{"aws:MultiFactorAuthAge":true}}"#,
                "non-negative integer",
            ),
            (r#"{"StringEquals":{"sts:ExternalId":null}}"#, "a string"),
            (
                r#"{"StringEquals":{"sts:ExternalId":{"a":"b"}}}"#,
                "a string",
            ),
            (r#"{"StringEquals":{"sts:ExternalId":[]}}"#, "empty list"),
            (r#"{"StringEquals":{}}"#, "has no keys"),
            (r#"{"StringEquals":"abc"}"#, "must map to an object"),
            (r#"{}"#, "Condition is empty"),
            (r#"[]"#, "Condition must be an object"),
        ] {
            let msg = identity_err(&with_condition(condition));
            assert_one_line_containing(&msg, &["Statement[0]", needle]);
        }
    }

    #[test]
    fn bool_accepts_json_booleans_and_strings() {
        for value in [r#"true"#, r#""true""#, r#"[true]"#] {
            let p = identity(&with_condition(&format!(
                r#"{{"Bool":{{"aws:MultiFactorAuthPresent":{value}}}}}"#
            )));
            assert_eq!(
                eval_id(&p, "sts:AssumeRole", "*", &mfa(Some(true), None, None)),
                Decision::Allow,
                "{value}"
            );
            assert_eq!(
                eval_id(&p, "sts:AssumeRole", "*", &mfa(Some(false), None, None)),
                Decision::ImplicitDeny,
                "{value}"
            );
        }
        for value in [r#"false"#, r#""false""#] {
            let p = identity(&with_condition(&format!(
                r#"{{"Bool":{{"aws:MultiFactorAuthPresent":{value}}}}}"#
            )));
            assert_eq!(
                eval_id(&p, "sts:AssumeRole", "*", &mfa(Some(false), None, None)),
                Decision::Allow,
                "{value}"
            );
            assert_eq!(
                eval_id(&p, "sts:AssumeRole", "*", &mfa(Some(true), None, None)),
                Decision::ImplicitDeny,
                "{value}"
            );
            // Absent is not false: the key is missing, so the condition fails.
            assert_eq!(
                eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, None)),
                Decision::ImplicitDeny,
                "{value}"
            );
        }
    }

    #[test]
    fn numeric_less_than_accepts_numbers_and_strings() {
        for value in ["3600", r#""3600""#, r#"["3600"]"#] {
            let p = identity(&with_condition(&format!(
                r#"{{"NumericLessThan":{{"aws:MultiFactorAuthAge":{value}}}}}"#
            )));
            assert_eq!(
                eval_id(&p, "sts:AssumeRole", "*", &mfa(None, Some(3599), None)),
                Decision::Allow,
                "{value}"
            );
            assert_eq!(
                eval_id(&p, "sts:AssumeRole", "*", &mfa(None, Some(3600), None)),
                Decision::ImplicitDeny,
                "{value}"
            );
            assert_eq!(
                eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, None)),
                Decision::ImplicitDeny,
                "{value}"
            );
        }
    }

    #[test]
    fn string_equals_is_exact_and_case_sensitive() {
        let p = identity(&with_condition(
            r#"{"StringEquals":{"sts:ExternalId":"Abc"}}"#,
        ));
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, Some("Abc"))),
            Decision::Allow
        );
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, Some("abc"))),
            Decision::ImplicitDeny
        );
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, Some("Abcd"))),
            Decision::ImplicitDeny
        );
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, None)),
            Decision::ImplicitDeny
        );
        // StringEquals does not treat '*' as a wildcard.
        let p = identity(&with_condition(
            r#"{"StringEquals":{"sts:ExternalId":"a*"}}"#,
        ));
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, Some("abc"))),
            Decision::ImplicitDeny
        );
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, Some("a*"))),
            Decision::Allow
        );
    }

    #[test]
    fn string_values_may_be_numbers_or_booleans() {
        let p = identity(&with_condition(
            r#"{"StringEquals":{"sts:ExternalId":[12345, true]}}"#,
        ));
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, Some("12345"))),
            Decision::Allow
        );
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, Some("true"))),
            Decision::Allow
        );
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, Some("1234"))),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn string_like_supports_wildcards_case_sensitively() {
        let p = identity(&with_condition(
            r#"{"StringLike":{"sts:ExternalId":"team-?-*"}}"#,
        ));
        assert_eq!(
            eval_id(
                &p,
                "sts:AssumeRole",
                "*",
                &mfa(None, None, Some("team-a-prod"))
            ),
            Decision::Allow
        );
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, Some("team-a-"))),
            Decision::Allow
        );
        assert_eq!(
            eval_id(
                &p,
                "sts:AssumeRole",
                "*",
                &mfa(None, None, Some("team-ab-prod"))
            ),
            Decision::ImplicitDeny
        );
        assert_eq!(
            eval_id(
                &p,
                "sts:AssumeRole",
                "*",
                &mfa(None, None, Some("Team-a-prod"))
            ),
            Decision::ImplicitDeny
        );
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, None)),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn multiple_values_for_one_key_are_or() {
        let p = identity(&with_condition(
            r#"{"StringEquals":{"sts:ExternalId":["one","two"]}}"#,
        ));
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, Some("one"))),
            Decision::Allow
        );
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, Some("two"))),
            Decision::Allow
        );
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, Some("three"))),
            Decision::ImplicitDeny
        );
        let p = identity(&with_condition(
            r#"{"NumericLessThan":{"aws:MultiFactorAuthAge":[10, "100"]}}"#,
        ));
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &mfa(None, Some(50), None)),
            Decision::Allow
        );
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &mfa(None, Some(100), None)),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn multiple_keys_under_one_operator_are_and() {
        // Same key twice (differently cased) under one operator: both must hold.
        let p = identity(&with_condition(
            r#"{"StringLike":{"sts:ExternalId":"a*","STS:ExternalId":"*z"}}"#,
        ));
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, Some("abz"))),
            Decision::Allow
        );
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, Some("abc"))),
            Decision::ImplicitDeny
        );
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &mfa(None, None, Some("xbz"))),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn multiple_operators_are_and() {
        let p = identity(&with_condition(
            r#"{"Bool":{"aws:MultiFactorAuthPresent":true},"NumericLessThan":{"aws:MultiFactorAuthAge":"60"}}"#,
        ));
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &mfa(Some(true), Some(59), None)),
            Decision::Allow
        );
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &mfa(Some(true), Some(61), None)),
            Decision::ImplicitDeny
        );
        assert_eq!(
            eval_id(&p, "sts:AssumeRole", "*", &mfa(Some(false), Some(1), None)),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn error_type_displays_message() {
        let err = Policy::parse("{", PolicyKind::Identity).unwrap_err();
        assert_eq!(err.to_string(), err.message);
        let _: &dyn std::error::Error = &err;
    }
}
