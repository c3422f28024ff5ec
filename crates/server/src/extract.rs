//! Extractors that answer bad input with the error envelope.

use crate::error::ApiError;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::USER_AGENT;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use std::net::{IpAddr, SocketAddr};

/// A JSON body; malformed, oversized or mistyped bodies get 400/413/415 envelopes
/// naming the field where serde can tell.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let limit = req
            .extensions()
            .get::<BodyLimit>()
            .map(|l| l.0)
            .unwrap_or_default();
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_error(rejection, limit)),
        }
    }
}

/// A JSON body that may be left out: no body (or an empty one) gives `T::default()`.
#[derive(Debug, Clone, Copy, Default)]
pub struct OptionalJson<T>(pub T);

impl<S, T> FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let empty = req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() == b"0")
            || !req.headers().contains_key(axum::http::header::CONTENT_TYPE);
        if empty {
            return Ok(OptionalJson(T::default()));
        }
        ApiJson::<T>::from_request(req, state)
            .await
            .map(|ApiJson(v)| OptionalJson(v))
    }
}

/// Query parameters; bad ones get a 400 envelope naming the parameter.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => {
                let text = rejection.body_text();
                let detail = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text)
                    .to_string();
                Err(ApiError::field(&field_of(&detail), detail))
            }
        }
    }
}

/// Path parameters; one that does not decode (`%FF` is no UTF-8) gets a 400 envelope.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => Err(ApiError::BadRequest {
                code: "INVALID_PATH",
                message: e.body_text(),
            }),
            // The route has no such parameters: a bug in the route table, not in the request.
            Err(other) => Err(ApiError::internal(anyhow::anyhow!(other.body_text()))),
        }
    }
}

/// A WebSocket handshake (both sockets take it): a plain GET of a socket URL gets 426 in
/// the envelope instead of axum's 400 text.
pub struct SocketUpgrade(pub WebSocketUpgrade);

impl<S> FromRequestParts<S> for SocketUpgrade
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        use WebSocketUpgradeRejection as Why;
        match WebSocketUpgrade::from_request_parts(parts, state).await {
            Ok(upgrade) => Ok(SocketUpgrade(upgrade)),
            Err(
                Why::InvalidConnectionHeader(_)
                | Why::InvalidUpgradeHeader(_)
                | Why::ConnectionNotUpgradable(_),
            ) => Err(ApiError::UpgradeRequired(
                "this is a WebSocket: open it with Connection: Upgrade and Upgrade: websocket"
                    .into(),
            )),
            Err(Why::InvalidWebSocketVersionHeader(_)) => Err(ApiError::UpgradeRequired(
                "the socket speaks WebSocket version 13 (Sec-WebSocket-Version: 13)".into(),
            )),
            Err(other) => Err(ApiError::BadRequest {
                code: "INVALID_WEBSOCKET_HANDSHAKE",
                message: other.body_text(),
            }),
        }
    }
}

/// The configured body limit, put in request extensions for error messages.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

fn json_error(rejection: JsonRejection, limit: usize) -> ApiError {
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge { limit },
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(
            "send the body as JSON with Content-Type: application/json".into(),
        ),
        StatusCode::UNPROCESSABLE_ENTITY => {
            let text = rejection.body_text();
            let detail = text
                .strip_prefix("Failed to deserialize the JSON body into the target type: ")
                .unwrap_or(&text)
                .to_string();
            ApiError::field(&field_of(&detail), detail)
        }
        _ => ApiError::BadRequest {
            code: "INVALID_JSON",
            message: format!("the body is not valid JSON: {}", rejection.body_text()),
        },
    }
}

/// The field a serde error is about: `missing field `x``, or the `path: ...` prefix.
fn field_of(detail: &str) -> String {
    if let Some(rest) = detail.split("missing field `").nth(1) {
        return rest.split('`').next().unwrap_or("body").to_string();
    }
    match detail.split_once(": ") {
        Some((path, _)) if !path.contains(' ') && path != "." => path.to_string(),
        _ => "body".to_string(),
    }
}

