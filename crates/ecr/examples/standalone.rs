//! kagi's ECR registry served alone (no IAM): for the benchmark and for manual tests.
//!
//! ```text
//! standalone serve --data DIR [--port N] [--repo NAME]... [--s3 s3://BUCKET --s3-endpoint URL]   # prints LISTEN, PASSWORD lines
//! standalone gen-layout [--gzip] DIR TAG SEED SIZE_MIB...   # writes an OCI layout (plain or gzip'd tar)
//! ```
//! `serve` allows everything for one synthetic principal; the password it prints is a real
//! registry token for that principal (Basic `AWS:<password>`).

use kagi_ecr::{Caller, Ecr, Host};
use std::sync::Arc;

const ACCOUNT: &str = "123456789012";
const KEY: &str = "AKIASTANDALONE000000";

struct AllowAll;
impl Host for AllowAll {
    fn authorize(&self, _: &Caller, _: &str, _: &str, _: Option<&str>) -> Result<(), String> {
        Ok(())
    }
    fn caller_for_key(&self, akid: &str) -> Option<Caller> {
        (akid == KEY).then(|| Caller {
            access_key_id: KEY.into(),
            arn: format!("arn:aws:iam::{ACCOUNT}:root"),
            account_id: ACCOUNT.into(),
            notes: Default::default(),
        })
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("gen-layout") => {
            let (format, rest) = match args.get(1).map(String::as_str) {
                Some("--gzip") => (kagi_ecr::client::LayerFormat::Gzip, &args[2..]),
                _ => (kagi_ecr::client::LayerFormat::Tar, &args[1..]),
            };
            let [dir, tag, seed, sizes @ ..] = rest else {
                anyhow::bail!("gen-layout [--gzip] DIR TAG SEED SIZE_MIB...")
            };
            let sizes: Vec<u64> = sizes
                .iter()
                .map(|s| s.parse::<u64>().map(|m| m << 20))
                .collect::<Result<_, _>>()?;
            let d = kagi_ecr::client::write_large_oci_layout(
                std::path::Path::new(dir),
                tag,
                seed.parse()?,
                &sizes,
                format,
            )?;
            println!("{d}");
            Ok(())
        }
        Some("serve") => serve(&args[1..]),
        _ => anyhow::bail!(
            "usage: standalone serve --data DIR [--port N] [--repo NAME]... | gen-layout [--gzip] DIR TAG SEED SIZE_MIB..."
        ),
    }
}

fn serve(args: &[String]) -> anyhow::Result<()> {
    let mut data = None;
    let mut port = 0u16;
    let mut repos = vec![];
    let mut s3: Option<String> = None;
    let mut s3_endpoint: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--data" => data = it.next().cloned(),
            "--s3" => s3 = it.next().cloned(),
            "--s3-endpoint" => s3_endpoint = it.next().cloned(),
            "--port" => port = it.next().map(|p| p.parse()).transpose()?.unwrap_or(0),
            "--repo" => repos.extend(it.next().cloned()),
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let ecr = match &s3 {
            // Blobs in an S3-compatible bucket (credentials and region from AWS_* variables),
            // rows in DATA/ecr.db.
            Some(url) => {
                let dir = std::path::PathBuf::from(data.as_deref().unwrap_or("."));
                std::fs::create_dir_all(&dir)?;
                let blobs = kagi_ecr::blobs::s3::S3Blobs::open(
                    &kagi_ecr::blobs::s3::S3Config::parse(url, s3_endpoint.as_deref())?,
                )?;
                blobs.probe()?;
                Ecr::with_storage(
                    kagi_ecr::Storage {
                        kv: Arc::new(kagi_store::sqlite::SqliteStore::open(&dir.join("ecr.db"))?),
                        blobs: Arc::new(blobs),
                        token_key: kagi_ecr::token::TokenKey::load_or_create(
                            &dir.join("registry-token.key"),
                        )?,
                        legacy_dir: None,
                    },
                    ACCOUNT,
                    Arc::new(AllowAll),
                )?
            }
            None => Ecr::open(
                data.as_deref().map(std::path::Path::new),
                ACCOUNT,
                Arc::new(AllowAll),
            )?,
        };
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        ecr.set_registry_endpoint(addr.to_string());
        let caller = AllowAll.caller_for_key(KEY).expect("the key");
        let target = |op: &str| format!("AmazonEC2ContainerRegistry_V20150921.{op}");
        for r in &repos {
            let body = serde_json::json!({ "repositoryName": r }).to_string();
            ecr.handle_api(
                &caller,
                "us-east-1",
                &target("CreateRepository"),
                body.into(),
            )
            .await;
        }
        let resp = ecr
            .handle_api(
                &caller,
                "us-east-1",
                &target("GetAuthorizationToken"),
                "{}".into(),
            )
            .await;
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20).await?;
        let v: serde_json::Value = serde_json::from_slice(&body)?;
        let tok = v["authorizationData"][0]["authorizationToken"]
            .as_str()
            .unwrap_or_default();
        use base64::Engine as _;
        let raw = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(tok)?)?;
        println!("LISTEN {addr}");
        println!("PASSWORD {}", raw.strip_prefix("AWS:").unwrap_or_default());
        use std::io::Write as _;
        std::io::stdout().flush()?;
        axum::serve(listener, ecr.registry_router()).await?;
        anyhow::Ok(())
    })
}
