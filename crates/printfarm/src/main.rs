//! `printfarm`: the one binary. It only wires settings to the server, the hub agent,
//! the printer simulator and the demo.

mod demo;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use server::settings::{LogFormat, Settings};
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;

/// PrintFarm: run a farm of Bambu Lab printers from one place.
#[derive(Debug, Parser)]
#[command(name = "printfarm", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (API, health, OpenAPI). With no settings: ./printfarm-data and 127.0.0.1:8787.
    Serve(ServerArgs),
    /// Apply database migrations and exit.
    Migrate(ServerArgs),
    /// Print the settings in effect (secrets hidden), or the reference of every setting, and exit.
    Config(ConfigArgs),
    /// A live demo farm in one process: server, hub and 12 simulated printers printing.
    Demo(DemoArgs),
    /// Run the hub agent on a farm's LAN (settings in a TOML file readable only by you).
    Hub {
        /// The hub's settings file (server_url, hub_id, hub_secret, data_dir).
        #[arg(long, short = 'c')]
        config: PathBuf,
    },
    /// Simulated Bambu printers (one JSON line per printer: serial, access code, ports).
    Sim(SimArgs),
    /// Measure the live farm's scale figures on loopback (server, fanout, hub, ftps).
    Loadtest(loadtest::LoadtestArgs),
    /// Import a farm from the earlier Pi system (its tenant.db and print files folder).
    ImportPi(ImportPiArgs),
    /// Write a farm (rows, print files, images) to a folder, to restore on any server.
    Export(ExportArgs),
    /// Restore a farm from a folder `printfarm export` wrote.
    Import(ImportArgs),
    /// Back up the whole installation (database, file store, key) into a new folder, while it runs.
    Backup(BackupArgs),
    /// Restore a backup onto a stopped installation, and bring its schema up to this release.
    Restore(RestoreArgs),
}

/// Options of `printfarm backup`.
#[derive(Debug, Args)]
struct BackupArgs {
    /// A new (or empty) folder to write the backup to.
    #[arg(long)]
    to: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    server: ServerArgs,
}

/// Options of `printfarm restore`.
#[derive(Debug, Args)]
struct RestoreArgs {
    /// The folder `printfarm backup` wrote.
    #[arg(long)]
    from: PathBuf,
    /// Overwrite a database (and key file) that already holds a PrintFarm.
    #[arg(long)]
    replace: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    server: ServerArgs,
}

/// Options of `printfarm config`.
#[derive(Debug, Args)]
struct ConfigArgs {
    /// Print the configuration reference (Markdown: every setting, its variable, its
    /// default) instead of the settings in effect.
    #[arg(long)]
    reference: bool,
    #[command(flatten)]
    server: ServerArgs,
}

/// Options of `printfarm export`.
#[derive(Debug, Args)]
struct ExportArgs {
    /// The farm: its subdomain or name.
    #[arg(long)]
    farm: String,
    /// A new folder to write it to.
    #[arg(long)]
    out: PathBuf,
    /// Where to write the key of the export's secrets (default: OUT.key, beside the folder).
    #[arg(long)]
    key_file: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    server: ServerArgs,
}

/// Options of `printfarm import`.
#[derive(Debug, Args)]
struct ImportArgs {
    /// The folder `printfarm export` wrote.
    #[arg(long)]
    from: PathBuf,
    /// The export's key file (default: FROM.key, beside the folder).
    #[arg(long)]
    key_file: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    server: ServerArgs,
}

/// Options of `printfarm import-pi` (the server's settings say which database and files).
#[derive(Debug, Args)]
struct ImportPiArgs {
    /// The Pi's SQLite database (tenant.db).
    #[arg(long)]
    db: PathBuf,
    /// The Pi's print files folder ({id}.3mf files); without it, rows only.
    #[arg(long)]
    files: Option<PathBuf>,
    /// The farm to import into: its subdomain or name (made when new, with --owner).
    #[arg(long)]
    farm: String,
    /// Email of the account that owns the farm when the import makes it.
    #[arg(long)]
    owner: Option<String>,
    /// Read, check and report everything; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Where to list every value changed, one JSON line each (default: a new file under
    /// the data directory's imports/).
    #[arg(long)]
    changes: Option<PathBuf>,
    #[command(flatten)]
    server: ServerArgs,
}

