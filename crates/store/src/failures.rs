//! Printer failures: one row per failed print, for the failure analytics.

use crate::{Conn, StoreResult};
use domain::TenantId;
use domain::stock::FailureType;
use serde::Serialize;

/// A recorded failure.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PrinterFailure {
    pub id: String,
    pub tenant_id: String,
    pub printer_id: Option<String>,
    pub print_job_id: Option<String>,
    pub failure_type: String,
    pub failure_reason: Option<String>,
    pub error_code: Option<String>,
    pub progress_at_failure: Option<i64>,
    pub print_time_at_failure: Option<i64>,
    pub layer_at_failure: Option<i64>,
    pub resolution: Option<String>,
    pub resolved_at: Option<String>,
    pub resolved_by: Option<String>,
    pub created_at: String,
}

macro_rules! columns {
    () => {
        "id, tenant_id, printer_id, print_job_id, failure_type, failure_reason, error_code,
         progress_at_failure, print_time_at_failure, layer_at_failure, resolution, resolved_at,
         resolved_by, created_at"
    };
}

/// A failure to record.
#[derive(Debug, Clone)]
pub struct NewFailure<'a> {
    pub printer_id: Option<&'a str>,
    pub job_id: &'a str,
    pub failure_type: FailureType,
    pub reason: Option<&'a str>,
    pub progress: i64,
    /// Minutes printed before it failed.
    pub print_minutes: Option<i64>,
}

/// Records a failure.
pub async fn record(
    conn: &mut Conn,
    tenant: &TenantId,
    failure: &NewFailure<'_>,
    now: &str,
) -> StoreResult<PrinterFailure> {
    let sql = concat!(
        "INSERT INTO printer_failures (id, tenant_id, printer_id, print_job_id, failure_type, failure_reason,
            progress_at_failure, print_time_at_failure, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ",
        columns!()
    );
    let recorded = sqlx::query_as::<_, PrinterFailure>(sql)
        .bind(crate::new_id())
        .bind(tenant.as_str())
        .bind(failure.printer_id)
        .bind(failure.job_id)
        .bind(failure.failure_type.as_str())
        .bind(failure.reason)
        .bind(failure.progress)
        .bind(failure.print_minutes)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
    // A failure recorded late (a retried event) changes a day that may be cached.
    crate::analytics::touch(conn, tenant.as_str(), &[Some(now)]).await?;
    Ok(recorded)
}

/// The farm's failures, newest first.
pub async fn list(conn: &mut Conn, tenant: &TenantId) -> StoreResult<Vec<PrinterFailure>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM printer_failures WHERE tenant_id = $1 ORDER BY created_at DESC, id"
    );
    Ok(sqlx::query_as::<_, PrinterFailure>(sql)
        .bind(tenant.as_str())
        .fetch_all(&mut *conn)
        .await?)
}
