//! Block Kit JSON for what ClassCred sends: private text replies, the App Home tab and modals.
//!
//! Plain functions returning `serde_json::Value`. Text passed in is `mrkdwn` written by us;
//! anything a member typed (names, badge names, feedback) must go through [`escape_text`] first
//! so `&`, `<` and `>` cannot form mentions or links. Lengths are clipped to Block Kit's limits.

use serde_json::{json, Value};

/// Longest text in a section block.
pub const MAX_SECTION_TEXT: usize = 3000;
/// Most feed lines shown on the App Home.
pub const MAX_FEED_LINES: usize = 10;
/// Longest modal title.
pub const MAX_MODAL_TITLE: usize = 24;
/// `action_id` of the App Home dashboard button.
pub const HOME_DASHBOARD_ACTION: &str = "home:dashboard";

/// Escapes `&`, `<` and `>` as Slack requires for text that must not form entities.
pub fn escape_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Renders the platform seam's neutral text as Slack mrkdwn: text escaped, `*strong*`,
/// `` `code` ``, `<url|label>` links, `:fire:`, bullet lines as `• `.
pub fn mrkdwn(doc: &classcred_platform::Doc) -> String {
    use classcred_platform::Span;
    doc.render(|span, out| match span {
        Span::Text(t) => out.push_str(&escape_text(t)),
        Span::Strong(t) => {
            out.push('*');
            out.push_str(&escape_text(t));
            out.push('*');
        }
        Span::Code(t) => {
            out.push('`');
            out.push_str(&escape_text(t));
            out.push('`');
        }
        Span::Link { url, label } => {
            out.push('<');
            out.push_str(&url.replace('|', "%7C").replace('>', "%3E"));
            out.push('|');
            out.push_str(&escape_text(label).replace('|', "¦"));
            out.push('>');
        }
        Span::Fire => out.push_str(":fire:"),
    })
}

fn clip(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max_chars.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn plain(text: &str, max: usize) -> Value {
    json!({ "type": "plain_text", "text": clip(text, max), "emoji": true })
}

/// A `section` block with `mrkdwn` text.
pub fn mrkdwn_section(text: &str) -> Value {
    json!({ "type": "section", "text": { "type": "mrkdwn", "text": clip(text, MAX_SECTION_TEXT) } })
}

/// The blocks of a one-paragraph message (for `chat.postEphemeral` with `text` as fallback).
pub fn text_blocks(text: &str) -> Value {
    json!([mrkdwn_section(text)])
}

/// `action_id` of the "Accept answer" button in the asker's notice.
pub const ACCEPT_ANSWER_ACTION: &str = "classcred_accept_answer";

/// The blocks of the notice "someone answered your question": the text and an "Accept answer"
/// button whose value names the question and the answer (`{"q":…,"a":…}`, at most 2000
/// characters as Slack allows; longer ids get no button).
pub fn accept_answer_blocks(text: &str, question: &str, answer: &str) -> Value {
    let value = json!({ "q": question, "a": answer }).to_string();
    if value.chars().count() > 2000 {
        return text_blocks(text);
    }
    json!([
        mrkdwn_section(text),
        {
            "type": "actions",
            "block_id": "accept_answer",
            "elements": [{
                "type": "button",
                "action_id": ACCEPT_ANSWER_ACTION,
                "style": "primary",
                "text": plain("Accept answer", 75),
                "value": value,
            }],
        },
    ])
}

/// A private reply to a slash command or `response_url`: `{"response_type":"ephemeral",…}`.
pub fn ephemeral_response(text: &str) -> Value {
    json!({
        "response_type": "ephemeral",
        "text": clip(text, MAX_SECTION_TEXT),
        "blocks": text_blocks(text),
    })
}

/// `action_id` prefix of the store's Buy buttons; the item number follows (`store:buy:3`).
pub const STORE_BUY_ACTION: &str = "store:buy:";
/// Most Buy buttons in one reply (an `actions` block holds at most 25 elements).
pub const MAX_STORE_BUTTONS: usize = 25;

/// The private reply to `/cred store`: the list as text and a Buy button per item on sale,
/// `(number, label)` (labels are plain text, clipped to 75 characters).
pub fn store_response(text: &str, buttons: &[(u32, String)]) -> Value {
    let mut blocks = vec![mrkdwn_section(text)];
    if !buttons.is_empty() {
        let elements: Vec<Value> = buttons
            .iter()
            .take(MAX_STORE_BUTTONS)
            .map(|(number, label)| {
                json!({
                    "type": "button",
                    "text": plain(label, 75),
                    "action_id": format!("{STORE_BUY_ACTION}{number}"),
                    "value": number.to_string(),
                })
            })
            .collect();
        blocks.push(json!({ "type": "actions", "block_id": "store_buy", "elements": elements }));
    }
    json!({
        "response_type": "ephemeral",
        "text": clip(text, MAX_SECTION_TEXT),
        "blocks": blocks,
    })
}

/// `action_id` prefix of a poll's vote buttons: `poll:vote:<poll id>:<option from 0>`.
pub const POLL_VOTE_ACTION: &str = "poll:vote:";

/// A posted poll: its text and one vote button per option (labels are plain text, `1. …`,
/// clipped to 75 characters; at most 10 options, well within an `actions` block's 25).
pub fn poll_blocks(text: &str, poll_id: &str, options: &[String], open: bool) -> Value {
    let mut blocks = vec![mrkdwn_section(text)];
    if open {
        let elements: Vec<Value> = options
            .iter()
            .enumerate()
            .map(|(i, label)| {
                json!({
                    "type": "button",
                    "text": plain(&format!("{}. {label}", i + 1), 75),
                    "action_id": format!("{POLL_VOTE_ACTION}{poll_id}:{i}"),
                    "value": i.to_string(),
                })
            })
            .collect();
        blocks.push(json!({ "type": "actions", "block_id": "poll_vote", "elements": elements }));
    }
    Value::Array(blocks)
}

/// What the App Home shows a member. Values are already formatted (points as text, e.g. `17.7`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HomeViewData {
    /// Lifetime earned points.
    pub earned: String,
    /// Spendable points.
    pub spendable: String,
    /// Current level name.
    pub level: String,
    /// e.g. `Rising star at 25 points`; `None` at the top level.
    pub next_level: Option<String>,
    /// Badge names (escaped here).
    pub badges: Vec<String>,
    /// Fire left today; `None` = no limit.
    pub quota_left_today: Option<u32>,
    /// Recent activity, newest first, as mrkdwn lines (callers escape member text).
    pub feed: Vec<String>,
    /// Dashboard link, shown to Admins only.
    pub dashboard_url: Option<String>,
}

