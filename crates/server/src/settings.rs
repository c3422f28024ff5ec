//! Settings: defaults, then a TOML file, then `PRINTFARM_*` environment variables.
//!
//! With no settings at all the server runs from `./printfarm-data/`: a SQLite database,
//! a file store and an encryption key made on first start.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub mod reference;

/// Everything the server can be told. Its doc comments are the configuration reference
/// (`printfarm config --reference`, [`reference`]).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on.
    #[schema(value_type = String)]
    pub listen: SocketAddr,
    /// The URL people and hubs reach the server at (links in emails, Secure cookies when https).
    pub public_url: Option<String>,
    /// A PEM file with the certificate chain to serve HTTPS with, directly (no proxy in
    /// front); read again when it changes, so a renewed certificate needs no restart.
    #[schema(value_type = Option<String>)]
    pub tls_certificate: Option<PathBuf>,
    /// The PEM file with the certificate's private key (PKCS#8, PKCS#1 or SEC1).
    #[schema(value_type = Option<String>)]
    pub tls_private_key: Option<PathBuf>,
    /// Where the SQLite database, files, key and mail outbox live.
    #[schema(value_type = String)]
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...`; defaults to a SQLite file in the data directory.
    pub database_url: Option<String>,
    /// Base64 of 32 bytes for secrets at rest; defaults to a key file in the data directory.
    pub encryption_key: Option<String>,
    /// Where print files, thumbnails and pictures are kept: none for `<data_dir>/files/`, or
    /// an S3-compatible bucket, `s3://BUCKET[/PREFIX]?endpoint=URL&region=NAME` (AWS S3,
    /// Cloudflare R2, MinIO, ...). Several server nodes share one bucket.
    pub object_store: Option<String>,
    /// The bucket's access key id (else `AWS_ACCESS_KEY_ID`).
    pub object_store_access_key: Option<String>,
    /// The bucket's secret key (else `AWS_SECRET_ACCESS_KEY`); never shown.
    pub object_store_secret_key: Option<String>,
    /// The bearer token Prometheus scrapes `/metrics` with; without it `/metrics` is off.
    pub metrics_token: Option<String>,
    /// The NATS server several nodes share (`nats://host:4222`): hub commands reach the
    /// node holding the hub's socket. None: one node, everything in process.
    pub bus: Option<String>,
    /// Other origins whose browsers may call the API with cookies (CORS and CSRF).
    pub trusted_origins: Vec<String>,
    /// Outgoing mail; without it, mail is written to `<data_dir>/outbox/`.
    #[schema(inline)]
    pub smtp: Option<SmtpSettings>,
    /// The sender of outgoing mail.
    pub mail_from: String,
    /// `text` or `json`.
    #[schema(inline)]
    pub log_format: LogFormat,
    /// The largest request body accepted, in bytes (larger gets 413).
    pub max_body_bytes: usize,
    /// Sign-in attempts allowed per client address per 15 minutes.
    pub login_attempts_per_ip: usize,
    /// Failed sign-ins allowed per account per 15 minutes.
    pub login_failures_per_account: usize,
    /// New accounts (sign-up, register) allowed per client address per 15 minutes.
    pub sign_ups_per_ip: usize,
    /// Reverse proxies whose `X-Forwarded-For` is believed (for client addresses in
    /// rate limits and audit rows); requests from anyone else use the peer address.
    #[schema(value_type = Vec<String>)]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The largest print file accepted, in bytes (larger gets 413).
    pub max_upload_bytes: u64,
    /// Open connections at most (hub and dashboard sockets included); past it the server
    /// stops accepting until one closes.
    pub max_connections: usize,
    /// Seconds a client has to send a request's header; also how long an idle keep-alive
    /// connection stays open.
    pub header_timeout_secs: u64,
    /// 3MF files read at once (each can take a few hundred MB for a large plate); further
    /// uploads wait their turn. 0 means one per core.
    pub parallel_3mf_reads: usize,
    /// Where Shopify's Admin API is, instead of `https://<shop domain>` (a proxy that
    /// holds egress, or a fake shop in tests); none: Shopify itself.
    pub shopify_api_url: Option<String>,
    /// Lets a hub factory register hubs (`X-Provisioning-Key` on `POST /api/v1/hubs/register`).
    pub hub_provisioning_key: Option<String>,
    /// Attempts a notification (email or webhook) gets before it becomes a dead letter
    /// (retried after 2 s, 4 s, 8 s … at most 5 minutes apart).
    pub notification_attempts: i64,
    /// Whether webhooks may go to loopback, private and link-local addresses (a farm's own
    /// network: Home Assistant, a LAN dashboard). A service hosting many farms turns it off,
    /// so that no farm can make the server call into its own network.
    pub webhooks_to_private_addresses: bool,
    /// A public demo account the sign-in page offers with one click (`printfarm demo` sets
    /// it; a real farm leaves it out).
    #[schema(inline)]
    pub demo_sign_in: Option<DemoSignIn>,
}

