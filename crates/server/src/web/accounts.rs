//! Account pages: sign-in, sign-up (an account with its first farm), sign-out, the farm
//! switcher and a new farm. The forms call the same account code as the JSON API
//! (`auth::routes::{register_account, sign_in_with_password, end_session}`) and, when it
//! refuses, show its words next to the field concerned.

use super::{PageError, PageUser, PlainLayout, farm_cookie, html, local_path, see_other, words_of};
use crate::app::App;
use crate::auth::Authenticated;
use crate::auth::routes::{SignUpBody, end_session, register_account, sign_in_with_password};
use crate::auth::session::{cleared_cookie, session_cookie};
use crate::error::ApiError;
use crate::extract::ClientInfo;
use askama::Template;
use axum::Extension;
use axum::extract::{Form, Query, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use domain::validation::FarmName;
use serde::Deserialize;

/// A problem with a form: about one field (by its name) or the whole form.
pub struct Problem {
    /// The field's name, if the problem is one field's.
    pub field: Option<&'static str>,
    /// What is wrong, in words.
    pub message: String,
}

/// Everything wrong with a submitted form.
#[derive(Default)]
pub struct FormErrors(Vec<Problem>);

impl FormErrors {
    /// No problem.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Every problem, in the order found.
    pub fn all(&self) -> &[Problem] {
        &self.0
    }

    /// The problem with one field.
    pub fn get(&self, field: &str) -> Option<String> {
        self.0
            .iter()
            .find(|p| p.field == Some(field))
            .map(|p| p.message.clone())
    }

    /// The problems of an API error, each put on the form field `fields` maps its API
    /// field to (`company_name` → `farm_name`); labels replace API names in the words.
    pub fn from_api(err: &ApiError, fields: &[Field]) -> FormErrors {
        let place = |api_field: &str| fields.iter().find(|f| f.api_name == api_field);
        let problems = match err {
            ApiError::Validation(invalid) => invalid
                .0
                .iter()
                .map(|e| match place(&e.field) {
                    Some(f) => Problem {
                        field: Some(f.name),
                        message: sentence(&e.message, f.api_name, f.label),
                    },
                    None => Problem {
                        field: None,
                        message: sentence(&e.message, "", ""),
                    },
                })
                .collect(),
            ApiError::Conflict {
                field: Some(api_field),
                message,
                ..
            } => vec![Problem {
                field: place(api_field).map(|f| f.name),
                message: sentence(message, "", ""),
            }],
            other => vec![Problem {
                field: None,
                message: sentence(&words_of(other), "", ""),
            }],
        };
        FormErrors(problems)
    }
}

/// A message as a sentence: the API's field name replaced by the form's label, the first
/// letter upper-case, a full stop at the end.
fn sentence(message: &str, api_name: &str, label: &str) -> String {
    let named = match message.strip_prefix(api_name) {
        Some(rest) if !api_name.is_empty() => format!("{label}{rest}"),
        _ => message.to_string(),
    };
    let mut chars = named.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// One input of a form, as `_field.html` draws it.
pub struct Field {
    /// Its `name` and `id`.
    pub name: &'static str,
    /// The field the API names in its errors.
    pub api_name: &'static str,
    /// Its label.
    pub label: &'static str,
    /// The input type.
    pub kind: &'static str,
    /// The value shown again after an error (never a password).
    pub value: String,
    /// The browser's autofill hint.
    pub autocomplete: &'static str,
    /// Help below the label.
    pub hint: Option<&'static str>,
    /// What is wrong with it.
    pub error: Option<String>,
    /// Whether it must be filled in.
    pub required: bool,
}

impl Field {
    fn new(name: &'static str, label: &'static str, kind: &'static str) -> Field {
        Field {
            name,
            api_name: name,
            label,
            kind,
            value: String::new(),
            autocomplete: "off",
            hint: None,
            error: None,
            required: true,
        }
    }

    /// The ids of the hint and the error, for `aria-describedby`.
    pub fn described_by(&self) -> Option<String> {
        let mut ids = Vec::new();
        if self.hint.is_some() {
            ids.push(format!("{}-hint", self.name));
        }
        if self.error.is_some() {
            ids.push(format!("{}-error", self.name));
        }
        (!ids.is_empty()).then(|| ids.join(" "))
    }
}

/// Puts each problem on its field.
fn mark(fields: &mut [Field], errors: &FormErrors) {
    for field in fields {
        field.error = errors.get(field.name);
    }
}

/// The sign-in page.
#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    layout: PlainLayout,
    fields: Vec<Field>,
    errors: FormErrors,
    next: String,
    /// The demo account, offered with one click when the server runs the demo.
    demo: Option<crate::settings::DemoSignIn>,
}

fn sign_in_fields(email: &str) -> Vec<Field> {
    vec![
        Field {
            value: email.to_string(),
            autocomplete: "email",
            ..Field::new("email", "Email", "email")
        },
        Field {
            autocomplete: "current-password",
            ..Field::new("password", "Password", "password")
        },
    ]
}

/// `?next=` of the sign-in page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct NextQuery {
    next: Option<String>,
}

