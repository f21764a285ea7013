//! `generated/rust/server`: per tag, a trait with one method per operation, a
//! request struct and a response enum per operation, and the poem-openapi routes
//! that decode, validate, call the trait and encode.

use anyhow::Result;

use super::code::{Code, doc_lines, imports, rust_str};
use super::rust_ops::{
    default_literal, header_type, operation_docs, param_ident, schemas_mentioned, variant_name,
};
use super::rust_types::{oai_validator, rust_type};
use crate::openapi::model::*;
use crate::openapi::names::{header_snake_case, pascal_case, snake_case};

pub fn lib_rs(api: &Api, header: &str) -> Result<String> {
    if api.tags.len() > 16 {
        anyhow::bail!(
            "{} tags: poem-openapi assembles at most 16 route groups; merge some tags",
            api.tags.len()
        );
    }
    let mut out = Code::default();
    out.line(header);
    out.line("//!");
    out.line("//! One module per tag of the contract. Each holds the trait a service implements");
    out.line("//! (`UsersApi`), the request and response type of every operation, and the");
    out.line("//! poem-openapi routes that call the trait. [`api`] assembles them all.");
    out.blank();
    for tag in &api.tags {
        out.line(&format!("pub mod {};", snake_case(&tag.name)));
    }
    out.blank();
    out.line("pub use keel_runtime::server::{Headers, Principal, RequestContext, RequestId};");
    out.line("pub use keel_types as types;");
    out.blank();
    out.line("/// The contract this crate was generated from, byte for byte.");
    out.line("pub const CONTRACT_YAML: &str = include_str!(\"../contract/openapi.yaml\");");
    out.line("/// The same contract as JSON.");
    out.line("pub const CONTRACT_JSON: &str = include_str!(\"../contract/openapi.json\");");
    out.line(&format!(
        "/// `info.title` of the contract.\npub const TITLE: &str = {};",
        rust_str(&api.title)
    ));
    out.line(&format!(
        "/// `info.version` of the contract.\npub const VERSION: &str = {};",
        rust_str(&api.version)
    ));
    out.blank();
    let mut operations: Vec<(String, &str, &str)> = api
        .operations
        .iter()
        .map(|op| {
            (
                op.method.as_str().to_uppercase(),
                op.path.as_str(),
                op.id.as_str(),
            )
        })
        .collect();
    operations.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
    out.line("/// Every operation as `(METHOD, path, operationId)`: for the `Allow` header");
    out.line("/// of a 405, and to name the operation of a request before its handler runs");
    out.line("/// (metrics label requests by operation, never by raw path).");
    out.line(&format!(
        "pub const OPERATIONS: &[(&str, &str, &str)] = &[{}];",
        operations
            .iter()
            .map(|(m, p, id)| format!("({}, {}, {})", rust_str(m), rust_str(p), rust_str(id)))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    out.blank();
    let mut templates: Vec<&str> = api.operations.iter().map(|op| op.path.as_str()).collect();
    templates.sort_unstable();
    templates.dedup();
    out.line("/// The path of every operation, as the contract writes it.");
    out.line(&format!(
        "pub const PATH_TEMPLATES: &[&str] = &[{}];",
        templates
            .iter()
            .map(|t| rust_str(t))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    out.blank();
    let mut scopes: Vec<&str> = api
        .operations
        .iter()
        .flat_map(|op| match &op.security {
            Security::Bearer { scopes, .. } => scopes.as_slice(),
            Security::Public | Security::ApiKey { .. } => &[],
        })
        .map(String::as_str)
        .collect();
    scopes.sort_unstable();
    scopes.dedup();
    if !scopes.is_empty() {
        out.line("/// Every scope an operation requires, for poem-openapi's security metadata.");
        out.line("#[derive(poem_openapi::OAuthScopes)]");
        out.line("pub enum Scope {");
        for scope in &scopes {
            out.line(&format!("#[oai(rename = {})]", rust_str(scope)));
            out.line(&format!("{},", pascal_case(scope)));
        }
        out.line("}");
        out.blank();
    }
    out.line("/// The contract's tags, for poem-openapi's operation metadata.");
    out.line("#[derive(poem_openapi::Tags)]");
    out.line("pub enum Tag {");
    for tag in &api.tags {
        doc_lines(&mut out, tag.description.as_deref());
        out.line(&format!("#[oai(rename = {})]", rust_str(&tag.name)));
        out.line(&format!("{},", pascal_case(&tag.name)));
    }
    out.line("}");
    out.blank();
    let generics: Vec<String> = api
        .tags
        .iter()
        .map(|t| {
            format!(
                "{}: {}::{}Api",
                pascal_case(&t.name),
                snake_case(&t.name),
                pascal_case(&t.name)
            )
        })
        .collect();
    let params: Vec<String> = api
        .tags
        .iter()
        .map(|t| format!("{}: {}", snake_case(&t.name), pascal_case(&t.name)))
        .collect();
    let routes: Vec<String> = api
        .tags
        .iter()
        .map(|t| {
            format!(
                "{}::{}Routes<{}>",
                snake_case(&t.name),
                pascal_case(&t.name),
                pascal_case(&t.name)
            )
        })
        .collect();
    let values: Vec<String> = api
        .tags
        .iter()
        .map(|t| {
            format!(
                "{}::{}Routes::new({})",
                snake_case(&t.name),
                pascal_case(&t.name),
                snake_case(&t.name)
            )
        })
        .collect();
    // poem-openapi implements `OpenApi` for tuples of 2 to 16 and for a single value.
    let (routes, values) = if routes.len() == 1 {
        (routes[0].clone(), values[0].clone())
    } else {
        (
            format!("({})", routes.join(", ")),
            format!("({})", values.join(", ")),
        )
    };
    // A named type keeps `api`'s signature readable however many tags there are.
    let type_params: Vec<String> = api.tags.iter().map(|t| pascal_case(&t.name)).collect();
    out.line("/// The routes of every tag, as [`api`] assembles them.");
    out.line(&format!(
        "pub type Routes<{}> = {routes};",
        type_params.join(", ")
    ));
    out.blank();
    out.line("/// Every operation of the contract as one poem-openapi service. It takes one");
    out.line("/// implementation per tag, so a tag left unimplemented does not compile.");
    if api.tags.len() > 7 {
        // One parameter per tag is the point; clippy's limit of 7 is not.
        out.line("#[allow(clippy::too_many_arguments, clippy::type_complexity)]");
    }
    out.line(&format!(
        "pub fn api<{}>({}) -> poem_openapi::OpenApiService<Routes<{}>, ()> {{",
        generics.join(", "),
        params.join(", "),
        type_params.join(", "),
    ));
    out.line(&format!(
        "poem_openapi::OpenApiService::new({values}, TITLE, VERSION)"
    ));
    out.line("}");
    out.blank();
    spec_only(&mut out, api);
    Ok(out.finish())
}

/// `emitted_spec()`: the document poem-openapi derives from the routes, for
/// `cargo xtask check` to compare with the contract. poem-openapi builds it from
/// types alone, but wants a value of each, so a placeholder implements every
/// trait; the spec is all it is used for.
fn spec_only(out: &mut Code, api: &Api) {
    out.line("/// The OpenAPI document poem-openapi derives from these routes and types.");
    out.line("/// `cargo xtask check` compares it with the contract (the round-trip gate).");
    out.line("pub fn emitted_spec() -> String {");
    let placeholders = vec!["SpecOnly"; api.tags.len()].join(", ");
    out.line(&format!("api({placeholders}).spec()"));
    out.line("}");
    out.blank();
    out.line("/// Stands in for the services in [`emitted_spec`]; never called.");
    out.line("#[doc(hidden)]");
    out.line("pub struct SpecOnly;");
    out.blank();
    for tag in &api.tags {
        let module = snake_case(&tag.name);
        out.line(&format!(
            "impl {module}::{}Api for SpecOnly {{",
            pascal_case(&tag.name)
        ));
        for op in api.operations.iter().filter(|op| op.tag == tag.name) {
            let ty = pascal_case(&op.id);
            out.line(&format!(
                "async fn {}(&self, _: RequestContext, _: {module}::{ty}Request) -> {module}::{ty}Response {{",
                snake_case(&op.id)
            ));
            out.line("unreachable!(\"documentation only\")");
            out.line("}");
        }
        out.line("}");
        out.blank();
    }
}

pub fn tag_rs(api: &Api, tag: &Tag, header: &str) -> Result<String> {
    let ops: Vec<&Operation> = api
        .operations
        .iter()
        .filter(|op| op.tag == tag.name)
        .collect();
    let trait_name = format!("{}Api", pascal_case(&tag.name));
    let routes_name = format!("{}Routes", pascal_case(&tag.name));

    let mut body = Code::default();

    body.line(&format!(
        "/// The operations of the `{}` tag. Implement it in a service and pass the",
        tag.name
    ));
    body.line("/// service to [`crate::api`]; every method is required, so an operation added to");
    body.line("/// the contract is a compile error until it is implemented.");
    body.line(&format!(
        "#[diagnostic::on_unimplemented(message = \"`{{Self}}` does not implement `{trait_name}`\", label = \"this type must implement every operation of the `{}` tag\", note = \"write `impl {trait_name} for {{Self}}` with one method per operation (see the trait's docs)\")]",
        tag.name
    ));
    body.line(&format!("pub trait {trait_name}: Send + Sync + 'static {{"));
    for op in &ops {
        operation_docs(&mut body, op);
        let name = snake_case(&op.id);
        let ty = pascal_case(&op.id);
        body.line(&format!(
            "fn {name}(&self, ctx: RequestContext, req: {ty}Request) -> impl Future<Output = {ty}Response> + Send;"
        ));
    }
    body.line("}");
    body.blank();

    body.line(&format!(
        "/// The poem-openapi routes of the `{}` tag, calling a [`{trait_name}`].",
        tag.name
    ));
    body.line(&format!("pub struct {routes_name}<S> {{"));
    body.line("service: S,");
    body.line("}");
    body.blank();
    body.line(&format!("impl<S: {trait_name}> {routes_name}<S> {{"));
    body.line("pub fn new(service: S) -> Self {");
    body.line("Self { service }");
    body.line("}");
    body.line("}");
    body.blank();
    body.line("#[poem_openapi::OpenApi]");
    body.line(&format!("impl<S: {trait_name}> {routes_name}<S> {{"));
    let mut defaults = Vec::new();
    for op in &ops {
        handler(&mut body, op, &tag.name, &mut defaults)?;
    }
    body.line("}");
    body.blank();
    for function in defaults {
        body.line(&function);
        body.blank();
    }
    for op in &ops {
        payload_enum(&mut body, op);
        reply_enum(&mut body, op);
        if let Security::ApiKey { scheme } = &op.security
            && let Some(SchemeKind::ApiKey { name, location }) = api
                .security_schemes
                .iter()
                .find(|s| &s.name == scheme)
                .map(|s| &s.kind)
        {
            let ty = pascal_case(&op.id);
            let key_in = match location {
                Location::Query => "Query",
                Location::Cookie => "Cookie",
                Location::Header | Location::Path => "Header",
            };
            body.line(&format!("/// Where `{}` finds its API key.", op.id));
            body.line("#[doc(hidden)]");
            body.line(&format!("pub struct {ty}Key;"));
            body.line(&format!(
                "impl keel_runtime::server::RequiredKey for {ty}Key {{"
            ));
            body.line(&format!(
                "const SCHEME: &'static str = {};",
                rust_str(scheme)
            ));
            body.line(&format!("const NAME: &'static str = {};", rust_str(name)));
            body.line(&format!(
                "const IN: keel_runtime::server::KeyIn = keel_runtime::server::KeyIn::{key_in};"
            ));
            body.line("}");
            body.blank();
        }
        if let Security::Bearer { scheme, scopes } = &op.security {
            let ty = pascal_case(&op.id);
            body.line(&format!("/// The scopes `{}` requires.", op.id));
            body.line("#[doc(hidden)]");
            body.line(&format!("pub struct {ty}Scopes;"));
            body.line(&format!(
                "impl keel_runtime::server::RequiredScopes for {ty}Scopes {{"
            ));
            body.line(&format!(
                "const SCHEME: &'static str = {};",
                rust_str(scheme)
            ));
            body.line(&format!(
                "const SCOPES: &'static [&'static str] = &[{}];",
                scopes
                    .iter()
                    .map(|s| rust_str(s))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            if let Some(SchemeKind::OAuth2(flows)) = api
                .security_schemes
                .iter()
                .find(|s| &s.name == scheme)
                .map(|s| &s.kind)
            {
                oauth2_scheme(&mut body, flows);
            }
            body.line("}");
            body.blank();
        }
    }

    let body = body.finish();
    let mut out = String::new();
    out.push_str(header);
    out.push('\n');
    out.push_str(&format!("//!\n//! The `{}` tag", tag.name));
    match &tag.description {
        Some(d) => {
            out.push_str(":\n");
            for line in d.trim().lines() {
                out.push_str(&format!("//! {line}\n").replace("//! \n", "//!\n"));
            }
        }
        None => out.push_str(".\n"),
    }
    out.push('\n');
    let schema_names = schemas_mentioned(api, &body);
    out.push_str(&imports(
        &body,
        &[
            ("Path<", "use poem_openapi::param::Path;"),
            ("Query<", "use poem_openapi::param::Query;"),
            ("Header<", "use poem_openapi::param::Header;"),
            ("Cookie<", "use poem_openapi::param::Cookie;"),
            ("JsonBody<", "use keel_runtime::server::JsonBody;"),
            ("FormBody<", "use keel_runtime::server::FormBody;"),
            (
                "OptionalFormBody<",
                "use keel_runtime::server::OptionalFormBody;",
            ),
            ("MultipartBody<", "use keel_runtime::server::MultipartBody;"),
            (
                "OptionalMultipartBody<",
                "use keel_runtime::server::OptionalMultipartBody;",
            ),
            ("Binary<", "use poem_openapi::payload::Binary;"),
            ("BytesBody", "use keel_runtime::server::BytesBody;"),
            (
                "OptionalJsonBody<",
                "use keel_runtime::server::OptionalJsonBody;",
            ),
            ("JsonReply<", "use keel_runtime::server::JsonReply;"),
            ("Bearer<", "use keel_runtime::server::Bearer;"),
            ("ApiKey<", "use keel_runtime::server::ApiKey;"),
        ],
    ));
    out.push_str("use keel_runtime::server::RequestContext;\n");
    out.push_str(&format!(
        "/// The request and response type of each operation (shared with the Rust client).\npub use keel_types::{}::*;\n",
        snake_case(&tag.name)
    ));
    if !schema_names.is_empty() {
        out.push_str(&format!(
            "use keel_types::{{{}}};\n",
            schema_names.join(", ")
        ));
    }
    out.push('\n');
    out.push_str(&body);
    Ok(out)
}

/// `security_scheme()` for an `oauth2` scheme: its flows, as the contract
/// declares them.
fn oauth2_scheme(out: &mut Code, flows: &[OAuthFlow]) {
    let opt = |value: &Option<String>| match value {
        Some(v) => format!("Some({})", rust_str(v)),
        None => "None".to_owned(),
    };
    out.line("fn security_scheme() -> poem_openapi::registry::MetaSecurityScheme {");
    out.line("use poem_openapi::registry::{MetaOAuthFlow, MetaOAuthFlows, MetaOAuthScope};");
    out.line("keel_runtime::server::oauth2_scheme(MetaOAuthFlows {");
    for kind in SchemeKind::FLOWS {
        let field = snake_case(kind);
        let Some(flow) = flows.iter().find(|f| f.kind == kind) else {
            out.line(&format!("{field}: None,"));
            continue;
        };
        let scopes: Vec<String> = flow
            .scopes
            .iter()
            .map(|(name, description)| {
                format!(
                    "MetaOAuthScope {{ name: {}, description: Some({}) }}",
                    rust_str(name),
                    rust_str(description)
                )
            })
            .collect();
        out.line(&format!(
            "{field}: Some(MetaOAuthFlow {{ authorization_url: {}, token_url: {}, refresh_url: {}, scopes: vec![{}] }}),",
            opt(&flow.authorization_url),
            opt(&flow.token_url),
            opt(&flow.refresh_url),
            scopes.join(", ")
        ));
    }
    out.line("})");
    out.line("}");
}

/// A body offered in several media types: one variant per type.
fn payload_enum(out: &mut Code, op: &Operation) {
    let Some(body) = &op.body else {
        return;
    };
    if body.media.len() < 2 {
        return;
    }
    let ty = pascal_case(&op.id);
    let inner = rust_type(&body.schema);
    out.line(&format!(
        "/// The body of `{}`, in any of the media types the contract offers.",
        op.id
    ));
    out.line("#[doc(hidden)]");
    out.line("#[derive(poem_openapi::ApiRequest)]");
    out.line(&format!("pub enum {ty}Payload {{"));
    for media in &body.media {
        let (variant, payload) = match media {
            BodyMedia::Json => ("Json", "JsonBody"),
            BodyMedia::Form => ("Form", "FormBody"),
            BodyMedia::Multipart => ("Multipart", "MultipartBody"),
            BodyMedia::Xml => {
                out.line("Xml(keel_runtime::server::XmlBody),");
                continue;
            }
            BodyMedia::Binary => unreachable!("a binary body has one media type"),
        };
        out.line(&format!("{variant}({payload}<{inner}>),"));
    }
    out.line("}");
    out.blank();
    let outer = crate::codegen::rust_ops::request_body_type(body);
    out.line(&format!("impl {ty}Payload {{"));
    out.line(&format!("fn into_inner(self) -> {outer} {{"));
    out.line("match self {");
    for media in &body.media {
        let variant = match media {
            BodyMedia::Json => "Json",
            BodyMedia::Form => "Form",
            BodyMedia::Multipart => "Multipart",
            BodyMedia::Xml => {
                out.line(&format!(
                    "{ty}Payload::Xml(body) => keel_runtime::JsonOrBytes::Bytes {{ content_type: body.content_type, body: body.body }},"
                ));
                continue;
            }
            BodyMedia::Binary => unreachable!("a binary body has one media type"),
        };
        if body.has_xml() {
            out.line(&format!(
                "{ty}Payload::{variant}(body) => keel_runtime::JsonOrBytes::Json(body.0),"
            ));
        } else {
            out.line(&format!("{ty}Payload::{variant}(body) => body.0,"));
        }
    }
    out.line("}");
    out.line("}");
    out.line("}");
    out.blank();
}

fn reply_enum(out: &mut Code, op: &Operation) {
    let ty = pascal_case(&op.id);
    out.line(&format!(
        "/// How [`{ty}Response`] goes on the wire (poem-openapi's view of it)."
    ));
    out.line("#[doc(hidden)]");
    out.line("#[derive(poem_openapi::ApiResponse)]");
    out.line(&format!("pub enum {ty}Reply {{"));
    for response in &op.responses {
        doc_lines(out, Some(&response.description));
        // poem-openapi reads a variant without `status` as `default`, with the
        // status as its first field.
        let mut attr = Vec::new();
        match response.status {
            Status::Code(code) => attr.push(format!("status = {code}")),
            Status::Range(_) => attr.push(format!("status_range = \"{}\"", response.status)),
            Status::Default => {}
        }
        if let Some((media, _)) = &response.content
            && media != "application/json"
            && response.bytes_media.is_empty()
        {
            attr.push(format!("content_type = {}", rust_str(media)));
        }
        if !attr.is_empty() {
            out.line(&format!("#[oai({})]", attr.join(", ")));
        }
        let mut fields = Vec::new();
        if response.status.carries_status() {
            fields.push("poem::http::StatusCode".to_owned());
        }
        if let Some((_, schema)) = &response.content {
            if !response.bytes_media.is_empty() {
                fields.push(format!(
                    "keel_runtime::server::JsonOrBytesReply<{}, {}>",
                    rust_type(schema),
                    media_marker(op, response)
                ));
            } else if schema.is_bytes() {
                fields.push("Binary<Vec<u8>>".to_owned());
            } else {
                fields.push(format!("JsonReply<{}>", rust_type(schema)));
            }
        } else if response.status == Status::Default {
            // poem-openapi reads a bare `default` variant as a body without a
            // status; an empty body beside the status describes no content.
            fields.push("keel_runtime::server::NoBody".to_owned());
        }
        for header in &response.headers {
            fields.push(format!(
                "#[oai(header = {})] {}",
                rust_str(&header.name),
                header_type(header)
            ));
        }
        let variant = variant_name(response.status);
        if fields.is_empty() {
            out.line(&format!("{variant},"));
        } else {
            out.line(&format!("{variant}({}),", fields.join(", ")));
        }
    }
    out.line("}");
    out.blank();

    for response in op.responses.iter().filter(|r| !r.bytes_media.is_empty()) {
        let marker = media_marker(op, response);
        out.line(&format!(
            "/// The media types of `{}`'s {} response besides JSON.",
            op.id, response.status
        ));
        out.line("#[doc(hidden)]");
        out.line(&format!("pub struct {marker};"));
        out.line(&format!(
            "impl keel_runtime::server::BytesMedia for {marker} {{"
        ));
        let types: Vec<String> = response.bytes_media.iter().map(|m| rust_str(m)).collect();
        out.line(&format!(
            "const TYPES: &'static [&'static str] = &[{}];",
            types.join(", ")
        ));
        out.line("}");
        out.blank();
    }

    out.line(&format!("impl From<{ty}Response> for {ty}Reply {{"));
    out.line(&format!("fn from(response: {ty}Response) -> Self {{"));
    out.line("match response {");
    for response in &op.responses {
        let variant = variant_name(response.status);
        let headers: Vec<String> = response
            .headers
            .iter()
            .map(|h| header_snake_case(&h.name))
            .collect();
        let carries_status = response.status.carries_status();
        let wrap = match &response.content {
            Some(_) if !response.bytes_media.is_empty() => {
                "keel_runtime::server::JsonOrBytesReply::new(body)"
            }
            Some((_, schema)) if schema.is_bytes() => "Binary(body)",
            _ => "JsonReply(body)",
        };
        let line = match (&response.content, headers.is_empty() && !carries_status) {
            (None, true) => format!("{ty}Response::{variant} => {ty}Reply::{variant},"),
            (Some(_), true) => {
                format!("{ty}Response::{variant}(body) => {ty}Reply::{variant}({wrap}),")
            }
            (content, false) => {
                let mut bind = Vec::new();
                let mut args = Vec::new();
                if carries_status {
                    // A status outside 100..=999 is a bug in the service.
                    bind.push("status".to_owned());
                    args.push("poem::http::StatusCode::from_u16(status).unwrap_or(poem::http::StatusCode::INTERNAL_SERVER_ERROR)".to_owned());
                }
                if content.is_some() {
                    bind.push("body".to_owned());
                    args.push(wrap.to_owned());
                } else if response.status == Status::Default {
                    args.push("keel_runtime::server::NoBody".to_owned());
                }
                bind.extend(headers.iter().cloned());
                args.extend(headers.iter().cloned());
                format!(
                    "{ty}Response::{variant} {{ {} }} => {ty}Reply::{variant}({}),",
                    bind.join(", "),
                    args.join(", ")
                )
            }
        };
        out.line(&line);
    }
    out.line("}");
    out.line("}");
    out.line("}");
    out.blank();
}

/// The marker type naming the bytes media types of a response.
fn media_marker(op: &Operation, response: &Response) -> String {
    format!(
        "{}Reply{}Media",
        pascal_case(&op.id),
        variant_name(response.status)
    )
}

/// `defaults` collects the functions that give parameters their defaults.
fn handler(out: &mut Code, op: &Operation, tag: &str, defaults: &mut Vec<String>) -> Result<()> {
    let name = snake_case(&op.id);
    let ty = pascal_case(&op.id);
    let poem_path: String = op
        .path
        .split('/')
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(var) => format!(":{var}"),
                None => s.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("/");
    if let Some(summary) = &op.summary {
        out.line(&format!("/// {summary}"));
    }
    if let Some(description) = &op.description {
        out.line("///");
        doc_lines(out, Some(description));
    }
    out.line(&format!(
        "#[oai(path = {}, method = \"{}\", operation_id = {}, tag = \"crate::Tag::{}\")]",
        rust_str(&poem_path),
        op.method.as_str(),
        rust_str(&op.id),
        pascal_case(tag)
    ));
    if op.params.len() + usize::from(op.body.is_some()) + 2 > 7 {
        // One argument per parameter of the contract: as many as it declares.
        out.line("#[allow(clippy::too_many_arguments)]");
    }
    out.line(&format!("async fn {name}("));
    out.line("&self,");
    out.line("http: &poem::Request,");
    // First among the extractors: a request without the right token is refused
    // before its parameters or body are read.
    if let Security::Bearer { scopes, .. } = &op.security {
        // The scopes again, as poem-openapi documents them.
        let documented: Vec<String> = scopes
            .iter()
            .map(|s| format!("scope = \"crate::Scope::{}\"", pascal_case(s)))
            .collect();
        if documented.is_empty() {
            out.line(&format!("auth: Bearer<{ty}Scopes>,"));
        } else {
            out.line(&format!(
                "#[oai({})] auth: Bearer<{ty}Scopes>,",
                documented.join(", ")
            ));
        }
    }
    if let Security::ApiKey { .. } = &op.security {
        out.line(&format!("auth: ApiKey<{ty}Key>,"));
    }
    let mut fields = Vec::new();
    // poem-openapi binds path arguments to path variables by position, so path
    // parameters come first, in the order the path names them.
    let position = |p: &Param| match p.location {
        Location::Path => op.path.find(&format!("{{{}}}", p.name)).unwrap_or(0),
        Location::Query | Location::Header | Location::Cookie => usize::MAX,
    };
    let mut params: Vec<&Param> = op.params.iter().collect();
    params.sort_by_key(|p| position(p));
    for param in params {
        let var = param_ident(param);
        // Arrays joined by commas (everywhere but the exploded query) are
        // split by `CommaSeparated`; in the query, `JoinedQuery` reads them
        // (poem-openapi's `Query` panics on an absent `explode = false` one).
        let joined = param.is_array() && !param.explode;
        let value_ty = match &param.schema.ty {
            Type::Array(items) if joined => {
                format!("keel_runtime::server::CommaSeparated<{}>", rust_type(items))
            }
            _ => rust_type(&param.schema),
        };
        // What the request struct holds: a `Vec` of a comma-separated array.
        let inner = if joined { ".0" } else { "" };
        let extractor = match param.location {
            Location::Path => "Path",
            Location::Query if joined => "keel_runtime::server::JoinedQuery",
            Location::Query => "Query",
            Location::Header => "Header",
            Location::Cookie => "Cookie",
        };
        let mut attr = format!("name = {}", rust_str(&param.name));
        if param.is_array() && !param.explode {
            attr.push_str(", explode = false");
        }
        let default = match (param.required, &param.schema.default) {
            (false, Some(default)) => {
                Some(default_literal(default, &value_ty).ok_or_else(|| {
                    anyhow::anyhow!(
                        "operation `{}`: parameter `{}` has a default of a kind not supported yet",
                        op.id,
                        param.name
                    )
                })?)
            }
            _ => None,
        };
        // poem-openapi applies (and documents) a default through a function.
        let wire_ty = if let Some(literal) = default {
            let function = format!("{}_{var}_default", snake_case(&op.id));
            attr.push_str(&format!(", default = \"{function}\""));
            defaults.push(format!("fn {function}() -> {value_ty} {{ {literal} }}"));
            fields.push(format!("{var}: {var}.0"));
            value_ty.clone()
        } else if param.required {
            fields.push(format!("{var}: {var}.0{inner}"));
            value_ty.clone()
        } else if joined {
            // Absent and empty are the same on the wire.
            fields.push(format!("{var}: {var}.0.map(|v| v.0).unwrap_or_default()"));
            format!("Option<{value_ty}>")
        } else if param.is_array() {
            // Absent and empty are the same on the wire.
            fields.push(format!("{var}: {var}.0.unwrap_or_default()"));
            format!("Option<{value_ty}>")
        } else {
            fields.push(format!("{var}: {var}.0"));
            format!("Option<{value_ty}>")
        };
        if let Some(validator) = oai_validator(&param.schema) {
            attr.push_str(&format!(", validator({validator})"));
        }
        out.line(&format!("#[oai({attr})] {var}: {extractor}<{wire_ty}>,"));
    }
    if let Some(body) = &op.body {
        let ty = rust_type(&body.schema);
        match body.media.as_slice() {
            [BodyMedia::Json] if !body.required => {
                out.line(&format!("body: OptionalJsonBody<{ty}>,"))
            }
            [BodyMedia::Json] => out.line(&format!("body: JsonBody<{ty}>,")),
            [BodyMedia::Form] if !body.required => {
                out.line(&format!("body: OptionalFormBody<{ty}>,"))
            }
            [BodyMedia::Form] => out.line(&format!("body: FormBody<{ty}>,")),
            [BodyMedia::Multipart] if !body.required => {
                out.line(&format!("body: OptionalMultipartBody<{ty}>,"))
            }
            [BodyMedia::Multipart] => out.line(&format!("body: MultipartBody<{ty}>,")),
            [BodyMedia::Binary] => out.line("body: BytesBody,"),
            // Several media types: poem-openapi picks by `Content-Type`.
            _ => out.line(&format!("body: {}Payload,", pascal_case(&op.id))),
        }
        fields.push(if body.media.len() > 1 {
            "body: body.into_inner()".to_owned()
        } else {
            "body: body.0".to_owned()
        });
    }
    out.line(&format!(") -> poem::Result<{ty}Reply> {{"));
    out.line(&format!(
        "keel_runtime::server::record_operation({}, {});",
        rust_str(&op.id),
        rust_str(&op.path)
    ));
    out.line(&format!(
        "let req = {ty}Request {{ {} }};",
        fields.join(", ")
    ));
    let ctx = match &op.security {
        Security::Bearer { .. } | Security::ApiKey { .. } => {
            "RequestContext::from_request(http).with_principal(auth.0)"
        }
        Security::Public => "RequestContext::from_request(http)",
    };
    out.line(&format!("Ok(self.service.{name}({ctx}, req).await.into())"));
    out.line("}");
    out.blank();
    Ok(())
}
