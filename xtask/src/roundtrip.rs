//! The round-trip gate: the document poem-openapi derives from the generated
//! routes must say what the contract says.
//!
//! Both documents go through the generator's own loader, which already reads
//! 3.0 and 3.1 alike (nullable forms, exclusive bounds), then each is flattened
//! into facts keyed by JSON pointer: every operation, parameter, property,
//! constraint, status, header, content type and security requirement. Wording
//! (descriptions, summaries, examples) is not compared; everything that changes
//! what goes over the wire is. Notations that differ only in form are
//! normalised first: header names (HTTP compares them case-insensitively),
//! poem-openapi's `allOf: [$ref]` around a described or nullable reference, and
//! named arrays and primitives, compared where they are used. Only schemas that
//! operations reach are compared: poem-openapi lists no other. One fact cannot be compared: poem-openapi's model has no
//! `additionalProperties: false`; serde's `deny_unknown_fields` enforces it and
//! the API tests prove it (an unknown property is a 400).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::openapi::load::load_with;
use crate::openapi::model::*;

/// What one document says, fact by fact: pointer → value.
type Facts = BTreeMap<String, String>;

/// One difference between the contract and the served document.
#[derive(Debug, PartialEq)]
pub struct Mismatch {
    pub pointer: String,
    pub contract: Option<String>,
    pub served: Option<String>,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.contract, &self.served) {
            (Some(c), Some(s)) => write!(
                f,
                "#{}: the contract says {c}, the server {s}",
                self.pointer
            ),
            (Some(c), None) => write!(
                f,
                "#{}: the contract says {c}, the server nothing",
                self.pointer
            ),
            (None, Some(s)) => write!(
                f,
                "#{}: the server says {s}, the contract nothing",
                self.pointer
            ),
            (None, None) => write!(f, "#{}", self.pointer),
        }
    }
}