/// GET /sign-in — the sign-in form (a signed-in visitor goes on to `next`).
pub async fn sign_in_page(
    State(app): State<App>,
    caller: Option<Extension<Authenticated>>,
    Query(query): Query<NextQuery>,
) -> Response {
    let next = local_path(query.next.as_deref());
    if caller.is_some() {
        return see_other(&next);
    }
    html(
        StatusCode::OK,
        &SignInPage {
            layout: PlainLayout::new("Sign in"),
            fields: sign_in_fields(""),
            errors: FormErrors::default(),
            next,
            demo: app.settings.demo_sign_in.clone(),
        },
    )
}

/// The sign-in form as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignInForm {
    email: String,
    password: String,
    next: String,
}

/// POST /sign-in — checks the password like the API does, then goes on to `next`.
pub async fn sign_in(
    State(app): State<App>,
    client: ClientInfo,
    caller: Option<Extension<Authenticated>>,
    Form(form): Form<SignInForm>,
) -> Response {
    let next = local_path(Some(&form.next));
    let replacing = caller.as_ref().map(|Extension(a)| a);
    match sign_in_with_password(&app, &client, &form.email, &form.password, replacing).await {
        Ok((_, token)) => {
            let mut response = see_other(&next);
            response
                .headers_mut()
                .append(header::SET_COOKIE, session_cookie(&app, &token));
            response
        }
        Err(err) => {
            let mut fields = sign_in_fields(&form.email);
            let errors = FormErrors::from_api(&err, &fields);
            mark(&mut fields, &errors);
            html(
                err.status(),
                &SignInPage {
                    layout: PlainLayout::new("Sign in"),
                    fields,
                    errors,
                    next,
                    demo: app.settings.demo_sign_in.clone(),
                },
            )
        }
    }
}

/// The sign-up page.
#[derive(Template)]
#[template(path = "sign_up.html")]
struct SignUpPage {
    layout: PlainLayout,
    fields: Vec<Field>,
    errors: FormErrors,
}

fn sign_up_fields(form: &SignUpForm) -> Vec<Field> {
    vec![
        Field {
            value: form.name.clone(),
            autocomplete: "name",
            ..Field::new("name", "Your name", "text")
        },
        Field {
            value: form.email.clone(),
            autocomplete: "email",
            ..Field::new("email", "Email", "email")
        },
        Field {
            autocomplete: "new-password",
            hint: Some("At least 8 characters. A few words you remember are best."),
            ..Field::new("password", "Password", "password")
        },
        Field {
            api_name: "company_name",
            value: form.farm_name.clone(),
            autocomplete: "organization",
            hint: Some("Leave it empty to call it after you, like “Ada's Farm”."),
            required: false,
            ..Field::new("farm_name", "Farm name", "text")
        },
    ]
}

