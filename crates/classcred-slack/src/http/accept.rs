//! The asker's "Accept answer" button (`block_actions`, action
//! [`crate::blocks::ACCEPT_ANSWER_ACTION`]): stored as an `answer_accepted` event in the inbox,
//! like every other delivery, and processed by the engine, which checks that the clicker is the
//! asker or an Instructor/Admin and that the reply is an answer (and tells them if not).
//! The delivery id is made from the click (user, answer, `action_ts`), so Slack's retries of the
//! same click store one event.

use axum::http::StatusCode;
use axum::response::Response;
use classcred_engine::{AnswerAccepted, Event, MemberId};
use classcred_store::{Community, CommunityState};
use serde::Deserialize;

use super::SlackState;
use crate::blocks::ephemeral_response;
use crate::convert::ts_time;
use crate::ids::SlackTs;
use crate::interactivity::{Action, BlockActions};

const EP: &str = "interactivity";
/// Longest message id accepted in a button value.
const MAX_ID: usize = 256;

/// The button's value: `{"q": question id, "a": answer id}`.
#[derive(Debug, Deserialize)]
struct AcceptValue {
    q: String,
    a: String,
}

fn valid(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID && !id.chars().any(char::is_control)
}

/// Stores the accept; `Err` is the response to answer instead of 200.
pub(super) async fn accept_answer(
    st: &SlackState,
    community: &Community,
    b: &BlockActions,
    action: Option<&Action>,
) -> Result<(), Response> {
    if community.state != CommunityState::Active {
        return Ok(());
    }
    let value = action
        .and_then(Action::value)
        .and_then(|v| serde_json::from_str::<AcceptValue>(v).ok())
        .filter(|v| valid(&v.q) && valid(&v.a));
    let (Some(action), Some(v)) = (action, value) else {
        return Err(super::reject(
            st,
            EP,
            StatusCode::BAD_REQUEST,
            "invalid_field",
        ));
    };
    let ts = action.action_ts.clone().unwrap_or_default();
    let at = SlackTs::parse(&ts)
        .map(|t| ts_time(&t))
        .unwrap_or_else(|_| st.store.clock().now());
    let event_id = format!("accept:{}:{}:{ts}", b.user.id.as_str(), v.a);
    let event = Event::AnswerAccepted(AnswerAccepted {
        question: v.q,
        answer: v.a,
        by: MemberId::new(b.user.id.as_str()),
        occurred_at: at,
    });
    if let Err(e) = super::events::store_event(st, &community.id, &event_id, Some(event)).await {
        return Err(super::internal(EP, &e));
    }
    if let Some(url) = b.response_url.clone() {
        let client = st.client.clone();
        tokio::spawn(async move {
            let body = ephemeral_response("Thanks! The answer is accepted.");
            if let Err(e) = client.respond(&url, &body).await {
                tracing::warn!(error = %e, "accept reply failed");
            }
        });
    }
    Ok(())
}
