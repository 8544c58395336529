//! Helpers: run the binary, start and stop a server.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_classcred"));
    // The tests decide the configuration, not the developer's environment.
    for (k, _) in std::env::vars() {
        if k.starts_with("CLASSCRED_") {
            c.env_remove(k);
        }
    }
    c.env("RUST_LOG", "info");
    c
}

pub fn run(dir: &Path, args: &[&str]) -> Output {
    bin()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run classcred")
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Run one statement against a SQLite file through the store's driver.
pub fn rusqlite_free_update(db: &Path, sql: &str) -> u64 {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut c = sqlx::AnyConnection::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        sqlx::query(sql)
            .execute(&mut c)
            .await
            .unwrap()
            .rows_affected()
    })
}

pub struct Server {
    pub child: std::process::Child,
    pub addr: String,
    pub stderr: std::thread::JoinHandle<String>,
}

pub fn start_server(dir: &Path, listen: &str) -> Server {
    let mut child = bin()
        .current_dir(dir)
        .args(["serve", "--listen", listen])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let err = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            s.push_str(&line);
            s.push('\n');
        }
        s
    });
    let mut addr = String::new();
    for line in stdout.lines() {
        let line = line.unwrap();
        if let Some(a) = line.strip_prefix("classcred listening on ") {
            addr = a.to_string();
            break;
        }
    }
    assert!(!addr.is_empty(), "server announced its address");
    Server {
        child,
        addr,
        stderr,
    }
}

pub fn stop(mut s: Server) -> (std::process::ExitStatus, String) {
    Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .unwrap();
    let status = s.child.wait().unwrap();
    (status, s.stderr.join().unwrap())
}

pub fn community_id(dir: &Path) -> String {
    let o = run(dir, &["community", "list", "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v[0]["id"].as_str().unwrap().to_string()
}

/// Open a login link (path and query) on a running server the way a browser does: GET shows
/// "Continue to …" with the token in a hidden field; POST it from the same origin. The status
/// of the last step, where it sends the browser, and the session cookie (`name=value`).
pub async fn sign_in_over_http(
    http: &reqwest::Client,
    base: &str,
    path: &str,
) -> (u16, Option<String>, Option<String>) {
    let page = http.get(format!("{base}{path}")).send().await.unwrap();
    let status = page.status().as_u16();
    if status != 200 {
        return (status, None, None);
    }
    let body = page.text().await.unwrap();
    assert!(body.contains("Continue to"), "{body}");
    let marker = "name=\"token\" value=\"";
    let at = body.find(marker).expect("a token field") + marker.len();
    let token = &body[at..at + body[at..].find('"').unwrap()];
    let r = http
        .post(format!("{base}/dashboard/login"))
        .header("origin", base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .unwrap();
    let header = |name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
    };
    (
        r.status().as_u16(),
        header("location"),
        header("set-cookie"),
    )
}
