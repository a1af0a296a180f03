//! The HTTP trigger (Spin's `trigger-http`): `[[trigger.http]]` routes matched the way Spin matches them
//! ([`routes`]) and served with hyper ([`server`]) by instances reused as Spin reuses them ([`reuse`]), on
//! connections held within bounds ([`connections`]).

pub mod connections;
pub mod reuse;
pub mod routes;
pub mod server;

pub use connections::ConnectionLimits;
pub use routes::{Route, Router};
pub use reuse::InstanceReuse;
pub use server::{HttpTrigger, ResponseBody};
