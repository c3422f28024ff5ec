//! Analytics: the farm's figures over days, computed from the real tables (`print_jobs`,
//! `printer_failures`, `orders`, `material_usage_history`), with closed days cached.
//!
//! Where a row falls: a job on the UTC day of its `time_completed` (completed and failed
//! jobs; a cancelled job has none), a failure on the day of its `created_at`, an order on
//! the day of its `order_date` (cancelled and refunded orders count for nothing), a use of
//! material on the day of its `usage_date`. A print's whole print time counts on the day it
//! finished.
//!
//! # The day cache
//!
//! `daily_analytics` holds one row per farm and closed day (a day before today), with the
//! day's farm figures; `daily_printer_analytics`, `daily_failure_analytics`,
//! `daily_platform_analytics` and `daily_material_analytics` hold its breakdowns. Per-printer
//! figures are also rolled up per closed month (`monthly_analytics` and
//! `monthly_printer_analytics`): a year of 500 printers is 183,000 day rows but 6,000 month
//! rows, so a range reads its whole months from their rollups and only the days of the
//! months it partly covers. The cache is never the truth, only a copy that must equal the
//! real tables:
//!
//! - **Built on read.** A range's closed days are read from the cache; those it lacks, or
//!   holds stale, are computed from the real tables, answered, and written back. Days from
//!   today on are always computed from the real tables and never written.
//! - **Marked stale by every write.** Each store function that changes a row a day's
//!   figures are made of (a job's move, units, minutes or deletion; a failure recorded; an
//!   order created, changed, moved or deleted; material used) calls [`touch`] in the same
//!   transaction, for the day the row was in before and the day it is in after. `touch`
//!   sets `stale = 1` and moves `revision` on, for the day and for its month. So a late
//!   change to a past day (last week's job deleted or retried, a print or a failure
//!   reported late, an order dated or re-dated into the past, one cancelled) is seen by
//!   the next read, whatever wrote it: the API, the hub, the workers or Shopify's intake.
//! - **Written only if nothing changed meanwhile.** A read takes one snapshot
//!   ([`snapshot`]) for everything it reads: the cache rows, their revisions and the real
//!   rows it computes from. The rebuilt day is then written only where the row still has
//!   the revision read (or, for a day without a row, only if none appeared): a write
//!   that committed after the snapshot has moved the revision (or made the row), so the
//!   figures computed without it are not kept. On PostgreSQL the conditional `UPDATE`
//!   waits for a writer holding the row and checks again after it commits; on SQLite
//!   writers take turns.
//! - **Breakdowns count only for fresh days.** A stale day's breakdown rows stay until
//!   the day is rebuilt (its rows are replaced in the transaction that makes it fresh);
//!   reads leave out every day whose row is stale, in the same statement. A month's rollup
//!   is rebuilt the same way, from its days as the read has them (cached or computed).
//! - **A report reads only its parts** ([`Parts`]): the days from today on are computed
//!   from only the tables those need (the overview's today reads jobs, failures and
//!   orders; production only jobs), and only the breakdowns asked for are read.
//!
//! Figures a past day's row cannot keep true are not cached: `total_printers`,
//! `active_printers` and `utilization_percentage` depend on the printers the farm has now
//! (a deleted printer's jobs lose their printer), so utilisation is computed per read from
//! the per-printer rows of the printers that exist. A per-printer row of a deleted printer
//! stays (no foreign key: a rebuild never races a printer's deletion) and is left out by
//! the reader, which only shows the farm's printers.

use crate::{Conn, Dialect, Store, StoreResult, Tx};
use chrono::NaiveDate;
use domain::TenantId;
use domain::analytics::{day_name, day_start};
use std::collections::{BTreeMap, HashMap};

/// Marks the days of `times` (stored times or day names; `None` is skipped) stale for the
/// farm: every store write that changes what a day's figures are made of calls it, in the
/// same transaction, with the day the row was in before and the one it is in after.
pub async fn touch(conn: &mut Conn, tenant: &str, times: &[Option<&str>]) -> StoreResult<()> {
    let mut days: Vec<&str> = times.iter().flatten().filter_map(|t| t.get(..10)).collect();
    days.sort_unstable();
    days.dedup();
    let now = crate::now_text();
    for day in &days {
        sqlx::query(
            "INSERT INTO daily_analytics (id, tenant_id, date, stale, revision, created_at)
             VALUES ($1, $2, $3, 1, 1, $4)
             ON CONFLICT (tenant_id, date) DO UPDATE SET stale = 1, revision = daily_analytics.revision + 1",
        )
        .bind(crate::new_id())
        .bind(tenant)
        .bind(*day)
        .bind(&now)
        .execute(&mut *conn)
        .await?;
    }
    // A day's month rollup is made of it: stale with it.
    let mut months: Vec<&str> = days.iter().filter_map(|d| d.get(..7)).collect();
    months.dedup();
    for month in months {
        sqlx::query(
            "INSERT INTO monthly_analytics (tenant_id, month, stale, revision, created_at)
             VALUES ($1, $2, 1, 1, $3)
             ON CONFLICT (tenant_id, month) DO UPDATE SET stale = 1, revision = monthly_analytics.revision + 1",
        )
        .bind(tenant)
        .bind(month)
        .bind(&now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The day a job counts on (`time_completed`), if it has one.
pub async fn day_of_job(conn: &mut Conn, tenant: &str, id: &str) -> StoreResult<Option<String>> {
    let row: Option<(Option<String>,)> =
        sqlx::query_as("SELECT time_completed FROM print_jobs WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.and_then(|(t,)| t))
}

/// The day an order counts on (`order_date`), if the farm has it.
pub async fn day_of_order(conn: &mut Conn, tenant: &str, id: &str) -> StoreResult<Option<String>> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT order_date FROM orders WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.map(|(t,)| t))
}

/// A read-only transaction whose statements all see one snapshot of the database.
///
/// The dialects differ here: SQLite's deferred `BEGIN` holds the snapshot its first read
/// takes; PostgreSQL needs `REPEATABLE READ` for that (its default gives each statement a
/// snapshot of its own).
pub async fn snapshot(store: &Store) -> StoreResult<Tx> {
    Ok(match store.dialect() {
        Dialect::Sqlite => store.pool().begin().await?,
        Dialect::Postgres => {
            store
                .pool()
                .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await?
        }
    })
}

/// A day's (or a span's) figures for the whole farm.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayFigures {
    /// Jobs that completed.
    pub jobs_completed: i64,
    /// Jobs that failed.
    pub jobs_failed: i64,
    /// Units the completed prints made (`quantity_per_print`, as stock grows by).
    pub units_produced: i64,
    /// Minutes printed by the jobs that finished (completed or failed).
    pub print_minutes: i64,
    /// Printer failures recorded.
    pub failures: i64,
    /// Orders dated that day, not cancelled or refunded.
    pub order_count: i64,
    /// Their `total_revenue`, in cents.
    pub revenue: i64,
    /// Their revenue less shipping and tax, in cents (the farm records no cost of goods).
    pub profit: i64,
}

impl std::ops::AddAssign for DayFigures {
    fn add_assign(&mut self, o: DayFigures) {
        self.jobs_completed += o.jobs_completed;
        self.jobs_failed += o.jobs_failed;
        self.units_produced += o.units_produced;
        self.print_minutes += o.print_minutes;
        self.failures += o.failures;
        self.order_count += o.order_count;
        self.revenue += o.revenue;
        self.profit += o.profit;
    }
}

/// One printer's figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrinterFigures {
    /// Jobs that completed on it.
    pub jobs_completed: i64,
    /// Jobs that failed on it.
    pub jobs_failed: i64,
    /// Units its completed prints made.
    pub units_produced: i64,
    /// Minutes it printed.
    pub print_minutes: i64,
    /// Failures recorded for it.
    pub failures: i64,
}

