//! Generated bindings for the trigger-sqs guest world (`spin:sqs/spin-sqs@3.0.0`, from the repository's WIT
//! tree), kept apart from the hand-written [`super::guest`].

wasmtime::component::bindgen!({
    path: "../wit",
    world: "spin:sqs/spin-sqs@3.0.0",
    exports: { default: async | store },
});
