//! Privacy governance registers (issue 12): published policy versions and the Admins'
//! acknowledgements, the breach register with its 72-hour notification clock and the notices
//! sent, and the legal-request register.
//!
//! The policy, breach and legal-request tables are install-wide (the operator's registers);
//! `policy_ack` and `breach_notice` are per community and name Admins by member row id. The
//! operator's texts here (breach description, legal-request fields) are kept in clear: there
//! is no install-level data key (every key is a community's or a member's, destroyed by
//! erasure, and these registers must outlive erasures); the registry says so for each column
//! and the CLI asks for descriptions of systems and data categories, not of people.
//!
//! Every time is milliseconds since the epoch from the store's clock; the breach deadline is
//! an absolute instant (`reported_at + 72 h`), so daylight-saving changes in any time zone
//! cannot shift it.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{new_id, CommunityId, CommunityState, MemberRowId, Result, Store, StoreError, Tx};

/// Hours between a breach being reported and the deadline to notify.
pub const BREACH_NOTIFY_HOURS: i64 = 72;
const HOUR_MS: i64 = 3_600_000;

// ---------------------------------------------------------------------------------------------
// Policy versions
// ---------------------------------------------------------------------------------------------

/// One published version of the privacy policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyVersion {
    pub id: String,
    pub version: String,
    pub body: String,
    pub body_sha256: String,
    pub published_at: i64,
    pub published_by: String,
}

/// The numeric parts of a version (`1`, `1.2`, `2026.12.1`), trailing zeros dropped so that
/// `1` and `1.0` are the same version. Anything else is refused with a clear message.
pub fn parse_policy_version(text: &str) -> Result<Vec<u64>> {
    let t = text.trim();
    let bad = || {
        StoreError::Invalid(format!(
            "policy version {t:?} must be numbers separated by dots (e.g. 1, 1.1, 2026.12)"
        ))
    };
    if t.is_empty() || t.len() > 32 {
        return Err(bad());
    }
    let mut parts = Vec::new();
    for p in t.split('.') {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        parts.push(p.parse::<u64>().map_err(|_| bad())?);
    }
    while parts.len() > 1 && parts.last() == Some(&0) {
        parts.pop();
    }
    Ok(parts)
}

/// An Admin's acknowledgement of a version (pending while `acknowledged_at` is `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyAck {
    pub id: String,
    pub community_id: CommunityId,
    pub member_id: MemberRowId,
    pub policy_version_id: String,
    pub version: String,
    pub published_at: i64,
    pub notified_at: i64,
    pub acknowledged_at: Option<i64>,
    pub superseded_at: Option<i64>,
}

/// What [`Tx::publish_policy_version`] did: the version and the Admins to tell.
#[derive(Debug, Clone)]
pub struct PublishedPolicy {
    pub version: PolicyVersion,
    /// `(community, admin)` for every pending acknowledgement created.
    pub admins: Vec<(CommunityId, MemberRowId)>,
    /// Pending acknowledgements of older versions superseded by this one.
    pub superseded: u64,
}

fn policy_row(r: &AnyRow) -> Result<PolicyVersion> {
    Ok(PolicyVersion {
        id: r.try_get("id")?,
        version: r.try_get("version")?,
        body: r.try_get("body")?,
        body_sha256: r.try_get("body_sha256")?,
        published_at: r.try_get("published_at")?,
        published_by: r.try_get("published_by")?,
    })
}

fn ack_row(r: &AnyRow) -> Result<PolicyAck> {
    Ok(PolicyAck {
        id: r.try_get("id")?,
        community_id: r.try_get("community_id")?,
        member_id: r.try_get("member_id")?,
        policy_version_id: r.try_get("policy_version_id")?,
        version: r.try_get("version")?,
        published_at: r.try_get("published_at")?,
        notified_at: r.try_get("notified_at")?,
        acknowledged_at: r.try_get("acknowledged_at")?,
        superseded_at: r.try_get("superseded_at")?,
    })
}

