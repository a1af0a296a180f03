//! The HTTP trigger end to end: the real `tr-intake` binary runs `tests/fixtures/host/spin.toml` with the
//! spin-sdk 7 probe guest, and each test proves one capability through it — success and failure paths.

mod common;

use std::time::Duration;

use common::{app_dir, get, start};

const SITE_KEY: (&str, &str) = ("SPIN_VARIABLE_SITE_KEY", "s3cret-from-env");

fn probe_host(name: &str, args: &[&str]) -> common::RunningHost {
    start(&app_dir(name, "spin.toml", &[]), args, &[SITE_KEY])
}

#[test]
fn routes_match_like_spin_and_requests_carry_spin_headers() {
    let host = probe_host("routes", &[]);
    assert_eq!(get(&format!("{}/probe/hello", host.base)).body, "hello");
    assert_eq!(get(&format!("{}/exact", host.base)).status, 404, "the probe answers 404 for an unknown probe path");
    assert!(host.wait_for_output("[http] probe GET /exact -> 404", Duration::from_secs(5)), "exact route reached the component");
    // An exact route does not match below itself; no route at all is the host's 404.
    assert_eq!(get(&format!("{}/exact/hello", host.base)).status, 404);
    assert!(host.wait_for_output("GET /exact/hello -> 404 (no route)", Duration::from_secs(5)), "{}", host.output());

    let headers = get(&format!("{}/probe/headers?x=1", host.base)).body;
    let port = host.base.rsplit(':').next().unwrap();
    for expected in [
        format!("spin-full-url=http://127.0.0.1:{port}/probe/headers?x=1"),
        "spin-path-info=/headers".to_owned(),
        "spin-matched-route=/probe/...".to_owned(),
        "spin-component-route=/probe".to_owned(),
        "spin-raw-component-route=/probe/...".to_owned(),
        "spin-base-path=/".to_owned(),
        "spin-client-addr=127.0.0.1:".to_owned(),
    ] {
        assert!(headers.contains(&expected), "missing `{expected}` in:\n{headers}");
    }
}

#[test]
fn variables_resolve_from_env_flag_and_default_and_undefined_is_an_error() {
    let host = probe_host("variables", &["--variable", "greeting=from the flag"]);
    assert_eq!(get(&format!("{}/probe/var/greeting", host.base)).body, "from the flag");
    assert_eq!(get(&format!("{}/probe/var/site_key", host.base)).body, "s3cret-from-env");
    assert_eq!(
        get(&format!("{}/probe/var/combined", host.base)).body,
        "key=s3cret-from-env; greeting=from the flag",
        "component templates expand every {{ name }}"
    );
    let undefined = get(&format!("{}/probe/var/nope", host.base));
    assert_eq!((undefined.status, undefined.body.as_str()), (404, "Error::Undefined(\"nope\")"));
    // A component sees only the variables it declares.
    let narrow = get(&format!("{}/narrow/var/greeting", host.base));
    assert_eq!((narrow.status, narrow.body.as_str()), (404, "Error::Undefined(\"greeting\")"));
    assert!(!host.output().contains("s3cret"), "a secret reached the host's log:\n{}", host.output());
}

#[test]
fn default_manifest_value_is_used_when_nothing_overrides_it() {
    let host = probe_host("variables-default", &[]);
    assert_eq!(get(&format!("{}/probe/var/greeting", host.base)).body, "hi from the manifest");
}

#[test]
fn key_value_persists_in_spin_folder_and_unlisted_stores_are_denied() {
    let dir = app_dir("kv", "spin.toml", &[]);
    {
        let host = start(&dir, &[], &[SITE_KEY]);
        assert_eq!(get(&format!("{}/probe/kv/default", host.base)).body, "1");
        assert_eq!(get(&format!("{}/probe/kv/default", host.base)).body, "2");
        let denied = get(&format!("{}/narrow/kv/default", host.base));
        assert_eq!((denied.status, denied.body.as_str()), (403, "Error::AccessDenied"));
        let other = get(&format!("{}/probe/kv/other", host.base));
        assert_eq!((other.status, other.body.as_str()), (403, "Error::AccessDenied"));
    }
    assert!(dir.join(".spin/sqlite_key_value.db").is_file(), "the default store lives in .spin/ beside spin.toml");
    let host = start(&dir, &[], &[SITE_KEY]);
    assert_eq!(get(&format!("{}/probe/kv/default", host.base)).body, "3", "the store survives a restart");
}

#[test]
fn outbound_http_is_limited_to_allowed_hosts() {
    let host = probe_host("outbound", &[]);
    let port = host.base.rsplit(':').next().unwrap().to_owned();
    let allowed = get(&format!("{}/probe/outbound?url=http://127.0.0.1:{port}/probe/hello", host.base));
    assert_eq!((allowed.status, allowed.body.as_str()), (200, "upstream 200"));
    for (path, why) in [
        (format!("/probe/outbound?url=http://localhost:{port}/probe/hello"), "host not in the templated allow-list"),
        (format!("/probe/outbound?url=https://127.0.0.1:{port}/probe/hello"), "scheme not allowed"),
        (format!("/narrow/outbound?url=http://127.0.0.1:{port}/probe/hello"), "component allows nothing"),
    ] {
        let denied = get(&format!("{}{path}", host.base));
        assert_eq!((denied.status, denied.body.as_str()), (502, "ErrorCode::HttpRequestDenied"), "{why}");
    }
    assert!(host.wait_for_output("DENIED (not in allowed_outbound_hosts)", Duration::from_secs(5)), "{}", host.output());
}

