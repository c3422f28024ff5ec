//! The wiki through the API: an operator writes how-tos for the farm's SKUs in markdown
//! (hostile markup renders inert), slugs are unique per farm, articles are published and
//! unpublished, found by id or slug, listed with filters and counted by category; wiki
//! pictures are uploaded and shown only to their farm; viewers read but don't write.

use crate::common;

use common::{Account, As, TestApp, fixture};
use reqwest::Method;
use serde_json::{Value, json};

/// A farm with an operator and a viewer besides its owner.
struct Farm {
    owner: Account,
    operator: Account,
    viewer: Account,
    id: String,
}

async fn farm(app: &TestApp, name: &str) -> Farm {
    let (owner, id) = app.signed_up_owner(name).await;
    let operator = app.signed_up(&format!("{name}-operator")).await;
    app.add_member(&owner, &id, &operator, "operator").await;
    let viewer = app.signed_up(&format!("{name}-viewer")).await;
    app.add_member(&owner, &id, &viewer, "viewer").await;
    Farm {
        owner,
        operator,
        viewer,
        id,
    }
}

impl Farm {
    async fn write(&self, app: &TestApp, body: Value) -> common::Answer {
        app.post("/api/v1/wiki", &self.operator.token, Some(&self.id), body)
            .await
    }

    async fn read(&self, app: &TestApp, path: &str) -> common::Answer {
        app.get(path, &self.viewer.token, Some(&self.id)).await
    }

