//! The outbound client is the only HTTP client: no other crate of the workspace depends on an
//! HTTP client crate outside its dev-dependencies, and no source file outside
//! `crates/classcred-outbound/src/client.rs` builds a client. A new client added anywhere fails
//! here, naming the file.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use std::path::{Path, PathBuf};

const THE_CLIENT: &str = "crates/classcred-outbound/src/client.rs";

/// HTTP client crates: only classcred-outbound may have one in `[dependencies]`.
const CLIENT_CRATES: &[&str] = &[
    "reqwest",
    "ureq",
    "isahc",
    "surf",
    "attohttpc",
    "curl",
    "hyper-tls",
    "awc",
];

/// What building or using a client other than ours looks like in source.
const CLIENT_CONSTRUCTORS: &[&str] = &[
    "reqwest::Client",
    "reqwest::ClientBuilder",
    "reqwest::get(",
    "reqwest::blocking",
    "Client::builder(",
    "ClientBuilder::new(",
    "hyper_util::client",
    "hyper::client",
    "client::conn::http1::handshake",
    "client::conn::http2::handshake",
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn crates() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(workspace().join("crates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 5, "the workspace's crates were not found");
    dirs
}

/// The dependency names of the `[dependencies]` tables (not dev- or build-dependencies).
fn runtime_dependencies(manifest: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut section = String::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            section = line.trim_matches(|c| c == '[' || c == ']').to_owned();
            // `[dependencies.reqwest]`
            if let Some(name) = section.strip_prefix("dependencies.") {
                names.push(name.to_owned());
            }
            continue;
        }
        let runtime = section == "dependencies"
            || (section.starts_with("target.") && section.ends_with(".dependencies"));
        if runtime {
            if let Some((key, _)) = line.split_once('=') {
                // `reqwest = …`, `reqwest.workspace = true`
                let name = key.trim().trim_matches('"');
                names.push(name.split('.').next().unwrap_or(name).to_owned());
            }
        }
    }
    names
}

#[test]
fn only_the_outbound_crate_depends_on_an_http_client() {
    let mut offenders = Vec::new();
    for dir in crates() {
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        let deps = runtime_dependencies(&manifest);
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        for client in CLIENT_CRATES {
            if deps.iter().any(|d| d == client) && name != "classcred-outbound" {
                offenders.push(format!("{name} depends on {client}"));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "outbound HTTP goes through classcred-outbound only: {offenders:?}"
    );
    // The scan itself reads every way of writing a dependency, and skips dev-dependencies.
    for manifest in [
        "[dependencies]\nreqwest.workspace = true\n",
        "[dependencies]\nreqwest = \"0.12\"\n",
        "[dependencies.reqwest]\nversion = \"0.12\"\n",
        "[target.'cfg(unix)'.dependencies]\nreqwest = { workspace = true }\n",
    ] {
        assert!(
            runtime_dependencies(manifest).contains(&"reqwest".to_owned()),
            "{manifest}"
        );
    }
    assert!(
        !runtime_dependencies("[dev-dependencies]\nreqwest.workspace = true\n")
            .contains(&"reqwest".to_owned())
    );
}

#[test]
fn no_source_file_builds_another_http_client() {
    let root = workspace();
    let mut files = Vec::new();
    for dir in crates() {
        let src = dir.join("src");
        if src.is_dir() {
            rust_files(&src, &mut files);
        }
    }
    let mut offenders = Vec::new();
    let mut seen_the_client = false;
    for file in &files {
        let rel = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(file).unwrap();
        if rel == THE_CLIENT {
            seen_the_client = true;
            assert!(
                text.contains("reqwest::Client::builder("),
                "the one client is no longer built in {THE_CLIENT}: update this test"
            );
            continue;
        }
        for pattern in CLIENT_CONSTRUCTORS {
            if text.contains(pattern) {
                offenders.push(format!("{rel}: {pattern}"));
            }
        }
    }
    assert!(seen_the_client, "{THE_CLIENT} not scanned");
    assert!(
        offenders.is_empty(),
        "HTTP clients may only be built in {THE_CLIENT}: {offenders:?}"
    );
}
