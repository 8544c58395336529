//! The demo's custom reward rule: "answering a classmate's question earns 1 point, at most 3
//! per week", enabled by the Admin once the six weeks are in (so the history's balances are
//! as they were; the rule's preview on the dashboard shows who it would have rewarded).

use chrono::{DateTime, Utc};
use classcred_engine::{Cap, CapPeriod, Points, RuleAward, Trigger};
use classcred_service::rules::{candidate, save_rule, RuleInput};
use classcred_store::{CommunityId, MemberRowId, Store};

/// Saves the demo's rule, enabled.
pub async fn fill(
    store: &Store,
    cid: &CommunityId,
    admin: &MemberRowId,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let input = RuleInput {
        trigger: Trigger::Answered,
        condition: None,
        award: RuleAward::Points {
            points: Points::ONE,
        },
        cap: Some(Cap {
            n: 3,
            per: CapPeriod::Week,
        }),
        enabled: true,
    };
    let rule = candidate(store, cid, None, None, &input)
        .await
        .map_err(|e| anyhow::anyhow!("the demo's reward rule: {e}"))?;
    let change = save_rule(store, cid, admin, &rule, now)
        .await
        .map_err(|e| anyhow::anyhow!("the demo's reward rule: {e}"))?;
    anyhow::ensure!(change.applied, "the demo's reward rule was not applied");
    Ok(())
}
