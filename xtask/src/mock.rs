//! `cargo xtask mock`: serves any contract before its backend exists. Each
//! operation validates its request against the contract (400 problem+json naming
//! the field, as the real server does) and answers its first 2xx response with the
//! contract's example for it, or a body synthesised from the schema, so a frontend
//! can be built against it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use base64::Engine as _;
use poem::http::StatusCode;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{Body, Request, Response};
use serde_json::{Map, Value, json};

use crate::openapi::model::*;

/// Serves the contract until interrupted.
pub fn run(contract: &Path, listen: SocketAddr) -> Result<()> {
    let api = Arc::new(crate::openapi::read(contract)?.api);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let (addr, server) = bind(api, listen).await?;
        println!(
            "mock of {} serving on http://{addr} (Ctrl-C stops it)",
            contract.display()
        );
        server.await
    })
}

/// Binds the mock and returns its address and the future that serves it.
pub async fn bind(
    api: Arc<Api>,
    listen: SocketAddr,
) -> Result<(SocketAddr, impl Future<Output = Result<()>>)> {
    let acceptor = TcpListener::bind(listen)
        .into_acceptor()
        .await
        .with_context(|| format!("binding {listen}"))?;
    let addr = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .context("the mock's listener has no address")?;
    let endpoint = poem::endpoint::make(move |request: Request| {
        let api = api.clone();
        async move { answer(&api, request).await }
    });
    let server = async move {
        poem::Server::new_with_acceptor(acceptor)
            .run(endpoint)
            .await?;
        Ok(())
    };
    Ok((addr, server))
}

