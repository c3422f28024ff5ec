//! The route table: every route is registered here with its access rule and summary,
//! which builds both the axum router and the OpenAPI document (so the document lists
//! every route, and the isolation test can walk them all).

use crate::app::App;
use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, on};
use domain::Role;
use serde::Serialize;
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem, PathsBuilder,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, Object, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, RefOr, Required,
};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "role", rename_all = "snake_case")]
pub enum Access {
    /// Anyone.
    Public,
    /// Any signed-in user (no farm involved).
    Signed,
    /// A member of the farm named by `X-Tenant-ID` (or `?tenant=`), with at least this role.
    Member(Role),
    /// A member of the farm named by the path's `{tenant_id}`, with at least this role.
    FarmPath(Role),
}

/// What a path or query parameter holds, as the document types it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// Any text.
    Text,
    /// A UUID: the ids of farms, users, files, jobs, tokens and dead letters.
    Uuid,
    /// A whole number from 1 (pages, limits, version numbers).
    Count,
    /// `true` or `false`.
    Flag,
    /// One of these words.
    OneOf(&'static [&'static str]),
}

/// A body that a route streams (uploads), as the document shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upload {
    /// `multipart/form-data`: the binary `file`, and these optional text fields.
    Multipart(&'static [&'static str]),
    /// The file's bytes as they are (`application/octet-stream`).
    Bytes,
}

/// `page` and `limit` of a paged list.
pub const PAGING: &[(&str, Param)] = &[("page", Param::Count), ("limit", Param::Count)];

/// `sortOrder` of a sorted list.
pub const SORT_ORDER: (&str, Param) = ("sortOrder", Param::OneOf(&["asc", "desc"]));

/// One documented route.
#[derive(Debug, Clone)]
pub struct RouteDoc {
    /// HTTP method.
    pub method: Method,
    /// Path in axum syntax (`/api/v1/tenants/{tenant_id}`).
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// One line on what it does.
    pub summary: &'static str,
    /// A request body that the route accepts, for the document and for route-walking tests.
    pub example: Option<serde_json::Value>,
    /// Whether the JSON body may be left out (`OptionalJson`).
    pub body_optional: bool,
    /// The streamed body of an upload route.
    pub upload: Option<Upload>,
    /// The query parameters it reads.
    pub query: Vec<(&'static str, Param)>,
}

/// Builds the router and its documentation together.
pub struct Routes {
    router: Router<App>,
    docs: Vec<RouteDoc>,
}

impl Routes {
    /// An empty table.
    pub fn new() -> Self {
        Routes {
            router: Router::new(),
            docs: Vec::new(),
        }
    }

    /// Registers `handler` for `method path`.
    pub fn add<H, T>(
        self,
        method: Method,
        path: &'static str,
        access: Access,
        summary: &'static str,
        handler: H,
    ) -> Self
    where
        H: Handler<T, App>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).unwrap_or(MethodFilter::GET);
        self.push(method, path, access, summary, on(filter, handler))
    }

    /// Registers a route whose body streams (uploads): the general body limit does not
    /// apply; the handler enforces the upload limit as it reads.
    pub fn add_streaming<H, T>(
        self,
        method: Method,
        path: &'static str,
        access: Access,
        summary: &'static str,
        upload: Upload,
        handler: H,
    ) -> Self
    where
        H: Handler<T, App>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).unwrap_or(MethodFilter::GET);
        let route = on(filter, handler).layer(axum::extract::DefaultBodyLimit::disable());
        let mut routes = self.push(method, path, access, summary, route);
        if let Some(last) = routes.docs.last_mut() {
            last.upload = Some(upload);
        }
        routes
    }

    fn push(
        mut self,
        method: Method,
        path: &'static str,
        access: Access,
        summary: &'static str,
        route: axum::routing::MethodRouter<App>,
    ) -> Self {
        self.router = self.router.route(path, route);
        self.docs.push(RouteDoc {
            method,
            path,
            access,
            summary,
            example: None,
            body_optional: false,
            upload: None,
            query: Vec::new(),
        });
        self
    }

    /// Attaches an example request body to the route added last (a body it requires).
    pub fn example(mut self, body: serde_json::Value) -> Self {
        if let Some(last) = self.docs.last_mut() {
            last.example = Some(body);
        }
        self
    }

    /// Attaches an example request body that the route added last also does without.
    pub fn optional_example(self, body: serde_json::Value) -> Self {
        let mut routes = self.example(body);
        if let Some(last) = routes.docs.last_mut() {
            last.body_optional = true;
        }
        routes
    }

    /// Documents query parameters of the route added last.
    pub fn query(mut self, params: &[(&'static str, Param)]) -> Self {
        if let Some(last) = self.docs.last_mut() {
            last.query.extend_from_slice(params);
        }
        self
    }

    /// Adds another area's routes to this table.
    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.docs.extend(other.docs);
        self
    }

    /// The router and the documentation.
    pub fn into_parts(self) -> (Router<App>, Vec<RouteDoc>) {
        (self.router, self.docs)
    }
}

