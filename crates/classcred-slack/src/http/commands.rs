//! `POST /slack/commands`: `/cred help | me | top [week|month|all] | dashboard | privacy`, answered
//! privately (`response_type: ephemeral`) within Slack's 3 seconds.

use super::{
    bad_payload, content_type, header, internal, ok_empty, read_body, signed_body, SlackState,
};
use crate::blocks::{ephemeral_response, escape_text};
use crate::command::{is_ssl_check, parse_command_body, CommandRequest, SlashCommand};
use crate::signature::{SIGNATURE_HEADER, TIMESTAMP_HEADER};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use classcred_engine::MemberId;
use classcred_service::{leaderboard, member_summary, Period};
use classcred_store::{Community, CommunityId, CommunityState, MemberRowId};
use std::time::Duration;

const EP: &str = "commands";
/// Time we allow ourselves before answering (Slack waits 3 s).
const BUDGET: Duration = Duration::from_millis(2500);
/// Largest unsigned body looked at for Slack's `ssl_check` probe.
const SSL_CHECK_MAX_BYTES: usize = 1024;
/// Rows shown by `/cred top`.
const TOP_ROWS: usize = 10;

/// The `/cred help` text.
pub const HELP: &str = "*ClassCred* — recognise classmates with :fire:\n\
• Mention someone and add :fire: (one fire per :fire:), or react with :fire:.\n\
• `/cred me` — your points, level, badges and fire left today\n\
• `/cred top [week|month|all]` — the class leaderboard\n\
• `/cred dashboard` — a private sign-in link to the web dashboard\n\
• `/cred privacy` — ask to see/export, correct or delete your data\n\
• `/cred help` — this help";

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
    if community.state != CommunityState::Active {
        return reply("ClassCred is switched off for this workspace.");
    }
    match tokio::time::timeout(BUDGET, run(&st, &community, &cmd)).await {
        Ok(Ok(text)) => reply(&text),
        Ok(Err(e)) => {
            let _ = internal(EP, &e);
            reply("Sorry, something went wrong. Please try again in a moment.")
        }
        Err(_) => {
            tracing::warn!(community_id = %community.id, "/cred took too long");
            reply("That took too long. Please try again in a moment.")
        }
    }
}

fn reply(text: &str) -> Response {
    Json(ephemeral_response(text)).into_response()
}

async fn run(st: &SlackState, community: &Community, cmd: &SlashCommand) -> anyhow::Result<String> {
    let mut args = cmd.args();
    let sub = args.next().map(str::to_ascii_lowercase);
    match sub.as_deref() {
        Some("me") => me(st, &community.id, cmd).await,
        Some("top") => {
            let period = match args.next().map(str::to_ascii_lowercase).as_deref() {
                None | Some("week") => Period::Week,
                Some("month") => Period::Month,
                Some("all" | "course") => Period::Course,
                Some(_) => return Ok("Usage: `/cred top [week|month|all]`".to_owned()),
            };
            top(st, &community.id, cmd, period).await
        }
        Some("dashboard") => dashboard(st, &community.id, cmd).await,
        Some("privacy") => privacy(st, &community.id, cmd).await,
        _ => Ok(HELP.to_owned()),
    }
}

