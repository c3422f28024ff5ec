//! Analytics, `/api/v1/analytics`: the farm in figures. The overview is the farm right now;
//! production, printers, failures, inventory and revenue cover a range of UTC days
//! (`start_date`, `end_date`, or the last `days`, 30 by default). Every figure is computed
//! from the real tables; closed days come from the day cache, which every write keeps
//! honest (see `store::analytics`), and today is always counted afresh.
//!
//! The reports are typed here once, so the `/analytics` page draws the same numbers the
//! API answers.

use crate::app::App;
use crate::auth::{Member, roles};
use crate::envelope::{ApiResult, Envelope};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use axum::extract::State;
use chrono::{DateTime, NaiveDate, Utc};
use domain::TenantId;
use domain::analytics::{
    DayRange, amount, average, average_cents, day_name, fill_days, hours, percent, success_rate,
    utilisation,
};
use domain::printers::PrinterStatus;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use store::analytics::{DayFigures, Figures, Parts};

/// Recent failures listed when `limit` is not given.
const RECENT_FAILURES: i64 = 10;
/// The most recent failures one answer lists.
const MOST_RECENT_FAILURES: i64 = 100;
/// Finished goods and spools listed as short of stock, at most.
const SHORT_LISTED: i64 = 50;
/// Materials listed by use, at most.
const MATERIALS_LISTED: usize = 20;

/// The range of a report, as asked.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RangeQuery {
    /// The first day (`2026-12-01`, or an RFC 3339 time).
    pub start_date: Option<String>,
    /// The last day, included.
    pub end_date: Option<String>,
    /// The last this many days (1 to 366).
    pub days: Option<String>,
    /// Recent failures to list (failures only).
    pub limit: Option<String>,
}

/// A report's range, and the clock it was read at.
#[derive(Debug, Clone, Copy)]
pub struct Asked {
    /// The days.
    pub range: DayRange,
    /// Now.
    pub now: DateTime<Utc>,
}

impl Asked {
    /// The range `q` asks for, today being the UTC day of `now`.
    pub fn parse(q: &RangeQuery, now: DateTime<Utc>) -> Result<Asked, ApiError> {
        let range = DayRange::parse(
            q.start_date.as_deref(),
            q.end_date.as_deref(),
            q.days.as_deref(),
            now.date_naive(),
        )
        .map_err(ApiError::Validation)?;
        Ok(Asked { range, now })
    }

    /// The last `days` days up to today.
    pub fn last_days(days: i64, now: DateTime<Utc>) -> Asked {
        let end = now.date_naive();
        Asked {
            range: DayRange {
                start: end - chrono::Duration::days(days.max(1) - 1),
                end,
            },
            now,
        }
    }

    fn today(&self) -> NaiveDate {
        self.now.date_naive()
    }
}

/// A report's range as it is answered.
#[derive(Debug, Clone, Serialize)]
pub struct RangeView {
    /// The first day.
    pub start_date: String,
    /// The last day, included.
    pub end_date: String,
    /// Days in it.
    pub days: i64,
}

impl RangeView {
    fn of(range: &DayRange) -> RangeView {
        RangeView {
            start_date: day_name(range.start),
            end_date: day_name(range.end),
            days: range.days(),
        }
    }
}

/// The figures of a range with the parts in `want`: closed days from the cache, the rest
/// computed.
pub async fn figures_of(
    app: &App,
    tenant: &TenantId,
    asked: &Asked,
    want: Parts,
) -> Result<Figures, ApiError> {
    let closed: Vec<NaiveDate> = asked
        .range
        .closed_before(asked.today())
        .map(|r| r.dates().collect())
        .unwrap_or_default();
    let open: Vec<NaiveDate> = asked
        .range
        .open_from(asked.today())
        .map(|r| r.dates().collect())
        .unwrap_or_default();
    Ok(store::analytics::figures(&app.store, tenant, &closed, &open, want).await?)
}

