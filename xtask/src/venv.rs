//! Python tools the suites run (schemathesis, aiosmtpd), each pinned and
//! installed from PyPI into its own venv under the target directory, so a fresh
//! machine needs only `python3` with its `venv` module.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

/// Python 3 with its `venv` module is not installed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PythonMissing(String);

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from)
}

pub fn python_with_venv() -> Result<()> {
    let probe = Command::new("python3")
        .args(["-c", "import venv, ensurepip"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match probe {
        Err(_) => Err(PythonMissing("python3 is not installed".into()).into()),
        Ok(status) if !status.success() => Err(PythonMissing(
            "python3 has no venv/ensurepip module (Debian: apt-get install python3-venv)".into(),
        )
        .into()),
        Ok(_) => Ok(()),
    }
}

/// The venv's `bin` directory, with `requirement` (`name==version`) installed
/// unless the stamp says this very requirement is there already.
pub fn ensure(venv: &Path, requirement: &str) -> Result<PathBuf> {
    python_with_venv()?;
    let bin = venv.join(if cfg!(windows) { "Scripts" } else { "bin" });
    let stamp = venv.join("keel-venv.stamp");
    let wanted = format!("{requirement}\n");
    if bin.join("python").exists() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        println!("\n-- {requirement} (already in {})", venv.display());
        return Ok(bin);
    }
    println!(
        "\n-- python3 -m venv {} && pip install {requirement}",
        venv.display()
    );
    run_ok(
        Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(venv),
    )?;
    run_ok(Command::new(bin.join("python")).args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        requirement,
    ]))?;
    std::fs::write(&stamp, wanted)?;
    Ok(bin)
}

pub fn run_ok(command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("running {command:?}"))?;
    if !status.success() {
        anyhow::bail!("{command:?} failed ({status})");
    }
    Ok(())
}
