//! What one event produces: [`Outcome`] and its parts.
//!
//! An outcome is data only. The service writes all of it in one transaction with marking the
//! inbox row processed: ledger entries (unique keys), upserts of the message/reaction records,
//! member changes, badge awards and level changes, plus notices and feed items to deliver.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::firsts::{AnnouncementPost, FirstResponse, TargetKind};
use crate::ids::{BadgeId, MemberId, MemberInfo, Role};
use crate::ledger::LedgerEntry;
use crate::points::Points;
use crate::polls::{DebateParticipant, PollKind, PollRecord, VoteRecord};
use crate::questions::QuestionRecord;
use crate::settings::CommunitySettings;
use crate::store::{PurchaseRecord, PurchaseStatus, StoreItem};
use crate::time::{IsoWeek, QuotaDay};

/// Everything one event changes or says.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// New ledger entries, in order.
    pub entries: Vec<LedgerEntry>,
    /// Private notices to members (ephemeral messages / DMs).
    pub notices: Vec<Notice>,
    /// Activity-feed items (per member and per community).
    pub feed: Vec<FeedItem>,
    /// Badges won.
    pub badges: Vec<BadgeAward>,
    /// New highest levels reached.
    pub levels: Vec<LevelChange>,
    /// Message records to upsert (by platform message id).
    pub messages: Vec<MessageRecord>,
    /// Reaction records to upsert (by message id and reactor).
    pub reactions: Vec<ReactionRecord>,
    /// Member records to upsert.
    pub members: Vec<MemberChange>,
    /// The community's new settings, when the event changed them; every later event obeys
    /// them (the store keeps them with the community).
    #[serde(default)]
    pub settings: Option<CommunitySettings>,
    /// Store item definitions to upsert (by item id).
    #[serde(default)]
    pub store_items: Vec<StoreItem>,
    /// Purchase records to upsert (by purchase id).
    #[serde(default)]
    pub purchases: Vec<PurchaseRecord>,
    /// Question records to upsert (by platform message id).
    #[serde(default)]
    pub questions: Vec<QuestionRecord>,
    /// Poll records to upsert (by poll id).
    #[serde(default)]
    pub polls: Vec<PollRecord>,
    /// Votes to upsert (by poll and member; a new vote replaces the old one).
    #[serde(default)]
    pub votes: Vec<VoteRecord>,
    /// Members counted for the first time as a debate's participants.
    #[serde(default)]
    pub debaters: Vec<DebateParticipant>,
    /// Custom reward rules to upsert (by rule id; each a new version).
    #[serde(default)]
    pub rules: Vec<crate::rules::RewardRule>,
    /// First responses to insert (one per target and member; see [`crate::firsts`]).
    #[serde(default)]
    pub first_responses: Vec<FirstResponse>,
    /// Announcements posted (by platform message id).
    #[serde(default)]
    pub announcement_posts: Vec<AnnouncementPost>,
}

impl Outcome {
    /// Whether the event changed nothing and says nothing (e.g. a duplicate delivery).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
            && self.notices.is_empty()
            && self.feed.is_empty()
            && self.badges.is_empty()
            && self.levels.is_empty()
            && self.messages.is_empty()
            && self.reactions.is_empty()
            && self.members.is_empty()
            && self.settings.is_none()
            && self.store_items.is_empty()
            && self.purchases.is_empty()
            && self.questions.is_empty()
            && self.polls.is_empty()
            && self.votes.is_empty()
            && self.debaters.is_empty()
            && self.rules.is_empty()
            && self.first_responses.is_empty()
            && self.announcement_posts.is_empty()
    }

    /// Net quota change per (giver, quota day) made by this outcome. The store applies each as
    /// an atomic check-and-debit (`used + units <= limit`, or a serialisable transaction) so two
    /// concurrent gives can never overspend.
    pub fn quota_debits(&self) -> Vec<QuotaDebit> {
        let mut map: BTreeMap<(&MemberId, QuotaDay), i64> = BTreeMap::new();
        for e in &self.entries {
            if let (Some(g), Some(d)) = (&e.giver, e.quota_day) {
                if e.quota_units != 0 {
                    *map.entry((g, d)).or_default() += i64::from(e.quota_units);
                }
            }
        }
        map.into_iter()
            .filter(|(_, units)| *units != 0)
            .map(|((giver, day), units)| QuotaDebit {
                giver: giver.clone(),
                day,
                units,
            })
            .collect()
    }
}

/// A net change of a giver's quota use on one day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaDebit {
    /// The giver.
    pub giver: MemberId,
    /// The quota day.
    pub day: QuotaDay,
    /// Units debited (negative: refunded).
    pub units: i64,
}

