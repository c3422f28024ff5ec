//! The P1/A1 camera: JPEG frames over TLS on port 6000 (protocol reference §6.2).
//!
//! The client sends one 80-byte auth packet (`bblp` and the access code); the printer
//! then sends frames for as long as the connection stays open, each a 16-byte header
//! (four little-endian `u32`: the JPEG's length, 0, 1, 0) followed by the JPEG. A
//! connection closed right after the auth packet means a wrong access code.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The printers' camera port.
pub const PORT: u16 = 6000;
/// The camera's user name.
pub const USERNAME: &str = "bblp";
/// Length of the auth packet.
pub const AUTH_LEN: usize = 80;
/// Length of a frame header.
pub const HEADER_LEN: usize = 16;
/// The largest frame taken: a 1280×720 frame is about 100–200 KiB.
pub const MAX_FRAME: usize = 4 * 1024 * 1024;

/// Why no frame came.
#[derive(Debug, thiserror::Error)]
pub enum CameraError {
    /// TCP or TLS failed.
    #[error("cannot reach the printer's camera: {0}")]
    Io(#[from] std::io::Error),
    /// The printer closed the connection before a frame: the access code is wrong (or
    /// the camera is off).
    #[error("the printer's camera closed the connection (wrong access code, or camera off)")]
    Refused,
    /// Nothing came in time.
    #[error("the printer's camera sent no frame within {0:?}")]
    Timeout(Duration),
    /// A frame header announced more than allowed.
    #[error("the printer's camera announced a frame of {0} bytes (at most {MAX_FRAME})")]
    TooLarge(usize),
    /// The bytes are not a JPEG.
    #[error("the printer's camera sent a frame that is not a JPEG")]
    NotJpeg,
}

/// The auth packet for `username` and `access_code` (each NUL-padded to 32 bytes).
pub fn auth_packet(username: &str, access_code: &str) -> [u8; AUTH_LEN] {
    let mut packet = [0u8; AUTH_LEN];
    packet[0..4].copy_from_slice(&0x40u32.to_le_bytes());
    packet[4..8].copy_from_slice(&0x3000u32.to_le_bytes());
    for (at, text) in [(16, username), (48, access_code)] {
        let bytes = text.as_bytes();
        let n = bytes.len().min(32);
        packet[at..at + n].copy_from_slice(&bytes[..n]);
    }
    packet
}

/// The user name and access code of an auth packet; `None` when it is not one.
pub fn parse_auth(packet: &[u8; AUTH_LEN]) -> Option<(String, String)> {
    let word = |at: usize| {
        u32::from_le_bytes([packet[at], packet[at + 1], packet[at + 2], packet[at + 3]])
    };
    if word(0) != 0x40 || word(4) != 0x3000 {
        return None;
    }
    let text = |at: usize| {
        let field = &packet[at..at + 32];
        let end = field.iter().position(|b| *b == 0).unwrap_or(32);
        String::from_utf8(field[..end].to_vec()).ok()
    };
    Some((text(16)?, text(48)?))
}

/// The header of a frame of `len` bytes.
pub fn frame_header(len: u32) -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    header[0..4].copy_from_slice(&len.to_le_bytes());
    header[8..12].copy_from_slice(&1u32.to_le_bytes());
    header
}

/// Reads one frame: its header, then exactly the announced bytes, which must be a JPEG.
pub async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> Result<Vec<u8>, CameraError> {
    let mut header = [0u8; HEADER_LEN];
    if let Err(err) = reader.read_exact(&mut header).await {
        return Err(match err.kind() {
            std::io::ErrorKind::UnexpectedEof => CameraError::Refused,
            _ => CameraError::Io(err),
        });
    }
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    if len > max.min(MAX_FRAME) {
        return Err(CameraError::TooLarge(len));
    }
    let mut frame = vec![0u8; len];
    reader.read_exact(&mut frame).await?;
    if !(frame.starts_with(&[0xFF, 0xD8]) && frame.ends_with(&[0xFF, 0xD9])) {
        return Err(CameraError::NotJpeg);
    }
    Ok(frame)
}

/// Sends the auth packet and reads the first frame.
pub async fn first_frame<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    access_code: &str,
    max: usize,
) -> Result<Vec<u8>, CameraError> {
    stream
        .write_all(&auth_packet(USERNAME, access_code))
        .await?;
    stream.flush().await?;
    read_frame(stream, max).await
}

/// Connects to a printer's camera over TLS (`tls`: the printer's pinning config, as for
/// MQTT and FTPS), authenticates, and returns one JPEG frame, all within `timeout`.
pub async fn fetch_frame(
    addr: SocketAddr,
    access_code: &str,
    tls: Arc<ClientConfig>,
    timeout: Duration,
    max: usize,
) -> Result<Vec<u8>, CameraError> {
    let fetch = async {
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        // Printers present a certificate for their serial, not their IP; the pinning
        // verifier does not check the name, so the IP serves as SNI.
        let name = ServerName::IpAddress(addr.ip().into());
        let mut stream = tokio_rustls::TlsConnector::from(tls)
            .connect(name, tcp)
            .await?;
        let frame = first_frame(&mut stream, access_code, max).await;
        // One frame is all that is wanted: close without waiting for the printer.
        let _ = stream.shutdown().await;
        frame
    };
    tokio::time::timeout(timeout, fetch)
        .await
        .unwrap_or(Err(CameraError::Timeout(timeout)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_auth_packet_carries_the_user_and_code_nul_padded() {
        let packet = auth_packet("bblp", "12345678");
        assert_eq!(&packet[0..8], &[0x40, 0, 0, 0, 0, 0x30, 0, 0]);
        assert_eq!(&packet[16..20], b"bblp");
        assert_eq!(packet[20], 0);
        assert_eq!(&packet[48..56], b"12345678");
        assert_eq!(
            parse_auth(&packet),
            Some(("bblp".to_owned(), "12345678".to_owned()))
        );
        let mut wrong = packet;
        wrong[4] = 1;
        assert_eq!(parse_auth(&wrong), None);
    }

    #[tokio::test]
    async fn a_frame_is_read_whole_and_must_be_a_jpeg() {
        let jpeg = [0xFF, 0xD8, 1, 2, 3, 0xFF, 0xD9];
        let mut wire = frame_header(jpeg.len() as u32).to_vec();
        wire.extend_from_slice(&jpeg);
        let frame = read_frame(&mut wire.as_slice(), MAX_FRAME).await.unwrap();
        assert_eq!(frame, jpeg);

        let mut not_jpeg = frame_header(3).to_vec();
        not_jpeg.extend_from_slice(b"abc");
        assert!(matches!(
            read_frame(&mut not_jpeg.as_slice(), MAX_FRAME).await,
            Err(CameraError::NotJpeg)
        ));
        let huge = frame_header(10_000_000).to_vec();
        assert!(matches!(
            read_frame(&mut huge.as_slice(), MAX_FRAME).await,
            Err(CameraError::TooLarge(10_000_000))
        ));
        assert!(matches!(
            read_frame(&mut [].as_slice(), MAX_FRAME).await,
            Err(CameraError::Refused)
        ));
    }
}
