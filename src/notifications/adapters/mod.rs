//! The notifications context's adapters: the database (stores and lists) and
//! SMTP (mails, through lettre).

mod sea_orm_store;
mod smtp;

pub use sea_orm_store::SeaOrmNotifications;
pub use smtp::{SmtpSender, SmtpSettings};
