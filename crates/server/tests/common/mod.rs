//! The test harness: a real server on 127.0.0.1:0 with a fresh database per test
//! (a temporary SQLite file, or a fresh PostgreSQL database when
//! `PRINTFARM_TEST_DATABASE_URL` is set), and one helper per common step.
#![allow(dead_code)]

pub mod browser;
pub mod chrome;
pub mod live;
pub mod proxy;
pub mod sinks;

use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::{Value, json};
use server::Settings;
use std::time::Duration;
use store::testing::TestDatabase;
use tempfile::TempDir;

/// A new bucket of the local S3 server (`PRINTFARM_TEST_S3_URL`, which `.ci/run` starts).
pub struct S3Bucket {
    /// The server, `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The bucket's name.
    pub name: String,
}

impl S3Bucket {
    /// Keeps print files in this bucket (the local server takes any keys).
    pub fn use_in(&self, settings: &mut Settings) {
        settings.object_store = Some(format!(
            "s3://{}/farms?endpoint={}&region=us-east-1",
            self.name, self.endpoint
        ));
        settings.object_store_access_key = Some("test".into());
        settings.object_store_secret_key = Some("test".into());
    }
}

/// A new bucket of this test's on the local S3 server; `None` when no server is set.
pub async fn s3_bucket() -> Option<S3Bucket> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let endpoint = std::env::var("PRINTFARM_TEST_S3_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    let name = format!("pf-{}", uuid::Uuid::new_v4().simple());
    let made = reqwest::Client::new()
        .put(format!("{endpoint}/{name}"))
        .send()
        .await
        .expect("the S3 server at PRINTFARM_TEST_S3_URL answers");
    assert!(made.status().is_success(), "bucket made: {}", made.status());
    Some(S3Bucket { endpoint, name })
}

/// The password every test account uses.
pub const PASSWORD: &str = "correct horse battery";

/// A running server.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// A client without a cookie store: tests pass tokens and cookies explicitly.
    pub client: reqwest::Client,
    /// The data directory (database, files, outbox).
    pub data_dir: TempDir,
    /// The server's state, for tests that look behind the API.
    pub state: server::App,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// Ends a server on a runtime of its own at once, without its graceful shutdown.
    kill: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<()>>,
    /// Dropped last: the database outlives the server using it (none for a second node,
    /// which uses the first one's).
    _database: Option<TestDatabase>,
}

/// An answer: status, JSON body (or Null), headers.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub headers: HeaderMap,
}

impl Answer {
    /// `body.data`.
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    /// `body.error.code`.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// The fields named in a validation error.
    pub fn fields(&self) -> Vec<String> {
        self.body["error"]["details"]["fields"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|f| f["field"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        self
    }
}

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub email: String,
    pub token: String,
}

/// How a request authenticates.
#[derive(Debug, Clone, Copy)]
pub enum As<'a> {
    Nobody,
    Bearer(&'a str),
    Cookie(&'a str),
}

impl TestApp {
    /// A server with default settings.
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {}).await
    }

