//! Members: profiles sealed with the community key, looked up by id, platform id or email (blind index).

use super::*;

impl CommunityTx<'_, '_> {
    /// The platform user id of a member, without decrypting anything.
    pub async fn platform_user_id(&mut self, member_id: &MemberRowId) -> Result<Option<String>> {
        let community_id = &self.community_id.clone();
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
    pub async fn upsert_member(&mut self, new: &NewMember) -> Result<MemberRowId> {
        let community_id = &self.community_id.clone();
        let existing: Option<MemberRowId> = sqlx::query_scalar(
            "SELECT id FROM member WHERE community_id = $1 AND platform_user_id = $2",
        )
        .bind(community_id)
        .bind(&new.platform_user_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        let id = existing.clone().unwrap_or_else(MemberRowId::new_row);
        let dek = self.data_key(community_id).await?;
        // The profile is sealed with the member's own key (created with the member); an
        // erased member's destroyed key seals nothing.
        let member_key = self.member_key_for_write(community_id, id.as_str()).await?;
        let p = &new.profile;
        let seal = |column, value: Option<&str>| {
            member_key
                .as_deref()
                .and_then(|k| seal_opt(k, community_id, "member", column, id.as_str(), value))
        };
        let name = seal("name_enc", p.name.as_deref());
        let display = seal("display_name_enc", p.display_name.as_deref());
        let email = seal("email_enc", p.email.as_deref());
        let avatar = seal("avatar_url_enc", p.avatar_url.as_deref());
        let tz = seal("timezone_enc", p.timezone.as_deref());
        let email_bidx = p
            .email
            .as_deref()
            .filter(|_| member_key.is_some())
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

    /// A member row, its profile opened with the member's key (all `None` once destroyed).
    async fn open_member(&mut self, r: &AnyRow) -> Result<Member> {
        let community_id = &self.community_id.clone();
        let id: String = r.try_get("id")?;
        let key = self.member_key(community_id, &id).await?;
        Self::member_from_row(key.as_deref(), community_id, r)
    }

    fn member_from_row(
        key: Option<&classcred_crypto::DataKey>,
        community_id: &CommunityId,
        r: &AnyRow,
    ) -> Result<Member> {
        let id: String = r.try_get("id")?;
        let open = |column| match key {
            Some(k) => open_opt(k, r, community_id, "member", column, &id),
            None => Ok(None),
        };
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
            id: MemberRowId::from_db(id),
        })
    }

    /// A member with decrypted profile. `Erased` when the community's key was destroyed.
    pub async fn member(&mut self, member_id: &MemberRowId) -> Result<Member> {
        let community_id = &self.community_id.clone();
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
        self.open_member(&row).await
    }

    pub async fn member_by_platform_id(
        &mut self,
        platform_user_id: &str,
    ) -> Result<Option<Member>> {
        let community_id = &self.community_id.clone();
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
        self.open_member(&row).await.map(Some)
    }

    /// Find a member by email through the blind index (no decryption of other rows).
    pub async fn member_by_email(&mut self, email: &str) -> Result<Option<Member>> {
        let community_id = &self.community_id.clone();
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
        self.open_member(&row).await.map(Some)
    }

    pub async fn list_members(&mut self) -> Result<Vec<Member>> {
        let community_id = &self.community_id.clone();
        let sql = format!(
            "SELECT {MEMBER_COLUMNS} FROM member WHERE community_id = $1 ORDER BY joined_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(community_id)
            .fetch_all(&mut *self.tx)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.open_member(r).await?);
        }
        Ok(out)
    }
}
