//! `cargo xtask check`: the gates that keep the contract, `generated/` and the
//! code in step.

use anyhow::{Result, bail};
use similar::TextDiff;

use crate::{codegen, openapi};

pub fn run() -> Result<()> {
    let mut stale = 0;
    for target in crate::targets()? {
        stale += stale_files(&target)?;
    }
    if stale > 0 {
        bail!(
            "generated code is stale in {stale} file(s): run `cargo xtask codegen` and commit the result"
        );
    }
    let contract = openapi::read(std::path::Path::new("api/openapi.yaml"))?;
    let problems = openapi::lint::lint(&contract.document, &contract.api);
    for problem in &problems {
        eprintln!("api/openapi.yaml{problem}");
    }
    if !problems.is_empty() {
        bail!("the contract breaks {} house rule(s)", problems.len());
    }
    println!("api/openapi.yaml follows the house rules");
    let mut drifted = 0;
    for target in crate::targets()? {
        if let Err(error) = crate::roundtrip::check(&target.contract, &target.prefix) {
            eprintln!("{error:#}");
            drifted += 1;
        }
    }
    if drifted > 0 {
        bail!("{drifted} contract(s) differ from what their generated server emits");
    }
    readme_example()?;
    crate::deploy::check()?;
    Ok(())
}

/// Prints a diff for each generated file that differs from what its contract
/// generates now, and returns how many do.
fn stale_files(target: &crate::Target) -> Result<usize> {
    let contract = openapi::read_with(&target.contract, target.house_rules)?;
    let expected = codegen::generate(
        &contract,
        &target.contract.display().to_string(),
        &target.prefix,
    )?;
    let actual = codegen::on_disk(&target.out)?;
    let out = target.out.display();
    let mut stale = 0;
    for (path, want) in &expected {
        match actual.get(path) {
            None => {
                stale += 1;
                eprintln!("{out}/{} is missing", path.display());
            }
            Some(have) if have != want => {
                stale += 1;
                let name = format!("{out}/{}", path.display());
                let diff = TextDiff::from_lines(have.as_str(), want.as_str());
                eprint!(
                    "{}",
                    diff.unified_diff().context_radius(2).header(
                        &format!("{name} (on disk)"),
                        &format!("{name} (from the contract)")
                    )
                );
            }
            Some(_) => {}
        }
    }
    for path in actual.keys().filter(|p| !expected.contains_key(*p)) {
        stale += 1;
        eprintln!(
            "{out}/{} is not generated from the contract; delete it",
            path.display()
        );
    }
    if stale == 0 {
        println!("{out}/ matches {}", target.contract.display());
    }
    Ok(stale)
}

/// The README's TypeScript example is `tests/ts/usage.ts` (which `cargo xtask
/// test` type-checks), between its `README:begin` and `README:end` markers.
fn readme_example() -> Result<()> {
    let usage = std::fs::read_to_string("tests/ts/usage.ts")?;
    let example = usage
        .split("// README:begin\n")
        .nth(1)
        .and_then(|rest| rest.split("// README:end").next())
        .ok_or_else(|| {
            anyhow::anyhow!("tests/ts/usage.ts lacks its README:begin/README:end markers")
        })?;
    let readme = std::fs::read_to_string("README.md")?;
    if !readme.contains(&format!("```ts\n{example}```")) {
        bail!(
            "README.md's TypeScript example differs from tests/ts/usage.ts: copy the lines between the README markers"
        );
    }
    println!("README.md's TypeScript example matches tests/ts/usage.ts");
    Ok(())
}
