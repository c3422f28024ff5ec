//! Personal API tokens: create (shown once), list, revoke.

use super::session::{API_TOKEN_PREFIX, AuthUser};
use crate::app::App;
use crate::envelope::{ApiResult, Envelope};
use crate::error::{ApiError, OrNotFound};
use crate::extract::{ApiJson, ApiPath};
use axum::extract::State;
use chrono::{Duration, Utc};
use domain::ApiTokenId;
use serde::Deserialize;
use serde_json::{Value, json};
use store::api_tokens::ApiToken;
use store::secrets::{new_token, token_hash};

/// Body of token creation.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NewTokenBody {
    name: String,
    /// Days until it stops working (none: until revoked).
    expires_in_days: Option<i64>,
}

/// POST /api/v1/auth/api-tokens — a new token; the token itself is in this answer only.
pub async fn create(
    State(app): State<App>,
    AuthUser(auth): AuthUser,
    ApiJson(body): ApiJson<NewTokenBody>,
) -> ApiResult<Value> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::field(
            "name",
            "name is required (at most 100 characters)",
        ));
    }
    let expires_at = match body.expires_in_days {
        None => None,
        Some(days) if (1..=3650).contains(&days) => {
            Some(domain::time::format(Utc::now() + Duration::days(days)))
        }
        Some(_) => {
            return Err(ApiError::field(
                "expires_in_days",
                "expires_in_days must be between 1 and 3650",
            ));
        }
    };
    let token = new_token(API_TOKEN_PREFIX);
    let prefix: String = token.chars().take(API_TOKEN_PREFIX.len() + 6).collect();
    let mut conn = app.store.conn().await?;
    let created = store::api_tokens::create(
        &mut conn,
        &auth.user.user_id(),
        name,
        &token_hash(&token),
        &prefix,
        expires_at.as_deref(),
        &store::now_text(),
    )
    .await?;
    tracing::info!(user_id = %auth.user.id, token_id = %created.id, "API token created");
    Ok(Envelope::created(
        json!({ "token": token, "api_token": created }),
    ))
}

/// GET /api/v1/auth/api-tokens — the caller's tokens (never the tokens themselves).
pub async fn list(State(app): State<App>, AuthUser(auth): AuthUser) -> ApiResult<Vec<ApiToken>> {
    let mut conn = app.store.conn().await?;
    let tokens = store::api_tokens::list(&mut conn, &auth.user.user_id()).await?;
    Ok(Envelope::all(tokens))
}

/// DELETE /api/v1/auth/api-tokens/{token_id} — revokes one of the caller's tokens at once.
pub async fn revoke(
    State(app): State<App>,
    AuthUser(auth): AuthUser,
    ApiPath(token_id): ApiPath<String>,
) -> ApiResult<Value> {
    let not_found = || ApiError::not_found("API_TOKEN_NOT_FOUND", "API token");
    let id = ApiTokenId::parse(&token_id).ok_or_else(not_found)?;
    let mut conn = app.store.conn().await?;
    store::api_tokens::revoke(&mut conn, &auth.user.user_id(), &id, &store::now_text())
        .await
        .or_not_found("API_TOKEN_NOT_FOUND", "API token")?;
    app.auth_cache.forget_api_token(id.as_str());
    tracing::info!(user_id = %auth.user.id, token_id = %id, "API token revoked");
    Ok(Envelope::ok(json!({ "id": id, "revoked": true })))
}
