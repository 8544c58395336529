//! The dashboard in real headless Chromium (Debian's package, driven by playwright-core from
//! `tests/browser/`): the application runs in-process on port 0 over a fresh database, on
//! SQLite and on PostgreSQL, and each node script in `tests/browser/` plays one part of the
//! story. Between scripts this side acts on the store and checks what the browser did.

mod harness;

use harness::Tools;

/// The page checks fail pages with the faults they look for (no server needed).
#[test]
fn page_checks_catch_the_faults_they_look_for() {
    let Some(tools) = Tools::find() else {
        return;
    };
    tools.run("selfcheck.mjs", &[]);
}
