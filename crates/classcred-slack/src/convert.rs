//! From Slack's narrow payload types to ClassCred's neutral engine events and member records.
//!
//! Pure functions, no I/O. Member references in the produced events are **Slack user ids**;
//! the recognition service resolves them to member ids. Times are Slack's own (`ts`,
//! `edited.ts`, `event_ts`), never our processing time. A message's platform id is
//! `"{channel}:{ts}"`, the same for its post, edits, deletion and reactions.

use crate::events::{MessageBody, MessageEvent, ReactionEvent, SlackUser};
use crate::ids::{SlackChannelId, SlackTs, SlackUserId};
use crate::mentions::{scan_mentions, strip_code_and_quotes};
use chrono::{DateTime, Utc};
use classcred_engine::{
    count_fire_tokens, looks_like_question, Event, MemberId, MessageDeleted, MessageEdited,
    MessagePosted, Reaction,
};
use classcred_store::{MemberKind, MemberProfile, NewMember, Role};

/// The Slack reaction name of 🔥.
pub const FIRE_REACTION: &str = "fire";

/// The moment a Slack timestamp stands for (`1700000000.000100` → 2023-11-14T22:13:20.000100Z).
pub fn ts_time(ts: &SlackTs) -> DateTime<Utc> {
    let (secs, frac) = ts.as_str().split_once('.').unwrap_or((ts.as_str(), ""));
    let secs: i64 = secs.parse().unwrap_or(0);
    let mut digits: String = frac.chars().take(9).collect();
    while digits.len() < 9 {
        digits.push('0');
    }
    let nanos: u32 = digits.parse().unwrap_or(0);
    DateTime::from_timestamp(secs, nanos).unwrap_or_default()
}

/// A message's platform id: `"{channel}:{ts}"`.
pub fn message_id(channel: &SlackChannelId, ts: &SlackTs) -> String {
    format!("{channel}:{ts}")
}

/// What counts in a message text: mentioned users and fire tokens, both outside code and quotes.
pub fn scan_text(text: &str) -> (Vec<SlackUserId>, u32) {
    let visible = strip_code_and_quotes(text);
    (scan_mentions(&visible), count_fire_tokens(&visible, None))
}

fn member(u: &SlackUserId) -> MemberId {
    MemberId::new(u.as_str())
}

fn from_person(body: &MessageBody, app_user: Option<&SlackUserId>) -> Option<SlackUserId> {
    if body.is_bot() {
        return None;
    }
    let user = body.user.as_ref()?;
    (Some(user) != app_user).then(|| user.clone())
}

fn carries_fire_or_mention(body: &MessageBody) -> bool {
    let (mentions, fire) = scan_text(&body.text);
    fire > 0 || !mentions.is_empty()
}

/// The engine event for a `message` event, or `None` when it cannot concern fire: bot and app
/// messages, other subtypes, posts with neither fire nor mention, edits whose old and new
/// text both have neither.
pub fn message_event(ev: &MessageEvent, app_user: Option<&SlackUserId>) -> Option<Event> {
    match ev {
        MessageEvent::Posted(p) => {
            let author = from_person(&p.message, app_user)?;
            let (mentions, fire_count) = scan_text(&p.message.text);
            let thread = p
                .message
                .thread_ts
                .as_ref()
                .filter(|_| p.message.is_thread_reply())
                .map(|t| message_id(&p.channel, t));
            // Kept when it may give fire, ask a question, or answer one (a thread reply).
            let is_question = looks_like_question(&p.message.text);
            if fire_count == 0 && mentions.is_empty() && !is_question && thread.is_none() {
                return None;
            }
            Some(Event::MessagePosted(MessagePosted {
                channel: Some(p.channel.as_str().to_owned()),
                platform_message_id: message_id(&p.channel, &p.message.ts),
                author: member(&author),
                mentions: mentions.iter().map(member).collect(),
                fire_count,
                text: p.message.text.clone(),
                thread,
                occurred_at: ts_time(&p.message.ts),
                is_question,
            }))
        }
        MessageEvent::Changed(c) => {
            let author = from_person(&c.message, app_user)?;
            let unchanged = c
                .previous_message
                .as_ref()
                .is_some_and(|prev| !carries_fire_or_mention(prev));
            if unchanged && !carries_fire_or_mention(&c.message) {
                return None;
            }
            let (mentions, fire_count) = scan_text(&c.message.text);
            let at = c
                .message
                .edited
                .as_ref()
                .and_then(|e| e.ts.as_ref())
                .unwrap_or(&c.event_ts);
            Some(Event::MessageEdited(MessageEdited {
                platform_message_id: message_id(&c.channel, &c.message.ts),
                author: member(&author),
                mentions: mentions.iter().map(member).collect(),
                fire_count,
                text: c.message.text.clone(),
                occurred_at: ts_time(at),
            }))
        }
        // Always kept: a deletion also takes back the 🔥 reactions on the message.
        MessageEvent::Deleted(d) => Some(Event::MessageDeleted(MessageDeleted {
            platform_message_id: message_id(&d.channel, &d.deleted_ts),
            occurred_at: ts_time(&d.event_ts),
        })),
        MessageEvent::Other { .. } => None,
    }
}

