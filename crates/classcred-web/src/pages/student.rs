//! `GET /dashboard/students/{member_id}` (staff, or the student themself): one member's page
//! from `classcred_service::dashboard::profile`: figures (points, level, today's quota use),
//! badges, fire received and given with the feedback text and the other person, and their
//! feed. The read model writes one audit entry when someone other than the member opens it,
//! and the page says so. A student opening someone else's page gets 403; an id that is not a
//! member of the viewer's class gets 404 (for everyone, and before the role check, so a
//! student learns nothing more than "not here").

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use classcred_engine::{FeedKind, Points, Timezone};
use classcred_service::dashboard::{self, FeedEntry, FireWithFeedback, Profile};

use super::badge_award::{self, AwardForm, Flash};
use super::chat_text;
use super::overview::profile_href;
use super::{render, role_label, Chrome};
use crate::extract::{member_id_from_path, Viewer};
use crate::{WebError, WebState};

/// Names of the class's members, by member id and by platform user id.
struct People {
    by_member_id: HashMap<String, String>,
    by_platform_id: HashMap<String, String>,
}

impl People {
    /// Message text as a person reads it (see `chat_text`).
    fn readable(&self, text: &str) -> String {
        chat_text::readable(text, &self.by_platform_id)
    }
}

/// A fire exchange as a table row.
pub struct FireRow {
    pub when: String,
    pub other_name: String,
    pub other_href: String,
    pub fires: i64,
    /// `None`: a 🔥 reaction, no message text.
    pub feedback: Option<String>,
}

/// A feed item in words.
pub struct FeedLine {
    pub when: String,
    pub what: String,
}

#[derive(Template)]
#[template(path = "student.html")]
struct StudentPage {
    chrome: Chrome,
    name: String,
    role: &'static str,
    earned: String,
    spendable: String,
    level_name: String,
    last_activity: String,
    quota_used: i64,
    quota_limit: Option<u32>,
    badges: Vec<String>,
    received: Vec<FireRow>,
    given: Vec<FireRow>,
    feed: Vec<FeedLine>,
    /// Someone other than the member is reading: the read is in the audit log.
    audited: bool,
    own_page: bool,
    /// An Admin's form to award one of the class's own badges (students only).
    award: Option<AwardForm>,
    /// An Admin's "Request erasure" button (issue 9).
    erase: Option<super::erasures::EraseButton>,
}

/// `?badge=awarded|held`: the outcome of the badge form, after its redirect.
#[derive(serde::Deserialize)]
pub struct PageQuery {
    badge: Option<String>,
}

