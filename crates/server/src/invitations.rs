//! Invitations: a farm's admins invite by email; nothing changes for the invitee until
//! the account with that email accepts (by the mailed link or from its list) or declines.
//!
//! Inviting never creates an account and answers the same whether or not the email has
//! one, so an admin learns nothing about other people's accounts, and an unknown email
//! can still sign up later and find the invitation waiting.

use crate::app::App;
use crate::audit::Change;
use crate::auth::{AuthUser, Member, roles};
use crate::envelope::{ApiResult, Envelope};
use crate::error::{ApiError, OrNotFound};
use crate::extract::{ApiJson, ApiPath, ClientInfo};
use axum::extract::State;
use chrono::{DateTime, Utc};
use domain::invitation::{InvitationError, LIFETIME, State as InvitationState};
use domain::membership;
use domain::validation::Email;
use domain::{Invalid, InvitationId, Role, TenantId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use store::StoreError;
use store::invitations::{Invitation, NewInvitation};
use store::secrets::{new_token, token_hash};
use store::users::User;

impl From<InvitationError> for ApiError {
    fn from(err: InvitationError) -> Self {
        let message = err.to_string();
        match err {
            InvitationError::AlreadyAccepted => ApiError::Conflict {
                code: "INVITATION_ALREADY_ACCEPTED",
                field: None,
                message,
            },
            InvitationError::Expired => ApiError::Gone {
                code: "INVITATION_EXPIRED",
                message,
            },
            InvitationError::Declined => ApiError::Gone {
                code: "INVITATION_DECLINED",
                message,
            },
            InvitationError::Revoked => ApiError::Gone {
                code: "INVITATION_REVOKED",
                message,
            },
        }
    }
}

/// An invitation as the API shows it: to the farm's admins and to the invitee alike,
/// and the same whether or not the email has an account (never a user's id or name).
#[derive(Debug, Clone, Serialize)]
pub struct InvitationView {
    /// Its id.
    pub id: String,
    /// The farm.
    pub tenant_id: String,
    /// The farm's name.
    pub tenant_name: String,
    /// The invited address.
    pub email: String,
    /// The role on accepting.
    pub role: String,
    /// pending, expired, accepted, declined or revoked.
    pub status: InvitationState,
    /// The admin who invited.
    pub invited_by: Option<String>,
    /// Their name.
    pub invited_by_name: Option<String>,
    /// Invited at (first).
    pub created_at: String,
    /// It stops working at.
    pub expires_at: String,
    /// Accepted at.
    pub accepted_at: Option<String>,
    /// Declined at.
    pub declined_at: Option<String>,
    /// Revoked at.
    pub revoked_at: Option<String>,
}

impl InvitationView {
    /// The view of a stored invitation at `now`.
    pub fn new(row: Invitation, now: DateTime<Utc>) -> Result<InvitationView, ApiError> {
        let status = row.state(now)?;
        Ok(InvitationView {
            id: row.id,
            tenant_id: row.tenant_id,
            tenant_name: row.tenant_name,
            email: row.email,
            role: row.role,
            status,
            invited_by: row.invited_by,
            invited_by_name: row.invited_by_name,
            created_at: row.created_at,
            expires_at: row.expires_at,
            accepted_at: row.accepted_at,
            declined_at: row.declined_at,
            revoked_at: row.revoked_at,
        })
    }
}

/// Views of stored invitations at `now`.
fn views(rows: Vec<Invitation>, now: DateTime<Utc>) -> Result<Vec<InvitationView>, ApiError> {
    rows.into_iter()
        .map(|row| InvitationView::new(row, now))
        .collect()
}

/// Body of an invitation.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct InviteBody {
    email: String,
    role: Option<String>,
}

fn parse_role(field: &str, raw: &str) -> Result<Role, Invalid> {
    raw.parse::<Role>()
        .map_err(|e| Invalid::field(field, e.to_string()))
}

