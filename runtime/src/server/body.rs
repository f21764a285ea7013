use poem::{FromRequest, Request, RequestBody};
use poem_openapi::error::ContentTypeError;
use poem_openapi::impl_apirequest_for_payload;
use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{MetaMediaType, MetaRequest, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};
use serde::de::DeserializeOwned;
use validator::Validate;

use super::problem::{BodyRejected, FieldError};
use crate::multipart::{File, MultipartForm, Part, Parts};
use crate::validate::{escape_pointer_token, violations};

/// A JSON request body, parsed by serde and checked by the type's `Validate` impl.
///
/// poem-openapi's own `Json<T>` parses with its `ParseFromJSON` derive, a second
/// parser beside serde whose messages name no field. Here serde is the one parser
/// (the same one the Rust client uses) and poem-openapi only documents the schema.
pub struct JsonBody<T>(pub T);

impl<T: Type> Payload for JsonBody<T> {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        matches!(content_type.parse::<mime::Mime>(), Ok(mime)
            if mime.type_() == "application"
                && (mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json")))
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + DeserializeOwned + Validate + Send> ParsePayload for JsonBody<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let bytes = <Vec<u8> as FromRequest>::from_request(request, body).await?;
        if bytes.is_empty() {
            return Err(BodyRejected::malformed(
                "the request body is empty; a JSON document is required".to_owned(),
            )
            .into());
        }
        let value: T = parse(&bytes)?;
        validated(&value)?;
        Ok(JsonBody(value))
    }
}

impl_apirequest_for_payload!(JsonBody<T>, T: Type + DeserializeOwned + Validate + Send);

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BodyRejected> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = match serde_path_to_error::deserialize(&mut deserializer) {
        Ok(value) => value,
        Err(error) if error.inner().is_data() => {
            // JSON Schema counts `2.0` as an integer; serde does not. The rare
            // body that writes one so is read again with such numbers as
            // integers, so the common path pays nothing for it.
            let Ok(mut document) = serde_json::from_slice::<serde_json::Value>(bytes) else {
                return Err(rejection(error));
            };
            if !integers_from_integral_floats(&mut document) {
                return Err(rejection(error));
            }
            return serde_path_to_error::deserialize(document).map_err(|_| rejection(error));
        }
        Err(error) => return Err(rejection(error)),
    };
    deserializer.end().map_err(|trailing| {
        BodyRejected::malformed(format!("the request body is not valid JSON: {trailing}"))
    })?;
    Ok(value)
}

/// Rewrites every number with no fractional part (`2.0`) as an integer;
/// whether it changed any.
fn integers_from_integral_floats(value: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::Number(number) if number.is_f64() => {
            let float = number.as_f64().unwrap_or(f64::NAN);
            let integral = float.fract() == 0.0 && float.abs() < 9.0e15;
            if integral {
                *value = Value::from(float as i64);
            }
            integral
        }
        Value::Array(items) => items.iter_mut().fold(false, |changed, item| {
            integers_from_integral_floats(item) | changed
        }),
        Value::Object(members) => members.values_mut().fold(false, |changed, item| {
            integers_from_integral_floats(item) | changed
        }),
        _ => false,
    }
}

fn rejection(error: serde_path_to_error::Error<serde_json::Error>) -> BodyRejected {
    let inner = error.inner();
    if !inner.is_data() {
        // Syntax errors and truncated input: there is no field to point at.
        return BodyRejected::malformed(format!("the request body is not valid JSON: {inner}"));
    }
    let mut pointer = pointer_of(error.path());
    let message = inner.to_string();
    let code = if let Some(field) = quoted_after(&message, "missing field `") {
        pointer.push('/');
        pointer.push_str(&escape_pointer_token(field));
        "required"
    } else if message.starts_with("unknown field `") {
        // The path already ends at the unknown property.
        "unknown"
    } else {
        "type"
    };
    let detail = if code == "required" {
        "is required".to_owned()
    } else {
        strip_position(&message).to_owned()
    };
    BodyRejected::invalid(vec![FieldError::body(pointer, code.to_owned(), detail)])
}

