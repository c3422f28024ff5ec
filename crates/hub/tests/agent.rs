//! The hub agent against a fake server and simulated printers, all on loopback.

mod support;

use domain::printers::PrinterStatus;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bambu::Model;
use bambu::report::{GcodeState, Hms};
use proto::hub::{Command, FileStage, HubCommand, HubToServer, PrinterAction};
use sim::{AnnounceConfig, Farm, FarmConfig, PrinterSpec};
use support::*;

const WAIT: Duration = Duration::from_secs(20);

fn trace() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "hub=debug".into()),
        )
        .with_test_writer()
        .try_init();
}

/// A fake server, one simulated printer of `model`, and an agent managing it.
struct Setup {
    server: FakeServer,
    farm: Farm,
    agent: RunningAgent,
}

impl Setup {
    async fn start(model: Model, time_scale: f64) -> Setup {
        Setup::start_with(model, time_scale, |_| {}).await
    }

    async fn start_with(
        model: Model,
        time_scale: f64,
        tweak: impl FnOnce(&mut hub::Config),
    ) -> Setup {
        trace();
        let mut farm_config = FarmConfig::new(vec![PrinterSpec::new(model)]);
        farm_config.time_scale = time_scale;
        farm_config.report_interval = Duration::from_millis(200);
        let farm = Farm::start(farm_config).await.expect("farm");
        let server = FakeServer::start().await;
        let (mut config, dir) = config(&server.url(), SECRET);
        override_printer(&mut config, &farm.printers()[0]);
        tweak(&mut config);
        let agent = RunningAgent::start(config, dir);
        eventually("the hub's hello", WAIT, || {
            (server.welcomed() > 0).then_some(())
        })
        .await;
        Setup {
            server,
            farm,
            agent,
        }
    }

    fn printer(&self) -> &sim::PrinterHandle {
        &self.farm.printers()[0]
    }

    fn serial(&self) -> String {
        self.printer().serial().to_owned()
    }

    /// Adds the printer with its right access code and waits until it reports in.
    async fn add_printer(&self) {
        let printer = self.printer();
        self.server
            .send(add_printer("add-1", printer, printer.access_code()));
        assert_eq!(self.server.wait_ack("add-1", WAIT).await, (true, None));
        self.server
            .wait_status(&self.serial(), "the printer's first report", WAIT, |s| {
                s.is_connected == Some(true) && s.gcode_state.is_some()
            })
            .await;
    }

    fn printer_command(&self, id: &str, action: PrinterAction) {
        self.server.send(command(
            id,
            HubCommand::PrinterCommand {
                printer_id: self.serial(),
                action,
            },
        ));
    }

    fn file_progress(&self, job_id: &str) -> Vec<(FileStage, i64, Option<String>)> {
        self.server
            .messages()
            .into_iter()
            .filter_map(|(_, m)| match m {
                HubToServer::FileProgress {
                    job_id: id,
                    stage,
                    progress_percentage,
                    error,
                    ..
                } if id == job_id => Some((stage, progress_percentage, error)),
                _ => None,
            })
            .collect()
    }
}

fn print_command(id: &str, serial: &str, job_id: &str, url: String) -> Command {
    command(
        id,
        HubCommand::PrintCommand {
            printer_id: serial.to_owned(),
            job_id: job_id.to_owned(),
            file_url: url,
            file_name: "sample-a.3mf".into(),
            plate_index: 1,
            ams_slot: None,
        },
    )
}

