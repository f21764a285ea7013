//! The payments context: charges of orders, refunds, and the payment
//! provider behind the `PaymentGateway` port.

pub mod adapters;
pub mod domain;
pub mod ports;
pub mod service;

pub use service::PaymentsService;
