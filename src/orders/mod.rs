//! The orders context: placing orders and the saga that fulfils them
//! (`saga.rs`), over the catalog's stock and the payments context.

pub mod adapters;
pub mod domain;
pub mod ports;
pub mod saga;
pub mod service;

pub use service::OrdersService;
