//! `classcred community …` and `classcred ledger …`.

use std::process::ExitCode;

use anyhow::{bail, Context};
use std::fmt::Write as _;

use classcred_engine::{Event, MemberId, Points, PointsAdjusted};
use classcred_service::{ingest, process_next, replay, Fault};
use classcred_store::audit::AuditRecord;
use classcred_store::{CommunityId, Store};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::{output, OutputFormat, TableFormat};

#[derive(Serialize)]
struct CommunityRow {
    id: CommunityId,
    name: String,
    platform: String,
    team: Option<String>,
    state: String,
    members: usize,
}

pub async fn list_communities(store: &Store, format: TableFormat) -> anyhow::Result<ExitCode> {
    let mut tx = store.begin().await?;
    let mut rows = Vec::new();
    for c in tx.list_communities().await? {
        let members = tx
            .for_community(&c.id)
            .member_ids_by_platform()
            .await?
            .len();
        rows.push(CommunityRow {
            members,
            id: c.id,
            name: c.name,
            platform: c.platform,
            team: c.platform_team_id,
            state: c.state.as_str().to_string(),
        });
    }
    tx.commit().await?;
    let mut out = String::new();
    match format {
        TableFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?,
        TableFormat::Table => {
            writeln!(
                out,
                "{:<36}  {:<8}  {:<14}  {:<8}  {:>7}  name",
                "id", "platform", "team", "state", "members"
            )?;
            for r in rows {
                writeln!(
                    out,
                    "{:<36}  {:<8}  {:<14}  {:<8}  {:>7}  {}",
                    r.id,
                    r.platform,
                    r.team.unwrap_or_default(),
                    r.state,
                    r.members,
                    r.name
                )?;
            }
        }
    }
    output::print(&out)?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct BalanceRow {
    platform_user_id: String,
    role: String,
    earned: String,
    spendable: String,
    level: i64,
    /// `human` or `bot`: bots are members (they can be mentioned) but never receive fire.
    kind: String,
}

pub async fn balances(
    store: &Store,
    community: &CommunityId,
    format: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let mut tx = store.begin().await?;
    tx.community(community)
        .await
        .with_context(|| format!("community {community}"))?;
    let rows: Vec<BalanceRow> = tx
        .for_community(community)
        .balances()
        .await?
        .into_iter()
        .map(|b| BalanceRow {
            platform_user_id: b.platform_user_id,
            role: b.role.as_str().to_string(),
            earned: Points::from_thousandths(b.earned_milli).to_string(),
            spendable: Points::from_thousandths(b.spendable_milli).to_string(),
            level: b.level,
            kind: b.kind.as_str().to_string(),
        })
        .collect();
    tx.commit().await?;
    let mut out = String::new();
    match format {
        OutputFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?,
        OutputFormat::Csv => {
            writeln!(out, "platform_user_id,role,earned,spendable,level,kind")?;
            for r in rows {
                writeln!(
                    out,
                    "{},{},{},{},{},{}",
                    r.platform_user_id, r.role, r.earned, r.spendable, r.level, r.kind
                )?;
            }
        }
        OutputFormat::Table => {
            writeln!(
                out,
                "{:<16}  {:<10}  {:>10}  {:>10}  {:>5}  {:<5}",
                "platform_user_id", "role", "earned", "spendable", "level", "kind"
            )?;
            for r in rows {
                writeln!(
                    out,
                    "{:<16}  {:<10}  {:>10}  {:>10}  {:>5}  {:<5}",
                    r.platform_user_id, r.role, r.earned, r.spendable, r.level, r.kind
                )?;
            }
        }
    }
    output::print(&out)?;
    Ok(ExitCode::SUCCESS)
}

pub async fn replay_command(store: &Store, community: &CommunityId) -> anyhow::Result<ExitCode> {
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template("replaying {bar:40} {pos}/{len} events ({eta})")
    {
        bar.set_style(style);
    }
    let report = replay(store, community, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .await?;
    bar.finish_and_clear();
    if report.matches() {
        output::print(&format!(
            "replay of {} events reproduces the stored state ({} ledger entries, balances, badges, levels)\n",
            report.events, report.ledger_entries
        ))?;
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "replay of {} events DIFFERS from the stored state in {} places:",
            report.events,
            report.differences.len()
        );
        for d in report.differences.iter().take(50) {
            eprintln!("  {d}");
        }
        Ok(ExitCode::from(1))
    }
}

/// A manual adjustment by an Admin, with a reason, through the engine (so it replays) and
/// written to the audit log.
pub async fn adjust(
    store: &Store,
    community: &CommunityId,
    by: &str,
    member: &str,
    points: &str,
    reason: &str,
) -> anyhow::Result<ExitCode> {
    let amount: Points = points
        .parse()
        .map_err(|e| anyhow::anyhow!("--points: {e}"))?;
    if reason.trim().is_empty() {
        bail!("--reason must not be empty: adjustments need a reason");
    }
    let mut tx = store.begin().await?;
    let mut scoped = tx.for_community(community);
    let Some(admin_id) = scoped.member_id_by_platform(by).await? else {
        bail!("--by {by}: no such member in community {community}");
    };
    match scoped.member_role_kind(&admin_id).await? {
        Some((classcred_store::Role::Admin, _)) => {}
        _ => bail!("--by {by}: only an Admin can adjust points"),
    }
    let Some(member_id) = scoped.member_id_by_platform(member).await? else {
        bail!("--member {member}: no such member in community {community}");
    };
    let adjustment_id = uuid_like();
    let event = Event::PointsAdjusted(PointsAdjusted {
        adjustment_id: adjustment_id.clone(),
        by: MemberId::new(by),
        member: MemberId::new(member),
        amount,
        reason: reason.to_string(),
        // The store's clock, like every other time the engine sees (tests and replays set it).
        occurred_at: store.clock().now(),
    });
    ingest(
        &mut tx,
        community,
        "cli",
        &format!("adjust:{adjustment_id}"),
        &event,
    )
    .await?;
    tx.audit(&AuditRecord {
        community_id: Some(community.clone()),
        actor: format!("member:{admin_id}"),
        action: "ledger.adjust".into(),
        subject: Some(format!("member:{member_id}")),
        details: serde_json::json!({ "adjustment_id": adjustment_id, "amount": amount.to_string() }),
    })
    .await?;
    tx.commit().await?;
    while process_next(store, community, Fault::None).await?.is_some() {}
    output::print(&format!(
        "adjusted {member} by {amount} (adjustment {adjustment_id})\n"
    ))?;
    Ok(ExitCode::SUCCESS)
}

fn uuid_like() -> String {
    use rand::Rng;
    format!("{:032x}", rand::thread_rng().gen::<u128>())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;
    use classcred_store::testing::TestDb;
    use classcred_store::ManualClock;

    /// `ledger adjust` dates the adjustment by the store's clock, like every other event the
    /// engine sees, not by the wall clock.
    #[tokio::test]
    async fn adjust_uses_the_store_clock() {
        let db = TestDb::sqlite().await;
        let at = chrono::Utc.with_ymd_and_hms(2026, 3, 4, 10, 0, 0).unwrap();
        let clock = Arc::new(ManualClock::new(at));
        let store = db
            .store_with(classcred_crypto::MasterKey::generate(), clock)
            .await;
        crate::demo::create(&store).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let community = tx.list_communities().await.unwrap()[0].id.clone();
        tx.commit().await.unwrap();
        super::adjust(
            &store,
            &community,
            "UDEMO0ADMIN",
            "UDEMO000001",
            "1",
            "test",
        )
        .await
        .unwrap();
        let occurred: Vec<i64> = sqlx::query_scalar(
            "SELECT occurred_at FROM inbox WHERE platform = 'cli' AND community_id = $1",
        )
        .bind(&community)
        .fetch_all(store.pool())
        .await
        .unwrap();
        assert_eq!(occurred, vec![at.timestamp_millis()]);
        store.close().await;
    }
}
