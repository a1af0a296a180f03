//! What `up` tells a person at start, so that what they try next works: every route it serves (the
//! manifest's trigger routes and, under each lane's wildcard, the endpoints that lane answers), a warning for
//! every lane that cannot work as configured (before the first request fails with a bare 403 or 500), and
//! next commands that run as printed.
//!
//! Key decision: the sub-routes and the variables a lane cannot do without are the lanes' documented surface
//! (README, each component's note), listed here once; everything else comes from the loaded manifest and the
//! variables as `up` resolved them, so a `--variable` or `SPIN_VARIABLE_*` the person set is what is checked.

use std::path::Path;

use tr_host::http_trigger::Route;
use tr_host::manifest::{Manifest, template_references};
use tr_host::variables::ResolvedVariables;

/// Endpoints a component answers below its wildcard route: (component, method, path below the base, what).
const SUB_ROUTES: &[(&str, &str, &str, &str)] = &[
    ("form", "POST", "", "a submission: the embed's JSON or a plain HTML form"),
    ("form", "OPTIONS", "", "the CORS preflight"),
    ("form", "GET", "/embed.js", "the embed script"),
    ("form", "GET", "/check", "whether the asking page's origin may post"),
    ("chat", "POST", "", "a generic chat transcript, signed with chat_secret (X-TR-Signature)"),
    ("chat", "POST", "/tawk", "Tawk.to's transcript webhook (X-Tawk-Signature)"),
    ("chat", "POST", "/chatwoot", "Chatwoot's conversation webhook (X-Chatwoot-Signature)"),
];

/// Component variables a lane cannot serve without, and what every request meets when one is empty.
const NEEDED: &[(&str, &str)] = &[
    ("form_site_key", "every form post is answered 500 (not_configured): there is no site key to check it against"),
    ("form_allowed_origins", "every form post is refused 403: no page's origin is allowed to post"),
    ("chat_secret", "every generic chat post (/chat) is answered 500 (not_configured): there is no secret to check its signature"),
    ("tawk_webhook_secret", "every Tawk.to webhook (/chat/tawk) is answered 500 (not_configured): there is no secret to check its signature"),
    ("chatwoot_webhook_secret", "every Chatwoot webhook (/chat/chatwoot) is answered 500 (not_configured): there is no secret to check its signature"),
];

/// The lines listing `routes` served at `origin` (`http://127.0.0.1:3000`): each trigger route, then the
/// endpoints its component answers below it.
pub fn route_lines(routes: &[Route], origin: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for route in routes {
        let wildcard = if route.wildcard { " (wildcard)" } else { "" };
        lines.push(format!("  {}: {origin}{}{wildcard}", route.component, route.base));
        if !route.wildcard {
            continue;
        }
        let base = route.base.trim_end_matches('/');
        let subs: Vec<_> = SUB_ROUTES.iter().filter(|(c, ..)| *c == route.component).collect();
        let width = subs.iter().map(|(_, _, p, _)| origin.len() + base.len() + p.len()).max().unwrap_or(0);
        for (_, method, path, what) in subs {
            let url = format!("{origin}{}", if base.is_empty() && path.is_empty() { "/".to_owned() } else { format!("{base}{path}") });
            lines.push(format!("    {method:<7} {url:<width$}  {what}"));
        }
    }
    lines
}

/// One warning per served lane that cannot work as configured: a variable it needs resolves to nothing.
pub fn lane_warnings(manifest: &Manifest, variables: &ResolvedVariables) -> Vec<String> {
    let served: Vec<&str> = manifest.trigger.http.iter().map(|t| t.component.as_str()).collect();
    let mut warnings = Vec::new();
    for (id, component) in manifest.component.iter().filter(|(id, _)| served.contains(&id.as_str())) {
        for (name, effect) in NEEDED {
            let Some(template) = component.variables.get(*name) else { continue };
            if !variables.component_get(&component.variables, name).unwrap_or_default().trim().is_empty() {
                continue;
            }
            let set: Vec<String> = template_references(template)
                .unwrap_or_default()
                .iter()
                .map(|v| format!("SPIN_VARIABLE_{} or --variable {v}=…", v.to_uppercase()))
                .collect();
            let hint = if set.is_empty() { format!("give [component.{id}.variables] {name} a value") } else { format!("set {}", set.join(", ")) };
            warnings.push(format!("tr-intake: warning: {id}: `{name}` is empty, so {effect}; {hint}"));
        }
    }
    warnings
}

