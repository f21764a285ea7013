//! The auth context: passwords, access tokens (JWT) and refresh-token families.
//! Accounts themselves belong to the users context; this one reaches them only
//! through the users context's repository port.

pub mod keys;
pub mod password;
pub mod ports;
pub mod refresh_tokens;
pub mod service;

pub use keys::{AccessTokens, RoleScopes, SigningKeys};
pub use password::Passwords;
pub use service::AuthService;
