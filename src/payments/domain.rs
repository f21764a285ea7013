//! Payments and refunds. No IO here.

use uuid::Uuid;

use crate::kernel::{Money, Timestamp, entity_id};
use crate::orders::domain::OrderId;

entity_id!(
    /// A payment's id.
    PaymentId
);

/// A captured charge of an order. `refunded` counts refunds that succeeded or
/// are pending, so that together they can never exceed `amount`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub id: PaymentId,
    pub order: OrderId,
    pub customer: Uuid,
    pub amount: Money,
    pub refunded: Money,
    /// The provider's reference for the charge, which refunds name.
    pub reference: String,
    pub created_at: Timestamp,
}

impl Payment {
    /// What may still be refunded.
    pub fn refundable(&self) -> Money {
        self.amount
            .checked_sub(self.refunded)
            .ok()
            .flatten()
            .unwrap_or_else(|| Money::zero(self.amount.currency()))
    }

    pub fn fully_refunded(&self) -> bool {
        self.refundable().is_zero()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundStatus {
    Pending,
    Succeeded,
    Failed,
}

impl RefundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Pending => "pending",
            RefundStatus::Succeeded => "succeeded",
            RefundStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(RefundStatus::Pending),
            "succeeded" => Some(RefundStatus::Succeeded),
            "failed" => Some(RefundStatus::Failed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub id: Uuid,
    pub payment: PaymentId,
    pub amount: Money,
    pub reason: String,
    pub status: RefundStatus,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundError {
    #[error("a refund must be more than 0")]
    Zero,
    #[error("the payment is in {payment}, the refund in {refund}")]
    Currency { payment: String, refund: String },
    #[error("only {refundable} of the payment can still be refunded")]
    Exceeds { refundable: Money },
}

impl Refund {
    /// A pending refund of `amount` from `payment`, if the payment allows it.
    pub fn request(
        payment: &Payment,
        amount: Money,
        reason: &str,
        now: Timestamp,
    ) -> Result<Refund, RefundError> {
        if amount.is_zero() {
            return Err(RefundError::Zero);
        }
        let refundable = payment.refundable();
        match refundable.checked_sub(amount) {
            Err(_) => Err(RefundError::Currency {
                payment: payment.amount.currency().to_string(),
                refund: amount.currency().to_string(),
            }),
            Ok(None) => Err(RefundError::Exceeds { refundable }),
            Ok(Some(_)) => Ok(Refund {
                id: Uuid::now_v7(),
                payment: payment.id,
                amount,
                reason: reason.to_owned(),
                status: RefundStatus::Pending,
                created_at: now,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::Currency;

    fn eur(minor: i64) -> Money {
        Money::new(minor, Currency::parse("EUR").unwrap()).unwrap()
    }

    fn payment(amount: i64, refunded: i64) -> Payment {
        Payment {
            id: PaymentId::new(),
            order: OrderId::new(),
            customer: Uuid::nil(),
            amount: eur(amount),
            refunded: eur(refunded),
            reference: "ch_1".into(),
            created_at: Timestamp::now(),
        }
    }

    #[test]
    fn refunds_never_exceed_what_is_left() {
        let now = Timestamp::now();
        assert!(Refund::request(&payment(1000, 0), eur(400), "r", now).is_ok());
        assert!(Refund::request(&payment(1000, 600), eur(400), "r", now).is_ok());
        assert_eq!(
            Refund::request(&payment(1000, 600), eur(401), "r", now),
            Err(RefundError::Exceeds {
                refundable: eur(400)
            })
        );
        assert_eq!(
            Refund::request(&payment(1000, 0), eur(0), "r", now),
            Err(RefundError::Zero)
        );
        let usd = Money::new(1, Currency::parse("USD").unwrap()).unwrap();
        assert!(matches!(
            Refund::request(&payment(1000, 0), usd, "r", now),
            Err(RefundError::Currency { .. })
        ));
        assert!(payment(1000, 1000).fully_refunded());
    }
}
