//! The simulator, driven by real clients over loopback: rumqttc with bambu's
//! pinning TLS config, suppaftp through `bambu::ftps`, UDP for discovery.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bambu::command::{Command, ProjectFile, Response, SequenceIds};
use bambu::ftps::{FtpsError, FtpsTarget};
use bambu::report::{GcodeState, Hms, Incoming, PrintError, PrinterState};
use bambu::tls::{CertPin, client_config};
use bambu::{Model, mqtt};
use rumqttc::{AsyncClient, ConnectReturnCode, ConnectionError, Event, Packet, QoS};
use sim::{AnnounceConfig, Farm, FarmConfig, PrinterHandle, PrinterSpec};

/// The small sliced fixture: A1 mini, PLA, prediction 926 s, 42 layers.
const SAMPLE: &str = "../../../shared/fixtures/3mf/sample-a.3mf";
const DEADLINE: Duration = Duration::from_secs(20);

fn init() {
    // Everything here passes the ring provider explicitly; a process default
    // is installed too so nothing can pick another one.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Polls `condition` until it holds or the deadline passes.
async fn eventually<F: FnMut() -> bool>(what: &str, mut condition: F) -> Result<()> {
    let start = tokio::time::Instant::now();
    while start.elapsed() < DEADLINE {
        if condition() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    bail!("timed out waiting for {what}")
}

async fn within<T>(what: &str, future: impl Future<Output = T>) -> Result<T> {
    tokio::time::timeout(DEADLINE, future)
        .await
        .with_context(|| format!("timed out: {what}"))
}

async fn farm(config: FarmConfig) -> Result<Farm> {
    init();
    Ok(Farm::start(config).await?)
}

fn fast(printers: Vec<PrinterSpec>, time_scale: f64) -> FarmConfig {
    let mut config = FarmConfig::new(printers);
    config.report_interval = Duration::from_millis(20);
    config.time_scale = time_scale;
    config
}

/// What a hub-like client has seen from one printer.
#[derive(Default)]
struct Seen {
    state: PrinterState,
    /// `gcode_state` after each status push, without repeats.
    states: Vec<GcodeState>,
    responses: Vec<Response>,
    pushes: usize,
    disconnected: bool,
}

/// A connected, subscribed MQTT client that merges reports like the hub will.
struct Client {
    client: AsyncClient,
    seen: Arc<Mutex<Seen>>,
    serial: String,
    ids: SequenceIds,
}

impl Client {
    async fn connect(
        printer: &PrinterHandle,
        access_code: &str,
        pin: CertPin,
    ) -> Result<Client, ConnectionError> {
        let tls = client_config(pin).expect("tls config");
        let addr = printer.mqtt_addr();
        let id = format!("test-{}", rand_id());
        let options = mqtt::options(&id, &addr.ip().to_string(), addr.port(), access_code, tls);
        let (client, mut events) = AsyncClient::new(options, 64);
        loop {
            match events.poll().await? {
                Event::Incoming(Packet::ConnAck(_)) => break,
                _ => continue,
            }
        }
        let seen = Arc::new(Mutex::new(Seen::default()));
        let sink = seen.clone();
        tokio::spawn(async move {
            loop {
                match events.poll().await {
                    Ok(Event::Incoming(Packet::Publish(publish))) => {
                        let mut seen = sink.lock().expect("lock");
                        match seen.state.apply_message(&publish.payload) {
                            Ok(Incoming::Status(_)) => {
                                seen.pushes += 1;
                                if let Some(state) = seen.state.gcode_state()
                                    && seen.states.last() != Some(&state)
                                {
                                    seen.states.push(state);
                                }
                            }
                            Ok(Incoming::Response(response)) => seen.responses.push(response),
                            _ => {}
                        }
                    }
                    Ok(_) => {}
                    Err(_) => {
                        sink.lock().expect("lock").disconnected = true;
                        return;
                    }
                }
            }
        });
        client
            .subscribe(mqtt::report_topic(printer.serial()), QoS::AtMostOnce)
            .await
            .expect("subscribe queued");
        Ok(Client {
            client,
            seen,
            serial: printer.serial().to_owned(),
            ids: SequenceIds::new(),
        })
    }

    /// Sends a command; returns its sequence id.
    async fn send(&self, command: &Command) -> String {
        let id = self.ids.next_id();
        self.client
            .publish(
                mqtt::request_topic(&self.serial),
                QoS::AtLeastOnce,
                false,
                command.to_payload(&id),
            )
            .await
            .expect("publish queued");
        id
    }

    /// Sends a command and waits for its response.
    async fn call(&self, command: &Command) -> Result<Response> {
        let id = self.send(command).await;
        let mut found = None;
        eventually(&format!("a response to {}", command.name()), || {
            found = self
                .seen
                .lock()
                .expect("lock")
                .responses
                .iter()
                .find(|r| r.sequence_id.as_deref() == Some(id.as_str()))
                .cloned();
            found.is_some()
        })
        .await?;
        found.context("response")
    }

    async fn wait_for(&self, what: &str, mut condition: impl FnMut(&Seen) -> bool) -> Result<()> {
        eventually(what, || condition(&self.seen.lock().expect("lock"))).await
    }

    /// Connects, subscribes and waits for the pushall answer.
    async fn ready(printer: &PrinterHandle) -> Result<Client> {
        let client = Client::connect(printer, printer.access_code(), CertPin::new()).await?;
        client.send(&Command::Pushall).await;
        client
            .wait_for("the full report", |seen| seen.state.gcode_state().is_some())
            .await?;
        Ok(client)
    }
}

fn rand_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn ftps_target(printer: &PrinterHandle) -> FtpsTarget {
    let tls = client_config(CertPin::new()).expect("tls config");
    FtpsTarget::new(printer.ftps_addr(), printer.access_code(), tls)
}

async fn upload_sample(printer: &PrinterHandle, remote: &str) -> Result<u64, FtpsError> {
    let file = tokio::fs::File::open(SAMPLE)
        .await
        .expect("fixture present");
    bambu::ftps::upload(&ftps_target(printer), remote, file, |_| {}).await
}

async fn start_sample_print(printer: &PrinterHandle, client: &Client) -> Result<Response> {
    upload_sample(printer, "sample-a.gcode.3mf").await?;
    client
        .call(&Command::ProjectFile(Box::new(ProjectFile::new(
            "sample-a.gcode.3mf",
            1,
        ))))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_with_the_access_code_logs_in_pins_the_certificate_and_gets_the_full_report()
-> Result<()> {
    let farm = farm(FarmConfig::new(vec![PrinterSpec::new(Model::P1S)])).await?;
    let printer = &farm.printers()[0];
    assert!(printer.serial().starts_with("01P"), "P1S serial prefix");
    let pin = CertPin::new();
    let client = Client::connect(printer, printer.access_code(), pin.clone()).await?;
    assert!(pin.get().is_some(), "first contact pins the certificate");
    client.send(&Command::Pushall).await;
    client
        .wait_for("a full report", |seen| {
            seen.state.gcode_state() == Some(GcodeState::Idle)
        })
        .await?;
    let report = client.seen.lock().expect("lock").state.report();
    assert_eq!(report.gcode_state, Some(GcodeState::Idle));
    assert_eq!(report.ams[0].trays.len(), 4);
    assert_eq!(report.nozzle_diameter.as_deref(), Some("0.4"));
    assert_eq!(report.signature_required, Some(false));
    assert_eq!(printer.mqtt_connections(), 1);

    let version = client.call(&Command::GetVersion).await?;
    assert!(version.is_success());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_access_code_is_refused_with_return_code_5() -> Result<()> {
    let farm = farm(FarmConfig::new(vec![PrinterSpec::new(Model::A1)])).await?;
    let printer = &farm.printers()[0];
    let refused = within(
        "refusal",
        Client::connect(printer, "00000000", CertPin::new()),
    )
    .await?;
    match refused {
        Err(ConnectionError::ConnectionRefused(code)) => {
            assert_eq!(code, ConnectReturnCode::NotAuthorized);
        }
        Err(other) => bail!("expected a refusal, got {other}"),
        Ok(_) => bail!("a wrong access code was accepted"),
    }
    assert_eq!(printer.mqtt_connections(), 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_certificate_is_refused_by_the_pin() -> Result<()> {
    let farm = farm(FarmConfig::mixed(2)).await?;
    let [first, second] = farm.printers() else {
        bail!("two printers")
    };
    let pin = CertPin::new();
    Client::connect(first, first.access_code(), pin.clone()).await?;
    // Same pin, another printer's certificate: as if the printer were swapped.
    let result = within(
        "pin check",
        Client::connect(second, second.access_code(), pin),
    )
    .await?;
    assert!(
        matches!(result, Err(ConnectionError::Tls(_))),
        "pinned certificate mismatch must fail TLS"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ftps_upload_streams_the_file_and_the_size_matches() -> Result<()> {
    let farm = farm(FarmConfig::new(vec![PrinterSpec::new(Model::X1C)])).await?;
    let printer = &farm.printers()[0];
    let expected = std::fs::read(SAMPLE)?;
    let progress = Arc::new(Mutex::new(Vec::new()));
    let sink = progress.clone();
    let file = tokio::fs::File::open(SAMPLE).await?;
    let sent = within(
        "upload",
        bambu::ftps::upload(
            &ftps_target(printer),
            "cache/sample-a.gcode.3mf",
            file,
            move |n| sink.lock().expect("lock").push(n),
        ),
    )
    .await??;
    assert_eq!(sent, expected.len() as u64);
    let progress = progress.lock().expect("lock").clone();
    assert!(progress.len() > 1, "progress reported during the transfer");
    assert_eq!(progress.last(), Some(&sent));
    assert!(
        progress.windows(2).all(|w| w[0] < w[1]),
        "progress only grows"
    );
    let stored = printer
        .file("cache/sample-a.gcode.3mf")
        .context("file stored")?;
    assert_eq!(
        stored.as_ref(),
        expected.as_slice(),
        "bytes arrive unchanged (binary mode)"
    );
    assert_eq!(printer.files().len(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_connection_without_tls_session_reuse_is_refused() -> Result<()> {
    use suppaftp::Status;
    use suppaftp::tokio::{AsyncRustlsConnector, AsyncRustlsFtpStream};
    use suppaftp::types::FileType;

    let farm = farm(FarmConfig::new(vec![PrinterSpec::new(Model::X1C)])).await?;
    let printer = &farm.printers()[0];
    let mut tls = (*client_config(CertPin::new())?).clone();
    tls.resumption = rustls::client::Resumption::disabled();
    let connector = AsyncRustlsConnector::from(tokio_rustls::TlsConnector::from(Arc::new(tls)));
    let mut ftp = within(
        "connect",
        AsyncRustlsFtpStream::connect_secure_implicit(printer.ftps_addr(), connector, "127.0.0.1"),
    )
    .await??;
    ftp.login("bblp", printer.access_code()).await?;
    ftp.custom_command("PBSZ 0", &[Status::CommandOk]).await?;
    ftp.custom_command("PROT P", &[Status::CommandOk]).await?;
    ftp.transfer_type(FileType::Binary).await?;
    let mut body: &[u8] = b"G28\n";
    let result = within("refused upload", ftp.put_file("x.gcode", &mut body)).await?;
    // Whether the client sees the 522 or a broken pipe first is a race; the
    // exact reply is checked below with a hand-driven session.
    assert!(result.is_err(), "upload without session reuse must fail");
    assert!(printer.file("x.gcode").is_none());

    let reply = raw_store_without_reuse(printer).await?;
    // vsftpd's answer with `require_ssl_reuse`, which X1 printers give.
    assert!(reply.starts_with("522 "), "{reply}");
    assert!(printer.files().is_empty());
    Ok(())
}

/// Drives an FTPS session by hand up to STOR with a data connection that
/// does a full handshake, and returns the server's reply to that.
async fn raw_store_without_reuse(printer: &PrinterHandle) -> Result<String> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    let mut tls = (*client_config(CertPin::new())?).clone();
    tls.resumption = rustls::client::Resumption::disabled();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls));
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1")?;
    let tcp = tokio::net::TcpStream::connect(printer.ftps_addr()).await?;
    let mut control = BufReader::new(connector.connect(name.clone(), tcp).await?);
    async fn line(control: &mut (impl AsyncBufReadExt + Unpin)) -> Result<String> {
        let mut text = String::new();
        within("a reply", control.read_line(&mut text)).await??;
        Ok(text.trim_end().to_owned())
    }
    assert!(line(&mut control).await?.starts_with("220"));
    let mut pasv = String::new();
    for command in [
        "USER bblp",
        &format!("PASS {}", printer.access_code()),
        "PBSZ 0",
        "PROT P",
        "TYPE I",
        "EPSV",
    ] {
        control
            .get_mut()
            .write_all(format!("{command}\r\n").as_bytes())
            .await?;
        pasv = line(&mut control).await?;
        assert!(
            pasv.starts_with('2') || pasv.starts_with("331"),
            "{command}: {pasv}"
        );
    }
    let port: u16 = pasv
        .split("|||")
        .nth(1)
        .and_then(|rest| rest.split('|').next())
        .context("EPSV port")?
        .parse()?;
    let data = tokio::net::TcpStream::connect((printer.ftps_addr().ip(), port)).await?;
    control.get_mut().write_all(b"STOR x.gcode\r\n").await?;
    assert!(line(&mut control).await?.starts_with("150"));
    // The handshake itself succeeds; the server refuses it for not resuming.
    let _data = connector.connect(name, data).await?;
    line(&mut control).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_426_after_a_complete_upload_still_counts_when_the_size_matches() -> Result<()> {
    let farm = farm(FarmConfig::new(vec![PrinterSpec::new(Model::P1S)])).await?;
    let printer = &farm.printers()[0];
    printer.set_426_after_upload(true);
    let sent = upload_sample(printer, "a.gcode.3mf").await?;
    assert_eq!(sent, std::fs::metadata(SAMPLE)?.len());
    assert_eq!(
        printer.file("a.gcode.3mf").map(|f| f.len() as u64),
        Some(sent)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ftps_refuses_a_wrong_access_code() -> Result<()> {
    let farm = farm(FarmConfig::new(vec![PrinterSpec::new(Model::P1P)])).await?;
    let printer = &farm.printers()[0];
    let mut target = ftps_target(printer);
    target.access_code = "wrong".into();
    let result = bambu::ftps::upload(&target, "a.3mf", &b"x"[..], |_| {}).await;
    assert!(matches!(result, Err(FtpsError::Login)), "{result:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_print_goes_prepare_running_finish_with_the_files_own_timing() -> Result<()> {
    let farm = farm(fast(vec![PrinterSpec::new(Model::A1Mini)], 400.0)).await?;
    let printer = &farm.printers()[0];
    let client = Client::ready(printer).await?;
    let response = start_sample_print(printer, &client).await?;
    assert!(response.is_success(), "{response:?}");
    client
        .wait_for("a running print", |seen| {
            seen.state.gcode_state() == Some(GcodeState::Running)
                && seen.state.percent().is_some_and(|p| p > 0)
        })
        .await?;
    {
        let seen = client.seen.lock().expect("lock");
        let report = seen.state.report();
        assert_eq!(report.total_layers, Some(42), "layer count from the 3MF");
        assert_eq!(report.subtask_name.as_deref(), Some("sample-a"));
        assert_eq!(report.gcode_file.as_deref(), Some("sample-a.gcode.3mf"));
        // 926 s predicted: at most 16 minutes left.
        assert!(
            report.remaining_minutes.is_some_and(|m| m <= 16),
            "{report:?}"
        );
        assert_eq!(report.nozzle_target, Some(220.0), "PLA temperatures");
    }
    client
        .wait_for("FINISH", |seen| {
            seen.state.gcode_state() == Some(GcodeState::Finish)
        })
        .await?;
    let seen = client.seen.lock().expect("lock");
    assert_eq!(
        seen.states,
        vec![
            GcodeState::Idle,
            GcodeState::Prepare,
            GcodeState::Running,
            GcodeState::Finish
        ]
    );
    assert_eq!(seen.state.percent(), Some(100));
    assert_eq!(seen.state.layer(), Some(42));
    assert_eq!(seen.state.remaining_minutes(), Some(0));
    assert!(seen.pushes > 3, "deltas pushed while printing");
    assert_eq!(printer.status().gcode_state, GcodeState::Finish);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_and_stop_work_like_on_a_p1() -> Result<()> {
    let farm = farm(fast(vec![PrinterSpec::new(Model::P1S)], 20.0)).await?;
    let printer = &farm.printers()[0];
    let client = Client::ready(printer).await?;
    assert!(start_sample_print(printer, &client).await?.is_success());
    client
        .wait_for("RUNNING", |seen| {
            seen.state.gcode_state() == Some(GcodeState::Running)
        })
        .await?;

    assert!(client.call(&Command::Pause).await?.is_success());
    client
        .wait_for("PAUSE", |seen| {
            seen.state.gcode_state() == Some(GcodeState::Pause)
        })
        .await?;
    let paused = printer.status();
    assert_eq!(paused.stage, 16, "stg_cur 16 = paused by the user");
    // Progress stands still while paused: let a few ticks pass, by counting them.
    let pushes = client.seen.lock().expect("lock").pushes;
    client.send(&Command::Pushall).await;
    client
        .wait_for("another push", |seen| seen.pushes > pushes)
        .await?;
    assert_eq!(printer.status().percent, paused.percent);
    assert_eq!(printer.status().layer, paused.layer);
    assert!(
        !client.call(&Command::Pause).await?.is_success(),
        "nothing to pause"
    );

    assert!(client.call(&Command::Resume).await?.is_success());
    client
        .wait_for("RUNNING again", |seen| {
            seen.state.gcode_state() == Some(GcodeState::Running)
        })
        .await?;

    assert!(client.call(&Command::Stop).await?.is_success());
    client
        .wait_for("FAILED with the cancel code", |seen| {
            seen.state.gcode_state() == Some(GcodeState::Failed)
                && seen.state.print_error() == Some(PrintError::CANCELLED)
        })
        .await?;
    client
        .wait_for("the cancel code cleared", |seen| {
            seen.state.print_error().is_none()
        })
        .await?;
    assert_eq!(printer.status().gcode_state, GcodeState::Failed);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_file_for_a_missing_file_fails_with_an_error() -> Result<()> {
    let farm = farm(fast(vec![PrinterSpec::new(Model::A1)], 1.0)).await?;
    let printer = &farm.printers()[0];
    let client = Client::ready(printer).await?;
    let response = client
        .call(&Command::ProjectFile(Box::new(ProjectFile::new(
            "nope.gcode.3mf",
            1,
        ))))
        .await?;
    assert!(!response.is_success());
    assert_eq!(
        response.err_code,
        Some(i64::from(PrintError::FILE_UNPARSABLE.0))
    );
    client
        .wait_for("FAILED with 0500_4003", |seen| {
            seen.state.gcode_state() == Some(GcodeState::Failed)
                && seen.state.print_error() == Some(PrintError::FILE_UNPARSABLE)
        })
        .await?;

    // A plate the file does not have fails the same way.
    upload_sample(printer, "sample-a.gcode.3mf").await?;
    let response = client
        .call(&Command::ProjectFile(Box::new(ProjectFile::new(
            "sample-a.gcode.3mf",
            7,
        ))))
        .await?;
    assert!(!response.is_success());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_injected_hms_error_shows_up_in_reports() -> Result<()> {
    let farm = farm(fast(vec![PrinterSpec::new(Model::X1C)], 1.0)).await?;
    let printer = &farm.printers()[0];
    let client = Client::ready(printer).await?;
    printer.inject_hms(Hms::HEATBED_TEMPERATURE_ABNORMAL);
    client
        .wait_for("the HMS message", |seen| {
            seen.state
                .hms()
                .contains(&Hms::HEATBED_TEMPERATURE_ABNORMAL)
        })
        .await?;
    assert_eq!(
        client.seen.lock().expect("lock").state.hms()[0].to_string(),
        "HMS_0300_0100_0001_0007"
    );
    printer.clear_hms();
    client
        .wait_for("HMS cleared", |seen| seen.state.hms().is_empty())
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_injected_print_failure_stops_the_print_at_its_percent() -> Result<()> {
    let farm = farm(fast(vec![PrinterSpec::new(Model::P1P)], 400.0)).await?;
    let printer = &farm.printers()[0];
    let client = Client::ready(printer).await?;
    printer.fail_print_at(30, PrintError::FILAMENT_RUNOUT);
    assert!(start_sample_print(printer, &client).await?.is_success());
    client
        .wait_for("FAILED", |seen| {
            seen.state.gcode_state() == Some(GcodeState::Failed)
        })
        .await?;
    let seen = client.seen.lock().expect("lock");
    assert_eq!(seen.state.print_error(), Some(PrintError::FILAMENT_RUNOUT));
    let percent = seen.state.percent().context("percent")?;
    assert!((30..100).contains(&percent), "failed at {percent}%");
    assert!(!seen.states.contains(&GcodeState::Finish));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_closes_every_client_and_a_new_one_gets_in() -> Result<()> {
    let farm = farm(fast(vec![PrinterSpec::new(Model::A1)], 1.0)).await?;
    let printer = &farm.printers()[0];
    let first = Client::ready(printer).await?;
    let second = Client::ready(printer).await?;
    eventually("two connections", || printer.mqtt_connections() == 2).await?;
    printer.drop_connections();
    first
        .wait_for("first disconnected", |seen| seen.disconnected)
        .await?;
    second
        .wait_for("second disconnected", |seen| seen.disconnected)
        .await?;
    eventually("no connections", || printer.mqtt_connections() == 0).await?;
    let again = Client::ready(printer).await?;
    assert!(!again.seen.lock().expect("lock").disconnected);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_storage_refuses_uploads_with_552() -> Result<()> {
    let farm = farm(FarmConfig::new(vec![PrinterSpec::new(Model::P1S)])).await?;
    let printer = &farm.printers()[0];
    printer.set_storage_full(true);
    let result = upload_sample(printer, "a.gcode.3mf").await;
    assert!(matches!(result, Err(FtpsError::StorageFull)), "{result:?}");
    printer.set_storage_full(false);
    upload_sample(printer, "a.gcode.3mf").await?;

    // A card too small for the second file: refused after the transfer.
    printer.set_storage_limit(1_500_000);
    let result = upload_sample(printer, "b.gcode.3mf").await;
    assert!(matches!(result, Err(FtpsError::StorageFull)), "{result:?}");
    assert!(printer.file("b.gcode.3mf").is_none());
    assert_eq!(printer.files().len(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_developer_mode_commands_are_refused_but_reading_works() -> Result<()> {
    let farm = farm(fast(vec![PrinterSpec::new(Model::X1C)], 1.0)).await?;
    let printer = &farm.printers()[0];
    printer.set_commands_refused(true);
    let client = Client::ready(printer).await?;
    let response = client.call(&Command::Pause).await?;
    assert!(!response.is_success());
    assert!(response.is_signature_refusal(), "{response:?}");
    client
        .wait_for("the verification HMS", |seen| {
            seen.state.hms().contains(&Hms::COMMAND_VERIFICATION_FAILED)
        })
        .await?;
    assert_eq!(
        client
            .seen
            .lock()
            .expect("lock")
            .state
            .report()
            .signature_required,
        Some(true)
    );
    let response = client
        .call(&Command::ProjectFile(Box::new(ProjectFile::new(
            "x.3mf", 1,
        ))))
        .await?;
    assert!(response.is_signature_refusal());
    assert!(
        client.call(&Command::GetVersion).await?.is_success(),
        "reading still works"
    );
    assert_eq!(printer.status().gcode_state, GcodeState::Idle);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn printers_announce_themselves_to_the_configured_target() -> Result<()> {
    init();
    let listener = bambu::discovery::Listener::bind("127.0.0.1:0".parse()?)?;
    let mut config = FarmConfig::mixed(3);
    config.announce = Some(AnnounceConfig {
        target: listener.local_addr()?,
        interval: Duration::from_millis(50),
    });
    let farm = Farm::start(config).await?;
    let mut found = std::collections::BTreeMap::new();
    while found.len() < 3 {
        let (announcement, _) = within("an announcement", listener.recv()).await??;
        found.insert(announcement.serial.clone(), announcement);
    }
    for printer in farm.printers() {
        let a = &found[printer.serial()];
        assert_eq!(a.model(), Some(printer.model()));
        assert_eq!(a.mqtt_port, Some(printer.mqtt_addr().port()));
        assert_eq!(a.ftps_port, Some(printer.ftps_addr().port()));
        assert_eq!(a.ip, Some(printer.mqtt_addr().ip()));
        assert!(a.is_lan_only());
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_prints_one_json_line_per_printer() -> Result<()> {
    init();
    let mut out = Vec::new();
    sim::run_until(FarmConfig::mixed(5), &mut out, async {}).await?;
    let lines: Vec<serde_json::Value> = String::from_utf8(out)?
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    assert_eq!(lines.len(), 5);
    let models: Vec<&str> = lines
        .iter()
        .filter_map(|l| l["model_code"].as_str())
        .collect();
    assert_eq!(models, ["BL-P001", "C12", "C11", "N2S", "N1"]);
    for line in &lines {
        assert_eq!(line["access_code"].as_str().map(str::len), Some(8));
        assert_eq!(line["serial"].as_str().map(str::len), Some(15));
        assert!(line["mqtt_port"].as_u64().is_some_and(|p| p > 0));
        assert!(line["ftps_port"].as_u64().is_some_and(|p| p > 0));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_x1_camera_plays_h264_over_rtsps_for_its_access_code_only() -> Result<()> {
    let farm = farm(FarmConfig::uniform(Model::X1C, 1)).await?;
    let printer = &farm.printers()[0];
    let addr = printer.camera_addr().context("an X1 has a camera")?;
    let tls = client_config(CertPin::new())?;
    let wait = Duration::from_secs(5);
    let max = bambu::camera::MAX_FRAME;
    let jpeg =
        bambu::rtsps::fetch_frame(addr, printer.access_code(), tls.clone(), wait, max).await?;
    assert!(jpeg.starts_with(&[0xFF, 0xD8]) && jpeg.ends_with(&[0xFF, 0xD9]));
    // The start of frame says 320×180: the simulator's picture, through H.264 and back.
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .context("a baseline JPEG")?;
    assert_eq!(&jpeg[sof + 5..sof + 9], &[0, 180, 1, 64]);
    let refused = bambu::rtsps::fetch_frame(addr, "00000000", tls, wait, max).await;
    assert!(
        matches!(refused, Err(bambu::rtsps::RtspsError::Refused)),
        "{refused:?}"
    );
    Ok(())
}
