//! The web dashboard: HTML pages rendered on the server (askama templates, checked at
//! compile time), a small hand-written script for the live socket, and the static files
//! they need, all served by this binary (no external requests, no build step).
//!
//! Pages are not API routes: they answer HTML, send anonymous visitors to the sign-in
//! page instead of answering 401, and take the farm from the `pf_farm` cookie that the
//! farm switcher sets, not from `X-Tenant-ID`. So they have their own router, merged
//! into the API's, and stay out of the OpenAPI document. What they change goes through
//! the same code as the API: the forms call the shared account functions, and the
//! printer cards' buttons call the JSON API itself.
//!
//! Shared pieces for the pages still to come (jobs, files, hubs, stock …): [`Layout`]
//! and [`NAV`] (the frame and navigation), [`FarmPage`] and [`PageUser`] (who is asking,
//! in which farm), [`PageError`] (errors in words), [`chart`] (SVG charts drawn here) and
//! `live.js` (the socket client, which refreshes any `data-fragment` element).

pub mod accounts;
pub mod analytics;
pub mod assembly;
pub mod assets;
pub mod automation;
pub mod cameras;
pub mod catalogue;
pub mod chart;
pub mod files;
pub mod forms;
pub mod hubs;
pub mod invitations;
pub mod jobs;
pub mod materials;
pub mod orders;
pub mod overview;
pub mod printers;
pub mod stock;
pub mod team;
pub mod wiki;
pub mod worklist;

use crate::app::App;
use crate::auth::Authenticated;
use crate::error::ApiError;
use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use cookie::{Cookie, SameSite};
use domain::{Role, TenantId};
use store::StoreError;
use store::tenants::MyTenant;
use store::users::User;

/// The cookie holding the farm the dashboard shows (set by the farm switcher).
pub const FARM_COOKIE: &str = "pf_farm";
/// A request header `live.js` sends when it fetches a fragment: such requests get 401
/// instead of a redirect to the sign-in page, so a sign-in form never lands inside a card.
pub const FRAGMENT_HEADER: &str = "x-pf-fragment";

/// Pages may load only what this server sends: no inline script, no foreign origin.
/// `connect-src 'self'` covers the same-origin `ws:`/`wss:` socket.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The dashboard's routes. Who may see each page is in its handler's extractor:
/// [`FarmPage`] (a member of the farm in use), [`PageUser`] (signed in) or none.
pub fn router() -> Router<App> {
    Router::new()
        .route("/", get(overview::page))
        .route("/overview/live", get(overview::fragment))
        .route("/printers", get(printers::page))
        .route("/printers/cards", get(printers::cards))
        .route("/printers/tiles", get(printers::tiles))
        .route("/printers/{printer_id}", get(printers::one))
        .route("/printers/arrange", get(printers::arrange))
        .route("/printers/{printer_id}/edit", get(printers::edit))
        .route("/printers/{printer_id}/card", get(printers::card))
        .route(
            "/sign-in",
            get(accounts::sign_in_page).post(accounts::sign_in),
        )
        .route(
            "/sign-up",
            get(accounts::sign_up_page).post(accounts::sign_up),
        )
        .route(
            "/sign-out",
            get(accounts::sign_out_page).post(accounts::sign_out),
        )
        .route("/farm", post(accounts::switch_farm))
        .route(
            "/farms/new",
            get(accounts::new_farm_page).post(accounts::create_farm),
        )
        .route("/assets/{file}", get(assets::serve))
        .merge(jobs::routes())
        .merge(files::routes())
        .merge(hubs::routes())
        .merge(team::routes())
        .merge(invitations::routes())
        .merge(catalogue::routes())
        .merge(stock::routes())
        .merge(materials::routes())
        .merge(orders::routes())
        .merge(worklist::routes())
        .merge(automation::routes())
        .merge(assembly::routes())
        .merge(wiki::routes())
        .merge(cameras::routes())
        .merge(analytics::routes())
        // Pages are repetitive markup (100 printer cards are ~300 KB, ~25 KB gzipped).
        .layer(tower_http::compression::CompressionLayer::new())
}

