//! What the engine remembers: message and reaction records, badges, feed items.

use super::*;

impl CommunityTx<'_, '_> {
    pub async fn has_badge(
        &mut self,
        member_id: &MemberRowId,
        badge: &str,
        instance: &str,
    ) -> Result<bool> {
        let community_id = &self.community_id.clone();
        self.sum_i64(
            "SELECT COUNT(*) FROM member_badge WHERE community_id = $1 AND member_id = $2 \
             AND badge_id = $3 AND instance = $4",
            &[community_id.as_str(), member_id.as_str(), badge, instance],
        )
        .await
        .map(|n| n > 0)
    }

    pub async fn insert_badge(
        &mut self,
        member_id: &MemberRowId,
        badge: &str,
        instance: &str,
        by: Option<&MemberRowId>,
        at: i64,
    ) -> Result<bool> {
        let community_id = &self.community_id.clone();
        let done = sqlx::query(
            "INSERT INTO member_badge (community_id, member_id, badge_id, instance, awarded_by, awarded_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(community_id)
        .bind(member_id)
        .bind(badge)
        .bind(instance)
        .bind(by)
        .bind(at)
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn badges(&mut self) -> Result<Vec<BadgeRow>> {
        let community_id = &self.community_id.clone();
        let rows = sqlx::query(
            "SELECT member_id, badge_id, instance FROM member_badge WHERE community_id = $1 \
             ORDER BY member_id, badge_id, instance",
        )
        .bind(community_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(BadgeRow {
                    member_id: r.try_get("member_id")?,
                    badge_id: r.try_get("badge_id")?,
                    instance: r.try_get("instance")?,
                })
            })
            .collect()
    }

    /// One member's badges, ordered by badge and instance.
    pub async fn member_badges(&mut self, member_id: &MemberRowId) -> Result<Vec<BadgeRow>> {
        let community_id = &self.community_id.clone();
        let rows = sqlx::query(
            "SELECT member_id, badge_id, instance FROM member_badge WHERE community_id = $1 \
             AND member_id = $2 ORDER BY badge_id, instance",
        )
        .bind(community_id)
        .bind(member_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(BadgeRow {
                    member_id: r.try_get("member_id")?,
                    badge_id: r.try_get("badge_id")?,
                    instance: r.try_get("instance")?,
                })
            })
            .collect()
    }