/// serde_path_to_error's path (`items[1].name`) as a JSON pointer (`/items/1/name`).
fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                pointer.push('/');
                pointer.push_str(&escape_pointer_token(key));
            }
            Segment::Unknown => pointer.push_str("/?"),
        }
    }
    pointer
}

/// `missing field `email`` → `email`.
fn quoted_after<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    let rest = message.strip_prefix(prefix)?;
    rest.split('`').next()
}

/// serde_json appends " at line 1 column 7"; the pointer already says where.
fn strip_position(message: &str) -> &str {
    message
        .rsplit_once(" at line ")
        .map_or(message, |(head, _)| head)
}

/// An `application/x-www-form-urlencoded` request body: decoded by serde
/// (serde_html_form, which reads a repeated key as an array, as OpenAPI's
/// default `form` encoding writes one) and checked like a JSON body.
pub struct FormBody<T>(pub T);

impl<T: Type> Payload for FormBody<T> {
    const CONTENT_TYPE: &'static str = "application/x-www-form-urlencoded";

    fn check_content_type(content_type: &str) -> bool {
        matches!(content_type.parse::<mime::Mime>(), Ok(mime)
            if mime.type_() == "application" && mime.subtype() == "x-www-form-urlencoded")
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + DeserializeOwned + Validate + Send> ParsePayload for FormBody<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let bytes = <Vec<u8> as FromRequest>::from_request(request, body).await?;
        let value: T = serde_html_form::from_bytes(&bytes).map_err(|e| {
            BodyRejected::invalid(vec![FieldError::body(
                String::new(),
                "type".to_owned(),
                format!("the form is invalid: {e}"),
            )])
        })?;
        validated(&value)?;
        Ok(FormBody(value))
    }
}

impl_apirequest_for_payload!(FormBody<T>, T: Type + DeserializeOwned + Validate + Send);

/// An optional `application/x-www-form-urlencoded` request body
/// (`requestBody.required: false`): no body, or an empty one, is `None` (an
/// empty form and no form cannot be told apart); anything else is read and
/// checked like a [`FormBody`].
pub struct OptionalFormBody<T>(pub Option<T>);

impl<T: Type> Payload for OptionalFormBody<T> {
    const CONTENT_TYPE: &'static str = "application/x-www-form-urlencoded";

    fn check_content_type(content_type: &str) -> bool {
        FormBody::<T>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + DeserializeOwned + Validate + Send> ParsePayload for OptionalFormBody<T> {
    const IS_REQUIRED: bool = false;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let bytes = <Vec<u8> as FromRequest>::from_request(request, body).await?;
        if bytes.is_empty() {
            return Ok(OptionalFormBody(None));
        }
        let value: T = serde_html_form::from_bytes(&bytes).map_err(|e| {
            BodyRejected::invalid(vec![FieldError::body(
                String::new(),
                "type".to_owned(),
                format!("the form is invalid: {e}"),
            )])
        })?;
        validated(&value)?;
        Ok(OptionalFormBody(Some(value)))
    }
}

/// As for [`OptionalJsonBody`]: a request without `Content-Type` and without
/// a body leaves the form out.
impl<'a, T: Type + DeserializeOwned + Validate + Send> ApiExtractor<'a> for OptionalFormBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: "application/x-www-form-urlencoded",
                schema: T::schema_ref(),
            }],
            required: false,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<()>,
    ) -> poem::Result<Self> {
        match request.content_type() {
            Some(content_type) if Self::check_content_type(content_type) => {
                <Self as ParsePayload>::from_request(request, body).await
            }
            Some(content_type) => Err(ContentTypeError::NotSupported {
                content_type: content_type.to_owned(),
            }
            .into()),
            None => {
                let bytes = <Vec<u8> as FromRequest>::from_request(request, body).await?;
                if bytes.is_empty() {
                    Ok(OptionalFormBody(None))
                } else {
                    Err(ContentTypeError::ExpectContentType.into())
                }
            }
        }
    }
}

