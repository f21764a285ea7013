//! The generator's own model of a contract: only what codegen needs, already
//! resolved (`$ref`s to parameters, responses and headers inlined) and the same
//! for OpenAPI 3.0 and 3.1 (`nullable: true` and `type: [T, "null"]` both become
//! `Schema::nullable`).

use serde_json::Value;

#[derive(Debug)]
pub struct Api {
    pub title: String,
    pub version: String,
    pub tags: Vec<Tag>,
    /// Component schemas and hoisted inline schemas, sorted by name.
    pub schemas: Vec<NamedSchema>,
    /// In document order: paths as written, methods in a fixed order.
    pub operations: Vec<Operation>,
    /// Component schemas marked `x-keel-event`: the payloads of domain events,
    /// sorted by name and version.
    pub events: Vec<Event>,
    /// `components.securitySchemes`, by name.
    pub security_schemes: Vec<SecurityScheme>,
}

/// A domain event: its payload is the object schema `schema`; `name` and
/// `version` travel beside it (the AMQP routing key is `{name}.v{version}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub name: String,
    pub version: u32,
    pub schema: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SecurityScheme {
    pub name: String,
    pub kind: SchemeKind,
}

/// With `Bearer` and `OAuth2` the caller sends `Authorization: Bearer <token>`
/// and the token carries scopes (`oauth2` also says where clients get tokens);
/// with `ApiKey`, a key where the scheme says.
#[derive(Debug, Clone, PartialEq)]
pub enum SchemeKind {
    /// `type: http, scheme: bearer`.
    Bearer,
    /// `type: oauth2`, its flows in the order implicit, password,
    /// clientCredentials, authorizationCode.
    OAuth2(Vec<OAuthFlow>),
    /// `type: apiKey`: a key in the header, query parameter or cookie `name`.
    ApiKey { name: String, location: Location },
}

#[derive(Debug, Clone, PartialEq)]
pub struct OAuthFlow {
    /// `implicit`, `password`, `clientCredentials` or `authorizationCode`.
    pub kind: &'static str,
    pub authorization_url: Option<String>,
    pub token_url: Option<String>,
    pub refresh_url: Option<String>,
    /// Scope names and their descriptions, as declared.
    pub scopes: Vec<(String, String)>,
}

impl SchemeKind {
    pub const FLOWS: [&'static str; 4] = [
        "implicit",
        "password",
        "clientCredentials",
        "authorizationCode",
    ];
}

