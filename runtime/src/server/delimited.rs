//! Array parameters outside the query: one value, items joined by commas.

use std::borrow::Cow;
use std::ops::Deref;

use poem::{Request, RequestBody};
use poem_openapi::error::{ParseParamError, ParsePathError};
use poem_openapi::registry::{MetaParamIn, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseError, ParseFromParameter, ParseResult, Type};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions, ParameterStyle};

/// An array parameter in a path, a header or a cookie: `a,b,c` (OpenAPI's
/// `simple` style, and `form` with `explode: false` in a cookie). poem-openapi
/// reads a `Vec<T>` there as one item per header line; this splits each value
/// at its commas, so several header lines add their items in order, as HTTP
/// reads repeated headers. An empty value is an empty array.
///
/// The value is split after poem has decoded it, so an item cannot contain a
/// comma (clients percent-encode one inside an item, which the decoding undoes),
/// as for `explode: false` in the query.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CommaSeparated<T>(pub Vec<T>);

impl<T> Deref for CommaSeparated<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T: Type> Type for CommaSeparated<T> {
    const IS_REQUIRED: bool = true;

    type RawValueType = Self;

    type RawElementValueType = T::RawValueType;

    fn name() -> Cow<'static, str> {
        <Vec<T> as Type>::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        <Vec<T> as Type>::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.0.iter().filter_map(|item| item.as_raw_value()))
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<T: ParseFromParameter> ParseFromParameter for CommaSeparated<T> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Self::parse_from_parameters(std::iter::once(value))
    }

    fn parse_from_parameters<I: IntoIterator<Item = A>, A: AsRef<str>>(
        iter: I,
    ) -> ParseResult<Self> {
        let mut items = Vec::new();
        for value in iter {
            let value = value.as_ref();
            if value.is_empty() {
                continue;
            }
            for item in value.split(',') {
                items.push(T::parse_from_parameter(item).map_err(ParseError::propagate)?);
            }
        }
        Ok(CommaSeparated(items))
    }
}

/// A query parameter that is an array with `explode: false` (`?ids=a,b`), of
/// type `CommaSeparated<T>` or `Option<CommaSeparated<T>>`. poem-openapi's own
/// `Query` with `explode = false` panics when the parameter is absent; this
/// reads every `name=` pair of the query string instead (each split at its
/// commas), so an absent parameter is `None` (or empty), as for exploded ones.
///
/// With `#[oai(style = "space_delimited")]` or `"pipe_delimited"` (which
/// poem-openapi only documents) the type is `Vec<T>` or `Option<Vec<T>>` and
/// this splits each value at its spaces (`?ids=a%20b`, `a+b`) or `|` itself; an
/// empty value is no items.
pub struct JoinedQuery<T>(pub T);

/// Writes the `ApiExtractor` of a parameter type `$extractor<T>`: poem-openapi
/// documents it as a parameter `in: $location` of `T`'s schema, and `$read`
/// (`fn(&Request, ExtractParamOptions<T>) -> poem::Result<T>`) reads it. The
/// rest of the impl is the same for every such parameter.
macro_rules! parameter_extractor {
    ($extractor:ident, $location:expr, $read:path) => {
        impl<'a, T: ParseFromParameter> ApiExtractor<'a> for $extractor<T> {
            const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::Parameter];
            const PARAM_IS_REQUIRED: bool = T::IS_REQUIRED;

            type ParamType = T;
            type ParamRawType = T::RawValueType;

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
                self.0.as_raw_value()
            }

            async fn from_request(
                request: &'a Request,
                _body: &mut RequestBody,
                param_opts: ExtractParamOptions<Self::ParamType>,
            ) -> poem::Result<Self> {
                $read(request, param_opts).map(Self)
            }
        }
    };
}

parameter_extractor!(JoinedQuery, MetaParamIn::Query, read_joined);

