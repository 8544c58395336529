//! Six weeks of the demo class, as a deterministic timeline of platform events (messages with
//! fire and feedback, 🔥 reactions, edits, deletes), the mid-course quota raise and the week
//! closings. Seeded: the same start date gives the same timeline.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use classcred_engine::{
    count_fire_tokens, looks_like_question, AnswerAccepted, Event, IsoWeek, MemberId,
    MessageDeleted, MessageEdited, MessagePosted, QuotaDay, Reaction, Timezone,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::roster::{
    student_uid, CHATTER, CLOSED_PAIR, FRIENDS, INSTRUCTOR_THANKS, INSTRUCTOR_UID, OPEN, THANKS,
};

/// Complete weeks of course before the current week.
pub const COURSE_WEEKS: i64 = 6;
/// Daily quota before the raise, and after it.
pub const QUOTA_BEFORE: u32 = 3;
pub const QUOTA_AFTER: u32 = 5;
/// The day of the course (0-based) on which the Admin raises the quota.
pub const RAISE_DAY: i64 = 14;
/// The channel of the demo's messages.
pub const DEMO_CHANNEL: &str = "CDEMOGENERAL";
/// Classmates' answers to the questions in the chatter.
const ANSWERS: &[&str] = &[
    "Friday, it says so on the course page.",
    "Chapter 7, the part after stacks.",
    "Yes, the standard library is allowed, just not external crates.",
    "I have them, check the shared drive folder for week 3.",
];

/// One thing that happens.
pub enum Step {
    /// A platform delivery (its delivery id and event).
    Deliver(String, Event),
    /// The Admin raises the daily quota (through the dashboard's path).
    RaiseQuota,
    /// The week has ended: award its weekly badge.
    CloseWeek(IsoWeek),
}

/// The course, in time order.
pub struct Timeline {
    pub steps: Vec<(DateTime<Utc>, Step)>,
    pub messages: usize,
}

struct Builder {
    /// Seeded per day, so a day's events depend only on the day.
    rng: StdRng,
    steps: Vec<(DateTime<Utc>, Step)>,
    /// Fire units used per (giver, course day).
    used: HashMap<(String, i64), u32>,
    messages: usize,
}

impl Builder {
    fn deliver(&mut self, at: DateTime<Utc>, id: String, e: Event) {
        self.steps.push((at, Step::Deliver(id, e)));
    }

    /// Takes `units` of `giver`'s quota on `day` if they fit.
    fn fits(&mut self, giver: &str, day: i64, units: u32) -> bool {
        let quota = if day >= RAISE_DAY {
            QUOTA_AFTER
        } else {
            QUOTA_BEFORE
        };
        let used = self.used.entry((giver.to_string(), day)).or_default();
        if *used + units > quota {
            return false;
        }
        *used += units;
        true
    }

    /// A student of the open group, popular ones more often.
    fn open_student(&mut self, not: Option<usize>) -> usize {
        loop {
            // Squaring skews the pick towards low indices: some classmates are recognised a lot.
            let x: f64 = self.rng.gen();
            let i = ((x * x) * OPEN as f64) as usize % OPEN;
            if Some(i) != not {
                return i;
            }
        }
    }

    fn fire_text(&mut self, recipients: &[String], fires: u32, thanks: &[&str]) -> String {
        let mentions: Vec<String> = recipients.iter().map(|r| format!("<@{r}>")).collect();
        let line = thanks[self.rng.gen_range(0..thanks.len())];
        let fire = if self.rng.gen_bool(0.3) {
            "\u{1F525}"
        } else {
            ":fire:"
        };
        let fires = vec![fire; fires as usize].join(" ");
        format!("{} {line} {fires}", mentions.join(" "))
    }

