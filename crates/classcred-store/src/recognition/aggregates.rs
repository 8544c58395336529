//! Maintained aggregates of the ledger (migration 0019): lifetime earned and spendable points
//! per member (`member_points`) and earned points per member per ISO week and calendar month
//! (`member_period_points`), keyed in the community's timezone (`points_period_zone`).
//!
//! Every ledger insert goes through [`CommunityTx::insert_ledger_entries`], which adds the
//! written entries here in the same transaction; a change of the community's timezone rebuilds
//! the period rows from the ledger in the transaction that changes it. Balances, leaderboards
//! and `/cred me` then read a few rows instead of summing the ledger; `ledger replay` compares
//! these rows with sums over the ledger (see [`expected_points`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate};
use chrono_tz::Tz;

use super::*;
use crate::NewLedgerEntry;

/// Rows per multi-row aggregate upsert.
const UPSERT_ROWS: usize = 400;

/// Whether a ledger entry of this kind counts as earned (purchases and refunds only move
/// spendable points).
pub fn counts_as_earned(kind: &str) -> bool {
    !matches!(kind, "purchase" | "refund")
}

/// The period key of an ISO week: `week:2026-W48`.
pub fn week_period(date: NaiveDate) -> String {
    let w = date.iso_week();
    format!("week:{}-W{:02}", w.year(), w.week())
}

/// The period key of a calendar month: `month:2026-11`.
pub fn month_period(date: NaiveDate) -> String {
    format!("month:{}-{:02}", date.year(), date.month())
}

/// The local date of an instant (ms since the epoch) in a timezone.
pub fn local_date(at_ms: i64, tz: Tz) -> NaiveDate {
    DateTime::from_timestamp_millis(at_ms)
        .unwrap_or_default()
        .with_timezone(&tz)
        .date_naive()
}

/// The timezone of a community's settings JSON (`"timezone"`, an IANA name; `UTC` when absent
/// or not a zone, as the engine's settings default).
pub fn settings_timezone(settings_json: &str) -> Tz {
    #[derive(serde::Deserialize)]
    struct Zone {
        #[serde(default)]
        timezone: Option<String>,
    }
    serde_json::from_str::<Zone>(settings_json)
        .ok()
        .and_then(|z| z.timezone)
        .and_then(|n| n.parse::<Tz>().ok())
        .unwrap_or(Tz::UTC)
}

/// A fresh random points version (never counted up: see migration 0027).
fn new_points_version() -> i64 {
    // 53 bits, as PostgreSQL's triggers draw them; positive.
    (rand::random::<u64>() >> 11) as i64
}

/// One member's lifetime totals (thousandths).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PointTotals {
    pub earned_milli: i64,
    pub spendable_milli: i64,
}

/// What the aggregate rows of a community should hold, computed from ledger rows
/// `(member, kind, amount_milli, occurred_at)`: totals per member, and earned points per
/// `(period, member)` in `tz`. Zero sums are left out.
pub fn expected_points<'a>(
    entries: impl IntoIterator<Item = (&'a str, &'a str, i64, i64)>,
    tz: Tz,
) -> ExpectedPoints {
    let mut totals: BTreeMap<String, PointTotals> = BTreeMap::new();
    let mut periods: BTreeMap<(String, String), i64> = BTreeMap::new();
    for (member, kind, amount, at) in entries {
        let t = totals.entry(member.to_string()).or_default();
        t.spendable_milli += amount;
        if counts_as_earned(kind) {
            t.earned_milli += amount;
            let date = local_date(at, tz);
            *periods
                .entry((week_period(date), member.to_string()))
                .or_default() += amount;
            *periods
                .entry((month_period(date), member.to_string()))
                .or_default() += amount;
        }
    }
    totals.retain(|_, p| *p != PointTotals::default());
    periods.retain(|_, v| *v != 0);
    (totals, periods)
}

/// Totals per member, and earned points per `(period, member)`.
pub type ExpectedPoints = (
    BTreeMap<String, PointTotals>,
    BTreeMap<(String, String), i64>,
);

