//! Fuzz target: the parser, the validator and the evaluator never panic on any input.
#![no_main]

use kagi_policy::{
    CompiledPolicy, Context, PolicyMeta, PolicyType, PrincipalInfo, Request, evaluate, validate,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for t in [
        PolicyType::Identity,
        PolicyType::Resource,
        PolicyType::Trust,
    ] {
        let _ = validate(text, t);
        if let Ok(p) = CompiledPolicy::from_text(text, t, PolicyMeta::named("fuzz")) {
            let principal =
                PrincipalInfo::from_arn("arn:aws:iam::123456789012:user/alice").unwrap();
            let mut ctx = Context::new();
            ctx.set_string("aws:username", "alice");
            let policies = [&p];
            let _ = evaluate(
                &Request {
                    principal: &principal,
                    action: "s3:GetObject",
                    resource: "arn:aws:s3:::b/alice/x",
                    context: &ctx,
                },
                &kagi_policy::Policies {
                    identity: &policies,
                    resource: Some(&p),
                    ..Default::default()
                },
            );
        }
    }
});
