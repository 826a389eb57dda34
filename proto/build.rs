//! Generates Rust from the .proto files with the protoc binary vendored on crates.io, so a build
//! needs nothing installed but the Rust toolchain.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "docket/ticket/v1/ticket.proto",
        "docket/identity/v1/identity.proto",
        "docket/identity/v1/admin.proto",
        "docket/events/v1/events.proto",
        "docket/mail/v1/mail.proto",
    ];
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_with_config(config, &protos, &["."])?;
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    Ok(())
}
