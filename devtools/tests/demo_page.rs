//! The demo page tells a person what to give the host: its site key is in the page's visible text, with the
//! command that starts the host with that key and the page's origin allowed — not only in an HTML comment —
//! and it is the key both forms really send.

use std::path::Path;

fn page() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo/index.html")).expect("demo/index.html")
}

/// The page without its comments: what a browser can show.
fn without_comments(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        rest = rest[start..].find("-->").map_or("", |end| &rest[start + end + 3..]);
    }
    out + rest
}

/// The value of the first `name="…"` attribute-like pair after `after`.
fn value_after<'a>(html: &'a str, after: &str, name: &str) -> &'a str {
    let from = html.find(after).unwrap_or_else(|| panic!("no `{after}` in the demo page"));
    let rest = &html[from..];
    let start = rest.find(&format!("{name}=\"")).unwrap_or_else(|| panic!("no {name} after `{after}`")) + name.len() + 2;
    &rest[start..start + rest[start..].find('"').unwrap()]
}

#[test]
fn the_demo_site_key_is_on_the_page_with_the_command_that_starts_the_host() {
    let visible = without_comments(&page());
    let embed_key = value_after(&visible, "/form/embed.js", "data-site-key");
    let plain_key = value_after(&visible, "name=\"site_key\"", "value");
    assert_eq!(embed_key, plain_key, "both forms send the same site key");
    let setup = &visible[visible.find("id=\"demo-setup\"").expect("a visible setup note (#demo-setup)")..];
    let setup = &setup[..setup.find("</aside>").unwrap()];
    assert!(setup.contains(&format!("<code>{embed_key}</code>")), "the note names the site key:\n{setup}");
    let command = format!("SPIN_VARIABLE_FORM_SITE_KEY={embed_key} SPIN_VARIABLE_FORM_ALLOWED_ORIGINS=http://127.0.0.1:8000 cargo run -p tr-devtools -- up");
    assert!(setup.contains(&command), "the note gives the command, runnable as printed:\n{setup}");
    assert!(setup.contains("python3 -m http.server 8000 -d demo -b 127.0.0.1"), "{setup}");
}
