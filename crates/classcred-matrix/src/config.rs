//! The `[matrix]` configuration and the Application Service registration file.

use std::fmt;

use classcred_outbound::Url;
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};

/// Shortest accepted token (characters).
pub const MIN_TOKEN_LEN: usize = 32;
/// Fewest distinct characters in an accepted token (refuses `aaaa…` and `abab…`).
pub const MIN_TOKEN_DISTINCT: usize = 12;
/// The default localpart of the bot user (`@classcred:server`).
pub const DEFAULT_SENDER_LOCALPART: &str = "classcred";

/// A token shared with the homeserver; never printed.
#[derive(Clone)]
pub struct Token(SecretString);

impl Token {
    pub fn new(s: impl Into<String>) -> Self {
        Self(SecretString::from(s.into()))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// A new strong token: 48 random letters and digits.
    pub fn generate() -> Self {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut rng = rand::thread_rng();
        let s: String = (0..48)
            .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
            .collect();
        Self::new(s)
    }

    /// Long enough and varied enough (see [`MIN_TOKEN_LEN`], [`MIN_TOKEN_DISTINCT`]).
    pub fn check_strength(s: &str) -> Result<(), String> {
        let n = s.chars().count();
        if n < MIN_TOKEN_LEN {
            return Err(format!(
                "at least {MIN_TOKEN_LEN} characters (generate one with `classcred matrix registration`)"
            ));
        }
        let distinct: std::collections::HashSet<char> = s.chars().collect();
        if distinct.len() < MIN_TOKEN_DISTINCT {
            return Err(format!(
                "at least {MIN_TOKEN_DISTINCT} different characters (generate one with `classcred matrix registration`)"
            ));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("no spaces or control characters".into());
        }
        Ok(())
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

impl<'de> Deserialize<'de> for Token {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        // The message never contains the value.
        Token::check_strength(&s).map_err(serde::de::Error::custom)?;
        Ok(Token::new(s))
    }
}

/// `[matrix]`: ClassCred as an Application Service of one homeserver.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatrixConfig {
    /// Where the homeserver's client-server API is reached, e.g. `https://matrix.example.org`
    /// (plain `http` only on loopback).
    pub homeserver_url: String,
    /// The homeserver's name: the part after `:` in user ids (`example.org`).
    pub server_name: String,
    /// The token ClassCred presents to the homeserver (registration `as_token`).
    pub as_token: Token,
    /// The token the homeserver presents to ClassCred (registration `hs_token`).
    pub hs_token: Token,
    /// The bot user's localpart (`@classcred:server`).
    #[serde(default = "default_localpart")]
    pub sender_localpart: String,
}

fn default_localpart() -> String {
    DEFAULT_SENDER_LOCALPART.to_owned()
}

impl MatrixConfig {
    /// Checks what serde cannot: the URL, the server name, the localpart, distinct tokens.
    pub fn validate(&self) -> Result<Url, String> {
        let url = Url::parse(&self.homeserver_url)
            .map_err(|_| "matrix.homeserver_url: not a URL".to_owned())?;
        match url.scheme() {
            "https" => {}
            "http" if classcred_outbound::is_loopback(&url) => {}
            _ => {
                return Err(
                    "matrix.homeserver_url: https only (plain http only on a loopback address)"
                        .into(),
                )
            }
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("matrix.homeserver_url: no user name or password in the URL".into());
        }
        let sn = &self.server_name;
        if sn.is_empty()
            || sn.len() > 230
            || !sn
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        {
            return Err("matrix.server_name: a host name such as example.org".into());
        }
        let lp = &self.sender_localpart;
        if lp.is_empty()
            || !lp.chars().all(|c| {
                c.is_ascii_lowercase()
                    || c.is_ascii_digit()
                    || matches!(c, '.' | '_' | '=' | '-' | '/')
            })
        {
            return Err(
                "matrix.sender_localpart: lower-case letters, digits and . _ = - / only".into(),
            );
        }
        if self.as_token.expose() == self.hs_token.expose() {
            return Err("matrix.as_token and matrix.hs_token must differ".into());
        }
        Ok(url)
    }

    /// `@<sender_localpart>:<server_name>`.
    pub fn bot_user_id(&self) -> String {
        format!("@{}:{}", self.sender_localpart, self.server_name)
    }

