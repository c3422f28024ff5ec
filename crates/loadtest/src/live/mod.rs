//! A live farm under load, shared by the `server` and `fanout` scenarios.
//!
//! The farm is set up through the HTTP API (accounts, hubs, printers); then stand-in
//! hubs speak the hub protocol directly ([`hubs`]) and report each printer's status at a
//! steady rate, while dashboard sockets ([`dashboards`]) receive what the server fans out.
//!
//! Latency is report → dashboard: each status carries its send instant (microseconds
//! since the run's clock started) in `remaining_time_seconds`, a field the server passes
//! to dashboards unchanged and never stores, so the receiving side needs no lookup to
//! match a delivery to its send. The server coalesces statuses per printer for each
//! dashboard (newest wins), so a dashboard may get fewer deliveries than reports; what
//! arrives is counted and measured.
//!
//! The run goes through phases: connect everything, report (a warm-up, then the
//! measured window), drain (no more reports; late deliveries still count), close.

pub mod dashboards;
pub mod hubs;

use crate::api::{Account, Api, NewPrinter, RegisteredHub};
use crate::error::{Error, Result};
use crate::latency::LatencySummary;
use crate::process::{MemoryFigures, MemoryWatch, ServerProcess, check_open_files, cpu_seconds};
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Concurrent API calls while setting up (SQLite takes one writer at a time anyway).
const SETUP_CONCURRENCY: usize = 16;
/// Hub sockets opening at once: each hello costs the server a few database round trips.
const CONNECT_CONCURRENCY: usize = 64;
/// Dashboard sockets opening at once.
const DASHBOARD_CONCURRENCY: usize = 32;
/// At most this many tasks read dashboards; each serves its share of the sockets.
const DASHBOARD_TASKS: usize = 16;
/// After the last report, deliveries are awaited until none came for `QUIET`, at most `DRAIN`.
const DRAIN: Duration = Duration::from_secs(10);
const QUIET: Duration = Duration::from_secs(1);
/// How often the server's memory is sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(500);
/// Hub tasks report at most this often (a tokio interval needs a non-zero period).
const MIN_REPORT_PERIOD: Duration = Duration::from_micros(100);
/// More printers than this behind one hub is not a hub any more.
const MAX_PRINTERS_PER_HUB: usize = 10_000;
/// A pause between "everything is connected" and the first report.
const LEAD_IN: Duration = Duration::from_millis(200);

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Farms (accounts); hubs and dashboards are spread over them round-robin.
    pub farms: usize,
    /// Hub sockets in all.
    pub hubs: usize,
    /// Printers behind each hub.
    pub printers_per_hub: usize,
    /// Dashboard sockets in all.
    pub dashboards: usize,
    /// Time between two reports of one printer.
    pub report_interval: Duration,
    /// Reporting before the measured window.
    pub warmup: Duration,
    /// The measured window.
    pub duration: Duration,
    /// Send `gcode_state` as a real hub does (the server then also checks the printer's job).
    pub gcode_state: bool,
    /// Each hub sends all its printers' reports together, in one write, once per interval
    /// (lighter for the load generator; burstier for the server than a real hub).
    pub batch: bool,
}

impl Plan {
    fn validate(&self) -> Result<()> {
        let positive = [
            ("--farms", self.farms),
            ("--hubs", self.hubs),
            ("--printers-per-hub", self.printers_per_hub),
            ("--dashboards", self.dashboards),
        ];
        if let Some((flag, _)) = positive.iter().find(|(_, n)| *n == 0) {
            return Err(Error::Invalid(format!("{flag} must be at least 1")));
        }
        if self.farms > self.hubs || self.farms > self.dashboards {
            return Err(Error::Invalid(
                "each farm needs a hub and a dashboard: --farms must not exceed --hubs or --dashboards"
                    .into(),
            ));
        }
        if self.printers_per_hub > MAX_PRINTERS_PER_HUB {
            return Err(Error::Invalid(format!(
                "--printers-per-hub must be at most {MAX_PRINTERS_PER_HUB}"
            )));
        }
        if self.report_interval.is_zero() || self.duration.is_zero() {
            return Err(Error::Invalid(
                "the report interval and --duration must be positive".into(),
            ));
        }
        Ok(())
    }

