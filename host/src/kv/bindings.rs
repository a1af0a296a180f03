//! Generated host bindings for `spin:key-value/key-value@3.0.0` alone (from the repository's WIT tree; the
//! one-line world is inline so each capability generates only its own interface).

wasmtime::component::bindgen!({
    path: "../wit",
    inline: "package tr:host-kv; world kv { import spin:key-value/key-value@3.0.0; }",
    imports: { default: trappable },
    with: { "spin:key-value/key-value.store": crate::kv::state::StoreHandle },
});
