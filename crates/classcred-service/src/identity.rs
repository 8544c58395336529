//! From a verified sign-in identity (an OpenID Connect claim) to the members it may act as.
//!
//! The claim value a provider vouches for (Slack's `https://slack.com/user_id`, Microsoft's
//! `oid`, or `sub`) is compared, exactly, with members' platform user ids in every active
//! community. The web layer decides what to do with the answer: one member signs in, several
//! let the person choose, none is refused ([`IdentityMatch`]). Nothing here creates a session.

use classcred_store::{IdentityMember, Store};

use crate::Result;

/// Who a verified identity is in ClassCred.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityMatch {
    /// No human member of an active community has this platform user id: refuse the sign-in.
    NoMember,
    /// Exactly one member: sign in as them.
    One(IdentityMember),
    /// Several members (the same person in several courses): let the person choose.
    Several(Vec<IdentityMember>),
}

/// Every member (community, member, role) whose platform user id equals `claim_value`, oldest
/// community first. An empty or blank claim matches nobody.
pub async fn members_for_identity(store: &Store, claim_value: &str) -> Result<Vec<IdentityMember>> {
    if claim_value.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = store.begin().await?;
    let members = tx.members_with_platform_user_id(claim_value).await?;
    tx.commit().await?;
    Ok(members)
}

/// [`members_for_identity`], sorted into the three answers a sign-in page gives.
pub async fn match_identity(store: &Store, claim_value: &str) -> Result<IdentityMatch> {
    let mut members = members_for_identity(store, claim_value).await?;
    Ok(match members.len() {
        0 => IdentityMatch::NoMember,
        1 => members
            .pop()
            .map_or(IdentityMatch::NoMember, IdentityMatch::One),
        _ => IdentityMatch::Several(members),
    })
}
