//! `loadtest crash`: the server killed with SIGKILL under a load of writes, again and again.
//! Each round runs W writers against the server (orders, each with a number the farm
//! draws, and products), kills the server mid-load at a random moment, starts it again on
//! the same data and waits until it is ready. After every round, every write the server
//! acknowledged (answered 2xx) must still be there, and no two orders may share a number
//! (a counter handed out twice after a crash would).
//!
//! The targets: nothing acknowledged lost, nothing twice, ready again within 2 s.

use crate::api::{Account, Api};
use crate::error::{Error, Result};
use crate::latency::{Latencies, LatencySummary};
use crate::process::{Children, ServerProcess};
use crate::report::{Check, write_checks};
use rand::Rng;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The limit on the time from a restart to ready.
const TARGET_READY_MS: f64 = 2000.0;

/// Options of `loadtest crash`.
#[derive(Debug, Clone, clap::Args)]
pub struct CrashOptions {
    /// Kills (the target: 20).
    #[arg(long, default_value_t = 20)]
    pub rounds: usize,
    /// Writers running at once.
    #[arg(long, default_value_t = 4)]
    pub writers: usize,
    /// The longest a round's load runs before the kill, in seconds (each kill comes at a
    /// random moment between a quarter of it and all of it).
    #[arg(long, default_value_t = 2.0)]
    pub load: f64,
    /// The server's database (default: a fresh SQLite file in a temporary directory).
    #[arg(long)]
    pub database_url: Option<String>,
}

/// What `loadtest crash` reports.
#[derive(Debug, Clone, Serialize)]
pub struct CrashReport {
    /// Kills.
    pub rounds: usize,
    /// Writes the server acknowledged, all rounds.
    pub acknowledged: usize,
    /// Writes that failed or got no answer (the kill cut them off): they may or may not
    /// have happened, and either is right.
    pub unanswered: usize,
    /// Acknowledged writes missing after a restart.
    pub lost: usize,
    /// Order numbers held by more than one order.
    pub duplicate_numbers: usize,
    /// Time from a restart to ready, over the rounds.
    pub ready: LatencySummary,
    /// The targets.
    pub checks: Vec<Check>,
}

impl CrashReport {
    /// A few lines for people.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "crash: {} SIGKILLs under load; {} writes acknowledged, {} cut off by a kill",
            self.rounds, self.acknowledged, self.unanswered
        );
        let _ = writeln!(
            out,
            "  after the restarts: {} acknowledged writes missing, {} order numbers held twice",
            self.lost, self.duplicate_numbers
        );
        let _ = writeln!(
            out,
            "  restart to ready: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
            self.ready.p50_ms, self.ready.p99_ms, self.ready.max_ms
        );
        write_checks(&mut out, &self.checks);
        out
    }
}

/// A write the server answered 2xx: where to read it back.
#[derive(Debug, Clone)]
struct Acknowledged {
    path: String,
    number: Option<String>,
}

/// What one writer did in a round.
#[derive(Debug, Default)]
struct Written {
    acknowledged: Vec<Acknowledged>,
    unanswered: usize,
}

