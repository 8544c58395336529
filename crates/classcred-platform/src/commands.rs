//! The member commands, the same on every platform: `me`, `top [week|month|all]`,
//! `dashboard`, `privacy [export|correct|delete] [details]`, `questions`, `accept ANSWER_ID`
//! (in `questions.rs`) and `help` (also anything else).
//! [`run_command`] answers with a [`Doc`]; the adapter parses who asked, where, and the
//! argument text (after its own prefix: Slack `/cred`, Matrix `!cred`, Teams `@ClassCred`), and
//! renders the answer.

use std::time::Duration;

use classcred_engine::MemberId;
use classcred_service::{leaderboard, member_summary, Period};
use classcred_store::{Community, CommunityId, CommunityState, MemberRowId, Store};

use crate::text::{Doc, Line};
use crate::LoginLinks;

/// Time a command may take (Slack waits 3 s for its answer; the others are no more patient).
pub const BUDGET: Duration = Duration::from_millis(2500);
/// Rows shown by `top`.
pub const TOP_ROWS: usize = 10;

/// Who asked, where, and with what.
pub struct CommandContext<'a> {
    pub store: &'a Store,
    /// `None`: this server hands out no dashboard links.
    pub login: Option<&'a LoginLinks>,
    pub community: &'a Community,
    /// The platform's id of the member who asked (Slack `U…`, Matrix `@u:server`, Teams `29:…`).
    pub platform_user_id: &'a str,
    /// How members type the command on this platform, shown in help texts: `/cred`, `!cred`.
    pub prefix: &'a str,
    /// Where the command was typed (Slack channel, Matrix room, Teams conversation), when the
    /// adapter knows: `poll` and `debate` post there.
    pub channel: Option<&'a str>,
}

/// The first word of a command, and what the rest means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    Me,
    /// `top` with a period; `None` when the period word is not one we know.
    Top(Option<Period>),
    Dashboard,
    /// `privacy` and the rest of the text after it, as typed.
    Privacy(String),
    /// `store`: what is on sale.
    Store,
    /// `buy ITEM`: the item's number or name, as typed.
    Buy(String),
    /// `questions`: the unanswered questions, oldest first.
    Questions,
    /// `accept ANSWER_ID`.
    Accept(String),
    /// `polls`: the open polls.
    Polls,
    /// `vote N OPTION`, the rest as typed.
    Vote(String),
    /// `poll QUESTION | OPTION | …` (staff), the rest as typed.
    Poll(String),
    /// `debate MOTION | SIDE | …` (staff), the rest as typed.
    Debate(String),
    /// `close N` (staff).
    Close(String),
}

impl Command {
    /// Parses the text after the prefix (`"top week"`, `"privacy correct my name is Ana"`).
    pub fn parse(args: &str) -> Command {
        let mut words = args.split_whitespace();
        let sub = words.next().map(str::to_ascii_lowercase);
        match sub.as_deref() {
            Some("me") => Command::Me,
            Some("top") => {
                Command::Top(match words.next().map(str::to_ascii_lowercase).as_deref() {
                    None | Some("week") => Some(Period::Week),
                    Some("month") => Some(Period::Month),
                    Some("all" | "course") => Some(Period::Course),
                    Some(_) => None,
                })
            }
            Some("dashboard") => Command::Dashboard,
            Some("privacy") => {
                let rest = args.trim_start();
                Command::Privacy(rest.get("privacy".len()..).unwrap_or("").trim().to_owned())
            }
            Some("store" | "shop") => Command::Store,
            Some("buy") => {
                let rest = args.trim_start();
                Command::Buy(rest.get("buy".len()..).unwrap_or("").trim().to_owned())
            }
            Some("questions") => Command::Questions,
            Some("accept") => Command::Accept(words.collect::<Vec<_>>().join(" ")),
            Some("polls") => Command::Polls,
            Some(w @ ("vote" | "poll" | "debate" | "close")) => {
                let rest = args.trim_start();
                let rest = rest.get(w.len()..).unwrap_or("").trim().to_owned();
                match w {
                    "vote" => Command::Vote(rest),
                    "poll" => Command::Poll(rest),
                    "debate" => Command::Debate(rest),
                    _ => Command::Close(rest),
                }
            }
            _ => Command::Help,
        }
    }
}

