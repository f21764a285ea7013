//! The vocabulary of the `validator::Validate` impls that codegen writes.
//!
//! Generated types implement `Validate` by hand rather than through validator's
//! derive: the derive reports Rust field names (`display_name`) where a client
//! needs the JSON names it sent (`displayName`), and cannot validate enums. Each
//! rule here records a message that states the limit, so a 400 says exactly what
//! to change.

use std::borrow::Cow;
use std::collections::BTreeMap;

use regex::Regex;
use validator::{
    Validate, ValidateEmail, ValidateLength, ValidateRange, ValidateRegex, ValidateUrl,
    ValidationError, ValidationErrors, ValidationErrorsKind,
};

/// Collects the rule violations of one object, keyed by JSON property name.
#[derive(Default)]
pub struct Errors(ValidationErrors);

impl Errors {
    pub fn length<T: ValidateLength<u64>>(
        &mut self,
        field: &'static str,
        value: &T,
        min: Option<u64>,
        max: Option<u64>,
    ) {
        if !value.validate_length(min, max, None) {
            let message = match (min, max) {
                (Some(min), Some(max)) => format!("must be {min} to {max} characters long"),
                (Some(min), None) => format!("must be at least {min} characters long"),
                (None, Some(max)) => format!("must be at most {max} characters long"),
                (None, None) => unreachable!("a length rule has a bound"),
            };
            self.add(field, "length", message);
        }
    }

    pub fn items<T: ValidateLength<u64>>(
        &mut self,
        field: &'static str,
        value: &T,
        min: Option<u64>,
        max: Option<u64>,
    ) {
        if !value.validate_length(min, max, None) {
            let message = match (min, max) {
                (Some(min), Some(max)) => format!("must have {min} to {max} items"),
                (Some(min), None) => format!("must have at least {min} items"),
                (None, Some(max)) => format!("must have at most {max} items"),
                (None, None) => unreachable!("an items rule has a bound"),
            };
            self.add(field, "length", message);
        }
    }

    pub fn email<T: ValidateEmail>(&mut self, field: &'static str, value: &T) {
        if !value.validate_email() {
            self.add(field, "email", "must be an email address".to_owned());
        }
    }

    pub fn url<T: ValidateUrl>(&mut self, field: &'static str, value: &T) {
        if !value.validate_url() {
            self.add(field, "url", "must be an absolute URI".to_owned());
        }
    }

    pub fn pattern<T: ValidateRegex>(&mut self, field: &'static str, value: &T, regex: &Regex) {
        if !value.validate_regex(regex) {
            self.add(
                field,
                "regex",
                format!("must match the pattern {}", regex.as_str()),
            );
        }
    }

    /// `minimum`/`maximum` and their exclusive forms; `None` where the schema has none.
    pub fn range<V, T>(
        &mut self,
        field: &'static str,
        value: &V,
        min: Option<T>,
        max: Option<T>,
        exclusive_min: Option<T>,
        exclusive_max: Option<T>,
    ) where
        V: ValidateRange<T>,
        T: PartialOrd + PartialEq + std::fmt::Display + Copy,
    {
        if !value.validate_range(min, max, exclusive_min, exclusive_max) {
            let mut rules = Vec::new();
            if let Some(min) = min {
                rules.push(format!("at least {min}"));
            }
            if let Some(min) = exclusive_min {
                rules.push(format!("greater than {min}"));
            }
            if let Some(max) = max {
                rules.push(format!("at most {max}"));
            }
            if let Some(max) = exclusive_max {
                rules.push(format!("less than {max}"));
            }
            self.add(field, "range", format!("must be {}", rules.join(" and ")));
        }
    }

    /// An object-valued property: its own violations nest under its name.
    pub fn nested<T: Validate>(&mut self, field: &'static str, value: &T) {
        if let Err(errors) = value.validate() {
            self.0.errors_mut().insert(
                Cow::Borrowed(field),
                ValidationErrorsKind::Struct(Box::new(errors)),
            );
        }
    }