    /// Printers in all.
    pub fn printers(&self) -> usize {
        self.hubs * self.printers_per_hub
    }

    /// Reports per second the hubs are asked to send.
    pub fn target_rate(&self) -> f64 {
        self.printers() as f64 / self.report_interval.as_secs_f64()
    }
}

/// What a live run measured.
#[derive(Debug, Clone, Serialize)]
pub struct LiveFigures {
    /// Farms.
    pub farms: usize,
    /// Hub sockets.
    pub hubs: usize,
    /// Printers.
    pub printers: usize,
    /// Dashboard sockets.
    pub dashboards: usize,
    /// Whether statuses carried `gcode_state`.
    pub gcode_state: bool,
    /// Whether each hub sent its printers' reports in one batch.
    pub batch: bool,
    /// Seconds spent setting the farm up through the API.
    pub setup_s: f64,
    /// Seconds until every hub socket was welcomed.
    pub hubs_connect_s: f64,
    /// Seconds until every dashboard was subscribed.
    pub dashboards_connect_s: f64,
    /// The measured window, seconds.
    pub window_s: f64,
    /// Reports the hubs were asked to send per second.
    pub target_reports_per_s: f64,
    /// Reports sent in the window.
    pub reports_sent: u64,
    /// Reports sent per second in the window.
    pub reports_per_s: f64,
    /// Deliveries of reports sent in the window, over all dashboards.
    pub deliveries: u64,
    /// Deliveries per second.
    pub deliveries_per_s: f64,
    /// Deliveries per report and dashboard (1.0: nothing coalesced or lost).
    pub delivery_ratio: f64,
    /// Deliveries of reports sent before the window (warm-up, the subscribe snapshot):
    /// not timed, but they show that a server too far behind still delivers something.
    pub deliveries_before_window: u64,
    /// Report → dashboard latency of those deliveries.
    pub latency: LatencySummary,
    /// Dashboards told to resync (they fell behind and were closed).
    pub resyncs: u64,
    /// Seconds from the first report to the first resync.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_resync_s: Option<f64>,
    /// Dashboard sockets that closed before the end.
    pub dashboards_lost: u64,
    /// Hub sockets that closed before the end.
    pub hubs_lost: u64,
    /// Error notices the server sent to hubs (a refused message).
    pub hub_errors: u64,
    /// The first such problem, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_hub_problem: Option<String>,
    /// Server nodes (processes) the load was spread over.
    pub nodes: usize,
    /// The (first) server's resident memory.
    pub server_memory: MemoryFigures,
    /// Cores the server used in the window (CPU seconds per second).
    pub server_cpu_cores: f64,
    /// Cores the load generator used in the window.
    pub loadgen_cpu_cores: f64,
}

/// The run's clock: every instant is microseconds since its start.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    epoch: Instant,
}

impl Clock {
    fn start() -> Clock {
        Clock {
            epoch: Instant::now(),
        }
    }

    /// Microseconds since the start, now.
    pub fn now_us(&self) -> u64 {
        self.at_us(Instant::now())
    }

    /// Microseconds since the start, at `instant`.
    pub fn at_us(&self, instant: Instant) -> u64 {
        instant.saturating_duration_since(self.epoch).as_micros() as u64
    }
}

/// The measured window, in clock microseconds: reports sent inside it count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First microsecond.
    pub start_us: u64,
    /// Last microsecond (exclusive).
    pub end_us: u64,
}

impl Window {
    /// Whether a send instant falls in the window.
    pub fn contains(&self, us: u64) -> bool {
        (self.start_us..self.end_us).contains(&us)
    }
}

/// What every hub and dashboard task reads.
#[derive(Debug)]
pub struct Shared {
    /// The run's clock.
    pub clock: Clock,
    /// Set once, before reporting starts.
    pub window: OnceLock<Window>,
    /// When a dashboard last received a report sent in the window (clock microseconds,
    /// refreshed at most every few milliseconds per reader): the drain waits for quiet.
    pub last_delivery_us: AtomicU64,
}

