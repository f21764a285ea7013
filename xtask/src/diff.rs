//! `cargo xtask diff --base <git-ref>`: classifies every change of the contract
//! since `<ref>` as breaking or not, for clients built against the old one.
//!
//! A breaking change fails the gate unless `api/breaking-changes.yaml` lists it
//! (rule and JSON pointer) with a reason, and any breaking change also requires a
//! new major `info.version`. A version bump alone acknowledges nothing.

use std::collections::BTreeSet;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::Value;

use crate::openapi::load::{load, load_with};
use crate::openapi::model::*;

const ALLOW_LIST: &str = "api/breaking-changes.yaml";

#[derive(Debug, Clone, PartialEq, Eq)]
struct Change {
    breaking: bool,
    rule: &'static str,
    pointer: String,
    message: String,
}

#[derive(Debug, Deserialize)]
struct Acknowledged {
    rule: String,
    pointer: String,
    reason: String,
}

pub fn run(base: &str) -> Result<()> {
    let old_doc = base_contract(std::path::Path::new("."), base)?;
    let new_doc = crate::openapi::read_with(std::path::Path::new(CONTRACT), true)?.document;
    let allow: Vec<Acknowledged> = match std::fs::read_to_string(ALLOW_LIST) {
        Ok(text) => serde_norway::from_str::<Option<Vec<Acknowledged>>>(&text)
            .with_context(|| format!("{ALLOW_LIST} must be a list of {{rule, pointer, reason}}"))?
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let verdict = judge_documents(&old_doc, &new_doc, &allow)?;
    for line in &verdict.lines {
        println!("{line}");
    }
    if !verdict.failures.is_empty() {
        for failure in &verdict.failures {
            eprintln!("error: {failure}");
        }
        bail!(
            "the contract breaks clients of {base} ({} problem(s) above)",
            verdict.failures.len()
        );
    }
    println!(
        "contract changes since {base}: {} (none unacknowledged)",
        verdict.lines.len()
    );
    Ok(())
}

const CONTRACT: &str = "api/openapi.yaml";

/// The contract as it was at `base`, bundled like the current one: the whole
/// `api/` directory of that commit is extracted (`git archive`) into a
/// temporary directory, so references to other files in `api/` resolve to
/// their versions at `base`, not to today's files.
fn base_contract(repo: &std::path::Path, base: &str) -> Result<Value> {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("keel-diff-{}-{run}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let result = extract_and_bundle(repo, base, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn extract_and_bundle(repo: &std::path::Path, base: &str, dir: &std::path::Path) -> Result<Value> {
    let archive = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["archive", "--format=tar", base, "api"])
        .output()?;
    if !archive.status.success() {
        bail!(
            "`git archive {base} api` failed: {}",
            String::from_utf8_lossy(&archive.stderr).trim()
        );
    }
    let mut tar = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(dir)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .context("running `tar`")?;
    {
        use std::io::Write;
        tar.stdin
            .take()
            .context("tar's stdin")?
            .write_all(&archive.stdout)?;
    }
    if !tar.wait()?.success() {
        bail!("`tar -x` failed on the `api/` directory of {base}");
    }
    let path = dir.join(CONTRACT);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("{base} has no {CONTRACT}"))?;
    let document: Value = serde_norway::from_str(&text)
        .with_context(|| format!("{CONTRACT} at {base} is not valid YAML or JSON"))?;
    crate::openapi::bundle::bundle(document, &path)
        .with_context(|| format!("{CONTRACT} at {base}: resolving references to other files"))
}

struct Verdict {
    lines: Vec<String>,
    failures: Vec<String>,
}

/// Compares two contract texts; `failures` is empty when the change may land.
#[cfg(test)]
fn judge(old_text: &str, new_text: &str, allow: &[Acknowledged]) -> Result<Verdict> {
    let old_doc: Value = serde_norway::from_str(old_text)?;
    let new_doc: Value = serde_norway::from_str(new_text)?;
    judge_documents(&old_doc, &new_doc, allow)
}

