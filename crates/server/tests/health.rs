//! Health endpoints and the OpenAPI document.

use crate::common;

use common::{As, TestApp};
use reqwest::Method;

#[tokio::test]
async fn health_endpoints_report_each_dependency() {
    let app = TestApp::spawn().await;
    for path in ["/health", "/health/live", "/health/ready"] {
        let answer = app.call(Method::GET, path, As::Nobody, None, None).await;
        answer.expect(200);
        assert_eq!(answer.body["success"], true, "{path}");
    }
    let detailed = app
        .call(Method::GET, "/health/detailed", As::Nobody, None, None)
        .await;
    detailed.expect(200);
    let checks = &detailed.data()["checks"];
    assert_eq!(checks["database"]["status"], "ok");
    let expected = if std::env::var("PRINTFARM_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(checks["database"]["dialect"], expected);
    assert_eq!(checks["file_store"]["status"], "ok");
    assert_eq!(checks["queue"]["pending"], 0);
    assert_eq!(checks["queue"]["dead_letters"], 0);
    assert_eq!(
        checks["bus"]["kind"], "in_process",
        "one node: nothing to reach"
    );
    assert!(detailed.data()["node_id"].is_string());
    assert_eq!(detailed.data()["warnings"], serde_json::json!([]));

    // A dead letter is not an outage: the answer stays 200 and says what needs a person.
    let mut conn = app.state.store.conn().await.unwrap();
    sqlx::query(
        "INSERT INTO queue_messages (id, queue, payload, status, attempts, max_attempts, run_at, created_at, updated_at)
         VALUES ('m-dead', 'notifications', '{}', 'dead', 10, 10, $1, $1, $1)",
    )
    .bind("2026-01-01T00:00:00.000Z")
    .execute(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    let detailed = app
        .call(Method::GET, "/health/detailed", As::Nobody, None, None)
        .await;
    detailed.expect(200);
    assert_eq!(detailed.data()["checks"]["queue"]["dead_letters"], 1);
    let warnings = detailed.data()["warnings"].to_string();
    assert!(
        warnings.contains("1 message(s) of the notifications queue used their last attempt"),
        "{warnings}"
    );
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_with_its_access() {
    let app = TestApp::spawn().await;
    let doc = app
        .call(Method::GET, "/api/v1/openapi.json", As::Nobody, None, None)
        .await;
    doc.expect(200);
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc.body["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/auth/sign-in/email", "post"),
        ("/api/v1/auth/get-session", "get"),
        ("/api/v1/tenants", "get"),
        ("/api/v1/tenants/{tenant_id}/members/{user_id}", "delete"),
        ("/api/v1/tenants/hub-token/regenerate", "post"),
        ("/health/detailed", "get"),
    ] {
        let op = &paths[path][method];
        assert!(op.is_object(), "{method} {path} is documented");
        assert!(op["summary"].is_string());
        assert!(op["x-printfarm-access"]["kind"].is_string());
    }
    let member = &paths["/api/v1/tenants/{tenant_id}/members"]["post"];
    assert_eq!(member["x-printfarm-access"]["role"], "admin");
    assert_eq!(
        member["requestBody"]["content"]["application/json"]["example"]["role"],
        "operator"
    );
}

#[tokio::test]
async fn every_operation_has_a_unique_id_a_summary_and_an_access_rule() {
    let app = TestApp::spawn().await;
    let doc = app
        .call(Method::GET, "/api/v1/openapi.json", As::Nobody, None, None)
        .await;
    let mut ids = std::collections::HashSet::new();
    let mut operations = 0;
    for (path, item) in doc.body["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(ids.insert(id.to_string()), "operationId {id} is used twice");
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{method} {path}"
            );
            assert!(
                op["x-printfarm-access"]["kind"].is_string(),
                "{method} {path}"
            );
            for name in path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            {
                let declared = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|p| p["name"] == name && p["in"] == "path");
                assert!(
                    declared,
                    "{method} {path} declares its path parameter {name}"
                );
            }
        }
    }
    assert!(operations >= 70, "{operations} operations documented");
}

/// The value of the sample `name{labels}` in a Prometheus text answer.
fn sample(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name_and_labels)?.trim().parse().ok())
}

#[tokio::test]
async fn metrics_are_off_without_a_token_and_count_requests_by_route_for_the_scraper() {
    let off = TestApp::spawn().await;
    let answer = off
        .request(Method::GET, "/metrics", As::Nobody)
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status(), 404, "no metrics_token: off");
    off.stop().await;

    let app = TestApp::spawn_with(|s| s.metrics_token = Some("scrape-me-0123456789".into())).await;
    let (owner, farm) = app.signed_up_owner("mona").await;
    for _ in 0..3 {
        app.get("/api/v1/printers", &owner.token, Some(&farm))
            .await
            .expect(200);
    }
    app.get("/api/v1/printers/not-a-printer", &owner.token, Some(&farm))
        .await
        .expect(404);
    // A dead letter in the print-events queue shows as one.
    let mut conn = app.state.store.conn().await.expect("database");
    sqlx::query(
        "INSERT INTO queue_messages (id, queue, payload, status, attempts, max_attempts, run_at, created_at, updated_at)
         VALUES ('m-1', 'print-events', '{}', 'dead', 5, 5, $1, $1, $1)",
    )
    .bind(store::now_text())
    .execute(&mut *conn)
    .await
    .expect("a dead message");
    drop(conn);

    for wrong in [None, Some("Bearer nope")] {
        let mut request = app.request(Method::GET, "/metrics", As::Nobody);
        if let Some(wrong) = wrong {
            request = request.header("authorization", wrong);
        }
        let answer = request.send().await.expect("answer");
        assert_eq!(answer.status(), 401);
        let body = answer.text().await.expect("text");
        assert!(!body.contains("printfarm_"), "no figures without the token");
    }
    let answer = app
        .request(Method::GET, "/metrics", As::Nobody)
        .header("authorization", "Bearer scrape-me-0123456789")
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status(), 200);
    assert!(
        answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = answer.text().await.expect("text");
    let route = r#"method="GET",route="/api/v1/printers/{printer_id}""#;
    assert_eq!(
        sample(
            &text,
            r#"printfarm_http_requests_total{method="GET",route="/api/v1/printers",status="200"}"#
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!(r#"printfarm_http_requests_total{{{route},status="404"}}"#)
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            &format!("printfarm_http_request_duration_seconds_count{{{route}}}")
        ),
        Some(1.0)
    );
    assert!(!text.contains("not-a-printer"), "ids are never labels");
    assert_eq!(
        sample(&text, r#"printfarm_queue_dead{queue="print-events"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, r#"printfarm_queue_due{queue="notifications"}"#),
        Some(0.0)
    );
    assert_eq!(sample(&text, "printfarm_hub_sockets"), Some(0.0));
    assert!(sample(&text, "printfarm_database_pool_connections").is_some_and(|n| n >= 1.0));
    assert!(text.trim_end().ends_with("# EOF"));
    app.stop().await;
}