const POLICY_COLUMNS: &str = "id, version, body, body_sha256, published_at, published_by";
const ACK_SELECT: &str = "SELECT a.id, a.community_id, a.member_id, a.policy_version_id, \
     v.version, v.published_at, a.notified_at, a.acknowledged_at, a.superseded_at \
     FROM policy_ack a JOIN policy_version v ON v.id = a.policy_version_id";

/// Ids of the human, not erased Admins of every active community (or of one), in order.
async fn active_admins(
    tx: &mut Tx<'_>,
    only: Option<&CommunityId>,
) -> Result<Vec<(CommunityId, MemberRowId)>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.community_id, m.id FROM member m JOIN community c ON c.id = m.community_id \
         WHERE c.state = 'active' AND m.role = 'admin' AND m.kind = 'human' \
         AND m.erased_at IS NULL AND ($1 = '' OR c.id = $1) \
         ORDER BY m.community_id, m.id",
    )
    .bind(only.map(|c| c.as_str()).unwrap_or(""))
    .fetch_all(&mut *tx.tx)
    .await?;
    rows.into_iter()
        .map(|(c, m)| {
            Ok((
                CommunityId::parse(&c).map_err(|e| StoreError::Invalid(e.to_string()))?,
                MemberRowId::parse(&m).map_err(|e| StoreError::Invalid(e.to_string()))?,
            ))
        })
        .collect()
}

