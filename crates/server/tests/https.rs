//! HTTPS served directly from a certificate and key file, and a renewed certificate taken
//! up without a restart.

use crate::common::TestApp;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// A new self-signed certificate for `farm.example`, written where the server reads it;
/// its PEM, for a client to trust.
fn write_certificate(dir: &Path) -> String {
    let made = rcgen::generate_simple_self_signed(vec!["farm.example".to_string()]).unwrap();
    // The key first: the server reads the pair once both have changed or on its next look.
    std::fs::write(dir.join("key.pem"), made.signing_key.serialize_pem()).unwrap();
    std::fs::write(dir.join("cert.pem"), made.cert.pem()).unwrap();
    made.cert.pem()
}

/// A client that trusts only `pem` and finds farm.example at `addr`, with no pooled
/// connection (each request makes a new handshake).
fn client_trusting(pem: &str, addr: SocketAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(pem.as_bytes()).unwrap()])
        .resolve("farm.example", addr)
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_server_speaks_https_with_the_given_certificate_and_takes_up_a_renewal_without_a_restart()
 {
    let certs = tempfile::tempdir().unwrap();
    let first = write_certificate(certs.path());
    let dir = certs.path().to_path_buf();
    let app = TestApp::spawn_with(|s| {
        s.tls_certificate = Some(dir.join("cert.pem"));
        s.tls_private_key = Some(dir.join("key.pem"));
    })
    .await;
    let addr: SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();
    let url = format!("https://farm.example:{}/health", addr.port());
    assert!(
        app.state.settings.public_url().starts_with("https://"),
        "links name https"
    );

    let answer = client_trusting(&first, addr)
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let headers = answer.headers();
    assert_eq!(headers["strict-transport-security"], "max-age=31536000");
    assert_eq!(headers["x-content-type-options"], "nosniff");

    // Plain HTTP on the HTTPS port gets no answer.
    let plain = reqwest::Client::new()
        .get(format!("http://{addr}/health"))
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    assert!(plain.is_err(), "plain HTTP must not be served: {plain:?}");

    // A renewal: a new key and certificate in the same files.
    let second = write_certificate(certs.path());
    let renewed = client_trusting(&second, addr);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match renewed.get(&url).send().await {
            Ok(answer) => {
                assert_eq!(answer.status(), 200);
                break;
            }
            Err(err) => assert!(
                tokio::time::Instant::now() < deadline,
                "the renewed certificate was not served: {err}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The old certificate is no longer presented.
    let old = client_trusting(&first, addr).get(&url).send().await;
    assert!(old.is_err(), "the old certificate is still served");
    app.stop().await;
}

#[tokio::test]
async fn a_certificate_that_does_not_load_stops_the_start_in_words() {
    let certs = tempfile::tempdir().unwrap();
    write_certificate(certs.path());
    let data = tempfile::tempdir().unwrap();
    let settings = server::settings::Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data.path().join("data"),
        tls_certificate: Some(certs.path().join("cert.pem")),
        tls_private_key: Some(certs.path().join("missing.pem")),
        ..Default::default()
    };
    let err = server::Server::bind(settings).await.err().expect("refused");
    assert!(format!("{err:#}").contains("missing.pem"), "{err:#}");
}
