//! The node's HTTP API, on the node's own tokio runtime: `/healthz` (alive), `/readyz` (ready
//! for work, 503 with the reasons otherwise), `/metrics` (Prometheus text format), `/jobs` and
//! `/jobs/{id}` (JSON from the spool). `/metrics` and `/jobs` take an optional bearer token;
//! the probes stay open for the orchestrator.

mod jobs;
mod ready;

pub use ready::{Readiness, ReadyReport};

use crate::spool::Spool;
use crate::telemetry::Telemetry;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

/// What the handlers read.
#[derive(Clone)]
pub struct ApiState {
    pub spool: Spool,
    pub telemetry: Arc<Telemetry>,
    pub readiness: Arc<Readiness>,
    /// Empty: no token needed.
    pub bearer_token: String,
}

/// Serves the API on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

pub fn router(state: ApiState) -> Router {
    let protected = Router::new()
        .route("/metrics", get(metrics))
        .route("/jobs", get(jobs::list))
        .route("/jobs/{id}", get(jobs::one))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .merge(protected)
        .with_state(state)
}

async fn require_token(State(s): State<ApiState>, req: Request, next: Next) -> Response {
    if s.bearer_token.is_empty() {
        return next.run(req).await;
    }
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if given.is_some_and(|t| constant_time_eq(t.as_bytes(), s.bearer_token.as_bytes())) {
        next.run(req).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a bearer token is required\n",
        )
            .into_response()
    }
}

/// Compares without an early exit, so response time says nothing about the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn readyz(State(s): State<ApiState>) -> Response {
    let (spool, readiness) = (s.spool.clone(), s.readiness.clone());
    let report = tokio::task::spawn_blocking(move || readiness.check(&spool)).await;
    match report {
        Ok(r) => {
            let code = if r.ready {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            (code, axum::Json(r)).into_response()
        }
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("readiness check failed: {e}\n"),
        )
            .into_response(),
    }
}

async fn metrics(State(s): State<ApiState>) -> Response {
    let (spool, telemetry) = (s.spool.clone(), s.telemetry.clone());
    match tokio::task::spawn_blocking(move || telemetry.render(&spool)).await {
        Ok(Ok(text)) => ([(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], text).into_response(),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("metrics task failed: {e}\n")).into_response(),
    }
}
