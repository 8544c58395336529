//! classcred-slack integration tests: one binary, one module per area.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod ask;
mod blocks_sdk;
mod class_week;
mod client;
mod e2e;
mod events;
mod forms;
mod group_commit;
mod http_bad_input;
mod http_events;
mod http_members;
mod http_oauth;
mod manifest;
mod notices;
mod polls;
mod privacy_canaries;
mod questions;
mod server;
mod signature_sdk;
mod store;

use std::path::PathBuf;

/// Path of a fixture under `tests/fixtures/`.
pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Bytes of a fixture under `tests/fixtures/`.
pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// The Python with slack_sdk named by `CLASSCRED_SLACK_SDK_PYTHON`, or `None` (with a printed
/// notice) when unset: tests that need it then skip their cross-check. With
/// `CLASSCRED_REQUIRE_SLACK_SDK=1` (CI sets it) an unset Python fails the test instead.
pub fn python() -> Option<String> {
    sdk_python(
        std::env::var("CLASSCRED_SLACK_SDK_PYTHON").ok(),
        std::env::var("CLASSCRED_REQUIRE_SLACK_SDK").ok(),
    )
    .unwrap_or_else(|why| panic!("{why}"))
}

/// The decision behind [`python`], from the two variables' values: `Ok(Some(python))` to run,
/// `Ok(None)` to skip, `Err(why)` when the SDK is required but not configured.
fn sdk_python(python: Option<String>, require: Option<String>) -> Result<Option<String>, String> {
    match python.filter(|p| !p.is_empty()) {
        Some(p) => Ok(Some(p)),
        None if require.as_deref() == Some("1") => Err(
            "CLASSCRED_REQUIRE_SLACK_SDK=1 but CLASSCRED_SLACK_SDK_PYTHON is not set: this test \
             must cross-check with the Slack SDK (run ./scripts/test.sh, which installs it)"
                .into(),
        ),
        None => {
            println!("skipped: CLASSCRED_SLACK_SDK_PYTHON is not set (a Python with slack_sdk)");
            Ok(None)
        }
    }
}

#[test]
fn slack_sdk_is_skipped_only_when_not_required() {
    let py = || Some("/usr/bin/python3".to_string());
    let one = || Some("1".to_string());
    assert_eq!(sdk_python(py(), None), Ok(py()));
    assert_eq!(sdk_python(py(), one()), Ok(py()));
    assert_eq!(sdk_python(None, None), Ok(None));
    assert_eq!(sdk_python(None, Some("0".into())), Ok(None));
    for missing in [None, Some(String::new())] {
        let why = sdk_python(missing, one()).unwrap_err();
        assert!(why.contains("CLASSCRED_REQUIRE_SLACK_SDK=1"), "{why}");
    }
}

/// Runs `tests/py/<script>` with `request` as JSON on stdin; returns its JSON stdout.
pub fn run_python(python: &str, script: &str, request: &serde_json::Value) -> serde_json::Value {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/py")
        .join(script);
    let mut child = Command::new(python)
        .arg(path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {python}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
