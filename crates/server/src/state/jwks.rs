//! OpenID Connect issuers' signing keys (for AssumeRoleWithWebIdentity, [`crate::sts::web_identity`]):
//! fetched by OpenID Connect Discovery, cached per issuer, one fetch per issuer at a time,
//! only from public addresses (or loopback, named as such), checked on the very addresses the
//! client connects to ([`PinnedResolver`]: no DNS rebinding).

use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long an issuer's keys are trusted without asking again.
const JWKS_TTL: Duration = Duration::from_secs(600);

/// An unknown `kid` makes kagi re-read the keys, but not more often than this.
const JWKS_REFRESH_MIN: Duration = Duration::from_secs(1);

/// Discovery documents and key sets larger than this are refused.
const IDP_BODY_LIMIT: u64 = 1 << 20;

/// One key of a JWKS (RFC 7517), the members kagi uses.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Jwk {
    pub(crate) kty: String,
    #[serde(default)]
    pub(crate) kid: Option<String>,
    #[serde(default, rename = "use")]
    pub(crate) use_: Option<String>,
    #[serde(default)]
    pub(crate) n: Option<String>,
    #[serde(default)]
    pub(crate) e: Option<String>,
    #[serde(default)]
    pub(crate) crv: Option<String>,
    #[serde(default)]
    pub(crate) x: Option<String>,
    #[serde(default)]
    pub(crate) y: Option<String>,
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

/// One issuer's keys, and its last failure.
#[derive(Default)]
struct Entry {
    fetched: Option<Instant>,
    keys: Arc<Vec<Jwk>>,
    failed: Option<(Instant, String)>,
}

/// Issuers' keys, by issuer URL (only issuers of this account's providers get an entry).
#[derive(Default)]
pub struct JwksCache {
    by_issuer: parking_lot::Mutex<HashMap<String, Arc<parking_lot::Mutex<Entry>>>>,
}

impl JwksCache {
    /// Whether the keys for a token of `issuer` naming `kid` are cached and fresh, so that
    /// verifying it needs no request to the issuer (never waits for a fetch in progress).
    pub(crate) fn at_hand(&self, issuer: &str, kid: Option<&str>) -> bool {
        let Some(entry) = self.by_issuer.lock().get(issuer).cloned() else {
            return false;
        };
        let Some(e) = entry.try_lock() else {
            return false;
        };
        e.fetched.is_some_and(|at| at.elapsed() < JWKS_TTL)
            && e.keys
                .iter()
                .any(|k| kid.is_none() || k.kid.as_deref() == kid)
    }

    /// The issuer's keys; `refresh` asks the issuer again unless it was asked moments ago.
    /// One fetch per issuer at a time: concurrent requests wait for it and share its answer,
    /// and a failure is remembered for a second, so a burst of tokens never becomes a burst of
    /// requests to the issuer.
    pub(crate) fn keys(&self, issuer: &str, refresh: bool) -> Result<Arc<Vec<Jwk>>, String> {
        let entry = self
            .by_issuer
            .lock()
            .entry(issuer.to_owned())
            .or_default()
            .clone();
        let mut e = entry.lock();
        if let Some(at) = e.fetched {
            let age = at.elapsed();
            if age < JWKS_TTL && (!refresh || age < JWKS_REFRESH_MIN) {
                return Ok(e.keys.clone());
            }
        }
        if let Some((at, why)) = &e.failed
            && at.elapsed() < JWKS_REFRESH_MIN
        {
            return Err(why.clone());
        }
        match fetch_jwks(issuer) {
            Ok(keys) => {
                e.keys = Arc::new(keys);
                e.fetched = Some(Instant::now());
                e.failed = None;
                Ok(e.keys.clone())
            }
            Err(why) => {
                e.failed = Some((Instant::now(), why.clone()));
                Err(why)
            }
        }
    }
}

/// No redirects: a redirect is how a fetch that passed the destination check would be sent to
/// an address that would not (SSRF); OpenID Connect Discovery needs none. Names are resolved by
/// [`PinnedResolver`]: once, checked, and those very addresses connected to.
fn agent() -> ureq::Agent {
    agent_with(system_lookup, Duration::from_secs(10))
}

fn agent_with(lookup: Lookup, timeout: Duration) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .build();
    ureq::Agent::with_parts(
        config,
        ureq::unversioned::transport::DefaultConnector::new(),
        PinnedResolver { lookup },
    )
}

/// A name lookup: the system's, or a test's.
type Lookup = fn(&str, u16) -> std::io::Result<Vec<SocketAddr>>;

fn system_lookup(host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
    std::net::ToSocketAddrs::to_socket_addrs(&(host, port)).map(Iterator::collect)
}

/// The HTTP client's resolver (DNS rebinding): it looks the host up once, refuses the request
/// unless every address it got passes [`allowed_addresses`], and gives the client exactly
/// those addresses to connect to. A checker that resolved the name and a client that resolved
/// it again would connect wherever the second answer pointed (a name answering a public
/// address, then 127.0.0.1 or 169.254.169.254).
#[derive(Debug)]
struct PinnedResolver {
    lookup: Lookup,
}

