//! End to end through the dashboard: the real provider, `classcred-oidc`'s routes with the
//! web crate's hook, and the dashboard's pages. A member signs in with the provider and lands
//! on a page of their class with a new session; a replayed callback is refused with a page.

use std::sync::Arc;

use axum::http::StatusCode;
use classcred_oidc::routes::{router, OidcRoutes};
use classcred_oidc::OidcClient;
use classcred_store::testing::TestDb;
use classcred_store::{MemberKind, MemberProfile, NewCommunity, NewMember, Role};
use classcred_web::oidc::WebSignIn;
use classcred_web::WebState;
use reqwest::header::LOCATION;
use tokio::net::TcpListener;
use url::Url;

use crate::app::{browser, config, login_at_provider, start_login, App};

#[tokio::test]
async fn a_member_signs_in_with_the_provider_and_lands_on_the_dashboard() {
    for db in TestDb::all().await {
        let store = db.store().await;
        let mut tx = store.begin().await.unwrap();
        let inst = tx.create_institution("Test U").await.unwrap();
        let class = tx
            .create_community(NewCommunity {
                institution_id: inst.id,
                name: "Biology 101".into(),
                platform: "slack".into(),
                platform_team_id: Some("T1".into()),
                settings_json: "{}".into(),
            })
            .await
            .unwrap();
        tx.for_community(&class.id)
            .upsert_member(&NewMember {
                platform_user_id: "U042".into(),
                role: Role::Instructor,
                kind: MemberKind::Human,
                profile: MemberProfile {
                    display_name: Some("Ada Teacher".into()),
                    ..Default::default()
                },
            })
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        let Some(provider) =
            crate::provider::start(base.join("/auth/oidc/callback").unwrap().as_str()).await
        else {
            return;
        };
        let client = Arc::new(
            OidcClient::discover(config(&provider.issuer, "classcred-es"), &base)
                .await
                .unwrap(),
        );
        let web = WebState::new(store.clone(), store.login_key(), false)
            .with_oidc_provider("Test Provider");
        let app: axum::Router = classcred_web::routes(web.clone()).merge(router(OidcRoutes {
            client: client.clone(),
            store: store.clone(),
            cookie_key: Arc::new(store.oidc_cookie_key()),
            secure_cookie: false,
            hook: WebSignIn { state: web },
        }));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let app = App {
            base: base.clone(),
            client,
            provider,
        };

        let browser = browser();
        let landing = browser.get(base.clone()).send().await.unwrap();
        assert!(landing
            .text()
            .await
            .unwrap()
            .contains("Sign in with Test Provider"));
        let (authorize, _) = start_login(&browser, &app).await;
        let callback = login_at_provider(&browser, authorize, "u042", &app).await;
        let response = browser.get(callback.clone()).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{}", db.backend());
        assert_eq!(response.headers()[LOCATION], "/dashboard");
        // The browser keeps the session cookie and lands on its class's overview.
        let page = browser
            .get(base.join("/dashboard").unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let body = page.text().await.unwrap();
        assert!(
            body.contains("Biology 101") && body.contains("Sign out"),
            "{body}"
        );
        let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM web_session")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(sessions, 1);

        // The same callback again: its state was used; a clear page, no new session.
        let again = browser.get(callback).send().await.unwrap();
        assert_eq!(again.status(), StatusCode::BAD_REQUEST);
        assert!(again
            .text()
            .await
            .unwrap()
            .contains("Go back to the start page"));
        let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM web_session")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(sessions, 1);
    }
}
