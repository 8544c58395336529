//! The declarations: every table and column of the schema, classified.

use super::*;
use Category::*;
use Protection::*;
use Retention::*;

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
            np(
                "initial_settings",
                "the course rules the community started with, where replay begins",
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
        purpose: "metadata of each community's data key (the wrapped key itself is in the separate key store, schema classcred_keys)",
        columns: &[
            np("community_id", COMMUNITY_ID),
            np(
                "master_key_id",
                "public fingerprint of the wrapping master key",
            ),
            np(
                "wrapped_key",
                "always NULL: wrapped keys moved to the key store (kept for old backups)",
            ),
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
            np(
                "profile_version",
                "the platform's modification time of the profile last applied, so an older one never overwrites it",
            ),
            np(
                "erased_at",
                "when the member was erased (key destroyed, profile removed, platform id pseudonymised)",
            ),
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
        name: "platform_non_member",
        purpose: "platform ids looked up and found not to be members (another workspace, unknown, deactivated), so they never receive fire and are not looked up again",
        columns: &[
            np("community_id", COMMUNITY_ID),
            personal(
                "platform_user_id",
                Metadata,
                Pseudonymous,
                Membership,
                "an id mentioned in the community that is not one of its members",
            ),
            np("reason", "why it is not a member: other workspace, not found, deactivated"),
            np("resolved_at", "when it was looked up"),
        ],
    },
    Table {
        name: "oauth_state_used",
        purpose: "OAuth install `state` nonces already used, until they expire (single use)",
        columns: &[
            np("nonce", "random value we generated for one install link"),
            np("expires_at", "when the state expires and the row may go"),
        ],
    },
    Table {
        name: "web_session",
        purpose: "dashboard sign-ins: one member of one community per session, until expiry or sign-out",
        columns: &[
            personal(
                "id_hash",
                Cookie,
                Hashed,
                Session,
                "finds the session of the browser's cookie; the cookie value is not stored",
            ),
            np("community_id", COMMUNITY_ID),
            personal(
                "member_id",
                Metadata,
                Pseudonymous,
                Session,
                "who is signed in",
            ),
            np("created_at", "when the member signed in"),
            np("expires_at", "when the session ends by itself"),
            np("revoked_at", "when the member signed out"),
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
            np(
                "chain_version",
                "1 = unkeyed SHA-256 links, 2 = HMAC under the master key's audit subkey",
            ),
        ],
    },
    Table {
        name: "server_lease",
        purpose: "running `classcred serve` processes, so key rotation refuses while one runs",
        columns: &[
            np("id", ID),
            np(
                "master_key_id",
                "public fingerprint of the master key the process runs with",
            ),
            np("started_at", CREATED),
            np(
                "expires_at",
                "lease expiry, refreshed while the process runs",
            ),
        ],
    },
    Table {
        name: "keyring",
        purpose: "one row that key rotation, data-key creation and server start lock first",
        columns: &[
            np("id", "always 1"),
            np("rotations", "how many master-key rotations ran"),
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
            np(
                "coalesce_key",
                "at most one queued job per key (one pending inbox drain per community)",
            ),
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
    Table {
        name: "api_token",
        purpose: "per-community tokens for the JSON API; only a hash of each token is kept",
        columns: &[
            np("id", ID),
            np("community_id", COMMUNITY_ID),
            np(
                "name",
                "label an Admin gave the token, naming an integration (e.g. gradebook sync)",
            ),
            np(
                "token_hash",
                "SHA-256 of a random token we generated; the token itself is not kept",
            ),
            np("created_at", CREATED),
            np("last_used_at", "when the token was last used, to the hour"),
            np("revoked_at", "when the token was revoked"),
        ],
    },
    Table {
        name: "erasure_request",
        purpose: "erasure requests (one member or a whole community): grace period, due date, state and the signed receipt; kept as the proof of the erasure",
        columns: &[
            np("id", ID),
            np("community_id", COMMUNITY_ID),
            np("target_kind", "member or community"),
            personal(
                "member_id",
                Metadata,
                Pseudonymous,
                Membership,
                "the member (row id) whose data is to be erased; after the erasure it names only the pseudonymous former-member row",
            ),
            np(
                "origin",
                "who started it: admin, student_request, retention or operator",
            ),
            personal(
                "requested_by",
                Metadata,
                Pseudonymous,
                Membership,
                "the Admin (member row id) who asked, for the audit trail",
            ),
            np("requested_at", CREATED),
            np("grace_until", "end of the period in which the request can be cancelled"),
            np("due_at", "the date by which the erasure must be done (30 days)"),
            np("state", "pending, cancelled, running, done or failed"),
            personal(
                "cancelled_by",
                Metadata,
                Pseudonymous,
                Membership,
                "the Admin (member row id) who cancelled it, for the audit trail",
            ),
            np("started_at", "when the erasure started"),
            np("finished_at", "when the erasure finished"),
            np("last_error", "why the last attempt failed (ids only)"),
            np(
                "receipt",
                "signed receipt: ids, table names, row counts and times, no personal data",
            ),
        ],
    },
    Table {
        name: "export_job",
        purpose: "full exports of a community's or a member's data, and who may download them",
        columns: &[
            np("id", ID),
            np("community_id", COMMUNITY_ID),
            np("kind", "community or member export"),
            personal(
                "member_id",
                Metadata,
                Pseudonymous,
                Membership,
                "whose data a member export holds",
            ),
            personal(
                "recipient_member_id",
                Metadata,
                Pseudonymous,
                Membership,
                "who may download the archive",
            ),
            personal(
                "requested_by",
                Metadata,
                Pseudonymous,
                Membership,
                "who asked for the export (member id or operator)",
            ),
            np("state", "queued, running, done, failed or expired"),
            np("progress_done", "rows written so far"),
            np("progress_total", "rows to write"),
            np("file_name", "archive file name in the export directory (ids only)"),
            np("sha256", "hash of the archive"),
            np("size", "archive size in bytes"),
            np("created_at", CREATED),
            np("finished_at", "when the archive was ready"),
            np("expires_at", "when the download link and the file expire"),
            np("purged_at", "when the file was deleted"),
        ],
    },
    Table {
        name: "privacy_request",
        purpose: "students' privacy requests (see/export, correct, delete their data) and the Admin's answer",
        columns: &[
            np("id", ID),
            np("community_id", COMMUNITY_ID),
            personal(
                "member_id",
                Metadata,
                Pseudonymous,
                Membership,
                "who asked (the request is about their own data)",
            ),
            np("kind", "access, correction or deletion"),
            personal(
                "details_enc",
                Activity,
                Encrypted,
                Membership,
                "what the student wrote with the request (optional)",
            ),
            np("state", "open, approved, declined or cancelled"),
            np("created_at", CREATED),
            np("due_at", "answer due 30 days after the request"),
            np("decided_at", "when the Admin answered or the student cancelled"),
            personal(
                "decided_by",
                Metadata,
                Pseudonymous,
                Membership,
                "which Admin answered (or the student who cancelled)",
            ),
            personal(
                "decision_note_enc",
                Activity,
                Encrypted,
                Membership,
                "the Admin's decline reason, or their note of what was corrected",
            ),
            np(
                "result_ref",
                "id of the export job or erasure request an approval started",
            ),
        ],
    },
    Table {
        name: "retention_policy",
        purpose: "how long a community keeps inbox payloads, texts, inactive members and itself once disabled",
        columns: &[
            np("community_id", COMMUNITY_ID),
            np("inbox_days", "days processed inbox payloads are kept"),
            np(
                "text_days_after_course_end",
                "days message and feedback text is kept after the course end date",
            ),
            np(
                "inactive_member_days",
                "days without activity after which a member is erased",
            ),
            np(
                "disabled_community_days",
                "days after being disabled after which a community is erased",
            ),
            np("updated_at", "when the schedule was last changed"),
            personal(
                "updated_by",
                Metadata,
                Pseudonymous,
                Membership,
                "who last changed the schedule (member id, or operator)",
            ),
        ],
    },
    Table {
        name: "sign_in_record",
        purpose: "dashboard sign-ins with their network and browser, shown to the member on /me (only when the operator turned device data on)",
        columns: &[
            np("id", ID),
            np("community_id", COMMUNITY_ID),
            personal(
                "member_id",
                Metadata,
                Pseudonymous,
                ThirtyDays,
                "who signed in",
            ),
            np("signed_in_at", "when the member signed in"),
            personal(
                "network_enc",
                DeviceNetwork,
                Encrypted,
                ThirtyDays,
                "the network the member signed in from, truncated before storage (IPv4 /24, IPv6 /48), so the member can spot a sign-in that was not theirs",
            ),
            personal(
                "agent_enc",
                DeviceNetwork,
                Encrypted,
                ThirtyDays,
                "the browser family and operating system of the sign-in (the user agent reduced, e.g. Firefox on Linux), for the same purpose",
            ),
        ],
    },
    Table {
        name: "usage_daily",
        purpose: "optional usage statistics: distinct consenting visitors per day and page group (counts only)",
        columns: &[
            np("day", "UTC day of the count"),
            np("page_group", "one of a fixed list of page groups (dashboard, my data, sign-in, public)"),
            np("visitors", "how many distinct consenting visitors; the visitor ids are never stored"),
        ],
    },
];
