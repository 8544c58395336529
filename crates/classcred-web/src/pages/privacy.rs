//! `GET /privacy`: the public privacy page, generated from the privacy registry (the same data
//! `docs/DATA-INVENTORY.md` is rendered from) and the running configuration: what is collected
//! (per category, every personal column), why (every table's purpose), how it is protected (at
//! rest per protection class, in transit as this server is configured), how long it is kept
//! (registry retention and the community retention defaults), the cookies, the subprocessors
//! this server has turned on and the full declared list, the current policy version (its text and
//! history on `/privacy/policy`) and how to make a request. No sign-in needed.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use classcred_store::registry::{
    self, Category, Class, Protection, Retention, COOKIES, PLATFORM_PERMISSIONS, SUBPROCESSORS,
    TABLES,
};
use classcred_store::RetentionValues;

use super::{render, Chrome};
use crate::extract::MaybeViewer;
use crate::{WebError, WebState};

/// One personal column.
pub struct CollectedField {
    pub table: &'static str,
    pub column: &'static str,
    pub purpose: &'static str,
    pub protection: &'static str,
    pub retention: &'static str,
}

/// The personal columns of one category.
pub struct CollectedCategory {
    pub label: &'static str,
    pub about: &'static str,
    pub fields: Vec<CollectedField>,
}

/// One table and its purpose.
pub struct TablePurpose {
    pub name: &'static str,
    pub purpose: &'static str,
    pub personal_columns: usize,
}

/// A protection class and how many columns use it.
pub struct ProtectionClass {
    pub label: &'static str,
    pub how: &'static str,
    pub columns: usize,
}

/// A retention anchor and how many columns use it.
pub struct RetentionClass {
    pub label: &'static str,
    pub columns: usize,
}

/// One community retention rule and its default.
pub struct RetentionDefault {
    pub label: &'static str,
    pub default: String,
    pub range: String,
}

/// A subprocessor, as listed.
pub struct SubprocessorRow {
    pub id: &'static str,
    pub name: &'static str,
    pub origin: String,
    pub paths: String,
    pub purpose: &'static str,
    pub data_sent: &'static str,
    pub enabled_by: &'static str,
}

#[derive(Template)]
#[template(path = "privacy.html")]
struct PrivacyPage {
    chrome: Chrome,
    categories: Vec<CollectedCategory>,
    tables: Vec<TablePurpose>,
    protections: Vec<ProtectionClass>,
    https: bool,
    retention_classes: Vec<RetentionClass>,
    retention_defaults: Vec<RetentionDefault>,
    session_hours: u64,
    export_hours: i64,
    cookies: &'static [registry::Cookie],
    in_use: Vec<SubprocessorRow>,
    declared: Vec<SubprocessorRow>,
    permissions: &'static [registry::PlatformPermission],
    /// The current policy version and its publication day; `None`: none published yet.
    policy: Option<(String, String)>,
}

const CATEGORIES: [(Category, &str); 6] = [
    (
        Category::Profile,
        "Who a person is, as the chat platform tells us.",
    ),
    (Category::Activity, "What people do and write in class."),
    (
        Category::Metadata,
        "Ids and times that link the activity together.",
    ),
    (
        Category::DeviceNetwork,
        "Device and network data (only when the operator turns it on).",
    ),
    (
        Category::Cookie,
        "What the server keeps about a browser's cookie.",
    ),
    (
        Category::Credential,
        "What the platform gave us to act for a community.",
    ),
];

fn protection_label(p: Protection) -> &'static str {
    match p {
        Protection::Encrypted => "encrypted",
        Protection::BlindIndex => "blind index",
        Protection::Pseudonymous => "pseudonymous id",
        Protection::Hashed => "hashed",
    }
}

fn protection_how(p: Protection) -> &'static str {
    match p {
        Protection::Encrypted => "Sealed with the community's own data key (itself wrapped by the server's master key) and bound to its row; deleting the key makes every copy, backups included, unreadable.",
        Protection::BlindIndex => "Only a keyed hash is kept, to find equal values; it is useless without the community's key.",
        Protection::Pseudonymous => "An id the platform or ClassCred assigned (no name), kept in clear to look rows up and join them.",
        Protection::Hashed => "Only a SHA-256 hash of a random value; the value itself lives in your browser's cookie.",
    }
}

