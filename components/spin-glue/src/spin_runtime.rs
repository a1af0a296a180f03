//! The core's clock, sleep and randomness from WASI (`wasi:clocks`, `wasi:random`); its log lines to stdout,
//! which Spin keeps as the component's log.

use std::time::{Duration, SystemTime};

use tr_core::Runtime;

#[derive(Debug, Clone, Copy, Default)]
pub struct SpinRuntime;

impl Runtime for SpinRuntime {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn random_u64(&self) -> u64 {
        spin_sdk::wasip3::random::random::get_random_u64()
    }

    async fn sleep(&self, duration: Duration) {
        spin_sdk::time::sleep(duration).await;
    }

    fn log(&self, line: &str) {
        println!("{line}");
    }
}