/// One day of production.
#[derive(Debug, Clone, Serialize)]
pub struct ProductionDay {
    /// The day (`2026-12-03`).
    pub date: String,
    /// Jobs that completed.
    pub jobs_completed: i64,
    /// Jobs that failed.
    pub jobs_failed: i64,
    /// Units the completed prints made.
    pub units_produced: i64,
    /// Minutes printed by the jobs that finished, completed or failed.
    pub total_print_time_minutes: i64,
    /// Minutes per finished job.
    pub average_job_time_minutes: f64,
    /// Completed of finished, in percent.
    pub success_rate: f64,
}

impl ProductionDay {
    fn of(date: String, f: &DayFigures) -> ProductionDay {
        ProductionDay {
            date,
            jobs_completed: f.jobs_completed,
            jobs_failed: f.jobs_failed,
            units_produced: f.units_produced,
            total_print_time_minutes: f.print_minutes,
            average_job_time_minutes: average(f.print_minutes, f.jobs_completed + f.jobs_failed),
            success_rate: success_rate(f.jobs_completed, f.jobs_failed),
        }
    }
}

/// Production over a range.
#[derive(Debug, Clone, Serialize)]
pub struct Production {
    /// The days covered.
    pub range: RangeView,
    /// Every day of the range, in order (days without prints are zeros).
    pub daily: Vec<ProductionDay>,
    /// The range in all.
    pub totals: ProductionTotals,
}

/// Production totals of a range.
#[derive(Debug, Clone, Serialize)]
pub struct ProductionTotals {
    /// Jobs that completed.
    pub jobs_completed: i64,
    /// Jobs that failed.
    pub jobs_failed: i64,
    /// Units made.
    pub units_produced: i64,
    /// Minutes printed.
    pub total_print_time_minutes: i64,
    /// Hours printed.
    pub total_print_hours: f64,
    /// Minutes per finished job.
    pub average_job_time_minutes: f64,
    /// Completed of finished, in percent.
    pub success_rate: f64,
    /// Completed jobs per day of the range.
    pub average_jobs_per_day: f64,
}

/// Production of `asked`'s range from its figures.
pub fn production_from(asked: &Asked, figures: &Figures) -> Production {
    let days = fill_days(&asked.range, &figures.days);
    let mut sum = DayFigures::default();
    for (_, f) in &days {
        sum += *f;
    }
    Production {
        range: RangeView::of(&asked.range),
        daily: days
            .into_iter()
            .map(|(date, f)| ProductionDay::of(date, &f))
            .collect(),
        totals: ProductionTotals {
            jobs_completed: sum.jobs_completed,
            jobs_failed: sum.jobs_failed,
            units_produced: sum.units_produced,
            total_print_time_minutes: sum.print_minutes,
            total_print_hours: hours(sum.print_minutes),
            average_job_time_minutes: average(
                sum.print_minutes,
                sum.jobs_completed + sum.jobs_failed,
            ),
            success_rate: success_rate(sum.jobs_completed, sum.jobs_failed),
            average_jobs_per_day: average(sum.jobs_completed, asked.range.days()),
        },
    }
}

/// One printer's use over a range.
#[derive(Debug, Clone, Serialize)]
pub struct PrinterUse {
    /// The printer's id.
    pub id: String,
    /// The farm's number for it.
    pub printer_id: Option<i64>,
    /// Its name.
    pub name: String,
    /// Its model.
    pub model: String,
    /// What it is doing now.
    pub status: String,
    /// Jobs it completed.
    pub jobs_completed: i64,
    /// Jobs that failed on it.
    pub jobs_failed: i64,
    /// Units it made.
    pub units_produced: i64,
    /// Failures recorded for it.
    pub failures: i64,
    /// Completed of finished, in percent.
    pub success_rate: f64,
    /// Minutes it printed.
    pub print_time_minutes: i64,
    /// Hours it printed.
    pub print_hours: f64,
    /// Print time over the range's time so far, in percent.
    pub utilization_percentage: f64,
}

/// The farm's printers over a range.
#[derive(Debug, Clone, Serialize)]
pub struct PrinterReport {
    /// The days covered.
    pub range: RangeView,
    /// Each printer of the farm, in its display order.
    pub printers: Vec<PrinterUse>,
    /// The farm in all.
    pub totals: PrinterTotals,
}

