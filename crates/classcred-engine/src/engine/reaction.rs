//! 🔥 reactions: adding one gives the message author one fire (quota, tax and course dates
//! apply); removing it reverses that unit. Each (message, reactor) pair has a
//! [`ReactionRecord`] whose platform-time version makes duplicates and stale deliveries no-ops;
//! a reaction re-added after removal uses a fresh unit index. Reactions on a deleted message
//! give nothing. The per-community switch stops new gives; removals still reverse.

use super::give::{Giver, Want};
use super::Ctx;
use crate::event::Reaction;
use crate::ledger::Source;
use crate::outcome::{NoticeKind, ReactionRecord};
use crate::state::StateView;

pub(super) fn added<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, r: &Reaction) {
    if !r.is_fire || !cx.settings.reactions_enabled {
        return;
    }
    let id = r.platform_message_id.as_str();
    if cx.state.message(id).is_some_and(|m| m.deleted) {
        return;
    }
    let prev = cx.state.reaction(id, &r.reactor);
    match &prev {
        Some(p) if p.version >= r.occurred_at => return,
        Some(p) if p.standing.is_some() => {
            // Already standing (this add overtook the removal before it): remember that the
            // reaction is on as of this time, so the older removal becomes stale.
            cx.out.reactions.push(ReactionRecord {
                version: r.occurred_at,
                ..p.clone()
            });
            return;
        }
        _ => {}
    }
    let mut rec = prev.unwrap_or_else(|| ReactionRecord {
        platform_message_id: id.to_owned(),
        reactor: r.reactor.clone(),
        author: r.message_author.clone(),
        version: r.occurred_at,
        standing: None,
        next_unit: 0,
    });
    rec.version = r.occurred_at;
    if rec.reactor == rec.author {
        cx.notify(&r.reactor, NoticeKind::SelfFireRefused);
    } else {
        let info = cx.member(&r.reactor);
        if info.can_give() && cx.member(&rec.author).can_receive() {
            let giver = Giver {
                id: &r.reactor,
                info,
                source: Source::Reaction {
                    message: id,
                    reactor: &r.reactor,
                },
                message_id: id,
                at: r.occurred_at,
            };
            let wants = [Want {
                recipient: rec.author.clone(),
                first_unit: rec.next_unit,
                count: 1,
            }];
            if let Some(given) = cx.try_give(&giver, &wants) {
                rec.standing = given.into_iter().flat_map(|ru| ru.standing).next();
                rec.next_unit += 1;
            }
        }
    }
    cx.out.reactions.push(rec);
}

pub(super) fn removed<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, r: &Reaction) {
    let id = r.platform_message_id.as_str();
    // A deleted message already had its reactions reversed.
    if !r.is_fire || cx.state.message(id).is_some_and(|m| m.deleted) {
        return;
    }
    match cx.state.reaction(id, &r.reactor) {
        None => cx.out.reactions.push(ReactionRecord {
            platform_message_id: id.to_owned(),
            reactor: r.reactor.clone(),
            author: r.message_author.clone(),
            version: r.occurred_at,
            standing: None,
            next_unit: 0,
        }),
        Some(p) if p.version >= r.occurred_at => {}
        Some(mut p) => {
            if let Some(unit) = p.standing.take() {
                let giver = Giver {
                    id: &r.reactor,
                    info: cx.member(&r.reactor),
                    source: Source::Reaction {
                        message: id,
                        reactor: &r.reactor,
                    },
                    message_id: id,
                    at: r.occurred_at,
                };
                cx.reverse(&giver, &p.author, &[unit]);
            }
            p.version = r.occurred_at;
            cx.out.reactions.push(p);
        }
    }
}
