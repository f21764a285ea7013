//! Logging and tracing set-up: one subscriber for the process, logs pretty or
//! JSON, and an OpenTelemetry layer that gives every span a W3C trace and span
//! id, so trace context can travel with requests and events (`trace`). With
//! `OTEL_EXPORTER_OTLP_ENDPOINT`, spans are also exported over OTLP/HTTP.
//!
//! The two layers filter separately: `KEEL_LOG` decides which logs are
//! written, never which spans are traced, so quieting the logs does not blind
//! the traces.

use std::time::Duration;

use anyhow::Context as _;
use opentelemetry::trace::{TraceContextExt, TracerProvider};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::subscriber::Interest;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{DynFilterFn, LevelFilter};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use super::config::{Config, LogFormat};

/// The process's tracer provider; [`Telemetry::shutdown`] sends the spans
/// still waiting in the batch before the process exits.
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Telemetry {
    /// Flushes and stops the exporter. Blocks (up to the exporter's timeout),
    /// so call it outside the async runtime's workers.
    pub fn shutdown(self) {
        if let Err(error) = self.provider.shutdown_with_timeout(Duration::from_secs(10)) {
            tracing::warn!(%error, "flushing the last spans to the OTLP collector failed");
        }
    }
}

pub fn init(config: &Config) -> anyhow::Result<Telemetry> {
    let filter = EnvFilter::try_new(&config.log)
        .map_err(|e| anyhow::anyhow!("invalid KEEL_LOG filter `{}`: {e}", config.log))?;
    let provider = provider(config.otlp_endpoint.as_deref(), &config.service_name)?;
    let logs = match config.log_format {
        LogFormat::Pretty => tracing_subscriber::fmt::layer().boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .event_format(WithTraceIds(
                tracing_subscriber::fmt::format()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true),
            ))
            .boxed(),
    };
    let result = tracing_subscriber::registry()
        .with(spans(&provider))
        .with(logs.with_filter(filter))
        .try_init();
    // A second init (tests start several servers in one process) keeps the first.
    let _ = result;
    Ok(Telemetry { provider })
}

/// For tests: trace context on every `keel` span, and warnings and errors
/// (or what `KEEL_LOG` asks for) written through the test harness's capture,
/// so they show under a failing test only: a 500 there comes with its cause.
pub fn init_quiet() {
    let provider = SdkTracerProvider::builder().build();
    let filter = std::env::var("KEEL_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new("warn"));
    let _ = tracing_subscriber::registry()
        .with(spans(&provider))
        .with(
            tracing_subscriber::fmt::layer()
                .with_test_writer()
                .with_filter(filter),
        )
        .try_init();
}

/// Without an endpoint the provider has no processor: spans get real ids that
/// propagate, and are dropped when they end.
fn provider(endpoint: Option<&str>, service_name: &str) -> anyhow::Result<SdkTracerProvider> {
    let builder = SdkTracerProvider::builder().with_resource(
        Resource::builder()
            .with_service_name(service_name.to_owned())
            .build(),
    );
    let Some(endpoint) = endpoint else {
        return Ok(builder.build());
    };
    // reqwest is built without a crypto provider of its own (one TLS stack in
    // the binary: rustls with ring); an https:// collector needs one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(format!("{endpoint}/v1/traces"))
        .build()
        .with_context(|| format!("setting up the OTLP exporter to {endpoint}"))?;
    // The batch processor exports from a thread of its own; its size and
    // delay follow the standard OTEL_BSP_* variables.
    Ok(builder.with_batch_exporter(exporter).build())
}

/// The spans that become OpenTelemetry spans: Keel's own (request, publish,
/// consume) and SeaORM's statement spans inside them. A statement outside any
/// of ours (the relay polling, the pool gauges) is not traced: each would start
/// a trace of its own, several a second per replica. Nothing from the HTTP
/// client that exports is traced either, or exporting would make spans to export.
fn spans<S>(provider: &SdkTracerProvider) -> impl Layer<S>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    let traced = DynFilterFn::new(|meta, cx| {
        meta.target().starts_with("keel") || cx.lookup_current().is_some()
    })
    // Decided once per call site: everything but the two kinds above is never
    // looked at again, so the other crates' debug events cost nothing here.
    .with_callsite_filter(|meta| {
        let target = meta.target();
        if *meta.level() > Level::INFO {
            Interest::never()
        } else if target.starts_with("keel") {
            Interest::always()
        } else if target.starts_with("sea_orm") && meta.is_span() {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    })
    .with_max_level_hint(LevelFilter::INFO);
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("keel"))
        .with_filter(traced)
}

/// The JSON log line with the `trace_id` and `span_id` of the span it was
/// written in (the nearest traced one), so a log search leads to the trace and
/// back.
struct WithTraceIds<F>(F);

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        // Looked up before formatting: the formatter reads the span's
        // extensions, and the context lookup may need to write them.
        let ids = ctx.lookup_current().and_then(|current| {
            tracing::dispatcher::get_default(|dispatch| {
                current.scope().find_map(|span| {
                    let cx = tracing_opentelemetry::get_otel_context(&span.id(), dispatch)?;
                    let span_context = cx.span().span_context().clone();
                    span_context
                        .is_valid()
                        .then(|| (span_context.trace_id(), span_context.span_id()))
                })
            })
        });
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        match (ids, line.strip_prefix('{')) {
            (Some((trace_id, span_id)), Some(rest)) => write!(
                writer,
                "{{\"trace_id\":\"{trace_id}\",\"span_id\":\"{span_id}\",{rest}"
            ),
            _ => writer.write_str(&line),
        }
    }
}
