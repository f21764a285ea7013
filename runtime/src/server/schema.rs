//! How generated types describe themselves to poem-openapi.
//!
//! poem-openapi's derives describe a Rust type by its shape, which cannot say
//! everything the contract says (formats such as `email`, a nullable property
//! that is required, a `byte` string's length). So generated types implement
//! poem-openapi's `Type` through [`documented!`](crate::documented) with a schema
//! written from the contract, and encode and decode with serde, the one codec.
//! The round-trip gate (`cargo xtask check`) then compares what poem-openapi
//! emits with the contract.

pub use poem_openapi::registry::{MetaDiscriminatorObject, MetaSchema, MetaSchemaRef, Registry};
pub use poem_openapi::types::Type;

/// An inline schema.
pub fn inline(schema: MetaSchema) -> MetaSchemaRef {
    MetaSchemaRef::Inline(Box::new(schema))
}

/// A reference to a component schema, registering it.
pub fn reference<T: Type>(registry: &mut Registry, name: &str) -> MetaSchemaRef {
    T::register(registry);
    MetaSchemaRef::Reference(name.to_owned())
}

/// A nullable reference, written as OpenAPI 3.0 does: `allOf` with `nullable`.
pub fn nullable(schema: MetaSchemaRef) -> MetaSchemaRef {
    match schema {
        MetaSchemaRef::Inline(mut inline) => {
            inline.nullable = true;
            MetaSchemaRef::Inline(inline)
        }
        reference => inline(MetaSchema {
            all_of: vec![reference],
            nullable: true,
            ..MetaSchema::new("")
        }),
    }
}

/// Implements poem-openapi's `Type`, `ParseFromJSON` and `ToJSON` for a
/// generated type: the schema is the contract's, the codec is serde.
#[macro_export]
macro_rules! documented {
    ($ty:ty, $name:literal, $schema:expr) => {
        $crate::documented_type!($ty, $name, $schema);

        impl ::poem_openapi::types::ParseFromJSON for $ty {
            fn parse_from_json(
                value: Option<::serde_json::Value>,
            ) -> ::poem_openapi::types::ParseResult<Self> {
                ::serde_json::from_value(value.unwrap_or_default())
                    .map_err(::poem_openapi::types::ParseError::custom)
            }
        }

        impl ::poem_openapi::types::ToJSON for $ty {
            fn to_json(&self) -> Option<::serde_json::Value> {
                ::serde_json::to_value(self).ok()
            }
        }
    };
}

/// Implements poem-openapi's `Type` alone, for a type that is never JSON: a
/// multipart body with files, read through `MultipartForm`.
#[macro_export]
macro_rules! documented_type {
    ($ty:ty, $name:literal, $schema:expr) => {
        impl ::poem_openapi::types::Type for $ty {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> ::std::borrow::Cow<'static, str> {
                $name.into()
            }

            fn schema_ref() -> ::poem_openapi::registry::MetaSchemaRef {
                ::poem_openapi::registry::MetaSchemaRef::Reference($name.to_owned())
            }

            fn register(registry: &mut ::poem_openapi::registry::Registry) {
                let schema: fn(
                    &mut ::poem_openapi::registry::Registry,
                ) -> ::poem_openapi::registry::MetaSchema = $schema;
                registry.create_schema::<Self, _>($name.to_owned(), schema);
            }

            fn as_raw_value(&self) -> Option<&Self> {
                Some(self)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
                Box::new(self.as_raw_value().into_iter())
            }
        }
    };
}
