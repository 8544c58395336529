//! Starts `tests/oidc-provider/provider.mjs` (installed by `scripts/test.sh` with `npm ci`) on
//! a loopback port. Without node or the package the tests say SKIPPED loudly, unless
//! `CLASSCRED_REQUIRE_OIDC_PROVIDER=1`, where they fail.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running provider; killed when dropped.
pub struct Provider {
    pub issuer: String,
    _child: Child,
}

fn provider_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/oidc-provider")
}

/// Start a provider whose clients redirect to `redirect_uri`. `None`: not installed here.
pub async fn start(redirect_uri: &str) -> Option<Provider> {
    let dir = provider_dir();
    let required = std::env::var("CLASSCRED_REQUIRE_OIDC_PROVIDER").is_ok_and(|v| v == "1");
    if !dir.join("node_modules/oidc-provider/package.json").exists() {
        assert!(
            !required,
            "CLASSCRED_REQUIRE_OIDC_PROVIDER=1 but {} has no node_modules: run scripts/test.sh (npm ci)",
            dir.display()
        );
        eprintln!(
            "SKIPPED: no oidc-provider in {} (scripts/test.sh installs it with npm ci)",
            dir.display()
        );
        return None;
    }
    let spawned = Command::new("node")
        .arg("provider.mjs")
        .arg(redirect_uri)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            assert!(
                !required,
                "CLASSCRED_REQUIRE_OIDC_PROVIDER=1 but node does not start: {e}"
            );
            eprintln!("SKIPPED: node does not start ({e})");
            return None;
        }
    };
    // Forward the provider's errors (not its start-up notices) to the test's output.
    let stderr = child.stderr.take().expect("piped stderr");
    tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if !line.contains("NOTICE") && !line.contains("WARNING") {
                eprintln!("oidc-provider: {line}");
            }
        }
    });
    // Read stdout to the end (the provider also logs there: a closed pipe would kill it).
    let stdout = child.stdout.take().expect("piped stdout");
    let (issuer_tx, issuer_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        let mut issuer_tx = Some(issuer_tx);
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(issuer) = line.strip_prefix("issuer ") {
                if let Some(tx) = issuer_tx.take() {
                    let _ = tx.send(issuer.to_string());
                }
            }
        }
    });
    let issuer = tokio::time::timeout(Duration::from_secs(60), issuer_rx)
        .await
        .expect("the provider listens within a minute")
        .expect("the provider exited before listening");
    Some(Provider {
        issuer,
        _child: child,
    })
}
