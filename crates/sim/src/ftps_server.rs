//! A small implicit-FTPS server for one printer's card.
//!
//! Like the printers (vsftpd with `require_ssl_reuse`), it speaks TLS before
//! the banner and refuses a data connection that does not resume the control
//! connection's TLS session, and unencrypted data connections.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bambu::ftps::USERNAME;
use bytes::Bytes;
use rustls::HandshakeKind;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::printer::Printer;
use crate::storage::resolve;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
const DATA_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_LINE: usize = 4096;
/// What a data connection reads from its socket at a time. rustls asks for
/// 4 KiB per read (five syscalls a 16 KiB record); reading ahead through this
/// buffer serves those from memory, one syscall per many records.
pub const DATA_BUFFER: usize = 256 * 1024;

/// A data connection: TLS over a socket read through [`DATA_BUFFER`].
type Data = TlsStream<BufReader<TcpStream>>;

pub(crate) async fn serve(
    printer: Arc<Printer>,
    listener: TcpListener,
    acceptor: TlsAcceptor,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => {
                    let session = Session::new(printer.clone(), acceptor.clone());
                    let mut shutdown = shutdown.clone();
                    tokio::spawn(async move {
                        tokio::select! {
                            result = session.run(tcp) => if let Err(error) = result {
                                tracing::debug!(%error, "FTPS session ended");
                            },
                            _ = shutdown.changed() => {}
                        }
                    });
                }
                Err(error) => {
                    tracing::warn!(%error, "FTPS accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = shutdown.changed() => return,
        }
    }
}

/// Why a data connection could not be used; the reply says it to the client.
enum DataRefused {
    Reply(&'static str),
}

struct Session {
    printer: Arc<Printer>,
    acceptor: TlsAcceptor,
    user_ok: bool,
    logged_in: bool,
    protected: bool,
    cwd: String,
    passive: Option<TcpListener>,
}

type Control = BufReader<TlsStream<TcpStream>>;

impl Session {
    fn new(printer: Arc<Printer>, acceptor: TlsAcceptor) -> Session {
        Session {
            printer,
            acceptor,
            user_ok: false,
            logged_in: false,
            protected: false,
            cwd: String::new(),
            passive: None,
        }
    }

    async fn run(mut self, tcp: TcpStream) -> std::io::Result<()> {
        let _ = tcp.set_nodelay(true);
        let local_ip = tcp.local_addr()?.ip();
        let tls = tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.accept(tcp))
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
        let mut control = BufReader::new(tls);
        reply(&mut control, "220 Service ready for new user.").await?;
        let mut line = Vec::with_capacity(256);
        loop {
            line.clear();
            let read = tokio::time::timeout(
                IDLE_TIMEOUT,
                (&mut control)
                    .take(MAX_LINE as u64)
                    .read_until(b'\n', &mut line),
            )
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
            if read == 0 {
                return Ok(());
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\r', '\n']);
            let (verb, arg) = match text.split_once(' ') {
                Some((verb, arg)) => (verb.to_ascii_uppercase(), arg.trim().to_owned()),
                None => (text.to_ascii_uppercase(), String::new()),
            };
            if !self.command(&mut control, &verb, &arg, local_ip).await? {
                return Ok(());
            }
        }
    }

