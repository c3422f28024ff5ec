//! Several server nodes on one database and one NATS (`PRINTFARM_TEST_NATS_URL`, e.g.
//! `nats://127.0.0.1:4222`, which `.ci/run` sets; without it, skipped): a hub's socket is
//! held by one node, commands sent through any other reach it and bring its ack back,
//! dashboards on any node follow the farm, and a print outlives the node that started it.

use crate::common;
use common::{As, TestApp, live, proxy};
use futures::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

fn bus() -> Option<String> {
    std::env::var("PRINTFARM_TEST_NATS_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// The first of several nodes on `bus`, keeping print files in a bucket of the local S3
/// server when there is one (as `.ci/run` has), else on its own disk (the nodes share the
/// public URL, the first node's, so its links lead there).
async fn first_node(bus: String) -> TestApp {
    let bucket = common::s3_bucket().await;
    TestApp::spawn_with(|s| {
        s.bus = Some(bus);
        if let Some(bucket) = &bucket {
            bucket.use_in(s);
        }
    })
    .await
}

/// Turns the printer's light on or off through `node`.
async fn light(node: &TestApp, setup: &live::Farm, printer_id: &str, on: bool) -> common::Answer {
    setup
        .post(
            node,
            &format!("/api/v1/printers/{printer_id}/light"),
            json!({ "on": on }),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_sent_through_one_node_reaches_a_hub_on_another_and_its_ack_comes_back() {
    let Some(bus) = bus() else {
        eprintln!("PRINTFARM_TEST_NATS_URL is not set: skipped (.ci/run sets it)");
        return;
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let a = first_node(bus).await;
    let b = a.another_node().await;
    let c = a.another_node().await;
    // Each node has its own id and reports the bus among its dependencies.
    let mut ids = Vec::new();
    for node in [&a, &b, &c] {
        let health = node
            .request(Method::GET, "/health/detailed", As::Nobody)
            .send()
            .await
            .expect("health");
        assert_eq!(health.status(), 200);
        let health: Value = health.json().await.expect("json");
        let bus = &health["data"]["checks"]["bus"];
        assert_eq!(bus["status"], "ok", "{health}");
        assert_eq!(bus["kind"], "nats");
        assert!(bus["latency_ms"].is_number());
        ids.push(
            health["data"]["node_id"]
                .as_str()
                .expect("node id")
                .to_string(),
        );
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "three node ids");
    let setup = live::Farm::new(&a, "nora", 400.0).await;
    let printer_id = setup.add_printer(&a, None).await;
    let data = tempfile::tempdir().expect("dir");
    // The hub dials node B; node A and node C never hold its socket.
    let agent = live::RunningHub::start(setup.hub_config(&b, data.path()));
    setup.printer_ready(&b, &printer_id).await;
    assert!(b.state.hub_link.is_connected(&setup.hub_id));
    assert!(!a.state.hub_link.is_connected(&setup.hub_id));

    // Node A learns from the bus that the hub is connected elsewhere.
    setup.hub_connected(&a, true).await;

    // A command through node A: the hub on node B acknowledges it, and the printer's
    // report (through node B, written to the shared database) shows the light on.
    let lit = light(&a, &setup, &printer_id, true).await;
    assert!(lit.status.is_success(), "{:?}", lit.body);

    // A request whose ack carries data: a camera picture through node C.
    let picture = c
        .request(
            Method::GET,
            &format!("/api/v1/printers/{printer_id}/camera/snapshot"),
            As::Bearer(&setup.owner.token),
        )
        .header("x-tenant-id", &setup.farm)
        .send()
        .await
        .expect("snapshot");
    assert_eq!(picture.status(), 200);
    let bytes = picture.bytes().await.expect("bytes");
    assert!(
        bytes.starts_with(&[0xFF, 0xD8]),
        "a JPEG from the hub on node B"
    );

    // Round trips across nodes, for the figure (printed, not asserted).
    let mut times = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        let answer = light(&a, &setup, &printer_id, times.len() % 2 == 0).await;
        assert!(answer.status.is_success());
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "hub command through another node: median {:?}, p99 {:?}",
        times[25], times[49]
    );

    // The hub gone: node A says so once node B tells the bus, and a command is refused.
    agent.stop().await;
    setup.hub_connected(&a, false).await;
    let refused = light(&a, &setup, &printer_id, false).await;
    assert!(refused.status.is_client_error() || refused.status.is_server_error());
    c.stop().await;
    b.stop().await;
    a.stop().await;
}

/// Simulated seconds per second while a print must outlast a node dying (~50 s a print).
const SLOW: f64 = 20.0;
/// Simulated seconds per second to finish a print quickly.
const FAST: f64 = 2000.0;

/// A dashboard socket on `app`, following the farm; what it receives, as JSON.
async fn dashboard(
    app: &TestApp,
    setup: &live::Farm,
) -> tokio::sync::mpsc::UnboundedReceiver<Value> {
    let url = format!("{}/ws/dashboard", app.base.replacen("http", "ws", 1));
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("dashboard socket");
    for message in [
        json!({ "type": "auth", "token": setup.owner.token, "tenant_id": setup.farm }),
        json!({ "type": "subscribe", "printers": [] }),
    ] {
        socket
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("sent");
    }
    let (seen, received) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(Ok(message)) = socket.next().await {
            if let Message::Text(text) = message
                && let Ok(value) = serde_json::from_str::<Value>(&text)
                && seen.send(value).is_err()
            {
                return;
            }
        }
    });
    received
}

/// Waits for a dashboard message that `check` accepts, keeping the ones passed over.
async fn dashboard_sees(
    received: &mut tokio::sync::mpsc::UnboundedReceiver<Value>,
    kept: &mut Vec<Value>,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, received.recv()).await {
            Ok(Some(message)) => {
                kept.push(message.clone());
                if check(&message) {
                    return message;
                }
            }
            Ok(None) => panic!("the dashboard socket closed waiting for {what}"),
            Err(_) => panic!("the dashboard never saw {what}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_print_outlives_the_node_holding_its_hub_and_a_dashboard_on_a_third_node_follows_it() {
    let Some(bus) = bus() else {
        eprintln!("PRINTFARM_TEST_NATS_URL is not set: skipped (.ci/run sets it)");
        return;
    };
    let a = first_node(bus).await;
    // Node B on a runtime of its own, to be killed as a process is.
    let b = a.another_node_apart().await;
    let c = a.another_node().await;
    let setup = live::Farm::new(&a, "olga", SLOW).await;
    let printer_id = setup.add_printer(&a, None).await;
    let sku = setup.sku(&a).await;
    let printer_path = format!("/api/v1/printers/{printer_id}");

    // A dashboard on node C; the hub dials node B through the balancer.
    let mut on_c = dashboard(&c, &setup).await;
    let mut seen = Vec::new();
    let balancer = proxy::Forwarder::start(&b.base).await;
    let data = tempfile::tempdir().expect("dir");
    let mut config = setup.hub_config(&a, data.path());
    config.server_url = balancer.base.clone();
    let agent = live::RunningHub::start(config);
    setup.printer_ready(&a, &printer_id).await;
    assert!(b.state.hub_link.is_connected(&setup.hub_id));
    assert!(!c.state.hub_link.is_connected(&setup.hub_id));
    dashboard_sees(
        &mut on_c,
        &mut seen,
        "the printer's status from node B",
        |m| m["type"] == "printer_status" && m["printer_uuid"] == printer_id.as_str(),
    )
    .await;

    // Started through node A (node B holds the hub), printing.
    setup.hub_connected(&a, true).await;
    let job_id = setup.queue(&a, Some(&sku)).await;
    setup
        .assign_and_start(&a, &job_id, &printer_id)
        .await
        .expect(200);
    setup.job_reaches(&a, &job_id, "printing").await;
    live::wait_for("the print to be under way", || {
        let status = setup.printer().status();
        (status.gcode_state == bambu::GcodeState::Running && status.percent >= 1).then_some(())
    })
    .await;

    // Node B dies mid-print; the balancer sends the hub's next dial to node C.
    balancer.point_at(&c.base);
    b.kill().await;
    live::wait_for("the hub to reach node C", || {
        c.state.hub_link.is_connected(&setup.hub_id).then_some(())
    })
    .await;
    setup
        .until(&a, &printer_path, |p| {
            p["is_connected"] == 1 && p["status"] == "printing"
        })
        .await;

    // The print finishes once: one upload, one start, one completion, one print's stock.
    setup.printer().set_time_scale(FAST);
    let done = setup.job_reaches(&a, &job_id, "completed").await;
    assert_eq!(done["progress_percentage"], 100);
    assert_eq!(
        live::job_statuses(&a, &job_id).await,
        ["queued", "processing", "uploaded", "printing", "completed"]
    );
    assert_eq!(setup.printer().uploads(), 1, "one file upload");
    assert_eq!(setup.printer().print_requests(), 1, "one start");
    server::workers::drain_until_idle(&a.state, Duration::from_secs(20))
        .await
        .expect("print events handled");
    let completions = live::job_moves(&a, &job_id)
        .await
        .into_iter()
        .filter(|m| m.event == "job_completed")
        .count();
    assert_eq!(completions, 1);
    let stock = setup.get(&c, "/api/v1/inventory").await;
    assert_eq!(stock.data()[0]["current_stock"], 2, "{}", stock.body);

    // Node C's dashboard followed the job from start to end, made on all three nodes.
    dashboard_sees(&mut on_c, &mut seen, "the job completed", |m| {
        m["type"] == "job_update" && m["job_id"] == job_id.as_str() && m["status"] == "completed"
    })
    .await;
    let moves: Vec<&str> = seen
        .iter()
        .filter(|m| m["type"] == "job_update" && m["job_id"] == job_id.as_str())
        .filter_map(|m| m["status"].as_str())
        .collect();
    for status in ["processing", "uploaded", "printing", "completed"] {
        assert!(
            moves.contains(&status),
            "{status} not seen on node C: {moves:?}"
        );
    }
    assert_eq!(moves.last(), Some(&"completed"));

    agent.stop().await;
    c.stop().await;
    a.stop().await;
}

/// Jobs and printers of the dispatch race (the figures).
const RACE_JOBS: usize = 1000;
const RACE_PRINTERS: usize = 50;
/// How often each racing dispatcher passes over the farm.
const RACE_PASS_EVERY_MS: u64 = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_dispatchers_racing_start_each_of_1000_jobs_once_on_50_printers() {
    let Some(bus) = bus() else {
        eprintln!("PRINTFARM_TEST_NATS_URL is not set: skipped (.ci/run sets it)");
        return;
    };
    let started = Instant::now();
    let a = first_node(bus).await;
    let b = a.another_node().await;
    let c = a.another_node().await;
    let nodes = [&a, &b, &c];
    let setup = live::Farm::with_printers(
        &a,
        "rhea",
        live::simulated_printers(RACE_PRINTERS, FAST).await,
    )
    .await;
    let mut printer_ids = Vec::new();
    for (n, printer) in setup.printers.printers().iter().enumerate() {
        let id = a
            .add_printer(
                &setup.owner,
                &setup.farm,
                json!({ "name": format!("A1M-{n:02}"), "model": "A1 mini",
                        "serial_number": printer.serial(), "access_code": printer.access_code(),
                        "ip_address": "127.0.0.1", "nozzle_size": 0.4, "hub_id": setup.hub_id,
                        // What `sample-a.3mf` was sliced for.
                        "current_filament_type": "PLA", "current_color_hex": "#F7D959",
                        "current_build_plate": "textured_plate" }),
            )
            .await;
        printer_ids.push(id);
    }
    let data = tempfile::tempdir().expect("dir");
    let agent = live::RunningHub::start(setup.hub_config(&b, data.path()));
    for id in &printer_ids {
        setup.printer_ready(&a, id).await;
    }
    for node in nodes {
        setup.hub_connected(node, true).await;
    }
    let file = a
        .upload_fixture(&setup.owner, &setup.farm, "sample-a.3mf")
        .await;
    let mut job_ids = std::collections::HashSet::new();
    for n in 0..RACE_JOBS {
        let job = setup
            .post(
                nodes[n % 3],
                "/api/v1/jobs",
                json!({ "print_file_id": file }),
            )
            .await;
        job.expect(201);
        job_ids.insert(job.data()["id"].as_str().expect("id").to_string());
    }
    println!("race set up in {:?}", started.elapsed());

    // Every node's dispatcher passes over the farm again and again, all at once (besides
    // their own passes when woken); an operator clears each finished bed through a node in
    // turn, which wakes that node's dispatcher too.
    let racing = Instant::now();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut racers = Vec::new();
    for node in nodes {
        let (app, tenant, done) = (node.state.clone(), setup.tenant.clone(), done.clone());
        racers.push(tokio::spawn(async move {
            // A pass every few milliseconds on each node: constant contention, without
            // starving the hub and the printers of the machine's two cores.
            let mut every = tokio::time::interval(Duration::from_millis(RACE_PASS_EVERY_MS));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut passes = Vec::new();
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                every.tick().await;
                let pass = Instant::now();
                let _ = server::dispatch::run(&app, &tenant).await;
                passes.push(pass.elapsed());
            }
            passes.sort();
            (passes.len(), passes.get(passes.len() / 2).copied())
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut turn = 0;
    loop {
        let completed = setup.get(&a, "/api/v1/jobs?status=completed&limit=1").await;
        let completed = completed.body["meta"]["total"].as_u64().unwrap_or(0) as usize;
        if completed == RACE_JOBS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {completed} of {RACE_JOBS} jobs completed"
        );
        let printers = setup.get(&a, "/api/v1/printers?limit=100").await;
        let mut cleared = 0;
        for printer in printers.data().as_array().expect("printers") {
            if printer["cleared"] == 0 && printer["status"] == "idle" {
                let id = printer["id"].as_str().expect("id");
                turn += 1;
                setup
                    .put(
                        nodes[turn % 3],
                        &format!("/api/v1/printers/{id}/cleared"),
                        json!({ "cleared": true }),
                    )
                    .await
                    .expect(200);
                cleared += 1;
            }
        }
        if cleared == 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut passes = Vec::new();
    for racer in racers {
        passes.push(racer.await.expect("racer"));
    }
    println!(
        "{RACE_JOBS} jobs on {RACE_PRINTERS} printers through 3 racing dispatchers in {:?} ((passes, median pass) per node: {passes:?})",
        racing.elapsed()
    );

    // Each job started once: one move to processing each, one print request each on the
    // printers, and as many files sent as jobs.
    let mut conn = a.state.store.conn().await.expect("database");
    let payloads: Vec<(String,)> =
        sqlx::query_as("SELECT payload FROM queue_messages WHERE queue = 'print-events'")
            .fetch_all(&mut *conn)
            .await
            .expect("print events");
    drop(conn);
    let mut starts: std::collections::HashMap<String, usize> = Default::default();
    let mut moves: std::collections::HashMap<String, Vec<String>> = Default::default();
    for (payload,) in payloads {
        let event: Value = serde_json::from_str(&payload).expect("json");
        let job = event["job_id"].as_str().unwrap_or_default().to_string();
        moves.entry(job.clone()).or_default().push(format!(
            "{} {}→{} on {} at {}",
            event["event"], event["from"], event["to"], event["printer_id"], event["at"]
        ));
        if event["to"] == "processing" {
            *starts.entry(job).or_default() += 1;
        }
    }
    for (job, n) in &starts {
        if *n > 1 {
            println!("job {job} started {n} times: {:#?}", moves[job]);
        }
    }
    assert_eq!(starts.len(), RACE_JOBS, "every job started");
    assert!(
        starts
            .iter()
            .all(|(job, n)| *n == 1 && job_ids.contains(job)),
        "a job started twice: {:?}",
        starts.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );
    let requests: u64 = setup
        .printers
        .printers()
        .iter()
        .map(|p| p.print_requests())
        .sum();
    assert_eq!(requests, RACE_JOBS as u64, "one print request per job");
    let failed = setup.get(&a, "/api/v1/jobs?status=failed&limit=1").await;
    assert_eq!(failed.body["meta"]["total"], 0, "{}", failed.body);

    agent.stop().await;
    c.stop().await;
    b.stop().await;
    a.stop().await;
}

/// The figure: how many printer statuses a second the status writer gets into the
/// database in its batches (one transaction per flush), with 5,000 printers changing state
/// at every flush. Printed, not asserted:
/// `cargo test -p server --test suite nodes::measure_batched_status_writes -- --ignored --nocapture`
/// (with `PRINTFARM_TEST_DATABASE_URL` for PostgreSQL).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run it by name"]
async fn measure_batched_status_writes() {
    const PRINTERS: usize = 5000;
    const FLUSHES: usize = 20;
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("wanda").await;
    let tenant = domain::TenantId::parse(&farm).expect("tenant");
    let mut ids = Vec::with_capacity(PRINTERS);
    for chunk in (0..PRINTERS).collect::<Vec<_>>().chunks(16) {
        let added = futures::future::join_all(chunk.iter().map(|n| {
            app.add_printer(
                &owner,
                &farm,
                json!({ "name": format!("P-{n:05}"), "model": "P1S",
                        "serial_number": format!("01P00A{n:09}") }),
            )
        }))
        .await;
        ids.extend(added);
    }
    let writer = &app.state.status_writer;
    let mut rates = Vec::with_capacity(FLUSHES);
    for flush in 0..FLUSHES {
        let status = if flush % 2 == 0 {
            domain::printers::PrinterStatus::Printing
        } else {
            domain::printers::PrinterStatus::Idle
        };
        for id in &ids {
            writer.record(
                &tenant,
                id,
                store::printers::Reported {
                    status,
                    is_connected: true,
                    connection_error: None,
                    filament_type: Some("PLA".into()),
                    colour_hex: None,
                },
            );
        }
        let started = Instant::now();
        let written = writer.flush(&app.state.farm).await.expect("flush");
        // The node's own writer may have flushed some of them first.
        let elapsed = started.elapsed().as_secs_f64();
        if written == PRINTERS {
            rates.push(written as f64 / elapsed);
        }
    }
    rates.sort_by(f64::total_cmp);
    assert!(!rates.is_empty(), "no whole flush was measured");
    println!(
        "batched status writes: median {:.0}/s, slowest flush {:.0}/s, fastest {:.0}/s ({} flushes of {PRINTERS} printers)",
        rates[rates.len() / 2],
        rates[0],
        rates[rates.len() - 1],
        rates.len()
    );
    app.stop().await;
}