/// Compares two bundled contracts; `failures` is empty when the change may land.
fn judge_documents(old_doc: &Value, new_doc: &Value, allow: &[Acknowledged]) -> Result<Verdict> {
    let old = load_with(old_doc, false).map_err(|e| anyhow::anyhow!("the base contract: {e}"))?;
    let new = load(new_doc).map_err(|e| anyhow::anyhow!("the contract: {e}"))?;
    let changes = compare(&old, &new);
    let mut lines = Vec::new();
    let mut failures = Vec::new();
    let mut breaking = 0;
    for change in &changes {
        let label = if change.breaking { "BREAKING" } else { "ok" };
        lines.push(format!(
            "{label:8} {} at #{}: {}",
            change.rule, change.pointer, change.message
        ));
        if change.breaking {
            breaking += 1;
            let acknowledged = allow.iter().any(|a| {
                a.rule == change.rule && a.pointer == change.pointer && !a.reason.trim().is_empty()
            });
            if !acknowledged {
                failures.push(format!(
                    "{} at #{} is breaking and not in {ALLOW_LIST} (add `rule`, `pointer` and a `reason`)",
                    change.rule, change.pointer
                ));
            }
        }
    }
    if breaking > 0 && !breaking_bump(&old.version, &new.version) {
        failures.push(format!(
            "{breaking} breaking change(s) need a new major version (a new minor while it is 0.x): info.version is {} (was {})",
            new.version, old.version
        ));
    }
    Ok(Verdict { lines, failures })
}

/// `major.minor` of a version (`1.4.2` → (1, 4)); missing parts count as 0.
fn major_minor(version: &str) -> (u64, u64) {
    let mut parts = version
        .trim_start_matches('v')
        .split('.')
        .map(|p| p.parse().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// Semver's rule, with Cargo's reading of 0.x: before 1.0 the minor is the
/// number that announces breaking changes.
fn breaking_bump(old: &str, new: &str) -> bool {
    let (old_major, old_minor) = major_minor(old);
    let (new_major, new_minor) = major_minor(new);
    if old_major == 0 && new_major == 0 {
        new_minor > old_minor
    } else {
        new_major > old_major
    }
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn op_pointer(op: &Operation) -> String {
    format!("/paths/{}/{}", escape(&op.path), op.method.as_str())
}

/// What a client sends (narrowing breaks) or receives (widening breaks).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Request,
    Response,
}

struct Comparer<'a> {
    old: &'a Api,
    new: &'a Api,
    changes: Vec<Change>,
    seen: BTreeSet<(String, String, bool)>,
}

impl Comparer<'_> {
    fn push(&mut self, breaking: bool, rule: &'static str, pointer: String, message: String) {
        let change = Change {
            breaking,
            rule,
            pointer,
            message,
        };
        if !self.changes.contains(&change) {
            self.changes.push(change);
        }
    }
}

