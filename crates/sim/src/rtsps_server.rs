//! The X1 camera on its RTSPS port (322 on a real printer): RTSP 1.0 inside TLS, every
//! request challenged for `bblp` and the access code (Digest, or Basic), and once a
//! client plays, the same progress picture the P1 camera sends, as H.264 in RTP over the
//! interleaved TCP channel it set up. Two pictures a second, every second one an IDR, so
//! a client joining mid-stream waits at most one picture for something it can decode.
//!
//! It stays light: nothing is encoded until a client describes the stream (one picture,
//! for the SPS and PPS in the SDP) and then only while it plays, at 320×180.

use std::sync::Arc;
use std::time::Duration;

use bambu::rtsps::h264::{self, NAL_PPS, NAL_SPS, RtpPacket};
use bambu::rtsps::message::{self, Incoming, Message, Reader};
use bambu::rtsps::{USERNAME, auth};
use base64::Engine;
use openh264::OpenH264API;
use openh264::encoder::{Encoder, EncoderConfig, FrameRate, QpRange, RateControlMode, UsageType};
use openh264::formats::{RgbSliceU8, YUVBuffer};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_rustls::TlsAcceptor;

use crate::camera_server::{HEIGHT, WIDTH, pixels};
use crate::printer::Printer;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A client that neither plays nor asks anything for this long is let go.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Two pictures a second, like the real camera's low frame rate on LAN liveview.
const FRAME_INTERVAL: Duration = Duration::from_millis(500);
/// Every second picture is an IDR.
const IDR_EVERY: u64 = 2;
/// RTP payloads stay under a typical Ethernet MTU, as a real camera's do.
const MTU: usize = 1400;
const PAYLOAD_TYPE: u8 = 96;
const REALM: &str = "Bambu Lab camera (simulated)";
const PUBLIC: &str = "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER";

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
                            tracing::debug!(serial = %printer.info.serial, %error, "RTSPS connection ended");
                        }
                    });
                }
                Err(error) => {
                    tracing::warn!(%error, "RTSPS accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = shutdown.changed() => return,
        }
    }
}

/// One client's session.
struct Session {
    printer: Arc<Printer>,
    nonce: String,
    id: String,
    ssrc: u32,
    sequence: u16,
    channel: u8,
    encoder: Option<Encoder>,
    set_up: bool,
    playing: bool,
    pictures: u64,
    started: Instant,
}

/// What a request leaves the connection to do.
enum Next {
    Continue,
    Play,
    Close,
}

async fn connection(
    printer: Arc<Printer>,
    tcp: TcpStream,
    acceptor: TlsAcceptor,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    tcp.set_nodelay(true)?;
    let stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp))
        .await
        .map_err(|_| std::io::Error::other("TLS handshake timed out"))??;
    let (read, mut write) = tokio::io::split(stream);
    // Requests are capped one by one; a playing client's RTCP goes on for hours.
    let mut reader = Reader::new(read, usize::MAX);
    let mut session = Session {
        printer,
        nonce: format!("{:016x}", rand::random::<u64>()),
        id: format!("{:08X}", rand::random::<u32>()),
        ssrc: rand::random(),
        sequence: rand::random(),
        channel: 0,
        encoder: None,
        set_up: false,
        playing: false,
        pictures: 0,
        started: Instant::now(),
    };
    let mut ticks = tokio::time::interval(FRAME_INTERVAL);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut idle = Instant::now() + IDLE_TIMEOUT;
    loop {
        tokio::select! {
            incoming = reader.next() => match incoming.map_err(std::io::Error::other)? {
                Some(Incoming::Message(request)) => {
                    idle = Instant::now() + IDLE_TIMEOUT;
                    let (reply, next) = session.answer(&request);
                    write.write_all(&reply).await?;
                    write.flush().await?;
                    match next {
                        Next::Continue => {}
                        Next::Play => {
                            session.playing = true;
                            ticks.reset_immediately();
                        }
                        Next::Close => {
                            let _ = write.shutdown().await;
                            return Ok(());
                        }
                    }
                }
                // The client's RTCP receiver reports: nothing to act on.
                Some(Incoming::Interleaved { .. }) => {}
                None => return Ok(()),
            },
            _ = ticks.tick(), if session.playing => session.send_picture(&mut write).await?,
            _ = tokio::time::sleep_until(idle), if !session.playing => return Ok(()),
            _ = shutdown.changed() => return Ok(()),
        }
    }
}