async fn answer(api: &Api, mut request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let method = request.method().as_str().to_ascii_lowercase();
    let mut path_matched = false;
    let Some((op, path_params)) = api.operations.iter().find_map(|op| {
        let params = match_path(&op.path, &path)?;
        path_matched = true;
        (op.method.as_str() == method).then_some((op, params))
    }) else {
        return if path_matched {
            problem(
                StatusCode::METHOD_NOT_ALLOWED,
                "this path does not support this method",
                Vec::new(),
            )
        } else {
            problem(
                StatusCode::NOT_FOUND,
                "no operation of the contract has this path",
                Vec::new(),
            )
        };
    };

    let query: Vec<(String, String)> = request.params().unwrap_or_default();
    let mut errors = Vec::new();
    for param in &op.params {
        if let Some(fields) = &param.object {
            let raw = match param.location {
                Location::Path => path_params.get(&param.name).cloned(),
                Location::Header => {
                    let lines: Vec<String> = request
                        .headers()
                        .get_all(param.name.as_str())
                        .iter()
                        .filter_map(|v| v.to_str().ok().map(str::to_owned))
                        .collect();
                    (!lines.is_empty()).then(|| lines.join(","))
                }
                _ => query
                    .iter()
                    .find(|(k, _)| k == &param.name)
                    .map(|(_, v)| v.clone()),
            };
            match object_pairs(param, fields, &query, raw) {
                Ok(None) if param.required => errors.push(parameter_error(
                    &param.name,
                    "required",
                    "is required".into(),
                )),
                Ok(None) => {}
                Ok(Some(pairs)) => {
                    for field in fields {
                        let value = pairs.iter().find(|(k, _)| k == &field.json_name);
                        let problem = match value {
                            None if field.required => {
                                Some(format!("property `{}` is required", field.json_name))
                            }
                            None => None,
                            Some((_, v)) => check_parameter(api, &field.schema, v)
                                .map(|why| format!("property `{}`: {why}", field.json_name)),
                        };
                        if let Some(problem) = problem {
                            errors.push(parameter_error(&param.name, "invalid", problem));
                        }
                    }
                }
                Err(why) => errors.push(parameter_error(&param.name, "invalid", why)),
            }
            continue;
        }
        let mut values: Vec<String> = match param.location {
            Location::Path => path_params.get(&param.name).cloned().into_iter().collect(),
            Location::Query => query
                .iter()
                .filter(|(k, _)| k == &param.name)
                .map(|(_, v)| v.clone())
                .collect(),
            Location::Header => request
                .headers()
                .get_all(param.name.as_str())
                .iter()
                .filter_map(|v| v.to_str().ok().map(str::to_owned))
                .collect(),
            Location::Cookie => request
                .header("cookie")
                .unwrap_or_default()
                .split(';')
                .filter_map(|pair| poem::web::cookie::Cookie::parse(pair.trim()).ok())
                .filter(|c| c.name() == param.name)
                .map(|c| c.value_str().to_owned())
                .collect(),
        };
        if param.location == Location::Path && matches!(param.style, Style::Label | Style::Matrix) {
            values = values
                .iter()
                .flat_map(|v| styled_path_items(param, v))
                .collect();
        } else if param.is_array() && !param.explode {
            values = values
                .iter()
                .flat_map(|v| v.split(param.delimiter()))
                .map(str::to_owned)
                .collect();
        }
        let problem = match (&param.schema.ty, values.as_slice()) {
            (_, []) if param.required => {
                errors.push(parameter_error(
                    &param.name,
                    "required",
                    "is required".into(),
                ));
                continue;
            }
            (_, []) => None,
            (Type::Array(items), values) => {
                let n = values.len() as u64;
                let rules = &param.schema.rules;
                if rules.min_items.is_some_and(|min| n < min)
                    || rules.max_items.is_some_and(|max| n > max)
                {
                    Some(format!("{n} values is outside the allowed count"))
                } else {
                    values
                        .iter()
                        .find_map(|v| check_parameter(api, items.as_ref(), v))
                }
            }
            (_, [first, ..]) => check_parameter(api, &param.schema, first),
        };
        if let Some(problem) = problem {
            errors.push(parameter_error(&param.name, "invalid", problem));
        }
    }
    let body = op
        .body
        .as_ref()
        .filter(|b| b.required || request.content_type().is_some());
    if let Some(body) = body {
        let content_type = request.content_type().unwrap_or_default().to_owned();
        let sent = body
            .media
            .iter()
            .find(|m| content_type.starts_with(m.content_type()));
        let Some(&sent) = sent else {
            let offered: Vec<&str> = body.media.iter().map(|m| m.content_type()).collect();
            return problem(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                &format!("the request body must be one of {}", offered.join(", ")),
                Vec::new(),
            );
        };
        let parsed = match sent {
            BodyMedia::Multipart => multipart_to_json(api, &body.schema, &mut request)
                .await
                .map_err(|e| format!("the multipart body is malformed: {e}")),
            media => {
                let bytes = request.take_body().into_vec().await.unwrap_or_default();
                match media {
                    // Any bytes are a file.
                    BodyMedia::Binary => Ok(json!("")),
                    // XML is bytes for the service to read; nothing to check.
                    BodyMedia::Xml => Ok(Value::Null),
                    BodyMedia::Form => Ok(pairs_to_json(
                        api,
                        &body.schema,
                        form_urlencoded::parse(&bytes)
                            .map(|(k, v)| (k.into_owned(), v.into_owned())),
                    )),
                    _ => serde_json::from_slice::<Value>(&bytes)
                        .map_err(|e| format!("the request body is not valid JSON: {e}")),
                }
            }
        };
        match parsed {
            Err(e) => {
                return problem(StatusCode::BAD_REQUEST, &e, Vec::new());
            }
            Ok(_) if sent == BodyMedia::Xml => {}
            Ok(value) => check_json(api, &body.schema, &value, "", &mut errors),
        }
    }
    if !errors.is_empty() {
        return problem(
            StatusCode::BAD_REQUEST,
            "the request does not match the contract; see `errors`",
            errors,
        );
    }

    let Some(success) = op.responses.iter().find(|r| r.status.is_success()) else {
        return problem(
            StatusCode::NOT_IMPLEMENTED,
            "the contract declares no success response for this operation",
            Vec::new(),
        );
    };
    let mut response = Response::builder().status(
        success
            .status
            .code()
            .and_then(|c| StatusCode::from_u16(c).ok())
            .unwrap_or(StatusCode::OK),
    );
    for header in &success.headers {
        response = response.header(header.name.as_str(), synthesize_header(&header.schema));
    }
    match &success.content {
        Some((media, schema)) if schema.is_bytes() => {
            response.content_type(media.as_str()).body(b"keel".to_vec())
        }
        Some((media, schema)) => {
            let body = success
                .example
                .clone()
                .unwrap_or_else(|| synthesize(api, schema));
            response.content_type(media.as_str()).body(body.to_string())
        }
        None => response.body(Body::empty()),
    }
}

