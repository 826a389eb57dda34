//! The API gateway: the REST JSON API under `/api/v1` (described by the OpenAPI document at
//! `/api/v1/openapi.json`), calling the services over gRPC, and the web pages: the customer
//! portal under `/portal/` and the agent desk under `/desk/` ([`web`]), kept current by the
//! ticket events it hears on the bus ([`live`]).

pub mod auth;
pub mod caller;
pub mod clients;
pub mod error;
pub mod live;
pub mod rest;
pub mod server;
pub mod sign_in;
pub mod web;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use docket_platform::Shutdown;
use docket_platform::ops::Readiness;
use docket_proto::identity::v1::identity_admin_service_client::IdentityAdminServiceClient;
use docket_proto::identity::v1::identity_service_client::IdentityServiceClient;
use docket_proto::mail::v1::mail_service_client::MailServiceClient;
use docket_proto::ticket::v1::ticket_service_client::TicketServiceClient;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;

use crate::error::problem_response;

/// Settings of the gateway (`[gateway]` in the configuration file).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    #[serde(deserialize_with = "docket_platform::config::socket_addr")]
    pub listen: SocketAddr,
    /// The ticket service's gRPC endpoint. Unset in `docket run`: the one started in-process.
    pub ticket_endpoint: Option<String>,
    /// The identity service's gRPC endpoint. Unset in `docket run`: the one started in-process.
    pub identity_endpoint: Option<String>,
    /// The mail service's gRPC endpoint. Unset in `docket run`: the one started in-process.
    pub mail_endpoint: Option<String>,
    /// Largest request body accepted, in bytes; larger ones get 413.
    pub max_body_bytes: usize,
    /// Requests taking longer are answered 503.
    pub request_timeout_secs: u64,
    /// A client that has not sent a request's headers within this many seconds is cut off (a
    /// client holding half-sent requests open).
    pub header_read_timeout_secs: u64,
    /// Connections open at once; beyond, new ones wait until one closes.
    pub max_connections: usize,
    /// Failed sign-ins one client address may make within `sign_in_window_secs`; after them it
    /// gets 429 with `Retry-After` until the window is over (counted per replica).
    pub sign_in_failures: u32,
    /// The window of `sign_in_failures`, from an address's first failure, in seconds.
    pub sign_in_window_secs: u64,
    /// Reverse proxies (their IP addresses) whose `X-Forwarded-For` names the client; empty:
    /// the connection's peer is the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            ticket_endpoint: None,
            identity_endpoint: None,
            mail_endpoint: None,
            // An article with 20 MiB of attachments, base64-encoded in JSON: what fits in one
            // message to ticket core.
            max_body_bytes: docket_proto::MAX_MESSAGE_BYTES,
            request_timeout_secs: 30,
            header_read_timeout_secs: 10,
            max_connections: 4096,
            sign_in_failures: 30,
            sign_in_window_secs: 300,
            trusted_proxies: Vec::new(),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    /// The services' channels: handlers reach them through the clients bound to their caller
    /// ([`AppState::tickets`] and its siblings), so no call can forget the caller's token.
    ticket_channel: Channel,
    identity_channel: Channel,
    mail_channel: Channel,
    /// The identity service for the calls made before anyone is signed in: login and refresh.
    pub sign_in: IdentityServiceClient<Channel>,
    pub auth: std::sync::Arc<auth::Authenticator>,
    /// Failed sign-ins per client address.
    pub sign_in_limit: std::sync::Arc<sign_in::SignInLimit>,
    /// Ticket changes for the desk's live updates.
    pub live: live::Live,
}

impl AppState {
    /// The ticket service, called on behalf of `caller`.
    pub fn tickets(&self, caller: &auth::Principal) -> TicketApi {
        TicketApi::new(
            TicketServiceClient::with_interceptor(
                self.ticket_channel.clone(),
                AsCaller::new(caller),
            )
            .max_decoding_message_size(docket_proto::MAX_MESSAGE_BYTES)
            .max_encoding_message_size(docket_proto::MAX_MESSAGE_BYTES),
        )
    }

    /// The identity service's administration, called on behalf of `caller`.
    pub fn identity_admin(&self, caller: &auth::Principal) -> IdentityAdminApi {
        IdentityAdminApi::new(IdentityAdminServiceClient::with_interceptor(
            self.identity_channel.clone(),
            AsCaller::new(caller),
        ))
    }

