//! The machinery of the browser tests: finding Chromium, node and the npm packages of
//! `tests/browser/`, serving the application in-process on port 0, and running one node script
//! (`node tests/browser/<spec>.mjs`) with the facts it needs in `CLASSCRED_BROWSER_*` variables.
//!
//! Without Chromium or node the tests are skipped with a loud note, unless
//! `CLASSCRED_REQUIRE_BROWSER=1` (CI sets it): then they fail.

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use classcred::config::Config;
use classcred::{App, Role};
use classcred_store::Store;

/// Set to `1` to fail instead of skipping when Chromium, node or the npm packages are missing.
pub const REQUIRE_BROWSER_ENV: &str = "CLASSCRED_REQUIRE_BROWSER";
/// Debian's Chromium; `CLASSCRED_BROWSER_CHROMIUM` names another binary.
const CHROMIUM: &str = "/usr/bin/chromium";
/// A node script that runs longer than this is stopped and fails.
const SCRIPT_DEADLINE: Duration = Duration::from_secs(300);

/// What the browser tests need on this machine.
pub struct Tools {
    /// `tests/browser/` of the workspace.
    pub dir: PathBuf,
    chromium: PathBuf,
}

impl Tools {
    /// The tools, or `None` (after saying so loudly) when something is missing and the browser
    /// tests are not required.
    ///
    /// # Panics
    /// When something is missing and `CLASSCRED_REQUIRE_BROWSER=1`.
    pub fn find() -> Option<Tools> {
        let dir = workspace_root().join("tests/browser");
        let chromium = std::env::var_os("CLASSCRED_BROWSER_CHROMIUM")
            .map_or_else(|| PathBuf::from(CHROMIUM), PathBuf::from);
        let mut missing = Vec::new();
        if !chromium.is_file() {
            missing.push(format!(
                "Chromium at {} (apt-get install chromium)",
                chromium.display()
            ));
        }
        let node_ok = Command::new("node")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !node_ok {
            missing.push("node on PATH".to_string());
        }
        for package in ["playwright-core", "axe-core"] {
            if !dir
                .join("node_modules")
                .join(package)
                .join("package.json")
                .is_file()
            {
                missing.push(format!(
                    "{package} in {}/node_modules (npm ci there; scripts/test.sh does it)",
                    dir.display()
                ));
            }
        }
        if missing.is_empty() {
            return Some(Tools { dir, chromium });
        }
        let why = format!("browser tests need {}", missing.join(", "));
        assert!(
            std::env::var(REQUIRE_BROWSER_ENV).as_deref() != Ok("1"),
            "{REQUIRE_BROWSER_ENV}=1 but {why}"
        );
        eprintln!("\n!!!!! SKIPPED: {why}. Run scripts/test.sh as root to install them. !!!!!\n");
        None
    }

    /// Runs `node <spec>` and fails the test unless it exits 0 (see [`Tools::try_run`]).
    pub fn run(&self, spec: &str, vars: &[(&str, String)]) {
        if let Err(why) = self.try_run(spec, vars) {
            panic!("{why}");
        }
    }

    /// Runs `node <spec>` in `tests/browser/` with `vars` (each `NAME` becomes
    /// `CLASSCRED_BROWSER_NAME`) and prints its report. `Err` says why it failed: a non-zero
    /// exit or no exit within the deadline.
    pub fn try_run(&self, spec: &str, vars: &[(&str, String)]) -> Result<(), String> {
        let started = Instant::now();
        let mut cmd = Command::new("node");
        cmd.arg(spec)
            .current_dir(&self.dir)
            .env("CLASSCRED_BROWSER_CHROMIUM", &self.chromium)
            .env(
                "CLASSCRED_BROWSER_SCREENSHOTS",
                workspace_root().join("target/screenshots"),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in vars {
            cmd.env(format!("CLASSCRED_BROWSER_{name}"), value);
        }
        let mut child = cmd.spawn().expect("start node");
        let out = drain_in_background(child.stdout.take().expect("stdout"));
        let err = drain_in_background(child.stderr.take().expect("stderr"));
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for node") {
                break Some(status);
            }
            if started.elapsed() > SCRIPT_DEADLINE {
                // SIGTERM first: playwright then closes the browser it started.
                let _ = Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .status();
                std::thread::sleep(Duration::from_secs(5));
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let report = format!(
            "{}{}",
            out.join().expect("stdout reader"),
            err.join().expect("stderr reader")
        );
        let took = started.elapsed();
        println!("== node {spec}: {:.1} s\n{report}", took.as_secs_f64());
        match status {
            Some(s) if s.success() => Ok(()),
            Some(s) => Err(format!(
                "node {spec} failed ({s}); its report is printed above"
            )),
            None => Err(format!(
                "node {spec} did not finish within {} s",
                SCRIPT_DEADLINE.as_secs()
            )),
        }
    }
}

fn drain_in_background(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// The whole application (HTTP and workers) serving `store` on a loopback port, in-process.
pub struct Site {
    pub rt: Arc<tokio::runtime::Runtime>,
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    running: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Site {
    pub fn start(rt: Arc<tokio::runtime::Runtime>, store: Store) -> Site {
        Self::start_with(rt, store, |_| {})
    }

    /// The same, with the configuration changed by `change` first.
    pub fn start_with(
        rt: Arc<tokio::runtime::Runtime>,
        store: Store,
        change: impl FnOnce(&mut Config),
    ) -> Site {
        let mut cfg = Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            workers: 1,
            ..Config::default()
        };
        change(&mut cfg);
        let app = rt
            .block_on(App::build(&cfg, store, Role::All))
            .expect("build the application");
        let addr = app.local_addr().expect("an HTTP listener");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = rt.spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        Site {
            rt,
            addr,
            stop: Some(stop),
            running: Some(running),
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server and its workers and waits for them.
    pub fn shut_down(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(running) = self.running.take() {
            self.rt
                .block_on(running)
                .expect("server task")
                .expect("server stopped cleanly");
        }
    }
}
