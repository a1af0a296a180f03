//! The repository's own `spin.toml` running on the host against moto: a raw-mail bucket whose notifications go to
//! the raw-mail queue (email component), a ticket queue (read component), and a read-tickets queue the read
//! component forwards to. Only what a deployment edits changes: the literal queue URLs, the wasm paths, the rules
//! folder, and variables — set as `SPIN_VARIABLE_*` exactly as an operator would.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tr_tests::services::{Moto, s3_tool, sqs_tool, unique_queue};

use super::{RunningHost, start, target_dir};

const RAW_QUEUE_IN_MANIFEST: &str = "http://localhost:5000/123456789012/tr-raw-mail-events";
const TICKET_QUEUE_IN_MANIFEST: &str = "http://localhost:5000/123456789012/tr-tickets";

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The repository's spin.toml in a fresh folder under the target directory, pointing at the built components and
/// the rules sheet; everything else as shipped.
pub fn repository_app(name: &str) -> PathBuf {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    let dir = target_dir().join("tmp/host-tests").join(format!("{name}-{nanos}"));
    std::fs::create_dir_all(&dir).unwrap();
    let wasm = target_dir().join("wasm32-wasip2/release");
    let rules = repo().join("rules").canonicalize().unwrap();
    let manifest = std::fs::read_to_string(repo().join("spin.toml"))
        .unwrap()
        .replace("target/wasm32-wasip2/release/", &format!("{}/", wasm.display()))
        .replace("source = \"rules\"", &format!("source = \"{}\"", rules.display()));
    std::fs::write(dir.join("spin.toml"), manifest).unwrap();
    dir
}

pub struct Pipeline {
    pub host: RunningHost,
    /// The environment the host was started with (credentials, endpoints, `SPIN_VARIABLE_*`).
    env: Vec<(String, String)>,
    pub bucket: String,
    pub raw_queue: String,
    pub ticket_queue: String,
    pub read_queue: String,
}

