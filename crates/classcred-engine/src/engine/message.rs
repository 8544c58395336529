//! Fire in messages: post, edit (diff against what the message already awarded) and delete.
//!
//! A message is remembered (as a [`MessageRecord`]) once it carries fire, and always when it is
//! deleted (a tombstone). The record makes every message event idempotent and order-tolerant:
//! - a post for a message already recorded is a duplicate (or arrived after its own edit);
//! - an edit applies only if it is newer (platform time) than the last post/edit applied, and an
//!   edit of a message never seen acts as the post, at the edit's time (recorded even without
//!   fire, so the late post is recognised as stale);
//! - a delete reverses everything standing (including 🔥 reactions on it) and wins for good.

use chrono::{DateTime, Utc};

use super::give::{Giver, Want};
use super::Ctx;
use crate::activity::ActivityKind;
use crate::event::{MessageDeleted, MessageEdited, MessagePosted};
use crate::ids::MemberId;
use crate::ledger::Source;
use crate::outcome::{MessageRecord, NoticeKind};
use crate::state::StateView;

pub(super) fn posted<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, e: &MessagePosted) {
    let known = cx.state.message(&e.platform_message_id);
    super::questions::posted(cx, e, known.as_ref().is_some_and(|m| m.deleted));
    super::polls::thread_post(cx, e);
    if !known.as_ref().is_some_and(|m| m.deleted) {
        super::firsts::posted(cx, e);
    }
    if known.is_some() {
        return;
    }
    let id = e.platform_message_id.as_str();
    cx.did(
        &e.author,
        e.occurred_at,
        ActivityKind::Posted {
            message: id.into(),
            channel: e.channel.as_deref().map(Into::into),
            thread: e.thread.as_deref().filter(|t| *t != id).map(Into::into),
        },
    );
    let record = create(
        cx,
        &e.platform_message_id,
        &e.author,
        &e.mentions,
        e.fire_count,
        e.occurred_at,
    );
    cx.out.messages.extend(record);
}

/// Distinct eligible recipients in mention order (each made into a `T` by `make`, which
/// `id` reads back); tells the author if they mentioned themselves.
fn eligible<S: StateView + ?Sized, T>(
    cx: &mut Ctx<'_, S>,
    author: &MemberId,
    mentions: &[MemberId],
    fire_count: u32,
    make: impl Fn(&MemberId) -> T,
    id: impl Fn(&T) -> &MemberId,
) -> Vec<T> {
    if fire_count == 0 {
        return Vec::new();
    }
    let mut out: Vec<T> = Vec::with_capacity(mentions.len());
    let mut mentioned_self = false;
    for m in mentions {
        if m == author {
            mentioned_self = true;
        } else if !out.iter().any(|t| id(t) == m) && cx.member(m).can_receive() {
            out.push(make(m));
        }
    }
    if mentioned_self {
        cx.notify(author, NoticeKind::SelfFireRefused);
    }
    out
}

/// Gives the fire of a message seen for the first time. Returns the record to store, or
/// `None` for a message without fire (nothing to remember).
fn create<S: StateView + ?Sized>(
    cx: &mut Ctx<'_, S>,
    id: &str,
    author: &MemberId,
    mentions: &[MemberId],
    fire_count: u32,
    at: DateTime<Utc>,
) -> Option<MessageRecord> {
    if fire_count == 0 {
        return None;
    }
    let wants = eligible(
        cx,
        author,
        mentions,
        fire_count,
        |m| Want {
            recipient: m.clone(),
            first_unit: 0,
            count: fire_count,
        },
        |w| &w.recipient,
    );
    let mut record = MessageRecord {
        platform_message_id: id.to_owned(),
        author: Some(author.clone()),
        version: at,
        deleted: false,
        recipients: Vec::new(),
    };
    let info = cx.member(author);
    if info.can_give() && !wants.is_empty() {
        let giver = Giver {
            id: author,
            info,
            source: Source::Message(id),
            message_id: id,
            at,
        };
        if let Some(given) = cx.try_give(&giver, &wants) {
            record.recipients = given;
        }
    }
    Some(record)
}