/// Where the run is; hubs and dashboards follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Sockets are opening.
    Connecting,
    /// Hubs report, starting at `go`.
    Reporting {
        /// The first report's instant (hubs offset their own from it).
        go: Instant,
    },
    /// Hubs stop reporting; dashboards still count what arrives.
    Draining,
    /// Everyone closes.
    Closing,
}

/// Read buffer of each load-test socket. tungstenite's default (128 KiB) is allocated per
/// socket and zero-filled up to its size on every read attempt, which would make thousands
/// of stand-in sockets cost more than the server under test; the messages are < 1 KiB.
const SOCKET_READ_BUFFER: usize = 8 * 1024;
/// What a socket gathers before writing (a hub's batch of statuses).
const SOCKET_WRITE_BUFFER: usize = 64 * 1024;

/// The WebSocket settings of the load test's own sockets.
pub fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(SOCKET_READ_BUFFER)
        // Room for a batch of statuses written at once; a lone message is flushed at once.
        .write_buffer_size(SOCKET_WRITE_BUFFER)
}

/// The id of hub number `n`.
fn hub_id(n: usize) -> String {
    format!("lt-hub-{n:06}")
}

/// The serial of printer `p` on hub `h` (8 to 20 letters or digits).
pub fn serial(h: usize, p: usize) -> String {
    format!("LT{h:07}P{p:04}")
}

/// Starts a fresh server (a child `printfarm serve`), runs `plan` against it and stops it.
pub async fn run_on_fresh_server(
    children: &crate::process::Children,
    database_url: Option<&str>,
    plan: &Plan,
) -> Result<LiveFigures> {
    run_on_fresh_nodes(children, database_url, None, plan).await
}

/// Several server nodes sharing one database and one bus.
#[derive(Debug, Clone)]
pub struct Nodes {
    /// How many.
    pub count: usize,
    /// The NATS server they share.
    pub bus: String,
}

/// Runs `plan` against fresh server processes: one, or `nodes` on one database and bus,
/// with hub h on node h mod N and dashboard d on node d + 1 mod N (so that most of what a
/// dashboard receives crossed the bus).
pub async fn run_on_fresh_nodes(
    children: &crate::process::Children,
    database_url: Option<&str>,
    nodes: Option<&Nodes>,
    plan: &Plan,
) -> Result<LiveFigures> {
    let mut servers = Vec::new();
    match nodes {
        None => servers.push(ServerProcess::start(children, database_url).await?),
        Some(nodes) => {
            let Some(database_url) = database_url.filter(|u| u.starts_with("postgres")) else {
                return Err(Error::Invalid(
                    "several nodes share one PostgreSQL database: give --database-url postgres://…"
                        .into(),
                ));
            };
            let bus = format!("bus = {:?}\n", nodes.bus);
            let first = ServerProcess::start_with(children, Some(database_url), &bus).await?;
            // The others seal and sign with the first node's key.
            let key_file = first.dir().join("data").join("encryption.key");
            let key = std::fs::read_to_string(&key_file)
                .map_err(Error::io(format!("read {}", key_file.display())))?;
            let shared = format!("{bus}encryption_key = {:?}\n", key.trim());
            servers.push(first);
            for _ in 1..nodes.count.max(1) {
                servers
                    .push(ServerProcess::start_with(children, Some(database_url), &shared).await?);
            }
        }
    }
    for server in &servers {
        note!(
            "server listening on {} (pid {}); its log and data are in {}",
            server.addr(),
            server.pid(),
            server.dir().display()
        );
    }
    let figures = run(&mut servers, plan).await;
    for server in servers {
        server.stop().await;
    }
    figures
}