/// POST /api/v1/tenants/{tenant_id}/members — invites someone by email (admins): a
/// pending invitation (inviting again renews it) and a mail with a link (7 days).
///
/// The answer is the invitation, the same for any address; only an address that is a
/// member already (which admins can see in the members list anyway) is refused.
pub async fn invite(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiJson(body): ApiJson<InviteBody>,
) -> ApiResult<InvitationView> {
    let mut invalid = Invalid::default();
    let email = invalid.take(Email::parse("email", &body.email));
    let role = invalid.take(parse_role(
        "role",
        body.role.as_deref().unwrap_or("operator"),
    ));
    invalid.into_result()?;
    let (Some(email), Some(role)) = (email, role) else {
        return Err(ApiError::field("email", "email is required"));
    };
    membership::check_invite(member.role, role)?;
    let now = Utc::now();
    let now_text = domain::time::format(now);
    let token = new_token("");
    let mut tx = app.store.begin().await?;
    if store::members::has_email(&mut tx, &member.tenant, email.as_str()).await? {
        return Err(ApiError::Conflict {
            code: "ALREADY_A_MEMBER",
            field: Some("email".into()),
            message: format!("{email} is already a member of this farm"),
        });
    }
    let invitation = store::invitations::invite(
        &mut tx,
        &member.tenant,
        NewInvitation {
            email: email.as_str(),
            role,
            invited_by: &member.user.user_id(),
            token_hash: &token_hash(&token),
            expires_at: &domain::time::format(now + LIFETIME),
        },
        &now_text,
    )
    .await?;
    let change = Change {
        action: "member.invited",
        table: "tenant_invitations",
        record: &invitation.id,
        old: None,
        new: Some(json!({ "email": invitation.email, "role": role })),
    };
    member.audit(&mut tx, &client, change, &now_text).await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %member.tenant, invitation_id = %invitation.id, %role, "member invited");
    let link = format!("{}/invitations/accept?token={token}", app.public_origin);
    let text = format!(
        "Hello,\n\n{} invited you to the farm \"{}\" on PrintFarm as {role}.\n\
         To accept, open this link within 7 days, signed in with this email address ({email}):\n\n{link}\n\n\
         No PrintFarm account yet? Sign up with this email address at {}/sign-up first: the invitation waits for you on the Team page.\n\
         Nothing changes unless you accept; if you did not expect this, ignore this mail.\n",
        member.user.full_name, invitation.tenant_name, app.public_origin
    );
    let subject = format!("You are invited to {} on PrintFarm", invitation.tenant_name);
    if let Err(err) = app.mailer.send(email.as_str(), &subject, text).await {
        tracing::error!(tenant_id = %member.tenant, invitation_id = %invitation.id, error = %err, "could not send the invitation");
    }
    Ok(Envelope::created(InvitationView::new(invitation, now)?))
}

/// GET /api/v1/tenants/{tenant_id}/invitations — the farm's pending invitations (admins;
/// expired ones too, marked, so they can be sent again).
pub async fn list_for_farm(
    State(app): State<App>,
    member: Member<roles::Admin>,
) -> ApiResult<Vec<InvitationView>> {
    Ok(Envelope::all(pending_in(&app, &member.tenant).await?))
}

/// The farm's pending invitations (expired ones included), newest first.
pub async fn pending_in(app: &App, tenant: &TenantId) -> Result<Vec<InvitationView>, ApiError> {
    let mut conn = app.store.conn().await?;
    let rows = store::invitations::list_pending(&mut conn, tenant).await?;
    views(rows, Utc::now())
}

/// DELETE /api/v1/tenants/{tenant_id}/invitations/{invitation_id} — takes a pending
/// invitation back (admins); its link stops working.
pub async fn revoke(
    State(app): State<App>,
    member: Member<roles::Admin>,
    client: ClientInfo,
    ApiPath((_tenant, id)): ApiPath<(String, String)>,
) -> ApiResult<InvitationView> {
    let id = parse_id(&id)?;
    let now = Utc::now();
    let now_text = domain::time::format(now);
    let mut tx = app.store.begin().await?;
    let revoked = store::invitations::revoke(&mut tx, &member.tenant, &id, &now_text)
        .await
        .or_not_found("INVITATION_NOT_FOUND", "pending invitation")?;
    let change = Change {
        action: "invitation.revoked",
        table: "tenant_invitations",
        record: &revoked.id,
        old: Some(json!({ "email": revoked.email, "role": revoked.role, "status": "pending" })),
        new: Some(json!({ "status": "revoked" })),
    };
    member.audit(&mut tx, &client, change, &now_text).await?;
    tx.commit().await?;
    tracing::info!(tenant_id = %member.tenant, invitation_id = %revoked.id, "invitation revoked");
    Ok(Envelope::ok(InvitationView::new(revoked, now)?))
}

/// An invitation id from a path; anything else is an invitation not found.
fn parse_id(text: &str) -> Result<InvitationId, ApiError> {
    InvitationId::parse(text)
        .ok_or_else(|| ApiError::not_found("INVITATION_NOT_FOUND", "invitation"))
}

