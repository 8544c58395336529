//! Server-rendered, accessible SVG charts for the ClassCred dashboard.
//!
//! Every chart is an `<svg role="img" aria-labelledby="…">` whose `<title>` and `<desc>` say
//! what it shows, and every chart has a twin function returning the same numbers as a
//! [`DataTable`] for a screen-reader (and no-SVG) table beside it. The crate is pure: data in,
//! text out; it knows nothing about the service, and every piece of text (student names!) is
//! escaped before it reaches the markup. No scripts and no `style=` attributes (the dashboard's
//! Content-Security-Policy forbids inline styles); presentation is SVG attributes.
//!
//! - [`bars`]: vertical bars over ordered labels (fires per day) and the histogram (points
//!   distribution);
//! - [`hbars`]: horizontal bars (most recognised students);
//! - [`network`]: the recognition network on a deterministic circular layout.

pub mod bars;
pub mod hbars;
pub mod network;
mod svg;
mod table;

pub use table::DataTable;

/// What a chart is called and says about itself (becomes `<title>`, `<desc>` and the table's
/// caption). `id` must be unique on the page: it prefixes the ids `aria-labelledby` points to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartText {
    pub id: String,
    pub title: String,
    pub description: String,
}

/// One labelled number: a day and its fires, a bucket and its students, a student and their fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledValue {
    pub label: String,
    pub value: u64,
}

impl LabelledValue {
    pub fn new(label: impl Into<String>, value: u64) -> Self {
        Self {
            label: label.into(),
            value,
        }
    }
}

/// The table twin of a labelled-values chart: one row per value, in the chart's order.
pub fn values_table(
    text: &ChartText,
    label_header: &str,
    value_header: &str,
    values: &[LabelledValue],
) -> DataTable {
    DataTable {
        caption: text.title.clone(),
        headers: vec![label_header.to_string(), value_header.to_string()],
        rows: values
            .iter()
            .map(|v| vec![v.label.clone(), v.value.to_string()])
            .collect(),
    }
}
