//! Custom reward rules on the dashboard (Admins and Instructors).
//!
//! * `GET /dashboard/rules`: the rules (a plain-language sentence each, enabled or not, the
//!   version, what it awarded so far) with Enable/Disable and Edit, and the rule form
//!   (`?edit=<rule id>` fills it with a rule to change).
//! * `POST /dashboard/rules` (CSRF): `action=preview` shows the form's rule as a sentence and
//!   the table of who would have earned what over the class's history (nothing is saved);
//!   `action=save` saves it (a new rule, or the next version of `rule_id` made from
//!   `version`). A refusal shows the page again (422) with the message next to its field.
//! * `POST /dashboard/rules/{rule_id}/enable|disable` (CSRF, with the `version` shown).
//!
//! Rules: `classcred_service::rules` (events the engine processes, audited).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use classcred_engine::rules::valid_rule_id;
use classcred_engine::{
    BadgeId, Cap, CapPeriod, CommunitySettings, Condition, Points, RewardRule, RuleAward, Trigger,
};
use classcred_service::changes::ChangeError;
use classcred_service::rules::{self as rules_svc, PreviewReport, RuleInput};

use super::settings::form::{Field, Submitted};
use super::{render, Chrome};
use crate::extract::{CsrfForm, Staff, Viewer};
use crate::{WebError, WebState};

const PATH: &str = "/dashboard/rules";

/// One option of a select.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The rule form.
pub struct RuleForm {
    /// Empty for a new rule.
    pub rule_id: String,
    /// The version the form was made from (empty for a new rule).
    pub version: String,
    pub triggers: Vec<Choice>,
    pub channel: Field,
    pub item: Field,
    pub givers: Field,
    pub award_kind: Vec<Choice>,
    pub points: Field,
    pub badges: Vec<Choice>,
    pub cap_n: Field,
    pub cap_per: Vec<Choice>,
    pub enabled: bool,
    /// Field errors without a field of their own (`trigger`, `condition`, `badge`, `version`).
    pub trigger_error: Option<String>,
    pub condition_error: Option<String>,
    pub badge_error: Option<String>,
    pub error: Option<String>,
}

impl RuleForm {
    pub fn has_errors(&self) -> bool {
        self.trigger_error.is_some()
            || self.condition_error.is_some()
            || self.badge_error.is_some()
            || self.error.is_some()
            || self.channel.error.is_some()
            || self.item.error.is_some()
            || self.givers.error.is_some()
            || self.points.error.is_some()
            || self.cap_n.error.is_some()
    }
}

/// One rule as a row of the list.
pub struct RuleRow {
    pub rule_id: String,
    pub sentence: String,
    pub enabled: bool,
    pub version: u32,
    pub awarded: String,
    pub awarded_members: u32,
}

/// One line of the preview table.
pub struct PreviewRow {
    pub member_id: String,
    pub name: String,
    pub points: String,
    pub badges: String,
    pub awards: u32,
    pub capped: u32,
}

/// The preview shown under the form.
pub struct PreviewView {
    pub sentence: String,
    pub events: usize,
    pub total: String,
    pub rows: Vec<PreviewRow>,
}

#[derive(Template)]
#[template(path = "rules.html")]
struct RulesPage {
    chrome: Chrome,
    csrf: String,
    rules: Vec<RuleRow>,
    form: RuleForm,
    /// The form's rule in plain language (when it is complete).
    sentence: Option<String>,
    preview: Option<PreviewView>,
    done: Option<&'static str>,
}

fn choices<T: Copy + PartialEq>(all: &[(T, &str, &str)], selected: Option<T>) -> Vec<Choice> {
    all.iter()
        .map(|(v, value, label)| Choice {
            value: (*value).to_owned(),
            label: (*label).to_owned(),
            selected: selected == Some(*v),
        })
        .collect()
}

fn trigger_choices(selected: Option<Trigger>) -> Vec<Choice> {
    Trigger::ALL
        .iter()
        .map(|t| Choice {
            value: t.as_str().to_owned(),
            label: format!("a student {}", t.phrase()),
            selected: selected == Some(*t),
        })
        .collect()
}

const AWARD_KINDS: [(bool, &str, &str); 2] =
    [(false, "points", "points"), (true, "badge", "a badge")];
const PERIODS: [(Option<CapPeriod>, &str, &str); 4] = [
    (None, "", "no cap"),
    (Some(CapPeriod::Day), "day", "per day"),
    (Some(CapPeriod::Week), "week", "per week"),
    (Some(CapPeriod::Course), "course", "per course"),
];

