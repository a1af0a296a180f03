//! The answer a plain HTML form post gets: a small, accessible page instead of JSON.
//!
//! Key decisions: a browser that posted a form without JavaScript shows whatever comes back, so the page says in
//! one sentence what happened or what to fix, offers a link back to the page the customer came from (only an
//! http(s) URL, escaped), and is complete HTML with a language, a title and a heading. The status is the same as
//! the JSON answer's, so nothing downstream has to know which one was sent.

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page: `heading`, one paragraph of `message`, and a link back when `back` is an http(s) URL.
pub fn page(heading: &str, message: &str, back: Option<&str>) -> String {
    let back = back
        .and_then(|u| url::Url::parse(u).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(|u| format!("<p><a href=\"{}\">Back to the page you were on</a></p>", escape(u.as_str())))
        .unwrap_or_default();
    let (heading, message) = (escape(heading), escape(message));
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{heading}</title>\
<style>body{{font:1rem/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}}</style></head>\
<body><main><h1>{heading}</h1><p role=\"status\">{message}</p>{back}</main></body></html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_what_they_show_and_link_back_only_to_web_pages() {
        let html = page("Not sent", "email: <script>x</script> is not an address", Some("https://example.com/p?a=1&b=\"2\""));
        assert!(html.contains("&lt;script&gt;x&lt;/script&gt;"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("href=\"https://example.com/p?a=1&amp;b=%222%22\""), "{html}");
        assert!(html.starts_with("<!doctype html>") && html.contains("<html lang=\"en\">") && html.contains("<title>Not sent</title>"));
        assert!(!page("x", "y", Some("javascript:alert(1)")).contains("href"));
        assert!(!page("x", "y", None).contains("href"));
    }
}
