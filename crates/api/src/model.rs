//! The service model: services, operations, shapes, and the `.model` text format they are
//! parsed from.
//!
//! # The `.model` format
//!
//! One file per service of the pinned botocore (`model/<name>.model`, 439 of them), transcribed
//! from botocore's `service-2.json` + `paginators-1.json` by `tools/gen-model.py` (run it as
//! `python3 crates/api/tools/gen-model.py VENV/bin/python` with a venv holding botocore) and
//! checked against botocore by `tests/drift.rs`. Every operation is transcribed (the CLI can
//! call any of them); `kagi serve` implements the subset of IAM, STS and ECR listed in the
//! generator's `OPS`, which must exist. `build.rs` deflates the files into the binary (IAM,
//! STS and ECR stay text); every name is a slice of the (then leaked) text, so parsing
//! allocates only the tables.
//!
//! # Decoding on demand
//!
//! A service's model is inflated on first use of the service and then indexed in one pass
//! (`index`): operations (with their paginators and waiters) and errors are parsed; each shape
//! is only named and located (its block of lines), and decoded the first time something asks
//! for it ([`Service::shape`], `decode_shape`). A command therefore decodes the shapes its
//! operation reaches, not the service (EC2: ~100 of 4,400 shapes for `describe-instances`).
//! A [`ShapeId`] is the shape's position in the file either way, and a shape decoded on demand
//! is the one a full decode ([`Service::shapes`]) gives (unit tests, every operation of every
//! service). The text format stays the one decoder's input: no build-time index to keep in
//! step with it, and the protocol test suites' models (`Service::from_model_text`) take the
//! same path.
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
//! * `op NAME [cli=NAME] [in=SHAPE [inas=ROOT] [inns=URI]] [out=SHAPE] [wrap=RESULT_WRAPPER]
//!   [http=METHOD:URI] [code=STATUS] [hostprefix=P] [auth=none|v4-unsigned-body] [checksum]`,
//!   followed by optional `doc TEXT` (one line of help: the first sentence of botocore's
//!   documentation) and `page in= out= [limit=] [more=] keys=K1,K2 [nonagg=N1,N2]` (the
//!   botocore paginator; tokens may be lists and expressions, `%XX`-escaped). `cli=` is one of
//!   botocore's xform exceptions (`create-oauth2-token`); `inas=`/`inns=` the rest-xml body's
//!   root element and namespace; `http=` is written for the REST protocols and wherever it is
//!   not `POST:/`. `algo=M`/`cmode=M` are the flexible-checksum members (`httpChecksum`'s
//!   `requestAlgorithmMember`, `requestValidationModeMember`). Waiters follow their operation:
//!   `wait NAME delay=S max=N`, then `acc STATE MATCHER EXPECTED [ARGUMENT]` per acceptor
//!   (EXPECTED is JSON, `%XX`-escaped; ARGUMENT the rest of the line).
//! * `TYPE NAME [attrs]` where TYPE is one of `structure list map string integer long boolean
//!   timestamp blob double float`. Attributes: `member=` (list), `key=`/`value=` (map),
//!   `min=`/`max=` (length for strings/lists/maps, value for numbers), `sensitive`, `union`
//!   (a structure with exactly one member set),
//!   `fmin=`/`fmax=` (fractional bounds), `document`, `flat`, `streaming`, `requireslength`,
//!   `eventstream`, `event`, `payload=MEMBER`, `ts=FORMAT`, `as=` (XML name), `ns=URI`,
//!   `memberas=`/`keyas=`/`valueas=` (item names), `memberjsonvalue`,
//!   `enum=A,B,C` (values `%XX`-escaped for `%`, space, `,`, `=`) and `pattern=REGEX` (always
//!   last: the rest of the line is the pattern).
//!   A structure is followed by one indented line per member, in botocore's order:
//!   `MemberName ShapeName [required] [loc=uri|querystring|header|headers|statusCode]
//!   [as=WIRE_NAME] [qn=EC2_NAME] [idem] [host] [jsonvalue] [xmlattr] [flat] [ns=URI]
//!   [nsprefix=P] [eventpayload] [streaming] [-- one line of help]` (the help is kept for
//!   members of operation input/output shapes only, which is what the CLI's `help` shows).
//! * `error SHAPE code=CODE status=HTTP [sender]`: the operations' modelled errors.
//!
//! Shapes are referenced by name anywhere in the file (forward references included); the
//! index assigns [`ShapeId`]s in file order, and a shape's references are resolved through it
//! when the shape is decoded. A malformed model is a bug caught by the unit tests (which decode
//! every shape of every service), so the parser panics on it.

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
    /// AWS JSON 1.0/1.1: `X-Amz-Target: prefix.Operation`, JSON bodies (ECR, DynamoDB, SQS).
    Json11 {
        target_prefix: &'static str,
        json_version: &'static str,
    },
    /// REST with JSON bodies: members bound to the URI, query string and headers (Lambda).
    RestJson,
    /// REST with XML bodies (Route 53, CloudFront, S3).
    RestXml { xmlns: &'static str },
    /// The EC2 dialect of the query protocol.
    Ec2 {
        version: &'static str,
        xmlns: &'static str,
    },
    /// Smithy RPC v2 CBOR (services that list no other protocol botocore speaks).
    Cbor { target_prefix: &'static str },
}

impl Protocol {
    /// botocore's protocol name (`query`, `json`, `rest-json`, `rest-xml`, `ec2`,
    /// `smithy-rpc-v2-cbor`).
    pub fn name(&self) -> &'static str {
        match self {
            Protocol::Query { .. } => "query",
            Protocol::Json11 { .. } => "json",
            Protocol::RestJson => "rest-json",
            Protocol::RestXml { .. } => "rest-xml",
            Protocol::Ec2 { .. } => "ec2",
            Protocol::Cbor { .. } => "smithy-rpc-v2-cbor",
        }
    }
}

