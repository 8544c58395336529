//! Discovery against the real provider: the issuer must be exactly the configured one, and only
//! its origin is contacted.

use classcred_oidc::{OidcClient, OidcError};
use url::Url;

use crate::app::config;
use crate::provider;

#[tokio::test]
async fn discovery_refuses_another_issuer_and_non_loopback_http() {
    let Some(provider) = provider::start("http://127.0.0.1:9/auth/oidc/callback").await else {
        return;
    };
    let base = Url::parse("http://127.0.0.1:9").unwrap();
    // The same server under another name is another issuer: its document names 127.0.0.1.
    let renamed = provider.issuer.replace("127.0.0.1", "localhost");
    let err = OidcClient::discover(config(&renamed, "classcred-rs"), &base)
        .await
        .unwrap_err();
    assert!(matches!(err, OidcError::Metadata(_)), "{err:?}");
    // A trailing path that is not the issuer's.
    let err = OidcClient::discover(
        config(&format!("{}/other", provider.issuer), "classcred-rs"),
        &base,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, OidcError::Status { status: 404, .. }),
        "{err:?}"
    );
    // Plain http is refused off loopback, before any request.
    let err = OidcClient::discover(config("http://idp.example", "classcred-rs"), &base)
        .await
        .unwrap_err();
    assert!(matches!(err, OidcError::Config(_)), "{err:?}");
    // The right issuer works.
    let client = OidcClient::discover(config(&provider.issuer, "classcred-rs"), &base)
        .await
        .unwrap();
    assert_eq!(
        client.redirect_uri().as_str(),
        "http://127.0.0.1:9/auth/oidc/callback"
    );
}
