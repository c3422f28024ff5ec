//! The wiki, `/api/v1/wiki`: the farm's how-tos in markdown (assembling a product, swapping
//! a nozzle), each optionally for one product or SKU. Members read; operators write,
//! publish and unpublish. An article is named by a slug unique in the farm: a slug the
//! client chose that is taken is refused (409 on `slug`); one derived from the title steps
//! around those taken (`guide`, `guide-2`, …). Single articles carry `content_html`, the
//! markdown rendered to safe HTML ([`crate::markdown`]); lists leave it out (they show
//! titles and excerpts, and rendering every article of a page is work nobody reads).

use crate::app::App;
use crate::audit::Change;
use crate::auth::{Member, roles};
use crate::envelope::{ApiResult, Envelope, Paging};
use crate::error::{ApiError, OrNotFound, Resource};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ClientInfo, body_flag, parse_sort, query_flag};
use axum::extract::State;
use domain::catalogue::parse_name;
use domain::wiki::{self as rules, MAX_CONTENT, MAX_TAG, MAX_TAGS, MAX_TITLE, MAX_TOOL, MAX_TOOLS};
use domain::{FieldError, Invalid, TenantId};
use serde::Deserialize;
use serde_json::{Value, json};
use store::StoreError;
use store::wiki::{Article, ArticleFields, ArticleQuery, Category, SORTABLE};

/// The most bytes an article's sections may hold as JSON.
const MAX_SECTIONS_BYTES: usize = 200_000;

/// How the store's errors about an article read.
const ARTICLE: Resource = Resource {
    not_found: "WIKI_ARTICLE_NOT_FOUND",
    what: "wiki article",
    taken: "WIKI_SLUG_TAKEN",
    field: "slug",
    taken_message: "this farm already has an article with that slug",
};

/// A JSON array kept as text, as sent: an old row may hold a comma-separated list instead.
fn stored_list(text: Option<&str>) -> Value {
    match text.map(str::trim) {
        None | Some("") => json!([]),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(items)) => Value::Array(items),
            _ => json!(
                text.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .collect::<Vec<_>>()
            ),
        },
    }
}

/// An article as sent: its lists as lists; with `html`, its markdown rendered beside it
/// (`content_html`, and each section's `content_html` beside its `content`).
pub fn view(article: &Article, html: bool) -> Value {
    let mut value = json!(article);
    value["tags"] = stored_list(article.tags.as_deref());
    value["tools_required"] = stored_list(article.tools_required.as_deref());
    let mut sections = stored_list(article.sections.as_deref());
    if html {
        value["content_html"] = json!(crate::markdown::render(
            article.content.as_deref().unwrap_or("")
        ));
        if let Value::Array(items) = &mut sections {
            for section in items.iter_mut() {
                let rendered = section["content"].as_str().map(crate::markdown::render);
                if let (Some(rendered), Value::Object(fields)) = (rendered, section) {
                    fields.insert("content_html".into(), json!(rendered));
                }
            }
        }
    }
    value["sections"] = sections;
    value
}

fn audited(article: &Article) -> Value {
    json!({ "title": article.title, "slug": article.slug, "category": article.category,
            "product_id": article.product_id, "sku_id": article.sku_id,
            "is_published": article.is_published })
}

/// Tags or tools as a client sends them: a list of texts, or one comma-separated text.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum TextList {
    /// `["PLA", "P1S"]`
    Items(Vec<String>),
    /// `"PLA, P1S"`
    Joined(String),
}

impl TextList {
    fn items(&self) -> Vec<String> {
        match self {
            TextList::Items(items) => items.clone(),
            TextList::Joined(text) => text.split(',').map(str::to_string).collect(),
        }
    }
}

/// An article as a client sends it (a change names only what changes; `null` clears an
/// optional field, and a `null` or empty slug derives one afresh from the title).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ArticleBody {
    title: Option<String>,
    #[serde(deserialize_with = "crate::extract::given")]
    slug: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    content: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    excerpt: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    category: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    tags: Option<Option<TextList>>,
    #[serde(deserialize_with = "crate::extract::given")]
    product_id: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    sku_id: Option<Option<String>>,
    is_published: Option<Value>,
    #[serde(deserialize_with = "crate::extract::given")]
    meta_title: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    meta_description: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    featured_image_url: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    description: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    estimated_time_minutes: Option<Option<i64>>,
    #[serde(deserialize_with = "crate::extract::given")]
    difficulty: Option<Option<String>>,
    #[serde(deserialize_with = "crate::extract::given")]
    tools_required: Option<Option<TextList>>,
    #[serde(deserialize_with = "crate::extract::given")]
    sections: Option<Option<Value>>,
}

