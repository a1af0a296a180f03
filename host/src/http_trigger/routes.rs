//! Spin's HTTP routing: which component serves a path, and the `spin-*` headers it is told about.
//!
//! A route is exact (`/form`) or a wildcard (`/form/...`, matching `/form` and everything below it). An exact
//! route wins over any wildcard; among wildcards the longest prefix wins — Spin's order.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// As written in spin.toml, e.g. `/chat/...`.
    pub raw: String,
    /// `/chat` for `/chat/...`; `/` for `/...`.
    pub base: String,
    pub wildcard: bool,
    pub component: String,
}

impl Route {
    pub fn new(raw: &str, component: &str) -> Self {
        let (base, wildcard) = match raw.strip_suffix("/...") {
            Some(b) => (if b.is_empty() { "/".to_owned() } else { b.to_owned() }, true),
            None => (raw.trim_end_matches('/').to_owned(), false),
        };
        let base = if base.is_empty() { "/".to_owned() } else { base };
        Self { raw: raw.to_owned(), base, wildcard, component: component.to_owned() }
    }

    fn matches(&self, path: &str) -> bool {
        let path = if path.len() > 1 { path.trim_end_matches('/') } else { path };
        if !self.wildcard {
            return path == self.base;
        }
        self.base == "/" || path == self.base || path.starts_with(&format!("{}/", self.base))
    }

    /// The part of `path` below the route's base (`spin-path-info`).
    pub fn path_info(&self, path: &str) -> String {
        if !self.wildcard {
            return String::new();
        }
        if self.base == "/" {
            return path.to_owned();
        }
        path.strip_prefix(&self.base).unwrap_or("").to_owned()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Router {
    routes: Vec<Route>,
}

impl Router {
    pub fn new(routes: Vec<Route>) -> Self {
        Self { routes }
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    pub fn find(&self, path: &str) -> Option<&Route> {
        let exact = self.routes.iter().find(|r| !r.wildcard && r.matches(path));
        exact.or_else(|| {
            self.routes.iter().filter(|r| r.wildcard && r.matches(path)).max_by_key(|r| r.base.len())
        })
    }
}

/// The headers Spin's HTTP trigger adds to every request it passes to a component.
pub fn spin_headers(route: &Route, full_url: &str, path: &str, client_addr: &str) -> Vec<(&'static str, String)> {
    vec![
        ("spin-full-url", full_url.to_owned()),
        ("spin-path-info", route.path_info(path)),
        ("spin-matched-route", route.raw.clone()),
        ("spin-component-route", route.raw.trim_end_matches("/...").to_owned()),
        ("spin-raw-component-route", route.raw.clone()),
        ("spin-base-path", "/".to_owned()),
        ("spin-client-addr", client_addr.to_owned()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router() -> Router {
        Router::new(vec![
            Route::new("/...", "fallback"),
            Route::new("/form/...", "form"),
            Route::new("/form/embed.js", "embed"),
            Route::new("/form/v2/...", "form2"),
            Route::new("/health", "health"),
        ])
    }

    #[test]
    fn exact_beats_wildcard_and_longest_prefix_wins() {
        let r = router();
        let at = |p| r.find(p).map(|r| r.component.as_str());
        assert_eq!(at("/form/embed.js"), Some("embed"));
        assert_eq!(at("/form"), Some("form"));
        assert_eq!(at("/form/submit"), Some("form"));
        assert_eq!(at("/form/v2/x"), Some("form2"));
        assert_eq!(at("/formx"), Some("fallback"));
        assert_eq!(at("/health"), Some("health"));
        assert_eq!(at("/health/x"), Some("fallback"));
        assert_eq!(Router::new(vec![Route::new("/a", "a")]).find("/b"), None);
    }

    #[test]
    fn path_info_and_headers() {
        let form = Route::new("/form/...", "form");
        assert_eq!(form.path_info("/form/submit/x"), "/submit/x");
        assert_eq!(form.path_info("/form"), "");
        assert_eq!(Route::new("/...", "all").path_info("/a/b"), "/a/b");
        let h = spin_headers(&form, "http://127.0.0.1:3000/form/submit?x=1", "/form/submit", "127.0.0.1:5000");
        let get = |n| h.iter().find(|(k, _)| *k == n).unwrap().1.clone();
        assert_eq!(get("spin-component-route"), "/form");
        assert_eq!(get("spin-path-info"), "/submit");
        assert_eq!(get("spin-matched-route"), "/form/...");
    }
}
