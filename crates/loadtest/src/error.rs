//! Why a load test could not produce its figures.

/// A load test failed before it could measure (setup, a child process, the protocol).
///
/// Slow or lossy behaviour under load is not an error: it is what the figures report.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The options cannot be run here (bad values, too few file descriptors).
    #[error("{0}")]
    Invalid(String),
    /// A local file, socket or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An HTTP request to the server did not complete.
    #[error("{what}: {source}")]
    Http {
        /// The request.
        what: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered an API call with an error.
    #[error("{what}: HTTP {status}: {message}")]
    Api {
        /// The request.
        what: String,
        /// The HTTP status.
        status: u16,
        /// The server's error message.
        message: String,
    },
    /// A WebSocket could not be opened or used.
    #[error("{what}: {source}")]
    Socket {
        /// What was being done.
        what: String,
        /// The cause (boxed: the tungstenite error is large).
        #[source]
        source: Box<tokio_tungstenite::tungstenite::Error>,
    },
    /// The server said something the load test did not expect.
    #[error("{0}")]
    Protocol(String),
    /// Something did not happen in time.
    #[error("{what}: nothing after {seconds} s")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        seconds: u64,
    },
    /// A child process (server, hub agent) did not start or stopped early.
    #[error("the {name} process: {detail}")]
    Process {
        /// "server" or "hub agent".
        name: &'static str,
        /// What happened, with the end of its log when there is one.
        detail: String,
    },
    /// The printer simulator did not start.
    #[error("simulator: {0}")]
    Sim(#[from] sim::SimError),
    /// The FTPS upload failed.
    #[error("FTPS upload: {0}")]
    Ftps(#[source] Box<bambu::ftps::FtpsError>),
    /// A TLS configuration could not be built.
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
}

impl Error {
    /// An [`Error::Io`] with what was being done.
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let what = what.into();
        move |source| Error::Io { what, source }
    }

    /// An [`Error::Socket`] with what was being done.
    pub(crate) fn socket(
        what: impl Into<String>,
    ) -> impl FnOnce(tokio_tungstenite::tungstenite::Error) -> Error {
        let what = what.into();
        move |source| Error::Socket {
            what,
            source: Box::new(source),
        }
    }

    /// An [`Error::Timeout`].
    pub(crate) fn timeout(what: impl Into<String>, after: std::time::Duration) -> Error {
        Error::Timeout {
            what: what.into(),
            seconds: after.as_secs(),
        }
    }
}

impl From<bambu::ftps::FtpsError> for Error {
    fn from(error: bambu::ftps::FtpsError) -> Error {
        Error::Ftps(Box::new(error))
    }
}

/// The load test's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
