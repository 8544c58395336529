//! From Matrix events to ClassCred's neutral engine events. Pure functions, no I/O.
//!
//! - A message's platform id is its event id (`$…`, unique across rooms); its channel is the
//!   room id. Edits (`m.replace` + `m.new_content`) become `MessageEdited` of the *original*
//!   event id with the replacement content; the time is always `origin_server_ts`.
//! - Fire in a text: the engine's fire-token counter over the plain `body` (`:fire:` and 🔥;
//!   code and quoted lines, which include reply fallbacks, do not count).
//! - Mentions: `m.mentions.user_ids`, and `https://matrix.to/#/@user:server` pills in an HTML
//!   `formatted_body` outside code, quotes and reply fallbacks (`<mx-reply>`), in order,
//!   without duplicates. Display names in the text are never matched.
//! - Reactions need the reacted message's author, and redactions need to know what was
//!   redacted: [`classify`] says what to look up, [`reaction_event`] and [`redaction_event`]
//!   build the events from the answers.

use chrono::{DateTime, Utc};
use classcred_engine::{
    count_fire_tokens, looks_like_question, Event, MemberId, MessageDeleted, MessageEdited,
    MessagePosted, Reaction,
};

use crate::events::{is_user_id, Envelope, MatrixEvent, Membership, MessageContent};

/// How members type commands: `!cred me`.
pub const COMMAND_PREFIX: &str = "!cred";

/// Reaction keys that mean fire.
pub fn is_fire_key(key: &str) -> bool {
    matches!(key.trim(), "🔥" | "🔥\u{fe0f}" | ":fire:")
}

/// What to do with one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Nothing (the reason is a fixed word, for logs and tests).
    Ignore(&'static str),
    /// Store this engine event.
    Store(Event),
    /// An edit whose new content has neither fire nor mention: store it only when the original
    /// message is known (it may have carried fire that the edit takes back).
    EditIfKnown { original: String, event: Event },
    /// `!cred <args>`: answer in the room.
    Command { args: String },
    /// A 🔥 reaction on `target`: look up the target's author, then [`reaction_event`].
    FireReaction { target: String },
    /// A redaction of `redacts`: look up what was redacted, then [`redaction_event`].
    Redaction { redacts: String },
    /// Somebody's membership changed.
    Member(Membership),
}

/// The moment of an event.
pub fn time_of(env: &Envelope) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(env.origin_server_ts).unwrap_or_default()
}

fn member(u: &str) -> MemberId {
    MemberId::new(u)
}

/// Decides what an event means. `is_ours` tells this Application Service's own users (the
/// bot and its namespace), whose events are ignored.
pub fn classify(env: &Envelope, is_ours: impl Fn(&str) -> bool) -> Action {
    match &env.event {
        MatrixEvent::Member(m) => Action::Member(m.clone()),
        _ if is_ours(&env.sender) => Action::Ignore("own_event"),
        MatrixEvent::Pruned { .. } => Action::Ignore("pruned"),
        MatrixEvent::Other { .. } => Action::Ignore("other_type"),
        MatrixEvent::Redaction { redacts } => Action::Redaction {
            redacts: redacts.clone(),
        },
        MatrixEvent::Reaction(a) if is_fire_key(&a.key) => Action::FireReaction {
            target: a.event_id.clone(),
        },
        MatrixEvent::Reaction(_) => Action::Ignore("not_fire"),
        MatrixEvent::Message(m) => {
            if let Some(original) = m.replaces() {
                let Some(new) = m.new_content.as_ref().filter(|c| counts(c)) else {
                    return Action::Ignore("message_type");
                };
                let (mentions, fire_count) = scan(new);
                let event = Event::MessageEdited(MessageEdited {
                    platform_message_id: original.to_owned(),
                    author: member(&env.sender),
                    mentions,
                    fire_count,
                    text: new.body.clone(),
                    occurred_at: time_of(env),
                });
                return if fire_count == 0
                    && matches!(&event, Event::MessageEdited(e) if e.mentions.is_empty())
                {
                    Action::EditIfKnown {
                        original: original.to_owned(),
                        event,
                    }
                } else {
                    Action::Store(event)
                };
            }
            if !counts(&m.content) {
                return Action::Ignore("message_type");
            }
            if let Some(args) = command_args(&m.content.body) {
                return Action::Command { args };
            }
            let (mentions, fire_count) = scan(&m.content);
            let thread = m.thread_root().map(str::to_owned);
            // Kept when it may give fire, ask a question, or answer one (a thread reply).
            let is_question = looks_like_question(&m.content.body);
            if fire_count == 0 && mentions.is_empty() && !is_question && thread.is_none() {
                return Action::Ignore("no_fire");
            }
            Action::Store(Event::MessagePosted(MessagePosted {
                platform_message_id: env.event_id.clone(),
                author: member(&env.sender),
                mentions,
                fire_count,
                text: m.content.body.clone(),
                thread,
                channel: Some(env.room_id.clone()),
                occurred_at: time_of(env),
                is_question,
            }))
        }
    }
}

