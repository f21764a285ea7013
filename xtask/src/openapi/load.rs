//! Reads an OpenAPI 3.0 or 3.1 document into the [`model`](super::model).
//!
//! The walk visits every object it understands and checks its keys against the
//! list it handles; anything else stops the generator with the JSON pointer of
//! the keyword. Annotations that do not change generated code (`example`,
//! `deprecated`, `x-*`, ...) are accepted and skipped on purpose.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Value};

use super::model::*;
use super::names::{pascal_case, snake_case};

/// A contract the generator cannot handle, located by JSON pointer.
#[derive(Debug)]
pub struct ContractError {
    pub pointer: String,
    pub message: String,
}

impl fmt::Display for ContractError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}: {}", self.pointer, self.message)
    }
}

impl std::error::Error for ContractError {}

type Result<T> = std::result::Result<T, ContractError>;

/// Keywords that document a schema and never change the code generated for it,
/// and `readOnly`/`writeOnly`, which do but are read by the object holding the
/// property, so every schema position accepts them.
const SCHEMA_ANNOTATIONS: &[&str] = &[
    "title",
    "description",
    "example",
    "examples",
    "deprecated",
    "externalDocs",
    "$comment",
    "readOnly",
    "writeOnly",
    // How the schema reads as XML: only XML media types use it, and those are
    // refused where they appear.
    "xml",
];

pub fn load(document: &Value) -> Result<Api> {
    load_with(document, true)
}

/// `house_rules: false` relaxes what Keel asks of its own contracts and OpenAPI
/// does not: an operation without `security` is public, and operationIds need not
/// be camelCase. For contracts from elsewhere (`codegen --contract`) and for older
/// versions that `cargo xtask diff` compares against.
pub fn load_with(document: &Value, house_rules: bool) -> Result<Api> {
    let names = type_names(document);
    if names.is_empty() {
        return load_named(document, house_rules, BTreeMap::new());
    }
    // Schemas whose names are no Rust or TypeScript type name are read under
    // the type names they get, and errors are reported at the contract's names.
    let renamed = rename_schemas(document, &names);
    let contract_names = names
        .iter()
        .map(|(old, new)| (new.clone(), old.clone()))
        .collect::<BTreeMap<_, _>>();
    load_named(&renamed, house_rules, contract_names.clone()).map_err(|mut e| {
        e.pointer = contract_pointer(&e.pointer, &contract_names);
        e
    })
}

/// Whether a component schema's name is a type name as it stands: PascalCase
/// ASCII letters and digits.
fn is_type_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_alphanumeric())
}

/// The type name of every component schema whose name is not one already
/// (`object1` → `Object1`, `s3Import` → `S3Import`, `2fa` → `Schema2fa`):
/// PascalCase words, and, where that is taken by a schema named so or by an
/// earlier renamed one, a number from 2 (`PetTag2`). Names that are type names
/// keep them, and the others are renamed in document order, so the result
/// depends only on the contract.
fn type_names(document: &Value) -> Vec<(String, String)> {
    let Some(schemas) = document
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    else {
        return Vec::new();
    };
    let mut taken: BTreeSet<String> = schemas
        .keys()
        .filter(|n| is_type_name(n))
        .cloned()
        .collect();
    let mut renamed = Vec::new();
    for name in schemas.keys().filter(|n| !is_type_name(n)) {
        let mut base = pascal_case(name);
        if !base.starts_with(|c: char| c.is_ascii_uppercase()) {
            base.insert_str(0, "Schema");
        }
        let mut candidate = base.clone();
        let mut n = 2;
        while taken.contains(&candidate) {
            candidate = format!("{base}{n}");
            n += 1;
        }
        taken.insert(candidate.clone());
        renamed.push((name.clone(), candidate));
    }
    renamed
}

/// A copy of the document with the schemas renamed: the keys under
/// `components/schemas`, every `$ref` into them and every discriminator
/// mapping that names them (as a reference or a bare name).
fn rename_schemas(document: &Value, names: &[(String, String)]) -> Value {
    fn rename_ref(target: &str, names: &[(String, String)]) -> Option<String> {
        let rest = target.strip_prefix("#/components/schemas/")?;
        names.iter().find_map(|(old, new)| {
            let old = escape_pointer(old);
            let tail = rest.strip_prefix(old.as_str())?;
            (tail.is_empty() || tail.starts_with('/'))
                .then(|| format!("#/components/schemas/{}{tail}", escape_pointer(new)))
        })
    }
    fn walk(value: &mut Value, names: &[(String, String)]) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get_mut("$ref")
                    && let Some(new) = rename_ref(target, names)
                {
                    *target = new;
                }
                if let Some(Value::Object(mapping)) = map
                    .get_mut("discriminator")
                    .and_then(|d| d.get_mut("mapping"))
                {
                    for target in mapping.values_mut() {
                        if let Value::String(target) = target {
                            if let Some(new) = rename_ref(target, names) {
                                *target = new;
                            } else if let Some((_, new)) =
                                names.iter().find(|(old, _)| old == target)
                            {
                                *target = new.clone();
                            }
                        }
                    }
                }
                for child in map.values_mut() {
                    walk(child, names);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| walk(item, names)),
            _ => {}
        }
    }
    let mut document = document.clone();
    walk(&mut document, names);
    if let Some(Value::Object(schemas)) = document.pointer_mut("/components/schemas") {
        let renamed = std::mem::take(schemas)
            .into_iter()
            .map(|(name, schema)| {
                let name = names
                    .iter()
                    .find(|(old, _)| old == &name)
                    .map_or(name, |(_, new)| new.clone());
                (name, schema)
            })
            .collect();
        *schemas = renamed;
    }
    document
}

/// A pointer into the renamed document as a pointer into the contract.
fn contract_pointer(pointer: &str, contract_names: &BTreeMap<String, String>) -> String {
    let Some(rest) = pointer.strip_prefix("/components/schemas/") else {
        return pointer.to_owned();
    };
    let (name, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match contract_names.get(name) {
        Some(old) => format!("/components/schemas/{}{tail}", escape_pointer(old)),
        None => pointer.to_owned(),
    }
}

fn load_named(
    document: &Value,
    house_rules: bool,
    contract_names: BTreeMap<String, String>,
) -> Result<Api> {
    let root = Node::root(document);
    root.check_keys(&[
        "openapi",
        "info",
        "servers",
        "tags",
        "paths",
        "components",
        "externalDocs",
        "jsonSchemaDialect",
        "security",
    ])?;
    let version = root.req_str("openapi")?;
    if !(version.starts_with("3.0.") || version.starts_with("3.1.")) {
        return Err(root.child("openapi").unwrap().error(format!(
            "OpenAPI {version} is not supported; Keel reads 3.0.x and 3.1.x"
        )));
    }
    let mut loader = Loader {
        root: document,
        openapi_31: version.starts_with("3.1."),
        hoisted: BTreeMap::new(),
        component_objects: BTreeMap::new(),
        hoisted_from: BTreeMap::new(),
        in_progress: BTreeSet::new(),
        merging: BTreeSet::new(),
        bearer_schemes: BTreeSet::new(),
        api_key_schemes: BTreeSet::new(),
        oauth_scopes: BTreeMap::new(),
        house_rules,
        contract_names,
        default_security: if house_rules {
            None
        } else {
            Some(Security::Public)
        },
    };
    let mut security_schemes = Vec::new();
    if let Some(schemes) = root
        .child("components")
        .and_then(|c| c.child("securitySchemes"))
    {
        for (name, scheme) in schemes.entries()? {
            let kind = match scheme.opt_str("type")? {
                Some("oauth2") => {
                    scheme.check_keys(&["type", "flows", "description"])?;
                    let flows = oauth_flows(&scheme.req("flows")?)?;
                    let scopes = flows
                        .iter()
                        .flat_map(|f| f.scopes.iter().map(|(s, _)| s.clone()))
                        .collect();
                    loader.oauth_scopes.insert(name.to_owned(), scopes);
                    SchemeKind::OAuth2(flows)
                }
                Some("apiKey") => {
                    scheme.check_keys(&["type", "name", "in", "description"])?;
                    let location = match scheme.req_str("in")? {
                        "header" => Location::Header,
                        "query" => Location::Query,
                        "cookie" => Location::Cookie,
                        other => {
                            return Err(scheme.child("in").unwrap().error(format!(
                                "an `apiKey` is `in: header`, `query` or `cookie`, not `{other}`"
                            )));
                        }
                    };
                    loader.api_key_schemes.insert(name.to_owned());
                    security_schemes.push(SecurityScheme {
                        name: name.to_owned(),
                        kind: SchemeKind::ApiKey {
                            name: scheme.req_str("name")?.to_owned(),
                            location,
                        },
                    });
                    continue;
                }
                Some("http")
                    if scheme
                        .opt_str("scheme")?
                        .is_some_and(|s| s.eq_ignore_ascii_case("bearer")) =>
                {
                    scheme.check_keys(&["type", "scheme", "bearerFormat", "description"])?;
                    SchemeKind::Bearer
                }
                _ => {
                    return Err(scheme.error(format!("security scheme `{name}` is not supported yet: only `type: http, scheme: bearer`, `type: oauth2` and `type: apiKey`")));
                }
            };
            loader.bearer_schemes.insert(name.to_owned());
            security_schemes.push(SecurityScheme {
                name: name.to_owned(),
                kind,
            });
        }
    }
    if let Some(security) = root.child("security") {
        loader.default_security = Some(loader.security(&security)?);
    }

    let info = root.req("info")?;
    let title = info.req_str("title")?.to_owned();
    let api_version = info.req_str("version")?.to_owned();

    let mut tags = Vec::new();
    if let Some(list) = root.child("tags") {
        for tag in list.items()? {
            tag.check_keys(&["name", "description", "externalDocs"])?;
            tags.push(Tag {
                name: tag.req_str("name")?.to_owned(),
                description: tag.opt_str("description")?.map(str::to_owned),
            });
        }
    }

    let mut schemas = Vec::new();
    let mut events = Vec::new();
    if let Some(components) = root.child("components") {
        components.check_keys(&[
            "schemas",
            "parameters",
            "responses",
            "headers",
            "requestBodies",
            "securitySchemes",
            "examples",
            "links",
        ])?;
        if let Some(defs) = components.child("schemas") {
            for (name, schema) in defs.entries()? {
                let kind = loader.named_kind(&schema, name)?;
                if let SchemaKind::Object(object) = &kind {
                    loader
                        .component_objects
                        .insert(name.to_owned(), object.clone());
                }
                if let Some(marker) = schema.child("x-keel-event") {
                    events.push(event(&marker, name, &kind, &events)?);
                }
                schemas.push(NamedSchema {
                    name: name.to_owned(),
                    description: schema.opt_str("description")?.map(str::to_owned),
                    kind,
                });
            }
        }
    }

    let mut operations = Vec::new();
    let paths = root.req("paths")?;
    for (path, item) in paths.entries()? {
        if !path.starts_with('/') {
            return Err(item.error(format!("path `{path}` must start with `/`")));
        }
        item.check_keys(&[
            "summary",
            "description",
            "parameters",
            "servers",
            "get",
            "put",
            "post",
            "delete",
            "patch",
        ])?;
        let shared = match item.child("parameters") {
            Some(list) => list
                .items()?
                .into_iter()
                .map(|p| loader.parameter(&p, ""))
                .collect::<Result<Vec<_>>>()?,
            None => Vec::new(),
        };
        for method in Method::ALL {
            if let Some(op) = item.child(method.as_str()) {
                operations.push(loader.operation(&op, method, path, &shared)?);
            }
        }
    }

    let mut seen = BTreeSet::new();
    for op in &operations {
        if !seen.insert(op.id.as_str()) {
            return Err(ContractError {
                pointer: "/paths".into(),
                message: format!("operationId `{}` is used twice", op.id),
            });
        }
        if !tags.iter().any(|t| t.name == op.tag) {
            tags.push(Tag {
                name: op.tag.clone(),
                description: None,
            });
        }
    }
    tags.retain(|t| operations.iter().any(|op| op.tag == t.name));
    for (i, tag) in tags.iter().enumerate() {
        let name = tag_type_name(&tag.name);
        if let Some(earlier) = tags[..i].iter().find(|t| tag_type_name(&t.name) == name) {
            let op = operations.iter().find(|op| op.tag == tag.name).unwrap();
            return Err(ContractError {
                pointer: format!(
                    "/paths/{}/{}/tags",
                    escape_pointer(&op.path),
                    op.method.as_str()
                ),
                message: format!(
                    "tags `{}` and `{}` would both name the Rust module `{}` and trait `{}Api`; rename one",
                    earlier.name,
                    tag.name,
                    snake_case(&tag.name),
                    name.unwrap_or_default()
                ),
            });
        }
    }

    for (name, kind) in std::mem::take(&mut loader.hoisted) {
        if schemas.iter().any(|s| s.name == name) {
            return Err(ContractError {
                pointer: "/components/schemas".into(),
                message: format!(
                    "the inline schema named `{name}` clashes with a component schema of that name"
                ),
            });
        }
        schemas.push(NamedSchema {
            name,
            description: kind.1,
            kind: kind.0,
        });
    }
    check_discriminators(&schemas, &loader.hoisted_from)?;
    check_flattened(&schemas, &loader.hoisted_from)?;
    split_read_write(&mut schemas, &mut operations)?;
    check_files(document, &schemas, &operations, &loader.hoisted_from)?;
    schemas.sort_by(|a, b| a.name.cmp(&b.name));
    events.sort_by(|a, b| (&a.name, a.version).cmp(&(&b.name, b.version)));

    Ok(Api {
        title,
        version: api_version,
        tags,
        schemas,
        operations,
        events,
        security_schemes,
    })
}

/// `x-keel-event: {name: user.registered, version: 1}` on an object schema.
/// Names are dotted lower-case words, so that `{name}.v{version}` is a routing
/// key a topic binding can match word by word.
fn event(marker: &Node<'_>, schema: &str, kind: &SchemaKind, seen: &[Event]) -> Result<Event> {
    marker.check_keys(&["name", "version"])?;
    let name = marker.req_str("name")?;
    let well_formed = name.split('.').count() >= 2
        && name.split('.').all(|word| {
            word.starts_with(|c: char| c.is_ascii_lowercase())
                && word
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        });
    if !well_formed {
        return Err(marker.error(format!(
            "event name `{name}` must be dotted lower-case words, such as `user.registered`"
        )));
    }
    let version = marker
        .req("version")?
        .value
        .as_u64()
        .and_then(|v| u32::try_from(v).ok())
        .filter(|v| *v >= 1)
        .ok_or_else(|| marker.error("`version` must be a whole number from 1".into()))?;
    if !matches!(kind, SchemaKind::Object(_)) {
        return Err(marker.error(format!(
            "the payload of event `{name}` must be an object schema"
        )));
    }
    if seen.iter().any(|e| e.name == name && e.version == version) {
        return Err(marker.error(format!(
            "event `{name}` version {version} is declared twice"
        )));
    }
    Ok(Event {
        name: name.to_owned(),
        version,
        schema: schema.to_owned(),
    })
}

/// An `oauth2` scheme's `flows`: each with the URLs its kind requires.
fn oauth_flows(node: &Node) -> Result<Vec<OAuthFlow>> {
    node.check_keys(&SchemeKind::FLOWS)?;
    let mut flows = Vec::new();
    for kind in SchemeKind::FLOWS {
        let Some(flow) = node.child(kind) else {
            continue;
        };
        flow.check_keys(&["authorizationUrl", "tokenUrl", "refreshUrl", "scopes"])?;
        let url = |key: &str, required: bool| -> Result<Option<String>> {
            if required {
                flow.req_str(key).map(|u| Some(u.to_owned()))
            } else {
                flow.opt_str(key).map(|u| u.map(str::to_owned))
            }
        };
        let mut scopes = Vec::new();
        for (scope, description) in flow.req("scopes")?.entries()? {
            scopes.push((scope.to_owned(), description.as_str()?.to_owned()));
        }
        flows.push(OAuthFlow {
            kind,
            authorization_url: url(
                "authorizationUrl",
                matches!(kind, "implicit" | "authorizationCode"),
            )?,
            token_url: url("tokenUrl", kind != "implicit")?,
            refresh_url: url("refreshUrl", false)?,
            scopes,
        });
    }
    if flows.is_empty() {
        return Err(node.error("an `oauth2` scheme needs at least one flow".into()));
    }
    Ok(flows)
}

/// Every variant of a discriminated union must be able to carry the
/// discriminator: OpenAPI makes the property required for the union's purpose
/// whether or not the variant lists it (or declares it at all), and the union
/// writes it where the variant does not hold it (ADR 21). A variant that
/// declares no such property and refuses unknown ones (`additionalProperties:
/// false`) can never be valid with it, so it is refused. Checked once every
/// schema is loaded, because a variant's properties may come from `allOf` parts.
fn check_discriminators(
    schemas: &[NamedSchema],
    hoisted_from: &BTreeMap<String, String>,
) -> Result<()> {
    for schema in schemas {
        let SchemaKind::Union(UnionSchema {
            variants,
            discriminator: Some(property),
            ..
        }) = &schema.kind
        else {
            continue;
        };
        for variant in variants {
            let closed = schemas.iter().any(|s| {
                s.name == variant.schema
                    && matches!(&s.kind, SchemaKind::Object(o) if o.deny_unknown && !o.fields.iter().any(|f| &f.json_name == property))
            });
            if closed {
                let at = hoisted_from
                    .get(&schema.name)
                    .cloned()
                    .unwrap_or_else(|| format!("/components/schemas/{}", schema.name));
                return Err(ContractError {
                    pointer: format!("{at}/discriminator"),
                    message: format!(
                        "variant `{}` has no property `{property}` and `additionalProperties: false`, so no value of it can carry the discriminator `{property}`; declare the property in it",
                        variant.schema
                    ),
                });
            }
        }
    }
    Ok(())
}

/// An object with `oneOf`/`anyOf` beside its properties reads its own
/// properties and hands the others to the union (serde's `flatten`): a
/// property both declare would reach only the object, so it is refused.
fn check_flattened(schemas: &[NamedSchema], hoisted_from: &BTreeMap<String, String>) -> Result<()> {
    let object = |name: &str| {
        schemas.iter().find_map(|s| match &s.kind {
            SchemaKind::Object(o) if s.name == name => Some(o),
            _ => None,
        })
    };
    for schema in schemas {
        let SchemaKind::Object(ObjectSchema {
            fields,
            union: Some(union),
            ..
        }) = &schema.kind
        else {
            continue;
        };
        let Some(SchemaKind::Union(u)) = schemas.iter().find(|s| &s.name == union).map(|s| &s.kind)
        else {
            continue;
        };
        for variant in &u.variants {
            let Some(shared) = object(&variant.schema).and_then(|o| {
                fields
                    .iter()
                    .find(|f| o.fields.iter().any(|g| g.json_name == f.json_name))
            }) else {
                continue;
            };
            let at = hoisted_from
                .get(&schema.name)
                .cloned()
                .unwrap_or_else(|| format!("/components/schemas/{}", schema.name));
            return Err(ContractError {
                pointer: format!("{at}/properties/{}", escape_pointer(&shared.json_name)),
                message: format!(
                    "`{}` is declared beside `oneOf`/`anyOf` and by its variant `{}`; declare it in one place",
                    shared.json_name, variant.schema
                ),
            });
        }
    }
    Ok(())
}

/// Files (`format: binary`) are bytes, which JSON, forms, parameters and
/// headers cannot carry: a file may only be a property of an object sent as
/// `multipart/form-data` (or an array of files there), and such an object only
/// that. A multipart object's other properties must be something a part can
/// hold: scalars, enums, objects (as JSON parts) and arrays of these.
fn check_files(
    document: &Value,
    schemas: &[NamedSchema],
    operations: &[Operation],
    hoisted_from: &BTreeMap<String, String>,
) -> Result<()> {
    let with_files: BTreeSet<&str> = schemas
        .iter()
        .filter(|s| matches!(&s.kind, SchemaKind::Object(o) if o.has_files()))
        .map(|s| s.name.as_str())
        .collect();
    fn leaks(schema: &Schema, with_files: &BTreeSet<&str>) -> bool {
        match &schema.ty {
            Type::String(StringFormat::Binary) => true,
            Type::Named(name) => with_files.contains(name.as_str()),
            Type::Array(inner) | Type::Map(inner) => leaks(inner, with_files),
            _ => false,
        }
    }
    const ONLY_MULTIPART: &str = "a file (`format: binary`) can only be a property of a `multipart/form-data` request body (or an array of files there), a whole `application/octet-stream` body or a whole response body of a non-JSON type, and an object with files only a multipart body";
    let schema_at = |name: &str| {
        hoisted_from
            .get(name)
            .cloned()
            .unwrap_or_else(|| format!("/components/schemas/{name}"))
    };
    for schema in schemas {
        let leaked = match &schema.kind {
            SchemaKind::Object(o) => o
                .fields
                .iter()
                .find(|f| !f.schema.is_file() && leaks(&f.schema, &with_files))
                .map(|f| format!("/properties/{}", escape_pointer(&f.json_name))),
            SchemaKind::Union(u) => u
                .variants
                .iter()
                .any(|v| with_files.contains(v.schema.as_str()))
                .then(String::new),
            SchemaKind::Alias(inner) => leaks(inner, &with_files).then(String::new),
            SchemaKind::StringEnum(_) | SchemaKind::IntEnum(_) => None,
        };
        if let Some(rest) = leaked {
            return Err(ContractError {
                pointer: format!("{}{rest}", schema_at(&schema.name)),
                message: ONLY_MULTIPART.into(),
            });
        }
    }
    let by_name = |name: &str| schemas.iter().find(|s| s.name == name).map(|s| &s.kind);
    for op in operations {
        let at = format!("/paths/{}/{}", escape_pointer(&op.path), op.method.as_str());
        let error = |rest: &str, message: String| ContractError {
            pointer: format!("{at}{rest}"),
            message,
        };
        if let Some(p) = op.params.iter().find(|p| leaks(&p.schema, &with_files)) {
            return Err(error(
                "/parameters",
                format!("parameter `{}`: {ONLY_MULTIPART}", p.name),
            ));
        }
        for r in &op.responses {
            let body = r
                .content
                .as_ref()
                .is_some_and(|(_, s)| !s.is_bytes() && leaks(s, &with_files));
            if body || r.headers.iter().any(|h| leaks(&h.schema, &with_files)) {
                return Err(error(
                    &format!("/responses/{}", r.status),
                    ONLY_MULTIPART.into(),
                ));
            }
        }
        let Some(body) = &op.body else {
            continue;
        };
        let multipart = body.media.contains(&BodyMedia::Multipart);
        if (multipart || body.media.contains(&BodyMedia::Form))
            && let Type::Named(name) = &body.schema.ty
            && let Some(SchemaKind::Object(ObjectSchema { union: Some(_), .. })) = by_name(name)
        {
            return Err(error(
                "/requestBody/content",
                format!(
                    "`{name}` has `oneOf`/`anyOf` beside its properties, which only a JSON body can carry (a form or multipart part is one property)"
                ),
            ));
        }
        let allowed = [[BodyMedia::Multipart], [BodyMedia::Binary]];
        if leaks(&body.schema, &with_files) && !allowed.iter().any(|a| body.media == *a) {
            return Err(error("/requestBody/content", ONLY_MULTIPART.into()));
        }
        if !multipart {
            continue;
        }
        let at = "/requestBody/content/multipart~1form-data";
        let object = match &body.schema.ty {
            Type::Named(name) => match by_name(name) {
                Some(SchemaKind::Object(object)) => object,
                _ => {
                    return Err(error(
                        at,
                        "a `multipart/form-data` body must be an object schema (one part per property)".into(),
                    ));
                }
            },
            _ => unreachable!("request bodies are named schemas"),
        };
        if object.additional.is_some() {
            return Err(error(
                at,
                "a `multipart/form-data` body cannot have `additionalProperties`: each part must be a declared property".into(),
            ));
        }
        for field in &object.fields {
            let part = match &field.schema.ty {
                Type::Array(items) => items,
                _ => &field.schema,
            };
            let fits = match &part.ty {
                Type::String(_) | Type::Integer(_) | Type::Number(_) | Type::Boolean => true,
                Type::Named(name) => matches!(
                    by_name(name),
                    Some(
                        SchemaKind::Object(_) | SchemaKind::StringEnum(_) | SchemaKind::IntEnum(_)
                    )
                ),
                Type::Array(_) | Type::Map(_) | Type::Any => false,
            };
            if !fits || field.schema.nullable || part.nullable {
                return Err(error(
                    at,
                    format!(
                        "multipart property `{}` must be a file, a scalar, an enum or an object (sent as a JSON part), or an array of one of these, and not nullable: a part is sent or not",
                        field.json_name
                    ),
                ));
            }
        }
        let op_at = format!("/paths/{}/{}", escape_pointer(&op.path), op.method.as_str());
        check_encoding(document, &op_at, object, by_name)?;
    }
    Ok(())
}

/// A multipart body's `encoding` (at the operation `op`), per part: the
/// property must exist, and only `contentType` is taken, when it names the
/// media type Keel sends and reads that part as anyway (`text/plain` for a
/// scalar or enum, `application/json` for an object, `application/octet-stream`
/// for a file; an array's items decide). Any other type would be a promise the
/// generated code does not keep (a file's allowed types, a scalar as JSON), and
/// `headers`, `style`, `explode` and `allowReserved` are refused at their key.
fn check_encoding<'k>(
    document: &Value,
    op: &str,
    object: &ObjectSchema,
    by_name: impl Fn(&str) -> Option<&'k SchemaKind>,
) -> Result<()> {
    let mut body_at = format!("{op}/requestBody");
    while let Some(target) = document
        .pointer(&body_at)
        .and_then(|b| b.get("$ref"))
        .and_then(Value::as_str)
    {
        body_at = target.trim_start_matches('#').to_owned();
    }
    let at = format!("{body_at}/content/multipart~1form-data/encoding");
    let Some(encoding) = document.pointer(&at) else {
        return Ok(());
    };
    let error = |rest: String, message: String| ContractError {
        pointer: format!("{at}{rest}"),
        message,
    };
    let Some(entries) = encoding.as_object() else {
        return Err(error(
            String::new(),
            "`encoding` must be an object: property name → Encoding Object".into(),
        ));
    };
    for (property, entry) in entries {
        let here = format!("/{}", escape_pointer(property));
        let Some(field) = object.fields.iter().find(|f| &f.json_name == property) else {
            return Err(error(
                here,
                format!(
                    "`encoding` names `{property}`, which is not a property of the body's schema (each key must be one)"
                ),
            ));
        };
        let Some(keys) = entry.as_object() else {
            return Err(error(here, "an Encoding Object must be an object".into()));
        };
        for (key, value) in keys {
            let key_at = format!("{here}/{}", escape_pointer(key));
            match key.as_str() {
                "contentType" => {
                    let part = match &field.schema.ty {
                        Type::Array(items) => items,
                        _ => &field.schema,
                    };
                    let sent = match &part.ty {
                        Type::String(StringFormat::Binary) => "application/octet-stream",
                        Type::Named(name)
                            if matches!(by_name(name), Some(SchemaKind::Object(_))) =>
                        {
                            "application/json"
                        }
                        _ => "text/plain",
                    };
                    let declared = value.as_str().unwrap_or_default();
                    if !declared.trim().eq_ignore_ascii_case(sent) {
                        return Err(error(
                            key_at,
                            format!(
                                "part `{property}` is sent and read as `{sent}`; another `contentType` (`{declared}`) is not supported yet (for a file it would restrict the types the server accepts, which the generated code does not check)"
                            ),
                        ));
                    }
                }
                "headers" => {
                    return Err(error(
                        key_at,
                        format!(
                            "headers of a multipart part (`{property}`) are not supported yet: the generated code neither sends nor reads them"
                        ),
                    ));
                }
                "style" | "explode" | "allowReserved" => {
                    return Err(error(
                        key_at,
                        format!(
                            "`{key}` in a multipart `encoding` is not supported: OpenAPI 3.0 ignores it outside `application/x-www-form-urlencoded`, and Keel sends a multipart body one way (an array as a part per item, an object as a JSON part); leave it out"
                        ),
                    ));
                }
                _ => {
                    return Err(error(key_at, format!("`{key}` is not supported here yet")));
                }
            }
        }
    }
    Ok(())
}

