//! spin.toml (manifest v2): the keys tr-intake's application uses, read the way Spin reads them.
//!
//! Unknown keys are errors (serde `deny_unknown_fields`), reported with the file, line and column, like Spin:
//! a typo in a manifest should stop start-up, not be ignored. Paths (`source`, `files`) are resolved against
//! the manifest's folder, as Spin does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub spin_manifest_version: u32,
    pub application: Application,
    #[serde(default)]
    pub variables: BTreeMap<String, AppVariable>,
    #[serde(default)]
    pub trigger: Triggers,
    #[serde(default)]
    pub component: BTreeMap<String, Component>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Application {
    pub name: String,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub authors: Vec<String>,
}

/// `[variables] name = { default = "…" }` or `{ required = true }`, optionally `secret = true`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppVariable {
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub secret: bool,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Triggers {
    #[serde(default)]
    pub http: Vec<HttpTrigger>,
    #[serde(default)]
    pub sqs: Vec<SqsTrigger>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpTrigger {
    #[serde(default)]
    pub id: Option<String>,
    pub route: String,
    pub component: String,
}

/// The trigger-sqs plugin's keys; it rejects unknown ones, and so do we.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqsTrigger {
    #[serde(default)]
    pub id: Option<String>,
    pub queue_url: String,
    pub component: String,
    #[serde(default = "default_max_messages")]
    pub max_messages: u32,
    #[serde(default = "default_idle_wait")]
    pub idle_wait_seconds: u64,
    #[serde(default)]
    pub system_attributes: Vec<String>,
    #[serde(default)]
    pub message_attributes: Vec<String>,
}

fn default_max_messages() -> u32 {
    10
}

fn default_idle_wait() -> u64 {
    2
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    pub source: PathBuf,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    pub key_value_stores: Vec<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default)]
    pub files: Vec<FileMount>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    #[serde(default)]
    pub build: Option<Build>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum FileMount {
    /// A path (file or directory) relative to the manifest, mounted at the same path in the guest.
    Path(PathBuf),
    /// `{ source = "dir", destination = "/guest/dir" }`.
    Mapped { source: PathBuf, destination: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Build {
    pub command: String,
    #[serde(default)]
    pub workdir: Option<String>,
    #[serde(default)]
    pub watch: Vec<String>,
}

/// A parsed manifest and the folder its relative paths are resolved against.
#[derive(Debug, Clone)]
pub struct LoadedManifest {
    pub path: PathBuf,
    pub dir: PathBuf,
    pub manifest: Manifest,
}

impl LoadedManifest {
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read { path: path.into(), source })?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self, ManifestError> {
        let invalid = |message: String| ManifestError::Invalid { path: path.into(), message };
        let manifest: Manifest = toml::from_str(text).map_err(|e| invalid(e.to_string().trim_end().to_owned()))?;
        if manifest.spin_manifest_version != 2 {
            return Err(invalid(format!(
                "spin_manifest_version = {} is not supported (this host reads version 2)",
                manifest.spin_manifest_version
            )));
        }
        validate(&manifest).map_err(invalid)?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let dir = if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir };
        Ok(Self { path: path.into(), dir, manifest })
    }

    pub fn component(&self, id: &str) -> &Component {
        &self.manifest.component[id]
    }

    /// The component's .wasm, resolved against the manifest folder.
    pub fn source_path(&self, id: &str) -> PathBuf {
        self.dir.join(&self.component(id).source)
    }
}

