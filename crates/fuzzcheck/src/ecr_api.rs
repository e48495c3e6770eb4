//! ECR's JSON API end to end below the wire: any body under any operation's `X-Amz-Target`
//! (or an unknown one) is answered 2xx or 4xx in ECR's JSON error shape by a real `Ecr` on a
//! throw-away data directory (SQLite + blob files; a host that allows everything, so every
//! handler runs), never a panic and never a 5xx (a 5xx here would be a handler that trusted
//! its input). State accumulates across inputs, as on a server.

use kagi_ecr::{Caller, Ecr, Host};
use std::sync::{Arc, OnceLock};

struct AllowAll;

impl Host for AllowAll {
    fn authorize(&self, _: &Caller, _: &str, _: &str, _: Option<&str>) -> Result<(), String> {
        Ok(())
    }
    fn caller_for_key(&self, _: &str) -> Option<Caller> {
        Some(caller())
    }
}

fn caller() -> Caller {
    Caller {
        access_key_id: "AKIAFUZZFUZZFUZZFUZZ".into(),
        arn: "arn:aws:iam::123456789012:root".into(),
        account_id: "123456789012".into(),
        notes: Default::default(),
    }
}

struct World {
    rt: tokio::runtime::Runtime,
    ecr: Arc<Ecr>,
    targets: Vec<String>,
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let ecr = Ecr::open(None, "123456789012", Arc::new(AllowAll)).expect("ECR on a temp dir");
        let service = kagi_api::service("ecr").expect("modelled");
        let targets = service
            .operations()
            .iter()
            .map(|op| format!("AmazonEC2ContainerRegistry_V20150921.{}", op.name))
            .collect();
        World { rt, ecr, targets }
    })
}

/// One input: panics when an invariant above does not hold.
pub fn check(data: &[u8]) {
    let w = world();
    // `OPERATION\nBODY` names the operation (seeds do; mutations make unknown ones), else
    // the first byte picks one of the model's.
    let (target, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) if i < 64 => (
            format!(
                "AmazonEC2ContainerRegistry_V20150921.{}",
                String::from_utf8_lossy(&data[..i])
            ),
            &data[i + 1..],
        ),
        _ => {
            let Some((&which, body)) = data.split_first() else {
                return;
            };
            (
                w.targets[usize::from(which) % w.targets.len()].clone(),
                body,
            )
        }
    };
    let resp = w.rt.block_on(w.ecr.handle_api(
        &caller(),
        "us-east-1",
        &target,
        bytes::Bytes::copy_from_slice(body),
    ));
    let status = resp.status().as_u16();
    assert!(
        status < 500,
        "{target} answered {status} to {:?}",
        String::from_utf8_lossy(body)
    );
}
