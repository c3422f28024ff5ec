//! The team pages: members (invite, roles, remove), invitations (the farm's, for its
//! admins to revoke; the user's own, to accept or decline), personal API tokens, and the
//! password reset pages for visitors.
//!
//! Member and token changes are forms and buttons that call the JSON API (`live.js`), so
//! its rules (`domain::membership`) and its refusals in words apply; the page only leaves
//! out the controls a member may never use. The password reset pages are plain forms
//! that call the API's own `forget_password` and `reset_password`.

use super::accounts::{Field, FormErrors};
use super::{FarmPage, PageError, PageUser, PlainLayout, Section, html};
use crate::app::App;
use crate::auth::routes::{ForgetBody, ResetBody, forget_password, reset_password};
use crate::error::ApiError;
use crate::extract::{ApiJson, ClientInfo};
use crate::invitations::{self, InvitationView};
use askama::Template;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Utc};
use domain::invitation::State as InvitationState;
use domain::membership;
use domain::{Role, TenantId};
use serde::Deserialize;
use store::api_tokens::ApiToken;
use store::members::Member as MemberRow;

/// This area's routes (merged into the dashboard's router).
pub fn routes() -> Router<App> {
    Router::new()
        .route("/team", get(page))
        .route("/team/members", get(members_fragment))
        .route("/team/tokens", get(tokens_fragment))
        .route("/team/invitations", get(farm_invitations_fragment))
        .route("/team/invitations/mine", get(my_invitations_fragment))
        .route("/forgot-password", get(forgot_page).post(forgot_password))
        .route("/reset-password", get(reset_page).post(set_password))
}

/// A role as a choice of a select.
pub struct RoleChoice {
    /// `viewer`, `operator` …
    pub value: &'static str,
    /// "Viewer: sees the farm".
    pub label: &'static str,
    /// Whether it is the one held.
    pub selected: bool,
}

/// What each role may do, in a few words.
pub fn role_words(role: Role) -> &'static str {
    match role {
        Role::Viewer => "Viewer: sees the farm, changes nothing",
        Role::Operator => "Operator: runs printers and jobs",
        Role::Admin => "Admin: also settings, hubs and members",
        Role::Owner => "Owner: everything, including owners",
    }
}

/// A role's name with a capital.
fn role_name(role: Role) -> &'static str {
    match role {
        Role::Viewer => "Viewer",
        Role::Operator => "Operator",
        Role::Admin => "Admin",
        Role::Owner => "Owner",
    }
}

/// A member as the team table shows them.
pub struct MemberView {
    /// Their user id (the API's path).
    pub user_id: String,
    /// Their name.
    pub name: String,
    /// Their email.
    pub email: String,
    /// Their role, for `data-role`.
    pub role: &'static str,
    /// Their role in words.
    pub role_name: &'static str,
    /// Whether this is the member looking.
    pub is_self: bool,
    /// Invited but not signed in since.
    pub pending: bool,
    /// The roles the looking member may give them (empty: no role control).
    pub choices: Vec<RoleChoice>,
    /// Whether the looking member may remove them (or leave, for themselves).
    pub removable: bool,
    /// The only owner: the API refuses to demote or remove them; said beside them.
    pub sole_owner: bool,
}

/// The members with the controls `actor` may use on each.
fn member_views(rows: &[MemberRow], actor: Role, me: &str) -> Vec<MemberView> {
    let owners = rows.iter().filter(|m| m.role == "owner").count();
    rows.iter()
        .filter_map(|row| {
            let role = row.role.parse::<Role>().ok()?;
            let is_self = row.user_id == me;
            // The owner count is left out of the checks on purpose: demoting or removing
            // the last owner is shown, and the API says in words why it refuses.
            let choices: Vec<RoleChoice> = Role::ALL
                .iter()
                .filter(|r| {
                    **r == role
                        || membership::check_role_change(actor, role, **r, usize::MAX).is_ok()
                })
                .map(|r| RoleChoice {
                    value: r.as_str(),
                    label: role_name(*r),
                    selected: *r == role,
                })
                .collect();
            let changeable = choices.len() > 1;
            Some(MemberView {
                user_id: row.user_id.clone(),
                name: row.full_name.clone(),
                email: row.email.clone(),
                role: role.as_str(),
                role_name: role_name(role),
                is_self,
                pending: row.accepted_at.is_none() && row.invited_at.is_some(),
                choices: if changeable { choices } else { Vec::new() },
                removable: membership::check_removal(actor, role, is_self, usize::MAX).is_ok(),
                sole_owner: role == Role::Owner && owners == 1,
            })
        })
        .collect()
}