/// A `multipart/form-data` request body: the parts go to the type's
/// `MultipartForm` impl (the one the Rust client sends with), then its rules
/// are checked as for JSON. poem-openapi documents the schema the contract
/// gives the type.
pub struct MultipartBody<T>(pub T);

impl<T: Type> Payload for MultipartBody<T> {
    const CONTENT_TYPE: &'static str = "multipart/form-data";

    fn check_content_type(content_type: &str) -> bool {
        matches!(content_type.parse::<mime::Mime>(), Ok(mime)
            if mime.type_() == "multipart" && mime.subtype() == "form-data")
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + MultipartForm + Validate + Send> ParsePayload for MultipartBody<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        fn malformed(e: impl std::fmt::Display) -> BodyRejected {
            BodyRejected::malformed(format!("the multipart body is malformed: {e}"))
        }
        let mut multipart = <poem::web::Multipart as FromRequest>::from_request(request, body)
            .await
            .map_err(malformed)?;
        let mut parts = Vec::new();
        while let Some(field) = multipart.next_field().await.map_err(malformed)? {
            // A part without a name belongs to no property.
            let Some(name) = field.name().map(str::to_owned) else {
                continue;
            };
            let file_name = field.file_name().map(str::to_owned);
            let content_type = field.content_type().map(str::to_owned);
            let bytes = field.bytes().await.map_err(malformed)?;
            parts.push(Part {
                name,
                content: File {
                    file_name,
                    content_type,
                    bytes,
                },
            });
        }
        let value = T::from_parts(Parts::new(parts)).map_err(|e| {
            BodyRejected::invalid(vec![FieldError::body(
                e.pointer,
                e.code.to_owned(),
                e.message,
            )])
        })?;
        validated(&value)?;
        Ok(MultipartBody(value))
    }
}

impl_apirequest_for_payload!(MultipartBody<T>, T: Type + MultipartForm + Validate + Send);

/// An `application/octet-stream` request body: the bytes themselves.
/// poem-openapi's own `Binary` takes any content type; this one takes only
/// the one the contract declares, as the other bodies do.
pub struct BytesBody(pub Vec<u8>);

impl Payload for BytesBody {
    const CONTENT_TYPE: &'static str = "application/octet-stream";

    fn check_content_type(content_type: &str) -> bool {
        matches!(content_type.parse::<mime::Mime>(), Ok(mime)
            if mime.type_() == "application" && mime.subtype() == "octet-stream")
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(poem_openapi::registry::MetaSchema {
            format: Some("binary"),
            ..poem_openapi::registry::MetaSchema::new("string")
        }))
    }
}

impl ParsePayload for BytesBody {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        Ok(BytesBody(
            <Vec<u8> as FromRequest>::from_request(request, body).await?,
        ))
    }
}

impl_apirequest_for_payload!(BytesBody);

/// An `application/xml` request body, offered beside JSON or a form: Keel has
/// no XML codec, so the service receives the bytes and the `Content-Type` as
/// sent (`JsonOrBytes::Bytes`) and reads them itself. Only `application/xml`
/// (with parameters such as `charset`) is taken, the one media type declared.
pub struct XmlBody {
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Payload for XmlBody {
    const CONTENT_TYPE: &'static str = "application/xml";

    fn check_content_type(content_type: &str) -> bool {
        matches!(content_type.parse::<mime::Mime>(), Ok(mime)
            if mime.type_() == "application" && mime.subtype() == "xml")
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(poem_openapi::registry::MetaSchema {
            format: Some("binary"),
            ..poem_openapi::registry::MetaSchema::new("string")
        }))
    }
}

