//! `cargo xtask bench --codegen`: how long `cargo xtask codegen` takes on a
//! synthetic contract (`bench_contract`, 1,000 operations and about 10 MB by
//! default) for all four outputs, against a baseline measured in the same run:
//! parsing the same YAML with serde and nothing else. Absolute times on a
//! shared 2-core machine move; the ratio is the figure to compare.
//!
//! Each run times, in this process, every phase of `codegen --contract --out`
//! (the very function the command calls), and then the command end to end as
//! its own process, once bare and once through `cargo xtask`. The table of
//! medians, minimums and maximums is printed and written to
//! `bench/results/codegen.md`, with the headline figures in `codegen.json`
//! beside it for reports that compare them (to the YAML parse, to the target).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use crate::bench_contract::{self, Options};
use crate::phases::Phases;

/// The target of issue 9, for `cargo xtask codegen` end to end.
const TARGET: Duration = Duration::from_secs(3);

/// `cargo xtask codegen` on the default contract (1,000 operations, 3 runs)
/// before the generator laid out its bulk items itself (ADR 17), as the report
/// at commit bd19202 gave it: median, min, max in seconds, and the rustfmt wait.
/// The last figure is the median as a multiple of the same run's YAML parse.
const BEFORE: (f64, f64, f64, f64, f64) = (5.42, 5.10, 5.52, 3.05, 25.2);

/// The same after the generator laid out the types crate's items (ADR 17's
/// first step, report at 12512be), before it laid out the client's methods and
/// the server modules' repeated items too.
const TYPES_LAID_OUT: (f64, f64, f64, f64, f64) = (6.82, 6.21, 8.75, 2.58, 17.1);

#[derive(clap::Args)]
pub struct CodegenArgs {
    /// Operations in the synthetic contract.
    #[arg(long, default_value_t = 1000, requires = "codegen")]
    operations: usize,
    /// Measured runs (at least 3); the table gives median, min and max.
    #[arg(long, default_value_t = 5, requires = "codegen")]
    runs: usize,
    /// Seed of the synthetic contract.
    #[arg(long, default_value_t = Options::default().seed, requires = "codegen")]
    seed: u64,
    /// Words per operation description (the default makes 1,000 operations about 10 MB).
    #[arg(long, default_value_t = Options::default().description_words, requires = "codegen")]
    description_words: usize,
    /// Also `cargo check` the generated crates once (timed apart, not part of the target).
    #[arg(long, requires = "codegen")]
    cargo_check: bool,
    /// Only write the synthetic contract to this file (to profile `codegen` on it).
    #[arg(long, requires = "codegen")]
    write_contract: Option<PathBuf>,
    /// Where to write the Markdown table.
    #[arg(long, default_value = "bench/results/codegen.md", requires = "codegen")]
    results: PathBuf,
}

