//! `classcred admin token create|list|revoke` on the demo class: create prints only the token,
//! list never shows it, revoke works once.

use crate::support::*;

#[test]
fn api_tokens_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(run(d, &["demo", "--no-serve"]).status.success());
    let c = community_id(d);

    let o = run(
        d,
        &[
            "admin",
            "token",
            "create",
            "--community",
            &c,
            "--name",
            "gradebook",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8(o.stdout.clone()).unwrap();
    let token = stdout.trim_end_matches('\n');
    assert!(
        token.starts_with("ccapi_") && !token.contains(char::is_whitespace),
        "{stdout:?}"
    );
    assert_eq!(stdout.lines().count(), 1, "only the token on stdout");

    let o = run(
        d,
        &[
            "admin",
            "token",
            "list",
            "--community",
            &c,
            "--format",
            "json",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let listed = String::from_utf8(o.stdout).unwrap();
    assert!(!listed.contains(token), "list never shows a token");
    let tokens: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(tokens[0]["name"], "gradebook");
    let id = tokens[0]["id"].as_str().unwrap().to_string();

    let revoke = [
        "admin",
        "token",
        "revoke",
        "--community",
        &c,
        "--token-id",
        &id,
    ];
    assert!(run(d, &revoke).status.success());
    let again = run(d, &revoke);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    let o = run(d, &["admin", "token", "list", "--community", &c]);
    assert!(
        o.status.success() && text(&o).contains("gradebook"),
        "{}",
        text(&o)
    );
}
