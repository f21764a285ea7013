//! The catalog's adapter: products and stock on sea-orm, for PostgreSQL and
//! SQLite alike. It also serves the orders context's `Inventory` port.

mod sea_orm_products;

pub use sea_orm_products::SeaOrmProducts;
