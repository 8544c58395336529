//! The recognition network as SVG: members on a deterministic circle (members of one closed
//! group side by side, everyone else in the given order), arrows giver → receiver whose width
//! grows with the fire given. What needs a teacher's eye is marked by shape and stroke
//! pattern, not colour alone:
//!
//! - staff are squares, students circles;
//! - isolated students (no fire in or out) have a dashed outline and no fill;
//! - members of a closed group (they give and receive only among themselves) have a double
//!   outline, and the group's arrows are drawn thick;
//! - one-way recognition (A → B, never B → A) is a dashed arrow; mutual recognition is solid
//!   and the two directions curve apart.
//!
//! [`network_edges_table`] and [`network_members_table`] give the same facts as tables.

use std::collections::HashMap;
use std::f64::consts::PI;
use std::fmt::Write;

use crate::svg::{close, escape, id_safe, num, open};
use crate::{ChartText, DataTable};

const SIZE: f64 = 640.0;
const LEGEND_H: f64 = 96.0;
const RING: f64 = 210.0;
const NODE_R: f64 = 7.0;
/// Above this many members only highlighted members are labelled (every node keeps its
/// `<title>`, and the tables list everyone).
const LABEL_ALL_UP_TO: usize = 48;

/// A member in the drawing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkNode {
    /// Stable id, referenced by edges (not shown).
    pub id: String,
    /// The member's name as shown (escaped here).
    pub label: String,
    pub staff: bool,
    pub isolated: bool,
    /// Index of the closed group the member belongs to, if any.
    pub closed_group: Option<usize>,
}

/// Fire given from one member to another (`weight` units, ≥ 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkEdge {
    pub from: String,
    pub to: String,
    pub weight: u64,
    /// `from` → `to` with no fire back.
    pub one_way: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetworkDrawing {
    pub nodes: Vec<NetworkNode>,
    pub edges: Vec<NetworkEdge>,
}

/// Node positions: closed groups first and together (by group index), then the rest in input
/// order, evenly spaced clockwise from the top.
fn layout(nodes: &[NetworkNode]) -> HashMap<&str, (f64, f64)> {
    let mut order: Vec<(usize, &NetworkNode)> = nodes.iter().enumerate().collect();
    order.sort_by_key(|(i, n)| (n.closed_group.is_none(), n.closed_group, *i));
    let count = order.len().max(1) as f64;
    let c = SIZE / 2.0;
    order
        .iter()
        .enumerate()
        .map(|(k, (_, n))| {
            let a = -PI / 2.0 + 2.0 * PI * k as f64 / count;
            (n.id.as_str(), (c + RING * a.cos(), c + RING * a.sin()))
        })
        .collect()
}

