//! The assembly page: printed units waiting to be put together, with Start and Done (which
//! call the JSON API, so Done moves the units to ready stock as it does anywhere) and a
//! link to the SKU's or product's how-to in the wiki.

use super::{FarmPage, PageError, Section, html};
use crate::app::App;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use domain::Role;
use domain::worklist::AssemblyStatus;
use store::assembly::AssemblyQuery;

/// Assembly tasks shown.
const SHOWN: i64 = 100;

/// This area's routes (merged into the dashboard's router).
pub fn routes() -> Router<App> {
    Router::new()
        .route("/assembly", get(page))
        .route("/assembly/list", get(fragment))
}

/// One assembly task as its card shows it.
pub struct AssemblyCard {
    /// Its id.
    pub id: String,
    /// The product.
    pub product_name: String,
    /// The SKU code.
    pub sku: String,
    /// Units to assemble.
    pub quantity: i64,
    /// pending, in_progress or completed.
    pub status: String,
    /// The wiki article's slug, when the farm wrote one for it.
    pub how_to: Option<String>,
}

/// The cards with what the member may do.
pub struct AssemblyList {
    /// Open tasks first, then the latest completed.
    pub cards: Vec<AssemblyCard>,
    /// Whether the member may start and complete them.
    pub operator: bool,
}

async fn load(app: &App, member: &FarmPage) -> Result<AssemblyList, PageError> {
    let mut conn = app.store.conn().await?;
    let mut cards = Vec::new();
    for status in [
        AssemblyStatus::InProgress,
        AssemblyStatus::Pending,
        AssemblyStatus::Completed,
    ] {
        let query = AssemblyQuery {
            status: Some(status),
            ..AssemblyQuery::default()
        };
        let shown = if status == AssemblyStatus::Completed {
            10
        } else {
            SHOWN
        };
        let (tasks, _) = store::assembly::list(&mut conn, &member.tenant, &query, shown, 0).await?;
        for task in tasks {
            let good =
                store::finished_goods::get(&mut conn, &member.tenant, &task.finished_good_id).await;
            let how_to = match good {
                Ok(good) => {
                    let product = store::catalogue::sku_for_print(
                        &mut conn,
                        &member.tenant,
                        &good.product_sku_id,
                    )
                    .await
                    .ok()
                    .map(|s| s.product_id);
                    store::wiki::for_sku_or_product(
                        &mut conn,
                        &member.tenant,
                        Some(&good.product_sku_id),
                        product.as_deref(),
                    )
                    .await?
                    .map(|a| a.slug)
                }
                Err(store::StoreError::NotFound) => None,
                Err(other) => return Err(other.into()),
            };
            cards.push(AssemblyCard {
                id: task.id.clone(),
                product_name: task.product_name.clone(),
                sku: task.sku.clone(),
                quantity: task.quantity,
                status: task.status.clone(),
                how_to,
            });
        }
    }
    Ok(AssemblyList {
        cards,
        operator: member.role.at_least(Role::Operator),
    })
}

/// The page.
#[derive(Template)]
#[template(path = "assembly.html", whitespace = "minimize")]
struct AssemblyPage {
    layout: super::Layout,
    list: AssemblyList,
}

/// The cards alone, for the script to swap in.
#[derive(Template)]
#[template(path = "assembly_list.html", whitespace = "minimize")]
struct AssemblyFragment {
    list: AssemblyList,
}

/// GET /assembly — what waits to be assembled.
pub async fn page(State(app): State<App>, member: FarmPage) -> Result<Response, PageError> {
    let list = load(&app, &member).await?;
    Ok(html(
        StatusCode::OK,
        &AssemblyPage {
            layout: member.layout(Section::Worklist, "Assembly"),
            list,
        },
    ))
}

/// GET /assembly/list — the cards alone.
pub async fn fragment(State(app): State<App>, member: FarmPage) -> Result<Response, PageError> {
    let list = load(&app, &member).await?;
    Ok(html(StatusCode::OK, &AssemblyFragment { list }))
}
