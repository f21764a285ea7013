//! `generated/rust/client`: an async client with one method per operation, typed
//! requests, and a typed value per declared response.

use anyhow::Result;

use super::code::{
    Code, fits, push_indent, push_line, rust_str, simple_statement, split_top_level,
};
use super::rust_ops::{operation_docs, param_ident, variant_name};
use crate::openapi::model::*;
use crate::openapi::names::{header_snake_case, pascal_case, snake_case};

pub fn lib_rs(api: &Api, header: &str) -> Result<String> {
    let mut out = Code::default();
    out.line(header);
    out.line("//!");
    out.line(&format!(
        "//! An async Rust client for {} {}: one method per operation, taking the",
        api.title, api.version
    ));
    out.line("//! operation's request type and returning a [`Reply`] whose `value` is the");
    out.line("//! operation's response enum (one variant per declared status, problem+json");
    out.line("//! bodies included). A status the contract does not declare is an [`Error`].");
    out.blank();
    out.line("pub use keel_runtime::client::{Error, HeaderMap, Reply, StatusCode, TokenProvider};");
    out.line("use keel_runtime::client::{ClientBuilder, ClientConfig, Method, Received, ToParam};");
    out.line("pub use keel_types as types;");
    for tag in &api.tags {
        out.line(&format!("use keel_types::{}::*;", snake_case(&tag.name)));
    }
    out.blank();
    out.line(&format!("/// The `User-Agent` sent unless [`Builder::user_agent`] says otherwise.\npub const DEFAULT_USER_AGENT: &str = {};", rust_str(&format!("keel-client/{}", api.version))));
    out.blank();
    out.line("/// Configures a [`Client`]: base URL, timeouts, user agent, bearer token.");
    out.line("pub struct Builder(ClientBuilder);");
    out.blank();
    out.line("impl Builder {");
    out.line("/// The longest a whole call may take (default 30 s).");
    out.line("pub fn timeout(self, timeout: std::time::Duration) -> Self { Builder(self.0.timeout(timeout)) }");
    out.line("/// The longest connecting may take (default 5 s).");
    out.line("pub fn connect_timeout(self, timeout: std::time::Duration) -> Self { Builder(self.0.connect_timeout(timeout)) }");
    out.line("pub fn user_agent(self, user_agent: impl Into<String>) -> Self { Builder(self.0.user_agent(user_agent)) }");
    out.line("/// Sends `Authorization: Bearer <token>` from this provider with every call.");
    out.line("pub fn bearer(self, provider: impl TokenProvider + 'static) -> Self { Builder(self.0.bearer(provider)) }");
    let key_schemes: Vec<&str> = api
        .security_schemes
        .iter()
        .filter(|s| matches!(s.kind, SchemeKind::ApiKey { .. }))
        .map(|s| s.name.as_str())
        .collect();
    if !key_schemes.is_empty() {
        out.line(&format!(
            "/// The key for an `apiKey` scheme of the contract ({}), sent where the scheme says with the calls that need it.",
            key_schemes
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        out.line("pub fn api_key(self, scheme: &str, provider: impl TokenProvider + 'static) -> Self { Builder(self.0.api_key(scheme, provider)) }");
    }
    out.line(
        "pub fn build(self) -> Result<Client, Error> { Ok(Client { config: self.0.build()? }) }",
    );
    out.line("}");
    out.blank();
    out.line(&format!("/// A client for {}.", api.title));
    out.line("#[derive(Debug, Clone)]");
    out.line("pub struct Client {");
    out.line("config: ClientConfig,");
    out.line("}");
    out.blank();
    out.line("impl Client {");
    out.line(
        "/// A client with the default settings, for the API at `base_url` (`http://host:port`).",
    );
    out.line("pub fn new(base_url: impl Into<String>) -> Result<Self, Error> { Self::builder(base_url).build() }");
    out.blank();
    out.line("pub fn builder(base_url: impl Into<String>) -> Builder { Builder(ClientBuilder::new(base_url, DEFAULT_USER_AGENT)) }");
    out.blank();
    for op in &api.operations {
        let mut flat = Code::default();
        method(&mut flat, api, op);
        let flat = flat.finish();
        // One method per operation: laid out here where the rules below cover
        // it (ADR 17), else by rustfmt.
        match laid_out(&flat) {
            Some(item) => {
                out.preformatted(&item);
                out.blank();
            }
            None => out.text(&flat),
        }
    }
    out.line("}");
    Ok(out.finish())
}

fn method(out: &mut Code, api: &Api, op: &Operation) {
    let name = snake_case(&op.id);
    let ty = pascal_case(&op.id);
    operation_docs(out, op);
    // An `apiKey` scheme's key: the scheme, and the name and place it goes by.
    let key = match &op.security {
        Security::ApiKey { scheme } => api
            .security_schemes
            .iter()
            .find(|s| &s.name == scheme)
            .and_then(|s| match &s.kind {
                SchemeKind::ApiKey { name, location } => Some((scheme, name, *location)),
                _ => None,
            }),
        _ => None,
    };
    let req = if op.params.is_empty() && op.body.is_none() {
        "_req"
    } else {
        "req"
    };
    out.line(&format!(
        "pub async fn {name}(&self, {req}: &{ty}Request) -> Result<Reply<{ty}Response>, Error> {{"
    ));
    // With a `label` or `matrix` parameter, segments go encoded here, so that
    // their `.`, `;` and `=` are not.
    let styled = op
        .params
        .iter()
        .any(|p| matches!(p.style, Style::Label | Style::Matrix));
    let mut segments = Vec::new();
    for segment in op.path.split('/').filter(|s| !s.is_empty()) {
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(var) => {
                let param = op.path_param(var);
                let ident = param_ident(param);
                out.line(&format!("let {ident} = {};", path_segment(param, styled)));
                segments.push(format!("&{ident}"));
            }
            None if styled => {
                segments.push(rust_str(&crate::codegen::typescript::encode_name(segment)))
            }
            None => segments.push(rust_str(segment)),
        }
    }
    let method = op.method.as_str().to_uppercase();
    // Exploded `form` and `deepObject` objects add pairs of their own.
    let object_pairs = |p: &Param| p.is_object() && p.explode;
    let queries: Vec<&Param> = op
        .params
        .iter()
        .filter(|p| p.location == Location::Query && !object_pairs(p))
        .collect();
    let object_queries: Vec<&Param> = op
        .params
        .iter()
        .filter(|p| p.location == Location::Query && object_pairs(p))
        .collect();
    let cookies: Vec<&Param> = op
        .params
        .iter()
        .filter(|p| p.location == Location::Cookie)
        .collect();
    let adds_more = !queries.is_empty()
        || !object_queries.is_empty()
        || key.is_some()
        || !cookies.is_empty()
        || op.body.is_some()
        || op.params.iter().any(|p| p.location == Location::Header);
    out.line(&format!(
        "let {}request = self.config.{}(Method::{method}, &[{}]).await?;",
        if adds_more { "mut " } else { "" },
        if styled { "request_encoded" } else { "request" },
        segments.join(", ")
    ));
    if !queries.is_empty() {
        name_value_pairs(out, "query", &queries);
        out.line("request = request.query(&query);");
    }
    for p in object_queries {
        let ident = param_ident(p);
        let pairs = |value: &str| {
            if p.style == Style::DeepObject {
                format!(
                    "keel_runtime::client::deep_object_pairs({}, {value})?",
                    rust_str(&p.name)
                )
            } else {
                format!("keel_runtime::client::object_pairs({value})?")
            }
        };
        if p.required {
            out.line(&format!(
                "request = request.query(&{});",
                pairs(&format!("&req.{ident}"))
            ));
        } else {
            out.line(&format!(
                "if let Some(value) = &req.{ident} {{ request = request.query(&{}); }}",
                pairs("value")
            ));
        }
    }
    let key_lookup = |scheme: &str| {
        format!(
            "if let Some(key) = self.config.api_key({}).await",
            rust_str(scheme)
        )
    };
    match key {
        Some((scheme, name, Location::Query)) => out.line(&format!(
            "{} {{ request = request.query(&[({}, key)]); }}",
            key_lookup(scheme),
            rust_str(name)
        )),
        Some((scheme, name, Location::Header)) => out.line(&format!(
            "{} {{ request = request.header({}, key); }}",
            key_lookup(scheme),
            rust_str(name)
        )),
        _ => {}
    }
    let cookie_key = key.filter(|(_, _, location)| *location == Location::Cookie);
    if !cookies.is_empty() || cookie_key.is_some() {
        if cookies.is_empty() {
            out.line("let cookies: Vec<(&str, String)> = Vec::new();");
        } else {
            name_value_pairs(out, "cookies", &cookies);
        }
        if let Some((scheme, name, _)) = cookie_key {
            out.line(&format!(
                "let cookies = {{ let mut cookies = cookies; {} {{ cookies.push(({}, key)); }} cookies }};",
                key_lookup(scheme),
                rust_str(name)
            ));
        }
        out.line("if let Some(cookie) = keel_runtime::client::cookie_header(&cookies) { request = request.header(\"cookie\", cookie); }");
    }
    for p in op.params.iter().filter(|p| p.location == Location::Header) {
        let ident = param_ident(p);
        if p.is_object() {
            let text = |value: &str| {
                format!(
                    "keel_runtime::client::object_text({value}, {}, \",\", keel_runtime::client::as_is)?",
                    p.explode
                )
            };
            if p.required {
                out.line(&format!(
                    "request = request.header({}, {});",
                    rust_str(&p.name),
                    text(&format!("&req.{ident}"))
                ));
            } else {
                out.line(&format!(
                    "if let Some(value) = &req.{ident} {{ request = request.header({}, {}); }}",
                    rust_str(&p.name),
                    text("value")
                ));
            }
        } else if p.is_array() && !p.required {
            // Absent and empty are the same: no header.
            out.line(&format!("if !req.{ident}.is_empty() {{ request = request.header({}, req.{ident}.to_param()); }}", rust_str(&p.name)));
        } else if p.required {
            out.line(&format!(
                "request = request.header({}, req.{ident}.to_param());",
                rust_str(&p.name)
            ));
        } else {
            out.line(&format!("if let Some(value) = &req.{ident} {{ request = request.header({}, value.to_param()); }}", rust_str(&p.name)));
        }
    }
    if let Some(body) = &op.body
        && body.has_xml()
    {
        // Typed, in the preferred media type, or the caller's XML bytes.
        let typed = match body.preferred() {
            BodyMedia::Json => "request.json(body)",
            BodyMedia::Form => "keel_runtime::client::form(request, body)?",
            BodyMedia::Multipart => "keel_runtime::client::multipart(request, body)?",
            BodyMedia::Binary | BodyMedia::Xml => {
                unreachable!("the loader refuses these beside XML")
            }
        };
        out.line("request = match &req.body {");
        out.line(&format!(
            "keel_runtime::JsonOrBytes::Json(body) => {typed},"
        ));
        out.line("keel_runtime::JsonOrBytes::Bytes { content_type, body } => request.header(\"content-type\", content_type.as_str()).body(body.clone()),");
        out.line("};");
    } else if let Some(body) = &op.body {
        match body.preferred() {
            BodyMedia::Json if !body.required => {
                out.line("if let Some(body) = &req.body { request = request.json(body); }")
            }
            BodyMedia::Json => out.line("request = request.json(&req.body);"),
            BodyMedia::Form if !body.required => out.line(
                "if let Some(body) = &req.body { request = keel_runtime::client::form(request, body)?; }",
            ),
            BodyMedia::Form => {
                out.line("request = keel_runtime::client::form(request, &req.body)?;")
            }
            BodyMedia::Multipart if !body.required => out.line(
                "if let Some(body) = &req.body { request = keel_runtime::client::multipart(request, body)?; }",
            ),
            BodyMedia::Multipart => {
                out.line("request = keel_runtime::client::multipart(request, &req.body)?;")
            }
            BodyMedia::Binary => out.line(
                "request = request.header(\"content-type\", \"application/octet-stream\").body(req.body.clone());",
            ),
            BodyMedia::Xml => unreachable!("an XML body is offered beside another media type"),
        }
    }
    out.line("let received = Received::read(request.send().await?).await?;");
    out.line("let value = match received.status.as_u16() {");
    for response in &op.responses {
        let variant = variant_name(response.status);
        let headers: Vec<String> = response
            .headers
            .iter()
            .map(|h| {
                let getter = if h.required {
                    "header"
                } else {
                    "optional_header"
                };
                format!(
                    "{}: received.{getter}({})?",
                    header_snake_case(&h.name),
                    rust_str(&h.name)
                )
            })
            .collect();
        let carries_status = response.status.carries_status();
        let decode = match &response.content {
            Some(_) if !response.bytes_media.is_empty() => {
                let media: Vec<String> = response.bytes_media.iter().map(|m| rust_str(m)).collect();
                format!("received.json_or_bytes(&[{}])?", media.join(", "))
            }
            Some((_, schema)) if schema.is_bytes() => "received.bytes()".to_owned(),
            _ => "received.json()?".to_owned(),
        };
        let value = match (&response.content, headers.is_empty() && !carries_status) {
            (None, true) => format!("{ty}Response::{variant}"),
            (Some(_), true) => format!("{ty}Response::{variant}({decode})"),
            (content, false) => {
                let mut fields = Vec::new();
                if carries_status {
                    fields.push("status".to_owned());
                }
                if content.is_some() {
                    fields.push(format!("body: {decode}"));
                }
                fields.extend(headers);
                format!("{ty}Response::{variant} {{ {} }}", fields.join(", "))
            }
        };
        match response.status {
            Status::Code(code) => out.line(&format!("{code} => {value},")),
            Status::Range(class) => out.line(&format!("status @ {0}00..={0}99 => {value},", class)),
            Status::Default => out.line(&format!("status => {value},")),
        }
    }
    if !op.responses.iter().any(|r| r.status == Status::Default) {
        out.line("_ => return Err(received.undeclared()),");
    }
    out.line("};");
    out.line("Ok(received.reply(value))");
    out.line("}");
    out.blank();
}

/// `method`'s text (one statement a line) laid out as rustfmt lays it out in
/// `impl Client`, or `None` where these rules are not sure to agree with
/// rustfmt (the method then goes to rustfmt as it is).
fn laid_out(flat: &str) -> Option<String> {
    let mut out = String::with_capacity(flat.len() + flat.len() / 2);
    let mut lines = flat.lines().filter(|l| !l.is_empty());
    let mut line = lines.next()?;
    while line.starts_with("///") {
        if line.ends_with(char::is_whitespace) || line.contains(|c: char| c.is_control()) {
            return None;
        }
        push_indent(&mut out, 4);
        out.push_str(line);
        out.push('\n');
        line = lines.next()?;
    }
    signature(&mut out, line)?;
    while let Some(line) = lines.next() {
        if line == "}" {
            out.push_str("    }\n");
            return lines.next().is_none().then_some(out);
        }
        if line.starts_with("let value = match ") && line.ends_with(" {") {
            push_line(&mut out, 8, line)?;
            for arm in lines.by_ref() {
                if arm == "};" {
                    break;
                }
                match_arm(&mut out, arm)?;
            }
            push_line(&mut out, 8, "};")?;
        } else if line.starts_with("let ") && line.contains(" = self.config.request(") {
            request_chain(&mut out, line)?;
        } else if line.contains(": Vec<(&str, String)> = vec![") {
            vec_statement(&mut out, line)?;
        } else if line.starts_with("if ") || line.starts_with("for ") {
            let (head, body) = line.split_once(" { ")?;
            let body = body.strip_suffix(" }")?;
            // The condition (or iterated expression) within the small widths.
            let condition = [" = ", " in "]
                .iter()
                .filter_map(|sep| head.rsplit_once(sep))
                .map(|(_, expr)| expr)
                .next()
                .unwrap_or(head);
            if head.contains(['{', '}', '|']) || condition.len() > 60 {
                return None;
            }
            push_line(&mut out, 8, &format!("{head} {{"))?;
            if simple_statement(&mut out, 12, body).is_none() {
                joined_push(&mut out, body)?;
            }
            push_line(&mut out, 8, "}")?;
        } else {
            simple_statement(&mut out, 8, line)?;
        }
    }
    None
}

/// The signature on one line, else one parameter a line.
fn signature(out: &mut String, line: &str) -> Option<()> {
    if fits(4, line) {
        return push_line(out, 4, line);
    }
    let (name, rest) = line.split_once('(')?;
    let (params, ret) = rest.split_once(") -> ")?;
    push_line(out, 4, &format!("{name}("))?;
    for param in params.split(", ") {
        push_line(out, 8, &format!("{param},"))?;
    }
    push_line(out, 4, &format!(") -> {ret}"))
}

/// `query.push((name, req.ids.iter()…join(",")));`, an array parameter sent
/// joined with commas: always past the chain width, so one link a line.
fn joined_push(out: &mut String, stmt: &str) -> Option<()> {
    let (var, rest) = stmt.split_once(".push((")?;
    let (name, rest) = rest.split_once(", req.")?;
    let ident =
        rest.strip_suffix(".iter().map(ToParam::to_param).collect::<Vec<_>>().join(\",\")));")?;
    let quoted = name.strip_prefix('"')?.strip_suffix('"')?;
    if quoted.contains(['"', '\\']) {
        return None;
    }
    if ident.contains(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        return None;
    }
    push_line(out, 12, &format!("{var}.push(("))?;
    push_line(out, 16, &format!("{name},"))?;
    push_line(out, 16, &format!("req.{ident}"))?;
    for link in [
        ".iter()",
        ".map(ToParam::to_param)",
        ".collect::<Vec<_>>()",
        ".join(\",\"),",
    ] {
        push_line(out, 20, link)?;
    }
    push_line(out, 12, "));")
}

/// `let request = self.config.request(…).await?;`: one line, else one link a line.
fn request_chain(out: &mut String, stmt: &str) -> Option<()> {
    let (target, chain) = stmt.split_once(" = ")?;
    let chain = chain.strip_suffix(';')?;
    // rustfmt's `chain_width` (60), counting the `;`.
    if chain.len() < 60 && fits(8, stmt) {
        return push_line(out, 8, stmt);
    }
    let args = chain
        .strip_prefix("self.config.request(")?
        .strip_suffix(").await?")?;
    if args.contains(['{', '}', '(', ')']) {
        return None;
    }
    push_line(out, 8, &format!("{target} = self"))?;
    push_line(out, 12, ".config")?;
    if args.len() <= 60 && fits(12, &format!(".request({args})")) {
        push_line(out, 12, &format!(".request({args})"))?;
    } else {
        let (method, path) = args.split_once(", ")?;
        if path.len() > 60 {
            return None;
        }
        push_line(out, 12, ".request(")?;
        push_line(out, 16, &format!("{method},"))?;
        push_line(out, 16, &format!("{path},"))?;
        push_line(out, 12, ")")?;
    }
    push_line(out, 12, ".await?;")
}

/// `let query: Vec<(&str, String)> = vec![…];`: one line, else a pair a line.
fn vec_statement(out: &mut String, stmt: &str) -> Option<()> {
    let (head, items) = stmt.split_once(" = vec![")?;
    let items = items.strip_suffix("];")?;
    if items.len() <= 60 && fits(8, stmt) {
        return push_line(out, 8, stmt);
    }
    push_line(out, 8, &format!("{head} = vec!["))?;
    for item in split_top_level(items)? {
        if item.len() > 60 || item.contains(['{', '}']) {
            return None;
        }
        push_line(out, 12, &format!("{item},"))?;
    }
    push_line(out, 8, "];")
}

/// A match arm: one line, or a struct literal with a field a line.
fn match_arm(out: &mut String, arm: &str) -> Option<()> {
    let (pattern, body) = arm.split_once(" => ")?;
    let body = body.strip_suffix(',')?;
    let Some((path, fields)) = body.split_once(" { ") else {
        // A call, a path or `return …`: its arguments within the call width.
        let args = body.split_once('(').map_or("", |(_, a)| a);
        if args.len() > 60 || body.contains(['{', '}', '|']) {
            return None;
        }
        return push_line(out, 12, arm);
    };
    let fields = fields.strip_suffix(" }")?;
    // rustfmt's `struct_lit_width`: a short literal stays on one line.
    if fields.len() <= 18 || path.contains(['{', '}', '(']) {
        return None;
    }
    push_line(out, 12, &format!("{pattern} => {path} {{"))?;
    for field in split_top_level(fields)? {
        if field.len() > 60 || field.contains(['{', '}']) {
            return None;
        }
        push_line(out, 16, &format!("{field},"))?;
    }
    push_line(out, 12, "},")
}

/// `let <var>: Vec<(&str, String)>` with a pair per parameter value sent: what
/// is always sent in the initializer, the rest pushed when present.
/// A path parameter's segment: the value (an array's items joined by commas),
/// percent-encoded by `request`; or, with `encoded` (an operation with a
/// `label` or `matrix` parameter), encoded here: each value on its own, after
/// `.` for `style: label` or as `;name=value` for `style: matrix`.
fn path_segment(p: &Param, encoded: bool) -> String {
    let ident = param_ident(p);
    let one =
        |value: &str| format!("keel_runtime::client::percent_encode_segment(&{value}.to_param())");
    let joined = |separator: &str| {
        format!(
            "req.{ident}.iter().map(|item| keel_runtime::client::percent_encode_segment(&item.to_param())).collect::<Vec<_>>().join({separator:?})"
        )
    };
    let name = crate::codegen::typescript::encode_name(&p.name);
    if p.is_object() {
        let encode = if encoded {
            "keel_runtime::client::percent_encode_segment"
        } else {
            "keel_runtime::client::as_is"
        };
        let text = |separator: &str, explode: bool| {
            format!(
                "keel_runtime::client::object_text(&req.{ident}, {explode}, {separator:?}, {encode})?"
            )
        };
        return match (p.style, p.explode) {
            (Style::Label, explode) => format!(
                "format!(\".{{}}\", {})",
                text(if explode { "." } else { "," }, explode)
            ),
            (Style::Matrix, false) => format!("format!(\";{name}={{}}\", {})", text(",", false)),
            (Style::Matrix, true) => format!("format!(\";{{}}\", {})", text(";", true)),
            (_, explode) => text(",", explode),
        };
    }
    match (p.style, p.is_array(), p.explode) {
        (Style::Label, false, _) => format!("format!(\".{{}}\", {})", one(&format!("req.{ident}"))),
        (Style::Label, true, explode) => {
            format!(
                "format!(\".{{}}\", {})",
                joined(if explode { "." } else { "," })
            )
        }
        (Style::Matrix, false, _) => {
            format!(
                "format!(\";{name}={{}}\", {})",
                one(&format!("req.{ident}"))
            )
        }
        (Style::Matrix, true, false) => format!("format!(\";{name}={{}}\", {})", joined(",")),
        // No items: the name alone, as the server reads an empty array.
        (Style::Matrix, true, true) => format!(
            "if req.{ident}.is_empty() {{ \";{name}\".to_owned() }} else {{ req.{ident}.iter().map(|item| format!(\";{name}={{}}\", {})).collect() }}",
            one("item")
        ),
        _ if encoded => one(&format!("req.{ident}")),
        _ => format!("req.{ident}.to_param()"),
    }
}

fn name_value_pairs(out: &mut Code, var: &str, params: &[&Param]) {
    let mut always = Vec::new();
    let mut sometimes = Vec::new();
    for p in params {
        let ident = param_ident(p);
        let name = rust_str(&p.name);
        if p.is_object() {
            // `explode: false`: `name=k,v,k,v` (`form`), or joined by a
            // space or `|` (`spaceDelimited`, `pipeDelimited`).
            let delimiter = p.delimiter().to_string();
            let text = |value: &str| {
                format!(
                    "keel_runtime::client::object_text({value}, false, {delimiter:?}, keel_runtime::client::as_is)?"
                )
            };
            if p.required {
                always.push(format!("({name}, {})", text(&format!("&req.{ident}"))));
            } else {
                sometimes.push(format!(
                    "if let Some(value) = &req.{ident} {{ {var}.push(({name}, {})); }}",
                    text("value")
                ));
            }
        } else if p.is_array() && p.explode {
            sometimes.push(format!(
                "for item in &req.{ident} {{ {var}.push(({name}, item.to_param())); }}"
            ));
        } else if p.is_array() {
            sometimes.push(format!(
                "if !req.{ident}.is_empty() {{ {var}.push(({name}, req.{ident}.iter().map(ToParam::to_param).collect::<Vec<_>>().join({:?}))); }}",
                p.delimiter().to_string()
            ));
        } else if p.required || p.schema.default.is_some() {
            always.push(format!("({name}, req.{ident}.to_param())"));
        } else {
            sometimes.push(format!(
                "if let Some(value) = &req.{ident} {{ {var}.push(({name}, value.to_param())); }}"
            ));
        }
    }
    let mutable = if sometimes.is_empty() { "" } else { "mut " };
    out.line(&format!(
        "let {mutable}{var}: Vec<(&str, String)> = vec![{}];",
        always.join(", ")
    ));
    for line in sometimes {
        out.line(&line);
    }
}

pub const MANIFEST: &str = r#"# @generated by `cargo xtask codegen`. Do not edit.
[package]
name = "{prefix}-client"
version = "0.1.0"
description = "An async Rust client for Keel's API (generated)."
edition.workspace = true
license.workspace = true

[dependencies]
keel-runtime = { workspace = true, features = ["client"] }
# Without the `server` feature: a client does not pull poem.
keel-types = { path = "../types", package = "{prefix}-types" }
"#;

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::codegen::code::rustfmt;

    /// Every method the rules lay out is what rustfmt makes of the same code,
    /// for the project's contract, every fixture and a synthetic contract; and
    /// the rules cover 90 % of the synthetic one's methods (the case they are for).
    #[test]
    fn laid_out_methods_are_rustfmts() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut paths = vec![root.join("api/openapi.yaml")];
        for fixture in std::fs::read_dir(root.join("tests/fixtures")).unwrap() {
            paths.push(fixture.unwrap().path().join("openapi.yaml"));
        }
        let synthetic =
            std::env::temp_dir().join(format!("keel-client-layout-{}.yaml", std::process::id()));
        let options = crate::bench_contract::Options {
            operations: 120,
            ..Default::default()
        };
        std::fs::write(&synthetic, crate::bench_contract::yaml(options).unwrap()).unwrap();
        paths.push(synthetic.clone());
        for (i, path) in paths.iter().enumerate() {
            let api = crate::openapi::read_with(path, false).unwrap().api;
            let (mut source, mut ours) = (String::from("impl C {\n"), String::from("impl C {\n"));
            let mut covered = 0;
            for op in &api.operations {
                let mut flat = Code::default();
                method(&mut flat, &api, op);
                let flat = flat.finish();
                if let Some(item) = laid_out(&flat) {
                    if covered > 0 {
                        ours.push('\n');
                    }
                    source.push_str(&flat);
                    ours.push_str(&item);
                    covered += 1;
                }
            }
            source.push_str("}\n");
            ours.push_str("}\n");
            let formatted = rustfmt(&source).unwrap();
            let first = formatted
                .lines()
                .zip(ours.lines())
                .position(|(a, b)| a != b);
            assert!(
                formatted == ours,
                "contract {i}: the rules and rustfmt differ at line {:?}:\n{}\n--- rustfmt ---\n{}",
                first.map(|l| l + 1),
                ours.lines()
                    .skip(first.unwrap_or(0).saturating_sub(3))
                    .take(8)
                    .collect::<Vec<_>>()
                    .join("\n"),
                formatted
                    .lines()
                    .skip(first.unwrap_or(0).saturating_sub(3))
                    .take(8)
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
            if i == paths.len() - 1 {
                assert!(
                    covered * 10 >= api.operations.len() * 9,
                    "the rules lay out {covered} of {} methods",
                    api.operations.len()
                );
            }
        }
        std::fs::remove_file(synthetic).unwrap();
    }
}