/// A section of the dashboard, for the navigation's current item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// The farm overview.
    Overview,
    /// Printer cards.
    Printers,
    /// The job queue and history.
    Jobs,
    /// The file library.
    Files,
    /// Hubs and adding printers through them.
    Hubs,
    /// Members, roles and personal API tokens.
    Team,
    /// Products, SKUs, colours and build plates.
    Catalogue,
    /// Finished goods per SKU.
    Stock,
    /// Filament, packaging, components and parts.
    Materials,
    /// Orders, and the Shopify connection.
    Orders,
    /// What operators do next on the floor.
    Worklist,
    /// How the farm does things.
    Wiki,
    /// Rules that act on farm events, their runs, and where notifications go.
    Automation,
    /// The farm's days in figures and charts.
    Analytics,
}

/// The navigation: one entry per section, in order. New areas add themselves here.
pub const NAV: &[(Section, &str, &str)] = &[
    (Section::Overview, "/", "Overview"),
    (Section::Printers, "/printers", "Printers"),
    (Section::Worklist, "/worklist", "Worklist"),
    (Section::Jobs, "/jobs", "Jobs"),
    (Section::Files, "/files", "Files"),
    (Section::Catalogue, "/catalogue", "Catalogue"),
    (Section::Stock, "/stock", "Stock"),
    (Section::Orders, "/orders", "Orders"),
    (Section::Analytics, "/analytics", "Analytics"),
    (Section::Materials, "/materials", "Materials"),
    (Section::Hubs, "/hubs", "Hubs"),
    (Section::Automation, "/automation", "Automation"),
    (Section::Team, "/team", "Team"),
];

/// One link of the navigation as a template shows it.
pub struct NavItem {
    /// Where it goes.
    pub href: &'static str,
    /// Its words.
    pub label: &'static str,
    /// Whether it is the page shown (`aria-current="page"`).
    pub current: bool,
}

/// A farm in the switcher.
pub struct FarmChoice {
    /// The farm's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The member's role in it.
    pub role: String,
    /// Whether it is the farm in use.
    pub current: bool,
}

/// The frame of every signed-in page: head, header with navigation and farm switcher,
/// live-connection indicator and the announcer for screen readers.
pub struct Layout {
    /// The page's title (before " · PrintFarm").
    pub title: String,
    /// The section shown.
    pub section: Section,
    /// The signed-in person's name.
    pub user_name: String,
    /// The farm in use.
    pub farm_id: String,
    /// Its name.
    pub farm_name: String,
    /// The member's role in it (`data-role`; the script and the CSS read it).
    pub role: Role,
    /// The member's farms, for the switcher.
    pub farms: Vec<FarmChoice>,
    /// The path shown, where the switcher comes back to.
    pub path: String,
    /// The static files' URLs.
    pub assets: &'static assets::Urls,
}

impl Layout {
    /// The icon sprite, drawn once into the page so icons are short `<use href="#pause">`.
    pub fn sprite(&self) -> &'static str {
        assets::SPRITE
    }

    /// The navigation with the current section marked.
    pub fn nav(&self) -> Vec<NavItem> {
        NAV.iter()
            .map(|(section, href, label)| NavItem {
                href,
                label,
                current: *section == self.section,
            })
            .collect()
    }

    /// Whether the member may run the printers (pause, clear the bed …).
    pub fn operator(&self) -> bool {
        self.role.at_least(Role::Operator)
    }
}

/// The frame of pages for visitors (sign-in, sign-up) and of error pages.
pub struct PlainLayout {
    /// The page's title.
    pub title: String,
    /// The static files' URLs.
    pub assets: &'static assets::Urls,
}

impl PlainLayout {
    /// The icon sprite (see [`Layout::sprite`]).
    pub fn sprite(&self) -> &'static str {
        assets::SPRITE
    }

    /// A frame titled `title`.
    pub fn new(title: impl Into<String>) -> Self {
        PlainLayout {
            title: title.into(),
            assets: assets::urls(),
        }
    }
}

/// Renders a template as an HTML answer with the page headers (no caching, strict CSP).
pub fn html<T: Template>(status: StatusCode, template: &T) -> Response {
    match template.render() {
        Ok(body) => {
            let mut response = (status, body).into_response();
            page_headers(response.headers_mut());
            response
        }
        Err(err) => {
            tracing::error!(error = %err, "a page did not render");
            plain_error(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

/// Headers every page carries.
fn page_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // Pages show one member's farm: never stored by a shared cache or the back button.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
}

/// The last resort when even the error page does not render.
fn plain_error(status: StatusCode) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Something went wrong on the server. Try again in a moment.",
    )
        .into_response()
}

/// A redirect after a form (303: the browser follows with GET).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A path on this site to return to after signing in; anything else becomes `/`, so a
/// crafted link can't send people elsewhere (`//evil.example`, `/\evil.example`, `https:`).
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.starts_with("/\\") => {
            p.to_string()
        }
        _ => "/".to_string(),
    }
}

