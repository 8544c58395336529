//! `GET /dashboard/network?period=course|recent` (staff): who recognises whom, from
//! `classcred_service::dashboard::network`, drawn by `classcred_charts::network` (isolated
//! students, one-way recognition and closed pairs/rings marked by shape and line pattern), with
//! tables beside it listing the isolated students, the one-way pairs and the closed groups
//! (each name a link to the student's profile), and every member and arrow as tables.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::Duration;
use classcred_charts::network::{
    network as draw_network, network_edges_table, network_members_table, NetworkDrawing,
    NetworkEdge, NetworkNode,
};
use classcred_charts::DataTable;
use classcred_service::dashboard::{self, Network};
use classcred_store::MemberRowId;
use serde::Deserialize;

use super::charts::{chart_text, plural};
use super::leaderboard::PeriodTab;
use super::overview::{profile_href, StudentLink};
use super::{render, Chrome};
use crate::extract::Staff;
use crate::{WebError, WebState};

/// One-way pairs listed before "show all" (the strongest first).
const ONE_WAY_SHOWN: usize = 10;

/// The short window of the period filter.
const RECENT_DAYS: i64 = 14;

#[derive(Deserialize)]
pub struct NetworkQuery {
    period: Option<String>,
}

/// A one-way pair: `giver` recognised `receiver` and never the other way round.
pub struct OneWayRow {
    pub giver: StudentLink,
    pub receiver: StudentLink,
    pub fires: i64,
}

/// A closed pair or ring.
pub struct GroupRow {
    pub label: String,
    pub kind: &'static str,
    pub members: Vec<StudentLink>,
}

#[derive(Template)]
#[template(path = "network.html")]
struct NetworkPage {
    chrome: Chrome,
    tabs: Vec<PeriodTab>,
    period_words: &'static str,
    people: usize,
    arrows: usize,
    svg: String,
    isolated: Vec<StudentLink>,
    /// The strongest one-way pairs, most fire first.
    one_way: Vec<OneWayRow>,
    /// The other one-way pairs (behind "show all").
    one_way_more: Vec<OneWayRow>,
    one_way_total: usize,
    groups: Vec<GroupRow>,
    members_table: DataTable,
    edges_table: DataTable,
}

const PERIODS: [(&str, &str, &str); 2] = [
    ("course", "Whole course", "over the whole course"),
    ("recent", "Last 14 days", "in the last 14 days"),
];

pub async fn page(
    State(state): State<WebState>,
    Staff(viewer): Staff,
    Query(query): Query<NetworkQuery>,
) -> Result<Response, WebError> {
    let wanted = query.period.as_deref().unwrap_or("course");
    let Some(&(value, _, period_words)) = PERIODS.iter().find(|(v, _, _)| *v == wanted) else {
        return Err(WebError::BadRequest("The period must be course or recent."));
    };
    let since =
        (value == "recent").then(|| state.store.clock().now() - Duration::days(RECENT_DAYS));
    let net = dashboard::network(&state.store, &viewer.community_id, since).await?;
    let tabs = PERIODS
        .iter()
        .map(|&(v, label, _)| PeriodTab {
            value: v,
            label,
            selected: v == value,
        })
        .collect();
    render(&build(
        Chrome::for_viewer(&viewer, "Recognition network", "/dashboard/network"),
        tabs,
        period_words,
        &net,
    ))
}

/// The drawing's input from the read model: every person, and every arrow of positive fire.
pub fn drawing(net: &Network) -> NetworkDrawing {
    let group_of: HashMap<&MemberRowId, usize> = net
        .analysis
        .closed_groups
        .iter()
        .enumerate()
        .flat_map(|(i, g)| g.members.iter().map(move |m| (m, i)))
        .collect();
    let nodes = net
        .nodes
        .iter()
        .map(|n| NetworkNode {
            id: n.member_id.to_string(),
            label: n.name.clone(),
            staff: n.staff,
            isolated: net.analysis.isolated.contains(&n.member_id),
            closed_group: group_of.get(&n.member_id).copied(),
        })
        .collect();
    let edges = net
        .edges
        .iter()
        .filter(|e| e.fires > 0 && e.giver != e.receiver)
        .map(|e| NetworkEdge {
            from: e.giver.to_string(),
            to: e.receiver.to_string(),
            weight: u64::try_from(e.fires).unwrap_or(0),
            one_way: net
                .analysis
                .one_way
                .iter()
                .any(|o| o.giver == e.giver && o.receiver == e.receiver),
        })
        .collect();
    NetworkDrawing { nodes, edges }
}

fn build(
    chrome: Chrome,
    tabs: Vec<PeriodTab>,
    period_words: &'static str,
    net: &Network,
) -> NetworkPage {
    let names: HashMap<&MemberRowId, &str> = net
        .nodes
        .iter()
        .map(|n| (&n.member_id, n.name.as_str()))
        .collect();
    let link = |id: &MemberRowId| StudentLink {
        href: profile_href(id),
        name: names
            .get(id)
            .copied()
            .unwrap_or("(unknown member)")
            .to_owned(),
        note: String::new(),
    };
    let isolated: Vec<StudentLink> = net.analysis.isolated.iter().map(&link).collect();
    let mut one_way: Vec<OneWayRow> = net
        .analysis
        .one_way
        .iter()
        .map(|o| OneWayRow {
            giver: link(&o.giver),
            receiver: link(&o.receiver),
            fires: o.fires,
        })
        .collect();
    // Stable: equal fire keeps the read model's order.
    one_way.sort_by_key(|o| std::cmp::Reverse(o.fires));
    let one_way_total = one_way.len();
    let one_way_more = one_way.split_off(one_way.len().min(ONE_WAY_SHOWN));
    let groups: Vec<GroupRow> = net
        .analysis
        .closed_groups
        .iter()
        .enumerate()
        .map(|(i, g)| GroupRow {
            label: format!("Group {}", i + 1),
            kind: if g.members.len() == 2 { "pair" } else { "ring" },
            members: g.members.iter().map(&link).collect(),
        })
        .collect();
    let d = drawing(net);
    let students = net.nodes.iter().filter(|n| !n.staff).count();
    let text =
        chart_text(
            "network",
            "Recognition network",
            format!(
            "Who gave fire to whom {period_words}: {} and {} arrows between them. {}, {} and {}. \
             Staff are squares and students circles; isolated students have a dashed outline, \
             one-way recognition is a dashed arrow, and closed groups have a double outline and \
             thick arrows.",
            plural(students as u64, "student", "students"),
            d.edges.len(),
            plural(isolated.len() as u64, "isolated student", "isolated students"),
            plural(
                one_way_total as u64,
                "one-way recognition",
                "one-way recognitions"
            ),
            plural(groups.len() as u64, "closed pair or ring", "closed pairs or rings"),
        ),
        );
    NetworkPage {
        chrome,
        tabs,
        period_words,
        people: net.nodes.len(),
        arrows: d.edges.len(),
        svg: draw_network(&text, &d),
        members_table: network_members_table(&text, &d),
        edges_table: network_edges_table(&text, &d),
        isolated,
        one_way,
        one_way_more,
        one_way_total,
        groups,
    }
}
