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
}

impl Retention {
    pub fn label(self) -> &'static str {
        match self {
            Retention::Membership => "membership (until removal or community deletion)",
            Retention::CourseEnd => "course end + retention schedule",
            Retention::Processing => "until processed + inbox window",
            Retention::Installation => "until uninstall / token revocation",
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

const fn np(name: &'static str, reason: &'static str) -> Column {
    Column {
        name,
        class: Class::NonPersonal { reason },
    }
}

const fn personal(
    name: &'static str,
    category: Category,
    protection: Protection,
    retention: Retention,
    purpose: &'static str,
) -> Column {
    Column {
        name,
        class: Class::Personal(Personal {
            category,
            purpose,
            protection,
            retention,
        }),
    }
}

use Category::*;
use Protection::*;
use Retention::*;

const ID: &str = "random identifier we generate";
const COMMUNITY_ID: &str = "tenant scope of the row";
const CREATED: &str = "time the row was written";

/// Every table and column of the schema.
pub static TABLES: &[Table] = &[
    Table {
        name: "_sqlx_migrations",
        purpose: "which schema migrations were applied",
        columns: &[
            np("version", "migration number"),
            np("description", "migration name"),
            np("installed_on", "when the migration ran"),
            np("success", "whether it succeeded"),
            np("checksum", "checksum of the migration file"),
            np("execution_time", "how long it took"),
        ],
    },
    Table {
        name: "institution",
        purpose: "the customer organisation that owns communities",
        columns: &[
            np("id", ID),
            np("name", "organisation name, not a person"),
            np("created_at", CREATED),
        ],
    },
    Table {
        name: "community",
        purpose: "one course or team: its platform link and settings",
        columns: &[
            np("id", ID),
            np("institution_id", "owning institution"),
            np("name", "course name, not a person"),
            np("platform", "which chat platform"),
            np(
                "platform_team_id",
                "workspace id the platform assigned to the organisation",
            ),
            np(
                "settings",
                "course rules: timezone, dates, quota, tax brackets",
            ),
            np("state", "active or disabled"),
            np(
                "disabled_at",
                "when uninstall/revocation started the deletion clock",
            ),
            np(
                "event_seq",
                "count of processed events: their processing order",
            ),
            np("created_at", CREATED),
        ],
    },
    Table {
        name: "community_key",
        purpose: "each community's data key, wrapped by the master key",
        columns: &[
            np("community_id", COMMUNITY_ID),
            np(
                "master_key_id",
                "public fingerprint of the wrapping master key",
            ),
            np("wrapped_key", "encrypted key material, not personal data"),
            np("created_at", CREATED),
            np("rotated_at", "last master-key rotation"),
            np(
                "destroyed_at",
                "when the key was destroyed (crypto-shredding)",
            ),
        ],
    },
    Table {
        name: "member",
        purpose: "people in a community and their role",
        columns: &[
            np("id", ID),
            np("community_id", COMMUNITY_ID),
            personal(
                "platform_user_id",
                Profile,
                Pseudonymous,
                Membership,
                "resolve mentions and events to members",
            ),
            np("role", "admin, instructor or student: decides permissions"),
            np(
                "kind",
                "human, bot or this app: bots and the app never receive fire",
            ),
            np(
                "level",
                "highest level announced, so a level-up is announced once",
            ),
            personal(
                "name_enc",
                Profile,
                Encrypted,
                Membership,
                "show who is who to the admin",
            ),
            personal(
                "display_name_enc",
                Profile,
                Encrypted,
                Membership,
                "show who is who in the dashboard and replies",
            ),
            personal(
                "email_enc",
                Profile,
                Encrypted,
                Membership,
                "match dashboard sign-in and exports",
            ),
            personal(
                "email_bidx",
                Profile,
                BlindIndex,
                Membership,
                "look a member up by email without decrypting every row",
            ),
            personal(
                "avatar_url_enc",
                Profile,
                Encrypted,
                Membership,
                "show the member's picture",
            ),
            personal(
                "timezone_enc",
                DeviceNetwork,
                Encrypted,
                Membership,
                "show times in the member's own time zone",
            ),
            np("joined_at", CREATED),
            np("updated_at", "last profile sync"),
        ],
    },
    Table {
        name: "message",
        purpose: "chat messages that gave fire or asked questions",
        columns: &[
            np("id", ID),
            np("community_id", COMMUNITY_ID),
            personal(
                "platform_message_id",
                Metadata,
                Pseudonymous,
                CourseEnd,
                "match edits, deletes and reactions to the message",
            ),
            np("channel_id", "platform channel id, not a person"),
            personal(
                "author_member_id",
                Metadata,
                Pseudonymous,
                CourseEnd,
                "who posted it",
            ),
            np("thread_id", "platform thread id, not a person"),
            personal(
                "text_enc",
                Activity,
                Encrypted,
                CourseEnd,
                "feedback text shown with fire",
            ),
            personal(
                "posted_at",
                Metadata,
                Pseudonymous,
                CourseEnd,
                "quota day and course dates",
            ),
            np("edited_at", "when the platform reported an edit"),
            np("deleted_at", "when the platform reported a delete"),
        ],
    },
    Table {
        name: "installation",
        purpose: "the platform app installed in a workspace",
        columns: &[
            np("id", ID),
            np("community_id", COMMUNITY_ID),
            np("platform", "which chat platform"),
            np("platform_team_id", "workspace id"),
            np("bot_user_id", "our own bot's user id"),
            np("scopes", "permissions the platform granted"),
            personal(
                "bot_token_enc",
                Credential,
                Encrypted,
                Installation,
                "call the platform's API for this community",
            ),
            personal(
                "installed_by_member_id",
                Metadata,
                Pseudonymous,
                Installation,
                "who installed: becomes Admin",
            ),
            np("installed_at", CREATED),
            np("revoked_at", "when the token was revoked"),
        ],
    },
    Table {
        name: "inbox",
        purpose: "one row per platform delivery, so each is processed exactly once",
        columns: &[
            np("id", ID),
            np("community_id", COMMUNITY_ID),
            np("platform", "which chat platform"),
            np("event_id", "platform delivery id, for deduplication"),
            np("event_type", "kind of event"),
            personal(
                "payload_enc",
                Activity,
                Encrypted,
                Processing,
                "the parsed event (ids, text) until it is processed and for replay",
            ),
            np("occurred_at", "platform timestamp of the event"),
            np("received_at", CREATED),
            np("processed_at", "when it was processed"),
            np("seq", "processing order within the community, for replay"),
            np("attempts", "processing attempts"),
            np(
                "last_error",
                "error of the last attempt; our messages carry ids only",
            ),
        ],
    },
    Table {
        name: "ledger_entry",
        purpose: "append-only points ledger: awards, taxes, reversals, purchases, adjustments",
        columns: &[
            np("id", ID),
            np("community_id", COMMUNITY_ID),
            personal(
                "member_id",
                Activity,
                Pseudonymous,
                CourseEnd,
                "whose balance the entry changes",
            ),
            np(
                "kind",
                "award, tax, reversal, purchase, refund or adjustment",
            ),
            personal(
                "amount_milli",
                Activity,
                Pseudonymous,
                CourseEnd,
                "points in thousandths",
            ),
            np("idempotency_key", "prevents double awards on redelivery"),
            personal(
                "giver_member_id",
                Activity,
                Pseudonymous,
                CourseEnd,
                "who gave the fire",
            ),
            np(
                "giver_role",
                "giver's role at the time: staff fire is untaxed",
            ),
            np(
                "source_ref",
                "platform message or reaction the entry came from",
            ),
            np("quota_day", "quota day the give counted against"),
            np("iso_week", "tax week"),
            np("quota_units", "quota debit (+1) or same-day refund (-1)"),
            np(
                "fire_units",
                "fire unit awarded (+1) or reversed (-1), for tax brackets",
            ),
            personal(
                "note_enc",
                Activity,
                Encrypted,
                CourseEnd,
                "feedback text or adjustment reason",
            ),
            np("occurred_at", "platform time of the event"),
            np("created_at", CREATED),
        ],
    },
    Table {
        name: "engine_message",
        purpose: "what each message with fire awarded, so edits and deletes are diffed",
        columns: &[
            np("community_id", COMMUNITY_ID),
            personal(
                "platform_message_id",
                Metadata,
                Pseudonymous,
                CourseEnd,
                "match edits and deletes to what was awarded",
            ),
            personal(
                "author_member_id",
                Metadata,
                Pseudonymous,
                CourseEnd,
                "who gave the fire",
            ),
            personal(
                "record",
                Activity,
                Pseudonymous,
                CourseEnd,
                "recipients and fire units standing (member ids and numbers only, no text)",
            ),
        ],
    },
    Table {
        name: "engine_reaction",
        purpose: "fire reactions standing, so a removal reverses exactly one",
        columns: &[
            np("community_id", COMMUNITY_ID),
            personal(
                "platform_message_id",
                Metadata,
                Pseudonymous,
                CourseEnd,
                "the message reacted to",
            ),
            personal(
                "reactor_member_id",
                Metadata,
                Pseudonymous,
                CourseEnd,
                "who reacted",
            ),
            personal(
                "record",
                Activity,
                Pseudonymous,
                CourseEnd,
                "the unit standing (member ids and numbers only)",
            ),
        ],
    },
    Table {
        name: "member_badge",
        purpose: "badges won",
        columns: &[
            np("community_id", COMMUNITY_ID),
            personal("member_id", Activity, Pseudonymous, CourseEnd, "who won it"),
            np("badge_id", "which badge"),
            np("instance", "once, or the week it was won for"),
            personal(
                "awarded_by",
                Activity,
                Pseudonymous,
                CourseEnd,
                "the Admin who awarded a hand-made badge",
            ),
            np("awarded_at", "when"),
        ],
    },
    Table {
        name: "feed_item",
        purpose: "activity feeds: per student and per community",
        columns: &[
            np("id", ID),
            np("community_id", COMMUNITY_ID),
            personal(
                "member_id",
                Activity,
                Pseudonymous,
                CourseEnd,
                "whose feed (empty: community feed)",
            ),
            np("kind", "what happened"),
            personal(
                "payload",
                Activity,
                Pseudonymous,
                CourseEnd,
                "member ids, points and message ids of the event; no free text",
            ),
            np("occurred_at", "platform time of the event"),
            np("created_at", CREATED),
        ],
    },
    Table {
        name: "audit_entry",
        purpose: "hash-chained log of admin reads of student data and key operations",
        columns: &[
            np("seq", "position in the chain"),
            np("community_id", COMMUNITY_ID),
            np(
                "actor",
                "pseudonymous id of who acted (member id, operator, system)",
            ),
            np("action", "what was done"),
            np(
                "subject",
                "pseudonymous id of whose data (member id), never a name",
            ),
            np("at", "when"),
            np("details", "ids and counts only"),
            np("prev_hash", "hash of the previous entry"),
            np("hash", "hash of this entry"),
        ],
    },
    Table {
        name: "audit_head",
        purpose: "the last sequence number and hash, so truncation is detected",
        columns: &[
            np("id", "always 1"),
            np("seq", "last sequence number"),
            np("hash", "last hash"),
        ],
    },
    Table {
        name: "job",
        purpose: "background work queue",
        columns: &[
            np("id", ID),
            np("kind", "which handler runs the job"),
            np("community_id", COMMUNITY_ID),
            np("payload", "ids only, never personal values"),
            np("dedupe_key", "prevents enqueueing the same work twice"),
            np("state", "queued, running, done or failed"),
            np("attempts", "attempts so far"),
            np("max_attempts", "attempts before giving up"),
            np("run_at", "earliest time to run"),
            np("locked_by", "worker id holding the job"),
            np("locked_until", "lease expiry"),
            np(
                "last_error",
                "error of the last attempt; our messages carry ids only",
            ),
            np("created_at", CREATED),
            np("updated_at", "last change"),
        ],
    },
];

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

/// Every cookie the server sets.
pub static COOKIES: &[Cookie] = &[Cookie {
    name: "classcred_slack_oauth",
    purpose: "binds a Slack install (OAuth state) to the browser that started it",
    strictly_necessary: true,
    lifetime: "10 minutes, path /slack/oauth",
    holds: "a random nonce; no personal data",
}];

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

/// Find a declared cookie.
pub fn cookie(name: &str) -> Option<&'static Cookie> {
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
         (`crates/classcred-store/src/registry.rs`). Do not edit by hand; a test fails when this \
         file is stale.\n\n\
         Personal values marked *encrypted* are sealed with the community's data key and bound \
         to their row; *blind index* values are keyed hashes; *pseudonymous* values are ids the \
         platform or ClassCred assigned, kept in clear for lookups.\n",
    );
    out.push_str("\n## Personal data\n\n| table | column | category | protection | purpose | retention |\n|---|---|---|---|---|---|\n");
    for (t, c, p) in personal_columns() {
        let protection = match p.protection {
            Encrypted => "encrypted",
            BlindIndex => "blind index",
            Pseudonymous => "pseudonymous",
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
pub fn render_json() -> String {
    serde_json::to_string_pretty(TABLES).expect("registry serialises")
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
