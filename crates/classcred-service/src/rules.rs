//! Custom reward rules for the dashboard and the API: listing, saving (create, change, enable,
//! disable) and the **preview against the past**.
//!
//! Saving is an engine event (`RuleSaved`) stored in the inbox with an audit entry and
//! processed at once, like the store's item changes; the engine checks the role and the
//! version (a save made from an older version is refused) against the state read in the
//! processing transaction. The checks made here first only turn the common refusals into
//! form errors.
//!
//! The preview replays the community's processed history (the inbox in processing order, the
//! same way `ledger replay` does) through the engine in memory with the candidate rule enabled
//! from the start, and reports per member what it would have awarded.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use classcred_engine::{
    close_week, BadgeId, CommunitySettings, Event, MemberId, Points, RewardRule, RulePreviewer,
    RuleSaved,
};
use classcred_store::audit::AuditRecord;
use classcred_store::{CommunityId, MemberKind, MemberRowId, Role, Store};
use serde::Serialize;
use serde_json::json;

use crate::changes::{Change, ChangeError, CHANGE_PLATFORM};
use crate::{
    drain, ingest, map_members, settings, without_non_members, Payload, Result, ServiceError,
};

/// A rule with its sentence and what it awarded so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleView {
    #[serde(flatten)]
    pub rule: RewardRule,
    /// The rule in plain language.
    pub sentence: String,
    /// When it was created and last changed (ms since the epoch).
    pub created_at: i64,
    pub updated_at: i64,
    /// Points it awarded so far, and to how many members.
    pub awarded: Points,
    pub awarded_members: u32,
}

/// The fields of a rule form, already parsed (the service adds the id and the version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInput {
    pub trigger: classcred_engine::Trigger,
    pub condition: Option<classcred_engine::Condition>,
    pub award: classcred_engine::RuleAward,
    pub cap: Option<classcred_engine::Cap>,
    pub enabled: bool,
}

/// One member's line of a preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreviewLine {
    pub member_id: String,
    /// The member's name to show ("former member" once erased or unknown).
    pub name: String,
    pub points: Points,
    pub badges: Vec<BadgeId>,
    pub awards: u32,
    /// Times the cap stopped an award.
    pub capped: u32,
}

/// What a rule would have awarded over the community's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreviewReport {
    /// The rule in plain language.
    pub sentence: String,
    /// Events replayed.
    pub events: usize,
    /// Members, most points first (then by name).
    pub members: Vec<PreviewLine>,
    /// Sum of the points.
    pub total_points: Points,
}

/// The plain-language sentence of a rule, naming badges by the settings.
pub fn sentence(rule: &RewardRule, settings: &CommunitySettings) -> String {
    rule.sentence(|b| classcred_engine::badges::badge_name(settings, b))
}

fn invalid(field: &str, message: impl Into<String>) -> ChangeError {
    ChangeError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// Every rule of the community, oldest first.
pub async fn rules(store: &Store, community_id: &CommunityId) -> Result<Vec<RuleView>> {
    let mut tx = store.begin().await?;
    let s = settings(&mut tx, community_id).await?;
    let mut scoped = tx.for_community(community_id);
    let rows = scoped.reward_rules().await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let rule: RewardRule = serde_json::from_str(&r.record)?;
        let totals = scoped.rule_award_totals(&r.rule_id).await?;
        out.push(RuleView {
            sentence: sentence(&rule, &s),
            rule,
            created_at: r.created_at,
            updated_at: r.updated_at,
            awarded: Points::from_thousandths(totals.iter().map(|t| t.1).sum()),
            awarded_members: u32::try_from(totals.len()).unwrap_or(u32::MAX),
        });
    }
    tx.rollback().await?;
    Ok(out)
}

/// One rule.
pub async fn rule(
    store: &Store,
    community_id: &CommunityId,
    rule_id: &str,
) -> Result<Option<RewardRule>> {
    let mut tx = store.begin().await?;
    tx.community(community_id).await?;
    let json = tx
        .for_community(community_id)
        .reward_rule_record(rule_id)
        .await?;
    tx.rollback().await?;
    Ok(match json {
        Some(j) => Some(serde_json::from_str(&j)?),
        None => None,
    })
}