    /// A server with settings adjusted by `adjust`.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let data_dir = tempfile::tempdir().expect("temp dir");
        let database = TestDatabase::new().await;
        let mut settings = Settings {
            listen: "127.0.0.1:0".parse().expect("address"),
            data_dir: data_dir.path().join("data"),
            database_url: Some(database.url.clone()),
            // Tests talk to loopback only: a test that reaches Shopify without a fake shop
            // finds a closed port here, not the internet.
            shopify_api_url: Some("http://127.0.0.1:1".into()),
            ..Settings::default()
        };
        adjust(&mut settings);
        TestApp::start(settings, data_dir, Some(database)).await
    }

    /// Another server node of this one's: the same database, encryption key and settings
    /// (its object store too), its own data directory and port.
    pub async fn another_node(&self) -> TestApp {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let settings = self.node_settings(&data_dir);
        TestApp::start(settings, data_dir, None).await
    }

    /// This node's settings for another node with its data in `data_dir`.
    fn node_settings(&self, data_dir: &TempDir) -> Settings {
        let mut settings = self.state.settings.clone();
        settings.listen = "127.0.0.1:0".parse().expect("address");
        settings.data_dir = data_dir.path().join("data");
        if settings.encryption_key.is_none() {
            let key = self.state.settings.data_dir.join("encryption.key");
            settings.encryption_key =
                Some(std::fs::read_to_string(key).expect("the first node's key"));
        }
        settings
    }

    async fn start(
        settings: Settings,
        data_dir: TempDir,
        database: Option<TestDatabase>,
    ) -> TestApp {
        let server = server::Server::bind(settings).await.expect("server starts");
        let addr = server.local_addr().expect("bound");
        let state = server.app();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(async move {
            server
                .serve(async {
                    let _ = rx.await;
                })
                .await
                .expect("server runs");
        });
        TestApp {
            base: format!("http://{addr}"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            data_dir,
            state,
            shutdown: Some(tx),
            kill: None,
            served: Some(served),
            _database: database,
        }
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.served.take() {
            let _ = handle.await;
        }
    }

    /// A request builder with the given authentication.
    pub fn request(&self, method: Method, path: &str, who: As<'_>) -> reqwest::RequestBuilder {
        let builder = self
            .client
            .request(method, format!("{}{}", self.base, path));
        match who {
            As::Nobody => builder,
            As::Bearer(token) => builder.bearer_auth(token),
            As::Cookie(token) => {
                builder.header("cookie", format!("printfarm.session_token={token}"))
            }
        }
    }

    /// Sends a request and reads the answer.
    pub async fn send(builder: reqwest::RequestBuilder) -> Answer {
        let response = builder.send().await.expect("request sent");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body read");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            body,
            headers,
        }
    }

    /// A JSON call: `method path` as `who`, in farm `tenant`, with `body`.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        who: As<'_>,
        tenant: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut builder = self.request(method, path, who);
        if let Some(t) = tenant {
            builder = builder.header("x-tenant-id", t);
        }
        if let Some(b) = body {
            builder = builder.json(&b);
        }
        TestApp::send(builder).await
    }

    /// GET as a bearer token.
    pub async fn get(&self, path: &str, token: &str, tenant: Option<&str>) -> Answer {
        self.call(Method::GET, path, As::Bearer(token), tenant, None)
            .await
    }

    /// POST JSON as a bearer token.
    pub async fn post(&self, path: &str, token: &str, tenant: Option<&str>, body: Value) -> Answer {
        self.call(Method::POST, path, As::Bearer(token), tenant, Some(body))
            .await
    }

    /// PUT JSON as a bearer token.
    pub async fn put(&self, path: &str, token: &str, tenant: Option<&str>, body: Value) -> Answer {
        self.call(Method::PUT, path, As::Bearer(token), tenant, Some(body))
            .await
    }

    /// DELETE as a bearer token.
    pub async fn delete(&self, path: &str, token: &str, tenant: Option<&str>) -> Answer {
        self.call(Method::DELETE, path, As::Bearer(token), tenant, None)
            .await
    }

    /// A dashboard page's status and HTML, as `who` sees it in `farm` (the page cookies).
    pub async fn page(&self, path: &str, who: &Account, farm: &str) -> (u16, String) {
        let answer = self
            .client
            .get(format!("{}{path}", self.base))
            .header(
                "cookie",
                format!("printfarm.session_token={}; pf_farm={farm}", who.token),
            )
            .send()
            .await
            .expect("page request");
        let status = answer.status().as_u16();
        (status, answer.text().await.expect("page body"))
    }

    /// The stored row of `farm`'s printer `id` (for publishing live reports of it).
    pub async fn printer_row(&self, farm: &str, id: &str) -> store::printers::Printer {
        let tenant = domain::TenantId::parse(farm).expect("farm id");
        let key = store::printers::PrinterKey::parse(id).expect("printer id");
        let mut conn = self.state.store.conn().await.expect("connection");
        store::printers::get(&mut conn, &tenant, &key)
            .await
            .expect("the printer")
    }

    /// Signs up a new account (`name@example.com`) and returns it signed in.
    pub async fn signed_up(&self, name: &str) -> Account {
        let email = format!("{name}@example.com");
        let answer = self
            .call(
                Method::POST,
                "/api/v1/auth/sign-up/email",
                As::Nobody,
                None,
                Some(json!({ "email": email, "password": PASSWORD, "name": name })),
            )
            .await;
        answer.expect(201);
        Account {
            id: answer.data()["user"]["id"]
                .as_str()
                .expect("user id")
                .to_string(),
            email,
            token: answer.data()["token"].as_str().expect("token").to_string(),
        }
    }

    /// Signs up an owner and their farm; returns the account and the farm id.
    pub async fn signed_up_owner(&self, name: &str) -> (Account, String) {
        let email = format!("{name}@example.com");
        let answer = self
            .call(
                Method::POST,
                "/api/v1/auth/register",
                As::Nobody,
                None,
                Some(json!({ "email": email, "password": PASSWORD, "name": name, "company_name": format!("{name} farm") })),
            )
            .await;
        answer.expect(201);
        let account = Account {
            id: answer.data()["user"]["id"]
                .as_str()
                .expect("user id")
                .to_string(),
            email,
            token: answer.data()["token"].as_str().expect("token").to_string(),
        };
        (
            account,
            answer.data()["tenant"]["id"]
                .as_str()
                .expect("tenant id")
                .to_string(),
        )
    }

    /// Signs in and returns the session token.
    pub async fn sign_in(&self, email: &str, password: &str) -> Answer {
        self.call(
            Method::POST,
            "/api/v1/auth/sign-in/email",
            As::Nobody,
            None,
            Some(json!({ "email": email, "password": password })),
        )
        .await
    }

    /// `admin` invites `email` to `farm` as `role`; returns the pending invitation.
    pub async fn invite(&self, admin: &Account, farm: &str, email: &str, role: &str) -> Value {
        let invited = self
            .post(
                &format!("/api/v1/tenants/{farm}/members"),
                &admin.token,
                None,
                json!({ "email": email, "role": role }),
            )
            .await;
        invited.expect(201);
        assert_eq!(invited.data()["status"], "pending");
        invited.data().clone()
    }

    /// Adds `member` to `farm` with `role`: the farm's admin `admin` invites their email,
    /// and they accept the invitation from their list.
    pub async fn add_member(&self, admin: &Account, farm: &str, member: &Account, role: &str) {
        let invitation = self.invite(admin, farm, &member.email, role).await;
        let id = invitation["id"].as_str().expect("invitation id");
        self.post(
            &format!("/api/v1/invitations/{id}/accept"),
            &member.token,
            None,
            json!({}),
        )
        .await
        .expect(200);
    }

    /// Registers a hub named `name` in `farm` (as its admin); returns its id and its secret.
    pub async fn register_hub(&self, admin: &Account, farm: &str, name: &str) -> (String, String) {
        let hub = self
            .post(
                "/api/v1/hubs/register",
                &admin.token,
                Some(farm),
                json!({ "name": name }),
            )
            .await;
        hub.expect(201);
        (
            hub.data()["hub_id"].as_str().expect("hub id").to_string(),
            hub.data()["secret"].as_str().expect("secret").to_string(),
        )
    }

    /// Adds a printer (`body` as the API takes it) to `farm` as its admin; returns its id.
    pub async fn add_printer(&self, admin: &Account, farm: &str, body: Value) -> String {
        let added = self
            .post("/api/v1/printers", &admin.token, Some(farm), body)
            .await;
        added.expect(201);
        added.data()["id"].as_str().expect("printer id").to_string()
    }

    /// The newest mail in the outbox addressed to `email`, waiting for it up to 10 s.
    pub async fn mail_to(&self, email: &str) -> String {
        let outbox = self.data_dir.path().join("data").join("outbox");
        eventually("a mail to arrive", || {
            let mut mails: Vec<(std::time::SystemTime, String)> = std::fs::read_dir(&outbox)
                .ok()?
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    let text = std::fs::read_to_string(e.path()).ok()?;
                    let modified = e.metadata().ok()?.modified().ok()?;
                    text.lines()
                        .any(|l| l.starts_with("To:") && l.contains(email))
                        .then(|| (modified, decode_quoted_printable(&text)))
                })
                .collect();
            mails.sort_by_key(|(t, _)| *t);
            mails.pop().map(|(_, text)| text)
        })
        .await
    }
}

