//! `generated/rust/server`: per tag, a trait with one method per operation, a
//! request struct and a response enum per operation, and the poem-openapi routes
//! that decode, validate, call the trait and encode.

use anyhow::Result;

use super::code::{
    Code, MAX_WIDTH, attribute, doc_lines, fits, imports, push_indent, push_line, rust_str,
    simple_statement, split_top_level,
};
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
        let mut flat = Code::default();
        handler(&mut flat, op, &tag.name, &mut defaults)?;
        let flat = flat.finish();
        match laid_out_handler(&flat) {
            Some(item) => {
                body.preformatted(&item);
                body.blank();
            }
            None => body.text(&flat),
        }
    }
    body.line("}");
    body.blank();
    // The items an operation repeats are laid out here where the rules of
    // `laid_out_item` cover them (ADR 17); the rest goes to rustfmt.
    let mut items = Code::default();
    for function in defaults {
        items.line(&function);
        items.blank();
    }
    for op in &ops {
        payload_enum(&mut items, op);
        reply_enum(&mut items, op);
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
            items.line(&format!("/// Where `{}` finds its API key.", op.id));
            items.line("#[doc(hidden)]");
            items.line(&format!("pub struct {ty}Key;"));
            items.line(&format!(
                "impl keel_runtime::server::RequiredKey for {ty}Key {{"
            ));
            items.line(&format!(
                "const SCHEME: &'static str = {};",
                rust_str(scheme)
            ));
            items.line(&format!("const NAME: &'static str = {};", rust_str(name)));
            items.line(&format!(
                "const IN: keel_runtime::server::KeyIn = keel_runtime::server::KeyIn::{key_in};"
            ));
            items.line("}");
            items.blank();
        }
        if let Security::Bearer { scheme, scopes } = &op.security {
            let ty = pascal_case(&op.id);
            items.line(&format!("/// The scopes `{}` requires.", op.id));
            items.line("#[doc(hidden)]");
            items.line(&format!("pub struct {ty}Scopes;"));
            items.line(&format!(
                "impl keel_runtime::server::RequiredScopes for {ty}Scopes {{"
            ));
            items.line(&format!(
                "const SCHEME: &'static str = {};",
                rust_str(scheme)
            ));
            items.line(&format!(
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
                oauth2_scheme(&mut items, flows);
            }
            items.line("}");
            items.blank();
        }
    }
    lay_out_items(&mut body, &items.finish());

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
            ("TextHeader<", "use keel_runtime::server::TextHeader;"),
            ("Bearer<", "use keel_runtime::server::Bearer;"),
            ("ApiKey<", "use keel_runtime::server::ApiKey;"),
            ("Matching<", "use keel_runtime::server::Matching;"),
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

/// `flat` (top-level items, each followed by a blank line) into `out`, each
/// item laid out here if [`laid_out_item`] can, else as it is for rustfmt.
fn lay_out_items(out: &mut Code, flat: &str) {
    for item in flat.split_terminator("\n\n") {
        match laid_out_item(item) {
            Some(laid_out) => out.preformatted(&laid_out),
            None => out.text(&format!("{item}\n")),
        }
        out.blank();
    }
}

/// A top-level item of a server module that an operation repeats (a reply
/// enum and its `From` impl, a scopes or key marker, a default) laid out as
/// rustfmt lays it out, or `None` where these rules are not sure to agree.
fn laid_out_item(flat: &str) -> Option<String> {
    let mut out = String::with_capacity(flat.len() + flat.len() / 2);
    let mut lines = flat.lines();
    let mut line = lines.next()?;
    while line.starts_with("///") || line.starts_with("#[") {
        doc_or_attribute(&mut out, 0, line)?;
        line = lines.next()?;
    }
    if line.starts_with("pub struct ") && line.ends_with(';') && !line.contains(['(', '{']) {
        push_line(&mut out, 0, line)?;
        match lines.next() {
            Some(next) => line = next,
            None => return Some(out),
        }
    }
    if line.starts_with("pub enum ") && line.ends_with(" {") {
        push_line(&mut out, 0, line)?;
        loop {
            let line = lines.next()?;
            if line == "}" {
                out.push_str("}\n");
                break;
            } else if line.starts_with("///") || line.starts_with("#[") {
                doc_or_attribute(&mut out, 4, line)?;
            } else {
                tuple_variant(&mut out, line)?;
            }
        }
    } else if line.starts_with("impl ") && line.ends_with(" {") {
        push_line(&mut out, 0, line)?;
        impl_body(&mut out, &mut lines)?;
    } else if line.starts_with("fn ") && !line.ends_with("{ }") {
        // A default: `fn name() -> T { value }`.
        let (head, value) = line.strip_suffix(" }")?.split_once(" { ")?;
        push_line(&mut out, 0, &format!("{head} {{"))?;
        simple_statement(&mut out, 4, value)?;
        push_line(&mut out, 0, "}")?;
    } else {
        return None;
    }
    lines.next().is_none().then_some(out)
}

