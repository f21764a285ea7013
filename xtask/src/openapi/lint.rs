//! House rules for Keel's own contract, beyond what the generator needs (which
//! the loader enforces: camelCase operationIds, one tag, a security statement).

use std::collections::BTreeSet;

use serde_json::Value;

use super::model::Api;

/// Every rule the contract breaks, each naming its JSON pointer.
pub fn lint(document: &Value, api: &Api) -> Vec<String> {
    let mut problems = Vec::new();
    for op in &api.operations {
        for response in op
            .responses
            .iter()
            .filter(|r| r.status.code().is_none_or(|c| c >= 400))
        {
            let pointer = format!(
                "#/paths/{}/{}/responses/{}",
                op.path.replace('~', "~0").replace('/', "~1"),
                op.method.as_str(),
                response.status
            );
            match &response.content {
                Some((media, _)) if media == "application/problem+json" => {}
                Some((media, _)) => problems.push(format!(
                    "{pointer}: error responses must be `application/problem+json`, not `{media}`"
                )),
                None => problems.push(format!(
                    "{pointer}: error responses must have an `application/problem+json` body"
                )),
            }
        }
    }
    let mut referenced = BTreeSet::new();
    collect_refs(document, &mut referenced);
    if let Some(components) = document.get("components").and_then(Value::as_object) {
        for (kind, entries) in components {
            if kind == "securitySchemes" {
                continue;
            }
            for (name, value) in entries.as_object().into_iter().flatten() {
                let pointer = format!("#/components/{kind}/{name}");
                // An event's payload is used by publishers and consumers, not
                // by operations.
                let event = kind == "schemas" && value.get("x-keel-event").is_some();
                if !referenced.contains(&pointer) && !event {
                    problems.push(format!("{pointer}: unused; remove it or refer to it"));
                }
                if kind == "schemas"
                    && value
                        .get("description")
                        .and_then(Value::as_str)
                        .is_none_or(|d| d.trim().is_empty())
                {
                    problems.push(format!("{pointer}: a public schema needs a `description`"));
                }
            }
        }
    }
    problems
}

fn collect_refs(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                match (key.as_str(), child) {
                    ("$ref", Value::String(target)) => {
                        found.insert(target.clone());
                    }
                    // Discriminator mappings name schemas too.
                    ("mapping", Value::Object(targets)) => {
                        found.extend(
                            targets
                                .values()
                                .filter_map(Value::as_str)
                                .map(str::to_owned),
                        );
                    }
                    _ => collect_refs(child, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, found)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_project_contract_is_clean_and_planted_faults_are_named() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../api/openapi.yaml"))
                .unwrap();
        let document: Value = serde_norway::from_str(&text).unwrap();
        let api = super::super::load::load(&document).unwrap();
        assert_eq!(lint(&document, &api), Vec::<String>::new());

        let planted = text.replacen("    Role:\n      type: string\n      description: What a user may do; each role maps to a set of scopes.\n", "    Role:\n      type: string\n", 1)
            + "    Orphan:\n      type: object\n      description: Nobody refers to me.\n";
        let document: Value = serde_norway::from_str(&planted).unwrap();
        let api = super::super::load::load(&document).unwrap();
        let problems = lint(&document, &api);
        assert!(
            problems.contains(
                &"#/components/schemas/Role: a public schema needs a `description`".to_owned()
            ),
            "{problems:?}"
        );
        assert!(
            problems.contains(
                &"#/components/schemas/Orphan: unused; remove it or refer to it".to_owned()
            ),
            "{problems:?}"
        );
    }
}
