//! Which URLs the server may call. An [`OutboundPolicy`] is built only from the privacy
//! registry's subprocessors ([`classcred_store::registry::SUBPROCESSORS`]): a fixed one by its
//! id, a configured one (the OIDC issuer) by its id and the origin the operator set. There is no
//! way to allow a host the registry does not declare, except one exact loopback origin given
//! explicitly ([`OutboundPolicy::allow_loopback`], for tests against local fakes) and this
//! server's own loopback listener ([`OutboundPolicy::own_server`], for the `bench` load
//! generator).
//!
//! A URL passes when its exact origin (scheme, host, port) is allowed and its path starts with
//! one of the subprocessor's declared path prefixes. Fixed origins are `https` on port 443;
//! plain `http` is refused everywhere except on an explicitly allowed loopback origin.

use std::net::IpAddr;

use classcred_store::registry::{self, Destination, Subprocessor};
use url::{Host, Url};

/// Why an outbound URL (or a policy) was refused. Never carries a full URL: a `response_url`
/// or a query can hold secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Not a URL.
    #[error("invalid outbound URL")]
    InvalidUrl,
    /// Not `https` (plain `http` only on an explicitly allowed loopback origin).
    #[error("outbound scheme {0:?} refused: https only")]
    Scheme(String),
    /// The host is not a declared subprocessor's.
    #[error("outbound host {0:?} is not a declared host")]
    Host(String),
    /// A declared host on another port than the declared one (443 for fixed origins).
    #[error("outbound port {0} refused: not the declared port")]
    Port(u16),
    /// A path the declared host is not called on.
    #[error("outbound path refused for host {0:?}")]
    Path(String),
    /// URLs with user names or passwords are refused.
    #[error("outbound URL with credentials refused")]
    Credentials,
    /// The subprocessor id is not in the privacy registry.
    #[error("subprocessor {0:?} is not declared in the privacy registry")]
    Undeclared(String),
    /// The subprocessor's origin is fixed by the registry (or, for `configure`, the id names a
    /// fixed one): it cannot be configured.
    #[error("subprocessor {0:?} cannot be given an origin here")]
    NotConfigurable(String),
    /// [`OutboundPolicy::allow_loopback`] was given a host that is not loopback.
    #[error("only a loopback origin can be allowed explicitly")]
    NotLoopback,
}

/// Scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    fn of(url: &Url) -> Option<Self> {
        Some(Self {
            scheme: url.scheme().to_ascii_lowercase(),
            host: url.host_str()?.to_ascii_lowercase(),
            port: url.port_or_known_default()?,
        })
    }

    fn render(&self) -> String {
        let default = matches!(
            (self.scheme.as_str(), self.port),
            ("https", 443) | ("http", 80)
        );
        if default {
            format!("{}://{}", self.scheme, self.host)
        } else {
            format!("{}://{}:{}", self.scheme, self.host, self.port)
        }
    }
}

/// Who an allowed origin belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A subprocessor of the registry.
    Subprocessor(&'static Subprocessor),
    /// This ClassCred server itself, on loopback (the `bench` load generator).
    OwnServer,
}

impl Target {
    /// The subprocessor id, or `own-server`.
    pub fn id(&self) -> &'static str {
        match self {
            Target::Subprocessor(s) => s.id,
            Target::OwnServer => "own-server",
        }
    }

    /// The subprocessor, if it is one.
    pub fn subprocessor(&self) -> Option<&'static Subprocessor> {
        match self {
            Target::Subprocessor(s) => Some(s),
            Target::OwnServer => None,
        }
    }
}

/// How an origin came to be allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// A fixed origin of the registry.
    Declared,
    /// An operator-configured origin of a registry entry (`Destination::Configured`).
    Configured,
    /// An explicitly allowed loopback origin (tests, local fakes, this server's own).
    Loopback,
}

/// One allowed origin.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Allowed {
    target: Target,
    origin: Origin,
    /// Path prefixes; empty: any path.
    paths: &'static [&'static str],
    grant: Grant,
}

