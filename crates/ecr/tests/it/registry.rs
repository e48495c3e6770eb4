//! The registry v2 endpoints over HTTP, including every error code.
use crate::common::*;
use kagi_ecr::client::{Blob, Progress, generate_image};
use kagi_ecr::util::sha256_digest;
use serde_json::json;
use std::time::{Duration, SystemTime};

#[test]
fn base_challenge_and_authentication() {
    let s = TestServer::start();
    let r = s.reg("GET", "/v2/", None, &[], b"");
    r.assert_error(401, "UNAUTHORIZED");
    assert_eq!(
        r.header("www-authenticate").unwrap(),
        format!(
            "Basic realm=\"http://{}/\",service=\"ecr.amazonaws.com\"",
            s.addr
        )
    );
    assert_eq!(
        r.header("docker-distribution-api-version"),
        Some("registry/2.0")
    );
    // wrong user, garbage password, a forged password
    for auth in [
        format!("Basic {}", b64("bob:x")),
        format!("Basic {}", b64("AWS:garbage")),
        "Bearer x".to_string(),
    ] {
        s.reg("GET", "/v2/", Some(&auth), &[], b"")
            .assert_error(401, "UNAUTHORIZED");
    }
    let basic = s.basic(PUSHER);
    let r = s.reg("GET", "/v2/", Some(&basic), &[], b"");
    assert_eq!((r.status, r.json()), (200, json!({})));
    assert_eq!(
        r.header("docker-distribution-api-version"),
        Some("registry/2.0")
    );
    // a protected route without credentials is challenged too
    let r = s.reg("GET", "/v2/test-repos/tags/list", None, &[], b"");
    r.assert_error(401, "UNAUTHORIZED");
    assert!(r.header("www-authenticate").is_some());
    // the session ends: the token stops working
    s.host
        .set_expiry(PUSHER, SystemTime::now() - Duration::from_secs(1));
    s.reg("GET", "/v2/", Some(&basic), &[], b"")
        .assert_error(401, "UNAUTHORIZED");
    // a deleted key
    let reader = s.basic(READER);
    assert_eq!(s.reg("GET", "/v2/", Some(&reader), &[], b"").status, 200);
    s.host.remove(READER);
    s.reg("GET", "/v2/", Some(&reader), &[], b"")
        .assert_error(401, "UNAUTHORIZED");
}

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn push_pull_with_client_and_blob_reads() {
    let s = TestServer::start();
    s.create_repo("test-repos");
    let img = generate_image(9, 3, 20_000);
    let c = s.client(PUSHER).with_chunk_size(7000);
    let mut events = vec![];
    let d = c
        .push("test-repos", "v1", &img, &mut |p| events.push(p))
        .unwrap();
    assert_eq!(d, img.manifest_digest);
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Progress::BlobUploaded { .. }))
            .count(),
        4
    );
    // again: every blob exists
    let mut again = vec![];
    c.push("test-repos", "v1", &img, &mut |p| again.push(p))
        .unwrap();
    assert_eq!(
        again
            .iter()
            .filter(|e| matches!(e, Progress::BlobExists { .. }))
            .count(),
        4
    );
    let pulled = c.pull("test-repos", "v1", &mut |_| {}).unwrap();
    assert_eq!(pulled, img);
    assert_eq!(
        c.pull("test-repos", &img.manifest_digest, &mut |_| {})
            .unwrap(),
        img
    );

    let auth = s.basic(PUSHER);
    let layer = &img.layers[0];
    let path = format!("/v2/test-repos/blobs/{}", layer.digest);
    let h = s.reg("HEAD", &path, Some(&auth), &[], b"");
    assert_eq!(h.status, 200);
    assert_eq!(
        h.header("content-length"),
        Some(layer.data.len().to_string().as_str())
    );
    assert_eq!(
        h.header("docker-content-digest"),
        Some(layer.digest.as_str())
    );
    assert!(h.body.is_empty());
    let g = s.reg("GET", &path, Some(&auth), &[], b"");
    assert_eq!((g.status, &g.body), (200, &layer.data));
    let part = s.reg("GET", &path, Some(&auth), &[("range", "bytes=10-19")], b"");
    assert_eq!(part.status, 206);
    assert_eq!(part.body, layer.data[10..20]);
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 10-19/{}", layer.data.len()).as_str())
    );
    let tail = s.reg("GET", &path, Some(&auth), &[("range", "bytes=-5")], b"");
    assert_eq!(tail.body, layer.data[layer.data.len() - 5..]);
    let bad = s.reg(
        "GET",
        &path,
        Some(&auth),
        &[("range", &format!("bytes={}-", layer.data.len()))],
        b"",
    );
    assert_eq!(bad.status, 416);
    let missing = format!("/v2/test-repos/blobs/{}", sha256_digest(b"nope"));
    s.reg("HEAD", &missing, Some(&auth), &[], b"")
        .status
        .eq(&404)
        .then_some(())
        .unwrap();
    s.reg("GET", &missing, Some(&auth), &[], b"")
        .assert_error(404, "BLOB_UNKNOWN");
    s.reg(
        "GET",
        "/v2/not-there/blobs/sha256:00",
        Some(&s.basic(ROOT)),
        &[],
        b"",
    )
    .assert_error(404, "NAME_UNKNOWN");
    s.reg(
        "GET",
        "/v2/Bad..Name/tags/list",
        Some(&s.basic(ROOT)),
        &[],
        b"",
    )
    .assert_error(400, "NAME_INVALID");

    // manifests
    let m = s.reg("GET", "/v2/test-repos/manifests/v1", Some(&auth), &[], b"");
    assert_eq!(m.status, 200);
    assert_eq!(m.body, img.manifest);
    assert_eq!(
        m.header("content-type"),
        Some("application/vnd.oci.image.manifest.v1+json")
    );
    assert_eq!(
        m.header("docker-content-digest"),
        Some(img.manifest_digest.as_str())
    );
    let mh = s.reg(
        "HEAD",
        &format!("/v2/test-repos/manifests/{}", img.manifest_digest),
        Some(&auth),
        &[],
        b"",
    );
    assert_eq!(mh.status, 200);
    assert_eq!(
        mh.header("content-length"),
        Some(img.manifest.len().to_string().as_str())
    );
    s.reg(
        "GET",
        "/v2/test-repos/manifests/nope",
        Some(&auth),
        &[],
        b"",
    )
    .assert_error(404, "MANIFEST_UNKNOWN");
}

