use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use validator::{ValidateEmail, ValidateLength, ValidateRange, ValidateRegex, ValidateUrl};

/// A property that is optional *and* nullable: absent, `null`, or a value.
///
/// `Option<Option<T>>` can say the same, but nobody reads `Some(None)` right on the
/// first try. In a PATCH body the three states mean "leave alone", "clear" and "set".
/// Fields of this type carry `#[serde(default, skip_serializing_if = "Tristate::is_absent")]`
/// so that absence survives a round trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Tristate<T> {
    /// The property is not in the document.
    #[default]
    Absent,
    /// The property is present with the value `null`.
    Null,
    /// The property is present with a value.
    Value(T),
}

impl<T> Tristate<T> {
    pub fn is_absent(&self) -> bool {
        matches!(self, Tristate::Absent)
    }

    /// `None` when absent, `Some(None)` when null, `Some(Some(v))` with a value.
    pub fn into_change(self) -> Option<Option<T>> {
        match self {
            Tristate::Absent => None,
            Tristate::Null => Some(None),
            Tristate::Value(value) => Some(Some(value)),
        }
    }

    /// Absent and null both become `None`: for creating, where the two mean the same.
    pub fn into_option(self) -> Option<T> {
        match self {
            Tristate::Value(value) => Some(value),
            Tristate::Absent | Tristate::Null => None,
        }
    }

    pub fn as_ref(&self) -> Tristate<&T> {
        match self {
            Tristate::Absent => Tristate::Absent,
            Tristate::Null => Tristate::Null,
            Tristate::Value(value) => Tristate::Value(value),
        }
    }

    fn value(&self) -> Option<&T> {
        match self {
            Tristate::Value(value) => Some(value),
            Tristate::Absent | Tristate::Null => None,
        }
    }
}

impl<T> From<Option<T>> for Tristate<T> {
    /// `None` becomes `Null`: an explicit option is a value that was given.
    fn from(value: Option<T>) -> Self {
        value.map_or(Tristate::Null, Tristate::Value)
    }
}

impl<T: Serialize> Serialize for Tristate<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // `Absent` is skipped by the field attribute; if it is serialized anyway
        // (say, as an array element) `null` is the closest JSON has.
        match self {
            Tristate::Value(value) => value.serialize(serializer),
            Tristate::Absent | Tristate::Null => serializer.serialize_none(),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Tristate<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Only called for a present property; absence comes from `#[serde(default)]`.
        Option::<T>::deserialize(deserializer).map(Tristate::from)
    }
}

// `validator` checks a field's rules through these traits; a `Tristate` is valid
// unless it holds a value that breaks them, like an `Option`.

impl<T: ValidateEmail> ValidateEmail for Tristate<T> {
    fn as_email_string(&self) -> Option<Cow<'_, str>> {
        self.value().and_then(ValidateEmail::as_email_string)
    }
}

impl<T: ValidateUrl> ValidateUrl for Tristate<T> {
    fn as_url_string(&self) -> Option<Cow<'_, str>> {
        self.value().and_then(ValidateUrl::as_url_string)
    }
}

impl<T: ValidateLength<u64>> ValidateLength<u64> for Tristate<T> {
    fn length(&self) -> Option<u64> {
        self.value().and_then(ValidateLength::length)
    }
}

impl<T: ValidateRegex> ValidateRegex for Tristate<T> {
    fn validate_regex(&self, regex: impl validator::AsRegex) -> bool {
        self.value().is_none_or(|value| value.validate_regex(regex))
    }
}

impl<N, T: ValidateRange<N>> ValidateRange<N> for Tristate<T> {
    fn greater_than(&self, max: N) -> Option<bool> {
        self.value().and_then(|v| v.greater_than(max))
    }

    fn less_than(&self, min: N) -> Option<bool> {
        self.value().and_then(|v| v.less_than(min))
    }
}

#[cfg(feature = "server")]
mod openapi {
    //! poem-openapi sees a `Tristate` as its own `MaybeUndefined`, so the documented
    //! schema is the one poem-openapi would emit for an optional nullable property.
    use std::borrow::Cow;

    use poem_openapi::registry::{MetaSchemaRef, Registry};
    use poem_openapi::types::{
        MaybeUndefined, ParseError, ParseFromJSON, ParseResult, ToJSON, Type,
    };
    use serde_json::Value;

    use super::Tristate;

    impl<T: Type> Type for Tristate<T> {
        const IS_REQUIRED: bool = false;
        type RawValueType = T::RawValueType;
        type RawElementValueType = T::RawElementValueType;

        fn name() -> Cow<'static, str> {
            MaybeUndefined::<T>::name()
        }

        fn schema_ref() -> MetaSchemaRef {
            MaybeUndefined::<T>::schema_ref()
        }

        fn register(registry: &mut Registry) {
            T::register(registry);
        }

        fn as_raw_value(&self) -> Option<&Self::RawValueType> {
            self.value().and_then(Type::as_raw_value)
        }

        fn raw_element_iter<'a>(
            &'a self,
        ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
            match self {
                Tristate::Value(value) => value.raw_element_iter(),
                Tristate::Absent | Tristate::Null => Box::new(std::iter::empty()),
            }
        }

        fn is_none(&self) -> bool {
            !matches!(self, Tristate::Value(_))
        }
    }

    impl<T: ParseFromJSON> ParseFromJSON for Tristate<T> {
        fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
            Ok(
                match MaybeUndefined::<T>::parse_from_json(value).map_err(ParseError::propagate)? {
                    MaybeUndefined::Undefined => Tristate::Absent,
                    MaybeUndefined::Null => Tristate::Null,
                    MaybeUndefined::Value(value) => Tristate::Value(value),
                },
            )
        }
    }

    impl<T: ToJSON> ToJSON for Tristate<T> {
        fn to_json(&self) -> Option<Value> {
            match self {
                Tristate::Absent => None,
                Tristate::Null => Some(Value::Null),
                Tristate::Value(value) => value.to_json(),
            }
        }
    }
}

/// For an optional property that is not nullable: absent is `None` (serde's
/// `default`), but `null` is refused, as the contract says, rather than read
/// as absent.
pub fn non_null<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Patch {
        #[serde(default, skip_serializing_if = "Tristate::is_absent")]
        name: Tristate<String>,
    }

    #[test]
    fn three_states_survive_a_round_trip() {
        for (json, state) in [
            ("{}", Tristate::Absent),
            (r#"{"name":null}"#, Tristate::Null),
            (r#"{"name":"x"}"#, Tristate::Value("x".to_owned())),
        ] {
            let parsed: Patch = serde_json::from_str(json).unwrap();
            assert_eq!(parsed.name, state, "{json}");
            assert_eq!(serde_json::to_string(&parsed).unwrap(), json);
        }
    }

    #[test]
    fn rules_apply_only_to_a_value() {
        assert!(Tristate::<String>::Null.validate_email());
        assert!(Tristate::<String>::Absent.validate_email());
        assert!(!Tristate::Value("nope".to_owned()).validate_email());
        assert_eq!(Tristate::Value("abc".to_owned()).length(), Some(3));
    }
}
