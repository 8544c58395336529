//! Turning a raw, already signature-checked request body into text, JSON or form fields.
//!
//! Errors here never carry the payload: serde's messages can quote values (message text, names),
//! so [`PayloadError`] keeps only the position and category of a JSON error. The HTTP layer can
//! log these errors as they are.

use std::collections::BTreeMap;

/// Largest body the Slack endpoints should accept (the HTTP layer enforces it while reading;
/// [`check_size`] is offered for callers that buffer first).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// `Content-Type` of Events API requests.
pub const JSON: &str = "application/json";
/// `Content-Type` of slash-command and interactivity requests.
pub const FORM: &str = "application/x-www-form-urlencoded";

/// Why a request body could not be turned into one of our payload types. Every variant means
/// "answer 400" (never 5xx), and none contains payload content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The `Content-Type` header is absent or not the one this endpoint takes.
    #[error("wrong content type (expected {expected})")]
    WrongContentType {
        /// The media type this endpoint takes.
        expected: &'static str,
    },
    /// The body (or a percent-decoded form value) is not valid UTF-8.
    #[error("body is not valid UTF-8")]
    InvalidUtf8,
    /// The body is larger than allowed.
    #[error("body larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The JSON is malformed or does not have the shape we need.
    #[error("malformed JSON ({category} at line {line}, column {column})")]
    MalformedJson {
        /// `syntax`, `data` (wrong shape or a missing/invalid field), `eof` or `io`.
        category: &'static str,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
    },
    /// The form body is malformed (bad percent-encoding or a repeated field).
    #[error("malformed form body")]
    MalformedForm,
    /// A required form field is absent.
    #[error("missing form field {0}")]
    MissingField(&'static str),
    /// A form field is present but not valid (e.g. a malformed Slack id).
    #[error("invalid form field {0}")]
    InvalidField(&'static str),
}

impl From<serde_json::Error> for PayloadError {
    fn from(e: serde_json::Error) -> Self {
        use serde_json::error::Category;
        let category = match e.classify() {
            Category::Io => "io",
            Category::Syntax => "syntax",
            Category::Data => "data",
            Category::Eof => "eof",
        };
        PayloadError::MalformedJson {
            category,
            line: e.line(),
            column: e.column(),
        }
    }
}

/// Refuses bodies over `limit` bytes.
pub fn check_size(body: &[u8], limit: usize) -> Result<(), PayloadError> {
    if body.len() > limit {
        Err(PayloadError::TooLarge { limit })
    } else {
        Ok(())
    }
}

/// Checks that a `Content-Type` header value names `expected` (parameters such as `charset` are
/// ignored; comparison is case-insensitive).
pub fn check_content_type(
    header: Option<&str>,
    expected: &'static str,
) -> Result<(), PayloadError> {
    let media = header
        .and_then(|h| h.split(';').next())
        .map(str::trim)
        .unwrap_or("");
    if media.eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(PayloadError::WrongContentType { expected })
    }
}

/// Parses a JSON body into `T` after checking size and UTF-8. Lone UTF-16 surrogate escapes
/// (`\ud800` without its pair, which Slack can send when a client cut a message inside an
/// emoji) become U+FFFD instead of failing the whole event.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, PayloadError> {
    check_size(body, MAX_BODY_BYTES)?;
    let text = std::str::from_utf8(body).map_err(|_| PayloadError::InvalidUtf8)?;
    Ok(serde_json::from_str(&replace_lone_surrogates(text))?)
}

/// The value of a `\uXXXX` escape starting at `i` (the backslash), if it is one.
fn unicode_escape(b: &[u8], i: usize) -> Option<u16> {
    let hex = b.get(i + 2..i + 6)?;
    if b.get(i + 1) != Some(&b'u') {
        return None;
    }
    let text = std::str::from_utf8(hex).ok()?;
    u16::from_str_radix(text, 16).ok()
}

/// JSON text with every unpaired surrogate escape replaced by `\ufffd`; borrowed when there is
/// none. Other escapes (including `\\` before a literal `u`) are left as they are.
pub fn replace_lone_surrogates(text: &str) -> std::borrow::Cow<'_, str> {
    let b = text.as_bytes();
    if !text.contains("\\u") {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        let Some(unit) = unicode_escape(b, i) else {
            i += 2; // any other escape: skip the backslash and the escaped character
            continue;
        };
        let high = (0xD800..=0xDBFF).contains(&unit);
        let low = (0xDC00..=0xDFFF).contains(&unit);
        if high && b.get(i + 6) == Some(&b'\\') {
            if let Some(next) = unicode_escape(b, i + 6) {
                if (0xDC00..=0xDFFF).contains(&next) {
                    i += 12; // a proper pair
                    continue;
                }
            }
        }
        if high || low {
            let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
            o.push_str(&text[copied..i]);
            o.push_str("\\ufffd");
            copied = i + 6;
        }
        i += 6;
    }
    match out {
        Some(mut o) => {
            o.push_str(&text[copied..]);
            std::borrow::Cow::Owned(o)
        }
        None => std::borrow::Cow::Borrowed(text),
    }
}

