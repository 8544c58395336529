//! A ClassCred server with the Teams route on loopback, a local OpenID metadata + JWKS (the test
//! key, endorsed for `msteams`), and a token minter standing in for the Bot Framework.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::routing::get;
use classcred_server::{AppState, Application, Metrics, ServerConfig};
use classcred_store::testing::TestDb;
use classcred_store::{CommunityId, Store};
use classcred_teams::{TeamsConfig, TeamsState};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

pub const APP_ID: &str = "00000000-0000-4000-8000-00000000c1a5";
pub const BOT: &str = "28:00000000-0000-4000-8000-00000000c1a5";
pub const PASSWORD: &str = "test-app-password-0123456789abcdef0123456789";
pub const SERVICE_URL: &str = "https://smba.trafficmanager.net/amer/";
pub const TEAM: &str = "19:team-a@thread.tacv2";

fn key_bytes(name: &str) -> Vec<u8> {
    std::fs::read(crate::test_path(&format!("fixtures/{name}.der"))).unwrap()
}

fn jwk(name: &str, kid: &str, endorsements: &[&str]) -> Value {
    let text =
        std::fs::read_to_string(crate::test_path(&format!("fixtures/{name}.jwk.json"))).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["kty"] = json!("RSA");
    v["use"] = json!("sig");
    v["kid"] = json!(kid);
    v["endorsements"] = json!(endorsements);
    v
}

/// Serves `/v1/.well-known/openidconfiguration` and `/v1/.well-known/keys` on loopback; counts
/// key fetches.
pub async fn openid_server() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let fetches = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let jwks = json!({"keys": [
        jwk("test_key", "test-key", &["msteams", "webchat"]),
        jwk("other_key", "skype-key", &["skype"]),
    ]});
    let b = base.clone();
    let f = fetches.clone();
    let app = axum::Router::new()
        .route(
            "/v1/.well-known/openidconfiguration",
            get(move || {
                let b = b.clone();
                async move {
                    axum::Json(json!({"issuer": "https://api.botframework.com",
                        "jwks_uri": format!("{b}/v1/.well-known/keys")}))
                }
            }),
        )
        .route(
            "/v1/.well-known/keys",
            get(move || {
                let jwks = jwks.clone();
                f.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                async move { axum::Json(jwks) }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (
        format!("{base}/v1/.well-known/openidconfiguration"),
        fetches,
    )
}

/// A Bot Framework token for `service_url`, signed with the test key (or `key`/`kid`), with
/// `over` replacing claims.
pub fn token(service_url: &str, over: Value) -> String {
    token_with("test_key", "test-key", service_url, over)
}

pub fn token_with(key: &str, kid: &str, service_url: &str, over: Value) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({"iss": "https://api.botframework.com", "aud": APP_ID,
        "serviceurl": service_url, "nbf": now - 60, "iat": now - 60, "exp": now + 3600});
    if let (Some(c), Some(o)) = (claims.as_object_mut(), over.as_object()) {
        for (k, v) in o {
            c.insert(k.clone(), v.clone());
        }
    }
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_der(&key_bytes(key)),
    )
    .unwrap()
}

pub struct Server {
    pub base: String,
    pub store: Store,
    pub state: TeamsState,
    pub key_fetches: Arc<std::sync::atomic::AtomicUsize>,
    pub http: reqwest::Client,
    _db: TestDb,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

pub fn config(metadata_url: &str, connector_origin: Option<&str>) -> TeamsConfig {
    let mut origins = vec!["https://smba.trafficmanager.net".to_owned()];
    origins.extend(connector_origin.map(str::to_owned));
    TeamsConfig {
        app_id: Some(APP_ID.into()),
        app_password: Some(PASSWORD.to_owned().into()),
        tenant: None,
        openid_metadata_url: Some(metadata_url.into()),
        service_url_origins: Some(origins),
        login_url: connector_origin.map(str::to_owned),
    }
}

impl Server {
    /// A server over `db`; `connector` is the loopback origin standing in for Teams' Connector
    /// and Entra (replies, tokens), when a test needs one.
    pub async fn start(db: TestDb, connector: Option<&str>) -> Server {
        let store = db.store().await;
        Self::start_with(db, store, None, connector).await
    }

