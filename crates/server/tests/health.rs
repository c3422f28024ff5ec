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
