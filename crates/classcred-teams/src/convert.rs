//! From activities to the engine's neutral events. Pure functions, no I/O.
//!
//! Member references are Teams user ids (`29:…`, from `from.id` and
//! `entities[type=mention].mentioned.id` — never display names); the service resolves them.
//! A message's platform id is `"{conversation}:{activity id}"`, the conversation without its
//! `;messageid=` thread suffix (the channel or chat), the same for its post, edits, deletion
//! and reactions (`replyToId`). Fire is `(fire)`, `:fire:` or 🔥 outside `<at>…</at>` mention
//! spans, code and quotes.

use chrono::{DateTime, Utc};
use classcred_engine::{
    count_fire_tokens, looks_like_question, Event, MemberId, MessageDeleted, MessageEdited,
    MessagePosted, Reaction,
};

use crate::activity::Activity;

/// Teams' own spelling of 🔥 (typed as `(fire)`, the Skype emoticon code).
pub const FIRE_TOKEN: &str = "(fire)";

/// Reaction types taken as 🔥. Teams' classic reactions (`like`, `heart`, `laugh`, `surprised`,
/// `sad`, `angry`) have no fire; the newer emoji reactions name their emoji.
pub const FIRE_REACTIONS: &[&str] = &["fire", "1f525_fire", "\u{1F525}"];

/// `text` with the content of `<tag …>…</tag>` elements removed (case-insensitive; an element
/// left open runs to the end).
fn strip_element(text: &str, tag: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    while let Some(found) = lower[pos..].find(&open) {
        let start = pos + found;
        // `<at>` or `<at …>`, not `<attachment>`.
        let after = lower[start + open.len()..].chars().next();
        if !matches!(after, Some('>' | ' ' | '\t' | '\n')) {
            out.push_str(&text[pos..start + open.len()]);
            pos = start + open.len();
            continue;
        }
        out.push_str(&text[pos..start]);
        out.push(' ');
        pos = match lower[start..].find(&close) {
            Some(end) => start + end + close.len(),
            None => text.len(),
        };
    }
    out.push_str(&text[pos..]);
    out
}

/// The part of a message text where fire counts: without mention spans (a person named
/// "(fire)" gives nothing), code and quotes (the engine's scanner also skips Markdown code and
/// `>` quotes).
pub fn visible_text(text: &str) -> String {
    let mut t = text.to_owned();
    for tag in ["at", "code", "pre", "blockquote"] {
        t = strip_element(&t, tag);
    }
    t
}

/// Fire tokens in a message text.
pub fn fire_count(text: &str) -> u32 {
    count_fire_tokens(&visible_text(text), Some(FIRE_TOKEN))
}

/// A message's platform id.
pub fn message_id(conversation_base: &str, activity_id: &str) -> String {
    format!("{conversation_base}:{activity_id}")
}

/// The inbox event id of an activity: its id scoped by conversation (and, for edits, by the
/// edit's time, since every edit of a message carries the message's id).
pub fn event_id(a: &Activity) -> Option<String> {
    let id = a.id.as_deref().filter(|i| !i.is_empty())?;
    let conv = a.conversation.as_ref()?.base();
    Some(match a.kind.as_str() {
        "messageUpdate" => format!(
            "{conv}:{id}:edit:{}",
            a.timestamp.map_or(0, |t| t.timestamp_millis())
        ),
        "messageDelete" => format!("{conv}:{id}:delete"),
        "message" => format!("{conv}:{id}"),
        other => format!("{conv}:{id}:{other}"),
    })
}

fn occurred_at(a: &Activity, now: DateTime<Utc>) -> DateTime<Utc> {
    a.timestamp.unwrap_or(now)
}

/// The person who wrote a message activity: not a bot, not this bot.
fn author(a: &Activity) -> Option<&str> {
    let from = a.from.as_ref()?;
    if from.id.is_empty() || from.is_bot() || Some(from.id.as_str()) == a.bot_id() {
        return None;
    }
    Some(from.id.as_str())
}

