//! A line buffer for generated source; rustfmt does the layout afterwards.

use std::io::Write;
use std::process::{Command, Stdio};

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
    let mut child = Command::new("rustfmt")
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
