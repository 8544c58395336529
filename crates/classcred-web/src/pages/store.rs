//! The class store on the dashboard (Admins and Instructors).
//!
//! * `GET /dashboard/store`: the approval queue (pending purchases, oldest first, each with
//!   approve and reject forms, the reason optional), the items (number, price, stock left,
//!   limits, window, status) each with its edit form, a form to add an item, and the latest
//!   purchases.
//! * `POST /dashboard/store/items` (new) and `POST /dashboard/store/items/{item_id}` (edit,
//!   also enable/disable/archive): CSRF; a refusal shows the page again (422) with the message
//!   next to its field.
//! * `POST /dashboard/store/purchases/{purchase_id}/approve|reject` (CSRF).
//! * `POST /me/store/purchases/{purchase_id}/cancel` (the buyer, CSRF): withdraw a pending one.
//!
//! Rules: `classcred_service::store` (events the engine processes, audited).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use classcred_engine::{Points, PurchaseStatus, Timezone};
use classcred_service::changes::ChangeError;
use classcred_service::store::{self as shop, ItemInput, ItemView, PurchaseView};
use classcred_store::class_store::PurchaseFilter;

use super::settings::form::{Check, Field, Submitted};
use super::{render, Chrome};
use crate::extract::{CsrfForm, Staff, Viewer};
use crate::{WebError, WebState};

const PATH: &str = "/dashboard/store";

/// One item form (new or existing).
pub struct ItemForm {
    /// `new` or the item id: the form's id prefix and action.
    pub key: String,
    pub action: String,
    pub name: Field,
    pub description: Field,
    pub price: Field,
    pub stock: Field,
    pub limit: Field,
    pub from: Field,
    pub until: Field,
    pub approval: Check,
    pub enabled: Check,
    pub archived: Check,
    /// A message with no field of its own.
    pub error: Option<String>,
}

impl ItemForm {
    /// The element id of a field of this form.
    pub fn fid(&self, f: &Field) -> String {
        format!("{}-{}", self.key, f.name)
    }
}

/// One item as a row of the list, with its form.
pub struct ItemRow {
    pub number: u32,
    pub name: String,
    pub price: String,
    pub stock: String,
    pub limit: String,
    pub window: String,
    pub status: &'static str,
    pub approval: bool,
    pub form: ItemForm,
}

/// One purchase as a row.
pub struct PurchaseRow {
    pub id: String,
    pub member_id: String,
    pub member: String,
    pub item: String,
    pub price: String,
    pub status: &'static str,
    pub requested: String,
    pub reason: Option<String>,
}

#[derive(Template)]
#[template(path = "store.html")]
struct StorePage {
    chrome: Chrome,
    csrf: String,
    queue: Vec<PurchaseRow>,
    items: Vec<ItemRow>,
    new_item: ItemForm,
    recent: Vec<PurchaseRow>,
    done: Option<&'static str>,
    /// (purchase id, message) of a refused decision.
    decision_error: Option<(String, String)>,
    reason_max: usize,
    timezone: String,
}

pub(crate) fn status_label(s: PurchaseStatus) -> &'static str {
    match s {
        PurchaseStatus::Pending => "Waiting for approval",
        PurchaseStatus::Approved => "Approved",
        PurchaseStatus::Rejected => "Rejected (refunded)",
        PurchaseStatus::Cancelled => "Cancelled (refunded)",
        PurchaseStatus::Refused => "Not bought",
    }
}

fn local(t: Option<DateTime<Utc>>, tz: &Timezone, format: &str) -> String {
    t.map(|t| t.with_timezone(&tz.tz()).format(format).to_string())
        .unwrap_or_default()
}

pub(crate) fn purchase_row(p: &PurchaseView, tz: &Timezone) -> PurchaseRow {
    PurchaseRow {
        id: p.purchase.purchase_id.clone(),
        member_id: p.purchase.member.to_string(),
        member: p.member_name.clone(),
        item: if p.item_name.is_empty() {
            "(no such item)".into()
        } else {
            p.item_name.clone()
        },
        price: p.purchase.price.to_string(),
        status: status_label(p.purchase.status),
        requested: local(Some(p.purchase.requested_at), tz, "%a %-d %b %Y, %H:%M"),
        reason: p.purchase.reason.clone(),
    }
}

fn check(name: &str, label: &str, checked: bool) -> Check {
    Check {
        name: name.into(),
        label: label.into(),
        checked,
    }
}

