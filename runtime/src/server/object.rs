//! Object parameters (ADR 23): a parameter whose schema is an object of
//! scalars and enums, written as its `style` says, decoded by serde and
//! checked by the type's `Validate` impl.
//!
//! poem-openapi's `ParseFromParameter` reads one value per parameter; an
//! object is several `(property, value)` pairs, found where the style puts
//! them. The extractors here collect those pairs, hand them to serde (the
//! codec of form bodies, which reads numbers, booleans and enums from text)
//! and report what does not fit as problem+json naming the parameter and the
//! property (`errors[].parameter` and `errors[].pointer`). poem-openapi only
//! documents the parameter: its `in`, `style`, `explode` and `T`'s schema.
//!
//! `REQUIRED` says whether the parameter is: an absent optional one is
//! `None`, an absent required one a 400. Which pairs make the object:
//!
//! - query `form`, exploded: every query pair named after one of `T`'s
//!   properties (so the names of `T`'s properties are read from its schema;
//!   the loader refuses an operation where they collide with another query
//!   parameter); not exploded: `name=k,v,k,v`; `spaceDelimited` and
//!   `pipeDelimited` (not exploded): `name=k%20v%20k%20v`, `name=k|v|k|v`.
//! - query `deepObject`: `name[k]=v`.
//! - header and path `simple`: `k,v,k,v`, exploded `k=v,k=v`; `label`:
//!   `.k,v,k,v` / `.k=v.k=v`; `matrix`: `;name=k,v,k,v` / `;k=v;k=v`.
//!
//! Values are split after poem has percent-decoded them, so a value cannot
//! contain the separator its style writes (`,`, `=`, `.` or `;`).

use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaParamIn, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions, ParameterStyle};
use serde::de::DeserializeOwned;
use validator::Validate;

use super::problem::{FieldError, ParamRejected};
use crate::validate::violations;

/// Writes an object parameter extractor `$extractor<T, REQUIRED>`, documented
/// `in: $location`, whose raw value `$raw` (`fn(&Request, &ExtractParamOptions<T>,
/// &[&str]) -> Result<Option<Vec<(String, String)>>, String>`) gives the pairs.
macro_rules! object_extractor {
    ($(#[$doc:meta])* $extractor:ident, $location:expr, $raw:path) => {
        $(#[$doc])*
        pub struct $extractor<T, const REQUIRED: bool>(Option<T>);

        impl<T> $extractor<T, true> {
            /// The object (a required parameter is always there).
            pub fn required(self) -> T {
                self.0.expect("a required object parameter was read")
            }
        }

        impl<T> $extractor<T, false> {
            pub fn optional(self) -> Option<T> {
                self.0
            }
        }

        impl<'a, T, const REQUIRED: bool> ApiExtractor<'a> for $extractor<T, REQUIRED>
        where
            T: Type + DeserializeOwned + Validate + Send + Sync,
        {
            const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::Parameter];
            const PARAM_IS_REQUIRED: bool = REQUIRED;

            type ParamType = T;
            type ParamRawType = T;

            fn register(registry: &mut Registry) {
                T::register(registry);
            }

            fn param_in() -> Option<MetaParamIn> {
                Some($location)
            }

            fn param_schema_ref() -> Option<MetaSchemaRef> {
                Some(T::schema_ref())
            }

            fn param_raw_type(&self) -> Option<&Self::ParamRawType> {
                self.0.as_ref()
            }

            async fn from_request(
                request: &'a Request,
                _body: &mut RequestBody,
                param_opts: ExtractParamOptions<Self::ParamType>,
            ) -> poem::Result<Self> {
                let path = $location == MetaParamIn::Path;
                let name = param_opts.name;
                let properties = properties::<T>();
                let pairs = $raw(request, &param_opts, &properties)
                    .map_err(|why| ParamRejected::malformed(name, path, why))?;
                decode(name, path, REQUIRED, pairs).map(Self)
            }
        }
    };
}

object_extractor!(
    /// An object parameter in the query: `style: form` (exploded or not),
    /// `deepObject`, or `spaceDelimited`/`pipeDelimited` (not exploded).
    Query,
    MetaParamIn::Query,
    query_pairs
);

object_extractor!(
    /// An object parameter in a header: `style: simple` (exploded or not).
    Header,
    MetaParamIn::Header,
    header_pairs
);

object_extractor!(
    /// An object parameter in the path: `style: simple`, `label` or `matrix`
    /// (exploded or not). Named `Path` because poem-openapi's derive knows a
    /// path parameter by a type named so (and names it `param0`, `param1`…,
    /// which problem+json turns back into the contract's name).
    Path,
    MetaParamIn::Path,
    path_pairs
);

/// The names of `T`'s properties, from the schema it documents itself with.
fn properties<T: Type>() -> Vec<&'static str> {
    let mut registry = Registry::new();
    T::register(&mut registry);
    registry
        .schemas
        .get(T::name().as_ref())
        .map(|schema| schema.properties.iter().map(|(name, _)| *name).collect())
        .unwrap_or_default()
}

