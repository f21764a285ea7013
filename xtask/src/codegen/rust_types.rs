//! `generated/rust/types`: one Rust type per schema, with serde, a `Validate` impl
//! carrying the schema's constraints, and poem-openapi derives behind `server`.

use anyhow::{Result, bail};

use super::code::{
    Code, attribute, call_statement, doc_block, doc_lines, imports, layout_expr, push_line,
    rust_str,
};
use crate::openapi::model::*;
use crate::openapi::names::{pascal_case, snake_case};

pub fn lib_rs(api: &Api, header: &str) -> Result<String> {
    let mut body = Code::default();
    for schema in &api.schemas {
        match &schema.kind {
            SchemaKind::Object(object) => object_type(&mut body, api, schema, object)?,
            SchemaKind::StringEnum(values) => enum_type(&mut body, schema, values)?,
            SchemaKind::IntEnum(values) => int_enum_type(&mut body, schema, values),
            SchemaKind::Union(union) => union_type(&mut body, api, schema, union),
            SchemaKind::Alias(inner) => newtype(&mut body, api, schema, inner)?,
        }
    }
    events(&mut body, api);
    let body = body.finish();
    let mut out = String::new();
    out.push_str(header);
    out.push_str("\n//!\n");
    out.push_str(
        "//! The schemas of the contract as Rust types. Serde is the one (de)serializer;\n",
    );
    out.push_str(
        "//! each type implements `validator::Validate` with the schema's constraints, and\n",
    );
    out.push_str("//! the `server` feature adds the poem-openapi derives that document it.\n\n");
    out.push_str(&imports(
        &body,
        &[
            ("LazyLock", "use std::sync::LazyLock;"),
            ("Tristate", "pub use keel_runtime::Tristate;"),
            ("Base64", "pub use keel_runtime::Base64;"),
            ("Errors::", "use keel_runtime::validate::Errors;"),
            ("Serialize", "use serde::{Deserialize, Serialize};"),
            ("Validate", "use validator::{Validate, ValidationErrors};"),
        ],
    ));
    out.push('\n');
    for tag in &api.tags {
        out.push_str(&format!("pub mod {};\n", snake_case(&tag.name)));
    }
    out.push('\n');
    out.push_str(&body);
    Ok(out)
}

/// The contract's domain events: each payload type names its event, and
/// `EVENTS` lists them all (a consumer can refuse a key it does not know).
fn events(out: &mut Code, api: &Api) {
    if api.events.is_empty() {
        return;
    }
    for event in &api.events {
        out.line(&format!(
            "/// Domain event `{}`, version {} (`x-keel-event`).",
            event.name, event.version
        ));
        out.line(&format!(
            "impl keel_runtime::ContractEvent for {} {{",
            event.schema
        ));
        out.line(&format!(
            "const NAME: &'static str = {};",
            rust_str(&event.name)
        ));
        out.line(&format!("const VERSION: u32 = {};", event.version));
        out.line("}");
        out.blank();
    }
    out.line("/// Every domain event of the contract: name and version.");
    out.line("pub const EVENTS: &[(&str, u32)] = &[");
    for event in &api.events {
        out.line(&format!("({}, {}),", rust_str(&event.name), event.version));
    }
    out.line("];");
    out.blank();
}

fn object_type(
    out: &mut Code,
    api: &Api,
    schema: &NamedSchema,
    object: &ObjectSchema,
) -> Result<()> {
    let name = &schema.name;
    let mut patterns = Vec::new();
    let mut checks = Vec::new();
    for field in &object.fields {
        let rust = snake_case(&field.json_name);
        let boxed = is_recursive(api, name, &field.schema);
        field_checks(api, name, &rust, field, boxed, &mut checks, &mut patterns)?;
    }
    if object.union.is_some() {
        // The union's violations sit beside the object's, as its properties do.
        checks.push(format!("errors.flattened(&self.{});", union_field(object)));
    }
    pattern_statics(out, &patterns);

    // An object with files is never JSON: it travels as multipart only, through
    // its `MultipartForm` impl, so it has no serde derives.
    let json = !object.has_files();
    match struct_item(api, schema, object, json) {
        Some(item) => {
            out.preformatted(&item);
            out.blank();
        }
        None => struct_lines(out, api, schema, object, json),
    }
    let mut properties: Vec<String> = object
        .fields
        .iter()
        .map(|f| format!("({}, {})", rust_str(&f.json_name), meta_ref(api, &f.schema)))
        .collect();
    let mut required: Vec<String> = object
        .fields
        .iter()
        .filter(|f| f.required)
        .map(|f| rust_str(&f.json_name))
        .collect();
    // A discriminator beside the properties is the union's; the served
    // document still lists it with the object's properties: required, and
    // one of the union's tags.
    if let Some(union) = object.union.as_deref().and_then(|u| api.union(u))
        && let Some(property) = &union.discriminator
    {
        let tags: Vec<String> = union
            .variants
            .iter()
            .filter_map(|v| v.tag.as_deref())
            .map(|tag| format!("serde_json::json!({})", rust_str(tag)))
            .collect();
        properties.push(format!(
            "({}, inline(MetaSchema {{ enum_items: vec![{}], ..MetaSchema::new(\"string\") }}))",
            rust_str(property),
            tags.join(", ")
        ));
        required.push(rust_str(property));
    }
    let additional = match &object.additional {
        Some(values) => format!(
            "additional_properties: Some(Box::new({})), ",
            meta_ref(api, values)
        ),
        None => String::new(),
    };
    let union = match object.union.as_deref().and_then(|u| api.union(u)) {
        Some(union) => format!("{}, ", union_meta(union)),
        None => String::new(),
    };
    documented_as(
        out,
        name,
        &format!(
            "MetaSchema {{ properties: vec![{}], required: vec![{}], {additional}{union}..MetaSchema::new(\"object\") }}",
            properties.join(", "),
            required.join(", ")
        ),
        if json {
            "documented"
        } else {
            "documented_type"
        },
    );

    validate_impl(out, name, &checks);
    if api.multipart_schemas().contains(name.as_str()) {
        multipart_impl(out, name, object);
    }
    Ok(())
}