/// The farm's printers in all.
#[derive(Debug, Clone, Serialize)]
pub struct PrinterTotals {
    /// Printers.
    pub printers: i64,
    /// Jobs they completed.
    pub jobs_completed: i64,
    /// Jobs that failed on them.
    pub jobs_failed: i64,
    /// Completed of finished, in percent.
    pub success_rate: f64,
    /// Hours they printed.
    pub print_hours: f64,
    /// Hours of the range so far, per printer.
    pub available_hours: f64,
    /// Their print time over all their time, in percent.
    pub utilization_percentage: f64,
}

/// The farm's printers over `asked`'s range, from its figures.
pub async fn printers_from(
    app: &App,
    tenant: &TenantId,
    asked: &Asked,
    figures: &Figures,
) -> Result<PrinterReport, ApiError> {
    let printers = {
        let mut conn = app.store.conn().await?;
        store::analytics::printers(&mut conn, tenant).await?
    };
    let available = asked.range.minutes_elapsed(asked.now);
    let mut sum = store::analytics::PrinterFigures::default();
    let printers: Vec<PrinterUse> = printers
        .into_iter()
        .map(|p| {
            let f = figures.printers.get(&p.id).copied().unwrap_or_default();
            sum += f;
            PrinterUse {
                id: p.id,
                printer_id: p.printer_id,
                name: p.name,
                model: p.model,
                status: p.status,
                jobs_completed: f.jobs_completed,
                jobs_failed: f.jobs_failed,
                units_produced: f.units_produced,
                failures: f.failures,
                success_rate: success_rate(f.jobs_completed, f.jobs_failed),
                print_time_minutes: f.print_minutes,
                print_hours: hours(f.print_minutes),
                utilization_percentage: utilisation(f.print_minutes, available),
            }
        })
        .collect();
    let count = i64::try_from(printers.len()).unwrap_or(i64::MAX);
    Ok(PrinterReport {
        range: RangeView::of(&asked.range),
        totals: PrinterTotals {
            printers: count,
            jobs_completed: sum.jobs_completed,
            jobs_failed: sum.jobs_failed,
            success_rate: success_rate(sum.jobs_completed, sum.jobs_failed),
            print_hours: hours(sum.print_minutes),
            available_hours: hours(available),
            utilization_percentage: utilisation(sum.print_minutes, available.saturating_mul(count)),
        },
        printers,
    })
}

/// Failures of one kind.
#[derive(Debug, Clone, Serialize)]
pub struct FailureKind {
    /// The `printer_failures.failure_type`.
    pub failure_type: String,
    /// How many.
    pub count: i64,
    /// Of all failures in the range, in percent.
    pub percentage: f64,
}

/// One printer's failures.
#[derive(Debug, Clone, Serialize)]
pub struct PrinterFailures {
    /// The printer's id.
    pub printer_id: String,
    /// Its name.
    pub name: String,
    /// Failures recorded for it.
    pub failures: i64,
    /// Its jobs that failed.
    pub jobs_failed: i64,
    /// Its finished jobs that failed, in percent.
    pub failure_rate: f64,
}

/// One day's failures.
#[derive(Debug, Clone, Serialize)]
pub struct FailureDay {
    /// The day.
    pub date: String,
    /// Failures recorded.
    pub failures: i64,
    /// Jobs that failed.
    pub jobs_failed: i64,
}

/// Failure analysis over a range.
#[derive(Debug, Clone, Serialize)]
pub struct FailureReport {
    /// The days covered.
    pub range: RangeView,
    /// Failures recorded in the range.
    pub total: i64,
    /// Failures of the farm without a resolution (ever recorded, not only in the range).
    pub unresolved: i64,
    /// By kind, most first.
    pub by_type: Vec<FailureKind>,
    /// By printer (those with failures), most first.
    pub by_printer: Vec<PrinterFailures>,
    /// Every day of the range.
    pub daily: Vec<FailureDay>,
    /// The latest failures of the range, newest first, with their job's and printer's names.
    pub recent: Vec<store::analytics::RecentFailure>,
}

