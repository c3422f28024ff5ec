//! Wiki articles (`wiki_articles`): the farm's how-tos in markdown, each named by a slug
//! that is unique in the farm, optionally for one product or SKU.

use crate::{Conn, StoreError, StoreResult};
use domain::TenantId;
use serde::Serialize;

/// A stored article; `tags`, `tools_required` and `sections` are JSON text (arrays).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Article {
    pub id: String,
    pub tenant_id: String,
    pub title: String,
    pub slug: String,
    pub content: Option<String>,
    pub excerpt: Option<String>,
    pub category: Option<String>,
    pub tags: Option<String>,
    pub author_id: Option<String>,
    pub last_edited_by: Option<String>,
    pub product_id: Option<String>,
    pub sku_id: Option<String>,
    pub is_published: i64,
    pub published_at: Option<String>,
    pub meta_title: Option<String>,
    pub meta_description: Option<String>,
    pub featured_image_url: Option<String>,
    pub description: Option<String>,
    pub estimated_time_minutes: Option<i64>,
    pub difficulty: Option<String>,
    pub tools_required: Option<String>,
    pub sections: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// An article's values as a client sets them (the caller merged a change into the stored ones).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArticleFields {
    pub title: String,
    pub slug: String,
    pub content: Option<String>,
    pub excerpt: Option<String>,
    pub category: Option<String>,
    /// JSON text of the tags.
    pub tags: Option<String>,
    pub product_id: Option<String>,
    pub sku_id: Option<String>,
    pub is_published: bool,
    pub meta_title: Option<String>,
    pub meta_description: Option<String>,
    pub featured_image_url: Option<String>,
    pub description: Option<String>,
    pub estimated_time_minutes: Option<i64>,
    pub difficulty: Option<String>,
    /// JSON text of the tools.
    pub tools_required: Option<String>,
    /// JSON text of the sections.
    pub sections: String,
}

const COLUMNS: &str = "a.id, a.tenant_id, a.title, a.slug, a.content, a.excerpt, a.category, a.tags,
    a.author_id, a.last_edited_by, a.product_id, a.sku_id, a.is_published, a.published_at,
    a.meta_title, a.meta_description, a.featured_image_url, a.description,
    a.estimated_time_minutes, a.difficulty, a.tools_required, a.sections, a.created_at, a.updated_at";

/// Columns an article list may be sorted by.
pub const SORTABLE: &[&str] = &[
    "title",
    "category",
    "created_at",
    "updated_at",
    "published_at",
];

/// Filters and order of the article list.
#[derive(Debug, Clone, Default)]
pub struct ArticleQuery {
    pub category: Option<String>,
    /// Part of the title, the content or the excerpt, any case.
    pub search: Option<String>,
    /// 1 published, 0 drafts.
    pub is_published: Option<i64>,
    pub product_id: Option<String>,
    pub sku_id: Option<String>,
    /// One of its tags, any case.
    pub tag: Option<String>,
    /// A column of [`SORTABLE`].
    pub sort_by: &'static str,
    pub ascending: bool,
}

const FILTER: &str = "a.tenant_id = $1
    AND ($2 IS NULL OR a.category = $2)
    AND ($3 IS NULL OR a.is_published = $3)
    AND ($4 IS NULL OR a.product_id = $4)
    AND ($5 IS NULL OR a.sku_id = $5)
    AND ($6 IS NULL OR LOWER(a.title) LIKE $6 ESCAPE '\\'
         OR LOWER(COALESCE(a.content, '')) LIKE $6 ESCAPE '\\'
         OR LOWER(COALESCE(a.excerpt, '')) LIKE $6 ESCAPE '\\')
    AND ($7 IS NULL OR LOWER(COALESCE(a.tags, '')) LIKE $7 ESCAPE '\\')";