fn empty_form() -> ItemForm {
    ItemForm {
        key: "new".into(),
        action: format!("{PATH}/items"),
        name: Field::new("name", ""),
        description: Field::new("description", ""),
        price: Field::new("price", ""),
        stock: Field::new("stock", ""),
        limit: Field::new("per_student_limit", ""),
        from: Field::new("available_from", ""),
        until: Field::new("available_until", ""),
        approval: check("needs_approval", "Needs an instructor's approval", false),
        enabled: check("enabled", "On sale (students can buy it)", true),
        archived: check("archived", "Archived (hidden from the store)", false),
        error: None,
    }
}

fn item_form(i: &ItemView, tz: &Timezone) -> ItemForm {
    let it = &i.item;
    let num = |n: Option<u32>| n.map(|n| n.to_string()).unwrap_or_default();
    let dt = |t| local(t, tz, "%Y-%m-%dT%H:%M");
    ItemForm {
        key: format!("item-{}", it.number),
        action: format!("{PATH}/items/{}", it.item_id),
        name: Field::new("name", it.name.clone()),
        description: Field::new("description", it.description.clone()),
        price: Field::new("price", it.price.to_string()),
        stock: Field::new("stock", num(it.stock)),
        limit: Field::new("per_student_limit", num(it.per_student_limit)),
        from: Field::new("available_from", dt(it.available_from)),
        until: Field::new("available_until", dt(it.available_until)),
        approval: check(
            "needs_approval",
            "Needs an instructor's approval",
            it.needs_approval,
        ),
        enabled: check("enabled", "On sale (students can buy it)", it.enabled),
        archived: check("archived", "Archived (hidden from the store)", it.archived),
        error: None,
    }
}

fn item_row(i: &ItemView, tz: &Timezone) -> ItemRow {
    let it = &i.item;
    let window = match (it.available_from, it.available_until) {
        (None, None) => "always".to_owned(),
        (from, until) => format!(
            "{} – {}",
            local(from, tz, "%-d %b %Y %H:%M"),
            local(until, tz, "%-d %b %Y %H:%M")
        ),
    };
    ItemRow {
        number: it.number,
        name: it.name.clone(),
        price: it.price.to_string(),
        stock: match (it.stock, i.left) {
            (Some(s), Some(l)) => format!("{l} left of {s} ({} sold)", i.sold),
            _ => format!("unlimited ({} sold)", i.sold),
        },
        limit: it
            .per_student_limit
            .map_or_else(|| "none".to_owned(), |l| l.to_string()),
        window,
        status: if it.archived {
            "Archived"
        } else if it.enabled {
            "On sale"
        } else {
            "Off"
        },
        approval: it.needs_approval,
        form: item_form(i, tz),
    }
}

