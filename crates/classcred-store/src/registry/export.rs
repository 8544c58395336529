//! Export rules: for every table and column of the [registry](super), whether a full export
//! carries it and how.
//!
//! A table is exported (scoped to one community through a column) or not, with a reason (key
//! material, tables shared by every community, operational state). Each column of an exported
//! table is exported as stored, as stored but parsed as JSON, decrypted (encrypted columns,
//! opened with the key [`crate::sealed_by`] names), or not exported with a reason (blind
//! indexes, hashed tokens, the audit chain's hashes …). [`ColumnRules::ByClass`] derives the
//! rule of each column from its registry class, so a new table without secrets is one line.
//!
//! A member's own export keeps the rows of a table whose `owners` columns name that member
//! (the rows about them or written by them); a table without owners is left out of it.
//! Tests: every registry column resolves to a rule; no encrypted column is exported as stored.

use super::{Class, Protection, TABLES};

/// How one column is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnExport {
    /// The value as the database holds it (text, number, boolean; `null`).
    Stored,
    /// Text holding JSON, exported as that JSON value (as text when it does not parse).
    Json,
    /// A sealed value, opened and exported as text; `null` with an "erased" marker when its key
    /// was destroyed.
    Decrypted,
    /// Not exported.
    Omitted { reason: &'static str },
}

/// The columns of an exported table.
#[derive(Debug, Clone, Copy)]
pub enum ColumnRules {
    /// Each named column's rule; a registry column missing here has no rule (a test fails).
    Explicit(&'static [(&'static str, ColumnExport)]),
    /// Derived from each column's registry class: encrypted → decrypted, blind index or hashed
    /// → omitted, everything else → stored. Only for tables that hold no secrets.
    ByClass,
}

/// Whether and how a table is exported.
#[derive(Debug, Clone, Copy)]
pub enum TableScope {
    /// The rows whose `column` equals the community id.
    Community { column: &'static str },
    /// Not in any export.
    NotExported { reason: &'static str },
}

/// A column naming the member a row is about or written by: the row belongs to the member
/// when `column = prefix || member row id`.
#[derive(Debug, Clone, Copy)]
pub struct Owner {
    pub column: &'static str,
    pub prefix: &'static str,
}

/// The export rule of one table.
#[derive(Debug, Clone, Copy)]
pub struct TableExport {
    pub table: &'static str,
    pub scope: TableScope,
    /// The primary key, in order: pages are read by keyset on these columns.
    pub key: &'static [&'static str],
    /// Columns that make a row part of a member's own export.
    pub owners: &'static [Owner],
    pub columns: ColumnRules,
}

use ColumnExport::{Decrypted as D, Json as J, Stored as S};

const fn o(reason: &'static str) -> ColumnExport {
    ColumnExport::Omitted { reason }
}

const fn own(column: &'static str) -> Owner {
    Owner { column, prefix: "" }
}

/// An exported table scoped on `community_id`.
const fn community(
    table: &'static str,
    key: &'static [&'static str],
    owners: &'static [Owner],
    columns: ColumnRules,
) -> TableExport {
    TableExport {
        table,
        scope: TableScope::Community {
            column: "community_id",
        },
        key,
        owners,
        columns,
    }
}

/// A table no export carries.
const fn not_exported(table: &'static str, reason: &'static str) -> TableExport {
    TableExport {
        table,
        scope: TableScope::NotExported { reason },
        key: &[],
        owners: &[],
        columns: ColumnRules::ByClass,
    }
}

const BIDX: &str = "blind index: a keyed hash of the email, useless outside ClassCred; the email itself is exported decrypted";
const SECRET_HASH: &str = "hash of a secret token; exporting it would only help guess the token";
const CHAIN: &str = "tamper-evidence hash of the audit chain, meaningless outside it";