/// `application/xml`, `text/xml` or a `+xml` type: Keel has no XML codec, so
/// such a body is bytes whatever its schema says.
fn is_xml(media: &str) -> bool {
    media == "application/xml" || media == "text/xml" || media.ends_with("+xml")
}

/// `type: string, format: binary`.
fn bytes_schema() -> Schema {
    Schema {
        ty: Type::String(StringFormat::Binary),
        nullable: false,
        rules: Rules::default(),
        description: None,
        default: None,
    }
}

fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Gives every schema with `readOnly` or `writeOnly` properties (and every
/// schema that contains one) two shapes: `Name`, what the server sends (no
/// write-only properties), and `NameInput`, what clients send (no read-only
/// ones). Request bodies use the input shapes. Generators then need no notion of
/// read- or write-only at all.
fn split_read_write(schemas: &mut Vec<NamedSchema>, operations: &mut [Operation]) -> Result<()> {
    fn references(kind: &SchemaKind) -> Vec<&str> {
        match kind {
            SchemaKind::Alias(inner) => match &inner.ty {
                Type::Named(n) => vec![n.as_str()],
                Type::Array(items) => match &items.ty {
                    Type::Named(n) => vec![n.as_str()],
                    _ => Vec::new(),
                },
                _ => Vec::new(),
            },
            SchemaKind::Object(o) => o
                .fields
                .iter()
                .filter_map(|f| match &f.schema.ty {
                    Type::Named(n) => Some(n.as_str()),
                    Type::Array(items) => match &items.ty {
                        Type::Named(n) => Some(n.as_str()),
                        _ => None,
                    },
                    _ => None,
                })
                .chain(o.union.as_deref())
                .collect(),
            SchemaKind::Union(u) => u.variants.iter().map(|v| v.schema.as_str()).collect(),
            SchemaKind::StringEnum(_) | SchemaKind::IntEnum(_) => Vec::new(),
        }
    }
    fn rename(schema: &mut Schema, split: &BTreeSet<String>) {
        match &mut schema.ty {
            Type::Named(n) if split.contains(n.as_str()) => n.push_str("Input"),
            Type::Array(items) | Type::Map(items) => rename(items, split),
            _ => {}
        }
    }

    let mut split: BTreeSet<String> = schemas
        .iter()
        .filter(|s| matches!(&s.kind, SchemaKind::Object(o) if o.fields.iter().any(|f| f.read_only || f.write_only)))
        .map(|s| s.name.clone())
        .collect();
    loop {
        let before = split.len();
        for schema in schemas.iter() {
            if references(&schema.kind).iter().any(|r| split.contains(*r)) {
                split.insert(schema.name.clone());
            }
        }
        if split.len() == before {
            break;
        }
    }
    if split.is_empty() {
        return Ok(());
    }
    let mut inputs = Vec::new();
    for schema in schemas.iter_mut().filter(|s| split.contains(&s.name)) {
        let input_name = format!("{}Input", schema.name);
        let mut kind = schema.kind.clone();
        match &mut kind {
            SchemaKind::Alias(inner) => rename(inner, &split),
            SchemaKind::Object(o) => {
                o.fields.retain(|f| !f.read_only);
                for field in &mut o.fields {
                    rename(&mut field.schema, &split);
                    field.write_only = false;
                }
                if let Some(union) = &mut o.union
                    && split.contains(union.as_str())
                {
                    union.push_str("Input");
                }
            }
            SchemaKind::Union(u) => {
                for v in &mut u.variants {
                    if split.contains(&v.schema) {
                        v.schema.push_str("Input");
                    }
                }
            }
            SchemaKind::StringEnum(_) | SchemaKind::IntEnum(_) => {}
        }
        if let SchemaKind::Object(o) = &mut schema.kind {
            o.fields.retain(|f| !f.write_only);
            for field in &mut o.fields {
                field.read_only = false;
            }
        }
        let description = Some(format!(
            "{}The request shape of `{}`: without its read-only properties.",
            schema
                .description
                .as_deref()
                .map(|d| format!("{}\n\n", d.trim_end()))
                .unwrap_or_default(),
            schema.name
        ));
        inputs.push(NamedSchema {
            name: input_name,
            description,
            kind,
        });
    }
    for input in inputs {
        if schemas.iter().any(|s| s.name == input.name) {
            return Err(ContractError {
                pointer: format!("/components/schemas/{}", input.name),
                message: format!(
                    "`{}` is taken: it names the request shape of a schema with read-only properties",
                    input.name
                ),
            });
        }
        schemas.push(input);
    }
    for op in operations.iter_mut() {
        if let Some(body) = &mut op.body {
            rename(&mut body.schema, &split);
        }
    }
    Ok(())
}

struct Loader<'a> {
    root: &'a Value,
    house_rules: bool,
    /// `openapi: 3.1.x`, where an operation may leave out `responses`.
    openapi_31: bool,
    /// The contract's name of each schema that was renamed to a type name
    /// (type name → contract name): a discriminator tells such a variant by
    /// the contract's name.
    contract_names: BTreeMap<String, String>,
    /// Names of the `http`/`bearer` security schemes.
    bearer_schemes: BTreeSet<String>,
    /// Names of the `apiKey` schemes.
    api_key_schemes: BTreeSet<String>,
    /// The scopes each `oauth2` scheme declares: requirements may name no other.
    oauth_scopes: BTreeMap<String, BTreeSet<String>>,
    /// The document's top-level `security`, for operations without their own.
    default_security: Option<Security>,
    /// Inline object and enum schemas, named after where they appear.
    hoisted: BTreeMap<String, (SchemaKind, Option<String>)>,
    /// Component object schemas, for object parameters to read their properties.
    component_objects: BTreeMap<String, ObjectSchema>,
    /// The JSON pointer each hoisted schema came from: `allOf` reads a component's
    /// properties once for the component and once per schema that extends it.
    hoisted_from: BTreeMap<String, String>,
    in_progress: BTreeSet<String>,
    /// The `allOf` parts being merged, to stop on a cycle.
    merging: BTreeSet<String>,
}

