//! `classcred retention show|set|preview`: a community's retention schedule, and a dry run of
//! what the daily expiry job (`retention.run`) would remove, and when. Output carries ids,
//! counts and times only, never names or text.

use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Subcommand, ValueEnum};
use classcred_service::retention::{self, when, Changer, Plan, RetentionError};
use classcred_store::{CommunityId, RetentionValues, Store};

#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// The schedule a community uses (its own, or the defaults).
    Show {
        #[arg(long, value_name = "ID")]
        community: CommunityId,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Change a community's schedule; values not given stay as they are.
    Set {
        #[arg(long, value_name = "ID")]
        community: CommunityId,
        /// Days processed chat deliveries (inbox payloads) are kept (1–365).
        #[arg(long, value_name = "DAYS")]
        inbox_days: Option<i64>,
        /// Days message and feedback text is kept after the course end date (0–1825).
        #[arg(long, value_name = "DAYS")]
        text_days_after_course_end: Option<i64>,
        /// Days without any activity after which a member is erased (30–3650).
        #[arg(long, value_name = "DAYS")]
        inactive_member_days: Option<i64>,
        /// Days after being disabled after which the community is erased (1–30).
        #[arg(long, value_name = "DAYS")]
        disabled_community_days: Option<i64>,
    },
    /// Dry run: what the retention run would remove (counts; member row ids, no names) and
    /// when each rule fires next. Nothing changes.
    Preview {
        #[arg(long, value_name = "ID")]
        community: CommunityId,
        /// The instant to preview (RFC 3339, e.g. 2026-07-01T00:00:00Z); default: now.
        #[arg(long, value_name = "RFC3339", value_parser = parse_at)]
        at: Option<DateTime<Utc>>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

fn parse_at(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("not an RFC 3339 time ({e}); e.g. 2026-07-01T00:00:00Z"))
}

/// Run a `classcred retention …` command.
pub async fn run(store: &Store, command: RetentionCommand) -> anyhow::Result<ExitCode> {
    match command {
        RetentionCommand::Show { community, format } => {
            let p = retention::policy(store, &community)
                .await
                .with_context(|| format!("community {community}"))?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&p)?),
                Format::Text => {
                    println!("{}", describe(&p.values));
                    match (p.updated_at, &p.updated_by) {
                        (Some(at), Some(by)) => println!("set by {by} on {}", when(at)),
                        _ => println!("(the defaults: no schedule was set for this community)"),
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        RetentionCommand::Set {
            community,
            inbox_days,
            text_days_after_course_end,
            inactive_member_days,
            disabled_community_days,
        } => {
            let current = retention::policy(store, &community)
                .await
                .with_context(|| format!("community {community}"))?
                .values;
            let values = RetentionValues {
                inbox_days: inbox_days.unwrap_or(current.inbox_days),
                text_days_after_course_end: text_days_after_course_end
                    .unwrap_or(current.text_days_after_course_end),
                inactive_member_days: inactive_member_days.unwrap_or(current.inactive_member_days),
                disabled_community_days: disabled_community_days
                    .unwrap_or(current.disabled_community_days),
            };
            match retention::set_policy(store, &community, &values, &Changer::Operator).await {
                Ok(()) => {
                    println!("retention schedule of community {community} saved");
                    println!("{}", describe(&values));
                    Ok(ExitCode::SUCCESS)
                }
                Err(RetentionError::Invalid(fields)) => {
                    for f in fields {
                        eprintln!("error: --{}: {}", f.field.replace('_', "-"), f.message);
                    }
                    Ok(ExitCode::from(2))
                }
                Err(e) => Err(e).with_context(|| format!("community {community}")),
            }
        }
        RetentionCommand::Preview {
            community,
            at,
            format,
        } => {
            let at = at.unwrap_or_else(|| store.clock().now());
            let plan = retention::preview(store, &community, at)
                .await
                .with_context(|| format!("community {community}"))?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&plan)?),
                Format::Text => print!("{}", render(&plan)),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn describe(v: &RetentionValues) -> String {
    format!(
        "inbox_days = {} (processed chat deliveries)\n\
         text_days_after_course_end = {} (message and feedback text after the course end)\n\
         inactive_member_days = {} (members without activity are erased)\n\
         disabled_community_days = {} (a disabled community is erased)",
        v.inbox_days,
        v.text_days_after_course_end,
        v.inactive_member_days,
        v.disabled_community_days
    )
}

/// The preview as a person reads it.
pub fn render(p: &Plan) -> String {
    let mut s = format!(
        "Retention preview of community {} at {}\n\n",
        p.community_id,
        when(p.at_ms)
    );
    s += &format!(
        "inbox: {} processed deliveries from before {} ({} days)\n",
        p.inbox.payloads,
        when(p.inbox.cut_ms),
        p.policy.inbox_days
    );
    s += &match p.inbox.next_ms {
        Some(t) => format!("  next: {}\n", when(t)),
        None => "  next: none (nothing processed is kept)\n".into(),
    };
    s += &format!("text: {}\n", p.text.note);
    match p.text.cut_ms {
        Some(cut) => {
            s += &format!(
                "  {} messages and {} feedback notes written before {}\n",
                p.text.counts.messages,
                p.text.counts.notes,
                when(cut)
            );
        }
        None => {
            if let Some(t) = p.text.starts_ms {
                s += &format!("  nothing now; starts {}\n", when(t));
            }
        }
    }
    s += &format!(
        "inactive members: {} without activity since {} ({} days)\n",
        p.inactive.members.len(),
        when(p.inactive.since_ms),
        p.policy.inactive_member_days
    );
    for m in &p.inactive.members {
        s += &format!("  erase member {m}\n");
    }
    s += &match (p.community.erase_at_ms, p.community.due) {
        (Some(_), true) => "community: disabled; the whole community is erased\n".to_string(),
        (Some(t), false) => format!(
            "community: disabled; erased {} unless it is re-enabled\n",
            when(t)
        ),
        _ => "community: active; not erased\n".to_string(),
    };
    s
}
