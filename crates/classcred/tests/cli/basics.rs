//! Help, the data inventory, cookies and logs.

use crate::support::*;

#[test]
fn help_for_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["demo", "--help"],
        vec!["keys", "--help"],
        vec!["keys", "init", "--help"],
        vec!["keys", "rotate", "--help"],
        vec!["audit", "--help"],
        vec!["audit", "verify", "--help"],
        vec!["registry", "--help"],
        vec!["community", "list", "--help"],
        vec!["ledger", "balances", "--help"],
        vec!["ledger", "replay", "--help"],
        vec!["ledger", "adjust", "--help"],
        vec!["inbox", "retry", "--help"],
        vec!["admin", "token", "create", "--help"],
        vec!["admin", "token", "list", "--help"],
        vec!["admin", "token", "revoke", "--help"],
    ] {
        let o = run(dir.path(), &args);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("Usage: classcred"),
            "{args:?}"
        );
    }
    let o = run(dir.path(), &["no-such-command"]);
    assert!(!o.status.success());
}

#[test]
fn registry_output_is_the_committed_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(dir.path(), &["registry", "--format", "markdown"]);
    assert!(o.status.success());
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/DATA-INVENTORY.md"
    ))
    .unwrap();
    assert_eq!(String::from_utf8(o.stdout).unwrap(), doc);
    let o = run(dir.path(), &["registry", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v.as_array().unwrap().iter().any(|t| t["name"] == "member"));
}

/// Logs are JSON when asked, carry ids, and never personal data, even at debug level.
#[test]
fn json_logs_carry_no_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(run(d, &["keys", "init"]).status.success());
    let o = bin()
        .current_dir(d)
        .args(["--log-format", "json", "demo", "--no-serve"])
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let stderr = String::from_utf8(o.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() > 10, "debug logs were written: {}", lines.len());
    for l in &lines {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        assert!(v.get("level").is_some());
    }
    assert!(stderr.contains("community_id"), "ids are fields");
    for personal in [
        "Okafor",
        "Grace",
        "Hopper",
        "riverbend.example.edu",
        "avatars.example.edu",
        "thanks for",
        ":fire:",
    ] {
        assert!(
            !stderr.contains(personal),
            "log contains personal data {personal:?}"
        );
    }
}

/// Human-format logs written to a file or a pipe carry no terminal colour codes.
#[test]
fn human_logs_into_a_pipe_have_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(run(d, &["keys", "init"]).status.success());
    let o = bin()
        .current_dir(d)
        .args(["--log-format", "human", "demo", "--no-serve"])
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let stderr = String::from_utf8(o.stderr).unwrap();
    assert!(stderr.lines().count() > 10, "debug logs were written");
    assert!(!stderr.contains('\u{1b}'), "ANSI escape in piped logs");
}

#[test]
fn every_cookie_the_server_sets_is_declared() {
    let c = classcred_store::registry::cookie(classcred_slack::http::STATE_COOKIE)
        .expect("the Slack OAuth cookie is declared in the privacy registry");
    assert!(c.strictly_necessary);
}

/// Finding 21: the key file `demo` writes into the working directory is never committed.
#[test]
fn the_demo_master_key_is_git_ignored() {
    let ignore = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.gitignore"));
    for name in ["classcred-master.key", "classcred-master.key.new"] {
        assert!(
            ignore
                .lines()
                .any(|l| l.trim().trim_start_matches('/') == name),
            "{name} is not in .gitignore"
        );
    }
}
