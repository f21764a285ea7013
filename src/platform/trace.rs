//! W3C trace context (`traceparent`): taken from an HTTP request, stored with
//! the events the request records, sent in their AMQP headers and adopted by the
//! consumer's span, so one trace runs from the request to every effect of it.
//! Span ids come from tracing-opentelemetry (set up in `telemetry`); the W3C
//! format is the opentelemetry propagator's, not ours.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The `traceparent` of `span`; `None` when spans carry no trace context (no
/// telemetry layer installed).
pub fn traceparent_of(span: &tracing::Span) -> Option<String> {
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&span.context(), &mut carrier);
    carrier.remove("traceparent")
}

/// The `traceparent` of the span the caller runs in.
pub fn current_traceparent() -> Option<String> {
    traceparent_of(&tracing::Span::current())
}

/// Makes `span` a child of the remote span `traceparent` names. A malformed
/// value is ignored: the span then starts a trace of its own.
fn continue_trace(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(traceparent) = traceparent else {
        return;
    };
    let carrier = HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    let parent = TraceContextPropagator::new().extract(&carrier);
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
}

/// Continues `traceparent` in `span` (see [`continue_trace`]), records the
/// trace id in the span's `trace_id` field, so every log line in it leads to
/// its trace, and returns the span's own `traceparent`.
pub fn adopt(span: &tracing::Span, traceparent: Option<&str>) -> Option<String> {
    continue_trace(span, traceparent);
    let own = traceparent_of(span);
    if let Some(id) = own.as_deref().and_then(trace_id) {
        span.record("trace_id", id);
    }
    own
}

/// The trace id of a `traceparent` (its second field), for logs and tests.
pub fn trace_id(traceparent: &str) -> Option<&str> {
    traceparent.split('-').nth(1)
}
