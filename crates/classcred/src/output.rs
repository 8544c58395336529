//! Standard output for commands whose output is piped (`classcred ledger balances | head`).
//!
//! `println!` panics when the reader has gone away. Commands write through [`print`] instead;
//! a closed pipe becomes [`BrokenPipe`], which `main` turns into a quiet exit with status 141
//! (what a shell reports for a process ended by SIGPIPE), without an error message.

use std::io::Write;

/// The reader of standard output went away.
#[derive(Debug, thiserror::Error)]
#[error("standard output was closed by its reader")]
pub struct BrokenPipe;

/// The exit status for [`BrokenPipe`]: 128 + SIGPIPE.
pub const BROKEN_PIPE_EXIT: u8 = 141;

/// Write `text` to standard output and flush it.
pub fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(BrokenPipe.into()),
        Err(e) => Err(e.into()),
    }
}

/// Whether an error is (caused by) a closed standard output.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<BrokenPipe>().is_some())
}

/// An error and its causes on one line, each cause once: error types that print their source
/// in their own message (sqlx's, our `StoreError::Db`) would otherwise repeat it.
pub fn error_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

#[cfg(test)]
mod error_line_tests {
    use super::error_line;

    #[derive(Debug, thiserror::Error)]
    #[error("database: {0}")]
    struct Db(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("database \"x\" does not exist")]
    struct Inner;

    #[test]
    fn each_cause_is_said_once() {
        let e = anyhow::Error::new(Db(Inner)).context("cannot open database postgres://h/x");
        assert_eq!(
            error_line(&e),
            "cannot open database postgres://h/x: database: database \"x\" does not exist"
        );
        let plain = anyhow::anyhow!("inner").context("outer");
        assert_eq!(error_line(&plain), "outer: inner");
    }
}
