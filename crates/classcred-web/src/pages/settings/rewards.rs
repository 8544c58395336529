//! `/dashboard/settings/rewards`: daily quota, who the quota limits, reactions, the gift tax
//! (switches and editable bracket rows), levels (name and threshold rows), badges on/off and a
//! new custom badge. GET for staff (read-only unless Admin), POST for the Admin: the whole form
//! becomes one new `CommunitySettings` or nothing is saved.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use classcred_engine::{
    BadgeId, BuiltinBadge, CommunitySettings, CustomBadge, Level, Points, TaxBracket,
};
use classcred_store::Role;

use super::course::SavedQuery;
use super::form::{Check, Errors, Field, Submitted};
use crate::extract::{Admin, CsrfForm, Staff, Viewer};
use crate::pages::{render, Chrome};
use crate::{WebError, WebState};

const PATH: &str = "/dashboard/settings/rewards";
/// Empty rows offered under the brackets and levels, to add one.
const BLANK_ROWS: usize = 1;

/// Two inputs of one table row (bracket: from + rate; level: name + threshold).
pub struct Row {
    pub first: Field,
    pub second: Field,
    /// 1-based, for labels.
    pub number: usize,
}

#[derive(Template)]
#[template(path = "settings_rewards.html")]
struct RewardsPage {
    chrome: Chrome,
    admin: bool,
    csrf: String,
    saved: bool,
    general: Option<String>,
    daily_quota: Field,
    switches: Vec<Check>,
    tax_switches: Vec<Check>,
    brackets: Vec<Row>,
    levels: Vec<Row>,
    badges: Vec<Check>,
    new_badge_id: Field,
    new_badge_name: Field,
    new_badge_description: Field,
}

fn bracket_names(i: usize) -> (String, String) {
    (
        format!("gift_tax.brackets[{i}].from"),
        format!("gift_tax.brackets[{i}].rate_percent"),
    )
}

fn level_names(i: usize) -> (String, String) {
    (
        format!("levels[{i}].name"),
        format!("levels[{i}].threshold"),
    )
}

fn rows(values: Vec<(String, String)>, names: fn(usize) -> (String, String)) -> Vec<Row> {
    values
        .into_iter()
        .chain(std::iter::repeat_n(
            (String::new(), String::new()),
            BLANK_ROWS,
        ))
        .enumerate()
        .map(|(i, (a, b))| {
            let (na, nb) = names(i);
            Row {
                first: Field::new(na, a),
                second: Field::new(nb, b),
                number: i + 1,
            }
        })
        .collect()
}

fn check(name: impl Into<String>, label: impl Into<String>, checked: bool) -> Check {
    Check {
        name: name.into(),
        label: label.into(),
        checked,
    }
}

fn page_of(viewer: &Viewer, s: &CommunitySettings) -> RewardsPage {
    let mut badges: Vec<Check> = BuiltinBadge::ALL
        .iter()
        .map(|b| {
            check(
                format!("badges.{}", b.id_str()),
                b.name(),
                s.badge_enabled(&b.id()),
            )
        })
        .collect();
    badges.extend(s.custom_badges.iter().map(|b| {
        check(
            format!("badges.{}", b.id.as_str()),
            format!("{} (custom)", b.name),
            s.badge_enabled(&b.id),
        )
    }));
    RewardsPage {
        chrome: Chrome::for_viewer(viewer, "Rewards settings", PATH),
        admin: viewer.role == Role::Admin,
        csrf: viewer.csrf.clone(),
        saved: false,
        general: None,
        daily_quota: Field::new("daily_quota", s.daily_quota.to_string()),
        switches: vec![
            check(
                "limit_instructors",
                "Admins and Instructors are limited to the same number of fires per day",
                s.limit_instructors,
            ),
            check(
                "reactions_enabled",
                "A 🔥 reaction gives the message's author one fire",
                s.reactions_enabled,
            ),
        ],
        tax_switches: vec![
            check("gift_tax.enabled", "Gift tax on", s.gift_tax.enabled),
            check(
                "gift_tax.applies_to_instructors",
                "The gift tax also applies to fire given by Admins and Instructors",
                s.gift_tax.applies_to_instructors,
            ),
        ],
        brackets: rows(
            s.gift_tax
                .brackets
                .iter()
                .map(|b| (b.from.to_string(), b.rate_percent.to_string()))
                .collect(),
            bracket_names,
        ),
        levels: rows(
            s.levels
                .iter()
                .map(|l| (l.name.clone(), l.threshold.to_string()))
                .collect(),
            level_names,
        ),
        badges,
        new_badge_id: Field::new("new_badge.id", ""),
        new_badge_name: Field::new("new_badge.name", ""),
        new_badge_description: Field::new("new_badge.description", ""),
    }
}

