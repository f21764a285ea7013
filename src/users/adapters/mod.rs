//! Implementations of the users ports.

pub mod cached;
pub mod sea_orm_repository;

pub use cached::CachedUsers;
pub use sea_orm_repository::SeaOrmUserRepository;