type Pairs = Option<Vec<(String, String)>>;

fn query_pairs<T>(
    request: &Request,
    opts: &ExtractParamOptions<T>,
    properties: &[&str],
) -> Result<Pairs, String> {
    let query: Vec<(String, String)> = request.params().unwrap_or_default();
    let name = opts.name;
    let pairs: Vec<(String, String)> = match opts.style {
        Some(ParameterStyle::DeepObject) => query
            .into_iter()
            .filter_map(|(key, value)| {
                let property = key
                    .strip_prefix(name)?
                    .strip_prefix('[')?
                    .strip_suffix(']')?;
                Some((property.to_owned(), value))
            })
            .collect(),
        _ if opts.explode => query
            .into_iter()
            .filter(|(key, _)| properties.contains(&key.as_str()))
            .collect(),
        _ => {
            let mut values = query.into_iter().filter(|(key, _)| key == name);
            let Some((_, value)) = values.next() else {
                return Ok(None);
            };
            if values.next().is_some() {
                return Err(format!("`{name}` is sent more than once"));
            }
            let delimiter = match opts.style {
                Some(ParameterStyle::SpaceDelimited) => ' ',
                Some(ParameterStyle::PipeDelimited) => '|',
                _ => ',',
            };
            return delimited_pairs(&value, delimiter).map(Some);
        }
    };
    Ok((!pairs.is_empty()).then_some(pairs))
}

fn header_pairs<T>(
    request: &Request,
    opts: &ExtractParamOptions<T>,
    _properties: &[&str],
) -> Result<Pairs, String> {
    let lines: Vec<&str> = request
        .headers()
        .get_all(opts.name)
        .iter()
        .map(|v| v.to_str().map_err(|_| "is not visible ASCII".to_owned()))
        .collect::<Result<_, _>>()?;
    if lines.is_empty() {
        return Ok(None);
    }
    simple_pairs(&lines.join(","), opts.explode, ',').map(Some)
}

fn path_pairs<T>(
    request: &Request,
    opts: &ExtractParamOptions<T>,
    _properties: &[&str],
) -> Result<Pairs, String> {
    let Some(value) = request.raw_path_param(opts.name) else {
        return Ok(None);
    };
    let pairs = match opts.style {
        Some(ParameterStyle::Label) => {
            let rest = value
                .strip_prefix('.')
                .ok_or_else(|| format!("`{value}` must start with `.` (`style: label`)"))?;
            simple_pairs(rest, opts.explode, '.')?
        }
        Some(ParameterStyle::Matrix) => {
            let rest = value
                .strip_prefix(';')
                .ok_or_else(|| format!("`{value}` must start with `;` (`style: matrix`)"))?;
            if opts.explode {
                simple_pairs(rest, true, ';')?
            } else {
                // `;name=k,v,k,v`: the name is not checked (poem-openapi tells
                // the extractor `param0`, not the contract's name).
                let (_, list) = rest
                    .split_once('=')
                    .ok_or_else(|| format!("`{value}` must be `;name=k,v,…` (`style: matrix`)"))?;
                comma_pairs(list)?
            }
        }
        _ => simple_pairs(value, opts.explode, ',')?,
    };
    Ok(Some(pairs))
}

/// `k,v,k,v`, or exploded `k=v` items separated by `separator`.
fn simple_pairs(
    value: &str,
    explode: bool,
    separator: char,
) -> Result<Vec<(String, String)>, String> {
    if !explode {
        return comma_pairs(value);
    }
    if value.is_empty() {
        return Ok(Vec::new());
    }
    value
        .split(separator)
        .map(|item| {
            item.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| format!("`{item}` must be `property=value`"))
        })
        .collect()
}

/// `k,v,k,v`: an even number of items, names and values in turn.
fn comma_pairs(value: &str) -> Result<Vec<(String, String)>, String> {
    delimited_pairs(value, ',')
}

/// [`comma_pairs`] with another delimiter (`spaceDelimited`: `k v k v`,
/// `pipeDelimited`: `k|v|k|v`).
fn delimited_pairs(value: &str, delimiter: char) -> Result<Vec<(String, String)>, String> {
    if value.is_empty() {
        return Ok(Vec::new());
    }
    let items: Vec<&str> = value.split(delimiter).collect();
    if !items.len().is_multiple_of(2) {
        return Err(format!(
            "`{value}` must be property and value in turn (`k{delimiter}v{delimiter}k{delimiter}v`): it has {} items",
            items.len()
        ));
    }
    Ok(items
        .chunks(2)
        .map(|kv| (kv[0].to_owned(), kv[1].to_owned()))
        .collect())
}