impl std::ops::AddAssign for PrinterFigures {
    fn add_assign(&mut self, o: PrinterFigures) {
        self.jobs_completed += o.jobs_completed;
        self.jobs_failed += o.jobs_failed;
        self.units_produced += o.units_produced;
        self.print_minutes += o.print_minutes;
        self.failures += o.failures;
    }
}

/// Orders of one platform.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sales {
    /// Orders, not cancelled or refunded.
    pub order_count: i64,
    /// Cents.
    pub revenue: i64,
    /// Cents, less shipping and tax.
    pub profit: i64,
}

impl std::ops::AddAssign for Sales {
    fn add_assign(&mut self, o: Sales) {
        self.order_count += o.order_count;
        self.revenue += o.revenue;
        self.profit += o.profit;
    }
}

/// What was used of one material.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MaterialUse {
    /// Grams of filament, units of the rest.
    pub usage_amount: f64,
    /// How many uses were recorded.
    pub uses: i64,
}

impl std::ops::AddAssign for MaterialUse {
    fn add_assign(&mut self, o: MaterialUse) {
        self.usage_amount += o.usage_amount;
        self.uses += o.uses;
    }
}

/// The figures of a range of days and their breakdowns, summed over the range.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// Per day (`2026-12-03`); a day that had nothing may be absent.
    pub days: BTreeMap<String, DayFigures>,
    /// Per printer id (deleted printers' ids included: the caller shows the farm's own).
    pub printers: HashMap<String, PrinterFigures>,
    /// Failures per `failure_type`.
    pub failure_types: BTreeMap<String, i64>,
    /// Orders per platform.
    pub platforms: BTreeMap<String, Sales>,
    /// Use per (`material_type`, `material_id`).
    pub materials: BTreeMap<(String, String), MaterialUse>,
}

/// The parts of the figures a report reads. Each costs reads of its own (a year of 500
/// printers is 183,000 per-printer day rows), and the days from today on compute only the
/// real tables the parts need.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Parts {
    /// Jobs finished (counts, units, minutes per day).
    pub jobs: bool,
    /// Failures recorded, per day and per type.
    pub failures: bool,
    /// Orders, per day and per platform.
    pub orders: bool,
    /// Use per material.
    pub materials: bool,
    /// Per printer (its jobs and failures).
    pub printers: bool,
}

impl Parts {
    /// Every part: what a day written to the cache holds.
    pub const ALL: Parts = Parts {
        jobs: true,
        failures: true,
        orders: true,
        materials: true,
        printers: true,
    };
    /// No part (set the ones wanted: `Parts { jobs: true, ..Parts::NONE }`).
    pub const NONE: Parts = Parts {
        jobs: false,
        failures: false,
        orders: false,
        materials: false,
        printers: false,
    };
}

/// One day as computed from the real tables: its figures and breakdowns.
#[derive(Debug, Clone, Default)]
struct Day {
    farm: DayFigures,
    printers: BTreeMap<String, PrinterFigures>,
    failure_types: BTreeMap<String, i64>,
    platforms: BTreeMap<String, Sales>,
    materials: BTreeMap<(String, String), MaterialUse>,
}

impl Figures {
    /// Adds one computed day: its farm figures and the breakdowns of `want` but the
    /// printers' (a closed day's go through the month rollups, [`read_printers`]).
    fn add_day(&mut self, date: &str, day: &Day, want: Parts) {
        *self.days.entry(date.to_string()).or_default() += day.farm;
        if want.failures {
            for (kind, n) in &day.failure_types {
                *self.failure_types.entry(kind.clone()).or_default() += n;
            }
        }
        if want.orders {
            for (platform, s) in &day.platforms {
                *self.platforms.entry(platform.clone()).or_default() += *s;
            }
        }
        if want.materials {
            for (key, u) in &day.materials {
                *self.materials.entry(key.clone()).or_default() += *u;
            }
        }
    }

    /// Adds a day's (or month's) per-printer figures.
    fn add_printers<'a>(
        &mut self,
        printers: impl IntoIterator<Item = (&'a String, &'a PrinterFigures)>,
    ) {
        for (id, p) in printers {
            *self.printers.entry(id.clone()).or_default() += *p;
        }
    }
}

/// The cache row of a day as read.
#[derive(Debug, Clone, Copy)]
struct Gate {
    stale: bool,
    revision: i64,
    figures: DayFigures,
}

/// A month's per-printer rollup to write, with its row's revision as read (`None`: no row).
#[derive(Debug, Clone, Default)]
struct MonthBuild {
    revision: Option<i64>,
    printers: BTreeMap<String, PrinterFigures>,
}

/// What a read rebuilt, to be written back.
#[derive(Debug, Default)]
struct Rebuilt {
    days: BTreeMap<String, Day>,
    months: BTreeMap<String, MonthBuild>,
}