    /// The engine's JSON record of a message.
    pub async fn engine_message(&mut self, platform_message_id: &str) -> Result<Option<String>> {
        let community_id = &self.community_id.clone();
        Ok(sqlx::query_scalar(
            "SELECT record FROM engine_message WHERE community_id = $1 AND platform_message_id = $2",
        )
        .bind(community_id)
        .bind(platform_message_id)
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    pub async fn upsert_engine_message(
        &mut self,
        platform_message_id: &str,
        author: Option<&MemberRowId>,
        record: &str,
    ) -> Result<()> {
        let community_id = &self.community_id.clone();
        sqlx::query(
            "INSERT INTO engine_message (community_id, platform_message_id, author_member_id, record) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (community_id, platform_message_id) \
             DO UPDATE SET record = excluded.record, author_member_id = excluded.author_member_id",
        )
        .bind(community_id)
        .bind(platform_message_id)
        .bind(author)
        .bind(record)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn engine_reaction(
        &mut self,
        platform_message_id: &str,
        reactor: &MemberRowId,
    ) -> Result<Option<String>> {
        let community_id = &self.community_id.clone();
        Ok(sqlx::query_scalar(
            "SELECT record FROM engine_reaction WHERE community_id = $1 AND platform_message_id = $2 \
             AND reactor_member_id = $3",
        )
        .bind(community_id)
        .bind(platform_message_id)
        .bind(reactor)
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    pub async fn engine_reactions_on(&mut self, platform_message_id: &str) -> Result<Vec<String>> {
        let community_id = &self.community_id.clone();
        Ok(sqlx::query_scalar(
            "SELECT record FROM engine_reaction WHERE community_id = $1 AND platform_message_id = $2 \
             ORDER BY reactor_member_id",
        )
        .bind(community_id)
        .bind(platform_message_id)
        .fetch_all(&mut *self.tx)
        .await?)
    }

    pub async fn upsert_engine_reaction(
        &mut self,
        platform_message_id: &str,
        reactor: &MemberRowId,
        record: &str,
    ) -> Result<()> {
        let community_id = &self.community_id.clone();
        sqlx::query(
            "INSERT INTO engine_reaction (community_id, platform_message_id, reactor_member_id, record) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (community_id, platform_message_id, reactor_member_id) \
             DO UPDATE SET record = excluded.record",
        )
        .bind(community_id)
        .bind(platform_message_id)
        .bind(reactor)
        .bind(record)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn insert_feed_item(
        &mut self,
        member_id: Option<&MemberRowId>,
        kind: &str,
        payload: &str,
        occurred_at: i64,
    ) -> Result<()> {
        let community_id = &self.community_id.clone();
        sqlx::query(
            "INSERT INTO feed_item (id, community_id, member_id, kind, payload, occurred_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(new_id())
        .bind(community_id)
        .bind(member_id)
        .bind(kind)
        .bind(payload)
        .bind(occurred_at)
        .bind(self.now_ms())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Many feed items with one statement per 200 (a processing batch writes its rows' items
    /// together): the same rows as [`Self::insert_feed_item`] for each, ids in order.
    pub async fn insert_feed_items(&mut self, items: &[crate::NewFeedItem]) -> Result<()> {
        const COLS: usize = 7;
        let community_id = &self.community_id.clone();
        let now = self.now_ms();
        for chunk in items.chunks(200) {
            let mut sql = String::from(
                "INSERT INTO feed_item (id, community_id, member_id, kind, payload, occurred_at, created_at) VALUES ",
            );
            crate::push_value_rows(&mut sql, chunk.len(), COLS);
            let mut q = sqlx::query(&sql);
            for item in chunk {
                q = q
                    .bind(new_id())
                    .bind(community_id)
                    .bind(item.member_id.as_ref())
                    .bind(&item.kind)
                    .bind(&item.payload)
                    .bind(item.occurred_at)
                    .bind(now);
            }
            q.execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// Feed items, newest first: one member's (`Some`) or the community's (`None`).
    pub async fn feed(
        &mut self,
        member_id: Option<&MemberRowId>,
        limit: i64,
    ) -> Result<Vec<FeedRow>> {
        let community_id = &self.community_id.clone();
        // Two statements rather than one with `OR`, so that each reads the `feed_member`
        // index range directly.
        let rows = match member_id {
            Some(m) => sqlx::query(
                "SELECT member_id, kind, payload, occurred_at FROM feed_item WHERE community_id = $1 \
                 AND member_id = $2 ORDER BY occurred_at DESC, id DESC LIMIT $3",
            )
            .bind(community_id)
            .bind(m)
            .bind(limit)
            .fetch_all(&mut *self.tx)
            .await?,
            None => sqlx::query(
                "SELECT member_id, kind, payload, occurred_at FROM feed_item WHERE community_id = $1 \
                 AND member_id IS NULL ORDER BY occurred_at DESC, id DESC LIMIT $2",
            )
            .bind(community_id)
            .bind(limit)
            .fetch_all(&mut *self.tx)
            .await?,
        };
        rows.iter()
            .map(|r| {
                Ok(FeedRow {
                    member_id: r.try_get("member_id")?,
                    kind: r.try_get("kind")?,
                    payload: r.try_get("payload")?,
                    occurred_at: r.try_get("occurred_at")?,
                })
            })
            .collect()
    }

    /// One page of the community's whole feed (every member's items and the community's),
    /// newest first by `(occurred_at, id)`: at most `limit` items strictly older than `before`
    /// (the key of the last item of the previous page), or the newest when `None`.
    pub async fn feed_page(
        &mut self,
        before: Option<(i64, &str)>,
        limit: i64,
    ) -> Result<Vec<FeedPageItem>> {
        let community_id = &self.community_id.clone();
        let (before_at, before_id) = before.map_or((None, None), |(at, id)| (Some(at), Some(id)));
        let rows = sqlx::query(
            "SELECT id, member_id, kind, payload, occurred_at FROM feed_item WHERE community_id = $1 \
             AND ($2 IS NULL OR occurred_at < $2 OR (occurred_at = $2 AND id < $3)) \
             ORDER BY occurred_at DESC, id DESC LIMIT $4",
        )
        .bind(community_id)
        .bind(before_at)
        .bind(before_id)
        .bind(limit)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FeedPageItem {
                    id: r.try_get("id")?,
                    row: FeedRow {
                        member_id: r.try_get("member_id")?,
                        kind: r.try_get("kind")?,
                        payload: r.try_get("payload")?,
                        occurred_at: r.try_get("occurred_at")?,
                    },
                })
            })
            .collect()
    }
}
