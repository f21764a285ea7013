//! A response declared in several media types: JSON, or bytes in another.

/// The body of a response the contract declares as `application/json` and as
/// bytes (`type: string, format: binary`) in other media types: the service
/// chooses one per response (by the request's `Accept`, say), and the client
/// receives the one the `Content-Type` names.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonOrBytes<T> {
    /// `application/json`.
    Json(T),
    /// Bytes, in one of the other media types the contract declares for the
    /// response (the server refuses to send any other).
    Bytes { content_type: String, body: Vec<u8> },
}

/// The media type of a `Content-Type` value, without parameters, lowercase.
pub fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::essence;

    #[test]
    fn the_essence_drops_parameters_and_case() {
        assert_eq!(essence("Text/CSV; charset=utf-8"), "text/csv");
        assert_eq!(essence("application/json"), "application/json");
    }
}
