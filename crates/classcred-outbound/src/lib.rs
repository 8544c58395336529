//! ClassCred's one outbound HTTP client.
//!
//! Every request the server sends to a third party (Slack's Web API and response URLs, the
//! OpenID Provider) goes through an [`OutboundClient`]. Its [`OutboundPolicy`] is built from
//! the privacy registry's subprocessors only (`classcred_store::registry::SUBPROCESSORS`): exact
//! origins over HTTPS (port 443 for fixed ones), on the declared path prefixes; an
//! operator-configured origin (the OIDC issuer) is declared at start from the configuration;
//! plain HTTP only on a loopback origin allowed explicitly (tests). Redirects are never
//! followed; requests have connect and total timeouts; bodies are read up to a limit.
//!
//! No other crate builds an HTTP client: `tests/only_client.rs` fails on a `reqwest` dependency
//! or a client constructor anywhere else in the workspace's sources.

mod client;
mod policy;

pub use client::{Limits, OutboundClient, OutboundError, OutboundResponse};
pub use policy::{is_loopback, AllowedOrigin, Grant, OutboundPolicy, PolicyError, Target};

/// What callers need to build a request and read a response (they depend on no HTTP client
/// crate of their own).
pub use reqwest::{header, Error as TransportError, Method, RequestBuilder, StatusCode};
pub use url::Url;