/// The engine event for a 🔥 `reaction_added` / `reaction_removed` on a message; `None` for
/// other emoji, other items, or when Slack did not say who wrote the message.
pub fn reaction_event(r: &ReactionEvent, added: bool) -> Option<Event> {
    if r.reaction != FIRE_REACTION {
        return None;
    }
    let (channel, ts) = r.item.message()?;
    let author = r.item_user.as_ref()?;
    let reaction = Reaction {
        platform_message_id: message_id(channel, ts),
        reactor: member(&r.user),
        message_author: member(author),
        is_fire: true,
        occurred_at: ts_time(&r.event_ts),
    };
    Some(if added {
        Event::ReactionAdded(reaction)
    } else {
        Event::ReactionRemoved(reaction)
    })
}

fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_ref()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Only the profile fields the privacy registry declares: full name, display name, email,
/// 72-px avatar URL and timezone.
pub fn profile(u: &SlackUser) -> MemberProfile {
    MemberProfile {
        name: nonempty(&u.real_name).or_else(|| nonempty(&u.name)),
        display_name: nonempty(&u.profile.display_name),
        email: nonempty(&u.profile.email),
        avatar_url: nonempty(&u.profile.image_72),
        timezone: nonempty(&u.tz),
    }
}

/// Person, other bot (incl. Slackbot), or this app's own bot user.
pub fn kind(u: &SlackUser, app_user: Option<&SlackUserId>) -> MemberKind {
    if Some(&u.id) == app_user {
        MemberKind::App
    } else if u.is_bot || u.id.as_str() == "USLACKBOT" {
        MemberKind::Bot
    } else {
        MemberKind::Human
    }
}