impl Session {
    /// The reply to one request, and what the connection does next.
    fn answer(&mut self, request: &Message) -> (Vec<u8>, Next) {
        let cseq = request.header("CSeq").unwrap_or("0").to_owned();
        let Some((method, uri)) = request.request() else {
            return (
                message::response(400, "Bad Request", &cseq, &[], b""),
                Next::Close,
            );
        };
        let admitted = request.header("Authorization").is_some_and(|answer| {
            auth::verify(
                answer,
                method,
                USERNAME,
                &self.printer.info.access_code,
                REALM,
                &self.nonce,
            )
        });
        if !admitted {
            let digest = format!("Digest realm=\"{REALM}\", nonce=\"{}\"", self.nonce);
            let basic = format!("Basic realm=\"{REALM}\"");
            let challenges = [
                ("WWW-Authenticate", digest.as_str()),
                ("WWW-Authenticate", basic.as_str()),
            ];
            let reply = message::response(401, "Unauthorized", &cseq, &challenges, b"");
            return (reply, Next::Continue);
        }
        let ok = |headers: &[(&str, &str)], body: &[u8]| {
            message::response(200, "OK", &cseq, headers, body)
        };
        let session_matches = request
            .header("Session")
            .is_some_and(|s| s.split(';').next().map(str::trim) == Some(self.id.as_str()));
        match method {
            "OPTIONS" => (ok(&[("Public", PUBLIC)], b""), Next::Continue),
            "DESCRIBE" => match self.describe() {
                Ok(sdp) => {
                    let base = format!("{}/", uri.trim_end_matches('/'));
                    let headers = [
                        ("Content-Type", "application/sdp"),
                        ("Content-Base", base.as_str()),
                    ];
                    (ok(&headers, sdp.as_bytes()), Next::Continue)
                }
                Err(error) => {
                    tracing::warn!(serial = %self.printer.info.serial, %error, "H.264 encoder failed");
                    let reply = message::response(500, "Internal Server Error", &cseq, &[], b"");
                    (reply, Next::Close)
                }
            },
            "SETUP" => {
                let transport = request.header("Transport").unwrap_or_default();
                let channel = transport
                    .split(';')
                    .find_map(|p| p.trim().strip_prefix("interleaved="))
                    .and_then(|c| c.split('-').next())
                    .and_then(|c| c.trim().parse::<u8>().ok());
                let Some(channel) = channel
                    .filter(|_| transport.starts_with("RTP/AVP/TCP") && self.encoder.is_some())
                else {
                    // UDP is not served: the hub always asks for the interleaved channel.
                    let reply = message::response(461, "Unsupported Transport", &cseq, &[], b"");
                    return (reply, Next::Continue);
                };
                self.channel = channel;
                self.set_up = true;
                let transport = format!(
                    "RTP/AVP/TCP;unicast;interleaved={channel}-{};ssrc={:08X}",
                    channel.saturating_add(1),
                    self.ssrc
                );
                let session = format!("{};timeout=60", self.id);
                let headers = [
                    ("Transport", transport.as_str()),
                    ("Session", session.as_str()),
                ];
                (ok(&headers, b""), Next::Continue)
            }
            "PLAY" if !self.set_up => (
                message::response(455, "Method Not Valid in This State", &cseq, &[], b""),
                Next::Continue,
            ),
            "PLAY" | "TEARDOWN" | "GET_PARAMETER" if !session_matches => (
                message::response(454, "Session Not Found", &cseq, &[], b""),
                Next::Continue,
            ),
            "PLAY" => {
                let info = format!(
                    "url={uri};seq={};rtptime={}",
                    self.sequence,
                    self.timestamp()
                );
                let headers = [
                    ("Session", self.id.as_str()),
                    ("Range", "npt=0.000-"),
                    ("RTP-Info", info.as_str()),
                ];
                (ok(&headers, b""), Next::Play)
            }
            "TEARDOWN" => (ok(&[("Session", self.id.as_str())], b""), Next::Close),
            "GET_PARAMETER" => (ok(&[("Session", self.id.as_str())], b""), Next::Continue),
            _ => (
                message::response(501, "Not Implemented", &cseq, &[("Public", PUBLIC)], b""),
                Next::Continue,
            ),
        }
    }