    async fn act(
        &self,
        app: &TestApp,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> common::Answer {
        app.call(
            method,
            path,
            As::Bearer(&self.operator.token),
            Some(&self.id),
            body,
        )
        .await
    }

    /// A SKU of a new product; returns (product id, SKU id).
    async fn sku(&self, app: &TestApp, code: &str) -> (String, String) {
        let sku = app.sample_sku(&self.owner, &self.id, code, 1, 0).await;
        let got = app
            .get(
                &format!("/api/v1/skus/{sku}"),
                &self.owner.token,
                Some(&self.id),
            )
            .await;
        got.expect(200);
        (got.data()["product_id"].as_str().unwrap().to_string(), sku)
    }
}

/// The best published article for a SKU of its product, as the assembly page asks for it.
async fn best_article(app: &TestApp, farm: &str, sku: &str, product: &str) -> Option<String> {
    let tenant = domain::TenantId::parse(farm).unwrap();
    let mut conn = app.state.store.conn().await.unwrap();
    store::wiki::for_sku_or_product(&mut conn, &tenant, Some(sku), Some(product))
        .await
        .unwrap()
        .map(|a| a.id)
}

fn id(answer: &common::Answer) -> String {
    answer.data()["id"].as_str().unwrap().to_string()
}

/// Lower-cased HTML holds nothing that runs.
#[track_caller]
fn assert_inert(html: &str) {
    let lower = html.to_ascii_lowercase();
    for banned in [
        "<script",
        "onerror",
        "onload",
        "onclick",
        "javascript:",
        "<iframe",
        "<svg",
        "<style",
        "style=",
        "data:",
    ] {
        assert!(!lower.contains(banned), "{banned} is left in {html}");
    }
}

const HOSTILE: &str = "## Assembly\n\n\
    1. Press the **magnets** in\n\
    2. Click the lid on\n\n\
    <script>fetch('/api/v1/auth/api-tokens')</script>\n\n\
    <img src=x onerror=alert(document.cookie)>\n\n\
    [support](javascript:alert(1)) and <a href=\"JaVaScRiPt:alert(2)\">help</a> \
    and [entity](&#106;avascript:alert(3))\n\n\
    <svg onload=alert(4)></svg><iframe src=\"https://evil.example\"></iframe>\
    <style>body{display:none}</style><p style=\"color:red\">red</p>\n\n\
    [data](data:text/html;base64,PHNjcmlwdD4=) [Bambu wiki](https://wiki.bambulab.com/)";

#[tokio::test]
async fn an_operators_article_for_a_sku_renders_hostile_markdown_inert_and_is_published_for_assembly()
 {
    let app = TestApp::spawn().await;
    let farm = farm(&app, "olga").await;
    let (product, sku) = farm.sku(&app, "ORG-BLUE").await;

    let written = farm
        .write(
            &app,
            json!({
                "title": "Desk organiser: assembly",
                "content": HOSTILE,
                "excerpt": "Magnets and a lid",
                "category": "Assembly",
                "sku_id": sku,
                "tags": ["assembly", "PLA"],
                "tools_required": ["pliers", "glue"],
                "sections": [{ "title": "Lid", "content": "<img src=x onerror=alert(5)> **click**" }],
                "estimated_time_minutes": 10,
                "difficulty": "easy",
            }),
        )
        .await;
    written.expect(201);
    let article = written.data();
    assert_eq!(article["slug"], "desk-organiser-assembly");
    assert_eq!(article["author_id"], farm.operator.id.as_str());
    assert_eq!(article["last_edited_by"], farm.operator.id.as_str());
    assert_eq!(article["sku_id"], sku.as_str());
    assert_eq!(
        article["product_id"],
        product.as_str(),
        "a SKU names its product"
    );
    assert_eq!(article["tags"], json!(["assembly", "PLA"]));
    assert_eq!(article["tools_required"], json!(["pliers", "glue"]));
    assert_eq!(article["is_published"], 0);
    assert!(article["published_at"].is_null());
    assert_eq!(
        article["content"], HOSTILE,
        "the markdown is kept as written"
    );

    let html = article["content_html"].as_str().unwrap();
    assert_inert(html);
    assert!(html.contains("<h2>Assembly</h2>"), "{html}");
    assert!(html.contains("<strong>magnets</strong>"), "{html}");
    assert!(
        html.contains("<img src=\"x\">"),
        "the picture stays, its handler goes: {html}"
    );
    assert!(
        html.contains("href=\"https://wiki.bambulab.com/\""),
        "{html}"
    );
    assert!(html.contains("noopener"), "{html}");
    assert!(
        html.contains(">help</a>") && html.contains(">support</a>"),
        "{html}"
    );
    assert!(!html.contains("alert"), "{html}");
    let section = &article["sections"][0];
    assert_eq!(section["title"], "Lid");
    assert_inert(section["content_html"].as_str().unwrap());
    assert!(
        section["content_html"]
            .as_str()
            .unwrap()
            .contains("<strong>click</strong>")
    );

    // Found by id and by slug alike, by a viewer.
    let article_id = id(&written);
    for path in [
        format!("/api/v1/wiki/{article_id}"),
        "/api/v1/wiki/desk-organiser-assembly".to_string(),
        "/api/v1/wiki/Desk-Organiser-Assembly".to_string(),
    ] {
        let got = farm.read(&app, &path).await;
        got.expect(200);
        assert_eq!(got.data()["id"], article_id.as_str(), "{path}");
        assert_eq!(got.data()["content_html"], html, "{path}");
    }
    farm.read(&app, "/api/v1/wiki/no-such-article")
        .await
        .expect(404);

    // The article's page shows the same inert HTML to an operator, with its editor; a
    // viewer does not see a draft.
    let (status, page) = app
        .page("/wiki/desk-organiser-assembly", &farm.operator, &farm.id)
        .await;
    assert_eq!(status, 200);
    assert!(page.contains(html), "the page renders what the API renders");
    assert!(page.contains("id=\"article-edit\""));
    let (status, _) = app
        .page("/wiki/desk-organiser-assembly", &farm.viewer, &farm.id)
        .await;
    assert_eq!(status, 404);
    let (_, index) = app.page("/wiki", &farm.operator, &farm.id).await;
    assert!(index.contains("/wiki/desk-organiser-assembly") && index.contains("Draft"));

    // A draft doesn't explain the SKU to the assembly page; published, it does.
    assert_eq!(best_article(&app, &farm.id, &sku, &product).await, None);
    let published = farm
        .act(
            &app,
            Method::POST,
            &format!("/api/v1/wiki/{article_id}/publish"),
            None,
        )
        .await;
    published.expect(200);
    assert_eq!(published.data()["is_published"], 1);
    assert!(published.data()["published_at"].is_string());
    assert_eq!(
        best_article(&app, &farm.id, &sku, &product)
            .await
            .as_deref(),
        Some(article_id.as_str())
    );
    let drafts = farm.read(&app, "/api/v1/wiki?published=false").await;
    assert_eq!(drafts.body["meta"]["total"], 0);

    // An article for the product as a whole explains a SKU that has none of its own.
    let (_, other_sku) = farm.sku(&app, "ORG-RED").await;
    let general = farm
        .write(
            &app,
            json!({ "title": "Organiser care", "product_id": product, "is_published": true }),
        )
        .await;
    general.expect(201);
    assert!(
        general.data()["published_at"].is_string(),
        "published on creation"
    );
    assert_eq!(
        best_article(&app, &farm.id, &other_sku, &product).await,
        Some(id(&general))
    );
    assert_eq!(
        best_article(&app, &farm.id, &sku, &product)
            .await
            .as_deref(),
        Some(article_id.as_str()),
        "the SKU's own article comes first"
    );

    let unpublished = farm
        .act(
            &app,
            Method::POST,
            &format!("/api/v1/wiki/{article_id}/unpublish"),
            None,
        )
        .await;
    unpublished.expect(200);
    assert_eq!(unpublished.data()["is_published"], 0);
    assert!(unpublished.data()["published_at"].is_null());
    assert_eq!(
        best_article(&app, &farm.id, &sku, &product).await,
        Some(id(&general)),
        "back to the product's article"
    );

    // The owner edits it: the last editor changes, the author stays, the slug too.
    let edited = app
        .put(
            &format!("/api/v1/wiki/{article_id}"),
            &farm.owner.token,
            Some(&farm.id),
            json!({ "title": "Desk organiser, assembled", "content": "Just **click**" }),
        )
        .await;
    edited.expect(200);
    assert_eq!(edited.data()["last_edited_by"], farm.owner.id.as_str());
    assert_eq!(edited.data()["author_id"], farm.operator.id.as_str());
    assert_eq!(edited.data()["slug"], "desk-organiser-assembly");
    assert_eq!(
        edited.data()["content_html"],
        "<p>Just <strong>click</strong></p>\n"
    );
    assert_eq!(
        edited.data()["tags"],
        json!(["assembly", "PLA"]),
        "left out, kept"
    );

    // Every change is in the farm's audit log.
    let log = app
        .get(
            &format!("/api/v1/tenants/{}/audit-log?limit=50", farm.id),
            &farm.owner.token,
            None,
        )
        .await;
    log.expect(200);
    let actions: Vec<&str> = log
        .data()
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["record_id"] == article_id.as_str())
        .filter_map(|row| row["action"].as_str())
        .collect();
    for action in [
        "wiki.created",
        "wiki.published",
        "wiki.unpublished",
        "wiki.updated",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }

