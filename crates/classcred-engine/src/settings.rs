//! Per-community settings of the recognition rules, and their validation.
//!
//! Stored by the store as a JSON text column. Every field has a serde default so JSON written
//! by older versions keeps parsing; [`CommunitySettings::from_json`] parses *and* validates, and
//! [`CommunitySettings::validate`] names the offending field in its error.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::badges::BuiltinBadge;
use crate::firsts::FirstsSettings;
use crate::ids::BadgeId;
use crate::points::Points;
use crate::questions::QuestionSettings;
use crate::time::{QuotaDay, Timezone};

/// The recognition rules of one community.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CommunitySettings {
    /// The community's IANA timezone; decides quota days and tax weeks. Default `UTC`.
    pub timezone: Timezone,
    /// First local date on which fire counts (inclusive). `None`: no start limit.
    pub course_start: Option<NaiveDate>,
    /// Last local date on which fire counts (inclusive). `None`: open-ended.
    pub course_end: Option<NaiveDate>,
    /// Most fire units (recipients × emojis) a limited member may give per quota day. Default 5.
    pub daily_quota: u32,
    /// When false (default), Admins and Instructors give without limit.
    pub limit_instructors: bool,
    /// Gift tax brackets and switches.
    pub gift_tax: GiftTax,
    /// Whether a 🔥 reaction gives the message author one fire. Default true.
    pub reactions_enabled: bool,
    /// Named level thresholds on earned points, ascending, the first at 0.
    pub levels: Vec<Level>,
    /// Enabled status of badges by id (built-in or custom). A missing id means enabled.
    pub badges: BTreeMap<BadgeId, bool>,
    /// Badges made by the community's Admin, awarded by hand.
    pub custom_badges: Vec<CustomBadge>,
    /// Questions: reward, auto-accept, tracked channels. Boxed to keep events that carry
    /// settings small.
    pub questions: Box<QuestionSettings>,
    /// Firsts: bonus points for the first students to respond (off by default).
    pub firsts: FirstsSettings,
}

impl Default for CommunitySettings {
    fn default() -> Self {
        CommunitySettings {
            timezone: Timezone::UTC,
            course_start: None,
            course_end: None,
            daily_quota: 5,
            limit_instructors: false,
            gift_tax: GiftTax::default(),
            reactions_enabled: true,
            levels: Level::defaults(),
            badges: BTreeMap::new(),
            custom_badges: Vec::new(),
            questions: Box::default(),
            firsts: FirstsSettings::default(),
        }
    }
}

/// Gift tax: fires from one giver to the same recipient within one ISO week are taxed by bracket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GiftTax {
    /// The tax can be switched off. Default on.
    pub enabled: bool,
    /// When false (default), fire given by Admins/Instructors is never taxed.
    pub applies_to_instructors: bool,
    /// Brackets by the weekly fire number (1-based) they start at, ascending.
    pub brackets: Vec<TaxBracket>,
}

impl Default for GiftTax {
    fn default() -> Self {
        GiftTax {
            enabled: true,
            applies_to_instructors: false,
            brackets: vec![
                TaxBracket {
                    from: 1,
                    rate_percent: 0,
                },
                TaxBracket {
                    from: 16,
                    rate_percent: 50,
                },
                TaxBracket {
                    from: 21,
                    rate_percent: 90,
                },
            ],
        }
    }
}

impl GiftTax {
    /// The tax rate (percent) of the `nth` fire (1-based) from one giver to one recipient in a week.
    pub fn rate_for(&self, nth: u32) -> u8 {
        self.brackets
            .iter()
            .take_while(|b| b.from <= nth)
            .last()
            .map_or(0, |b| b.rate_percent)
    }
}

/// One gift tax bracket: from the `from`-th weekly fire on, `rate_percent` of each fire is taxed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxBracket {
    /// The 1-based weekly fire number where this bracket starts.
    pub from: u32,
    /// Percent of each fire's point taken as tax, 0..=100.
    pub rate_percent: u8,
}

/// A named level reached at `threshold` earned points.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Level {
    /// Shown to the student, e.g. "Spark".
    pub name: String,
    /// Earned points needed.
    pub threshold: Points,
}

impl Level {
    /// The default ladder: 0, 10, 25, 50, 100, 200, 400.
    pub fn defaults() -> Vec<Level> {
        [
            ("Ember", 0),
            ("Spark", 10),
            ("Flame", 25),
            ("Blaze", 50),
            ("Bonfire", 100),
            ("Wildfire", 200),
            ("Supernova", 400),
        ]
        .into_iter()
        .map(|(name, t)| Level {
            name: name.to_owned(),
            threshold: Points::from_whole(t),
        })
        .collect()
    }
}

/// A badge made by an Admin and awarded by hand.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomBadge {
    /// Stable id, distinct from the built-in ids.
    pub id: BadgeId,
    /// Display name.
    pub name: String,
    /// What it is for (shown to students).
    #[serde(default)]
    pub description: String,
}

