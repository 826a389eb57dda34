//! Layered configuration: built-in defaults < optional TOML file < `DOCKET__…` environment variables.
//!
//! Nested keys are separated by a double underscore: `DOCKET__TICKET__DATABASE_URL` sets
//! `ticket.database_url`. Every setting and its default is listed in `deploy/docket.example.toml`.

use std::fmt;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

/// The prefix of every environment variable that configures Docket.
pub const ENV_PREFIX: &str = "DOCKET";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {path}: {message}")]
    File { path: String, message: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Loads settings of type `T` from its serde defaults, then `file` (if given), then the environment.
pub fn load<T: DeserializeOwned>(file: Option<&Path>) -> Result<T, ConfigError> {
    let mut builder = config::Config::builder();
    if let Some(path) = file {
        builder = builder.add_source(config::File::from(path).required(true));
    }
    builder = builder.add_source(
        config::Environment::with_prefix(ENV_PREFIX)
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true),
    );
    let source_err = |e: config::ConfigError| ConfigError::File {
        path: file.map(|p| p.display().to_string()).unwrap_or_default(),
        message: e.to_string(),
    };
    let built = builder.build().map_err(source_err)?;
    built
        .try_deserialize()
        .map_err(|e| ConfigError::Invalid(e.to_string()))
}

/// A secret value (a password, a database URL with credentials): never printed, never logged.
#[derive(Clone, Deserialize, PartialEq, Eq, Default)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Deserializes a socket address with a message that names the bad value.
pub fn socket_addr<'de, D: Deserializer<'de>>(d: D) -> Result<std::net::SocketAddr, D::Error> {
    let s = String::deserialize(d)?;
    s.parse().map_err(|_| {
        serde::de::Error::custom(format!("`{s}` is not a socket address like 127.0.0.1:8080"))
    })
}

/// Deserializes an optional socket address (`""` or absent: none), naming a bad value.
pub fn optional_socket_addr<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<std::net::SocketAddr>, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| {
            serde::de::Error::custom(format!("`{s}` is not a socket address like 127.0.0.1:2525"))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[derive(Debug, Deserialize)]
    struct Settings {
        #[serde(default = "default_name")]
        name: String,
        #[serde(default)]
        port: u16,
    }

    fn default_name() -> String {
        "docket".into()
    }

    #[test]
    fn file_overrides_defaults_and_bad_values_are_named() {
        let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        writeln!(file, "port = 8081").unwrap();
        let s: Settings = load(Some(file.path())).unwrap();
        assert_eq!((s.name.as_str(), s.port), ("docket", 8081));

        let mut bad = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        writeln!(bad, "port = \"eighty\"").unwrap();
        let err = load::<Settings>(Some(bad.path())).unwrap_err().to_string();
        assert!(err.contains("port"), "{err}");
    }

    #[test]
    fn missing_file_is_an_error_naming_it() {
        let err = load::<Settings>(Some(Path::new("/nonexistent/docket.toml"))).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/docket.toml"),
            "{err}"
        );
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(s.expose(), "hunter2");
    }
}
