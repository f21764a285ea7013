//! `multipart/form-data` bodies, the same on both sides: generated body types
//! implement [`MultipartForm`], which the server's `MultipartBody` reads parts
//! into and the client's `multipart` writes parts from. Neither side needs a
//! codec of its own for the types, and this module needs neither poem nor
//! reqwest.

use serde::de::DeserializeOwned;

/// A file: a property of `type: string, format: binary` in a multipart body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct File {
    /// The `filename` of the part's `Content-Disposition`, when sent.
    pub file_name: Option<String>,
    /// The part's `Content-Type`, when sent.
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

impl File {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        File {
            file_name: None,
            content_type: None,
            bytes: bytes.into(),
        }
    }

    pub fn with_file_name(mut self, name: impl Into<String>) -> Self {
        self.file_name = Some(name.into());
        self
    }

    pub fn with_content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }
}

/// One part of a multipart body: its name and what it carries. Text parts are
/// a [`File`] without a file name, as on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub content: File,
}

impl Part {
    /// A property's value as [`Parts`] reads it back: a string (strings,
    /// enums, dates, uuids) as its text, a number or boolean as its JSON, an
    /// object as a JSON part (OpenAPI's default encoding for objects).
    pub fn value<T: serde::Serialize>(name: &str, value: &T) -> Self {
        let content = match serde_json::to_value(value).expect("generated types serialize") {
            serde_json::Value::String(text) => File::new(text),
            object @ (serde_json::Value::Object(_) | serde_json::Value::Array(_)) => {
                File::new(object.to_string()).with_content_type("application/json")
            }
            scalar => File::new(scalar.to_string()),
        };
        Part {
            name: name.to_owned(),
            content,
        }
    }

    pub fn file(name: &str, file: &File) -> Self {
        Part {
            name: name.to_owned(),
            content: file.clone(),
        }
    }
}

/// What is wrong with a multipart body, at the JSON pointer of the property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartError {
    pub pointer: String,
    /// `required` or `type`, as the JSON body checks name them.
    pub code: &'static str,
    pub message: String,
}

/// The parts received, in order. The generated `from_parts` takes each
/// property's parts by name.
#[derive(Debug, Default)]
pub struct Parts(Vec<Part>);

impl Parts {
    pub fn new(parts: Vec<Part>) -> Self {
        Parts(parts)
    }

    fn take(&mut self, name: &str) -> Vec<File> {
        let (taken, rest) = std::mem::take(&mut self.0)
            .into_iter()
            .partition(|p| p.name == name);
        self.0 = rest;
        taken.into_iter().map(|p| p.content).collect()
    }

    fn take_one(&mut self, name: &str) -> Result<Option<File>, PartError> {
        let mut found = self.take(name);
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.pop()),
            n => Err(PartError {
                pointer: pointer(name),
                code: "type",
                message: format!("{n} parts named `{name}`; one was expected"),
            }),
        }
    }

    pub fn file(&mut self, name: &str) -> Result<File, PartError> {
        self.optional_file(name)?.ok_or_else(|| missing(name))
    }

    pub fn optional_file(&mut self, name: &str) -> Result<Option<File>, PartError> {
        self.take_one(name)
    }

    /// Every part of that name; none is an empty list.
    pub fn files(&mut self, name: &str) -> Result<Vec<File>, PartError> {
        Ok(self.take(name))
    }

    pub fn optional_files(&mut self, name: &str) -> Result<Option<Vec<File>>, PartError> {
        let files = self.take(name);
        Ok((!files.is_empty()).then_some(files))
    }

    /// A scalar, an enum or an object: see [`decode`].
    pub fn value<T: DeserializeOwned>(&mut self, name: &str) -> Result<T, PartError> {
        self.optional_value(name)?.ok_or_else(|| missing(name))
    }

    pub fn optional_value<T: DeserializeOwned>(
        &mut self,
        name: &str,
    ) -> Result<Option<T>, PartError> {
        self.take_one(name)?
            .map(|part| decode(name, &part.bytes))
            .transpose()
    }

    pub fn values<T: DeserializeOwned>(&mut self, name: &str) -> Result<Vec<T>, PartError> {
        self.take(name)
            .iter()
            .map(|part| decode(name, &part.bytes))
            .collect()
    }

    pub fn optional_values<T: DeserializeOwned>(
        &mut self,
        name: &str,
    ) -> Result<Option<Vec<T>>, PartError> {
        let values = self.values(name)?;
        Ok((!values.is_empty()).then_some(values))
    }
}