/// The candidate rule a form makes: a new one (`rule_id` `None`, version 1) or the next
/// version of `rule_id`, which the form was made from `base_version` of. Validated against the
/// community's settings.
pub async fn candidate(
    store: &Store,
    community_id: &CommunityId,
    rule_id: Option<&str>,
    base_version: Option<u32>,
    input: &RuleInput,
) -> std::result::Result<RewardRule, ChangeError> {
    let mut tx = store.begin().await?;
    let s = settings(&mut tx, community_id).await?;
    let version = match rule_id {
        Some(id) => {
            let json = tx
                .for_community(community_id)
                .reward_rule_record(id)
                .await?
                .ok_or(ChangeError::NotFound)?;
            let before: RewardRule = serde_json::from_str(&json).map_err(ServiceError::from)?;
            if base_version.is_some_and(|v| v != before.version) {
                return Err(invalid(
                    "version",
                    "this rule was changed meanwhile; reload the page and make your change again",
                ));
            }
            before.version.saturating_add(1)
        }
        None => 1,
    };
    tx.rollback().await?;
    let rule = RewardRule {
        rule_id: rule_id.map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_string),
        version,
        trigger: input.trigger,
        condition: input.condition.clone(),
        award: input.award.clone(),
        cap: input.cap,
        enabled: input.enabled,
        enabled_since: None,
    };
    rule.validate(&s).map_err(|e| invalid(e.field, e.message))?;
    Ok(rule)
}

/// Save a rule made by [`candidate`] (create, change, enable or disable). `by` must be an
/// Admin or Instructor. Returns the rule id and whether the change is in effect.
pub async fn save_rule(
    store: &Store,
    community_id: &CommunityId,
    by: &MemberRowId,
    rule: &RewardRule,
    now: DateTime<Utc>,
) -> std::result::Result<Change, ChangeError> {
    let mut tx = store.begin().await?;
    tx.community(community_id).await?;
    let mut scoped = tx.for_community(community_id);
    match scoped.member_role_kind(by).await? {
        Some((Role::Admin | Role::Instructor, MemberKind::Human)) => {}
        Some(_) => return Err(ChangeError::Forbidden),
        None => return Err(ChangeError::NotFound),
    }
    let staff = scoped
        .platform_user_id(by)
        .await?
        .ok_or(ChangeError::NotFound)?;
    let before: Option<RewardRule> = match scoped.reward_rule_record(&rule.rule_id).await? {
        Some(j) => Some(serde_json::from_str(&j).map_err(ServiceError::from)?),
        None => None,
    };
    if before.as_ref().is_some_and(|b| b.same_as(rule)) {
        tx.rollback().await?;
        return Ok(Change {
            event_id: None,
            applied: true,
        });
    }
    let expected = before.as_ref().map_or(1, |b| b.version.saturating_add(1));
    if rule.version != expected {
        return Err(invalid(
            "version",
            "this rule was changed meanwhile; reload the page and make your change again",
        ));
    }
    let event_id = format!("reward_rule:{}", uuid::Uuid::now_v7());
    let event = Event::RuleSaved(RuleSaved {
        rule: rule.clone(),
        by: MemberId::new(staff),
        occurred_at: now,
    });
    ingest(&mut tx, community_id, CHANGE_PLATFORM, &event_id, &event).await?;
    tx.audit(&AuditRecord {
        community_id: Some(community_id.clone()),
        actor: format!("member:{by}"),
        action: match &before {
            None => "rules.create".into(),
            Some(b) if b.enabled != rule.enabled && rule.enabled => "rules.enable".into(),
            Some(b) if b.enabled != rule.enabled => "rules.disable".into(),
            Some(_) => "rules.change".into(),
        },
        subject: Some(format!("reward_rule:{}", rule.rule_id)),
        details: json!({ "event_id": event_id, "version": rule.version }),
    })
    .await?;
    tx.commit().await?;
    if let Err(e) = drain(store, community_id).await {
        tracing::warn!(community_id = %community_id, error = %e, "rule change stored; processing it now failed, a worker retries");
    }
    let stored = rule_now(store, community_id, &rule.rule_id).await?;
    Ok(Change {
        event_id: Some(event_id),
        applied: stored.as_ref().is_some_and(|s| s.same_as(rule)),
    })
}

async fn rule_now(
    store: &Store,
    community_id: &CommunityId,
    rule_id: &str,
) -> Result<Option<RewardRule>> {
    rule(store, community_id, rule_id).await
}

/// Most processed events a preview replays (beyond it, the preview says so and stops).
pub const MAX_PREVIEW_EVENTS: usize = 250_000;

