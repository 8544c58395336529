//! Settings and role changes, and badges awarded by hand, made by an Admin (dashboard, CLI, demo).
//!
//! Each change is checked here (the acting member is an Admin of the community, the target
//! exists there, the new settings validate, the last Admin stays an Admin), then stored as an
//! engine event in the inbox with an audit entry, in one transaction, and processed like every
//! other event: the engine checks the Admin again and the processing transaction writes the new
//! settings or role. So `ledger replay` reproduces the ledger after a mid-course change.
//!
//! Errors are typed for forms: [`ChangeError::field`] names the form field a message belongs to.
//! Nothing is written when a change is refused.

use chrono::{DateTime, Utc};
use classcred_engine::{
    BadgeGranted, BadgeId, CommunitySettings, Event, MemberId, RoleChanged, SettingsChanged,
};
use classcred_store::audit::AuditRecord;
use classcred_store::{CommunityId, CommunityTx, MemberKind, MemberRowId, Role, Store, StoreError};
use serde_json::{json, Value};

use crate::{drain, ingest, settings, state, ServiceError};

/// The inbox `platform` of changes made through ClassCred itself (not a chat platform).
pub const CHANGE_PLATFORM: &str = "classcred";

/// A change that was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The inbox delivery id of the event (`None`: nothing to change, nothing stored).
    pub event_id: Option<String>,
    /// Whether the change is already in effect. `false` when processing stopped before it
    /// (an older event waits for member resolution, or processing failed): the event stays in
    /// the inbox and a worker applies it later, in order.
    pub applied: bool,
}

/// Why a change was refused. Nothing was stored.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// A value the rules do not allow; `field` is the setting's dotted path
    /// (`daily_quota`, `gift_tax.brackets[1].rate_percent`, …) or `role`.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// The acting member is not an Admin of this community.
    #[error("only an Admin of this community can do this")]
    Forbidden,
    /// No such community, or the member is not one of its members.
    #[error("no such community or member")]
    NotFound,
    /// The change would leave the community without an Admin.
    #[error("the community must keep at least one Admin")]
    LastAdmin,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl ChangeError {
    /// The form field the error belongs next to, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            ChangeError::Invalid { field, .. } => Some(field),
            ChangeError::LastAdmin => Some("role"),
            _ => None,
        }
    }
}

impl From<StoreError> for ChangeError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => ChangeError::NotFound,
            other => ChangeError::Service(ServiceError::Store(other)),
        }
    }
}

/// Replace a community's settings. `by` must be an Admin of the community; `new` must
/// validate. Returns once the change is stored (and, normally, processed).
pub async fn change_settings(
    store: &Store,
    community_id: &CommunityId,
    by: &MemberRowId,
    new: CommunitySettings,
    now: DateTime<Utc>,
) -> Result<Change, ChangeError> {
    let mut tx = store.begin().await?;
    tx.community(community_id).await?;
    let admin = acting_admin(&mut tx.for_community(community_id), by).await?;
    new.validate().map_err(|e| match e {
        classcred_engine::SettingsError::Invalid { field, problem } => ChangeError::Invalid {
            field,
            message: problem,
        },
        classcred_engine::SettingsError::Json(problem) => ChangeError::Invalid {
            field: "settings".into(),
            message: problem,
        },
    })?;
    let current = settings(&mut tx, community_id).await?;
    let changed = changed_fields(&current, &new).map_err(ServiceError::from)?;
    if changed.is_empty() {
        tx.rollback().await?;
        return Ok(Change {
            event_id: None,
            applied: true,
        });
    }
    let event_id = format!("settings:{}", uuid::Uuid::now_v7());
    let event = Event::SettingsChanged(SettingsChanged {
        settings: new.clone(),
        by: MemberId::new(admin),
        occurred_at: now,
    });
    ingest(&mut tx, community_id, CHANGE_PLATFORM, &event_id, &event).await?;
    tx.audit(&AuditRecord {
        community_id: Some(community_id.clone()),
        actor: format!("member:{by}"),
        action: "settings.change".into(),
        subject: Some(format!("community:{community_id}")),
        details: json!({ "event_id": event_id, "changed": changed }),
    })
    .await?;
    tx.commit().await?;
    settle(store, community_id).await;
    let mut tx = store.begin().await?;
    let applied = settings(&mut tx, community_id).await? == new;
    tx.rollback().await?;
    Ok(Change {
        event_id: Some(event_id),
        applied,
    })
}