#[derive(Debug)]
pub struct Tag {
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NamedSchema {
    /// The Rust and TypeScript type name (PascalCase).
    pub name: String,
    pub description: Option<String>,
    pub kind: SchemaKind,
}

#[derive(Debug, Clone)]
pub enum SchemaKind {
    Object(ObjectSchema),
    StringEnum(Vec<String>),
    /// `type: integer` with an `enum`.
    IntEnum(Vec<i64>),
    /// `oneOf` over named object schemas.
    Union(UnionSchema),
    /// An array or primitive under a name of its own (`Pets: {type: array, …}`).
    Alias(Schema),
}

#[derive(Debug, Clone)]
pub struct UnionSchema {
    pub variants: Vec<UnionVariant>,
    /// The property that names the variant (`discriminator.propertyName`); `None`
    /// for an untagged `oneOf`, decided by which variant the value fits.
    pub discriminator: Option<String>,
    /// `anyOf` rather than `oneOf`: a value may fit several variants. Decoding
    /// takes the first that fits either way; only documentation and response
    /// checks tell the two apart.
    pub any_of: bool,
}

#[derive(Debug, Clone)]
pub struct UnionVariant {
    /// A named object schema.
    pub schema: String,
    /// The discriminator's value for this variant.
    pub tag: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ObjectSchema {
    pub fields: Vec<Field>,
    /// `additionalProperties: false`: unknown properties are rejected.
    pub deny_unknown: bool,
    /// `additionalProperties: <schema>` beside `properties`: any other property,
    /// with values of this schema.
    pub additional: Option<Box<Schema>>,
    /// `oneOf`/`anyOf` beside `properties`: the named union (`{Name}OneOf`,
    /// `{Name}AnyOf`) whose variant's properties sit beside the object's own
    /// in the same JSON object (ADR 21). Its discriminator, if any, is the
    /// union's, not one of `fields`.
    pub union: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Field {
    pub json_name: String,
    pub required: bool,
    pub schema: Schema,
    /// `readOnly`: sent by the server only. The loader splits schemas with such
    /// fields into a response shape and an `…Input` request shape, so generators
    /// never see these flags set.
    pub read_only: bool,
    /// `writeOnly`: sent by clients only.
    pub write_only: bool,
}

/// A schema in a position (property, parameter, item, header): its type plus the
/// constraints and annotations that apply there.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    pub ty: Type,
    pub nullable: bool,
    pub rules: Rules,
    pub description: Option<String>,
    pub default: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    Named(String),
    String(StringFormat),
    Integer(IntFormat),
    Number(NumberFormat),
    Boolean,
    Array(Box<Schema>),
    /// An object used as a dictionary: `additionalProperties: <schema>` and no
    /// `properties`. Keys are strings.
    Map(Box<Schema>),
    /// Any JSON value: a schema without `type`, or the values of a free-form
    /// object (`type: object` without `properties`, which is a `Map` of these).
    Any,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringFormat {
    Plain,
    Uuid,
    DateTime,
    Date,
    Email,
    Uri,
    /// `format: byte`: base64 on the wire, bytes in Rust.
    Byte,
    /// `format: binary`: a file, as a part of a `multipart/form-data` body.
    /// JSON cannot carry raw bytes, so the loader allows it nowhere else.
    Binary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntFormat {
    Int32,
    Int64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberFormat {
    Float,
    Double,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rules {
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub pattern: Option<String>,
    pub minimum: Option<Bound>,
    pub maximum: Option<Bound>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bound {
    pub value: f64,
    pub exclusive: bool,
}

#[derive(Debug)]
pub struct Operation {
    pub id: String,
    pub method: Method,
    /// As in the contract: `/v1/users/{userId}`.
    pub path: String,
    pub tag: String,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub params: Vec<Param>,
    pub body: Option<Body>,
    pub responses: Vec<Response>,
    pub security: Security,
}

impl Operation {
    /// The path parameter a `{name}` segment of the path stands for.
    pub fn path_param(&self, name: &str) -> &Param {
        self.params
            .iter()
            .find(|p| p.location == Location::Path && p.name == name)
            .expect("the loader checked path variables")
    }
}

/// Who may call an operation. There is no default: an operation is public only
/// when the contract says `security: []`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Security {
    Public,
    /// A bearer token carrying every one of these scopes.
    Bearer {
        /// The name of the scheme in `components.securitySchemes`.
        scheme: String,
        scopes: Vec<String>,
    },
    /// A key of this `apiKey` scheme (whose requirements name no scopes).
    ApiKey {
        scheme: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Put,
    Post,
    Delete,
    Patch,
}

impl Method {
    pub const ALL: [Method; 5] = [
        Method::Get,
        Method::Put,
        Method::Post,
        Method::Delete,
        Method::Patch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Put => "put",
            Method::Post => "post",
            Method::Delete => "delete",
            Method::Patch => "patch",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub location: Location,
    pub required: bool,
    pub schema: Schema,
    pub description: Option<String>,
    /// For an array in the query: one `name=value` pair per item (`explode`,
    /// the default for `form`) or one pair with the items joined (by commas,
    /// or the `style`'s delimiter). In a `label` or `matrix` path parameter:
    /// items after a `.` each, or `;name=` each. Other arrays in a path, header
    /// or cookie are always joined by commas (`false`).
    pub explode: bool,
    /// `style`, as declared or the location's default (`form` in the query and
    /// cookies, `simple` in paths and headers).
    pub style: Style,
    /// For an object parameter (ADR 23), its properties: scalars and enums,
    /// written as the style says (`form` exploded: each a query pair of its
    /// own; not: `name=k,v,k,v`; `deepObject`: `name[k]=v`; `simple`:
    /// `k,v,k,v`, exploded `k=v,k=v`; `label`/`matrix` after their prefix).
    /// `explode` says which for objects too.
    pub object: Option<Vec<Field>>,
}

impl Param {
    pub fn is_array(&self) -> bool {
        matches!(self.schema.ty, Type::Array(_))
    }

    /// An object parameter (its properties in [`Param::object`]).
    pub fn is_object(&self) -> bool {
        self.object.is_some()
    }

    /// What joins the items of an array sent as one value (`explode: false`):
    /// a space for `spaceDelimited`, `|` for `pipeDelimited`, else a comma.
    pub fn delimiter(&self) -> char {
        match self.style {
            Style::SpaceDelimited => ' ',
            Style::PipeDelimited => '|',
            Style::Form | Style::Simple | Style::Label | Style::Matrix | Style::DeepObject => ',',
        }
    }
}

/// The `style`s the generator writes and reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Form,
    Simple,
    /// A query array with `explode: false`, items joined by spaces.
    SpaceDelimited,
    /// A query array with `explode: false`, items joined by `|`.
    PipeDelimited,
    /// A path parameter after a dot (`.5`; arrays `.a,b`, exploded `.a.b`).
    Label,
    /// A path parameter as `;name=value` (arrays `;name=a,b`, exploded
    /// `;name=a;name=b`).
    Matrix,
    /// A query object as `name[property]=value` pairs (exploded only).
    DeepObject,
}

impl Style {
    pub fn as_str(self) -> &'static str {
        match self {
            Style::Form => "form",
            Style::Simple => "simple",
            Style::SpaceDelimited => "spaceDelimited",
            Style::PipeDelimited => "pipeDelimited",
            Style::Label => "label",
            Style::Matrix => "matrix",
            Style::DeepObject => "deepObject",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Path,
    Query,
    Header,
    Cookie,
}

#[derive(Debug)]
pub struct Body {
    pub schema: Schema,
    pub description: Option<String>,
    /// The media types the body may be sent as, in the contract's order; every
    /// one has the same schema. Clients send JSON when it is offered.
    pub media: Vec<BodyMedia>,
    /// `required: true`; an optional body may be left out (JSON only).
    pub required: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyMedia {
    Json,
    /// `application/x-www-form-urlencoded`, arrays as repeated keys.
    Form,
    /// `multipart/form-data`: one part per property (arrays as repeated
    /// parts), files as `format: binary`, objects as JSON parts.
    Multipart,
    /// `application/octet-stream`: the body is the bytes of one file
    /// (`type: string, format: binary`).
    Binary,
    /// `application/xml`, beside JSON, form or multipart: the service gets
    /// the bytes (`JsonOrBytes::Bytes`), as Keel has no XML codec; the
    /// contract's schema for it documents them.
    Xml,
}

impl BodyMedia {
    pub fn content_type(self) -> &'static str {
        match self {
            BodyMedia::Json => "application/json",
            BodyMedia::Form => "application/x-www-form-urlencoded",
            BodyMedia::Multipart => "multipart/form-data",
            BodyMedia::Binary => "application/octet-stream",
            BodyMedia::Xml => "application/xml",
        }
    }
}

impl Body {
    /// What a client sends when the body is typed: JSON if offered, else the
    /// first that is not XML (an XML body is bytes the caller brings).
    pub fn preferred(&self) -> BodyMedia {
        if self.media.contains(&BodyMedia::Json) {
            BodyMedia::Json
        } else {
            self.media
                .iter()
                .copied()
                .find(|m| *m != BodyMedia::Xml)
                .unwrap_or(self.media[0])
        }
    }

    /// Whether the body may also be XML: then it is `JsonOrBytes<T>` in
    /// Rust, typed or the XML's bytes.
    pub fn has_xml(&self) -> bool {
        self.media.contains(&BodyMedia::Xml)
    }
}

impl Api {
    /// The schemas sent as `multipart/form-data` bodies: the types that
    /// convert to and from parts.
    pub fn multipart_schemas(&self) -> std::collections::BTreeSet<&str> {
        self.operations
            .iter()
            .filter_map(|op| op.body.as_ref())
            .filter(|b| b.media.contains(&BodyMedia::Multipart))
            .filter_map(|b| match &b.schema.ty {
                Type::Named(name) => Some(name.as_str()),
                _ => None,
            })
            .collect()
    }
}

impl Api {
    /// The union schema of that name.
    pub fn union(&self, name: &str) -> Option<&UnionSchema> {
        self.schemas.iter().find_map(|s| match &s.kind {
            SchemaKind::Union(union) if s.name == name => Some(union),
            _ => None,
        })
    }
}

impl ObjectSchema {
    /// Whether a property is a file or a list of files (`format: binary`):
    /// such an object travels as multipart only.
    pub fn has_files(&self) -> bool {
        self.fields.iter().any(|f| f.schema.is_file())
    }
}

impl Schema {
    /// Raw bytes as a whole body: `format: binary` itself, not in an object.
    pub fn is_bytes(&self) -> bool {
        self.ty == Type::String(StringFormat::Binary)
    }

    /// A file (`format: binary`) or an array of files.
    pub fn is_file(&self) -> bool {
        match &self.ty {
            Type::String(StringFormat::Binary) => true,
            Type::Array(items) => items.ty == Type::String(StringFormat::Binary),
            _ => false,
        }
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: Status,
    pub description: String,
    /// The media type and its schema, when the response has a body.
    pub content: Option<(String, Schema)>,
    /// When the response is in several media types: `content` is the JSON
    /// one, and these the other media types, whose body is bytes
    /// (`format: binary`). The service chooses one per response.
    pub bytes_media: Vec<String>,
    pub headers: Vec<Header>,
    /// The media type's `example` (or its first `examples` entry), for the mock.
    pub example: Option<serde_json::Value>,
}

/// Which responses a [`Response`] describes. Sorted, exact codes come before
/// `default`, which is the order a client matches them in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Code(u16),
    /// A class of statuses: `4` for `4XX`.
    Range(u8),
    /// `default`: any status the operation does not declare otherwise. The
    /// generated code carries the actual status beside the body.
    Default,
}

impl Status {
    pub fn code(self) -> Option<u16> {
        match self {
            Status::Code(code) => Some(code),
            Status::Range(_) | Status::Default => None,
        }
    }

    /// Whether the actual status is not in the contract but in the response:
    /// true for ranges and `default`, whose generated types carry it.
    pub fn carries_status(self) -> bool {
        !matches!(self, Status::Code(_))
    }

    /// Whether the response is a success (2xx). `default` conventionally
    /// describes errors, and is treated as one.
    pub fn is_success(self) -> bool {
        matches!(self, Status::Code(200..=299) | Status::Range(2))
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Code(code) => write!(f, "{code}"),
            Status::Range(class) => write!(f, "{class}XX"),
            Status::Default => f.write_str("default"),
        }
    }
}

#[derive(Debug)]
pub struct Header {
    pub name: String,
    pub required: bool,
    pub schema: Schema,
    pub description: Option<String>,
}