/// The timezone the period rows are keyed in, and the rows as `(period, member, earned)`.
pub type PeriodRows = (Option<String>, Vec<(String, MemberRowId, i64)>);

/// Which leaderboard period to total.
#[derive(Debug, Clone, Copy)]
pub enum PointsPeriod<'a> {
    /// The whole course.
    Course,
    /// One week or month: its key ([`week_period`], [`month_period`]) in `timezone` (IANA
    /// name), and the same period as instants `[from_ms, to_ms)` for reading the ledger when the
    /// period rows are not kept in that timezone.
    Period {
        key: &'a str,
        timezone: &'a str,
        from_ms: i64,
        to_ms: i64,
    },
}

impl CommunityTx<'_, '_> {
    /// Add written ledger entries to the aggregates (same transaction).
    /// `tz`: the zone [`Self::ensure_points_zone`] returned before the entries were written.
    pub(crate) async fn add_to_points(&mut self, added: &[&NewLedgerEntry], tz: Tz) -> Result<()> {
        if added.is_empty() {
            return Ok(());
        }
        let mut totals: BTreeMap<&str, PointTotals> = BTreeMap::new();
        let mut periods: BTreeMap<(String, &str), i64> = BTreeMap::new();
        for e in added {
            let t = totals.entry(e.member_id.as_str()).or_default();
            t.spendable_milli += e.amount_milli;
            if counts_as_earned(&e.kind) {
                t.earned_milli += e.amount_milli;
                let date = local_date(e.occurred_at, tz);
                *periods
                    .entry((week_period(date), e.member_id.as_str()))
                    .or_default() += e.amount_milli;
                *periods
                    .entry((month_period(date), e.member_id.as_str()))
                    .or_default() += e.amount_milli;
            }
        }
        let totals: Vec<(&str, PointTotals)> = totals.into_iter().collect();
        for chunk in totals.chunks(UPSERT_ROWS) {
            self.upsert_member_points(chunk).await?;
        }
        let periods: Vec<(String, &str, i64)> = periods
            .into_iter()
            .filter(|(_, v)| *v != 0)
            .map(|((p, m), v)| (p, m, v))
            .collect();
        for chunk in periods.chunks(UPSERT_ROWS) {
            self.upsert_period_points(chunk).await?;
        }
        Ok(())
    }

