//! Members from the platform: the sync of a community's members and the look-up of platform
//! ids an event mentions that no member row has yet. The adapter implements
//! [`MemberDirectory`]; the jobs ([`classcred_service::SYNC_MEMBERS_JOB`],
//! [`classcred_service::RESOLVE_MEMBERS_JOB`]) are run by [`crate::Platforms`].

use classcred_service::Resolved;
use classcred_store::jobs::{ClaimedJob, NewJob};
use classcred_store::{Community, CommunityId, CommunityState, Store};

use crate::Platforms;

/// A platform's member directory.
#[async_trait::async_trait]
pub trait MemberDirectory: Send + Sync {
    /// Adds or updates the community's members from the platform (existing members keep their
    /// role) and schedules processing; returns how many members were written.
    async fn sync_members(&self, store: &Store, community: &Community) -> anyhow::Result<usize>;

    /// What the platform says about each id. Ids missing from the answer could not be looked
    /// up now (network, rate limit) and are asked again later; never guess one.
    async fn resolve(
        &self,
        store: &Store,
        community: &Community,
        platform_user_ids: &[String],
    ) -> anyhow::Result<Vec<(String, Resolved)>>;
}

/// Enqueue a member sync of a community (e.g. after an install or at start), so that no
/// request waits for the platform's member list.
pub async fn enqueue_sync(store: &Store, community_id: &CommunityId) -> anyhow::Result<()> {
    let mut job = NewJob::new(
        classcred_service::SYNC_MEMBERS_JOB,
        serde_json::json!({ "community_id": community_id }),
    );
    job.community_id = Some(community_id.clone());
    job.max_attempts = 10;
    store.enqueue(&job).await?;
    Ok(())
}

async fn community_of(store: &Store, job: &ClaimedJob) -> anyhow::Result<Community> {
    let id = job.payload_community_id()?;
    let mut tx = store.begin().await?;
    let c = tx.community(&id).await?;
    tx.commit().await?;
    Ok(c)
}

impl Platforms {
    /// Job [`classcred_service::SYNC_MEMBERS_JOB`]: the community's adapter syncs its members.
    /// A disabled community, or one without a chat platform in this build, is skipped.
    pub async fn sync_members_job(&self, store: &Store, job: &ClaimedJob) -> anyhow::Result<()> {
        let c = community_of(store, job).await?;
        let Some(adapter) = self.get(&c.platform) else {
            return Ok(());
        };
        if c.state != CommunityState::Active {
            tracing::debug!(community_id = %c.id, job_id = %job.id, "members not synced: community disabled");
            return Ok(());
        }
        let n = adapter.members.sync_members(store, &c).await?;
        tracing::info!(community_id = %c.id, platform = %adapter.platform, members = n, "members synced");
        Ok(())
    }

    /// Job [`classcred_service::RESOLVE_MEMBERS_JOB`]: looks up each platform id the oldest
    /// pending event of the community waits for, records the answers (members join; the
    /// others are remembered as non-members) and schedules processing again. A community
    /// without a chat platform in this build, or disabled, knows no one beyond its members:
    /// every unknown id is not a member. When some id could not be looked up, what was
    /// answered is kept and the job fails, to be retried.
    pub async fn resolve_members_job(&self, store: &Store, job: &ClaimedJob) -> anyhow::Result<()> {
        let c = community_of(store, job).await?;
        let unknown = classcred_service::unresolved_members(store, &c.id).await?;
        let adapter = self
            .get(&c.platform)
            .filter(|_| c.state == CommunityState::Active);
        let answered = match (adapter, unknown.is_empty()) {
            (_, true) => Vec::new(),
            (Some(a), false) => a.members.resolve(store, &c, &unknown).await?,
            (None, false) => unknown
                .iter()
                .map(|u| (u.clone(), Resolved::NotMember("not_found")))
                .collect(),
        };
        // Only ids that were asked for: an adapter cannot add members this way.
        let answered: Vec<(String, Resolved)> = answered
            .into_iter()
            .filter(|(u, _)| unknown.contains(u))
            .collect();
        classcred_service::record_resolutions(store, &c.id, &c.platform, &answered).await?;
        tracing::debug!(community_id = %c.id, job_id = %job.id, resolved = answered.len(), "members resolved");
        let missing = unknown
            .iter()
            .filter(|u| !answered.iter().any(|(a, _)| a == *u))
            .count();
        if missing > 0 {
            anyhow::bail!("{missing} platform ids could not be looked up now; retried later");
        }
        Ok(())
    }

    /// Job [`classcred_service::NOTICE_JOB`]: the neutral half ([`crate::notice::prepare`]),
    /// then the community's adapter sends. A community without a chat platform in this build
    /// (the demo) has nowhere to send it: the notice stays in the member's feed.
    pub async fn deliver_notice(&self, store: &Store, job: &ClaimedJob) -> anyhow::Result<()> {
        let c = community_of(store, job).await?;
        let Some(adapter) = self.get(&c.platform) else {
            tracing::debug!(community_id = %c.id, job_id = %job.id, "notice not delivered: no chat platform");
            return Ok(());
        };
        match crate::notice::prepare(store, job).await? {
            Some(n) => adapter.notices.send(store, &n).await,
            None => Ok(()),
        }
    }
}