/// The export rule of every table. Adding a table: one line, usually
/// `community("t", &["id"], &[own("member_id")], ColumnRules::ByClass)`.
pub static EXPORT_RULES: &[TableExport] = &[
    not_exported("_sqlx_migrations", "schema bookkeeping, not community data"),
    not_exported("institution", "shared by several communities; an organisation, not a person"),
    TableExport {
        table: "community",
        scope: TableScope::Community { column: "id" },
        key: &["id"],
        owners: &[],
        columns: ColumnRules::Explicit(&[
            ("id", S),
            ("institution_id", S),
            ("name", S),
            ("platform", S),
            ("platform_team_id", S),
            ("settings", J),
            ("initial_settings", J),
            ("state", S),
            ("disabled_at", S),
            ("event_seq", S),
            ("created_at", S),
        ]),
    },
    not_exported("community_key", "key material (the wrapped data key), never exported"),
    community(
        "member",
        &["id"],
        &[own("id")],
        ColumnRules::Explicit(&[
            ("id", S),
            ("community_id", S),
            ("platform_user_id", S),
            ("role", S),
            ("kind", S),
            ("level", S),
            ("name_enc", D),
            ("display_name_enc", D),
            ("email_enc", D),
            ("email_bidx", o(BIDX)),
            ("avatar_url_enc", D),
            ("timezone_enc", D),
            ("joined_at", S),
            ("updated_at", S),
            ("profile_version", S),
            ("erased_at", S),
        ]),
    ),
    community(
        "message",
        &["id"],
        &[own("author_member_id")],
        ColumnRules::ByClass,
    ),
    community(
        "installation",
        &["id"],
        &[own("installed_by_member_id")],
        ColumnRules::Explicit(&[
            ("id", S),
            ("community_id", S),
            ("platform", S),
            ("platform_team_id", S),
            ("bot_user_id", S),
            ("scopes", S),
            (
                "bot_token_enc",
                o("a credential that acts for the community on the platform; an export must not hand it out"),
            ),
            ("installed_by_member_id", S),
            ("installed_at", S),
            ("revoked_at", S),
        ]),
    ),
    community("inbox", &["id"], &[], ColumnRules::ByClass),
    community(
        "platform_non_member",
        &["platform_user_id"],
        &[],
        ColumnRules::ByClass,
    ),
    not_exported("oauth_state_used", "single-use install nonces, not scoped to a community"),
    community(
        "web_session",
        &["id_hash"],
        &[own("member_id")],
        ColumnRules::Explicit(&[
            ("id_hash", o(SECRET_HASH)),
            ("community_id", S),
            ("member_id", S),
            ("created_at", S),
            ("expires_at", S),
            ("revoked_at", S),
        ]),
    ),
    community(
        "ledger_entry",
        &["id"],
        &[own("member_id"), own("giver_member_id")],
        ColumnRules::ByClass,
    ),
    community(
        "engine_message",
        &["platform_message_id"],
        &[own("author_member_id")],
        ColumnRules::Explicit(&[
            ("community_id", S),
            ("platform_message_id", S),
            ("author_member_id", S),
            ("record", J),
        ]),
    ),
    community(
        "engine_reaction",
        &["platform_message_id", "reactor_member_id"],
        &[own("reactor_member_id")],
        ColumnRules::Explicit(&[
            ("community_id", S),
            ("platform_message_id", S),
            ("reactor_member_id", S),
            ("record", J),
        ]),
    ),
    community(
        "member_badge",
        &["member_id", "badge_id", "instance"],
        &[own("member_id"), own("awarded_by")],
        ColumnRules::ByClass,
    ),
    community(
        "member_points",
        &["member_id"],
        &[own("member_id")],
        ColumnRules::ByClass,
    ),
    community(
        "member_period_points",
        &["period", "member_id"],
        &[own("member_id")],
        ColumnRules::ByClass,
    ),
    community(
        "points_period_zone",
        &["community_id"],
        &[],
        ColumnRules::ByClass,
    ),
    community(
        "feed_item",
        &["id"],
        &[own("member_id")],
        ColumnRules::Explicit(&[
            ("id", S),
            ("community_id", S),
            ("member_id", S),
            ("kind", S),
            ("payload", J),
            ("occurred_at", S),
            ("created_at", S),
        ]),
    ),
    community(
        "audit_entry",
        &["seq"],
        &[
            Owner {
                column: "actor",
                prefix: "member:",
            },
            Owner {
                column: "subject",
                prefix: "member:",
            },
        ],
        ColumnRules::Explicit(&[
            ("seq", S),
            ("community_id", S),
            ("actor", S),
            ("action", S),
            ("subject", S),
            ("at", S),
            ("details", J),
            ("prev_hash", o(CHAIN)),
            ("hash", o(CHAIN)),
        ]),
    ),
    not_exported("audit_head", "the audit chain's head: bookkeeping of the whole installation"),
    not_exported("server_lease", "running server processes, not community data"),
    not_exported("keyring", "key-rotation bookkeeping, not community data"),
    not_exported("job", "the background work queue: transient, ids only"),
    community(
        "api_token",
        &["id"],
        &[],
        ColumnRules::Explicit(&[
            ("id", S),
            ("community_id", S),
            ("name", S),
            ("token_hash", o(SECRET_HASH)),
            ("created_at", S),
            ("last_used_at", S),
            ("revoked_at", S),
        ]),
    ),
    community(
        "export_job",
        &["id"],
        &[own("member_id"), own("recipient_member_id")],
        ColumnRules::ByClass,
    ),
    community(
        "erasure_request",
        &["id"],
        &[own("member_id")],
        ColumnRules::ByClass,
    ),
    community(
        "privacy_request",
        &["id"],
        &[own("member_id")],
        ColumnRules::ByClass,
    ),
    community(
        "announcement",
        &["id"],
        &[own("created_by")],
        ColumnRules::ByClass,
    ),
    community(
        "retention_policy",
        &["community_id"],
        &[],
        ColumnRules::ByClass,
    ),    // Privacy governance registers (issue 12).
    not_exported(
        "policy_version",
        "install-wide and public: the policy texts are on /privacy/policy for everyone",
    ),
    community(
        "policy_ack",
        &["id"],
        &[own("member_id")],
        ColumnRules::ByClass,
    ),
    not_exported(
        "breach",
        "the operator's install-wide breach register; each community's Admins receive the notice about it (breach_notice is exported)",
    ),
    community(
        "breach_notice",
        &["id"],
        &[own("member_id")],
        ColumnRules::ByClass,
    ),
    not_exported(
        "legal_request",
        "the operator's install-wide legal-request register; a request may be under a non-disclosure order, so no community export carries it",
    ),
    community(
        "sign_in_record",
        &["id"],
        &[own("member_id")],
        ColumnRules::ByClass,
    ),
    not_exported(
        "usage_daily",
        "installation-wide visitor counts, not about any community or person",
    ),
    community(
        "award_pair",
        &["giver_member_id", "recipient_member_id"],
        &[own("giver_member_id"), own("recipient_member_id")],
        ColumnRules::ByClass,
    ),
    // The class store (issue 11).
    community("store_item", &["id"], &[], ColumnRules::ByClass),
    community(
        "store_purchase",
        &["id"],
        &[own("member_id"), own("decided_by")],
        ColumnRules::ByClass,
    ),
    // Questions and answers (migration 0021): ids and times; the texts are exported with
    // `message`.
    community(
        "question",
        &["platform_message_id"],
        &[own("asker_member_id")],
        ColumnRules::Explicit(&[
            ("community_id", S),
            ("platform_message_id", S),
            ("asker_member_id", S),
            ("channel_id", S),
            ("asked_at", S),
            ("deleted", S),
            ("accepted_answer_id", S),
            ("answer_count", S),
            ("record", J),
            ("updated_at", S),
        ]),
    ),
    community(
        "answer",
        &["platform_message_id"],
        &[own("author_member_id")],
        ColumnRules::ByClass,
    ),
    // Polls and debates (migration 0024): texts decrypted; a member's own export has their
    // votes in polls that are not anonymous (anonymous votes name nobody).
    community(
        "poll",
        &["id"],
        &[own("created_by"), own("closed_by")],
        ColumnRules::ByClass,
    ),
    community("poll_option", &["id"], &[], ColumnRules::ByClass),
    community("poll_vote", &["id"], &[own("member_id")], ColumnRules::ByClass),
    community("poll_debater", &["id"], &[own("member_id")], ColumnRules::ByClass),
    // Custom reward rules (migration 0025): staff definitions, no member data.
    community("reward_rule", &["id"], &[], ColumnRules::ByClass),
    community(
        "reward_rule_version",
        &["rule_id", "version"],
        &[],
        ColumnRules::ByClass,
    ),
    // Firsts (migration 0026): a student's own first responses; announcement posts name no
    // member (the announcement's author is exported with `announcement`).
    community(
        "announcement_post",
        &["platform_message_id"],
        &[],
        ColumnRules::ByClass,
    ),
    community(
        "first_response",
        &["target_kind", "target_id", "member_id"],
        &[own("member_id")],
        ColumnRules::ByClass,
    ),
];