fn read_joined<T: ParseFromParameter>(
    request: &Request,
    param_opts: ExtractParamOptions<T>,
) -> poem::Result<T> {
    let pairs: Vec<(String, String)> = request.params().unwrap_or_default();
    let values: Vec<&str> = pairs
        .iter()
        .filter(|(name, _)| name == param_opts.name)
        .map(|(_, value)| value.as_str())
        .collect();
    if values.is_empty()
        && let Some(default_value) = &param_opts.default_value
    {
        return Ok(default_value());
    }
    let delimiter = match param_opts.style {
        Some(ParameterStyle::SpaceDelimited) => Some(' '),
        Some(ParameterStyle::PipeDelimited) => Some('|'),
        _ => None,
    };
    let parsed = match delimiter {
        None => T::parse_from_parameters(values),
        Some(delimiter) => T::parse_from_parameters(
            values
                .into_iter()
                // `str::is_empty`, not poem-openapi's `Type::is_empty` (always `false`).
                .filter(|value| !str::is_empty(value))
                .flat_map(|value| value.split(delimiter)),
        ),
    };
    parsed.map_err(|err| {
        ParseParamError {
            name: param_opts.name,
            reason: err.into_message(),
        }
        .into()
    })
}

pub mod styled {
    //! Path parameters with `style: label` or `matrix`.

    use super::*;

    /// A path parameter with `style: label` (`.5`; an array `.a,b`, exploded
    /// `.a.b`) or `style: matrix` (`;id=5`; an array `;id=a,b`, exploded
    /// `;id=a;id=b`), as the parameter's `#[oai(style = …, explode = …)]` says
    /// (poem-openapi only documents it); `T` is the value's type, `Vec<_>` for an
    /// array. The segment is read after poem has percent-decoded it, so an item
    /// cannot contain the character that separates items. An empty array is `.`
    /// or `;id`.
    ///
    /// Named `Path` because poem-openapi's derive knows a path parameter by a type
    /// named so, and binds it to the path's variables by position: the extractor
    /// is told `param0`, `param1`, … rather than the parameter's name, so a matrix
    /// segment's name is read from the segment (the same in every pair), not
    /// checked against the contract.
    pub struct Path<T>(pub T);

    parameter_extractor!(Path, MetaParamIn::Path, read_styled);

    fn read_styled<T: ParseFromParameter>(
        request: &Request,
        param_opts: ExtractParamOptions<T>,
    ) -> poem::Result<T> {
        let name = param_opts.name;
        let array =
            matches!(T::schema_ref(), MetaSchemaRef::Inline(schema) if schema.ty == "array");
        let value = request.raw_path_param(name).unwrap_or_default();
        let items = styled_items(value, param_opts.style, param_opts.explode, array)
            .map_err(|reason| ParsePathError { name, reason })?;
        T::parse_from_parameters(items).map_err(|err| {
            ParsePathError {
                name,
                reason: err.into_message(),
            }
            .into()
        })
    }

