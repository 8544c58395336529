//! Delivering the engine's private notices (job kind `classcred_service::NOTICE_JOB`) on Slack.
//!
//! The platform seam (`classcred_platform::notice`) parses the job, skips disabled communities
//! and members that are gone, and renders the notice; this module sends it. The source is the
//! platform message (`channel:ts`) the notice is about, when there is one. With a source, the notice is answered where the member acted: an
//! ephemeral message in that channel (`chat.postEphemeral`), or — for "fire given" with
//! `confirm = reaction` — a ✅ reaction on the giver's message (`reactions.add`), so the channel
//! is not flooded. Without a source, or when the ephemeral cannot be posted there, it goes to
//! the member's direct message with the app (`chat.postMessage` with `channel` = their user id;
//! Slack opens the DM). Communities on
//! other platforms, disabled communities and members without a Slack id are skipped (the job
//! succeeds). Slack's permanent refusals (`ok:false`, e.g. `user_not_found`, `invalid_auth`) are
//! logged and the job succeeds; transport errors, 5xx and rate limits fail it so it is retried.

use crate::blocks::{accept_answer_blocks, mrkdwn, text_blocks};
use crate::client::{BotToken, OutgoingMessage, SlackApiError, SlackClient};
use crate::config::{ConfirmStyle, SlackConfig};
use crate::ids::SlackUserId;
use crate::sync::PLATFORM;
use classcred_engine::NoticeKind;
use classcred_platform::{Doc, NoticeSink, OutgoingNotice, Posted};
use classcred_store::jobs::ClaimedJob;
use classcred_store::{Community, Store};
use secrecy::ExposeSecret;

/// The reaction that confirms a give when `confirm = reaction`.
pub const CONFIRM_REACTION: &str = "white_check_mark";

