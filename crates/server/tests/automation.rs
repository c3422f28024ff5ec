//! Automation that runs, and notifications: rules checked on the way in, run on real farm
//! events within their limits with every run recorded, tried by hand and on a schedule;
//! mail reaching an SMTP sink, signed webhooks reaching a receiver, and a failed delivery
//! becoming a dead letter that is retried from the dead-letter view.

use crate::common;

use common::sinks::{SmtpSink, WebhookReceiver};
use common::{Account, Answer, TestApp};
use serde_json::{Value, json};

/// An owner's farm and a way to call it.
struct Farm {
    owner: Account,
    farm: String,
}

impl Farm {
    async fn new(app: &TestApp) -> Farm {
        let (owner, farm) = app.signed_up_owner("ruth").await;
        Farm { owner, farm }
    }

    async fn get(&self, app: &TestApp, path: &str) -> Answer {
        app.get(path, &self.owner.token, Some(&self.farm)).await
    }

    async fn post(&self, app: &TestApp, path: &str, body: Value) -> Answer {
        app.post(path, &self.owner.token, Some(&self.farm), body)
            .await
    }

    async fn put(&self, app: &TestApp, path: &str, body: Value) -> Answer {
        app.put(path, &self.owner.token, Some(&self.farm), body)
            .await
    }