/// The figures of `closed` days (before today: cached, rebuilt where missing or stale)
/// and of the `open` days (from today on: computed), with the parts in `want`, read in
/// one snapshot. Rebuilt days (with every part) and month rollups are written back
/// afterwards; a failure to write them is logged, not answered (the figures were computed
/// from the real tables either way).
pub async fn figures(
    store: &Store,
    tenant: &TenantId,
    closed: &[NaiveDate],
    open: &[NaiveDate],
    want: Parts,
) -> StoreResult<Figures> {
    let mut figures = Figures::default();
    let mut snap = snapshot(store).await?;
    let mut gates = HashMap::new();
    let mut rebuilt = Rebuilt::default();
    if let (Some(first), Some(last)) = (closed.first().copied(), closed.last().copied()) {
        let (from, to) = (day_name(first), day_name(last));
        gates = read_gates(&mut snap, tenant, &from, &to).await?;
        for (date, gate) in &gates {
            if !gate.stale {
                figures.days.insert(date.clone(), gate.figures);
            }
        }
        let missing: Vec<NaiveDate> = closed
            .iter()
            .copied()
            .filter(|d| gates.get(&day_name(*d)).is_none_or(|g| g.stale))
            .collect();
        for run in runs(&missing) {
            let mut days =
                compute(&mut snap, tenant, run[0], run[run.len() - 1], Parts::ALL).await?;
            for date in run {
                let name = day_name(*date);
                let day = days.remove(&name).unwrap_or_default();
                figures.add_day(&name, &day, want);
                rebuilt.days.insert(name, day);
            }
        }
        read_breakdowns(&mut snap, tenant, &from, &to, want, &mut figures).await?;
        if want.printers {
            rebuilt.months =
                read_printers(&mut snap, tenant, first, last, &rebuilt.days, &mut figures).await?;
        }
    }
    if let (Some(first), Some(last)) = (open.first(), open.last()) {
        for (name, day) in compute(&mut snap, tenant, *first, *last, want).await? {
            figures.add_day(&name, &day, want);
            if want.printers {
                figures.add_printers(&day.printers);
            }
        }
    }
    snap.commit().await?;
    if (!rebuilt.days.is_empty() || !rebuilt.months.is_empty())
        && let Err(error) = save(store, tenant, &rebuilt, &gates).await
    {
        tracing::warn!(tenant = %tenant, %error, "analytics days not cached");
    }
    Ok(figures)
}

/// Consecutive days of a sorted list, as runs (each computed in one range scan).
fn runs(days: &[NaiveDate]) -> Vec<&[NaiveDate]> {
    let mut runs = Vec::new();
    let mut start = 0;
    for i in 1..=days.len() {
        let broken = i == days.len() || days[i] - days[i - 1] != chrono::Duration::days(1);
        if broken && i > start {
            runs.push(&days[start..i]);
            start = i;
        }
    }
    runs
}

/// The months (`2026-12`) that lie wholly from `first` to `last`.
fn months_within(first: NaiveDate, last: NaiveDate) -> Vec<String> {
    use chrono::Datelike;
    let mut months = Vec::new();
    let mut start = if first.day() == 1 {
        Some(first)
    } else {
        first
            .with_day(1)
            .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
    };
    while let Some(month) = start {
        let Some(next) = month.checked_add_months(chrono::Months::new(1)) else {
            break;
        };
        if next - chrono::Duration::days(1) > last {
            break;
        }
        months.push(month.format("%Y-%m").to_string());
        start = Some(next);
    }
    months
}

/// The cache rows of the farm's days from `first` to `last`, by date.
async fn read_gates(
    conn: &mut Conn,
    tenant: &TenantId,
    first: &str,
    last: &str,
) -> StoreResult<HashMap<String, Gate>> {
    type Row = (String, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT date, stale, revision, jobs_completed, jobs_failed, units_produced,
                total_print_time_minutes, failures, order_count, revenue, profit
         FROM daily_analytics WHERE tenant_id = $1 AND date >= $2 AND date <= $3",
    )
    .bind(tenant.as_str())
    .bind(first)
    .bind(last)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let gate = Gate {
                stale: r.1 != 0,
                revision: r.2,
                figures: DayFigures {
                    jobs_completed: r.3,
                    jobs_failed: r.4,
                    units_produced: r.5,
                    print_minutes: r.6,
                    failures: r.7,
                    order_count: r.8,
                    revenue: r.9,
                    profit: r.10,
                },
            };
            (r.0, gate)
        })
        .collect())
}

/// The farm's fresh days from `$2` to `$3`: a breakdown's rows count only for those.
const FRESH: &str = "tenant_id = $1 AND date >= $2 AND date <= $3 AND date NOT IN
    (SELECT date FROM daily_analytics WHERE tenant_id = $1 AND date >= $2 AND date <= $3 AND stale = 1)";

/// Adds the cached breakdowns in `want` (but the printers') of the fresh days from `first`
/// to `last`.
async fn read_breakdowns(
    conn: &mut Conn,
    tenant: &TenantId,
    first: &str,
    last: &str,
    want: Parts,
    figures: &mut Figures,
) -> StoreResult<()> {
    if want.failures {
        let sql = format!(
            "SELECT failure_type, CAST(SUM(failures) AS BIGINT) FROM daily_failure_analytics
             WHERE {FRESH} GROUP BY failure_type"
        );
        let kinds: Vec<(String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.as_str())
            .bind(first)
            .bind(last)
            .fetch_all(&mut *conn)
            .await?;
        for (kind, n) in kinds {
            *figures.failure_types.entry(kind).or_default() += n;
        }
    }
    if want.orders {
        let sql = format!(
            "SELECT platform, CAST(SUM(order_count) AS BIGINT), CAST(SUM(revenue) AS BIGINT),
                    CAST(SUM(profit) AS BIGINT)
             FROM daily_platform_analytics WHERE {FRESH} GROUP BY platform"
        );
        let platforms: Vec<(String, i64, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.as_str())
            .bind(first)
            .bind(last)
            .fetch_all(&mut *conn)
            .await?;
        for (platform, order_count, revenue, profit) in platforms {
            *figures.platforms.entry(platform).or_default() += Sales {
                order_count,
                revenue,
                profit,
            };
        }
    }
    if want.materials {
        let sql = format!(
            "SELECT material_type, material_id, CAST(SUM(usage_amount) AS DOUBLE PRECISION),
                    CAST(SUM(uses) AS BIGINT)
             FROM daily_material_analytics WHERE {FRESH} GROUP BY material_type, material_id"
        );
        let materials: Vec<(String, String, f64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.as_str())
            .bind(first)
            .bind(last)
            .fetch_all(&mut *conn)
            .await?;
        for (kind, id, usage_amount, uses) in materials {
            *figures.materials.entry((kind, id)).or_default() += MaterialUse { usage_amount, uses };
        }
    }
    Ok(())
}

/// The sums a per-printer row holds, in its columns' order.
const PRINTER_SUMS: &str = "CAST(SUM(jobs_completed) AS BIGINT), CAST(SUM(jobs_failed) AS BIGINT),
    CAST(SUM(units_produced) AS BIGINT), CAST(SUM(print_time_minutes) AS BIGINT),
    CAST(SUM(failures) AS BIGINT)";

