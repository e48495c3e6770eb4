//! Lifecycle policies through the API: put/get/delete and their errors, authorisation, the
//! preview, and application (at put time and by `Ecr::apply_lifecycle_policies`), which really
//! deletes images; the policy persists across a restart and goes with its repository.
use crate::common::*;
use kagi_ecr::client::generate_image;
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const REPO: &str = "lc-repo";

/// Pushes an image (by the registry) and returns its digest; `tag` `None` leaves it untagged.
fn push(s: &TestServer, seed: u64, tag: Option<&str>) -> String {
    let img = generate_image(seed, 1, 64);
    let c = s.client(ROOT);
    for b in img.blobs() {
        c.push_blob(REPO, b).unwrap();
    }
    let mut input = json!({"repositoryName": REPO,
        "imageManifest": String::from_utf8(img.manifest.clone()).unwrap()});
    if let Some(t) = tag {
        input["imageTag"] = json!(t);
    }
    s.ok(ROOT, "PutImage", input);
    // distinct push times
    std::thread::sleep(Duration::from_millis(20));
    img.manifest_digest
}

fn digests(s: &TestServer) -> Vec<String> {
    let v = s.ok(ROOT, "ListImages", json!({"repositoryName": REPO}));
    let mut d: Vec<String> = v["imageIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["imageDigest"].as_str().unwrap().to_string())
        .collect();
    d.sort();
    d.dedup();
    d
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn policy() -> String {
    json!({"rules": [
        {"rulePriority": 1, "description": "keep the newest v* image",
         "selection": {"tagStatus": "tagged", "tagPatternList": ["v*"], "countType": "imageCountMoreThan", "countNumber": 1},
         "action": {"type": "expire"}},
        {"rulePriority": 5, "description": "anything older than a day",
         "selection": {"tagStatus": "any", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 1},
         "action": {"type": "expire"}}
    ]})
    .to_string()
}

fn epoch(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("epoch seconds: {v}"))
}

#[test]
fn lifecycle_policy_put_get_delete_preview_apply() {
    let dir = tempfile::tempdir().unwrap();
    let (d1, d2, d3, d4);
    {
        let s = TestServer::start_in(dir.path());
        s.create_repo(REPO);
        let name = json!({"repositoryName": REPO});
        d1 = push(&s, 101, Some("v1"));
        d2 = push(&s, 102, Some("v2"));
        d3 = push(&s, 103, Some("v3"));
        d4 = push(&s, 104, None);
        let all = sorted(vec![d1.clone(), d2.clone(), d3.clone(), d4.clone()]);
        assert_eq!(digests(&s), all);

        // nothing yet
        let m = s.fails(
            ROOT,
            "GetLifecyclePolicy",
            name.clone(),
            "LifecyclePolicyNotFoundException",
        );
        assert!(m.contains(REPO) && m.contains(ACCT), "{m}");
        s.fails(
            ROOT,
            "DeleteLifecyclePolicy",
            name.clone(),
            "LifecyclePolicyNotFoundException",
        );
        s.fails(
            ROOT,
            "StartLifecyclePolicyPreview",
            name.clone(),
            "LifecyclePolicyNotFoundException",
        );
        s.fails(
            ROOT,
            "GetLifecyclePolicyPreview",
            name.clone(),
            "LifecyclePolicyPreviewNotFoundException",
        );
        s.fails(
            ROOT,
            "GetLifecyclePolicy",
            json!({"repositoryName": "nope"}),
            "RepositoryNotFoundException",
        );
        s.fails(
            ROOT,
            "PutLifecyclePolicy",
            json!({"repositoryName": "nope", "lifecyclePolicyText": policy()}),
            "RepositoryNotFoundException",
        );

        // invalid documents
        let bad = json!({"rules": [
            {"rulePriority": 1, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1}, "action": {"type": "expire"}},
            {"rulePriority": 2, "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 1}, "action": {"type": "expire"}}
        ]}).to_string();
        let m = s.fails(
            ROOT,
            "PutLifecyclePolicy",
            json!({"repositoryName": REPO, "lifecyclePolicyText": bad}),
            "InvalidParameterException",
        );
        assert!(m.starts_with("Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure:"), "{m}");
        assert!(m.contains("highest rulePriority"), "{m}");
        let bad = format!("{{\"rules\": \"{}\"}}", "x".repeat(100));
        s.fails(
            ROOT,
            "PutLifecyclePolicy",
            json!({"repositoryName": REPO, "lifecyclePolicyText": bad}),
            "InvalidParameterException",
        );
        s.fails(
            ROOT,
            "StartLifecyclePolicyPreview",
            json!({"repositoryName": REPO, "lifecyclePolicyText": "{".repeat(100)}),
            "InvalidParameterException",
        );

        // authorisation: ecr:<Op> on the repository ARN
        for op in [
            "PutLifecyclePolicy",
            "GetLifecyclePolicy",
            "DeleteLifecyclePolicy",
            "StartLifecyclePolicyPreview",
            "GetLifecyclePolicyPreview",
        ] {
            let mut input = name.clone();
            if op == "PutLifecyclePolicy" {
                input["lifecyclePolicyText"] = json!(policy());
            }
            let m = s.fails(READER, op, input, "AccessDeniedException");
            assert!(
                m.contains(&format!("ecr:{op}")) && m.contains(&format!("repository/{REPO}")),
                "{m}"
            );
        }
        assert_eq!(digests(&s).len(), 4, "a denied put applies nothing");

        // the preview evaluates without deleting
        let st = s.ok(
            ROOT,
            "StartLifecyclePolicyPreview",
            json!({"repositoryName": REPO, "lifecyclePolicyText": policy()}),
        );
        assert_eq!(
            (st["status"].as_str(), st["lifecyclePolicyText"].as_str()),
            (Some("COMPLETE"), Some(policy().as_str()))
        );
        let p = s.ok(ROOT, "GetLifecyclePolicyPreview", name.clone());
        assert_eq!(p["status"], "COMPLETE");
        assert_eq!(p["summary"]["expiringImageTotalCount"], 2);
        let res = p["previewResults"].as_array().unwrap();
        let got: Vec<String> = res
            .iter()
            .map(|r| r["imageDigest"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(sorted(got), sorted(vec![d1.clone(), d2.clone()]));
        for r in res {
            assert_eq!(r["action"]["type"], "EXPIRE");
            assert_eq!(r["appliedRulePriority"], 1);
            assert!(r["imageTags"][0].as_str().unwrap().starts_with('v'));
            assert!(epoch(&r["imagePushedAt"]) > 1.6e9);
        }
        let one = s.ok(
            ROOT,
            "GetLifecyclePolicyPreview",
            json!({"repositoryName": REPO, "maxResults": 1}),
        );
        assert_eq!(one["previewResults"].as_array().unwrap().len(), 1);
        let tok = one["nextToken"].as_str().unwrap();
        let two = s.ok(
            ROOT,
            "GetLifecyclePolicyPreview",
            json!({"repositoryName": REPO, "maxResults": 1, "nextToken": tok}),
        );
        assert_eq!(two["previewResults"].as_array().unwrap().len(), 1);
        assert!(two.get("nextToken").is_none());
        assert_ne!(
            one["previewResults"][0]["imageDigest"],
            two["previewResults"][0]["imageDigest"]
        );
        let u = s.ok(
            ROOT,
            "GetLifecyclePolicyPreview",
            json!({"repositoryName": REPO, "filter": {"tagStatus": "UNTAGGED"}}),
        );
        assert_eq!(u["previewResults"].as_array().unwrap().len(), 0);
        let by_tag = s.ok(
            ROOT,
            "GetLifecyclePolicyPreview",
            json!({"repositoryName": REPO, "imageIds": [{"imageTag": "v1"}]}),
        );
        assert_eq!(by_tag["previewResults"][0]["imageDigest"], d1.as_str());
        assert_eq!(by_tag["previewResults"].as_array().unwrap().len(), 1);
        assert_eq!(digests(&s), all, "a preview deletes nothing");

        // put applies at once: v1 and v2 go
        let before = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let put = s.ok(
            ROOT,
            "PutLifecyclePolicy",
            json!({"repositoryName": REPO, "lifecyclePolicyText": policy()}),
        );
        assert_eq!(
            (put["repositoryName"].as_str(), put["registryId"].as_str()),
            (Some(REPO), Some(ACCT))
        );
        assert_eq!(put["lifecyclePolicyText"], policy().as_str());
        assert_eq!(digests(&s), sorted(vec![d3.clone(), d4.clone()]));
        let g = s.ok(
            ROOT,
            "BatchGetImage",
            json!({"repositoryName": REPO, "imageIds": [{"imageTag": "v1"}]}),
        );
        assert_eq!(g["failures"][0]["failureCode"], "ImageNotFound");
        let got = s.ok(ROOT, "GetLifecyclePolicy", name.clone());
        assert_eq!(got["lifecyclePolicyText"], policy().as_str());
        let at = epoch(&got["lastEvaluatedAt"]);
        assert!(at >= before - 1.0 && at < before + 60.0, "{got}");

        // the periodic application, two days on: the untagged image is older than a day and
        // the `any` rule expires it; v3 matches rule 1, so rule 5 cannot expire it
        let later = SystemTime::now() + Duration::from_secs(2 * 86_400);
        assert_eq!(s.ecr.apply_lifecycle_policies(later).unwrap(), 1);
        assert_eq!(digests(&s), vec![d3.clone()]);
        let got = s.ok(ROOT, "GetLifecyclePolicy", name.clone());
        assert!(epoch(&got["lastEvaluatedAt"]) > before + 86_400.0, "{got}");
        // nothing left to expire
        assert_eq!(s.ecr.apply_lifecycle_policies(later).unwrap(), 0);
    }

    // the policy (and its lastEvaluatedAt) survive a restart
    let s = TestServer::start_in(dir.path());
    let name = json!({"repositoryName": REPO});
    let got = s.ok(ROOT, "GetLifecyclePolicy", name.clone());
    assert_eq!(got["lifecyclePolicyText"], policy().as_str());
    assert!(got["lastEvaluatedAt"].is_number(), "{got}");
    let p = s.ok(ROOT, "GetLifecyclePolicyPreview", name.clone());
    assert_eq!(p["summary"]["expiringImageTotalCount"], 2);

    // delete answers the policy, then it is gone and nothing is applied any more
    let del = s.ok(ROOT, "DeleteLifecyclePolicy", name.clone());
    assert_eq!(del["lifecyclePolicyText"], policy().as_str());
    s.fails(
        ROOT,
        "GetLifecyclePolicy",
        name.clone(),
        "LifecyclePolicyNotFoundException",
    );
    let d5 = push(&s, 105, None);
    let far = SystemTime::now() + Duration::from_secs(30 * 86_400);
    assert_eq!(s.ecr.apply_lifecycle_policies(far).unwrap(), 0);
    assert_eq!(digests(&s), sorted(vec![d3.clone(), d5.clone()]));
    let _ = (d1, d2, d4);

    // a policy goes with its repository
    s.ok(
        ROOT,
        "PutLifecyclePolicy",
        json!({"repositoryName": REPO, "lifecyclePolicyText": policy()}),
    );
    s.ok(
        ROOT,
        "DeleteRepository",
        json!({"repositoryName": REPO, "force": true}),
    );
    s.create_repo(REPO);
    s.fails(
        ROOT,
        "GetLifecyclePolicy",
        name.clone(),
        "LifecyclePolicyNotFoundException",
    );
    s.fails(
        ROOT,
        "GetLifecyclePolicyPreview",
        name,
        "LifecyclePolicyPreviewNotFoundException",
    );
}

/// An image index and the images it references expire together (index first); an image still
/// referenced by a kept index is not deleted.
#[test]
fn lifecycle_expires_an_index_before_its_children() {
    let s = TestServer::start();
    s.create_repo(REPO);
    let a = generate_image(201, 1, 64);
    let b = generate_image(202, 1, 64);
    let c = s.client(ROOT);
    for img in [&a, &b] {
        for blob in img.blobs() {
            c.push_blob(REPO, blob).unwrap();
        }
        s.ok(ROOT, "PutImage", json!({"repositoryName": REPO, "imageManifest": String::from_utf8(img.manifest.clone()).unwrap()}));
    }
    let index = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"mediaType": a.manifest_media_type, "digest": a.manifest_digest, "size": a.manifest.len(), "platform": {"architecture": "amd64", "os": "linux"}},
    ]}).to_string();
    s.ok(ROOT, "PutImage", json!({"repositoryName": REPO, "imageManifest": index, "imageManifestMediaType": "application/vnd.oci.image.index.v1+json", "imageTag": "multi"}));
    // keep only untagged images younger than 1 day and tagged ones likewise: all three expire
    let expire_all = json!({"rules": [
        {"rulePriority": 1, "selection": {"tagStatus": "any", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 1}, "action": {"type": "expire"}}
    ]}).to_string();
    s.ok(
        ROOT,
        "PutLifecyclePolicy",
        json!({"repositoryName": REPO, "lifecyclePolicyText": expire_all}),
    );
    assert_eq!(digests(&s).len(), 3, "nothing is older than a day yet");
    let later = SystemTime::now() + Duration::from_secs(2 * 86_400);
    assert_eq!(s.ecr.apply_lifecycle_policies(later).unwrap(), 3);
    assert!(digests(&s).is_empty());

    // a kept index protects its child
    for img in [&a, &b] {
        for blob in img.blobs() {
            c.push_blob(REPO, blob).unwrap();
        }
        s.ok(ROOT, "PutImage", json!({"repositoryName": REPO, "imageManifest": String::from_utf8(img.manifest.clone()).unwrap()}));
    }
    s.ok(ROOT, "PutImage", json!({"repositoryName": REPO, "imageManifest": index, "imageManifestMediaType": "application/vnd.oci.image.index.v1+json", "imageTag": "multi"}));
    let untagged_only = json!({"rules": [
        {"rulePriority": 1, "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 1}, "action": {"type": "expire"}}
    ]}).to_string();
    s.ok(
        ROOT,
        "PutLifecyclePolicy",
        json!({"repositoryName": REPO, "lifecyclePolicyText": untagged_only}),
    );
    assert_eq!(s.ecr.apply_lifecycle_policies(later).unwrap(), 1);
    assert_eq!(
        digests(&s).len(),
        2,
        "b expired; a is still referenced by the tagged index"
    );
}
