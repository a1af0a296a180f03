//! Prints what the email lane makes of each message file given on the command line: a quick look, not a test.
//! `cargo run -p tr-core --example email_scan -- path/to/*.eml`

fn main() {
    for path in std::env::args().skip(1) {
        let raw = std::fs::read(&path).expect("readable file");
        match tr_core::email::email_to_draft(&raw, tr_core::email::DEFAULT_MAX_BYTES) {
            Ok(d) => println!(
                "OK   {path}: {:?} | {:?} | {:?} | {} chars",
                d.draft.customer_email, d.draft.subject, d.body_source, d.draft.body.len()
            ),
            Err(e) => println!("ERR  {path}: {e}"),
        }
    }
}
