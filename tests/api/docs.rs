//! What partners read: the contract itself, Swagger UI, and the health probes.

use serde_json::Value;

use crate::support::{TestApp, header, problem};

#[tokio::test]
async fn the_contract_is_served_as_json_and_yaml() {
    let app = TestApp::spawn().await;
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status(), 200);
    let json: Value = response.json().await.unwrap();
    assert_eq!(json["info"]["title"], "Keel API");
    assert!(json["paths"]["/v1/users/{userId}"]["patch"].is_object());

    let yaml = app.get("/openapi.yaml").await.text().await.unwrap();
    let contract =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/api/openapi.yaml")).unwrap();
    assert_eq!(
        yaml, contract,
        "the served contract is api/openapi.yaml byte for byte"
    );
}

#[tokio::test]
async fn swagger_ui_is_served_from_the_binary() {
    let app = TestApp::spawn().await;
    let redirect = app
        .client
        .get(format!("{}/docs", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        redirect.url().path(),
        "/docs/",
        "`/docs` redirects to `/docs/`"
    );
    assert_eq!(redirect.status(), 200);
    let page = redirect.text().await.unwrap();
    assert!(page.contains("swagger-ui"), "{page}");
    let config = app
        .get("/docs/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        config.contains("/openapi.json"),
        "Swagger UI loads our contract: {config}"
    );
    assert!(!page.contains("https://"), "no asset comes from a CDN");
}

#[tokio::test]
async fn health_probes_answer() {
    let app = TestApp::spawn().await;
    let live = app.get("/health").await;
    assert_eq!(live.status(), 200);
    assert_eq!(header(&live, "content-type"), "application/json");
    assert_eq!(live.json::<Value>().await.unwrap()["status"], "ok");
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 200);
    let ready = ready.json::<Value>().await.unwrap();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["database"], "up");
    assert_eq!(
        ready["broker"], "none",
        "cargo test runs on the in-process bus"
    );
    // Probes are never rate limited; the API is.
    let strict = TestApp::spawn_with(&["--rate-limit-per-minute", "5"]).await;
    for _ in 0..20 {
        assert_eq!(strict.get("/health/ready").await.status(), 200);
    }
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(strict.get("/v1/users").await.status().as_u16());
    }
    assert!(statuses.contains(&429), "{statuses:?}");
}

#[tokio::test]
async fn on_shutdown_readiness_fails_first_then_the_listener_closes() {
    let mut app = TestApp::spawn_with(&["--shutdown-delay-secs", "2"]).await;
    assert_eq!(app.get("/health/ready").await.status(), 200);
    app.shut_down();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    let body = loop {
        let response = app.get("/health/ready").await;
        if response.status() == 503 {
            break problem(response, 503).await;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still ready after 1 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert!(
        body["detail"].as_str().unwrap().contains("shutting down"),
        "{body}"
    );
    // Meanwhile the replica still serves what reaches it, writes included.
    let (user, _) = app.create_user("late@example.com", "Late").await;
    assert_eq!(
        app.get(&format!("/v1/users/{}", user.id)).await.status(),
        200
    );
    // After the delay the listener is gone.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let refused = app
        .client
        .get(format!("{}/health", app.base))
        .timeout(std::time::Duration::from_secs(2))
        .send()
        .await;
    assert!(refused.is_err(), "{refused:?}");
}