/// A date and time as the tables show it: "2026-01-02 14:03 UTC".
fn day_time(text: &str) -> String {
    domain::time::parse(text)
        .map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| text.to_string())
}

/// A personal API token as the list shows it (never the token or its hash).
pub struct TokenView {
    /// Its id (the API's path).
    pub id: String,
    /// The name its owner gave it.
    pub name: String,
    /// Its first characters, to recognise it.
    pub prefix: String,
    /// When it was made.
    pub created: String,
    /// When it was last used.
    pub last_used: Option<String>,
    /// When it stops working.
    pub expires: Option<String>,
    /// `idle` (works, green) or `offline` (grey), for the badge.
    pub state: &'static str,
    /// "Active", "Expired" or "Revoked".
    pub state_label: &'static str,
    /// Whether it can still be revoked.
    pub active: bool,
}

impl TokenView {
    fn new(token: &ApiToken, now: DateTime<Utc>) -> TokenView {
        let expired = token
            .expires_at
            .as_deref()
            .and_then(domain::time::parse)
            .is_some_and(|at| at <= now);
        let (state_label, active) = match (&token.revoked_at, expired) {
            (Some(_), _) => ("Revoked", false),
            (None, true) => ("Expired", false),
            (None, false) => ("Active", true),
        };
        TokenView {
            id: token.id.clone(),
            name: token.name.clone(),
            prefix: token.token_prefix.clone(),
            created: day_time(&token.created_at),
            last_used: token.last_used_at.as_deref().map(day_time),
            expires: token.expires_at.as_deref().map(day_time),
            state: if active { "idle" } else { "offline" },
            state_label,
            active,
        }
    }
}

/// An invitation as the team page shows it.
pub struct InvitationRow {
    /// Its id (the API's path).
    pub id: String,
    /// The invited address.
    pub email: String,
    /// The farm's name.
    pub farm_name: String,
    /// The role on accepting, in words.
    pub role_name: &'static str,
    /// Who invited.
    pub invited_by: String,
    /// Until when it works.
    pub expires: String,
    /// Past its expiry: only revoking (or inviting again) is left.
    pub expired: bool,
}

impl InvitationRow {
    fn new(view: InvitationView) -> InvitationRow {
        InvitationRow {
            expires: day_time(&view.expires_at),
            expired: view.status == InvitationState::Expired,
            role_name: view.role.parse::<Role>().map(role_name).unwrap_or("Member"),
            invited_by: view
                .invited_by_name
                .unwrap_or_else(|| "An admin".to_string()),
            id: view.id,
            email: view.email,
            farm_name: view.tenant_name,
        }
    }
}

/// The farm's pending invitations, for an admin (nobody else sees them).
async fn load_farm_invitations(
    app: &App,
    member: &FarmPage,
) -> Result<Vec<InvitationRow>, PageError> {
    if !member.role.at_least(Role::Admin) {
        return Ok(Vec::new());
    }
    let views = invitations::pending_in(app, &member.tenant).await?;
    Ok(views.into_iter().map(InvitationRow::new).collect())
}

/// The invitations waiting for the user's own answer.
async fn load_my_invitations(
    app: &App,
    user: &store::users::User,
) -> Result<Vec<InvitationRow>, PageError> {
    let views = invitations::pending_for(app, user).await?;
    Ok(views.into_iter().map(InvitationRow::new).collect())
}

/// What the members table needs.
async fn load_members(app: &App, tenant: &TenantId) -> Result<Vec<MemberRow>, PageError> {
    let mut conn = app.store.conn().await?;
    Ok(store::members::list(&mut conn, tenant).await?)
}

/// The user's tokens.
async fn load_tokens(app: &App, user: &domain::UserId) -> Result<Vec<TokenView>, PageError> {
    let tokens = {
        let mut conn = app.store.conn().await?;
        store::api_tokens::list(&mut conn, user).await?
    };
    let now = Utc::now();
    Ok(tokens.iter().map(|t| TokenView::new(t, now)).collect())
}

