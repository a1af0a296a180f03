//! Generated bindings for the Spin interfaces the host implements (world `tr:intake/spin-host`) and for the
//! trigger-sqs guest world (`spin:sqs/spin-sqs@3.0.0`), both from the repository's one WIT tree. Kept apart from
//! the hand-written `*_impl.rs` files.

pub mod spin_host {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "tr:intake/spin-host",
        imports: { default: trappable },
        with: { "spin:key-value/key-value.store": crate::spin_kv_impl::StoreHandle },
    });
}

pub mod sqs_guest {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "spin:sqs/spin-sqs@3.0.0",
        exports: { default: async | store },
    });
}