/// Adds the per-printer figures of the closed days from `first` to `last`: the months wholly
/// inside from their rollups where fresh, every other day from its day rows (fresh days) or
/// as `rebuilt`. Returns the rollups of the months inside that were not fresh, built from
/// those days, to be written back (a year is then 12 × 500 rows, not 366 × 500).
async fn read_printers(
    conn: &mut Conn,
    tenant: &TenantId,
    first: NaiveDate,
    last: NaiveDate,
    rebuilt: &BTreeMap<String, Day>,
    figures: &mut Figures,
) -> StoreResult<BTreeMap<String, MonthBuild>> {
    let inside = months_within(first, last);
    // An empty span when no month lies inside: no month is read or left out.
    let (inside_first, inside_last) = match (inside.first(), inside.last()) {
        (Some(a), Some(b)) => (a.clone(), b.clone()),
        _ => ("9999-12".to_string(), "0000-01".to_string()),
    };
    let gates: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT month, stale, revision FROM monthly_analytics
         WHERE tenant_id = $1 AND month >= $2 AND month <= $3",
    )
    .bind(tenant.as_str())
    .bind(&inside_first)
    .bind(&inside_last)
    .fetch_all(&mut *conn)
    .await?;
    let mut builds: BTreeMap<String, MonthBuild> = inside
        .iter()
        .map(|m| (m.clone(), MonthBuild::default()))
        .collect();
    for (month, stale, revision) in gates {
        if stale == 0 {
            builds.remove(&month);
        } else if let Some(build) = builds.get_mut(&month) {
            build.revision = Some(revision);
        }
    }
    let sql = format!(
        "SELECT printer_id, {PRINTER_SUMS} FROM monthly_printer_analytics
         WHERE tenant_id = $1 AND month >= $2 AND month <= $3 AND month NOT IN
            (SELECT month FROM monthly_analytics WHERE tenant_id = $1 AND month >= $2 AND month <= $3 AND stale = 1)
         GROUP BY printer_id"
    );
    let fresh_months: Vec<(String, i64, i64, i64, i64, i64)> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.as_str())
            .bind(&inside_first)
            .bind(&inside_last)
            .fetch_all(&mut *conn)
            .await?;
    for (id, jobs_completed, jobs_failed, units_produced, print_minutes, failures) in fresh_months {
        *figures.printers.entry(id).or_default() += PrinterFigures {
            jobs_completed,
            jobs_failed,
            units_produced,
            print_minutes,
            failures,
        };
    }
    // Every other day, from its rows where fresh: the days around the fresh months, and each
    // month inside that is not fresh on its own (its sums are its rollup).
    let fresh: Vec<&String> = inside.iter().filter(|m| !builds.contains_key(*m)).collect();
    for (from, to, month) in day_spans(first, last, &inside, &fresh) {
        let sql = format!(
            "SELECT printer_id, {PRINTER_SUMS} FROM daily_printer_analytics WHERE {FRESH}
             GROUP BY printer_id"
        );
        let rows: Vec<(String, i64, i64, i64, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(tenant.as_str())
            .bind(day_name(from))
            .bind(day_name(to))
            .fetch_all(&mut *conn)
            .await?;
        for (id, jobs_completed, jobs_failed, units_produced, print_minutes, failures) in rows {
            let p = PrinterFigures {
                jobs_completed,
                jobs_failed,
                units_produced,
                print_minutes,
                failures,
            };
            if let Some(build) = month.as_ref().and_then(|m| builds.get_mut(m)) {
                *build.printers.entry(id.clone()).or_default() += p;
            }
            *figures.printers.entry(id).or_default() += p;
        }
    }
    for (date, day) in rebuilt {
        let month = date.get(..7).unwrap_or(date);
        if fresh.iter().any(|m| m.as_str() == month) {
            continue;
        }
        figures.add_printers(&day.printers);
        if let Some(build) = builds.get_mut(month) {
            for (id, p) in &day.printers {
                *build.printers.entry(id.clone()).or_default() += *p;
            }
        }
    }
    Ok(builds)
}

/// The spans of days from `first` to `last` read day by day: around the `fresh` months of
/// `inside` (read from their rollups), and each other month of `inside` on its own (named,
/// so that its rollup is built from it).
fn day_spans(
    first: NaiveDate,
    last: NaiveDate,
    inside: &[String],
    fresh: &[&String],
) -> Vec<(NaiveDate, NaiveDate, Option<String>)> {
    let mut spans = Vec::new();
    let mut cursor = first;
    for month in inside {
        let Some(start) = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok() else {
            continue;
        };
        let Some(next) = start.checked_add_months(chrono::Months::new(1)) else {
            continue;
        };
        let end = next - chrono::Duration::days(1);
        if cursor < start {
            spans.push((cursor, start - chrono::Duration::days(1), None));
        }
        if !fresh.contains(&month) {
            spans.push((start, end, Some(month.clone())));
        }
        cursor = next;
    }
    if cursor <= last {
        spans.push((cursor, last, None));
    }
    spans
}

/// The days from `first` to `last` computed from the real tables the parts in `want` need,
/// by date (days with no rows are absent).
async fn compute(
    conn: &mut Conn,
    tenant: &TenantId,
    first: NaiveDate,
    last: NaiveDate,
    want: Parts,
) -> StoreResult<BTreeMap<String, Day>> {
    let from = day_start(first);
    let until = day_start(last + chrono::Duration::days(1));
    let mut days: BTreeMap<String, Day> = BTreeMap::new();
    if want.jobs || want.printers {
        compute_jobs(conn, tenant, &from, &until, &mut days).await?;
    }
    if want.failures || want.printers {
        compute_failures(conn, tenant, &from, &until, &mut days).await?;
    }
    if want.orders {
        compute_orders(conn, tenant, &from, &until, &mut days).await?;
    }
    if want.materials {
        compute_materials(conn, tenant, &from, &until, &mut days).await?;
    }
    Ok(days)
}

/// Adds the jobs that finished in `[from, until)`, per day and printer.
async fn compute_jobs(
    conn: &mut Conn,
    tenant: &TenantId,
    from: &str,
    until: &str,
    days: &mut BTreeMap<String, Day>,
) -> StoreResult<()> {
    // Units as stock grows by them (the print-events worker): a print makes at least one.
    let jobs: Vec<(String, Option<String>, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT substr(time_completed, 1, 10), printer_id,
                CAST(SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS BIGINT),
                CAST(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS BIGINT),
                CAST(SUM(CASE WHEN status <> 'completed' THEN 0
                              WHEN quantity_per_print > 1 THEN quantity_per_print ELSE 1 END) AS BIGINT),
                CAST(SUM(COALESCE(actual_print_time_minutes, 0)) AS BIGINT)
         FROM print_jobs
         WHERE tenant_id = $1 AND time_completed >= $2 AND time_completed < $3
           AND status IN ('completed', 'failed')
         GROUP BY substr(time_completed, 1, 10), printer_id",
    )
    .bind(tenant.as_str())
    .bind(from)
    .bind(until)
    .fetch_all(&mut *conn)
    .await?;
    for (date, printer, completed, failed, units, minutes) in jobs {
        let day = days.entry(date).or_default();
        day.farm.jobs_completed += completed;
        day.farm.jobs_failed += failed;
        day.farm.units_produced += units;
        day.farm.print_minutes += minutes;
        if let Some(printer) = printer {
            *day.printers.entry(printer).or_default() += PrinterFigures {
                jobs_completed: completed,
                jobs_failed: failed,
                units_produced: units,
                print_minutes: minutes,
                failures: 0,
            };
        }
    }
    Ok(())
}

