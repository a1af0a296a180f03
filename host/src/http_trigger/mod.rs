//! The HTTP trigger (Spin's `trigger-http`): `[[trigger.http]]` routes matched the way Spin matches them
//! ([`routes`]) and served with hyper, one fresh instance of the component per request ([`server`]), on
//! connections held within bounds ([`connections`]).

pub mod connections;
pub mod routes;
pub mod server;

pub use connections::ConnectionLimits;
pub use routes::{Route, Router};
pub use server::{HttpComponent, HttpTrigger, ResponseBody};
