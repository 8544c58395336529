//! The numbers of a chart as a plain table (caption, headers, rows of text), for a
//! screen-reader table next to the drawing. Rendering it to HTML is the page's job.

/// A chart's numbers as text cells; every row has as many cells as there are headers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DataTable {
    pub caption: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}