fn compare(old: &Api, new: &Api) -> Vec<Change> {
    let mut c = Comparer {
        old,
        new,
        changes: Vec::new(),
        seen: BTreeSet::new(),
    };
    for old_op in &old.operations {
        let pointer = op_pointer(old_op);
        let Some(new_op) = new
            .operations
            .iter()
            .find(|o| o.path == old_op.path && o.method == old_op.method)
        else {
            c.push(
                true,
                "operation-removed",
                pointer,
                format!("operation `{}` was removed", old_op.id),
            );
            continue;
        };
        if new_op.security != old_op.security {
            let breaking = new_op.security != Security::Public;
            c.push(
                breaking,
                "security-changed",
                format!("{pointer}/security"),
                format!(
                    "`{}` now needs {:?} (was {:?})",
                    old_op.id, new_op.security, old_op.security
                ),
            );
        }
        compare_params(&mut c, old_op, new_op, &pointer);
        match (&old_op.body, &new_op.body) {
            (Some(o), Some(n)) => {
                compare_schema(
                    &mut c,
                    &o.schema,
                    &n.schema,
                    Direction::Request,
                    &format!("{pointer}/requestBody"),
                );
                // Clients send one of the media types offered; taking one away
                // breaks those that send it.
                for media in o.media.iter().filter(|m| !n.media.contains(m)) {
                    c.push(
                        true,
                        "request-media-type-removed",
                        format!("{pointer}/requestBody/content"),
                        format!("`{}` is no longer accepted", media.content_type()),
                    );
                }
            }
            (None, Some(_)) => c.push(
                true,
                "request-body-added",
                format!("{pointer}/requestBody"),
                "a required request body was added".into(),
            ),
            (Some(_), None) => c.push(
                false,
                "request-body-removed",
                format!("{pointer}/requestBody"),
                "the request body was removed".into(),
            ),
            (None, None) => {}
        }
        for old_response in &old_op.responses {
            let rp = format!("{pointer}/responses/{}", old_response.status);
            let Some(new_response) = new_op
                .responses
                .iter()
                .find(|r| r.status == old_response.status)
            else {
                let breaking = old_response.status.is_success();
                c.push(
                    breaking,
                    "response-status-removed",
                    rp,
                    format!("status {} is no longer declared", old_response.status),
                );
                continue;
            };
            match (&old_response.content, &new_response.content) {
                (Some((om, os)), Some((nm, ns))) => {
                    if om != nm {
                        c.push(
                            true,
                            "response-media-type-changed",
                            format!("{rp}/content"),
                            format!("`{om}` became `{nm}`"),
                        );
                    }
                    compare_schema(
                        &mut c,
                        os,
                        ns,
                        Direction::Response,
                        &format!("{rp}/content"),
                    );
                    // A client may not read an added media type, and may rely on a
                    // removed one; the generated body type changes either way.
                    if old_response.bytes_media != new_response.bytes_media {
                        c.push(
                            true,
                            "response-media-types-changed",
                            format!("{rp}/content"),
                            format!(
                                "the media types besides JSON were {:?}, are {:?}",
                                old_response.bytes_media, new_response.bytes_media
                            ),
                        );
                    }
                }
                (Some(_), None) => c.push(
                    true,
                    "response-body-removed",
                    format!("{rp}/content"),
                    "the response body was removed".into(),
                ),
                _ => {}
            }
            for header in old_response.headers.iter().filter(|h| h.required) {
                if !new_response
                    .headers
                    .iter()
                    .any(|h| h.name.eq_ignore_ascii_case(&header.name) && h.required)
                {
                    c.push(
                        true,
                        "response-header-removed",
                        format!("{rp}/headers/{}", escape(&header.name)),
                        format!("the `{}` header is no longer always sent", header.name),
                    );
                }
            }
        }
        for new_response in &new_op.responses {
            if !old_op
                .responses
                .iter()
                .any(|r| r.status == new_response.status)
            {
                c.push(
                    false,
                    "response-status-added",
                    format!("{pointer}/responses/{}", new_response.status),
                    format!("status {} is now declared", new_response.status),
                );
            }
        }
    }
    for new_op in &new.operations {
        if !old
            .operations
            .iter()
            .any(|o| o.path == new_op.path && o.method == new_op.method)
        {
            c.push(
                false,
                "operation-added",
                op_pointer(new_op),
                format!("operation `{}` was added", new_op.id),
            );
        }
    }
    compare_events(&mut c);
    c.changes
}

/// Consumers read an event's payload as clients read a response: a field they
/// rely on must stay, and an enum must not grow values they cannot handle. A
/// change that breaks them belongs in a new version of the event.
fn compare_events(c: &mut Comparer) {
    let (old, new) = (c.old, c.new);
    for old_event in &old.events {
        let pointer = format!(
            "/components/schemas/{}/x-keel-event",
            escape(&old_event.schema)
        );
        match new
            .events
            .iter()
            .find(|e| e.name == old_event.name && e.version == old_event.version)
        {
            Some(new_event) => {
                compare_named(c, &old_event.schema, &new_event.schema, Direction::Response);
            }
            None => c.push(
                true,
                "event-removed",
                pointer,
                format!(
                    "event `{}` version {} is no longer declared",
                    old_event.name, old_event.version
                ),
            ),
        }
    }
    for new_event in &new.events {
        if !old
            .events
            .iter()
            .any(|e| e.name == new_event.name && e.version == new_event.version)
        {
            c.push(
                false,
                "event-added",
                format!(
                    "/components/schemas/{}/x-keel-event",
                    escape(&new_event.schema)
                ),
                format!(
                    "event `{}` version {} was added",
                    new_event.name, new_event.version
                ),
            );
        }
    }
}

