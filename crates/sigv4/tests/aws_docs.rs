//! The worked example of AWS's "Signature Version 4 signing process" documentation (IAM
//! ListUsers, 2015-08-30): hashed canonical request, string to sign and signature.

use std::time::{Duration, SystemTime};

use kagi_sigv4::{
    Credentials, IncomingRequest, SigningParams, SigningSettings, parse, sha256_hex,
    sign_headers_with, verify,
};

#[test]
fn iam_list_users_documentation_example() {
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160); // 20150830T123600Z
    let creds = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    let params = SigningParams {
        region: "us-east-1",
        service: "iam",
        time,
    };
    let mut headers = vec![
        ("Host".to_owned(), "iam.amazonaws.com".to_owned()),
        (
            "Content-Type".to_owned(),
            "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
        ),
    ];
    let query = "Action=ListUsers&Version=2010-05-08";
    let out = sign_headers_with(
        "GET",
        "/",
        query,
        &mut headers,
        b"",
        &creds,
        &params,
        &SigningSettings::default(),
    )
    .unwrap();
    assert_eq!(
        out.canonical_request,
        "GET\n/\nAction=ListUsers&Version=2010-05-08\ncontent-type:application/x-www-form-urlencoded; charset=utf-8\nhost:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        sha256_hex(out.canonical_request.as_bytes()),
        "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
    );
    assert_eq!(
        out.string_to_sign,
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\nf536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
    );
    let auth = headers.iter().find(|(n, _)| n == "authorization").unwrap();
    assert_eq!(
        auth.1,
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
    );

    let hash = sha256_hex(b"");
    let req = IncomingRequest {
        method: "GET",
        path: "/",
        query,
        headers: &headers,
        payload_sha256_hex: &hash,
    };
    let info = parse(&req).unwrap();
    verify(
        &req,
        &info,
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        time,
    )
    .unwrap();
}