/// Undoes quoted-printable (soft line breaks and `=XX`), which mail uses for long lines.
pub fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `token=` value of the link in a mail.
pub fn token_in(mail: &str) -> String {
    let start = mail.find("token=").expect("a link with a token") + "token=".len();
    mail[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// Polls `check` until it gives a value, failing after 10 s.
pub async fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A file of `../shared/fixtures/3mf`.
pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../../../shared/fixtures/3mf/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

impl TestApp {
    /// A product made from the farm's `sample-a.3mf` (uploaded on first use) with one SKU
    /// `code`: `per_print` units a print, `stock` in stock, 5.00 each; returns the SKU id.
    pub async fn sample_sku(
        &self,
        owner: &Account,
        farm: &str,
        code: &str,
        per_print: i64,
        stock: i64,
    ) -> String {
        let files = self
            .get("/api/v1/files?search=sample-a", &owner.token, Some(farm))
            .await;
        let file = match files.data().as_array().and_then(|f| f.first()) {
            Some(file) => file["id"].as_str().expect("file id").to_string(),
            None => self.upload_fixture(owner, farm, "sample-a.3mf").await,
        };
        let product = self
            .post(
                "/api/v1/products",
                &owner.token,
                Some(farm),
                serde_json::json!({ "name": format!("Product {code}"), "print_file_id": file }),
            )
            .await;
        product.expect(201);
        let product = product.data()["id"]
            .as_str()
            .expect("product id")
            .to_string();
        let sku = self
            .post(
                &format!("/api/v1/products/{product}/skus"),
                &owner.token,
                Some(farm),
                serde_json::json!({ "sku": code, "color": "Yellow", "filament_type": "PLA",
                    "quantity": per_print, "stock_level": stock, "price": 500 }),
            )
            .await;
        sku.expect(201);
        sku.data()["id"].as_str().expect("SKU id").to_string()
    }

    /// Uploads a fixture 3MF to the farm; returns the file id.
    pub async fn upload_fixture(&self, who: &Account, farm: &str, name: &str) -> String {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(fixture(name)).file_name(name.to_string()),
        );
        let answer = TestApp::send(
            self.request(Method::POST, "/api/v1/files", As::Bearer(&who.token))
                .header("x-tenant-id", farm)
                .multipart(form),
        )
        .await;
        answer.expect(201);
        answer.data()["id"].as_str().unwrap().to_string()
    }
}

/// Runs a server on a runtime of its own (its own thread): when it stops, the runtime
/// ends with everything the server still runs — hub and dashboard sockets included —
/// as a process exit would. Returns its address, its state, the stop signal and a task
/// that ends once the runtime is gone.
/// A server started on a runtime of its own: its address, state, and how to stop it
/// gracefully, kill it, and wait until it is gone.
struct Apart {
    addr: std::net::SocketAddr,
    state: server::App,
    stop: tokio::sync::oneshot::Sender<()>,
    kill: tokio::sync::oneshot::Sender<()>,
    gone: tokio::task::JoinHandle<()>,
}

async fn serve_apart(settings: Settings) -> anyhow::Result<Apart> {
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (kill_tx, kill_rx) = tokio::sync::oneshot::channel::<()>();
    let (gone_tx, gone_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("server runtime");
        let killed = runtime.block_on(async move {
            let server = match server::Server::bind(settings).await {
                Ok(server) => server,
                Err(err) => {
                    let _ = ready_tx.send(Err(err));
                    return false;
                }
            };
            let addr = server.local_addr().expect("bound");
            let _ = ready_tx.send(Ok((addr, server.app())));
            let serve = server.serve(async {
                let _ = stop_rx.await;
            });
            tokio::select! {
                _ = serve => false,
                _ = kill_rx => true,
            }
        });
        match killed {
            // As a process killed: every task and socket dropped where it stands.
            true => runtime.shutdown_background(),
            // Hub sockets are closed by the graceful shutdown (they write their hubs
            // offline); anything still open when the runtime ends dies as in a process exit.
            false => runtime.shutdown_timeout(Duration::from_secs(5)),
        }
        let _ = gone_tx.send(());
    });
    let (addr, state) = ready_rx.await.expect("server thread")?;
    let gone = tokio::spawn(async move {
        let _ = gone_rx.await;
    });
    Ok(Apart {
        addr,
        state,
        stop: stop_tx,
        kill: kill_tx,
        gone,
    })
}