/// Options of `printfarm demo`.
#[derive(Debug, Args)]
struct DemoArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// A fresh data directory (default: a new one under the system's temporary directory).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// How many simulated printers.
    #[arg(long, default_value_t = 12)]
    printers: usize,
    /// Simulated seconds per real second (30: a 15-minute plate prints in 30 s).
    #[arg(long, default_value_t = 30.0)]
    time_scale: f64,
}

/// Options of `printfarm sim`.
#[derive(Debug, Args)]
struct SimArgs {
    /// How many printers (cycling through X1C, P1S, P1P, A1, A1 mini).
    #[arg(long, default_value_t = 5)]
    printers: usize,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// The address the printers listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1")]
    bind: std::net::IpAddr,
}

/// Settings that can be given on the command line (they override file and environment).
#[derive(Debug, Args)]
struct ServerArgs {
    /// A TOML settings file.
    #[arg(long, short = 'c', env = "PRINTFARM_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Data directory (SQLite database, files, key, mail outbox).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Database URL: sqlite://FILE?mode=rwc or postgres://USER@HOST/DB.
    #[arg(long)]
    database_url: Option<String>,
    /// The URL people reach the server at.
    #[arg(long)]
    public_url: Option<String>,
    /// Where print files live: s3://BUCKET[/PREFIX]?endpoint=URL&region=R (default: the data directory).
    #[arg(long)]
    object_store: Option<String>,
    /// The NATS server several nodes share: nats://HOST:4222 (default: one node, in process).
    #[arg(long)]
    bus: Option<String>,
    /// Log format: text or json.
    #[arg(long, value_parser = ["text", "json"])]
    log_format: Option<String>,
}