/// `text` with LIKE's wildcards escaped (by `\`), so that it matches only itself.
fn like_literal(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn slug_taken(err: sqlx::Error) -> StoreError {
    match StoreError::from(err) {
        StoreError::Conflict { .. } => StoreError::Conflict {
            field: "slug".into(),
        },
        other => other,
    }
}

/// A page of the farm's articles and how many match in all.
pub async fn list(
    conn: &mut Conn,
    tenant: &TenantId,
    query: &ArticleQuery,
    limit: i64,
    offset: i64,
) -> StoreResult<(Vec<Article>, i64)> {
    let sort_by = SORTABLE
        .iter()
        .find(|c| **c == query.sort_by)
        .copied()
        .unwrap_or("updated_at");
    let direction = if query.ascending { "ASC" } else { "DESC" };
    let search = query
        .search
        .as_ref()
        .map(|s| format!("%{}%", like_literal(&s.to_lowercase())));
    // A tag is matched as a whole JSON string of the stored array (`"pla"`), not as part
    // of another tag.
    let tag = query.tag.as_ref().map(|t| {
        let quoted = serde_json::Value::String(t.to_lowercase()).to_string();
        format!("%{}%", like_literal(&quoted))
    });
    // Only a whitelisted column and a fixed word are spliced in; values are bound. Empty
    // values sort last on both databases (they order NULLs differently).
    let sql = format!(
        "SELECT {COLUMNS} FROM wiki_articles a WHERE {FILTER}
         ORDER BY CASE WHEN a.{sort_by} IS NULL THEN 1 ELSE 0 END, a.{sort_by} {direction}, a.id
         LIMIT $8 OFFSET $9"
    );
    let rows = sqlx::query_as::<_, Article>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(query.category.as_deref())
        .bind(query.is_published)
        .bind(query.product_id.as_deref())
        .bind(query.sku_id.as_deref())
        .bind(search.as_deref())
        .bind(tag.as_deref())
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    let count = format!("SELECT CAST(COUNT(*) AS BIGINT) FROM wiki_articles a WHERE {FILTER}");
    let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(count))
        .bind(tenant.as_str())
        .bind(query.category.as_deref())
        .bind(query.is_published)
        .bind(query.product_id.as_deref())
        .bind(query.sku_id.as_deref())
        .bind(search.as_deref())
        .bind(tag.as_deref())
        .fetch_one(&mut *conn)
        .await?;
    Ok((rows, total))
}

/// One article of the farm, by id.
pub async fn get(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<Article> {
    let sql = format!("SELECT {COLUMNS} FROM wiki_articles a WHERE a.tenant_id = $1 AND a.id = $2");
    Ok(sqlx::query_as::<_, Article>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(id)
        .fetch_one(&mut *conn)
        .await?)
}

/// One article of the farm, by slug.
pub async fn by_slug(conn: &mut Conn, tenant: &TenantId, slug: &str) -> StoreResult<Article> {
    let sql =
        format!("SELECT {COLUMNS} FROM wiki_articles a WHERE a.tenant_id = $1 AND a.slug = $2");
    Ok(sqlx::query_as::<_, Article>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(slug)
        .fetch_one(&mut *conn)
        .await?)
}

/// The farm's slugs that are `base` or `base-…` (what a derived slug must step around).
pub async fn slugs_like(
    conn: &mut Conn,
    tenant: &TenantId,
    base: &str,
) -> StoreResult<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT slug FROM wiki_articles WHERE tenant_id = $1 AND (slug = $2 OR slug LIKE $3 ESCAPE '\\')",
    )
    .bind(tenant.as_str())
    .bind(base)
    .bind(format!("{}-%", like_literal(base)))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|(s,)| s).collect())
}

/// Adds an article written by `author`; `Conflict { field: "slug" }` when the farm has one
/// of that slug. A published one is published `now`.
pub async fn create(
    conn: &mut Conn,
    tenant: &TenantId,
    fields: &ArticleFields,
    author: &str,
    now: &str,
) -> StoreResult<Article> {
    let id = crate::new_id();
    let published_at = fields.is_published.then_some(now);
    sqlx::query(
        "INSERT INTO wiki_articles (id, tenant_id, title, slug, content, excerpt, category, tags,
            author_id, last_edited_by, product_id, sku_id, is_published, published_at, meta_title,
            meta_description, featured_image_url, description, estimated_time_minutes, difficulty,
            tools_required, sections, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12, $13, $14, $15, $16, $17,
            $18, $19, $20, $21, $22, $22)",
    )
    .bind(&id)
    .bind(tenant.as_str())
    .bind(&fields.title)
    .bind(&fields.slug)
    .bind(fields.content.as_deref())
    .bind(fields.excerpt.as_deref())
    .bind(fields.category.as_deref())
    .bind(fields.tags.as_deref())
    .bind(author)
    .bind(fields.product_id.as_deref())
    .bind(fields.sku_id.as_deref())
    .bind(i64::from(fields.is_published))
    .bind(published_at)
    .bind(fields.meta_title.as_deref())
    .bind(fields.meta_description.as_deref())
    .bind(fields.featured_image_url.as_deref())
    .bind(fields.description.as_deref())
    .bind(fields.estimated_time_minutes)
    .bind(fields.difficulty.as_deref())
    .bind(fields.tools_required.as_deref())
    .bind(&fields.sections)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(slug_taken)?;
    get(conn, tenant, &id).await
}