    /// Waits until `path` answers with a list `done` accepts.
    async fn until(
        &self,
        app: &TestApp,
        path: &str,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let answer = self.get(app, path).await;
            answer.expect(200);
            if done(answer.data()) {
                return answer.data().clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}: {}",
                answer.body
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

fn len(value: &Value) -> usize {
    value.as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn rules_are_checked_on_the_way_in_and_readable_by_every_member() {
    let app = TestApp::spawn().await;
    let farm = Farm::new(&app).await;
    let types = farm.get(&app, "/api/v1/automation/trigger-types").await;
    types.expect(200);
    assert_eq!(len(types.data()), 14);
    let failed = types
        .data()
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == "print_failed")
        .unwrap();
    assert!(
        failed["fields"]
            .as_array()
            .unwrap()
            .contains(&json!("progress"))
    );
    let actions = farm.get(&app, "/api/v1/automation/action-types").await;
    let script = actions
        .data()
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["type"] == "run_script")
        .unwrap();
    assert_eq!(script["supported"], false);

    // Bad input: every wrong field named, nothing stored.
    let bad = farm
        .post(
            &app,
            "/api/v1/automation",
            json!({ "name": "", "trigger_type": "print_failed",
                    "trigger_conditions": [{ "field": "stock_level", "op": "gt", "value": 1 },
                                           { "field": "progress", "op": "gte", "value": "half" }],
                    "action_type": "create_task", "action_config": { "task_type": "nap" },
                    "cooldown_seconds": -5, "printer_ids": ["no-such-printer"] }),
        )
        .await;
    bad.expect(400);
    let mut fields = bad.fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            "action_config.task_type",
            "action_config.title",
            "cooldown_seconds",
            "name",
            "trigger_conditions[0]",
            "trigger_conditions[1]"
        ]
    );
    let script = farm
        .post(
            &app,
            "/api/v1/automation",
            json!({ "name": "x", "trigger_type": "print_failed", "action_type": "run_script" }),
        )
        .await;
    script.expect(400);
    assert_eq!(script.fields(), ["action_type"]);
    let schedule = farm
        .post(
            &app,
            "/api/v1/automation",
            json!({ "name": "x", "trigger_type": "schedule", "schedule_cron": "0 8 * *", "schedule_timezone": "Mars/Base",
                    "action_type": "pause_queue" }),
        )
        .await;
    schedule.expect(400);
    assert_eq!(schedule.fields(), ["schedule_cron", "schedule_timezone"]);
    let unknown_printer = farm
        .post(
            &app,
            "/api/v1/automation",
            json!({ "name": "x", "trigger_type": "printer_offline", "action_type": "pause_queue", "printer_ids": ["P-404"] }),
        )
        .await;
    unknown_printer.expect(400);
    assert_eq!(unknown_printer.fields(), ["printer_ids"]);
    assert_eq!(
        farm.get(&app, "/api/v1/automation").await.body["meta"]["total"],
        0
    );

    // A good rule, in the original's object form of conditions, read back as a list.
    let rule = farm
        .post(
            &app,
            "/api/v1/automation",
            json!({ "name": "Big orders", "trigger_type": "order_received",
                    "trigger_conditions": { "platform": "manual" },
                    "action_type": "create_task",
                    "action_config": { "task_type": "quality_check", "title": "Pack {order_number} with care" },
                    "max_triggers_per_hour": 5 }),
        )
        .await;
    rule.expect(201);
    let id = rule.data()["id"].as_str().unwrap().to_string();
    assert_eq!(
        rule.data()["trigger_conditions"],
        json!([{ "field": "platform", "op": "eq", "value": "manual" }])
    );
    assert_eq!(rule.data()["is_enabled"], true);
    let off = farm
        .put(&app, &format!("/api/v1/automation/{id}/toggle"), json!({}))
        .await;
    off.expect(200);
    assert_eq!(off.data()["is_enabled"], false);
    let listed = farm
        .get(
            &app,
            "/api/v1/automation?is_enabled=false&trigger_type=order_received",
        )
        .await;
    assert_eq!(listed.body["meta"]["total"], 1);
    let changed = farm
        .put(
            &app,
            &format!("/api/v1/automation/{id}"),
            json!({ "trigger_type": "print_failed" }),
        )
        .await;
    // The stored condition names a fact print_failed does not have.
    changed.expect(400);
    assert_eq!(changed.fields(), ["trigger_conditions[0]"]);

    // A viewer reads rules and their runs but changes nothing.
    let viewer = app.signed_up("vic").await;
    app.add_member(&farm.owner, &farm.farm, &viewer, "viewer")
        .await;
    app.get(
        &format!("/api/v1/automation/{id}"),
        &viewer.token,
        Some(&farm.farm),
    )
    .await
    .expect(200);
    app.get(
        &format!("/api/v1/automation/{id}/runs"),
        &viewer.token,
        Some(&farm.farm),
    )
    .await
    .expect(200);
    app.post(
        "/api/v1/automation",
        &viewer.token,
        Some(&farm.farm),
        json!({ "name": "x" }),
    )
    .await
    .expect(403);
    app.delete(
        &format!("/api/v1/automation/{id}"),
        &viewer.token,
        Some(&farm.farm),
    )
    .await
    .expect(403);
    app.delete(
        &format!("/api/v1/automation/{id}"),
        &farm.owner.token,
        Some(&farm.farm),
    )
    .await
    .expect(200);
    farm.get(&app, &format!("/api/v1/automation/{id}"))
        .await
        .expect(404);
}

