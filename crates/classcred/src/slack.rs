//! `classcred slack …` commands.

use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Subcommand;
use classcred_slack::SlackClient;
use classcred_store::{CommunityId, Store};

use crate::config::Config;

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