/// The struct of [`object_type`] laid out as rustfmt would, or `None` where
/// rustfmt is needed (a line too long for it to keep, an unusual doc comment).
fn struct_item(
    api: &Api,
    schema: &NamedSchema,
    object: &ObjectSchema,
    json: bool,
) -> Option<String> {
    let name = &schema.name;
    if object.fields.is_empty() && object.additional.is_none() && object.union.is_none() {
        return None;
    }
    let mut out = String::new();
    doc_block(&mut out, 0, schema.description.as_deref())?;
    if json {
        push_line(
            &mut out,
            0,
            "#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]",
        )?;
    } else {
        push_line(&mut out, 0, "#[derive(Debug, Clone, PartialEq)]")?;
    }
    if object.deny_unknown && json {
        push_line(&mut out, 0, "#[serde(deny_unknown_fields)]")?;
    }
    push_line(&mut out, 0, &format!("pub struct {name} {{"))?;
    for field in &object.fields {
        let rust = snake_case(&field.json_name);
        doc_block(&mut out, 4, field.schema.description.as_deref())?;
        let (ty, serde_extra) = field_type(field, is_recursive(api, name, &field.schema));
        let mut serde_attr = format!("rename = {}", rust_str(&field.json_name));
        if let Some(extra) = serde_extra {
            serde_attr.push_str(", ");
            serde_attr.push_str(extra);
        }
        if json {
            attribute(&mut out, 4, "serde", &serde_attr)?;
        }
        push_line(&mut out, 4, &format!("pub {rust}: {ty},"))?;
    }
    if let Some(values) = &object.additional {
        push_line(
            &mut out,
            4,
            "/// Every other property (`additionalProperties`).",
        )?;
        push_line(&mut out, 4, "#[serde(flatten)]")?;
        push_line(
            &mut out,
            4,
            &format!(
                "pub additional_properties: std::collections::BTreeMap<String, {}>,",
                rust_type(values)
            ),
        )?;
    }
    if let Some(union) = &object.union {
        push_line(&mut out, 4, &union_doc(union))?;
        push_line(&mut out, 4, "#[serde(flatten)]")?;
        push_line(
            &mut out,
            4,
            &format!("pub {}: {union},", union_field(object)),
        )?;
    }
    out.push_str("}\n");
    Some(out)
}

/// The struct of [`object_type`], for rustfmt to lay out.
fn struct_lines(
    out: &mut Code,
    api: &Api,
    schema: &NamedSchema,
    object: &ObjectSchema,
    json: bool,
) {
    let name = &schema.name;
    doc_lines(out, schema.description.as_deref());
    if json {
        out.line("#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]");
    } else {
        out.line("#[derive(Debug, Clone, PartialEq)]");
    }
    if object.deny_unknown && json {
        out.line("#[serde(deny_unknown_fields)]");
    }
    out.line(&format!("pub struct {name} {{"));
    for field in &object.fields {
        let rust = snake_case(&field.json_name);
        doc_lines(out, field.schema.description.as_deref());
        let (ty, serde_extra) = field_type(field, is_recursive(api, name, &field.schema));
        let mut serde_attr = format!("rename = {}", rust_str(&field.json_name));
        if let Some(extra) = serde_extra {
            serde_attr.push_str(", ");
            serde_attr.push_str(extra);
        }
        if json {
            out.line(&format!("#[serde({serde_attr})]"));
        }
        out.line(&format!("pub {rust}: {ty},"));
    }
    if let Some(values) = &object.additional {
        out.line("/// Every other property (`additionalProperties`).");
        out.line("#[serde(flatten)]");
        out.line(&format!(
            "pub additional_properties: std::collections::BTreeMap<String, {}>,",
            rust_type(values)
        ));
    }
    if let Some(union) = &object.union {
        out.line(&union_doc(union));
        out.line("#[serde(flatten)]");
        out.line(&format!("pub {}: {union},", union_field(object)));
    }
    out.line("}");
    out.blank();
}

/// The doc comment of an object's flattened union field.
fn union_doc(union: &str) -> String {
    format!("/// The variant, whose properties sit beside these (`{union}`).")
}

/// The Rust field that holds an object's flattened union: `one_of` (`any_of`),
/// with `_` appended while a property has that name.
pub fn union_field(object: &ObjectSchema) -> String {
    let mut field = match object.union.as_deref() {
        Some(union) if union.ends_with("AnyOf") => "any_of".to_owned(),
        _ => "one_of".to_owned(),
    };
    while object
        .fields
        .iter()
        .any(|f| snake_case(&f.json_name) == field)
    {
        field.push('_');
    }
    field
}

