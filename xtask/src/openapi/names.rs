//! Names in generated code, derived from names in the contract.

/// Splits `displayName`, `If-Match`, `user_id`, `HTTPStatus` into lower-case words.
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        let starts_word = c.is_ascii_uppercase()
            && i > 0
            && (chars[i - 1].is_ascii_lowercase()
                || chars[i - 1].is_ascii_digit()
                || (chars[i - 1].is_ascii_uppercase()
                    && chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase())));
        if starts_word && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

pub fn pascal_case(name: &str) -> String {
    words(name)
        .iter()
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// A Rust field, method or module name. Keywords get a trailing underscore
/// (`type_`) rather than a raw identifier, which not every derive handles.
pub fn snake_case(name: &str) -> String {
    let mut snake = words(name).join("_");
    if snake.starts_with(|c: char| c.is_ascii_digit()) {
        snake.insert(0, '_');
    }
    if RUST_KEYWORDS.contains(&snake.as_str()) {
        snake.push('_');
    }
    snake
}

/// A Rust name for an HTTP header. Header names are case-insensitive, so the
/// name is lower-cased whole (`ETag` → `etag`) instead of split at capitals.
pub fn header_snake_case(name: &str) -> String {
    snake_case(&name.to_ascii_lowercase())
}

const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true", "type", "unsafe",
    "use", "where", "while", "abstract", "become", "box", "do", "final", "macro", "override",
    "priv", "try", "typeof", "unsized", "virtual", "yield",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases() {
        assert_eq!(snake_case("displayName"), "display_name");
        assert_eq!(snake_case("If-Match"), "if_match");
        assert_eq!(snake_case("type"), "type_");
        assert_eq!(snake_case("HTTPStatus"), "http_status");
        assert_eq!(header_snake_case("ETag"), "etag");
        assert_eq!(header_snake_case("X-Request-ID"), "x_request_id");
        assert_eq!(pascal_case("createUser"), "CreateUser");
        assert_eq!(pascal_case("user_id"), "UserId");
        assert_eq!(pascal_case("emailContains"), "EmailContains");
    }
}
