//! The HTTP edge: the generated API plus the documentation and health routes,
//! wrapped in the middleware every request goes through.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use keel_runtime::server::{
    Problem, RequestId, TokenVerifier, allowed_methods, operation_of, response_from_error,
};
use poem::http::{HeaderValue, StatusCode};
use poem::middleware::{CatchPanic, Cors};
use poem::web::{Data, Path, Redirect};
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response, Route, get, handler};
use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};
use tracing::Instrument;
use tracing::field::Empty;

use super::config::Config;
use crate::audit::{AuditService, SeaOrmAuditLog};
use crate::auth::refresh_tokens::SeaOrmRefreshTokens;
use crate::auth::{AccessTokens, AuthService, Passwords};
use crate::catalog::ProductsService;
use crate::catalog::adapters::{CachedProducts, SeaOrmProducts};
use crate::notifications::NotificationsService;
use crate::notifications::adapters::{SeaOrmNotifications, UsersDirectory};
use crate::orders::OrdersService;
use crate::orders::adapters::SeaOrmOrders;
use crate::users::UsersService;
use crate::users::adapters::{CachedUsers, SeaOrmUserRepository};

/// What the HTTP edge is built from.
pub struct App {
    pub db: DatabaseConnection,
    /// Whether the database answers; the edge refuses requests that need it
    /// while it does not.
    pub db_health: super::db_health::DatabaseHealth,
    pub transactions: super::db::Transactions,
    pub broker: Option<super::events::rabbitmq::BrokerHealth>,
    /// Set when shutdown begins: readiness fails from then on.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
    pub tokens: Arc<AccessTokens>,
    pub cipher: Arc<super::crypto::FieldCipher>,
    /// Users, and products' prices, by id (ADR 20).
    pub caches: ReadCaches,
    pub config: Config,
}

/// The read caches the services share (ADR 20).
pub struct ReadCaches {
    pub users: Arc<super::row_cache::RowCache<crate::users::domain::User>>,
    pub prices: Arc<super::row_cache::RowCache<crate::orders::domain::PricedProduct>>,
}

/// The whole application as one poem endpoint.
pub fn app(app: App) -> impl Endpoint<Output = Response> {
    let App {
        db,
        db_health,
        transactions,
        broker,
        draining,
        tokens,
        cipher,
        caches,
        config,
    } = app;
    let passwords = Passwords::new();
    let audit_log = SeaOrmAuditLog::new(db.clone());
    let cached_users = || {
        CachedUsers::new(
            SeaOrmUserRepository::new(db.clone(), cipher.clone()),
            caches.users.clone(),
        )
    };
    let users = UsersService::new(
        cached_users(),
        transactions.clone(),
        audit_log.clone(),
        passwords.clone(),
    );
    let auth = AuthService::new(
        cached_users(),
        transactions.clone(),
        SeaOrmRefreshTokens::new(db.clone()),
        audit_log.clone(),
        passwords,
        tokens.clone(),
        config.refresh_token_ttl_secs,
    );
    let notifications = NotificationsService::new(
        SeaOrmNotifications::new(db.clone()),
        UsersDirectory::new(SeaOrmUserRepository::new(db.clone(), cipher.clone())),
    );
    let health = super::health::HealthService::new(db_health.clone(), broker, draining);
    let idempotency_ttl = Duration::from_secs(config.idempotency_ttl_hours * 3600);
    let cached_products =
        || CachedProducts::new(SeaOrmProducts::new(db.clone()), caches.prices.clone());
    let products = ProductsService::new(cached_products(), transactions.clone());
    let orders = OrdersService::new(
        SeaOrmOrders::new(db.clone()),
        cached_products(),
        transactions.clone(),
        idempotency_ttl,
    );
    let payments = crate::payments_service(&config, &db, &transactions);
    let api = keel_server::api(
        auth,
        users,
        AuditService::new(audit_log),
        health,
        notifications,
        products,
        orders,
        payments,
    );
    let verifier: Arc<dyn TokenVerifier> = tokens;
    let swagger = Arc::new(utoipa_swagger_ui::Config::from("/openapi.json"));
    let cors = config
        .cors_origins
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .fold(
            Cors::new().allow_credentials(false).expose_headers([
                "etag",
                "location",
                "retry-after",
                "traceparent",
                "x-request-id",
            ]),
            |cors, origin| cors.allow_origin(origin),
        );
    let route = Route::new()
        .nest("/", api)
        .at("/openapi.json", get(contract_json))
        .at("/openapi.yaml", get(contract_yaml))
        .at("/docs", get(docs_redirect))
        .at("/docs/*path", get(docs).data(swagger))
        .at("/metrics", get(prometheus))
        .data(verifier)
        .with(CatchPanic::new().with_handler(|_| {
            let request_id = RequestId::from_header_or_new(None);
            let error = poem::Error::from_status(StatusCode::INTERNAL_SERVER_ERROR);
            response_from_error(&error, &request_id, "", &[])
        }));
    let edge = Edge {
        limits: Arc::new(Limits::new(&config)),
        timeout: Duration::from_secs(config.request_timeout_secs),
        max_body_bytes: config.max_body_bytes,
        db_health,
    };
    let with_cors = !config.cors_origins.trim().is_empty();
    let endpoint = route.around(move |next, req| observe(next, req, edge.clone()));
    if with_cors {
        endpoint.with(cors).boxed()
    } else {
        endpoint.boxed()
    }
}