#[tokio::test]
async fn rules_run_on_farm_events_within_their_limits_by_hand_and_on_schedule() {
    let app = TestApp::spawn().await;
    let farm = Farm::new(&app).await;
    let rule = farm
        .post(
            &app,
            "/api/v1/automation",
            json!({ "name": "Pack big orders", "trigger_type": "order_received",
                    "trigger_conditions": [{ "field": "total_cents", "op": "gte", "value": 1000 }],
                    "action_type": "create_task",
                    "action_config": { "task_type": "quality_check", "title": "Pack {order_number} for {customer_name}", "priority": "high" },
                    "max_triggers_per_hour": 2 }),
        )
        .await;
    rule.expect(201);
    let id = rule.data()["id"].as_str().unwrap().to_string();
    let pause = farm
        .post(
            &app,
            "/api/v1/automation",
            json!({ "name": "Hold the queue for a rush", "trigger_type": "order_received",
                    "trigger_conditions": [{ "field": "customer_name", "op": "contains", "value": "rush" }],
                    "action_type": "pause_queue" }),
        )
        .await;
    pause.expect(201);
    let farm_path = format!("/api/v1/tenants/{}", farm.farm);
    farm.put(&app, &farm_path, json!({ "auto_dispatch": true }))
        .await
        .expect(200);

    let order = |name: &str, cents: i64| json!({ "customer_name": name, "items": [{ "sku": "GIFT", "quantity": 1, "unit_price": cents }] });
    for (name, cents) in [
        ("Ann", 1500),
        ("Small Sam", 300),
        ("Bo rush", 2500),
        ("Cy", 1200),
    ] {
        farm.post(&app, "/api/v1/orders", order(name, cents))
            .await
            .expect(201);
    }
    // Three orders met the condition: two ran, the third was held back by the hourly limit.
    let runs = farm
        .until(
            &app,
            &format!("/api/v1/automation/{id}/runs"),
            "three runs",
            |runs| len(runs) == 3,
        )
        .await;
    let mut outcomes: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    outcomes.sort();
    assert_eq!(outcomes, ["skipped", "succeeded", "succeeded"]);
    let skipped = runs
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["outcome"] == "skipped")
        .unwrap();
    assert!(
        skipped["detail"]
            .as_str()
            .unwrap()
            .contains("2 time(s) in the last hour"),
        "{skipped}"
    );
    let tasks = farm
        .get(&app, "/api/v1/worklist?task_type=quality_check")
        .await;
    assert_eq!(tasks.body["meta"]["total"], 2);
    let titles: Vec<&str> = tasks
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert!(
        titles
            .iter()
            .all(|t| t.starts_with("Pack ") && !t.contains("Sam")),
        "{titles:?}"
    );
    assert!(
        titles.iter().any(|t| t.ends_with("for Ann"))
            || titles.iter().any(|t| t.ends_with("for Bo rush")),
        "{titles:?}"
    );
    assert_eq!(tasks.data()[0]["priority"], "high");
    let counted = farm.get(&app, &format!("/api/v1/automation/{id}")).await;
    assert_eq!(counted.data()["trigger_count"], 2);
    // The rush order paused dispatch.
    let pause_id = pause.data()["id"].as_str().unwrap();
    farm.until(
        &app,
        &format!("/api/v1/automation/{pause_id}/runs"),
        "the pause",
        |runs| len(runs) == 1,
    )
    .await;
    let tenant = farm.get(&app, &farm_path).await;
    assert_eq!(tenant.data()["auto_dispatch"], 0, "{}", tenant.body);

    // Tried by hand: it runs whatever its limits, and is not counted against them.
    let tried = farm
        .post(&app, &format!("/api/v1/automation/{id}/test"), json!({ "facts": { "order_number": "TRY-1", "customer_name": "Dee", "total_cents": 10 } }))
        .await;
    tried.expect(200);
    assert_eq!(tried.data()["run"]["outcome"], "succeeded");
    assert_eq!(tried.data()["run"]["by_hand"], true);
    assert_eq!(tried.data()["conditions_hold"], false);
    let tasks = farm
        .get(&app, "/api/v1/worklist?task_type=quality_check")
        .await;
    assert!(
        tasks
            .data()
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["title"] == "Pack TRY-1 for Dee")
    );
    assert_eq!(
        farm.get(&app, &format!("/api/v1/automation/{id}"))
            .await
            .data()["trigger_count"],
        2
    );

    // A schedule runs once for its time, however often it is looked at.
    let yearly = farm
        .post(
            &app,
            "/api/v1/automation",
            json!({ "name": "New year's service", "trigger_type": "schedule", "schedule_cron": "0 3 1 1 *",
                    "schedule_timezone": "Europe/Berlin", "action_type": "create_task",
                    "action_config": { "task_type": "maintenance", "title": "Yearly service ({scheduled_at})" } }),
        )
        .await;
    yearly.expect(201);
    let next = yearly.data()["next_run_at"].as_str().unwrap().to_string();
    assert!(
        next.ends_with("-01-01T02:00:00.000Z"),
        "03:00 in Berlin is 02:00 UTC: {next}"
    );
    let after = domain::time::parse(&next).unwrap() + chrono::Duration::minutes(5);
    assert_eq!(
        server::automation::schedule::tick(&app.state, after)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        server::automation::schedule::tick(&app.state, after)
            .await
            .unwrap(),
        0
    );
    let yearly_id = yearly.data()["id"].as_str().unwrap();
    let runs = farm
        .until(
            &app,
            &format!("/api/v1/automation/{yearly_id}/runs"),
            "the yearly run",
            |runs| len(runs) == 1,
        )
        .await;
    assert_eq!(runs[0]["outcome"], "succeeded");
    let service = farm
        .get(&app, "/api/v1/worklist?task_type=maintenance")
        .await;
    assert_eq!(
        service.data()[0]["title"],
        format!("Yearly service ({next})")
    );
}

