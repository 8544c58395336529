//! A database-backed [`StateView`] for one event.
//!
//! The engine's state questions are synchronous; the database is not. Rather than guess which
//! rows an event needs, we let the engine tell us: run it against [`Recorded`] answers, which
//! notes every question it could not answer (and answers it with an empty default), fetch the
//! missing answers from the database, and run again. When a run asks nothing new, every answer
//! it used came from the database and its outcome is the real one. Each question is one indexed
//! query; the engine is pure and fast, so the extra runs cost microseconds.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use classcred_engine::outcome::{MessageRecord, ReactionRecord};
use classcred_engine::time::{IsoWeek, QuotaDay};
use classcred_engine::QuestionRecord;
use classcred_engine::{
    BadgeId, IdempotencyKey, MemberId, MemberInfo, MemberKind, Points, PurchaseRecord, Role,
    StateView, StoreItem,
};
use classcred_engine::{CapWindow, RewardRule};
use classcred_store::reward_rules::RuleAwardWindow;
use classcred_store::{CommunityTx, MemberKind as StoreKind, MemberRowId, Role as StoreRole};

use crate::ServiceError;

/// One question the engine asks.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Question {
    Member(MemberId),
    QuotaUsed(MemberId, QuotaDay),
    WeeklyFire(MemberId, MemberId, IsoWeek),
    Message(String),
    Reaction(String, MemberId),
    ReactionsOn(String),
    HasEntry(IdempotencyKey),
    Earned(MemberId),
    Level(MemberId),
    HasBadge(MemberId, BadgeId, String),
    HasRecognised(MemberId, MemberId),
    DistinctGivers(MemberId),
    DistinctRecipients(MemberId),
    GaveOn(MemberId, QuotaDay),
    WeeklyFireByGiver(IsoWeek),
    StoreItem(String),
    Spendable(MemberId),
    ItemSold(String),
    MemberItemCount(MemberId, String),
    Purchase(String),
    Asked(String),
    AnswerRoot(String),
    Rule(String),
    EnabledRules,
    RuleCount,
    RuleAwards(String, MemberId, CapWindow),
}

#[derive(Clone, Debug)]
pub(crate) enum Answer {
    Member(Option<MemberInfo>),
    Count(u32),
    Flag(bool),
    Message(Option<MessageRecord>),
    Reaction(Option<ReactionRecord>),
    Reactions(Vec<ReactionRecord>),
    Points(Points),
    ByGiver(Vec<(MemberId, u32)>),
    Item(Option<StoreItem>),
    Purchase(Option<PurchaseRecord>),
    Question(Option<QuestionRecord>),
    Text(Option<String>),
    Rule(Option<RewardRule>),
    Rules(Vec<RewardRule>),
}

/// Answers known so far, and the questions that were asked without one.
#[derive(Default)]
pub(crate) struct Recorded {
    answers: HashMap<Question, Answer>,
    missing: RefCell<HashSet<Question>>,
}

impl Recorded {
    fn get(&self, q: Question) -> Option<&Answer> {
        match self.answers.get(&q) {
            Some(a) => Some(a),
            None => {
                self.missing.borrow_mut().insert(q);
                None
            }
        }
    }

    /// Questions asked without an answer since the last call.
    pub(crate) fn take_missing(&self) -> Vec<Question> {
        self.missing.borrow_mut().drain().collect()
    }

    pub(crate) fn insert(&mut self, q: Question, a: Answer) {
        self.answers.insert(q, a);
    }

    fn count(&self, q: Question) -> u32 {
        match self.get(q) {
            Some(Answer::Count(n)) => *n,
            _ => 0,
        }
    }

    fn flag(&self, q: Question) -> bool {
        matches!(self.get(q), Some(Answer::Flag(true)))
    }
}

