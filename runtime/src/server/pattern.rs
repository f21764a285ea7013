//! String parameters held to the contract's `pattern`, with the expression
//! compiled once. poem-openapi's own `validator(pattern = …)` compiles it on
//! every check (`Regex::new` in `Pattern::check`, poem-openapi 5.1.16): on
//! `placeOrder`, whose `Idempotency-Key` has a pattern, that was 8 % of the
//! server's CPU. The schema still carries the pattern, so the served document
//! and the round-trip gate see what the contract says.

use std::borrow::Cow;
use std::marker::PhantomData;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromParameter, ParseResult, Type};

/// A parameter's pattern: the generated code declares one type per
/// patterned parameter, with its expression in a `static`.
pub trait StringPattern: Send + Sync + 'static {
    /// As the contract writes it (for the schema and for error messages).
    const PATTERN: &'static str;
    fn regex() -> &'static regex::Regex;
}

/// Declares a [`StringPattern`]: `string_pattern!(Name = "^…$");`, with doc
/// comments before the name. The expression is compiled on first use.
#[macro_export]
macro_rules! string_pattern {
    ($(#[$attr:meta])* $name:ident = $pattern:literal) => {
        $(#[$attr])*
        pub struct $name;

        impl $crate::server::StringPattern for $name {
            const PATTERN: &'static str = $pattern;
            fn regex() -> &'static $crate::server::Regex {
                static REGEX: ::std::sync::LazyLock<$crate::server::Regex> =
                    ::std::sync::LazyLock::new(|| {
                        $crate::server::Regex::new($pattern).expect("the contract's pattern compiles")
                    });
                &REGEX
            }
        }
    };
}

/// A string that matched `P`.
pub struct Matching<P>(pub String, PhantomData<P>);

impl<P> std::fmt::Debug for Matching<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Matching").field(&self.0).finish()
    }
}

impl<P: StringPattern> Type for Matching<P> {
    const IS_REQUIRED: bool = true;

    type RawValueType = String;

    type RawElementValueType = String;

    fn name() -> Cow<'static, str> {
        "string".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            pattern: Some(P::PATTERN.to_owned()),
            ..MetaSchema::new("string")
        }))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl<P: StringPattern> ParseFromParameter for Matching<P> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        if P::regex().is_match(value) {
            Ok(Matching(value.to_owned(), PhantomData))
        } else {
            // Worded as poem-openapi words a failed validator, so the
            // problem reads the same (`crate::server::problem`).
            Err(ParseError::custom(format_args!(
                "verification failed. pattern(\"{}\")",
                P::PATTERN
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::string_pattern!(
        /// Printable ASCII, as `Idempotency-Key` has it.
        Printable = "^[\\x21-\\x7E]+$"
    );

    #[test]
    fn takes_what_matches_and_names_the_pattern_otherwise() {
        let taken = Matching::<Printable>::parse_from_parameter("key-1").unwrap();
        assert_eq!(taken.0, "key-1");
        let refused = Matching::<Printable>::parse_from_parameter("a key")
            .err()
            .unwrap();
        assert_eq!(
            refused.into_message(),
            "failed to parse \"string\": verification failed. pattern(\"^[\\x21-\\x7E]+$\")"
        );
        let MetaSchemaRef::Inline(schema) = Matching::<Printable>::schema_ref() else {
            panic!("an inline schema");
        };
        assert_eq!(schema.pattern.as_deref(), Some(Printable::PATTERN));
    }
}
