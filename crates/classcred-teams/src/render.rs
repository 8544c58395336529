//! The seam's neutral [`Doc`] as Teams text: Markdown (`textFormat: "markdown"`), which Teams
//! renders in chats and channels (bold, code, links, bullet lists). Not an Adaptive Card: the
//! answers are short text, Markdown works in every Teams client and in notifications, and a
//! card would need a second rendering path for the notification preview.

use classcred_platform::{Doc, Span};

/// Markdown's special characters in plain text, escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '*' | '_' | '`' | '[' | ']' | '(' | ')' | '#' | '<' | '>' | '~' | '|' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn span(s: &Span, out: &mut String) {
    match s {
        Span::Text(t) => out.push_str(&escape(t)),
        Span::Strong(t) => {
            out.push_str("**");
            out.push_str(&escape(t));
            out.push_str("**");
        }
        Span::Code(t) => {
            out.push('`');
            out.push_str(&t.replace('`', "'").replace(['\n', '\r'], " "));
            out.push('`');
        }
        Span::Link { url, label } => {
            // Only web links become links (never javascript: or data:).
            if url.starts_with("https://") || url.starts_with("http://") {
                out.push('[');
                out.push_str(&escape(label));
                out.push_str("](");
                out.push_str(&url.replace(' ', "%20").replace(')', "%29"));
                out.push(')');
            } else {
                out.push_str(&escape(label));
            }
        }
        Span::Fire => out.push('\u{1F525}'),
    }
}

/// The Markdown text of a document: one paragraph per line, bullets as a list.
pub fn markdown(doc: &Doc) -> String {
    let mut out = String::new();
    let mut prev_bullet = false;
    for (i, line) in doc.lines.iter().enumerate() {
        if i > 0 {
            // Consecutive bullets form one list; anything else is a new paragraph.
            out.push_str(if prev_bullet && line.bullet {
                "\n"
            } else {
                "\n\n"
            });
        }
        if line.bullet {
            out.push_str("- ");
        }
        for s in &line.spans {
            span(s, &mut out);
        }
        prev_bullet = line.bullet;
    }
    out
}

/// A message activity carrying `doc` (the body of a Connector POST).
pub fn message_activity(doc: &Doc) -> serde_json::Value {
    serde_json::json!({
        "type": "message",
        "text": markdown(doc),
        "textFormat": "markdown",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use classcred_platform::Line;

    #[test]
    fn markdown_escapes_text_and_keeps_lists_together() {
        let mut doc = Doc::default();
        doc.push(
            Line::new()
                .strong("Top *week*")
                .text(" [x](javascript:1) <at>y</at>")
                .fire(),
        );
        doc.push(Line::bullet().code("a`b"));
        doc.push(Line::bullet().link("https://cc.example.org/a b", "sign in"));
        doc.push(Line::new().link("javascript:alert(1)", "no"));
        assert_eq!(
            markdown(&doc),
            "**Top \\*week\\*** \\[x\\]\\(javascript:1\\) \\<at\\>y\\</at\\>\u{1F525}\n\n\
             - `a'b`\n- [sign in](https://cc.example.org/a%20b)\n\nno"
        );
        let a = message_activity(&doc);
        assert_eq!(
            (a["type"].as_str(), a["textFormat"].as_str()),
            (Some("message"), Some("markdown"))
        );
    }
}