/// Give a member of the community another role. `by` must be an Admin of the community; the
/// last Admin cannot be demoted; bots and apps keep their role.
pub async fn change_role(
    store: &Store,
    community_id: &CommunityId,
    by: &MemberRowId,
    member: &MemberRowId,
    role: Role,
    now: DateTime<Utc>,
) -> Result<Change, ChangeError> {
    let mut tx = store.begin().await?;
    tx.community(community_id).await?;
    let mut scoped = tx.for_community(community_id);
    let admin = acting_admin(&mut scoped, by).await?;
    let (current, kind) = scoped
        .member_role_kind(member)
        .await?
        .ok_or(ChangeError::NotFound)?;
    let target = scoped
        .platform_user_id(member)
        .await?
        .ok_or(ChangeError::NotFound)?;
    if current == role {
        tx.rollback().await?;
        return Ok(Change {
            event_id: None,
            applied: true,
        });
    }
    if kind != MemberKind::Human {
        return Err(ChangeError::Invalid {
            field: "role".into(),
            message: "bots and apps cannot be given a role".into(),
        });
    }
    if current == Role::Admin && scoped.count_members_with_role(Role::Admin).await? <= 1 {
        return Err(ChangeError::LastAdmin);
    }
    let event_id = format!("role:{}", uuid::Uuid::now_v7());
    let event = Event::RoleChanged(RoleChanged {
        member: MemberId::new(target),
        role: state::engine_role(role),
        by: Some(MemberId::new(admin)),
        occurred_at: now,
    });
    ingest(&mut tx, community_id, CHANGE_PLATFORM, &event_id, &event).await?;
    tx.audit(&AuditRecord {
        community_id: Some(community_id.clone()),
        actor: format!("member:{by}"),
        action: "member.role_change".into(),
        subject: Some(format!("member:{member}")),
        details: json!({ "event_id": event_id, "from": current.as_str(), "to": role.as_str() }),
    })
    .await?;
    tx.commit().await?;
    settle(store, community_id).await;
    let mut tx = store.begin().await?;
    let now_role = tx
        .for_community(community_id)
        .member_role_kind(member)
        .await?;
    tx.rollback().await?;
    Ok(Change {
        event_id: Some(event_id),
        applied: now_role.is_some_and(|(r, _)| r == role),
    })
}

