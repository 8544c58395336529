//! Posting scheduled announcements (job kind [`classcred_service::announcements::ANNOUNCE_JOB`]).
//!
//! The job names one version of one announcement. In a short transaction it is moved to
//! `sending` (only if that version is still the scheduled one: an edit or a cancellation made
//! before the time wins); the community's adapter posts it with [`crate::NoticeSink::post`]
//! outside any transaction; then it becomes `sent`, `failed` (refused for good, no chat
//! platform, the community disabled, or the last attempt failed) or `scheduled` again (the job
//! fails and is retried; the announcement is editable meanwhile).

use classcred_store::jobs::ClaimedJob;
use classcred_store::{Announcement, AnnouncementState, CommunityState, Store};

use crate::text::{Doc, Line};
use crate::{Platforms, Posted};

/// The announcement as a document: its lines as written.
pub fn announcement_doc(a: &Announcement) -> Doc {
    Doc {
        lines: a.text.lines().map(|l| Line::new().text(l)).collect(),
    }
}

impl Platforms {
    /// Job [`classcred_service::announcements::ANNOUNCE_JOB`].
    pub async fn post_announcement_job(
        &self,
        store: &Store,
        job: &ClaimedJob,
    ) -> anyhow::Result<()> {
        let community_id = job.payload_community_id()?;
        let id = job
            .payload
            .get("announcement_id")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| anyhow::anyhow!("announcement job {} without an id", job.id))?;
        let version = job
            .payload
            .get("version")
            .and_then(serde_json::Value::as_i64)
            .ok_or_else(|| anyhow::anyhow!("announcement job {} without a version", job.id))?;
        let mut tx = store.begin().await?;
        let community = tx.community(&community_id).await?;
        let started = tx
            .for_community(&community_id)
            .begin_announcement_post(id, version)
            .await?;
        tx.commit().await?;
        let Some(a) = started else {
            tracing::debug!(community_id = %community_id, job_id = %job.id, "announcement edited, cancelled or sent since queued; nothing to post");
            return Ok(());
        };
        let outcome = match self.get(&community.platform) {
            _ if community.state != CommunityState::Active => {
                Ok(Posted::Refused("the community is switched off".into()))
            }
            None => Ok(Posted::Refused(
                "the community has no chat platform in this build".into(),
            )),
            Some(adapter) => {
                adapter
                    .notices
                    .post(
                        store,
                        &community,
                        &a.channel,
                        &format!("announce.{}.{}", a.id, a.version),
                        &announcement_doc(&a),
                    )
                    .await
            }
        };
        let (to, message_id, result) = match outcome {
            Ok(Posted::Sent(mid)) => (AnnouncementState::Sent, mid, Ok(())),
            Ok(Posted::Refused(why)) => {
                tracing::warn!(community_id = %community_id, job_id = %job.id, reason = %why, "announcement refused; marked failed");
                (AnnouncementState::Failed, None, Ok(()))
            }
            Err(e) if job.attempts >= job.max_attempts => {
                tracing::warn!(community_id = %community_id, job_id = %job.id, error = %e, "announcement not posted after the last attempt; marked failed");
                (AnnouncementState::Failed, None, Ok(()))
            }
            Err(e) => (AnnouncementState::Scheduled, None, Err(e)),
        };
        let mut tx = store.begin().await?;
        tx.for_community(&community_id)
            .end_announcement_post(id, to, message_id.as_deref())
            .await?;
        // The engine learns the posted message in the same transaction, so replies in its
        // thread respond to the announcement (firsts, custom rules).
        if let (AnnouncementState::Sent, Some(mid)) = (to, message_id.as_deref()) {
            classcred_service::firsts::record_announcement_post(
                &mut tx,
                &community_id,
                id,
                mid,
                &a.channel,
                store.clock().now(),
            )
            .await?;
        }
        tx.commit().await?;
        if to == AnnouncementState::Sent {
            tracing::info!(community_id = %community_id, job_id = %job.id, "announcement posted");
            if message_id.is_some() {
                if let Err(e) = classcred_service::drain(store, &community_id).await {
                    tracing::warn!(community_id = %community_id, job_id = %job.id, error = %e, "announcement post recorded; processing left to the drain job");
                }
            }
        }
        result
    }
}