/// Answers a command. Never fails: a switched-off community, an error and a time-out are
/// answers too (errors are logged with the community id only).
pub async fn run_command(ctx: &CommandContext<'_>, args: &str) -> Doc {
    if ctx.community.state != CommunityState::Active {
        return Doc::text("ClassCred is switched off for this workspace.");
    }
    match tokio::time::timeout(BUDGET, answer(ctx, Command::parse(args))).await {
        Ok(Ok(doc)) => doc,
        Ok(Err(e)) => {
            tracing::error!(community_id = %ctx.community.id, error = %e, "command failed");
            Doc::text("Sorry, something went wrong. Please try again in a moment.")
        }
        Err(_) => {
            tracing::warn!(community_id = %ctx.community.id, "command took too long");
            Doc::text("That took too long. Please try again in a moment.")
        }
    }
}

/// The help text.
pub fn help(prefix: &str) -> Doc {
    let mut d = Doc::default();
    d.push(
        Line::new()
            .strong("ClassCred")
            .text(" — recognise classmates with ")
            .fire(),
    );
    d.push(
        Line::bullet()
            .text("Mention someone and add ")
            .fire()
            .text(" (one fire per ")
            .fire()
            .text("), or react with ")
            .fire()
            .text("."),
    );
    for (cmd, what) in [
        ("me", "your points, level, badges and fire left today"),
        ("top [week|month|all]", "the class leaderboard"),
        ("dashboard", "a private sign-in link to the web dashboard"),
        ("privacy", "ask to see/export, correct or delete your data"),
        ("store", "what you can buy with your points"),
        ("buy <number>", "buy an item from the class store"),
        ("questions", "the unanswered questions, oldest first"),
        ("accept ANSWER_ID", "accept an answer to your question"),
        ("polls", "the open polls and debates"),
        (
            "vote <poll> <option>",
            "vote in a poll (again to change your vote)",
        ),
        (
            "poll <question> | <option> | <option>",
            "post a poll here (Instructors and Admins)",
        ),
        (
            "debate <motion> | <side> | <side>",
            "post a debate here (Instructors and Admins)",
        ),
        (
            "close <poll>",
            "close a poll and show its results (Instructors and Admins)",
        ),
        ("help", "this help"),
    ] {
        d.push(
            Line::bullet()
                .code(format!("{prefix} {cmd}"))
                .text(format!(" — {what}")),
        );
    }
    d
}

/// Answers one parsed command.
pub async fn answer(ctx: &CommandContext<'_>, cmd: Command) -> anyhow::Result<Doc> {
    match cmd {
        Command::Help => Ok(help(ctx.prefix)),
        Command::Me => me(ctx).await,
        Command::Top(Some(period)) => top(ctx, period).await,
        Command::Top(None) => {
            let mut d = Doc::default();
            d.push(
                Line::new()
                    .text("Usage: ")
                    .code(format!("{} top [week|month|all]", ctx.prefix)),
            );
            Ok(d)
        }
        Command::Dashboard => dashboard(ctx).await,
        Command::Privacy(rest) => privacy(ctx, &rest).await,
        Command::Store => crate::store_commands::store(ctx).await,
        Command::Buy(what) => crate::store_commands::buy(ctx, &what).await,
        Command::Questions => crate::questions::questions(ctx).await,
        Command::Accept(id) => crate::questions::accept(ctx, &id).await,
        Command::Polls => crate::polls::polls(ctx).await,
        Command::Vote(rest) => crate::polls::vote(ctx, &rest).await,
        Command::Poll(rest) => {
            crate::polls::create(ctx, classcred_engine::PollKind::Poll, &rest).await
        }
        Command::Debate(rest) => {
            crate::polls::create(ctx, classcred_engine::PollKind::Debate, &rest).await
        }
        Command::Close(rest) => crate::polls::close(ctx, &rest).await,
    }
}

fn not_known_yet() -> Doc {
    Doc::text("ClassCred does not know you in this workspace yet. Try again in a minute.")
}

