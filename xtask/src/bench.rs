//! `cargo xtask bench`: the performance campaign (the `bench/` crate, release
//! build), preceded by the generator's own benchmark, whose figure the
//! campaign's report includes. `--codegen` runs only the generator's
//! benchmark (see `bench_codegen`), `--faults` the fault suite's long form
//! (see `bench_faults`).

use std::process::Command;

use anyhow::{Result, bail};

#[derive(clap::Args)]
pub struct Args {
    /// Seconds of load per run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Runs per figure (median, min and max are reported).
    #[arg(long, default_value_t = 3)]
    bench_runs: usize,
    /// Concurrent connections of the closed-loop runs.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Sections of the campaign (http, orders, relay, idle, codegen); all by default.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Measure `cargo xtask codegen` on a synthetic contract only.
    #[arg(long)]
    codegen: bool,
    /// Run the fault suite's long form instead (30 s broker outage, 20 s
    /// database outage, 200 slow clients; every service required).
    #[arg(long, conflicts_with = "codegen")]
    faults: bool,
    #[command(flatten)]
    codegen_args: crate::bench_codegen::CodegenArgs,
}

pub fn run(args: Args) -> Result<()> {
    if args.codegen {
        return crate::bench_codegen::run(&args.codegen_args);
    }
    if args.faults {
        return crate::bench_faults::run();
    }
    load_generators()?;
    let wanted = |section: &str| args.only.is_empty() || args.only.iter().any(|s| s == section);
    if wanted("codegen") {
        crate::bench_codegen::run(&args.codegen_args)?;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .args(["build", "--release", "--package", "keel", "--bin", "keel"])
        .args(["--package", "keel-bench"])
        .status()?;
    if !status.success() {
        bail!("building the release server and the benchmark failed");
    }
    let mut command = Command::new(&cargo);
    command
        .args(["run", "--release", "--package", "keel-bench", "--"])
        .args(["--seconds", &args.seconds.to_string()])
        .args(["--runs", &args.bench_runs.to_string()])
        .args(["--connections", &args.connections.to_string()]);
    if !args.only.is_empty() {
        command.args(["--only", &args.only.join(",")]);
    }
    if !command.status()?.success() {
        bail!("the benchmark failed");
    }
    Ok(())
}

/// wrk (Debian's package) and oha (from crates.io, into `~/.cache/tools`),
/// installed when missing.
fn load_generators() -> Result<()> {
    let present = |program: &str| {
        Command::new(program)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success() || !o.stdout.is_empty() || !o.stderr.is_empty())
    };
    if !present("wrk") {
        println!("installing wrk (apt-get install wrk)");
        let installed = Command::new("apt-get")
            .args(["install", "-y", "wrk"])
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            bail!("wrk is missing and could not be installed: apt-get install wrk");
        }
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| ".".into());
    let root = std::path::Path::new(&home).join(".cache/tools");
    if !present("oha") && !root.join("bin/oha").is_file() {
        println!("installing oha into {} (cargo install oha)", root.display());
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "install",
                "oha",
                "--locked",
                "--version",
                "1.16.0",
                "--root",
            ])
            .arg(&root)
            .status()?;
        if !status.success() {
            bail!("installing oha failed");
        }
    }
    Ok(())
}
