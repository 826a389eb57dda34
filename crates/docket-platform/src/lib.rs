//! The platform layer every Docket service stands on.
//!
//! - [`config`]: layered settings (defaults < file < `DOCKET__…` environment), validated at start;
//! - [`telemetry`]: tracing with an optional OpenTelemetry OTLP exporter;
//! - [`propagation`]: W3C trace context through gRPC metadata and message headers;
//! - [`ops`]: `/healthz`, `/readyz` and Prometheus `/metrics`;
//! - [`shutdown`]: one signal that stops the whole process in order;
//! - [`error`]: the error vocabulary shared by gRPC and HTTP;
//! - [`id`]: typed identifiers; [`text`]: closed lists named by texts (`text_enum!`).

pub mod config;
pub mod error;
pub mod id;
pub mod net;
pub mod ops;
pub mod propagation;
pub mod shutdown;
pub mod telemetry;
pub mod text;
pub mod time;

pub use error::ErrorCode;
pub use shutdown::Shutdown;
