//! Questions and answers: the community's question settings, the record the engine keeps per
//! question, and [`looks_like_question`], the one text test every adapter uses to set
//! [`crate::MessagePosted::is_question`] (the engine itself never reads text).
//!
//! The rules live in `engine/questions.rs`. A question record holds *facts* (the question, the
//! replies by others, the accepts) and the answer currently accepted is *derived* from them
//! every time they change ([`QuestionRecord::chosen`]), so the result does not depend on how
//! the facts were interleaved: the latest live accept wins; with auto-accept on and no live
//! accept, the earliest live answer wins; a deleted question has no accepted answer.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::MemberId;
use crate::points::Points;

/// Most answers remembered per question (later replies are ignored).
pub const MAX_ANSWERS: usize = 200;
/// Most accepts remembered per question (later ones are refused).
pub const MAX_ACCEPTS: usize = 50;
/// Most tracked channels in the settings.
pub const MAX_TRACKED_CHANNELS: usize = 200;
/// Longest channel id in the tracked channels.
pub const MAX_CHANNEL_ID_LEN: usize = 128;
/// Highest reward for an accepted answer.
pub const MAX_ANSWER_REWARD: Points = Points::from_whole(100);

/// The community's question settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct QuestionSettings {
    /// Points the accepted answer's author earns (students only). `0` switches it off.
    /// Default 1 point.
    pub reward: Points,
    /// When true, the first reply by someone other than the asker is accepted automatically
    /// (until the asker or an Instructor accepts another). Default false.
    pub auto_accept: bool,
    /// The channel ids where questions are tracked; empty (default) means every channel.
    pub tracked_channels: Vec<String>,
}

impl Default for QuestionSettings {
    fn default() -> Self {
        QuestionSettings {
            reward: Points::from_whole(1),
            auto_accept: false,
            tracked_channels: Vec::new(),
        }
    }
}

impl QuestionSettings {
    /// Whether questions posted in `channel` are tracked (a post without a channel is tracked
    /// only when every channel is).
    pub fn tracks(&self, channel: Option<&str>) -> bool {
        self.tracked_channels.is_empty()
            || channel.is_some_and(|c| self.tracked_channels.iter().any(|t| t == c))
    }

    /// The first problem, as (field under `questions.`, problem).
    pub fn problem(&self) -> Option<(String, String)> {
        if self.reward < Points::ZERO || self.reward > MAX_ANSWER_REWARD {
            return Some((
                "reward".into(),
                format!("must be between 0 and {MAX_ANSWER_REWARD}"),
            ));
        }
        if self.tracked_channels.len() > MAX_TRACKED_CHANNELS {
            return Some((
                "tracked_channels".into(),
                format!("at most {MAX_TRACKED_CHANNELS} channels"),
            ));
        }
        for (i, c) in self.tracked_channels.iter().enumerate() {
            if c.is_empty()
                || c.len() > MAX_CHANNEL_ID_LEN
                || c.chars()
                    .any(|ch| ch.is_whitespace() || ch.is_control() || ch == ',')
            {
                return Some((
                    format!("tracked_channels[{i}]"),
                    format!("a channel id is 1-{MAX_CHANNEL_ID_LEN} characters without spaces or commas"),
                ));
            }
            if self.tracked_channels[..i].contains(c) {
                return Some((format!("tracked_channels[{i}]"), "duplicate channel".into()));
            }
        }
        None
    }
}

/// What the engine remembers about one question (a thread root asked as a question).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionRecord {
    /// The question's platform message id (the thread root).
    pub platform_message_id: String,
    /// Who asked.
    pub asker: MemberId,
    /// Where it was asked.
    #[serde(default)]
    pub channel: Option<String>,
    /// Platform time of the question.
    pub asked_at: DateTime<Utc>,
    /// Deleted: off the list, no accepted answer, nothing changes any more.
    #[serde(default)]
    pub deleted: bool,
    /// Replies in its thread by others than the asker, in arrival order.
    #[serde(default)]
    pub answers: Vec<AnswerFact>,
    /// Accepts by the asker or an Instructor/Admin, in arrival order.
    #[serde(default)]
    pub accepts: Vec<AcceptFact>,
    /// The answer currently accepted (derived by [`QuestionRecord::chosen`]).
    #[serde(default)]
    pub accepted: Option<String>,
}

/// One reply to a question by someone other than the asker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerFact {
    /// The reply's platform message id.
    pub platform_message_id: String,
    /// Who replied.
    pub author: MemberId,
    /// Platform time of the reply.
    pub posted_at: DateTime<Utc>,
    /// Deleted: it can no longer be (or stay) accepted.
    #[serde(default)]
    pub deleted: bool,
    /// The reward standing for it, if any.
    #[serde(default)]
    pub reward: Option<AnswerReward>,
    /// The next unused unit index of its reward keys (never reused).
    #[serde(default)]
    pub next_unit: u32,
}

/// A reward standing for an accepted answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerReward {
    /// Unit index of its ledger key.
    pub unit: u32,
    /// Points awarded (a reversal takes exactly this back).
    pub amount: Points,
}

/// One accept of an answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptFact {
    /// The accepted reply.
    pub answer: String,
    /// The asker or an Instructor/Admin.
    pub by: MemberId,
    /// Platform (or dashboard) time of the accept.
    pub at: DateTime<Utc>,
}

