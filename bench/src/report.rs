//! The campaign's report: a Markdown table (printed, and written with the raw
//! figures as JSON) and a PNG chart of where each figure stands against its
//! target.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use plotters::prelude::*;

use crate::figures::{Figure, number};

pub struct Report {
    pub title: String,
    pub machine: String,
    pub command: String,
    pub figures: Vec<(String, Figure)>,
}

impl Report {
    pub fn markdown(&self, chart: Option<&str>) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# {}\n", self.title);
        let _ = writeln!(
            out,
            "{}. Reproduce: `{}`. Every figure is the median of the runs, \
             with min and max; a ratio divides by its baseline's median from \
             the same run of the campaign.\n",
            self.machine, self.command
        );
        let _ = writeln!(
            out,
            "| figure | median | min | max | baseline (median) | ratio | target | |\n\
             |---|---:|---:|---:|---|---:|---|---|"
        );
        for (_, figure) in &self.figures {
            let m = &figure.measure;
            let (median, min, max) = if m.runs.is_empty() {
                ("—".to_string(), "—".to_string(), "—".to_string())
            } else {
                (
                    format!("{} {}", number(m.median()), m.unit),
                    number(m.min()),
                    number(m.max()),
                )
            };
            let baseline = figure
                .baseline
                .as_ref()
                .map(|b| format!("{}: {} {}", b.name, number(b.median()), b.unit))
                .unwrap_or_else(|| "—".into());
            let ratio = figure
                .ratio()
                .map(|(r, lo, hi)| format!("**{}** ({}–{})", ratio(r), ratio(lo), ratio(hi)))
                .unwrap_or_else(|| "—".into());
            let verdict = match figure.met() {
                Some(true) => "met",
                Some(false) => "**missed**",
                None if m.runs.is_empty() => "not measured",
                None => "",
            };
            let _ = writeln!(
                out,
                "| {} | {median} | {min} | {max} | {baseline} | {ratio} | {} | {verdict} |",
                m.name,
                figure.target_text()
            );
        }
        let _ = writeln!(out, "\nHow each was measured:\n");
        for (_, figure) in &self.figures {
            let _ = write!(out, "- {}: {}", figure.measure.name, figure.measure.how);
            if let Some(baseline) = &figure.baseline {
                let _ = write!(out, "; baseline {}: {}", baseline.name, baseline.how);
            }
            if let Some(note) = &figure.note {
                let _ = write!(out, ". {note}");
            }
            let _ = writeln!(out, ".");
        }
        if let Some(chart) = chart {
            let _ = writeln!(out, "\n![Each figure against its target]({chart})");
        }
        out
    }

    /// Bars of "share of target" (1 = exactly on target, higher is better),
    /// with the runs' spread as whiskers.
    pub fn chart(&self, path: &Path) -> Result<()> {
        register_font()?;
        let bars: Vec<(&str, (f64, f64, f64))> = self
            .figures
            .iter()
            .filter_map(|(label, f)| f.share_of_target().map(|s| (label.as_str(), s)))
            .collect();
        let top = bars
            .iter()
            .map(|(_, (_, _, hi))| *hi)
            .fold(2.0_f64, f64::max)
            * 1.1;
        let root = BitMapBackend::new(path, (1200, 560)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Keel against its targets (share of target; ≥ 1 is met)",
                ("sans-serif", 24),
            )
            .margin(20)
            .x_label_area_size(60)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..bars.len() as f64, 0f64..top)?;
        let labels: Vec<String> = bars.iter().map(|(l, _)| l.to_string()).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(bars.len() * 2 + 1)
            .x_label_formatter(&|x| {
                let i = x.floor() as usize;
                if (x - i as f64 - 0.5).abs() < 0.01 {
                    labels.get(i).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .x_label_style(("sans-serif", 14))
            .y_desc("share of target")
            .draw()?;
        for (i, (_, (median, lo, hi))) in bars.iter().enumerate() {
            let x = i as f64;
            let colour = if *median >= 1.0 {
                RGBColor(46, 139, 87)
            } else {
                RGBColor(200, 60, 50)
            };
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x + 0.2, 0.0), (x + 0.8, *median)],
                colour.filled(),
            )))?;
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(x + 0.5, *lo), (x + 0.5, *hi)],
                BLACK.stroke_width(2),
            )))?;
            chart.draw_series(std::iter::once(Text::new(
                format!("{median:.2}"),
                (x + 0.35, median.min(top * 0.95) + top * 0.03),
                ("sans-serif", 15),
            )))?;
        }
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(0.0, 1.0), (bars.len() as f64, 1.0)],
            BLACK.stroke_width(1),
        )))?;
        root.present()
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }
}

fn ratio(value: f64) -> String {
    if value >= 1.0 {
        format!("{value:.2}×")
    } else {
        format!("{:.0} %", value * 100.0)
    }
}

/// plotters draws text with a font it is given (no system font lookup, so
/// no fontconfig to build against): DejaVu Sans, where Debian puts it.
fn register_font() -> Result<()> {
    let path = std::env::var("KEEL_BENCH_FONT")
        .unwrap_or_else(|_| "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf".into());
    let bytes = std::fs::read(&path).with_context(|| {
        format!("reading the chart's font {path} (apt-get install fonts-dejavu-core, or set KEEL_BENCH_FONT)")
    })?;
    plotters::style::register_font(
        "sans-serif",
        FontStyle::Normal,
        Box::leak(bytes.into_boxed_slice()),
    )
    .map_err(|_| anyhow::anyhow!("{path} is not a font plotters can read"))?;
    Ok(())
}
