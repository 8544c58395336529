//! Institutions, communities and platform installations.

use super::*;

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

    /// Create a community and its data key. Its settings are also kept as the settings it was
    /// created with (`initial_settings`), where `ledger replay` starts.
    pub async fn create_community(&mut self, new: NewCommunity) -> Result<Community> {
        let id = CommunityId::new_row();
        let now = self.now_ms();
        sqlx::query(
            "INSERT INTO community (id, institution_id, name, platform, platform_team_id, settings, initial_settings, state, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6, 'active', $7)",
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

    pub async fn community(&mut self, id: &CommunityId) -> Result<Community> {
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

    /// Mark a community disabled (uninstall / token revocation), recording when.
    pub async fn disable_community(&mut self, id: &CommunityId) -> Result<()> {
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
    pub async fn enable_community(&mut self, id: &CommunityId) -> Result<()> {
        sqlx::query("UPDATE community SET state = 'active', disabled_at = NULL WHERE id = $1")
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}

impl CommunityTx<'_, '_> {
    /// Store the settings an engine event (`settings_changed`) produced. Only the processing of
    /// an inbox row calls this, in the transaction that marks the row processed: settings never
    /// change outside the event order, so `ledger replay` reproduces them.
    pub async fn set_settings_from_engine(&mut self, settings_json: &str) -> Result<()> {
        let community_id = &self.community_id.clone();
        self.forget_points_zone();
        sqlx::query("UPDATE community SET settings = $2 WHERE id = $1")
            .bind(community_id)
            .bind(settings_json)
            .execute(&mut *self.tx)
            .await?;
        // A new timezone re-keys the leaderboard periods (rebuilt from the ledger here).
        self.ensure_points_zone().await?;
        Ok(())
    }

    /// Set up a new community's settings before anything happened in it (installation,
    /// tests): both the current and the initial settings are replaced. Refused once an event of
    /// the community has been processed: from then on settings change only through the inbox.
    pub async fn configure_settings_before_activity(&mut self, settings_json: &str) -> Result<()> {
        let community_id = &self.community_id.clone();
        let processed: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM inbox WHERE community_id = $1 AND processed_at IS NOT NULL",
        )
        .bind(community_id)
        .fetch_one(&mut *self.tx)
        .await?;
        if processed > 0 {
            return Err(StoreError::Invalid(format!(
                "community {community_id} already processed {processed} events: change its settings through the inbox"
            )));
        }
        self.forget_points_zone();
        let done =
            sqlx::query("UPDATE community SET settings = $2, initial_settings = $2 WHERE id = $1")
                .bind(community_id)
                .bind(settings_json)
                .execute(&mut *self.tx)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "community",
                id: community_id.to_string(),
            });
        }
        self.ensure_points_zone().await?;
        Ok(())
    }

    /// Mark every installation of a community revoked (uninstall, token revocation).
    pub async fn revoke_installations(&mut self) -> Result<u64> {
        let community_id = &self.community_id.clone();
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

    /// Record a platform installation with its bot token encrypted.
    pub async fn save_installation(&mut self, new: &NewInstallation) -> Result<String> {
        let community_id = &self.community_id.clone();
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
    pub async fn bot_token(&mut self) -> Result<Option<SecretString>> {
        let community_id = &self.community_id.clone();
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
}