/// `/v1/users/{userId}` against `/v1/users/123` → `{userId: "123"}`.
fn match_path(template: &str, path: &str) -> Option<BTreeMap<String, String>> {
    let parts: Vec<&str> = template.split('/').collect();
    let segments: Vec<&str> = path.split('/').collect();
    if parts.len() != segments.len() {
        return None;
    }
    let mut params = BTreeMap::new();
    for (part, segment) in parts.iter().zip(&segments) {
        match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) if !segment.is_empty() => {
                params.insert(name.to_owned(), percent_decode(segment));
            }
            Some(_) => return None,
            None if part == segment => {}
            None => return None,
        }
    }
    Some(params)
}

fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = segment
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A parameter's text against its schema: `None` when it fits.
fn check_parameter(api: &Api, schema: &Schema, text: &str) -> Option<String> {
    let value = match &schema.ty {
        Type::Integer(_) => match text.parse::<i64>() {
            Ok(n) => json!(n),
            Err(_) => return Some(format!("`{text}` is not an integer")),
        },
        Type::Number(_) => match text.parse::<f64>() {
            Ok(n) => json!(n),
            Err(_) => return Some(format!("`{text}` is not a number")),
        },
        Type::Boolean => match text {
            "true" => json!(true),
            "false" => json!(false),
            _ => return Some(format!("`{text}` is not true or false")),
        },
        _ => json!(text),
    };
    let mut errors = Vec::new();
    check_json(api, schema, &value, "", &mut errors);
    errors
        .first()
        .map(|e| e["detail"].as_str().unwrap_or("is invalid").to_owned())
}

/// A form body as the JSON object it stands for: each value read as its
/// property's type says, repeated keys as arrays.
/// A multipart body as the JSON it would be, for the same checks: a part per
/// property, files as their file name (their content is not checked).
async fn multipart_to_json(
    api: &Api,
    schema: &Schema,
    request: &mut Request,
) -> Result<Value, String> {
    use poem::FromRequest as _;
    let mut body = poem::RequestBody::new(request.take_body());
    let mut multipart = poem::web::Multipart::from_request(request, &mut body)
        .await
        .map_err(|e| e.to_string())?;
    let mut pairs = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(|e| e.to_string())? {
        let name = field.name().unwrap_or_default().to_owned();
        let text = match field.file_name() {
            Some(file_name) => file_name.to_owned(),
            None => String::from_utf8_lossy(&field.bytes().await.map_err(|e| e.to_string())?)
                .into_owned(),
        };
        pairs.push((name, text));
    }
    Ok(pairs_to_json(api, schema, pairs.into_iter()))
}

/// Name-value pairs (a form, or multipart parts) as the JSON object they stand
/// for: numbers and booleans parsed, repeated names as arrays, objects (JSON
/// parts) parsed.
fn pairs_to_json(
    api: &Api,
    schema: &Schema,
    pairs: impl Iterator<Item = (String, String)>,
) -> Value {
    let fields = match &schema.ty {
        Type::Named(name) => match api
            .schemas
            .iter()
            .find(|s| &s.name == name)
            .map(|s| &s.kind)
        {
            Some(SchemaKind::Object(object)) => object.fields.as_slice(),
            _ => &[],
        },
        _ => &[],
    };
    let mut map = Map::new();
    for (key, text) in pairs {
        let field = fields.iter().find(|f| f.json_name == key);
        let (scalar, is_array) = match field.map(|f| &f.schema.ty) {
            Some(Type::Array(items)) => (&items.ty, true),
            Some(ty) => (ty, false),
            None => (&Type::Any, false),
        };
        let value = match scalar {
            Type::Integer(_) => text.parse::<i64>().map_or(json!(text), |n| json!(n)),
            Type::Number(_) => text.parse::<f64>().map_or(json!(text), |n| json!(n)),
            Type::Boolean => match text.as_str() {
                "true" => json!(true),
                "false" => json!(false),
                _ => json!(text),
            },
            Type::Named(name) => match api
                .schemas
                .iter()
                .find(|s| &s.name == name)
                .map(|s| &s.kind)
            {
                Some(SchemaKind::IntEnum(_)) => {
                    text.parse::<i64>().map_or(json!(text), |n| json!(n))
                }
                Some(SchemaKind::Object(_)) => {
                    serde_json::from_str(&text).unwrap_or_else(|_| json!(text))
                }
                _ => json!(text),
            },
            _ => json!(text),
        };
        if is_array {
            match map.entry(key).or_insert_with(|| json!([])) {
                Value::Array(items) => items.push(value),
                _ => unreachable!("arrays are inserted as arrays"),
            }
        } else {
            map.insert(key, value);
        }
    }
    Value::Object(map)
}