impl Pipeline {
    /// `variables`: extra `SPIN_VARIABLE_*` values (e.g. the reader).
    pub fn start(name: &str, variables: &[(&str, &str)]) -> Pipeline {
        let moto = Moto::from_env();
        let wasm = target_dir().join("wasm32-wasip2/release");
        for component in ["email.wasm", "read.wasm", "chat.wasm", "form.wasm"] {
            assert!(wasm.join(component).is_file(), "{component} is missing: scripts/test builds it");
        }
        let raw_queue = sqs_tool(&["create", &unique_queue(&format!("{name}-raw")), "3"]);
        let ticket_queue = sqs_tool(&["create", &unique_queue(&format!("{name}-tickets")), "3"]);
        let read_queue = sqs_tool(&["create", &unique_queue(&format!("{name}-read"))]);
        let bucket = unique_queue(&format!("{name}-mail"));
        s3_tool(&["bucket", &bucket, &raw_queue]);

        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
        let dir = target_dir().join("tmp/host-tests").join(format!("{name}-{nanos}"));
        std::fs::create_dir_all(&dir).unwrap();
        let manifest = std::fs::read_to_string(repo().join("spin.toml")).expect("the repository's spin.toml");
        for literal in [RAW_QUEUE_IN_MANIFEST, TICKET_QUEUE_IN_MANIFEST, "target/wasm32-wasip2/release/", "source = \"rules\""] {
            assert!(manifest.contains(literal), "spin.toml no longer holds `{literal}`: update the test harness");
        }
        let rules = repo().join("rules").canonicalize().unwrap();
        let manifest = manifest
            .replace(RAW_QUEUE_IN_MANIFEST, &raw_queue)
            .replace(TICKET_QUEUE_IN_MANIFEST, &ticket_queue)
            .replace("target/wasm32-wasip2/release/", &format!("{}/", wasm.display()))
            .replace("source = \"rules\"", &format!("source = \"{}\"", rules.display()));
        std::fs::write(dir.join("spin.toml"), manifest).unwrap();

        let secret = moto.credentials.secret_access_key.expose().to_owned();
        let key = moto.credentials.access_key_id.clone();
        let mut env: Vec<(String, String)> = vec![
            // The trigger's own AWS client (standard environment, like the trigger-sqs plugin).
            ("AWS_ACCESS_KEY_ID".into(), key.clone()),
            ("AWS_SECRET_ACCESS_KEY".into(), secret.clone()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_ENDPOINT_URL_SQS".into(), moto.endpoint.clone()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            // The components', through Spin variables.
            ("SPIN_VARIABLE_AWS_ACCESS_KEY_ID".into(), key),
            ("SPIN_VARIABLE_AWS_SECRET_ACCESS_KEY".into(), secret),
            ("SPIN_VARIABLE_SQS_ENDPOINT".into(), moto.endpoint.clone()),
            ("SPIN_VARIABLE_S3_ENDPOINT".into(), moto.endpoint.clone()),
            ("SPIN_VARIABLE_TICKET_QUEUE_URL".into(), ticket_queue.clone()),
            ("SPIN_VARIABLE_READ_QUEUE_URL".into(), read_queue.clone()),
            // Mail is written straight into the bucket, with no SES in front to write SPF/DKIM/DMARC verdicts:
            // the deployment says so, as `up`'s mail drop does (a test may still set `ses`).
            ("SPIN_VARIABLE_EMAIL_SENDER_VERIFICATION".into(), "off".into()),
        ];
        with_variables(&mut env, variables);
        let host = start(&dir, &[], &as_pairs(&env));
        Pipeline { host, env, bucket, raw_queue, ticket_queue, read_queue }
    }

    /// Stops the host and starts it again on the same state folder (key-value store included), with `variables`
    /// overriding the ones it had; `listen` keeps the same address when given (e.g. `self.host.base`'s).
    pub fn restart(&mut self, variables: &[(&str, &str)], listen: Option<&str>) {
        self.stop();
        with_variables(&mut self.env, variables);
        let args: Vec<&str> = listen.map(|l| vec!["--listen", l]).unwrap_or_default();
        self.host = start(&self.host.dir.clone(), &args, &as_pairs(&self.env));
    }

    /// Kills the host (the state folder stays); `restart` brings it back.
    pub fn stop(&mut self) {
        let _ = self.host.child.kill();
        let _ = self.host.child.wait();
    }

    /// Writes raw mail into the bucket, as SES inbound does.
    pub fn put_file(&self, key: &str, file: &Path) {
        s3_tool(&["put", &self.bucket, key, file.to_str().unwrap()]);
    }

    pub fn put(&self, key: &str, fixture: &str) {
        self.put_file(key, &repo().join("tests/fixtures/email-lane").join(fixture));
    }

    pub fn wait_for_log(&self, needle: &str) {
        assert!(
            self.host.wait_for_output(needle, Duration::from_secs(40)),
            "no `{needle}` in the host's log:\n{}",
            self.host.output()
        );
    }

    /// Up to `n` tickets from `queue`, waiting at most `seconds`; each is the wire JSON `{"v":1,"ticket":{…}}`.
    pub fn take(&self, queue: &str, n: usize, seconds: u32) -> Vec<serde_json::Value> {
        let out = sqs_tool(&["receive", queue, &n.to_string(), &seconds.to_string()]);
        let messages: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
        messages.iter().map(|m| serde_json::from_str(m["body"].as_str().unwrap()).unwrap()).collect()
    }

    /// The ticket as the store holds it (`tr/t/{id}` in `.spin/sqlite_key_value.db`), read without the host.
    pub fn stored_ticket(&self, id: &str) -> serde_json::Value {
        let kv = tr_host::kv::SqliteKv::open(&self.host.dir.join(".spin/sqlite_key_value.db")).unwrap();
        let bytes = kv.get("default", &format!("tr/t/{id}")).unwrap().unwrap_or_else(|| panic!("no record for {id}"));
        let mut record: tr_core::store::TicketRecord = serde_json::from_slice(&bytes).unwrap();
        // The read stage's tags live under their own key.
        if let Some(bytes) = kv.get("default", &tr_core::store::keys::reading(id)).unwrap() {
            record.apply_reading(serde_json::from_slice(&bytes).unwrap());
        }
        serde_json::to_value(&record.ticket).unwrap()
    }
}

/// Sets `SPIN_VARIABLE_<NAME>` for each variable, replacing an earlier value.
fn with_variables(env: &mut Vec<(String, String)>, variables: &[(&str, &str)]) {
    for (k, v) in variables {
        let key = format!("SPIN_VARIABLE_{}", k.to_uppercase());
        env.retain(|(existing, _)| *existing != key);
        env.push((key, (*v).to_owned()));
    }
}

fn as_pairs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}
