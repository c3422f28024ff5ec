//! A minimal MQTT 3.1.1 server for one printer: CONNECT with `bblp` + access
//! code, SUBSCRIBE to the report topic, PUBLISH requests (QoS 0/1), PING,
//! DISCONNECT. One task per connection; packets use rumqttc's v4 codec.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bambu::mqtt::{MAX_PACKET_BYTES, USERNAME};
use bytes::{Bytes, BytesMut};
use rumqttc::mqttbytes::v4::{
    ConnAck, ConnectReturnCode, Packet, PubAck, SubAck, SubscribeReasonCode, UnsubAck,
};
use rumqttc::mqttbytes::{Error as CodecError, QoS};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, watch};
use tokio_rustls::TlsAcceptor;

use crate::printer::Printer;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

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
                            tracing::debug!(serial = %printer.info.serial, %error, "MQTT connection ended");
                        }
                    });
                }
                Err(error) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "MQTT accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = shutdown.changed() => return,
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum ConnError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("MQTT packet: {0:?}")]
    Codec(CodecError),
    #[error("timed out")]
    Timeout,
    #[error("protocol violation: {0}")]
    Protocol(&'static str),
}

/// Counts the connection while it lives.
struct Counted(Arc<Printer>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.mqtt_connections.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn connection(
    printer: Arc<Printer>,
    tcp: TcpStream,
    acceptor: TlsAcceptor,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ConnError> {
    let _ = tcp.set_nodelay(true);
    let mut stream = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp))
        .await
        .map_err(|_| ConnError::Timeout)??;
    let mut input = BytesMut::with_capacity(1024);
    let first = tokio::time::timeout(HANDSHAKE_TIMEOUT, read_packet(&mut stream, &mut input))
        .await
        .map_err(|_| ConnError::Timeout)??;
    let Some(Packet::Connect(connect)) = first else {
        return Err(ConnError::Protocol("first packet is not CONNECT"));
    };
    let authorised = connect
        .login
        .as_ref()
        .is_some_and(|l| l.username == USERNAME && l.password == printer.info.access_code);
    let open = printer.mqtt_connections.load(Ordering::Relaxed);
    let code = if !authorised {
        // What printers answer for a wrong access code.
        ConnectReturnCode::NotAuthorized
    } else if printer.max_mqtt_clients.is_some_and(|max| open >= max) {
        // P1/A1 brokers take only a handful of clients.
        ConnectReturnCode::ServiceUnavailable
    } else {
        ConnectReturnCode::Success
    };
    write_packet(&mut stream, Packet::ConnAck(ConnAck::new(code, false))).await?;
    if code != ConnectReturnCode::Success {
        let _ = stream.shutdown().await;
        return Ok(());
    }
    printer.mqtt_connections.fetch_add(1, Ordering::Relaxed);
    let _counted = Counted(printer.clone());
    tracing::debug!(serial = %printer.info.serial, client = %connect.client_id, "MQTT client connected");

    let mut kicked = printer.kicked();
    kicked.mark_unchanged();
    let mut reports: Option<broadcast::Receiver<Bytes>> = None;
    // MQTT 3.1.1 §3.1.2.10: close after 1.5 keep-alive periods of silence.
    let keep_alive = (connect.keep_alive > 0)
        .then(|| Duration::from_millis(u64::from(connect.keep_alive) * 1500));
    let mut deadline = keep_alive.map(|k| tokio::time::Instant::now() + k);
    let mut buf = BytesMut::with_capacity(1024);
    loop {
        // Packets already buffered (several may arrive in one read).
        while let Some(packet) = parse(&mut input)? {
            if let Some(k) = keep_alive {
                deadline = Some(tokio::time::Instant::now() + k);
            }
            match packet {
                Packet::Publish(publish) => {
                    if publish.qos != QoS::AtMostOnce {
                        write_packet(&mut stream, Packet::PubAck(PubAck::new(publish.pkid)))
                            .await?;
                    }
                    if publish.topic == printer.request_topic() {
                        printer.handle_request(&publish.payload).await;
                    }
                }
                Packet::Subscribe(subscribe) => {
                    let mut codes = Vec::with_capacity(subscribe.filters.len());
                    for filter in &subscribe.filters {
                        if topic_matches(&filter.path, printer.report_topic()) && reports.is_none()
                        {
                            reports = Some(printer.subscribe_reports());
                        }
                        // Reports are sent at QoS 0 whatever was asked.
                        codes.push(SubscribeReasonCode::Success(QoS::AtMostOnce));
                    }
                    write_packet(
                        &mut stream,
                        Packet::SubAck(SubAck::new(subscribe.pkid, codes)),
                    )
                    .await?;
                }
                Packet::Unsubscribe(unsubscribe) => {
                    if unsubscribe
                        .topics
                        .iter()
                        .any(|t| topic_matches(t, printer.report_topic()))
                    {
                        reports = None;
                    }
                    write_packet(
                        &mut stream,
                        Packet::UnsubAck(UnsubAck::new(unsubscribe.pkid)),
                    )
                    .await?;
                }
                Packet::PingReq => write_packet(&mut stream, Packet::PingResp).await?,
                Packet::Disconnect => return Ok(()),
                Packet::Connect(_) => return Err(ConnError::Protocol("second CONNECT")),
                // Acks for QoS 0 traffic never come; ignore anything else.
                _ => {}
            }
        }
        tokio::select! {
            read = stream.read_buf(&mut input) => {
                if read? == 0 {
                    return Ok(());
                }
            }
            report = next_report(&mut reports) => match report {
                Ok(payload) => {
                    let publish = rumqttc::mqttbytes::v4::Publish::from_bytes(
                        printer.report_topic(), QoS::AtMostOnce, payload);
                    buf.clear();
                    Packet::Publish(publish).write(&mut buf, MAX_PACKET_BYTES).map_err(ConnError::Codec)?;
                    stream.write_all(&buf).await?;
                    stream.flush().await?;
                }
                // A slow client misses reports, like on a real printer; the next delta follows.
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            },
            _ = kicked.changed() => {
                tracing::debug!(serial = %printer.info.serial, "dropping MQTT connection (fault)");
                return Ok(());
            }
            _ = until(deadline) => return Err(ConnError::Timeout),
            _ = shutdown.changed() => return Ok(()),
        }
    }
}

