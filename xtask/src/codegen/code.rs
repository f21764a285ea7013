//! A line buffer for generated source. rustfmt lays out most of it afterwards;
//! the items a contract repeats by the thousand (one per schema), the generator
//! lays out itself, exactly as rustfmt would, and rustfmt sees a one-line
//! placeholder instead (ADR 17: rustfmt was three quarters of the generator's
//! time on a large contract).

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

    /// Adds `item` (one or more whole items, at the top level or in an `impl` or
    /// `trait` block, each line indented and ending with a newline) as it is:
    /// [`Formatter`] hands rustfmt a placeholder in its place (a macro call, which
    /// both places accept), so `item` must be exactly what rustfmt would make of it.
    pub fn preformatted(&mut self, item: &str) {
        debug_assert!(item.ends_with('\n'));
        self.0.push_str(BEGIN);
        self.0.push_str(item);
        self.0.push_str(END);
    }

    /// Adds text as it is (whole lines, for rustfmt to lay out).
    pub fn text(&mut self, text: &str) {
        self.0.push_str(text);
    }

    pub fn finish(self) -> String {
        self.0
    }
}

// Lines no generated line starts with (every line starts with generator text).
const BEGIN: &str = "\u{1}preformatted\n";
const END: &str = "\u{1}end\n";

/// `source` with each preformatted item replaced by a placeholder item, and
/// the items in order.
fn take_preformatted(source: &str) -> (String, Vec<&str>) {
    let mut rest = source;
    let mut out = String::with_capacity(source.len().min(1 << 16));
    let mut items = Vec::new();
    while let Some(start) = rest.find(BEGIN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + BEGIN.len()..];
        let end = after.find(END).expect("every preformatted item is closed");
        out.push_str(&placeholder(items.len()));
        items.push(&after[..end]);
        rest = &after[end + END.len()..];
    }
    out.push_str(rest);
    (out, items)
}

fn placeholder(i: usize) -> String {
    format!("keel_preformatted!({i});\n")
}

/// Puts the items back where rustfmt left their placeholders (on lines of
/// their own, indented as the block they are in, in order).
fn put_back(formatted: &str, items: &[&str]) -> Result<String> {
    if items.is_empty() {
        return Ok(formatted.to_owned());
    }
    let mut out =
        String::with_capacity(formatted.len() + items.iter().map(|i| i.len()).sum::<usize>());
    let mut next = 0;
    for line in formatted.split_inclusive('\n') {
        if next < items.len() && line.trim_start() == placeholder(next) {
            out.push_str(items[next]);
            next += 1;
        } else {
            out.push_str(line);
        }
    }
    if next != items.len() {
        bail!("rustfmt moved or dropped a preformatted item's placeholder (a generator bug)");
    }
    Ok(out)
}

/// rustfmt's `max_width`.
pub const MAX_WIDTH: usize = 100;
/// rustfmt's `fn_call_width` (the arguments of a call on one line).
const FN_CALL_WIDTH: usize = 60;
/// rustfmt's `attr_fn_like_width` (the arguments of an attribute on one line).
const ATTR_FN_LIKE_WIDTH: usize = 70;

/// Whether `text` at `indent` is a line rustfmt keeps as it is, width-wise.
/// Only ASCII: rustfmt counts display width, and it is not worth guessing.
pub fn fits(indent: usize, text: &str) -> bool {
    text.is_ascii() && indent + text.len() <= MAX_WIDTH
}

/// `///` lines at `indent`, or `None` for a text rustfmt would change (it
/// trims some trailing whitespace and control characters in comments).
pub fn doc_block(out: &mut String, indent: usize, text: Option<&str>) -> Option<()> {
    let Some(text) = text else { return Some(()) };
    for line in text.trim_end().lines() {
        if line.ends_with(char::is_whitespace) || line.contains(|c: char| c.is_control()) {
            return None;
        }
        push_indent(out, indent);
        if line.is_empty() {
            out.push_str("///\n");
        } else {
            out.push_str("/// ");
            out.push_str(line);
            out.push('\n');
        }
    }
    Some(())
}

