//! Privacy governance use cases (issue 12): publishing a policy version and the Admins'
//! acknowledgements, the breach register and its notices, the legal-request register.
//!
//! Each use case is one transaction: the register row, the notice jobs it sends (through the
//! ordinary notice path, [`NOTICE_JOB`]) and its audit entries commit together or not at all.
//! The operator acts through the CLI and is audited as actor `operator`; an Admin's
//! acknowledgement is audited as `member:<id>` in their community.

use chrono::{DateTime, Utc};
use classcred_engine::{MemberId, Notice, NoticeKind};
use classcred_store::audit::AuditRecord;
use classcred_store::governance::{
    fmt_utc, Breach, BreachAudience, BreachScope, LegalOutcome, LegalRequest, NewBreach,
    NewLegalRequest, NoticeChannel, PolicyAck, PublishedPolicy,
};
use classcred_store::jobs::NewJob;
use classcred_store::{CommunityId, MemberRowId, Store, StoreError, Tx};
use serde_json::json;

use crate::NOTICE_JOB;

/// The actor of operator actions in the audit chain.
pub const OPERATOR: &str = "operator";

pub const AUDIT_POLICY_PUBLISHED: &str = "policy.publish";
pub const AUDIT_POLICY_ACKNOWLEDGED: &str = "policy.acknowledge";
pub const AUDIT_BREACH_RECORDED: &str = "breach.record";
pub const AUDIT_BREACH_NOTICE: &str = "breach.notice";
pub const AUDIT_BREACH_NOTIFIED: &str = "breach.notified";
pub const AUDIT_BREACH_CLOSED: &str = "breach.close";
pub const AUDIT_LEGAL_RECORDED: &str = "legal_request.record";
pub const AUDIT_LEGAL_DECIDED: &str = "legal_request.decide";
pub const AUDIT_LEGAL_DISCLOSED: &str = "legal_request.disclose";
pub const AUDIT_LEGAL_CLOSED: &str = "legal_request.close";

fn notice_job(community: &CommunityId, to: &MemberRowId, kind: NoticeKind) -> NewJob {
    let notice = Notice {
        to: MemberId::new(to.as_str()),
        kind,
    };
    let mut job = NewJob::new(
        NOTICE_JOB,
        json!({ "community_id": community, "notice": notice, "source": null }),
    );
    job.community_id = Some(community.clone());
    job
}

fn day_of(ms: i64) -> chrono::NaiveDate {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .date_naive()
}

// ---------------------------------------------------------------------------------------------
// Policy
// ---------------------------------------------------------------------------------------------

/// Publish a policy version: store it, create one pending acknowledgement per Admin of every
/// active community, queue a chat notice to each, audit (install-wide, and per community with
/// the Admins told).
pub async fn publish_policy(
    store: &Store,
    version: &str,
    body: &str,
) -> Result<PublishedPolicy, StoreError> {
    let mut tx = store.begin().await?;
    let published = tx.publish_policy_version(version, body, OPERATOR).await?;
    let v = &published.version;
    for (community, admin) in &published.admins {
        tx.enqueue(&notice_job(
            community,
            admin,
            NoticeKind::PolicyPublished {
                version: v.version.clone(),
                published: day_of(v.published_at),
            },
        ))
        .await?;
    }
    tx.audit(&AuditRecord {
        community_id: None,
        actor: OPERATOR.into(),
        action: AUDIT_POLICY_PUBLISHED.into(),
        subject: Some(format!("policy_version:{}", v.id)),
        details: json!({
            "version": v.version,
            "body_sha256": v.body_sha256,
            "admins_told": published.admins.len(),
            "superseded": published.superseded,
        }),
    })
    .await?;
    tx.commit().await?;
    tracing::info!(policy_version_id = %v.id, admins = published.admins.len(), "policy version published");
    Ok(published)
}