pub async fn page(
    State(state): State<WebState>,
    Staff(viewer): Staff,
    Query(q): Query<SavedQuery>,
) -> Result<Response, WebError> {
    let settings = super::current(&state, &viewer).await?;
    let mut page = page_of(&viewer, &settings);
    page.saved = q.saved.is_some();
    render(&page)
}

/// The submitted rows of a table, blank rows left out, with each kept row's form index.
fn submitted_rows(
    form: &Submitted,
    names: fn(usize) -> (String, String),
) -> Vec<(usize, String, String)> {
    (0..)
        .map(|i| (i, names(i)))
        .take_while(|(_, (a, b))| form.has(a) || form.has(b))
        .map(|(i, (a, b))| (i, form.text(&a), form.text(&b)))
        .filter(|(_, a, b)| !(a.is_empty() && b.is_empty()))
        .collect()
}

/// What the form says, or every problem by field. Engine errors name rows by their index in
/// the settings; `bracket_rows` / `level_rows` map those back to form rows.
struct Parsed {
    settings: CommunitySettings,
    bracket_rows: Vec<usize>,
    level_rows: Vec<usize>,
    new_badge_index: Option<usize>,
}

fn parse(form: &Submitted, mut s: CommunitySettings) -> Result<Parsed, Errors> {
    let mut errors = Errors::default();
    match form.text("daily_quota").parse::<u32>() {
        Ok(q) => s.daily_quota = q,
        Err(_) => errors.add(
            "daily_quota",
            "Enter a whole number of fires per day, 0 or more (for example 5).",
        ),
    }
    s.limit_instructors = form.checked("limit_instructors");
    s.reactions_enabled = form.checked("reactions_enabled");
    s.gift_tax.enabled = form.checked("gift_tax.enabled");
    s.gift_tax.applies_to_instructors = form.checked("gift_tax.applies_to_instructors");

    let brackets = submitted_rows(form, bracket_names);
    s.gift_tax.brackets = Vec::new();
    for (i, from, rate) in &brackets {
        let (nf, nr) = bracket_names(*i);
        let from = from.parse::<u32>().map_err(|_| {
            errors.add(
                &nf,
                "Enter the weekly fire number this bracket starts at (1 or more).",
            )
        });
        let rate = rate
            .parse::<u8>()
            .ok()
            .filter(|r| *r <= 100)
            .ok_or_else(|| errors.add(&nr, "Enter a percentage from 0 to 100."));
        if let (Ok(from), Ok(rate_percent)) = (from, rate) {
            s.gift_tax.brackets.push(TaxBracket { from, rate_percent });
        }
    }

    let levels = submitted_rows(form, level_names);
    s.levels = Vec::new();
    for (i, name, threshold) in &levels {
        let (nn, nt) = level_names(*i);
        if name.is_empty() {
            errors.add(
                &nn,
                "Give the level a name, or empty both fields to remove it.",
            );
        }
        match threshold.parse::<Points>() {
            Ok(t) if !t.is_negative() => s.levels.push(Level {
                name: name.clone(),
                threshold: t,
            }),
            _ => errors.add(&nt, "Enter the points needed (0 or more, for example 25)."),
        }
    }

    for b in BuiltinBadge::ALL {
        s.badges
            .insert(b.id(), form.checked(&format!("badges.{}", b.id_str())));
    }
    for b in &s.custom_badges {
        s.badges.insert(
            b.id.clone(),
            form.checked(&format!("badges.{}", b.id.as_str())),
        );
    }
    let (id, name) = (form.text("new_badge.id"), form.text("new_badge.name"));
    let mut new_badge_index = None;
    if !id.is_empty() || !name.is_empty() {
        if name.is_empty() {
            errors.add("new_badge.name", "Give the new badge a name.");
        }
        if id.is_empty() {
            errors.add(
                "new_badge.id",
                "Give the new badge a short id (letters, digits, _ or -).",
            );
        }
        new_badge_index = Some(s.custom_badges.len());
        s.custom_badges.push(CustomBadge {
            id: BadgeId::new(id),
            name,
            description: form.text("new_badge.description"),
        });
    }
    if errors.is_empty() {
        Ok(Parsed {
            settings: s,
            bracket_rows: brackets.iter().map(|r| r.0).collect(),
            level_rows: levels.iter().map(|r| r.0).collect(),
            new_badge_index,
        })
    } else {
        Err(errors)
    }
}