/// Checks a JSON value against a schema, collecting one error per violation.
fn check_json(api: &Api, schema: &Schema, value: &Value, pointer: &str, errors: &mut Vec<Value>) {
    if value.is_null() {
        if !schema.nullable {
            push(errors, pointer, "type", "must not be null".into());
        }
        return;
    }
    let rules = &schema.rules;
    match &schema.ty {
        Type::Named(name) => {
            let Some(named) = api.schemas.iter().find(|s| &s.name == name) else {
                return;
            };
            match &named.kind {
                SchemaKind::Alias(inner) => check_json(api, inner, value, pointer, errors),
                SchemaKind::Union(union) => {
                    let fits = |variant: &str, errors: &mut Vec<Value>| {
                        let mut found = Vec::new();
                        check_json(api, &named_schema(variant), value, pointer, &mut found);
                        let ok = found.is_empty();
                        errors.extend(found);
                        ok
                    };
                    match &union.discriminator {
                        Some(property) => {
                            let tag = value.get(property).and_then(Value::as_str);
                            match union.variants.iter().find(|v| v.tag.as_deref() == tag) {
                                Some(variant) => {
                                    fits(&variant.schema, errors);
                                }
                                None => push(
                                    errors,
                                    &format!("{pointer}/{property}"),
                                    "enum",
                                    "names no variant of this union".into(),
                                ),
                            }
                        }
                        None => {
                            let matching = union
                                .variants
                                .iter()
                                .filter(|v| fits(&v.schema, &mut Vec::new()))
                                .count();
                            if matching != 1 {
                                push(
                                    errors,
                                    pointer,
                                    "oneOf",
                                    format!("must match exactly one variant, matches {matching}"),
                                );
                            }
                        }
                    }
                }
                SchemaKind::IntEnum(values) => {
                    if !value.as_i64().is_some_and(|v| values.contains(&v)) {
                        push(
                            errors,
                            pointer,
                            "enum",
                            format!("must be one of {values:?}"),
                        );
                    }
                }
                SchemaKind::StringEnum(values) => {
                    if !value
                        .as_str()
                        .is_some_and(|v| values.iter().any(|x| x == v))
                    {
                        push(
                            errors,
                            pointer,
                            "enum",
                            format!("must be one of {}", values.join(", ")),
                        );
                    }
                }
                SchemaKind::Object(object) => {
                    let Some(map) = value.as_object() else {
                        return push(errors, pointer, "type", "must be an object".into());
                    };
                    for field in &object.fields {
                        let child = format!("{pointer}/{}", field.json_name);
                        match map.get(&field.json_name) {
                            None if field.required => errors.push(json!({ "pointer": child, "code": "required", "detail": "is required" })),
                            None => {}
                            Some(v) => check_json(api, &field.schema, v, &child, errors),
                        }
                    }
                    if let Some(values) = &object.additional {
                        for (key, item) in map
                            .iter()
                            .filter(|(k, _)| !object.fields.iter().any(|f| &f.json_name == *k))
                        {
                            check_json(api, values, item, &format!("{pointer}/{key}"), errors);
                        }
                    }
                    // `oneOf`/`anyOf` beside the properties: the object is a variant too.
                    if let Some(union) = &object.union {
                        check_json(api, &named_schema(union), value, pointer, errors);
                    }
                    if object.deny_unknown {
                        for key in map
                            .keys()
                            .filter(|k| !object.fields.iter().any(|f| &f.json_name == *k))
                        {
                            errors.push(json!({ "pointer": format!("{pointer}/{key}"), "code": "unknown", "detail": "is not a property of this object" }));
                        }
                    }
                }
            }
        }
        Type::String(format) => {
            let Some(text) = value.as_str() else {
                return push(errors, pointer, "type", "must be a string".into());
            };
            let chars = text.chars().count() as u64;
            if rules.min_length.is_some_and(|min| chars < min)
                || rules.max_length.is_some_and(|max| chars > max)
            {
                push(
                    errors,
                    pointer,
                    "length",
                    format!(
                        "must be {} to {} characters long",
                        rules.min_length.unwrap_or(0),
                        rules.max_length.map_or("any".into(), |m| m.to_string())
                    ),
                );
            }
            if let Some(pattern) = &rules.pattern
                && !regex::Regex::new(pattern).is_ok_and(|re| re.is_match(text))
            {
                push(
                    errors,
                    pointer,
                    "regex",
                    format!("must match the pattern {pattern}"),
                );
            }
            let well_formed = match format {
                StringFormat::Plain => true,
                StringFormat::Uuid => is_uuid(text),
                StringFormat::DateTime => chrono::DateTime::parse_from_rfc3339(text).is_ok(),
                StringFormat::Date => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok(),
                StringFormat::Email => text
                    .split_once('@')
                    .is_some_and(|(l, d)| !l.is_empty() && d.contains('.')),
                StringFormat::Uri => text
                    .split_once("://")
                    .is_some_and(|(scheme, rest)| !scheme.is_empty() && !rest.is_empty()),
                StringFormat::Byte => base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .is_ok(),
                // Any bytes are a file; the mock reads no content into it.
                StringFormat::Binary => true,
            };
            if !well_formed {
                push(
                    errors,
                    pointer,
                    "format",
                    format!("must be {}", format_name(*format)),
                );
            }
        }
        Type::Integer(_) | Type::Number(_) => {
            let Some(number) = value.as_f64() else {
                return push(errors, pointer, "type", "must be a number".into());
            };
            if matches!(schema.ty, Type::Integer(_)) && !(value.is_i64() || value.is_u64()) {
                return push(errors, pointer, "type", "must be an integer".into());
            }
            let below = rules.minimum.is_some_and(|b| {
                if b.exclusive {
                    number <= b.value
                } else {
                    number < b.value
                }
            });
            let above = rules.maximum.is_some_and(|b| {
                if b.exclusive {
                    number >= b.value
                } else {
                    number > b.value
                }
            });
            if below || above {
                push(errors, pointer, "range", "is out of range".into());
            }
        }
        Type::Boolean => {
            if !value.is_boolean() {
                push(errors, pointer, "type", "must be true or false".into());
            }
        }
        Type::Any => {}
        Type::Map(values) => {
            let Some(map) = value.as_object() else {
                return push(errors, pointer, "type", "must be an object".into());
            };
            for (key, item) in map {
                check_json(api, values, item, &format!("{pointer}/{key}"), errors);
            }
        }
        Type::Array(items) => {
            let Some(list) = value.as_array() else {
                return push(errors, pointer, "type", "must be an array".into());
            };
            let n = list.len() as u64;
            if rules.min_items.is_some_and(|min| n < min)
                || rules.max_items.is_some_and(|max| n > max)
            {
                push(
                    errors,
                    pointer,
                    "length",
                    "has the wrong number of items".into(),
                );
            }
            for (i, item) in list.iter().enumerate() {
                check_json(api, items, item, &format!("{pointer}/{i}"), errors);
            }
        }
    }
}

