//! What partners read: the contract itself, Swagger UI, and the health probes.

use serde_json::Value;

use crate::support::{TestApp, header};

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
    let ready = app.get("/health/ready").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<Value>().await.unwrap()["status"], "ready");
}