/// Failures over `asked`'s range from its figures, listing the latest `limit`.
pub async fn failures_from(
    app: &App,
    tenant: &TenantId,
    asked: &Asked,
    figures: &Figures,
    limit: i64,
) -> Result<FailureReport, ApiError> {
    let (printers, recent, unresolved) = {
        let mut conn = app.store.conn().await?;
        let printers = store::analytics::printers(&mut conn, tenant).await?;
        let recent = store::analytics::recent_failures(
            &mut conn,
            tenant,
            &asked.range.from_text(),
            &asked.range.until_text(),
            limit,
        )
        .await?;
        let unresolved = store::analytics::unresolved_failures(&mut conn, tenant).await?;
        (printers, recent, unresolved)
    };
    let total: i64 = figures.failure_types.values().sum();
    let mut by_type: Vec<FailureKind> = figures
        .failure_types
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(kind, n)| FailureKind {
            failure_type: kind.clone(),
            count: *n,
            percentage: percent(*n, total),
        })
        .collect();
    by_type.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.failure_type.cmp(&b.failure_type))
    });
    let mut by_printer: Vec<PrinterFailures> = printers
        .into_iter()
        .filter_map(|p| {
            let f = figures.printers.get(&p.id)?;
            (f.failures > 0 || f.jobs_failed > 0).then(|| PrinterFailures {
                printer_id: p.id,
                name: p.name,
                failures: f.failures,
                jobs_failed: f.jobs_failed,
                failure_rate: percent(f.jobs_failed, f.jobs_completed + f.jobs_failed),
            })
        })
        .collect();
    by_printer.sort_by(|a, b| {
        (b.failures, b.jobs_failed)
            .cmp(&(a.failures, a.jobs_failed))
            .then(a.name.cmp(&b.name))
    });
    let daily = fill_days(&asked.range, &figures.days)
        .into_iter()
        .map(|(date, f)| FailureDay {
            date,
            failures: f.failures,
            jobs_failed: f.jobs_failed,
        })
        .collect();
    Ok(FailureReport {
        range: RangeView::of(&asked.range),
        total,
        unresolved,
        by_type,
        by_printer,
        daily,
        recent,
    })
}

/// Orders of one platform over a range.
#[derive(Debug, Clone, Serialize)]
pub struct PlatformSales {
    /// Where the orders came from (`shopify`, `manual` …).
    pub platform: String,
    /// Orders, not cancelled or refunded.
    pub order_count: i64,
    /// `total_revenue`, in cents.
    pub revenue: i64,
    /// Revenue less shipping and tax, in cents.
    pub profit: i64,
    /// Revenue per order, in cents.
    pub average_order_value: i64,
}

/// One day's orders.
#[derive(Debug, Clone, Serialize)]
pub struct RevenueDay {
    /// The day.
    pub date: String,
    /// Orders dated that day.
    pub order_count: i64,
    /// Cents.
    pub revenue: i64,
    /// Cents.
    pub profit: i64,
}

/// Revenue over a range.
#[derive(Debug, Clone, Serialize)]
pub struct RevenueReport {
    /// The days covered.
    pub range: RangeView,
    /// The range in all.
    pub totals: RevenueTotals,
    /// By platform, most revenue first.
    pub by_platform: Vec<PlatformSales>,
    /// Every day of the range.
    pub daily: Vec<RevenueDay>,
}

/// Revenue totals of a range (cents).
#[derive(Debug, Clone, Serialize)]
pub struct RevenueTotals {
    /// Orders, not cancelled or refunded.
    pub order_count: i64,
    /// Their `total_revenue`.
    pub revenue: i64,
    /// Revenue less shipping and tax: the farm records no cost of goods to take off.
    pub profit: i64,
    /// Revenue per order.
    pub average_order_value: i64,
    /// Revenue per day of the range.
    pub average_daily_revenue: i64,
}