/// The farm cookie, set to `farm` (or cleared when `None`).
pub fn farm_cookie(app: &App, farm: Option<&str>) -> HeaderValue {
    let cookie = Cookie::build((FARM_COOKIE, farm.unwrap_or("").to_string()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(app.secure_cookies)
        .max_age(cookie::time::Duration::seconds(if farm.is_some() {
            60 * 60 * 24 * 365
        } else {
            0
        }))
        .build();
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The value of cookie `name`, if the request carries it.
fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    crate::auth::session::cookie(headers, name).filter(|v| !v.is_empty())
}

/// Why a page can't be shown, answered in words.
#[derive(Debug)]
pub enum PageError {
    /// Not signed in: go to the sign-in page, then back to `next`.
    SignIn {
        /// The page asked for.
        next: String,
    },
    /// Not signed in, asked by the script for a fragment: 401, the script signs in.
    Unauthenticated,
    /// Signed in without a farm: make one first.
    NoFarm,
    /// The farm in use is not one of the member's farms (any more).
    NotMember,
    /// No such thing in this farm.
    NotFound(String),
    /// Anything else the API would answer.
    Api(ApiError),
}

impl From<ApiError> for PageError {
    fn from(err: ApiError) -> Self {
        PageError::Api(err)
    }
}

impl From<StoreError> for PageError {
    fn from(err: StoreError) -> Self {
        PageError::Api(err.into())
    }
}

/// An error page.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: PlainLayout,
    heading: String,
    message: String,
    signed_in: bool,
}

/// The words to show for an API error: its own message, except for internal errors,
/// which are logged (with the request id) and told without detail.
pub fn words_of(err: &ApiError) -> String {
    match err {
        ApiError::Internal(inner) => {
            tracing::error!(error = ?inner, "page failed");
            "Something went wrong on the server. Try again in a moment.".into()
        }
        other => other.to_string(),
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = |status: StatusCode, heading: &str, message: String, signed_in: bool| {
            html(
                status,
                &ErrorPage {
                    layout: PlainLayout::new(heading),
                    heading: heading.into(),
                    message,
                    signed_in,
                },
            )
        };
        match self {
            PageError::SignIn { next } => {
                let query = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("next", &next)
                    .finish();
                see_other(&format!("/sign-in?{query}"))
            }
            PageError::Unauthenticated => plain_status(StatusCode::UNAUTHORIZED, "sign in first"),
            PageError::NoFarm => see_other("/farms/new"),
            PageError::NotMember => {
                let mut response = page(
                    StatusCode::FORBIDDEN,
                    "Not your farm",
                    "You are not a member of this farm: it may have been removed, or your \
                     membership ended. Your own farm is shown again from the overview."
                        .into(),
                    true,
                );
                // Forget the choice, so the next page shows the member's first farm.
                response.headers_mut().append(
                    header::SET_COOKIE,
                    HeaderValue::from_static("pf_farm=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"),
                );
                response
            }
            PageError::NotFound(what) => page(
                StatusCode::NOT_FOUND,
                "Not found",
                format!("{what} was not found in this farm."),
                true,
            ),
            PageError::Api(err) => {
                let status = err.status();
                page(status, "Something went wrong", words_of(&err), true)
            }
        }
    }
}

/// A short plain-text answer (for the script's fragment requests).
fn plain_status(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

/// The path and query a request asked for.
fn asked_for(parts: &Parts) -> String {
    parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into())
}

/// A signed-in visitor of a page; anonymous visitors go to the sign-in page.
pub struct PageUser {
    /// Who they are and how they signed in.
    pub caller: Authenticated,
}

impl FromRequestParts<App> for PageUser {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _app: &App) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Authenticated>() {
            Some(caller) => Ok(PageUser {
                caller: caller.clone(),
            }),
            None if parts.headers.contains_key(FRAGMENT_HEADER) => Err(PageError::Unauthenticated),
            None => Err(PageError::SignIn {
                next: asked_for(parts),
            }),
        }
    }
}

