//! Smithy RPC v2 CBOR (client side): any response or error body under any operation of a
//! CBOR-only service decodes to a Value or an error, never a panic; a decoded response is an
//! object, as the CLI's printers expect.

use kagi_api::cbor;

/// One input: panics when an invariant above does not hold.
pub fn check(data: &[u8]) {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    let names = [
        "eventbridgev2",
        "cloudwatchomni",
        "partnercentral-revenue-measurement",
    ];
    let service = kagi_api::service(names[usize::from(which) % names.len()]).expect("modelled");
    let ops = service.operations();
    let op = &ops[usize::from(which) % ops.len()];
    if let Ok(v) = cbor::decode_response(op, body) {
        assert!(v.is_object(), "{v}");
    }
    let _ = cbor::decode_error(u16::from(which) + 300, body);
}
