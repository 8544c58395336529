//! Delivery of the engine's private notices, per platform.

use std::sync::Arc;

use classcred_slack::{SlackClient, SlackConfig};
use classcred_store::jobs::ClaimedJob;
use classcred_store::Store;

/// What Slack delivery needs: the Web API client and the `[slack]` configuration.
#[derive(Clone)]
pub struct SlackDelivery(Arc<(SlackClient, SlackConfig)>);

impl SlackDelivery {
    pub fn new(client: SlackClient, config: SlackConfig) -> Self {
        Self(Arc::new((client, config)))
    }

    /// The Web API client and the `[slack]` configuration.
    pub fn parts(&self) -> (&SlackClient, &SlackConfig) {
        (&self.0 .0, &self.0 .1)
    }
}

/// Deliver one notice job on the community's platform. Communities without a chat platform
/// (the demo) have nowhere to send it: the notice stays visible in the member's feed and the
/// job succeeds.
pub async fn deliver(store: &Store, slack: &SlackDelivery, job: &ClaimedJob) -> anyhow::Result<()> {
    let community = job.payload_community_id()?;
    let mut tx = store.begin().await?;
    let platform = tx.community(&community).await?.platform;
    tx.commit().await?;
    match platform.as_str() {
        "slack" => {
            let (client, config) = &*slack.0;
            classcred_slack::deliver_notice_with(store, client, config, job).await
        }
        "demo" | "cli" => {
            tracing::debug!(community_id = %community, job_id = %job.id, "notice not delivered: no chat platform");
            Ok(())
        }
        other => anyhow::bail!("no notice delivery for platform {other} in this build"),
    }
}
