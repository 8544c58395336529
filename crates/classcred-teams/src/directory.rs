//! The seam's [`NoticeSink`] and [`MemberDirectory`] for Teams.
//!
//! Notices go to a **personal conversation** of the bot with the member (`POST v3/conversations`,
//! then `POST v3/conversations/{id}/activities`), never into the channel the member acted in:
//! Teams has no ephemeral messages, and a notice ("your fire was refused: weekly quota used")
//! is for the member alone. Teams lets a bot installed in a team start a 1:1 chat with that
//! team's members.
//!
//! Members: `GET v3/conversations/{team or chat}/pagedmembers`, every page (sync), and the same
//! pages to resolve unknown ids, read until every id is found (an id on no page is not a member).
//! Pages are read before the database transaction opens: no transaction waits on the Connector.

use classcred_platform::{Doc, MemberDirectory, NoticeSink, OutgoingNotice, Posted};
use classcred_service::Resolved;
use classcred_store::{Community, MemberKind, MemberProfile, NewMember, Role, Store};

use crate::connector::{Connector, ConversationMember};
use crate::install::{community_ref, TeamsRef};
use crate::PLATFORM;

/// Notices and member look-ups through the Connector API.
#[derive(Clone)]
pub struct TeamsDirectory {
    pub connector: Connector,
}

fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// A conversation member as a new member (people as Students; bots as bots). Only the
/// profile fields the privacy registry declares: name and email.
pub fn new_member(m: &ConversationMember, bot_id: &str) -> NewMember {
    let kind = if m.id == bot_id {
        MemberKind::App
    } else if m.id.starts_with("28:") || m.user_role.as_deref() == Some("bot") {
        MemberKind::Bot
    } else {
        MemberKind::Human
    };
    NewMember {
        platform_user_id: m.id.clone(),
        role: Role::Student,
        kind,
        profile: MemberProfile {
            name: nonempty(&m.name),
            display_name: None,
            email: nonempty(&m.email).or_else(|| nonempty(&m.user_principal_name)),
            avatar_url: None,
            timezone: None,
        },
    }
}

async fn reference(store: &Store, community: &Community) -> anyhow::Result<Option<TeamsRef>> {
    if community.platform != PLATFORM {
        return Ok(None);
    }
    community_ref(store, &community.id).await
}

#[async_trait::async_trait]
impl NoticeSink for TeamsDirectory {
    async fn send(&self, store: &Store, n: &OutgoingNotice) -> anyhow::Result<()> {
        let Some(r) = reference(store, &n.community).await? else {
            tracing::warn!(community_id = %n.community.id, "notice not sent: no Teams installation");
            return Ok(());
        };
        let sent = async {
            let conv = self
                .connector
                .create_personal(
                    &r.service_url,
                    &r.bot_id,
                    &n.platform_user_id,
                    r.tenant_id.as_deref(),
                )
                .await?;
            let mut activity = crate::render::message_activity(&n.doc);
            // "Someone answered your question": an Accept button, like Slack's.
            if let classcred_engine::NoticeKind::AnswerReceived { answer, .. } = &n.notice.kind {
                activity["attachments"] = serde_json::Value::Array(vec![
                    crate::cards::buttons_card(&[crate::cards::accept_button(answer)]),
                ]);
            }
            self.connector.send(&r.service_url, &conv, &activity).await
        }
        .await;
        match sent {
            Ok(_) => Ok(()),
            Err(e) if e.is_transient() => Err(e.into()),
            Err(e) => {
                // The member left, blocked the bot, or the serviceUrl is not allowed: retrying
                // changes nothing.
                tracing::warn!(community_id = %n.community.id, job_id = %n.job_id, error = %e, "Teams refused the notice; not retried");
                Ok(())
            }
        }
    }

    /// A new post in the channel conversation (`POST v3/conversations/{channel}/activities`;
    /// the team id is its General channel).
    async fn post(
        &self,
        store: &Store,
        community: &Community,
        channel: &str,
        _key: &str,
        doc: &Doc,
    ) -> anyhow::Result<Posted> {
        let activity = crate::render::message_activity(doc);
        self.post_activity(store, community, channel, activity)
            .await
    }

