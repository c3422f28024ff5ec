//! The hub's settings file (TOML): who the hub is, where the server is, where state lives.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Where the hub listens for printer announcements unless told otherwise.
pub const DEFAULT_DISCOVERY_LISTEN: &str = "0.0.0.0:2021";
/// How many acks and file progress messages are kept while the server is unreachable.
pub const DEFAULT_OUTAGE_BUFFER: usize = 1000;

/// The hub's settings.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The server's base URL (`https://farm.example.com`); the socket is `/ws/hub/{hub_id}` below it.
    pub server_url: String,
    /// The hub's id, as registered on the server.
    pub hub_id: String,
    /// The hub's secret (proves the hub is who it says in `hub_hello`).
    pub hub_secret: String,
    /// Where pinned printer certificates and job state are kept.
    pub data_dir: PathBuf,
    /// Reported in `hub_hello`.
    #[serde(default = "default_firmware_version")]
    pub firmware_version: String,
    /// UDP address for printer announcements.
    #[serde(default = "default_discovery_listen")]
    pub discovery_listen: SocketAddr,
    /// How long `discover_printers` listens, seconds.
    #[serde(default = "default_discovery_seconds")]
    pub discovery_seconds: f64,
    /// Most acks and file progress messages kept while the server is unreachable.
    #[serde(default = "default_outage_buffer")]
    pub outage_buffer: usize,
    /// First reconnect delay, milliseconds (doubles on each failure up to 30 s).
    #[serde(default = "default_reconnect_initial_ms")]
    pub reconnect_initial_ms: u64,
    /// Per-printer address overrides by serial (simulators, port forwarding).
    #[serde(default)]
    pub printers: HashMap<String, PrinterOverride>,
}

/// Where to reach one printer instead of its reported IP and the standard ports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrinterOverride {
    /// Host or IP; the IP from `configure_printer` when absent.
    #[serde(default)]
    pub host: Option<String>,
    /// MQTT-over-TLS port (8883 on printers).
    #[serde(default)]
    pub mqtt_port: Option<u16>,
    /// Implicit-FTPS port (990 on printers).
    #[serde(default)]
    pub ftps_port: Option<u16>,
    /// Camera port (6000 on P1/A1 printers, 322 on X1 for RTSPS).
    #[serde(default)]
    pub camera_port: Option<u16>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret never goes to logs.
        f.debug_struct("Config")
            .field("server_url", &self.server_url)
            .field("hub_id", &self.hub_id)
            .field("data_dir", &self.data_dir)
            .field("firmware_version", &self.firmware_version)
            .field("discovery_listen", &self.discovery_listen)
            .field("outage_buffer", &self.outage_buffer)
            .field("printers", &self.printers)
            .finish_non_exhaustive()
    }
}

fn default_firmware_version() -> String {
    concat!("printfarm-hub/", env!("CARGO_PKG_VERSION")).to_owned()
}

fn default_discovery_listen() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 2021))
}

fn default_discovery_seconds() -> f64 {
    5.0
}

fn default_outage_buffer() -> usize {
    DEFAULT_OUTAGE_BUFFER
}

fn default_reconnect_initial_ms() -> u64 {
    1000
}

/// The settings file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Reading the file failed.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file holds the hub secret but others may read it.
    #[error(
        "{path} holds the hub secret but group or others have access to it (mode {mode:03o}); run `chmod 600 {path}`"
    )]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Not valid TOML or a field is wrong.
    #[error("{path} is not a valid hub config: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// A value is unusable.
    #[error("hub config: {0}")]
    Invalid(String),
}

impl Config {
    /// A config with defaults for everything but the identity, server and data directory.
    pub fn new(
        server_url: impl Into<String>,
        hub_id: impl Into<String>,
        hub_secret: impl Into<String>,
        data_dir: impl Into<PathBuf>,
    ) -> Config {
        Config {
            server_url: server_url.into(),
            hub_id: hub_id.into(),
            hub_secret: hub_secret.into(),
            data_dir: data_dir.into(),
            firmware_version: default_firmware_version(),
            discovery_listen: default_discovery_listen(),
            discovery_seconds: default_discovery_seconds(),
            outage_buffer: DEFAULT_OUTAGE_BUFFER,
            reconnect_initial_ms: default_reconnect_initial_ms(),
            printers: HashMap::new(),
        }
    }

