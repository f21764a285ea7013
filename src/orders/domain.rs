//! Orders and the process that fulfils them, as an explicit state machine:
//!
//! ```text
//! pending ──reserve──▶ stock_reserved ──pay──▶ paid ──confirm──▶ confirmed
//!    │                      │                   │                   │
//!    └─reject─▶ rejected    └─fail─▶ payment_failed                 │
//!    └───────────┴──────────────cancel───────────┴───────────────────┴─▶ cancelled
//! ```
//!
//! Every transition not drawn is refused ([`IllegalTransition`]); each step
//! of the saga asks the order first, so a step that arrives late (after a
//! cancel) does nothing. No IO here.

use uuid::Uuid;

use crate::catalog::domain::ProductId;
pub use crate::kernel::Version;
use crate::kernel::{Money, MoneyError, Timestamp, entity_id};

entity_id!(
    /// An order's id.
    OrderId
);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Pending,
    StockReserved,
    Paid,
    Confirmed,
    Rejected,
    PaymentFailed,
    Cancelled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::StockReserved => "stock_reserved",
            Status::Paid => "paid",
            Status::Confirmed => "confirmed",
            Status::Rejected => "rejected",
            Status::PaymentFailed => "payment_failed",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        [
            Status::Pending,
            Status::StockReserved,
            Status::Paid,
            Status::Confirmed,
            Status::Rejected,
            Status::PaymentFailed,
            Status::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    /// Where the order's stock is, which is what undoing the order must undo.
    pub fn stock_hold(self) -> StockHold {
        match self {
            Status::StockReserved | Status::Paid => StockHold::Reserved,
            Status::Confirmed => StockHold::Taken,
            Status::Pending | Status::Rejected | Status::PaymentFailed | Status::Cancelled => {
                StockHold::None
            }
        }
    }
}

/// What an order holds of the products' stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockHold {
    None,
    /// Moved from available to reserved: releasing moves it back.
    Reserved,
    /// Left the stock at confirmation: undoing puts it back as available.
    Taken,
}

/// What happens to an order, one saga step at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    ReserveStock,
    Reject(String),
    Pay(Uuid),
    FailPayment(String),
    Confirm,
    Cancel,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an order that is {from} cannot take the step {step:?}")]
pub struct IllegalTransition {
    pub from: &'static str,
    pub step: Step,
}

/// What the payment provider is to charge: the token the customer's browser
/// got for their card. Opaque here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentToken(String);

