//! Build-time tables for the duplicate rule: the stop words, normalised by the rule's own functions
//! (`src/store/words.rs`, compiled here as well), as one sorted array that a lookup binary-searches.

#[path = "src/store/words.rs"]
mod words;

fn main() {
    println!("cargo::rerun-if-changed=src/store/words.rs");
    let forms = words::stop_word_forms();
    let mut out = format!("pub static STOP_WORDS: [&str; {}] = [\n", forms.len());
    // BTreeSet iterates in byte order, which is `str`'s `Ord`: the order `binary_search` needs.
    for w in &forms {
        out.push_str(&format!("    {w:?},\n"));
    }
    out.push_str("];\n");
    let path = std::path::Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("stop_words.rs");
    std::fs::write(&path, out).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}
