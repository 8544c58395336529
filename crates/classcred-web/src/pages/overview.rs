//! `GET /dashboard` (staff): the page a teacher opens every morning, from
//! `classcred_service::dashboard::overview`: active students this week, fires per day over
//! the course, the points distribution and the most recognised students (each a chart with
//! its numbers as a table), students nobody recognised in the last 14 days, and what is
//! waiting to be processed.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use classcred_charts::{bars, hbars, values_table, LabelledValue};
use classcred_service::dashboard::{self, Overview};

use super::charts::{chart_text, plural, ChartPanel};
use super::{render, Chrome};
use crate::extract::Staff;
use crate::{WebError, WebState};

/// The window of the read model's "nobody recognised them lately" (not re-exported by
/// `classcred_service::dashboard`, so named again here for the page's heading).
const UNRECOGNISED_DAYS: i64 = 14;

/// A student named with a link to their profile.
pub struct StudentLink {
    pub href: String,
    pub name: String,
    /// What is said next to the name ("3 fires received").
    pub note: String,
}

/// One line of "waiting to be processed".
pub struct PendingLine {
    pub count: String,
    pub what: &'static str,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    chrome: Chrome,
    week: String,
    today: String,
    students: usize,
    active: usize,
    active_share: String,
    fires_this_course: u64,
    fires_chart: ChartPanel,
    points_chart: ChartPanel,
    recognised_chart: Option<ChartPanel>,
    most_recognised: Vec<StudentLink>,
    unrecognised_days: i64,
    unrecognised: Vec<StudentLink>,
    pending: Vec<PendingLine>,
}

pub(crate) fn profile_href(member_id: &classcred_store::MemberRowId) -> String {
    format!("/dashboard/students/{member_id}")
}

pub async fn page(
    State(state): State<WebState>,
    Staff(viewer): Staff,
) -> Result<Response, WebError> {
    let now = state.store.clock().now();
    let o = dashboard::overview(&state.store, &viewer.community_id, now).await?;
    render(&build(viewer, &o))
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn build(viewer: crate::Viewer, o: &Overview) -> OverviewPage {
    let days: Vec<LabelledValue> = o
        .fires_per_day
        .iter()
        .map(|d| LabelledValue::new(d.day.format("%b %-d").to_string(), count(d.fires)))
        .collect();
    let total: u64 = days.iter().map(|d| d.value).sum();
    let busiest = o.fires_per_day.iter().rev().max_by_key(|d| d.fires);
    let fires_text = chart_text(
        "fires-per-day",
        "Fires given per day",
        match (o.fires_per_day.first(), o.fires_per_day.last(), busiest) {
            (Some(first), Some(last), Some(best)) if total > 0 => format!(
                "Fires given each day from {} to {}: {} in total, most on {} ({}).",
                first.day.format("%-d %B %Y"),
                last.day.format("%-d %B %Y"),
                total,
                best.day.format("%-d %B"),
                best.fires
            ),
            (Some(first), Some(last), _) => format!(
                "No fire was given from {} to {}.",
                first.day.format("%-d %B %Y"),
                last.day.format("%-d %B %Y")
            ),
            _ => "The course has not started yet.".to_owned(),
        },
    );
    let fires_chart = ChartPanel {
        svg: bars::column_chart(&fires_text, &days),
        table: values_table(&fires_text, "Day", "Fires", &days),
    };

    let buckets: Vec<LabelledValue> = o
        .points_distribution
        .iter()
        .map(|b| LabelledValue::new(format!("{} points", b.label), b.students as u64))
        .collect();
    let points_text = chart_text(
        "points-distribution",
        "Students by points earned",
        format!(
            "How many of the {} students have earned how many points: {}.",
            o.students,
            o.points_distribution
                .iter()
                .map(|b| format!("{} with {}", b.students, b.label))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    let points_chart = ChartPanel {
        svg: bars::histogram(&points_text, &buckets),
        table: values_table(&points_text, "Points earned", "Students", &buckets),
    };

    let recognised: Vec<LabelledValue> = o
        .most_recognised
        .iter()
        .map(|r| LabelledValue::new(r.name.clone(), count(r.fires_received)))
        .collect();
    let recognised_chart = (!recognised.is_empty()).then(|| {
        let text = chart_text(
            "most-recognised",
            "Most recognised students",
            format!(
                "Fires received over the course by the {}: {}.",
                plural(
                    recognised.len() as u64,
                    "most recognised student",
                    "most recognised students"
                ),
                o.most_recognised
                    .iter()
                    .map(|r| format!("{} {}", r.name, r.fires_received))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        ChartPanel {
            svg: hbars::horizontal_bars(&text, &recognised),
            table: values_table(&text, "Student", "Fires received", &recognised),
        }
    });
    let most_recognised = o
        .most_recognised
        .iter()
        .map(|r| StudentLink {
            href: profile_href(&r.member_id),
            name: r.name.clone(),
            note: plural(count(r.fires_received), "fire received", "fires received"),
        })
        .collect();
    let unrecognised = o
        .unrecognised_recently
        .iter()
        .map(|m| StudentLink {
            href: profile_href(&m.member_id),
            name: m.name.clone(),
            note: String::new(),
        })
        .collect();

    let p = &o.pending;
    let pending = [
        (p.inbox_pending, "chat events waiting to be counted"),
        (p.inbox_parked, "chat events set aside after repeated failures (an operator can retry them with classcred inbox retry)"),
        (i64::try_from(p.unresolved_members).unwrap_or(i64::MAX), "chat members not known yet (their events wait until they are)"),
        (p.jobs_pending, "background jobs queued or running"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| PendingLine {
        count: n.to_string(),
        what,
    })
    .collect();

    let active_share = (o.active_students_this_week * 100)
        .checked_div(o.students)
        .map(|p| format!("{p}%"))
        .unwrap_or_default();
    OverviewPage {
        chrome: Chrome::for_viewer(&viewer, "Overview", "/dashboard"),
        week: o.week.clone(),
        today: o.today.format("%A %-d %B %Y").to_string(),
        students: o.students,
        active: o.active_students_this_week,
        active_share,
        fires_this_course: total,
        fires_chart,
        points_chart,
        recognised_chart,
        most_recognised,
        unrecognised_days: UNRECOGNISED_DAYS,
        unrecognised,
        pending,
    }
}
