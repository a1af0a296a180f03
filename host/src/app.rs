//! Loading an application: spin.toml → resolved variables, per-component permissions, compiled components,
//! and the two triggers, ready to run. Everything that can be wrong with the manifest or the environment is
//! found here, before anything listens.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::http_trigger::reuse::ComponentInstances;
use crate::http_trigger::{ConnectionLimits, HttpTrigger, InstanceReuse, Route, Router};
use crate::kv::{KvAccess, KvError, SqliteKv};
use crate::manifest::{FileMount, LoadedManifest, ManifestError, SqsTrigger};
use crate::outbound::{AllowedHosts, PooledClient};
use crate::runtime::{self, ComponentEnv};
use crate::sqs_trigger::{SpinSqsPre, SqsComponent, SqsGuests};
use crate::variables::{ResolvedVariables, VariablesError, VariablesState};
use wasmtime_wasi_http::handler::{ProxyHandler, ProxyPre};
use wasmtime_wasi_http::p3::bindings::ServicePre;

/// Why an application cannot start; each names what to fix.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("{}", manifest.display())]
    Variables { manifest: PathBuf, source: VariablesError },
    #[error("creating {}", path.display())]
    StateDir { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Kv(#[from] KvError),
    /// A manifest entry the host cannot honour.
    #[error("component `{id}`: {problem}")]
    Component { id: String, problem: String },
    /// The component does not link against what the host offers (a missing import, a wrong WIT version).
    #[error("component `{id}` ({}): {message}", source_path.display())]
    Link { id: String, source_path: PathBuf, message: String },
    #[error("component `{id}` does not export {export}: {message}")]
    Export { id: String, export: &'static str, message: String },
    /// wasmtime itself: the engine, the linker, or a .wasm it cannot load.
    #[error("{0}")]
    Runtime(String),
}

fn runtime_error(e: wasmtime::Error) -> LoadError {
    LoadError::Runtime(format!("{e:#}"))
}

pub struct Options {
    pub manifest: PathBuf,
    pub variables: Vec<String>,
    /// Values for application variables the user left unset (the embedded default's wiring); `--variable` and
    /// `SPIN_VARIABLE_*` still win, and these win over the manifest's defaults.
    pub variable_defaults: std::collections::BTreeMap<String, String>,
    /// Queue name → URL: a `[[trigger.sqs]]` whose URL ends in that name polls this URL instead.
    pub queue_urls: std::collections::BTreeMap<String, String>,
    pub http_timeout: Duration,
    pub sqs_cpu_limit: Duration,
    /// Each guest instance's memory limit in bytes (both triggers); [`runtime::DEFAULT_GUEST_MEMORY`] by default.
    pub guest_memory: usize,
    /// The HTTP trigger's connection bounds.
    pub connection_limits: ConnectionLimits,
    /// How long the HTTP trigger's instances live (Spin's defaults: [`InstanceReuse::default`]).
    pub instance_reuse: InstanceReuse,
}

pub struct App {
    pub manifest: LoadedManifest,
    /// The application's variables as resolved at start-up (secrets among them: `Debug` shows names only).
    pub variables: Arc<ResolvedVariables>,
    pub http: Arc<HttpTrigger>,
    pub sqs: Arc<SqsGuests>,
    pub sqs_triggers: Vec<SqsTrigger>,
}

impl App {
    pub fn load(options: &Options) -> Result<Self, LoadError> {
        let manifest = LoadedManifest::load(&options.manifest)?;
        let variables = Arc::new(
            ResolvedVariables::resolve(&manifest.manifest, &options.variables, |k| {
                std::env::var(k).ok().or_else(|| {
                    let name = k.strip_prefix("SPIN_VARIABLE_")?.to_lowercase();
                    options.variable_defaults.get(&name).cloned()
                })
            })
                .map_err(|source| LoadError::Variables { manifest: manifest.path.clone(), source })?,
        );
        let spin_dir = manifest.dir.join(".spin");
        std::fs::create_dir_all(&spin_dir).map_err(|source| LoadError::StateDir { path: spin_dir.clone(), source })?;
        let kv = Arc::new(SqliteKv::open(&spin_dir.join("sqlite_key_value.db"))?);

        let engine = runtime::engine().map_err(runtime_error)?;
        let linker = runtime::linker(&engine).map_err(runtime_error)?;
        let http_ids: Vec<&str> = manifest.manifest.trigger.http.iter().map(|t| t.component.as_str()).collect();
        let sqs_ids: Vec<&str> = manifest.manifest.trigger.sqs.iter().map(|t| t.component.as_str()).collect();

        let outbound = PooledClient::new();
        let mut http_components = HashMap::new();
        let mut sqs_components = HashMap::new();
        for (id, c) in &manifest.manifest.component {
            if !http_ids.contains(&id.as_str()) && !sqs_ids.contains(&id.as_str()) {
                continue;
            }
            let env = Arc::new(component_env(&manifest, id, &kv, &variables, &outbound)?);
            let component = runtime::load(&engine, &manifest.source_path(id)).map_err(runtime_error)?;
            let instance_pre = linker.instantiate_pre(&component).map_err(|e| LoadError::Link {
                id: id.clone(),
                source_path: c.source.clone(),
                message: e.to_string(),
            })?;
            if http_ids.contains(&id.as_str()) {
                let pre = ServicePre::new(instance_pre.clone()).map_err(|e| LoadError::Export {
                    id: id.clone(),
                    export: "wasi:http/handler@0.3.0",
                    message: e.to_string(),
                })?;
                let instances = ComponentInstances::new(
                    engine.clone(),
                    ProxyPre::P3(pre),
                    env.clone(),
                    options.http_timeout,
                    options.guest_memory,
                    options.instance_reuse,
                );
                http_components.insert(id.clone(), ProxyHandler::new(instances));
            }
            if sqs_ids.contains(&id.as_str()) {
                let pre = SpinSqsPre::new(instance_pre).map_err(|e| LoadError::Export {
                    id: id.clone(),
                    export: "spin:sqs handle-queue-message",
                    message: e.to_string(),
                })?;
                sqs_components.insert(id.clone(), SqsComponent { pre, env });
            }
        }

        let routes = manifest.manifest.trigger.http.iter().map(|t| Route::new(&t.route, &t.component)).collect();
        let http = Arc::new(HttpTrigger { router: Router::new(routes), components: http_components, limits: options.connection_limits.clone() });
        let sqs = Arc::new(SqsGuests {
            engine,
            components: sqs_components,
            cpu_limit: options.sqs_cpu_limit,
            memory_limit: options.guest_memory,
        });
        let sqs_triggers = manifest
            .manifest
            .trigger
            .sqs
            .iter()
            .map(|t| {
                let url = variables.expand(&t.queue_url);
                let name = url.rsplit('/').next().unwrap_or_default();
                SqsTrigger { queue_url: options.queue_urls.get(name).cloned().unwrap_or(url), ..t.clone() }
            })
            .collect();
        Ok(Self { manifest, variables, http, sqs, sqs_triggers })
    }
}

fn component_env(
    manifest: &LoadedManifest,
    id: &str,
    kv: &Arc<SqliteKv>,
    variables: &Arc<ResolvedVariables>,
    outbound: &Arc<PooledClient>,
) -> Result<ComponentEnv, LoadError> {
    let c = manifest.component(id);
    let problem = |problem: String| LoadError::Component { id: id.to_owned(), problem };
    for label in &c.key_value_stores {
        if label != "default" {
            return Err(problem(format!(
                "key-value store `{label}` has no backend (only `default` exists without a runtime config)"
            )));
        }
    }
    let hosts: Vec<String> = c.allowed_outbound_hosts.iter().map(|h| variables.expand(h)).collect();
    let allowed_hosts = AllowedHosts::parse(&hosts).map_err(|e| problem(e.to_string()))?;
    let mut files = Vec::new();
    for mount in &c.files {
        let (source, destination) = match mount {
            FileMount::Path(p) => (p.clone(), format!("/{}", p.display())),
            FileMount::Mapped { source, destination } => (source.clone(), destination.clone()),
        };
        let host = manifest.dir.join(&source);
        if !host.is_dir() {
            return Err(problem(format!("files entry {} is not a directory", host.display())));
        }
        files.push((host, destination));
    }
    Ok(ComponentEnv {
        id: id.to_owned(),
        kv: Arc::new(KvAccess { backend: kv.clone(), labels: c.key_value_stores.clone() }),
        variables: Arc::new(VariablesState { resolved: variables.clone(), component: c.variables.clone() }),
        allowed_hosts,
        outbound: outbound.clone(),
        files,
        environment: c.environment.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    })
}

/// Where a manifest path given on the command line points (a folder means its spin.toml).
pub fn manifest_path(arg: &Path) -> PathBuf {
    if arg.is_dir() { arg.join("spin.toml") } else { arg.to_path_buf() }
}