impl Allowed {
    fn path_ok(&self, url: &Url) -> bool {
        self.paths.is_empty() || self.paths.iter().any(|p| url.path().starts_with(p))
    }
}

/// An allowed destination, for display (`/privacy`) and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedOrigin {
    pub target: Target,
    /// `https://slack.com`, `http://127.0.0.1:4000`.
    pub origin: String,
    pub grant: Grant,
}

/// The allow-list of one outbound client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    allowed: Vec<Allowed>,
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

fn declared(id: &str) -> Result<&'static Subprocessor, PolicyError> {
    registry::subprocessor(id).ok_or_else(|| PolicyError::Undeclared(id.to_owned()))
}

impl OutboundPolicy {
    /// Nothing allowed (add a configured origin with [`Self::configure`]).
    pub fn none() -> Self {
        Self::default()
    }

    /// The fixed origins of these registry subprocessors. Fails on an id the registry does not
    /// declare, or one whose origin is configured (use [`Self::configure`]).
    pub fn for_subprocessors(ids: &[&str]) -> Result<Self, PolicyError> {
        let mut policy = Self::none();
        for id in ids {
            let s = declared(id)?;
            let Destination::Fixed { origin } = s.destination else {
                return Err(PolicyError::NotConfigurable((*id).to_owned()));
            };
            let url = Url::parse(origin).map_err(|_| PolicyError::InvalidUrl)?;
            let origin = Origin::of(&url).ok_or(PolicyError::InvalidUrl)?;
            if origin.scheme != "https" {
                return Err(PolicyError::Scheme(origin.scheme));
            }
            policy.allowed.push(Allowed {
                target: Target::Subprocessor(s),
                origin,
                paths: s.paths,
                grant: Grant::Declared,
            });
        }
        Ok(policy)
    }

