//! `spin:variables/variables@3.0.0`: a component reads its own `[component.x.variables]`, expanded from the
//! application's resolved variables ([`crate::variables`]). Unknown names are `undefined`, malformed ones
//! `invalid-name`, as in Spin.

use wasmtime::component::{Accessor, HasData, Linker};

use crate::runtime::{ComponentEnv, Ctx};
use crate::spin_bindings::spin_host::spin::variables::variables as vars;
use crate::variables::GetError;

struct SpinVars;

impl HasData for SpinVars {
    type Data<'a> = &'a ComponentEnv;
}

pub fn add_to_linker(linker: &mut Linker<Ctx>) -> anyhow::Result<()> {
    vars::add_to_linker::<Ctx, SpinVars>(linker, |ctx| &*ctx.env)?;
    Ok(())
}

impl vars::Host for &ComponentEnv {}

impl<T> vars::HostWithStore<T> for SpinVars {
    async fn get(accessor: &Accessor<T, Self>, name: String) -> wasmtime::Result<Result<String, vars::Error>> {
        Ok(accessor.with(|mut access| {
            let env = access.get();
            env.variables.component_get(&env.component_variables, &name).map_err(|e| match e {
                GetError::InvalidName(n) => vars::Error::InvalidName(n),
                GetError::Undefined(n) => vars::Error::Undefined(n),
            })
        }))
    }
}
