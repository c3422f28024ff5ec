//! `loadtest hub`: the hub agent's memory with N simulated printers.
//!
//! A server child, simulated printers in this process (so their memory is not the
//! agent's), and the agent as its own child (`printfarm hub --config …`) managing them.
//! Once the server shows every printer connected, the agent's memory is sampled for the
//! run's duration. One fresh agent per printer count.
//!
//! The target: 200 printers in ≤ 32 MB.

use crate::api::{Account, Api, NewPrinter};
use crate::error::{Error, Result};
use crate::process::{Child, Children, MemoryFigures, MemoryWatch, ServerProcess, cpu_seconds};
use crate::report::{Check, write_checks};
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

/// The target.
const TARGET_PRINTERS: usize = 200;
const TARGET_RSS_MIB: f64 = 32.0;
/// How often the agent's memory is sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(500);

/// Options of `loadtest hub`.
#[derive(Debug, Clone, clap::Args)]
pub struct HubOptions {
    /// Printer counts to measure, one fresh agent each (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "20,200")]
    pub printers: Vec<usize>,
    /// Seconds measured per count, after every printer is connected.
    #[arg(long, default_value_t = 20.0)]
    pub duration: f64,
    /// The server's database (default: a fresh SQLite file in a temporary directory).
    #[arg(long)]
    pub database_url: Option<String>,
}

/// The agent's figures with one printer count.
#[derive(Debug, Clone, Serialize)]
pub struct HubRun {
    /// Simulated printers managed.
    pub printers: usize,
    /// Seconds from the agent's start until the server showed every printer connected.
    pub connected_s: f64,
    /// The agent's resident memory over the measured time.
    pub memory: MemoryFigures,
    /// Cores the agent used while measured.
    pub cpu_cores: f64,
}

/// The figures of `loadtest hub`.
#[derive(Debug, Clone, Serialize)]
pub struct HubReport {
    /// One run per printer count.
    pub runs: Vec<HubRun>,
    /// The targets.
    pub checks: Vec<Check>,
}

impl HubReport {
    /// A few lines for people.
    pub fn summary(&self) -> String {
        let mut out = String::from(
            "hub agent memory (the simulated printers run in the load test, not in the agent)\n",
        );
        for run in &self.runs {
            let m = &run.memory;
            let _ = writeln!(
                out,
                "  {} printers: all connected after {:.1} s; resident {:.1} MiB at the end, peak {:.1} MiB (high-water {:.1} MiB); {:.2} cores",
                run.printers, run.connected_s, m.end_mib, m.peak_mib, m.hwm_mib, run.cpu_cores
            );
        }
        write_checks(&mut out, &self.checks);
        out
    }
}

/// Runs the scenario: one server, then one agent per printer count.
pub async fn run(options: &HubOptions, children: &Children) -> Result<HubReport> {
    if options.printers.is_empty() || options.printers.contains(&0) {
        return Err(Error::Invalid(
            "--printers takes positive counts, e.g. 20,200".into(),
        ));
    }
    let duration = crate::seconds(options.duration, "--duration")?;
    let mut server = ServerProcess::start(children, options.database_url.as_deref()).await?;
    note!(
        "server listening on {} (pid {}); logs and data are in {}",
        server.addr(),
        server.pid(),
        server.dir().display()
    );
    let result = measure_all(&mut server, options, duration, children).await;
    server.stop().await;
    let runs = result?;
    // The target is for 200 printers: check the runs at that scale or above, or else the
    // largest run, marked as smaller.
    let at_scale: Vec<&HubRun> = runs
        .iter()
        .filter(|run| run.printers >= TARGET_PRINTERS)
        .collect();
    let checked = if at_scale.is_empty() {
        runs.iter()
            .max_by_key(|run| run.printers)
            .into_iter()
            .collect()
    } else {
        at_scale
    };
    let checks = checked
        .into_iter()
        .map(|run| {
            Check::at_most(
                &format!("{} printers ≤ 32 MiB (high-water)", run.printers),
                run.memory.hwm_mib,
                TARGET_RSS_MIB,
                "MiB",
            )
            .scale(run.printers < TARGET_PRINTERS, "200 printers")
        })
        .collect();
    Ok(HubReport { runs, checks })
}

async fn measure_all(
    server: &mut ServerProcess,
    options: &HubOptions,
    duration: Duration,
    children: &Children,
) -> Result<Vec<HubRun>> {
    let api = Api::new(server.base_url())?;
    let account = api.register_account(0).await?;
    let mut runs = Vec::new();
    for (n, &count) in options.printers.iter().enumerate() {
        let setup = AgentSetup {
            api: &api,
            account: &account,
            children,
            n,
        };
        runs.push(setup.measure(server, count, duration).await?);
    }
    Ok(runs)
}

/// What one agent run needs.
struct AgentSetup<'a> {
    api: &'a Api,
    account: &'a Account,
    children: &'a Children,
    /// The run's number (hub ids and directories are per run).
    n: usize,
}