/// `MultipartForm`: one part per property, a list as repeated parts. Files go
/// as they are; every other value as `Part::value` writes it.
fn multipart_impl(out: &mut Code, name: &str, object: &ObjectSchema) {
    let mut reads = Vec::new();
    let mut writes = Vec::new();
    for field in &object.fields {
        let rust = snake_case(&field.json_name);
        let json = rust_str(&field.json_name);
        let array = matches!(field.schema.ty, Type::Array(_));
        let (kind, constructor) = if field.schema.is_file() {
            ("file", "Part::file")
        } else {
            ("value", "Part::value")
        };
        let read = match (field.required, array) {
            (true, false) => format!("{kind}({json})"),
            (true, true) => format!("{kind}s({json})"),
            (false, false) => format!("optional_{kind}({json})"),
            (false, true) => format!("optional_{kind}s({json})"),
        };
        reads.push(format!("{rust}: parts.{read}?,"));
        writes.push(match (field.required, array) {
            (true, false) => format!("parts.push({constructor}({json}, &self.{rust}));"),
            (true, true) => format!(
                "parts.extend(self.{rust}.iter().map(|item| {constructor}({json}, item)));"
            ),
            (false, false) => format!(
                "if let Some(value) = &self.{rust} {{ parts.push({constructor}({json}, value)); }}"
            ),
            (false, true) => format!(
                "parts.extend(self.{rust}.iter().flatten().map(|item| {constructor}({json}, item)));"
            ),
        });
    }
    out.line(&format!(
        "impl keel_runtime::multipart::MultipartForm for {name} {{"
    ));
    out.line(&format!(
        "fn from_parts({}parts: keel_runtime::multipart::Parts) -> Result<Self, keel_runtime::multipart::PartError> {{",
        if reads.is_empty() { "" } else { "mut " }
    ));
    out.line(&format!("Ok({name} {{"));
    for read in reads {
        out.line(&read);
    }
    out.line("})");
    out.line("}");
    out.line("fn to_parts(&self) -> Vec<keel_runtime::multipart::Part> {");
    out.line("use keel_runtime::multipart::Part;");
    out.line(&format!(
        "let {}parts = Vec::new();",
        if writes.is_empty() { "" } else { "mut " }
    ));
    for write in writes {
        out.line(&write);
    }
    out.line("parts");
    out.line("}");
    out.line("}");
    out.blank();
}

/// Whether a field of this schema in `owner` leads back to `owner` without a
/// collection in between: such a field is boxed, or the type would be infinitely
/// large. (`Vec` and maps already hold their values on the heap.)
fn is_recursive(api: &Api, owner: &str, schema: &Schema) -> bool {
    let Type::Named(start) = &schema.ty else {
        return false;
    };
    let mut stack = vec![start.as_str()];
    let mut seen = std::collections::BTreeSet::new();
    while let Some(name) = stack.pop() {
        if name == owner {
            return true;
        }
        if !seen.insert(name) {
            continue;
        }
        let Some(named) = api.schemas.iter().find(|s| s.name == name) else {
            continue;
        };
        fn direct(s: &Schema) -> Option<&str> {
            match &s.ty {
                Type::Named(n) => Some(n.as_str()),
                _ => None,
            }
        }
        match &named.kind {
            SchemaKind::Object(object) => {
                stack.extend(object.fields.iter().filter_map(|f| direct(&f.schema)));
                stack.extend(object.union.as_deref());
            }
            SchemaKind::Union(union) => {
                stack.extend(union.variants.iter().map(|v| v.schema.as_str()))
            }
            SchemaKind::Alias(inner) => stack.extend(direct(inner)),
            SchemaKind::StringEnum(_) | SchemaKind::IntEnum(_) => {}
        }
    }
    false
}

/// `keel_runtime::documented!`: poem-openapi learns the type's schema from the
/// contract (see `keel_runtime::server::schema`).
fn documented(out: &mut Code, name: &str, schema: &str) {
    documented_as(out, name, schema, "documented");
}

/// `macro_name` is `documented_type` for a type poem-openapi never reads as JSON.
fn documented_as(out: &mut Code, name: &str, schema: &str, macro_name: &str) {
    let registry = if schema.contains("registry") {
        "registry"
    } else {
        "_"
    };
    // Called with braces, so rustfmt leaves the body as written here: laid out
    // by rustfmt, these nested schema expressions were a third of its time on a
    // large contract (ADR 17).
    let mut item = String::new();
    item.push_str("#[cfg(feature = \"server\")]\n");
    item.push_str(&format!("keel_runtime::{macro_name}! {{\n"));
    item.push_str(&format!("    {name},\n    {},\n", rust_str(name)));
    item.push_str(&format!("    |{registry}| {{\n"));
    item.push_str("        use keel_runtime::server::schema::*;\n");
    item.push_str("        ");
    item.push_str(&layout_expr(schema, 8));
    item.push_str("\n    }\n}\n");
    out.preformatted(&item);
    out.blank();
}

/// The schema of a position as poem-openapi's registry spells it.
fn meta_ref(api: &Api, schema: &Schema) -> String {
    let plain = match &schema.ty {
        Type::Named(name) => format!("reference::<{name}>(registry, {})", rust_str(name)),
        _ => format!("inline({})", meta_schema(api, schema)),
    };
    if schema.nullable {
        format!("nullable({plain})")
    } else {
        plain
    }
}

