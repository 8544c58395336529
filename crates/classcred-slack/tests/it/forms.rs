//! Slash-command and interactivity bodies, and the interaction router.

use crate::fixture;
use classcred_slack::interactivity::Interaction;
use classcred_slack::{
    is_ssl_check, parse_command_body, parse_interaction_body, CommandRequest, PayloadError, Router,
};

const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

fn form_with_payload(json: &[u8]) -> Vec<u8> {
    let enc: String = url_encode(std::str::from_utf8(json).unwrap());
    format!("payload={enc}").into_bytes()
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn slash_command() {
    let CommandRequest::Command(c) =
        parse_command_body(FORM, &fixture("slash_command.form")).unwrap()
    else {
        panic!()
    };
    assert_eq!(c.team_id.as_str(), "T061EG9R6");
    assert_eq!(c.user_id.as_str(), "U0STUDENT1");
    assert_eq!(c.channel_id.as_ref().unwrap().as_str(), "C0LAN2Q65");
    assert_eq!(c.command, "/cred");
    assert_eq!(c.text, "top week");
    assert_eq!(c.enterprise_id, None);
    assert_eq!(
        c.response_url.as_deref(),
        Some("https://hooks.slack.com/commands/T061EG9R6/1234567890/abcDEF123")
    );
    assert_eq!(
        c.trigger_id.as_deref(),
        Some("13345224609.738474920.8088930838d88f008e0")
    );
    let c2 = CommandRequest::Command(c.clone());
    assert_ne!(c2, CommandRequest::SslCheck);
    assert_eq!(c.args().collect::<Vec<_>>(), ["top", "week"]);
}

#[test]
fn ssl_check() {
    let body = fixture("ssl_check.form");
    assert!(is_ssl_check(&body));
    assert_eq!(
        parse_command_body(FORM, &body),
        Ok(CommandRequest::SslCheck)
    );
    assert!(!is_ssl_check(&fixture("slash_command.form")));
    assert!(!is_ssl_check(b"ssl_check=0"));
    assert!(!is_ssl_check(b"\xff"));
}

#[test]
fn bad_command_bodies() {
    let ok = fixture("slash_command.form");
    assert_eq!(
        parse_command_body(Some("application/json"), &ok),
        Err(PayloadError::WrongContentType {
            expected: "application/x-www-form-urlencoded"
        })
    );
    assert_eq!(
        parse_command_body(FORM, b"team_id=%FF"),
        Err(PayloadError::InvalidUtf8)
    );
    assert_eq!(
        parse_command_body(FORM, b"\xff"),
        Err(PayloadError::InvalidUtf8)
    );
    assert_eq!(
        parse_command_body(FORM, b"team_id=T1&command=/cred"),
        Err(PayloadError::MissingField("user_id"))
    );
    assert_eq!(
        parse_command_body(FORM, b"team_id=T1&user_id=bob&command=/cred"),
        Err(PayloadError::InvalidField("user_id"))
    );
    assert_eq!(
        parse_command_body(FORM, b"team_id=T1&team_id=T2&user_id=U1&command=/cred"),
        Err(PayloadError::MalformedForm)
    );
}

#[test]
fn block_actions() {
    let body = form_with_payload(&fixture("block_actions.json"));
    let Interaction::BlockActions(b) = parse_interaction_body(FORM, &body).unwrap() else {
        panic!()
    };
    assert_eq!(b.user.id.as_str(), "U0STUDENT1");
    assert_eq!(b.team.as_ref().unwrap().id, "T061EG9R6");
    assert_eq!(b.actions.len(), 3);
    assert_eq!(b.actions[0].action_id, "poll:vote:42");
    assert_eq!(b.actions[0].block_id.as_deref(), Some("poll-42-options"));
    assert_eq!(b.actions[0].value(), Some("option-2"));
    assert_eq!(b.actions[1].value(), Some("product-7"));
    assert_eq!(
        b.response_url.as_deref(),
        Some("https://hooks.slack.com/actions/T061EG9R6/1234567890/xyzXYZ987")
    );
    assert_eq!(
        b.trigger_id.as_deref(),
        Some("12466734323.1395872398.3b2e6a1a5b6b5d9c")
    );
    assert_eq!(b.channel.unwrap().id, "C0LAN2Q65");
    assert!(b.view.is_none());
}

#[test]
fn view_submission() {
    let body = form_with_payload(&fixture("view_submission.json"));
    let Interaction::ViewSubmission(v) = parse_interaction_body(FORM, &body).unwrap() else {
        panic!()
    };
    assert_eq!(v.user.id.as_str(), "U0STUDENT1");
    assert_eq!(v.view.callback_id, "assignment:submit");
    assert_eq!(v.view.private_metadata, "assignment=17");
    let s = &v.view.state;
    assert_eq!(
        s.get("answer", "answer_text").unwrap().value.as_deref(),
        Some("My essay on <@U0STUDENT2> :fire: & stuff")
    );
    assert_eq!(
        s.get("topic", "topic_select")
            .unwrap()
            .selected_option
            .as_ref()
            .unwrap()
            .value,
        "graphs"
    );
    assert_eq!(
        s.get("extras", "checks")
            .unwrap()
            .selected_options
            .as_ref()
            .unwrap()[0]
            .value,
        "late"
    );
    assert_eq!(
        s.get("extras", "due").unwrap().selected_date.as_deref(),
        Some("2024-05-01")
    );
    assert!(s.get("nope", "x").is_none());
}

#[test]
fn other_interactions_and_bad_bodies() {
    let body = form_with_payload(&fixture("view_closed.json"));
    assert_eq!(
        parse_interaction_body(FORM, &body),
        Ok(Interaction::Unknown("view_closed".into()))
    );
    assert_eq!(
        parse_interaction_body(FORM, b"x=1"),
        Err(PayloadError::MissingField("payload"))
    );
    assert!(matches!(
        parse_interaction_body(FORM, b"payload=%7B"),
        Err(PayloadError::MalformedJson { .. })
    ));
    assert!(matches!(
        parse_interaction_body(FORM, b"payload=%7B%22type%22%3A%22block_actions%22%7D"),
        Err(PayloadError::MalformedJson {
            category: "data",
            ..
        })
    ));
    assert_eq!(
        parse_interaction_body(FORM, b"payload=%C3%28"),
        Err(PayloadError::InvalidUtf8)
    );
    assert!(matches!(
        parse_interaction_body(Some("application/json"), &fixture("block_actions.json")),
        Err(PayloadError::WrongContentType { .. })
    ));
}

#[derive(Debug, PartialEq)]
enum H {
    Poll,
    PollVote,
    Store,
    Assignment,
}

#[test]
fn router_picks_longest_prefix_and_skips_unknown() {
    let router = Router::new()
        .on_action("poll:", H::Poll)
        .on_action("poll:vote:", H::PollVote)
        .on_action("store:", H::Store)
        .on_view("assignment:", H::Assignment);

    let b =
        parse_interaction_body(FORM, &form_with_payload(&fixture("block_actions.json"))).unwrap();
    let routed = router.route(&b);
    assert_eq!(routed.len(), 2, "the unregistered action is not routed");
    assert_eq!(*routed[0].handler, H::PollVote);
    assert_eq!(routed[0].rest, "42");
    assert_eq!(routed[0].action.unwrap().value(), Some("option-2"));
    assert_eq!(*routed[1].handler, H::Store);
    assert_eq!(routed[1].id, "store:pick");

    let v =
        parse_interaction_body(FORM, &form_with_payload(&fixture("view_submission.json"))).unwrap();
    let routed = router.route(&v);
    assert_eq!(routed.len(), 1);
    assert_eq!(*routed[0].handler, H::Assignment);
    assert_eq!(routed[0].rest, "submit");
    assert!(routed[0].action.is_none());

    assert!(router
        .route(&Interaction::Unknown("shortcut".into()))
        .is_empty());
    assert!(Router::<H>::new().route(&v).is_empty());
}