/// A private notice to one member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// Who sees it (only them).
    pub to: MemberId,
    /// What it says.
    pub kind: NoticeKind,
}

/// The notices the engine sends. `Display` gives the English text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NoticeKind {
    /// Fire was given; `remaining` is `None` for an unlimited giver.
    FireGiven {
        /// Distinct recipients.
        recipients: u32,
        /// Fire units given.
        units: u32,
        /// Quota left today.
        remaining: Option<u32>,
    },
    /// The message asked for more than what is left: nothing was given.
    QuotaExceeded {
        /// Units the message asked for.
        requested: u32,
        /// Units left today.
        remaining: u32,
        /// The daily quota.
        daily_quota: u32,
    },
    /// Fire to yourself is refused.
    SelfFireRefused,
    /// Fire before the course start date.
    CourseNotStarted {
        /// First day fire counts.
        starts: NaiveDate,
    },
    /// Fire after the course end date.
    CourseEnded {
        /// Last day fire counted.
        ended: NaiveDate,
    },
    /// The student reached a new level.
    LevelUp {
        /// Level index (0 = first).
        level: u32,
        /// Level name.
        name: String,
    },
    /// The student won a badge.
    BadgeWon {
        /// Badge id.
        badge: BadgeId,
        /// Badge name.
        name: String,
    },
    /// An Admin action was refused.
    Refused {
        /// Why.
        reason: String,
    },
    /// A privacy request changed (sent by the privacy-request workflow, not by the rules):
    /// `opened` goes to each Admin, `approved`/`declined` to the student. Ids and dates only;
    /// the details and the reason stay on the dashboard.
    PrivacyRequest {
        /// The request's id.
        request_id: String,
        /// `access`, `correction` or `deletion`.
        kind: String,
        /// `opened`, `approved` or `declined`.
        event: String,
        /// When the answer is due.
        due: NaiveDate,
    },
    /// A new privacy-policy version was published (sent to every Admin by
    /// `classcred policy publish`); the dashboard shows a banner until they acknowledge.
    PolicyPublished {
        /// The version number.
        version: String,
        /// The publication day (UTC).
        published: NaiveDate,
    },
    /// A personal-data breach affecting the Admin's community (sent by
    /// `classcred breach notify`). Times are UTC, formatted by the sender.
    BreachNotice {
        /// The breach's id in the register.
        breach_id: String,
        /// When the breach was reported to the operator.
        reported: String,
        /// Whether every community or only this one is affected.
        scope: String,
    },
    /// A store purchase went through (`pending`: it waits for an Instructor's approval).
    PurchaseMade {
        /// Item name.
        item: String,
        /// Price reserved.
        price: Points,
        /// Whether it waits for approval.
        pending: bool,
        /// Spendable points left.
        spendable: Points,
    },
    /// A store purchase was refused by the rules; nothing was reserved.
    PurchaseRefused {
        /// Item name (empty when there is no such item).
        item: String,
        /// Why.
        reason: String,
    },
    /// A pending purchase was approved.
    PurchaseApproved {
        /// Item name.
        item: String,
    },
    /// A pending purchase was rejected and refunded.
    PurchaseRejected {
        /// Item name.
        item: String,
        /// Refunded.
        price: Points,
        /// The Instructor's reason, if any.
        reason: Option<String>,
    },
    /// The student cancelled a pending purchase; refunded.
    PurchaseCancelled {
        /// Item name.
        item: String,
        /// Refunded.
        price: Points,
    },
    /// To each Instructor and Admin (sent by the service, not the rules): a purchase waits.
    PurchaseAwaitsApproval {
        /// The purchase.
        purchase_id: String,
        /// Item name.
        item: String,
        /// Price reserved.
        price: Points,
    },
    /// To the asker: someone replied to their question (adapters that can, show an Accept
    /// button for `answer`).
    AnswerReceived {
        /// The question's platform message id.
        question: String,
        /// The reply's platform message id.
        answer: String,
    },
    /// To the answerer: their answer was accepted (`reward` is zero when none is earned).
    AnswerAccepted {
        /// The question's platform message id.
        question: String,
        /// Points earned.
        reward: Points,
    },
    /// To a student: they were among the first to respond and earned the firsts bonus.
    FirstBonus {
        /// What they responded to.
        kind: TargetKind,
        /// Its id.
        target: String,
        /// Their place (1-based).
        place: u32,
        /// Points earned.
        points: Points,
    },
}

