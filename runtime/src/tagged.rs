//! Encoding a variant of a discriminated union whose tag the variant does not
//! hold itself.

use serde::ser::Error as _;
use serde::{Serialize, Serializer};

/// Serializes `value` (an object) with `property` set to `tag`.
///
/// A discriminated union writes its variant's tag this way where the variant
/// cannot be trusted to carry it: the variant's schema lacks the property, has
/// it optional, or stands for several tags (a mapping that gives one schema
/// several values). The tag is the union's: it replaces whatever the variant
/// holds under that name, so what is encoded decodes to the same variant.
pub fn serialize_tagged<T: Serialize, S: Serializer>(
    value: &T,
    property: &str,
    tag: &str,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut json = serde_json::to_value(value).map_err(S::Error::custom)?;
    let Some(object) = json.as_object_mut() else {
        return Err(S::Error::custom(format!(
            "a variant tagged `{property}: {tag}` must be an object"
        )));
    };
    object.insert(property.to_owned(), tag.into());
    json.serialize(serializer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Plain {
        a: u8,
        #[serde(skip_serializing_if = "Option::is_none")]
        kind: Option<String>,
    }

    #[test]
    fn the_tag_is_added_or_replaces_the_variants_own() {
        let mut out = Vec::new();
        let plain = Plain { a: 1, kind: None };
        serialize_tagged(
            &plain,
            "kind",
            "x",
            &mut serde_json::Serializer::new(&mut out),
        )
        .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), r#"{"a":1,"kind":"x"}"#);
        let mut out = Vec::new();
        let wrong = Plain {
            a: 1,
            kind: Some("y".into()),
        };
        serialize_tagged(
            &wrong,
            "kind",
            "x",
            &mut serde_json::Serializer::new(&mut out),
        )
        .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), r#"{"a":1,"kind":"x"}"#);
        let mut out = Vec::new();
        let err = serialize_tagged(&3, "kind", "x", &mut serde_json::Serializer::new(&mut out));
        assert!(err.is_err());
    }
}
