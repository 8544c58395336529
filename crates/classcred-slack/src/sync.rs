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
use classcred_store::jobs::ClaimedJob;
use classcred_store::{
    CommunityId, CommunityState, MemberKind, MemberProfile, MemberRowId, NewCommunity,
    NewInstallation, NewMember, Role, Store, Tx,
};
use secrecy::{ExposeSecret, SecretString};

/// Platform name of Slack communities.
pub const PLATFORM: &str = "slack";
/// Settings of a new community: the engine's defaults (every field has one).
pub use classcred_platform::lifecycle::DEFAULT_SETTINGS_JSON;

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

/// The database side of an OAuth install, in one transaction (the platform seam's
/// `classcred_platform::install`): the community of the workspace (created, or reused and
/// re-activated), the installer (Admin when the community is created here, else a Student
/// unless already a member), the app's bot user as the app, and the installation with the bot
/// token encrypted.
pub async fn record_install(store: &Store, access: &OAuthAccess) -> anyhow::Result<Installed> {
    let team = access
        .team
        .as_ref()
        .context("org-wide (Enterprise Grid) installs are not supported: install per workspace")?;
    let team_id = team.id.as_str();
    let done = classcred_platform::install(
        store,
        &classcred_platform::Install {
            platform: classcred_platform::Platform::Slack,
            team_id: team_id.to_owned(),
            name: team
                .name
                .clone()
                .unwrap_or_else(|| format!("Slack workspace {team_id}")),
            installer: Some(bare(
                &access.authed_user.id,
                Role::Student,
                MemberKind::Human,
            )),
            app_member: Some(bare(&access.bot_user_id, Role::Student, MemberKind::App)),
            installation: Some(NewInstallation {
                platform: PLATFORM.to_owned(),
                platform_team_id: team_id.to_owned(),
                bot_user_id: Some(access.bot_user_id.as_str().to_owned()),
                scopes: access.scope.clone(),
                bot_token: SecretString::from(access.access_token.expose().to_owned()),
                installed_by_member_id: None,
            }),
        },
    )
    .await?;
    Ok(Installed {
        community_id: done.community_id,
        created: done.created,
        admin_member_id: done
            .installer_member_id
            .context("the installer has no member row")?,
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
pub use classcred_platform::members::enqueue_sync;

/// Handler of [`classcred_service::SYNC_MEMBERS_JOB`] for Slack communities (through the
/// platform seam, as the server runs it).
pub async fn sync_members_job(
    store: &Store,
    client: &SlackClient,
    config: &SlackConfig,
    job: &ClaimedJob,
) -> anyhow::Result<()> {
    classcred_platform::Platforms::new()
        .with(crate::adapter(client.clone(), config.clone()))
        .sync_members_job(store, job)
        .await
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

/// Handler of [`classcred_service::RESOLVE_MEMBERS_JOB`] for Slack communities (through the
/// platform seam, as the server runs it): looks up with `users.info` each platform id the
/// oldest pending event waits for, records the answers (members join; bots join as bots;
/// deactivated users, users of another workspace and unknown ids are remembered as
/// non-members), and schedules processing again. What was answered is kept when a later
/// lookup fails; the job then fails and is retried.
pub async fn resolve_members_job(
    store: &Store,
    client: &SlackClient,
    config: &SlackConfig,
    job: &ClaimedJob,
) -> anyhow::Result<()> {
    classcred_platform::Platforms::new()
        .with(crate::adapter(client.clone(), config.clone()))
        .resolve_members_job(store, job)
        .await
}

/// Slack's member directory for the platform seam (`classcred_platform::MemberDirectory`):
/// `users.list` for the sync, `users.info` for each unknown id.
#[derive(Clone)]
pub struct SlackMembers {
    pub client: SlackClient,
    pub config: SlackConfig,
}

#[async_trait::async_trait]
impl classcred_platform::MemberDirectory for SlackMembers {
    async fn sync_members(
        &self,
        store: &Store,
        community: &classcred_store::Community,
    ) -> anyhow::Result<usize> {
        let Some((token, _)) = community_token(store, &self.config, &community.id).await? else {
            tracing::warn!(community_id = %community.id, "members not synced: no bot token");
            return Ok(0);
        };
        sync_members(store, &self.client, &community.id, &token, None).await
    }

    async fn resolve(
        &self,
        store: &Store,
        community: &classcred_store::Community,
        platform_user_ids: &[String],
    ) -> anyhow::Result<Vec<(String, Resolved)>> {
        let Some((token, team)) = community_token(store, &self.config, &community.id).await? else {
            // No way to ask Slack (uninstalled, disabled): nobody unknown receives fire.
            tracing::warn!(community_id = %community.id, "members not resolved: no bot token");
            return Ok(platform_user_ids
                .iter()
                .map(|u| (u.clone(), Resolved::NotMember("not_found")))
                .collect());
        };
        let mut answered = Vec::with_capacity(platform_user_ids.len());
        for user in platform_user_ids {
            match resolve_user(&self.client, &token, team.as_deref(), user).await {
                Ok(r) => answered.push((user.clone(), r)),
                // Asked again later; what was answered is kept.
                Err(e) => {
                    tracing::warn!(community_id = %community.id, error = %e, "member look-up failed");
                    break;
                }
            }
        }
        Ok(answered)
    }
}
