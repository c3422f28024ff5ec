//! Printer discovery: the SSDP-style `NOTIFY` datagrams printers send to
//! 255.255.255.255:2021 and 239.255.255.250:1990 (protocol reference §5.1).
//!
//! Printers do not answer M-SEARCH (older firmware), so a listener just
//! waits for announcements. Addresses are parameters: tests use loopback.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

pub use crate::model::Model;

/// The `NT`/`ST` value of Bambu printers.
pub const DEVICE_TYPE: &str = "urn:bambulab-com:device:3dprinter:1";
/// Where Bambu Studio listens for the broadcast announcement.
pub const BROADCAST_TARGET: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::BROADCAST), 2021);
/// The multicast group and port of the second announcement.
pub const MULTICAST_TARGET: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(239, 255, 255, 250)), 1990);

/// Header carrying the simulator's MQTT port (real printers use 8883 and omit it).
pub const SIM_MQTT_PORT_HEADER: &str = "X-Sim-Mqtt-Port";
/// Header carrying the simulator's FTPS port (real printers use 990 and omit it).
pub const SIM_FTPS_PORT_HEADER: &str = "X-Sim-Ftps-Port";

/// One printer's announcement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// Serial number (`USN`).
    pub serial: String,
    /// Printer IP (`Location`); `None` if absent or not an IP (use the datagram's source).
    pub ip: Option<IpAddr>,
    /// Model code (`DevModel.bambu.com`), as sent.
    pub model_code: String,
    /// User-set name (`DevName.bambu.com`).
    pub name: String,
    /// Firmware version (`DevVersion.bambu.com`).
    pub firmware: Option<String>,
    /// Wi-Fi RSSI in dBm (`DevSignal.bambu.com`).
    pub signal_dbm: Option<i32>,
    /// `DevConnect.bambu.com`: `lan` for LAN-only, else cloud.
    pub connect_mode: Option<String>,
    /// `DevBind.bambu.com`: `free` when not bound to a cloud account.
    pub bind_state: Option<String>,
    /// MQTT port when not 8883 (simulated printers only).
    pub mqtt_port: Option<u16>,
    /// FTPS port when not 990 (simulated printers only).
    pub ftps_port: Option<u16>,
}

impl Announcement {
    /// The printer model, if the code is known (legacy X1 names included).
    pub fn model(&self) -> Option<Model> {
        Model::from_code(&self.model_code)
    }

