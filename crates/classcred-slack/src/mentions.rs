//! User mentions in Slack message text, and the text that does not count for fire.
//!
//! Slack encodes a mention as `<@U123>` or `<@U123|name>` (`W…` for Enterprise Grid users); we
//! keep only the id. Text inside code (`` `x` `` and ```` ```x``` ````) and block quotes (lines
//! starting with `&gt;`, as Slack encodes `>`, and everything after `&gt;&gt;&gt;`) is not the
//! author's own words: [`strip_code_and_quotes`] removes it, and both the mention list here and
//! the engine's fire-token scanner must run over its output so they agree.

use crate::ids::SlackUserId;

/// Removes code blocks, inline code and block quotes from Slack message text. Removed spans are
/// replaced by a space, so tokens on either side never merge. Unterminated code markers are kept
/// as literal text (as Slack renders them).
pub fn strip_code_and_quotes(text: &str) -> String {
    let without_fences = strip_pairs(text, "```", false);
    let mut out = String::with_capacity(without_fences.len());
    for (i, line) in without_fences.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if line.starts_with("&gt;&gt;&gt;") || line.starts_with(">>>") {
            break; // a multi-line quote runs to the end of the message
        }
        if line.starts_with("&gt;") || line.starts_with('>') {
            continue;
        }
        out.push_str(&strip_pairs(line, "`", true));
    }
    out
}

/// Replaces every `marker … marker` span by a space; an opening marker without a closing one is
/// left as text. With `single_line`, spans never cross a newline (callers pass one line).
fn strip_pairs(text: &str, marker: &str, single_line: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(marker) {
        let after = &rest[start + marker.len()..];
        match after.find(marker) {
            Some(end) if !(single_line && after[..end].contains('\n')) => {
                out.push_str(&rest[..start]);
                out.push(' ');
                rest = &after[end + marker.len()..];
            }
            _ => break,
        }
    }
    out.push_str(rest);
    out
}

/// Most distinct users one message may mention; later mentions are ignored. Each new id costs a
/// lookup (`users.info`) before the message can be processed, so one message cannot create work
/// for thousands; a class's real messages mention a handful.
pub const MAX_MENTIONS: usize = 50;

/// Mentioned user ids in already-stripped text, de-duplicated, in order of first mention.
/// Malformed mentions (`<@nope>`, `<@U1` without `>`) are ignored.
pub fn scan_mentions(visible_text: &str) -> Vec<SlackUserId> {
    let mut ids: Vec<SlackUserId> = Vec::new();
    let mut rest = visible_text;
    while let Some(start) = rest.find("<@") {
        if ids.len() >= MAX_MENTIONS {
            break;
        }
        let after = &rest[start + 2..];
        let Some(end) = after.find(['>', '<', '\n']) else {
            break;
        };
        if after.as_bytes()[end] == b'>' {
            let inner = &after[..end];
            let id = inner.split('|').next().unwrap_or("");
            if let Ok(id) = SlackUserId::parse(id) {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            rest = &after[end + 1..];
        } else {
            rest = &after[end..];
        }
    }
    ids
}

/// Mentioned user ids in Slack message text, ignoring code and quotes: `scan_mentions` of
/// [`strip_code_and_quotes`].
pub fn mentions(text: &str) -> Vec<SlackUserId> {
    scan_mentions(&strip_code_and_quotes(text))
}

/// The Slack encoding of a mention of `user`.
pub fn mention(user: &SlackUserId) -> String {
    format!("<@{user}>")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[SlackUserId]) -> Vec<&str> {
        v.iter().map(SlackUserId::as_str).collect()
    }

    #[test]
    fn plain_labelled_and_enterprise_mentions() {
        let m = mentions("<@U123> and <@W0ABC|bob> thanks :fire:");
        assert_eq!(ids(&m), ["U123", "W0ABC"]);
    }

    #[test]
    fn deduplicated_in_first_mention_order() {
        let m = mentions("<@U2> <@U1|a> <@U2|b> <@U1> <@U3>");
        assert_eq!(ids(&m), ["U2", "U1", "U3"]);
    }

    #[test]
    fn malformed_mentions_ignored() {
        let m = mentions("<@> <@u1> <@T123> <@U1 <@U2> <@U3\n> <!channel> <#C1|general> @U4 <@U5|");
        assert_eq!(ids(&m), ["U2"]);
    }

    #[test]
    fn code_and_quotes_ignored() {
        let text = "`<@U1>` <@U2>\n```\n<@U3> :fire:\n```\n&gt; <@U4> said\n<@U5>\n&gt;&gt;&gt; <@U6>\n<@U7>";
        assert_eq!(ids(&mentions(text)), ["U2", "U5"]);
    }

    #[test]
    fn unterminated_code_is_literal() {
        assert_eq!(ids(&mentions("`<@U1> :fire:")), ["U1"]);
        assert_eq!(ids(&mentions("```<@U1>")), ["U1"]);
        // Inline code does not span lines.
        assert_eq!(ids(&mentions("`a\n<@U1>` b")), ["U1"]);
    }

    #[test]
    fn strip_keeps_tokens_apart() {
        assert_eq!(strip_code_and_quotes("a`x`b"), "a b");
        assert_eq!(strip_code_and_quotes("a```x\ny```b"), "a b");
        assert_eq!(strip_code_and_quotes("x\n&gt; q\ny"), "x\n\ny");
        assert_eq!(strip_code_and_quotes(":fire: ```:fire:```"), ":fire:  ");
    }

    #[test]
    fn mention_roundtrip() {
        let u = SlackUserId::parse("U9").unwrap();
        assert_eq!(ids(&mentions(&mention(&u))), ["U9"]);
    }

    #[test]
    fn never_panics_on_odd_text() {
        for t in [
            "<@",
            "<@U1",
            "`",
            "```",
            "````",
            "&gt;",
            "é<@é>é",
            "<@U1|é>",
            "\n\n",
        ] {
            let _ = mentions(t);
        }
    }
}