/// Settings that failed validation, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// The JSON itself does not parse (or a field has the wrong type).
    #[error("settings are not valid JSON: {0}")]
    Json(String),
    /// A field holds a value the rules do not allow.
    #[error("invalid setting `{field}`: {problem}")]
    Invalid {
        /// Dotted path of the field, e.g. `gift_tax.brackets[1].rate_percent`.
        field: String,
        /// What is wrong.
        problem: String,
    },
}

fn invalid(field: impl Into<String>, problem: impl Into<String>) -> SettingsError {
    SettingsError::Invalid {
        field: field.into(),
        problem: problem.into(),
    }
}

/// Upper bound on the daily quota, so a typo cannot make the quota meaningless.
pub const MAX_DAILY_QUOTA: u32 = 1000;

impl CommunitySettings {
    /// Parses settings JSON (missing fields take defaults) and validates it.
    pub fn from_json(json: &str) -> Result<Self, SettingsError> {
        let s: CommunitySettings =
            serde_json::from_str(json).map_err(|e| SettingsError::Json(e.to_string()))?;
        s.validate()?;
        Ok(s)
    }

    /// Checks every rule of the settings; the error names the first offending field.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if let (Some(start), Some(end)) = (self.course_start, self.course_end) {
            if end < start {
                return Err(invalid(
                    "course_end",
                    format!("{end} is before course_start {start}"),
                ));
            }
        }
        if self.daily_quota > MAX_DAILY_QUOTA {
            return Err(invalid(
                "daily_quota",
                format!("must be at most {MAX_DAILY_QUOTA}"),
            ));
        }
        self.validate_tax()?;
        self.validate_levels()?;
        if let Some((field, problem)) = self.questions.problem() {
            return Err(invalid(format!("questions.{field}"), problem));
        }
        if let Some((field, problem)) = self.firsts.problem() {
            return Err(invalid(format!("firsts.{field}"), problem));
        }
        self.validate_badges()
    }

    fn validate_tax(&self) -> Result<(), SettingsError> {
        let brackets = &self.gift_tax.brackets;
        let mut previous: Option<u32> = None;
        for (i, b) in brackets.iter().enumerate() {
            if b.from == 0 {
                return Err(invalid(
                    format!("gift_tax.brackets[{i}].from"),
                    "fire numbers start at 1",
                ));
            }
            if previous.is_some_and(|p| b.from <= p) {
                return Err(invalid(
                    format!("gift_tax.brackets[{i}].from"),
                    "brackets must be in strictly ascending order of `from`",
                ));
            }
            if b.rate_percent > 100 {
                return Err(invalid(
                    format!("gift_tax.brackets[{i}].rate_percent"),
                    format!("{} is not in 0..=100", b.rate_percent),
                ));
            }
            previous = Some(b.from);
        }
        Ok(())
    }

    fn validate_levels(&self) -> Result<(), SettingsError> {
        let Some(first) = self.levels.first() else {
            return Err(invalid("levels", "at least one level is needed"));
        };
        if first.threshold != Points::ZERO {
            return Err(invalid(
                "levels[0].threshold",
                "the first level must start at 0",
            ));
        }
        for (i, level) in self.levels.iter().enumerate() {
            if level.name.trim().is_empty() {
                return Err(invalid(format!("levels[{i}].name"), "must not be empty"));
            }
            if i > 0 && level.threshold <= self.levels[i - 1].threshold {
                return Err(invalid(
                    format!("levels[{i}].threshold"),
                    "thresholds must be strictly ascending",
                ));
            }
        }
        Ok(())
    }

    fn validate_badges(&self) -> Result<(), SettingsError> {
        let mut seen = BTreeSet::new();
        for (i, b) in self.custom_badges.iter().enumerate() {
            let id = b.id.as_str();
            let id_ok = !id.is_empty()
                && id.len() <= 64
                && id
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-');
            if !id_ok {
                return Err(invalid(
                    format!("custom_badges[{i}].id"),
                    "use 1-64 ASCII letters, digits, `_` or `-`",
                ));
            }
            if BuiltinBadge::from_id(&b.id).is_some() {
                return Err(invalid(
                    format!("custom_badges[{i}].id"),
                    "clashes with a built-in badge",
                ));
            }
            if !seen.insert(b.id.clone()) {
                return Err(invalid(format!("custom_badges[{i}].id"), "duplicate id"));
            }
            if b.name.trim().is_empty() {
                return Err(invalid(
                    format!("custom_badges[{i}].name"),
                    "must not be empty",
                ));
            }
        }
        for id in self.badges.keys() {
            if BuiltinBadge::from_id(id).is_none() && !seen.contains(id) {
                return Err(invalid(format!("badges.{id}"), "no such badge"));
            }
        }
        Ok(())
    }

    /// Whether a badge (built-in or custom) is enabled.
    pub fn badge_enabled(&self, id: &BadgeId) -> bool {
        self.badges.get(id).copied().unwrap_or(true)
    }

    /// Whether fire given on this quota day counts, or why not.
    pub fn course_status(&self, day: QuotaDay) -> CourseStatus {
        match (self.course_start, self.course_end) {
            (Some(start), _) if day.date() < start => CourseStatus::NotStarted { starts: start },
            (_, Some(end)) if day.date() > end => CourseStatus::Ended { ended: end },
            _ => CourseStatus::Running,
        }
    }

    /// The index of the level reached with `earned` points.
    pub fn level_index(&self, earned: Points) -> usize {
        self.levels
            .iter()
            .rposition(|l| l.threshold <= earned)
            .unwrap_or(0)
    }
}

