//! The generic, registry-driven reader behind full exports, and the `export_job` rows.
//!
//! For one community, [`Store::export_page`] reads one page of one exported table (the rules in
//! [`crate::registry::export`]): the exported columns as JSON values, encrypted ones opened
//! with the key [`crate::sealed_by`] names (a destroyed key gives `null` and the column is
//! listed in [`ExportRow::erased`]). Pages are read by keyset on the table's primary key, each in
//! its own short transaction, so a big table never sits in memory and the database is never
//! held for the whole export. A member subset keeps the rows whose owner columns name the member.

use serde::Serialize;
use serde_json::Value;
use sqlx::any::AnyTypeInfoKind;
use sqlx::{Row, ValueRef as _};

use crate::registry::export::{ColumnExport, TableExport, TableScope};
use crate::{
    sealed_by, CommunityId, CommunityTx, MemberRowId, Result, SealedBy, Store, StoreError, Tx,
};

/// Whose data an export holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportSubject {
    /// Everything of the community.
    Community,
    /// The rows about or written by one member.
    Member(MemberRowId),
}

/// One exported row: `(column, value)` in registry order (decrypted columns are named without
/// their `_enc` suffix) and its keyset position.
#[derive(Debug, Clone)]
pub struct ExportRow {
    pub values: Vec<(String, Value)>,
    /// Decrypted columns whose key was destroyed (their value is `null`).
    pub erased: Vec<String>,
    /// The row's primary key, for the next page.
    pub key: Vec<Value>,
}

/// The output name of an exported column: sealed columns lose their `_enc` suffix.
pub fn output_column_name(column: &str, rule: ColumnExport) -> String {
    match rule {
        ColumnExport::Decrypted => column.strip_suffix("_enc").unwrap_or(column).to_owned(),
        _ => column.to_owned(),
    }
}

struct Plan {
    sql_where: String,
    binds: Vec<String>,
}

fn plan(community: &CommunityId, rule: &TableExport, subject: &ExportSubject) -> Result<Plan> {
    let TableScope::Community { column } = rule.scope else {
        return Err(StoreError::Invalid(format!(
            "table {} is not exported",
            rule.table
        )));
    };
    let mut binds = vec![community.as_str().to_owned()];
    let mut sql_where = format!("{column} = $1");
    if let ExportSubject::Member(m) = subject {
        if rule.owners.is_empty() {
            // No row of this table belongs to one member.
            sql_where.push_str(" AND 1 = 0");
        } else {
            let mut ors = Vec::new();
            for o in rule.owners {
                binds.push(format!("{}{}", o.prefix, m.as_str()));
                ors.push(format!("{} = ${}", o.column, binds.len()));
            }
            sql_where.push_str(&format!(" AND ({})", ors.join(" OR ")));
        }
    }
    Ok(Plan { sql_where, binds })
}

fn value_at(row: &sqlx::any::AnyRow, i: usize) -> Result<Value> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let kind = raw.type_info().kind();
    Ok(match kind {
        AnyTypeInfoKind::Null => Value::Null,
        AnyTypeInfoKind::Bool => Value::Bool(row.try_get::<bool, _>(i)?),
        AnyTypeInfoKind::SmallInt => Value::from(row.try_get::<i16, _>(i)?),
        AnyTypeInfoKind::Integer => Value::from(row.try_get::<i32, _>(i)?),
        AnyTypeInfoKind::BigInt => Value::from(row.try_get::<i64, _>(i)?),
        AnyTypeInfoKind::Real => Value::from(f64::from(row.try_get::<f32, _>(i)?)),
        AnyTypeInfoKind::Double => Value::from(row.try_get::<f64, _>(i)?),
        AnyTypeInfoKind::Text => Value::String(row.try_get::<String, _>(i)?),
        AnyTypeInfoKind::Blob => {
            let b: Vec<u8> = row.try_get(i)?;
            Value::String(hex::encode(b))
        }
    })
}

