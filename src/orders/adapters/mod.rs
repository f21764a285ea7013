//! The orders context's adapter: orders and their lines on sea-orm. (Its
//! other ports are served by the catalog's and the payments context's
//! adapters.)

mod sea_orm_orders;

pub use sea_orm_orders::SeaOrmOrders;
