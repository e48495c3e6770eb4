//! The service model: services, operations, shapes, and the `.model` text format they are
//! parsed from.
//!
//! # The `.model` format
//!
//! One file per service (`model/iam.model`, `model/sts.model`, `model/ecr.model`), transcribed
//! from botocore's `service-2.json` + `paginators-1.json` by `tools/gen-model.py` (run it as
//! `python3 crates/api/tools/gen-model.py VENV/bin/python` with a venv holding botocore) and
//! checked against botocore by `tests/drift.rs`. Every operation of the three services is
//! transcribed (the CLI can call any of them); `kagi serve` implements the subset listed in the
//! generator's `OPS`, which must exist. The file is embedded with `include_str!` and parsed on
//! first use of the service (a few hundred lines, tens of microseconds); every name is a slice of
//! the embedded text, so parsing allocates only the tables.
//!
//! The format is line oriented; `#` starts a comment line, blank lines are ignored. Top-level
//! lines start with a keyword, indented lines belong to the preceding top-level line:
//!
//! ```text
//! op CreateUser in=CreateUserRequest out=CreateUserResponse wrap=CreateUserResult
//!   doc Creates a new IAM user for your Amazon Web Services account.
//!   page in=Marker out=Marker limit=MaxItems more=IsTruncated keys=Users
//! structure CreateUserRequest
//!   Path pathType
//!   UserName userNameType required -- The name of the user to create.
//! list tagListType member=Tag max=50
//! map tagMap key=tagKeyType value=tagValueType
//! string statusType enum=Active,Inactive
//! string userNameType min=1 max=64 pattern=[\w+=,.@-]+
//! string accessKeySecretType sensitive
//! integer maxItemsType min=1 max=1000
//! error NoSuchEntityException code=NoSuchEntity status=404 sender
//! ```
//!
//! * `op NAME [in=SHAPE] [out=SHAPE] [wrap=RESULT_WRAPPER]`, followed by optional `doc TEXT`
//!   (one line of help: the first sentence of botocore's documentation) and
//!   `page in= out= [limit=] [more=] keys=K1,K2 [nonagg=N1,N2]` (the botocore paginator).
//! * `TYPE NAME [attrs]` where TYPE is one of `structure list map string integer long boolean
//!   timestamp blob double float`. Attributes: `member=` (list), `key=`/`value=` (map),
//!   `min=`/`max=` (length for strings/lists/maps, value for numbers), `sensitive`, `union`
//!   (a structure with exactly one member set),
//!   `enum=A,B,C` and `pattern=REGEX` (always last: the rest of the line is the pattern).
//!   A structure is followed by one indented line per member, in botocore's order:
//!   `MemberName ShapeName [required] [-- one line of help]` (the help is kept for members of
//!   operation input/output shapes only, which is what the CLI's `help` shows).
//! * `error SHAPE code=CODE status=HTTP [sender]`: the operations' modelled errors.
//!
//! Shapes are referenced by name anywhere in the file (forward references included); the
//! parser assigns [`ShapeId`]s in file order and resolves references at the end. A malformed model is a bug caught by the unit tests, so the parser panics on it.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The wire protocol of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// AWS query protocol: form-encoded requests, XML responses (IAM, STS).
    Query {
        version: &'static str,
        xmlns: &'static str,
    },
    /// AWS JSON 1.1: `X-Amz-Target: prefix.Operation`, JSON bodies (ECR).
    Json11 {
        target_prefix: &'static str,
        json_version: &'static str,
    },
}