fn badge_choices(settings: &CommunitySettings, selected: Option<&BadgeId>) -> Vec<Choice> {
    settings
        .custom_badges
        .iter()
        .filter(|b| settings.badge_enabled(&b.id))
        .map(|b| Choice {
            value: b.id.to_string(),
            label: b.name.clone(),
            selected: selected == Some(&b.id),
        })
        .collect()
}

fn period_choices(selected: Option<CapPeriod>) -> Vec<Choice> {
    PERIODS
        .iter()
        .map(|(v, value, label)| Choice {
            value: (*value).to_owned(),
            label: (*label).to_owned(),
            selected: *v == selected,
        })
        .collect()
}

fn empty_form(settings: &CommunitySettings) -> RuleForm {
    RuleForm {
        rule_id: String::new(),
        version: String::new(),
        triggers: trigger_choices(Some(Trigger::Answered)),
        channel: Field::new("channel", ""),
        item: Field::new("item", ""),
        givers: Field::new("givers", ""),
        award_kind: choices(&AWARD_KINDS, Some(false)),
        points: Field::new("points", "1"),
        badges: badge_choices(settings, None),
        cap_n: Field::new("cap_n", ""),
        cap_per: period_choices(None),
        enabled: false,
        trigger_error: None,
        condition_error: None,
        badge_error: None,
        error: None,
    }
}

fn rule_form(r: &RewardRule, settings: &CommunitySettings) -> RuleForm {
    let mut f = empty_form(settings);
    f.rule_id.clone_from(&r.rule_id);
    f.version = r.version.to_string();
    f.triggers = trigger_choices(Some(r.trigger));
    match &r.condition {
        Some(Condition::Channel { channel }) => f.channel.value.clone_from(channel),
        Some(Condition::Item { item }) => f.item.value.clone_from(item),
        Some(Condition::Givers { n }) => f.givers.value = n.to_string(),
        None => {}
    }
    match &r.award {
        RuleAward::Points { points } => {
            f.award_kind = choices(&AWARD_KINDS, Some(false));
            f.points.value = points.to_string();
        }
        RuleAward::Badge { badge } => {
            f.award_kind = choices(&AWARD_KINDS, Some(true));
            f.badges = badge_choices(settings, Some(badge));
        }
    }
    if let Some(cap) = r.cap {
        f.cap_n.value = cap.n.to_string();
        f.cap_per = period_choices(Some(cap.per));
    }
    f.enabled = r.enabled;
    f
}

async fn settings_of(state: &WebState, viewer: &Viewer) -> Result<CommunitySettings, WebError> {
    let mut tx = state.store.begin().await?;
    let s = classcred_service::settings(&mut tx, &viewer.community_id).await?;
    tx.rollback().await?;
    Ok(s)
}

fn preview_view(p: PreviewReport) -> PreviewView {
    PreviewView {
        sentence: p.sentence,
        events: p.events,
        total: p.total_points.to_string(),
        rows: p
            .members
            .into_iter()
            .map(|l| PreviewRow {
                member_id: l.member_id,
                name: l.name,
                points: l.points.to_string(),
                badges: l
                    .badges
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                awards: l.awards,
                capped: l.capped,
            })
            .collect(),
    }
}

