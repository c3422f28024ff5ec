//! MQTT settings for one printer (protocol reference §1.1).

use std::sync::Arc;
use std::time::Duration;

use rumqttc::{MqttOptions, TlsConfiguration, Transport};
use rustls::ClientConfig;

/// The printers' MQTT-over-TLS port.
pub const PORT: u16 = 8883;
/// The MQTT user name.
pub const USERNAME: &str = "bblp";
/// Largest packet accepted: full X1 reports with AMS data exceed rumqttc's 10 KiB default.
pub const MAX_PACKET_BYTES: usize = 4 * 1024 * 1024;

/// The topic a printer publishes reports and responses on.
pub fn report_topic(serial: &str) -> String {
    format!("device/{serial}/report")
}

/// The topic a printer takes requests on.
pub fn request_topic(serial: &str) -> String {
    format!("device/{serial}/request")
}

/// `rumqttc` options for a printer at `host:port`: `bblp` + access code, TLS
/// with `tls` (see [`crate::tls::client_config`]), 30 s keep-alive, clean
/// session, and a packet limit large enough for full reports.
///
/// `client_id` must be unique per connection: two sessions with one id kick
/// each other off.
pub fn options(
    client_id: &str,
    host: &str,
    port: u16,
    access_code: &str,
    tls: Arc<ClientConfig>,
) -> MqttOptions {
    let mut options = MqttOptions::new(client_id, host, port);
    options
        .set_credentials(USERNAME, access_code)
        .set_keep_alive(Duration::from_secs(30))
        .set_clean_session(true)
        .set_max_packet_size(MAX_PACKET_BYTES, MAX_PACKET_BYTES)
        .set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(tls)));
    options
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_name_the_serial() {
        assert_eq!(
            report_topic("01P00A123456789"),
            "device/01P00A123456789/report"
        );
        assert_eq!(
            request_topic("01P00A123456789"),
            "device/01P00A123456789/request"
        );
    }

    #[test]
    fn options_log_in_as_bblp_with_the_access_code() {
        let tls = crate::tls::client_config(crate::tls::CertPin::new()).expect("config");
        let options = options("farm-1", "192.168.1.57", PORT, "12345678", tls);
        let login = options.credentials().expect("credentials set");
        assert_eq!(
            (login.username.as_str(), login.password.as_str()),
            ("bblp", "12345678")
        );
        assert_eq!(options.broker_address(), ("192.168.1.57".to_owned(), 8883));
        assert!(options.max_packet_size() >= 1024 * 1024);
    }
}