/// Cross-references serde cannot check: triggers name existing components, variable names are Spin-valid,
/// component variables only reference declared application variables.
fn validate(m: &Manifest) -> Result<(), String> {
    for name in m.variables.keys() {
        check_variable_name(name).map_err(|e| format!("[variables] {e}"))?;
    }
    for (name, var) in &m.variables {
        if var.required && var.default.is_some() {
            return Err(format!("[variables] {name}: a variable cannot be both required and have a default"));
        }
        if !var.required && var.default.is_none() {
            return Err(format!("[variables] {name}: give it a default or mark it required = true"));
        }
    }
    let http = m.trigger.http.iter().map(|t| (&t.component, "trigger.http"));
    let sqs = m.trigger.sqs.iter().map(|t| (&t.component, "trigger.sqs"));
    for (component, kind) in http.chain(sqs) {
        if !m.component.contains_key(component) {
            return Err(format!("[[{kind}]] names component `{component}`, which is not defined"));
        }
    }
    for t in &m.trigger.http {
        if !t.route.starts_with('/') {
            return Err(format!("[[trigger.http]] route `{}` must start with `/`", t.route));
        }
    }
    for (id, c) in &m.component {
        for (name, template) in &c.variables {
            check_variable_name(name).map_err(|e| format!("[component.{id}.variables] {e}"))?;
            for reference in template_references(template)
                .map_err(|e| format!("[component.{id}.variables] {name}: {e}"))?
            {
                if !m.variables.contains_key(&reference) {
                    return Err(format!(
                        "[component.{id}.variables] {name} references `{reference}`, which [variables] does not declare"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Spin's rule: lower-case ASCII letters, digits and underscores, starting with a letter.
pub fn check_variable_name(name: &str) -> Result<(), String> {
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.contains("__")
        && !name.ends_with('_');
    if ok { Ok(()) } else { Err(format!("`{name}` is not a valid variable name (lower-case letters, digits, single underscores)")) }
}

/// The application variables a template refers to (`"{{ name }}"`, literal text allowed around it). Template
/// syntax belongs to the manifest: it is checked here at load, and [`crate::variables`] expands what passed.
pub fn template_references(template: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let end = rest[start..].find("}}").ok_or_else(|| format!("unclosed `{{{{` in `{template}`"))?;
        let name = rest[start + 2..start + end].trim();
        check_variable_name(name)?;
        out.push(name.to_owned());
        rest = &rest[start + end + 2..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
spin_manifest_version = 2

[application]
name = "demo"

[variables]
greeting = { default = "hi" }
api_key = { required = true, secret = true }

[[trigger.http]]
route = "/hello/..."
component = "hello"

[[trigger.sqs]]
queue_url = "http://127.0.0.1:4566/000000000000/q"
component = "hello"

[component.hello]
source = "target/hello.wasm"
allowed_outbound_hosts = ["https://example.com"]
key_value_stores = ["default"]
files = ["static", { source = "rules", destination = "/rules" }]
[component.hello.variables]
message = "{{ greeting }}, world"
key = "{{api_key}}"
"#;

    fn parse(text: &str) -> Result<LoadedManifest, ManifestError> {
        LoadedManifest::parse(Path::new("/app/spin.toml"), text)
    }

    #[test]
    fn reads_the_keys_we_use() {
        let m = parse(GOOD).unwrap();
        assert_eq!(m.manifest.trigger.sqs[0].max_messages, 10);
        assert_eq!(m.manifest.trigger.sqs[0].idle_wait_seconds, 2);
        assert_eq!(m.source_path("hello"), PathBuf::from("/app/target/hello.wasm"));
        assert!(m.manifest.variables["api_key"].secret);
        assert_eq!(m.component("hello").files.len(), 2);
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let text = GOOD.replace("max_messages", "").replace(
            "component = \"hello\"\n\n[component",
            "component = \"hello\"\nmax_mesages = 3\n\n[component",
        );
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("max_mesages"), "{err}");
        assert!(err.contains("line 18"), "{err}");
    }

    #[test]
    fn cross_references_are_checked() {
        let err = parse(&GOOD.replace("component = \"hello\"\n\n[[trigger.sqs]]", "component = \"nope\"\n\n[[trigger.sqs]]"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`nope`"), "{err}");
        let err = parse(&GOOD.replace("{{api_key}}", "{{ missing }}")).unwrap_err().to_string();
        assert!(err.contains("`missing`"), "{err}");
        let err = parse(&GOOD.replace("greeting = {", "Greeting = {")).unwrap_err().to_string();
        assert!(err.contains("Greeting"), "{err}");
    }
}
