//! The small SVG writer the charts share: text escaping, the accessible `<svg>` opening
//! (`role="img"`, `aria-labelledby`, `<title>`, `<desc>`) and number formatting.

use std::fmt::Write;

use crate::ChartText;

/// Escape text for SVG/XML character data and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in XML 1.0 text.
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Keep an id usable inside attribute values and `url(#…)` references.
pub(crate) fn id_safe(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Open an accessible SVG of `width` × `height` user units: the caller appends the drawing
/// and then [`close`].
pub(crate) fn open(text: &ChartText, width: u32, height: u32) -> String {
    let id = id_safe(&text.id);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" \
         width=\"100%\" preserveAspectRatio=\"xMidYMid meet\" role=\"img\" \
         aria-labelledby=\"{id}-title {id}-desc\" class=\"chart\" font-family=\"sans-serif\" \
         font-size=\"12\">\n<title id=\"{id}-title\">{}</title>\n<desc id=\"{id}-desc\">{}</desc>\n",
        escape(&text.title),
        escape(&text.description)
    );
    s
}

pub(crate) fn close(mut s: String) -> String {
    s.push_str("</svg>\n");
    s
}

/// A coordinate with at most one decimal, without a trailing `.0`.
pub(crate) fn num(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

/// A "nice" axis maximum ≥ `max` (1, 2, 5 × 10ⁿ), never 0.
pub(crate) fn nice_max(max: u64) -> u64 {
    let mut step = 1u64;
    loop {
        for m in [1u64, 2, 5] {
            let candidate = step.saturating_mul(m);
            if candidate >= max.max(1) {
                return candidate;
            }
        }
        step = step.saturating_mul(10);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_controls() {
        assert_eq!(
            escape("<b>\"Tom\" & 'Jerry'</b>\u{7}"),
            "&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;\u{FFFD}"
        );
    }

    #[test]
    fn ids_keep_only_safe_characters() {
        assert_eq!(id_safe("fires per\"day"), "fires-per-day");
    }

    #[test]
    fn nice_maxima() {
        assert_eq!(nice_max(0), 1);
        assert_eq!(nice_max(3), 5);
        assert_eq!(nice_max(11), 20);
        assert_eq!(nice_max(50), 50);
        assert_eq!(nice_max(51), 100);
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(num(3.0), "3");
        assert_eq!(num(3.04), "3");
        assert_eq!(num(3.25), "3.3");
    }
}