const PROTECTIONS: [Protection; 4] = [
    Protection::Encrypted,
    Protection::BlindIndex,
    Protection::Pseudonymous,
    Protection::Hashed,
];

const RETENTIONS: [Retention; 5] = [
    Retention::Membership,
    Retention::CourseEnd,
    Retention::Processing,
    Retention::Installation,
    Retention::Session,
];

fn days(n: i64) -> String {
    if n == 1 {
        "1 day".into()
    } else {
        format!("{n} days")
    }
}

fn subprocessor_row(s: &'static registry::Subprocessor, origin: String) -> SubprocessorRow {
    SubprocessorRow {
        id: s.id,
        name: s.name,
        origin,
        paths: if s.paths.is_empty() {
            "any path".into()
        } else {
            s.paths.join(", ")
        },
        purpose: s.purpose,
        data_sent: s.data_sent,
        enabled_by: s.enabled_by,
    }
}

pub async fn page(
    State(state): State<WebState>,
    MaybeViewer(viewer): MaybeViewer,
) -> Result<Response, WebError> {
    let chrome = match &viewer {
        Some(v) => Chrome::for_viewer(v, "Privacy", "/privacy"),
        None => Chrome::bare("Privacy"),
    };
    let personal: Vec<_> = registry::personal_columns().collect();
    let categories = CATEGORIES
        .iter()
        .map(|&(category, about)| CollectedCategory {
            label: category.label(),
            about,
            fields: personal
                .iter()
                .filter(|(_, _, p)| p.category == category)
                .map(|&(table, column, p)| CollectedField {
                    table,
                    column,
                    purpose: p.purpose,
                    protection: protection_label(p.protection),
                    retention: p.retention.label(),
                })
                .collect(),
        })
        .filter(|c| !c.fields.is_empty())
        .collect();
    let tables = TABLES
        .iter()
        .map(|t| TablePurpose {
            name: t.name,
            purpose: t.purpose,
            personal_columns: t
                .columns
                .iter()
                .filter(|c| matches!(c.class, Class::Personal(_)))
                .count(),
        })
        .collect();
    let protections = PROTECTIONS
        .iter()
        .map(|&p| ProtectionClass {
            label: protection_label(p),
            how: protection_how(p),
            columns: personal
                .iter()
                .filter(|(_, _, x)| x.protection == p)
                .count(),
        })
        .collect();
    let retention_classes = RETENTIONS
        .iter()
        .map(|&r| RetentionClass {
            label: r.label(),
            columns: personal.iter().filter(|(_, _, x)| x.retention == r).count(),
        })
        .collect();
    let defaults = RetentionValues::default();
    let retention_defaults = classcred_service::retention::LIMITS
        .iter()
        .map(|&(field, label, min, max)| RetentionDefault {
            label,
            default: days(match field {
                "inbox_days" => defaults.inbox_days,
                "text_days_after_course_end" => defaults.text_days_after_course_end,
                "inactive_member_days" => defaults.inactive_member_days,
                _ => defaults.disabled_community_days,
            }),
            range: format!("{} to {}", days(min), days(max)),
        })
        .collect();
    let in_use = state
        .subprocessors_in_use
        .iter()
        .map(|u| subprocessor_row(u.subprocessor, u.origin.clone()))
        .collect();
    let declared = SUBPROCESSORS
        .iter()
        .map(|s| {
            let origin = match s.destination {
                registry::Destination::Fixed { origin } => origin.to_owned(),
                registry::Destination::Configured { setting } => {
                    format!("set by the operator ({setting})")
                }
            };
            subprocessor_row(s, origin)
        })
        .collect();
    let policy = state
        .store
        .current_policy_version_summary()
        .await?
        .map(|(version, at)| (version, super::privacy_requests::day(at)));
    render(&PrivacyPage {
        chrome,
        policy,
        categories,
        tables,
        protections,
        https: state.tls,
        retention_classes,
        retention_defaults,
        session_hours: state.session_ttl.as_secs() / 3600,
        export_hours: classcred_service::export::EXPORT_TTL_MS / 3_600_000,
        cookies: COOKIES,
        in_use,
        declared,
        permissions: PLATFORM_PERMISSIONS,
    })
}
