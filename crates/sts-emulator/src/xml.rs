//! The STS Query API's XML response shapes (version 2011-06-15).

use std::fmt::Write as _;

pub(crate) const STS_NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
/// IAM's Query API namespace (version 2010-05-08).
pub(crate) const IAM_NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
const NS: &str = STS_NS;

/// Escape text for element content. Quotes stay literal, as in AWS's own
/// responses ("Value 'x' at 'tokenCode' ...").
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// `<Action>Response` (namespace `ns`) wrapping `<Action>Result` (whose
/// inner XML is given, already escaped) and the response metadata; `None`:
/// an action without a result
/// element (IAM's UpdateAccessKey, DeleteAccessKey, EnableMFADevice).
pub(crate) fn success_in(
    ns: &str,
    action: &str,
    result_inner: Option<&str>,
    request_id: &str,
) -> String {
    let result = result_inner
        .map(|inner| format!("<{action}Result>{inner}</{action}Result>"))
        .unwrap_or_default();
    format!(
        "<{action}Response xmlns=\"{ns}\">{result}\
         <ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{action}Response>",
        escape(request_id)
    )
}

/// [`error`] in namespace `ns`.
pub(crate) fn error_in(
    ns: &str,
    sender: bool,
    code: &str,
    message: &str,
    request_id: &str,
) -> String {
    error(sender, code, message, request_id).replacen(NS, ns, 1)
}

/// `<ErrorResponse>`; `sender` is false for server-side faults (Type Receiver).
pub(crate) fn error(sender: bool, code: &str, message: &str, request_id: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"{NS}\"><Error><Type>{}</Type><Code>{}</Code>\
         <Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
        if sender { "Sender" } else { "Receiver" },
        escape(code),
        escape(message),
        escape(request_id)
    )
}

/// Sequence of `<Name>value</Name>` elements with escaped values.
pub(crate) fn elements(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (name, value) in pairs {
        let _ = write!(out, "<{name}>{}</{name}>", escape(value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("a<b>&\"'"), "a&lt;b&gt;&amp;\"'");
    }

    #[test]
    fn error_shape() {
        assert_eq!(
            error(true, "X", "m<", "id"),
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>\
             <Code>X</Code><Message>m&lt;</Message></Error><RequestId>id</RequestId></ErrorResponse>"
        );
    }
}
