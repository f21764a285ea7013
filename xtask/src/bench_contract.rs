//! A synthetic contract for `cargo xtask bench --codegen`: `operations`
//! operations over up to 16 tags (poem-openapi assembles at most 16 route
//! groups), deterministic for a seed.
//!
//! Each resource gets the five CRUD operations (list, create, get, update,
//! delete) with path, query and header parameters, JSON bodies with required,
//! optional and nullable properties, `uuid`/`date-time`/`email` strings, enums,
//! arrays with `minItems`, nested inline objects, maps, `$ref`s to shared and
//! to other resources' schemas, problem+json errors and bearer scopes. Long
//! descriptions bring a 1,000-operation contract to about 10 MB, the size the
//! speed target is stated for.

use serde_json::{Map, Value, json};

/// Tag names: lower-case words, one Rust module and trait each.
const TAGS: [&str; 16] = [
    "accounts",
    "billing",
    "catalog",
    "shipping",
    "inventory",
    "orders",
    "payments",
    "reports",
    "support",
    "marketing",
    "identity",
    "storage",
    "messaging",
    "analytics",
    "compliance",
    "scheduling",
];

const NOUNS: [&str; 24] = [
    "widget", "invoice", "parcel", "ticket", "device", "voucher", "branch", "carrier", "ledger",
    "session", "campaign", "document", "profile", "contract", "schedule", "batch", "channel",
    "license", "policy", "report", "region", "bundle", "review", "station",
];

const WORDS: [&str; 64] = [
    "the",
    "service",
    "returns",
    "each",
    "record",
    "within",
    "request",
    "bounded",
    "value",
    "client",
    "should",
    "retry",
    "after",
    "server",
    "stores",
    "field",
    "unless",
    "caller",
    "supplies",
    "explicit",
    "version",
    "header",
    "tokens",
    "expire",
    "quickly",
    "order",
    "stable",
    "across",
    "pages",
    "cursor",
    "opaque",
    "limit",
    "applies",
    "before",
    "filtering",
    "deleted",
    "items",
    "never",
    "appear",
    "again",
    "audit",
    "log",
    "keeps",
    "every",
    "change",
    "owner",
    "may",
    "read",
    "write",
    "scope",
    "grants",
    "access",
    "tenant",
    "region",
    "data",
    "leaves",
    "only",
    "encrypted",
    "rest",
    "transit",
    "matches",
    "contract",
    "exactly",
    "documented",
];

/// The generator's knobs; [`Default`] is the size the speed target names.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub operations: usize,
    pub seed: u64,
    /// Words of prose per operation description (schemas and parameters get
    /// shorter ones in proportion).
    pub description_words: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            operations: 1000,
            seed: 0x6b65_656c,
            description_words: 800,
        }
    }
}

/// The contract as YAML text.
pub fn yaml(options: Options) -> anyhow::Result<String> {
    Ok(serde_norway::to_string(&document(options))?)
}

/// The contract as a JSON value (an OpenAPI 3.1 document).
pub fn document(options: Options) -> Value {
    let mut rng = Rng(options.seed);
    let resources = options.operations.div_ceil(5);
    let tag_count = resources.clamp(1, TAGS.len());
    let mut paths = Map::new();
    let mut schemas = Map::new();
    let mut names: Vec<String> = Vec::with_capacity(resources);
    shared_schemas(&mut schemas);
    for index in 0..resources {
        let ops = (options.operations - index * 5).min(5);
        let tag = TAGS[index % tag_count];
        let noun = NOUNS[rng.below(NOUNS.len())];
        let resource = Resource {
            tag,
            slug: format!("{noun}-{index}"),
            name: format!("{}{index}", pascal(noun)),
            // A resource may link to one declared before it (never a cycle).
            related: (index > 0 && rng.below(3) == 0).then(|| names[rng.below(index)].clone()),
        };
        resource_schemas(&mut schemas, &resource, &mut rng, options);
        resource_paths(&mut paths, &resource, ops, &mut rng, options);
        names.push(resource.name);
    }
    let tags: Vec<Value> = TAGS[..tag_count]
        .iter()
        .map(|t| json!({"name": t, "description": format!("Operations on {t}. {}", prose(&mut Rng(options.seed ^ t.len() as u64), 40))}))
        .collect();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Keel codegen benchmark",
            "version": "1.0.0",
            "description": format!(
                "A synthetic contract of {} operations for `cargo xtask bench --codegen` (seed {}).\n\n{}",
                options.operations, options.seed, prose(&mut rng, 200)
            ),
        },
        "servers": [{"url": "http://127.0.0.1:8080"}],
        "tags": tags,
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "An access token."}
            },
            "parameters": {
                "IfMatch": {
                    "name": "If-Match", "in": "header", "required": true,
                    "description": "The `ETag` of the version this change was made against.",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 200}
                },
                "Limit": {
                    "name": "limit", "in": "query",
                    "description": "The largest number of items to return.",
                    "schema": {"type": "integer", "format": "int32", "minimum": 1, "maximum": 100, "default": 50}
                },
                "Cursor": {
                    "name": "cursor", "in": "query",
                    "description": "The `nextCursor` of the previous page.",
                    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}
                }
            },
            "headers": {
                "ETag": {"description": "The version of the resource.", "required": true, "schema": {"type": "string"}}
            },
            "responses": error_responses(),
            "schemas": schemas,
        }
    })
}

