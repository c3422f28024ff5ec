//! The X1 camera: H.264 over RTSPS on port 322 (protocol reference §6.1), read one
//! picture at a time so the hub can answer a snapshot with a JPEG like the P1/A1 camera's.
//!
//! `rtsps://bblp:<access code>@<ip>:322/streaming/live/1` is RTSP 1.0 inside TLS (the
//! printer's self-signed certificate, pinned like MQTT and FTPS). The client asks
//! OPTIONS, DESCRIBE (SDP: the H.264 track), SETUP with RTP interleaved on the same TCP
//! connection (no UDP ports to open through a hub's firewall), PLAY, then reads RTP until
//! a whole access unit with an IDR slice arrives, says TEARDOWN, and decodes that one
//! picture. A 401 is answered once with the access code (Digest or Basic, as the camera
//! asks); a second 401 means the code is wrong. No crate runs RTSP over a caller's TLS
//! stream (`retina` dials plain TCP itself), so the few requests are written here;
//! OpenH264 decodes.
//!
//! Everything has a bound: one timeout over the whole fetch, and a cap on the bytes read
//! (headers, body, access unit, and the connection in all).

pub mod auth;
pub mod h264;
pub mod message;
pub mod sdp;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use self::auth::Challenge;
use self::h264::{AccessUnit, Depacketizer};
use self::message::{Incoming, Message, Reader};

/// The X1 camera's RTSPS port.
pub const PORT: u16 = 322;
/// The camera's user name.
pub const USERNAME: &str = "bblp";
/// The live stream's path.
pub const PATH: &str = "/streaming/live/1";
/// The interleaved channels asked for: RTP on 0, RTCP on 1.
pub const TRANSPORT: &str = "RTP/AVP/TCP;unicast;interleaved=0-1";
/// A connection may read this many times the frame cap in all: the wait for an IDR
/// passes over the P pictures before it.
pub const READ_FACTOR: usize = 4;
/// The quality of the JPEG made from the picture.
pub const JPEG_QUALITY: u8 = 80;
const USER_AGENT: &str = "PrintFarm hub";

