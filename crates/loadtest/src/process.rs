//! Child processes (the server, the hub agent) and what Linux says about processes:
//! resident memory and CPU time from `/proc`, the open-file limit.
//!
//! The server and the hub agent run as children of the load test so that their memory
//! is their own, not mixed with the load generator's.

use crate::error::{Error, Result};
use serde::Serialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// How long a child gets to stop after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// How long the server may take to say where it listens.
const START_DEADLINE: Duration = Duration::from_secs(60);

/// Resident memory of a process, in KiB, as `/proc/<pid>/status` reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Memory {
    /// `VmRSS`: resident now.
    pub rss_kib: u64,
    /// `VmHWM`: the most it was ever resident.
    pub hwm_kib: u64,
}

/// Reads `VmRSS` and `VmHWM` of `pid`; `None` when the process is gone.
pub fn memory(pid: u32) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status.lines().find_map(|line| {
            line.strip_prefix(name)?
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()
        })
    };
    Some(Memory {
        rss_kib: field("VmRSS:")?,
        hwm_kib: field("VmHWM:")?,
    })
}

/// CPU time (user + system) `pid` has used, in seconds; `None` when the process is gone.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; the fields after its ')' are fixed.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = rest.split_whitespace();
    // After ')': state is field 3, so utime (14) and stime (15) are the 12th and 13th.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // /proc counts in USER_HZ, which the kernel fixes at 100 on the architectures we run.
    Some((utime + stime) as f64 / 100.0)
}

/// The soft limit on open files of this process (children inherit it).
pub fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Fails early when `sockets` would not fit under the open-file limit (both the load
/// test and the server hold one descriptor per socket).
pub fn check_open_files(sockets: usize) -> Result<()> {
    // Room for the runtime, the database, logs and the HTTP client.
    const SPARE: u64 = 200;
    let Some(limit) = open_file_limit() else {
        return Ok(());
    };
    let needed = sockets as u64 + SPARE;
    if needed > limit {
        return Err(Error::Invalid(format!(
            "{sockets} sockets need about {needed} open files, but the limit is {limit}; \
             lower --hubs/--dashboards or raise `ulimit -n`"
        )));
    }
    Ok(())
}

/// Memory of a child over a run: at the start, the most seen by sampling, at the end,
/// and the kernel's high-water mark.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct MemoryFigures {
    /// Resident when the load started, MiB.
    pub start_mib: f64,
    /// The largest resident size sampled during the run, MiB.
    pub peak_mib: f64,
    /// Resident when the load ended, MiB.
    pub end_mib: f64,
    /// `VmHWM` at the end (includes set-up), MiB.
    pub hwm_mib: f64,
}

/// Samples a process's memory: `start`, then `sample` as often as wanted, then `finish`.
#[derive(Debug, Clone, Copy)]
pub struct MemoryWatch {
    pid: u32,
    figures: MemoryFigures,
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

impl MemoryWatch {
    /// Starts watching `pid`; its resident size now is the start figure.
    pub fn start(pid: u32) -> MemoryWatch {
        let now = memory(pid).unwrap_or_default();
        MemoryWatch {
            pid,
            figures: MemoryFigures {
                start_mib: mib(now.rss_kib),
                peak_mib: mib(now.rss_kib),
                ..MemoryFigures::default()
            },
        }
    }

    /// Takes one sample.
    pub fn sample(&mut self) {
        if let Some(now) = memory(self.pid) {
            self.figures.peak_mib = self.figures.peak_mib.max(mib(now.rss_kib));
        }
    }