    /// The identity service, called on behalf of `caller` (e.g. to end its session).
    pub fn identity(&self, caller: &auth::Principal) -> IdentityApi {
        IdentityServiceClient::with_interceptor(
            self.identity_channel.clone(),
            AsCaller::new(caller),
        )
    }

    /// The mail service, called on behalf of `caller`.
    pub fn mail(&self, caller: &auth::Principal) -> MailApi {
        MailServiceClient::with_interceptor(self.mail_channel.clone(), AsCaller::new(caller))
            .max_decoding_message_size(docket_proto::MAX_MESSAGE_BYTES)
            .max_encoding_message_size(docket_proto::MAX_MESSAGE_BYTES)
    }
}

pub use clients::{IdentityAdminApi, TicketApi};
/// The identity service's client, bound to its caller like [`TicketApi`].
pub type IdentityApi = IdentityServiceClient<InterceptedService<Channel, AsCaller>>;
/// The mail service's client, bound to its caller like [`TicketApi`].
pub type MailApi = MailServiceClient<InterceptedService<Channel, AsCaller>>;

/// Puts the caller's access token and the current trace context into every gRPC request's
/// metadata. The trace context is taken when the call is made, not when the client is built, so
/// a client kept across awaits still reports each call under the span that made it.
#[derive(Clone)]
pub struct AsCaller {
    token: std::sync::Arc<str>,
}

impl AsCaller {
    fn new(caller: &auth::Principal) -> Self {
        Self {
            token: caller.token.as_str().into(),
        }
    }
}

impl Interceptor for AsCaller {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        docket_platform::propagation::inject_into_metadata(request.metadata_mut());
        docket_auth::with_bearer(request.metadata_mut(), &self.token);
        Ok(request)
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Docket API", description = "The REST API of the Docket service desk."),
    servers((url = "/api/v1")),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "auth", description = "Logging in: sessions for browsers, access tokens for scripts"),
        (name = "tenants", description = "Logically separated clients of one installation"),
        (name = "queues", description = "Queues following the service catalogue"),
        (name = "tickets", description = "Tickets, their articles and history"),
        (name = "search", description = "Ticket search: filters, full text, the agent's views and saved searches"),
        (name = "admin", description = "Administration: tenants, groups, roles, agents, absences, customers, the audit log"),
        (name = "me", description = "The caller's own account: its grants, API tokens and second factor"),
        (name = "mail", description = "The mail channel: raw message upload, received messages and the quarantine"),
    )
)]
struct ApiDoc;

/// Every operation needs `Authorization: Bearer <token>` (or a browser session) unless it says
/// otherwise.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT or dkt_ API token")
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document of the REST API, generated from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, api) = resources().split_for_parts();
    api
}

/// Every resource of the REST API with its OpenAPI description.
fn resources() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(rest::router())
        .merge(auth::router())
}

/// The whole HTTP router of the gateway.
pub fn router(state: AppState, config: &GatewayConfig, readiness: Readiness) -> Router {
    let state_for_web = state.clone();
    let (api, doc) = resources().split_for_parts();
    let doc = std::sync::Arc::new(doc);
    let api = api
        .route(
            "/openapi.json",
            // Callers must be authenticated, like for every other route of the API.
            axum::routing::get(move |_: auth::Principal| {
                let doc = doc.clone();
                async move { axum::Json((*doc).clone()) }
            }),
        )
        .with_state(state.clone())
        .fallback(|| async { not_found() })
        .method_not_allowed_fallback(|| async {
            problem_response(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "method not allowed on this resource".into(),
            )
        });
    Router::new()
        .nest("/api/v1", api)
        .merge(web::router().with_state(state_for_web))
        .merge(docket_platform::ops::health_router(readiness))
        .fallback(|| async { not_found() })
        .layer(middleware::from_fn(record_metrics))
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(config.request_timeout_secs),
        ))
        .layer(CatchPanicLayer::custom(|_| {
            problem_response(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error".into())
        }))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let span = tracing::info_span!(
                "http.request",
                otel.kind = "server",
                http.method = %request.method(),
                http.route = request.extensions().get::<MatchedPath>().map(MatchedPath::as_str).unwrap_or(""),
                http.target = %request.uri().path(),
            );
            docket_platform::propagation::set_parent_from(
                &span,
                &docket_platform::propagation::HeaderExtractor(request.headers()),
            );
            span
        }))
}