async fn me(st: &SlackState, c: &CommunityId, cmd: &SlashCommand) -> anyhow::Result<String> {
    let Some(s) = member_summary(&st.store, c, cmd.user_id.as_str()).await? else {
        return Ok(
            "You have no ClassCred activity yet. Give someone :fire: to get started!".to_owned(),
        );
    };
    let badges = if s.badges.is_empty() {
        "none yet".to_owned()
    } else {
        s.badges
            .iter()
            .map(|(_, name)| escape_text(name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let quota = match s.quota_left_today {
        Some(n) => format!("{n} :fire: left today"),
        None => "no daily limit".to_owned(),
    };
    Ok(format!(
        "*Your ClassCred*\n• Points: {} earned, {} to spend\n• Level: {}\n• Badges: {badges}\n• Fire: {quota}",
        s.earned,
        s.spendable,
        escape_text(&s.level_name),
    ))
}

async fn top(
    st: &SlackState,
    c: &CommunityId,
    cmd: &SlashCommand,
    period: Period,
) -> anyhow::Result<String> {
    let board = leaderboard(&st.store, c, period).await?;
    let title = match period {
        Period::Week => "this week",
        Period::Month => "this month",
        Period::Course => "the whole course",
    };
    if board.rows.is_empty() {
        return Ok(format!("*Leaderboard — {title}*\nNo students ranked yet."));
    }
    let mut tx = st.store.begin().await?;
    let mut lines = vec![format!("*Leaderboard — {title}*")];
    for row in board.rows.iter().take(TOP_ROWS) {
        let m = tx
            .for_community(c)
            .member(&MemberRowId::parse(row.member.as_str())?)
            .await?;
        let name = m
            .profile
            .display_name
            .or(m.profile.name)
            .unwrap_or_else(|| "a classmate".to_owned());
        lines.push(format!(
            "{}. {} — {}",
            row.rank,
            escape_text(&name),
            row.points
        ));
    }
    let me = tx
        .for_community(c)
        .member_id_by_platform(cmd.user_id.as_str())
        .await?;
    tx.commit().await?;
    if let Some(pos) = me.and_then(|id| board.position(&MemberId::new(id))) {
        lines.push(format!(
            "You: rank {} of {} ({} points)",
            pos.rank, pos.of, pos.points
        ));
    }
    Ok(lines.join("\n"))
}

/// Without login links configured there is no dashboard to send anyone to: say so, and send
/// no link.
pub const DASHBOARD_NOT_YET: &str =
    "The ClassCred web dashboard is not available on this server yet. \
Use `/cred me` for your points, level and badges, and `/cred top` for the leaderboard.";

/// A private sign-in link for the member who asked (`classcred_service::login`): single use,
/// 5 minutes. Staff land on the dashboard, students on their own data.
async fn dashboard(st: &SlackState, c: &CommunityId, cmd: &SlashCommand) -> anyhow::Result<String> {
    let Some(links) = &st.login else {
        return Ok(DASHBOARD_NOT_YET.to_owned());
    };
    let mut tx = st.store.begin().await?;
    let member = tx
        .for_community(c)
        .member_id_by_platform(cmd.user_id.as_str())
        .await?;
    tx.commit().await?;
    let Some(member_id) = member else {
        return Ok(
            "ClassCred does not know you in this workspace yet. Try again in a minute.".to_owned(),
        );
    };
    let link = links.link(c, &member_id, st.now_unix());
    Ok(format!(
        "<{link}|Open your ClassCred dashboard> — this link is for you only: it works once, within 5 minutes."
    ))
}

/// What `/cred privacy` alone answers (followed by a sign-in link to "my data" when the
/// dashboard is available).
pub const PRIVACY_HELP: &str =
    "*Your privacy rights* — your class's Admins answer within 30 days, \
and you are told either way:\n\
• `/cred privacy export` — see and export all the data ClassCred keeps about you\n\
• `/cred privacy correct <what is wrong>` — ask for a correction\n\
• `/cred privacy delete` — ask for your data to be deleted\n\
You can also ask, follow and cancel your requests on *My data* in the ClassCred dashboard.";

/// `/cred privacy [export|correct|delete] [details]`: without a kind, what can be asked and a
/// link to "my data"; with one, opens the request (`classcred_service::privacy_requests`) and
/// confirms. The details are the rest of the text, as typed.
async fn privacy(st: &SlackState, c: &CommunityId, cmd: &SlashCommand) -> anyhow::Result<String> {
    use classcred_service::privacy_requests::{open_request, RequestError};
    use classcred_store::PrivacyRequestKind;
    let rest = cmd.text.trim_start();
    let rest = rest.get("privacy".len()..).unwrap_or("").trim_start();
    let (word, details) = match rest.find(char::is_whitespace) {
        Some(at) => (&rest[..at], rest[at..].trim()),
        None => (rest, ""),
    };
    let kind = match word.to_ascii_lowercase().as_str() {
        "" | "help" => {
            let link = dashboard(st, c, cmd).await?;
            return Ok(format!("{PRIVACY_HELP}\n{link}"));
        }
        "export" | "access" | "see" => PrivacyRequestKind::Access,
        "correct" | "correction" | "fix" => PrivacyRequestKind::Correction,
        "delete" | "deletion" | "erase" => PrivacyRequestKind::Deletion,
        _ => return Ok(PRIVACY_HELP.to_owned()),
    };
    let mut tx = st.store.begin().await?;
    let member = tx
        .for_community(c)
        .member_id_by_platform(cmd.user_id.as_str())
        .await?;
    tx.commit().await?;
    let Some(member_id) = member else {
        return Ok(
            "ClassCred does not know you in this workspace yet. Try again in a minute.".to_owned(),
        );
    };
    let details = (!details.is_empty()).then_some(details);
    match open_request(&st.store, c, &member_id, kind, details).await {
        Ok(r) => {
            let what = match kind {
                PrivacyRequestKind::Access => "see and export your data",
                PrivacyRequestKind::Correction => "correct your data",
                PrivacyRequestKind::Deletion => "delete your data",
            };
            let due = chrono::DateTime::from_timestamp_millis(r.due_at)
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_default();
            Ok(format!(
                "Your request to {what} was sent to your class's Admins. They answer by {due}; \
                 you will be told here. Follow or cancel it on *My data* (`/cred dashboard`)."
            ))
        }
        Err(e @ (RequestError::Duplicate(_) | RequestError::Invalid { .. })) => {
            Ok(format!("Not sent: {}", escape_text(&e.to_string())))
        }
        Err(RequestError::NotFound) => Ok(
            "ClassCred does not know you in this workspace yet. Try again in a minute.".to_owned(),
        ),
        Err(e) => Err(e.into()),
    }
}
