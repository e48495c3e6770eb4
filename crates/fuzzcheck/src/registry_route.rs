//! The registry's router (`/v2/…` paths, percent-decoded segments): any path routes or does
//! not, never a panic; a repository name the handlers would accept (ECR's grammar) never holds
//! a `..`, an empty segment or a byte that leaves the path; a digest they would accept is
//! `sha256:` and 64 hex digits; and a route built back from an accepted name and reference
//! routes to the same place.

use kagi_ecr::registry::{Route, parse_route};
use kagi_ecr::util::{valid_digest, valid_repo_name, valid_tag};

fn check_name(name: &str) {
    if valid_repo_name(name) {
        assert!(
            name.split('/')
                .all(|s| !s.is_empty() && s != "." && s != ".."),
            "accepted name {name:?} has a traversing or empty segment"
        );
        assert!(
            !name.contains(['\0', '\\', '%', '?', '#']),
            "accepted name {name:?}"
        );
    }
}

/// One input: panics when an invariant above does not hold.
pub fn check(data: &[u8]) {
    let path = String::from_utf8_lossy(data);
    let Some(route) = parse_route(&path) else {
        return;
    };
    match &route {
        Route::Base | Route::Catalog => {}
        Route::Tags(name) | Route::UploadStart(name) | Route::Upload(name, _) => check_name(name),
        Route::Manifest(name, reference) => {
            check_name(name);
            if valid_repo_name(name) && (valid_tag(reference) || valid_digest(reference)) {
                let again = parse_route(&format!("/v2/{name}/manifests/{reference}"));
                assert_eq!(again.as_ref(), Some(&route), "{path:?}");
            }
        }
        Route::Blob(name, digest) => {
            check_name(name);
            if valid_digest(digest) {
                let hex = digest.strip_prefix("sha256:").expect("sha256 only");
                assert!(hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()));
                if valid_repo_name(name) {
                    let again = parse_route(&format!("/v2/{name}/blobs/{digest}"));
                    assert_eq!(again.as_ref(), Some(&route), "{path:?}");
                }
            }
        }
    }
}
