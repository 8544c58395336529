//! Canary test: a unique random string in every declared encrypted field never reaches the
//! database in clear, reads back through the store, cannot be moved between rows, is erased
//! with its community key, and survives master-key rotation.

use crate::common;

use std::collections::BTreeMap;
use std::sync::Arc;

use classcred_crypto::MasterKey;
use classcred_store::registry::{self, Protection};
use classcred_store::testing::TestDb;
use classcred_store::{
    CommunityId, InboxInsert, MemberProfile, MemberRowId, NewInstallation, NewLedgerEntry,
    NewMember, NewMessage, PrivacyDecision, PrivacyRequestKind, PrivacyRequestState, Role, Store,
    StoreError, SystemClock,
};

fn canary(label: &str) -> String {
    format!("canary-{label}-{}", uuid::Uuid::new_v4().simple())
}

struct Seeded {
    /// table.column → canary string
    canaries: BTreeMap<String, String>,
    members: Vec<MemberRowId>,
    inbox_id: String,
    privacy_request_id: String,
    announcement_id: String,
}

async fn seed(store: &Store, cid: &CommunityId, tag: &str) -> Seeded {
    let mut canaries = BTreeMap::new();
    let mut c = |col: &str| {
        let v = canary(&format!("{tag}-{col}"));
        canaries.insert(col.to_string(), v.clone());
        v
    };
    let profile = MemberProfile {
        name: Some(c("member.name_enc")),
        display_name: Some(c("member.display_name_enc")),
        email: Some(c("member.email_enc")),
        avatar_url: Some(c("member.avatar_url_enc")),
        timezone: Some(c("member.timezone_enc")),
    };
    let text = c("message.text_enc");
    let token = c("installation.bot_token_enc");
    let payload = c("inbox.payload_enc");
    let note = c("ledger_entry.note_enc");
    let request_details = c("privacy_request.details_enc");
    let request_note = c("privacy_request.decision_note_enc");
    let sign_in_network = c("sign_in_record.network_enc");
    let sign_in_agent = c("sign_in_record.agent_enc");
    let announcement = c("announcement.text_enc");
    let purchase_reason = c("store_purchase.reason_enc");
    let poll_question = c("poll.question_enc");
    let poll_option = c("poll_option.text_enc");

    let mut tx = store.begin().await.unwrap();
    let m1 = tx
        .for_community(cid)
        .upsert_member(&NewMember {
            platform_user_id: "U1".into(),
            role: Role::Student,
            kind: classcred_store::MemberKind::Human,
            profile,
        })
        .await
        .unwrap();
    let m2 = tx
        .for_community(cid)
        .upsert_member(&common::member("U2", Role::Student, "Other"))
        .await
        .unwrap();
    tx.for_community(cid)
        .insert_message(&NewMessage {
            platform_message_id: "1.1".into(),
            channel_id: "C1".into(),
            author_member_id: Some(m1.to_string()),
            thread_id: None,
            text,
            posted_at: 1,
        })
        .await
        .unwrap();
    tx.for_community(cid)
        .save_installation(&NewInstallation {
            platform: "slack".into(),
            platform_team_id: format!("T-{tag}"),
            bot_user_id: Some("B1".into()),
            scopes: "chat:write".into(),
            bot_token: token.into(),
            installed_by_member_id: Some(m1.clone()),
        })
        .await
        .unwrap();
    let InboxInsert::Stored(inbox_id) = tx
        .for_community(cid)
        .insert_inbox(
            "slack",
            &format!("Ev-{tag}"),
            "message",
            payload.as_bytes(),
            1,
        )
        .await
        .unwrap()
    else {
        panic!("stored")
    };
    tx.for_community(cid)
        .insert_ledger_entry(&NewLedgerEntry {
            member_id: m1.to_string(),
            kind: "adjustment".into(),
            amount_milli: 1000,
            idempotency_key: "adj-1".into(),
            giver_member_id: None,
            giver_role: None,
            source_ref: None,
            quota_day: None,
            iso_week: None,
            quota_units: 0,
            fire_units: 0,
            note: Some(note),
            occurred_at: 1,
        })
        .await
        .unwrap();
    let request = tx
        .for_community(cid)
        .insert_privacy_request(
            &m1,
            PrivacyRequestKind::Correction,
            Some(&request_details),
            2,
        )
        .await
        .unwrap()
        .unwrap();
    assert!(tx
        .for_community(cid)
        .decide_privacy_request(
            &request.id,
            &PrivacyDecision {
                to: PrivacyRequestState::Declined,
                by: &m2,
                note: Some(&request_note),
                result_ref: None,
            },
        )
        .await
        .unwrap());
    tx.for_community(cid)
        .record_sign_in(&m1, Some(&sign_in_network), Some(&sign_in_agent))
        .await
        .unwrap();
    let posted = tx
        .for_community(cid)
        .insert_announcement("C1", &announcement, 3, &m2)
        .await
        .unwrap();
    tx.for_community(cid)
        .save_purchase(&classcred_store::class_store::PurchaseRow {
            purchase_id: format!("purchase-{tag}"),
            member_id: m1.clone(),
            item_id: "item".into(),
            price_milli: 1000,
            status: "rejected".into(),
            reason: Some(purchase_reason),
            decided_by: Some(m2.clone()),
            requested_at: 3,
            decided_at: Some(4),
        })
        .await
        .unwrap();
    tx.for_community(cid)
        .upsert_poll(&classcred_store::polls::PollRow {
            poll_id: format!("poll-{tag}"),
            number: 0,
            kind: "poll".into(),
            question: poll_question,
            options: vec![poll_option, "Plain".into()],
            anonymous: false,
            live_results: false,
            channel_id: None,
            closes_at: None,
            created_by: m2.clone(),
            created_at: 5,
            posted_message_id: None,
            closed_at: None,
            closed_by: None,
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    Seeded {
        canaries,
        members: vec![m1, m2],
        inbox_id,
        privacy_request_id: request.id,
        announcement_id: posted.id,
    }
}

/// Every value read back through the store, keyed like the canaries.
async fn read_back(
    store: &Store,
    cid: &CommunityId,
    s: &Seeded,
) -> Result<BTreeMap<String, String>, StoreError> {
    let mut tx = store.begin().await?;
    let m = tx.for_community(cid).member(&s.members[0]).await?;
    let mut out = BTreeMap::new();
    let p = m.profile;
    for (k, v) in [
        ("member.name_enc", p.name),
        ("member.display_name_enc", p.display_name),
        ("member.email_enc", p.email),
        ("member.avatar_url_enc", p.avatar_url),
        ("member.timezone_enc", p.timezone),
    ] {
        out.insert(k.to_string(), v.unwrap());
    }
    out.insert(
        "message.text_enc".into(),
        tx.for_community(cid).list_messages().await?[0]
            .text
            .clone()
            .unwrap(),
    );
    use secrecy::ExposeSecret;
    out.insert(
        "installation.bot_token_enc".into(),
        tx.for_community(cid)
            .bot_token()
            .await?
            .unwrap()
            .expose_secret()
            .to_string(),
    );
    out.insert(
        "inbox.payload_enc".into(),
        String::from_utf8(
            tx.for_community(cid)
                .inbox_event(&s.inbox_id)
                .await?
                .payload,
        )
        .unwrap(),
    );
    out.insert(
        "ledger_entry.note_enc".into(),
        tx.for_community(cid).ledger().await?[0]
            .entry
            .note
            .clone()
            .unwrap(),
    );
    let request = tx
        .for_community(cid)
        .privacy_request(&s.privacy_request_id)
        .await?
        .unwrap();
    out.insert(
        "privacy_request.details_enc".into(),
        request.details.unwrap(),
    );
    out.insert(
        "privacy_request.decision_note_enc".into(),
        request.decision_note.unwrap(),
    );
    let sign_in = tx
        .for_community(cid)
        .sign_ins_of_member(&s.members[0], 1)
        .await?
        .remove(0);
    out.insert(
        "sign_in_record.network_enc".into(),
        sign_in.network.unwrap(),
    );
    out.insert("sign_in_record.agent_enc".into(), sign_in.agent.unwrap());
    out.insert(
        "announcement.text_enc".into(),
        tx.for_community(cid)
            .announcement(&s.announcement_id)
            .await?
            .unwrap()
            .text,
    );
    let purchases = tx
        .for_community(cid)
        .purchases(&classcred_store::class_store::PurchaseFilter {
            limit: 10,
            ..Default::default()
        })
        .await?;
    out.insert(
        "store_purchase.reason_enc".into(),
        purchases[0].reason.clone().unwrap(),
    );
    let poll = tx.for_community(cid).polls(10).await?.remove(0);
    out.insert("poll.question_enc".into(), poll.question);
    out.insert("poll_option.text_enc".into(), poll.options[0].clone());
    tx.commit().await?;
    Ok(out)
}

/// Every byte the database holds, as one haystack.
pub(crate) async fn raw_bytes(db: &TestDb, store: &Store) -> Vec<u8> {
    db.raw_bytes(store).await
}

pub(crate) fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn canaries_never_stored_in_clear_and_shredding_and_rotation_work() {
    for db in TestDb::all().await {
        let backend = db.backend();
        let k1_text = MasterKey::generate().encode();
        let store = db
            .store_with(MasterKey::parse(&k1_text).unwrap(), Arc::new(SystemClock))
            .await;
        let a = common::community(&store, "A", "TA").await;
        let b = common::community(&store, "B", "TB").await;
        let sa = seed(&store, &a, "a").await;
        let sb = seed(&store, &b, "b").await;

        // Completeness: every declared encrypted column was seeded.
        let declared: Vec<String> = registry::personal_columns()
            .filter(|(_, _, p)| p.protection == Protection::Encrypted)
            .map(|(t, c, _)| format!("{t}.{c}"))
            .collect();
        let seeded: Vec<String> = sa.canaries.keys().cloned().collect();
        let mut declared_sorted = declared.clone();
        declared_sorted.sort();
        assert_eq!(
            seeded, declared_sorted,
            "seed every encrypted column the registry declares"
        );

        // Reads return every canary.
        assert_eq!(
            read_back(&store, &a, &sa).await.unwrap(),
            sa.canaries,
            "{backend}"
        );
        assert_eq!(
            read_back(&store, &b, &sb).await.unwrap(),
            sb.canaries,
            "{backend}"
        );

        // The raw database holds none of them (as text or as hex).
        if backend == "sqlite" {
            store.close().await;
        }
        let raw_store = if backend == "sqlite" {
            db.store_with(MasterKey::parse(&k1_text).unwrap(), Arc::new(SystemClock))
                .await
        } else {
            store.clone()
        };
        let raw = raw_bytes(&db, &raw_store).await;
        for (col, v) in sa.canaries.iter().chain(sb.canaries.iter()) {
            assert!(
                !contains(&raw, v.as_bytes()),
                "{backend}: {col} stored in clear"
            );
            assert!(
                !contains(&raw, hex::encode(v).as_bytes()),
                "{backend}: {col} stored as hex"
            );
        }
        let store = raw_store;

        // A ciphertext moved to another row does not decrypt.
        sqlx::query("UPDATE member SET name_enc = (SELECT name_enc FROM member WHERE id = $2) WHERE id = $1")
            .bind(&sa.members[1])
            .bind(&sa.members[0])
            .execute(store.pool())
            .await
            .unwrap();
        let mut tx = store.begin().await.unwrap();
        let err = tx
            .for_community(&a)
            .member(&sa.members[1])
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Crypto {
                    table: "member",
                    column: "name_enc",
                    ..
                }
            ),
            "{backend}: swapped ciphertext must fail, got {err}"
        );
        tx.commit().await.unwrap();

        // Crypto-shredding A: every read of A's personal data says "erased"; B is unaffected.
        let mut tx = store.begin().await.unwrap();
        tx.destroy_data_key(&a).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let erased = |r: Result<_, StoreError>| matches!(r, Err(StoreError::Erased { ref community_id }) if community_id == a.as_str());
        assert!(erased(
            tx.for_community(&a)
                .member(&sa.members[0])
                .await
                .map(|_| ())
        ));
        assert!(erased(
            tx.for_community(&a).list_members().await.map(|_| ())
        ));
        assert!(erased(
            tx.for_community(&a).list_messages().await.map(|_| ())
        ));
        assert!(erased(tx.for_community(&a).bot_token().await.map(|_| ())));
        assert!(erased(
            tx.for_community(&a)
                .inbox_event(&sa.inbox_id)
                .await
                .map(|_| ())
        ));
        assert!(erased(tx.for_community(&a).ledger().await.map(|_| ())));
        assert!(erased(
            tx.for_community(&a)
                .member_by_email("x@y.z")
                .await
                .map(|_| ())
        ));
        // Non-personal data of A still reads.
        assert_eq!(tx.community(&a).await.unwrap().name, "A");
        assert_eq!(tx.for_community(&a).ledger_totals().await.unwrap().len(), 1);
        tx.commit().await.unwrap();
        assert_eq!(read_back(&store, &b, &sb).await.unwrap(), sb.canaries);

        // Rotation: everything still decrypts under the new key; the old key no longer does.
        let k2 = MasterKey::generate();
        let k2_text = k2.encode();
        let report = store.rotate_master_key(&k2).await.unwrap();
        assert_eq!((report.rewrapped, report.destroyed_skipped), (1, 1));
        store.close().await;
        let rotated = Store::connect(
            db.url(),
            MasterKey::parse(&k2_text).unwrap(),
            Arc::new(SystemClock),
            Default::default(),
        )
        .await
        .unwrap();
        assert_eq!(
            read_back(&rotated, &b, &sb).await.unwrap(),
            sb.canaries,
            "{backend}"
        );
        assert_eq!(
            rotated.stored_master_key_ids().await.unwrap(),
            vec![k2.id()]
        );
        rotated.close().await;
        let old = Store::connect(
            db.url(),
            MasterKey::parse(&k1_text).unwrap(),
            Arc::new(SystemClock),
            Default::default(),
        )
        .await
        .unwrap();
        assert!(matches!(
            read_back(&old, &b, &sb).await,
            Err(StoreError::WrongMasterKey { .. })
        ));
        // Even ignoring the fingerprint, the old key cannot unwrap the re-wrapped data key.
        let wrapped: Vec<u8> =
            sqlx::query_scalar("SELECT wrapped FROM classcred_keys.data_key WHERE owner_id = $1")
                .bind(&b)
                .fetch_one(old.pool())
                .await
                .unwrap();
        assert!(MasterKey::parse(&k1_text)
            .unwrap()
            .unwrap(&wrapped, b.as_str())
            .is_err());
        assert!(k2.unwrap(&wrapped, b.as_str()).is_ok());
        old.close().await;
    }
}