/// Only what people write counts: `m.text` and `m.emote` (not `m.notice`, which bots send,
/// nor files).
fn counts(c: &MessageContent) -> bool {
    matches!(c.msgtype.as_str(), "m.text" | "m.emote")
}

/// `!cred me` → `Some("me")`; `!credit` → `None`.
pub fn command_args(body: &str) -> Option<String> {
    let rest = body.trim_start().strip_prefix(COMMAND_PREFIX)?;
    if !(rest.is_empty() || rest.starts_with(char::is_whitespace)) {
        return None;
    }
    Some(rest.trim().to_owned())
}

/// Mentions and fire tokens of a message content.
pub fn scan(c: &MessageContent) -> (Vec<MemberId>, u32) {
    let mut users: Vec<String> = Vec::new();
    let mut add = |u: &str| {
        if is_user_id(u) && !users.iter().any(|x| x == u) {
            users.push(u.to_owned());
        }
    };
    if let Some(m) = &c.mentions {
        for u in &m.user_ids {
            add(u);
        }
    }
    if c.format.as_deref() == Some("org.matrix.custom.html") {
        if let Some(html) = &c.formatted_body {
            for u in pills(html) {
                add(&u);
            }
        }
    }
    let fire = count_fire_tokens(&c.body, None);
    (users.iter().map(|u| member(u)).collect(), fire)
}

/// Removes every `<tag …>…</tag>` block (nesting counted; case-insensitive).
fn strip_blocks(html: &str, tag: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut out = String::with_capacity(html.len());
    let mut i = 0;
    while let Some(start) = find_tag(&lower, &open, i) {
        out.push_str(&html[i..start]);
        let mut depth = 0usize;
        let mut j = start;
        loop {
            let next_open = find_tag(&lower, &open, j);
            let next_close = lower[j..].find(&close).map(|p| p + j);
            match (next_open, next_close) {
                (Some(o), Some(c)) if o < c => {
                    depth += 1;
                    j = o + open.len();
                }
                (_, Some(c)) => {
                    depth = depth.saturating_sub(1);
                    j = c + close.len();
                    if depth == 0 {
                        break;
                    }
                }
                // Unclosed: everything after the tag is inside it.
                (_, None) => {
                    j = html.len();
                    break;
                }
            }
        }
        i = j;
    }
    out.push_str(&html[i..]);
    out
}

/// The next `<tag` at or after `from` followed by `>`, `/` or whitespace (so `<pre` does not
/// match `<prefix`).
fn find_tag(lower: &str, open: &str, from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(p) = lower.get(at..)?.find(open) {
        let start = at + p;
        let after = lower[start + open.len()..].chars().next();
        if matches!(after, Some('>' | '/') | None) || after.is_some_and(char::is_whitespace) {
            return Some(start);
        }
        at = start + open.len();
    }
    None
}

/// User ids of `https://matrix.to/#/@user:server` links outside code, quotes and reply
/// fallbacks.
pub fn pills(html: &str) -> Vec<String> {
    let mut visible = html.to_owned();
    for tag in ["mx-reply", "pre", "code", "blockquote"] {
        visible = strip_blocks(&visible, tag);
    }
    const PREFIX: &str = "https://matrix.to/#/";
    let mut out = Vec::new();
    let mut rest = visible.as_str();
    while let Some(p) = rest.find(PREFIX) {
        let after = &rest[p + PREFIX.len()..];
        let end = after
            .find(['"', '\'', '?', '>', '<', ' ', '/'])
            .unwrap_or(after.len());
        let raw = &after[..end];
        let decoded = percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .map(|s| s.into_owned())
            .unwrap_or_default();
        if is_user_id(&decoded) {
            out.push(decoded);
        }
        rest = &after[end..];
    }
    out
}

