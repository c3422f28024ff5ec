//! End to end when things go wrong: the real server, the real hub agent and a simulated
//! printer over real sockets (loopback only), with a hub restarted mid-print, the server
//! restarted mid-print, a wrong access code, a printer error mid-print, a command to an
//! offline hub, and a stale command reaching a hub after an outage.
//!
//! Prints that must outlast a disruption run on a slow simulated clock; once the
//! disruption is over the clock is sped up so the print ends quickly. Every wait polls
//! for a condition with a deadline.

use crate::common;
use crate::common::live;

use bambu::report::{GcodeState, PrintError};
use common::TestApp;
use futures::{SinkExt, StreamExt};
use live::{Farm, RunningHub, job_moves, job_statuses, wait_for};
use proto::hub::{
    Command, HubCommand, HubToServer, PrinterAction, PrinterConfig, ServerNotice, ServerToHub,
};
use proto::status::PrinterStatus;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// Simulated seconds per second while a print must outlast a disruption (~50 s a print).
const SLOW: f64 = 20.0;
/// Simulated seconds per second to finish a print quickly.
const FAST: f64 = 2000.0;

/// What a job goes through when it prints once, from the queue on.
const PRINTED_ONCE: [&str; 5] = ["queued", "processing", "uploaded", "printing", "completed"];

