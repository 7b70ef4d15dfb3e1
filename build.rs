//! Compiles mmrun's Mesos schema (`proto/mesos/v1/*.proto`, and the drivers' `proto/mesos/internal` and `proto/mesos/scheduler`) into a descriptor set with the
//! pure-Rust `protox`, so building needs no `protoc`. `src/mesos/encoding` loads the set and
//! transcodes between the serde types' JSON and protobuf bytes through it.

use std::path::PathBuf;

const ROOT: &str = "proto";
const FILES: [&str; 7] = [
    "mesos/v1/mesos.proto",
    "mesos/v1/scheduler/scheduler.proto",
    "mesos/v1/executor/executor.proto",
    "mesos/v1/master/master.proto",
    "mesos/v1/agent/agent.proto",
    "mesos/internal/messages.proto",
    "mesos/scheduler/scheduler.proto",
];

fn main() {
    println!("cargo:rerun-if-changed={ROOT}");
    let mut compiler = protox::Compiler::new([ROOT]).unwrap_or_else(|e| panic!("{e}"));
    compiler.include_imports(true);
    if let Err(e) = compiler.open_files(FILES) {
        // The error names the file, line and column; Debug adds the source snippet.
        panic!("mmrun's .proto files do not compile: {e:?}");
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(
        out.join("mesos_v1.binpb"),
        compiler.encode_file_descriptor_set(),
    )
    .expect("cannot write the descriptor set into OUT_DIR");
}
