//! The worklist page: as a browser without JavaScript sees it (the open tasks most urgent
//! first, filters, buttons for operators only), and one story in Chromium at a phone's size
//! (a rule made on the automation page, a task appears live, Start and Done work,
//! completing a collection clears the bed and the rule's check appears).

use crate::common;

use common::browser::Browser;
use common::chrome::{chromium, click, driver, fill, screenshot, text_of, until};
use common::{Account, TestApp};
use serde_json::{Value, json};

/// Picks the option `value` of the select `id`.
async fn select(client: &fantoccini::Client, id: &str, value: &str) {
    client
        .find(fantoccini::Locator::Id(id))
        .await
        .expect("the select")
        .select_by_value(value)
        .await
        .expect("the option");
}

async fn task(app: &TestApp, who: &Account, farm: &str, body: Value) -> String {
    let made = app
        .post("/api/v1/worklist", &who.token, Some(farm), body)
        .await;
    made.expect(201);
    made.data()["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_worklist_page_shows_open_tasks_most_urgent_first_with_buttons_for_operators() {
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("fern").await;
    let viewer = app.signed_up("vera").await;
    app.add_member(&owner, &farm, &viewer, "viewer").await;
    task(
        &app,
        &owner,
        &farm,
        json!({ "task_type": "quality_check", "title": "Check the vases", "priority": "low" }),
    )
    .await;
    let urgent = task(
        &app,
        &owner,
        &farm,
        json!({ "task_type": "maintenance", "title": "Oil the rods", "priority": "high" }),
    )
    .await;
    let done = task(
        &app,
        &owner,
        &farm,
        json!({ "task_type": "quality_check", "title": "Check the hooks" }),
    )
    .await;
    app.post(
        &format!("/api/v1/worklist/{done}/complete"),
        &owner.token,
        Some(&farm),
        json!({}),
    )
    .await
    .expect(200);

    let browser = Browser::new(&app);
    browser.sign_in(&owner).await;
    let page = browser.get("/worklist").await;
    page.expect(200)
        .shows("Oil the rods")
        .shows("Check the vases");
    let body = &page.body;
    assert!(
        !body.contains("Check the hooks"),
        "done tasks are not on the floor's list"
    );
    let first = body.find("Oil the rods").unwrap();
    assert!(
        first < body.find("Check the vases").unwrap(),
        "the urgent task comes first"
    );
    assert!(
        body.contains(&format!("/api/v1/worklist/{urgent}/complete")),
        "operators get Done"
    );
    let kind = browser.get("/worklist?type=maintenance").await;
    kind.expect(200).shows("Oil the rods");
    assert!(!kind.body.contains("Check the vases"));
    browser
        .get("/worklist?done=1")
        .await
        .expect(200)
        .shows("Check the hooks");

    let viewing = Browser::new(&app);
    viewing.sign_in(&viewer).await;
    let page = viewing.get("/worklist").await;
    page.expect(200).shows("Oil the rods");
    assert!(
        !page.body.contains("/complete"),
        "viewers read, they don't act"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_phone_an_operator_sees_a_task_arrive_starts_it_and_completing_it_clears_the_bed() {
    let Some(driver) = driver().await else {
        return;
    };
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("juno").await;
    let printer = app
        .add_printer(&owner, &farm, json!({ "name": "P1S-07", "model": "P1S" }))
        .await;
    app.put(
        &format!("/api/v1/printers/{printer}/cleared"),
        &owner.token,
        Some(&farm),
        json!({ "cleared": false }),
    )
    .await
    .expect(200);
    let client = chromium(&driver).await;
    client.set_window_size(390, 844).await.unwrap();
    let base = app.base.clone();
    client.goto(&format!("{base}/sign-in")).await.unwrap();
    fill(&client, "email", &owner.email).await;
    fill(&client, "password", common::PASSWORD).await;
    click(&client, "form.form button[type=submit]").await;
    until(&client, "the overview", &text_of("h1"), |v| {
        v == "juno farm"
    })
    .await;
    // A rule, made on the automation page: a completed task asks for a check.
    client.goto(&format!("{base}/automation")).await.unwrap();
    fill(&client, "rule-name", "Check what was collected").await;
    select(&client, "rule-trigger", "task_completed").await;
    select(&client, "rule-action", "create_task").await;
    fill(&client, "rule-title", "Check {task_title}").await;
    select(&client, "rule-task-type", "quality_check").await;
    click(&client, "#rule-new button[type=submit]").await;
    until(
        &client,
        "the rule on the page",
        "return document.querySelectorAll('#rule-list .rule-card').length;",
        |v| v == 1,
    )
    .await;
    client.goto(&format!("{base}/worklist")).await.unwrap();
    until(&client, "the live socket", &text_of("#live-state"), |v| {
        v == "Live"
    })
    .await;
    client
        .execute("window.stillTheSamePage = true; return true;", vec![])
        .await
        .unwrap();

    // A print to collect appears without a reload.
    let id = task(
        &app,
        &owner,
        &farm,
        json!({ "task_type": "collection", "title": "Collect 4 hooks from P1S-07", "priority": "high",
                "printer_id": printer }),
    )
    .await;
    let card = format!("#task-{id}");
    until(
        &client,
        "the new task on the list",
        &format!("return document.querySelectorAll('{card}').length;"),
        |v| v == 1,
    )
    .await;
    let same = client
        .execute("return window.stillTheSamePage === true;", vec![])
        .await
        .unwrap();
    assert_eq!(same, json!(true), "shown without a reload");
    let fits = client
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(fits, json!(true), "nothing runs off a phone's screen");
    let height = client
        .execute(
            &format!("return document.querySelector('{card} .btn-primary').getBoundingClientRect().height;"),
            vec![],
        )
        .await
        .unwrap();
    assert!(
        height.as_f64().unwrap() >= 48.0,
        "a button a thumb hits: {height}"
    );
    screenshot(&client, "worklist-phone").await;

    // Start, then Done: the card leaves the open list and the bed is clear.
    click(&client, &format!("{card} button[data-body*=in_progress]")).await;
    until(
        &client,
        "the task started",
        &format!("return document.querySelector('{card}')?.dataset.state;"),
        |v| v == "in_progress",
    )
    .await;
    click(&client, &format!("{card} .btn-primary")).await;
    until(
        &client,
        "the task gone from the open list",
        &format!("return document.querySelectorAll('{card}').length;"),
        |v| v == 0,
    )
    .await;
    // The rule ran on the completion: its check appears on the list, live.
    until(
        &client,
        "the rule's task on the list",
        "return [...document.querySelectorAll('.task-title')].some(t => t.textContent === 'Check Collect 4 hooks from P1S-07');",
        |v| v == true,
    )
    .await;
    let task = app
        .get(&format!("/api/v1/worklist/{id}"), &owner.token, Some(&farm))
        .await;
    assert_eq!(task.data()["status"], "completed");
    assert!(task.data()["started_at"].is_string());
    let bed = app
        .get(
            &format!("/api/v1/printers/{printer}"),
            &owner.token,
            Some(&farm),
        )
        .await;
    assert_eq!(
        bed.data()["cleared"],
        1,
        "collecting the print cleared the bed"
    );
    client.close().await.unwrap();
    app.stop().await;
}