impl ureq::unversioned::resolver::Resolver for PinnedResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        _config: &ureq::config::Config,
        _timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let refuse = |why: String| {
            ureq::Error::Io(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                why,
            ))
        };
        let authority = uri
            .authority()
            .ok_or_else(|| refuse(format!("{uri}: no host")))?;
        let port = authority.port_u16().unwrap_or(
            if uri
                .scheme_str()
                .is_some_and(|s| s.eq_ignore_ascii_case("http"))
            {
                80
            } else {
                443
            },
        );
        let addrs = allowed_addresses(authority.as_str(), authority.host(), port, self.lookup)
            .map_err(|why| refuse(format!("{uri}: {why}")))?;
        let mut out = self.empty();
        for a in addrs.into_iter().take(16) {
            out.push(a);
        }
        Ok(out)
    }
}

/// The addresses a fetch from `host:port` may connect to: all of them public, or all loopback
/// when the URL names loopback itself (`127.0.0.1`, `[::1]`, `localhost`: a test IdP beside
/// kagi). A name that resolves to a private, link-local, loopback or reserved address is
/// refused, whatever else it resolves to.
fn allowed_addresses(
    authority: &str,
    host: &str,
    port: u16,
    lookup: Lookup,
) -> Result<Vec<SocketAddr>, String> {
    if authority.contains('@') || host.is_empty() {
        return Err("not an issuer URL".into());
    }
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => lookup(host, port).map_err(|e| format!("{host}: {e}"))?,
    };
    if addrs.is_empty() {
        return Err(format!("{host} has no address"));
    }
    let loopback_named = is_loopback_authority(authority);
    match addrs.iter().find(|a| {
        if loopback_named {
            !a.ip().is_loopback()
        } else {
            !is_public(a.ip())
        }
    }) {
        Some(a) if loopback_named => Err(format!("{host} resolves to {} (not loopback)", a.ip())),
        Some(a) => Err(format!(
            "{} is not a public address; kagi fetches issuers' keys only from public \
             addresses (or loopback)",
            a.ip()
        )),
        None => Ok(addrs),
    }
}

fn get_json(agent: &ureq::Agent, url: &str) -> Result<Value, String> {
    // The destination is checked by the agent's resolver, on the addresses it connects to.
    let mut resp = agent.get(url).call().map_err(|e| format!("{url}: {e}"))?;
    if resp.status() != 200 {
        return Err(format!("{url}: HTTP {}", resp.status().as_u16()));
    }
    let body = resp
        .body_mut()
        .with_config()
        .limit(IDP_BODY_LIMIT)
        .read_to_vec()
        .map_err(|e| format!("{url}: {e}"))?;
    serde_json::from_slice(&body).map_err(|e| format!("{url}: not JSON: {e}"))
}

/// OpenID Connect Discovery: the issuer's configuration names its key set.
fn fetch_jwks(issuer: &str) -> Result<Vec<Jwk>, String> {
    let agent = agent();
    let config = get_json(
        &agent,
        &format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        ),
    )?;
    let jwks_uri = config["jwks_uri"]
        .as_str()
        .ok_or("the discovery document has no jwks_uri")?;
    if !allowed_url(jwks_uri) {
        return Err(format!("jwks_uri {jwks_uri} is neither https nor loopback"));
    }
    let set: JwkSet = serde_json::from_value(get_json(&agent, jwks_uri)?)
        .map_err(|e| format!("{jwks_uri}: not a JWK set: {e}"))?;
    Ok(set.keys)
}

/// `https://…`, or `http://` to a loopback host.
pub fn allowed_url(url: &str) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    url.strip_prefix("http://")
        .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(""))
        .is_some_and(is_loopback_authority)
}

/// Refuses a URL whose host is, or resolves to, an address that is neither public nor
/// loopback: private ranges, link-local (where clouds serve instance metadata), shared (CGNAT),
/// unique-local, unspecified, multicast, reserved. Loopback stays allowed for a test IdP beside
/// kagi when the URL names it, as [`allowed_url`] allows it. The fetch itself applies the same
/// rule to the addresses it connects to ([`PinnedResolver`]); this is the check for a URL alone.
pub fn check_destination(url: &str) -> Result<(), String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("{url}: not a URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') || authority.is_empty() {
        return Err(format!("{url}: not an issuer URL"));
    }
    let default_port = if scheme.eq_ignore_ascii_case("http") {
        80
    } else {
        443
    };
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (h, after) = v6.split_once(']').unwrap_or((v6, ""));
            (h, after.strip_prefix(':').and_then(|p| p.parse().ok()))
        }
        None => match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().ok()),
            None => (authority, None),
        },
    };
    allowed_addresses(authority, host, port.unwrap_or(default_port), system_lookup)
        .map(drop)
        .map_err(|why| format!("{url}: {why}"))
}

