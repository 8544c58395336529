//! The class store, for chat, the dashboard and the API: items, buying, deciding and
//! cancelling purchases.
//!
//! Every change is an engine event (`StoreItemSaved`, `PurchaseRequested`, `PurchaseDecided`,
//! `PurchaseCancelled`) stored in the inbox with an audit entry (staff actions), then processed
//! at once like the changes of [`crate::changes`]: the engine checks stock, limits and the
//! buyer's spendable points against the state read in the processing transaction, which is
//! serialised per community, and the store's `sold` CHECK guards stock in SQL too. The checks
//! made here first only turn the common refusals into form errors; the engine decides.

use chrono::{DateTime, Utc};
use classcred_engine::store::{
    PurchaseCancelled, PurchaseDecided, PurchaseRequested, StoreItemSaved, MAX_REASON_CHARS,
};
use classcred_engine::{
    Event, MemberId, Notice, NoticeKind, Outcome, Points, PurchaseRecord, PurchaseStatus, StoreItem,
};
use classcred_store::audit::AuditRecord;
use classcred_store::class_store::{PurchaseFilter, PurchaseRow};
use classcred_store::jobs::NewJob;
use classcred_store::{CommunityId, CommunityTx, MemberKind, MemberRowId, Role, Store};
use serde::Serialize;
use serde_json::json;

use crate::changes::{acting_staff, settle, Change, ChangeError, CHANGE_PLATFORM};
use crate::{ingest, Result, ServiceError, NOTICE_JOB};

/// An item with what is sold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemView {
    #[serde(flatten)]
    pub item: StoreItem,
    /// Pending and approved purchases.
    pub sold: u32,
    /// Units left (`None`: unlimited).
    pub left: Option<u32>,
}

impl ItemView {
    /// Whether a student could buy it at `at` (enabled, not archived, in its window, in stock).
    pub fn on_sale(&self, at: DateTime<Utc>) -> bool {
        self.item.enabled
            && !self.item.archived
            && self.item.available_at(at)
            && self.left != Some(0)
    }
}

/// A purchase with its item's name (for lists).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurchaseView {
    #[serde(flatten)]
    pub purchase: PurchaseRecord,
    /// The item's name (`""` when the item does not exist).
    pub item_name: String,
    /// The buyer's name to show ("former member" once erased or unknown).
    pub member_name: String,
}

/// What a `buy` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bought {
    pub purchase_id: String,
    /// `None`: stored, but not processed yet (an older event waits; a worker applies it).
    pub status: Option<PurchaseStatus>,
    /// Why it was refused.
    pub reason: Option<String>,
    pub item: StoreItem,
    /// Spendable points after the request.
    pub spendable: Points,
}

/// The fields of an item form, already parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemInput {
    pub name: String,
    pub description: String,
    pub price: Points,
    pub stock: Option<u32>,
    pub per_student_limit: Option<u32>,
    pub available_from: Option<DateTime<Utc>>,
    pub available_until: Option<DateTime<Utc>>,
    pub needs_approval: bool,
    pub enabled: bool,
    pub archived: bool,
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// The engine's record of a stored purchase.
pub(crate) fn purchase_record(row: &PurchaseRow) -> Result<PurchaseRecord> {
    Ok(PurchaseRecord {
        purchase_id: row.purchase_id.clone(),
        member: MemberId::new(row.member_id.to_string()),
        item_id: row.item_id.clone(),
        price: Points::from_thousandths(row.price_milli),
        status: PurchaseStatus::parse(&row.status).ok_or(ServiceError::Json {
            category: "unexpected data",
            line: 0,
            column: 0,
        })?,
        requested_at: at(row.requested_at),
        decided_by: row
            .decided_by
            .as_ref()
            .map(|m| MemberId::new(m.to_string())),
        decided_at: row.decided_at.map(at),
        reason: row.reason.clone(),
    })
}

fn row_id(id: &MemberId) -> Result<MemberRowId> {
    Ok(MemberRowId::parse(id.as_str())?)
}

