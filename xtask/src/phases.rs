//! Wall-clock time per named phase, for `cargo xtask bench --codegen`. The
//! generator records into a throwaway [`Phases`] when nobody is measuring.

use std::time::{Duration, Instant};

#[derive(Default, Debug, Clone)]
pub struct Phases(Vec<(&'static str, Duration)>);

impl Phases {
    /// Runs `f`, adding its duration to `phase` (a phase may be timed in pieces).
    pub fn time<T>(&mut self, phase: &'static str, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let value = f();
        self.add(phase, start.elapsed());
        value
    }

    pub fn add(&mut self, phase: &'static str, elapsed: Duration) {
        match self.0.iter_mut().find(|(p, _)| *p == phase) {
            Some((_, total)) => *total += elapsed,
            None => self.0.push((phase, elapsed)),
        }
    }

    /// The phases in the order they were first timed.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, Duration)> + '_ {
        self.0.iter().copied()
    }

    pub fn total(&self) -> Duration {
        self.0.iter().map(|(_, d)| *d).sum()
    }
}
