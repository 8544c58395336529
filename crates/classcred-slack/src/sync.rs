//! Installing a workspace and keeping its members in step: single-workspace set-up from
//! configuration, the database side of an OAuth install, and the `users.list` member sync.

use crate::client::{BotToken, SlackClient};
use crate::config::SlackConfig;
use crate::convert;
use crate::ids::SlackUserId;
use crate::oauth::OAuthAccess;
use anyhow::Context;
use classcred_service::join_member;
use classcred_store::{
    CommunityState, MemberKind, MemberProfile, NewCommunity, NewInstallation, NewMember, Role,
    Store, Tx,
};
use secrecy::{ExposeSecret, SecretString};

/// Platform name of Slack communities.
pub const PLATFORM: &str = "slack";
/// Settings of a new community: the engine's defaults (every field has one).
pub const DEFAULT_SETTINGS_JSON: &str = "{}";

async fn create_community(tx: &mut Tx<'_>, name: &str, team_id: &str) -> anyhow::Result<String> {
    let inst = tx.create_institution(name).await?;
    let c = tx
        .create_community(NewCommunity {
            institution_id: inst.id,
            name: name.to_owned(),
            platform: PLATFORM.to_owned(),
            platform_team_id: Some(team_id.to_owned()),
            settings_json: DEFAULT_SETTINGS_JSON.to_owned(),
        })
        .await?;
    Ok(c.id)
}

/// Re-activates a community that was disabled by an uninstall, when it is installed again.
///
/// Workaround: the store has no `enable_community` yet, so this runs the one statement itself
/// on the transaction's connection (see the report of the Slack issue).
async fn reactivate(tx: &mut Tx<'_>, community_id: &str) -> anyhow::Result<()> {
    tx.enable_community(community_id).await?;
    Ok(())
}

/// Single-workspace mode (`team_id` + `bot_token` configured): creates the institution and
/// community once, and records the installation with the bot token (encrypted); a changed
/// token is recorded as a newer installation. Returns the community id, or `None` when the
/// mode is not configured. Idempotent: call it at every start.
pub async fn ensure_single_workspace(
    store: &Store,
    config: &SlackConfig,
) -> anyhow::Result<Option<String>> {
    let (Some(team_id), Some(token)) = (&config.team_id, &config.bot_token) else {
        return Ok(None);
    };
    crate::ids::SlackTeamId::parse(team_id)
        .map_err(|_| anyhow::anyhow!("slack.team_id: not a Slack workspace id (T…)"))?;
    let mut tx = store.begin().await?;
    let community_id = match tx.community_by_team(PLATFORM, team_id).await? {
        Some(c) => c.id,
        None => {
            let id =
                create_community(&mut tx, &format!("Slack workspace {team_id}"), team_id).await?;
            tracing::info!(community_id = %id, "single-workspace community created");
            id
        }
    };
    let stored = tx.bot_token(&community_id).await?;
    if stored.as_ref().map(ExposeSecret::expose_secret) != Some(token.expose_secret()) {
        tx.save_installation(
            &community_id,
            &NewInstallation {
                platform: PLATFORM.to_owned(),
                platform_team_id: team_id.clone(),
                bot_user_id: None,
                scopes: crate::scopes::bot_scopes().join(","),
                bot_token: token.clone(),
                installed_by_member_id: None,
            },
        )
        .await?;
        tracing::info!(community_id = %community_id, "single-workspace installation recorded");
    }
    tx.commit().await?;
    Ok(Some(community_id))
}

/// What an OAuth install did.
#[derive(Debug, Clone)]
pub struct Installed {
    /// The community of the workspace.
    pub community_id: String,
    /// Whether it was created by this install (false: re-install).
    pub created: bool,
    /// The installing user's member id (an Admin when the community was created).
    pub admin_member_id: String,
}

/// The database side of an OAuth install, in one transaction: the community of the workspace
/// (created, or reused and re-activated), the installer as Admin, the app's bot user as the app,
/// and the installation with the bot token encrypted.
pub async fn record_install(store: &Store, access: &OAuthAccess) -> anyhow::Result<Installed> {
    let team = access
        .team
        .as_ref()
        .context("org-wide (Enterprise Grid) installs are not supported: install per workspace")?;
    let team_id = team.id.as_str();
    let now = store.clock().now();
    let mut tx = store.begin().await?;
    let (community_id, created) = match tx.community_by_team(PLATFORM, team_id).await? {
        Some(c) => {
            if c.state == CommunityState::Disabled {
                reactivate(&mut tx, &c.id).await?;
            }
            (c.id, false)
        }
        None => {
            let name = team
                .name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| format!("Slack workspace {team_id}"));
            (create_community(&mut tx, &name, team_id).await?, true)
        }
    };
    // A re-install keeps existing members as they are (role and profile).
    let admin = bare(&access.authed_user.id, Role::Admin, MemberKind::Human);
    let admin_member_id = match tx
        .member_id_by_platform(&community_id, access.authed_user.id.as_str())
        .await?
    {
        Some(id) => id,
        None => join_member(&mut tx, &community_id, PLATFORM, &admin, now).await?,
    };
    let bot = bare(&access.bot_user_id, Role::Student, MemberKind::App);
    if tx
        .member_id_by_platform(&community_id, access.bot_user_id.as_str())
        .await?
        .is_none()
    {
        join_member(&mut tx, &community_id, PLATFORM, &bot, now).await?;
    }
    tx.save_installation(
        &community_id,
        &NewInstallation {
            platform: PLATFORM.to_owned(),
            platform_team_id: team_id.to_owned(),
            bot_user_id: Some(access.bot_user_id.as_str().to_owned()),
            scopes: access.scope.clone(),
            bot_token: SecretString::from(access.access_token.expose().to_owned()),
            installed_by_member_id: Some(admin_member_id.clone()),
        },
    )
    .await?;
    tx.commit().await?;
    tracing::info!(community_id = %community_id, created, "Slack workspace installed");
    Ok(Installed {
        community_id,
        created,
        admin_member_id,
    })
}

fn bare(user: &SlackUserId, role: Role, kind: MemberKind) -> NewMember {
    NewMember {
        platform_user_id: user.as_str().to_owned(),
        role,
        kind,
        profile: MemberProfile::default(),
    }
}

/// Fetches every workspace member with `users.list` (all pages) and adds or updates them
/// (Students by default; bots as bots, the app's own user as the app; deactivated accounts
/// skipped), keeping only the profile fields the registry declares. Existing members keep
/// their role. Returns how many members were written.
pub async fn sync_members(
    store: &Store,
    client: &SlackClient,
    community_id: &str,
    token: &BotToken,
    app_user: Option<&SlackUserId>,
) -> anyhow::Result<usize> {
    let users = client.users_list(token).await?;
    let now = store.clock().now();
    let mut tx = store.begin().await?;
    let mut n = 0;
    for u in users.iter().filter(|u| !u.deleted) {
        let member = convert::new_member(u, Role::Student, app_user);
        join_member(&mut tx, community_id, PLATFORM, &member, now).await?;
        n += 1;
    }
    tx.commit().await?;
    tracing::info!(community_id, members = n, "Slack members synced");
    Ok(n)
}
