//! `classcred policy|breach|legal-request …`: the privacy governance registers (issue 12).
//!
//! * `policy publish --version V --file POLICY.md` stores a new version of the privacy policy
//!   and tells every Admin of every active community (chat notice + dashboard banner until
//!   they acknowledge); `policy list` shows the versions and their acknowledgements.
//! * `breach record|list|notify|close`: the breach register and its 72-hour clock.
//! * `legal-request record|list|close`: the legal-request register.
//!
//! Times are taken as RFC 3339 (`2026-03-28T09:00:00Z`, `…+01:00`) or as a local time
//! (`2026-03-28 09:00`) in `--tz` (default UTC), and shown in `--tz`. Operator actions are
//! audited as actor `operator`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, NaiveDateTime, TimeZone};
use chrono_tz::Tz;
use clap::{Subcommand, ValueEnum};
use classcred_service::governance as svc;
use classcred_store::governance::{
    fmt_in_zone, Breach, BreachScope, LegalDecision, LegalOutcome, NewLegalRequest,
};
use classcred_store::{CommunityId, Store, StoreError};

use crate::output;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Publish a new version of the privacy policy: every Admin is told (chat notice and a
    /// dashboard banner until they acknowledge). Versions are numbers with dots and must
    /// increase.
    Publish {
        #[arg(long, value_name = "V")]
        version: String,
        /// The policy text (Markdown; shown escaped, as text, on /privacy/policy).
        #[arg(long, value_name = "POLICY.md")]
        file: PathBuf,
    },
    /// The published versions, newest first, with acknowledgement counts.
    List {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
pub enum BreachCommand {
    /// Record a breach. The deadline to notify is reported-at + 72 hours.
    Record {
        /// When the breach was reported to you: RFC 3339, or a local time in --tz.
        #[arg(long, value_name = "TIME")]
        reported_at: String,
        /// `all`, or `community:ID`.
        #[arg(long, value_name = "all|community:ID")]
        scope: String,
        /// What happened: systems and data categories, never names of people.
        #[arg(long, value_name = "TEXT")]
        description: String,
        /// Time zone of a local --reported-at, and of the times shown (e.g. Europe/London).
        #[arg(long, value_name = "ZONE", default_value = "UTC")]
        tz: String,
    },
    /// Breaches not closed: open ones with hours left (or OVERDUE), notified ones; `--all`
    /// adds closed ones.
    List {
        #[arg(long)]
        all: bool,
        /// Time zone the times are shown in.
        #[arg(long, value_name = "ZONE", default_value = "UTC")]
        tz: String,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Notify every Admin of the affected communities: a chat notice each (queued for the
    /// server's workers) and an email text each (written to --out, else printed). Each
    /// sending is recorded; Admins already notified are not notified again.
    Notify {
        id: String,
        /// Directory for the email texts (one Markdown file per Admin, mode 0600).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Close a breach (after the follow-up is done).
    Close { id: String },
}

#[derive(Debug, Subcommand)]
pub enum LegalRequestCommand {
    /// Record a request for data from an authority.
    Record {
        /// When it was received: RFC 3339, or a local time in --tz.
        #[arg(long, value_name = "TIME")]
        received_at: String,
        /// Who asked (office and official contact).
        #[arg(long, value_name = "TEXT")]
        requester: String,
        /// Under what authority (statute, warrant or order reference).
        #[arg(long, value_name = "TEXT")]
        authority: String,
        /// What they asked for (use member row ids, not names).
        #[arg(long, value_name = "TEXT")]
        scope: String,
        /// The community concerned, when it is one.
        #[arg(long, value_name = "ID")]
        community: Option<CommunityId>,
        #[arg(long, value_name = "ZONE", default_value = "UTC")]
        tz: String,
    },
    /// Open requests (`--all`: closed ones too).
    List {
        #[arg(long)]
        all: bool,
        #[arg(long, value_name = "ZONE", default_value = "UTC")]
        tz: String,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Decide and close a request; with --disclosed, what was disclosed (and --disclosed-at,
    /// default now). The decision and the disclosure are audited.
    Close {
        id: String,
        #[arg(long, value_enum)]
        decision: DecisionArg,
        /// Reasons for the decision.
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
        /// What was disclosed (categories and row ids, not the data itself).
        #[arg(long, value_name = "TEXT")]
        disclosed: Option<String>,
        #[arg(long, value_name = "TIME")]
        disclosed_at: Option<String>,
        #[arg(long, value_name = "ZONE", default_value = "UTC")]
        tz: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DecisionArg {
    Complied,
    PartiallyComplied,
    Refused,
}

impl From<DecisionArg> for LegalDecision {
    fn from(d: DecisionArg) -> Self {
        match d {
            DecisionArg::Complied => LegalDecision::Complied,
            DecisionArg::PartiallyComplied => LegalDecision::PartiallyComplied,
            DecisionArg::Refused => LegalDecision::Refused,
        }
    }
}

fn zone(tz: &str) -> anyhow::Result<Tz> {
    tz.parse::<Tz>()
        .map_err(|_| anyhow::anyhow!("--tz {tz:?} is not an IANA time zone (e.g. Europe/London)"))
}

/// RFC 3339, or a local `YYYY-MM-DD HH:MM[:SS]` (or with `T`) in `tz`. A local time that the
/// clocks skip or repeat is refused: give the offset.
pub fn parse_time(text: &str, tz: &Tz) -> anyhow::Result<i64> {
    let t = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(t) {
        return Ok(at.timestamp_millis());
    }
    for f in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(t, f) {
            return match tz.from_local_datetime(&naive) {
                chrono::LocalResult::Single(at) => Ok(at.timestamp_millis()),
                _ => anyhow::bail!(
                    "{t} does not name one instant in {tz} (the clocks change then); give an \
                     RFC 3339 time with its offset"
                ),
            };
        }
    }
    anyhow::bail!("{t:?} is not a time: use RFC 3339 (2026-03-28T09:00:00Z) or YYYY-MM-DD HH:MM")
}

fn invalid(e: &StoreError) -> Option<ExitCode> {
    match e {
        StoreError::Invalid(m) => {
            eprintln!("error: {m}");
            Some(ExitCode::from(2))
        }
        StoreError::NotFound { what, id } => {
            eprintln!("error: {what} {id} not found");
            Some(ExitCode::from(2))
        }
        _ => None,
    }
}

/// Run a `classcred policy …` command.
pub async fn run_policy(store: &Store, command: PolicyCommand) -> anyhow::Result<ExitCode> {
    match command {
        PolicyCommand::Publish { version, file } => {
            let body = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            match svc::publish_policy(store, &version, &body).await {
                Ok(p) => {
                    output::print(&format!(
                        "policy version {} published at {} ({} Admin(s) asked to acknowledge; \
                         chat notices queued for the server's workers; {} older pending \
                         acknowledgement(s) superseded)\n",
                        p.version.version,
                        fmt_in_zone(p.version.published_at, &Tz::UTC),
                        p.admins.len(),
                        p.superseded
                    ))?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => invalid(&e).ok_or_else(|| e.into()),
            }
        }
        PolicyCommand::List { format } => {
            let mut tx = store.begin().await?;
            let versions = tx.policy_versions().await?;
            let mut rows = Vec::new();
            for v in &versions {
                let (pending, acknowledged) = tx.policy_ack_counts(&v.id).await?;
                rows.push((v, pending, acknowledged));
            }
            tx.commit().await?;
            match format {
                Format::Json => {
                    let list: Vec<_> = rows
                        .iter()
                        .map(|(v, p, a)| {
                            serde_json::json!({
                                "id": v.id, "version": v.version, "published_at": v.published_at,
                                "body_sha256": v.body_sha256, "pending": p, "acknowledged": a,
                            })
                        })
                        .collect();
                    output::print(&format!("{}\n", serde_json::to_string_pretty(&list)?))?;
                }
                Format::Text => {
                    if rows.is_empty() {
                        output::print("no policy version published yet\n")?;
                    }
                    let mut out = String::new();
                    for (i, (v, p, a)) in rows.iter().enumerate() {
                        out.push_str(&format!(
                            "{}{}  published {}  acknowledged {a}, pending {p}  sha256 {}\n",
                            v.version,
                            if i == 0 { " (current)" } else { "" },
                            fmt_in_zone(v.published_at, &Tz::UTC),
                            &v.body_sha256[..16],
                        ));
                    }
                    output::print(&out)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn breach_line(b: &Breach, now: i64, tz: &Tz) -> String {
    format!(
        "{}  {:<8}  {:<44}  reported {}  deadline {}  {}\n",
        b.id,
        b.state.as_str(),
        b.scope.to_string(),
        fmt_in_zone(b.reported_at, tz),
        fmt_in_zone(b.deadline_at, tz),
        b.clock_label(now),
    )
}

/// Run a `classcred breach …` command.
pub async fn run_breach(store: &Store, command: BreachCommand) -> anyhow::Result<ExitCode> {
    match command {
        BreachCommand::Record {
            reported_at,
            scope,
            description,
            tz,
        } => {
            let tz = zone(&tz)?;
            let reported = parse_time(&reported_at, &tz)?;
            if reported > store.now_ms() {
                eprintln!("error: --reported-at is in the future");
                return Ok(ExitCode::from(2));
            }
            let scope = match BreachScope::parse(&scope) {
                Ok(s) => s,
                Err(e) => return invalid(&e).ok_or_else(|| e.into()),
            };
            match svc::record_breach(store, reported, scope, &description).await {
                Ok(b) => {
                    output::print(&format!(
                        "breach {} recorded; notify the affected Admins by {} ({})\n",
                        b.id,
                        fmt_in_zone(b.deadline_at, &tz),
                        b.clock_label(store.now_ms())
                    ))?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => invalid(&e).ok_or_else(|| e.into()),
            }
        }
        BreachCommand::List { all, tz, format } => {
            let tz = zone(&tz)?;
            let mut tx = store.begin().await?;
            let list = tx.breaches(all).await?;
            tx.commit().await?;
            let now = store.now_ms();
            match format {
                Format::Json => {
                    let rows: Vec<_> = list
                        .iter()
                        .map(|b| {
                            serde_json::json!({
                                "id": b.id, "state": b.state, "scope": b.scope.to_string(),
                                "reported_at": b.reported_at, "deadline_at": b.deadline_at,
                                "hours_left": b.hours_left(now), "overdue": b.is_overdue(now),
                                "clock": b.clock_label(now), "description": b.description,
                            })
                        })
                        .collect();
                    output::print(&format!("{}\n", serde_json::to_string_pretty(&rows)?))?;
                }
                Format::Text => {
                    if list.is_empty() {
                        output::print(if all {
                            "no breach recorded\n"
                        } else {
                            "no open breach\n"
                        })?;
                    }
                    let out: String = list.iter().map(|b| breach_line(b, now, &tz)).collect();
                    output::print(&out)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        BreachCommand::Notify { id, out } => {
            let sent = match svc::notify_breach(store, &id).await {
                Ok(s) => s,
                Err(e) => return invalid(&e).ok_or_else(|| e.into()),
            };
            let mut text = String::new();
            for d in &sent.emails {
                let header = format!(
                    "To: {} <{}>\nSubject: Personal-data breach notice ({})\n\n",
                    d.to_name.as_deref().unwrap_or("Admin"),
                    d.to_email
                        .as_deref()
                        .unwrap_or("no email on record: send through your institution"),
                    d.community_name
                );
                match &out {
                    Some(dir) => {
                        let path = write_draft(
                            dir,
                            &sent.breach.id,
                            d,
                            &format!("{header}{}", d.markdown),
                        )?;
                        text.push_str(&format!(
                            "email text for Admin {} of community {} written to {}\n",
                            d.member_id,
                            d.community_id,
                            path.display()
                        ));
                    }
                    None => {
                        text.push_str(&format!("----- {header}{}-----\n", d.markdown));
                    }
                }
            }
            for (c, m) in &sent.chat_sent {
                text.push_str(&format!(
                    "chat notice queued for Admin {m} of community {c}\n"
                ));
            }
            for (c, m) in &sent.already {
                text.push_str(&format!(
                    "Admin {m} of community {c} was already notified\n"
                ));
            }
            for (c, why) in &sent.audience.skipped {
                text.push_str(&format!(
                    "community {c} is {why}: its Admins are not notified through ClassCred\n"
                ));
            }
            if sent.audience.admins.is_empty() {
                text.push_str("no Admin of an active community is affected\n");
            }
            text.push_str(&format!(
                "breach {} is {}\n",
                sent.breach.id,
                sent.breach.state.as_str()
            ));
            output::print(&text)?;
            Ok(ExitCode::SUCCESS)
        }
        BreachCommand::Close { id } => match svc::close_breach(store, &id).await {
            Ok(true) => {
                output::print(&format!("breach {id} closed\n"))?;
                Ok(ExitCode::SUCCESS)
            }
            Ok(false) => {
                eprintln!("error: breach {id} is already closed");
                Ok(ExitCode::from(2))
            }
            Err(e) => invalid(&e).ok_or_else(|| e.into()),
        },
    }
}

fn write_draft(
    dir: &Path,
    breach_id: &str,
    d: &svc::EmailDraft,
    text: &str,
) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(format!(
        "breach-{breach_id}-{}-{}.md",
        d.community_id, d.member_id
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(path)
}

/// Run a `classcred legal-request …` command.
pub async fn run_legal(store: &Store, command: LegalRequestCommand) -> anyhow::Result<ExitCode> {
    match command {
        LegalRequestCommand::Record {
            received_at,
            requester,
            authority,
            scope,
            community,
            tz,
        } => {
            let tz = zone(&tz)?;
            let received = parse_time(&received_at, &tz)?;
            let new = NewLegalRequest {
                received_at: received,
                requester: &requester,
                authority: &authority,
                scope: &scope,
                community_id: community.as_ref(),
                recorded_by: svc::OPERATOR,
            };
            match svc::record_legal_request(store, &new).await {
                Ok(r) => {
                    output::print(&format!("legal request {} recorded\n", r.id))?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => invalid(&e).ok_or_else(|| e.into()),
            }
        }
        LegalRequestCommand::List { all, tz, format } => {
            let tz = zone(&tz)?;
            let mut tx = store.begin().await?;
            let list = tx.legal_requests(all).await?;
            tx.commit().await?;
            match format {
                Format::Json => {
                    output::print(&format!("{}\n", serde_json::to_string_pretty(&list)?))?
                }
                Format::Text => {
                    if list.is_empty() {
                        output::print(if all {
                            "no legal request recorded\n"
                        } else {
                            "no open legal request\n"
                        })?;
                    }
                    let mut out = String::new();
                    for r in &list {
                        out.push_str(&format!(
                            "{}  {}  received {}  decision {}\n  requester: {}\n  authority: {}\n  scope: {}{}\n",
                            r.id,
                            r.state,
                            fmt_in_zone(r.received_at, &tz),
                            r.decision.as_str(),
                            r.requester,
                            r.authority,
                            r.scope,
                            r.community_id
                                .as_ref()
                                .map(|c| format!(" (community {c})"))
                                .unwrap_or_default(),
                        ));
                        if let Some(n) = &r.decision_note {
                            out.push_str(&format!("  note: {n}\n"));
                        }
                        if let (Some(d), Some(at)) = (&r.disclosed, r.disclosed_at) {
                            out.push_str(&format!("  disclosed {}: {d}\n", fmt_in_zone(at, &tz)));
                        }
                    }
                    output::print(&out)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        LegalRequestCommand::Close {
            id,
            decision,
            note,
            disclosed,
            disclosed_at,
            tz,
        } => {
            let tz = zone(&tz)?;
            let disclosed_at = disclosed_at.map(|t| parse_time(&t, &tz)).transpose()?;
            let outcome = LegalOutcome {
                decision: decision.into(),
                note: note.as_deref(),
                disclosed: disclosed.as_deref(),
                disclosed_at,
                by: svc::OPERATOR,
            };
            match svc::close_legal_request(store, &id, &outcome).await {
                Ok(Some(r)) => {
                    output::print(&format!(
                        "legal request {} closed: {}{}\n",
                        r.id,
                        r.decision.as_str(),
                        r.disclosed_at
                            .map(|at| format!(", disclosure at {} recorded", fmt_in_zone(at, &tz)))
                            .unwrap_or_default()
                    ))?;
                    Ok(ExitCode::SUCCESS)
                }
                Ok(None) => {
                    eprintln!("error: no open legal request {id}");
                    Ok(ExitCode::from(2))
                }
                Err(e) => invalid(&e).ok_or_else(|| e.into()),
            }
        }
    }
}

/// For tests of the time parser.
#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn local_times_are_read_in_the_zone_and_skipped_ones_refused() {
        let london: Tz = "Europe/London".parse().unwrap_or(Tz::UTC);
        assert_eq!(
            parse_time("2026-03-28 09:00", &london).ok(),
            Some(
                Utc.with_ymd_and_hms(2026, 3, 28, 9, 0, 0)
                    .unwrap()
                    .timestamp_millis()
            )
        );
        assert_eq!(
            parse_time("2026-07-01T09:00", &london).ok(),
            Some(
                Utc.with_ymd_and_hms(2026, 7, 1, 8, 0, 0)
                    .unwrap()
                    .timestamp_millis()
            )
        );
        // 01:30 on 2026-03-29 does not exist in London.
        assert!(parse_time("2026-03-29 01:30", &london).is_err());
        assert!(parse_time("yesterday", &london).is_err());
        assert_eq!(
            parse_time("2026-03-28T09:00:00+01:00", &Tz::UTC).ok(),
            Some(
                Utc.with_ymd_and_hms(2026, 3, 28, 8, 0, 0)
                    .unwrap()
                    .timestamp_millis()
            )
        );
    }
}