/// The object from its pairs, through serde, then its rules.
fn decode<T: DeserializeOwned + Validate>(
    name: &str,
    path: bool,
    required: bool,
    pairs: Pairs,
) -> poem::Result<Option<T>> {
    let value = match pairs {
        Some(pairs) => from_pairs::<T>(name, &pairs)
            .map_err(|errors| ParamRejected::new(name, path, errors))?,
        None if !required => return Ok(None),
        // An exploded object of optional properties may be sent as no pairs.
        None => from_pairs::<T>(name, &[]).map_err(|_| {
            ParamRejected::new(
                name,
                path,
                vec![FieldError::parameter(
                    name,
                    "required",
                    "is required".to_owned(),
                )],
            )
        })?,
    };
    if let Err(errors) = value.validate() {
        let errors = violations(&errors)
            .into_iter()
            .map(|v| FieldError {
                pointer: Some(v.pointer),
                parameter: Some(name.to_owned()),
                code: v.code,
                detail: v.message,
            })
            .collect();
        return Err(ParamRejected::new(name, path, errors).into());
    }
    Ok(Some(value))
}

/// serde over the pairs, as a form body is read; an error names the property.
fn from_pairs<T: DeserializeOwned>(
    name: &str,
    pairs: &[(String, String)],
) -> Result<T, Vec<FieldError>> {
    let encoded = serde_html_form::to_string(pairs).unwrap_or_default();
    let deserializer = serde_html_form::Deserializer::from_bytes(encoded.as_bytes());
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let property = error.path().to_string();
        let why = error.into_inner().to_string();
        let (pointer, code) = if why.starts_with("missing field") {
            (
                why.split('`').nth(1).unwrap_or_default().to_owned(),
                "required",
            )
        } else {
            (property, "type")
        };
        vec![FieldError {
            pointer: (!pointer.is_empty() && pointer != ".").then(|| format!("/{pointer}")),
            parameter: Some(name.to_owned()),
            code: code.to_owned(),
            detail: why,
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn simple_values_are_names_and_values_in_turn_or_exploded_pairs() {
        assert_eq!(
            simple_pairs("role,admin,firstName,Alex", false, ',').unwrap(),
            pairs(&[("role", "admin"), ("firstName", "Alex")])
        );
        assert_eq!(
            simple_pairs("role=admin,firstName=Alex", true, ',').unwrap(),
            pairs(&[("role", "admin"), ("firstName", "Alex")])
        );
        assert_eq!(
            simple_pairs("role=admin.firstName=Alex", true, '.').unwrap(),
            pairs(&[("role", "admin"), ("firstName", "Alex")])
        );
        assert!(simple_pairs("", false, ',').unwrap().is_empty());
        assert!(simple_pairs("role,admin,firstName", false, ',').is_err());
        assert!(simple_pairs("role,admin", true, ',').is_err());
        assert_eq!(
            delimited_pairs("role|admin|firstName|Alex", '|').unwrap(),
            pairs(&[("role", "admin"), ("firstName", "Alex")])
        );
        assert!(delimited_pairs("role,admin", '|').is_err(), "one item");
    }

    #[derive(Debug, serde::Deserialize, Validate, PartialEq)]
    struct Filter {
        #[validate(length(max = 3))]
        role: String,
        size: Option<i32>,
    }

    #[test]
    fn pairs_decode_by_serde_and_errors_name_the_property() {
        let filter: Option<Filter> = decode(
            "filter",
            false,
            true,
            Some(pairs(&[("role", "ab"), ("size", "2")])),
        )
        .unwrap();
        assert_eq!(
            filter,
            Some(Filter {
                role: "ab".into(),
                size: Some(2)
            })
        );
        let absent: Option<Filter> = decode("filter", false, false, None).unwrap();
        assert_eq!(absent, None);
        let problem = |pairs: Pairs, required: bool| {
            let error = decode::<Filter>("filter", false, required, pairs).unwrap_err();
            let rejected = error.downcast_ref::<ParamRejected>().unwrap();
            format!("{rejected:?}")
        };
        let wrong = problem(Some(pairs(&[("role", "ab"), ("size", "x")])), true);
        assert!(wrong.contains("pointer: Some(\"/size\")"), "{wrong}");
        let missing = problem(Some(pairs(&[("size", "1")])), true);
        assert!(missing.contains("pointer: Some(\"/role\")"), "{missing}");
        assert!(missing.contains("code: \"required\""), "{missing}");
        let long = problem(Some(pairs(&[("role", "abcd")])), true);
        assert!(long.contains("pointer: Some(\"/role\")"), "{long}");
        assert!(long.contains("code: \"length\""), "{long}");
        let required = problem(None, true);
        assert!(required.contains("code: \"required\""), "{required}");
        assert!(required.contains("pointer: None"), "{required}");
    }

    #[test]
    fn a_path_object_is_named_as_the_contract_does_in_the_problem() {
        let error: poem::Error = ParamRejected::malformed("param1", true, "odd".into()).into();
        let id = crate::server::RequestId::from_header_or_new(None);
        let problem = crate::server::problem_from_error(
            &error,
            &id,
            "/places/a/b",
            &["/places/{spot}/{corner}"],
        );
        assert_eq!(problem.errors[0].parameter.as_deref(), Some("corner"));
        assert_eq!(problem.detail.as_deref(), Some("parameter `corner` odd"));
    }
}
