//! Slack member jobs and `classcred slack …` commands.

use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Subcommand;
use classcred_server::worker::Handlers;
use classcred_service::{Resolved, RESOLVE_MEMBERS_JOB, SYNC_MEMBERS_JOB};
use classcred_slack::SlackClient;
use classcred_store::jobs::ClaimedJob;
use classcred_store::{CommunityId, Store};

use crate::config::Config;
use crate::notices::SlackDelivery;

#[derive(Debug, Subcommand)]
pub enum SlackCommand {
    /// Fetch the workspace's members now (`users.list`) and add or update them.
    Sync {
        #[arg(long, value_name = "ID")]
        community: CommunityId,
    },
}

/// Run a `classcred slack …` command.
pub async fn run(cfg: &Config, store: &Store, command: SlackCommand) -> anyhow::Result<ExitCode> {
    match command {
        SlackCommand::Sync { community } => {
            let client =
                SlackClient::new(cfg.slack.client_config()).context("slack configuration")?;
            let Some((token, _)) =
                classcred_slack::sync::community_token(store, &cfg.slack, &community)
                    .await
                    .with_context(|| format!("community {community}"))?
            else {
                bail!("community {community}: not an installed Slack workspace (no bot token)");
            };
            let n = classcred_slack::sync_members(store, &client, &community, &token, None).await?;
            println!("{n} members synced; `classcred serve` workers will process waiting events");
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn platform(store: &Store, job: &ClaimedJob) -> anyhow::Result<(CommunityId, String)> {
    let community = job.payload_community_id()?;
    let mut tx = store.begin().await?;
    let platform = tx.community(&community).await?.platform;
    tx.commit().await?;
    Ok((community, platform))
}

/// The member jobs: resolution of unknown platform ids and member sync, per platform.
/// Platforms without a member directory in this build (the demo, the CLI) know no one beyond
/// their joined members: an unknown id there is not a member.
pub fn register(h: &mut Handlers, slack: &SlackDelivery) {
    let s = slack.clone();
    h.register(RESOLVE_MEMBERS_JOB, move |store, job| {
        let s = s.clone();
        async move {
            let (community, platform) = platform(&store, &job).await?;
            if platform == classcred_slack::sync::PLATFORM {
                let (client, config) = s.parts();
                return classcred_slack::sync::resolve_members_job(&store, client, config, &job)
                    .await;
            }
            let unknown = classcred_service::unresolved_members(&store, &community).await?;
            let none: Vec<(String, Resolved)> = unknown
                .into_iter()
                .map(|u| (u, Resolved::NotMember("not_found")))
                .collect();
            classcred_service::record_resolutions(&store, &community, &platform, &none).await?;
            Ok(())
        }
    });
    let s = slack.clone();
    h.register(SYNC_MEMBERS_JOB, move |store, job| {
        let s = s.clone();
        async move {
            let (_, platform) = platform(&store, &job).await?;
            if platform == classcred_slack::sync::PLATFORM {
                let (client, config) = s.parts();
                return classcred_slack::sync::sync_members_job(&store, client, config, &job).await;
            }
            Ok(())
        }
    });
}