/// Revenue over `asked`'s range from its figures.
pub fn revenue_from(asked: &Asked, figures: &Figures) -> RevenueReport {
    let days = fill_days(&asked.range, &figures.days);
    let mut sum = DayFigures::default();
    for (_, f) in &days {
        sum += *f;
    }
    let mut by_platform: Vec<PlatformSales> = figures
        .platforms
        .iter()
        .filter(|(_, s)| s.order_count > 0)
        .map(|(platform, s)| PlatformSales {
            platform: platform.clone(),
            order_count: s.order_count,
            revenue: s.revenue,
            profit: s.profit,
            average_order_value: average_cents(s.revenue, s.order_count),
        })
        .collect();
    by_platform.sort_by(|a, b| b.revenue.cmp(&a.revenue).then(a.platform.cmp(&b.platform)));
    RevenueReport {
        range: RangeView::of(&asked.range),
        totals: RevenueTotals {
            order_count: sum.order_count,
            revenue: sum.revenue,
            profit: sum.profit,
            average_order_value: average_cents(sum.revenue, sum.order_count),
            average_daily_revenue: average_cents(sum.revenue, asked.range.days()),
        },
        by_platform,
        daily: days
            .into_iter()
            .map(|(date, f)| RevenueDay {
                date,
                order_count: f.order_count,
                revenue: f.revenue,
                profit: f.profit,
            })
            .collect(),
    }
}

/// Counts per name as a JSON object, every name of `all` present.
fn counted(all: &[&str], pairs: &[(String, i64)]) -> Map<String, Value> {
    let mut map: Map<String, Value> = all.iter().map(|n| (n.to_string(), json!(0))).collect();
    for (name, n) in pairs {
        let sum = map.get(name).and_then(Value::as_i64).unwrap_or(0) + n;
        map.insert(name.clone(), json!(sum));
    }
    map
}

/// GET /api/v1/analytics/overview — the farm right now: printers by status, the jobs still
/// moving, open tasks, hubs, alerts and today's prints.
pub async fn overview(State(app): State<App>, member: Member<roles::Viewer>) -> ApiResult<Value> {
    let now = Utc::now();
    let state = {
        let mut conn = app.store.conn().await?;
        store::analytics::now(&mut conn, &member.tenant).await?
    };
    let today = Asked::last_days(1, now);
    let want = Parts {
        jobs: true,
        failures: true,
        orders: true,
        ..Parts::NONE
    };
    let figures = figures_of(&app, &member.tenant, &today, want).await?;
    let f = figures
        .days
        .get(&day_name(today.range.end))
        .copied()
        .unwrap_or_default();
    let printer_states: Vec<&str> = PrinterStatus::ALL.iter().map(|s| s.as_str()).collect();
    let by_state = counted(&printer_states, &state.printers_by_state);
    let state_count = |name: &str| by_state.get(name).and_then(Value::as_i64).unwrap_or(0);
    let printers_total: i64 = state.printers_by_state.iter().map(|(_, n)| n).sum();
    let jobs = counted(
        &["queued", "processing", "uploaded", "printing", "paused"],
        &state.jobs_by_status,
    );
    let job_count = |name: &str| jobs.get(name).and_then(Value::as_i64).unwrap_or(0);
    let active = ["processing", "uploaded", "printing", "paused"]
        .iter()
        .map(|s| job_count(s))
        .sum::<i64>();
    let open_tasks: i64 = state.open_tasks_by_type.iter().map(|(_, n)| n).sum();
    let task_types: Vec<&str> = domain::worklist::TaskType::ALL
        .iter()
        .map(|t| t.as_str())
        .collect();
    let (hubs_total, hubs_online) = state.hubs;
    let alerts = json!({
        "low_stock": state.goods_low,
        "out_of_stock": state.goods_out,
        "needs_assembly": state.goods_need_assembly,
        "low_filament": state.filament_low,
        "unresolved_failures": state.unresolved_failures,
        "printers_in_error": state_count("error"),
        "hubs_offline": hubs_total - hubs_online,
    });
    Ok(Envelope::ok(json!({
        "printers": {
            "total": printers_total,
            "by_status": by_state,
            "connected": state.printers_connected,
        },
        "jobs": {
            "by_status": jobs,
            "queued": job_count("queued"),
            "printing": job_count("printing"),
            "active": active,
        },
        "tasks": {
            "open": open_tasks,
            "in_progress": state.tasks_in_progress,
            "by_type": counted(&task_types, &state.open_tasks_by_type),
        },
        "hubs": { "total": hubs_total, "online": hubs_online, "offline": hubs_total - hubs_online },
        "alerts": alerts,
        "today": {
            "date": day_name(today.range.end),
            "jobs_completed": f.jobs_completed,
            "jobs_failed": f.jobs_failed,
            "units_produced": f.units_produced,
            "total_print_time_minutes": f.print_minutes,
            "success_rate": success_rate(f.jobs_completed, f.jobs_failed),
            "failures": f.failures,
            "order_count": f.order_count,
            "revenue": f.revenue,
        },
        "generated_at": domain::time::format(now),
    })))
}

