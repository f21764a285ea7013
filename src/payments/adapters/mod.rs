//! The payments context's adapters: payments and refunds on sea-orm, and the
//! built-in test payment provider.

mod sea_orm_payments;
mod test_gateway;

pub use sea_orm_payments::SeaOrmPayments;
pub use test_gateway::TestGateway;
