//! Events API payloads (`POST /slack/events`), narrowed to the fields ClassCred uses.
//!
//! Everything else Slack sends is dropped while parsing. Unknown envelope or event types parse to
//! `Unknown(type)` so the endpoint can answer 200 and ignore them. Decisions about what an event
//! means (ignore bots, award fire, …) belong to the engine, not here.

use crate::body::{check_content_type, from_value, parse_json, type_of, PayloadError, JSON};
use crate::ids::{SlackChannelId, SlackTeamId, SlackTs, SlackUserId};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Header on redeliveries: `1`, `2` or `3`. Retries are processed like first deliveries (the
/// engine's idempotency keys make them harmless); the header is for metrics.
pub const RETRY_NUM_HEADER: &str = "x-slack-retry-num";
/// Why Slack redelivered (`http_timeout`, `http_error`, …).
pub const RETRY_REASON_HEADER: &str = "x-slack-retry-reason";
/// Response header (`1`) asking Slack not to redeliver.
pub const NO_RETRY_HEADER: &str = "x-slack-no-retry";

/// The outer body of an Events API request.
#[derive(Debug, Clone, PartialEq)]
pub enum Envelope {
    /// Slack checking the request URL: answer with the challenge.
    UrlVerification {
        /// Echo this back (`{"challenge": …}` or `text/plain`).
        challenge: String,
    },
    /// One event, to be stored in the inbox and acknowledged.
    EventCallback(Box<EventCallback>),
    /// Slack is dropping events for this workspace (more than 30,000 an hour).
    AppRateLimited(AppRateLimited),
    /// Any other envelope type (answer 200, ignore).
    Unknown(String),
}

/// An `event_callback` envelope. Deduplicate deliveries on `event_id`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EventCallback {
    /// Workspace the event happened in.
    pub team_id: SlackTeamId,
    /// The app the event is for.
    pub api_app_id: String,
    /// Unique per event (the same across retries of one delivery).
    pub event_id: String,
    /// When the event happened, Unix seconds.
    pub event_time: i64,
    /// Installations the event is visible to.
    #[serde(default)]
    pub authorizations: Vec<Authorization>,
    /// Set for Enterprise Grid workspaces.
    #[serde(default)]
    pub enterprise_id: Option<String>,
    /// The inner event.
    pub event: Event,
}

/// One installation an event is delivered for.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Authorization {
    /// Workspace (absent for org-wide installs).
    #[serde(default)]
    pub team_id: Option<String>,
    /// The installing (bot) user.
    pub user_id: SlackUserId,
    /// Whether `user_id` is a bot.
    #[serde(default)]
    pub is_bot: bool,
    /// Org-wide Enterprise Grid install.
    #[serde(default)]
    pub is_enterprise_install: bool,
    /// Enterprise Grid org.
    #[serde(default)]
    pub enterprise_id: Option<String>,
}

/// An `app_rate_limited` envelope.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AppRateLimited {
    /// Workspace being limited.
    pub team_id: SlackTeamId,
    /// Start of the minute (Unix seconds) in which events were dropped.
    pub minute_rate_limited: i64,
    /// The app.
    pub api_app_id: String,
}

/// The inner `event` of an `event_callback`.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// `message` and its subtypes.
    Message(MessageEvent),
    /// `reaction_added`.
    ReactionAdded(ReactionEvent),
    /// `reaction_removed`.
    ReactionRemoved(ReactionEvent),
    /// `team_join`: a new member of the workspace.
    TeamJoin {
        /// The new member.
        user: SlackUser,
    },
    /// `user_change`: a member's profile changed (or they were deactivated).
    UserChange {
        /// The member as they are now.
        user: SlackUser,
    },
    /// `member_joined_channel`.
    MemberJoinedChannel(MemberJoinedChannel),
    /// `app_home_opened`.
    AppHomeOpened(AppHomeOpened),
    /// `app_uninstalled`: the app was removed from the workspace.
    AppUninstalled,
    /// `tokens_revoked`: the listed user ids' tokens were revoked.
    TokensRevoked(TokensRevoked),
    /// Any other event type (answer 200, ignore).
    Unknown(String),
}

/// A `message` event, by subtype.
#[derive(Debug, Clone, PartialEq)]
pub enum MessageEvent {
    /// A new message: no subtype, or `bot_message`, `thread_broadcast`, `file_share`, `me_message`.
    Posted(PostedMessage),
    /// `message_changed`: an edit.
    Changed(MessageChanged),
    /// `message_deleted`.
    Deleted(MessageDeleted),
    /// Any other subtype (`channel_join`, `channel_topic`, …): carries no fire.
    Other {
        /// The subtype.
        subtype: String,
    },
}

