//! Events API fixtures (written in the shape of Slack's documented payloads) parse into our types.

use crate::fixture;
use classcred_slack::events::{ReactionEvent, TokensRevoked};
use classcred_slack::{
    parse_events_body, Envelope, Event, EventCallback, MessageEvent, PayloadError,
};

const JSON: Option<&str> = Some("application/json");

fn envelope(name: &str) -> Envelope {
    parse_events_body(JSON, &fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn callback(name: &str) -> EventCallback {
    match envelope(name) {
        Envelope::EventCallback(cb) => *cb,
        other => panic!("{name}: not an event_callback: {other:?}"),
    }
}

fn message(name: &str) -> MessageEvent {
    match callback(name).event {
        Event::Message(m) => m,
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn url_verification() {
    assert_eq!(
        envelope("url_verification.json"),
        Envelope::UrlVerification {
            challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P".into()
        }
    );
}

#[test]
fn app_rate_limited() {
    let Envelope::AppRateLimited(r) = envelope("app_rate_limited.json") else {
        panic!()
    };
    assert_eq!(r.team_id.as_str(), "T123ABC456");
    assert_eq!(r.minute_rate_limited, 1_518_467_820);
    assert_eq!(r.api_app_id, "A123ABC456");
}

#[test]
fn envelope_fields() {
    let cb = callback("message.json");
    assert_eq!(cb.team_id.as_str(), "T061EG9R6");
    assert_eq!(cb.api_app_id, "A0PNCHHK2");
    assert_eq!(cb.event_id, "Ev0PV52K21");
    assert_eq!(cb.event_time, 1_700_000_000);
    assert_eq!(cb.authorizations.len(), 1);
    assert_eq!(cb.authorizations[0].user_id.as_str(), "U0BOTUSER");
    assert!(cb.authorizations[0].is_bot);
    assert_eq!(cb.authorizations[0].team_id.as_deref(), Some("T061EG9R6"));
    assert_eq!(cb.enterprise_id, None);
}

#[test]
fn plain_message() {
    let MessageEvent::Posted(m) = message("message.json") else {
        panic!()
    };
    assert_eq!(m.channel.as_str(), "C0LAN2Q65");
    assert_eq!(m.channel_type.as_deref(), Some("channel"));
    assert_eq!(m.message.user.as_ref().unwrap().as_str(), "U0STUDENT1");
    assert_eq!(m.message.ts.as_str(), "1700000000.000100");
    assert_eq!(m.message.ts.unix_seconds(), 1_700_000_000);
    assert!(!m.message.is_bot());
    assert!(!m.message.is_thread_reply());
    let ids: Vec<_> = classcred_slack::mentions(&m.message.text)
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(ids, ["U0STUDENT2", "U0STUDENT3"]);
}

#[test]
fn thread_reply() {
    let MessageEvent::Posted(m) = message("message_thread_reply.json") else {
        panic!()
    };
    assert!(m.message.is_thread_reply());
    assert_eq!(
        m.message.thread_ts.as_ref().unwrap().as_str(),
        "1700000000.000100"
    );
}

#[test]
fn message_changed() {
    let MessageEvent::Changed(c) = message("message_changed.json") else {
        panic!()
    };
    assert_eq!(c.channel.as_str(), "C0LAN2Q65");
    assert_eq!(c.message.ts.as_str(), "1700000000.000100");
    assert_eq!(c.event_ts.as_str(), "1700000120.000300");
    assert_eq!(c.message.user.as_ref().unwrap().as_str(), "U0STUDENT1");
    assert_eq!(classcred_slack::mentions(&c.message.text).len(), 1);
    let prev = c.previous_message.unwrap();
    assert_eq!(classcred_slack::mentions(&prev.text).len(), 2);
}

#[test]
fn message_deleted() {
    let MessageEvent::Deleted(d) = message("message_deleted.json") else {
        panic!()
    };
    assert_eq!(d.deleted_ts.as_str(), "1700000000.000100");
    assert_eq!(d.channel.as_str(), "C0LAN2Q65");
    assert_eq!(
        d.previous_message.unwrap().user.unwrap().as_str(),
        "U0STUDENT1"
    );
}

#[test]
fn bot_messages_are_flagged() {
    let MessageEvent::Posted(m) = message("message_bot.json") else {
        panic!()
    };
    assert!(m.message.is_bot());
    assert_eq!(m.message.user, None);
    assert_eq!(m.message.subtype.as_deref(), Some("bot_message"));
    // The app's own message: a user id plus bot_id.
    let MessageEvent::Posted(m) = message("message_app_own.json") else {
        panic!()
    };
    assert!(m.message.is_bot());
    assert_eq!(m.message.user.unwrap().as_str(), "U0BOTUSER");
    assert_eq!(m.channel.as_str(), "G0PRIVATE1");
}

#[test]
fn other_message_subtypes() {
    assert_eq!(
        message("message_channel_join.json"),
        MessageEvent::Other {
            subtype: "channel_join".into()
        }
    );
}

fn reaction(e: &ReactionEvent) -> (&str, &str, &str, &str, &str) {
    let (channel, ts) = e.item.message().unwrap();
    (
        e.user.as_str(),
        e.reaction.as_str(),
        e.item_user.as_ref().unwrap().as_str(),
        channel.as_str(),
        ts.as_str(),
    )
}

#[test]
fn reactions() {
    let Event::ReactionAdded(a) = callback("reaction_added.json").event else {
        panic!()
    };
    assert_eq!(
        reaction(&a),
        (
            "U0STUDENT2",
            "fire",
            "U0STUDENT1",
            "C0LAN2Q65",
            "1700000000.000100"
        )
    );
    assert_eq!(a.event_ts.as_str(), "1700000300.000700");
    let Event::ReactionRemoved(r) = callback("reaction_removed.json").event else {
        panic!()
    };
    assert_eq!(reaction(&r).1, "fire");
    assert_eq!(r.event_ts.as_str(), "1700000360.000800");
}

#[test]
fn team_join_and_user_change_keep_only_declared_fields() {
    let Event::TeamJoin { user } = callback("team_join.json").event else {
        panic!()
    };
    assert_eq!(user.id.as_str(), "W0ENTSTUD");
    assert_eq!(user.team_id.as_deref(), Some("T061EG9R6"));
    assert_eq!(user.name.as_deref(), Some("dana"));
    assert_eq!(user.real_name.as_deref(), Some("Dana Example"));
    assert_eq!(user.profile.display_name.as_deref(), Some("dana"));
    assert_eq!(user.profile.email.as_deref(), Some("dana@example.edu"));
    assert_eq!(
        user.profile.image_72.as_deref(),
        Some("https://avatars.example.com/72.png")
    );
    assert_eq!(user.tz.as_deref(), Some("America/New_York"));
    assert!(!user.is_bot && !user.deleted);
    let dbg = format!("{user:?}");
    for dropped in ["555-0100", "studying", "image_192", "tz_offset", "is_admin"] {
        assert!(!dbg.contains(dropped), "{dropped} kept: {dbg}");
    }
    let Event::UserChange { user } = callback("user_change.json").event else {
        panic!()
    };
    assert!(user.deleted);
    assert_eq!(user.name.as_deref(), Some("dana.e"));
}

#[test]
fn member_joined_channel() {
    let Event::MemberJoinedChannel(m) = callback("member_joined_channel.json").event else {
        panic!()
    };
    assert_eq!(m.user.as_str(), "U0STUDENT4");
    assert_eq!(m.channel.as_str(), "C0LAN2Q65");
    assert_eq!(m.inviter.unwrap().as_str(), "U0TEACHER1");
}

#[test]
fn app_home_opened() {
    let Event::AppHomeOpened(h) = callback("app_home_opened.json").event else {
        panic!()
    };
    assert_eq!(h.user.as_str(), "U0STUDENT1");
    assert_eq!(h.tab.as_deref(), Some("home"));
    assert_eq!(h.channel.unwrap().as_str(), "D0APPHOME1");
}

#[test]
fn uninstall_and_revocation() {
    assert_eq!(
        callback("app_uninstalled.json").event,
        Event::AppUninstalled
    );
    let Event::TokensRevoked(TokensRevoked { oauth, bot }) = callback("tokens_revoked.json").event
    else {
        panic!()
    };
    assert_eq!(oauth[0].as_str(), "U0TEACHER1");
    assert_eq!(bot[0].as_str(), "U0BOTUSER");
}

#[test]
fn unknown_types_do_not_fail() {
    assert_eq!(
        callback("unknown_event.json").event,
        Event::Unknown("emoji_changed".into())
    );
    assert_eq!(
        envelope("unknown_envelope.json"),
        Envelope::Unknown("app_deleted_something_new".into())
    );
}

#[test]
fn every_event_fixture_parses() {
    let dir = crate::fixture_path("");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let bytes = fixture(&name);
        let is_event = name.ends_with(".json")
            && serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()["type"]
                .as_str()
                .is_some_and(|t| {
                    ["event_callback", "url_verification", "app_rate_limited"].contains(&t)
                });
        if is_event {
            parse_events_body(JSON, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            n += 1;
        }
    }
    assert!(n >= 17, "only {n} event fixtures");
}

#[test]
fn bad_input_is_a_typed_error() {
    let ok = fixture("message.json");
    assert_eq!(
        parse_events_body(Some("text/plain"), &ok),
        Err(PayloadError::WrongContentType {
            expected: "application/json"
        })
    );
    assert_eq!(
        parse_events_body(None, &ok),
        Err(PayloadError::WrongContentType {
            expected: "application/json"
        })
    );
    assert_eq!(
        parse_events_body(JSON, b"\xff\xfe{}"),
        Err(PayloadError::InvalidUtf8)
    );
    for bad in [
        &b"{"[..],
        b"[]",
        b"null",
        b"{}",
        br#"{"type":7}"#,
        br#"{"type":"event_callback"}"#,
        br#"{"type":"url_verification"}"#,
    ] {
        assert!(
            matches!(
                parse_events_body(JSON, bad),
                Err(PayloadError::MalformedJson { .. })
            ),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    // An invalid id inside an otherwise valid event is refused, and the error does not quote it.
    let text = String::from_utf8(ok)
        .unwrap()
        .replace("U0STUDENT1", "not-an-id");
    let err = parse_events_body(JSON, text.as_bytes()).unwrap_err();
    assert!(
        matches!(
            err,
            PayloadError::MalformedJson {
                category: "data",
                ..
            }
        ),
        "{err}"
    );
    assert!(!err.to_string().contains("not-an-id"));
    // Thousands of random byte strings never panic.
    let alphabet = b"{}[]\":,type event_callback message\xff0";
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..2000 {
        let len = (seed % 64) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                alphabet[(seed % alphabet.len() as u64) as usize]
            })
            .collect();
        let _ = parse_events_body(JSON, &bytes);
    }
}
