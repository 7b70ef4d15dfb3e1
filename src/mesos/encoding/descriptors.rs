//! mmrun's Mesos schema as prost-reflect descriptors, decoded once from the descriptor set
//! `build.rs` compiles from `proto/mesos/`. `schema` flattens them into the tables the
//! encoder and decoder use.

use prost_reflect::DescriptorPool;
#[cfg(test)]
use prost_reflect::MessageDescriptor;
use std::sync::LazyLock;

static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
    DescriptorPool::decode(include_bytes!(concat!(env!("OUT_DIR"), "/mesos_v1.binpb")).as_slice())
        // build.rs produced these bytes from .proto files protox accepted: this cannot fail at
        // run time unless the build itself is broken.
        .expect("the compiled Mesos descriptor set is valid")
});

pub fn pool() -> &'static DescriptorPool {
    &POOL
}

/// The descriptor of a message of the schema, by its fully qualified name.
#[cfg(test)]
pub fn message(name: &str) -> MessageDescriptor {
    POOL.get_message_by_name(name)
        .unwrap_or_else(|| panic!("mmrun's .proto files define no message {name}"))
}
