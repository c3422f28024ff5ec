//! Upload a file to a printer's card over implicit FTPS (port 990).
//!
//! Quirks handled (protocol reference §4): TLS starts before the banner
//! (implicit mode); the data connection must resume the control connection's
//! TLS session (X1 refuses otherwise), which rustls does when both use the same
//! `Arc<ClientConfig>` and server name; after `STOR` some printers answer 426
//! although the file is complete, so the outcome is decided by `SIZE`.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::ClientConfig;
use suppaftp::tokio::{
    AsyncDataStream, AsyncRustlsConnector, AsyncRustlsFtpStream, TokioTlsStream,
};
use suppaftp::types::FileType;
use suppaftp::{FtpError, Status};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};

/// The printers' FTPS port.
pub const PORT: u16 = 990;
/// The FTPS user name.
pub const USERNAME: &str = "bblp";

/// Where and how to reach one printer's FTPS server.
#[derive(Clone)]
pub struct FtpsTarget {
    /// Printer address (IP and port, normally 990).
    pub addr: SocketAddr,
    /// The LAN access code (the FTPS password).
    pub access_code: String,
    /// The printer's client config (see [`crate::tls::client_config`]); shared
    /// by the control and data connections so the session is resumed.
    pub tls: Arc<ClientConfig>,
    /// Limit for connecting and logging in, and for the `SIZE` check.
    pub timeout: Duration,
    /// Limit for the whole transfer (`STOR` until the completion reply).
    pub transfer_timeout: Duration,
}

impl std::fmt::Debug for FtpsTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The access code is a secret: never in logs.
        f.debug_struct("FtpsTarget")
            .field("addr", &self.addr)
            .field("timeout", &self.timeout)
            .field("transfer_timeout", &self.transfer_timeout)
            .finish_non_exhaustive()
    }
}

impl FtpsTarget {
    /// A target with a 30 s timeout for commands and 30 min for the transfer.
    pub fn new(addr: SocketAddr, access_code: impl Into<String>, tls: Arc<ClientConfig>) -> Self {
        FtpsTarget {
            addr,
            access_code: access_code.into(),
            tls,
            timeout: Duration::from_secs(30),
            transfer_timeout: Duration::from_secs(30 * 60),
        }
    }
}

