//! Schemathesis (PyPI) against the running API: generated requests from the OpenAPI document,
//! checked for server errors, responses that break their schema, and undocumented status
//! codes. 0 failures on each backend.
//!
//! `scripts/test.sh` installs schemathesis into `target/venv-schemathesis` and sets
//! `CLASSCRED_SCHEMATHESIS` to its executable. Without it the test is skipped with a loud
//! message, unless `CLASSCRED_REQUIRE_SCHEMATHESIS=1` (CI), which makes it fail instead.

use std::path::PathBuf;
use std::process::Command;

use classcred_store::testing::TestDb;

use crate::support::world;

const CHECKS: &str = "not_a_server_error,response_schema_conformance,status_code_conformance";

fn schemathesis() -> Option<PathBuf> {
    let configured = std::env::var_os("CLASSCRED_SCHEMATHESIS").map(PathBuf::from);
    let in_target = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/venv-schemathesis/bin/schemathesis");
    let found = configured
        .into_iter()
        .chain([in_target])
        .find(|p| p.is_file());
    if found.is_none() {
        if std::env::var("CLASSCRED_REQUIRE_SCHEMATHESIS").as_deref() == Ok("1") {
            panic!(
                "CLASSCRED_REQUIRE_SCHEMATHESIS=1 but schemathesis is not installed: run \
                 scripts/test.sh (it installs it into target/venv-schemathesis) or set \
                 CLASSCRED_SCHEMATHESIS to its executable"
            );
        }
        eprintln!(
            "\n!!!!!!!! SKIPPED: schemathesis is not installed, so the API was NOT fuzzed against \
             its OpenAPI document. Run scripts/test.sh, or set CLASSCRED_SCHEMATHESIS. !!!!!!!!\n"
        );
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_failures() {
    let Some(exe) = schemathesis() else {
        return;
    };
    for db in TestDb::all().await {
        let w = world(&db).await;
        let workdir = tempfile::tempdir().unwrap();
        let schema_url = format!("{}/api/v1/openapi.json", w.base);
        let auth = format!("Authorization: Bearer {}", w.a.token);
        let output = tokio::task::spawn_blocking({
            let exe = exe.clone();
            let dir = workdir.path().to_path_buf();
            move || {
                Command::new(exe)
                    .current_dir(&dir)
                    .env("SCHEMATHESIS_HOOKS", "")
                    .args([
                        "run",
                        &schema_url,
                        "--checks",
                        CHECKS,
                        "--header",
                        &auth,
                        "--max-examples",
                        "40",
                        "--seed",
                        "8",
                        "--workers",
                        "1",
                        "--generation-database",
                        "none",
                        "--no-color",
                    ])
                    .output()
                    .unwrap()
            }
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "schemathesis found failures on {}:\n{stdout}\n{stderr}",
            db.backend()
        );
        assert!(
            !stdout.contains("FAILURES") && !stdout.contains("ERRORS"),
            "{stdout}"
        );
        assert!(stdout.contains("No issues found"), "{stdout}");
        // It really tested every data endpoint (eight of them), not only loaded the document.
        let tested: usize = stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix("Tested:"))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        assert!(tested >= 8, "only {tested} operations tested:\n{stdout}");
        // And with the token accepted (not only 401s, which are documented too): nothing
        // else used this token, so its last-use time comes from schemathesis's requests.
        let mut tx = w.store.begin().await.unwrap();
        let tokens = tx.for_community(&w.a.id).list_api_tokens().await.unwrap();
        tx.commit().await.unwrap();
        assert!(
            tokens[0].last_used_at.is_some(),
            "the token was never accepted"
        );
    }
}