    let deleted = farm
        .act(
            &app,
            Method::DELETE,
            &format!("/api/v1/wiki/{article_id}"),
            None,
        )
        .await;
    deleted.expect(200);
    farm.read(&app, &format!("/api/v1/wiki/{article_id}"))
        .await
        .expect(404);
}

#[tokio::test]
async fn slugs_are_unique_in_a_farm_but_two_farms_may_share_one() {
    let app = TestApp::spawn().await;
    let olga = farm(&app, "olga").await;
    let bob = farm(&app, "bob").await;

    let first = olga.write(&app, json!({ "title": "Nozzle swap" })).await;
    first.expect(201);
    assert_eq!(first.data()["slug"], "nozzle-swap");
    // The same title again: the derived slug steps around the one taken.
    let second = olga.write(&app, json!({ "title": "Nozzle  swap!" })).await;
    second.expect(201);
    assert_eq!(second.data()["slug"], "nozzle-swap-2");
    // A slug chosen by hand that is taken is refused, naming the field.
    let clash = olga
        .write(&app, json!({ "title": "Another", "slug": "nozzle-swap" }))
        .await;
    clash.expect(409);
    assert_eq!(clash.code(), "WIKI_SLUG_TAKEN");
    assert_eq!(clash.body["error"]["details"]["field"], "slug");

    // A title that names a wiki page gets a slug its article can be found by.
    let categories = olga.write(&app, json!({ "title": "Categories" })).await;
    categories.expect(201);
    assert_eq!(categories.data()["slug"], "categories-2");
    let found = olga.read(&app, "/api/v1/wiki/categories-2").await;
    assert_eq!(found.data()["id"], categories.data()["id"]);
    let refused = olga
        .write(&app, json!({ "title": "x", "slug": "categories" }))
        .await;
    refused.expect(400);
    assert_eq!(refused.fields(), ["slug"]);

    // Another farm has its own slugs.
    let bobs = bob
        .write(
            &app,
            json!({ "title": "Bob's nozzles", "slug": "nozzle-swap" }),
        )
        .await;
    bobs.expect(201);
    assert_eq!(bobs.data()["slug"], "nozzle-swap");
    let olgas_by_slug = olga.read(&app, "/api/v1/wiki/nozzle-swap").await;
    assert_eq!(olgas_by_slug.data()["id"], first.data()["id"]);
    let bobs_by_slug = bob.read(&app, "/api/v1/wiki/nozzle-swap").await;
    assert_eq!(bobs_by_slug.data()["id"], bobs.data()["id"]);
    // Olga's farm doesn't reach Bob's article by its id.
    olga.read(&app, &format!("/api/v1/wiki/{}", id(&bobs)))
        .await
        .expect(404);
    olga.act(
        &app,
        Method::PUT,
        &format!("/api/v1/wiki/{}", id(&bobs)),
        Some(json!({ "title": "Mine" })),
    )
    .await
    .expect(404);
    olga.act(
        &app,
        Method::POST,
        &format!("/api/v1/wiki/{}/publish", id(&bobs)),
        None,
    )
    .await
    .expect(404);
    olga.act(
        &app,
        Method::DELETE,
        &format!("/api/v1/wiki/{}", id(&bobs)),
        None,
    )
    .await
    .expect(404);
    assert_eq!(
        bob.read(&app, &format!("/api/v1/wiki/{}", id(&bobs)))
            .await
            .data()["title"],
        "Bob's nozzles"
    );

    // Renaming onto a taken slug is refused; onto a free one, in any case, is kept lower-cased.
    let second_id = id(&second);
    let onto = olga
        .act(
            &app,
            Method::PUT,
            &format!("/api/v1/wiki/{second_id}"),
            Some(json!({ "slug": "nozzle-swap" })),
        )
        .await;
    onto.expect(409);
    assert_eq!(onto.body["error"]["details"]["field"], "slug");
    let renamed = olga
        .act(
            &app,
            Method::PUT,
            &format!("/api/v1/wiki/{second_id}"),
            Some(json!({ "slug": "Hotend-Swap" })),
        )
        .await;
    renamed.expect(200);
    assert_eq!(renamed.data()["slug"], "hotend-swap");
    // A cleared slug is derived afresh from the title, and may take back a free one.
    let cleared = olga
        .act(
            &app,
            Method::PUT,
            &format!("/api/v1/wiki/{second_id}"),
            Some(json!({ "slug": null, "title": "Hotend swap" })),
        )
        .await;
    cleared.expect(200);
    assert_eq!(
        cleared.data()["slug"],
        "hotend-swap",
        "its own slug is not in its way"
    );
}