/// The roles `actor` may invite someone as.
fn invite_choices(actor: Role) -> Vec<RoleChoice> {
    Role::ALL
        .iter()
        .filter(|r| membership::check_invite(actor, **r).is_ok())
        .map(|r| RoleChoice {
            value: r.as_str(),
            label: role_words(*r),
            selected: *r == Role::Operator,
        })
        .collect()
}

/// The team page.
#[derive(Template)]
#[template(path = "team.html", whitespace = "minimize")]
struct TeamPage {
    layout: super::Layout,
    farm_id: String,
    admin: bool,
    members: Vec<MemberView>,
    invite_roles: Vec<RoleChoice>,
    pending: Vec<InvitationRow>,
    mine: Vec<InvitationRow>,
    tokens: Vec<TokenView>,
}

/// GET /team — the farm's members and roles, and the signed-in user's API tokens.
pub async fn page(State(app): State<App>, member: FarmPage) -> Result<Response, PageError> {
    let rows = load_members(&app, &member.tenant).await?;
    let tokens = load_tokens(&app, &member.user.user_id()).await?;
    let pending = load_farm_invitations(&app, &member).await?;
    let mine = load_my_invitations(&app, &member.user).await?;
    let layout = member.layout(Section::Team, "Team");
    Ok(html(
        StatusCode::OK,
        &TeamPage {
            farm_id: member.tenant.to_string(),
            admin: member.role.at_least(Role::Admin),
            members: member_views(&rows, member.role, &member.user.id),
            invite_roles: invite_choices(member.role),
            pending,
            mine,
            tokens,
            layout,
        },
    ))
}

/// The members table alone.
#[derive(Template)]
#[template(path = "team_members.html", whitespace = "minimize")]
struct MembersFragment {
    farm_id: String,
    members: Vec<MemberView>,
}

/// GET /team/members — the members table, for the script after a change.
pub async fn members_fragment(
    State(app): State<App>,
    member: FarmPage,
) -> Result<Response, PageError> {
    let rows = load_members(&app, &member.tenant).await?;
    Ok(html(
        StatusCode::OK,
        &MembersFragment {
            farm_id: member.tenant.to_string(),
            members: member_views(&rows, member.role, &member.user.id),
        },
    ))
}

/// The farm's pending invitations alone.
#[derive(Template)]
#[template(path = "team_invitations.html", whitespace = "minimize")]
struct FarmInvitationsFragment {
    farm_id: String,
    pending: Vec<InvitationRow>,
}

/// GET /team/invitations — the farm's pending invitations (admins), for the script after
/// an invitation is sent or revoked.
pub async fn farm_invitations_fragment(
    State(app): State<App>,
    member: FarmPage,
) -> Result<Response, PageError> {
    let pending = load_farm_invitations(&app, &member).await?;
    Ok(html(
        StatusCode::OK,
        &FarmInvitationsFragment {
            farm_id: member.tenant.to_string(),
            pending,
        },
    ))
}

/// The user's own invitations alone.
#[derive(Template)]
#[template(path = "team_my_invitations.html", whitespace = "minimize")]
struct MyInvitationsFragment {
    mine: Vec<InvitationRow>,
}

/// GET /team/invitations/mine — the invitations waiting for the user's answer, for the
/// script after one is declined.
pub async fn my_invitations_fragment(
    State(app): State<App>,
    user: PageUser,
) -> Result<Response, PageError> {
    let mine = load_my_invitations(&app, &user.caller.user).await?;
    Ok(html(StatusCode::OK, &MyInvitationsFragment { mine }))
}

/// The tokens table alone.
#[derive(Template)]
#[template(path = "team_tokens.html", whitespace = "minimize")]
struct TokensFragment {
    tokens: Vec<TokenView>,
}

/// GET /team/tokens — the user's tokens, for the script after one is made or revoked.
pub async fn tokens_fragment(
    State(app): State<App>,
    user: PageUser,
) -> Result<Response, PageError> {
    let tokens = load_tokens(&app, &user.caller.user.user_id()).await?;
    Ok(html(StatusCode::OK, &TokensFragment { tokens }))
}

/// A field of the password pages.
fn field(
    name: &'static str,
    api_name: &'static str,
    label: &'static str,
    kind: &'static str,
    autocomplete: &'static str,
) -> Field {
    Field {
        name,
        api_name,
        label,
        kind,
        value: String::new(),
        autocomplete,
        hint: None,
        error: None,
        required: true,
    }
}