pub async fn page(
    State(state): State<WebState>,
    viewer: Viewer,
    Path(member_id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, WebError> {
    let subject = member_id_from_path(&member_id)?;
    let flash = match q.badge.as_deref() {
        Some("awarded") => Some(Flash::Done("Badge awarded.")),
        Some("held") => Some(Flash::Done("They already hold that badge.")),
        _ => None,
    };
    show(&state, &viewer, &subject, flash).await
}

/// The page of `subject` for `viewer`, with the badge form's outcome when there is one.
pub(crate) async fn show(
    state: &WebState,
    viewer: &Viewer,
    subject: &classcred_store::MemberRowId,
    flash: Option<Flash>,
) -> Result<Response, WebError> {
    let subject = subject.clone();
    let own_page = subject == viewer.member_id;
    let mut tx = state.store.begin().await?;
    let mut scoped = tx.for_community(&viewer.community_id);
    let exists = scoped.platform_user_id(&subject).await?.is_some();
    let settings = classcred_service::settings(&mut tx, &viewer.community_id).await?;
    tx.commit().await?;
    if !exists {
        return Err(WebError::NotFound);
    }
    if !viewer.is_staff() && !own_page {
        return Err(WebError::Forbidden);
    }
    let now = state.store.clock().now();
    let profile = dashboard::profile(
        &state.store,
        &viewer.community_id,
        &viewer.member_id,
        &subject,
        now,
    )
    .await?
    .ok_or(WebError::NotFound)?;
    // Member ids in feed payloads and platform ids in message mentions → names (the feed
    // stores ids, never names; a message says `<@U123>`).
    let roster = dashboard::members(&state.store, &viewer.community_id).await?;
    let names = People {
        by_member_id: roster
            .iter()
            .map(|m| (m.member_id.to_string(), m.name.clone()))
            .collect(),
        by_platform_id: roster
            .iter()
            .map(|m| (m.platform_user_id.clone(), m.name.clone()))
            .collect(),
    };
    let title = profile.member.name.clone();
    let chrome = Chrome::for_viewer(viewer, &title, "/dashboard/students");
    let mut page = build(chrome, &profile, &settings.timezone, &names, own_page);
    page.award = badge_award::form(viewer, &settings, &profile, flash.as_ref());
    page.erase = super::erasures::button(viewer, &subject);
    let status = match flash {
        Some(Flash::Refused(_)) => axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        _ => axum::http::StatusCode::OK,
    };
    let mut response = render(&page)?;
    *response.status_mut() = status;
    Ok(response)
}

fn when(at: Option<DateTime<Utc>>, tz: &Timezone) -> String {
    at.map(|t| {
        t.with_timezone(&tz.tz())
            .format("%a %-d %b %Y, %H:%M")
            .to_string()
    })
    .unwrap_or_default()
}

fn fire_rows(rows: &[FireWithFeedback], tz: &Timezone, people: &People) -> Vec<FireRow> {
    rows.iter()
        .map(|r| FireRow {
            when: when(r.occurred_at, tz),
            other_name: r.other.name.clone(),
            other_href: profile_href(&r.other.member_id),
            fires: r.fires,
            feedback: r
                .feedback
                .as_deref()
                .filter(|t| !t.trim().is_empty())
                .map(|t| people.readable(t)),
        })
        .collect()
}

/// One feed item as a sentence, naming people (never showing platform ids).
fn feed_line(
    entry: &FeedEntry,
    tz: &Timezone,
    people: &People,
    badges: &HashMap<&str, &str>,
) -> FeedLine {
    let name = |id: &str| {
        people
            .by_member_id
            .get(id)
            .cloned()
            .unwrap_or_else(|| "a former member".to_owned())
    };
    let fires = |n: u32| {
        if n == 1 {
            "1 fire".to_owned()
        } else {
            format!("{n} fires")
        }
    };
    let what = match serde_json::from_value::<FeedKind>(entry.payload.clone()) {
        Ok(FeedKind::FireReceived {
            from, units, gross, ..
        }) => {
            format!(
                "Received {} from {} (+{gross} before tax)",
                fires(units),
                name(from.as_str())
            )
        }
        Ok(FeedKind::Taxed { from, amount, week }) => {
            format!(
                "Gift tax of {amount} on fire from {} (week {week})",
                name(from.as_str())
            )
        }
        Ok(FeedKind::FireReversed {
            from,
            units,
            amount,
            ..
        }) => format!(
            "{} from {} taken back (edited, deleted or reaction removed): −{amount}",
            fires(units),
            name(from.as_str())
        ),
        Ok(FeedKind::BadgeWon { badge, .. }) => format!(
            "Won the badge “{}”",
            badges
                .get(badge.as_str())
                .copied()
                .unwrap_or(badge.as_str())
        ),
        Ok(FeedKind::LevelUp { name: level, .. }) => format!("Reached the level “{level}”"),
        Ok(FeedKind::PointsAdjusted { amount, reason }) => {
            format!("Points adjusted by an Admin: {amount} ({reason})")
        }
        Ok(FeedKind::Recognition {
            recipients, units, ..
        }) => format!(
            "Gave {} to {}",
            fires(units),
            recipients
                .iter()
                .map(|r| name(r.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Ok(FeedKind::Purchase {
            member,
            item,
            price,
            status,
            ..
        }) => format!(
            "{} bought “{item}” for {price} points{}",
            name(member.as_str()),
            if status == classcred_engine::PurchaseStatus::Pending {
                " (waiting for approval)"
            } else {
                ""
            }
        ),
        Ok(FeedKind::PurchaseApproved { member, item, .. }) => {
            format!("Purchase of “{item}” by {} approved", name(member.as_str()))
        }
        Ok(FeedKind::PurchaseRefunded {
            member,
            item,
            amount,
            status,
            ..
        }) => format!(
            "{amount} points refunded to {} for “{item}” ({})",
            name(member.as_str()),
            status.as_str()
        ),
        Ok(FeedKind::QuestionAsked { asker, .. }) => {
            format!("{} asked a question", name(asker.as_str()))
        }
        Ok(FeedKind::QuestionAnswered { author, .. }) => {
            format!("{} answered a question", name(author.as_str()))
        }
        Ok(FeedKind::AnswerAccepted { author, reward, .. }) => {
            if reward > Points::ZERO {
                format!("Answer by {} accepted (+{reward})", name(author.as_str()))
            } else {
                format!("Answer by {} accepted", name(author.as_str()))
            }
        }
        Ok(FeedKind::AnswerRewardReversed { amount, .. }) => {
            format!("Reward for an accepted answer taken back: −{amount}")
        }
        Ok(FeedKind::PollCreated { kind, by, .. }) => {
            format!("{} posted a {}", name(by.as_str()), kind.as_str())
        }
        Ok(FeedKind::PollClosed { kind, .. }) => format!("A {} closed", kind.as_str()),
        Ok(FeedKind::Voted {
            member,
            kind,
            option,
            ..
        }) => match kind {
            classcred_engine::PollKind::Poll => {
                format!(
                    "{} voted in a poll (option {})",
                    name(member.as_str()),
                    option + 1
                )
            }
            classcred_engine::PollKind::Debate => {
                format!(
                    "{} chose side {} in a debate",
                    name(member.as_str()),
                    option + 1
                )
            }
        },
        Err(_) => entry.kind.replace('_', " "),
    };
    FeedLine {
        when: when(entry.occurred_at, tz),
        what,
    }
}

fn build(
    chrome: Chrome,
    p: &Profile,
    tz: &Timezone,
    people: &People,
    own_page: bool,
) -> StudentPage {
    let badge_names: HashMap<&str, &str> = p
        .badges
        .iter()
        .map(|b| (b.badge_id.as_str(), b.name.as_str()))
        .collect();
    let mut badges: Vec<String> = Vec::new();
    for b in &p.badges {
        let label = if b.instance == "once" {
            b.name.clone()
        } else {
            format!("{} ({})", b.name, b.instance)
        };
        badges.push(label);
    }
    StudentPage {
        chrome,
        name: p.member.name.clone(),
        role: role_label(p.member.role),
        earned: p.member.earned.to_string(),
        spendable: p.member.spendable.to_string(),
        level_name: p.member.level_name.clone(),
        last_activity: p
            .member
            .last_activity_at
            .map_or_else(|| "never".to_owned(), |t| when(Some(t), tz)),
        quota_used: p.quota.used,
        quota_limit: p.quota.limit,
        badges,
        received: fire_rows(&p.fires_received, tz, people),
        given: fire_rows(&p.fires_given, tz, people),
        feed: p
            .feed
            .iter()
            .map(|f| feed_line(f, tz, people, &badge_names))
            .collect(),
        audited: !own_page,
        own_page,
        award: None,
        erase: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_read_as_names_and_unknown_ones_stay() {
        let people = People {
            by_member_id: HashMap::new(),
            by_platform_id: [("U1".to_owned(), "Ada Lovelace".to_owned())].into(),
        };
        assert_eq!(
            people.readable("<@U1> great job <@U1|ada> and <@U9>!"),
            "@Ada Lovelace great job @Ada Lovelace and <@U9>!"
        );
        assert_eq!(people.readable("no mention <@U1"), "no mention <@U1");
        assert_eq!(people.readable("plain 🔥"), "plain 🔥");
    }
}