/// GET /api/v1/analytics/production — jobs, units and print time per day of a range, and totals.
pub async fn production(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> ApiResult<Production> {
    let asked = Asked::parse(&q, Utc::now())?;
    let want = Parts {
        jobs: true,
        ..Parts::NONE
    };
    let figures = figures_of(&app, &member.tenant, &asked, want).await?;
    Ok(Envelope::ok(production_from(&asked, &figures)))
}

/// GET /api/v1/analytics/printers — each printer's jobs, success rate, print hours and
/// utilisation over a range, and the farm's.
pub async fn printers(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> ApiResult<PrinterReport> {
    let asked = Asked::parse(&q, Utc::now())?;
    let want = Parts {
        printers: true,
        ..Parts::NONE
    };
    let figures = figures_of(&app, &member.tenant, &asked, want).await?;
    Ok(Envelope::ok(
        printers_from(&app, &member.tenant, &asked, &figures).await?,
    ))
}

/// GET /api/v1/analytics/failures — failures over a range by type, printer and day, the
/// latest ones, and how many are unresolved.
pub async fn failures(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> ApiResult<FailureReport> {
    let asked = Asked::parse(&q, Utc::now())?;
    let limit = match q.limit.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        None => RECENT_FAILURES,
        Some(raw) => match raw.parse::<i64>() {
            Ok(n) if (1..=MOST_RECENT_FAILURES).contains(&n) => n,
            _ => {
                return Err(ApiError::field(
                    "limit",
                    format!("limit must be a whole number from 1 to {MOST_RECENT_FAILURES}"),
                ));
            }
        },
    };
    let want = Parts {
        jobs: true,
        failures: true,
        printers: true,
        ..Parts::NONE
    };
    let figures = figures_of(&app, &member.tenant, &asked, want).await?;
    Ok(Envelope::ok(
        failures_from(&app, &member.tenant, &asked, &figures, limit).await?,
    ))
}

/// GET /api/v1/analytics/inventory — finished goods and filament short of stock, and what
/// materials a range used.
pub async fn inventory(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> ApiResult<Value> {
    let asked = Asked::parse(&q, Utc::now())?;
    let want = Parts {
        materials: true,
        ..Parts::NONE
    };
    let figures = figures_of(&app, &member.tenant, &asked, want).await?;
    let ((goods, short), (spools, low_spools), names) = {
        let mut conn = app.store.conn().await?;
        let goods = store::analytics::goods(&mut conn, &member.tenant, SHORT_LISTED).await?;
        let spools = store::analytics::filament(&mut conn, &member.tenant, SHORT_LISTED).await?;
        let names = store::analytics::material_names(&mut conn, &member.tenant).await?;
        (goods, spools, names)
    };
    let unit = |kind: &str| match kind {
        "filament" => "g",
        _ => "units",
    };
    let mut by_type: BTreeMap<String, store::analytics::MaterialUse> = BTreeMap::new();
    for ((kind, _), used) in &figures.materials {
        *by_type.entry(kind.clone()).or_default() += *used;
    }
    let mut by_material: Vec<_> = figures.materials.iter().collect();
    by_material.sort_by(|a, b| {
        b.1.usage_amount
            .total_cmp(&a.1.usage_amount)
            .then(a.0.cmp(b.0))
    });
    let by_material: Vec<Value> = by_material
        .into_iter()
        .take(MATERIALS_LISTED)
        .map(|((kind, id), used)| {
            json!({
                "material_type": kind,
                "material_id": id,
                "name": names.get(&(kind.clone(), id.clone())),
                "usage_amount": amount(used.usage_amount),
                "uses": used.uses,
                "unit": unit(kind),
            })
        })
        .collect();
    let by_type: Vec<Value> = by_type
        .iter()
        .map(|(kind, used)| {
            json!({ "material_type": kind, "usage_amount": amount(used.usage_amount),
                    "uses": used.uses, "unit": unit(kind) })
        })
        .collect();
    Ok(Envelope::ok(json!({
        "range": RangeView::of(&asked.range),
        "finished_goods": {
            "total": goods.total,
            "in_stock": goods.in_stock,
            "low_stock": goods.low_stock,
            "out_of_stock": goods.out_of_stock,
            "needs_assembly": goods.needs_assembly,
            "units_in_stock": goods.units_in_stock,
            "units_needing_assembly": goods.units_needing_assembly,
            "low_stock_items": short,
        },
        "filament": {
            "spools": spools.spools,
            "low": spools.low,
            "out_of_stock": spools.out_of_stock,
            "remaining_grams": amount(spools.remaining_grams),
            "low_spools": low_spools,
        },
        "material_usage": {
            "by_type": by_type,
            "by_material": by_material,
        },
    })))
}

/// GET /api/v1/analytics/revenue — orders, revenue and profit (cents) over a range by
/// platform and day.
pub async fn revenue(
    State(app): State<App>,
    member: Member<roles::Viewer>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> ApiResult<RevenueReport> {
    let asked = Asked::parse(&q, Utc::now())?;
    let want = Parts {
        orders: true,
        ..Parts::NONE
    };
    let figures = figures_of(&app, &member.tenant, &asked, want).await?;
    Ok(Envelope::ok(revenue_from(&asked, &figures)))
}

/// The area's API routes, with who may call each (merged into the one table in `app`).
pub fn routes() -> crate::api::Routes {
    use crate::api::Access::*;
    use crate::api::Param;
    use axum::http::Method as M;
    use domain::Role;
    const RANGE: &[(&str, Param)] = &[
        ("start_date", Param::Text),
        ("end_date", Param::Text),
        ("days", Param::Count),
    ];
    let failures_query: Vec<(&str, Param)> = RANGE
        .iter()
        .copied()
        .chain([("limit", Param::Count)])
        .collect();
    crate::api::Routes::new()
        .add(
            M::GET,
            "/api/v1/analytics/overview",
            Member(Role::Viewer),
            "The farm right now: printers, jobs, tasks, hubs, alerts, today's prints",
            overview,
        )
        .add(
            M::GET,
            "/api/v1/analytics/production",
            Member(Role::Viewer),
            "Jobs, units and print time per day of a range",
            production,
        )
        .query(RANGE)
        .add(
            M::GET,
            "/api/v1/analytics/printers",
            Member(Role::Viewer),
            "Each printer's jobs, success rate, print hours and utilisation over a range",
            printers,
        )
        .query(RANGE)
        .add(
            M::GET,
            "/api/v1/analytics/failures",
            Member(Role::Viewer),
            "Failures over a range by type, printer and day, and the latest",
            failures,
        )
        .query(&failures_query)
        .add(
            M::GET,
            "/api/v1/analytics/inventory",
            Member(Role::Viewer),
            "Stock short of its threshold, and the materials a range used",
            inventory,
        )
        .query(RANGE)
        .add(
            M::GET,
            "/api/v1/analytics/revenue",
            Member(Role::Viewer),
            "Orders, revenue and profit over a range by platform and day",
            revenue,
        )
        .query(RANGE)
}
