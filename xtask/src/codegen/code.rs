//! A line buffer for generated source; rustfmt does the layout afterwards.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
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

/// Formats files in one rustfmt process: written under `target/` in the
/// current directory, so rustfmt looks for its configuration where [`rustfmt`]
/// on standard input does (from the current directory up). Only for files
/// without out-of-line modules (`mod x;`), which rustfmt would go looking for.
pub fn rustfmt_files(files: &[(String, String)]) -> Result<Vec<(String, String)>> {
    static BATCH: AtomicUsize = AtomicUsize::new(0);
    let dir = Path::new("target").join(format!(
        "keel-rustfmt-{}-{}",
        std::process::id(),
        BATCH.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let result = (|| {
        let paths: Vec<PathBuf> = (0..files.len())
            .map(|i| dir.join(format!("{i}.rs")))
            .collect();
        for (path, (_, source)) in paths.iter().zip(files) {
            std::fs::write(path, source)?;
        }
        let output = Command::new(rustfmt_binary())
            .args(["--edition", "2024", "--quiet"])
            .args(&paths)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .context("running rustfmt (install it with `rustup component add rustfmt`)")?;
        if !output.status.success() {
            // One at a time, for an error that names the source.
            return files
                .iter()
                .map(|(name, source)| Ok((name.clone(), rustfmt(source)?)))
                .collect();
        }
        paths
            .iter()
            .zip(files)
            .map(|(path, (name, _))| Ok((name.clone(), std::fs::read_to_string(path)?)))
            .collect()
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Whether rustfmt would look for other files when given this one.
fn declares_modules(source: &str) -> bool {
    source.lines().any(|line| {
        let line = line.trim_start();
        let line = line.strip_prefix("pub ").unwrap_or(line);
        line.starts_with("mod ") && line.trim_end().ends_with(';')
    })
}

/// Runs rustfmt on worker threads, one process per core at a time, while the
/// caller goes on generating the next files.
pub struct Formatter<'scope> {
    jobs: Option<Sender<Vec<(String, String)>>>,
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
        let (jobs, queue) = channel::<Vec<(String, String)>>();
        let queue = Arc::new(Mutex::new(queue));
        let workers = (0..workers())
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
        self.send(vec![(path, source)]);
    }

    /// Queues many small files at once: they are formatted in as few rustfmt
    /// processes as keep every core busy, since starting rustfmt costs about as
    /// much as formatting a few thousand lines.
    pub fn submit_all(&self, files: Vec<(String, String)>) {
        let (alone, together): (Vec<_>, Vec<_>) =
            files.into_iter().partition(|(_, s)| declares_modules(s));
        for file in alone {
            self.send(vec![file]);
        }
        let mut batches: Vec<(usize, Vec<(String, String)>)> = vec![(0, Vec::new()); workers()];
        let mut by_size = together;
        by_size.sort_by_key(|(_, s)| std::cmp::Reverse(s.len()));
        for file in by_size {
            let lightest = batches
                .iter_mut()
                .min_by_key(|(size, _)| *size)
                .expect("at least one worker");
            lightest.0 += file.1.len();
            lightest.1.push(file);
        }
        for (_, batch) in batches.into_iter().filter(|(size, _)| *size > 0) {
            self.send(batch);
        }
    }

    fn send(&self, job: Vec<(String, String)>) {
        // A worker only hangs up after a rustfmt failure, which `finish` reports.
        let _ = self.jobs.as_ref().expect("not finished").send(job);
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

fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn work(queue: &Mutex<Receiver<Vec<(String, String)>>>) -> Result<Formatted> {
    let mut done = Formatted::default();
    loop {
        let job = queue
            .lock()
            .expect("a worker panicked holding the queue")
            .recv();
        let Ok(files) = job else {
            return Ok(done);
        };
        let started = Instant::now();
        match files.as_slice() {
            [(path, source)] => done.files.push((path.clone(), rustfmt(source)?)),
            _ => done.files.extend(rustfmt_files(&files)?),
        }
        done.busy += started.elapsed();
    }
}

/// The `use` lines a generated file needs, decided by what its body mentions, so
/// a contract that never uses (say) a pattern does not get an unused import.
pub fn imports(body: &str, candidates: &[(&str, &str)]) -> String {
    let mut out = String::new();
    // A needle counts where it starts a word: `JsonBody<` is not in
    // `OptionalJsonBody<`.
    let starts_word = |needle: &str| {
        body.match_indices(needle).any(|(i, _)| {
            !body[..i]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        })
    };
    for (needle, import) in candidates {
        if starts_word(needle) {
            out.push_str(import);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_import_follows_whole_names_only() {
        let candidates = [
            ("JsonBody<", "use a::JsonBody;"),
            ("OptionalJsonBody<", "use a::OptionalJsonBody;"),
        ];
        assert_eq!(
            imports("body: OptionalJsonBody<T>", &candidates),
            "use a::OptionalJsonBody;\n"
        );
        assert_eq!(
            imports("a: JsonBody<T>, b: OptionalJsonBody<T>", &candidates),
            "use a::JsonBody;\nuse a::OptionalJsonBody;\n"
        );
    }

    #[test]
    fn a_batch_formats_as_standard_input_does() {
        let files: Vec<(String, String)> = [
            "//! A header.\n//!\n//! Two  spaces.  \nuse crate::{B, A};\n/// A doc line with two trailing spaces  \n/// and one \npub struct S { pub a: Option<std::collections::BTreeMap<String, Vec<String>>>, pub b: Option<std::collections::BTreeMap<String, Vec<String>>> }\n",
            "fn f() { let x = some_function_with_a_long_name(first_argument_value, second_argument_value, 3); }\n",
            "#[derive(Debug)] enum E { A, B }\n\n\n\nimpl E { fn g(&self) -> &'static str { match self { E::A => \"a\", E::B => \"b\" } } }\n",
        ]
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("f{i}.rs"), s.to_string()))
        .collect();
        let one_by_one: Vec<(String, String)> = files
            .iter()
            .map(|(p, s)| (p.clone(), rustfmt(s).unwrap()))
            .collect();
        assert_eq!(rustfmt_files(&files).unwrap(), one_by_one);
    }

    #[test]
    fn files_with_out_of_line_modules_are_formatted_alone() {
        assert!(declares_modules("//! x\npub mod users;\n"));
        assert!(declares_modules("mod users ;\n"));
        assert!(!declares_modules("/// A mod of sorts.\nmod tests {\n}\n"));
    }
}
