//! A small world to drive the engine: members, settings, and helpers to send events.

use chrono::{DateTime, Utc};
use classcred_engine::*;

/// Parses an RFC 3339 instant (with offset) into UTC.
pub fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("bad time {s}: {e}"))
        .with_timezone(&Utc)
}

pub fn m(s: &str) -> MemberId {
    MemberId::new(s)
}

pub fn p(s: &str) -> Points {
    s.parse().unwrap()
}

/// Members: `admin` (Admin), `ta` (Instructor), `s1`..`s30` (Students), `bot` (Bot), `app` (App).
pub struct World {
    pub settings: CommunitySettings,
    pub state: InMemoryState,
    seq: u64,
}

impl World {
    pub fn new() -> Self {
        Self::with(CommunitySettings::default())
    }

    pub fn in_tz(tz: &str) -> Self {
        Self::with(CommunitySettings {
            timezone: Timezone::parse(tz).unwrap(),
            ..CommunitySettings::default()
        })
    }

    pub fn with(settings: CommunitySettings) -> Self {
        settings.validate().unwrap();
        let mut w = World {
            settings,
            state: InMemoryState::new(),
            seq: 0,
        };
        let at = t("2020-01-01T00:00:00Z");
        let mut join = |id: &str, role: Role, kind: MemberKind| {
            w.send(Event::MemberJoined(MemberJoined {
                member: m(id),
                kind,
                role,
                occurred_at: at,
            }));
        };
        join("admin", Role::Admin, MemberKind::Human);
        join("ta", Role::Instructor, MemberKind::Human);
        join("bot", Role::Student, MemberKind::Bot);
        join("app", Role::Student, MemberKind::App);
        for i in 1..=30 {
            join(&format!("s{i}"), Role::Student, MemberKind::Human);
        }
        w
    }

    /// Applies one event; a settings change binds every later event, as in the service.
    pub fn send(&mut self, e: Event) -> Outcome {
        let o = self.state.process(&self.settings, &e);
        if let Some(s) = &o.settings {
            self.settings = s.clone();
        }
        o
    }

    /// Posts a message with a fresh id; returns (id, outcome).
    pub fn post(
        &mut self,
        author: &str,
        mentions: &[&str],
        fires: u32,
        at: &str,
    ) -> (String, Outcome) {
        self.seq += 1;
        let id = format!("C1:{}", self.seq);
        let o = self.post_id(&id, author, mentions, fires, at);
        (id, o)
    }

    pub fn post_id(
        &mut self,
        id: &str,
        author: &str,
        mentions: &[&str],
        fires: u32,
        at: &str,
    ) -> Outcome {
        self.send(posted(id, author, mentions, fires, at))
    }

    pub fn edit(
        &mut self,
        id: &str,
        author: &str,
        mentions: &[&str],
        fires: u32,
        at: &str,
    ) -> Outcome {
        self.send(Event::MessageEdited(MessageEdited {
            platform_message_id: id.into(),
            author: m(author),
            mentions: mentions.iter().map(|s| m(s)).collect(),
            fire_count: fires,
            text: "edited".into(),
            occurred_at: t(at),
        }))
    }

    pub fn delete(&mut self, id: &str, at: &str) -> Outcome {
        self.send(Event::MessageDeleted(MessageDeleted {
            platform_message_id: id.into(),
            occurred_at: t(at),
        }))
    }

    pub fn react(&mut self, id: &str, reactor: &str, author: &str, at: &str) -> Outcome {
        self.send(Event::ReactionAdded(reaction(id, reactor, author, at)))
    }

    pub fn unreact(&mut self, id: &str, reactor: &str, author: &str, at: &str) -> Outcome {
        self.send(Event::ReactionRemoved(reaction(id, reactor, author, at)))
    }

    pub fn earned(&self, who: &str) -> Points {
        self.state.balance(&m(who)).earned
    }

    pub fn day(&self, at: &str) -> QuotaDay {
        QuotaDay::of(t(at), &self.settings.timezone)
    }

    pub fn quota_used(&self, who: &str, at: &str) -> i64 {
        self.state.quota_used_on(&m(who), self.day(at))
    }
}

pub fn posted(id: &str, author: &str, mentions: &[&str], fires: u32, at: &str) -> Event {
    Event::MessagePosted(MessagePosted {
        is_question: false,
        channel: None,
        platform_message_id: id.into(),
        author: m(author),
        mentions: mentions.iter().map(|s| m(s)).collect(),
        fire_count: fires,
        text: "thanks".into(),
        thread: None,
        occurred_at: t(at),
    })
}

pub fn reaction(id: &str, reactor: &str, author: &str, at: &str) -> Reaction {
    Reaction {
        platform_message_id: id.into(),
        reactor: m(reactor),
        message_author: m(author),
        is_fire: true,
        occurred_at: t(at),
    }
}

/// Notice kinds sent to `who` in an outcome.
pub fn notices_to(o: &Outcome, who: &str) -> Vec<NoticeKind> {
    o.notices
        .iter()
        .filter(|n| n.to == m(who))
        .map(|n| n.kind.clone())
        .collect()
}

pub fn count_kind(o: &Outcome, kind: EntryKind) -> usize {
    o.entries.iter().filter(|e| e.kind == kind).count()
}
