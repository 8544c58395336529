//! JWT validation agrees, case by case, with Microsoft's own validator
//! (botframework-connector 4.17.1 `JwtTokenValidation.authenticate_request`), on tokens minted
//! by PyJWT against a JWKS served locally; a refused delivery stores nothing. Two deliberate
//! differences are asserted as such (see `classcred_teams::auth`).

use serde_json::Value;

use crate::server::{backends, Server, APP_ID, TEAM};

/// What each case must get from both validators (so the test fails if both go wrong alike).
const EXPECTED: &[(&str, bool)] = &[
    ("valid", true),
    ("wrong_audience", false),
    ("wrong_issuer", false),
    ("expired_10_minutes", false),
    ("expired_within_leeway", true),
    ("not_yet_valid", false),
    ("no_header", false),
    ("not_bearer", false),
    ("key_without_the_endorsement", false),
    ("serviceurl_mismatch", false),
    ("signed_by_another_key", false),
    ("unknown_kid", false),
    ("alg_none", false),
];

/// Cases where ClassCred deliberately differs from the Python reference: (case, python, ours).
/// - RS512: the reference lists RS256/RS384/RS512 as allowed but decodes with RS256 only; the
///   Bot Framework's .NET validator and ClassCred accept all three.
/// - A key with no `endorsements` at all: the reference skips the endorsement check;
///   ClassCred requires the channel among the key's endorsements.
const DIFFERENT: &[(&str, bool, bool)] = &[
    ("valid_rs512", false, true),
    ("key_with_no_endorsements", true, false),
];

async fn install(s: &Server) -> classcred_store::CommunityId {
    let mut added = crate::fixture("conversation_update_bot_added_team");
    added["from"]["id"] = Value::from("29:teacher");
    assert_eq!(s.post(&added).await, 200);
    let c = s.community(TEAM).await.expect("installed");
    // Members of the class, so the valid deliveries are processed.
    let mut members = crate::fixture("conversation_update_members_added");
    members["membersAdded"] = serde_json::json!([{"id": "29:alice"}, {"id": "29:bob"}]);
    assert_eq!(s.post(&members).await, 200);
    c.id
}

async fn inbox_ids(s: &Server) -> Vec<String> {
    let mut v: Vec<String> =
        sqlx::query_scalar("SELECT event_id FROM inbox WHERE event_type = 'message_posted'")
            .fetch_all(s.store.pool())
            .await
            .unwrap();
    v.sort();
    v
}

#[tokio::test]
async fn jwt_validation_agrees_with_botframework_connector() {
    let Some(python) = crate::python() else {
        return;
    };
    let mut oracle = crate::Helper::start(&python, "jwt_oracle.py", &[APP_ID]).await;
    let report = oracle.next().await;
    let metadata_url = report["metadata_url"].as_str().unwrap().to_owned();
    let cases = report["cases"].as_array().unwrap().clone();
    assert_eq!(cases.len(), EXPECTED.len() + DIFFERENT.len());
    for db in backends().await {
        let backend = db.backend();
        let store = db.store().await;
        // Our installs are signed by the oracle's key too: install with a valid case's token.
        let s = Server::start_with(db, store, Some(metadata_url.clone()), None).await;
        let valid_auth = cases
            .iter()
            .find(|c| c["name"] == "valid")
            .and_then(|c| c["authorization"].as_str())
            .unwrap()
            .to_owned();
        let mut added = crate::fixture("conversation_update_bot_added_team");
        added["serviceUrl"] = Value::from("https://smba.trafficmanager.net/amer/");
        assert_eq!(
            s.post_raw(&added, Some(&valid_auth)).await,
            200,
            "{backend}: install"
        );
        let mut members = crate::fixture("conversation_update_members_added");
        members["membersAdded"] = serde_json::json!([{"id": "29:alice"}, {"id": "29:bob"}]);
        assert_eq!(
            s.post_raw(&members, Some(&valid_auth)).await,
            200,
            "{backend}"
        );
        for case in &cases {
            let name = case["name"].as_str().unwrap();
            let python_accepts = case["python_accepts"].as_bool().unwrap();
            let auth = case["authorization"].as_str();
            let activity = &case["activity"];
            let before = inbox_ids(&s).await;
            let status = s.post_raw(activity, auth).await;
            let ours = status == 200;
            let after = inbox_ids(&s).await;
            if let Some((_, want)) = EXPECTED.iter().find(|(n, _)| *n == name) {
                assert_eq!(
                    python_accepts, *want,
                    "{name}: the reference's verdict ({:?})",
                    case["python_error"]
                );
                assert_eq!(
                    ours, python_accepts,
                    "{backend}: {name}: ours ({status}) vs the reference"
                );
            } else {
                let (_, python, mine) = DIFFERENT.iter().find(|(n, _, _)| *n == name).unwrap();
                assert_eq!(
                    python_accepts, *python,
                    "{name}: the reference ({:?})",
                    case["python_error"]
                );
                assert_eq!(ours, *mine, "{backend}: {name}: ours ({status})");
            }
            if ours {
                assert_eq!(after.len(), before.len() + 1, "{backend}: {name}: stored");
            } else {
                assert_eq!(status, 401, "{backend}: {name}");
                assert_eq!(
                    after, before,
                    "{backend}: {name}: a refused delivery stores nothing"
                );
            }
        }
        assert!(s.rejections("wrong_audience").await >= 1, "{backend}");
        assert!(s.rejections("not_endorsed").await >= 2, "{backend}");
    }
    drop(oracle);
}

/// Keys are fetched once and cached; a token naming an unknown key fetches again at most once
/// an hour; without keys nothing is accepted.
#[tokio::test]
async fn keys_are_cached_and_unknown_kids_refetch_at_most_hourly() {
    let db = classcred_store::testing::TestDb::sqlite().await;
    let s = Server::start(db, None).await;
    let c = install(&s).await;
    let fetched = s.key_fetches.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(fetched, 1, "one fetch for the first delivery, cached after");
    let mut m = crate::fixture("message_channel");
    m["id"] = Value::from("1");
    assert_eq!(s.post(&m).await, 200);
    let rogue = crate::server::token_with(
        "other_key",
        "nobody-knows",
        crate::server::SERVICE_URL,
        serde_json::json!({}),
    );
    for i in 0..3 {
        m["id"] = Value::from(format!("r{i}"));
        assert_eq!(s.post_raw(&m, Some(&format!("Bearer {rogue}"))).await, 401);
    }
    assert_eq!(
        s.key_fetches.load(std::sync::atomic::Ordering::SeqCst),
        fetched,
        "an unknown kid within the hour after a fetch fetches nothing"
    );
    let _ = c;
}
