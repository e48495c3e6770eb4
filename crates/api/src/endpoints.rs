//! Default endpoints: botocore's `endpoints.json` (partitions, regions, per-service
//! hostnames, credential scopes, FIPS and dual-stack variants), compacted by
//! `tools/gen-model.py` into `model/endpoints.txt` and embedded as text. A resolution scans the
//! text for the one partition and service it needs (a few microseconds); nothing is parsed
//! ahead of time.
//!
//! # The `endpoints.txt` format
//!
//! ```text
//! partition aws suffix=amazonaws.com host={service}.{region}.{dnsSuffix} regex=^(us|eu)\-\w+\-\d+$ regions=us-east-1,eu-west-1
//!   variant fips host={service}-fips.{region}.{dnsSuffix} suffix=amazonaws.com
//!   service iam partition-endpoint=aws-global global
//!     variant dualstack host=...              (the service's default variants)
//!     endpoint aws-global host=iam.amazonaws.com scope=us-east-1 [scope-service=NAME]
//!       variant fips host=iam-fips.amazonaws.com
//! ```
//!
//! The generator keeps only what differs from what the defaults give: a service with nothing
//! of its own has no `service` line, a region endpoint whose hostname is the template's and
//! that has no variant or credential scope of its own has no `endpoint` line. Deprecated
//! pseudo-regions (`fips-us-east-1`) are left out.
//!
//! # Resolution (botocore's `EndpointResolver.construct_endpoint`)
//!
//! 1. The partition: the one listing the region, else one whose service has an endpoint named
//!    so (`aws-global`), else the first whose `regionRegex` matches, else `aws`.
//! 2. The endpoint: the region's own entry; for a service that is not regionalized
//!    (`global`: IAM, Route 53, CloudFront, Organizations) the partition endpoint when the
//!    region has none.
//! 3. The host: with FIPS and/or dual-stack, the variant of those tags (the endpoint's own,
//!    the service's default, the partition's default, in this order; none is an error); else
//!    the endpoint's `host`, the service's, the partition's template. `{service}` is the
//!    endpoint prefix, `{region}` the endpoint's name, `{dnsSuffix}` the variant's or the
//!    partition's suffix.
//! 4. Signing: the credential scope's region (else the region) and service (else the
//!    service's signing name).

use crate::Service;

static TABLE: &str = include_str!("../model/endpoints.txt");

/// A resolved default endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// `https://host`.
    pub url: String,
    /// The region requests are signed for.
    pub signing_region: String,
    /// The SigV4 service name when the credential scope overrides the model's.
    pub signing_name: Option<String>,
    /// The partition (`aws`, `aws-cn`, `aws-us-gov`, ...).
    pub partition: String,
}

/// Why no endpoint could be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointError {
    /// FIPS or dual-stack was asked for and the service has no such variant in the partition.
    NoVariant { tags: String, region: String },
}

impl std::fmt::Display for EndpointError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EndpointError::NoVariant { tags, region } => write!(
                f,
                "Unable to construct a modeled endpoint with the following variant(s) {tags}: region {region}"
            ),
        }
    }
}

struct Attrs<'a>(&'a str);

impl<'a> Attrs<'a> {
    fn get(&self, key: &str) -> Option<&'a str> {
        self.0.split(' ').find_map(|t| {
            let (k, v) = t.split_once('=')?;
            (k == key).then_some(v)
        })
    }
    fn has(&self, flag: &str) -> bool {
        self.0.split(' ').any(|t| t == flag)
    }
}

/// One partition's block of the table.
struct Partition<'a> {
    name: &'a str,
    head: Attrs<'a>,
    /// Lines after the partition line, up to the next one.
    body: &'a str,
}

fn partitions() -> impl Iterator<Item = Partition<'static>> {
    TABLE.split("\npartition ").skip(1).map(|block| {
        let (head, body) = block.split_once('\n').unwrap_or((block, ""));
        let (name, rest) = head.split_once(' ').unwrap_or((head, ""));
        Partition {
            name,
            head: Attrs(rest),
            body,
        }
    })
}

impl<'a> Partition<'a> {
    fn lists_region(&self, region: &str) -> bool {
        self.head
            .get("regions")
            .is_some_and(|r| r.split(',').any(|x| x == region))
    }

    fn matches_regex(&self, region: &str) -> bool {
        self.head
            .get("regex")
            .and_then(|r| crate::pattern::Pattern::new(r).ok())
            .is_some_and(|p| p.matches(region))
    }