/// A `///` line or a one-line attribute.
fn doc_or_attribute(out: &mut String, indent: usize, line: &str) -> Option<()> {
    if line.ends_with(char::is_whitespace) || line.contains(|c: char| c.is_control()) {
        return None;
    }
    if line.starts_with("///") {
        push_indent(out, indent);
        out.push_str(line);
        out.push('\n');
        return Some(());
    }
    let inner = line.strip_prefix("#[")?.strip_suffix(']')?;
    match inner.split_once('(') {
        Some((name, args)) if !name.contains([' ', '=']) => {
            attribute(out, indent, name, args.strip_suffix(')')?)
        }
        _ if !inner.contains(['(', '=', ' ']) => push_line(out, indent, line),
        _ => None,
    }
}

/// `Variant,` or `Variant(fields),` in an enum: the fields on one line when
/// short (rustfmt's call width), else one a line.
fn tuple_variant(out: &mut String, line: &str) -> Option<()> {
    let variant = line.strip_suffix(',')?;
    let Some((name, fields)) = variant.split_once('(') else {
        if variant.contains(['{', '}', ' ', '=']) {
            return None;
        }
        return push_line(out, 4, line);
    };
    let fields = fields.strip_suffix(')')?;
    if fields.contains(['{', '}']) || name.contains([' ', '<']) {
        return None;
    }
    // Around 60, not sure which way rustfmt goes: its call width, or less.
    if fields.len() < 59 && fits(4, line) {
        return push_line(out, 4, line);
    }
    if fields.len() <= 61 {
        return None;
    }
    push_line(out, 4, &format!("{name}("))?;
    for field in split_top_level(fields)? {
        if field.len() > 60 {
            return None;
        }
        push_line(out, 8, &format!("{field},"))?;
    }
    push_line(out, 4, "),")
}

/// The rest of an `impl` block: consts, and methods whose body is a `match`.
fn impl_body<'a>(out: &mut String, lines: &mut impl Iterator<Item = &'a str>) -> Option<()> {
    loop {
        let line = lines.next()?;
        if line == "}" {
            return push_line(out, 0, "}");
        } else if line.starts_with("const ") {
            simple_statement(out, 4, line)?;
        } else if line.starts_with("fn ") && line.ends_with(" {") {
            push_line(out, 4, line)?;
            let head = lines.next()?;
            if !(head.starts_with("match ") && head.ends_with(" {")) || head.len() > 64 {
                return None;
            }
            push_line(out, 8, head)?;
            loop {
                let arm = lines.next()?;
                if arm == "}" {
                    break;
                }
                match_arm(out, arm)?;
            }
            push_line(out, 8, "}")?;
            (lines.next()? == "}").then_some(())?;
            push_line(out, 4, "}")?;
        } else {
            return None;
        }
    }
}

