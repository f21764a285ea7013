use poem::error::{MethodNotAllowedError, NotFoundError, ReadBodyError, ResponseError};
use poem::http::StatusCode;
use poem::{IntoResponse, Response};
use poem_openapi::error::{
    ContentTypeError, ParseParamError, ParsePathError, ParseRequestPayloadError,
};
use serde::Serialize;

use super::{AuthRejected, RequestId};

/// RFC 9457 problem details, as the framework layer writes them.
///
/// The contract's own `Problem` schema describes the same document; services use
/// the generated DTO, this type covers rejections that happen before a service runs.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// One invalid part of a request: a body property or a parameter.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldError {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    pub code: String,
    pub detail: String,
}

impl FieldError {
    pub fn body(pointer: String, code: String, detail: String) -> Self {
        FieldError {
            pointer: Some(pointer),
            parameter: None,
            code,
            detail,
        }
    }

    pub fn parameter(name: &str, code: &str, detail: String) -> Self {
        FieldError {
            pointer: None,
            parameter: Some(name.to_owned()),
            code: code.to_owned(),
            detail,
        }
    }
}

impl Problem {
    /// A problem whose `type` is `urn:keel:problem:<slug>`.
    pub fn new(status: StatusCode, slug: &str, detail: impl Into<String>) -> Self {
        Problem {
            kind: format!("urn:keel:problem:{slug}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: Some(detail.into()),
            instance: None,
            errors: Vec::new(),
        }
    }

    /// Ties the problem to the request's log lines.
    pub fn for_request(mut self, request_id: &RequestId) -> Self {
        self.instance = Some(format!("urn:keel:request:{request_id}"));
        self
    }

    pub fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).expect("a problem serializes");
        Response::builder()
            .status(status)
            .content_type("application/problem+json")
            .body(body)
    }
}

/// A JSON body that did not parse or did not pass validation.
#[derive(Debug, thiserror::Error)]
#[error("{detail}")]
pub(crate) struct BodyRejected {
    slug: &'static str,
    detail: String,
    errors: Vec<FieldError>,
}

impl BodyRejected {
    pub(crate) fn malformed(detail: String) -> Self {
        BodyRejected {
            slug: "malformed-body",
            detail,
            errors: Vec::new(),
        }
    }

    pub(crate) fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!(
                "the request body is invalid: `{}` {}",
                display_pointer(one),
                one.detail
            ),
            many => format!(
                "the request body is invalid in {} places; see `errors`",
                many.len()
            ),
        };
        BodyRejected {
            slug: "validation-failed",
            detail,
            errors,
        }
    }
}

/// An object parameter (ADR 23) that is malformed or breaks its type's rules;
/// `errors` name the parameter and the property (`pointer`). A path
/// parameter's name is poem-openapi's `param0`… until the problem is written.
#[derive(Debug, thiserror::Error)]
#[error("parameter `{name}` is invalid")]
pub(crate) struct ParamRejected {
    name: String,
    path: bool,
    errors: Vec<FieldError>,
}

impl ParamRejected {
    pub(crate) fn new(name: &str, path: bool, errors: Vec<FieldError>) -> Self {
        ParamRejected {
            name: name.to_owned(),
            path,
            errors,
        }
    }

    pub(crate) fn malformed(name: &str, path: bool, why: String) -> Self {
        Self::new(name, path, vec![FieldError::parameter(name, "type", why)])
    }
}

impl ResponseError for ParamRejected {
    fn status(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }
}

fn display_pointer(error: &FieldError) -> &str {
    error
        .pointer
        .as_deref()
        .or(error.parameter.as_deref())
        .unwrap_or("")
}

impl ResponseError for BodyRejected {
    fn status(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }
}