/// Shows the page; `form` replaces the new-item form or one item's form (by key).
async fn show(
    state: &WebState,
    viewer: &Viewer,
    done: Option<&'static str>,
    form: Option<ItemForm>,
    decision_error: Option<(String, String)>,
) -> Result<Response, WebError> {
    let tz = super::class_timezone(state, viewer).await?;
    let c = &viewer.community_id;
    let views = shop::items(&state.store, c).await?;
    let queue = shop::purchases(
        &state.store,
        c,
        &PurchaseFilter {
            statuses: &["pending"],
            oldest_first: true,
            limit: 200,
            ..Default::default()
        },
    )
    .await?;
    let recent = shop::purchases(
        &state.store,
        c,
        &PurchaseFilter {
            statuses: &["approved", "rejected", "cancelled"],
            limit: 30,
            ..Default::default()
        },
    )
    .await?;
    let failed = form.is_some() || decision_error.is_some();
    let mut new_item = empty_form();
    let mut items: Vec<ItemRow> = views.iter().map(|i| item_row(i, &tz)).collect();
    if let Some(f) = form {
        match items.iter_mut().find(|r| r.form.key == f.key) {
            Some(row) => row.form = f,
            None => new_item = f,
        }
    }
    let mut response = render(&StorePage {
        chrome: Chrome::for_viewer(viewer, "Store", PATH),
        csrf: viewer.csrf.clone(),
        queue: queue.iter().map(|p| purchase_row(p, &tz)).collect(),
        items,
        new_item,
        recent: recent.iter().map(|p| purchase_row(p, &tz)).collect(),
        done,
        decision_error,
        reason_max: classcred_engine::store::MAX_REASON_CHARS,
        timezone: tz.to_string(),
    })?;
    if failed {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

#[derive(serde::Deserialize, Default)]
pub struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

/// `GET /dashboard/store`.
pub async fn page(
    State(state): State<WebState>,
    Staff(viewer): Staff,
    Query(q): Query<DoneQuery>,
) -> Result<Response, WebError> {
    let done = match q.done.as_deref() {
        Some("created") => Some("Item added to the store."),
        Some("saved") => Some("Item saved."),
        Some("approved") => Some("Purchase approved. The student is told."),
        Some("rejected") => Some("Purchase rejected and refunded. The student is told."),
        _ => None,
    };
    show(&state, &viewer, done, None, None).await
}

/// The form's fields, parsed; errors go next to their field.
fn parse(form: &Submitted, tz: &Timezone, f: &mut ItemForm) -> Option<ItemInput> {
    f.name.value = form.text("name");
    f.description.value = form.text("description");
    f.price.value = form.text("price");
    f.stock.value = form.text("stock");
    f.limit.value = form.text("per_student_limit");
    f.from.value = form.text("available_from");
    f.until.value = form.text("available_until");
    f.approval.checked = form.checked("needs_approval");
    f.enabled.checked = form.checked("enabled");
    f.archived.checked = form.checked("archived");
    let mut ok = true;
    let price = match f.price.value.parse::<Points>() {
        Ok(p) => Some(p),
        Err(_) => {
            f.price.error = Some("Enter a number of points, e.g. 5 or 2.5.".into());
            ok = false;
            None
        }
    };
    let mut count = |field: &mut Field| -> Option<u32> {
        if field.value.is_empty() {
            return None;
        }
        match field.value.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                field.error = Some("Enter a whole number, or leave it empty.".into());
                ok = false;
                None
            }
        }
    };
    let stock = count(&mut f.stock);
    let limit = count(&mut f.limit);
    let mut when = |field: &mut Field| -> Option<DateTime<Utc>> {
        if field.value.is_empty() {
            return None;
        }
        let parsed = NaiveDateTime::parse_from_str(&field.value, "%Y-%m-%dT%H:%M")
            .ok()
            .and_then(|n| tz.tz().from_local_datetime(&n).earliest())
            .map(|t| t.with_timezone(&Utc));
        if parsed.is_none() {
            field.error =
                Some("Enter a date and time (YYYY-MM-DDTHH:MM), or leave it empty.".into());
            ok = false;
        }
        parsed
    };
    let from = when(&mut f.from);
    let until = when(&mut f.until);
    if !ok {
        return None;
    }
    Some(ItemInput {
        name: f.name.value.clone(),
        description: f.description.value.clone(),
        price: price?,
        stock,
        per_student_limit: limit,
        available_from: from,
        available_until: until,
        needs_approval: f.approval.checked,
        enabled: f.enabled.checked,
        archived: f.archived.checked,
    })
}

fn field_for<'f>(f: &'f mut ItemForm, name: &str) -> Option<&'f mut Field> {
    Some(match name {
        "name" => &mut f.name,
        "description" => &mut f.description,
        "price" => &mut f.price,
        "stock" => &mut f.stock,
        "per_student_limit" => &mut f.limit,
        "available_from" => &mut f.from,
        "available_until" => &mut f.until,
        _ => return None,
    })
}

async fn save(
    state: &WebState,
    viewer: &Viewer,
    item_id: Option<String>,
    form: Vec<(String, String)>,
) -> Result<Response, WebError> {
    let tz = super::class_timezone(state, viewer).await?;
    let form = Submitted::new(form);
    let mut f = match &item_id {
        None => empty_form(),
        Some(id) => {
            let views = shop::items(&state.store, &viewer.community_id).await?;
            let view = views
                .iter()
                .find(|v| &v.item.item_id == id)
                .ok_or(WebError::NotFound)?;
            item_form(view, &tz)
        }
    };
    let Some(input) = parse(&form, &tz, &mut f) else {
        return show(state, viewer, None, Some(f), None).await;
    };
    let now = state.store.clock().now();
    match shop::save_item(
        &state.store,
        &viewer.community_id,
        &viewer.member_id,
        item_id.as_deref(),
        input,
        now,
    )
    .await
    {
        Ok(_) => {
            let done = if item_id.is_some() {
                "saved"
            } else {
                "created"
            };
            Ok(Redirect::to(&format!("{PATH}?done={done}")).into_response())
        }
        Err(ChangeError::Invalid { field, message }) => {
            match field_for(&mut f, &field) {
                Some(x) => x.error = Some(message),
                None => f.error = Some(message),
            }
            show(state, viewer, None, Some(f), None).await
        }
        Err(e) => Err(change_error(e)),
    }
}

