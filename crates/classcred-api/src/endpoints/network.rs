//! `GET /api/v1/network`: who recognises whom, from the dashboard's read model
//! (`classcred_service::dashboard::network`): nodes are the community's human members with the
//! fire they gave and received, an edge is the net fire units one member gave another (awards
//! minus reversals), and the analysis names isolated students, one-way recognition and closed
//! groups (pairs or rings that only recognise each other). Not paginated: a class is small.
//! The response types are the API's own, so the read model can change without changing the API.

use axum::extract::State;
use axum::Json;
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

/// What the network shows a teacher.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NetworkAnalysis {
    /// Students who neither gave nor received fire.
    pub isolated: Vec<String>,
    /// Edges with no fire back (recipient never recognised the giver).
    pub one_way: Vec<NetworkEdge>,
    /// Groups of two or more members who give and receive fire only among themselves.
    pub closed_groups: Vec<Vec<String>>,
}

/// The recognition network.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Network {
    /// Every human member, ordered by id.
    pub nodes: Vec<NetworkNode>,
    /// Every pair with net fire above zero, ordered by giver then recipient.
    pub edges: Vec<NetworkEdge>,
    /// Isolated students, one-way recognition and closed groups.
    pub analysis: NetworkAnalysis,
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
    let network =
        classcred_service::dashboard::network(&state.store, &auth.community_id, None).await?;
    let edges: Vec<NetworkEdge> = network
        .edges
        .iter()
        .map(|e| NetworkEdge {
            from: e.giver.to_string(),
            to: e.receiver.to_string(),
            fires: e.fires,
        })
        .collect();
    let mut nodes: Vec<NetworkNode> = network
        .nodes
        .iter()
        .map(|n| {
            let id = n.member_id.to_string();
            NetworkNode {
                fires_given: edges.iter().filter(|e| e.from == id).map(|e| e.fires).sum(),
                fires_received: edges.iter().filter(|e| e.to == id).map(|e| e.fires).sum(),
                member_id: id,
                role: n.role.into(),
            }
        })
        .collect();
    nodes.sort_by(|a, b| a.member_id.cmp(&b.member_id));
    let mut edges = edges;
    edges.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
    let analysis = NetworkAnalysis {
        isolated: network
            .analysis
            .isolated
            .iter()
            .map(ToString::to_string)
            .collect(),
        one_way: network
            .analysis
            .one_way
            .iter()
            .map(|o| NetworkEdge {
                from: o.giver.to_string(),
                to: o.receiver.to_string(),
                fires: o.fires,
            })
            .collect(),
        closed_groups: network
            .analysis
            .closed_groups
            .iter()
            .map(|g| g.members.iter().map(ToString::to_string).collect())
            .collect(),
    };
    Ok(Json(Network {
        nodes,
        edges,
        analysis,
    }))
}