    /// Whether the printer says it is in LAN-only mode.
    pub fn is_lan_only(&self) -> bool {
        self.connect_mode
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("lan"))
    }

    /// Parses a `NOTIFY` (or M-SEARCH `200 OK`) datagram. Headers are matched
    /// case-insensitively; datagrams from other devices are refused.
    pub fn parse(text: &str) -> Result<Announcement, DiscoveryError> {
        let mut lines = text.lines();
        let start = lines.next().unwrap_or_default().trim();
        if !(start.starts_with("NOTIFY") || start.starts_with("HTTP/1.1 200")) {
            return Err(DiscoveryError::NotAnAnnouncement);
        }
        let headers: BTreeMap<String, String> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(key, value)| (key.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        let header = |key: &str| headers.get(&key.to_ascii_lowercase()).cloned();
        let device_type = header("NT").or_else(|| header("ST"));
        if device_type.as_deref() != Some(DEVICE_TYPE) {
            return Err(DiscoveryError::NotABambuPrinter);
        }
        let serial = header("USN")
            .filter(|s| !s.is_empty())
            .ok_or(DiscoveryError::MissingSerial)?;
        Ok(Announcement {
            serial,
            ip: header("Location").and_then(|l| l.parse().ok()),
            model_code: header("DevModel.bambu.com").unwrap_or_default(),
            name: header("DevName.bambu.com").unwrap_or_default(),
            firmware: header("DevVersion.bambu.com"),
            signal_dbm: header("DevSignal.bambu.com").and_then(|s| s.parse().ok()),
            connect_mode: header("DevConnect.bambu.com"),
            bind_state: header("DevBind.bambu.com"),
            mqtt_port: header(SIM_MQTT_PORT_HEADER).and_then(|p| p.parse().ok()),
            ftps_port: header(SIM_FTPS_PORT_HEADER).and_then(|p| p.parse().ok()),
        })
    }

    /// The `NOTIFY` datagram text, as printers send it.
    pub fn format(&self) -> String {
        let mut text = String::from("NOTIFY * HTTP/1.1\r\n");
        // `HOST` always names the SSDP group, whatever the real target.
        let mut line = |key: &str, value: &str| {
            let _ = write!(text, "{key}: {value}\r\n");
        };
        line("HOST", "239.255.255.250:1900");
        line("Server", "UPnP/1.0");
        line(
            "Location",
            &self.ip.map(|ip| ip.to_string()).unwrap_or_default(),
        );
        line("NT", DEVICE_TYPE);
        line("USN", &self.serial);
        line("Cache-Control", "max-age=1800");
        line("DevModel.bambu.com", &self.model_code);
        line("DevName.bambu.com", &self.name);
        if let Some(signal) = self.signal_dbm {
            line("DevSignal.bambu.com", &signal.to_string());
        }
        if let Some(mode) = &self.connect_mode {
            line("DevConnect.bambu.com", mode);
        }
        if let Some(bind) = &self.bind_state {
            line("DevBind.bambu.com", bind);
        }
        line("Devseclink.bambu.com", "secure");
        if let Some(firmware) = &self.firmware {
            line("DevVersion.bambu.com", firmware);
        }
        line("DevCap.bambu.com", "1");
        if let Some(port) = self.mqtt_port {
            line(SIM_MQTT_PORT_HEADER, &port.to_string());
        }
        if let Some(port) = self.ftps_port {
            line(SIM_FTPS_PORT_HEADER, &port.to_string());
        }
        text.push_str("\r\n");
        text
    }
}

/// A datagram that is not a printer announcement.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DiscoveryError {
    /// Not a `NOTIFY` or `200 OK`.
    #[error("not an SSDP announcement")]
    NotAnAnnouncement,
    /// Another kind of device.
    #[error("not a Bambu printer announcement")]
    NotABambuPrinter,
    /// No `USN`.
    #[error("announcement without a serial (USN)")]
    MissingSerial,
}

/// Receives printer announcements on one UDP address.
#[derive(Debug)]
pub struct Listener {
    socket: UdpSocket,
}

impl Listener {
    /// Binds `addr` with address reuse (Bambu Studio may listen on the same
    /// port) and broadcast reception enabled. Must run inside a tokio runtime.
    pub fn bind(addr: SocketAddr) -> io::Result<Listener> {
        let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        socket.set_reuse_address(true)?;
        socket.set_broadcast(true)?;
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        Ok(Listener {
            socket: UdpSocket::from_std(socket.into())?,
        })
    }

