//! Resolving credentials on every request: a session token (cookie or bearer) or a
//! personal API token (bearer, `pf_` prefix). Also the CSRF guard.

use crate::app::App;
use crate::error::ApiError;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use cookie::{Cookie, SameSite};
use store::secrets::token_hash;
use store::users::User;

/// The session cookie's name.
pub const COOKIE: &str = "printfarm.session_token";
/// Personal API tokens start with this, so a bearer token tells its own kind.
pub const API_TOKEN_PREFIX: &str = "pf_";

/// A request's verified caller.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The user.
    pub user: User,
    /// How they proved it.
    pub credential: Credential,
}

/// The credential a request carried.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A sign-in session.
    Session {
        /// Session id.
        id: String,
        /// The token itself, as the client sent it (get-session echoes it back for the dashboard socket).
        token: String,
        /// When it expires.
        expires_at: String,
        /// Whether it came in the cookie (rather than a bearer header).
        via_cookie: bool,
    },
    /// A personal API token.
    ApiToken {
        /// Token id.
        id: String,
    },
}

/// The token a request carries: bearer header first, then the cookie.
fn presented_token(headers: &HeaderMap) -> Option<(String, bool)> {
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))?;
        return Some((token.trim().to_string(), false));
    }
    cookie(headers, COOKIE).map(|value| (value, true))
}

/// The value of the request's cookie `name`, if it carries one.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim().to_string())
}