fn compare_params(c: &mut Comparer, old_op: &Operation, new_op: &Operation, pointer: &str) {
    for old_param in &old_op.params {
        let pp = format!("{pointer}/parameters/{}", escape(&old_param.name));
        let Some(new_param) = new_op
            .params
            .iter()
            .find(|p| p.name == old_param.name && p.location == old_param.location)
        else {
            c.push(
                true,
                "request-parameter-removed",
                pp,
                format!("parameter `{}` was removed", old_param.name),
            );
            continue;
        };
        if new_param.required && !old_param.required {
            c.push(
                true,
                "request-parameter-became-required",
                pp.clone(),
                format!("parameter `{}` is now required", old_param.name),
            );
        }
        compare_schema(
            c,
            &old_param.schema,
            &new_param.schema,
            Direction::Request,
            &format!("{pp}/schema"),
        );
    }
    for new_param in new_op.params.iter().filter(|p| p.required) {
        if !old_op
            .params
            .iter()
            .any(|p| p.name == new_param.name && p.location == new_param.location)
        {
            c.push(
                true,
                "request-parameter-added-required",
                format!("{pointer}/parameters/{}", escape(&new_param.name)),
                format!("required parameter `{}` was added", new_param.name),
            );
        }
    }
}

fn type_name(ty: &Type) -> String {
    match ty {
        Type::Named(n) => n.clone(),
        Type::String(f) => format!("string({f:?})"),
        Type::Integer(f) => format!("integer({f:?})"),
        Type::Number(f) => format!("number({f:?})"),
        Type::Boolean => "boolean".into(),
        Type::Array(items) => format!("array of {}", type_name(&items.ty)),
        Type::Map(values) => format!("map of {}", type_name(&values.ty)),
        Type::Any => "any".into(),
    }
}

/// A removed value breaks senders and receivers alike; an added one breaks
/// clients that receive it (they may match exhaustively).
fn compare_enum<T: PartialEq + std::fmt::Display>(
    c: &mut Comparer,
    old: &[T],
    new: &[T],
    request: bool,
    pointer: &str,
    name: &str,
) {
    for value in old.iter().filter(|v| !new.contains(v)) {
        c.push(
            true,
            "enum-value-removed",
            pointer.to_owned(),
            format!("`{value}` was removed from `{name}`"),
        );
    }
    if !request {
        for value in new.iter().filter(|v| !old.contains(v)) {
            c.push(
                true,
                "response-enum-value-added",
                pointer.to_owned(),
                format!("responses may now contain `{value}` in `{name}`"),
            );
        }
    }
}

fn compare_schema(c: &mut Comparer, old: &Schema, new: &Schema, dir: Direction, pointer: &str) {
    let request = dir == Direction::Request;
    if old.nullable && !new.nullable && request {
        c.push(
            true,
            "request-became-non-nullable",
            pointer.into(),
            "`null` is no longer accepted".into(),
        );
    }
    if !old.nullable && new.nullable && !request {
        c.push(
            true,
            "response-became-nullable",
            pointer.into(),
            "the value may now be `null`".into(),
        );
    }
    match (&old.ty, &new.ty) {
        (Type::Named(o), Type::Named(n)) => compare_named(c, o, n, dir),
        (Type::Map(o), Type::Map(n)) => {
            compare_schema(c, o, n, dir, &format!("{pointer}/additionalProperties"))
        }
        (Type::Array(o), Type::Array(n)) => {
            compare_schema(c, o, n, dir, &format!("{pointer}/items"))
        }
        (o, n) if o != n => {
            c.push(
                true,
                if request {
                    "request-type-changed"
                } else {
                    "response-type-changed"
                },
                pointer.into(),
                format!("{} became {}", type_name(o), type_name(n)),
            );
            return;
        }
        _ => {}
    }
    compare_rules(c, &old.rules, &new.rules, dir, pointer);
}