    /// The partition's default variant lines.
    fn variants(&self) -> impl Iterator<Item = (&'a str, Attrs<'a>)> {
        self.body
            .split('\n')
            .take_while(|l| l.starts_with("  variant "))
            .filter_map(|l| variant(&l["  variant ".len()..]))
    }

    /// The service's block: its line's attributes and its indented lines.
    fn service(&self, prefix: &str) -> Option<(Attrs<'a>, &'a str)> {
        let body = self.body;
        let mut at = 0;
        while let Some(i) = body[at..].find("  service ") {
            let start = at + i;
            at = start + 1;
            if start > 0 && body.as_bytes()[start - 1] != b'\n' {
                continue;
            }
            let line_end = body[start..].find('\n').map_or(body.len(), |e| start + e);
            let line = &body[start + "  service ".len()..line_end];
            let (name, rest) = line.split_once(' ').unwrap_or((line, ""));
            if name != prefix {
                continue;
            }
            let block_start = (line_end + 1).min(body.len());
            let block_end = body[block_start..]
                .find("\n  service ")
                .map_or(body.len(), |e| block_start + e + 1);
            let block = &body[block_start..block_end];
            let end = block
                .split_inclusive('\n')
                .take_while(|l| l.starts_with("    "))
                .map(str::len)
                .sum::<usize>();
            return Some((Attrs(rest), &block[..end]));
        }
        None
    }
}

fn variant(rest: &str) -> Option<(&str, Attrs<'_>)> {
    let (tags, attrs) = rest.split_once(' ').unwrap_or((rest, ""));
    Some((tags, Attrs(attrs)))
}

/// An endpoint entry of a service block: its attributes and its variant lines.
fn endpoint<'a>(block: &'a str, name: &str) -> Option<(Attrs<'a>, Vec<(&'a str, Attrs<'a>)>)> {
    let mut lines = block.split('\n');
    while let Some(l) = lines.next() {
        let Some(rest) = l.strip_prefix("    endpoint ") else {
            continue;
        };
        let (n, attrs) = rest.split_once(' ').unwrap_or((rest, ""));
        if n != name {
            continue;
        }
        let variants = lines
            .take_while(|l| l.starts_with("      variant "))
            .filter_map(|l| variant(&l["      variant ".len()..]))
            .collect();
        return Some((Attrs(attrs), variants));
    }
    None
}

fn service_variants(block: &str) -> impl Iterator<Item = (&str, Attrs<'_>)> {
    block
        .split('\n')
        .take_while(|l| l.starts_with("    variant "))
        .filter_map(|l| variant(&l["    variant ".len()..]))
}

fn expand(template: &str, service: &str, region: &str, suffix: &str) -> String {
    template
        .replace("{service}", service)
        .replace("{region}", region)
        .replace("{dnsSuffix}", suffix)
}

/// The partition a region belongs to (`aws` for a region no partition claims).
pub fn partition_of(region: &str) -> &'static str {
    choose(region, None).name
}

fn choose(region: &str, prefix: Option<&str>) -> Partition<'static> {
    partitions()
        .find(|p| p.lists_region(region))
        .or_else(|| {
            let prefix = prefix?;
            partitions().find(|p| {
                p.service(prefix)
                    .is_some_and(|(_, block)| endpoint(block, region).is_some())
            })
        })
        .or_else(|| partitions().find(|p| p.matches_regex(region)))
        .unwrap_or_else(|| partitions().next().expect("the aws partition"))
}

