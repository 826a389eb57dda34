//! Generated protobuf and gRPC types, one module per versioned package.

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
