//! Which client a form post came from, for the rate limit: the connection's peer, or — when that peer is a proxy
//! the operator trusts — the address that proxy saw, from `X-Forwarded-For`.
//!
//! Key decisions:
//! - Trust is explicit (`form_trusted_proxies`, CIDRs). Without it `X-Forwarded-For` is ignored: anyone can send
//!   that header, and honouring it from the open internet would let a bot pick a fresh address per post. Behind
//!   a load balancer or CDN without it, every post shares the proxy's one window, and real customers get 429s.
//! - The header is read from the right: each trusted hop appended the address it saw, so the first untrusted
//!   address from the right is the client; anything left of it was written by the client and proves nothing.
//!   An entry that is not an address ends the walk at the last address known good.
//! - The limit counts an IPv6 client by its /64: one household or phone gets a /64 and privacy extensions rotate
//!   addresses inside it freely. IPv4 addresses count whole.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use ipnet::IpNet;

/// The `form_trusted_proxies` variable: addresses and CIDR ranges, comma-separated.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// `"10.0.0.0/8, 2001:db8::/32, 192.0.2.7"`; empty trusts nobody.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let net = match item.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => item.parse::<IpAddr>().map(IpNet::from).map_err(|_| format!("`{item}` is not an address or CIDR range"))?,
            };
            nets.push(net.trunc());
        }
        Ok(Self(nets))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }
}

impl fmt::Debug for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter().map(ToString::to_string)).finish()
    }
}

/// The client behind a post: `peer` is Spin's `spin-client-addr` (`ip:port`), `forwarded_for` the request's
/// `X-Forwarded-For` (every such header, joined by commas). `None` when the peer is not an address.
pub fn client_address(peer: &str, forwarded_for: Option<&str>, trusted: &TrustedProxies) -> Option<IpAddr> {
    let mut client = parse_ip(peer)?;
    if !trusted.trusts(client) {
        return Some(client);
    }
    for entry in forwarded_for.unwrap_or_default().rsplit(',').map(str::trim).filter(|e| !e.is_empty()) {
        let Some(ip) = parse_ip(entry) else { break };
        client = ip;
        if !trusted.trusts(ip) {
            break;
        }
    }
    Some(client)
}

/// What the rate limit counts: an IPv4 address, or an IPv6 address's /64 (`2001:db8:1:2::/64`).
pub fn rate_key(ip: IpAddr) -> String {
    match canonical(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{}/64", Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]:443`.
fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    s.parse::<SocketAddr>().map(|a| a.ip()).or_else(|_| s.trim_start_matches('[').trim_end_matches(']').parse()).ok()
}

/// An IPv4 client on a dual-stack socket shows as `::ffff:1.2.3.4`: it is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(list: &str) -> TrustedProxies {
        TrustedProxies::parse(list).unwrap()
    }

    fn client(peer: &str, xff: Option<&str>, list: &str) -> String {
        client_address(peer, xff, &trusted(list)).map(|ip| ip.to_string()).unwrap_or_default()
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_peer() {
        let xff = Some("198.51.100.7");
        assert_eq!(client("203.0.113.9:5000", xff, ""), "203.0.113.9", "nobody trusted: the header is ignored");
        assert_eq!(client("203.0.113.9:5000", xff, "10.0.0.0/8"), "203.0.113.9", "an untrusted peer's header is ignored");
        assert_eq!(client("10.1.2.3:5000", xff, "10.0.0.0/8"), "198.51.100.7");
        assert_eq!(client("10.1.2.3:5000", None, "10.0.0.0/8"), "10.1.2.3", "no header: the proxy itself");
    }

    #[test]
    fn the_walk_goes_right_to_left_and_stops_at_the_first_untrusted_address() {
        let list = "10.0.0.0/8, 192.0.2.1";
        // The client wrote a fake first entry; the CDN (192.0.2.1) and the balancer (10.x) appended theirs.
        let xff = Some("1.1.1.1, 198.51.100.7, 192.0.2.1");
        assert_eq!(client("10.0.0.5:80", xff, list), "198.51.100.7");
        // Every hop trusted: the leftmost.
        assert_eq!(client("10.0.0.5:80", Some("10.9.9.9, 192.0.2.1"), list), "10.9.9.9");
        // Garbage ends the walk at the last good address.
        assert_eq!(client("10.0.0.5:80", Some("198.51.100.7, unknown, 192.0.2.1"), list), "192.0.2.1");
        // Ports and brackets as some proxies write them.
        assert_eq!(client("10.0.0.5:80", Some("[2001:db8::7]:4711, 198.51.100.7:1234"), list), "198.51.100.7");
        assert_eq!(client("[::ffff:10.0.0.5]:80", Some("2001:db8::7"), list), "2001:db8::7", "a v4-mapped peer is v4");
    }

    #[test]
    fn ipv6_counts_by_its_64_and_ipv4_whole() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(rate_key(ip("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
        assert_eq!(rate_key(ip("2001:db8:1:2:bbbb:cccc::9")), rate_key(ip("2001:db8:1:2::1")));
        assert_ne!(rate_key(ip("2001:db8:1:3::1")), rate_key(ip("2001:db8:1:2::1")));
        assert_eq!(rate_key(ip("::ffff:203.0.113.9")), "203.0.113.9");
        assert_eq!(rate_key(ip("203.0.113.9")), "203.0.113.9");
    }

    #[test]
    fn the_variable_parses_addresses_and_ranges_and_names_a_bad_entry() {
        assert_eq!(format!("{:?}", trusted(" 10.1.2.3/8 , 192.0.2.7,2001:db8::/32 ")), r#"["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"]"#);
        assert_eq!(trusted(""), TrustedProxies::default());
        assert_eq!(TrustedProxies::parse("10.0.0.0/8, proxy.local").unwrap_err(), "`proxy.local` is not an address or CIDR range");
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
    }
}
