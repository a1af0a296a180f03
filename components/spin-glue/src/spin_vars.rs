//! The core's [`Vars`] over Spin variables (`spin:variables@3.0.0`).

use tr_core::Vars;

#[derive(Debug, Clone, Copy, Default)]
pub struct SpinVars;

impl Vars for SpinVars {
    /// An undefined variable and one the provider cannot read both count as unset: the core decides whether
    /// that is allowed, and says which variable to set.
    async fn get(&self, name: &str) -> Option<String> {
        spin_sdk::variables::get(name).await.ok()
    }
}
