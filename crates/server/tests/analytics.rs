//! Analytics through the API and the page: the figures of a farm's jobs, failures, orders
//! and stock are exactly what was made, closed days served from the day cache stay equal to
//! the real tables when a past day changes, members of any role read them, and another
//! farm's data never shows.

use crate::common;

use chrono::{Datelike, Duration, Utc};
use common::browser::Browser;
use common::{Account, TestApp};
use domain::TenantId;
use domain::jobs::{JobStatus, MoveRecord};
use domain::stock::FailureType;
use serde_json::{Value, json};

/// A farm with two A1 minis and the sample file.
struct Farm {
    owner: Account,
    farm: String,
    tenant: TenantId,
    file: String,
    p1: String,
    p2: String,
}

async fn farm(app: &TestApp, name: &str) -> Farm {
    let (owner, farm) = app.signed_up_owner(name).await;
    let file = app.upload_fixture(&owner, &farm, "sample-a.3mf").await;
    let p1 = app
        .add_printer(
            &owner,
            &farm,
            json!({ "name": "A1M-01", "model": "A1 mini" }),
        )
        .await;
    let p2 = app
        .add_printer(
            &owner,
            &farm,
            json!({ "name": "A1M-02", "model": "A1 mini" }),
        )
        .await;
    Farm {
        tenant: TenantId::parse(&farm).unwrap(),
        owner,
        farm,
        file,
        p1,
        p2,
    }
}

impl Farm {
    async fn get(&self, app: &TestApp, path: &str) -> Value {
        let answer = app.get(path, &self.owner.token, Some(&self.farm)).await;
        answer.expect(200);
        assert_eq!(answer.body["success"], true);
        answer.data().clone()
    }

    /// A job queued on `printer` through the API.
    async fn job(&self, app: &TestApp, printer: &str) -> String {
        let job = app
            .post(
                "/api/v1/jobs",
                &self.owner.token,
                Some(&self.farm),
                json!({ "print_file_id": self.file, "printer_id": printer }),
            )
            .await;
        job.expect(201);
        job.data()["id"].as_str().unwrap().to_string()
    }

    /// A job queued on `printer` that finished as `status` at `at` after `minutes` of
    /// printing, as the store records a printer's report (a past `at` is a late report).
    async fn finished(
        &self,
        app: &TestApp,
        printer: &str,
        status: JobStatus,
        at: &str,
        minutes: i64,
    ) -> String {
        let id = self.job(app, printer).await;
        let record = MoveRecord {
            completed: true,
            progress: Some(if status == JobStatus::Completed {
                100
            } else {
                40
            }),
            failure_reason: (status == JobStatus::Failed).then(|| "nozzle clogged".to_string()),
            ..MoveRecord::default()
        };
        let mut tx = app.state.store.begin().await.unwrap();
        store::jobs::move_status(
            &mut tx,
            &self.tenant,
            &id,
            JobStatus::Queued,
            status,
            &record,
            at,
        )
        .await
        .unwrap();
        store::jobs::set_actual_minutes(&mut tx, &self.tenant, &id, minutes)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        id
    }

    /// A failure recorded at `at` (the print-events worker records them).
    async fn failure(&self, app: &TestApp, printer: &str, job: &str, kind: FailureType, at: &str) {
        let mut tx = app.state.store.begin().await.unwrap();
        store::failures::record(
            &mut tx,
            &self.tenant,
            &store::failures::NewFailure {
                printer_id: Some(printer),
                job_id: job,
                failure_type: kind,
                reason: Some("seen on the camera"),
                progress: 40,
                print_minutes: Some(20),
            },
            at,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }

    /// An order through the API (its line names no SKU, so it queues no prints).
    async fn order(&self, app: &TestApp, platform: &str, date: &str, extra: Value) -> String {
        let mut body = json!({ "customer_name": "Ada", "platform": platform, "order_date": date });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let order = app
            .post("/api/v1/orders", &self.owner.token, Some(&self.farm), body)
            .await;
        order.expect(201);
        order.data()["id"].as_str().unwrap().to_string()
    }
}

/// `n` days ago at `hour`:00 UTC, as stored.
fn days_ago(n: i64, hour: u32) -> String {
    let day = Utc::now().date_naive() - Duration::days(n);
    domain::time::format(day.and_hms_opt(hour, 0, 0).unwrap().and_utc())
}

/// The day `n` days ago (`2026-12-03`).
fn day(n: i64) -> String {
    days_ago(n, 0)[..10].to_string()
}

/// The entry of `list` whose `key` is `value`.
fn find<'a>(list: &'a Value, key: &str, value: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e[key] == value)
        .unwrap_or_else(|| panic!("no {key} = {value} in {list}"))
}

