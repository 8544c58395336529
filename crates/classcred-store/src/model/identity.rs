//! Sign-in identities: which members, across every community, carry a given platform user id.
//! This is the one lookup that is not scoped to a community: a person signing in with an
//! OpenID provider has not chosen a community yet. It reads ids and roles only (nothing
//! encrypted), so it works before any community key is opened.

use super::*;

/// One member a signed-in identity may act as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityMember {
    pub community_id: CommunityId,
    pub member_id: MemberRowId,
    pub role: Role,
}

impl Tx<'_> {
    /// The human members whose platform user id is exactly `platform_user_id`, in active
    /// communities, oldest community first. Bots, apps and members of disabled communities are
    /// left out: nobody signs in as them.
    pub async fn members_with_platform_user_id(
        &mut self,
        platform_user_id: &str,
    ) -> Result<Vec<IdentityMember>> {
        let rows = sqlx::query(
            "SELECT m.id, m.community_id, m.role FROM member m \
             JOIN community c ON c.id = m.community_id \
             WHERE m.platform_user_id = $1 AND m.kind = 'human' AND c.state = 'active' \
             ORDER BY c.created_at, c.id",
        )
        .bind(platform_user_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(IdentityMember {
                    member_id: MemberRowId::from_db(r.try_get("id")?),
                    community_id: r.try_get("community_id")?,
                    role: Role::parse(&r.try_get::<String, _>("role")?)?,
                })
            })
            .collect()
    }
}
