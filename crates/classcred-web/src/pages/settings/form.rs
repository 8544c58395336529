//! Form fields as the settings templates render them: the name (the setting's dotted path, as
//! the engine names it in errors), what the user typed and the message next to it.

use std::collections::BTreeMap;

/// One text-like input.
pub struct Field {
    /// Form name and the setting's dotted path (`gift_tax.brackets[1].from`).
    pub name: String,
    /// The value shown: the stored one, or what the user typed.
    pub value: String,
    /// Why the value was refused.
    pub error: Option<String>,
}

impl Field {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
            error: None,
        }
    }

    /// The element id (`f-` + name) the label and the message point at.
    pub fn id(&self) -> String {
        format!("f-{}", self.name)
    }
}

/// One checkbox.
pub struct Check {
    pub name: String,
    pub label: String,
    pub checked: bool,
}

/// A submitted form: name → value (the last one wins; unchecked boxes are absent).
pub struct Submitted(BTreeMap<String, String>);

impl Submitted {
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Self(pairs.into_iter().collect())
    }

    /// The trimmed text of a field ("" when absent).
    pub fn text(&self, name: &str) -> String {
        self.0
            .get(name)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    }

    pub fn checked(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

/// Errors of a form by field name; the first one per field is kept.
#[derive(Default)]
pub struct Errors(BTreeMap<String, String>);

impl Errors {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_insert_with(|| message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Put every message on its field; a message for a field the page does not show goes to
    /// `fallback` (if that field exists).
    pub fn attach(self, fields: &mut [&mut Field], fallback: &mut Option<String>) {
        for (name, message) in self.0 {
            match fields.iter_mut().find(|f| f.name == name) {
                Some(f) => f.error = Some(message),
                None => *fallback = Some(message),
            }
        }
    }
}
