//! Condition blocks: every operator family IAM has (except `Binary*`), each
//! with `...IfExists`, the `ForAnyValue:`/`ForAllValues:` set qualifiers, and
//! the condition keys the emulator sets. Several keys in one block are AND,
//! several values for one key are OR; a negated operator (`StringNotEquals`,
//! `NotIpAddress`, ...) holds when the value matches none of the policy's
//! values, and holds when the key is absent.

use std::net::IpAddr;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value};

use super::matching::{arn_match, glob, Pattern, Tok};
use super::parse::{json_type, StatementContext};
use super::{ConditionContext, PolicyError};

/// The condition keys the emulator puts in a request context (when AWS
/// would); a policy naming any other key is refused at load.
pub const KEYS: [&str; 16] = [
    "aws:MultiFactorAuthPresent",
    "aws:MultiFactorAuthAge",
    "aws:username",
    "aws:userid",
    "aws:PrincipalArn",
    "aws:PrincipalAccount",
    "aws:PrincipalType",
    "aws:CurrentTime",
    "aws:EpochTime",
    "aws:TokenIssueTime",
    "aws:SecureTransport",
    "aws:SourceIp",
    "aws:RequestedRegion",
    "aws:ViaAWSService",
    "sts:ExternalId",
    "sts:RoleSessionName",
];

/// The canonical spelling of a key (names are case-insensitive in IAM).
pub(super) fn known_key(name: &str) -> Option<&'static str> {
    KEYS.into_iter().find(|k| k.eq_ignore_ascii_case(name))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    String { ignore_case: bool, like: bool },
    Numeric(Cmp),
    Date(Cmp),
    Bool,
    Ip,
    Arn,
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetQualifier {
    ForAnyValue,
    ForAllValues,
}

/// Every base operator name: (name, family, negated).
const OPERATORS: [(&str, Family, bool); 25] = {
    use Cmp::*;
    const fn s(ignore_case: bool, like: bool) -> Family {
        Family::String { ignore_case, like }
    }
    [
        ("StringEquals", s(false, false), false),
        ("StringNotEquals", s(false, false), true),
        ("StringEqualsIgnoreCase", s(true, false), false),
        ("StringNotEqualsIgnoreCase", s(true, false), true),
        ("StringLike", s(false, true), false),
        ("StringNotLike", s(false, true), true),
        ("NumericEquals", Family::Numeric(Eq), false),
        ("NumericNotEquals", Family::Numeric(Eq), true),
        ("NumericLessThan", Family::Numeric(Lt), false),
        ("NumericLessThanEquals", Family::Numeric(Le), false),
        ("NumericGreaterThan", Family::Numeric(Gt), false),
        ("NumericGreaterThanEquals", Family::Numeric(Ge), false),
        ("DateEquals", Family::Date(Eq), false),
        ("DateNotEquals", Family::Date(Eq), true),
        ("DateLessThan", Family::Date(Lt), false),
        ("DateLessThanEquals", Family::Date(Le), false),
        ("DateGreaterThan", Family::Date(Gt), false),
        ("DateGreaterThanEquals", Family::Date(Ge), false),
        ("Bool", Family::Bool, false),
        ("IpAddress", Family::Ip, false),
        ("NotIpAddress", Family::Ip, true),
        ("ArnEquals", Family::Arn, false),
        ("ArnLike", Family::Arn, false),
        ("ArnNotEquals", Family::Arn, true),
        ("ArnNotLike", Family::Arn, true),
    ]
};

/// A parsed operator name such as `ForAllValues:StringNotLikeIfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Operator {
    family: Family,
    negated: bool,
    if_exists: bool,
    set: Option<SetQualifier>,
}

impl Operator {
    fn parse(name: &str) -> Result<Operator, String> {
        let (set, rest) = if let Some(rest) = name.strip_prefix("ForAnyValue:") {
            (Some(SetQualifier::ForAnyValue), rest)
        } else if let Some(rest) = name.strip_prefix("ForAllValues:") {
            (Some(SetQualifier::ForAllValues), rest)
        } else {
            (None, name)
        };
        let (if_exists, base) = match rest.strip_suffix("IfExists") {
            Some(base) => (true, base),
            None => (false, rest),
        };
        if base == "Null" {
            if if_exists || set.is_some() {
                return Err(format!(
                    "Condition operator {name:?} is not valid (Null takes neither IfExists nor a set qualifier)"
                ));
            }
            return Ok(Operator {
                family: Family::Null,
                negated: false,
                if_exists: false,
                set: None,
            });
        }
        if base.starts_with("Binary") {
            return Err(format!(
                "Condition operator {name:?} is not supported (the emulator has no binary keys)"
            ));
        }
        // Operator names are case-sensitive in IAM ("bool" is not "Bool").
        let Some(&(_, family, negated)) = OPERATORS.iter().find(|(n, _, _)| *n == base) else {
            return Err(format!(
                "Condition operator {name:?} is not supported (supported: the String*, Numeric*, Date*, Bool, IpAddress, NotIpAddress, Arn* and Null operators, with IfExists and ForAnyValue:/ForAllValues:)"
            ));
        };
        Ok(Operator {
            family,
            negated,
            if_exists,
            set,
        })
    }
}

