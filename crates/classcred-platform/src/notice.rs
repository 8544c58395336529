//! Delivering the engine's private notices (job kind [`classcred_service::NOTICE_JOB`]).
//!
//! The job payload is `{"community_id", "notice": classcred_engine::Notice, "source"?,
//! "channel"?}`: `notice.to` is a member row id, `source` the platform message the notice is
//! about and `channel` where that message was posted, when there is one. The neutral half is
//! here ([`prepare`]): parse the job, load the community (a disabled one gets nothing), find the
//! member's platform id (a member that is gone gets nothing) and render the notice as a
//! [`Doc`]. The adapter's [`NoticeSink`] only sends it (e.g. Slack: ephemeral in the channel or
//! a DM; Matrix: an `m.notice`; Teams: a Connector message).

use anyhow::Context;
use classcred_engine::Notice;
use classcred_store::jobs::ClaimedJob;
use classcred_store::{Community, CommunityState, MemberRowId, Store};

use crate::text::Doc;

/// The platform message a notice is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRef {
    /// Where it was posted (Slack channel, Matrix room, Teams conversation), when known.
    pub channel: Option<String>,
    /// The platform's message id, as stored on the event.
    pub message_id: String,
}

/// A notice ready to send.
#[derive(Debug, Clone)]
pub struct OutgoingNotice {
    pub community: Community,
    pub member_id: MemberRowId,
    /// The member's id on the community's platform.
    pub platform_user_id: String,
    pub notice: Notice,
    /// The notice as text.
    pub doc: Doc,
    /// The platform message the notice is about, if any.
    pub source: Option<MessageRef>,
    /// The job, for log lines.
    pub job_id: String,
}

/// How an adapter sends a notice. An `Err` fails the job so it is retried (transport errors,
/// rate limits); a permanent refusal by the platform should be logged and return `Ok`.
#[async_trait::async_trait]
pub trait NoticeSink: Send + Sync {
    async fn send(&self, store: &Store, notice: &OutgoingNotice) -> anyhow::Result<()>;

    /// Posts `doc` for everyone in `channel` of `community` (scheduled announcements). `Err`:
    /// worth retrying (transport, rate limit); [`Posted::Refused`]: the platform will not take
    /// it (no such channel, the bot is not in it). An adapter that cannot post refuses. `key`
    /// names this post stably across retries (announcement id and version): an adapter whose
    /// platform has transaction ids (Matrix) makes a retried post a no-op with it.
    async fn post(
        &self,
        _store: &Store,
        _community: &Community,
        _channel: &str,
        _key: &str,
        _doc: &Doc,
    ) -> anyhow::Result<Posted> {
        Ok(Posted::Refused(
            "this chat platform cannot post announcements".into(),
        ))
    }

    /// Posts a poll or debate in `channel` (job `poll.post`). The default posts
    /// [`crate::polls::poll_doc`] as text through [`NoticeSink::post`] (members vote with the
    /// vote command); an adapter with buttons (Slack, Teams) overrides it. `key` names the post
    /// stably across retries.
    async fn post_poll(
        &self,
        store: &Store,
        community: &Community,
        channel: &str,
        key: &str,
        poll: &classcred_service::polls::PollView,
    ) -> anyhow::Result<Posted> {
        let prefix = crate::polls::command_prefix(&community.platform);
        self.post(
            store,
            community,
            channel,
            key,
            &crate::polls::poll_doc(poll, prefix),
        )
        .await
    }
}

/// What became of a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    /// Posted; the platform's id of the message when it gave one.
    Sent(Option<String>),
    /// Refused for good, with a reason for the log and the dashboard (no personal data).
    Refused(String),
}

/// The notice as text.
pub fn notice_doc(notice: &Notice) -> Doc {
    Doc::text(notice.kind.to_string())
}

/// The neutral half of a notice job: `None` when there is nothing to send (community
/// disabled, member gone).
pub async fn prepare(store: &Store, job: &ClaimedJob) -> anyhow::Result<Option<OutgoingNotice>> {
    let community_id = job.payload_community_id()?;
    let notice: Notice = serde_json::from_value(
        job.payload
            .get("notice")
            .cloned()
            .context("notice job without notice")?,
    )
    .context("notice job with an invalid notice")?;
    let text = |key: &str| {
        job.payload
            .get(key)
            .and_then(|s| s.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let source = text("source").map(|message_id| MessageRef {
        channel: text("channel"),
        message_id,
    });
    let mut tx = store.begin().await?;
    let community = tx.community(&community_id).await?;
    if community.state != CommunityState::Active {
        tx.commit().await?;
        tracing::debug!(community_id = %community_id, job_id = %job.id, "notice not sent: community disabled");
        return Ok(None);
    }
    // A notice names the engine's id of its member; one that is not a member row id names no
    // member (the same outcome as a row id that is not found).
    let found = match MemberRowId::parse(notice.to.as_str()) {
        Ok(member_id) => tx
            .for_community(&community_id)
            .platform_user_id(&member_id)
            .await?
            .map(|u| (member_id, u)),
        Err(_) => None,
    };
    tx.commit().await?;
    let Some((member_id, platform_user_id)) = found else {
        tracing::warn!(community_id = %community_id, job_id = %job.id, "notice not sent: member not found");
        return Ok(None);
    };
    Ok(Some(OutgoingNotice {
        community,
        member_id,
        platform_user_id,
        doc: notice_doc(&notice),
        notice,
        source,
        job_id: job.id.to_string(),
    }))
}
