//! `classcred demo`: a realistic demo class, created through the same store API the server uses.

use std::fmt;

use anyhow::Context;
use chrono::{Duration, Utc};
use classcred_engine::{count_fire_tokens, Event, MemberId, MessagePosted, Reaction};
use classcred_service::{drain, ingest, join_member};
use classcred_store::audit::AuditRecord;
use classcred_store::{CommunityId, MemberProfile, NewCommunity, NewMember, Role, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub const DEMO_PLATFORM: &str = "demo";
pub const DEMO_TEAM: &str = "DEMO-CS101";
pub const STUDENTS: usize = 24;

const FIRST: &[&str] = &[
    "Amara", "Bao", "Carmen", "Dmitri", "Elif", "Farah", "Gabriel", "Hana", "Ivan", "Jamal",
    "Keiko", "Luca", "Maya", "Nikhil", "Olga", "Pedro", "Qing", "Rosa", "Samir", "Tove", "Uma",
    "Viktor", "Wanjiru", "Yusuf",
];
const LAST: &[&str] = &[
    "Okafor",
    "Nguyen",
    "Ruiz",
    "Petrov",
    "Yilmaz",
    "Haddad",
    "Silva",
    "Sato",
    "Kowalski",
    "Bakr",
    "Tanaka",
    "Romano",
    "Cohen",
    "Iyer",
    "Smirnova",
    "Alves",
    "Zhang",
    "Moreno",
    "Aziz",
    "Lindqvist",
    "Devi",
    "Horvat",
    "Mwangi",
    "Demir",
];
const THANKS: &[&str] = &[
    "thanks for explaining recursion",
    "great notes from lecture 3",
    "your pointer diagram saved me",
    "thanks for debugging my loop",
    "awesome answer about big-O",
    "thanks for sharing the practice quiz",
    "great pairing session today",
    "you made git make sense",
];

/// What `demo` did.
pub struct DemoSummary {
    pub community_id: CommunityId,
    pub created: bool,
    pub members: usize,
    pub messages: usize,
}

impl fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.created {
            "created"
        } else {
            "already present"
        };
        write!(
            f,
            "demo community {} {verb}: {} members, {} messages",
            self.community_id, self.members, self.messages
        )
    }
}

fn profile(first: &str, last: &str, tz: &str) -> MemberProfile {
    MemberProfile {
        name: Some(format!("{first} {last}")),
        display_name: Some(first.to_lowercase()),
        email: Some(format!(
            "{}.{}@riverbend.example.edu",
            first.to_lowercase(),
            last.to_lowercase()
        )),
        avatar_url: Some(format!(
            "https://avatars.example.edu/{}.png",
            first.to_lowercase()
        )),
        timezone: Some(tz.into()),
    }
}