#[test]
fn a_trap_or_timeout_fails_only_that_request_and_the_host_keeps_serving() {
    let host = probe_host("failures", &["--http-timeout", "2"]);
    assert_eq!(get(&format!("{}/probe/trap", host.base)).status, 500);
    assert_eq!(get(&format!("{}/probe/hello", host.base)).body, "hello", "host still serves after a trap");
    let started = std::time::Instant::now();
    assert_eq!(get(&format!("{}/probe/spin", host.base)).status, 500, "an endless guest is stopped");
    assert!(started.elapsed() < Duration::from_secs(10), "timeout took {:?}", started.elapsed());
    assert_eq!(get(&format!("{}/probe/hello", host.base)).body, "hello", "host still serves after a timeout");
    let log = host.output();
    assert!(log.contains("[http] probe GET /probe/trap -> 500"), "{log}");
    assert!(log.contains("the guest trapped on purpose"), "the trap's cause is logged: {log}");
    assert!(log.contains("[http] probe GET /probe/spin -> 500 "), "{log}");
    assert!(log.contains("the guest ran for its whole CPU limit of 2000 ms") || log.contains("(timed out)"), "{log}");
}

#[test]
fn instances_are_reused_as_spin_reuses_them_and_the_flags_set_how_long() {
    // Spin's defaults: one instance serves the next request (its memory, and a count kept in it, carry over).
    let host = probe_host("reuse", &[]);
    let counts: Vec<String> = (0..3).map(|_| get(&format!("{}/probe/instance", host.base)).body).collect();
    assert_eq!(counts, ["1", "2", "3"], "{}", host.output());
    // An instance idle for longer than --idle-instance-timeout (1 s) is dropped: the next request gets a new one.
    std::thread::sleep(Duration::from_millis(1600));
    assert_eq!(get(&format!("{}/probe/instance", host.base)).body, "1", "{}", host.output());
    let log = host.output();
    assert!(log.contains("(instance 1, instantiate "), "{log}");
    assert!(log.contains("(instance 1, request 3)"), "{log}");

    // At most --max-instance-reuse-count requests per instance; 1 is a fresh instance for every request.
    let host = probe_host("reuse-two", &["--max-instance-reuse-count", "2"]);
    let counts: Vec<String> = (0..5).map(|_| get(&format!("{}/probe/instance", host.base)).body).collect();
    assert_eq!(counts, ["1", "2", "1", "2", "1"], "{}", host.output());
    let host = probe_host("fresh", &["--max-instance-reuse-count", "1"]);
    for _ in 0..3 {
        assert_eq!(get(&format!("{}/probe/instance", host.base)).body, "1", "an instance was reused");
    }
}

#[test]
fn guests_stuck_in_loops_do_not_hold_up_other_requests() {
    let host = probe_host("loops", &["--http-timeout", "6"]);
    // More looping guests than the host has worker threads.
    let spinning: Vec<_> = (0..4)
        .map(|_| {
            let url = format!("{}/probe/spin", host.base);
            std::thread::spawn(move || get(&url).status)
        })
        .collect();
    std::thread::sleep(Duration::from_millis(800));
    let started = std::time::Instant::now();
    assert_eq!(get(&format!("{}/probe/hello", host.base)).body, "hello");
    // Before guests yielded at each tick, this waited for the loops' full limit (6 s).
    assert!(started.elapsed() < Duration::from_secs(3), "hello waited {:?} behind looping guests", started.elapsed());
    for t in spinning {
        assert_eq!(t.join().unwrap(), 500, "each loop is still stopped at its limit");
    }
}

#[test]
fn files_are_mounted_read_only() {
    let host = probe_host("files", &[]);
    let read = get(&format!("{}/probe/file/note.txt", host.base));
    assert_eq!((read.status, read.body.trim()), (200, "mounted read-only"));
    let write = get(&format!("{}/probe/write/new.txt", host.base));
    assert_eq!(write.status, 403, "a write to a files mount succeeded: {}", write.body);
    assert!(!host.dir.join("assets/new.txt").exists());
    let elsewhere = get(&format!("{}/narrow/file/note.txt", host.base));
    assert_eq!(elsewhere.status, 404, "a component without files sees none");
}

#[test]
fn a_missing_required_variable_stops_start_up_and_names_it() {
    let dir = app_dir("required", "spin.toml", &[]);
    let out = common::host_command(&dir, &[], &[]).env_remove("SPIN_VARIABLE_SITE_KEY").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("variable `site_key` is required"), "{stderr}");
    assert!(stderr.contains("SPIN_VARIABLE_SITE_KEY"), "the message says how to set it: {stderr}");
    assert!(!stderr.contains("stack backtrace") && !stderr.contains("Stack backtrace"), "{stderr}");
}

#[test]
fn a_manifest_typo_stops_start_up_naming_key_and_line() {
    let dir = app_dir("typo", "spin.toml", &[("key_value_stores", "key_value_store")]);
    let out = common::host_command(&dir, &[], &[SITE_KEY]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("key_value_store"), "{stderr}");
    assert!(stderr.contains("line"), "the error names the line: {stderr}");
}