impl fmt::Display for NoticeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoticeKind::FireGiven {
                recipients,
                units,
                remaining,
            } => {
                write!(f, "You gave {units} fire to {recipients} member(s).")?;
                match remaining {
                    Some(r) => write!(f, " You have {r} fire left today."),
                    None => Ok(()),
                }
            }
            NoticeKind::QuotaExceeded {
                requested,
                remaining,
                daily_quota,
            } => {
                if *daily_quota == 0 {
                    write!(
                        f,
                        "Only instructors can give fire in this community; nothing was given."
                    )
                } else {
                    write!(
                        f,
                        "That message asks for {requested} fire but you have {remaining} left today \
                         (daily limit {daily_quota}); nothing was given. Edit it to fit, or try tomorrow."
                    )
                }
            }
            NoticeKind::SelfFireRefused => write!(f, "You can't give fire to yourself."),
            NoticeKind::CourseNotStarted { starts } => {
                write!(
                    f,
                    "The course has not started yet (it starts on {starts}); no fire was given."
                )
            }
            NoticeKind::CourseEnded { ended } => {
                write!(
                    f,
                    "The course has ended (last day {ended}); no fire was given."
                )
            }
            NoticeKind::LevelUp { name, .. } => write!(f, "Level up! You are now {name}."),
            NoticeKind::BadgeWon { name, .. } => {
                write!(f, "You won the badge \u{201c}{name}\u{201d}.")
            }
            NoticeKind::Refused { reason } => write!(f, "Not done: {reason}"),
            NoticeKind::PrivacyRequest {
                request_id,
                kind,
                event,
                due,
            } => {
                let what = match kind.as_str() {
                    "access" => "see and export their data",
                    "correction" => "correct their data",
                    "deletion" => "delete their data",
                    _ => "exercise a privacy right",
                };
                match event.as_str() {
                    "opened" => write!(
                        f,
                        "A student asked to {what} (privacy request {request_id}). Please answer \
                         by {due}: open Privacy requests on the ClassCred dashboard."
                    ),
                    "approved" => write!(
                        f,
                        "Your privacy request {request_id} was approved. Details are on My data \
                         on the ClassCred dashboard (`/cred dashboard`)."
                    ),
                    "declined" => write!(
                        f,
                        "Your privacy request {request_id} was declined. The Admin's reason is \
                         on My data on the ClassCred dashboard (`/cred dashboard`)."
                    ),
                    _ => write!(f, "Your privacy request {request_id} changed."),
                }
            }
            NoticeKind::PolicyPublished { version, published } => write!(
                f,
                "The privacy policy changed: version {version} was published on {published}. \
                 Please read it at /privacy/policy and acknowledge it on the ClassCred dashboard."
            ),
            NoticeKind::BreachNotice {
                breach_id,
                reported,
                scope,
            } => {
                let which = if scope == "all" {
                    "every community on this ClassCred server, including yours"
                } else {
                    "your community"
                };
                write!(
                    f,
                    "Security notice: a personal-data breach affecting {which} was reported to \
                     the operator on {reported} (breach {breach_id}). The operator is sending \
                     you the details by email; please read them and tell your students as your \
                     institution requires."
                )
            }
            NoticeKind::PurchaseMade {
                item,
                price,
                pending,
                spendable,
            } => {
                if *pending {
                    write!(
                        f,
                        "Your purchase of \u{201c}{item}\u{201d} waits for an instructor's \
                         approval; {price} points are reserved. You have {spendable} points \
                         left to spend."
                    )
                } else {
                    write!(
                        f,
                        "You bought \u{201c}{item}\u{201d} for {price} points. You have \
                         {spendable} points left to spend."
                    )
                }
            }
            NoticeKind::PurchaseRefused { item, reason } => {
                if item.is_empty() {
                    write!(f, "Not bought: {reason}.")
                } else {
                    write!(f, "\u{201c}{item}\u{201d} was not bought: {reason}.")
                }
            }
            NoticeKind::PurchaseApproved { item } => {
                write!(f, "Your purchase of \u{201c}{item}\u{201d} was approved.")
            }
            NoticeKind::PurchaseRejected {
                item,
                price,
                reason,
            } => {
                write!(
                    f,
                    "Your purchase of \u{201c}{item}\u{201d} was rejected; {price} points \
                     were refunded."
                )?;
                match reason {
                    Some(r) => write!(f, " Reason: {r}"),
                    None => Ok(()),
                }
            }
            NoticeKind::PurchaseCancelled { item, price } => write!(
                f,
                "You cancelled your purchase of \u{201c}{item}\u{201d}; {price} points were \
                 refunded."
            ),
            NoticeKind::PurchaseAwaitsApproval { item, price, .. } => write!(
                f,
                "A student bought \u{201c}{item}\u{201d} ({price} points) and it waits for \
                 your approval: open Store on the ClassCred dashboard."
            ),
            NoticeKind::AnswerReceived { answer, .. } => write!(
                f,
                "Someone answered your question. If it helped, accept the answer (the Accept \
                 button, or the `accept {answer}` command) so your class sees it is answered."
            ),
            NoticeKind::AnswerAccepted { reward, .. } => {
                if *reward > Points::ZERO {
                    write!(f, "Your answer was accepted: +{reward} points.")
                } else {
                    write!(f, "Your answer was accepted.")
                }
            }
            NoticeKind::FirstBonus {
                kind,
                place,
                points,
                ..
            } => write!(
                f,
                "You were number {place} to respond to {}: +{points} points.",
                kind.with_article()
            ),
        }
    }
}