/// Turns any error that reached the HTTP edge into problem+json.
///
/// poem and poem-openapi reject requests before a handler runs (unknown route,
/// wrong content type, unparsable parameter); each gets a detail that names the
/// part of the request at fault. Server errors keep their cause out of the body:
/// it goes to the log, tied to the response by the request id.
///
/// poem-openapi names path parameters `param0`, `param1`... in its errors; with
/// the request's path and the API's path templates (`/v1/users/{userId}`) the
/// problem names them as the contract does.
pub fn problem_from_error(
    error: &poem::Error,
    request_id: &RequestId,
    path: &str,
    templates: &[&str],
) -> Problem {
    let problem = if let Some(rejected) = error.downcast_ref::<AuthRejected>() {
        let slug = match rejected.status {
            StatusCode::UNAUTHORIZED => "unauthenticated",
            StatusCode::FORBIDDEN => "insufficient-scope",
            _ => "internal",
        };
        Problem::new(rejected.status, slug, rejected.detail.clone())
    } else if let Some(rejected) = error.downcast_ref::<BodyRejected>() {
        let mut problem = Problem::new(
            StatusCode::BAD_REQUEST,
            rejected.slug,
            rejected.detail.clone(),
        );
        problem.errors = rejected.errors.clone();
        problem
    } else if let Some(rejected) = error.downcast_ref::<ParamRejected>() {
        let name = if rejected.path {
            path_parameter_name(&rejected.name, path, templates)
        } else {
            rejected.name.clone()
        };
        let errors: Vec<FieldError> = rejected
            .errors
            .iter()
            .map(|e| FieldError {
                parameter: Some(name.clone()),
                ..e.clone()
            })
            .collect();
        let detail = match errors.as_slice() {
            [one] => match &one.pointer {
                Some(pointer) => {
                    format!("parameter `{name}` is invalid: `{pointer}` {}", one.detail)
                }
                None => format!("parameter `{name}` {}", one.detail),
            },
            many => format!(
                "parameter `{name}` is invalid in {} places; see `errors`",
                many.len()
            ),
        };
        let mut problem = Problem::new(StatusCode::BAD_REQUEST, "invalid-parameter", detail);
        problem.errors = errors;
        problem
    } else if let Some(e) = error.downcast_ref::<ParseParamError>() {
        // A required `If-Match` asks for a conditional request: its absence is
        // 428 (RFC 6585), not a malformed request.
        if e.name.eq_ignore_ascii_case("if-match")
            && explain_parameter_failure(&e.reason).0 == "required"
        {
            precondition_required(e.name)
        } else {
            parameter_problem(e.name, &e.reason)
        }
    } else if let Some(e) = error.downcast_ref::<ParsePathError>() {
        parameter_problem(&path_parameter_name(e.name, path, templates), &e.reason)
    } else if let Some(e) = error.downcast_ref::<ParseRequestPayloadError>() {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed-body",
            format!("the request body is invalid: {}", e.reason),
        )
    } else if let Some(e) = error.downcast_ref::<ContentTypeError>() {
        let detail = match e {
            ContentTypeError::NotSupported { content_type } => {
                format!("the request body must be `application/json`, not `{content_type}`")
            }
            ContentTypeError::ExpectContentType => {
                "the request has a body but no `Content-Type` header; send `application/json`"
                    .to_owned()
            }
        };
        Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            detail,
        )
    } else if error.is::<NotFoundError>() {
        Problem::new(
            StatusCode::NOT_FOUND,
            "no-such-route",
            "no operation of this API has this path",
        )
    } else if error.is::<MethodNotAllowedError>() {
        Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "this path does not support this method",
        )
    } else if let Some(ReadBodyError::PayloadTooLarge) = error.downcast_ref::<ReadBodyError>() {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "the request body is too large",
        )
    } else {
        let status = error.status();
        if status.is_server_error() {
            tracing::error!(error = %error, "request failed");
            Problem::new(
                status,
                "internal",
                "the server failed to handle this request; the request id identifies it in the logs",
            )
        } else {
            Problem::new(status, "request-rejected", error.to_string())
        }
    };
    problem.for_request(request_id)
}

/// Whether a concrete path (`/v1/users/42`) fits a template (`/v1/users/{userId}`).
fn template_matches(template: &str, path: &str) -> bool {
    let parts: Vec<&str> = template.split('/').collect();
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    parts.len() == segments.len()
        && parts
            .iter()
            .zip(&segments)
            .all(|(p, s)| p.starts_with('{') || p == s)
}

/// `param1` → the second `{variable}` of the template that matches `path`.
fn path_parameter_name(internal: &str, path: &str, templates: &[&str]) -> String {
    let Some(index) = internal
        .strip_prefix("param")
        .and_then(|n| n.parse::<usize>().ok())
    else {
        return internal.to_owned();
    };
    templates
        .iter()
        .find(|template| template_matches(template, path))
        .and_then(|template| {
            template
                .split('/')
                .filter_map(|p| p.strip_prefix('{').and_then(|p| p.strip_suffix('}')))
                .nth(index)
        })
        .map_or_else(|| internal.to_owned(), str::to_owned)
}

/// The `Allow` header a 405 must carry (RFC 9110 §15.5.6): the methods the
/// contract declares for this path, from `(METHOD, template)` pairs.
pub fn allowed_methods(path: &str, operations: &[(&str, &str, &str)]) -> Option<String> {
    let methods: Vec<&str> = operations
        .iter()
        .filter(|(_, template, _)| template_matches(template, path))
        .map(|(method, _, _)| *method)
        .collect();
    (!methods.is_empty()).then(|| methods.join(", "))
}