/// An arm `pattern => value,` of a conversion: on one line if it fits, else
/// the value in a block on the next; a struct pattern broken one field a line
/// when it is longer than rustfmt's struct literal width.
fn match_arm(out: &mut String, arm: &str) -> Option<()> {
    let (pattern, value) = arm.split_once(" => ")?;
    let value = value.strip_suffix(',')?;
    let args = value.split_once('(').map_or("", |(_, a)| a);
    if value.contains(['{', '}', '|']) || args.len() > 60 {
        return None;
    }
    if let Some((path, fields)) = pattern.split_once(" { ") {
        let fields = fields.strip_suffix(" }")?;
        if fields.contains(['{', '}', '(']) || path.contains(['{', '(']) {
            return None;
        }
        match fields.len() {
            0..=17 => {}
            18..=19 => return None,
            _ => {
                push_line(out, 12, &format!("{path} {{"))?;
                for field in fields.split(", ") {
                    push_line(out, 16, &format!("{field},"))?;
                }
                return push_line(out, 12, &format!("}} => {value},"));
            }
        }
    } else if pattern.contains(['{', '}']) {
        return None;
    }
    if fits(12, arm) {
        return push_line(out, 12, arm);
    }
    push_line(out, 12, &format!("{pattern} => {{"))?;
    push_line(out, 16, value)?;
    push_line(out, 12, "}")
}

/// A handler of the routes `impl` (`handler`'s text) laid out as rustfmt
/// lays it out, or `None` where these rules are not sure to agree: a parameter
/// whose attribute breaks, a signature short enough for one line, a short
/// request literal.
fn laid_out_handler(flat: &str) -> Option<String> {
    let mut out = String::with_capacity(flat.len() + flat.len() / 2);
    let mut lines = flat.lines().filter(|l| !l.is_empty());
    let mut line = lines.next()?;
    while line.starts_with("///") || line.starts_with("#[") {
        doc_or_attribute(&mut out, 4, line)?;
        line = lines.next()?;
    }
    if !(line.starts_with("async fn ") && line.ends_with('(')) {
        return None;
    }
    let open = line;
    let mut params = Vec::new();
    let close = loop {
        let line = lines.next()?;
        if line.starts_with(") -> ") {
            break line;
        }
        params.push(line.strip_suffix(',')?);
    };
    // A signature that fits on one line would be on one line.
    let one_line = params.iter().map(|p| p.len() + 2).sum::<usize>() + open.len() + close.len();
    if one_line <= MAX_WIDTH {
        return None;
    }
    push_line(&mut out, 4, open)?;
    for param in params {
        handler_param(&mut out, param)?;
    }
    push_line(&mut out, 4, close)?;
    // record_operation(id, path);
    let record = lines.next()?;
    let (callee, args) = record.split_once('(')?;
    let args = args.strip_suffix(");")?;
    if args.len() <= 60 && fits(8, record) {
        push_line(&mut out, 8, record)?;
    } else {
        push_line(&mut out, 8, &format!("{callee}("))?;
        for arg in split_top_level(args)? {
            push_line(&mut out, 12, &format!("{arg},"))?;
        }
        push_line(&mut out, 8, ");")?;
    }
    // let req = XRequest { fields };
    let (head, fields) = lines.next()?.split_once(" { ")?;
    let fields = fields.strip_suffix(" };")?;
    if fields.len() <= 20 || !head.starts_with("let req = ") {
        return None;
    }
    push_line(&mut out, 8, &format!("{head} {{"))?;
    for field in split_top_level(fields)? {
        let value = field.split_once(": ").map_or(field, |(_, v)| v);
        if value.len() > 60 {
            return None;
        }
        push_line(&mut out, 12, &format!("{field},"))?;
    }
    push_line(&mut out, 8, "};")?;
    // Ok(self.service.name(ctx, req).await.into())
    let call = lines
        .next()?
        .strip_prefix("Ok(self.service.")?
        .strip_suffix(".await.into())")?;
    if call.len() < 60 {
        return None;
    }
    let (name, args) = call.split_once('(')?;
    let args = args.strip_suffix(')')?;
    push_line(&mut out, 8, "Ok(self")?;
    push_line(&mut out, 12, ".service")?;
    if args.len() <= 60 && fits(12, &format!(".{call}")) {
        push_line(&mut out, 12, &format!(".{call}"))?;
    } else {
        push_line(&mut out, 12, &format!(".{name}("))?;
        for arg in split_top_level(args)? {
            push_line(&mut out, 16, &format!("{arg},"))?;
        }
        push_line(&mut out, 12, ")")?;
    }
    push_line(&mut out, 12, ".await")?;
    push_line(&mut out, 12, ".into())")?;
    (lines.next()? == "}").then_some(())?;
    push_line(&mut out, 4, "}")?;
    lines.next().is_none().then_some(out)
}