/// Why no picture came.
#[derive(Debug, thiserror::Error)]
pub enum RtspsError {
    /// TCP or TLS failed.
    #[error("cannot reach the printer's camera: {0}")]
    Io(#[from] std::io::Error),
    /// The camera refused the access code (or asked for an unknown authentication).
    #[error("the printer's camera refused the access code")]
    Refused,
    /// Nothing came in time.
    #[error("the printer's camera sent no picture within {0:?}")]
    Timeout(Duration),
    /// More bytes came than allowed.
    #[error("the printer's camera sent too much ({0} bytes)")]
    TooLarge(usize),
    /// A request was answered with an error status.
    #[error("the printer's camera answered {method} with status {code}")]
    Status {
        /// The request.
        method: &'static str,
        /// The status code.
        code: u16,
    },
    /// The camera broke the protocol.
    #[error("the printer's camera broke the RTSP protocol: {0}")]
    Protocol(String),
    /// The description has no H.264 video.
    #[error("the printer's camera offers no H.264 video")]
    NoVideo,
    /// The picture could not be decoded or re-encoded.
    #[error("the printer's camera picture could not be decoded: {0}")]
    Decode(String),
}

/// Connects to an X1 camera over TLS (`tls`: the printer's pinning config), and returns
/// one picture as a JPEG, all within `timeout`, reading at most [`READ_FACTOR`] × `max`
/// bytes and refusing a picture (H.264 or JPEG) over `max`.
pub async fn fetch_frame(
    addr: SocketAddr,
    access_code: &str,
    tls: Arc<ClientConfig>,
    timeout: Duration,
    max: usize,
) -> Result<Vec<u8>, RtspsError> {
    let fetch = async {
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        // As for the P1 camera: the pinning verifier ignores the name, the IP is the SNI.
        let name = ServerName::IpAddress(addr.ip().into());
        let stream = tokio_rustls::TlsConnector::from(tls)
            .connect(name, tcp)
            .await?;
        let url = format!("rtsps://{addr}{PATH}");
        let (parameter_sets, unit) = first_picture(stream, &url, access_code, max).await?;
        // Decoding a 1080p picture takes tens of milliseconds: off the async workers.
        let jpeg = tokio::task::spawn_blocking(move || {
            h264::to_jpeg(&parameter_sets, &unit, JPEG_QUALITY)
        })
        .await
        .map_err(|error| RtspsError::Decode(error.to_string()))??;
        if jpeg.len() > max {
            return Err(RtspsError::TooLarge(jpeg.len()));
        }
        Ok(jpeg)
    };
    tokio::time::timeout(timeout, fetch)
        .await
        .unwrap_or(Err(RtspsError::Timeout(timeout)))
}

/// Runs the session on `stream` up to the first whole IDR access unit and tears it
/// down; answers the SDP's parameter sets and that access unit.
pub async fn first_picture<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    url: &str,
    access_code: &str,
    max: usize,
) -> Result<(Vec<Vec<u8>>, AccessUnit), RtspsError> {
    let mut client = Client {
        reader: Reader::new(stream, max.saturating_mul(READ_FACTOR)),
        cseq: 0,
        password: access_code,
        challenge: None,
        answered: 0,
        session: None,
    };
    client.request("OPTIONS", url, &[]).await?;
    let described = client
        .request("DESCRIBE", url, &[("Accept", "application/sdp")])
        .await?;
    let sdp = std::str::from_utf8(&described.body)
        .map_err(|_| RtspsError::Protocol("the description is not UTF-8".to_owned()))?;
    let track = sdp::h264_track(sdp).ok_or(RtspsError::NoVideo)?;
    let base = described
        .header("Content-Base")
        .or(described.header("Content-Location"))
        .unwrap_or(url)
        .to_owned();
    let control = sdp::control_url(&base, &track.control);
    let set_up = client
        .request("SETUP", &control, &[("Transport", TRANSPORT)])
        .await?;
    let session = set_up
        .header("Session")
        .and_then(|s| s.split(';').next())
        .map(|s| s.trim().to_owned())
        .ok_or_else(|| RtspsError::Protocol("SETUP gave no session".to_owned()))?;
    let channel = set_up
        .header("Transport")
        .and_then(interleaved_channel)
        .unwrap_or(0);
    client.session = Some(session);
    client
        .request("PLAY", &base, &[("Range", "npt=0.000-")])
        .await?;
    let mut depacketizer = Depacketizer::new(max);
    let unit = loop {
        match client.reader.next().await? {
            Some(Incoming::Interleaved {
                channel: on,
                payload,
            }) if on == channel => {
                let Some(packet) = h264::parse_rtp(&payload) else {
                    continue;
                };
                if packet.payload_type != track.payload_type {
                    continue;
                }
                if let Some(unit) = depacketizer.push(&packet)?
                    && unit.is_idr()
                {
                    break unit;
                }
            }
            // RTCP, or an answer to nothing asked: not the picture.
            Some(_) => {}
            None => {
                return Err(RtspsError::Protocol(
                    "the camera closed the stream before a picture".to_owned(),
                ));
            }
        }
    };
    // Done with the stream: say so, without waiting for the answer.
    client.send("TEARDOWN", &base, &[]).await?;
    let _ = client.reader.get_mut().shutdown().await;
    Ok((track.parameter_sets, unit))
}

/// The RTP channel of a SETUP answer's `Transport` (`…;interleaved=0-1`).
fn interleaved_channel(transport: &str) -> Option<u8> {
    transport
        .split(';')
        .find_map(|part| part.trim().strip_prefix("interleaved="))
        .and_then(|channels| channels.split('-').next())
        .and_then(|first| first.trim().parse().ok())
}