/// One AWS service: static metadata plus the lazily parsed model.
pub struct Service {
    /// The CLI command name (`iam`, `sts`, `ecr`).
    pub cli_name: &'static str,
    /// botocore's `serviceId` (`IAM`, `STS`, `ECR`).
    pub service_id: &'static str,
    /// botocore's `serviceFullName`.
    pub full_name: &'static str,
    /// The model's `apiVersion`.
    pub api_version: &'static str,
    pub protocol: Protocol,
    /// The SigV4 service name (`iam`, `sts`, `ecr`).
    pub signing_name: &'static str,
    /// The endpoint host prefix (`iam`, `sts`, `api.ecr`).
    pub endpoint_prefix: &'static str,
    /// For global services: the region requests are signed for (`iam` → `us-east-1`). `None`
    /// for STS: the AWS CLI v2 uses the regional endpoints (`sts.REGION.amazonaws.com`) although
    /// botocore's metadata still names `sts.amazonaws.com`.
    pub global_region: Option<&'static str>,
    /// For global services: the one endpoint host (`iam.amazonaws.com`).
    pub global_endpoint: Option<&'static str>,
    source: &'static str,
    model: OnceLock<Model>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("cli_name", &self.cli_name)
            .finish_non_exhaustive()
    }
}

struct Model {
    operations: Vec<Operation>,
    shapes: Vec<Shape>,
    shape_index: ShapeIndex,
    errors: Vec<ErrorShape>,
}

/// Index of a shape in its service's shape table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShapeId(pub u32);

/// One API operation.
pub struct Operation {
    /// The API name (`CreateUser`).
    pub name: &'static str,
    cli_name: String,
    /// The input structure, if the operation takes one.
    pub input: Option<ShapeId>,
    /// The output structure, if the operation returns one.
    pub output: Option<ShapeId>,
    /// Query protocol: the element wrapping the output members (`CreateUserResult`).
    pub result_wrapper: Option<&'static str>,
    pub paginator: Option<Paginator>,
    /// One line of help text.
    pub documentation: &'static str,
    service: &'static Service,
}

impl std::fmt::Debug for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operation")
            .field("service", &self.service.cli_name)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// botocore's paginator description for an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paginator {
    /// Input member carrying the continuation token (`Marker`, `nextToken`).
    pub input_token: &'static str,
    /// Output member carrying the next token (`Marker`, `nextToken`).
    pub output_token: &'static str,
    /// Input member limiting the page size (`MaxItems`, `maxResults`).
    pub limit_key: Option<&'static str>,
    /// Output members aggregated across pages. Usually a member name; may be a dotted path
    /// into the output (`imageScanFindings.findings`), as in botocore.
    pub result_keys: Vec<&'static str>,
    /// Output member telling whether more pages exist (`IsTruncated`).
    pub more_results: Option<&'static str>,
    /// Output members that are not aggregated: the CLI shows the first page's values beside
    /// the aggregated result keys (`Group` of GetGroup).
    pub non_aggregate_keys: Vec<&'static str>,
}

/// A shape (type) of the model.
#[derive(Debug)]
pub struct Shape {
    pub name: &'static str,
    pub kind: ShapeKind,
    /// String/list/map: minimum length; numbers: minimum value.
    pub min: Option<i64>,
    /// String/list/map: maximum length; numbers: maximum value.
    pub max: Option<i64>,
    /// Allowed values of a string enum (empty: any).
    pub enum_values: Vec<&'static str>,
    /// The regular expression a string must match (Java syntax, as in the AWS model).
    pub pattern: Option<&'static str>,
    /// The value is secret (passwords, secret keys): never log it.
    pub sensitive: bool,
    /// A tagged union: a structure in which exactly one member is set.
    pub union: bool,
    /// `pattern`, compiled on first use.
    compiled: OnceLock<Option<crate::pattern::Pattern>>,
}

/// What kind of shape, with its children.
#[derive(Debug)]
pub enum ShapeKind {
    Structure { members: Vec<Member> },
    List { member: ShapeId },
    Map { key: ShapeId, value: ShapeId },
    String,
    Integer,
    Long,
    Boolean,
    Timestamp,
    Blob,
    Double,
    Float,
}

impl ShapeKind {
    /// botocore's type name (`structure`, `string`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            ShapeKind::Structure { .. } => "structure",
            ShapeKind::List { .. } => "list",
            ShapeKind::Map { .. } => "map",
            ShapeKind::String => "string",
            ShapeKind::Integer => "integer",
            ShapeKind::Long => "long",
            ShapeKind::Boolean => "boolean",
            ShapeKind::Timestamp => "timestamp",
            ShapeKind::Blob => "blob",
            ShapeKind::Double => "double",
            ShapeKind::Float => "float",
        }
    }
}