impl Tx<'_> {
    /// Every published version, newest first.
    pub async fn policy_versions(&mut self) -> Result<Vec<PolicyVersion>> {
        let rows = sqlx::query(&format!(
            "SELECT {POLICY_COLUMNS} FROM policy_version ORDER BY published_at DESC, id DESC"
        ))
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(policy_row).collect()
    }

    /// The current (latest) version, if any was published.
    pub async fn current_policy_version(&mut self) -> Result<Option<PolicyVersion>> {
        Ok(self.policy_versions().await?.into_iter().next())
    }

    /// Publish `version` with `body`: refused when the version is not numeric, already
    /// published, or not greater than the current one. Supersedes every pending
    /// acknowledgement of older versions and creates one pending acknowledgement for every
    /// human Admin of every active community.
    pub async fn publish_policy_version(
        &mut self,
        version: &str,
        body: &str,
        published_by: &str,
    ) -> Result<PublishedPolicy> {
        use sha2::{Digest, Sha256};
        let version = version.trim();
        let key = parse_policy_version(version)?;
        if body.trim().is_empty() {
            return Err(StoreError::Invalid("the policy text is empty".into()));
        }
        for existing in self.policy_versions().await? {
            if existing.version == version {
                return Err(StoreError::Invalid(format!(
                    "policy version {version} is already published (on {}); publish a higher version",
                    fmt_utc(existing.published_at)
                )));
            }
            if parse_policy_version(&existing.version)? >= key {
                return Err(StoreError::Invalid(format!(
                    "policy version {version} is not greater than the published version {}; \
                     versions must increase",
                    existing.version
                )));
            }
        }
        let now = self.now_ms();
        let v = PolicyVersion {
            id: new_id(),
            version: version.to_owned(),
            body: body.to_owned(),
            body_sha256: hex::encode(Sha256::digest(body.as_bytes())),
            published_at: now,
            published_by: published_by.to_owned(),
        };
        sqlx::query(
            "INSERT INTO policy_version (id, version, body, body_sha256, published_at, published_by) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&v.id)
        .bind(&v.version)
        .bind(&v.body)
        .bind(&v.body_sha256)
        .bind(v.published_at)
        .bind(&v.published_by)
        .execute(&mut *self.tx)
        .await?;
        let superseded = sqlx::query(
            "UPDATE policy_ack SET superseded_at = $1 \
             WHERE acknowledged_at IS NULL AND superseded_at IS NULL",
        )
        .bind(now)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        let admins = active_admins(self, None).await?;
        for (community, member) in &admins {
            sqlx::query(
                "INSERT INTO policy_ack (id, community_id, member_id, policy_version_id, notified_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(new_id())
            .bind(community)
            .bind(member)
            .bind(&v.id)
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(PublishedPolicy {
            version: v,
            admins,
            superseded,
        })
    }

    /// The member's pending acknowledgements (normally at most one: publishing supersedes the
    /// older ones).
    pub async fn pending_policy_acks(
        &mut self,
        community: &CommunityId,
        member: &MemberRowId,
    ) -> Result<Vec<PolicyAck>> {
        let rows = sqlx::query(&format!(
            "{ACK_SELECT} WHERE a.community_id = $1 AND a.member_id = $2 \
             AND a.acknowledged_at IS NULL AND a.superseded_at IS NULL \
             ORDER BY v.published_at DESC, a.id"
        ))
        .bind(community)
        .bind(member)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(ack_row).collect()
    }

    /// Every acknowledgement row of a community (pending, acknowledged, superseded).
    pub async fn policy_acks(&mut self, community: &CommunityId) -> Result<Vec<PolicyAck>> {
        let rows = sqlx::query(&format!(
            "{ACK_SELECT} WHERE a.community_id = $1 ORDER BY v.published_at, a.member_id, a.id"
        ))
        .bind(community)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(ack_row).collect()
    }

    /// Record that `member` acknowledged the version `policy_version_id`. `None` when they
    /// have no pending acknowledgement of it (unknown, someone else's, already acknowledged
    /// or superseded).
    pub async fn acknowledge_policy(
        &mut self,
        community: &CommunityId,
        member: &MemberRowId,
        policy_version_id: &str,
    ) -> Result<Option<PolicyAck>> {
        let now = self.now_ms();
        let done = sqlx::query(
            "UPDATE policy_ack SET acknowledged_at = $4 WHERE community_id = $1 AND member_id = $2 \
             AND policy_version_id = $3 AND acknowledged_at IS NULL AND superseded_at IS NULL",
        )
        .bind(community)
        .bind(member)
        .bind(policy_version_id)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(None);
        }
        let row = sqlx::query(&format!(
            "{ACK_SELECT} WHERE a.community_id = $1 AND a.member_id = $2 AND a.policy_version_id = $3"
        ))
        .bind(community)
        .bind(member)
        .bind(policy_version_id)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(Some(ack_row(&row)?))
    }

    /// `(pending, acknowledged)` acknowledgement counts of a version.
    pub async fn policy_ack_counts(&mut self, policy_version_id: &str) -> Result<(i64, i64)> {
        Ok(sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(CASE WHEN acknowledged_at IS NULL AND superseded_at IS NULL \
             THEN 1 ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN acknowledged_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) \
             FROM policy_ack WHERE policy_version_id = $1",
        )
        .bind(policy_version_id)
        .fetch_one(&mut *self.tx)
        .await?)
    }
}

impl Store {
    /// The current policy version's number and publication time (ms), for `/privacy`.
    /// `None` before the first `classcred policy publish`.
    pub async fn current_policy_version_summary(&self) -> Result<Option<(String, i64)>> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT version, published_at FROM policy_version \
             ORDER BY published_at DESC, id DESC LIMIT 1",
        )
        .fetch_optional(self.pool())
        .await?;
        Ok(row)
    }
}

// ---------------------------------------------------------------------------------------------
// Breach register
// ---------------------------------------------------------------------------------------------

/// Which communities a breach touches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "scope", content = "community_id", rename_all = "lowercase")]
pub enum BreachScope {
    All,
    Community(CommunityId),
}

impl BreachScope {
    /// `all` or `community:ID`.
    pub fn parse(text: &str) -> Result<Self> {
        let t = text.trim();
        if t == "all" {
            return Ok(BreachScope::All);
        }
        match t.strip_prefix("community:") {
            Some(id) => Ok(BreachScope::Community(
                CommunityId::parse(id)
                    .map_err(|e| StoreError::Invalid(format!("scope {t:?}: {e}")))?,
            )),
            None => Err(StoreError::Invalid(format!(
                "scope must be `all` or `community:ID`, got {t:?}"
            ))),
        }
    }
}

