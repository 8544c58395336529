//! Questions and answers: asking, replying, accepting, deleting; the accepted answer's reward.
//!
//! - A top-level post (no thread, or its own thread root) flagged `is_question` by the adapter,
//!   by a person, in a tracked channel, becomes a [`QuestionRecord`].
//! - A post in a question's thread by a person other than the asker is an answer; the asker
//!   gets a private notice (with an Accept button where the platform has one).
//! - [`AnswerAccepted`] by the asker or an Instructor/Admin records an accept of a live answer.
//! - Deleting the question or an answer marks it deleted.
//!
//! After every change [`settle`] derives the accepted answer from the facts
//! ([`QuestionRecord::chosen`]) and moves the reward to match: the reward standing on an
//! answer no longer chosen is reversed; the chosen answer's author earns the configured reward
//! if they are a Student (Admins and Instructors are excluded from rewards). Keys come from the
//! answer's message id and a unit index never reused, so redeliveries add nothing.
//!
//! Edits never change whether a message is a question (decided: the question is what was
//! asked; an edit removing the "?" does not unask it, nor does adding one ask it later).

use chrono::{DateTime, Utc};

use super::Ctx;
use crate::activity::ActivityKind;
use crate::event::{AnswerAccepted, MessagePosted};
use crate::ids::{MemberId, Role};
use crate::ledger::{EntryKind, IdempotencyKey, LedgerEntry, Source};
use crate::outcome::{Audience, FeedItem, FeedKind, NoticeKind};
use crate::points::Points;
use crate::questions::{
    AcceptFact, AnswerFact, AnswerReward, QuestionRecord, MAX_ACCEPTS, MAX_ANSWERS,
};
use crate::state::StateView;

/// A post: maybe a question, maybe an answer. `tombstoned`: the message was deleted before.
pub(super) fn posted<S: StateView + ?Sized>(
    cx: &mut Ctx<'_, S>,
    e: &MessagePosted,
    tombstoned: bool,
) {
    if tombstoned {
        return;
    }
    let id = e.platform_message_id.as_str();
    match e.thread.as_deref().filter(|root| *root != id) {
        None => asked(cx, e),
        Some(root) => replied(cx, e, root),
    }
}

fn asked<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, e: &MessagePosted) {
    if !e.is_question
        || !cx.settings.questions.tracks(e.channel.as_deref())
        || !cx.member(&e.author).can_give()
        || cx.state.question(&e.platform_message_id).is_some()
    {
        return;
    }
    cx.out.questions.push(QuestionRecord {
        platform_message_id: e.platform_message_id.clone(),
        asker: e.author.clone(),
        channel: e.channel.clone(),
        asked_at: e.occurred_at,
        deleted: false,
        answers: Vec::new(),
        accepts: Vec::new(),
        accepted: None,
    });
    feed_community(
        cx,
        e.occurred_at,
        FeedKind::QuestionAsked {
            asker: e.author.clone(),
            platform_message_id: e.platform_message_id.as_str().into(),
        },
    );
}

fn replied<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, e: &MessagePosted, root: &str) {
    let Some(mut q) = cx.state.question(root) else {
        return;
    };
    let id = e.platform_message_id.as_str();
    if q.deleted
        || q.asker == e.author
        || q.answers.len() >= MAX_ANSWERS
        || q.answers.iter().any(|a| a.platform_message_id == id)
        || !cx.member(&e.author).can_give()
    {
        return;
    }
    q.answers.push(AnswerFact {
        platform_message_id: id.to_owned(),
        author: e.author.clone(),
        posted_at: e.occurred_at,
        deleted: false,
        reward: None,
        next_unit: 0,
    });
    cx.did(
        &e.author,
        e.occurred_at,
        ActivityKind::Answered {
            question: root.into(),
            answer: id.into(),
        },
    );
    let asker = q.asker.clone();
    cx.notify(
        &asker,
        NoticeKind::AnswerReceived {
            question: root.to_owned(),
            answer: id.to_owned(),
        },
    );
    feed_community(
        cx,
        e.occurred_at,
        FeedKind::QuestionAnswered {
            author: e.author.clone(),
            question: root.into(),
            answer: id.into(),
        },
    );
    settle(cx, &mut q, e.occurred_at);
    cx.out.questions.push(q);
}

/// A deletion: of a question, or of an answer.
pub(super) fn deleted<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, id: &str, at: DateTime<Utc>) {
    let mut q = match cx.state.question(id) {
        Some(q) => q,
        None => {
            let Some(root) = cx.state.question_of_answer(id) else {
                return;
            };
            let Some(q) = cx.state.question(&root) else {
                return;
            };
            q
        }
    };
    if q.platform_message_id == id {
        if q.deleted {
            return;
        }
        q.deleted = true;
    } else {
        match q
            .answers
            .iter_mut()
            .find(|a| a.platform_message_id == id && !a.deleted)
        {
            Some(a) => a.deleted = true,
            None => return,
        }
    }
    settle(cx, &mut q, at);
    cx.out.questions.push(q);
}

