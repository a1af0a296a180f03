//! The HTTP trigger (Spin's `trigger-http`): `[[trigger.http]]` routes matched the way Spin matches them
//! ([`routes`]) and served with hyper, one fresh instance of the component per request ([`server`]).

pub mod routes;
pub mod server;

pub use routes::{Route, Router};
pub use server::{HttpComponent, HttpTrigger, ResponseBody};