/// Message fields shared by posted, edited and deleted messages.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MessageBody {
    /// Author (absent for some bot messages).
    #[serde(default)]
    pub user: Option<SlackUserId>,
    /// Message text with Slack's entities (`<@U123>`, `&gt;`, …).
    #[serde(default)]
    pub text: String,
    /// The message's id in its channel and its time.
    pub ts: SlackTs,
    /// Parent message of a thread (equal to `ts` on the parent itself).
    #[serde(default)]
    pub thread_ts: Option<SlackTs>,
    /// Set when a bot or app posted the message.
    #[serde(default)]
    pub bot_id: Option<String>,
    /// Message subtype, if any.
    #[serde(default)]
    pub subtype: Option<String>,
    /// Set on edited messages: when (and by whom) the last edit happened.
    #[serde(default)]
    pub edited: Option<Edited>,
}

/// The `edited` marker of a message.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Edited {
    /// When the edit happened (decides which edit is newest).
    #[serde(default)]
    pub ts: Option<SlackTs>,
}

impl MessageBody {
    /// Whether a bot or app posted this message (`bot_id` or subtype `bot_message`).
    pub fn is_bot(&self) -> bool {
        self.bot_id.is_some() || self.subtype.as_deref() == Some("bot_message")
    }

    /// Whether this is a reply inside a thread (not the thread's parent).
    pub fn is_thread_reply(&self) -> bool {
        self.thread_ts.as_ref().is_some_and(|t| *t != self.ts)
    }
}

/// A new message in a channel.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PostedMessage {
    /// Channel it was posted in.
    pub channel: SlackChannelId,
    /// `channel`, `group`, `im` or `mpim`.
    #[serde(default)]
    pub channel_type: Option<String>,
    /// The message.
    #[serde(flatten)]
    pub message: MessageBody,
}

/// A `message_changed` event. Match the message by `message.ts`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MessageChanged {
    /// Channel of the message.
    pub channel: SlackChannelId,
    /// The message after the edit.
    pub message: MessageBody,
    /// The message before the edit, when Slack sends it.
    #[serde(default)]
    pub previous_message: Option<MessageBody>,
    /// When the edit happened.
    pub event_ts: SlackTs,
}

/// A `message_deleted` event.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MessageDeleted {
    /// Channel of the message.
    pub channel: SlackChannelId,
    /// `ts` of the deleted message.
    pub deleted_ts: SlackTs,
    /// The message as it was, when Slack sends it.
    #[serde(default)]
    pub previous_message: Option<MessageBody>,
    /// When the delete happened.
    pub event_ts: SlackTs,
}

/// `reaction_added` / `reaction_removed`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ReactionEvent {
    /// Who reacted.
    pub user: SlackUserId,
    /// Emoji name without colons, e.g. `fire` (skin tones as `thumbsup::skin-tone-2`).
    pub reaction: String,
    /// What was reacted to.
    pub item: ReactionItem,
    /// Author of the item (absent for some items).
    #[serde(default)]
    pub item_user: Option<SlackUserId>,
    /// When the reaction happened (decides the quota day).
    pub event_ts: SlackTs,
}

/// The item of a reaction event.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ReactionItem {
    /// `message`, `file` or `file_comment`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Channel of the message (for `message` items).
    #[serde(default)]
    pub channel: Option<SlackChannelId>,
    /// `ts` of the message (for `message` items).
    #[serde(default)]
    pub ts: Option<SlackTs>,
}

impl ReactionItem {
    /// The message reacted to, for `message` items.
    pub fn message(&self) -> Option<(&SlackChannelId, &SlackTs)> {
        match (self.kind.as_str(), &self.channel, &self.ts) {
            ("message", Some(c), Some(ts)) => Some((c, ts)),
            _ => None,
        }
    }
}

/// A workspace member, as in `team_join`, `user_change`, `users.info` and `users.list`: only the
/// fields the privacy registry declares.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SlackUser {
    /// The member's id.
    pub id: SlackUserId,
    /// Their workspace.
    #[serde(default)]
    pub team_id: Option<String>,
    /// Username (handle).
    #[serde(default)]
    pub name: Option<String>,
    /// Full name.
    #[serde(default)]
    pub real_name: Option<String>,
    /// Profile fields.
    #[serde(default)]
    pub profile: SlackProfile,
    /// IANA timezone, e.g. `Europe/Berlin`.
    #[serde(default)]
    pub tz: Option<String>,
    /// Bot users.
    #[serde(default)]
    pub is_bot: bool,
    /// Deactivated accounts.
    #[serde(default)]
    pub deleted: bool,
    /// When the user record last changed (Unix seconds), to order profile updates.
    #[serde(default)]
    pub updated: Option<i64>,
}

