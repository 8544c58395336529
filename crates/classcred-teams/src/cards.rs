//! Buttons on Teams: Adaptive Cards with `Action.Submit` actions, like Slack's Buy and Accept
//! buttons.
//!
//! - The `store` answer carries one Buy button per item that can be bought now; the
//!   "someone answered your question" notice carries an Accept button; a posted poll or debate
//!   carries one vote button per option (side).
//! - A button's `data` is `{"classcred": "buy", "item": N}`,
//!   `{"classcred": "accept", "answer": ID}` or `{"classcred": "vote", "poll": N, "option": K}`
//!   (poll number N, option K from 1). Teams sends the click as a `message` activity
//!   whose `value` is that data (Action.Submit from a bot's card); a client that sends it as
//!   an `invoke` named `adaptiveCard/action` (Universal Actions) has it under
//!   `value.action.data`. Either way it becomes the command text `buy N` / `accept ID` and goes
//!   the way of a typed command (a [`crate::commands::COMMAND_JOB`]), so the rules and answers
//!   are the seam's. Only these two shapes are accepted, with a number or an id that has no
//!   spaces; anything else is ignored.

use serde_json::{json, Value};

/// The content type of an Adaptive Card attachment.
pub const ADAPTIVE_CARD: &str = "application/vnd.microsoft.card.adaptive";
/// The card schema version we write (supported by every current Teams client).
pub const CARD_VERSION: &str = "1.4";
/// Longest answer id a button may carry.
const MAX_ID_LEN: usize = 256;
/// Most buttons on one card.
pub const MAX_BUTTONS: usize = 10;

/// An Adaptive Card attachment with one `Action.Submit` per `(title, data)`.
pub fn buttons_card(buttons: &[(String, Value)]) -> Value {
    let actions: Vec<Value> = buttons
        .iter()
        .take(MAX_BUTTONS)
        .map(|(title, data)| {
            json!({
                "type": "Action.Submit",
                "title": title,
                "data": data,
            })
        })
        .collect();
    json!({
        "contentType": ADAPTIVE_CARD,
        "content": {
            "type": "AdaptiveCard",
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "version": CARD_VERSION,
            "body": [],
            "actions": actions,
        }
    })
}

/// The Buy button of store item `number`.
pub fn buy_button(number: u32, title: String) -> (String, Value) {
    (title, json!({"classcred": "buy", "item": number}))
}

/// The Accept button of answer `answer` (a platform message id).
pub fn accept_button(answer: &str) -> (String, Value) {
    (
        "Accept this answer".to_owned(),
        json!({"classcred": "accept", "answer": answer}),
    )
}

/// The vote button of option `option` (from 0) of poll number `poll`.
pub fn vote_button(poll: i64, option: usize, text: &str) -> (String, Value) {
    (
        format!("{}. {text}", option + 1),
        json!({"classcred": "vote", "poll": poll, "option": option + 1}),
    )
}

/// A whole number in a button's data (a JSON number, or a string of digits).
fn number(v: &Value) -> Option<u32> {
    let n = match v {
        Value::Number(n) => n.as_u64()?,
        Value::String(s)
            if !s.is_empty() && s.len() <= 9 && s.bytes().all(|b| b.is_ascii_digit()) =>
        {
            s.parse().ok()?
        }
        _ => return None,
    };
    u32::try_from(n).ok()
}

/// The command text of a button's data, or `None` when it is not one of ours.
pub fn command_of(data: &Value) -> Option<String> {
    match data.get("classcred")?.as_str()? {
        "buy" => Some(format!("buy {}", number(data.get("item")?)?)),
        "vote" => Some(format!(
            "vote {} {}",
            number(data.get("poll")?)?,
            number(data.get("option")?)?
        )),
        "accept" => {
            let id = data.get("answer")?.as_str()?;
            (!id.is_empty() && id.len() <= MAX_ID_LEN && !id.contains(char::is_whitespace))
                .then(|| format!("accept {id}"))
        }
        _ => None,
    }
}

/// The button data of a submit: a `message` with a `value` (Action.Submit), or an `invoke`
/// named `adaptiveCard/action` (its `value.action.data`).
pub fn submitted(kind: &str, name: Option<&str>, value: Option<&Value>) -> Option<String> {
    let value = value?;
    let data = match (kind, name) {
        ("message", _) => value,
        ("invoke", Some("adaptiveCard/action")) => value.get("action")?.get("data")?,
        _ => return None,
    };
    command_of(data)
}

/// The body Teams expects in the HTTP response to an `adaptiveCard/action` invoke: a message
/// shown on the card (the command's answer follows as a reply).
pub fn invoke_response() -> Value {
    json!({
        "statusCode": 200,
        "type": "application/vnd.microsoft.activity.message",
        "value": "Done: the answer follows in a moment.",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vote_buttons_become_vote_commands() {
        let (title, data) = vote_button(4, 1, "Trees");
        assert_eq!(title, "2. Trees");
        assert_eq!(command_of(&data).as_deref(), Some("vote 4 2"));
        assert_eq!(
            command_of(&json!({"classcred": "vote", "poll": "4", "option": "1"})).as_deref(),
            Some("vote 4 1")
        );
        for bad in [
            json!({"classcred": "vote", "poll": 4}),
            json!({"classcred": "vote", "poll": "4 x", "option": 1}),
            json!({"classcred": "vote", "poll": -1, "option": 1}),
            json!({"classcred": "vote", "poll": 4, "option": "99999999999"}),
        ] {
            assert_eq!(command_of(&bad), None, "{bad}");
        }
    }

    #[test]
    fn only_our_two_button_shapes_become_commands() {
        assert_eq!(
            command_of(&json!({"classcred": "buy", "item": 3})).as_deref(),
            Some("buy 3")
        );
        assert_eq!(
            command_of(&json!({"classcred": "buy", "item": "12"})).as_deref(),
            Some("buy 12")
        );
        assert_eq!(
            command_of(&json!({"classcred": "accept", "answer": "19:c@thread.tacv2:17"}))
                .as_deref(),
            Some("accept 19:c@thread.tacv2:17")
        );
        for bad in [
            json!({"classcred": "buy", "item": "3 now"}),
            json!({"classcred": "buy", "item": -1}),
            json!({"classcred": "buy"}),
            json!({"classcred": "accept", "answer": "a b"}),
            json!({"classcred": "accept", "answer": ""}),
            json!({"classcred": "privacy", "text": "delete"}),
            json!({"verb": "x"}),
        ] {
            assert_eq!(command_of(&bad), None, "{bad}");
        }
        let data = json!({"classcred": "buy", "item": 1});
        assert_eq!(
            submitted(
                "invoke",
                Some("adaptiveCard/action"),
                Some(&json!({"action": {"type": "Action.Execute", "data": data}}))
            )
            .as_deref(),
            Some("buy 1")
        );
        assert_eq!(
            submitted("invoke", Some("composeExtension/query"), Some(&data)),
            None
        );
        assert_eq!(submitted("message", None, None), None);
    }

    #[test]
    fn the_card_has_one_submit_per_button() {
        let card = buttons_card(&[
            buy_button(2, "Buy #2 (5 points)".into()),
            accept_button("m:1"),
        ]);
        assert_eq!(card["contentType"], ADAPTIVE_CARD);
        let actions = card["content"]["actions"].as_array().unwrap();
        assert_eq!(actions.len(), 2);
        assert_eq!(actions[0]["type"], "Action.Submit");
        assert_eq!(actions[0]["data"], json!({"classcred": "buy", "item": 2}));
        assert_eq!(actions[1]["data"]["answer"], "m:1");
    }
}
