//! The AWS query protocol (IAM, STS): a form body or query string, decoded into an operation
//! and its validated input, answers Ok or an AWS error, never panics; and what decodes encodes
//! back to a form that decodes to the same input.

use kagi_api::query;

/// One input: panics when an invariant above does not hold.
pub fn check(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let service = kagi_api::service(if which & 1 == 0 { "iam" } else { "sts" }).expect("modelled");
    // The server's form parsing: `&`-separated, `+` as space, percent escapes.
    let form: Vec<(String, String)> = url_pairs(rest);
    let Ok((op, input)) = query::decode(service, &form) else {
        return;
    };
    let again = query::encode_pairs(op, service, &input);
    match query::decode(service, &again) {
        Ok((op2, input2)) => {
            assert_eq!(op.name, op2.name);
            assert_eq!(input, input2, "decode(encode(x)) != x for {again:?}");
        }
        Err(e) => {
            panic!("a decoded input re-encodes to a form that does not decode: {e:?}\n{again:?}")
        }
    }
}

fn url_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    bytes
        .split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = match p.iter().position(|&b| b == b'=') {
                Some(i) => (&p[..i], &p[i + 1..]),
                None => (p, &b""[..]),
            };
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &[u8]) -> String {
    let bytes = kagi_sigv4::canonical::percent_decode(&String::from_utf8_lossy(s), true);
    String::from_utf8_lossy(&bytes).into_owned()
}
