//! `slack/manifest.yml` asks only for justified scopes and subscribes to the events we handle.

use classcred_slack::scopes::{purpose_of, EVENT_SCOPES};

fn manifest() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../slack/manifest.yml");
    std::fs::read_to_string(path).expect("slack/manifest.yml")
}

/// The `- item` entries of the list under the key path `keys` (a line scan: each key is found
/// on a line of its own at a deeper indentation than the previous one).
fn list_under(text: &str, keys: &[&str]) -> Vec<String> {
    let mut lines = text.lines().map(|l| l.split(" #").next().unwrap_or(l));
    let mut indent = None::<usize>;
    for key in keys {
        let found = lines.by_ref().find(|l| {
            let ind = l.len() - l.trim_start().len();
            l.trim() == format!("{key}:") && indent.is_none_or(|i| ind > i)
        });
        let line = found.unwrap_or_else(|| panic!("key {key} not found"));
        indent = Some(line.len() - line.trim_start().len());
    }
    let mut items = Vec::new();
    for l in lines {
        let t = l.trim();
        if t.is_empty() {
            continue;
        }
        match t.strip_prefix("- ") {
            Some(item) => items.push(item.trim().trim_matches('"').to_owned()),
            None => break,
        }
    }
    items
}

fn value_of(text: &str, key: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            l.trim()
                .trim_start_matches("- ")
                .strip_prefix(&format!("{key}:"))
        })
        .map(|v| v.trim().trim_matches('"').to_owned())
        .collect()
}

#[test]
fn every_manifest_scope_has_a_purpose() {
    let scopes = list_under(&manifest(), &["oauth_config", "scopes", "bot"]);
    assert!(!scopes.is_empty());
    for s in &scopes {
        assert!(
            purpose_of(s).is_some(),
            "scope {s} in manifest has no purpose in the privacy registry"
        );
    }
    for p in classcred_slack::scope_purposes() {
        assert!(
            scopes.iter().any(|m| m == p.scope),
            "the privacy registry declares {}, the manifest does not ask for it",
            p.scope
        );
        assert!(p.purpose.len() > 20, "purpose of {} too vague", p.scope);
    }
}

#[test]
fn events_are_the_handled_ones_and_their_scopes_are_requested() {
    let text = manifest();
    let scopes = list_under(&text, &["oauth_config", "scopes", "bot"]);
    let events = list_under(&text, &["settings", "event_subscriptions", "bot_events"]);
    let expected: Vec<&str> = EVENT_SCOPES.iter().map(|(e, _)| *e).collect();
    assert_eq!(events, expected);
    for (event, scope) in EVENT_SCOPES {
        if let Some(scope) = scope {
            assert!(scopes.iter().any(|s| s == scope), "{event} needs {scope}");
        }
    }
}

#[test]
fn urls_command_and_home_tab() {
    let text = manifest();
    assert_eq!(value_of(&text, "command"), ["/cred"]);
    assert_eq!(
        value_of(&text, "url"),
        ["https://classcred.example.org/slack/commands"]
    );
    assert_eq!(
        value_of(&text, "request_url"),
        [
            "https://classcred.example.org/slack/events",
            "https://classcred.example.org/slack/interactivity"
        ]
    );
    assert_eq!(
        list_under(&text, &["oauth_config", "redirect_urls"]),
        ["https://classcred.example.org/slack/oauth/callback"]
    );
    assert_eq!(value_of(&text, "home_tab_enabled"), ["true"]);
    assert_eq!(value_of(&text, "is_enabled"), ["true"]);
    assert!(
        list_under(&text, &["oauth_config", "scopes"]).is_empty(),
        "no user scopes list"
    );
    assert!(
        text.lines().all(|l| l.trim() != "user:"),
        "no user scopes requested"
    );
}