impl Default for Routes {
    fn default() -> Self {
        Routes::new()
    }
}

fn http_method(method: &Method) -> HttpMethod {
    match *method {
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::PATCH => HttpMethod::Patch,
        Method::DELETE => HttpMethod::Delete,
        Method::HEAD => HttpMethod::Head,
        Method::OPTIONS => HttpMethod::Options,
        _ => HttpMethod::Get,
    }
}

/// The `{name}` segments of a path.
pub fn path_params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

/// What a path parameter holds, by its name: the ids the store makes are UUIDs; a printer is
/// named by its id or the farm's number for it, a hub by the id it was registered with.
fn path_param(name: &str) -> (Param, Option<&'static str>) {
    match name {
        "tenant_id" | "user_id" | "token_id" | "file_id" | "job_id" | "message_id"
        | "camera_id" => (Param::Uuid, None),
        "version_number" => (Param::Count, Some("the file's version number")),
        "printer_id" => (
            Param::Text,
            Some("the printer's id or the farm's number for it"),
        ),
        "hub_id" => (
            Param::Text,
            Some("the hub's id, as registered (`pfhub-a1b2c3d4`)"),
        ),
        "token" => (Param::Text, Some("the signed link's token")),
        _ => (Param::Text, None),
    }
}

/// The schema of a parameter.
fn param_schema(param: Param) -> Schema {
    let object = match param {
        Param::Text => ObjectBuilder::new().schema_type(Type::String),
        Param::Uuid => ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::Custom("uuid".into()))),
        Param::Count => ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1)),
        Param::Flag => ObjectBuilder::new().schema_type(Type::Boolean),
        Param::OneOf(words) => ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(words.iter().copied())),
    };
    Schema::Object(object.build())
}

/// A schema that types each value of an example body (every field optional: an example
/// shows what may be sent, not what must).
fn schema_of(example: &serde_json::Value) -> Schema {
    use serde_json::Value;
    match example {
        Value::Object(fields) => {
            let mut object = ObjectBuilder::new().schema_type(Type::Object);
            for (name, value) in fields {
                object = object.property(name, schema_of(value));
            }
            Schema::Object(object.build())
        }
        Value::Array(items) => {
            let array = match items.first() {
                Some(first) => ArrayBuilder::new().items(RefOr::T(schema_of(first))),
                None => ArrayBuilder::new(),
            };
            Schema::Array(array.build())
        }
        Value::String(text) if uuid::Uuid::parse_str(text).is_ok() => param_schema(Param::Uuid),
        Value::String(_) => param_schema(Param::Text),
        Value::Number(n) if n.is_i64() || n.is_u64() => {
            Schema::Object(ObjectBuilder::new().schema_type(Type::Integer).build())
        }
        Value::Number(_) => Schema::Object(ObjectBuilder::new().schema_type(Type::Number).build()),
        Value::Bool(_) => param_schema(Param::Flag),
        Value::Null => Schema::Object(Object::with_type(SchemaType::AnyValue)),
    }
}

