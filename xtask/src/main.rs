//! Keel's project tasks, in Rust so they run wherever cargo does (the xtask pattern).
//!
//! `cargo xtask codegen` writes `generated/` from `api/openapi.yaml`;
//! `cargo xtask check` fails when `generated/` is stale; `cargo xtask test` runs
//! every suite against every database it can reach; `cargo xtask bench` measures.

mod bench;
mod check;
mod codegen;
mod mock;
mod openapi;
mod test;
mod typescript_suite;

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
    /// Generate the Rust crates under `generated/` from the contract.
    Codegen {
        /// The contract to read.
        #[arg(long, default_value = "api/openapi.yaml")]
        contract: PathBuf,
        /// Where to write; everything else under it is deleted.
        #[arg(long, default_value = "generated")]
        out: PathBuf,
    },
    /// Fail when `generated/` differs from what the contract generates.
    Check,
    /// Run every test suite: unit tests, and the black-box API tests on SQLite and,
    /// when reachable, PostgreSQL. `KEEL_REQUIRE_SERVICES=1` turns a skip into a failure.
    Test,
    /// Serve a mock of the contract: requests are validated against it and
    /// answered with bodies synthesised from its schemas.
    Mock {
        #[arg(long, default_value = "api/openapi.yaml")]
        contract: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: std::net::SocketAddr,
    },
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
        Command::Codegen { contract, out } => run_codegen(&contract, &out),
        Command::Check => check::run(),
        Command::Test => test::run(),
        Command::Bench(args) => bench::run(args),
        Command::Mock { contract, listen } => mock::run(&contract, listen),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_codegen(contract: &Path, out: &Path) -> anyhow::Result<()> {
    let parsed = openapi::read(contract)?;
    let files = codegen::generate(&parsed, &contract.display().to_string())?;
    codegen::write(out, &files)?;
    println!(
        "wrote {} files to {} ({} operations, {} schemas)",
        files.len(),
        out.display(),
        parsed.api.operations.len(),
        parsed.api.schemas.len()
    );
    Ok(())
}

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}
