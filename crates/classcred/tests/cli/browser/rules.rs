//! The custom reward rule part of the browser story: what this side seeds before
//! `tests/browser/rules.mjs` (the student's posts in a lab channel, through the path a platform
//! delivery takes) and checks after it (a new post earns the rule's points).

use chrono::{Duration, Utc};
use classcred::demo;
use classcred_engine::{Event, IsoWeek, MemberId, MessagePosted};
use classcred_store::Store;

use super::class::Class;

/// The lab channel of the rule the browser writes.
pub const CHANNEL: &str = "CBROWSERLAB";

/// The student posts `n` times in the lab channel, all in the current week of the class's
/// timezone (between the week's start and now, a millisecond apart); nothing else happens in
/// that channel. `at_present`: now instead (a post made after the rule was enabled).
pub async fn seed_posts(store: &Store, class: &Class, name: &str, n: usize, at_present: bool) {
    let now = Utc::now();
    let mut tx = store.begin().await.unwrap();
    let tz = classcred_service::settings(&mut tx, &class.community)
        .await
        .unwrap()
        .timezone;
    let monday = IsoWeek::of(now, &tz).monday().unwrap();
    let week_start = tz.start_of(monday);
    let middle = if at_present {
        now
    } else {
        week_start + (now - week_start) / 2
    };
    for i in 0..n {
        let at = middle + Duration::milliseconds(i64::try_from(i).unwrap());
        let event = Event::MessagePosted(MessagePosted {
            is_question: false,
            channel: Some(CHANNEL.into()),
            platform_message_id: format!("{CHANNEL}:{name}-{i}"),
            author: MemberId::new(class.student.platform_user_id.clone()),
            mentions: Vec::new(),
            fire_count: 0,
            text: "lab notes".into(),
            thread: None,
            occurred_at: at,
        });
        classcred_service::ingest(
            &mut tx,
            &class.community,
            demo::DEMO_PLATFORM,
            &format!("browser-rules-{name}-{i}"),
            &event,
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    classcred_service::drain(store, &class.community)
        .await
        .unwrap();
}

/// The student's earned points (thousandths).
pub async fn earned(store: &Store, class: &Class) -> i64 {
    let mut tx = store.begin().await.unwrap();
    let p = tx
        .for_community(&class.community)
        .member_points(&class.student.id)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    p.earned_milli
}