/// The engine event of a 🔥 reaction on a message by `author`.
pub fn reaction_event(env: &Envelope, target: &str, author: &str) -> Event {
    Event::ReactionAdded(Reaction {
        platform_message_id: target.to_owned(),
        reactor: member(&env.sender),
        message_author: member(author),
        is_fire: true,
        occurred_at: time_of(env),
    })
}

/// The engine event of a redaction: when the redacted event is a 🔥 reaction ClassCred stored
/// (`stored` is its engine event), the reaction is removed; otherwise the redacted event is
/// deleted as a message (which also takes back the 🔥 reactions on it; for an event the engine
/// never saw it does nothing).
pub fn redaction_event(env: &Envelope, redacts: &str, stored: Option<&Event>) -> Event {
    match stored {
        Some(Event::ReactionAdded(r)) => Event::ReactionRemoved(Reaction {
            occurred_at: time_of(env),
            ..r.clone()
        }),
        _ => Event::MessageDeleted(MessageDeleted {
            platform_message_id: redacts.to_owned(),
            occurred_at: time_of(env),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::parse_event;
    use serde_json::{json, Value};

    fn env(kind: &str, sender: &str, content: Value) -> Envelope {
        parse_event(
            json!({"type": kind, "event_id": "$ev", "room_id": "!room:hs",
            "sender": sender, "origin_server_ts": 1_700_000_000_123_i64, "content": content}),
        )
        .unwrap()
    }

    fn ours(u: &str) -> bool {
        u == "@classcred:hs" || u.starts_with("@classcred_")
    }

    fn ids(v: &[MemberId]) -> Vec<&str> {
        v.iter().map(MemberId::as_str).collect()
    }

    #[test]
    fn posts_with_mentions_and_fire() {
        let e = env(
            "m.room.message",
            "@alice:hs",
            json!({"msgtype":"m.text","body":"Bob: thanks :fire: 🔥 `:fire:`\n> quoted 🔥",
                "format":"org.matrix.custom.html",
                "formatted_body":"<a href=\"https://matrix.to/#/@bob:hs\">Bob</a> <a href='https://matrix.to/#/%40carol%3Ahs?via=hs'>C</a> <code><a href=\"https://matrix.to/#/@dan:hs\">D</a></code><mx-reply><blockquote><a href=\"https://matrix.to/#/@eve:hs\">E</a></blockquote></mx-reply>",
                "m.mentions":{"user_ids":["@bob:hs","@frank:hs","not-a-user"]}}),
        );
        let Action::Store(Event::MessagePosted(p)) = classify(&e, ours) else {
            panic!("{:?}", classify(&e, ours))
        };
        assert_eq!(p.platform_message_id, "$ev");
        assert_eq!(p.author.as_str(), "@alice:hs");
        assert_eq!(ids(&p.mentions), ["@bob:hs", "@frank:hs", "@carol:hs"]);
        assert_eq!(p.fire_count, 2);
        assert_eq!(p.channel.as_deref(), Some("!room:hs"));
        assert_eq!(p.occurred_at.timestamp_millis(), 1_700_000_000_123);
        assert_eq!(p.thread, None);
    }

    #[test]
    fn emotes_count_notices_and_quiet_messages_do_not() {
        let e = env(
            "m.room.message",
            "@alice:hs",
            json!({"msgtype":"m.emote","body":"sends 🔥","m.mentions":{"user_ids":["@bob:hs"]}}),
        );
        assert!(matches!(classify(&e, ours), Action::Store(_)));
        let e = env(
            "m.room.message",
            "@alice:hs",
            json!({"msgtype":"m.notice","body":"🔥","m.mentions":{"user_ids":["@bob:hs"]}}),
        );
        assert_eq!(classify(&e, ours), Action::Ignore("message_type"));
        let e = env(
            "m.room.message",
            "@alice:hs",
            json!({"msgtype":"m.text","body":"hello all"}),
        );
        assert_eq!(classify(&e, ours), Action::Ignore("no_fire"));
        // Pills in plain text (no HTML format) are not read.
        let e = env(
            "m.room.message",
            "@alice:hs",
            json!({"msgtype":"m.text","body":"x","formatted_body":"<a href=\"https://matrix.to/#/@bob:hs\">b</a>"}),
        );
        assert_eq!(classify(&e, ours), Action::Ignore("no_fire"));
        let e = env(
            "m.room.message",
            "@classcred:hs",
            json!({"msgtype":"m.text","body":"🔥","m.mentions":{"user_ids":["@bob:hs"]}}),
        );
        assert_eq!(classify(&e, ours), Action::Ignore("own_event"));
    }

    #[test]
    fn questions_and_thread_replies_are_kept_with_their_flag() {
        let e = env(
            "m.room.message",
            "@alice:hs",
            json!({"msgtype":"m.text","body":"Is the quiz open book? @bob:hs"}),
        );
        let Action::Store(Event::MessagePosted(q)) = classify(&e, ours) else {
            panic!("{:?}", classify(&e, ours))
        };
        assert!(q.is_question);
        assert_eq!((q.thread, q.channel.as_deref()), (None, Some("!room:hs")));
        let e = env(
            "m.room.message",
            "@bob:hs",
            json!({"msgtype":"m.text","body":"Yes it is.",
                "m.relates_to":{"rel_type":"m.thread","event_id":"$q"}}),
        );
        let Action::Store(Event::MessagePosted(r)) = classify(&e, ours) else {
            panic!("{:?}", classify(&e, ours))
        };
        assert!(!r.is_question);
        assert_eq!(r.thread.as_deref(), Some("$q"));
    }

    #[test]
    fn threads() {
        let e = env(
            "m.room.message",
            "@alice:hs",
            json!({"msgtype":"m.text","body":"🔥","m.mentions":{"user_ids":["@bob:hs"]},
                "m.relates_to":{"rel_type":"m.thread","event_id":"$root"}}),
        );
        let Action::Store(Event::MessagePosted(p)) = classify(&e, ours) else {
            panic!()
        };
        assert_eq!(p.thread.as_deref(), Some("$root"));
    }

    #[test]
    fn commands() {
        assert_eq!(command_args("!cred me"), Some("me".into()));
        assert_eq!(command_args("  !cred   top week "), Some("top week".into()));
        assert_eq!(command_args("!cred"), Some(String::new()));
        assert_eq!(command_args("!credit"), None);
        assert_eq!(command_args("say !cred"), None);
        let e = env(
            "m.room.message",
            "@alice:hs",
            json!({"msgtype":"m.text","body":"!cred top 🔥"}),
        );
        assert_eq!(
            classify(&e, ours),
            Action::Command {
                args: "top 🔥".into()
            }
        );
    }

    #[test]
    fn edits_point_at_the_original() {
        let e = env(
            "m.room.message",
            "@alice:hs",
            json!({"msgtype":"m.text","body":"* now 🔥 🔥",
                "m.new_content":{"msgtype":"m.text","body":"now 🔥 🔥","m.mentions":{"user_ids":["@bob:hs"]}},
                "m.relates_to":{"rel_type":"m.replace","event_id":"$orig"}}),
        );
        let Action::Store(Event::MessageEdited(x)) = classify(&e, ours) else {
            panic!()
        };
        assert_eq!(x.platform_message_id, "$orig");
        assert_eq!((x.fire_count, ids(&x.mentions)), (2, vec!["@bob:hs"]));
        assert_eq!(x.text, "now 🔥 🔥");
        let e = env(
            "m.room.message",
            "@alice:hs",
            json!({"msgtype":"m.text","body":"* calm",
                "m.new_content":{"msgtype":"m.text","body":"calm"},
                "m.relates_to":{"rel_type":"m.replace","event_id":"$orig"}}),
        );
        let Action::EditIfKnown { original, event } = classify(&e, ours) else {
            panic!()
        };
        assert_eq!(original, "$orig");
        assert!(matches!(event, Event::MessageEdited(ref x) if x.fire_count == 0));
        // `m.replace` without `m.new_content` is not an edit: the fallback body is a message.
        let e = env(
            "m.room.message",
            "@alice:hs",
            json!({"msgtype":"m.text","body":"* 🔥","m.mentions":{"user_ids":["@bob:hs"]},
                "m.relates_to":{"rel_type":"m.replace","event_id":"$orig"}}),
        );
        assert!(matches!(
            classify(&e, ours),
            Action::Store(Event::MessagePosted(_))
        ));
    }

    #[test]
    fn reactions_and_redactions() {
        for (key, fire) in [
            ("🔥", true),
            (":fire:", true),
            ("🔥\u{fe0f}", true),
            ("👍", false),
        ] {
            let e = env(
                "m.reaction",
                "@bob:hs",
                json!({"m.relates_to":{"rel_type":"m.annotation","event_id":"$msg","key":key}}),
            );
            let a = classify(&e, ours);
            if fire {
                assert_eq!(
                    a,
                    Action::FireReaction {
                        target: "$msg".into()
                    }
                );
                let Event::ReactionAdded(r) = reaction_event(&e, "$msg", "@alice:hs") else {
                    panic!()
                };
                assert_eq!(
                    (
                        r.platform_message_id.as_str(),
                        r.reactor.as_str(),
                        r.message_author.as_str()
                    ),
                    ("$msg", "@bob:hs", "@alice:hs")
                );
                assert!(r.is_fire);
            } else {
                assert_eq!(a, Action::Ignore("not_fire"));
            }
        }
        let red = parse_event(json!({"type":"m.room.redaction","event_id":"$red","room_id":"!room:hs",
            "sender":"@bob:hs","origin_server_ts":1_700_000_100_000_i64,"redacts":"$re","content":{"redacts":"$re"}}))
        .unwrap();
        assert_eq!(
            classify(&red, ours),
            Action::Redaction {
                redacts: "$re".into()
            }
        );
        let e = env(
            "m.reaction",
            "@bob:hs",
            json!({"m.relates_to":{"rel_type":"m.annotation","event_id":"$msg","key":"🔥"}}),
        );
        let stored = reaction_event(&e, "$msg", "@alice:hs");
        let Event::ReactionRemoved(r) = redaction_event(&red, "$re", Some(&stored)) else {
            panic!()
        };
        assert_eq!(
            (r.platform_message_id.as_str(), r.reactor.as_str()),
            ("$msg", "@bob:hs")
        );
        assert_eq!(r.occurred_at.timestamp(), 1_700_000_100);
        let Event::MessageDeleted(d) = redaction_event(&red, "$re", None) else {
            panic!()
        };
        assert_eq!(d.platform_message_id, "$re");
    }

    #[test]
    fn pruned_events_never_award() {
        let e = parse_event(
            json!({"type":"m.reaction","event_id":"$r","room_id":"!room:hs",
            "sender":"@bob:hs","origin_server_ts":1,"content":{},
            "unsigned":{"redacted_because":{"type":"m.room.redaction","redacts":"$r"}}}),
        )
        .unwrap();
        assert_eq!(classify(&e, ours), Action::Ignore("pruned"));
    }

    #[test]
    fn pills_outside_code_quotes_and_replies() {
        assert_eq!(
            pills("<pre><code><a href=\"https://matrix.to/#/@x:hs\">x</a></code></pre><prefix><a href=\"https://matrix.to/#/@y:hs\">y</a><a href=\"https://matrix.to/#/!room:hs\">r</a><a href=\"https://matrix.to/#/@z:hs/$event\">z</a>"),
            ["@y:hs", "@z:hs"]
        );
        assert_eq!(
            pills("<BLOCKQUOTE><a href=\"https://matrix.to/#/@x:hs\">x</a><blockquote>in</blockquote><a href=\"https://matrix.to/#/@x2:hs\">x</a></BLOCKQUOTE>after <a href=\"https://matrix.to/#/@w:hs\">w</a>"),
            ["@w:hs"]
        );
        assert!(pills("<code>unclosed <a href=\"https://matrix.to/#/@x:hs\">").is_empty());
    }
}
