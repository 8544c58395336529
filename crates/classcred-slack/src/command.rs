//! Slash-command requests (`POST /slack/commands`, form-encoded), narrowed to what `/cred` needs.
//!
//! Slack may also POST an unsigned `ssl_check=1` to the command URL to test TLS; answer it 200
//! without verifying a signature ([`is_ssl_check`]) and do nothing else.

use crate::body::{check_content_type, parse_form, PayloadError, FORM};
use crate::ids::{SlackChannelId, SlackTeamId, SlackUserId};
use std::collections::BTreeMap;

/// A parsed slash-command request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandRequest {
    /// `ssl_check=1`: answer 200, nothing else.
    SslCheck,
    /// A member ran a command.
    Command(SlashCommand),
}

/// The fields of a slash command ClassCred uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlashCommand {
    /// Workspace.
    pub team_id: SlackTeamId,
    /// Enterprise Grid org, if any.
    pub enterprise_id: Option<String>,
    /// Who ran it.
    pub user_id: SlackUserId,
    /// Where it was run.
    pub channel_id: Option<SlackChannelId>,
    /// The command, e.g. `/cred`.
    pub command: String,
    /// Everything after the command (may be empty).
    pub text: String,
    /// Where to send delayed replies (5 posts within 30 minutes).
    pub response_url: Option<String>,
    /// For `views.open`; valid for 3 seconds.
    pub trigger_id: Option<String>,
}

impl SlashCommand {
    /// The words of `text`, e.g. `["top", "week"]` for `/cred top week`.
    pub fn args(&self) -> impl Iterator<Item = &str> {
        self.text.split_whitespace()
    }
}

/// Whether a (possibly unsigned) body is Slack's `ssl_check=1` probe. Safe on any input.
pub fn is_ssl_check(body: &[u8]) -> bool {
    // A byte scan, not a form parse: this runs on unsigned bodies.
    body.split(|b| *b == b'&')
        .any(|pair| pair == b"ssl_check=1")
}

fn take(f: &mut BTreeMap<String, String>, name: &'static str) -> Result<String, PayloadError> {
    f.remove(name).ok_or(PayloadError::MissingField(name))
}

fn nonempty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

/// Parses a slash-command body after the signature was verified (or for `ssl_check`).
pub fn parse_command_body(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<CommandRequest, PayloadError> {
    check_content_type(content_type, FORM)?;
    let mut f = parse_form(body)?;
    if f.get("ssl_check").map(String::as_str) == Some("1") {
        return Ok(CommandRequest::SslCheck);
    }
    let bad = |name: &'static str| move |_| PayloadError::InvalidField(name);
    let team_id = SlackTeamId::try_from(take(&mut f, "team_id")?).map_err(bad("team_id"))?;
    let user_id = SlackUserId::try_from(take(&mut f, "user_id")?).map_err(bad("user_id"))?;
    let channel_id = match nonempty(f.remove("channel_id")) {
        Some(c) => Some(SlackChannelId::try_from(c).map_err(bad("channel_id"))?),
        None => None,
    };
    Ok(CommandRequest::Command(SlashCommand {
        team_id,
        enterprise_id: nonempty(f.remove("enterprise_id")),
        user_id,
        channel_id,
        command: take(&mut f, "command")?,
        text: f.remove("text").unwrap_or_default(),
        response_url: nonempty(f.remove("response_url")),
        trigger_id: nonempty(f.remove("trigger_id")),
    }))
}
