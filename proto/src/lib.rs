//! Generated protobuf and gRPC types, one module per versioned package.

/// Largest gRPC message between the services, either way: an article with its attachments, an
/// attachment's bytes. Every server and client of the suite sets it.
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024 * 1024;

/// What ticket core takes on one article (`NewArticle`): channels that receive more (the mail
/// intake) keep the rest themselves and say so on the ticket.
pub mod article_limits {
    /// Attachments on one article.
    pub const MAX_ATTACHMENTS: usize = 20;
    /// One attachment, in bytes.
    pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;
    /// One article's attachments together, in bytes: with the text, well within
    /// [`MAX_MESSAGE_BYTES`](super::MAX_MESSAGE_BYTES).
    pub const MAX_TOTAL_BYTES: usize = 20 * 1024 * 1024;
}

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