/// Draw the network.
pub fn network(text: &ChartText, drawing: &NetworkDrawing) -> String {
    let id = id_safe(&text.id);
    let mut s = open(text, SIZE as u32, (SIZE + LEGEND_H) as u32);
    let _ = writeln!(
        s,
        "<defs><marker id=\"{id}-arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" \
         markerUnits=\"userSpaceOnUse\" markerWidth=\"9\" markerHeight=\"9\" \
         orient=\"auto-start-reverse\">\
         <path d=\"M0 0 L10 5 L0 10 z\" fill=\"#444\"/></marker></defs>"
    );
    if drawing.nodes.is_empty() {
        let _ = writeln!(
            s,
            "<text x=\"{c}\" y=\"{c}\" text-anchor=\"middle\" fill=\"#333\">No members yet</text>",
            c = num(SIZE / 2.0)
        );
        return close(s);
    }
    let pos = layout(&drawing.nodes);
    let group_of: HashMap<&str, Option<usize>> = drawing
        .nodes
        .iter()
        .map(|n| (n.id.as_str(), n.closed_group))
        .collect();
    let names: HashMap<&str, &str> = drawing
        .nodes
        .iter()
        .map(|n| (n.id.as_str(), n.label.as_str()))
        .collect();
    s.push_str("<g fill=\"none\">\n");
    for e in &drawing.edges {
        let (Some(&(x1, y1)), Some(&(x2, y2))) = (pos.get(e.from.as_str()), pos.get(e.to.as_str()))
        else {
            continue;
        };
        let (dx, dy) = (x2 - x1, y2 - y1);
        let len = (dx * dx + dy * dy).sqrt();
        if len < 1.0 {
            continue;
        }
        let (ux, uy) = (dx / len, dy / len);
        // Start and end on the node outlines; bend to the right of the direction of travel so
        // that A → B and B → A are two distinct curves.
        let (sx, sy) = (x1 + ux * NODE_R, y1 + uy * NODE_R);
        let (ex, ey) = (x2 - ux * (NODE_R + 2.0), y2 - uy * (NODE_R + 2.0));
        let bend = (len * 0.12).min(30.0);
        let (cx, cy) = ((sx + ex) / 2.0 - uy * bend, (sy + ey) / 2.0 + ux * bend);
        let in_group = matches!(
            (group_of.get(e.from.as_str()), group_of.get(e.to.as_str())),
            (Some(Some(a)), Some(Some(b))) if a == b
        );
        let width = 1.0 + (e.weight.max(1) as f64).log2() + if in_group { 1.5 } else { 0.0 };
        let (stroke, dash) = match (in_group, e.one_way) {
            (true, _) => ("#7a1f1f", ""),
            (false, true) => ("#555", " stroke-dasharray=\"6 4\""),
            (false, false) => ("#555", ""),
        };
        let from = names.get(e.from.as_str()).copied().unwrap_or_default();
        let to = names.get(e.to.as_str()).copied().unwrap_or_default();
        let _ = writeln!(
            s,
            "<path d=\"M{} {} Q{} {} {} {}\" stroke=\"{stroke}\" stroke-width=\"{}\"{dash} \
             stroke-opacity=\"0.8\" marker-end=\"url(#{id}-arrow)\"><title>{} → {}: {} fire{}{}</title></path>",
            num(sx),
            num(sy),
            num(cx),
            num(cy),
            num(ex),
            num(ey),
            num(width),
            escape(from),
            escape(to),
            e.weight,
            if e.weight == 1 { "" } else { "s" },
            if e.one_way { " (one-way)" } else { "" },
        );
    }
    s.push_str("</g>\n");
    let label_all = drawing.nodes.len() <= LABEL_ALL_UP_TO;
    let c = SIZE / 2.0;
    for n in &drawing.nodes {
        let Some(&(x, y)) = pos.get(n.id.as_str()) else {
            continue;
        };
        let (fill, dash) = if n.isolated {
            ("#ffffff", " stroke-dasharray=\"3 2\"")
        } else if n.staff {
            ("#5b5b5b", "")
        } else {
            ("#1f5fa8", "")
        };
        let mut notes = Vec::new();
        if n.staff {
            notes.push("staff".to_string());
        }
        if n.isolated {
            notes.push("isolated".to_string());
        }
        if let Some(g) = n.closed_group {
            notes.push(format!("closed group {}", g + 1));
        }
        let title = if notes.is_empty() {
            escape(&n.label)
        } else {
            format!("{} ({})", escape(&n.label), notes.join(", "))
        };
        s.push_str("<g>");
        if n.closed_group.is_some() {
            let _ = write!(
                s,
                "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"none\" stroke=\"#7a1f1f\" stroke-width=\"1.5\"/>",
                num(x),
                num(y),
                num(NODE_R + 4.0)
            );
        }
        if n.staff {
            let _ = write!(
                s,
                "<rect x=\"{}\" y=\"{}\" width=\"{w}\" height=\"{w}\" fill=\"{fill}\" stroke=\"#222\" stroke-width=\"1.5\"{dash}><title>{title}</title></rect>",
                num(x - NODE_R),
                num(y - NODE_R),
                w = num(NODE_R * 2.0),
            );
        } else {
            let _ = write!(
                s,
                "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{fill}\" stroke=\"#222\" stroke-width=\"1.5\"{dash}><title>{title}</title></circle>",
                num(x),
                num(y),
                num(NODE_R),
            );
        }
        if label_all || n.isolated || n.closed_group.is_some() {
            let (dx, dy) = (x - c, y - c);
            let d = (dx * dx + dy * dy).sqrt().max(1.0);
            let (lx, ly) = (x + dx / d * 14.0, y + dy / d * 14.0 + 4.0);
            let anchor = if dx.abs() < 8.0 {
                "middle"
            } else if dx > 0.0 {
                "start"
            } else {
                "end"
            };
            let _ = write!(
                s,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\" font-size=\"11\" fill=\"#222\">{}</text>",
                num(lx),
                num(ly),
                escape(&n.label)
            );
        }
        s.push_str("</g>\n");
    }
    legend(&mut s, &id);
    close(s)
}

