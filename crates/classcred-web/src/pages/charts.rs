//! Charts on pages: an SVG from `classcred_charts` next to the same numbers as a table
//! ([`ChartPanel`]), rendered by the `chart` macro in `templates/macros.html` (the table sits
//! in a `<details>` "Show the numbers" so screen readers and keyboard users get every figure).

use classcred_charts::{ChartText, DataTable};

/// One chart and its numbers.
pub struct ChartPanel {
    /// The `<svg>` markup (the charts crate escapes every text it draws).
    pub svg: String,
    pub table: DataTable,
}

/// The text of a chart: `id` (unique on the page), title and a description that says in
/// words what the chart shows.
pub fn chart_text(id: &str, title: &str, description: String) -> ChartText {
    ChartText {
        id: id.to_owned(),
        title: title.to_owned(),
        description,
    }
}

/// "1 student" / "3 students".
pub fn plural(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plural_picks_the_word_by_count() {
        assert_eq!(plural(1u32, "fire", "fires"), "1 fire");
        assert_eq!(plural(0u32, "fire", "fires"), "0 fires");
        assert_eq!(plural(12u32, "student", "students"), "12 students");
    }
}