/// The demo account shown on the sign-in page. Its password is public by design: it opens
/// a farm of simulated printers and nothing else.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DemoSignIn {
    /// The demo account's email.
    pub email: String,
    /// Its password.
    pub password: String,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// An SMTP relay.
#[derive(Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    /// Host name.
    pub host: String,
    /// Port.
    #[serde(default = "default_smtp_port")]
    #[schema(default = 587)]
    pub port: u16,
    /// User name, if the relay needs one.
    pub username: Option<String>,
    /// Password, if the relay needs one.
    pub password: Option<String>,
    /// `starttls` (default), `tls` (implicit) or `none` (local relays only).
    #[serde(default)]
    #[schema(inline, default = "starttls")]
    pub security: SmtpSecurity,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("security", &self.security)
            .finish()
    }
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Upgrade a plain connection with STARTTLS.
    #[default]
    Starttls,
    /// TLS from the first byte.
    Tls,
    /// No TLS.
    None,
}

fn default_smtp_port() -> u16 {
    587
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8787)),
            public_url: None,
            tls_certificate: None,
            tls_private_key: None,
            data_dir: PathBuf::from("printfarm-data"),
            database_url: None,
            encryption_key: None,
            object_store: None,
            object_store_access_key: None,
            object_store_secret_key: None,
            bus: None,
            metrics_token: None,
            trusted_origins: Vec::new(),
            smtp: None,
            mail_from: "PrintFarm <no-reply@printfarm.local>".into(),
            log_format: LogFormat::Text,
            max_body_bytes: 2 * 1024 * 1024,
            login_attempts_per_ip: 30,
            login_failures_per_account: 10,
            sign_ups_per_ip: 20,
            trusted_proxies: Vec::new(),
            hub_provisioning_key: None,
            shopify_api_url: None,
            notification_attempts: 10,
            webhooks_to_private_addresses: true,
            demo_sign_in: None,
            max_upload_bytes: 512 * 1024 * 1024,
            max_connections: 20_000,
            header_timeout_secs: 20,
            parallel_3mf_reads: 0,
        }
    }
}

/// Why settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file or a variable has a bad value.
    #[error("settings: {0}")]
    Invalid(String),
    /// The data directory or key file could not be prepared.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl Settings {
    /// Loads defaults, then `file` (if given), then `PRINTFARM_*` variables
    /// (`PRINTFARM_SMTP__HOST` for nested keys, commas between trusted origins).
    pub fn load(file: Option<&Path>) -> Result<Settings, SettingsError> {
        let defaults = config::Config::try_from(&Settings::default())
            .map_err(|e| SettingsError::Invalid(e.to_string()))?;
        let mut builder = config::Config::builder().add_source(defaults);
        if let Some(path) = file {
            builder = builder.add_source(config::File::from(path).format(config::FileFormat::Toml));
        }
        let mut variables = config::Environment::with_prefix("PRINTFARM")
            .prefix_separator("_")
            .separator("__")
            .list_separator(",");
        for key in reference::list_keys() {
            variables = variables.with_list_parse_key(&key);
        }
        builder = builder.add_source(
            variables
                .try_parsing(true)
                .source(Some(server_variables(std::env::vars()))),
        );
        builder
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| SettingsError::Invalid(e.to_string()))
    }

    /// The public URL, defaulting to `http://<listen address>`.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
            .trim_end_matches('/')
            .to_string()
    }

    /// The database URL, defaulting to `<data_dir>/printfarm.db`.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("printfarm.db").display()
            )
        })
    }

    /// Creates the data directory and returns the encryption key, making a key file
    /// (mode 0600) on first start when none is configured.
    ///
    /// The data directory holds the database (with password and token hashes), mails with
    /// reset links and the farms' print files: everything the server creates from here on
    /// is for its own user only (umask 077), and what an older version left readable is
    /// made private ([`make_private`]).
    pub fn prepare_data_dir(&self) -> Result<String, SettingsError> {
        let io = |source| SettingsError::DataDir {
            path: self.data_dir.clone(),
            source,
        };
        owner_only_from_now_on();
        std::fs::create_dir_all(&self.data_dir).map_err(io)?;
        make_private(&self.data_dir).map_err(io)?;
        if let Some(key) = &self.encryption_key {
            return Ok(key.clone());
        }
        let path = self.data_dir.join("encryption.key");
        match std::fs::read_to_string(&path) {
            Ok(key) => Ok(key.trim().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = store::secrets::Cipher::generate_key();
                write_private(&path, key.as_bytes()).map_err(io)?;
                Ok(key)
            }
            Err(e) => Err(io(e)),
        }
    }
}

