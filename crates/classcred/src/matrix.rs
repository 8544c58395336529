//! `classcred matrix …` commands and the Matrix job handlers.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use classcred_matrix::config::{config_toml, registration_yaml, DEFAULT_SENDER_LOCALPART};
use classcred_matrix::Token;

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum MatrixCommand {
    /// Write the Application Service registration file for the homeserver (new strong tokens)
    /// and print the `[matrix]` configuration that goes with it.
    Registration {
        /// Where the homeserver reaches ClassCred, e.g. https://classcred.example.org
        #[arg(long, value_name = "URL")]
        url: String,
        /// The homeserver's name (the part after `:` in user ids); default `[matrix] server_name`.
        #[arg(long, value_name = "NAME")]
        server_name: Option<String>,
        /// Where ClassCred reaches the homeserver; default `[matrix] homeserver_url`, else
        /// https://<server name>.
        #[arg(long, value_name = "URL")]
        homeserver_url: Option<String>,
        /// The bot's localpart; default `[matrix] sender_localpart`, else `classcred`.
        #[arg(long, value_name = "LOCALPART")]
        sender_localpart: Option<String>,
        /// Write the registration here (created 0600) instead of printing it.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// Run a `classcred matrix …` command (needs no database).
pub fn run(cfg: &Config, command: MatrixCommand) -> anyhow::Result<ExitCode> {
    match command {
        MatrixCommand::Registration {
            url,
            server_name,
            homeserver_url,
            sender_localpart,
            out,
        } => {
            let parsed = url::Url::parse(&url).context("--url is not a URL")?;
            if !matches!(parsed.scheme(), "http" | "https") {
                anyhow::bail!("--url: http or https");
            }
            let configured = cfg.matrix.as_ref();
            let server_name = server_name
                .or_else(|| configured.map(|m| m.server_name.clone()))
                .context("--server-name is required (or [matrix] server_name)")?;
            let homeserver_url = homeserver_url
                .or_else(|| configured.map(|m| m.homeserver_url.clone()))
                .unwrap_or_else(|| format!("https://{server_name}"));
            let localpart = sender_localpart
                .or_else(|| configured.map(|m| m.sender_localpart.clone()))
                .unwrap_or_else(|| DEFAULT_SENDER_LOCALPART.to_owned());
            let (as_token, hs_token) = (Token::generate(), Token::generate());
            let check = classcred_matrix::MatrixConfig {
                homeserver_url: homeserver_url.clone(),
                server_name: server_name.clone(),
                as_token: as_token.clone(),
                hs_token: hs_token.clone(),
                sender_localpart: localpart.clone(),
            };
            check.validate().map_err(anyhow::Error::msg)?;
            let yaml = registration_yaml(
                parsed.as_str().trim_end_matches('/'),
                &server_name,
                &localpart,
                &as_token,
                &hs_token,
            );
            match &out {
                Some(path) => {
                    write_private(path, &yaml)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!(
                        "registration written to {}: add it to the homeserver's app_service_config_files and restart the homeserver",
                        path.display()
                    );
                }
                None => print!("{yaml}"),
            }
            eprintln!("\nAdd this to ClassCred's configuration (the tokens are secrets):\n");
            eprint!(
                "{}",
                config_toml(
                    &homeserver_url,
                    &server_name,
                    &localpart,
                    &as_token,
                    &hs_token
                )
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(text.as_bytes())
}

/// The Matrix job handlers: the bot joining a room it was invited to, and the answers to
/// `!cred` commands. (Notices and member jobs go through the seam's `Platforms`.)
pub fn register(h: &mut classcred_server::worker::Handlers, m: &classcred_matrix::MatrixState) {
    let hs = m.homeserver.clone();
    h.register(classcred_matrix::JOIN_JOB, move |store, job| {
        let hs = hs.clone();
        async move { classcred_matrix::members::join_job(&store, &hs, &job).await }
    });
    let adapter = m.adapter.clone();
    let login = m.login.clone();
    h.register(classcred_matrix::COMMAND_JOB, move |store, job| {
        let adapter = adapter.clone();
        let login = login.clone();
        async move { adapter.command_job(&store, login.as_ref(), &job).await }
    });
}
