//! Rooms and members: a room the bot is invited to is a community (platform `matrix`, team id =
//! room id); `m.room.member` joins and invites make members.
//!
//! Leaving is never destructive: a member who leaves the room keeps their member row, ledger
//! and history (and can still be shown on the leaderboard); erasure goes through the privacy
//! requests. The bot itself leaving or being kicked or banned disables the community (as a Slack
//! uninstall does); inviting it again re-enables it with everything kept.

use classcred_service::join_member;
use classcred_store::jobs::NewJob;
use classcred_store::{CommunityId, MemberKind, MemberProfile, NewMember, Role, Store, Tx};

/// The `platform` of Matrix communities and inbox rows.
pub const PLATFORM: &str = "matrix";
/// Job kind: the bot joins a room it was invited to (payload `{community_id, room_id}`), then
/// the room's members are synced.
pub const JOIN_JOB: &str = "matrix.join";

/// A member record for a Matrix user (display name as the encrypted profile).
pub fn new_member(
    user_id: &str,
    displayname: Option<&str>,
    role: Role,
    kind: MemberKind,
) -> NewMember {
    NewMember {
        platform_user_id: user_id.to_owned(),
        role,
        kind,
        profile: MemberProfile {
            display_name: displayname
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(str::to_owned),
            ..MemberProfile::default()
        },
    }
}

/// What an invite of the bot did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub community_id: CommunityId,
    /// Created by this invite (else an existing community, re-enabled when it was disabled).
    pub created: bool,
}

/// The bot was invited to `room_id` by `inviter`: the room's community is created (the
/// inviter its Admin, the bot its app member) or re-enabled (nobody's role changes) through the
/// seam's install (one transaction), then a [`JOIN_JOB`] is enqueued (once per invite event).
/// Both steps are idempotent: when the second fails, the homeserver's retry of the transaction
/// repeats both.
pub async fn install_room(
    store: &Store,
    room_id: &str,
    room_name: Option<&str>,
    inviter: &str,
    bot_user_id: &str,
    invite_event_id: &str,
) -> anyhow::Result<Installed> {
    let name = room_name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| n.chars().take(200).collect::<String>())
        .unwrap_or_else(|| format!("Matrix room {room_id}"));
    let done = classcred_platform::install(
        store,
        &classcred_platform::Install {
            platform: classcred_platform::Platform::Matrix,
            team_id: room_id.to_owned(),
            name,
            installer: Some(new_member(inviter, None, Role::Admin, MemberKind::Human)),
            app_member: Some(new_member(
                bot_user_id,
                None,
                Role::Student,
                MemberKind::App,
            )),
            installation: None,
        },
    )
    .await?;
    let mut job = NewJob::new(
        JOIN_JOB,
        serde_json::json!({ "community_id": done.community_id, "room_id": room_id }),
    );
    job.community_id = Some(done.community_id.clone());
    job.dedupe_key = Some(format!("{JOIN_JOB}:{invite_event_id}"));
    job.max_attempts = 10;
    store.enqueue(&job).await?;
    Ok(Installed {
        community_id: done.community_id,
        created: done.created,
    })
}

/// The bot left, or was kicked or banned from, a room: its community is disabled (data kept).
pub async fn disable_room(tx: &mut Tx<'_>, community_id: &CommunityId) -> anyhow::Result<()> {
    classcred_platform::lifecycle::disable(tx, community_id).await?;
    tracing::info!(community_id = %community_id, "bot removed from the Matrix room: community disabled");
    Ok(())
}

/// Adds or updates a member from a membership event stamped `version` (ms), unless a newer one
/// was applied already. Existing members keep their role. Returns whether it was applied.
pub async fn apply_member(
    tx: &mut Tx<'_>,
    community_id: &CommunityId,
    member: &NewMember,
    version: i64,
    at: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<bool> {
    let stored = tx
        .for_community(community_id)
        .member_profile_version(&member.platform_user_id)
        .await?;
    if stored.is_some_and(|v| v > version) {
        return Ok(false);
    }
    join_member(tx, community_id, PLATFORM, member, at).await?;
    tx.for_community(community_id)
        .set_member_profile_version(&member.platform_user_id, version)
        .await?;
    Ok(true)
}