/// Write the store part of an outcome (item definitions, purchases) in the processing
/// transaction, and tell every Instructor and Admin about each new pending purchase.
pub(crate) async fn write_store_outcome(
    tx: &mut CommunityTx<'_, '_>,
    outcome: &Outcome,
) -> Result<()> {
    for item in &outcome.store_items {
        tx.upsert_store_item(
            &item.item_id,
            i64::from(item.number),
            &serde_json::to_string(item)?,
            item.stock.map(i64::from),
        )
        .await?;
    }
    let community_id = tx.community_id().clone();
    for p in &outcome.purchases {
        tx.save_purchase(&PurchaseRow {
            purchase_id: p.purchase_id.clone(),
            member_id: row_id(&p.member)?,
            item_id: p.item_id.clone(),
            price_milli: p.price.thousandths(),
            status: p.status.as_str().to_string(),
            reason: p.reason.clone(),
            decided_by: p.decided_by.as_ref().map(row_id).transpose()?,
            requested_at: ms(p.requested_at),
            decided_at: p.decided_at.map(ms),
        })
        .await?;
        if p.status == PurchaseStatus::Pending && p.decided_at.is_none() {
            let item = match tx.store_item_record(&p.item_id).await? {
                Some(json) => serde_json::from_str::<StoreItem>(&json)?.name,
                None => String::new(),
            };
            for staff in tx.staff_member_ids().await? {
                let notice = Notice {
                    to: MemberId::new(staff.to_string()),
                    kind: NoticeKind::PurchaseAwaitsApproval {
                        purchase_id: p.purchase_id.clone(),
                        item: item.clone(),
                        price: p.price,
                    },
                };
                let mut job = NewJob::new(
                    NOTICE_JOB,
                    json!({ "community_id": community_id, "notice": notice, "source": null }),
                );
                job.community_id = Some(community_id.clone());
                tx.enqueue(&job).await?;
            }
        }
    }
    Ok(())
}