impl AgentSetup<'_> {
    async fn measure(
        &self,
        server: &mut ServerProcess,
        count: usize,
        duration: Duration,
    ) -> Result<HubRun> {
        note!("{count} printers: starting the simulator and registering the hub and printers");
        let hub = self
            .api
            .register_hub(self.account, &format!("lt-agent-{}-{count}", self.n))
            .await?;
        let farm = sim::Farm::start(sim::FarmConfig::mixed(count)).await?;
        futures::stream::iter(farm.printers().iter().enumerate())
            .map(|(i, printer)| {
                let hub_id = hub.id.as_str();
                async move {
                    let name = format!("agent-{}-{i}", self.n);
                    let new = NewPrinter {
                        name: &name,
                        model: printer.model().name(),
                        serial: printer.serial(),
                        access_code: printer.access_code(),
                        hub_id,
                    };
                    self.api.add_printer(self.account, &new).await
                }
            })
            .buffer_unordered(8)
            .try_for_each(|_id| futures::future::ready(Ok(())))
            .await?;

        let dir = server.dir().join(format!("hub-{}-{count}", self.n));
        std::fs::create_dir_all(&dir).map_err(Error::io(format!("create {}", dir.display())))?;
        let mut config =
            hub::Config::new(server.base_url(), &hub.id, &hub.secret, dir.join("state"));
        // Loopback only, and no clash with a real hub's discovery port.
        config.discovery_listen = SocketAddr::from(([127, 0, 0, 1], 0));
        for printer in farm.printers() {
            config.printers.insert(
                printer.serial().to_string(),
                hub::PrinterOverride {
                    host: Some(printer.mqtt_addr().ip().to_string()),
                    mqtt_port: Some(printer.mqtt_addr().port()),
                    ftps_port: Some(printer.ftps_addr().port()),
                    camera_port: printer.camera_addr().map(|a| a.port()),
                },
            );
        }
        let config_path = dir.join("hub.toml");
        write_private(&config_path, &config)?;
        let config_arg = config_path.to_string_lossy().into_owned();
        let mut agent = Child::spawn(
            "hub agent",
            self.children,
            &["hub", "--config", &config_arg],
            dir.join("hub.log"),
        )?;
        let started = Instant::now();
        let connected = self
            .until_connected(server, &mut agent, &hub.id, count)
            .await;
        let result = match connected {
            Ok(()) => {
                let connected_s = started.elapsed().as_secs_f64();
                note!(
                    "{count} printers connected after {connected_s:.1} s; measuring {:.0} s",
                    duration.as_secs_f64()
                );
                sample(&mut agent, duration)
                    .await
                    .map(|(memory, cpu_cores)| HubRun {
                        printers: count,
                        connected_s,
                        memory,
                        cpu_cores,
                    })
            }
            Err(error) => Err(error),
        };
        agent.stop().await;
        farm.shutdown();
        result
    }

    /// Waits until the server shows all `count` printers of the hub connected.
    async fn until_connected(
        &self,
        server: &mut ServerProcess,
        agent: &mut Child,
        hub_id: &str,
        count: usize,
    ) -> Result<()> {
        let deadline = Duration::from_secs(60) + Duration::from_millis(500 * count as u64);
        let give_up = Instant::now() + deadline;
        let mut last_note = Instant::now();
        loop {
            agent.check_running()?;
            server.check_running()?;
            let connected = self.api.connected_printers(self.account, hub_id).await?;
            if connected >= count {
                return Ok(());
            }
            if Instant::now() >= give_up {
                return Err(Error::timeout(
                    format!(
                        "{} of {count} printers to connect through the agent ({})",
                        count - connected,
                        agent.log_tail()
                    ),
                    deadline,
                ));
            }
            if last_note.elapsed() >= Duration::from_secs(5) {
                last_note = Instant::now();
                note!("  {connected}/{count} printers connected");
            }
            tokio::time::sleep(SAMPLE_EVERY).await;
        }
    }
}

/// Samples the agent's memory and CPU for `duration`.
async fn sample(agent: &mut Child, duration: Duration) -> Result<(MemoryFigures, f64)> {
    let mut memory = MemoryWatch::start(agent.pid());
    let cpu_before = cpu_seconds(agent.pid());
    let started = Instant::now();
    while started.elapsed() < duration {
        agent.check_running()?;
        memory.sample();
        tokio::time::sleep(SAMPLE_EVERY.min(duration.saturating_sub(started.elapsed()))).await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cores = match (cpu_before, cpu_seconds(agent.pid())) {
        (Some(before), Some(after)) if elapsed > 0.0 => (after - before) / elapsed,
        _ => 0.0,
    };
    Ok((memory.finish(), cores))
}

/// Writes the agent's settings readable by the owner only (the agent refuses others).
fn write_private(path: &Path, config: &hub::Config) -> Result<()> {
    use std::io::Write as _;
    let text = toml::to_string(config)
        .map_err(|e| Error::Invalid(format!("the hub settings do not serialise: {e}")))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(Error::io(format!("create {}", path.display())))?;
    file.write_all(text.as_bytes())
        .map_err(Error::io(format!("write {}", path.display())))
}
