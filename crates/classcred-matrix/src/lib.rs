//! # classcred-matrix — the Matrix adapter
//!
//! ClassCred joins a Matrix homeserver as an **Application Service**: the homeserver pushes
//! every event of the rooms the bot (`@classcred:server`) is in to
//! `PUT /_matrix/app/v1/transactions/{txnId}` ([`http`]), and ClassCred acts through the
//! client-server API with the `as_token` ([`client`]).
//!
//! Thin by design, like the Slack adapter: it authenticates the homeserver, parses events into
//! narrow types ([`events`]), converts them to the engine's neutral events ([`convert`]) and
//! hands them to the recognition service (`classcred_service::ingest`). A room is a community
//! (platform `matrix`, team id = room id, see [`rooms`]).
//!
//! ## Wiring (what the binary mounts and calls)
//! - [`routes`]`(`[`MatrixState`]`)` when `[matrix]` is configured ([`MatrixConfig`]).
//! - Job handlers: [`rooms::JOIN_JOB`] ([`members::join_job`]) and [`http::COMMAND_JOB`]
//!   ([`MatrixAdapter::command_job`]); [`MatrixAdapter::adapter`] joins the seam's `Platforms`
//!   (notices, member sync and look-up).
//! - `classcred matrix registration` writes the registration file ([`config::registration_yaml`]).

pub mod adapter;
pub mod client;
pub mod config;
pub mod convert;
pub mod events;
pub mod http;
pub mod members;
pub mod rooms;

pub use adapter::MatrixAdapter;
pub use client::{Homeserver, HsError};
pub use config::{MatrixConfig, Token};
pub use http::{routes, MatrixState, COMMAND_JOB};
pub use rooms::{JOIN_JOB, PLATFORM};
