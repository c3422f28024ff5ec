//! The Better Auth-shaped account routes: sign-up, register, sign-in, sign-out,
//! get-session, forget-password, reset-password.

use super::session::{AuthUser, Authenticated, Credential, cleared_cookie, session_cookie};
use crate::app::App;
use crate::envelope::{ApiResult, Envelope};
use crate::error::ApiError;
use crate::extract::{ApiJson, ClientInfo};
use axum::Extension;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use domain::validation::{Email, FarmName, Password, PersonName, Subdomain};
use domain::{Invalid, Role};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use store::secrets::{new_token, token_hash};
use store::users::User;
use store::{Conn, StoreError};

/// What a reset (or invitation) link proves, in the verifications table.
pub const RESET_PURPOSE: &str = "reset-password";
/// How long a reset link works.
const RESET_LIFETIME: Duration = Duration::hours(1);

/// A user as Better Auth's client reads it (camelCase).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    id: String,
    email: String,
    name: String,
    /// The name's first word (the original's client greets `first_name`).
    #[serde(rename = "first_name")]
    first_name: String,
    /// The rest of the name.
    #[serde(rename = "last_name")]
    last_name: Option<String>,
    email_verified: bool,
    image: Option<String>,
    created_at: String,
    updated_at: String,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        let (first_name, last_name) = domain::account::split_name(&u.full_name);
        UserView {
            id: u.id.clone(),
            email: u.email.clone(),
            name: u.full_name.clone(),
            first_name,
            last_name,
            email_verified: u.email_verified == 1,
            image: u.avatar_url.clone(),
            created_at: u.created_at.clone(),
            updated_at: u.updated_at.clone(),
        }
    }
}

/// A session as Better Auth's client reads it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionView {
    id: String,
    user_id: String,
    expires_at: String,
    token: String,
}

/// An envelope with the session cookie set.
fn with_cookie<T: Serialize>(app: &App, token: &str, body: Envelope<T>) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, session_cookie(app, token));
    response
}

/// Opens a session for `user`: returns the token (sent once) and the view of it.
async fn open_session(
    app: &App,
    conn: &mut Conn,
    user: &User,
    client: &ClientInfo,
    now: chrono::DateTime<Utc>,
) -> Result<(String, SessionView), ApiError> {
    let token = new_token("");
    let expires_at = domain::time::format(app.session_policy.expiry(now));
    let session = store::sessions::create(
        conn,
        &user.user_id(),
        &token_hash(&token),
        &expires_at,
        client.ip_text().as_deref(),
        client.user_agent.as_deref(),
        &domain::time::format(now),
    )
    .await?;
    Ok((
        token.clone(),
        SessionView {
            id: session.id,
            user_id: user.id.clone(),
            expires_at,
            token,
        },
    ))
}

/// Body of sign-up and register.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignUpBody {
    /// The account's email.
    pub email: String,
    /// The password, as typed.
    pub password: String,
    /// The person's name (taken from the email when left out).
    #[serde(alias = "full_name", alias = "fullName")]
    pub name: Option<String>,
    /// The first farm's name (register only; "Ada's Farm" when left out).
    #[serde(alias = "companyName", alias = "farm_name")]
    pub company_name: Option<String>,
    /// The first farm's subdomain (register only; made from the name when left out).
    pub subdomain: Option<String>,
}

/// The parsed new account.
struct NewAccount {
    email: Email,
    password: Password,
    name: PersonName,
}

impl SignUpBody {
    fn account(&self, invalid: &mut Invalid) -> Option<NewAccount> {
        let email = invalid.take(Email::parse("email", &self.email));
        let password = invalid.take(Password::parse("password", &self.password));
        let name = match &self.name {
            Some(name) => invalid.take(PersonName::parse("name", name)),
            // Better Auth requires a name; scripts often omit it, so take the email's name part.
            None => email
                .as_ref()
                .and_then(|e| e.as_str().split('@').next())
                .and_then(|local| PersonName::parse("name", local).ok()),
        };
        Some(NewAccount {
            email: email?,
            password: password?,
            name: name?,
        })
    }
}

/// The password's argon2 hash, computed before any transaction opens: it takes a moment
/// and 19 MiB, and a write transaction held meanwhile (SQLite has one writer) made other
/// farms' writes wait and a burst of sign-ups fail with "database is locked".
async fn hash_password(account: &NewAccount) -> Result<String, ApiError> {
    store::passwords::hash(account.password.expose().to_string())
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))
}

