//! `format: byte`: bytes that travel as a base64 string (RFC 4648, standard
//! alphabet, padded), as OpenAPI defines the format.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Bytes sent as base64 in JSON. Decoding rejects anything that is not
/// canonical padded base64, so a value round-trips unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Base64(pub Vec<u8>);

impl Base64 {
    pub fn encode(&self) -> String {
        STANDARD.encode(&self.0)
    }

    pub fn decode(text: &str) -> Result<Self, base64::DecodeError> {
        STANDARD.decode(text).map(Base64)
    }
}

/// A `byte` response header, read by the client.
impl std::str::FromStr for Base64 {
    type Err = base64::DecodeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Base64::decode(text)
    }
}

impl From<Vec<u8>> for Base64 {
    fn from(bytes: Vec<u8>) -> Self {
        Base64(bytes)
    }
}

impl std::ops::Deref for Base64 {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl serde::Serialize for Base64 {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.encode())
    }
}

impl<'de> serde::Deserialize<'de> for Base64 {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Base64::decode(&text)
            .map_err(|e| serde::de::Error::custom(format!("not base64 (format `byte`): {e}")))
    }
}

/// `minLength`/`maxLength` on a `byte` string count the characters of its
/// base64 text, as JSON Schema does.
impl validator::ValidateLength<u64> for Base64 {
    fn length(&self) -> Option<u64> {
        Some(self.0.len().div_ceil(3) as u64 * 4)
    }
}

impl crate::ToParam for Base64 {
    fn to_param(&self) -> String {
        self.encode()
    }
}

/// poem-openapi documents the value as `type: string, format: byte`; decoding
/// is serde's, like every other body value.
#[cfg(feature = "server")]
mod openapi {
    use std::borrow::Cow;

    use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
    use poem_openapi::types::{
        ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type,
    };
    use serde_json::Value;

    use super::Base64;

    impl Type for Base64 {
        const IS_REQUIRED: bool = true;
        type RawValueType = Self;
        type RawElementValueType = Self;

        fn name() -> Cow<'static, str> {
            "string_byte".into()
        }

        fn schema_ref() -> MetaSchemaRef {
            MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "byte")))
        }

        fn as_raw_value(&self) -> Option<&Self> {
            Some(self)
        }

        fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
            Box::new(self.as_raw_value().into_iter())
        }
    }

    impl ParseFromJSON for Base64 {
        fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
            match value.unwrap_or_default() {
                Value::String(text) => Ok(Base64::decode(&text)?),
                other => Err(ParseError::expected_type(other)),
            }
        }
    }

    impl ParseFromParameter for Base64 {
        fn parse_from_parameter(value: &str) -> ParseResult<Self> {
            Ok(Base64::decode(value)?)
        }
    }

    impl ToJSON for Base64 {
        fn to_json(&self) -> Option<Value> {
            Some(Value::String(self.encode()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_json_as_padded_base64() {
        let value = Base64(b"keel\xff".to_vec());
        let json = serde_json::to_string(&value).unwrap();
        assert_eq!(json, "\"a2VlbP8=\"");
        assert_eq!(serde_json::from_str::<Base64>(&json).unwrap(), value);
    }

    #[test]
    fn length_rules_count_base64_characters() {
        use validator::ValidateLength;
        assert_eq!(
            Base64(vec![0; 4]).length(),
            Some(8),
            "4 bytes are `AAAAAA==`"
        );
        assert_eq!(Base64(vec![]).length(), Some(0));
    }

    #[test]
    fn parses_from_text_as_a_header_is_read() {
        assert_eq!("a2VlbP8=".parse::<Base64>().unwrap().0, b"keel\xff");
        assert!("a2VlbP8".parse::<Base64>().is_err(), "unpadded");
    }

    #[test]
    fn rejects_what_is_not_base64() {
        let error = serde_json::from_str::<Base64>("\"a2Vl*P8=\"").unwrap_err();
        assert!(error.to_string().contains("not base64"), "{error}");
    }
}