/// Who is calling from where: the client address and user agent, for logs and audit rows.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// The peer's IP address.
    pub ip: Option<IpAddr>,
    /// The User-Agent header.
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// The address as text.
    pub fn ip_text(&self) -> Option<String> {
        self.ip.map(|ip| ip.to_string())
    }
}

impl FromRequestParts<crate::App> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &crate::App,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        let ip = peer.map(|peer| client_address(peer, &forwarded, &app.settings.trusted_proxies));
        let user_agent = parts
            .headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(300).collect());
        Ok(ClientInfo { ip, user_agent })
    }
}

/// The client's address: the peer, unless the peer is a trusted proxy; then the
/// right-most `X-Forwarded-For` entry that is not itself a trusted proxy (entries
/// further left could be forged by the client).
fn client_address(peer: IpAddr, forwarded: &str, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    forwarded
        .rsplit(',')
        .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

/// A body flag given as `true`/`false` or `1`/`0` (the earlier client sends both); `None`
/// when left out or null. Anything else is collected in `invalid` under `field`.
pub fn body_flag(
    invalid: &mut domain::Invalid,
    field: &str,
    value: Option<&serde_json::Value>,
) -> Option<bool> {
    use serde_json::Value;
    match value {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::Number(n)) if n.as_i64() == Some(1) => Some(true),
        Some(Value::Number(n)) if n.as_i64() == Some(0) => Some(false),
        Some(_) => {
            invalid.0.push(domain::FieldError {
                field: field.into(),
                message: format!("{field} must be true or false"),
            });
            None
        }
    }
}

/// A list's `sortBy` (one of `sortable`, `default` when not given) and `sortOrder` (`asc`,
/// or `desc` when not given): the column and whether it ascends.
pub fn parse_sort(
    sort_by: Option<&str>,
    sort_order: Option<&str>,
    sortable: &[&'static str],
    default: &'static str,
) -> Result<(&'static str, bool), crate::error::ApiError> {
    use crate::error::ApiError;
    let column = match sort_by.map(str::trim) {
        None | Some("") => default,
        Some(s) => sortable.iter().copied().find(|c| *c == s).ok_or_else(|| {
            ApiError::field(
                "sortBy",
                format!("sortBy must be one of {}", sortable.join(", ")),
            )
        })?,
    };
    let ascending = match sort_order.map(str::to_ascii_lowercase).as_deref() {
        None | Some("") | Some("desc") => false,
        Some("asc") => true,
        Some(_) => {
            return Err(ApiError::field(
                "sortOrder",
                "sortOrder must be asc or desc",
            ));
        }
    };
    Ok((column, ascending))
}

/// A query flag (`true`/`false`/`1`/`0`) as the stored 1 or 0; `None` when absent or empty.
pub fn query_flag(field: &str, raw: Option<&str>) -> Result<Option<i64>, domain::Invalid> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some("true" | "1") => Ok(Some(1)),
        Some("false" | "0") => Ok(Some(0)),
        Some(other) => Err(domain::Invalid::field(
            field,
            format!("{field} must be true or false, not '{other}'"),
        )),
    }
}

/// A body field that may be left out (`None`), cleared with `null` (`Some(None)`) or given
/// (`#[serde(default, deserialize_with = "crate::extract::given")]`).
pub fn given<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let client: IpAddr = "203.0.113.9".parse().unwrap();
        let other: IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(
            client_address(client, "1.2.3.4", &[proxy]),
            client,
            "untrusted peers can't claim an address"
        );
        assert_eq!(
            client_address(proxy, "1.2.3.4, 203.0.113.9", &[proxy]),
            client
        );
        assert_eq!(
            client_address(proxy, "203.0.113.9, 10.0.0.2", &[proxy]),
            client
        );
        assert_eq!(client_address(proxy, "garbage", &[proxy]), proxy);
        assert_eq!(client_address(other, "", &[]), other);
    }

    #[test]
    fn serde_errors_name_their_field() {
        assert_eq!(
            field_of("missing field `email` at line 1 column 2"),
            "email"
        );
        assert_eq!(
            field_of("role: invalid type: integer `1`, expected a string at line 1 column 9"),
            "role"
        );
        assert_eq!(field_of("invalid type: map, expected a string"), "body");
    }
}
