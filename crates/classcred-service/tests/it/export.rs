//! Full exports on both backends: every seeded canary in every exported personal column comes
//! out decrypted; the manifest's counts and hashes match the files; a member's export holds
//! their canaries and none of another member's; paging crosses page boundaries; purge deletes.

use std::collections::BTreeMap;
use std::io::Read;

use classcred_service::export::{self, ExportSubject, Manifest};
use classcred_store::testing::TestDb;
use classcred_store::{
    CommunityId, InboxInsert, MemberKind, MemberProfile, MemberRowId, NewInstallation,
    NewLedgerEntry, NewMember, NewMessage, Role, Store,
};
use sha2::{Digest, Sha256};

use crate::common;

fn canary(label: &str) -> String {
    format!("canary-{label}-{}", uuid::Uuid::new_v4().simple())
}

struct Seeded {
    /// canaries of each member, column → value
    of: Vec<BTreeMap<&'static str, String>>,
    members: Vec<MemberRowId>,
    bot_token: String,
}

async fn seed(store: &Store, cid: &CommunityId) -> Seeded {
    let mut of = Vec::new();
    let mut members = Vec::new();
    let bot_token = canary("bot-token");
    for (i, uid) in ["U1", "U2"].iter().enumerate() {
        let mut c = BTreeMap::new();
        for col in [
            "name",
            "display_name",
            "email",
            "avatar_url",
            "timezone",
            "text",
            "note",
        ] {
            c.insert(col, canary(&format!("{uid}-{col}")));
        }
        let mut tx = store.begin().await.unwrap();
        let m = tx
            .for_community(cid)
            .upsert_member(&NewMember {
                platform_user_id: (*uid).into(),
                role: Role::Student,
                kind: MemberKind::Human,
                profile: MemberProfile {
                    name: Some(c["name"].clone()),
                    display_name: Some(format!("=HYPERLINK({})", c["display_name"])),
                    email: Some(c["email"].clone()),
                    avatar_url: Some(c["avatar_url"].clone()),
                    timezone: Some(c["timezone"].clone()),
                },
            })
            .await
            .unwrap();
        tx.for_community(cid)
            .insert_message(&NewMessage {
                platform_message_id: format!("1.{i}"),
                channel_id: "C1".into(),
                author_member_id: Some(m.to_string()),
                thread_id: None,
                text: c["text"].clone(),
                posted_at: 1,
            })
            .await
            .unwrap();
        tx.for_community(cid)
            .insert_ledger_entry(&NewLedgerEntry {
                member_id: m.to_string(),
                kind: "adjustment".into(),
                amount_milli: 1000,
                idempotency_key: format!("adj-{uid}"),
                giver_member_id: None,
                giver_role: None,
                source_ref: None,
                quota_day: None,
                iso_week: None,
                quota_units: 0,
                fire_units: 0,
                note: Some(c["note"].clone()),
                occurred_at: 1,
            })
            .await
            .unwrap();
        tx.commit().await.unwrap();
        of.push(c);
        members.push(m);
    }
    let payload = canary("inbox-payload");
    let mut tx = store.begin().await.unwrap();
    tx.for_community(cid)
        .save_installation(&NewInstallation {
            platform: "slack".into(),
            platform_team_id: "T1".into(),
            bot_user_id: Some("B1".into()),
            scopes: "chat:write".into(),
            bot_token: bot_token.clone().into(),
            installed_by_member_id: Some(members[0].clone()),
        })
        .await
        .unwrap();
    let InboxInsert::Stored(_) = tx
        .for_community(cid)
        .insert_inbox(
            "slack",
            &format!("Ev-{cid}"),
            "message",
            payload.as_bytes(),
            1,
        )
        .await
        .unwrap()
    else {
        unreachable!("stored")
    };
    tx.commit().await.unwrap();
    of[0].insert("inbox", payload);
    Seeded {
        of,
        members,
        bot_token,
    }
}