    pub async fn start_with(
        db: TestDb,
        store: Store,
        metadata_url: Option<String>,
        connector: Option<&str>,
    ) -> Server {
        let (metadata, key_fetches) = match metadata_url {
            Some(m) => (m, Arc::new(std::sync::atomic::AtomicUsize::new(0))),
            None => openid_server().await,
        };
        let metrics = Arc::new(Metrics::new());
        let state =
            TeamsState::from_config(store.clone(), metrics.clone(), config(&metadata, connector))
                .unwrap();
        let routes = classcred_server::router(AppState {
            store: store.clone(),
            metrics: metrics.clone(),
        })
        .merge(classcred_teams::routes(state.clone()));
        let app = Application::bind(
            ServerConfig {
                listen: "127.0.0.1:0".parse().unwrap(),
                tls: None,
                body_limit: 4 * 1024 * 1024,
            },
            routes,
            metrics.clone(),
        )
        .await
        .unwrap();
        let base = format!("http://{}", app.local_addr());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until(async move {
            let _ = rx.await;
        }));
        Server {
            base,
            store,
            state,
            key_fetches,
            http: reqwest::Client::new(),
            _db: db,
            stop: Some(tx),
        }
    }

    /// POSTs an activity with this `Authorization` header value (or none).
    pub async fn post_raw(
        &self,
        activity: &Value,
        authorization: Option<&str>,
    ) -> reqwest::StatusCode {
        let mut req = self
            .http
            .post(format!("{}/teams/messages", self.base))
            .header("content-type", "application/json")
            .body(activity.to_string());
        if let Some(a) = authorization {
            req = req.header("authorization", a);
        }
        req.send().await.unwrap().status()
    }

    /// POSTs an activity as the Bot Framework would (a valid token for its serviceUrl).
    pub async fn post(&self, activity: &Value) -> reqwest::StatusCode {
        let su = activity["serviceUrl"].as_str().unwrap_or_default();
        let t = token(su, json!({}));
        self.post_raw(activity, Some(&format!("Bearer {t}"))).await
    }

    pub async fn community(&self, key: &str) -> Option<classcred_store::Community> {
        classcred_teams::install::community(&self.store, key)
            .await
            .unwrap()
    }

    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(self.store.pool())
            .await
            .unwrap()
    }

    pub async fn jobs_of(&self, kind: &str) -> Vec<Value> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT payload FROM job WHERE kind = $1 ORDER BY created_at")
                .bind(kind)
                .fetch_all(self.store.pool())
                .await
                .unwrap();
        rows.iter()
            .map(|p| serde_json::from_str(p).unwrap())
            .collect()
    }

    pub async fn drain(&self, c: &CommunityId) {
        while classcred_service::drain(&self.store, c).await.unwrap() > 0 {}
    }

    pub async fn balances(&self, c: &CommunityId) -> BTreeMap<String, i64> {
        let mut tx = self.store.begin().await.unwrap();
        let b = tx.for_community(c).balances().await.unwrap();
        tx.commit().await.unwrap();
        b.into_iter()
            .map(|b| (b.platform_user_id, b.earned_milli))
            .collect()
    }

    /// `classcred_rejected_requests_total{source="teams",reason=…}`.
    pub async fn rejections(&self, reason: &str) -> u64 {
        let text = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let needle = format!("reason=\"{reason}\"");
        text.lines()
            .filter(|l| {
                l.starts_with("classcred_rejected_requests")
                    && l.contains("source=\"teams\"")
                    && l.contains(&needle)
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }
}

/// Every backend to run on: SQLite, and PostgreSQL when configured.
pub async fn backends() -> Vec<TestDb> {
    TestDb::all().await
}
