//! `GET /me` (any signed-in member): "my data": the member's own balance, level, badges,
//! feed, the fire they received with its feedback, their stored profile, and what the system
//! stores about members (from the privacy registry: what, why, how it is protected, how long
//! it is kept). Read model: `dashboard::my_data`.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use classcred_service::dashboard;
use classcred_store::registry::Protection;

use super::{render, role_label, Chrome};
use crate::extract::Viewer;
use crate::{WebError, WebState};

/// One line of the member's recent activity.
pub struct Activity {
    pub what: String,
    pub when: String,
}

/// One fire received, with the giver's words.
pub struct Received {
    pub from: String,
    pub fires: i64,
    pub when: String,
    /// `None`: a 🔥 reaction (no words).
    pub feedback: Option<String>,
}

/// One kind of stored personal data.
pub struct Stored {
    pub what: String,
    pub why: &'static str,
    pub protection: &'static str,
    pub retention: &'static str,
}

#[derive(Template)]
#[template(path = "me.html")]
struct Me {
    chrome: Chrome,
    name: String,
    role: &'static str,
    earned: String,
    spendable: String,
    level: String,
    badges: Vec<String>,
    quota_left_today: Option<u32>,
    recent: Vec<Activity>,
    received: Vec<Received>,
    /// Fire received beyond the newest [`RECEIVED_SHOWN`].
    received_more: usize,
    /// `(field, value)` of the stored profile, set fields only.
    profile: Vec<(&'static str, String)>,
    stored: Vec<Stored>,
    /// Privacy requests: the form and the member's own requests.
    privacy: super::privacy_requests::RequestSection,
    /// Recorded sign-ins (device data on): "signed in from 192.0.2.0/24, Firefox on Linux".
    sign_ins: Vec<SignInLine>,
    /// Device data is on (the sign-in section is shown).
    device_data: bool,
    /// The member's store purchases, newest first, and whether each can still be cancelled.
    purchases: Vec<(super::store::PurchaseRow, bool)>,
    csrf: String,
    /// The member's votes in polls that are not anonymous, newest first.
    votes: Vec<super::polls::MyVote>,
}

/// One recorded sign-in.
pub struct SignInLine {
    pub when: String,
    pub network: String,
    pub agent: String,
}

/// How many recorded sign-ins the page lists.
const SIGN_INS_SHOWN: i64 = 20;

/// How many fires received the page lists (newest first).
const RECEIVED_SHOWN: usize = 50;

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

fn protection(p: Protection) -> &'static str {
    match p {
        Protection::Encrypted => "encrypted with your class's key",
        Protection::BlindIndex => "kept only as a keyed fingerprint",
        Protection::Pseudonymous => "a platform id, no name",
        Protection::Hashed => "only a hash is stored",
    }
}

#[derive(serde::Deserialize, Default)]
pub struct MeQuery {
    #[serde(default)]
    privacy: Option<String>,
}

pub async fn page(
    State(state): State<WebState>,
    viewer: Viewer,
    Query(q): Query<MeQuery>,
) -> Result<Response, WebError> {
    let done = match q.privacy.as_deref() {
        Some("opened") => {
            Some("Your request was sent to your class's Admins. They answer within 30 days.")
        }
        Some("cancelled") => Some("Your request was cancelled."),
        _ => None,
    };
    show(&state, &viewer, done, None).await
}

/// The page, with a confirmation or the privacy form's error.
pub(crate) async fn show(
    state: &WebState,
    viewer: &Viewer,
    done: Option<&'static str>,
    error: Option<String>,
) -> Result<Response, WebError> {
    let privacy = super::privacy_requests::section(state, viewer, done, error).await?;
    let data = dashboard::my_data(&state.store, &viewer.community_id, &viewer.member_id)
        .await?
        .ok_or(WebError::NotFound)?;
    let quota_left_today = classcred_service::member_summary(
        &state.store,
        &viewer.community_id,
        &data.member.platform_user_id,
    )
    .await?
    .and_then(|s| s.quota_left_today);
    let p = &data.profile;
    let profile = [
        ("Name", &p.name),
        ("Display name", &p.display_name),
        ("Email", &p.email),
        ("Picture", &p.avatar_url),
        ("Timezone", &p.timezone),
    ]
    .into_iter()
    .filter_map(|(label, v)| v.clone().map(|v| (label, v)))
    .collect();
    // Mentions in feedback read as names (the text says `<@U123>`).
    let names: std::collections::HashMap<String, String> =
        dashboard::members(&state.store, &viewer.community_id)
            .await?
            .into_iter()
            .map(|m| (m.platform_user_id, m.name))
            .collect();
    let mut tx = state.store.begin().await?;
    let sign_ins = tx
        .for_community(&viewer.community_id)
        .sign_ins_of_member(&viewer.member_id, SIGN_INS_SHOWN)
        .await?
        .into_iter()
        .map(|r| SignInLine {
            when: when(DateTime::from_timestamp_millis(r.signed_in_at)),
            network: r.network.unwrap_or_else(|| "an unknown network".into()),
            agent: r.agent.unwrap_or_else(|| "an unknown browser".into()),
        })
        .collect();
    tx.commit().await?;
    let tz = {
        let mut tx = state.store.begin().await?;
        let s = classcred_service::settings(&mut tx, &viewer.community_id).await?;
        tx.rollback().await?;
        s.timezone
    };
    let purchases = super::store::my_purchases(state, viewer, &tz).await?;
    let votes = super::polls::my_votes(state, viewer).await?;
    render(&Me {
        votes,
        purchases,
        csrf: viewer.csrf.clone(),
        device_data: state.device.enabled,
        sign_ins,
        chrome: Chrome::for_viewer(viewer, "My data", "/me"),
        name: data.member.name.clone(),
        role: role_label(data.member.role),
        earned: data.member.earned.to_string(),
        spendable: data.member.spendable.to_string(),
        level: data.member.level_name.clone(),
        badges: data.badges.iter().map(|b| b.name.clone()).collect(),
        quota_left_today,
        recent: data
            .feed
            .iter()
            .map(|f| Activity {
                what: f.kind.replace('_', " "),
                when: when(f.occurred_at),
            })
            .collect(),
        received_more: data.fires_received.len().saturating_sub(RECEIVED_SHOWN),
        received: data
            .fires_received
            .iter()
            .take(RECEIVED_SHOWN)
            .map(|f| Received {
                from: f.other.name.clone(),
                fires: f.fires,
                when: when(f.occurred_at),
                feedback: f
                    .feedback
                    .as_deref()
                    .map(|t| super::chat_text::readable(t, &names)),
            })
            .collect(),
        profile,
        stored: data
            .stored
            .iter()
            .map(|s| Stored {
                what: format!("{} ({}.{})", s.what, s.table, s.column),
                why: s.why,
                protection: protection(s.protection),
                retention: s.retention,
            })
            .collect(),
        privacy,
    })
}
