//! Cross-checks our v0 signatures with Slack's official Python SDK (`slack_sdk`).
//!
//! Needs `CLASSCRED_SLACK_SDK_PYTHON` = a Python with slack_sdk installed (`scripts/test.sh`
//! installs one); the tests print a notice and skip the cross-check when it is unset, and fail
//! instead when `CLASSCRED_REQUIRE_SLACK_SDK=1` (CI).

use crate::{fixture, python};
use base64::Engine as _;
use classcred_slack::{sign, verify, SignatureError, SigningSecret};
use serde_json::{json, Value};

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const NOW: i64 = 1_700_000_000;

fn oracle(python: &str, request: &Value) -> Value {
    crate::run_python(python, "slack_signatures.py", request)
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn bodies() -> Vec<Vec<u8>> {
    vec![
        fixture("message.json"),
        fixture("url_verification.json"),
        fixture("slash_command.form"),
        fixture("reaction_added.json"),
        "payload=%7B%22type%22%3A%22block_actions%22%7D".into(),
        "{\"text\":\"<@U1> merci 🔥 für alles\"}".into(),
        Vec::new(),
    ]
}

fn tampered(body: &[u8]) -> Vec<u8> {
    let mut b = body.to_vec();
    b.push(b' ');
    b
}

#[test]
fn requests_signed_by_slack_sdk_are_accepted_and_tampering_refused() {
    let Some(py) = python() else { return };
    let secret = SigningSecret::new(SECRET);
    let bodies = bodies();
    let ts = NOW.to_string();
    let sign_cases: Vec<Value> = bodies
        .iter()
        .map(|b| json!({"timestamp": ts, "body_b64": b64(b)}))
        .collect();
    let out = oracle(
        &py,
        &json!({"secret": SECRET, "now": NOW, "sign": sign_cases}),
    );
    let sigs = out["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), bodies.len());
    for (body, sig) in bodies.iter().zip(sigs) {
        let sig = sig.as_str().unwrap();
        assert_eq!(verify(&secret, Some(&ts), Some(sig), body, NOW), Ok(()));
        assert_eq!(
            verify(&secret, Some(&ts), Some(sig), body, NOW + 300),
            Ok(())
        );
        assert_eq!(sig, sign(&secret, &ts, body), "same signature as ours");
        assert_eq!(
            verify(&secret, Some(&ts), Some(sig), &tampered(body), NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&secret, Some(&ts), Some(sig), body, NOW + 301),
            Err(SignatureError::Stale { skew_secs: 301 })
        );
        assert!(matches!(
            verify(&secret, None, Some(sig), body, NOW),
            Err(SignatureError::MissingHeader(_))
        ));
        assert!(matches!(
            verify(&secret, Some(&ts), None, body, NOW),
            Err(SignatureError::MissingHeader(_))
        ));
    }
}

#[test]
fn slack_sdk_accepts_our_signatures_and_refuses_the_same_bad_requests() {
    let Some(py) = python() else { return };
    let secret = SigningSecret::new(SECRET);
    let fresh = NOW.to_string();
    let old = (NOW - 301).to_string();
    let edge = (NOW - 300).to_string();
    let mut cases = Vec::new();
    let mut expected = Vec::new();
    for body in bodies() {
        let good = sign(&secret, &fresh, &body);
        let mut case = |ts: Option<&str>, sig: Option<&str>, b: &[u8]| {
            let ours = verify(&secret, ts, sig, b, NOW).is_ok();
            expected.push(ours);
            cases.push(json!({"timestamp": ts, "signature": sig, "body_b64": b64(b)}));
        };
        case(Some(&fresh), Some(&good), &body);
        case(Some(&fresh), Some(&good), &tampered(&body));
        case(Some(&old), Some(&sign(&secret, &old, &body)), &body);
        case(Some(&edge), Some(&sign(&secret, &edge, &body)), &body);
        case(None, Some(&good), &body);
        case(Some(&fresh), None, &body);
        case(
            Some(&fresh),
            Some(&sign(&SigningSecret::new("wrong"), &fresh, &body)),
            &body,
        );
    }
    let out = oracle(&py, &json!({"secret": SECRET, "now": NOW, "verify": cases}));
    let valid: Vec<bool> = out["valid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_bool().unwrap())
        .collect();
    assert_eq!(
        valid, expected,
        "slack_sdk and our verifier agree on every case"
    );
    // And the expected pattern really is: good, tampered, 301 s old, 300 s old, missing ts,
    // missing signature, wrong secret.
    for chunk in valid.chunks(7) {
        assert_eq!(chunk, [true, false, false, true, false, false, false]);
    }
}

#[test]
fn official_vector_through_slack_sdk() {
    let Some(py) = python() else { return };
    let body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    let out = oracle(
        &py,
        &json!({"secret": SECRET, "now": 1_531_420_618,
                "sign": [{"timestamp": "1531420618", "body_b64": b64(body.as_bytes())}]}),
    );
    assert_eq!(
        out["signatures"][0],
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    );
}