impl std::fmt::Display for BreachScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BreachScope::All => write!(f, "all"),
            BreachScope::Community(c) => write!(f, "community:{c}"),
        }
    }
}

/// Where a breach is: `open` (the 72-hour clock runs), `notified` (every affected Admin was
/// told), `closed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BreachState {
    Open,
    Notified,
    Closed,
}

impl BreachState {
    pub fn as_str(self) -> &'static str {
        match self {
            BreachState::Open => "open",
            BreachState::Notified => "notified",
            BreachState::Closed => "closed",
        }
    }
    fn parse(s: &str) -> Result<Self> {
        match s {
            "open" => Ok(BreachState::Open),
            "notified" => Ok(BreachState::Notified),
            "closed" => Ok(BreachState::Closed),
            other => Err(StoreError::Invalid(format!(
                "unknown breach state {other:?}"
            ))),
        }
    }
}

/// One recorded breach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Breach {
    pub id: String,
    pub reported_at: i64,
    /// `reported_at` + 72 hours (absolute).
    pub deadline_at: i64,
    pub scope: BreachScope,
    pub description: String,
    pub state: BreachState,
    pub recorded_at: i64,
    pub recorded_by: String,
    pub notified_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub closed_by: Option<String>,
}

impl Breach {
    /// Milliseconds left before the deadline at `now_ms` (negative once overdue).
    pub fn ms_left(&self, now_ms: i64) -> i64 {
        self.deadline_at - now_ms
    }

    /// Whole hours left, rounded towards minus infinity (so 30 minutes overdue is -1).
    pub fn hours_left(&self, now_ms: i64) -> i64 {
        self.ms_left(now_ms).div_euclid(HOUR_MS)
    }

    /// Open (not yet notified, not closed) and past its deadline.
    pub fn is_overdue(&self, now_ms: i64) -> bool {
        self.state == BreachState::Open && self.deadline_at < now_ms
    }

    /// "41 h left" or "OVERDUE by 3 h" (hours started), for an open breach; the state
    /// otherwise.
    pub fn clock_label(&self, now_ms: i64) -> String {
        match self.state {
            BreachState::Open => {
                let left = self.ms_left(now_ms);
                if left >= 0 {
                    format!("{} h left", left / HOUR_MS)
                } else {
                    // Hours started: 1 ms late is "by 1 h".
                    format!("OVERDUE by {} h", (-left + HOUR_MS - 1) / HOUR_MS)
                }
            }
            BreachState::Notified => "notified".into(),
            BreachState::Closed => "closed".into(),
        }
    }
}

/// The deadline of a breach reported at `reported_at_ms`.
pub fn breach_deadline(reported_at_ms: i64) -> i64 {
    reported_at_ms + BREACH_NOTIFY_HOURS * HOUR_MS
}

/// A breach to record.
#[derive(Debug, Clone)]
pub struct NewBreach<'a> {
    pub reported_at: i64,
    pub scope: BreachScope,
    pub description: &'a str,
    pub recorded_by: &'a str,
}

/// The channel a breach notice went out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NoticeChannel {
    /// A chat message through the notice job.
    Chat,
    /// A Markdown/email text for the operator to send.
    Email,
}

impl NoticeChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeChannel::Chat => "chat",
            NoticeChannel::Email => "email",
        }
    }
    fn parse(s: &str) -> Result<Self> {
        match s {
            "chat" => Ok(NoticeChannel::Chat),
            "email" => Ok(NoticeChannel::Email),
            other => Err(StoreError::Invalid(format!("unknown channel {other:?}"))),
        }
    }
}

/// One notice sent about a breach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreachNotice {
    pub id: String,
    pub breach_id: String,
    pub community_id: CommunityId,
    pub member_id: MemberRowId,
    pub channel: NoticeChannel,
    pub sent_at: i64,
    pub sent_by: String,
    pub job_id: Option<String>,
}