fn push(errors: &mut Vec<Value>, pointer: &str, code: &str, detail: String) {
    errors.push(json!({ "pointer": pointer, "code": code, "detail": detail }));
}

fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
}

fn format_name(format: StringFormat) -> &'static str {
    match format {
        StringFormat::Plain => "a string",
        StringFormat::Uuid => "a UUID",
        StringFormat::DateTime => "an RFC 3339 date-time",
        StringFormat::Date => "an RFC 3339 date",
        StringFormat::Email => "an email address",
        StringFormat::Uri => "an absolute URI",
        StringFormat::Byte => "base64 (RFC 4648, padded)",
        StringFormat::Binary => "a file",
    }
}

/// A value that fits the schema: required properties only (so a page has no
/// `nextCursor` and list iterators end), one item per array, the first enum value.
fn synthesize(api: &Api, schema: &Schema) -> Value {
    let rules = &schema.rules;
    match &schema.ty {
        Type::Named(name) => match api
            .schemas
            .iter()
            .find(|s| &s.name == name)
            .map(|s| &s.kind)
        {
            Some(SchemaKind::StringEnum(values)) => json!(values[0]),
            Some(SchemaKind::IntEnum(values)) => json!(values[0]),
            Some(SchemaKind::Alias(inner)) => synthesize(api, inner),
            Some(SchemaKind::Union(union)) => {
                let first = &union.variants[0];
                let mut value = synthesize(api, &named_schema(&first.schema));
                if let (Some(property), Some(tag)) = (&union.discriminator, &first.tag) {
                    value[property] = json!(tag);
                }
                value
            }
            Some(SchemaKind::Object(object)) => {
                let mut map = Map::new();
                for field in object.fields.iter().filter(|f| f.required) {
                    map.insert(field.json_name.clone(), synthesize(api, &field.schema));
                }
                if let Some(union) = &object.union
                    && let Value::Object(variant) = synthesize(api, &named_schema(union))
                {
                    map.extend(variant);
                }
                Value::Object(map)
            }
            None => Value::Null,
        },
        Type::String(format) => json!(match format {
            StringFormat::Uuid => "01900000-0000-7000-8000-000000000001".to_owned(),
            StringFormat::DateTime => "2026-01-01T00:00:00Z".to_owned(),
            StringFormat::Date => "2026-01-01".to_owned(),
            StringFormat::Email => "user@example.com".to_owned(),
            StringFormat::Uri => "https://example.com/".to_owned(),
            StringFormat::Byte => "a2VlbA==".to_owned(),
            StringFormat::Binary => "keel".to_owned(),
            StringFormat::Plain => {
                let min = rules.min_length.unwrap_or(0) as usize;
                let mut text = "example".to_owned();
                while text.chars().count() < min {
                    text.push('x');
                }
                text
            }
        }),
        Type::Integer(_) => json!(
            rules
                .minimum
                .map_or(1, |b| b.value as i64 + i64::from(b.exclusive))
        ),
        Type::Number(_) => json!(
            rules
                .minimum
                .map_or(1.0, |b| b.value + if b.exclusive { 1.0 } else { 0.0 })
        ),
        Type::Boolean => json!(true),
        Type::Array(items) => json!([synthesize(api, items)]),
        Type::Map(_) => json!({}),
        Type::Any => json!({}),
    }
}

