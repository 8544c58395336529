//! `GET /api/v1/questions?status=unanswered|answered|all`: the community's questions (not
//! deleted), oldest first, at most 500. Ids, times and counts only: the texts are members'
//! messages and stay on the dashboard (an audited read).

use axum::extract::State;
use axum::Json;
use classcred_store::recognition::QuestionFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::rfc3339;
use crate::auth::ApiCommunity;
use crate::error::{ApiError, ErrorBody};
use crate::query::ApiQuery;
use crate::ApiState;

/// Most questions in one answer.
pub const MAX_QUESTIONS: i64 = 500;

/// Which questions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum QuestionStatus {
    /// No answer accepted yet (default).
    #[default]
    Unanswered,
    /// An answer accepted.
    Answered,
    /// Both.
    All,
}

/// `?status=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QuestionsQuery {
    /// Default `unanswered`.
    #[param(inline)]
    pub status: Option<QuestionStatus>,
}

/// One question.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuestionItem {
    /// The question's platform message id.
    pub question_id: String,
    /// Who asked (member id).
    pub asker_member_id: String,
    /// Where it was asked (platform channel id), when known.
    pub channel_id: Option<String>,
    #[schema(format = DateTime)]
    pub asked_at: String,
    /// Answers not deleted.
    pub answer_count: i64,
    /// The accepted answer's platform message id; absent while unanswered.
    pub accepted_answer_id: Option<String>,
}

/// The questions, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuestionList {
    pub items: Vec<QuestionItem>,
}

/// The community's questions.
#[utoipa::path(
    get, path = "/api/v1/questions", tag = "questions",
    params(QuestionsQuery),
    responses(
        (status = 200, description = "Questions, oldest first (at most 500)", body = QuestionList),
        (status = 400, description = "Bad query", body = ErrorBody),
        (status = 401, description = "Missing, invalid or revoked token", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<ApiState>,
    auth: ApiCommunity,
    ApiQuery(q): ApiQuery<QuestionsQuery>,
) -> Result<Json<QuestionList>, ApiError> {
    let filter = match q.status.unwrap_or_default() {
        QuestionStatus::Unanswered => QuestionFilter::Unanswered,
        QuestionStatus::Answered => QuestionFilter::Answered,
        QuestionStatus::All => QuestionFilter::All,
    };
    let mut tx = state.store.begin().await?;
    let rows = tx
        .for_community(&auth.community_id)
        .questions(filter, MAX_QUESTIONS)
        .await?;
    tx.commit().await?;
    let items = rows
        .into_iter()
        .map(|r| QuestionItem {
            question_id: r.platform_message_id,
            asker_member_id: r.asker_member_id.to_string(),
            channel_id: r.channel_id,
            asked_at: rfc3339(r.asked_at),
            answer_count: r.answer_count,
            accepted_answer_id: r.accepted_answer_id,
        })
        .collect();
    Ok(Json(QuestionList { items }))
}
