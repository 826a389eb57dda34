//! Generated protobuf and gRPC types, one module per versioned package.

/// Largest gRPC message between the services, either way: an article with its attachments, an
/// attachment's bytes. Every server and client of the suite sets it.
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024 * 1024;

pub mod ticket {
    pub mod v1 {
        tonic::include_proto!("docket.ticket.v1");
    }
}

pub mod identity {
    pub mod v1 {
        tonic::include_proto!("docket.identity.v1");
    }
}

pub mod events {
    pub mod v1 {
        tonic::include_proto!("docket.events.v1");
    }
}

pub mod mail {
    pub mod v1 {
        tonic::include_proto!("docket.mail.v1");
    }
}