/// The export rule of `table`.
pub fn table_rule(table: &str) -> Option<&'static TableExport> {
    EXPORT_RULES.iter().find(|t| t.table == table)
}

/// The rule of one column, or `None` when the table or the column has none. Columns of a table
/// that is not exported are all omitted with the table's reason.
pub fn column_rule(table: &str, column: &str) -> Option<ColumnExport> {
    let t = table_rule(table)?;
    let declared = super::table(table)?
        .columns
        .iter()
        .find(|c| c.name == column)?;
    if let TableScope::NotExported { reason } = t.scope {
        return Some(ColumnExport::Omitted { reason });
    }
    match t.columns {
        ColumnRules::Explicit(list) => list.iter().find(|(c, _)| *c == column).map(|(_, r)| *r),
        ColumnRules::ByClass => Some(match declared.class {
            Class::Personal(p) => match p.protection {
                Protection::Encrypted => ColumnExport::Decrypted,
                Protection::BlindIndex => ColumnExport::Omitted { reason: BIDX },
                Protection::Hashed => ColumnExport::Omitted {
                    reason: SECRET_HASH,
                },
                Protection::Pseudonymous => ColumnExport::Stored,
            },
            Class::NonPersonal { .. } => ColumnExport::Stored,
        }),
    }
}

