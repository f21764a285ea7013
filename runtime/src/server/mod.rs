//! What generated server code stands on: the context a handler receives, the JSON
//! body extractor, and the translation of every rejection into problem+json.

mod auth;
mod body;
mod context;
mod delimited;
pub mod object;
mod pattern;
mod problem;
mod reply;
pub mod schema;
mod text_header;

pub use auth::{
    ApiKey, ApiKeyVerifier, AuthRejected, Bearer, InvalidToken, KeyIn, RequiredKey, RequiredScopes,
    TokenVerifier, authenticate, oauth2_scheme,
};
pub use body::{
    BytesBody, FormBody, JsonBody, MultipartBody, OptionalFormBody, OptionalJsonBody,
    OptionalMultipartBody, XmlBody,
};
pub use context::{Headers, Principal, RequestContext, RequestId};
pub use delimited::{CommaSeparated, JoinedQuery, styled};
pub use pattern::{Matching, StringPattern};
pub use problem::{
    FieldError, Problem, allowed_methods, operation_of, problem_from_error, response_from_error,
};
/// For the generated `StringPattern`s: the server crate needs no `regex` of its own.
pub use regex::Regex;
pub use reply::{BytesMedia, JsonOrBytesReply, JsonReply, NoBody};
pub use text_header::{HeaderText, TextHeader};

/// Names the operation on the current request span, so logs carry the route
/// template (`/v1/users/{userId}`) rather than the concrete path.
///
/// The application's request span must declare the `operation` and `route` fields.
pub fn record_operation(operation_id: &'static str, route: &'static str) {
    let span = tracing::Span::current();
    span.record("operation", operation_id);
    span.record("route", route);
}