/// Every file of a zip, by path.
fn unzip(path: &std::path::Path) -> BTreeMap<String, Vec<u8>> {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = BTreeMap::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).unwrap();
        let mut b = Vec::new();
        f.read_to_end(&mut b).unwrap();
        out.insert(f.name().to_owned(), b);
    }
    out
}

fn check_manifest(files: &BTreeMap<String, Vec<u8>>) -> Manifest {
    let m: Manifest = serde_json::from_slice(&files["manifest.json"]).unwrap();
    assert_eq!(
        m.files.len() + 1,
        files.len(),
        "every file is in the manifest"
    );
    for f in &m.files {
        let body = &files[&f.path];
        assert_eq!(hex::encode(Sha256::digest(body)), f.sha256, "{}", f.path);
        assert_eq!(body.len() as u64, f.bytes, "{}", f.path);
        if f.path.ends_with(".ndjson") {
            let lines = body
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .count();
            assert_eq!(lines as u64, f.rows, "{}", f.path);
            for l in body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                let _: serde_json::Value = serde_json::from_slice(l).unwrap();
            }
        }
        if f.path.ends_with(".csv") {
            let mut r = csv::Reader::from_reader(&body[..]);
            assert_eq!(r.records().count() as u64, f.rows, "{}", f.path);
        }
    }
    m
}

fn haystack(files: &BTreeMap<String, Vec<u8>>, prefix: &str) -> String {
    files
        .iter()
        .filter(|(p, _)| p.starts_with(prefix))
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn community_and_member_exports_hold_every_canary_decrypted_on_both_backends() {
    for db in TestDb::all().await {
        let w = common::world(&db, serde_json::json!({})).await;
        let s = seed(&w.store, &w.community).await;
        let other = common::community(&w.store, serde_json::json!({}), "T-other").await;
        let o = seed(&w.store, &other).await;
        let dir = tempfile::tempdir().unwrap();

        let out = dir.path().join("all.zip");
        let mut seen = Vec::new();
        let manifest = export::write_archive(
            &w.store,
            &w.community,
            &ExportSubject::Community,
            &out,
            &mut |d, t| seen.push((d, t)),
        )
        .await
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", db.backend());
        }
        let (done, total) = *seen.last().unwrap();
        assert_eq!(done, total);
        let files = unzip(&out);
        assert_eq!(check_manifest(&files), manifest);
        let nd = haystack(&files, "tables/");
        let csv = haystack(&files, "csv/");
        let html = haystack(&files, "index.html");
        for c in &s.of {
            for (col, v) in c {
                assert!(nd.contains(v.as_str()), "{} {col} in ndjson", db.backend());
                assert!(csv.contains(v.as_str()), "{} {col} in csv", db.backend());
                assert!(html.contains(v.as_str()), "{} {col} in html", db.backend());
            }
        }
        assert!(!nd.contains(&s.bot_token) && !csv.contains(&s.bot_token));
        for c in &o.of {
            for v in c.values() {
                assert!(!nd.contains(v.as_str()), "another community's data leaked");
            }
        }
        // Formula injection guarded in CSV, HTML escaped.
        assert!(csv.contains("'=HYPERLINK("), "{}", db.backend());
        assert!(!html.contains("<script"));
        assert!(!html.contains("http://") && !html.contains("https://"));
        let member_rows = files["tables/member.ndjson"]
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count();
        assert_eq!(member_rows, 2);
        assert!(!nd.contains("email_bidx"), "blind index not exported");

        // Member export: their canaries, none of the other member's.
        let out = dir.path().join("m1.zip");
        export::write_archive(
            &w.store,
            &w.community,
            &ExportSubject::Member(s.members[0].clone()),
            &out,
            &mut |_, _| {},
        )
        .await
        .unwrap();
        let files = unzip(&out);
        let m = check_manifest(&files);
        assert_eq!(m.subject, format!("member:{}", s.members[0]));
        let nd = haystack(&files, "tables/");
        for (col, v) in &s.of[0] {
            if *col != "inbox" {
                assert!(
                    nd.contains(v.as_str()),
                    "{} member export has {col}",
                    db.backend()
                );
            }
        }
        for (col, v) in &s.of[1] {
            assert!(
                !nd.contains(v.as_str()),
                "{} member export leaks {col}",
                db.backend()
            );
        }
        assert!(!nd.contains(&s.of[0]["inbox"]), "inbox is not a member's");
    }
}

