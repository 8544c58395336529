//! Commands: `@ClassCred me | top [week|month|all] | help | dashboard | privacy …` in a team or
//! group chat, or any message in a personal chat with the bot. The request only queues a job
//! ([`COMMAND_JOB`]); the job runs the seam's `run_command` and replies through the Connector
//! API (`POST {serviceUrl}v3/conversations/{id}/activities/{replyToId}`), so the activity is
//! acknowledged at once whatever the answer costs.
//!
//! Teams has no ephemeral messages: a reply in a channel or group chat is seen by everyone
//! there. So `dashboard` (a sign-in link for the asker alone) and `privacy` answers typed in a
//! team or group chat go to the asker's personal chat with the bot (`POST v3/conversations`),
//! and the conversation only gets a pointer to it. Everything else is a reply in place.

use classcred_platform::{CommandContext, Doc, Line, Span};
use classcred_store::jobs::{ClaimedJob, NewJob};
use classcred_store::{Community, CommunityState, Store};
use serde::{Deserialize, Serialize};

use crate::activity::Activity;
use crate::{TeamsState, PLATFORM};

/// Job kind of a command to answer.
pub const COMMAND_JOB: &str = "teams.command";
/// How Teams users type a command.
pub const PREFIX: &str = "@ClassCred";
/// Command words recognised after a mention of the bot (at most 10: the manifest's command
/// list limit).
pub const COMMANDS: &[&str] = &[
    "me",
    "top",
    "help",
    "dashboard",
    "privacy",
    "store",
    "buy",
    "questions",
    "accept",
    "ask",
];
/// Commands whose answer is for the asker alone (never shown in a shared conversation):
/// `questions` lists classmates' question texts for staff; a purchase is the buyer's business.
pub const PRIVATE_COMMANDS: &[&str] = &["dashboard", "privacy", "questions", "buy"];
/// Longest argument text kept (`ask` carries a whole question).
const MAX_ARGS: usize = 2100;

/// Plain text of Teams message HTML: tags removed, the common entities decoded, whitespace
/// collapsed.
fn plain(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let decoded = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text of a message without the bot's own mention spans (`entities[].text` of the
/// mentions of the bot, e.g. `<at>ClassCred</at>`).
fn without_bot_mention(a: &Activity, text: &str) -> String {
    let Some(bot) = a.bot_id() else {
        return text.to_owned();
    };
    let mut t = text.to_owned();
    for e in &a.entities {
        if e.kind == "mention" && e.mentioned.as_ref().is_some_and(|m| m.id == bot) {
            if let Some(span) = e.text.as_deref().filter(|s| !s.is_empty()) {
                t = t.replace(span, " ");
            }
        }
    }
    t
}

/// The argument text when `a` is a command: a message in a personal chat, or one mentioning
/// the bot whose text (without the mention) starts with a command word.
pub fn command_args(a: &Activity) -> Option<String> {
    let personal = a.conversation.as_ref().is_some_and(|c| c.is_personal());
    if !personal && !a.mentions_bot() {
        return None;
    }
    let from = a.from.as_ref()?;
    if from.id.is_empty() || from.is_bot() {
        return None;
    }
    let text = plain(&without_bot_mention(
        a,
        a.text.as_deref().unwrap_or_default(),
    ));
    let first = text
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_lowercase();
    if COMMANDS.contains(&first.as_str()) {
        Some(text.chars().take(MAX_ARGS).collect())
    } else if personal {
        // Anything else typed to the bot is answered with the help; the text itself is not
        // kept (a job payload holds ids, never what people write).
        Some(String::new())
    } else {
        None
    }
}

/// What the command job needs (ids only, and the argument text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandRequest {
    pub service_url: String,
    pub conversation_id: String,
    pub reply_to_id: String,
    pub user_id: String,
    pub bot_id: String,
    /// The team or group chat; `None` in a personal chat.
    pub community_key: Option<String>,
    /// The tenant (to open a personal chat).
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// The argument text, sealed with [`Store::seal_job_text`] under `(COMMAND_JOB, reply_to_id)`
    /// (it can hold personal data: `privacy correct …`); opened by [`CommandRequest::open`].
    pub args: String,
}

impl CommandRequest {
    /// This request with its argument text opened (an empty text, i.e. help, when it cannot
    /// be: altered, or sealed under a master key rotated since).
    pub fn open(mut self, store: &Store) -> Self {
        self.args = store
            .open_job_text(COMMAND_JOB, &self.reply_to_id, &self.args)
            .unwrap_or_default();
        self
    }
}

