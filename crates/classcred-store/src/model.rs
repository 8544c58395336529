//! Institutions, communities, members, messages, installations, inbox and ledger rows.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{new_id, open_opt, seal_opt, Result, StoreError, Tx};

/// A member's role inside a community.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Instructor,
    Student,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Instructor => "instructor",
            Role::Student => "student",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "admin" => Ok(Role::Admin),
            "instructor" => Ok(Role::Instructor),
            "student" => Ok(Role::Student),
            other => Err(StoreError::Invalid(format!(
                "role must be admin, instructor or student, got {other:?}"
            ))),
        }
    }
}

/// Whether a member is a person, another bot, or this app itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberKind {
    #[default]
    Human,
    Bot,
    App,
}

impl MemberKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberKind::Human => "human",
            MemberKind::Bot => "bot",
            MemberKind::App => "app",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "human" => Ok(MemberKind::Human),
            "bot" => Ok(MemberKind::Bot),
            "app" => Ok(MemberKind::App),
            other => Err(StoreError::Invalid(format!(
                "member kind must be human, bot or app, got {other:?}"
            ))),
        }
    }
}

/// Whether a community is in use or was disabled (uninstalled, tokens revoked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CommunityState {
    Active,
    Disabled,
}

impl CommunityState {
    pub fn as_str(self) -> &'static str {
        match self {
            CommunityState::Active => "active",
            CommunityState::Disabled => "disabled",
        }
    }
    fn parse(s: &str) -> Result<Self> {
        match s {
            "active" => Ok(CommunityState::Active),
            "disabled" => Ok(CommunityState::Disabled),
            other => Err(StoreError::Invalid(format!(
                "unknown community state {other:?}"
            ))),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Institution {
    pub id: String,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewCommunity {
    pub institution_id: String,
    pub name: String,
    /// `slack`, `teams`, `discord`, `matrix` or `demo`.
    pub platform: String,
    /// The platform's workspace/team id, when there is one.
    pub platform_team_id: Option<String>,
    /// Community settings as JSON (the engine owns their shape).
    pub settings_json: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Community {
    pub id: String,
    pub institution_id: String,
    pub name: String,
    pub platform: String,
    pub platform_team_id: Option<String>,
    pub settings_json: String,
    pub state: CommunityState,
    pub disabled_at: Option<i64>,
    pub created_at: i64,
}

/// The personal profile fields of a member. All of them are encrypted at rest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberProfile {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub avatar_url: Option<String>,
    pub timezone: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewMember {
    pub platform_user_id: String,
    pub role: Role,
    pub kind: MemberKind,
    pub profile: MemberProfile,
}

#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub id: String,
    pub community_id: String,
    pub platform_user_id: String,
    pub role: Role,
    pub kind: MemberKind,
    /// Highest level announced to the member.
    pub level: i64,
    pub profile: MemberProfile,
    pub joined_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewMessage {
    pub platform_message_id: String,
    pub channel_id: String,
    pub author_member_id: Option<String>,
    pub thread_id: Option<String>,
    pub text: String,
    pub posted_at: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub id: String,
    pub community_id: String,
    pub platform_message_id: String,
    pub channel_id: String,
    pub author_member_id: Option<String>,
    pub thread_id: Option<String>,
    pub text: Option<String>,
    pub posted_at: i64,
    pub edited_at: Option<i64>,
    pub deleted_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewInstallation {
    pub platform: String,
    pub platform_team_id: String,
    pub bot_user_id: Option<String>,
    pub scopes: String,
    pub bot_token: SecretString,
    pub installed_by_member_id: Option<String>,
}

/// Outcome of storing a platform delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboxInsert {
    /// Stored for processing, with this inbox id.
    Stored(String),
    /// The same platform event id was already stored; nothing was written.
    Duplicate,
}

#[derive(Debug, Clone)]
pub struct InboxEvent {
    pub id: String,
    pub community_id: String,
    pub platform: String,
    pub event_id: String,
    pub event_type: String,
    /// The narrow, parsed event (JSON), decrypted.
    pub payload: Vec<u8>,
    pub occurred_at: i64,
    pub processed_at: Option<i64>,
    pub attempts: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct NewLedgerEntry {
    pub member_id: String,
    pub kind: String,
    pub amount_milli: i64,
    pub idempotency_key: String,
    pub giver_member_id: Option<String>,
    /// `admin`, `instructor` or `student`: the giver's role when the fire was given.
    pub giver_role: Option<String>,
    pub source_ref: Option<String>,
    pub quota_day: Option<String>,
    pub iso_week: Option<String>,
    /// +1 for a quota debit, −1 for a same-day refund.
    pub quota_units: i64,
    /// +1 for an awarded fire unit, −1 for a reversed one.
    pub fire_units: i64,
    /// Free text (feedback, adjustment reason); encrypted.
    pub note: Option<String>,
    pub occurred_at: i64,
}

/// A stored ledger entry: what was written, plus where and when.
#[derive(Debug, Clone, Serialize)]
pub struct LedgerEntry {
    pub id: String,
    pub community_id: String,
    #[serde(flatten)]
    pub entry: NewLedgerEntry,
    pub created_at: i64,
}

fn community_from_row(r: &AnyRow) -> Result<Community> {
    Ok(Community {
        id: r.try_get("id")?,
        institution_id: r.try_get("institution_id")?,
        name: r.try_get("name")?,
        platform: r.try_get("platform")?,
        platform_team_id: r.try_get("platform_team_id")?,
        settings_json: r.try_get("settings")?,
        state: CommunityState::parse(&r.try_get::<String, _>("state")?)?,
        disabled_at: r.try_get("disabled_at")?,
        created_at: r.try_get("created_at")?,
    })
}

const COMMUNITY_COLUMNS: &str =
    "id, institution_id, name, platform, platform_team_id, settings, state, disabled_at, created_at";
const MEMBER_COLUMNS: &str = "id, community_id, platform_user_id, role, kind, level, name_enc, \
     display_name_enc, email_enc, avatar_url_enc, timezone_enc, joined_at, updated_at";
const LEDGER_COLUMNS: &str = "id, community_id, member_id, kind, amount_milli, idempotency_key, \
     giver_member_id, giver_role, source_ref, quota_day, iso_week, quota_units, fire_units, note_enc, \
     occurred_at, created_at";

/// Lowercased, trimmed email: the form the blind index is computed over.
fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

impl Tx<'_> {
    pub async fn create_institution(&mut self, name: &str) -> Result<Institution> {
        let inst = Institution {
            id: new_id(),
            name: name.to_string(),
            created_at: self.now_ms(),
        };
        sqlx::query("INSERT INTO institution (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&inst.id)
            .bind(&inst.name)
            .bind(inst.created_at)
            .execute(&mut *self.tx)
            .await?;
        Ok(inst)
    }

    /// Create a community and its data key.
    pub async fn create_community(&mut self, new: NewCommunity) -> Result<Community> {
        let id = new_id();
        let now = self.now_ms();
        sqlx::query(
            "INSERT INTO community (id, institution_id, name, platform, platform_team_id, settings, state, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'active', $7)",
        )
        .bind(&id)
        .bind(&new.institution_id)
        .bind(&new.name)
        .bind(&new.platform)
        .bind(&new.platform_team_id)
        .bind(&new.settings_json)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        self.create_data_key(&id).await?;
        self.community(&id).await
    }

    pub async fn community(&mut self, id: &str) -> Result<Community> {
        let sql = format!("SELECT {COMMUNITY_COLUMNS} FROM community WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "community",
                id: id.to_string(),
            })?;
        community_from_row(&row)
    }

    pub async fn community_by_team(
        &mut self,
        platform: &str,
        team_id: &str,
    ) -> Result<Option<Community>> {
        let sql = format!(
            "SELECT {COMMUNITY_COLUMNS} FROM community WHERE platform = $1 AND platform_team_id = $2"
        );
        let row = sqlx::query(&sql)
            .bind(platform)
            .bind(team_id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(community_from_row).transpose()
    }

    pub async fn list_communities(&mut self) -> Result<Vec<Community>> {
        let sql = format!("SELECT {COMMUNITY_COLUMNS} FROM community ORDER BY created_at, id");
        let rows = sqlx::query(&sql).fetch_all(&mut *self.tx).await?;
        rows.iter().map(community_from_row).collect()
    }

    pub async fn update_community_settings(&mut self, id: &str, settings_json: &str) -> Result<()> {
        sqlx::query("UPDATE community SET settings = $2 WHERE id = $1")
            .bind(id)
            .bind(settings_json)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Mark a community disabled (uninstall / token revocation), recording when.
    pub async fn disable_community(&mut self, id: &str) -> Result<()> {
        let now = self.now_ms();
        sqlx::query(
            "UPDATE community SET state = 'disabled', disabled_at = COALESCE(disabled_at, $2) WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Re-enable a community (re-installed after an uninstall): the deletion clock stops.
    pub async fn enable_community(&mut self, id: &str) -> Result<()> {
        sqlx::query("UPDATE community SET state = 'active', disabled_at = NULL WHERE id = $1")
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Mark every installation of a community revoked (uninstall, token revocation).
    pub async fn revoke_installations(&mut self, community_id: &str) -> Result<u64> {
        let now = self.now_ms();
        let done = sqlx::query(
            "UPDATE installation SET revoked_at = $2 WHERE community_id = $1 AND revoked_at IS NULL",
        )
        .bind(community_id)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected())
    }

    /// The platform user id of a member, without decrypting anything.
    pub async fn platform_user_id(
        &mut self,
        community_id: &str,
        member_id: &str,
    ) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT platform_user_id FROM member WHERE community_id = $1 AND id = $2",
        )
        .bind(community_id)
        .bind(member_id)
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    /// Insert a member, or update the profile of the member with the same platform user id.
    /// Role and kind are set on insert only: afterwards they change through engine events
    /// (role changes, profile changes), so that the inbox alone can replay them. Returns the
    /// member's id.
    pub async fn upsert_member(&mut self, community_id: &str, new: &NewMember) -> Result<String> {
        let existing: Option<String> = sqlx::query_scalar(
            "SELECT id FROM member WHERE community_id = $1 AND platform_user_id = $2",
        )
        .bind(community_id)
        .bind(&new.platform_user_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        let id = existing.clone().unwrap_or_else(new_id);
        let dek = self.data_key(community_id).await?;
        let p = &new.profile;
        let seal = |column, value: Option<&str>| {
            seal_opt(&dek, community_id, "member", column, &id, value)
        };
        let name = seal("name_enc", p.name.as_deref());
        let display = seal("display_name_enc", p.display_name.as_deref());
        let email = seal("email_enc", p.email.as_deref());
        let avatar = seal("avatar_url_enc", p.avatar_url.as_deref());
        let tz = seal("timezone_enc", p.timezone.as_deref());
        let email_bidx = p
            .email
            .as_deref()
            .map(|e| dek.blind_index("member.email", &normalise_email(e)));
        let now = self.now_ms();
        // Same placeholders in both statements; the update leaves role ($3) and kind ($4) alone.
        let sql = if existing.is_some() {
            "UPDATE member SET name_enc = $5, display_name_enc = $6, email_enc = $7, email_bidx = $8, \
             avatar_url_enc = $9, timezone_enc = $10, updated_at = $11 \
             WHERE id = $1 AND community_id = $2 AND platform_user_id = $12 \
             AND CAST($3 AS TEXT) IS NOT NULL AND CAST($4 AS TEXT) IS NOT NULL"
        } else {
            "INSERT INTO member (id, community_id, role, kind, name_enc, display_name_enc, email_enc, \
             email_bidx, avatar_url_enc, timezone_enc, joined_at, updated_at, platform_user_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12)"
        };
        sqlx::query(sql)
            .bind(&id)
            .bind(community_id)
            .bind(new.role.as_str())
            .bind(new.kind.as_str())
            .bind(name)
            .bind(display)
            .bind(email)
            .bind(email_bidx)
            .bind(avatar)
            .bind(tz)
            .bind(now)
            .bind(&new.platform_user_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(id)
    }

    fn member_from_row(
        dek: &classcred_crypto::DataKey,
        community_id: &str,
        r: &AnyRow,
    ) -> Result<Member> {
        let id: String = r.try_get("id")?;
        let open = |column| open_opt(dek, r, community_id, "member", column, &id);
        Ok(Member {
            profile: MemberProfile {
                name: open("name_enc")?,
                display_name: open("display_name_enc")?,
                email: open("email_enc")?,
                avatar_url: open("avatar_url_enc")?,
                timezone: open("timezone_enc")?,
            },
            community_id: r.try_get("community_id")?,
            platform_user_id: r.try_get("platform_user_id")?,
            role: Role::parse(&r.try_get::<String, _>("role")?)?,
            kind: MemberKind::parse(&r.try_get::<String, _>("kind")?)?,
            level: r.try_get("level")?,
            joined_at: r.try_get("joined_at")?,
            updated_at: r.try_get("updated_at")?,
            id,
        })
    }

    /// A member with decrypted profile. `Erased` when the community's key was destroyed.
    pub async fn member(&mut self, community_id: &str, member_id: &str) -> Result<Member> {
        let sql =
            format!("SELECT {MEMBER_COLUMNS} FROM member WHERE community_id = $1 AND id = $2");
        let row = sqlx::query(&sql)
            .bind(community_id)
            .bind(member_id)
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "member",
                id: member_id.to_string(),
            })?;
        let dek = self.data_key(community_id).await?;
        Self::member_from_row(&dek, community_id, &row)
    }

    pub async fn member_by_platform_id(
        &mut self,
        community_id: &str,
        platform_user_id: &str,
    ) -> Result<Option<Member>> {
        let sql = format!(
            "SELECT {MEMBER_COLUMNS} FROM member WHERE community_id = $1 AND platform_user_id = $2"
        );
        let Some(row) = sqlx::query(&sql)
            .bind(community_id)
            .bind(platform_user_id)
            .fetch_optional(&mut *self.tx)
            .await?
        else {
            return Ok(None);
        };
        let dek = self.data_key(community_id).await?;
        Self::member_from_row(&dek, community_id, &row).map(Some)
    }

    /// Find a member by email through the blind index (no decryption of other rows).
    pub async fn member_by_email(
        &mut self,
        community_id: &str,
        email: &str,
    ) -> Result<Option<Member>> {
        let dek = self.data_key(community_id).await?;
        let bidx = dek.blind_index("member.email", &normalise_email(email));
        let sql = format!(
            "SELECT {MEMBER_COLUMNS} FROM member WHERE community_id = $1 AND email_bidx = $2"
        );
        let Some(row) = sqlx::query(&sql)
            .bind(community_id)
            .bind(bidx)
            .fetch_optional(&mut *self.tx)
            .await?
        else {
            return Ok(None);
        };
        Self::member_from_row(&dek, community_id, &row).map(Some)
    }

    pub async fn list_members(&mut self, community_id: &str) -> Result<Vec<Member>> {
        let sql = format!(
            "SELECT {MEMBER_COLUMNS} FROM member WHERE community_id = $1 ORDER BY joined_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(community_id)
            .fetch_all(&mut *self.tx)
            .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let dek = self.data_key(community_id).await?;
        rows.iter()
            .map(|r| Self::member_from_row(&dek, community_id, r))
            .collect()
    }

    /// Store a message. A message with the same platform id is left as it is; returns its id.
    pub async fn insert_message(&mut self, community_id: &str, new: &NewMessage) -> Result<String> {
        let id = new_id();
        let dek = self.data_key(community_id).await?;
        let text = seal_opt(
            &dek,
            community_id,
            "message",
            "text_enc",
            &id,
            Some(&new.text),
        );
        let inserted: Option<String> = sqlx::query_scalar(
            "INSERT INTO message (id, community_id, platform_message_id, channel_id, author_member_id, \
             thread_id, text_enc, posted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (community_id, platform_message_id) DO NOTHING RETURNING id",
        )
        .bind(&id)
        .bind(community_id)
        .bind(&new.platform_message_id)
        .bind(&new.channel_id)
        .bind(&new.author_member_id)
        .bind(&new.thread_id)
        .bind(text)
        .bind(new.posted_at)
        .fetch_optional(&mut *self.tx)
        .await?;
        match inserted {
            Some(id) => Ok(id),
            None => Ok(sqlx::query_scalar(
                "SELECT id FROM message WHERE community_id = $1 AND platform_message_id = $2",
            )
            .bind(community_id)
            .bind(&new.platform_message_id)
            .fetch_one(&mut *self.tx)
            .await?),
        }
    }

    pub async fn list_messages(&mut self, community_id: &str) -> Result<Vec<Message>> {
        let rows = sqlx::query(
            "SELECT id, community_id, platform_message_id, channel_id, author_member_id, thread_id, \
             text_enc, posted_at, edited_at, deleted_at FROM message WHERE community_id = $1 \
             ORDER BY posted_at, id",
        )
        .bind(community_id)
        .fetch_all(&mut *self.tx)
        .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let dek = self.data_key(community_id).await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get("id")?;
                Ok(Message {
                    text: open_opt(&dek, r, community_id, "message", "text_enc", &id)?,
                    community_id: r.try_get("community_id")?,
                    platform_message_id: r.try_get("platform_message_id")?,
                    channel_id: r.try_get("channel_id")?,
                    author_member_id: r.try_get("author_member_id")?,
                    thread_id: r.try_get("thread_id")?,
                    posted_at: r.try_get("posted_at")?,
                    edited_at: r.try_get("edited_at")?,
                    deleted_at: r.try_get("deleted_at")?,
                    id,
                })
            })
            .collect()
    }

    /// Record a platform installation with its bot token encrypted.
    pub async fn save_installation(
        &mut self,
        community_id: &str,
        new: &NewInstallation,
    ) -> Result<String> {
        let id = new_id();
        let dek = self.data_key(community_id).await?;
        let token = seal_opt(
            &dek,
            community_id,
            "installation",
            "bot_token_enc",
            &id,
            Some(new.bot_token.expose_secret()),
        );
        sqlx::query(
            "INSERT INTO installation (id, community_id, platform, platform_team_id, bot_user_id, scopes, \
             bot_token_enc, installed_by_member_id, installed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(community_id)
        .bind(&new.platform)
        .bind(&new.platform_team_id)
        .bind(&new.bot_user_id)
        .bind(&new.scopes)
        .bind(token)
        .bind(&new.installed_by_member_id)
        .bind(self.now_ms())
        .execute(&mut *self.tx)
        .await?;
        Ok(id)
    }

    /// The bot token of the community's newest installation that is not revoked.
    pub async fn bot_token(&mut self, community_id: &str) -> Result<Option<SecretString>> {
        let Some(row) = sqlx::query(
            "SELECT id, bot_token_enc FROM installation WHERE community_id = $1 AND revoked_at IS NULL \
             ORDER BY installed_at DESC, id DESC LIMIT 1",
        )
        .bind(community_id)
        .fetch_optional(&mut *self.tx)
        .await?
        else {
            return Ok(None);
        };
        let id: String = row.try_get("id")?;
        let dek = self.data_key(community_id).await?;
        let token = open_opt(
            &dek,
            &row,
            community_id,
            "installation",
            "bot_token_enc",
            &id,
        )?;
        Ok(token.map(SecretString::from))
    }

    /// Store a platform delivery durably, once per (platform, event id).
    pub async fn insert_inbox(
        &mut self,
        community_id: &str,
        platform: &str,
        event_id: &str,
        event_type: &str,
        payload: &[u8],
        occurred_at: i64,
    ) -> Result<InboxInsert> {
        let id = new_id();
        let dek = self.data_key(community_id).await?;
        let sealed = dek.seal(
            classcred_crypto::FieldRef {
                community_id,
                table: "inbox",
                column: "payload_enc",
                row_id: &id,
            },
            payload,
        );
        let stored: Option<String> = sqlx::query_scalar(
            "INSERT INTO inbox (id, community_id, platform, event_id, event_type, payload_enc, occurred_at, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (platform, event_id) DO NOTHING RETURNING id",
        )
        .bind(&id)
        .bind(community_id)
        .bind(platform)
        .bind(event_id)
        .bind(event_type)
        .bind(sealed)
        .bind(occurred_at)
        .bind(self.now_ms())
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(stored.map_or(InboxInsert::Duplicate, InboxInsert::Stored))
    }

    pub async fn inbox_event(&mut self, id: &str) -> Result<InboxEvent> {
        let row = sqlx::query(
            "SELECT id, community_id, platform, event_id, event_type, payload_enc, occurred_at, processed_at, attempts \
             FROM inbox WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *self.tx)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "inbox event",
            id: id.to_string(),
        })?;
        let community_id: String = row.try_get("community_id")?;
        let dek = self.data_key(&community_id).await?;
        let sealed: Vec<u8> = row.try_get("payload_enc")?;
        let payload = dek
            .open(
                classcred_crypto::FieldRef {
                    community_id: &community_id,
                    table: "inbox",
                    column: "payload_enc",
                    row_id: id,
                },
                &sealed,
            )
            .map_err(|source| StoreError::Crypto {
                table: "inbox",
                column: "payload_enc",
                row_id: id.to_string(),
                source,
            })?;
        Ok(InboxEvent {
            id: row.try_get("id")?,
            platform: row.try_get("platform")?,
            event_id: row.try_get("event_id")?,
            event_type: row.try_get("event_type")?,
            occurred_at: row.try_get("occurred_at")?,
            processed_at: row.try_get("processed_at")?,
            attempts: row.try_get("attempts")?,
            payload,
            community_id,
        })
    }

    pub async fn mark_inbox_processed(&mut self, id: &str) -> Result<()> {
        sqlx::query("UPDATE inbox SET processed_at = $2, attempts = attempts + 1, last_error = NULL WHERE id = $1")
            .bind(id)
            .bind(self.now_ms())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Append a ledger entry. Returns `false` (and writes nothing) when an entry with the same
    /// idempotency key already exists in the community.
    pub async fn insert_ledger_entry(
        &mut self,
        community_id: &str,
        new: &NewLedgerEntry,
    ) -> Result<bool> {
        let id = new_id();
        let dek = self.data_key(community_id).await?;
        let note = seal_opt(
            &dek,
            community_id,
            "ledger_entry",
            "note_enc",
            &id,
            new.note.as_deref(),
        );
        let stored: Option<String> = sqlx::query_scalar(
            "INSERT INTO ledger_entry (id, community_id, member_id, kind, amount_milli, idempotency_key, \
             giver_member_id, giver_role, source_ref, quota_day, iso_week, quota_units, fire_units, note_enc, \
             occurred_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
             ON CONFLICT (community_id, idempotency_key) DO NOTHING RETURNING id",
        )
        .bind(&id)
        .bind(community_id)
        .bind(&new.member_id)
        .bind(&new.kind)
        .bind(new.amount_milli)
        .bind(&new.idempotency_key)
        .bind(&new.giver_member_id)
        .bind(&new.giver_role)
        .bind(&new.source_ref)
        .bind(&new.quota_day)
        .bind(&new.iso_week)
        .bind(new.quota_units)
        .bind(new.fire_units)
        .bind(note)
        .bind(new.occurred_at)
        .bind(self.now_ms())
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(stored.is_some())
    }

    pub async fn ledger(&mut self, community_id: &str) -> Result<Vec<LedgerEntry>> {
        let sql = format!(
            "SELECT {LEDGER_COLUMNS} FROM ledger_entry WHERE community_id = $1 ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(community_id)
            .fetch_all(&mut *self.tx)
            .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let dek = self.data_key(community_id).await?;
        rows.iter()
            .map(|r| {
                let id: String = r.try_get("id")?;
                Ok(LedgerEntry {
                    entry: NewLedgerEntry {
                        note: open_opt(&dek, r, community_id, "ledger_entry", "note_enc", &id)?,
                        member_id: r.try_get("member_id")?,
                        kind: r.try_get("kind")?,
                        amount_milli: r.try_get("amount_milli")?,
                        idempotency_key: r.try_get("idempotency_key")?,
                        giver_member_id: r.try_get("giver_member_id")?,
                        giver_role: r.try_get("giver_role")?,
                        source_ref: r.try_get("source_ref")?,
                        quota_day: r.try_get("quota_day")?,
                        iso_week: r.try_get("iso_week")?,
                        quota_units: r.try_get("quota_units")?,
                        fire_units: r.try_get("fire_units")?,
                        occurred_at: r.try_get("occurred_at")?,
                    },
                    community_id: r.try_get("community_id")?,
                    created_at: r.try_get("created_at")?,
                    id,
                })
            })
            .collect()
    }

    /// Sum of ledger amounts per member (thousandths), from the ledger alone.
    pub async fn ledger_totals(&mut self, community_id: &str) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT member_id, CAST(SUM(amount_milli) AS BIGINT) AS total FROM ledger_entry \
             WHERE community_id = $1 GROUP BY member_id ORDER BY member_id",
        )
        .bind(community_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("member_id")?, r.try_get("total")?)))
            .collect()
    }
}