/// The communities a breach's scope names, split into the ones whose Admins are told and the
/// ones that are not (disabled or erased), with their state.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BreachAudience {
    /// `(community, admin)` of every human, not erased Admin of an affected active community.
    pub admins: Vec<(CommunityId, MemberRowId)>,
    /// Affected communities whose Admins are not told, and why (`disabled`, `erased`).
    pub skipped: Vec<(CommunityId, &'static str)>,
}

const BREACH_COLUMNS: &str =
    "id, reported_at, deadline_at, scope, scope_community_id, description, \
     state, recorded_at, recorded_by, notified_at, closed_at, closed_by";

fn breach_row(r: &AnyRow) -> Result<Breach> {
    let scope: String = r.try_get("scope")?;
    let community: Option<CommunityId> = r.try_get("scope_community_id")?;
    let scope = match (scope.as_str(), community) {
        ("all", _) => BreachScope::All,
        ("community", Some(c)) => BreachScope::Community(c),
        _ => return Err(StoreError::Invalid("breach with an invalid scope".into())),
    };
    Ok(Breach {
        id: r.try_get("id")?,
        reported_at: r.try_get("reported_at")?,
        deadline_at: r.try_get("deadline_at")?,
        scope,
        description: r.try_get("description")?,
        state: BreachState::parse(&r.try_get::<String, _>("state")?)?,
        recorded_at: r.try_get("recorded_at")?,
        recorded_by: r.try_get("recorded_by")?,
        notified_at: r.try_get("notified_at")?,
        closed_at: r.try_get("closed_at")?,
        closed_by: r.try_get("closed_by")?,
    })
}