impl<'a> Loader<'a> {
    /// Follows a local `$ref` (to parameters, responses, headers, request bodies).
    fn deref(&self, node: &Node<'a>) -> Result<Node<'a>> {
        let Some(target) = node.opt_str("$ref")? else {
            return Ok(node.clone());
        };
        let Some(pointer) = target.strip_prefix('#') else {
            return Err(node.child("$ref").unwrap().error(format!(
                "`$ref: {target}` points outside this document; only local references (`#/...`) are supported"
            )));
        };
        let value = self.root.pointer(pointer).ok_or_else(|| {
            node.child("$ref")
                .unwrap()
                .error(format!("`$ref: {target}` points at nothing"))
        })?;
        let resolved = Node {
            value,
            pointer: pointer.to_owned(),
        };
        if resolved.opt_str("$ref")?.is_some() {
            self.deref(&resolved)
        } else {
            Ok(resolved)
        }
    }

    fn operation(
        &mut self,
        node: &Node<'a>,
        method: Method,
        path: &str,
        shared: &[Param],
    ) -> Result<Operation> {
        node.check_keys(&[
            "operationId",
            "tags",
            "summary",
            "description",
            "parameters",
            "requestBody",
            "responses",
            "deprecated",
            "externalDocs",
            "servers",
            "security",
        ])?;
        // Contracts from elsewhere may leave operations unnamed: name them after
        // the method and path (`get /pets/{petId}` → `getPetsByPetId`).
        let id = match node.opt_str("operationId")? {
            Some(id) => id.to_owned(),
            None if !self.house_rules => derived_operation_id(method, path),
            None => node.req_str("operationId")?.to_owned(),
        };
        let camel = id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && id.chars().all(|c| c.is_ascii_alphanumeric());
        let usable = id.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !(camel || (!self.house_rules && usable)) {
            return Err(node
                .child("operationId")
                .unwrap()
                .error(format!("operationId `{id}` must be camelCase ASCII")));
        }
        // Keel's own contracts give each operation exactly one tag; others get
        // their first tag, or `default`.
        let tag_node = match node.child("tags") {
            Some(tags) => tags,
            None if !self.house_rules => node.clone(),
            None => node.req("tags")?,
        };
        let tags = if tag_node.pointer == node.pointer {
            Vec::new()
        } else {
            tag_node.items()?
        };
        let tag = match tags.as_slice() {
            [tag] => tag.as_str()?.to_owned(),
            [] if !self.house_rules => "default".to_owned(),
            [first, ..] if !self.house_rules => first.as_str()?.to_owned(),
            _ => {
                return Err(tag_node.error(format!(
                    "operation `{id}` has {} tags; Keel generates one trait per tag, so give it exactly one",
                    tags.len()
                )));
            }
        };
        // A tag names a Rust module and trait (`snake_case`/`PascalCase` of
        // its words). Keel's own contracts write it as lower-case words;
        // others may write any text with a word in it
        // (`multipart/form-data Encoding` → `multipart_form_data_encoding`,
        // `MultipartFormDataEncoding`); `load_named` refuses two tags that
        // would share a name.
        let words_ok = if self.house_rules {
            tag.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && tag
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        } else {
            tag_type_name(&tag).is_some()
        };
        if !words_ok {
            return Err(tag_node.error(if self.house_rules {
                format!(
                    "tag `{tag}` must be lower-case ASCII words (it names a Rust module and trait)"
                )
            } else {
                format!(
                    "tag `{tag}` names a Rust module and trait (its words in `snake_case` and `PascalCase`), so it must be ASCII text whose first word starts with a letter"
                )
            }));
        }

        let mut params: Vec<Param> = shared.to_vec();
        if let Some(list) = node.child("parameters") {
            for p in list.items()? {
                let param = self.parameter(&p, &pascal_case(&id))?;
                params.retain(|q| !(q.name == param.name && q.location == param.location));
                params.push(param);
            }
        }
        // An exploded `form` query object sends its properties as query
        // parameters of their own: none may share a name with another query
        // parameter of the operation (nor another such object's property).
        let mut query_names: BTreeMap<&str, &str> = BTreeMap::new();
        for p in params.iter().filter(|p| p.location == Location::Query) {
            let names: Vec<&str> = match &p.object {
                Some(fields) if p.explode && p.style == Style::Form => {
                    fields.iter().map(|f| f.json_name.as_str()).collect()
                }
                _ => vec![p.name.as_str()],
            };
            for sent in names {
                if let Some(earlier) = query_names.insert(sent, p.name.as_str()) {
                    let position = node
                        .child("parameters")
                        .and_then(|list| list.items().ok())
                        .and_then(|items| {
                            items.into_iter().find(|item| {
                                self.deref(item)
                                    .ok()
                                    .and_then(|d| {
                                        d.opt_str("name").ok().flatten().map(str::to_owned)
                                    })
                                    .is_some_and(|n| n == p.name)
                            })
                        });
                    let message = format!(
                        "query parameter `{sent}` would be sent twice: by `{earlier}` and by `{}` (an exploded `form` object sends each property as a query parameter of its own); rename one, or give the object `style: deepObject` (`name[property]=value`) or `explode: false`",
                        p.name
                    );
                    return Err(match position {
                        Some(item) => item.error(message),
                        None => node.error(message),
                    });
                }
            }
        }
        let declared: Vec<&str> = path_variables(path);
        for var in &declared {
            if !params
                .iter()
                .any(|p| p.location == Location::Path && p.name == *var)
            {
                return Err(node.error(format!(
                    "path variable `{{{var}}}` of `{path}` has no `in: path` parameter"
                )));
            }
        }
        if let Some(p) = params
            .iter()
            .find(|p| p.location == Location::Path && !declared.contains(&p.name.as_str()))
        {
            return Err(node.error(format!(
                "path parameter `{}` does not appear in `{path}`",
                p.name
            )));
        }

        let body = match node.child("requestBody") {
            Some(b) => Some(self.request_body(&b, &id)?),
            None => None,
        };

        let mut responses = Vec::new();
        // OpenAPI 3.1 lets an operation leave out `responses` (3.0 requires
        // it): nothing is said about what it answers, which is what a `default`
        // response without `content` says (any status, no body the generated
        // code reads). Keel's own contracts declare their responses.
        if node.child("responses").is_none() && self.openapi_31 && !self.house_rules {
            responses.push(Response {
                status: Status::Default,
                description: UNDECLARED_RESPONSES.to_owned(),
                content: None,
                bytes_media: Vec::new(),
                headers: Vec::new(),
                example: None,
            });
        }
        let declared_responses = match node.child("responses") {
            Some(list) => list.entries()?,
            None if !responses.is_empty() => Vec::new(),
            None => {
                return Err(node.error(if self.openapi_31 {
                    format!("operation `{id}` declares no `responses`: Keel's own contracts say what each operation answers")
                } else {
                    format!("operation `{id}` declares no `responses`, which OpenAPI 3.0 requires")
                }));
            }
        };
        for (status, response) in declared_responses {
            let code = match status.parse() {
                Ok(code) if (100..600).contains(&code) => Status::Code(code),
                _ if status == "default" => Status::Default,
                _ if status.len() == 3
                    && matches!(status.as_bytes()[0], b'1'..=b'5')
                    && status[1..].eq_ignore_ascii_case("xx") =>
                {
                    Status::Range(status.as_bytes()[0] - b'0')
                }
                _ => {
                    return Err(response.error(format!(
                        "response `{status}` is not a status: write a code (`200`), a range (`4XX`) or `default`"
                    )));
                }
            };
            responses.push(self.response(&response, code, &id)?);
        }
        if responses.is_empty() {
            return Err(node
                .req("responses")?
                .error("an operation must declare at least one response".into()));
        }
        responses.sort_by_key(|r| r.status);

        let security = match node.child("security") {
            Some(own) => self.security(&own)?,
            None => self.default_security.clone().ok_or_else(|| {
                node.error(format!(
                    "operation `{id}` declares no security and the document has no default: write `security: []` to make it public, or name the bearer scopes it needs"
                ))
            })?,
        };
        Ok(Operation {
            id,
            method,
            path: path.to_owned(),
            tag,
            summary: node.opt_str("summary")?.map(str::to_owned),
            description: node.opt_str("description")?.map(str::to_owned),
            params,
            body,
            responses,
            security,
        })
    }

    /// `prefix` names inline enums: the operation's name for its own parameters,
    /// the component's name for a `$ref`'d one.
    fn parameter(&mut self, node: &Node<'a>, prefix: &str) -> Result<Param> {
        let prefix = match node.opt_str("$ref")? {
            Some(target) => target.rsplit('/').next().unwrap_or(prefix).to_owned(),
            None => prefix.to_owned(),
        };
        let node = self.deref(node)?;
        node.check_keys(&[
            "name",
            "in",
            "required",
            "description",
            "schema",
            "deprecated",
            "example",
            "examples",
            "style",
            "explode",
            "allowEmptyValue",
        ])?;
        let name = node.req_str("name")?.to_owned();
        let location = match node.req_str("in")? {
            "path" => Location::Path,
            "query" => Location::Query,
            "header" => Location::Header,
            "cookie" => Location::Cookie,
            other => {
                return Err(node
                    .child("in")
                    .unwrap()
                    .error(format!("parameters `in: {other}` are not supported yet")));
            }
        };
        let default_style = match location {
            Location::Path | Location::Header => "simple",
            Location::Query | Location::Cookie => "form",
        };
        let style = match node.opt_str("style")? {
            None => None,
            Some(declared) if declared == default_style => None,
            Some(declared @ ("spaceDelimited" | "pipeDelimited")) => {
                let style_node = node.child("style").unwrap();
                if location != Location::Query {
                    return Err(style_node.error(format!(
                        "`style: {declared}` is for query parameters only (OpenAPI defines it for arrays in `in: query`)"
                    )));
                }
                if node.opt_bool("explode")? == Some(true) {
                    return Err(style_node.error(format!(
                        "`style: {declared}` with `explode: true` is not supported: OpenAPI gives it no form of its own (exploded, an array is `form`'s `name=a&name=b`, an object `form`'s `k=v&k=v`: leave `style` out); `{declared}` joins the items in one value with `explode: false`, its default"
                    )));
                }
                Some(if declared == "spaceDelimited" {
                    Style::SpaceDelimited
                } else {
                    Style::PipeDelimited
                })
            }
            Some(declared @ ("label" | "matrix")) => {
                if location != Location::Path {
                    return Err(node.child("style").unwrap().error(format!(
                        "`style: {declared}` is for path parameters only (OpenAPI defines it for `in: path`)"
                    )));
                }
                Some(if declared == "label" {
                    Style::Label
                } else {
                    Style::Matrix
                })
            }
            Some("deepObject") => {
                let style_node = node.child("style").unwrap();
                if location != Location::Query {
                    return Err(style_node.error(
                        "`style: deepObject` is for query parameters only (OpenAPI defines it for objects in `in: query`)".to_owned()
                    ));
                }
                // OpenAPI defines `deepObject` exploded only; left out,
                // `explode` is read as that one form.
                if node.opt_bool("explode")? == Some(false) {
                    return Err(style_node.error(format!(
                        "`style: deepObject` with `explode: false` is not supported: OpenAPI defines `deepObject` exploded only (`{name}[property]=value`); leave `explode` out or make it `true`"
                    )));
                }
                Some(Style::DeepObject)
            }
            Some(declared) => {
                return Err(node.child("style").unwrap().error(format!(
                    "`style: {declared}` is not supported yet; only the default `{default_style}` in `in: {}`",
                    node.req_str("in")?
                )));
            }
        };
        let style = style.unwrap_or(match location {
            Location::Path | Location::Header => Style::Simple,
            Location::Query | Location::Cookie => Style::Form,
        });
        let required = node.opt_bool("required")?.unwrap_or(false);
        if location == Location::Path && !required {
            return Err(node.error(format!("path parameter `{name}` must be `required: true`")));
        }
        let inline_name = if prefix.ends_with(&pascal_case(&name)) {
            prefix.clone()
        } else {
            format!("{prefix}{}", pascal_case(&name))
        };
        let schema = self.schema(&node.req("schema")?, &inline_name)?;
        // `true` for `form`, `false` for every other style.
        let mut explode = node
            .opt_bool("explode")?
            .unwrap_or(matches!(style, Style::Form | Style::DeepObject));
        // For arrays, and objects (`k%20v%20k%20v`, `k|v|k|v`).
        let object_type = match &schema.ty {
            Type::Named(n) => {
                matches!(self.hoisted.get(n), Some((SchemaKind::Object(_), _)))
                    || self.component_objects.contains_key(n)
            }
            _ => false,
        };
        if matches!(style, Style::SpaceDelimited | Style::PipeDelimited)
            && !matches!(schema.ty, Type::Array(_))
            && !object_type
        {
            return Err(node.child("style").unwrap().error(format!(
                "`style: {}` is for arrays and objects; parameter `{name}` is neither (leave `style` out)",
                style.as_str()
            )));
        }
        let object = self.object_param(&node, &name, location, &schema)?;
        if style == Style::DeepObject && object.is_none() {
            return Err(node.child("style").unwrap().error(format!(
                "`style: deepObject` is for objects; parameter `{name}` is not one (leave `style` out)"
            )));
        }
        if let Some(fields) = object {
            if schema.default.is_some() {
                return Err(node.req("schema")?.error(format!(
                    "parameter `{name}` is an object with a `default`: not supported (a default object would be sent for the caller); leave it out"
                )));
            }
            if schema.nullable {
                return Err(node.req("schema")?.error(format!(
                    "parameter `{name}` cannot be nullable: a parameter is either sent or not"
                )));
            }
            return Ok(Param {
                name,
                location,
                required,
                description: node.opt_str("description")?.map(str::to_owned),
                schema,
                explode,
                style,
                object: Some(fields),
            });
        }
        let scalar = match &schema.ty {
            Type::Array(items) => {
                if items.nullable {
                    return Err(node.req("schema")?.error(format!(
                        "the items of parameter `{name}` cannot be nullable"
                    )));
                }
                match location {
                    Location::Query => {}
                    // `simple`: `a,b,c`, exploded or not (explode only
                    // changes objects).
                    Location::Path if style != Style::Simple => {}
                    Location::Path | Location::Header => explode = false,
                    Location::Cookie if !explode => {}
                    Location::Cookie => {
                        // OpenAPI 3.0/3.1 define `form, explode: true` as
                        // `name=a&name=b`, and `&` separates nothing in a
                        // `Cookie` header; repeating the cookie
                        // (`name=a; name=b`) is what 3.2's `style: cookie`
                        // means, but RFC 6265 lets a server keep one pair per
                        // name and a browser stores one cookie per name.
                        return Err(node.error(format!(
                            "cookie parameter `{name}` is an array with `style: form, explode: true` (the default), which OpenAPI defines as `{name}=a&{name}=b`: a `Cookie` header has no `&`, and repeated cookies (`{name}=a; {name}=b`) are not kept by browsers or cookie parsers (one value per name); give it `explode: false` (`{name}=a,b,c`)"
                        )));
                    }
                }
                if matches!(items.ty, Type::Array(_)) {
                    return Err(node.req("schema")?.error(format!(
                        "parameter `{name}`: an array of arrays has no parameter form"
                    )));
                }
                items
            }
            _ => &schema,
        };
        let is_enum = |loader: &Self, ty: &Type| match ty {
            Type::Named(n) => {
                matches!(loader.hoisted.get(n), Some((SchemaKind::StringEnum(_), _)))
                    || loader
                        .root
                        .pointer(&format!("/components/schemas/{n}/enum"))
                        .and_then(Value::as_array)
                        .is_some_and(|values| values.iter().all(|v| v.is_string() || v.is_null()))
            }
            _ => false,
        };
        if !matches!(
            scalar.ty,
            Type::String(_) | Type::Integer(_) | Type::Number(_) | Type::Boolean
        ) && !is_enum(self, &scalar.ty)
        {
            let object = match &scalar.ty {
                Type::Named(n) => {
                    matches!(self.hoisted.get(n), Some((SchemaKind::Object(_), _)))
                        || self
                            .root
                            .pointer(&format!("/components/schemas/{n}"))
                            .is_some_and(|s| {
                                s.get("type").and_then(Value::as_str) == Some("object")
                                    || s.get("properties").is_some()
                                    || s.get("allOf").is_some()
                            })
                }
                _ => false,
            };
            if object && matches!(schema.ty, Type::Array(_)) {
                return Err(node.req("schema")?.error(format!(
                    "parameter `{name}` is an array of objects, which no parameter style writes; send it in a request body"
                )));
            }
            if object {
                return Err(node.req("schema")?.error(format!(
                    "parameter `{name}` is an object Keel cannot write as a parameter (a union, or a schema that is not an object of properties); declare each property as a parameter of its own, or send it in a request body"
                )));
            }
            return Err(node.req("schema")?.error(format!("parameter `{name}` must be a string, integer, number, boolean or string enum, an array of these, or an object of properties that are (ADR 23)")));
        }
        if schema.nullable {
            return Err(node.req("schema")?.error(format!(
                "parameter `{name}` cannot be nullable: a parameter is either sent or not"
            )));
        }
        Ok(Param {
            name,
            location,
            required,
            description: node.opt_str("description")?.map(str::to_owned),
            schema,
            explode,
            style,
            object: None,
        })
    }

    /// An object parameter's properties (ADR 23), or `None` for a parameter
    /// that is not an object. The properties must be scalars or enums (OpenAPI's
    /// style table defines nothing nested), and the object must fit its
    /// location: cookies are refused.
    fn object_param(
        &self,
        node: &Node<'a>,
        name: &str,
        location: Location,
        schema: &Schema,
    ) -> Result<Option<Vec<Field>>> {
        let Type::Named(type_name) = &schema.ty else {
            return Ok(None);
        };
        let (object, at) = match self.hoisted.get(type_name) {
            Some((SchemaKind::Object(object), _)) => {
                (object.clone(), node.req("schema")?.pointer.clone())
            }
            Some(_) => return Ok(None),
            None => match self.component_objects.get(type_name) {
                Some(object) => (
                    object.clone(),
                    format!("/components/schemas/{}", escape_pointer(type_name)),
                ),
                None => return Ok(None),
            },
        };
        let schema_node = node.req("schema")?;
        if location == Location::Cookie {
            return Err(schema_node.error(format!(
                "cookie parameter `{name}` is an object: not supported, by decision (as an exploded array cookie): OpenAPI defines `style: form` for it as `k=v&k=v` (exploded, the default), and a `Cookie` header has no `&`, nor do cookie parsers keep repeated names; declare each property as a cookie of its own"
            )));
        }
        if object.union.is_some() || object.additional.is_some() {
            return Err(schema_node.error(format!(
                "parameter `{name}` is an object with `oneOf`/`anyOf` or `additionalProperties` beside its properties: an object parameter is its declared properties only (the style table writes each as `name,value`)"
            )));
        }
        for field in &object.fields {
            let refuse = |message: String| {
                Err(ContractError {
                    pointer: format!("{at}/properties/{}", escape_pointer(&field.json_name)),
                    message,
                })
            };
            if field.read_only || field.write_only {
                return refuse(format!(
                    "property `{}` of parameter `{name}` is `readOnly`/`writeOnly`, which a parameter (sent by the client only) cannot honour",
                    field.json_name
                ));
            }
            if field.schema.nullable {
                return refuse(format!(
                    "property `{}` of parameter `{name}` cannot be nullable: a property of an object parameter is either sent or not",
                    field.json_name
                ));
            }
            let scalar = matches!(
                field.schema.ty,
                Type::String(
                    StringFormat::Plain
                        | StringFormat::Uuid
                        | StringFormat::Date
                        | StringFormat::DateTime
                        | StringFormat::Email
                        | StringFormat::Uri
                ) | Type::Integer(_)
                    | Type::Number(_)
                    | Type::Boolean
            ) || matches!(&field.schema.ty, Type::Named(n) if self.is_string_enum(n));
            if !scalar {
                return refuse(format!(
                    "property `{}` of parameter `{name}` must be a string, integer, number, boolean or string enum: OpenAPI's style table writes an object parameter's properties as `name,value` and defines nothing nested (an array or object inside one has no form)",
                    field.json_name
                ));
            }
        }
        if object.fields.is_empty() {
            return Err(schema_node.error(format!(
                "parameter `{name}` is an object without properties: an object parameter is its declared properties"
            )));
        }
        Ok(Some(object.fields))
    }

    fn is_string_enum(&self, n: &str) -> bool {
        matches!(self.hoisted.get(n), Some((SchemaKind::StringEnum(_), _)))
            || self
                .root
                .pointer(&format!("/components/schemas/{n}/enum"))
                .and_then(Value::as_array)
                .is_some_and(|values| values.iter().all(|v| v.is_string() || v.is_null()))
    }

    fn request_body(&mut self, node: &Node<'a>, op: &str) -> Result<Body> {
        let node = self.deref(node)?;
        node.check_keys(&["description", "content", "required"])?;

        let content = node.req("content")?;
        let entries = content.entries()?;
        if entries.is_empty() {
            return Err(content.error("a request body needs at least one media type".into()));
        }
        let mut media = Vec::new();
        let mut schema: Option<Schema> = None;
        for (name, entry) in &entries {
            if *name == "multipart/form-data" {
                // Checked against the parts by `check_encoding`.
                entry.check_keys(&["schema", "example", "examples", "encoding"])?;
            } else {
                entry.check_keys(&["schema", "example", "examples"])?;
            }
            media.push(match *name {
                "application/json" => BodyMedia::Json,
                "application/x-www-form-urlencoded" => BodyMedia::Form,
                "multipart/form-data" => BodyMedia::Multipart,
                "application/octet-stream" => BodyMedia::Binary,
                "application/xml" => BodyMedia::Xml,
                other => {
                    return Err(entry.error(format!(
                        "request bodies of type `{other}` are not supported yet; use `application/json`, `application/x-www-form-urlencoded`, `multipart/form-data` or `application/octet-stream` (and `application/xml` beside one of the first three)"
                    )));
                }
            });
            let this = self.schema(&entry.req("schema")?, &format!("{}Body", pascal_case(op)))?;
            // XML arrives as bytes the service reads itself (ADR 13): its
            // schema documents them and is not compared with the others'.
            if *name == "application/xml" {
                continue;
            }
            match &schema {
                None => schema = Some(this),
                Some(first) if first.ty == this.ty => {}
                Some(_) => {
                    return Err(entry.error(
                        "every media type of a request body must have the same schema (the same `$ref`)"
                            .into(),
                    ));
                }
            }
        }
        let Some(mut schema) = schema else {
            return Err(content.error(
                "an `application/xml` request body is supported beside `application/json`, `application/x-www-form-urlencoded` or `multipart/form-data` (it reaches the service as bytes), not alone yet".into(),
            ));
        };
        if media.contains(&BodyMedia::Binary) {
            if media.len() > 1 || !schema.is_bytes() {
                return Err(content.error(
                    "an `application/octet-stream` body is the one media type of its body, with the schema `type: string, format: binary`".into(),
                ));
            }
        } else if media == [BodyMedia::Json] && matches!(schema.ty, Type::Array(_)) {
            // An inline JSON array becomes a named array (`{Op}Body`), a
            // newtype that checks its own rules, as a `$ref` to one would be.
            let name = format!("{}Body", pascal_case(op));
            let (_, entry) = &entries[0];
            self.hoist(
                &entry.req("schema")?,
                &name,
                SchemaKind::Alias(schema.clone()),
            )?;
            schema = Schema {
                ty: Type::Named(name),
                nullable: false,
                rules: Rules::default(),
                description: None,
                default: None,
            };
        } else if !matches!(schema.ty, Type::Named(_)) {
            return Err(node.req("content")?.error(
                "a request body schema must be an object schema, an array (JSON only) or a `$ref` to a named schema"
                    .into(),
            ));
        }
        if media.contains(&BodyMedia::Form) {
            self.check_form_fields(&content, &schema)?;
        }
        // OpenAPI's default is optional.
        let required = node.opt_bool("required")?.unwrap_or(false);
        if !required
            && media != [BodyMedia::Json]
            && media != [BodyMedia::Multipart]
            && media != [BodyMedia::Form]
        {
            return Err(node.error(
                "an optional request body must be `application/json`, `application/x-www-form-urlencoded` or `multipart/form-data` only; mark it `required: true`"
                    .into(),
            ));
        }
        Ok(Body {
            schema,
            description: node.opt_str("description")?.map(str::to_owned),
            media,
            required,
        })
    }

    /// A form carries names and text: its object's properties must be scalars or
    /// arrays of scalars (OpenAPI would encode nested objects as JSON text, which
    /// no browser form does).
    fn check_form_fields(&self, content: &Node<'a>, schema: &Schema) -> Result<()> {
        let Type::Named(name) = &schema.ty else {
            return Ok(());
        };
        let Some(properties) = self
            .root
            .pointer(&format!("/components/schemas/{name}/properties"))
            .and_then(Value::as_object)
        else {
            return Ok(());
        };
        for (property, definition) in properties {
            let scalar = |d: &Value| {
                matches!(
                    d.get("type").and_then(Value::as_str),
                    Some("string" | "integer" | "number" | "boolean")
                ) || d.get("$ref").is_some_and(|r| {
                    r.as_str()
                        .and_then(|r| self.root.pointer(&r.replacen('#', "", 1)))
                        .is_some_and(|t| t.get("enum").is_some())
                })
            };
            let ok = scalar(definition)
                || (definition.get("type").and_then(Value::as_str) == Some("array")
                    && definition.get("items").is_some_and(scalar));
            if !ok {
                return Err(content.error(format!(
                    "form bodies carry scalars and arrays of scalars; `{name}.{property}` is neither"
                )));
            }
        }
        Ok(())
    }

    fn response(&mut self, node: &Node<'a>, status: Status, op: &str) -> Result<Response> {
        let node = self.deref(node)?;
        node.check_keys(&["description", "headers", "content", "links"])?;
        let mut bytes_media = Vec::new();
        let content = match node.child("content") {
            Some(c) if c.entries()?.len() > 1 => {
                let inline = format!(
                    "{}Response{}",
                    pascal_case(op),
                    pascal_case(&status.to_string())
                );
                let (json, alternatives) = self.alternatives(&c, &inline)?;
                bytes_media = alternatives;
                Some(json)
            }
            Some(c) => {
                let (media, schema) = self.single_content(
                    &c,
                    &format!(
                        "{}Response{}",
                        pascal_case(op),
                        pascal_case(&status.to_string())
                    ),
                )?;
                // Bytes (a download) may be of any media type; JSON is JSON;
                // XML is bytes the service writes, whatever its schema says.
                let schema = if is_xml(&media) && !schema.is_bytes() {
                    bytes_schema()
                } else {
                    schema
                };
                if media != "application/json"
                    && media != "application/problem+json"
                    && !schema.is_bytes()
                {
                    return Err(c.error(format!("responses of type `{media}` are not supported yet; use `application/json` or `application/problem+json`, XML (read as bytes), or any type with the schema `type: string, format: binary`")));
                }
                if schema.is_bytes() && media.ends_with("json") {
                    return Err(c.error(format!(
                        "bytes (`format: binary`) cannot be `{media}`; name their media type (`application/octet-stream`, `image/png`, …)"
                    )));
                }
                Some((media, schema))
            }
            None => None,
        };
        let mut headers = Vec::new();
        if let Some(map) = node.child("headers") {
            for (name, header) in map.entries()? {
                let header = self.deref(&header)?;
                header.check_keys(&[
                    "description",
                    "required",
                    "schema",
                    "deprecated",
                    "example",
                    "examples",
                ])?;
                let schema = self.schema(&header.req("schema")?, &pascal_case(name))?;
                if !matches!(schema.ty, Type::String(_) | Type::Integer(_)) {
                    return Err(header.error(format!(
                        "response header `{name}` must be a string or integer"
                    )));
                }
                headers.push(Header {
                    name: name.to_owned(),
                    required: header.opt_bool("required")?.unwrap_or(false),
                    description: header.opt_str("description")?.map(str::to_owned),
                    schema,
                });
            }
        }
        Ok(Response {
            status,
            description: node.req_str("description")?.to_owned(),
            content,
            bytes_media,
            headers,
            example: Self::example(&node)?,
        })
    }

    /// A response in several media types: `application/json` and bytes
    /// (`type: string, format: binary`) in any other media types. The JSON
    /// one's media and schema, then the media types of the bytes.
    fn alternatives(
        &mut self,
        node: &Node<'a>,
        inline_name: &str,
    ) -> Result<((String, Schema), Vec<String>)> {
        let mut json = None;
        let mut bytes = Vec::new();
        for (media, media_node) in node.entries()? {
            media_node.check_keys(&["schema", "example", "examples"])?;
            let schema = self.schema(&media_node.req("schema")?, inline_name)?;
            if media == "application/json" {
                if schema.is_bytes() {
                    return Err(media_node
                        .error("bytes (`format: binary`) cannot be `application/json`".into()));
                }
                json = Some((media.to_string(), schema));
            } else if (schema.is_bytes() || is_xml(media))
                && !media.ends_with("json")
                && !media.contains('*')
            {
                // XML is bytes too: the service writes it (ADR 13).
                bytes.push(media.to_string());
            } else {
                return Err(media_node.error(format!(
                    "a response in several media types is `application/json` and bytes (`type: string, format: binary`) in other, exact media types; `{media}` is neither"
                )));
            }
        }
        match json {
            Some(json) => Ok((json, bytes)),
            None => Err(node.error(format!(
                "{} media types declared without `application/json`; several are supported as JSON and bytes (`type: string, format: binary`) in other media types",
                bytes.len()
            ))),
        }
    }

    fn single_content(&mut self, node: &Node<'a>, inline_name: &str) -> Result<(String, Schema)> {
        let entries = node.entries()?;
        let [(media, media_node)] = entries.as_slice() else {
            return Err(node.error(format!(
                "{} media types declared; exactly one is supported yet",
                entries.len()
            )));
        };
        media_node.check_keys(&["schema", "example", "examples"])?;
        let schema = self.schema(&media_node.req("schema")?, inline_name)?;
        Ok((media.to_string(), schema))
    }

    /// A media type's `example`, or the `value` of the first of its `examples`.
    fn example(node: &Node<'a>) -> Result<Option<Value>> {
        let Some(content) = node.child("content") else {
            return Ok(None);
        };
        let Some((_, media)) = content.entries()?.into_iter().next() else {
            return Ok(None);
        };
        if let Some(example) = media.child("example") {
            return Ok(Some(example.value.clone()));
        }
        let Some(examples) = media.child("examples") else {
            return Ok(None);
        };
        Ok(examples
            .entries()?
            .into_iter()
            .next()
            .and_then(|(_, e)| e.value.get("value").cloned()))
    }

    /// The definition of a component schema: an object or a string enum.
    fn named_kind(&mut self, node: &Node<'a>, name: &str) -> Result<SchemaKind> {
        if !self.in_progress.insert(name.to_owned()) {
            return Err(node.error(format!("schema `{name}` is defined twice")));
        }
        if node.child("oneOf").is_some() || node.child("anyOf").is_some() {
            return self.union_or_object(node, name);
        }
        if is_inheritance_base(node) {
            return Ok(SchemaKind::Union(self.inheritance(node, name)?));
        }
        if node.child("allOf").is_some() {
            return Ok(SchemaKind::Object(self.all_of(node, name)?));
        }
        let (types, nullable) = types_of(node)?;
        if nullable {
            return Err(node.error("a component schema cannot itself be nullable; make the properties that use it nullable".into()));
        }
        match types.as_slice() {
            ["object"] if is_map(node) => Ok(SchemaKind::Alias(self.schema(node, name)?)),
            ["object"] => Ok(SchemaKind::Object(self.object(node, name)?)),
            ["string"] if node.child("enum").is_some() => Ok(SchemaKind::StringEnum(string_enum(node)?)),
            ["integer"] if node.child("enum").is_some() => Ok(SchemaKind::IntEnum(int_enum(node)?)),
            _ if node.child("$ref").is_some() => Err(node.error("a component schema that is only a `$ref` (an alias) is not supported yet".into())),
            // Arrays and primitives: a named alias of the type.
            ["array"] | ["string"] | ["integer"] | ["number"] | ["boolean"] => {
                Ok(SchemaKind::Alias(self.schema(node, &format!("{name}Item"))?))
            }
            _ => Err(node.error(format!(
                "component schema `{name}` must be `type: object` or a string `enum`; other top-level schemas (allOf, oneOf, primitives) are not supported yet"
            ))),
        }
    }

    /// `[]` (public) or `[{<bearer scheme>: [scopes…]}]`.
    fn security(&self, node: &Node<'a>) -> Result<Security> {
        let requirements = node.items()?;
        match requirements.as_slice() {
            [] => Ok(Security::Public),
            [requirement] => {
                let entries = requirement.entries()?;
                let [(scheme, scopes)] = entries.as_slice() else {
                    return Err(requirement.error(
                        "a requirement naming several schemes at once is not supported yet".into(),
                    ));
                };
                if self.api_key_schemes.contains(*scheme) {
                    if !scopes.items()?.is_empty() {
                        return Err(scopes.error(format!(
                            "`{scheme}` is an `apiKey` scheme: its requirements name no scopes"
                        )));
                    }
                    return Ok(Security::ApiKey {
                        scheme: (*scheme).to_owned(),
                    });
                }
                if !self.bearer_schemes.contains(*scheme) {
                    return Err(requirement.error(format!(
                        "`{scheme}` is not a security scheme of `components.securitySchemes`"
                    )));
                }
                let scopes = scopes
                    .items()?
                    .iter()
                    .map(|s| s.as_str().map(str::to_owned))
                    .collect::<Result<Vec<_>>>()?;
                if let Some(declared) = self.oauth_scopes.get(*scheme)
                    && let Some(unknown) = scopes.iter().find(|s| !declared.contains(*s))
                {
                    return Err(requirement.error(format!(
                        "scope `{unknown}` is not declared by any flow of `{scheme}`"
                    )));
                }
                Ok(Security::Bearer {
                    scheme: (*scheme).to_owned(),
                    scopes,
                })
            }
            _ => Err(node.error(
                "alternative security requirements (more than one entry) are not supported yet"
                    .into(),
            )),
        }
    }

    /// `oneOf` or `anyOf`: with a discriminator, over `$ref`s to object
    /// schemas; without, over any schemas, `$ref`s or inline ones (primitives,
    /// arrays, objects, nested unions), each inline entry a named type of its
    /// own (`{name}{Kind}`, see [`inline_variant_names`]).
    fn union(&mut self, node: &Node<'a>, name: &str) -> Result<UnionSchema> {
        let mut allowed = vec!["oneOf", "anyOf", "discriminator", "type", "nullable"];
        if node.child("properties").is_some() {
            // Read by `union_or_object`.
            allowed.extend(["properties", "required"]);
        }
        allowed.extend(SCHEMA_ANNOTATIONS);
        node.check_keys(&allowed)?;
        // `anyOf` lets a value match several entries where `oneOf` wants exactly
        // one; decoding takes the first that fits either way, so both read the same.
        let keyword = if node.child("oneOf").is_some() {
            if node.child("anyOf").is_some() {
                return Err(
                    node.error("a schema with both `oneOf` and `anyOf` is not supported".into())
                );
            }
            "oneOf"
        } else {
            "anyOf"
        };
        if let Some(t) = node.child("type")
            && t.value != &Value::String("object".into())
        {
            return Err(t.error("a `oneOf` schema may only say `type: object` beside it".into()));
        }
        let list = node.req(keyword)?;
        let mut variants = Vec::new();
        let items = list.items()?;
        let tagged = node.child("discriminator").is_some();
        let inline_names = inline_variant_names(name, &items)?;
        for (item, inline_name) in items.iter().zip(&inline_names) {
            if item.child("$ref").is_none() || !tagged {
                if tagged {
                    return Err(item.error(format!(
                        "with a `discriminator`, each `{keyword}` entry must be a `$ref` to `#/components/schemas/` (an inline entry has no name to tell it by)"
                    )));
                }
                if let Some(target) = item.opt_str("$ref")? {
                    item.check_keys(&["$ref"])?;
                    let Some(component) = target.strip_prefix("#/components/schemas/") else {
                        return Err(item.error(format!(
                            "`{target}`: a `{keyword}` reference must point into `#/components/schemas/`"
                        )));
                    };
                    let target_node = self
                        .root
                        .pointer(&format!("/components/schemas/{component}"));
                    if target_node.is_some_and(|value| {
                        is_inheritance_base(&Node {
                            value,
                            pointer: format!("/components/schemas/{}", escape_pointer(component)),
                        })
                    }) {
                        return Err(item.error(format!(
                            "`{keyword}` entry `{component}` has a discriminator of its own (it stands for its subtypes); list the subtypes instead"
                        )));
                    }
                    if target_node.is_none() {
                        return Err(item.error(format!("`$ref: {target}` points at nothing")));
                    }
                    variants.push(UnionVariant {
                        schema: component.to_owned(),
                        tag: None,
                    });
                    continue;
                }
                // An inline entry: a type of its own, named after the union.
                let schema = self.schema(item, inline_name)?;
                if schema.nullable {
                    return Err(item.error(format!(
                        "a `{keyword}` entry cannot be nullable; make the union's users nullable"
                    )));
                }
                let variant = match schema.ty {
                    Type::Named(named) => named,
                    _ => {
                        self.hoist(item, inline_name, SchemaKind::Alias(schema))?;
                        inline_name.clone()
                    }
                };
                variants.push(UnionVariant {
                    schema: variant,
                    tag: None,
                });
                continue;
            }
            item.check_keys(&["$ref"])?;
            let target = item.req_str("$ref")?;
            let Some(name) = target.strip_prefix("#/components/schemas/") else {
                return Err(item.error(format!(
                    "`{target}`: each `{keyword}` entry must be a `$ref` to `#/components/schemas/`"
                )));
            };
            let target_node = self.root.pointer(&format!("/components/schemas/{name}"));
            if target_node.is_some_and(|value| {
                is_inheritance_base(&Node {
                    value,
                    pointer: format!("/components/schemas/{}", escape_pointer(name)),
                })
            }) {
                return Err(item.error(format!(
                    "`{keyword}` entry `{name}` has a discriminator of its own (it stands for its subtypes); list the subtypes instead"
                )));
            }
            let is_object = target_node.is_some_and(|s| {
                s.get("type") == Some(&Value::String("object".into()))
                    || s.get("properties").is_some()
                    || s.get("allOf").is_some()
            });
            if !is_object {
                return Err(item.error(format!(
                    "`{keyword}` entry `{name}` must be an object schema"
                )));
            }
            variants.push(UnionVariant {
                schema: name.to_owned(),
                tag: None,
            });
        }
        if variants.is_empty() {
            return Err(list.error(format!("`{keyword}` needs at least one entry")));
        }
        let discriminator = match node.child("discriminator") {
            None => None,
            Some(d) => Some(tag_variants(
                &d,
                &mut variants,
                &self.contract_names,
                |value, schema| {
                    format!(
                        "mapping `{value}` points at `{schema}`, which is not one of the `{keyword}` entries"
                    )
                },
            )?),
        };
        Ok(UnionSchema {
            variants,
            discriminator,
            any_of: keyword == "anyOf",
        })
    }

    /// `oneOf`/`anyOf`, alone or beside `properties` (ADR 21). Beside
    /// properties, the value is one JSON object holding the object's own
    /// properties and one variant's: an object whose `union` is the `oneOf`
    /// as a type of its own, `{name}OneOf` (`{name}AnyOf`), flattened into it.
    /// A discriminator declared among the properties belongs to the union
    /// (it tells the variants apart), so it leaves the object's fields; an
    /// object left with no fields is the union itself.
    fn union_or_object(&mut self, node: &Node<'a>, name: &str) -> Result<SchemaKind> {
        let Some(props) = node.child("properties") else {
            if let Some(required) = node.child("required") {
                return Err(required.error(
                    "`required` beside `oneOf`/`anyOf` needs the `properties` it names".into(),
                ));
            }
            return Ok(SchemaKind::Union(self.union(node, name)?));
        };
        let keyword = if node.child("oneOf").is_some() {
            "oneOf"
        } else {
            "anyOf"
        };
        if let Some(a) = node.child("additionalProperties") {
            return Err(a.error(format!(
                "`additionalProperties` beside `properties` and `{keyword}` is not supported: it would judge the variant's properties as unknown ones"
            )));
        }
        // Each entry must be an object, whose properties join the object's.
        for item in node.req(keyword)?.items()? {
            let target = match item.opt_str("$ref")? {
                Some(target) => target
                    .strip_prefix("#/components/schemas/")
                    .and_then(|c| self.root.pointer(&format!("/components/schemas/{c}"))),
                None => Some(item.value),
            };
            let is_object = target.is_some_and(|s| {
                s.get("type") == Some(&Value::String("object".into()))
                    || s.get("properties").is_some()
                    || s.get("allOf").is_some()
            });
            if !is_object {
                return Err(item.error(format!(
                    "beside `properties`, each `{keyword}` entry must be an object schema (the value is one object: the properties and the entry's)"
                )));
            }
        }
        let mut object = ObjectSchema {
            fields: Vec::new(),
            deny_unknown: false,
            additional: None,
            union: None,
        };
        let required = self.object_parts(node, name, &mut object)?;
        check_required(node, &object, &required)?;
        let union_name = format!("{name}{}", pascal_case(keyword));
        let union = self.union(node, &union_name)?;
        if let Some(property) = &union.discriminator
            && let Some(i) = object.fields.iter().position(|f| &f.json_name == property)
        {
            let field = object.fields.remove(i);
            let at = props.req(property)?;
            let allowed: Option<Vec<String>> =
                match &field.schema.ty {
                    Type::String(StringFormat::Plain) => None,
                    Type::Named(enum_name) => match self.hoisted.get(enum_name) {
                        Some((SchemaKind::StringEnum(values), _)) => Some(values.clone()),
                        _ => match self
                            .root
                            .pointer(&format!("/components/schemas/{enum_name}"))
                        {
                            Some(v) if v.get("enum").is_some() => Some(string_enum(&Node {
                                value: v,
                                pointer: format!("/components/schemas/{enum_name}"),
                            })?),
                            _ => return Err(at.error(format!(
                                "the discriminator `{property}` must be a string or a string enum"
                            ))),
                        },
                    },
                    _ => {
                        return Err(at.error(format!(
                            "the discriminator `{property}` must be a string or a string enum"
                        )));
                    }
                };
            if let Some(values) = allowed {
                if let Some(v) = union
                    .variants
                    .iter()
                    .find(|v| !values.iter().any(|x| Some(x) == v.tag.as_ref()))
                {
                    return Err(at.error(format!(
                        "`{}` is told by `{property}: {}`, which `{property}` does not allow",
                        v.schema,
                        v.tag.as_deref().unwrap_or_default()
                    )));
                }
                // An inline enum of the discriminator's values is the union's tags now.
                if let Type::Named(enum_name) = &field.schema.ty
                    && self.hoisted_from.get(enum_name) == Some(&at.pointer)
                {
                    self.hoisted.remove(enum_name);
                    self.hoisted_from.remove(enum_name);
                }
            }
        }
        if object.fields.is_empty() {
            return Ok(SchemaKind::Union(union));
        }
        self.hoisted_from
            .insert(union_name.clone(), node.pointer.clone());
        let description =
            format!("The `{keyword}` part of `{name}`: its properties sit beside `{name}`'s own.");
        if self
            .hoisted
            .insert(
                union_name.clone(),
                (SchemaKind::Union(union), Some(description)),
            )
            .is_some()
        {
            return Err(node.error(format!("two inline schemas would both be named `{union_name}`; move one into `components/schemas`")));
        }
        object.union = Some(union_name);
        Ok(SchemaKind::Object(object))
    }

    /// A component schema with a `discriminator` and no `oneOf` (the
    /// inheritance style): it stands for the component schemas that extend it
    /// through `allOf`, directly or through other subtypes, told apart by the
    /// discriminator, as if it listed them in a `oneOf` (ADR 13). Its own
    /// properties reach every variant through the `allOf` merge; a value that is
    /// only the base (no subtype) cannot be written.
    fn inheritance(&mut self, node: &Node<'a>, name: &str) -> Result<UnionSchema> {
        node.check_keys(&with_annotations(&[
            "discriminator",
            "type",
            "properties",
            "required",
            "additionalProperties",
            "allOf",
        ]))?;
        // Read the base as an object, so that its mistakes are named here.
        let mut base = ObjectSchema {
            fields: Vec::new(),
            deny_unknown: false,
            additional: None,
            union: None,
        };
        let required = if node.child("allOf").is_some() {
            self.all_of_parts(node, name, &mut base)?
        } else {
            match types_of(node)?.0.as_slice() {
                ["object"] | [] => self.object_parts(node, name, &mut base)?,
                _ => {
                    return Err(node.error(format!(
                        "`{name}` has a discriminator, so it must be an object schema"
                    )));
                }
            }
        };
        check_required(node, &base, &required)?;
        let d = node.req("discriminator")?;
        let components = self
            .root
            .pointer("/components/schemas")
            .and_then(Value::as_object);
        let mut variants = Vec::new();
        for (sub, value) in components.into_iter().flatten() {
            if sub == name || !extends(components.unwrap(), value, name, &mut BTreeSet::new()) {
                continue;
            }
            if value.get("discriminator").is_some() {
                return Err(ContractError {
                    pointer: format!("/components/schemas/{}/discriminator", escape_pointer(sub)),
                    message: format!(
                        "`{sub}` extends `{name}`, which has a discriminator; a discriminator in both is not supported yet"
                    ),
                });
            }
            variants.push(UnionVariant {
                schema: sub.clone(),
                tag: None,
            });
        }
        if variants.is_empty() {
            return Err(d.error(format!(
                "no component schema extends `{name}` through `allOf`, so its discriminator has nothing to choose from"
            )));
        }
        let property = tag_variants(&d, &mut variants, &self.contract_names, |value, schema| {
            format!(
                "mapping `{value}` points at `{schema}`, which does not extend `{name}` through `allOf`"
            )
        })?;
        Ok(UnionSchema {
            variants,
            discriminator: Some(property),
            any_of: false,
        })
    }

    fn object(&mut self, node: &Node<'a>, name: &str) -> Result<ObjectSchema> {
        let mut allowed = vec!["type", "properties", "required", "additionalProperties"];
        allowed.extend(SCHEMA_ANNOTATIONS);
        node.check_keys(&allowed)?;
        let mut object = ObjectSchema {
            fields: Vec::new(),
            deny_unknown: false,
            additional: None,
            union: None,
        };
        let required = self.object_parts(node, name, &mut object)?;
        check_required(node, &object, &required)?;
        Ok(object)
    }

    /// `allOf`: one object with the properties of every part, required where
    /// any part requires them. Parts are `$ref`s (which may use `allOf`
    /// themselves) or inline objects; properties beside `allOf` count as a part.
    fn all_of(&mut self, node: &Node<'a>, name: &str) -> Result<ObjectSchema> {
        let mut object = ObjectSchema {
            fields: Vec::new(),
            deny_unknown: false,
            additional: None,
            union: None,
        };
        let required = self.all_of_parts(node, name, &mut object)?;
        check_required(node, &object, &required)?;
        for field in &mut object.fields {
            field.required = required.contains(&field.json_name);
        }
        Ok(object)
    }

    fn all_of_parts(
        &mut self,
        node: &Node<'a>,
        name: &str,
        into: &mut ObjectSchema,
    ) -> Result<BTreeSet<String>> {
        node.check_keys(&with_annotations(&[
            "allOf",
            "type",
            "properties",
            "required",
            "additionalProperties",
            "nullable",
            // A base's discriminator says how to read the base, not its subtypes.
            if is_inheritance_base(node) {
                "discriminator"
            } else {
                "allOf"
            },
        ]))?;
        if let Some(t) = node.child("type")
            && t.value != &Value::String("object".into())
        {
            return Err(
                t.error("`allOf` composes objects; `type` beside it must be `object`".into())
            );
        }
        let mut required = BTreeSet::new();
        for part in node.req("allOf")?.items()? {
            let (part, part_name) = match part.opt_str("$ref")? {
                Some(target) => {
                    let Some(component) = target.strip_prefix("#/components/schemas/") else {
                        return Err(part.child("$ref").unwrap().error(format!(
                            "`$ref: {target}`: a schema reference must point into `#/components/schemas/`"
                        )));
                    };
                    let mut allowed = vec!["$ref"];
                    allowed.extend(SCHEMA_ANNOTATIONS);
                    part.check_keys(&allowed)?;
                    (self.deref(&part)?, component.to_owned())
                }
                None => (part, name.to_owned()),
            };
            if !self.merging.insert(part.pointer.clone()) {
                return Err(part.error("`allOf` refers back to itself".into()));
            }
            let found = if part.child("allOf").is_some() {
                self.all_of_parts(&part, &part_name, into)
            } else {
                match types_of(&part)?.0.as_slice() {
                    ["object"] | [] => self.object_parts(&part, &part_name, into),
                    _ => Err(part.error("each `allOf` part must be an object schema".into())),
                }
            };
            self.merging.remove(&part.pointer);
            required.extend(found?);
        }
        if node.child("properties").is_some() || node.child("required").is_some() {
            required.extend(self.object_parts(node, name, into)?);
        }
        Ok(required)
    }

    /// Adds the properties of one object schema to `into`, and returns the names
    /// it requires. A property declared twice (by two `allOf` parts) must be
    /// declared the same way.
    fn object_parts(
        &mut self,
        node: &Node<'a>,
        name: &str,
        into: &mut ObjectSchema,
    ) -> Result<BTreeSet<String>> {
        into.deny_unknown |= match node.child("additionalProperties") {
            None => false,
            Some(a) if a.value == &Value::Bool(false) => true,
            Some(a) if a.value == &Value::Bool(true) => false,
            Some(a) => {
                let values = self.schema(&a, &format!("{name}Value"))?;
                into.additional = Some(Box::new(values));
                false
            }
        };
        let mut required = BTreeSet::new();
        if let Some(list) = node.child("required") {
            for r in list.items()? {
                required.insert(r.as_str()?.to_owned());
            }
        }
        if let Some(props) = node.child("properties") {
            for (prop, node) in props.entries()? {
                let schema = self.schema(&node, &format!("{name}{}", pascal_case(prop)))?;
                let read_only = node.opt_bool("readOnly")?.unwrap_or(false);
                let write_only = node.opt_bool("writeOnly")?.unwrap_or(false);
                if read_only && write_only {
                    return Err(
                        node.error(format!("`{prop}` cannot be both readOnly and writeOnly"))
                    );
                }
                let field = Field {
                    json_name: prop.to_owned(),
                    required: required.contains(prop),
                    schema,
                    read_only,
                    write_only,
                };
                match into.fields.iter().position(|f| f.json_name == prop) {
                    None => into.fields.push(field),
                    Some(i) if into.fields[i].schema == field.schema => {}
                    Some(_) => {
                        return Err(node.error(format!(
                            "property `{prop}` is declared differently by two `allOf` parts"
                        )));
                    }
                }
            }
        }
        Ok(required)
    }

    /// A schema in a position. Inline objects and enums become named schemas
    /// called `inline_name` (the parent's name plus the property's, PascalCase).
    fn schema(&mut self, node: &Node<'a>, inline_name: &str) -> Result<Schema> {
        let description = node.opt_str("description")?.map(str::to_owned);
        let default = node.child("default").map(|d| d.value.clone());
        if let Some(target) = node.opt_str("$ref")? {
            let mut allowed = vec!["$ref", "default"];
            allowed.extend(SCHEMA_ANNOTATIONS);
            node.check_keys(&allowed)?;
            let Some(name) = target.strip_prefix("#/components/schemas/") else {
                return Err(node.child("$ref").unwrap().error(format!(
                    "`$ref: {target}`: a schema reference must point into `#/components/schemas/`"
                )));
            };
            if self
                .root
                .pointer(&format!("/components/schemas/{name}"))
                .is_none()
            {
                return Err(node
                    .child("$ref")
                    .unwrap()
                    .error(format!("`$ref: {target}` points at nothing")));
            }
            return Ok(Schema {
                ty: Type::Named(name.to_owned()),
                nullable: false,
                rules: Rules::default(),
                description,
                default,
            });
        }
        if node.child("allOf").is_some() {
            let object = self.all_of(node, inline_name)?;
            self.hoist(node, inline_name, SchemaKind::Object(object))?;
            return Ok(Schema {
                ty: Type::Named(inline_name.to_owned()),
                nullable: node.opt_bool("nullable")?.unwrap_or(false),
                rules: Rules::default(),
                description,
                default,
            });
        }
        if node.child("oneOf").is_some() || node.child("anyOf").is_some() {
            let kind = self.union_or_object(node, inline_name)?;
            self.hoist(node, inline_name, kind)?;
            return Ok(Schema {
                ty: Type::Named(inline_name.to_owned()),
                nullable: false,
                rules: Rules::default(),
                description,
                default,
            });
        }
        let (types, nullable) = types_of(node)?;
        let mut rules = Rules::default();
        let ty = match types.as_slice() {
            ["object"] if is_map(node) => {
                node.check_keys(&with_annotations(&[
                    "type",
                    "additionalProperties",
                    "default",
                    "nullable",
                ]))?;
                let values = match node.child("additionalProperties") {
                    Some(values) if values.value.is_object() => {
                        self.schema(&values, &format!("{inline_name}Value"))?
                    }
                    _ => Schema {
                        ty: Type::Any,
                        nullable: false,
                        rules: Rules::default(),
                        description: None,
                        default: None,
                    },
                };
                Type::Map(Box::new(values))
            }
            ["object"] => {
                let object = self.object(node, inline_name)?;
                self.hoist(node, inline_name, SchemaKind::Object(object))?;
                Type::Named(inline_name.to_owned())
            }
            ["string"] if node.child("enum").is_some() => {
                node.check_keys(&with_annotations(&["type", "enum", "default", "nullable"]))?;
                let values = string_enum(node)?;
                self.hoist(node, inline_name, SchemaKind::StringEnum(values))?;
                Type::Named(inline_name.to_owned())
            }
            ["integer"] if node.child("enum").is_some() => {
                node.check_keys(&with_annotations(&[
                    "type", "format", "enum", "default", "nullable",
                ]))?;
                let values = int_enum(node)?;
                self.hoist(node, inline_name, SchemaKind::IntEnum(values))?;
                Type::Named(inline_name.to_owned())
            }
            ["string"] => {
                node.check_keys(&with_annotations(&[
                    "type",
                    "format",
                    "minLength",
                    "maxLength",
                    "pattern",
                    "default",
                    "nullable",
                ]))?;
                rules.min_length = node.opt_u64("minLength")?;
                rules.max_length = node.opt_u64("maxLength")?;
                if let Some(pattern) = node.opt_str("pattern")? {
                    if let Err(e) = regex::Regex::new(pattern) {
                        return Err(node
                            .child("pattern")
                            .unwrap()
                            .error(format!("pattern does not compile as a Rust regex: {e}")));
                    }
                    rules.pattern = Some(pattern.to_owned());
                }
                let format = match node.opt_str("format")? {
                    None => StringFormat::Plain,
                    Some("uuid") => StringFormat::Uuid,
                    Some("date-time") => StringFormat::DateTime,
                    Some("date") => StringFormat::Date,
                    Some("email") => StringFormat::Email,
                    Some("uri") => StringFormat::Uri,
                    Some("byte") => StringFormat::Byte,
                    Some("binary") => StringFormat::Binary,
                    Some(other) => {
                        return Err(node
                            .child("format")
                            .unwrap()
                            .error(format!("string format `{other}` is not supported yet")));
                    }
                };
                if format == StringFormat::Binary && rules != Rules::default() {
                    return Err(node.error(
                        "a file (`format: binary`) takes no `minLength`, `maxLength` or `pattern`"
                            .into(),
                    ));
                }
                Type::String(format)
            }
            ["integer"] | ["number"] => {
                node.check_keys(&with_annotations(&[
                    "type",
                    "format",
                    "minimum",
                    "maximum",
                    "exclusiveMinimum",
                    "exclusiveMaximum",
                    "default",
                    "nullable",
                ]))?;
                rules.minimum = bound(node, "minimum", "exclusiveMinimum")?;
                rules.maximum = bound(node, "maximum", "exclusiveMaximum")?;
                let format = node.opt_str("format")?;
                if types[0] == "integer" {
                    Type::Integer(match format {
                        Some("int32") => IntFormat::Int32,
                        None | Some("int64") => IntFormat::Int64,
                        Some(other) => {
                            return Err(node
                                .child("format")
                                .unwrap()
                                .error(format!("integer format `{other}` is not supported")));
                        }
                    })
                } else {
                    Type::Number(match format {
                        Some("float") => NumberFormat::Float,
                        None | Some("double") => NumberFormat::Double,
                        Some(other) => {
                            return Err(node
                                .child("format")
                                .unwrap()
                                .error(format!("number format `{other}` is not supported")));
                        }
                    })
                }
            }
            ["boolean"] => {
                node.check_keys(&with_annotations(&["type", "default", "nullable"]))?;
                Type::Boolean
            }
            ["array"] => {
                node.check_keys(&with_annotations(&[
                    "type", "items", "minItems", "maxItems", "default", "nullable",
                ]))?;
                rules.min_items = node.opt_u64("minItems")?;
                rules.max_items = node.opt_u64("maxItems")?;
                let items_node = node.req("items")?;
                let items = self.schema(&items_node, &format!("{inline_name}Item"))?;
                let checked_format = matches!(
                    items.ty,
                    Type::String(StringFormat::Email | StringFormat::Uri)
                );
                if items.rules != Rules::default() || checked_format {
                    return Err(items_node.error(
                        "constraints on the items of an array are not supported yet".into(),
                    ));
                }
                Type::Array(Box::new(items))
            }
            [] => {
                node.check_keys(&with_annotations(&["default", "nullable"]))?;
                Type::Any
            }
            many => {
                return Err(node.error(format!(
                    "a schema of several types ({}) is not supported yet",
                    many.join(", ")
                )));
            }
        };
        Ok(Schema {
            ty,
            nullable,
            rules,
            description,
            default,
        })
    }

    fn hoist(&mut self, node: &Node<'a>, name: &str, kind: SchemaKind) -> Result<()> {
        let description = node.opt_str("description")?.map(str::to_owned);
        if self.hoisted_from.get(name) == Some(&node.pointer) {
            return Ok(());
        }
        self.hoisted_from
            .insert(name.to_owned(), node.pointer.clone());
        if self
            .hoisted
            .insert(name.to_owned(), (kind, description))
            .is_some()
        {
            return Err(node.error(format!("two inline schemas would both be named `{name}`; move one into `components/schemas`")));
        }
        Ok(())
    }
}

/// The names of a union's inline entries: `{union}{Kind}`, the kind being the
/// entry's `title` (PascalCase) or else its type (`String`, `Integer`,
/// `Number`, `Boolean`, `Array`, `Object`, `OneOf`, `AnyOf`, `AllOf`); kinds
/// that occur twice get the entry's position from 1 (`ValueObject2`). Entries
/// that are `$ref`s keep their schema's name (the returned one is unused).
fn inline_variant_names(union: &str, items: &[Node]) -> Result<Vec<String>> {
    let mut kinds = Vec::new();
    for item in items {
        let kind = if let Some(title) = item.opt_str("title")? {
            pascal_case(title)
        } else if item.child("oneOf").is_some() {
            "OneOf".to_owned()
        } else if item.child("anyOf").is_some() {
            "AnyOf".to_owned()
        } else if item.child("allOf").is_some() {
            "AllOf".to_owned()
        } else {
            let (types, _) = types_of(item)?;
            match types.as_slice() {
                [ty] => pascal_case(ty),
                _ if item.child("properties").is_some() => "Object".to_owned(),
                _ => "Value".to_owned(),
            }
        };
        kinds.push(kind);
    }
    Ok(kinds
        .iter()
        .enumerate()
        .map(|(i, kind)| {
            let inline = items[i].child("$ref").is_none();
            let repeated = kinds
                .iter()
                .enumerate()
                .any(|(j, other)| j != i && other == kind && items[j].child("$ref").is_none());
            if inline && repeated {
                format!("{union}{kind}{}", i + 1)
            } else {
                format!("{union}{kind}")
            }
        })
        .collect())
}

/// A component schema with a `discriminator` and no `oneOf`/`anyOf`: the base
/// of the schemas that extend it through `allOf` (see `Loader::inheritance`).
fn is_inheritance_base(node: &Node) -> bool {
    node.child("discriminator").is_some()
        && node.child("oneOf").is_none()
        && node.child("anyOf").is_none()
        && node
            .pointer
            .strip_prefix("/components/schemas/")
            .is_some_and(|name| !name.contains('/'))
}

/// Whether `schema` extends the component `base` through `allOf`: one of its
/// parts is a `$ref` to it, or to a component (or an inline part) that extends it.
fn extends(
    components: &Map<String, Value>,
    schema: &Value,
    base: &str,
    seen: &mut BTreeSet<String>,
) -> bool {
    let Some(parts) = schema.get("allOf").and_then(Value::as_array) else {
        return false;
    };
    parts.iter().any(|part| {
        match part
            .get("$ref")
            .and_then(Value::as_str)
            .map(|r| r.strip_prefix("#/components/schemas/"))
        {
            Some(Some(name)) if name == base => true,
            Some(Some(name)) => {
                seen.insert(name.to_owned())
                    && components
                        .get(name)
                        .is_some_and(|s| extends(components, s, base, seen))
            }
            Some(None) => false,
            None => extends(components, part, base, seen),
        }
    })
}

/// Reads `discriminator: {propertyName, mapping}` and gives every variant its
/// tag: the mapping's values that name it, else its schema name (as the contract
/// spells it, before any renaming to a type name). A schema the mapping names
/// several times is a variant per value, in the mapping's order, so that each
/// tag reads and writes as itself. A mapping may only name variants (`stray`
/// words the error), and no two variants may share a tag. Returns the property
/// name.
fn tag_variants(
    d: &Node,
    variants: &mut Vec<UnionVariant>,
    contract_names: &BTreeMap<String, String>,
    stray: impl Fn(&str, &str) -> String,
) -> Result<String> {
    d.check_keys(&["propertyName", "mapping"])?;
    let property = d.req_str("propertyName")?.to_owned();
    let mut mapping: Vec<(String, String)> = Vec::new();
    if let Some(map) = d.child("mapping") {
        for (value, target) in map.entries()? {
            let target = target.as_str()?;
            let schema = target
                .strip_prefix("#/components/schemas/")
                .unwrap_or(target);
            mapping.push((value.to_owned(), schema.to_owned()));
        }
    }
    if let Some((value, schema)) = mapping
        .iter()
        .find(|(_, schema)| !variants.iter().any(|v| &v.schema == schema))
    {
        return Err(d.error(stray(value, schema)));
    }
    let mut tagged = Vec::new();
    for variant in variants.drain(..) {
        let mut tags: Vec<String> = mapping
            .iter()
            .filter(|(_, schema)| schema == &variant.schema)
            .map(|(value, _)| value.clone())
            .collect();
        if tags.is_empty() {
            tags.push(
                contract_names
                    .get(&variant.schema)
                    .unwrap_or(&variant.schema)
                    .clone(),
            );
        }
        for tag in tags {
            tagged.push(UnionVariant {
                schema: variant.schema.clone(),
                tag: Some(tag),
            });
        }
    }
    *variants = tagged;
    for (i, variant) in variants.iter().enumerate() {
        if let Some(other) = variants[..i].iter().find(|v| v.tag == variant.tag) {
            return Err(d.error(format!(
                "`{}` and `{}` would both be told by `{property}: {}`",
                other.schema,
                variant.schema,
                variant.tag.as_deref().unwrap_or_default()
            )));
        }
    }
    Ok(property)
}

/// Every name in `required` must be one of the object's properties.
fn check_required(node: &Node, object: &ObjectSchema, required: &BTreeSet<String>) -> Result<()> {
    match required
        .iter()
        .find(|r| !object.fields.iter().any(|f| &f.json_name == *r))
    {
        Some(missing) => Err(node
            .child("required")
            .unwrap_or_else(|| node.clone())
            .error(format!(
                "`{missing}` is required but not among the properties"
            ))),
        None => Ok(()),
    }
}

/// `additionalProperties` with a schema and no `properties`: a dictionary.
/// A free-form object (no `properties`, other properties allowed) is a map of
/// any values.
fn is_map(node: &Node) -> bool {
    node.child("properties").is_none()
        && match node.child("additionalProperties") {
            None => true,
            Some(a) => a.value.is_object() || a.value == &Value::Bool(true),
        }
}

fn with_annotations(keys: &[&'static str]) -> Vec<&'static str> {
    let mut all = keys.to_vec();
    all.extend(SCHEMA_ANNOTATIONS);
    all
}

/// The non-null types of a schema and whether `null` is allowed, from either the
/// 3.0 form (`nullable: true`) or the 3.1 form (`type: [string, "null"]`).
fn types_of<'a>(node: &Node<'a>) -> Result<(Vec<&'a str>, bool)> {
    for unsupported in [
        "allOf",
        "oneOf",
        "anyOf",
        "not",
        "discriminator",
        "const",
        "uniqueItems",
        "multipleOf",
        "patternProperties",
        "minProperties",
        "maxProperties",
    ] {
        if unsupported == "discriminator" && is_inheritance_base(node) {
            continue;
        }
        if let Some(child) = node.child(unsupported) {
            return Err(child.error(format!("`{unsupported}` is not supported yet")));
        }
    }
    let mut nullable = node.opt_bool("nullable")?.unwrap_or(false);
    let mut types = Vec::new();
    match node.child("type") {
        // Without `type`, the keywords say what the schema is about; with none of
        // them, it is any value.
        None if node.child("properties").is_some()
            || node.child("additionalProperties").is_some() =>
        {
            types.push("object")
        }
        None if node.child("items").is_some() => types.push("array"),
        None if node.child("enum").is_some_and(|e| {
            e.value
                .as_array()
                .is_some_and(|v| v.iter().all(|x| x.is_string() || x.is_null()))
        }) =>
        {
            types.push("string")
        }
        None => {}
        Some(t) => match t.value {
            Value::String(s) => types.push(s.as_str()),
            Value::Array(list) => {
                for item in list {
                    match item.as_str() {
                        Some("null") => nullable = true,
                        Some(s) => types.push(s),
                        None => return Err(t.error("`type` entries must be strings".into())),
                    }
                }
            }
            _ => return Err(t.error("`type` must be a string or an array of strings".into())),
        },
    }
    // A 3.1 `enum` of a nullable string lists `null` among its values.
    Ok((types, nullable))
}

fn string_enum(node: &Node) -> Result<Vec<String>> {
    let list = node.req("enum")?;
    let mut values = Vec::new();
    for item in list.items()? {
        match item.value {
            Value::String(s) => values.push(s.clone()),
            Value::Null => {}
            _ => return Err(item.error("string enums may only list strings".into())),
        }
    }
    if values.is_empty() {
        return Err(list.error("an enum must list at least one value".into()));
    }
    Ok(values)
}

fn int_enum(node: &Node) -> Result<Vec<i64>> {
    let list = node.req("enum")?;
    let mut values = Vec::new();
    for item in list.items()? {
        match item.value.as_i64() {
            Some(v) => values.push(v),
            None if item.value.is_null() => {}
            None => return Err(item.error("integer enums may only list integers".into())),
        }
    }
    if values.is_empty() {
        return Err(list.error("an enum must list at least one value".into()));
    }
    Ok(values)
}

/// `minimum` plus `exclusiveMinimum`, which is a boolean in 3.0 and a number in 3.1.
fn bound(node: &Node, inclusive: &str, exclusive: &str) -> Result<Option<Bound>> {
    let plain = node.opt_f64(inclusive)?;
    match node.child(exclusive).map(|n| n.value) {
        None | Some(Value::Bool(false)) => Ok(plain.map(|value| Bound {
            value,
            exclusive: false,
        })),
        Some(Value::Bool(true)) => match plain {
            Some(value) => Ok(Some(Bound {
                value,
                exclusive: true,
            })),
            None => Err(node
                .child(exclusive)
                .unwrap()
                .error(format!("`{exclusive}: true` needs `{inclusive}`"))),
        },
        Some(Value::Number(n)) => Ok(Some(Bound {
            value: n.as_f64().unwrap_or(f64::NAN),
            exclusive: true,
        })),
        Some(_) => Err(node.child(exclusive).unwrap().error(format!(
            "`{exclusive}` must be a number (3.1) or a boolean (3.0)"
        ))),
    }
}

/// `get /pets/{petId}/photos` → `getPetsByPetIdPhotos`.
fn derived_operation_id(method: Method, path: &str) -> String {
    let mut id = method.as_str().to_owned();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(var) => {
                id.push_str("By");
                id.push_str(&pascal_case(var));
            }
            None => id.push_str(&pascal_case(segment)),
        }
    }
    id
}