impl StateView for Recorded {
    fn member(&self, id: &MemberId) -> Option<MemberInfo> {
        match self.get(Question::Member(id.clone())) {
            Some(Answer::Member(m)) => *m,
            _ => None,
        }
    }
    fn quota_used(&self, giver: &MemberId, day: QuotaDay) -> u32 {
        self.count(Question::QuotaUsed(giver.clone(), day))
    }
    fn weekly_fire(&self, giver: &MemberId, recipient: &MemberId, week: IsoWeek) -> u32 {
        self.count(Question::WeeklyFire(giver.clone(), recipient.clone(), week))
    }
    fn message(&self, platform_message_id: &str) -> Option<MessageRecord> {
        match self.get(Question::Message(platform_message_id.to_string())) {
            Some(Answer::Message(m)) => m.clone(),
            _ => None,
        }
    }
    fn reaction(&self, platform_message_id: &str, reactor: &MemberId) -> Option<ReactionRecord> {
        match self.get(Question::Reaction(
            platform_message_id.to_string(),
            reactor.clone(),
        )) {
            Some(Answer::Reaction(r)) => r.clone(),
            _ => None,
        }
    }
    fn reactions_on(&self, platform_message_id: &str) -> Vec<ReactionRecord> {
        match self.get(Question::ReactionsOn(platform_message_id.to_string())) {
            Some(Answer::Reactions(r)) => r.clone(),
            _ => Vec::new(),
        }
    }
    fn has_entry(&self, key: &IdempotencyKey) -> bool {
        self.flag(Question::HasEntry(key.clone()))
    }
    fn earned(&self, member: &MemberId) -> Points {
        match self.get(Question::Earned(member.clone())) {
            Some(Answer::Points(p)) => *p,
            _ => Points::from_thousandths(0),
        }
    }
    fn level(&self, member: &MemberId) -> u32 {
        self.count(Question::Level(member.clone()))
    }
    fn has_badge(&self, member: &MemberId, badge: &BadgeId, instance: &str) -> bool {
        self.flag(Question::HasBadge(
            member.clone(),
            badge.clone(),
            instance.to_string(),
        ))
    }
    fn has_recognised(&self, giver: &MemberId, recipient: &MemberId) -> bool {
        self.flag(Question::HasRecognised(giver.clone(), recipient.clone()))
    }
    fn distinct_givers(&self, recipient: &MemberId) -> u32 {
        self.count(Question::DistinctGivers(recipient.clone()))
    }
    fn distinct_recipients(&self, giver: &MemberId) -> u32 {
        self.count(Question::DistinctRecipients(giver.clone()))
    }
    fn gave_on(&self, giver: &MemberId, day: QuotaDay) -> bool {
        self.flag(Question::GaveOn(giver.clone(), day))
    }
    fn weekly_fire_by_giver(&self, week: IsoWeek) -> Vec<(MemberId, u32)> {
        match self.get(Question::WeeklyFireByGiver(week)) {
            Some(Answer::ByGiver(v)) => v.clone(),
            _ => Vec::new(),
        }
    }
    fn store_item(&self, item_id: &str) -> Option<StoreItem> {
        match self.get(Question::StoreItem(item_id.to_string())) {
            Some(Answer::Item(i)) => i.clone(),
            _ => None,
        }
    }
    fn spendable(&self, member: &MemberId) -> Points {
        match self.get(Question::Spendable(member.clone())) {
            Some(Answer::Points(p)) => *p,
            _ => Points::ZERO,
        }
    }
    fn item_sold(&self, item_id: &str) -> u32 {
        self.count(Question::ItemSold(item_id.to_string()))
    }
    fn member_item_count(&self, member: &MemberId, item_id: &str) -> u32 {
        self.count(Question::MemberItemCount(
            member.clone(),
            item_id.to_string(),
        ))
    }
    fn purchase(&self, purchase_id: &str) -> Option<PurchaseRecord> {
        match self.get(Question::Purchase(purchase_id.to_string())) {
            Some(Answer::Purchase(p)) => p.clone(),
            _ => None,
        }
    }
    fn question(&self, platform_message_id: &str) -> Option<QuestionRecord> {
        match self.get(Question::Asked(platform_message_id.to_string())) {
            Some(Answer::Question(q)) => q.clone(),
            _ => None,
        }
    }
    fn question_of_answer(&self, answer_message_id: &str) -> Option<String> {
        match self.get(Question::AnswerRoot(answer_message_id.to_string())) {
            Some(Answer::Text(t)) => t.clone(),
            _ => None,
        }
    }
    fn reward_rule(&self, rule_id: &str) -> Option<RewardRule> {
        match self.get(Question::Rule(rule_id.to_string())) {
            Some(Answer::Rule(r)) => r.clone(),
            _ => None,
        }
    }
    fn enabled_rules(&self) -> Vec<RewardRule> {
        match self.get(Question::EnabledRules) {
            Some(Answer::Rules(r)) => r.clone(),
            _ => Vec::new(),
        }
    }
    fn rule_count(&self) -> usize {
        self.count(Question::RuleCount) as usize
    }
    fn rule_awards(&self, rule_id: &str, member: &MemberId, window: CapWindow) -> u32 {
        self.count(Question::RuleAwards(
            rule_id.to_string(),
            member.clone(),
            window,
        ))
    }
}