fn invalid(field: &str, message: impl Into<String>) -> ChangeError {
    ChangeError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// How long a purchase waits for its own processing before it answers "recorded, processed in
/// a moment": chat gives a command 2.5 s, and a backlog ahead of the purchase (after an outage,
/// a burst) can take longer to process than that.
pub const BUY_SETTLE: std::time::Duration = std::time::Duration::from_millis(1500);

/// [`settle`] for at most `limit`. A drain cut short rolls back its open transaction; the
/// purchase is already in the inbox with its drain job queued, so a worker processes it (and
/// the buyer gets the engine's notice then).
async fn settle_within(store: &Store, community_id: &CommunityId, limit: std::time::Duration) {
    if tokio::time::timeout(limit, settle(store, community_id))
        .await
        .is_err()
    {
        tracing::info!(community_id = %community_id, "purchase recorded; a worker finishes processing it");
    }
}

/// Every item of the community (archived ones too), by number.
pub async fn items(store: &Store, community_id: &CommunityId) -> Result<Vec<ItemView>> {
    let mut tx = store.begin().await?;
    tx.community(community_id).await?;
    let rows = tx.for_community(community_id).store_items().await?;
    tx.rollback().await?;
    rows.into_iter()
        .map(|r| {
            let item: StoreItem = serde_json::from_str(&r.record)?;
            let sold = u32::try_from(r.sold.max(0)).unwrap_or(u32::MAX);
            Ok(ItemView {
                left: item.left(sold),
                item,
                sold,
            })
        })
        .collect()
}

/// The items a student can see in the store now (enabled, not archived, in their window).
pub async fn on_sale(store: &Store, community_id: &CommunityId) -> Result<Vec<ItemView>> {
    let now = store.clock().now();
    Ok(items(store, community_id)
        .await?
        .into_iter()
        .filter(|i| i.item.enabled && !i.item.archived && i.item.available_at(now))
        .collect())
}

/// Purchases: the approval queue (`pending`, oldest first), one member's, or all.
pub async fn purchases(
    store: &Store,
    community_id: &CommunityId,
    filter: &PurchaseFilter<'_>,
) -> Result<Vec<PurchaseView>> {
    let all = items(store, community_id).await?;
    let mut tx = store.begin().await?;
    let mut scoped = tx.for_community(community_id);
    let rows = scoped.purchases(filter).await?;
    let names: std::collections::HashMap<MemberRowId, String> = if rows.is_empty() {
        Default::default()
    } else {
        match scoped.list_members().await {
            Ok(members) => members
                .iter()
                .filter(|m| !m.platform_user_id.starts_with("erased:"))
                .map(|m| (m.id.clone(), crate::dashboard::display_name(m)))
                .collect(),
            Err(classcred_store::StoreError::Erased { .. }) => Default::default(),
            Err(e) => return Err(e.into()),
        }
    };
    tx.rollback().await?;
    rows.iter()
        .map(|r| {
            Ok(PurchaseView {
                member_name: names
                    .get(&r.member_id)
                    .cloned()
                    .unwrap_or_else(|| "former member".into()),
                purchase: purchase_record(r)?,
                item_name: all
                    .iter()
                    .find(|i| i.item.item_id == r.item_id)
                    .map(|i| i.item.name.clone())
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// Create (`item_id` `None`) or change an item. `by` must be an Admin or Instructor.
pub async fn save_item(
    store: &Store,
    community_id: &CommunityId,
    by: &MemberRowId,
    item_id: Option<&str>,
    input: ItemInput,
    now: DateTime<Utc>,
) -> std::result::Result<(String, Change), ChangeError> {
    let mut tx = store.begin().await?;
    tx.community(community_id).await?;
    let mut scoped = tx.for_community(community_id);
    let staff = acting_staff(&mut scoped, by).await?;
    let (item_id, number, before) = match item_id {
        Some(id) => {
            let json = scoped
                .store_item_record(id)
                .await?
                .ok_or(ChangeError::NotFound)?;
            let before: StoreItem = serde_json::from_str(&json).map_err(ServiceError::from)?;
            (id.to_string(), before.number, Some(before))
        }
        None => {
            let n = scoped.next_store_item_number().await?;
            (
                uuid::Uuid::now_v7().to_string(),
                u32::try_from(n).map_err(|_| invalid("name", "too many items"))?,
                None,
            )
        }
    };
    let item = StoreItem {
        item_id: item_id.clone(),
        number,
        name: input.name.trim().to_string(),
        description: input.description.trim().to_string(),
        price: input.price,
        stock: input.stock,
        per_student_limit: input.per_student_limit,
        available_from: input.available_from,
        available_until: input.available_until,
        needs_approval: input.needs_approval,
        enabled: input.enabled,
        archived: input.archived,
    };
    item.validate().map_err(|e| invalid(e.field, e.message))?;
    let sold = scoped.store_item_sold(&item_id).await?;
    if item.stock.is_some_and(|s| i64::from(s) < sold) {
        return Err(invalid(
            "stock",
            format!("{sold} already sold: the stock cannot be lower"),
        ));
    }
    if before.as_ref() == Some(&item) {
        tx.rollback().await?;
        return Ok((
            item_id,
            Change {
                event_id: None,
                applied: true,
            },
        ));
    }
    let event_id = format!("store_item:{}", uuid::Uuid::now_v7());
    let event = Event::StoreItemSaved(StoreItemSaved {
        item: item.clone(),
        by: MemberId::new(staff),
        occurred_at: now,
    });
    ingest(&mut tx, community_id, CHANGE_PLATFORM, &event_id, &event).await?;
    tx.audit(&AuditRecord {
        community_id: Some(community_id.clone()),
        actor: format!("member:{by}"),
        action: if before.is_some() {
            "store.item_change".into()
        } else {
            "store.item_create".into()
        },
        subject: Some(format!("store_item:{item_id}")),
        details: json!({ "event_id": event_id }),
    })
    .await?;
    tx.commit().await?;
    settle(store, community_id).await;
    let mut tx = store.begin().await?;
    let stored = tx
        .for_community(community_id)
        .store_item_record(&item_id)
        .await?;
    tx.rollback().await?;
    let applied = match stored {
        Some(json) => serde_json::from_str::<StoreItem>(&json).map_err(ServiceError::from)? == item,
        None => false,
    };
    Ok((
        item_id,
        Change {
            event_id: Some(event_id),
            applied,
        },
    ))
}

/// Find an item students can name: its number (`3`, `#3`) or its name (any case).
pub fn find_item<'a>(items: &'a [ItemView], what: &str) -> Option<&'a ItemView> {
    let what = what.trim();
    let visible = || items.iter().filter(|i| !i.item.archived);
    if let Ok(n) = what.trim_start_matches('#').parse::<u32>() {
        return visible().find(|i| i.item.number == n);
    }
    visible().find(|i| i.item.name.eq_ignore_ascii_case(what))
}

/// A student buys an item (by number or name) at `now` (the platform's time of the request).
/// Staff get [`ChangeError::Invalid`] on `member`; an unknown item on `item`. Refusals by the
/// rules (sold out, limit, balance, window) come back as status `refused` with the reason.
pub async fn buy(
    store: &Store,
    community_id: &CommunityId,
    member: &MemberRowId,
    what: &str,
    now: DateTime<Utc>,
) -> std::result::Result<Bought, ChangeError> {
    buy_within(store, community_id, member, what, now, BUY_SETTLE).await
}

/// [`buy`], waiting at most `limit` for the purchase to be processed: `Bought::status` is
/// `None` when it was not processed by then (recorded; a worker processes it).
pub async fn buy_within(
    store: &Store,
    community_id: &CommunityId,
    member: &MemberRowId,
    what: &str,
    now: DateTime<Utc>,
    limit: std::time::Duration,
) -> std::result::Result<Bought, ChangeError> {
    let all = items(store, community_id).await?;
    let Some(view) = find_item(&all, what) else {
        return Err(invalid(
            "item",
            "there is no such item in the store; the store command lists them with their numbers",
        ));
    };
    let item = view.item.clone();
    let mut tx = store.begin().await?;
    let mut scoped = tx.for_community(community_id);
    let (role, kind) = scoped
        .member_role_kind(member)
        .await?
        .ok_or(ChangeError::NotFound)?;
    if role != Role::Student || kind != MemberKind::Human {
        return Err(invalid(
            "member",
            "only students buy from the store; Instructors and Admins manage it on the dashboard",
        ));
    }
    let platform_id = scoped
        .platform_user_id(member)
        .await?
        .ok_or(ChangeError::NotFound)?;
    let purchase_id = uuid::Uuid::now_v7().to_string();
    let event = Event::PurchaseRequested(PurchaseRequested {
        purchase_id: purchase_id.clone(),
        member: MemberId::new(platform_id),
        item_id: item.item_id.clone(),
        occurred_at: now,
    });
    ingest(
        &mut tx,
        community_id,
        CHANGE_PLATFORM,
        &format!("purchase:{purchase_id}"),
        &event,
    )
    .await?;
    tx.commit().await?;
    settle_within(store, community_id, limit).await;
    let mut tx = store.begin().await?;
    let mut scoped = tx.for_community(community_id);
    let row = scoped.purchase(&purchase_id).await?;
    let spendable = scoped.member_points(member).await?.spendable_milli;
    tx.rollback().await?;
    let status = row.as_ref().and_then(|r| PurchaseStatus::parse(&r.status));
    Ok(Bought {
        purchase_id,
        status,
        reason: row.and_then(|r| r.reason),
        item,
        spendable: Points::from_thousandths(spendable),
    })
}

/// An Admin or Instructor approves or rejects a pending purchase (reason optional, shown to
/// the student).
pub async fn decide(
    store: &Store,
    community_id: &CommunityId,
    by: &MemberRowId,
    purchase_id: &str,
    approve: bool,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> std::result::Result<Change, ChangeError> {
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if reason.is_some_and(|r| r.chars().count() > MAX_REASON_CHARS) {
        return Err(invalid(
            "reason",
            format!("at most {MAX_REASON_CHARS} characters"),
        ));
    }
    let mut tx = store.begin().await?;
    tx.community(community_id).await?;
    let mut scoped = tx.for_community(community_id);
    let staff = acting_staff(&mut scoped, by).await?;
    let p = scoped
        .purchase(purchase_id)
        .await?
        .ok_or(ChangeError::NotFound)?;
    if p.status != "pending" {
        return Err(invalid(
            "purchase",
            format!("this purchase is already {}", p.status),
        ));
    }
    let event_id = format!("purchase_decision:{purchase_id}");
    let event = Event::PurchaseDecided(PurchaseDecided {
        purchase_id: purchase_id.to_string(),
        by: MemberId::new(staff),
        approve,
        reason: reason.map(str::to_string),
        occurred_at: now,
    });
    ingest(&mut tx, community_id, CHANGE_PLATFORM, &event_id, &event).await?;
    tx.audit(&AuditRecord {
        community_id: Some(community_id.clone()),
        actor: format!("member:{by}"),
        action: if approve {
            "store.purchase_approve".into()
        } else {
            "store.purchase_reject".into()
        },
        subject: Some(format!("member:{}", p.member_id)),
        details: json!({ "event_id": event_id, "purchase_id": purchase_id }),
    })
    .await?;
    tx.commit().await?;
    settle(store, community_id).await;
    applied(store, community_id, purchase_id, event_id).await
}

async fn applied(
    store: &Store,
    community_id: &CommunityId,
    purchase_id: &str,
    event_id: String,
) -> std::result::Result<Change, ChangeError> {
    let mut tx = store.begin().await?;
    let now = tx.for_community(community_id).purchase(purchase_id).await?;
    tx.rollback().await?;
    Ok(Change {
        event_id: Some(event_id),
        applied: now.is_some_and(|p| p.status != "pending"),
    })
}

/// The buyer withdraws a pending purchase; the points come back.
pub async fn cancel(
    store: &Store,
    community_id: &CommunityId,
    member: &MemberRowId,
    purchase_id: &str,
    now: DateTime<Utc>,
) -> std::result::Result<Change, ChangeError> {
    let mut tx = store.begin().await?;
    let mut scoped = tx.for_community(community_id);
    let p = scoped
        .purchase(purchase_id)
        .await?
        .ok_or(ChangeError::NotFound)?;
    if &p.member_id != member {
        return Err(ChangeError::NotFound);
    }
    if p.status != "pending" {
        return Err(invalid(
            "purchase",
            format!("this purchase is already {}", p.status),
        ));
    }
    let platform_id = scoped
        .platform_user_id(member)
        .await?
        .ok_or(ChangeError::NotFound)?;
    let event_id = format!("purchase_cancel:{purchase_id}");
    let event = Event::PurchaseCancelled(PurchaseCancelled {
        purchase_id: purchase_id.to_string(),
        by: MemberId::new(platform_id),
        occurred_at: now,
    });
    ingest(&mut tx, community_id, CHANGE_PLATFORM, &event_id, &event).await?;
    tx.commit().await?;
    settle(store, community_id).await;
    applied(store, community_id, purchase_id, event_id).await
}

/// The store's rows as `ledger replay` compares them.
pub(crate) struct StoredStore {
    items: Vec<classcred_store::class_store::StoreItemRow>,
    purchases: Vec<PurchaseRow>,
}

pub(crate) async fn stored_for_replay(tx: &mut CommunityTx<'_, '_>) -> Result<StoredStore> {
    Ok(StoredStore {
        items: tx.store_items().await?,
        purchases: tx
            .purchases(&PurchaseFilter {
                limit: i64::MAX,
                ..Default::default()
            })
            .await?,
    })
}

/// Items (definition and units sold) and purchases (buyer, item, price, status) as stored
/// against the replayed ones; each difference is a line (ids only).
pub(crate) fn compare_replay(
    diffs: &mut Vec<String>,
    stored: &StoredStore,
    mem: &classcred_engine::InMemoryState,
) -> Result<()> {
    use classcred_engine::StateView;
    use std::collections::BTreeMap;
    let mut replayed: BTreeMap<&str, &StoreItem> = mem
        .store_items()
        .into_iter()
        .map(|i| (i.item_id.as_str(), i))
        .collect();
    for row in &stored.items {
        let item: StoreItem = serde_json::from_str(&row.record)?;
        match replayed.remove(row.item_id.as_str()) {
            None => diffs.push(format!(
                "store item {} is stored but replay does not produce it",
                row.item_id
            )),
            Some(r) if *r != item => diffs.push(format!(
                "store item {}: stored definition differs from the replayed one",
                row.item_id
            )),
            Some(_) => {}
        }
        let sold = i64::from(mem.item_sold(&row.item_id));
        if sold != row.sold {
            diffs.push(format!(
                "store item {}: stored {} sold, replayed {sold}",
                row.item_id, row.sold
            ));
        }
    }
    for id in replayed.keys() {
        diffs.push(format!(
            "store item {id} is produced by replay but not stored"
        ));
    }
    let key = |p: &PurchaseRecord| {
        (
            p.member.to_string(),
            p.item_id.clone(),
            p.price.thousandths(),
            p.status,
        )
    };
    let mut replayed: BTreeMap<&str, &PurchaseRecord> = mem
        .purchases()
        .into_iter()
        .map(|p| (p.purchase_id.as_str(), p))
        .collect();
    for row in &stored.purchases {
        let p = purchase_record(row)?;
        match replayed.remove(row.purchase_id.as_str()) {
            None => diffs.push(format!(
                "purchase {} is stored but replay does not produce it",
                row.purchase_id
            )),
            Some(r) if key(r) != key(&p) => diffs.push(format!(
                "purchase {}: stored {} differs from the replayed {}",
                row.purchase_id,
                p.status.as_str(),
                r.status.as_str()
            )),
            Some(_) => {}
        }
    }
    for id in replayed.keys() {
        diffs.push(format!(
            "purchase {id} is produced by replay but not stored"
        ));
    }
    Ok(())
}
