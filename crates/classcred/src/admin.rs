//! `classcred admin …`: operator commands about a community's access (API tokens here; the
//! dashboard's login links join this enum from their own module).

use clap::Subcommand;

use crate::admin_token::TokenCommand;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// API tokens of the JSON API (/api/v1): create, list, revoke.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}
