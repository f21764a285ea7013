//! The notifications context's adapters: the database (stores, lists,
//! erases), SMTP (mails, through lettre), and the users context (who exists).

mod sea_orm_store;
mod smtp;
mod users_directory;

pub use sea_orm_store::SeaOrmNotifications;
pub use smtp::{SmtpSender, SmtpSettings};
pub use users_directory::UsersDirectory;
