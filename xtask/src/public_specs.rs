//! The public specs in `tests/public-specs`, run by `cargo xtask test`: each is
//! generated as `codegen --contract --out` would (a standalone workspace), built,
//! and its TypeScript type-checked — or rejected exactly where `expected.yaml`
//! says. Either way a change shows up, so the support table cannot drift.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::codegen;
use crate::openapi::{Contract, load};

const DIR: &str = "tests/public-specs";

pub fn run() -> Result<Vec<String>> {
    let expected: BTreeMap<String, String> = serde_norway::from_str(&std::fs::read_to_string(
        Path::new(DIR).join("expected.yaml"),
    )?)
    .context("tests/public-specs/expected.yaml")?;
    let target =
        PathBuf::from(std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into()))
            .join("public-specs");
    let mut report = Vec::new();
    let mut wrong = Vec::new();
    for (file, want) in &expected {
        let path = Path::new(DIR).join(file);
        let text = std::fs::read_to_string(&path)?;
        let document: serde_json::Value = serde_norway::from_str(&text)?;
        match (load::load_with(&document, false), want.as_str()) {
            (Ok(api), "generates") => {
                let contract = Contract {
                    text,
                    document,
                    api,
                };
                let stem = file.trim_end_matches(".yaml");
                let out = target.join(stem);
                build(&contract, &path, stem, &out)
                    .with_context(|| format!("{file} generates but does not build"))?;
                report.push(format!("{file}: generates, builds and type-checks"));
            }
            (Ok(_), pointer) => wrong.push(format!(
                "{file}: expected a rejection at {pointer}, but it generates; update expected.yaml and docs/openapi-support.md"
            )),
            (Err(e), "generates") => wrong.push(format!(
                "{file}: expected to generate, but #{}: {}",
                e.pointer, e.message
            )),
            (Err(e), pointer) if pointer == format!("#{}", e.pointer) => {
                report.push(format!("{file}: rejected at {pointer} ({})", e.message));
            }
            (Err(e), pointer) => wrong.push(format!(
                "{file}: expected a rejection at {pointer}, got #{}: {}",
                e.pointer, e.message
            )),
        }
    }
    if !wrong.is_empty() {
        bail!("public specs:\n  {}", wrong.join("\n  "));
    }
    Ok(report)
}

/// Generates the four outputs as a standalone workspace, builds the Rust crates
/// (with Keel's lock file, so the dependency graph is the one Keel tests) and
/// type-checks the TypeScript declarations when the harness has TypeScript.
fn build(contract: &Contract, path: &Path, stem: &str, out: &Path) -> Result<()> {
    // Crate names take letters, digits, `-` and `_` (`swagger-petstore-3.0`).
    let prefix: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut files = codegen::generate(contract, &path.display().to_string(), &prefix)?;
    codegen::standalone::make_standalone(&mut files, &std::env::current_dir()?)?;
    codegen::write(out, &files)?;
    std::fs::copy("Cargo.lock", out.join("Cargo.lock"))?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "--manifest-path"])
        .arg(out.join("Cargo.toml"))
        .status()?;
    if !status.success() {
        bail!("cargo build failed in {}", out.display());
    }
    let tsc = Path::new("tests/ts/node_modules/typescript/bin/tsc");
    if tsc.exists() {
        // The settings of the harness's own checks (tests/ts/tsconfig.base.json).
        let config = out.join("typescript/tsconfig.check.json");
        let base = std::fs::canonicalize("tests/ts/tsconfig.base.json")?;
        std::fs::write(
            &config,
            serde_json::json!({
                "extends": base,
                "compilerOptions": { "lib": ["ES2022"] },
                "files": ["index.d.ts", "runtime.d.ts"]
            })
            .to_string(),
        )?;
        let status = Command::new("node")
            .arg(tsc)
            .arg("-p")
            .arg(&config)
            .status()?;
        if !status.success() {
            bail!("tsc --strict failed on {}/typescript", out.display());
        }
    }
    Ok(())
}
