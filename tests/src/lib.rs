//! Test support shared by the integration tests in `tests/tests/`: a native HTTP transport and runtime for the
//! core, and the connection details of the services `.ci/run` (or `scripts/test`) starts.
//!
//! Tests that need a service fail loudly when it is not configured; they never skip.

pub mod native;
pub mod services;
