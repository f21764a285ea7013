/// How a parameter value is written in a path segment, query string or header.
pub trait ToParam {
    fn to_param(&self) -> String;
}

macro_rules! to_param_by_display {
    ($($t:ty),*) => {$(
        impl ToParam for $t {
            fn to_param(&self) -> String {
                self.to_string()
            }
        }
    )*};
}

to_param_by_display!(
    String,
    i32,
    i64,
    f32,
    f64,
    bool,
    uuid::Uuid,
    chrono::NaiveDate
);

/// An array in a path, header or cookie (and the query with `explode: false`):
/// the items joined by commas (`a,b,c`).
impl<T: ToParam> ToParam for Vec<T> {
    fn to_param(&self) -> String {
        self.iter()
            .map(ToParam::to_param)
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl ToParam for chrono::DateTime<chrono::Utc> {
    /// RFC 3339 with `Z`, as the contract's `date-time` format requires.
    fn to_param(&self) -> String {
        self.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_times_are_rfc_3339() {
        let at = chrono::DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        assert_eq!(at.to_param(), "2023-11-14T22:13:20.123456Z");
    }
}