struct Resource {
    tag: &'static str,
    slug: String,
    name: String,
    related: Option<String>,
}

const ERRORS: [(&str, &str); 9] = [
    (
        "BadRequest",
        "The request is malformed or fails validation.",
    ),
    ("Unauthorized", "The access token is missing or invalid."),
    (
        "Forbidden",
        "The access token lacks a scope this operation needs.",
    ),
    ("NotFound", "No such resource."),
    ("Conflict", "The change conflicts with existing data."),
    (
        "PreconditionFailed",
        "The `If-Match` header does not match the current version.",
    ),
    ("PreconditionRequired", "The `If-Match` header is missing."),
    (
        "TooManyRequests",
        "Too many requests; try again after `Retry-After` seconds.",
    ),
    ("InternalError", "The server failed."),
];

fn error_responses() -> Value {
    let mut out = Map::new();
    for (name, description) in ERRORS {
        let mut response = json!({
            "description": description,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
        });
        if name == "TooManyRequests" {
            response["headers"] = json!({"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}});
        }
        out.insert(name.into(), response);
    }
    Value::Object(out)
}

fn shared_schemas(schemas: &mut Map<String, Value>) {
    schemas.insert(
        "Problem".into(),
        json!({
            "type": "object",
            "description": "An error, as RFC 9457 problem details.",
            "required": ["type", "title", "status"],
            "properties": {
                "type": {"type": "string", "description": "A URI reference naming the kind of problem."},
                "title": {"type": "string", "description": "A short summary of the kind of problem."},
                "status": {"type": "integer", "format": "int32", "description": "The HTTP status code."},
                "detail": {"type": "string", "description": "What went wrong with this request."},
                "instance": {"type": "string", "description": "The request this problem belongs to."},
                "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}}
            }
        }),
    );
    schemas.insert(
        "FieldError".into(),
        json!({
            "type": "object",
            "description": "One invalid part of a request.",
            "required": ["code", "detail"],
            "properties": {
                "pointer": {"type": "string", "description": "The body property, as a JSON pointer."},
                "parameter": {"type": "string", "description": "The parameter, by name."},
                "code": {"type": "string", "description": "The rule the value broke."},
                "detail": {"type": "string", "description": "What is wrong, for a human."}
            }
        }),
    );
    schemas.insert(
        "Address".into(),
        json!({
            "type": "object",
            "description": "A postal address.",
            "required": ["line1", "city", "country"],
            "properties": {
                "line1": {"type": "string", "minLength": 1, "maxLength": 200},
                "line2": {"type": ["string", "null"], "maxLength": 200},
                "city": {"type": "string", "minLength": 1, "maxLength": 100},
                "postalCode": {"type": "string", "pattern": "^[A-Z0-9 -]{3,10}$"},
                "country": {"type": "string", "enum": ["DE", "FR", "GB", "NL", "US"], "description": "ISO 3166-1 alpha-2."}
            }
        }),
    );
    schemas.insert(
        "Money".into(),
        json!({
            "type": "object",
            "description": "An amount in a currency.",
            "required": ["amount", "currency"],
            "properties": {
                "amount": {"type": "number", "minimum": 0},
                "currency": {"$ref": "#/components/schemas/Currency"}
            }
        }),
    );
    schemas.insert(
        "Currency".into(),
        json!({"type": "string", "description": "ISO 4217.", "enum": ["EUR", "GBP", "USD", "JPY"]}),
    );
}

fn resource_schemas(
    schemas: &mut Map<String, Value>,
    r: &Resource,
    rng: &mut Rng,
    options: Options,
) {
    let words = options.description_words / 8;
    let name = &r.name;
    let status_name = format!("{name}Status");
    schemas.insert(
        status_name.clone(),
        json!({
            "type": "string",
            "description": format!("Where a {} is in its life. {}", r.slug, prose(rng, words)),
            "enum": ["draft", "active", "suspended", "archived"]
        }),
    );
    let status_ref = json!({"$ref": format!("#/components/schemas/{status_name}")});
    let mut properties = json!({
        "id": {"type": "string", "format": "uuid", "description": prose(rng, words)},
        "createdAt": {"type": "string", "format": "date-time", "description": prose(rng, words)},
        "updatedAt": {"type": ["string", "null"], "format": "date-time", "description": prose(rng, words)},
        "ownerEmail": {"type": "string", "format": "email", "maxLength": 254, "description": prose(rng, words)},
        "name": {"type": "string", "minLength": 1, "maxLength": 100, "description": prose(rng, words)},
        "status": status_ref.clone(),
        "labels": {"type": "array", "minItems": 1, "maxItems": 20, "items": {"type": "string"}, "description": prose(rng, words)},
        "price": {"$ref": "#/components/schemas/Money"},
        "quantity": {"type": "integer", "format": "int32", "minimum": 0, "maximum": 1_000_000},
        "details": {
            "type": "object",
            "description": prose(rng, words),
            "required": ["kind"],
            "properties": {
                "kind": {"type": "string", "enum": ["standard", "premium", "custom"]},
                "weightGrams": {"type": "integer", "format": "int64", "minimum": 0},
                "dimensions": {
                    "type": "object",
                    "required": ["width", "height"],
                    "properties": {
                        "width": {"type": "number", "minimum": 0},
                        "height": {"type": "number", "minimum": 0},
                        "depth": {"type": ["number", "null"]}
                    }
                },
                "shipTo": {"$ref": "#/components/schemas/Address"}
            }
        },
        "metadata": {"type": "object", "additionalProperties": {"type": "string"}, "description": prose(rng, words)},
        "note": {"type": ["string", "null"], "maxLength": 2000}
    });
    let mut required = vec!["id", "createdAt", "ownerEmail", "name", "status", "labels"];
    if let Some(related) = &r.related {
        properties["related"] = json!({
            "type": "array",
            "items": {"$ref": format!("#/components/schemas/{related}")},
            "description": prose(rng, words)
        });
        required.push("related");
    }
    schemas.insert(
        name.clone(),
        json!({
            "type": "object",
            "description": format!("A {}. {}", r.slug, prose(rng, words * 2)),
            "required": required,
            "properties": properties
        }),
    );
    schemas.insert(
        format!("{name}Create"),
        json!({
            "type": "object",
            "description": format!("What a client sends to create a {}. {}", r.slug, prose(rng, words)),
            "additionalProperties": false,
            "required": ["name", "ownerEmail", "labels"],
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 100, "description": prose(rng, words)},
                "ownerEmail": {"type": "string", "format": "email", "maxLength": 254},
                "status": status_ref.clone(),
                "labels": {"type": "array", "minItems": 1, "maxItems": 20, "items": {"type": "string"}},
                "price": {"$ref": "#/components/schemas/Money"},
                "quantity": {"type": "integer", "format": "int32", "minimum": 0, "maximum": 1_000_000, "default": 1},
                "shipTo": {"$ref": "#/components/schemas/Address"},
                "startsAt": {"type": "string", "format": "date-time"},
                "note": {"type": ["string", "null"], "maxLength": 2000, "description": prose(rng, words)}
            }
        }),
    );
    schemas.insert(
        format!("{name}Update"),
        json!({
            "type": "object",
            "description": format!("A partial update of a {}: absent properties stay as they are, `null` clears. {}", r.slug, prose(rng, words)),
            "additionalProperties": false,
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 100},
                "status": status_ref,
                "labels": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                "quantity": {"type": "integer", "format": "int32", "minimum": 0},
                "note": {"type": ["string", "null"], "maxLength": 2000, "description": prose(rng, words)},
                "endsAt": {"type": ["string", "null"], "format": "date-time"}
            }
        }),
    );
    schemas.insert(
        format!("{name}Page"),
        json!({
            "type": "object",
            "description": format!("One page of {}s. {}", r.slug, prose(rng, words)),
            "required": ["items", "nextCursor"],
            "properties": {
                "items": {"type": "array", "items": {"$ref": format!("#/components/schemas/{name}")}},
                "nextCursor": {"type": ["string", "null"], "description": "Pass it as `cursor` for the next page; `null` on the last."}
            }
        }),
    );
}

