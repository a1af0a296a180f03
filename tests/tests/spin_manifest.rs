//! spin.toml says exactly what the component code needs. For every `[component.X]` (its code is
//! `components/X/src/**/*.rs`): the variables it declares are the variables its code reads — nothing declared that
//! is never read (a secret handed to a component that does not need it), nothing read that is not declared (a
//! `variable undefined` error in production); every application variable feeds some component; every
//! `allowed_outbound_hosts` entry is either one endpoint variable the component also reads, whose default is an
//! exact origin, or an exact origin — never a wildcard. Secrets are marked `secret`; every component has a
//! description, a build command, a watch list and a trigger. The variable table in docs/deploy.md is the one
//! rendered from spin.toml, and the runtime-config examples use only keys Spin accepts.
//!
//! A component's code is its crate and its lane's folder in tr-core (`core/src/<lane>/`, where the component's
//! `from_vars` reads its settings). Reads are found in the source: `optional("name")`, `required("name")`,
//! `variables::get("name")`, `vars.optional("name")` / `vars.required("name")` (tr-core's `Vars`), and calls of
//! helpers that read fixed names themselves (spin-glue's `wiring()`, tr-core's `aws_credentials()`,
//! `Wiring::from_vars`, `intake_queues`); a read whose name is not a string literal fails the test, because it
//! could not be checked.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The functions that take a variable's name (the SDK's own, and tr-core's `Vars` methods as the lanes call them).
const PRIMITIVES: [&str; 5] = ["optional", "required", "variables::get", "vars.optional", "vars.required"];
/// Inside `Vars` itself a default method reads through `self`.
const HELPER_PRIMITIVES: [&str; 2] = ["self.optional", "self.required"];
/// Files whose functions may be helpers that read fixed names: spin-glue, and tr-core's variables and wiring.
const HELPER_FILES: [&str; 3] = ["components/spin-glue/src", "core/src/vars.rs", "core/src/wiring.rs"];
/// Each component's lane in tr-core (`core/src/<folder>`), where its settings are read.
const CORE_LANES: [(&str, &str); 4] = [("form", "form"), ("chat", "chat"), ("email", "email"), ("read", "reader")];

const DOCS: &str = "docs/deploy.md";
const TABLE_BEGIN: &str = "<!-- variables table: rendered from spin.toml by tests/tests/spin_manifest.rs -->";
const TABLE_END: &str = "<!-- end of variables table -->";

#[test]
fn each_component_declares_exactly_the_variables_its_code_reads() {
    let manifest = Manifest::load();
    let helpers = glue_helpers();
    let mut problems = Vec::new();
    for (id, component) in &manifest.components {
        let declared: BTreeSet<String> = component_variables(component).keys().cloned().collect();
        let read = reads(&component_sources(id), &helpers);
        for missing in read.difference(&declared) {
            problems.push(format!(
                "[component.{id}] reads `{missing}` but does not declare it in [component.{id}.variables]"
            ));
        }
        for unused in declared.difference(&read) {
            problems
                .push(format!("[component.{id}.variables] declares `{unused}`, which components/{id}/src never reads"));
        }
    }
    assert!(problems.is_empty(), "spin.toml and the code disagree:\n{}", problems.join("\n"));
}