#[test]
fn upload_sessions_chunked_resumable_cancel_monolithic() {
    let s = TestServer::start();
    s.create_repo("test-repos");
    let auth = s.basic(PUSHER);
    let data = b"0123456789abcdefghij".to_vec();
    let digest = sha256_digest(&data);
    let r = s.reg(
        "POST",
        "/v2/test-repos/blobs/uploads/",
        Some(&auth),
        &[],
        b"",
    );
    assert_eq!(r.status, 202);
    let loc = r.header("location").unwrap().to_string();
    assert!(loc.starts_with("/v2/test-repos/blobs/uploads/"), "{loc}");
    assert!(r.header("docker-upload-uuid").is_some());
    let p = s.reg(
        "PATCH",
        &loc,
        Some(&auth),
        &[
            ("content-range", "0-9"),
            ("content-type", "application/octet-stream"),
        ],
        &data[..10],
    );
    assert_eq!(p.status, 202);
    assert_eq!(p.header("range"), Some("0-9"));
    // resumable: status reports the offset
    let st = s.reg("GET", &loc, Some(&auth), &[], b"");
    assert_eq!((st.status, st.header("range")), (204, Some("0-9")));
    // out of order
    s.reg(
        "PATCH",
        &loc,
        Some(&auth),
        &[("content-range", "15-19")],
        &data[15..],
    )
    .assert_error(416, "RANGE_INVALID");
    // streamed chunk without Content-Range continues at the offset
    let p = s.reg("PATCH", &loc, Some(&auth), &[], &data[10..15]);
    assert_eq!(p.header("range"), Some("0-14"));
    // finish with the last bytes in the PUT body; wrong digest first
    let bad = s.reg(
        "PUT",
        &format!("{loc}?digest={}", sha256_digest(b"x")),
        Some(&auth),
        &[],
        &data[15..],
    );
    bad.assert_error(400, "DIGEST_INVALID");
    s.reg("GET", &loc, Some(&auth), &[], b"")
        .assert_error(404, "BLOB_UPLOAD_UNKNOWN");
    // redo properly
    let loc = s
        .reg(
            "POST",
            "/v2/test-repos/blobs/uploads/",
            Some(&auth),
            &[],
            b"",
        )
        .header("location")
        .unwrap()
        .to_string();
    s.reg(
        "PATCH",
        &loc,
        Some(&auth),
        &[("content-range", "0-14")],
        &data[..15],
    );
    s.reg(
        "PUT",
        &format!("{loc}?digest=sha512:00"),
        Some(&auth),
        &[],
        b"",
    )
    .assert_error(400, "DIGEST_INVALID");
    s.reg("PUT", &loc, Some(&auth), &[], b"")
        .assert_error(400, "DIGEST_INVALID");
    let done = s.reg(
        "PUT",
        &format!("{loc}?digest={digest}"),
        Some(&auth),
        &[],
        &data[15..],
    );
    assert_eq!(
        done.status,
        201,
        "{:?}",
        String::from_utf8_lossy(&done.body)
    );
    assert_eq!(
        done.header("location"),
        Some(format!("/v2/test-repos/blobs/{digest}").as_str())
    );
    assert_eq!(done.header("docker-content-digest"), Some(digest.as_str()));
    assert_eq!(
        s.reg(
            "GET",
            &format!("/v2/test-repos/blobs/{digest}"),
            Some(&auth),
            &[],
            b""
        )
        .body,
        data
    );
    // cancel
    let loc = s
        .reg(
            "POST",
            "/v2/test-repos/blobs/uploads/",
            Some(&auth),
            &[],
            b"",
        )
        .header("location")
        .unwrap()
        .to_string();
    assert_eq!(s.reg("DELETE", &loc, Some(&auth), &[], b"").status, 204);
    s.reg("PATCH", &loc, Some(&auth), &[], b"abc")
        .assert_error(404, "BLOB_UPLOAD_UNKNOWN");
    s.reg(
        "PATCH",
        "/v2/test-repos/blobs/uploads/not-a-uuid",
        Some(&auth),
        &[],
        b"abc",
    )
    .assert_error(404, "BLOB_UPLOAD_UNKNOWN");
    // monolithic
    let mono = b"monolithic blob".to_vec();
    let md = sha256_digest(&mono);
    let r = s.reg(
        "POST",
        &format!("/v2/test-repos/blobs/uploads/?digest={md}"),
        Some(&auth),
        &[("content-type", "application/octet-stream")],
        &mono,
    );
    assert_eq!(r.status, 201);
    assert_eq!(r.header("docker-content-digest"), Some(md.as_str()));
    s.reg(
        "POST",
        &format!(
            "/v2/test-repos/blobs/uploads/?digest={}",
            sha256_digest(b"other")
        ),
        Some(&auth),
        &[],
        &mono,
    )
    .assert_error(400, "DIGEST_INVALID");
    // no abandoned upload files remain after GC
    s.ecr.gc(Duration::ZERO).unwrap();
    let uploads: Vec<_> = match std::fs::read_dir(s.data.join("blobs/uploads")) {
        Ok(d) => d.collect(),
        Err(_) => Vec::new(),
    };
    assert!(uploads.is_empty(), "{uploads:?}");
}