#[tokio::test]
async fn the_list_filters_pages_and_counts_categories() {
    let app = TestApp::spawn().await;
    let farm = farm(&app, "olga").await;
    let (product, sku) = farm.sku(&app, "HOOK-1").await;
    let articles = [
        json!({ "title": "Bed levelling", "category": "Maintenance", "tags": ["P1S", "bed"], "is_published": true, "content": "Level the **bed** every month" }),
        json!({ "title": "Nozzle cleaning", "category": "Maintenance", "tags": ["nozzle"], "excerpt": "A cold pull clears it" }),
        json!({ "title": "Hook assembly", "category": "Assembly", "tags": ["PLA-CF"], "sku_id": sku, "is_published": true }),
        json!({ "title": "Hook packing", "category": "Packing", "product_id": product }),
        json!({ "title": "Uncategorised note", "tags": ["pla"] }),
    ];
    for body in articles {
        farm.write(&app, body).await.expect(201);
    }
    let titles = |answer: &common::Answer| -> Vec<String> {
        let mut titles: Vec<String> = answer
            .data()
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["title"].as_str().unwrap().to_string())
            .collect();
        titles.sort();
        titles
    };
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            "category=Maintenance".into(),
            vec!["Bed levelling", "Nozzle cleaning"],
        ),
        ("search=BED".into(), vec!["Bed levelling"]),
        ("search=cold%20pull".into(), vec!["Nozzle cleaning"]),
        ("search=every%20month".into(), vec!["Bed levelling"]),
        ("search=100%25".into(), vec![]),
        (
            "is_published=true".into(),
            vec!["Bed levelling", "Hook assembly"],
        ),
        (
            "published=false".into(),
            vec!["Hook packing", "Nozzle cleaning", "Uncategorised note"],
        ),
        (
            "is_published=1&category=Assembly".into(),
            vec!["Hook assembly"],
        ),
        (format!("sku_id={sku}"), vec!["Hook assembly"]),
        (
            format!("product_id={product}"),
            vec!["Hook assembly", "Hook packing"],
        ),
        ("tag=pla".into(), vec!["Uncategorised note"]),
        ("tag=p1s".into(), vec!["Bed levelling"]),
        ("tag=pla-cf".into(), vec!["Hook assembly"]),
        ("tag=none".into(), vec![]),
    ];
    for (query, want) in cases {
        let listed = farm.read(&app, &format!("/api/v1/wiki?{query}")).await;
        listed.expect(200);
        assert_eq!(titles(&listed), want, "?{query}");
        assert_eq!(listed.body["meta"]["total"], want.len(), "?{query}");
    }

    // Pages of two, by title: the second page holds the third and fourth.
    let page = farm
        .read(
            &app,
            "/api/v1/wiki?sortBy=title&sortOrder=asc&limit=2&page=2",
        )
        .await;
    page.expect(200);
    let on_page: Vec<&str> = page
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert_eq!(on_page, ["Hook packing", "Nozzle cleaning"]);
    assert_eq!(
        page.body["meta"],
        json!({ "total": 5, "page": 2, "limit": 2 })
    );
    assert!(
        page.data()[0]["content_html"].is_null(),
        "lists leave the HTML out"
    );
    assert!(page.data()[0]["tags"].is_array());

    let categories = farm.read(&app, "/api/v1/wiki/categories").await;
    categories.expect(200);
    assert_eq!(
        categories.data(),
        &json!([
            { "category": "Assembly", "count": 1, "published_count": 1 },
            { "category": "Maintenance", "count": 2, "published_count": 1 },
            { "category": "Packing", "count": 1, "published_count": 0 },
        ])
    );
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_and_viewers_cannot_write() {
    let app = TestApp::spawn().await;
    let farm = farm(&app, "olga").await;
    let other = farm_of_bob(&app).await;
    let (product, _) = farm.sku(&app, "A-1").await;
    let (_, sku_of_other_product) = farm.sku(&app, "B-1").await;
    let cases = [
        (json!({ "content": "no title" }), "title"),
        (json!({ "title": "   " }), "title"),
        (json!({ "title": "x".repeat(201) }), "title"),
        (json!({ "title": "T", "slug": "a b" }), "slug"),
        (json!({ "title": "T", "slug": "../etc" }), "slug"),
        (json!({ "title": "T", "product_id": other.1 }), "product_id"),
        (json!({ "title": "T", "product_id": "nope" }), "product_id"),
        (json!({ "title": "T", "sku_id": other.2 }), "sku_id"),
        (
            json!({ "title": "T", "product_id": product, "sku_id": sku_of_other_product }),
            "sku_id",
        ),
        (
            json!({ "title": "T", "tags": (0..31).map(|n| format!("t{n}")).collect::<Vec<_>>() }),
            "tags",
        ),
        (json!({ "title": "T", "tags": 5 }), "tags"),
        (
            json!({ "title": "T", "sections": "not a list" }),
            "sections",
        ),
        (
            json!({ "title": "T", "featured_image_url": "javascript:alert(1)" }),
            "featured_image_url",
        ),
        (
            json!({ "title": "T", "featured_image_url": "//evil.example/x.png" }),
            "featured_image_url",
        ),
        (
            json!({ "title": "T", "estimated_time_minutes": -1 }),
            "estimated_time_minutes",
        ),
        (
            json!({ "title": "T", "is_published": "yes" }),
            "is_published",
        ),
        (
            json!({ "title": "T", "content": "x".repeat(200_001) }),
            "content",
        ),
    ];
    for (body, field) in cases {
        let refused = farm.write(&app, body.clone()).await;
        refused.expect(400);
        assert_eq!(refused.fields(), [field], "{body}");
    }
    for query in ["is_published=maybe", "sortBy=author", "sortOrder=up"] {
        let refused = farm.read(&app, &format!("/api/v1/wiki?{query}")).await;
        refused.expect(400);
    }
    let listed = farm.read(&app, "/api/v1/wiki").await;
    assert_eq!(listed.body["meta"]["total"], 0, "nothing refused was kept");

    // A viewer reads but doesn't write.
    let article = farm.write(&app, json!({ "title": "Safety first" })).await;
    article.expect(201);
    let article = id(&article);
    let viewer = As::Bearer(&farm.viewer.token);
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/wiki".to_string(),
            Some(json!({ "title": "Mine" })),
        ),
        (
            Method::PUT,
            format!("/api/v1/wiki/{article}"),
            Some(json!({ "title": "Mine" })),
        ),
        (Method::DELETE, format!("/api/v1/wiki/{article}"), None),
        (
            Method::POST,
            format!("/api/v1/wiki/{article}/publish"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/wiki/{article}/unpublish"),
            None,
        ),
    ] {
        let refused = app
            .call(method.clone(), &path, viewer, Some(&farm.id), body)
            .await;
        refused.expect(403);
        assert_eq!(refused.code(), "INSUFFICIENT_ROLE", "{method} {path}");
    }
    let got = farm.read(&app, &format!("/api/v1/wiki/{article}")).await;
    got.expect(200);
    assert_eq!(got.data()["title"], "Safety first");
    assert_eq!(got.data()["is_published"], 0);
}

