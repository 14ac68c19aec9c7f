//! The IAM subset: access keys and MFA devices, authorised by identity
//! policies with `${aws:username}` and `aws:MultiFactorAuthPresent`.

use std::time::Duration;

use crate::util::*;
use sts_emulator::{Emulator, SigningRegion, User, World};

const IAM_NS: &str = "xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"";

/// What a bastion user may do to itself, with MFA only.
const SELF_MANAGE: &str = r#"{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow",
   "Action": ["iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:DeleteAccessKey",
              "iam:ListAccessKeys", "iam:ListMFADevices", "iam:EnableMFADevice"],
   "Resource": "arn:aws:iam::*:user/${aws:username}",
   "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}},
  {"Effect": "Allow", "Action": ["iam:CreateVirtualMFADevice", "iam:DeleteVirtualMFADevice"],
   "Resource": "arn:aws:iam::*:mfa/${aws:username}*",
   "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}"#;

const BOB_SEED: &str = "NVTGCY3MNEWWIZLNN4WWIZLWNFRWKLJS";
const BOB_SERIAL: &str = "arn:aws:iam::111111111111:mfa/bob";

/// The demo world with alice and bob allowed to manage themselves.
fn world() -> World {
    let mut w = World::demo();
    w.users[0] = w.users[0].clone().with_policy(SELF_MANAGE);
    w.users[1] = w.users[1]
        .clone()
        .with_policy(SELF_MANAGE)
        .with_mfa(BOB_SERIAL, BOB_SEED)
        .with_access_key_created("2026-01-02T03:04:05Z");
    w
}

struct Session {
    akid: String,
    secret: String,
    token: String,
}

impl Session {
    fn creds(&self) -> Creds<'_> {
        (&self.akid, &self.secret, Some(&self.token))
    }
}

