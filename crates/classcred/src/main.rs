use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = classcred::Cli::parse();
    match classcred::run(cli).await {
        Ok(code) => code,
        // `classcred ledger balances | head`: the reader stopped reading; not an error.
        Err(e) if classcred::output::is_broken_pipe(&e) => {
            ExitCode::from(classcred::output::BROKEN_PIPE_EXIT)
        }
        Err(e) => {
            eprintln!("error: {}", classcred::output::error_line(&e));
            ExitCode::from(2)
        }
    }
}