/// Puts each problem on its field.
fn mark(fields: &mut [Field], errors: &FormErrors) {
    for field in fields {
        field.error = errors.get(field.name);
    }
}

/// The forgot-password page, before and after sending.
#[derive(Template)]
#[template(path = "password_forgot.html")]
struct ForgotPage {
    layout: PlainLayout,
    fields: Vec<Field>,
    errors: FormErrors,
    /// After sending: the same words whether or not the account exists.
    sent: Option<String>,
}

fn forgot_fields(email: &str) -> Vec<Field> {
    vec![Field {
        value: email.to_string(),
        ..field("email", "email", "Email", "email", "email")
    }]
}

/// GET /forgot-password — asks for the account's email.
pub async fn forgot_page() -> Response {
    html(
        StatusCode::OK,
        &ForgotPage {
            layout: PlainLayout::new("Forgot your password?"),
            fields: forgot_fields(""),
            errors: FormErrors::default(),
            sent: None,
        },
    )
}

/// The forgot-password form as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ForgotForm {
    email: String,
}

/// POST /forgot-password — mails a reset link through the API's own `forget_password`
/// (same limits, same mail); answers the same whether or not the account exists.
pub async fn forgot_password(
    State(app): State<App>,
    client: ClientInfo,
    Form(form): Form<ForgotForm>,
) -> Response {
    let asked = async {
        let body: ForgetBody = serde_json::from_value(serde_json::json!({ "email": form.email }))
            .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
        forget_password(State(app), client, ApiJson(body)).await
    }
    .await;
    match asked {
        Ok(_) => html(
            StatusCode::OK,
            &ForgotPage {
                layout: PlainLayout::new("Check your mail"),
                fields: forgot_fields(""),
                errors: FormErrors::default(),
                sent: Some(format!(
                    "If an account exists for {}, we have sent it a link to choose a new password. The link works once, for an hour. Nothing arrived? Check the spam folder, or ask again.",
                    form.email.trim()
                )),
            },
        ),
        Err(err) => {
            let mut fields = forgot_fields(&form.email);
            let errors = FormErrors::from_api(&err, &fields);
            mark(&mut fields, &errors);
            html(
                err.status(),
                &ForgotPage {
                    layout: PlainLayout::new("Forgot your password?"),
                    fields,
                    errors,
                    sent: None,
                },
            )
        }
    }
}

/// The reset-password page.
#[derive(Template)]
#[template(path = "password_reset.html")]
struct ResetPage {
    layout: PlainLayout,
    fields: Vec<Field>,
    errors: FormErrors,
    /// The link's token (empty: the link was cut short).
    token: String,
    /// The password was changed.
    done: bool,
}

impl ResetPage {
    /// The link itself was refused (used, expired, cut): offer a new one.
    fn ask_again(&self) -> bool {
        self.errors.all().iter().any(|p| p.field.is_none())
    }
}

fn reset_fields() -> Vec<Field> {
    vec![
        Field {
            hint: Some("At least 8 characters. A few words you remember are best."),
            ..field(
                "password",
                "newPassword",
                "New password",
                "password",
                "new-password",
            )
        },
        field(
            "confirm",
            "confirm",
            "New password again",
            "password",
            "new-password",
        ),
    ]
}

/// `?token=` of the reset link.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokenQuery {
    token: String,
}

/// GET /reset-password?token=… — where the mailed link lands: the new password, twice.
pub async fn reset_page(Query(query): Query<TokenQuery>) -> Response {
    html(
        StatusCode::OK,
        &ResetPage {
            layout: PlainLayout::new("Choose a new password"),
            fields: reset_fields(),
            errors: FormErrors::default(),
            token: query.token.trim().to_string(),
            done: false,
        },
    )
}

/// The reset form as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ResetForm {
    token: String,
    password: String,
    confirm: String,
}

