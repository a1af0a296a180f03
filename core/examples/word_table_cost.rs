//! What a fresh instance pays for the store's word tables (stop words, synonyms): the first
//! `similar::fingerprint` call builds them, later calls reuse them. A WebAssembly guest is a fresh instance per
//! request, so it pays the first figure every time. `cargo run --release -p tr-core --example word_table_cost`

use std::collections::HashSet;
use std::time::Instant;

use tr_core::store::similar::fingerprint;

fn main() {
    let (subject, body) = ("Can't export timesheets", "When I click Export > CSV on the Timesheets page nothing downloads.");
    let started = Instant::now();
    let first = fingerprint(subject, body, &HashSet::new());
    let first_took = started.elapsed();
    let started = Instant::now();
    let again = fingerprint(subject, body, &HashSet::new());
    let again_took = started.elapsed();
    assert_eq!(first, again);
    println!("first call (tables built): {first_took:?}; later call: {again_took:?}");
}
