//! The few HTTP API calls that set a farm up: an account with its farm, hubs, printers.

use crate::error::{Error, Result};
use serde_json::{Value, json};
use std::time::Duration;

/// The password of every load-test account (they live in a throw-away database).
const PASSWORD: &str = "load-test-password-1";

/// A signed-in owner of one farm.
#[derive(Debug, Clone)]
pub struct Account {
    /// Session token (also what the dashboard socket authenticates with).
    pub token: String,
    /// The farm's id (`X-Tenant-ID`).
    pub farm: String,
}

/// A registered hub.
#[derive(Debug, Clone)]
pub struct RegisteredHub {
    /// Its id.
    pub id: String,
    /// Its one-time secret (the `hub_hello` key is derived from it).
    pub secret: String,
}

/// An HTTP client for one server.
#[derive(Debug, Clone)]
pub struct Api {
    base: String,
    client: reqwest::Client,
}

impl Api {
    /// A client for the server at `base` (`http://127.0.0.1:PORT`).
    pub fn new(base: String) -> Result<Api> {
        let client = reqwest::Client::builder()
            // Loopback only: never route through a proxy from the environment.
            .no_proxy()
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|source| Error::Http {
                what: "build the HTTP client".into(),
                source,
            })?;
        Ok(Api { base, client })
    }

    /// One API call as `account`; its `data` on success.
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        account: Option<&Account>,
        body: Option<Value>,
    ) -> Result<Value> {
        let what = format!("{method} {path}");
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(account) = account {
            request = request
                .bearer_auth(&account.token)
                .header("x-tenant-id", &account.farm);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|source| Error::Http {
            what: what.clone(),
            source,
        })?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or_default();
        if !status.is_success() {
            return Err(Error::Api {
                what,
                status: status.as_u16(),
                message: body["error"]["message"]
                    .as_str()
                    .unwrap_or("no message")
                    .to_string(),
            });
        }
        Ok(body["data"].clone())
    }

    /// Registers account number `n` with its own farm and signs it in.
    pub async fn register_account(&self, n: usize) -> Result<Account> {
        let data = self
            .call(
                reqwest::Method::POST,
                "/api/v1/auth/register",
                None,
                Some(json!({
                    "email": format!("loadtest-{n}@loadtest.invalid"),
                    "password": PASSWORD,
                    "name": format!("Load test {n}"),
                    "company_name": format!("Load test farm {n}"),
                })),
            )
            .await?;
        let text = |value: &Value, what: &str| {
            value
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| Error::Protocol(format!("register answered without {what}")))
        };
        Ok(Account {
            token: text(&data["token"], "a token")?,
            farm: text(&data["tenant"]["id"], "a farm id")?,
        })
    }

    /// Registers a hub with `id` in the account's farm.
    pub async fn register_hub(&self, account: &Account, id: &str) -> Result<RegisteredHub> {
        let data = self
            .call(
                reqwest::Method::POST,
                "/api/v1/hubs/register",
                Some(account),
                Some(json!({ "hub_id": id, "name": id })),
            )
            .await?;
        let secret = data["secret"]
            .as_str()
            .ok_or_else(|| Error::Protocol("hub registration answered without a secret".into()))?;
        Ok(RegisteredHub {
            id: id.to_string(),
            secret: secret.to_string(),
        })
    }

    /// Adds a printer on `hub_id`; returns its id in the farm.
    pub async fn add_printer(&self, account: &Account, printer: &NewPrinter<'_>) -> Result<String> {
        let data = self
            .call(
                reqwest::Method::POST,
                "/api/v1/printers",
                Some(account),
                Some(json!({
                    "name": printer.name,
                    "model": printer.model,
                    "serial_number": printer.serial,
                    "access_code": printer.access_code,
                    "ip_address": "127.0.0.1",
                    "hub_id": printer.hub_id,
                })),
            )
            .await?;
        data["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| Error::Protocol("adding a printer answered without an id".into()))
    }

    /// How many of the hub's printers the server shows connected.
    pub async fn connected_printers(&self, account: &Account, hub_id: &str) -> Result<usize> {
        let data = self
            .call(
                reqwest::Method::GET,
                &format!("/api/v1/hubs/{hub_id}/status"),
                Some(account),
                None,
            )
            .await?;
        let connected = |p: &&Value| p["is_connected"] == json!(1) || p["is_connected"] == true;
        Ok(data["printers"]
            .as_array()
            .map_or(0, |printers| printers.iter().filter(connected).count()))
    }
}

/// A printer to add through the API.
#[derive(Debug, Clone, Copy)]
pub struct NewPrinter<'a> {
    /// Unique in the farm.
    pub name: &'a str,
    /// Model name ("P1S").
    pub model: &'a str,
    /// 8 to 20 letters or digits.
    pub serial: &'a str,
    /// 8 letters or digits.
    pub access_code: &'a str,
    /// The hub that manages it.
    pub hub_id: &'a str,
}