    /// Also allow the exact origin of `url` for the registry subprocessor `id`, whose origin
    /// the operator configures (`Destination::Configured`, e.g. the OIDC issuer). The origin
    /// must be `https`; `http` is accepted only on a loopback host (a local provider).
    pub fn configure(mut self, id: &str, url: &Url) -> Result<Self, PolicyError> {
        let s = declared(id)?;
        if !matches!(s.destination, Destination::Configured { .. }) {
            return Err(PolicyError::NotConfigurable(id.to_owned()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(PolicyError::Credentials);
        }
        let origin = Origin::of(url).ok_or(PolicyError::InvalidUrl)?;
        match origin.scheme.as_str() {
            "https" => {}
            "http" if is_loopback(url) => {}
            other => return Err(PolicyError::Scheme(other.to_owned())),
        }
        self.allowed.push(Allowed {
            target: Target::Subprocessor(s),
            origin,
            paths: s.paths,
            grant: Grant::Configured,
        });
        Ok(self)
    }

    /// Explicitly allow exactly the origin (scheme, host, port) of a loopback `base`, any path,
    /// as standing in for subprocessor `id` (a local fake of Slack in tests). `http` is
    /// accepted here and nowhere else; any other loopback host or port stays refused.
    pub fn allow_loopback(mut self, id: &str, base: &Url) -> Result<Self, PolicyError> {
        let s = declared(id)?;
        if !is_loopback(base) {
            return Err(PolicyError::NotLoopback);
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(PolicyError::Credentials);
        }
        let origin = Origin::of(base).ok_or(PolicyError::InvalidUrl)?;
        if !matches!(origin.scheme.as_str(), "http" | "https") {
            return Err(PolicyError::Scheme(origin.scheme));
        }
        self.allowed.push(Allowed {
            target: Target::Subprocessor(s),
            origin,
            paths: &[],
            grant: Grant::Loopback,
        });
        Ok(self)
    }

    /// Only this server's own listener at the loopback `base` (exact origin, any path): what
    /// the `bench` load generator sends its deliveries to.
    pub fn own_server(base: &Url) -> Result<Self, PolicyError> {
        if !is_loopback(base) {
            return Err(PolicyError::NotLoopback);
        }
        let origin = Origin::of(base).ok_or(PolicyError::InvalidUrl)?;
        if !matches!(origin.scheme.as_str(), "http" | "https") {
            return Err(PolicyError::Scheme(origin.scheme));
        }
        Ok(Self {
            allowed: vec![Allowed {
                target: Target::OwnServer,
                origin,
                paths: &[],
                grant: Grant::Loopback,
            }],
        })
    }

    /// What this policy allows.
    pub fn origins(&self) -> Vec<AllowedOrigin> {
        self.allowed
            .iter()
            .map(|a| AllowedOrigin {
                target: a.target,
                origin: a.origin.render(),
                grant: a.grant,
            })
            .collect()
    }

    /// Checks a URL string; returns it parsed when allowed.
    pub fn check_str(&self, url: &str) -> Result<Url, PolicyError> {
        let url = Url::parse(url).map_err(|_| PolicyError::InvalidUrl)?;
        self.check(&url)?;
        Ok(url)
    }

    /// Checks a URL: `Ok` names whom it reaches.
    pub fn check(&self, url: &Url) -> Result<Target, PolicyError> {
        if !url.username().is_empty() || url.password().is_some() {
            return Err(PolicyError::Credentials);
        }
        let origin = Origin::of(url).ok_or(PolicyError::InvalidUrl)?;
        // An exactly allowed origin (configured or loopback, whatever the scheme).
        let exact: Vec<&Allowed> = self.allowed.iter().filter(|a| a.origin == origin).collect();
        if let Some(a) = exact.iter().find(|a| a.path_ok(url)) {
            return Ok(a.target);
        }
        if origin.scheme != "https" {
            return Err(PolicyError::Scheme(origin.scheme));
        }
        if !exact.is_empty() {
            return Err(PolicyError::Path(origin.host));
        }
        let same_host: Vec<&Allowed> = self
            .allowed
            .iter()
            .filter(|a| a.origin.scheme == "https" && a.origin.host == origin.host)
            .collect();
        if same_host.is_empty() {
            return Err(PolicyError::Host(origin.host));
        }
        Err(PolicyError::Port(origin.port))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use registry::subprocessors::{OIDC_PROVIDER, SLACK_RESPONSE_URL, SLACK_WEB_API};

    fn slack() -> OutboundPolicy {
        OutboundPolicy::for_subprocessors(&[SLACK_WEB_API, SLACK_RESPONSE_URL]).unwrap()
    }

    #[test]
    fn declared_hosts_over_https_only() {
        let p = slack();
        assert_eq!(
            p.check_str("https://slack.com/api/chat.postMessage")
                .map(|u| u.host_str().map(str::to_owned)),
            Ok(Some("slack.com".into()))
        );
        assert_eq!(
            p.check(&Url::parse("https://SLACK.com/api/x").unwrap())
                .map(|t| t.id()),
            Ok(SLACK_WEB_API)
        );
        assert_eq!(
            p.check(&Url::parse("https://hooks.slack.com/commands/T1/2/3").unwrap())
                .map(|t| t.id()),
            Ok(SLACK_RESPONSE_URL)
        );
        assert_eq!(
            p.check_str("http://slack.com/api/x"),
            Err(PolicyError::Scheme("http".into()))
        );
        assert_eq!(
            p.check_str("https://evil.example/api"),
            Err(PolicyError::Host("evil.example".into()))
        );
        for u in [
            "https://slack.com.evil.example/api/",
            "https://api.slack.com/api/",
            "https://1.2.3.4/api/",
            "https://[::1]/api/",
        ] {
            assert!(matches!(p.check_str(u), Err(PolicyError::Host(_))), "{u}");
        }
        assert_eq!(
            p.check_str("https://u:p@slack.com/api/"),
            Err(PolicyError::Credentials)
        );
        assert_eq!(p.check_str("not a url"), Err(PolicyError::InvalidUrl));
        assert_eq!(
            p.check_str("ftp://slack.com/api/"),
            Err(PolicyError::Scheme("ftp".into()))
        );
    }

    #[test]
    fn declared_hosts_only_on_443_and_their_paths() {
        let p = slack();
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

    #[test]
    fn a_policy_names_only_registry_subprocessors() {
        assert_eq!(
            OutboundPolicy::for_subprocessors(&["slack.example.edu"]),
            Err(PolicyError::Undeclared("slack.example.edu".into()))
        );
        // A configured subprocessor has no fixed origin; a fixed one cannot be configured.
        assert_eq!(
            OutboundPolicy::for_subprocessors(&[OIDC_PROVIDER]),
            Err(PolicyError::NotConfigurable(OIDC_PROVIDER.into()))
        );
        let elsewhere = Url::parse("https://slack.example.edu/").unwrap();
        assert_eq!(
            OutboundPolicy::none().configure(SLACK_WEB_API, &elsewhere),
            Err(PolicyError::NotConfigurable(SLACK_WEB_API.into()))
        );
        assert!(OutboundPolicy::none()
            .check_str("https://slack.com/api/x")
            .is_err());
    }

    #[test]
    fn a_configured_origin_is_exact_and_https_unless_loopback() {
        let issuer = Url::parse("https://login.example.com/tenant/v2.0").unwrap();
        let p = OutboundPolicy::none()
            .configure(OIDC_PROVIDER, &issuer)
            .unwrap();
        assert!(p.check_str("https://login.example.com/keys").is_ok());
        assert!(p.check_str("https://login.example.com:443/token").is_ok());
        for u in [
            "http://login.example.com/keys",
            "https://login.example.com:8443/keys",
            "https://login.example.com.evil.example/keys",
            "https://example.com/keys",
            "https://slack.com/api/",
        ] {
            assert!(p.check_str(u).is_err(), "{u}");
        }
        assert_eq!(
            p.origins()
                .iter()
                .map(|o| (o.target.id(), o.origin.as_str(), o.grant))
                .collect::<Vec<_>>(),
            vec![(
                OIDC_PROVIDER,
                "https://login.example.com",
                Grant::Configured
            )]
        );
        for bad in [
            "http://idp.example/",
            "ftp://127.0.0.1/",
            "https://u:p@idp.example/",
        ] {
            let url = Url::parse(bad).unwrap();
            assert!(
                OutboundPolicy::none()
                    .configure(OIDC_PROVIDER, &url)
                    .is_err(),
                "{bad}"
            );
        }
        let local = Url::parse("http://127.0.0.1:4000").unwrap();
        let p = OutboundPolicy::none()
            .configure(OIDC_PROVIDER, &local)
            .unwrap();
        assert!(p.check_str("http://127.0.0.1:4000/jwks").is_ok());
        assert!(p.check_str("http://127.0.0.1:4001/jwks").is_err());
        assert!(p.check_str("https://127.0.0.1:4000/jwks").is_err());
    }

    #[test]
    fn loopback_only_the_explicit_origin() {
        let p = slack();
        assert!(p.check_str("http://127.0.0.1:9/api/").is_err());
        let base = Url::parse("http://127.0.0.1:9/api/").unwrap();
        let p = p.allow_loopback(SLACK_WEB_API, &base).unwrap();
        assert!(p.check_str("http://127.0.0.1:9/api/users.info").is_ok());
        assert!(p.check_str("http://127.0.0.1:9/respond/abc").is_ok());
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
        for not_loopback in [
            "http://10.0.0.1:9/",
            "https://slack.com/",
            "http://example.com/",
        ] {
            let url = Url::parse(not_loopback).unwrap();
            assert_eq!(
                slack().allow_loopback(SLACK_WEB_API, &url),
                Err(PolicyError::NotLoopback),
                "{not_loopback}"
            );
            assert_eq!(
                OutboundPolicy::own_server(&url),
                Err(PolicyError::NotLoopback)
            );
        }
        let own = OutboundPolicy::own_server(&base).unwrap();
        assert_eq!(
            own.check_str("http://127.0.0.1:9/slack/events")
                .map(|u| u.path().to_owned()),
            Ok("/slack/events".into())
        );
        assert!(own.check_str("http://127.0.0.1:10/slack/events").is_err());
        assert!(own.check_str("https://slack.com/api/x").is_err());
    }
}
