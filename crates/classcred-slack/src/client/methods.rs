//! The Web API methods of [`SlackClient`]: one function per Slack method, each choosing its
//! body encoding (JSON for writes, form for reads and OAuth) and whether it may be retried.

use super::{
    decode, Auth, Body, BotToken, OutgoingMessage, PostedMessageRef, SlackApiError, SlackClient,
};
use crate::events::SlackUser;
use crate::ids::{SlackChannelId, SlackTs, SlackUserId};
use crate::oauth::OAuthAccess;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{json, Value};

const USERS_LIST_PAGE: &str = "200";
const MAX_PAGES: usize = 1000;

impl SlackClient {
    /// `chat.postMessage`.
    pub async fn post_message(
        &self,
        token: &BotToken,
        msg: &OutgoingMessage,
    ) -> Result<PostedMessageRef, SlackApiError> {
        let mut body = json!({ "channel": msg.channel, "text": msg.text });
        if let Some(b) = &msg.blocks {
            body["blocks"] = b.clone();
        }
        if let Some(t) = &msg.thread_ts {
            body["thread_ts"] = json!(t.as_str());
        }
        let v = self
            .call(
                "chat.postMessage",
                Auth::Bearer(token),
                Body::Json(body),
                false,
            )
            .await?;
        #[derive(Deserialize)]
        struct R {
            channel: SlackChannelId,
            ts: SlackTs,
        }
        let r: R = decode("chat.postMessage", v)?;
        Ok(PostedMessageRef {
            channel: r.channel,
            ts: r.ts,
        })
    }

    /// `chat.postEphemeral`: a message only `user` sees, in `channel`. Returns its ts.
    pub async fn post_ephemeral(
        &self,
        token: &BotToken,
        channel: &str,
        user: &SlackUserId,
        text: &str,
        blocks: Option<&Value>,
    ) -> Result<SlackTs, SlackApiError> {
        let mut body = json!({ "channel": channel, "user": user.as_str(), "text": text });
        if let Some(b) = blocks {
            body["blocks"] = b.clone();
        }
        let v = self
            .call(
                "chat.postEphemeral",
                Auth::Bearer(token),
                Body::Json(body),
                false,
            )
            .await?;
        #[derive(Deserialize)]
        struct R {
            message_ts: SlackTs,
        }
        Ok(decode::<R>("chat.postEphemeral", v)?.message_ts)
    }

    /// `reactions.add`: the app reacts to a message (confirmations that do not flood the
    /// channel). Adding a reaction that is already there (`already_reacted`) is success.
    pub async fn reactions_add(
        &self,
        token: &BotToken,
        channel: &str,
        ts: &str,
        name: &str,
    ) -> Result<(), SlackApiError> {
        let body = json!({ "channel": channel, "timestamp": ts, "name": name });
        match self
            .call(
                "reactions.add",
                Auth::Bearer(token),
                Body::Json(body),
                false,
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(SlackApiError::Api { error, .. }) if error == "already_reacted" => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `users.info`.
    pub async fn users_info(
        &self,
        token: &BotToken,
        user: &SlackUserId,
    ) -> Result<SlackUser, SlackApiError> {
        let form = vec![("user", user.as_str().to_owned())];
        let v = self
            .call("users.info", Auth::Bearer(token), Body::Form(form), true)
            .await?;
        #[derive(Deserialize)]
        struct R {
            user: SlackUser,
        }
        Ok(decode::<R>("users.info", v)?.user)
    }

    /// `users.list`, following `response_metadata.next_cursor` until the last page. Members
    /// whose records do not parse (never seen in practice) are skipped and counted in a log line.
    pub async fn users_list(&self, token: &BotToken) -> Result<Vec<SlackUser>, SlackApiError> {
        const M: &str = "users.list";
        let mut users = Vec::new();
        let mut cursor = String::new();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..MAX_PAGES {
            let mut form = vec![("limit", USERS_LIST_PAGE.to_owned())];
            if !cursor.is_empty() {
                form.push(("cursor", cursor.clone()));
            }
            let v = self
                .call(M, Auth::Bearer(token), Body::Form(form), true)
                .await?;
            #[derive(Deserialize)]
            struct Meta {
                #[serde(default)]
                next_cursor: String,
            }
            #[derive(Deserialize)]
            struct R {
                #[serde(default)]
                members: Vec<Value>,
                #[serde(default)]
                response_metadata: Option<Meta>,
            }
            let page: R = decode(M, v)?;
            let (total, before) = (page.members.len(), users.len());
            users.extend(
                page.members
                    .into_iter()
                    .filter_map(|m| serde_json::from_value::<SlackUser>(m).ok()),
            );
            let skipped = total - (users.len() - before);
            if skipped > 0 {
                tracing::warn!(slack.method = M, skipped, "skipped unparseable members");
            }
            cursor = page
                .response_metadata
                .map(|m| m.next_cursor)
                .unwrap_or_default();
            if cursor.is_empty() {
                return Ok(users);
            }
            if !seen.insert(cursor.clone()) {
                break;
            }
        }
        Err(SlackApiError::Pagination {
            method: M.to_owned(),
        })
    }

    /// `views.publish`: sets `user_id`'s App Home to `view` (a `{"type":"home",…}` object).
    pub async fn views_publish(
        &self,
        token: &BotToken,
        user_id: &SlackUserId,
        view: &Value,
    ) -> Result<(), SlackApiError> {
        let body = json!({ "user_id": user_id.as_str(), "view": view });
        self.call(
            "views.publish",
            Auth::Bearer(token),
            Body::Json(body),
            false,
        )
        .await?;
        Ok(())
    }

    /// `views.open`: opens a modal for a `trigger_id` (valid 3 s). Returns the view id.
    pub async fn views_open(
        &self,
        token: &BotToken,
        trigger_id: &str,
        view: &Value,
    ) -> Result<String, SlackApiError> {
        let body = json!({ "trigger_id": trigger_id, "view": view });
        let v = self
            .call("views.open", Auth::Bearer(token), Body::Json(body), false)
            .await?;
        #[derive(Deserialize)]
        struct V {
            id: String,
        }
        #[derive(Deserialize)]
        struct R {
            view: V,
        }
        Ok(decode::<R>("views.open", v)?.view.id)
    }

    /// `oauth.v2.access`: exchanges an install `code` for a bot token, with HTTP Basic client
    /// authentication and a form body (`code`, `redirect_uri`). Not retried except on 429: a
    /// code is single-use.
    pub async fn oauth_v2_access(
        &self,
        client_id: &str,
        client_secret: &SecretString,
        code: &str,
        redirect_uri: &str,
    ) -> Result<OAuthAccess, SlackApiError> {
        const M: &str = "oauth.v2.access";
        let form = vec![
            ("code", code.to_owned()),
            ("redirect_uri", redirect_uri.to_owned()),
        ];
        let auth = Auth::Basic {
            client_id,
            client_secret,
        };
        let v = self.call(M, auth, Body::Form(form), false).await?;
        decode(M, v)
    }

    /// Posts a reply to an interaction's or command's `response_url` (JSON body such as
    /// `{"response_type":"ephemeral","text":…}`). The URL must pass the outbound policy.
    pub async fn respond(&self, response_url: &str, body: &Value) -> Result<(), SlackApiError> {
        const M: &str = "response_url";
        let url = self.policy().check_str(response_url)?;
        self.send(M, url, Auth::None, Body::Json(body.clone()), false)
            .await?;
        Ok(())
    }
}