#[tokio::test]
async fn the_figures_are_exactly_the_farms_jobs_failures_orders_and_stock() {
    let app = TestApp::spawn().await;
    let f = farm(&app, "ana").await;
    let viewer = app.signed_up("vera").await;
    app.add_member(&f.owner, &f.farm, &viewer, "viewer").await;
    let (bob, bobs_farm) = app.signed_up_owner("bob").await;
    let now = domain::time::format(Utc::now());

    // Three days ago P1 completed two prints and P2 failed one; yesterday P1 completed one;
    // today P2 completed one; one job still waits in the queue.
    f.finished(&app, &f.p1, JobStatus::Completed, &days_ago(3, 9), 60)
        .await;
    f.finished(&app, &f.p1, JobStatus::Completed, &days_ago(3, 11), 30)
        .await;
    let failed = f
        .finished(&app, &f.p2, JobStatus::Failed, &days_ago(3, 12), 20)
        .await;
    let late = f
        .finished(&app, &f.p1, JobStatus::Completed, &days_ago(1, 15), 90)
        .await;
    f.finished(&app, &f.p2, JobStatus::Completed, &now, 45)
        .await;
    f.job(&app, &f.p1).await;
    f.failure(
        &app,
        &f.p2,
        &failed,
        FailureType::NozzleClog,
        &days_ago(3, 12),
    )
    .await;
    f.failure(&app, &f.p2, &failed, FailureType::Thermal, &days_ago(1, 8))
        .await;
    f.failure(&app, &f.p1, &late, FailureType::NozzleClog, &now)
        .await;

    // Orders: an Etsy order three days ago (lines 30.00, shipping 5.00, tax 2.00), a manual
    // one yesterday, a cancelled one yesterday (counts for nothing), an Amazon one today.
    let line = |price: i64, n: i64| json!([{ "sku": "NO-SUCH-SKU", "product_name": "Vase", "quantity": n, "unit_price": price }]);
    f.order(
        &app,
        "etsy",
        &day(3),
        json!({ "items": line(1500, 2), "shipping_cost": 500, "tax_amount": 200 }),
    )
    .await;
    f.order(&app, "manual", &day(1), json!({ "items": line(2000, 1) }))
        .await;
    let cancelled = f
        .order(&app, "manual", &day(1), json!({ "items": line(5000, 1) }))
        .await;
    app.put(
        &format!("/api/v1/orders/{cancelled}"),
        &f.owner.token,
        Some(&f.farm),
        json!({ "status": "cancelled" }),
    )
    .await
    .expect(200);
    f.order(
        &app,
        "amazon",
        &Utc::now().date_naive().to_string(),
        json!({ "items": line(999, 1) }),
    )
    .await;

    // Stock: one good low, one out; a spool under its threshold; four magnets used today.
    for (code, stock) in [("CUBE", 2), ("MUG", 0)] {
        let sku = app.sample_sku(&f.owner, &f.farm, code, 1, 0).await;
        app.post(
            "/api/v1/inventory",
            &f.owner.token,
            Some(&f.farm),
            json!({ "product_sku_id": sku, "current_stock": stock, "low_stock_threshold": 5 }),
        )
        .await
        .expect(201);
    }
    app.post(
        "/api/v1/materials/filament",
        &f.owner.token,
        Some(&f.farm),
        json!({ "type": "PLA", "color": "Jade White", "remaining_grams": 50, "low_threshold": 100 }),
    )
    .await
    .expect(201);
    let magnets = app
        .post(
            "/api/v1/materials/components",
            &f.owner.token,
            Some(&f.farm),
            json!({ "type": "magnet", "name": "6x2 mm magnet", "remaining_units": 10, "low_threshold": 5 }),
        )
        .await;
    magnets.expect(201);
    let magnets = magnets.data()["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/v1/materials/components/{magnets}/consume"),
        &f.owner.token,
        Some(&f.farm),
        json!({ "quantity": 4, "reason": "assembly" }),
    )
    .await
    .expect(200);

    // Production, day by day and in all (read twice: the second answer comes from the cache).
    for _ in 0..2 {
        let production = f.get(&app, "/api/v1/analytics/production?days=7").await;
        assert_eq!(production["range"]["days"], 7);
        assert_eq!(production["range"]["end_date"], day(0));
        let daily = &production["daily"];
        assert_eq!(
            daily.as_array().unwrap().len(),
            7,
            "every day, empty ones too"
        );
        let d3 = find(daily, "date", &day(3));
        assert_eq!(
            (
                &d3["jobs_completed"],
                &d3["jobs_failed"],
                &d3["units_produced"]
            ),
            (&json!(2), &json!(1), &json!(2))
        );
        assert_eq!(d3["total_print_time_minutes"], 110);
        assert_eq!(d3["success_rate"], 66.7);
        assert_eq!(d3["average_job_time_minutes"], 36.7);
        assert_eq!(find(daily, "date", &day(2))["jobs_completed"], 0);
        assert_eq!(find(daily, "date", &day(1))["total_print_time_minutes"], 90);
        assert_eq!(
            find(daily, "date", &day(0))["jobs_completed"],
            1,
            "today, live"
        );
        let t = &production["totals"];
        assert_eq!(t["jobs_completed"], 4);
        assert_eq!(t["jobs_failed"], 1);
        assert_eq!(t["units_produced"], 4);
        assert_eq!(t["total_print_time_minutes"], 245);
        assert_eq!(t["total_print_hours"], 4.1);
        assert_eq!(t["success_rate"], 80.0);
        assert_eq!(t["average_job_time_minutes"], 49.0);
        assert_eq!(t["average_jobs_per_day"], 0.6);
    }

    // Printers over six closed days (8,640 minutes each): P1 printed 180 minutes, P2 20.
    let closed = format!("start_date={}&end_date={}", day(6), day(1));
    let printers = f
        .get(&app, &format!("/api/v1/analytics/printers?{closed}"))
        .await;
    let p1 = find(&printers["printers"], "id", &f.p1);
    assert_eq!(p1["name"], "A1M-01");
    assert_eq!(p1["printer_id"], 1);
    assert_eq!(
        (&p1["jobs_completed"], &p1["jobs_failed"]),
        (&json!(3), &json!(0))
    );
    assert_eq!(p1["print_time_minutes"], 180);
    assert_eq!(p1["print_hours"], 3.0);
    assert_eq!(p1["success_rate"], 100.0);
    assert_eq!(p1["utilization_percentage"], 2.1);
    let p2 = find(&printers["printers"], "id", &f.p2);
    assert_eq!(
        (&p2["jobs_completed"], &p2["jobs_failed"], &p2["failures"]),
        (&json!(0), &json!(1), &json!(2))
    );
    assert_eq!(p2["utilization_percentage"], 0.2);
    let t = &printers["totals"];
    assert_eq!(
        (&t["printers"], &t["jobs_completed"], &t["jobs_failed"]),
        (&json!(2), &json!(3), &json!(1))
    );
    assert_eq!(t["success_rate"], 75.0);
    assert_eq!(t["print_hours"], 3.3);
    assert_eq!(t["available_hours"], 144.0);
    assert_eq!(t["utilization_percentage"], 1.2);

    // Failures: by cause, by printer, by day, the latest with their job's and printer's names.
    let failures = f
        .get(&app, "/api/v1/analytics/failures?days=7&limit=2")
        .await;
    assert_eq!(failures["total"], 3);
    assert_eq!(failures["unresolved"], 3);
    assert_eq!(
        failures["by_type"],
        json!([
            { "failure_type": "nozzle_clog", "count": 2, "percentage": 66.7 },
            { "failure_type": "thermal", "count": 1, "percentage": 33.3 },
        ])
    );
    assert_eq!(failures["by_printer"][0]["name"], "A1M-02");
    assert_eq!(failures["by_printer"][0]["failures"], 2);
    assert_eq!(failures["by_printer"][0]["failure_rate"], 50.0); // one failed, one completed today
    assert_eq!(failures["by_printer"][1]["failures"], 1);
    assert_eq!(find(&failures["daily"], "date", &day(1))["failures"], 1);
    assert_eq!(find(&failures["daily"], "date", &day(3))["jobs_failed"], 1);
    let recent = failures["recent"].as_array().unwrap();
    assert_eq!(recent.len(), 2);
    assert_eq!(recent[0]["created_at"], now.as_str());
    assert_eq!(recent[0]["printer_name"], "A1M-01");
    assert_eq!(recent[1]["failure_type"], "thermal");
    assert_eq!(recent[1]["job_name"], "sample-a.3mf");
    assert_eq!(recent[1]["print_job_id"], failed.as_str());

    // Revenue in cents; the cancelled order counts for nothing; profit leaves out shipping and tax.
    let revenue = f.get(&app, "/api/v1/analytics/revenue?days=7").await;
    assert_eq!(
        revenue["totals"],
        json!({ "order_count": 3, "revenue": 6699, "profit": 5999, "average_order_value": 2233,
                "average_daily_revenue": 957 })
    );
    let platforms: Vec<&str> = revenue["by_platform"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["platform"].as_str().unwrap())
        .collect();
    assert_eq!(platforms, ["etsy", "manual", "amazon"]);
    assert_eq!(revenue["by_platform"][0]["profit"], 3000);
    let d1 = find(&revenue["daily"], "date", &day(1));
    assert_eq!(
        (&d1["order_count"], &d1["revenue"]),
        (&json!(1), &json!(2000))
    );

    // Stock and what was used.
    let inventory = f.get(&app, "/api/v1/analytics/inventory?days=7").await;
    let goods = &inventory["finished_goods"];
    assert_eq!(
        (&goods["total"], &goods["low_stock"], &goods["out_of_stock"]),
        (&json!(2), &json!(1), &json!(1))
    );
    assert_eq!(
        goods["low_stock_items"][0]["sku"], "MUG",
        "none ready first"
    );
    assert_eq!(goods["units_in_stock"], 2);
    assert_eq!(inventory["filament"]["low"], 1);
    assert_eq!(
        inventory["filament"]["low_spools"][0]["remaining_grams"],
        50.0
    );
    assert_eq!(
        inventory["material_usage"]["by_type"],
        json!([{ "material_type": "component", "usage_amount": 4.0, "uses": 1, "unit": "units" }])
    );
    assert_eq!(
        inventory["material_usage"]["by_material"][0]["name"],
        "6x2 mm magnet"
    );

    // The farm now.
    let overview = f.get(&app, "/api/v1/analytics/overview").await;
    assert_eq!(overview["printers"]["total"], 2);
    assert_eq!(overview["jobs"]["queued"], 1);
    assert_eq!(overview["jobs"]["by_status"]["printing"], 0);
    assert_eq!(
        overview["hubs"],
        json!({ "total": 0, "online": 0, "offline": 0 })
    );
    let today = &overview["today"];
    assert_eq!(
        (
            &today["jobs_completed"],
            &today["failures"],
            &today["revenue"]
        ),
        (&json!(1), &json!(1), &json!(999))
    );
    let alerts = &overview["alerts"];
    assert_eq!(
        (
            &alerts["low_stock"],
            &alerts["out_of_stock"],
            &alerts["low_filament"]
        ),
        (&json!(1), &json!(1), &json!(1))
    );
    assert_eq!(alerts["unresolved_failures"], 3);

    // A viewer reads every report; another farm's owner sees only their own (empty) farm
    // and is refused this one.
    for route in [
        "overview",
        "production",
        "printers",
        "failures",
        "inventory",
        "revenue",
    ] {
        let path = format!("/api/v1/analytics/{route}");
        app.get(&path, &viewer.token, Some(&f.farm))
            .await
            .expect(200);
        app.get(&path, &bob.token, Some(&f.farm)).await.expect(403);
    }
    let bobs = app
        .get(
            "/api/v1/analytics/production?days=7",
            &bob.token,
            Some(&bobs_farm),
        )
        .await;
    assert_eq!(bobs.data()["totals"]["jobs_completed"], 0);
    let bobs = app
        .get("/api/v1/analytics/failures", &bob.token, Some(&bobs_farm))
        .await;
    assert_eq!(
        (&bobs.data()["total"], &bobs.data()["unresolved"]),
        (&json!(0), &json!(0))
    );
    let bobs = app
        .get("/api/v1/analytics/revenue", &bob.token, Some(&bobs_farm))
        .await;
    assert_eq!(bobs.data()["totals"]["order_count"], 0);

    // A bad range names its field.
    for (query, field) in [
        ("start_date=2026-02-30", "start_date"),
        ("start_date=2026-03-10&end_date=2026-03-01", "end_date"),
        ("start_date=2024-01-01&end_date=2025-06-01", "end_date"),
        ("days=400", "days"),
        ("days=soon", "days"),
    ] {
        let bad = app
            .get(
                &format!("/api/v1/analytics/production?{query}"),
                &f.owner.token,
                Some(&f.farm),
            )
            .await;
        bad.expect(400);
        assert_eq!(bad.code(), "VALIDATION_ERROR");
        assert_eq!(bad.fields(), [field], "{query}");
    }
    let bad = app
        .get(
            "/api/v1/analytics/failures?limit=0",
            &f.owner.token,
            Some(&f.farm),
        )
        .await;
    assert_eq!(bad.fields(), ["limit"]);

    // The page draws the same figures, for a viewer too, without inline styles or scripts.
    let browser = Browser::new(&app);
    browser.sign_in(&viewer).await;
    let page = browser.get("/analytics?days=7").await;
    let d3 = &day(3)[5..];
    page.expect(200)
        .shows(r#"aria-current="page">Last 7 days"#)
        .shows(r#"data-figure="jobs_completed"><span class="tile-count">4</span>"#)
        .shows(r#"<span class="tile-count">80 %</span>"#)
        .shows(&format!("<title>{d3}: 2 completed, 1 failed</title>"))
        .shows(&format!("<title>{d3}: 66.7 %</title>"))
        .shows("<title>A1M-01: ")
        .shows("<title>nozzle_clog: 2</title>")
        .shows(&format!("<title>{d3}: 37 revenue</title>"))
        .shows("66.99");
    assert!(!page.body.contains("style=") && !page.body.contains("<script>"));
}

/// Every range report of the farm for the range `query` asks.
async fn reports(app: &TestApp, f: &Farm, query: &str) -> Vec<Value> {
    let mut all = Vec::new();
    for route in ["production", "printers", "failures", "inventory", "revenue"] {
        all.push(
            f.get(app, &format!("/api/v1/analytics/{route}?{query}"))
                .await,
        );
    }
    all
}

/// The farm's day cache rows: (date, stale).
async fn cached_days(app: &TestApp, f: &Farm) -> Vec<(String, i64)> {
    let mut conn = app.state.store.conn().await.unwrap();
    sqlx::query_as("SELECT date, stale FROM daily_analytics WHERE tenant_id = $1 ORDER BY date")
        .bind(&f.farm)
        .fetch_all(&mut *conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_change_to_a_closed_day_shows_up_and_the_cache_always_equals_the_real_tables() {
    let app = TestApp::spawn().await;
    let f = farm(&app, "cleo").await;
    let done = f
        .finished(&app, &f.p1, JobStatus::Completed, &days_ago(2, 10), 60)
        .await;
    let failed = f
        .finished(&app, &f.p2, JobStatus::Failed, &days_ago(2, 11), 30)
        .await;
    let order = f
        .order(&app, "etsy", &day(2), json!({ "items": [{ "sku": "X", "product_name": "Vase", "quantity": 1, "unit_price": 1000 }] }))
        .await;
    // A print in a month that a quarter's range holds whole: its printer's figures are read
    // from the month's rollup once built.
    let old = f
        .finished(&app, &f.p1, JobStatus::Completed, &days_ago(45, 10), 50)
        .await;
    let first_of = |months_back: u32| {
        let today = Utc::now().date_naive();
        let first = today.with_day(1).unwrap();
        first
            .checked_sub_months(chrono::Months::new(months_back))
            .unwrap()
            .to_string()
    };
    let quarter = format!("start_date={}&end_date={}", first_of(3), day(1));
    let p1_in =
        |report: &[Value]| find(&report[1]["printers"], "id", &f.p1)["jobs_completed"].clone();
    let before = reports(&app, &f, &quarter).await;
    assert_eq!(p1_in(&before), 2);
    assert_eq!(
        reports(&app, &f, &quarter).await,
        before,
        "from the rollups"
    );
    let mut conn = app.state.store.conn().await.unwrap();
    let (month_fresh,): (i64,) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM monthly_analytics WHERE tenant_id = $1 AND month = $2 AND stale = 0",
    )
    .bind(&f.farm)
    .bind(&days_ago(45, 10)[..7])
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    assert_eq!(month_fresh, 1, "the old print's month is rolled up");
    app.delete(
        &format!("/api/v1/jobs/{old}"),
        &f.owner.token,
        Some(&f.farm),
    )
    .await
    .expect(200);
    let after_old = reports(&app, &f, &quarter).await;
    assert_eq!(
        p1_in(&after_old),
        1,
        "a change to a rolled-up month shows up"
    );
    assert_eq!(after_old[0]["totals"]["jobs_completed"], 1);

    // The first read builds the closed days; the second is served from them. (Closed days
    // only: a range with today in it has a utilisation that grows by the minute.)
    let week = format!("start_date={}&end_date={}", day(6), day(1));
    let first = reports(&app, &f, &week).await;
    let cached = cached_days(&app, &f).await;
    assert!(cached.contains(&(day(2), 0)), "{cached:?}");
    assert_eq!(
        cached
            .iter()
            .filter(|(d, stale)| *d >= day(6) && *d < day(0) && *stale == 0)
            .count(),
        6,
        "the six closed days"
    );
    assert_eq!(reports(&app, &f, &week).await, first);
    let d2 = |production: &Value| find(&production["daily"], "date", &day(2)).clone();
    assert_eq!(
        (
            d2(&first[0])["jobs_completed"].clone(),
            d2(&first[0])["jobs_failed"].clone()
        ),
        (json!(1), json!(1))
    );

    // The past day changes: its completed job is deleted, a print of that day reports late,
    // a failure is recorded late, and its order is re-dated to the day before.
    app.delete(
        &format!("/api/v1/jobs/{done}"),
        &f.owner.token,
        Some(&f.farm),
    )
    .await
    .expect(200);
    assert!(
        cached_days(&app, &f).await.contains(&(day(2), 1)),
        "marked stale by the delete"
    );
    f.finished(&app, &f.p2, JobStatus::Completed, &days_ago(2, 22), 40)
        .await;
    f.failure(
        &app,
        &f.p2,
        &failed,
        FailureType::BedAdhesion,
        &days_ago(2, 23),
    )
    .await;
    app.put(
        &format!("/api/v1/orders/{order}"),
        &f.owner.token,
        Some(&f.farm),
        json!({ "order_date": day(3) }),
    )
    .await
    .expect(200);

    let after = reports(&app, &f, &week).await;
    let production = d2(&after[0]);
    assert_eq!(
        (&production["jobs_completed"], &production["jobs_failed"]),
        (&json!(1), &json!(1))
    );
    assert_eq!(production["total_print_time_minutes"], 70);
    let p1 = find(&after[1]["printers"], "id", &f.p1);
    assert_eq!(p1["jobs_completed"], 0, "the deleted job counts no more");
    let p2 = find(&after[1]["printers"], "id", &f.p2);
    assert_eq!(
        (&p2["jobs_completed"], &p2["failures"]),
        (&json!(1), &json!(1))
    );
    assert_eq!(after[2]["by_type"][0]["failure_type"], "bed_adhesion");
    assert_eq!(find(&after[4]["daily"], "date", &day(2))["revenue"], 0);
    assert_eq!(find(&after[4]["daily"], "date", &day(3))["revenue"], 1000);

    // A retried failure leaves its day; a cancelled order leaves its revenue.
    app.post(
        &format!("/api/v1/jobs/{failed}/retry"),
        &f.owner.token,
        Some(&f.farm),
        json!({}),
    )
    .await
    .expect(200);
    app.put(
        &format!("/api/v1/orders/{order}"),
        &f.owner.token,
        Some(&f.farm),
        json!({ "status": "cancelled" }),
    )
    .await
    .expect(200);
    let last = reports(&app, &f, &week).await;
    assert_eq!(d2(&last[0])["jobs_failed"], 0);
    assert_eq!(last[4]["totals"]["revenue"], 0);

    // A removed printer leaves the printers' report; what it printed still counts for the farm.
    app.delete(
        &format!("/api/v1/printers/{}", f.p2),
        &f.owner.token,
        Some(&f.farm),
    )
    .await
    .expect(200);
    let without = reports(&app, &f, &week).await;
    assert_eq!(without[1]["totals"]["printers"], 1);
    assert_eq!(without[1]["printers"][0]["id"], f.p1.as_str());
    assert_eq!(without[0], last[0]);
    let last = without;

    // Whatever the cache holds, the answers are the real tables': the same without any
    // cache row, and the same again from the rows that rebuilds.
    let built = reports(&app, &f, &quarter).await;
    let mut conn = app.state.store.conn().await.unwrap();
    for table in ["daily_analytics", "monthly_analytics"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE tenant_id = $1"
        )))
        .bind(&f.farm)
        .execute(&mut *conn)
        .await
        .unwrap();
    }
    drop(conn);
    assert_eq!(reports(&app, &f, &week).await, last);
    assert_eq!(reports(&app, &f, &quarter).await, built);
    assert_eq!(reports(&app, &f, &quarter).await, built);
}