/// Where an article's slug comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Slug {
    /// The client chose it: taken means 409.
    Chosen(String),
    /// Made from the title: steps around those taken.
    Derived(String),
    /// Left as stored.
    Kept,
}

/// An optional text: given (`Some`), cleared (`Some(None)` or blank), or left (`None`).
fn text(
    invalid: &mut Invalid,
    field: &str,
    given: &Option<Option<String>>,
    stored: Option<&Option<String>>,
    max: usize,
) -> Option<String> {
    match given {
        None => stored.cloned().flatten(),
        Some(None) => None,
        Some(Some(text)) => {
            let text = text.trim();
            if text.chars().count() > max {
                invalid.0.push(FieldError {
                    field: field.into(),
                    message: format!("{field} must be at most {max} characters"),
                });
            }
            (!text.is_empty()).then(|| text.to_string())
        }
    }
}

/// A list field: given, cleared, or left as stored (JSON text).
fn list(
    invalid: &mut Invalid,
    field: &str,
    given: &Option<Option<TextList>>,
    stored: Option<&Option<String>>,
    (max_items, max_len): (usize, usize),
) -> Option<String> {
    match given {
        None => stored.cloned().flatten(),
        Some(None) => None,
        Some(Some(items)) => invalid
            .take(rules::parse_list(field, &items.items(), max_items, max_len))
            .map(|items| json!(items).to_string()),
    }
}

/// A picture an article shows on top: on the web (http, https) or on this server (a path).
fn image_url(invalid: &mut Invalid, url: Option<String>) -> Option<String> {
    let url = url?;
    let lower = url.to_ascii_lowercase();
    let fine = lower.starts_with("https://")
        || lower.starts_with("http://")
        || (url.starts_with('/') && !url.starts_with("//"));
    if !fine {
        invalid.0.push(FieldError {
            field: "featured_image_url".into(),
            message: "featured_image_url must be an http(s) URL or a path on this server".into(),
        });
    }
    Some(url)
}