/// The default endpoint of `service` in `region`, as botocore's partition data gives it.
pub fn resolve(
    service: &Service,
    region: &str,
    fips: bool,
    dualstack: bool,
) -> Result<Resolved, EndpointError> {
    let prefix = service.endpoint_prefix;
    let partition = choose(region, Some(prefix));
    let suffix = partition.head.get("suffix").unwrap_or("amazonaws.com");
    let (svc_attrs, block) = partition.service(prefix).unwrap_or((Attrs(""), ""));
    let mut ep_name = region;
    let mut ep = endpoint(block, region);
    if ep.is_none()
        && svc_attrs.has("global")
        && let Some(pe) = svc_attrs.get("partition-endpoint")
    {
        ep_name = pe;
        ep = endpoint(block, pe);
    }
    let (ep_attrs, ep_variants) = ep.unwrap_or((Attrs(""), Vec::new()));
    let host = if fips || dualstack {
        let tags = match (fips, dualstack) {
            (true, true) => "dualstack+fips",
            (true, false) => "fips",
            _ => "dualstack",
        };
        let own = ep_variants
            .iter()
            .find(|(t, a)| *t == tags && a.get("host").is_some())
            .map(|(_, a)| (a.get("host").unwrap_or(""), a.get("suffix")));
        let found = own
            .or_else(|| {
                service_variants(block)
                    .find(|(t, _)| *t == tags)
                    .and_then(|(_, a)| Some((a.get("host")?, a.get("suffix"))))
            })
            .or_else(|| {
                partition
                    .variants()
                    .find(|(t, _)| *t == tags)
                    .and_then(|(_, a)| Some((a.get("host")?, a.get("suffix"))))
            });
        let Some((template, vsuffix)) = found else {
            return Err(EndpointError::NoVariant {
                tags: tags.replace('+', ", "),
                region: region.to_string(),
            });
        };
        // A partition default variant names its own DNS suffix (`api.aws`).
        let vsuffix = vsuffix
            .or_else(|| {
                partition
                    .variants()
                    .find(|(t, _)| *t == tags)
                    .and_then(|(_, a)| a.get("suffix"))
            })
            .unwrap_or(suffix);
        expand(template, prefix, ep_name, vsuffix)
    } else {
        let template = ep_attrs
            .get("host")
            .or(svc_attrs.get("host"))
            .or(partition.head.get("host"))
            .unwrap_or("{service}.{region}.{dnsSuffix}");
        expand(template, prefix, ep_name, suffix)
    };
    let signing_region = ep_attrs
        .get("scope")
        .or(svc_attrs.get("scope"))
        .unwrap_or(region)
        .to_string();
    let signing_name = ep_attrs
        .get("scope-service")
        .or(svc_attrs.get("scope-service"))
        .map(str::to_string);
    Ok(Resolved {
        url: format!("https://{host}"),
        signing_region,
        signing_name,
        partition: partition.name.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(svc: &str, region: &str) -> (String, String) {
        let r = resolve(crate::service(svc).unwrap(), region, false, false).unwrap();
        (r.url, r.signing_region)
    }

    #[test]
    fn regional_global_and_other_partitions() {
        let s = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            url("sqs", "eu-west-1"),
            s("https://sqs.eu-west-1.amazonaws.com", "eu-west-1")
        );
        assert_eq!(
            url("iam", "eu-west-1"),
            s("https://iam.amazonaws.com", "us-east-1")
        );
        assert_eq!(
            url("iam", "cn-north-1"),
            s("https://iam.cn-north-1.amazonaws.com.cn", "cn-north-1")
        );
        assert_eq!(
            url("sts", "us-east-1"),
            s("https://sts.us-east-1.amazonaws.com", "us-east-1")
        );
        assert_eq!(
            url("sts", "aws-global"),
            s("https://sts.amazonaws.com", "us-east-1")
        );
        assert_eq!(
            url("ecr", "ap-northeast-1"),
            s(
                "https://api.ecr.ap-northeast-1.amazonaws.com",
                "ap-northeast-1"
            )
        );
        assert_eq!(
            url("route53", "eu-central-1"),
            s("https://route53.amazonaws.com", "us-east-1")
        );
        assert_eq!(
            url("dynamodb", "us-gov-west-1"),
            s(
                "https://dynamodb.us-gov-west-1.amazonaws.com",
                "us-gov-west-1"
            )
        );
        // A region no partition lists but whose name matches the aws pattern.
        assert_eq!(
            url("lambda", "us-east-9"),
            s("https://lambda.us-east-9.amazonaws.com", "us-east-9")
        );
        assert_eq!(partition_of("cn-northwest-1"), "aws-cn");
        assert_eq!(partition_of("eu-west-1"), "aws");
        assert_eq!(partition_of("nowhere"), "aws");
    }

    #[test]
    fn fips_and_dualstack_variants() {
        let v = |svc: &str, region: &str, fips: bool, ds: bool| {
            resolve(crate::service(svc).unwrap(), region, fips, ds).map(|r| r.url)
        };
        assert_eq!(
            v("sqs", "us-east-1", true, false).unwrap(),
            "https://sqs-fips.us-east-1.amazonaws.com"
        );
        assert_eq!(
            v("iam", "us-east-1", true, false).unwrap(),
            "https://iam-fips.amazonaws.com"
        );
        assert_eq!(
            v("ec2", "us-west-2", false, true).unwrap(),
            "https://ec2.us-west-2.api.aws"
        );
        assert_eq!(
            v("kms", "eu-west-1", true, true).unwrap(),
            "https://kms-fips.eu-west-1.api.aws"
        );
    }
}