fn named_schema(name: &str) -> Schema {
    Schema {
        ty: Type::Named(name.to_owned()),
        nullable: false,
        rules: Rules::default(),
        description: None,
        default: None,
    }
}

/// An object parameter's `(property, value)` pairs where its style puts them
/// (ADR 23), `None` when it is not sent; `raw` is the parameter's one value
/// (the path segment, the header lines joined, the query value by its name).
fn object_pairs(
    param: &Param,
    fields: &[Field],
    query: &[(String, String)],
    raw: Option<String>,
) -> Result<Option<Vec<(String, String)>>, String> {
    let comma = |value: &str| -> Result<Vec<(String, String)>, String> {
        if value.is_empty() {
            return Ok(Vec::new());
        }
        let items: Vec<&str> = value.split(param.delimiter()).collect();
        if !items.len().is_multiple_of(2) {
            return Err(format!("`{value}` must be property and value in turn"));
        }
        Ok(items
            .chunks(2)
            .map(|kv| (kv[0].to_owned(), kv[1].to_owned()))
            .collect())
    };
    let exploded = |value: &str, separator: char| -> Result<Vec<(String, String)>, String> {
        if value.is_empty() {
            return Ok(Vec::new());
        }
        value
            .split(separator)
            .map(|item| {
                item.split_once('=')
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .ok_or_else(|| format!("`{item}` must be `property=value`"))
            })
            .collect()
    };
    if param.location == Location::Query && param.explode {
        let pairs: Vec<(String, String)> = if param.style == Style::DeepObject {
            let open = format!("{}[", param.name);
            query
                .iter()
                .filter_map(|(k, v)| {
                    let property = k.strip_prefix(&open)?.strip_suffix(']')?;
                    Some((property.to_owned(), v.clone()))
                })
                .collect()
        } else {
            query
                .iter()
                .filter(|(k, _)| fields.iter().any(|f| &f.json_name == k))
                .cloned()
                .collect()
        };
        return Ok((!pairs.is_empty()).then_some(pairs));
    }
    let Some(raw) = raw else {
        return Ok(None);
    };
    let pairs = match (param.style, param.explode) {
        (Style::Label, explode) => {
            let rest = raw
                .strip_prefix('.')
                .ok_or("a `label` value starts with `.`")?;
            if explode {
                exploded(rest, '.')?
            } else {
                comma(rest)?
            }
        }
        (Style::Matrix, true) => {
            let rest = raw
                .strip_prefix(';')
                .ok_or("a `matrix` value starts with `;`")?;
            exploded(rest, ';')?
        }
        (Style::Matrix, false) => {
            let rest = raw
                .strip_prefix(&format!(";{}=", param.name))
                .ok_or_else(|| format!("a `matrix` value starts with `;{}=`", param.name))?;
            comma(rest)?
        }
        (_, true) => exploded(&raw, ',')?,
        (_, false) => comma(&raw)?,
    };
    Ok(Some(pairs))
}