/// `member` acknowledges the version `policy_version_id`; audited in their community.
/// `None` when they had no pending acknowledgement of it.
pub async fn acknowledge_policy(
    store: &Store,
    community: &CommunityId,
    member: &MemberRowId,
    policy_version_id: &str,
) -> Result<Option<PolicyAck>, StoreError> {
    let mut tx = store.begin().await?;
    let Some(ack) = tx
        .acknowledge_policy(community, member, policy_version_id)
        .await?
    else {
        tx.rollback().await?;
        return Ok(None);
    };
    tx.audit(&AuditRecord {
        community_id: Some(community.clone()),
        actor: format!("member:{member}"),
        action: AUDIT_POLICY_ACKNOWLEDGED.into(),
        subject: Some(format!("policy_version:{policy_version_id}")),
        details: json!({
            "version": ack.version,
            "acknowledged_at": ack.acknowledged_at,
        }),
    })
    .await?;
    tx.commit().await?;
    Ok(Some(ack))
}

/// The member's pending acknowledgement to show in the dashboard banner (the newest).
pub async fn pending_policy(
    store: &Store,
    community: &CommunityId,
    member: &MemberRowId,
) -> Result<Option<PolicyAck>, StoreError> {
    let mut tx = store.begin().await?;
    let pending = tx.pending_policy_acks(community, member).await?;
    tx.commit().await?;
    Ok(pending.into_iter().next())
}

// ---------------------------------------------------------------------------------------------
// Breach register
// ---------------------------------------------------------------------------------------------

/// Record a breach (deadline reported-at + 72 h) and audit it (without the description).
pub async fn record_breach(
    store: &Store,
    reported_at: i64,
    scope: BreachScope,
    description: &str,
) -> Result<Breach, StoreError> {
    let mut tx = store.begin().await?;
    let breach = tx
        .insert_breach(&NewBreach {
            reported_at,
            scope,
            description,
            recorded_by: OPERATOR,
        })
        .await?;
    tx.audit(&AuditRecord {
        community_id: match &breach.scope {
            BreachScope::All => None,
            BreachScope::Community(c) => Some(c.clone()),
        },
        actor: OPERATOR.into(),
        action: AUDIT_BREACH_RECORDED.into(),
        subject: Some(format!("breach:{}", breach.id)),
        details: json!({
            "scope": breach.scope.to_string(),
            "reported_at": breach.reported_at,
            "deadline_at": breach.deadline_at,
        }),
    })
    .await?;
    tx.commit().await?;
    tracing::info!(breach_id = %breach.id, "breach recorded");
    Ok(breach)
}

/// One drafted email/Markdown notice for an Admin (the operator sends it).
#[derive(Debug, Clone)]
pub struct EmailDraft {
    pub community_id: CommunityId,
    pub community_name: String,
    pub member_id: MemberRowId,
    /// The Admin's name and email, when the community's data is readable.
    pub to_name: Option<String>,
    pub to_email: Option<String>,
    pub markdown: String,
}

/// What [`notify_breach`] did.
#[derive(Debug, Clone)]
pub struct BreachNotification {
    pub breach: Breach,
    pub audience: BreachAudience,
    /// Chat notices queued now, `(community, admin)`.
    pub chat_sent: Vec<(CommunityId, MemberRowId)>,
    /// Email texts drafted now (one per Admin not already sent one).
    pub emails: Vec<EmailDraft>,
    /// Admins already notified on both channels before this run.
    pub already: Vec<(CommunityId, MemberRowId)>,
}

