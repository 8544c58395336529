//! Installs, uninstalls and the stored reference to a Teams community.
//!
//! A community is a team (`channelData.team.id`) or a group chat (its conversation id). The
//! bot being added (`conversationUpdate` with the bot in `membersAdded`, or `installationUpdate`
//! `add`) installs it through the seam; the bot removed (or `installationUpdate` `remove`)
//! disables it. Teams bots have no per-install token (the app's own credentials are used
//! everywhere), so the installation row's encrypted credential field holds the
//! [`TeamsRef`] instead: the `serviceUrl`, tenant and bot id needed to reach the community
//! later (notices, member look-ups).

use classcred_platform::{Install, Platform};
use classcred_store::{
    Community, CommunityId, MemberKind, MemberProfile, NewInstallation, NewMember, Role, Store,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::activity::{Account, Activity};
use crate::PLATFORM;

/// How to reach a community: kept (encrypted) in its installation row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamsRef {
    /// The Connector's base URL for this tenant (`https://smba.trafficmanager.net/amer/`).
    pub service_url: String,
    /// The conversation whose members are the community: the team id (its General channel)
    /// or the group chat.
    pub conversation_id: String,
    /// The bot's id in Teams (`28:<app id>`).
    pub bot_id: String,
    pub tenant_id: Option<String>,
}

/// The reference of an active community, from its newest installation.
pub async fn community_ref(
    store: &Store,
    community_id: &CommunityId,
) -> anyhow::Result<Option<TeamsRef>> {
    let mut tx = store.begin_read().await?;
    let token = tx.for_community(community_id).bot_token().await?;
    tx.commit().await?;
    Ok(token.and_then(|t| serde_json::from_str(t.expose_secret()).ok()))
}

fn bare(id: &str, role: Role, kind: MemberKind) -> NewMember {
    NewMember {
        platform_user_id: id.to_owned(),
        role,
        kind,
        profile: MemberProfile::default(),
    }
}

/// A person of Teams (not a bot) as a new member.
pub fn person(a: &Account) -> Option<NewMember> {
    (!a.id.is_empty() && !a.is_bot()).then(|| bare(&a.id, Role::Student, MemberKind::Human))
}

/// The community's name: the team's name when Teams gives it.
fn name(a: &Activity, key: &str) -> String {
    let team_name = a
        .channel_data
        .as_ref()
        .and_then(|c| c.team.as_ref())
        .and_then(|t| t.name.as_deref())
        .map(str::trim)
        .filter(|n| !n.is_empty());
    match team_name {
        Some(n) => n.chars().take(200).collect(),
        None if a.team_id().is_some() => format!("Teams team {key}"),
        None => format!("Teams group chat {key}"),
    }
}

/// Installs the community of `a` (team or group chat) for the bot `bot_id`.
pub async fn install(
    store: &Store,
    a: &Activity,
    key: &str,
    bot_id: &str,
) -> anyhow::Result<CommunityId> {
    let reference = TeamsRef {
        service_url: a.service_url.clone(),
        conversation_id: key.to_owned(),
        bot_id: bot_id.to_owned(),
        tenant_id: a.tenant_id().map(str::to_owned),
    };
    let installer = a.from.as_ref().and_then(person).map(|mut m| {
        // The seam makes the installer an Admin only of a community this install creates.
        m.role = Role::Admin;
        m
    });
    let installed = classcred_platform::install(
        store,
        &Install {
            platform: Platform::Teams,
            team_id: key.to_owned(),
            name: name(a, key),
            installer,
            app_member: Some(bare(bot_id, Role::Student, MemberKind::App)),
            installation: Some(NewInstallation {
                platform: PLATFORM.to_owned(),
                platform_team_id: key.to_owned(),
                bot_user_id: Some(bot_id.to_owned()),
                scopes: a
                    .conversation
                    .as_ref()
                    .and_then(|c| c.conversation_type.clone())
                    .unwrap_or_else(|| "channel".into()),
                bot_token: SecretString::from(serde_json::to_string(&reference)?),
                installed_by_member_id: None,
            }),
        },
    )
    .await?;
    Ok(installed.community_id)
}

/// Disables the community keyed `key`.
pub async fn uninstall(store: &Store, key: &str) -> anyhow::Result<Option<CommunityId>> {
    classcred_platform::uninstall(store, Platform::Teams, key).await
}

/// The community keyed `key` (team or group chat), if installed.
pub async fn community(store: &Store, key: &str) -> anyhow::Result<Option<Community>> {
    let mut tx = store.begin_read().await?;
    let c = tx.community_by_team(PLATFORM, key).await?;
    tx.commit().await?;
    Ok(c)
}