impl Tx<'_> {
    /// Record a breach; its deadline is `reported_at + 72 h`. A community scope must name an
    /// existing community.
    pub async fn insert_breach(&mut self, new: &NewBreach<'_>) -> Result<Breach> {
        let description = new.description.trim();
        if description.is_empty() {
            return Err(StoreError::Invalid("the description is empty".into()));
        }
        if let BreachScope::Community(c) = &new.scope {
            self.community(c).await?;
        }
        let now = self.now_ms();
        let b = Breach {
            id: new_id(),
            reported_at: new.reported_at,
            deadline_at: breach_deadline(new.reported_at),
            scope: new.scope.clone(),
            description: description.to_owned(),
            state: BreachState::Open,
            recorded_at: now,
            recorded_by: new.recorded_by.to_owned(),
            notified_at: None,
            closed_at: None,
            closed_by: None,
        };
        let (scope, community) = match &b.scope {
            BreachScope::All => ("all", None),
            BreachScope::Community(c) => ("community", Some(c.clone())),
        };
        sqlx::query(
            "INSERT INTO breach (id, reported_at, deadline_at, scope, scope_community_id, \
             description, state, recorded_at, recorded_by) \
             VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8)",
        )
        .bind(&b.id)
        .bind(b.reported_at)
        .bind(b.deadline_at)
        .bind(scope)
        .bind(community)
        .bind(&b.description)
        .bind(b.recorded_at)
        .bind(&b.recorded_by)
        .execute(&mut *self.tx)
        .await?;
        Ok(b)
    }

    /// One breach.
    pub async fn breach(&mut self, id: &str) -> Result<Option<Breach>> {
        let row = sqlx::query(&format!(
            "SELECT {BREACH_COLUMNS} FROM breach WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.as_ref().map(breach_row).transpose()
    }

    /// Breaches, earliest deadline first; closed ones only with `include_closed`.
    pub async fn breaches(&mut self, include_closed: bool) -> Result<Vec<Breach>> {
        let rows = sqlx::query(&format!(
            "SELECT {BREACH_COLUMNS} FROM breach WHERE ($1 = 1 OR state <> 'closed') \
             ORDER BY deadline_at, id"
        ))
        .bind(i64::from(include_closed))
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(breach_row).collect()
    }

    /// Who a breach's notices go to: the Admins of the affected active communities; disabled
    /// and erased communities are listed as skipped.
    pub async fn breach_audience(&mut self, breach: &Breach) -> Result<BreachAudience> {
        let communities = match &breach.scope {
            BreachScope::All => self.list_communities().await?,
            BreachScope::Community(c) => vec![self.community(c).await?],
        };
        let mut out = BreachAudience::default();
        for c in communities {
            match c.state {
                CommunityState::Active => {
                    out.admins.extend(active_admins(self, Some(&c.id)).await?);
                }
                CommunityState::Disabled => out.skipped.push((c.id, "disabled")),
                CommunityState::Erased => out.skipped.push((c.id, "erased")),
            }
        }
        Ok(out)
    }

    /// Record one notice sent. `false` (nothing written) when this Admin was already sent
    /// this breach's notice on this channel.
    pub async fn record_breach_notice(
        &mut self,
        breach_id: &str,
        community: &CommunityId,
        member: &MemberRowId,
        channel: NoticeChannel,
        sent_by: &str,
        job_id: Option<&str>,
    ) -> Result<bool> {
        let now = self.now_ms();
        let stored: Option<String> = sqlx::query_scalar(
            "INSERT INTO breach_notice (id, breach_id, community_id, member_id, channel, sent_at, \
             sent_by, job_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(new_id())
        .bind(breach_id)
        .bind(community)
        .bind(member)
        .bind(channel.as_str())
        .bind(now)
        .bind(sent_by)
        .bind(job_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(stored.is_some())
    }

    /// Whether this Admin was already sent the breach's notice on `channel`.
    pub async fn breach_notice_sent(
        &mut self,
        breach_id: &str,
        community: &CommunityId,
        member: &MemberRowId,
        channel: NoticeChannel,
    ) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM breach_notice WHERE breach_id = $1 \
             AND community_id = $2 AND member_id = $3 AND channel = $4",
        )
        .bind(breach_id)
        .bind(community)
        .bind(member)
        .bind(channel.as_str())
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(n > 0)
    }

    /// Every notice sent about a breach.
    pub async fn breach_notices(&mut self, breach_id: &str) -> Result<Vec<BreachNotice>> {
        let rows = sqlx::query(
            "SELECT id, breach_id, community_id, member_id, channel, sent_at, sent_by, job_id \
             FROM breach_notice WHERE breach_id = $1 ORDER BY community_id, member_id, channel",
        )
        .bind(breach_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(BreachNotice {
                    id: r.try_get("id")?,
                    breach_id: r.try_get("breach_id")?,
                    community_id: r.try_get("community_id")?,
                    member_id: r.try_get("member_id")?,
                    channel: NoticeChannel::parse(&r.try_get::<String, _>("channel")?)?,
                    sent_at: r.try_get("sent_at")?,
                    sent_by: r.try_get("sent_by")?,
                    job_id: r.try_get("job_id")?,
                })
            })
            .collect()
    }

    /// Mark an open breach notified (the clock stops). `false` when it is not open.
    pub async fn mark_breach_notified(&mut self, id: &str) -> Result<bool> {
        let now = self.now_ms();
        let done = sqlx::query(
            "UPDATE breach SET state = 'notified', notified_at = $2 WHERE id = $1 AND state = 'open'",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Close a breach that is not closed. `false` when unknown or already closed.
    pub async fn close_breach(&mut self, id: &str, by: &str) -> Result<bool> {
        let now = self.now_ms();
        let done = sqlx::query(
            "UPDATE breach SET state = 'closed', closed_at = $2, closed_by = $3 \
             WHERE id = $1 AND state <> 'closed'",
        )
        .bind(id)
        .bind(now)
        .bind(by)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

// ---------------------------------------------------------------------------------------------
// Legal-request register
// ---------------------------------------------------------------------------------------------

/// What the operator decided about a legal request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalDecision {
    Pending,
    Complied,
    PartiallyComplied,
    Refused,
}

impl LegalDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            LegalDecision::Pending => "pending",
            LegalDecision::Complied => "complied",
            LegalDecision::PartiallyComplied => "partially_complied",
            LegalDecision::Refused => "refused",
        }
    }
    pub fn parse(s: &str) -> Result<Self> {
        match s.trim() {
            "pending" => Ok(LegalDecision::Pending),
            "complied" => Ok(LegalDecision::Complied),
            "partially_complied" | "partial" => Ok(LegalDecision::PartiallyComplied),
            "refused" => Ok(LegalDecision::Refused),
            other => Err(StoreError::Invalid(format!(
                "decision must be pending, complied, partially_complied or refused, got {other:?}"
            ))),
        }
    }
}

