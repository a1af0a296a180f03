//! Generated host bindings for `spin:variables/variables@3.0.0` alone (from the repository's WIT tree; the
//! one-line world is inline so each capability generates only its own interface).

wasmtime::component::bindgen!({
    path: "../wit",
    inline: "package tr:host-variables; world variables { import spin:variables/variables@3.0.0; }",
    imports: { default: trappable },
});