async fn fixture_server() -> (std::net::SocketAddr, usize) {
    let body = std::fs::read(fixture()).expect("fixture 3MF");
    let len = body.len();
    (file_server(Arc::new(body)).await, len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_with_its_secret_is_welcomed_and_reports_a_configured_printer() {
    let setup = Setup::start(Model::P1S, 1.0).await;
    assert_eq!(setup.server.seen.refused.load(Ordering::SeqCst), 0);
    setup.add_printer().await;
    let status = setup
        .server
        .statuses(&setup.serial())
        .pop()
        .expect("a status");
    assert_eq!(status.status, PrinterStatus::Idle);
    assert_eq!(status.gcode_state.as_deref(), Some("IDLE"));
    assert!(
        !status.filaments.is_empty(),
        "the P1S's AMS slots are reported"
    );
    assert!(
        status.temperatures.and_then(|t| t.bed).is_some(),
        "temperatures come from the merged report"
    );
    // The certificate seen at first contact is pinned on disk.
    let pins = std::fs::read_to_string(setup.agent.data_dir.path().join("data/pins.json"))
        .expect("pins.json");
    assert!(pins.contains(&setup.serial()), "{pins}");
    setup.agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_with_the_wrong_secret_is_closed_and_keeps_retrying() {
    trace();
    let server = FakeServer::start().await;
    let (config, dir) = config(&server.url(), "not the secret");
    let agent = RunningAgent::start(config, dir);
    eventually("two refused hellos (a retry after the close)", WAIT, || {
        (server.seen.refused.load(Ordering::SeqCst) >= 2).then_some(())
    })
    .await;
    assert_eq!(server.welcomed(), 0);
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_print_command_lands_the_file_and_the_print_finishes() {
    let setup = Setup::start(Model::P1S, 2000.0).await;
    setup.add_printer().await;
    let (files, len) = fixture_server().await;
    let serial = setup.serial();
    setup.server.send(print_command(
        "print-1",
        &serial,
        "job-1",
        format!("http://{files}/download/abc"),
    ));
    assert_eq!(setup.server.wait_ack("print-1", WAIT).await, (true, None));

    let stored = setup
        .printer()
        .files()
        .into_iter()
        .find(|f| f.path.ends_with("sample-a.3mf"))
        .expect("the file is on the printer's card");
    assert_eq!(stored.size, len as u64);

    let progress = setup.file_progress("job-1");
    let stages: Vec<FileStage> = progress.iter().map(|(s, _, _)| *s).collect();
    assert_eq!(stages.first(), Some(&FileStage::Downloading));
    assert_eq!(stages.last(), Some(&FileStage::Complete));
    let first_upload = stages
        .iter()
        .position(|s| *s == FileStage::Uploading)
        .expect("uploading");
    assert!(
        stages[first_upload..stages.len() - 1]
            .iter()
            .all(|s| *s == FileStage::Uploading)
    );
    let percents: Vec<i64> = progress
        .iter()
        .filter(|(s, _, _)| *s == FileStage::Uploading)
        .map(|(_, p, _)| *p)
        .collect();
    assert!(percents.windows(2).all(|w| w[0] <= w[1]), "{percents:?}");
    assert_eq!(percents.last(), Some(&100));

    let finished = setup
        .server
        .wait_status(&serial, "FINISH with the job id", WAIT, |s| {
            s.gcode_state.as_deref() == Some("FINISH")
        })
        .await;
    assert_eq!(finished.job_id.as_deref(), Some("job-1"));
    assert_eq!(finished.status, PrinterStatus::Idle);
    assert_eq!(finished.progress_percentage, Some(100));
    assert_eq!(setup.printer().status().gcode_state, GcodeState::Finish);
    // Every busy status while the job ran carried its id.
    for status in setup.server.statuses(&serial) {
        if status.status == PrinterStatus::Printing {
            assert_eq!(status.job_id.as_deref(), Some("job-1"), "{status:?}");
        }
    }
    setup.agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_download_fails_with_a_reason() {
    let setup = Setup::start(Model::A1, 1.0).await;
    setup.add_printer().await;
    let (files, _) = fixture_server().await;
    setup.server.send(print_command(
        "print-404",
        &setup.serial(),
        "job-404",
        format!("http://{files}/missing/abc?sig=secret"),
    ));
    let (success, error) = setup.server.wait_ack("print-404", WAIT).await;
    assert!(!success);
    let error = error.expect("a reason");
    assert!(error.contains("404"), "{error}");
    assert!(
        !error.contains("sig=secret"),
        "the signed link stays out: {error}"
    );
    let progress = setup.file_progress("job-404");
    assert_eq!(progress.last().map(|p| p.0), Some(FileStage::Failed));
    assert!(
        setup
            .printer()
            .files()
            .iter()
            .all(|f| !f.path.ends_with(".3mf"))
    );
    setup.agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_and_stop_reach_the_printer_and_a_repeated_job_prints_once() {
    // 20x: PREPARE takes 1 s, the print about 46 s.
    let setup = Setup::start(Model::X1C, 20.0).await;
    setup.add_printer().await;
    let (files, _) = fixture_server().await;
    let serial = setup.serial();
    let url = format!("http://{files}/download/job-2");
    setup
        .server
        .send(print_command("print-2", &serial, "job-2", url.clone()));
    assert_eq!(setup.server.wait_ack("print-2", WAIT).await, (true, None));
    eventually("RUNNING", WAIT, || {
        (setup.printer().status().gcode_state == GcodeState::Running).then_some(())
    })
    .await;

    // The server sends the same job again (say its ack was lost): no second print.
    setup
        .server
        .send(print_command("print-2-again", &serial, "job-2", url));
    assert_eq!(
        setup.server.wait_ack("print-2-again", WAIT).await,
        (true, None)
    );
    let downloads = setup
        .file_progress("job-2")
        .iter()
        .filter(|p| p.0 == FileStage::Downloading)
        .count();
    assert_eq!(downloads, 1);

    setup.printer_command("pause-1", PrinterAction::Pause);
    assert_eq!(setup.server.wait_ack("pause-1", WAIT).await, (true, None));
    assert_eq!(setup.printer().status().gcode_state, GcodeState::Pause);
    setup
        .server
        .wait_status(&serial, "paused", WAIT, |s| {
            s.status == PrinterStatus::Paused
        })
        .await;

    setup.printer_command("resume-1", PrinterAction::Resume);
    assert_eq!(setup.server.wait_ack("resume-1", WAIT).await, (true, None));
    assert_eq!(setup.printer().status().gcode_state, GcodeState::Running);

    setup.printer_command("light-1", PrinterAction::LightOff);
    assert_eq!(setup.server.wait_ack("light-1", WAIT).await, (true, None));

    setup.printer_command("stop-1", PrinterAction::Stop);
    assert_eq!(setup.server.wait_ack("stop-1", WAIT).await, (true, None));
    assert_eq!(setup.printer().status().gcode_state, GcodeState::Failed);
    let stopped = setup
        .server
        .wait_status(&serial, "FAILED after stop", WAIT, |s| {
            s.gcode_state.as_deref() == Some("FAILED")
        })
        .await;
    assert_eq!(
        stopped.status,
        PrinterStatus::Idle,
        "a cancel is not an error: {stopped:?}"
    );
    assert_eq!(stopped.job_id.as_deref(), Some("job-2"));

    // Resuming a print that is not paused: the printer's refusal comes back in the ack.
    setup.printer_command("resume-2", PrinterAction::Resume);
    let (success, error) = setup.server.wait_ack("resume-2", WAIT).await;
    assert!(!success);
    assert!(error.expect("reason").contains("no paused print"));
    setup.agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_and_duplicate_commands_are_refused() {
    let setup = Setup::start(Model::P1P, 1.0).await;
    setup.add_printer().await;
    let mut expired = command(
        "old-1",
        HubCommand::PrinterCommand {
            printer_id: setup.serial(),
            action: PrinterAction::LightOff,
        },
    );
    expired.expires_at = now() - 5;
    setup.server.send(expired);
    assert_eq!(
        setup.server.wait_ack("old-1", WAIT).await,
        (false, Some("expired".into()))
    );

    setup.printer_command("light-2", PrinterAction::LightOn);
    assert_eq!(setup.server.wait_ack("light-2", WAIT).await, (true, None));
    setup.printer_command("light-2", PrinterAction::LightOn);
    eventually("the duplicate's ack", WAIT, || {
        let acks: Vec<_> = setup
            .server
            .messages()
            .into_iter()
            .filter_map(|(_, m)| match m {
                HubToServer::CommandAck {
                    command_id,
                    success,
                    error,
                    ..
                } if command_id == "light-2" => Some((success, error)),
                _ => None,
            })
            .collect();
        (acks.len() == 2).then_some(acks)
    })
    .await
    .get(1)
    .map(|second| assert_eq!(second, &(false, Some("duplicate".into()))))
    .expect("two acks");

    // Unknown printers and hub actions the hub cannot do are refused in words.
    setup.server.send(command(
        "gpio-1",
        HubCommand::HubCommand {
            action: "gpio_set".into(),
            gpio_pin: Some(4),
            gpio_state: Some(true),
        },
    ));
    assert_eq!(
        setup.server.wait_ack("gpio-1", WAIT).await,
        (false, Some("no GPIO on this hub".into()))
    );
    setup.server.send(command(
        "pause-x",
        HubCommand::PrinterCommand {
            printer_id: "00M00A999999999".into(),
            action: PrinterAction::Pause,
        },
    ));
    let (success, error) = setup.server.wait_ack("pause-x", WAIT).await;
    assert!(!success && error.expect("reason").contains("not configured"));
    setup.agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_access_code_is_reported_in_words() {
    let setup = Setup::start(Model::A1Mini, 1.0).await;
    setup
        .server
        .send(add_printer("add-bad", setup.printer(), "00000000"));
    assert_eq!(setup.server.wait_ack("add-bad", WAIT).await, (true, None));
    let status = setup
        .server
        .wait_status(&setup.serial(), "an error status", WAIT, |s| {
            s.status == PrinterStatus::Error
        })
        .await;
    assert_eq!(status.is_connected, Some(false));
    assert_eq!(
        status.error_message.as_deref(),
        Some("the printer refused the access code")
    );

    // The right code (an update) brings it online.
    let printer = setup.printer();
    let mut update = add_printer("update-1", printer, printer.access_code());
    if let HubCommand::ConfigurePrinter { action, .. } = &mut update.command {
        *action = proto::hub::ConfigureAction::Update;
    }
    setup.server.send(update);
    setup
        .server
        .wait_status(&setup.serial(), "connected after the update", WAIT, |s| {
            s.is_connected == Some(true)
        })
        .await;
    setup.agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_server_outage_the_hub_reconnects_and_replays_the_latest_status() {
    let setup = Setup::start(Model::P1S, 1.0).await;
    setup.add_printer().await;
    let serial = setup.serial();

    setup.server.go_down();
    // While the server is away the printer gets into trouble.
    setup
        .printer()
        .inject_hms(Hms::HEATBED_TEMPERATURE_ABNORMAL);
    setup.server.come_back();

    eventually("a second welcome", WAIT, || {
        (setup.server.welcomed() >= 2).then_some(())
    })
    .await;
    let replayed = eventually("the error status on the new connection", WAIT, || {
        setup
            .server
            .messages()
            .into_iter()
            .find_map(|(connection, m)| match m {
                HubToServer::PrinterStatus(s)
                    if connection >= 2
                        && s.printer_id == serial
                        && s.status == PrinterStatus::Error =>
                {
                    Some(s)
                }
                _ => None,
            })
    })
    .await;
    assert_eq!(
        replayed.error_code.as_deref(),
        Some("HMS_0300_0100_0001_0007")
    );
    assert!(replayed.error_message.expect("words").contains("heatbed"));
    setup.agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_printer_connection_is_reported_and_restored() {
    let setup = Setup::start(Model::P1S, 1.0).await;
    setup.add_printer().await;
    let serial = setup.serial();
    let before = setup.server.statuses(&serial).len();
    setup.printer().drop_connections();
    setup
        .server
        .wait_status(&serial, "offline after the drop", WAIT, |s| {
            s.status == PrinterStatus::Offline && s.is_connected == Some(false)
        })
        .await;
    eventually("connected again", WAIT, || {
        let statuses = setup.server.statuses(&serial);
        let offline = statuses
            .iter()
            .skip(before)
            .position(|s| s.is_connected == Some(false))?;
        statuses
            .iter()
            .skip(before + offline)
            .any(|s| s.is_connected == Some(true))
            .then_some(())
    })
    .await;
    assert_eq!(setup.printer().mqtt_connections(), 1);
    setup.agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_printer_refusing_commands_gets_a_developer_mode_explanation() {
    let setup = Setup::start(Model::X1C, 1.0).await;
    setup.add_printer().await;
    setup.printer().set_commands_refused(true);
    setup.printer_command("light-3", PrinterAction::LightOn);
    let (success, error) = setup.server.wait_ack("light-3", WAIT).await;
    assert!(!success);
    let error = error.expect("a reason");
    assert!(
        error.contains("enable LAN-only mode and Developer Mode on the printer"),
        "{error}"
    );
    setup.agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_reports_printers_announcing_on_loopback() {
    trace();
    // A free UDP port for the hub to listen on.
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("free port")
        .port();
    let listen: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let mut farm_config = FarmConfig::new(vec![PrinterSpec::new(Model::A1)]);
    farm_config.announce = Some(AnnounceConfig {
        target: listen,
        interval: Duration::from_millis(100),
    });
    let farm = Farm::start(farm_config).await.expect("farm");
    let server = FakeServer::start().await;
    let (mut config, dir) = config(&server.url(), SECRET);
    config.discovery_listen = listen;
    config.discovery_seconds = 0.5;
    let agent = RunningAgent::start(config, dir);
    eventually("hello", WAIT, || (server.welcomed() > 0).then_some(())).await;
    server.send(command("discover-1", HubCommand::DiscoverPrinters));
    assert_eq!(server.wait_ack("discover-1", WAIT).await, (true, None));
    let found = server
        .messages()
        .into_iter()
        .find_map(|(_, m)| match m {
            HubToServer::PrinterDiscovered { printers } => Some(printers),
            _ => None,
        })
        .expect("printer_discovered before the ack");
    let printer = &farm.printers()[0];
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].serial_number, printer.serial());
    assert_eq!(found[0].ip_address, "127.0.0.1");
    assert_eq!(found[0].model, "A1");
    agent.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnect_command_closes_the_link_and_the_hub_comes_back() {
    let setup = Setup::start(Model::P1S, 1.0).await;
    setup.server.send(command(
        "bye-1",
        HubCommand::HubCommand {
            action: "disconnect".into(),
            gpio_pin: None,
            gpio_state: None,
        },
    ));
    assert_eq!(setup.server.wait_ack("bye-1", WAIT).await, (true, None));
    eventually("a second welcome", WAIT, || {
        (setup.server.welcomed() >= 2).then_some(())
    })
    .await;
    setup.agent.stop().await;
}

/// The frame carried by the ack of `command_id`, decoded.
fn acked_frame(server: &FakeServer, command_id: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    server.messages().into_iter().find_map(|(_, m)| match m {
        HubToServer::CommandAck {
            command_id: id,
            frame: Some(frame),
            ..
        } if id == command_id => {
            assert_eq!(frame.content_type, "image/jpeg");
            base64::engine::general_purpose::STANDARD
                .decode(frame.data)
                .ok()
        }
        _ => None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_snapshot_answers_with_the_printers_frame_in_its_ack() {
    let setup = Setup::start(Model::P1S, 1.0).await;
    setup.add_printer().await;
    let snapshot = |id: &str| {
        command(
            id,
            HubCommand::CameraSnapshot {
                printer_id: setup.serial(),
            },
        )
    };
    setup.server.send(snapshot("camera-1"));
    assert_eq!(setup.server.wait_ack("camera-1", WAIT).await, (true, None));
    let frame = acked_frame(&setup.server, "camera-1").expect("a frame in the ack");
    assert!(frame.starts_with(&[0xFF, 0xD8]) && frame.ends_with(&[0xFF, 0xD9]));
    assert_eq!(frame, setup.printer().camera_frame());

    // A printer the hub does not manage: refused in words, no frame.
    setup.server.send(command(
        "camera-2",
        HubCommand::CameraSnapshot {
            printer_id: "01P00A000000000".into(),
        },
    ));
    let (success, error) = setup.server.wait_ack("camera-2", WAIT).await;
    assert!(!success && error.expect("reason").contains("not configured"));
    assert_eq!(acked_frame(&setup.server, "camera-2"), None);
    setup.agent.stop().await;
}

/// A JPEG's width and height, from its start-of-frame segment.
fn jpeg_size(jpeg: &[u8]) -> Option<(u16, u16)> {
    let mut at = 2;
    while at + 9 <= jpeg.len() && jpeg[at] == 0xFF {
        let marker = jpeg[at + 1];
        if (0xC0..=0xC2).contains(&marker) {
            let height = u16::from_be_bytes([jpeg[at + 5], jpeg[at + 6]]);
            let width = u16::from_be_bytes([jpeg[at + 7], jpeg[at + 8]]);
            return Some((width, height));
        }
        at += 2 + usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_x1_camera_snapshot_is_a_jpeg_decoded_from_its_rtsps_stream() {
    let setup = Setup::start(Model::X1C, 1.0).await;
    setup.add_printer().await;
    let mut took = Vec::new();
    for n in 0..20 {
        let id = format!("camera-x1-{n}");
        let started = std::time::Instant::now();
        setup.server.send(command(
            &id,
            HubCommand::CameraSnapshot {
                printer_id: setup.serial(),
            },
        ));
        assert_eq!(setup.server.wait_ack(&id, WAIT).await, (true, None));
        took.push(started.elapsed());
        let frame = acked_frame(&setup.server, &id).expect("a frame in the ack");
        assert!(frame.starts_with(&[0xFF, 0xD8]) && frame.ends_with(&[0xFF, 0xD9]));
        // The simulator's 320×180 progress picture, through H.264 and back.
        assert_eq!(jpeg_size(&frame), Some((320, 180)));
    }
    took.sort();
    println!(
        "X1 snapshot through the hub (RTSPS, {} build): p50 {:?}, p99 {:?}, max {:?}",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        took[took.len() / 2],
        took[took.len() * 99 / 100],
        took[took.len() - 1]
    );
    // The target on loopback; the median, so one slow scheduling on a busy CI is no failure.
    assert!(
        took[took.len() / 2] < Duration::from_millis(500),
        "{took:?}"
    );

    // A wrong access code: the camera's 401 named, no frame.
    let mut update = add_printer("update-1", setup.printer(), "00000000");
    if let HubCommand::ConfigurePrinter { action, .. } = &mut update.command {
        *action = proto::hub::ConfigureAction::Update;
    }
    setup.server.send(update);
    assert_eq!(setup.server.wait_ack("update-1", WAIT).await, (true, None));
    setup.server.send(command(
        "camera-x1-wrong",
        HubCommand::CameraSnapshot {
            printer_id: setup.serial(),
        },
    ));
    let (success, error) = setup.server.wait_ack("camera-x1-wrong", WAIT).await;
    assert!(!success && error.expect("reason").contains("refused"));
    assert_eq!(acked_frame(&setup.server, "camera-x1-wrong"), None);
    setup.agent.stop().await;
}
