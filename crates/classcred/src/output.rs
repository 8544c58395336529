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
