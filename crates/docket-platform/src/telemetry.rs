//! Logging and tracing. Spans always carry an OpenTelemetry context (so trace ids propagate between
//! services and appear in logs); they are exported over OTLP/gRPC only when an endpoint is set.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use serde::Deserialize;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetryConfig {
    /// A `tracing` filter such as `info` or `docket_ticket=debug,info`.
    pub log_filter: String,
    pub log_format: LogFormat,
    /// OTLP/gRPC endpoint, e.g. `http://otel-collector:4317`. Unset: no export.
    pub otlp_endpoint: Option<String>,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            log_filter: "info".into(),
            log_format: LogFormat::Text,
            otlp_endpoint: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("invalid log filter `{filter}`: {source}")]
    Filter {
        filter: String,
        source: tracing_subscriber::filter::ParseError,
    },
    #[error("cannot set up the OTLP exporter for {endpoint}: {source}")]
    Exporter {
        endpoint: String,
        source: opentelemetry_otlp::ExporterBuildError,
    },
}

/// Flushes and stops telemetry when shut down.
#[must_use = "telemetry is flushed by TelemetryGuard::shutdown"]
pub struct TelemetryGuard {
    provider: SdkTracerProvider,
}

impl TelemetryGuard {
    /// Exports what is buffered and stops the exporter.
    pub fn shutdown(self) {
        if let Err(e) = self.provider.shutdown() {
            eprintln!("telemetry shutdown: {e}");
        }
    }
}

/// Installs the global subscriber and propagator. Call once, first thing in `main`.
pub fn init(
    config: &TelemetryConfig,
    service_name: &str,
) -> Result<TelemetryGuard, TelemetryError> {
    let provider = tracer_provider(config, service_name)?;
    let filter =
        EnvFilter::try_new(&config.log_filter).map_err(|source| TelemetryError::Filter {
            filter: config.log_filter.clone(),
            source,
        })?;
    // Spans reach OpenTelemetry whatever the log filter says, so traces stay whole when logs are
    // quiet; the filter applies to what is printed.
    let otel = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("docket"))
        .with_filter(tracing_subscriber::filter::LevelFilter::INFO);
    let registry = tracing_subscriber::registry().with(otel);
    // A second init (tests spawning several suites) keeps the first subscriber.
    let _ = match config.log_format {
        LogFormat::Text => registry
            .with(tracing_subscriber::fmt::layer().with_filter(filter))
            .try_init(),
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_filter(filter),
            )
            .try_init(),
    };
    Ok(TelemetryGuard { provider })
}

/// The tracer provider, exporting over OTLP when configured. Also installs it and the W3C trace
/// context propagator globally.
pub fn tracer_provider(
    config: &TelemetryConfig,
    service_name: &str,
) -> Result<SdkTracerProvider, TelemetryError> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let resource = Resource::builder()
        .with_service_name(service_name.to_owned())
        .build();
    let mut builder = SdkTracerProvider::builder().with_resource(resource);
    if let Some(endpoint) = &config.otlp_endpoint {
        use opentelemetry_otlp::WithExportConfig;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .build()
            .map_err(|source| TelemetryError::Exporter {
                endpoint: endpoint.clone(),
                source,
            })?;
        builder = builder.with_batch_exporter(exporter);
    }
    let provider = builder.build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    Ok(provider)
}
