//! The page a mailed invitation link opens: which farm, which role, who invited, with
//! Accept and Decline. Plain forms that call the API's own `invitations::answer`, so the
//! rules (only the invited account, only while pending) are the API's.

use super::{PageError, PageUser, PlainLayout, farm_cookie, html, see_other, words_of};
use crate::app::App;
use crate::error::ApiError;
use crate::extract::ClientInfo;
use crate::invitations::{self, Answer, InvitationView, Which};
use askama::Template;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use domain::invitation::State as InvitationState;
use serde::Deserialize;

/// This area's routes (merged into the dashboard's router).
pub fn routes() -> Router<App> {
    Router::new().route("/invitations/accept", get(page).post(answer))
}

/// The invitation page.
#[derive(Template)]
#[template(path = "invitation.html")]
struct InvitationPage {
    layout: PlainLayout,
    /// The invitation, when the link is the signed-in account's.
    invitation: Option<InvitationView>,
    /// Why it can't be answered (or was just declined), in words.
    message: Option<String>,
    /// The link's token, sent back with the answer.
    token: String,
}

impl InvitationPage {
    /// Whether Accept and Decline are offered.
    fn answerable(&self) -> bool {
        self.invitation
            .as_ref()
            .is_some_and(|i| i.status == InvitationState::Pending)
    }
}

/// The page for an invitation that can't be shown or answered.
fn refused(err: &ApiError, token: String) -> Response {
    html(
        err.status(),
        &InvitationPage {
            layout: PlainLayout::new("Invitation"),
            invitation: None,
            message: Some(words_of(err)),
            token,
        },
    )
}

/// `?token=` of the mailed link.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokenQuery {
    token: String,
}

/// GET /invitations/accept?token=… — where the mailed link lands (after signing in).
pub async fn page(
    State(app): State<App>,
    user: PageUser,
    Query(query): Query<TokenQuery>,
) -> Result<Response, PageError> {
    let token = query.token.trim().to_string();
    let found = invitations::by_link(&app, &user.caller.user, &token).await;
    Ok(match found {
        Ok(invitation) => {
            let message = invitation
                .status
                .check_answerable()
                .err()
                .map(|e| words_of(&e.into()));
            html(
                StatusCode::OK,
                &InvitationPage {
                    layout: PlainLayout::new(format!("Join {}", invitation.tenant_name)),
                    invitation: Some(invitation),
                    message,
                    token,
                },
            )
        }
        Err(err) => refused(&err, token),
    })
}

/// The invitation form as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AnswerForm {
    token: String,
    answer: String,
}

/// POST /invitations/accept — accepts (then opens the farm) or declines.
pub async fn answer(
    State(app): State<App>,
    user: PageUser,
    client: ClientInfo,
    Form(form): Form<AnswerForm>,
) -> Result<Response, PageError> {
    let choice = if form.answer == "decline" {
        Answer::Decline
    } else {
        Answer::Accept
    };
    let answered = invitations::answer(
        &app,
        &user.caller.user,
        &client,
        Which::Token(&form.token),
        choice,
    )
    .await;
    Ok(match (answered, choice) {
        (Ok(invitation), Answer::Accept) => {
            let mut response = see_other("/");
            response.headers_mut().append(
                header::SET_COOKIE,
                farm_cookie(&app, Some(&invitation.tenant_id)),
            );
            response
        }
        (Ok(invitation), Answer::Decline) => html(
            StatusCode::OK,
            &InvitationPage {
                layout: PlainLayout::new("Invitation declined"),
                message: Some(format!(
                    "You declined to join {}. Its admins can invite you again.",
                    invitation.tenant_name
                )),
                invitation: None,
                token: String::new(),
            },
        ),
        (Err(err), _) => refused(&err, form.token),
    })
}
