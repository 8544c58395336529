//! Polls and debates in chat, the same on every platform, and posting a poll (job
//! [`classcred_service::polls::POLL_POST_JOB`]).
//!
//! Commands: `polls` lists the open polls with their numbers and options; `vote N OPTION`
//! votes in poll number N (OPTION: the option's number or its text; a new vote replaces the
//! old one until the poll closes); Instructors and Admins create with
//! `poll QUESTION | OPTION | OPTION …` or `debate MOTION | SIDE | SIDE …` (posted in the
//! channel the command came from) and close with `close N`. The rules are the engine's
//! (`classcred_service::polls`).
//!
//! Posting goes through the seam's [`crate::NoticeSink::post_poll`]: an adapter with buttons
//! (Slack blocks, a Teams Adaptive Card) overrides it; the default posts [`poll_doc`] as text
//! with the vote command (Matrix: `!cred vote N OPTION`). The posted message's id is recorded
//! as `PollPosted`, so a debate's discussion thread is that message's thread.

use classcred_engine::PollKind;
use classcred_service::changes::ChangeError;
use classcred_service::polls::{self as service, Draft, PollView, Voted};
use classcred_store::jobs::ClaimedJob;
use classcred_store::{CommunityState, MemberRowId, Store};

use crate::commands::CommandContext;
use crate::notice::Posted;
use crate::text::{Doc, Line};
use crate::Platforms;

/// How members type commands on a community's platform (for texts posted by jobs).
pub fn command_prefix(platform: &str) -> &'static str {
    match platform {
        "matrix" => "!cred",
        "teams" => "@ClassCred",
        _ => "/cred",
    }
}

/// A poll's results as lines: `1. Graphs — 3 votes (60%)`.
pub fn result_lines(p: &PollView) -> Vec<Line> {
    p.options
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let n = p.counts.get(i).copied().unwrap_or(0);
            Line::bullet()
                .code(format!("{}", i + 1))
                .text(" ")
                .strong(o.clone())
                .text(format!(
                    " — {n} vote{} ({}%)",
                    if n == 1 { "" } else { "s" },
                    p.percent(i)
                ))
        })
        .collect()
}

/// The poll as posted in its channel (and listed by `polls`): question, numbered options, how
/// to vote; results when they are public.
pub fn poll_doc(p: &PollView, prefix: &str) -> Doc {
    let mut d = Doc::default();
    let what = match p.kind {
        PollKind::Poll => "Poll",
        PollKind::Debate => "Debate",
    };
    d.push(
        Line::new()
            .strong(format!("{what} #{}: ", p.number))
            .text(p.question.clone()),
    );
    if p.results_public() && p.votes > 0 {
        for l in result_lines(p) {
            d.push(l);
        }
    } else {
        for (i, o) in p.options.iter().enumerate() {
            d.push(
                Line::bullet()
                    .code(format!("{}", i + 1))
                    .text(format!(" {o}")),
            );
        }
    }
    let mut facts = Vec::new();
    if p.anonymous {
        facts.push("anonymous".to_owned());
    }
    if let Some(c) = p.closes_at {
        facts.push(format!("closes {}", c.format("%Y-%m-%d %H:%M UTC")));
    }
    if p.closed_at.is_some() {
        facts.push("closed".to_owned());
    } else if !p.live_results {
        facts.push("results when it closes".to_owned());
    }
    if !facts.is_empty() {
        d.push(Line::new().text(format!("({})", facts.join(" · "))));
    }
    if p.closed_at.is_none() {
        let mut l = Line::new()
            .text("Vote with ")
            .code(format!("{prefix} vote {} <option>", p.number));
        if p.kind == PollKind::Debate {
            l = l.text("; discuss in this message's thread");
        }
        d.push(l.text("."));
    }
    d
}

fn not_known() -> Doc {
    Doc::text("ClassCred does not know you in this workspace yet. Try again in a minute.")
}

async fn member(ctx: &CommandContext<'_>) -> anyhow::Result<Option<MemberRowId>> {
    let mut tx = ctx.store.begin().await?;
    let m = tx
        .for_community(&ctx.community.id)
        .member_id_by_platform(ctx.platform_user_id)
        .await?;
    tx.rollback().await?;
    Ok(m)
}

/// `polls`: the open polls.
pub async fn polls(ctx: &CommandContext<'_>) -> anyhow::Result<Doc> {
    let now = ctx.store.clock().now();
    let open: Vec<PollView> = service::list(ctx.store, &ctx.community.id)
        .await?
        .into_iter()
        .filter(|p| p.open_at(now))
        .collect();
    let mut d = Doc::default();
    if open.is_empty() {
        d.push(Line::new().text("There is no open poll at the moment."));
    }
    for p in &open {
        d.extend(poll_doc(p, ctx.prefix));
    }
    Ok(d)
}

