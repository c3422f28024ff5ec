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
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Required};

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
        handler: H,
    ) -> Self
    where
        H: Handler<T, App>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).unwrap_or(MethodFilter::GET);
        let route = on(filter, handler).layer(axum::extract::DefaultBodyLimit::disable());
        self.push(method, path, access, summary, route)
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
        });
        self
    }

    /// Attaches an example request body to the route added last.
    pub fn example(mut self, body: serde_json::Value) -> Self {
        if let Some(last) = self.docs.last_mut() {
            last.example = Some(body);
        }
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
        if let Some(example) = &doc.example {
            op = op.request_body(Some(
                utoipa::openapi::request_body::RequestBodyBuilder::new()
                    .content(
                        "application/json",
                        utoipa::openapi::ContentBuilder::new()
                            .example(Some(example.clone()))
                            .build(),
                    )
                    .build(),
            ));
        }
        for name in path_params(doc.path) {
            op = op.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True),
            );
        }
        if matches!(doc.access, Access::Member(_)) {
            op = op.parameter(
                ParameterBuilder::new()
                    .name("X-Tenant-ID")
                    .parameter_in(ParameterIn::Header)
                    .required(Required::False)
                    .description(Some("the farm (or the `tenant` query parameter)")),
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