/// Why an upload failed.
#[derive(Debug, thiserror::Error)]
pub enum FtpsError {
    /// Connecting, TLS or login failed.
    #[error("FTPS connection to the printer failed: {0}")]
    Connect(FtpError),
    /// The printer refused the access code.
    #[error("the printer refused the FTPS login (wrong access code?)")]
    Login,
    /// The card is full (552).
    #[error("the printer's storage is full")]
    StorageFull,
    /// A command or the transfer failed.
    #[error("FTPS transfer failed: {0}")]
    Transfer(FtpError),
    /// Reading the source stream failed.
    #[error("reading the file to upload failed: {0}")]
    Source(io::Error),
    /// The printer holds a different number of bytes than were sent.
    #[error("upload incomplete: sent {sent} bytes, printer has {remote}")]
    SizeMismatch {
        /// Bytes sent.
        sent: u64,
        /// `SIZE` on the printer.
        remote: u64,
    },
    /// A step took longer than the target's timeout.
    #[error("FTPS timed out while {0}")]
    Timeout(&'static str),
}

/// Streams `source` to `remote_path` on the printer (relative to the card
/// root, e.g. `bracket.gcode.3mf` or `cache/bracket.gcode.3mf`), calling
/// `progress` with the running total of bytes sent. Returns the size, checked
/// with `SIZE` against the bytes sent. Memory use is constant.
pub async fn upload<R, F>(
    target: &FtpsTarget,
    remote_path: &str,
    source: R,
    progress: F,
) -> Result<u64, FtpsError>
where
    R: AsyncRead + Unpin + Send,
    F: FnMut(u64) + Send,
{
    let remote_path = format!("/{}", remote_path.trim_start_matches('/'));
    let mut ftp = connect(target).await?;
    let result = transfer(&mut ftp, target, &remote_path, source, progress).await;
    // Closing politely is optional; the result is already known.
    let _ = tokio::time::timeout(Duration::from_secs(2), ftp.quit()).await;
    result
}

/// Opens an implicit-FTPS session: TLS, login, `PBSZ 0`, `PROT P`, binary.
pub async fn connect(target: &FtpsTarget) -> Result<AsyncRustlsFtpStream, FtpsError> {
    let connector =
        AsyncRustlsConnector::from(tokio_rustls::TlsConnector::from(target.tls.clone()));
    // The printer is addressed by IP; the pinning verifier ignores the name, and
    // the same name on control and data connections is what session reuse keys on.
    let domain = target.addr.ip().to_string();
    let setup = async {
        let mut ftp =
            AsyncRustlsFtpStream::connect_secure_implicit(target.addr, connector, &domain)
                .await
                .map_err(FtpsError::Connect)?;
        ftp.login(USERNAME, target.access_code.as_str())
            .await
            .map_err(|error| match error {
                FtpError::UnexpectedResponse(ref r) if r.status == Status::NotLoggedIn => {
                    FtpsError::Login
                }
                other => FtpsError::Connect(other),
            })?;
        // Implicit mode skips AUTH, so protection must be asked for explicitly.
        for command in ["PBSZ 0", "PROT P"] {
            ftp.custom_command(command, &[Status::CommandOk])
                .await
                .map_err(FtpsError::Connect)?;
        }
        ftp.transfer_type(FileType::Binary)
            .await
            .map_err(FtpsError::Connect)?;
        // PASV may name an address the hub cannot reach; use the control peer's.
        ftp.set_passive_nat_workaround(true);
        Ok(ftp)
    };
    tokio::time::timeout(target.timeout, setup)
        .await
        .map_err(|_| FtpsError::Timeout("connecting"))?
}

async fn transfer<R, F>(
    ftp: &mut AsyncRustlsFtpStream,
    target: &FtpsTarget,
    remote_path: &str,
    source: R,
    progress: F,
) -> Result<u64, FtpsError>
where
    R: AsyncRead + Unpin + Send,
    F: FnMut(u64) + Send,
{
    if let Some((dirs, _)) = remote_path.trim_start_matches('/').rsplit_once('/') {
        let mut path = String::new();
        for dir in dirs.split('/').filter(|d| !d.is_empty()) {
            path.push('/');
            path.push_str(dir);
            // Exists already is the common case; STOR reports a real problem.
            let _ = ftp.mkdir(&path).await;
        }
    }
    let mut reader = Progress {
        inner: source,
        sent: 0,
        callback: Box::new(progress),
        error: None,
    };
    let stored = tokio::time::timeout(
        // Also bounds the known hang of the data channel's TLS close after STOR.
        target.transfer_timeout,
        store(ftp, remote_path, &mut reader),
    )
    .await
    .map_err(|_| FtpsError::Timeout("uploading"))?;
    if let Some(error) = reader.error.take() {
        return Err(FtpsError::Source(error));
    }
    let sent = reader.sent;
    match stored {
        Ok(_) => {}
        Err(FtpError::UnexpectedResponse(reply)) if reply.status == Status::ExceededStorage => {
            return Err(FtpsError::StorageFull);
        }
        // P1/X1 sometimes answer 426 for a complete file; SIZE decides.
        Err(FtpError::UnexpectedResponse(reply)) if reply.status == Status::TransferAborted => {
            tracing::debug!(sent, "printer answered 426 after STOR; checking SIZE");
        }
        Err(error) => return Err(FtpsError::Transfer(error)),
    }
    let remote = tokio::time::timeout(target.timeout, ftp.size(remote_path))
        .await
        .map_err(|_| FtpsError::Timeout("checking the size"))?
        .map_err(FtpsError::Transfer)? as u64;
    if remote != sent {
        return Err(FtpsError::SizeMismatch { sent, remote });
    }
    Ok(sent)
}

/// Plaintext handed to TLS at a time: eight full 16 KiB records, encrypted
/// together and sent in one `writev`. (`put_file` copies through tokio's 8 KiB
/// buffer: a half-size record and a syscall per 8 KiB.)
const UPLOAD_CHUNK: usize = 128 * 1024;
/// rustls's send buffer on the data connection: a whole chunk and its record
/// overhead (22 bytes a record in TLS 1.3), so one write encrypts all of it.
/// rustls's default of 64 KiB would split each chunk into two writes.
const SEND_BUFFER: usize = UPLOAD_CHUNK + 16 * 1024;

/// `STOR`s `source` through [`UPLOAD_CHUNK`]-sized writes, then reads the reply.
async fn store<R: AsyncRead + Unpin>(
    ftp: &mut AsyncRustlsFtpStream,
    remote_path: &str,
    source: &mut R,
) -> Result<(), FtpError> {
    let mut stream = ftp.put_with_stream(remote_path).await?;
    if let AsyncDataStream::Ssl(tls) = stream.get_mut() {
        tls.mut_ref()
            .get_mut()
            .1
            .set_buffer_limit(Some(SEND_BUFFER));
    }
    let mut chunk = vec![0u8; UPLOAD_CHUNK];
    loop {
        let filled = fill(source, &mut chunk)
            .await
            .map_err(FtpError::ConnectionError)?;
        if filled == 0 {
            break;
        }
        stream
            .write_all(&chunk[..filled])
            .await
            .map_err(FtpError::ConnectionError)?;
        if filled < chunk.len() {
            break;
        }
    }
    stream.finish().await
}

/// Reads until `chunk` is full or the source ends, so records are full size
/// even when the source (a download) hands over a few KiB at a time.
async fn fill<R: AsyncRead + Unpin>(source: &mut R, chunk: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < chunk.len() {
        let read = source.read(&mut chunk[filled..]).await?;
        if read == 0 {
            break;
        }
        filled += read;
    }
    Ok(filled)
}

/// Counts bytes read from the source and reports the running total.
struct Progress<R, F> {
    inner: R,
    sent: u64,
    // Boxed so the reader is `Unpin` whatever the closure captures.
    callback: Box<F>,
    /// A source error, kept so it is not mistaken for a network error.
    error: Option<io::Error>,
}

impl<R: AsyncRead + Unpin, F: FnMut(u64)> AsyncRead for Progress<R, F> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let read = (buf.filled().len() - before) as u64;
                if read > 0 {
                    this.sent += read;
                    (this.callback)(this.sent);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => {
                let kind = error.kind();
                this.error = Some(error);
                Poll::Ready(Err(io::Error::new(kind, "source read failed")))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