/// Parses an `application/x-www-form-urlencoded` body into its fields. A field given twice is
/// refused (Slack never does that), and so is a value that does not decode to UTF-8.
pub fn parse_form(body: &[u8]) -> Result<BTreeMap<String, String>, PayloadError> {
    check_size(body, MAX_BODY_BYTES)?;
    let text = std::str::from_utf8(body).map_err(|_| PayloadError::InvalidUtf8)?;
    let mut fields = BTreeMap::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode_component(k)?;
        let value = decode_component(v)?;
        if fields.insert(key, value).is_some() {
            return Err(PayloadError::MalformedForm);
        }
    }
    Ok(fields)
}

/// The `type` field of a JSON object, as a deserialize error when absent.
pub(crate) fn type_of<E: serde::de::Error>(v: &serde_json::Value) -> Result<String, E> {
    match v.get("type") {
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        _ => Err(E::missing_field("type")),
    }
}

/// `serde_json::from_value` with the error converted for an outer deserializer.
pub(crate) fn from_value<T: serde::de::DeserializeOwned, E: serde::de::Error>(
    v: serde_json::Value,
) -> Result<T, E> {
    serde_json::from_value(v).map_err(|e| E::custom(e.to_string()))
}

fn decode_component(s: &str) -> Result<String, PayloadError> {
    let plus_decoded = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_decoded)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| PayloadError::InvalidUtf8)
}

#[cfg(test)]
mod tests {

    /// Finding 18: unpaired surrogate escapes become U+FFFD; pairs and other escapes stay.
    #[test]
    fn lone_surrogates_are_replaced() {
        let v: serde_json::Value =
            parse_json(br#"{"t":"a\ud800b \udc00 \ud83d\udd25 \\ud800 \u00e9","x":"\ud800"}"#)
                .unwrap();
        assert_eq!(v["t"], "a\u{fffd}b \u{fffd} \u{1f525} \\ud800 \u{e9}");
        assert_eq!(v["x"], "\u{fffd}");
        assert!(matches!(
            replace_lone_surrogates(r#"{"a":"\ud83d\udd25"}"#),
            std::borrow::Cow::Borrowed(_)
        ));
        // A lone high surrogate at the very end of a string, and before another escape.
        let v: serde_json::Value = parse_json(br#"["\ud800\n","\udbff"]"#).unwrap();
        assert_eq!(v[0], "\u{fffd}\n");
        assert_eq!(v[1], "\u{fffd}");
    }

    use super::*;

    #[test]
    fn content_types() {
        assert!(check_content_type(Some("application/json"), JSON).is_ok());
        assert!(check_content_type(Some("Application/JSON; charset=utf-8"), JSON).is_ok());
        assert!(check_content_type(Some("text/plain"), JSON).is_err());
        assert!(check_content_type(None, FORM).is_err());
    }

    #[test]
    fn forms() {
        let f = parse_form(b"a=1&b=x+y%2Fz&c=&d&e=%E2%9C%93").unwrap();
        assert_eq!(f["a"], "1");
        assert_eq!(f["b"], "x y/z");
        assert_eq!(f["c"], "");
        assert_eq!(f["d"], "");
        assert_eq!(f["e"], "✓");
        assert_eq!(parse_form(b"a=1&a=2"), Err(PayloadError::MalformedForm));
        assert_eq!(parse_form(b"a=%FF"), Err(PayloadError::InvalidUtf8));
        assert_eq!(
            parse_form(&[b'a', b'=', 0xff]),
            Err(PayloadError::InvalidUtf8)
        );
    }

    #[test]
    fn json_errors_hide_content() {
        #[derive(serde::Deserialize, Debug)]
        struct T {
            #[expect(dead_code, reason = "only the parse error matters")]
            n: u32,
        }
        let e = parse_json::<T>(br#"{"n":"secret text"}"#).unwrap_err();
        assert!(!e.to_string().contains("secret"), "{e}");
        assert!(matches!(
            e,
            PayloadError::MalformedJson {
                category: "data",
                ..
            }
        ));
        assert_eq!(
            parse_json::<T>(&[0xff]).unwrap_err(),
            PayloadError::InvalidUtf8
        );
        assert!(matches!(
            parse_json::<T>(b"{").unwrap_err(),
            PayloadError::MalformedJson {
                category: "eof",
                ..
            }
        ));
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        assert!(matches!(
            parse_json::<T>(&big),
            Err(PayloadError::TooLarge { .. })
        ));
    }
}
