//! `$ref`s to other files: a contract split over several files in `api/` is
//! bundled into one document before the loader reads it, so everything after
//! (generation, the gates) sees a single document with local references only.
//!
//! `common.yaml#/components/schemas/Money` is copied into this document's
//! `components/schemas/Money` and the reference becomes local; a reference to a
//! whole file (`money.yaml`) names the schema after the file (`Money`). The
//! copied parts are bundled the same way, relative to their own file, and local
//! references inside them (`#/components/...`) mean their own file's components.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value};

use super::names::pascal_case;

/// Resolves every reference to another file in `document` (read from `path`).
pub fn bundle(document: Value, path: &Path) -> Result<Value> {
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut bundler = Bundler {
        root_dir: dir.clone(),
        files: BTreeMap::new(),
        imported: BTreeMap::new(),
    };
    let mut document = document;
    bundler.walk(&mut document, &dir, None)?;
    if bundler.imported.is_empty() {
        return Ok(document);
    }
    let components = document
        .as_object_mut()
        .context("the contract is not an object")?
        .entry("components")
        .or_insert_with(|| Value::Object(Map::new()));
    for ((kind, name), (value, from)) in bundler.imported {
        let section = components
            .as_object_mut()
            .context("`components` is not an object")?
            .entry(kind.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        let section = section
            .as_object_mut()
            .with_context(|| format!("`components/{kind}` is not an object"))?;
        match section.get(&name) {
            Some(existing) if existing != &value => bail!(
                "`components/{kind}/{name}` is defined in the contract and, differently, in {}",
                from.display()
            ),
            _ => {
                section.insert(name, value);
            }
        }
    }
    Ok(document)
}

struct Bundler {
    root_dir: PathBuf,
    /// Other files, parsed once.
    files: BTreeMap<PathBuf, Value>,
    /// (component kind, name) → (definition, the file it came from).
    imported: BTreeMap<(String, String), (Value, PathBuf)>,
}

impl Bundler {
    /// Rewrites the references under `value`, which sits in a file in `dir`;
    /// `file` is that file when it is not the contract itself.
    fn walk(&mut self, value: &mut Value, dir: &Path, file: Option<&Path>) -> Result<()> {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref").cloned()
                    && let Some(local) = self.rewrite(&target, dir, file)?
                {
                    map.insert("$ref".into(), Value::String(local));
                }
                for child in map.values_mut() {
                    self.walk(child, dir, file)?;
                }
            }
            Value::Array(items) => {
                for child in items {
                    self.walk(child, dir, file)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The local reference that replaces `target`, importing what it points at;
    /// `None` when it is already local to the contract.
    fn rewrite(&mut self, target: &str, dir: &Path, file: Option<&Path>) -> Result<Option<String>> {
        let (file_part, pointer) = target.split_once('#').unwrap_or((target, ""));
        let source = match (file_part, file) {
            ("", None) => return Ok(None),
            // A local reference inside an imported file means that file.
            ("", Some(current)) => current.to_path_buf(),
            (other, _) => self.resolve(other, dir)?,
        };
        let (kind, name) = match pointer.strip_prefix("/components/") {
            Some(rest) => match rest.split('/').collect::<Vec<_>>().as_slice() {
                [kind, name] => ((*kind).to_owned(), (*name).to_owned()),
                _ => bail!(
                    "`$ref: {target}` must point at `#/components/<kind>/<name>` or at a whole file"
                ),
            },
            None if pointer.is_empty() => {
                let stem = source
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or_default();
                ("schemas".to_owned(), pascal_case(stem))
            }
            None => bail!(
                "`$ref: {target}` must point at `#/components/<kind>/<name>` or at a whole file"
            ),
        };
        let key = (kind.clone(), name.clone());
        if !self.imported.contains_key(&key) {
            let document = self.read(&source)?;
            let mut definition = if pointer.is_empty() {
                document
            } else {
                document.pointer(pointer).cloned().with_context(|| {
                    format!("`$ref: {target}` points at nothing in {}", source.display())
                })?
            };
            // Mark it first, so a cycle through files ends.
            self.imported
                .insert(key.clone(), (Value::Null, source.clone()));
            let source_dir = source.parent().unwrap_or(Path::new(".")).to_path_buf();
            self.walk(&mut definition, &source_dir, Some(&source))?;
            self.imported.insert(key, (definition, source));
        }
        Ok(Some(format!("#/components/{kind}/{name}")))
    }

    /// A relative path under the contract's directory; no URLs, no escaping it.
    fn resolve(&self, reference: &str, dir: &Path) -> Result<PathBuf> {
        if reference.contains("://") {
            bail!("`$ref: {reference}`: only files next to the contract are read, not URLs");
        }
        let relative = Path::new(reference);
        if relative.is_absolute() {
            bail!("`$ref: {reference}`: use a path relative to the file that refers to it");
        }
        let mut joined = dir.to_path_buf();
        for part in relative.components() {
            match part {
                Component::ParentDir => {
                    joined.pop();
                }
                Component::Normal(p) => joined.push(p),
                _ => {}
            }
        }
        if !joined.starts_with(&self.root_dir) {
            bail!("`$ref: {reference}` leaves the contract's directory");
        }
        Ok(joined)
    }

    fn read(&mut self, path: &Path) -> Result<Value> {
        if let Some(value) = self.files.get(path) {
            return Ok(value.clone());
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading {} (a `$ref` target)", path.display()))?;
        let value: Value = serde_norway::from_str(&text)
            .with_context(|| format!("{} is not valid YAML or JSON", path.display()))?;
        self.files.insert(path.to_path_buf(), value.clone());
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_to_other_files_become_local_components() {
        let dir = std::env::temp_dir().join(format!("keel-bundle-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("schemas")).unwrap();
        std::fs::write(
            dir.join("schemas/common.yaml"),
            "components:\n  schemas:\n    Money:\n      type: object\n      properties:\n        currency: {$ref: '#/components/schemas/Currency'}\n    Currency: {type: string, enum: [EUR]}\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("schemas/price-tag.yaml"),
            "type: object\nproperties:\n  price: {$ref: 'common.yaml#/components/schemas/Money'}\n",
        )
        .unwrap();
        let contract: Value = serde_norway::from_str(
            "paths: {}\ncomponents:\n  schemas:\n    Order:\n      properties:\n        total: {$ref: 'schemas/common.yaml#/components/schemas/Money'}\n        tag: {$ref: 'schemas/price-tag.yaml'}\n",
        )
        .unwrap();
        let bundled = bundle(contract, &dir.join("openapi.yaml")).unwrap();
        let schemas = &bundled["components"]["schemas"];
        assert_eq!(
            schemas["Order"]["properties"]["total"]["$ref"],
            "#/components/schemas/Money"
        );
        assert_eq!(
            schemas["Order"]["properties"]["tag"]["$ref"],
            "#/components/schemas/PriceTag"
        );
        assert_eq!(
            schemas["Money"]["properties"]["currency"]["$ref"],
            "#/components/schemas/Currency"
        );
        assert_eq!(schemas["Currency"]["enum"][0], "EUR");
        assert_eq!(
            schemas["PriceTag"]["properties"]["price"]["$ref"],
            "#/components/schemas/Money"
        );

        let escape: Value =
            serde_norway::from_str("paths: {}\nx: {$ref: '../elsewhere.yaml'}\n").unwrap();
        let error = bundle(escape, &dir.join("openapi.yaml")).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("leaves the contract's directory"),
            "{error}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