/// Whether the course is running on a given day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CourseStatus {
    /// Between the start and end dates (inclusive), or no dates set.
    Running,
    /// Before the start date.
    NotStarted {
        /// The first day fire counts.
        starts: NaiveDate,
    },
    /// After the end date.
    Ended {
        /// The last day fire counted.
        ended: NaiveDate,
    },
}

#[cfg(test)]
#[expect(
    clippy::field_reassign_with_default,
    reason = "tests tweak one field of the defaults"
)]
mod tests {
    use super::*;

    fn field_of(e: SettingsError) -> String {
        match e {
            SettingsError::Invalid { field, .. } => field,
            SettingsError::Json(j) => format!("json: {j}"),
        }
    }

    #[test]
    fn empty_json_gives_defaults() {
        let s = CommunitySettings::from_json("{}").unwrap();
        assert_eq!(s, CommunitySettings::default());
        assert_eq!(s.daily_quota, 5);
        assert!(s.reactions_enabled && s.gift_tax.enabled && !s.limit_instructors);
        assert_eq!(s.levels.len(), 7);
    }

    #[test]
    fn partial_json_keeps_other_defaults() {
        let s = CommunitySettings::from_json(
            r#"{"timezone":"Europe/Berlin","gift_tax":{"enabled":false},"unknown_future_field":1}"#,
        )
        .unwrap();
        assert_eq!(s.timezone.name(), "Europe/Berlin");
        assert!(!s.gift_tax.enabled);
        assert_eq!(s.gift_tax.brackets, GiftTax::default().brackets);
    }

    #[test]
    fn round_trips_through_json() {
        let mut s = CommunitySettings::default();
        s.course_start = NaiveDate::from_ymd_opt(2025, 1, 6);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(CommunitySettings::from_json(&json).unwrap(), s);
    }

    #[test]
    fn bad_timezone_is_a_json_error() {
        assert!(matches!(
            CommunitySettings::from_json(r#"{"timezone":"Nowhere/Land"}"#),
            Err(SettingsError::Json(_))
        ));
    }

    #[test]
    fn validation_names_the_field() {
        let mut s = CommunitySettings::default();
        s.gift_tax.brackets[1].rate_percent = 101;
        assert_eq!(
            field_of(s.validate().unwrap_err()),
            "gift_tax.brackets[1].rate_percent"
        );

        let mut s = CommunitySettings::default();
        s.gift_tax.brackets[2].from = 10;
        assert_eq!(
            field_of(s.validate().unwrap_err()),
            "gift_tax.brackets[2].from"
        );

        let mut s = CommunitySettings::default();
        s.course_start = NaiveDate::from_ymd_opt(2025, 2, 1);
        s.course_end = NaiveDate::from_ymd_opt(2025, 1, 1);
        assert_eq!(field_of(s.validate().unwrap_err()), "course_end");

        let mut s = CommunitySettings::default();
        s.levels[3].threshold = Points::from_whole(5);
        assert_eq!(field_of(s.validate().unwrap_err()), "levels[3].threshold");

        let mut s = CommunitySettings::default();
        s.levels.clear();
        assert_eq!(field_of(s.validate().unwrap_err()), "levels");

        let mut s = CommunitySettings::default();
        s.custom_badges.push(CustomBadge {
            id: BadgeId::new("first_fire"),
            name: "x".into(),
            description: String::new(),
        });
        assert_eq!(field_of(s.validate().unwrap_err()), "custom_badges[0].id");

        let mut s = CommunitySettings::default();
        s.badges.insert(BadgeId::new("nope"), false);
        assert_eq!(field_of(s.validate().unwrap_err()), "badges.nope");

        let mut s = CommunitySettings::default();
        s.daily_quota = MAX_DAILY_QUOTA + 1;
        assert_eq!(field_of(s.validate().unwrap_err()), "daily_quota");
    }

    #[test]
    fn tax_rate_by_bracket() {
        let t = GiftTax::default();
        assert_eq!(t.rate_for(1), 0);
        assert_eq!(t.rate_for(15), 0);
        assert_eq!(t.rate_for(16), 50);
        assert_eq!(t.rate_for(20), 50);
        assert_eq!(t.rate_for(21), 90);
        assert_eq!(t.rate_for(1000), 90);
    }

    #[test]
    fn level_index_from_earned() {
        let s = CommunitySettings::default();
        assert_eq!(s.level_index(Points::ZERO), 0);
        assert_eq!(s.level_index(Points::from_thousandths(9_999)), 0);
        assert_eq!(s.level_index(Points::from_whole(10)), 1);
        assert_eq!(s.level_index(Points::from_whole(10_000)), 6);
        assert_eq!(s.level_index(Points::from_whole(-5)), 0);
    }
}
