//! Charts drawn on the server as inline SVG: no script, nothing to download, readable by
//! screen readers (`role="img"` with a summary) and styled by the sheet's classes (the
//! page's CSP forbids inline styles).

use std::fmt::Write;

/// One series of a bar chart: a value per bar, drawn in the CSS class `class`.
pub struct Series<'a> {
    /// Its name in the legend ("completed").
    pub name: &'a str,
    /// The CSS class of its bars (`bar-ok`).
    pub class: &'a str,
    /// One value per label.
    pub values: &'a [u32],
}

const WIDTH: u32 = 480;
const HEIGHT: u32 = 180;
const LEFT: u32 = 28;
const RIGHT: u32 = 8;
const TOP: u32 = 24;
const BOTTOM: u32 = 22;

/// A stacked bar chart: one bar per label, the series stacked in order. `summary` is what
/// a screen reader hears; each bar's `<title>` tells its numbers on hover. Every label
/// is written under its bar when there are 12 or fewer, else every `labels.len() / 8`th.
pub fn stacked_bars(summary: &str, labels: &[String], series: &[Series<'_>]) -> String {
    let totals: Vec<u32> = (0..labels.len())
        .map(|i| {
            series
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let max = totals.iter().copied().max().unwrap_or(0).max(1);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let slot = plot_w as f64 / labels.len().max(1) as f64;
    let bar_w = (slot * 0.7).max(1.0);
    let every = label_every(labels.len());
    let mut svg = String::with_capacity(4096);
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        escape(summary)
    );
    // The legend, top left.
    let mut x = LEFT;
    for s in series {
        let _ = write!(
            svg,
            r#"<rect class="{}" x="{x}" y="4" width="10" height="10" rx="2"/><text class="chart-text" x="{}" y="13">{}</text>"#,
            escape(s.class),
            x + 14,
            escape(s.name)
        );
        x += 14 + 8 * s.name.chars().count() as u32 + 16;
    }
    // The axis: a base line and the top value.
    let base = TOP + plot_h;
    let _ = write!(
        svg,
        r#"<line class="chart-axis" x1="{LEFT}" y1="{base}" x2="{}" y2="{base}"/><text class="chart-text" x="{}" y="{}" text-anchor="end">{max}</text><text class="chart-text" x="{}" y="{base}" text-anchor="end">0</text>"#,
        WIDTH - RIGHT,
        LEFT - 4,
        TOP + 8,
        LEFT - 4,
    );
    for (i, label) in labels.iter().enumerate() {
        let x = LEFT as f64 + slot * i as f64 + (slot - bar_w) / 2.0;
        let mut y = base as f64;
        let parts: Vec<String> = series
            .iter()
            .map(|s| format!("{} {}", s.values.get(i).copied().unwrap_or(0), s.name))
            .collect();
        let _ = write!(
            svg,
            "<g><title>{}: {}</title>",
            escape(label),
            escape(&parts.join(", "))
        );
        for s in series {
            let value = s.values.get(i).copied().unwrap_or(0);
            if value == 0 {
                continue;
            }
            let h = value as f64 / max as f64 * plot_h as f64;
            y -= h;
            let _ = write!(
                svg,
                r#"<rect class="{}" x="{x:.1}" y="{y:.1}" width="{bar_w:.1}" height="{h:.1}"/>"#,
                escape(s.class)
            );
        }
        svg.push_str("</g>");
        if i % every == 0 {
            let _ = write!(
                svg,
                r#"<text class="chart-text" x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
                x + bar_w / 2.0,
                HEIGHT - 6,
                escape(label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// A line chart of one value per label from 0 to `max` (a percentage: `max` 100), with a
/// dot per value whose `<title>` tells it with `unit`; a label without a value (`None`: a
/// day with nothing to rate) breaks the line instead of drawing a false zero.
pub fn line(
    summary: &str,
    labels: &[String],
    values: &[Option<f64>],
    max: f64,
    unit: &str,
    class: &str,
) -> String {
    let max = if max > 0.0 { max } else { 1.0 };
    let plot_w = (WIDTH - LEFT - RIGHT) as f64;
    let plot_h = (HEIGHT - TOP - BOTTOM) as f64;
    let base = (HEIGHT - BOTTOM) as f64;
    let slot = plot_w / labels.len().max(1) as f64;
    let every = label_every(labels.len());
    let mut svg = String::with_capacity(4096);
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        escape(summary)
    );
    let _ = write!(
        svg,
        r#"<line class="chart-axis" x1="{LEFT}" y1="{base}" x2="{}" y2="{base}"/><text class="chart-text" x="{}" y="{}" text-anchor="end">{}</text><text class="chart-text" x="{}" y="{base}" text-anchor="end">0</text>"#,
        WIDTH - RIGHT,
        LEFT - 4,
        TOP + 8,
        number(max),
        LEFT - 4,
    );
    let point = |i: usize, v: f64| {
        let x = LEFT as f64 + slot * i as f64 + slot / 2.0;
        let y = base - v.clamp(0.0, max) / max * plot_h;
        (x, y)
    };
    // The line, in runs of consecutive values.
    let mut run: Vec<String> = Vec::new();
    let flush = |run: &mut Vec<String>, svg: &mut String| {
        if run.len() > 1 {
            let _ = write!(
                svg,
                r#"<polyline class="chart-line {}" points="{}"/>"#,
                escape(class),
                run.join(" ")
            );
        }
        run.clear();
    };
    for (i, value) in values.iter().enumerate() {
        match value {
            Some(v) => {
                let (x, y) = point(i, *v);
                run.push(format!("{x:.1},{y:.1}"));
            }
            None => flush(&mut run, &mut svg),
        }
    }
    flush(&mut run, &mut svg);
    for (i, label) in labels.iter().enumerate() {
        if let Some(Some(v)) = values.get(i) {
            let (x, y) = point(i, *v);
            let _ = write!(
                svg,
                r#"<g><title>{}: {}{}</title><circle class="chart-dot {}" cx="{x:.1}" cy="{y:.1}" r="3"/></g>"#,
                escape(label),
                number(*v),
                escape(unit),
                escape(class)
            );
        }
        if i % every == 0 {
            let _ = write!(
                svg,
                r#"<text class="chart-text" x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
                LEFT as f64 + slot * i as f64 + slot / 2.0,
                HEIGHT - 6,
                escape(label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// One bar of a horizontal bar chart.
pub struct Bar<'a> {
    /// What it stands for (a printer, a failure type).
    pub label: &'a str,
    /// Its length, against the chart's `max`.
    pub value: f64,
    /// The value as written beside it ("42.5 %", "7").
    pub text: String,
}

/// Height of one row of a horizontal bar chart.
const ROW: u32 = 22;
/// Room for the labels left of the bars.
const LABEL_W: u32 = 150;
/// Room for the values right of the bars.
const VALUE_W: u32 = 64;

/// A horizontal bar chart, one row per bar, scaled to `max` (the largest value when 0):
/// the label left, the bar in `class`, its value written right; each row's `<title>`
/// tells both.
pub fn bars(summary: &str, rows: &[Bar<'_>], max: f64, class: &str) -> String {
    let max = if max > 0.0 {
        max
    } else {
        rows.iter().map(|r| r.value).fold(0.0, f64::max).max(1.0)
    };
    let height = 8 + ROW * rows.len().max(1) as u32;
    let plot_w = (WIDTH - LABEL_W - VALUE_W) as f64;
    let mut svg = String::with_capacity(256 + 256 * rows.len());
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        escape(summary)
    );
    for (i, row) in rows.iter().enumerate() {
        let y = 4 + ROW * i as u32;
        let w = (row.value.clamp(0.0, max) / max * plot_w).max(0.0);
        let label: String = if row.label.chars().count() > 22 {
            row.label.chars().take(21).chain(['…']).collect()
        } else {
            row.label.to_string()
        };
        let _ = write!(
            svg,
            r#"<g><title>{}: {}</title><text class="chart-text" x="{}" y="{}" text-anchor="end">{}</text><rect class="{}" x="{LABEL_W}" y="{}" width="{w:.1}" height="{}" rx="2"/><text class="chart-text" x="{:.1}" y="{}">{}</text></g>"#,
            escape(row.label),
            escape(&row.text),
            LABEL_W - 6,
            y + 14,
            escape(&label),
            escape(class),
            y + 3,
            ROW - 8,
            LABEL_W as f64 + w + 4.0,
            y + 14,
            escape(&row.text),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Every how many labels one is written: all when 12 or fewer, else about 8 in all.
fn label_every(labels: usize) -> usize {
    if labels <= 12 { 1 } else { labels.div_ceil(8) }
}

/// A number as a chart writes it: whole when it is, else one decimal.
fn number(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// Escapes text for SVG content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_stacked_and_scaled_to_the_highest_total() {
        let labels: Vec<String> = (0..3).map(|h| format!("{h:02}:00")).collect();
        let svg = stacked_bars(
            "Prints today",
            &labels,
            &[
                Series {
                    name: "completed",
                    class: "bar-ok",
                    values: &[0, 3, 1],
                },
                Series {
                    name: "failed",
                    class: "bar-bad",
                    values: &[0, 1, 0],
                },
            ],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains(r#"aria-label="Prints today""#));
        assert!(svg.contains("<title>01:00: 3 completed, 1 failed</title>"));
        // The highest total (4) fills the plot: 3 of 4 parts for completed.
        let plot_h = (HEIGHT - TOP - BOTTOM) as f64;
        assert!(svg.contains(&format!(r#"height="{:.1}""#, plot_h * 0.75)));
        // An empty hour draws no bar, only its title: failed has its legend key and one bar.
        assert_eq!(svg.matches(r#"class="bar-bad" x="#).count(), 2);
    }

    #[test]
    fn a_line_breaks_where_a_day_has_no_value() {
        let labels: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let svg = line(
            "Success",
            &labels,
            &[Some(100.0), Some(50.0), None, Some(75.5)],
            100.0,
            " %",
            "line-ok",
        );
        // One run of two points; the lone last point is a dot only.
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains("<title>b: 50 %</title>"));
        assert!(svg.contains("<title>d: 75.5 %</title>"));
        assert!(!svg.contains("<title>c:"));
    }

    #[test]
    fn horizontal_bars_scale_to_the_largest_and_write_their_values() {
        let svg = bars(
            "Failures by cause",
            &[
                Bar {
                    label: "nozzle_clog",
                    value: 4.0,
                    text: "4".into(),
                },
                Bar {
                    label: "bed_adhesion",
                    value: 2.0,
                    text: "2".into(),
                },
            ],
            0.0,
            "bar-bad",
        );
        let plot_w = (WIDTH - LABEL_W - VALUE_W) as f64;
        assert!(svg.contains(&format!(r#"width="{plot_w:.1}""#)));
        assert!(svg.contains(&format!(r#"width="{:.1}""#, plot_w / 2.0)));
        assert!(svg.contains("<title>bed_adhesion: 2</title>"));
    }

    #[test]
    fn text_in_a_chart_is_escaped() {
        let svg = stacked_bars(
            "a <b> & \"c\"",
            &["<x>".to_string()],
            &[Series {
                name: "n&m",
                class: "bar-ok",
                values: &[1],
            }],
        );
        assert!(svg.contains("a &lt;b&gt; &amp; &quot;c&quot;"));
        assert!(svg.contains("&lt;x&gt;"));
        assert!(svg.contains("n&amp;m"));
        assert!(!svg.contains("<x>"));
    }
}
