//! The class store's data: item definitions, purchases and the events that change them.
//!
//! The rules (who may save an item, when a purchase is refused, what approval, rejection and
//! cancellation do) live in the engine's `store` rules module; this module holds plain data
//! and its validation only.
//!
//! ## Points
//! A purchase **reserves** its price at once: a `Purchase` ledger entry of −price, so spendable
//! drops and earned never changes. Approval finalises it (no new entry); rejection by an
//! Instructor/Admin or cancellation by the student while pending writes a `Refund` of +price.
//! Keys are derived from the purchase id (`purchase:<id>/<member>/0/purchase|refund`), so a
//! redelivered request or decision writes nothing twice.
//!
//! ## Counting
//! Stock and per-student limits count purchases that are `pending` or `approved`; `rejected`,
//! `cancelled` and `refused` ones do not. `stock` is the most units ever sold (not "units
//! left"): units left = stock − sold; it cannot be set below what is already sold.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::MemberId;
use crate::ledger::{EntryKind, IdempotencyKey};
use crate::points::Points;

/// Longest item name, in characters.
pub const MAX_NAME_CHARS: usize = 80;
/// Longest item description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 500;
/// Longest rejection reason, in characters.
pub const MAX_REASON_CHARS: usize = 300;
/// Highest price, in whole points.
pub const MAX_PRICE_POINTS: i64 = 1_000_000;
/// Highest stock.
pub const MAX_STOCK: u32 = 1_000_000;
/// Highest per-student limit.
pub const MAX_LIMIT: u32 = 1_000;
/// Longest item or purchase id.
pub const MAX_ID_LEN: usize = 64;

/// One item of a community's store, as an Instructor or Admin defined it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreItem {
    /// Our id of the item (letters, digits, `-`, `_`).
    pub item_id: String,
    /// The short number students use (`/cred buy 3`), unique in the community.
    pub number: u32,
    /// Name shown in chat and on the dashboard (instructor-written).
    pub name: String,
    /// Description (instructor-written; may be empty).
    #[serde(default)]
    pub description: String,
    /// Price, above zero.
    pub price: Points,
    /// Most units ever sold (`None`: unlimited).
    #[serde(default)]
    pub stock: Option<u32>,
    /// Most units one student may hold (pending or approved; `None`: no limit).
    #[serde(default)]
    pub per_student_limit: Option<u32>,
    /// First instant the item can be bought.
    #[serde(default)]
    pub available_from: Option<DateTime<Utc>>,
    /// Instant from which it can no longer be bought.
    #[serde(default)]
    pub available_until: Option<DateTime<Utc>>,
    /// Whether a purchase waits for an Instructor's approval.
    #[serde(default)]
    pub needs_approval: bool,
    /// Whether students can buy it now.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Archived: hidden from the store and the item list (purchases stay).
    #[serde(default)]
    pub archived: bool,
}

fn yes() -> bool {
    true
}

/// A problem with an item definition, next to the form field it concerns.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ItemError {
    /// `name`, `description`, `price`, `stock`, `per_student_limit`, `available_until`, `item_id`.
    pub field: &'static str,
    /// What is wrong, in plain words.
    pub message: String,
}

fn item_error(field: &'static str, message: impl Into<String>) -> ItemError {
    ItemError {
        field,
        message: message.into(),
    }
}

/// Whether an id is 1–64 characters of letters, digits, `-` and `_`.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl StoreItem {
    /// Checks every limit of a definition.
    pub fn validate(&self) -> Result<(), ItemError> {
        if !valid_id(&self.item_id) {
            return Err(item_error("item_id", "not a valid item id"));
        }
        if self.number == 0 {
            return Err(item_error("number", "item numbers start at 1"));
        }
        let name = self.name.trim();
        if name.is_empty() {
            return Err(item_error("name", "give the item a name"));
        }
        if name != self.name {
            return Err(item_error("name", "remove the spaces around the name"));
        }
        if self.name.chars().count() > MAX_NAME_CHARS {
            return Err(item_error(
                "name",
                format!("at most {MAX_NAME_CHARS} characters"),
            ));
        }
        if self.name.chars().any(char::is_control) {
            return Err(item_error("name", "one line, without control characters"));
        }
        if self.description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(item_error(
                "description",
                format!("at most {MAX_DESCRIPTION_CHARS} characters"),
            ));
        }
        if self.price <= Points::ZERO {
            return Err(item_error("price", "the price must be above 0"));
        }
        if self.price > Points::from_whole(MAX_PRICE_POINTS) {
            return Err(item_error(
                "price",
                format!("at most {MAX_PRICE_POINTS} points"),
            ));
        }
        if self.stock.is_some_and(|s| s > MAX_STOCK) {
            return Err(item_error("stock", format!("at most {MAX_STOCK}")));
        }
        match self.per_student_limit {
            Some(0) => {
                return Err(item_error(
                    "per_student_limit",
                    "at least 1 (leave it empty for no limit)",
                ))
            }
            Some(l) if l > MAX_LIMIT => {
                return Err(item_error(
                    "per_student_limit",
                    format!("at most {MAX_LIMIT}"),
                ))
            }
            _ => {}
        }
        if let (Some(from), Some(until)) = (self.available_from, self.available_until) {
            if until <= from {
                return Err(item_error(
                    "available_until",
                    "must be after the start of availability",
                ));
            }
        }
        Ok(())
    }

    /// Whether the availability window contains `at`.
    pub fn available_at(&self, at: DateTime<Utc>) -> bool {
        self.available_from.is_none_or(|f| at >= f) && self.available_until.is_none_or(|u| at < u)
    }

    /// Units left at `sold` units sold (`None`: unlimited).
    pub fn left(&self, sold: u32) -> Option<u32> {
        self.stock.map(|s| s.saturating_sub(sold))
    }
}

