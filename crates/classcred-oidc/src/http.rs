//! Outbound HTTP to the provider: only to the issuer's origin, no redirects followed, bounded
//! in time and in body size. Errors name what failed, never the body the provider sent.

use std::time::Duration;

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
    client: reqwest::Client,
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
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("classcred-oidc/", env!("CARGO_PKG_VERSION")))
            .build()
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
        let response = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|_| OidcError::Http(what))?;
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
            .post(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(form);
        if let Some((user, password)) = basic_auth {
            request = request.basic_auth(user, Some(password));
        }
        let response = request.send().await.map_err(|_| OidcError::Http(what))?;
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
    mut response: reqwest::Response,
    what: &'static str,
) -> Result<Vec<u8>, OidcError> {
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Err(OidcError::TooLarge { what });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|_| OidcError::Http(what))? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(OidcError::TooLarge { what });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Form-urlencode a client credential for HTTP Basic (RFC 6749, 2.3.1).
pub(crate) fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