/// Adds the failures recorded in `[from, until)`, per day, printer and type.
async fn compute_failures(
    conn: &mut Conn,
    tenant: &TenantId,
    from: &str,
    until: &str,
    days: &mut BTreeMap<String, Day>,
) -> StoreResult<()> {
    let failures: Vec<(String, Option<String>, String, i64)> = sqlx::query_as(
        "SELECT substr(created_at, 1, 10), printer_id, failure_type, CAST(COUNT(*) AS BIGINT)
         FROM printer_failures WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3
         GROUP BY substr(created_at, 1, 10), printer_id, failure_type",
    )
    .bind(tenant.as_str())
    .bind(from)
    .bind(until)
    .fetch_all(&mut *conn)
    .await?;
    for (date, printer, kind, n) in failures {
        let day = days.entry(date).or_default();
        day.farm.failures += n;
        *day.failure_types.entry(kind).or_default() += n;
        if let Some(printer) = printer {
            day.printers.entry(printer).or_default().failures += n;
        }
    }
    Ok(())
}

/// Adds the orders dated in `[from, until)`, per day and platform.
async fn compute_orders(
    conn: &mut Conn,
    tenant: &TenantId,
    from: &str,
    until: &str,
    days: &mut BTreeMap<String, Day>,
) -> StoreResult<()> {
    let orders: Vec<(String, String, i64, i64, i64)> = sqlx::query_as(
        "SELECT substr(order_date, 1, 10), platform, CAST(COUNT(*) AS BIGINT),
                CAST(SUM(total_revenue) AS BIGINT),
                CAST(SUM(total_revenue - shipping_cost - tax_amount) AS BIGINT)
         FROM orders WHERE tenant_id = $1 AND order_date >= $2 AND order_date < $3
           AND status NOT IN ('cancelled', 'refunded')
         GROUP BY substr(order_date, 1, 10), platform",
    )
    .bind(tenant.as_str())
    .bind(from)
    .bind(until)
    .fetch_all(&mut *conn)
    .await?;
    for (date, platform, order_count, revenue, profit) in orders {
        let day = days.entry(date).or_default();
        day.farm.order_count += order_count;
        day.farm.revenue += revenue;
        day.farm.profit += profit;
        *day.platforms.entry(platform).or_default() += Sales {
            order_count,
            revenue,
            profit,
        };
    }
    Ok(())
}

/// Adds the uses of material in `[from, until)`, per day and material.
async fn compute_materials(
    conn: &mut Conn,
    tenant: &TenantId,
    from: &str,
    until: &str,
    days: &mut BTreeMap<String, Day>,
) -> StoreResult<()> {
    let usage: Vec<(String, String, String, f64, i64)> = sqlx::query_as(
        "SELECT substr(usage_date, 1, 10), material_type, material_id,
                CAST(SUM(usage_amount) AS DOUBLE PRECISION), CAST(COUNT(*) AS BIGINT)
         FROM material_usage_history WHERE tenant_id = $1 AND usage_date >= $2 AND usage_date < $3
         GROUP BY substr(usage_date, 1, 10), material_type, material_id",
    )
    .bind(tenant.as_str())
    .bind(from)
    .bind(until)
    .fetch_all(&mut *conn)
    .await?;
    for (date, kind, id, usage_amount, uses) in usage {
        let day = days.entry(date).or_default();
        *day.materials.entry((kind, id)).or_default() += MaterialUse { usage_amount, uses };
    }
    Ok(())
}

/// Days written per transaction, so a year built at once lets other writers in between.
const DAYS_PER_WRITE: usize = 31;
/// Rows per multi-row `INSERT` (bind variables stay far below either database's limit).
const ROWS_PER_INSERT: usize = 200;

/// Writes rebuilt days and month rollups back to the cache, each only if its row is still
/// as read (see the module's documentation).
async fn save(
    store: &Store,
    tenant: &TenantId,
    rebuilt: &Rebuilt,
    gates: &HashMap<String, Gate>,
) -> StoreResult<()> {
    let days: Vec<(&String, &Day)> = rebuilt.days.iter().collect();
    for chunk in days.chunks(DAYS_PER_WRITE) {
        let mut tx = store.begin().await?;
        let now = crate::now_text();
        for (date, day) in chunk {
            if save_gate(&mut tx, tenant, date, day, gates.get(*date), &now).await? {
                save_breakdowns(&mut tx, tenant, date, day).await?;
            }
        }
        tx.commit().await?;
    }
    if !rebuilt.months.is_empty() {
        let mut tx = store.begin().await?;
        let now = crate::now_text();
        for (month, build) in &rebuilt.months {
            save_month(&mut tx, tenant, month, build, &now).await?;
        }
        tx.commit().await?;
    }
    Ok(())
}