/// A member of a structure.
#[derive(Debug)]
pub struct Member {
    /// The member (and wire) name, e.g. `UserName`.
    pub name: &'static str,
    pub shape: ShapeId,
    pub required: bool,
    /// One line of help (members of operation input/output shapes only; else empty).
    pub documentation: &'static str,
}

/// A modelled error of the service.
#[derive(Debug)]
pub struct ErrorShape {
    /// Shape name (`NoSuchEntityException`).
    pub shape: &'static str,
    /// Wire code (`NoSuchEntity`); for JSON services the shape name.
    pub code: &'static str,
    pub status: u16,
    pub sender_fault: bool,
}

impl Shape {
    /// Members of a structure shape (empty for other shapes).
    pub fn members(&self) -> &[Member] {
        match &self.kind {
            ShapeKind::Structure { members } => members,
            _ => &[],
        }
    }

    /// Whether `text` satisfies this shape's `pattern` (true when there is none). The pattern is
    /// compiled once, on first use.
    pub fn matches_pattern(&self, text: &str) -> bool {
        let Some(src) = self.pattern else {
            return true;
        };
        self.compiled
            .get_or_init(|| crate::pattern::Pattern::new(src).ok())
            .as_ref()
            .is_none_or(|p| p.matches(text))
    }

    /// The member called `name`, for structures.
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members().iter().find(|m| m.name == name)
    }
}

impl Service {
    pub(crate) const fn new(
        meta: (&'static str, &'static str, &'static str, &'static str),
        protocol: Protocol,
        signing_name: &'static str,
        endpoint_prefix: &'static str,
        global: Option<(&'static str, &'static str)>,
        source: &'static str,
    ) -> Service {
        Service {
            cli_name: meta.0,
            service_id: meta.1,
            full_name: meta.2,
            api_version: meta.3,
            protocol,
            signing_name,
            endpoint_prefix,
            global_region: match global {
                Some(g) => Some(g.0),
                None => None,
            },
            global_endpoint: match global {
                Some(g) => Some(g.1),
                None => None,
            },
            source,
            model: OnceLock::new(),
        }
    }

