//! Outbound HTTP to the provider, through the one outbound client (`classcred-outbound`): only
//! to the issuer's origin (declared as the registry's configured `oidc-provider` subprocessor),
//! no redirects followed, bounded in time and in body size. Errors name what failed, never the
//! body the provider sent.

use std::time::Duration;

use classcred_outbound::{header, Limits, OutboundClient, OutboundError, OutboundPolicy};
use classcred_store::registry::subprocessors::OIDC_PROVIDER;
use serde::de::DeserializeOwned;
use url::Url;

use crate::config::IssuerOrigin;
use crate::OidcError;

/// Largest response body read from the provider (discovery, JWKS, token response).
pub const MAX_BODY_BYTES: usize = 256 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The only HTTP client of this crate.
#[derive(Debug, Clone)]
pub(crate) struct ProviderHttp {
    client: OutboundClient,
    origin: IssuerOrigin,
}

/// What a token endpoint answered.
pub(crate) enum FormReply<T> {
    Answer(T),
    /// An OAuth error answer (`{"error": "invalid_grant"}`): only the error code is kept.
    Refused(String),
}

impl ProviderHttp {
    pub(crate) fn new(origin: IssuerOrigin) -> Result<Self, OidcError> {
        let policy = OutboundPolicy::none()
            .configure(OIDC_PROVIDER, origin.url())
            .map_err(|_| {
                OidcError::Config("oidc.issuer is not an origin the server may call".into())
            })?;
        let client = OutboundClient::new(
            policy,
            Limits {
                connect_timeout: CONNECT_TIMEOUT,
                timeout: REQUEST_TIMEOUT,
                max_response_bytes: MAX_BODY_BYTES,
            },
        )
        .map_err(|_| OidcError::Http("cannot build the HTTP client"))?;
        Ok(Self { client, origin })
    }

    pub(crate) fn origin(&self) -> &IssuerOrigin {
        &self.origin
    }

    /// GET a JSON document from the issuer's origin.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        what: &'static str,
        url: &Url,
    ) -> Result<T, OidcError> {
        let url = self.origin.same_origin(what, url.as_str())?;
        let request = self
            .client
            .get(&url)
            .map_err(|_| OidcError::ForeignOrigin { what })?
            .header(header::ACCEPT, "application/json");
        let response = self
            .client
            .send(request)
            .await
            .map_err(|e| failed(what, e))?;
        let status = response.status();
        let body = read_limited(response, what).await?;
        if !status.is_success() {
            return Err(OidcError::Status {
                what,
                status: status.as_u16(),
            });
        }
        serde_json::from_slice(&body)
            .map_err(|_| OidcError::Metadata(format!("{what} is not the expected JSON")))
    }

    /// POST a form to the issuer's origin (the token endpoint) and read the JSON answer.
    pub(crate) async fn post_form<T: DeserializeOwned>(
        &self,
        what: &'static str,
        url: &Url,
        form: &[(&str, &str)],
        basic_auth: Option<(&str, &str)>,
    ) -> Result<FormReply<T>, OidcError> {
        let url = self.origin.same_origin(what, url.as_str())?;
        let mut request = self
            .client
            .post(&url)
            .map_err(|_| OidcError::ForeignOrigin { what })?
            .header(header::ACCEPT, "application/json")
            .form(form);
        if let Some((user, password)) = basic_auth {
            request = request.basic_auth(user, Some(password));
        }
        let response = self
            .client
            .send(request)
            .await
            .map_err(|e| failed(what, e))?;
        let status = response.status();
        let body = read_limited(response, what).await?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map(FormReply::Answer)
                .map_err(|_| {
                    OidcError::Metadata(format!("{what} answer is not the expected JSON"))
                });
        }
        #[derive(serde::Deserialize)]
        struct ErrorAnswer {
            error: String,
        }
        match serde_json::from_slice::<ErrorAnswer>(&body) {
            Ok(e) if status.is_client_error() => Ok(FormReply::Refused(error_code(&e.error))),
            _ => Err(OidcError::Status {
                what,
                status: status.as_u16(),
            }),
        }
    }
}

/// An OAuth error code is a short ASCII token (RFC 6749, 5.2); anything else is not repeated.
fn error_code(raw: &str) -> String {
    if !raw.is_empty()
        && raw.len() <= 64
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
    {
        raw.to_string()
    } else {
        "unrecognised_error".into()
    }
}

async fn read_limited(
    response: classcred_outbound::OutboundResponse,
    what: &'static str,
) -> Result<Vec<u8>, OidcError> {
    response.bytes().await.map_err(|e| failed(what, e))
}

fn failed(what: &'static str, e: OutboundError) -> OidcError {
    match e {
        OutboundError::Policy(_) => OidcError::ForeignOrigin { what },
        OutboundError::TooLarge { .. } => OidcError::TooLarge { what },
        OutboundError::Transport(_) | OutboundError::Build => OidcError::Http(what),
    }
}

/// Form-urlencode a client credential for HTTP Basic (RFC 6749, 2.3.1).
pub(crate) fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
