//! A strict evaluator of IAM JSON policies, as IAM evaluates them.
//!
//! The emulator must never be *more permissive* than AWS because a policy
//! element was silently skipped, so what is not implemented is refused at
//! load with a one-line error naming the statement (index and Sid) and the
//! construct. Implemented:
//!
//! * top level `Version` ("2012-10-17" or "2008-10-17"), `Id`, `Statement`;
//! * `Action`/`NotAction` (case-insensitive, wildcards), `Resource`/
//!   `NotResource` (identity policies; case-sensitive, wildcards, policy
//!   variables), `Principal`/`NotPrincipal` (trust policies; `"*"` or
//!   `{"AWS": ...}`), `Condition`;
//! * every condition operator family but `Binary*` (see `conditions.rs`), with
//!   `IfExists` and `ForAnyValue:`/`ForAllValues:`, over the keys in
//!   [`KEYS`];
//! * policy variables `${key}`, `${key, 'default'}`, `${*}`, `${?}`, `${$}`
//!   in `Resource` and condition values (2012-10-17 only; literal text in
//!   2008-10-17 policies, as in IAM). A variable without a value makes that
//!   resource or value match nothing.
//!
//! Evaluation follows IAM: an explicit `Deny` beats any `Allow`, and without
//! a matching `Allow` the request is implicitly denied.

mod conditions;
mod matching;
mod parse;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

use conditions::Condition;
pub use conditions::KEYS;
use matching::{Pattern, PrincipalPattern};

/// Which kind of policy document is being parsed; the two kinds differ in
/// which statement elements are required and which are prohibited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// A policy attached to a user, group or role, or a session policy
    /// (has `Resource`, no `Principal`).
    Identity,
    /// A role's trust policy (has `Principal`, no `Resource`).
    Trust,
}

/// A policy document was malformed or used something not implemented.
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

/// The caller, as a trust policy's `Principal` sees it.
#[derive(Debug, Clone)]
pub struct Principal {
    /// 12-digit account id, e.g. "111111111111".
    pub account: String,
    /// Full ARN, e.g. "arn:aws:iam::111111111111:user/alice".
    pub arn: String,
}

/// The request context: condition key -> values. A key that is not set is
/// absent, which is not the same as empty or false (see `Null`, `IfExists`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConditionContext {
    /// Lower-cased key names (keys are case-insensitive).
    values: BTreeMap<String, Vec<String>>,
}

impl ConditionContext {
    pub fn new() -> Self {
        Self::default()
    }

    /// Set a single-valued key.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.values
            .insert(key.to_ascii_lowercase(), vec![value.into()]);
    }

    /// Set a multi-valued key.
    pub fn set_all(&mut self, key: &str, values: Vec<String>) {
        self.values.insert(key.to_ascii_lowercase(), values);
    }

    /// Builder form of [`ConditionContext::set`].
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.set(key, value);
        self
    }

    pub fn remove(&mut self, key: &str) {
        self.values.remove(&key.to_ascii_lowercase());
    }

    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.values
            .get(&key.to_ascii_lowercase())
            .map(Vec::as_slice)
    }
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

/// Two policy sets that must both allow (identity policies and session
/// policies, or a permissions boundary): an explicit deny in either wins,
/// else both must allow.
pub fn intersect(a: Decision, b: Decision) -> Decision {
    match (a, b) {
        (Decision::ExplicitDeny, _) | (_, Decision::ExplicitDeny) => Decision::ExplicitDeny,
        (Decision::Allow, Decision::Allow) => Decision::Allow,
        _ => Decision::ImplicitDeny,
    }
}

/// The AWS managed policies the emulator knows, reduced to the actions it
/// implements: `ReadOnlyAccess` (IAM `Get*`/`List*`, `sts:GetCallerIdentity`;
/// no `sts:AssumeRole`, no IAM writes) and `AdministratorAccess` (`*`).
pub fn aws_managed(arn: &str) -> Option<&'static str> {
    let name = arn
        .strip_prefix("arn:")
        .and_then(|r| r.split_once(":iam::aws:policy/"))
        .filter(|(partition, _)| matches!(*partition, "aws" | "aws-cn" | "aws-us-gov"))
        .map(|(_, name)| name)?;
    match name {
        "ReadOnlyAccess" => Some(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*","sts:GetCallerIdentity"],"Resource":"*"}]}"#,
        ),
        "AdministratorAccess" => Some(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        ),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

/// `Action` vs `NotAction` (and the same for resources and principals).
#[derive(Debug, Clone)]
enum Targets<T> {
    /// The statement applies to these.
    Only(Vec<T>),
    /// The statement applies to everything except these.
    AllBut(Vec<T>),
}

impl<T> Targets<T> {
    fn applies(&self, matches: impl Fn(&T) -> bool) -> bool {
        match self {
            Targets::Only(items) => items.iter().any(matches),
            Targets::AllBut(items) => !items.iter().any(matches),
        }
    }
}

#[derive(Debug, Clone)]
struct Statement {
    /// "Statement[i]" or "Statement[i] (Sid "x")".
    label: String,
    effect: Effect,
    /// Lower-cased action patterns (action names are case-insensitive).
    actions: Targets<Pattern>,
    /// Identity policies only.
    resources: Option<Targets<Pattern>>,
    /// Trust policies only.
    principals: Option<Targets<PrincipalPattern>>,
    /// All must hold (AND).
    conditions: Vec<Condition>,
}

impl Statement {
    fn matches(&self, request: &Request) -> bool {
        let action = request.action.to_ascii_lowercase();
        let none = ConditionContext::default();
        if !self.actions.applies(|a| a.matches(&action, &none)) {
            return false;
        }
        if let Some(resources) = &self.resources {
            if !resources.applies(|r| r.matches(request.resource, request.context)) {
                return false;
            }
        }
        if let Some(principals) = &self.principals {
            if !principals.applies(|p| p.matches(request.principal)) {
                return false;
            }
        }
        self.conditions.iter().all(|c| c.holds(request.context))
    }
}

impl Policy {
    /// Parse and validate a policy document, refusing what is not implemented.
    pub fn parse(json: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
        parse::document(json, kind)
    }

    /// Whether this is an identity or a trust policy.
    pub fn kind(&self) -> PolicyKind {
        self.kind
    }

    pub fn evaluate(&self, request: &Request) -> Decision {
        self.explain(request).0
    }

    /// The decision and, for an explicit deny, the statement that denied
    /// (`Statement[2] (Sid "BlockMostAccessUnlessSignedInWithMFA")`).
    pub fn explain(&self, request: &Request) -> (Decision, Option<String>) {
        let mut allowed = false;
        for statement in &self.statements {
            if statement.matches(request) {
                match statement.effect {
                    Effect::Deny => return (Decision::ExplicitDeny, Some(statement.label.clone())),
                    Effect::Allow => allowed = true,
                }
            }
        }
        let decision = if allowed {
            Decision::Allow
        } else {
            Decision::ImplicitDeny
        };
        (decision, None)
    }
}
