//! `spin:variables/variables@3.0.0`: a component reads its own `[component.x.variables]`, expanded from the
//! application's resolved variables. Unknown names are `undefined`, malformed ones `invalid-name`, as in Spin.

use wasmtime::component::{Accessor, HasData, Linker};

use super::bindings::spin::variables::variables as vars;
use super::resolve::GetError;
use super::state::VariablesState;

struct SpinVars;

impl HasData for SpinVars {
    type Data<'a> = &'a VariablesState;
}

/// Links the interface; `get` finds the calling component's [`VariablesState`] in the store's data.
pub fn add_to_linker<T: Send + 'static>(linker: &mut Linker<T>, get: fn(&mut T) -> &VariablesState) -> wasmtime::Result<()> {
    vars::add_to_linker::<T, SpinVars>(linker, get)
}

impl vars::Host for &VariablesState {}

impl<T> vars::HostWithStore<T> for SpinVars {
    async fn get(accessor: &Accessor<T, Self>, name: String) -> wasmtime::Result<Result<String, vars::Error>> {
        Ok(accessor.with(|mut access| {
            access.get().get(&name).map_err(|e| match e {
                GetError::InvalidName(n) => vars::Error::InvalidName(n),
                GetError::Undefined(n) => vars::Error::Undefined(n),
            })
        }))
    }
}
