//! `loadtest ftps`: how fast the hub's FTPS client (`bambu::ftps`) uploads to a printer,
//! against a plain TCP copy of the same bytes over loopback.
//!
//! The printer is a simulated one in this process; the plain copy goes to a tiny TCP
//! sink that stores what it reads the way the simulator's card does (socket reads of
//! [`sim::DATA_BUFFER`], appended to a growing buffer), so the difference is the
//! protocol: TLS, FTP's two connections, the `SIZE` check. Both are timed from connecting to the receiver having everything.
//! Rounds alternate plain and FTPS so neither gets the warmer machine.
//!
//! The target: FTPS at ≥ 80 % of the plain copy.

use crate::error::{Error, Result};
use crate::report::{Check, write_checks};
use bambu::ftps::FtpsTarget;
use bambu::tls::{CertPin, client_config};
use rand::RngCore;
use serde::Serialize;
use std::fmt::Write as _;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The target.
const TARGET_RATIO: f64 = 0.8;
const MIB: usize = 1024 * 1024;
/// Where the upload goes on the simulated card.
const REMOTE_PATH: &str = "loadtest.bin";

/// Options of `loadtest ftps`.
#[derive(Debug, Clone, clap::Args)]
pub struct FtpsOptions {
    /// MiB per transfer.
    #[arg(long, default_value_t = 64)]
    pub size_mib: usize,
    /// Transfers of each kind; the median counts.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// No new round starts after this many seconds (at least one always runs).
    #[arg(long, default_value_t = 60.0)]
    pub duration: f64,
}

/// Speeds of one kind of transfer, MB/s (10⁶ bytes per second).
#[derive(Debug, Clone, Serialize)]
pub struct Speeds {
    /// Each round's speed.
    pub rounds_mb_s: Vec<f64>,
    /// The median.
    pub median_mb_s: f64,
    /// The fastest.
    pub best_mb_s: f64,
}

impl Speeds {
    fn of(rounds: Vec<f64>) -> Speeds {
        let mut sorted = rounds.clone();
        sorted.sort_by(f64::total_cmp);
        let median = match sorted.len() {
            0 => 0.0,
            n if n % 2 == 1 => sorted[n / 2],
            n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        };
        Speeds {
            best_mb_s: sorted.last().copied().unwrap_or(0.0),
            median_mb_s: median,
            rounds_mb_s: rounds,
        }
    }
}

/// The figures of `loadtest ftps`.
#[derive(Debug, Clone, Serialize)]
pub struct FtpsReport {
    /// Bytes per transfer, MiB.
    pub size_mib: usize,
    /// The plain TCP copy.
    pub plain: Speeds,
    /// The FTPS upload.
    pub ftps: Speeds,
    /// Median FTPS speed over median plain speed.
    pub ratio: f64,
    /// The targets.
    pub checks: Vec<Check>,
}

impl FtpsReport {
    /// A few lines for people.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "ftps: {} MiB per transfer over loopback, {} round(s) each",
            self.size_mib,
            self.ftps.rounds_mb_s.len()
        );
        let _ = writeln!(
            out,
            "  plain TCP copy: median {:.0} MB/s (best {:.0})",
            self.plain.median_mb_s, self.plain.best_mb_s
        );
        let _ = writeln!(
            out,
            "  FTPS upload (bambu::ftps to the simulated printer): median {:.0} MB/s (best {:.0})",
            self.ftps.median_mb_s, self.ftps.best_mb_s
        );
        let _ = writeln!(out, "  FTPS / plain: {:.0} %", self.ratio * 100.0);
        write_checks(&mut out, &self.checks);
        out
    }
}

