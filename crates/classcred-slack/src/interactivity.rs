//! Interactivity requests (`POST /slack/interactivity`): a form with one `payload` field holding
//! JSON, narrowed to `block_actions` and `view_submission`, plus a small [`Router`] that picks a
//! handler by `action_id` / `callback_id` prefix. Handlers (polls, store, assignments) plug in
//! later; nothing here decides what an action means.

use crate::body::{check_content_type, from_value, parse_form, type_of, PayloadError, FORM};
use crate::ids::SlackUserId;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::collections::BTreeMap;

/// A parsed interactivity payload.
#[derive(Debug, Clone, PartialEq)]
pub enum Interaction {
    /// A button, select or other block element was used.
    BlockActions(BlockActions),
    /// A modal was submitted.
    ViewSubmission(ViewSubmission),
    /// Any other type (`view_closed`, `shortcut`, …): answer 200, ignore.
    Unknown(String),
}

/// The user who interacted.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct InteractionUser {
    /// Their id.
    pub id: SlackUserId,
    /// Their workspace.
    #[serde(default)]
    pub team_id: Option<String>,
}

/// The workspace of an interaction.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct InteractionTeam {
    /// Workspace id.
    pub id: String,
}

/// A `block_actions` payload.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BlockActions {
    /// Who clicked.
    pub user: InteractionUser,
    /// Workspace (null for some org-wide installs).
    #[serde(default)]
    pub team: Option<InteractionTeam>,
    /// The actions taken (usually one).
    #[serde(default)]
    pub actions: Vec<Action>,
    /// Reply URL (message surfaces only).
    #[serde(default)]
    pub response_url: Option<String>,
    /// For `views.open`; valid for 3 seconds.
    #[serde(default)]
    pub trigger_id: Option<String>,
    /// The view, when the action happened in a modal or the App Home.
    #[serde(default)]
    pub view: Option<ViewRef>,
    /// The channel, when the action happened on a message.
    #[serde(default)]
    pub channel: Option<ChannelRef>,
}

/// A channel reference inside an interaction.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ChannelRef {
    /// Channel id.
    pub id: String,
}

/// One action of a `block_actions` payload.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Action {
    /// The element's `action_id`; routes the action.
    pub action_id: String,
    /// The block it was in.
    #[serde(default)]
    pub block_id: Option<String>,
    /// Button value.
    #[serde(default)]
    pub value: Option<String>,
    /// Selected option of a static select.
    #[serde(default)]
    pub selected_option: Option<SelectedOption>,
    /// When it happened.
    #[serde(default)]
    pub action_ts: Option<String>,
}

impl Action {
    /// The button's value or the selected option's value.
    pub fn value(&self) -> Option<&str> {
        self.value
            .as_deref()
            .or(self.selected_option.as_ref().map(|o| o.value.as_str()))
    }
}

/// A selected option.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SelectedOption {
    /// The option's value.
    pub value: String,
}

/// The view a block action happened in.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ViewRef {
    /// View id.
    pub id: String,
    /// `modal` or `home`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Our callback id.
    #[serde(default)]
    pub callback_id: Option<String>,
    /// Our private metadata.
    #[serde(default)]
    pub private_metadata: Option<String>,
}

/// A `view_submission` payload.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ViewSubmission {
    /// Who submitted.
    pub user: InteractionUser,
    /// Workspace.
    #[serde(default)]
    pub team: Option<InteractionTeam>,
    /// For opening a follow-up modal.
    #[serde(default)]
    pub trigger_id: Option<String>,
    /// The submitted view.
    pub view: SubmittedView,
}

/// The submitted modal.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SubmittedView {
    /// View id.
    pub id: String,
    /// Our callback id; routes the submission.
    #[serde(default)]
    pub callback_id: String,
    /// Our private metadata (e.g. the assignment id).
    #[serde(default)]
    pub private_metadata: String,
    /// Input values.
    #[serde(default)]
    pub state: ViewState,
}

/// `view.state`: values by block id, then action id.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ViewState {
    /// `values[block_id][action_id]`.
    #[serde(default)]
    pub values: BTreeMap<String, BTreeMap<String, StateValue>>,
}

