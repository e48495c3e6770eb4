//! The ECR JSON 1.1 API, operation by operation, including the error cases.
use crate::common::*;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kagi_ecr::client::{Blob, Image, generate_image};
use kagi_ecr::util::sha256_digest;
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn epoch(v: &Value) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("timestamp as epoch seconds on the wire: {v}"))
}

#[test]
fn repositories_create_describe_paginate_delete() {
    let s = TestServer::start();
    let v = s.ok(
        ROOT,
        "CreateRepository",
        json!({"repositoryName":"team/app","imageTagMutability":"IMMUTABLE","imageScanningConfiguration":{"scanOnPush":true},
               "encryptionConfiguration":{"encryptionType":"KMS"},"tags":[{"Key":"env","Value":"dev"}]}),
    );
    let r = &v["repository"];
    assert_eq!(
        r["repositoryArn"],
        format!("arn:aws:ecr:{REGION}:{ACCT}:repository/team/app")
    );
    assert_eq!(r["registryId"], ACCT);
    assert_eq!(r["repositoryUri"], format!("{}/team/app", s.addr));
    assert_eq!(r["imageTagMutability"], "IMMUTABLE");
    assert_eq!(r["imageScanningConfiguration"]["scanOnPush"], true);
    assert_eq!(r["encryptionConfiguration"]["encryptionType"], "KMS");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((epoch(&r["createdAt"]) - now).abs() < 60.0);
    let msg = s.fails(
        ROOT,
        "CreateRepository",
        json!({"repositoryName":"team/app"}),
        "RepositoryAlreadyExistsException",
    );
    assert!(msg.contains("team/app") && msg.contains(ACCT), "{msg}");
    // the model's pattern rejects bad names before anything else
    let (st, e) = s.api(
        ROOT,
        "CreateRepository",
        json!({"repositoryName":"Bad_Name"}),
    );
    assert_eq!(st, 400);
    assert!(
        matches!(
            e["__type"].as_str(),
            Some("ValidationException" | "InvalidParameterException")
        ),
        "{e}"
    );
    s.fails(ROOT, "CreateRepository", json!({"repositoryName":"x1","encryptionConfiguration":{"encryptionType":"AES256","kmsKey":"k"}}), "InvalidParameterException");
    for n in ["b-repo", "c-repo"] {
        s.create_repo(n);
    }
    // default settings
    let d = s.ok(
        ROOT,
        "DescribeRepositories",
        json!({"repositoryNames":["b-repo"]}),
    );
    assert_eq!(d["repositories"][0]["imageTagMutability"], "MUTABLE");
    assert_eq!(
        d["repositories"][0]["encryptionConfiguration"]["encryptionType"],
        "AES256"
    );
    // pagination walks all repositories, one per page
    let mut names = vec![];
    let mut token: Option<String> = None;
    loop {
        let mut input = json!({"maxResults":1});
        if let Some(t) = &token {
            input["nextToken"] = json!(t);
        }
        let page = s.ok(ROOT, "DescribeRepositories", input);
        assert_eq!(page["repositories"].as_array().unwrap().len(), 1);
        names.push(
            page["repositories"][0]["repositoryName"]
                .as_str()
                .unwrap()
                .to_string(),
        );
        match page["nextToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!(names, ["b-repo", "c-repo", "team/app"]);
    s.fails(
        ROOT,
        "DescribeRepositories",
        json!({"repositoryNames":["nope"]}),
        "RepositoryNotFoundException",
    );
    // a non-empty repository needs force
    let img = generate_image(1, 1, 100);
    s.client(ROOT)
        .push("b-repo", "v1", &img, &mut |_| {})
        .unwrap();
    let m = s.fails(
        ROOT,
        "DeleteRepository",
        json!({"repositoryName":"b-repo"}),
        "RepositoryNotEmptyException",
    );
    assert!(m.contains("b-repo"), "{m}");
    let del = s.ok(
        ROOT,
        "DeleteRepository",
        json!({"repositoryName":"b-repo","force":true}),
    );
    assert_eq!(del["repository"]["repositoryName"], "b-repo");
    s.fails(
        ROOT,
        "DeleteRepository",
        json!({"repositoryName":"b-repo"}),
        "RepositoryNotFoundException",
    );
    // its blobs are gone from disk
    let blobs: Vec<_> = walk(&s.data.join("blobs"))
        .into_iter()
        .filter(|p| !p.starts_with(s.data.join("blobs/tmp")))
        .collect();
    assert!(blobs.is_empty(), "{blobs:?}");
}

fn walk(p: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(p).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

#[test]
fn authorization_token_and_denials() {
    let s = TestServer::start();
    s.create_repo("test-repos");
    s.create_repo("other");
    let v = s.ok(PUSHER, "GetAuthorizationToken", json!({}));
    let a = &v["authorizationData"][0];
    assert_eq!(a["proxyEndpoint"], format!("http://{}", s.addr));
    let raw = String::from_utf8(
        STANDARD
            .decode(a["authorizationToken"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert!(raw.starts_with("AWS:") && raw.len() > 40);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let exp = epoch(&a["expiresAt"]);
    assert!((exp - (now + 12.0 * 3600.0)).abs() < 60.0, "{exp} vs {now}");
    // never beyond the session
    let session_end = SystemTime::now() + Duration::from_secs(900);
    s.host.set_expiry(PUSHER, session_end);
    let v = s.ok(PUSHER, "GetAuthorizationToken", json!({}));
    let exp = epoch(&v["authorizationData"][0]["expiresAt"]);
    assert!(
        exp <= session_end
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
            && exp > now + 800.0,
        "{exp}"
    );
    // the bare user may not log in
    let m = s.fails(
        USER,
        "GetAuthorizationToken",
        json!({}),
        "AccessDeniedException",
    );
    assert!(
        m.contains("user/user-for-switch")
            && m.contains("ecr:GetAuthorizationToken")
            && m.contains("resource: *"),
        "{m}"
    );
    // the role may push to test-repos only
    s.ok(
        PUSHER,
        "InitiateLayerUpload",
        json!({"repositoryName":"test-repos"}),
    );
    let m = s.fails(
        PUSHER,
        "InitiateLayerUpload",
        json!({"repositoryName":"other"}),
        "AccessDeniedException",
    );
    assert!(
        m.contains("ecr:InitiateLayerUpload")
            && m.contains(&format!("arn:aws:ecr:{REGION}:{ACCT}:repository/other")),
        "{m}"
    );
    // denial comes before existence: no probing
    s.fails(
        PUSHER,
        "DescribeRepositories",
        json!({"repositoryNames":["missing"]}),
        "AccessDeniedException",
    );
    s.fails(
        PUSHER,
        "CreateRepository",
        json!({"repositoryName":"mine"}),
        "AccessDeniedException",
    );
    let (st, e) = s.api(ROOT, "NoSuchOperation", json!({}));
    assert_eq!(
        (st, e["__type"].as_str()),
        (400, Some("UnknownOperationException"))
    );
}

#[test]
fn layer_upload_api_and_download_url() {
    let s = TestServer::start();
    s.create_repo("test-repos");
    let data: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    let digest = sha256_digest(&data);
    let up = s.ok(
        PUSHER,
        "InitiateLayerUpload",
        json!({"repositoryName":"test-repos"}),
    );
    let id = up["uploadId"].as_str().unwrap().to_string();
    assert_eq!(up["partSize"], 20 * 1024 * 1024);
    let part = |first: usize, last: usize| {
        json!({"repositoryName":"test-repos","uploadId":id,"partFirstByte":first,"partLastByte":last,
               "layerPartBlob":STANDARD.encode(&data[first..=last])})
    };
    let r = s.ok(PUSHER, "UploadLayerPart", part(0, 999));
    assert_eq!(r["lastByteReceived"], 999);
    // out of order
    s.fails(
        PUSHER,
        "UploadLayerPart",
        part(2000, 2999),
        "InvalidLayerPartException",
    );
    // size does not match first/last
    let mut bad = part(1000, 1999);
    bad["partLastByte"] = json!(1500);
    s.fails(PUSHER, "UploadLayerPart", bad, "InvalidLayerPartException");
    assert_eq!(
        s.ok(PUSHER, "UploadLayerPart", part(1000, 2999))["lastByteReceived"],
        2999
    );
    // a 1000-byte part followed by another: too small, as ECR says
    s.fails(
        PUSHER,
        "CompleteLayerUpload",
        json!({"repositoryName":"test-repos","uploadId":id,"layerDigests":[digest]}),
        "LayerPartTooSmallException",
    );
    // 5 MiB + a tail is fine; a wrong digest is rejected and the upload is gone
    let big: Vec<u8> = (0..(5 << 20) + 100u32).map(|i| (i % 241) as u8).collect();
    let id = s.ok(
        PUSHER,
        "InitiateLayerUpload",
        json!({"repositoryName":"test-repos"}),
    )["uploadId"]
        .as_str()
        .unwrap()
        .to_string();
    let big_part = |first: usize, last: usize| {
        json!({"repositoryName":"test-repos","uploadId":id,"partFirstByte":first,"partLastByte":last,
               "layerPartBlob":STANDARD.encode(&big[first..=last])})
    };
    s.ok(PUSHER, "UploadLayerPart", big_part(0, (5 << 20) - 1));
    s.ok(PUSHER, "UploadLayerPart", big_part(5 << 20, big.len() - 1));
    let wrong = sha256_digest(b"other");
    s.fails(
        PUSHER,
        "CompleteLayerUpload",
        json!({"repositoryName":"test-repos","uploadId":id,"layerDigests":[wrong]}),
        "InvalidLayerException",
    );
    s.fails(
        PUSHER,
        "CompleteLayerUpload",
        json!({"repositoryName":"test-repos","uploadId":id,"layerDigests":[sha256_digest(&big)]}),
        "UploadNotFoundException",
    );
    let id = s.ok(
        PUSHER,
        "InitiateLayerUpload",
        json!({"repositoryName":"test-repos"}),
    )["uploadId"]
        .as_str()
        .unwrap()
        .to_string();
    let big_part = |first: usize, last: usize| {
        json!({"repositoryName":"test-repos","uploadId":id,"partFirstByte":first,"partLastByte":last,
               "layerPartBlob":STANDARD.encode(&big[first..=last])})
    };
    s.ok(PUSHER, "UploadLayerPart", big_part(0, (5 << 20) - 1));
    s.ok(PUSHER, "UploadLayerPart", big_part(5 << 20, big.len() - 1));
    let c = s.ok(
        PUSHER,
        "CompleteLayerUpload",
        json!({"repositoryName":"test-repos","uploadId":id,"layerDigests":[sha256_digest(&big)]}),
    );
    assert_eq!(c["layerDigest"], sha256_digest(&big).as_str());
    // again, correctly
    let id = s.ok(
        PUSHER,
        "InitiateLayerUpload",
        json!({"repositoryName":"test-repos"}),
    )["uploadId"]
        .as_str()
        .unwrap()
        .to_string();
    s.fails(
        PUSHER,
        "CompleteLayerUpload",
        json!({"repositoryName":"test-repos","uploadId":id,"layerDigests":[digest]}),
        "EmptyUploadException",
    );
    s.ok(PUSHER, "UploadLayerPart", json!({"repositoryName":"test-repos","uploadId":id,"partFirstByte":0,"partLastByte":2999,"layerPartBlob":STANDARD.encode(&data)}));
    let c = s.ok(
        PUSHER,
        "CompleteLayerUpload",
        json!({"repositoryName":"test-repos","uploadId":id,"layerDigests":[digest]}),
    );
    assert_eq!(c["layerDigest"], digest.as_str());
    let id2 = s.ok(
        PUSHER,
        "InitiateLayerUpload",
        json!({"repositoryName":"test-repos"}),
    )["uploadId"]
        .as_str()
        .unwrap()
        .to_string();
    s.ok(PUSHER, "UploadLayerPart", json!({"repositoryName":"test-repos","uploadId":id2,"partFirstByte":0,"partLastByte":2999,"layerPartBlob":STANDARD.encode(&data)}));
    s.fails(
        PUSHER,
        "CompleteLayerUpload",
        json!({"repositoryName":"test-repos","uploadId":id2,"layerDigests":[digest]}),
        "LayerAlreadyExistsException",
    );
    s.fails(PUSHER, "UploadLayerPart", json!({"repositoryName":"test-repos","uploadId":"00000000-0000-4000-8000-000000000000","partFirstByte":0,"partLastByte":0,"layerPartBlob":"AA=="}), "UploadNotFoundException");
    // availability
    let missing = sha256_digest(b"missing");
    let b = s.ok(
        PUSHER,
        "BatchCheckLayerAvailability",
        json!({"repositoryName":"test-repos","layerDigests":[digest, missing]}),
    );
    assert_eq!(b["layers"][0]["layerAvailability"], "AVAILABLE");
    assert_eq!(b["layers"][0]["layerSize"], 3000);
    assert_eq!(b["failures"][0]["failureCode"], "MissingLayerDigest");
    assert_eq!(b["failures"][0]["layerDigest"], missing.as_str());
    // download URL serves the bytes without other credentials, and only that blob
    let u = s.ok(
        PUSHER,
        "GetDownloadUrlForLayer",
        json!({"repositoryName":"test-repos","layerDigest":digest}),
    );
    let url = u["downloadUrl"].as_str().unwrap();
    let path = url.strip_prefix(&format!("http://{}", s.addr)).unwrap();
    let r = s.reg("GET", path, None, &[], b"");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, data);
    let tampered = path.replace(&digest, &missing);
    s.reg("GET", &tampered, None, &[], b"")
        .assert_error(403, "DENIED");
    s.fails(
        PUSHER,
        "GetDownloadUrlForLayer",
        json!({"repositoryName":"test-repos","layerDigest":missing}),
        "LayersNotFoundException",
    );
    // the URL stops working once the key is gone
    s.host.remove(PUSHER);
    s.reg("GET", path, None, &[], b"")
        .assert_error(403, "DENIED");
}

fn push_blobs(s: &TestServer, repo: &str, img: &Image) {
    let c = s.client(ROOT);
    for b in img.blobs() {
        c.push_blob(repo, b).unwrap();
    }
}

#[test]
fn images_put_get_list_describe_delete() {
    let s = TestServer::start();
    s.create_repo("test-repos");
    let img = generate_image(5, 2, 500);
    let manifest = String::from_utf8(img.manifest.clone()).unwrap();
    let m = s.fails(
        PUSHER,
        "PutImage",
        json!({"repositoryName":"test-repos","imageManifest":manifest,"imageTag":"v1"}),
        "LayersNotFoundException",
    );
    assert!(m.contains(&img.layers[0].digest), "{m}");
    push_blobs(&s, "test-repos", &img);
    s.fails(
        PUSHER,
        "PutImage",
        json!({"repositoryName":"test-repos","imageManifest":"{not json","imageTag":"v1"}),
        "InvalidParameterException",
    );
    s.fails(PUSHER, "PutImage", json!({"repositoryName":"test-repos","imageManifest":manifest,"imageDigest":sha256_digest(b"x")}), "ImageDigestDoesNotMatchException");
    let p = s.ok(
        PUSHER,
        "PutImage",
        json!({"repositoryName":"test-repos","imageManifest":manifest,"imageTag":"v1"}),
    );
    assert_eq!(
        p["image"]["imageId"]["imageDigest"],
        img.manifest_digest.as_str()
    );
    assert_eq!(
        p["image"]["imageManifestMediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    s.fails(
        PUSHER,
        "PutImage",
        json!({"repositoryName":"test-repos","imageManifest":manifest,"imageTag":"v1"}),
        "ImageAlreadyExistsException",
    );
    s.ok(
        PUSHER,
        "PutImage",
        json!({"repositoryName":"test-repos","imageManifest":manifest,"imageTag":"latest"}),
    );
    // a second image, untagged
    let img2 = generate_image(6, 1, 100);
    push_blobs(&s, "test-repos", &img2);
    s.ok(ROOT, "PutImage", json!({"repositoryName":"test-repos","imageManifest":String::from_utf8(img2.manifest.clone()).unwrap()}));
    // immutability
    let r = s.ok(
        ROOT,
        "PutImageTagMutability",
        json!({"repositoryName":"test-repos","imageTagMutability":"IMMUTABLE"}),
    );
    assert_eq!(r["imageTagMutability"], "IMMUTABLE");
    let m = s.fails(ROOT, "PutImage", json!({"repositoryName":"test-repos","imageManifest":String::from_utf8(img2.manifest.clone()).unwrap(),"imageTag":"v1"}), "ImageTagAlreadyExistsException");
    assert!(m.contains("v1") && m.contains("immutable"), "{m}");
    s.ok(
        ROOT,
        "PutImageTagMutability",
        json!({"repositoryName":"test-repos","imageTagMutability":"MUTABLE"}),
    );
    // BatchGetImage
    let g = s.ok(PUSHER, "BatchGetImage", json!({"repositoryName":"test-repos","imageIds":[{"imageTag":"v1"},{"imageTag":"nope"},{"imageDigest":img.manifest_digest,"imageTag":"zzz"}]}));
    assert_eq!(g["images"][0]["imageManifest"], manifest.as_str());
    assert_eq!(
        g["images"][0]["imageId"]["imageDigest"],
        img.manifest_digest.as_str()
    );
    assert_eq!(g["failures"][0]["failureCode"], "ImageNotFound");
    assert_eq!(
        g["failures"][1]["failureCode"],
        "ImageTagDoesNotMatchDigest"
    );
    // acceptedMediaTypes that exclude the stored type
    let g = s.ok(
        PUSHER,
        "BatchGetImage",
        json!({"repositoryName":"test-repos","imageIds":[{"imageTag":"v1"}],
        "acceptedMediaTypes":["application/vnd.docker.distribution.manifest.v2+json"]}),
    );
    assert_eq!(g["failures"][0]["failureCode"], "ImageNotFound");
    assert!(g["images"].as_array().unwrap().is_empty());
    // ListImages: one entry per tag, untagged by digest; filters; pagination
    let l = s.ok(ROOT, "ListImages", json!({"repositoryName":"test-repos"}));
    let ids = l["imageIds"].as_array().unwrap();
    assert_eq!(ids.len(), 3, "{l}");
    let tagged = s.ok(
        ROOT,
        "ListImages",
        json!({"repositoryName":"test-repos","filter":{"tagStatus":"TAGGED"}}),
    );
    assert_eq!(tagged["imageIds"].as_array().unwrap().len(), 2);
    let untagged = s.ok(
        ROOT,
        "ListImages",
        json!({"repositoryName":"test-repos","filter":{"tagStatus":"UNTAGGED"}}),
    );
    assert_eq!(
        untagged["imageIds"],
        json!([{"imageDigest": img2.manifest_digest}])
    );
    let p1 = s.ok(
        ROOT,
        "ListImages",
        json!({"repositoryName":"test-repos","maxResults":2}),
    );
    assert_eq!(p1["imageIds"].as_array().unwrap().len(), 2);
    let p2 = s.ok(
        ROOT,
        "ListImages",
        json!({"repositoryName":"test-repos","maxResults":2,"nextToken":p1["nextToken"]}),
    );
    assert_eq!(p2["imageIds"].as_array().unwrap().len(), 1);
    assert!(p2.get("nextToken").is_none());
    s.fails(
        ROOT,
        "ListImages",
        json!({"repositoryName":"test-repos","nextToken":"%%%"}),
        "InvalidParameterException",
    );
    // DescribeImages
    let d = s.ok(
        ROOT,
        "DescribeImages",
        json!({"repositoryName":"test-repos","imageIds":[{"imageTag":"v1"}]}),
    );
    let det = &d["imageDetails"][0];
    assert_eq!(det["imageTags"], json!(["latest", "v1"]));
    let size: usize = img.blobs().map(|b: &Blob| b.data.len()).sum();
    assert_eq!(det["imageSizeInBytes"], size);
    assert_eq!(
        det["artifactMediaType"],
        "application/vnd.oci.image.config.v1+json"
    );
    assert!(epoch(&det["imagePushedAt"]) > 0.0);
    s.fails(
        ROOT,
        "DescribeImages",
        json!({"repositoryName":"test-repos","imageIds":[{"imageTag":"nope"}]}),
        "ImageNotFoundException",
    );
    let all = s.ok(
        ROOT,
        "DescribeImages",
        json!({"repositoryName":"test-repos"}),
    );
    assert_eq!(all["imageDetails"].as_array().unwrap().len(), 2);
    // BatchDeleteImage: by tag (other tags keep the image), then by digest
    let del = s.ok(ROOT, "BatchDeleteImage", json!({"repositoryName":"test-repos","imageIds":[{"imageTag":"latest"},{"imageTag":"gone"}]}));
    assert_eq!(del["imageIds"][0]["imageTag"], "latest");
    assert_eq!(del["failures"][0]["failureCode"], "ImageNotFound");
    s.ok(
        ROOT,
        "BatchGetImage",
        json!({"repositoryName":"test-repos","imageIds":[{"imageTag":"v1"}]}),
    );
    let del = s.ok(
        ROOT,
        "BatchDeleteImage",
        json!({"repositoryName":"test-repos","imageIds":[{"imageDigest":img.manifest_digest}]}),
    );
    assert_eq!(
        del["imageIds"][0]["imageDigest"],
        img.manifest_digest.as_str()
    );
    let g = s.ok(
        ROOT,
        "BatchGetImage",
        json!({"repositoryName":"test-repos","imageIds":[{"imageTag":"v1"}]}),
    );
    assert_eq!(g["failures"][0]["failureCode"], "ImageNotFound");
    // the deleted image's layers are gone, the other image's are not
    let b = s.ok(ROOT, "BatchCheckLayerAvailability", json!({"repositoryName":"test-repos","layerDigests":[img.layers[0].digest, img2.layers[0].digest]}));
    assert_eq!(b["layers"].as_array().unwrap().len(), 1);
    assert_eq!(
        b["layers"][0]["layerDigest"],
        img2.layers[0].digest.as_str()
    );
    assert_eq!(
        b["failures"][0]["layerDigest"],
        img.layers[0].digest.as_str()
    );
}

#[test]
fn repository_policy_and_tags() {
    let s = TestServer::start();
    s.create_repo("shared");
    let arn = format!("arn:aws:ecr:{REGION}:{ACCT}:repository/shared");
    s.fails(
        ROOT,
        "GetRepositoryPolicy",
        json!({"repositoryName":"shared"}),
        "RepositoryPolicyNotFoundException",
    );
    s.fails(ROOT, "SetRepositoryPolicy", json!({"repositoryName":"shared","policyText":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\"}]}"}), "InvalidParameterException");
    s.fails(
        ROOT,
        "SetRepositoryPolicy",
        json!({"repositoryName":"shared","policyText":"not json"}),
        "InvalidParameterException",
    );
    // the bare user has no identity policy for ECR; the repository policy grants it
    s.fails(
        USER,
        "DescribeImages",
        json!({"repositoryName":"shared"}),
        "AccessDeniedException",
    );
    let policy = json!({"Version":"2012-10-17","Statement":[{"Sid":"u","Effect":"Allow",
        "Principal":{"AWS":format!("arn:aws:iam::{ACCT}:user/user-for-switch")},"Action":["ecr:DescribeImages","ecr:DescribeRepositories"]}]})
    .to_string();
    let r = s.ok(
        ROOT,
        "SetRepositoryPolicy",
        json!({"repositoryName":"shared","policyText":policy}),
    );
    assert_eq!(r["policyText"], policy.as_str());
    assert_eq!(
        s.ok(
            ROOT,
            "GetRepositoryPolicy",
            json!({"repositoryName":"shared"})
        )["policyText"],
        policy.as_str()
    );
    s.ok(USER, "DescribeImages", json!({"repositoryName":"shared"}));
    // listing shows exactly the repositories the caller may describe
    s.create_repo("hidden");
    let all = s.ok(USER, "DescribeRepositories", json!({}));
    let names: Vec<&str> = all["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["repositoryName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["shared"]);
    s.fails(
        PUSHER,
        "DescribeRepositories",
        json!({}),
        "AccessDeniedException",
    );
    assert_eq!(
        s.ok(READER, "DescribeRepositories", json!({}))["repositories"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    s.fails(
        READER,
        "DescribeRepositories",
        json!({"repositoryNames":["shared"],"maxResults":5}),
        "InvalidParameterException",
    );
    s.fails(
        USER,
        "ListImages",
        json!({"repositoryName":"shared"}),
        "AccessDeniedException",
    );
    s.ok(
        ROOT,
        "DeleteRepositoryPolicy",
        json!({"repositoryName":"shared"}),
    );
    s.fails(
        USER,
        "DescribeImages",
        json!({"repositoryName":"shared"}),
        "AccessDeniedException",
    );
    s.fails(
        ROOT,
        "DeleteRepositoryPolicy",
        json!({"repositoryName":"shared"}),
        "RepositoryPolicyNotFoundException",
    );
    // tags
    s.ok(
        ROOT,
        "TagResource",
        json!({"resourceArn":arn,"tags":[{"Key":"a","Value":"1"},{"Key":"b","Value":"2"}]}),
    );
    s.ok(
        ROOT,
        "TagResource",
        json!({"resourceArn":arn,"tags":[{"Key":"a","Value":"3"}]}),
    );
    s.ok(
        ROOT,
        "UntagResource",
        json!({"resourceArn":arn,"tagKeys":["b"]}),
    );
    let t = s.ok(ROOT, "ListTagsForResource", json!({"resourceArn":arn}));
    assert_eq!(t["tags"], json!([{"Key":"a","Value":"3"}]));
    s.fails(
        ROOT,
        "ListTagsForResource",
        json!({"resourceArn":"arn:aws:s3:::bucket"}),
        "InvalidParameterException",
    );
    s.fails(
        ROOT,
        "ListTagsForResource",
        json!({"resourceArn":format!("arn:aws:ecr:{REGION}:{ACCT}:repository/none")}),
        "RepositoryNotFoundException",
    );
    s.fails(
        ROOT,
        "TagResource",
        json!({"resourceArn":arn,"tags":[{"Key":"aws:x","Value":"1"}]}),
        "InvalidTagParameterException",
    );
    s.fails(
        READER,
        "TagResource",
        json!({"resourceArn":arn,"tags":[{"Key":"k","Value":"1"}]}),
        "AccessDeniedException",
    );
}

#[test]
fn state_and_registry_passwords_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let img = generate_image(11, 2, 300);
    let (password, digest) = {
        let s = TestServer::start_in(dir.path());
        s.create_repo("test-repos");
        let pw = s.password(PUSHER);
        let d = s
            .client(PUSHER)
            .push("test-repos", "v1", &img, &mut |_| {})
            .unwrap();
        (pw, d)
    };
    let s = TestServer::start_in(dir.path());
    let v = s.ok(
        ROOT,
        "DescribeImages",
        json!({"repositoryName":"test-repos"}),
    );
    assert_eq!(v["imageDetails"][0]["imageDigest"], digest.as_str());
    // the password minted before the restart still works: the key file persisted
    let c = kagi_ecr::client::RegistryClient::new(&s.addr.to_string(), "AWS", &password);
    assert_eq!(c.pull("test-repos", "v1", &mut |_| {}).unwrap(), img);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("registry-token.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

/// `Ecr::call` (the console's entry): the same dispatch and authorisation without the wire;
/// values keep AWS CLI v2's timestamp strings; bad input fails the model's validation.
#[test]
fn call_runs_operations_as_the_caller_without_the_wire() {
    let s = TestServer::start();
    let caller = |akid: &str| kagi_ecr::Host::caller_for_key(&*s.host, akid).unwrap();
    let ecr = s.ecr.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let run = |akid: &str, op: &str, input: Value| {
        let c = caller(akid);
        rt.block_on(async { ecr.call(&c, REGION, op, &input).await })
    };
    let v = run(
        ROOT,
        "CreateRepository",
        json!({"repositoryName":"test-repos"}),
    )
    .unwrap();
    assert_eq!(
        v["repository"]["repositoryUri"],
        format!("{}/test-repos", s.addr)
    );
    assert!(
        v["repository"]["createdAt"]
            .as_str()
            .is_some_and(|t| t.ends_with("+00:00")),
        "{v}"
    );
    assert_eq!(s.ecr.registry_endpoint(REGION), s.addr.to_string());
    let listed = run(READER, "DescribeRepositories", json!({})).unwrap();
    assert_eq!(listed["repositories"][0]["repositoryName"], "test-repos");
    let e = run(PUSHER, "DescribeRepositories", json!({})).unwrap_err();
    assert_eq!(e.code, "AccessDeniedException");
    assert!(
        e.message
            .contains("is not authorized to perform: ecr:DescribeRepositories"),
        "{}",
        e.message
    );
    let e = run(ROOT, "CreateRepository", json!({})).unwrap_err();
    assert_eq!(e.status, 400, "{e:?}");
    let e = run(ROOT, "NoSuchOperation", json!({})).unwrap_err();
    assert_eq!(e.code, "UnknownOperationException");
}