#[tokio::test]
async fn notifications_reach_mail_and_signed_webhooks_and_failed_ones_are_retried() {
    let mut sink = SmtpSink::start().await;
    let relay = sink.settings();
    let app = TestApp::spawn_with(|s| {
        s.smtp = Some(relay);
        s.notification_attempts = 2;
    })
    .await;
    let farm = Farm::new(&app).await;
    let mut receiver = WebhookReceiver::start().await;

    // Channels are checked; a webhook's URL and secret are never shown again.
    let bad = farm
        .post(
            &app,
            "/api/v1/notifications/channels",
            json!({ "name": "x", "kind": "pager", "events": ["lunch"] }),
        )
        .await;
    bad.expect(400);
    let mut fields = bad.fields();
    fields.sort();
    assert_eq!(fields, ["events", "kind", "target"]);
    let mail = farm
        .post(
            &app,
            "/api/v1/notifications/channels",
            json!({ "name": "Leads", "kind": "email", "target": "lead@farm.example, Night@Farm.example", "events": ["order_received"] }),
        )
        .await;
    mail.expect(201);
    assert_eq!(
        mail.data()["target"],
        "lead@farm.example, night@farm.example"
    );
    let hook = farm
        .post(
            &app,
            "/api/v1/notifications/channels",
            json!({ "name": "Farm bot", "kind": "webhook", "url": receiver.url, "events": ["automation", "order_received"] }),
        )
        .await;
    hook.expect(201);
    let secret = hook.data()["signing_secret"].as_str().unwrap().to_string();
    let hook_id = hook.data()["id"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    let shown = farm
        .get(&app, &format!("/api/v1/notifications/channels/{hook_id}"))
        .await;
    assert_eq!(
        shown.data()["target"],
        format!("{}/…", receiver.url.trim_end_matches("/hooks/farm-token"))
    );
    assert!(shown.data().get("signing_secret").is_none());
    assert!(!shown.body.to_string().contains("farm-token"));

    // A farm event reaches both channels: the mail, and a webhook signed with the secret.
    farm.post(&app, "/api/v1/orders", json!({ "customer_name": "Ann", "items": [{ "sku": "GIFT", "quantity": 2, "unit_price": 900 }] }))
        .await
        .expect(201);
    let letter = sink.next().await;
    let mut to = letter.recipients.clone();
    to.sort();
    assert_eq!(to, ["lead@farm.example", "night@farm.example"]);
    assert!(
        letter.data.contains("A new order came in"),
        "{}",
        letter.data
    );
    let posted = receiver.next().await;
    let signature = posted.headers["x-printfarm-signature"].to_str().unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!(server::notify::webhook::verify(
        &secret,
        signature,
        &posted.body,
        now
    ));
    assert!(!server::notify::webhook::verify(
        "whsec_other",
        signature,
        &posted.body,
        now
    ));
    let body: Value = serde_json::from_slice(&posted.body).unwrap();
    assert_eq!(body["event"], "order_received");
    assert_eq!(body["data"]["customer_name"], "Ann");
    assert_eq!(body["data"]["total_cents"], 1800);
    assert_eq!(
        posted.headers["x-printfarm-delivery"].to_str().unwrap(),
        body["id"].as_str().unwrap()
    );
    farm.until(
        &app,
        "/api/v1/notifications/log?status=sent",
        "two sent",
        |log| len(log) == 2,
    )
    .await;

    // A receiver that fails: retried, then a dead letter; retried from the dead-letter view
    // once the receiver is back, it is delivered and the log says so.
    receiver.answer(503);
    let rule = farm
        .post(
            &app,
            "/api/v1/automation",
            json!({ "name": "Tell the bot", "trigger_type": "task_completed", "action_type": "send_webhook",
                    "action_config": { "channel_id": hook_id } }),
        )
        .await;
    rule.expect(201);
    let rule_id = rule.data()["id"].as_str().unwrap();
    let tried = farm
        .post(
            &app,
            &format!("/api/v1/automation/{rule_id}/test"),
            json!({ "facts": { "task_title": "Collect A1M-01" } }),
        )
        .await;
    tried.expect(200);
    assert_eq!(
        tried.data()["run"]["outcome"],
        "succeeded",
        "{}",
        tried.body
    );
    let first = receiver.next().await;
    let second = receiver.next().await;
    assert_eq!(
        first.headers["x-printfarm-delivery"],
        second.headers["x-printfarm-delivery"]
    );
    assert_eq!(first.body, second.body, "a retry sends the same body");
    let dead = farm
        .until(
            &app,
            "/api/v1/notifications/log?status=dead",
            "a dead delivery",
            |log| len(log) == 1,
        )
        .await;
    assert_eq!(dead[0]["attempts"], 2);
    assert_eq!(dead[0]["response_status"], 503);
    assert_eq!(dead[0]["rule_id"], rule_id);
    let letters = farm
        .until(
            &app,
            "/api/v1/admin/dlq?queue=notifications",
            "the dead letter",
            |l| len(l) == 1,
        )
        .await;
    receiver.answer(204);
    let letter_id = letters[0]["id"].as_str().unwrap();
    farm.post(
        &app,
        &format!("/api/v1/admin/dlq/{letter_id}/retry"),
        json!({}),
    )
    .await
    .expect(200);
    let third = receiver.next().await;
    assert_eq!(third.body, first.body);
    let sent = farm
        .until(
            &app,
            &format!("/api/v1/notifications/log?channel_id={hook_id}&status=sent"),
            "the retried delivery",
            |log| len(log) == 2,
        )
        .await;
    assert!(
        sent.as_array()
            .unwrap()
            .iter()
            .any(|d| d["response_status"] == 204 && d["attempts"] == 3)
    );

    // The pages show the same: the rule with its run, the channels and what was sent.
    let (status, html) = app.page("/automation", &farm.owner, &farm.farm).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Tell the bot") && html.contains("queued webhook"),
        "{html}"
    );
    assert!(html.contains("(by hand)"));
    let (status, html) = app.page("/notifications", &farm.owner, &farm.farm).await;
    assert_eq!(status, 200);
    assert!(html.contains("Farm bot") && html.contains("lead@farm.example, night@farm.example"));
    assert!(html.contains("after 3 tries"), "{html}");
    assert!(
        !html.contains("farm-token"),
        "the webhook URL's secret path is never shown"
    );
    // The channel's test message goes through it too; the other farm sees none of this.
    let mail_id = mail.data()["id"].as_str().unwrap();
    farm.post(
        &app,
        &format!("/api/v1/notifications/channels/{mail_id}/test"),
        json!({}),
    )
    .await
    .expect(202);
    let test = sink.next().await;
    assert!(
        test.data.contains("PrintFarm test message for Leads"),
        "{}",
        test.data
    );
    let viewer = app.signed_up("val").await;
    app.add_member(&farm.owner, &farm.farm, &viewer, "viewer")
        .await;
    assert_eq!(app.page("/notifications", &viewer, &farm.farm).await.0, 403);
    assert_eq!(app.page("/automation", &viewer, &farm.farm).await.0, 200);

    let (other, other_farm) = app.signed_up_owner("otto").await;
    let theirs = app
        .get("/api/v1/notifications/log", &other.token, Some(&other_farm))
        .await;
    assert_eq!(theirs.body["meta"]["total"], 0);
    app.get(
        &format!("/api/v1/notifications/channels/{hook_id}"),
        &other.token,
        Some(&other_farm),
    )
    .await
    .expect(404);
}
