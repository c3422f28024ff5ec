//! What the tests of the printfarm command share: running it, a server in this process,
//! a signed-in client.
#![allow(dead_code)] // Each test file uses its own part.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

pub const PASSWORD: &str = "correct horse battery staple";

pub fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures")
        .join(path)
}

/// Runs the printfarm command `args` on the server settings of `data` and `url`: its
/// JSON report on success, its error text on failure.
pub fn printfarm(args: &[&str], data: &Path, url: &str) -> Result<Value, String> {
    printfarm_with(args, data, url, &[])
}

/// [`printfarm`] with environment variables `env` set.
pub fn printfarm_with(
    args: &[&str],
    data: &Path,
    url: &str,
    env: &[(&str, &str)],
) -> Result<Value, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_printfarm"))
        .args(args)
        .envs(env.iter().copied())
        .args(["--json", "--data-dir"])
        .arg(data)
        .args(["--database-url", url])
        .output()
        .expect("run printfarm");
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).expect("a JSON report"))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// A server running in this process on `127.0.0.1:0`, stopped when dropped.
pub struct Running {
    pub base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    pub async fn start(data: &Path, url: &str) -> Running {
        let mut settings = server::settings::Settings::load(None).expect("settings");
        settings.listen = "127.0.0.1:0".parse().expect("addr");
        settings.data_dir = data.to_path_buf();
        settings.database_url = Some(url.to_string());
        // A webhook's one try fails for good at once: nothing changes after the export.
        settings.notification_attempts = 1;
        let server = server::Server::bind(settings).await.expect("server");
        let addr = server.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = server
                .serve(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        Running {
            base: format!("http://{addr}"),
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// A signed-in client of one server, in one farm.
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
    farm: String,
}

impl Client {
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("x-tenant-id", &self.farm);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request.send().await.expect("request");
        let status = answer.status().as_u16();
        let body = answer.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        let (status, answer) = self.call(reqwest::Method::POST, path, Some(body)).await;
        assert!(status < 300, "POST {path}: {status} {answer}");
        answer["data"].clone()
    }

    /// The bytes behind the download link `path` answers with.
    pub async fn download(&self, path: &str) -> Vec<u8> {
        let (status, link) = self.get(path).await;
        assert_eq!(status, 200, "{path}: {link}");
        let url = link["data"]["download_url"].as_str().expect("a link");
        let at = url
            .find("/api/v1/files/download/")
            .expect("a download path");
        let path = &url[at..];
        let answer = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("x-tenant-id", &self.farm)
            .send()
            .await
            .expect("request");
        assert!(answer.status().is_success(), "GET {path}");
        answer.bytes().await.expect("bytes").to_vec()
    }
}

pub async fn sign_in(base: &str, email: &str, farm: &str) -> Client {
    let http = reqwest::Client::new();
    let answer: Value = http
        .post(format!("{base}/api/v1/auth/sign-in/email"))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .expect("sign in")
        .json()
        .await
        .expect("json");
    let token = answer["data"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("signed in: {answer}"))
        .to_string();
    Client {
        http,
        base: base.to_string(),
        token,
        farm: farm.to_string(),
    }
}
