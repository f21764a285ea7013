//! Checks of `deploy/`, in `cargo xtask check`: the Kubernetes manifests against
//! the Kubernetes schemas, offline (kubernetes-validate, pinned, in a venv: it
//! ships the schemas), and the dashboard and alert rules against the metrics
//! the server describes, so neither queries a metric that does not exist.

use std::collections::BTreeSet;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The kubernetes-validate release; its schemas cover the version below.
const VALIDATOR: &str = "kubernetes-validate==1.37.0";
/// The oldest Kubernetes the manifests promise to work on.
const KUBERNETES: &str = "1.31.0";
const MANIFESTS: &str = "deploy/k8s";
const METRICS_SOURCE: &str = "src/platform/metrics.rs";
const USERS_OF_METRICS: &[&str] = &["deploy/grafana/keel.json", "deploy/alerts.yaml"];

pub fn check() -> Result<()> {
    metrics_exist()?;
    let require = std::env::var("KEEL_REQUIRE_SERVICES").is_ok_and(|v| v == "1" || v == "true");
    let venv = crate::venv::target_dir().join("kubernetes-validate-venv");
    let bin = match crate::venv::ensure(&venv, VALIDATOR) {
        Ok(bin) => bin,
        Err(why) if why.is::<crate::venv::PythonMissing>() && !require => {
            println!("SKIPPED  validating {MANIFESTS}: {why}");
            return Ok(());
        }
        Err(why) => return Err(why),
    };
    let mut manifests: Vec<_> = std::fs::read_dir(MANIFESTS)
        .with_context(|| format!("reading {MANIFESTS}"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    manifests.sort();
    let output = Command::new(bin.join("kubernetes-validate"))
        .args(["--strict", "--quiet", "-k", KUBERNETES])
        .args(&manifests)
        .output()
        .context("running kubernetes-validate")?;
    if !output.status.success() {
        eprint!("{}", String::from_utf8_lossy(&output.stdout));
        eprint!("{}", String::from_utf8_lossy(&output.stderr));
        bail!("{MANIFESTS} does not validate against Kubernetes {KUBERNETES}");
    }
    println!(
        "{MANIFESTS}: {} manifests valid for Kubernetes {KUBERNETES} (strict)",
        manifests.len()
    );
    Ok(())
}

/// Every `keel_…` metric the dashboard and the alerts query is one the server
/// describes (`_bucket`, `_sum` and `_count` are a histogram's series).
fn metrics_exist() -> Result<()> {
    let source = std::fs::read_to_string(METRICS_SOURCE)?;
    let described = names(&source);
    for file in USERS_OF_METRICS {
        let text = std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?;
        let unknown: Vec<String> = names(&text)
            .into_iter()
            .filter(|name| {
                let base = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s))
                    .unwrap_or(name);
                !described.contains(base) && !described.contains(name.as_str())
            })
            .collect();
        if !unknown.is_empty() {
            bail!("{file} queries metrics the server does not have: {unknown:?}");
        }
    }
    println!("deploy/: the dashboard and the alerts query only metrics the server describes");
    Ok(())
}

fn names(text: &str) -> BTreeSet<String> {
    let pattern = regex::Regex::new(r"keel_[a-z0-9_]+").expect("a valid pattern");
    pattern
        .find_iter(text)
        .map(|m| m.as_str().to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_are_found_in_queries() {
        let found = names(r#"rate(keel_http_requests_total[5m]) / keel_outbox_backlog"#);
        assert_eq!(
            found.into_iter().collect::<Vec<_>>(),
            ["keel_http_requests_total", "keel_outbox_backlog"]
        );
    }
}
