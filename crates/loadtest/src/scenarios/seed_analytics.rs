//! `loadtest seed-analytics`: a year of a large farm written straight into its database, for
//! measuring the analytics (`bench/analytics.sh`). Through the API, 1.5 million jobs would
//! take hours; here they are batched multi-row `INSERT`s of the real tables, on SQLite and
//! PostgreSQL alike, into a farm that already exists (its owner signed up through the API).
//!
//! What a farm of that size holds by the end of a year: printers on hubs, jobs finished on
//! every day (about one in fifteen failed, most with a failure recorded, a fifth of those
//! unresolved), a use of filament per print, orders from the platforms (some cancelled or
//! refunded), finished goods and spools (some low), open tasks, and jobs still queued or
//! printing. Values come from a seeded generator, so two runs write the same farm.
//!
//! The day cache is left empty: the first analytics read builds it, as after an upgrade.

use crate::error::{Error, Result};
use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::fmt::Write as _;
use std::time::Instant;
use store::{Conn, Store};

/// Rows per `INSERT` statement.
const ROWS_PER_INSERT: usize = 1000;
/// Statements per transaction (a transaction per 20,000 rows).
const INSERTS_PER_TX: usize = 20;

/// Options of `loadtest seed-analytics`.
#[derive(Debug, Clone, clap::Args)]
pub struct SeedOptions {
    /// The database (`sqlite://…` or `postgres://…`); migrations are applied first.
    #[arg(long)]
    pub database_url: String,
    /// The farm's id (a farm made through the API: its owner reads the analytics).
    #[arg(long)]
    pub farm: String,
    /// Printers to add.
    #[arg(long, default_value_t = 500)]
    pub printers: usize,
    /// Days back from today that jobs, failures and orders fall on (today included, up to now).
    #[arg(long, default_value_t = 365)]
    pub days: i64,
    /// Finished jobs (completed or failed).
    #[arg(long, default_value_t = 1_500_000)]
    pub jobs: usize,
    /// Printer failures recorded (one per failed job, as the print-events worker writes them).
    #[arg(long, default_value_t = 100_000)]
    pub failures: usize,
    /// Orders.
    #[arg(long, default_value_t = 150_000)]
    pub orders: usize,
    /// The generator's seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// What was written, and how long it took.
#[derive(Debug, Clone, Serialize)]
pub struct SeedReport {
    /// Printers added.
    pub printers: usize,
    /// Finished jobs.
    pub jobs: usize,
    /// Failures recorded.
    pub failures: usize,
    /// Uses of filament.
    pub material_uses: usize,
    /// Orders (each with one line).
    pub orders: usize,
    /// Rows written in all.
    pub rows: usize,
    /// Seconds the writing took (statistics refreshed included).
    pub seconds: f64,
}

impl SeedReport {
    /// A few lines for people.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "seed-analytics: {} printers, {} finished jobs, {} failures, {} uses of filament, {} orders",
            self.printers, self.jobs, self.failures, self.material_uses, self.orders
        );
        let _ = writeln!(
            out,
            "  {} rows in {:.1} s ({:.0} rows/s)",
            self.rows,
            self.seconds,
            self.rows as f64 / self.seconds.max(0.001)
        );
        out
    }
}