fn resource_paths(
    paths: &mut Map<String, Value>,
    r: &Resource,
    ops: usize,
    rng: &mut Rng,
    options: Options,
) {
    let name = &r.name;
    let collection = format!("/v1/{}/{}", r.tag, r.slug);
    let item = format!("{collection}/{{{}Id}}", camel(&r.name));
    let read = json!([{"bearer": [format!("{}:read", r.tag)]}]);
    let write = json!([{"bearer": [format!("{}:write", r.tag)]}]);
    let schema_ref = |n: &str| json!({"$ref": format!("#/components/schemas/{n}")});
    let error = |n: &str| json!({"$ref": format!("#/components/responses/{n}")});
    let errors = |list: &[&str]| -> Map<String, Value> {
        let status = |n: &str| match n {
            "BadRequest" => "400",
            "Unauthorized" => "401",
            "Forbidden" => "403",
            "NotFound" => "404",
            "Conflict" => "409",
            "PreconditionFailed" => "412",
            "PreconditionRequired" => "428",
            "TooManyRequests" => "429",
            _ => "500",
        };
        list.iter()
            .map(|n| (status(n).to_owned(), error(n)))
            .collect()
    };
    let id_param = json!({
        "name": format!("{}Id", camel(&r.name)), "in": "path", "required": true,
        "description": format!("The id of the {}.", r.slug),
        "schema": {"type": "string", "format": "uuid"}
    });
    let request_id = json!({
        "name": "X-Request-Id", "in": "header",
        "description": "A caller-chosen id echoed in logs.",
        "schema": {"type": "string", "format": "uuid"}
    });
    let etag = json!({"ETag": {"$ref": "#/components/headers/ETag"}});
    let all = [
        "BadRequest",
        "Unauthorized",
        "Forbidden",
        "TooManyRequests",
        "InternalError",
    ];
    let description = |rng: &mut Rng, what: &str| {
        format!(
            "{what}\n\n{}\n\n{}",
            prose(rng, options.description_words / 2),
            prose(rng, options.description_words / 2)
        )
    };

    let mut collection_item = Map::new();
    let mut item_item = Map::new();
    // list
    let mut responses = errors(&all);
    responses.insert(
        "200".into(),
        json!({"description": "One page.", "content": {"application/json": {"schema": schema_ref(&format!("{name}Page"))}}}),
    );
    collection_item.insert(
        "get".into(),
        json!({
            "operationId": format!("list{name}"),
            "tags": [r.tag],
            "summary": format!("List {}s", r.slug),
            "description": description(rng, &format!("Lists {}s, newest first.", r.slug)),
            "security": read,
            "parameters": [
                {"$ref": "#/components/parameters/Limit"},
                {"$ref": "#/components/parameters/Cursor"},
                {"name": "status", "in": "query", "description": "Only items in this state.", "schema": schema_ref(&format!("{name}Status"))},
                {"name": "sort", "in": "query", "schema": {"type": "string", "enum": ["newest", "oldest", "nameAsc", "nameDesc"], "default": "newest"}},
                {"name": "createdAfter", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                {"name": "ids", "in": "query", "explode": false, "description": "Only these ids.", "schema": {"type": "array", "maxItems": 50, "items": {"type": "string", "format": "uuid"}}},
                request_id
            ],
            "responses": responses
        }),
    );
    // create
    if ops > 1 {
        let mut responses = errors(&[
            "BadRequest",
            "Unauthorized",
            "Forbidden",
            "Conflict",
            "TooManyRequests",
            "InternalError",
        ]);
        responses.insert(
            "201".into(),
            json!({
                "description": "Created.",
                "headers": {
                    "ETag": {"$ref": "#/components/headers/ETag"},
                    "Location": {"description": "The URL of the new item.", "required": true, "schema": {"type": "string"}}
                },
                "content": {"application/json": {"schema": schema_ref(name)}}
            }),
        );
        collection_item.insert(
            "post".into(),
            json!({
                "operationId": format!("create{name}"),
                "tags": [r.tag],
                "summary": format!("Create a {}", r.slug),
                "description": description(rng, &format!("Creates a {}.", r.slug)),
                "security": write,
                "parameters": [
                    {"name": "Idempotency-Key", "in": "header", "description": "Makes a retried create safe.", "schema": {"type": "string", "minLength": 8, "maxLength": 64}}
                ],
                "requestBody": {"required": true, "content": {"application/json": {"schema": schema_ref(&format!("{name}Create"))}}},
                "responses": responses
            }),
        );
    }
    // get
    if ops > 2 {
        let mut responses = errors(&[
            "BadRequest",
            "Unauthorized",
            "Forbidden",
            "NotFound",
            "InternalError",
        ]);
        responses.insert(
            "200".into(),
            json!({"description": "Found.", "headers": etag.clone(), "content": {"application/json": {"schema": schema_ref(name)}}}),
        );
        // Every seventh resource can be read without a token.
        let security = if rng.below(7) == 0 { json!([]) } else { read };
        item_item.insert(
            "get".into(),
            json!({
                "operationId": format!("get{name}"),
                "tags": [r.tag],
                "summary": format!("Get a {}", r.slug),
                "description": description(rng, &format!("Reads one {}.", r.slug)),
                "security": security,
                "parameters": [id_param.clone()],
                "responses": responses
            }),
        );
    }
    // update
    if ops > 3 {
        let mut responses = errors(&[
            "BadRequest",
            "Unauthorized",
            "Forbidden",
            "NotFound",
            "PreconditionFailed",
            "PreconditionRequired",
            "InternalError",
        ]);
        responses.insert(
            "200".into(),
            json!({"description": "Updated.", "headers": etag, "content": {"application/json": {"schema": schema_ref(name)}}}),
        );
        item_item.insert(
            "patch".into(),
            json!({
                "operationId": format!("update{name}"),
                "tags": [r.tag],
                "summary": format!("Update a {}", r.slug),
                "description": description(rng, &format!("Changes a {}.", r.slug)),
                "security": write,
                "parameters": [id_param.clone(), {"$ref": "#/components/parameters/IfMatch"}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": schema_ref(&format!("{name}Update"))}}},
                "responses": responses
            }),
        );
    }
    // delete
    if ops > 4 {
        let mut responses = errors(&["Unauthorized", "Forbidden", "NotFound", "InternalError"]);
        responses.insert("204".into(), json!({"description": "Deleted."}));
        item_item.insert(
            "delete".into(),
            json!({
                "operationId": format!("delete{name}"),
                "tags": [r.tag],
                "summary": format!("Delete a {}", r.slug),
                "description": description(rng, &format!("Deletes a {}.", r.slug)),
                "security": write,
                "parameters": [id_param],
                "responses": responses
            }),
        );
    }
    paths.insert(collection, Value::Object(collection_item));
    if !item_item.is_empty() {
        paths.insert(item, Value::Object(item_item));
    }
}

/// `count` words of sentences, paragraph-free (callers join paragraphs).
fn prose(rng: &mut Rng, count: usize) -> String {
    let mut out = String::with_capacity(count * 7);
    let mut sentence = 0;
    for i in 0..count {
        let word = WORDS[rng.below(WORDS.len())];
        if sentence == 0 {
            let mut chars = word.chars();
            let first = chars.next().expect("words are not empty");
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        } else {
            out.push_str(word);
        }
        sentence += 1;
        let full_stop = sentence > 6 && rng.below(5) == 0;
        if full_stop || i + 1 == count {
            out.push('.');
            sentence = 0;
        }
        if i + 1 < count {
            out.push(' ');
        }
    }
    out
}

fn pascal(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn camel(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// SplitMix64: small, fast and the same on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Options {
        Options {
            operations: 47,
            seed: 7,
            description_words: 20,
        }
    }

    #[test]
    fn is_deterministic_for_a_seed() {
        assert_eq!(yaml(small()).unwrap(), yaml(small()).unwrap());
        let other = Options { seed: 8, ..small() };
        assert_ne!(yaml(small()).unwrap(), yaml(other).unwrap());
    }

    #[test]
    fn loads_and_generates() {
        let text = yaml(small()).unwrap();
        let document: Value = serde_norway::from_str(&text).unwrap();
        let api = crate::openapi::load::load_with(&document, false).unwrap();
        assert_eq!(api.operations.len(), 47);
        assert_eq!(api.tags.len(), 10);
        let contract = crate::openapi::Contract {
            text,
            document,
            api,
        };
        let files = crate::codegen::generate(&contract, "bench.yaml", "bench").unwrap();
        assert!(files.contains_key(std::path::Path::new("rust/server/src/billing.rs")));
    }

    #[test]
    fn spreads_over_at_most_sixteen_tags() {
        let document = document(Options {
            operations: 200,
            seed: 1,
            description_words: 0,
        });
        assert_eq!(document["tags"].as_array().unwrap().len(), 16);
        assert_eq!(
            document["paths"]
                .as_object()
                .unwrap()
                .values()
                .map(|item| item.as_object().unwrap().len())
                .sum::<usize>(),
            200
        );
    }
}