fn ids(v: Vec<String>) -> Vec<MemberId> {
    v.into_iter().map(MemberId::new).collect()
}

/// The engine event for a `message`: `None` for bots, or when it has neither fire nor a
/// mention of someone other than the bot.
pub fn message_posted(a: &Activity, now: DateTime<Utc>) -> Option<Event> {
    let author = author(a)?;
    let id = a.id.as_deref().filter(|i| !i.is_empty())?;
    let conv = a.conversation.as_ref()?;
    let text = a.text.clone().unwrap_or_default();
    let mentions = a.mentioned_ids();
    let fire = fire_count(&text);
    let thread = conv
        .thread_root()
        .filter(|root| *root != id)
        .map(|root| message_id(conv.base(), root));
    // Kept when it may give fire, ask a question, or answer one (a thread reply).
    let is_question = looks_like_question(&text);
    if fire == 0 && mentions.is_empty() && !is_question && thread.is_none() {
        return None;
    }
    Some(Event::MessagePosted(MessagePosted {
        platform_message_id: message_id(conv.base(), id),
        author: MemberId::new(author),
        mentions: ids(mentions),
        fire_count: fire,
        text,
        thread,
        channel: Some(conv.base().to_owned()),
        occurred_at: occurred_at(a, now),
        is_question,
    }))
}

/// The engine event for a `messageUpdate` (`editMessage`: the whole new content) or a
/// `messageDelete` (`softDeleteMessage`). Other event types (`undeleteMessage`) give `None`:
/// the engine has no undelete, a restored message stays without fire.
pub fn message_changed(a: &Activity, now: DateTime<Utc>) -> Option<Event> {
    let id = a.id.as_deref().filter(|i| !i.is_empty())?;
    let conv = a.conversation.as_ref()?;
    let platform_message_id = message_id(conv.base(), id);
    let event_type = a.channel_data().event_type.unwrap_or_default();
    match (a.kind.as_str(), event_type.as_str()) {
        ("messageUpdate", "editMessage") => {
            let author = author(a)?;
            let text = a.text.clone().unwrap_or_default();
            Some(Event::MessageEdited(MessageEdited {
                platform_message_id,
                author: MemberId::new(author),
                mentions: ids(a.mentioned_ids()),
                fire_count: fire_count(&text),
                text,
                occurred_at: occurred_at(a, now),
            }))
        }
        ("messageDelete", "softDeleteMessage") => Some(Event::MessageDeleted(MessageDeleted {
            platform_message_id,
            occurred_at: occurred_at(a, now),
        })),
        _ => None,
    }
}

/// The message a `messageReaction` is about, as a platform message id.
pub fn reaction_target(a: &Activity) -> Option<String> {
    let to = a.reply_to_id.as_deref().filter(|i| !i.is_empty())?;
    Some(message_id(a.conversation.as_ref()?.base(), to))
}