pub fn push_indent(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// A line at `indent`, or `None` if rustfmt would break it.
pub fn push_line(out: &mut String, indent: usize, text: &str) -> Option<()> {
    if !fits(indent, text) {
        return None;
    }
    push_indent(out, indent);
    out.push_str(text);
    out.push('\n');
    Some(())
}

/// `#[name(args)]` at `indent` as rustfmt lays it out: on one line if the
/// arguments are short enough, else one per line (without a trailing comma).
/// `None` for what that does not cover (a nested list that would break too).
pub fn attribute(out: &mut String, indent: usize, name: &str, args: &str) -> Option<()> {
    let line = format!("#[{name}({args})]");
    if args.len() <= ATTR_FN_LIKE_WIDTH && fits(indent, &line) {
        return push_line(out, indent, &line);
    }
    if args.contains(['(', '"']) && !simple_list(args) {
        return None;
    }
    push_line(out, indent, &format!("#[{name}("))?;
    let items: Vec<&str> = args.split(", ").collect();
    for (i, item) in items.iter().enumerate() {
        let comma = if i + 1 < items.len() { "," } else { "" };
        push_line(out, indent + 4, &format!("{item}{comma}"))?;
    }
    push_line(out, indent, ")]")
}

/// Whether `args` splits at each `, ` into its items: no nested lists and no
/// string with a comma in it.
fn simple_list(args: &str) -> bool {
    !args.contains(['(', '[', '{'])
        && args
            .split(", ")
            .all(|item| item.matches('"').count() % 2 == 0 && !item.contains('\\'))
}

/// `callee(args);` at `indent` as rustfmt lays out a call statement on one
/// line; `None` if rustfmt would break it.
pub fn call_statement(out: &mut String, indent: usize, callee: &str, args: &str) -> Option<()> {
    if args.len() > FN_CALL_WIDTH {
        return None;
    }
    push_line(out, indent, &format!("{callee}({args});"))
}

/// A statement rustfmt keeps on one line: it fits, and its expression is no
/// wider than any of rustfmt's small widths (calls, chains, arrays: 60) and
/// has no block, closure or struct literal in it.
pub fn simple_statement(out: &mut String, indent: usize, stmt: &str) -> Option<()> {
    if stmt.contains(['{', '}', '|']) {
        return None;
    }
    let expr = match stmt.split_once(" = ") {
        Some((target, expr)) if !target.contains('"') => expr,
        _ => stmt,
    };
    // With its `;`: rustfmt keeps a 60-character chain on one line only
    // without one (`.await?;` of a 60-character chain breaks).
    if expr.len() > 60 {
        return None;
    }
    push_line(out, indent, stmt)
}

/// `text` split at the commas outside brackets and strings; `None` for an
/// escape in a string (not worth following).
pub fn split_top_level(text: &str) -> Option<Vec<&str>> {
    let mut items = Vec::new();
    let (mut depth, mut in_string, mut start) = (0usize, false, 0);
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\\' => return None,
            b'"' => in_string = !in_string,
            b'(' | b'[' | b'{' | b'<' if !in_string => depth += 1,
            b')' | b']' | b'}' | b'>' if !in_string => depth = depth.checked_sub(1)?,
            b',' if !in_string && depth == 0 => {
                items.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    (depth == 0 && !in_string).then_some(())?;
    items.push(text[start..].trim());
    Some(items)
}

/// An expression of calls, struct literals, `vec!`s and tuples laid out for
/// reading: a group on one line when it is short, else one item per line; a
/// group whose one item breaks hugs it (`inline(MetaSchema {`). Only for text
/// rustfmt does not touch (the body of a macro called with braces): this is
/// not rustfmt's layout, only one like it.
pub fn layout_expr(expr: &str, indent: usize) -> String {
    let mut out = String::new();
    let tree = parse_groups(expr);
    write_node(&mut out, &tree, indent);
    out
}

/// Text and the bracketed groups in it, split at top-level commas.
enum Node {
    Text(String),
    Seq(Vec<Node>),
    /// An opening bracket (`(`, `[`, `{`) and its comma-separated items.
    Group(char, Vec<Node>),
}

fn parse_groups(text: &str) -> Node {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let items = parse_items(&chars, &mut i, None);
    debug_assert_eq!(items.len(), 1);
    items
        .into_iter()
        .next()
        .unwrap_or(Node::Text(String::new()))
}

fn close_of(open: char) -> char {
    match open {
        '(' => ')',
        '[' => ']',
        _ => '}',
    }
}

/// Items until the closing bracket of `open` (consumed), or the end.
fn parse_items(chars: &[char], i: &mut usize, open: Option<char>) -> Vec<Node> {
    let mut items = Vec::new();
    let mut seq: Vec<Node> = Vec::new();
    let mut text = String::new();
    let skip_spaces = |i: &mut usize| {
        while chars.get(*i) == Some(&' ') {
            *i += 1;
        }
    };
    if open.is_some() {
        skip_spaces(i);
    }
    let flush_text = |text: &mut String, seq: &mut Vec<Node>| {
        if !text.is_empty() {
            seq.push(Node::Text(std::mem::take(text)));
        }
    };
    while *i < chars.len() {
        let c = chars[*i];
        *i += 1;
        match c {
            '"' => {
                text.push(c);
                while *i < chars.len() {
                    let d = chars[*i];
                    *i += 1;
                    text.push(d);
                    if d == '\\' && *i < chars.len() {
                        text.push(chars[*i]);
                        *i += 1;
                    } else if d == '"' {
                        break;
                    }
                }
            }
            // A JSON value (a default) stays as written, on one line.
            '(' if text.ends_with("json!") => {
                text.push(c);
                let mut depth = 1;
                let mut in_string = false;
                while *i < chars.len() && depth > 0 {
                    let d = chars[*i];
                    *i += 1;
                    text.push(d);
                    match d {
                        '\\' if in_string => {
                            if let Some(&e) = chars.get(*i) {
                                text.push(e);
                                *i += 1;
                            }
                        }
                        '"' => in_string = !in_string,
                        '(' | '[' | '{' if !in_string => depth += 1,
                        ')' | ']' | '}' if !in_string => depth -= 1,
                        _ => {}
                    }
                }
            }
            '(' | '[' | '{' => {
                text.push(c);
                flush_text(&mut text, &mut seq);
                let inner = parse_items(chars, i, Some(c));
                seq.push(Node::Group(c, inner));
            }
            ')' | ']' | '}' if open.is_some_and(|o| close_of(o) == c) => {
                break;
            }
            ',' if open.is_some() => {
                let trimmed = text.trim_end().len();
                text.truncate(trimmed);
                flush_text(&mut text, &mut seq);
                items.push(Node::Seq(std::mem::take(&mut seq)));
                skip_spaces(i);
            }
            _ => text.push(c),
        }
    }
    let trimmed = text.trim_end().len();
    text.truncate(trimmed);
    flush_text(&mut text, &mut seq);
    if !seq.is_empty() {
        items.push(Node::Seq(seq));
    }
    items
}

/// The length of `node` written on one line (what [`write_flat`] writes),
/// without writing it: [`write_node`] asks at every level, so this must not
/// cost more than the node's own items (the layout is linear in the text).
fn flat_len(node: &Node) -> usize {
    match node {
        Node::Text(t) => t.len(),
        Node::Seq(parts) => parts.iter().map(flat_len).sum(),
        Node::Group(open, items) => {
            let inner =
                items.iter().map(flat_len).sum::<usize>() + 2 * items.len().saturating_sub(1);
            match open {
                '{' => inner + 3,
                _ => inner + 1,
            }
        }
    }
}

/// `node` on one line: the items of a group joined with `, `, a brace group
/// padded with spaces.
fn write_flat(out: &mut String, node: &Node) {
    match node {
        Node::Text(t) => out.push_str(t),
        Node::Seq(parts) => parts.iter().for_each(|part| write_flat(out, part)),
        Node::Group(open, items) => {
            if *open == '{' {
                out.push(' ');
            }
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_flat(out, item);
            }
            if *open == '{' {
                out.push_str(" }");
            } else {
                out.push(close_of(*open));
            }
        }
    }
}

/// Whether `node` starts with `text` (items start with text, not a group).
fn starts_with(node: &Node, text: &str) -> bool {
    match node {
        Node::Text(t) => t.starts_with(text),
        Node::Seq(parts) => parts.first().is_some_and(|p| starts_with(p, text)),
        Node::Group(..) => false,
    }
}

/// Writes `node` starting mid-line (the caller wrote the indentation and any
/// text before it); `indent` is the indentation of that line.
fn write_node(out: &mut String, node: &Node, indent: usize) {
    let line_start = out.rfind('\n').map_or(0, |i| i + 1);
    let used = out.len() - line_start;
    let one_line = flat_len(node);
    if used + one_line <= MAX_WIDTH && one_line <= FN_CALL_WIDTH {
        write_flat(out, node);
        return;
    }
    match node {
        Node::Text(t) => out.push_str(t),
        Node::Seq(parts) => {
            for part in parts {
                write_node(out, part, indent);
            }
        }
        Node::Group(open, items) => {
            let close = close_of(*open);
            let hug = items.len() == 1 && *open == '(' && ends_with_group(&items[0]);
            if hug {
                write_node(out, &items[0], indent);
                out.push(close);
                return;
            }
            out.push('\n');
            for item in items {
                push_indent(out, indent + 4);
                write_node(out, item, indent + 4);
                // A struct literal's `..base` takes no comma after it.
                if !starts_with(item, "..") {
                    out.push(',');
                }
                out.push('\n');
            }
            push_indent(out, indent);
            out.push(close);
        }
    }
}

fn ends_with_group(node: &Node) -> bool {
    match node {
        Node::Seq(parts) => parts.last().is_some_and(ends_with_group),
        Node::Group(_, items) => !items.is_empty(),
        Node::Text(_) => false,
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
        let taken: Vec<(String, Vec<&str>)> = files
            .iter()
            .map(|(_, source)| take_preformatted(source))
            .collect();
        let formatted = match taken.as_slice() {
            [(source, _)] => vec![rustfmt(source)?],
            _ => {
                let sources: Vec<(String, String)> = files
                    .iter()
                    .zip(&taken)
                    .map(|((path, _), (source, _))| (path.clone(), source.clone()))
                    .collect();
                rustfmt_files(&sources)?
                    .into_iter()
                    .map(|(_, text)| text)
                    .collect()
            }
        };
        for (((path, _), (_, items)), text) in files.iter().zip(&taken).zip(formatted) {
            done.files.push((path.clone(), put_back(&text, items)?));
        }
        done.busy += started.elapsed();
    }
}

/// The `use` lines a generated file needs, decided by what its body mentions, so
/// a contract that never uses (say) a pattern does not get an unused import.
pub fn imports(body: &str, candidates: &[(&str, &str)]) -> String {
    // A needle counts where it starts a word: `JsonBody<` is not in
    // `OptionalJsonBody<`. One pass over the word starts for all the needles
    // (a search per needle was half the server modules' generation time).
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = body.as_bytes();
    let mut found = vec![false; candidates.len()];
    // The bytes a needle starts with: any other byte is passed over at once.
    let mut first = [false; 256];
    for (needle, _) in candidates {
        if let Some(&b) = needle.as_bytes().first() {
            first[usize::from(b)] = ident(b);
        }
    }
    for (i, &b) in bytes.iter().enumerate() {
        if !first[usize::from(b)] || (i > 0 && ident(bytes[i - 1])) {
            continue;
        }
        for (seen, (needle, _)) in found.iter_mut().zip(candidates) {
            if !*seen && needle.as_bytes()[0] == b && bytes[i..].starts_with(needle.as_bytes()) {
                *seen = true;
            }
        }
    }
    // A needle that does not start with a word character: searched for.
    for (seen, (needle, _)) in found.iter_mut().zip(candidates) {
        if !needle.as_bytes().first().copied().is_some_and(ident) {
            *seen = body.match_indices(needle).any(|(i, _)| {
                !body[..i]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            });
        }
    }
    let mut out = String::new();
    for ((_, import), seen) in candidates.iter().zip(found) {
        if seen {
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
    fn preformatted_items_come_back_as_written() {
        let mut code = Code::default();
        code.line("use a::{c, b};");
        code.blank();
        code.preformatted("pub struct S {\n    pub a: u8,\n}\n");
        code.blank();
        code.line("fn f() { g(1,2); }");
        let (source, items) = take_preformatted(code.0.as_str());
        assert_eq!(items, ["pub struct S {\n    pub a: u8,\n}\n"]);
        let back = put_back(&rustfmt(&source).unwrap(), &items).unwrap();
        assert_eq!(
            back,
            "use a::{b, c};\n\npub struct S {\n    pub a: u8,\n}\n\nfn f() {\n    g(1, 2);\n}\n"
        );
    }

    #[test]
    fn attributes_and_calls_break_where_rustfmt_breaks_them() {
        // Each case against rustfmt itself, at the widths where it changes its mind.
        let mut source = String::new();
        let mut ours = String::new();
        for n in [60, 69, 70, 71, 90] {
            let args = format!("rename = \"{}\", default", "x".repeat(n - 20));
            let item = format!("pub struct S{n} {{\n    #[serde({args})]\n    pub a: u8,\n}}\n");
            source.push_str(&item);
            ours.push_str(&format!("pub struct S{n} {{\n"));
            attribute(&mut ours, 4, "serde", &args).unwrap();
            ours.push_str("    pub a: u8,\n}\n");
        }
        for n in [59, 60, 61] {
            let args = format!("\"{}\", &self.a", "y".repeat(n - 11));
            source.push_str(&format!("fn f{n}() {{\n    errors.length({args});\n}}\n"));
            match call_statement(&mut String::new(), 4, "errors.length", &args) {
                Some(()) => ours.push_str(&format!("fn f{n}() {{\n    errors.length({args});\n}}\n")),
                // Not laid out by the generator: rustfmt's output is the expectation.
                None => ours.push_str(&format!("fn f{n}() {{\n    errors.length(\n        \"{}\",\n        &self.a,\n    );\n}}\n", "y".repeat(n - 11))),
            }
        }
        assert_eq!(rustfmt(&source).unwrap(), ours);
    }

    #[test]
    fn expressions_break_into_readable_rust() {
        let flat = "MetaSchema { properties: vec![(\"name\", inline(MetaSchema { min_length: Some(1), max_length: Some(100), ..MetaSchema::new(\"string\") })), (\"a, b\", reference::<A>(registry, \"A\"))], default: Some(serde_json::json!({\"k\": [1, 2, 3], \"long\": \"a value long enough to break any line it is on\"})), ..MetaSchema::new(\"object\") }";
        assert_eq!(
            layout_expr(flat, 0),
            r#"MetaSchema {
    properties: vec![
        (
            "name",
            inline(MetaSchema {
                min_length: Some(1),
                max_length: Some(100),
                ..MetaSchema::new("string")
            }),
        ),
        ("a, b", reference::<A>(registry, "A")),
    ],
    default: Some(
        serde_json::json!({"k": [1, 2, 3], "long": "a value long enough to break any line it is on"}),
    ),
    ..MetaSchema::new("object")
}"#
        );
    }

    #[test]
    fn files_with_out_of_line_modules_are_formatted_alone() {
        assert!(declares_modules("//! x\npub mod users;\n"));
        assert!(declares_modules("mod users ;\n"));
        assert!(!declares_modules("/// A mod of sorts.\nmod tests {\n}\n"));
    }
}