/// Where a service's model text lives in the binary.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ModelSource {
    /// Uncompressed (`include_str!`).
    Text(&'static str),
    /// Raw deflate, inflated on first use into a buffer of the text's length (the second
    /// field: build.rs records it, so the buffer is allocated once and never grown).
    Deflate(&'static [u8], usize),
}

/// One AWS service: static metadata plus the lazily parsed model.
pub struct Service {
    /// botocore's service name, the name of its data directory (`s3`, `config`).
    pub name: &'static str,
    /// The CLI command name (`iam`, `sts`, `ecr`, `s3api`, `configservice`).
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
    /// The JSON protocol service answers errors with the query protocol's codes
    /// (`awsQueryCompatible`: SQS), in the `x-amzn-query-error` header.
    pub aws_query_compatible: bool,
    /// The model text: raw deflate (build.rs), or as it is for the services kagi serve
    /// speaks (their models are parsed at every server start and on the seed story's CLI path).
    source: ModelSource,
    model: OnceLock<Box<Model>>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("cli_name", &self.cli_name)
            .finish_non_exhaustive()
    }
}

/// A service's model as [`index`] leaves it: operations and errors parsed, shapes located by
/// name and decoded one by one on first use, so a command pays for the shapes its operation
/// reaches, not for the whole service (EC2: 4,400 shapes, ~70 for `describe-instances`).
struct Model {
    operations: Vec<Operation>,
    errors: Vec<ErrorShape>,
    /// Each shape's block of the model text (its line, and a structure's member lines), in
    /// file order: a [`ShapeId`] is an index of it.
    blocks: Vec<&'static str>,
    /// The decoded shapes, beside `blocks`: each filled by [`decode_shape`] on first use.
    shapes: Vec<OnceLock<Box<Shape>>>,
    /// Shape name → id.
    shape_index: ShapeIndex,
}

/// Index of a shape in its service's shape table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShapeId(pub u32);

