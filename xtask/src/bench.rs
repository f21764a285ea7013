//! `cargo xtask bench`: runs the `bench/` crate in release mode; with
//! `--codegen`, measures the code generator instead (see `bench_codegen`).

use std::process::Command;

use anyhow::{Result, bail};

#[derive(clap::Args)]
pub struct Args {
    /// Seconds of load per target.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Measure `cargo xtask codegen` on a synthetic contract instead of the server.
    #[arg(long)]
    codegen: bool,
    #[command(flatten)]
    codegen_args: crate::bench_codegen::CodegenArgs,
}

pub fn run(args: Args) -> Result<()> {
    if args.codegen {
        return crate::bench_codegen::run(&args.codegen_args);
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .args(["build", "--release", "--package", "keel", "--bin", "keel"])
        .status()?;
    if !status.success() {
        bail!("building the release server failed");
    }
    let status = Command::new(&cargo)
        .args(["run", "--release", "--package", "keel-bench", "--"])
        .args([
            "--seconds",
            &args.seconds.to_string(),
            "--connections",
            &args.connections.to_string(),
        ])
        .status()?;
    if !status.success() {
        bail!("the benchmark failed");
    }
    Ok(())
}