/// The invitations sent to `user`'s email that still wait for an answer.
pub async fn pending_for(app: &App, user: &User) -> Result<Vec<InvitationView>, ApiError> {
    let now = Utc::now();
    let mut conn = app.store.conn().await?;
    let rows =
        store::invitations::pending_for_email(&mut conn, &user.email, &domain::time::format(now))
            .await?;
    views(rows, now)
}

/// GET /api/v1/invitations — my pending invitations (sent to my account's email), with
/// each farm's and inviter's name.
pub async fn mine(
    State(app): State<App>,
    AuthUser(auth): AuthUser,
) -> ApiResult<Vec<InvitationView>> {
    Ok(Envelope::all(pending_for(&app, &auth.user).await?))
}

/// Which invitation an invitee answers.
#[derive(Debug, Clone, Copy)]
pub enum Which<'a> {
    /// The one whose mailed link carries this token.
    Token(&'a str),
    /// One of their list.
    Id(&'a InvitationId),
}

/// The invitee's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Join the farm.
    Accept,
    /// Say no.
    Decline,
}

/// The one way an invitation is answered (the API by link or by id, and the web pages):
/// only by the account it was sent to, only while pending. Accepting adds the member with
/// the invited role; the farm's audit log records the answer, in the same transaction.
pub async fn answer(
    app: &App,
    user: &User,
    client: &ClientInfo,
    which: Which<'_>,
    answer: Answer,
) -> Result<InvitationView, ApiError> {
    let now = Utc::now();
    let now_text = domain::time::format(now);
    let mut tx = app.store.begin().await?;
    let invitation = match which {
        Which::Token(token) => sent_to(
            store::invitations::find_by_token(&mut tx, &token_hash(token.trim())).await?,
            user,
        )?,
        Which::Id(id) => store::invitations::get_for_email(&mut tx, &user.email, id)
            .await
            .or_not_found("INVITATION_NOT_FOUND", "invitation")?,
    };
    invitation.state(now)?.check_answerable()?;
    let id = invitation.invitation_id();
    let tenant = invitation.tenant();
    let role = invitation.role()?;
    let change = match answer {
        Answer::Accept => {
            let inviter = invitation
                .invited_by
                .clone()
                .map(domain::UserId::from_stored);
            let membership = store::members::add(
                &mut tx,
                &tenant,
                &user.user_id(),
                role,
                Some(store::members::Invited {
                    by: inviter.as_ref(),
                    at: &invitation.updated_at,
                }),
                &now_text,
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict { .. } => ApiError::Conflict {
                    code: "ALREADY_A_MEMBER",
                    field: None,
                    message: "you are a member of this farm already".into(),
                },
                other => other.into(),
            })?;
            store::invitations::mark_answered(
                &mut tx,
                &id,
                &user.user_id(),
                store::invitations::Answer::Accepted,
                &now_text,
            )
            .await
            .map_err(answered_meanwhile)?;
            (
                "member.joined",
                "tenant_members",
                membership,
                json!({ "user_id": user.id, "email": user.email, "role": role, "invitation_id": id }),
            )
        }
        Answer::Decline => {
            store::invitations::mark_answered(
                &mut tx,
                &id,
                &user.user_id(),
                store::invitations::Answer::Declined,
                &now_text,
            )
            .await
            .map_err(answered_meanwhile)?;
            (
                "invitation.declined",
                "tenant_invitations",
                id.to_string(),
                json!({ "status": "declined" }),
            )
        }
    };
    let (action, table, record, new) = change;
    crate::audit::record(
        &mut tx,
        &tenant,
        &user.user_id(),
        client,
        Change {
            action,
            table,
            record: &record,
            old: None,
            new: Some(new),
        },
        &now_text,
    )
    .await?;
    let answered = store::invitations::get(&mut tx, &tenant, &id).await?;
    tx.commit().await?;
    if answer == Answer::Accept {
        app.auth_cache.forget_role(&tenant, &user.user_id());
    }
    tracing::info!(tenant_id = %tenant, invitation_id = %id, user_id = %user.id, ?answer, "invitation answered");
    InvitationView::new(answered, now)
}

/// A pending invitation that stopped being pending between reading and writing it (a
/// PostgreSQL race: answered twice at once, or revoked meanwhile).
fn answered_meanwhile(err: StoreError) -> ApiError {
    match err {
        StoreError::NotFound => ApiError::Conflict {
            code: "INVITATION_ANSWERED",
            field: None,
            message: "this invitation was answered or withdrawn meanwhile; reload to see it".into(),
        },
        other => other.into(),
    }
}

