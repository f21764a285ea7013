//! Wall-clock time per named phase, for `cargo xtask bench --codegen`. The
//! generator records into a throwaway [`Phases`] when nobody is measuring.

use std::time::{Duration, Instant};

#[derive(Default, Debug, Clone)]
pub struct Phases {
    timed: Vec<(&'static str, Duration)>,
    /// Work that ran alongside the timed phases (on other threads or
    /// processes), so it is not part of [`Phases::total`].
    notes: Vec<(&'static str, Duration)>,
}

impl Phases {
    /// Runs `f`, adding its duration to `phase` (a phase may be timed in pieces).
    pub fn time<T>(&mut self, phase: &'static str, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let value = f();
        self.add(phase, start.elapsed());
        value
    }

    pub fn add(&mut self, phase: &'static str, elapsed: Duration) {
        add(&mut self.timed, phase, elapsed);
    }

    /// Records work that overlapped the timed phases.
    pub fn note(&mut self, what: &'static str, elapsed: Duration) {
        add(&mut self.notes, what, elapsed);
    }

    /// The phases in the order they were first timed.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, Duration)> + '_ {
        self.timed.iter().copied()
    }

    pub fn notes(&self) -> impl Iterator<Item = (&'static str, Duration)> + '_ {
        self.notes.iter().copied()
    }

    /// The wall-clock time of the timed phases, which ran one after another.
    pub fn total(&self) -> Duration {
        self.timed.iter().map(|(_, d)| *d).sum()
    }
}

fn add(list: &mut Vec<(&'static str, Duration)>, what: &'static str, elapsed: Duration) {
    match list.iter_mut().find(|(p, _)| *p == what) {
        Some((_, total)) => *total += elapsed,
        None => list.push((what, elapsed)),
    }
}