/// The states a simulated printer went through, sampled every 10 ms.
struct Watch {
    seen: Arc<Mutex<Vec<GcodeState>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Watch {
    fn start(printer: &sim::PrinterHandle) -> Watch {
        let printer = printer.clone();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                let state = printer.status().gcode_state;
                {
                    let mut log = log.lock().unwrap();
                    if log.last() != Some(&state) {
                        log.push(state);
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
        Watch { seen, task }
    }

    /// The states seen, each run of one state once.
    fn states(&self) -> Vec<GcodeState> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Waits until the simulated printer is past PREPARE and has made some progress.
async fn under_way(printer: &sim::PrinterHandle) {
    wait_for("the print to be under way", || {
        let status = printer.status();
        (status.gcode_state == GcodeState::Running && status.percent >= 1).then_some(())
    })
    .await;
}

/// A farm whose printer is printing a queued job through a running hub, on the slow clock.
struct Printing {
    setup: Farm,
    printer_id: String,
    job_id: String,
    hub: RunningHub,
    hub_data: tempfile::TempDir,
    watch: Watch,
}

async fn printing(app: &TestApp, name: &str, sku: bool) -> Printing {
    let setup = Farm::new(app, name, SLOW).await;
    let printer_id = setup.add_printer(app, None).await;
    let sku = match sku {
        true => Some(setup.sku(app).await),
        false => None,
    };
    let hub_data = tempfile::tempdir().unwrap();
    let hub = RunningHub::start(setup.hub_config(app, hub_data.path()));
    setup.printer_ready(app, &printer_id).await;
    let watch = Watch::start(setup.printer());
    let job_id = setup.queue(app, sku.as_deref()).await;
    setup
        .assign_and_start(app, &job_id, &printer_id)
        .await
        .expect(200);
    setup.job_reaches(app, &job_id, "printing").await;
    under_way(setup.printer()).await;
    Printing {
        setup,
        printer_id,
        job_id,
        hub,
        hub_data,
        watch,
    }
}

/// The printer got one file and one print, and printed it once from start to finish.
fn printed_once(printer: &sim::PrinterHandle, watch: &Watch) {
    assert_eq!(printer.uploads(), 1, "one file upload");
    assert_eq!(printer.print_requests(), 1, "one project_file");
    let on_card: Vec<_> = printer
        .files()
        .into_iter()
        .filter(|f| f.path.ends_with(".3mf"))
        .collect();
    assert_eq!(on_card.len(), 1, "{on_card:?}");
    assert_eq!(
        watch.states(),
        [
            GcodeState::Idle,
            GcodeState::Prepare,
            GcodeState::Running,
            GcodeState::Finish
        ]
    );
}

/// Starts the hub again with the same settings and data directory and waits until the
/// farm sees the printer connected and still printing.
async fn hub_back_printing(
    app: &TestApp,
    setup: &Farm,
    hub_data: &std::path::Path,
    printer_path: &str,
) -> RunningHub {
    let hub = RunningHub::start(setup.hub_config(app, hub_data));
    setup.hub_connected(app, true).await;
    setup
        .until(app, printer_path, |p| {
            p["is_connected"] == 1 && p["status"] == "printing"
        })
        .await;
    hub
}

/// Speeds the print up and checks that the job completed at 100 % after printing once.
async fn finishes_once(app: &TestApp, setup: &Farm, job_id: &str, watch: &Watch) {
    setup.printer().set_time_scale(FAST);
    let done = setup.job_reaches(app, job_id, "completed").await;
    assert_eq!(done["progress_percentage"], 100);
    assert_eq!(job_statuses(app, job_id).await, PRINTED_ONCE);
    printed_once(setup.printer(), watch);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_restarted_mid_print_carries_on_without_starting_the_print_again() {
    let app = TestApp::spawn().await;
    let Printing {
        setup,
        printer_id,
        job_id,
        hub,
        hub_data,
        watch,
    } = printing(&app, "hana", false).await;
    let printer_path = format!("/api/v1/printers/{printer_id}");

    // The hub stops mid-print: the farm sees the printer offline, the job keeps printing.
    hub.stop().await;
    setup.hub_connected(&app, false).await;
    setup
        .until(&app, &printer_path, |p| p["is_connected"] == 0)
        .await;
    let job = setup.get(&app, &format!("/api/v1/jobs/{job_id}")).await;
    assert_eq!(job.data()["status"], "printing", "{}", job.body);

    // A new agent with the same settings and data directory picks the print up.
    let hub = hub_back_printing(&app, &setup, hub_data.path(), &printer_path).await;
    assert_eq!(setup.printer().status().gcode_state, GcodeState::Running);

    finishes_once(&app, &setup, &job_id, &watch).await;

    hub.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restarted_mid_print_completes_the_job_exactly_once() {
    // Its own runtime: stopping it ends the hub's socket too, as a process exit does.
    let app = TestApp::spawn_apart().await;
    let Printing {
        setup,
        printer_id,
        job_id,
        hub,
        hub_data: _hub_data,
        watch,
    } = printing(&app, "ivan", true).await;

    // The server stops and starts again on the same database, data directory and port.
    let app = app.restart().await;
    setup.hub_connected(&app, true).await;
    let job = setup.get(&app, &format!("/api/v1/jobs/{job_id}")).await;
    assert_eq!(job.data()["status"], "printing", "{}", job.body);
    assert_eq!(setup.printer().status().gcode_state, GcodeState::Running);

    finishes_once(&app, &setup, &job_id, &watch).await;

    // One completion: one print event, one print's worth of stock, one collection task.
    server::workers::drain_until_idle(&app.state, Duration::from_secs(20))
        .await
        .unwrap();
    let completions = job_moves(&app, &job_id)
        .await
        .into_iter()
        .filter(|m| m.event == "job_completed")
        .count();
    assert_eq!(completions, 1);
    let stock = setup.get(&app, "/api/v1/inventory").await;
    assert_eq!(stock.data()[0]["current_stock"], 2, "{}", stock.body);
    let tasks = setup
        .get(&app, "/api/v1/worklist?task_type=collection")
        .await;
    let tasks = tasks.data().as_array().unwrap();
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0]["printer_id"], printer_id.as_str());

    hub.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_access_code_shows_on_the_printer_and_no_job_starts_on_it() {
    let app = TestApp::spawn().await;
    let setup = Farm::new(&app, "jules", 400.0).await;
    let right = setup.printer().access_code().to_string();
    let wrong = if right == "12345678" {
        "87654321"
    } else {
        "12345678"
    };
    let printer_id = setup.add_printer(&app, Some(wrong)).await;
    let printer_path = format!("/api/v1/printers/{printer_id}");
    let hub_data = tempfile::tempdir().unwrap();
    let hub = RunningHub::start(setup.hub_config(&app, hub_data.path()));

    // The printer shows why it is not connected, in words.
    let shown = setup
        .until(&app, &printer_path, |p| !p["connection_error"].is_null())
        .await;
    let error = shown["connection_error"].as_str().unwrap();
    assert!(error.contains("access code"), "{shown}");
    assert_eq!(shown["status"], "error", "{shown}");
    assert_eq!(shown["is_connected"], 0, "{shown}");

    // No job starts on it: not by the best-printer choice, not by hand.
    let job_id = setup.queue(&app, None).await;
    let chosen = setup
        .post(&app, &format!("/api/v1/jobs/{job_id}/assign"), json!({}))
        .await;
    chosen.expect(409);
    assert_eq!(chosen.code(), "NO_PRINTER_AVAILABLE");
    let start = setup.assign_and_start(&app, &job_id, &printer_id).await;
    start.expect(409);
    assert_eq!(start.code(), "PRINTER_NOT_AVAILABLE");
    let job = setup.get(&app, &format!("/api/v1/jobs/{job_id}")).await;
    assert_eq!(job.data()["status"], "queued", "{}", job.body);
    assert_eq!(job.data()["printer_id"], printer_id.as_str());
    assert_eq!(setup.printer().uploads(), 0);
    assert_eq!(setup.printer().print_requests(), 0);

    // With the right code (and the hub asked to connect again) the same job prints.
    setup
        .put(&app, &printer_path, json!({ "access_code": right }))
        .await
        .expect(200);
    setup
        .post(&app, &format!("{printer_path}/connect"), json!({}))
        .await
        .expect(200);
    let ready = setup.printer_ready(&app, &printer_id).await;
    assert!(ready["connection_error"].is_null(), "{ready}");
    setup
        .post(&app, &format!("/api/v1/jobs/{job_id}/start"), json!({}))
        .await
        .expect(200);
    setup.job_reaches(&app, &job_id, "completed").await;
    assert_eq!(setup.printer().uploads(), 1);

    hub.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_printer_error_mid_print_fails_the_job_in_words_and_records_the_failure() {
    let app = TestApp::spawn().await;
    let Printing {
        setup,
        printer_id,
        job_id,
        hub,
        hub_data: _hub_data,
        watch,
    } = printing(&app, "kim", false).await;

    // The filament runs out at 40 %.
    setup
        .printer()
        .fail_print_at(40, PrintError::FILAMENT_RUNOUT);
    setup.printer().set_time_scale(FAST);
    let failed = setup.job_reaches(&app, &job_id, "failed").await;
    assert_eq!(failed["failure_reason"], "the filament ran out", "{failed}");
    assert_eq!(
        job_statuses(&app, &job_id).await,
        ["queued", "processing", "uploaded", "printing", "failed"]
    );
    assert_eq!(
        watch.states(),
        [
            GcodeState::Idle,
            GcodeState::Prepare,
            GcodeState::Running,
            GcodeState::Failed
        ]
    );
    let printer = setup
        .get(&app, &format!("/api/v1/printers/{printer_id}"))
        .await;
    assert_eq!(printer.data()["status"], "error", "{}", printer.body);

    // The failure is recorded for the printer's failure history.
    server::workers::drain_until_idle(&app.state, Duration::from_secs(20))
        .await
        .unwrap();
    let mut conn = app.state.store.conn().await.unwrap();
    let failures = store::failures::list(&mut conn, &setup.tenant)
        .await
        .unwrap();
    drop(conn);
    assert_eq!(failures.len(), 1, "{failures:?}");
    let failure = &failures[0];
    assert_eq!(failure.print_job_id.as_deref(), Some(job_id.as_str()));
    assert_eq!(failure.printer_id.as_deref(), Some(printer_id.as_str()));
    assert_eq!(
        failure.failure_reason.as_deref(),
        Some("the filament ran out")
    );
    assert_eq!(
        failure.failure_type,
        domain::stock::FailureType::FilamentRunout.as_str()
    );

    hub.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_to_an_offline_hub_is_refused_at_once_and_never_replayed() {
    let app = TestApp::spawn().await;
    let Printing {
        setup,
        printer_id,
        job_id,
        hub,
        hub_data,
        watch,
    } = printing(&app, "lena", false).await;
    let printer_path = format!("/api/v1/printers/{printer_id}");

    hub.stop().await;
    setup.hub_connected(&app, false).await;

    // Pausing the printer or its job: 409 HUB_OFFLINE at once, not after the ack deadline.
    let asked = tokio::time::Instant::now();
    let pause = setup
        .post(
            &app,
            &format!("{printer_path}/control"),
            json!({ "action": "pause" }),
        )
        .await;
    pause.expect(409);
    assert_eq!(pause.code(), "HUB_OFFLINE");
    let pause_job = setup
        .post(&app, &format!("/api/v1/jobs/{job_id}/pause"), json!({}))
        .await;
    pause_job.expect(409);
    assert_eq!(pause_job.code(), "HUB_OFFLINE");
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "refused after {:?}",
        asked.elapsed()
    );
    let job = setup.get(&app, &format!("/api/v1/jobs/{job_id}")).await;
    assert_eq!(job.data()["status"], "printing", "{}", job.body);

    // The hub comes back: nothing was kept for it, so the printer never pauses.
    let hub = hub_back_printing(&app, &setup, hub_data.path(), &printer_path).await;
    finishes_once(&app, &setup, &job_id, &watch).await;

    hub.stop().await;
    app.stop().await;
}

/// A stand-in for the server's hub socket, to send the hub what the real server never
/// would: a command whose deadline has passed.
struct FakeServer {
    listener: tokio::net::TcpListener,
    url: String,
}

const FAKE_HUB_ID: &str = "pfhub-fake";
const FAKE_SECRET: &str = "a secret only this test knows";

impl FakeServer {
    async fn start() -> FakeServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        FakeServer { listener, url }
    }

    /// The hub's next socket: its hello (checked against the secret), then the welcome.
    async fn accept(&self) -> HubSocket {
        let (tcp, _) = tokio::time::timeout(live::DEADLINE, self.listener.accept())
            .await
            .expect("the hub connects")
            .unwrap();
        let socket = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let mut hub = HubSocket { socket };
        let HubToServer::HubHello {
            hub_id,
            timestamp,
            nonce,
            signature,
            ..
        } = hub.next().await
        else {
            panic!("hub_hello first");
        };
        let key = proto::hub::hello_key(FAKE_SECRET);
        assert!(proto::hub::verify_hello(
            &key, &hub_id, timestamp, &nonce, &signature
        ));
        hub.write(&ServerToHub::Notice(ServerNotice::HubWelcome {
            hub_id,
            hub_name: Some("fake".into()),
            tenant_id: "fake-farm".into(),
            server_time: chrono::Utc::now().timestamp(),
        }))
        .await;
        hub
    }
}

struct HubSocket {
    socket: tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
}

impl HubSocket {
    async fn write(&mut self, message: &ServerToHub) {
        let text = serde_json::to_string(message).unwrap();
        self.socket.send(Message::text(text)).await.unwrap();
    }

    /// The hub's next message.
    async fn next(&mut self) -> HubToServer {
        loop {
            let message = tokio::time::timeout(live::DEADLINE, self.socket.next())
                .await
                .expect("a message from the hub in time");
            match message {
                Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).unwrap(),
                Some(Ok(_)) => continue,
                other => panic!("the hub's socket ended: {other:?}"),
            }
        }
    }

    /// Sends a command with `expires_at` (Unix seconds); returns its id.
    async fn send(&mut self, command: HubCommand, expires_at: i64) -> String {
        let command_id = store::new_id();
        self.write(&ServerToHub::Command(Command {
            command_id: command_id.clone(),
            expires_at,
            command,
        }))
        .await;
        command_id
    }

    /// The ack of `command_id`: success, and the reason when refused.
    async fn ack(&mut self, command_id: &str) -> (bool, Option<String>) {
        loop {
            if let HubToServer::CommandAck {
                command_id: id,
                success,
                error,
                ..
            } = self.next().await
                && id == command_id
            {
                return (success, error);
            }
        }
    }

    /// The first printer status that passes `check`.
    async fn status_until(&mut self, check: impl Fn(&PrinterStatus) -> bool) -> PrinterStatus {
        loop {
            if let HubToServer::PrinterStatus(status) = self.next().await
                && check(&status)
            {
                return status;
            }
        }
    }
}

fn in_a_minute() -> i64 {
    chrono::Utc::now().timestamp() + 60
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_command_after_an_outage_is_refused_and_not_run() {
    // The real server only lends the print file's signed link.
    let app = TestApp::spawn().await;
    let (owner, farm) = app.signed_up_owner("mona").await;
    let file = app.upload_fixture(&owner, &farm, "sample-a.3mf").await;
    let link = app
        .get(
            &format!("/api/v1/files/{file}/download-url"),
            &owner.token,
            Some(&farm),
        )
        .await;
    let file_url = link.data()["download_url"].as_str().unwrap().to_string();

    let printers = live::simulated_printers(1, SLOW).await;
    let printer = &printers.printers()[0];
    let server = FakeServer::start().await;
    let hub_data = tempfile::tempdir().unwrap();
    let hub = RunningHub::start(live::hub_config(
        &server.url,
        FAKE_HUB_ID,
        FAKE_SECRET,
        hub_data.path(),
        printers.printers(),
    ));

    // The hub takes the printer and starts a print on it.
    let mut socket = server.accept().await;
    let add = socket
        .send(
            HubCommand::ConfigurePrinter {
                action: proto::hub::ConfigureAction::Add,
                printer: PrinterConfig {
                    id: "printer-1".into(),
                    serial_number: printer.serial().into(),
                    access_code: Some(printer.access_code().into()),
                    ip_address: Some("127.0.0.1".into()),
                    connection_type: "lan".into(),
                    model: Some("A1 mini".into()),
                },
            },
            in_a_minute(),
        )
        .await;
    assert_eq!(socket.ack(&add).await, (true, None));
    socket
        .status_until(|s| {
            s.status == domain::printers::PrinterStatus::Idle && s.is_connected == Some(true)
        })
        .await;
    let print = socket
        .send(
            HubCommand::PrintCommand {
                printer_id: printer.serial().into(),
                job_id: "job-1".into(),
                file_url,
                file_name: "sample-a.3mf".into(),
                plate_index: 1,
                ams_slot: None,
            },
            in_a_minute(),
        )
        .await;
    assert_eq!(socket.ack(&print).await, (true, None));
    under_way(printer).await;

    // An outage: the server drops the socket, and the hub dials in again.
    drop(socket);
    let mut socket = server.accept().await;

    // A pause from before the outage, past its deadline: refused, and the printer prints on.
    let stale = socket
        .send(
            HubCommand::PrinterCommand {
                printer_id: printer.serial().into(),
                action: PrinterAction::Pause,
            },
            chrono::Utc::now().timestamp() - 30,
        )
        .await;
    assert_eq!(socket.ack(&stale).await, (false, Some("expired".into())));
    assert_eq!(printer.status().gcode_state, GcodeState::Running);

    // The same pause within its deadline does pause it: the stale one would have shown.
    let fresh = socket
        .send(
            HubCommand::PrinterCommand {
                printer_id: printer.serial().into(),
                action: PrinterAction::Pause,
            },
            in_a_minute(),
        )
        .await;
    assert_eq!(socket.ack(&fresh).await, (true, None));
    assert_eq!(printer.status().gcode_state, GcodeState::Pause);

    drop(socket);
    hub.stop().await;
    app.stop().await;
}