impl TestApp {
    /// A server like [`TestApp::spawn`], but on a runtime of its own, so that stopping it
    /// (or [`TestApp::restart`]) also ends its hub and dashboard sockets, as a process exit does.
    pub async fn spawn_apart() -> TestApp {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let data_dir = tempfile::tempdir().expect("temp dir");
        let database = TestDatabase::new().await;
        let settings = Settings {
            listen: "127.0.0.1:0".parse().expect("address"),
            data_dir: data_dir.path().join("data"),
            database_url: Some(database.url.clone()),
            shopify_api_url: Some("http://127.0.0.1:1".into()),
            ..Settings::default()
        };
        let apart = serve_apart(settings).await.expect("server starts");
        TestApp::apart(apart, data_dir, Some(database))
    }

    fn apart(apart: Apart, data_dir: TempDir, database: Option<TestDatabase>) -> TestApp {
        TestApp {
            base: format!("http://{}", apart.addr),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            data_dir,
            state: apart.state,
            shutdown: Some(apart.stop),
            kill: Some(apart.kill),
            served: Some(apart.gone),
            _database: database,
        }
    }

    /// Another node like [`TestApp::another_node`], on a runtime of its own, so that
    /// [`TestApp::kill`] can end it as a process killed.
    pub async fn another_node_apart(&self) -> TestApp {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let settings = self.node_settings(&data_dir);
        let apart = serve_apart(settings).await.expect("server starts");
        TestApp::apart(apart, data_dir, None)
    }