fn manifest_for(config: &Blob, layers: &[&Blob], media_type: &str, layer_type: &str) -> Vec<u8> {
    json!({"schemaVersion":2,"mediaType":media_type,
        "config":{"mediaType":config.media_type,"digest":config.digest,"size":config.data.len()},
        "layers":layers.iter().map(|l| json!({"mediaType":layer_type,"digest":l.digest,"size":l.data.len()})).collect::<Vec<_>>()})
    .to_string()
    .into_bytes()
}

#[test]
fn manifests_all_types_errors_tags_and_delete() {
    let s = TestServer::start();
    s.create_repo("test-repos");
    let root = s.basic(ROOT);
    let c = s.client(ROOT);
    let a = generate_image(1, 2, 100);
    let b = generate_image(2, 1, 100);
    for blob in a.blobs().chain(b.blobs()) {
        c.push_blob("test-repos", blob).unwrap();
    }
    let put = |reference: &str, ct: &str, body: &[u8]| {
        s.reg(
            "PUT",
            &format!("/v2/test-repos/manifests/{reference}"),
            Some(&root),
            &[("content-type", ct)],
            body,
        )
    };
    // Docker schema 2
    let docker = manifest_for(
        &Blob::new(
            "application/vnd.docker.container.image.v1+json",
            a.config.data.clone(),
        ),
        &[&a.layers[0], &a.layers[1]],
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
    );
    let r = put(
        "docker",
        "application/vnd.docker.distribution.manifest.v2+json",
        &docker,
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let dd = sha256_digest(&docker);
    assert_eq!(r.header("docker-content-digest"), Some(dd.as_str()));
    assert_eq!(
        r.header("location"),
        Some(format!("/v2/test-repos/manifests/{dd}").as_str())
    );
    let g = s.reg(
        "GET",
        "/v2/test-repos/manifests/docker",
        Some(&root),
        &[],
        b"",
    );
    assert_eq!(
        g.header("content-type"),
        Some("application/vnd.docker.distribution.manifest.v2+json")
    );
    // OCI by digest, and a wrong digest
    let r = put(
        &a.manifest_digest,
        "application/vnd.oci.image.manifest.v1+json",
        &a.manifest,
    );
    assert_eq!(r.status, 201);
    put(
        &b.manifest_digest,
        "application/vnd.oci.image.manifest.v1+json",
        &a.manifest,
    )
    .assert_error(400, "DIGEST_INVALID");
    put(
        "b",
        "application/vnd.oci.image.manifest.v1+json",
        &b.manifest,
    );
    // OCI index and Docker manifest list over both
    let index = |mt: &str, child: &str| {
        json!({"schemaVersion":2,"mediaType":mt,"manifests":[
            {"mediaType":child,"digest":a.manifest_digest,"size":a.manifest.len(),"platform":{"architecture":"amd64","os":"linux"}},
            {"mediaType":child,"digest":b.manifest_digest,"size":b.manifest.len(),"platform":{"architecture":"arm64","os":"linux"}}]})
        .to_string()
        .into_bytes()
    };
    let oci_index = index(
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
    );
    assert_eq!(
        put(
            "multi",
            "application/vnd.oci.image.index.v1+json",
            &oci_index
        )
        .status,
        201
    );
    let list = index(
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
    );
    assert_eq!(
        put(
            "list",
            "application/vnd.docker.distribution.manifest.list.v2+json",
            &list
        )
        .status,
        201
    );
    let g = s.reg(
        "GET",
        "/v2/test-repos/manifests/multi",
        Some(&root),
        &[],
        b"",
    );
    assert_eq!(
        (g.status, g.header("content-type")),
        (200, Some("application/vnd.oci.image.index.v1+json"))
    );
    // an index over a manifest the repository does not have
    let orphan = json!({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
        {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":sha256_digest(b"missing"),"size":3}]})
    .to_string();
    put(
        "orphan",
        "application/vnd.oci.image.index.v1+json",
        orphan.as_bytes(),
    )
    .assert_error(400, "MANIFEST_BLOB_UNKNOWN");
    // a child of an index cannot be deleted from under it
    let r = s.reg(
        "DELETE",
        &format!("/v2/test-repos/manifests/{}", b.manifest_digest),
        Some(&root),
        &[],
        b"",
    );
    assert_eq!(r.status, 409);
    // invalid manifests
    put(
        "x",
        "application/vnd.oci.image.manifest.v1+json",
        b"{not json",
    )
    .assert_error(400, "MANIFEST_INVALID");
    put(
        "x",
        "application/vnd.docker.distribution.manifest.v2+json",
        &a.manifest,
    )
    .assert_error(400, "MANIFEST_INVALID");
    put(
        "x",
        "application/json",
        br#"{"schemaVersion":1,"name":"x"}"#,
    )
    .assert_error(400, "MANIFEST_INVALID");
    let missing = generate_image(77, 1, 10);
    let r = put(
        "x",
        "application/vnd.oci.image.manifest.v1+json",
        &missing.manifest,
    );
    r.assert_error(400, "MANIFEST_BLOB_UNKNOWN");
    assert!(
        r.json()["errors"][0]["detail"]["digests"]
            .as_array()
            .unwrap()
            .len()
            == 2
    );
    put(
        "bad/tag",
        "application/vnd.oci.image.manifest.v1+json",
        &a.manifest,
    )
    .assert_error(404, "NAME_UNKNOWN");
    put(
        ".bad",
        "application/vnd.oci.image.manifest.v1+json",
        &a.manifest,
    )
    .assert_error(400, "TAG_INVALID");
    // tag immutability
    s.ok(
        ROOT,
        "PutImageTagMutability",
        json!({"repositoryName":"test-repos","imageTagMutability":"IMMUTABLE"}),
    );
    let r = put(
        "b",
        "application/vnd.oci.image.manifest.v1+json",
        &a.manifest,
    );
    r.assert_error(400, "TAG_INVALID");
    assert!(
        r.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("'b'")
    );
    assert_eq!(
        put(
            "b",
            "application/vnd.oci.image.manifest.v1+json",
            &b.manifest
        )
        .status,
        201,
        "same digest is fine"
    );
    s.ok(
        ROOT,
        "PutImageTagMutability",
        json!({"repositoryName":"test-repos","imageTagMutability":"MUTABLE"}),
    );
    // tags/list with n/last and Link
    for t in ["t1", "t2", "t3"] {
        put(t, "application/vnd.oci.image.manifest.v1+json", &a.manifest);
    }
    let l = s.reg("GET", "/v2/test-repos/tags/list", Some(&root), &[], b"");
    assert_eq!(
        l.json(),
        json!({"name":"test-repos","tags":["b","docker","list","multi","t1","t2","t3"]})
    );
    let l = s.reg(
        "GET",
        "/v2/test-repos/tags/list?n=2&last=list",
        Some(&root),
        &[],
        b"",
    );
    assert_eq!(l.json()["tags"], json!(["multi", "t1"]));
    assert_eq!(
        l.header("link"),
        Some("</v2/test-repos/tags/list?n=2&last=t1>; rel=\"next\"")
    );
    let l = s.reg(
        "GET",
        "/v2/test-repos/tags/list?n=2&last=t1",
        Some(&root),
        &[],
        b"",
    );
    assert_eq!(l.json()["tags"], json!(["t2", "t3"]));
    assert_eq!(l.header("link"), None);
    // delete by tag removes the tag only; by digest removes the image
    assert_eq!(
        s.reg(
            "DELETE",
            "/v2/test-repos/manifests/t3",
            Some(&root),
            &[],
            b""
        )
        .status,
        202
    );
    s.reg("GET", "/v2/test-repos/manifests/t3", Some(&root), &[], b"")
        .assert_error(404, "MANIFEST_UNKNOWN");
    assert_eq!(
        s.reg("GET", "/v2/test-repos/manifests/t2", Some(&root), &[], b"")
            .status,
        200
    );
    assert_eq!(
        s.reg(
            "DELETE",
            &format!("/v2/test-repos/manifests/{dd}"),
            Some(&root),
            &[],
            b""
        )
        .status,
        202
    );
    s.reg(
        "GET",
        "/v2/test-repos/manifests/docker",
        Some(&root),
        &[],
        b"",
    )
    .assert_error(404, "MANIFEST_UNKNOWN");
    s.reg(
        "DELETE",
        &format!("/v2/test-repos/manifests/{dd}"),
        Some(&root),
        &[],
        b"",
    )
    .assert_error(404, "MANIFEST_UNKNOWN");
    // blob delete: refused while referenced, allowed otherwise
    let lone = b"lone blob".to_vec();
    c.push_blob(
        "test-repos",
        &Blob::new("application/octet-stream", lone.clone()),
    )
    .unwrap();
    let ld = sha256_digest(&lone);
    assert_eq!(
        s.reg(
            "DELETE",
            &format!("/v2/test-repos/blobs/{}", a.layers[0].digest),
            Some(&root),
            &[],
            b""
        )
        .status,
        405
    );
    assert_eq!(
        s.reg(
            "DELETE",
            &format!("/v2/test-repos/blobs/{ld}"),
            Some(&root),
            &[],
            b""
        )
        .status,
        202
    );
    s.reg(
        "GET",
        &format!("/v2/test-repos/blobs/{ld}"),
        Some(&root),
        &[],
        b"",
    )
    .assert_error(404, "BLOB_UNKNOWN");
}

#[test]
fn least_privilege_denials_mount_and_catalog() {
    let s = TestServer::start();
    for n in ["test-repos", "other", "source"] {
        s.create_repo(n);
    }
    let img = generate_image(3, 2, 1000);
    s.client(ROOT)
        .push("source", "v1", &img, &mut |_| {})
        .unwrap();
    let push = s.basic(PUSHER);
    // the role may not push elsewhere
    let r = s.reg("POST", "/v2/other/blobs/uploads/", Some(&push), &[], b"");
    r.assert_error(403, "DENIED");
    let msg = r.json()["errors"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("assumed-role/ECRLoginAndPushRole") && msg.contains("ecr:InitiateLayerUpload"),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("arn:aws:ecr:{REGION}:{ACCT}:repository/other")),
        "{msg}"
    );
    let e = s
        .client(PUSHER)
        .push("other", "v1", &img, &mut |_| {})
        .unwrap_err();
    assert_eq!(e.code.as_deref(), Some("DENIED"));
    s.reg("GET", "/v2/other/tags/list", Some(&push), &[], b"")
        .assert_error(403, "DENIED");
    // a denied HEAD looks like an unknown blob (see the registry module docs); GET is DENIED
    let layer = format!("/v2/source/blobs/{}", img.layers[0].digest);
    assert_eq!(s.reg("HEAD", &layer, Some(&push), &[], b"").status, 404);
    s.reg("GET", &layer, Some(&push), &[], b"")
        .assert_error(403, "DENIED");
    s.reg("GET", "/v2/source/manifests/v1", Some(&push), &[], b"")
        .assert_error(403, "DENIED");
    // denial before existence
    s.reg(
        "GET",
        "/v2/does-not-exist/manifests/v1",
        Some(&push),
        &[],
        b"",
    )
    .assert_error(403, "DENIED");
    // mount: the role cannot read `source`, so the mount falls back to an upload session
    let d = &img.layers[0].digest;
    let r = s.reg(
        "POST",
        &format!("/v2/test-repos/blobs/uploads/?mount={d}&from=source"),
        Some(&push),
        &[],
        b"",
    );
    assert_eq!(r.status, 202);
    // root can: 201 and the blob is in the target
    let root = s.basic(ROOT);
    let r = s.reg(
        "POST",
        &format!("/v2/test-repos/blobs/uploads/?mount={d}&from=source"),
        Some(&root),
        &[],
        b"",
    );
    assert_eq!(r.status, 201);
    assert_eq!(
        r.header("location"),
        Some(format!("/v2/test-repos/blobs/{d}").as_str())
    );
    assert_eq!(
        s.reg(
            "HEAD",
            &format!("/v2/test-repos/blobs/{d}"),
            Some(&push),
            &[],
            b""
        )
        .status,
        200
    );
    // the role's own push works, and pulls back
    let mine = generate_image(4, 2, 1000);
    s.client(PUSHER)
        .push("test-repos", "latest", &mine, &mut |_| {})
        .unwrap();
    assert_eq!(
        s.client(PUSHER)
            .pull("test-repos", "latest", &mut |_| {})
            .unwrap(),
        mine
    );
    // the role cannot list tags (ListImages is not in its policy), the reader can
    s.reg("GET", "/v2/test-repos/tags/list", Some(&push), &[], b"")
        .assert_error(403, "DENIED");
    let reader = s.basic(READER);
    assert_eq!(
        s.reg("GET", "/v2/test-repos/tags/list", Some(&reader), &[], b"")
            .json()["tags"],
        json!(["latest"])
    );
    s.reg(
        "PUT",
        "/v2/test-repos/manifests/x",
        Some(&reader),
        &[("content-type", "application/vnd.oci.image.manifest.v1+json")],
        &mine.manifest,
    )
    .assert_error(403, "DENIED");
    // catalog lists what the caller may describe
    let cat = s.reg("GET", "/v2/_catalog", Some(&reader), &[], b"");
    assert_eq!(
        cat.json()["repositories"],
        json!(["other", "source", "test-repos"])
    );
    let cat = s.reg("GET", "/v2/_catalog?n=1", Some(&reader), &[], b"");
    assert_eq!(cat.json()["repositories"], json!(["other"]));
    assert!(cat.header("link").is_some());
    assert_eq!(
        s.reg("GET", "/v2/_catalog", Some(&push), &[], b"").json()["repositories"],
        json!([])
    );
}

#[test]
fn demo_facade_push_pull_and_denied() {
    let s = TestServer::start();
    s.create_repo("test-repos");
    s.create_repo("other");
    let reg = kagi_ecr::client::Registry::new(&s.addr.to_string(), "AWS", &s.password(PUSHER));
    let image = kagi_ecr::client::demo_image();
    let mut last = (0, 0);
    let d = reg
        .push("test-repos", "v1", &image, &mut |done, total| {
            last = (done, total)
        })
        .unwrap();
    assert_eq!(d, image.manifest_digest());
    assert_eq!(last, (image.total_size(), image.total_size()));
    assert_eq!(
        reg.pull("test-repos", "v1").unwrap().manifest_digest(),
        image.manifest_digest()
    );
    let e = format!(
        "{:#}",
        reg.push("other", "v1", &image, &mut |_, _| {}).unwrap_err()
    );
    assert!(
        e.contains("not authorized") && e.contains("ecr:InitiateLayerUpload"),
        "{e}"
    );
}

#[test]
fn killed_client_leaves_a_resumable_upload_and_no_blob() {
    use std::io::Write as _;
    let s = TestServer::start();
    s.create_repo("test-repos");
    let auth = s.basic(PUSHER);
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    let digest = sha256_digest(&data);
    let loc = s
        .reg(
            "POST",
            "/v2/test-repos/blobs/uploads/",
            Some(&auth),
            &[],
            b"",
        )
        .header("location")
        .unwrap()
        .to_string();
    // a client that announces 100000 bytes, sends 4000 and dies
    {
        let mut tcp = std::net::TcpStream::connect(s.addr).unwrap();
        write!(tcp, "PATCH {loc} HTTP/1.1\r\nHost: {}\r\nAuthorization: {auth}\r\nContent-Length: {}\r\n\r\n", s.addr, data.len()).unwrap();
        tcp.write_all(&data[..4000]).unwrap();
        tcp.flush().unwrap();
    }
    // nothing is visible under the digest
    s.reg(
        "GET",
        &format!("/v2/test-repos/blobs/{digest}"),
        Some(&auth),
        &[],
        b"",
    )
    .assert_error(404, "BLOB_UNKNOWN");
    // wait until the server has seen the disconnect (the upload is no longer busy)
    let mut offset = String::new();
    for _ in 0..200 {
        let st = s.reg("GET", &loc, Some(&auth), &[], b"");
        offset = st.header("range").unwrap_or("").to_string();
        if offset == "0-3999" {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert_eq!(
        offset, "0-3999",
        "the bytes received before the disconnect are kept"
    );
    // resume where it stopped and finish: the blob is exactly the data. The bytes can be
    // counted before the dying request's handler has let go of the upload; until it has, a
    // resume is refused as "in use" (nothing written), and a client retries, as this one does.
    let mut r = None;
    for _ in 0..200 {
        let attempt = s.reg(
            "PATCH",
            &loc,
            Some(&auth),
            &[("content-range", &format!("4000-{}", data.len() - 1))],
            &data[4000..],
        );
        let in_use =
            attempt.status == 416 && String::from_utf8_lossy(&attempt.body).contains("in use");
        r = Some(attempt);
        if !in_use {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let r = r.unwrap();
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let r = s.reg(
        "PUT",
        &format!("{loc}?digest={digest}"),
        Some(&auth),
        &[],
        b"",
    );
    assert_eq!(r.status, 201);
    assert_eq!(
        s.reg(
            "GET",
            &format!("/v2/test-repos/blobs/{digest}"),
            Some(&auth),
            &[],
            b""
        )
        .body,
        data
    );
}