/// In a request, a narrower rule rejects what clients sent before; in a
/// response, a wider one sends what clients did not expect.
fn compare_rules(c: &mut Comparer, old: &Rules, new: &Rules, dir: Direction, pointer: &str) {
    let narrowed = |o: Option<f64>, n: Option<f64>, lower: bool| match (o, n) {
        (None, Some(_)) => true,
        (Some(o), Some(n)) => {
            if lower {
                n > o
            } else {
                n < o
            }
        }
        _ => false,
    };
    let f = |v: Option<u64>| v.map(|v| v as f64);
    let b = |v: Option<Bound>| v.map(|b| b.value);
    let checks = [
        (
            "min-length",
            narrowed(f(old.min_length), f(new.min_length), true),
            narrowed(f(new.min_length), f(old.min_length), true),
        ),
        (
            "max-length",
            narrowed(f(old.max_length), f(new.max_length), false),
            narrowed(f(new.max_length), f(old.max_length), false),
        ),
        (
            "minimum",
            narrowed(b(old.minimum), b(new.minimum), true),
            narrowed(b(new.minimum), b(old.minimum), true),
        ),
        (
            "maximum",
            narrowed(b(old.maximum), b(new.maximum), false),
            narrowed(b(new.maximum), b(old.maximum), false),
        ),
        (
            "min-items",
            narrowed(f(old.min_items), f(new.min_items), true),
            narrowed(f(new.min_items), f(old.min_items), true),
        ),
        (
            "max-items",
            narrowed(f(old.max_items), f(new.max_items), false),
            narrowed(f(new.max_items), f(old.max_items), false),
        ),
    ];
    for (rule, narrower, wider) in checks {
        match dir {
            Direction::Request if narrower => c.push(
                true,
                "request-constraint-narrowed",
                pointer.into(),
                format!("{rule} is stricter"),
            ),
            Direction::Response if wider => c.push(
                true,
                "response-constraint-widened",
                pointer.into(),
                format!("{rule} is looser"),
            ),
            _ => {}
        }
    }
    if old.pattern != new.pattern && dir == Direction::Request && new.pattern.is_some() {
        c.push(
            true,
            "request-pattern-changed",
            pointer.into(),
            format!(
                "the pattern became {:?}",
                new.pattern.as_deref().unwrap_or("")
            ),
        );
    }
}