impl ParsePayload for XmlBody {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        Ok(XmlBody {
            content_type: request
                .content_type()
                .unwrap_or(Self::CONTENT_TYPE)
                .to_owned(),
            body: <Vec<u8> as FromRequest>::from_request(request, body).await?,
        })
    }
}

impl_apirequest_for_payload!(XmlBody);

/// An optional `multipart/form-data` body (`requestBody.required: false`): a
/// request without `Content-Type` and without a body is `None`; a multipart
/// body is read as by [`MultipartBody`].
pub struct OptionalMultipartBody<T>(pub Option<T>);

impl<'a, T: Type + MultipartForm + Validate + Send> ApiExtractor<'a> for OptionalMultipartBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: "multipart/form-data",
                schema: T::schema_ref(),
            }],
            required: false,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<()>,
    ) -> poem::Result<Self> {
        match request.content_type() {
            Some(content_type) if MultipartBody::<T>::check_content_type(content_type) => {
                let MultipartBody(value) =
                    <MultipartBody<T> as ParsePayload>::from_request(request, body).await?;
                Ok(OptionalMultipartBody(Some(value)))
            }
            Some(content_type) => Err(ContentTypeError::NotSupported {
                content_type: content_type.to_owned(),
            }
            .into()),
            None => {
                let bytes = <Vec<u8> as FromRequest>::from_request(request, body).await?;
                if bytes.is_empty() {
                    Ok(OptionalMultipartBody(None))
                } else {
                    Err(ContentTypeError::ExpectContentType.into())
                }
            }
        }
    }
}

/// The type's own rules, as a 400 listing every violation by JSON pointer.
fn validated<T: Validate>(value: &T) -> Result<(), BodyRejected> {
    match value.validate() {
        Ok(()) => Ok(()),
        Err(errors) => Err(BodyRejected::invalid(
            violations(&errors)
                .into_iter()
                .map(|v| FieldError::body(v.pointer, v.code, v.message))
                .collect(),
        )),
    }
}

/// An optional JSON request body (`requestBody.required: false`): an empty body
/// is `None`; anything else is parsed and checked like a [`JsonBody`].
pub struct OptionalJsonBody<T>(pub Option<T>);

impl<T: Type> Payload for OptionalJsonBody<T> {
    const CONTENT_TYPE: &'static str = "application/json";

    fn check_content_type(content_type: &str) -> bool {
        JsonBody::<T>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + DeserializeOwned + Validate + Send> ParsePayload for OptionalJsonBody<T> {
    const IS_REQUIRED: bool = false;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let bytes = <Vec<u8> as FromRequest>::from_request(request, body).await?;
        if bytes.is_empty() {
            return Ok(OptionalJsonBody(None));
        }
        let value: T = parse(&bytes)?;
        validated(&value)?;
        Ok(OptionalJsonBody(Some(value)))
    }
}

/// poem-openapi's own glue (`impl_apirequest_for_payload!`) refuses a request
/// without `Content-Type`, which is how a client leaves an optional body out.
impl<'a, T: Type + DeserializeOwned + Validate + Send> ApiExtractor<'a> for OptionalJsonBody<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: "application/json",
                schema: T::schema_ref(),
            }],
            required: false,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<()>,
    ) -> poem::Result<Self> {
        match request.content_type() {
            Some(content_type) if Self::check_content_type(content_type) => {
                <Self as ParsePayload>::from_request(request, body).await
            }
            Some(content_type) => Err(ContentTypeError::NotSupported {
                content_type: content_type.to_owned(),
            }
            .into()),
            None => {
                let bytes = <Vec<u8> as FromRequest>::from_request(request, body).await?;
                if bytes.is_empty() {
                    Ok(OptionalJsonBody(None))
                } else {
                    Err(ContentTypeError::ExpectContentType.into())
                }
            }
        }
    }
}