impl ViewState {
    /// The value of one input, if present.
    pub fn get(&self, block_id: &str, action_id: &str) -> Option<&StateValue> {
        self.values.get(block_id)?.get(action_id)
    }
}

/// One input's state.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StateValue {
    /// Element type, e.g. `plain_text_input`, `static_select`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Text inputs.
    #[serde(default)]
    pub value: Option<String>,
    /// Single selects and radio buttons.
    #[serde(default)]
    pub selected_option: Option<SelectedOption>,
    /// Multi-selects and checkboxes.
    #[serde(default)]
    pub selected_options: Option<Vec<SelectedOption>>,
    /// Date pickers (`YYYY-MM-DD`).
    #[serde(default)]
    pub selected_date: Option<String>,
}

impl<'de> Deserialize<'de> for Interaction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let kind: String = type_of::<D::Error>(&v)?;
        Ok(match kind.as_str() {
            "block_actions" => Interaction::BlockActions(from_value::<_, D::Error>(v)?),
            "view_submission" => Interaction::ViewSubmission(from_value::<_, D::Error>(v)?),
            _ => Interaction::Unknown(kind),
        })
    }
}

/// Parses an interactivity body (form with a `payload` JSON field) after the signature was
/// verified.
pub fn parse_interaction_body(
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Interaction, PayloadError> {
    check_content_type(content_type, FORM)?;
    let mut form = parse_form(body)?;
    let payload = form
        .remove("payload")
        .ok_or(PayloadError::MissingField("payload"))?;
    Ok(serde_json::from_str(
        &crate::body::replace_lone_surrogates(&payload),
    )?)
}

/// Routes interactions to handlers by id prefix. `H` is whatever the caller dispatches on: an
/// enum tag, a boxed closure, an `Arc<dyn Handler>`. The longest matching prefix wins.
#[derive(Debug, Clone)]
pub struct Router<H> {
    actions: Vec<(String, H)>,
    views: Vec<(String, H)>,
}

impl<H> Default for Router<H> {
    fn default() -> Self {
        Self {
            actions: Vec::new(),
            views: Vec::new(),
        }
    }
}

/// One routed piece of an interaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Routed<'a, H> {
    /// The handler registered for the prefix.
    pub handler: &'a H,
    /// The full `action_id` or `callback_id`.
    pub id: &'a str,
    /// What follows the prefix (e.g. a poll id in `poll:vote:42`).
    pub rest: &'a str,
    /// The action, for `block_actions` (one [`Routed`] per routed action).
    pub action: Option<&'a Action>,
}

impl<H> Router<H> {
    /// An empty router.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a handler for `block_actions` whose `action_id` starts with `prefix`.
    pub fn on_action(mut self, prefix: impl Into<String>, handler: H) -> Self {
        self.actions.push((prefix.into(), handler));
        self
    }

    /// Registers a handler for `view_submission` whose `callback_id` starts with `prefix`.
    pub fn on_view(mut self, prefix: impl Into<String>, handler: H) -> Self {
        self.views.push((prefix.into(), handler));
        self
    }

    fn find<'a>(table: &'a [(String, H)], id: &'a str) -> Option<Routed<'a, H>> {
        table
            .iter()
            .filter(|(p, _)| id.starts_with(p.as_str()))
            .max_by_key(|(p, _)| p.len())
            .map(|(p, h)| Routed {
                handler: h,
                id,
                rest: &id[p.len()..],
                action: None,
            })
    }

    /// The handlers for an interaction: one per routed action of a `block_actions`, one for a
    /// routed `view_submission`, none for anything else or an unregistered id.
    pub fn route<'a>(&'a self, interaction: &'a Interaction) -> Vec<Routed<'a, H>> {
        match interaction {
            Interaction::BlockActions(b) => b
                .actions
                .iter()
                .filter_map(|a| {
                    Self::find(&self.actions, &a.action_id).map(|r| Routed {
                        action: Some(a),
                        ..r
                    })
                })
                .collect(),
            Interaction::ViewSubmission(v) => Self::find(&self.views, &v.view.callback_id)
                .into_iter()
                .collect(),
            Interaction::Unknown(_) => Vec::new(),
        }
    }
}
