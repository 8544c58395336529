//! `classcred admin …`: administration of the dashboard from the server's shell.
//! `admin login-link` prints a single-use sign-in link (and nothing else on stdout, so it can
//! be piped or opened by a script); `admin token …` manages API tokens (`admin_token.rs`). New
//! subcommands join [`AdminCommand`].

use std::process::ExitCode;

use anyhow::{bail, Context};
use classcred_crypto::LoginKey;
use classcred_store::{CommunityId, MemberRowId, Role, Store};

use crate::admin_token::TokenCommand;
use crate::config::Config;

#[derive(Debug, clap::Subcommand)]
pub enum AdminCommand {
    /// Print a dashboard sign-in link (single use, valid 5 minutes) on stdout.
    LoginLink {
        #[arg(long, value_name = "ID")]
        community: CommunityId,
        /// The member's platform user id (e.g. Slack's U…); default: the community's first Admin.
        #[arg(long, value_name = "PLATFORM_USER_ID")]
        member: Option<String>,
    },
    /// API tokens of the JSON API (/api/v1): create, list, revoke.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

/// Run an `admin` subcommand.
pub async fn run(
    cfg: &Config,
    store: &Store,
    login_key: &LoginKey,
    command: AdminCommand,
) -> anyhow::Result<ExitCode> {
    match command {
        AdminCommand::LoginLink { community, member } => {
            let member_id = login_member(store, &community, member.as_deref()).await?;
            let now = store.now_ms().div_euclid(1000);
            let link = classcred_service::login::issue_login_link(
                login_key,
                &public_base(cfg),
                &community,
                &member_id,
                now,
            );
            crate::output::print(&format!("{link}\n"))?;
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::Token { command } => crate::admin_token::run(store, command).await,
    }
}

/// Who the link signs in: the named member, or the community's first Admin.
async fn login_member(
    store: &Store,
    community: &CommunityId,
    platform_user_id: Option<&str>,
) -> anyhow::Result<MemberRowId> {
    let mut tx = store.begin().await?;
    tx.community(community)
        .await
        .with_context(|| format!("no community {community} on this server"))?;
    let mut scoped = tx.for_community(community);
    let found = match platform_user_id {
        Some(uid) => match scoped.member_id_by_platform(uid).await? {
            Some(id) => id,
            None => bail!("community {community} has no member with platform user id {uid:?}"),
        },
        None => {
            let first_admin = scoped
                .list_members()
                .await?
                .into_iter()
                .filter(|m| m.role == Role::Admin)
                .min_by_key(|m| (m.joined_at, m.id.clone()));
            match first_admin {
                Some(m) => m.id,
                None => bail!(
                    "community {community} has no Admin; name a member with --member PLATFORM_USER_ID"
                ),
            }
        }
    };
    tx.commit().await?;
    Ok(found)
}

/// Where links point: `public_url`, else the Slack app's `public_url`, else
/// `http://<listen address>`.
pub fn public_base(cfg: &Config) -> String {
    cfg.public_url
        .as_deref()
        .map(|u| u.trim_end_matches('/'))
        .filter(|u| !u.is_empty())
        .or_else(|| cfg.slack.public_base())
        .map_or_else(|| format!("http://{}", cfg.listen), str::to_owned)
}