    /// Ends a server from [`TestApp::another_node_apart`] or [`TestApp::spawn_apart`] at
    /// once, as `kill -9` would: no graceful shutdown, its sockets dropped, its lease left.
    pub async fn kill(mut self) {
        let kill = self.kill.take().expect("kill works on a server apart");
        let _ = kill.send(());
        if let Some(handle) = self.served.take() {
            let _ = handle.await;
        }
    }

    /// Stops the server and starts a new one on the same database, data directory and
    /// port (so clients, hubs included, find it again at the same URL). Use it on a server
    /// from [`TestApp::spawn_apart`]: one from [`TestApp::spawn`] leaves its open sockets
    /// running on the old state. The new server runs on a runtime of its own too.
    pub async fn restart(mut self) -> TestApp {
        let addr: std::net::SocketAddr = self
            .base
            .trim_start_matches("http://")
            .parse()
            .expect("base is http://ip:port");
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.served.take() {
            let _ = handle.await;
        }
        let mut settings = self.state.settings.clone();
        settings.listen = addr;
        // The port was just released; something else may hold it for a moment.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let apart = loop {
            match serve_apart(settings.clone()).await {
                Ok(started) => break started,
                Err(err) => {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "the server did not start again on {addr}: {err:#}"
                    );
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        self.state = apart.state;
        self.shutdown = Some(apart.stop);
        self.kill = Some(apart.kill);
        self.served = Some(apart.gone);
        self
    }
}