/// The form field an engine error names (`levels[2].threshold` of the settings is the form's
/// row the third kept level came from).
fn form_field(field: &str, parsed: &Parsed) -> String {
    let remap = |prefix: &str, rows: &[usize]| -> Option<String> {
        let rest = field.strip_prefix(prefix)?;
        let (index, tail) = rest.split_once(']')?;
        let row = rows.get(index.parse::<usize>().ok()?)?;
        Some(format!("{prefix}{row}]{tail}"))
    };
    if let Some(i) = parsed.new_badge_index {
        if let Some(tail) = field.strip_prefix(&format!("custom_badges[{i}].")) {
            return format!("new_badge.{tail}");
        }
    }
    remap("gift_tax.brackets[", &parsed.bracket_rows)
        .or_else(|| remap("levels[", &parsed.level_rows))
        .unwrap_or_else(|| field.to_owned())
}

pub async fn save(
    State(state): State<WebState>,
    CsrfForm {
        who: Admin(viewer),
        form,
    }: CsrfForm<Admin, Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let form = Submitted::new(form);
    let current = super::current(&state, &viewer).await?;
    let errors = match parse(&form, current.clone()) {
        Ok(parsed) => match super::save(&state, &viewer, parsed.settings.clone(), PATH).await? {
            Ok(done) => return Ok(done),
            Err((field, message)) => {
                let mut e = Errors::default();
                e.add(form_field(&field, &parsed), message);
                e
            }
        },
        Err(errors) => errors,
    };
    let page = refill(&viewer, &current, &form, errors);
    let mut response = render(&page)?;
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(response)
}

/// The page again with what the user typed and the messages next to their fields.
fn refill(
    viewer: &Viewer,
    current: &CommunitySettings,
    form: &Submitted,
    errors: Errors,
) -> RewardsPage {
    let mut page = page_of(viewer, current);
    page.daily_quota.value = form.text("daily_quota");
    for c in page.switches.iter_mut().chain(page.tax_switches.iter_mut()) {
        c.checked = form.checked(&c.name);
    }
    for c in page.badges.iter_mut() {
        c.checked = form.checked(&c.name);
    }
    // Rows keep their form positions (blank ones too), so messages stay next to their row.
    let all = |names: fn(usize) -> (String, String)| -> Vec<(String, String)> {
        (0..)
            .map(names)
            .take_while(|(a, b)| form.has(a) || form.has(b))
            .map(|(a, b)| (form.text(&a), form.text(&b)))
            .collect()
    };
    page.brackets = rows(all(bracket_names), bracket_names);
    page.levels = rows(all(level_names), level_names);
    page.new_badge_id.value = form.text("new_badge.id");
    page.new_badge_name.value = form.text("new_badge.name");
    page.new_badge_description.value = form.text("new_badge.description");
    let mut fields: Vec<&mut Field> = vec![
        &mut page.daily_quota,
        &mut page.new_badge_id,
        &mut page.new_badge_name,
        &mut page.new_badge_description,
    ];
    for r in page.brackets.iter_mut().chain(page.levels.iter_mut()) {
        fields.push(&mut r.first);
        fields.push(&mut r.second);
    }
    errors.attach(&mut fields, &mut page.general);
    page
}
