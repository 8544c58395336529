//! Read models for the instructor dashboard and the JSON API: plain `Serialize` structs that
//! both the pages and the API render. Each read model takes `(&Store, &CommunityId, …)`, reads
//! in one transaction through `tx.for_community(..)`, and aggregates in SQL (one grouped query
//! per figure, never one per member). Names are decrypted here, for the page that shows them;
//! nothing here logs.
//!
//! - [`overview`]: the morning page (active students, fires per day, points distribution, most
//!   and never recognised, what is waiting);
//! - [`members`]: every member with balances, level and last activity;
//! - [`profile`]: one member's fire with feedback, feed, badges, quota (audited when staff read
//!   someone else's);
//! - [`network`]: who recognises whom, with the pure [`analyse`] (isolated, one-way, closed groups);
//! - [`grades_csv`]: points CSV and Canvas gradebook CSV;
//! - [`my_data`]: what a member sees about themselves, including what the system stores.

mod grades;
mod members;
mod my_data;
mod network;
mod overview;
mod profile;

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use classcred_engine::badges::badge_name;
use classcred_engine::{BadgeId, CommunitySettings, Points};
use classcred_store::recognition::{BadgeRow, FireExchange};
use classcred_store::{CommunityTx, Member, MemberKind, MemberRowId, Role};
use serde::Serialize;

pub use grades::{grades_csv, GradeFormat, CANVAS_HEADER};
pub use members::{members, MemberRow};
pub use my_data::stored_about_members;
pub use my_data::{my_data, MyData, StoredField};
pub use network::{
    analyse, network, ClosedGroup, Network, NetworkAnalysis, NetworkEdge, NetworkNode, OneWay,
};
pub use overview::{overview, DayCount, Overview, Pending, PointsBucket, Recognised};
pub use profile::{profile, BadgeAward, FireWithFeedback, Profile, QuotaUse, PROFILE_READ_ACTION};

use crate::Result;

/// A member as other read models mention them: id and the name to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberRef {
    pub member_id: MemberRowId,
    pub name: String,
}

/// The name to show for a member: full name, else display name, else the platform id.
pub(crate) fn display_name(m: &Member) -> String {
    m.profile
        .shown_name()
        .unwrap_or(&m.platform_user_id)
        .to_string()
}

/// A human student (not staff, not a bot or the app).
pub(crate) fn is_student(m: &Member) -> bool {
    m.role == Role::Student && m.kind == MemberKind::Human
}

/// Every member of the community (decrypted once), by id.
pub(crate) struct Roster {
    pub members: Vec<Member>,
    index: HashMap<MemberRowId, usize>,
}

impl Roster {
    pub async fn load(tx: &mut CommunityTx<'_, '_>) -> Result<Self> {
        let members = tx.list_members().await?;
        let index = members
            .iter()
            .enumerate()
            .map(|(i, m)| (m.id.clone(), i))
            .collect();
        Ok(Self { members, index })
    }

    pub fn get(&self, id: &MemberRowId) -> Option<&Member> {
        self.index.get(id).and_then(|&i| self.members.get(i))
    }

    pub fn reference(&self, id: &MemberRowId) -> MemberRef {
        MemberRef {
            member_id: id.clone(),
            name: self.get(id).map_or_else(|| id.to_string(), display_name),
        }
    }
}

/// One feed item of a member: its kind and the engine's payload (ids and numbers, no text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeedEntry {
    pub kind: String,
    pub payload: serde_json::Value,
    pub occurred_at: Option<DateTime<Utc>>,
}

/// A member's feed, newest first (a payload that is not JSON is shown as a JSON string).
pub(crate) async fn member_feed(
    tx: &mut CommunityTx<'_, '_>,
    member: &MemberRowId,
    limit: i64,
) -> Result<Vec<FeedEntry>> {
    Ok(tx
        .feed(Some(member), limit)
        .await?
        .into_iter()
        .map(|f| FeedEntry {
            payload: serde_json::from_str(&f.payload)
                .unwrap_or(serde_json::Value::String(f.payload)),
            kind: f.kind,
            occurred_at: instant(f.occurred_at),
        })
        .collect())
}

/// Level index and name for earned points under the community's ladder.
pub(crate) fn level_of(s: &CommunitySettings, earned: Points) -> (u32, String) {
    let idx = s.level_index(earned);
    let name = s
        .levels
        .get(idx)
        .map(|l| l.name.clone())
        .unwrap_or_default();
    (u32::try_from(idx).unwrap_or(0), name)
}

pub(crate) fn instant(ms: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single()
}

/// Fire of one member (`member`) split into received and given, with the other person named.
pub(crate) fn split_exchanges(
    roster: &Roster,
    member: &MemberRowId,
    exchanges: Vec<FireExchange>,
) -> (Vec<FireWithFeedback>, Vec<FireWithFeedback>) {
    let mut received = Vec::new();
    let mut given = Vec::new();
    for e in exchanges {
        let to_me = &e.receiver == member;
        let other = if to_me { &e.giver } else { &e.receiver };
        let row = FireWithFeedback {
            other: roster.reference(other),
            fires: e.units,
            occurred_at: instant(e.occurred_at),
            platform_message_id: e.platform_message_id,
            feedback: e.feedback,
        };
        if to_me {
            received.push(row.clone());
        }
        if &e.giver == member {
            given.push(row);
        }
    }
    (received, given)
}

/// A member's badges with their names.
pub(crate) fn badge_awards(
    s: &CommunitySettings,
    member: &MemberRowId,
    badges: Vec<BadgeRow>,
) -> Vec<BadgeAward> {
    badges
        .into_iter()
        .filter(|b| &b.member_id == member)
        .map(|b| BadgeAward {
            name: badge_name(s, &BadgeId::new(b.badge_id.clone())),
            badge_id: b.badge_id,
            instance: b.instance,
        })
        .collect()
}
