//! A line buffer for generated source; rustfmt does the layout afterwards.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{Scope, ScopedJoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

#[derive(Default)]
pub struct Code(String);

impl Code {
    pub fn line(&mut self, line: &str) {
        self.0.push_str(line);
        self.0.push('\n');
    }

    pub fn blank(&mut self) {
        self.0.push('\n');
    }

    pub fn finish(self) -> String {
        self.0
    }
}

/// `///` lines for a description, if there is one.
pub fn doc_lines(out: &mut Code, text: Option<&str>) {
    if let Some(text) = text {
        for line in text.trim_end().lines() {
            if line.is_empty() {
                out.line("///")
            } else {
                out.line(&format!("/// {line}"))
            }
        }
    }
}

/// A Rust string literal for any text.
pub fn rust_str(text: &str) -> String {
    format!("{text:?}")
}

/// Formats generated source with the toolchain's rustfmt, as `cargo fmt` would.
pub fn rustfmt(source: &str) -> Result<String> {
    let mut child = Command::new(rustfmt_binary())
        .args(["--edition", "2024", "--emit", "stdout", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running rustfmt (install it with `rustup component add rustfmt`)")?;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(source.as_bytes())?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!(
            "rustfmt rejected generated code (a generator bug):\n{}\n--- source ---\n{source}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8(output.stdout)?)
}

/// The rustfmt that `rustfmt` runs here. Through rustup, `rustfmt` is a proxy
/// that picks the toolchain on every call; asking it once saves a process per
/// generated file (about half of rustfmt's start-up time).
fn rustfmt_binary() -> &'static OsStr {
    static BINARY: OnceLock<OsString> = OnceLock::new();
    BINARY.get_or_init(|| {
        Command::new("rustup")
            .args(["which", "rustfmt"])
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|path| path.trim_end().to_owned())
            .filter(|path| Path::new(path).is_file())
            .map_or_else(|| "rustfmt".into(), OsString::from)
    })
}

/// Runs [`rustfmt`] on worker threads, one process per file and one file per
/// core at a time, while the caller goes on generating the next files.
pub struct Formatter<'scope> {
    jobs: Option<Sender<(String, String)>>,
    workers: Vec<ScopedJoinHandle<'scope, Result<Formatted>>>,
}

/// What one worker formatted, and how long its rustfmt processes took.
#[derive(Default)]
pub struct Formatted {
    pub files: Vec<(String, String)>,
    pub busy: Duration,
}

impl<'scope> Formatter<'scope> {
    pub fn start<'env>(scope: &'scope Scope<'scope, 'env>) -> Self {
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        let (jobs, queue) = channel::<(String, String)>();
        let queue = Arc::new(Mutex::new(queue));
        let workers = (0..workers)
            .map(|_| {
                let queue = Arc::clone(&queue);
                scope.spawn(move || work(&queue))
            })
            .collect();
        Formatter {
            jobs: Some(jobs),
            workers,
        }
    }

    /// Queues `source`, to be formatted and returned as `path` by [`Self::finish`].
    pub fn submit(&self, path: String, source: String) {
        // A worker only hangs up after a rustfmt failure, which `finish` reports.
        let _ = self
            .jobs
            .as_ref()
            .expect("not finished")
            .send((path, source));
    }

    /// Waits for every queued file; the first rustfmt failure, if any, is the error.
    pub fn finish(mut self) -> Result<Formatted> {
        drop(self.jobs.take());
        let mut all = Formatted::default();
        for worker in self.workers {
            let done = worker
                .join()
                .map_err(|_| anyhow::anyhow!("a rustfmt worker panicked"))??;
            all.files.extend(done.files);
            all.busy += done.busy;
        }
        Ok(all)
    }
}

fn work(queue: &Mutex<Receiver<(String, String)>>) -> Result<Formatted> {
    let mut done = Formatted::default();
    loop {
        let job = queue
            .lock()
            .expect("a worker panicked holding the queue")
            .recv();
        let Ok((path, source)) = job else {
            return Ok(done);
        };
        let started = Instant::now();
        done.files.push((path, rustfmt(&source)?));
        done.busy += started.elapsed();
    }
}

/// The `use` lines a generated file needs, decided by what its body mentions, so
/// a contract that never uses (say) a pattern does not get an unused import.
pub fn imports(body: &str, candidates: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (needle, import) in candidates {
        if body.contains(needle) {
            out.push_str(import);
            out.push('\n');
        }
    }
    out
}