fn gst(emu: &Emulator, akid: &str, secret: &str, mfa: Option<(&str, &str)>) -> Session {
    let body = match mfa {
        Some((serial, seed)) => format!(
            "Action=GetSessionToken&Version=2011-06-15&SerialNumber={}&TokenCode={}",
            enc(serial),
            code_for(emu, seed, 0)
        ),
        None => "Action=GetSessionToken&Version=2011-06-15".to_string(),
    };
    let resp = send_raw(
        emu.port(),
        &RawRequest::post(&body, akid, secret, emu.now()).build(emu.port()),
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    Session {
        akid: resp.tag("AccessKeyId").unwrap(),
        secret: resp.tag("SecretAccessKey").unwrap(),
        token: resp.tag("SessionToken").unwrap(),
    }
}

/// Alice's MFA session (GetSessionToken with her demo device).
fn alice_mfa(emu: &Emulator) -> Session {
    settle(emu);
    gst(
        emu,
        ALICE_KEY,
        ALICE_SECRET,
        Some((ALICE_SERIAL, ALICE_SEED)),
    )
}

fn gci_status(emu: &Emulator, akid: &str, secret: &str) -> (u16, Option<String>) {
    let resp = send_raw(
        emu.port(),
        &RawRequest::post(GCI, akid, secret, emu.now()).build(emu.port()),
    );
    (resp.status, resp.tag("Code"))
}

fn assert_error(resp: &RawResponse, status: u16, code: &str, message: &str) {
    assert_eq!(
        (
            resp.status,
            resp.tag("Code").as_deref(),
            resp.tag("Message").as_deref()
        ),
        (status, Some(code), Some(message)),
        "{}",
        resp.body
    );
    assert!(
        resp.body.starts_with(&format!("<ErrorResponse {IAM_NS}>")),
        "{}",
        resp.body
    );
}

#[test]
fn access_key_rotation_with_an_mfa_session() {
    let emu = Emulator::start(world()).unwrap();
    let s = alice_mfa(&emu);

    let resp = iam(&emu, s.creds(), "ListAccessKeys");
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert!(
        resp.body.starts_with(&format!(
            "<ListAccessKeysResponse {IAM_NS}><ListAccessKeysResult><AccessKeyMetadata><member>"
        )),
        "{}",
        resp.body
    );
    assert_eq!(xml_tags(&resp.body, "AccessKeyId"), [ALICE_KEY]);
    assert_eq!(xml_tags(&resp.body, "Status"), ["Active"]);
    assert_eq!(xml_tags(&resp.body, "UserName"), ["alice"]);
    let created = chrono::DateTime::parse_from_rfc3339(&resp.tag("CreateDate").unwrap()).unwrap();
    assert!(
        (emu.now() - created.with_timezone(&chrono::Utc))
            .num_seconds()
            .abs()
            < 120
    );
    assert_eq!(resp.tag("IsTruncated").as_deref(), Some("false"));

    // Create a second key: it works at STS at once (no propagation delay set).
    let resp = iam(&emu, s.creds(), "CreateAccessKey");
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert!(resp
        .body
        .contains("<CreateAccessKeyResult><AccessKey><UserName>alice</UserName>"));
    let (new_key, new_secret) = (
        resp.tag("AccessKeyId").unwrap(),
        resp.tag("SecretAccessKey").unwrap(),
    );
    assert!(
        new_key.starts_with("AKIA") && new_key.len() == 20,
        "{new_key}"
    );
    assert_eq!(new_secret.len(), 40);
    assert_eq!(resp.tag("Status").as_deref(), Some("Active"));
    assert_eq!(gci_status(&emu, &new_key, &new_secret).0, 200);

    // A third key is over IAM's quota.
    assert_error(
        &iam(&emu, s.creds(), "CreateAccessKey"),
        409,
        "LimitExceeded",
        "Cannot exceed quota for AccessKeysPerUser: 2",
    );
    let resp = iam(&emu, s.creds(), "ListAccessKeys");
    assert_eq!(
        xml_tags(&resp.body, "AccessKeyId"),
        [ALICE_KEY, new_key.as_str()]
    );
    assert!(!resp.body.contains("SecretAccessKey"));

    // Deactivate the old key: STS no longer knows it; reactivate; delete.
    let update = |id: &str, status: &str| {
        iam(
            &emu,
            s.creds(),
            &format!("UpdateAccessKey&AccessKeyId={id}&Status={status}"),
        )
    };
    let resp = update(ALICE_KEY, "Inactive");
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert!(
        resp.body.starts_with(&format!(
            "<UpdateAccessKeyResponse {IAM_NS}><ResponseMetadata><RequestId>"
        )),
        "{}",
        resp.body
    );
    assert_eq!(
        xml_tags(&iam(&emu, s.creds(), "ListAccessKeys").body, "Status"),
        ["Inactive", "Active"]
    );
    assert_eq!(
        gci_status(&emu, ALICE_KEY, ALICE_SECRET),
        (403, Some("InvalidClientTokenId".into()))
    );
    assert_eq!(update(ALICE_KEY, "Active").status, 200);
    assert_eq!(gci_status(&emu, ALICE_KEY, ALICE_SECRET).0, 200);
    let resp = update(ALICE_KEY, "Disabled");
    assert_eq!(resp.tag("Code").as_deref(), Some("ValidationError"));
    assert!(resp
        .tag("Message")
        .unwrap()
        .ends_with("Member must satisfy enum value set: [Active, Inactive]"));

    let resp = iam(
        &emu,
        s.creds(),
        &format!("DeleteAccessKey&AccessKeyId={ALICE_KEY}"),
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert!(resp
        .body
        .starts_with(&format!("<DeleteAccessKeyResponse {IAM_NS}>")));
    assert_eq!(
        gci_status(&emu, ALICE_KEY, ALICE_SECRET).1.as_deref(),
        Some("InvalidClientTokenId")
    );
    assert_eq!(
        xml_tags(&iam(&emu, s.creds(), "ListAccessKeys").body, "AccessKeyId"),
        [new_key.as_str()]
    );
    assert_error(
        &iam(
            &emu,
            s.creds(),
            &format!("DeleteAccessKey&AccessKeyId={ALICE_KEY}"),
        ),
        404,
        "NoSuchEntity",
        &format!("The Access Key with id {ALICE_KEY} cannot be found."),
    );
    // The MFA session outlives the key it came from, as in AWS.
    assert_eq!(iam(&emu, s.creds(), "ListAccessKeys").status, 200);
    // And the new key gets a new MFA session (with the next step's code).
    emu.advance(Duration::from_secs(30));
    gst(
        &emu,
        &new_key,
        &new_secret,
        Some((ALICE_SERIAL, ALICE_SEED)),
    );
    assert_eq!(emu.count("CreateAccessKey"), 1);
    assert_eq!(emu.count_all("CreateAccessKey"), 2);
}

#[test]
fn a_new_key_reaches_sts_after_the_propagation_delay() {
    let emu = Emulator::start(world()).unwrap();
    emu.set_key_propagation_delay(Duration::from_secs(10));
    assert_eq!(emu.key_propagation_delay(), Duration::from_secs(10));
    let s = alice_mfa(&emu);
    let resp = iam(&emu, s.creds(), "CreateAccessKey");
    let (key, secret) = (
        resp.tag("AccessKeyId").unwrap(),
        resp.tag("SecretAccessKey").unwrap(),
    );
    assert_eq!(
        gci_status(&emu, &key, &secret),
        (403, Some("InvalidClientTokenId".into()))
    );
    // Listed at once, though.
    assert_eq!(
        xml_tags(&iam(&emu, s.creds(), "ListAccessKeys").body, "AccessKeyId").len(),
        2
    );
    emu.advance(Duration::from_secs(10));
    assert_eq!(gci_status(&emu, &key, &secret).0, 200);
}

#[test]
fn another_users_keys_are_refused_by_a_username_scoped_policy() {
    let emu = Emulator::start(world()).unwrap();
    let s = alice_mfa(&emu);
    for (action, name) in [
        ("ListAccessKeys&UserName=bob", "iam:ListAccessKeys"),
        ("CreateAccessKey&UserName=bob", "iam:CreateAccessKey"),
        (
            "DeleteAccessKey&UserName=bob&AccessKeyId=AKIABOB00000EXAMPLE2",
            "iam:DeleteAccessKey",
        ),
        (
            "UpdateAccessKey&UserName=bob&AccessKeyId=AKIABOB00000EXAMPLE2&Status=Inactive",
            "iam:UpdateAccessKey",
        ),
        ("ListMFADevices&UserName=bob", "iam:ListMFADevices"),
    ] {
        assert_error(
            &iam(&emu, s.creds(), action),
            403,
            "AccessDenied",
            &format!("User: arn:aws:iam::111111111111:user/alice is not authorized to perform: {name} on resource: user bob because no identity-based policy allows the {name} action"),
        );
    }
    // Bob's key is untouched and bob, with his own MFA session, sees it.
    assert_eq!(gci_status(&emu, BOB_KEY, BOB_SECRET).0, 200);
    let bob = gst(&emu, BOB_KEY, BOB_SECRET, Some((BOB_SERIAL, BOB_SEED)));
    let resp = iam(&emu, bob.creds(), "ListAccessKeys&UserName=bob");
    assert_eq!(xml_tags(&resp.body, "AccessKeyId"), [BOB_KEY]);
    assert_eq!(
        resp.tag("CreateDate").as_deref(),
        Some("2026-01-02T03:04:05Z")
    );
    // Alice naming herself explicitly is fine; a user that does not exist
    // is refused by the policy before IAM would look it up.
    assert_eq!(
        iam(&emu, s.creds(), "ListAccessKeys&UserName=alice").status,
        200
    );
    assert_eq!(
        iam(&emu, s.creds(), "ListAccessKeys&UserName=carol")
            .tag("Code")
            .as_deref(),
        Some("AccessDenied")
    );
}

#[test]
fn iam_needs_mfa_where_the_policy_says_and_an_identity_policy_at_all() {
    let mut w = world();
    w.users.push(User::new(
        "111111111111",
        "carol",
        "AKIACAROL00000000001",
        "carolSECRET000000000000000000000000000000",
    ));
    let emu = Emulator::start(w).unwrap();
    // Long-term keys: aws:MultiFactorAuthPresent is absent, the condition fails.
    let resp = iam(&emu, (ALICE_KEY, ALICE_SECRET, None), "ListAccessKeys");
    assert_eq!(
        (resp.status, resp.tag("Code").as_deref()),
        (403, Some("AccessDenied"))
    );
    // A GetSessionToken session without MFA cannot call IAM at all.
    let plain = gst(&emu, ALICE_KEY, ALICE_SECRET, None);
    let resp = iam(&emu, plain.creds(), "ListAccessKeys");
    assert_eq!(
        (resp.status, resp.tag("Code").as_deref()),
        (403, Some("InvalidClientTokenId"))
    );
    // With MFA: allowed.
    let s = alice_mfa(&emu);
    assert_eq!(iam(&emu, s.creds(), "ListAccessKeys").status, 200);
    // No identity policy: denied by default (STS is unchanged for carol).
    let resp = iam(
        &emu,
        (
            "AKIACAROL00000000001",
            "carolSECRET000000000000000000000000000000",
            None,
        ),
        "ListAccessKeys",
    );
    assert_error(&resp, 403, "AccessDenied", "User: arn:aws:iam::111111111111:user/carol is not authorized to perform: iam:ListAccessKeys on resource: user carol because no identity-based policy allows the iam:ListAccessKeys action");
    assert_eq!(
        gci_status(
            &emu,
            "AKIACAROL00000000001",
            "carolSECRET000000000000000000000000000000"
        )
        .0,
        200
    );
    // Role sessions have no permission policies here.
    let session = send_raw(emu.port(), &{
        let body = format!(
            "Action=AssumeRole&Version=2011-06-15&RoleArn={}&RoleSessionName=alice",
            enc(PROD)
        );
        let mut r = RawRequest::post(&body, &s.akid, &s.secret, emu.now());
        r.token = Some(&s.token);
        r.build(emu.port())
    });
    let role = Session {
        akid: session.tag("AccessKeyId").unwrap(),
        secret: session.tag("SecretAccessKey").unwrap(),
        token: session.tag("SessionToken").unwrap(),
    };
    let resp = iam(&emu, role.creds(), "ListAccessKeys&UserName=alice");
    assert_eq!(resp.tag("Code").as_deref(), Some("AccessDenied"));
    let resp = iam(&emu, role.creds(), "ListAccessKeys");
    assert_eq!(resp.tag("Code").as_deref(), Some("ValidationError"));
}

fn b64_decode(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut buf, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|c| *c != b'=') {
        buf = (buf << 6) | A.iter().position(|a| *a == c).unwrap() as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    out
}

#[test]
fn virtual_mfa_device_create_enable_list_and_use() {
    let emu = Emulator::start(world()).unwrap();
    let s = alice_mfa(&emu);
    let resp = iam(
        &emu,
        s.creds(),
        "CreateVirtualMFADevice&VirtualMFADeviceName=alice-ci",
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert!(resp.body.starts_with(&format!(
        "<CreateVirtualMFADeviceResponse {IAM_NS}><CreateVirtualMFADeviceResult><VirtualMFADevice>"
    )));
    let serial = resp.tag("SerialNumber").unwrap();
    assert_eq!(serial, "arn:aws:iam::111111111111:mfa/alice-ci");
    // A blob: base64 of the base32 seed.
    let seed = String::from_utf8(b64_decode(&resp.tag("Base32StringSeed").unwrap())).unwrap();
    assert_eq!(seed.len(), 64);
    assert!(
        seed.bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)),
        "{seed}"
    );

    assert_error(
        &iam(
            &emu,
            s.creds(),
            "CreateVirtualMFADevice&VirtualMFADeviceName=alice-ci",
        ),
        409,
        "EntityAlreadyExists",
        "MFADevice entity at the same path and name already exists.",
    );
    // Another user's name is outside mfa/${aws:username}*.
    let resp = iam(
        &emu,
        s.creds(),
        "CreateVirtualMFADevice&VirtualMFADeviceName=bob-ci",
    );
    assert_eq!(resp.tag("Code").as_deref(), Some("AccessDenied"));
    assert!(resp
        .tag("Message")
        .unwrap()
        .contains("on resource: arn:aws:iam::111111111111:mfa/bob-ci"));

    // Not yet enabled: not listed, not usable.
    let list = iam(&emu, s.creds(), "ListMFADevices");
    assert_eq!(xml_tags(&list.body, "SerialNumber"), [ALICE_SERIAL]);
    let enable = |c1: &str, c2: &str| {
        iam(
            &emu,
            s.creds(),
            &format!("EnableMFADevice&UserName=alice&SerialNumber={}&AuthenticationCode1={c1}&AuthenticationCode2={c2}", enc(&serial)),
        )
    };
    let (c0, c1) = (code_for(&emu, &seed, 0), code_for(&emu, &seed, 1));
    assert_error(
        &enable(&c1, &c0),
        403,
        "InvalidAuthenticationCode",
        "Authentication code for device is not valid.",
    );
    assert_error(
        &enable(&c0, &c0),
        403,
        "InvalidAuthenticationCode",
        "Authentication code for device is not valid.",
    );
    let resp = enable(&c0, &c1);
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert!(resp.body.starts_with(&format!(
        "<EnableMFADeviceResponse {IAM_NS}><ResponseMetadata>"
    )));
    assert_error(
        &enable(&c0, &c1),
        409,
        "EntityAlreadyExists",
        "MFA Device is already in use.",
    );
    let unknown = "arn:aws:iam::111111111111:mfa/alice-nope";
    let resp = iam(&emu, s.creds(), &format!("EnableMFADevice&UserName=alice&SerialNumber={}&AuthenticationCode1={c0}&AuthenticationCode2={c1}", enc(unknown)));
    assert_error(
        &resp,
        404,
        "NoSuchEntity",
        &format!("VirtualMFADevice with serial number {unknown} doesn't exist."),
    );

    let list = iam(&emu, s.creds(), "ListMFADevices");
    assert_eq!(
        xml_tags(&list.body, "SerialNumber"),
        [ALICE_SERIAL, serial.as_str()]
    );
    assert_eq!(xml_tags(&list.body, "EnableDate").len(), 2);
    // The new device works for GetSessionToken, with its own replay record.
    emu.advance(Duration::from_secs(30));
    gst(&emu, ALICE_KEY, ALICE_SECRET, Some((&serial, &seed)));
    gst(
        &emu,
        ALICE_KEY,
        ALICE_SECRET,
        Some((ALICE_SERIAL, ALICE_SEED)),
    );
}

/// DeleteVirtualMFADevice removes a device nobody enabled; an enabled one
/// is refused (DeleteConflict), an unknown one is NoSuchEntity, and another
/// user's name is outside the policy's `mfa/${aws:username}*`.
#[test]
fn a_virtual_mfa_device_is_deleted_only_while_not_enabled() {
    let emu = Emulator::start(world()).unwrap();
    let s = alice_mfa(&emu);
    let resp = iam(
        &emu,
        s.creds(),
        "CreateVirtualMFADevice&VirtualMFADeviceName=alice-ci",
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    let serial = resp.tag("SerialNumber").unwrap();
    assert_eq!(emu.unassigned_mfa_serials(), std::slice::from_ref(&serial));
    let delete = |serial: &str| {
        iam(
            &emu,
            s.creds(),
            &format!("DeleteVirtualMFADevice&SerialNumber={}", enc(serial)),
        )
    };
    assert_error(
        &delete(ALICE_SERIAL),
        409,
        "DeleteConflict",
        "MFA Device is in use and must be deactivated before it can be deleted.",
    );
    let resp = delete(BOB_SERIAL);
    assert_eq!(resp.tag("Code").as_deref(), Some("AccessDenied"));
    let resp = delete(&serial);
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert!(resp.body.starts_with(&format!(
        "<DeleteVirtualMFADeviceResponse {IAM_NS}><ResponseMetadata>"
    )));
    assert_eq!(emu.unassigned_mfa_serials(), Vec::<String>::new());
    assert_error(
        &delete(&serial),
        404,
        "NoSuchEntity",
        &format!("VirtualMFADevice with serial number {serial} doesn't exist."),
    );
    assert_eq!(emu.mfa_serials("alice"), [ALICE_SERIAL]);
    assert_eq!(emu.mfa_serials("bob"), [BOB_SERIAL]);
    // The name is free again.
    let resp = iam(
        &emu,
        s.creds(),
        "CreateVirtualMFADevice&VirtualMFADeviceName=alice-ci",
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
}

#[test]
fn iam_is_signed_for_iam_in_us_east_1() {
    let emu = Emulator::start(world()).unwrap();
    let s = alice_mfa(&emu);
    let body = "Action=ListAccessKeys&Version=2010-05-08";
    let send = |service: &str, region: &str, host: Option<&'static str>| {
        let mut r = RawRequest::post(body, &s.akid, &s.secret, emu.now());
        r.token = Some(&s.token);
        r.service = service;
        r.region = region;
        r.host = host;
        send_raw(emu.port(), &r.build(emu.port()))
    };
    let resp = send("sts", "us-east-1", None);
    assert_error(
        &resp,
        403,
        "SignatureDoesNotMatch",
        "Credential should be scoped to correct service: 'iam'. ",
    );
    // Any region unless a region check is on; then IAM's host name decides:
    // iam.amazonaws.com is signed for us-east-1. Through an endpoint override
    // (an address) clients sign for their own region, which is accepted.
    assert_eq!(send("iam", "eu-west-1", None).status, 200);
    emu.set_signing_region(SigningRegion::Fixed("eu-west-1".into()));
    assert_eq!(send("iam", "eu-west-1", None).status, 200);
    let global = Some("iam.amazonaws.com");
    assert_error(
        &send("iam", "eu-west-1", global),
        403,
        "SignatureDoesNotMatch",
        "Credential should be scoped to a valid region, not 'eu-west-1'. ",
    );
    assert_eq!(send("iam", "us-east-1", global).status, 200);
    emu.set_signing_region(SigningRegion::FromHost);
    assert_eq!(send("iam", "eu-west-1", global).status, 403);
    assert_eq!(send("iam", "us-east-1", global).status, 200);
    // An STS action with IAM's version is unknown, and the other way round.
    let resp = iam(&emu, s.creds(), "GetCallerIdentity");
    assert_eq!(resp.tag("Code").as_deref(), Some("SignatureDoesNotMatch"));
}

const BOTOCORE_IAM: &str = r#"
import os, time, hmac, hashlib, struct, base64, botocore.session
from botocore.exceptions import ClientError
s = botocore.session.get_session()
url = os.environ["EMU_URL"]
def client(service, **kw):
    return s.create_client(service, region_name="eu-west-1", endpoint_url=url, **kw)
sts = client("sts", aws_access_key_id=os.environ["AKID"], aws_secret_access_key=os.environ["SECRET"])
t = sts.get_session_token(SerialNumber=os.environ["SERIAL"], TokenCode=os.environ["CODE"])["Credentials"]
iam = client("iam", aws_access_key_id=t["AccessKeyId"], aws_secret_access_key=t["SecretAccessKey"], aws_session_token=t["SessionToken"])
keys = iam.list_access_keys()["AccessKeyMetadata"]
print(len(keys), keys[0]["Status"], type(keys[0]["CreateDate"]).__name__)
k = iam.create_access_key()["AccessKey"]
print(k["AccessKeyId"][:4], len(k["SecretAccessKey"]))
try:
    iam.create_access_key()
except ClientError as e:
    print(e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"])
iam.update_access_key(AccessKeyId=k["AccessKeyId"], Status="Inactive")
iam.delete_access_key(AccessKeyId=k["AccessKeyId"])
d = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice-py")["VirtualMFADevice"]
seed = d["Base32StringSeed"]
def code(step):
    mac = hmac.new(base64.b32decode(seed), struct.pack(">Q", step), hashlib.sha1).digest()
    o = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7fffffff) % 1000000)
step = int(os.environ["NOW"]) // 30
iam.enable_mfa_device(UserName="alice", SerialNumber=d["SerialNumber"], AuthenticationCode1=code(step), AuthenticationCode2=code(step + 1))
print(sorted(m["SerialNumber"] for m in iam.list_mfa_devices()["MFADevices"]))
try:
    iam.list_access_keys(UserName="bob")
except ClientError as e:
    print(e.response["Error"]["Code"])
"#;

#[test]
fn botocore_iam_flow_when_available() {
    let Some(python) = crate::binary::python_with_botocore() else {
        return;
    };
    use std::io::Write;
    use std::process::{Command, Stdio};
    let emu = Emulator::start(world()).unwrap();
    emu.set_signing_region(SigningRegion::Fixed("eu-west-1".into()));
    settle(&emu);
    let mut py = Command::new(&python)
        .arg("-")
        .env("EMU_URL", emu.endpoint_url())
        .env("AKID", ALICE_KEY)
        .env("SECRET", ALICE_SECRET)
        .env("SERIAL", ALICE_SERIAL)
        .env("CODE", code(&emu, 0))
        .env("NOW", emu.now().timestamp().to_string())
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_MAX_ATTEMPTS", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    py.stdin
        .take()
        .unwrap()
        .write_all(BOTOCORE_IAM.as_bytes())
        .unwrap();
    let out = py.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [
            "1 Active datetime",
            "AKIA 40",
            "LimitExceeded 409",
            "['arn:aws:iam::111111111111:mfa/alice', 'arn:aws:iam::111111111111:mfa/alice-py']",
            "AccessDenied",
        ]
    );
}
