//! Conditional requests (RFC 9110 §13): the `ETag` a versioned resource is
//! sent with, and the `If-Match` test an update must pass.

/// A strong ETag from a version number: opaque to clients, cheap to compare.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// RFC 9110 §13.1.1: `*` or a list of entity tags, compared strongly (a weak
/// tag `W/"…"` never matches).
pub fn if_match_allows(header: &str, current: &str) -> bool {
    header
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag == current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_compares_strongly() {
        assert!(if_match_allows("\"3\"", "\"3\""));
        assert!(if_match_allows("\"1\", \"3\"", "\"3\""));
        assert!(if_match_allows("*", "\"3\""));
        assert!(!if_match_allows("W/\"3\"", "\"3\""));
        assert!(!if_match_allows("\"2\"", "\"3\""));
        assert_eq!(etag(3), "\"3\"");
    }
}