impl QuestionRecord {
    /// The answer that should be accepted given the facts: none for a deleted question; else
    /// the latest (by time, then id) accept of a live answer; else, with `auto_accept`, the
    /// earliest (by time, then id) live answer.
    pub fn chosen(&self, auto_accept: bool) -> Option<&AnswerFact> {
        if self.deleted {
            return None;
        }
        let live = |id: &str| {
            self.answers
                .iter()
                .find(|a| a.platform_message_id == id && !a.deleted)
        };
        let explicit = self
            .accepts
            .iter()
            .filter(|a| live(&a.answer).is_some())
            .max_by(|x, y| (x.at, &x.answer).cmp(&(y.at, &y.answer)))
            .and_then(|a| live(&a.answer));
        explicit.or_else(|| {
            auto_accept
                .then(|| {
                    self.answers.iter().filter(|a| !a.deleted).min_by(|x, y| {
                        (x.posted_at, &x.platform_message_id)
                            .cmp(&(y.posted_at, &y.platform_message_id))
                    })
                })
                .flatten()
        })
    }

    /// Whether an answer is accepted.
    pub fn is_answered(&self) -> bool {
        self.accepted.is_some()
    }

    /// Answers not deleted.
    pub fn live_answers(&self) -> usize {
        self.answers.iter().filter(|a| !a.deleted).count()
    }
}

/// Whether a message text asks a question: after trimming, and after dropping trailing
/// mentions (`<@U1>`, `<at>Name</at>`, `@name`), emoji (`:thinking_face:`, 🤔, `(fire)`) and
/// closing quotes/brackets, it ends with `?` (or the full-width `？`). Text inside a trailing
/// code span or fence does not count.
pub fn looks_like_question(text: &str) -> bool {
    let mut rest = text.trim_end();
    // Each pass removes one trailing decoration; bounded so hostile input stays linear.
    for _ in 0..64 {
        let before = rest.len();
        rest = strip_decoration(rest).trim_end();
        if rest.len() == before {
            break;
        }
    }
    rest.ends_with('?') || rest.ends_with('\u{FF1F}')
}

fn strip_decoration(s: &str) -> &str {
    // Slack mentions, links and channel references: `<@U1>`, `<#C1|x>`; Teams `<at>N</at>`.
    if let Some(body) = s.strip_suffix("</at>") {
        if let Some(open) = body.rfind("<at>") {
            return &s[..open];
        }
    }
    if s.ends_with('>') {
        if let Some(open) = s.rfind('<') {
            let inner = &s[open + 1..s.len() - 1];
            if inner.starts_with('@') || inner.starts_with('#') || inner.starts_with('!') {
                return &s[..open];
            }
        }
        if s.ends_with("```") {
            return s;
        }
    }
    // Emoji shortcodes `:name:` and Teams `(name)`.
    for (open, close) in [(':', ':'), ('(', ')')] {
        if let Some(body) = s.strip_suffix(close) {
            if let Some(start) = body.rfind(open) {
                let name = &body[start + 1..];
                if !name.is_empty()
                    && name.len() <= 64
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+'))
                {
                    return &s[..start];
                }
            }
        }
    }
    // A trailing `@name` mention (Matrix, plain text).
    if let Some(at) = s.rfind('@') {
        let name = &s[at + 1..];
        let word_start = at == 0 || s[..at].ends_with(char::is_whitespace);
        if word_start
            && !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
        {
            return &s[..at];
        }
    }
    let Some(last) = s.chars().next_back() else {
        return s;
    };
    // Pictographs, variation selectors, joiners, skin tones; closing quotes and brackets.
    let decoration = matches!(last,
        '\u{200D}' | '\u{FE0F}' | '\u{FE0E}' | '\u{20E3}'
        | '\u{1F000}'..='\u{1FAFF}' | '\u{2600}'..='\u{27BF}' | '\u{2B00}'..='\u{2BFF}'
        | '"' | '\'' | '\u{201D}' | '\u{2019}' | '\u{BB}' | ')' | ']' | '*' | '_' | '~');
    if decoration {
        return &s[..s.len() - last.len_utf8()];
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_end_with_a_question_mark_after_decorations() {
        for q in [
            "How do I start?",
            "how do I start?   ",
            "what is a monad? <@U123>",
            "what is a monad? <@U123> <@U456|bob>",
            "anyone? :thinking_face:",
            "anyone? 🤔",
            "anyone? 🤷\u{200D}\u{2640}\u{FE0F}",
            "ok? (fire)",
            "hi <at>Ana</at>, is it due friday? <at>Ben</at>",
            "is it due friday? @ana:example.org",
            "is it \"done?\"",
            "*really?*",
            "なぜ？",
        ] {
            assert!(looks_like_question(q), "{q:?}");
        }
        for q in [
            "",
            "?",
            "Thanks :fire:",
            "see `x?`",
            "is it? no, it is not.",
            "what is this? ```code```",
            "<@U123>",
            "a ? b",
        ] {
            assert_eq!(looks_like_question(q), q == "?", "{q:?}");
        }
    }

    #[test]
    fn settings_validate_reward_and_channels() {
        let mut s = QuestionSettings::default();
        assert_eq!(s.problem(), None);
        assert!(s.tracks(None) && s.tracks(Some("C1")));
        s.tracked_channels = vec!["C1".into()];
        assert!(s.tracks(Some("C1")) && !s.tracks(Some("C2")) && !s.tracks(None));
        s.tracked_channels.push("C1".into());
        assert_eq!(s.problem().map(|p| p.0), Some("tracked_channels[1]".into()));
        s.tracked_channels = vec!["C 1".into()];
        assert!(s.problem().is_some());
        s.tracked_channels.clear();
        s.reward = Points::from_whole(-1);
        assert_eq!(s.problem().map(|p| p.0), Some("reward".into()));
        s.reward = Points::from_whole(101);
        assert!(s.problem().is_some());
    }
}
