//! Shared set-up for the service tests: a community with members, and event builders that use
//! platform user ids the way an adapter does.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use classcred_crypto::MasterKey;
use classcred_engine::{Event, MemberId, MessagePosted, Reaction};
use classcred_service::{drain, ingest, join_member};
use classcred_store::testing::TestDb;
use classcred_store::{
    CommunityId, InboxInsert, ManualClock, MemberKind, MemberProfile, MemberRowId, NewCommunity,
    NewMember, Role, Store,
};

pub struct World {
    pub store: Store,
    pub clock: Arc<ManualClock>,
    pub community: CommunityId,
    pub key_text: String,
}

pub fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

pub async fn world(db: &TestDb, settings: serde_json::Value) -> World {
    let key = MasterKey::generate();
    let key_text = key.encode().to_string();
    let clock = Arc::new(ManualClock::new(at(2026, 3, 2, 12, 0, 0)));
    let store = db.store_with(key, clock.clone()).await;
    let community = community(&store, settings, "T1").await;
    World {
        store,
        clock,
        community,
        key_text,
    }
}

pub async fn community(store: &Store, settings: serde_json::Value, team: &str) -> CommunityId {
    let mut tx = store.begin().await.unwrap();
    let inst = tx.create_institution("Test U").await.unwrap();
    let c = tx
        .create_community(NewCommunity {
            institution_id: inst.id,
            name: "Course".into(),
            platform: "slack".into(),
            platform_team_id: Some(team.into()),
            settings_json: settings.to_string(),
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    c.id
}

pub async fn join(w: &World, uid: &str, role: Role) -> MemberRowId {
    let mut tx = w.store.begin().await.unwrap();
    let id = join_member(
        &mut tx,
        &w.community,
        "slack",
        &NewMember {
            platform_user_id: uid.into(),
            role,
            kind: MemberKind::Human,
            profile: MemberProfile {
                name: Some(format!("Name of {uid}")),
                ..Default::default()
            },
        },
        at(2026, 1, 1, 0, 0, 0),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

pub fn post(id: &str, author: &str, mentions: &[&str], fires: u32, when: DateTime<Utc>) -> Event {
    Event::MessagePosted(MessagePosted {
        is_question: false,
        channel: None,
        platform_message_id: format!("C1:{id}"),
        author: MemberId::new(author),
        mentions: mentions.iter().map(|m| MemberId::new(*m)).collect(),
        fire_count: fires,
        text: format!("thanks {} :fire:", mentions.join(" ")),
        thread: None,
        occurred_at: when,
    })
}

pub fn reaction(msg: &str, reactor: &str, author: &str, when: DateTime<Utc>) -> Reaction {
    Reaction {
        platform_message_id: format!("C1:{msg}"),
        reactor: MemberId::new(reactor),
        message_author: MemberId::new(author),
        is_fire: true,
        occurred_at: when,
    }
}

/// Ingest one delivery; returns whether it was stored (false: duplicate delivery id).
pub async fn deliver(w: &World, event_id: &str, e: &Event) -> bool {
    let mut tx = w.store.begin().await.unwrap();
    let r = ingest(&mut tx, &w.community, "slack", event_id, e)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    matches!(r, InboxInsert::Stored(_))
}

pub async fn settle(w: &World) -> usize {
    drain(&w.store, &w.community).await.unwrap()
}

/// Earned points (thousandths) per platform user id.
pub async fn earned(w: &World, uid: &str) -> i64 {
    let mut tx = w.store.begin().await.unwrap();
    let b = tx.for_community(&w.community).balances().await.unwrap();
    tx.commit().await.unwrap();
    b.into_iter()
        .find(|b| b.platform_user_id == uid)
        .map_or(0, |b| b.earned_milli)
}