/// Replaces an article's values, edited by `editor`. Publishing stamps `published_at`
/// with `now`; unpublishing clears it; staying published keeps the first stamp.
pub async fn update(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    fields: &ArticleFields,
    editor: &str,
    now: &str,
) -> StoreResult<Article> {
    let done = sqlx::query(
        "UPDATE wiki_articles SET title = $3, slug = $4, content = $5, excerpt = $6, category = $7,
            tags = $8, last_edited_by = $9, product_id = $10, sku_id = $11,
            published_at = CASE WHEN $12 = 0 THEN NULL
                                WHEN is_published = 1 THEN published_at
                                ELSE $13 END,
            is_published = $12, meta_title = $14, meta_description = $15,
            featured_image_url = $16, description = $17, estimated_time_minutes = $18,
            difficulty = $19, tools_required = $20, sections = $21, updated_at = $13
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.as_str())
    .bind(id)
    .bind(&fields.title)
    .bind(&fields.slug)
    .bind(fields.content.as_deref())
    .bind(fields.excerpt.as_deref())
    .bind(fields.category.as_deref())
    .bind(fields.tags.as_deref())
    .bind(editor)
    .bind(fields.product_id.as_deref())
    .bind(fields.sku_id.as_deref())
    .bind(i64::from(fields.is_published))
    .bind(now)
    .bind(fields.meta_title.as_deref())
    .bind(fields.meta_description.as_deref())
    .bind(fields.featured_image_url.as_deref())
    .bind(fields.description.as_deref())
    .bind(fields.estimated_time_minutes)
    .bind(fields.difficulty.as_deref())
    .bind(fields.tools_required.as_deref())
    .bind(&fields.sections)
    .execute(&mut *conn)
    .await
    .map_err(slug_taken)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    get(conn, tenant, id).await
}

/// Publishes (`published_at` = `now`) or unpublishes (cleared) an article, by `editor`.
pub async fn set_published(
    conn: &mut Conn,
    tenant: &TenantId,
    id: &str,
    published: bool,
    editor: &str,
    now: &str,
) -> StoreResult<Article> {
    let published_at = published.then_some(now);
    let done = sqlx::query(
        "UPDATE wiki_articles SET is_published = $3, published_at = $4, last_edited_by = $5,
            updated_at = $6
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant.as_str())
    .bind(id)
    .bind(i64::from(published))
    .bind(published_at)
    .bind(editor)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    get(conn, tenant, id).await
}

/// Removes an article.
pub async fn delete(conn: &mut Conn, tenant: &TenantId, id: &str) -> StoreResult<()> {
    let done = sqlx::query("DELETE FROM wiki_articles WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.as_str())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// A category the farm's articles use, with how many do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Category {
    pub category: String,
    /// Articles in it.
    pub count: i64,
    /// Of those, the published ones.
    pub published_count: i64,
}

/// The categories the farm's articles use, each once with its counts, sorted by name.
pub async fn categories(conn: &mut Conn, tenant: &TenantId) -> StoreResult<Vec<Category>> {
    Ok(sqlx::query_as::<_, Category>(
        "SELECT category, CAST(COUNT(*) AS BIGINT) AS count,
            CAST(COALESCE(SUM(CASE WHEN is_published = 1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS published_count
         FROM wiki_articles
         WHERE tenant_id = $1 AND category IS NOT NULL AND category <> ''
         GROUP BY category ORDER BY category",
    )
    .bind(tenant.as_str())
    .fetch_all(&mut *conn)
    .await?)
}

/// The published article that best explains a SKU: one for the SKU itself, else one for
/// its product as a whole, else one for another SKU of the product; the latest published
/// first. `None` when there is none (or neither id is given).
pub async fn for_sku_or_product(
    conn: &mut Conn,
    tenant: &TenantId,
    sku_id: Option<&str>,
    product_id: Option<&str>,
) -> StoreResult<Option<Article>> {
    if sku_id.is_none() && product_id.is_none() {
        return Ok(None);
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM wiki_articles a
         WHERE a.tenant_id = $1 AND a.is_published = 1
           AND (a.sku_id = $2 OR a.product_id = $3)
         ORDER BY CASE WHEN a.sku_id = $2 THEN 0 WHEN a.sku_id IS NULL THEN 1 ELSE 2 END,
           a.published_at DESC, a.id
         LIMIT 1"
    );
    Ok(sqlx::query_as::<_, Article>(sqlx::AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(sku_id)
        .bind(product_id)
        .fetch_optional(&mut *conn)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::like_literal;

    #[test]
    fn like_wildcards_in_a_search_match_only_themselves() {
        assert_eq!(like_literal("50%_off\\"), "50\\%\\_off\\\\");
    }
}