fn not_found() -> Response {
    problem_response(
        StatusCode::NOT_FOUND,
        "not-found",
        "no such resource".into(),
    )
}

async fn record_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("docket_http_requests_total", "route" => route.clone(), "method" => method.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("docket_http_request_duration_seconds", "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    response.into_response()
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid service endpoint `{endpoint}`: {source}")]
    Endpoint {
        endpoint: String,
        source: tonic::transport::Error,
    },
    #[error("cannot listen to ticket events for live updates: {0}")]
    Bus(#[from] docket_bus::BusError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Where the services the gateway calls listen.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub identity: String,
    pub ticket: String,
    pub mail: String,
}

/// A lazily connecting channel: the gateway starts even while a service is still starting.
fn channel(endpoint: &str) -> Result<Channel, StartError> {
    Ok(Endpoint::from_shared(endpoint.to_owned())
        .map_err(|source| StartError::Endpoint {
            endpoint: endpoint.to_owned(),
            source,
        })?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .connect_lazy())
}

/// A started gateway.
pub struct GatewayServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl GatewayServer {
    /// Binds the listener and serves until `shutdown`, then drains in-flight requests. The
    /// desk's live updates listen on `bus`.
    pub async fn start(
        config: &GatewayConfig,
        endpoints: &Endpoints,
        bus: &dyn docket_bus::Bus,
        readiness: Readiness,
        shutdown: Shutdown,
    ) -> Result<Self, StartError> {
        readiness.set("gateway", false);
        let live = live::Live::start(bus, shutdown.clone()).await?;
        let identity_channel = channel(&endpoints.identity)?;
        let sign_in = IdentityServiceClient::new(identity_channel.clone());
        let state = AppState {
            ticket_channel: channel(&endpoints.ticket)?,
            mail_channel: channel(&endpoints.mail)?,
            identity_channel,
            auth: std::sync::Arc::new(auth::Authenticator::new(sign_in.clone())),
            sign_in,
            sign_in_limit: std::sync::Arc::new(sign_in::SignInLimit::new(
                sign_in::SignInLimitSettings {
                    failures: config.sign_in_failures.max(1),
                    window: Duration::from_secs(config.sign_in_window_secs.max(1)),
                    trusted_proxies: config.trusted_proxies.clone(),
                },
            )),
            live,
        };
        let app = router(state, config, readiness.clone());
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
        let limits = server::ConnectionLimits {
            header_read_timeout: Duration::from_secs(config.header_read_timeout_secs.max(1)),
            max_connections: config.max_connections,
        };
        let task = tokio::spawn(server::serve(listener, app, limits, shutdown));
        readiness.set("gateway", true);
        tracing::info!(%addr, "gateway listening (HTTP)");
        Ok(Self { addr, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub async fn stopped(self) {
        let _ = self.task.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openapi_document_is_3_1_and_lists_every_operation() {
        let doc = serde_json::to_value(openapi()).unwrap();
        assert!(
            doc["openapi"].as_str().unwrap().starts_with("3.1"),
            "{}",
            doc["openapi"]
        );
        let paths = doc["paths"].as_object().unwrap();
        for (path, method) in [
            ("/tenants", "get"),
            ("/admin/tenants", "post"),
            ("/queues", "post"),
            ("/queues", "get"),
            ("/queues/{queue_id}/tickets", "get"),
            ("/tickets", "post"),
            ("/tickets", "get"),
            ("/tickets/{ticket_id}", "get"),
            ("/tickets/{ticket_id}", "patch"),
            ("/tickets/{ticket_id}/articles", "post"),
            ("/tickets/{ticket_id}/articles", "get"),
            ("/tickets/{ticket_id}/history", "get"),
            ("/mail/messages", "post"),
            ("/admin/mail/messages", "get"),
            ("/admin/mail/messages/{message_id}/raw", "get"),
            ("/admin/mail/messages/{message_id}/reprocess", "post"),
        ] {
            assert!(
                paths.get(path).and_then(|p| p.get(method)).is_some(),
                "{method} {path} missing"
            );
        }
        assert!(doc["components"]["schemas"]["Problem"].is_object());
    }
}
