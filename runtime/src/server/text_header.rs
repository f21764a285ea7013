//! Response headers of the string formats poem-openapi writes no header for.

use std::borrow::Cow;

use poem::http::HeaderValue;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ToHeader, Type};
use serde::Serialize;

/// A response header with `format: date-time`, `date` or `byte`: poem-openapi
/// has no `ToHeader` for `chrono::DateTime<Utc>` or `chrono::NaiveDate` (and
/// [`Base64`](crate::Base64) is Keel's). The value is written as the text it is
/// in a JSON body (serde's: RFC 3339 for `date-time`, `YYYY-MM-DD` for `date`,
/// padded base64 for `byte`), so a header reads as the same value would in the
/// body, and documented as `type: string` with the contract's `format`
/// (poem-openapi's own schema for `NaiveDate` says `naive-date`).
#[derive(Debug, Clone, PartialEq)]
pub struct TextHeader<T>(pub T);

/// A value a [`TextHeader`] can carry, and the `format` that documents it.
pub trait HeaderText: Serialize + Send + Sync + 'static {
    const FORMAT: &'static str;
}

impl HeaderText for chrono::DateTime<chrono::Utc> {
    const FORMAT: &'static str = "date-time";
}

impl HeaderText for chrono::NaiveDate {
    const FORMAT: &'static str = "date";
}

impl HeaderText for crate::Base64 {
    const FORMAT: &'static str = "byte";
}

impl<T: HeaderText> Type for TextHeader<T> {
    const IS_REQUIRED: bool = true;

    type RawValueType = Self;

    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        format!("string_{}", T::FORMAT).into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", T::FORMAT)))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl<T: HeaderText> ToHeader for TextHeader<T> {
    fn to_header(&self) -> Option<HeaderValue> {
        match serde_json::to_value(&self.0) {
            Ok(serde_json::Value::String(text)) => HeaderValue::from_str(&text).ok(),
            // Only a value that is not a string gets here: a bug in a `HeaderText` impl.
            _ => {
                tracing::error!(
                    format = T::FORMAT,
                    "a response header's value is not text; the header is left out"
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, NaiveDate, TimeZone, Utc};

    use super::*;
    use crate::Base64;

    fn text<T: HeaderText>(value: T) -> String {
        TextHeader(value)
            .to_header()
            .expect("a header")
            .to_str()
            .unwrap()
            .to_owned()
    }

    fn format<T: HeaderText>() -> Option<&'static str> {
        match <TextHeader<T> as Type>::schema_ref() {
            MetaSchemaRef::Inline(schema) => schema.format,
            MetaSchemaRef::Reference(name) => panic!("a reference to {name}"),
        }
    }

    #[test]
    fn writes_the_text_of_the_json_value() {
        let at = Utc.with_ymd_and_hms(2026, 12, 5, 19, 2, 14).unwrap();
        assert_eq!(text(at), "2026-12-05T19:02:14Z");
        assert_eq!(
            text(NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()),
            "2026-02-28"
        );
        assert_eq!(text(Base64(b"keel\xff".to_vec())), "a2VlbP8=");
        // And the client reads it back as it reads the JSON value.
        assert_eq!("2026-12-05T19:02:14Z".parse::<DateTime<Utc>>().unwrap(), at);
    }

    #[test]
    fn documents_the_format() {
        assert_eq!(format::<DateTime<Utc>>(), Some("date-time"));
        // Not poem-openapi's `naive-date`: the contract's format.
        assert_eq!(format::<NaiveDate>(), Some("date"));
        assert_eq!(format::<Base64>(), Some("byte"));
        const { assert!(!<Option<TextHeader<NaiveDate>> as Type>::IS_REQUIRED) };
    }
}