/// The answer to a vote.
pub fn voted_doc(v: &Voted) -> Doc {
    let option = v
        .poll
        .options
        .get(usize::try_from(v.option).unwrap_or(usize::MAX))
        .cloned()
        .unwrap_or_default();
    let mut d = Doc::default();
    if v.counted {
        d.push(
            Line::new()
                .text(format!("Your vote in poll #{} is ", v.poll.number))
                .strong(option)
                .text(". You can change it until the poll closes."),
        );
    } else {
        d.push(Line::new().text("Your vote is recorded and will be counted in a moment."));
    }
    if v.poll.live_results {
        for l in result_lines(&v.poll) {
            d.push(l);
        }
    }
    d
}

/// Votes in a poll given by its id (buttons) or number (commands).
pub async fn vote_in(
    ctx: &CommandContext<'_>,
    poll_id: &str,
    option: &str,
    delivery: Option<&str>,
) -> anyhow::Result<Doc> {
    let Some(m) = member(ctx).await? else {
        return Ok(not_known());
    };
    let now = ctx.store.clock().now();
    match service::vote(
        ctx.store,
        &ctx.community.id,
        &m,
        poll_id,
        option,
        delivery,
        now,
    )
    .await
    {
        Ok(v) => Ok(voted_doc(&v)),
        Err(ChangeError::Invalid { message, .. }) => {
            Ok(Doc::text(format!("Not counted: {message}")))
        }
        Err(ChangeError::Forbidden) => Ok(Doc::text("Only people vote in polls.")),
        Err(ChangeError::NotFound) => Ok(not_known()),
        Err(e) => Err(e.into()),
    }
}

fn usage(ctx: &CommandContext<'_>, cmd: &str) -> Doc {
    let mut d = Doc::default();
    d.push(
        Line::new()
            .text("Usage: ")
            .code(format!("{} {cmd}", ctx.prefix)),
    );
    d
}

/// `vote N OPTION`.
pub async fn vote(ctx: &CommandContext<'_>, args: &str) -> anyhow::Result<Doc> {
    let mut words = args.split_whitespace();
    let number = words
        .next()
        .and_then(|n| n.trim_start_matches('#').parse::<i64>().ok());
    let option = words.collect::<Vec<_>>().join(" ");
    let (Some(number), false) = (number, option.is_empty()) else {
        return Ok(usage(ctx, "vote <poll number> <option>"));
    };
    let Some(p) = service::by_number(ctx.store, &ctx.community.id, number).await? else {
        return Ok(Doc::text(format!("There is no poll #{number}.")));
    };
    vote_in(ctx, &p.poll_id, &option, None).await
}

/// `poll QUESTION | OPTION | …` and `debate MOTION | SIDE | …` (staff), posted in the channel
/// the command came from.
pub async fn create(ctx: &CommandContext<'_>, kind: PollKind, args: &str) -> anyhow::Result<Doc> {
    let mut parts = args.split('|').map(str::trim);
    let question = parts.next().unwrap_or_default().to_owned();
    let options: Vec<&str> = parts.collect();
    let word = kind.as_str();
    if question.is_empty() || options.len() < 2 {
        return Ok(usage(
            ctx,
            &format!("{word} <question> | <option> | <option> …"),
        ));
    }
    let Some(m) = member(ctx).await? else {
        return Ok(not_known());
    };
    let draft = Draft {
        kind: word.to_owned(),
        question,
        options: options.join("\n"),
        channel: ctx.channel.unwrap_or_default().to_owned(),
        ..Draft::default()
    };
    let now = ctx.store.clock().now();
    match service::create(ctx.store, &ctx.community.id, &m, &draft, now).await {
        Ok(_) => Ok(Doc::text(format!(
            "Your {word} is created; it is posted here in a moment."
        ))),
        Err(ChangeError::Invalid { message, .. }) => {
            Ok(Doc::text(format!("Not created: {message}")))
        }
        Err(ChangeError::Forbidden) => Ok(Doc::text(
            "Only Instructors and Admins create polls and debates.",
        )),
        Err(ChangeError::NotFound) => Ok(not_known()),
        Err(e) => Err(e.into()),
    }
}

