//! Setting up what a benchmark reads or writes, through Keel's own API: a
//! customer with a token, an administrator, products with stock.

use std::net::SocketAddr;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::process::Database;

pub struct Api {
    base: String,
    http: reqwest::Client,
}

pub struct Account {
    pub id: String,
    pub token: String,
}

impl Api {
    pub fn new(addr: SocketAddr) -> Self {
        Api {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
        }
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        expected: u16,
        what: &str,
    ) -> Result<Value> {
        let response = request.send().await.with_context(|| what.to_owned())?;
        let status = response.status().as_u16();
        let body = response.text().await?;
        if status != expected {
            bail!("{what}: {status} {body}");
        }
        Ok(serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    /// Registers `email` and logs it in.
    pub async fn customer(&self, email: &str) -> Result<Account> {
        let password = "benchmark password";
        let user = self
            .send(
                self.http
                    .post(format!("{}/v1/auth/register", self.base))
                    .json(&json!({"email": email, "displayName": "Bench", "password": password})),
                201,
                "registering",
            )
            .await?;
        let token = self.login(email, password).await?;
        Ok(Account {
            id: user["id"].as_str().context("a user id")?.to_owned(),
            token,
        })
    }

    async fn login(&self, email: &str, password: &str) -> Result<String> {
        let tokens = self
            .send(
                self.http
                    .post(format!("{}/v1/auth/token", self.base))
                    .json(&json!({"email": email, "password": password})),
                200,
                "logging in",
            )
            .await?;
        Ok(tokens["accessToken"]
            .as_str()
            .context("an access token")?
            .to_owned())
    }

    /// An administrator: the operator's way, a role set in the database,
    /// then a fresh login so the token carries the admin scopes.
    pub async fn admin(&self, db: &Database) -> Result<Account> {
        let email = "bench-admin@example.com";
        let account = self.customer(email).await?;
        db.execute(&format!(
            "UPDATE users SET role = 'admin' WHERE email = '{email}'"
        ))?;
        let token = self.login(email, "benchmark password").await?;
        Ok(Account {
            id: account.id,
            token,
        })
    }

    /// A product with `stock` units; returns its id.
    pub async fn product(&self, admin: &Account, name: &str, stock: i64) -> Result<String> {
        let product = self
            .send(
                self.http
                    .post(format!("{}/v1/products", self.base))
                    .bearer_auth(&admin.token)
                    .json(&json!({
                        "name": name,
                        "price": {"amount": 1250, "currency": "EUR"},
                        "initialStock": stock,
                    })),
                201,
                "creating a product",
            )
            .await?;
        Ok(product["id"].as_str().context("a product id")?.to_owned())
    }
}