/// POST /reset-password — sets the new password through the API's `reset_password`
/// (the link works once; every session of the account ends), then offers to sign in.
pub async fn set_password(
    State(app): State<App>,
    client: ClientInfo,
    Form(form): Form<ResetForm>,
) -> Response {
    let refused = |status: StatusCode, errors: FormErrors, token: String| {
        let mut fields = reset_fields();
        mark(&mut fields, &errors);
        html(
            status,
            &ResetPage {
                layout: PlainLayout::new("Choose a new password"),
                fields,
                errors,
                token,
                done: false,
            },
        )
    };
    if form.password != form.confirm {
        let err = ApiError::field(
            "confirm",
            "the two passwords are not the same; type the new password twice",
        );
        let errors = FormErrors::from_api(&err, &reset_fields());
        return refused(StatusCode::BAD_REQUEST, errors, form.token);
    }
    let changed = async {
        let body: ResetBody = serde_json::from_value(
            serde_json::json!({ "token": form.token, "newPassword": form.password }),
        )
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
        reset_password(State(app), client, ApiJson(body)).await
    }
    .await;
    match changed {
        Ok(_) => html(
            StatusCode::OK,
            &ResetPage {
                layout: PlainLayout::new("Password changed"),
                fields: Vec::new(),
                errors: FormErrors::default(),
                token: String::new(),
                done: true,
            },
        ),
        Err(err) => {
            let fields = reset_fields();
            let errors = FormErrors::from_api(&err, &fields);
            refused(err.status(), errors, form.token)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(user: &str, role: &str) -> MemberRow {
        MemberRow {
            id: format!("m-{user}"),
            tenant_id: "t".into(),
            user_id: user.into(),
            role: role.into(),
            email: format!("{user}@example.com"),
            full_name: user.into(),
            invited_by: None,
            invited_at: None,
            accepted_at: None,
            is_active: 1,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    #[test]
    fn an_admin_manages_operators_and_viewers_but_not_owners() {
        let rows = [row("ada", "owner"), row("bo", "admin"), row("cy", "viewer")];
        let views = member_views(&rows, Role::Admin, "bo");
        let ada = &views[0];
        assert!(ada.choices.is_empty() && !ada.removable && ada.sole_owner);
        let bo = &views[1];
        assert!(bo.removable, "anyone may leave");
        let cy = &views[2];
        let offered: Vec<&str> = cy.choices.iter().map(|c| c.value).collect();
        assert_eq!(offered, vec!["viewer", "operator", "admin"]);
        assert!(cy.choices[0].selected);
        assert!(cy.removable);
    }

    #[test]
    fn the_sole_owner_still_gets_the_controls_and_the_api_explains_the_refusal() {
        let views = member_views(&[row("ada", "owner")], Role::Owner, "ada");
        assert_eq!(views[0].choices.len(), 4);
        assert!(views[0].removable && views[0].sole_owner);
    }

    #[test]
    fn a_viewer_gets_no_controls_but_may_leave() {
        let rows = [row("ada", "owner"), row("vi", "viewer")];
        let views = member_views(&rows, Role::Viewer, "vi");
        assert!(views.iter().all(|v| v.choices.is_empty()));
        assert!(!views[0].removable);
        assert!(views[1].removable);
        assert!(invite_choices(Role::Viewer).is_empty());
        let offered: Vec<&str> = invite_choices(Role::Admin)
            .iter()
            .map(|c| c.value)
            .collect();
        assert_eq!(offered, vec!["viewer", "operator", "admin"]);
    }

    #[test]
    fn tokens_read_active_expired_or_revoked() {
        let now = domain::time::parse("2026-01-02T03:00:00.000Z").expect("a time");
        let token = |expires: Option<&str>, revoked: Option<&str>| ApiToken {
            id: "t1".into(),
            name: "CI".into(),
            token_prefix: "pfat_abc123".into(),
            last_used_at: None,
            expires_at: expires.map(str::to_string),
            revoked_at: revoked.map(str::to_string),
            created_at: "2026-01-01T10:30:00.000Z".into(),
        };
        let active = TokenView::new(&token(Some("2026-02-01T00:00:00.000Z"), None), now);
        assert_eq!((active.state_label, active.active), ("Active", true));
        assert_eq!(active.created, "2026-01-01 10:30 UTC");
        let expired = TokenView::new(&token(Some("2026-01-01T00:00:00.000Z"), None), now);
        assert_eq!(expired.state_label, "Expired");
        let revoked = TokenView::new(&token(None, Some("2026-01-01T12:00:00.000Z")), now);
        assert_eq!((revoked.state_label, revoked.state), ("Revoked", "offline"));
    }
}