/// Award one of the community's own badges (`custom_badges`) to a student by hand. The same
/// checks as the engine's, so a refusal is a message next to the form's field (`badge` or
/// `member`) instead of a notice after processing. A badge the student already holds is no
/// change (nothing stored).
pub async fn grant_badge(
    store: &Store,
    community_id: &CommunityId,
    by: &MemberRowId,
    member: &MemberRowId,
    badge: &str,
    now: DateTime<Utc>,
) -> Result<Change, ChangeError> {
    let mut tx = store.begin().await?;
    let current = settings(&mut tx, community_id).await?;
    let mut scoped = tx.for_community(community_id);
    let admin = acting_admin(&mut scoped, by).await?;
    let invalid = |field: &str, message: &str| ChangeError::Invalid {
        field: field.into(),
        message: message.into(),
    };
    if !current.custom_badges.iter().any(|b| b.id.as_str() == badge) {
        return Err(invalid("badge", "Choose one of this class's own badges."));
    }
    if !current.badge_enabled(&BadgeId::new(badge)) {
        return Err(invalid(
            "badge",
            "This badge is switched off; switch it on first.",
        ));
    }
    let (role, kind) = scoped
        .member_role_kind(member)
        .await?
        .ok_or(ChangeError::NotFound)?;
    if role != Role::Student || kind != MemberKind::Human {
        return Err(invalid("member", "Only students can receive badges."));
    }
    let target = scoped
        .platform_user_id(member)
        .await?
        .ok_or(ChangeError::NotFound)?;
    let holds = |rows: &[classcred_store::recognition::BadgeRow]| {
        rows.iter()
            .any(|b| &b.member_id == member && b.badge_id == badge)
    };
    if holds(&scoped.badges().await?) {
        tx.rollback().await?;
        return Ok(Change {
            event_id: None,
            applied: true,
        });
    }
    let event_id = format!("badge:{}", uuid::Uuid::now_v7());
    let event = Event::BadgeGranted(BadgeGranted {
        by: MemberId::new(admin),
        member: MemberId::new(target),
        badge: BadgeId::new(badge),
        occurred_at: now,
    });
    ingest(&mut tx, community_id, CHANGE_PLATFORM, &event_id, &event).await?;
    tx.audit(&AuditRecord {
        community_id: Some(community_id.clone()),
        actor: format!("member:{by}"),
        action: "member.badge_grant".into(),
        subject: Some(format!("member:{member}")),
        details: json!({ "event_id": event_id, "badge": badge }),
    })
    .await?;
    tx.commit().await?;
    settle(store, community_id).await;
    let mut tx = store.begin().await?;
    let applied = holds(&tx.for_community(community_id).badges().await?);
    tx.rollback().await?;
    Ok(Change {
        event_id: Some(event_id),
        applied,
    })
}

/// The platform user id of `by`, when it is an Admin of the community.
async fn acting_admin(
    tx: &mut CommunityTx<'_, '_>,
    by: &MemberRowId,
) -> Result<String, ChangeError> {
    match tx.member_role_kind(by).await? {
        Some((Role::Admin, _)) => {}
        Some(_) => return Err(ChangeError::Forbidden),
        None => return Err(ChangeError::NotFound),
    }
    tx.platform_user_id(by).await?.ok_or(ChangeError::NotFound)
}

/// Process the community's inbox now, so the change is in effect when the caller answers.
/// A failure is not the change's failure (it is stored; a worker retries), so it is logged.
pub(crate) async fn settle(store: &Store, community_id: &CommunityId) {
    if let Err(e) = drain(store, community_id).await {
        tracing::warn!(community_id = %community_id, error = %e, "change stored; processing it now failed, a worker retries");
    }
}

/// The platform user id of `by`, when it is an Admin or Instructor (a person) of the
/// community: who may change the store, polls and the like.
pub(crate) async fn acting_staff(
    tx: &mut CommunityTx<'_, '_>,
    by: &MemberRowId,
) -> std::result::Result<String, ChangeError> {
    match tx.member_role_kind(by).await? {
        Some((Role::Admin | Role::Instructor, MemberKind::Human)) => {}
        Some(_) => return Err(ChangeError::Forbidden),
        None => return Err(ChangeError::NotFound),
    }
    tx.platform_user_id(by).await?.ok_or(ChangeError::NotFound)
}

/// The settings that differ, by name (`daily_quota`, `gift_tax.enabled`, …): what the audit
/// entry records. Names only, never values.
fn changed_fields(
    old: &CommunitySettings,
    new: &CommunitySettings,
) -> Result<Vec<String>, serde_json::Error> {
    let mut out = Vec::new();
    diff(
        "",
        &serde_json::to_value(old)?,
        &serde_json::to_value(new)?,
        &mut out,
    );
    Ok(out)
}

fn diff(prefix: &str, old: &Value, new: &Value, out: &mut Vec<String>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                diff(
                    &name,
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (a, b) if a != b => out.push(prefix.to_string()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_fields_are_named_by_path() {
        let old = CommunitySettings::default();
        let mut new = old.clone();
        new.daily_quota = 8;
        new.gift_tax.enabled = false;
        assert_eq!(
            changed_fields(&old, &new).unwrap(),
            vec!["daily_quota".to_string(), "gift_tax.enabled".to_string()]
        );
        assert!(changed_fields(&old, &old).unwrap().is_empty());
    }
}