/// Creates the user row with its password hash; a taken email is 409.
async fn create_user(
    conn: &mut Conn,
    account: &NewAccount,
    password_hash: &str,
    now: &str,
) -> Result<User, ApiError> {
    store::users::create(
        conn,
        account.email.as_str(),
        account.name.as_str(),
        Some(password_hash),
        now,
    )
    .await
    .map_err(|e| match e {
        StoreError::Conflict { .. } => ApiError::Conflict {
            code: "EMAIL_TAKEN",
            field: Some("email".into()),
            message: "an account with this email already exists; sign in instead".into(),
        },
        other => other.into(),
    })
}

/// POST /api/v1/auth/sign-up/email — a new account, signed in.
pub async fn sign_up(
    State(app): State<App>,
    client: ClientInfo,
    ApiJson(body): ApiJson<SignUpBody>,
) -> Result<Response, ApiError> {
    let mut invalid = Invalid::default();
    let account = body.account(&mut invalid);
    invalid.into_result()?;
    let Some(account) = account else {
        return Err(ApiError::field("body", "invalid sign-up"));
    };
    app.throttle.sign_up(client.ip)?;
    let password_hash = hash_password(&account).await?;
    let now = Utc::now();
    let now_text = domain::time::format(now);
    let mut tx = app.store.begin().await?;
    let user = create_user(&mut tx, &account, &password_hash, &now_text).await?;
    let (token, _) = open_session(&app, &mut tx, &user, &client, now).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user.id, "account created");
    let body = Envelope::created(json!({ "token": token, "user": UserView::from(&user) }));
    Ok(with_cookie(&app, &token, body))
}

/// POST /api/v1/auth/register — a new account and its first farm in one step.
pub async fn register(
    State(app): State<App>,
    client: ClientInfo,
    ApiJson(body): ApiJson<SignUpBody>,
) -> Result<Response, ApiError> {
    let Registered {
        user,
        tenant,
        token,
        session,
    } = register_account(&app, &client, &body).await?;
    let body = Envelope::created(json!({
        "user": UserView::from(&user),
        "session": session,
        "token": token,
        "tenant": {
            "id": tenant.id,
            "subdomain": tenant.subdomain,
            "company_name": tenant.company_name,
            "role": Role::Owner,
        },
    }));
    Ok(with_cookie(&app, &token, body))
}

/// A new account with its first farm, signed in.
pub struct Registered {
    /// The new user.
    pub user: User,
    /// Their farm (they own it).
    pub tenant: store::tenants::Tenant,
    /// The session token (for the cookie; shown once).
    pub token: String,
    session: SessionView,
}

/// Creates an account and its first farm and opens a session: what the register route
/// and the web sign-up form share. Invalid fields are one `Validation` error naming each.
pub async fn register_account(
    app: &App,
    client: &ClientInfo,
    body: &SignUpBody,
) -> Result<Registered, ApiError> {
    let mut invalid = Invalid::default();
    let account = body.account(&mut invalid);
    let farm_name = match &body.company_name {
        Some(name) => invalid.take(FarmName::parse("company_name", name)),
        None => None,
    };
    let subdomain = match &body.subdomain {
        Some(s) if !s.trim().is_empty() => invalid.take(Subdomain::parse("subdomain", s)).map(Some),
        _ => Some(None),
    };
    invalid.into_result()?;
    let (Some(account), Some(subdomain)) = (account, subdomain) else {
        return Err(ApiError::field("body", "invalid registration"));
    };
    let farm_name = match farm_name {
        Some(name) => name,
        None => default_farm_name(account.name.as_str())?,
    };
    app.throttle.sign_up(client.ip)?;
    let password_hash = hash_password(&account).await?;
    let now = Utc::now();
    let now_text = domain::time::format(now);
    let mut tx = app.store.begin().await?;
    let user = create_user(&mut tx, &account, &password_hash, &now_text).await?;
    let tenant = crate::tenants::create_farm(
        &mut tx,
        &user,
        client,
        &farm_name,
        subdomain.as_ref(),
        &now_text,
    )
    .await?;
    let (token, session) = open_session(app, &mut tx, &user, client, now).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user.id, tenant_id = %tenant.id, "account and farm registered");
    Ok(Registered {
        user,
        tenant,
        token,
        session,
    })
}

/// "Ada's Farm" for a user who gave no farm name.
pub fn default_farm_name(person: &str) -> Result<FarmName, ApiError> {
    let first = person.split_whitespace().next().unwrap_or(person);
    FarmName::parse("company_name", &format!("{first}'s Farm")).map_err(ApiError::from)
}

/// Body of sign-in.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignInBody {
    /// The account's email.
    pub email: String,
    /// The password, as typed.
    pub password: String,
}

/// POST /api/v1/auth/sign-in/email — a session for the right email and password.
pub async fn sign_in(
    State(app): State<App>,
    client: ClientInfo,
    caller: Option<Extension<Authenticated>>,
    ApiJson(body): ApiJson<SignInBody>,
) -> Result<Response, ApiError> {
    let replacing = caller.as_ref().map(|Extension(a)| a);
    let (user, token) =
        sign_in_with_password(&app, &client, &body.email, &body.password, replacing).await?;
    let body =
        Envelope::ok(json!({ "redirect": false, "token": token, "user": UserView::from(&user) }));
    Ok(with_cookie(&app, &token, body))
}