/// The request body of a route, if it takes one.
fn request_body(doc: &RouteDoc) -> Option<utoipa::openapi::request_body::RequestBody> {
    let binary = || {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
    };
    let (media, content, required) = match (doc.upload, &doc.example) {
        (Some(Upload::Multipart(fields)), _) => {
            let mut form = ObjectBuilder::new()
                .schema_type(Type::Object)
                .property("file", binary())
                .required("file");
            for field in fields {
                form = form.property(*field, param_schema(Param::Text));
            }
            let content = ContentBuilder::new().schema(Some(form)).build();
            ("multipart/form-data", content, true)
        }
        (Some(Upload::Bytes), _) => {
            let content = ContentBuilder::new().schema(Some(binary())).build();
            ("application/octet-stream", content, true)
        }
        (None, Some(example)) => {
            let content = ContentBuilder::new()
                .schema(Some(schema_of(example)))
                .example(Some(example.clone()))
                .build();
            ("application/json", content, !doc.body_optional)
        }
        (None, None) => return None,
    };
    let required = if required {
        Required::True
    } else {
        Required::False
    };
    Some(
        RequestBodyBuilder::new()
            .content(media, content)
            .required(Some(required))
            .build(),
    )
}

/// The OpenAPI 3.1 document of the routes.
pub fn openapi(docs: &[RouteDoc]) -> OpenApi {
    let mut paths = PathsBuilder::new();
    for doc in docs {
        let mut op = OperationBuilder::new()
            .summary(Some(doc.summary))
            .operation_id(Some(format!(
                "{}_{}",
                doc.method.as_str().to_lowercase(),
                doc.path
                    .trim_start_matches('/')
                    .replace(['/', '{', '}', '-'], "_")
            )))
            .tag(doc.path.split('/').nth(3).unwrap_or("health"))
            .response(
                "200",
                ResponseBuilder::new().description("`{success: true, data, meta?}`"),
            )
            .response(
                "default",
                ResponseBuilder::new()
                    .description("`{success: false, error: {code, message, details?}}`"),
            )
            .extensions(Some(
                ExtensionsBuilder::new()
                    .add(
                        "x-printfarm-access",
                        serde_json::to_value(doc.access).unwrap_or_default(),
                    )
                    .build(),
            ));
        if let Some(body) = request_body(doc) {
            op = op.request_body(Some(body));
        }
        for name in path_params(doc.path) {
            let (param, description) = path_param(name);
            op = op.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .description(description)
                    .schema(Some(param_schema(param))),
            );
        }
        if matches!(doc.access, Access::Member(_)) {
            op = op
                .parameter(
                    ParameterBuilder::new()
                        .name("X-Tenant-ID")
                        .parameter_in(ParameterIn::Header)
                        .required(Required::False)
                        .description(Some("the farm (or the `tenant` query parameter)"))
                        .schema(Some(param_schema(Param::Uuid))),
                )
                .parameter(
                    ParameterBuilder::new()
                        .name("tenant")
                        .parameter_in(ParameterIn::Query)
                        .required(Required::False)
                        .description(Some("the farm, when no `X-Tenant-ID` is sent"))
                        .schema(Some(param_schema(Param::Uuid))),
                );
        }
        for (name, param) in &doc.query {
            op = op.parameter(
                ParameterBuilder::new()
                    .name(*name)
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .schema(Some(param_schema(*param))),
            );
        }
        if doc.access != Access::Public {
            op = op
                .security(SecurityRequirement::new("session", Vec::<String>::new()))
                .security(SecurityRequirement::new("bearer", Vec::<String>::new()));
        }
        paths = paths.path(doc.path, PathItem::new(http_method(&doc.method), op));
    }
    let components = ComponentsBuilder::new()
        .security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        )
        .security_scheme(
            "session",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Cookie(
                utoipa::openapi::security::ApiKeyValue::new(crate::auth::session::COOKIE),
            )),
        )
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("PrintFarm API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some("Runs 3D print farms. Every answer is `{success, data, meta}` or `{success: false, error}`."))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components))
        .build()
}

#[cfg(test)]
mod tests {
    use super::path_params;

    #[test]
    fn path_parameters_are_found() {
        assert_eq!(
            path_params("/api/v1/tenants/{tenant_id}/members/{user_id}"),
            vec!["tenant_id", "user_id"]
        );
        assert!(path_params("/health").is_empty());
    }
}