fn email_markdown(breach: &Breach, community_name: &str, to_name: Option<&str>) -> String {
    let greeting = to_name.map_or_else(|| "Hello,".to_string(), |n| format!("Dear {n},"));
    let which = match &breach.scope {
        BreachScope::All => "every community on this ClassCred server, including".to_string(),
        BreachScope::Community(_) => "the community".to_string(),
    };
    format!(
        "# Personal-data breach notice\n\n{greeting}\n\n\
         A personal-data breach affecting {which} **{community_name}** was reported to the \
         operator of this ClassCred server.\n\n\
         - Breach reference: `{id}`\n\
         - Reported to the operator: {reported}\n\
         - Notification deadline (72 hours after the report): {deadline}\n\n\
         ## What happened\n\n{description}\n\n\
         ## What to do\n\n\
         Please tell your students and your institution's privacy officer as your institution \
         requires, and contact the operator with any question about this notice.\n",
        id = breach.id,
        reported = fmt_utc(breach.reported_at),
        deadline = fmt_utc(breach.deadline_at),
        description = breach.description,
    )
}

/// Notify every Admin of the communities a breach affects: a chat notice (notice job) and an
/// email text each, every sending recorded (`breach_notice`) and audited in its community.
/// Admins already sent a channel are not sent it again. Once every affected Admin has both, an
/// open breach becomes `notified` (its clock stops). Disabled and erased communities are
/// listed in `audience.skipped`, not notified.
pub async fn notify_breach(store: &Store, id: &str) -> Result<BreachNotification, StoreError> {
    let mut tx = store.begin().await?;
    let breach = tx.breach(id).await?.ok_or_else(|| StoreError::NotFound {
        what: "breach",
        id: id.to_string(),
    })?;
    if breach.state == classcred_store::governance::BreachState::Closed {
        return Err(StoreError::Invalid(format!(
            "breach {id} is closed; nothing is sent about a closed breach"
        )));
    }
    let audience = tx.breach_audience(&breach).await?;
    let mut out = BreachNotification {
        breach: breach.clone(),
        audience: audience.clone(),
        chat_sent: Vec::new(),
        emails: Vec::new(),
        already: Vec::new(),
    };
    let scope_label = match &breach.scope {
        BreachScope::All => "all",
        BreachScope::Community(_) => "community",
    };
    for (community, admin) in &audience.admins {
        let mut sent_now = Vec::new();
        if !tx
            .breach_notice_sent(id, community, admin, NoticeChannel::Chat)
            .await?
        {
            let job_id = tx
                .enqueue(&notice_job(
                    community,
                    admin,
                    NoticeKind::BreachNotice {
                        breach_id: breach.id.clone(),
                        reported: fmt_utc(breach.reported_at),
                        scope: scope_label.into(),
                    },
                ))
                .await?;
            tx.record_breach_notice(
                id,
                community,
                admin,
                NoticeChannel::Chat,
                OPERATOR,
                job_id.as_deref(),
            )
            .await?;
            out.chat_sent.push((community.clone(), admin.clone()));
            sent_now.push("chat");
        }
        if !tx
            .breach_notice_sent(id, community, admin, NoticeChannel::Email)
            .await?
        {
            let community_name = tx.community(community).await?.name;
            let (to_name, to_email) = match tx.for_community(community).member(admin).await {
                Ok(m) => (
                    m.profile.shown_name().map(str::to_owned),
                    m.profile.email.clone(),
                ),
                Err(StoreError::Erased { .. }) => (None, None),
                Err(e) => return Err(e),
            };
            out.emails.push(EmailDraft {
                community_id: community.clone(),
                markdown: email_markdown(&breach, &community_name, to_name.as_deref()),
                community_name,
                member_id: admin.clone(),
                to_name,
                to_email,
            });
            tx.record_breach_notice(id, community, admin, NoticeChannel::Email, OPERATOR, None)
                .await?;
            sent_now.push("email");
        }
        if sent_now.is_empty() {
            out.already.push((community.clone(), admin.clone()));
            continue;
        }
        tx.audit(&AuditRecord {
            community_id: Some(community.clone()),
            actor: OPERATOR.into(),
            action: AUDIT_BREACH_NOTICE.into(),
            subject: Some(format!("member:{admin}")),
            details: json!({ "breach_id": breach.id, "channels": sent_now }),
        })
        .await?;
    }
    if tx.mark_breach_notified(id).await? {
        tx.audit(&AuditRecord {
            community_id: None,
            actor: OPERATOR.into(),
            action: AUDIT_BREACH_NOTIFIED.into(),
            subject: Some(format!("breach:{id}")),
            details: json!({
                "admins": audience.admins.len(),
                "skipped": audience.skipped.iter().map(|(c, why)| json!({"community_id": c, "state": why})).collect::<Vec<_>>(),
                "late": tx.store().now_ms() > breach.deadline_at,
            }),
        })
        .await?;
        out.breach.state = classcred_store::governance::BreachState::Notified;
    }
    tx.commit().await?;
    tracing::info!(breach_id = %id, chat = out.chat_sent.len(), email = out.emails.len(), "breach notices sent");
    Ok(out)
}