/// A member looking at a page of the farm in use: the `pf_farm` cookie's farm, or their
/// first farm. Membership is checked on every request with the API guard's own lookup.
pub struct FarmPage {
    /// The member.
    pub user: User,
    /// The farm in use.
    pub tenant: TenantId,
    /// Its name.
    pub farm_name: String,
    /// Whether its dispatcher starts queued jobs by itself.
    pub auto_dispatch: bool,
    /// The member's role in it.
    pub role: Role,
    /// All the member's farms (for the switcher).
    pub farms: Vec<MyTenant>,
    /// The path and query asked for.
    pub path: String,
}

impl FromRequestParts<App> for FarmPage {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let PageUser { caller } = PageUser::from_request_parts(parts, app).await?;
        let user_id = caller.user.user_id();
        let farms = {
            let mut conn = app.store.conn().await?;
            store::tenants::list_for_user(&mut conn, &user_id).await?
        };
        let wanted = match cookie_value(&parts.headers, FARM_COOKIE) {
            Some(chosen) => chosen,
            None => farms
                .first()
                .map(|f| f.tenant.id.clone())
                .ok_or(PageError::NoFarm)?,
        };
        let tenant = TenantId::parse(&wanted).ok_or(PageError::NotMember)?;
        let role = crate::auth::member::role_in(app, &tenant, &user_id)
            .await?
            .ok_or(PageError::NotMember)?;
        // The farm's own row came with the member's farms: no second query for it.
        let farm = farms
            .iter()
            .find(|f| f.tenant.id == tenant.as_str())
            .map(|f| &f.tenant)
            .ok_or(PageError::NotMember)?;
        let (farm_name, auto_dispatch) = (farm.company_name.clone(), farm.auto_dispatch == 1);
        Ok(FarmPage {
            user: caller.user,
            tenant,
            farm_name,
            auto_dispatch,
            role,
            farms,
            path: parts.uri.path().to_string(),
        })
    }
}

impl FarmPage {
    /// The frame of a page of `section` titled `title`.
    pub fn layout(&self, section: Section, title: &str) -> Layout {
        Layout {
            title: title.into(),
            section,
            user_name: self.user.full_name.clone(),
            farm_id: self.tenant.to_string(),
            farm_name: self.farm_name.clone(),
            role: self.role,
            farms: self
                .farms
                .iter()
                .map(|f| FarmChoice {
                    id: f.tenant.id.clone(),
                    name: f.tenant.company_name.clone(),
                    role: f.role.clone(),
                    current: f.tenant.id == self.tenant.as_str(),
                })
                .collect(),
            path: self.path.clone(),
            assets: assets::urls(),
        }
    }
}

/// Words for durations shown on cards and the overview: "1 h 05 min", "12 min", "under a minute".
pub fn duration_words(seconds: i64) -> String {
    let minutes = (seconds.max(0) + 59) / 60;
    match minutes {
        0 => "done".into(),
        1 if seconds < 60 => "under a minute".into(),
        m if m < 60 => format!("{m} min"),
        m => format!("{} h {:02} min", m / 60, m % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_returned_to_after_sign_in() {
        assert_eq!(local_path(Some("/printers?x=1")), "/printers?x=1");
        assert_eq!(local_path(Some("//evil.example/")), "/");
        assert_eq!(local_path(Some("/\\evil.example")), "/");
        assert_eq!(local_path(Some("https://evil.example")), "/");
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn durations_read_as_hours_and_minutes() {
        assert_eq!(duration_words(0), "done");
        assert_eq!(duration_words(30), "under a minute");
        assert_eq!(duration_words(60), "1 min");
        assert_eq!(duration_words(12 * 60), "12 min");
        assert_eq!(duration_words(65 * 60), "1 h 05 min");
        assert_eq!(duration_words(-5), "done");
    }

    #[test]
    fn the_navigation_marks_the_current_section() {
        let layout = Layout {
            title: "Printers".into(),
            section: Section::Printers,
            user_name: "Ada".into(),
            farm_id: "f".into(),
            farm_name: "Ada's Farm".into(),
            role: Role::Viewer,
            farms: vec![],
            path: "/printers".into(),
            assets: assets::urls(),
        };
        let current: Vec<&str> = layout
            .nav()
            .iter()
            .filter(|n| n.current)
            .map(|n| n.href)
            .collect();
        assert_eq!(current, vec!["/printers"]);
        assert!(!layout.operator());
    }
}
