//! Every rejection is problem+json whose detail names what is wrong, including
//! the ones poem and poem-openapi produce before a service runs.

//! Requests the generated client can express go through it; raw HTTP is used
//! only for what it cannot send (malformed bodies, wrong types, missing headers).

use keel_client::types::users::*;
use keel_client::types::{NewUser, Tristate};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, assert_problem, header, new_user, problem};

use crate::support::problem as problem_of;

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
            json!({ "email": "a@example.com", "displayName": "A", "isAdmin": true }),
            "/isAdmin",
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
    let body = NewUser {
        email: "not-an-email".into(),
        display_name: "x".repeat(101),
        avatar_url: Tristate::Value("no url".into()),
        role: None,
        phone: Tristate::Absent,
        password: None,
    };
    let reply = app
        .api
        .create_user(&CreateUserRequest { body })
        .await
        .unwrap();
    let CreateUserResponse::BadRequest(problem) = &reply.value else {
        panic!("{:?}", reply.value)
    };
    assert_problem(&reply, problem, 400);
    assert_eq!(problem.type_, "urn:keel:problem:validation-failed");
    let errors = problem.errors.as_deref().unwrap_or_default();
    let found: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.pointer.as_deref().unwrap_or_default(), e.code.as_str()))
        .collect();
    for expected in [
        ("/avatarUrl", "url"),
        ("/displayName", "length"),
        ("/email", "email"),
    ] {
        assert!(found.contains(&expected), "{expected:?} in {problem:?}");
    }
    let length = errors.iter().find(|e| e.code == "length").unwrap();
    assert!(
        length.detail.contains("1 to 100"),
        "the limit is stated: {length:?}"
    );

    // A name with surrounding space breaks the contract's pattern.
    let reply = app
        .api
        .create_user(&CreateUserRequest {
            body: new_user("a@example.com", " A"),
        })
        .await
        .unwrap();
    let CreateUserResponse::BadRequest(problem) = &reply.value else {
        panic!("{:?}", reply.value)
    };
    let error = &problem.errors.as_ref().unwrap()[0];
    assert_eq!(
        (error.pointer.as_deref(), error.code.as_str()),
        (Some("/displayName"), "regex")
    );
}

#[tokio::test]
async fn a_missing_if_match_is_a_428() {
    let app = TestApp::spawn().await;
    let (user, _) = app.create_user("linus@example.com", "Linus").await;
    // The generated client always sends `If-Match`; leaving it out takes raw HTTP.
    let response = app
        .request(Method::PATCH, &format!("/v1/users/{}", user.id))
        .json(&json!({ "displayName": "L" }))
        .send()
        .await
        .unwrap();
    let body = problem(response, 428).await;
    assert!(detail(&body).contains("If-Match"), "{body}");
}

/// Found by schemathesis: `If-Match: 0` used to get 412 "the user has changed
/// since you read it", which was false. A value that is not `*` or a list of
/// entity tags is malformed (RFC 9110 §13.1.1), and the contract now says so.
#[tokio::test]
async fn an_if_match_that_is_not_an_entity_tag_is_a_400_naming_it() {
    let app = TestApp::spawn().await;
    let (user, etag) = app.create_user("grace@example.com", "Grace").await;
    let patch = |if_match: &str| {
        app.request(Method::PATCH, &format!("/v1/users/{}", user.id))
            .header("if-match", if_match)
            .json(&json!({ "displayName": "G" }))
            .send()
    };
    for malformed in ["0", "1", "abc", "\"1\" \"2\"", "W/1", "*, \"1\""] {
        let body = problem(patch(malformed).await.unwrap(), 400).await;
        assert_eq!(
            body["errors"][0]["parameter"], "If-Match",
            "{malformed}: {body}"
        );
        // The contract's pattern, named as the rule broken.
        assert_eq!(body["errors"][0]["code"], "regex", "{malformed}: {body}");
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("pattern(\"^(\\*|"),
            "{malformed}: {body}"
        );
    }
    // Well-formed tags that are not the current one are still a 412.
    for stale in ["\"0\"", "W/\"1\"", "\"0\", \"2\""] {
        problem(patch(stale).await.unwrap(), 412).await;
    }
    // A list naming the current tag among others matches.
    let response = patch(&format!("\"0\",, {etag}")).await.unwrap();
    assert_eq!(response.status(), 200);
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
    let body = problem(app.get("/v1/users?limit=banana").await, 400).await;
    assert!(detail(&body).contains("`limit`"), "{body}");
    assert_eq!(body["errors"][0]["parameter"], "limit");
    let body = problem(app.get("/v1/users?createdAfter=yesterday").await, 400).await;
    assert!(detail(&body).contains("createdAfter"), "{body}");

    // Well-formed but out of the contract's bounds: the typed client can send these.
    for request in [
        ListUsersRequest {
            limit: 0,
            ..Default::default()
        },
        ListUsersRequest {
            limit: 101,
            ..Default::default()
        },
        ListUsersRequest {
            cursor: Some("bogus".into()),
            ..Default::default()
        },
    ] {
        let reply = app.api.list_users(&request).await.unwrap();
        let ListUsersResponse::BadRequest(problem) = &reply.value else {
            panic!("{:?}", reply.value)
        };
        assert_problem(&reply, problem, 400);
        let parameter = problem.errors.as_ref().unwrap()[0]
            .parameter
            .clone()
            .unwrap();
        assert!(
            ["limit", "cursor"].contains(&parameter.as_str()),
            "{problem:?}"
        );
        assert!(
            problem.detail.as_deref().unwrap().contains(&parameter),
            "{problem:?}"
        );
    }
}

#[tokio::test]
async fn an_unknown_user_or_route_is_a_404() {
    let app = TestApp::spawn().await;
    let user_id = uuid::Uuid::now_v7();
    let reply = app.api.get_user(&GetUserRequest { user_id }).await.unwrap();
    let GetUserResponse::NotFound(problem) = &reply.value else {
        panic!("{:?}", reply.value)
    };
    assert_problem(&reply, problem, 404);
    assert!(
        problem
            .detail
            .as_deref()
            .unwrap()
            .contains(&user_id.to_string()),
        "{problem:?}"
    );
    problem_of(app.get("/v1/nothing-here").await, 404).await;
    let response = app.request(Method::PUT, "/v1/users").send().await.unwrap();
    assert_eq!(
        header(&response, "allow"),
        "GET, POST",
        "a 405 says what is allowed"
    );
    problem_of(response, 405).await;
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