/// The scanner must see through spin-glue: if it stops finding what `aws_credentials()` reads, every component
/// would look as if it declared unused variables (or worse, the check would pass for the wrong reason).
#[test]
fn the_scanner_sees_the_variables_behind_glue_helpers() {
    let helpers = glue_helpers();
    let want: BTreeSet<String> =
        ["aws_access_key_id", "aws_secret_access_key", "aws_session_token"].map(String::from).into();
    assert_eq!(helpers.get("aws_credentials"), Some(&want), "glue helpers found: {helpers:?}");

    let code = r#"
        // optional("in_a_comment") is not a read
        let url = "https://example.com"; let a = optional("after_a_url").await;
        let b = tr_spin_glue::required( "spaced" ).await?;
        let c = spin_sdk::variables::get("direct").await;
        let creds = aws_credentials().await?;
        let s = value.optional("method_call_not_a_read");
    "#;
    let found = reads(&[(PathBuf::from("inline.rs"), code.to_owned())], &helpers);
    let want: BTreeSet<String> =
        ["after_a_url", "spaced", "direct", "aws_access_key_id", "aws_secret_access_key", "aws_session_token"]
            .map(String::from)
            .into();
    assert_eq!(found, want);

    let computed = std::panic::catch_unwind(|| {
        reads(&[(PathBuf::from("inline.rs"), "let v = optional(NAME).await;".to_owned())], &helpers)
    });
    assert!(computed.is_err(), "a read with a computed name must fail the test, not pass unchecked");
}