/// The exported tables, in registry order, with their exported columns in registry order.
pub fn exported_tables() -> Vec<(&'static TableExport, Vec<(&'static str, ColumnExport)>)> {
    TABLES
        .iter()
        .filter_map(|t| {
            let rule = table_rule(t.name)?;
            if matches!(rule.scope, TableScope::NotExported { .. }) {
                return None;
            }
            let cols = t
                .columns
                .iter()
                .filter_map(|c| {
                    let r = column_rule(t.name, c.name)?;
                    (!matches!(r, ColumnExport::Omitted { .. })).then_some((c.name, r))
                })
                .collect();
            Some((rule, cols))
        })
        .collect()
}

/// A short hash of the registry and these rules (the archive's `registry_version`): it changes
/// whenever a table, a column, its class or its export rule changes.
pub fn registry_version() -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for t in TABLES {
        h.update(t.name.as_bytes());
        h.update([0]);
        for c in t.columns {
            h.update(c.name.as_bytes());
            h.update([0]);
            h.update(format!("{:?}|{:?}", c.class, column_rule(t.name, c.name)).as_bytes());
            h.update([0]);
        }
    }
    hex::encode(&h.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registry_column_has_an_export_rule() {
        let mut missing = Vec::new();
        for t in TABLES {
            for c in t.columns {
                if column_rule(t.name, c.name).is_none() {
                    missing.push(format!("{}.{}", t.name, c.name));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "columns without an export rule (add them to registry/export.rs): {missing:?}"
        );
    }

    #[test]
    fn no_encrypted_column_is_exported_as_stored() {
        for t in TABLES {
            for c in t.columns {
                let encrypted = matches!(
                    c.class,
                    Class::Personal(p) if p.protection == Protection::Encrypted
                );
                let rule = column_rule(t.name, c.name);
                if encrypted {
                    assert!(
                        matches!(
                            rule,
                            Some(ColumnExport::Decrypted | ColumnExport::Omitted { .. })
                        ),
                        "{}.{} is encrypted but exported {rule:?}",
                        t.name,
                        c.name
                    );
                } else {
                    assert_ne!(
                        rule,
                        Some(ColumnExport::Decrypted),
                        "{}.{} is not encrypted",
                        t.name,
                        c.name
                    );
                }
            }
        }
    }

    #[test]
    fn rules_name_only_declared_tables_and_columns_and_keys_exist() {
        for r in EXPORT_RULES {
            let t = super::super::table(r.table)
                .unwrap_or_else(|| unreachable!("export rule for undeclared table {}", r.table));
            let has = |c: &str| t.columns.iter().any(|col| col.name == c);
            if let ColumnRules::Explicit(list) = r.columns {
                for (c, _) in list {
                    assert!(has(c), "export rule for undeclared column {}.{c}", r.table);
                }
            }
            if let TableScope::Community { column } = r.scope {
                assert!(has(column), "{}: scope column {column}", r.table);
                assert!(!r.key.is_empty(), "{}: exported tables need a key", r.table);
            }
            for k in r.key {
                assert!(has(k), "{}: key column {k}", r.table);
            }
            for o in r.owners {
                assert!(has(o.column), "{}: owner column {}", r.table, o.column);
            }
        }
    }

    #[test]
    fn secrets_are_not_exported() {
        for (t, c) in [
            ("member", "email_bidx"),
            ("web_session", "id_hash"),
            ("api_token", "token_hash"),
            ("installation", "bot_token_enc"),
            ("audit_entry", "hash"),
            ("community_key", "wrapped_key"),
        ] {
            assert!(
                matches!(column_rule(t, c), Some(ColumnExport::Omitted { .. })),
                "{t}.{c} must not be exported"
            );
        }
    }
}
