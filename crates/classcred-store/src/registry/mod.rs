//! The privacy registry: every table and every column the store keeps, classified.
//!
//! A personal column declares its category, why it is kept, how it is protected and what its
//! retention is anchored to. Every other column says in one line why it is not personal. A test
//! reads the live schema of both backends and fails naming any column missing here, and
//! `classcred registry` renders this inventory (`docs/DATA-INVENTORY.md` is its output).

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Who a person is: names, email, avatar.
    Profile,
    /// What a person did or wrote: messages, feedback, points.
    Activity,
    /// Data about activity: ids, times, who reacted to what.
    Metadata,
    /// Device and network data: IP addresses, time zone.
    DeviceNetwork,
    /// Values kept in cookies.
    Cookie,
    /// Credentials the platform gave us to act for the community.
    Credential,
}

impl Category {
    pub fn label(self) -> &'static str {
        match self {
            Category::Profile => "profile",
            Category::Activity => "activity",
            Category::Metadata => "metadata",
            Category::DeviceNetwork => "device/network",
            Category::Cookie => "cookie",
            Category::Credential => "credential",
        }
    }
}

/// How a personal value is protected at rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Protection {
    /// Sealed with the community's data key, bound to its row.
    Encrypted,
    /// A keyed HMAC of the value (for equality lookups); useless without the data key.
    BlindIndex,
    /// Kept in clear because it is a pseudonymous identifier the platform assigned (no name);
    /// needed for lookups and joins.
    Pseudonymous,
    /// Only a SHA-256 hash of a random value is stored; the value itself lives in the
    /// member's browser cookie.
    Hashed,
}

/// What a personal value's retention is counted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Retention {
    /// Until the member leaves or asks for removal; gone when the community is deleted.
    Membership,
    /// Purged on the community's retention schedule, counted from the course end date.
    CourseEnd,
    /// Kept only until the delivery is processed, then purged with the inbox.
    Processing,
    /// Until the installation is revoked or the community deleted.
    Installation,
    /// Until the web session expires or is revoked (sign-out); expired rows are deleted at the
    /// next sign-in.
    Session,
    /// At most 30 days, then purged by the daily retention job (device and network data).
    ThirtyDays,
}