fn legend(s: &mut String, id: &str) {
    let y = SIZE + 12.0;
    let _ = writeln!(
        s,
        "<g font-size=\"11\" fill=\"#222\">\
         <circle cx=\"20\" cy=\"{y0}\" r=\"6\" fill=\"#1f5fa8\" stroke=\"#222\"/><text x=\"32\" y=\"{t0}\">student</text>\
         <rect x=\"104\" y=\"{r0}\" width=\"12\" height=\"12\" fill=\"#5b5b5b\" stroke=\"#222\"/><text x=\"122\" y=\"{t0}\">staff</text>\
         <circle cx=\"190\" cy=\"{y0}\" r=\"6\" fill=\"#ffffff\" stroke=\"#222\" stroke-dasharray=\"3 2\"/><text x=\"202\" y=\"{t0}\">isolated (dashed outline)</text>\
         <circle cx=\"380\" cy=\"{y0}\" r=\"6\" fill=\"#1f5fa8\" stroke=\"#222\"/><circle cx=\"380\" cy=\"{y0}\" r=\"10\" fill=\"none\" stroke=\"#7a1f1f\" stroke-width=\"1.5\"/><text x=\"396\" y=\"{t0}\">closed group (double outline)</text>\
         <path d=\"M14 {y1} L60 {y1}\" stroke=\"#555\" stroke-width=\"2\" marker-end=\"url(#{id}-arrow)\"/><text x=\"68\" y=\"{t1}\">mutual recognition</text>\
         <path d=\"M200 {y1} L246 {y1}\" stroke=\"#555\" stroke-width=\"2\" stroke-dasharray=\"6 4\" marker-end=\"url(#{id}-arrow)\"/><text x=\"254\" y=\"{t1}\">one-way recognition (dashed)</text>\
         <path d=\"M14 {y2} L60 {y2}\" stroke=\"#7a1f1f\" stroke-width=\"3.5\" marker-end=\"url(#{id}-arrow)\"/><text x=\"68\" y=\"{t2}\">fire inside a closed group (thick)</text>\
         <text x=\"330\" y=\"{t2}\">thicker arrow = more fire</text></g>",
        y0 = num(y + 6.0),
        r0 = num(y),
        t0 = num(y + 10.0),
        y1 = num(y + 34.0),
        t1 = num(y + 38.0),
        y2 = num(y + 62.0),
        t2 = num(y + 66.0),
    );
}

/// Every arrow as a row: from, to, fires, and whether it is returned.
pub fn network_edges_table(text: &ChartText, drawing: &NetworkDrawing) -> DataTable {
    let names: HashMap<&str, &str> = drawing
        .nodes
        .iter()
        .map(|n| (n.id.as_str(), n.label.as_str()))
        .collect();
    let name = |id: &str| names.get(id).copied().unwrap_or(id).to_string();
    DataTable {
        caption: format!("{}: who gave fire to whom", text.title),
        headers: ["From", "To", "Fires", "Returned"]
            .map(String::from)
            .to_vec(),
        rows: drawing
            .edges
            .iter()
            .map(|e| {
                vec![
                    name(&e.from),
                    name(&e.to),
                    e.weight.to_string(),
                    if e.one_way { "no (one-way)" } else { "yes" }.to_string(),
                ]
            })
            .collect(),
    }
}