/// Who sees a feed item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "member", rename_all = "snake_case")]
pub enum Audience {
    /// One member's own feed ("what happened to me").
    Member(MemberId),
    /// The community feed (Admins and Instructors).
    Community,
}

/// One activity-feed item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedItem {
    /// Whose feed.
    pub audience: Audience,
    /// Platform time of the event.
    pub occurred_at: DateTime<Utc>,
    /// What happened.
    pub kind: FeedKind,
}

/// What a feed item reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FeedKind {
    /// Community feed: someone recognised others.
    Recognition {
        /// The giver.
        giver: MemberId,
        /// Recipients.
        recipients: Vec<MemberId>,
        /// Units given in total.
        units: u32,
        /// The message.
        platform_message_id: Arc<str>,
    },
    /// Member feed: fire received (gross, before tax).
    FireReceived {
        /// The giver.
        from: MemberId,
        /// Units.
        units: u32,
        /// Points before tax.
        gross: Points,
        /// The message.
        platform_message_id: Arc<str>,
    },
    /// Member feed: gift tax taken on fire just received.
    Taxed {
        /// The giver whose fire was taxed.
        from: MemberId,
        /// Tax amount (positive).
        amount: Points,
        /// The tax week.
        week: IsoWeek,
    },
    /// Member feed: fire taken back (edit, delete, reaction removed).
    FireReversed {
        /// The giver.
        from: MemberId,
        /// Units reversed.
        units: u32,
        /// Points removed (positive).
        amount: Points,
        /// The message.
        platform_message_id: Arc<str>,
    },
    /// Member and community feed: a badge won.
    BadgeWon {
        /// Who won.
        member: MemberId,
        /// Badge id.
        badge: BadgeId,
    },
    /// Member feed: a level reached.
    LevelUp {
        /// Who.
        member: MemberId,
        /// Level index.
        level: u32,
        /// Level name.
        name: String,
    },
    /// Member feed: a manual adjustment.
    PointsAdjusted {
        /// Signed amount.
        amount: Points,
        /// The Admin's reason.
        reason: String,
    },
    /// Member and community feed: a store purchase (points reserved or spent).
    Purchase {
        /// The buyer.
        member: MemberId,
        /// The purchase.
        purchase_id: String,
        /// Item name.
        item: String,
        /// Price.
        price: Points,
        /// `pending` or `approved`.
        status: PurchaseStatus,
    },
    /// Member and community feed: a pending purchase was approved.
    PurchaseApproved {
        /// The buyer.
        member: MemberId,
        /// The purchase.
        purchase_id: String,
        /// Item name.
        item: String,
    },
    /// Member and community feed: a purchase was refunded (rejected or cancelled).
    PurchaseRefunded {
        /// The buyer.
        member: MemberId,
        /// The purchase.
        purchase_id: String,
        /// Item name.
        item: String,
        /// Refunded (positive).
        amount: Points,
        /// `rejected` or `cancelled`.
        status: PurchaseStatus,
    },
    /// Community feed: a question was asked.
    QuestionAsked {
        /// The asker.
        asker: MemberId,
        /// The question.
        platform_message_id: Arc<str>,
    },
    /// Community feed: someone other than the asker replied to a question.
    QuestionAnswered {
        /// Who replied.
        author: MemberId,
        /// The question.
        question: Arc<str>,
        /// The reply.
        answer: Arc<str>,
    },
    /// Community and member feed: an answer was accepted (`reward` zero when none).
    AnswerAccepted {
        /// The answer's author.
        author: MemberId,
        /// The question.
        question: Arc<str>,
        /// The reply.
        answer: Arc<str>,
        /// Points earned.
        reward: Points,
    },
    /// Member feed: an answer's reward was taken back (answer or question deleted, or another
    /// answer accepted).
    AnswerRewardReversed {
        /// The question.
        question: Arc<str>,
        /// Points removed (positive).
        amount: Points,
    },
    /// Community feed: an Instructor or Admin created a poll or debate.
    PollCreated {
        /// The poll.
        poll_id: String,
        /// Poll or debate.
        kind: PollKind,
        /// Who created it.
        by: MemberId,
    },
    /// Community feed: a poll or debate closed.
    PollClosed {
        /// The poll.
        poll_id: String,
        /// Poll or debate.
        kind: PollKind,
    },
    /// Member feed: the member voted in a poll (or chose a side) that is not anonymous.
    Voted {
        /// The voter.
        member: MemberId,
        /// The poll.
        poll_id: String,
        /// Poll or debate.
        kind: PollKind,
        /// The option first chosen, from 0 (its text stays sealed in the poll's rows).
        option: u32,
    },
    /// Community feed: an Instructor or Admin saved a custom reward rule.
    RuleSaved {
        /// Who saved it.
        by: MemberId,
        /// The rule.
        rule_id: Arc<str>,
        /// Its new version.
        version: u32,
        /// Whether it is enabled now.
        enabled: bool,
    },
    /// Member feed: a custom reward rule awarded points.
    RuleAwarded {
        /// The rule.
        rule_id: Arc<str>,
        /// Points earned.
        amount: Points,
    },
    /// Community feed: a scheduled announcement was posted.
    AnnouncementPosted {
        /// The announcement.
        announcement_id: String,
        /// The channel.
        channel: String,
    },
    /// Member and community feed: a student earned the firsts bonus.
    FirstBonus {
        /// The student.
        member: MemberId,
        /// What they responded to.
        kind: TargetKind,
        /// Its id.
        target: String,
        /// Their place (1-based).
        place: u32,
        /// Points earned.
        points: Points,
    },
}