/// `close N` (staff).
pub async fn close(ctx: &CommandContext<'_>, args: &str) -> anyhow::Result<Doc> {
    let Some(number) = args.trim().trim_start_matches('#').parse::<i64>().ok() else {
        return Ok(usage(ctx, "close <poll number>"));
    };
    let Some(p) = service::by_number(ctx.store, &ctx.community.id, number).await? else {
        return Ok(Doc::text(format!("There is no poll #{number}.")));
    };
    let Some(m) = member(ctx).await? else {
        return Ok(not_known());
    };
    let now = ctx.store.clock().now();
    match service::close(ctx.store, &ctx.community.id, &m, &p.poll_id, now).await {
        Ok(_) => {
            let mut d = Doc::default();
            d.push(Line::new().text(format!("Poll #{number} is closed. Results:")));
            if let Some(after) = service::get(ctx.store, &ctx.community.id, &p.poll_id).await? {
                for l in result_lines(&after) {
                    d.push(l);
                }
            }
            Ok(d)
        }
        Err(ChangeError::Invalid { message, .. }) => {
            Ok(Doc::text(format!("Not closed: {message}")))
        }
        Err(ChangeError::Forbidden) => Ok(Doc::text("Only Instructors and Admins close polls.")),
        Err(ChangeError::NotFound) => Ok(not_known()),
        Err(e) => Err(e.into()),
    }
}

impl Platforms {
    /// Handler of [`classcred_service::polls::POLL_POST_JOB`]: posts the poll in its channel
    /// through the community's adapter and records the posted message (`PollPosted`). A
    /// refusal by the platform is logged (the poll stays on the dashboard, unposted);
    /// transport errors fail the job so it is retried.
    pub async fn post_poll_job(&self, store: &Store, job: &ClaimedJob) -> anyhow::Result<()> {
        let Some(p) = service::to_post(store, job).await? else {
            return Ok(());
        };
        let community_id = job.payload_community_id()?;
        let mut tx = store.begin().await?;
        let community = tx.community(&community_id).await?;
        tx.commit().await?;
        let channel = p.channel.clone().unwrap_or_default();
        let posted = match self.get(&community.platform) {
            _ if community.state != CommunityState::Active => {
                Posted::Refused("the community is switched off".into())
            }
            None => Posted::Refused("the community has no chat platform in this build".into()),
            Some(adapter) => {
                adapter
                    .notices
                    .post_poll(
                        store,
                        &community,
                        &channel,
                        &format!("poll.{}", p.poll_id),
                        &p,
                    )
                    .await?
            }
        };
        match posted {
            Posted::Sent(Some(mid)) => {
                service::record_posted(store, &community_id, &p.poll_id, &mid, store.clock().now())
                    .await?;
                tracing::info!(community_id = %community_id, job_id = %job.id, "poll posted");
            }
            Posted::Sent(None) => {
                tracing::info!(community_id = %community_id, job_id = %job.id, "poll posted; the platform gave no message id");
            }
            Posted::Refused(why) => {
                tracing::warn!(community_id = %community_id, job_id = %job.id, reason = %why, "poll not posted");
            }
        }
        Ok(())
    }

    /// Handler of [`classcred_service::polls::POLL_RESULTS_JOB`]: when a posted poll closes,
    /// posts its results in the same channel ([`poll_doc`] of the closed poll), so the class
    /// sees them where it voted. Key `poll.results.<id>`: a retried job is one post on
    /// platforms that deduplicate (Matrix). A refusal is logged; transport errors retry.
    pub async fn post_poll_results_job(
        &self,
        store: &Store,
        job: &ClaimedJob,
    ) -> anyhow::Result<()> {
        let Some(p) = service::to_post_results(store, job).await? else {
            return Ok(());
        };
        let community_id = job.payload_community_id()?;
        let mut tx = store.begin().await?;
        let community = tx.community(&community_id).await?;
        tx.commit().await?;
        let channel = p.channel.clone().unwrap_or_default();
        let posted = match self.get(&community.platform) {
            _ if community.state != CommunityState::Active => {
                Posted::Refused("the community is switched off".into())
            }
            None => Posted::Refused("the community has no chat platform in this build".into()),
            Some(adapter) => {
                let doc = poll_doc(&p, command_prefix(&community.platform));
                adapter
                    .notices
                    .post(
                        store,
                        &community,
                        &channel,
                        &format!("poll.results.{}", p.poll_id),
                        &doc,
                    )
                    .await?
            }
        };
        match posted {
            Posted::Sent(_) => {
                tracing::info!(community_id = %community_id, job_id = %job.id, "poll results posted");
            }
            Posted::Refused(why) => {
                tracing::warn!(community_id = %community_id, job_id = %job.id, reason = %why, "poll results not posted");
            }
        }
        Ok(())
    }
}
