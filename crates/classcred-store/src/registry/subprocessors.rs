//! Subprocessors: every third party the server may send a request to, what it is for and what
//! it is sent. The one outbound HTTP client (`classcred-outbound`) builds its allow-list from
//! this list only, so a host that is not declared here cannot be reached; `/privacy` and
//! `docs/DATA-INVENTORY.md` render the same list.

use serde::Serialize;

/// Where a subprocessor is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Destination {
    /// One fixed origin (`https://host`, port 443), the same for every installation.
    Fixed { origin: &'static str },
    /// An origin the operator configures (the setting named here); declared when the server
    /// starts, from the configuration. `https://`, or `http://` only on a loopback host.
    Configured { setting: &'static str },
}

/// A third party the server may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Subprocessor {
    /// Stable id; the outbound client's components name the subprocessors they may call by it.
    pub id: &'static str,
    /// Who it is, for people.
    pub name: &'static str,
    pub destination: Destination,
    /// Path prefixes the server calls on that origin; empty means any path of the origin.
    pub paths: &'static [&'static str],
    /// Why the server calls it.
    pub purpose: &'static str,
    /// What the requests carry.
    pub data_sent: &'static str,
    /// Which configuration turns the calls on.
    pub enabled_by: &'static str,
}

impl Subprocessor {
    /// The origin, or `configured: <setting>` for an operator-configured one.
    pub fn origin_label(&self) -> String {
        match self.destination {
            Destination::Fixed { origin } => origin.to_owned(),
            Destination::Configured { setting } => format!("configured: `{setting}`"),
        }
    }
}

/// Slack's Web API.
pub const SLACK_WEB_API: &str = "slack-web-api";
/// Replies to Slack slash commands and button presses.
pub const SLACK_RESPONSE_URL: &str = "slack-response-url";
/// The operator's OpenID Provider.
pub const OIDC_PROVIDER: &str = "oidc-provider";
/// The operator's Matrix homeserver (client-server API, as the Application Service).
pub const MATRIX_HOMESERVER: &str = "matrix-homeserver";
/// The Bot Framework's OpenID metadata and signing keys (Microsoft Teams).
pub const TEAMS_OPENID: &str = "teams-openid";
/// Microsoft Entra ID's token endpoint (the Teams bot's client-credentials token).
pub const TEAMS_LOGIN: &str = "teams-login";
/// Teams' Connector API at the allow-listed `serviceUrl` origins.
pub const TEAMS_CONNECTOR: &str = "teams-connector";

