//! classcred-slack integration tests: one binary, one module per area.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod blocks_sdk;
mod client;
mod e2e;
mod events;
mod forms;
mod http_bad_input;
mod http_events;
mod http_oauth;
mod manifest;
mod notices;
mod server;
mod signature_sdk;

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
/// notice) when unset: tests that need it then pass without checking anything.
pub fn python() -> Option<String> {
    match std::env::var("CLASSCRED_SLACK_SDK_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ => {
            println!("skipped: CLASSCRED_SLACK_SDK_PYTHON is not set (a Python with slack_sdk)");
            None
        }
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