    /// A poll or debate as a new post in the channel: its text, and while it is open an
    /// Adaptive Card with one vote button per option (a click is the `vote N K` command).
    async fn post_poll(
        &self,
        store: &Store,
        community: &Community,
        channel: &str,
        _key: &str,
        poll: &classcred_service::polls::PollView,
    ) -> anyhow::Result<Posted> {
        let doc = classcred_platform::polls::poll_doc(poll, crate::commands::PREFIX);
        let mut activity = crate::render::message_activity(&doc);
        if poll.closed_at.is_none() {
            let buttons: Vec<_> = poll
                .options
                .iter()
                .enumerate()
                .map(|(i, o)| crate::cards::vote_button(poll.number, i, o))
                .collect();
            activity["attachments"] =
                serde_json::Value::Array(vec![crate::cards::buttons_card(&buttons)]);
        }
        self.post_activity(store, community, channel, activity)
            .await
    }
}

impl TeamsDirectory {
    /// Sends `activity` as a new post in `channel` of the community's team.
    async fn post_activity(
        &self,
        store: &Store,
        community: &Community,
        channel: &str,
        activity: serde_json::Value,
    ) -> anyhow::Result<Posted> {
        let Some(r) = reference(store, community).await? else {
            return Ok(Posted::Refused("no Teams installation".into()));
        };
        match self
            .connector
            .send(&r.service_url, channel, &activity)
            .await
        {
            // In the adapter's message id form (`{conversation}:{activity id}`), so replies in
            // the post's thread name it as their root (announcement responses, asked
            // questions).
            Ok(id) => Ok(Posted::Sent(id.map(|id| {
                let base = channel.split(";messageid=").next().unwrap_or(channel);
                crate::convert::message_id(base, &id)
            }))),
            Err(e) if e.is_transient() => Err(e.into()),
            Err(e) => Ok(Posted::Refused(format!("Teams: {e}"))),
        }
    }
}

#[async_trait::async_trait]
impl MemberDirectory for TeamsDirectory {
    async fn sync_members(&self, store: &Store, community: &Community) -> anyhow::Result<usize> {
        let Some(r) = reference(store, community).await? else {
            return Ok(0);
        };
        let mut members = Vec::new();
        self.connector
            .each_members_page(&r.service_url, &r.conversation_id, |page| {
                members.extend(page);
                true
            })
            .await?;
        let now = store.clock().now();
        let mut tx = store.begin().await?;
        let mut n = 0;
        for m in &members {
            let member = new_member(m, &r.bot_id);
            classcred_service::join_member(&mut tx, &community.id, PLATFORM, &member, now).await?;
            n += 1;
        }
        tx.enqueue(&classcred_service::drain_job(&community.id))
            .await?;
        tx.commit().await?;
        tracing::info!(community_id = %community.id, members = n, "Teams members synced");
        Ok(n)
    }

    async fn resolve(
        &self,
        store: &Store,
        community: &Community,
        platform_user_ids: &[String],
    ) -> anyhow::Result<Vec<(String, Resolved)>> {
        let Some(r) = reference(store, community).await? else {
            return Ok(platform_user_ids
                .iter()
                .map(|id| (id.clone(), Resolved::NotMember("not_found")))
                .collect());
        };
        // The roster's pages answer every id (the Connector has no look-up by id that Teams
        // guarantees for channel conversations); reading stops once every id is found.
        let mut found: Vec<ConversationMember> = Vec::new();
        self.connector
            .each_members_page(&r.service_url, &r.conversation_id, |page| {
                found.extend(
                    page.into_iter()
                        .filter(|m| platform_user_ids.contains(&m.id)),
                );
                platform_user_ids
                    .iter()
                    .any(|id| !found.iter().any(|m| m.id == *id))
            })
            .await?;
        Ok(platform_user_ids
            .iter()
            .map(|id| {
                let resolved = match found.iter().find(|m| m.id == *id) {
                    Some(m) => Resolved::Member(new_member(m, &r.bot_id)),
                    None => Resolved::NotMember("not_found"),
                };
                (id.clone(), resolved)
            })
            .collect())
    }
}