/// Runs the scenario.
pub async fn run(options: &FtpsOptions) -> Result<FtpsReport> {
    if options.size_mib == 0 || options.rounds == 0 {
        return Err(Error::Invalid(
            "--size-mib and --rounds must be at least 1".into(),
        ));
    }
    let duration = crate::seconds(options.duration, "--duration")?;
    let size = options.size_mib * MIB;
    let mut data = vec![0u8; size];
    // Random bytes: nothing on the way can make them smaller.
    rand::rng().fill_bytes(&mut data);

    let mut config = sim::FarmConfig::uniform(bambu::model::Model::P1S, 1);
    config.storage_limit = (size + MIB) as u64;
    let farm = sim::Farm::start(config).await?;
    let printer = farm
        .printers()
        .first()
        .ok_or_else(|| Error::Protocol("the simulator started no printer".into()))?;
    let target = FtpsTarget::new(
        printer.ftps_addr(),
        printer.access_code(),
        client_config(CertPin::new())?,
    );

    note!(
        "transferring {} MiB, {} round(s) of each",
        options.size_mib,
        options.rounds
    );
    let started = Instant::now();
    let (mut plain, mut ftps) = (Vec::new(), Vec::new());
    for round in 0..options.rounds {
        if round > 0 && started.elapsed() >= duration {
            break;
        }
        let plain_time = plain_copy(&data).await?;
        let ftps_time = upload(&target, &data).await?;
        let speed = |time: Duration| size as f64 / time.as_secs_f64().max(1e-9) / 1e6;
        note!(
            "  round {}: plain {:.0} MB/s, FTPS {:.0} MB/s",
            round + 1,
            speed(plain_time),
            speed(ftps_time)
        );
        plain.push(speed(plain_time));
        ftps.push(speed(ftps_time));
    }
    farm.shutdown();
    let (plain, ftps) = (Speeds::of(plain), Speeds::of(ftps));
    let ratio = if plain.median_mb_s > 0.0 {
        ftps.median_mb_s / plain.median_mb_s
    } else {
        0.0
    };
    let checks = vec![Check::at_least(
        "FTPS ≥ 80 % of a plain loopback copy",
        ratio * 100.0,
        TARGET_RATIO * 100.0,
        "%",
    )];
    Ok(FtpsReport {
        size_mib: options.size_mib,
        plain,
        ftps,
        ratio,
        checks,
    })
}

/// One FTPS upload; the time from connecting to the printer confirming the size.
async fn upload(target: &FtpsTarget, data: &[u8]) -> Result<Duration> {
    let started = Instant::now();
    let sent = bambu::ftps::upload(target, REMOTE_PATH, data, |_| {}).await?;
    let elapsed = started.elapsed();
    if sent != data.len() as u64 {
        return Err(Error::Protocol(format!(
            "the FTPS upload sent {sent} of {} bytes",
            data.len()
        )));
    }
    Ok(elapsed)
}

/// One plain copy to a fresh sink; the time from connecting to the sink having it all.
async fn plain_copy(data: &[u8]) -> Result<Duration> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(Error::io("bind the TCP sink"))?;
    let addr = listener
        .local_addr()
        .map_err(Error::io("the TCP sink's address"))?;
    let sink = tokio::spawn(async move {
        let (stream, _) = listener.accept().await?;
        // Stored like the simulator's card stores an upload: the socket read through
        // the same buffer, each read appended to the file's bytes.
        let mut stream = BufReader::with_capacity(sim::DATA_BUFFER, stream);
        let mut content = Vec::new();
        loop {
            let read = stream.fill_buf().await?;
            if read.is_empty() {
                return Ok::<usize, std::io::Error>(content.len());
            }
            content.extend_from_slice(read);
            let n = read.len();
            stream.consume(n);
        }
    });
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(Error::io("connect to the TCP sink"))?;
    stream
        .write_all(data)
        .await
        .map_err(Error::io("copy to the TCP sink"))?;
    stream
        .shutdown()
        .await
        .map_err(Error::io("finish the copy"))?;
    let received = sink
        .await
        .map_err(|e| Error::Protocol(format!("the TCP sink failed: {e}")))?
        .map_err(Error::io("the TCP sink"))?;
    let elapsed = started.elapsed();
    if received != data.len() {
        return Err(Error::Protocol(format!(
            "the TCP sink got {received} of {} bytes",
            data.len()
        )));
    }
    Ok(elapsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_even_and_odd_rounds() {
        assert_eq!(Speeds::of(vec![3.0, 1.0, 2.0]).median_mb_s, 2.0);
        assert_eq!(Speeds::of(vec![4.0, 1.0, 2.0, 3.0]).median_mb_s, 2.5);
        assert_eq!(Speeds::of(vec![4.0, 1.0]).best_mb_s, 4.0);
        assert_eq!(Speeds::of(vec![]).median_mb_s, 0.0);
    }
}