impl ArticleBody {
    /// The article's values (its slug still to be chosen): this body over `stored` (or
    /// over nothing, for a new article).
    fn parse(&self, stored: Option<&Article>) -> Result<(ArticleFields, Slug), Invalid> {
        let mut invalid = Invalid::default();
        let title = match (&self.title, stored) {
            (Some(title), _) => invalid.take(parse_name("title", title).and_then(|t| {
                if t.chars().count() > MAX_TITLE {
                    Err(Invalid::field(
                        "title",
                        format!("title must be at most {MAX_TITLE} characters"),
                    ))
                } else {
                    Ok(t)
                }
            })),
            (None, Some(a)) => Some(a.title.clone()),
            (None, None) => {
                invalid.0.push(FieldError {
                    field: "title".into(),
                    message: "title is required".into(),
                });
                None
            }
        };
        let title = title.unwrap_or_default();
        let slug = match (&self.slug, stored) {
            (Some(Some(slug)), _) if !slug.trim().is_empty() => invalid
                .take(rules::parse_slug("slug", slug))
                .map_or(Slug::Kept, Slug::Chosen),
            (None, Some(_)) => Slug::Kept,
            _ => Slug::Derived(rules::slug_from_title(&title)),
        };
        let old = |f: fn(&Article) -> &Option<String>| stored.map(f);
        let content = text(
            &mut invalid,
            "content",
            &self.content,
            old(|a| &a.content),
            MAX_CONTENT,
        );
        let excerpt = text(
            &mut invalid,
            "excerpt",
            &self.excerpt,
            old(|a| &a.excerpt),
            1_000,
        );
        let category = match &self.category {
            None => stored.and_then(|a| a.category.clone()),
            Some(None) => None,
            Some(Some(c)) if c.trim().is_empty() => None,
            Some(Some(c)) => invalid.take(parse_name("category", c)),
        };
        let tags = list(
            &mut invalid,
            "tags",
            &self.tags,
            old(|a| &a.tags),
            (MAX_TAGS, MAX_TAG),
        );
        let tools_required = list(
            &mut invalid,
            "tools_required",
            &self.tools_required,
            old(|a| &a.tools_required),
            (MAX_TOOLS, MAX_TOOL),
        );
        let product_id = text(
            &mut invalid,
            "product_id",
            &self.product_id,
            old(|a| &a.product_id),
            64,
        );
        let sku_id = text(&mut invalid, "sku_id", &self.sku_id, old(|a| &a.sku_id), 64);
        let meta_title = text(
            &mut invalid,
            "meta_title",
            &self.meta_title,
            old(|a| &a.meta_title),
            200,
        );
        let meta_description = text(
            &mut invalid,
            "meta_description",
            &self.meta_description,
            old(|a| &a.meta_description),
            500,
        );
        let featured = text(
            &mut invalid,
            "featured_image_url",
            &self.featured_image_url,
            old(|a| &a.featured_image_url),
            2_000,
        );
        let featured_image_url = match &self.featured_image_url {
            Some(_) => image_url(&mut invalid, featured),
            None => featured,
        };
        let description = text(
            &mut invalid,
            "description",
            &self.description,
            old(|a| &a.description),
            5_000,
        );
        let difficulty = text(
            &mut invalid,
            "difficulty",
            &self.difficulty,
            old(|a| &a.difficulty),
            50,
        );
        let estimated_time_minutes = match self.estimated_time_minutes {
            None => stored.and_then(|a| a.estimated_time_minutes),
            Some(None) => None,
            Some(Some(minutes)) if (0..=100_000).contains(&minutes) => Some(minutes),
            Some(Some(_)) => {
                invalid.0.push(FieldError {
                    field: "estimated_time_minutes".into(),
                    message: "estimated_time_minutes must be from 0 to 100000".into(),
                });
                None
            }
        };
        let sections = match &self.sections {
            None => stored
                .and_then(|a| a.sections.clone())
                .unwrap_or_else(|| "[]".into()),
            Some(None) => "[]".into(),
            Some(Some(Value::Array(items))) => {
                let text = json!(items).to_string();
                if text.len() > MAX_SECTIONS_BYTES {
                    invalid.0.push(FieldError {
                        field: "sections".into(),
                        message: format!(
                            "sections may hold at most {MAX_SECTIONS_BYTES} bytes of JSON"
                        ),
                    });
                }
                text
            }
            Some(Some(_)) => {
                invalid.0.push(FieldError {
                    field: "sections".into(),
                    message: "sections must be a list".into(),
                });
                "[]".into()
            }
        };
        let is_published = body_flag(&mut invalid, "is_published", self.is_published.as_ref())
            .unwrap_or_else(|| stored.is_some_and(|a| a.is_published == 1));
        invalid.into_result()?;
        let fields = ArticleFields {
            title,
            slug: stored.map(|a| a.slug.clone()).unwrap_or_default(),
            content,
            excerpt,
            category,
            tags,
            product_id,
            sku_id,
            is_published,
            meta_title,
            meta_description,
            featured_image_url,
            description,
            estimated_time_minutes,
            difficulty,
            tools_required,
            sections,
        };
        Ok((fields, slug))
    }
}

