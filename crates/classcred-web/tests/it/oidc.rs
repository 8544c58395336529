//! The dashboard's OpenID Connect hook: one member signs in like a login link does, several
//! choose their class (each choice a single-use login token), none and refused callbacks get a
//! clear page. Every backend. (The provider side is tested in classcred-oidc.)

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::response::Response;
use classcred_oidc::routes::{SignInHook, SignInRefusal};
use classcred_oidc::VerifiedIdentity;
use classcred_store::testing::TestDb;
use classcred_store::Role;
use classcred_web::oidc::WebSignIn;
use http_body_util::BodyExt;

use crate::support::{field_of, member, Reply, World};

fn identity(claim: &str) -> VerifiedIdentity {
    VerifiedIdentity {
        issuer: "http://127.0.0.1:9/".into(),
        subject: "sub-1".into(),
        member_claim_value: claim.into(),
    }
}

async fn reply(res: Response) -> Reply {
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

#[tokio::test]
async fn an_identity_signs_in_chooses_among_classes_or_is_refused() {
    for db in TestDb::all().await {
        let b = db.backend();
        let w = World::new(&db, false).await;
        let hook = WebSignIn {
            state: w.state.clone(),
        };
        // One member: a session, then the dashboard.
        let r = reply(hook.signed_in(identity("UINSTR")).await).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{b}: {}", r.body);
        assert_eq!(r.header(header::LOCATION), Some("/dashboard"));
        let cookie = r.cookie().unwrap();
        assert_eq!(
            w.get("/dashboard", Some(&cookie)).await.status,
            StatusCode::OK
        );
        // A second sign-in gets another session id.
        let again = reply(hook.signed_in(identity("UINSTR")).await).await;
        assert_ne!(again.cookie().unwrap(), cookie, "{b}");

        // The same person in two classes: a choice, each one a Continue form.
        member(&w.store, &w.a, "UOTHER", Role::Student).await;
        let r = reply(hook.signed_in(identity("UOTHER")).await).await;
        assert_eq!(r.status, StatusCode::OK, "{b}");
        assert!(
            r.header(header::SET_COOKIE).is_none(),
            "no session before the choice"
        );
        assert!(r.body.contains("Continue to Biology 101 as Person UOTHER"));
        assert!(r.body.contains("Continue to Other Class as Person UOTHER"));
        let at = r.body.find("Biology 101 as").unwrap();
        let form_start = r.body[..at].rfind("<form").unwrap();
        let token = field_of(&r.body[form_start..], "token");
        let post = Request::post("/dashboard/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .body(Body::from(format!("token={token}")))
            .unwrap();
        let chosen = w.send(post).await;
        assert_eq!(chosen.status, StatusCode::SEE_OTHER, "{b}: {}", chosen.body);
        assert_eq!(chosen.header(header::LOCATION), Some("/me"));
        let me = w.get("/me", Some(&chosen.cookie().unwrap())).await;
        assert!(me.body.contains("Biology 101"));

        // Nobody: refused clearly, no session.
        let r = reply(hook.signed_in(identity("UNOBODY")).await).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{b}");
        assert!(r.body.contains("not a member of any class"));
        assert!(r.header(header::SET_COOKIE).is_none());

        // Refused callbacks.
        for (refusal, status, words) in [
            (
                SignInRefusal::WrongState,
                StatusCode::BAD_REQUEST,
                "cannot be used",
            ),
            (
                SignInRefusal::ReplayedState,
                StatusCode::BAD_REQUEST,
                "already used",
            ),
            (SignInRefusal::Expired, StatusCode::BAD_REQUEST, "expired"),
        ] {
            let r = reply(hook.refused(refusal)).await;
            assert_eq!(r.status, status, "{refusal:?}");
            assert!(r.body.contains(words), "{refusal:?}: {}", r.body);
        }
    }
}

#[tokio::test]
async fn the_start_page_offers_the_configured_provider() {
    for db in TestDb::all().await {
        let w = World::new(&db, false).await;
        let plain = w.get("/", None).await;
        assert!(!plain.body.contains("/auth/oidc/start"));
        let with = classcred_web::routes(w.state.clone().with_oidc_provider("Example ID"));
        let r = tower::ServiceExt::oneshot(with, Request::get("/").body(Body::empty()).unwrap())
            .await
            .unwrap();
        let r = reply(r).await;
        assert!(
            r.body
                .contains("href=\"/auth/oidc/start\">Sign in with Example ID</a>"),
            "{}",
            r.body
        );
    }
}
