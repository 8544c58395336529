//! Delivering the engine's private notices (job kind `classcred_service::NOTICE_JOB`) on Slack.
//!
//! The job payload is `{"community_id", "notice": classcred_engine::Notice}` with `notice.to` a
//! member id. The notice names no channel, so it goes to the member's direct message with the
//! app (`chat.postMessage` with `channel` = their user id; Slack opens the DM). Communities on
//! other platforms, disabled communities and members without a Slack id are skipped (the job
//! succeeds). Slack's permanent refusals (`ok:false`, e.g. `user_not_found`, `invalid_auth`) are
//! logged and the job succeeds; transport errors, 5xx and rate limits fail it so it is retried.

use crate::blocks::{escape_text, text_blocks};
use crate::client::{BotToken, OutgoingMessage, SlackApiError, SlackClient};
use crate::config::{ConfirmStyle, SlackConfig};
use crate::sync::PLATFORM;
use anyhow::Context;
use classcred_engine::{Notice, NoticeKind};
use classcred_store::jobs::ClaimedJob;
use classcred_store::{CommunityState, Store};
use secrecy::ExposeSecret;

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
    let community_id = job
        .payload
        .get("community_id")
        .and_then(|c| c.as_str())
        .context("notice job without community_id")?;
    let notice: Notice = serde_json::from_value(
        job.payload
            .get("notice")
            .cloned()
            .context("notice job without notice")?,
    )
    .context("notice job with an invalid notice")?;
    if matches!(notice.kind, NoticeKind::FireGiven { .. })
        && config.confirm != ConfirmStyle::Ephemeral
    {
        tracing::debug!(community_id, job_id = %job.id, "fire confirmation not sent (confirm style)");
        return Ok(());
    }
    let mut tx = store.begin().await?;
    let community = tx.community(community_id).await?;
    if community.platform != PLATFORM {
        tx.commit().await?;
        return Ok(());
    }
    if community.state == CommunityState::Disabled {
        tx.commit().await?;
        tracing::debug!(community_id, job_id = %job.id, "notice not sent: community disabled");
        return Ok(());
    }
    let user = tx
        .platform_user_id(community_id, notice.to.as_str())
        .await?;
    let stored_token = tx.bot_token(community_id).await?;
    tx.commit().await?;
    let Some(user) = user else {
        tracing::warn!(community_id, job_id = %job.id, "notice not sent: member not found");
        return Ok(());
    };
    let token = match (stored_token, config.single_bot_token()) {
        (Some(t), _) => BotToken::new(t.expose_secret()),
        (None, Some(t)) => t,
        (None, None) => {
            tracing::warn!(community_id, job_id = %job.id, "notice not sent: no bot token");
            return Ok(());
        }
    };
    let text = escape_text(&notice.kind.to_string());
    let msg = OutgoingMessage {
        channel: user,
        blocks: Some(text_blocks(&text)),
        text,
        thread_ts: None,
    };
    match client.post_message(&token, &msg).await {
        Ok(_) => Ok(()),
        Err(SlackApiError::Api { method, error }) if error != "ratelimited" => {
            tracing::warn!(community_id, job_id = %job.id, slack.method = %method, slack.error = %error, "Slack refused the notice; not retried");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}
