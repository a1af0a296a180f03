//! The variables one component sees: its own templates over the application's resolved values.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::resolve::{GetError, ResolvedVariables};

/// What one component may read: its own `[component.x.variables]` templates over the application's values.
#[derive(Debug, Clone)]
pub struct VariablesState {
    pub resolved: Arc<ResolvedVariables>,
    pub component: BTreeMap<String, String>,
}

impl VariablesState {
    /// What the component's `variables::get(name)` returns.
    pub fn get(&self, name: &str) -> Result<String, GetError> {
        self.resolved.component_get(&self.component, name)
    }
}