/// Writes a month's per-printer rollup, if its row is as read: still stale at its
/// revision, or still absent.
async fn save_month(
    conn: &mut Conn,
    tenant: &TenantId,
    month: &str,
    build: &MonthBuild,
    now: &str,
) -> StoreResult<()> {
    let done = match build.revision {
        Some(revision) => sqlx::query(
            "UPDATE monthly_analytics SET stale = 0, created_at = $4
             WHERE tenant_id = $1 AND month = $2 AND revision = $3 AND stale = 1",
        )
        .bind(tenant.as_str())
        .bind(month)
        .bind(revision)
        .bind(now),
        None => sqlx::query(
            "INSERT INTO monthly_analytics (tenant_id, month, stale, revision, created_at)
             VALUES ($1, $2, 0, 0, $3) ON CONFLICT (tenant_id, month) DO NOTHING",
        )
        .bind(tenant.as_str())
        .bind(month)
        .bind(now),
    }
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(());
    }
    sqlx::query("DELETE FROM monthly_printer_analytics WHERE tenant_id = $1 AND month = $2")
        .bind(tenant.as_str())
        .bind(month)
        .execute(&mut *conn)
        .await?;
    let printers: Vec<_> = build.printers.iter().collect();
    for rows in printers.chunks(ROWS_PER_INSERT) {
        let sql = multi_insert(
            "monthly_printer_analytics (tenant_id, month, printer_id, jobs_completed, jobs_failed,
                units_produced, print_time_minutes, failures)",
            8,
            rows.len(),
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (id, p) in rows {
            query = query
                .bind(tenant.as_str())
                .bind(month)
                .bind(id.as_str())
                .bind(p.jobs_completed)
                .bind(p.jobs_failed)
                .bind(p.units_produced)
                .bind(p.print_minutes)
                .bind(p.failures);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Writes a day's farm figures and marks it fresh, if its row is as read: still stale at
/// `revision`, or still absent. Returns whether it was written.
async fn save_gate(
    conn: &mut Conn,
    tenant: &TenantId,
    date: &str,
    day: &Day,
    read: Option<&Gate>,
    now: &str,
) -> StoreResult<bool> {
    let f = &day.farm;
    let finished = f.jobs_completed + f.jobs_failed;
    let rate = domain::analytics::success_rate(f.jobs_completed, f.jobs_failed);
    let average = domain::analytics::average(f.print_minutes, finished);
    let done = match read {
        Some(gate) => sqlx::query(
            "UPDATE daily_analytics SET stale = 0, jobs_completed = $4, jobs_failed = $5,
                units_produced = $6, total_print_time_minutes = $7, failures = $8,
                order_count = $9, revenue = $10, profit = $11,
                print_completion_percentage = CAST($12 AS DOUBLE PRECISION),
                average_job_time_minutes = CAST($13 AS DOUBLE PRECISION), created_at = $14
             WHERE tenant_id = $1 AND date = $2 AND revision = $3 AND stale = 1",
        )
        .bind(tenant.as_str())
        .bind(date)
        .bind(gate.revision),
        None => sqlx::query(
            "INSERT INTO daily_analytics (tenant_id, date, id, stale, revision, jobs_completed,
                jobs_failed, units_produced, total_print_time_minutes, failures, order_count,
                revenue, profit, print_completion_percentage, average_job_time_minutes, created_at)
             VALUES ($1, $2, $3, 0, 0, $4, $5, $6, $7, $8, $9, $10, $11,
                CAST($12 AS DOUBLE PRECISION), CAST($13 AS DOUBLE PRECISION), $14)
             ON CONFLICT (tenant_id, date) DO NOTHING",
        )
        .bind(tenant.as_str())
        .bind(date)
        .bind(crate::new_id()),
    }
    .bind(f.jobs_completed)
    .bind(f.jobs_failed)
    .bind(f.units_produced)
    .bind(f.print_minutes)
    .bind(f.failures)
    .bind(f.order_count)
    .bind(f.revenue)
    .bind(f.profit)
    .bind(crate::float_param(Some(rate)))
    .bind(crate::float_param(Some(average)))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces a day's breakdown rows.
async fn save_breakdowns(
    conn: &mut Conn,
    tenant: &TenantId,
    date: &str,
    day: &Day,
) -> StoreResult<()> {
    for table in [
        "daily_printer_analytics",
        "daily_failure_analytics",
        "daily_platform_analytics",
        "daily_material_analytics",
    ] {
        let sql = format!("DELETE FROM {table} WHERE tenant_id = $1 AND date = $2");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.as_str())
            .bind(date)
            .execute(&mut *conn)
            .await?;
    }
    let printers: Vec<_> = day.printers.iter().collect();
    for rows in printers.chunks(ROWS_PER_INSERT) {
        let sql = multi_insert(
            "daily_printer_analytics (tenant_id, date, printer_id, jobs_completed, jobs_failed,
                units_produced, print_time_minutes, failures)",
            8,
            rows.len(),
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (id, p) in rows {
            query = query
                .bind(tenant.as_str())
                .bind(date)
                .bind(id.as_str())
                .bind(p.jobs_completed)
                .bind(p.jobs_failed)
                .bind(p.units_produced)
                .bind(p.print_minutes)
                .bind(p.failures);
        }
        query.execute(&mut *conn).await?;
    }
    // A day holds a dozen failure types and five platforms at most: one insert each.
    if !day.failure_types.is_empty() {
        let sql = multi_insert(
            "daily_failure_analytics (tenant_id, date, failure_type, failures)",
            4,
            day.failure_types.len(),
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (kind, n) in &day.failure_types {
            query = query
                .bind(tenant.as_str())
                .bind(date)
                .bind(kind.as_str())
                .bind(*n);
        }
        query.execute(&mut *conn).await?;
    }
    if !day.platforms.is_empty() {
        let sql = multi_insert(
            "daily_platform_analytics (tenant_id, date, platform, order_count, revenue, profit)",
            6,
            day.platforms.len(),
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (platform, s) in &day.platforms {
            query = query
                .bind(tenant.as_str())
                .bind(date)
                .bind(platform.as_str())
                .bind(s.order_count)
                .bind(s.revenue)
                .bind(s.profit);
        }
        query.execute(&mut *conn).await?;
    }
    let materials: Vec<_> = day.materials.iter().collect();
    for rows in materials.chunks(ROWS_PER_INSERT) {
        let sql = multi_insert(
            "daily_material_analytics (tenant_id, date, material_type, material_id, usage_amount, uses)",
            6,
            rows.len(),
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for ((kind, id), u) in rows {
            query = query
                .bind(tenant.as_str())
                .bind(date)
                .bind(kind.as_str())
                .bind(id.as_str())
                .bind(u.usage_amount)
                .bind(u.uses);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// `INSERT INTO <into> VALUES (...), (...)` with `rows` rows of `width` numbered placeholders.
pub fn multi_insert(into: &str, width: usize, rows: usize) -> String {
    let mut sql = format!("INSERT INTO {into} VALUES ");
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for col in 0..width {
            if col > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(row * width + col + 1).to_string());
        }
        sql.push(')');
    }
    sql
}

/// The farm right now, for the overview.
#[derive(Debug, Clone, Default)]
pub struct Now {
    /// Printers per state (a printer in maintenance counts as `maintenance`).
    pub printers_by_state: Vec<(String, i64)>,
    /// Printers connected to their hub.
    pub printers_connected: i64,
    /// Jobs per status, of the statuses still moving (queued to paused).
    pub jobs_by_status: Vec<(String, i64)>,
    /// Open worklist tasks per type.
    pub open_tasks_by_type: Vec<(String, i64)>,
    /// Open worklist tasks started.
    pub tasks_in_progress: i64,
    /// The farm's hubs and how many are online.
    pub hubs: (i64, i64),
    /// Active finished goods at or below their threshold with some ready, and with none.
    pub goods_low: i64,
    /// Active finished goods with no ready units.
    pub goods_out: i64,
    /// Finished goods with units waiting for assembly.
    pub goods_need_assembly: i64,
    /// Filament spools at or below their threshold.
    pub filament_low: i64,
    /// Failures with no resolution.
    pub unresolved_failures: i64,
}

/// Counts of the farm as it is now.
pub async fn now(conn: &mut Conn, tenant: &TenantId) -> StoreResult<Now> {
    let t = tenant.as_str();
    let printers_by_state = crate::printers::counts_by_state(conn, tenant).await?;
    let (printers_connected,): (i64,) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM printers WHERE tenant_id = $1 AND is_connected = 1",
    )
    .bind(t)
    .fetch_one(&mut *conn)
    .await?;
    // Only the statuses a job is still in: each is a short range of the status index,
    // where counting the finished ones would walk every job the farm ever printed.
    let jobs_by_status: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status, CAST(COUNT(*) AS BIGINT) FROM print_jobs
         WHERE tenant_id = $1 AND status IN ('queued', 'processing', 'uploaded', 'printing', 'paused')
         GROUP BY status ORDER BY status",
    )
    .bind(t)
    .fetch_all(&mut *conn)
    .await?;
    let open_tasks_by_type: Vec<(String, i64)> = sqlx::query_as(
        "SELECT task_type, CAST(COUNT(*) AS BIGINT) FROM worklist_tasks
         WHERE tenant_id = $1 AND status IN ('pending', 'in_progress') GROUP BY task_type ORDER BY task_type",
    )
    .bind(t)
    .fetch_all(&mut *conn)
    .await?;
    let (tasks_in_progress,): (i64,) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM worklist_tasks WHERE tenant_id = $1 AND status = 'in_progress'",
    )
    .bind(t)
    .fetch_one(&mut *conn)
    .await?;
    let hubs: (i64, i64) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(is_online), 0) AS BIGINT)
         FROM hubs WHERE tenant_id = $1",
    )
    .bind(t)
    .fetch_one(&mut *conn)
    .await?;
    let (goods_low, goods_out, goods_need_assembly): (i64, i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(CASE WHEN current_stock > 0 AND current_stock <= low_stock_threshold THEN 1 ELSE 0 END), 0) AS BIGINT),
                CAST(COALESCE(SUM(CASE WHEN current_stock <= 0 THEN 1 ELSE 0 END), 0) AS BIGINT),
                CAST(COALESCE(SUM(CASE WHEN quantity_needs_assembly > 0 THEN 1 ELSE 0 END), 0) AS BIGINT)
         FROM finished_goods WHERE tenant_id = $1 AND is_active = 1",
    )
    .bind(t)
    .fetch_one(&mut *conn)
    .await?;
    let (filament_low,): (i64,) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM filament_inventory
         WHERE tenant_id = $1 AND remaining_grams <= low_threshold",
    )
    .bind(t)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Now {
        printers_by_state,
        printers_connected,
        jobs_by_status,
        open_tasks_by_type,
        tasks_in_progress,
        hubs,
        goods_low,
        goods_out,
        goods_need_assembly,
        filament_low,
        unresolved_failures: unresolved_failures(conn, tenant).await?,
    })
}