    /// A message giving `fires` to each recipient, with the reactions, edits and deletes that
    /// follow it now and then.
    #[expect(clippy::too_many_arguments, reason = "one message's parts")]
    fn give(
        &mut self,
        n: usize,
        day: i64,
        at: DateTime<Utc>,
        author: &str,
        recipients: Vec<String>,
        fires: u32,
        reactors: &[String],
        thanks: &[&str],
    ) {
        let text = self.fire_text(&recipients, fires, thanks);
        let id = format!("CDEMOGENERAL:{}.{n:06}", at.timestamp());
        let mentions: Vec<MemberId> = recipients.iter().map(MemberId::new).collect();
        self.deliver(
            at,
            format!("demo-msg-{n}"),
            Event::MessagePosted(MessagePosted {
                is_question: false,
                channel: None,
                platform_message_id: id.clone(),
                author: MemberId::new(author),
                mentions: mentions.clone(),
                fire_count: count_fire_tokens(&text, None),
                text: text.clone(),
                thread: None,
                occurred_at: at,
            }),
        );
        self.messages += 1;
        let roll: f64 = self.rng.gen();
        if roll < 0.03 {
            // Posted to the wrong person or by mistake: deleted a little later.
            let when = at + Duration::minutes(self.rng.gen_range(5..30));
            self.deliver(
                when,
                format!("demo-del-{n}"),
                Event::MessageDeleted(MessageDeleted {
                    platform_message_id: id.clone(),
                    occurred_at: when,
                }),
            );
            return;
        }
        if roll < 0.08 && self.fits(author, day, recipients.len() as u32) {
            // "Forgot one": edited to add a fire for each recipient.
            let when = at + Duration::minutes(self.rng.gen_range(10..40));
            let new_text = format!("{text} :fire: (edited: one more, well deserved)");
            self.deliver(
                when,
                format!("demo-edit-{n}"),
                Event::MessageEdited(MessageEdited {
                    platform_message_id: id.clone(),
                    author: MemberId::new(author),
                    mentions,
                    fire_count: count_fire_tokens(&new_text, None),
                    text: new_text,
                    occurred_at: when,
                }),
            );
        }
        let mut k = 0;
        for reactor in reactors {
            if reactor == author || !self.rng.gen_bool(0.04) || !self.fits(reactor, day, 1) {
                continue;
            }
            let when = at + Duration::minutes(self.rng.gen_range(3..55));
            self.deliver(
                when,
                format!("demo-react-{n}-{k}"),
                Event::ReactionAdded(Reaction {
                    platform_message_id: id.clone(),
                    reactor: MemberId::new(reactor),
                    message_author: MemberId::new(author),
                    is_fire: true,
                    occurred_at: when,
                }),
            );
            k += 1;
            if k == 2 {
                break;
            }
        }
    }

    fn chatter(&mut self, n: usize, at: DateTime<Utc>, author: &str) {
        let text = CHATTER[self.rng.gen_range(0..CHATTER.len())].to_string();
        let id = format!("CDEMOGENERAL:{}.{n:06}", at.timestamp());
        let is_question = looks_like_question(&text);
        self.deliver(
            at,
            format!("demo-msg-{n}"),
            Event::MessagePosted(MessagePosted {
                is_question,
                channel: Some(DEMO_CHANNEL.into()),
                platform_message_id: id.clone(),
                author: MemberId::new(author),
                mentions: Vec::new(),
                fire_count: 0,
                text,
                thread: None,
                occurred_at: at,
            }),
        );
        self.messages += 1;
        if is_question {
            self.answers(n, at, author, &id);
        }
    }

    /// Questions: most get a classmate's answer in the thread, and the asker accepts about
    /// half of those; the rest stay unanswered (the Questions page has some of each).
    fn answers(&mut self, n: usize, at: DateTime<Utc>, asker: &str, question: &str) {
        if !self.rng.gen_bool(0.7) {
            return;
        }
        let who = student_uid(self.open_student(None));
        if who == asker {
            return;
        }
        let when = at + Duration::minutes(self.rng.gen_range(5..90));
        let answer = format!("CDEMOGENERAL:{}.{n:06}r", when.timestamp());
        let text = ANSWERS[self.rng.gen_range(0..ANSWERS.len())].to_string();
        self.deliver(
            when,
            format!("demo-answer-{n}"),
            Event::MessagePosted(MessagePosted {
                is_question: false,
                channel: Some(DEMO_CHANNEL.into()),
                platform_message_id: answer.clone(),
                author: MemberId::new(&who),
                mentions: Vec::new(),
                fire_count: 0,
                text,
                thread: Some(question.to_owned()),
                occurred_at: when,
            }),
        );
        self.messages += 1;
        if self.rng.gen_bool(0.5) {
            let later = when + Duration::minutes(self.rng.gen_range(2..120));
            self.deliver(
                later,
                format!("demo-accept-{n}"),
                Event::AnswerAccepted(AnswerAccepted {
                    question: question.to_owned(),
                    answer,
                    by: MemberId::new(asker),
                    occurred_at: later,
                }),
            );
        }
    }

