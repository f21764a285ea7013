//! Keel's project tasks, in Rust so they run wherever cargo does (the xtask pattern).
//!
//! `cargo xtask codegen` writes `generated/` from `api/openapi.yaml`;
//! `cargo xtask check` fails when `generated/` is stale; `cargo xtask test` runs
//! every suite against every database it can reach (`cargo xtask schemathesis` runs the
//! conformance fuzzing alone); `cargo xtask bench` measures.

mod bench;
mod bench_codegen;
mod bench_contract;
mod bench_faults;
mod check;
mod codegen;
mod deploy;
mod diff;
mod mock;
mod openapi;
mod phases;
mod public_specs;
mod roundtrip;
mod schemathesis;
mod test;
mod typescript_suite;
mod venv;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Keel's project tasks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate `generated/` from `api/openapi.yaml`, and each fixture under
    /// `tests/fixtures/`; or, with `--contract` and `--out`, one contract anywhere.
    Codegen {
        /// A contract to generate from, instead of the project's.
        #[arg(long, requires = "out")]
        contract: Option<PathBuf>,
        /// Where to write it; everything else under it is deleted.
        #[arg(long, requires = "contract")]
        out: Option<PathBuf>,
        /// Crate name prefix (`{prefix}-types`, `{prefix}-server`, `{prefix}-client`).
        #[arg(long, default_value = "keel")]
        prefix: String,
    },
    /// Fail when `generated/` differs from what the contract generates.
    Check,
    /// Run every test suite: unit tests, the black-box API tests on SQLite and, when
    /// reachable, PostgreSQL, the TypeScript suites (Node.js) and the conformance fuzzing
    /// (Python 3). `KEEL_REQUIRE_SERVICES=1` turns a skip into a failure.
    Test,
    /// Conformance fuzzing: schemathesis against the live server on SQLite, every
    /// operation, every check, phases examples, coverage, fuzzing and stateful.
    Schemathesis,
    /// Classify every change of the contract since a git ref as breaking or not;
    /// fail on breaking changes not acknowledged in `api/breaking-changes.yaml`.
    Diff {
        #[arg(long)]
        base: String,
    },
    /// Serve a mock of the contract: requests are validated against it and
    /// answered with bodies synthesised from its schemas.
    Mock {
        #[arg(long, default_value = "api/openapi.yaml")]
        contract: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: std::net::SocketAddr,
    },
    /// Generate, build and type-check the public specs in `tests/public-specs`
    /// (or check they are rejected where `expected.yaml` says); part of `test`.
    PublicSpecs,
    /// Load-test `GET /v1/users/{id}` against a minimal hyper server in the same run.
    Bench(bench::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = project_root();
    if let Err(error) = std::env::set_current_dir(&root) {
        eprintln!("error: cannot enter {}: {error}", root.display());
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Command::Codegen {
            contract: Some(contract),
            out: Some(out),
            prefix,
        } => run_codegen(&Target {
            contract,
            out,
            prefix,
            house_rules: false,
            standalone: true,
        }),
        Command::Codegen { .. } => targets().and_then(|all| all.iter().try_for_each(run_codegen)),
        Command::Check => check::run(),
        Command::Test => test::run(),
        Command::PublicSpecs => public_specs::run().map(|report| {
            for line in report {
                println!("{line}");
            }
        }),
        Command::Schemathesis => schemathesis::run().map(|_| ()),
        Command::Bench(args) => bench::run(args),
        Command::Mock { contract, listen } => mock::run(&contract, listen),
        Command::Diff { base } => diff::run(&base),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// One contract and where its generated code goes.
pub struct Target {
    pub contract: PathBuf,
    pub out: PathBuf,
    pub prefix: String,
    /// Keel's own contracts (the project's, the fixtures) follow the house rules.
    pub house_rules: bool,
    /// A Cargo workspace of its own, outside Keel's (`codegen --out`).
    pub standalone: bool,
}

/// The project's contract, and every fixture contract (`tests/fixtures/<name>/openapi.yaml`,
/// generated into `tests/fixtures/<name>/generated`, crates `fixture-<name>-*`).
pub fn targets() -> anyhow::Result<Vec<Target>> {
    let mut all = vec![Target {
        contract: "api/openapi.yaml".into(),
        out: "generated".into(),
        prefix: "keel".into(),
        house_rules: true,
        standalone: false,
    }];
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir("tests/fixtures")?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    fixtures.sort();
    for dir in fixtures
        .into_iter()
        .filter(|d| d.join("openapi.yaml").exists())
    {
        let name = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        all.push(Target {
            contract: dir.join("openapi.yaml"),
            out: dir.join("generated"),
            prefix: format!("fixture-{name}"),
            house_rules: true,
            standalone: false,
        });
    }
    Ok(all)
}

fn run_codegen(target: &Target) -> anyhow::Result<()> {
    let summary = run_codegen_timed(target, &mut phases::Phases::default())?;
    println!("{summary}");
    Ok(())
}

/// `codegen` for one target, recording the time of each phase; returns what it wrote.
pub fn run_codegen_timed(target: &Target, phases: &mut phases::Phases) -> anyhow::Result<String> {
    let parsed = openapi::read_timed(&target.contract, target.house_rules, phases)?;
    let mut files = codegen::generate_timed(
        &parsed,
        &target.contract.display().to_string(),
        &target.prefix,
        phases,
    )?;
    if target.standalone {
        phases.time("standalone manifests", || {
            codegen::standalone::make_standalone(&mut files, &project_root())
        })?;
    }
    phases.time("write", || codegen::write(&target.out, &files))?;
    Ok(format!(
        "wrote {} files to {} ({} operations, {} schemas)",
        files.len(),
        target.out.display(),
        parsed.api.operations.len(),
        parsed.api.schemas.len()
    ))
}

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