/// How many of the farm's failures have no resolution (ever, not only in a range).
pub async fn unresolved_failures(conn: &mut Conn, tenant: &TenantId) -> StoreResult<i64> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM printer_failures WHERE tenant_id = $1 AND resolved_at IS NULL",
    )
    .bind(tenant.as_str())
    .fetch_one(&mut *conn)
    .await?;
    Ok(n)
}

/// A failure as the failure analysis lists it, with its job's and printer's names.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct RecentFailure {
    pub id: String,
    pub failure_type: String,
    pub failure_reason: Option<String>,
    pub progress_at_failure: Option<i64>,
    pub print_time_at_failure: Option<i64>,
    pub resolved_at: Option<String>,
    pub created_at: String,
    pub print_job_id: Option<String>,
    /// The job's file (`print_jobs.file_name`).
    pub job_name: Option<String>,
    pub printer_id: Option<String>,
    /// The printer's name now (or as the job recorded it, for a printer since removed).
    pub printer_name: Option<String>,
}

/// The farm's latest `limit` failures recorded in `[from, until)`, newest first.
pub async fn recent_failures(
    conn: &mut Conn,
    tenant: &TenantId,
    from: &str,
    until: &str,
    limit: i64,
) -> StoreResult<Vec<RecentFailure>> {
    Ok(sqlx::query_as::<_, RecentFailure>(
        "SELECT f.id, f.failure_type, f.failure_reason, f.progress_at_failure, f.print_time_at_failure,
                f.resolved_at, f.created_at, f.print_job_id, j.file_name AS job_name, f.printer_id,
                COALESCE(p.name, j.printer_name) AS printer_name
         FROM printer_failures f
         LEFT JOIN print_jobs j ON j.id = f.print_job_id AND j.tenant_id = f.tenant_id
         LEFT JOIN printers p ON p.id = f.printer_id AND p.tenant_id = f.tenant_id
         WHERE f.tenant_id = $1 AND f.created_at >= $2 AND f.created_at < $3
         ORDER BY f.created_at DESC, f.id DESC LIMIT $4",
    )
    .bind(tenant.as_str())
    .bind(from)
    .bind(until)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

/// A printer as the utilisation lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PrinterRow {
    pub id: String,
    /// The farm's printer number.
    pub printer_id: Option<i64>,
    pub name: String,
    pub model: String,
    pub status: String,
}

/// The farm's printers in their display order.
pub async fn printers(conn: &mut Conn, tenant: &TenantId) -> StoreResult<Vec<PrinterRow>> {
    Ok(sqlx::query_as::<_, PrinterRow>(
        "SELECT id, printer_id, name, model, status FROM printers WHERE tenant_id = $1
         ORDER BY sort_order, printer_id, id",
    )
    .bind(tenant.as_str())
    .fetch_all(&mut *conn)
    .await?)
}

/// A finished good short of stock.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct ShortGood {
    pub id: String,
    pub product_sku_id: String,
    pub sku: String,
    pub color: String,
    pub current_stock: i64,
    pub low_stock_threshold: i64,
    pub quantity_needs_assembly: i64,
}

/// The farm's finished goods in figures.
#[derive(Debug, Clone, Default)]
pub struct GoodsFigures {
    /// Active finished goods.
    pub total: i64,
    /// Above their threshold.
    pub in_stock: i64,
    /// At or below their threshold, with some ready.
    pub low_stock: i64,
    /// With none ready.
    pub out_of_stock: i64,
    /// With units waiting for assembly.
    pub needs_assembly: i64,
    /// Ready units in all.
    pub units_in_stock: i64,
    /// Units waiting for assembly in all.
    pub units_needing_assembly: i64,
}

