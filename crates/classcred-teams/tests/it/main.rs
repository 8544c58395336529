//! classcred-teams integration tests: one binary, one module per area.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod cards;
mod connector_sdk;
mod fixtures;
mod jwt_sdk;
mod manifest;
mod notice;
mod paging;
mod scripted;
mod server;

use std::path::PathBuf;

/// Path of a file under `tests/`.
pub fn test_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(rel)
}

/// A fixture activity under `tests/fixtures/`.
pub fn fixture(name: &str) -> serde_json::Value {
    let path = test_path(&format!("fixtures/{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {name}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// The Python with botbuilder (botframework-connector) named by `CLASSCRED_TEAMS_SDK_PYTHON`
/// (else `target/venv-teams/bin/python` when it exists), or `None` with a loud notice: the
/// cross-checks then skip. With `CLASSCRED_REQUIRE_TEAMS_SDK=1` (CI) a missing SDK fails.
pub fn python() -> Option<String> {
    let configured = std::env::var("CLASSCRED_TEAMS_SDK_PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
        .or_else(|| {
            let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/venv-teams/bin/python");
            p.is_file().then(|| p.to_string_lossy().into_owned())
        });
    let usable = configured.filter(|p| {
        std::process::Command::new(p)
            .args(["-c", "import botbuilder.core, botframework.connector, jwt"])
            .status()
            .is_ok_and(|s| s.success())
    });
    match usable {
        Some(p) => Some(p),
        None if std::env::var("CLASSCRED_REQUIRE_TEAMS_SDK").as_deref() == Ok("1") => panic!(
            "CLASSCRED_REQUIRE_TEAMS_SDK=1 but no Python with botbuilder: run ./scripts/test.sh, \
             which installs it into target/venv-teams"
        ),
        None => {
            eprintln!(
                "\n!!! SKIPPING the botbuilder cross-check: no Python with botbuilder-core \
                 (set CLASSCRED_TEAMS_SDK_PYTHON or run ./scripts/test.sh) !!!\n"
            );
            None
        }
    }
}

/// A Python helper under `tests/py/`, started with `args`: its stdin stays open (closing it
/// stops the helper), its stdout is read line by line.
pub struct Helper {
    pub child: tokio::process::Child,
    pub lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
}

impl Helper {
    pub async fn start(python: &str, script: &str, args: &[&str]) -> Helper {
        use tokio::io::AsyncBufReadExt;
        let mut child = tokio::process::Command::new(python)
            .arg(test_path(&format!("py/{script}")))
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        Helper {
            child,
            lines: tokio::io::BufReader::new(out).lines(),
        }
    }

    /// The next JSON line (waits at most a minute).
    pub async fn next(&mut self) -> serde_json::Value {
        let line = tokio::time::timeout(std::time::Duration::from_secs(60), self.lines.next_line())
            .await
            .expect("helper answered in time")
            .unwrap()
            .expect("helper still running");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("helper line {line:?}: {e}"))
    }
}
