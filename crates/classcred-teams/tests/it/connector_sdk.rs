//! Our Connector calls against Microsoft's own Connector route implementation
//! (botbuilder-python `aiohttp_channel_service_routes` with a recording `ChannelServiceHandler`)
//! run locally as the serviceUrl: the command answer parses as `botbuilder.schema.Activity`
//! with the expected text and conversation; notices go to a personal conversation; member
//! sync reads every page of the conversation's members (`pagedmembers`, two per page here) and
//! resolution stops at the page that answers; the token is asked for once.

use classcred_platform::{MemberDirectory, NoticeSink};
use classcred_service::Resolved;
use classcred_store::jobs::ClaimedJob;
use serde_json::{json, Value};

use crate::server::{Server, APP_ID, BOT, TEAM};

async fn until(helper: &mut crate::Helper, call: &str) -> Value {
    loop {
        let line = helper.next().await;
        if line["call"] == call {
            return line;
        }
        assert_ne!(
            line["call"], "token",
            "the token is asked for once, then cached"
        );
    }
}

#[tokio::test]
async fn replies_notices_and_members_through_botbuilders_connector_routes() {
    let Some(python) = crate::python() else {
        return;
    };
    let members = json!([
        {"id": "29:alice", "name": "Alice Example", "aadObjectId": "aad-alice", "email": "alice@school.example"},
        {"id": "29:bob", "name": "Bob Example", "aadObjectId": "aad-bob"},
        {"id": BOT, "name": "ClassCred"}
    ]);
    let mut helper =
        crate::Helper::start(&python, "connector_oracle.py", &[&members.to_string()]).await;
    let base = helper.next().await["base"].as_str().unwrap().to_owned();
    // Like the Playground's: no trailing slash.
    let service_url = format!("{base}/_connector");
    let db = classcred_store::testing::TestDb::sqlite().await;
    let s = Server::start(db, Some(&base)).await;
    let mut added = crate::fixture("conversation_update_bot_added_team");
    added["serviceUrl"] = json!(service_url);
    added["from"] = json!({"id": "29:teacher"});
    assert_eq!(s.post(&added).await, 200);
    let community = s.community(TEAM).await.unwrap();

    // Member sync: GET …/pagedmembers of the team, both pages.
    let directory = s.state.directory();
    let n = directory.sync_members(&s.store, &community).await.unwrap();
    assert_eq!(n, 3, "members of both pages");
    let token = until(&mut helper, "token").await;
    assert_eq!(token["tenant"], "botframework.com");
    assert_eq!(token["form"]["grant_type"], "client_credentials");
    assert_eq!(token["form"]["client_id"], APP_ID);
    assert_eq!(
        token["form"]["scope"],
        "https://api.botframework.com/.default"
    );
    assert_eq!(token["has_secret"], true);
    let got = until(&mut helper, "members").await;
    assert_eq!(got["conversation_id"], TEAM);
    assert_eq!(got["auth"], "Bearer fake-access-token");
    assert_eq!(got["page_size"], "500");
    assert_eq!(got["continuation_token"], Value::Null);
    let second = helper.next().await;
    assert_eq!(second["call"], "members");
    assert_eq!(second["continuation_token"], "after-2");
    let mut tx = s.store.begin().await.unwrap();
    let alice = tx
        .for_community(&community.id)
        .member_id_by_platform("29:alice")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let alice = alice.expect("alice synced");

    // Resolution of a member on the first page reads that page only.
    let r = directory
        .resolve(&s.store, &community, &["29:alice".to_owned()])
        .await
        .unwrap();
    assert!(
        matches!(&r[0], (id, Resolved::Member(m)) if id == "29:alice" && m.profile.email.as_deref() == Some("alice@school.example"))
    );
    let first = until(&mut helper, "members").await;
    assert_eq!(first["continuation_token"], Value::Null);

    // Resolution: a member, and an id that is not one (every page is read).
    let r = directory
        .resolve(
            &s.store,
            &community,
            &["29:bob".to_owned(), "29:stranger".to_owned()],
        )
        .await
        .unwrap();
    assert_eq!(
        until(&mut helper, "members").await["continuation_token"],
        Value::Null,
        "the first page, then the second: the walk starts over"
    );
    assert_eq!(helper.next().await["continuation_token"], "after-2");
    assert!(
        matches!(&r[0], (id, Resolved::Member(m)) if id == "29:bob" && m.platform_user_id == "29:bob")
    );
    assert!(matches!(&r[1], (id, Resolved::NotMember(_)) if id == "29:stranger"));

    // A command, answered from its job as a reply to the command's activity.
    let mut cmd = crate::fixture("message_command");
    cmd["serviceUrl"] = json!(service_url);
    assert_eq!(s.post(&cmd).await, 200);
    let payload = s
        .jobs_of(classcred_teams::commands::COMMAND_JOB)
        .await
        .pop()
        .unwrap();
    let req = serde_json::from_value::<classcred_teams::commands::CommandRequest>(payload.clone())
        .unwrap()
        .open(&s.store);
    let job = ClaimedJob {
        id: "job-1".into(),
        kind: classcred_teams::commands::COMMAND_JOB.into(),
        community_id: None,
        payload,
        attempts: 1,
        max_attempts: 5,
    };
    classcred_teams::commands::command_job(&s.store, &s.state.connector, None, &job)
        .await
        .unwrap();
    let reply = until(&mut helper, "reply").await;
    let conv = "19:maths@thread.tacv2;messageid=1764493500000";
    assert_eq!(
        reply["conversation_id"], conv,
        "the encoded id arrives whole"
    );
    assert_eq!(reply["activity_id"], "1764493500000");
    let activity = &reply["activity"];
    assert_eq!(activity["type"], "message");
    assert_eq!(activity["text_format"], "markdown");
    assert_eq!(activity["conversation_id"], conv);
    assert_eq!(activity["reply_to_id"], "1764493500000");
    let expected = classcred_teams::render::markdown(
        &classcred_teams::commands::answer(&s.store, None, &req)
            .await
            .unwrap(),
    );
    assert!(!expected.is_empty());
    assert_eq!(
        activity["text"],
        expected.as_str(),
        "botbuilder parsed our text as sent"
    );

    // `dashboard` in a channel: the sign-in link goes to the personal chat, the channel only
    // gets a pointer.
    let mut dash = crate::fixture("message_command");
    dash["serviceUrl"] = json!(service_url);
    dash["id"] = json!("1764493555555");
    dash["from"] = json!({"id": "29:alice"});
    dash["text"] = json!("<at>ClassCred</at> dashboard");
    assert_eq!(s.post(&dash).await, 200);
    let payload = s
        .jobs_of(classcred_teams::commands::COMMAND_JOB)
        .await
        .pop()
        .unwrap();
    assert_eq!(
        serde_json::from_value::<classcred_teams::commands::CommandRequest>(payload.clone())
            .unwrap()
            .open(&s.store)
            .args,
        "dashboard"
    );
    let job = ClaimedJob {
        id: "job-2".into(),
        kind: classcred_teams::commands::COMMAND_JOB.into(),
        community_id: None,
        payload,
        attempts: 1,
        max_attempts: 5,
    };
    let links = classcred_platform::LoginLinks::new(s.store.login_key(), "https://cc.example.org");
    classcred_teams::commands::command_job(&s.store, &s.state.connector, Some(&links), &job)
        .await
        .unwrap();
    let created = until(&mut helper, "create_conversation").await;
    assert_eq!(created["member"], "29:alice");
    let private = until(&mut helper, "send").await;
    assert_eq!(private["conversation_id"], "a:personal-29:alice");
    let text = private["activity"]["text"].as_str().unwrap();
    assert!(
        text.contains("https://cc.example.org/"),
        "the link, privately: {text}"
    );
    let pointer = until(&mut helper, "reply").await;
    assert_eq!(pointer["activity_id"], "1764493555555");
    let shown = pointer["activity"]["text"].as_str().unwrap();
    assert!(
        !shown.contains("https://"),
        "no link in the channel: {shown}"
    );

    // A notice: a personal conversation with the member, then the notice in it.
    let notice = crate::notice::outgoing(&community, &alice, "29:alice");
    directory.send(&s.store, &notice).await.unwrap();
    let created = until(&mut helper, "create_conversation").await;
    assert_eq!(created["member"], "29:alice");
    assert_eq!(created["bot"], BOT);
    assert_eq!(created["is_group"], false);
    assert_eq!(created["tenant_id"], "72f988bf-0000-4000-8000-000000000001");
    assert_eq!(
        created["channel_data_tenant"],
        "72f988bf-0000-4000-8000-000000000001"
    );
    assert_eq!(created["auth"], "Bearer fake-access-token");
    let sent = until(&mut helper, "send").await;
    assert_eq!(sent["conversation_id"], "a:personal-29:alice");
    assert_eq!(sent["activity"]["type"], "message");
    assert_eq!(
        sent["activity"]["text"],
        classcred_teams::render::markdown(&notice.doc).as_str()
    );
    // "Someone answered your question": the notice carries an Adaptive Card with an Accept
    // button (Action.Submit), as botbuilder parses it.
    let mut answered = crate::notice::outgoing(&community, &alice, "29:alice");
    answered.notice.kind = classcred_engine::NoticeKind::AnswerReceived {
        question: "19:maths@thread.tacv2:1".into(),
        answer: "19:maths@thread.tacv2:2".into(),
    };
    directory.send(&s.store, &answered).await.unwrap();
    let sent = until(&mut helper, "send").await;
    let serialized = &sent["activity"]["serialized"];
    let card = &serialized["attachments"][0];
    assert_eq!(card["contentType"], classcred_teams::cards::ADAPTIVE_CARD);
    let action = &card["content"]["actions"][0];
    assert_eq!(action["type"], "Action.Submit");
    assert_eq!(
        action["data"],
        json!({"classcred": "accept", "answer": "19:maths@thread.tacv2:2"})
    );
    // A poll posted in the channel: its text and one vote button per option, as botbuilder
    // parses it; the click's data is the `vote N K` command (poll number, option from 1).
    let poll = classcred_service::polls::PollView {
        poll_id: "0190b1d2-0000-7000-8000-00000000a001".into(),
        number: 3,
        kind: classcred_engine::PollKind::Poll,
        question: "Which topic next?".into(),
        options: vec!["Graphs".into(), "Trees".into()],
        anonymous: false,
        live_results: false,
        channel: Some("19:maths@thread.tacv2".into()),
        closes_at: None,
        created_at: chrono::Utc::now(),
        posted_message_id: None,
        closed_at: None,
        counts: vec![0, 0],
        votes: 0,
        participants: None,
    };
    let posted = directory
        .post_poll(
            &s.store,
            &community,
            "19:maths@thread.tacv2",
            "poll.x",
            &poll,
        )
        .await
        .unwrap();
    assert!(
        matches!(&posted, classcred_platform::Posted::Sent(Some(id)) if id.starts_with("19:maths@thread.tacv2:")),
        "{posted:?}"
    );
    let sent = until(&mut helper, "send").await;
    assert_eq!(sent["conversation_id"], "19:maths@thread.tacv2");
    let serialized = &sent["activity"]["serialized"];
    let text = serialized["text"].as_str().unwrap();
    assert!(
        text.contains("Which topic next?") && text.contains("@ClassCred vote 3"),
        "{text}"
    );
    let card = &serialized["attachments"][0];
    assert_eq!(card["contentType"], classcred_teams::cards::ADAPTIVE_CARD);
    let actions = card["content"]["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 2);
    assert_eq!(actions[1]["type"], "Action.Submit");
    assert_eq!(actions[1]["title"], "2. Trees");
    assert_eq!(
        classcred_teams::cards::command_of(&actions[1]["data"]).as_deref(),
        Some("vote 3 2")
    );
    drop(helper);
}