/// One key under one operator, with its values (any may match: OR).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Condition {
    /// Lower-cased key name.
    key: String,
    op: Operator,
    values: Vec<Pattern>,
}

impl Condition {
    pub(super) fn holds(&self, context: &ConditionContext) -> bool {
        let actual = context.get(&self.key).filter(|v| !v.is_empty());
        let op = self.op;
        if op.family == Family::Null {
            // "Null": {"key": "true"} holds when the key is absent.
            return self.values.iter().any(|v| {
                v.resolve_text(context).is_some_and(|want_absent| {
                    want_absent.eq_ignore_ascii_case("true") == actual.is_none()
                })
            });
        }
        let one = |value: &str| {
            let any = self
                .values
                .iter()
                .any(|p| compare(op.family, p, value, context));
            any != op.negated
        };
        match (op.set, actual) {
            (Some(SetQualifier::ForAllValues), None) => true,
            (Some(SetQualifier::ForAllValues), Some(values)) => values.iter().all(|v| one(v)),
            (Some(SetQualifier::ForAnyValue), None) => op.if_exists,
            (Some(SetQualifier::ForAnyValue), Some(values)) => values.iter().any(|v| one(v)),
            // An absent key: IfExists and negated operators hold, the rest fail.
            (None, None) => op.if_exists || op.negated,
            (None, Some(values)) => values.iter().any(|v| one(v)),
        }
    }
}

/// Does one policy value (`pattern`) match one context value?
fn compare(family: Family, pattern: &Pattern, value: &str, context: &ConditionContext) -> bool {
    match family {
        Family::String { ignore_case, like } => {
            let Some(toks) = pattern.resolve(context) else {
                return false;
            };
            if like {
                return glob(&toks, &value.chars().collect::<Vec<_>>());
            }
            let text: String = toks
                .iter()
                .map(|t| match t {
                    Tok::Char(c) => *c,
                    Tok::Star => '*',
                    Tok::One => '?',
                })
                .collect();
            if ignore_case {
                text.to_lowercase() == value.to_lowercase()
            } else {
                text == value
            }
        }
        Family::Arn => pattern
            .resolve(context)
            .is_some_and(|toks| arn_match(&toks, value)),
        Family::Numeric(cmp) => {
            let want = pattern.resolve_text(context).and_then(|t| number(&t));
            match (want, number(value)) {
                (Some(want), Some(got)) => ordered(cmp, got.partial_cmp(&want)),
                _ => false,
            }
        }
        Family::Date(cmp) => {
            let want = pattern.resolve_text(context).and_then(|t| date(&t));
            match (want, date(value)) {
                (Some(want), Some(got)) => ordered(cmp, Some(got.cmp(&want))),
                _ => false,
            }
        }
        Family::Bool => pattern
            .resolve_text(context)
            .is_some_and(|want| want.eq_ignore_ascii_case(value)),
        Family::Ip => {
            let Some(net) = pattern.resolve_text(context).and_then(|t| cidr(&t)) else {
                return false;
            };
            value.parse::<IpAddr>().is_ok_and(|ip| in_cidr(ip, net))
        }
        Family::Null => false,
    }
}

fn ordered(cmp: Cmp, got: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::*;
    matches!(
        (cmp, got),
        (Cmp::Eq, Some(Equal))
            | (Cmp::Lt, Some(Less))
            | (Cmp::Le, Some(Less | Equal))
            | (Cmp::Gt, Some(Greater))
            | (Cmp::Ge, Some(Greater | Equal))
    )
}

fn number(s: &str) -> Option<f64> {
    let s = s.trim();
    // f64's parser takes "inf" and "NaN"; IAM wants a decimal number.
    if s.is_empty()
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
    {
        return None;
    }
    s.parse().ok()
}