/// Next commands, runnable as printed: the running binary by its absolute path (it is seldom on PATH), and
/// `-f` when the manifest is not the default `spin.toml` of the current folder.
pub fn try_lines(exe: &Path, manifest_arg: &Path) -> Vec<String> {
    let exe = shell_word(&exe.display().to_string());
    let from = if manifest_arg == Path::new("spin.toml") { String::new() } else { format!(" -f {}", shell_word(&manifest_arg.display().to_string())) };
    let commands = ["mail send FILE.eml", "tickets", "queues", "replay tr-tickets-dlq"];
    commands
        .iter()
        .enumerate()
        .map(|(i, command)| format!("{}{exe} {command}{from}", if i == 0 { "  try: " } else { "       " }))
        .collect()
}

/// `word` quoted for a POSIX shell when it needs to be.
fn shell_word(word: &str) -> String {
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c)) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use tr_host::http_trigger::Route;
    use tr_host::manifest::LoadedManifest;
    use tr_host::variables::ResolvedVariables;

    fn repo_manifest() -> LoadedManifest {
        LoadedManifest::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../spin.toml")).unwrap()
    }

    #[test]
    fn every_lane_endpoint_is_listed() {
        let routes = [Route::new("/form/...", "form"), Route::new("/chat/...", "chat")];
        let text = super::route_lines(&routes, "http://127.0.0.1:3000").join("\n");
        for url in ["/form ", "/form/embed.js", "/form/check", "/chat ", "/chat/tawk", "/chat/chatwoot"] {
            assert!(text.contains(&format!("http://127.0.0.1:3000{url}")), "{url} missing:\n{text}");
        }
        assert!(text.contains("  form: http://127.0.0.1:3000/form (wildcard)"), "{text}");
    }

    #[test]
    fn a_lane_missing_what_it_needs_is_named_with_the_fix() {
        let m = repo_manifest();
        let required = ["aws_access_key_id=k".to_owned(), "aws_secret_access_key=s".into(), "ticket_queue_url=q".into()];
        let none = ResolvedVariables::resolve(&m.manifest, &required, |_| None).unwrap();
        let warnings = super::lane_warnings(&m.manifest, &none).join("\n");
        for needed in ["form_site_key", "form_allowed_origins", "chat_secret", "tawk_webhook_secret", "chatwoot_webhook_secret"] {
            assert!(warnings.contains(&format!("`{needed}` is empty")), "{needed}:\n{warnings}");
            assert!(warnings.contains(&format!("SPIN_VARIABLE_{}", needed.to_uppercase())), "{needed}:\n{warnings}");
        }
        assert!(warnings.contains("every form post is refused 403") && warnings.contains("every generic chat post (/chat) is answered 500"));

        let env = |k: &str| match k {
            "SPIN_VARIABLE_FORM_SITE_KEY" => Some("key".to_owned()),
            "SPIN_VARIABLE_FORM_ALLOWED_ORIGINS" => Some("http://127.0.0.1:8000".to_owned()),
            "SPIN_VARIABLE_CHAT_SECRET" | "SPIN_VARIABLE_TAWK_WEBHOOK_SECRET" | "SPIN_VARIABLE_CHATWOOT_WEBHOOK_SECRET" => Some("s".to_owned()),
            _ => None,
        };
        let all = ResolvedVariables::resolve(&m.manifest, &required, env).unwrap();
        assert_eq!(super::lane_warnings(&m.manifest, &all), Vec::<String>::new());
    }

    #[test]
    fn next_commands_name_the_binary_and_the_manifest() {
        let lines = super::try_lines(Path::new("/opt/tr intake/tr-intake"), Path::new("spin.toml"));
        assert_eq!(lines[0], "  try: '/opt/tr intake/tr-intake' mail send FILE.eml");
        assert_eq!(lines[3], "       '/opt/tr intake/tr-intake' replay tr-tickets-dlq");
        let lines = super::try_lines(Path::new("/bin/tr-intake"), Path::new("app/spin.toml"));
        assert_eq!(lines[1], "       /bin/tr-intake tickets -f app/spin.toml");
    }
}
