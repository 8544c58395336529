//! `ask TEXT`: a student asks a question through the bot, the same on every platform.
//!
//! The command queues a job ([`ASK_JOB`]; the text sealed with the job key, the member and the
//! channel by id) and answers at once. The job posts "Question from NAME: TEXT" to the channel
//! with the adapter's [`crate::NoticeSink::post`] and then stores a `MessagePosted` with
//! `is_question: true`, the student as author and the posted message's id, so the engine
//! tracks it like any question: replies in its thread are answers. The text is sealed in the
//! `message` table like every message text. A retried job posts with the same key (Matrix:
//! the same transaction id) and stores one inbox row per ask (its delivery id is the ask id).

use classcred_engine::{Event, MemberId, MessagePosted};
use classcred_store::jobs::{ClaimedJob, NewJob};
use classcred_store::{CommunityState, MemberRowId, Store};

use crate::commands::CommandContext;
use crate::text::{Doc, Line};
use crate::{Platforms, Posted};

/// The job kind that posts an asked question.
pub const ASK_JOB: &str = "question.ask";
/// Longest question text, in characters.
pub const MAX_ASK_CHARS: usize = 2000;

/// `ask TEXT`.
pub async fn ask(ctx: &CommandContext<'_>, text: &str) -> anyhow::Result<Doc> {
    let text = text.trim();
    if text.is_empty() {
        let mut d = Doc::default();
        d.push(
            Line::new()
                .text("Usage: ")
                .code(format!("{} ask YOUR QUESTION", ctx.prefix))
                .text(
                    " — I post it in this channel as your question; replies in its thread are \
                     answers you can accept.",
                ),
        );
        return Ok(d);
    }
    if text.chars().count() > MAX_ASK_CHARS {
        return Ok(Doc::text(format!(
            "Not done: a question is at most {MAX_ASK_CHARS} characters."
        )));
    }
    let Some(channel) = ctx.channel.filter(|c| !c.is_empty()) else {
        return Ok(Doc::text(
            "Not done: ask in the class channel where the question should be posted.",
        ));
    };
    let mut tx = ctx.store.begin().await?;
    let member = tx
        .for_community(&ctx.community.id)
        .member_id_by_platform(ctx.platform_user_id)
        .await?;
    let Some(member) = member else {
        tx.commit().await?;
        return Ok(Doc::text(
            "ClassCred does not know you in this workspace yet. Try again in a minute.",
        ));
    };
    let ask_id = uuid::Uuid::now_v7().to_string();
    let sealed = ctx.store.seal_job_text(ASK_JOB, &ask_id, text);
    let mut job = NewJob::new(
        ASK_JOB,
        serde_json::json!({
            "community_id": ctx.community.id,
            "member_id": member,
            "channel": channel,
            "ask_id": ask_id,
            "text": sealed,
        }),
    );
    job.community_id = Some(ctx.community.id.clone());
    job.dedupe_key = Some(format!("{ASK_JOB}:{ask_id}"));
    tx.enqueue(&job).await?;
    tx.commit().await?;
    tracing::info!(community_id = %ctx.community.id, member_id = %member, "question asked through the bot; posting queued");
    Ok(Doc::text(
        "Your question will be posted in this channel in a moment. Replies in its thread are \
         answers; accept the one that helped.",
    ))
}

/// The text of the posted question.
pub fn asked_doc(name: &str, text: &str) -> Doc {
    let mut d = Doc::default();
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    d.push(
        Line::new()
            .strong(format!("Question from {name}:"))
            .text(format!(" {first}")),
    );
    for l in lines {
        d.push(Line::new().text(l));
    }
    d
}

impl Platforms {
    /// Job [`ASK_JOB`].
    pub async fn ask_question_job(&self, store: &Store, job: &ClaimedJob) -> anyhow::Result<()> {
        let community_id = job.payload_community_id()?;
        let field = |k: &str| {
            job.payload
                .get(k)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| anyhow::anyhow!("{ASK_JOB} job {} without {k}", job.id))
        };
        let (member, channel, ask_id, sealed) = (
            MemberRowId::parse(&field("member_id")?)?,
            field("channel")?,
            field("ask_id")?,
            field("text")?,
        );
        let Some(text) = store.open_job_text(ASK_JOB, &ask_id, &sealed) else {
            tracing::warn!(community_id = %community_id, job_id = %job.id, "asked question could not be opened (master key changed); dropped");
            return Ok(());
        };
        let mut tx = store.begin().await?;
        let community = tx.community(&community_id).await?;
        let (platform_user, name) = {
            let mut scoped = tx.for_community(&community_id);
            let platform_user = scoped.platform_user_id(&member).await?;
            let name = match platform_user {
                Some(_) => {
                    let m = scoped.member(&member).await?;
                    m.profile.display_name.or(m.profile.name)
                }
                None => None,
            };
            (platform_user, name)
        };
        tx.commit().await?;
        let Some(platform_user) = platform_user else {
            tracing::warn!(community_id = %community_id, job_id = %job.id, "asking member is gone; question not posted");
            return Ok(());
        };
        let adapter = match self.get(&community.platform) {
            Some(a) if community.state == CommunityState::Active => a,
            _ => {
                tracing::warn!(community_id = %community_id, job_id = %job.id, "question not posted: community switched off or platform not in this build");
                return Ok(());
            }
        };
        let doc = asked_doc(name.as_deref().unwrap_or("a classmate"), &text);
        let posted = adapter
            .notices
            .post(store, &community, &channel, &format!("ask.{ask_id}"), &doc)
            .await?;
        let message_id = match posted {
            Posted::Sent(Some(id)) => id,
            Posted::Sent(None) => {
                tracing::warn!(community_id = %community_id, job_id = %job.id, "question posted without a message id; not tracked");
                return Ok(());
            }
            Posted::Refused(why) => {
                tracing::warn!(community_id = %community_id, job_id = %job.id, reason = %why, "question not posted: refused by the platform");
                return Ok(());
            }
        };
        let event = Event::MessagePosted(MessagePosted {
            platform_message_id: message_id,
            author: MemberId::new(platform_user),
            mentions: Vec::new(),
            fire_count: 0,
            text,
            thread: None,
            channel: Some(channel),
            occurred_at: store.clock().now(),
            is_question: true,
        });
        let mut tx = store.begin().await?;
        classcred_service::ingest(
            &mut tx,
            &community_id,
            &community.platform,
            &format!("ask:{ask_id}"),
            &event,
        )
        .await?;
        tx.commit().await?;
        if let Err(e) = classcred_service::drain(store, &community_id).await {
            tracing::warn!(community_id = %community_id, job_id = %job.id, error = %e, "asked question stored; processing left to the drain job");
        }
        tracing::info!(community_id = %community_id, job_id = %job.id, "asked question posted");
        Ok(())
    }
}