    /// A part flattened into this object (a union beside the object's own
    /// properties): its violations sit beside the object's, under their own
    /// property names, as the JSON has them.
    pub fn flattened<T: Validate>(&mut self, value: &T) {
        if let Err(errors) = value.validate() {
            self.0.errors_mut().extend(errors.into_errors());
        }
    }

    /// An array of objects: violations nest under the property and the index.
    pub fn each<T: Validate>(&mut self, field: &'static str, values: &[T]) {
        let failed: BTreeMap<usize, Box<ValidationErrors>> = values
            .iter()
            .enumerate()
            .filter_map(|(index, value)| value.validate().err().map(|e| (index, Box::new(e))))
            .collect();
        if !failed.is_empty() {
            self.0
                .errors_mut()
                .insert(Cow::Borrowed(field), ValidationErrorsKind::List(failed));
        }
    }

    pub fn finish(self) -> Result<(), ValidationErrors> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }

    fn add(&mut self, field: &'static str, code: &'static str, message: String) {
        self.0.add(
            field,
            ValidationError::new(code).with_message(Cow::Owned(message)),
        );
    }
}

/// One violation, located by a JSON pointer into the validated document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub pointer: String,
    pub code: String,
    pub message: String,
}

/// Flattens validator's nested error tree into violations sorted by pointer.
pub fn violations(errors: &ValidationErrors) -> Vec<Violation> {
    let mut out = Vec::new();
    collect(errors, "", &mut out);
    out.sort_by(|a, b| (&a.pointer, &a.code).cmp(&(&b.pointer, &b.code)));
    out
}

fn collect(errors: &ValidationErrors, prefix: &str, out: &mut Vec<Violation>) {
    for (field, kind) in errors.errors() {
        // `""` is the validated value itself (a named array's own rules).
        let pointer = if field.is_empty() {
            prefix.to_owned()
        } else {
            format!("{prefix}/{}", escape_pointer_token(field))
        };
        match kind {
            ValidationErrorsKind::Field(list) => out.extend(list.iter().map(|e| Violation {
                pointer: pointer.clone(),
                code: e.code.to_string(),
                message: e.message.as_deref().unwrap_or("is invalid").to_owned(),
            })),
            ValidationErrorsKind::Struct(nested) => collect(nested, &pointer, out),
            ValidationErrorsKind::List(items) => {
                for (index, nested) in items {
                    collect(nested, &format!("{pointer}/{index}"), out);
                }
            }
        }
    }
}

/// RFC 6901: `~` and `/` inside a token are written `~0` and `~1`.
pub fn escape_pointer_token(token: &str) -> Cow<'_, str> {
    if token.contains(['~', '/']) {
        Cow::Owned(token.replace('~', "~0").replace('/', "~1"))
    } else {
        Cow::Borrowed(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Inner {
        name: String,
    }
    impl Validate for Inner {
        fn validate(&self) -> Result<(), ValidationErrors> {
            let mut errors = Errors::default();
            errors.length("name", &self.name, Some(1), Some(3));
            errors.finish()
        }
    }

    struct Outer {
        email: Option<String>,
        inner: Vec<Inner>,
    }
    impl Validate for Outer {
        fn validate(&self) -> Result<(), ValidationErrors> {
            let mut errors = Errors::default();
            errors.email("e/mail", &self.email);
            errors.each("inner", &self.inner);
            errors.finish()
        }
    }

    #[test]
    fn nested_violations_get_json_pointers() {
        let outer = Outer {
            email: Some("nope".into()),
            inner: vec![
                Inner { name: "ok".into() },
                Inner {
                    name: "long".into(),
                },
            ],
        };
        let found = violations(&outer.validate().unwrap_err());
        assert_eq!(
            found,
            vec![
                Violation {
                    pointer: "/e~1mail".into(),
                    code: "email".into(),
                    message: "must be an email address".into()
                },
                Violation {
                    pointer: "/inner/1/name".into(),
                    code: "length".into(),
                    message: "must be 1 to 3 characters long".into()
                },
            ]
        );
    }

    #[test]
    fn absent_optional_values_pass() {
        let outer = Outer {
            email: None,
            inner: vec![],
        };
        assert!(outer.validate().is_ok());
    }
}