/// Sets the farm up, runs it under load and measures.
pub async fn run(servers: &mut [ServerProcess], plan: &Plan) -> Result<LiveFigures> {
    plan.validate()?;
    check_open_files(plan.hubs + plan.dashboards)?;
    let clock = Clock::start();
    let first = servers
        .first()
        .ok_or_else(|| Error::Invalid("no server to run against".into()))?;
    let api = Api::new(first.base_url())?;
    let setup_started = Instant::now();
    let accounts = set_up_accounts(&api, plan.farms).await?;
    let hubs = set_up_hubs(&api, &accounts, plan).await?;
    set_up_printers(&api, &accounts, &hubs, plan).await?;
    let setup_s = setup_started.elapsed().as_secs_f64();
    check_running(servers)?;

    let shared = Arc::new(Shared {
        clock,
        window: OnceLock::new(),
        last_delivery_us: AtomicU64::new(0),
    });
    let (phase, phase_rx) = watch::channel(Phase::Connecting);
    // Dropping a JoinSet aborts its tasks, so an early return leaves nothing running.
    let connected_started = Instant::now();
    let mut hub_tasks = connect_hubs(servers, &hubs, plan, &shared, &phase_rx).await?;
    let hubs_connect_s = connected_started.elapsed().as_secs_f64();
    let dashboards_started = Instant::now();
    let mut dashboard_tasks =
        connect_dashboards(servers, &accounts, plan, &shared, &phase_rx).await?;
    let dashboards_connect_s = dashboards_started.elapsed().as_secs_f64();

    let go = Instant::now() + LEAD_IN;
    let window_start = go + plan.warmup;
    let window_end = window_start + plan.duration;
    let window = Window {
        start_us: clock.at_us(window_start),
        end_us: clock.at_us(window_end),
    };
    // Set before the phase changes, so no task sees `Reporting` without the window.
    let _ = shared.window.set(window);
    // The start figure is the server with every socket open, before any report.
    let pids: Vec<u32> = servers.iter().map(ServerProcess::pid).collect();
    let mut memory = MemoryWatch::start(pids[0]);
    phase.send_replace(Phase::Reporting { go });
    note!(
        "reporting {:.0} statuses/s from {} printers to {} dashboards: {:.0} s warm-up, then {:.0} s measured",
        plan.target_rate(),
        plan.printers(),
        plan.dashboards,
        plan.warmup.as_secs_f64(),
        plan.duration.as_secs_f64()
    );
    watch_until(servers, window_start, &mut memory).await?;
    let cpu_before = (
        servers_cpu_seconds(&pids),
        cpu_seconds(std::process::id()),
        Instant::now(),
    );
    watch_until(servers, window_end, &mut memory).await?;
    let cpu_seconds_now = (servers_cpu_seconds(&pids), cpu_seconds(std::process::id()));
    let elapsed = cpu_before.2.elapsed().as_secs_f64();
    let cores = |before: Option<f64>, after: Option<f64>| match (before, after) {
        (Some(b), Some(a)) if elapsed > 0.0 => (a - b) / elapsed,
        _ => 0.0,
    };
    let server_cpu_cores = cores(cpu_before.0, cpu_seconds_now.0);
    let loadgen_cpu_cores = cores(cpu_before.1, cpu_seconds_now.1);
    let server_memory = memory.finish();

    phase.send_replace(Phase::Draining);
    drain(&shared).await;
    phase.send_replace(Phase::Closing);

    let mut received = dashboards::Stats::new()?;
    while let Some(joined) = dashboard_tasks.join_next().await {
        let stats =
            joined.map_err(|e| Error::Protocol(format!("a dashboard task failed: {e}")))??;
        received.merge(&stats);
    }
    let mut sent = hubs::Stats::default();
    while let Some(joined) = hub_tasks.join_next().await {
        let stats = joined.map_err(|e| Error::Protocol(format!("a hub task failed: {e}")))?;
        sent.merge(stats);
    }
    let window_s = plan.duration.as_secs_f64();
    let expected = sent.sent_in_window as f64 * plan.dashboards as f64 / plan.farms as f64;
    Ok(LiveFigures {
        farms: plan.farms,
        hubs: plan.hubs,
        printers: plan.printers(),
        dashboards: plan.dashboards,
        gcode_state: plan.gcode_state,
        batch: plan.batch,
        setup_s,
        hubs_connect_s,
        dashboards_connect_s,
        window_s,
        target_reports_per_s: plan.target_rate(),
        reports_sent: sent.sent_in_window,
        reports_per_s: sent.sent_in_window as f64 / window_s,
        deliveries: received.deliveries,
        deliveries_per_s: received.deliveries as f64 / window_s,
        delivery_ratio: if expected > 0.0 {
            received.deliveries as f64 / expected
        } else {
            0.0
        },
        deliveries_before_window: received.early,
        latency: received.latencies.summary(),
        resyncs: received.resyncs,
        first_resync_s: received
            .first_resync_us
            .map(|us| us.saturating_sub(clock.at_us(go)) as f64 / 1e6),
        dashboards_lost: received.lost,
        hubs_lost: sent.lost,
        hub_errors: sent.errors,
        first_hub_problem: sent.first_problem,
        nodes: servers.len(),
        server_memory,
        server_cpu_cores,
        loadgen_cpu_cores,
    })
}