/// The App Home view (`{"type":"home",…}`) for `views.publish`.
pub fn home_view(d: &HomeViewData) -> Value {
    let mut level = format!("*Level*\n{}", escape_text(&d.level));
    if let Some(next) = &d.next_level {
        level.push_str(&format!("\nNext: {}", escape_text(next)));
    }
    let quota = match d.quota_left_today {
        Some(n) => format!("*Fire left today:* {n} :fire:"),
        None => "*Fire left today:* no limit :fire:".to_owned(),
    };
    let badges = if d.badges.is_empty() {
        "*Badges*\n_None yet_".to_owned()
    } else {
        let list: Vec<String> = d
            .badges
            .iter()
            .map(|b| format!("• {}", escape_text(b)))
            .collect();
        format!("*Badges*\n{}", list.join("\n"))
    };
    let feed = if d.feed.is_empty() {
        "_Nothing yet_".to_owned()
    } else {
        d.feed
            .iter()
            .take(MAX_FEED_LINES)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut blocks = vec![
        json!({ "type": "header", "text": plain("Your ClassCred", 150) }),
        json!({
            "type": "section",
            "block_id": "balance",
            "fields": [
                { "type": "mrkdwn", "text": clip(&format!("*Points*\n{} earned\n{} to spend", escape_text(&d.earned), escape_text(&d.spendable)), 2000) },
                { "type": "mrkdwn", "text": clip(&level, 2000) },
            ],
        }),
        with_block_id(mrkdwn_section(&quota), "quota"),
        with_block_id(mrkdwn_section(&badges), "badges"),
        json!({ "type": "divider" }),
        json!({ "type": "header", "text": plain("Recent activity", 150) }),
        with_block_id(mrkdwn_section(&feed), "feed"),
    ];
    if let Some(url) = &d.dashboard_url {
        blocks.push(json!({
            "type": "actions",
            "block_id": "admin",
            "elements": [{
                "type": "button",
                "action_id": HOME_DASHBOARD_ACTION,
                "text": plain("Open dashboard", 75),
                "url": url,
            }],
        }));
    }
    json!({ "type": "home", "callback_id": "home", "blocks": blocks })
}

fn with_block_id(mut block: Value, id: &str) -> Value {
    block["block_id"] = json!(id);
    block
}

/// A modal for `views.open`. `private_metadata` round-trips to the `view_submission`.
pub fn modal(
    callback_id: &str,
    title: &str,
    submit: Option<&str>,
    private_metadata: &str,
    blocks: Vec<Value>,
) -> Value {
    let mut v = json!({
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, MAX_MODAL_TITLE),
        "close": plain("Cancel", MAX_MODAL_TITLE),
        "private_metadata": private_metadata,
        "blocks": blocks,
    });
    if let Some(s) = submit {
        v["submit"] = plain(s, MAX_MODAL_TITLE);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> HomeViewData {
        HomeViewData {
            earned: "17.7".into(),
            spendable: "12.7".into(),
            level: "Contributor".into(),
            next_level: Some("Rising star at 25".into()),
            badges: vec!["First fire".into(), "<@U1> & co".into()],
            quota_left_today: Some(3),
            feed: (0..15).map(|i| format!("line {i}")).collect(),
            dashboard_url: None,
        }
    }

    fn block<'a>(v: &'a Value, id: &str) -> &'a Value {
        v["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["block_id"] == id)
            .unwrap()
    }

    #[test]
    fn home_view_structure() {
        let v = home_view(&data());
        assert_eq!(v["type"], "home");
        let blocks = v["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["type"], "header");
        let fields = block(&v, "balance")["fields"].as_array().unwrap();
        assert!(fields[0]["text"].as_str().unwrap().contains("17.7 earned"));
        assert!(fields[0]["text"]
            .as_str()
            .unwrap()
            .contains("12.7 to spend"));
        assert!(fields[1]["text"].as_str().unwrap().contains("Contributor"));
        assert!(block(&v, "quota")["text"]["text"]
            .as_str()
            .unwrap()
            .contains(" 3 "));
        let badges = block(&v, "badges")["text"]["text"].as_str().unwrap();
        assert!(badges.contains("First fire"));
        assert!(
            badges.contains("&lt;@U1&gt; &amp; co"),
            "member text escaped: {badges}"
        );
        let feed = block(&v, "feed")["text"]["text"].as_str().unwrap();
        assert_eq!(feed.lines().count(), MAX_FEED_LINES);
        assert!(
            blocks.iter().all(|b| b["type"] != "actions"),
            "no dashboard for students"
        );
        assert!(blocks.iter().all(|b| b["type"].is_string()));
    }

    #[test]
    fn home_view_admin_dashboard_and_empty_states() {
        let mut d = data();
        d.dashboard_url = Some("https://classcred.example.org/login/abc".into());
        d.badges.clear();
        d.feed.clear();
        d.quota_left_today = None;
        let v = home_view(&d);
        let admin = block(&v, "admin");
        assert_eq!(admin["type"], "actions");
        assert_eq!(admin["elements"][0]["type"], "button");
        assert_eq!(admin["elements"][0]["action_id"], HOME_DASHBOARD_ACTION);
        assert_eq!(
            admin["elements"][0]["url"],
            "https://classcred.example.org/login/abc"
        );
        assert!(block(&v, "badges")["text"]["text"]
            .as_str()
            .unwrap()
            .contains("None yet"));
        assert!(block(&v, "feed")["text"]["text"]
            .as_str()
            .unwrap()
            .contains("Nothing yet"));
        assert!(block(&v, "quota")["text"]["text"]
            .as_str()
            .unwrap()
            .contains("no limit"));
    }

    #[test]
    fn ephemeral_and_clipping() {
        let v = ephemeral_response("You have *2* :fire: left today.");
        assert_eq!(v["response_type"], "ephemeral");
        assert_eq!(v["text"], "You have *2* :fire: left today.");
        assert_eq!(v["blocks"][0]["type"], "section");
        assert_eq!(v["blocks"][0]["text"]["type"], "mrkdwn");
        let long = "é".repeat(5000);
        let s = mrkdwn_section(&long);
        assert_eq!(
            s["text"]["text"].as_str().unwrap().chars().count(),
            MAX_SECTION_TEXT
        );
    }

    #[test]
    fn modal_structure() {
        let m = modal(
            "assignment:submit",
            "Submit your assignment now",
            Some("Submit"),
            "42",
            vec![mrkdwn_section("hi")],
        );
        assert_eq!(m["type"], "modal");
        assert_eq!(m["callback_id"], "assignment:submit");
        assert_eq!(m["private_metadata"], "42");
        assert_eq!(m["title"]["type"], "plain_text");
        assert!(m["title"]["text"].as_str().unwrap().chars().count() <= MAX_MODAL_TITLE);
        assert_eq!(m["submit"]["text"], "Submit");
        assert_eq!(m["blocks"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn the_seams_text_renders_as_escaped_mrkdwn() {
        use classcred_platform::{Doc, Line};
        let mut d = Doc::default();
        d.push(Line::new().strong("Your <ClassCred>"));
        d.push(Line::bullet().text("Badges: A&B <@U1>, ").fire());
        d.push(Line::bullet().code("/cred privacy correct <what>"));
        d.push(
            Line::new()
                .link("https://x.example/login?token=a|b", "Open <it>")
                .text(" now"),
        );
        assert_eq!(
            mrkdwn(&d),
            "*Your &lt;ClassCred&gt;*\n\
             • Badges: A&amp;B &lt;@U1&gt;, :fire:\n\
             • `/cred privacy correct &lt;what&gt;`\n\
             <https://x.example/login?token=a%7Cb|Open &lt;it&gt;> now"
        );
        // The help text is the one members knew.
        let help = mrkdwn(&classcred_platform::commands::help("/cred"));
        assert!(help.starts_with("*ClassCred* — recognise classmates with :fire:\n"));
        assert!(help.contains("• `/cred top [week|month|all]` — the class leaderboard"));
    }
}
