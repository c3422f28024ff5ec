//! One error type for the HTTP layer, answered as the error envelope.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::Invalid;
use serde_json::{Value, json};
use std::time::Duration;
use store::StoreError;

/// Every way a request can fail, each with its status and code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: fields are invalid; each is named in `details`.
    #[error("{0}")]
    Validation(Invalid),
    /// 400: the request is malformed in another way.
    #[error("{message}")]
    BadRequest {
        /// Machine-readable code.
        code: &'static str,
        /// For a person.
        message: String,
    },
    /// 401: not signed in, or wrong credentials.
    #[error("{message}")]
    Unauthorized {
        /// Machine-readable code.
        code: &'static str,
        /// For a person.
        message: String,
    },
    /// 403: signed in but not allowed.
    #[error("{message}")]
    Forbidden {
        /// Machine-readable code.
        code: &'static str,
        /// For a person.
        message: String,
    },
    /// 404: no such thing (in this farm).
    #[error("{message}")]
    NotFound {
        /// Machine-readable code (`TENANT_NOT_FOUND`, ...).
        code: &'static str,
        /// For a person.
        message: String,
    },
    /// 409: the change conflicts with the current state; `field` when one value is taken.
    #[error("{message}")]
    Conflict {
        /// Machine-readable code.
        code: &'static str,
        /// The field whose value is taken, if one.
        field: Option<String>,
        /// For a person.
        message: String,
    },
    /// 409: the current state blocks the change (the thing is in use, the stock is short);
    /// `details` says what blocks it.
    #[error("{message}")]
    Blocked {
        /// Machine-readable code (`PRODUCT_IN_USE`, `INSUFFICIENT_STOCK`, ...).
        code: &'static str,
        /// For a person.
        message: String,
        /// What blocks it.
        details: Value,
    },
    /// 410: the thing existed but is no more (an expired, declined or revoked invitation).
    #[error("{message}")]
    Gone {
        /// Machine-readable code.
        code: &'static str,
        /// For a person.
        message: String,
    },
    /// 413: the body is larger than allowed.
    #[error("request body is larger than the {limit} bytes allowed")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// 413: a multipart form's text parts are more than allowed (the file part has its own limit).
    #[error("{0}")]
    FormTooLarge(String),
    /// 415: not JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 426: a socket URL was opened without the WebSocket handshake, or in a version not spoken.
    #[error("{0}")]
    UpgradeRequired(String),
    /// 429: too many attempts; try again after the given time.
    #[error("too many attempts; try again in {} seconds", retry_after.as_secs())]
    TooManyRequests {
        /// How long to wait.
        retry_after: Duration,
    },
    /// 502: something the server reached for (a camera, a hub) answered badly or not at all.
    #[error("{message}")]
    BadGateway {
        /// Machine-readable code (`CAMERA_UNREACHABLE`, `SNAPSHOT_NOT_AN_IMAGE`, ...).
        code: &'static str,
        /// For a person.
        message: String,
    },
    /// 504: something the server reached for did not answer in time.
    #[error("{message}")]
    GatewayTimeout {
        /// Machine-readable code (`CAMERA_TIMEOUT`).
        code: &'static str,
        /// For a person.
        message: String,
    },
    /// 503: a dependency is down.
    #[error("{0}")]
    Unavailable(String),
    /// 500: a bug or an outage; logged, never detailed to the client.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// 404 with a resource-specific code.
    pub fn not_found(code: &'static str, what: &str) -> Self {
        ApiError::NotFound {
            code,
            message: format!("{what} not found"),
        }
    }

    /// 403 with a code.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Forbidden {
            code,
            message: message.into(),
        }
    }

    /// 401 with a code.
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Unauthorized {
            code,
            message: message.into(),
        }
    }

    /// 400 naming one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        ApiError::Validation(Invalid::field(field, message))
    }

    /// 500 from anything.
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(err.into())
    }

    /// The HTTP status this error answers with (the API and the web pages alike).
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation(_) | ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } | ApiError::Blocked { .. } => StatusCode::CONFLICT,
            ApiError::Gone { .. } => StatusCode::GONE,
            ApiError::PayloadTooLarge { .. } | ApiError::FormTooLarge(_) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::UpgradeRequired(_) => StatusCode::UPGRADE_REQUIRED,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::BadGateway { .. } => StatusCode::BAD_GATEWAY,
            ApiError::GatewayTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "VALIDATION_ERROR",
            ApiError::BadRequest { code, .. }
            | ApiError::Unauthorized { code, .. }
            | ApiError::Forbidden { code, .. }
            | ApiError::NotFound { code, .. }
            | ApiError::Conflict { code, .. }
            | ApiError::Blocked { code, .. }
            | ApiError::Gone { code, .. }
            | ApiError::BadGateway { code, .. }
            | ApiError::GatewayTimeout { code, .. } => code,
            ApiError::PayloadTooLarge { .. } => "PAYLOAD_TOO_LARGE",
            ApiError::FormTooLarge(_) => "FORM_TOO_LARGE",
            ApiError::UnsupportedMediaType(_) => "UNSUPPORTED_MEDIA_TYPE",
            ApiError::UpgradeRequired(_) => "UPGRADE_REQUIRED",
            ApiError::TooManyRequests { .. } => "TOO_MANY_REQUESTS",
            ApiError::Unavailable(_) => "SERVICE_UNAVAILABLE",
            ApiError::Internal(_) => "INTERNAL_ERROR",
        }
    }

    fn details(&self) -> Option<Value> {
        match self {
            ApiError::Validation(invalid) => Some(json!({ "fields": invalid.0 })),
            ApiError::Conflict {
                field: Some(field), ..
            } => Some(json!({ "field": field })),
            ApiError::Blocked { details, .. } => Some(details.clone()),
            ApiError::TooManyRequests { retry_after } => {
                Some(json!({ "retry_after_seconds": retry_after.as_secs() }))
            }
            _ => None,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => ApiError::not_found("NOT_FOUND", "resource"),
            StoreError::Conflict { field } => ApiError::Conflict {
                code: "CONFLICT",
                message: format!("{field} is already taken"),
                field: Some(field),
            },
            other => ApiError::Internal(other.into()),
        }
    }
}

