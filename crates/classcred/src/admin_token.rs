//! `classcred admin token create|list|revoke`: per-community API tokens. `create` prints only
//! the token on stdout (shown this once; only its hash is stored), so it can be captured by a
//! script; everything else goes to stderr.

use std::process::ExitCode;

use clap::Subcommand;
use classcred_store::{CommunityId, Store};
use secrecy::ExposeSecret;

use crate::output;
use crate::TableFormat;

/// Who the audit log names for tokens made from the command line.
const CLI_ACTOR: &str = "operator:cli";

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; prints only the token (it is not stored and cannot be shown again).
    Create {
        #[arg(long, value_name = "ID")]
        community: CommunityId,
        /// A label naming what uses the token.
        #[arg(long, value_name = "LABEL", default_value = "api")]
        name: String,
    },
    /// List a community's tokens (ids, labels, dates; never the tokens).
    List {
        #[arg(long, value_name = "ID")]
        community: CommunityId,
        #[arg(long, value_enum, default_value_t = TableFormat::Table)]
        format: TableFormat,
    },
    /// Revoke a token: requests with it are refused from now on.
    Revoke {
        #[arg(long, value_name = "ID")]
        community: CommunityId,
        #[arg(long, value_name = "ID")]
        token_id: String,
    },
}

pub async fn run(store: &Store, command: TokenCommand) -> anyhow::Result<ExitCode> {
    match command {
        TokenCommand::Create { community, name } => {
            let (record, token) =
                classcred_api::token::create_token(store, &community, &name, CLI_ACTOR).await?;
            eprintln!(
                "created API token {} for community {community}; it is shown once, below",
                record.id
            );
            output::print(&format!("{}\n", token.secret().expose_secret()))?;
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::List { community, format } => {
            let tokens = classcred_api::token::list_tokens(store, &community).await?;
            let text = match format {
                TableFormat::Json => serde_json::to_string_pretty(&tokens)? + "\n",
                TableFormat::Table => {
                    let mut text = format!(
                        "{:<36}  {:<20}  {:<24}  {:<24}  {}\n",
                        "ID", "NAME", "CREATED", "LAST USED", "REVOKED"
                    );
                    for t in &tokens {
                        let when = |ms: Option<i64>| {
                            ms.and_then(chrono::DateTime::from_timestamp_millis)
                                .map_or_else(
                                    || "-".to_string(),
                                    |d| d.format("%Y-%m-%d %H:%M UTC").to_string(),
                                )
                        };
                        text.push_str(&format!(
                            "{:<36}  {:<20}  {:<24}  {:<24}  {}\n",
                            t.id,
                            t.name,
                            when(Some(t.created_at)),
                            when(t.last_used_at),
                            when(t.revoked_at)
                        ));
                    }
                    text
                }
            };
            output::print(&text)?;
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::Revoke {
            community,
            token_id,
        } => {
            if classcred_api::token::revoke_token(store, &community, &token_id, CLI_ACTOR).await? {
                output::print(&format!("revoked API token {token_id}\n"))?;
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("community {community} has no live API token {token_id}");
                Ok(ExitCode::from(1))
            }
        }
    }
}