impl ServerArgs {
    fn settings(&self) -> anyhow::Result<Settings> {
        let mut settings = Settings::load(self.config.as_deref())?;
        if let Some(listen) = self.listen {
            settings.listen = listen;
        }
        if let Some(dir) = &self.data_dir {
            settings.data_dir = dir.clone();
        }
        if let Some(url) = &self.database_url {
            settings.database_url = Some(url.clone());
        }
        if let Some(url) = &self.public_url {
            settings.public_url = Some(url.clone());
        }
        if let Some(location) = &self.object_store {
            settings.object_store = Some(location.clone());
        }
        if let Some(url) = &self.bus {
            settings.bus = Some(url.clone());
        }
        if let Some(format) = &self.log_format {
            settings.log_format = if format == "json" {
                LogFormat::Json
            } else {
                LogFormat::Text
            };
        }
        Ok(settings)
    }
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // One TLS stack, one crypto provider for the whole process.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let settings = args.settings()?;
            server::telemetry::init(settings.log_format);
            let started = std::time::Instant::now();
            let database = server::settings::redact_url(&settings.database_url());
            let server = server::Server::bind(settings).await?;
            let addr = server.local_addr()?;
            let public_url = server.app().settings.public_url();
            tracing::info!(%addr, %public_url, %database, ready_ms = started.elapsed().as_millis() as u64, "PrintFarm is listening");
            // A closed stdout (a supervisor that stopped reading) must not stop the server.
            let _ = writeln!(
                std::io::stdout(),
                "PrintFarm is listening on http://{addr} (public URL {public_url})\n  \
                 the dashboard: open {public_url} in a browser and create your account"
            );
            server.serve(shutdown_signal()).await
        }
        Command::Migrate(args) => {
            let settings = args.settings()?;
            server::telemetry::init(settings.log_format);
            settings.prepare_data_dir()?;
            let store = store::Store::open(&settings.database_url()).await?;
            store.close().await;
            println!(
                "migrations applied to {}",
                server::settings::redact_url(&settings.database_url())
            );
            Ok(())
        }
        Command::Demo(args) => {
            server::telemetry::init(LogFormat::Text);
            let options = demo::DemoOptions {
                listen: args.listen,
                data_dir: args.data_dir,
                printers: args.printers.max(1),
                time_scale: args.time_scale.max(0.1),
                clear_after: std::time::Duration::from_secs(5),
            };
            demo::run(options, shutdown_signal()).await
        }
        Command::Hub { config } => {
            server::telemetry::init(LogFormat::Text);
            hub::run_from_file(&config)
                .await
                .with_context(|| format!("hub with {}", config.display()))
        }
        Command::Sim(args) => {
            server::telemetry::init(LogFormat::Text);
            let mut config = sim::FarmConfig::mixed(args.printers);
            config.time_scale = args.time_scale;
            config.bind_ip = args.bind;
            sim::run(config).await.context("simulator")
        }
        Command::Loadtest(args) => {
            // The children log to files; here only what the caller asks for.
            if std::env::var_os("RUST_LOG").is_some() {
                server::telemetry::init(LogFormat::Text);
            }
            let exe = std::env::current_exe().context("find the printfarm executable")?;
            let report = loadtest::run(&args, &exe).await?;
            let mut out = std::io::stdout().lock();
            write!(out, "{}", report.summary())?;
            if args.json {
                writeln!(out, "{}", report.json_line())?;
            }
            Ok(())
        }
        Command::ImportPi(args) => {
            let settings = args.server.settings()?;
            let changes_file = args.changes.unwrap_or_else(|| {
                let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
                settings
                    .data_dir
                    .join("imports")
                    .join(format!("pi-{stamp}.changes.jsonl"))
            });
            let app = server::app::build_state(settings).await?;
            let options = transfer::Options {
                db: args.db,
                files: args.files,
                farm: args.farm,
                owner: args.owner,
                dry_run: args.dry_run,
                progress: !args.json && std::io::stderr().is_terminal(),
                changes_file: Some(changes_file),
            };
            let report = transfer::import(&app, &options).await?;
            print_report(args.json, &report, &report.text())?;
            app.store.close().await;
            if report.verification.is_some() && !report.verified() {
                anyhow::bail!(
                    "the farm does not agree with the Pi database: see the verification above"
                );
            }
            Ok(())
        }
        Command::Export(args) => {
            let settings = args.server.settings()?;
            let app = server::app::build_state(settings).await?;
            let options = transfer::farm::ExportOptions {
                farm: args.farm,
                out: args.out,
                key_file: args.key_file,
                progress: !args.json && std::io::stderr().is_terminal(),
            };
            let report = transfer::farm::export(&app, &options).await;
            app.store.close().await;
            let report = report?;
            print_report(args.json, &report, &report.text())?;
            Ok(())
        }
        Command::Import(args) => {
            let settings = args.server.settings()?;
            let app = server::app::build_state(settings).await?;
            let options = transfer::farm::RestoreOptions {
                from: args.from,
                key_file: args.key_file,
                progress: !args.json && std::io::stderr().is_terminal(),
            };
            let report = transfer::farm::restore(&app, &options).await;
            app.store.close().await;
            let report = report?;
            print_report(args.json, &report, &report.text())?;
            if !report.verified() {
                anyhow::bail!(
                    "the farm here does not agree with the export: see the verification above"
                );
            }
            Ok(())
        }
        Command::Backup(args) => {
            let settings = args.server.settings()?;
            // A backup holds the database and the key: every file of it is yours alone.
            server::settings::owner_only_from_now_on();
            let report = transfer::backup::backup(&settings, &args.to).await?;
            print_report(args.json, &report, &report.text())
        }
        Command::Restore(args) => {
            let settings = args.server.settings()?;
            server::settings::owner_only_from_now_on();
            let report = transfer::backup::restore(&settings, &args.from, args.replace).await?;
            print_report(args.json, &report, &report.text())
        }
        Command::Config(ConfigArgs {
            reference: true, ..
        }) => {
            print!("{}", server::settings::reference::markdown());
            Ok(())
        }
        Command::Config(ConfigArgs { server: args, .. }) => {
            let mut settings = args.settings()?;
            settings.encryption_key = settings.encryption_key.as_ref().map(|_| "***".into());
            settings.database_url = Some(server::settings::redact_url(&settings.database_url()));
            if let Some(smtp) = settings.smtp.as_mut() {
                smtp.password = smtp.password.as_ref().map(|_| "***".into());
            }
            settings.object_store_secret_key = settings
                .object_store_secret_key
                .as_ref()
                .map(|_| "***".into());
            settings.metrics_token = settings.metrics_token.as_ref().map(|_| "***".into());
            settings.hub_provisioning_key =
                settings.hub_provisioning_key.as_ref().map(|_| "***".into());
            settings.bus = settings.bus.as_deref().map(server::settings::redact_url);
            println!("{}", serde_json::to_string_pretty(&settings)?);
            Ok(())
        }
    }
}

/// Prints a command's report: JSON, or its words.
fn print_report(json: bool, report: &impl serde::Serialize, text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(report)?)?;
    } else {
        write!(out, "{text}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
