//! The homeserver's client-server API, as the Application Service (`Authorization: Bearer
//! <as_token>`), through the one outbound client: only the configured homeserver's origin, only
//! under `/_matrix/client/` (the registry's `matrix-homeserver` subprocessor).

use std::time::Duration;

use classcred_outbound::{
    header, Limits, Method, OutboundClient, OutboundError, OutboundPolicy, StatusCode, Url,
};
use serde_json::Value;

use crate::config::{MatrixConfig, Token};

/// Why a homeserver call failed. Display never contains a URL, a token or a body.
#[derive(Debug, thiserror::Error)]
pub enum HsError {
    #[error(transparent)]
    Outbound(#[from] OutboundError),
    #[error(transparent)]
    Policy(#[from] classcred_outbound::PolicyError),
    /// The homeserver answered with an error status and Matrix `errcode`.
    #[error("homeserver answered {status} ({errcode})")]
    Status { status: u16, errcode: String },
    #[error("homeserver answer is not the expected JSON")]
    Malformed,
}

impl HsError {
    /// A refusal that will not change by retrying (4xx other than 429).
    pub fn is_permanent(&self) -> bool {
        matches!(self, HsError::Status { status, .. } if (400..500).contains(status) && *status != 429)
    }
}

/// A member of a room as the homeserver lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomMember {
    pub user_id: String,
    pub displayname: Option<String>,
}

/// The Application Service's client of the homeserver. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Homeserver {
    http: OutboundClient,
    base: Url,
    token: Token,
    bot: String,
}

impl Homeserver {
    /// A client of `cfg.homeserver_url` (its origin declared to the outbound policy as the
    /// `matrix-homeserver` subprocessor).
    pub fn new(cfg: &MatrixConfig) -> anyhow::Result<Self> {
        let base = cfg.validate().map_err(anyhow::Error::msg)?;
        let policy = OutboundPolicy::none().configure(
            classcred_store::registry::subprocessors::MATRIX_HOMESERVER,
            &base,
        )?;
        let http = OutboundClient::new(
            policy,
            Limits {
                connect_timeout: Duration::from_secs(5),
                timeout: Duration::from_secs(15),
                max_response_bytes: 2 * 1024 * 1024,
            },
        )?;
        Ok(Self {
            http,
            base,
            token: cfg.as_token.clone(),
            bot: cfg.bot_user_id(),
        })
    }

    /// The bot's user id.
    pub fn bot_user_id(&self) -> &str {
        &self.bot
    }

    fn url(&self, segments: &[&str]) -> Result<Url, HsError> {
        let mut url = self.base.clone();
        {
            let mut path = url.path_segments_mut().map_err(|()| HsError::Malformed)?;
            path.pop_if_empty();
            path.extend(["_matrix", "client", "v3"]);
            path.extend(segments);
        }
        Ok(url)
    }

    async fn call(&self, method: Method, url: Url, body: Option<&Value>) -> Result<Value, HsError> {
        let req = match method {
            Method::GET => self.http.get(&url)?,
            Method::PUT => self.http.put(&url)?,
            _ => self.http.post(&url)?,
        };
        let mut req = req.header(
            header::AUTHORIZATION,
            format!("Bearer {}", self.token.expose()),
        );
        if let Some(b) = body {
            req = req
                .header(header::CONTENT_TYPE, "application/json")
                .body(serde_json::to_vec(b).map_err(|_| HsError::Malformed)?);
        }
        let resp = self.http.send(req).await?;
        let status = resp.status();
        let bytes = resp.bytes().await?;
        let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status != StatusCode::OK {
            let errcode = json
                .get("errcode")
                .and_then(Value::as_str)
                .filter(|c| {
                    c.len() < 64 && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
                })
                .unwrap_or("none")
                .to_owned();
            return Err(HsError::Status {
                status: status.as_u16(),
                errcode,
            });
        }
        Ok(json)
    }

    /// Join a room the bot was invited to.
    pub async fn join(&self, room_id: &str) -> Result<(), HsError> {
        let url = self.url(&["join", room_id])?;
        self.call(Method::POST, url, Some(&serde_json::json!({})))
            .await
            .map(|_| ())
    }

