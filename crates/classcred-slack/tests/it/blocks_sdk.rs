//! Our Block Kit JSON is accepted by slack_sdk's models (`View`, `Block.parse_all`). Skips like
//! `signature_sdk` when `CLASSCRED_SLACK_SDK_PYTHON` is unset.

use crate::{python, run_python};
use classcred_slack::blocks::{
    accept_answer_blocks, ephemeral_response, home_view, modal, mrkdwn_section, text_blocks,
    HomeViewData,
};
use serde_json::{json, Value};

#[test]
fn views_and_blocks_validate_with_slack_sdk() {
    let Some(py) = python() else { return };
    let student = HomeViewData {
        earned: "17.7".into(),
        spendable: "12.7".into(),
        level: "Contributor".into(),
        next_level: Some("Rising star at 25".into()),
        badges: vec!["First fire".into(), "Helper & <friend>".into()],
        quota_left_today: Some(3),
        feed: (0..20)
            .map(|i| format!("<@U1> gave you :fire: ({i})"))
            .collect(),
        dashboard_url: None,
    };
    let admin = HomeViewData {
        dashboard_url: Some("https://classcred.example.org/login/t0k3n".into()),
        quota_left_today: None,
        ..HomeViewData::default()
    };
    let views = vec![
        home_view(&student),
        home_view(&admin),
        modal(
            "assignment:submit",
            "A title much longer than twenty-four characters",
            Some("Submit"),
            "assignment=17",
            vec![mrkdwn_section("Write your answer.")],
        ),
    ];
    let blocks = vec![
        text_blocks("You have *2* :fire: left today."),
        text_blocks(&"long ".repeat(1000)),
        ephemeral_response("help")["blocks"].clone(),
        accept_answer_blocks("Someone answered your question.", "C1:1.0", "C1:2.0"),
    ];
    let out = run_python(
        &py,
        "validate_views.py",
        &json!({"views": views, "blocks": blocks}),
    );
    assert_eq!(out["views"], json!([null, null, null]), "{out}");
    assert_eq!(out["blocks"], json!([null, null, null, null]), "{out}");

    // The oracle does reject invalid views (so the nulls above mean something).
    let bad: Value = json!({"views": [{"type": "modal", "title": {"type": "plain_text", "text": "x"}, "blocks": []}]});
    assert!(run_python(&py, "validate_views.py", &bad)["views"][0].is_string());
}