    fn day(&mut self, n: &mut usize, day: i64, start: DateTime<Utc>, weekend: bool) {
        let count = if weekend {
            self.rng.gen_range(1..5)
        } else {
            self.rng.gen_range(10..18)
        };
        let open: Vec<String> = (0..OPEN).map(student_uid).collect();
        for _ in 0..count {
            *n += 1;
            let at = start + Duration::minutes(self.rng.gen_range(8 * 60..21 * 60));
            let roll: f64 = self.rng.gen();
            if roll < 0.12 {
                // Anyone may chat, the isolated students too.
                let who = student_uid(self.rng.gen_range(0..super::roster::STUDENTS));
                self.chatter(*n, at, &who);
            } else if roll < 0.20 {
                let r = student_uid(self.open_student(None));
                self.give(
                    *n,
                    day,
                    at,
                    INSTRUCTOR_UID,
                    vec![r],
                    1,
                    &[],
                    INSTRUCTOR_THANKS,
                );
            } else if roll < 0.26 {
                let (a, b) = if self.rng.gen_bool(0.5) {
                    CLOSED_PAIR
                } else {
                    (CLOSED_PAIR.1, CLOSED_PAIR.0)
                };
                let (author, to) = (student_uid(a), student_uid(b));
                let fires = self.rng.gen_range(1..3);
                if self.fits(&author, day, fires) {
                    self.give(*n, day, at, &author, vec![to.clone()], fires, &[to], THANKS);
                }
            } else {
                let a = self.open_student(None);
                let friend = FRIENDS
                    .iter()
                    .find_map(|&(x, y)| (x == a).then_some(y).or_else(|| (y == a).then_some(x)));
                let recipients: Vec<String> = match friend {
                    Some(f) if self.rng.gen_bool(0.6) => vec![student_uid(f)],
                    _ => {
                        let many = if self.rng.gen_bool(0.25) { 2 } else { 1 };
                        let mut rs = Vec::new();
                        while rs.len() < many {
                            let r = student_uid(self.open_student(Some(a)));
                            if !rs.contains(&r) {
                                rs.push(r);
                            }
                        }
                        rs
                    }
                };
                let mut fires = if self.rng.gen_bool(0.2) { 2 } else { 1 };
                let author = student_uid(a);
                if !self.fits(&author, day, fires * recipients.len() as u32) {
                    fires = 1;
                    if !self.fits(&author, day, recipients.len() as u32) {
                        continue;
                    }
                }
                self.give(*n, day, at, &author, recipients, fires, &open, THANKS);
            }
        }
    }
}

/// The course from `course_start` (a Monday) to the day before `now`'s local date in `tz`,
/// with the weeks that ended before `now` closed. Each day's events come from an RNG seeded
/// with `seed` and the day's number, so the six complete weeks are the same on every run.
pub fn build(seed: u64, tz: &Timezone, course_start: NaiveDate, now: DateTime<Utc>) -> Timeline {
    let days = (tz.local_date(now) - course_start).num_days();
    let mut b = Builder {
        rng: StdRng::seed_from_u64(seed),
        steps: Vec::new(),
        used: HashMap::new(),
        messages: 0,
    };
    let mut n = 0;
    let mut weeks: Vec<IsoWeek> = Vec::new();
    for day in 0..days {
        let date = course_start + Duration::days(day);
        b.rng = StdRng::seed_from_u64(seed.wrapping_mul(1_000_003).wrapping_add(day as u64));
        let start = tz.start_of(date);
        if day == RAISE_DAY {
            b.steps.push((start + Duration::hours(7), Step::RaiseQuota));
        }
        let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        b.day(&mut n, day, start, weekend);
        let week = QuotaDay::from_date(date).iso_week();
        if !weeks.contains(&week) {
            weeks.push(week);
        }
    }
    for week in weeks {
        if let Some(end) = week.end_instant(tz) {
            let at = end + Duration::minutes(1);
            if at <= now {
                b.steps.push((at, Step::CloseWeek(week)));
            }
        }
    }
    // Stable: equal times keep their order of creation.
    b.steps.sort_by_key(|(at, _)| *at);
    Timeline {
        steps: b.steps,
        messages: b.messages,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn deliveries(t: &Timeline, before: DateTime<Utc>) -> Vec<String> {
        t.steps
            .iter()
            .filter(|(at, _)| *at < before)
            .map(|(at, s)| match s {
                Step::Deliver(id, e) => format!("{at} {id} {e:?}"),
                Step::RaiseQuota => format!("{at} raise"),
                Step::CloseWeek(w) => format!("{at} close {w}"),
            })
            .collect()
    }

    /// The six complete weeks are the same whatever the weekday of the run.
    #[test]
    fn the_six_weeks_do_not_depend_on_the_day_of_the_run() {
        let tz = Timezone::parse("America/New_York").unwrap();
        let start = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(); // a Monday
        let this_monday = tz.start_of(start + Duration::weeks(COURSE_WEEKS));
        let monday_run = Utc.with_ymd_and_hms(2026, 2, 16, 15, 0, 0).unwrap();
        let friday_run = Utc.with_ymd_and_hms(2026, 2, 20, 15, 0, 0).unwrap();
        let a = build(101, &tz, start, monday_run);
        let b = build(101, &tz, start, friday_run);
        let six_weeks = deliveries(&a, this_monday + Duration::minutes(5));
        assert_eq!(
            six_weeks,
            deliveries(&b, this_monday + Duration::minutes(5))
        );
        assert!(six_weeks.len() > 300, "{}", six_weeks.len());
        assert!(b.steps.len() > a.steps.len(), "the current week adds days");
        assert_eq!(
            a.steps
                .iter()
                .filter(|(_, s)| matches!(s, Step::CloseWeek(_)))
                .count(),
            6
        );
        assert_ne!(
            six_weeks,
            deliveries(&build(7, &tz, start, monday_run), this_monday)
        );
    }
}