fn change_error(e: ChangeError) -> WebError {
    match e {
        ChangeError::NotFound => WebError::NotFound,
        ChangeError::Forbidden | ChangeError::LastAdmin => WebError::Forbidden,
        ChangeError::Service(s) => s.into(),
        ChangeError::Invalid { .. } => WebError::BadRequest("The request was refused."),
    }
}

/// `POST /dashboard/store/items`.
pub async fn create(
    State(state): State<WebState>,
    CsrfForm {
        who: Staff(viewer),
        form,
    }: CsrfForm<Staff, Vec<(String, String)>>,
) -> Result<Response, WebError> {
    save(&state, &viewer, None, form).await
}

/// `POST /dashboard/store/items/{item_id}`.
pub async fn edit(
    State(state): State<WebState>,
    Path(item_id): Path<String>,
    CsrfForm {
        who: Staff(viewer),
        form,
    }: CsrfForm<Staff, Vec<(String, String)>>,
) -> Result<Response, WebError> {
    if !classcred_engine::store::valid_id(&item_id) {
        return Err(WebError::NotFound);
    }
    save(&state, &viewer, Some(item_id), form).await
}

#[derive(serde::Deserialize)]
pub struct DecisionInput {
    #[serde(default)]
    reason: String,
}

async fn decide(
    state: &WebState,
    viewer: &Viewer,
    purchase_id: &str,
    approve: bool,
    reason: &str,
) -> Result<Response, WebError> {
    if !classcred_engine::store::valid_id(purchase_id) {
        return Err(WebError::NotFound);
    }
    let now = state.store.clock().now();
    match shop::decide(
        &state.store,
        &viewer.community_id,
        &viewer.member_id,
        purchase_id,
        approve,
        Some(reason),
        now,
    )
    .await
    {
        Ok(_) => {
            let done = if approve { "approved" } else { "rejected" };
            Ok(Redirect::to(&format!("{PATH}?done={done}#queue")).into_response())
        }
        Err(ChangeError::Invalid { message, .. }) => {
            show(
                state,
                viewer,
                None,
                None,
                Some((purchase_id.to_owned(), message)),
            )
            .await
        }
        Err(e) => Err(change_error(e)),
    }
}

/// `POST /dashboard/store/purchases/{purchase_id}/approve`.
pub async fn approve(
    State(state): State<WebState>,
    Path(purchase_id): Path<String>,
    CsrfForm {
        who: Staff(viewer),
        form,
    }: CsrfForm<Staff, DecisionInput>,
) -> Result<Response, WebError> {
    decide(&state, &viewer, &purchase_id, true, &form.reason).await
}

/// `POST /dashboard/store/purchases/{purchase_id}/reject`.
pub async fn reject(
    State(state): State<WebState>,
    Path(purchase_id): Path<String>,
    CsrfForm {
        who: Staff(viewer),
        form,
    }: CsrfForm<Staff, DecisionInput>,
) -> Result<Response, WebError> {
    decide(&state, &viewer, &purchase_id, false, &form.reason).await
}

/// A form with nothing but its CSRF token.
#[derive(serde::Deserialize)]
pub struct NoFields {}

/// `POST /me/store/purchases/{purchase_id}/cancel`: the buyer withdraws a pending purchase.
pub async fn cancel(
    State(state): State<WebState>,
    Path(purchase_id): Path<String>,
    CsrfForm { who: viewer, .. }: CsrfForm<Viewer, NoFields>,
) -> Result<Response, WebError> {
    if !classcred_engine::store::valid_id(&purchase_id) {
        return Err(WebError::NotFound);
    }
    let now = state.store.clock().now();
    match shop::cancel(
        &state.store,
        &viewer.community_id,
        &viewer.member_id,
        &purchase_id,
        now,
    )
    .await
    {
        Ok(_) | Err(ChangeError::Invalid { .. }) => {
            Ok(Redirect::to("/me#purchases").into_response())
        }
        Err(e) => Err(change_error(e)),
    }
}

/// A member's own purchases for "my data" (newest first).
pub(crate) async fn my_purchases(
    state: &WebState,
    viewer: &Viewer,
    tz: &Timezone,
) -> Result<Vec<(PurchaseRow, bool)>, WebError> {
    let mine = shop::purchases(
        &state.store,
        &viewer.community_id,
        &PurchaseFilter {
            member: Some(&viewer.member_id),
            limit: 100,
            ..Default::default()
        },
    )
    .await?;
    Ok(mine
        .iter()
        .map(|p| {
            (
                purchase_row(p, tz),
                p.purchase.status == PurchaseStatus::Pending,
            )
        })
        .collect())
}
