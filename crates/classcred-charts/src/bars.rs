//! Vertical bars over ordered labels: [`column_chart`] (e.g. fires per day over the course,
//! zero days included; long series show every n-th label) and [`histogram`] (adjacent bars,
//! every bucket labelled; e.g. the points distribution). Each bar carries a `<title>` with its
//! label and value, and [`crate::values_table`] gives the same numbers as a table.

use std::fmt::Write;

use crate::svg::{close, escape, nice_max, num, open};
use crate::{ChartText, LabelledValue};

const WIDTH: u32 = 640;
const HEIGHT: u32 = 260;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 46.0;
/// At most this many x-axis labels on a column chart.
const MAX_LABELS: usize = 8;

/// Bars with gaps, for a series over time. Labels are thinned to at most eight, always
/// including the first and the last.
pub fn column_chart(text: &ChartText, values: &[LabelledValue]) -> String {
    render(text, values, 0.2, label_stride(values.len()))
}

/// Adjacent bars with every bucket labelled, for a distribution.
pub fn histogram(text: &ChartText, buckets: &[LabelledValue]) -> String {
    render(text, buckets, 0.02, 1)
}

fn label_stride(n: usize) -> usize {
    n.div_ceil(MAX_LABELS).max(1)
}

fn render(text: &ChartText, values: &[LabelledValue], gap: f64, stride: usize) -> String {
    let mut s = open(text, WIDTH, HEIGHT);
    let plot_w = f64::from(WIDTH) - LEFT - RIGHT;
    let plot_h = f64::from(HEIGHT) - TOP - BOTTOM;
    let baseline = TOP + plot_h;
    let max = nice_max(values.iter().map(|v| v.value).max().unwrap_or(0));
    // Grid lines and y labels at 0, half and the top.
    for tick in [0, max / 2, max] {
        let y = baseline - plot_h * ratio(tick, max);
        let _ = writeln!(
            s,
            "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#c8c8c8\" stroke-width=\"1\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#333\">{tick}</text>",
            num(LEFT),
            num(LEFT + plot_w),
            num(LEFT - 6.0),
            num(y + 4.0),
            y = num(y),
        );
    }
    if values.is_empty() {
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#333\">No data yet</text>",
            num(LEFT + plot_w / 2.0),
            num(TOP + plot_h / 2.0)
        );
        return close(s);
    }
    let slot = plot_w / values.len() as f64;
    let bar_w = (slot * (1.0 - gap)).max(0.5);
    s.push_str("<g fill=\"#1f5fa8\" stroke=\"#0b2f57\" stroke-width=\"0.5\">\n");
    for (i, v) in values.iter().enumerate() {
        let h = plot_h * ratio(v.value, max);
        let x = LEFT + slot * i as f64 + (slot - bar_w) / 2.0;
        let _ = writeln!(
            s,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}: {}</title></rect>",
            num(x),
            num(baseline - h),
            num(bar_w),
            num(h),
            escape(&v.label),
            v.value
        );
    }
    s.push_str("</g>\n");
    let last = values.len() - 1;
    for (i, v) in values.iter().enumerate() {
        if i % stride != 0 && i != last {
            continue;
        }
        // The last label replaces a thinned neighbour that would overlap it.
        if i != last && stride > 1 && last - i < stride {
            continue;
        }
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#333\">{}</text>",
            num(LEFT + slot * i as f64 + slot / 2.0),
            num(baseline + 16.0),
            escape(&v.label)
        );
    }
    let _ = writeln!(
        s,
        "<line x1=\"{l}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#333\" stroke-width=\"1\"/>",
        l = num(LEFT),
        r = num(LEFT + plot_w),
        b = num(baseline)
    );
    close(s)
}

fn ratio(value: u64, max: u64) -> f64 {
    if max == 0 {
        0.0
    } else {
        value as f64 / max as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text() -> ChartText {
        ChartText {
            id: "fires".into(),
            title: "Fires per day".into(),
            description: "Fires given each day of the course.".into(),
        }
    }

    #[test]
    fn one_bar_per_value_with_accessible_names() {
        let v = vec![
            LabelledValue::new("03-02", 0),
            LabelledValue::new("03-03", 4),
            LabelledValue::new("03-04", 2),
        ];
        let svg = column_chart(&text(), &v);
        assert!(svg.starts_with("<svg "));
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("aria-labelledby=\"fires-title fires-desc\""));
        assert!(svg.contains("<title id=\"fires-title\">Fires per day</title>"));
        assert_eq!(svg.matches("<rect ").count(), 3);
        assert!(svg.contains("<title>03-03: 4</title>"));
        assert!(!svg.contains("style="));
        assert!(!svg.contains("<script"));
        insta::assert_snapshot!(svg);
    }

    #[test]
    fn long_series_show_at_most_nine_labels_including_first_and_last() {
        let v: Vec<_> = (0..60)
            .map(|i| LabelledValue::new(format!("d{i}"), i))
            .collect();
        let svg = column_chart(&text(), &v);
        let labels = svg.matches("text-anchor=\"middle\"").count();
        assert!(labels <= MAX_LABELS + 1, "{labels} labels");
        assert!(svg.contains(">d0</text>"));
        assert!(svg.contains(">d59</text>"));
        assert_eq!(svg.matches("<rect ").count(), 60);
    }

    #[test]
    fn labels_are_escaped() {
        let v = vec![LabelledValue::new("<script>", 1)];
        let svg = histogram(&text(), &v);
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
    }

    #[test]
    fn empty_series_says_so() {
        let svg = column_chart(&text(), &[]);
        assert!(svg.contains("No data yet"));
        assert_eq!(svg.matches("<rect ").count(), 0);
    }

    #[test]
    fn table_twin_has_the_same_numbers() {
        let v = vec![LabelledValue::new("0", 3), LabelledValue::new("1–4", 7)];
        let t = crate::values_table(&text(), "Points", "Students", &v);
        assert_eq!(t.caption, "Fires per day");
        assert_eq!(t.headers, vec!["Points", "Students"]);
        assert_eq!(t.rows, vec![vec!["0", "3"], vec!["1–4", "7"]]);
        let svg = histogram(&text(), &v);
        assert!(svg.contains("<title>0: 3</title>"));
        assert!(svg.contains("<title>1–4: 7</title>"));
    }
}
