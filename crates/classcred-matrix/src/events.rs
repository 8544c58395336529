//! Application Service transactions (`PUT /_matrix/app/v1/transactions/{txnId}`), narrowed to
//! the fields ClassCred uses.
//!
//! A transaction is `{"events": [ClientEvent…]}` (plus `ephemeral` / `to_device` for MSC2409,
//! ignored). Each event is parsed on its own: one event that does not parse is skipped (and
//! counted), never the whole transaction, because a refused transaction is retried by the
//! homeserver with the same content forever. Everything an event carries beyond what is listed
//! here is dropped while parsing.

use serde::Deserialize;
use serde_json::Value;

/// Why a transaction body was refused (400). Never carries payload content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxnError {
    #[error("transaction body is not valid JSON")]
    Malformed,
    #[error("transaction body has no `events` list")]
    NoEvents,
}

/// One parsed transaction: its events in order, and how many were dropped as malformed.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    pub events: Vec<Envelope>,
    pub skipped: usize,
}

/// What every room event carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// `$…`: globally unique; ClassCred's delivery id and message id.
    pub event_id: String,
    /// `!…:server`.
    pub room_id: String,
    /// `@user:server`.
    pub sender: String,
    /// Milliseconds since the epoch, as the sender's homeserver stamped it.
    pub origin_server_ts: i64,
    pub event: MatrixEvent,
}

/// The event kinds ClassCred acts on.
#[derive(Debug, Clone, PartialEq)]
pub enum MatrixEvent {
    /// `m.room.message` (new message, or an edit when it carries `m.replace` + `m.new_content`).
    Message(Box<RoomMessage>),
    /// `m.reaction` with an `m.annotation` relation.
    Reaction(Annotation),
    /// `m.room.redaction`.
    Redaction {
        /// The redacted event (top level `redacts`, or `content.redacts` from room v11).
        redacts: String,
    },
    /// `m.room.member`.
    Member(Membership),
    /// An event the homeserver handed over already redacted (content pruned,
    /// `unsigned.redacted_because` set), e.g. a reaction redacted while deliveries were failing.
    /// Never awards anything.
    Pruned { kind: String },
    /// Anything else (state events, other message types…).
    Other { kind: String },
}

/// Message content (also the shape of `m.new_content`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct MessageContent {
    #[serde(default)]
    pub msgtype: String,
    #[serde(default)]
    pub body: String,
    /// `org.matrix.custom.html` when `formatted_body` is HTML.
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub formatted_body: Option<String>,
    /// Intentional mentions (`m.mentions.user_ids`).
    #[serde(default, rename = "m.mentions")]
    pub mentions: Option<Mentions>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Mentions {
    #[serde(default)]
    pub user_ids: Vec<String>,
}

/// `m.relates_to`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct RelatesTo {
    #[serde(default)]
    pub rel_type: Option<String>,
    #[serde(default)]
    pub event_id: Option<String>,
    #[serde(default)]
    pub key: Option<String>,
}

/// An `m.room.message`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoomMessage {
    pub content: MessageContent,
    pub relates_to: Option<RelatesTo>,
    /// The replacement content of an edit.
    pub new_content: Option<MessageContent>,
}

impl RoomMessage {
    /// The original event id when this is an edit (`m.replace` with `m.new_content`).
    pub fn replaces(&self) -> Option<&str> {
        let r = self.relates_to.as_ref()?;
        if r.rel_type.as_deref() == Some("m.replace") && self.new_content.is_some() {
            r.event_id.as_deref()
        } else {
            None
        }
    }

    /// The thread root when this message is in a thread (`m.thread`).
    pub fn thread_root(&self) -> Option<&str> {
        let r = self.relates_to.as_ref()?;
        (r.rel_type.as_deref() == Some("m.thread"))
            .then_some(r.event_id.as_deref())
            .flatten()
    }
}

/// An `m.reaction`: `key` on `event_id`.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    pub event_id: String,
    pub key: String,
}

/// An `m.room.member` state event about `user_id` (its `state_key`).
#[derive(Debug, Clone, PartialEq)]
pub struct Membership {
    pub user_id: String,
    /// `invite`, `join`, `leave`, `ban`, `knock`.
    pub membership: String,
    pub displayname: Option<String>,
    /// The room's name from `unsigned.invite_room_state` (invites only).
    pub room_name: Option<String>,
    /// An invite to a direct (one-to-one) room.
    pub is_direct: bool,
}

