//! Operational endpoints: `/healthz` (the process is alive), `/readyz` (every enabled component is
//! ready) and `/metrics` (Prometheus text format).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Which components of this process are ready. A component registers itself not ready and flips to
/// ready once it can serve (database migrated, broker connected, listener bound).
#[derive(Clone, Default, Debug)]
pub struct Readiness {
    components: Arc<Mutex<BTreeMap<String, bool>>>,
}

impl Readiness {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(&self, component: &str, ready: bool) {
        if let Ok(mut c) = self.components.lock() {
            c.insert(component.to_owned(), ready);
        }
    }

    /// Whether every registered component is ready, and each one's state.
    pub fn report(&self) -> (bool, BTreeMap<String, bool>) {
        let components = self
            .components
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default();
        let all = !components.is_empty() && components.values().all(|r| *r);
        (all, components)
    }
}

/// The process-wide Prometheus recorder, installed on first use.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder is installed already; then ours stays local.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

#[derive(Clone)]
struct OpsState {
    readiness: Readiness,
    metrics: PrometheusHandle,
}

/// The router of the operational endpoints; merge it into a public router or serve it on its own.
pub fn router(readiness: Readiness) -> Router {
    health_router(readiness.clone()).merge(
        Router::new()
            .route("/metrics", get(metrics))
            .with_state(OpsState {
                readiness,
                metrics: metrics_handle(),
            }),
    )
}

/// Only `/healthz` and `/readyz`, for a public listener that must not expose metrics.
pub fn health_router(readiness: Readiness) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state(OpsState {
            readiness,
            metrics: metrics_handle(),
        })
}

async fn ready(State(state): State<OpsState>) -> Response {
    let (all, components) = state.readiness.report();
    let status = if all {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(serde_json::json!({ "ready": all, "components": components })),
    )
        .into_response()
}

async fn metrics(State(state): State<OpsState>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        state.metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_every_component_is() {
        let r = Readiness::new();
        assert!(!r.report().0, "nothing registered is not ready");
        r.set("ticket", true);
        r.set("bus", false);
        assert!(!r.report().0);
        r.set("bus", true);
        assert!(r.report().0);
    }
}