/// The limits every request is held to before it reaches a route.
#[derive(Clone)]
struct Edge {
    limits: Arc<Limits>,
    timeout: Duration,
    max_body_bytes: usize,
    db_health: super::db_health::DatabaseHealth,
}

/// Refuses bodies over the limit with 413: by `Content-Length` when there is
/// one, else by reading a chunked body up to the limit.
async fn limit_body(req: &mut Request, max: usize, request_id: &RequestId) -> Option<Response> {
    let too_large = || {
        let detail = format!("the request body is larger than the {max} bytes this server accepts");
        Some(
            Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large", detail)
                .for_request(request_id)
                .into_response(),
        )
    };
    let declared = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(length) if length > max as u64 => too_large(),
        Some(_) => None,
        None if req.headers().contains_key("transfer-encoding") => {
            match req.take_body().into_bytes_limit(max).await {
                Ok(bytes) => {
                    req.set_body(bytes);
                    None
                }
                Err(_) => too_large(),
            }
        }
        None => None,
    }
}

/// Whose budget a request spends. A token is kept as its digest, not the
/// secret itself; neither key allocates, and this is on every request.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Budget {
    Address(IpAddr),
    Token([u8; 32]),
}

/// Request budgets per client address and per access token: a keyed GCRA rate
/// limiter each (governor), with a far smaller one for `/v1/auth/*`, where
/// passwords are guessed.
struct Limits {
    general: DefaultKeyedRateLimiter<Budget>,
    auth: DefaultKeyedRateLimiter<IpAddr>,
}

impl Limits {
    fn new(config: &Config) -> Self {
        let per_minute =
            |n: u32| Quota::per_minute(NonZeroU32::new(n).expect("clap checks the range"));
        Limits {
            general: RateLimiter::keyed(per_minute(config.rate_limit_per_minute)),
            auth: RateLimiter::keyed(per_minute(config.auth_rate_limit_per_minute)),
        }
    }