    /// Reads and checks a TOML settings file; refuses one that group or others can read.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let read_error = |source| ConfigError::Read {
            path: path.to_owned(),
            source,
        };
        check_private(path).map_err(|error| match error {
            PrivateError::Io(source) => read_error(source),
            PrivateError::Open(mode) => ConfigError::Permissions {
                path: path.to_owned(),
                mode,
            },
        })?;
        let text = std::fs::read_to_string(path).map_err(read_error)?;
        let config: Config = toml::from_str(&text).map_err(|error| ConfigError::Parse {
            path: path.to_owned(),
            message: error.message().to_owned(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks the values that serde cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |message: &str| Err(ConfigError::Invalid(message.to_owned()));
        if self.hub_id.trim().is_empty() {
            return invalid("hub_id is empty");
        }
        if self.hub_id.contains(['/', '?', '#']) {
            return invalid("hub_id may not contain '/', '?' or '#'");
        }
        if self.hub_secret.is_empty() {
            return invalid("hub_secret is empty");
        }
        self.socket_url()?;
        if !(self.discovery_seconds.is_finite() && self.discovery_seconds > 0.0) {
            return invalid("discovery_seconds must be a positive number");
        }
        Ok(())
    }

    /// The hub socket URL: `ws(s)://host/…/ws/hub/{hub_id}` from `server_url`.
    pub fn socket_url(&self) -> Result<String, ConfigError> {
        let base = self.server_url.trim().trim_end_matches('/');
        let rest = if let Some(rest) = base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = base.strip_prefix("http://") {
            format!("ws://{rest}")
        } else if base.starts_with("ws://") || base.starts_with("wss://") {
            base.to_owned()
        } else {
            return Err(ConfigError::Invalid(format!(
                "server_url must start with http:// or https:// (got {base:?})"
            )));
        };
        Ok(format!("{rest}/ws/hub/{}", self.hub_id))
    }

    /// How long `discover_printers` listens.
    pub fn discovery_window(&self) -> Duration {
        Duration::from_secs_f64(self.discovery_seconds.clamp(0.01, 600.0))
    }
}

enum PrivateError {
    Io(std::io::Error),
    Open(u32),
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), PrivateError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(PrivateError::Io)?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(PrivateError::Open(mode));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(path: &Path) -> Result<(), PrivateError> {
    std::fs::metadata(path)
        .map_err(PrivateError::Io)
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    fn write(dir: &Path, text: &str, mode: u32) -> PathBuf {
        let path = dir.join("hub.toml");
        let mut file = std::fs::File::create(&path).expect("create");
        file.write_all(text.as_bytes()).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        path
    }

    const TEXT: &str = r#"
server_url = "https://farm.example.com/"
hub_id = "hub-1"
hub_secret = "s3cret"
data_dir = "/var/lib/printfarm-hub"

[printers.01P00A000000001]
host = "127.0.0.1"
mqtt_port = 18883
ftps_port = 10990
"#;

    #[test]
    fn a_private_file_loads_with_defaults_and_overrides() {
        let dir = tempfile::tempdir().expect("dir");
        let config = Config::load(write(dir.path(), TEXT, 0o600)).expect("loads");
        assert_eq!(
            config.socket_url().expect("url"),
            "wss://farm.example.com/ws/hub/hub-1"
        );
        assert_eq!(config.outage_buffer, DEFAULT_OUTAGE_BUFFER);
        assert_eq!(
            config.discovery_listen.to_string(),
            DEFAULT_DISCOVERY_LISTEN
        );
        assert_eq!(config.printers["01P00A000000001"].mqtt_port, Some(18883));
        assert!(
            !format!("{config:?}").contains("s3cret"),
            "secret not in Debug"
        );
    }

    #[test]
    fn a_file_others_can_read_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().expect("dir");
        let error = Config::load(write(dir.path(), TEXT, 0o644)).expect_err("refused");
        let message = error.to_string();
        assert!(message.contains("chmod 600"), "{message}");
        assert!(message.contains("644"), "{message}");
    }

    #[test]
    fn a_plain_http_server_gets_a_plain_socket() {
        let config = Config::new("http://127.0.0.1:8080", "h", "s", "/tmp/x");
        assert_eq!(
            config.socket_url().expect("url"),
            "ws://127.0.0.1:8080/ws/hub/h"
        );
        let bad = Config::new("ftp://x", "h", "s", "/tmp/x");
        assert!(bad.validate().is_err());
    }
}
