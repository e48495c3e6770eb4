//! AWS JSON 1.1 (ECR): any body under any operation's `X-Amz-Target` decodes to a validated
//! input or an AWS error, never a panic; a decoded input encodes to a request that decodes to
//! the same input; response and error decoders (the client side) take any bytes.

use kagi_api::json11;

/// One input: panics when an invariant above does not hold.
pub fn check(data: &[u8]) {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    let service = kagi_api::service("ecr").expect("modelled");
    let ops = service.operations();
    let op = &ops[usize::from(which) % ops.len()];
    let _ = json11::decode_response(op, body);
    let _ = json11::decode_error(body);
    let target = if which >= 0xF0 {
        String::from_utf8_lossy(&body[..body.len().min(40)]).into_owned()
    } else {
        let (target, _) = json11::encode_request(service, op, &serde_json::json!({}));
        target
    };
    let Ok((op, input)) = json11::decode_request(service, &target, body) else {
        return;
    };
    let (target2, body2) = json11::encode_request(service, op, &input);
    match json11::decode_request(service, &target2, &body2) {
        Ok((op2, input2)) => {
            assert_eq!(op.name, op2.name);
            assert_eq!(
                input,
                input2,
                "decode(encode(x)) != x: {}",
                String::from_utf8_lossy(&body2)
            );
        }
        Err(e) => panic!(
            "a decoded input re-encodes to a request that does not decode: {e:?}\n{}",
            String::from_utf8_lossy(&body2)
        ),
    }
}