/// Create the demo class unless it exists. Idempotent.
pub async fn create(store: &Store) -> anyhow::Result<DemoSummary> {
    let mut tx = store.begin().await?;
    if let Some(c) = tx.community_by_team(DEMO_PLATFORM, DEMO_TEAM).await? {
        let members = tx.for_community(&c.id).list_members().await?.len();
        let messages = tx.for_community(&c.id).list_messages().await?.len();
        tx.commit().await?;
        return Ok(DemoSummary {
            community_id: c.id,
            created: false,
            members,
            messages,
        });
    }
    let inst = tx.create_institution("Riverbend Community College").await?;
    let settings = serde_json::json!({
        "timezone": "America/New_York",
        "course_start": (Utc::now() - Duration::days(30)).date_naive().to_string(),
        "daily_quota": 5,
    });
    let community = tx
        .create_community(NewCommunity {
            institution_id: inst.id,
            name: "CS 101: Introduction to Programming (demo)".into(),
            platform: DEMO_PLATFORM.into(),
            platform_team_id: Some(DEMO_TEAM.into()),
            settings_json: settings.to_string(),
        })
        .await?;
    let cid = community.id.clone();
    let joined = Utc::now() - Duration::days(30);
    let staff = [
        ("UDEMO0ADMIN", Role::Admin, "Grace", "Hopper"),
        ("UDEMO0TA001", Role::Instructor, "Alan", "Kay"),
    ];
    let mut ids = Vec::new();
    for (uid, role, first, last) in staff {
        ids.push((
            uid.to_string(),
            join_member(
                &mut tx,
                &cid,
                DEMO_PLATFORM,
                &NewMember {
                    platform_user_id: uid.into(),
                    role,
                    kind: classcred_store::MemberKind::Human,
                    profile: profile(first, last, "America/New_York"),
                },
                joined,
            )
            .await?,
        ));
    }
    let zones = [
        "America/New_York",
        "America/Chicago",
        "Europe/Berlin",
        "Asia/Kolkata",
    ];
    let mut students = Vec::new();
    for i in 0..STUDENTS {
        let uid = format!("UDEMO{:06}", i + 1);
        let id = join_member(
            &mut tx,
            &cid,
            DEMO_PLATFORM,
            &NewMember {
                platform_user_id: uid.clone(),
                role: Role::Student,
                kind: classcred_store::MemberKind::Human,
                profile: profile(FIRST[i], LAST[i], zones[i % zones.len()]),
            },
            joined,
        )
        .await?;
        students.push((uid, id));
    }
    // Two weeks of recognition messages, deterministic so that every demo looks the same.
    let mut rng = StdRng::seed_from_u64(101);
    let start = Utc::now() - Duration::days(14);
    let mut messages = 0;
    for n in 0..80 {
        let (author_uid, _) = &students[rng.gen_range(0..students.len())];
        let (to_uid, _) = loop {
            let s = &students[rng.gen_range(0..students.len())];
            if &s.0 != author_uid {
                break s;
            }
        };
        let fires = if rng.gen_bool(0.2) {
            ":fire: :fire:"
        } else {
            ":fire:"
        };
        let posted = start + Duration::minutes(n * 250 + rng.gen_range(0..200));
        let text = format!(
            "<@{to_uid}> {} {fires}",
            THANKS[rng.gen_range(0..THANKS.len())]
        );
        let platform_message_id = format!("CDEMOGENERAL:{}.{:06}", posted.timestamp(), n);
        let event = Event::MessagePosted(MessagePosted {
            platform_message_id: platform_message_id.clone(),
            author: MemberId::new(author_uid.clone()),
            mentions: vec![MemberId::new(to_uid.clone())],
            fire_count: count_fire_tokens(&text, None),
            text,
            thread: None,
            occurred_at: posted,
        });
        ingest(
            &mut tx,
            &cid,
            DEMO_PLATFORM,
            &format!("demo-msg-{n}"),
            &event,
        )
        .await?;
        // Now and then a classmate adds a fire reaction to the message.
        if rng.gen_bool(0.25) {
            let (reactor, _) = &students[rng.gen_range(0..students.len())];
            if reactor != author_uid {
                let reaction = Event::ReactionAdded(Reaction {
                    platform_message_id,
                    reactor: MemberId::new(reactor.clone()),
                    message_author: MemberId::new(author_uid.clone()),
                    is_fire: true,
                    occurred_at: posted + Duration::minutes(3),
                });
                ingest(
                    &mut tx,
                    &cid,
                    DEMO_PLATFORM,
                    &format!("demo-react-{n}"),
                    &reaction,
                )
                .await?;
            }
        }
        messages += 1;
    }
    tx.audit(&AuditRecord {
        community_id: Some(cid.clone()),
        actor: "operator:cli".into(),
        action: "demo.create".into(),
        subject: None,
        details: serde_json::json!({ "members": STUDENTS + ids.len(), "messages": messages }),
    })
    .await?;
    tx.commit().await.context("saving the demo class")?;
    // Process the recognition events now, so that balances, badges and levels are there.
    drain(store, &cid)
        .await
        .context("processing the demo events")?;
    Ok(DemoSummary {
        community_id: cid,
        created: true,
        members: STUDENTS + ids.len(),
        messages,
    })
}