impl From<crate::farm::FarmError> for ApiError {
    fn from(err: crate::farm::FarmError) -> Self {
        use crate::farm::FarmError;
        match err {
            FarmError::NotFound { code, what } => ApiError::not_found(code, what),
            FarmError::Invalid { field, message } => ApiError::field(field, message),
            FarmError::Refused {
                code,
                field,
                message,
            } => ApiError::Conflict {
                code,
                field: field.map(str::to_string),
                message,
            },
            FarmError::Blocked {
                code,
                message,
                details,
            } => ApiError::Blocked {
                code,
                message,
                details,
            },
            FarmError::HubTimeout(message) => ApiError::Unavailable(message),
            FarmError::Store(err) => err.into(),
            FarmError::Internal(err) => ApiError::Internal(err),
        }
    }
}

impl From<store::DbError> for ApiError {
    fn from(err: store::DbError) -> Self {
        StoreError::from(err).into()
    }
}

impl From<Invalid> for ApiError {
    fn from(invalid: Invalid) -> Self {
        ApiError::Validation(invalid)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(err) = &self {
            // The request id is on the enclosing span; the client only gets the code.
            tracing::error!(error = ?err, "request failed");
        }
        let mut body = json!({
            "success": false,
            "error": { "code": self.code(), "message": self.to_string() },
        });
        if let Some(details) = self.details() {
            body["error"]["details"] = details;
        }
        let mut response = (self.status(), Json(body)).into_response();
        let headers = response.headers_mut();
        match self {
            ApiError::TooManyRequests { retry_after } => {
                let secs = retry_after.as_secs().max(1).to_string();
                if let Ok(value) = HeaderValue::from_str(&secs) {
                    headers.insert(header::RETRY_AFTER, value);
                }
            }
            ApiError::UpgradeRequired(_) => {
                // RFC 9110 asks a 426 to name the protocol; RFC 6455 the WebSocket version.
                headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
                headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
                headers.insert(
                    header::SEC_WEBSOCKET_VERSION,
                    HeaderValue::from_static("13"),
                );
            }
            _ => {}
        }
        response
    }
}

/// How one resource's store errors read to a client: its 404, and its unique value taken.
#[derive(Debug, Clone, Copy)]
pub struct Resource {
    /// The 404 code (`SKU_NOT_FOUND`).
    pub not_found: &'static str,
    /// What it is, for "… not found".
    pub what: &'static str,
    /// The 409 code when its unique value is taken (`SKU_TAKEN`).
    pub taken: &'static str,
    /// The field holding that value.
    pub field: &'static str,
    /// Why the value is refused, for a person.
    pub taken_message: &'static str,
}

impl Resource {
    /// The resource's 404.
    pub fn not_found(&self) -> ApiError {
        ApiError::not_found(self.not_found, self.what)
    }

    /// A store error about the resource, as the client reads it.
    pub fn error(&self, err: StoreError) -> ApiError {
        self.error_at(err, self.field)
    }

    /// The same, naming the taken value at `field` (`colors[2].color_name` in a batch).
    pub fn error_at(&self, err: StoreError, field: &str) -> ApiError {
        match err {
            StoreError::NotFound => self.not_found(),
            StoreError::Conflict { .. } => ApiError::Conflict {
                code: self.taken,
                field: Some(field.to_string()),
                message: self.taken_message.into(),
            },
            other => other.into(),
        }
    }
}

/// Turns a store `NotFound` into a 404 with a specific code, or into a field error when the
/// missing row was named in the body.
pub trait OrNotFound<T> {
    /// Maps `NotFound` to `code` ("... not found" for `what`), other errors as usual.
    fn or_not_found(self, code: &'static str, what: &str) -> Result<T, ApiError>;
    /// Maps `NotFound` to a 400 on `field` saying `message`, other errors as usual.
    fn or_field(self, field: &str, message: &str) -> Result<T, ApiError>;
}

impl<T> OrNotFound<T> for Result<T, StoreError> {
    fn or_not_found(self, code: &'static str, what: &str) -> Result<T, ApiError> {
        self.map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found(code, what),
            other => other.into(),
        })
    }

    fn or_field(self, field: &str, message: &str) -> Result<T, ApiError> {
        self.map_err(|e| match e {
            StoreError::NotFound => ApiError::field(field, message),
            other => other.into(),
        })
    }
}
