//! The recognition network: members (people only; bots and the app are left out) and net fire
//! giver → receiver, plus its analysis. [`analyse`] is pure: isolated students (no fire in or
//! out), one-way recognition (A → B with no B → A), and closed groups — pairs or rings
//! (strongly connected components of two or more) whose members give and receive fire only
//! among themselves. Fire to oneself is not recognition and is ignored by the analysis.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use classcred_store::{CommunityId, MemberKind, MemberRowId, Role, Store};
use serde::Serialize;

use super::{display_name, Roster};
use crate::Result;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Network {
    pub nodes: Vec<NetworkNode>,
    pub edges: Vec<NetworkEdge>,
    pub analysis: NetworkAnalysis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkNode {
    pub member_id: MemberRowId,
    pub name: String,
    pub role: Role,
    /// Admin or Instructor.
    pub staff: bool,
}

/// Net fire from `giver` to `receiver` (positive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkEdge {
    pub giver: MemberRowId,
    pub receiver: MemberRowId,
    pub fires: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NetworkAnalysis {
    /// Students with no fire in or out, in node order.
    pub isolated: Vec<MemberRowId>,
    /// Edges with no edge back, in edge order.
    pub one_way: Vec<OneWay>,
    /// Closed groups, each sorted by member id; groups ordered by their first member.
    pub closed_groups: Vec<ClosedGroup>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OneWay {
    pub giver: MemberRowId,
    pub receiver: MemberRowId,
    pub fires: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClosedGroup {
    pub members: Vec<MemberRowId>,
}

/// The network of fire from `since` on (`None`: the whole course).
pub async fn network(
    store: &Store,
    community_id: &CommunityId,
    since: Option<DateTime<Utc>>,
) -> Result<Network> {
    let mut tx = store.begin().await?;
    let mut scoped = tx.for_community(community_id);
    let roster = Roster::load(&mut scoped).await?;
    let raw = scoped
        .fire_edges(since.map(|t| t.timestamp_millis()))
        .await?;
    tx.commit().await?;
    let mut nodes: Vec<NetworkNode> = roster
        .members
        .iter()
        .filter(|m| m.kind == MemberKind::Human)
        .map(|m| NetworkNode {
            member_id: m.id.clone(),
            name: display_name(m),
            role: m.role,
            staff: m.role != Role::Student,
        })
        .collect();
    nodes.sort_by(|a, b| {
        a.staff
            .cmp(&b.staff)
            .reverse()
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
            .then_with(|| a.member_id.cmp(&b.member_id))
    });
    let known: BTreeSet<&MemberRowId> = nodes.iter().map(|n| &n.member_id).collect();
    let edges: Vec<NetworkEdge> = raw
        .into_iter()
        .filter(|e| known.contains(&e.giver) && known.contains(&e.receiver))
        .map(|e| NetworkEdge {
            giver: e.giver,
            receiver: e.receiver,
            fires: e.units,
        })
        .collect();
    let analysis = analyse(&nodes, &edges);
    Ok(Network {
        nodes,
        edges,
        analysis,
    })
}

/// Analyse a network: isolated students, one-way recognition, closed groups.
pub fn analyse(nodes: &[NetworkNode], edges: &[NetworkEdge]) -> NetworkAnalysis {
    let ids: Vec<&MemberRowId> = nodes.iter().map(|n| &n.member_id).collect();
    let index: BTreeMap<&MemberRowId, usize> =
        ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let n = ids.len();
    let mut out_adj: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    let mut in_adj: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    for e in edges
        .iter()
        .filter(|e| e.fires > 0 && e.giver != e.receiver)
    {
        if let (Some(&g), Some(&r)) = (index.get(&e.giver), index.get(&e.receiver)) {
            out_adj[g].insert(r);
            in_adj[r].insert(g);
        }
    }
    let isolated = nodes
        .iter()
        .enumerate()
        .filter(|(i, node)| !node.staff && out_adj[*i].is_empty() && in_adj[*i].is_empty())
        .map(|(_, node)| node.member_id.clone())
        .collect();
    let one_way = edges
        .iter()
        .filter(|e| e.fires > 0 && e.giver != e.receiver)
        .filter_map(|e| {
            let (&g, &r) = (index.get(&e.giver)?, index.get(&e.receiver)?);
            (!out_adj[r].contains(&g)).then(|| OneWay {
                giver: e.giver.clone(),
                receiver: e.receiver.clone(),
                fires: e.fires,
            })
        })
        .collect();
    let mut closed_groups: Vec<ClosedGroup> = components(&out_adj, &in_adj)
        .into_iter()
        .filter(|c| c.len() >= 2)
        .filter(|c| {
            c.iter().all(|&v| {
                out_adj[v].iter().all(|w| c.contains(w)) && in_adj[v].iter().all(|w| c.contains(w))
            })
        })
        .map(|c| {
            let mut members: Vec<MemberRowId> = c.iter().map(|&v| ids[v].clone()).collect();
            members.sort();
            ClosedGroup { members }
        })
        .collect();
    closed_groups.sort_by(|a, b| a.members.cmp(&b.members));
    NetworkAnalysis {
        isolated,
        one_way,
        closed_groups,
    }
}

/// Strongly connected components (Kosaraju, iterative): finish order on the graph, then
/// components on the reversed graph in reverse finish order.
fn components(out_adj: &[BTreeSet<usize>], in_adj: &[BTreeSet<usize>]) -> Vec<BTreeSet<usize>> {
    let n = out_adj.len();
    let mut seen = vec![false; n];
    let mut order = Vec::with_capacity(n);
    for start in 0..n {
        if seen[start] {
            continue;
        }
        seen[start] = true;
        let mut stack: Vec<(usize, Vec<usize>)> =
            vec![(start, out_adj[start].iter().copied().collect())];
        while let Some((v, pending)) = stack.last_mut() {
            if let Some(w) = pending.pop() {
                if !seen[w] {
                    seen[w] = true;
                    let next = out_adj[w].iter().copied().collect();
                    stack.push((w, next));
                }
            } else {
                order.push(*v);
                stack.pop();
            }
        }
    }
    let mut assigned = vec![false; n];
    let mut out = Vec::new();
    for &start in order.iter().rev() {
        if assigned[start] {
            continue;
        }
        assigned[start] = true;
        let mut comp = BTreeSet::new();
        let mut stack = vec![start];
        while let Some(v) = stack.pop() {
            comp.insert(v);
            for &w in &in_adj[v] {
                if !assigned[w] {
                    assigned[w] = true;
                    stack.push(w);
                }
            }
        }
        out.push(comp);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u32) -> MemberRowId {
        MemberRowId::parse(&format!("00000000-0000-7000-8000-{n:012}")).unwrap()
    }

    fn student(n: u32) -> NetworkNode {
        NetworkNode {
            member_id: id(n),
            name: format!("S{n}"),
            role: Role::Student,
            staff: false,
        }
    }

    fn teacher(n: u32) -> NetworkNode {
        NetworkNode {
            role: Role::Instructor,
            staff: true,
            ..student(n)
        }
    }

    fn edge(g: u32, r: u32, fires: i64) -> NetworkEdge {
        NetworkEdge {
            giver: id(g),
            receiver: id(r),
            fires,
        }
    }

    fn group(members: &[u32]) -> ClosedGroup {
        ClosedGroup {
            members: members.iter().map(|&m| id(m)).collect(),
        }
    }

    #[test]
    fn isolated_students_only_count_real_recognition() {
        // 3 gives only to themselves; 4 has nothing; the teacher 9 has nothing but is staff.
        let nodes = [student(1), student(2), student(3), student(4), teacher(9)];
        let edges = [edge(1, 2, 1), edge(3, 3, 2)];
        let a = analyse(&nodes, &edges);
        assert_eq!(a.isolated, vec![id(3), id(4)]);
    }

    #[test]
    fn one_way_is_an_edge_without_its_reverse() {
        let nodes = [student(1), student(2), student(3)];
        let edges = [edge(1, 2, 2), edge(2, 1, 1), edge(1, 3, 4)];
        let a = analyse(&nodes, &edges);
        assert_eq!(
            a.one_way,
            vec![OneWay {
                giver: id(1),
                receiver: id(3),
                fires: 4
            }]
        );
    }

    #[test]
    fn a_pair_and_a_ring_that_only_recognise_each_other_are_closed() {
        let nodes: Vec<_> = (1..=8).map(student).collect();
        let edges = [
            // Closed pair 1 ⇄ 2.
            edge(1, 2, 1),
            edge(2, 1, 1),
            // Closed ring 3 → 4 → 5 → 3.
            edge(3, 4, 1),
            edge(4, 5, 1),
            edge(5, 3, 1),
            // Pair 6 ⇄ 7 that also gives to 8: not closed.
            edge(6, 7, 1),
            edge(7, 6, 1),
            edge(7, 8, 1),
        ];
        let a = analyse(&nodes, &edges);
        assert_eq!(a.closed_groups, vec![group(&[1, 2]), group(&[3, 4, 5])]);
    }

    #[test]
    fn a_pair_that_receives_from_outside_is_not_closed() {
        let nodes = [student(1), student(2), teacher(9)];
        let edges = [edge(1, 2, 1), edge(2, 1, 1), edge(9, 1, 3)];
        let a = analyse(&nodes, &edges);
        assert!(a.closed_groups.is_empty());
        assert_eq!(a.one_way.len(), 1);
    }

    #[test]
    fn everyone_in_one_big_cycle_is_one_closed_group_and_nobody_is_isolated() {
        let nodes: Vec<_> = (1..=50).map(student).collect();
        let edges: Vec<_> = (1..=50).map(|i| edge(i, i % 50 + 1, 1)).collect();
        let a = analyse(&nodes, &edges);
        assert_eq!(a.closed_groups.len(), 1);
        assert_eq!(a.closed_groups[0].members.len(), 50);
        assert!(a.isolated.is_empty());
        assert_eq!(a.one_way.len(), 50);
    }

    #[test]
    fn edges_to_unknown_members_are_ignored() {
        let nodes = [student(1)];
        let a = analyse(&nodes, &[edge(1, 2, 1)]);
        assert_eq!(a.isolated, vec![id(1)]);
        assert!(a.one_way.is_empty());
    }
}