/// An inline schema: type, format, rules and default.
fn meta_schema(api: &Api, schema: &Schema) -> String {
    let r = &schema.rules;
    let mut fields: Vec<String> = Vec::new();
    let (ty, format) = match &schema.ty {
        Type::Named(_) => unreachable!("named schemas are references"),
        Type::String(f) => (
            "string",
            match f {
                StringFormat::Plain => None,
                StringFormat::Uuid => Some("uuid"),
                StringFormat::DateTime => Some("date-time"),
                StringFormat::Date => Some("date"),
                StringFormat::Email => Some("email"),
                StringFormat::Uri => Some("uri"),
                StringFormat::Byte => Some("byte"),
                StringFormat::Binary => Some("binary"),
            },
        ),
        Type::Integer(IntFormat::Int32) => ("integer", Some("int32")),
        Type::Integer(IntFormat::Int64) => ("integer", Some("int64")),
        Type::Number(NumberFormat::Float) => ("number", Some("float")),
        Type::Number(NumberFormat::Double) => ("number", Some("double")),
        Type::Boolean => ("boolean", None),
        Type::Any => ("", None),
        Type::Array(items) => {
            fields.push(format!("items: Some(Box::new({}))", meta_ref(api, items)));
            ("array", None)
        }
        Type::Map(values) => {
            fields.push(format!(
                "additional_properties: Some(Box::new({}))",
                meta_ref(api, values)
            ));
            ("object", None)
        }
    };
    if let Some(format) = format {
        fields.push(format!("format: Some(\"{format}\")"));
    }
    if let Some(v) = r.min_length {
        fields.push(format!("min_length: Some({v})"));
    }
    if let Some(v) = r.max_length {
        fields.push(format!("max_length: Some({v})"));
    }
    if let Some(p) = &r.pattern {
        fields.push(format!("pattern: Some({}.to_owned())", rust_str(p)));
    }
    if let Some(b) = r.minimum {
        fields.push(format!("minimum: Some({:?})", b.value));
        if b.exclusive {
            fields.push("exclusive_minimum: Some(true)".into());
        }
    }
    if let Some(b) = r.maximum {
        fields.push(format!("maximum: Some({:?})", b.value));
        if b.exclusive {
            fields.push("exclusive_maximum: Some(true)".into());
        }
    }
    if let Some(v) = r.min_items {
        fields.push(format!("min_items: Some({v})"));
    }
    if let Some(v) = r.max_items {
        fields.push(format!("max_items: Some({v})"));
    }
    if let Some(default) = &schema.default {
        fields.push(format!("default: Some(serde_json::json!({default}))"));
    }
    if fields.is_empty() {
        format!("MetaSchema::new(\"{ty}\")")
    } else {
        format!(
            "MetaSchema {{ {}, ..MetaSchema::new(\"{ty}\") }}",
            fields.join(", ")
        )
    }
}

/// The Rust type of a field, and the extra serde attribute its presence rules need.
fn field_type(field: &Field, boxed: bool) -> (String, Option<&'static str>) {
    let inner = rust_type(&field.schema);
    let inner = if boxed {
        format!("Box<{inner}>")
    } else {
        inner
    };
    match (field.required, field.schema.nullable) {
        (true, false) => (inner, None),
        (true, true) => (format!("Option<{inner}>"), None),
        (false, false) => (
            format!("Option<{inner}>"),
            Some(
                "default, deserialize_with = \"keel_runtime::non_null\", skip_serializing_if = \"Option::is_none\"",
            ),
        ),
        (false, true) => (
            format!("Tristate<{inner}>"),
            Some("default, skip_serializing_if = \"Tristate::is_absent\""),
        ),
    }
}

/// The Rust type of a schema's value, ignoring whether it may be absent or null.
pub fn rust_type(schema: &Schema) -> String {
    match &schema.ty {
        Type::Named(name) => name.clone(),
        Type::String(StringFormat::Uuid) => "uuid::Uuid".into(),
        Type::String(StringFormat::DateTime) => "chrono::DateTime<chrono::Utc>".into(),
        Type::String(StringFormat::Date) => "chrono::NaiveDate".into(),
        Type::String(StringFormat::Plain | StringFormat::Email | StringFormat::Uri) => {
            "String".into()
        }
        Type::Integer(IntFormat::Int32) => "i32".into(),
        Type::Integer(IntFormat::Int64) => "i64".into(),
        Type::Number(NumberFormat::Float) => "f32".into(),
        Type::Number(NumberFormat::Double) => "f64".into(),
        Type::Boolean => "bool".into(),
        Type::String(StringFormat::Byte) => "Base64".into(),
        Type::String(StringFormat::Binary) => "keel_runtime::File".into(),
        Type::Any => "serde_json::Value".into(),
        Type::Map(values) => {
            let value = rust_type(values);
            if values.nullable {
                format!("std::collections::BTreeMap<String, Option<{value}>>")
            } else {
                format!("std::collections::BTreeMap<String, {value}>")
            }
        }
        Type::Array(items) => {
            let item = rust_type(items);
            if items.nullable {
                format!("Vec<Option<{item}>>")
            } else {
                format!("Vec<{item}>")
            }
        }
    }
}

/// poem-openapi's `validator(...)` for a string or number: it documents the rule in
/// the emitted spec (and enforces it for parameters, which poem-openapi parses).
pub fn oai_validator(schema: &Schema) -> Option<String> {
    let rules = &schema.rules;
    let mut parts = Vec::new();
    // poem-openapi measures lengths on text; a `byte` string is bytes in Rust, so
    // its length rules are checked (on the base64 length) by `Validate` alone.
    let text = schema.ty != Type::String(StringFormat::Byte);
    if let Some(min) = rules.min_length.filter(|_| text) {
        parts.push(format!("min_length = {min}"));
    }
    if let Some(max) = rules.max_length.filter(|_| text) {
        parts.push(format!("max_length = {max}"));
    }
    if let Some(pattern) = &rules.pattern {
        parts.push(format!("pattern = {}", rust_str(pattern)));
    }
    if let Some(b) = rules.minimum {
        parts.push(format!(
            "minimum(value = \"{}\"{})",
            b.value,
            if b.exclusive { ", exclusive" } else { "" }
        ));
    }
    if let Some(b) = rules.maximum {
        parts.push(format!(
            "maximum(value = \"{}\"{})",
            b.value,
            if b.exclusive { ", exclusive" } else { "" }
        ));
    }
    if let Some(min) = rules.min_items {
        parts.push(format!("min_items = {min}"));
    }
    if let Some(max) = rules.max_items {
        parts.push(format!("max_items = {max}"));
    }
    if parts.is_empty() {
        None
    } else {
        Some(parts.join(", "))
    }
}

