//! The JSON envelope every answer wears: `{success, data, meta}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Paging facts sent beside a list.
#[derive(Debug, Clone, Serialize)]
pub struct Meta {
    /// How many items match in all.
    pub total: i64,
    /// The page number (1-based).
    pub page: i64,
    /// Items per page.
    pub limit: i64,
}

impl Meta {
    /// The meta of a whole (unpaged) list of `len` items.
    pub fn whole(len: usize) -> Meta {
        let total = i64::try_from(len).unwrap_or(i64::MAX);
        Meta {
            total,
            page: 1,
            limit: total,
        }
    }
}

/// A successful answer.
#[derive(Debug)]
pub struct Envelope<T> {
    status: StatusCode,
    data: T,
    meta: Option<Meta>,
    /// Fields sent beside `data` at the top level, where the original's client reads them.
    beside: serde_json::Map<String, serde_json::Value>,
}

impl<T: Serialize> Envelope<T> {
    /// 200 with `data`.
    pub fn ok(data: T) -> Self {
        Envelope {
            status: StatusCode::OK,
            data,
            meta: None,
            beside: Default::default(),
        }
    }

    /// 201 with the created `data`.
    pub fn created(data: T) -> Self {
        Envelope {
            status: StatusCode::CREATED,
            data,
            meta: None,
            beside: Default::default(),
        }
    }

    /// 202: `data` says what was queued to happen.
    pub fn accepted(data: T) -> Self {
        Envelope {
            status: StatusCode::ACCEPTED,
            data,
            meta: None,
            beside: Default::default(),
        }
    }

    /// 200 with a list and its paging facts.
    pub fn list(data: T, meta: Meta) -> Self {
        Envelope {
            status: StatusCode::OK,
            data,
            meta: Some(meta),
            beside: Default::default(),
        }
    }

    /// The same answer with `fields` also at the top level, beside `data` (an object's
    /// keys; anything else is ignored). `success`, `data` and `meta` cannot be overridden.
    pub fn beside(mut self, fields: serde_json::Value) -> Self {
        if let serde_json::Value::Object(map) = fields {
            self.beside.extend(
                map.into_iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "success" | "data" | "meta")),
            );
        }
        self
    }
}

impl<I: Serialize> Envelope<Vec<I>> {
    /// 200 with a whole (unpaged) list.
    pub fn all(items: Vec<I>) -> Self {
        let meta = Meta::whole(items.len());
        Envelope {
            status: StatusCode::OK,
            data: items,
            meta: Some(meta),
            beside: Default::default(),
        }
    }
}

#[derive(Serialize)]
struct Body<'a, T> {
    success: bool,
    data: &'a T,
    #[serde(skip_serializing_if = "Option::is_none")]
    meta: Option<&'a Meta>,
    #[serde(flatten)]
    beside: &'a serde_json::Map<String, serde_json::Value>,
}

impl<T: Serialize> Envelope<T> {
    /// The answer's status and JSON body, for an answer kept to be sent again.
    pub fn into_json(self) -> (StatusCode, axum::body::Bytes) {
        let body = Body {
            success: true,
            data: &self.data,
            meta: self.meta.as_ref(),
            beside: &self.beside,
        };
        // Serialising plain data to a Vec cannot fail; an empty body would show if it did.
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        (self.status, bytes.into())
    }
}

/// An answer from a JSON body kept earlier ([`Envelope::into_json`]).
pub fn json_response(status: StatusCode, body: axum::body::Bytes) -> Response {
    (
        status,
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

impl<T: Serialize> IntoResponse for Envelope<T> {
    fn into_response(self) -> Response {
        let body = Body {
            success: true,
            data: &self.data,
            meta: self.meta.as_ref(),
            beside: &self.beside,
        };
        (self.status, Json(body)).into_response()
    }
}

/// The result of a handler.
pub type ApiResult<T> = Result<Envelope<T>, crate::error::ApiError>;

/// Page and limit from a query, bounded.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
#[serde(default)]
pub struct Paging {
    /// 1-based page.
    pub page: i64,
    /// Items per page (1..=200).
    pub limit: i64,
}

impl Default for Paging {
    fn default() -> Self {
        Paging { page: 1, limit: 50 }
    }
}

impl Paging {
    /// Rows to skip.
    pub fn offset(&self) -> i64 {
        (self.page.max(1) - 1) * self.limit()
    }

    /// Rows to take.
    pub fn limit(&self) -> i64 {
        self.limit.clamp(1, 200)
    }

    /// The meta for a page of a list of `total`.
    pub fn meta(&self, total: i64) -> Meta {
        Meta {
            total,
            page: self.page.max(1),
            limit: self.limit(),
        }
    }
}
