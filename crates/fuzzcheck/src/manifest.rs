//! Image manifests pushed to the registry (PUT /v2/NAME/manifests/REF) or to ECR's PutImage:
//! any bytes under any declared media type are accepted or refused with ManifestInvalid, never
//! a panic; an accepted manifest names only well-formed digests.

use kagi_ecr::manifest::{self, DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST};
use kagi_ecr::util::valid_digest;

/// One input: panics when an invariant above does not hold.
pub fn check(data: &[u8]) {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    let declared = [
        None,
        Some(DOCKER_MANIFEST),
        Some(DOCKER_LIST),
        Some(OCI_MANIFEST),
        Some(OCI_INDEX),
        Some("text/plain"),
    ][usize::from(which) % 6];
    let Ok(parsed) = manifest::parse(bytes, declared) else {
        return;
    };
    for d in parsed.blobs.iter().chain(&parsed.manifests) {
        assert!(valid_digest(d), "accepted a manifest naming {d:?}");
    }
    if let Some(declared) = declared {
        assert_eq!(
            parsed.media_type, declared,
            "stored under another media type than declared"
        );
    }
}