pub(super) fn accepted<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, e: &AnswerAccepted) {
    let Some(mut q) = cx.state.question(&e.question) else {
        return refuse(cx, &e.by, "that message is not a tracked question");
    };
    let fact = AcceptFact {
        answer: e.answer.clone(),
        by: e.by.clone(),
        at: e.occurred_at,
    };
    if q.accepts.contains(&fact) {
        return;
    }
    if q.deleted {
        return refuse(cx, &e.by, "the question was deleted");
    }
    let role = cx.member(&e.by).role;
    if q.asker != e.by && !matches!(role, Role::Admin | Role::Instructor) {
        return refuse(
            cx,
            &e.by,
            "only the asker or an Instructor can accept an answer",
        );
    }
    if !q
        .answers
        .iter()
        .any(|a| a.platform_message_id == e.answer && !a.deleted)
    {
        return refuse(cx, &e.by, "that reply is not an answer to this question");
    }
    if q.accepts.len() >= MAX_ACCEPTS {
        return refuse(cx, &e.by, "too many accepts on this question");
    }
    q.accepts.push(fact);
    settle(cx, &mut q, e.occurred_at);
    cx.out.questions.push(q);
}

/// Derives the accepted answer and moves the reward to match it.
fn settle<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, q: &mut QuestionRecord, at: DateTime<Utc>) {
    let chosen = q
        .chosen(cx.settings.questions.auto_accept)
        .map(|a| a.platform_message_id.clone());
    let question: std::sync::Arc<str> = q.platform_message_id.as_str().into();
    for a in &mut q.answers {
        if chosen.as_deref() == Some(a.platform_message_id.as_str()) {
            continue;
        }
        if let Some(r) = a.reward.take() {
            let key = IdempotencyKey::new(
                &Source::Answer(&a.platform_message_id),
                &a.author,
                r.unit,
                EntryKind::Reversal,
            );
            cx.out.entries.push(entry(
                key,
                EntryKind::Reversal,
                &a.author,
                -r.amount,
                &a.platform_message_id,
                at,
            ));
            cx.feed_member(
                &a.author,
                at,
                FeedKind::AnswerRewardReversed {
                    question: question.clone(),
                    amount: r.amount,
                },
            );
        }
    }
    let newly = chosen.is_some() && chosen != q.accepted;
    q.accepted.clone_from(&chosen);
    let Some(chosen) = chosen else { return };
    let Some(a) = q
        .answers
        .iter_mut()
        .find(|a| a.platform_message_id == chosen)
    else {
        return;
    };
    let amount = cx.settings.questions.reward;
    let mut earned = Points::ZERO;
    if a.reward.is_none() && amount > Points::ZERO && cx.member(&a.author).is_student() {
        let unit = a.next_unit;
        a.next_unit = unit.saturating_add(1);
        let key = IdempotencyKey::new(
            &Source::Answer(&a.platform_message_id),
            &a.author,
            unit,
            EntryKind::AnswerReward,
        );
        cx.out.entries.push(entry(
            key,
            EntryKind::AnswerReward,
            &a.author,
            amount,
            &a.platform_message_id,
            at,
        ));
        a.reward = Some(AnswerReward { unit, amount });
        earned = amount;
    }
    if newly {
        let author = a.author.clone();
        let answer: std::sync::Arc<str> = a.platform_message_id.as_str().into();
        cx.did(
            &author,
            at,
            ActivityKind::AnswerAccepted {
                question: question.clone(),
                answer: answer.clone(),
            },
        );
        let kind = FeedKind::AnswerAccepted {
            author: author.clone(),
            question: question.clone(),
            answer,
            reward: earned,
        };
        cx.feed_member(&author, at, kind.clone());
        feed_community(cx, at, kind);
        cx.notify(
            &author,
            NoticeKind::AnswerAccepted {
                question: question.to_string(),
                reward: earned,
            },
        );
    }
}

fn entry(
    key: IdempotencyKey,
    kind: EntryKind,
    member: &MemberId,
    amount: Points,
    answer: &str,
    at: DateTime<Utc>,
) -> LedgerEntry {
    LedgerEntry {
        key,
        kind,
        member: member.clone(),
        amount,
        giver: None,
        giver_role: None,
        quota_day: None,
        iso_week: None,
        quota_units: 0,
        fire_units: 0,
        platform_message_id: Some(answer.into()),
        reason: None,
        occurred_at: at,
    }
}

fn feed_community<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, at: DateTime<Utc>, kind: FeedKind) {
    cx.out.feed.push(FeedItem {
        audience: Audience::Community,
        occurred_at: at,
        kind,
    });
}

fn refuse<S: StateView + ?Sized>(cx: &mut Ctx<'_, S>, to: &MemberId, reason: &str) {
    cx.notify(
        to,
        NoticeKind::Refused {
            reason: reason.to_owned(),
        },
    );
}
