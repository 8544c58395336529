//! The class store in chat, the same on every platform: `store` lists what is on sale (number,
//! name, price, stock left, whether it needs approval) and the member's spendable points;
//! `buy ITEM` (the item's number or name) buys it and answers confirmed, pending approval or
//! refused with the reason. The rules are the engine's (`classcred_service::store`).

use classcred_engine::{Points, PurchaseStatus};
use classcred_service::changes::ChangeError;
use classcred_service::store::{buy as buy_item, on_sale, Bought, ItemView};

use crate::commands::CommandContext;
use crate::text::{Doc, Line};

/// One item as a store line: `#3 Deadline +24h — 5 points · 2 left · needs approval`.
pub fn item_line(i: &ItemView) -> Line {
    let mut facts = vec![format!("{} points", i.item.price)];
    match i.left {
        Some(0) => facts.push("sold out".to_owned()),
        Some(n) => facts.push(format!("{n} left")),
        None => {}
    }
    if let Some(l) = i.item.per_student_limit {
        facts.push(format!("at most {l} per student"));
    }
    if i.item.needs_approval {
        facts.push("needs approval".to_owned());
    }
    let mut line = Line::bullet()
        .code(format!("#{}", i.item.number))
        .text(" ")
        .strong(i.item.name.clone())
        .text(format!(" — {}", facts.join(" · ")));
    if !i.item.description.is_empty() {
        line = line.text(format!(" — {}", i.item.description));
    }
    line
}

async fn spendable(ctx: &CommandContext<'_>) -> anyhow::Result<Option<Points>> {
    let mut tx = ctx.store.begin().await?;
    let mut scoped = tx.for_community(&ctx.community.id);
    let Some(id) = scoped.member_id_by_platform(ctx.platform_user_id).await? else {
        tx.rollback().await?;
        return Ok(None);
    };
    let p = scoped.member_points(&id).await?.spendable_milli;
    tx.rollback().await?;
    Ok(Some(Points::from_thousandths(p)))
}

/// The items on sale now, for `store` (and the Slack adapter's Buy buttons).
pub async fn items_on_sale(ctx: &CommandContext<'_>) -> anyhow::Result<Vec<ItemView>> {
    Ok(on_sale(ctx.store, &ctx.community.id).await?)
}

/// `store`.
pub async fn store(ctx: &CommandContext<'_>) -> anyhow::Result<Doc> {
    let items = items_on_sale(ctx).await?;
    let mut d = Doc::default();
    d.push(Line::new().strong("Class store"));
    if items.is_empty() {
        d.push(Line::new().text("Nothing is on sale at the moment."));
    }
    for i in &items {
        d.push(item_line(i));
    }
    if let Some(p) = spendable(ctx).await? {
        d.push(Line::new().text(format!("You have {p} points to spend.")));
    }
    if !items.is_empty() {
        d.push(
            Line::new()
                .text("Buy with ")
                .code(format!("{} buy <number>", ctx.prefix))
                .text("."),
        );
    }
    Ok(d)
}

/// The answer to a purchase.
pub fn bought_doc(b: &Bought) -> Doc {
    let name = &b.item.name;
    let mut d = Doc::default();
    match b.status {
        Some(PurchaseStatus::Approved) => d.push(
            Line::new()
                .text("You bought ")
                .strong(name.clone())
                .text(format!(
                    " for {} points. You have {} points left to spend.",
                    b.item.price, b.spendable
                )),
        ),
        Some(PurchaseStatus::Pending) => d.push(
            Line::new()
                .text("Your purchase of ")
                .strong(name.clone())
                .text(format!(
                    " waits for an instructor's approval; {} points are reserved. You have {} \
                     points left to spend.",
                    b.item.price, b.spendable
                )),
        ),
        Some(PurchaseStatus::Refused) => d.push(Line::new().strong(name.clone()).text(format!(
            " was not bought: {}.",
            b.reason.as_deref().unwrap_or("refused")
        ))),
        _ => d.push(
            Line::new()
                .text("Your purchase of ")
                .strong(name.clone())
                .text(" is recorded and will be processed in a moment."),
        ),
    };
    d
}

/// `buy ITEM`.
pub async fn buy(ctx: &CommandContext<'_>, what: &str) -> anyhow::Result<Doc> {
    if what.trim().is_empty() {
        let mut d = Doc::default();
        d.push(
            Line::new()
                .text("Usage: ")
                .code(format!("{} buy <number>", ctx.prefix))
                .text(" — ")
                .code(format!("{} store", ctx.prefix))
                .text(" lists the items."),
        );
        return Ok(d);
    }
    let mut tx = ctx.store.begin().await?;
    let member = tx
        .for_community(&ctx.community.id)
        .member_id_by_platform(ctx.platform_user_id)
        .await?;
    tx.rollback().await?;
    let Some(member) = member else {
        return Ok(Doc::text(
            "ClassCred does not know you in this workspace yet. Try again in a minute.",
        ));
    };
    let now = ctx.store.clock().now();
    match buy_item(ctx.store, &ctx.community.id, &member, what, now).await {
        Ok(b) => Ok(bought_doc(&b)),
        Err(ChangeError::Invalid { message, .. }) => {
            Ok(Doc::text(format!("Not bought: {message}.")))
        }
        Err(ChangeError::NotFound) => Ok(Doc::text(
            "ClassCred does not know you in this workspace yet. Try again in a minute.",
        )),
        Err(e) => Err(e.into()),
    }
}