/// The invitation found by a link, if it was sent to `user`: a link is only for the
/// account with the invited email (whoever else holds it gets a 403 that says so).
fn sent_to(found: Option<Invitation>, user: &User) -> Result<Invitation, ApiError> {
    let found = found.ok_or_else(|| ApiError::not_found("INVITATION_NOT_FOUND", "invitation"))?;
    if found.email != user.email {
        return Err(ApiError::forbidden(
            "INVITATION_FOR_ANOTHER_ACCOUNT",
            "this invitation was sent to another email address; sign in with that address to answer it",
        ));
    }
    Ok(found)
}

/// The invitation of a mailed link, in any state, for the account it was sent to (the
/// page the link opens shows it before the invitee answers).
pub async fn by_link(app: &App, user: &User, token: &str) -> Result<InvitationView, ApiError> {
    let mut conn = app.store.conn().await?;
    let found = store::invitations::find_by_token(&mut conn, &token_hash(token.trim())).await?;
    InvitationView::new(sent_to(found, user)?, Utc::now())
}

/// Body of accepting by link.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokenBody {
    token: String,
}

/// POST /api/v1/invitations/accept — accepts the invitation of a mailed link, signed in
/// as the account it was sent to.
pub async fn accept_by_token(
    State(app): State<App>,
    AuthUser(auth): AuthUser,
    client: ClientInfo,
    ApiJson(body): ApiJson<TokenBody>,
) -> ApiResult<InvitationView> {
    if body.token.trim().is_empty() {
        return Err(ApiError::field("token", "token is required"));
    }
    let accepted = answer(
        &app,
        &auth.user,
        &client,
        Which::Token(&body.token),
        Answer::Accept,
    )
    .await?;
    Ok(Envelope::ok(accepted))
}

/// POST /api/v1/invitations/{invitation_id}/accept — accepts one of my invitations.
pub async fn accept(
    State(app): State<App>,
    AuthUser(auth): AuthUser,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<InvitationView> {
    let id = parse_id(&id)?;
    let accepted = answer(&app, &auth.user, &client, Which::Id(&id), Answer::Accept).await?;
    Ok(Envelope::ok(accepted))
}

/// POST /api/v1/invitations/{invitation_id}/decline — declines one of my invitations.
pub async fn decline(
    State(app): State<App>,
    AuthUser(auth): AuthUser,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<InvitationView> {
    let id = parse_id(&id)?;
    let declined = answer(&app, &auth.user, &client, Which::Id(&id), Answer::Decline).await?;
    Ok(Envelope::ok(declined))
}

/// The area's API routes, with who may call each (merged into the one table in `app`).
pub fn routes() -> crate::api::Routes {
    use crate::api::Access::*;
    use axum::http::Method as M;
    use domain::Role;
    use serde_json::json;
    crate::api::Routes::new()
        .add(
            M::POST,
            "/api/v1/tenants/{tenant_id}/members",
            FarmPath(Role::Admin),
            "Invite someone by email (a pending invitation, mailed; they join by accepting)",
            invite,
        )
        .example(json!({"email": "bob@example.com", "role": "operator"}))
        .add(
            M::GET,
            "/api/v1/tenants/{tenant_id}/invitations",
            FarmPath(Role::Admin),
            "The farm's pending invitations",
            list_for_farm,
        )
        .add(
            M::DELETE,
            "/api/v1/tenants/{tenant_id}/invitations/{invitation_id}",
            FarmPath(Role::Admin),
            "Revoke a pending invitation",
            revoke,
        )
        .add(
            M::GET,
            "/api/v1/invitations",
            Signed,
            "My pending invitations (sent to my email)",
            mine,
        )
        .add(
            M::POST,
            "/api/v1/invitations/accept",
            Signed,
            "Accept the invitation of a mailed link (as the account it was sent to)",
            accept_by_token,
        )
        .example(json!({"token": "from-the-mail"}))
        .add(
            M::POST,
            "/api/v1/invitations/{invitation_id}/accept",
            Signed,
            "Accept one of my invitations: join the farm",
            accept,
        )
        .example(json!({}))
        .add(
            M::POST,
            "/api/v1/invitations/{invitation_id}/decline",
            Signed,
            "Decline one of my invitations",
            decline,
        )
        .example(json!({}))
}