/// The items of a `label` or `matrix` path segment (one for a value that is
/// not an array); a segment without its prefix has none, so it is missing.
fn styled_path_items(param: &Param, value: &str) -> Vec<String> {
    let prefix = match param.style {
        Style::Matrix => format!(";{}", param.name),
        _ => ".".to_owned(),
    };
    let Some(rest) = value.strip_prefix(&prefix) else {
        return Vec::new();
    };
    let rest = match param.style {
        Style::Matrix => rest.strip_prefix('=').unwrap_or(rest),
        _ => rest,
    };
    if !param.is_array() {
        return vec![rest.to_owned()];
    }
    if rest.is_empty() {
        return Vec::new();
    }
    let separator = match (param.style, param.explode) {
        (Style::Matrix, true) => format!(";{}=", param.name),
        (_, true) => ".".to_owned(),
        (_, false) => ",".to_owned(),
    };
    rest.split(separator.as_str()).map(str::to_owned).collect()
}

fn synthesize_header(schema: &Schema) -> String {
    match &schema.ty {
        Type::Integer(_) | Type::Number(_) => "1".into(),
        Type::String(StringFormat::DateTime) => "2026-01-01T00:00:00Z".into(),
        Type::String(StringFormat::Date) => "2026-01-01".into(),
        Type::String(StringFormat::Byte) => "bW9jaw==".into(),
        _ => "\"mock\"".into(),
    }
}

fn parameter_error(name: &str, code: &str, detail: String) -> Value {
    json!({ "parameter": name, "code": code, "detail": detail })
}

