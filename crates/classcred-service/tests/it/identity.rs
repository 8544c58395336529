//! Sign-in identity → members, on every backend: exact platform user id, across communities,
//! humans of active communities only.

use crate::common::*;

use classcred_service::identity::{match_identity, members_for_identity, IdentityMatch};
use classcred_service::join_member;
use classcred_store::testing::TestDb;
use classcred_store::{
    CommunityId, MemberKind, MemberProfile, MemberRowId, NewMember, Role, Store,
};
use serde_json::json;

async fn member_of(
    store: &Store,
    community: &CommunityId,
    uid: &str,
    role: Role,
    kind: MemberKind,
) -> MemberRowId {
    let mut tx = store.begin().await.unwrap();
    let id = join_member(
        &mut tx,
        community,
        "slack",
        &NewMember {
            platform_user_id: uid.into(),
            role,
            kind,
            profile: MemberProfile::default(),
        },
        at(2026, 1, 1, 0, 0, 0),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    id
}

#[tokio::test]
async fn identity_maps_to_members_across_communities_on_every_backend() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = world(&db, json!({})).await;
        let other = community(&w.store, json!({}), "T2").await;
        let closed = community(&w.store, json!({}), "T3").await;

        let teacher_here =
            member_of(&w.store, &w.community, "U1", Role::Admin, MemberKind::Human).await;
        let student_there =
            member_of(&w.store, &other, "U1", Role::Student, MemberKind::Human).await;
        member_of(&w.store, &closed, "U1", Role::Student, MemberKind::Human).await;
        member_of(
            &w.store,
            &w.community,
            "U2",
            Role::Student,
            MemberKind::Human,
        )
        .await;
        member_of(&w.store, &w.community, "B1", Role::Student, MemberKind::Bot).await;
        let mut tx = w.store.begin().await.unwrap();
        tx.disable_community(&closed).await.unwrap();
        tx.commit().await.unwrap();

        // The same person in two active courses: both, oldest community first, with roles.
        let found = members_for_identity(&w.store, "U1").await.unwrap();
        let found: Vec<_> = found
            .into_iter()
            .map(|m| (m.community_id, m.member_id, m.role))
            .collect();
        assert_eq!(
            found,
            vec![
                (w.community.clone(), teacher_here, Role::Admin),
                (other.clone(), student_there, Role::Student),
            ],
            "{b}"
        );
        assert!(
            matches!(
                match_identity(&w.store, "U1").await.unwrap(),
                IdentityMatch::Several(ref v) if v.len() == 2
            ),
            "{b}"
        );

        // One member.
        assert!(
            matches!(
                match_identity(&w.store, "U2").await.unwrap(),
                IdentityMatch::One(ref m) if m.community_id == w.community && m.role == Role::Student
            ),
            "{b}"
        );

        // Exact match only: no prefix, no case folding; bots and blank claims match nobody.
        for claim in ["u1", "U", "U1 ", "", "  ", "B1", "U9"] {
            assert_eq!(
                match_identity(&w.store, claim).await.unwrap(),
                IdentityMatch::NoMember,
                "{b}: {claim:?}"
            );
        }
    }
}