/// The profile fields ClassCred keeps.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct SlackProfile {
    /// Display name (may be empty).
    #[serde(default)]
    pub display_name: Option<String>,
    /// Email (needs `users:read.email`).
    #[serde(default)]
    pub email: Option<String>,
    /// 72×72 avatar URL.
    #[serde(default)]
    pub image_72: Option<String>,
}

/// `member_joined_channel`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MemberJoinedChannel {
    /// Who joined.
    pub user: SlackUserId,
    /// Which channel.
    pub channel: SlackChannelId,
    /// `C` public, `G` private.
    #[serde(default)]
    pub channel_type: Option<String>,
    /// Workspace.
    #[serde(default)]
    pub team: Option<String>,
    /// Who invited them, if anyone.
    #[serde(default)]
    pub inviter: Option<SlackUserId>,
    /// When.
    #[serde(default)]
    pub event_ts: Option<SlackTs>,
}

/// `app_home_opened`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AppHomeOpened {
    /// Who opened the App Home.
    pub user: SlackUserId,
    /// The app's DM channel with them.
    #[serde(default)]
    pub channel: Option<SlackChannelId>,
    /// `home` or `messages`.
    #[serde(default)]
    pub tab: Option<String>,
    /// When.
    #[serde(default)]
    pub event_ts: Option<SlackTs>,
}

/// `tokens_revoked`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TokensRevoked {
    /// Users whose user tokens were revoked.
    #[serde(default)]
    pub oauth: Vec<SlackUserId>,
    /// Bot users whose bot tokens were revoked.
    #[serde(default)]
    pub bot: Vec<SlackUserId>,
}

/// Parses an Events API body after the signature was verified. `content_type` is the request's
/// `Content-Type` header.
pub fn parse_events_body(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Envelope, PayloadError> {
    check_content_type(content_type, JSON)?;
    parse_json(body)
}

impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let kind: String = type_of::<D::Error>(&v)?;
        Ok(match kind.as_str() {
            "url_verification" => {
                #[derive(Deserialize)]
                struct C {
                    challenge: String,
                }
                let c: C = from_value(v)?;
                Envelope::UrlVerification {
                    challenge: c.challenge,
                }
            }
            "event_callback" => Envelope::EventCallback(from_value(v)?),
            "app_rate_limited" => Envelope::AppRateLimited(from_value(v)?),
            _ => Envelope::Unknown(kind),
        })
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct WithUser {
            user: SlackUser,
        }
        #[derive(Deserialize)]
        struct Revoked {
            tokens: TokensRevoked,
        }
        let v = Value::deserialize(d)?;
        let kind: String = type_of::<D::Error>(&v)?;
        Ok(match kind.as_str() {
            "message" => Event::Message(message_event(v)?),
            "reaction_added" => Event::ReactionAdded(from_value(v)?),
            "reaction_removed" => Event::ReactionRemoved(from_value(v)?),
            "team_join" => Event::TeamJoin {
                user: from_value::<WithUser, D::Error>(v)?.user,
            },
            "user_change" => Event::UserChange {
                user: from_value::<WithUser, D::Error>(v)?.user,
            },
            "member_joined_channel" => Event::MemberJoinedChannel(from_value(v)?),
            "app_home_opened" => Event::AppHomeOpened(from_value(v)?),
            "app_uninstalled" => Event::AppUninstalled,
            "tokens_revoked" => Event::TokensRevoked(from_value::<Revoked, D::Error>(v)?.tokens),
            _ => Event::Unknown(kind),
        })
    }
}

fn message_event<E: serde::de::Error>(v: Value) -> Result<MessageEvent, E> {
    let subtype = v.get("subtype").and_then(Value::as_str).map(str::to_owned);
    Ok(match subtype.as_deref() {
        None | Some("bot_message" | "thread_broadcast" | "file_share" | "me_message") => {
            MessageEvent::Posted(from_value(v)?)
        }
        Some("message_changed") => MessageEvent::Changed(from_value(v)?),
        Some("message_deleted") => MessageEvent::Deleted(from_value(v)?),
        Some(other) => MessageEvent::Other {
            subtype: other.to_owned(),
        },
    })
}