async fn next_report(
    reports: &mut Option<broadcast::Receiver<Bytes>>,
) -> Result<Bytes, broadcast::error::RecvError> {
    match reports {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

async fn until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

fn parse(input: &mut BytesMut) -> Result<Option<Packet>, ConnError> {
    match Packet::read(input, MAX_PACKET_BYTES) {
        Ok(packet) => Ok(Some(packet)),
        Err(CodecError::InsufficientBytes(_)) => Ok(None),
        Err(error) => Err(ConnError::Codec(error)),
    }
}

async fn read_packet<S: AsyncRead + Unpin>(
    stream: &mut S,
    input: &mut BytesMut,
) -> Result<Option<Packet>, ConnError> {
    loop {
        if let Some(packet) = parse(input)? {
            return Ok(Some(packet));
        }
        if stream.read_buf(input).await? == 0 {
            return Ok(None);
        }
    }
}

async fn write_packet<S: AsyncWrite + Unpin>(
    stream: &mut S,
    packet: Packet,
) -> Result<(), ConnError> {
    let mut out = BytesMut::with_capacity(64);
    packet
        .write(&mut out, MAX_PACKET_BYTES)
        .map_err(ConnError::Codec)?;
    stream.write_all(&out).await?;
    stream.flush().await?;
    Ok(())
}

/// MQTT topic filter matching (`+` one level, `#` the rest).
fn topic_matches(filter: &str, topic: &str) -> bool {
    let mut levels = topic.split('/');
    for part in filter.split('/') {
        match part {
            "#" => return true,
            "+" => {
                if levels.next().is_none() {
                    return false;
                }
            }
            exact => {
                if levels.next() != Some(exact) {
                    return false;
                }
            }
        }
    }
    levels.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::topic_matches;

    #[test]
    fn filters_match_like_mqtt() {
        let topic = "device/01P00A000000001/report";
        assert!(topic_matches(topic, topic));
        assert!(topic_matches("#", topic));
        assert!(topic_matches("device/+/report", topic));
        assert!(topic_matches("device/#", topic));
        assert!(!topic_matches("device/+/request", topic));
        assert!(!topic_matches("device/01P00A000000001", topic));
        assert!(!topic_matches("device/01P00A000000001/report/x", topic));
    }
}