    /// The items of a `label` or `matrix` path segment (one for a value that is
    /// not an array), or why it is not one.
    pub(super) fn styled_items(
        value: &str,
        style: Option<ParameterStyle>,
        explode: bool,
        array: bool,
    ) -> Result<Vec<&str>, String> {
        let (rest, separator) = match style {
            Some(ParameterStyle::Label) => {
                let rest = value
                    .strip_prefix('.')
                    .ok_or_else(|| format!("`{value}` must start with `.` (`style: label`)"))?;
                (rest, if explode { "." } else { "," })
            }
            Some(ParameterStyle::Matrix) => {
                let malformed = || format!("`{value}` must be `;name=value` (`style: matrix`)");
                let pairs = value.strip_prefix(';').ok_or_else(malformed)?;
                let name = pairs.split(['=', ';']).next().unwrap_or_default();
                let rest = &pairs[name.len()..];
                if name.is_empty() {
                    return Err(malformed());
                }
                if rest.is_empty() {
                    return Ok(if array { Vec::new() } else { vec![""] });
                }
                let rest = rest.strip_prefix('=').ok_or_else(malformed)?;
                if explode && array {
                    let between = format!(";{name}=");
                    return Ok(rest.split(between.as_str()).collect());
                }
                (rest, ",")
            }
            _ => return Ok(vec![value]),
        };
        Ok(match (array, rest.is_empty()) {
            (false, _) => vec![rest],
            (true, true) => Vec::new(),
            (true, false) => rest.split(separator).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reading the query never waits, so one poll finishes it.
    fn delimited(query: &str, style: ParameterStyle) -> poem::Result<Option<Vec<i32>>> {
        let request = Request::builder()
            .uri(format!("/?{query}").parse().unwrap())
            .finish();
        let options = ExtractParamOptions {
            name: "years",
            explode: false,
            style: Some(style),
            ..Default::default()
        };
        let mut body = RequestBody::default();
        let mut read = std::pin::pin!(JoinedQuery::<Option<Vec<i32>>>::from_request(
            &request, &mut body, options
        ));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match read.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(result) => result.map(|q| q.0),
            std::task::Poll::Pending => panic!("reading the query waited"),
        }
    }

    #[test]
    fn label_and_matrix_segments_give_their_items() {
        let label = Some(ParameterStyle::Label);
        let matrix = Some(ParameterStyle::Matrix);
        let items =
            |value, style, explode, array| styled::styled_items(value, style, explode, array);
        assert_eq!(items(".5", label, false, false).unwrap(), ["5"]);
        assert_eq!(
            items(".a,b", label, false, false).unwrap(),
            ["a,b"],
            "one value"
        );
        assert_eq!(items(".a,b", label, false, true).unwrap(), ["a", "b"]);
        assert_eq!(items(".a.b", label, true, true).unwrap(), ["a", "b"]);
        assert!(items(".", label, false, true).unwrap().is_empty());
        assert!(items("5", label, false, false).is_err());
        assert_eq!(items(";id=5", matrix, false, false).unwrap(), ["5"]);
        assert_eq!(items(";id=a,b", matrix, false, true).unwrap(), ["a", "b"]);
        assert_eq!(items(";id=a;id=b", matrix, true, true).unwrap(), ["a", "b"]);
        assert!(items(";id", matrix, true, true).unwrap().is_empty());
        assert_eq!(
            items(";other=5", matrix, false, false).unwrap(),
            ["5"],
            "the name is not known"
        );
        assert!(items(";=5", matrix, false, false).is_err());
        assert!(items("5", matrix, false, false).is_err());
    }

    #[test]
    fn space_and_pipe_delimited_values_split_at_their_delimiter() {
        let pipe = ParameterStyle::PipeDelimited;
        let space = ParameterStyle::SpaceDelimited;
        assert_eq!(delimited("years=1|2", pipe).unwrap(), Some(vec![1, 2]));
        assert_eq!(delimited("years=1+2", space).unwrap(), Some(vec![1, 2]));
        assert_eq!(delimited("years=1%202", space).unwrap(), Some(vec![1, 2]));
        assert_eq!(delimited("years=", pipe).unwrap(), None, "no items");
        assert_eq!(delimited("other=1", pipe).unwrap(), None);
        assert!(delimited("years=1,2", pipe).is_err(), "not commas");
    }

    #[test]
    fn values_split_at_commas_and_lines_add_up() {
        let one = CommaSeparated::<i32>::parse_from_parameters(["1,2,3"]).unwrap();
        assert_eq!(one.0, [1, 2, 3]);
        let lines = CommaSeparated::<String>::parse_from_parameters(["a,b", "c"]).unwrap();
        assert_eq!(lines.0, ["a", "b", "c"]);
        let empty = CommaSeparated::<String>::parse_from_parameters([""]).unwrap();
        assert!(empty.0.is_empty());
        assert!(CommaSeparated::<i32>::parse_from_parameters(["1,x"]).is_err());
    }
}