/// Whether `ip` is a public unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || (s[0] == 0x64 && s[1] == 0xff9b)
                || s[..6] == [0; 6])
        }
    }
}

/// `127.0.0.1`, `localhost`, `[::1]`, each with an optional port.
pub fn is_loopback_authority(authority: &str) -> bool {
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.split(':').next().unwrap_or("")
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_or_loopback_destinations() {
        for bad in [
            "https://10.0.0.1/.well-known/openid-configuration",
            "https://172.16.5.4",
            "https://192.168.1.1:8443/x",
            "https://169.254.169.254/latest/meta-data",
            "http://169.254.169.254/",
            "https://100.64.0.1",
            "https://0.0.0.0",
            "https://224.0.0.1",
            "https://[fe80::1]/",
            "https://[fd00::1]:443/",
            "https://[::ffff:10.0.0.1]/",
            "https://[::ffff:169.254.169.254]/",
            "https://[::]/",
            "https://user@token.example/",
            "not a url",
        ] {
            assert!(check_destination(bad).is_err(), "{bad}");
        }
        for ok in [
            "http://127.0.0.1:8080/x",
            "https://localhost/",
            "https://[::1]:9/",
            "https://8.8.8.8/keys",
            "https://[2606:4700::1111]/",
        ] {
            assert!(check_destination(ok).is_ok(), "{ok}");
        }
    }

    /// DNS rebinding: a name that answers a public address to one lookup and 127.0.0.1 to the
    /// next is looked up once, and the client connects only to what was checked; a name that
    /// resolves to loopback (or any private address) is refused before any connection.
    #[test]
    fn the_address_checked_is_the_address_connected_to() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static LOOKUPS: AtomicUsize = AtomicUsize::new(0);
        static PORT: AtomicUsize = AtomicUsize::new(0);
        // A local "internal service" that counts the connections it gets.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        PORT.store(port.into(), Ordering::SeqCst);
        listener.set_nonblocking(true).unwrap();
        let connections = |l: &std::net::TcpListener| {
            let mut n = 0;
            while l.accept().is_ok() {
                n += 1;
            }
            n
        };
        let local =
            || -> SocketAddr { ([127, 0, 0, 1], PORT.load(Ordering::SeqCst) as u16).into() };

        // Public first (TEST-NET is not public; 192.88.99.1 is, and nothing answers there in
        // a test), loopback for every later lookup.
        fn rebinding(_: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
            Ok(vec![if LOOKUPS.fetch_add(1, Ordering::SeqCst) == 0 {
                SocketAddr::from(([192, 88, 99, 1], port))
            } else {
                SocketAddr::from(([127, 0, 0, 1], port))
            }])
        }
        let agent = agent_with(rebinding, Duration::from_millis(500));
        let url = format!("https://rebind.example:{port}/.well-known/openid-configuration");
        let r = get_json(&agent, &url);
        assert!(r.is_err(), "{r:?}");
        assert_eq!(LOOKUPS.load(Ordering::SeqCst), 1, "one lookup per fetch");
        assert_eq!(
            connections(&listener),
            0,
            "the rebound address was connected to"
        );
        let _ = local;

        // A name that resolves to loopback is refused before any connection.
        fn to_loopback(_: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
            Ok(vec![SocketAddr::from(([127, 0, 0, 1], port))])
        }
        let agent = agent_with(to_loopback, Duration::from_secs(5));
        let err = get_json(&agent, &format!("http://internal.example:{port}/jwks")).unwrap_err();
        assert!(err.contains("127.0.0.1 is not a public address"), "{err}");
        // Also mixed answers, and the metadata address.
        fn mixed(_: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
            Ok(vec![
                SocketAddr::from(([8, 8, 8, 8], port)),
                SocketAddr::from(([169, 254, 169, 254], port)),
            ])
        }
        let err = get_json(
            &agent_with(mixed, Duration::from_secs(5)),
            "https://x.example/",
        )
        .unwrap_err();
        assert!(
            err.contains("169.254.169.254 is not a public address"),
            "{err}"
        );
        assert_eq!(connections(&listener), 0);

        // Loopback named as such stays allowed (test IdPs): that one connects.
        let agent = agent_with(to_loopback, Duration::from_millis(500));
        let _ = get_json(&agent, &format!("http://127.0.0.1:{port}/jwks"));
        assert_eq!(connections(&listener), 1, "a loopback URL is fetched");
    }

    #[test]
    fn only_https_or_loopback_http() {
        for ok in [
            "https://token.actions.githubusercontent.com",
            "http://127.0.0.1:8080/x",
            "http://localhost",
            "http://[::1]:9/a",
            "http://127.1.2.3/",
        ] {
            assert!(allowed_url(ok), "{ok}");
        }
        for bad in [
            "http://example.com",
            "http://127.0.0.1.evil.com/",
            "http://localhost.evil.com",
            "ftp://127.0.0.1",
            "http://[::2]/",
        ] {
            assert!(!allowed_url(bad), "{bad}");
        }
    }
}
