//! Bot Framework activities (`POST /teams/messages`), narrowed to the fields ClassCred uses.
//! Everything else (names, locale, attachments, client info, …) is dropped while parsing.

use chrono::{DateTime, Utc};
use serde::Deserialize;

/// Largest activity body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// A user, bot or conversation reference: ids only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// `29:…` (user), `28:<appId>` (bot).
    #[serde(default)]
    pub id: String,
    /// The Entra object id of a user.
    #[serde(default)]
    pub aad_object_id: Option<String>,
}

impl Account {
    /// Whether this is a bot (`28:` ids).
    pub fn is_bot(&self) -> bool {
        self.id.starts_with("28:")
    }
}

/// The conversation an activity belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    /// `19:…@thread.tacv2;messageid=…` (a channel thread), `19:…@thread.v2` (group chat),
    /// `a:…` (personal).
    pub id: String,
    /// `personal`, `groupChat` or `channel`.
    #[serde(default)]
    pub conversation_type: Option<String>,
    #[serde(default)]
    pub tenant_id: Option<String>,
}

impl Conversation {
    /// The conversation without the `;messageid=` thread suffix: the channel or chat itself.
    pub fn base(&self) -> &str {
        self.id.split(";messageid=").next().unwrap_or(&self.id)
    }

    /// The root message of a channel thread (`;messageid=` suffix), if any.
    pub fn thread_root(&self) -> Option<&str> {
        self.id
            .split_once(";messageid=")
            .map(|(_, root)| root)
            .filter(|r| !r.is_empty())
    }

    /// A personal (1:1) chat with the bot.
    pub fn is_personal(&self) -> bool {
        self.conversation_type.as_deref() == Some("personal")
    }
}

/// An `entities[]` element; only mentions are kept.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Entity {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub mentioned: Option<Account>,
    /// The mention's span in the text (`<at>Name</at>`).
    #[serde(default)]
    pub text: Option<String>,
}

/// `{ "id": … }` in channelData.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct IdRef {
    #[serde(default)]
    pub id: String,
    /// A team's name (conversationUpdate of a team): not personal data, names the community.
    #[serde(default)]
    pub name: Option<String>,
}

/// Teams' `channelData`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelData {
    #[serde(default)]
    pub tenant: Option<IdRef>,
    #[serde(default)]
    pub team: Option<IdRef>,
    #[serde(default)]
    pub channel: Option<IdRef>,
    /// `editMessage`, `softDeleteMessage`, `undeleteMessage`, `teamMemberAdded`, …
    #[serde(default)]
    pub event_type: Option<String>,
}

/// One reaction of a `messageReaction`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MessageReaction {
    #[serde(rename = "type", default)]
    pub kind: String,
}

/// An activity.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    /// `message`, `messageReaction`, `messageUpdate`, `messageDelete`, `conversationUpdate`,
    /// `installationUpdate`, `invoke`, …
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub timestamp: Option<DateTime<Utc>>,
    #[serde(default)]
    pub channel_id: String,
    #[serde(default)]
    pub service_url: String,
    #[serde(default)]
    pub from: Option<Account>,
    #[serde(default)]
    pub recipient: Option<Account>,
    #[serde(default)]
    pub conversation: Option<Conversation>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub entities: Vec<Entity>,
    #[serde(default)]
    pub channel_data: Option<ChannelData>,
    #[serde(default)]
    pub reply_to_id: Option<String>,
    #[serde(default)]
    pub reactions_added: Vec<MessageReaction>,
    #[serde(default)]
    pub reactions_removed: Vec<MessageReaction>,
    #[serde(default)]
    pub members_added: Vec<Account>,
    #[serde(default)]
    pub members_removed: Vec<Account>,
    /// installationUpdate: `add`, `remove`, `add-upgrade`, `remove-upgrade`.
    #[serde(default)]
    pub action: Option<String>,
    /// An `invoke`'s name (`adaptiveCard/action`, …).
    #[serde(default)]
    pub name: Option<String>,
    /// A card button's data (`message` from an Action.Submit; an `invoke`'s value).
    #[serde(default)]
    pub value: Option<serde_json::Value>,
}

/// The two fields authentication needs, read before anything else of an unauthenticated body
/// (a body that is not JSON yields empty strings, which no token matches).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    #[serde(default)]
    pub channel_id: String,
    #[serde(default)]
    pub service_url: String,
}

impl Envelope {
    pub fn peek(body: &[u8]) -> Self {
        serde_json::from_slice(body).unwrap_or_default()
    }
}

impl Activity {
    /// The channel data, or an empty one.
    pub fn channel_data(&self) -> ChannelData {
        self.channel_data.clone().unwrap_or_default()
    }

    /// The team id (`channelData.team.id`) of a team's channel activity.
    pub fn team_id(&self) -> Option<&str> {
        self.channel_data
            .as_ref()
            .and_then(|c| c.team.as_ref())
            .map(|t| t.id.as_str())
            .filter(|t| !t.is_empty())
    }

    /// The tenant id (`conversation.tenantId`, else `channelData.tenant.id`).
    pub fn tenant_id(&self) -> Option<&str> {
        self.conversation
            .as_ref()
            .and_then(|c| c.tenant_id.as_deref())
            .or_else(|| {
                self.channel_data
                    .as_ref()
                    .and_then(|c| c.tenant.as_ref())
                    .map(|t| t.id.as_str())
            })
            .filter(|t| !t.is_empty())
    }

    /// Which community the activity belongs to: the team (`channelData.team.id`), else the
    /// group chat (the conversation). Personal chats belong to none.
    pub fn community_key(&self) -> Option<String> {
        if let Some(team) = self.team_id() {
            return Some(team.to_owned());
        }
        let conv = self.conversation.as_ref()?;
        (!conv.is_personal() && !conv.id.is_empty()).then(|| conv.base().to_owned())
    }

    /// The bot's own id (`recipient.id`).
    pub fn bot_id(&self) -> Option<&str> {
        self.recipient
            .as_ref()
            .map(|r| r.id.as_str())
            .filter(|r| !r.is_empty())
    }

    /// Mentioned ids from `entities[type=mention].mentioned.id`, in order, the bot's own left
    /// out, each once.
    pub fn mentioned_ids(&self) -> Vec<String> {
        let bot = self.bot_id();
        let mut out: Vec<String> = Vec::new();
        for e in &self.entities {
            if e.kind != "mention" {
                continue;
            }
            let Some(m) = &e.mentioned else { continue };
            if m.id.is_empty() || Some(m.id.as_str()) == bot || out.contains(&m.id) {
                continue;
            }
            out.push(m.id.clone());
        }
        out
    }

    /// Whether the bot itself is mentioned.
    pub fn mentions_bot(&self) -> bool {
        let Some(bot) = self.bot_id() else {
            return false;
        };
        self.entities
            .iter()
            .any(|e| e.kind == "mention" && e.mentioned.as_ref().is_some_and(|m| m.id == bot))
    }
}

/// Parses an activity body (after authentication).
pub fn parse(body: &[u8]) -> Result<Activity, serde_json::Error> {
    serde_json::from_slice(body)
}