/// ISO 8601 (with time zone, or a bare date) or epoch seconds, as IAM takes them.
fn date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return DateTime::from_timestamp(s.parse().ok()?, 0);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M%#z", "%Y-%m-%dT%H:%M:%S%#z"] {
        if let Ok(t) = DateTime::parse_from_str(s, format) {
            return Some(t.with_timezone(&Utc));
        }
    }
    let day = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some(day.and_hms_opt(0, 0, 0)?.and_utc())
}

/// `10.0.0.0/8`, `2001:db8::/32`, or one address (a /32 or /128).
fn cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (addr, len) = match s.trim().split_once('/') {
        Some((a, l)) => (a, Some(l.parse::<u8>().ok()?)),
        None => (s.trim(), None),
    };
    let ip: IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = len.unwrap_or(max);
    (len <= max).then_some((ip, len))
}

fn in_cidr(ip: IpAddr, (net, len): (IpAddr, u8)) -> bool {
    let bits = |ip: IpAddr| -> (u128, u8) {
        match ip {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)) << 96, 32),
            IpAddr::V6(v6) => (u128::from(v6), 128),
        }
    };
    // An IPv4-mapped IPv6 peer (::ffff:a.b.c.d) is the IPv4 address.
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    let ((a, a_width), (n, n_width)) = (bits(ip), bits(net));
    if a_width != n_width {
        return false;
    }
    let len = u32::from(len);
    let mask = if len == 0 {
        0
    } else {
        u128::MAX << (128 - len)
    };
    a & mask == n & mask
}

/// The `Condition` element of one statement.
pub(super) fn parse_block(
    ctx: &StatementContext,
    value: &Value,
    variables: bool,
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
        let op = Operator::parse(op_name).map_err(|e| ctx.error(e))?;
        let Value::Object(keys) = keys else {
            return Err(ctx.error(format!(
                "Condition operator {op_name} must map to an object of keys, found {}",
                json_type(keys)
            )));
        };
        if keys.is_empty() {
            return Err(ctx.error(format!("Condition operator {op_name} has no keys")));
        }
        conditions.extend(parse_keys(ctx, op_name, op, keys, variables)?);
    }
    Ok(conditions)
}

fn parse_keys(
    ctx: &StatementContext,
    op_name: &str,
    op: Operator,
    keys: &Map<String, Value>,
    variables: bool,
) -> Result<Vec<Condition>, PolicyError> {
    let mut conditions = Vec::new();
    for (key_name, raw_values) in keys {
        let Some(key) = known_key(key_name) else {
            return Err(ctx.error(format!(
                "Condition key {key_name:?} (under {op_name}) is not supported (supported: {})",
                KEYS.join(", ")
            )));
        };
        let values: Vec<&Value> = match raw_values {
            Value::Array(items) => items.iter().collect(),
            single => vec![single],
        };
        if values.is_empty() {
            return Err(ctx.error(format!(
                "Condition {op_name} {key_name:?} has an empty list of values"
            )));
        }
        let bad = |v: &Value, expected: &str| {
            ctx.error(format!(
                "Condition {op_name} {key_name:?} value {v} is invalid: expected {expected}"
            ))
        };
        let mut patterns = Vec::new();
        for v in values {
            // IAM accepts numbers and booleans where strings are expected.
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                other => return Err(bad(other, "a string, number or boolean")),
            };
            let wildcards = matches!(op.family, Family::String { like: true, .. } | Family::Arn);
            let pattern = Pattern::parse(&text, variables, wildcards)
                .map_err(|e| ctx.error(format!("Condition {op_name} {key_name:?} value {e}")))?;
            // A literal value must have its operator's type; one with a
            // variable is checked when the variable is known.
            if let Some(literal) = pattern.literal() {
                let expected = match op.family {
                    Family::Numeric(_) if number(&literal).is_none() => Some("a number"),
                    Family::Date(_) if date(&literal).is_none() => {
                        Some("an ISO 8601 date or epoch seconds")
                    }
                    Family::Bool | Family::Null
                        if !literal.eq_ignore_ascii_case("true")
                            && !literal.eq_ignore_ascii_case("false") =>
                    {
                        Some("true or false")
                    }
                    Family::Ip if cidr(&literal).is_none() => {
                        Some("an IP address or CIDR block (e.g. 203.0.113.0/24)")
                    }
                    _ => None,
                };
                if let Some(expected) = expected {
                    return Err(bad(v, expected));
                }
            }
            patterns.push(pattern);
        }
        conditions.push(Condition {
            key: key.to_ascii_lowercase(),
            op,
            values: patterns,
        });
    }
    Ok(conditions)
}

#[cfg(test)]
pub(super) fn cidr_contains(net: &str, ip: &str) -> bool {
    in_cidr(ip.parse().unwrap(), cidr(net).unwrap())
}