    /// The last sample is the end figure.
    pub fn finish(mut self) -> MemoryFigures {
        if let Some(now) = memory(self.pid) {
            self.figures.end_mib = mib(now.rss_kib);
            self.figures.peak_mib = self.figures.peak_mib.max(self.figures.end_mib);
            self.figures.hwm_mib = mib(now.hwm_kib);
        }
        self.figures
    }
}

/// How the load test starts its children.
#[derive(Debug, Clone)]
pub struct Children {
    /// The `printfarm` executable (run as `serve` and `hub`).
    pub exe: PathBuf,
    /// Their `RUST_LOG`.
    pub log_filter: String,
    /// Keep the run's temporary directory (data, settings, logs) instead of removing it.
    pub keep_dir: bool,
}

/// A child process, killed when dropped; [`Child::stop`] ends it politely.
pub struct Child {
    name: &'static str,
    child: tokio::process::Child,
    pid: u32,
    log: PathBuf,
}

impl Child {
    /// Starts `printfarm args…` with stdout piped and stderr appended to `log`.
    pub fn spawn(
        name: &'static str,
        children: &Children,
        args: &[&str],
        log: PathBuf,
    ) -> Result<Child> {
        let exe = children.exe.as_path();
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(Error::io(format!("create {}", log.display())))?;
        let mut command = tokio::process::Command::new(exe);
        command
            .args(args)
            .env("RUST_LOG", &children.log_filter)
            // Settings from the caller's environment must not redirect the child
            // to another database, directory or address.
            .env_remove("PRINTFARM_CONFIG")
            .env_remove("PRINTFARM_DATABASE_URL")
            .env_remove("PRINTFARM_DATA_DIR")
            .env_remove("PRINTFARM_LISTEN")
            .env_remove("PRINTFARM_PUBLIC_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .kill_on_drop(true);
        let child =
            command
                .spawn()
                .map_err(Error::io(format!("start {} ({})", name, exe.display())))?;
        let pid = child.id().ok_or_else(|| Error::Process {
            name,
            detail: "exited at once".into(),
        })?;
        Ok(Child {
            name,
            child,
            pid,
            log,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The end of the child's log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(15)..].join("\n");
        if tail.is_empty() {
            format!("(no log in {})", self.log.display())
        } else {
            format!("last lines of {}:\n{tail}", self.log.display())
        }
    }

    /// An error if the child has exited.
    pub fn check_running(&mut self) -> Result<()> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(Error::Process {
                name: self.name,
                detail: format!("exited ({status}); {}", self.log_tail()),
            }),
            Err(error) => Err(Error::io(format!("check the {} process", self.name))(error)),
        }
    }

    /// Reads the child's first stdout line (within `deadline`), then keeps draining
    /// stdout so the child never blocks on a full pipe.
    async fn first_line(&mut self, deadline: Duration) -> Result<String> {
        let stdout = self.child.stdout.take().ok_or_else(|| Error::Process {
            name: self.name,
            detail: "no stdout".into(),
        })?;
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(deadline, lines.next_line())
            .await
            .map_err(|_| Error::Process {
                name: self.name,
                detail: format!(
                    "not ready after {} s; {}",
                    deadline.as_secs(),
                    self.log_tail()
                ),
            })?
            .map_err(Error::io(format!("read the {}'s output", self.name)))?;
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        line.ok_or_else(|| Error::Process {
            name: self.name,
            detail: format!("exited before it was ready; {}", self.log_tail()),
        })
    }

    /// SIGTERM, then SIGKILL if it has not stopped within a grace period.
    pub async fn stop(mut self) {
        let term = tokio::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
        if term.is_ok_and(|status| status.success())
            && tokio::time::timeout(STOP_GRACE, self.child.wait())
                .await
                .is_ok()
        {
            return;
        }
        let _ = self.child.kill().await;
    }
}

/// Starts `printfarm serve args…` (its log appended to `dir/server.log`) and reads the
/// address it listens on from its first line.
async fn spawn_server(
    children: &Children,
    args: &[String],
    dir: &Path,
) -> Result<(Child, SocketAddr)> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = Child::spawn("server", children, &args, dir.join("server.log"))?;
    let line = child.first_line(START_DEADLINE).await?;
    // "PrintFarm is listening on http://127.0.0.1:PORT (public URL …)"
    let addr: SocketAddr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|addr| addr.parse().ok())
        .ok_or_else(|| Error::Process {
            name: "server",
            detail: format!("unexpected first line {line:?}"),
        })?;
    if !addr.ip().is_loopback() {
        return Err(Error::Invalid(format!(
            "the server listens on {addr}, not on loopback; the load test only talks to 127.0.0.1"
        )));
    }
    Ok((child, addr))
}