/// Waits for the deliveries still on their way: until none came for [`QUIET`], at most [`DRAIN`].
async fn drain(shared: &Shared) {
    let started = Instant::now();
    while started.elapsed() < DRAIN {
        tokio::time::sleep(QUIET / 10).await;
        let last = shared.last_delivery_us.load(Ordering::Relaxed);
        if shared.clock.now_us().saturating_sub(last) >= QUIET.as_micros() as u64 {
            return;
        }
    }
    note!(
        "deliveries were still arriving {} s after the last report; the rest are not counted",
        DRAIN.as_secs()
    );
}

/// The CPU seconds of every server process, added up.
fn servers_cpu_seconds(pids: &[u32]) -> Option<f64> {
    pids.iter().map(|pid| cpu_seconds(*pid)).sum()
}

/// Fails when any server process has ended.
fn check_running(servers: &mut [ServerProcess]) -> Result<()> {
    servers
        .iter_mut()
        .try_for_each(ServerProcess::check_running)
}

/// Waits until `until`, checking every half second that the servers still run and
/// sampling the (first) server's memory.
async fn watch_until(
    servers: &mut [ServerProcess],
    until: Instant,
    memory: &mut MemoryWatch,
) -> Result<()> {
    loop {
        check_running(servers)?;
        memory.sample();
        let now = Instant::now();
        if now >= until {
            return Ok(());
        }
        tokio::time::sleep(SAMPLE_EVERY.min(until - now)).await;
    }
}

async fn set_up_accounts(api: &Api, farms: usize) -> Result<Vec<Account>> {
    note!("registering {farms} account(s), each with a farm");
    // Few, and each hashes a password: one after the other is fast enough.
    let mut accounts = Vec::with_capacity(farms);
    for n in 0..farms {
        accounts.push(api.register_account(n).await?);
    }
    Ok(accounts)
}

async fn set_up_hubs(api: &Api, accounts: &[Account], plan: &Plan) -> Result<Vec<RegisteredHub>> {
    note!("registering {} hubs", plan.hubs);
    futures::stream::iter(0..plan.hubs)
        .map(|h| {
            let id = hub_id(h);
            let account = &accounts[h % accounts.len()];
            async move { api.register_hub(account, &id).await }
        })
        .buffered(SETUP_CONCURRENCY)
        .try_collect()
        .await
}

async fn set_up_printers(
    api: &Api,
    accounts: &[Account],
    hubs: &[RegisteredHub],
    plan: &Plan,
) -> Result<()> {
    let total = plan.printers();
    note!("adding {total} printers through the API");
    let mut added = 0usize;
    let mut last_note = Instant::now();
    futures::stream::iter(0..total)
        .map(|i| {
            let (h, p) = (i / plan.printers_per_hub, i % plan.printers_per_hub);
            let account = &accounts[h % accounts.len()];
            let hub = &hubs[h];
            async move {
                let serial = serial(h, p);
                let name = format!("lt-{h}-{p}");
                let printer = NewPrinter {
                    name: &name,
                    model: "P1S",
                    serial: &serial,
                    access_code: "12345678",
                    hub_id: &hub.id,
                };
                api.add_printer(account, &printer).await
            }
        })
        .buffer_unordered(SETUP_CONCURRENCY)
        .try_for_each(|_| {
            added += 1;
            if last_note.elapsed() >= Duration::from_secs(5) {
                last_note = Instant::now();
                note!("  {added}/{total} printers added");
            }
            futures::future::ready(Ok(()))
        })
        .await
}

