//! Charts drawn as SVG on the server: horizontal bar charts and line charts. Nothing is loaded
//! from the internet and no script is needed; every chart has a title for screen readers, and
//! every page that shows a chart also shows the same numbers as a table.

use maud::{Markup, html};

/// One bar: a label and a whole-number value (counts, or fen for money).
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// What the bar stands for, as shown.
    pub label: String,
    /// Its value.
    pub value: i64,
    /// How the value is shown at the end of the bar.
    pub shown: String,
}

const ROW: i64 = 28;
const LABEL_W: i64 = 150;
const BAR_W: i64 = 360;
const VALUE_W: i64 = 110;

/// A horizontal bar chart. Bars are scaled to the largest value; negative values are drawn as
/// zero-length bars (the table next to the chart carries the exact figures).
pub fn bar_chart(title: &str, bars: &[Bar]) -> Markup {
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let height = ROW * bars.len() as i64 + 8;
    let width = LABEL_W + BAR_W + VALUE_W;
    html! {
        svg class="chart" role="img" aria-label=(title) viewBox={"0 0 " (width) " " (height)}
            width=(width) height=(height) xmlns="http://www.w3.org/2000/svg" {
            title { (title) }
            @for (i, bar) in bars.iter().enumerate() {
                @let y = i as i64 * ROW + 4;
                @let w = bar.value.max(0) * BAR_W / max;
                text x=(LABEL_W - 8) y=(y + 18) text-anchor="end" class="chart-label" { (bar.label) }
                rect x=(LABEL_W) y=(y + 4) width=(w) height=(ROW - 10) class={"chart-bar chart-bar-" (i % 6)} {}
                text x=(LABEL_W + w + 6) y=(y + 18) class="chart-value" { (bar.shown) }
            }
        }
    }
}

/// One series point of a line chart: an x label and a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The x label (e.g. a run's as-of date).
    pub label: String,
    /// The value.
    pub value: i64,
}

/// A line chart of one or more named series over the same x labels.
pub fn line_chart(title: &str, series: &[(String, Vec<Point>)]) -> Markup {
    let (w, h, left, bottom, top) = (560i64, 220i64, 60i64, 40i64, 16i64);
    let n = series.iter().map(|(_, p)| p.len()).max().unwrap_or(0) as i64;
    let max = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|p| p.value))
        .max()
        .unwrap_or(0)
        .max(1);
    let x = |i: i64| {
        left + if n <= 1 {
            0
        } else {
            i * (w - left - 20) / (n - 1)
        }
    };
    let y = |v: i64| top + (h - top - bottom) - v.max(0) * (h - top - bottom) / max;
    let labels: Vec<String> = series
        .first()
        .map(|(_, p)| p.iter().map(|p| p.label.clone()).collect())
        .unwrap_or_default();
    html! {
        svg class="chart" role="img" aria-label=(title) viewBox={"0 0 " (w) " " (h)}
            width=(w) height=(h) xmlns="http://www.w3.org/2000/svg" {
            title { (title) }
            line x1=(left) y1=(y(0)) x2=(w - 10) y2=(y(0)) class="chart-axis" {}
            line x1=(left) y1=(top) x2=(left) y2=(y(0)) class="chart-axis" {}
            text x=(left - 6) y=(top + 4) text-anchor="end" class="chart-value" { (max) }
            text x=(left - 6) y=(y(0)) text-anchor="end" class="chart-value" { "0" }
            @for (i, label) in labels.iter().enumerate() {
                text x=(x(i as i64)) y=(h - bottom + 18) text-anchor="middle" class="chart-label" { (label) }
            }
            @for (s, (name, points)) in series.iter().enumerate() {
                @let path = points.iter().enumerate()
                    .map(|(i, p)| format!("{}{},{}", if i == 0 { "M" } else { " L" }, x(i as i64), y(p.value)))
                    .collect::<String>();
                path d=(path) class={"chart-line chart-line-" (s % 6)} fill="none" {
                    title { (name) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(label: &str, value: i64) -> Bar {
        Bar {
            label: label.into(),
            value,
            shown: value.to_string(),
        }
    }

    #[test]
    fn bars_scale_to_the_largest_value() {
        let svg = bar_chart(
            "按救助类别",
            &[bar("低保", 50), bar("特困", 100), bar("无", 0)],
        )
        .into_string();
        assert!(svg.contains("<title>按救助类别</title>"));
        assert!(svg.contains(r#"width="180""#), "{svg}"); // 50 of 100 → half of 360
        assert!(svg.contains(r#"width="360""#));
        assert!(svg.contains(r#"width="0""#));
        assert!(svg.contains("role=\"img\""));
    }

    #[test]
    fn labels_are_escaped() {
        let svg = bar_chart("t", &[bar("<script>", 1)]).into_string();
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
    }

    #[test]
    fn line_chart_draws_one_path_per_series() {
        let pts = |v: &[i64]| {
            v.iter()
                .enumerate()
                .map(|(i, &v)| Point {
                    label: format!("r{i}"),
                    value: v,
                })
                .collect()
        };
        let svg = line_chart(
            "trend",
            &[("a".into(), pts(&[1, 2, 3])), ("b".into(), pts(&[3, 2, 1]))],
        )
        .into_string();
        assert_eq!(svg.matches("<path").count(), 2);
        assert!(svg.contains("r2"));
    }
}
