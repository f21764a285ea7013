//! Mappings between the contract's shared types and the kernel's, used by
//! every service that speaks money.

use keel_server::types as dto;

use crate::kernel::{Currency, Money, MoneyError};

pub fn money_to_dto(money: Money) -> dto::Money {
    dto::Money {
        amount: money.minor(),
        currency: dto::Currency(money.currency().as_str().to_owned()),
    }
}

pub fn money_from_dto(money: &dto::Money) -> Result<Money, MoneyError> {
    Money::new(money.amount, Currency::parse(&money.currency)?)
}
