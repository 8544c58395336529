//! The fire token scanner shared by every platform adapter.
//!
//! [`count_fire_tokens`] counts `:fire:`, the literal 🔥 and one optional per-platform token
//! (Teams `(fire)`), skipping text that is not the author's own recognition:
//! inline code spans (`` `…` ``, closed on the same line), fenced code blocks (```` ```…``` ````,
//! on one line or many; an unclosed fence hides the rest of the message) and quoted lines (lines
//! whose first non-blank characters are `>` or Slack's escaped `&gt;`). Mentions are resolved by
//! the adapter, not here.

const FIRE_SHORTCODE: &str = ":fire:";
const FIRE_EMOJI: &str = "\u{1F525}";
const FENCE: &str = "```";

/// Counts fire tokens in `text`; `extra_token` is a platform's own spelling, e.g. `Some("(fire)")`.
pub fn count_fire_tokens(text: &str, extra_token: Option<&str>) -> u32 {
    let extra = extra_token.filter(|t| !t.is_empty());
    let mut count: u32 = 0;
    let mut in_fence = false;
    let mut rest = text;
    let mut at_line_start = true;
    while !rest.is_empty() {
        if at_line_start && !in_fence {
            let trimmed = rest.trim_start_matches([' ', '\t']);
            if trimmed.starts_with('>') || trimmed.starts_with("&gt;") {
                rest = skip_line(rest);
                continue;
            }
        }
        at_line_start = false;
        if let Some(after) = rest.strip_prefix(FENCE) {
            in_fence = !in_fence;
            rest = after;
            continue;
        }
        if in_fence {
            at_line_start = rest.starts_with('\n');
            rest = advance_one(rest);
            continue;
        }
        if let Some(after) = rest.strip_prefix('`') {
            let line_end = after.find('\n').unwrap_or(after.len());
            if let Some(close) = after[..line_end].find('`') {
                rest = &after[close + 1..];
                continue;
            }
        }
        if let Some(after) = rest
            .strip_prefix(FIRE_SHORTCODE)
            .or_else(|| rest.strip_prefix(FIRE_EMOJI))
            .or_else(|| extra.and_then(|t| rest.strip_prefix(t)))
        {
            count = count.saturating_add(1);
            rest = after;
            continue;
        }
        at_line_start = rest.starts_with('\n');
        rest = advance_one(rest);
    }
    count
}

fn advance_one(s: &str) -> &str {
    let mut chars = s.chars();
    chars.next();
    chars.as_str()
}

fn skip_line(s: &str) -> &str {
    match s.find('\n') {
        Some(i) => &s[i..], // keep the newline so the next line is seen as a line start
        None => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(text: &str) -> u32 {
        count_fire_tokens(text, None)
    }

    #[test]
    fn counts_shortcodes_and_emoji() {
        assert_eq!(n("<@U1> thanks :fire:"), 1);
        assert_eq!(n("<@U1> <@U2> thanks :fire: :fire:"), 2);
        assert_eq!(n(":fire::fire::fire:"), 3);
        assert_eq!(n("🔥🔥 and :fire:"), 3);
        assert_eq!(n("no fire here"), 0);
        assert_eq!(n(""), 0);
        assert_eq!(n(":fire"), 0);
        assert_eq!(n("fire: :fire :firefighter:"), 0);
        assert_eq!(n(":fire:fire:"), 1);
    }

    #[test]
    fn platform_token_only_when_asked() {
        assert_eq!(count_fire_tokens("@ana (fire) (fire)", Some("(fire)")), 2);
        assert_eq!(count_fire_tokens("@ana (fire)", None), 0);
        assert_eq!(count_fire_tokens("@ana (fire) 🔥", Some("(fire)")), 2);
        assert_eq!(count_fire_tokens("@ana :fire:", Some("")), 1);
    }

    #[test]
    fn ignores_inline_code() {
        assert_eq!(n("type `:fire:` to give :fire:"), 1);
        assert_eq!(n("`🔥🔥` "), 0);
        // An unclosed backtick is just a character.
        assert_eq!(n("it's a ` thing :fire:"), 1);
        // Inline code does not span lines.
        assert_eq!(n("a ` b\n:fire: ` c"), 1);
    }

    #[test]
    fn ignores_fenced_blocks() {
        assert_eq!(n("```\n:fire: :fire:\n```\nthanks :fire:"), 1);
        assert_eq!(n("```:fire:``` :fire:"), 1);
        assert_eq!(n("before :fire: ```\n🔥\n> x\n``` after 🔥"), 2);
        assert_eq!(n("```\nnever closed :fire:"), 0);
    }

    #[test]
    fn ignores_quoted_lines() {
        assert_eq!(n("> great :fire:\nthanks <@U1> :fire:"), 1);
        assert_eq!(n("&gt; quoted :fire:\n:fire:"), 1);
        assert_eq!(n("  > indented quote :fire:"), 0);
        assert_eq!(n("a > b :fire:"), 1, "`>` mid-line is not a quote");
        assert_eq!(n(":fire:\n> :fire:\n>:fire:\n:fire:"), 2);
    }

    #[test]
    fn handles_multibyte_text() {
        assert_eq!(n("Grüße 🙂 :fire: 日本語 🔥"), 2);
    }
}