    /// Also receives the multicast announcements on `interface` (0.0.0.0 for the default).
    pub fn join_multicast(&self, interface: Ipv4Addr) -> io::Result<()> {
        let IpAddr::V4(group) = MULTICAST_TARGET.ip() else {
            return Ok(());
        };
        self.socket.join_multicast_v4(group, interface)
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Waits for the next printer announcement, skipping other datagrams. A
    /// missing `Location` is filled in from the datagram's source address.
    pub async fn recv(&self) -> io::Result<(Announcement, SocketAddr)> {
        let mut buf = vec![0u8; 4096];
        loop {
            let (len, from) = self.socket.recv_from(&mut buf).await?;
            let Ok(text) = std::str::from_utf8(&buf[..len]) else {
                continue;
            };
            match Announcement::parse(text) {
                Ok(mut announcement) => {
                    announcement.ip.get_or_insert(from.ip());
                    return Ok((announcement, from));
                }
                Err(error) => tracing::trace!(%from, %error, "ignored datagram"),
            }
        }
    }
}

/// Sends one announcement from `socket` to `target` (what printers do periodically).
pub async fn announce(
    socket: &UdpSocket,
    target: SocketAddr,
    announcement: &Announcement,
) -> io::Result<()> {
    socket
        .send_to(announcement.format().as_bytes(), target)
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    const P1P: &str = "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nServer: UPnP/1.0\r\n\
        Location: 192.168.1.57\r\nNT: urn:bambulab-com:device:3dprinter:1\r\nUSN: 01S00C000000000\r\n\
        Cache-Control: max-age=1800\r\nDevModel.bambu.com: C11\r\nDevName.bambu.com: Workshop-P1P\r\n\
        DevSignal.bambu.com: -36\r\nDevConnect.bambu.com: lan\r\nDevBind.bambu.com: free\r\n\
        Devseclink.bambu.com: secure\r\nDevVersion.bambu.com: 01.07.00.00\r\nDevCap.bambu.com: 1\r\n\r\n";

    #[test]
    fn the_reference_p1p_announcement_parses() {
        let a = Announcement::parse(P1P).expect("parses");
        assert_eq!(a.serial, "01S00C000000000");
        assert_eq!(a.ip, Some("192.168.1.57".parse().expect("ip")));
        assert_eq!(a.model(), Some(Model::P1P));
        assert_eq!(a.name, "Workshop-P1P");
        assert_eq!(a.signal_dbm, Some(-36));
        assert!(a.is_lan_only());
        assert_eq!(a.bind_state.as_deref(), Some("free"));
        assert_eq!(a.firmware.as_deref(), Some("01.07.00.00"));
        assert_eq!((a.mqtt_port, a.ftps_port), (None, None));
    }

    #[test]
    fn headers_are_case_insensitive_and_legacy_x1_names_map() {
        let text = "NOTIFY * HTTP/1.1\nLOCATION: 10.0.0.9\nnt: urn:bambulab-com:device:3dprinter:1\n\
            usn: 00M00A000000001\nDEVMODEL.BAMBU.COM: 3DPrinter-X1-Carbon\n\n";
        let a = Announcement::parse(text).expect("parses");
        assert_eq!(a.model(), Some(Model::X1C));
        assert_eq!(a.serial, "00M00A000000001");
    }

    #[test]
    fn other_devices_are_refused() {
        let tv = "NOTIFY * HTTP/1.1\r\nNT: urn:schemas-upnp-org:device:MediaRenderer:1\r\nUSN: uuid:1\r\n\r\n";
        assert_eq!(
            Announcement::parse(tv),
            Err(DiscoveryError::NotABambuPrinter)
        );
        assert_eq!(
            Announcement::parse("M-SEARCH * HTTP/1.1\r\n\r\n"),
            Err(DiscoveryError::NotAnAnnouncement)
        );
    }

    #[test]
    fn format_and_parse_round_trip() {
        let a = Announcement {
            serial: "03900A000000042".into(),
            ip: Some("127.0.0.1".parse().expect("ip")),
            model_code: Model::A1.code().into(),
            name: "sim-a1-42".into(),
            firmware: Some("01.04.00.00".into()),
            signal_dbm: Some(-48),
            connect_mode: Some("lan".into()),
            bind_state: Some("free".into()),
            mqtt_port: Some(40001),
            ftps_port: Some(40002),
        };
        assert_eq!(Announcement::parse(&a.format()), Ok(a));
    }

    #[tokio::test]
    async fn the_listener_receives_on_loopback_and_fills_the_ip_from_the_source() {
        let listener = Listener::bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
        let target = listener.local_addr().expect("addr");
        let sender = UdpSocket::bind("127.0.0.1:0").await.expect("bind sender");
        sender
            .send_to(b"not an announcement", target)
            .await
            .expect("send noise");
        let mut a = Announcement::parse(P1P).expect("parses");
        a.ip = None;
        announce(&sender, target, &a).await.expect("send");
        let (got, from) = tokio::time::timeout(std::time::Duration::from_secs(5), listener.recv())
            .await
            .expect("in time")
            .expect("received");
        assert_eq!(got.serial, "01S00C000000000");
        assert_eq!(got.ip, Some(from.ip()));
    }
}