impl Retention {
    pub fn label(self) -> &'static str {
        match self {
            Retention::Membership => "membership (until removal or community deletion)",
            Retention::CourseEnd => "course end + retention schedule",
            Retention::Processing => "until processed + inbox window",
            Retention::Installation => "until uninstall / token revocation",
            Retention::Session => "until the session expires or is signed out",
            Retention::ThirtyDays => "30 days, then purged by the daily retention job",
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Personal {
    pub category: Category,
    pub purpose: &'static str,
    pub protection: Protection,
    pub retention: Retention,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(tag = "class", rename_all = "snake_case")]
pub enum Class {
    Personal(Personal),
    NonPersonal { reason: &'static str },
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Column {
    pub name: &'static str,
    #[serde(flatten)]
    pub class: Class,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Table {
    pub name: &'static str,
    pub purpose: &'static str,
    pub columns: &'static [Column],
}

pub mod export;
pub mod subprocessors;
mod tables;

pub use subprocessors::{subprocessor, Destination, InUse, Subprocessor, SUBPROCESSORS};
pub use tables::TABLES;

use Protection::*;

/// A cookie the server sets.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Cookie {
    pub name: &'static str,
    pub purpose: &'static str,
    /// Strictly necessary cookies are set without consent; all others need it.
    pub strictly_necessary: bool,
    pub lifetime: &'static str,
    pub holds: &'static str,
}

/// Every cookie the server sets. A test collects every `Set-Cookie` the server answers and
/// fails on a name not declared here (`__Host-` is the TLS prefix of a declared name).
pub static COOKIES: &[Cookie] = &[
    Cookie {
        name: "classcred_slack_oauth",
        purpose: "binds a Slack install (OAuth state) to the browser that started it",
        strictly_necessary: true,
        lifetime: "10 minutes, path /slack/oauth",
        holds: "a random nonce; no personal data",
    },
    Cookie {
        name: "classcred_session",
        purpose: "keeps a member signed in to the dashboard (server-side session)",
        strictly_necessary: true,
        lifetime: "12 hours, or until sign-out",
        holds: "a random session value; the server keeps only its SHA-256",
    },
    Cookie {
        name: "classcred_oidc",
        purpose: "binds an OpenID Connect sign-in (state, nonce, PKCE verifier) to the browser that started it",
        strictly_necessary: true,
        lifetime: "10 minutes, path of the OpenID Connect callback",
        holds: "random sign-in state; no personal data",
    },
    Cookie {
        name: "classcred_consent",
        purpose: "remembers the visitor's answer to the usage-statistics banner (accept or reject)",
        strictly_necessary: true,
        lifetime: "180 days, or until changed in the footer",
        holds: "the word accept or reject",
    },
    Cookie {
        name: "classcred_usage",
        purpose: "optional usage statistics: counts distinct visitors per day and page group (only when the operator enabled statistics and the visitor accepted)",
        strictly_necessary: false,
        lifetime: "180 days, deleted when the visitor rejects",
        holds: "a random visitor id; the server stores only daily counts, never the id",
    },
];

/// A permission we ask a chat platform for, and why (each widens what personal data we can
/// read, so each is declared here).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PlatformPermission {
    pub platform: &'static str,
    pub scope: &'static str,
    pub purpose: &'static str,
}

/// Every platform permission ClassCred requests.
pub static PLATFORM_PERMISSIONS: &[PlatformPermission] = &[
    PlatformPermission {
        platform: "slack",
        scope: "channels:history",
        purpose: "Receive messages in public class channels the app was added to, to detect fire and questions (message.channels).",
    },
    PlatformPermission {
        platform: "slack",
        scope: "groups:history",
        purpose: "Receive messages in private class channels the app was added to, to detect fire and questions (message.groups).",
    },
    PlatformPermission {
        platform: "slack",
        scope: "channels:read",
        purpose: "Know when a member joins a public class channel (member_joined_channel).",
    },
    PlatformPermission {
        platform: "slack",
        scope: "groups:read",
        purpose: "Know when a member joins a private class channel (member_joined_channel).",
    },
    PlatformPermission {
        platform: "slack",
        scope: "reactions:read",
        purpose: "Receive fire reactions added or removed on messages (reaction_added, reaction_removed).",
    },
    PlatformPermission {
        platform: "slack",
        scope: "reactions:write",
        purpose: "Confirm a give with a reaction on the giver's message when the community chose that confirmation style (confirm = reaction).",
    },
    PlatformPermission {
        platform: "slack",
        scope: "users:read",
        purpose: "Create members on install and on team_join, and keep name, display name, avatar, timezone and bot flag current (users.list, users.info, user_change).",
    },
    PlatformPermission {
        platform: "slack",
        scope: "users:read.email",
        purpose: "Read members' email addresses so instructors can match them to the gradebook export.",
    },
    PlatformPermission {
        platform: "slack",
        scope: "chat:write",
        purpose: "Send private notices (quota left, course dates, refused fire) and post announcements, polls and assignments.",
    },
    PlatformPermission {
        platform: "slack",
        scope: "commands",
        purpose: "Provide the /cred slash command.",
    },
];

/// The declared permissions of one platform.
pub fn permissions(platform: &str) -> impl Iterator<Item = &'static PlatformPermission> + '_ {
    PLATFORM_PERMISSIONS
        .iter()
        .filter(move |p| p.platform == platform)
}

/// Find a declared cookie. The `__Host-` prefix (the TLS form of a name) is ignored.
pub fn cookie(name: &str) -> Option<&'static Cookie> {
    let name = name.strip_prefix("__Host-").unwrap_or(name);
    COOKIES.iter().find(|c| c.name == name)
}

/// Find a declared table.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

/// Every declared personal column as `(table, column, personal)`.
pub fn personal_columns() -> impl Iterator<Item = (&'static str, &'static str, Personal)> {
    TABLES.iter().flat_map(|t| {
        t.columns.iter().filter_map(move |c| match c.class {
            Class::Personal(p) => Some((t.name, c.name, p)),
            Class::NonPersonal { .. } => None,
        })
    })
}

/// Compare the live schema with the registry: `(undeclared, declared but absent)`, each as
/// `table.column`.
pub fn coverage(live: &[(String, String)]) -> (Vec<String>, Vec<String>) {
    let undeclared = live
        .iter()
        .filter(|(t, c)| !table(t).is_some_and(|tab| tab.columns.iter().any(|col| col.name == c)))
        .map(|(t, c)| format!("{t}.{c}"))
        .collect();
    let absent = TABLES
        .iter()
        .flat_map(|t| t.columns.iter().map(move |c| (t.name, c.name)))
        .filter(|(t, c)| !live.iter().any(|(lt, lc)| lt == t && lc == c))
        .map(|(t, c)| format!("{t}.{c}"))
        .collect();
    (undeclared, absent)
}

/// The inventory as Markdown (this is `docs/DATA-INVENTORY.md`).
pub fn render_markdown() -> String {
    let mut out = String::from(
        "# Data inventory\n\n\
         Generated by `classcred registry --format markdown` from the privacy registry \
         (`crates/classcred-store/src/registry/`). Do not edit by hand; a test fails when this \
         file is stale.\n\n\
         Personal values marked *encrypted* are sealed with the community's data key and bound \
         to their row; *blind index* values are keyed hashes; *pseudonymous* values are ids the \
         platform or ClassCred assigned, kept in clear for lookups; *hashed* values are SHA-256 \
         hashes of random values whose original lives only in the browser.\n",
    );
    out.push_str("\n## Personal data\n\n| table | column | category | protection | purpose | retention |\n|---|---|---|---|---|---|\n");
    for (t, c, p) in personal_columns() {
        let protection = match p.protection {
            Encrypted => "encrypted",
            BlindIndex => "blind index",
            Pseudonymous => "pseudonymous",
            Hashed => "hashed (SHA-256 of a random value)",
        };
        out.push_str(&format!(
            "| {t} | {c} | {} | {protection} | {} | {} |\n",
            p.category.label(),
            p.purpose,
            p.retention.label()
        ));
    }
    out.push_str("\n## Cookies\n\n| cookie | strictly necessary | purpose | lifetime | holds |\n|---|---|---|---|---|\n");
    for c in COOKIES {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            c.name,
            if c.strictly_necessary {
                "yes"
            } else {
                "no (needs consent)"
            },
            c.purpose,
            c.lifetime,
            c.holds
        ));
    }
    out.push_str("\n## Chat platform permissions\n\n| platform | permission | why we need it |\n|---|---|---|\n");
    for p in PLATFORM_PERMISSIONS {
        out.push_str(&format!(
            "| {} | `{}` | {} |\n",
            p.platform, p.scope, p.purpose
        ));
    }
    subprocessors::render_markdown(&mut out);
    out.push_str("\n## Tables\n");
    for t in TABLES {
        out.push_str(&format!(
            "\n### `{}`\n\n{}.\n\n| column | class | why |\n|---|---|---|\n",
            t.name, t.purpose
        ));
        for c in t.columns {
            match c.class {
                Class::Personal(p) => out.push_str(&format!(
                    "| {} | personal ({}) | {} |\n",
                    c.name,
                    p.category.label(),
                    p.purpose
                )),
                Class::NonPersonal { reason } => {
                    out.push_str(&format!("| {} | not personal | {reason} |\n", c.name))
                }
            }
        }
    }
    out
}

/// The inventory as JSON.
pub fn render_json() -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(TABLES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_encrypted_column_is_named_enc_and_every_enc_column_is_encrypted() {
        for t in TABLES {
            for c in t.columns {
                let encrypted = matches!(
                    c.class,
                    Class::Personal(Personal {
                        protection: Encrypted,
                        ..
                    })
                );
                assert_eq!(
                    encrypted,
                    c.name.ends_with("_enc"),
                    "{}.{}: encrypted columns end in _enc, and only they",
                    t.name,
                    c.name
                );
            }
        }
    }

    #[test]
    fn no_duplicate_declarations() {
        let mut seen = std::collections::HashSet::new();
        for t in TABLES {
            for c in t.columns {
                assert!(
                    seen.insert((t.name, c.name)),
                    "{}.{} declared twice",
                    t.name,
                    c.name
                );
            }
        }
    }
}