/// Runs the server crate's `<prefix>_emitted_spec` example and compares its
/// output with the contract it was generated from.
pub fn check(contract: &Path, prefix: &str) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let server_package = format!("{prefix}-server");
    let example = format!("{}_emitted_spec", prefix.replace('-', "_"));
    let output = Command::new(cargo)
        .args([
            "run",
            "--quiet",
            "--package",
            &server_package,
            "--example",
            &example,
        ])
        .output()?;
    if !output.status.success() {
        bail!(
            "`{server_package}`'s emitted_spec example failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let served: Value = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("{server_package} printed no JSON document"))?;
    // Bundled: references to other files in `api/` already local.
    let written = crate::openapi::read_with(contract, false)?.document;
    let mismatches = compare(&written, &served)?;
    if mismatches.is_empty() {
        println!(
            "{}: the routes poem-openapi serves say what the contract says",
            contract.display()
        );
        return Ok(());
    }
    for m in &mismatches {
        eprintln!("  {m}");
    }
    bail!(
        "{}: {} difference(s) between the contract and the document the server emits (round-trip gate)",
        contract.display(),
        mismatches.len()
    )
}

pub fn compare(contract: &Value, served: &Value) -> Result<Vec<Mismatch>> {
    let contract_api =
        load_with(contract, false).map_err(|e| anyhow::anyhow!("the contract: {e}"))?;
    let served_api = load_with(&normalise(served.clone()), false)
        .map_err(|e| anyhow::anyhow!("the served document: {e}"))?;
    let (a, b) = (facts(&contract_api), facts(&served_api));
    let mut out = Vec::new();
    for (pointer, value) in &a {
        match b.get(pointer) {
            Some(other) if other == value => {}
            other => out.push(Mismatch {
                pointer: pointer.clone(),
                contract: Some(value.clone()),
                served: other.cloned(),
            }),
        }
    }
    for (pointer, value) in &b {
        if !a.contains_key(pointer) {
            out.push(Mismatch {
                pointer: pointer.clone(),
                contract: None,
                served: Some(value.clone()),
            });
        }
    }
    Ok(out)
}

/// poem-openapi writes a described `$ref` as `allOf: [{$ref}]` with the
/// description beside it; the contract writes the `$ref` alone.
fn normalise(mut value: Value) -> Value {
    match &mut value {
        Value::Object(map) => {
            // The annotations may also come as further parts: `allOf: [$ref, {default}]`.
            let annotation = |v: &Value| {
                v.as_object().is_some_and(|o| {
                    o.keys()
                        .all(|k| matches!(k.as_str(), "default" | "description" | "title"))
                })
            };
            if let Some(Value::Array(parts)) = map.get("allOf")
                && let [only, rest @ ..] = parts.as_slice()
                && rest.iter().all(annotation)
                && only.get("$ref").is_some()
                && map.keys().all(|k| {
                    matches!(
                        k.as_str(),
                        "allOf"
                            | "description"
                            | "title"
                            | "default"
                            | "readOnly"
                            | "writeOnly"
                            | "nullable"
                    )
                })
            {
                let mut reference = only.clone();
                for key in [
                    "description",
                    "default",
                    "readOnly",
                    "writeOnly",
                    "nullable",
                ] {
                    if let Some(v) = map.get(key) {
                        reference[key] = v.clone();
                    }
                }
                return normalise(reference);
            }
            for v in map.values_mut() {
                *v = normalise(std::mem::take(v));
            }
        }
        Value::Array(items) => {
            for v in items.iter_mut() {
                *v = normalise(std::mem::take(v));
            }
        }
        _ => {}
    }
    value
}

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// The component schemas the operations use, directly or through others.
fn reachable(api: &Api) -> std::collections::BTreeSet<&str> {
    fn names<'a>(schema: &'a Schema, out: &mut Vec<&'a str>) {
        match &schema.ty {
            Type::Named(n) => out.push(n),
            Type::Array(inner) | Type::Map(inner) => names(inner, out),
            _ => {}
        }
    }
    let mut stack = Vec::new();
    for op in &api.operations {
        op.params.iter().for_each(|p| names(&p.schema, &mut stack));
        if let Some(body) = &op.body {
            names(&body.schema, &mut stack);
        }
        for r in &op.responses {
            if let Some((_, schema)) = &r.content {
                names(schema, &mut stack);
            }
            r.headers.iter().for_each(|h| names(&h.schema, &mut stack));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    while let Some(name) = stack.pop() {
        if !seen.insert(name) {
            continue;
        }
        match api.schemas.iter().find(|s| s.name == name).map(|s| &s.kind) {
            Some(SchemaKind::Object(o)) => {
                o.fields.iter().for_each(|f| names(&f.schema, &mut stack));
                stack.extend(o.union.as_deref());
                if let Some(values) = &o.additional {
                    names(values, &mut stack);
                }
            }
            Some(SchemaKind::Union(u)) => {
                stack.extend(u.variants.iter().map(|v| v.schema.as_str()))
            }
            Some(SchemaKind::Alias(inner)) => names(inner, &mut stack),
            Some(SchemaKind::StringEnum(_) | SchemaKind::IntEnum(_)) | None => {}
        }
    }
    seen
}

fn facts(api: &Api) -> Facts {
    let mut f = Facts::new();
    let reachable = reachable(api);
    // poem-openapi lists the schemes operations use, and no other.
    for scheme in &api.security_schemes {
        let used = api.operations.iter().any(
            |op| matches!(&op.security, Security::Bearer { scheme: s, .. } | Security::ApiKey { scheme: s } if s == &scheme.name),
        );
        if used {
            f.insert(
                format!("/components/securitySchemes/{}", escape(&scheme.name)),
                format!("{:?}", scheme.kind),
            );
        }
    }
    for schema in &api.schemas {
        if !reachable.contains(schema.name.as_str()) {
            continue;
        }
        let at = format!("/components/schemas/{}", schema.name);
        match &schema.kind {
            SchemaKind::Object(object) => {
                for field in &object.fields {
                    let p = format!("{at}/properties/{}", escape(&field.json_name));
                    f.insert(format!("{p}/required"), field.required.to_string());
                    schema_facts(api, &mut f, &p, &field.schema);
                }
                if let Some(values) = &object.additional {
                    schema_facts(api, &mut f, &format!("{at}/additionalProperties"), values);
                }
                if let Some(union) = &object.union {
                    f.insert(format!("{at}/union"), union.clone());
                }
            }
            SchemaKind::IntEnum(values) => {
                f.insert(format!("{at}/enum"), format!("{values:?}"));
            }
            SchemaKind::StringEnum(values) => {
                f.insert(format!("{at}/enum"), format!("{values:?}"));
            }
            SchemaKind::Union(union) => {
                let variants: Vec<String> = union
                    .variants
                    .iter()
                    .map(|v| match &v.tag {
                        Some(tag) => format!("{}={tag}", v.schema),
                        None => v.schema.clone(),
                    })
                    .collect();
                let keyword = if union.any_of { "anyOf" } else { "oneOf" };
                f.insert(format!("{at}/{keyword}"), format!("{variants:?}"));
                f.insert(
                    format!("{at}/discriminator"),
                    format!("{:?}", union.discriminator),
                );
            }
            // Compared where used (see `schema_facts`).
            SchemaKind::Alias(_) => {}
        }
    }
    for op in &api.operations {
        let at = format!("/paths/{}/{}", escape(&op.path), op.method.as_str());
        f.insert(format!("{at}/operationId"), op.id.clone());
        f.insert(format!("{at}/tags"), op.tag.clone());
        f.insert(
            format!("{at}/security"),
            match &op.security {
                Security::Public => "public".into(),
                Security::Bearer { scheme, scopes } => format!("{scheme} {scopes:?}"),
                Security::ApiKey { scheme } => format!("{scheme} (apiKey)"),
            },
        );
        for p in &op.params {
            let location = match p.location {
                Location::Path => "path",
                Location::Query => "query",
                Location::Header => "header",
                Location::Cookie => "cookie",
            };
            let name = if p.location == Location::Header {
                p.name.to_ascii_lowercase()
            } else {
                p.name.clone()
            };
            let pp = format!("{at}/parameters/{location}:{}", escape(&name));
            f.insert(format!("{pp}/required"), p.required.to_string());
            if p.is_array() || p.is_object() {
                f.insert(format!("{pp}/explode"), p.explode.to_string());
            }
            f.insert(format!("{pp}/style"), p.style.as_str().to_owned());
            schema_facts(api, &mut f, &format!("{pp}/schema"), &p.schema);
        }
        if let Some(body) = &op.body {
            f.insert(
                format!("{at}/requestBody/required"),
                body.required.to_string(),
            );
            for media in &body.media {
                let at = format!(
                    "{at}/requestBody/content/{}/schema",
                    escape(media.content_type())
                );
                if *media == BodyMedia::Xml {
                    // Bytes for the service: the media type is the fact.
                    f.insert(at, "bytes".into());
                } else {
                    schema_facts(api, &mut f, &at, &body.schema);
                }
            }
        }
        for r in &op.responses {
            let rp = format!("{at}/responses/{}", r.status);
            match &r.content {
                Some((media, schema)) => {
                    schema_facts(
                        api,
                        &mut f,
                        &format!("{rp}/content/{}/schema", escape(media)),
                        schema,
                    );
                    for media in &r.bytes_media {
                        let bytes = Schema {
                            ty: Type::String(StringFormat::Binary),
                            nullable: false,
                            rules: Rules::default(),
                            description: None,
                            default: None,
                        };
                        schema_facts(
                            api,
                            &mut f,
                            &format!("{rp}/content/{}/schema", escape(media)),
                            &bytes,
                        );
                    }
                }
                None => {
                    f.insert(format!("{rp}/content"), "none".into());
                }
            }
            for h in &r.headers {
                let hp = format!("{rp}/headers/{}", escape(&h.name.to_ascii_lowercase()));
                f.insert(format!("{hp}/required"), h.required.to_string());
                schema_facts(api, &mut f, &format!("{hp}/schema"), &h.schema);
            }
        }
    }
    f
}

/// A schema in a position: its type, nullability, default and every rule.
fn schema_facts(api: &Api, f: &mut Facts, at: &str, schema: &Schema) {
    if let Type::Named(name) = &schema.ty
        && let Some(SchemaKind::Alias(inner)) = api
            .schemas
            .iter()
            .find(|s| &s.name == name)
            .map(|s| &s.kind)
    {
        let mut resolved = inner.clone();
        resolved.nullable |= schema.nullable;
        return schema_facts(api, f, at, &resolved);
    }
    let ty = match &schema.ty {
        Type::Array(items) => {
            schema_facts(api, f, &format!("{at}/items"), items);
            "array".to_owned()
        }
        Type::Map(values) => {
            schema_facts(api, f, &format!("{at}/additionalProperties"), values);
            "map".to_owned()
        }
        other => format!("{other:?}"),
    };
    f.insert(format!("{at}/type"), ty);
    if schema.nullable {
        f.insert(format!("{at}/nullable"), "true".into());
    }
    if let Some(default) = &schema.default {
        f.insert(format!("{at}/default"), default.to_string());
    }
    let r = &schema.rules;
    let mut put = |key: &str, value: Option<String>| {
        if let Some(v) = value {
            f.insert(format!("{at}/{key}"), v);
        }
    };
    put("minLength", r.min_length.map(|v| v.to_string()));
    put("maxLength", r.max_length.map(|v| v.to_string()));
    put("pattern", r.pattern.clone());
    put("minimum", r.minimum.map(|b| format!("{b:?}")));
    put("maximum", r.maximum.map(|b| format!("{b:?}")));
    put("minItems", r.min_items.map(|v| v.to_string()));
    put("maxItems", r.max_items.map(|v| v.to_string()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(extra: &str) -> Value {
        serde_norway::from_str(&format!(
            r#"
openapi: 3.1.0
info: {{title: t, version: '1'}}
components:
  securitySchemes:
    bearer: {{type: http, scheme: bearer}}
  schemas:
    Thing:
      type: object
      required: [name]
      properties:
        name: {{type: string, maxLength: 20}}
paths:
  /things/{{id}}:
    get:
      operationId: getThing
      tags: [things]
      security: [{{bearer: [things:read]}}]
      parameters:
        - {{name: id, in: path, required: true, schema: {{type: string, format: uuid}}}}
      responses:
        '200':
          description: ok
          headers:
            ETag: {{required: true, schema: {{type: string}}}}
          content:
            application/json:
              schema: {{$ref: '#/components/schemas/Thing'}}
{extra}"#
        ))
        .unwrap()
    }

    #[test]
    fn the_same_document_in_another_notation_matches() {
        let contract = doc("");
        let mut served = contract.clone();
        served["openapi"] = "3.0.0".into();
        // poem-openapi's spellings: upper-case header names, a described `$ref`.
        let headers = served
            .pointer_mut("/paths/~1things~1{id}/get/responses/200/headers")
            .unwrap();
        let etag = headers.as_object_mut().unwrap().remove("ETag").unwrap();
        headers["ETAG"] = etag;
        served["paths"]["/things/{id}"]["get"]["responses"]["200"]["content"]["application/json"]
            ["schema"] = serde_json::json!({ "allOf": [{ "$ref": "#/components/schemas/Thing" }], "description": "ok" });
        assert_eq!(compare(&contract, &served).unwrap(), []);
    }

    #[test]
    fn a_planted_mismatch_is_named_by_pointer() {
        let contract = doc("");
        let mut served = contract.clone();
        served["components"]["schemas"]["Thing"]["properties"]["name"]["maxLength"] = 30.into();
        served["paths"]["/things/{id}"]["get"]["security"] = serde_json::json!([{ "bearer": [] }]);
        let found = compare(&contract, &served).unwrap();
        let text: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "#/components/schemas/Thing/properties/name/maxLength: the contract says 20, the server 30",
                "#/paths/~1things~1{id}/get/security: the contract says bearer [\"things:read\"], the server bearer []",
            ]
        );
    }

    #[test]
    fn a_parameter_style_the_server_leaves_out_is_reported() {
        let mut with_style = doc("");
        contract_param(&mut with_style);
        // The server documents the array but not its style (a missing
        // `#[oai(style = …)]`): it would read `form`'s commas.
        let mut served = with_style.clone();
        served["paths"]["/things/{id}"]["get"]["parameters"][1]
            .as_object_mut()
            .unwrap()
            .remove("style");
        let found = compare(&with_style, &served).unwrap();
        let text: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "#/paths/~1things~1{id}/get/parameters/query:years/style: the contract says pipeDelimited, the server form"
            ]
        );
        assert_eq!(compare(&with_style, &with_style.clone()).unwrap(), []);
    }

    /// Adds `?years=1|2` (`style: pipeDelimited`) to `getThing`.
    fn contract_param(document: &mut Value) {
        let params = document["paths"]["/things/{id}"]["get"]["parameters"]
            .as_array_mut()
            .unwrap();
        params.push(serde_json::json!({
            "name": "years", "in": "query", "style": "pipeDelimited", "explode": false,
            "schema": { "type": "array", "items": { "type": "integer" } }
        }));
    }

    #[test]
    fn what_only_one_side_declares_is_reported() {
        let contract = doc("");
        let mut served = contract.clone();
        served["paths"]["/things/{id}"]["get"]["responses"]["404"] =
            serde_json::json!({ "description": "missing" });
        let found = compare(&contract, &served).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].pointer,
            "/paths/~1things~1{id}/get/responses/404/content"
        );
        assert_eq!(found[0].contract, None);
    }
}