/// GET /sign-up — the sign-up form.
pub async fn sign_up_page(caller: Option<Extension<Authenticated>>) -> Response {
    if caller.is_some() {
        return see_other("/");
    }
    html(
        StatusCode::OK,
        &SignUpPage {
            layout: PlainLayout::new("Create your account"),
            fields: sign_up_fields(&SignUpForm::default()),
            errors: FormErrors::default(),
        },
    )
}

/// The sign-up form as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignUpForm {
    name: String,
    email: String,
    password: String,
    farm_name: String,
}

/// POST /sign-up — an account and its first farm, like `POST /api/v1/auth/register`;
/// then the new farm's overview.
pub async fn sign_up(
    State(app): State<App>,
    client: ClientInfo,
    Form(form): Form<SignUpForm>,
) -> Response {
    let body = SignUpBody {
        email: form.email.clone(),
        password: form.password.clone(),
        name: Some(form.name.clone()),
        company_name: Some(form.farm_name.trim().to_string()).filter(|n| !n.is_empty()),
        subdomain: None,
    };
    match register_account(&app, &client, &body).await {
        Ok(registered) => {
            let mut response = see_other("/");
            let headers = response.headers_mut();
            headers.append(header::SET_COOKIE, session_cookie(&app, &registered.token));
            headers.append(
                header::SET_COOKIE,
                farm_cookie(&app, Some(&registered.tenant.id)),
            );
            response
        }
        Err(err) => {
            let mut fields = sign_up_fields(&form);
            let errors = FormErrors::from_api(&err, &fields);
            mark(&mut fields, &errors);
            html(
                err.status(),
                &SignUpPage {
                    layout: PlainLayout::new("Create your account"),
                    fields,
                    errors,
                },
            )
        }
    }
}

/// The sign-out page.
#[derive(Template)]
#[template(path = "sign_out.html")]
struct SignOutPage {
    layout: PlainLayout,
    name: String,
}

/// GET /sign-out — asks to confirm (signing out changes state, so it is a POST).
pub async fn sign_out_page(user: PageUser) -> Response {
    html(
        StatusCode::OK,
        &SignOutPage {
            layout: PlainLayout::new("Sign out"),
            name: user.caller.user.full_name,
        },
    )
}

/// POST /sign-out — ends the session, forgets the farm in use, back to the sign-in page.
pub async fn sign_out(
    State(app): State<App>,
    caller: Option<Extension<Authenticated>>,
) -> Result<Response, PageError> {
    end_session(&app, caller.as_ref().map(|Extension(c)| c)).await?;
    let mut response = see_other("/sign-in");
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, cleared_cookie(&app));
    headers.append(header::SET_COOKIE, farm_cookie(&app, None));
    Ok(response)
}

/// The farm switcher as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SwitchForm {
    farm: String,
    next: String,
}

/// POST /farm — uses another of the member's farms from now on (checked like the API's
/// farm guard), back to the page it was chosen on.
pub async fn switch_farm(
    State(app): State<App>,
    user: PageUser,
    Form(form): Form<SwitchForm>,
) -> Result<Response, PageError> {
    let tenant = domain::TenantId::parse(form.farm.trim()).ok_or(PageError::NotMember)?;
    crate::auth::member::role_in(&app, &tenant, &user.caller.user.user_id())
        .await?
        .ok_or(PageError::NotMember)?;
    let mut response = see_other(&local_path(Some(&form.next)));
    response
        .headers_mut()
        .append(header::SET_COOKIE, farm_cookie(&app, Some(tenant.as_str())));
    Ok(response)
}

/// The new-farm page.
#[derive(Template)]
#[template(path = "new_farm.html")]
struct NewFarmPage {
    layout: PlainLayout,
    fields: Vec<Field>,
    errors: FormErrors,
    /// The member has no farm yet.
    first: bool,
    email: String,
}