/// A badge won by a member. `instance` distinguishes repeatable badges
/// (`"once"` for one-time badges, the ISO week such as `"2025-W03"` for the weekly one).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BadgeAward {
    /// The winner (always a student).
    pub member: MemberId,
    /// Which badge.
    pub badge: BadgeId,
    /// Which instance.
    pub instance: String,
    /// Who awarded it by hand (custom badges), if anyone.
    pub by: Option<MemberId>,
    /// When.
    pub occurred_at: DateTime<Utc>,
}

/// A member reached a new highest level (levels never drop once announced).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelChange {
    /// Who.
    pub member: MemberId,
    /// New highest level index.
    pub level: u32,
}

/// A member record to upsert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberChange {
    /// Who.
    pub member: MemberId,
    /// Role and kind after the event.
    pub info: MemberInfo,
}

/// One fire unit still standing (awarded and not reversed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandingUnit {
    /// Unit index within (source, recipient); never reused.
    pub unit: u32,
    /// Net points it brought (award minus tax); a reversal takes exactly this back.
    pub net: Points,
    /// Quota day of the give.
    pub quota_day: QuotaDay,
    /// Tax week of the give.
    pub iso_week: IsoWeek,
    /// Giver's role at the time.
    pub giver_role: Role,
}

/// What a message has awarded one recipient.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientUnits {
    /// The recipient.
    pub recipient: MemberId,
    /// The next unused unit index.
    pub next_unit: u32,
    /// Units standing, ascending by index.
    pub standing: Vec<StandingUnit>,
}

/// What the engine remembers about one message with fire (or a deleted one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    /// Platform message id.
    pub platform_message_id: String,
    /// Author (`None` for a tombstone of a message never seen).
    pub author: Option<MemberId>,
    /// Platform time of the latest post/edit applied; older edits are stale.
    pub version: DateTime<Utc>,
    /// Deleted: nothing about it changes any more.
    pub deleted: bool,
    /// Per recipient.
    pub recipients: Vec<RecipientUnits>,
}

/// What the engine remembers about one reactor's 🔥 on one message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReactionRecord {
    /// The message.
    pub platform_message_id: String,
    /// Who reacted.
    pub reactor: MemberId,
    /// The message author (the recipient).
    pub author: MemberId,
    /// Platform time of the latest add/remove applied; older ones are stale.
    pub version: DateTime<Utc>,
    /// The unit standing, if the reaction currently gives fire.
    pub standing: Option<StandingUnit>,
    /// The next unused unit index (a re-added reaction uses a fresh one).
    pub next_unit: u32,
}
