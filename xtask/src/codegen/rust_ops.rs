//! `generated/rust/types/src/<tag>.rs`: the request struct and the response enum
//! of every operation, shared by the server trait and the Rust client.

use anyhow::Result;

use super::code::{Code, doc_lines, rust_str};
use super::rust_types::rust_type;
use crate::openapi::model::*;
use crate::openapi::names::{header_snake_case, pascal_case, snake_case};

pub fn tag_rs(api: &Api, tag: &Tag, header: &str) -> Result<String> {
    let mut body = Code::default();
    for op in api.operations.iter().filter(|op| op.tag == tag.name) {
        request_struct(&mut body, op)?;
        response_enum(&mut body, op);
    }
    let body = body.finish();
    let mut out = String::new();
    out.push_str(header);
    out.push_str(&format!(
        "\n//!\n//! The inputs and outputs of the operations tagged `{}`.\n\n",
        tag.name
    ));
    let schema_names = schemas_mentioned(api, &body);
    if !schema_names.is_empty() {
        out.push_str(&format!("use crate::{{{}}};\n\n", schema_names.join(", ")));
    }
    out.push_str(&body);
    Ok(out)
}

/// The schema types a generated body refers to, for its `use` line.
pub fn schemas_mentioned<'a>(api: &'a Api, body: &str) -> Vec<&'a str> {
    // One pass over the body instead of one search per schema: a name is
    // mentioned where it is a whole identifier not preceded by `:` (a path).
    let words = capitalised_identifiers(body);
    let mentioned = |name: &str| {
        if name.starts_with(|c: char| c.is_ascii_uppercase()) && name.bytes().all(is_ident_byte) {
            words.contains(name)
        } else {
            mentions_type(body, name)
        }
    };
    let mut names: Vec<&str> = api
        .schemas
        .iter()
        .map(|s| s.name.as_str())
        .filter(|n| mentioned(n))
        .collect();
    // Re-exported by the types crate for `format: byte`.
    if mentioned("Base64") {
        names.insert(0, "Base64");
    }
    names
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Every maximal run of `[A-Za-z0-9_]` in `body` that starts with a capital
/// and does not follow a `:` (schema names are capitalised; the rest of the
/// body, lower-case words and keywords, need not be hashed).
fn capitalised_identifiers(body: &str) -> std::collections::HashSet<&str> {
    let bytes = body.as_bytes();
    let mut found = std::collections::HashSet::new();
    let mut i = 0;
    while i < bytes.len() {
        // A comment line (docs) names no type to import: "Stock reserved by
        // orders…" in an operation's description is prose, not `Stock`.
        if i == 0 || bytes[i - 1] == b'\n' {
            let line_end = body[i..].find('\n').map_or(bytes.len(), |n| i + n);
            if body[i..line_end].trim_start().starts_with("//") {
                i = line_end;
                continue;
            }
        }
        if !is_ident_byte(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_ident_byte(bytes[i]) {
            i += 1;
        }
        if bytes[start].is_ascii_uppercase() && (start == 0 || bytes[start - 1] != b':') {
            found.insert(&body[start..i]);
        }
    }
    found
}

/// The definition [`schemas_mentioned`] implements in one pass, for names that
/// are not plain identifiers: a whole word, not after `:`, outside comment lines.
fn mentions_type(body: &str, name: &str) -> bool {
    body.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .any(|line| {
            line.match_indices(name).any(|(i, _)| {
                let before = line[..i].chars().next_back();
                let after = line[i + name.len()..].chars().next();
                !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                    && !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            })
        })
}

pub fn operation_docs(out: &mut Code, op: &Operation) {
    if let Some(summary) = &op.summary {
        out.line(&format!("/// {summary}"));
        out.line("///");
    }
    out.line(&format!(
        "/// `{} {}` (operation `{}`)",
        op.method.as_str().to_uppercase(),
        op.path,
        op.id
    ));
    if let Some(description) = &op.description {
        out.line("///");
        doc_lines(out, Some(description));
    }
    out.line("///");
    match &op.security {
        Security::Public => out.line("/// Public: no access token needed."),
        Security::ApiKey { scheme } => out.line(&format!(
            "/// Needs a key of the `{scheme}` API key scheme."
        )),
        Security::Bearer { scopes, .. } if scopes.is_empty() => {
            out.line("/// Needs an access token.")
        }
        Security::Bearer { scopes, .. } => out.line(&format!(
            "/// Needs an access token with {}.",
            scopes
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

pub fn param_ident(param: &Param) -> String {
    match param.location {
        Location::Header => header_snake_case(&param.name),
        Location::Path | Location::Query | Location::Cookie => snake_case(&param.name),
    }
}

/// The value the service sees for a parameter: required ones and ones with a
/// default are plain, others are `Option`. An array is plain either way: on
/// the wire, an absent array and an empty one are the same.
pub fn param_field_type(param: &Param) -> String {
    let ty = rust_type(&param.schema);
    if param.required || param.schema.default.is_some() || param.is_array() {
        ty
    } else {
        format!("Option<{ty}>")
    }
}

pub fn request_struct(out: &mut Code, op: &Operation) -> Result<()> {
    let ty = pascal_case(&op.id);
    out.line(&format!(
        "/// The input of `{}` (`{} {}`): on the server, decoded and validated.",
        op.id,
        op.method.as_str().to_uppercase(),
        op.path
    ));
    out.line("#[derive(Debug, Clone, PartialEq)]");
    out.line(&format!("pub struct {ty}Request {{"));
    for param in &op.params {
        let location = match param.location {
            Location::Path => "path",
            Location::Query => "query",
            Location::Header => "header",
            Location::Cookie => "cookie",
        };
        let mut doc = format!("`{}` ({location} parameter)", param.name);
        if let Some(d) = &param.description {
            doc.push_str(": ");
            doc.push_str(d.trim());
        }
        if let Some(default) = &param.schema.default {
            doc.push_str(&format!(" Defaults to `{default}`."));
        }
        doc_lines(out, Some(&doc));
        out.line(&format!(
            "pub {}: {},",
            param_ident(param),
            param_field_type(param)
        ));
    }
    if let Some(body) = &op.body {
        doc_lines(
            out,
            Some(body.description.as_deref().unwrap_or("The request body.")),
        );
        if body.required {
            out.line(&format!("pub body: {},", request_body_type(body)));
        } else {
            out.line(&format!("pub body: Option<{}>,", request_body_type(body)));
        }
    }
    out.line("}");
    out.blank();
    // Operations whose inputs are all optional can be called with `..Default::default()`.
    let defaults: Option<Vec<String>> = if op.body.is_some() {
        None
    } else {
        op.params
            .iter()
            .map(|p| match (&p.schema.default, p.required) {
                (_, true) => None,
                (Some(value), false) => {
                    let literal = default_literal(value, &rust_type(&p.schema))?;
                    Some(format!("{}: {literal},", param_ident(p)))
                }
                (None, false) if p.is_array() => Some(format!("{}: Vec::new(),", param_ident(p))),
                (None, false) => Some(format!("{}: None,", param_ident(p))),
            })
            .collect()
    };
    if let Some(fields) = defaults {
        out.line(&format!("impl Default for {ty}Request {{"));
        out.line("/// The contract's defaults; optional parameters left out.");
        out.line("fn default() -> Self {");
        out.line(&format!("{ty}Request {{"));
        for field in fields {
            out.line(&field);
        }
        out.line("}");
        out.line("}");
        out.line("}");
        out.blank();
    }
    Ok(())
}

/// The response enum's variant for a status: its reason phrase, `StatusNNN`
/// for codes without a common one, `Other` for `default`.
pub fn variant_name(status: Status) -> String {
    let status = match status {
        Status::Code(code) => code,
        Status::Range(1) => return "Informational".to_owned(),
        Status::Range(2) => return "Success".to_owned(),
        Status::Range(3) => return "Redirection".to_owned(),
        Status::Range(4) => return "ClientError".to_owned(),
        Status::Range(_) => return "ServerError".to_owned(),
        Status::Default => return "Other".to_owned(),
    };
    let reason = match status {
        200 => "Ok",
        201 => "Created",
        202 => "Accepted",
        204 => "NoContent",
        301 => "MovedPermanently",
        302 => "Found",
        303 => "SeeOther",
        304 => "NotModified",
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        406 => "NotAcceptable",
        409 => "Conflict",
        410 => "Gone",
        412 => "PreconditionFailed",
        413 => "PayloadTooLarge",
        415 => "UnsupportedMediaType",
        422 => "UnprocessableContent",
        428 => "PreconditionRequired",
        429 => "TooManyRequests",
        500 => "InternalServerError",
        501 => "NotImplemented",
        502 => "BadGateway",
        503 => "ServiceUnavailable",
        504 => "GatewayTimeout",
        other => return format!("Status{other}"),
    };
    reason.to_owned()
}

/// The Rust type of a whole body: raw bytes (`application/octet-stream`
/// uploads, downloads) are `Vec<u8>`, anything else its schema's type.
pub fn body_type(schema: &Schema) -> String {
    if schema.is_bytes() {
        "Vec<u8>".to_owned()
    } else {
        rust_type(schema)
    }
}

/// The Rust type of a request body: with an XML alternative, the typed value
/// or the XML's bytes ([`keel_runtime::JsonOrBytes`]).
pub fn request_body_type(body: &Body) -> String {
    if body.has_xml() {
        format!("keel_runtime::JsonOrBytes<{}>", rust_type(&body.schema))
    } else {
        body_type(&body.schema)
    }
}

/// The Rust type of a response's body: in several media types, the JSON
/// value or bytes ([`keel_runtime::JsonOrBytes`]).
pub fn response_body_type(response: &Response) -> Option<String> {
    let (_, schema) = response.content.as_ref()?;
    Some(if response.bytes_media.is_empty() {
        body_type(schema)
    } else {
        format!("keel_runtime::JsonOrBytes<{}>", rust_type(schema))
    })
}

pub fn header_type(header: &Header) -> String {
    let ty = rust_type(&header.schema);
    if header.required {
        ty
    } else {
        format!("Option<{ty}>")
    }
}

pub fn response_enum(out: &mut Code, op: &Operation) {
    let ty = pascal_case(&op.id);
    out.line(&format!(
        "/// What `{}` answers: one variant per status the contract declares.",
        op.id
    ));
    out.line("#[derive(Debug, Clone, PartialEq)]");
    out.line(&format!("pub enum {ty}Response {{"));
    for response in &op.responses {
        out.line(&format!(
            "/// {}: {}",
            response.status,
            response.description.trim().lines().next().unwrap_or("")
        ));
        let variant = variant_name(response.status);
        let carries_status = response.status.carries_status();
        match (
            &response.content,
            response.headers.is_empty() && !carries_status,
        ) {
            (None, true) => out.line(&format!("{variant},")),
            (Some(_), true) => out.line(&format!(
                "{variant}({}),",
                response_body_type(response).expect("content")
            )),
            (content, false) => {
                out.line(&format!("{variant} {{"));
                if carries_status {
                    out.line("/// The status of the response: one the operation does not declare otherwise.");
                    out.line("status: u16,");
                }
                if content.is_some() {
                    out.line(&format!(
                        "body: {},",
                        response_body_type(response).expect("content")
                    ));
                }
                for header in &response.headers {
                    let doc = match &header.description {
                        Some(d) => format!("The `{}` header: {}", header.name, d.trim()),
                        None => format!("The `{}` header.", header.name),
                    };
                    doc_lines(out, Some(&doc));
                    out.line(&format!(
                        "{}: {},",
                        header_snake_case(&header.name),
                        header_type(header)
                    ));
                }
                out.line("},");
            }
        }
    }
    out.line("}");
    out.blank();
}

pub fn default_literal(value: &serde_json::Value, ty: &str) -> Option<String> {
    match value {
        serde_json::Value::Number(n) if ty.starts_with('i') => n.as_i64().map(|v| v.to_string()),
        serde_json::Value::Number(n) if ty.starts_with('f') => n.as_f64().map(|v| format!("{v:?}")),
        serde_json::Value::Bool(b) if ty == "bool" => Some(b.to_string()),
        serde_json::Value::String(s) if ty == "String" => {
            Some(format!("{}.to_owned()", rust_str(s)))
        }
        // Any other named type with a string default is a generated string enum.
        serde_json::Value::String(s) if ty.starts_with(|c: char| c.is_ascii_uppercase()) => Some(
            format!("{ty}::{}", crate::codegen::rust_types::enum_variant(s)),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_one_pass_scan_agrees_with_the_definition() {
        let body = "use x::Pet;\nfn f(a: Pet, b: Vec<PetInput>) -> Option<Owner> {}\nconst C: &str = \"A Toy, or crate::Food; Café_Bowl éBowl Bowl_ 9Leash Leash9 Collar:\";\n    /// Stock in a doc comment is prose, not a type";
        let names = [
            "Pet", "PetInput", "Owner", "Toy", "Food", "Bowl", "Leash", "Collar", "Input", "Vec",
            "Stock",
        ];
        assert!(!mentions_type(body, "Stock"));
        let words = capitalised_identifiers(body);
        for name in names {
            assert_eq!(
                words.contains(name),
                mentions_type(body, name),
                "{name} in {body:?}"
            );
        }
    }
}
