//! Shared set-up: two communities (A and B) with members and processed fire, the API served on
//! a loopback port, and a token per community.

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use classcred_api::token::create_token;
use classcred_api::{routes, ApiState};
use classcred_crypto::MasterKey;
use classcred_engine::{Event, MemberId, MessagePosted};
use classcred_service::{drain, ingest, join_member};
use classcred_store::testing::TestDb;
use classcred_store::{
    CommunityId, ManualClock, MemberKind, MemberProfile, MemberRowId, NewCommunity, NewMember,
    Role, Store,
};
use secrecy::ExposeSecret;

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 4, 12, 0, 0).unwrap()
}

/// One seeded community.
pub struct Class {
    pub id: CommunityId,
    pub token: String,
    /// Member ids, in joining order: an Admin, then the students.
    pub members: Vec<MemberRowId>,
}

pub struct World {
    pub store: Store,
    pub base: String,
    pub a: Class,
    pub b: Class,
    pub client: reqwest::Client,
    _server: tokio::task::JoinHandle<()>,
}

impl World {
    pub async fn get(&self, path_and_query: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.client.get(format!("{}{path_and_query}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    /// GET with a token; asserts 200 and returns the JSON body.
    pub async fn json(&self, path_and_query: &str, token: &str) -> serde_json::Value {
        let r = self.get(path_and_query, Some(token)).await;
        assert_eq!(r.status(), 200, "{path_and_query}");
        r.json().await.unwrap()
    }
}

pub async fn world(db: &TestDb) -> World {
    let clock = Arc::new(ManualClock::new(now()));
    let store = db.store_with(MasterKey::generate(), clock).await;
    let a = class(&store, "TA", 6).await;
    let b = class(&store, "TB", 3).await;
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let app = routes(ApiState::new(store.clone()));
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    World {
        store,
        base: format!("http://{addr}"),
        a,
        b,
        client: reqwest::Client::new(),
        _server: server,
    }
}

/// A community with an Admin and `students` students; each student gives the next one fire
/// on three days (with feedback), so there are ledger entries, balances and a network.
pub async fn class(store: &Store, team: &str, students: usize) -> Class {
    let mut tx = store.begin().await.unwrap();
    let inst = tx.create_institution("Test U").await.unwrap();
    let community = tx
        .create_community(NewCommunity {
            institution_id: inst.id,
            name: format!("Course {team}"),
            platform: "slack".into(),
            platform_team_id: Some(team.into()),
            settings_json: "{}".into(),
        })
        .await
        .unwrap();
    let joined = now() - Duration::days(10);
    let mut uids = vec![format!("{team}ADMIN")];
    uids.extend((0..students).map(|i| format!("{team}S{i}")));
    let mut members = Vec::new();
    for (i, uid) in uids.iter().enumerate() {
        let role = if i == 0 { Role::Admin } else { Role::Student };
        let id = join_member(
            &mut tx,
            &community.id,
            "slack",
            &NewMember {
                platform_user_id: uid.clone(),
                role,
                kind: MemberKind::Human,
                profile: MemberProfile {
                    name: Some(format!("Person {uid}")),
                    ..Default::default()
                },
            },
            joined,
        )
        .await
        .unwrap();
        members.push(id);
    }
    let students: Vec<&String> = uids.iter().skip(1).collect();
    for day in 0..3i64 {
        for (i, giver) in students.iter().enumerate() {
            let recipient = students[(i + 1) % students.len()];
            let at = now() - Duration::days(2 - day) - Duration::hours(2);
            let event = Event::MessagePosted(MessagePosted {
                is_question: false,
                channel: None,
                platform_message_id: format!("C1:{team}:{day}:{i}"),
                author: MemberId::new(giver.as_str()),
                mentions: vec![MemberId::new(recipient.as_str())],
                fire_count: 1,
                text: format!("<@{recipient}> :fire: thanks for the notes"),
                thread: None,
                occurred_at: at,
            });
            ingest(
                &mut tx,
                &community.id,
                "slack",
                &format!("ev:{team}:{day}:{i}"),
                &event,
            )
            .await
            .unwrap();
        }
    }
    tx.commit().await.unwrap();
    drain(store, &community.id).await.unwrap();
    let (_, token) = create_token(store, &community.id, "tests", "operator:test")
        .await
        .unwrap();
    Class {
        id: community.id,
        token: token.secret().expose_secret().to_string(),
        members,
    }
}

/// The string values of `field` in `body.items`.
pub fn item_field(body: &serde_json::Value, field: &str) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i[field].as_str().unwrap().to_string())
        .collect()
}