    /// Runs one command; `false` ends the session.
    async fn command(
        &mut self,
        control: &mut Control,
        verb: &str,
        arg: &str,
        local_ip: IpAddr,
    ) -> std::io::Result<bool> {
        match verb {
            "USER" => {
                self.user_ok = arg == USERNAME;
                self.logged_in = false;
                reply(control, "331 User name okay, need password.").await?;
                return Ok(true);
            }
            "PASS" => {
                if self.user_ok && arg == self.printer.info.access_code {
                    self.logged_in = true;
                    reply(control, "230 User logged in, proceed.").await?;
                } else {
                    reply(control, "530 Login incorrect.").await?;
                }
                return Ok(true);
            }
            "QUIT" => {
                reply(control, "221 Goodbye.").await?;
                let _ = control.get_mut().shutdown().await;
                return Ok(false);
            }
            "FEAT" => {
                let features = "211-Features:\r\n PASV\r\n EPSV\r\n SIZE\r\n PBSZ\r\n PROT\r\n UTF8\r\n211 End";
                reply(control, features).await?;
                return Ok(true);
            }
            "SYST" => {
                reply(control, "215 UNIX Type: L8").await?;
                return Ok(true);
            }
            "NOOP" => {
                reply(control, "200 NOOP ok.").await?;
                return Ok(true);
            }
            _ if !self.logged_in => {
                reply(control, "530 Please login with USER and PASS.").await?;
                return Ok(true);
            }
            _ => {}
        }
        match verb {
            "PBSZ" => reply(control, "200 PBSZ set to 0.").await?,
            "PROT" => {
                self.protected = arg.eq_ignore_ascii_case("P");
                let text = if self.protected {
                    "200 PROT now Private."
                } else {
                    "200 PROT now Clear."
                };
                reply(control, text).await?;
            }
            "TYPE" => reply(control, "200 Type set.").await?,
            "OPTS" | "MODE" | "STRU" => reply(control, "200 OK.").await?,
            "PWD" | "XPWD" => reply(control, &format!("257 \"/{}\"", self.cwd)).await?,
            "CWD" | "XCWD" => {
                let path = resolve(&self.cwd, arg);
                if self.printer.card().is_dir(&path) {
                    self.cwd = path;
                    reply(control, "250 Directory successfully changed.").await?;
                } else {
                    reply(control, "550 Failed to change directory.").await?;
                }
            }
            "CDUP" => {
                self.cwd = resolve(&self.cwd, "..");
                reply(control, "250 Directory successfully changed.").await?;
            }
            "MKD" | "XMKD" => {
                let path = resolve(&self.cwd, arg);
                self.printer.card().make_dir(path.clone());
                reply(control, &format!("257 \"/{path}\" created")).await?;
            }
            "PASV" | "EPSV" => {
                let listener = TcpListener::bind(SocketAddr::new(local_ip, 0)).await?;
                let port = listener.local_addr()?.port();
                self.passive = Some(listener);
                let text = match (verb, local_ip) {
                    ("PASV", IpAddr::V4(ip)) => {
                        let [a, b, c, d] = ip.octets();
                        format!(
                            "227 Entering Passive Mode ({a},{b},{c},{d},{},{}).",
                            port >> 8,
                            port & 0xFF
                        )
                    }
                    _ => format!("229 Entering Extended Passive Mode (|||{port}|)"),
                };
                reply(control, &text).await?;
            }
            "SIZE" => {
                let path = resolve(&self.cwd, arg);
                let size = self.printer.card().get(&path).map(|f| f.len());
                match size {
                    Some(size) => reply(control, &format!("213 {size}")).await?,
                    None => reply(control, "550 Could not get file size.").await?,
                }
            }
            "DELE" => {
                let path = resolve(&self.cwd, arg);
                if self.printer.card().remove(&path) {
                    reply(control, "250 Delete operation successful.").await?;
                } else {
                    reply(control, "550 Delete operation failed.").await?;
                }
            }
            "LIST" | "NLST" => self.list(control, verb == "NLST", arg).await?,
            "RETR" => self.retrieve(control, arg).await?,
            "STOR" => self.store(control, arg).await?,
            "ABOR" => reply(control, "225 No transfer to ABOR.").await?,
            _ => reply(control, "502 Command not implemented.").await?,
        }
        Ok(true)
    }

    /// Sends 150, then accepts the data connection. It must be TLS and must
    /// resume this session, else the client gets 522 like from a real printer.
    async fn open_data(
        &mut self,
        control: &mut Control,
    ) -> std::io::Result<Result<Data, DataRefused>> {
        let Some(listener) = self.passive.take() else {
            return Ok(Err(DataRefused::Reply("425 Use PASV or EPSV first.")));
        };
        if !self.protected {
            return Ok(Err(DataRefused::Reply(
                "522 Data connections must be encrypted.",
            )));
        }
        reply(control, "150 Ok to send data.").await?;
        let Ok(Ok((tcp, _))) = tokio::time::timeout(DATA_TIMEOUT, listener.accept()).await else {
            return Ok(Err(DataRefused::Reply(
                "425 Failed to establish connection.",
            )));
        };
        let _ = tcp.set_nodelay(true);
        let tcp = BufReader::with_capacity(DATA_BUFFER, tcp);
        let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.accept(tcp)).await {
            Ok(Ok(tls)) => tls,
            _ => {
                return Ok(Err(DataRefused::Reply(
                    "522 SSL connection failed; session reuse required.",
                )));
            }
        };
        if tls.get_ref().1.handshake_kind() != Some(HandshakeKind::Resumed) {
            tracing::debug!(serial = %self.printer.info.serial, "FTPS data connection without session reuse refused");
            return Ok(Err(DataRefused::Reply(
                "522 SSL connection failed; session reuse required.",
            )));
        }
        Ok(Ok(tls))
    }