    /// `Some(seconds to wait)` when the request is over budget.
    fn check(&self, req: &Request) -> Option<u64> {
        let ip = req
            .remote_addr()
            .as_socket_addr()
            .map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
        // Probes are never throttled: a 429 would read as an unhealthy replica.
        if req.uri().path().starts_with("/health") {
            return None;
        }
        // The limiter's own clock, read only for a request over budget: making
        // a clock (`DefaultClock::default()`) calibrates it, which cost more
        // than the rest of the check together.
        let wait = |not_until: governor::NotUntil<_>| {
            not_until
                .wait_time_from(self.general.clock().now())
                .as_secs()
                .max(1)
        };
        if req.uri().path().starts_with("/v1/auth/")
            && let Err(not_until) = self.auth.check_key(&ip)
        {
            return Some(wait(not_until));
        }
        if let Err(not_until) = self.general.check_key(&Budget::Address(ip)) {
            return Some(wait(not_until));
        }
        let token = req
            .headers()
            .get("authorization")
            .and_then(|h| h.to_str().ok());
        if let Some(token) = token {
            let key = Budget::Token(Sha256::digest(token.as_bytes()).into());
            if let Err(not_until) = self.general.check_key(&key) {
                return Some(wait(not_until));
            }
        }
        None
    }
}