    fn model(&'static self) -> &'static Model {
        self.model.get_or_init(|| parse(self, self.source))
    }

    /// All modelled operations, in the model's order.
    pub fn operations(&'static self) -> &'static [Operation] {
        &self.model().operations
    }

    /// The operation with API name `name` (`CreateUser`).
    pub fn operation(&'static self, name: &str) -> Option<&'static Operation> {
        self.operations().iter().find(|o| o.name == name)
    }

    /// The operation with CLI name `name` (`create-user`).
    pub fn operation_by_cli_name(&'static self, name: &str) -> Option<&'static Operation> {
        self.operations().iter().find(|o| o.cli_name == name)
    }

    /// The shape with id `id`. Panics on an id from another service.
    pub fn shape(&'static self, id: ShapeId) -> &'static Shape {
        &self.model().shapes[id.0 as usize]
    }

    /// The shape called `name`.
    pub fn shape_by_name(&'static self, name: &str) -> Option<&'static Shape> {
        let m = self.model();
        m.shape_index.get(name).map(|id| &m.shapes[id.0 as usize])
    }

    /// All shapes reachable from the modelled operations.
    pub fn shapes(&'static self) -> &'static [Shape] {
        &self.model().shapes
    }

    /// The modelled errors of the service's operations.
    pub fn errors(&'static self) -> &'static [ErrorShape] {
        &self.model().errors
    }

    /// The modelled error whose wire code is `code`.
    pub fn error_by_code(&'static self, code: &str) -> Option<&'static ErrorShape> {
        self.errors().iter().find(|e| e.code == code)
    }

    /// The XML namespace of query services.
    pub fn xmlns(&self) -> Option<&'static str> {
        match self.protocol {
            Protocol::Query { xmlns, .. } => Some(xmlns),
            Protocol::Json11 { .. } => None,
        }
    }
}

impl Operation {
    /// The AWS CLI name (`create-user`), as botocore's `xform_name(name, '-')`.
    pub fn cli_name(&self) -> &str {
        &self.cli_name
    }

    /// The service this operation belongs to.
    pub fn service(&self) -> &'static Service {
        self.service
    }

    /// The input structure shape.
    pub fn input_shape(&self) -> Option<&'static Shape> {
        self.input.map(|id| self.service.shape(id))
    }

    /// The output structure shape.
    pub fn output_shape(&self) -> Option<&'static Shape> {
        self.output.map(|id| self.service.shape(id))
    }
}

/// botocore's `xform_name(name, sep)`: `CreateUser` → `create-user`, `ListMFADevices` →
/// `list-mfa-devices`, `GetAccessKeyInfo` → `get-access-key-info`, `ARNs` → `arns`.
pub fn xform_name(name: &str, sep: char) -> String {
    if name.contains(sep) {
        return name.to_string();
    }
    let mut chars: Vec<char> = name.chars().collect();
    // Special case: a pluralised acronym at the end (`GatewayARNs` → `Gateway_arns`).
    let n = chars.len();
    if n >= 3 && chars[n - 1] == 's' {
        let mut start = n - 1;
        while start > 0 && chars[start - 1].is_ascii_uppercase() {
            start -= 1;
        }
        if n - 1 - start >= 2 {
            let mut v: Vec<char> = chars[..start].to_vec();
            v.push(sep);
            v.extend(chars[start..].iter().map(|c| c.to_ascii_lowercase()));
            chars = v;
        }
    }
    // _first_cap_regex: '(.)([A-Z][a-z]+)' -> '\1 sep \2' (non-overlapping, left to right).
    let mut s1: Vec<char> = Vec::with_capacity(chars.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        if i + 2 < chars.len()
            && chars[i + 1].is_ascii_uppercase()
            && chars[i + 2].is_ascii_lowercase()
        {
            // match (.)([A-Z][a-z]+)
            s1.push(chars[i]);
            s1.push(sep);
            let mut j = i + 1;
            s1.push(chars[j]);
            j += 1;
            while j < chars.len() && chars[j].is_ascii_lowercase() {
                s1.push(chars[j]);
                j += 1;
            }
            i = j;
        } else {
            s1.push(chars[i]);
            i += 1;
        }
    }
    // _end_cap_regex: '([a-z0-9])([A-Z])' -> '\1 sep \2'.
    let mut out = String::with_capacity(s1.len() + 8);
    let mut i = 0;
    while i < s1.len() {
        let c = s1[i];
        if (c.is_ascii_lowercase() || c.is_ascii_digit())
            && i + 1 < s1.len()
            && s1[i + 1].is_ascii_uppercase()
        {
            out.push(c);
            out.push(sep);
            out.push(s1[i + 1]);
            i += 2;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out.to_lowercase()
}

/// `k=v` attribute tokens of `rest` (space separated).
fn attrs(rest: &'static str) -> impl Iterator<Item = (&'static str, &'static str)> {
    rest.split(' ')
        .filter(|t| !t.is_empty())
        .map(|t| t.split_once('=').unwrap_or((t, "")))
}

/// FNV-1a: shape names are short and trusted; SipHash costs more than the whole parse.
#[derive(Default)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= *b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type ShapeIndex = HashMap<&'static str, ShapeId, std::hash::BuildHasherDefault<Fnv>>;

fn parse(service: &'static Service, src: &'static str) -> Model {
    // One pass: shape references may point forward, so they are recorded as names in `fixups`
    // and resolved once every shape has an id.
    let mut shape_index = ShapeIndex::with_capacity_and_hasher(1024, Default::default());
    enum Fix {
        Member(usize, usize),
        ListMember(usize),
        MapKey(usize),
        MapValue(usize),
        OpIn(usize),
        OpOut(usize),
    }
    let mut fixups: Vec<(Fix, &'static str)> = Vec::with_capacity(4096);
    const UNRESOLVED: ShapeId = ShapeId(u32::MAX);

    let mut operations: Vec<Operation> = Vec::with_capacity(128);
    let mut shapes: Vec<Shape> = Vec::with_capacity(1024);
    let mut errors = Vec::new();
    // What indented lines attach to.
    enum Ctx {
        None,
        Op,
        Struct,
    }
    let mut ctx = Ctx::None;
    for line in src.split('\n') {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("  ") {
            match ctx {
                Ctx::Op => {
                    let op = operations.last_mut().expect("op");
                    if let Some(doc) = rest.strip_prefix("doc ") {
                        op.documentation = doc;
                    } else if let Some(p) = rest.strip_prefix("page ") {
                        let mut pg = Paginator {
                            input_token: "",
                            output_token: "",
                            limit_key: None,
                            result_keys: Vec::new(),
                            more_results: None,
                            non_aggregate_keys: Vec::new(),
                        };
                        for (k, v) in attrs(p) {
                            match k {
                                "in" => pg.input_token = v,
                                "out" => pg.output_token = v,
                                "limit" => pg.limit_key = Some(v),
                                "more" => pg.more_results = Some(v),
                                "keys" => pg.result_keys = v.split(',').collect(),
                                "nonagg" => pg.non_aggregate_keys = v.split(',').collect(),
                                _ => panic!("bad paginator attribute {k}"),
                            }
                        }
                        op.paginator = Some(pg);
                    } else {
                        panic!("bad op line {line:?}");
                    }
                }
                Ctx::Struct => {
                    // `Name Shape [required] [-- doc]`
                    let (name, rest) = rest.split_once(' ').expect("member shape");
                    let (shape, mut rest) = rest.split_once(' ').unwrap_or((rest, ""));
                    let required = match rest.strip_prefix("required") {
                        Some(r) => {
                            rest = r.trim_start();
                            true
                        }
                        None => false,
                    };
                    let documentation = match rest.strip_prefix("-- ") {
                        Some(doc) => doc,
                        None if rest.is_empty() => "",
                        None => panic!("bad member line {line:?}"),
                    };
                    let si = shapes.len() - 1;
                    if let Some(Shape {
                        kind: ShapeKind::Structure { members },
                        ..
                    }) = shapes.last_mut()
                    {
                        fixups.push((Fix::Member(si, members.len()), shape));
                        members.push(Member {
                            name,
                            shape: UNRESOLVED,
                            required,
                            documentation,
                        });
                    }
                }
                Ctx::None => panic!("indented line outside a block: {line:?}"),
            }
            continue;
        }
        let (kw, rest) = line.split_once(' ').expect("keyword and name");
        let (name, rest) = rest.split_once(' ').unwrap_or((rest, ""));
        match kw {
            "op" => {
                let mut op = Operation {
                    name,
                    cli_name: xform_name(name, '-'),
                    input: None,
                    output: None,
                    result_wrapper: None,
                    paginator: None,
                    documentation: "",
                    service,
                };
                for (k, v) in attrs(rest) {
                    match k {
                        "in" => {
                            op.input = Some(UNRESOLVED);
                            fixups.push((Fix::OpIn(operations.len()), v));
                        }
                        "out" => {
                            op.output = Some(UNRESOLVED);
                            fixups.push((Fix::OpOut(operations.len()), v));
                        }
                        "wrap" => op.result_wrapper = Some(v),
                        _ => panic!("bad op attribute {k}"),
                    }
                }
                operations.push(op);
                ctx = Ctx::Op;
            }
            "error" => {
                let mut e = ErrorShape {
                    shape: name,
                    code: name,
                    status: 400,
                    sender_fault: false,
                };
                for (k, v) in attrs(rest) {
                    match k {
                        "code" => e.code = v,
                        "status" => e.status = v.parse().expect("status"),
                        "sender" => e.sender_fault = true,
                        _ => panic!("bad error attribute {k}"),
                    }
                }
                errors.push(e);
                ctx = Ctx::None;
            }
            _ => {
                // A pattern is the rest of the line after `pattern=` (always last).
                let (rest, pattern) = match rest.find("pattern=") {
                    Some(i) => (&rest[..i], Some(&rest[i + "pattern=".len()..])),
                    None => (rest, None),
                };
                let mut shape = Shape {
                    name,
                    kind: ShapeKind::String,
                    min: None,
                    max: None,
                    enum_values: Vec::new(),
                    pattern,
                    sensitive: false,
                    union: false,
                    compiled: OnceLock::new(),
                };
                let si = shapes.len();
                let id = ShapeId(si as u32);
                assert!(
                    shape_index.insert(name, id).is_none(),
                    "duplicate shape {name}"
                );
                let (mut member, mut key, mut value) = (None, None, None);
                for (k, v) in attrs(rest) {
                    match k {
                        "member" => {
                            member = Some(UNRESOLVED);
                            fixups.push((Fix::ListMember(si), v));
                        }
                        "key" => {
                            key = Some(UNRESOLVED);
                            fixups.push((Fix::MapKey(si), v));
                        }
                        "value" => {
                            value = Some(UNRESOLVED);
                            fixups.push((Fix::MapValue(si), v));
                        }
                        "min" => shape.min = Some(v.parse().expect("min")),
                        "max" => shape.max = Some(v.parse().expect("max")),
                        "sensitive" => shape.sensitive = true,
                        "union" => shape.union = true,
                        "enum" => shape.enum_values = v.split(',').collect(),
                        _ => panic!("bad shape attribute {k}"),
                    }
                }
                shape.kind = match kw {
                    "structure" => ShapeKind::Structure {
                        members: Vec::new(),
                    },
                    "list" => ShapeKind::List {
                        member: member.expect("list member"),
                    },
                    "map" => ShapeKind::Map {
                        key: key.expect("map key"),
                        value: value.expect("map value"),
                    },
                    "string" => ShapeKind::String,
                    "integer" => ShapeKind::Integer,
                    "long" => ShapeKind::Long,
                    "boolean" => ShapeKind::Boolean,
                    "timestamp" => ShapeKind::Timestamp,
                    "blob" => ShapeKind::Blob,
                    "double" => ShapeKind::Double,
                    "float" => ShapeKind::Float,
                    _ => panic!("bad model line {line:?}"),
                };
                shapes.push(shape);
                ctx = if kw == "structure" {
                    Ctx::Struct
                } else {
                    Ctx::None
                };
            }
        }
    }
    for (fix, name) in fixups {
        let id = *shape_index
            .get(name)
            .unwrap_or_else(|| panic!("{}: unknown shape {name}", service.cli_name));
        match fix {
            Fix::OpIn(i) => operations[i].input = Some(id),
            Fix::OpOut(i) => operations[i].output = Some(id),
            Fix::Member(si, mi) => {
                if let ShapeKind::Structure { members } = &mut shapes[si].kind {
                    members[mi].shape = id;
                }
            }
            Fix::ListMember(si) => {
                if let ShapeKind::List { member } = &mut shapes[si].kind {
                    *member = id;
                }
            }
            Fix::MapKey(si) => {
                if let ShapeKind::Map { key, .. } = &mut shapes[si].kind {
                    *key = id;
                }
            }
            Fix::MapValue(si) => {
                if let ShapeKind::Map { value, .. } = &mut shapes[si].kind {
                    *value = id;
                }
            }
        }
    }
    Model {
        operations,
        shapes,
        shape_index,
        errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xform_name_matches_botocore_rules() {
        for (input, want) in [
            ("CreateUser", "create-user"),
            ("ListMFADevices", "list-mfa-devices"),
            ("CreateVirtualMFADevice", "create-virtual-mfa-device"),
            ("GetAccessKeyLastUsed", "get-access-key-last-used"),
            ("GetCallerIdentity", "get-caller-identity"),
            ("GetDownloadUrlForLayer", "get-download-url-for-layer"),
            ("UserName", "user-name"),
            ("SerialNumber", "serial-number"),
            ("AuthenticationCode1", "authentication-code1"),
            ("PolicyARNs", "policy-arns"),
            ("PolicyArns", "policy-arns"),
            ("imageIds", "image-ids"),
            ("repositoryName", "repository-name"),
            ("ResourceArns", "resource-arns"),
            ("DurationSeconds", "duration-seconds"),
            ("TokenCode", "token-code"),
            ("already-done", "already-done"),
        ] {
            assert_eq!(xform_name(input, '-'), want, "{input}");
        }
    }
}