/// Checks an email and password within the attempt limits and opens a session: what the
/// sign-in route and the web sign-in form share. Returns the user and the session token.
///
/// The session the request came with (`replacing`), if any, ends in the same transaction:
/// a sign-in always gets a new token, so a token planted in a browser before it signs in
/// (session fixation) or left from an earlier account is worth nothing after it.
pub async fn sign_in_with_password(
    app: &App,
    client: &ClientInfo,
    email: &str,
    password: &str,
    replacing: Option<&Authenticated>,
) -> Result<(User, String), ApiError> {
    let email = Email::parse("email", email)?;
    if password.is_empty() {
        return Err(ApiError::field("password", "password is required"));
    }
    app.throttle.attempt(client.ip, email.as_str())?;
    let wrong = || ApiError::unauthorized("INVALID_CREDENTIALS", "wrong email or password");
    let mut conn = app.store.conn().await?;
    let found = store::users::find_by_email(&mut conn, email.as_str()).await?;
    let user = match found {
        Some((user, Some(hash))) if user.is_active == 1 => {
            if !store::passwords::verify(password.to_string(), hash).await {
                app.throttle.failed(email.as_str());
                tracing::info!(user_id = %user.id, "sign-in refused: wrong password");
                return Err(wrong());
            }
            user
        }
        _ => {
            // Same work and answer as a wrong password: no telling which emails exist.
            store::passwords::dummy_verify(password.to_string()).await;
            app.throttle.failed(email.as_str());
            return Err(wrong());
        }
    };
    drop(conn);
    app.throttle.succeeded(email.as_str());
    let now = Utc::now();
    let now_text = domain::time::format(now);
    let mut tx = app.store.begin().await?;
    store::users::record_login(&mut tx, &user.user_id(), &now_text).await?;
    store::members::accept_invitations(&mut tx, &user.user_id(), &now_text).await?;
    let (token, _) = open_session(app, &mut tx, &user, client, now).await?;
    let replaced = match replacing {
        Some(Authenticated {
            credential: Credential::Session { token, .. },
            ..
        }) => {
            let hash = token_hash(token);
            store::sessions::revoke(&mut tx, &hash).await?;
            Some(hash)
        }
        _ => None,
    };
    tx.commit().await?;
    if let Some(hash) = replaced {
        app.auth_cache.forget_token(&hash);
    }
    tracing::info!(user_id = %user.id, "signed in");
    Ok((user, token))
}

/// POST /api/v1/auth/sign-out — ends the session and clears the cookie.
pub async fn sign_out(
    State(app): State<App>,
    auth: Option<Extension<Authenticated>>,
) -> Result<Response, ApiError> {
    end_session(&app, auth.as_ref().map(|Extension(a)| a)).await?;
    let mut response = Envelope::ok(json!({ "success": true })).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, cleared_cookie(&app));
    Ok(response)
}

/// Ends the caller's session, if the request carried one (an API token stays valid):
/// what the sign-out route and the web sign-out share.
pub async fn end_session(app: &App, caller: Option<&Authenticated>) -> Result<(), ApiError> {
    if let Some(Authenticated {
        credential: Credential::Session { token, .. },
        ..
    }) = caller
    {
        let mut conn = app.store.conn().await?;
        let hash = token_hash(token);
        store::sessions::revoke(&mut conn, &hash).await?;
        app.auth_cache.forget_token(&hash);
    }
    Ok(())
}

/// GET /api/v1/auth/get-session — the caller's session and user, or nulls.
pub async fn get_session(auth: Option<Extension<Authenticated>>) -> ApiResult<Value> {
    let Some(Extension(auth)) = auth else {
        return Ok(Envelope::ok(json!({ "session": null, "user": null })));
    };
    let session = match &auth.credential {
        Credential::Session {
            id,
            token,
            expires_at,
            ..
        } => json!(SessionView {
            id: id.clone(),
            user_id: auth.user.id.clone(),
            expires_at: expires_at.clone(),
            token: token.clone(),
        }),
        Credential::ApiToken { .. } => Value::Null,
    };
    Ok(Envelope::ok(
        json!({ "session": session, "user": UserView::from(&auth.user) }),
    ))
}

/// Body of forget-password.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ForgetBody {
    email: String,
    #[serde(alias = "redirect_to")]
    #[serde(rename = "redirectTo")]
    redirect_to: Option<String>,
}

