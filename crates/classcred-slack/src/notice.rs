//! Delivering the engine's private notices (job kind `classcred_service::NOTICE_JOB`) on Slack.
//!
//! The job payload is `{"community_id", "notice": classcred_engine::Notice, "source"}` with
//! `notice.to` a member id and `source` the platform message (`channel:ts`) the notice is about,
//! when there is one. With a source, the notice is answered where the member acted: an
//! ephemeral message in that channel (`chat.postEphemeral`), or — for "fire given" with
//! `confirm = reaction` — a ✅ reaction on the giver's message (`reactions.add`), so the channel
//! is not flooded. Without a source, or when the ephemeral cannot be posted there, it goes to
//! the member's direct message with the app (`chat.postMessage` with `channel` = their user id;
//! Slack opens the DM). Communities on
//! other platforms, disabled communities and members without a Slack id are skipped (the job
//! succeeds). Slack's permanent refusals (`ok:false`, e.g. `user_not_found`, `invalid_auth`) are
//! logged and the job succeeds; transport errors, 5xx and rate limits fail it so it is retried.

use crate::blocks::{escape_text, text_blocks};
use crate::client::{BotToken, OutgoingMessage, SlackApiError, SlackClient};
use crate::config::{ConfirmStyle, SlackConfig};
use crate::ids::SlackUserId;
use crate::sync::PLATFORM;
use anyhow::Context;
use classcred_engine::{Notice, NoticeKind};
use classcred_store::jobs::ClaimedJob;
use classcred_store::{CommunityState, MemberRowId, Store};
use secrecy::ExposeSecret;

/// The reaction that confirms a give when `confirm = reaction`.
pub const CONFIRM_REACTION: &str = "white_check_mark";

async fn post_dm(
    client: &SlackClient,
    token: &BotToken,
    user: &str,
    notice: &Notice,
) -> Result<(), SlackApiError> {
    let text = escape_text(&notice.kind.to_string());
    let msg = OutgoingMessage {
        channel: user.to_string(),
        blocks: Some(text_blocks(&text)),
        text,
        thread_ts: None,
    };
    client.post_message(token, &msg).await.map(|_| ())
}

/// Delivers one notice job with the stored bot token and the default confirmation style
/// (`ephemeral`). See [`deliver_notice_with`] to pass the `[slack]` configuration.
pub async fn deliver_notice(
    store: &Store,
    client: &SlackClient,
    job: &ClaimedJob,
) -> anyhow::Result<()> {
    deliver_notice_with(store, client, &SlackConfig::default(), job).await
}

/// Delivers one notice job: the bot token is the community's stored one, else the configured
/// single-workspace token; `config.confirm` decides whether "fire given" confirmations are sent.
pub async fn deliver_notice_with(
    store: &Store,
    client: &SlackClient,
    config: &SlackConfig,
    job: &ClaimedJob,
) -> anyhow::Result<()> {
    let community_id = &job.payload_community_id()?;
    let notice: Notice = serde_json::from_value(
        job.payload
            .get("notice")
            .cloned()
            .context("notice job without notice")?,
    )
    .context("notice job with an invalid notice")?;
    let source = job
        .payload
        .get("source")
        .and_then(|s| s.as_str())
        .and_then(|s| s.split_once(':'))
        .map(|(channel, ts)| (channel.to_string(), ts.to_string()));
    let fire_given = matches!(notice.kind, NoticeKind::FireGiven { .. });
    let react = fire_given && config.confirm == ConfirmStyle::Reaction && source.is_some();
    if fire_given && config.confirm != ConfirmStyle::Ephemeral && !react {
        tracing::debug!(community_id = %community_id, job_id = %job.id, "fire confirmation not sent (confirm style)");
        return Ok(());
    }
    let mut tx = store.begin().await?;
    let community = tx.community(community_id).await?;
    if community.platform != PLATFORM {
        tx.commit().await?;
        return Ok(());
    }
    if community.state != CommunityState::Active {
        tx.commit().await?;
        tracing::debug!(community_id = %community_id, job_id = %job.id, "notice not sent: community disabled");
        return Ok(());
    }
    // A notice names the engine's id of its member; one that is not a member row id names
    // no member (the same outcome as a row id that is not found).
    let user = match MemberRowId::parse(notice.to.as_str()) {
        Ok(member_id) => {
            tx.for_community(community_id)
                .platform_user_id(&member_id)
                .await?
        }
        Err(_) => None,
    };
    let stored_token = tx.for_community(community_id).bot_token().await?;
    tx.commit().await?;
    let Some(user) = user else {
        tracing::warn!(community_id = %community_id, job_id = %job.id, "notice not sent: member not found");
        return Ok(());
    };
    let token = match (
        stored_token,
        config.single_bot_token_for(community.platform_team_id.as_deref()),
    ) {
        (Some(t), _) => BotToken::new(t.expose_secret()),
        (None, Some(t)) => t,
        (None, None) => {
            tracing::warn!(community_id = %community_id, job_id = %job.id, "notice not sent: no bot token");
            return Ok(());
        }
    };
    let sent = match (&source, react) {
        (Some((channel, ts)), true) => {
            client
                .reactions_add(&token, channel, ts, CONFIRM_REACTION)
                .await
        }
        (Some((channel, _)), false) => {
            let text = escape_text(&notice.kind.to_string());
            match SlackUserId::parse(&user) {
                Ok(uid) => match client
                    .post_ephemeral(&token, channel, &uid, &text, Some(&text_blocks(&text)))
                    .await
                {
                    // The member left the channel, or it is gone: fall back to the DM.
                    Err(SlackApiError::Api { error, .. })
                        if matches!(
                            error.as_str(),
                            "user_not_in_channel"
                                | "channel_not_found"
                                | "not_in_channel"
                                | "is_archived"
                        ) =>
                    {
                        post_dm(client, &token, &user, &notice).await
                    }
                    other => other.map(|_| ()),
                },
                Err(_) => post_dm(client, &token, &user, &notice).await,
            }
        }
        (None, _) => post_dm(client, &token, &user, &notice).await,
    };
    match sent {
        Ok(()) => Ok(()),
        Err(SlackApiError::Api { method, error }) if error != "ratelimited" => {
            tracing::warn!(community_id = %community_id, job_id = %job.id, slack.method = %method, slack.error = %error, "Slack refused the notice; not retried");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}
