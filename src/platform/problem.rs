//! Building the contract's `Problem` bodies from services.
//!
//! The wording and `type` URNs match what `keel_runtime` writes for rejections
//! before a service runs, so clients see one vocabulary.

use std::fmt::Display;

use keel_server::RequestContext;
use keel_server::types::{FieldError, Problem};
use poem::http::StatusCode;

/// One invalid part of a request that a service found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pointer: Option<String>,
    parameter: Option<String>,
    code: &'static str,
    detail: String,
}

impl FieldProblem {
    pub fn body(pointer: &str, code: &'static str, detail: String) -> Self {
        FieldProblem {
            pointer: Some(pointer.to_owned()),
            parameter: None,
            code,
            detail,
        }
    }

    pub fn parameter(name: &str, code: &'static str, detail: String) -> Self {
        FieldProblem {
            pointer: None,
            parameter: Some(name.to_owned()),
            code,
            detail,
        }
    }
}

pub fn problem(
    ctx: &RequestContext,
    status: u16,
    slug: &str,
    detail: impl Into<String>,
) -> Problem {
    let code = StatusCode::from_u16(status).expect("services use real status codes");
    Problem {
        type_: format!("urn:keel:problem:{slug}"),
        title: code.canonical_reason().unwrap_or("Error").to_owned(),
        status: i32::from(status),
        detail: Some(detail.into()),
        instance: Some(format!("urn:keel:request:{}", ctx.request_id)),
        errors: None,
    }
}

/// A 400 naming the one field at fault.
pub fn invalid_field(ctx: &RequestContext, field: FieldProblem) -> Problem {
    let location = field
        .pointer
        .as_deref()
        .or(field.parameter.as_deref())
        .unwrap_or_default();
    let what = if field.parameter.is_some() {
        "parameter"
    } else {
        "the request body is invalid:"
    };
    let detail = format!("{what} `{location}` {}", field.detail);
    let mut problem = problem(ctx, 400, "validation-failed", detail);
    problem.errors = Some(vec![FieldError {
        pointer: field.pointer,
        parameter: field.parameter,
        code: field.code.to_owned(),
        detail: field.detail,
    }]);
    problem
}

/// A 500 whose body says nothing of the cause; the cause goes to the log under
/// the request id that the body's `instance` names.
pub fn internal(ctx: &RequestContext, cause: &dyn Display) -> Problem {
    tracing::error!(request_id = %ctx.request_id, error = %cause, "request failed");
    problem(
        ctx,
        500,
        "internal",
        "the server failed to handle this request; the request id identifies it in the logs",
    )
}

/// A 412: `If-Match` named another version of the `what` (`current` is the
/// version now, when known), or another request changed it meanwhile.
pub fn stale(ctx: &RequestContext, what: &str, current: Option<&str>) -> Problem {
    let detail = match current {
        Some(current) => format!(
            "the {what} has changed since you read it: `If-Match` does not match the current ETag {current}; read it again and reapply your change"
        ),
        None => format!(
            "the {what} was changed by another request while this one ran; read it again and reapply your change"
        ),
    };
    problem(ctx, 412, "stale-version", detail)
}
