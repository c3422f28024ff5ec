//! The analytics page: the farm's last 7, 30 or 90 days in figures and charts drawn on the
//! server (jobs per day, success rate, printer utilisation, failures by cause, and revenue
//! once the farm has orders). Its numbers are the API's own reports (`crate::analytics`),
//! read from one set of figures.

use super::chart::{Bar, Series, bars, line, stacked_bars};
use super::{FarmPage, PageError, Section, html};
use crate::analytics::{
    Asked, FailureReport, PrinterReport, Production, RevenueReport, failures_from, figures_of,
    printers_from, production_from, revenue_from,
};
use crate::app::App;
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

/// The ranges the page offers, in days.
const CHOICES: [i64; 3] = [7, 30, 90];
/// Printers drawn in the utilisation chart (the busiest; the API lists every one).
const PRINTERS_DRAWN: usize = 15;

/// This area's routes (merged into the dashboard's router).
pub fn routes() -> Router<App> {
    Router::new().route("/analytics", get(page))
}

/// `?days=` of the page: one of [`CHOICES`], 30 otherwise.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PageQuery {
    days: Option<String>,
}

impl PageQuery {
    fn days(&self) -> i64 {
        self.days
            .as_deref()
            .and_then(|d| d.trim().parse().ok())
            .filter(|d| CHOICES.contains(d))
            .unwrap_or(30)
    }
}

/// Cents as the page writes money: whole units and two decimals (`1234.50`).
pub fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}{}.{:02}", cents / 100, cents % 100)
}

/// A count as a bar's height (charts take whole non-negative numbers).
fn height(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// The page.
#[derive(Template)]
#[template(path = "analytics.html", whitespace = "minimize")]
struct AnalyticsPage {
    layout: super::Layout,
    /// The ranges offered, and which one is shown.
    choices: Vec<(i64, bool)>,
    production: Production,
    printers: PrinterReport,
    failures: FailureReport,
    revenue: RevenueReport,
    /// The revenue in words (`money`).
    revenue_text: String,
    jobs_chart: String,
    success_chart: String,
    utilisation_chart: String,
    /// None without failures.
    failures_chart: Option<String>,
    /// None without orders.
    revenue_chart: Option<String>,
}

/// A day as the charts label it (`12-03`).
fn short_day(date: &str) -> String {
    date.get(5..).unwrap_or(date).to_string()
}

/// GET /analytics — the last `days` days (7, 30 or 90) of the farm.
pub async fn page(
    State(app): State<App>,
    member: FarmPage,
    Query(q): Query<PageQuery>,
) -> Result<Response, PageError> {
    let days = q.days();
    let asked = Asked::last_days(days, chrono::Utc::now());
    let want = store::analytics::Parts {
        materials: false,
        ..store::analytics::Parts::ALL
    };
    let figures = figures_of(&app, &member.tenant, &asked, want).await?;
    let production = production_from(&asked, &figures);
    let printers = printers_from(&app, &member.tenant, &asked, &figures).await?;
    let failures = failures_from(&app, &member.tenant, &asked, &figures, 5).await?;
    let revenue = revenue_from(&asked, &figures);

    let labels: Vec<String> = production
        .daily
        .iter()
        .map(|d| short_day(&d.date))
        .collect();
    let completed: Vec<u32> = production
        .daily
        .iter()
        .map(|d| height(d.jobs_completed))
        .collect();
    let failed: Vec<u32> = production
        .daily
        .iter()
        .map(|d| height(d.jobs_failed))
        .collect();
    let t = &production.totals;
    let jobs_chart = stacked_bars(
        &format!(
            "Jobs finished per day over {days} days: {} completed, {} failed.",
            t.jobs_completed, t.jobs_failed
        ),
        &labels,
        &[
            Series {
                name: "completed",
                class: "bar-ok",
                values: &completed,
            },
            Series {
                name: "failed",
                class: "bar-bad",
                values: &failed,
            },
        ],
    );
    let rates: Vec<Option<f64>> = production
        .daily
        .iter()
        .map(|d| (d.jobs_completed + d.jobs_failed > 0).then_some(d.success_rate))
        .collect();
    let success_chart = line(
        &format!(
            "Success rate per day over {days} days; {} % in all.",
            t.success_rate
        ),
        &labels,
        &rates,
        100.0,
        " %",
        "line-ok",
    );
    let mut busiest: Vec<_> = printers.printers.iter().collect();
    busiest.sort_by(|a, b| {
        b.utilization_percentage
            .total_cmp(&a.utilization_percentage)
            .then(a.name.cmp(&b.name))
    });
    let rows: Vec<Bar<'_>> = busiest
        .iter()
        .take(PRINTERS_DRAWN)
        .map(|p| Bar {
            label: &p.name,
            value: p.utilization_percentage,
            text: format!("{} %", p.utilization_percentage),
        })
        .collect();
    let utilisation_chart = bars(
        &format!(
            "Printer utilisation over {days} days, the busiest {} of {} printers; the farm {} %.",
            rows.len(),
            printers.totals.printers,
            printers.totals.utilization_percentage
        ),
        &rows,
        100.0,
        "bar-use",
    );
    let failures_chart = (!failures.by_type.is_empty()).then(|| {
        let rows: Vec<Bar<'_>> = failures
            .by_type
            .iter()
            .map(|k| Bar {
                label: &k.failure_type,
                value: k.count as f64,
                text: k.count.to_string(),
            })
            .collect();
        bars(
            &format!(
                "Failures by cause over {days} days: {} in all.",
                failures.total
            ),
            &rows,
            0.0,
            "bar-bad",
        )
    });
    let revenue_chart = (revenue.totals.order_count > 0).then(|| {
        // Whole currency units: a bar's height is a count, and cents would only add noise.
        let per_day: Vec<u32> = revenue
            .daily
            .iter()
            .map(|d| height((d.revenue + 50) / 100))
            .collect();
        stacked_bars(
            &format!(
                "Revenue per day over {days} days: {} from {} orders.",
                money(revenue.totals.revenue),
                revenue.totals.order_count
            ),
            &labels,
            &[Series {
                name: "revenue",
                class: "bar-money",
                values: &per_day,
            }],
        )
    });
    Ok(html(
        StatusCode::OK,
        &AnalyticsPage {
            layout: member.layout(Section::Analytics, "Analytics"),
            choices: CHOICES.iter().map(|c| (*c, *c == days)).collect(),
            revenue_text: money(revenue.totals.revenue),
            production,
            printers,
            failures,
            revenue,
            jobs_chart,
            success_chart,
            utilisation_chart,
            failures_chart,
            revenue_chart,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_written_in_whole_units_and_cents() {
        assert_eq!(money(123450), "1234.50");
        assert_eq!(money(5), "0.05");
        assert_eq!(money(-250), "-2.50");
    }

    #[test]
    fn the_page_shows_7_30_or_90_days_and_30_otherwise() {
        let q = |d: &str| PageQuery {
            days: Some(d.into()),
        };
        assert_eq!(q("7").days(), 7);
        assert_eq!(q("90").days(), 90);
        assert_eq!(q("12").days(), 30);
        assert_eq!(PageQuery::default().days(), 30);
    }
}
