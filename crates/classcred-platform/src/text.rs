//! The neutral rich text of answers and notices. Each adapter renders it in its platform's
//! format (Slack mrkdwn, Matrix HTML with a plain `body`, Teams markdown); [`Doc::plain`] is the
//! plain-text rendering every platform can show.

/// A piece of inline text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Span {
    /// Text as typed (an adapter escapes it for its format).
    Text(String),
    /// Emphasised text (a heading or a label).
    Strong(String),
    /// A command or code, shown verbatim.
    Code(String),
    /// A link with its label.
    Link { url: String, label: String },
    /// The fire emoji (Slack `:fire:`, elsewhere 🔥).
    Fire,
}

/// A line of text; a bullet line is an item of a list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Line {
    pub bullet: bool,
    pub spans: Vec<Span>,
}

impl Line {
    /// A line that is not a list item.
    pub fn new() -> Self {
        Self::default()
    }

    /// A list item.
    pub fn bullet() -> Self {
        Self {
            bullet: true,
            spans: Vec::new(),
        }
    }

    pub fn text(mut self, s: impl Into<String>) -> Self {
        self.spans.push(Span::Text(s.into()));
        self
    }

    pub fn strong(mut self, s: impl Into<String>) -> Self {
        self.spans.push(Span::Strong(s.into()));
        self
    }

    pub fn code(mut self, s: impl Into<String>) -> Self {
        self.spans.push(Span::Code(s.into()));
        self
    }

    pub fn link(mut self, url: impl Into<String>, label: impl Into<String>) -> Self {
        self.spans.push(Span::Link {
            url: url.into(),
            label: label.into(),
        });
        self
    }

    pub fn fire(mut self) -> Self {
        self.spans.push(Span::Fire);
        self
    }
}

/// An answer or notice: lines of spans.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Doc {
    pub lines: Vec<Line>,
}

impl Doc {
    /// A one-line document of plain text.
    pub fn text(s: impl Into<String>) -> Self {
        Self {
            lines: vec![Line::new().text(s)],
        }
    }

    /// Appends a line.
    pub fn push(&mut self, line: Line) -> &mut Self {
        self.lines.push(line);
        self
    }

    /// Appends the lines of `other`.
    pub fn extend(&mut self, other: Doc) -> &mut Self {
        self.lines.extend(other.lines);
        self
    }

    /// Plain text: bullets as `• `, links as `label (url)`, fire as 🔥, lines joined by `\n`.
    pub fn plain(&self) -> String {
        self.render(|s, out| match s {
            Span::Text(t) | Span::Strong(t) | Span::Code(t) => out.push_str(t),
            Span::Link { url, label } => {
                out.push_str(label);
                out.push_str(" (");
                out.push_str(url);
                out.push(')');
            }
            Span::Fire => out.push('🔥'),
        })
    }

    /// Renders line by line: each span through `span`, bullet lines prefixed `• `, lines
    /// joined by `\n`. Adapters whose format is line-based use it with their own span writer.
    pub fn render(&self, mut span: impl FnMut(&Span, &mut String)) -> String {
        let mut out = String::new();
        for (i, line) in self.lines.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            if line.bullet {
                out.push_str("• ");
            }
            for s in &line.spans {
                span(s, &mut out);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_rendering() {
        let mut d = Doc::default();
        d.push(Line::new().strong("Title"));
        d.push(
            Line::bullet()
                .text("run ")
                .code("!cred me")
                .text(" ")
                .fire(),
        );
        d.push(Line::new().link("https://x.example/a", "Open"));
        assert_eq!(
            d.plain(),
            "Title\n• run !cred me 🔥\nOpen (https://x.example/a)"
        );
    }
}
