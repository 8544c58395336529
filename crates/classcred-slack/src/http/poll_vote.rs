//! A poll's vote button (`poll:vote:<poll id>:<option from 0>`): the vote of the member who
//! clicked, stored and processed before the acknowledgement; the answer (the vote counted, or
//! why not) goes to the `response_url`, privately. A redelivered click (same action time) is
//! stored once.

use super::SlackState;
use crate::blocks::ephemeral_response;
use crate::interactivity::{Action, BlockActions};
use classcred_store::{Community, CommunityState};

pub(super) async fn vote(
    st: &SlackState,
    community: &Community,
    b: &BlockActions,
    rest: &str,
    action: Option<&Action>,
) {
    if community.state != CommunityState::Active {
        return;
    }
    // The poll and the option are the button's own id, not a free value.
    let Some((poll_id, option)) = rest.rsplit_once(':') else {
        return;
    };
    let Ok(index) = option.parse::<u32>() else {
        return;
    };
    let ctx = classcred_platform::CommandContext {
        store: &st.store,
        login: st.login.as_ref(),
        community,
        platform_user_id: b.user.id.as_str(),
        prefix: super::commands::PREFIX,
        channel: b.channel.as_ref().map(|c| c.id.as_str()),
    };
    let delivery = action
        .and_then(|a| a.action_ts.as_deref())
        .map(|ts| format!("slack:{}:{}:{ts}", b.user.id.as_str(), rest));
    let answer = match classcred_platform::polls::vote_in(
        &ctx,
        poll_id,
        &(index + 1).to_string(),
        delivery.as_deref(),
    )
    .await
    {
        Ok(doc) => crate::blocks::mrkdwn(&doc),
        Err(e) => {
            tracing::error!(community_id = %community.id, error = %e, "poll vote failed");
            "Sorry, something went wrong. Please try again in a moment.".to_owned()
        }
    };
    if let Some(url) = b.response_url.clone() {
        let client = st.client.clone();
        tokio::spawn(async move {
            if let Err(e) = client.respond(&url, &ephemeral_response(&answer)).await {
                tracing::warn!(error = %e, "poll vote reply failed");
            }
        });
    }
}