pub(crate) fn engine_role(r: StoreRole) -> Role {
    match r {
        StoreRole::Admin => Role::Admin,
        StoreRole::Instructor => Role::Instructor,
        StoreRole::Student => Role::Student,
    }
}

pub(crate) fn store_role(r: Role) -> StoreRole {
    match r {
        Role::Admin => StoreRole::Admin,
        Role::Instructor => StoreRole::Instructor,
        Role::Student => StoreRole::Student,
    }
}

pub(crate) fn engine_kind(k: StoreKind) -> MemberKind {
    match k {
        StoreKind::Human => MemberKind::Human,
        StoreKind::Bot => MemberKind::Bot,
        StoreKind::App => MemberKind::App,
    }
}

pub(crate) fn store_kind(k: MemberKind) -> StoreKind {
    match k {
        MemberKind::Human => StoreKind::Human,
        MemberKind::Bot => StoreKind::Bot,
        MemberKind::App => StoreKind::App,
    }
}

fn count(n: i64) -> Answer {
    Answer::Count(u32::try_from(n.max(0)).unwrap_or(u32::MAX))
}

/// The engine's id of a member as a member row id. The engine only ever asks about members
/// the service resolved to row ids; an id that is not one names no row, and gets the answer
/// the database gives for a row that does not exist.
fn row_id(id: &MemberId) -> Option<MemberRowId> {
    MemberRowId::parse(id.as_str()).ok()
}