pub fn run(args: &CodegenArgs) -> Result<()> {
    if let Some(path) = &args.write_contract {
        std::fs::write(path, bench_contract::yaml(options(args))?)?;
        println!("wrote {}", path.display());
        return Ok(());
    }
    ensure!(args.runs >= 3, "--runs must be at least 3 for a median");
    let dir = std::env::temp_dir().join(format!("keel-bench-codegen-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let result = measure(args, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    let (report, figures) = result?;
    println!("{report}");
    if let Some(parent) = args.results.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&args.results, &report)
        .with_context(|| format!("writing {}", args.results.display()))?;
    let json = args.results.with_extension("json");
    std::fs::write(&json, serde_json::to_string_pretty(&figures)? + "\n")
        .with_context(|| format!("writing {}", json.display()))?;
    println!(
        "written to {} and {}",
        args.results.display(),
        json.display()
    );
    Ok(())
}

/// The Markdown report and the machine-readable figures.
fn measure(args: &CodegenArgs, dir: &Path) -> Result<(String, serde_json::Value)> {
    let started = Instant::now();
    let text = bench_contract::yaml(options(args))?;
    let made_in = started.elapsed();
    let contract = dir.join("openapi.yaml");
    std::fs::write(&contract, &text)?;
    // The loader `codegen --contract` uses, house rules off.
    let api = crate::openapi::read_with(&contract, false)?.api;
    ensure!(api.operations.len() == args.operations);
    eprintln!(
        "synthetic contract: {} operations over {} tags, {} schemas, {:.1} MB, made in {}",
        api.operations.len(),
        api.tags.len(),
        api.schemas.len(),
        text.len() as f64 / 1e6,
        show(made_in)
    );

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let xtask = std::env::current_exe()?;
    let mut baseline_copy = Vec::new();
    let mut baseline_parse = Vec::new();
    let mut runs: Vec<Phases> = Vec::new();
    let mut process = Vec::new();
    let mut through_cargo = Vec::new();
    let mut generated = (0, 0);
    for run in 0..args.runs {
        let copy = dir.join("copy.yaml");
        let started = Instant::now();
        std::fs::copy(&contract, &copy)?;
        baseline_copy.push(started.elapsed());
        std::fs::remove_file(&copy)?;

        let started = Instant::now();
        let parsed: serde_json::Value = serde_norway::from_str(&text)?;
        baseline_parse.push(started.elapsed());
        drop(parsed);

        let out = dir.join(format!("in-process-{run}"));
        let target = crate::Target {
            contract: contract.clone(),
            out: out.clone(),
            prefix: "bench".into(),
            house_rules: false,
            standalone: true,
        };
        let mut phases = Phases::default();
        crate::run_codegen_timed(&target, &mut phases)?;
        runs.push(phases);
        if run + 1 == args.runs {
            let files = crate::codegen::on_disk(&out)?;
            generated = (files.len(), files.values().map(String::len).sum::<usize>());
        }
        if !(args.cargo_check && run + 1 == args.runs) {
            std::fs::remove_dir_all(&out)?;
        }

        let out = dir.join(format!("process-{run}"));
        process.push(time_command(
            Command::new(&xtask).args(codegen_args(&contract, &out)),
        )?);
        std::fs::remove_dir_all(&out)?;

        let out = dir.join(format!("cargo-{run}"));
        through_cargo.push(time_command(
            Command::new(&cargo)
                .arg("xtask")
                .args(codegen_args(&contract, &out)),
        )?);
        std::fs::remove_dir_all(&out)?;
        eprintln!(
            "run {}/{}: in process {}, `cargo xtask codegen` {}",
            run + 1,
            args.runs,
            show(runs[run].total()),
            show(through_cargo[run])
        );
    }

    let check = if args.cargo_check {
        let out = dir.join(format!("in-process-{}", args.runs - 1));
        Some(cargo_check(&cargo, &out)?)
    } else {
        None
    };

    let base = median(&baseline_parse);
    let mut table = String::new();
    let mut row = |name: &str, samples: &[Duration]| {
        table.push_str(&format!(
            "| {name} | {} | {} | {} | {:.1}× |\n",
            show(median(samples)),
            show(*samples.iter().min().expect("runs >= 3")),
            show(*samples.iter().max().expect("runs >= 3")),
            median(samples).as_secs_f64() / base.as_secs_f64()
        ));
    };
    row(
        "baseline: copy the contract's bytes (`fs::copy`)",
        &baseline_copy,
    );
    row(
        "**baseline: parse the YAML (serde_norway → `Value`)**",
        &baseline_parse,
    );
    for (phase, _) in runs[0].iter() {
        let samples: Vec<Duration> = runs
            .iter()
            .map(|p| {
                p.iter()
                    .find(|(q, _)| *q == phase)
                    .map_or(Duration::ZERO, |(_, d)| d)
            })
            .collect();
        row(&format!("codegen: {phase}"), &samples);
    }
    for (note, _) in runs[0].notes() {
        let samples: Vec<Duration> = runs
            .iter()
            .map(|p| {
                p.notes()
                    .find(|(q, _)| *q == note)
                    .map_or(Duration::ZERO, |(_, d)| d)
            })
            .collect();
        row(&format!("(not in the sum) {note}"), &samples);
    }
    let totals: Vec<Duration> = runs.iter().map(Phases::total).collect();
    row("codegen in process, all phases", &totals);
    row(
        "`xtask codegen --contract … --out …` as a process",
        &process,
    );
    row(
        "**`cargo xtask codegen --contract … --out …`**",
        &through_cargo,
    );

    let headline = median(&through_cargo);
    let verdict = if headline < TARGET { "met" } else { "missed" };
    let mut report = format!(
        "# Generator speed\n\n\
         `cargo xtask bench --codegen --operations {ops} --runs {runs}` on {cores} cores. \
         The synthetic contract (seed {seed}): {ops} operations over {tags} tags, {schemas} schemas \
         (after inline ones are named), {mb:.1} MB of YAML. Generated: {files} files, {gen_mb:.1} MB \
         (types, server, Rust client, TypeScript, and the contract embedded as YAML and JSON).\n\n\
         | measure | median | min | max | × baseline |\n|---|---:|---:|---:|---:|\n{table}\n\
         Target (issue 9): `cargo xtask codegen` on this contract in under {target} s for all four \
         outputs — **{verdict}** (median {headline}, {ratio:.1}× the YAML parse).\n",
        ops = args.operations,
        runs = args.runs,
        cores = std::thread::available_parallelism().map_or(1, |n| n.get()),
        seed = args.seed,
        tags = api.tags.len(),
        schemas = api.schemas.len(),
        mb = text.len() as f64 / 1e6,
        files = generated.0,
        gen_mb = generated.1 as f64 / 1e6,
        target = TARGET.as_secs(),
        headline = show(headline),
        ratio = headline.as_secs_f64() / base.as_secs_f64(),
    );
    let rustfmt_wait: Vec<Duration> = runs
        .iter()
        .map(|p| {
            p.iter()
                .find(|(q, _)| q.starts_with("rustfmt"))
                .map_or(Duration::ZERO, |(_, d)| d)
        })
        .collect();
    let secs = |d: Duration| d.as_secs_f64();
    let row = |(median, min, max, rustfmt, ratio): (f64, f64, f64, f64, f64)| {
        format!("{median:.2} s | {min:.2} s | {max:.2} s | {rustfmt:.2} s | {ratio:.1}×")
    };
    report.push_str(&format!(
        "\n## Before and after ADR 17\n\nBefore, rustfmt laid out every generated Rust file; now the generator lays out the items a contract repeats (per schema: structs, enums, `Validate` impls, schema documentation; per operation: the client's methods and the server modules' reply enums, conversions and markers) and rustfmt the rest. Same machine, not the same load: compare the ratios to the YAML parse of the same run.\n\n| `cargo xtask codegen` (1000 operations) | median | min | max | rustfmt wait (median) | × YAML parse |\n|---|---:|---:|---:|---:|---:|\n| before (report at bd19202) | {} |\n| types laid out (report at 12512be) | {} |\n| this run | {} | {} | {} | {} | {:.1}× |\n",
        row(BEFORE),
        row(TYPES_LAID_OUT),
        show(headline),
        show(*through_cargo.iter().min().expect("runs >= 3")),
        show(*through_cargo.iter().max().expect("runs >= 3")),
        show(median(&rustfmt_wait)),
        headline.as_secs_f64() / base.as_secs_f64(),
    ));
    match check {
        Some(took) => report.push_str(&format!(
            "\n`cargo check` of the generated crates (once, not part of the target): {}.\n",
            show(took)
        )),
        None => report
            .push_str("\n`--cargo-check` also compiles the generated crates once (timed apart).\n"),
    }
    let figures = serde_json::json!({
        "operations": args.operations,
        "seed": args.seed,
        "contract_bytes": text.len(),
        "generated_files": generated.0,
        "generated_bytes": generated.1,
        "runs": args.runs,
        "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "command_median_s": secs(headline),
        "command_min_s": secs(*through_cargo.iter().min().expect("runs >= 3")),
        "command_max_s": secs(*through_cargo.iter().max().expect("runs >= 3")),
        "process_median_s": secs(median(&process)),
        "in_process_median_s": secs(median(&totals)),
        "rustfmt_wait_median_s": secs(median(&rustfmt_wait)),
        "yaml_parse_median_s": secs(base),
        "command_to_yaml_parse": headline.as_secs_f64() / base.as_secs_f64(),
        "target_s": TARGET.as_secs_f64(),
        "target_met": headline < TARGET,
        "cargo_check_s": check.map(secs),
    });
    Ok((report, figures))
}

fn options(args: &CodegenArgs) -> Options {
    Options {
        operations: args.operations,
        seed: args.seed,
        description_words: args.description_words,
    }
}

fn codegen_args(contract: &Path, out: &Path) -> Vec<std::ffi::OsString> {
    vec![
        "codegen".into(),
        "--contract".into(),
        contract.into(),
        "--out".into(),
        out.into(),
        "--prefix".into(),
        "bench".into(),
    ]
}

fn time_command(command: &mut Command) -> Result<Duration> {
    let started = Instant::now();
    let status = command.stdout(Stdio::null()).status()?;
    let took = started.elapsed();
    if !status.success() {
        bail!("{command:?} failed");
    }
    Ok(took)
}

/// `cargo check` of the standalone workspace in `out`, on Keel's lock file so
/// it resolves the crates Keel builds with.
fn cargo_check(cargo: &str, out: &Path) -> Result<Duration> {
    std::fs::copy("Cargo.lock", out.join("Cargo.lock"))?;
    eprintln!("cargo check of the generated crates in {}", out.display());
    time_command(
        Command::new(cargo)
            .args(["check", "--workspace", "--quiet"])
            .current_dir(out),
    )
}

fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn show(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{:.2} s", d.as_secs_f64())
    } else {
        format!("{:.1} ms", d.as_secs_f64() * 1e3)
    }
}
