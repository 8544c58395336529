//! Installing ClassCred into a workspace, team or room, and removing it: one transaction each.

use classcred_service::join_member;
use classcred_store::{
    CommunityId, CommunityState, MemberRowId, NewCommunity, NewInstallation, NewMember, Role, Store,
};

use crate::Platform;

/// Settings of a new community: the engine's defaults (every field has one).
pub const DEFAULT_SETTINGS_JSON: &str = "{}";

/// What an install knows.
#[derive(Debug, Clone)]
pub struct Install {
    pub platform: Platform,
    /// The platform's id of the place (Slack workspace `T…`, Teams team or chat, Matrix room).
    pub team_id: String,
    /// The community's name when it is created here.
    pub name: String,
    /// Who installed it: the community's Admin when the install creates the community; an
    /// existing member keeps their role and an unknown one joins as a Student otherwise (a
    /// re-install grants nothing). The role given here is ignored.
    pub installer: Option<NewMember>,
    /// The app's own user on the platform (joins as the app, never ranked).
    pub app_member: Option<NewMember>,
    /// Credentials to keep (encrypted), when the platform gives per-install ones.
    pub installation: Option<NewInstallation>,
}

/// What an install did.
#[derive(Debug, Clone)]
pub struct Installed {
    pub community_id: CommunityId,
    /// Whether the community was created by this install (false: re-install).
    pub created: bool,
    /// The installer's member row, when one was named.
    pub installer_member_id: Option<MemberRowId>,
}

/// Creates the community of `i.team_id` (with its institution), or re-enables it when it was
/// disabled by an uninstall; adds the installer and the app's user; records the installation.
pub async fn install(store: &Store, i: &Install) -> anyhow::Result<Installed> {
    let platform = i.platform.as_str();
    let now = store.clock().now();
    let mut tx = store.begin().await?;
    let (community_id, created) = match tx.community_by_team(platform, &i.team_id).await? {
        Some(c) => {
            if c.state != CommunityState::Active {
                tx.enable_community(&c.id).await?;
            }
            (c.id, false)
        }
        None => {
            let name = Some(i.name.trim())
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .unwrap_or_else(|| format!("{} {}", i.platform, i.team_id));
            let inst = tx.create_institution(&name).await?;
            let c = tx
                .create_community(NewCommunity {
                    institution_id: inst.id,
                    name,
                    platform: platform.to_owned(),
                    platform_team_id: Some(i.team_id.clone()),
                    settings_json: DEFAULT_SETTINGS_JSON.to_owned(),
                })
                .await?;
            (c.id, true)
        }
    };
    let mut installer_member_id = None;
    if let Some(who) = &i.installer {
        let existing = tx
            .for_community(&community_id)
            .member_id_by_platform(&who.platform_user_id)
            .await?;
        installer_member_id = Some(match existing {
            Some(id) => id,
            None => {
                let mut m = who.clone();
                m.role = if created { Role::Admin } else { Role::Student };
                join_member(&mut tx, &community_id, platform, &m, now).await?
            }
        });
    }
    if let Some(app) = &i.app_member {
        if tx
            .for_community(&community_id)
            .member_id_by_platform(&app.platform_user_id)
            .await?
            .is_none()
        {
            join_member(&mut tx, &community_id, platform, app, now).await?;
        }
    }
    if let Some(inst) = &i.installation {
        let mut inst = inst.clone();
        inst.installed_by_member_id = inst
            .installed_by_member_id
            .or_else(|| installer_member_id.clone());
        tx.for_community(&community_id)
            .save_installation(&inst)
            .await?;
    }
    tx.commit().await?;
    tracing::info!(community_id = %community_id, platform, created, "installed");
    Ok(Installed {
        community_id,
        created,
        installer_member_id,
    })
}

/// Removes the app from `team_id`: the community is disabled (nothing is processed or sent;
/// its data stays until the retention schedule or an erasure removes it) and its stored
/// credentials are revoked. Returns the community, or `None` when none is known.
pub async fn uninstall(
    store: &Store,
    platform: Platform,
    team_id: &str,
) -> anyhow::Result<Option<CommunityId>> {
    let mut tx = store.begin().await?;
    let Some(c) = tx.community_by_team(platform.as_str(), team_id).await? else {
        tx.commit().await?;
        return Ok(None);
    };
    disable(&mut tx, &c.id).await?;
    tx.commit().await?;
    tracing::info!(community_id = %c.id, platform = %platform, "uninstalled: community disabled");
    Ok(Some(c.id))
}

/// Disables a community and revokes its installations, in the caller's transaction.
pub async fn disable(tx: &mut classcred_store::Tx<'_>, id: &CommunityId) -> anyhow::Result<()> {
    tx.disable_community(id).await?;
    tx.for_community(id).revoke_installations().await?;
    Ok(())
}