/// One API operation.
pub struct Operation {
    /// The API name (`CreateUser`).
    pub name: &'static str,
    cli_name: String,
    /// A hidden alias (the generic `xform_name` form when botocore overrides it).
    cli_alias: Option<String>,
    /// The input structure, if the operation takes one.
    pub input: Option<ShapeId>,
    /// The output structure, if the operation returns one.
    pub output: Option<ShapeId>,
    /// Query protocol: the element wrapping the output members (`CreateUserResult`).
    pub result_wrapper: Option<&'static str>,
    pub paginator: Option<Paginator>,
    /// One line of help text.
    pub documentation: &'static str,
    /// HTTP method and request URI (`POST`, `/`; REST protocols: `GET`,
    /// `/2015-03-31/functions/{FunctionName}`).
    pub http_method: &'static str,
    pub request_uri: &'static str,
    /// The success status (`200`; REST protocols may say `201`, `204`).
    pub response_code: u16,
    /// The host prefix (`data.`, `{AccountId}.`) put before the endpoint's host.
    pub host_prefix: Option<&'static str>,
    /// `none`: sent unsigned (`AssumeRoleWithWebIdentity`); `v4-unsigned-body`: signed with
    /// an unsigned payload.
    pub auth: Option<&'static str>,
    /// The request must carry a checksum (`Content-MD5` or a flexible checksum).
    pub checksum_required: bool,
    /// Flexible checksums (`httpChecksum`): the input member naming the request's checksum
    /// algorithm (`ChecksumAlgorithm`); botocore sends CRC32 when it is unset.
    pub checksum_algorithm_member: Option<&'static str>,
    /// The input member that asks for a response checksum (`ChecksumMode`); botocore sets it
    /// to `ENABLED` by default.
    pub checksum_mode_member: Option<&'static str>,
    /// botocore's waiters on this operation (`waiters-2.json`).
    pub waiters: Vec<Waiter>,
    /// rest-xml: the root element of the request body and its namespace (the operation's
    /// input reference: `CreateHostedZoneRequest`, Route 53's namespace).
    pub input_location_name: Option<&'static str>,
    pub input_xml_namespace: Option<&'static str>,
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

/// A botocore waiter: call the operation every `delay` seconds, at most `max_attempts` times,
/// until an acceptor says success (or failure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiter {
    /// `BucketExists` (the CLI's `bucket-exists`).
    pub name: &'static str,
    pub delay: u32,
    pub max_attempts: u32,
    pub acceptors: Vec<Acceptor>,
}

/// One acceptor of a waiter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acceptor {
    /// `success`, `failure` or `retry`.
    pub state: &'static str,
    /// `path`, `pathAll`, `pathAny`, `status` or `error`.
    pub matcher: &'static str,
    /// The expected value as JSON text (`"running"`, `200`, `true`).
    pub expected: &'static str,
    /// The JMESPath expression of the path matchers.
    pub argument: Option<&'static str>,
}

/// botocore's paginator description for an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paginator {
    /// Input member carrying the continuation token (`Marker`, `nextToken`); the first of
    /// `input_tokens`.
    pub input_token: &'static str,
    /// Output member carrying the next token (`Marker`, `nextToken`); the first of
    /// `output_tokens`.
    pub output_token: &'static str,
    /// All input tokens (S3's ListObjectVersions has two).
    pub input_tokens: Vec<&'static str>,
    /// All output tokens; each may be a JMESPath expression (`NextMarker || Contents[-1].Key`).
    pub output_tokens: Vec<&'static str>,
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
    /// Fractional bounds of float/double shapes (`fmin=`/`fmax=`).
    pub fmin: Option<f64>,
    pub fmax: Option<f64>,
    /// A document: any JSON value, carried as it is.
    pub document: bool,
    /// XML: a flattened list or map (no wrapping element).
    pub flattened: bool,
    /// A streaming blob (the operation's body).
    pub streaming: bool,
    /// An event stream, and an event of one.
    pub eventstream: bool,
    pub event: bool,
    /// A streaming body whose length must be known.
    pub requires_length: bool,
    /// REST: the member that is the whole body.
    pub payload: Option<&'static str>,
    /// `iso8601`, `rfc822`, `unixTimestamp`: overrides the protocol's timestamp format.
    pub timestamp_format: Option<&'static str>,
    /// XML: the element name of this shape (a top-level input's root element).
    pub location_name: Option<&'static str>,
    /// XML: the namespace of this shape's element.
    pub xml_namespace: Option<&'static str>,
    /// Lists: the element name of each item (`member`, `item`); maps: of keys and values.
    pub member_location_name: Option<&'static str>,
    pub key_location_name: Option<&'static str>,
    pub value_location_name: Option<&'static str>,
    /// Lists: each item is a JSON document in a string.
    pub member_json_value: bool,
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
    /// Where a REST protocol puts the member (`uri`, `querystring`, `header`, `headers`,
    /// `statusCode`); `None`: in the body.
    pub location: Option<&'static str>,
    /// The wire name (header, query key, URI label, XML element, JSON key, query-protocol
    /// key) when it is not `name`.
    pub location_name: Option<&'static str>,
    /// EC2: the query key (`queryName`).
    pub query_name: Option<&'static str>,
    /// Filled with a fresh UUID when not given (`ClientToken`).
    pub idempotency_token: bool,
    /// Part of the endpoint's host prefix.
    pub host_label: bool,
    /// A JSON document carried in a string (a header, base64-encoded).
    pub json_value: bool,
    /// XML: an attribute, not an element.
    pub xml_attribute: bool,
    /// XML: a flattened list or map.
    pub flattened: bool,
    /// XML namespace (and prefix) of the element.
    pub xml_namespace: Option<&'static str>,
    pub xml_namespace_prefix: Option<&'static str>,
    /// The event stream's payload member.
    pub event_payload: bool,
    /// A streaming member.
    pub streaming: bool,
}

