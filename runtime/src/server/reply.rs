use poem::{IntoResponse, Response};
use poem_openapi::ResponseContent;
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaMediaType, MetaSchema, MetaSchemaRef, Registry};
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

/// The body of a response the contract declares without `content` under a
/// status poem-openapi cannot describe bare (`default`: its derive wants a
/// body beside the status). No media types, an empty body.
pub struct NoBody;

impl ResponseContent for NoBody {
    fn media_types() -> Vec<MetaMediaType> {
        Vec::new()
    }
}

impl IntoResponse for NoBody {
    fn into_response(self) -> Response {
        Response::builder().body(poem::Body::empty())
    }
}

/// The media types, other than JSON, a response may be sent in as bytes:
/// implemented by a marker type the generator writes per response.
pub trait BytesMedia: Send {
    const TYPES: &'static [&'static str];
}

/// A response body in JSON or in bytes of one of `M`'s media types, as the
/// service chose: the `Content-Type` is the chosen one.
pub struct JsonOrBytesReply<T, M>(pub crate::JsonOrBytes<T>, std::marker::PhantomData<M>);

impl<T, M> JsonOrBytesReply<T, M> {
    pub fn new(body: crate::JsonOrBytes<T>) -> Self {
        Self(body, std::marker::PhantomData)
    }
}

impl<T: Type, M: BytesMedia> ResponseContent for JsonOrBytesReply<T, M> {
    fn media_types() -> Vec<MetaMediaType> {
        let mut media = vec![MetaMediaType {
            content_type: "application/json",
            schema: T::schema_ref(),
        }];
        media.extend(M::TYPES.iter().map(|content_type| MetaMediaType {
            content_type,
            schema: MetaSchemaRef::Inline(Box::new(MetaSchema {
                format: Some("binary"),
                ..MetaSchema::new("string")
            })),
        }));
        media
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Serialize + Send, M: BytesMedia> IntoResponse for JsonOrBytesReply<T, M> {
    fn into_response(self) -> Response {
        match self.0 {
            crate::JsonOrBytes::Json(value) => JsonReply(value).into_response(),
            crate::JsonOrBytes::Bytes { content_type, body } => {
                let essence = crate::media::essence(&content_type);
                if !M::TYPES.contains(&essence.as_str()) {
                    // The contract does not declare it for this response: a bug in the service.
                    tracing::error!(%content_type, declared = ?M::TYPES, "response media type not declared");
                    return poem::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
                }
                Response::builder().content_type(&content_type).body(body)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::JsonOrBytes;

    struct Csv;
    impl BytesMedia for Csv {
        const TYPES: &'static [&'static str] = &["text/csv"];
    }

    fn reply(body: JsonOrBytes<Vec<u32>>) -> Response {
        JsonOrBytesReply::<Vec<u32>, Csv>::new(body).into_response()
    }

    #[test]
    fn the_chosen_media_type_is_the_content_type() {
        let json = reply(JsonOrBytes::Json(vec![1, 2]));
        assert_eq!(json.content_type(), Some("application/json"));
        let csv = reply(JsonOrBytes::Bytes {
            content_type: "text/csv; charset=utf-8".into(),
            body: b"a\n".to_vec(),
        });
        assert_eq!(csv.status(), 200);
        assert_eq!(csv.content_type(), Some("text/csv; charset=utf-8"));
        // A media type the contract does not declare for the response is a bug.
        let png = reply(JsonOrBytes::Bytes {
            content_type: "image/png".into(),
            body: vec![0],
        });
        assert_eq!(png.status(), 500);
        let media: Vec<&str> = <JsonOrBytesReply<Vec<u32>, Csv> as ResponseContent>::media_types()
            .iter()
            .map(|m| m.content_type)
            .collect();
        assert_eq!(media, ["application/json", "text/csv"]);
    }
}