/// Queues the answer to a command.
pub async fn enqueue(st: &TeamsState, a: &Activity, args: &str) -> anyhow::Result<&'static str> {
    let (Some(conv), Some(id), Some(from), Some(bot)) = (
        a.conversation.as_ref(),
        a.id.as_deref(),
        a.from.as_ref(),
        a.bot_id(),
    ) else {
        return Ok("ignored");
    };
    // A serviceUrl we may not call is refused here, not in a job that cannot succeed.
    let allowed = crate::connector::service_base(&a.service_url)
        .ok()
        .is_some_and(|u| st.connector.http().policy().check(&u).is_ok());
    if !allowed {
        st.metrics
            .observe_rejection("teams", "service_url_not_allowed");
        tracing::warn!("Teams command not answered: serviceUrl origin not allowed");
        return Ok("service_url_not_allowed");
    }
    let req = CommandRequest {
        service_url: a.service_url.clone(),
        conversation_id: conv.id.clone(),
        reply_to_id: id.to_owned(),
        user_id: from.id.clone(),
        bot_id: bot.to_owned(),
        community_key: a.community_key(),
        tenant_id: a.tenant_id().map(str::to_owned),
        args: st.store.seal_job_text(COMMAND_JOB, id, args),
    };
    let mut job = NewJob::new(COMMAND_JOB, serde_json::to_value(&req)?);
    // One answer per command activity, however often Teams delivers it.
    job.dedupe_key = Some(format!("{COMMAND_JOB}:{}:{id}", conv.id));
    job.max_attempts = 5;
    st.store.enqueue(&job).await?;
    Ok("command")
}

fn text_doc(text: &str) -> Doc {
    Doc {
        lines: vec![Line {
            bullet: false,
            spans: vec![Span::Text(text.to_owned())],
        }],
    }
}

/// The community a command is about: the team or group chat it was typed in; in a personal
/// chat, the oldest active Teams community the user is a member of.
async fn community_of(store: &Store, req: &CommandRequest) -> anyhow::Result<Option<Community>> {
    let mut tx = store.begin_read().await?;
    let found = match &req.community_key {
        Some(key) => tx.community_by_team(PLATFORM, key).await?,
        None => {
            let mut found = None;
            for m in tx.members_with_platform_user_id(&req.user_id).await? {
                let c = tx.community(&m.community_id).await?;
                if c.platform == PLATFORM {
                    found = Some(c);
                    break;
                }
            }
            found
        }
    };
    tx.commit().await?;
    Ok(found.filter(|c| c.state == CommunityState::Active))
}

/// The answer to a command request.
pub async fn answer(
    store: &Store,
    login: Option<&classcred_platform::LoginLinks>,
    req: &CommandRequest,
) -> anyhow::Result<Doc> {
    let Some(community) = community_of(store, req).await? else {
        return Ok(text_doc(
            "ClassCred is not set up for this conversation. Ask a teacher to add the ClassCred app to the team.",
        ));
    };
    let ctx = CommandContext {
        store,
        login,
        community: &community,
        platform_user_id: &req.user_id,
        prefix: PREFIX,
        // A team channel (not the personal chat): `ask`, `poll` and `debate` post a new thread
        // there.
        channel: req.community_key.as_ref().map(|_| {
            req.conversation_id
                .split(";messageid=")
                .next()
                .unwrap_or(&req.conversation_id)
        }),
    };
    Ok(classcred_platform::run_command(&ctx, &req.args).await)
}

/// The Buy buttons of a `store` answer: one per item that can be bought now.
pub async fn store_buttons(
    store: &Store,
    req: &CommandRequest,
) -> anyhow::Result<Vec<(String, serde_json::Value)>> {
    let Some(community) = community_of(store, req).await? else {
        return Ok(Vec::new());
    };
    let items = classcred_service::store::on_sale(store, &community.id).await?;
    Ok(items
        .iter()
        .filter(|i| i.left != Some(0))
        .map(|i| {
            crate::cards::buy_button(
                i.item.number,
                format!("Buy #{} ({} points)", i.item.number, i.item.price),
            )
        })
        .collect())
}