    /// Give the community's points a new version (migration 0027), in this transaction: boards
    /// kept in memory at the old version are no longer used, in any process. Called by
    /// `insert_ledger_entries` before it writes (a read of the board inside the transaction can
    /// only come after the whole call).
    ///
    /// Once per transaction and community (a batch of processed rows writes the ledger once
    /// per row): the version only has to differ from every version a reader could have kept,
    /// and readers outside see this transaction's writes only at its commit. A board read
    /// *inside* the transaction resets this (see `student_points_shared`).
    pub(crate) async fn bump_points_version(&mut self) -> Result<()> {
        let community_id = &self.community_id.clone();
        if !self
            .scoped
            .points_bumped
            .insert(community_id.as_str().to_owned())
        {
            return Ok(());
        }
        sqlx::query("UPDATE points_period_zone SET points_version = $2 WHERE community_id = $1")
            .bind(community_id)
            .bind(new_points_version())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn upsert_member_points(&mut self, rows: &[(&str, PointTotals)]) -> Result<()> {
        let community_id = &self.community_id.clone();
        let mut sql = String::from(
            "INSERT INTO member_points (community_id, member_id, earned_milli, spendable_milli) VALUES ",
        );
        for i in 0..rows.len() {
            if i > 0 {
                sql.push(',');
            }
            let b = i * 4;
            sql.push_str(&format!("(${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4));
        }
        sql.push_str(
            " ON CONFLICT (community_id, member_id) DO UPDATE SET \
             earned_milli = member_points.earned_milli + excluded.earned_milli, \
             spendable_milli = member_points.spendable_milli + excluded.spendable_milli",
        );
        let mut q = sqlx::query(&sql);
        for (m, p) in rows {
            q = q
                .bind(community_id)
                .bind(*m)
                .bind(p.earned_milli)
                .bind(p.spendable_milli);
        }
        q.execute(&mut *self.tx).await?;
        Ok(())
    }

    async fn upsert_period_points(&mut self, rows: &[(String, &str, i64)]) -> Result<()> {
        let community_id = &self.community_id.clone();
        let mut sql = String::from(
            "INSERT INTO member_period_points (community_id, period, member_id, earned_milli) VALUES ",
        );
        for i in 0..rows.len() {
            if i > 0 {
                sql.push(',');
            }
            let b = i * 4;
            sql.push_str(&format!("(${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4));
        }
        sql.push_str(
            " ON CONFLICT (community_id, period, member_id) DO UPDATE SET \
             earned_milli = member_period_points.earned_milli + excluded.earned_milli",
        );
        let mut q = sqlx::query(&sql);
        for (p, m, v) in rows {
            q = q.bind(community_id).bind(p).bind(*m).bind(*v);
        }
        q.execute(&mut *self.tx).await?;
        Ok(())
    }

    /// The timezone the period rows are keyed in, made equal to the community's settings
    /// first: when they differ (the timezone changed, or the rows were never built) the period
    /// rows are rebuilt from the ledger in this transaction.
    pub async fn ensure_points_zone(&mut self) -> Result<Tz> {
        let community_id = &self.community_id.clone();
        // Checked once per transaction: only the settings writers change the answer, and they
        // forget it first (`forget_points_zone`).
        if let Some(tz) = self.scoped.points_zones.get(community_id.as_str()) {
            return Ok(*tz);
        }
        let row = sqlx::query(
            "SELECT c.settings AS settings, z.timezone AS timezone FROM community c \
             LEFT JOIN points_period_zone z ON z.community_id = c.id WHERE c.id = $1",
        )
        .bind(community_id)
        .fetch_optional(&mut *self.tx)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "community",
            id: community_id.to_string(),
        })?;
        let tz = settings_timezone(&row.try_get::<String, _>("settings")?);
        let kept: Option<String> = row.try_get("timezone")?;
        if kept.as_deref() != Some(tz.name()) {
            self.rebuild_period_points(tz).await?;
        }
        self.scoped
            .points_zones
            .insert(community_id.as_str().to_owned(), tz);
        Ok(tz)
    }

    /// Forget the timezone [`Self::ensure_points_zone`] checked in this transaction (the
    /// settings are about to change).
    pub(crate) fn forget_points_zone(&mut self) {
        let community_id = self.community_id.as_str().to_owned();
        self.scoped.points_zones.remove(&community_id);
    }

    /// Recompute every period row of the community from the ledger in `tz`, and record `tz`.
    async fn rebuild_period_points(&mut self, tz: Tz) -> Result<()> {
        let community_id = &self.community_id.clone();
        let rows = sqlx::query(
            "SELECT member_id, kind, amount_milli, occurred_at FROM ledger_entry WHERE community_id = $1",
        )
        .bind(community_id)
        .fetch_all(&mut *self.tx)
        .await?;
        let mut entries: Vec<(String, String, i64, i64)> = Vec::with_capacity(rows.len());
        for r in &rows {
            entries.push((
                r.try_get("member_id")?,
                r.try_get("kind")?,
                r.try_get("amount_milli")?,
                r.try_get("occurred_at")?,
            ));
        }
        drop(rows);
        let (_, periods) = expected_points(
            entries
                .iter()
                .map(|(m, k, a, t)| (m.as_str(), k.as_str(), *a, *t)),
            tz,
        );
        sqlx::query("DELETE FROM member_period_points WHERE community_id = $1")
            .bind(community_id)
            .execute(&mut *self.tx)
            .await?;
        let periods: Vec<(String, &str, i64)> = periods
            .iter()
            .map(|((p, m), v)| (p.clone(), m.as_str(), *v))
            .collect();
        for chunk in periods.chunks(UPSERT_ROWS) {
            self.upsert_period_points(chunk).await?;
        }
        sqlx::query(
            "INSERT INTO points_period_zone (community_id, timezone, points_version) \
             VALUES ($1, $2, $3) ON CONFLICT (community_id) DO UPDATE SET \
             timezone = excluded.timezone, points_version = excluded.points_version",
        )
        .bind(community_id)
        .bind(tz.name())
        .bind(new_points_version())
        .execute(&mut *self.tx)
        .await?;
        tracing::debug!(community_id = %community_id, periods = periods.len(), "period points rebuilt");
        Ok(())
    }

    /// One member's lifetime totals, from the maintained aggregate.
    pub async fn member_points(&mut self, member_id: &MemberRowId) -> Result<PointTotals> {
        let community_id = &self.community_id.clone();
        let row = sqlx::query(
            "SELECT earned_milli, spendable_milli FROM member_points \
             WHERE community_id = $1 AND member_id = $2",
        )
        .bind(community_id)
        .bind(member_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(match row {
            Some(r) => PointTotals {
                earned_milli: r.try_get("earned_milli")?,
                spendable_milli: r.try_get("spendable_milli")?,
            },
            None => PointTotals::default(),
        })
    }

    /// A member by platform user id with their role, kind and lifetime totals, in one
    /// statement (`/cred me`: one round trip instead of three). `None`: no such member.
    pub async fn member_card_by_platform(
        &mut self,
        platform_user_id: &str,
    ) -> Result<Option<(MemberRowId, Role, MemberKind, PointTotals)>> {
        let community_id = &self.community_id.clone();
        let row = sqlx::query(
            "SELECT m.id AS id, m.role AS role, m.kind AS kind, \
             COALESCE(p.earned_milli, 0) AS earned_milli, \
             COALESCE(p.spendable_milli, 0) AS spendable_milli \
             FROM member m LEFT JOIN member_points p \
             ON p.community_id = m.community_id AND p.member_id = m.id \
             WHERE m.community_id = $1 AND m.platform_user_id = $2",
        )
        .bind(community_id)
        .bind(platform_user_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.map(|r| {
            Ok((
                r.try_get("id")?,
                Role::parse(&r.try_get::<String, _>("role")?)?,
                MemberKind::parse(&r.try_get::<String, _>("kind")?)?,
                PointTotals {
                    earned_milli: r.try_get("earned_milli")?,
                    spendable_milli: r.try_get("spendable_milli")?,
                },
            ))
        })
        .transpose()
    }

    /// Every `member_points` row of the community (for the replay check).
    pub async fn member_points_rows(&mut self) -> Result<Vec<(MemberRowId, PointTotals)>> {
        let community_id = &self.community_id.clone();
        let rows = sqlx::query(
            "SELECT member_id, earned_milli, spendable_milli FROM member_points \
             WHERE community_id = $1 ORDER BY member_id",
        )
        .bind(community_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("member_id")?,
                    PointTotals {
                        earned_milli: r.try_get("earned_milli")?,
                        spendable_milli: r.try_get("spendable_milli")?,
                    },
                ))
            })
            .collect()
    }

    /// Every `member_period_points` row of the community as `(period, member, earned)`, and
    /// the timezone they are keyed in (`None`: not built yet) — for the replay check.
    pub async fn period_points_rows(&mut self) -> Result<PeriodRows> {
        let community_id = &self.community_id.clone();
        let zone: Option<String> =
            sqlx::query_scalar("SELECT timezone FROM points_period_zone WHERE community_id = $1")
                .bind(community_id)
                .fetch_optional(&mut *self.tx)
                .await?;
        let rows = sqlx::query(
            "SELECT period, member_id, earned_milli FROM member_period_points \
             WHERE community_id = $1 ORDER BY period, member_id",
        )
        .bind(community_id)
        .fetch_all(&mut *self.tx)
        .await?;
        let rows = rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get("period")?,
                    r.try_get("member_id")?,
                    r.try_get("earned_milli")?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((zone, rows))
    }

    /// Earned points per human student in a period, from the maintained aggregates (the
    /// ledger when the period rows are not kept in the period's timezone, e.g. right after an
    /// upgrade). Every student is listed, with 0 when they earned nothing; ordered by member id.
    ///
    /// Served from the process's [`BoardCache`](super::BoardCache) when the community's points
    /// version is the one the kept rows were read at (one primary-key read).
    pub async fn student_points(
        &mut self,
        period: PointsPeriod<'_>,
    ) -> Result<Vec<(MemberRowId, i64)>> {
        Ok(self.student_points_shared(period).await?.as_ref().clone())
    }

    /// [`Self::student_points`], shared with the cache.
    pub async fn student_points_shared(
        &mut self,
        period: PointsPeriod<'_>,
    ) -> Result<std::sync::Arc<Vec<(MemberRowId, i64)>>> {
        let community_id = &self.community_id.clone();
        // A write after this read in the same transaction must give a new version again (a
        // board read here may be kept under the version this transaction already set).
        self.scoped.points_bumped.remove(community_id.as_str());
        // The version first, then the rows (see the cache's documentation).
        let zone = sqlx::query(
            "SELECT timezone, points_version FROM points_period_zone WHERE community_id = $1",
        )
        .bind(community_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        let (zone, version): (Option<String>, Option<i64>) = match zone {
            Some(r) => (
                Some(r.try_get("timezone")?),
                Some(r.try_get("points_version")?),
            ),
            None => (None, None),
        };
        let cache_key = match period {
            PointsPeriod::Course => "course".to_string(),
            PointsPeriod::Period { key, timezone, .. } => format!("{key}@{timezone}"),
        };
        let store: &crate::Store = self.scoped.store;
        let boards = &store.inner.boards;
        if let Some(v) = version {
            if let Some(rows) = boards.get(community_id.as_str(), &cache_key, v) {
                return Ok(rows);
            }
        }
        // Two plain index reads merged here (the students; the period's rows), rather than a
        // join whose plan depends on the planner's statistics (a freshly loaded PostgreSQL
        // table chose a nested loop over every period row: 150 ms at 1,000 students).
        let points = match period {
            PointsPeriod::Course => {
                sqlx::query(
                    "SELECT member_id, earned_milli FROM member_points WHERE community_id = $1",
                )
                .bind(community_id)
                .fetch_all(&mut *self.tx)
                .await?
            }
            PointsPeriod::Period {
                key,
                timezone,
                from_ms,
                to_ms,
            } => {
                if zone.as_deref() != Some(timezone) {
                    // Not kept: read from the ledger, and not kept in memory either.
                    return Ok(std::sync::Arc::new(
                        self.student_earned_totals(Some(from_ms), Some(to_ms))
                            .await?,
                    ));
                }
                sqlx::query(
                    "SELECT member_id, earned_milli FROM member_period_points \
                     WHERE community_id = $1 AND period = $2",
                )
                .bind(community_id)
                .bind(key)
                .fetch_all(&mut *self.tx)
                .await?
            }
        };
        let mut earned: std::collections::HashMap<String, i64> =
            std::collections::HashMap::with_capacity(points.len());
        for r in &points {
            earned.insert(r.try_get("member_id")?, r.try_get("earned_milli")?);
        }
        let students: Vec<MemberRowId> = sqlx::query_scalar(
            "SELECT id FROM member WHERE community_id = $1 AND role = 'student' AND kind = 'human' \
             ORDER BY id",
        )
        .bind(community_id)
        .fetch_all(&mut *self.tx)
        .await?;
        let rows = std::sync::Arc::new(
            students
                .into_iter()
                .map(|m| {
                    let e = earned.get(m.as_str()).copied().unwrap_or(0);
                    (m, e)
                })
                .collect::<Vec<_>>(),
        );
        if let Some(v) = version {
            boards.put(community_id.as_str(), &cache_key, v, rows.clone());
        }
        Ok(rows)
    }
}
