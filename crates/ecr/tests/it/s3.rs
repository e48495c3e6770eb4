//! The S3 blob store against an S3-compatible server on loopback (moto's): the blob store
//! conformance suite, then ECR's store on it (uploads in chunks, composed and single-chunk
//! commits, garbage collection, `check`).

use kagi_ecr::blobs::s3::{S3Blobs, S3Config};
use kagi_ecr::blobs::{self, BlobStore};
use std::sync::Arc;

fn bucket(server: &kagi_testkit::s3::S3Server, name: &str, prefix: &str) -> S3Blobs {
    server.create_bucket(name);
    S3Blobs::open(&S3Config {
        bucket: name.into(),
        prefix: prefix.into(),
        endpoint: Some(server.endpoint.clone()),
        credentials: Some(("testing".into(), "testing".into())),
        region: Some("us-east-1".into()),
    })
    .unwrap()
}

#[test]
fn s3_blobs_conform() {
    let Some(server) = kagi_testkit::s3::required("s3_blobs_conform") else {
        return;
    };
    let at_root = bucket(&server, "conform-root", "");
    at_root.probe().unwrap();
    blobs::conformance(&at_root);
    let prefixed = bucket(&server, "conform-prefixed", "kagi/blobs");
    blobs::conformance(&prefixed);
    // The prefix is where the objects are, and listing sees only those.
    let k = blobs::chunk_key("u", 0);
    let mut one = Some(Ok(bytes::Bytes::from_static(b"x")));
    prefixed.write(&k, &mut || one.take(), &mut |_| {}).unwrap();
    assert_eq!(
        prefixed
            .list()
            .unwrap()
            .into_iter()
            .map(|l| l.key)
            .collect::<Vec<_>>(),
        [k]
    );
    let wrong = S3Blobs::open(&S3Config {
        bucket: "no-such-bucket".into(),
        prefix: String::new(),
        endpoint: Some(server.endpoint.clone()),
        credentials: Some(("testing".into(), "testing".into())),
        region: None,
    })
    .unwrap();
    assert!(wrong.probe().is_err(), "a missing bucket is found at start");
}

#[tokio::test(flavor = "multi_thread")]
async fn ecr_store_on_s3() {
    use kagi_ecr::store::{NewRepo, Source, Store};
    use kagi_ecr::util::sha256_digest;
    let Some(server) = kagi_testkit::s3::required("ecr_store_on_s3") else {
        return;
    };
    let blobs: Arc<dyn BlobStore> = Arc::new(bucket(&server, "ecr", "acct"));
    let dir = tempfile::tempdir().unwrap();
    let kv: Arc<dyn kagi_store::Kv> =
        Arc::new(kagi_store::sqlite::SqliteStore::open(&dir.path().join("k.db")).unwrap());
    let s = Arc::new(Store::new(kv, "123456789012", blobs.clone()));
    let r = s
        .create_repo(&NewRepo {
            region: "us-east-1",
            name: "web",
            mutability: "MUTABLE",
            scan_on_push: false,
            encryption_type: "AES256",
            kms_key: None,
            tags: &[],
        })
        .unwrap()
        .unwrap();
    // A layer of three chunks (PATCH, PATCH, PUT), larger than one S3 part.
    let layer: Vec<u8> = (0..(11u32 << 20)).map(|i| (i % 253) as u8).collect();
    let id = s.new_upload(r.id).unwrap();
    let mut at = 0u64;
    for part in [
        &layer[..3 << 20],
        &layer[3 << 20..10 << 20],
        &layer[10 << 20..],
    ] {
        at = s
            .append(
                r.id,
                &id,
                Some(at),
                Source::Bytes(bytes::Bytes::copy_from_slice(part)),
            )
            .await
            .unwrap();
    }
    let digest = sha256_digest(&layer);
    s.finish(r.id, &id, &digest).await.unwrap();
    let (size, object) = s.blob_object(r.id, &digest).unwrap().unwrap();
    assert_eq!(size, layer.len() as u64);
    let mut back = Vec::new();
    std::io::Read::read_to_end(&mut s.read_object(&object, 0, size).unwrap(), &mut back).unwrap();
    assert!(back == layer, "the layer reads back whole");
    // The chunks went; one object holds the layer.
    assert_eq!(blobs.list().unwrap().len(), 1);
    assert!(s.check().unwrap().is_empty(), "{:?}", s.check().unwrap());
    // Unlinked and collected: the bucket is empty again.
    s.unlink_blob(r.id, &digest).unwrap();
    assert!(blobs.list().unwrap().is_empty());
}