impl PaymentToken {
    pub fn parse(raw: &str) -> Option<Self> {
        let rest = raw.strip_prefix("tok_")?;
        let valid = (1..=100).contains(&rest.len())
            && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        valid.then(|| PaymentToken(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A line of an order at the price it was placed at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub product: ProductId,
    pub name: String,
    pub quantity: u32,
    pub unit_price: Money,
    pub line_total: Money,
}

/// A product as the order sees it when placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedProduct {
    pub id: ProductId,
    pub name: String,
    pub price: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaceError {
    #[error("the products are priced in different currencies ({0} and {1}); order them separately")]
    MixedCurrencies(String, String),
    #[error("the total is too large")]
    TooLarge,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: OrderId,
    pub customer: Uuid,
    pub status: Status,
    pub items: Vec<Item>,
    pub total: Money,
    pub payment_token: PaymentToken,
    pub payment: Option<Uuid>,
    pub failure_reason: Option<String>,
    pub version: Version,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Order {
    /// A pending order for `lines`, priced from the catalog: the server, never
    /// the client, computes every amount. A product listed twice is one line
    /// with the quantities added.
    pub fn place(
        customer: Uuid,
        lines: &[(PricedProduct, u32)],
        payment_token: PaymentToken,
        now: Timestamp,
    ) -> Result<Order, PlaceError> {
        let mut merged: Vec<(PricedProduct, u32)> = Vec::with_capacity(lines.len());
        for (product, quantity) in lines {
            match merged.iter_mut().find(|(p, _)| p.id == product.id) {
                Some((_, sum)) => {
                    *sum = sum.checked_add(*quantity).ok_or(PlaceError::TooLarge)?;
                }
                None => merged.push((product.clone(), *quantity)),
            }
        }
        let mut items = Vec::with_capacity(merged.len());
        let currency = merged.first().map(|(p, _)| p.price.currency());
        let mut total = None::<Money>;
        for (product, quantity) in &merged {
            let line_total = product
                .price
                .checked_mul(*quantity)
                .map_err(|_| PlaceError::TooLarge)?;
            total = Some(match total {
                None => line_total,
                Some(sum) => sum.checked_add(line_total).map_err(|e| match e {
                    MoneyError::CurrencyMismatch(a, b) => {
                        PlaceError::MixedCurrencies(a.to_string(), b.to_string())
                    }
                    _ => PlaceError::TooLarge,
                })?,
            });
            items.push(Item {
                product: product.id,
                name: product.name.clone(),
                quantity: *quantity,
                unit_price: product.price,
                line_total,
            });
        }
        let total = total.expect("an order has at least one line (the contract's minItems)");
        if total.minor() > Money::MAX_MINOR {
            return Err(PlaceError::TooLarge);
        }
        debug_assert_eq!(Some(total.currency()), currency);
        Ok(Order {
            id: OrderId::new(),
            customer,
            status: Status::Pending,
            items,
            total,
            payment_token,
            payment: None,
            failure_reason: None,
            version: Version::FIRST,
            created_at: now,
            updated_at: now,
        })
    }

    /// Takes `step` if the state machine allows it from here.
    pub fn take(&mut self, step: Step, now: Timestamp) -> Result<(), IllegalTransition> {
        use Status::*;
        let next = match (&self.status, &step) {
            (Pending, Step::ReserveStock) => StockReserved,
            (Pending, Step::Reject(_)) => Rejected,
            (StockReserved, Step::Pay(_)) => Paid,
            (StockReserved, Step::FailPayment(_)) => PaymentFailed,
            (Paid, Step::Confirm) => Confirmed,
            (Pending | StockReserved | Paid | Confirmed, Step::Cancel) => Cancelled,
            _ => {
                return Err(IllegalTransition {
                    from: self.status.as_str(),
                    step,
                });
            }
        };
        match step {
            Step::Reject(reason) | Step::FailPayment(reason) => self.failure_reason = Some(reason),
            Step::Pay(payment) => self.payment = Some(payment),
            _ => {}
        }
        self.status = next;
        self.version = self.version.next();
        self.updated_at = now;
        Ok(())
    }

    /// The lines as (product, quantity), sorted by product so that every
    /// writer locks product rows in one order and none deadlocks another.
    pub fn quantities(&self) -> Vec<(ProductId, u32)> {
        let mut lines: Vec<_> = self.items.iter().map(|i| (i.product, i.quantity)).collect();
        lines.sort_by_key(|(product, _)| *product);
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::Currency;

    fn eur(minor: i64) -> Money {
        Money::new(minor, Currency::parse("EUR").unwrap()).unwrap()
    }

    fn product(price: Money) -> PricedProduct {
        PricedProduct {
            id: ProductId::new(),
            name: "Teapot".into(),
            price,
        }
    }

    fn order() -> Order {
        Order::place(
            Uuid::now_v7(),
            &[(product(eur(250)), 2), (product(eur(100)), 1)],
            PaymentToken::parse("tok_approve").unwrap(),
            Timestamp::now(),
        )
        .unwrap()
    }

    #[test]
    fn totals_are_computed_from_prices() {
        let order = order();
        assert_eq!(order.total, eur(600));
        assert_eq!(order.items[0].line_total, eur(500));
        assert_eq!(order.status, Status::Pending);
    }

    #[test]
    fn placing_merges_repeated_products_and_refuses_mixed_currencies() {
        let teapot = product(eur(3));
        let token = || PaymentToken::parse("tok_x").unwrap();
        let twice = Order::place(
            Uuid::nil(),
            &[(teapot.clone(), 1), (teapot, 2)],
            token(),
            Timestamp::now(),
        )
        .unwrap();
        assert_eq!(twice.items.len(), 1);
        assert_eq!((twice.items[0].quantity, twice.total), (3, eur(9)));
        let usd = Money::new(1, Currency::parse("USD").unwrap()).unwrap();
        assert!(matches!(
            Order::place(
                Uuid::nil(),
                &[(product(eur(1)), 1), (product(usd), 1)],
                token(),
                Timestamp::now()
            ),
            Err(PlaceError::MixedCurrencies(..))
        ));
        let huge = product(eur(Money::MAX_MINOR));
        assert_eq!(
            Order::place(Uuid::nil(), &[(huge, 2)], token(), Timestamp::now()),
            Err(PlaceError::TooLarge)
        );
    }

    #[test]
    fn the_happy_path_and_its_versions() {
        let mut order = order();
        let now = Timestamp::now();
        order.take(Step::ReserveStock, now).unwrap();
        let payment = Uuid::now_v7();
        order.take(Step::Pay(payment), now).unwrap();
        order.take(Step::Confirm, now).unwrap();
        assert_eq!(order.status, Status::Confirmed);
        assert_eq!(order.payment, Some(payment));
        assert_eq!(order.version.get(), 4);
    }

    #[test]
    fn steps_out_of_turn_are_refused() {
        let now = Timestamp::now();
        let mut order = order();
        assert!(order.take(Step::Confirm, now).is_err());
        assert!(order.take(Step::Pay(Uuid::nil()), now).is_err());
        order.take(Step::Reject("no stock".into()), now).unwrap();
        assert_eq!(order.failure_reason.as_deref(), Some("no stock"));
        for step in [Step::ReserveStock, Step::Cancel, Step::Confirm] {
            assert!(order.take(step, now).is_err(), "a rejected order is final");
        }
        let mut cancelled = self::order();
        cancelled.take(Step::Cancel, now).unwrap();
        assert!(
            cancelled.take(Step::ReserveStock, now).is_err(),
            "a late step does nothing"
        );
    }

    #[test]
    fn what_a_cancel_must_undo() {
        assert_eq!(Status::Pending.stock_hold(), StockHold::None);
        assert_eq!(Status::StockReserved.stock_hold(), StockHold::Reserved);
        assert_eq!(Status::Paid.stock_hold(), StockHold::Reserved);
        assert_eq!(Status::Confirmed.stock_hold(), StockHold::Taken);
    }

    #[test]
    fn payment_tokens_have_the_contract_form() {
        assert!(PaymentToken::parse("tok_approve").is_some());
        assert!(PaymentToken::parse("tok_").is_none());
        assert!(PaymentToken::parse("card_1").is_none());
        assert!(PaymentToken::parse("tok_a-b").is_none());
    }
}