fn field_checks(
    api: &Api,
    owner: &str,
    rust: &str,
    field: &Field,
    boxed: bool,
    checks: &mut Vec<String>,
    patterns: &mut Vec<(String, String)>,
) -> Result<()> {
    let json = rust_str(&field.json_name);
    let access = format!("&self.{rust}");
    let rules = &field.schema.rules;
    match &field.schema.ty {
        Type::String(StringFormat::Email) => {
            checks.push(format!("errors.email({json}, {access});"))
        }
        Type::String(StringFormat::Uri) => checks.push(format!("errors.url({json}, {access});")),
        _ => {}
    }
    if rules.min_length.is_some() || rules.max_length.is_some() {
        checks.push(format!(
            "errors.length({json}, {access}, {}, {});",
            opt_lit(rules.min_length),
            opt_lit(rules.max_length)
        ));
    }
    if let Some(pattern) = &rules.pattern {
        let static_name = format!(
            "{}_{}_PATTERN",
            snake_case(owner).to_uppercase(),
            rust.trim_end_matches('_').to_uppercase()
        );
        checks.push(format!("errors.pattern({json}, {access}, &{static_name});"));
        patterns.push((static_name, pattern.clone()));
    }
    if rules.minimum.is_some() || rules.maximum.is_some() {
        let number = rust_type(&field.schema);
        let lit = |b: Option<Bound>, exclusive: bool| match b {
            Some(b) if b.exclusive == exclusive => {
                format!("Some({}{number})", number_lit(b.value, &number))
            }
            _ => "None".to_owned(),
        };
        checks.push(format!(
            "errors.range({json}, {access}, {}, {}, {}, {});",
            lit(rules.minimum, false),
            lit(rules.maximum, false),
            lit(rules.minimum, true),
            lit(rules.maximum, true),
        ));
    }
    if rules.min_items.is_some() || rules.max_items.is_some() {
        checks.push(format!(
            "errors.items({json}, {access}, {}, {});",
            opt_lit(rules.min_items),
            opt_lit(rules.max_items)
        ));
    }
    // Objects validate themselves; their violations nest under this property.
    let is_object = |ty: &Type| matches!(ty, Type::Named(n) if is_object_schema(api, n));
    let nested = match &field.schema.ty {
        ty if is_object(ty) => Some("nested"),
        Type::Array(items) if is_object(&items.ty) => {
            if items.nullable {
                bail!(
                    "`{owner}.{}`: arrays of nullable objects are not supported yet",
                    field.json_name
                );
            }
            Some("each")
        }
        _ => None,
    };
    if let Some(method) = nested {
        // A boxed value validates what is in the box.
        let unbox = if boxed { ".as_ref()" } else { "" };
        checks.push(match (field.required, field.schema.nullable) {
            (true, false) if boxed => format!("errors.{method}({json}, self.{rust}.as_ref());"),
            (true, false) => format!("errors.{method}({json}, {access});"),
            (true, true) | (false, false) => format!(
                "if let Some(value) = {access} {{ errors.{method}({json}, value{unbox}); }}"
            ),
            (false, true) => format!(
                "if let Tristate::Value(value) = {access} {{ errors.{method}({json}, value{unbox}); }}"
            ),
        });
    }
    Ok(())
}

/// Objects, unions and named arrays or primitives validate themselves; enums
/// need nothing.
fn is_object_schema(api: &Api, name: &str) -> bool {
    api.schemas.iter().any(|s| {
        s.name == name
            && matches!(
                s.kind,
                SchemaKind::Object(_) | SchemaKind::Union(_) | SchemaKind::Alias(_)
            )
    })
}

/// The compiled `pattern`s a type's checks use, once per process.
fn pattern_statics(out: &mut Code, patterns: &[(String, String)]) {
    for (static_name, pattern) in patterns {
        out.line(&format!(
            "static {static_name}: LazyLock<regex::Regex> = LazyLock::new(|| regex::Regex::new({}).expect(\"the contract's pattern compiles\"));",
            rust_str(pattern)
        ));
    }
    if !patterns.is_empty() {
        out.blank();
    }
}

/// `impl Validate` running the checks `field_checks` wrote.
fn validate_impl(out: &mut Code, name: &str, checks: &[String]) {
    match validate_item(name, checks) {
        Some(item) => {
            out.preformatted(&item);
            out.blank();
        }
        None => validate_lines(out, name, checks),
    }
}

/// [`validate_impl`] laid out as rustfmt would, if every check is a call that
/// stays on one line.
fn validate_item(name: &str, checks: &[String]) -> Option<String> {
    let mut out = String::new();
    push_line(&mut out, 0, &format!("impl Validate for {name} {{"))?;
    out.push_str("    fn validate(&self) -> Result<(), ValidationErrors> {\n");
    if checks.is_empty() {
        out.push_str("        Ok(())\n");
    } else {
        out.push_str("        let mut errors = Errors::default();\n");
        for check in checks {
            let call = check.strip_suffix(");")?;
            let (callee, args) = call.split_once('(')?;
            if !callee.starts_with("errors.") || callee.contains([' ', '{']) {
                return None;
            }
            call_statement(&mut out, 8, callee, args)?;
        }
        out.push_str("        errors.finish()\n");
    }
    out.push_str("    }\n}\n");
    Some(out)
}