/// Runs the scenario.
pub async fn run(options: &CrashOptions, children: &Children) -> Result<CrashReport> {
    if options.rounds == 0 || options.writers == 0 {
        return Err(Error::Invalid(
            "--rounds and --writers must be at least 1".into(),
        ));
    }
    let load = crate::seconds(options.load, "--load")?;
    let mut server = ServerProcess::start(children, options.database_url.as_deref()).await?;
    let api = Api::new(server.base_url())?;
    let account = api.register_account(0).await?;
    let mut acknowledged: Vec<Acknowledged> = Vec::new();
    let mut unanswered = 0;
    let mut ready = Latencies::new()?;
    for round in 0..options.rounds {
        let api = Api::new(server.base_url())?;
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..options.writers)
            .map(|writer| {
                let (api, account, stop) = (api.clone(), account.clone(), stop.clone());
                tokio::spawn(async move { write_until(&api, &account, &stop, round, writer).await })
            })
            .collect();
        let kill_after = load.mul_f64(rand::rng().random_range(0.25..=1.0));
        tokio::time::sleep(kill_after).await;
        let took = server.kill_and_restart().await?;
        ready.record_us(u64::try_from(took.as_micros()).unwrap_or(u64::MAX));
        stop.store(true, Ordering::Relaxed);
        for writer in writers {
            let written = writer
                .await
                .map_err(|e| Error::Protocol(format!("a writer failed: {e}")))?;
            unanswered += written.unanswered;
            acknowledged.extend(written.acknowledged);
        }
        note!(
            "round {}: killed after {} ms, ready {} ms later; {} writes acknowledged so far",
            round + 1,
            kill_after.as_millis(),
            took.as_millis(),
            acknowledged.len()
        );
    }
    let api = Api::new(server.base_url())?;
    let mut lost = 0;
    for write in &acknowledged {
        if api
            .call(reqwest::Method::GET, &write.path, Some(&account), None)
            .await
            .is_err()
        {
            lost += 1;
        }
    }
    let numbers = order_numbers(&api, &account).await?;
    let distinct: HashSet<&String> = numbers.iter().collect();
    let duplicate_numbers = numbers.len() - distinct.len();
    // Every acknowledged order's number is among the farm's, once.
    let acknowledged_numbers = acknowledged.iter().filter_map(|a| a.number.as_ref());
    let missing_numbers = acknowledged_numbers
        .filter(|n| !distinct.contains(n))
        .count();
    server.stop().await;
    let ready = ready.summary();
    let checks = vec![
        Check::at_most(
            "acknowledged writes lost = 0",
            (lost + missing_numbers) as f64,
            0.0,
            "writes",
        ),
        Check::at_most(
            "order numbers held twice = 0",
            duplicate_numbers as f64,
            0.0,
            "numbers",
        ),
        Check::at_most(
            "restart to ready ≤ 2 s (max)",
            ready.max_ms,
            TARGET_READY_MS,
            "ms",
        ),
    ];
    Ok(CrashReport {
        rounds: options.rounds,
        acknowledged: acknowledged.len(),
        unanswered,
        lost: lost + missing_numbers,
        duplicate_numbers,
        ready,
        checks,
    })
}

/// Writes orders and products, alternately, until `stop`; each write's answer decides
/// whether it counts as acknowledged.
async fn write_until(
    api: &Api,
    account: &Account,
    stop: &AtomicBool,
    round: usize,
    writer: usize,
) -> Written {
    let mut written = Written::default();
    let mut n = 0usize;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let tag = format!("r{round}-w{writer}-{n}");
        let (path, body) = if n.is_multiple_of(2) {
            (
                "/api/v1/orders",
                json!({ "customer_name": format!("Crash {tag}"), "customer_email": "crash@loadtest.invalid",
                        "items": [{ "sku": format!("CRASH-{tag}"), "product_name": "Crash box", "quantity": 1, "unit_price": 100 }] }),
            )
        } else {
            (
                "/api/v1/products",
                json!({ "name": format!("Crash product {tag}") }),
            )
        };
        match api
            .call(reqwest::Method::POST, path, Some(account), Some(body))
            .await
        {
            Ok(data) => match data["id"].as_str() {
                Some(id) => written.acknowledged.push(Acknowledged {
                    path: format!("{path}/{id}"),
                    number: data["order_number"].as_str().map(str::to_string),
                }),
                None => written.unanswered += 1,
            },
            Err(_) => {
                written.unanswered += 1;
                // The server is down until the restart: do not spin.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    written
}

/// Every order number of the farm, page by page.
async fn order_numbers(api: &Api, account: &Account) -> Result<Vec<String>> {
    let mut numbers = Vec::new();
    for page in 1.. {
        let data: Value = api
            .call(
                reqwest::Method::GET,
                &format!("/api/v1/orders?limit=100&page={page}"),
                Some(account),
                None,
            )
            .await?;
        let orders = data.as_array().cloned().unwrap_or_default();
        if orders.is_empty() {
            break;
        }
        numbers.extend(
            orders
                .iter()
                .filter_map(|o| o["order_number"].as_str().map(str::to_string)),
        );
    }
    Ok(numbers)
}