impl Store {
    /// How many rows of `rule`'s table an export of `subject` holds.
    pub async fn export_count(
        &self,
        community: &CommunityId,
        rule: &TableExport,
        subject: &ExportSubject,
    ) -> Result<u64> {
        let p = plan(community, rule, subject)?;
        let sql = format!(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM {} WHERE {}",
            rule.table, p.sql_where
        );
        let mut q = sqlx::query(&sql);
        for b in &p.binds {
            q = q.bind(b.clone());
        }
        let mut tx = self.begin().await?;
        let n: i64 = q.fetch_one(&mut *tx.tx).await?.try_get("n")?;
        tx.commit().await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// One page (at most `limit` rows, primary-key order) of `rule`'s table after `after` (the
    /// `key` of the last row of the previous page). `columns` are the exported columns with
    /// their rules ([`crate::registry::export::exported_tables`]).
    pub async fn export_page(
        &self,
        community: &CommunityId,
        rule: &TableExport,
        columns: &[(&'static str, ColumnExport)],
        subject: &ExportSubject,
        after: Option<&[Value]>,
        limit: u32,
    ) -> Result<Vec<ExportRow>> {
        let p = plan(community, rule, subject)?;
        let mut select: Vec<&str> = Vec::new();
        let add = |c: &'static str, select: &mut Vec<&'static str>| {
            if !select.contains(&c) {
                select.push(c);
            }
        };
        for (c, r) in columns {
            add(c, &mut select);
            if *r == ColumnExport::Decrypted {
                add("id", &mut select);
                if let Some(SealedBy::Member { owner_column }) = sealed_by(rule.table, c) {
                    add(owner_column, &mut select);
                }
            }
        }
        for k in rule.key {
            add(k, &mut select);
        }
        let mut binds: Vec<Value> = p.binds.iter().cloned().map(Value::String).collect();
        let mut sql_where = p.sql_where.clone();
        if let Some(after) = after {
            if after.len() != rule.key.len() {
                return Err(StoreError::Invalid(format!(
                    "export page of {}: the position has {} values, the key {}",
                    rule.table,
                    after.len(),
                    rule.key.len()
                )));
            }
            let mut places = Vec::new();
            for v in after {
                binds.push(v.clone());
                places.push(format!("${}", binds.len()));
            }
            if rule.key.len() == 1 {
                sql_where.push_str(&format!(" AND {} > {}", rule.key[0], places[0]));
            } else {
                sql_where.push_str(&format!(
                    " AND ({}) > ({})",
                    rule.key.join(", "),
                    places.join(", ")
                ));
            }
        }
        let sql = format!(
            "SELECT {} FROM {} WHERE {sql_where} ORDER BY {} LIMIT {limit}",
            select.join(", "),
            rule.table,
            rule.key.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for b in binds {
            q = match b {
                Value::Number(n) if n.is_i64() => q.bind(n.as_i64().unwrap_or_default()),
                Value::String(s) => q.bind(s),
                other => q.bind(other.to_string()),
            };
        }
        let mut tx = self.begin().await?;
        let rows = q.fetch_all(&mut *tx.tx).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(export_row(&mut tx, community, rule, columns, &select, row).await?);
        }
        tx.commit().await?;
        Ok(out)
    }
}

async fn export_row(
    tx: &mut Tx<'_>,
    community: &CommunityId,
    rule: &TableExport,
    columns: &[(&'static str, ColumnExport)],
    select: &[&'static str],
    row: &sqlx::any::AnyRow,
) -> Result<ExportRow> {
    let idx = |c: &str| select.iter().position(|s| *s == c).unwrap_or(0);
    let text =
        |c: &str| -> Result<Option<String>> { Ok(row.try_get::<Option<String>, _>(idx(c))?) };
    let mut values = Vec::with_capacity(columns.len());
    let mut erased = Vec::new();
    for (c, r) in columns {
        let name = output_column_name(c, *r);
        let v = match r {
            ColumnExport::Stored => value_at(row, idx(c))?,
            ColumnExport::Json => match value_at(row, idx(c))? {
                Value::String(s) => serde_json::from_str(&s).unwrap_or(Value::String(s)),
                other => other,
            },
            ColumnExport::Decrypted => {
                let sealed: Option<Vec<u8>> = row.try_get(idx(c))?;
                match sealed {
                    None => Value::Null,
                    Some(sealed) => {
                        let row_id = text("id")?.unwrap_or_default();
                        let owner = match sealed_by(rule.table, c) {
                            Some(SealedBy::Member { owner_column }) => text(owner_column)?,
                            _ => None,
                        };
                        match tx
                            .open_sealed(
                                community,
                                rule.table,
                                c,
                                &row_id,
                                owner.as_deref(),
                                &sealed,
                            )
                            .await?
                        {
                            Some(plain) => {
                                Value::String(String::from_utf8(plain).unwrap_or_else(|e| {
                                    String::from_utf8_lossy(e.as_bytes()).into_owned()
                                }))
                            }
                            None => {
                                erased.push(name.clone());
                                Value::Null
                            }
                        }
                    }
                }
            }
            ColumnExport::Omitted { .. } => continue,
        };
        values.push((name, v));
    }
    let mut key = Vec::with_capacity(rule.key.len());
    for k in rule.key {
        key.push(value_at(row, idx(k))?);
    }
    Ok(ExportRow {
        values,
        erased,
        key,
    })
}

// ---------------------------------------------------------------------------------------------
// export_job rows

/// A full export: who asked, whose data, who may download it, and how far the build is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportJobRecord {
    pub id: String,
    pub community_id: CommunityId,
    /// `community` or `member`.
    pub kind: String,
    /// The member a member export is about.
    pub member_id: Option<MemberRowId>,
    /// The only member who may download the archive.
    pub recipient_member_id: MemberRowId,
    pub requested_by: Option<String>,
    /// `queued`, `running`, `done`, `failed` or `expired`.
    pub state: String,
    pub progress_done: i64,
    pub progress_total: i64,
    pub file_name: Option<String>,
    pub sha256: Option<String>,
    pub size: Option<i64>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    pub expires_at: i64,
    pub purged_at: Option<i64>,
}

impl ExportJobRecord {
    pub fn subject(&self) -> ExportSubject {
        match &self.member_id {
            Some(m) if self.kind == "member" => ExportSubject::Member(m.clone()),
            _ => ExportSubject::Community,
        }
    }
}

const EXPORT_JOB_COLUMNS: &str = "id, community_id, kind, member_id, recipient_member_id, \
     requested_by, state, progress_done, progress_total, file_name, sha256, size, created_at, \
     finished_at, expires_at, purged_at";

fn export_job_from_row(r: &sqlx::any::AnyRow) -> Result<ExportJobRecord> {
    Ok(ExportJobRecord {
        id: r.try_get("id")?,
        community_id: r.try_get("community_id")?,
        kind: r.try_get("kind")?,
        member_id: r.try_get("member_id")?,
        recipient_member_id: r.try_get("recipient_member_id")?,
        requested_by: r.try_get("requested_by")?,
        state: r.try_get("state")?,
        progress_done: r.try_get("progress_done")?,
        progress_total: r.try_get("progress_total")?,
        file_name: r.try_get("file_name")?,
        sha256: r.try_get("sha256")?,
        size: r.try_get("size")?,
        created_at: r.try_get("created_at")?,
        finished_at: r.try_get("finished_at")?,
        expires_at: r.try_get("expires_at")?,
        purged_at: r.try_get("purged_at")?,
    })
}

impl CommunityTx<'_, '_> {
    /// Record a new queued export of this community (the caller enqueues its build job in the
    /// same transaction).
    pub async fn insert_export_job(
        &mut self,
        subject: &ExportSubject,
        recipient: &MemberRowId,
        requested_by: Option<&str>,
        expires_at: i64,
    ) -> Result<ExportJobRecord> {
        let community_id = self.community_id.clone();
        let (kind, member) = match subject {
            ExportSubject::Community => ("community", None),
            ExportSubject::Member(m) => ("member", Some(m.clone())),
        };
        let rec = ExportJobRecord {
            id: crate::new_id(),
            community_id: community_id.clone(),
            kind: kind.to_owned(),
            member_id: member,
            recipient_member_id: recipient.clone(),
            requested_by: requested_by.map(str::to_owned),
            state: "queued".into(),
            progress_done: 0,
            progress_total: 0,
            file_name: None,
            sha256: None,
            size: None,
            created_at: self.now_ms(),
            finished_at: None,
            expires_at,
            purged_at: None,
        };
        sqlx::query(
            "INSERT INTO export_job (id, community_id, kind, member_id, recipient_member_id, \
             requested_by, state, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8)",
        )
        .bind(&rec.id)
        .bind(&community_id)
        .bind(kind)
        .bind(rec.member_id.clone())
        .bind(recipient)
        .bind(rec.requested_by.clone())
        .bind(rec.created_at)
        .bind(expires_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(rec)
    }

    /// One export of this community (`None` for an unknown id or another community's).
    pub async fn export_job(&mut self, id: &str) -> Result<Option<ExportJobRecord>> {
        let community_id = self.community_id.clone();
        let sql = format!(
            "SELECT {EXPORT_JOB_COLUMNS} FROM export_job WHERE community_id = $1 AND id = $2"
        );
        let row = sqlx::query(&sql)
            .bind(&community_id)
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(export_job_from_row).transpose()
    }

    /// This community's exports, newest first (at most `limit`), optionally only those a
    /// member may download.
    pub async fn list_export_jobs(
        &mut self,
        recipient: Option<&MemberRowId>,
        limit: i64,
    ) -> Result<Vec<ExportJobRecord>> {
        let community_id = self.community_id.clone();
        let sql = format!(
            "SELECT {EXPORT_JOB_COLUMNS} FROM export_job WHERE community_id = $1 \
             AND ($2 = '' OR recipient_member_id = $2) ORDER BY created_at DESC, id DESC LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(&community_id)
            .bind(recipient.map(|m| m.as_str().to_owned()).unwrap_or_default())
            .bind(limit)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(export_job_from_row).collect()
    }

    /// Update the state and progress of one export of this community.
    pub async fn update_export_job(&mut self, update: &ExportJobUpdate) -> Result<bool> {
        let community_id = self.community_id.clone();
        let done = sqlx::query(
            "UPDATE export_job SET state = $3, progress_done = $4, progress_total = $5, \
             file_name = COALESCE($6, file_name), sha256 = COALESCE($7, sha256), \
             size = COALESCE($8, size), finished_at = COALESCE($9, finished_at), \
             purged_at = COALESCE($10, purged_at) \
             WHERE community_id = $1 AND id = $2",
        )
        .bind(&community_id)
        .bind(&update.id)
        .bind(&update.state)
        .bind(update.progress_done)
        .bind(update.progress_total)
        .bind(update.file_name.clone())
        .bind(update.sha256.clone())
        .bind(update.size)
        .bind(update.finished_at)
        .bind(update.purged_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// A change to an export row ([`CommunityTx::update_export_job`]); `None` keeps a value.
#[derive(Debug, Clone, Default)]
pub struct ExportJobUpdate {
    pub id: String,
    pub state: String,
    pub progress_done: i64,
    pub progress_total: i64,
    pub file_name: Option<String>,
    pub sha256: Option<String>,
    pub size: Option<i64>,
    pub finished_at: Option<i64>,
    pub purged_at: Option<i64>,
}

impl Tx<'_> {
    /// Exports of every community whose link expired at `now_ms` and whose file was not purged
    /// yet (any state but already expired).
    pub async fn expired_export_jobs(&mut self, now_ms: i64) -> Result<Vec<ExportJobRecord>> {
        let sql = format!(
            "SELECT {EXPORT_JOB_COLUMNS} FROM export_job \
             WHERE expires_at <= $1 AND purged_at IS NULL ORDER BY expires_at LIMIT 500"
        );
        let rows = sqlx::query(&sql)
            .bind(now_ms)
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter().map(export_job_from_row).collect()
    }

    /// Whether an export job row with this id still exists (in any community). A file in the
    /// export directory whose row is gone (its member or community was erased) is swept.
    pub async fn export_job_exists(&mut self, id: &str) -> Result<bool> {
        let n: i64 =
            sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM export_job WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *self.tx)
                .await?;
        Ok(n > 0)
    }
}
