//! The Bot Framework Connector API (Teams' side of replies, notices and member look-ups),
//! through the one outbound client.
//!
//! - Token: client credentials at `{login}/{tenant|botframework.com}/oauth2/v2.0/token`, scope
//!   `https://api.botframework.com/.default`, cached until a minute before it expires (and
//!   dropped when the Connector answers 401).
//! - `POST {serviceUrl}v3/conversations/{conversationId}/activities/{replyToId}` (reply),
//!   `POST {serviceUrl}v3/conversations` (a personal conversation with a member),
//!   `POST {serviceUrl}v3/conversations/{id}/activities` (send),
//!   `GET {serviceUrl}v3/conversations/{id}/pagedmembers?pageSize=500&continuationToken=…`.
//!
//! A `serviceUrl` is used only when its exact origin is on the configured allow-list (the
//! outbound policy, [`crate::subprocessor_policy`]); a missing trailing slash is added;
//! conversation ids are percent-encoded as one path segment (channel thread ids hold `;`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use classcred_outbound::header::{HeaderValue, CONTENT_TYPE};
use classcred_outbound::{OutboundClient, OutboundError, PolicyError, StatusCode, Url};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

/// The scope of the bot's Connector token.
pub const SCOPE: &str = "https://api.botframework.com/.default";

/// Everything but unreserved characters is encoded in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Why a Connector call failed. Never carries a URL, a token or a body.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// The serviceUrl (or token URL) is not allowed; nothing was sent.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error("{what}: {source}")]
    Transport {
        what: &'static str,
        source: OutboundError,
    },
    /// A non-2xx answer.
    #[error("{what}: status {status}")]
    Status { what: &'static str, status: u16 },
    #[error("{what}: unexpected response")]
    Parse { what: &'static str },
}

impl ConnectorError {
    /// Whether trying again later may help (transport, 429, 5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            ConnectorError::Transport { .. } => true,
            ConnectorError::Status { status, .. } => *status == 429 || *status >= 500,
            ConnectorError::Policy(_) | ConnectorError::Parse { .. } => false,
        }
    }
}

/// A member of a conversation (`GET …/pagedmembers`): ids, name and email only.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationMember {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub aad_object_id: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub user_principal_name: Option<String>,
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// `user`, `bot`, …
    #[serde(default)]
    pub user_role: Option<String>,
}

#[derive(Clone)]
struct CachedToken {
    token: SecretString,
    expires: Instant,
}

/// The Connector client. Cheap to clone.
#[derive(Clone)]
pub struct Connector {
    http: OutboundClient,
    token_url: Url,
    app_id: String,
    password: SecretString,
    token: Arc<tokio::sync::Mutex<Option<CachedToken>>>,
}

/// `serviceUrl` as a base URL ending in `/`.
pub fn service_base(service_url: &str) -> Result<Url, PolicyError> {
    let mut s = service_url.trim().to_owned();
    if !s.ends_with('/') {
        s.push('/');
    }
    let url = Url::parse(&s).map_err(|_| PolicyError::InvalidUrl)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(PolicyError::InvalidUrl);
    }
    Ok(url)
}

/// One percent-encoded path segment.
pub fn segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

fn json_body(
    req: classcred_outbound::RequestBuilder,
    body: &Value,
) -> classcred_outbound::RequestBuilder {
    req.header(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    )
    .body(body.to_string())
}

impl Connector {
    pub fn new(http: OutboundClient, token_url: Url, app_id: &str, password: SecretString) -> Self {
        Self {
            http,
            token_url,
            app_id: app_id.to_owned(),
            password,
            token: Arc::new(tokio::sync::Mutex::new(None)),
        }
    }

    /// The outbound client (its policy is the allow-list).
    pub fn http(&self) -> &OutboundClient {
        &self.http
    }