    /// Send a room event as the bot (`m.room.message`, `m.reaction`); `txn_id` makes a retry
    /// of the same send a no-op on the homeserver. Returns the new event id.
    pub async fn send_event(
        &self,
        room_id: &str,
        event_type: &str,
        txn_id: &str,
        content: &Value,
    ) -> Result<String, HsError> {
        let url = self.url(&["rooms", room_id, "send", event_type, txn_id])?;
        let v = self.call(Method::PUT, url, Some(content)).await?;
        v.get("event_id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or(HsError::Malformed)
    }

    /// The sender of an event, or `None` when the homeserver does not know it (404) or it was
    /// redacted (a pruned event still names its sender, but a redacted message gives no fire).
    pub async fn event_sender(
        &self,
        room_id: &str,
        event_id: &str,
    ) -> Result<Option<String>, HsError> {
        let url = self.url(&["rooms", room_id, "event", event_id])?;
        match self.call(Method::GET, url, None).await {
            Ok(v) => {
                let redacted = v
                    .get("unsigned")
                    .and_then(|u| u.get("redacted_because"))
                    .is_some_and(|r| !r.is_null());
                Ok(v.get("sender")
                    .and_then(Value::as_str)
                    .filter(|_| !redacted)
                    .map(str::to_owned))
            }
            Err(HsError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The joined members of a room with their display names.
    pub async fn joined_members(&self, room_id: &str) -> Result<Vec<RoomMember>, HsError> {
        let url = self.url(&["rooms", room_id, "joined_members"])?;
        let v = self.call(Method::GET, url, None).await?;
        let joined = v
            .get("joined")
            .and_then(Value::as_object)
            .ok_or(HsError::Malformed)?;
        let mut out: Vec<RoomMember> = joined
            .iter()
            .map(|(user_id, info)| RoomMember {
                user_id: user_id.clone(),
                displayname: info
                    .get("display_name")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            })
            .collect();
        out.sort_by(|a, b| a.user_id.cmp(&b.user_id));
        Ok(out)
    }

    /// A user's membership of a room (`join`, `invite`, `leave`, …) and display name, or `None`
    /// when they never had one.
    pub async fn membership(
        &self,
        room_id: &str,
        user_id: &str,
    ) -> Result<Option<(String, Option<String>)>, HsError> {
        let url = self.url(&["rooms", room_id, "state", "m.room.member", user_id])?;
        match self.call(Method::GET, url, None).await {
            Ok(v) => Ok(v.get("membership").and_then(Value::as_str).map(|m| {
                (
                    m.to_owned(),
                    v.get("displayname")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                )
            })),
            Err(HsError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The bot's direct rooms (`m.direct` account data: user id → room ids).
    pub async fn direct_rooms(&self) -> Result<serde_json::Map<String, Value>, HsError> {
        let url = self.url(&["user", &self.bot, "account_data", "m.direct"])?;
        match self.call(Method::GET, url, None).await {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Ok(serde_json::Map::new()),
            Err(HsError::Status { status: 404, .. }) => Ok(serde_json::Map::new()),
            Err(e) => Err(e),
        }
    }

    /// Replace the bot's `m.direct` account data.
    pub async fn set_direct_rooms(
        &self,
        map: &serde_json::Map<String, Value>,
    ) -> Result<(), HsError> {
        let url = self.url(&["user", &self.bot, "account_data", "m.direct"])?;
        self.call(Method::PUT, url, Some(&Value::Object(map.clone())))
            .await
            .map(|_| ())
    }

    /// Create a private direct room with `user_id` invited. Returns the room id.
    pub async fn create_direct_room(&self, user_id: &str) -> Result<String, HsError> {
        let url = self.url(&["createRoom"])?;
        let body = serde_json::json!({
            "preset": "trusted_private_chat",
            "is_direct": true,
            "invite": [user_id],
            "name": "ClassCred",
        });
        let v = self.call(Method::POST, url, Some(&body)).await?;
        v.get("room_id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or(HsError::Malformed)
    }
}
