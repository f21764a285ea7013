//! Logging and tracing set-up: one subscriber for the process, logs pretty or
//! JSON, and an OpenTelemetry layer that gives every span a W3C trace and span
//! id, so trace context can travel with requests and events (`trace`).

use opentelemetry::trace::TracerProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use super::config::LogFormat;

pub fn init(format: LogFormat, filter: &str) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(filter)
        .map_err(|e| anyhow::anyhow!("invalid KEEL_LOG filter `{filter}`: {e}"))?;
    let logs = match format {
        LogFormat::Pretty => tracing_subscriber::fmt::layer().boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .boxed(),
    };
    let result = tracing_subscriber::registry()
        .with(filter)
        .with(spans())
        .with(logs)
        .try_init();
    // A second init (tests start several servers in one process) keeps the first.
    let _ = result;
    Ok(())
}

/// For tests: trace context on every `keel` span, and no log output.
pub fn init_quiet() {
    let _ = tracing_subscriber::registry()
        .with(EnvFilter::new("keel=info"))
        .with(spans())
        .try_init();
}

/// Spans with OpenTelemetry ids. No exporter yet: spans are not sent anywhere,
/// but their context is real and propagates.
fn spans<S>() -> impl Layer<S>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    let provider = SdkTracerProvider::builder().build();
    tracing_opentelemetry::layer().with_tracer(provider.tracer("keel"))
}
