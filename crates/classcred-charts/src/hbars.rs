//! Horizontal bars, one per labelled value in the given order (e.g. the most recognised
//! students): the label on the left, the bar, and the number at its end, so the chart reads
//! without colour and the value is printed, not only drawn.

use std::fmt::Write;

use crate::svg::{close, escape, nice_max, num, open};
use crate::{ChartText, LabelledValue};

const WIDTH: u32 = 640;
const ROW: f64 = 28.0;
const LABEL_W: f64 = 180.0;
const PAD: f64 = 10.0;
/// Longest label drawn in full; longer ones are cut with an ellipsis (the table has them whole).
const MAX_LABEL_CHARS: usize = 26;

/// Horizontal bars; the height grows with the number of rows.
pub fn horizontal_bars(text: &ChartText, values: &[LabelledValue]) -> String {
    let rows = values.len().max(1);
    let height = (PAD * 2.0 + ROW * rows as f64).ceil() as u32;
    let mut s = open(text, WIDTH, height);
    if values.is_empty() {
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#333\">No data yet</text>",
            num(f64::from(WIDTH) / 2.0),
            num(PAD + ROW / 2.0 + 4.0)
        );
        return close(s);
    }
    let max = nice_max(values.iter().map(|v| v.value).max().unwrap_or(0));
    let bar_space = f64::from(WIDTH) - LABEL_W - PAD * 2.0 - 40.0;
    for (i, v) in values.iter().enumerate() {
        let y = PAD + ROW * i as f64;
        let w = bar_space * (v.value as f64 / max as f64);
        let label = shorten(&v.label);
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#333\">{}</text>\
             <rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#b3541e\" stroke=\"#5c2a0e\" \
             stroke-width=\"0.5\"><title>{}: {}</title></rect>\
             <text x=\"{}\" y=\"{}\" fill=\"#333\">{}</text>",
            num(LABEL_W),
            num(y + ROW / 2.0 + 4.0),
            escape(&label),
            num(LABEL_W + PAD),
            num(y + 4.0),
            num(w),
            num(ROW - 8.0),
            escape(&v.label),
            v.value,
            num(LABEL_W + PAD + w + 6.0),
            num(y + ROW / 2.0 + 4.0),
            v.value
        );
    }
    close(s)
}

fn shorten(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL_CHARS {
        label.to_string()
    } else {
        let mut cut: String = label.chars().take(MAX_LABEL_CHARS - 1).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text() -> ChartText {
        ChartText {
            id: "top".into(),
            title: "Most recognised".into(),
            description: "Students who received the most fire.".into(),
        }
    }

    #[test]
    fn one_bar_and_one_printed_value_per_row_in_order() {
        let v = vec![
            LabelledValue::new("Ada", 9),
            LabelledValue::new("Bob & \"Bo\"", 3),
        ];
        let svg = horizontal_bars(&text(), &v);
        assert_eq!(svg.matches("<rect ").count(), 2);
        let ada = svg.find(">Ada<").unwrap();
        let bob = svg.find(">Bob &amp; &quot;Bo&quot;<").unwrap();
        assert!(ada < bob);
        assert!(svg.contains("<title>Ada: 9</title>"));
        assert!(svg.contains(">9</text>"));
        insta::assert_snapshot!(svg);
    }

    #[test]
    fn long_names_are_cut_in_the_drawing_only() {
        let long = "Maximiliana Wilhelmina von Hohenzollern-Sigmaringen";
        let svg = horizontal_bars(&text(), &[LabelledValue::new(long, 1)]);
        assert!(svg.contains(&format!("<title>{long}: 1</title>")));
        assert!(svg.contains("…</text>"));
    }
}