fn validate_lines(out: &mut Code, name: &str, checks: &[String]) {
    out.line(&format!("impl Validate for {name} {{"));
    out.line("fn validate(&self) -> Result<(), ValidationErrors> {");
    if checks.is_empty() {
        out.line("Ok(())");
    } else {
        out.line("let mut errors = Errors::default();");
        for check in checks {
            out.line(check);
        }
        out.line("errors.finish()");
    }
    out.line("}");
    out.line("}");
    out.blank();
}

/// A named array, map or primitive: a newtype over the Rust type, transparent
/// to serde, that checks and documents the schema's own rules.
fn newtype(out: &mut Code, api: &Api, schema: &NamedSchema, inner: &Schema) -> Result<()> {
    let name = &schema.name;
    let ty = rust_type(inner);
    let field = Field {
        json_name: String::new(),
        required: true,
        schema: inner.clone(),
        read_only: false,
        write_only: false,
    };
    let mut checks = Vec::new();
    let mut patterns = Vec::new();
    field_checks(api, name, "0", &field, false, &mut checks, &mut patterns)?;
    pattern_statics(out, &patterns);
    doc_lines(out, schema.description.as_deref());
    out.line("#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]");
    out.line("#[serde(transparent)]");
    out.line(&format!("pub struct {name}(pub {ty});"));
    out.blank();
    out.line(&format!("impl std::ops::Deref for {name} {{"));
    out.line(&format!("type Target = {ty};"));
    out.line(&format!("fn deref(&self) -> &{ty} {{ &self.0 }}"));
    out.line("}");
    out.blank();
    out.line(&format!("impl std::ops::DerefMut for {name} {{"));
    out.line(&format!(
        "fn deref_mut(&mut self) -> &mut {ty} {{ &mut self.0 }}"
    ));
    out.line("}");
    out.blank();
    out.line(&format!("impl From<{ty}> for {name} {{"));
    out.line(&format!("fn from(value: {ty}) -> Self {{ {name}(value) }}"));
    out.line("}");
    out.blank();
    validate_impl(out, name, &checks);
    documented(out, name, &meta_schema(api, inner));
    Ok(())
}

fn opt_lit(value: Option<u64>) -> String {
    value.map_or("None".to_owned(), |v| format!("Some({v})"))
}

fn number_lit(value: f64, ty: &str) -> String {
    if ty.starts_with('i') {
        format!("{}", value as i64)
    } else {
        format!("{value:?}")
    }
}

/// The Rust variant for an enum value: PascalCase, prefixed when it would not
/// start with a letter.
pub fn enum_variant(value: &str) -> String {
    let mut variant = pascal_case(value);
    if variant.is_empty() || variant.starts_with(|c: char| c.is_ascii_digit()) {
        variant.insert(0, 'V');
    }
    variant
}

fn enum_type(out: &mut Code, schema: &NamedSchema, values: &[String]) -> Result<()> {
    let name = &schema.name;
    let mut variants: Vec<String> = Vec::new();
    for value in values {
        let variant = enum_variant(value);
        if variants.contains(&variant) {
            bail!("enum `{name}`: the values map to the same Rust variant `{variant}`");
        }
        variants.push(variant);
    }
    match enum_items(schema, values, &variants) {
        Some(items) => {
            out.preformatted(&items);
            out.blank();
        }
        None => enum_lines(out, schema, values, &variants),
    }
    Ok(())
}

/// [`enum_type`]'s items laid out as rustfmt would, if every line is short.
fn enum_items(schema: &NamedSchema, values: &[String], variants: &[String]) -> Option<String> {
    let name = &schema.name;
    let mut out = String::new();
    doc_block(&mut out, 0, schema.description.as_deref())?;
    out.push_str("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]\n");
    out.push_str("#[cfg_attr(feature = \"server\", derive(poem_openapi::Enum))]\n");
    push_line(&mut out, 0, &format!("pub enum {name} {{"))?;
    for (value, variant) in values.iter().zip(variants) {
        let value = rust_str(value);
        attribute(&mut out, 4, "serde", &format!("rename = {value}"))?;
        // rustfmt breaks the nested list too when this is long; not laid out here.
        let server = format!("feature = \"server\", oai(rename = {value})");
        if server.len() > 70 {
            return None;
        }
        attribute(&mut out, 4, "cfg_attr", &server)?;
        push_line(&mut out, 4, &format!("{variant},"))?;
    }
    out.push_str("}\n\n");
    push_line(&mut out, 0, &format!("impl Validate for {name} {{"))?;
    out.push_str(
        "    fn validate(&self) -> Result<(), ValidationErrors> {\n        Ok(())\n    }\n}\n\n",
    );
    push_line(&mut out, 0, &format!("impl {name} {{"))?;
    out.push_str("    /// The value as the contract spells it.\n");
    out.push_str("    pub fn as_str(&self) -> &'static str {\n        match self {\n");
    for (value, variant) in values.iter().zip(variants) {
        push_line(
            &mut out,
            12,
            &format!("{name}::{variant} => {},", rust_str(value)),
        )?;
    }
    out.push_str("        }\n    }\n}\n\n");
    push_line(
        &mut out,
        0,
        &format!("impl keel_runtime::ToParam for {name} {{"),
    )?;
    out.push_str(
        "    fn to_param(&self) -> String {\n        self.as_str().to_owned()\n    }\n}\n",
    );
    Some(out)
}

