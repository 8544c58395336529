//! `GET /api/v1/network`: who recognises whom. Nodes are the community's human members with
//! the fire they gave and received; an edge is the net fire units one member gave another
//! (awards minus reversals), from the ledger. Not paginated: a class is small.
//!
//! The dashboard's read model (`classcred_service::dashboard`) will compute the same graph
//! with its highlights (isolated students, one-way recognition, closed groups); this endpoint
//! keeps its own response types so that switching the source does not change the API.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::Json;
use classcred_store::MemberKind;
use serde::Serialize;
use utoipa::ToSchema;

use super::RoleName;
use crate::auth::ApiCommunity;
use crate::error::{ApiError, ErrorBody};
use crate::ApiState;

/// A member in the network.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NetworkNode {
    pub member_id: String,
    pub role: RoleName,
    /// Fire units given to others (net of reversals).
    pub fires_given: i64,
    /// Fire units received (net of reversals).
    pub fires_received: i64,
}

/// Fire one member gave another.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NetworkEdge {
    /// The giver's member id.
    pub from: String,
    /// The recipient's member id.
    pub to: String,
    /// Net fire units.
    pub fires: i64,
}

/// The recognition network.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Network {
    /// Every human member, ordered by id.
    pub nodes: Vec<NetworkNode>,
    /// Every pair with net fire above zero, ordered by giver then recipient.
    pub edges: Vec<NetworkEdge>,
}

/// Who recognises whom.
#[utoipa::path(
    get, path = "/api/v1/network", tag = "network",
    responses(
        (status = 200, description = "The network", body = Network),
        (status = 401, description = "Missing, invalid or revoked token", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<ApiState>,
    auth: ApiCommunity,
) -> Result<Json<Network>, ApiError> {
    let mut tx = state.store.begin().await?;
    let mut scoped = tx.for_community(&auth.community_id);
    let members = scoped.balances().await?;
    let ledger = scoped.ledger().await?;
    tx.commit().await?;
    let mut pairs: BTreeMap<(String, String), i64> = BTreeMap::new();
    for e in ledger.iter().filter(|e| e.entry.fire_units != 0) {
        if let Some(giver) = &e.entry.giver_member_id {
            *pairs
                .entry((giver.clone(), e.entry.member_id.clone()))
                .or_default() += e.entry.fire_units;
        }
    }
    let mut nodes: Vec<NetworkNode> = members
        .into_iter()
        .filter(|m| m.kind == MemberKind::Human)
        .map(|m| NetworkNode {
            member_id: m.member_id.to_string(),
            role: m.role.into(),
            fires_given: 0,
            fires_received: 0,
        })
        .collect();
    nodes.sort_by(|a, b| a.member_id.cmp(&b.member_id));
    let edges: Vec<NetworkEdge> = pairs
        .into_iter()
        .filter(|(_, fires)| *fires > 0)
        .map(|((from, to), fires)| NetworkEdge { from, to, fires })
        .collect();
    for edge in &edges {
        for node in nodes.iter_mut() {
            if node.member_id == edge.from {
                node.fires_given += edge.fires;
            }
            if node.member_id == edge.to {
                node.fires_received += edge.fires;
            }
        }
    }
    Ok(Json(Network { nodes, edges }))
}
