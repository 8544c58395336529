//! Member sync and look-up against the homeserver, and the bot's joining of rooms.

use classcred_service::Resolved;
use classcred_store::jobs::{ClaimedJob, NewJob};
use classcred_store::{Community, CommunityState, MemberKind, Role, Store};

use crate::client::Homeserver;
use crate::config::MatrixConfig;
use crate::rooms::{self, PLATFORM};

fn kind_of(cfg: &MatrixConfig, user_id: &str) -> MemberKind {
    if cfg.is_ours(user_id) {
        MemberKind::App
    } else {
        MemberKind::Human
    }
}

/// The room of a Matrix community (its team id), when it is an active Matrix community.
pub fn room_of(c: &Community) -> Option<&str> {
    (c.platform == PLATFORM && c.state == CommunityState::Active)
        .then_some(c.platform_team_id.as_deref())
        .flatten()
}

/// Adds or updates every joined member of the community's room (`joined_members`, display
/// names as profiles; existing members keep their role), then schedules processing. Returns
/// how many members were written.
pub async fn sync_members(
    store: &Store,
    hs: &Homeserver,
    cfg: &MatrixConfig,
    community: &Community,
) -> anyhow::Result<usize> {
    let Some(room) = room_of(community) else {
        return Ok(0);
    };
    let joined = hs.joined_members(room).await?;
    let now = store.clock().now();
    let mut tx = store.begin().await?;
    let mut n = 0;
    for m in &joined {
        let member = rooms::new_member(
            &m.user_id,
            m.displayname.as_deref(),
            Role::Student,
            kind_of(cfg, &m.user_id),
        );
        // Joined-members lists carry no time: applied unless a membership event newer than
        // now was (never), and stamped now.
        if rooms::apply_member(&mut tx, &community.id, &member, now.timestamp_millis(), now).await?
        {
            n += 1;
        }
    }
    tx.enqueue(&classcred_service::drain_job(&community.id))
        .await?;
    tx.commit().await?;
    tracing::info!(community_id = %community.id, members = n, "Matrix members synced");
    Ok(n)
}

/// What the homeserver says about user ids an event mentions: a member when they are joined to
/// (or invited into) the community's room, else not one. Transient failures are errors (the
/// ids are looked up again later, never guessed).
pub async fn resolve(
    hs: &Homeserver,
    cfg: &MatrixConfig,
    community: &Community,
    user_ids: &[String],
) -> anyhow::Result<Vec<(String, Resolved)>> {
    let Some(room) = room_of(community) else {
        return Ok(user_ids
            .iter()
            .map(|u| (u.clone(), Resolved::NotMember("not_found")))
            .collect());
    };
    let mut out = Vec::with_capacity(user_ids.len());
    for u in user_ids {
        if !crate::events::is_user_id(u) {
            out.push((u.clone(), Resolved::NotMember("not_found")));
            continue;
        }
        let r = match hs.membership(room, u).await {
            Ok(Some((m, name))) if m == "join" || m == "invite" => Resolved::Member(
                rooms::new_member(u, name.as_deref(), Role::Student, kind_of(cfg, u)),
            ),
            Ok(_) => Resolved::NotMember("not_found"),
            Err(e) if e.is_permanent() => Resolved::NotMember("not_found"),
            Err(e) => return Err(e.into()),
        };
        out.push((u.clone(), r));
    }
    Ok(out)
}

/// Handler of [`rooms::JOIN_JOB`]: the bot joins the room, then the room's members are synced
/// (a `members.sync` job). An invite withdrawn meanwhile (403/404) ends the job quietly.
pub async fn join_job(store: &Store, hs: &Homeserver, job: &ClaimedJob) -> anyhow::Result<()> {
    let community_id = job.payload_community_id()?;
    let room = job
        .payload
        .get("room_id")
        .and_then(|r| r.as_str())
        .ok_or_else(|| anyhow::anyhow!("{} job without room_id", rooms::JOIN_JOB))?;
    match hs.join(room).await {
        Ok(()) => {}
        Err(e) if e.is_permanent() => {
            tracing::warn!(community_id = %community_id, job_id = %job.id, error = %e, "Matrix room not joined");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    }
    let mut sync = NewJob::new(
        classcred_service::SYNC_MEMBERS_JOB,
        serde_json::json!({ "community_id": community_id }),
    );
    sync.community_id = Some(community_id.clone());
    sync.max_attempts = 10;
    store.enqueue(&sync).await?;
    tracing::info!(community_id = %community_id, "Matrix room joined");
    Ok(())
}
