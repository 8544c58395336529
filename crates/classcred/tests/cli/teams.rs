//! `[teams]` in the composition root: `POST /teams/messages` is mounted exactly when the bot's
//! app id and password are configured, and refuses a request without a Bot Framework token
//! (401) before reading anything.

use std::net::SocketAddr;
use std::sync::Arc;

use classcred::config::Config;
use classcred::{App, Role as AppRole};
use classcred_crypto::MasterKey;
use classcred_store::testing::TestDb;
use secrecy::SecretString;

async fn status_of_teams_route(cfg: Config) -> u16 {
    let db = TestDb::sqlite().await;
    let key = cfg.master_key.clone().unwrap();
    let store = db
        .store_with(
            MasterKey::parse(secrecy::ExposeSecret::expose_secret(&key)).unwrap(),
            Arc::new(classcred_store::SystemClock),
        )
        .await;
    let app = App::build(&cfg, store, AppRole::ServerOnly).await.unwrap();
    let addr = app.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let status = reqwest::Client::new()
        .post(format!("http://{addr}/teams/messages"))
        .header("content-type", "application/json")
        .body(r#"{"type":"message"}"#)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    let _ = stop.send(());
    running.await.unwrap().unwrap();
    status
}

#[tokio::test]
async fn the_teams_route_is_mounted_when_configured() {
    let base = Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        master_key: Some(SecretString::from(
            MasterKey::generate().encode().to_string(),
        )),
        ..Config::default()
    };
    assert_eq!(
        status_of_teams_route(base.clone()).await,
        404,
        "not configured: no route"
    );
    let mut cfg = base;
    cfg.teams.app_id = Some("00000000-0000-4000-8000-00000000c1a5".into());
    cfg.teams.app_password = Some(SecretString::from("p".repeat(40)));
    assert_eq!(
        status_of_teams_route(cfg).await,
        401,
        "configured: no token, refused"
    );
}
