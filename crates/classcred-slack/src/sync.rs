//! Installing a workspace and keeping its members in step: single-workspace set-up from
//! configuration, the database side of an OAuth install, and the `users.list` member sync.

use crate::client::{BotToken, SlackApiError, SlackClient};
use crate::config::SlackConfig;
use crate::convert;
use crate::events::SlackUser;
use crate::ids::SlackUserId;
use crate::oauth::OAuthAccess;
use anyhow::Context;
use classcred_service::{join_member, Resolved};
use classcred_store::jobs::{ClaimedJob, NewJob};
use classcred_store::{
    CommunityId, CommunityState, MemberKind, MemberProfile, MemberRowId, NewCommunity,
    NewInstallation, NewMember, Role, Store, Tx,
};
use secrecy::{ExposeSecret, SecretString};

/// Platform name of Slack communities.
pub const PLATFORM: &str = "slack";
/// Settings of a new community: the engine's defaults (every field has one).
pub const DEFAULT_SETTINGS_JSON: &str = "{}";

async fn create_community(
    tx: &mut Tx<'_>,
    name: &str,
    team_id: &str,
) -> anyhow::Result<CommunityId> {
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
async fn reactivate(tx: &mut Tx<'_>, community_id: &CommunityId) -> anyhow::Result<()> {
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
) -> anyhow::Result<Option<CommunityId>> {
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
    let stored = tx.for_community(&community_id).bot_token().await?;
    if stored.as_ref().map(ExposeSecret::expose_secret) != Some(token.expose_secret()) {
        tx.for_community(&community_id)
            .save_installation(&NewInstallation {
                platform: PLATFORM.to_owned(),
                platform_team_id: team_id.clone(),
                bot_user_id: None,
                scopes: crate::scopes::bot_scopes().join(","),
                bot_token: token.clone(),
                installed_by_member_id: None,
            })
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
    pub community_id: CommunityId,
    /// Whether it was created by this install (false: re-install).
    pub created: bool,
    /// The installing user's member id (an Admin only when the community was created).
    pub admin_member_id: MemberRowId,
}

/// The database side of an OAuth install, in one transaction: the community of the workspace
/// (created, or reused and re-activated), the installer (Admin when the community is created
/// here, else a Student unless already a member), the app's bot user as the app,
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
            if c.state != CommunityState::Active {
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
    // A re-install keeps existing members as they are (role and profile). The installer is an
    // Admin only of a community this install creates: installing the app again into an
    // existing workspace grants nothing (an unknown installer joins as a Student).
    let installer_role = if created { Role::Admin } else { Role::Student };
    let admin = bare(&access.authed_user.id, installer_role, MemberKind::Human);
    let admin_member_id = match tx
        .for_community(&community_id)
        .member_id_by_platform(access.authed_user.id.as_str())
        .await?
    {
        Some(id) => id,
        None => join_member(&mut tx, &community_id, PLATFORM, &admin, now).await?,
    };
    let bot = bare(&access.bot_user_id, Role::Student, MemberKind::App);
    if tx
        .for_community(&community_id)
        .member_id_by_platform(access.bot_user_id.as_str())
        .await?
        .is_none()
    {
        join_member(&mut tx, &community_id, PLATFORM, &bot, now).await?;
    }
    tx.for_community(&community_id)
        .save_installation(&NewInstallation {
            platform: PLATFORM.to_owned(),
            platform_team_id: team_id.to_owned(),
            bot_user_id: Some(access.bot_user_id.as_str().to_owned()),
            scopes: access.scope.clone(),
            bot_token: SecretString::from(access.access_token.expose().to_owned()),
            installed_by_member_id: Some(admin_member_id.clone()),
        })
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

/// Fetches every workspace member with `users.list` (all pages, `Retry-After` honoured by the
/// client) and adds or updates them (Students by default; bots as bots, the app's own user as
/// the app; deactivated accounts and users of another workspace skipped), keeping only the
/// profile fields the registry declares. Existing members keep their role. Returns how many
/// members were written.
pub async fn sync_members(
    store: &Store,
    client: &SlackClient,
    community_id: &CommunityId,
    token: &BotToken,
    app_user: Option<&SlackUserId>,
) -> anyhow::Result<usize> {
    let users = client.users_list(token).await?;
    let now = store.clock().now();
    let mut tx = store.begin().await?;
    let team = tx.community(community_id).await?.platform_team_id;
    let mut n = 0;
    for u in users
        .iter()
        .filter(|u| !u.deleted && same_team(u, team.as_deref()))
    {
        let member = convert::new_member(u, Role::Student, app_user);
        let version = u.updated.unwrap_or_else(|| now.timestamp());
        if apply_profile(&mut tx, community_id, &member, version, true, now).await? {
            n += 1;
        }
    }
    // Events that waited for members may now run.
    tx.enqueue(&classcred_service::drain_job(community_id))
        .await?;
    tx.commit().await?;
    tracing::info!(community_id = %community_id, members = n, "Slack members synced");
    Ok(n)
}

/// Adds or updates a member from a user record last modified at `version` (Unix seconds; Slack's
/// `user.updated`, else the event time), unless a newer profile was applied already (`equal`:
/// whether a record of the same age is applied too — yes for a new delivery, no for a
/// redelivery). Returns whether it was applied.
pub async fn apply_profile(
    tx: &mut Tx<'_>,
    community_id: &CommunityId,
    member: &NewMember,
    version: i64,
    equal: bool,
    at: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<bool> {
    let stored = tx
        .for_community(community_id)
        .member_profile_version(&member.platform_user_id)
        .await?;
    let older = stored.is_some_and(|v| v > version || (v == version && !equal));
    if older {
        return Ok(false);
    }
    join_member(tx, community_id, PLATFORM, member, at).await?;
    tx.for_community(community_id)
        .set_member_profile_version(&member.platform_user_id, version)
        .await?;
    Ok(true)
}

/// Whether a user belongs to the workspace `team` (a user whose record names no team is
/// taken as the workspace's own, as Slack omits it for some accounts).
pub fn same_team(u: &SlackUser, team: Option<&str>) -> bool {
    match (u.team_id.as_deref(), team) {
        (Some(theirs), Some(ours)) => theirs == ours,
        _ => true,
    }
}

/// The bot token of a Slack community (its stored installation's, else the single-workspace
/// token when the community is that workspace) and its workspace id.
pub async fn community_token(
    store: &Store,
    config: &SlackConfig,
    community_id: &CommunityId,
) -> anyhow::Result<Option<(BotToken, Option<String>)>> {
    let mut tx = store.begin().await?;
    let community = tx.community(community_id).await?;
    let stored = tx.for_community(community_id).bot_token().await?;
    tx.commit().await?;
    if community.platform != PLATFORM || community.state != CommunityState::Active {
        return Ok(None);
    }
    let team = community.platform_team_id;
    let token = stored
        .map(|t| BotToken::new(t.expose_secret()))
        .or_else(|| config.single_bot_token_for(team.as_deref()));
    Ok(token.map(|t| (t, team)))
}

/// Enqueue a member sync of a community (job [`classcred_service::SYNC_MEMBERS_JOB`]), e.g.
/// after an install or at start in single-workspace mode, so no request or start-up waits for
/// `users.list`.
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

fn job_community(job: &ClaimedJob) -> anyhow::Result<CommunityId> {
    Ok(job.payload_community_id()?)
}

/// Handler of [`classcred_service::SYNC_MEMBERS_JOB`] for Slack communities.
pub async fn sync_members_job(
    store: &Store,
    client: &SlackClient,
    config: &SlackConfig,
    job: &ClaimedJob,
) -> anyhow::Result<()> {
    let community_id = &job_community(job)?;
    let Some((token, _)) = community_token(store, config, community_id).await? else {
        tracing::warn!(community_id = %community_id, job_id = %job.id, "members not synced: no bot token");
        return Ok(());
    };
    sync_members(store, client, community_id, &token, None).await?;
    Ok(())
}

/// What Slack says about one user id, for a community of workspace `team`: a member (person
/// or bot), or not one (deactivated, another workspace, unknown). `Err` when Slack could not
/// answer now (network, rate limit, 5xx): the id is looked up again later, never guessed.
pub async fn resolve_user(
    client: &SlackClient,
    token: &BotToken,
    team: Option<&str>,
    user: &str,
) -> Result<Resolved, SlackApiError> {
    let Ok(uid) = SlackUserId::parse(user) else {
        return Ok(Resolved::NotMember("not_found"));
    };
    match client.users_info(token, &uid).await {
        Ok(u) if u.deleted => Ok(Resolved::NotMember("deactivated")),
        Ok(u) if !same_team(&u, team) => Ok(Resolved::NotMember("other_workspace")),
        Ok(u) if u.id != uid => Ok(Resolved::NotMember("not_found")),
        Ok(u) => Ok(Resolved::Member(convert::new_member(
            &u,
            Role::Student,
            None,
        ))),
        Err(SlackApiError::Api { error, .. })
            if matches!(error.as_str(), "user_not_found" | "user_not_visible") =>
        {
            Ok(Resolved::NotMember("not_found"))
        }
        Err(e) => Err(e),
    }
}

/// Handler of [`classcred_service::RESOLVE_MEMBERS_JOB`] for Slack communities: looks up with
/// `users.info` each platform id the oldest pending event waits for, records the answers
/// (members join; bots join as bots; deactivated users, users of another workspace and
/// unknown ids are remembered as non-members), and schedules processing again. What was
/// answered is kept when a later lookup fails; the job then fails and is retried.
pub async fn resolve_members_job(
    store: &Store,
    client: &SlackClient,
    config: &SlackConfig,
    job: &ClaimedJob,
) -> anyhow::Result<()> {
    let community_id = &job_community(job)?;
    let unknown = classcred_service::unresolved_members(store, community_id).await?;
    if unknown.is_empty() {
        classcred_service::record_resolutions(store, community_id, PLATFORM, &[]).await?;
        return Ok(());
    }
    let Some((token, team)) = community_token(store, config, community_id).await? else {
        // No way to ask Slack (uninstalled, disabled): nobody unknown receives fire.
        let all: Vec<(String, Resolved)> = unknown
            .into_iter()
            .map(|u| (u, Resolved::NotMember("not_found")))
            .collect();
        classcred_service::record_resolutions(store, community_id, PLATFORM, &all).await?;
        tracing::warn!(community_id = %community_id, job_id = %job.id, "members not resolved: no bot token");
        return Ok(());
    };
    let mut answered = Vec::with_capacity(unknown.len());
    let mut failed = None;
    for user in unknown {
        match resolve_user(client, &token, team.as_deref(), &user).await {
            Ok(r) => answered.push((user, r)),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    classcred_service::record_resolutions(store, community_id, PLATFORM, &answered).await?;
    tracing::debug!(community_id = %community_id, job_id = %job.id, resolved = answered.len(), "members resolved");
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}