/// A body type sent as `multipart/form-data`, one part per property.
pub trait MultipartForm: Sized {
    /// Takes the properties' parts; parts of other names are ignored, as
    /// unknown JSON properties are.
    fn from_parts(parts: Parts) -> Result<Self, PartError>;
    fn to_parts(&self) -> Vec<Part>;
}

/// A text part's value: first as a JSON string (strings, enums, dates, uuids:
/// the text is the value), then as JSON (numbers, booleans, objects sent as
/// JSON parts). A string property thus takes any text as it is.
fn decode<T: DeserializeOwned>(name: &str, bytes: &[u8]) -> Result<T, PartError> {
    let text = std::str::from_utf8(bytes).map_err(|_| PartError {
        pointer: pointer(name),
        code: "type",
        message: format!("part `{name}` is not UTF-8 text"),
    })?;
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .or_else(|_| serde_json::from_str(text))
        .map_err(|e| PartError {
            pointer: pointer(name),
            code: "type",
            message: format!("part `{name}` does not fit its schema: {e}"),
        })
}

fn pointer(name: &str) -> String {
    format!("/{}", name.replace('~', "~0").replace('/', "~1"))
}

fn missing(name: &str) -> PartError {
    PartError {
        pointer: pointer(name),
        code: "required",
        message: format!("part `{name}` is required"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(list: &[(&str, &str)]) -> Parts {
        Parts::new(
            list.iter()
                .map(|(name, text)| Part {
                    name: (*name).to_owned(),
                    content: File::new(*text),
                })
                .collect(),
        )
    }

    #[test]
    fn text_parts_decode_as_their_type() {
        let mut p = parts(&[("n", "42"), ("s", "42"), ("b", "true"), ("o", r#"{"a":1}"#)]);
        assert_eq!(p.value::<i64>("n").unwrap(), 42);
        assert_eq!(p.value::<String>("s").unwrap(), "42");
        assert!(p.value::<bool>("b").unwrap());
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Object {
            a: i64,
        }
        assert_eq!(p.value::<Object>("o").unwrap(), Object { a: 1 });
        let mut p = parts(&[("n", "forty")]);
        let error = p.value::<i64>("n").unwrap_err();
        assert_eq!((error.pointer.as_str(), error.code), ("/n", "type"));
    }

    #[test]
    fn values_read_back_as_they_were_written() {
        #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
        struct Object {
            a: i64,
        }
        let written = vec![
            Part::value("s", &"12"),
            Part::value("n", &12),
            Part::value("o", &Object { a: 1 }),
        ];
        assert_eq!(written[0].content.bytes, b"12");
        assert_eq!(
            written[2].content.content_type.as_deref(),
            Some("application/json")
        );
        let mut p = Parts::new(written);
        assert_eq!(p.value::<String>("s").unwrap(), "12");
        assert_eq!(p.value::<i32>("n").unwrap(), 12);
        assert_eq!(p.value::<Object>("o").unwrap(), Object { a: 1 });
    }

    #[test]
    fn repeated_parts_are_a_list_and_missing_ones_are_named() {
        let mut p = parts(&[("tag", "a"), ("x", "1"), ("tag", "b")]);
        assert_eq!(p.values::<String>("tag").unwrap(), ["a", "b"]);
        assert_eq!(p.optional_values::<String>("tag").unwrap(), None);
        assert_eq!(p.file("cover").unwrap_err().code, "required");
        let mut p = parts(&[("x", "1"), ("x", "2")]);
        assert!(p.value::<i64>("x").is_err(), "two parts for one value");
    }
}