/// A handler's parameter (without its comma): on one line when it fits, or
/// its `#[oai(…)]` on a line of its own when not even the attribute and the
/// start of the type fit (else rustfmt breaks the type's generics: not ours).
fn handler_param(out: &mut String, param: &str) -> Option<()> {
    let line = format!("{param},");
    let Some(rest) = param.strip_prefix("#[oai(") else {
        return if param.contains(['#', '{']) {
            None
        } else {
            push_line(out, 8, &line)
        };
    };
    let (args, decl) = rest.split_once(")] ")?;
    if args.contains(")]") || decl.contains(['#', '"']) {
        return None;
    }
    if fits(8, &line) {
        if args.len() > 70 {
            return None;
        }
        return push_line(out, 8, &line);
    }
    let generic_start = &param[..=param.find('<')?];
    if fits(8, generic_start) {
        return None;
    }
    attribute(out, 8, "oai", args)?;
    push_line(out, 8, &format!("{decl},"))
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
                reply_header_type(header)
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
        let header_args = response.headers.iter().zip(&headers).map(|(h, name)| {
            match (text_header(h), h.required) {
                (false, _) => name.clone(),
                (true, true) => format!("TextHeader({name})"),
                (true, false) => format!("{name}.map(TextHeader)"),
            }
        });
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
                args.extend(header_args);
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

/// Whether a response header's value is written through
/// `keel_runtime::server::TextHeader`: poem-openapi has no `ToHeader` for the
/// types of `date-time`, `date` and `byte`.
fn text_header(header: &Header) -> bool {
    matches!(
        header.schema.ty,
        Type::String(StringFormat::DateTime | StringFormat::Date | StringFormat::Byte)
    )
}

/// A header's field type in the server's reply enum: the service's type, or
/// that type in a `TextHeader` where poem-openapi cannot write it.
fn reply_header_type(header: &Header) -> String {
    if !text_header(header) {
        return header_type(header);
    }
    let ty = format!("TextHeader<{}>", rust_type(&header.schema));
    if header.required {
        ty
    } else {
        format!("Option<{ty}>")
    }
}

/// The type naming a parameter's pattern (`keel_runtime::server::StringPattern`).
fn pattern_marker(op: &Operation, param: &Param) -> String {
    format!("{}{}Pattern", pascal_case(&op.id), pascal_case(&param.name))
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
        if param.is_object() {
            object_param(out, param, &mut fields);
            continue;
        }
        // Arrays joined by commas (everywhere but the exploded query) are
        // split by `CommaSeparated`; in the query, `JoinedQuery` reads them
        // (poem-openapi's `Query` panics on an absent `explode = false` one).
        let joined = param.is_array() && !param.explode;
        // `spaceDelimited`/`pipeDelimited`: `JoinedQuery` splits a `Vec` itself.
        let delimited = param.delimiter() != ',';
        // `label`/`matrix`: `styled::Path` reads the segment and splits a `Vec`.
        let styled = matches!(param.style, Style::Label | Style::Matrix);
        let delimited = delimited || styled;
        // A string with a pattern is parsed as `Matching`, whose expression is
        // compiled once: poem-openapi's `validator(pattern)` compiles it on
        // every check.
        let pattern = param
            .schema
            .rules
            .pattern
            .as_ref()
            .filter(|_| rust_type(&param.schema) == "String" && param.schema.default.is_none());
        let value_ty = match &param.schema.ty {
            Type::Array(items) if joined && !delimited => {
                format!("keel_runtime::server::CommaSeparated<{}>", rust_type(items))
            }
            _ if pattern.is_some() => {
                format!("Matching<{}>", pattern_marker(op, param))
            }
            _ => rust_type(&param.schema),
        };
        if let Some(pattern) = pattern {
            defaults.push(format!(
                "keel_runtime::string_pattern!(\n    \
                 /// The pattern of `{op_id}`'s parameter `{name}`, compiled once.\n    \
                 {marker} = {literal}\n\
                 );",
                op_id = op.id,
                name = param.name,
                marker = pattern_marker(op, param),
                literal = rust_str(pattern),
            ));
        }
        // What the request struct holds: a `Vec` of a comma-separated array,
        // the `String` a `Matching` holds.
        let inner = if (joined && !delimited) || pattern.is_some() {
            ".0"
        } else {
            ""
        };
        let extractor = match param.location {
            // Named `Path`: poem-openapi's derive knows path parameters so.
            Location::Path if styled => "keel_runtime::server::styled::Path",
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
        match param.style {
            Style::SpaceDelimited => attr.push_str(", style = \"space_delimited\""),
            Style::PipeDelimited => attr.push_str(", style = \"pipe_delimited\""),
            Style::Label => attr.push_str(", style = \"label\""),
            Style::Matrix => attr.push_str(", style = \"matrix\""),
            Style::Form | Style::Simple | Style::DeepObject => {}
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
        } else if joined && !delimited {
            // Absent and empty are the same on the wire.
            fields.push(format!("{var}: {var}.0.map(|v| v.0).unwrap_or_default()"));
            format!("Option<{value_ty}>")
        } else if param.is_array() {
            // Absent and empty are the same on the wire.
            fields.push(format!("{var}: {var}.0.unwrap_or_default()"));
            format!("Option<{value_ty}>")
        } else {
            fields.push(format!(
                "{var}: {var}.0{}",
                if pattern.is_some() {
                    ".map(|v| v.0)"
                } else {
                    ""
                }
            ));
            format!("Option<{value_ty}>")
        };
        // `Matching` documents and checks the pattern itself.
        let mut checked = param.schema.clone();
        if pattern.is_some() {
            checked.rules.pattern = None;
        }
        if let Some(validator) = oai_validator(&checked) {
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

/// An object parameter (ADR 23): `keel_runtime::server::object::{Query,
/// Header, Path}` collect its pairs where the style puts them and decode them
/// by serde; `style` and `explode` are written out, for them and the document.
fn object_param(out: &mut Code, param: &Param, fields: &mut Vec<String>) {
    let var = param_ident(param);
    let extractor = match param.location {
        Location::Path => "Path",
        Location::Query => "Query",
        Location::Header => "Header",
        Location::Cookie => unreachable!("the loader refuses cookie objects"),
    };
    let style = match param.style {
        Style::Form => "form",
        Style::Simple => "simple",
        Style::Label => "label",
        Style::Matrix => "matrix",
        Style::DeepObject => "deep_object",
        Style::SpaceDelimited => "space_delimited",
        Style::PipeDelimited => "pipe_delimited",
    };
    let attr = format!(
        "name = {}, explode = {}, style = \"{style}\"",
        rust_str(&param.name),
        param.explode
    );
    if param.required {
        fields.push(format!("{var}: {var}.required()"));
    } else {
        fields.push(format!("{var}: {var}.optional()"));
    }
    out.line(&format!(
        "#[oai({attr})] {var}: keel_runtime::server::object::{extractor}<{}, {}>,",
        rust_type(&param.schema),
        param.required
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rules cover the items a synthetic contract repeats per operation (the
    /// reply enum, its `From` impl, the scopes) and half its handlers (not those
    /// with a parameter attribute that breaks); that rustfmt agrees with them is
    /// `generated_rust_is_what_rustfmt_makes_of_it`'s to check.
    #[test]
    fn most_repeated_items_are_laid_out() {
        let options = crate::bench_contract::Options {
            operations: 120,
            ..Default::default()
        };
        let text = crate::bench_contract::yaml(options).unwrap();
        let document: serde_json::Value = serde_norway::from_str(&text).unwrap();
        let api = crate::openapi::load::load(&document).unwrap();
        let (mut items, mut handlers) = (0, 0);
        for tag in &api.tags {
            let module = tag_rs(&api, tag, "//! x").unwrap();
            items += module.matches("\u{1}preformatted\n").count();
            handlers += module.matches("\u{1}preformatted\n    ").count();
        }
        let ops = api.operations.len();
        assert!(
            items >= 3 * ops * 9 / 10 + handlers && handlers * 2 >= ops,
            "{items} items laid out ({handlers} handlers) for {ops} operations"
        );
    }
}
