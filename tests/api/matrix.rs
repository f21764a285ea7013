//! The authorization matrix, derived from the contract the server embeds: for
//! every operation and every kind of caller, the expected 401/403 or the absence
//! of one. An operation added to the contract is covered without a new test.

use keel::auth::keys::{AUDIENCE, Claims, ISSUER};
use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;

use crate::support::TestApp;

struct Operation {
    id: String,
    method: Method,
    path: String,
    /// `None` for a public operation.
    scopes: Option<Vec<String>>,
    has_body: bool,
}

fn operations() -> Vec<Operation> {
    let contract: Value = serde_json::from_str(keel_server::CONTRACT_JSON).unwrap();
    let default = contract.get("security").cloned();
    let mut found = Vec::new();
    for (path, item) in contract["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            if !op.is_object() || op.get("operationId").is_none() {
                continue;
            }
            let security = op
                .get("security")
                .cloned()
                .or_else(|| default.clone())
                .expect("the contract declares security");
            let scopes = security.as_array().unwrap().first().map(|requirement| {
                let (_, scopes) = requirement.as_object().unwrap().iter().next().unwrap();
                scopes
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap().to_owned())
                    .collect()
            });
            found.push(Operation {
                id: op["operationId"].as_str().unwrap().to_owned(),
                method,
                path: path.clone(),
                scopes,
                has_body: op.get("requestBody").is_some(),
            });
        }
    }
    found
}

fn token(app: &TestApp, scopes: &[String], exp_offset: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    app.tokens.sign(&Claims {
        sub: Uuid::now_v7().to_string(),
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        iat: (now - 60) as u64,
        exp: (now + exp_offset) as u64,
        roles: vec!["test".into()],
        scope: scopes.join(" "),
    })
}

async fn call(app: &TestApp, op: &Operation, bearer: Option<&str>) -> u16 {
    let path = op
        .path
        .split('/')
        .map(|s| {
            if s.starts_with('{') {
                Uuid::now_v7().to_string()
            } else {
                s.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    let mut request = app
        .request_as(op.method.clone(), &path, bearer)
        .header("if-match", "\"1\"");
    if op.has_body {
        request = request
            .header("content-type", "application/json")
            .body("{}");
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn every_operation_refuses_the_wrong_callers_and_admits_the_right_ones() {
    let app = TestApp::spawn().await;
    let operations = operations();
    assert!(
        operations.len() >= 10,
        "the matrix reads the contract: {} operations",
        operations.len()
    );
    let mut checked = 0;
    for op in &operations {
        let Some(scopes) = &op.scopes else {
            let status = call(&app, op, None).await;
            assert!(
                ![401, 403].contains(&status) || op.id == "issueToken" || op.id == "refreshToken",
                "public {} answered {status}",
                op.id
            );
            checked += 1;
            continue;
        };
        let valid = token(&app, scopes, 600);
        let expired = token(&app, scopes, -3600);
        let mut tampered = valid.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        let unscoped = token(&app, &[], 600);
        assert_eq!(call(&app, op, None).await, 401, "{} without a token", op.id);
        assert_eq!(
            call(&app, op, Some(&expired)).await,
            401,
            "{} with an expired token",
            op.id
        );
        assert_eq!(
            call(&app, op, Some(&tampered)).await,
            401,
            "{} with a tampered token",
            op.id
        );
        if !scopes.is_empty() {
            assert_eq!(
                call(&app, op, Some(&unscoped)).await,
                403,
                "{} without its scopes",
                op.id
            );
        }
        let status = call(&app, op, Some(&valid)).await;
        assert!(
            ![401, 403].contains(&status),
            "{} with its scopes answered {status}",
            op.id
        );
        checked += 1;
    }
    assert_eq!(checked, operations.len());
}