async fn show(
    state: &WebState,
    viewer: &Viewer,
    form: RuleForm,
    sentence: Option<String>,
    preview: Option<PreviewView>,
    done: Option<&'static str>,
) -> Result<Response, WebError> {
    let views = rules_svc::rules(&state.store, &viewer.community_id).await?;
    let failed = form.has_errors();
    let mut response = render(&RulesPage {
        chrome: Chrome::for_viewer(viewer, "Reward rules", PATH),
        csrf: viewer.csrf.clone(),
        rules: views
            .into_iter()
            .map(|v| RuleRow {
                rule_id: v.rule.rule_id.clone(),
                sentence: v.sentence,
                enabled: v.rule.enabled,
                version: v.rule.version,
                awarded: v.awarded.to_string(),
                awarded_members: v.awarded_members,
            })
            .collect(),
        form,
        sentence,
        preview,
        done,
    })?;
    if failed {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

#[derive(serde::Deserialize, Default)]
pub struct PageQuery {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    edit: Option<String>,
}

/// `GET /dashboard/rules`.
pub async fn page(
    State(state): State<WebState>,
    Staff(viewer): Staff,
    Query(q): Query<PageQuery>,
) -> Result<Response, WebError> {
    let settings = settings_of(&state, &viewer).await?;
    let done = match q.done.as_deref() {
        Some("created") => Some("Rule saved. It awards from now on when it is enabled."),
        Some("saved") => Some("Rule saved (a new version)."),
        Some("enabled") => Some("Rule enabled: it awards from now on."),
        Some("disabled") => Some("Rule disabled: it awards nothing from now on."),
        Some("pending") => Some("Rule change recorded; it takes effect in a moment."),
        _ => None,
    };
    let (form, sentence) = match q.edit.as_deref().filter(|id| valid_rule_id(id)) {
        Some(id) => match rules_svc::rule(&state.store, &viewer.community_id, id).await? {
            Some(r) => (
                rule_form(&r, &settings),
                Some(rules_svc::sentence(&r, &settings)),
            ),
            None => return Err(WebError::NotFound),
        },
        None => (empty_form(&settings), None),
    };
    show(&state, &viewer, form, sentence, None, done).await
}

/// The form's fields, parsed; errors go next to their field.
fn parse(form: &Submitted, settings: &CommunitySettings, f: &mut RuleForm) -> Option<RuleInput> {
    let trigger = Trigger::parse(&form.text("trigger"));
    f.triggers = trigger_choices(trigger);
    f.channel.value = form.text("channel");
    f.item.value = form.text("item");
    f.givers.value = form.text("givers");
    f.points.value = form.text("points");
    f.cap_n.value = form.text("cap_n");
    f.enabled = form.checked("enabled");
    let badge_award = form.text("award") == "badge";
    f.award_kind = choices(&AWARD_KINDS, Some(badge_award));
    let badge = form.text("badge");
    let badge = (!badge.is_empty()).then(|| BadgeId::new(badge));
    f.badges = badge_choices(settings, badge.as_ref());
    let per = match form.text("cap_per").as_str() {
        "" => None,
        s => CapPeriod::parse(s),
    };
    f.cap_per = period_choices(per);
    let mut ok = true;
    let Some(trigger) = trigger else {
        f.trigger_error = Some("Choose what the rule rewards.".into());
        return None;
    };
    let condition = match trigger {
        Trigger::Posted if !f.channel.value.is_empty() => Some(Condition::Channel {
            channel: f.channel.value.clone(),
        }),
        Trigger::Bought if !f.item.value.is_empty() => Some(Condition::Item {
            item: f.item.value.clone(),
        }),
        Trigger::ReceivedFire if !f.givers.value.is_empty() => {
            match f.givers.value.parse::<u32>() {
                Ok(n) => Some(Condition::Givers { n }),
                Err(_) => {
                    f.givers.error =
                        Some("Enter a whole number of classmates, or leave it empty.".into());
                    ok = false;
                    None
                }
            }
        }
        _ => None,
    };
    let award = if badge_award {
        match badge {
            Some(badge) => Some(RuleAward::Badge { badge }),
            None => {
                f.badge_error =
                    Some("Choose one of the class's own badges (Settings → Rewards).".into());
                ok = false;
                None
            }
        }
    } else {
        match f.points.value.parse::<Points>() {
            Ok(points) => Some(RuleAward::Points { points }),
            Err(_) => {
                f.points.error = Some("Enter a number of points, e.g. 1 or 0.5.".into());
                ok = false;
                None
            }
        }
    };
    let cap = match (f.cap_n.value.as_str(), per) {
        ("", None) => None,
        (n, Some(per)) => match n.parse::<u32>() {
            Ok(n) => Some(Cap { n, per }),
            Err(_) => {
                f.cap_n.error = Some("Enter how many times at most (a whole number).".into());
                ok = false;
                None
            }
        },
        (_, None) => {
            f.cap_n.error = Some("Choose per day, week or course, or leave the cap empty.".into());
            ok = false;
            None
        }
    };
    if !ok {
        return None;
    }
    Some(RuleInput {
        trigger,
        condition,
        award: award?,
        cap,
        enabled: f.enabled,
    })
}

fn attach(f: &mut RuleForm, field: &str, message: String) {
    match field {
        "condition" => f.condition_error = Some(message),
        "points" => f.points.error = Some(message),
        "badge" => f.badge_error = Some(message),
        "cap" => f.cap_n.error = Some(message),
        _ => f.error = Some(message),
    }
}

fn change_error(e: ChangeError) -> WebError {
    match e {
        ChangeError::NotFound => WebError::NotFound,
        ChangeError::Forbidden | ChangeError::LastAdmin => WebError::Forbidden,
        ChangeError::Service(s) => s.into(),
        ChangeError::Invalid { .. } => WebError::BadRequest("The request was refused."),
    }
}

/// `POST /dashboard/rules`: preview or save the form's rule.
pub async fn submit(
    State(state): State<WebState>,
    CsrfForm {
        who: Staff(viewer),
        form,
    }: CsrfForm<Staff, Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let settings = settings_of(&state, &viewer).await?;
    let form = Submitted::new(form);
    let mut f = empty_form(&settings);
    let rule_id = form.text("rule_id");
    let rule_id = if rule_id.is_empty() {
        None
    } else if valid_rule_id(&rule_id) {
        Some(rule_id)
    } else {
        return Err(WebError::NotFound);
    };
    f.rule_id = rule_id.clone().unwrap_or_default();
    f.version = form.text("version");
    let base_version = match (&rule_id, f.version.parse::<u32>()) {
        (None, _) => None,
        (Some(_), Ok(v)) => Some(v),
        (Some(_), Err(_)) => return Err(WebError::BadRequest("The form has no version.")),
    };
    let Some(input) = parse(&form, &settings, &mut f) else {
        return show(&state, &viewer, f, None, None, None).await;
    };
    let c = &viewer.community_id;
    let candidate =
        match rules_svc::candidate(&state.store, c, rule_id.as_deref(), base_version, &input).await
        {
            Ok(r) => r,
            Err(ChangeError::Invalid { field, message }) => {
                attach(&mut f, &field, message);
                return show(&state, &viewer, f, None, None, None).await;
            }
            Err(e) => return Err(change_error(e)),
        };
    let sentence = rules_svc::sentence(&candidate, &settings);
    if form.text("action") != "save" {
        let report = rules_svc::preview(&state.store, c, &candidate).await?;
        return show(
            &state,
            &viewer,
            f,
            Some(sentence),
            Some(preview_view(report)),
            None,
        )
        .await;
    }
    let now = state.store.clock().now();
    match rules_svc::save_rule(&state.store, c, &viewer.member_id, &candidate, now).await {
        Ok(change) => {
            let done = match (change.applied, rule_id.is_some()) {
                (false, _) => "pending",
                (true, false) => "created",
                (true, true) => "saved",
            };
            Ok(Redirect::to(&format!("{PATH}?done={done}")).into_response())
        }
        Err(ChangeError::Invalid { field, message }) => {
            attach(&mut f, &field, message);
            show(&state, &viewer, f, Some(sentence), None, None).await
        }
        Err(e) => Err(change_error(e)),
    }
}

async fn set_enabled(
    state: &WebState,
    viewer: &Viewer,
    rule_id: &str,
    form: Vec<(String, String)>,
    enabled: bool,
) -> Result<Response, WebError> {
    if !valid_rule_id(rule_id) {
        return Err(WebError::NotFound);
    }
    let c = &viewer.community_id;
    let Some(current) = rules_svc::rule(&state.store, c, rule_id).await? else {
        return Err(WebError::NotFound);
    };
    let form = Submitted::new(form);
    let settings = settings_of(state, viewer).await?;
    if form.text("version") != current.version.to_string() {
        let mut f = rule_form(&current, &settings);
        f.error =
            Some("This rule was changed meanwhile (see its new version above); try again.".into());
        return show(state, viewer, f, None, None, None).await;
    }
    if current.enabled == enabled {
        let done = if enabled { "enabled" } else { "disabled" };
        return Ok(Redirect::to(&format!("{PATH}?done={done}")).into_response());
    }
    let mut next = current.clone();
    next.version = current.version.saturating_add(1);
    next.enabled = enabled;
    if let Err(e) = next.validate(&settings) {
        let mut f = rule_form(&current, &settings);
        attach(&mut f, e.field, e.message);
        return show(state, viewer, f, None, None, None).await;
    }
    let now = state.store.clock().now();
    match rules_svc::save_rule(&state.store, c, &viewer.member_id, &next, now).await {
        Ok(change) => {
            let done = match (change.applied, enabled) {
                (false, _) => "pending",
                (true, true) => "enabled",
                (true, false) => "disabled",
            };
            Ok(Redirect::to(&format!("{PATH}?done={done}")).into_response())
        }
        Err(ChangeError::Invalid { field, message }) => {
            let mut f = rule_form(&current, &settings);
            attach(&mut f, &field, message);
            show(state, viewer, f, None, None, None).await
        }
        Err(e) => Err(change_error(e)),
    }
}

/// `POST /dashboard/rules/{rule_id}/enable`.
pub async fn enable(
    State(state): State<WebState>,
    Path(rule_id): Path<String>,
    CsrfForm {
        who: Staff(viewer),
        form,
    }: CsrfForm<Staff, Vec<(String, String)>>,
) -> Result<Response, WebError> {
    set_enabled(&state, &viewer, &rule_id, form, true).await
}

/// `POST /dashboard/rules/{rule_id}/disable`.
pub async fn disable(
    State(state): State<WebState>,
    Path(rule_id): Path<String>,
    CsrfForm {
        who: Staff(viewer),
        form,
    }: CsrfForm<Staff, Vec<(String, String)>>,
) -> Result<Response, WebError> {
    set_enabled(&state, &viewer, &rule_id, form, false).await
}