/// One legal request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LegalRequest {
    pub id: String,
    pub received_at: i64,
    /// Who asked (body or office, and contact).
    pub requester: String,
    /// Under what authority (statute, warrant, court order reference).
    pub authority: String,
    /// What they asked for.
    pub scope: String,
    /// The community concerned, when it is one.
    pub community_id: Option<CommunityId>,
    /// `open` or `closed`.
    pub state: String,
    pub decision: LegalDecision,
    pub decision_note: Option<String>,
    pub decided_at: Option<i64>,
    /// What was disclosed (a description of the data, not the data).
    pub disclosed: Option<String>,
    pub disclosed_at: Option<i64>,
    pub recorded_at: i64,
    pub recorded_by: String,
    pub closed_at: Option<i64>,
    pub closed_by: Option<String>,
}

/// A legal request to record.
#[derive(Debug, Clone)]
pub struct NewLegalRequest<'a> {
    pub received_at: i64,
    pub requester: &'a str,
    pub authority: &'a str,
    pub scope: &'a str,
    pub community_id: Option<&'a CommunityId>,
    pub recorded_by: &'a str,
}

/// The outcome written when a legal request is decided or closed.
#[derive(Debug, Clone)]
pub struct LegalOutcome<'a> {
    pub decision: LegalDecision,
    pub note: Option<&'a str>,
    pub disclosed: Option<&'a str>,
    pub disclosed_at: Option<i64>,
    pub by: &'a str,
}

const LEGAL_COLUMNS: &str = "id, received_at, requester, authority, scope, community_id, state, \
     decision, decision_note, decided_at, disclosed, disclosed_at, recorded_at, recorded_by, \
     closed_at, closed_by";

fn legal_row(r: &AnyRow) -> Result<LegalRequest> {
    Ok(LegalRequest {
        id: r.try_get("id")?,
        received_at: r.try_get("received_at")?,
        requester: r.try_get("requester")?,
        authority: r.try_get("authority")?,
        scope: r.try_get("scope")?,
        community_id: r.try_get("community_id")?,
        state: r.try_get("state")?,
        decision: LegalDecision::parse(&r.try_get::<String, _>("decision")?)?,
        decision_note: r.try_get("decision_note")?,
        decided_at: r.try_get("decided_at")?,
        disclosed: r.try_get("disclosed")?,
        disclosed_at: r.try_get("disclosed_at")?,
        recorded_at: r.try_get("recorded_at")?,
        recorded_by: r.try_get("recorded_by")?,
        closed_at: r.try_get("closed_at")?,
        closed_by: r.try_get("closed_by")?,
    })
}

fn required(field: &str, value: &str) -> Result<String> {
    let t = value.trim();
    if t.is_empty() {
        return Err(StoreError::Invalid(format!("{field} is empty")));
    }
    if t.chars().count() > 4000 {
        return Err(StoreError::Invalid(format!(
            "{field} is longer than 4000 characters"
        )));
    }
    Ok(t.to_owned())
}

