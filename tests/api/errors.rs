//! Every rejection is problem+json whose detail names what is wrong, including
//! the ones poem and poem-openapi produce before a service runs.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, header, problem};

fn detail(body: &Value) -> &str {
    body["detail"].as_str().unwrap()
}

#[tokio::test]
async fn a_malformed_body_is_a_400_that_says_so() {
    let app = TestApp::spawn().await;
    let response = app
        .request(Method::POST, "/v1/users")
        .header("content-type", "application/json")
        .body(r#"{"email": "a@example.com", "displayName": "#)
        .send()
        .await
        .unwrap();
    let body = problem(response, 400).await;
    assert_eq!(body["type"], "urn:keel:problem:malformed-body");
    assert!(detail(&body).contains("not valid JSON"), "{body}");
}

#[tokio::test]
async fn a_body_of_the_wrong_shape_names_the_field() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            json!({ "email": "a@example.com", "displayName": 42 }),
            "/displayName",
            "type",
        ),
        (json!({ "displayName": "A" }), "/email", "required"),
        (
            json!({ "email": "a@example.com", "displayName": "A", "role": "admin" }),
            "/role",
            "unknown",
        ),
    ];
    for (sent, pointer, code) in cases {
        let response = app
            .request(Method::POST, "/v1/users")
            .json(&sent)
            .send()
            .await
            .unwrap();
        let body = problem(response, 400).await;
        assert_eq!(body["errors"][0]["pointer"], pointer, "{sent} → {body}");
        assert_eq!(body["errors"][0]["code"], code, "{sent} → {body}");
        assert!(detail(&body).contains(pointer), "{body}");
    }
}

#[tokio::test]
async fn failed_validation_names_each_field_and_rule() {
    let app = TestApp::spawn().await;
    let response = app
        .request(Method::POST, "/v1/users")
        .json(&json!({ "email": "not-an-email", "displayName": "x".repeat(101), "avatarUrl": "no url" }))
        .send()
        .await
        .unwrap();
    let body = problem(response, 400).await;
    assert_eq!(body["type"], "urn:keel:problem:validation-failed");
    let errors: Vec<(String, String)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["pointer"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for expected in [
        ("/avatarUrl", "url"),
        ("/displayName", "length"),
        ("/email", "email"),
    ] {
        assert!(
            errors.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} in {body}"
        );
    }
    let length = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["code"] == "length")
        .unwrap();
    assert!(
        length["detail"].as_str().unwrap().contains("1 to 100"),
        "the limit is stated: {length}"
    );

    // A name with surrounding space breaks the contract's pattern.
    let response = app
        .request(Method::POST, "/v1/users")
        .json(&json!({ "email": "a@example.com", "displayName": " A" }))
        .send()
        .await
        .unwrap();
    let body = problem(response, 400).await;
    assert_eq!(body["errors"][0]["pointer"], "/displayName");
    assert_eq!(body["errors"][0]["code"], "regex");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_415() {
    let app = TestApp::spawn().await;
    let response = app
        .request(Method::POST, "/v1/users")
        .header("content-type", "text/plain")
        .body("hi")
        .send()
        .await
        .unwrap();
    let body = problem(response, 415).await;
    assert!(detail(&body).contains("text/plain"), "{body}");
    let response = app
        .request(Method::POST, "/v1/users")
        .body(r#"{"email":"a@b.c"}"#)
        .send()
        .await
        .unwrap();
    problem(response, 415).await;
}

#[tokio::test]
async fn a_bad_uuid_in_the_path_names_the_parameter() {
    let app = TestApp::spawn().await;
    let body = problem(app.get("/v1/users/not-a-uuid").await, 400).await;
    assert!(detail(&body).contains("userId"), "{body}");
    assert_eq!(body["errors"][0]["parameter"], "userId");
}

#[tokio::test]
async fn a_bad_query_parameter_names_the_parameter() {
    let app = TestApp::spawn().await;
    for query in ["limit=banana", "limit=0", "limit=101"] {
        let body = problem(app.get(&format!("/v1/users?{query}")).await, 400).await;
        assert!(detail(&body).contains("`limit`"), "{query}: {body}");
        assert_eq!(body["errors"][0]["parameter"], "limit");
    }
    let body = problem(app.get("/v1/users?createdAfter=yesterday").await, 400).await;
    assert!(detail(&body).contains("createdAfter"), "{body}");
    let body = problem(app.get("/v1/users?cursor=bogus").await, 400).await;
    assert_eq!(body["errors"][0]["parameter"], "cursor", "{body}");
}

#[tokio::test]
async fn an_unknown_user_or_route_is_a_404() {
    let app = TestApp::spawn().await;
    let body = problem(
        app.get("/v1/users/01900000-0000-7000-8000-000000000000")
            .await,
        404,
    )
    .await;
    assert!(
        detail(&body).contains("01900000-0000-7000-8000-000000000000"),
        "{body}"
    );
    problem(app.get("/v1/nothing-here").await, 404).await;
    problem(
        app.request(Method::PUT, "/v1/users").send().await.unwrap(),
        405,
    )
    .await;
}

#[tokio::test]
async fn the_request_id_is_echoed_and_ties_problems_to_logs() {
    let app = TestApp::spawn().await;
    let response = app
        .request(Method::GET, "/v1/users/nope")
        .header("x-request-id", "trace-123")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&response, "x-request-id"), "trace-123");
    let body = problem(response, 400).await;
    assert_eq!(body["instance"], "urn:keel:request:trace-123");

    let response = app.get("/health").await;
    assert!(
        !header(&response, "x-request-id").is_empty(),
        "an id is made when none is sent"
    );
}