/// Middleware: looks up the caller (if any credential is presented), refreshes a
/// session that is due, and puts `Authenticated` in the request's extensions.
///
/// A bad or expired credential leaves the request anonymous: routes that need a user
/// answer 401, public ones still work.
pub async fn resolve(State(app): State<App>, mut req: Request, next: Next) -> Response {
    let Some((token, via_cookie)) = presented_token(req.headers()) else {
        return next.run(req).await;
    };
    let now = Utc::now();
    let found = match lookup(&app, &token, via_cookie, now).await {
        Ok(found) => found,
        Err(err) => return err.into_response(),
    };
    let Some((authenticated, refreshed)) = found else {
        return next.run(req).await;
    };
    req.extensions_mut().insert(authenticated);
    let mut response = next.run(req).await;
    if let Some(cookie) = refreshed {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// The caller a bearer token (session or API token) belongs to, if it is live.
pub async fn caller_for_token(app: &App, token: &str) -> Result<Option<Authenticated>, ApiError> {
    Ok(lookup(app, token, false, Utc::now())
        .await?
        .map(|(caller, _)| caller))
}

/// Finds the caller for `token`; the second value is a refreshed cookie to send back.
async fn lookup(
    app: &App,
    token: &str,
    via_cookie: bool,
    now: chrono::DateTime<Utc>,
) -> Result<Option<(Authenticated, Option<HeaderValue>)>, ApiError> {
    let now_text = domain::time::format(now);
    let hash = token_hash(token);
    if let Some(cached) = app.auth_cache.caller(&hash) {
        let fresh = match &cached.credential {
            Credential::ApiToken { .. } => true,
            // A session that is due for its refresh (or has ended) goes to the database.
            Credential::Session { expires_at, .. } => domain::time::parse(expires_at)
                .is_some_and(|at| at > now && !app.session_policy.needs_refresh(now, at)),
        };
        if fresh {
            return Ok(Some((with_transport(cached, via_cookie), None)));
        }
    }
    let mut conn = app.store.conn().await?;
    if token.starts_with(API_TOKEN_PREFIX) {
        let Some((id, last_used, user)) =
            store::api_tokens::find_live(&mut conn, &hash, &now_text).await?
        else {
            return Ok(None);
        };
        // Record use at most once a minute: a write per request would serialise SQLite.
        let stale = last_used
            .as_deref()
            .and_then(domain::time::parse)
            .is_none_or(|t| now - t > chrono::Duration::minutes(1));
        if stale {
            store::api_tokens::touch(&mut conn, &id, &now_text).await?;
        }
        let credential = Credential::ApiToken { id };
        let caller = Authenticated { user, credential };
        app.auth_cache.remember_caller(hash, caller.clone());
        return Ok(Some((caller, None)));
    }
    let Some((session, user)) = store::sessions::find_live(&mut conn, &hash, &now_text).await?
    else {
        return Ok(None);
    };
    let mut expires_at = session.expires_at.clone();
    let mut refreshed = None;
    let due = domain::time::parse(&session.expires_at)
        .is_some_and(|at| app.session_policy.needs_refresh(now, at));
    if due {
        expires_at = domain::time::format(app.session_policy.expiry(now));
        store::sessions::extend(&mut conn, &session.id, &expires_at, &now_text).await?;
        if via_cookie {
            refreshed = Some(session_cookie(app, token));
        }
    }
    let credential = Credential::Session {
        id: session.id,
        token: token.to_string(),
        expires_at,
        via_cookie,
    };
    let caller = Authenticated { user, credential };
    app.auth_cache.remember_caller(hash, caller.clone());
    Ok(Some((caller, refreshed)))
}

/// A cached caller, marked with how this request carried the token.
fn with_transport(mut caller: Authenticated, via_cookie: bool) -> Authenticated {
    if let Credential::Session { via_cookie: v, .. } = &mut caller.credential {
        *v = via_cookie;
    }
    caller
}

/// The Set-Cookie value carrying a session token.
pub fn session_cookie(app: &App, token: &str) -> HeaderValue {
    let max_age = app.session_policy.lifetime.num_seconds();
    let cookie = Cookie::build((COOKIE, token.to_string()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(app.secure_cookies)
        .max_age(time_seconds(max_age))
        .build();
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The Set-Cookie value that deletes the session cookie.
pub fn cleared_cookie(app: &App) -> HeaderValue {
    let cookie = Cookie::build((COOKIE, ""))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(app.secure_cookies)
        .max_age(time_seconds(0))
        .build();
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn time_seconds(secs: i64) -> cookie::time::Duration {
    cookie::time::Duration::seconds(secs)
}

/// The signed-in caller; 401 when the request has no valid credential.
#[derive(Debug, Clone)]
pub struct AuthUser(pub Authenticated);

impl<S: Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Authenticated>()
            .cloned()
            .map(AuthUser)
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "UNAUTHORIZED",
                    "sign in first: send the session cookie or an Authorization: Bearer token",
                )
            })
    }
}

/// Middleware: refuses a state-changing request sent by a browser from an origin that
/// is neither this server nor trusted (CSRF). Requests with an Authorization header
/// are not at risk: a foreign page cannot add one without a CORS preflight we refuse.
pub async fn csrf_guard(State(app): State<App>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let headers = req.headers();
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if let Some(origin) = origin.filter(|_| !safe && !headers.contains_key(header::AUTHORIZATION))
        && !origin_allowed(&app, origin, headers)
    {
        tracing::warn!(origin, "refused a cross-site request");
        return ApiError::forbidden(
            "CSRF_REJECTED",
            format!("requests from {origin} are not trusted; add it to trusted_origins"),
        )
        .into_response();
    }
    next.run(req).await
}

/// Whether a browser origin may make state-changing calls: this server itself (by
/// its public URL or the Host it was reached at) or a trusted origin.
fn origin_allowed(app: &App, origin: &str, headers: &HeaderMap) -> bool {
    let origin = origin.trim_end_matches('/');
    if origin == app.public_origin
        || app
            .settings
            .trusted_origins
            .iter()
            .any(|o| o.trim_end_matches('/') == origin)
    {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let authority = origin.split_once("://").map(|(_, rest)| rest);
    matches!((host, authority), (Some(h), Some(a)) if h.eq_ignore_ascii_case(a))
}
