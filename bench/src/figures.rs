//! What the campaign measures and how a figure is judged: every run's value,
//! the median with min and max, and a target that is either a ratio to a
//! baseline measured in the same run or an absolute bound the issue sets.

use serde::{Deserialize, Serialize};

/// One quantity measured `runs.len()` times.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Measure {
    pub name: String,
    pub unit: String,
    pub runs: Vec<f64>,
    /// How it was measured (tool, concurrency), for the report.
    pub how: String,
}

impl Measure {
    pub fn new(name: &str, unit: &str, how: impl Into<String>) -> Self {
        Measure {
            name: name.into(),
            unit: unit.into(),
            runs: Vec::new(),
            how: how.into(),
        }
    }

    pub fn median(&self) -> f64 {
        let mut sorted = self.runs.clone();
        sorted.sort_by(f64::total_cmp);
        match sorted.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => sorted[n / 2],
            n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        }
    }

    pub fn min(&self) -> f64 {
        self.runs.iter().copied().fold(f64::INFINITY, f64::min)
    }

    pub fn max(&self) -> f64 {
        self.runs.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    }
}

/// What a figure must reach.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub enum Target {
    /// measure / baseline ≥ the value (throughput as a share of a baseline).
    RatioAtLeast(f64),
    /// The measure itself ≤ the value, in its unit (latency, memory, time).
    AtMost(f64),
    /// No target: the figure is there for context.
    None,
}

/// A measure, the baseline it is compared with, and its target.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Figure {
    pub measure: Measure,
    pub baseline: Option<Measure>,
    pub target: Target,
    /// Why a figure is missing or how to read it.
    pub note: Option<String>,
}

impl Figure {
    /// The median ratio to the baseline, with the ratios of the worst and the
    /// best pairing of runs (min/max of the measure against the baseline's
    /// median, so the spread shown is the measure's own).
    pub fn ratio(&self) -> Option<(f64, f64, f64)> {
        let base = self.baseline.as_ref()?.median();
        if !(base.is_finite() && base > 0.0) || self.measure.runs.is_empty() {
            return None;
        }
        Some((
            self.measure.median() / base,
            self.measure.min() / base,
            self.measure.max() / base,
        ))
    }

    /// Whether the median meets the target; `None` when there is no target or
    /// nothing was measured.
    pub fn met(&self) -> Option<bool> {
        if self.measure.runs.is_empty() {
            return None;
        }
        match self.target {
            Target::RatioAtLeast(wanted) => self.ratio().map(|(r, _, _)| r >= wanted),
            Target::AtMost(bound) => Some(self.measure.median() <= bound),
            Target::None => None,
        }
    }

    /// How far the median is from the target, as a share of it (1.0 = exactly
    /// on target, above 1 = better than the target), for the chart.
    pub fn share_of_target(&self) -> Option<(f64, f64, f64)> {
        match self.target {
            Target::RatioAtLeast(wanted) => self
                .ratio()
                .map(|(m, lo, hi)| (m / wanted, lo / wanted, hi / wanted)),
            Target::AtMost(bound) if !self.measure.runs.is_empty() => Some((
                bound / self.measure.median(),
                bound / self.measure.max(),
                bound / self.measure.min(),
            )),
            _ => None,
        }
    }

    pub fn target_text(&self) -> String {
        match self.target {
            Target::RatioAtLeast(wanted) if wanted >= 1.0 => format!("≥ {wanted}× baseline"),
            Target::RatioAtLeast(wanted) => format!("≥ {:.0} % of baseline", wanted * 100.0),
            Target::AtMost(bound) => format!("≤ {} {}", number(bound), self.measure.unit),
            Target::None => "—".into(),
        }
    }
}

/// A number with as many digits as it deserves.
pub fn number(value: f64) -> String {
    if !value.is_finite() {
        return "—".into();
    }
    let magnitude = value.abs();
    if magnitude >= 1000.0 {
        let whole = value.round() as i64;
        let text = whole.abs().to_string();
        let mut grouped = String::new();
        for (i, c) in text.chars().enumerate() {
            if i > 0 && (text.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        if whole < 0 {
            format!("-{grouped}")
        } else {
            grouped
        }
    } else if magnitude >= 100.0 {
        format!("{value:.0}")
    } else if magnitude >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measure(runs: &[f64]) -> Measure {
        Measure {
            name: "m".into(),
            unit: "req/s".into(),
            runs: runs.to_vec(),
            how: String::new(),
        }
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(measure(&[4.0, 1.0, 3.0, 2.0]).median(), 2.5);
        assert_eq!(measure(&[5.0, 1.0, 3.0]).median(), 3.0);
    }

    #[test]
    fn a_ratio_target_is_judged_on_the_medians() {
        let figure = Figure {
            measure: measure(&[20.0, 30.0, 40.0]),
            baseline: Some(measure(&[100.0, 120.0, 80.0])),
            target: Target::RatioAtLeast(0.25),
            note: None,
        };
        assert_eq!(figure.ratio(), Some((0.3, 0.2, 0.4)));
        assert_eq!(figure.met(), Some(true));
        let missed = Figure {
            target: Target::RatioAtLeast(0.35),
            ..figure
        };
        assert_eq!(missed.met(), Some(false));
    }

    #[test]
    fn a_bound_is_met_at_or_below_it() {
        let figure = Figure {
            measure: measure(&[9.0, 10.0, 12.0]),
            baseline: None,
            target: Target::AtMost(10.0),
            note: None,
        };
        assert_eq!(figure.met(), Some(true));
        assert_eq!(figure.share_of_target().unwrap().0, 1.0);
    }

    #[test]
    fn numbers_are_grouped_and_rounded() {
        assert_eq!(number(123456.7), "123,457");
        assert_eq!(number(12.345), "12.3");
        assert_eq!(number(0.1234), "0.12");
    }
}