pub(super) fn edited<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, e: &MessageEdited) {
    let id = e.platform_message_id.as_str();
    let mut rec = match cx.state.message(id) {
        None => {
            // The edit is the first we hear of this message: it acts as the post, and the
            // record is kept even without fire so that the (older) post, if it comes, is stale.
            let record = create(cx, id, &e.author, &e.mentions, e.fire_count, e.occurred_at)
                .unwrap_or_else(|| MessageRecord {
                    platform_message_id: id.to_owned(),
                    author: Some(e.author.clone()),
                    version: e.occurred_at,
                    deleted: false,
                    recipients: Vec::new(),
                });
            cx.out.messages.push(record);
            return;
        }
        Some(rec) if rec.deleted || rec.version >= e.occurred_at => return,
        Some(rec) => rec,
    };
    let author = rec.author.clone().unwrap_or_else(|| e.author.clone());
    let desired = eligible(
        cx,
        &author,
        &e.mentions,
        e.fire_count,
        MemberId::clone,
        |m| m,
    );
    let info = cx.member(&author);
    let giver = Giver {
        id: &author,
        info,
        source: Source::Message(id),
        message_id: id,
        at: e.occurred_at,
    };
    // Take back what the new text no longer asks for (newest units first)...
    for ru in &mut rec.recipients {
        let keep = if desired.contains(&ru.recipient) {
            e.fire_count
        } else {
            0
        } as usize;
        if ru.standing.len() > keep {
            let removed = ru.standing.split_off(keep);
            cx.reverse(&giver, &ru.recipient, &removed);
        }
    }
    // ...then award what it adds, if the quota allows (all or nothing).
    if info.can_give() {
        let wants: Vec<Want> = desired
            .iter()
            .filter_map(|r| {
                let (have, next) = rec
                    .recipients
                    .iter()
                    .find(|ru| &ru.recipient == r)
                    .map_or((0, 0), |ru| (ru.standing.len() as u32, ru.next_unit));
                (e.fire_count > have).then(|| Want {
                    recipient: r.clone(),
                    first_unit: next,
                    count: e.fire_count - have,
                })
            })
            .collect();
        if let Some(given) = cx.try_give(&giver, &wants) {
            for new in given {
                match rec
                    .recipients
                    .iter_mut()
                    .find(|ru| ru.recipient == new.recipient)
                {
                    Some(ru) => {
                        ru.standing.extend(new.standing);
                        ru.next_unit = new.next_unit;
                    }
                    None => rec.recipients.push(new),
                }
            }
        }
    }
    rec.version = e.occurred_at;
    cx.out.messages.push(rec);
}

pub(super) fn deleted<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, e: &MessageDeleted) {
    let id = e.platform_message_id.as_str();
    let at = e.occurred_at;
    match cx.state.message(id) {
        Some(rec) if rec.deleted => return,
        Some(mut rec) => {
            if let Some(author) = rec.author.clone() {
                let giver = Giver {
                    id: &author,
                    info: cx.member(&author),
                    source: Source::Message(id),
                    message_id: id,
                    at,
                };
                for ru in &mut rec.recipients {
                    let removed = std::mem::take(&mut ru.standing);
                    cx.reverse(&giver, &ru.recipient, &removed);
                }
            }
            rec.deleted = true;
            rec.version = rec.version.max(at);
            cx.out.messages.push(rec);
        }
        None => cx.out.messages.push(MessageRecord {
            platform_message_id: id.to_owned(),
            author: None,
            version: at,
            deleted: true,
            recipients: Vec::new(),
        }),
    }
    super::questions::deleted(cx, id, at);
    for mut rr in cx.state.reactions_on(id) {
        if let Some(unit) = rr.standing.take() {
            let giver = Giver {
                id: &rr.reactor,
                info: cx.member(&rr.reactor),
                source: Source::Reaction {
                    message: id,
                    reactor: &rr.reactor,
                },
                message_id: id,
                at,
            };
            cx.reverse(&giver, &rr.author, &[unit]);
            rr.version = rr.version.max(at);
            cx.out.reactions.push(rr);
        }
    }
}
