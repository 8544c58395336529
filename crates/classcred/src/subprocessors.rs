//! Which of the registry's subprocessors this configuration turns on, and the origin each is
//! reached at: what `/privacy` lists as in use. The same settings decide what the outbound
//! clients are built with (`[slack]` → the Slack client, `[oidc]` → the OIDC client).

use classcred_store::registry::subprocessors::{
    MATRIX_HOMESERVER, OIDC_PROVIDER, SLACK_RESPONSE_URL, SLACK_WEB_API, TEAMS_CONNECTOR,
    TEAMS_LOGIN, TEAMS_OPENID,
};
use classcred_store::registry::{self, Destination, InUse};

use crate::config::Config;

/// `scheme://host[:port]` of a URL, or `None` when it is not one.
fn origin_of(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    let origin = url.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

fn fixed_origin(id: &str) -> Option<(&'static registry::Subprocessor, String)> {
    let s = registry::subprocessor(id)?;
    match s.destination {
        Destination::Fixed { origin } => Some((s, origin.to_owned())),
        Destination::Configured { .. } => None,
    }
}

/// The subprocessors `cfg` turns on:
/// - the Slack Web API when a bot token (single workspace) or an OAuth client id is set, at
///   the configured `api_base_url`'s origin (default `https://slack.com`);
/// - Slack response URLs when the signing secret is set (commands and buttons are accepted);
/// - the OpenID Provider when `[oidc]` is set, at its issuer's origin;
/// - the Matrix homeserver when `[matrix]` is set, at `homeserver_url`'s origin;
/// - Teams (`[teams]` app id and password): the Bot Framework OpenID origin, Entra's token
///   endpoint and every allowed `serviceUrl` origin.
pub fn in_use(cfg: &Config) -> Vec<InUse> {
    let mut out = Vec::new();
    let slack = &cfg.slack;
    if slack.bot_token.is_some() || slack.client_id.is_some() {
        if let Some((s, default)) = fixed_origin(SLACK_WEB_API) {
            let origin = origin_of(&slack.client_config().api_base_url).unwrap_or(default);
            out.push(InUse {
                subprocessor: s,
                origin,
            });
        }
    }
    if slack.signing_secret.is_some() {
        if let Some((s, origin)) = fixed_origin(SLACK_RESPONSE_URL) {
            out.push(InUse {
                subprocessor: s,
                origin,
            });
        }
    }
    if let Some(oidc) = &cfg.oidc {
        if let (Some(s), Some(origin)) = (
            registry::subprocessor(OIDC_PROVIDER),
            origin_of(&oidc.issuer),
        ) {
            out.push(InUse {
                subprocessor: s,
                origin,
            });
        }
    }
    if let Some(m) = &cfg.matrix {
        if let (Some(s), Some(origin)) = (
            registry::subprocessor(MATRIX_HOMESERVER),
            origin_of(&m.homeserver_url),
        ) {
            out.push(InUse {
                subprocessor: s,
                origin,
            });
        }
    }
    let teams = &cfg.teams;
    if teams.is_configured() {
        let mut push = |id: &str, origin: Option<String>| {
            if let (Some(s), Some(origin)) = (registry::subprocessor(id), origin) {
                out.push(InUse {
                    subprocessor: s,
                    origin,
                });
            }
        };
        push(
            TEAMS_OPENID,
            teams
                .openid_metadata()
                .ok()
                .and_then(|u| origin_of(u.as_str())),
        );
        push(
            TEAMS_LOGIN,
            teams.token_url().ok().and_then(|u| origin_of(u.as_str())),
        );
        for o in teams.service_origins().unwrap_or_default() {
            push(TEAMS_CONNECTOR, origin_of(o.as_str()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn ids(cfg: &Config) -> Vec<(&'static str, String)> {
        in_use(cfg)
            .into_iter()
            .map(|u| (u.subprocessor.id, u.origin))
            .collect()
    }

    #[test]
    fn nothing_configured_nothing_in_use() {
        assert!(in_use(&Config::default()).is_empty());
    }

    #[test]
    fn slack_and_oidc_settings_turn_their_subprocessors_on() {
        let mut cfg = Config::default();
        cfg.slack.bot_token = Some(SecretString::from("xoxb-1"));
        cfg.slack.signing_secret = Some(SecretString::from("s".repeat(32)));
        cfg.oidc = Some(classcred_oidc::OidcConfig::new(
            "https://login.example.edu/tenant/v2.0",
            "client",
            SecretString::from("secret"),
        ));
        assert_eq!(
            ids(&cfg),
            vec![
                (SLACK_WEB_API, "https://slack.com".to_owned()),
                (SLACK_RESPONSE_URL, "https://hooks.slack.com".to_owned()),
                (OIDC_PROVIDER, "https://login.example.edu".to_owned()),
            ]
        );
        // OAuth installs alone turn the Web API on; a local fake's origin is what is shown.
        let mut cfg = Config::default();
        cfg.slack.client_id = Some("123.456".into());
        cfg.slack.api_base_url = Some("http://127.0.0.1:4000/api/".into());
        assert_eq!(
            ids(&cfg),
            vec![(SLACK_WEB_API, "http://127.0.0.1:4000".to_owned())]
        );
    }

    #[test]
    fn matrix_turns_the_homeserver_on_at_its_origin() {
        let cfg = Config {
            matrix: Some(classcred_matrix::MatrixConfig {
                homeserver_url: "https://matrix.example.org:8448/".into(),
                server_name: "example.org".into(),
                as_token: classcred_matrix::Token::generate(),
                hs_token: classcred_matrix::Token::generate(),
                sender_localpart: "classcred".into(),
            }),
            ..Config::default()
        };
        assert_eq!(
            ids(&cfg),
            vec![(
                MATRIX_HOMESERVER,
                "https://matrix.example.org:8448".to_owned()
            )]
        );
    }

    #[test]
    fn teams_settings_turn_its_three_subprocessors_on() {
        let mut cfg = Config::default();
        cfg.teams.app_id = Some("app".into());
        assert!(in_use(&cfg).is_empty(), "an app id alone mounts nothing");
        cfg.teams.app_password = Some(SecretString::from("p".repeat(40)));
        assert_eq!(
            ids(&cfg),
            vec![
                (TEAMS_OPENID, "https://login.botframework.com".to_owned()),
                (TEAMS_LOGIN, "https://login.microsoftonline.com".to_owned()),
                (
                    TEAMS_CONNECTOR,
                    "https://smba.trafficmanager.net".to_owned()
                ),
            ]
        );
    }
}
