//! Test support shared by kagi's crates (a dev-dependency only).
//!
//! [`oidc`]: an OpenID Connect issuer on 127.0.0.1 — a discovery document and a JWK set served
//! over HTTP, and ID tokens signed with ring (an EC P-256 key made per run, an RSA key from
//! `data/oidc-test-rsa-key.der`, a throw-away test key) — so that AssumeRoleWithWebIdentity is
//! tested against a real issuer, from the server's tests and the CLI's alike.
//!
//! [`postgres`]: a throw-away PostgreSQL server (Debian's binaries) on a free loopback port,
//! one per test process, with a fresh database per caller.
//!
//! [`identity_center`]: IAM Identity Center seeded through a running server's administration
//! API (an instance, a user with a portal password, a permission set assigned to her).

pub mod identity_center;
pub mod postgres;
pub mod s3;

pub mod oidc {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use ring::rand::SystemRandom;
    use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
    use serde_json::{Value, json};
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{SystemTime, UNIX_EPOCH};

    /// The audience AWS's clients and GitHub's tokens use for STS.
    pub const AUDIENCE: &str = "sts.amazonaws.com";

    pub fn b64(b: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(b)
    }

    pub fn now() -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    }

    /// Signing keys of the test issuer.
    pub struct Keys {
        ec: EcdsaKeyPair,
        rsa: RsaKeyPair,
        rng: SystemRandom,
    }

    impl Default for Keys {
        fn default() -> Keys {
            Keys::new()
        }
    }

    impl Keys {
        /// A fresh EC key (every call: a key no issuer publishes yet) and the RSA test key.
        pub fn new() -> Keys {
            let rng = SystemRandom::new();
            let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
            let ec = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap();
            let rsa =
                RsaKeyPair::from_der(include_bytes!("../data/oidc-test-rsa-key.der")).unwrap();
            Keys { ec, rsa, rng }
        }

        pub fn ec_jwk(&self, kid: &str) -> Value {
            let p = self.ec.public_key().as_ref();
            json!({"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
                   "x": b64(&p[1..33]), "y": b64(&p[33..65])})
        }

        pub fn rsa_jwk(&self, kid: &str) -> Value {
            let public: ring::rsa::PublicKeyComponents<Vec<u8>> = self.rsa.public().into();
            json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
                   "n": b64(&public.n), "e": b64(&public.e)})
        }

        /// A JWT over `claims`, signed with the EC key (`ES256`) or the RSA key (`RS256`).
        pub fn token(&self, alg: &str, kid: &str, claims: &Value) -> String {
            let header = json!({"alg": alg, "kid": kid, "typ": "JWT"});
            let signed = format!(
                "{}.{}",
                b64(header.to_string().as_bytes()),
                b64(claims.to_string().as_bytes())
            );
            let sig = match alg {
                "ES256" => self
                    .ec
                    .sign(&self.rng, signed.as_bytes())
                    .unwrap()
                    .as_ref()
                    .to_vec(),
                "RS256" => {
                    let mut out = vec![0; self.rsa.public().modulus_len()];
                    self.rsa
                        .sign(
                            &signature::RSA_PKCS1_SHA256,
                            &self.rng,
                            signed.as_bytes(),
                            &mut out,
                        )
                        .unwrap();
                    out
                }
                other => panic!("alg {other}"),
            };
            format!("{signed}.{}", b64(&sig))
        }
    }

    /// The test issuer: `GET /.well-known/openid-configuration` and `GET /jwks` on 127.0.0.1.
    pub struct Issuer {
        /// `http://127.0.0.1:PORT`: the `iss` of its tokens.
        pub url: String,
        /// The published key set; change it to rotate keys.
        pub jwks: Arc<Mutex<Value>>,
        /// Requests served so far.
        pub hits: Arc<AtomicUsize>,
    }

    impl Issuer {
        pub fn start(jwks: Value) -> Issuer {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("http://{}", listener.local_addr().unwrap());
            let jwks = Arc::new(Mutex::new(jwks));
            let hits = Arc::new(AtomicUsize::new(0));
            let (j, h, u) = (jwks.clone(), hits.clone(), url.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(mut s) = stream else { continue };
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match s.read(&mut chunk) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf);
                    let path = head.split_whitespace().nth(1).unwrap_or("");
                    h.fetch_add(1, Ordering::SeqCst);
                    let (status, body) = match path {
                        "/.well-known/openid-configuration" => (
                            "200 OK",
                            json!({"issuer": u, "jwks_uri": format!("{u}/jwks")}).to_string(),
                        ),
                        "/jwks" => ("200 OK", j.lock().unwrap().to_string()),
                        _ => ("404 Not Found", "{}".to_string()),
                    };
                    let _ = write!(
                        s,
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                }
            });
            Issuer { url, jwks, hits }
        }

        /// `127.0.0.1:PORT`: the provider ARN's resource and the condition keys' prefix.
        pub fn host(&self) -> &str {
            self.url.trim_start_matches("http://")
        }

        pub fn claims(&self, sub: &str) -> Value {
            let t = now();
            json!({"iss": self.url, "aud": AUDIENCE, "sub": sub, "iat": t, "nbf": t, "exp": t + 300})
        }
    }
}