/// Bob's farm with a product and a SKU: (farm id, product id, SKU id).
async fn farm_of_bob(app: &TestApp) -> (String, String, String) {
    let bob = farm(app, "bob").await;
    let (product, sku) = bob.sku(app, "BOB-1").await;
    (bob.id, product, sku)
}

/// The plate thumbnail inside the sample 3MF: a real PNG.
fn png() -> Vec<u8> {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(fixture("sample-a.3mf"))).unwrap();
    let mut entry = zip.by_name("Metadata/plate_1.png").unwrap();
    let mut bytes = Vec::new();
    entry.read_to_end(&mut bytes).unwrap();
    bytes
}

async fn upload(
    app: &TestApp,
    who: &Account,
    farm: &str,
    name: &str,
    bytes: Vec<u8>,
) -> common::Answer {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
    );
    TestApp::send(
        app.request(
            Method::POST,
            "/api/v1/files/wiki-image",
            As::Bearer(&who.token),
        )
        .header("x-tenant-id", farm)
        .multipart(form),
    )
    .await
}

#[tokio::test]
async fn a_wiki_picture_is_uploaded_shown_in_an_article_and_kept_from_other_farms() {
    let app = TestApp::spawn().await;
    let farm = farm(&app, "olga").await;
    let bob = farm_of_bob_account(&app).await;

    let stored = upload(&app, &farm.operator, &farm.id, "step-1.png", png()).await;
    stored.expect(201);
    let url = stored.data()["url"].as_str().unwrap().to_string();
    let filename = stored.data()["filename"].as_str().unwrap().to_string();
    assert_eq!(
        url,
        format!("/api/v1/files/wiki-image/{}/{filename}", farm.id)
    );
    assert!(filename.ends_with(".png"), "{filename}");

    // A page loads it with the session cookie alone (no X-Tenant-ID), as an <img> does.
    let shown = app
        .request(Method::GET, &url, As::Cookie(&farm.viewer.token))
        .send()
        .await
        .unwrap();
    assert_eq!(shown.status(), 200);
    assert_eq!(shown.headers()["content-type"], "image/png");
    assert_eq!(shown.bytes().await.unwrap().as_ref(), png().as_slice());

    // An article shows it: the relative URL survives the sanitiser.
    let article = farm
        .write(
            &app,
            json!({ "title": "Step one", "content": format!("![step 1]({url})") }),
        )
        .await;
    article.expect(201);
    let html = article.data()["content_html"].as_str().unwrap();
    assert!(
        html.contains(&format!("<img src=\"{url}\" alt=\"step 1\">")),
        "{html}"
    );

    // Another farm's member gets nothing: not at the picture's address (not a member of
    // that farm), and not by its name under their own farm (no such picture there).
    let foreign = TestApp::send(app.request(Method::GET, &url, As::Cookie(&bob.0.token))).await;
    foreign.expect(403);
    let by_name = TestApp::send(app.request(
        Method::GET,
        &format!("/api/v1/files/wiki-image/{}/{filename}", bob.1),
        As::Cookie(&bob.0.token),
    ))
    .await;
    by_name.expect(404);
    let anonymous = TestApp::send(app.request(Method::GET, &url, As::Nobody)).await;
    anonymous.expect(401);

    // Only pictures, checked by their bytes, whatever their name says, of at most 10 MiB;
    // viewers don't upload.
    let text = upload(
        &app,
        &farm.operator,
        &farm.id,
        "evil.png",
        b"<svg onload=alert(1)>".to_vec(),
    )
    .await;
    text.expect(400);
    assert_eq!(text.fields(), ["file"]);
    let mut huge = png();
    huge.resize(10 * 1024 * 1024 + 1, 0);
    let too_big = upload(&app, &farm.operator, &farm.id, "huge.png", huge).await;
    too_big.expect(413);
    let by_viewer = upload(&app, &farm.viewer, &farm.id, "step-2.png", png()).await;
    by_viewer.expect(403);
}

/// Bob, owner of a farm of his own: (account, farm id).
async fn farm_of_bob_account(app: &TestApp) -> (Account, String) {
    app.signed_up_owner("bob").await
}
