//! The P1/A1 camera on its TLS port (6000 on a real printer): after an auth packet with
//! `bblp` and the access code, a JPEG frame at once and then one a second, each behind a
//! 16-byte header. The picture is drawn from the print's state, so it changes with progress.
//! A wrong access code gets the connection closed right after the auth packet, as on
//! the real printer.

use std::sync::Arc;
use std::time::Duration;

use bambu::GcodeState;
use bambu::camera::{AUTH_LEN, USERNAME, frame_header, parse_auth};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::printer::{Printer, PrinterStatus};

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The real camera sends a frame every one or two seconds.
const FRAME_INTERVAL: Duration = Duration::from_secs(1);
/// Frame size: small, the simulator is about the protocol, not the picture.
pub(crate) const WIDTH: u16 = 320;
pub(crate) const HEIGHT: u16 = 180;

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
                    let printer = printer.clone();
                    let acceptor = acceptor.clone();
                    let shutdown = shutdown.clone();
                    tokio::spawn(async move {
                        if let Err(error) = connection(printer.clone(), tcp, acceptor, shutdown).await {
                            tracing::debug!(serial = %printer.info.serial, %error, "camera connection ended");
                        }
                    });
                }
                Err(error) => {
                    tracing::warn!(%error, "camera accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = shutdown.changed() => return,
        }
    }
}

async fn connection(
    printer: Arc<Printer>,
    tcp: TcpStream,
    acceptor: TlsAcceptor,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    tcp.set_nodelay(true)?;
    let mut stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp))
        .await
        .map_err(|_| std::io::Error::other("TLS handshake timed out"))??;
    let mut packet = [0u8; AUTH_LEN];
    tokio::time::timeout(HANDSHAKE_TIMEOUT, stream.read_exact(&mut packet))
        .await
        .map_err(|_| std::io::Error::other("no auth packet"))??;
    let admitted = parse_auth(&packet)
        .is_some_and(|(user, code)| user == USERNAME && code == printer.info.access_code);
    if !admitted {
        // The real camera just closes: no error message on the wire.
        let _ = stream.shutdown().await;
        return Ok(());
    }
    let mut ticks = tokio::time::interval(FRAME_INTERVAL);
    loop {
        tokio::select! {
            _ = ticks.tick() => {
                let jpeg = frame(&printer.camera_status());
                stream.write_all(&frame_header(jpeg.len() as u32)).await?;
                stream.write_all(&jpeg).await?;
                stream.flush().await?;
            }
            _ = shutdown.changed() => return Ok(()),
        }
    }
}

/// The picture of a printer in this state as a JPEG (see [`pixels`]).
pub fn frame(status: &PrinterStatus) -> Vec<u8> {
    let pixels = pixels(status);
    let mut jpeg = Vec::with_capacity(8 * 1024);
    let encoder = jpeg_encoder::Encoder::new(&mut jpeg, 70);
    if let Err(error) = encoder.encode(&pixels, WIDTH, HEIGHT, jpeg_encoder::ColorType::Rgb) {
        // Only a wrong buffer size fails, which the sizes in `pixels` rule out.
        tracing::error!(%error, "camera frame not encoded");
    }
    jpeg
}

/// The picture of a printer in this state, `WIDTH` × `HEIGHT` RGB: a bed, the part growing
/// layer by layer, and a progress bar along the bottom, coloured by state (green printing,
/// amber paused, red failed). The P1 camera sends it as a JPEG, the X1 camera as H.264.
pub(crate) fn pixels(status: &PrinterStatus) -> Vec<u8> {
    let (w, h) = (usize::from(WIDTH), usize::from(HEIGHT));
    let mut pixels = vec![0u8; w * h * 3];
    let percent = usize::from(status.percent.min(100));
    let state_colour = match status.gcode_state {
        GcodeState::Running | GcodeState::Prepare => [40, 180, 80],
        GcodeState::Pause => [230, 170, 30],
        GcodeState::Failed => [210, 50, 50],
        GcodeState::Finish => [60, 120, 220],
        _ => [120, 120, 120],
    };
    // The part's height follows the layers printed (or the percentage, without layers).
    let part_height = if status.total_layers > 0 {
        (status.layer as usize * 100 / status.total_layers as usize).min(100)
    } else {
        percent
    };
    let part_top = 150 - part_height;
    let bar_end = 10 + percent * (w - 20) / 100;
    for y in 0..h {
        for x in 0..w {
            let rgb = if (160..172).contains(&y) && (10..w - 10).contains(&x) {
                if x < bar_end {
                    state_colour
                } else {
                    [50, 50, 50]
                }
            } else if (150..156).contains(&y) && (40..w - 40).contains(&x) {
                [90, 90, 100]
            } else if (part_top..150).contains(&y) && (130..190).contains(&x) {
                [240, 200, 40]
            } else {
                // A dark chamber, lighter toward the top.
                let shade = 30 + (h - y) as u8 / 6;
                [shade, shade, shade + 8]
            };
            let at = (y * w + x) * 3;
            pixels[at..at + 3].copy_from_slice(&rgb);
        }
    }
    pixels
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: GcodeState, percent: u8, layer: u32) -> PrinterStatus {
        PrinterStatus {
            gcode_state: state,
            percent,
            layer,
            total_layers: 100,
            remaining_minutes: 0,
            stage: 0,
            print_error: None,
            hms: Vec::new(),
            subtask_name: String::new(),
        }
    }

    #[test]
    fn a_frame_is_a_jpeg_that_changes_with_progress() {
        let early = frame(&status(GcodeState::Running, 10, 10));
        let late = frame(&status(GcodeState::Running, 60, 60));
        for jpeg in [&early, &late] {
            assert!(jpeg.starts_with(&[0xFF, 0xD8]));
            assert!(jpeg.ends_with(&[0xFF, 0xD9]));
            assert!(jpeg.len() < 64 * 1024, "{} bytes", jpeg.len());
        }
        assert_ne!(early, late);
        assert_eq!(early, frame(&status(GcodeState::Running, 10, 10)));
    }
}