fn compare_named(c: &mut Comparer, old_name: &str, new_name: &str, dir: Direction) {
    if !c.seen.insert((
        old_name.to_owned(),
        new_name.to_owned(),
        dir == Direction::Request,
    )) {
        return;
    }
    let pointer = format!("/components/schemas/{}", escape(new_name));
    let (Some(old), Some(new)) = (
        c.old.schemas.iter().find(|s| s.name == old_name),
        c.new.schemas.iter().find(|s| s.name == new_name),
    ) else {
        return;
    };
    let request = dir == Direction::Request;
    match (&old.kind, &new.kind) {
        (SchemaKind::IntEnum(o), SchemaKind::IntEnum(n)) => {
            compare_enum(c, o, n, request, &pointer, new_name);
        }
        (SchemaKind::StringEnum(o), SchemaKind::StringEnum(n)) => {
            compare_enum(c, o, n, request, &pointer, new_name);
        }
        (SchemaKind::Object(o), SchemaKind::Object(n)) => {
            let (old_clone, new_clone) = (o.clone(), n.clone());
            // `oneOf`/`anyOf` beside the properties: its variants as a union's.
            match (&old_clone.union, &new_clone.union) {
                (Some(old_union), Some(new_union)) => compare_named(c, old_union, new_union, dir),
                (None, None) => {}
                _ => c.push(
                    true,
                    "object-union-changed",
                    pointer.clone(),
                    "`oneOf`/`anyOf` beside the properties was added or removed".into(),
                ),
            }
            for old_field in &old_clone.fields {
                let fp = format!("{pointer}/properties/{}", escape(&old_field.json_name));
                match new_clone
                    .fields
                    .iter()
                    .find(|f| f.json_name == old_field.json_name)
                {
                    None if !request && old_field.required => {
                        c.push(
                            true,
                            "response-property-removed",
                            fp,
                            format!("`{}` is no longer sent", old_field.json_name),
                        );
                    }
                    None if request && new_clone.deny_unknown => {
                        c.push(
                            true,
                            "request-property-removed",
                            fp,
                            format!("`{}` is now rejected", old_field.json_name),
                        );
                    }
                    None => {}
                    Some(new_field) => {
                        if !request && old_field.required && !new_field.required {
                            c.push(
                                true,
                                "response-property-became-optional",
                                fp.clone(),
                                format!("`{}` may now be absent", old_field.json_name),
                            );
                        }
                        if request && !old_field.required && new_field.required {
                            c.push(
                                true,
                                "request-property-became-required",
                                fp.clone(),
                                format!("`{}` is now required", old_field.json_name),
                            );
                        }
                        compare_schema(c, &old_field.schema, &new_field.schema, dir, &fp);
                    }
                }
            }
            for new_field in &new_clone.fields {
                if request
                    && new_field.required
                    && !old_clone
                        .fields
                        .iter()
                        .any(|f| f.json_name == new_field.json_name)
                {
                    c.push(
                        true,
                        "request-property-added-required",
                        format!("{pointer}/properties/{}", escape(&new_field.json_name)),
                        format!("required `{}` was added", new_field.json_name),
                    );
                }
            }
        }
        (SchemaKind::Union(o), SchemaKind::Union(n)) => {
            let (o, n) = (o.clone(), n.clone());
            for variant in &o.variants {
                match n.variants.iter().find(|v| {
                    v.tag == variant.tag && (v.tag.is_some() || v.schema == variant.schema)
                }) {
                    None => c.push(
                        request,
                        "union-variant-removed",
                        pointer.clone(),
                        format!("variant `{}` was removed", variant.schema),
                    ),
                    Some(nv) => compare_named(c, &variant.schema, &nv.schema, dir),
                }
            }
            if !request && n.variants.len() > o.variants.len() {
                c.push(
                    true,
                    "response-union-variant-added",
                    pointer.clone(),
                    "responses may hold a new variant".into(),
                );
            }
        }
        (SchemaKind::Alias(o), SchemaKind::Alias(n)) => {
            let (o, n) = (o.clone(), n.clone());
            compare_schema(c, &o, &n, dir, &pointer);
        }
        _ => c.push(
            true,
            "schema-kind-changed",
            pointer,
            format!("`{new_name}` changed its kind"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> String {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../api/openapi.yaml"),
        )
        .unwrap()
    }

    /// The project's contract with a higher major `info.version`, whatever the current one is.
    fn bump_major(text: &str) -> String {
        let info_version = regex::Regex::new(r"(?m)^  version: .+$").unwrap();
        let bumped = info_version
            .replace(text, "  version: 999.0.0")
            .into_owned();
        assert_ne!(bumped, text, "the contract has an info.version line");
        bumped
    }

    /// A contract split over files in `api/`: the base is read with the other
    /// files as they were at the base commit, so a change in one of them is seen.
    #[test]
    fn the_base_is_the_whole_api_directory_at_the_ref() {
        let repo = std::env::temp_dir().join(format!("keel-diff-repo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&repo);
        std::fs::create_dir_all(repo.join("api/schemas")).unwrap();
        let git = |args: &[&str]| {
            let status = Command::new("git")
                .arg("-C")
                .arg(&repo)
                .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
                .args(args)
                .output()
                .unwrap();
            assert!(status.status.success(), "git {args:?}: {status:?}");
        };
        let contract = "openapi: 3.1.0\ninfo: {title: t, version: 1.0.0}\npaths:\n  /a:\n    get:\n      operationId: getA\n      tags: [a]\n      security: []\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {$ref: 'schemas/thing.yaml'}\n";
        std::fs::write(repo.join("api/openapi.yaml"), contract).unwrap();
        std::fs::write(
            repo.join("api/schemas/thing.yaml"),
            "type: object\nrequired: [name]\nproperties:\n  name: {type: string, maxLength: 10}\n",
        )
        .unwrap();
        git(&["init", "-q"]);
        git(&["add", "."]);
        git(&["commit", "-q", "-m", "base"]);
        // Only the referenced file changes, and only in the working tree.
        std::fs::write(
            repo.join("api/schemas/thing.yaml"),
            "type: object\nproperties:\n  label: {type: string}\n",
        )
        .unwrap();
        let old = base_contract(&repo, "HEAD").unwrap();
        assert_eq!(
            old.pointer("/components/schemas/Thing/properties/name/maxLength"),
            Some(&serde_json::json!(10))
        );
        let new = crate::openapi::read_with(&repo.join("api/openapi.yaml"), false)
            .unwrap()
            .document;
        let verdict = judge_documents(&old, &new, &[]).unwrap();
        let failures = verdict.failures.join("\n");
        assert!(failures.contains("name"), "{failures}");
        assert!(base_contract(&repo, "no-such-ref").is_err());
        let _ = std::fs::remove_dir_all(&repo);
    }

    #[test]
    fn a_union_beside_properties_is_judged_as_a_union() {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../tests/fixtures/unions/openapi.yaml"),
        )
        .unwrap();
        // `web` no longer tells a `RemoteAdoption`: clients that send it break.
        let changed = text.replacen(
            "          web: '#/components/schemas/RemoteAdoption'\n",
            "",
            1,
        );
        assert_ne!(changed, text);
        let verdict = judge(&text, &changed, &[]).unwrap();
        let joined = verdict.failures.join("\n");
        assert!(joined.contains("union-variant-removed"), "{joined}");
        assert!(judge(&text, &text, &[]).unwrap().failures.is_empty());
    }

    #[test]
    fn an_unchanged_contract_passes() {
        let text = project();
        let verdict = judge(&text, &text, &[]).unwrap();
        assert!(verdict.lines.is_empty() && verdict.failures.is_empty());
    }

    #[test]
    fn a_planted_breaking_change_fails_naming_rule_and_pointer() {
        let text = project();
        // `limit` may no longer be 100: a stricter request rule.
        let changed = text.replacen(
            "            minimum: 1\n            maximum: 100\n            default: 20",
            "            minimum: 1\n            maximum: 50\n            default: 20",
            1,
        );
        assert_ne!(changed, text);
        let verdict = judge(&text, &changed, &[]).unwrap();
        let joined = verdict.failures.join("\n");
        assert!(
            joined.contains(
                "request-constraint-narrowed at #/paths/~1v1~1users/get/parameters/limit/schema"
            ),
            "{joined}"
        );
        assert!(joined.contains("need a new major version"), "{joined}");
        assert!(
            !breaking_bump("0.1.0", "0.1.9")
                && breaking_bump("0.1.0", "0.2.0")
                && breaking_bump("1.4.0", "2.0.0")
        );
        assert!(!breaking_bump("1.4.0", "1.5.0"));
    }

    #[test]
    fn a_bump_alone_acknowledges_nothing_and_the_allow_list_needs_a_reason() {
        let text = project();
        let changed = bump_major(&text.replacen(
            "        '204':\n          description: The user was deleted.",
            "        '202':\n          description: The user will be deleted.",
            1,
        ));
        let verdict = judge(&text, &changed, &[]).unwrap();
        assert!(
            verdict.failures.iter().any(|f| f.starts_with(
                "response-status-removed at #/paths/~1v1~1users~1{userId}/delete/responses/204"
            )),
            "{:?}",
            verdict.failures
        );

        let pointer = "/paths/~1v1~1users~1{userId}/delete/responses/204".to_owned();
        let unreasoned = [Acknowledged {
            rule: "response-status-removed".into(),
            pointer: pointer.clone(),
            reason: " ".into(),
        }];
        assert!(
            !judge(&text, &changed, &unreasoned)
                .unwrap()
                .failures
                .is_empty(),
            "an empty reason acknowledges nothing"
        );
        let reasoned = [Acknowledged {
            rule: "response-status-removed".into(),
            pointer,
            reason: "deletion is asynchronous now".into(),
        }];
        assert!(
            judge(&text, &changed, &reasoned)
                .unwrap()
                .failures
                .is_empty()
        );
    }

    #[test]
    fn additions_are_not_breaking_but_widened_response_enums_are() {
        let text = project();
        let added = text.replacen(
            "      enum: [customer, admin]",
            "      enum: [customer, admin, auditor]",
            1,
        );
        let verdict = judge(&text, &added, &[]).unwrap();
        assert!(
            verdict.lines.iter().any(|l| l
                .starts_with("BREAKING response-enum-value-added at #/components/schemas/Role")),
            "{:?}",
            verdict.lines
        );

        let removed_op = text.replacen(
            "      operationId: getJwks",
            "      operationId: getJwksGone",
            1,
        );
        let verdict = judge(&text, &removed_op, &[]).unwrap();
        assert!(
            verdict.failures.is_empty(),
            "renaming an operationId keeps method and path: {:?}",
            verdict.failures
        );
    }

    #[test]
    fn event_payloads_are_judged_as_consumers_read_them() {
        let text = project();
        // A consumer relies on `displayName`; dropping it breaks them.
        let dropped = text.replacen(
            "      required: [userId, email, displayName, role, registeredAt]",
            "      required: [userId, email, role, registeredAt]",
            1,
        );
        assert_ne!(dropped, text);
        let verdict = judge(&text, &dropped, &[]).unwrap();
        assert!(
            verdict.failures.iter().any(|f| f.starts_with(
                "response-property-became-optional at #/components/schemas/UserRegistered/properties/displayName"
            )),
            "{:?}",
            verdict.failures
        );
        // Declaring it under another version takes version 1 away.
        let moved = text.replacen(
            "        name: user.registered\n        version: 1",
            "        name: user.registered\n        version: 2",
            1,
        );
        assert_ne!(moved, text);
        let verdict = judge(&text, &moved, &[]).unwrap();
        assert!(
            verdict.failures.iter().any(|f| f
                .starts_with("event-removed at #/components/schemas/UserRegistered/x-keel-event")),
            "{:?}",
            verdict.failures
        );
    }
}
