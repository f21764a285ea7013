//! The HTTP edge: the generated API plus the documentation and health routes,
//! wrapped in the middleware every request goes through.

use std::sync::Arc;
use std::time::Instant;

use keel_runtime::server::{RequestId, problem_from_error};
use poem::http::{HeaderValue, StatusCode};
use poem::middleware::CatchPanic;
use poem::web::{Data, Path, Redirect};
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route, get, handler};
use sea_orm::DatabaseConnection;
use tracing::Instrument;
use tracing::field::Empty;

use crate::users::UsersService;
use crate::users::adapters::SeaOrmUserRepository;

/// The whole application as one poem endpoint.
pub fn app(db: DatabaseConnection) -> impl Endpoint {
    let users = UsersService::new(SeaOrmUserRepository::new(db.clone()));
    let api = keel_server::api(users);
    let swagger = Arc::new(utoipa_swagger_ui::Config::from("/openapi.json"));
    Route::new()
        .nest("/", api)
        .at("/openapi.json", get(contract_json))
        .at("/openapi.yaml", get(contract_yaml))
        .at("/docs", get(docs_redirect))
        .at("/docs/*path", get(docs).data(swagger))
        .at("/health", get(live))
        .at("/health/ready", get(ready).data(db))
        .with(CatchPanic::new().with_handler(|_| {
            let request_id = RequestId::from_header_or_new(None);
            let error = poem::Error::from_status(StatusCode::INTERNAL_SERVER_ERROR);
            problem_from_error(&error, &request_id, "", &[]).into_response()
        }))
        .around(observe)
}

/// One span per request (method, route, status, latency, request id); the
/// request id is taken from `X-Request-Id` or made, and echoed back; any error
/// that reaches this point leaves as problem+json.
async fn observe<E: Endpoint>(next: Arc<E>, mut req: Request) -> poem::Result<Response> {
    let request_id = RequestId::from_header_or_new(
        req.headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
    );
    req.extensions_mut().insert(request_id.clone());
    let span = tracing::info_span!(
        "request",
        method = %req.method(),
        path = %req.uri().path(),
        route = Empty,
        operation = Empty,
        request_id = %request_id,
        status = Empty,
        latency_ms = Empty,
    );
    let started = Instant::now();
    let path = req.uri().path().to_owned();
    let mut response = async {
        match next.call(req).await {
            Ok(response) => response.into_response(),
            Err(error) => {
                problem_from_error(&error, &request_id, &path, keel_server::PATH_TEMPLATES)
                    .into_response()
            }
        }
    }
    .instrument(span.clone())
    .await;
    if let Ok(value) = HeaderValue::from_str(request_id.as_str()) {
        response.headers_mut().insert("x-request-id", value);
    }
    let status = response.status();
    span.record("status", status.as_u16());
    span.record("latency_ms", started.elapsed().as_secs_f64() * 1000.0);
    span.in_scope(|| {
        if status.is_server_error() {
            tracing::error!("request failed");
        } else {
            tracing::info!("request handled");
        }
    });
    Ok(response)
}

#[handler]
fn contract_json() -> Response {
    Response::builder()
        .content_type("application/json")
        .body(keel_server::CONTRACT_JSON)
}

#[handler]
fn contract_yaml() -> Response {
    Response::builder()
        .content_type("application/yaml")
        .body(keel_server::CONTRACT_YAML)
}

/// Swagger UI's assets are relative, so the page must be served under `/docs/`.
#[handler]
fn docs_redirect() -> Redirect {
    Redirect::permanent("/docs/")
}

#[handler]
fn docs(
    Path(path): Path<String>,
    Data(config): Data<&Arc<utoipa_swagger_ui::Config<'static>>>,
) -> poem::Result<Response> {
    match utoipa_swagger_ui::serve(&path, config.clone()) {
        Ok(Some(file)) => Ok(Response::builder()
            .content_type(file.content_type)
            .body(file.bytes.to_vec())),
        Ok(None) => Err(poem::error::NotFoundError.into()),
        Err(error) => Err(poem::Error::from_string(
            format!("serving Swagger UI failed: {error}"),
            StatusCode::INTERNAL_SERVER_ERROR,
        )),
    }
}

/// Liveness: the process answers.
#[handler]
fn live() -> Response {
    Response::builder()
        .content_type("application/json")
        .body(r#"{"status":"ok"}"#)
}

/// Readiness: the database answers too.
#[handler]
async fn ready(Data(db): Data<&DatabaseConnection>) -> Response {
    match db.ping().await {
        Ok(()) => Response::builder()
            .content_type("application/json")
            .body(r#"{"status":"ready"}"#),
        Err(error) => {
            tracing::warn!(%error, "readiness check: database unreachable");
            let request_id = RequestId::from_header_or_new(None);
            let mut problem = keel_runtime::server::Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not-ready",
                "the database is unreachable",
            );
            problem.instance = Some(format!("urn:keel:request:{request_id}"));
            problem.into_response()
        }
    }
}