/// A text literal (the values written are generated here, but quoting stays correct).
fn text(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// A stored time as a literal.
fn at(time: DateTime<Utc>) -> String {
    text(&domain::time::format(time))
}

/// Batches rows into multi-row `INSERT`s of `into`, in transactions of a few statements.
struct Writer {
    into: &'static str,
    rows: Vec<String>,
    statements: Vec<String>,
    written: usize,
}

impl Writer {
    fn new(into: &'static str) -> Writer {
        Writer {
            into,
            rows: Vec::with_capacity(ROWS_PER_INSERT),
            statements: Vec::new(),
            written: 0,
        }
    }

    /// Adds one row (its values, comma-separated literals); writes a batch when one is full.
    async fn row(&mut self, conn: &mut Conn, values: String) -> Result<()> {
        self.push(values);
        if self.full() {
            self.flush(conn).await?;
        }
        Ok(())
    }

    /// Adds one row without writing: for rows that point at another writer's rows, which
    /// must be written first (see [`flush_in_order`]).
    fn push(&mut self, values: String) {
        self.rows.push(values);
        if self.rows.len() == ROWS_PER_INSERT {
            self.close_statement();
        }
    }

    /// Whether a transaction's worth is batched.
    fn full(&self) -> bool {
        self.statements.len() >= INSERTS_PER_TX
    }

    fn close_statement(&mut self) {
        if self.rows.is_empty() {
            return;
        }
        let mut sql = String::with_capacity(64 + self.rows.len() * 256);
        let _ = write!(sql, "INSERT INTO {} VALUES ", self.into);
        for (i, row) in self.rows.drain(..).enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            sql.push_str(&row);
            sql.push(')');
            self.written += 1;
        }
        self.statements.push(sql);
    }

    /// Writes what is batched.
    async fn flush(&mut self, conn: &mut Conn) -> Result<()> {
        self.close_statement();
        if self.statements.is_empty() {
            return Ok(());
        }
        let mut tx = sqlx::Connection::begin(&mut *conn)
            .await
            .map_err(|e| db(e.into()))?;
        for sql in self.statements.drain(..) {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut *tx)
                .await
                .map_err(|e| db(e.into()))?;
        }
        tx.commit().await.map_err(|e| db(e.into()))?;
        Ok(())
    }

    /// Writes the rest; returns how many rows this writer wrote.
    async fn finish(mut self, conn: &mut Conn) -> Result<usize> {
        self.flush(conn).await?;
        Ok(self.written)
    }
}

/// Writes every writer's batch, in order, once any is full: a failure or a line is written
/// only after the job or order it points at.
async fn flush_in_order(conn: &mut Conn, writers: &mut [&mut Writer]) -> Result<()> {
    if writers.iter().any(|w| w.full()) {
        for w in writers.iter_mut() {
            w.flush(conn).await?;
        }
    }
    Ok(())
}

fn db(error: store::StoreError) -> Error {
    Error::Invalid(format!("database: {error}"))
}

/// A random UUID from the seeded generator.
fn uuid(rng: &mut StdRng) -> String {
    uuid::Builder::from_random_bytes(rng.random())
        .into_uuid()
        .to_string()
}

/// The failure types of `printer_failures`, the common ones first (drawn with a skew).
const FAILURE_TYPES: [&str; 12] = [
    "nozzle_clog",
    "bed_adhesion",
    "filament_runout",
    "layer_shift",
    "network_disconnect",
    "thermal",
    "firmware_error",
    "mechanical",
    "user_cancelled",
    "power_loss",
    "unknown",
    "other",
];

/// Where orders come from, with their weight in percent.
const PLATFORMS: [(&str, u32); 5] = [
    ("shopify", 60),
    ("etsy", 15),
    ("amazon", 10),
    ("manual", 10),
    ("other", 5),
];