async fn post_dm(
    client: &SlackClient,
    token: &BotToken,
    user: &str,
    text: &str,
    blocks: &serde_json::Value,
) -> Result<(), SlackApiError> {
    let msg = OutgoingMessage {
        channel: user.to_string(),
        blocks: Some(blocks.clone()),
        text: text.to_owned(),
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

/// Delivers one notice job of a Slack community: the seam's neutral half
/// (`classcred_platform::notice::prepare`), then [`SlackNotices`]. Communities of other
/// platforms are skipped (the job succeeds).
pub async fn deliver_notice_with(
    store: &Store,
    client: &SlackClient,
    config: &SlackConfig,
    job: &ClaimedJob,
) -> anyhow::Result<()> {
    let Some(n) = classcred_platform::notice::prepare(store, job).await? else {
        return Ok(());
    };
    if n.community.platform != PLATFORM {
        return Ok(());
    }
    SlackNotices {
        client: client.clone(),
        config: config.clone(),
    }
    .send(store, &n)
    .await
}

/// Slack's side of notice delivery: the bot token is the community's stored one, else the
/// configured single-workspace token; `config.confirm` decides whether "fire given"
/// confirmations are sent.
#[derive(Clone)]
pub struct SlackNotices {
    pub client: SlackClient,
    pub config: SlackConfig,
}

#[async_trait::async_trait]
impl NoticeSink for SlackNotices {
    async fn send(&self, store: &Store, n: &OutgoingNotice) -> anyhow::Result<()> {
        let (client, config) = (&self.client, &self.config);
        let community_id = &n.community.id;
        let job_id = &n.job_id;
        let notice = &n.notice;
        // Where the member acted: the channel named by the event, else the one in Slack's own
        // message id (`channel:ts`, for events stored before events named their channel).
        let source = n.source.as_ref().and_then(|m| {
            let (id_channel, ts) = m.message_id.split_once(':')?;
            Some((
                m.channel.clone().unwrap_or_else(|| id_channel.to_owned()),
                ts.to_owned(),
            ))
        });
        let fire_given = matches!(notice.kind, NoticeKind::FireGiven { .. });
        let react = fire_given && config.confirm == ConfirmStyle::Reaction && source.is_some();
        if fire_given && config.confirm != ConfirmStyle::Ephemeral && !react {
            tracing::debug!(community_id = %community_id, job_id = %job_id, "fire confirmation not sent (confirm style)");
            return Ok(());
        }
        let mut tx = store.begin().await?;
        let stored_token = tx.for_community(community_id).bot_token().await?;
        tx.commit().await?;
        let user = n.platform_user_id.clone();
        let text = mrkdwn(&n.doc);
        // The asker's notice of an answer carries the "Accept answer" button.
        let blocks = match &notice.kind {
            NoticeKind::AnswerReceived { question, answer } => {
                accept_answer_blocks(&text, question, answer)
            }
            _ => text_blocks(&text),
        };
        let token = match (
            stored_token,
            config.single_bot_token_for(n.community.platform_team_id.as_deref()),
        ) {
            (Some(t), _) => BotToken::new(t.expose_secret()),
            (None, Some(t)) => t,
            (None, None) => {
                tracing::warn!(community_id = %community_id, job_id = %job_id, "notice not sent: no bot token");
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
                match SlackUserId::parse(&user) {
                    Ok(uid) => match client
                        .post_ephemeral(&token, channel, &uid, &text, Some(&blocks))
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
                            post_dm(client, &token, &user, &text, &blocks).await
                        }
                        other => other.map(|_| ()),
                    },
                    Err(_) => post_dm(client, &token, &user, &text, &blocks).await,
                }
            }
            (None, _) => post_dm(client, &token, &user, &text, &blocks).await,
        };
        match sent {
            Ok(()) => Ok(()),
            Err(SlackApiError::Api { method, error }) if error != "ratelimited" => {
                tracing::warn!(community_id = %community_id, job_id = %job_id, slack.method = %method, slack.error = %error, "Slack refused the notice; not retried");
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// `chat.postMessage` in the channel with the community's bot token. Slack's refusals
    /// (`channel_not_found`, `not_in_channel`, `is_archived`, …) are final; a rate limit or a
    /// transport error is retried.
    async fn post(
        &self,
        store: &Store,
        community: &Community,
        channel: &str,
        _key: &str,
        doc: &Doc,
    ) -> anyhow::Result<Posted> {
        let mut tx = store.begin().await?;
        let stored_token = tx.for_community(&community.id).bot_token().await?;
        tx.commit().await?;
        let token = match (
            stored_token,
            self.config
                .single_bot_token_for(community.platform_team_id.as_deref()),
        ) {
            (Some(t), _) => BotToken::new(t.expose_secret()),
            (None, Some(t)) => t,
            (None, None) => return Ok(Posted::Refused("no bot token".into())),
        };
        let text = mrkdwn(doc);
        let msg = OutgoingMessage {
            channel: channel.to_owned(),
            blocks: Some(text_blocks(&text)),
            text,
            thread_ts: None,
        };
        match self.client.post_message(&token, &msg).await {
            Ok(posted) => Ok(Posted::Sent(Some(format!(
                "{}:{}",
                posted.channel.as_str(),
                posted.ts.as_str()
            )))),
            Err(SlackApiError::Api { error, .. }) if error != "ratelimited" => {
                Ok(Posted::Refused(format!("Slack: {error}")))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A poll: its text and a vote button per option (`poll:vote:<poll>:<option>`); the
    /// message's `channel:ts` is the poll's message (a debate's thread root).
    async fn post_poll(
        &self,
        store: &Store,
        community: &Community,
        channel: &str,
        _key: &str,
        poll: &classcred_service::polls::PollView,
    ) -> anyhow::Result<Posted> {
        let mut tx = store.begin().await?;
        let stored_token = tx.for_community(&community.id).bot_token().await?;
        tx.commit().await?;
        let token = match (
            stored_token,
            self.config
                .single_bot_token_for(community.platform_team_id.as_deref()),
        ) {
            (Some(t), _) => BotToken::new(t.expose_secret()),
            (None, Some(t)) => t,
            (None, None) => return Ok(Posted::Refused("no bot token".into())),
        };
        let text = mrkdwn(&classcred_platform::polls::poll_doc(
            poll,
            classcred_platform::polls::command_prefix(PLATFORM),
        ));
        let msg = OutgoingMessage {
            channel: channel.to_owned(),
            blocks: Some(crate::blocks::poll_blocks(
                &text,
                &poll.poll_id,
                &poll.options,
                poll.closed_at.is_none(),
            )),
            text,
            thread_ts: None,
        };
        match self.client.post_message(&token, &msg).await {
            Ok(posted) => Ok(Posted::Sent(Some(format!(
                "{}:{}",
                posted.channel.as_str(),
                posted.ts.as_str()
            )))),
            Err(SlackApiError::Api { error, .. }) if error != "ratelimited" => {
                Ok(Posted::Refused(format!("Slack: {error}")))
            }
            Err(e) => Err(e.into()),
        }
    }
}