#[tokio::test]
async fn pages_cross_boundaries_on_composite_keys() {
    for db in TestDb::all().await {
        let w = common::world(&db, serde_json::json!({})).await;
        let s = seed(&w.store, &w.community).await;
        let mut tx = w.store.begin().await.unwrap();
        for (i, m) in s.members.iter().enumerate() {
            for b in ["b1", "b2"] {
                tx.for_community(&w.community)
                    .insert_badge(m, b, &format!("w{i}"), None, 1)
                    .await
                    .unwrap();
            }
        }
        tx.commit().await.unwrap();
        let tables = classcred_store::registry::export::exported_tables();
        let (rule, cols) = tables
            .iter()
            .find(|(r, _)| r.table == "member_badge")
            .unwrap();
        let mut after: Option<Vec<serde_json::Value>> = None;
        let mut keys = Vec::new();
        loop {
            let page = w
                .store
                .export_page(
                    &w.community,
                    rule,
                    cols,
                    &ExportSubject::Community,
                    after.as_deref(),
                    1,
                )
                .await
                .unwrap();
            let Some(last) = page.last() else { break };
            keys.push(last.key.clone());
            after = Some(last.key.clone());
        }
        assert_eq!(keys.len(), 4, "{}", db.backend());
        let mut sorted = keys.clone();
        sorted.sort_by_key(|k| serde_json::to_string(k).unwrap());
        sorted.dedup();
        assert_eq!(sorted.len(), 4);
        assert_eq!(
            w.store
                .export_count(
                    &w.community,
                    rule,
                    &ExportSubject::Member(s.members[1].clone())
                )
                .await
                .unwrap(),
            2
        );
    }
}

#[tokio::test]
async fn build_job_then_purge_after_expiry() {
    for db in TestDb::all().await {
        let w = common::world(&db, serde_json::json!({})).await;
        let s = seed(&w.store, &w.community).await;
        let dir = tempfile::tempdir().unwrap();
        let exports = dir.path().join("exports");
        let job = export::start_export(
            &w.store,
            &w.community,
            ExportSubject::Member(s.members[0].clone()),
            &s.members[0],
        )
        .await
        .unwrap();
        assert_eq!(job.state, "queued");
        export::run_build(&w.store, &exports, &w.community, &job.id)
            .await
            .unwrap();
        let done = export::export_job(&w.store, &w.community, &job.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(done.state, "done");
        assert_eq!(done.progress_done, done.progress_total);
        let file = exports.join(done.file_name.clone().unwrap());
        assert!(file.is_file());
        let ready = export::my_ready_exports(&w.store, &w.community, &s.members[0])
            .await
            .unwrap();
        assert_eq!(ready.len(), 1);
        assert!(
            export::my_ready_exports(&w.store, &w.community, &s.members[1])
                .await
                .unwrap()
                .is_empty()
        );
        // Not yet expired: the purge leaves it.
        assert_eq!(export::run_purge(&w.store, &exports).await.unwrap(), 0);
        w.clock.advance(chrono::Duration::hours(25));
        assert_eq!(export::run_purge(&w.store, &exports).await.unwrap(), 1);
        assert!(!file.exists(), "{}", db.backend());
        let gone = export::export_job(&w.store, &w.community, &job.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(gone.state, "expired");
        assert!(gone.purged_at.is_some());
        // Another community cannot see it.
        let other = common::community(&w.store, serde_json::json!({}), "T-x").await;
        assert!(export::export_job(&w.store, &other, &job.id)
            .await
            .unwrap()
            .is_none());
    }
}