/// Close a breach (audited). `false` when it was already closed.
pub async fn close_breach(store: &Store, id: &str) -> Result<bool, StoreError> {
    let mut tx = store.begin().await?;
    if tx.breach(id).await?.is_none() {
        return Err(StoreError::NotFound {
            what: "breach",
            id: id.to_string(),
        });
    }
    let closed = tx.close_breach(id, OPERATOR).await?;
    if closed {
        audit_install(
            &mut tx,
            AUDIT_BREACH_CLOSED,
            format!("breach:{id}"),
            json!({}),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(closed)
}

async fn audit_install(
    tx: &mut Tx<'_>,
    action: &str,
    subject: String,
    details: serde_json::Value,
) -> Result<(), StoreError> {
    tx.audit(&AuditRecord {
        community_id: None,
        actor: OPERATOR.into(),
        action: action.into(),
        subject: Some(subject),
        details,
    })
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Legal requests
// ---------------------------------------------------------------------------------------------

/// Record a legal request (audited; the texts stay in the register, not in the audit chain).
pub async fn record_legal_request(
    store: &Store,
    new: &NewLegalRequest<'_>,
) -> Result<LegalRequest, StoreError> {
    let mut tx = store.begin().await?;
    let r = tx.insert_legal_request(new).await?;
    tx.audit(&AuditRecord {
        community_id: r.community_id.clone(),
        actor: OPERATOR.into(),
        action: AUDIT_LEGAL_RECORDED.into(),
        subject: Some(format!("legal_request:{}", r.id)),
        details: json!({ "received_at": r.received_at }),
    })
    .await?;
    tx.commit().await?;
    Ok(r)
}

/// Decide and close a legal request: the decision and, when data was disclosed, the
/// disclosure are each audited. `None` when it is unknown or already closed.
pub async fn close_legal_request(
    store: &Store,
    id: &str,
    outcome: &LegalOutcome<'_>,
) -> Result<Option<LegalRequest>, StoreError> {
    let mut tx = store.begin().await?;
    let Some(r) = tx.close_legal_request(id, outcome).await? else {
        tx.rollback().await?;
        return Ok(None);
    };
    let subject = format!("legal_request:{}", r.id);
    tx.audit(&AuditRecord {
        community_id: r.community_id.clone(),
        actor: OPERATOR.into(),
        action: AUDIT_LEGAL_DECIDED.into(),
        subject: Some(subject.clone()),
        details: json!({ "decision": r.decision.as_str(), "decided_at": r.decided_at }),
    })
    .await?;
    if let Some(at) = r.disclosed_at {
        tx.audit(&AuditRecord {
            community_id: r.community_id.clone(),
            actor: OPERATOR.into(),
            action: AUDIT_LEGAL_DISCLOSED.into(),
            subject: Some(subject.clone()),
            details: json!({ "disclosed_at": at }),
        })
        .await?;
    }
    tx.audit(&AuditRecord {
        community_id: r.community_id.clone(),
        actor: OPERATOR.into(),
        action: AUDIT_LEGAL_CLOSED.into(),
        subject: Some(subject),
        details: json!({}),
    })
    .await?;
    tx.commit().await?;
    Ok(Some(r))
}
