//! `generated/rust/client`: an async client with one method per operation, typed
//! requests, and a typed value per declared response.

use anyhow::Result;

use super::code::{Code, rust_str};
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
        method(&mut out, api, op);
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
    let mut segments = Vec::new();
    for segment in op.path.split('/').filter(|s| !s.is_empty()) {
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(var) => {
                let param = op
                    .params
                    .iter()
                    .find(|p| p.location == Location::Path && p.name == var)
                    .expect("the loader checked path variables");
                let ident = param_ident(param);
                out.line(&format!("let {ident} = req.{ident}.to_param();"));
                segments.push(format!("&{ident}"));
            }
            None => segments.push(rust_str(segment)),
        }
    }
    let method = op.method.as_str().to_uppercase();
    let queries: Vec<&Param> = op
        .params
        .iter()
        .filter(|p| p.location == Location::Query)
        .collect();
    let cookies: Vec<&Param> = op
        .params
        .iter()
        .filter(|p| p.location == Location::Cookie)
        .collect();
    let adds_more = !queries.is_empty()
        || key.is_some()
        || !cookies.is_empty()
        || op.body.is_some()
        || op.params.iter().any(|p| p.location == Location::Header);
    out.line(&format!(
        "let {}request = self.config.request(Method::{method}, &[{}]).await?;",
        if adds_more { "mut " } else { "" },
        segments.join(", ")
    ));
    if !queries.is_empty() {
        name_value_pairs(out, "query", &queries);
        out.line("request = request.query(&query);");
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
        if p.is_array() && !p.required {
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

/// `let <var>: Vec<(&str, String)>` with a pair per parameter value sent: what
/// is always sent in the initializer, the rest pushed when present.
fn name_value_pairs(out: &mut Code, var: &str, params: &[&Param]) {
    let mut always = Vec::new();
    let mut sometimes = Vec::new();
    for p in params {
        let ident = param_ident(p);
        let name = rust_str(&p.name);
        if p.is_array() && p.explode {
            sometimes.push(format!(
                "for item in &req.{ident} {{ {var}.push(({name}, item.to_param())); }}"
            ));
        } else if p.is_array() {
            sometimes.push(format!(
                "if !req.{ident}.is_empty() {{ {var}.push(({name}, req.{ident}.iter().map(ToParam::to_param).collect::<Vec<_>>().join(\",\"))); }}"
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
