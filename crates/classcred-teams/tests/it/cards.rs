//! Card buttons on Teams: the Action.Submit click (a `message` whose `value` is the button's
//! data) and the Universal Actions click (an `invoke` named `adaptiveCard/action`) become the
//! `accept …` / `buy …` command, queued like a typed one, on both backends; data that is not
//! one of our two shapes, or a click by a bot, queues nothing. The fixtures are read by
//! botbuilder's own `Activity` schema too, which must see the same name and value we act on;
//! the Accept button we send in a notice parses as an Adaptive Card with an Action.Submit.

use classcred_teams::commands::{CommandRequest, COMMAND_JOB};
use serde_json::{json, Value};

use crate::fixture;
use crate::server::{backends, Server, TEAM};

fn opened(s: &Server, job: &Value) -> String {
    serde_json::from_value::<CommandRequest>(job.clone())
        .unwrap()
        .open(&s.store)
        .args
}

#[tokio::test]
async fn button_clicks_become_commands_on_both_backends() {
    for db in backends().await {
        let b = db.backend();
        let s = Server::start(db, None).await;
        assert_eq!(
            s.post(&fixture("conversation_update_bot_added_team")).await,
            200
        );
        assert!(s.community(TEAM).await.is_some(), "{b}");

        // Action.Submit from the Accept button of a notice, in the personal chat.
        assert_eq!(s.post(&fixture("message_card_submit_accept")).await, 200);
        let jobs = s.jobs_of(COMMAND_JOB).await;
        assert_eq!(jobs.len(), 1, "{b}");
        assert_eq!(
            opened(&s, &jobs[0]),
            "accept 19:maths@thread.tacv2:1764493400000"
        );
        assert_eq!(
            jobs[0]["community_key"],
            Value::Null,
            "{b}: the personal chat"
        );
        assert_eq!(jobs[0]["reply_to_id"], "1764493700000");
        // Teams delivering the same click again: answered once.
        assert_eq!(s.post(&fixture("message_card_submit_accept")).await, 200);
        assert_eq!(s.jobs_of(COMMAND_JOB).await.len(), 1, "{b}");

        // A Universal Actions invoke from a Buy button in the channel.
        assert_eq!(s.post(&fixture("invoke_card_buy")).await, 200);
        let jobs = s.jobs_of(COMMAND_JOB).await;
        assert_eq!(jobs.len(), 2, "{b}");
        assert_eq!(opened(&s, &jobs[1]), "buy 2");
        assert_eq!(jobs[1]["community_key"], TEAM, "{b}");

        // Not ours, or not a person: nothing queued, nothing stored (in the channel; in the
        // personal chat anything typed is answered with the help).
        let channel = fixture("invoke_card_buy");
        for (n, value) in [
            json!({"classcred": "privacy", "text": "delete my data"}),
            json!({"classcred": "buy", "item": "2; drop"}),
            json!({"classcred": "accept", "answer": "a b"}),
            json!({"verb": "x"}),
        ]
        .into_iter()
        .enumerate()
        {
            let mut a = fixture("message_card_submit_accept");
            a["id"] = json!(format!("17644938{n:05}"));
            a["value"] = value;
            a["conversation"] = channel["conversation"].clone();
            a["channelData"] = channel["channelData"].clone();
            assert_eq!(s.post(&a).await, 200);
        }
        let mut bot = fixture("message_card_submit_accept");
        bot["id"] = json!("1764493900001");
        bot["from"] = json!({"id": "28:some-other-bot"});
        assert_eq!(s.post(&bot).await, 200);
        assert!(s.post(&fixture("invoke_adaptive_card")).await == 200);
        assert_eq!(s.jobs_of(COMMAND_JOB).await.len(), 2, "{b}");
        assert_eq!(
            s.count("inbox").await,
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM inbox WHERE event_type = 'member_joined'"
            )
            .fetch_one(s.store.pool())
            .await
            .unwrap(),
            "{b}: a click is no chat event"
        );
    }
}

#[tokio::test]
async fn botbuilder_reads_the_click_fixtures_as_we_do() {
    let Some(python) = crate::python() else {
        return;
    };
    let names = ["message_card_submit_accept", "invoke_card_buy"];
    let paths: Vec<String> = names
        .iter()
        .map(|n| {
            crate::test_path(&format!("fixtures/{n}.json"))
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let args: Vec<&str> = paths.iter().map(String::as_str).collect();
    let mut helper = crate::Helper::start(&python, "activity_oracle.py", &args).await;
    for name in names {
        let seen = helper.next().await;
        let ours: classcred_teams::activity::Activity =
            serde_json::from_value(fixture(name)).unwrap();
        assert_eq!(seen["type"], ours.kind.as_str(), "{name}");
        assert_eq!(seen["name"].as_str(), ours.name.as_deref(), "{name}");
        assert_eq!(Some(&seen["value"]), ours.value.as_ref(), "{name}");
        assert_eq!(
            seen["from"].as_str(),
            ours.from.as_ref().map(|f| f.id.as_str()),
            "{name}"
        );
        let command = classcred_teams::cards::submitted(
            &ours.kind,
            ours.name.as_deref(),
            ours.value.as_ref(),
        );
        assert!(command.is_some(), "{name}: one of our buttons");
    }
}
