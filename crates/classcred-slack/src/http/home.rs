//! The App Home tab: published with `views.publish` when a member opens it. Runs in its own
//! task with a time limit so the event is acknowledged at once; failures are logged only.

use super::SlackState;
use crate::blocks::{escape_text, home_view, HomeViewData};
use crate::ids::SlackUserId;
use classcred_engine::badges::badge_name;
use classcred_engine::{CommunitySettings, FeedKind, Points};
use classcred_service::member_summary;
use classcred_store::Community;
use std::time::Duration;

/// Longest time spent publishing one App Home.
const HOME_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) fn spawn_publish(st: SlackState, community: Community, user: SlackUserId) {
    tokio::spawn(async move {
        match tokio::time::timeout(HOME_TIMEOUT, publish(&st, &community, &user)).await {
            Ok(Ok(())) => tracing::debug!(community_id = %community.id, "App Home published"),
            Ok(Err(e)) => {
                tracing::warn!(community_id = %community.id, error = %e, "App Home not published")
            }
            Err(_) => tracing::warn!(community_id = %community.id, "App Home publish timed out"),
        }
    });
}

fn feed_line(settings: &CommunitySettings, payload: &str) -> Option<String> {
    let k: FeedKind = serde_json::from_str(payload).ok()?;
    Some(match k {
        FeedKind::FireReceived { units, gross, .. } => {
            format!(":fire: You received {units} fire ({gross} points)")
        }
        FeedKind::Taxed { amount, week, .. } => format!("Gift tax of {amount} points ({week})"),
        FeedKind::FireReversed { units, amount, .. } => {
            format!("{units} fire taken back ({amount} points)")
        }
        FeedKind::BadgeWon { badge, .. } => {
            format!(
                ":medal: Badge won: {}",
                escape_text(&badge_name(settings, &badge))
            )
        }
        FeedKind::LevelUp { name, .. } => format!(":arrow_up: Level up: {}", escape_text(&name)),
        FeedKind::PointsAdjusted { amount, .. } => format!("Points adjusted by {amount}"),
        // Every kind is named: a new one fails to compile here until it has its line.
        FeedKind::Recognition { units, .. } => format!("You gave {units} fire"),
        FeedKind::Purchase {
            item,
            price,
            status,
            ..
        } => format!(
            ":shopping_trolley: Bought {} for {price} points{}",
            escape_text(&item),
            if status == classcred_engine::PurchaseStatus::Pending {
                " (waiting for approval)"
            } else {
                ""
            }
        ),
        FeedKind::PurchaseApproved { item, .. } => {
            format!("Purchase of {} approved", escape_text(&item))
        }
        FeedKind::PurchaseRefunded { item, amount, .. } => {
            format!("{amount} points refunded for {}", escape_text(&item))
        }
        FeedKind::QuestionAsked { .. } => "You asked a question".to_owned(),
        FeedKind::QuestionAnswered { .. } => "You answered a question".to_owned(),
        FeedKind::AnswerAccepted { reward, .. } => {
            format!(":white_check_mark: Your answer was accepted ({reward} points)")
        }
        FeedKind::AnswerRewardReversed { amount, .. } => {
            format!("Answer reward taken back ({amount} points)")
        }
        FeedKind::PollCreated { kind, .. } => format!("A new {} was posted", kind.as_str()),
        FeedKind::PollClosed { kind, .. } => format!("A {} closed", kind.as_str()),
        FeedKind::Voted { kind, option, .. } => match kind {
            classcred_engine::PollKind::Poll => {
                format!(":ballot_box: You voted (option {})", option + 1)
            }
            classcred_engine::PollKind::Debate => {
                format!(":speech_balloon: You chose side {} in a debate", option + 1)
            }
        },
    })
}

/// Builds and publishes `user`'s App Home.
pub(crate) async fn publish(
    st: &SlackState,
    community: &Community,
    user: &SlackUserId,
) -> anyhow::Result<()> {
    let c = &community.id;
    let Some(token) = super::bot_token(st, c).await? else {
        anyhow::bail!("no bot token for community {c}");
    };
    let summary = member_summary(&st.store, c, user.as_str()).await?;
    let mut tx = st.store.begin().await?;
    let settings = classcred_service::settings(&mut tx, c).await?;
    tx.commit().await?;
    let data = match summary {
        None => HomeViewData {
            earned: Points::ZERO.to_string(),
            spendable: Points::ZERO.to_string(),
            level: settings
                .levels
                .first()
                .map(|l| l.name.clone())
                .unwrap_or_default(),
            quota_left_today: Some(settings.daily_quota),
            ..HomeViewData::default()
        },
        Some(s) => {
            let next = settings
                .levels
                .get(s.level as usize + 1)
                .map(|l| format!("{} at {} points", l.name, l.threshold));
            HomeViewData {
                earned: s.earned.to_string(),
                spendable: s.spendable.to_string(),
                level: s.level_name.clone(),
                next_level: next,
                badges: s.badges.iter().map(|(_, name)| name.clone()).collect(),
                quota_left_today: s.quota_left_today,
                feed: s
                    .recent
                    .iter()
                    .filter_map(|f| feed_line(&settings, &f.payload))
                    .collect(),
                // Admins get a sign-in link (valid 5 minutes from publishing, single use).
                dashboard_url: match (&st.login, s.role) {
                    (Some(links), classcred_engine::Role::Admin) => {
                        Some(links.link(c, &s.member_id, st.now_unix()))
                    }
                    _ => None,
                },
            }
        }
    };
    st.client
        .views_publish(&token, user, &home_view(&data))
        .await?;
    Ok(())
}
