//! The client's XML decoders (IAM and STS responses, AWS error documents) face whatever an
//! endpoint sends: any text decodes to a value or an ApiError, never a panic (the streaming
//! decoder and the tree-based one alike).

use kagi_api::xml;

/// One input: panics when an invariant above does not hold.
pub fn check(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Ok(body) = std::str::from_utf8(rest) else {
        return;
    };
    let service = kagi_api::service(if which & 1 == 0 { "iam" } else { "sts" }).expect("modelled");
    let ops = service.operations();
    let op = &ops[usize::from(which >> 1) % ops.len()];
    let _ = xml::decode_error(body);
    let _ = xml::request_id(body);
    let _ = xml::decode_response(service, op, body);
    if let (Ok(root), Some(shape)) = (xml::parse_document(body), op.output) {
        let _ = xml::decode_element(service, shape, &root);
    }
}