async fn member_row(ctx: &CommandContext<'_>) -> anyhow::Result<Option<MemberRowId>> {
    let mut tx = ctx.store.begin().await?;
    let member = tx
        .for_community(&ctx.community.id)
        .member_id_by_platform(ctx.platform_user_id)
        .await?;
    tx.commit().await?;
    Ok(member)
}

async fn me(ctx: &CommandContext<'_>) -> anyhow::Result<Doc> {
    let Some(s) = member_summary(ctx.store, &ctx.community.id, ctx.platform_user_id).await? else {
        let mut d = Doc::default();
        d.push(
            Line::new()
                .text("You have no ClassCred activity yet. Give someone ")
                .fire()
                .text(" to get started!"),
        );
        return Ok(d);
    };
    let badges = if s.badges.is_empty() {
        "none yet".to_owned()
    } else {
        s.badges
            .iter()
            .map(|(_, name)| name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut d = Doc::default();
    d.push(Line::new().strong("Your ClassCred"));
    d.push(Line::bullet().text(format!(
        "Points: {} earned, {} to spend",
        s.earned, s.spendable
    )));
    d.push(Line::bullet().text(format!("Level: {}", s.level_name)));
    d.push(Line::bullet().text(format!("Badges: {badges}")));
    d.push(match s.quota_left_today {
        Some(n) => Line::bullet()
            .text(format!("Fire: {n} "))
            .fire()
            .text(" left today"),
        None => Line::bullet().text("Fire: no daily limit"),
    });
    Ok(d)
}

async fn top(ctx: &CommandContext<'_>, period: Period) -> anyhow::Result<Doc> {
    let c: &CommunityId = &ctx.community.id;
    let board = leaderboard(ctx.store, c, period).await?;
    let title = match period {
        Period::Week => "this week",
        Period::Month => "this month",
        Period::Course => "the whole course",
    };
    let mut d = Doc::default();
    d.push(Line::new().strong(format!("Leaderboard — {title}")));
    if board.rows.is_empty() {
        d.push(Line::new().text("No students ranked yet."));
        return Ok(d);
    }
    let mut tx = ctx.store.begin().await?;
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
        d.push(Line::new().text(format!("{}. {name} — {}", row.rank, row.points)));
    }
    let me = tx
        .for_community(c)
        .member_id_by_platform(ctx.platform_user_id)
        .await?;
    tx.commit().await?;
    if let Some(pos) = me.and_then(|id| board.position(&MemberId::new(id))) {
        d.push(Line::new().text(format!(
            "You: rank {} of {} ({} points)",
            pos.rank, pos.of, pos.points
        )));
    }
    Ok(d)
}

/// What `dashboard` answers when this server hands out no sign-in links.
pub fn dashboard_not_yet(prefix: &str) -> Doc {
    let mut d = Doc::default();
    d.push(
        Line::new()
            .text("The ClassCred web dashboard is not available on this server yet. Use ")
            .code(format!("{prefix} me"))
            .text(" for your points, level and badges, and ")
            .code(format!("{prefix} top"))
            .text(" for the leaderboard."),
    );
    d
}

/// A private sign-in link for the member who asked (`classcred_service::login`): single use,
/// 5 minutes. Staff land on the dashboard, students on their own data.
async fn dashboard(ctx: &CommandContext<'_>) -> anyhow::Result<Doc> {
    let Some(links) = ctx.login else {
        return Ok(dashboard_not_yet(ctx.prefix));
    };
    let Some(member_id) = member_row(ctx).await? else {
        return Ok(not_known_yet());
    };
    let now = ctx.store.clock().now().timestamp();
    let link = links.link(&ctx.community.id, &member_id, now);
    let mut d = Doc::default();
    d.push(
        Line::new()
            .link(link, "Open your ClassCred dashboard")
            .text(" — this link is for you only: it works once, within 5 minutes."),
    );
    Ok(d)
}

/// What `privacy` alone answers (followed by a sign-in link to "my data" when the dashboard
/// is available).
pub fn privacy_help(prefix: &str) -> Doc {
    let mut d = Doc::default();
    d.push(
        Line::new()
            .strong("Your privacy rights")
            .text(" — your class's Admins answer within 30 days, and you are told either way:"),
    );
    for (cmd, what) in [
        (
            "export",
            "see and export all the data ClassCred keeps about you",
        ),
        ("correct <what is wrong>", "ask for a correction"),
        ("delete", "ask for your data to be deleted"),
    ] {
        d.push(
            Line::bullet()
                .code(format!("{prefix} privacy {cmd}"))
                .text(format!(" — {what}")),
        );
    }
    d.push(
        Line::new()
            .text("You can also ask, follow and cancel your requests on ")
            .strong("My data")
            .text(" in the ClassCred dashboard."),
    );
    d
}

/// `privacy [export|correct|delete] [details]`: without a kind, what can be asked and a link to
/// "my data"; with one, opens the request (`classcred_service::privacy_requests`) and confirms.
async fn privacy(ctx: &CommandContext<'_>, rest: &str) -> anyhow::Result<Doc> {
    use classcred_service::privacy_requests::{open_request, RequestError};
    use classcred_store::PrivacyRequestKind;
    let (word, details) = match rest.find(char::is_whitespace) {
        Some(at) => (&rest[..at], rest[at..].trim()),
        None => (rest, ""),
    };
    let kind = match word.to_ascii_lowercase().as_str() {
        "" | "help" => {
            let mut d = privacy_help(ctx.prefix);
            d.extend(dashboard(ctx).await?);
            return Ok(d);
        }
        "export" | "access" | "see" => PrivacyRequestKind::Access,
        "correct" | "correction" | "fix" => PrivacyRequestKind::Correction,
        "delete" | "deletion" | "erase" => PrivacyRequestKind::Deletion,
        _ => return Ok(privacy_help(ctx.prefix)),
    };
    let Some(member_id) = member_row(ctx).await? else {
        return Ok(not_known_yet());
    };
    let details = (!details.is_empty()).then_some(details);
    match open_request(ctx.store, &ctx.community.id, &member_id, kind, details).await {
        Ok(r) => {
            let what = match kind {
                PrivacyRequestKind::Access => "see and export your data",
                PrivacyRequestKind::Correction => "correct your data",
                PrivacyRequestKind::Deletion => "delete your data",
            };
            let due = chrono::DateTime::from_timestamp_millis(r.due_at)
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_default();
            let mut d = Doc::default();
            d.push(
                Line::new()
                    .text(format!(
                        "Your request to {what} was sent to your class's Admins. They answer by \
                         {due}; you will be told here. Follow or cancel it on "
                    ))
                    .strong("My data")
                    .text(" (")
                    .code(format!("{} dashboard", ctx.prefix))
                    .text(")."),
            );
            Ok(d)
        }
        Err(e @ (RequestError::Duplicate(_) | RequestError::Invalid { .. })) => {
            Ok(Doc::text(format!("Not sent: {e}")))
        }
        Err(RequestError::NotFound) => Ok(not_known_yet()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing() {
        assert_eq!(Command::parse(""), Command::Help);
        assert_eq!(Command::parse("  ME "), Command::Me);
        assert_eq!(Command::parse("top"), Command::Top(Some(Period::Week)));
        assert_eq!(
            Command::parse("top All"),
            Command::Top(Some(Period::Course))
        );
        assert_eq!(Command::parse("top year"), Command::Top(None));
        assert_eq!(
            Command::parse("privacy correct my name is Ana"),
            Command::Privacy("correct my name is Ana".into())
        );
        assert_eq!(Command::parse("nonsense"), Command::Help);
        assert_eq!(Command::parse("Store"), Command::Store);
        assert_eq!(Command::parse("buy  #3 "), Command::Buy("#3".into()));
        assert_eq!(Command::parse("Questions"), Command::Questions);
        assert_eq!(
            Command::parse("accept C1:1.2"),
            Command::Accept("C1:1.2".into())
        );
    }

    #[test]
    fn help_names_the_platforms_prefix() {
        let h = help("!cred").plain();
        assert!(h.contains("!cred me") && h.contains("!cred top [week|month|all]"));
        assert!(!h.contains("/cred"));
    }
}