/// A member record for a workspace user (new members are Students).
pub fn new_member(u: &SlackUser, role: Role, app_user: Option<&SlackUserId>) -> NewMember {
    NewMember {
        platform_user_id: u.id.as_str().to_owned(),
        role,
        kind: kind(u, app_user),
        profile: profile(u),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Envelope, Event as SlackEvent};

    fn event(json: serde_json::Value) -> SlackEvent {
        let env = serde_json::json!({
            "type": "event_callback", "team_id": "T1", "api_app_id": "A1",
            "event_id": "Ev1", "event_time": 1, "event": json
        });
        match serde_json::from_value::<Envelope>(env).unwrap() {
            Envelope::EventCallback(cb) => cb.event,
            other => panic!("{other:?}"),
        }
    }

    fn msg(json: serde_json::Value) -> Option<Event> {
        match event(json) {
            SlackEvent::Message(m) => message_event(&m, SlackUserId::parse("UAPP").ok().as_ref()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn questions_and_thread_replies_are_kept_with_their_flag() {
        // A question without fire or mention: kept, flagged, top-level.
        let Some(Event::MessagePosted(q)) = msg(serde_json::json!({"type":"message",
            "channel":"C1","user":"U1","ts":"10.0","text":"How do I submit part 2? :thinking_face:"}))
        else {
            panic!()
        };
        assert!(q.is_question);
        assert_eq!((q.thread, q.channel.as_deref()), (None, Some("C1")));
        // A plain reply in its thread (Slack: `thread_ts` differs from `ts`): kept, an answer
        // candidate, not a question.
        let Some(Event::MessagePosted(r)) = msg(serde_json::json!({"type":"message",
            "channel":"C1","user":"U2","ts":"11.0","thread_ts":"10.0","text":"Use the form."}))
        else {
            panic!()
        };
        assert!(!r.is_question);
        assert_eq!(r.thread.as_deref(), Some("C1:10.0"));
        // The thread's parent as Slack re-sends it (`thread_ts` = `ts`) is top-level.
        let Some(Event::MessagePosted(p)) = msg(serde_json::json!({"type":"message",
            "channel":"C1","user":"U1","ts":"10.0","thread_ts":"10.0","text":"Why? <@U9>"}))
        else {
            panic!()
        };
        assert!(p.is_question && p.thread.is_none());
        // Serialised without the flag when false (events stored before it parse the same).
        assert!(!serde_json::to_string(&Event::MessagePosted(r))
            .unwrap()
            .contains("is_question"));
    }

    #[test]
    fn ts_keeps_the_fraction() {
        let t = ts_time(&SlackTs::parse("1700000000.000100").unwrap());
        assert_eq!(t.timestamp(), 1_700_000_000);
        assert_eq!(t.timestamp_subsec_micros(), 100);
        assert_eq!(ts_time(&SlackTs::parse("5").unwrap()).timestamp(), 5);
    }

    #[test]
    fn posts_count_fire_outside_code_and_quotes() {
        let e = msg(
            serde_json::json!({"type":"message","channel":"C1","user":"U1","ts":"10.000001",
            "text":"<@U2> <@U3|c> <@U2> thanks :fire: 🔥 `:fire: <@U4>`\n&gt; <@U5> :fire:"}),
        )
        .unwrap();
        let Event::MessagePosted(p) = e else { panic!() };
        assert_eq!(p.platform_message_id, "C1:10.000001");
        assert_eq!(p.author.as_str(), "U1");
        let m: Vec<&str> = p.mentions.iter().map(MemberId::as_str).collect();
        assert_eq!(m, ["U2", "U3"]);
        assert_eq!(p.fire_count, 2);
        assert_eq!(p.thread, None);
    }

    #[test]
    fn thread_replies_bots_and_quiet_messages() {
        let Some(Event::MessagePosted(p)) = msg(
            serde_json::json!({"type":"message","channel":"C1","user":"U1",
            "ts":"11.0","thread_ts":"10.0","text":"<@U2> :fire:"}),
        ) else {
            panic!()
        };
        assert_eq!(p.thread.as_deref(), Some("C1:10.0"));
        assert!(msg(serde_json::json!({"type":"message","channel":"C1","user":"U1","ts":"11.0","bot_id":"B1","text":"<@U2> :fire:"})).is_none());
        assert!(msg(serde_json::json!({"type":"message","channel":"C1","user":"UAPP","ts":"11.0","text":"<@U2> :fire:"})).is_none());
        assert!(msg(serde_json::json!({"type":"message","channel":"C1","user":"U1","ts":"11.0","text":"hello all"})).is_none());
        assert!(msg(serde_json::json!({"type":"message","subtype":"channel_join","channel":"C1","user":"U1","ts":"11.0","text":"<@U1> joined"})).is_none());
    }

    #[test]
    fn edits_use_the_edit_time_and_deletes_the_event_time() {
        let Some(Event::MessageEdited(e)) = msg(
            serde_json::json!({"type":"message","subtype":"message_changed",
            "channel":"C1","event_ts":"30.0","message":{"user":"U1","ts":"10.0","text":"<@U2> :fire:","edited":{"user":"U1","ts":"20.5"}}}),
        ) else {
            panic!()
        };
        assert_eq!(e.platform_message_id, "C1:10.0");
        assert_eq!(e.occurred_at, ts_time(&SlackTs::parse("20.5").unwrap()));
        let Some(Event::MessageEdited(e)) = msg(
            serde_json::json!({"type":"message","subtype":"message_changed",
            "channel":"C1","event_ts":"30.0","message":{"user":"U1","ts":"10.0","text":"no more"}}),
        ) else {
            panic!()
        };
        assert_eq!(e.fire_count, 0);
        assert_eq!(e.occurred_at.timestamp(), 30);
        // Neither old nor new text concerns fire (e.g. a link unfurl): nothing to do.
        assert!(msg(serde_json::json!({"type":"message","subtype":"message_changed","channel":"C1","event_ts":"30.0",
            "message":{"user":"U1","ts":"10.0","text":"see https://x"},"previous_message":{"user":"U1","ts":"10.0","text":"see x"}})).is_none());
        let Some(Event::MessageDeleted(d)) = msg(
            serde_json::json!({"type":"message","subtype":"message_deleted",
            "channel":"C1","deleted_ts":"10.0","event_ts":"40.0"}),
        ) else {
            panic!()
        };
        assert_eq!(d.platform_message_id, "C1:10.0");
        assert_eq!(d.occurred_at.timestamp(), 40);
    }

    #[test]
    fn only_fire_reactions_on_messages() {
        let r = |reaction: &str, item: serde_json::Value| match event(serde_json::json!({
            "type":"reaction_added","user":"U2","reaction":reaction,"item_user":"U1","item":item,"event_ts":"50.0"}))
        {
            SlackEvent::ReactionAdded(r) => reaction_event(&r, true),
            other => panic!("{other:?}"),
        };
        let Some(Event::ReactionAdded(x)) = r(
            "fire",
            serde_json::json!({"type":"message","channel":"C1","ts":"10.0"}),
        ) else {
            panic!()
        };
        assert_eq!(x.platform_message_id, "C1:10.0");
        assert_eq!(
            (x.reactor.as_str(), x.message_author.as_str()),
            ("U2", "U1")
        );
        assert!(x.is_fire);
        assert!(r(
            "thumbsup",
            serde_json::json!({"type":"message","channel":"C1","ts":"10.0"})
        )
        .is_none());
        assert!(r("fire", serde_json::json!({"type":"file","file":"F1"})).is_none());
    }
}
