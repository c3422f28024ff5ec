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
    let every = if labels.len() <= 12 {
        1
    } else {
        labels.len().div_ceil(8)
    };
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