/// POST /api/v1/auth/forget-password — mails a single-use reset link (1 hour).
///
/// Answers the same whether or not the account exists.
pub async fn forget_password(
    State(app): State<App>,
    client: ClientInfo,
    ApiJson(body): ApiJson<ForgetBody>,
) -> ApiResult<Value> {
    let email = Email::parse("email", &body.email)?;
    let limit_key = format!("reset:{}", email.as_str());
    app.throttle.attempt(client.ip, &limit_key)?;
    app.throttle.failed(&limit_key);
    let mut conn = app.store.conn().await?;
    let found = store::users::find_by_email(&mut conn, email.as_str()).await?;
    if let Some((user, _)) = found.filter(|(user, _)| user.is_active == 1) {
        let link = issue_reset_link(
            &app,
            &mut conn,
            &user,
            RESET_LIFETIME,
            body.redirect_to.as_deref(),
        )
        .await?;
        let text = format!(
            "Hello {},\n\nSomeone asked to reset the password of your PrintFarm account.\nOpen this link within an hour to choose a new one:\n\n{link}\n\nIf it wasn't you, ignore this mail: your password stays as it is.\n",
            user.full_name
        );
        if let Err(err) = app
            .mailer
            .send(&user.email, "Reset your PrintFarm password", text)
            .await
        {
            tracing::error!(user_id = %user.id, error = %err, "could not send the reset mail");
        }
    }
    Ok(Envelope::ok(json!({
        "status": true,
        "message": "If an account exists for this email, a reset link has been sent.",
    })))
}

/// Stores a single-use reset token for `user` and returns the link carrying it.
pub async fn issue_reset_link(
    app: &App,
    conn: &mut Conn,
    user: &User,
    lifetime: Duration,
    redirect_to: Option<&str>,
) -> Result<String, ApiError> {
    let token = new_token("");
    let now = Utc::now();
    store::verifications::create(
        conn,
        RESET_PURPOSE,
        &token_hash(&token),
        &user.id,
        &domain::time::format(now + lifetime),
        &domain::time::format(now),
    )
    .await?;
    // Only send people to pages of ours or of a trusted origin, never to any URL a caller names.
    let base = redirect_to
        .filter(|url| app.is_trusted_url(url))
        .map(str::to_string)
        .unwrap_or_else(|| format!("{}/reset-password", app.public_origin));
    let separator = if base.contains('?') { '&' } else { '?' };
    Ok(format!("{base}{separator}token={token}"))
}

/// Body of reset-password.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ResetBody {
    token: String,
    #[serde(rename = "newPassword", alias = "new_password", alias = "password")]
    new_password: String,
}

/// POST /api/v1/auth/reset-password — sets a new password with a reset link's token.
///
/// The token works once; every session of the account ends.
pub async fn reset_password(
    State(app): State<App>,
    client: ClientInfo,
    ApiJson(body): ApiJson<ResetBody>,
) -> ApiResult<Value> {
    let password = Password::parse("newPassword", &body.new_password)?;
    if body.token.trim().is_empty() {
        return Err(ApiError::field("token", "token is required"));
    }
    // Guessing tokens costs a hash each: counted per address like sign-in.
    app.throttle.address_attempt(client.ip)?;
    let hash = store::passwords::hash(password.expose().to_string())
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
    let now_text = store::now_text();
    let mut tx = app.store.begin().await?;
    let user_id = store::verifications::take(
        &mut tx,
        RESET_PURPOSE,
        &token_hash(body.token.trim()),
        &now_text,
    )
    .await?
    .and_then(|id| domain::UserId::parse(&id))
    .ok_or_else(|| ApiError::BadRequest {
        code: "INVALID_TOKEN",
        message: "this reset link is invalid, used or expired; ask for a new one".into(),
    })?;
    store::users::set_password(&mut tx, &user_id, &hash, &now_text).await?;
    let ended = store::sessions::revoke_all(&mut tx, &user_id).await?;
    store::members::accept_invitations(&mut tx, &user_id, &now_text).await?;
    tx.commit().await?;
    app.auth_cache.forget_user(&user_id);
    tracing::info!(user_id = %user_id, sessions_ended = ended, "password reset");
    Ok(Envelope::ok(json!({ "status": true })))
}

/// GET /api/v1/auth/me — the signed-in user with their farms and pending invitations
/// (a convenience for scripts).
pub async fn me(State(app): State<App>, AuthUser(auth): AuthUser) -> ApiResult<Value> {
    let farms = {
        let mut conn = app.store.conn().await?;
        store::tenants::list_for_user(&mut conn, &auth.user.user_id()).await?
    };
    let invitations = crate::invitations::pending_for(&app, &auth.user).await?;
    Ok(Envelope::ok(
        json!({ "user": UserView::from(&auth.user), "tenants": farms, "invitations": invitations }),
    ))
}