/// The engine event for a `messageReaction` with a 🔥 among its added (else removed)
/// reactions; `message_author` is the author of the message reacted to (looked up by the
/// caller).
pub fn reaction(a: &Activity, message_author: &str, now: DateTime<Utc>) -> Option<Event> {
    let reactor = a
        .from
        .as_ref()
        .map(|f| f.id.as_str())
        .filter(|f| !f.is_empty())?;
    let target = reaction_target(a)?;
    let fire = |list: &[crate::activity::MessageReaction]| {
        list.iter()
            .any(|r| FIRE_REACTIONS.contains(&r.kind.as_str()))
    };
    let added = fire(&a.reactions_added);
    if !added && !fire(&a.reactions_removed) {
        return None;
    }
    let r = Reaction {
        platform_message_id: target,
        reactor: MemberId::new(reactor),
        message_author: MemberId::new(message_author),
        is_fire: true,
        occurred_at: occurred_at(a, now),
    };
    Some(if added {
        Event::ReactionAdded(r)
    } else {
        Event::ReactionRemoved(r)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn act(v: serde_json::Value) -> Activity {
        serde_json::from_value(v).unwrap()
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    #[test]
    fn mention_spans_code_and_quotes_carry_no_fire() {
        assert_eq!(fire_count("thanks (fire) :fire: \u{1F525}"), 3);
        assert_eq!(fire_count("<at>(fire) Fan</at> thanks"), 0);
        assert_eq!(fire_count("<AT id=\"0\">x (fire)</AT> (fire)"), 1);
        assert_eq!(fire_count("<code>(fire)</code> <pre>:fire:</pre> ok"), 0);
        assert_eq!(fire_count("<blockquote>(fire)</blockquote>(fire)"), 1);
        assert_eq!(fire_count("<attachment>(fire)"), 1);
        assert_eq!(fire_count("<at>open (fire)"), 0);
        assert_eq!(fire_count("`(fire)` > no"), 0);
    }

    #[test]
    fn questions_and_thread_replies_are_kept_with_their_flag() {
        let a = act(serde_json::json!({
            "type": "message", "id": "1700000000001", "from": {"id": "29:alice"},
            "recipient": {"id": "28:bot"},
            "conversation": {"id": "19:chan@thread.tacv2", "conversationType": "channel"},
            "text": "When is the deadline? <at>Bob</at>", "entities": []
        }));
        let Some(Event::MessagePosted(q)) = message_posted(&a, now()) else {
            panic!()
        };
        assert!(q.is_question);
        assert_eq!(q.thread, None);
        let a = act(serde_json::json!({
            "type": "message", "id": "1700000000002", "from": {"id": "29:bob"},
            "recipient": {"id": "28:bot"},
            "conversation": {"id": "19:chan@thread.tacv2;messageid=1700000000001", "conversationType": "channel"},
            "replyToId": "1700000000001",
            "text": "Friday.", "entities": []
        }));
        let Some(Event::MessagePosted(r)) = message_posted(&a, now()) else {
            panic!()
        };
        assert!(!r.is_question);
        assert_eq!(
            r.thread.as_deref(),
            Some("19:chan@thread.tacv2:1700000000001")
        );
    }

    #[test]
    fn a_post_with_mentions_from_entities_only() {
        let a = act(serde_json::json!({
            "type": "message", "id": "1700000000001", "timestamp": "2023-11-14T22:13:20.5Z",
            "channelId": "msteams", "serviceUrl": "https://smba.trafficmanager.net/amer/",
            "from": {"id": "29:alice", "name": "Alice"},
            "recipient": {"id": "28:bot", "name": "ClassCred"},
            "conversation": {"id": "19:chan@thread.tacv2;messageid=1699999999999", "conversationType": "channel"},
            "text": "<at>ClassCred</at> <at>Bob</at> <at>Bob</at> thanks (fire) 🔥 <at>Carol</at>",
            "entities": [
                {"type": "mention", "mentioned": {"id": "28:bot", "name": "ClassCred"}, "text": "<at>ClassCred</at>"},
                {"type": "mention", "mentioned": {"id": "29:bob", "name": "Bob"}, "text": "<at>Bob</at>"},
                {"type": "mention", "mentioned": {"id": "29:bob", "name": "Bob"}, "text": "<at>Bob</at>"},
                {"type": "clientInfo", "locale": "en-US"},
                {"type": "mention", "mentioned": {"id": "29:carol", "name": "Carol"}, "text": "<at>Carol</at>"}
            ],
            "channelData": {"team": {"id": "19:team@thread.tacv2"}, "channel": {"id": "19:chan@thread.tacv2"}}
        }));
        let Some(Event::MessagePosted(p)) = message_posted(&a, now()) else {
            panic!()
        };
        assert_eq!(p.platform_message_id, "19:chan@thread.tacv2:1700000000001");
        assert_eq!(p.author.as_str(), "29:alice");
        let m: Vec<&str> = p.mentions.iter().map(MemberId::as_str).collect();
        assert_eq!(m, ["29:bob", "29:carol"]);
        assert_eq!(p.fire_count, 2);
        assert_eq!(
            p.thread.as_deref(),
            Some("19:chan@thread.tacv2:1699999999999")
        );
        assert_eq!(p.channel.as_deref(), Some("19:chan@thread.tacv2"));
        assert_eq!(p.occurred_at.timestamp_millis(), 1_700_000_000_500);
        assert_eq!(
            event_id(&a).as_deref(),
            Some("19:chan@thread.tacv2:1700000000001")
        );
        // A name that looks like a mention is not one: no entity, no recipient.
        let a = act(serde_json::json!({
            "type": "message", "id": "2", "from": {"id": "29:alice"}, "recipient": {"id": "28:bot"},
            "conversation": {"id": "19:c@thread.v2", "conversationType": "groupChat"},
            "text": "<at>Bob</at> hello", "entities": []
        }));
        assert!(message_posted(&a, now()).is_none());
        // Bots give nothing.
        let a = act(serde_json::json!({
            "type": "message", "id": "3", "from": {"id": "28:other"}, "recipient": {"id": "28:bot"},
            "conversation": {"id": "19:c@thread.v2"}, "text": "(fire)"
        }));
        assert!(message_posted(&a, now()).is_none());
    }

    #[test]
    fn edits_deletes_and_reactions() {
        let edit = act(serde_json::json!({
            "type": "messageUpdate", "id": "5", "timestamp": "2023-11-14T22:15:00Z",
            "from": {"id": "29:alice"}, "recipient": {"id": "28:bot"},
            "conversation": {"id": "19:c@thread.tacv2;messageid=5"},
            "text": "no more", "channelData": {"eventType": "editMessage"}
        }));
        let Some(Event::MessageEdited(e)) = message_changed(&edit, now()) else {
            panic!()
        };
        assert_eq!(e.platform_message_id, "19:c@thread.tacv2:5");
        assert_eq!(e.fire_count, 0);
        assert_eq!(
            event_id(&edit).as_deref(),
            Some("19:c@thread.tacv2:5:edit:1700000100000")
        );
        let del = act(serde_json::json!({
            "type": "messageDelete", "id": "5", "from": {"id": "29:alice"},
            "conversation": {"id": "19:c@thread.tacv2"}, "channelData": {"eventType": "softDeleteMessage"}
        }));
        assert!(
            matches!(message_changed(&del, now()), Some(Event::MessageDeleted(d)) if d.occurred_at == now())
        );
        let undelete = act(serde_json::json!({
            "type": "messageUpdate", "id": "5", "from": {"id": "29:alice"},
            "conversation": {"id": "19:c@thread.tacv2"}, "channelData": {"eventType": "undeleteMessage"}
        }));
        assert!(message_changed(&undelete, now()).is_none());
        let r = |added: &str, removed: &str| {
            act(serde_json::json!({
                "type": "messageReaction", "id": "f:1", "from": {"id": "29:bob"},
                "conversation": {"id": "19:c@thread.tacv2;messageid=5"}, "replyToId": "5",
                "reactionsAdded": if added.is_empty() { serde_json::json!([]) } else { serde_json::json!([{"type": added}]) },
                "reactionsRemoved": if removed.is_empty() { serde_json::json!([]) } else { serde_json::json!([{"type": removed}]) }
            }))
        };
        let Some(Event::ReactionAdded(x)) = reaction(&r("fire", ""), "29:alice", now()) else {
            panic!()
        };
        assert_eq!(x.platform_message_id, "19:c@thread.tacv2:5");
        assert_eq!(
            (x.reactor.as_str(), x.message_author.as_str()),
            ("29:bob", "29:alice")
        );
        assert!(matches!(
            reaction(&r("", "1f525_fire"), "29:alice", now()),
            Some(Event::ReactionRemoved(_))
        ));
        assert!(reaction(&r("like", ""), "29:alice", now()).is_none());
    }
}
