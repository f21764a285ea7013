//! Reading contracts: YAML or JSON text → `serde_json::Value` → [`model::Api`].

pub mod bundle;
pub mod lint;
pub mod load;
pub mod model;
pub mod names;

use std::path::Path;

use anyhow::Context;

use crate::phases::Phases;

/// The contract's text and the model read from it.
pub struct Contract {
    pub text: String,
    pub document: serde_json::Value,
    pub api: model::Api,
}

pub fn read(path: &Path) -> anyhow::Result<Contract> {
    read_with(path, true)
}

/// `house_rules: false` for contracts from outside the project (see `load_with`).
pub fn read_with(path: &Path, house_rules: bool) -> anyhow::Result<Contract> {
    read_timed(path, house_rules, &mut Phases::default())
}

/// [`read_with`], recording the time to read, parse and load in `phases`.
pub fn read_timed(path: &Path, house_rules: bool, phases: &mut Phases) -> anyhow::Result<Contract> {
    let text = phases
        .time("read contract", || std::fs::read_to_string(path))
        .with_context(|| format!("reading {}", path.display()))?;
    let document: serde_json::Value = phases
        .time("parse YAML", || serde_norway::from_str(&text))
        .with_context(|| format!("{} is not valid YAML or JSON", path.display()))?;
    let document = bundle::bundle(document, path)
        .with_context(|| format!("{}: resolving references to other files", path.display()))?;
    let api = phases
        .time("load model", || load::load_with(&document, house_rules))
        .map_err(|e| anyhow::anyhow!("{}{e}", path.display()))?;
    Ok(Contract {
        text,
        document,
        api,
    })
}
