//! Page cursors: the id of the last item of a page, base64url (22 characters).
//! Opaque to clients, so the form can change without breaking them.

use base64::Engine;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use uuid::Uuid;

/// Accepts any 22 characters of the contract's pattern (`^[A-Za-z0-9_-]{22}$`):
/// non-canonical trailing bits still name a position, so every string the
/// contract allows is a cursor and none is refused.
const CODEC: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

pub fn encode(id: Uuid) -> String {
    CODEC.encode(id.as_bytes())
}

pub fn decode(cursor: &str) -> Option<Uuid> {
    CODEC
        .decode(cursor)
        .ok()
        .and_then(|bytes| Uuid::from_slice(&bytes).ok())
}

/// The `cursor` query parameter, or the 400 that names it.
pub fn parameter(cursor: &str) -> Result<Uuid, super::problem::FieldProblem> {
    decode(cursor).ok_or_else(|| {
        super::problem::FieldProblem::parameter(
            "cursor",
            "cursor",
            "is not a `nextCursor` this API returned".to_owned(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_any_pattern_match_decodes() {
        let id = Uuid::now_v7();
        assert_eq!(encode(id).len(), 22);
        assert_eq!(decode(&encode(id)), Some(id));
        assert!(
            decode("0000000000000000000000").is_some(),
            "non-canonical trailing bits"
        );
        assert!(decode("not a cursor").is_none());
        assert!(decode("AAAA").is_none(), "too short for an id");
    }
}
