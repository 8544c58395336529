//! Which hosts ClassCred may call. Every outbound request of [`super::SlackClient`] is checked
//! here before any connection is made, and redirects are never followed, so a request can only
//! ever reach a declared host.

use std::net::IpAddr;
use url::{Host, Url};

/// Hosts reachable by default: the Web API (`slack.com`) and `response_url` replies
/// (`hooks.slack.com`).
pub const DEFAULT_HOSTS: &[&str] = &["slack.com", "hooks.slack.com"];

/// Why an outbound URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Not a URL.
    #[error("invalid outbound URL")]
    InvalidUrl,
    /// Not `https` (plain `http` is only allowed on loopback when enabled).
    #[error("outbound scheme {0:?} refused: https only")]
    Scheme(String),
    /// The host is not declared.
    #[error("outbound host {0:?} is not a declared host")]
    Host(String),
    /// URLs with user names or passwords are refused.
    #[error("outbound URL with credentials refused")]
    Credentials,
}

/// The allow-list for outbound calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundPolicy {
    hosts: Vec<String>,
    allow_loopback: bool,
}

impl Default for OutboundPolicy {
    fn default() -> Self {
        Self {
            hosts: DEFAULT_HOSTS.iter().map(|h| (*h).to_owned()).collect(),
            allow_loopback: false,
        }
    }
}

/// Whether a URL's host is on loopback (`127.0.0.0/8`, `::1`, `localhost`).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

impl OutboundPolicy {
    /// Only the given hosts, over HTTPS.
    pub fn only(hosts: &[&str]) -> Self {
        Self {
            hosts: hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
            allow_loopback: false,
        }
    }

    /// Also allows loopback hosts over `http` or `https` (set automatically when the configured
    /// API base URL is on loopback, i.e. in tests against a local fake).
    pub fn allowing_loopback(mut self) -> Self {
        self.allow_loopback = true;
        self
    }

    /// The declared hosts.
    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }

    /// Checks a URL string; returns it parsed when allowed.
    pub fn check_str(&self, url: &str) -> Result<Url, PolicyError> {
        let url = Url::parse(url).map_err(|_| PolicyError::InvalidUrl)?;
        self.check(&url)?;
        Ok(url)
    }

    /// Checks a URL.
    pub fn check(&self, url: &Url) -> Result<(), PolicyError> {
        if !url.username().is_empty() || url.password().is_some() {
            return Err(PolicyError::Credentials);
        }
        if self.allow_loopback && is_loopback(url) {
            return match url.scheme() {
                "http" | "https" => Ok(()),
                s => Err(PolicyError::Scheme(s.to_owned())),
            };
        }
        if url.scheme() != "https" {
            return Err(PolicyError::Scheme(url.scheme().to_owned()));
        }
        let host = match url.host() {
            Some(Host::Domain(d)) => d.to_ascii_lowercase(),
            Some(other) => return Err(PolicyError::Host(other.to_string())),
            None => return Err(PolicyError::InvalidUrl),
        };
        if self.hosts.contains(&host) {
            Ok(())
        } else {
            Err(PolicyError::Host(host))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_allows_slack_over_https_only() {
        let p = OutboundPolicy::default();
        assert!(p
            .check_str("https://slack.com/api/chat.postMessage")
            .is_ok());
        assert!(p.check_str("https://SLACK.com/api/x").is_ok());
        assert!(p
            .check_str("https://hooks.slack.com/commands/T1/2/3")
            .is_ok());
        assert_eq!(
            p.check_str("http://slack.com/api/x"),
            Err(PolicyError::Scheme("http".into()))
        );
        assert_eq!(
            p.check_str("https://evil.example/api"),
            Err(PolicyError::Host("evil.example".into()))
        );
        assert!(matches!(
            p.check_str("https://slack.com.evil.example/"),
            Err(PolicyError::Host(_))
        ));
        assert!(matches!(
            p.check_str("https://api.slack.com/"),
            Err(PolicyError::Host(_))
        ));
        assert!(matches!(
            p.check_str("https://1.2.3.4/"),
            Err(PolicyError::Host(_))
        ));
        assert_eq!(
            p.check_str("https://u:p@slack.com/"),
            Err(PolicyError::Credentials)
        );
        assert_eq!(p.check_str("not a url"), Err(PolicyError::InvalidUrl));
    }

    #[test]
    fn loopback_only_when_allowed() {
        let p = OutboundPolicy::default();
        assert!(p.check_str("http://127.0.0.1:9/api/").is_err());
        let p = p.allowing_loopback();
        for u in [
            "http://127.0.0.1:9/api/",
            "http://127.8.0.1/",
            "http://[::1]:80/",
            "http://localhost:1/",
        ] {
            assert!(p.check_str(u).is_ok(), "{u}");
        }
        assert!(p.check_str("http://10.0.0.1/").is_err());
        assert!(p.check_str("http://slack.com/").is_err());
        assert!(p.check_str("ftp://127.0.0.1/").is_err());
    }
}
