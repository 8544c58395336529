//! Member and Admin events: joins, profile and role changes, manual point adjustments with a
//! required reason, hand-awarded custom badges, and settings changes. The service checks who may call these;
//! the engine checks again (only an Admin) and refuses with a notice otherwise.

use super::Ctx;
use crate::badges::{BuiltinBadge, ONCE};
use crate::event::{
    BadgeGranted, MemberJoined, PointsAdjusted, ProfileChanged, RoleChanged, SettingsChanged,
};
use crate::ids::{MemberId, MemberInfo, Role};
use crate::ledger::{EntryKind, IdempotencyKey, LedgerEntry, Source};
use crate::outcome::{FeedKind, MemberChange, NoticeKind};
use crate::points::Points;
use crate::settings::SettingsError;
use crate::state::StateView;

fn is_admin<S: StateView + ?Sized>(cx: &Ctx<'_, S>, id: &MemberId) -> bool {
    cx.state.member(id).is_some_and(|m| m.role == Role::Admin)
}

fn refuse<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, to: &MemberId, reason: &str) {
    cx.notify(
        to,
        NoticeKind::Refused {
            reason: reason.to_owned(),
        },
    );
}

pub(super) fn joined<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, e: &MemberJoined) {
    // A re-join keeps the member's existing role.
    if cx.state.member(&e.member).is_none() {
        cx.out.members.push(MemberChange {
            member: e.member.clone(),
            info: MemberInfo {
                role: e.role,
                kind: e.kind,
            },
        });
    }
}

pub(super) fn profile_changed<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, e: &ProfileChanged) {
    let before = cx.state.member(&e.member);
    let info = MemberInfo {
        kind: e.kind,
        ..before.unwrap_or_default()
    };
    if before != Some(info) {
        cx.out.members.push(MemberChange {
            member: e.member.clone(),
            info,
        });
    }
}

pub(super) fn role_changed<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, e: &RoleChanged) {
    if let Some(by) = &e.by {
        if !is_admin(cx, by) {
            return refuse(cx, by, "only an Admin can change roles");
        }
    }
    let before = cx.state.member(&e.member);
    let info = MemberInfo {
        role: e.role,
        ..before.unwrap_or_default()
    };
    if before != Some(info) {
        cx.out.members.push(MemberChange {
            member: e.member.clone(),
            info,
        });
    }
}

pub(super) fn points_adjusted<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, e: &PointsAdjusted) {
    let key = IdempotencyKey::new(
        &Source::Adjustment(&e.adjustment_id),
        &e.member,
        0,
        EntryKind::Adjustment,
    );
    if cx.state.has_entry(&key) {
        return;
    }
    if !is_admin(cx, &e.by) {
        return refuse(cx, &e.by, "only an Admin can adjust points");
    }
    let reason = e.reason.trim();
    if reason.is_empty() {
        return refuse(cx, &e.by, "an adjustment needs a reason");
    }
    if e.amount == Points::ZERO {
        return refuse(cx, &e.by, "an adjustment of 0 changes nothing");
    }
    cx.out.entries.push(LedgerEntry {
        key,
        kind: EntryKind::Adjustment,
        member: e.member.clone(),
        amount: e.amount,
        giver: Some(e.by.clone()),
        giver_role: Some(Role::Admin),
        quota_day: None,
        iso_week: None,
        quota_units: 0,
        fire_units: 0,
        platform_message_id: None,
        reason: Some(reason.to_owned()),
        occurred_at: e.occurred_at,
    });
    cx.feed_member(
        &e.member,
        e.occurred_at,
        FeedKind::PointsAdjusted {
            amount: e.amount,
            reason: reason.to_owned(),
        },
    );
}

pub(super) fn badge_granted<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, e: &BadgeGranted) {
    if cx.state.has_badge(&e.member, &e.badge, ONCE) {
        return;
    }
    if !is_admin(cx, &e.by) {
        return refuse(cx, &e.by, "only an Admin can award badges by hand");
    }
    if BuiltinBadge::from_id(&e.badge).is_some() {
        return refuse(
            cx,
            &e.by,
            "built-in badges are won by their rule, not by hand",
        );
    }
    if !cx.settings.custom_badges.iter().any(|b| b.id == e.badge) {
        return refuse(cx, &e.by, "no such badge in this community");
    }
    if !cx.settings.badge_enabled(&e.badge) {
        return refuse(cx, &e.by, "this badge is disabled");
    }
    if !cx.member(&e.member).is_student() {
        return refuse(cx, &e.by, "only students can win badges");
    }
    super::award_badge(cx, &e.member, &e.badge, ONCE, Some(&e.by), e.occurred_at);
}

pub(super) fn settings_changed<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, e: &SettingsChanged) {
    if !is_admin(cx, &e.by) {
        return refuse(cx, &e.by, "only an Admin can change settings");
    }
    if let Err(problem) = e.settings.validate() {
        let reason = match problem {
            SettingsError::Invalid { field, problem } => format!("setting `{field}`: {problem}"),
            SettingsError::Json(_) => "the settings are not valid".to_owned(),
        };
        return refuse(cx, &e.by, &reason);
    }
    if &e.settings != cx.settings {
        cx.out.settings = Some(e.settings.clone());
    }
}