fn enum_lines(out: &mut Code, schema: &NamedSchema, values: &[String], variants: &[String]) {
    let name = &schema.name;
    doc_lines(out, schema.description.as_deref());
    out.line("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]");
    out.line("#[cfg_attr(feature = \"server\", derive(poem_openapi::Enum))]");
    out.line(&format!("pub enum {name} {{"));
    for (value, variant) in values.iter().zip(variants) {
        out.line(&format!("#[serde(rename = {})]", rust_str(value)));
        out.line(&format!(
            "#[cfg_attr(feature = \"server\", oai(rename = {}))]",
            rust_str(value)
        ));
        out.line(&format!("{variant},"));
    }
    out.line("}");
    out.blank();
    out.line(&format!("impl Validate for {name} {{"));
    out.line("fn validate(&self) -> Result<(), ValidationErrors> {");
    out.line("Ok(())");
    out.line("}");
    out.line("}");
    out.blank();
    out.line(&format!("impl {name} {{"));
    out.line("/// The value as the contract spells it.");
    out.line("pub fn as_str(&self) -> &'static str {");
    out.line("match self {");
    for (value, variant) in values.iter().zip(variants) {
        out.line(&format!("{name}::{variant} => {},", rust_str(value)));
    }
    out.line("}");
    out.line("}");
    out.line("}");
    out.blank();
    out.line(&format!("impl keel_runtime::ToParam for {name} {{"));
    out.line("fn to_param(&self) -> String {");
    out.line("self.as_str().to_owned()");
    out.line("}");
    out.line("}");
    out.blank();
}

