//! Implementations of the users ports.

pub mod sea_orm_repository;

pub use sea_orm_repository::SeaOrmUserRepository;