#[test]
fn component_variables_name_application_variables_and_every_application_variable_is_used() {
    let manifest = Manifest::load();
    let mut used = BTreeSet::new();
    let mut problems = Vec::new();
    for (id, component) in &manifest.components {
        for (name, value) in component_variables(component) {
            let Some(value) = value.as_str() else {
                problems.push(format!("[component.{id}.variables] {name} is not a string"));
                continue;
            };
            for app_var in template_names(value) {
                if !manifest.variables.contains_key(&app_var) {
                    problems.push(format!("[component.{id}.variables] {name} = {value:?} names no [variables] entry"));
                }
                used.insert(app_var);
            }
        }
        for host in outbound_hosts(component) {
            used.extend(template_names(&host));
        }
    }
    for name in manifest.variables.keys().filter(|n| !used.contains(*n)) {
        problems.push(format!("[variables] {name} is given to no component"));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn outbound_hosts_are_declared_endpoints_or_exact_origins() {
    let manifest = Manifest::load();
    let mut problems = Vec::new();
    let mut checked = 0;
    for (id, component) in &manifest.components {
        let variables = component_variables(component);
        for host in outbound_hosts(component) {
            checked += 1;
            if !host.contains("{{") {
                if let Err(why) = exact_origin(&host) {
                    problems.push(format!("[component.{id}] allowed_outbound_hosts {host:?}: {why}"));
                }
                continue;
            }
            // The whole entry is one variable: the component must read that same value to build its URLs, so the
            // allowance and the requests cannot drift apart.
            let names = template_names(&host);
            let whole = names.len() == 1 && host.trim() == format!("{{{{ {} }}}}", names[0]);
            if !whole {
                problems.push(format!(
                    "[component.{id}] allowed_outbound_hosts {host:?}: must be exactly \"{{{{ variable }}}}\""
                ));
                continue;
            }
            let name = &names[0];
            let passed_through =
                variables.iter().any(|(_, v)| v.as_str().map(template_names) == Some(vec![name.clone()]));
            if !passed_through {
                problems.push(format!("[component.{id}] allows {host:?} but gets no component variable set to it"));
            }
            match manifest.variables.get(name) {
                None => problems.push(format!("[component.{id}] allows {host:?}: no [variables] {name}")),
                Some(declaration) => {
                    if let Some(default) = declaration.get("default").and_then(|d| d.as_str())
                        && let Err(why) = exact_origin(default)
                    {
                        problems.push(format!("[variables] {name} default {default:?}: {why}"));
                    }
                }
            }
        }
    }
    assert!(checked > 0, "no allowed_outbound_hosts entries at all: this test checked nothing");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// What real Spin needs to build and run each component from the repo root (`spin build`, `spin up`).
#[test]
fn every_component_is_described_built_watched_and_triggered() {
    let manifest = Manifest::load();
    let raw: toml::Table = toml::from_str(&manifest.text).unwrap();
    let mut triggered = BTreeSet::new();
    for (kind, entries) in raw.get("trigger").and_then(|t| t.as_table()).into_iter().flatten() {
        for entry in entries.as_array().unwrap_or_else(|| panic!("[trigger.{kind}] is not an array of tables")) {
            let component =
                entry["component"].as_str().unwrap_or_else(|| panic!("a [[trigger.{kind}]] names no component"));
            assert!(
                manifest.components.contains_key(component),
                "[[trigger.{kind}]] names unknown component {component}"
            );
            triggered.insert(component.to_owned());
        }
    }
    let mut problems = Vec::new();
    for (id, component) in &manifest.components {
        if component.get("description").and_then(|d| d.as_str()).is_none_or(str::is_empty) {
            problems.push(format!("[component.{id}] has no description"));
        }
        let build = component.get("build").and_then(|b| b.as_table());
        if build.and_then(|b| b.get("command")).and_then(|c| c.as_str()).is_none() {
            problems.push(format!("[component.{id}.build] has no command"));
        }
        if build.and_then(|b| b.get("watch")).and_then(|w| w.as_array()).is_none_or(|w| w.is_empty()) {
            problems.push(format!("[component.{id}.build] has no watch list"));
        }
        if !triggered.contains(id) {
            problems.push(format!("[component.{id}] has no trigger"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn secrets_are_marked_secret() {
    let manifest = Manifest::load();
    let unmarked: Vec<&String> = manifest
        .variables
        .iter()
        .filter(|(name, _)| ["secret", "token", "password", "access_key", "api_key"].iter().any(|w| name.contains(w)))
        .filter(|(_, declaration)| declaration.get("secret").and_then(|s| s.as_bool()) != Some(true))
        .map(|(name, _)| name)
        .collect();
    assert!(unmarked.is_empty(), "these look like secrets but are not `secret = true`: {unmarked:?}");
}

/// `TR_UPDATE_DOCS=1 cargo test -p tr-tests --test spin_manifest` rewrites the table after spin.toml changes.
#[test]
fn docs_variable_table_is_the_one_rendered_from_spin_toml() {
    let manifest = Manifest::load();
    let rendered = variable_table(&manifest);
    let path = repo_root().join(DOCS);
    let docs = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{DOCS}: {e}"));
    let (Some(begin), Some(end)) = (docs.find(TABLE_BEGIN), docs.find(TABLE_END)) else {
        panic!("{DOCS} lacks the markers around the variables table ({TABLE_BEGIN} … {TABLE_END})");
    };
    let current = docs[begin + TABLE_BEGIN.len()..end].trim();
    if current == rendered.trim() {
        return;
    }
    if std::env::var_os("TR_UPDATE_DOCS").is_some() {
        let updated = format!("{}{TABLE_BEGIN}\n{}\n{}", &docs[..begin], rendered.trim(), &docs[end..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    panic!(
        "{DOCS}'s variables table is out of date with spin.toml; rerun with TR_UPDATE_DOCS=1, or paste:\n{}",
        rendered
    );
}

#[test]
fn runtime_config_examples_use_only_keys_spin_accepts() {
    let manifest = Manifest::load();
    let labels: BTreeSet<String> = manifest
        .components
        .values()
        .flat_map(|c| c.get("key_value_stores").and_then(|k| k.as_array()).cloned().unwrap_or_default())
        .filter_map(|l| l.as_str().map(String::from))
        .collect();
    // Field names as Spin deserialises them (spin crates key-value-redis, key-value-aws, variables-vault).
    let key_value: BTreeMap<&str, (&[&str], &[&str])> = BTreeMap::from([
        ("redis", (&["url"][..], &[][..])),
        ("aws_dynamo", (&["region", "table"][..], &["consistent_read", "access_key", "secret_key", "token"][..])),
    ]);
    let providers: BTreeMap<&str, (&[&str], &[&str])> =
        BTreeMap::from([("vault", (&["url", "token", "mount"][..], &["prefix"][..]))]);

    let dir = repo_root().join("deploy/runtime-config");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 3, "expected the Redis, DynamoDB and Vault examples in {}", dir.display());
    let mut problems = Vec::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let config: toml::Table =
            toml::from_str(&std::fs::read_to_string(file).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
        for (section, value) in &config {
            match section.as_str() {
                "key_value_store" => {
                    for (label, store) in value.as_table().unwrap() {
                        if !labels.contains(label) {
                            problems.push(format!("{name}: store `{label}` is used by no component ({labels:?})"));
                        }
                        check_typed(&name, store.as_table().unwrap(), &key_value, &mut problems);
                    }
                }
                "config_provider" | "variables_provider" => {
                    for provider in value.as_array().unwrap() {
                        check_typed(&name, provider.as_table().unwrap(), &providers, &mut problems);
                    }
                }
                other => problems.push(format!("{name}: unexpected section [{other}]")),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn check_typed(
    file: &str,
    table: &toml::Table,
    kinds: &BTreeMap<&str, (&[&str], &[&str])>,
    problems: &mut Vec<String>,
) {
    let kind = table.get("type").and_then(|t| t.as_str()).unwrap_or("(none)");
    let Some((required, optional)) = kinds.get(kind) else {
        problems.push(format!("{file}: type {kind:?} is not one of {:?}", kinds.keys()));
        return;
    };
    for key in
        table.keys().filter(|k| *k != "type" && !required.contains(&k.as_str()) && !optional.contains(&k.as_str()))
    {
        problems.push(format!("{file}: {kind} has no key `{key}`"));
    }
    for key in required.iter().filter(|k| !table.contains_key(**k)) {
        problems.push(format!("{file}: {kind} needs `{key}`"));
    }
}

// --- spin.toml --------------------------------------------------------------------------------------------------

struct Manifest {
    text: String,
    variables: BTreeMap<String, toml::Table>,
    components: BTreeMap<String, toml::Table>,
}

impl Manifest {
    fn load() -> Self {
        let text = std::fs::read_to_string(repo_root().join("spin.toml")).expect("spin.toml");
        let mut manifest: toml::Table = toml::from_str(&text).expect("spin.toml parses");
        let table = |value: toml::Value, what: &str| match value {
            toml::Value::Table(t) => t,
            other => panic!("{what} is not a table: {other:?}"),
        };
        let section = |manifest: &mut toml::Table, key: &str| -> BTreeMap<String, toml::Table> {
            manifest
                .remove(key)
                .map(|v| table(v, key))
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| {
                    let v = table(v, &format!("{key}.{k}"));
                    (k, v)
                })
                .collect()
        };
        let variables = section(&mut manifest, "variables");
        let components = section(&mut manifest, "component");
        assert!(!components.is_empty(), "spin.toml has no components: every check here would pass vacuously");
        Self { text, variables, components }
    }
}

impl Manifest {
    /// spin.toml's own order: descriptions may lean on the line above ("Its secret key.").
    fn variables_in_file_order(&self) -> Vec<(&String, &toml::Table)> {
        let start = self.text.find("[variables]").expect("spin.toml has [variables]");
        let position = |name: &str| {
            self.text[start..]
                .lines()
                .position(|line| line.split('=').next().is_some_and(|key| key.trim() == name))
                .unwrap_or(usize::MAX)
        };
        let mut ordered: Vec<_> = self.variables.iter().collect();
        ordered.sort_by_key(|(name, _)| position(name));
        ordered
    }
}

fn component_variables(component: &toml::Table) -> toml::Table {
    component.get("variables").and_then(|v| v.as_table()).cloned().unwrap_or_default()
}

fn outbound_hosts(component: &toml::Table) -> Vec<String> {
    let hosts = component.get("allowed_outbound_hosts").and_then(|h| h.as_array()).cloned().unwrap_or_default();
    hosts.into_iter().map(|h| h.as_str().expect("allowed_outbound_hosts entries are strings").to_owned()).collect()
}

/// `{{ name }}` references in a Spin template string.
fn template_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(end) = rest[start..].find("}}") else { break };
        names.push(rest[start + 2..start + end].trim().to_owned());
        rest = &rest[start + end + 2..];
    }
    names
}

/// `scheme://host[:port]`, nothing else: no wildcard, no path, no credentials.
fn exact_origin(text: &str) -> Result<(), String> {
    let (scheme, rest) = text.split_once("://").ok_or("not scheme://host")?;
    if !matches!(scheme, "http" | "https") {
        return Err(format!("scheme {scheme} is not http or https"));
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (rest, None),
    };
    if host.is_empty() || !host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-') {
        return Err(format!(
            "host {host:?} is not a plain host name (wildcards, paths and credentials are not allowed)"
        ));
    }
    if let Some(port) = port
        && port.parse::<u16>().is_err()
    {
        return Err(format!("port {port:?} is not a number"));
    }
    Ok(())
}

fn variable_table(manifest: &Manifest) -> String {
    let mut users: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (id, component) in &manifest.components {
        let templates =
            component_variables(component).values().filter_map(|v| v.as_str().map(String::from)).collect::<Vec<_>>();
        for name in templates.iter().chain(outbound_hosts(component).iter()).flat_map(|t| template_names(t)) {
            users.entry(name).or_default().insert(id.clone());
        }
    }
    let mut out = String::from("| variable | default | used by | meaning |\n|---|---|---|---|\n");
    for (name, declaration) in manifest.variables_in_file_order() {
        let mut default = match (declaration.get("required").and_then(|r| r.as_bool()), declaration.get("default")) {
            (Some(true), _) => "**required**".to_owned(),
            (_, Some(toml::Value::String(s))) if s.is_empty() => "*(empty)*".to_owned(),
            (_, Some(toml::Value::String(s))) => format!("`{s}`"),
            (_, other) => format!("{other:?}"),
        };
        if declaration.get("secret").and_then(|s| s.as_bool()) == Some(true) {
            default.push_str(", secret");
        }
        let used_by = users.get(name).map(|u| u.iter().cloned().collect::<Vec<_>>().join(", ")).unwrap_or_default();
        let meaning = declaration.get("description").and_then(|d| d.as_str()).unwrap_or("").replace('|', "\\|");
        out.push_str(&format!("| `{name}` | {default} | {used_by} | {meaning} |\n"));
    }
    out
}

// --- Reading the code -------------------------------------------------------------------------------------------

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is inside the repository").to_path_buf()
}

/// The component crate's Rust files; the crate directory is named after the component id.
fn component_sources(id: &str) -> Vec<(PathBuf, String)> {
    let src = repo_root().join("components").join(id).join("src");
    assert!(src.is_dir(), "[component.{id}] has no crate at components/{id}/src (crate directory = component id)");
    let mut files = rust_files(&src);
    if let Some((_, folder)) = CORE_LANES.iter().find(|(component, _)| *component == id) {
        let lane = repo_root().join("core/src").join(folder);
        assert!(lane.is_dir(), "[component.{id}]'s lane is missing at {}", lane.display());
        files.extend(rust_files(&lane));
    }
    files
}

fn rust_files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            out.push((path, text));
        }
    }
    out
}

/// spin-glue functions that read fixed variable names (directly or through another such helper) → those names.
fn glue_helpers() -> BTreeMap<String, BTreeSet<String>> {
    let files: Vec<(PathBuf, String)> = HELPER_FILES
        .iter()
        .flat_map(|f| {
            let path = repo_root().join(f);
            if path.is_dir() { rust_files(&path) } else { vec![(path.clone(), std::fs::read_to_string(&path).unwrap())] }
        })
        .collect();
    // Each `fn` runs to the next `fn`: glue functions are small and flat, and a closer parse buys nothing here.
    let mut bodies: Vec<(String, String)> = Vec::new();
    for (_, text) in &files {
        let code = strip_comments(text);
        let mut positions: Vec<usize> = code
            .match_indices("fn ")
            .map(|(i, _)| i)
            .filter(|i| *i == 0 || !ident_char(code.as_bytes()[i - 1]))
            .collect();
        positions.push(code.len());
        for pair in positions.windows(2) {
            let chunk = &code[pair[0]..pair[1]];
            let name: String =
                chunk[3..].trim_start().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            bodies.push((name, chunk.to_owned()));
        }
    }
    let mut helpers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    // Until nothing changes: a helper may read through another helper.
    loop {
        let mut changed = false;
        for (name, body) in &bodies {
            let mut names = BTreeSet::new();
            for primitive in PRIMITIVES.iter().chain(&HELPER_PRIMITIVES) {
                for (_, arg) in find_calls(body, primitive) {
                    // A pass-through (`optional(name)`) is a primitive itself, not a helper.
                    if let Arg::Literal(v) = arg {
                        names.insert(v);
                    }
                }
            }
            for (helper, reads) in &helpers {
                if helper != name && calls_helper(body, helper) {
                    names.extend(reads.iter().cloned());
                }
            }
            if !names.is_empty() && helpers.get(name) != Some(&names) {
                helpers.insert(name.clone(), names);
                changed = true;
            }
        }
        if !changed {
            return helpers;
        }
    }
}

fn reads(files: &[(PathBuf, String)], helpers: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (path, text) in files {
        let code = strip_comments(text);
        for primitive in PRIMITIVES {
            for (at, arg) in find_calls(&code, primitive) {
                match arg {
                    Arg::Literal(name) => {
                        out.insert(name);
                    }
                    Arg::Computed(expr) => {
                        let line = code[..at].lines().count();
                        panic!(
                            "{}:{line}: {primitive}({expr}) reads a variable whose name is not a string literal; \
                             spin.toml cannot be checked against it",
                            path.display()
                        );
                    }
                }
            }
        }
        for (helper, names) in helpers {
            if calls_helper(&code, helper) {
                out.extend(names.iter().cloned());
            }
        }
    }
    out
}

/// `helper(…)` as a function, or `vars.helper(…)` as a `Vars` method.
fn calls_helper(code: &str, helper: &str) -> bool {
    !find_calls(code, helper).is_empty() || !find_calls(code, &format!("vars.{helper}")).is_empty()
}

enum Arg {
    Literal(String),
    Computed(String),
}

fn ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Calls of `name(` — not methods (`.name(`), not longer identifiers, not the definition (`fn name(`) — with the
/// first argument.
fn find_calls(code: &str, name: &str) -> Vec<(usize, Arg)> {
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    for (at, _) in code.match_indices(name) {
        if at > 0 && (ident_char(bytes[at - 1]) || bytes[at - 1] == b'.') {
            continue;
        }
        if code[..at].trim_end().ends_with("fn") {
            continue;
        }
        let rest = &code[at + name.len()..];
        let Some(args) = rest.trim_start().strip_prefix('(') else { continue };
        let args = args.trim_start();
        let arg = match args.strip_prefix('"') {
            Some(literal) => Arg::Literal(literal[..literal.find('"').expect("unterminated string")].to_owned()),
            None => Arg::Computed(args[..args.find(')').unwrap_or(args.len())].trim().to_owned()),
        };
        out.push((at, arg));
    }
    out
}

/// The code without `//` and `/* */` comments; string literals kept whole (so `"https://…"` is not a comment).
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '\\' => out.extend(chars.next()),
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('/', Some('/')) => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut previous = ' ';
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                    }
                    if previous == '*' && c == '/' {
                        break;
                    }
                    previous = c;
                }
            }
            _ => out.push(c),
        }
    }
    out
}