/// Writes the farm. The farm must exist; its printers' and orders' numbers continue after
/// the ones it has.
pub async fn run(options: &SeedOptions) -> Result<SeedReport> {
    let started = Instant::now();
    let store = Store::open(&options.database_url).await.map_err(db)?;
    let farm = options.farm.as_str();
    let tenant = domain::TenantId::parse(farm)
        .ok_or_else(|| Error::Invalid(format!("--farm must be a farm's id, not '{farm}'")))?;
    {
        let mut conn = store.conn().await.map_err(db)?;
        let found: Option<(String,)> = sqlx::query_as("SELECT id FROM tenants WHERE id = $1")
            .bind(tenant.as_str())
            .fetch_optional(&mut *conn)
            .await
            .map_err(|e| db(e.into()))?;
        if found.is_none() {
            return Err(Error::Invalid(format!("no farm {farm} in the database")));
        }
    }
    // One connection writes it all, its own (not the store's writer, whose settings stay).
    let mut pooled = store.pool().acquire().await.map_err(|e| db(e.into()))?;
    let conn: &mut Conn = &mut pooled;
    if store.dialect() == store::Dialect::Sqlite {
        // Random ids land all over the indexes: a large page cache saves most of the reads
        // back, and a seed that a crash of the machine interrupts is made again, so it needs
        // no sync to disk (set outside a transaction: SQLite refuses it inside).
        sqlx::raw_sql("PRAGMA cache_size = -262144; PRAGMA synchronous = OFF")
            .execute(&mut *conn)
            .await
            .map_err(|e| db(e.into()))?;
    }
    let mut rng = StdRng::seed_from_u64(options.seed);
    let now = Utc::now();
    let created = at(now - Duration::days(options.days + 1));
    let (first_printer, first_order) = {
        let (printer,): (i64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(MAX(printer_id), 0) AS BIGINT) FROM printers WHERE tenant_id = $1",
        )
        .bind(farm)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| db(e.into()))?;
        let (order,): (i64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(MAX(value), 0) AS BIGINT) FROM tenant_counters
             WHERE tenant_id = $1 AND sequence = 'order'",
        )
        .bind(farm)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| db(e.into()))?;
        (printer + 1, order + 1)
    };
    let mut rows = 0;

    // One file every job prints (the cheapest way to satisfy the foreign key).
    let file = uuid(&mut rng);
    let mut w = Writer::new("print_files (id, tenant_id, name, is_sliced, created_at, updated_at)");
    w.row(
        conn,
        format!(
            "{}, {}, {}, 1, {created}, {created}",
            text(&file),
            text(farm),
            text(&format!("seed-{}.3mf", options.seed)),
        ),
    )
    .await?;
    rows += w.finish(conn).await?;

    // Hubs, ten printers or so each.
    let hub_count = options.printers.div_ceil(50).max(1);
    let hubs: Vec<String> = (0..hub_count).map(|_| uuid(&mut rng)).collect();
    let mut w = Writer::new(
        "hubs (id, tenant_id, name, hello_key_sealed, is_online, created_at, updated_at)",
    );
    for (i, hub) in hubs.iter().enumerate() {
        let online = i64::from(i % 10 != 9);
        w.row(
            conn,
            format!(
                "{}, {}, {}, 'seeded', {online}, {created}, {created}",
                text(hub),
                text(farm),
                text(&format!("Seed rack {i}"))
            ),
        )
        .await?;
    }
    rows += w.finish(conn).await?;

    // Printers: mostly printing or idle, a few in error, offline or maintenance.
    let printers: Vec<(String, String)> = (0..options.printers)
        .map(|i| {
            (
                uuid(&mut rng),
                format!(
                    "S{}-{:04}",
                    ["P1S", "X1C", "A1"][i % 3],
                    first_printer as usize + i
                ),
            )
        })
        .collect();
    let mut w = Writer::new("printers (id, tenant_id, hub_id, name, model, status, is_connected, printer_id, sort_order,
            total_print_time, created_at, updated_at)",
    );
    for (i, (id, name)) in printers.iter().enumerate() {
        let status = match rng.random_range(0..100) {
            0..=59 => "printing",
            60..=89 => "idle",
            90..=93 => "error",
            94..=97 => "offline",
            _ => "maintenance",
        };
        let model = ["P1S", "X1C", "A1"][i % 3];
        w.row(
            conn,
            format!(
                "{}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {created}, {created}",
                text(id),
                text(farm),
                text(&hubs[i % hubs.len()]),
                text(name),
                text(model),
                text(status),
                i64::from(status != "offline"),
                first_printer + i as i64,
                first_printer + i as i64,
                rng.random_range(1000..100_000),
            ),
        )
        .await?;
    }
    rows += w.finish(conn).await?;

    // Filament spools, a tenth low.
    let spools: Vec<String> = (0..60).map(|_| uuid(&mut rng)).collect();
    let mut w = Writer::new(
        "filament_inventory (id, tenant_id, type, color, remaining_grams, low_threshold, status,
            created_at, updated_at)",
    );
    for (i, spool) in spools.iter().enumerate() {
        let low = i % 10 == 0;
        let grams: f64 = if low {
            rng.random_range(0.0..100.0)
        } else {
            rng.random_range(150.0..1000.0)
        };
        w.row(
            conn,
            format!(
                "{}, {}, {}, {}, {grams:.1}, 100, {}, {created}, {created}",
                text(spool),
                text(farm),
                text(["PLA", "PETG", "ABS"][i % 3]),
                text(&format!("Colour {i}")),
                text(if low { "low" } else { "in_stock" }),
            ),
        )
        .await?;
    }
    rows += w.finish(conn).await?;

    // Products with one SKU and its finished good each; a tenth low, a few out.
    let mut products =
        Writer::new("products (id, tenant_id, name, is_active, created_at, updated_at)");
    let mut skus = Writer::new(
        "product_skus (id, product_id, tenant_id, sku, color, quantity, stock_level, price,
            low_stock_threshold, is_active, created_at, updated_at)",
    );
    let mut goods = Writer::new(
        "finished_goods (id, tenant_id, product_sku_id, sku, color, material, current_stock,
            low_stock_threshold, unit_price, is_active, created_at, updated_at)",
    );
    let mut sku_codes = Vec::new();
    for i in 0..200 {
        let (product, sku, good) = (uuid(&mut rng), uuid(&mut rng), uuid(&mut rng));
        let code = format!("SEED-{}-{i:03}", options.seed);
        let stock: i64 = match i % 20 {
            0 => 0,
            1 | 2 => rng.random_range(1..=5),
            _ => rng.random_range(6..200),
        };
        let price = rng.random_range(500..5000);
        products
            .row(
                conn,
                format!(
                    "{}, {}, {}, 1, {created}, {created}",
                    text(&product),
                    text(farm),
                    text(&format!("Seed product {} {i}", options.seed))
                ),
            )
            .await?;
        skus.row(
            conn,
            format!(
                "{}, {}, {}, {}, 'Yellow', 1, {stock}, {price}, 5, 1, {created}, {created}",
                text(&sku),
                text(&product),
                text(farm),
                text(&code)
            ),
        )
        .await?;
        goods
            .row(
                conn,
                format!(
                    "{}, {}, {}, {}, 'Yellow', 'PLA', {stock}, 5, {price}, 1, {created}, {created}",
                    text(&good),
                    text(farm),
                    text(&sku),
                    text(&code)
                ),
            )
            .await?;
        sku_codes.push((sku, code, price));
    }
    rows += products.finish(conn).await? + skus.finish(conn).await? + goods.finish(conn).await?;

    // Finished jobs, the day's share each day; a failure for most failed ones, filament
    // spent by every print.
    let mut jobs = Writer::new(
        "print_jobs (id, tenant_id, printer_id, print_file_id, file_name, status, color,
            filament_type, material_type, number_of_units, quantity_per_print,
            estimated_print_time_minutes, actual_print_time_minutes, progress_percentage,
            priority, failure_reason, time_submitted, time_started, time_completed,
            printer_name, printer_model, plate_index, created_at, updated_at)",
    );
    let mut failures = Writer::new(
        "printer_failures (id, tenant_id, printer_id, print_job_id, failure_type, failure_reason,
            progress_at_failure, print_time_at_failure, resolved_at, created_at)",
    );
    let mut uses = Writer::new(
        "material_usage_history (id, tenant_id, material_type, material_id, print_job_id,
            usage_amount, usage_date, reason, created_at)",
    );
    let failed_share = options.failures as f64 / options.jobs.max(1) as f64 * 1.05;
    let today = now.date_naive();
    let first_day = today - Duration::days(options.days);
    let day_count = options.days + 1;
    let per_day = options.jobs as f64 / day_count as f64;
    let mut written_jobs = 0;
    let mut written_failures = 0;
    let file_name = text(&format!("seed-{}.3mf", options.seed));
    for d in 0..day_count {
        let day = first_day + Duration::days(d);
        let start = day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        let seconds = if day == today {
            (now - start).num_seconds().max(1)
        } else {
            86_400
        };
        let target = ((d + 1) as f64 * per_day).round() as usize;
        while written_jobs < target.min(options.jobs) {
            let job = uuid(&mut rng);
            let (printer, printer_name) = &printers[rng.random_range(0..printers.len())];
            let ended = start + Duration::seconds(rng.random_range(0..seconds));
            let minutes: i64 = rng.random_range(20..300);
            let started_at = ended - Duration::minutes(minutes);
            let submitted = started_at - Duration::minutes(rng.random_range(1..600));
            let failed = rng.random::<f64>() < failed_share;
            let progress = if failed { rng.random_range(1..99) } else { 100 };
            let per_print = rng.random_range(1..=4);
            jobs.push(format!(
                "{}, {}, {}, {}, {file_name}, {}, 'Yellow', 'PLA', 'PLA', {per_print}, {per_print},
                 {minutes}, {minutes}, {progress}, {}, {}, {}, {}, {}, {}, 'P1S', 1, {}, {}",
                text(&job),
                text(farm),
                text(printer),
                text(&file),
                text(if failed { "failed" } else { "completed" }),
                rng.random_range(0..200),
                if failed { "'the print failed'" } else { "NULL" },
                at(submitted),
                at(started_at),
                at(ended),
                text(printer_name),
                at(submitted),
                at(ended),
            ));
            written_jobs += 1;
            if failed && written_failures < options.failures {
                // The lower of two draws: the common causes come up most.
                let kind = FAILURE_TYPES[rng
                    .random_range(0..FAILURE_TYPES.len())
                    .min(rng.random_range(0..FAILURE_TYPES.len()))];
                let resolved = if rng.random_range(0..5) == 0 {
                    "NULL".to_string()
                } else {
                    at(ended + Duration::hours(2))
                };
                failures.push(format!(
                        "{}, {}, {}, {}, {}, 'seen by the operator', {progress}, {minutes}, {resolved}, {}",
                        text(&uuid(&mut rng)),
                        text(farm),
                        text(printer),
                        text(&job),
                        text(kind),
                        at(ended),
                    ));
                written_failures += 1;
            }
            let grams = rng.random_range(5.0..200.0) * f64::from(progress) / 100.0;
            uses.push(format!(
                "{}, {}, 'filament', {}, {}, {grams:.2}, {}, 'print completed', {}",
                text(&uuid(&mut rng)),
                text(farm),
                text(&spools[rng.random_range(0..spools.len())]),
                text(&job),
                at(ended),
                at(ended),
            ));
            flush_in_order(conn, &mut [&mut jobs, &mut failures, &mut uses]).await?;
        }
    }
    // Jobs still moving: queued ones waiting, one printing on most printing printers.
    for i in 0..(options.printers / 2 + 100) {
        let printing = i < options.printers / 2;
        let (printer, name) = &printers[i % printers.len()];
        let submitted = at(now - Duration::minutes(rng.random_range(5..300)));
        jobs.row(
            conn,
            format!(
            "{}, {}, {}, {}, {file_name}, {}, 'Yellow', 'PLA', 'PLA', 1, 1, 120, NULL, {}, 0, NULL,
             {submitted}, {}, NULL, {}, 'P1S', 1, {submitted}, {submitted}",
            text(&uuid(&mut rng)),
            text(farm),
            if printing {
                text(printer)
            } else {
                "NULL".into()
            },
            text(&file),
            text(if printing { "printing" } else { "queued" }),
            if printing { 50 } else { 0 },
            if printing {
                submitted.clone()
            } else {
                "NULL".into()
            },
            if printing { text(name) } else { "NULL".into() },
        ),
        )
        .await?;
    }
    // The jobs first: the failures and uses point at them.
    let job_rows = jobs.finish(conn).await?;
    let failure_rows = failures.finish(conn).await?;
    let use_rows = uses.finish(conn).await?;
    rows += job_rows + failure_rows + use_rows;

    // Orders, one line each, dated over the same days.
    let mut orders = Writer::new(
        "orders (id, tenant_id, order_number, platform, customer_name, order_date, status,
            total_revenue, shipping_cost, tax_amount, discount_amount, created_at, updated_at)",
    );
    let mut lines = Writer::new(
        "order_items (id, order_id, product_sku_id, sku, product_name, quantity, unit_price,
            total_price, quantity_fulfilled, fulfillment_status, created_at)",
    );
    let total_seconds = (now - first_day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
        .num_seconds()
        .max(1);
    for n in 0..options.orders {
        let id = uuid(&mut rng);
        let dated = first_day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
            + Duration::seconds(rng.random_range(0..total_seconds));
        let weight = rng.random_range(0..100);
        let mut platform = PLATFORMS[0].0;
        let mut sum = 0;
        for (name, share) in PLATFORMS {
            sum += share;
            if weight < sum {
                platform = name;
                break;
            }
        }
        let status = match rng.random_range(0..100) {
            0..=4 => "cancelled",
            5..=6 => "refunded",
            7..=14 => "processing",
            15..=19 => "pending",
            _ => "fulfilled",
        };
        let (sku, code, price) = &sku_codes[rng.random_range(0..sku_codes.len())];
        let quantity = rng.random_range(1..5);
        let shipping = rng.random_range(0..800);
        let tax = rng.random_range(0..1500);
        let lines_total = price * quantity;
        let fulfilled = if status == "fulfilled" { quantity } else { 0 };
        let line_status = match status {
            "fulfilled" => "fulfilled",
            "cancelled" | "refunded" => "cancelled",
            _ => "pending",
        };
        orders.push(format!(
            "{}, {}, {}, {}, 'Seed customer', {}, {}, {}, {shipping}, {tax}, 0, {}, {}",
            text(&id),
            text(farm),
            text(&domain::orders::order_number(first_order + n as i64)),
            text(platform),
            at(dated),
            text(status),
            lines_total + shipping + tax,
            at(dated),
            at(dated),
        ));
        lines.push(format!(
                "{}, {}, {}, {}, 'Seed product', {quantity}, {price}, {lines_total}, {fulfilled}, {}, {}",
                text(&uuid(&mut rng)),
                text(&id),
                text(sku),
                text(code),
                text(line_status),
                at(dated),
            ));
        flush_in_order(conn, &mut [&mut orders, &mut lines]).await?;
    }
    rows += orders.finish(conn).await? + lines.finish(conn).await?;

    // Open tasks on the worklist.
    let mut tasks = Writer::new(
        "worklist_tasks (id, tenant_id, printer_id, title, task_type, priority, status, created_at,
            updated_at)",
    );
    for i in 0..300 {
        let (printer, name) = &printers[i % printers.len()];
        tasks
            .row(
                conn,
                format!(
                    "{}, {}, {}, {}, {}, 'medium', {}, {created}, {created}",
                    text(&uuid(&mut rng)),
                    text(farm),
                    text(printer),
                    text(&format!("Collect the print from {name}")),
                    text(["collection", "maintenance", "assembly"][i % 3]),
                    text(if i % 4 == 0 { "in_progress" } else { "pending" }),
                ),
            )
            .await?;
    }
    rows += tasks.finish(conn).await?;

    // The farm's numbers go on after the seeded ones; the planners learn the new tables.
    for (sequence, value) in [
        ("printer", first_printer + options.printers as i64 - 1),
        ("order", first_order + options.orders as i64 - 1),
    ] {
        sqlx::query(
            "INSERT INTO tenant_counters (tenant_id, sequence, value) VALUES ($1, $2, $3)
             ON CONFLICT (tenant_id, sequence) DO UPDATE SET value = CASE
                WHEN excluded.value > tenant_counters.value THEN excluded.value ELSE tenant_counters.value END",
        )
        .bind(farm)
        .bind(sequence)
        .bind(value)
        .execute(&mut *conn)
        .await
        .map_err(|e| db(e.into()))?;
    }
    let refresh = match store.dialect() {
        // VACUUM sets PostgreSQL's visibility map, without which no index-only scan is
        // taken on freshly written rows (autovacuum would get there later).
        store::Dialect::Postgres => "VACUUM ANALYZE",
        store::Dialect::Sqlite => "ANALYZE",
    };
    note!("seeded {rows} rows; refreshing the planner's statistics ({refresh})");
    sqlx::raw_sql(refresh)
        .execute(&mut *conn)
        .await
        .map_err(|e| db(e.into()))?;
    drop(pooled);
    store.close().await;
    Ok(SeedReport {
        printers: options.printers,
        jobs: written_jobs,
        failures: written_failures,
        material_uses: use_rows,
        orders: options.orders,
        rows,
        seconds: started.elapsed().as_secs_f64(),
    })
}
