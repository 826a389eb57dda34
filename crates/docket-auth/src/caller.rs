//! The caller's access token travels in gRPC metadata as `authorization: Bearer <jwt>`.

/// The metadata key (and HTTP header) of the bearer token.
pub const AUTHORIZATION: &str = "authorization";

/// The bearer token of a request, if any.
pub fn bearer_token(metadata: &tonic::metadata::MetadataMap) -> Option<&str> {
    metadata
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// Puts a bearer token into outgoing metadata.
pub fn with_bearer(metadata: &mut tonic::metadata::MetadataMap, token: &str) {
    if let Ok(v) = format!("Bearer {token}").parse() {
        metadata.insert(AUTHORIZATION, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_through_metadata() {
        let mut m = tonic::metadata::MetadataMap::new();
        assert_eq!(bearer_token(&m), None);
        with_bearer(&mut m, "abc.def.ghi");
        assert_eq!(bearer_token(&m), Some("abc.def.ghi"));
        m.insert(AUTHORIZATION, "Basic xyz".parse().unwrap());
        assert_eq!(bearer_token(&m), None);
    }
}