/// A URL with its password hidden (`scheme://user:***@host`), for logs, `printfarm config`
/// and health reports.
pub fn redact_url(url: &str) -> String {
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

/// Keeps the server's own `PRINTFARM_*` variables; others (the test suite's
/// `PRINTFARM_TEST_DATABASE_URL`, the hub's) are not the server's to refuse.
fn server_variables(vars: impl Iterator<Item = (String, String)>) -> config::Map<String, String> {
    let variables = reference::variables();
    vars.filter(|(key, _)| {
        key.strip_prefix("PRINTFARM_").is_some_and(|name| {
            variables
                .iter()
                .any(|v| name == *v || (v.ends_with("__") && name.starts_with(v)))
        })
    })
    .collect()
}

/// New files of this process get mode 0600 and new folders 0700, whoever creates them
/// (SQLite and its WAL, the file store, the mail outbox, temporary uploads, backups).
pub fn owner_only_from_now_on() {
    #[cfg(unix)]
    // SAFETY: umask only sets the process's file-creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
}

/// Makes `dir` and what lies directly in it private to the owner (0700 folders, 0600 files):
/// a folder that others cannot enter protects everything below it.
pub fn make_private(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let set = |path: &Path, mode: u32| {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        };
        set(dir, 0o700)?;
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                set(&entry.path(), 0o700)?;
            } else if kind.is_file() {
                set(&entry.path(), 0o600)?;
            }
        }
    }
    Ok(())
}

/// Writes a new file only its owner can read (0600), synced to disk; an existing file is
/// an error, never overwritten.
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
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
    fn with_no_settings_the_server_uses_its_data_directory() {
        let s = Settings::default();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8787");
        assert_eq!(s.public_url(), "http://127.0.0.1:8787");
        assert_eq!(
            s.database_url(),
            "sqlite://printfarm-data/printfarm.db?mode=rwc"
        );
    }

    #[test]
    fn a_key_file_is_made_once_and_only_its_owner_can_read_it() {
        let dir = tempfile::tempdir().unwrap();
        let s = Settings {
            data_dir: dir.path().join("data"),
            ..Settings::default()
        };
        let key = s.prepare_data_dir().unwrap();
        assert_eq!(s.prepare_data_dir().unwrap(), key);
        assert!(store::secrets::Cipher::from_base64(&key).is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(s.data_dir.join("encryption.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_toml_file_overrides_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("printfarm.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\ntrusted_origins = [\"https://farm.example\"]\nlog_format = \"json\"\n[smtp]\nhost = \"mail.example\"\npassword = \"s3cret\"\n",
        )
        .unwrap();
        let s = Settings::load(Some(&path)).unwrap();
        assert_eq!(s.listen.port(), 9000);
        assert_eq!(s.trusted_origins, vec!["https://farm.example"]);
        assert_eq!(s.log_format, LogFormat::Json);
        let smtp = s.smtp.unwrap();
        assert_eq!(smtp.port, 587);
        assert!(!format!("{smtp:?}").contains("s3cret"));
    }

    #[test]
    fn only_the_servers_own_variables_are_read() {
        let vars = [
            ("PRINTFARM_LISTEN", "127.0.0.1:1"),
            ("PRINTFARM_SMTP__HOST", "mail"),
            ("PRINTFARM_TEST_DATABASE_URL", "postgres://x"),
            ("PRINTFARM_LISTENER", "x"),
            ("HOME", "/root"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let kept = server_variables(vars.into_iter());
        let mut keys: Vec<_> = kept.keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, vec!["PRINTFARM_LISTEN", "PRINTFARM_SMTP__HOST"]);
    }

    #[test]
    fn an_unknown_setting_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("printfarm.toml");
        std::fs::write(&path, "listne = \"127.0.0.1:9000\"\n").unwrap();
        let err = Settings::load(Some(&path)).unwrap_err();
        assert!(err.to_string().contains("listne"), "{err}");
    }
}
