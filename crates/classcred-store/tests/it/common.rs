//! Shared set-up for the store's integration tests.

use classcred_store::{CommunityId, MemberProfile, NewCommunity, NewMember, Role, Store};

pub async fn community(store: &Store, name: &str, team: &str) -> CommunityId {
    let mut tx = store.begin().await.unwrap();
    let inst = tx.create_institution("Test University").await.unwrap();
    let c = tx
        .create_community(NewCommunity {
            institution_id: inst.id,
            name: name.into(),
            platform: "slack".into(),
            platform_team_id: Some(team.into()),
            settings_json: "{}".into(),
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    c.id
}

pub fn member(uid: &str, role: Role, name: &str) -> NewMember {
    NewMember {
        platform_user_id: uid.into(),
        role,
        kind: classcred_store::MemberKind::Human,
        profile: MemberProfile {
            name: Some(name.into()),
            display_name: Some(name.to_lowercase()),
            email: Some(format!("{}@example.edu", name.to_lowercase())),
            avatar_url: None,
            timezone: Some("Europe/Berlin".into()),
        },
    }
}