    async fn read(
        &self,
        what: &'static str,
        resp: classcred_outbound::OutboundResponse,
    ) -> Result<Value, ConnectorError> {
        let status = resp.status();
        if !status.is_success() {
            if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                *self.token.lock().await = None;
            }
            return Err(ConnectorError::Status {
                what,
                status: status.as_u16(),
            });
        }
        let bytes = resp
            .bytes()
            .await
            .map_err(|source| ConnectorError::Transport { what, source })?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|_| ConnectorError::Parse { what })
    }

    /// The bot's access token (cached until a minute before it expires).
    pub async fn token(&self) -> Result<SecretString, ConnectorError> {
        const WHAT: &str = "token";
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref().filter(|t| t.expires > Instant::now()) {
            return Ok(t.token.clone());
        }
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.app_id.as_str()),
            ("client_secret", self.password.expose_secret()),
            ("scope", SCOPE),
        ];
        let req = self.http.post(&self.token_url)?.form(&form);
        let resp = self
            .http
            .send(req)
            .await
            .map_err(|source| ConnectorError::Transport { what: WHAT, source })?;
        let v = self.read(WHAT, resp).await?;
        let token = v
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or(ConnectorError::Parse { what: WHAT })?;
        let lifetime = v.get("expires_in").and_then(Value::as_u64).unwrap_or(3600);
        let expires = Instant::now() + Duration::from_secs(lifetime.saturating_sub(60).max(1));
        let token = SecretString::from(token.to_owned());
        *cached = Some(CachedToken {
            token: token.clone(),
            expires,
        });
        tracing::debug!(expires_in = lifetime, "Bot Framework token obtained");
        Ok(token)
    }

    async fn post(
        &self,
        what: &'static str,
        url: &Url,
        body: &Value,
    ) -> Result<Value, ConnectorError> {
        // Checked before a token is asked for: a serviceUrl off the allow-list costs nothing.
        self.http.policy().check(url)?;
        let token = self.token().await?;
        let req = json_body(self.http.post(url)?, body).bearer_auth(token.expose_secret());
        let resp = self
            .http
            .send(req)
            .await
            .map_err(|source| ConnectorError::Transport { what, source })?;
        self.read(what, resp).await
    }

    async fn get(&self, what: &'static str, url: &Url) -> Result<Value, ConnectorError> {
        self.http.policy().check(url)?;
        let token = self.token().await?;
        let req = self.http.get(url)?.bearer_auth(token.expose_secret());
        let resp = self
            .http
            .send(req)
            .await
            .map_err(|source| ConnectorError::Transport { what, source })?;
        self.read(what, resp).await
    }

    fn url(service_url: &str, path: &str) -> Result<Url, ConnectorError> {
        Ok(service_base(service_url)?
            .join(path)
            .map_err(|_| PolicyError::InvalidUrl)?)
    }

    /// `POST …/v3/conversations/{conversation}/activities/{reply_to}`: the new activity's id.
    pub async fn reply(
        &self,
        service_url: &str,
        conversation_id: &str,
        reply_to_id: &str,
        activity: &Value,
    ) -> Result<Option<String>, ConnectorError> {
        let url = Self::url(
            service_url,
            &format!(
                "v3/conversations/{}/activities/{}",
                segment(conversation_id),
                segment(reply_to_id)
            ),
        )?;
        let v = self.post("reply", &url, activity).await?;
        Ok(v.get("id").and_then(Value::as_str).map(str::to_owned))
    }

    /// `POST …/v3/conversations/{conversation}/activities`: the new activity's id.
    pub async fn send(
        &self,
        service_url: &str,
        conversation_id: &str,
        activity: &Value,
    ) -> Result<Option<String>, ConnectorError> {
        let url = Self::url(
            service_url,
            &format!("v3/conversations/{}/activities", segment(conversation_id)),
        )?;
        let v = self.post("send", &url, activity).await?;
        Ok(v.get("id").and_then(Value::as_str).map(str::to_owned))
    }

    /// `POST …/v3/conversations`: the personal conversation of the bot with `user_id` (Teams
    /// returns the existing one when there is one).
    pub async fn create_personal(
        &self,
        service_url: &str,
        bot_id: &str,
        user_id: &str,
        tenant_id: Option<&str>,
    ) -> Result<String, ConnectorError> {
        let url = Self::url(service_url, "v3/conversations")?;
        let mut body = serde_json::json!({
            "bot": { "id": bot_id },
            "members": [{ "id": user_id }],
            "isGroup": false,
        });
        if let Some(t) = tenant_id {
            body["tenantId"] = Value::from(t);
            body["channelData"] = serde_json::json!({ "tenant": { "id": t } });
        }
        let v = self.post("create_conversation", &url, &body).await?;
        v.get("id")
            .and_then(Value::as_str)
            .filter(|i| !i.is_empty())
            .map(str::to_owned)
            .ok_or(ConnectorError::Parse {
                what: "create_conversation",
            })
    }

    /// One page of `GET …/v3/conversations/{conversation}/pagedmembers` (Teams' member list;
    /// the unpaged `…/members` is deprecated for teams and returns at most a few hundred).
    /// `continuation` is the token of the previous page; the last page has none.
    pub async fn members_page(
        &self,
        service_url: &str,
        conversation_id: &str,
        continuation: Option<&str>,
    ) -> Result<MembersPage, ConnectorError> {
        let mut url = Self::url(
            service_url,
            &format!("v3/conversations/{}/pagedmembers", segment(conversation_id)),
        )?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("pageSize", &MEMBERS_PAGE_SIZE.to_string());
            if let Some(token) = continuation {
                q.append_pair("continuationToken", token);
            }
        }
        let v = self.get("members", &url).await?;
        serde_json::from_value(v).map_err(|_| ConnectorError::Parse { what: "members" })
    }

    /// Walks the conversation's member pages, handing each to `page` until it returns `false`
    /// or the last page. At most [`MAX_MEMBER_PAGES`] pages; a continuation token seen twice is
    /// an error (a Connector that loops must not keep a job busy forever).
    pub async fn each_members_page(
        &self,
        service_url: &str,
        conversation_id: &str,
        mut page: impl FnMut(Vec<ConversationMember>) -> bool,
    ) -> Result<(), ConnectorError> {
        let mut token: Option<String> = None;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..MAX_MEMBER_PAGES {
            let p = self
                .members_page(service_url, conversation_id, token.as_deref())
                .await?;
            if !page(p.members) {
                return Ok(());
            }
            match p.continuation_token.filter(|t| !t.is_empty()) {
                None => return Ok(()),
                Some(t) if !seen.insert(t.clone()) => {
                    return Err(ConnectorError::Parse {
                        what: "members (a continuation token came back twice)",
                    })
                }
                Some(t) => token = Some(t),
            }
        }
        Err(ConnectorError::Parse {
            what: "members (more pages than allowed)",
        })
    }
}

/// Members asked for per page (Teams accepts 50 to 500).
pub const MEMBERS_PAGE_SIZE: u32 = 500;
/// Pages read at most in one walk: 200 × 500 = 100,000 members.
pub const MAX_MEMBER_PAGES: usize = 200;

/// One page of a conversation's members (`PagedMembersResult`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MembersPage {
    #[serde(default)]
    pub members: Vec<ConversationMember>,
    #[serde(default)]
    pub continuation_token: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_urls_and_segments() {
        assert_eq!(
            service_base("http://localhost:56150/_connector")
                .unwrap()
                .as_str(),
            "http://localhost:56150/_connector/"
        );
        assert_eq!(
            service_base("https://smba.trafficmanager.net/amer/")
                .unwrap()
                .as_str(),
            "https://smba.trafficmanager.net/amer/"
        );
        assert!(service_base("https://x.example/a?b=c").is_err());
        assert_eq!(
            segment("19:abc@thread.tacv2;messageid=17/x"),
            "19%3Aabc%40thread.tacv2%3Bmessageid%3D17%2Fx"
        );
    }
}