/// An integer enum: `V1`, `V2`, `VMinus1`, encoded as the number.
fn int_enum_type(out: &mut Code, schema: &NamedSchema, values: &[i64]) {
    let name = &schema.name;
    let variant = |v: i64| {
        if v < 0 {
            format!("VMinus{}", v.unsigned_abs())
        } else {
            format!("V{v}")
        }
    };
    doc_lines(out, schema.description.as_deref());
    out.line("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]");
    out.line(&format!("pub enum {name} {{"));
    for v in values {
        out.line(&format!("{},", variant(*v)));
    }
    out.line("}");
    out.blank();
    out.line(&format!("impl {name} {{"));
    out.line("/// The value as the contract spells it.");
    out.line("pub fn value(self) -> i64 {");
    out.line("match self {");
    for v in values {
        out.line(&format!("{name}::{} => {v},", variant(*v)));
    }
    out.line("}");
    out.line("}");
    out.line("}");
    out.blank();
    out.line(&format!("impl Serialize for {name} {{"));
    out.line(
        "fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {",
    );
    out.line("serializer.serialize_i64(self.value())");
    out.line("}");
    out.line("}");
    out.blank();
    let listed: Vec<String> = values.iter().map(i64::to_string).collect();
    out.line(&format!("impl<'de> Deserialize<'de> for {name} {{"));
    out.line(
        "fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {",
    );
    out.line("match i64::deserialize(deserializer)? {");
    for v in values {
        out.line(&format!("{v} => Ok({name}::{}),", variant(*v)));
    }
    out.line(&format!(
        "other => Err(serde::de::Error::custom(format!(\"{{other}} is not one of {}\"))),",
        listed.join(", ")
    ));
    out.line("}");
    out.line("}");
    out.line("}");
    out.blank();
    out.line(&format!("impl Validate for {name} {{"));
    out.line("fn validate(&self) -> Result<(), ValidationErrors> {");
    out.line("Ok(())");
    out.line("}");
    out.line("}");
    out.blank();
    out.line(&format!("impl keel_runtime::ToParam for {name} {{"));
    out.line("fn to_param(&self) -> String {");
    out.line("self.value().to_string()");
    out.line("}");
    out.line("}");
    out.blank();
    documented(
        out,
        name,
        &format!(
            "MetaSchema {{ enum_items: vec![{}], ..MetaSchema::new(\"integer\") }}",
            values
                .iter()
                .map(|v| format!("serde_json::json!({v})"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
}

/// A `oneOf`: an enum with one variant per schema (per tag, where a mapping
/// gives a schema several; see [`variant_names`]). With a discriminator,
/// decoding reads the discriminator and decodes that variant; encoding is the
/// variant's own where it holds its tag (a required property and one tag),
/// else the union writes the tag beside it ([`carries_tag`]). Without, serde
/// tries each variant in order.
fn union_type(out: &mut Code, api: &Api, schema: &NamedSchema, union: &UnionSchema) {
    let name = &schema.name;
    let names = variant_names(union);
    doc_lines(out, schema.description.as_deref());
    match &union.discriminator {
        Some(_) => out.line("#[derive(Debug, Clone, PartialEq)]"),
        None => {
            out.line("#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]");
            out.line("#[serde(untagged)]");
        }
    }
    out.line(&format!("pub enum {name} {{"));
    for (variant, rust) in union.variants.iter().zip(&names) {
        if rust != &variant.schema
            && let (Some(property), Some(tag)) = (&union.discriminator, &variant.tag)
        {
            out.line(&format!("/// `{property}: {tag}`."));
        }
        out.line(&format!("{rust}({}),", variant.schema));
    }
    out.line("}");
    out.blank();
    let mut meta = format!("MetaSchema {{ {}", union_meta(union));
    // A union of objects is an object; one with other variants (strings,
    // arrays, …) has no one type.
    let objects = union.variants.iter().all(|v| {
        api.schemas.iter().any(|s| {
            s.name == v.schema && matches!(s.kind, SchemaKind::Object(_) | SchemaKind::Union(_))
        })
    });
    if objects {
        meta.push_str(", ..MetaSchema::new(\"object\") }");
    } else {
        meta.push_str(", ..MetaSchema::ANY }");
    }
    documented(out, name, &meta);
    out.line(&format!("impl Validate for {name} {{"));
    out.line("fn validate(&self) -> Result<(), ValidationErrors> {");
    out.line("match self {");
    for rust in &names {
        out.line(&format!("{name}::{rust}(value) => value.validate(),"));
    }
    out.line("}");
    out.line("}");
    out.line("}");
    out.blank();
    let Some(property) = &union.discriminator else {
        return;
    };
    out.line(&format!("impl Serialize for {name} {{"));
    out.line(
        "fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {",
    );
    out.line("match self {");
    for (variant, rust) in union.variants.iter().zip(&names) {
        let tag = variant.tag.as_deref().unwrap_or(&variant.schema);
        if carries_tag(api, union, variant, property) {
            out.line(&format!(
                "{name}::{rust}(value) => value.serialize(serializer),"
            ));
        } else {
            out.line(&format!(
                "{name}::{rust}(value) => keel_runtime::serialize_tagged(value, {}, {}, serializer),",
                rust_str(property),
                rust_str(tag)
            ));
        }
    }
    out.line("}");
    out.line("}");
    out.line("}");
    out.blank();
    let expected: Vec<String> = union
        .variants
        .iter()
        .filter_map(|v| v.tag.as_ref())
        .map(|t| format!("`{t}`"))
        .collect();
    out.line(&format!("impl<'de> Deserialize<'de> for {name} {{"));
    out.line(
        "fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {",
    );
    out.line("use serde::de::Error as _;");
    out.line("let value = serde_json::Value::deserialize(deserializer)?;");
    out.line(&format!(
        "match value.get({}).and_then(serde_json::Value::as_str) {{",
        rust_str(property)
    ));
    for (variant, rust) in union.variants.iter().zip(&names) {
        let tag = variant.tag.as_deref().unwrap_or(&variant.schema);
        out.line(&format!(
            "Some({}) => serde_json::from_value(value).map({name}::{rust}).map_err(D::Error::custom),",
            rust_str(tag),
        ));
    }
    out.line(&format!(
        "Some(other) => Err(D::Error::custom(format!(\"unknown {property} `{{other}}`, expected one of {}\"))),",
        expected.join(", ")
    ));
    out.line(&format!(
        "None => Err(D::Error::missing_field({})),",
        rust_str(property)
    ));
    out.line("}");
    out.line("}");
    out.line("}");
    out.blank();
}

/// The `MetaSchema` fields that document a union: its variants, each schema
/// once, and its discriminator with every tag.
fn union_meta(union: &UnionSchema) -> String {
    let mut schemas: Vec<&str> = Vec::new();
    for variant in &union.variants {
        if !schemas.contains(&variant.schema.as_str()) {
            schemas.push(&variant.schema);
        }
    }
    let variants: Vec<String> = schemas
        .iter()
        .map(|schema| format!("reference::<{schema}>(registry, {})", rust_str(schema)))
        .collect();
    let mut meta = format!(
        "{}: vec![{}]",
        if union.any_of { "any_of" } else { "one_of" },
        variants.join(", ")
    );
    if let Some(property) = &union.discriminator {
        let mapping: Vec<String> = union
            .variants
            .iter()
            .map(|v| {
                format!(
                    "({}.to_owned(), {}.to_owned())",
                    rust_str(v.tag.as_deref().unwrap_or(&v.schema)),
                    rust_str(&format!("#/components/schemas/{}", v.schema))
                )
            })
            .collect();
        meta.push_str(&format!(
            ", discriminator: Some(MetaDiscriminatorObject {{ property_name: {}, mapping: vec![{}] }})",
            rust_str(property),
            mapping.join(", ")
        ));
    }
    meta
}

/// The Rust variant of each union variant: the schema's name, or where the
/// mapping gives a schema several tags, each tag in PascalCase (`oneA` →
/// `OneA`), with the schema's name in front where that is taken by another
/// variant.
pub fn variant_names(union: &UnionSchema) -> Vec<String> {
    let several = |schema: &str| union.variants.iter().filter(|v| v.schema == schema).count() > 1;
    let mut names: Vec<String> = union
        .variants
        .iter()
        .map(|v| match &v.tag {
            Some(tag) if several(&v.schema) => enum_variant(tag),
            _ => v.schema.clone(),
        })
        .collect();
    for i in 0..names.len() {
        let taken = names
            .iter()
            .enumerate()
            .any(|(j, other)| j != i && other == &names[i]);
        if taken && names[i] != union.variants[i].schema {
            names[i] = format!("{}{}", union.variants[i].schema, names[i]);
        }
    }
    names
}

/// Whether a variant holds its own tag: its schema declares the discriminator
/// as a required property and the mapping gives it this one tag, so what it
/// holds is what it encodes. Otherwise (the property optional or not declared,
/// as OpenAPI allows, or several tags) the union writes the tag.
fn carries_tag(api: &Api, union: &UnionSchema, variant: &UnionVariant, property: &str) -> bool {
    let single = union
        .variants
        .iter()
        .filter(|v| v.schema == variant.schema)
        .count()
        == 1;
    single
        && api.schemas.iter().any(|s| {
            s.name == variant.schema
                && matches!(&s.kind, SchemaKind::Object(o) if o.fields.iter().any(|f| f.json_name == property && f.required))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variant(schema: &str, tag: &str) -> UnionVariant {
        UnionVariant {
            schema: schema.into(),
            tag: Some(tag.into()),
        }
    }

    #[test]
    fn a_schema_with_several_tags_is_a_variant_per_tag_named_after_it() {
        let union = UnionSchema {
            variants: vec![
                variant("Round", "square"),
                variant("Round", "1st"),
                variant("Square", "sq"),
            ],
            discriminator: Some("kind".into()),
            any_of: false,
        };
        // `square` would be `Square`, which the schema `Square` has taken.
        assert_eq!(variant_names(&union), ["RoundSquare", "V1st", "Square"]);
    }
}