    /// The SDP: one H.264 track, with the SPS and PPS of an encoder made for this client.
    fn describe(&mut self) -> Result<String, openh264::Error> {
        let config = EncoderConfig::new()
            .usage_type(UsageType::CameraVideoRealTime)
            .max_frame_rate(FrameRate::from_hz(2.0))
            // A fixed quality and never a skipped picture (a client waits for one): the
            // rate controllers would warn on stderr that they need skipping to work.
            .rate_control_mode(RateControlMode::Off)
            .qp(QpRange::new(24, 32))
            .skip_frames(false);
        let mut encoder = Encoder::with_api_config(OpenH264API::from_source(), config)?;
        let stream = encoder.encode(&self.yuv())?.to_vec();
        self.encoder = Some(encoder);
        let nals = h264::split_annex_b(&stream);
        let of_type = |kind: u8| {
            nals.iter()
                .find(|n| n.first().is_some_and(|h| h & 0x1F == kind))
        };
        let b64 = |nal: &[u8]| base64::engine::general_purpose::STANDARD.encode(nal);
        let (sps, pps) = (of_type(NAL_SPS), of_type(NAL_PPS));
        let mut fmtp = "packetization-mode=1".to_owned();
        if let (Some(sps), Some(pps)) = (sps, pps) {
            if let Some(profile) = sps.get(1..4) {
                fmtp.push_str(&format!(";profile-level-id={}", hex(profile)));
            }
            fmtp.push_str(&format!(";sprop-parameter-sets={},{}", b64(sps), b64(pps)));
        }
        let ip = self.printer.info.ip;
        Ok(format!(
            "v=0\r\n\
             o=- {id} 1 IN IP4 {ip}\r\n\
             s={REALM}\r\n\
             t=0 0\r\n\
             a=control:*\r\n\
             a=range:npt=0-\r\n\
             m=video 0 RTP/AVP {PAYLOAD_TYPE}\r\n\
             c=IN IP4 0.0.0.0\r\n\
             a=rtpmap:{PAYLOAD_TYPE} H264/90000\r\n\
             a=fmtp:{PAYLOAD_TYPE} {fmtp}\r\n\
             a=framerate:2\r\n\
             a=control:track1\r\n",
            id = self.ssrc,
        ))
    }

    /// The printer's picture now, in the encoder's colour format.
    fn yuv(&self) -> YUVBuffer {
        let rgb = pixels(&self.printer.camera_status());
        let size = (usize::from(WIDTH), usize::from(HEIGHT));
        YUVBuffer::from_rgb8_source(RgbSliceU8::new(&rgb, size))
    }

    /// The 90 kHz media clock.
    fn timestamp(&self) -> u32 {
        (self.started.elapsed().as_micros() * 9 / 100) as u32
    }

    /// Encodes the picture now and sends it as RTP packets, the marker on the last.
    async fn send_picture<W: AsyncWrite + Unpin>(&mut self, out: &mut W) -> std::io::Result<()> {
        let yuv = self.yuv();
        let timestamp = self.timestamp();
        let Some(encoder) = self.encoder.as_mut() else {
            return Ok(());
        };
        if self.pictures.is_multiple_of(IDR_EVERY) {
            encoder.force_intra_frame();
        }
        self.pictures += 1;
        let stream = encoder
            .encode(&yuv)
            .map_err(|error| std::io::Error::other(error.to_string()))?
            .to_vec();
        let payloads = h264::packetize(&h264::split_annex_b(&stream), MTU);
        let mut wire = Vec::with_capacity(stream.len() + payloads.len() * 16);
        for (i, payload) in payloads.iter().enumerate() {
            let packet = h264::rtp_packet(&RtpPacket {
                marker: i + 1 == payloads.len(),
                payload_type: PAYLOAD_TYPE,
                sequence: self.sequence,
                timestamp,
                ssrc: self.ssrc,
                payload,
            });
            self.sequence = self.sequence.wrapping_add(1);
            wire.extend(message::interleaved(self.channel, &packet));
        }
        out.write_all(&wire).await?;
        out.flush().await
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