    /// Whether a user id belongs to this Application Service: the bot, or the exclusive
    /// namespace `@<localpart>_…:<server_name>`.
    pub fn is_ours(&self, user_id: &str) -> bool {
        if user_id == self.bot_user_id() {
            return true;
        }
        user_id
            .strip_prefix('@')
            .and_then(|u| u.strip_prefix(self.sender_localpart.as_str()))
            .and_then(|u| u.strip_prefix('_'))
            .and_then(|u| u.rsplit_once(':'))
            .is_some_and(|(_, server)| server == self.server_name)
    }
}

fn yaml_single(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The user namespace regex: `@classcred_.*:example\.org`.
pub fn namespace_regex(localpart: &str, server_name: &str) -> String {
    let esc = |s: &str| {
        s.chars()
            .flat_map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    vec![c]
                } else {
                    vec!['\\', c]
                }
            })
            .collect::<String>()
    };
    format!("@{}_.*:{}", esc(localpart), esc(server_name))
}

/// The Application Service registration file the homeserver loads
/// (`app_service_config_files`).
pub fn registration_yaml(
    url: &str,
    server_name: &str,
    localpart: &str,
    as_token: &Token,
    hs_token: &Token,
) -> String {
    format!(
        "# ClassCred Application Service registration (generated by `classcred matrix registration`).\n\
         # Add this file to the homeserver's app_service_config_files and restart it.\n\
         id: classcred\n\
         url: {url}\n\
         as_token: {as_token}\n\
         hs_token: {hs_token}\n\
         sender_localpart: {localpart}\n\
         rate_limited: false\n\
         namespaces:\n  \
           users:\n    \
             - exclusive: true\n      \
               regex: {regex}\n  \
           aliases: []\n  \
           rooms: []\n",
        url = yaml_single(url),
        as_token = yaml_single(as_token.expose()),
        hs_token = yaml_single(hs_token.expose()),
        localpart = yaml_single(localpart),
        regex = yaml_single(&namespace_regex(localpart, server_name)),
    )
}

/// The `[matrix]` table that goes with a registration.
pub fn config_toml(
    homeserver_url: &str,
    server_name: &str,
    localpart: &str,
    as_token: &Token,
    hs_token: &Token,
) -> String {
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    format!(
        "[matrix]\nhomeserver_url = {}\nserver_name = {}\nsender_localpart = {}\nas_token = {}\nhs_token = {}\n",
        q(homeserver_url),
        q(server_name),
        q(localpart),
        q(as_token.expose()),
        q(hs_token.expose())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(url: &str) -> MatrixConfig {
        MatrixConfig {
            homeserver_url: url.into(),
            server_name: "example.org".into(),
            as_token: Token::generate(),
            hs_token: Token::generate(),
            sender_localpart: "classcred".into(),
        }
    }

    #[test]
    fn tokens_must_be_strong() {
        assert!(Token::check_strength(Token::generate().expose()).is_ok());
        assert!(Token::check_strength("short").is_err());
        assert!(Token::check_strength(&"ab".repeat(30)).is_err());
        assert!(Token::check_strength(&format!("{} x", Token::generate().expose())).is_err());
        let err = serde_json::from_str::<Token>("\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("aaaa"), "{err}");
        assert_eq!(format!("{:?}", Token::generate()), "Token(***)");
    }

    #[test]
    fn urls_and_names() {
        assert!(cfg("https://matrix.example.org").validate().is_ok());
        assert!(cfg("http://127.0.0.1:8008").validate().is_ok());
        assert!(cfg("http://matrix.example.org").validate().is_err());
        assert!(cfg("https://u:p@matrix.example.org").validate().is_err());
        let mut c = cfg("https://m.example.org");
        c.hs_token = c.as_token.clone();
        assert!(c.validate().is_err());
        let c = cfg("https://m.example.org");
        assert_eq!(c.bot_user_id(), "@classcred:example.org");
        assert!(c.is_ours("@classcred:example.org"));
        assert!(c.is_ours("@classcred_x:example.org"));
        assert!(!c.is_ours("@classcred_x:other.org"));
        assert!(!c.is_ours("@classcredx:example.org"));
        assert!(!c.is_ours("@alice:example.org"));
    }

    #[test]
    fn registration_file() {
        let (a, h) = (Token::generate(), Token::generate());
        let y = registration_yaml("http://127.0.0.1:8080", "ex.org", "classcred", &a, &h);
        assert!(y.contains(&format!("as_token: '{}'", a.expose())));
        assert!(y.contains(&format!("hs_token: '{}'", h.expose())));
        assert!(y.contains("regex: '@classcred_.*:ex\\.org'"));
        assert!(y.contains("exclusive: true") && y.contains("rate_limited: false"));
        assert!(y.contains("url: 'http://127.0.0.1:8080'"));
    }
}