    async fn list(
        &mut self,
        control: &mut Control,
        names_only: bool,
        arg: &str,
    ) -> std::io::Result<()> {
        // Options like `-la` are sent by some clients; they name no path.
        let arg = if arg.starts_with('-') { "" } else { arg };
        let dir = resolve(&self.cwd, arg);
        let entries = self.printer.card().children(&dir);
        let mut text = String::new();
        for (name, size) in entries {
            if names_only {
                text.push_str(&name);
            } else {
                match size {
                    Some(size) => text.push_str(&format!(
                        "-rw-rw-rw-    1 root     root     {size:>10} Jan 01 00:00 {name}"
                    )),
                    None => text.push_str(&format!(
                        "drwxrwxrwx    2 root     root           4096 Jan 01 00:00 {name}"
                    )),
                }
            }
            text.push_str("\r\n");
        }
        let mut data = match self.open_data(control).await? {
            Ok(data) => data,
            Err(DataRefused::Reply(text)) => return reply(control, text).await,
        };
        data.write_all(text.as_bytes()).await?;
        let _ = data.shutdown().await;
        reply(control, "226 Directory send OK.").await
    }

    async fn retrieve(&mut self, control: &mut Control, arg: &str) -> std::io::Result<()> {
        let path = resolve(&self.cwd, arg);
        let Some(content) = self.printer.card().get(&path) else {
            self.passive = None;
            return reply(control, "550 Failed to open file.").await;
        };
        let mut data = match self.open_data(control).await? {
            Ok(data) => data,
            Err(DataRefused::Reply(text)) => return reply(control, text).await,
        };
        data.write_all(&content).await?;
        let _ = data.shutdown().await;
        reply(control, "226 Transfer complete.").await
    }

    async fn store(&mut self, control: &mut Control, arg: &str) -> std::io::Result<()> {
        let path = resolve(&self.cwd, arg);
        if path.is_empty() {
            self.passive = None;
            return reply(control, "553 Could not create file.").await;
        }
        if self.printer.card().room_for(&path) == 0 {
            self.passive = None;
            return reply(
                control,
                "552 Requested file action aborted. Exceeded storage allocation.",
            )
            .await;
        }
        let mut data = match self.open_data(control).await? {
            Ok(data) => data,
            Err(DataRefused::Reply(text)) => return reply(control, text).await,
        };
        let room = self.printer.card().room_for(&path);
        let mut content = Vec::new();
        let mut overflow = false;
        let complete = loop {
            // Straight from rustls's plaintext (one record at a time) to the card,
            // without a copy into a chunk buffer first.
            match tokio::time::timeout(DATA_TIMEOUT, data.fill_buf()).await {
                Ok(Ok([])) => break true,
                Ok(Ok(record)) => {
                    let n = record.len();
                    if content.len() as u64 + n as u64 > room {
                        // Keep reading so the client finishes, but store nothing.
                        overflow = true;
                        content.clear();
                    } else if !overflow {
                        content.extend_from_slice(record);
                    }
                    data.consume(n);
                }
                // A client that closes without close_notify still sent its bytes;
                // the SIZE check on the client side is the real verdict.
                Ok(Err(error)) if error.kind() == std::io::ErrorKind::UnexpectedEof => break true,
                Ok(Err(_)) | Err(_) => break false,
            }
        };
        // Our close_notify lets the client finish its drain without a timeout.
        let _ = data.shutdown().await;
        drop(data);
        if overflow {
            return reply(
                control,
                "552 Requested file action aborted. Exceeded storage allocation.",
            )
            .await;
        }
        if !complete {
            return reply(control, "426 Failure reading network stream.").await;
        }
        let size = content.len();
        let quirk = {
            let mut card = self.printer.card();
            card.put(path.clone(), Bytes::from(content));
            card.answer_426_after_store
        };
        tracing::debug!(serial = %self.printer.info.serial, path, size, "file stored");
        if quirk {
            // The file is complete; only SIZE tells the client so.
            return reply(control, "426 Failure reading network stream.").await;
        }
        reply(control, "226 Transfer complete.").await
    }
}

async fn reply<W: AsyncWrite + Unpin>(control: &mut W, text: &str) -> std::io::Result<()> {
    control.write_all(text.as_bytes()).await?;
    control.write_all(b"\r\n").await?;
    control.flush().await
}