/// Every member as a row: name, role, fires given, fires received, and what is highlighted.
pub fn network_members_table(text: &ChartText, drawing: &NetworkDrawing) -> DataTable {
    let mut given: HashMap<&str, u64> = HashMap::new();
    let mut received: HashMap<&str, u64> = HashMap::new();
    for e in &drawing.edges {
        *given.entry(e.from.as_str()).or_default() += e.weight;
        *received.entry(e.to.as_str()).or_default() += e.weight;
    }
    DataTable {
        caption: format!("{}: members", text.title),
        headers: [
            "Member",
            "Role",
            "Fires given",
            "Fires received",
            "Highlight",
        ]
        .map(String::from)
        .to_vec(),
        rows: drawing
            .nodes
            .iter()
            .map(|n| {
                let mut notes = Vec::new();
                if n.isolated {
                    notes.push("isolated".to_string());
                }
                if let Some(g) = n.closed_group {
                    notes.push(format!("closed group {}", g + 1));
                }
                vec![
                    n.label.clone(),
                    if n.staff { "staff" } else { "student" }.to_string(),
                    given.get(n.id.as_str()).copied().unwrap_or(0).to_string(),
                    received
                        .get(n.id.as_str())
                        .copied()
                        .unwrap_or(0)
                        .to_string(),
                    notes.join(", "),
                ]
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text() -> ChartText {
        ChartText {
            id: "net".into(),
            title: "Recognition network".into(),
            description: "Who gives fire to whom.".into(),
        }
    }

    fn node(id: &str, staff: bool, isolated: bool, group: Option<usize>) -> NetworkNode {
        NetworkNode {
            id: id.into(),
            label: format!("Name <{id}>"),
            staff,
            isolated,
            closed_group: group,
        }
    }

    fn edge(from: &str, to: &str, weight: u64, one_way: bool) -> NetworkEdge {
        NetworkEdge {
            from: from.into(),
            to: to.into(),
            weight,
            one_way,
        }
    }

    fn sample() -> NetworkDrawing {
        NetworkDrawing {
            nodes: vec![
                node("t", true, false, None),
                node("a", false, false, None),
                node("b", false, false, None),
                node("c", false, false, Some(0)),
                node("d", false, false, Some(0)),
                node("e", false, true, None),
            ],
            edges: vec![
                edge("t", "a", 3, true),
                edge("a", "b", 1, false),
                edge("b", "a", 2, false),
                edge("c", "d", 4, false),
                edge("d", "c", 1, false),
            ],
        }
    }

    #[test]
    fn marks_by_shape_and_pattern_and_escapes_names() {
        let svg = network(&text(), &sample());
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("aria-labelledby=\"net-title net-desc\""));
        // One square for the instructor (plus the legend's), five circles plus two group rings.
        assert_eq!(svg.matches("<rect ").count(), 2);
        // One dashed (one-way) arrow plus the legend's.
        assert_eq!(svg.matches("stroke-dasharray=\"6 4\"").count(), 2);
        // The isolated student's dashed outline plus the legend's.
        assert_eq!(svg.matches("stroke-dasharray=\"3 2\"").count(), 2);
        assert!(svg.contains("Name &lt;e&gt; (isolated)"));
        assert!(svg.contains("Name &lt;c&gt; (closed group 1)"));
        assert!(!svg.contains("Name <"));
        assert!(!svg.contains("style="));
        insta::assert_snapshot!(svg);
    }

    #[test]
    fn layout_is_deterministic_and_keeps_groups_together() {
        let d = sample();
        assert_eq!(network(&text(), &d), network(&text(), &d));
        let pos = layout(&d.nodes);
        let order: Vec<&str> = {
            let mut v: Vec<(&str, f64)> = pos
                .iter()
                .map(|(id, (x, y))| {
                    let a = (y - SIZE / 2.0).atan2(x - SIZE / 2.0) + PI / 2.0;
                    (*id, a.rem_euclid(2.0 * PI))
                })
                .collect();
            v.sort_by(|a, b| a.1.total_cmp(&b.1));
            v.into_iter().map(|(id, _)| id).collect()
        };
        assert_eq!(order, vec!["c", "d", "t", "a", "b", "e"]);
    }

    #[test]
    fn tables_carry_the_same_facts() {
        let d = sample();
        let edges = network_edges_table(&text(), &d);
        assert_eq!(edges.rows.len(), 5);
        assert_eq!(
            edges.rows[0],
            vec!["Name <t>", "Name <a>", "3", "no (one-way)"]
        );
        let members = network_members_table(&text(), &d);
        let a = members.rows.iter().find(|r| r[0] == "Name <a>").unwrap();
        assert_eq!(a, &vec!["Name <a>", "student", "1", "5", ""]);
        let e = members.rows.iter().find(|r| r[0] == "Name <e>").unwrap();
        assert_eq!(e[4], "isolated");
        let c = members.rows.iter().find(|r| r[0] == "Name <c>").unwrap();
        assert_eq!(c[4], "closed group 1");
    }

    #[test]
    fn empty_network_says_so() {
        assert!(network(&text(), &NetworkDrawing::default()).contains("No members yet"));
    }
}