/// What `rule` would have awarded had it been enabled from the start of the community's
/// processed history. Read-only; nothing is stored.
pub async fn preview(
    store: &Store,
    community_id: &CommunityId,
    rule: &RewardRule,
) -> Result<PreviewReport> {
    let mut tx = store.begin().await?;
    let current = settings(&mut tx, community_id).await?;
    let mut scoped = tx.for_community(community_id);
    let community = scoped.community(community_id).await?;
    let mut s = CommunitySettings::from_json(&community.initial_settings_json).map_err(|e| {
        ServiceError::Settings {
            community_id: community_id.to_string(),
            problem: format!("initial settings: {e}"),
        }
    })?;
    let events = scoped.processed_events().await?;
    let ids: HashMap<MemberId, MemberId> = scoped
        .member_ids_by_platform()
        .await?
        .into_iter()
        .map(|(p, m)| (MemberId::new(p), MemberId::new(m)))
        .collect();
    let members = match scoped.list_members().await {
        Ok(members) => members,
        Err(classcred_store::StoreError::Erased { .. }) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let names: HashMap<String, String> = members
        .iter()
        .filter(|m| !m.platform_user_id.starts_with("erased:"))
        .map(|m| (m.id.to_string(), crate::dashboard::display_name(m)))
        .collect();
    tx.rollback().await?;

    // As in `ledger replay`: who is a member at each point of the processing order.
    let mut previewer = RulePreviewer::new(rule);
    let mut joined: HashSet<MemberId> = HashSet::new();
    let mut payloads = Vec::with_capacity(events.len().min(MAX_PREVIEW_EVENTS));
    for e in events.iter().take(MAX_PREVIEW_EVENTS) {
        let p = serde_json::from_slice::<Payload>(&e.payload)?;
        if let Payload::Event(Event::MemberJoined(j)) = &p {
            joined.insert(j.member.clone());
        }
        payloads.push(p);
    }
    drop(events);
    // Members without a joining event in the history (created before joins were recorded)
    // start with their role as stored; the others get theirs from the events.
    previewer.apply_outcome(&classcred_engine::Outcome {
        members: members
            .iter()
            .filter(|m| !joined.contains(&MemberId::new(m.platform_user_id.clone())))
            .map(|m| classcred_engine::MemberChange {
                member: MemberId::new(m.id.to_string()),
                info: classcred_engine::MemberInfo {
                    role: crate::state::engine_role(m.role),
                    kind: crate::state::engine_kind(m.kind),
                },
            })
            .collect(),
        ..classcred_engine::Outcome::default()
    });
    let mut present: HashSet<MemberId> = ids
        .keys()
        .filter(|p| !joined.contains(*p))
        .cloned()
        .collect();
    for payload in &payloads {
        match payload {
            Payload::Event(event) => {
                if let Event::MemberJoined(j) = event {
                    present.insert(j.member.clone());
                }
                if let Some(e) = without_non_members(event, |p| present.contains(p)) {
                    if let Some(changed) = previewer.process(&s, &map_members(&e, &ids)).settings {
                        s = changed;
                    }
                }
            }
            Payload::CloseWeek(c) => {
                let outcome = close_week(&s, previewer.state(), c.close_week, c.at)?;
                previewer.apply_outcome(&outcome);
            }
        }
    }
    let result = previewer.finish();
    let mut members: Vec<PreviewLine> = result
        .members
        .into_iter()
        .map(|(m, row)| PreviewLine {
            name: names
                .get(m.as_str())
                .cloned()
                .unwrap_or_else(|| "former member".into()),
            member_id: m.to_string(),
            points: row.points,
            badges: row.badges,
            awards: row.awards,
            capped: row.capped,
        })
        .collect();
    members.sort_by(|a, b| b.points.cmp(&a.points).then_with(|| a.name.cmp(&b.name)));
    Ok(PreviewReport {
        sentence: sentence(rule, &current),
        events: payloads.len(),
        total_points: members.iter().fold(Points::ZERO, |acc, l| acc + l.points),
        members,
    })
}

/// The stored rules, for `ledger replay` to compare with the replayed ones.
pub(crate) async fn stored_for_replay(
    tx: &mut classcred_store::CommunityTx<'_, '_>,
) -> Result<Vec<RewardRule>> {
    tx.reward_rules()
        .await?
        .iter()
        .map(|r| Ok(serde_json::from_str(&r.record)?))
        .collect()
}

/// Differences between the stored rules and the replayed ones (ids only).
pub(crate) fn compare_replay(
    diffs: &mut Vec<String>,
    stored: &[RewardRule],
    mem: &classcred_engine::InMemoryState,
) {
    let replayed = mem.rules();
    for s in stored {
        match replayed.iter().find(|r| r.rule_id == s.rule_id) {
            None => diffs.push(format!(
                "reward rule {} is stored but replay does not produce it",
                s.rule_id
            )),
            Some(r) if *r != s => diffs.push(format!(
                "reward rule {}: stored version {}, replayed version {} (or the definitions differ)",
                s.rule_id, s.version, r.version
            )),
            Some(_) => {}
        }
    }
    for r in replayed {
        if !stored.iter().any(|s| s.rule_id == r.rule_id) {
            diffs.push(format!(
                "reward rule {} is produced by replay but not stored",
                r.rule_id
            ));
        }
    }
}
