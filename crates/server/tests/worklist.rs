//! The worklist through the API: operators add, change, assign, start and complete tasks;
//! viewers read; bad input names its field and changes nothing; the floor hears of every
//! task that appears or moves.

use crate::common;

use common::TestApp;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn operators_run_the_worklist_and_viewers_only_read_it() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("wren").await;
    let operator = app.signed_up("olly").await;
    app.add_member(&owner, &farm, &operator, "operator").await;
    let viewer = app.signed_up("vic").await;
    app.add_member(&owner, &farm, &viewer, "viewer").await;
    let outsider = app.signed_up("otto").await;
    let tenant = domain::TenantId::parse(&farm).unwrap();
    let mut floor = app.state.realtime.subscribe(&tenant).events;

    // An operator adds a quality check, due tomorrow; the floor hears of it.
    let created = app
        .post(
            "/api/v1/worklist",
            &operator.token,
            Some(&farm),
            json!({ "task_type": "quality_check", "title": "  Check the PETG batch  ", "priority": "high",
                    "due_date": "2026-12-04", "estimated_time_minutes": 10, "metadata": { "batch": 7 } }),
        )
        .await;
    created.expect(201);
    let task = created.data().clone();
    let id = task["id"].as_str().unwrap().to_string();
    assert_eq!(task["title"], "Check the PETG batch");
    assert_eq!(task["status"], "pending");
    assert_eq!(task["priority"], "high");
    assert_eq!(task["due_date"], "2026-12-04T00:00:00.000Z");
    let heard = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let event = floor.recv().await.unwrap();
            if let proto::dashboard::ServerMessage::TaskUpdated { task_id, .. } = &event.message {
                return (task_id.clone(), event.text().to_string());
            }
        }
    })
    .await
    .expect("a task_updated message");
    assert_eq!(heard.0, id);
    assert!(heard.1.contains("\"type\":\"task_updated\""), "{}", heard.1);

    // Bad input names every field at fault and adds nothing.
    let bad = app
        .post(
            "/api/v1/worklist",
            &operator.token,
            Some(&farm),
            json!({ "task_type": "repair", "title": "", "priority": "asap", "due_date": "soon",
                    "estimated_time_minutes": -5, "metadata": [1, 2] }),
        )
        .await;
    bad.expect(400);
    let mut fields = bad.fields();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            "due_date",
            "estimated_time_minutes",
            "metadata",
            "priority",
            "task_type",
            "title"
        ]
    );
    let not_ours = app
        .post(
            "/api/v1/worklist",
            &operator.token,
            Some(&farm),
            json!({ "task_type": "maintenance", "title": "Oil", "printer_id": "999" }),
        )
        .await;
    not_ours.expect(400);
    assert_eq!(not_ours.fields(), vec!["printer_id"]);

    // Viewers read but never write; another farm's member sees nothing.
    app.get(
        &format!("/api/v1/worklist/{id}"),
        &viewer.token,
        Some(&farm),
    )
    .await
    .expect(200);
    let refused = app
        .post(
            &format!("/api/v1/worklist/{id}/complete"),
            &viewer.token,
            Some(&farm),
            json!({}),
        )
        .await;
    refused.expect(403);
    app.get(
        &format!("/api/v1/worklist/{id}"),
        &outsider.token,
        Some(&farm),
    )
    .await
    .expect(403);

    // Assigned to a member; someone outside the farm can't be given it.
    let assigned = app
        .put(
            &format!("/api/v1/worklist/{id}/assign"),
            &operator.token,
            Some(&farm),
            json!({ "assigned_to": operator.id }),
        )
        .await;
    assigned.expect(200);
    assert_eq!(assigned.data()["assigned_to"], operator.id.as_str());
    let wrong = app
        .put(
            &format!("/api/v1/worklist/{id}/assign"),
            &operator.token,
            Some(&farm),
            json!({ "assigned_to": outsider.id }),
        )
        .await;
    wrong.expect(400);
    assert_eq!(wrong.fields(), vec!["assigned_to"]);
    let mine = app
        .get(
            &format!("/api/v1/worklist?assigned_to={}&status=open", operator.id),
            &viewer.token,
            Some(&farm),
        )
        .await;
    assert_eq!(mine.data().as_array().unwrap().len(), 1);

    // PATCH changes only what it names; a status in it moves the task.
    let patched = app
        .request(
            reqwest::Method::PATCH,
            &format!("/api/v1/worklist/{id}"),
            common::As::Bearer(&operator.token),
        )
        .header("X-Tenant-Id", &farm)
        .json(&json!({ "priority": "low", "status": "in_progress" }));
    let patched = TestApp::send(patched).await;
    patched.expect(200);
    assert_eq!(patched.data()["priority"], "low");
    assert_eq!(patched.data()["status"], "in_progress");
    assert_eq!(patched.data()["title"], "Check the PETG batch");
    assert!(patched.data()["started_at"].is_string());
    let negative = app
        .put(
            &format!("/api/v1/worklist/{id}/status"),
            &operator.token,
            Some(&farm),
            json!({ "status": "completed", "actual_time_minutes": -1 }),
        )
        .await;
    negative.expect(400);
    assert_eq!(negative.fields(), vec!["actual_time_minutes"]);
    let unknown = app
        .put(
            &format!("/api/v1/worklist/{id}/status"),
            &operator.token,
            Some(&farm),
            json!({ "status": "done" }),
        )
        .await;
    unknown.expect(400);
    assert_eq!(unknown.fields(), vec!["status"]);
    let done = app
        .put(
            &format!("/api/v1/worklist/{id}/status"),
            &operator.token,
            Some(&farm),
            json!({ "status": "completed" }),
        )
        .await;
    done.expect(200);
    assert_eq!(done.data()["status"], "completed");
    assert!(done.data()["actual_time_minutes"].is_i64());
    // A change that would reopen it is refused whole: its title stays.
    let reopen = app
        .put(
            &format!("/api/v1/worklist/{id}"),
            &operator.token,
            Some(&farm),
            json!({ "title": "Renamed", "status": "pending" }),
        )
        .await;
    reopen.expect(409);
    assert_eq!(reopen.code(), "TASK_CLOSED");
    let kept = app
        .get(
            &format!("/api/v1/worklist/{id}"),
            &viewer.token,
            Some(&farm),
        )
        .await;
    assert_eq!(kept.data()["title"], "Check the PETG batch");

    // A second task, cancelled; the figures agree with the list.
    let second = app
        .post(
            "/api/v1/worklist",
            &owner.token,
            Some(&farm),
            json!({ "task_type": "quality_check", "title": "Check the lamp shades" }),
        )
        .await;
    let second = second.data()["id"].as_str().unwrap().to_string();
    app.put(
        &format!("/api/v1/worklist/{second}/status"),
        &owner.token,
        Some(&farm),
        json!({ "status": "cancelled" }),
    )
    .await
    .expect(200);
    let stats = app
        .get("/api/v1/worklist/stats", &viewer.token, Some(&farm))
        .await;
    stats.expect(200);
    assert_eq!(stats.data()["total"], 2);
    assert_eq!(stats.data()["completed"], 1);
    assert_eq!(stats.data()["cancelled"], 1);
    assert_eq!(stats.data()["pending"], 0);
    assert_eq!(stats.data()["completed_today"], 1);
    let page = app
        .get(
            "/api/v1/worklist?limit=1&page=2",
            &viewer.token,
            Some(&farm),
        )
        .await;
    assert_eq!(page.data().as_array().unwrap().len(), 1);
    assert_eq!(page.body["meta"]["total"], 2);
    assert_eq!(page.data()[0]["id"], id.as_str(), "newest first");

    // Removed: gone for everyone.
    app.delete(
        &format!("/api/v1/worklist/{second}"),
        &operator.token,
        Some(&farm),
    )
    .await
    .expect(200);
    app.get(
        &format!("/api/v1/worklist/{second}"),
        &owner.token,
        Some(&farm),
    )
    .await
    .expect(404);
    app.stop().await;
}