/// Handler of [`COMMAND_JOB`]: answers and replies in the conversation. A refusal by Teams that
/// will not change (4xx other than 429, a serviceUrl off the allow-list) is logged and the job
/// succeeds; transport errors, 429 and 5xx fail it so it is retried.
pub async fn command_job(
    store: &Store,
    connector: &crate::connector::Connector,
    login: Option<&classcred_platform::LoginLinks>,
    job: &ClaimedJob,
) -> anyhow::Result<()> {
    let req: CommandRequest =
        serde_json::from_value::<CommandRequest>(job.payload.clone())?.open(store);
    let doc = answer(store, login, &req).await?;
    let first = req
        .args
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_lowercase();
    let private = req.community_key.is_some() && PRIVATE_COMMANDS.contains(&first.as_str());
    let doc = if private {
        let sent = async {
            let conv = connector
                .create_personal(
                    &req.service_url,
                    &req.bot_id,
                    &req.user_id,
                    req.tenant_id.as_deref(),
                )
                .await?;
            connector
                .send(
                    &req.service_url,
                    &conv,
                    &crate::render::message_activity(&doc),
                )
                .await
        }
        .await;
        match sent {
            Ok(_) => text_doc("I have answered you in our personal chat."),
            Err(e) if e.is_transient() => return Err(e.into()),
            Err(e) => {
                tracing::warn!(job_id = %job.id, error = %e, "Teams refused the private answer");
                text_doc(
                    "I could not write to you privately: open a chat with ClassCred and ask there.",
                )
            }
        }
    } else {
        doc
    };
    let mut activity = crate::render::message_activity(&doc);
    if first == "store" {
        let buttons = store_buttons(store, &req).await?;
        if !buttons.is_empty() {
            activity["attachments"] =
                serde_json::Value::Array(vec![crate::cards::buttons_card(&buttons)]);
        }
    }
    activity["replyToId"] = serde_json::Value::from(req.reply_to_id.as_str());
    activity["conversation"] = serde_json::json!({ "id": req.conversation_id });
    activity["from"] = serde_json::json!({ "id": req.bot_id });
    activity["recipient"] = serde_json::json!({ "id": req.user_id });
    match connector
        .reply(
            &req.service_url,
            &req.conversation_id,
            &req.reply_to_id,
            &activity,
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.is_transient() => Err(e.into()),
        Err(e) => {
            tracing::warn!(job_id = %job.id, error = %e, "Teams refused the command answer; not retried");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn act(v: serde_json::Value) -> Activity {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn commands_need_the_bot_mentioned_or_a_personal_chat() {
        let mention = serde_json::json!([{"type": "mention", "mentioned": {"id": "28:bot"}, "text": "<at>ClassCred</at>"}]);
        let a = act(
            serde_json::json!({"type": "message", "id": "1", "from": {"id": "29:a"}, "recipient": {"id": "28:bot"},
            "conversation": {"id": "19:c", "conversationType": "channel"},
            "text": "<p><at>ClassCred</at>&nbsp;top  week</p>", "entities": mention}),
        );
        assert_eq!(command_args(&a).as_deref(), Some("top week"));
        let a = act(
            serde_json::json!({"type": "message", "id": "1", "from": {"id": "29:a"}, "recipient": {"id": "28:bot"},
            "conversation": {"id": "19:c", "conversationType": "channel"},
            "text": "<at>ClassCred</at> thanks for the help (fire)", "entities": mention}),
        );
        assert_eq!(
            command_args(&a),
            None,
            "not a command word: a plain message"
        );
        let a = act(
            serde_json::json!({"type": "message", "id": "1", "from": {"id": "29:a"}, "recipient": {"id": "28:bot"},
            "conversation": {"id": "19:c", "conversationType": "channel"}, "text": "me"}),
        );
        assert_eq!(command_args(&a), None, "the bot is not mentioned");
        let a = act(
            serde_json::json!({"type": "message", "id": "1", "from": {"id": "29:a"}, "recipient": {"id": "28:bot"},
            "conversation": {"id": "a:1", "conversationType": "personal"}, "text": "Dashboard"}),
        );
        assert_eq!(command_args(&a).as_deref(), Some("Dashboard"));
        let a = act(
            serde_json::json!({"type": "message", "id": "1", "from": {"id": "29:a"}, "recipient": {"id": "28:bot"},
            "conversation": {"id": "a:1", "conversationType": "personal"}, "text": "my secret diary"}),
        );
        assert_eq!(command_args(&a).as_deref(), Some(""));
    }
}