fn problem(status: StatusCode, detail: &str, errors: Vec<Value>) -> Response {
    let mut body = json!({
        "type": "urn:keel:problem:mock",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    if !errors.is_empty() {
        body["errors"] = Value::Array(errors);
    }
    Response::builder()
        .status(status)
        .content_type("application/problem+json")
        .body(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_templates() {
        let params = match_path("/v1/users/{userId}", "/v1/users/a%2Fb").unwrap();
        assert_eq!(params["userId"], "a/b");
        assert!(match_path("/v1/users/{userId}", "/v1/users").is_none());
        assert!(match_path("/v1/users", "/v1/orders").is_none());
    }

    #[test]
    fn uuids_are_recognised() {
        assert!(is_uuid("01900000-0000-7000-8000-000000000001"));
        assert!(!is_uuid("not-a-uuid"));
    }

    #[tokio::test]
    async fn formatted_response_headers_are_values_of_their_format() {
        let contract = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/catalog/openapi.yaml"
        );
        let api = crate::openapi::read(Path::new(contract)).unwrap().api;
        let loan = answer(
            &api,
            Request::builder()
                .uri(
                    "/books/01900000-0000-7000-8000-000000000001/loan"
                        .parse()
                        .unwrap(),
                )
                .finish(),
        )
        .await;
        assert_eq!(loan.status(), StatusCode::OK);
        let header = |name: &str| loan.headers()[name].to_str().unwrap().to_owned();
        assert!(
            header("x-due-at")
                .parse::<chrono::DateTime<chrono::Utc>>()
                .is_ok()
        );
        assert!(header("x-loaned-on").parse::<chrono::NaiveDate>().is_ok());
        assert!(
            base64::engine::general_purpose::STANDARD
                .decode(header("x-loan-token"))
                .is_ok()
        );
    }

    #[tokio::test]
    async fn label_and_matrix_path_parameters_are_read_as_written() {
        let contract = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/catalog/openapi.yaml"
        );
        let api = crate::openapi::read(Path::new(contract)).unwrap().api;
        let status = |path: &str| {
            let api = &api;
            let request = Request::builder().uri(path.parse().unwrap()).finish();
            async move { answer(api, request).await.status() }
        };
        assert_eq!(
            status("/shelves/.3/;row=a/;ids=1;ids=2/.x,y").await,
            StatusCode::OK
        );
        assert_eq!(
            status("/shelves/.3/;row=a/;ids=1;ids=x/.x").await,
            StatusCode::BAD_REQUEST,
            "an item that is not an integer"
        );
        assert_eq!(
            status("/shelves/.3/;row=a/;ids=1;ids=2;ids=3;ids=4/.x").await,
            StatusCode::BAD_REQUEST,
            "maxItems 3"
        );
        assert_eq!(
            status("/shelves/3/;row=a/;ids=1/.x").await,
            StatusCode::BAD_REQUEST,
            "no `.`: the parameter is missing"
        );
    }

    #[tokio::test]
    async fn object_parameters_are_read_where_their_style_puts_them() {
        let contract = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/catalog/openapi.yaml"
        );
        let api = crate::openapi::read(Path::new(contract)).unwrap().api;
        let status = |uri: &str, edition: Option<&str>| {
            let api = &api;
            let mut request = Request::builder().uri(uri.parse().unwrap());
            if let Some(edition) = edition {
                request = request.header("X-Edition", edition);
            }
            let request = request.finish();
            async move { answer(api, request).await.status() }
        };
        let ok = StatusCode::OK;
        let bad = StatusCode::BAD_REQUEST;
        for (uri, edition, want) in [
            (
                "/picks?title=Dune&year=1965&near=lat,1,lon,2&range[to]=9",
                Some("lang=fr,number=2"),
                ok,
            ),
            ("/picks?year=1965", None, bad), // `title` is required
            ("/picks?title=Dune&year=x", None, bad), // not an integer
            ("/picks?title=Dune&near=lat,1", None, bad), // `lon` is required
            ("/picks?title=Dune&near=lat,1,lon", None, bad), // odd items
            ("/picks?title=Dune&range[to]=4000", None, bad), // maximum
            ("/picks?title=Dune&spine=color|red|height|20", None, ok),
            ("/picks?title=Dune&spine=color,red", None, bad), // not `|`
            ("/picks?title=Dune", Some("lang,fr"), bad),      // not exploded
            (
                "/places/aisle,3/.x=1.y=2/;room=floor,2/;number=7;lamp=true",
                None,
                ok,
            ),
            (
                "/places/aisle,0/.x=1.y=2/;room=floor,2/;number=7",
                None,
                bad,
            ), // minimum
            ("/places/aisle,3/x=1.y=2/;room=floor,2/;number=7", None, bad), // no `.`
            (
                "/places/aisle,3/.x=1.y=2/;room=floor,2/;number=7;lamp=maybe",
                None,
                bad,
            ),
        ] {
            assert_eq!(status(uri, edition).await, want, "{uri} {edition:?}");
        }
    }

    #[tokio::test]
    async fn multipart_bodies_are_checked_like_json() {
        let contract = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/catalog/openapi.yaml"
        );
        let api = crate::openapi::read(Path::new(contract)).unwrap().api;
        let post = |parts: &str| {
            let body = format!("{parts}--b--\r\n")
                .replace('\n', "\r\n")
                .replace("\r\r", "\r");
            Request::builder()
                .method(poem::http::Method::POST)
                .uri(
                    "/books/01900000-0000-7000-8000-000000000001/cover"
                        .parse()
                        .unwrap(),
                )
                .header("content-type", "multipart/form-data; boundary=b")
                .body(body)
        };
        let cover = "--b\nContent-Disposition: form-data; name=\"cover\"; filename=\"c.png\"\n\n\u{1}\u{2}\n";
        let ok = answer(
            &api,
            post(&format!(
                "{cover}--b\nContent-Disposition: form-data; name=\"stars\"\n\n4\n"
            )),
        )
        .await;
        let status = ok.status();
        let text = ok.into_body().into_string().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{text}");
        let bad = answer(
            &api,
            post("--b\nContent-Disposition: form-data; name=\"stars\"\n\n9\n"),
        )
        .await;
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        let problem: Value =
            serde_json::from_slice(&bad.into_body().into_vec().await.unwrap()).unwrap();
        let pointers: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["pointer"].as_str())
            .collect();
        assert_eq!(pointers, ["/cover", "/stars"], "{problem}");

        let download = Request::builder()
            .uri(
                "/books/01900000-0000-7000-8000-000000000001/cover?size=4"
                    .parse()
                    .unwrap(),
            )
            .finish();
        let download = answer(&api, download).await;
        assert_eq!(download.content_type(), Some("image/png"));
        assert_eq!(
            download.into_body().into_vec().await.unwrap(),
            b"keel",
            "bytes, not JSON"
        );
    }
}
