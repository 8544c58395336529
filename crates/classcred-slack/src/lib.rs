//! # classcred-slack — the Slack adapter
//!
//! Thin by design: it verifies Slack's requests, parses them into narrow ClassCred types, turns
//! them into the engine's neutral events ([`convert`]) and hands them to the recognition service
//! (`classcred_service::ingest`), and talks to the Slack Web API. It holds no business rules (who
//! may give fire, quotas, taxes): those are the engine's.
//!
//! ## Wiring (what the binary mounts and calls)
//! - [`routes`]`(`[`SlackState`]`) -> axum::Router`: `POST /slack/events`, `POST /slack/commands`,
//!   `POST /slack/interactivity`, `GET /slack/install`, `GET /slack/oauth/callback` (see
//!   [`http`]). Build the state with [`SlackState::from_config`] from the `[slack]`
//!   [`SlackConfig`].
//! - [`ensure_single_workspace`] at start (single-workspace mode).
//! - [`deliver_notice_with`] (or [`deliver_notice`]) as the handler of job kind
//!   `classcred_service::NOTICE_JOB`.
//! - Events are acknowledged once stored in the inbox; processing them is the
//!   `classcred_service::DRAIN_JOB` handler's work.
//!
//! ## Inbound (the HTTP layer's order of calls)
//! 1. Headers first: a signing secret is configured (else 503); `X-Slack-Request-Timestamp` /
//!    `X-Slack-Signature` present, well-formed and fresh ([`signature::SignedHeaders::check`],
//!    else 401); `Content-Length` within [`body::MAX_BODY_BYTES`] (else 413). Only
//!    `POST /slack/commands` without any signature header looks at a small body for Slack's
//!    unsigned `ssl_check=1` probe ([`command::is_ssl_check`], a byte scan) and answers 200.
//! 2. Read the body, at most [`body::MAX_BODY_BYTES`].
//! 3. Verify the body's signature with the current time → 401 on any [`SignatureError`].
//! 4. Parse: [`parse_events_body`] ([`Envelope`]), [`parse_command_body`] ([`CommandRequest`]) or
//!    [`parse_interaction_body`] ([`Interaction`], dispatched with a [`Router`]) → 400 on any
//!    [`PayloadError`] (whose messages never contain payload content).
//! 5. Message text: [`mentions()`] gives the mentioned [`SlackUserId`]s, ignoring code and
//!    quotes; the engine's fire-token scanner should run over [`strip_code_and_quotes`] so both
//!    agree on what counts.
//!
//! ```
//! use classcred_slack::{parse_events_body, verify, sign, Envelope, SigningSecret};
//!
//! let secret = SigningSecret::new("8f742231b10e8888abcd99yyyzzz85a5");
//! let body = br#"{"type":"url_verification","challenge":"abc"}"#;
//! let sig = sign(&secret, "1531420618", body); // what Slack would send
//! verify(&secret, Some("1531420618"), Some(&sig), body, 1_531_420_700).unwrap();
//! let envelope = parse_events_body(Some("application/json"), body).unwrap();
//! assert_eq!(envelope, Envelope::UrlVerification { challenge: "abc".into() });
//! ```
//!
//! ## Outbound
//! [`SlackClient`] (chat.postMessage, chat.postEphemeral, users.info, users.list, views.publish,
//! views.open, oauth.v2.access, `response_url` replies) goes through the one outbound client
//! (`classcred-outbound`) with an [`OutboundPolicy`] built from the privacy registry's Slack
//! subprocessors: `https://slack.com/api/…` and `https://hooks.slack.com/commands|actions/…`
//! only (plus exactly the configured base URL's origin when it is on loopback, for tests).
//! [`blocks`] builds the Block Kit JSON; [`oauth`] builds the install URL and signs `state`.
//!
//! ## Privacy
//! Payload types keep only the fields ClassCred uses; everything else is dropped while parsing.
//! Secrets ([`SigningSecret`], [`BotToken`], [`oauth::StateSecret`]) never print. Logging uses
//! method names and counts only, never payloads. [`scope_purposes`] (from the privacy registry) justifies every bot scope in
//! `slack/manifest.yml`.

pub mod blocks;
pub mod body;
pub mod client;
pub mod command;
pub mod config;
pub mod convert;
pub mod events;
pub mod http;
pub mod ids;
pub mod interactivity;
pub mod mentions;
pub mod notice;
pub mod oauth;
pub mod scopes;
pub mod signature;
pub mod sync;

pub use body::PayloadError;
pub use client::{
    BotToken, OutboundPolicy, OutgoingMessage, PolicyError, PostedMessageRef, SlackApiError,
    SlackClient, SlackClientConfig, DEFAULT_API_BASE_URL,
};
pub use command::{is_ssl_check, parse_command_body, CommandRequest, SlashCommand};
pub use events::{parse_events_body, Envelope, Event, EventCallback, MessageEvent, SlackUser};
pub use ids::{IdError, SlackChannelId, SlackTeamId, SlackTs, SlackUserId};
pub use interactivity::{parse_interaction_body, Interaction, Routed, Router};
pub use mentions::{mention, mentions, scan_mentions, strip_code_and_quotes};
pub use oauth::{authorize_url, issue_state, verify_state, OAuthAccess, StateSecret};
pub use scopes::{scope_purposes, EVENT_SCOPES};
pub use signature::{sign, verify, SignatureError, SigningSecret};

pub use config::{ConfirmStyle, SlackConfig};
pub use http::{routes, LoginLinks, SlackState};
pub use notice::{deliver_notice, deliver_notice_with};
pub use sync::{ensure_single_workspace, record_install, sync_members};

/// Slack's side of the platform seam: notice delivery ([`notice::SlackNotices`]) and the member
/// directory ([`sync::SlackMembers`]), for `classcred_platform::Platforms`.
pub fn adapter(client: SlackClient, config: SlackConfig) -> classcred_platform::Adapter {
    classcred_platform::Adapter {
        platform: classcred_platform::Platform::Slack,
        notices: std::sync::Arc::new(notice::SlackNotices {
            client: client.clone(),
            config: config.clone(),
        }),
        members: std::sync::Arc::new(sync::SlackMembers { client, config }),
    }
}
