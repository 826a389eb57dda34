//! W3C trace context across process boundaries: gRPC metadata and message headers.
//!
//! A client injects the current span's context; a server or consumer extracts it and makes it the
//! parent of its own span, so one trace runs gateway → service → bus → consumer.

use std::collections::HashMap;

use opentelemetry::propagation::{Extractor, Injector};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The current span's trace context as header pairs (`traceparent`, `tracestate`).
pub fn current_context() -> HashMap<String, String> {
    let mut headers = HashMap::new();
    let cx = Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut headers));
    headers
}

/// Makes the context carried in `headers` the parent of `span`.
pub fn set_parent_from<E: Extractor>(span: &Span, headers: &E) {
    let cx = opentelemetry::global::get_text_map_propagator(|p| p.extract(headers));
    if let Err(e) = span.set_parent(cx) {
        tracing::debug!(error = %e, "cannot set the remote parent of a span");
    }
}

/// The trace id of the current span, as 32 hex digits (all zeros when there is none).
pub fn current_trace_id() -> String {
    use opentelemetry::trace::TraceContextExt;
    Span::current()
        .context()
        .span()
        .span_context()
        .trace_id()
        .to_string()
}

/// Reads trace context from HTTP (and so gRPC) headers.
pub struct HeaderExtractor<'a>(pub &'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

struct MetadataInjector<'a>(&'a mut tonic::metadata::MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(k), Ok(v)) = (
            tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
            tonic::metadata::MetadataValue::try_from(value),
        ) {
            self.0.insert(k, v);
        }
    }
}

/// Puts the current span's trace context into outgoing gRPC metadata.
pub fn inject_into_metadata(metadata: &mut tonic::metadata::MetadataMap) {
    let cx = Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&cx, &mut MetadataInjector(metadata));
    });
}

/// The span of one incoming gRPC request, parented to the caller's trace. Pass to
/// `tonic::transport::Server::trace_fn`.
pub fn grpc_request_span(request: &http::Request<()>) -> Span {
    let span = tracing::info_span!(
        "grpc.request",
        otel.kind = "server",
        rpc.method = %request.uri().path(),
    );
    set_parent_from(&span, &HeaderExtractor(request.headers()));
    span
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn context_survives_a_trip_through_headers() {
        let provider = crate::telemetry::tracer_provider(&Default::default(), "test").unwrap();
        use opentelemetry::trace::TracerProvider as _;
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let sender = tracing::info_span!("sender");
            let (headers, sent_trace) = sender.in_scope(|| (current_context(), current_trace_id()));
            assert!(headers.contains_key("traceparent"), "{headers:?}");
            assert_ne!(sent_trace, "00000000000000000000000000000000");

            let mut http_headers = http::HeaderMap::new();
            for (k, v) in &headers {
                http_headers.insert(
                    http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    v.parse().unwrap(),
                );
            }
            let receiver = tracing::info_span!("receiver");
            set_parent_from(&receiver, &HeaderExtractor(&http_headers));
            let received_trace = receiver.in_scope(current_trace_id);
            assert_eq!(received_trace, sent_trace);
        });
    }
}