/// Fetch the answer to one question from the database.
pub(crate) async fn answer(
    tx: &mut CommunityTx<'_, '_>,
    q: &Question,
) -> Result<Answer, ServiceError> {
    Ok(match q {
        Question::Member(id) => Answer::Member(match row_id(id) {
            Some(id) => tx
                .member_role_kind(&id)
                .await?
                .map(|(role, kind)| MemberInfo {
                    role: engine_role(role),
                    kind: engine_kind(kind),
                }),
            None => None,
        }),
        Question::QuotaUsed(g, day) => count(match row_id(g) {
            Some(g) => tx.quota_used(&g, &day.to_string()).await?,
            None => 0,
        }),
        Question::WeeklyFire(g, r, w) => count(match (row_id(g), row_id(r)) {
            (Some(g), Some(r)) => tx.weekly_fire(&g, &r, &w.to_string()).await?,
            _ => 0,
        }),
        Question::Message(id) => Answer::Message(match tx.engine_message(id).await? {
            Some(json) => Some(serde_json::from_str(&json)?),
            None => None,
        }),
        Question::Reaction(id, reactor) => Answer::Reaction(match row_id(reactor) {
            Some(reactor) => match tx.engine_reaction(id, &reactor).await? {
                Some(json) => Some(serde_json::from_str(&json)?),
                None => None,
            },
            None => None,
        }),
        Question::ReactionsOn(id) => Answer::Reactions(
            tx.engine_reactions_on(id)
                .await?
                .iter()
                .map(|j| serde_json::from_str(j))
                .collect::<Result<_, _>>()?,
        ),
        Question::HasEntry(key) => Answer::Flag(tx.ledger_key_exists(key.as_str()).await?),
        Question::Earned(m) => Answer::Points(Points::from_thousandths(match row_id(m) {
            Some(m) => tx.earned(&m).await?,
            None => 0,
        })),
        Question::Level(m) => count(match row_id(m) {
            Some(m) => tx.member_level(&m).await?,
            None => 0,
        }),
        Question::HasBadge(m, b, i) => Answer::Flag(match row_id(m) {
            Some(m) => tx.has_badge(&m, b.as_str(), i).await?,
            None => false,
        }),
        Question::HasRecognised(g, r) => Answer::Flag(match (row_id(g), row_id(r)) {
            (Some(g), Some(r)) => tx.has_recognised(&g, &r).await?,
            _ => false,
        }),
        Question::DistinctGivers(r) => count(match row_id(r) {
            Some(r) => tx.distinct_givers(&r).await?,
            None => 0,
        }),
        Question::DistinctRecipients(g) => count(match row_id(g) {
            Some(g) => tx.distinct_recipients(&g).await?,
            None => 0,
        }),
        Question::GaveOn(g, day) => Answer::Flag(match row_id(g) {
            Some(g) => tx.gave_on(&g, &day.to_string()).await?,
            None => false,
        }),
        Question::WeeklyFireByGiver(w) => Answer::ByGiver(
            tx.weekly_fire_by_giver(&w.to_string())
                .await?
                .into_iter()
                .map(|(g, n)| {
                    (
                        MemberId::new(g),
                        u32::try_from(n.max(0)).unwrap_or(u32::MAX),
                    )
                })
                .collect(),
        ),
        Question::StoreItem(id) => Answer::Item(match tx.store_item_record(id).await? {
            Some(json) => Some(serde_json::from_str(&json)?),
            None => None,
        }),
        Question::Spendable(m) => Answer::Points(Points::from_thousandths(match row_id(m) {
            Some(m) => tx.member_points(&m).await?.spendable_milli,
            None => 0,
        })),
        Question::ItemSold(id) => count(tx.store_item_sold(id).await?),
        Question::MemberItemCount(m, id) => count(match row_id(m) {
            Some(m) => tx.member_item_count(&m, id).await?,
            None => 0,
        }),
        Question::Purchase(id) => Answer::Purchase(match tx.purchase(id).await? {
            Some(row) => Some(crate::store::purchase_record(&row)?),
            None => None,
        }),
        Question::Asked(id) => Answer::Question(match tx.engine_question(id).await? {
            Some(json) => Some(serde_json::from_str(&json)?),
            None => None,
        }),
        Question::AnswerRoot(id) => Answer::Text(tx.question_of_answer(id).await?),
        Question::Rule(id) => Answer::Rule(match tx.reward_rule_record(id).await? {
            Some(json) => Some(serde_json::from_str(&json)?),
            None => None,
        }),
        Question::EnabledRules => Answer::Rules(
            tx.enabled_reward_rules()
                .await?
                .iter()
                .map(|j| serde_json::from_str(j))
                .collect::<Result<_, _>>()?,
        ),
        Question::RuleCount => count(tx.reward_rule_count().await?),
        Question::RuleAwards(rule, m, w) => count(match row_id(m) {
            Some(m) => {
                let (day, week);
                let window = match w {
                    CapWindow::Day(d) => {
                        day = d.to_string();
                        RuleAwardWindow::Day(&day)
                    }
                    CapWindow::Week(x) => {
                        week = x.to_string();
                        RuleAwardWindow::Week(&week)
                    }
                    CapWindow::Course => RuleAwardWindow::Course,
                };
                tx.rule_award_count(rule, &m, window).await?
            }
            None => 0,
        }),
    })
}
