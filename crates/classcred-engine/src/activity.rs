//! Activities: what a member did in one event, in the terms custom reward rules and firsts
//! reward ("posts a message in a channel", "answers a question", "votes in a poll" ...).
//!
//! The engine's handlers record an [`Activity`] on the working context when the event really
//! did the thing (a redelivery, a refused purchase or a vote changed again records nothing);
//! after the handler, the steps that reward activities read them. An activity is never stored:
//! it is derived from the event and the state each time, so replay derives the same ones.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::ids::MemberId;

/// One thing a member did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Activity {
    /// Who did it.
    pub member: MemberId,
    /// When (the event's platform time).
    pub at: DateTime<Utc>,
    /// What.
    pub kind: ActivityKind,
}

/// What a member did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActivityKind {
    /// Posted a message seen for the first time (top level or in a thread).
    Posted {
        /// The message.
        message: Arc<str>,
        /// Its channel, room or conversation, when the platform has one.
        channel: Option<Arc<str>>,
        /// The thread root it was posted in, if any (not the message itself).
        thread: Option<Arc<str>>,
    },
    /// Replied in the thread of someone else's tracked question (an answer).
    Answered {
        /// The question's message.
        question: Arc<str>,
        /// The answer's message.
        answer: Arc<str>,
    },
    /// Their answer became the question's accepted answer.
    AnswerAccepted {
        /// The question's message.
        question: Arc<str>,
        /// The accepted answer's message.
        answer: Arc<str>,
    },
    /// Received a unit of fire from a classmate in a message.
    ReceivedFire {
        /// Who gave it.
        giver: MemberId,
        /// The message that gave it.
        message: Arc<str>,
    },
    /// A purchase was accepted (reserved or approved at once; not a refused request).
    Bought {
        /// The purchase.
        purchase: Arc<str>,
        /// The item bought.
        item: Arc<str>,
    },
    /// Voted in a poll for the first time (changing a vote is not a new activity).
    VotedInPoll {
        /// The poll.
        poll: Arc<str>,
    },
    /// Took part in a debate (chose a side, or posted in its thread).
    DebatedIn {
        /// The debate (a poll of kind debate).
        debate: Arc<str>,
    },
    /// Replied in the thread of a posted announcement.
    RespondedToAnnouncement {
        /// The announcement.
        announcement: Arc<str>,
    },
}
