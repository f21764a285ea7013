//! The catalog's adapter: products and stock on sea-orm, for PostgreSQL and
//! SQLite alike. It also serves the orders context's `Inventory` port, with a
//! read cache of prices in front (`CachedProducts`, ADR 20).

mod cached;
mod sea_orm_products;

pub use cached::CachedProducts;
pub use sea_orm_products::SeaOrmProducts;
