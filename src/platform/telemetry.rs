//! Logging set-up: one subscriber for the process, pretty or JSON.

use tracing_subscriber::EnvFilter;

use super::config::LogFormat;

pub fn init(format: LogFormat, filter: &str) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(filter)
        .map_err(|e| anyhow::anyhow!("invalid KEEL_LOG filter `{filter}`: {e}"))?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let result = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
    // A second init (tests start several servers in one process) keeps the first.
    let _ = result;
    Ok(())
}
