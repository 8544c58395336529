//! `POST /slack/commands`: `/cred help | me | top [week|month|all] | dashboard | privacy`, answered
//! privately (`response_type: ephemeral`) within Slack's 3 seconds. What each command means and
//! answers is the platform seam's (`classcred_platform::commands`); this module verifies, parses
//! and renders the answer as mrkdwn.

use super::{bad_payload, content_type, header, ok_empty, read_body, signed_body, SlackState};
use crate::blocks::{ephemeral_response, mrkdwn};
use crate::command::{is_ssl_check, parse_command_body, CommandRequest};
use crate::signature::{SIGNATURE_HEADER, TIMESTAMP_HEADER};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use classcred_platform::{run_command, CommandContext};

const EP: &str = "commands";
/// Largest unsigned body looked at for Slack's `ssl_check` probe.
const SSL_CHECK_MAX_BYTES: usize = 1024;
/// How Slack members type the command.
pub const PREFIX: &str = "/cred";

/// The `/cred help` text (Slack mrkdwn).
pub fn help() -> String {
    mrkdwn(&classcred_platform::commands::help(PREFIX))
}

pub(super) async fn handle(
    State(st): State<SlackState>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    // Slack's TLS probe comes without a signature: a small unsigned body is only looked at for
    // `ssl_check=1` (a byte scan, no parsing) and answered; anything else unsigned is refused.
    let unsigned = header(&headers, TIMESTAMP_HEADER).is_none()
        && header(&headers, SIGNATURE_HEADER).is_none();
    if unsigned {
        if let Ok(b) = read_body(&st, EP, &headers, body, SSL_CHECK_MAX_BYTES).await {
            if is_ssl_check(&b) {
                return ok_empty();
            }
        }
        return super::signature_refusal(
            &st,
            EP,
            &crate::signature::SignatureError::MissingHeader(SIGNATURE_HEADER),
        );
    }
    let body = match signed_body(&st, EP, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let cmd = match parse_command_body(content_type(&headers), &body) {
        Ok(CommandRequest::SslCheck) => return ok_empty(),
        Ok(CommandRequest::Command(c)) => c,
        Err(e) => return bad_payload(&st, EP, &e),
    };
    let community = match super::community_for_team(&st, EP, cmd.team_id.as_str()).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let ctx = CommandContext {
        store: &st.store,
        login: st.login.as_ref(),
        community: &community,
        platform_user_id: cmd.user_id.as_str(),
        prefix: PREFIX,
        channel: cmd.channel_id.as_ref().map(|c| c.as_str()),
    };
    let answer = mrkdwn(&run_command(&ctx, &cmd.text).await);
    if classcred_platform::commands::Command::parse(&cmd.text)
        == classcred_platform::commands::Command::Store
    {
        // A Buy button per item that can be bought now (the text lists them all).
        let buttons: Vec<(u32, String)> = match classcred_platform::store_commands::items_on_sale(
            &ctx,
        )
        .await
        {
            Ok(items) => items
                .iter()
                .filter(|i| i.left != Some(0))
                .map(|i| {
                    (
                        i.item.number,
                        format!("Buy #{} ({} points)", i.item.number, i.item.price),
                    )
                })
                .collect(),
            Err(e) => {
                tracing::warn!(community_id = %community.id, error = %e, "store buttons not built");
                Vec::new()
            }
        };
        return Json(crate::blocks::store_response(&answer, &buttons)).into_response();
    }
    reply(&answer)
}

fn reply(text: &str) -> Response {
    Json(ephemeral_response(text)).into_response()
}