/// The operationId a request is for, from the generated `OPERATIONS`
/// (`(METHOD, path template, operationId)`); where templates overlap, the one
/// with fewer `{variables}` wins, as in routing.
pub fn operation_of(
    method: &str,
    path: &str,
    operations: &[(&'static str, &'static str, &'static str)],
) -> Option<&'static str> {
    operations
        .iter()
        .filter(|(m, template, _)| {
            m.eq_ignore_ascii_case(method) && template_matches(template, path)
        })
        .min_by_key(|(_, template, _)| template.matches('{').count())
        .map(|(_, _, id)| *id)
}

fn precondition_required(header: &str) -> Problem {
    let detail = format!(
        "the `{header}` header is required: send the `ETag` of the version you are changing"
    );
    let mut problem = Problem::new(
        StatusCode::PRECONDITION_REQUIRED,
        "precondition-required",
        detail,
    );
    problem.errors = vec![FieldError::parameter(
        header,
        "required",
        "is required".to_owned(),
    )];
    problem
}

fn parameter_problem(name: &str, reason: &str) -> Problem {
    let (code, why) = explain_parameter_failure(reason);
    let detail = format!("parameter `{name}` {why}");
    let mut problem = Problem::new(StatusCode::BAD_REQUEST, "invalid-parameter", detail.clone());
    problem.errors = vec![FieldError::parameter(name, code, why)];
    problem
}

/// poem-openapi's reasons read like `failed to parse "integer(int32)": invalid digit
/// found in string` or `verification failed. maximum(100, exclusive: false)`.
fn explain_parameter_failure(reason: &str) -> (&'static str, String) {
    if reason.contains("is required")
        || reason.contains("missing")
        || reason.contains("expects an input value")
    {
        return ("required", "is required".to_owned());
    }
    // Also inside a parse failure: `Matching` checks its pattern as it parses.
    if let Some((_, rule)) = reason.split_once("verification failed. ") {
        let code = if rule.starts_with("max_length") || rule.starts_with("min_length") {
            "length"
        } else if rule.starts_with("pattern") {
            "regex"
        } else {
            "range"
        };
        return (
            code,
            format!("breaks the rule {}", rule.replace(", exclusive: false", "")),
        );
    }
    if let Some((ty, why)) = reason
        .strip_prefix("failed to parse \"")
        .and_then(|rest| rest.split_once("\": "))
    {
        let why = why.split(" (occurred while parsing").next().unwrap_or(why);
        return ("type", format!("must be {}: {why}", describe_type(ty)));
    }
    ("type", format!("is invalid: {reason}"))
}

/// poem-openapi's type names (`optional_integer_int32`) in words.
fn describe_type(ty: &str) -> &str {
    match ty.trim_start_matches("optional_") {
        "integer_int32" | "integer_int64" | "integer_uint32" | "integer_uint64" | "integer" => {
            "an integer"
        }
        "string_uuid" => "a UUID",
        "string_date-time" => "an RFC 3339 date-time (e.g. 2026-01-31T12:00:00Z)",
        "string_date" => "an RFC 3339 date (e.g. 2026-01-31)",
        "boolean" => "true or false",
        "number_double" | "number_float" | "number" => "a number",
        other => other,
    }
}

/// [`problem_from_error`] as a response, with the headers the error calls for
/// (`WWW-Authenticate` on 401 and 403).
pub fn response_from_error(
    error: &poem::Error,
    request_id: &RequestId,
    path: &str,
    templates: &[&str],
) -> Response {
    let mut response = problem_from_error(error, request_id, path, templates).into_response();
    if let Some(rejected) = error.downcast_ref::<AuthRejected>()
        && let Ok(value) = poem::http::HeaderValue::from_str(&rejected.challenge)
        && !rejected.challenge.is_empty()
    {
        response.headers_mut().insert("www-authenticate", value);
    }
    response
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        Problem::into_response(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_405_lists_the_declared_methods() {
        let operations = [
            ("GET", "/v1/users", "listUsers"),
            ("POST", "/v1/users", "createUser"),
            ("GET", "/v1/users/{userId}", "getUser"),
        ];
        assert_eq!(
            allowed_methods("/v1/users", &operations).as_deref(),
            Some("GET, POST")
        );
        assert_eq!(
            allowed_methods("/v1/users/7", &operations).as_deref(),
            Some("GET")
        );
        assert_eq!(allowed_methods("/nowhere", &operations), None);
    }

    #[test]
    fn a_request_is_named_by_its_operation() {
        let operations = [
            ("GET", "/v1/users/{userId}", "getUser"),
            ("GET", "/v1/users/me", "getMe"),
            ("POST", "/v1/users", "createUser"),
        ];
        assert_eq!(
            operation_of("GET", "/v1/users/7", &operations),
            Some("getUser")
        );
        assert_eq!(
            operation_of("GET", "/v1/users/me", &operations),
            Some("getMe")
        );
        assert_eq!(
            operation_of("post", "/v1/users/", &operations),
            Some("createUser")
        );
        assert_eq!(operation_of("DELETE", "/v1/users/7", &operations), None);
    }

    #[test]
    fn path_parameters_get_their_contract_names() {
        let templates = [
            "/v1/users",
            "/v1/users/{userId}",
            "/v1/orders/{orderId}/lines/{lineId}",
        ];
        assert_eq!(
            path_parameter_name("param0", "/v1/users/xyz", &templates),
            "userId"
        );
        assert_eq!(
            path_parameter_name("param1", "/v1/orders/1/lines/2", &templates),
            "lineId"
        );
        assert_eq!(
            path_parameter_name("param0", "/elsewhere/1", &templates),
            "param0"
        );
    }

    #[test]
    fn parse_failures_read_as_words() {
        let (code, why) = explain_parameter_failure(
            "failed to parse \"integer_int32\": invalid digit found in string (occurred while parsing \"optional_integer_int32\")",
        );
        assert_eq!(code, "type");
        assert_eq!(why, "must be an integer: invalid digit found in string");
    }
}