impl Member {
    /// The name on the wire: `locationName` when the model gives one.
    pub fn wire_name(&self) -> &'static str {
        self.location_name.unwrap_or(self.name)
    }
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
    /// One row of the catalog (`model/catalog.txt`; see `lib.rs`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) const fn generated(
        name: &'static str,
        cli_name: &'static str,
        meta: (&'static str, &'static str, &'static str),
        protocol: Protocol,
        signing_name: &'static str,
        endpoint_prefix: &'static str,
        global: Option<(&'static str, &'static str)>,
        aws_query_compatible: bool,
        source: ModelSource,
    ) -> Service {
        Service {
            name,
            cli_name,
            service_id: meta.0,
            full_name: meta.1,
            api_version: meta.2,
            aws_query_compatible,
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
        self.model
            .get_or_init(|| Box::new(index(self, self.inflate())))
    }

    /// The model's text, inflated (once, by `model`: it then lives as long as the process,
    /// every name in the parsed model is a slice of it).
    fn inflate(&self) -> &'static str {
        let (packed, len) = match self.source {
            ModelSource::Text(text) => return text,
            ModelSource::Deflate(packed, len) => (packed, len),
        };
        let mut bytes = vec![0; len];
        let n = miniz_oxide::inflate::decompress_slice_iter_to_slice(
            &mut bytes,
            std::iter::once(packed),
            false,
            true,
        )
        .unwrap_or_else(|e| panic!("{}: corrupt embedded model: {e:?}", self.name));
        assert_eq!(n, len, "{}: corrupt embedded model", self.name);
        let text = String::from_utf8(bytes)
            .unwrap_or_else(|_| panic!("{}: embedded model is not UTF-8", self.name));
        Box::leak(text.into_boxed_str())
    }

    /// A service built at run time from `.model` text (the protocol test suites build one per
    /// case with tools/gen-model.py). It lives for the rest of the process.
    #[doc(hidden)]
    pub fn from_model_text(name: &str, protocol: Protocol, text: String) -> &'static Service {
        let name: &'static str = Box::leak(name.to_string().into_boxed_str());
        Box::leak(Box::new(Service::generated(
            name,
            name,
            (name, name, ""),
            protocol,
            name,
            name,
            None,
            false,
            ModelSource::Text(Box::leak(text.into_boxed_str())),
        )))
    }

    /// The size of the model embedded in the binary (compressed, for most).
    pub fn compressed_len(&self) -> usize {
        match self.source {
            ModelSource::Text(t) => t.len(),
            ModelSource::Deflate(b, _) => b.len(),
        }
    }

    /// All modelled operations, in the model's order.
    pub fn operations(&'static self) -> &'static [Operation] {
        &self.model().operations
    }

    /// Every waiter of the service with its operation, in the model's order.
    pub fn waiters(&'static self) -> impl Iterator<Item = (&'static Operation, &'static Waiter)> {
        self.operations()
            .iter()
            .flat_map(|o| o.waiters.iter().map(move |w| (o, w)))
    }

    /// The operation with API name `name` (`CreateUser`).
    pub fn operation(&'static self, name: &str) -> Option<&'static Operation> {
        self.operations().iter().find(|o| o.name == name)
    }

    /// The operation with CLI name `name` (`create-user`).
    pub fn operation_by_cli_name(&'static self, name: &str) -> Option<&'static Operation> {
        let ops = self.operations();
        ops.iter()
            .find(|o| o.cli_name == name)
            .or_else(|| ops.iter().find(|o| o.cli_alias.as_deref() == Some(name)))
    }

    /// The shape with id `id`, decoded on first use. Panics on an id from another service.
    pub fn shape(&'static self, id: ShapeId) -> &'static Shape {
        let m = self.model();
        let i = id.0 as usize;
        m.shapes[i].get_or_init(|| Box::new(decode_shape(self, &m.shape_index, m.blocks[i])))
    }

    /// The shape called `name`.
    pub fn shape_by_name(&'static self, name: &str) -> Option<&'static Shape> {
        let id = *self.model().shape_index.get(name)?;
        Some(self.shape(id))
    }

    /// All shapes reachable from the modelled operations, in the model's order (decoding each:
    /// for tests and tools; a command reaches its shapes through [`Operation::input_shape`],
    /// [`Member::shape`] and [`Service::shape`]).
    pub fn shapes(&'static self) -> impl ExactSizeIterator<Item = &'static Shape> {
        (0..self.model().blocks.len()).map(|i| self.shape(ShapeId(i as u32)))
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
            Protocol::Query { xmlns, .. }
            | Protocol::Ec2 { xmlns, .. }
            | Protocol::RestXml { xmlns } => Some(xmlns),
            Protocol::Json11 { .. } | Protocol::RestJson | Protocol::Cbor { .. } => None,
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

/// Decodes the `%XX` escapes of an enum value or paginator expression (`tools/gen-model.py`'s
/// `enum_escape`). Values without escapes stay slices of the model text; the few others are
/// decoded once and kept for the life of the process, like the model itself.
fn unescape(v: &'static str) -> &'static str {
    if !v.contains('%') {
        return v;
    }
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(x) = u8::from_str_radix(&v[i + 1..i + 3], 16)
        {
            out.push(x);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Box::leak(String::from_utf8_lossy(&out).into_owned().into_boxed_str())
}

fn list(v: &'static str) -> Vec<&'static str> {
    v.split(',').map(unescape).collect()
}

/// The first pass over a model's text ([`Service::model`]): operations (with their paginators
/// and waiters) and errors are parsed; each shape is only named and located (its block: its
/// line and a structure's member lines), to be decoded on first use by [`decode_shape`].
fn index(service: &'static Service, src: &'static str) -> Model {
    // About one shape per 280 bytes of text (EC2: 4,411 in 1.25 MB): sized so as not to grow.
    let capacity = src.len() / 256 + 16;
    let mut shape_index = ShapeIndex::with_capacity_and_hasher(capacity, Default::default());
    let mut blocks: Vec<&'static str> = Vec::with_capacity(capacity);
    // Operation input/output references may point forward: recorded as names, resolved once
    // every shape has an id.
    enum Fix {
        OpIn(usize),
        OpOut(usize),
    }
    let mut fixups: Vec<(Fix, &'static str)> = Vec::with_capacity(256);
    let mut operations: Vec<Operation> = Vec::with_capacity(128);
    let mut errors = Vec::new();
    // What indented lines attach to.
    enum Ctx {
        None,
        Op,
        Shape,
    }
    let mut ctx = Ctx::None;
    // Where the current shape's block starts (a byte offset of `src`).
    let mut block_start = None;
    let offset = |line: &str| line.as_ptr() as usize - src.as_ptr() as usize;
    // Lines found with memchr's SIMD search: `str::split` costs more than the rest of the pass.
    let mut at = 0;
    let ends = memchr::memchr_iter(b'\n', src.as_bytes()).chain([src.len()]);
    for end in ends {
        let line = &src[at..end];
        at = end + 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("  ") {
            match ctx {
                Ctx::Op => op_line(operations.last_mut().expect("op"), rest),
                Ctx::Shape => {}
                Ctx::None => panic!("indented line outside a block: {line:?}"),
            }
            continue;
        }
        if let Some(start) = block_start.take() {
            blocks.push(&src[start..offset(line)]);
        }
        let (kw, rest) = first_word(line);
        assert!(!rest.is_empty(), "keyword and name: {line:?}");
        let (name, rest) = first_word(rest);
        match kw {
            "op" => {
                let mut op = Operation {
                    name,
                    cli_name: xform_name(name, '-'),
                    cli_alias: None,
                    input: None,
                    output: None,
                    result_wrapper: None,
                    paginator: None,
                    documentation: "",
                    http_method: "POST",
                    request_uri: "/",
                    response_code: 200,
                    host_prefix: None,
                    auth: None,
                    checksum_required: false,
                    checksum_algorithm_member: None,
                    checksum_mode_member: None,
                    waiters: Vec::new(),
                    input_location_name: None,
                    input_xml_namespace: None,
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
                        // botocore's xform_name exceptions (`create-oauth2-token`); the
                        // generic form stays accepted, as the AWS CLI's hidden aliases do.
                        "cli" => {
                            op.cli_alias = Some(std::mem::replace(&mut op.cli_name, v.into()));
                        }
                        "http" => {
                            let (m, u) = v.split_once(':').expect("http=METHOD:URI");
                            op.http_method = m;
                            op.request_uri = u;
                        }
                        "code" => op.response_code = v.parse().expect("code"),
                        "hostprefix" => op.host_prefix = Some(v),
                        "auth" => op.auth = Some(v),
                        "checksum" => op.checksum_required = true,
                        "algo" => op.checksum_algorithm_member = Some(v),
                        "cmode" => op.checksum_mode_member = Some(v),
                        "inas" => op.input_location_name = Some(v),
                        "inns" => op.input_xml_namespace = Some(v),
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
            "structure" | "list" | "map" | "string" | "integer" | "long" | "boolean"
            | "timestamp" | "blob" | "double" | "float" => {
                let id = ShapeId(blocks.len() as u32);
                assert!(
                    shape_index.insert(name, id).is_none(),
                    "duplicate shape {name}"
                );
                block_start = Some(offset(line));
                // Only a structure has indented lines (its members).
                ctx = if kw == "structure" {
                    Ctx::Shape
                } else {
                    Ctx::None
                };
            }
            _ => panic!("bad model line {line:?}"),
        }
    }
    if let Some(start) = block_start {
        blocks.push(&src[start..]);
    }
    for (fix, name) in fixups {
        let id = resolve(service, &shape_index, name);
        match fix {
            Fix::OpIn(i) => operations[i].input = Some(id),
            Fix::OpOut(i) => operations[i].output = Some(id),
        }
    }
    Model {
        operations,
        errors,
        shapes: blocks.iter().map(|_| OnceLock::new()).collect(),
        blocks,
        shape_index,
    }
}

/// `text` split at its first space (`(text, "")` without one); memchr's search, as the lines.
fn first_word(text: &'static str) -> (&'static str, &'static str) {
    match memchr::memchr(b' ', text.as_bytes()) {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (text, ""),
    }
}

/// A shape reference awaiting its id (operations' `in=`/`out=` during [`index`]).
const UNRESOLVED: ShapeId = ShapeId(u32::MAX);

/// The id of the shape called `name`; a reference to no shape is a bug of the model.
fn resolve(service: &Service, index: &ShapeIndex, name: &str) -> ShapeId {
    *index
        .get(name)
        .unwrap_or_else(|| panic!("{}: unknown shape {name}", service.cli_name))
}

/// One indented line of an operation: `doc`, `wait`, `acc` or `page`.
fn op_line(op: &mut Operation, rest: &'static str) {
    if let Some(doc) = rest.strip_prefix("doc ") {
        op.documentation = doc;
    } else if let Some(w) = rest.strip_prefix("wait ") {
        let (name, attrs_text) = w.split_once(' ').unwrap_or((w, ""));
        let mut waiter = Waiter {
            name,
            delay: 0,
            max_attempts: 0,
            acceptors: Vec::new(),
        };
        for (k, v) in attrs(attrs_text) {
            match k {
                "delay" => waiter.delay = v.parse().expect("delay"),
                "max" => waiter.max_attempts = v.parse().expect("max"),
                _ => panic!("bad waiter attribute {k}"),
            }
        }
        op.waiters.push(waiter);
    } else if let Some(a) = rest.strip_prefix("acc ") {
        let mut parts = a.splitn(4, ' ');
        let acceptor = Acceptor {
            state: parts.next().expect("state"),
            matcher: parts.next().expect("matcher"),
            expected: unescape(parts.next().expect("expected")),
            argument: parts.next(),
        };
        op.waiters
            .last_mut()
            .expect("acc after wait")
            .acceptors
            .push(acceptor);
    } else if let Some(p) = rest.strip_prefix("page ") {
        let mut pg = Paginator {
            input_token: "",
            output_token: "",
            input_tokens: Vec::new(),
            output_tokens: Vec::new(),
            limit_key: None,
            result_keys: Vec::new(),
            more_results: None,
            non_aggregate_keys: Vec::new(),
        };
        for (k, v) in attrs(p) {
            match k {
                "in" => pg.input_tokens = list(v),
                "out" => pg.output_tokens = list(v),
                "limit" => pg.limit_key = Some(v),
                "more" => pg.more_results = Some(unescape(v)),
                "keys" => pg.result_keys = list(v),
                "nonagg" => pg.non_aggregate_keys = list(v),
                _ => panic!("bad paginator attribute {k}"),
            }
        }
        pg.input_token = pg.input_tokens.first().copied().unwrap_or("");
        pg.output_token = pg.output_tokens.first().copied().unwrap_or("");
        op.paginator = Some(pg);
    } else {
        panic!("bad op line {rest:?}");
    }
}

/// Decodes one shape from its block (located by [`index`]); references to other shapes are
/// resolved to their ids through `index`, without decoding them.
fn decode_shape(service: &Service, index: &ShapeIndex, block: &'static str) -> Shape {
    let mut lines = block
        .split('\n')
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    let line = lines.next().expect("shape line");
    let (kw, rest) = line.split_once(' ').expect("keyword and name");
    let (name, rest) = rest.split_once(' ').unwrap_or((rest, ""));
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
        fmin: None,
        fmax: None,
        document: false,
        flattened: false,
        streaming: false,
        eventstream: false,
        event: false,
        requires_length: false,
        payload: None,
        timestamp_format: None,
        location_name: None,
        xml_namespace: None,
        member_location_name: None,
        key_location_name: None,
        value_location_name: None,
        member_json_value: false,
        compiled: OnceLock::new(),
    };
    let (mut member, mut key, mut value) = (None, None, None);
    for (k, v) in attrs(rest) {
        match k {
            "member" => member = Some(resolve(service, index, v)),
            "key" => key = Some(resolve(service, index, v)),
            "value" => value = Some(resolve(service, index, v)),
            "min" => shape.min = Some(v.parse().expect("min")),
            "max" => shape.max = Some(v.parse().expect("max")),
            "fmin" => shape.fmin = Some(v.parse().expect("fmin")),
            "fmax" => shape.fmax = Some(v.parse().expect("fmax")),
            "sensitive" => shape.sensitive = true,
            "union" => shape.union = true,
            "document" => shape.document = true,
            "flat" => shape.flattened = true,
            "streaming" => shape.streaming = true,
            "requireslength" => shape.requires_length = true,
            "eventstream" => shape.eventstream = true,
            "event" => shape.event = true,
            "payload" => shape.payload = Some(v),
            "ts" => shape.timestamp_format = Some(v),
            "as" => shape.location_name = Some(v),
            "ns" => shape.xml_namespace = Some(v),
            "memberas" => shape.member_location_name = Some(v),
            "keyas" => shape.key_location_name = Some(v),
            "valueas" => shape.value_location_name = Some(v),
            "memberjsonvalue" => shape.member_json_value = true,
            "enum" => shape.enum_values = list(v),
            _ => panic!("bad shape attribute {k}"),
        }
    }
    shape.kind = match kw {
        "structure" => ShapeKind::Structure {
            members: lines.map(|l| decode_member(service, index, l)).collect(),
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
    shape
}

/// One member line of a structure: `  Name Shape [required] [attrs] [-- doc]`.
fn decode_member(service: &Service, index: &ShapeIndex, line: &'static str) -> Member {
    let rest = line.strip_prefix("  ").expect("member line");
    let (rest, documentation) = match rest.split_once(" -- ") {
        Some((r, d)) => (r, d),
        None => (rest, ""),
    };
    let mut words = rest.split(' ');
    let name = words.next().expect("member name");
    let shape = words.next().expect("member shape");
    let mut m = Member {
        name,
        shape: resolve(service, index, shape),
        required: false,
        documentation,
        location: None,
        location_name: None,
        query_name: None,
        idempotency_token: false,
        host_label: false,
        json_value: false,
        xml_attribute: false,
        flattened: false,
        xml_namespace: None,
        xml_namespace_prefix: None,
        event_payload: false,
        streaming: false,
    };
    for w in words {
        let (k, v) = w.split_once('=').unwrap_or((w, ""));
        match k {
            "required" => m.required = true,
            "loc" => m.location = Some(v),
            "as" => m.location_name = Some(v),
            "qn" => m.query_name = Some(v),
            "idem" => m.idempotency_token = true,
            "host" => m.host_label = true,
            "jsonvalue" => m.json_value = true,
            "xmlattr" => m.xml_attribute = true,
            "flat" => m.flattened = true,
            "ns" => m.xml_namespace = Some(v),
            "nsprefix" => m.xml_namespace_prefix = Some(v),
            "eventpayload" => m.event_payload = true,
            "streaming" => m.streaming = true,
            _ => panic!("bad member line {line:?}"),
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ids of the shapes `op` reaches: its input and output, their members, items, keys
    /// and values, transitively (and the shapes of the service's modelled errors).
    fn reached(op: &'static Operation) -> Vec<ShapeId> {
        let svc = op.service();
        let mut seen = std::collections::HashSet::new();
        let mut todo: Vec<ShapeId> = op.input.into_iter().chain(op.output).collect();
        let index = &svc.model().shape_index;
        todo.extend(svc.errors().iter().filter_map(|e| index.get(e.shape)));
        let mut out = Vec::new();
        while let Some(id) = todo.pop() {
            if !seen.insert(id) {
                continue;
            }
            out.push(id);
            match &svc.shape(id).kind {
                ShapeKind::Structure { members } => todo.extend(members.iter().map(|m| m.shape)),
                ShapeKind::List { member } => todo.push(*member),
                ShapeKind::Map { key, value } => todo.extend([*key, *value]),
                _ => {}
            }
        }
        out
    }

    /// How many shapes of `svc` have been decoded so far.
    fn decoded(svc: &'static Service) -> usize {
        svc.model()
            .shapes
            .iter()
            .filter(|s| s.get().is_some())
            .count()
    }

    /// A shape's decoded fields (its `Debug` form without the pattern compiled on first use,
    /// which other tests may have compiled already).
    fn decoded_fields(shape: &Shape) -> String {
        let text = format!("{shape:?}");
        let end = text.rfind(", compiled: ").expect("compiled");
        text[..end].to_string()
    }

    /// A fresh copy of a catalog service's model (nothing decoded yet).
    fn fresh(svc: &'static Service) -> &'static Service {
        Service::from_model_text(svc.name, svc.protocol, svc.inflate().to_string())
    }

    /// Every shape of every service decodes, and what an operation decodes on demand equals
    /// the same shapes of a full decode: for every operation of every service (all six
    /// protocols), walked from a fresh copy of the model.
    #[test]
    fn shapes_decoded_on_demand_equal_a_full_decode() {
        let mut protocols = std::collections::BTreeSet::new();
        for &svc in crate::services() {
            protocols.insert(svc.protocol.name());
            let full: Vec<String> = svc.shapes().map(decoded_fields).collect();
            let lazy = fresh(svc);
            assert_eq!(decoded(lazy), 0, "{}", svc.name);
            for op in lazy.operations() {
                for id in reached(op) {
                    let shape = decoded_fields(lazy.shape(id));
                    assert_eq!(shape, full[id.0 as usize], "{} {}", svc.name, op.name);
                }
            }
            let ops: Vec<_> = lazy
                .operations()
                .iter()
                .map(|o| (o.name, o.input, o.output))
                .collect();
            let want: Vec<_> = svc
                .operations()
                .iter()
                .map(|o| (o.name, o.input, o.output))
                .collect();
            assert_eq!(ops, want, "{}", svc.name);
        }
        assert_eq!(protocols.len(), 6, "{protocols:?}");
    }

    /// A command decodes only what its operation reaches: EC2's `DescribeInstances` decodes
    /// a few dozen of EC2's thousands of shapes.
    #[test]
    fn an_operation_decodes_only_the_shapes_it_reaches() {
        let ec2 = fresh(crate::service("ec2").unwrap());
        let op = ec2.operation("DescribeInstances").unwrap();
        assert_eq!(decoded(ec2), 0);
        let reached = reached(op).len();
        assert_eq!(decoded(ec2), reached);
        let total = ec2.model().blocks.len();
        assert!(reached * 10 < total, "{reached} of {total}");
        assert_eq!(ec2.shapes().count(), total);
        assert_eq!(decoded(ec2), total);
    }

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