/// The description of the `default` response an OpenAPI 3.1 operation without
/// `responses` is given.
pub const UNDECLARED_RESPONSES: &str =
    "Any response: the contract declares none (`responses` left out)";

/// The type name a tag gives its trait and routes (`PascalCase` of its words;
/// the module is the same words in `snake_case`), or `None` when the tag has
/// no such name: not ASCII, no word, a first word that starts with a digit.
fn tag_type_name(tag: &str) -> Option<String> {
    let name = pascal_case(tag);
    (tag.is_ascii() && name.starts_with(|c: char| c.is_ascii_alphabetic()) && name != "Self")
        .then_some(name)
}

fn path_variables(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

/// A value in the document and its JSON pointer.
#[derive(Clone)]
struct Node<'a> {
    value: &'a Value,
    pointer: String,
}

impl<'a> Node<'a> {
    fn root(value: &'a Value) -> Self {
        Node {
            value,
            pointer: String::new(),
        }
    }

    fn error(&self, message: String) -> ContractError {
        ContractError {
            pointer: if self.pointer.is_empty() {
                "/".into()
            } else {
                self.pointer.clone()
            },
            message,
        }
    }

    fn object(&self) -> Result<&'a Map<String, Value>> {
        self.value
            .as_object()
            .ok_or_else(|| self.error("expected an object".into()))
    }

    fn child(&self, key: &str) -> Option<Node<'a>> {
        let value = self.value.as_object()?.get(key)?;
        Some(Node {
            value,
            pointer: format!(
                "{}/{}",
                self.pointer,
                key.replace('~', "~0").replace('/', "~1")
            ),
        })
    }

    fn req(&self, key: &str) -> Result<Node<'a>> {
        self.child(key)
            .ok_or_else(|| self.error(format!("`{key}` is required here")))
    }

    fn entries(&self) -> Result<Vec<(&'a str, Node<'a>)>> {
        let map = self.object()?;
        Ok(map
            .iter()
            .filter(|(k, _)| !k.starts_with("x-"))
            .map(|(k, _)| (k.as_str(), self.child(k).expect("key exists")))
            .collect())
    }

    fn items(&self) -> Result<Vec<Node<'a>>> {
        let list = self
            .value
            .as_array()
            .ok_or_else(|| self.error("expected an array".into()))?;
        Ok(list
            .iter()
            .enumerate()
            .map(|(i, value)| Node {
                value,
                pointer: format!("{}/{i}", self.pointer),
            })
            .collect())
    }

    fn as_str(&self) -> Result<&'a str> {
        self.value
            .as_str()
            .ok_or_else(|| self.error("expected a string".into()))
    }

    fn req_str(&self, key: &str) -> Result<&'a str> {
        self.req(key)?.as_str()
    }

    fn opt_str(&self, key: &str) -> Result<Option<&'a str>> {
        self.child(key).map(|n| n.as_str()).transpose()
    }

    fn opt_bool(&self, key: &str) -> Result<Option<bool>> {
        self.child(key)
            .map(|n| {
                n.value
                    .as_bool()
                    .ok_or_else(|| n.error("expected true or false".into()))
            })
            .transpose()
    }

    fn opt_u64(&self, key: &str) -> Result<Option<u64>> {
        self.child(key)
            .map(|n| {
                n.value
                    .as_u64()
                    .ok_or_else(|| n.error("expected a non-negative integer".into()))
            })
            .transpose()
    }

    fn opt_f64(&self, key: &str) -> Result<Option<f64>> {
        self.child(key)
            .map(|n| {
                n.value
                    .as_f64()
                    .ok_or_else(|| n.error("expected a number".into()))
            })
            .transpose()
    }

    /// Every key must be one this walk handles, or an `x-` extension.
    fn check_keys(&self, allowed: &[&str]) -> Result<()> {
        for key in self.object()?.keys() {
            if !key.starts_with("x-") && !allowed.contains(&key.as_str()) {
                let child = self.child(key).expect("key exists");
                return Err(child.error(format!("`{key}` is not supported here yet")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_yaml(yaml: &str) -> Result<Api> {
        let value: Value = serde_norway::from_str(yaml).unwrap();
        load(&value)
    }

    const HEAD: &str = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\nsecurity: []\n";

    #[test]
    fn an_inline_json_array_body_is_a_named_array_and_date_headers_keep_their_format() {
        let api = load_yaml(&format!(
            "{HEAD}paths:\n  /a:\n    post:\n      operationId: addAll\n      tags: [a]\n      requestBody:\n        required: true\n        content:\n          application/json:\n            schema: {{type: array, maxItems: 2, items: {{type: string}}}}\n      responses:\n        '204': {{description: ok}}\n"
        ))
        .unwrap();
        let body = api.operations[0].body.as_ref().unwrap();
        assert_eq!(body.schema.ty, Type::Named("AddAllBody".into()));
        let named = api.schemas.iter().find(|s| s.name == "AddAllBody").unwrap();
        let SchemaKind::Alias(array) = &named.kind else {
            panic!("{named:?}")
        };
        assert_eq!(array.rules.max_items, Some(2));
        let dated = load_yaml(&format!(
            "{HEAD}paths:\n  /a:\n    get:\n      operationId: getA\n      tags: [a]\n      responses:\n        '204':\n          description: ok\n          headers:\n            X-Expires: {{required: true, schema: {{type: string, format: date-time}}}}\n            X-Day: {{schema: {{type: string, format: date}}}}\n            X-Digest: {{schema: {{type: string, format: byte}}}}\n"
        ))
        .unwrap();
        let headers: Vec<(&str, bool, &Type)> = dated.operations[0].responses[0]
            .headers
            .iter()
            .map(|h| (h.name.as_str(), h.required, &h.schema.ty))
            .collect();
        assert_eq!(
            headers,
            [
                ("X-Expires", true, &Type::String(StringFormat::DateTime)),
                ("X-Day", false, &Type::String(StringFormat::Date)),
                ("X-Digest", false, &Type::String(StringFormat::Byte)),
            ]
        );
        let err = load_yaml(&format!(
            "{HEAD}paths:\n  /a:\n    get:\n      operationId: getA\n      tags: [a]\n      responses:\n        '204':\n          description: ok\n          headers:\n            X-Open: {{schema: {{type: boolean}}}}\n"
        ))
        .unwrap_err();
        assert_eq!(err.pointer, "/paths/~1a/get/responses/204/headers/X-Open");
        assert!(
            err.message.contains("must be a string or integer"),
            "{}",
            err.message
        );
    }

    #[test]
    fn space_and_pipe_delimited_query_arrays_load_and_misuses_are_refused() {
        let load = |param: &str| {
            load_yaml(&format!(
                "{HEAD}paths:\n  /a:\n    get:\n      operationId: getA\n      tags: [a]\n      parameters:\n        - {param}\n      responses:\n        '204': {{description: ok}}\n"
            ))
        };
        // `explode` defaults to `false` for every style but `form`.
        let api = load("{name: ids, in: query, style: pipeDelimited, schema: {type: array, items: {type: integer}}}").unwrap();
        let param = &api.operations[0].params[0];
        assert_eq!(
            (param.style, param.explode, param.delimiter()),
            (Style::PipeDelimited, false, '|')
        );
        let api = load("{name: ids, in: query, style: spaceDelimited, explode: false, schema: {type: array, items: {type: string}}}").unwrap();
        assert_eq!(api.operations[0].params[0].delimiter(), ' ');
        let refused = |param: &str, says: &str| {
            let err = load(param).unwrap_err();
            assert_eq!(err.pointer, "/paths/~1a/get/parameters/0/style", "{param}");
            assert!(err.message.contains(says), "{param}: {}", err.message);
        };
        refused(
            "{name: ids, in: query, style: spaceDelimited, explode: true, schema: {type: array, items: {type: string}}}",
            "with `explode: true` is not supported",
        );
        refused(
            "{name: X-Ids, in: header, style: pipeDelimited, schema: {type: array, items: {type: string}}}",
            "is for query parameters only",
        );
        refused(
            "{name: id, in: query, style: pipeDelimited, schema: {type: string}}",
            "is for arrays and objects; parameter `id` is neither",
        );
        refused(
            "{name: id, in: query, style: matrix, schema: {type: string}}",
            "`style: matrix` is for path parameters only",
        );
    }

    const FILTER: &str = "components:\n  schemas:\n    Filter:\n      type: object\n      required: [name]\n      properties:\n        name: {type: string, maxLength: 5}\n        size: {type: integer}\n        kind: {type: string, enum: [a, b]}\n    Nested:\n      type: object\n      properties:\n        name: {type: string}\n        tags: {type: array, items: {type: string}}\n";

    fn with_params(params: &[&str]) -> Result<Api> {
        let list: String = params.iter().map(|p| format!("        - {p}\n")).collect();
        load_yaml(&format!(
            "{HEAD}paths:\n  /a/{{id}}:\n    get:\n      operationId: getA\n      tags: [a]\n      parameters:\n        - {{name: id, in: path, required: true, schema: {{type: string}}}}\n{list}      responses:\n        '204': {{description: ok}}\n{FILTER}"
        ))
    }

    /// Object parameters (ADR 23): each unambiguous row of the style table
    /// loads, with its properties, `style` and `explode`.
    #[test]
    fn object_parameters_load_in_every_unambiguous_style() {
        let param = |p: &str| {
            let api = with_params(&[p]).unwrap_or_else(|e| panic!("{p}: {e}"));
            let param = api.operations[0].params[1].clone();
            let names: Vec<String> = param
                .object
                .as_ref()
                .expect("an object")
                .iter()
                .map(|f| format!("{}{}", f.json_name, if f.required { "!" } else { "" }))
                .collect();
            (param.style, param.explode, names.join(" "))
        };
        let f = "$ref: '#/components/schemas/Filter'";
        assert_eq!(
            param(&format!("{{name: filter, in: query, schema: {{{f}}}}}")),
            (Style::Form, true, "name! size kind".to_owned())
        );
        assert!(
            !param(&format!(
                "{{name: filter, in: query, explode: false, schema: {{{f}}}}}"
            ))
            .1
        );
        // `deepObject` is exploded, whether `explode` says so or is left out.
        assert_eq!(
            param(&format!(
                "{{name: filter, in: query, style: deepObject, schema: {{{f}}}}}"
            )),
            (Style::DeepObject, true, "name! size kind".to_owned())
        );
        assert_eq!(
            param(&format!(
                "{{name: X-Filter, in: header, explode: true, schema: {{{f}}}}}"
            )),
            (Style::Simple, true, "name! size kind".to_owned())
        );
        assert_eq!(
            param("{name: filter, in: query, style: deepObject, schema: {type: object, properties: {q: {type: string}}}}").2,
            "q"
        );
        // `spaceDelimited`/`pipeDelimited` objects: `explode: false`, their default.
        let piped = param(&format!(
            "{{name: filter, in: query, style: pipeDelimited, schema: {{{f}}}}}"
        ));
        assert_eq!((piped.0, piped.1), (Style::PipeDelimited, false));
        let api = load_yaml(&format!(
            "{HEAD}paths:\n  /a/{{f}}:\n    get:\n      operationId: getA\n      tags: [a]\n      parameters:\n        - {{name: f, in: path, required: true, style: matrix, explode: true, schema: {{{f}}}}}\n      responses:\n        '204': {{description: ok}}\n{FILTER}"
        ))
        .unwrap();
        let path = &api.operations[0].params[0];
        assert_eq!(
            (path.style, path.explode, path.is_object()),
            (Style::Matrix, true, true)
        );
    }

    /// Parameters the generator refuses, each at its pointer and saying why.
    #[test]
    fn object_parameters_and_exploded_cookie_arrays_are_refused_with_the_reason() {
        let refused = |params: &[&str], pointer: &str, says: &str| {
            let err = with_params(params).unwrap_err();
            assert_eq!(err.pointer, pointer, "{params:?}: {}", err.message);
            assert!(err.message.contains(says), "{params:?}: {}", err.message);
        };
        let f = "{$ref: '#/components/schemas/Filter'}";
        // Nested properties: at the property.
        refused(
            &["{name: n, in: query, schema: {$ref: '#/components/schemas/Nested'}}"],
            "/components/schemas/Nested/properties/tags",
            "property `tags` of parameter `n` must be a string, integer, number, boolean or string enum",
        );
        refused(
            &[
                "{name: n, in: query, schema: {type: object, properties: {inner: {type: object, properties: {a: {type: string}}}}}}",
            ],
            "/paths/~1a~1{id}/get/parameters/1/schema/properties/inner",
            "property `inner` of parameter `n`",
        );
        refused(
            &[
                "{name: n, in: header, schema: {type: object, properties: {a: {type: string, nullable: true}}}}",
            ],
            "/paths/~1a~1{id}/get/parameters/1/schema/properties/a",
            "cannot be nullable",
        );
        // Cookies: by decision, as the exploded array cookie.
        refused(
            &[&format!(
                "{{name: c, in: cookie, explode: false, schema: {f}}}"
            )],
            "/paths/~1a~1{id}/get/parameters/1/schema",
            "cookie parameter `c` is an object: not supported, by decision",
        );
        refused(
            &[&format!(
                "{{name: filter, in: query, style: deepObject, explode: false, schema: {f}}}"
            )],
            "/paths/~1a~1{id}/get/parameters/1/style",
            "OpenAPI defines `deepObject` exploded only",
        );
        refused(
            &[&format!(
                "{{name: X-Filter, in: header, style: deepObject, schema: {f}}}"
            )],
            "/paths/~1a~1{id}/get/parameters/1/style",
            "`style: deepObject` is for query parameters only",
        );
        refused(
            &["{name: q, in: query, style: deepObject, schema: {type: string}}"],
            "/paths/~1a~1{id}/get/parameters/1/style",
            "`style: deepObject` is for objects; parameter `q` is not one",
        );
        refused(
            &[&format!(
                "{{name: filter, in: query, style: pipeDelimited, explode: true, schema: {f}}}"
            )],
            "/paths/~1a~1{id}/get/parameters/1/style",
            "with `explode: true` is not supported",
        );
        // An exploded `form` object's properties are query parameters: one
        // may not be sent twice.
        refused(
            &[
                "{name: size, in: query, schema: {type: integer}}",
                &format!("{{name: filter, in: query, schema: {f}}}"),
            ],
            "/paths/~1a~1{id}/get/parameters/2",
            "query parameter `size` would be sent twice: by `size` and by `filter`",
        );
        assert!(
            with_params(&[
                "{name: size, in: query, schema: {type: integer}}",
                &format!("{{name: filter, in: query, style: deepObject, schema: {f}}}")
            ])
            .is_ok(),
            "`filter[size]` is not `size`"
        );
        refused(
            &[
                "{name: ids, in: query, schema: {type: array, items: {$ref: '#/components/schemas/Filter'}}}",
            ],
            "/paths/~1a~1{id}/get/parameters/1/schema",
            "is an array of objects, which no parameter style writes",
        );
        refused(
            &["{name: ids, in: cookie, schema: {type: array, items: {type: string}}}"],
            "/paths/~1a~1{id}/get/parameters/1",
            "`ids=a&ids=b`",
        );
    }

    #[test]
    fn schema_names_become_type_names_deterministically() {
        let err = load_yaml(&format!(
            "{HEAD}paths: {{}}\ncomponents:\n  schemas:\n    pet_tag:\n      type: string\n    PetTag:\n      type: object\n      properties:\n        tag: {{$ref: '#/components/schemas/pet_tag'}}\n    petTag:\n      type: string\n    2fa:\n      type: string\n    Vehicle:\n      oneOf:\n        - $ref: '#/components/schemas/s3Import'\n        - $ref: '#/components/schemas/gcs.import'\n      discriminator:\n        propertyName: kind\n        mapping:\n          gcs: gcs.import\n    s3Import:\n      type: object\n      required: [kind]\n      properties:\n        kind: {{type: string}}\n    gcs.import:\n      type: object\n      required: [kind]\n      properties:\n        kind: {{type: string}}\n        bad: {{not: {{}}}}\n"
        ))
        .unwrap_err();
        // Errors name the schema as the contract does.
        assert_eq!(
            err.pointer,
            "/components/schemas/gcs.import/properties/bad/not"
        );
        let api = load_yaml(&format!(
            "{HEAD}paths: {{}}\ncomponents:\n  schemas:\n    pet_tag:\n      type: string\n    PetTag:\n      type: object\n      properties:\n        tag: {{$ref: '#/components/schemas/pet_tag'}}\n    petTag:\n      type: string\n    2fa:\n      type: string\n    Vehicle:\n      oneOf:\n        - $ref: '#/components/schemas/s3Import'\n        - $ref: '#/components/schemas/gcs.import'\n      discriminator:\n        propertyName: kind\n        mapping:\n          gcs: gcs.import\n    s3Import:\n      type: object\n      required: [kind]\n      properties:\n        kind: {{type: string}}\n    gcs.import:\n      type: object\n      required: [kind]\n      properties:\n        kind: {{type: string}}\n"
        ))
        .unwrap();
        let names: Vec<&str> = api.schemas.iter().map(|s| s.name.as_str()).collect();
        // `PetTag` keeps its name; the others get the next free one, in order.
        assert_eq!(
            names,
            [
                "GcsImport",
                "PetTag",
                "PetTag2",
                "PetTag3",
                "S3Import",
                "Schema2fa",
                "Vehicle"
            ]
        );
        let SchemaKind::Object(tag) = &api.schemas[1].kind else {
            panic!()
        };
        assert_eq!(tag.fields[0].schema.ty, Type::Named("PetTag2".into()));
        let SchemaKind::Union(vehicle) = &api.schemas[6].kind else {
            panic!()
        };
        // A discriminator tells a renamed variant by its name in the contract.
        let tags: Vec<(&str, &str)> = vehicle
            .variants
            .iter()
            .map(|v| (v.schema.as_str(), v.tag.as_deref().unwrap()))
            .collect();
        assert_eq!(tags, [("S3Import", "s3Import"), ("GcsImport", "gcs")]);
    }

    #[test]
    fn nullable_reads_the_same_in_3_0_and_3_1() {
        let v30 = format!(
            "{HEAD}paths: {{}}\ncomponents:\n  schemas:\n    A:\n      type: object\n      properties:\n        x: {{type: string, nullable: true}}\n"
        );
        let v31 = "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\ncomponents:\n  schemas:\n    A:\n      type: object\n      properties:\n        x: {type: [string, 'null']}\n";
        for doc in [v30.as_str(), v31] {
            let api = load_yaml(doc).unwrap();
            let SchemaKind::Object(object) = &api.schemas[0].kind else {
                panic!()
            };
            assert!(object.fields[0].schema.nullable, "{doc}");
            assert_eq!(
                object.fields[0].schema.ty,
                Type::String(StringFormat::Plain)
            );
        }
    }

    #[test]
    fn exclusive_bounds_read_the_same_in_3_0_and_3_1() {
        let v30 = format!(
            "{HEAD}paths: {{}}\ncomponents:\n  schemas:\n    A:\n      type: object\n      properties:\n        x: {{type: integer, minimum: 1, exclusiveMinimum: true}}\n"
        );
        let v31 = "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\ncomponents:\n  schemas:\n    A:\n      type: object\n      properties:\n        x: {type: integer, exclusiveMinimum: 1}\n";
        for doc in [v30.as_str(), v31] {
            let api = load_yaml(doc).unwrap();
            let SchemaKind::Object(object) = &api.schemas[0].kind else {
                panic!()
            };
            assert_eq!(
                object.fields[0].schema.rules.minimum,
                Some(Bound {
                    value: 1.0,
                    exclusive: true
                })
            );
        }
    }

    #[test]
    fn unsupported_keywords_are_named_by_pointer() {
        let doc = format!(
            "{HEAD}paths: {{}}\ncomponents:\n  schemas:\n    A:\n      type: object\n      properties:\n        pet:\n          not: {{type: string}}\n"
        );
        let err = load_yaml(&doc).unwrap_err();
        assert_eq!(err.pointer, "/components/schemas/A/properties/pet/not");
    }

    #[test]
    fn all_of_merges_parts_and_their_required_lists() {
        let doc = format!(
            "{HEAD}paths: {{}}\ncomponents:\n  schemas:\n    Base:\n      type: object\n      properties:\n        id: {{type: string}}\n    Named:\n      allOf:\n        - $ref: '#/components/schemas/Base'\n        - required: [id, name]\n          properties:\n            name: {{type: string}}\n"
        );
        let api = load_yaml(&doc).unwrap();
        let named = api.schemas.iter().find(|s| s.name == "Named").unwrap();
        let SchemaKind::Object(object) = &named.kind else {
            panic!("{named:?}")
        };
        let fields: Vec<(&str, bool)> = object
            .fields
            .iter()
            .map(|f| (f.json_name.as_str(), f.required))
            .collect();
        assert_eq!(fields, [("id", true), ("name", true)]);
    }

    /// A base with a discriminator and no `oneOf`, `Cat` extending it
    /// directly, `Kitten` through `Cat`, and `Dog` only named by the mapping;
    /// `extra` is appended to the schemas.
    fn inheritance(mapping: &str, extra: &str) -> String {
        format!(
            "{HEAD}paths: {{}}\ncomponents:\n  schemas:\n    Pet:\n      type: object\n      required: [petType]\n      properties:\n        petType: {{type: string}}\n      discriminator:\n        propertyName: petType\n{mapping}    Cat:\n      allOf:\n        - $ref: '#/components/schemas/Pet'\n        - properties:\n            lives: {{type: integer}}\n    Kitten:\n      allOf:\n        - $ref: '#/components/schemas/Cat'\n    Dog:\n      allOf:\n        - $ref: '#/components/schemas/Pet'\n{extra}"
        )
    }

    #[test]
    fn a_discriminator_without_one_of_is_the_union_of_the_subtypes() {
        let mapping = "        mapping:\n          dog: '#/components/schemas/Dog'\n";
        let api = load_yaml(&inheritance(mapping, "")).unwrap();
        let pet = api.schemas.iter().find(|s| s.name == "Pet").unwrap();
        let SchemaKind::Union(union) = &pet.kind else {
            panic!("{pet:?}")
        };
        let variants: Vec<(&str, Option<&str>)> = union
            .variants
            .iter()
            .map(|v| (v.schema.as_str(), v.tag.as_deref()))
            .collect();
        assert_eq!(
            variants,
            [
                ("Cat", Some("Cat")),
                ("Kitten", Some("Kitten")),
                ("Dog", Some("dog"))
            ]
        );
        assert_eq!(union.discriminator.as_deref(), Some("petType"));
        // Each subtype is still the merged object, base properties included.
        let kitten = api.schemas.iter().find(|s| s.name == "Kitten").unwrap();
        let SchemaKind::Object(object) = &kitten.kind else {
            panic!("{kitten:?}")
        };
        let fields: Vec<(&str, bool)> = object
            .fields
            .iter()
            .map(|f| (f.json_name.as_str(), f.required))
            .collect();
        assert_eq!(fields, [("petType", true), ("lives", false)]);
    }

    #[test]
    fn what_a_discriminator_without_one_of_cannot_mean_is_refused() {
        let stray = "        mapping:\n          bird: '#/components/schemas/Bird'\n";
        let bird = "    Bird:\n      type: object\n      required: [petType]\n      properties:\n        petType: {type: string}\n";
        let err = load_yaml(&inheritance(stray, bird)).unwrap_err();
        assert_eq!(err.pointer, "/components/schemas/Pet/discriminator");
        assert!(err.message.contains("does not extend `Pet`"), "{err}");

        let base_itself = "        mapping:\n          pet: '#/components/schemas/Pet'\n";
        let err = load_yaml(&inheritance(base_itself, "")).unwrap_err();
        assert!(
            err.message.contains("`Pet`, which does not extend"),
            "{err}"
        );

        let clash = "        mapping:\n          Cat: '#/components/schemas/Dog'\n";
        let err = load_yaml(&inheritance(clash, "")).unwrap_err();
        assert!(
            err.message.contains("would both be told by `petType: Cat`"),
            "{err}"
        );

        let as_entry = "    Either:\n      oneOf:\n        - $ref: '#/components/schemas/Pet'\n";
        let err = load_yaml(&inheritance("", as_entry)).unwrap_err();
        assert_eq!(err.pointer, "/components/schemas/Either/oneOf/0");

        let nested = "    Tiger:\n      allOf:\n        - $ref: '#/components/schemas/Pet'\n      discriminator:\n        propertyName: petType\n";
        let err = load_yaml(&inheritance("", nested)).unwrap_err();
        assert_eq!(err.pointer, "/components/schemas/Tiger/discriminator");

        let lonely = format!(
            "{HEAD}paths: {{}}\ncomponents:\n  schemas:\n    Pet:\n      type: object\n      required: [petType]\n      properties:\n        petType: {{type: string}}\n      discriminator:\n        propertyName: petType\n"
        );
        let err = load_yaml(&lonely).unwrap_err();
        assert!(
            err.message.contains("no component schema extends `Pet`"),
            "{err}"
        );

        // Subtypes need not require the discriminator (the union writes it),
        // but one that cannot hold it at all is refused.
        let optional = inheritance("", "").replace("      required: [petType]\n", "");
        load_yaml(&optional).unwrap();

        // Inline, with no component to extend, it still means nothing.
        let inline = format!(
            "{HEAD}paths: {{}}\ncomponents:\n  schemas:\n    A:\n      type: object\n      properties:\n        pet:\n          type: object\n          discriminator: {{propertyName: x}}\n"
        );
        let err = load_yaml(&inline).unwrap_err();
        assert_eq!(
            err.pointer,
            "/components/schemas/A/properties/pet/discriminator"
        );
    }

    #[test]
    fn a_mapping_may_give_a_schema_several_tags_and_variants_need_not_declare_the_property() {
        let yaml = format!(
            "{HEAD}paths: {{}}\ncomponents:\n  schemas:\n    Shape:\n      oneOf:\n        - $ref: '#/components/schemas/Round'\n        - $ref: '#/components/schemas/Square'\n        - $ref: '#/components/schemas/Blob'\n      discriminator:\n        propertyName: kind\n        mapping:\n          circle: '#/components/schemas/Round'\n          square: Square\n          disc: '#/components/schemas/Round'\n    Round:\n      type: object\n      required: [kind]\n      properties:\n        kind: {{type: string}}\n    Square:\n      type: object\n      properties:\n        kind: {{type: string}}\n    Blob:\n      type: object\n      properties:\n        size: {{type: integer}}\n"
        );
        let api = load_yaml(&yaml).unwrap();
        let shape = api.schemas.iter().find(|s| s.name == "Shape").unwrap();
        let SchemaKind::Union(union) = &shape.kind else {
            panic!("{shape:?}")
        };
        let variants: Vec<(&str, Option<&str>)> = union
            .variants
            .iter()
            .map(|v| (v.schema.as_str(), v.tag.as_deref()))
            .collect();
        // A variant per tag, in the order of the entries, then of the mapping.
        assert_eq!(
            variants,
            [
                ("Round", Some("circle")),
                ("Round", Some("disc")),
                ("Square", Some("square")),
                ("Blob", Some("Blob")),
            ]
        );

        // A variant without the property that refuses unknown ones can never
        // carry the tag.
        let closed = yaml.replace(
            "    Blob:\n      type: object\n",
            "    Blob:\n      type: object\n      additionalProperties: false\n",
        );
        let err = load_yaml(&closed).unwrap_err();
        assert_eq!(err.pointer, "/components/schemas/Shape/discriminator");
        assert!(
            err.message
                .contains("`Blob` has no property `kind` and `additionalProperties: false`"),
            "{err}"
        );
    }

    #[test]
    fn properties_beside_one_of_are_an_object_with_the_union_flattened_into_it() {
        let yaml = format!(
            "{HEAD}paths: {{}}\ncomponents:\n  schemas:\n    Order:\n      type: object\n      required: [id, via]\n      properties:\n        id: {{type: string}}\n        via:\n          type: string\n          enum: [post, pickup, courier]\n      oneOf:\n        - $ref: '#/components/schemas/Shipped'\n        - $ref: '#/components/schemas/Collected'\n      discriminator:\n        propertyName: via\n        mapping:\n          post: Shipped\n          courier: Shipped\n          pickup: Collected\n    Shipped:\n      type: object\n      properties:\n        address: {{type: string}}\n    Collected:\n      type: object\n      properties:\n        store: {{type: string}}\n"
        );
        let api = load_yaml(&yaml).unwrap();
        let order = api.schemas.iter().find(|s| s.name == "Order").unwrap();
        let SchemaKind::Object(object) = &order.kind else {
            panic!("{order:?}")
        };
        // The discriminator is the union's: it leaves the fields, and its
        // inline enum is not a type of its own.
        let fields: Vec<&str> = object.fields.iter().map(|f| f.json_name.as_str()).collect();
        assert_eq!(fields, ["id"]);
        assert_eq!(object.union.as_deref(), Some("OrderOneOf"));
        assert!(!api.schemas.iter().any(|s| s.name == "OrderVia"));
        let union = api.union("OrderOneOf").unwrap();
        let tags: Vec<&str> = union
            .variants
            .iter()
            .filter_map(|v| v.tag.as_deref())
            .collect();
        assert_eq!(tags, ["post", "courier", "pickup"]);
        assert_eq!(union.discriminator.as_deref(), Some("via"));

        // Only the discriminator beside the union: the schema is the union.
        let bare = yaml
            .replace("      required: [id, via]\n", "")
            .replace("        id: {type: string}\n", "");
        let api = load_yaml(&bare).unwrap();
        assert!(api.union("Order").is_some());
        assert!(!api.schemas.iter().any(|s| s.name == "OrderOneOf"));

        // What cannot be one object is refused where it is written.
        let refused = |from: &str, to: &str, pointer: &str, words: &str| {
            let err = load_yaml(&yaml.replace(from, to)).unwrap_err();
            assert_eq!(err.pointer, pointer, "{err}");
            assert!(err.message.contains(words), "{err}");
        };
        refused(
            "      required: [id, via]\n",
            "      required: [id, via]\n      additionalProperties: false\n",
            "/components/schemas/Order/additionalProperties",
            "would judge the variant's properties as unknown ones",
        );
        refused(
            "        - $ref: '#/components/schemas/Collected'\n",
            "        - $ref: '#/components/schemas/Collected'\n        - {type: string}\n",
            "/components/schemas/Order/oneOf/2",
            "each `oneOf` entry must be an object schema",
        );
        refused(
            "          enum: [post, pickup, courier]\n",
            "          enum: [post, pickup]\n",
            "/components/schemas/Order/properties/via",
            "`Shipped` is told by `via: courier`, which `via` does not allow",
        );
        refused(
            "        via:\n          type: string\n          enum: [post, pickup, courier]\n",
            "        via: {type: integer}\n",
            "/components/schemas/Order/properties/via",
            "must be a string or a string enum",
        );
        refused(
            "        store: {type: string}\n",
            "        store: {type: string}\n        id: {type: string}\n",
            "/components/schemas/Order/properties/id",
            "`id` is declared beside `oneOf`/`anyOf` and by its variant `Collected`",
        );
    }

    #[test]
    fn an_object_with_a_union_beside_its_properties_is_json_only() {
        let yaml = format!(
            "{HEAD}paths:\n  /o:\n    post:\n      operationId: o\n      tags: [t]\n      requestBody:\n        required: true\n        content:\n          application/x-www-form-urlencoded:\n            schema:\n              type: object\n              properties:\n                id: {{type: string}}\n              anyOf:\n                - $ref: '#/components/schemas/A'\n      responses:\n        '204': {{description: ok}}\ncomponents:\n  schemas:\n    A:\n      type: object\n      properties:\n        a: {{type: string}}\n"
        );
        let err = load_yaml(&yaml).unwrap_err();
        assert_eq!(err.pointer, "/paths/~1o/post/requestBody/content");
        assert!(err.message.contains("only a JSON body can carry"), "{err}");
        let json = yaml.replace("application/x-www-form-urlencoded", "application/json");
        let api = load_yaml(&json).unwrap();
        let body = api.schemas.iter().find(|s| s.name == "OBody").unwrap();
        assert!(
            matches!(&body.kind, SchemaKind::Object(o) if o.union.as_deref() == Some("OBodyAnyOf"))
        );
        assert!(api.union("OBodyAnyOf").is_some_and(|u| u.any_of));
    }

    #[test]
    fn an_all_of_cycle_is_an_error_not_a_hang() {
        let doc = format!(
            "{HEAD}paths: {{}}\ncomponents:\n  schemas:\n    A:\n      allOf: [{{$ref: '#/components/schemas/B'}}]\n    B:\n      allOf: [{{$ref: '#/components/schemas/A'}}]\n"
        );
        let err = load_yaml(&doc).unwrap_err();
        assert!(err.message.contains("refers back to itself"), "{err}");
    }

    #[test]
    fn ranges_and_default_are_statuses() {
        let doc = format!(
            "{HEAD}paths:\n  /a:\n    get:\n      operationId: getA\n      tags: [a]\n      responses:\n        '200': {{description: ok}}\n        '4XX': {{description: client}}\n        default: {{description: other, content: {{application/json: {{schema: {{type: object}}}}}}}}\n"
        );
        let api = load_yaml(&doc).unwrap();
        let statuses: Vec<Status> = api.operations[0]
            .responses
            .iter()
            .map(|r| r.status)
            .collect();
        assert_eq!(
            statuses,
            [Status::Code(200), Status::Range(4), Status::Default]
        );
        let bad = doc.replace("'4XX'", "'4XY'");
        assert!(
            load_yaml(&bad)
                .unwrap_err()
                .message
                .contains("is not a status")
        );
    }

    #[test]
    fn unknown_keys_are_not_dropped() {
        let doc = format!(
            "{HEAD}paths:\n  /a:\n    get:\n      operationId: getA\n      tags: [a]\n      callbacks: {{}}\n      responses: {{'204': {{description: ok}}}}\n"
        );
        let err = load_yaml(&doc).unwrap_err();
        assert_eq!(err.pointer, "/paths/~1a/get/callbacks");
    }

    fn load_public(yaml: &str) -> Result<Api> {
        let value: Value = serde_norway::from_str(yaml).unwrap();
        load_with(&value, false)
    }

    #[test]
    fn tags_of_any_words_name_modules_and_only_collisions_are_refused() {
        let doc = |second: &str| {
            format!(
                "openapi: 3.1.0\ninfo: {{title: t, version: '1'}}\npaths:\n  /a:\n    get:\n      tags: ['multipart/form-data Encoding']\n      responses: {{'204': {{description: ok}}}}\n  /b:\n    get:\n      tags: ['{second}']\n      responses: {{'204': {{description: ok}}}}\n"
            )
        };
        let api = load_public(&doc("Query")).unwrap();
        let names: Vec<&str> = api.tags.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["multipart/form-data Encoding", "Query"]);
        assert_eq!(
            tag_type_name("multipart/form-data Encoding").as_deref(),
            Some("MultipartFormDataEncoding")
        );
        assert_eq!(
            snake_case("multipart/form-data Encoding"),
            "multipart_form_data_encoding"
        );

        let err = load_public(&doc("Multipart form-data/encoding")).unwrap_err();
        assert_eq!(err.pointer, "/paths/~1b/get/tags");
        assert!(
            err.message.contains("`multipart_form_data_encoding`"),
            "{}",
            err.message
        );

        for unnamed in ["2fa", "--", "Bücher", "Self"] {
            let err = load_public(&doc(unnamed)).unwrap_err();
            assert_eq!(err.pointer, "/paths/~1b/get/tags", "{unnamed}");
        }
        // Keel's own contracts keep lower-case words.
        let err = load_yaml(&format!(
            "{HEAD}paths:\n  /a:\n    get:\n      operationId: getA\n      tags: ['multipart/form-data Encoding']\n      responses: {{'204': {{description: ok}}}}\n"
        ))
        .unwrap_err();
        assert_eq!(err.pointer, "/paths/~1a/get/tags");
    }

    #[test]
    fn an_operation_without_responses_answers_anything_in_3_1_only() {
        let doc = |version: &str| {
            format!(
                "openapi: {version}\ninfo: {{title: t, version: '1'}}\npaths:\n  /a:\n    post:\n      operationId: postA\n"
            )
        };
        let api = load_public(&doc("3.1.0")).unwrap();
        let responses = &api.operations[0].responses;
        assert_eq!(responses.len(), 1);
        assert_eq!(responses[0].status, Status::Default);
        assert!(responses[0].content.is_none() && responses[0].headers.is_empty());

        let err = load_public(&doc("3.0.3")).unwrap_err();
        assert_eq!(err.pointer, "/paths/~1a/post");
        assert!(
            err.message.contains("OpenAPI 3.0 requires"),
            "{}",
            err.message
        );

        let value: Value = serde_norway::from_str(&format!(
            "{}security: []\n",
            doc("3.1.0").replace(
                "operationId: postA\n",
                "operationId: postA\n      tags: [a]\n"
            )
        ))
        .unwrap();
        let err = load(&value).unwrap_err();
        assert_eq!(err.pointer, "/paths/~1a/post");
    }

    #[test]
    fn an_operation_needs_exactly_one_tag() {
        let doc = format!(
            "{HEAD}paths:\n  /a:\n    get:\n      operationId: getA\n      tags: [a, b]\n      responses: {{'204': {{description: ok}}}}\n"
        );
        let err = load_yaml(&doc).unwrap_err();
        assert_eq!(err.pointer, "/paths/~1a/get/tags");
    }

    #[test]
    fn events_are_read_from_x_keel_event_and_malformed_ones_are_named() {
        let event = |marker: &str, ty: &str| {
            format!(
                "{HEAD}paths: {{}}\ncomponents:\n  schemas:\n    Happened:\n      type: {ty}\n      x-keel-event: {marker}\n      properties:\n        at: {{type: string}}\n"
            )
        };
        let api = load_yaml(&event("{name: thing.happened, version: 2}", "object")).unwrap();
        assert_eq!(
            api.events,
            vec![Event {
                name: "thing.happened".into(),
                version: 2,
                schema: "Happened".into()
            }]
        );
        for (marker, ty, message) in [
            (
                "{name: Thing, version: 1}",
                "object",
                "dotted lower-case words",
            ),
            (
                "{name: thing.happened, version: 0}",
                "object",
                "whole number from 1",
            ),
            ("{name: thing.happened}", "object", "`version` is required"),
            (
                "{name: thing.happened, version: 1, topic: x}",
                "object",
                "`topic` is not supported",
            ),
        ] {
            let err = load_yaml(&event(marker, ty)).unwrap_err();
            assert!(
                err.pointer
                    .starts_with("/components/schemas/Happened/x-keel-event"),
                "{marker}: {err}"
            );
            assert!(err.message.contains(message), "{marker}: {err}");
        }
    }

    #[test]
    fn multipart_encoding_takes_the_content_type_keel_sends_and_refuses_the_rest_by_key() {
        let doc = |encoding: &str| {
            format!(
                "{HEAD}paths:\n  /a:\n    post:\n      operationId: postA\n      tags: [a]\n      requestBody:\n        required: true\n        content:\n          multipart/form-data:\n            schema: {{$ref: '#/components/schemas/Upload'}}\n            encoding: {encoding}\n      responses: {{'204': {{description: ok}}}}\ncomponents:\n  schemas:\n    Upload:\n      type: object\n      properties:\n        file: {{type: string, format: binary}}\n        meta: {{type: object, properties: {{a: {{type: string}}}}}}\n        tags: {{type: array, items: {{type: string}}}}\n"
            )
        };
        load_yaml(&doc(
            "{file: {contentType: application/octet-stream}, meta: {contentType: application/json}, tags: {contentType: text/plain}}",
        ))
        .unwrap();
        let at = "/paths/~1a/post/requestBody/content/multipart~1form-data/encoding";
        for (encoding, pointer, says) in [
            (
                "{file: {contentType: image/png}}",
                "/file/contentType",
                "`application/octet-stream`",
            ),
            (
                "{meta: {contentType: text/plain}}",
                "/meta/contentType",
                "`application/json`",
            ),
            ("{tags: {headers: {}}}", "/tags/headers", "headers"),
            (
                "{tags: {style: form, explode: true}}",
                "/tags/style",
                "`style`",
            ),
            ("{tags: {explode: true}}", "/tags/explode", "`explode`"),
            ("{other: {contentType: text/plain}}", "/other", "`other`"),
        ] {
            let err = load_yaml(&doc(encoding)).unwrap_err();
            assert_eq!(err.pointer, format!("{at}{pointer}"), "{encoding}");
            assert!(err.message.contains(says), "{encoding}: {}", err.message);
        }
        // Outside multipart, `encoding` stays unknown.
        let form = doc("{tags: {explode: true}}")
            .replace("multipart/form-data:", "application/x-www-form-urlencoded:");
        let err = load_yaml(&form).unwrap_err();
        assert!(
            err.pointer
                .ends_with("/application~1x-www-form-urlencoded/encoding"),
            "{}",
            err.pointer
        );
    }

    #[test]
    fn files_travel_only_as_multipart_parts() {
        let doc = |media: &str, extra: &str| {
            format!(
                "{HEAD}paths:\n  /a:\n    post:\n      operationId: postA\n      tags: [a]\n      requestBody:\n        required: true\n        content:\n          {media}:\n            schema: {{$ref: '#/components/schemas/Upload'}}\n      responses: {{'204': {{description: ok}}}}\ncomponents:\n  schemas:\n    Upload:\n      type: object\n      required: [file]\n      properties:\n        file: {{type: string, format: binary}}\n        pages: {{type: array, items: {{type: string, format: binary}}}}\n{extra}"
            )
        };
        let api = load_yaml(&doc("multipart/form-data", "")).unwrap();
        assert_eq!(
            api.operations[0].body.as_ref().unwrap().media,
            [BodyMedia::Multipart]
        );
        assert_eq!(
            api.multipart_schemas().into_iter().collect::<Vec<_>>(),
            ["Upload"]
        );

        let err = load_yaml(&doc("application/json", "")).unwrap_err();
        assert_eq!(err.pointer, "/paths/~1a/post/requestBody/content");
        assert!(err.message.contains("multipart/form-data"), "{err}");
        // An object with files, inside another object: JSON again.
        let nested = "    Wrapper:\n      type: object\n      properties:\n        upload: {$ref: '#/components/schemas/Upload'}\n";
        let err = load_yaml(&doc("multipart/form-data", nested)).unwrap_err();
        assert_eq!(err.pointer, "/components/schemas/Wrapper/properties/upload");
        // A part holds a value or a file, not a list of lists.
        let deep = doc("multipart/form-data", "").replace(
            "pages: {type: array, items: {type: string, format: binary}}",
            "pages: {type: array, items: {type: array, items: {type: string}}}",
        );
        let err = load_yaml(&deep).unwrap_err();
        assert_eq!(
            err.pointer,
            "/paths/~1a/post/requestBody/content/multipart~1form-data"
        );
        assert!(err.message.contains("`pages`"), "{err}");
        // Bytes as a whole body, up or down, in a media type other than JSON.
        let raw = format!(
            "{HEAD}paths:\n  /a:\n    put:\n      operationId: putA\n      tags: [a]\n      requestBody:\n        required: true\n        content:\n          application/octet-stream:\n            schema: {{type: string, format: binary}}\n      responses:\n        '200':\n          description: ok\n          content:\n            image/png:\n              schema: {{type: string, format: binary}}\n"
        );
        let api = load_yaml(&raw).unwrap();
        assert!(api.operations[0].body.as_ref().unwrap().schema.is_bytes());
        let err = load_yaml(&raw.replace("image/png", "application/json")).unwrap_err();
        assert_eq!(err.pointer, "/paths/~1a/put/responses/200/content");
        let err = load_yaml(&raw.replace("image/png", "text/csv").replace(
            "content:\n            text/csv:\n              schema: {type: string, format: binary}",
            "content:\n            text/csv:\n              schema: {type: string}",
        ))
        .unwrap_err();
        assert!(
            err.message.contains("`text/csv` are not supported"),
            "{err}"
        );
        // Bytes have no characters to count.
        let sized = doc("multipart/form-data", "")
            .replace("format: binary}", "format: binary, maxLength: 9}");
        assert!(
            load_yaml(&sized)
                .unwrap_err()
                .message
                .contains("no `minLength`")
        );
    }

    #[test]
    fn a_response_in_several_media_types_is_json_and_bytes() {
        let doc = |content: &str| {
            format!(
                "{HEAD}paths:\n  /a:\n    get:\n      operationId: getA\n      tags: [a]\n      responses:\n        '200':\n          description: ok\n          content:\n{content}"
            )
        };
        let json = "            application/json:\n              schema: {type: array, items: {type: string}}\n";
        let csv = "            text/csv:\n              schema: {type: string, format: binary}\n";
        let png = "            image/png:\n              schema: {type: string, format: binary}\n";
        let api = load_yaml(&doc(&format!("{csv}{json}{png}"))).unwrap();
        let response = &api.operations[0].responses[0];
        assert_eq!(response.content.as_ref().unwrap().0, "application/json");
        assert_eq!(response.bytes_media, ["text/csv", "image/png"]);
        // One media type stays a plain response.
        let api = load_yaml(&doc(json)).unwrap();
        assert!(api.operations[0].responses[0].bytes_media.is_empty());

        let refused = |content: String, pointer: &str, words: &str| {
            let err = load_yaml(&doc(&content)).unwrap_err();
            assert_eq!(err.pointer, pointer, "{err}");
            assert!(err.message.contains(words), "{err}");
        };
        let at = "/paths/~1a/get/responses/200/content";
        // Text that is not bytes, a second JSON, JSON as bytes, a range.
        refused(
            format!("{json}            text/plain:\n              schema: {{type: string}}\n"),
            &format!("{at}/text~1plain"),
            "`text/plain` is neither",
        );
        refused(
            format!(
                "{json}            application/problem+json:\n              schema: {{type: object}}\n"
            ),
            &format!("{at}/application~1problem+json"),
            "is neither",
        );
        refused(
            format!(
                "{json}            image/*:\n              schema: {{type: string, format: binary}}\n"
            ),
            &format!("{at}/image~1*"),
            "exact media types",
        );
        refused(
            "            application/json:\n              schema: {type: string, format: binary}\n"
                .to_owned()
                + csv,
            &format!("{at}/application~1json"),
            "cannot be `application/json`",
        );
        // Bytes only, in two media types: no JSON to choose.
        refused(format!("{csv}{png}"), at, "without `application/json`");
    }

    #[test]
    fn oauth2_scopes_must_be_declared_by_a_flow() {
        let doc = |scope: &str| {
            format!(
                "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\nsecurity: [{{auth: ['{scope}']}}]\npaths: {{}}\ncomponents:\n  securitySchemes:\n    auth:\n      type: oauth2\n      flows:\n        implicit:\n          authorizationUrl: https://a.example/authorize\n          scopes: {{'pets:write': Change pets}}\n"
            )
        };
        let api = load_yaml(&doc("pets:write")).unwrap();
        let SchemeKind::OAuth2(flows) = &api.security_schemes[0].kind else {
            panic!("{:?}", api.security_schemes)
        };
        assert_eq!(
            (flows[0].kind, flows[0].token_url.as_deref()),
            ("implicit", None)
        );
        let err = load_yaml(&doc("pets:read")).unwrap_err();
        assert_eq!(err.pointer, "/security/0");
        assert!(err.message.contains("`pets:read`"), "{err}");
        let no_url = doc("pets:write").replace(
            "          authorizationUrl: https://a.example/authorize\n",
            "",
        );
        assert_eq!(
            load_yaml(&no_url).unwrap_err().pointer,
            "/components/securitySchemes/auth/flows/implicit"
        );
    }

    #[test]
    fn api_key_requirements_name_no_scopes() {
        let doc = |scopes: &str| {
            format!(
                "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\nsecurity: [{{key: [{scopes}]}}]\npaths: {{}}\ncomponents:\n  securitySchemes:\n    key: {{type: apiKey, in: cookie, name: k}}\n"
            )
        };
        let api = load_yaml(&doc("")).unwrap();
        assert_eq!(
            api.security_schemes[0].kind,
            SchemeKind::ApiKey {
                name: "k".into(),
                location: Location::Cookie
            }
        );
        let err = load_yaml(&doc("admin")).unwrap_err();
        assert_eq!(err.pointer, "/security/0/key");
        let err = load_yaml(&doc("").replace("in: cookie", "in: body")).unwrap_err();
        assert_eq!(err.pointer, "/components/securitySchemes/key/in");
    }
}