fn farm_fields(name: &str) -> Vec<Field> {
    vec![Field {
        api_name: "company_name",
        value: name.to_string(),
        autocomplete: "organization",
        ..Field::new("farm_name", "Farm name", "text")
    }]
}

/// Whether the user has a farm yet.
async fn has_farm(app: &App, user: &PageUser) -> Result<bool, PageError> {
    let mut conn = app.store.conn().await?;
    let farms = store::tenants::list_for_user(&mut conn, &user.caller.user.user_id()).await?;
    Ok(!farms.is_empty())
}

/// GET /farms/new — a form for a new farm (the first one, for an account without).
pub async fn new_farm_page(State(app): State<App>, user: PageUser) -> Result<Response, PageError> {
    let first = !has_farm(&app, &user).await?;
    Ok(html(
        StatusCode::OK,
        &NewFarmPage {
            layout: PlainLayout::new("New farm"),
            fields: farm_fields(""),
            errors: FormErrors::default(),
            first,
            email: user.caller.user.email,
        },
    ))
}

/// The new-farm form as posted.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FarmForm {
    farm_name: String,
}

/// POST /farms/new — creates a farm owned by the user (like `POST /api/v1/tenants`) and
/// shows it.
pub async fn create_farm(
    State(app): State<App>,
    user: PageUser,
    client: ClientInfo,
    Form(form): Form<FarmForm>,
) -> Result<Response, PageError> {
    let created = async {
        let name = FarmName::parse("company_name", &form.farm_name)?;
        let now = store::now_text();
        let mut tx = app.store.begin().await?;
        let tenant =
            crate::tenants::create_farm(&mut tx, &user.caller.user, &client, &name, None, &now)
                .await?;
        tx.commit().await?;
        tracing::info!(tenant_id = %tenant.id, user_id = %user.caller.user.id, "farm created from the dashboard");
        Ok::<_, ApiError>(tenant)
    }
    .await;
    match created {
        Ok(tenant) => {
            let mut response = see_other("/");
            response
                .headers_mut()
                .append(header::SET_COOKIE, farm_cookie(&app, Some(&tenant.id)));
            Ok(response)
        }
        Err(err) => {
            let first = !has_farm(&app, &user).await?;
            let mut fields = farm_fields(&form.farm_name);
            let errors = FormErrors::from_api(&err, &fields);
            mark(&mut fields, &errors);
            Ok(html(
                err.status(),
                &NewFarmPage {
                    layout: PlainLayout::new("New farm"),
                    fields,
                    errors,
                    first,
                    email: user.caller.user.email,
                },
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_words_become_sentences_with_the_forms_labels() {
        assert_eq!(
            sentence("company_name is required", "company_name", "Farm name"),
            "Farm name is required."
        );
        assert_eq!(
            sentence("email must look like name@example.com", "email", "Email"),
            "Email must look like name@example.com."
        );
        assert_eq!(
            sentence("wrong email or password", "", ""),
            "Wrong email or password."
        );
    }

    #[test]
    fn validation_errors_land_on_their_fields() {
        let fields = sign_up_fields(&SignUpForm::default());
        let err = ApiError::Validation(domain::Invalid(vec![
            domain::FieldError {
                field: "email".into(),
                message: "email must look like name@example.com".into(),
            },
            domain::FieldError {
                field: "company_name".into(),
                message: "company_name must be at most 100 characters".into(),
            },
        ]));
        let errors = FormErrors::from_api(&err, &fields);
        assert_eq!(
            errors.get("email").as_deref(),
            Some("Email must look like name@example.com.")
        );
        assert_eq!(
            errors.get("farm_name").as_deref(),
            Some("Farm name must be at most 100 characters.")
        );
        let taken = ApiError::Conflict {
            code: "EMAIL_TAKEN",
            field: Some("email".into()),
            message: "an account with this email already exists; sign in instead".into(),
        };
        assert!(FormErrors::from_api(&taken, &fields).get("email").is_some());
    }
}
