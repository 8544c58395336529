//! Device and network data (off unless the operator sets `device_data = true`): the address a
//! request came from, truncated before anything keeps it (IPv4 to its /24, IPv6 to its /48),
//! and the user agent reduced to browser family and operating system. Neither the full address
//! nor the user-agent string is stored or logged anywhere.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};

/// What the operator chose about device and network data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeviceData {
    /// Record the (truncated) network and (reduced) browser of each sign-in.
    pub enabled: bool,
    /// The server is behind a reverse proxy: the client is the last address of
    /// `X-Forwarded-For` (the one the proxy appended) instead of the TCP peer.
    pub trust_forwarded_for: bool,
}

/// The network of `ip` as stored: `a.b.c.0/24` for IPv4, the first 48 bits `/48` for IPv6.
/// An IPv4-mapped IPv6 address is treated as the IPv4 address it carries.
pub fn truncate_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => truncate_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => truncate_v4(v4),
            None => {
                let s = v6.segments();
                let net = Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0);
                format!("{net}/48")
            }
        },
    }
}

fn truncate_v4(ip: Ipv4Addr) -> String {
    let [a, b, c, _] = ip.octets();
    format!("{a}.{b}.{c}.0/24")
}

/// The client's address: the TCP peer, or (when the operator says a proxy is in front) the
/// last entry of `X-Forwarded-For`. `None` when neither is known or parses.
pub fn client_ip(
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    trust_forwarded_for: bool,
) -> Option<IpAddr> {
    if trust_forwarded_for {
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|v| !v.is_empty())
            .and_then(|v| v.parse::<IpAddr>().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    peer.map(|p| p.ip())
}

/// The truncated network and reduced browser of a request, or `(None, None)` when device data
/// is off.
pub fn observe(parts: &Parts, setting: DeviceData) -> (Option<String>, Option<String>) {
    if !setting.enabled {
        return (None, None);
    }
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let network = client_ip(&parts.headers, peer, setting.trust_forwarded_for).map(truncate_ip);
    let agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(reduce_user_agent);
    (network, agent)
}

/// The reduced device data of a request (both `None` when device data is off), for handlers.
pub struct ClientDevice {
    pub network: Option<String>,
    pub agent: Option<String>,
}

impl axum::extract::FromRequestParts<crate::WebState> for ClientDevice {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::WebState,
    ) -> Result<Self, Self::Rejection> {
        let (network, agent) = observe(parts, state.device);
        Ok(ClientDevice { network, agent })
    }
}

/// A user agent reduced to `<browser> on <OS>` (e.g. `Firefox on Linux`); unknown parts read
/// `Other browser` / `other OS`. Nothing else of the string (versions, devices, build ids)
/// survives.
pub fn reduce_user_agent(ua: &str) -> String {
    format!("{} on {}", browser_family(ua), os_family(ua))
}

fn browser_family(ua: &str) -> &'static str {
    // Order matters: Edge and Opera claim Chrome, Chrome claims Safari, every browser claims
    // Mozilla.
    let has = |s: &str| ua.contains(s);
    if has("Edg/") || has("EdgA/") || has("EdgiOS/") || has("Edge/") {
        "Edge"
    } else if has("OPR/") || has("Opera") {
        "Opera"
    } else if has("SamsungBrowser/") {
        "Samsung Internet"
    } else if has("Firefox/") || has("FxiOS/") {
        "Firefox"
    } else if has("Chromium/") {
        "Chromium"
    } else if has("Chrome/") || has("CriOS/") {
        "Chrome"
    } else if has("Safari/") && (has("Version/") || has("Mobile/")) {
        "Safari"
    } else if has("curl/") || has("Wget/") || has("python-requests") || has("reqwest") {
        "Command-line client"
    } else {
        "Other browser"
    }
}

fn os_family(ua: &str) -> &'static str {
    let has = |s: &str| ua.contains(s);
    if has("iPhone") || has("iPad") || has("iPod") {
        "iOS"
    } else if has("Android") {
        "Android"
    } else if has("CrOS") {
        "ChromeOS"
    } else if has("Windows") {
        "Windows"
    } else if has("Macintosh") || has("Mac OS X") {
        "macOS"
    } else if has("Linux") || has("X11") {
        "Linux"
    } else {
        "other OS"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_is_cut_to_its_24() {
        assert_eq!(truncate_ip("192.0.2.57".parse().unwrap()), "192.0.2.0/24");
        assert_eq!(
            truncate_ip("203.0.113.255".parse().unwrap()),
            "203.0.113.0/24"
        );
        assert_eq!(
            truncate_ip("::ffff:198.51.100.9".parse().unwrap()),
            "198.51.100.0/24"
        );
    }

    #[test]
    fn ipv6_is_cut_to_its_48() {
        assert_eq!(
            truncate_ip("2001:db8:1234:5678:9abc:def0:1234:5678".parse().unwrap()),
            "2001:db8:1234::/48"
        );
        assert_eq!(truncate_ip("::1".parse().unwrap()), "::/48");
    }

    #[test]
    fn forwarded_for_is_read_only_when_trusted_and_takes_the_last_hop() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "10.9.9.9, 192.0.2.57".parse().unwrap());
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        assert_eq!(
            client_ip(&h, Some(peer), true),
            Some("192.0.2.57".parse().unwrap())
        );
        assert_eq!(client_ip(&h, Some(peer), false), Some(peer.ip()));
        let mut bad = HeaderMap::new();
        bad.insert("x-forwarded-for", "not an address".parse().unwrap());
        assert_eq!(client_ip(&bad, Some(peer), true), Some(peer.ip()));
        assert_eq!(client_ip(&HeaderMap::new(), None, true), None);
    }

    #[test]
    fn user_agents_reduce_to_browser_and_os() {
        let cases = [
            ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "Firefox on Linux"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", "Chrome on Windows"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87", "Edge on Windows"),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", "Safari on macOS"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari on iOS"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1", "Chrome on iOS"),
            ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.71 Mobile Safari/537.36", "Chrome on Android"),
            ("Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36", "Samsung Internet on Android"),
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 OPR/111.0.0.0", "Opera on Linux"),
            ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", "Chrome on ChromeOS"),
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0.0.0 Safari/537.36", "Chrome on Linux"),
            ("curl/8.8.0", "Command-line client on other OS"),
            ("", "Other browser on other OS"),
            ("something 192.0.2.57 secret-device-id", "Other browser on other OS"),
        ];
        for (ua, want) in cases {
            assert_eq!(reduce_user_agent(ua), want, "{ua}");
        }
    }

    #[test]
    fn nothing_of_the_user_agent_survives_but_the_two_labels() {
        let ua =
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0; device-XYZ-42) Gecko/20100101 Firefox/128.0";
        let reduced = reduce_user_agent(ua);
        assert!(!reduced.contains("128"), "{reduced}");
        assert!(!reduced.contains("XYZ"), "{reduced}");
    }
}
