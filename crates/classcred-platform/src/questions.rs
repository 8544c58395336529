//! The question commands, the same on every platform: `questions` lists the unanswered
//! questions oldest first (Instructors and Admins: every one, with its text — an audited read;
//! Students: their own, since the others may be in channels they are not in), and
//! `accept ANSWER_ID` accepts an answer (the asker or an Instructor/Admin) where the platform
//! has no Accept button.

use classcred_service::changes::ChangeError;
use classcred_service::questions::{accept_answer, list_questions, QuestionView};
use classcred_store::recognition::QuestionFilter;
use classcred_store::Role;

use crate::commands::CommandContext;
use crate::text::{Doc, Line};

/// Questions shown by the command (the dashboard shows them all).
pub const LISTED: usize = 10;
/// Longest question text shown in the list, in characters.
pub const SHOWN_CHARS: usize = 120;
/// Longest answer id accepted by `accept`.
pub const MAX_ID_LEN: usize = 256;

fn age(minutes: i64) -> String {
    match minutes {
        m if m < 60 => format!("{m} min"),
        m if m < 48 * 60 => format!("{} h", m / 60),
        m => format!("{} days", m / (24 * 60)),
    }
}

fn shorten(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= SHOWN_CHARS {
        return one_line;
    }
    let mut s: String = one_line.chars().take(SHOWN_CHARS).collect();
    s.push('…');
    s
}

fn line(q: &QuestionView, with_asker: bool) -> Line {
    let mut l = Line::bullet().text(format!("{} ago", age(q.age_minutes)));
    if with_asker {
        l = l.text(format!(", asked by {}", q.asker.name));
    }
    if let Some(c) = &q.channel_id {
        l = l.text(" in ").code(c.clone());
    }
    l = l.text(format!(
        ", {} answer{}",
        q.answer_count,
        if q.answer_count == 1 { "" } else { "s" }
    ));
    if let Some(t) = &q.text {
        l = l.text(format!(": {}", shorten(t)));
    }
    l
}

/// `questions`.
pub async fn questions(ctx: &CommandContext<'_>) -> anyhow::Result<Doc> {
    let mut tx = ctx.store.begin().await?;
    let mut scoped = tx.for_community(&ctx.community.id);
    let Some(me) = scoped.member_id_by_platform(ctx.platform_user_id).await? else {
        tx.commit().await?;
        return Ok(Doc::text(
            "ClassCred does not know you in this workspace yet. Try again in a minute.",
        ));
    };
    let role = scoped.member_role_kind(&me).await?.map(|(r, _)| r);
    tx.commit().await?;
    let staff = matches!(role, Some(Role::Admin | Role::Instructor));
    let now = ctx.store.clock().now();
    let all = list_questions(
        ctx.store,
        &ctx.community.id,
        QuestionFilter::Unanswered,
        staff.then_some(&me),
        now,
    )
    .await?;
    let shown: Vec<&QuestionView> = all
        .iter()
        .filter(|q| staff || q.asker.member_id == me)
        .collect();
    let mut d = Doc::default();
    if staff {
        d.push(Line::new().strong(format!(
            "Unanswered questions ({}), oldest first",
            shown.len()
        )));
    } else {
        d.push(Line::new().strong(format!("Your unanswered questions ({})", shown.len())));
    }
    if shown.is_empty() {
        d.push(Line::new().text("None: every question has an accepted answer."));
        return Ok(d);
    }
    for q in shown.iter().take(LISTED) {
        d.push(line(q, staff));
    }
    if shown.len() > LISTED {
        d.push(Line::new().text(format!(
            "…and {} more on the dashboard's Questions page.",
            shown.len() - LISTED
        )));
    }
    Ok(d)
}

/// `accept ANSWER_ID`: the question is the one the answer replies to.
pub async fn accept(ctx: &CommandContext<'_>, answer: &str) -> anyhow::Result<Doc> {
    let answer = answer.trim().trim_matches('`');
    if answer.is_empty() || answer.len() > MAX_ID_LEN || answer.contains(char::is_whitespace) {
        let mut d = Doc::default();
        d.push(
            Line::new()
                .text("Usage: ")
                .code(format!("{} accept ANSWER_ID", ctx.prefix))
                .text(" (the id is in the notice you got when someone answered your question)."),
        );
        return Ok(d);
    }
    let mut tx = ctx.store.begin().await?;
    let mut scoped = tx.for_community(&ctx.community.id);
    let me = scoped.member_id_by_platform(ctx.platform_user_id).await?;
    let question = scoped.question_of_answer(answer).await?;
    tx.commit().await?;
    let (Some(me), Some(question)) = (me, question) else {
        return Ok(Doc::text(
            "Not done: that is not an answer to a tracked question.",
        ));
    };
    let now = ctx.store.clock().now();
    Ok(
        match accept_answer(ctx.store, &ctx.community.id, &me, &question, answer, now).await {
            Ok(c) if c.applied => Doc::text("Answer accepted. Thank you!"),
            Ok(_) => Doc::text("Accepted; it will show in a moment."),
            Err(ChangeError::Forbidden) => {
                Doc::text("Not done: only the asker or an Instructor can accept an answer.")
            }
            Err(ChangeError::Invalid { message, .. }) => Doc::text(format!("Not done: {message}")),
            Err(ChangeError::NotFound) => {
                Doc::text("Not done: that is not an answer to a tracked question.")
            }
            Err(e) => return Err(e.into()),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_long_texts() {
        assert_eq!(age(5), "5 min");
        assert_eq!(age(150), "2 h");
        assert_eq!(age(3 * 24 * 60), "3 days");
        let long = "word ".repeat(100);
        let s = shorten(&long);
        assert_eq!(s.chars().count(), SHOWN_CHARS + 1);
        assert!(s.ends_with('…'));
        assert_eq!(shorten("a\n  b?"), "a b?");
    }
}
