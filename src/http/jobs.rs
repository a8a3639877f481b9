//! `/jobs` (newest first, `?limit=N`, at most 1000) and `/jobs/{id}`: each job's state,
//! plugin, timings, reason and deliveries, as recorded in the spool.

use super::ApiState;
use crate::spool::{DeliveryRecord, JobRecord, Spool};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    limit: Option<usize>,
}

#[derive(Debug, Serialize)]
struct JobView {
    id: String,
    series_instance_uid: String,
    state: crate::spool::JobState,
    attempts: u32,
    created_unix_ms: u64,
    updated_unix_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    plugin: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timings_s: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    deliveries: Vec<DeliveryView>,
}

#[derive(Debug, Serialize)]
struct DeliveryView {
    destination: String,
    address: String,
    state: crate::spool::DeliveryState,
    attempts: u32,
    sop_instance_uid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_error: Option<String>,
}

fn view(spool: &Spool, r: JobRecord) -> JobView {
    let deliveries = spool
        .job_deliveries(&r.id.0)
        .unwrap_or_default()
        .into_iter()
        .map(delivery_view)
        .collect();
    let result = r.result.as_ref();
    JobView {
        plugin: result.and_then(|v| v.get("plugin")).cloned(),
        timings_s: result.and_then(|v| v.get("timings_s")).cloned(),
        id: r.id.0,
        series_instance_uid: r.series_instance_uid,
        state: r.state,
        attempts: r.attempts,
        created_unix_ms: r.created_unix_ms,
        updated_unix_ms: r.updated_unix_ms,
        reason: r.reason,
        deliveries,
    }
}

fn delivery_view(d: DeliveryRecord) -> DeliveryView {
    DeliveryView {
        destination: d.destination_name,
        address: d.destination.to_string(),
        state: d.state,
        attempts: d.attempts,
        sop_instance_uid: d.sop_instance_uid,
        last_error: d.last_error,
    }
}

pub async fn list(State(s): State<ApiState>, Query(q): Query<ListQuery>) -> Response {
    let limit = q.limit.unwrap_or(100).min(1000);
    let spool = s.spool.clone();
    let result = tokio::task::spawn_blocking(move || {
        spool
            .job_records(limit)
            .map(|records| records.into_iter().map(|r| view(&spool, r)).collect::<Vec<_>>())
    })
    .await;
    match result {
        Ok(Ok(jobs)) => Json(jobs).into_response(),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

pub async fn one(State(s): State<ApiState>, Path(id): Path<String>) -> Response {
    let spool = s.spool.clone();
    let result = tokio::task::spawn_blocking(move || spool.find_job(&id).map(|r| r.map(|r| view(&spool, r)))).await;
    match result {
        Ok(Ok(Some(job))) => Json(job).into_response(),
        Ok(Ok(None)) => (StatusCode::NOT_FOUND, "no such job\n").into_response(),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}
