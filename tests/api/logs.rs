//! JSON logs lead to traces: every line written inside a traced span carries
//! the `trace_id` and `span_id` of that span, the same ids the response's
//! `traceparent` names. Checked on the real binary's standard output.

use std::time::{Duration, Instant};

use crate::support::{KeelProcess, TestDatabase, header};

#[tokio::test]
async fn a_request_s_log_line_carries_the_trace_and_span_of_its_traceparent() {
    let database = TestDatabase::create().await;
    let server = KeelProcess::start(
        &database.url,
        &[("KEEL_LOG_FORMAT", "json"), ("KEEL_LOG", "info")],
    );
    let response = server
        .client()
        .get(format!("{}/health", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let traceparent = header(&response, "traceparent");
    let fields: Vec<&str> = traceparent.split('-').collect();
    let (trace_id, span_id) = (fields[1], fields[2]);

    let deadline = Instant::now() + Duration::from_secs(10);
    let line = loop {
        let found = server.stdout_lines().into_iter().find_map(|line| {
            let record: serde_json::Value = serde_json::from_str(&line).ok()?;
            (record["message"] == "request handled" && record["span"]["path"] == "/health")
                .then_some(record)
        });
        if let Some(line) = found {
            break line;
        }
        assert!(
            Instant::now() < deadline,
            "no log line for the request: {:?}",
            server.stdout_lines()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(line["trace_id"], trace_id, "{line}");
    assert_eq!(line["span_id"], span_id, "{line}");

    // A line outside any span (the start-up banner) claims no trace.
    let banner = server
        .stdout_lines()
        .into_iter()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(&line).ok())
        .find(|record| {
            record["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("Keel serves on"))
        })
        .expect("the start-up line is JSON too");
    assert!(banner.get("trace_id").is_none(), "{banner}");
}
