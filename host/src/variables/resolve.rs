//! Spin variables, resolved the way Spin resolves them.
//!
//! Application `[variables]` get their value from, in order: `--variable name=value`, the environment
//! (`SPIN_VARIABLE_<NAME>`, upper-cased), the manifest default. A required variable with no value stops start-up
//! with a message naming it. A component sees only its own `[component.x.variables]`, each a template over
//! application variables (`"{{ name }}"`, literal text allowed around it), expanded when the guest asks.
//! Values may be secrets: `Debug` shows names only, never values.

use std::collections::BTreeMap;
use std::fmt;

use crate::manifest::{Manifest, check_variable_name};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VariablesError {
    #[error(
        "variable `{0}` is required but has no value: set SPIN_VARIABLE_{upper} or pass --variable {0}=…",
        upper = .0.to_uppercase()
    )]
    MissingRequired(String),
    #[error("--variable {0}: not declared in [variables]")]
    Undeclared(String),
    #[error("--variable expects name=value, got `{0}`")]
    BadFlag(String),
}

/// Why a guest's `variables::get` failed; maps onto spin:variables' `error` variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GetError {
    #[error("invalid variable name `{0}`")]
    InvalidName(String),
    #[error("variable `{0}` is not defined for this component")]
    Undefined(String),
}

/// Application variables with their values.
#[derive(Clone, Default)]
pub struct ResolvedVariables {
    values: BTreeMap<String, String>,
}

impl fmt::Debug for ResolvedVariables {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.values.keys()).finish()
    }
}

impl ResolvedVariables {
    /// `flags` are the `--variable name=value` arguments; `env` looks up an environment variable.
    pub fn resolve(
        manifest: &Manifest,
        flags: &[String],
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, VariablesError> {
        let mut from_flags = BTreeMap::new();
        for flag in flags {
            let (name, value) = flag.split_once('=').ok_or_else(|| VariablesError::BadFlag(flag.clone()))?;
            if !manifest.variables.contains_key(name) {
                return Err(VariablesError::Undeclared(name.to_owned()));
            }
            from_flags.insert(name.to_owned(), value.to_owned());
        }
        let mut values = BTreeMap::new();
        for (name, declared) in &manifest.variables {
            let value = from_flags
                .remove(name)
                .or_else(|| env(&format!("SPIN_VARIABLE_{}", name.to_uppercase())))
                .or_else(|| declared.default.clone());
            match value {
                Some(v) => {
                    values.insert(name.clone(), v);
                }
                None => return Err(VariablesError::MissingRequired(name.clone())),
            }
        }
        Ok(Self { values })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Expands a template such as `"{{ endpoint }}/queue"` (references were checked at manifest load).
    pub fn expand(&self, template: &str) -> String {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let Some(end) = rest[start..].find("}}") else { break };
            let name = rest[start + 2..start + end].trim();
            out.push_str(self.get(name).unwrap_or_default());
            rest = &rest[start + end + 2..];
        }
        out.push_str(rest);
        out
    }

    /// What a component's `variables::get(name)` returns.
    pub fn component_get(&self, component_vars: &BTreeMap<String, String>, name: &str) -> Result<String, GetError> {
        check_variable_name(name).map_err(|_| GetError::InvalidName(name.to_owned()))?;
        let template = component_vars.get(name).ok_or_else(|| GetError::Undefined(name.to_owned()))?;
        Ok(self.expand(template))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::LoadedManifest;
    use std::path::Path;

    fn manifest() -> Manifest {
        let text = r#"
spin_manifest_version = 2
[application]
name = "v"
[variables]
greeting = { default = "hello" }
token = { required = true, secret = true }
[component.c]
source = "c.wasm"
[component.c.variables]
message = "{{ greeting }}, {{token}}!"
"#;
        LoadedManifest::parse(Path::new("spin.toml"), text).unwrap().manifest
    }

    #[test]
    fn precedence_flag_then_env_then_default() {
        let m = manifest();
        let env = |k: &str| (k == "SPIN_VARIABLE_TOKEN" || k == "SPIN_VARIABLE_GREETING").then(|| format!("env:{k}"));
        let v = ResolvedVariables::resolve(&m, &["greeting=flag".into()], env).unwrap();
        assert_eq!(v.get("greeting"), Some("flag"));
        assert_eq!(v.get("token"), Some("env:SPIN_VARIABLE_TOKEN"));
        let v = ResolvedVariables::resolve(&m, &["token=t".into()], |_| None).unwrap();
        assert_eq!(v.get("greeting"), Some("hello"));
        let vars = &m.component["c"].variables;
        assert_eq!(v.component_get(vars, "message").unwrap(), "hello, t!");
    }

    #[test]
    fn missing_required_names_the_variable() {
        let err = ResolvedVariables::resolve(&manifest(), &[], |_| None).unwrap_err();
        assert_eq!(err, VariablesError::MissingRequired("token".into()));
        assert!(err.to_string().contains("SPIN_VARIABLE_TOKEN"));
    }

    #[test]
    fn guest_errors_and_redaction() {
        let m = manifest();
        let v = ResolvedVariables::resolve(&m, &["token=s3cret".into()], |_| None).unwrap();
        let vars = &m.component["c"].variables;
        assert_eq!(v.component_get(vars, "token"), Err(GetError::Undefined("token".into())));
        assert_eq!(v.component_get(vars, "Bad-Name"), Err(GetError::InvalidName("Bad-Name".into())));
        assert!(!format!("{v:?}").contains("s3cret"));
    }
}
