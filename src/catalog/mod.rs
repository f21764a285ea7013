//! The catalog context: products, their prices and their stock. It serves
//! the orders context's `Inventory` port from its adapter.

pub mod adapters;
pub mod domain;
pub mod ports;
pub mod service;

pub use service::ProductsService;