impl Tx<'_> {
    /// Record a legal request (decision `pending`).
    pub async fn insert_legal_request(
        &mut self,
        new: &NewLegalRequest<'_>,
    ) -> Result<LegalRequest> {
        if let Some(c) = new.community_id {
            self.community(c).await?;
        }
        let now = self.now_ms();
        let r = LegalRequest {
            id: new_id(),
            received_at: new.received_at,
            requester: required("requester", new.requester)?,
            authority: required("authority", new.authority)?,
            scope: required("scope", new.scope)?,
            community_id: new.community_id.cloned(),
            state: "open".into(),
            decision: LegalDecision::Pending,
            decision_note: None,
            decided_at: None,
            disclosed: None,
            disclosed_at: None,
            recorded_at: now,
            recorded_by: new.recorded_by.to_owned(),
            closed_at: None,
            closed_by: None,
        };
        sqlx::query(
            "INSERT INTO legal_request (id, received_at, requester, authority, scope, community_id, \
             state, decision, recorded_at, recorded_by) \
             VALUES ($1, $2, $3, $4, $5, $6, 'open', 'pending', $7, $8)",
        )
        .bind(&r.id)
        .bind(r.received_at)
        .bind(&r.requester)
        .bind(&r.authority)
        .bind(&r.scope)
        .bind(&r.community_id)
        .bind(r.recorded_at)
        .bind(&r.recorded_by)
        .execute(&mut *self.tx)
        .await?;
        Ok(r)
    }

    /// One legal request.
    pub async fn legal_request(&mut self, id: &str) -> Result<Option<LegalRequest>> {
        let row = sqlx::query(&format!(
            "SELECT {LEGAL_COLUMNS} FROM legal_request WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.as_ref().map(legal_row).transpose()
    }

    /// Legal requests, oldest first; closed ones only with `include_closed`.
    pub async fn legal_requests(&mut self, include_closed: bool) -> Result<Vec<LegalRequest>> {
        let rows = sqlx::query(&format!(
            "SELECT {LEGAL_COLUMNS} FROM legal_request WHERE ($1 = 1 OR state = 'open') \
             ORDER BY received_at, id"
        ))
        .bind(i64::from(include_closed))
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(legal_row).collect()
    }

    /// Decide and close an open legal request. `None` when unknown or already closed. A
    /// closing decision must not be `pending`; a disclosure needs a decision that complied.
    pub async fn close_legal_request(
        &mut self,
        id: &str,
        outcome: &LegalOutcome<'_>,
    ) -> Result<Option<LegalRequest>> {
        if outcome.decision == LegalDecision::Pending {
            return Err(StoreError::Invalid(
                "a legal request is closed with a decision: complied, partially_complied or refused"
                    .into(),
            ));
        }
        let disclosed = outcome
            .disclosed
            .map(|d| required("disclosed", d))
            .transpose()?;
        if disclosed.is_some() && outcome.decision == LegalDecision::Refused {
            return Err(StoreError::Invalid(
                "a refused request discloses nothing; drop --disclosed or change the decision"
                    .into(),
            ));
        }
        if disclosed.is_none() && outcome.disclosed_at.is_some() {
            return Err(StoreError::Invalid(
                "a disclosure time needs a description of what was disclosed".into(),
            ));
        }
        let now = self.now_ms();
        let disclosed_at = disclosed
            .as_ref()
            .map(|_| outcome.disclosed_at.unwrap_or(now));
        let done = sqlx::query(
            "UPDATE legal_request SET state = 'closed', decision = $2, decision_note = $3, \
             decided_at = $4, disclosed = $5, disclosed_at = $6, closed_at = $4, closed_by = $7 \
             WHERE id = $1 AND state = 'open'",
        )
        .bind(id)
        .bind(outcome.decision.as_str())
        .bind(outcome.note.map(str::trim).filter(|n| !n.is_empty()))
        .bind(now)
        .bind(disclosed)
        .bind(disclosed_at)
        .bind(outcome.by)
        .execute(&mut *self.tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(None);
        }
        self.legal_request(id).await
    }
}

/// A UTC time for messages, `2026-03-28 09:00 UTC`.
pub fn fmt_utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// A time in a time zone for people, `2026-03-31 10:00 BST`.
pub fn fmt_in_zone(ms: i64, tz: &chrono_tz::Tz) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.with_timezone(tz).format("%Y-%m-%d %H:%M %Z").to_string())
        .unwrap_or_else(|| ms.to_string())
}
