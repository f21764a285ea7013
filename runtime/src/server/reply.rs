use poem::{IntoResponse, Response};
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use serde::Serialize;

/// A JSON response body, written by serde.
///
/// The counterpart of [`JsonBody`](super::JsonBody): serde encodes what serde
/// decodes on the client, and poem-openapi only documents the schema.
pub struct JsonReply<T>(pub T);

impl<T: Type> Payload for JsonReply<T> {
    const CONTENT_TYPE: &'static str = "application/json";

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Serialize + Send> IntoResponse for JsonReply<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => Response::builder()
                .content_type(Self::CONTENT_TYPE_STR)
                .body(body),
            Err(error) => {
                // Only a map with non-string keys or a failing Serialize impl gets here:
                // a bug in a DTO, not in the request.
                tracing::error!(%error, "response body failed to serialize");
                poem::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}

impl<T> JsonReply<T> {
    const CONTENT_TYPE_STR: &'static str = "application/json";
}