/// Parses a transaction body (after authentication).
pub fn parse_transaction(body: &[u8]) -> Result<Transaction, TxnError> {
    #[derive(Deserialize)]
    struct Raw {
        events: Option<Vec<Value>>,
    }
    let raw: Raw = serde_json::from_slice(body).map_err(|_| TxnError::Malformed)?;
    let raw = raw.events.ok_or(TxnError::NoEvents)?;
    let mut events = Vec::with_capacity(raw.len());
    let mut skipped = 0;
    for v in raw {
        match parse_event(v) {
            Some(e) => events.push(e),
            None => skipped += 1,
        }
    }
    Ok(Transaction { events, skipped })
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Plausible Matrix identifiers: sigil, localpart, `:`, server; at most 255 bytes.
pub fn is_id(s: &str, sigil: char) -> bool {
    s.len() <= 255 && s.starts_with(sigil) && s.len() > 1 && !s.chars().any(char::is_control)
}

/// A user id `@localpart:server` (the server part is what federation names).
pub fn is_user_id(s: &str) -> bool {
    is_id(s, '@')
        && s[1..]
            .split_once(':')
            .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty())
}

/// One event, or `None` when its envelope is missing or malformed.
pub fn parse_event(v: Value) -> Option<Envelope> {
    let kind = str_of(&v, "type")?.to_owned();
    let event_id = str_of(&v, "event_id").filter(|s| is_id(s, '$'))?.to_owned();
    let room_id = str_of(&v, "room_id").filter(|s| is_id(s, '!'))?.to_owned();
    let sender = str_of(&v, "sender").filter(|s| is_user_id(s))?.to_owned();
    let origin_server_ts = v.get("origin_server_ts").and_then(Value::as_i64)?;
    let content = v.get("content").cloned().unwrap_or(Value::Null);
    let pruned = v
        .get("unsigned")
        .and_then(|u| u.get("redacted_because"))
        .is_some_and(|r| !r.is_null());
    let event = if pruned && kind != "m.room.member" {
        MatrixEvent::Pruned { kind }
    } else {
        match kind.as_str() {
            "m.room.message" => MatrixEvent::Message(Box::new(RoomMessage {
                content: serde_json::from_value(content.clone()).ok()?,
                relates_to: content
                    .get("m.relates_to")
                    .and_then(|r| serde_json::from_value(r.clone()).ok()),
                new_content: content
                    .get("m.new_content")
                    .and_then(|n| serde_json::from_value(n.clone()).ok()),
            })),
            "m.reaction" => {
                let r: RelatesTo = content
                    .get("m.relates_to")
                    .and_then(|r| serde_json::from_value(r.clone()).ok())
                    .unwrap_or_default();
                match (r.rel_type.as_deref(), r.event_id, r.key) {
                    (Some("m.annotation"), Some(event_id), Some(key)) if is_id(&event_id, '$') => {
                        MatrixEvent::Reaction(Annotation { event_id, key })
                    }
                    _ => MatrixEvent::Other { kind },
                }
            }
            "m.room.redaction" => {
                let redacts = str_of(&v, "redacts")
                    .or_else(|| str_of(&content, "redacts"))
                    .filter(|s| is_id(s, '$'))?;
                MatrixEvent::Redaction {
                    redacts: redacts.to_owned(),
                }
            }
            "m.room.member" => {
                let user_id = str_of(&v, "state_key").filter(|s| is_user_id(s))?;
                let membership = str_of(&content, "membership")?;
                let room_name = v
                    .get("unsigned")
                    .and_then(|u| u.get("invite_room_state"))
                    .and_then(Value::as_array)
                    .and_then(|states| {
                        states
                            .iter()
                            .find(|s| str_of(s, "type") == Some("m.room.name"))
                    })
                    .and_then(|s| s.get("content"))
                    .and_then(|c| str_of(c, "name"))
                    .map(str::to_owned);
                MatrixEvent::Member(Membership {
                    user_id: user_id.to_owned(),
                    membership: membership.to_owned(),
                    displayname: str_of(&content, "displayname").map(str::to_owned),
                    room_name,
                    is_direct: content.get("is_direct").and_then(Value::as_bool) == Some(true),
                })
            }
            _ => MatrixEvent::Other { kind },
        }
    };
    Some(Envelope {
        event_id,
        room_id,
        sender,
        origin_server_ts,
        event,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(v: Value) -> MatrixEvent {
        parse_event(v).expect("parses").event
    }

    fn base(kind: &str, content: Value) -> Value {
        json!({"type": kind, "event_id": "$e1", "room_id": "!r:hs", "sender": "@a:hs",
               "origin_server_ts": 1_700_000_000_000_i64, "content": content})
    }

    #[test]
    fn envelopes_are_checked() {
        assert!(parse_event(json!({"type":"m.room.message"})).is_none());
        let mut v = base("m.room.message", json!({"msgtype":"m.text","body":"x"}));
        v["sender"] = json!("not-a-user");
        assert!(parse_event(v).is_none());
        let t = parse_transaction(
            br#"{"events":[{"type":"x"},{"type":"m.room.topic","event_id":"$1","room_id":"!r:h","sender":"@u:h","origin_server_ts":1,"content":{}}]}"#,
        )
        .unwrap();
        assert_eq!((t.events.len(), t.skipped), (1, 1));
        assert_eq!(parse_transaction(b"{}"), Err(TxnError::NoEvents));
        assert_eq!(parse_transaction(b"nope"), Err(TxnError::Malformed));
    }

    #[test]
    fn edits_threads_reactions_redactions_members() {
        let MatrixEvent::Message(m) = one(base(
            "m.room.message",
            json!({"msgtype":"m.text","body":"* new","m.new_content":{"msgtype":"m.text","body":"new"},
                   "m.relates_to":{"rel_type":"m.replace","event_id":"$orig"}}),
        )) else {
            panic!()
        };
        assert_eq!(m.replaces(), Some("$orig"));
        assert_eq!(m.new_content.unwrap().body, "new");
        let MatrixEvent::Message(m) = one(base(
            "m.room.message",
            json!({"msgtype":"m.text","body":"hi","m.relates_to":{"rel_type":"m.thread","event_id":"$root"}}),
        )) else {
            panic!()
        };
        assert_eq!((m.replaces(), m.thread_root()), (None, Some("$root")));
        assert_eq!(
            one(base(
                "m.reaction",
                json!({"m.relates_to":{"rel_type":"m.annotation","event_id":"$m","key":"🔥"}})
            )),
            MatrixEvent::Reaction(Annotation {
                event_id: "$m".into(),
                key: "🔥".into()
            })
        );
        let mut red = base("m.room.redaction", json!({}));
        red["redacts"] = json!("$x");
        assert_eq!(
            one(red),
            MatrixEvent::Redaction {
                redacts: "$x".into()
            }
        );
        // Room v11: only in content.
        assert_eq!(
            one(base("m.room.redaction", json!({"redacts":"$y"}))),
            MatrixEvent::Redaction {
                redacts: "$y".into()
            }
        );
        let mut mem = base(
            "m.room.member",
            json!({"membership":"invite","displayname":"Bot"}),
        );
        mem["state_key"] = json!("@classcred:hs");
        mem["unsigned"] =
            json!({"invite_room_state":[{"type":"m.room.name","content":{"name":"Bio 101"}}]});
        assert_eq!(
            one(mem),
            MatrixEvent::Member(Membership {
                user_id: "@classcred:hs".into(),
                membership: "invite".into(),
                displayname: Some("Bot".into()),
                room_name: Some("Bio 101".into()),
                is_direct: false,
            })
        );
    }

    #[test]
    fn pruned_events_are_recognised() {
        let mut v = base("m.reaction", json!({}));
        v["unsigned"] = json!({"redacted_because": {"type":"m.room.redaction"}});
        assert_eq!(
            one(v),
            MatrixEvent::Pruned {
                kind: "m.reaction".into()
            }
        );
        let mut v = base("m.room.message", json!({}));
        v["unsigned"] = json!({"redacted_because": {"type":"m.room.redaction"}});
        assert!(matches!(one(v), MatrixEvent::Pruned { .. }));
    }
}