/// Counts of the farm's active finished goods, and the `limit` shortest of stock (none
/// ready first, then the furthest below their threshold).
pub async fn goods(
    conn: &mut Conn,
    tenant: &TenantId,
    limit: i64,
) -> StoreResult<(GoodsFigures, Vec<ShortGood>)> {
    let row: (i64, i64, i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT),
            CAST(COALESCE(SUM(CASE WHEN current_stock > low_stock_threshold THEN 1 ELSE 0 END), 0) AS BIGINT),
            CAST(COALESCE(SUM(CASE WHEN current_stock > 0 AND current_stock <= low_stock_threshold THEN 1 ELSE 0 END), 0) AS BIGINT),
            CAST(COALESCE(SUM(CASE WHEN current_stock <= 0 THEN 1 ELSE 0 END), 0) AS BIGINT),
            CAST(COALESCE(SUM(CASE WHEN quantity_needs_assembly > 0 THEN 1 ELSE 0 END), 0) AS BIGINT),
            CAST(COALESCE(SUM(current_stock), 0) AS BIGINT),
            CAST(COALESCE(SUM(quantity_needs_assembly), 0) AS BIGINT)
         FROM finished_goods WHERE tenant_id = $1 AND is_active = 1",
    )
    .bind(tenant.as_str())
    .fetch_one(&mut *conn)
    .await?;
    let short = sqlx::query_as::<_, ShortGood>(
        "SELECT id, product_sku_id, sku, color, current_stock, low_stock_threshold, quantity_needs_assembly
         FROM finished_goods WHERE tenant_id = $1 AND is_active = 1 AND current_stock <= low_stock_threshold
         ORDER BY CASE WHEN current_stock <= 0 THEN 0 ELSE 1 END, current_stock - low_stock_threshold, sku, id
         LIMIT $2",
    )
    .bind(tenant.as_str())
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok((
        GoodsFigures {
            total: row.0,
            in_stock: row.1,
            low_stock: row.2,
            out_of_stock: row.3,
            needs_assembly: row.4,
            units_in_stock: row.5,
            units_needing_assembly: row.6,
        },
        short,
    ))
}

/// A filament spool at or below its threshold.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct LowSpool {
    pub id: String,
    #[serde(rename = "type")]
    #[sqlx(rename = "type")]
    pub filament_type: String,
    pub color: String,
    pub brand: Option<String>,
    pub remaining_grams: f64,
    pub low_threshold: f64,
    pub status: String,
}

/// The farm's spools in figures.
#[derive(Debug, Clone, Default)]
pub struct SpoolFigures {
    /// Spools.
    pub spools: i64,
    /// At or below their threshold (empty ones included).
    pub low: i64,
    /// Empty.
    pub out_of_stock: i64,
    /// Grams left on all of them.
    pub remaining_grams: f64,
}

/// The farm's spools in figures and the `limit` lowest at or below their threshold.
pub async fn filament(
    conn: &mut Conn,
    tenant: &TenantId,
    limit: i64,
) -> StoreResult<(SpoolFigures, Vec<LowSpool>)> {
    let (spools, low, out_of_stock, remaining_grams): (i64, i64, i64, f64) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT),
            CAST(COALESCE(SUM(CASE WHEN remaining_grams <= low_threshold THEN 1 ELSE 0 END), 0) AS BIGINT),
            CAST(COALESCE(SUM(CASE WHEN remaining_grams <= 0 THEN 1 ELSE 0 END), 0) AS BIGINT),
            CAST(COALESCE(SUM(remaining_grams), 0) AS DOUBLE PRECISION)
         FROM filament_inventory WHERE tenant_id = $1",
    )
    .bind(tenant.as_str())
    .fetch_one(&mut *conn)
    .await?;
    let lowest = sqlx::query_as::<_, LowSpool>(
        "SELECT id, type, color, brand, remaining_grams, low_threshold, status
         FROM filament_inventory WHERE tenant_id = $1 AND remaining_grams <= low_threshold
         ORDER BY remaining_grams, type, color, id LIMIT $2",
    )
    .bind(tenant.as_str())
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let figures = SpoolFigures {
        spools,
        low,
        out_of_stock,
        remaining_grams,
    };
    Ok((figures, lowest))
}

/// Names of the farm's materials by (`material_type`, id), as their lists label them.
pub async fn material_names(
    conn: &mut Conn,
    tenant: &TenantId,
) -> StoreResult<HashMap<(String, String), String>> {
    // (kind, id, name, type, colour)
    type Row = (String, String, Option<String>, String, Option<String>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT 'filament', id, CAST(NULL AS TEXT), type, color FROM filament_inventory WHERE tenant_id = $1
         UNION ALL SELECT 'packaging', id, name, type, color FROM packaging_inventory WHERE tenant_id = $1
         UNION ALL SELECT 'component', id, name, type, color FROM accessories_inventory WHERE tenant_id = $1
         UNION ALL SELECT 'part', id, name, type, color FROM printer_parts_inventory WHERE tenant_id = $1",
    )
    .bind(tenant.as_str())
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(kind, id, name, material_type, colour)| {
            let label = match (name, colour) {
                (Some(name), _) => name,
                (None, Some(colour)) => format!("{colour} {material_type}"),
                (None, None) => material_type,
            };
            ((kind, id), label)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn missing_days_are_computed_in_runs_of_consecutive_days() {
        let days = [
            day("2026-12-01"),
            day("2026-12-02"),
            day("2026-12-05"),
            day("2026-12-07"),
            day("2026-12-08"),
        ];
        let runs: Vec<usize> = runs(&days).iter().map(|r| r.len()).collect();
        assert_eq!(runs, [2, 1, 2]);
        assert!(super::runs(&[]).is_empty());
    }

    #[test]
    fn only_months_wholly_inside_a_range_are_rolled_up() {
        assert_eq!(
            months_within(day("2026-01-15"), day("2026-04-30")),
            ["2026-02", "2026-03", "2026-04"]
        );
        assert_eq!(
            months_within(day("2026-02-01"), day("2026-02-27")),
            Vec::<String>::new()
        );
        assert_eq!(
            months_within(day("2025-12-01"), day("2026-01-31")),
            ["2025-12", "2026-01"]
        );
    }

    #[test]
    fn days_are_read_around_fresh_months_and_a_stale_month_on_its_own() {
        let inside: Vec<String> = ["2026-02", "2026-03", "2026-04"].map(String::from).to_vec();
        let march = "2026-03".to_string();
        let fresh = [&inside[0], &inside[2]];
        let spans = day_spans(day("2026-01-15"), day("2026-05-10"), &inside, &fresh);
        assert_eq!(
            spans,
            vec![
                (day("2026-01-15"), day("2026-01-31"), None),
                (day("2026-03-01"), day("2026-03-31"), Some(march)),
                (day("2026-05-01"), day("2026-05-10"), None),
            ]
        );
        assert_eq!(
            day_spans(day("2026-01-15"), day("2026-02-10"), &[], &[]),
            vec![(day("2026-01-15"), day("2026-02-10"), None)]
        );
    }

    #[test]
    fn a_multi_row_insert_numbers_every_placeholder() {
        assert_eq!(
            multi_insert("t (a, b)", 2, 2),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)"
        );
    }
}