/// Where a purchase stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PurchaseStatus {
    /// Points reserved; waits for an Instructor's decision.
    Pending,
    /// Done: the points are spent.
    Approved,
    /// Refused by an Instructor/Admin: refunded.
    Rejected,
    /// Withdrawn by the student while pending: refunded.
    Cancelled,
    /// Refused by the rules at once (sold out, limit, balance...): nothing reserved.
    Refused,
}

impl PurchaseStatus {
    /// Whether the purchase counts toward stock and limits (and holds the student's points).
    pub fn counts(self) -> bool {
        matches!(self, PurchaseStatus::Pending | PurchaseStatus::Approved)
    }

    /// The lowercase name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            PurchaseStatus::Pending => "pending",
            PurchaseStatus::Approved => "approved",
            PurchaseStatus::Rejected => "rejected",
            PurchaseStatus::Cancelled => "cancelled",
            PurchaseStatus::Refused => "refused",
        }
    }

    /// Parses [`PurchaseStatus::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => PurchaseStatus::Pending,
            "approved" => PurchaseStatus::Approved,
            "rejected" => PurchaseStatus::Rejected,
            "cancelled" => PurchaseStatus::Cancelled,
            "refused" => PurchaseStatus::Refused,
            _ => return None,
        })
    }
}

/// What the engine remembers about one purchase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseRecord {
    /// The purchase id (from the request).
    pub purchase_id: String,
    /// The buyer.
    pub member: MemberId,
    /// The item bought.
    pub item_id: String,
    /// The price paid (reserved) at the time.
    pub price: Points,
    /// Where it stands.
    pub status: PurchaseStatus,
    /// Platform time of the request.
    pub requested_at: DateTime<Utc>,
    /// Who decided or cancelled it.
    #[serde(default)]
    pub decided_by: Option<MemberId>,
    /// When.
    #[serde(default)]
    pub decided_at: Option<DateTime<Utc>>,
    /// Why it was refused (the rules' words) or rejected (the Instructor's, optional).
    #[serde(default)]
    pub reason: Option<String>,
}

/// The ledger key of a purchase's reservation (`Purchase`) or refund (`Refund`).
pub fn purchase_key(purchase_id: &str, member: &MemberId, kind: EntryKind) -> IdempotencyKey {
    // Purchase ids are checked by `valid_id` (no `/`, `:` or `%`); member ids are ours.
    IdempotencyKey::from_stored(format!(
        "purchase:{purchase_id}/{}/0/{}",
        member.as_str(),
        kind.as_str()
    ))
}

/// An Instructor or Admin created or changed an item (the whole new definition).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreItemSaved {
    /// The whole definition.
    pub item: StoreItem,
    /// Who saved it.
    pub by: MemberId,
    /// When.
    pub occurred_at: DateTime<Utc>,
}

/// A student asked to buy an item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseRequested {
    /// A fresh id for the purchase (its idempotency key).
    pub purchase_id: String,
    /// The buyer.
    pub member: MemberId,
    /// The item.
    pub item_id: String,
    /// When (the platform's time of the request).
    pub occurred_at: DateTime<Utc>,
}

/// An Instructor or Admin approved or rejected a pending purchase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseDecided {
    /// The purchase.
    pub purchase_id: String,
    /// Who decided.
    pub by: MemberId,
    /// Approve (`true`) or reject.
    pub approve: bool,
    /// Optional reason shown to the student (rejections).
    #[serde(default)]
    pub reason: Option<String>,
    /// When.
    pub occurred_at: DateTime<Utc>,
}

/// The student withdrew a pending purchase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseCancelled {
    /// The purchase.
    pub purchase_id: String,
    /// Who cancelled (must be the buyer).
    pub by: MemberId,
    /// When.
    pub occurred_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item() -> StoreItem {
        StoreItem {
            item_id: "i1".into(),
            number: 1,
            name: "Deadline +24h".into(),
            description: String::new(),
            price: Points::from_whole(5),
            stock: None,
            per_student_limit: None,
            available_from: None,
            available_until: None,
            needs_approval: false,
            enabled: true,
            archived: false,
        }
    }

    #[test]
    fn validation_names_the_field() {
        assert_eq!(item().validate(), Ok(()));
        let bad = |f: fn(&mut StoreItem)| {
            let mut i = item();
            f(&mut i);
            i.validate().unwrap_err().field
        };
        assert_eq!(bad(|i| i.name = " ".into()), "name");
        assert_eq!(bad(|i| i.name = "x".repeat(81)), "name");
        assert_eq!(bad(|i| i.price = Points::ZERO), "price");
        assert_eq!(bad(|i| i.per_student_limit = Some(0)), "per_student_limit");
        assert_eq!(bad(|i| i.item_id = "a/b".into()), "item_id");
        assert_eq!(
            bad(|i| {
                i.available_from = Some(DateTime::UNIX_EPOCH);
                i.available_until = Some(DateTime::UNIX_EPOCH);
            }),
            "available_until"
        );
    }

    #[test]
    fn keys_derive_from_the_purchase() {
        let k = purchase_key("p1", &MemberId::new("m"), EntryKind::Refund);
        assert_eq!(k.as_str(), "purchase:p1/m/0/refund");
    }
}