/// Every third party the server may send a request to.
pub static SUBPROCESSORS: &[Subprocessor] = &[
    Subprocessor {
        id: SLACK_WEB_API,
        name: "Slack Web API (Slack Technologies)",
        destination: Destination::Fixed {
            origin: "https://slack.com",
        },
        paths: &["/api/"],
        purpose: "Post notices, confirmations, announcements and the App Home view; read member profiles to keep the roster current; exchange the OAuth code when a workspace installs the app.",
        data_sent: "The workspace's bot token; channel and user ids; the text of notices and messages ClassCred posts; on install, the OAuth code and the app's client credentials.",
        enabled_by: "`[slack]` configured: single workspace (`bot_token`, `team_id`) or OAuth installs (`client_id`, `client_secret`).",
    },
    Subprocessor {
        id: SLACK_RESPONSE_URL,
        name: "Slack response URLs (Slack Technologies)",
        destination: Destination::Fixed {
            origin: "https://hooks.slack.com",
        },
        paths: &["/commands/", "/actions/"],
        purpose: "Answer a `/cred` command or a button press in the conversation it came from.",
        data_sent: "The answer's text and blocks (shown only to the member who asked, unless the command posts publicly); no token.",
        enabled_by: "`[slack].signing_secret` set (slash commands and interactivity are accepted).",
    },
    Subprocessor {
        id: OIDC_PROVIDER,
        name: "OpenID Provider (the identity provider the operator configures)",
        destination: Destination::Configured {
            setting: "oidc.issuer",
        },
        paths: &[],
        purpose: "Sign-in with OpenID Connect: read the provider's discovery document and signing keys, and exchange a sign-in's authorization code for its ID token.",
        data_sent: "The client id and client secret, the authorization code, the PKCE verifier and the redirect URI; no data ClassCred stores about members.",
        enabled_by: "`[oidc]` configured (`issuer`, `client_id`, `client_secret`).",
    },
    Subprocessor {
        id: MATRIX_HOMESERVER,
        name: "Matrix homeserver (the homeserver the operator configures)",
        destination: Destination::Configured {
            setting: "matrix.homeserver_url",
        },
        paths: &["/_matrix/client/"],
        purpose: "As the Application Service: join the rooms the bot is invited to, answer `!cred` commands and send notices (in a direct room the bot creates), read the author of a reacted message, a room's joined members and a member's room membership.",
        data_sent: "The Application Service token; room, event and user ids; the text of answers and notices ClassCred sends.",
        enabled_by: "`[matrix]` configured (`homeserver_url`, `server_name`, `as_token`, `hs_token`).",
    },
    Subprocessor {
        id: TEAMS_OPENID,
        name: "Bot Framework OpenID metadata and signing keys (Microsoft)",
        destination: Destination::Configured {
            setting: "teams.openid_metadata_url (default https://login.botframework.com/v1/.well-known/openidconfiguration)",
        },
        paths: &[],
        purpose: "Verify that a Teams activity was sent by the Bot Framework: read the OpenID metadata document and the signing keys it names (`jwks_uri`, same origin), at most once a day plus at most hourly on an unknown key.",
        data_sent: "Nothing but the request for the public documents.",
        enabled_by: "`[teams]` configured (`app_id`, `app_password`).",
    },
    Subprocessor {
        id: TEAMS_LOGIN,
        name: "Microsoft Entra ID token endpoint (Microsoft)",
        destination: Destination::Fixed {
            origin: "https://login.microsoftonline.com",
        },
        paths: &[],
        purpose: "Get the Teams bot's access token (client credentials, scope `https://api.botframework.com/.default`) for replies, notices and member look-ups; cached until it expires.",
        data_sent: "The bot's app id and client secret, and the tenant the token is for.",
        enabled_by: "`[teams]` configured (`app_id`, `app_password`, optional `tenant`).",
    },
    Subprocessor {
        id: TEAMS_CONNECTOR,
        name: "Microsoft Teams Connector API (Microsoft)",
        destination: Destination::Configured {
            setting: "teams.service_url_origins (default https://smba.trafficmanager.net)",
        },
        paths: &[],
        purpose: "Answer commands in the conversation they came from, send private notices in a personal conversation with the member, and read a conversation's member list to resolve unknown ids.",
        data_sent: "The bot's access token; conversation, activity and user ids; the tenant id; the text of answers and notices.",
        enabled_by: "`[teams]` configured; a `serviceUrl` is called only when its origin is on `teams.service_url_origins`.",
    },
];

/// Find a declared subprocessor.
pub fn subprocessor(id: &str) -> Option<&'static Subprocessor> {
    SUBPROCESSORS.iter().find(|s| s.id == id)
}

/// A subprocessor the running configuration turns on, and the origin it is reached at.
#[derive(Debug, Clone, Serialize)]
pub struct InUse {
    pub subprocessor: &'static Subprocessor,
    /// The exact origin (`https://slack.com`, the configured issuer's origin).
    pub origin: String,
}

/// The subprocessors section of `docs/DATA-INVENTORY.md`.
pub(super) fn render_markdown(out: &mut String) {
    out.push_str(
        "\n## Subprocessors and outbound traffic\n\n\
         The server sends requests only to these origins, over HTTPS, through one HTTP client \
         (`classcred-outbound`) that refuses any other host, plain HTTP and redirects. \
         A *configured* origin is the one the operator sets (the setting named); it is declared \
         when the server starts.\n\n\
         | id | who | origin | paths | purpose | data sent | enabled by |\n|---|---|---|---|---|---|---|\n",
    );
    for s in SUBPROCESSORS {
        let paths = if s.paths.is_empty() {
            "any".to_owned()
        } else {
            s.paths
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!(
            "| {} | {} | {} | {paths} | {} | {} | {} |\n",
            s.id,
            s.name,
            s.origin_label(),
            s.purpose,
            s.data_sent,
            s.enabled_by
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_fixed_origins_are_bare_https_origins() {
        let mut seen = std::collections::HashSet::new();
        for s in SUBPROCESSORS {
            assert!(seen.insert(s.id), "{} declared twice", s.id);
            if let Destination::Fixed { origin } = s.destination {
                assert!(origin.starts_with("https://"), "{}: https only", s.id);
                let host = origin.trim_start_matches("https://");
                assert!(
                    !host.is_empty() && !host.contains(['/', ':', '@', '?', '#']),
                    "{}: an origin is scheme and host only",
                    s.id
                );
            }
            for p in s.paths {
                assert!(p.starts_with('/') && p.ends_with('/'), "{}: {p}", s.id);
            }
        }
    }
}