/// `printfarm serve` on loopback with a fresh data directory; the directory goes when
/// the server is dropped.
pub struct ServerProcess {
    child: Child,
    addr: SocketAddr,
    /// The command line it was started with, to start it again on the same data.
    args: Vec<String>,
    children: Children,
    // Declared after `child`: the process ends before its directory is removed.
    dir: tempfile::TempDir,
    keep_dir: bool,
}

impl ServerProcess {
    /// Starts the server on 127.0.0.1 (a port the OS picks) and waits until it listens.
    /// `database_url` replaces the fresh SQLite database when given.
    pub async fn start(children: &Children, database_url: Option<&str>) -> Result<ServerProcess> {
        ServerProcess::start_with(children, database_url, "").await
    }

    /// Starts the server like [`ServerProcess::start`] with `settings` (TOML lines) added
    /// to its settings file: one node of several (its bus and shared encryption key).
    pub async fn start_with(
        children: &Children,
        database_url: Option<&str>,
        settings: &str,
    ) -> Result<ServerProcess> {
        let dir = tempfile::Builder::new()
            .prefix("printfarm-loadtest-")
            .disable_cleanup(children.keep_dir)
            .tempdir()
            .map_err(Error::io("create a temporary directory"))?;
        let data = dir.path().join("data");
        let data_arg = data.to_string_lossy().into_owned();
        // Every account of the run signs up from 127.0.0.1: lift the per-address limit.
        let config = dir.path().join("printfarm.toml");
        std::fs::write(&config, format!("sign_ups_per_ip = 1000000\n{settings}"))
            .map_err(Error::io(format!("write {}", config.display())))?;
        let config_arg = config.to_string_lossy().into_owned();
        let mut args = vec![
            "serve",
            "--config",
            config_arg.as_str(),
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data_arg.as_str(),
        ];
        if let Some(url) = database_url {
            args.extend(["--database-url", url]);
        }
        let args: Vec<String> = args.into_iter().map(str::to_string).collect();
        let (child, addr) = spawn_server(children, &args, dir.path()).await?;
        Ok(ServerProcess {
            child,
            addr,
            args,
            children: children.clone(),
            dir,
            keep_dir: children.keep_dir,
        })
    }

    /// Kills the server at once (SIGKILL: no shutdown, nothing flushed), starts it again
    /// on the same data, and waits until `/health/ready` answers 200. Returns the time
    /// from the new process's start to ready.
    pub async fn kill_and_restart(&mut self) -> Result<Duration> {
        let _ = self.child.child.kill().await;
        let started = std::time::Instant::now();
        let (child, addr) = spawn_server(&self.children, &self.args, self.dir.path()).await?;
        self.child = child;
        self.addr = addr;
        let api = crate::api::Api::new(format!("http://{addr}"))?;
        loop {
            let ready = api
                .call(reqwest::Method::GET, "/health/ready", None, None)
                .await;
            if ready.is_ok() {
                return Ok(started.elapsed());
            }
            if started.elapsed() > START_DEADLINE {
                return Err(Error::Process {
                    name: "server",
                    detail: format!("not ready after a restart; {}", self.child.log_tail()),
                });
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://addr`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// The temporary directory of this run (logs, data, hub settings).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// An error if the server has exited.
    pub fn check_running(&mut self) -> Result<()> {
        self.child.check_running()
    }

    /// Stops the server (SIGTERM, then SIGKILL) and removes its data unless kept.
    pub async fn stop(self) {
        self.child.stop().await;
        if self.keep_dir {
            note!("kept {}", self.dir.path().display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_memory_cpu_time_and_a_file_limit() {
        let me = std::process::id();
        let now = memory(me).expect("our own status");
        assert!(now.rss_kib > 0 && now.hwm_kib >= now.rss_kib);
        assert!(cpu_seconds(me).expect("our own stat") >= 0.0);
        assert!(open_file_limit().expect("our limits") > 0);
        assert!(memory(u32::MAX).is_none());
    }

    #[test]
    fn too_many_sockets_for_the_file_limit_are_refused_up_front() {
        let limit = open_file_limit().expect("our limits");
        assert!(check_open_files(10).is_ok());
        assert!(matches!(
            check_open_files(limit as usize),
            Err(Error::Invalid(_))
        ));
    }
}