struct Client<'a, S> {
    reader: Reader<S>,
    cseq: u32,
    password: &'a str,
    challenge: Option<Challenge>,
    /// Requests that answered the challenge (Digest's nonce count).
    answered: u32,
    session: Option<String>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<'_, S> {
    /// Sends a request (answering the camera's challenge once, if it asks) and returns
    /// its successful answer.
    async fn request(
        &mut self,
        method: &'static str,
        uri: &str,
        headers: &[(&str, &str)],
    ) -> Result<Message, RtspsError> {
        loop {
            let cseq = self.send(method, uri, headers).await?;
            let answer = self.answer(cseq).await?;
            match answer.status() {
                Some(200..=299) => return Ok(answer),
                Some(401) if self.challenge.is_none() => {
                    let challenge = auth::choose(answer.headers_named("WWW-Authenticate"))
                        .ok_or(RtspsError::Refused)?;
                    self.challenge = Some(challenge);
                }
                Some(401) => return Err(RtspsError::Refused),
                Some(code) => return Err(RtspsError::Status { method, code }),
                None => {
                    return Err(RtspsError::Protocol(format!(
                        "a malformed status line: {}",
                        answer.start
                    )));
                }
            }
        }
    }

    /// Writes a request with the session and credentials; answers its `CSeq`.
    async fn send(
        &mut self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
    ) -> Result<u32, RtspsError> {
        self.cseq += 1;
        let mut all: Vec<(&str, &str)> = vec![("User-Agent", USER_AGENT)];
        let authorization = self.challenge.as_ref().map(|challenge| {
            self.answered += 1;
            auth::authorization(
                challenge,
                USERNAME,
                self.password,
                method,
                uri,
                self.answered,
                &cnonce(self.cseq),
            )
        });
        if let Some(authorization) = &authorization {
            all.push(("Authorization", authorization));
        }
        if let Some(session) = &self.session {
            all.push(("Session", session));
        }
        all.extend_from_slice(headers);
        let stream = self.reader.get_mut();
        stream
            .write_all(&message::request(method, uri, self.cseq, &all))
            .await?;
        stream.flush().await?;
        Ok(self.cseq)
    }

    /// The response with this `CSeq`, passing over packets and stray messages.
    async fn answer(&mut self, cseq: u32) -> Result<Message, RtspsError> {
        let cseq = cseq.to_string();
        loop {
            match self.reader.next().await? {
                Some(Incoming::Message(message))
                    if message.status().is_some() && message.header("CSeq") == Some(&cseq) =>
                {
                    return Ok(message);
                }
                Some(_) => {}
                None => {
                    // The real camera closes at once when LAN liveview is off.
                    return Err(RtspsError::Protocol(
                        "the camera closed the connection without answering".to_owned(),
                    ));
                }
            }
        }
    }
}

/// A client nonce for Digest's `qop=auth`: unpredictable enough for a LAN camera, whose
/// own nonce is what guards against replay.
fn cnonce(cseq: u32) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    auth::digest_response(
        "cnonce",
        "",
        &nanos.to_string(),
        "",
        "",
        &cseq.to_string(),
        None,
    )[..16]
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rtp_channel_is_read_from_the_transport_answer() {
        assert_eq!(
            interleaved_channel("RTP/AVP/TCP;unicast;interleaved=2-3;ssrc=1"),
            Some(2)
        );
        assert_eq!(
            interleaved_channel("RTP/AVP;unicast;client_port=5000-5001"),
            None
        );
    }

    /// A camera that wants Digest for `12345678` and has no stream (DESCRIBE: 404).
    async fn fake_camera(stream: tokio::io::DuplexStream) {
        let mut reader = Reader::new(stream, 1 << 20);
        while let Ok(Some(Incoming::Message(request))) = reader.next().await {
            let (method, _) = request.request().expect("a request");
            let cseq = request.header("CSeq").expect("a CSeq").to_owned();
            let admitted = request.header("Authorization").is_some_and(|answer| {
                auth::verify(answer, method, USERNAME, "12345678", "cam", "n0nce")
            });
            let reply = match (admitted, method) {
                (false, _) => message::response(
                    401,
                    "Unauthorized",
                    &cseq,
                    &[("WWW-Authenticate", "Digest realm=\"cam\", nonce=\"n0nce\"")],
                    b"",
                ),
                (true, "OPTIONS") => message::response(200, "OK", &cseq, &[], b""),
                (true, _) => message::response(404, "Not Found", &cseq, &[], b""),
            };
            if reader.get_mut().write_all(&reply).await.is_err() {
                return;
            }
        }
    }

    async fn against_fake_camera(access_code: &str) -> RtspsError {
        let (client, server) = tokio::io::duplex(64 * 1024);
        tokio::spawn(fake_camera(server));
        let url = "rtsps://127.0.0.1:322/streaming/live/1";
        match first_picture(client, url, access_code, 1 << 20).await {
            Ok(_) => panic!("the fake camera has no picture"),
            Err(error) => error,
        }
    }

    #[tokio::test]
    async fn a_wrong_access_code_is_refused_and_the_right_one_gets_past_the_challenge() {
        assert!(matches!(
            against_fake_camera("00000000").await,
            RtspsError::Refused
        ));
        assert!(matches!(
            against_fake_camera("12345678").await,
            RtspsError::Status {
                method: "DESCRIBE",
                code: 404
            }
        ));
    }
}
