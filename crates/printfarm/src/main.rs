//! `printfarm`: the one binary. It only wires settings to the server.

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use server::settings::{LogFormat, Settings};
use std::io::Write;
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
    /// Print the settings in effect (secrets hidden) and exit.
    Config(ServerArgs),
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

/// Hides a URL's password.
fn redact_url(url: &str) -> String {
    match url.split_once("://").and_then(|(scheme, rest)| {
        rest.split_once('@')
            .map(|(cred, host)| (scheme, cred, host))
    }) {
        Some((scheme, cred, host)) if cred.contains(':') => {
            let user = cred.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_string(),
    }
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
            let database = redact_url(&settings.database_url());
            let server = server::Server::bind(settings).await?;
            let addr = server.local_addr()?;
            let public_url = server.app().settings.public_url();
            tracing::info!(%addr, %public_url, %database, ready_ms = started.elapsed().as_millis() as u64, "PrintFarm is listening");
            // A closed stdout (a supervisor that stopped reading) must not stop the server.
            let _ = writeln!(
                std::io::stdout(),
                "PrintFarm is listening on http://{addr} (public URL {public_url})"
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
                redact_url(&settings.database_url())
            );
            Ok(())
        }
        Command::Config(args) => {
            let mut settings = args.settings()?;
            settings.encryption_key = settings.encryption_key.as_ref().map(|_| "***".into());
            settings.database_url = Some(redact_url(&settings.database_url()));
            if let Some(smtp) = settings.smtp.as_mut() {
                smtp.password = smtp.password.as_ref().map(|_| "***".into());
            }
            println!("{}", serde_json::to_string_pretty(&settings)?);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_their_password() {
        assert_eq!(
            redact_url("postgres://pf:s3cret@db/printfarm"),
            "postgres://pf:***@db/printfarm"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
        assert_eq!(
            redact_url("sqlite://printfarm-data/printfarm.db?mode=rwc"),
            "sqlite://printfarm-data/printfarm.db?mode=rwc"
        );
    }

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