/// The product and SKU an article names must be the farm's; a SKU alone names its product
/// too, and a SKU of another product than the one named is refused. Read in the writing
/// transaction: a product deleted meanwhile would otherwise fail the write's foreign key.
async fn check_links(
    conn: &mut store::Conn,
    tenant: &TenantId,
    fields: &mut ArticleFields,
) -> Result<(), ApiError> {
    if let Some(product) = fields.product_id.as_deref() {
        store::products::get(conn, tenant, product)
            .await
            .or_field("product_id", "no product of this farm has that id")?;
    }
    if let Some(sku) = fields.sku_id.as_deref() {
        let sku = store::skus::get(conn, tenant, sku)
            .await
            .or_field("sku_id", "no SKU of this farm has that id")?;
        match fields.product_id.as_deref() {
            None => fields.product_id = Some(sku.product_id),
            Some(product) if product != sku.product_id => {
                return Err(ApiError::field(
                    "sku_id",
                    "this SKU is not of the article's product",
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Sets the slug `choice` says, in the writing transaction (`own`: the slug the article
/// already holds, which a derived slug may keep).
async fn choose_slug(
    conn: &mut store::Conn,
    tenant: &TenantId,
    fields: &mut ArticleFields,
    choice: Slug,
    own: Option<&str>,
) -> Result<(), ApiError> {
    match choice {
        Slug::Kept => {}
        Slug::Chosen(slug) => fields.slug = slug,
        Slug::Derived(base) => {
            let mut taken = store::wiki::slugs_like(conn, tenant, &base).await?;
            taken.retain(|slug| Some(slug.as_str()) != own);
            fields.slug = rules::free_slug(&base, &taken);
        }
    }
    Ok(())
}

/// The farm's article `id`.
async fn find(app: &App, tenant: &TenantId, id: &str) -> Result<Article, ApiError> {
    let mut conn = app.store.conn().await?;
    store::wiki::get(&mut conn, tenant, id)
        .await
        .map_err(|e| ARTICLE.error(e))
}

/// Query of the article list.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    page: Option<i64>,
    limit: Option<i64>,
    category: Option<String>,
    search: Option<String>,
    is_published: Option<String>,
    /// The same as `is_published`, as the earlier client also names it.
    published: Option<String>,
    product_id: Option<String>,
    sku_id: Option<String>,
    tag: Option<String>,
    #[serde(rename = "sortBy", alias = "sort_by")]
    sort_by: Option<String>,
    #[serde(rename = "sortOrder", alias = "sort_order")]
    sort_order: Option<String>,
}

/// GET /api/v1/wiki — a page of the farm's articles (filters: category, search, is_published
/// or published, product_id, sku_id, tag; sortBy, sortOrder), newest change first.
pub async fn list_articles(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Vec<Value>> {
    let (is_published, field) = match (&q.is_published, &q.published) {
        (Some(flag), _) => (Some(flag.as_str()), "is_published"),
        (None, Some(flag)) => (Some(flag.as_str()), "published"),
        (None, None) => (None, "is_published"),
    };
    let is_published = query_flag(field, is_published)?;
    let (sort_by, ascending) = parse_sort(
        q.sort_by.as_deref(),
        q.sort_order.as_deref(),
        SORTABLE,
        "updated_at",
    )?;
    let paging = Paging {
        page: q.page.unwrap_or(1).max(1),
        limit: q.limit.unwrap_or(50),
    };
    let given = |v: Option<String>| v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let query = ArticleQuery {
        category: given(q.category),
        search: given(q.search),
        is_published,
        product_id: given(q.product_id),
        sku_id: given(q.sku_id),
        tag: given(q.tag),
        sort_by,
        ascending,
    };
    let mut conn = app.store.conn().await?;
    let (articles, total) = store::wiki::list(
        &mut conn,
        &member.tenant,
        &query,
        paging.limit(),
        paging.offset(),
    )
    .await?;
    Ok(Envelope::list(
        articles.iter().map(|a| view(a, false)).collect(),
        paging.meta(total),
    ))
}

/// GET /api/v1/wiki/categories — the categories the farm's articles use, with counts.
pub async fn categories(
    State(app): State<App>,
    member: Member<roles::Viewer>,
) -> ApiResult<Vec<Category>> {
    let mut conn = app.store.conn().await?;
    Ok(Envelope::all(
        store::wiki::categories(&mut conn, &member.tenant).await?,
    ))
}

/// GET /api/v1/wiki/{article_id} — one article, by its id or its slug, with `content_html`.
pub async fn get_article(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiPath(id_or_slug): ApiPath<String>,
) -> ApiResult<Value> {
    let mut conn = app.store.conn().await?;
    let article = match store::wiki::get(&mut conn, &member.tenant, &id_or_slug).await {
        Err(StoreError::NotFound) => {
            store::wiki::by_slug(
                &mut conn,
                &member.tenant,
                &id_or_slug.trim().to_ascii_lowercase(),
            )
            .await
        }
        found => found,
    }
    .map_err(|e| ARTICLE.error(e))?;
    Ok(Envelope::ok(view(&article, true)))
}

/// POST /api/v1/wiki — writes an article (operators); its author is the member.
pub async fn create(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiJson(body): ApiJson<ArticleBody>,
) -> ApiResult<Value> {
    let (mut fields, slug) = body.parse(None)?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    check_links(&mut tx, &member.tenant, &mut fields).await?;
    choose_slug(&mut tx, &member.tenant, &mut fields, slug, None).await?;
    let author = member.user.user_id();
    let article = store::wiki::create(&mut tx, &member.tenant, &fields, author.as_str(), &now)
        .await
        .map_err(|e| ARTICLE.error(e))?;
    let change = Change {
        action: "wiki.created",
        table: "wiki_articles",
        record: &article.id,
        new: Some(audited(&article)),
        ..Change::default()
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    Ok(Envelope::created(view(&article, true)))
}

/// PUT /api/v1/wiki/{article_id} — changes an article (operators; fields left out stay);
/// the member becomes its last editor.
pub async fn update(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ArticleBody>,
) -> ApiResult<Value> {
    let stored = find(&app, &member.tenant, &id).await?;
    let (mut fields, slug) = body.parse(Some(&stored))?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    check_links(&mut tx, &member.tenant, &mut fields).await?;
    choose_slug(
        &mut tx,
        &member.tenant,
        &mut fields,
        slug,
        Some(&stored.slug),
    )
    .await?;
    let editor = member.user.user_id();
    let article = store::wiki::update(
        &mut tx,
        &member.tenant,
        &stored.id,
        &fields,
        editor.as_str(),
        &now,
    )
    .await
    .map_err(|e| ARTICLE.error(e))?;
    let change = Change {
        action: "wiki.updated",
        table: "wiki_articles",
        record: &article.id,
        old: Some(audited(&stored)),
        new: Some(audited(&article)),
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    Ok(Envelope::ok(view(&article, true)))
}

/// DELETE /api/v1/wiki/{article_id} — removes an article (operators).
pub async fn delete(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    let stored = find(&app, &member.tenant, &id).await?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    store::wiki::delete(&mut tx, &member.tenant, &stored.id)
        .await
        .map_err(|e| ARTICLE.error(e))?;
    let change = Change {
        action: "wiki.deleted",
        table: "wiki_articles",
        record: &stored.id,
        old: Some(audited(&stored)),
        ..Change::default()
    };
    member.audit(&mut tx, &client, change, &now).await?;
    tx.commit().await?;
    Ok(Envelope::ok(json!({ "id": stored.id, "deleted": true })))
}

/// Publishes or unpublishes the farm's article `id` as `member`, audited.
async fn set_published(
    app: &App,
    member: &Member<roles::Operator>,
    client: &ClientInfo,
    id: &str,
    published: bool,
) -> ApiResult<Value> {
    let stored = find(app, &member.tenant, id).await?;
    let now = store::now_text();
    let mut tx = app.store.begin().await?;
    let editor = member.user.user_id();
    let article = store::wiki::set_published(
        &mut tx,
        &member.tenant,
        &stored.id,
        published,
        editor.as_str(),
        &now,
    )
    .await
    .map_err(|e| ARTICLE.error(e))?;
    let change = Change {
        action: if published {
            "wiki.published"
        } else {
            "wiki.unpublished"
        },
        table: "wiki_articles",
        record: &article.id,
        old: Some(
            json!({ "is_published": stored.is_published, "published_at": stored.published_at }),
        ),
        new: Some(
            json!({ "is_published": article.is_published, "published_at": article.published_at }),
        ),
    };
    member.audit(&mut tx, client, change, &now).await?;
    tx.commit().await?;
    Ok(Envelope::ok(view(&article, true)))
}

/// POST /api/v1/wiki/{article_id}/publish — publishes an article now (operators).
pub async fn publish(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    set_published(&app, &member, &client, &id, true).await
}

/// POST /api/v1/wiki/{article_id}/unpublish — takes an article back to draft (operators).
pub async fn unpublish(
    State(app): State<App>,
    member: Member<roles::Operator>,
    client: ClientInfo,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Value> {
    set_published(&app, &member, &client, &id, false).await
}

/// The area's API routes, with who may call each (merged into the one table in `app`).
pub fn routes() -> crate::api::Routes {
    use crate::api::Access::*;
    use crate::api::{PAGING, Param, SORT_ORDER};
    use axum::http::Method as M;
    use domain::Role;
    crate::api::Routes::new()
        .add(M::GET, "/api/v1/wiki", Member(Role::Viewer), "The farm's wiki articles, without content_html (filters: category, search, is_published or published, product_id, sku_id, tag; sortBy, sortOrder, page, limit)", list_articles)
        .query(PAGING)
        .query(&[("category", Param::Text), ("search", Param::Text), ("is_published", Param::Flag), ("published", Param::Flag), ("product_id", Param::Text), ("sku_id", Param::Text), ("tag", Param::Text), ("sortBy", Param::OneOf(SORTABLE)), SORT_ORDER])
        .add(M::POST, "/api/v1/wiki", Member(Role::Operator), "Write an article (markdown content; a slug unique in the farm, derived from the title when not given)", create)
        .example(json!({"title": "Assembling the desk organiser", "category": "Assembly", "content": "## Steps\n\n1. Press the magnets in\n2. Click the lid on", "tags": ["assembly", "magnets"], "tools_required": ["pliers"], "estimated_time_minutes": 10, "difficulty": "easy"}))
        .add(M::GET, "/api/v1/wiki/categories", Member(Role::Viewer), "The categories the farm's articles use, with counts", categories)
        .add(M::GET, "/api/v1/wiki/{article_id}", Member(Role::Viewer), "One article by its id or slug, with its markdown rendered to safe HTML (content_html)", get_article)
        .add(M::PUT, "/api/v1/wiki/{article_id}", Member(Role::Operator), "Change an article (fields left out stay)", update)
        .example(json!({"excerpt": "Ten minutes with pliers", "tags": ["assembly"]}))
        .add(M::DELETE, "/api/v1/wiki/{article_id}", Member(Role::Operator), "Remove an article", delete)
        .add(M::POST, "/api/v1/wiki/{article_id}/publish", Member(Role::Operator), "Publish an article (published_at is now)", publish)
        .add(M::POST, "/api/v1/wiki/{article_id}/unpublish", Member(Role::Operator), "Take an article back to draft", unpublish)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(value: Value) -> ArticleBody {
        serde_json::from_value(value).unwrap()
    }

    fn stored() -> Article {
        let (fields, _) = body(json!({ "title": "Bed levelling", "tags": ["bed"] }))
            .parse(None)
            .unwrap();
        Article {
            id: "a1".into(),
            tenant_id: "t".into(),
            title: fields.title,
            slug: "bed-levelling".into(),
            content: None,
            excerpt: None,
            category: None,
            tags: fields.tags,
            author_id: None,
            last_edited_by: None,
            product_id: None,
            sku_id: None,
            is_published: 1,
            published_at: Some("2026-12-01T00:00:00Z".into()),
            meta_title: None,
            meta_description: None,
            featured_image_url: None,
            description: None,
            estimated_time_minutes: None,
            difficulty: None,
            tools_required: None,
            sections: Some("[]".into()),
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    #[test]
    fn a_new_article_derives_its_slug_unless_one_is_chosen() {
        let (_, slug) = body(json!({ "title": "Bed Levelling" }))
            .parse(None)
            .unwrap();
        assert_eq!(slug, Slug::Derived("bed-levelling".into()));
        let (_, slug) = body(json!({ "title": "x", "slug": "My-Guide" }))
            .parse(None)
            .unwrap();
        assert_eq!(slug, Slug::Chosen("my-guide".into()));
        let (_, slug) = body(json!({ "title": "Bed", "slug": "" }))
            .parse(None)
            .unwrap();
        assert_eq!(slug, Slug::Derived("bed".into()));
    }

    #[test]
    fn a_change_keeps_the_slug_and_what_it_leaves_out_unless_the_slug_is_cleared() {
        let article = stored();
        let (fields, slug) = body(json!({ "title": "Levelling the bed" }))
            .parse(Some(&article))
            .unwrap();
        assert_eq!(slug, Slug::Kept);
        assert_eq!(fields.slug, "bed-levelling");
        assert_eq!(fields.tags.as_deref(), Some("[\"bed\"]"));
        assert!(fields.is_published, "a published article stays published");
        let (_, slug) = body(json!({ "title": "Levelling the bed", "slug": null }))
            .parse(Some(&article))
            .unwrap();
        assert_eq!(slug, Slug::Derived("levelling-the-bed".into()));
    }

    #[test]
    fn tags_are_taken_as_a_list_or_as_comma_separated_text() {
        let (fields, _) = body(json!({ "title": "x", "tags": "PLA, bed,, PLA" }))
            .parse(None)
            .unwrap();
        assert_eq!(fields.tags.as_deref(), Some("[\"PLA\",\"bed\"]"));
        assert_eq!(
            stored_list(Some("PLA, bed")),
            json!(["PLA", "bed"]),
            "an old row's text"
        );
        assert_eq!(stored_list(None), json!([]));
    }

    #[test]
    fn a_sections_content_is_rendered_beside_it_in_a_single_article() {
        let mut article = stored();
        article.sections = Some(
            json!([{ "title": "Lid", "content": "<b onclick=x>**y**</b>" }, "loose"]).to_string(),
        );
        let single = view(&article, true);
        assert_eq!(
            single["sections"][0]["content_html"],
            "<p><b><strong>y</strong></b></p>\n"
        );
        assert_eq!(single["sections"][1], "loose");
        assert_eq!(single["content_html"], "");
        let listed = view(&article, false);
        assert!(listed["content_html"].is_null());
        assert!(listed["sections"][0]["content_html"].is_null());
    }
}