/// One span per request (method, route, status, latency, request id); the
/// request id is taken from `X-Request-Id` or made, and echoed back; budgets and
/// the request timeout are enforced; any error that reaches this point leaves as
/// problem+json; security headers go on every response.
async fn observe<E: Endpoint>(
    next: Arc<E>,
    mut req: Request,
    edge: Edge,
) -> poem::Result<Response> {
    let request_id = RequestId::from_header_or_new(
        req.headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
    );
    req.extensions_mut().insert(request_id.clone());
    let span = tracing::info_span!(
        "request",
        otel.kind = "server",
        method = %req.method(),
        path = %req.uri().path(),
        route = Empty,
        operation = Empty,
        request_id = %request_id,
        trace_id = Empty,
        status = Empty,
        latency_ms = Empty,
    );
    // W3C trace context: continue the caller's trace, or start one; the
    // response says which, and events recorded here carry it on.
    let traceparent = super::trace::adopt(
        &span,
        req.headers()
            .get("traceparent")
            .and_then(|v| v.to_str().ok()),
    );
    let started = Instant::now();
    let path = req.uri().path().to_owned();
    // Named from the contract before any handler runs, so a 401 or a 400 still
    // counts against its operation; "none" for what the contract does not serve.
    let operation =
        operation_of(req.method().as_str(), &path, keel_server::OPERATIONS).unwrap_or("none");
    span.record("operation", operation);
    let in_flight = metrics::gauge!("keel_http_requests_in_flight");
    in_flight.increment(1.0);
    let https = req
        .headers()
        .get("x-forwarded-proto")
        .is_some_and(|p| p == "https")
        || req.uri().scheme_str() == Some("https");
    let timeout = edge.timeout;
    let mut response = if let Some(retry_after) = edge.limits.check(&req) {
        too_many_requests(&request_id, retry_after)
    } else if let Some(rejected) = limit_body(&mut req, edge.max_body_bytes, &request_id).await {
        rejected
    } else if needs_database(operation) && !edge.db_health.is_up() {
        // Refused before it runs, so it waits for nothing and changes nothing.
        database_unavailable(&request_id, edge.db_health.retry_after_secs(), true)
    } else {
        let health = edge.db_health.clone();
        let needs_database = needs_database(operation);
        // A request that needs the database is abandoned when the probe finds
        // it gone: otherwise it would wait out the pool's acquire timeout.
        // Its transaction, if any, rolls back when dropped; if it had already
        // committed, a retry with its Idempotency-Key replays it.
        let call = async {
            tokio::select! {
                called = next.call(req) => Some(called),
                _ = health.lost(), if needs_database => None,
            }
        };
        let (response, connection_lost) = super::db_health::watch_connection(
            async {
                match tokio::time::timeout(timeout, call).await {
                    Ok(None) => {
                        tracing::warn!("the database went away: request abandoned with 503");
                        database_unavailable(&request_id, health.retry_after_secs(), false)
                    }
                    Ok(Some(Ok(response))) => response.into_response(),
                    Ok(Some(Err(error))) => {
                        let mut response = response_from_error(
                            &error,
                            &request_id,
                            &path,
                            keel_server::PATH_TEMPLATES,
                        );
                        if response.status() == StatusCode::METHOD_NOT_ALLOWED
                            && let Some(allow) = allowed_methods(&path, keel_server::OPERATIONS)
                            && let Ok(value) = HeaderValue::from_str(&allow)
                        {
                            response.headers_mut().insert("allow", value);
                        }
                        response
                    }
                    Err(_) => {
                        tracing::warn!("request timed out");
                        let detail = format!(
                            "the request took longer than {} s and was abandoned",
                            timeout.as_secs()
                        );
                        let mut response =
                            Problem::new(StatusCode::SERVICE_UNAVAILABLE, "timeout", detail)
                                .for_request(&request_id)
                                .into_response();
                        response
                            .headers_mut()
                            .insert("retry-after", HeaderValue::from(1));
                        response
                    }
                }
            }
            .instrument(span.clone()),
        )
        .await;
        // A 500 that a lost database connection caused is the outage's 503:
        // the client may retry. The check also closes the gate for the
        // requests after this one without waiting for the next probe.
        if response.status() == StatusCode::INTERNAL_SERVER_ERROR
            && (connection_lost || !health.check().await)
        {
            if connection_lost {
                tokio::spawn(async move { health.check().await });
            }
            span.in_scope(|| tracing::warn!("the database connection failed: answering 503"));
            database_unavailable(&request_id, edge.db_health.retry_after_secs(), false)
        } else {
            response
        }
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(request_id.as_str()) {
        headers.insert("x-request-id", value);
    }
    if let Some(value) = traceparent.and_then(|t| HeaderValue::from_str(&t).ok()) {
        headers.insert("traceparent", value);
    }
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static("frame-ancestors 'none'"),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    if https {
        headers.insert(
            "strict-transport-security",
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    let status = response.status();
    in_flight.decrement(1.0);
    let class = super::metrics::status_class(status.as_u16());
    metrics::counter!("keel_http_requests_total", "operation" => operation, "status_class" => class)
        .increment(1);
    if status.is_server_error() {
        metrics::counter!("keel_http_request_errors_total", "operation" => operation).increment(1);
    }
    metrics::histogram!("keel_http_request_duration_seconds", "operation" => operation, "status_class" => class)
        .record(started.elapsed().as_secs_f64());
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

/// The operations that answer without the database: the probes (readiness
/// checks it itself) and the signing keys, which are in memory. Everything
/// else the contract serves declares a 503 for when it is away.
fn needs_database(operation: &str) -> bool {
    !matches!(
        operation,
        "getLiveness" | "getReadiness" | "getJwks" | "none"
    )
}

/// `refused`: the request never ran, so nothing was done; otherwise it
/// failed part-way, and a retry (with its `Idempotency-Key`) settles it.
fn database_unavailable(request_id: &RequestId, retry_after: u64, refused: bool) -> Response {
    let done = if refused {
        "nothing was done"
    } else {
        "the request failed on it"
    };
    let detail = format!("the database is unreachable ({done}); try again in {retry_after} s");
    let mut response = Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "database-unavailable",
        detail,
    )
    .for_request(request_id)
    .into_response();
    response
        .headers_mut()
        .insert("retry-after", HeaderValue::from(retry_after));
    response
}

fn too_many_requests(request_id: &RequestId, retry_after: u64) -> Response {
    let detail = format!("too many requests from this client; try again in {retry_after} s");
    let mut response = Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate-limited", detail)
        .for_request(request_id)
        .into_response();
    response
        .headers_mut()
        .insert("retry-after", HeaderValue::from(retry_after));
    response
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

/// Prometheus text format.
#[handler]
fn prometheus() -> Response {
    Response::builder()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(super::metrics::exporter().render())
}
