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
    /// Not `https` (plain `http` only for the exact configured origin).
    #[error("outbound scheme {0:?} refused: https only")]
    Scheme(String),
    /// The host is not declared.
    #[error("outbound host {0:?} is not a declared host")]
    Host(String),
    /// A declared host on another port than 443.
    #[error("outbound port {0} refused: 443 only")]
    Port(u16),
    /// A path the declared host is not called on (`/api/…` on `slack.com`, `/commands/…` and
    /// `/actions/…` on `hooks.slack.com`).
    #[error("outbound path refused for host {0:?}")]
    Path(String),
    /// URLs with user names or passwords are refused.
    #[error("outbound URL with credentials refused")]
    Credentials,
}

/// Paths a known host is called on.
fn allowed_paths(host: &str) -> Option<&'static [&'static str]> {
    match host {
        "slack.com" => Some(&["/api/"]),
        "hooks.slack.com" => Some(&["/commands/", "/actions/"]),
        _ => None,
    }
}

/// Scheme, host and port of one URL.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: Option<u16>,
}

impl Origin {
    fn of(url: &Url) -> Option<Self> {
        Some(Self {
            scheme: url.scheme().to_ascii_lowercase(),
            host: url.host_str()?.to_ascii_lowercase(),
            port: url.port_or_known_default(),
        })
    }
}

/// The allow-list for outbound calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundPolicy {
    hosts: Vec<String>,
    /// The configured API base URL's exact origin (e.g. a local fake in tests).
    origin: Option<Origin>,
}

impl Default for OutboundPolicy {
    fn default() -> Self {
        Self {
            hosts: DEFAULT_HOSTS.iter().map(|h| (*h).to_owned()).collect(),
            origin: None,
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
    /// Only the given hosts, over HTTPS on port 443.
    pub fn only(hosts: &[&str]) -> Self {
        Self {
            hosts: hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
            origin: None,
        }
    }

    /// Also allows exactly the origin (scheme, host and port) of `base` (set automatically
    /// when the configured API base URL is on loopback, i.e. in tests against a local fake):
    /// no other loopback host or port.
    pub fn allowing_origin(mut self, base: &Url) -> Self {
        self.origin = Origin::of(base);
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
        if let (Some(allowed), Some(origin)) = (&self.origin, Origin::of(url)) {
            if *allowed == origin && matches!(origin.scheme.as_str(), "http" | "https") {
                return Ok(());
            }
        }
        if url.scheme() != "https" {
            return Err(PolicyError::Scheme(url.scheme().to_owned()));
        }
        let host = match url.host() {
            Some(Host::Domain(d)) => d.to_ascii_lowercase(),
            Some(other) => return Err(PolicyError::Host(other.to_string())),
            None => return Err(PolicyError::InvalidUrl),
        };
        if !self.hosts.contains(&host) {
            return Err(PolicyError::Host(host));
        }
        match url.port_or_known_default() {
            Some(443) => {}
            other => return Err(PolicyError::Port(other.unwrap_or(0))),
        }
        match allowed_paths(&host) {
            Some(paths) if !paths.iter().any(|p| url.path().starts_with(p)) => {
                Err(PolicyError::Path(host))
            }
            _ => Ok(()),
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
    fn loopback_only_the_configured_origin() {
        let p = OutboundPolicy::default();
        assert!(p.check_str("http://127.0.0.1:9/api/").is_err());
        let base = Url::parse("http://127.0.0.1:9/api/").unwrap();
        let p = p.allowing_origin(&base);
        assert!(p.check_str("http://127.0.0.1:9/api/users.info").is_ok());
        assert!(p.check_str("http://127.0.0.1:9/respond/abc").is_ok());
        // Finding 13: no other loopback host or port, no other scheme.
        for u in [
            "http://127.0.0.1:10/api/",
            "http://127.8.0.1:9/",
            "http://[::1]:9/",
            "http://localhost:9/",
            "https://127.0.0.1:9/api/",
            "http://10.0.0.1/",
            "http://slack.com/",
            "ftp://127.0.0.1:9/",
        ] {
            assert!(p.check_str(u).is_err(), "{u}");
        }
    }

    /// Finding 13: declared hosts only on port 443 and only on the paths they are called on.
    #[test]
    fn declared_hosts_only_on_443_and_their_paths() {
        let p = OutboundPolicy::default();
        assert_eq!(
            p.check_str("https://hooks.slack.com:8443/commands/T1/2/3"),
            Err(PolicyError::Port(8443))
        );
        assert_eq!(
            p.check_str("https://slack.com:444/api/x"),
            Err(PolicyError::Port(444))
        );
        assert!(p.check_str("https://slack.com:443/api/x").is_ok());
        for u in [
            "https://slack.com/",
            "https://slack.com/oauth/v2/authorize",
            "https://slack.com/apix",
            "https://hooks.slack.com/services/T1/B1/x",
            "https://hooks.slack.com/",
        ] {
            assert!(matches!(p.check_str(u), Err(PolicyError::Path(_))), "{u}");
        }
        assert!(p
            .check_str("https://hooks.slack.com/actions/T1/2/3")
            .is_ok());
    }
}
