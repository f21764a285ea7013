//! Traces leave the process over OTLP/HTTP: a collector of the test's own
//! receives what the real binary exports, and one request's trace reaches from
//! its HTTP span through the outbox's publish to the consumer's span, with the
//! database statements of each inside it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use poem::listener::{Acceptor, Listener};
use poem::{IntoResponse, Request, Response, http::StatusCode};
use prost::Message;

use crate::harness::Broker;
use crate::support::{KeelProcess, TestDatabase, wait_for_count};

#[derive(Debug, Clone)]
struct ReceivedSpan {
    service: String,
    name: String,
    kind: i32,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
}

/// An OTLP/HTTP trace receiver: decodes each protobuf export request and
/// keeps its spans.
struct Collector {
    endpoint: String,
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
    content_types: Arc<Mutex<Vec<String>>>,
}

impl Collector {
    async fn start() -> Collector {
        let spans = Arc::new(Mutex::new(Vec::new()));
        let content_types = Arc::new(Mutex::new(Vec::new()));
        let (kept, seen) = (spans.clone(), content_types.clone());
        let receive = poem::endpoint::make(move |request: Request| {
            let (kept, seen) = (kept.clone(), seen.clone());
            async move {
                seen.lock()
                    .unwrap()
                    .push(request.content_type().unwrap_or_default().to_owned());
                let body = request.into_body().into_bytes().await.unwrap_or_default();
                let Ok(export) = ExportTraceServiceRequest::decode(body.as_ref()) else {
                    return StatusCode::BAD_REQUEST.into_response();
                };
                let mut kept = kept.lock().unwrap();
                for resource_spans in export.resource_spans {
                    let service = resource_spans
                        .resource
                        .iter()
                        .flat_map(|r| &r.attributes)
                        .find(|a| a.key == "service.name")
                        .and_then(|a| match a.value.as_ref()?.value.as_ref()? {
                            Value::StringValue(name) => Some(name.clone()),
                            _ => None,
                        })
                        .unwrap_or_default();
                    for span in resource_spans.scope_spans.into_iter().flat_map(|s| s.spans) {
                        kept.push(ReceivedSpan {
                            service: service.clone(),
                            name: span.name,
                            kind: span.kind,
                            trace_id: hex(&span.trace_id),
                            span_id: hex(&span.span_id),
                            parent_span_id: hex(&span.parent_span_id),
                        });
                    }
                }
                Response::builder()
                    .content_type("application/x-protobuf")
                    .body(ExportTraceServiceResponse::default().encode_to_vec())
            }
        });
        let acceptor = poem::listener::TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .unwrap();
        let addr = acceptor.local_addr()[0].as_socket_addr().copied().unwrap();
        tokio::spawn(
            poem::Server::new_with_acceptor(acceptor)
                .run(poem::Route::new().at("/v1/traces", poem::post(receive))),
        );
        Collector {
            endpoint: format!("http://{addr}"),
            spans,
            content_types,
        }
    }

    fn trace(&self, trace_id: &str) -> Vec<ReceivedSpan> {
        let spans = self.spans.lock().unwrap();
        spans
            .iter()
            .filter(|s| s.trace_id == trace_id)
            .cloned()
            .collect()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn one_trace_reaches_from_the_request_through_the_publish_to_the_consumer() {
    let database = TestDatabase::create().await;
    let broker = Broker::connect().await;
    let collector = Collector::start().await;
    let amqp_url = crate::harness::amqp_url();
    let mut server = KeelProcess::start(
        &database.url,
        &[
            ("AMQP_URL", &amqp_url),
            ("KEEL_EVENTS_PREFIX", &broker.prefix),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.endpoint),
            ("OTEL_SERVICE_NAME", "keel-otlp-test"),
            // Nothing leaves on a timer: what the collector gets, the graceful
            // shutdown flushed.
            ("OTEL_BSP_SCHEDULE_DELAY", "600000"),
            // Quiet logs do not quiet the traces.
            ("KEEL_LOG", "warn"),
        ],
    );
    broker.wait_for_topology().await;

    let response = server
        .client()
        .post(format!("{}/v1/users", server.base))
        .bearer_auth(server.admin_token())
        .json(&serde_json::json!({"email": "traced@example.com", "displayName": "Traced"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let traceparent = crate::support::header(&response, "traceparent");
    let fields: Vec<&str> = traceparent.split('-').collect();
    let (trace_id, request_span_id) = (fields[1].to_owned(), fields[2].to_owned());

    let db = sea_orm::Database::connect(&database.url).await.unwrap();
    wait_for_count(
        &db,
        "SELECT COUNT(*) FROM notifications",
        1,
        Duration::from_secs(30),
    )
    .await;
    let exited = server.terminate().await;
    assert!(exited.success(), "keel exited with {exited}");

    let trace = collector.trace(&trace_id);
    let one = |name: &str| {
        let found: Vec<&ReceivedSpan> = trace.iter().filter(|s| s.name == name).collect();
        assert_eq!(found.len(), 1, "one `{name}` span in the trace: {trace:#?}");
        found[0].clone()
    };
    let request = one("request");
    let publish = one("publish");
    let consume = one("consume");
    assert_eq!(
        request.span_id, request_span_id,
        "the span the response named"
    );
    assert_eq!(request.parent_span_id, "", "the request started the trace");
    assert_eq!(request.kind, SpanKind::Server as i32);
    assert_eq!(
        publish.parent_span_id, request.span_id,
        "the publish continues the request that recorded the event"
    );
    assert_eq!(publish.kind, SpanKind::Producer as i32);
    assert_eq!(
        consume.parent_span_id, publish.span_id,
        "the consumer continues the publish, across RabbitMQ"
    );
    assert_eq!(consume.kind, SpanKind::Consumer as i32);
    assert!(trace.iter().all(|s| s.service == "keel-otlp-test"));

    // The database statements are children of the spans they ran in.
    let statements: BTreeMap<&str, Vec<&str>> = [&request, &consume]
        .into_iter()
        .map(|parent| {
            let names = trace
                .iter()
                .filter(|s| s.parent_span_id == parent.span_id && s.name.starts_with("sea_orm."))
                .map(|s| s.name.as_str())
                .collect();
            (parent.name.as_str(), names)
        })
        .collect();
    for (parent, names) in &statements {
        assert!(
            names.contains(&"sea_orm.begin") && names.contains(&"sea_orm.commit"),
            "the {parent} span holds its transaction's statements: {names:?}"
        );
    }
    // And none outside one of Keel's spans: the relay's polls start no traces.
    let all = collector.spans.lock().unwrap().clone();
    let orphans: Vec<&ReceivedSpan> = all
        .iter()
        .filter(|s| s.name.starts_with("sea_orm.") && s.parent_span_id.is_empty())
        .collect();
    assert!(
        orphans.is_empty(),
        "statements traced on their own: {orphans:#?}"
    );

    let content_types = collector.content_types.lock().unwrap().clone();
    assert!(
        content_types.iter().all(|c| c == "application/x-protobuf"),
        "{content_types:?}"
    );
    broker.clean_up().await;
}
