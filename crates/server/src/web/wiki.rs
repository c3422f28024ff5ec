//! The wiki pages: the farm's articles (drafts too, for operators), one article rendered to
//! safe HTML (the same sanitised rendering as the API's `content_html`), and a form to write
//! or change one, with pictures uploaded through the API and placed as markdown.

use super::{FarmPage, PageError, Section, html};
use crate::app::App;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use domain::Role;
use store::wiki::ArticleQuery;

/// This area's routes (merged into the dashboard's router).
pub fn routes() -> Router<App> {
    Router::new()
        .route("/wiki", get(index))
        .route("/wiki/{slug}", get(article))
}

/// One article in the list.
pub struct ArticleRow {
    /// Its slug (its address).
    pub slug: String,
    /// Its title.
    pub title: String,
    /// Its category.
    pub category: Option<String>,
    /// Its excerpt.
    pub excerpt: Option<String>,
    /// Whether it is published.
    pub published: bool,
}

/// The index page.
#[derive(Template)]
#[template(path = "wiki.html", whitespace = "minimize")]
struct WikiIndex {
    layout: super::Layout,
    articles: Vec<ArticleRow>,
    writer: bool,
}

/// One article's page.
#[derive(Template)]
#[template(path = "wiki_article.html", whitespace = "minimize")]
struct WikiArticle {
    layout: super::Layout,
    id: String,
    title: String,
    category: String,
    content: String,
    /// Sanitised HTML of the markdown.
    content_html: String,
    published: bool,
    updated: String,
    writer: bool,
}

/// GET /wiki — the farm's articles (viewers see the published ones).
pub async fn index(State(app): State<App>, member: FarmPage) -> Result<Response, PageError> {
    let writer = member.role.at_least(Role::Operator);
    let query = ArticleQuery {
        is_published: (!writer).then_some(1),
        ..ArticleQuery::default()
    };
    let mut conn = app.store.conn().await?;
    let (articles, _) = store::wiki::list(&mut conn, &member.tenant, &query, 200, 0).await?;
    Ok(html(
        StatusCode::OK,
        &WikiIndex {
            layout: member.layout(Section::Wiki, "Wiki"),
            articles: articles
                .into_iter()
                .map(|a| ArticleRow {
                    slug: a.slug,
                    title: a.title,
                    category: a.category,
                    excerpt: a.excerpt,
                    published: a.is_published == 1,
                })
                .collect(),
            writer,
        },
    ))
}

/// GET /wiki/{slug} — one article, rendered, with its editor for operators.
pub async fn article(
    State(app): State<App>,
    member: FarmPage,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let writer = member.role.at_least(Role::Operator);
    let mut conn = app.store.conn().await?;
    // By slug, or by id (where a new article's form goes).
    let found = match store::wiki::by_slug(&mut conn, &member.tenant, &slug).await {
        Err(store::StoreError::NotFound) => {
            store::wiki::get(&mut conn, &member.tenant, &slug).await
        }
        other => other,
    };
    let found = match found {
        Ok(a) if a.is_published == 1 || writer => a,
        Ok(_) | Err(store::StoreError::NotFound) => {
            return Err(PageError::NotFound(format!("no article '{slug}'")));
        }
        Err(other) => return Err(other.into()),
    };
    let content = found.content.clone().unwrap_or_default();
    Ok(html(
        StatusCode::OK,
        &WikiArticle {
            layout: member.layout(Section::Wiki, &found.title),
            id: found.id,
            title: found.title,
            category: found.category.unwrap_or_default(),
            content_html: crate::markdown::render(&content),
            content,
            published: found.is_published == 1,
            updated: found
                .updated_at
                .chars()
                .take(16)
                .collect::<String>()
                .replace('T', " "),
            writer,
        },
    ))
}
