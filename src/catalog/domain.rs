//! Products and their stock, as the business sees them. No IO here.

use uuid::Uuid;

pub use crate::kernel::Version;
use crate::kernel::{Money, Timestamp, entity_id};

entity_id!(
    /// A product's id.
    ProductId
);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidValue {
    #[error(
        "must be 1 to 200 characters, without leading or trailing white space or control characters"
    )]
    Name,
    #[error("must be at most 5000 characters")]
    Description,
    #[error("must be 1 to 500 characters")]
    Reason,
}

/// A product's name: 1–200 characters, trimmed, printable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductName(String);

impl ProductName {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let chars = raw.chars().count();
        if (1..=200).contains(&chars) && raw.trim() == raw && !raw.chars().any(char::is_control) {
            Ok(ProductName(raw.to_owned()))
        } else {
            Err(InvalidValue::Name)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if raw.chars().count() <= 5000 {
            Ok(Description(raw.to_owned()))
        } else {
            Err(InvalidValue::Description)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Units of a product: `available` for new orders, `reserved` for orders in
/// progress. Neither is ever negative (the database checks it too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stock {
    pub available: u64,
    pub reserved: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub id: ProductId,
    pub name: ProductName,
    pub description: Option<Description>,
    pub price: Money,
    pub stock: Stock,
    pub version: Version,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What `updateProduct` may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProductChanges {
    pub name: Option<ProductName>,
    pub description: Option<Option<Description>>,
    pub price: Option<Money>,
}

impl Product {
    pub fn create(
        name: ProductName,
        description: Option<Description>,
        price: Money,
        initial_stock: u64,
        now: Timestamp,
    ) -> Self {
        Product {
            id: ProductId::new(),
            name,
            description,
            price,
            stock: Stock {
                available: initial_stock,
                reserved: 0,
            },
            version: Version::FIRST,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn apply(&mut self, changes: ProductChanges, now: Timestamp) {
        if let Some(name) = changes.name {
            self.name = name;
        }
        if let Some(description) = changes.description {
            self.description = description;
        }
        if let Some(price) = changes.price {
            self.price = price;
        }
        self.version = self.version.next();
        self.updated_at = now;
    }
}

/// A change to available stock, and why. A delta of 0 records a count that
/// found what the books said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockAdjustment {
    pub id: Uuid,
    pub product: ProductId,
    pub delta: i64,
    pub reason: String,
    pub at: Timestamp,
}

impl StockAdjustment {
    pub fn new(
        product: ProductId,
        delta: i64,
        reason: &str,
        at: Timestamp,
    ) -> Result<Self, InvalidValue> {
        if !(1..=500).contains(&reason.chars().count()) {
            return Err(InvalidValue::Reason);
        }
        Ok(StockAdjustment {
            id: Uuid::now_v7(),
            product,
            delta,
            reason: reason.to_owned(),
            at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_printable() {
        assert!(ProductName::parse("Teapot").is_ok());
        assert!(ProductName::parse(" Teapot").is_err());
        assert!(ProductName::parse("").is_err());
        assert!(ProductName::parse("Tea\u{7}pot").is_err());
        assert!(ProductName::parse(&"x".repeat(201)).is_err());
    }

    #[test]
    fn adjustments_need_a_reason() {
        let now = Timestamp::now();
        assert!(StockAdjustment::new(ProductId::new(), 0, "count", now).is_ok());
        assert_eq!(
            StockAdjustment::new(ProductId::new(), 3, "", now),
            Err(InvalidValue::Reason)
        );
        assert!(StockAdjustment::new(ProductId::new(), -3, "breakage", now).is_ok());
    }
}
