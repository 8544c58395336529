//! The demo's firsts and an asked question: replies in the thread of last Monday's posted
//! announcement (firsts are on in the demo: the first three students earn the bonus, the
//! fourth does not, the Instructor takes no place), and a question asked through the bot
//! (`ask`: the bot's post, stored as the student's question) with two answers, the first of
//! which earns the firsts bonus for a question. Through the inbox and the engine, like the rest.

use chrono::{DateTime, Duration, Utc};
use classcred_engine::{Event, MemberId, MessagePosted};
use classcred_service::{drain, ingest};
use classcred_store::{CommunityId, Store};

use super::roster::{student_uid, INSTRUCTOR_UID};
use super::timeline::DEMO_CHANNEL;
use super::DEMO_PLATFORM;

/// The platform message id of the demo's posted announcement.
pub const POSTED_ANNOUNCEMENT: &str = "demo-posted-1";
/// The platform message id of the bot's post of the asked question.
pub const ASKED_QUESTION: &str = "demo-asked-1";

fn post(
    id: &str,
    author: &str,
    text: &str,
    thread: Option<&str>,
    at: DateTime<Utc>,
    is_question: bool,
) -> Event {
    Event::MessagePosted(MessagePosted {
        platform_message_id: id.to_owned(),
        author: MemberId::new(author),
        mentions: Vec::new(),
        fire_count: 0,
        text: text.to_owned(),
        thread: thread.map(str::to_owned),
        channel: Some(DEMO_CHANNEL.to_owned()),
        occurred_at: at,
        is_question,
    })
}

/// Deliver and process the replies and the asked question; `posted` is when the announcement
/// was posted.
pub async fn fill(store: &Store, cid: &CommunityId, posted: DateTime<Utc>) -> anyhow::Result<()> {
    let replies = [
        (INSTRUCTOR_UID.to_owned(), "Office hours are in room 204."),
        (student_uid(2), "Thanks! Is the lab 6 template up yet?"),
        (student_uid(5), "Great, see you Thursday."),
        (student_uid(8), "Got it, thank you!"),
        (student_uid(11), "Thanks for the reminder."),
    ];
    let mut events: Vec<(String, Event)> = Vec::new();
    for (i, (author, text)) in replies.iter().enumerate() {
        let n = i64::try_from(i).unwrap_or_default();
        events.push((
            format!("demo-ann-reply-{i}"),
            post(
                &format!("demo-ann-reply-{i}"),
                author,
                text,
                Some(POSTED_ANNOUNCEMENT),
                posted + Duration::minutes(3 + 4 * n),
                false,
            ),
        ));
    }
    let asked = posted + Duration::hours(2);
    events.push((
        format!("ask:{ASKED_QUESTION}"),
        post(
            ASKED_QUESTION,
            &student_uid(14),
            "Can we use recursion in lab 6, or only loops?",
            None,
            asked,
            true,
        ),
    ));
    for (i, (author, text)) in [
        (
            student_uid(3),
            "Recursion is fine, the handout says any approach.",
        ),
        (student_uid(20), "Yes, I asked in office hours last week."),
    ]
    .iter()
    .enumerate()
    {
        let n = i64::try_from(i).unwrap_or_default();
        events.push((
            format!("demo-ask-answer-{i}"),
            post(
                &format!("demo-ask-answer-{i}"),
                author,
                text,
                Some(ASKED_QUESTION),
                asked + Duration::minutes(10 + 15 * n),
                false,
            ),
        ));
    }
    let mut tx = store.begin().await?;
    for (id, e) in &events {
        ingest(&mut tx, cid, DEMO_PLATFORM, id, e).await?;
    }
    tx.commit().await?;
    drain(store, cid).await?;
    Ok(())
}