/// Opens every hub socket (hello and welcome) and leaves each hub's task running.
async fn connect_hubs(
    servers: &mut [ServerProcess],
    hubs: &[RegisteredHub],
    plan: &Plan,
    shared: &Arc<Shared>,
    phase: &watch::Receiver<Phase>,
) -> Result<JoinSet<hubs::Stats>> {
    note!("opening {} hub sockets", hubs.len());
    let connects = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let (ready_tx, mut ready) = mpsc::unbounded_channel();
    let mut tasks = JoinSet::new();
    // Reports are spread evenly over the interval across all printers of all hubs:
    // hub h's k-th report goes at `go + interval × (h + k × hubs) / printers`.
    // Batched, hub h sends all of its printers at `go + interval × h / hubs`.
    let (period, slots) = if plan.batch {
        (plan.report_interval, plan.hubs as f64)
    } else {
        (
            plan.report_interval / plan.printers_per_hub as u32,
            plan.printers() as f64,
        )
    };
    let period = period.max(MIN_REPORT_PERIOD);
    for (h, hub) in hubs.iter().enumerate() {
        let spec = hubs::HubSpec {
            id: hub.id.clone(),
            secret: hub.secret.clone(),
            serials: (0..plan.printers_per_hub).map(|p| serial(h, p)).collect(),
            gcode_state: plan.gcode_state,
            batch: plan.batch,
            period,
            offset: plan.report_interval.mul_f64(h as f64 / slots),
        };
        tasks.spawn(hubs::run(
            servers[h % servers.len()].addr(),
            spec,
            shared.clone(),
            phase.clone(),
            connects.clone(),
            ready_tx.clone(),
        ));
    }
    drop(ready_tx);
    let deadline = Duration::from_secs(60) + Duration::from_millis(20 * hubs.len() as u64);
    let give_up = Instant::now() + deadline;
    let mut welcomed = 0usize;
    let mut last_note = Instant::now();
    while welcomed < hubs.len() {
        let next = tokio::time::timeout_at(give_up.into(), ready.recv()).await;
        match next {
            Ok(Some(Ok(()))) => welcomed += 1,
            Ok(Some(Err(problem))) => return Err(Error::Protocol(problem)),
            Ok(None) => {
                return Err(Error::Protocol(
                    "hub tasks ended before all were connected".into(),
                ));
            }
            Err(_) => {
                return Err(Error::timeout(
                    format!(
                        "{} of {} hubs to be welcomed",
                        hubs.len() - welcomed,
                        hubs.len()
                    ),
                    deadline,
                ));
            }
        }
        if last_note.elapsed() >= Duration::from_secs(5) {
            last_note = Instant::now();
            check_running(servers)?;
            note!("  {welcomed}/{} hubs welcomed", hubs.len());
        }
    }
    Ok(tasks)
}

/// Opens, authenticates and subscribes every dashboard, then hands them to a few reader tasks.
async fn connect_dashboards(
    servers: &[ServerProcess],
    accounts: &[Account],
    plan: &Plan,
    shared: &Arc<Shared>,
    phase: &watch::Receiver<Phase>,
) -> Result<JoinSet<Result<dashboards::Stats>>> {
    note!("opening {} dashboard sockets", plan.dashboards);
    let sockets: Vec<dashboards::Socket> = futures::stream::iter(0..plan.dashboards)
        .map(|d| {
            let addr = servers[(d + 1) % servers.len()].addr();
            dashboards::connect(addr, &accounts[d % accounts.len()])
        })
        .buffer_unordered(DASHBOARD_CONCURRENCY)
        .try_collect()
        .await?;
    let readers = DASHBOARD_TASKS.min(sockets.len()).max(1);
    let mut groups: Vec<Vec<dashboards::Socket>> = (0..readers).map(|_| Vec::new()).collect();
    for (i, socket) in sockets.into_iter().enumerate() {
        groups[i % readers].push(socket);
    }
    let mut tasks = JoinSet::new();
    for group in groups {
        let stats = dashboards::Stats::new()?;
        tasks.spawn(dashboards::read(
            group,
            stats,
            shared.clone(),
            phase.clone(),
        ));
    }
    Ok(tasks)
}
