//! The policy language through boto3, as a client sees it: condition
//! operators over the global keys of a real request (source address,
//! transport, region, time, principal), AWS's documented force-MFA policy,
//! and session policies on AssumeRole.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::util::*;
use sts_emulator::{Emulator, Role, User, World};

const ACCOUNT: &str = "111111111111";

/// AWS's documented force-MFA statement: the IAM tutorial's "Force_MFA"
/// policy (also in the knowledge center's "mfa-iam-user-aws-cli" article).
pub const FORCE_MFA: &str = r#"{"Version":"2012-10-17","Statement":[{
  "Sid":"BlockMostAccessUnlessSignedInWithMFA","Effect":"Deny",
  "NotAction":["iam:CreateVirtualMFADevice","iam:DeleteVirtualMFADevice","iam:ListVirtualMFADevices","iam:EnableMFADevice","iam:ResyncMFADevice","iam:ListAccountAliases","iam:ListUsers","iam:ListSSHPublicKeys","iam:ListAccessKeys","iam:ListServiceSpecificCredentials","iam:ListMFADevices","iam:GetAccountSummary","sts:GetSessionToken"],
  "Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]}"#;

/// Run `script` with boto3; its stdout lines. `None` when botocore is
/// missing and skips are allowed.
fn boto3(script: &str, env: &[(&str, String)]) -> Option<Vec<String>> {
    let python = crate::binary::python_with_botocore()?;
    let mut cmd = Command::new(&python);
    cmd.arg("-")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_MAX_ATTEMPTS", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut py = cmd.spawn().unwrap();
    py.stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = py.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(stdout.lines().map(str::to_string).collect())
}

const PRELUDE: &str = r#"
import json, os, boto3
from botocore.exceptions import ClientError
URL = os.environ["EMU_URL"]
def sts(akid, secret, token=None, region="eu-west-1"):
    return boto3.client("sts", endpoint_url=URL, region_name=region,
        aws_access_key_id=akid, aws_secret_access_key=secret, aws_session_token=token)
def iam(akid, secret, token=None):
    return boto3.client("iam", endpoint_url=URL, region_name="us-east-1",
        aws_access_key_id=akid, aws_secret_access_key=secret, aws_session_token=token)
def creds(c):
    return (c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
def attempt(f):
    try:
        r = f()
        return "ok"
    except ClientError as e:
        return e.response["Error"]["Code"]
"#;

/// (condition, allowed) for GetSessionToken with long-term keys signed for
/// eu-west-1 over plain HTTP from 127.0.0.1: no MFA keys, no token time.
/// Every one of the 25 operators appears with an allow or a deny case.
const TABLE: &[(&str, bool)] = &[
    (
        r#"{"StringEquals":{"aws:username":"${aws:username}"}}"#,
        true,
    ),
    (
        r#"{"StringNotEquals":{"aws:PrincipalAccount":"111111111111"}}"#,
        false,
    ),
    (
        r#"{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/u*"}}"#,
        true,
    ),
    (
        r#"{"StringEqualsIgnoreCase":{"aws:RequestedRegion":"EU-WEST-1"}}"#,
        true,
    ),
    (
        r#"{"StringNotLike":{"aws:PrincipalType":"Assumed*"}}"#,
        true,
    ),
    (r#"{"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}}"#, true),
    (r#"{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#, false),
    (
        r#"{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#,
        true,
    ),
    (r#"{"Bool":{"aws:SecureTransport":"true"}}"#, false),
    (r#"{"Bool":{"aws:MultiFactorAuthPresent":"false"}}"#, false),
    (
        r#"{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}"#,
        true,
    ),
    (r#"{"Null":{"aws:MultiFactorAuthPresent":"true"}}"#, true),
    (r#"{"Null":{"aws:TokenIssueTime":"false"}}"#, false),
    (
        r#"{"NumericLessThan":{"aws:MultiFactorAuthAge":"3600"}}"#,
        false,
    ),
    (
        r#"{"NumericLessThanIfExists":{"aws:MultiFactorAuthAge":"3600"}}"#,
        true,
    ),
    (
        r#"{"NumericGreaterThanEquals":{"aws:EpochTime":"1600000000"}}"#,
        true,
    ),
    (
        r#"{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}"#,
        true,
    ),
    (
        r#"{"DateLessThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}"#,
        false,
    ),
    (
        r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111111111111:user/*"}}"#,
        true,
    ),
    (
        r#"{"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::111111111111:user/${aws:username}"}}"#,
        false,
    ),
    (
        r#"{"ForAnyValue:StringEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]}}"#,
        true,
    ),
    (
        r#"{"ForAllValues:StringEquals":{"aws:RequestedRegion":["us-east-1"]}}"#,
        false,
    ),
    (
        r#"{"StringNotEqualsIgnoreCase":{"aws:PrincipalType":"USER"}}"#,
        false,
    ),
    (
        r#"{"StringEqualsIfExists":{"aws:username":"nobody"}}"#,
        false,
    ),
    (r#"{"NumericEquals":{"aws:EpochTime":"0"}}"#, false),
    (r#"{"NumericNotEquals":{"aws:EpochTime":"0"}}"#, true),
    (
        r#"{"NumericLessThanEquals":{"aws:EpochTime":"1600000000"}}"#,
        false,
    ),
    (
        r#"{"NumericGreaterThan":{"aws:EpochTime":"1600000000"}}"#,
        true,
    ),
    (
        r#"{"DateEquals":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}"#,
        false,
    ),
    (
        r#"{"DateNotEquals":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}"#,
        true,
    ),
    (
        r#"{"DateLessThanEquals":{"aws:CurrentTime":"2020-01-01"}}"#,
        false,
    ),
    (
        r#"{"DateGreaterThanEquals":{"aws:CurrentTime":"1577836800"}}"#,
        true,
    ),
    (
        r#"{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111111111111:user/${aws:username}"}}"#,
        true,
    ),
    (
        r#"{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/*"}}"#,
        true,
    ),
    (r#"{"StringEquals":{"aws:ViaAWSService":"false"}}"#, true),
];

fn table_user(i: usize, policy: String) -> User {
    User::new(
        ACCOUNT,
        format!("u{i}"),
        format!("AKIATABLE{i:011}"),
        format!("tableSECRET{i:029}"),
    )
    .with_policy(policy)
}

#[test]
fn condition_operators_over_real_requests_through_boto3() {
    let mut world = World::new();
    let mut expected = Vec::new();
    for (i, (condition, allowed)) in TABLE.iter().enumerate() {
        world = world.with_user(table_user(
            i,
            format!(
                r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"sts:GetSessionToken","Resource":"*","Condition":{condition}}}}}"#
            ),
        ));
        expected.push(format!(
            "u{i} {}",
            if *allowed { "ok" } else { "AccessDenied" }
        ));
    }
    // Evaluation rules: explicit deny beats allow; NotAction; default deny.
    let rules: &[(&str, &str)] = &[
        (
            r#"[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"sts:Get*","Resource":"*"}]"#,
            "AccessDenied",
        ),
        (
            r#"[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","NotAction":"sts:GetSessionToken","Resource":"*"}]"#,
            "ok",
        ),
        (
            r#"[{"Effect":"Allow","NotAction":"sts:GetSessionToken","Resource":"*"}]"#,
            "AccessDenied",
        ),
        (
            r#"[{"Effect":"Allow","Action":"sts:getsessiontoken","NotResource":"arn:aws:iam::*:role/*"}]"#,
            "ok",
        ),
    ];
    for (j, (statements, outcome)) in rules.iter().enumerate() {
        let i = TABLE.len() + j;
        world = world.with_user(table_user(
            i,
            format!(r#"{{"Version":"2012-10-17","Statement":{statements}}}"#),
        ));
        expected.push(format!("u{i} {outcome}"));
    }
    let count = TABLE.len() + rules.len();
    let emu = Emulator::start(world).unwrap();
    let script = format!(
        "{PRELUDE}
for i in range({count}):
    c = sts('AKIATABLE%011d' % i, 'tableSECRET%029d' % i)
    print('u%d' % i, attempt(lambda: c.get_session_token()))
"
    );
    let Some(lines) = boto3(&script, &[("EMU_URL", emu.endpoint_url())]) else {
        return;
    };
    assert_eq!(lines, expected);
}

/// alice with a bastion policy (self-service IAM on her own user, AssumeRole
/// with MFA) plus AWS's force-MFA statement.
fn force_mfa_world() -> World {
    let bastion = r#"{"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Action":"sts:GetSessionToken","Resource":"*"},
      {"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}},
      {"Effect":"Allow","Action":["iam:*AccessKey*","iam:ListMFADevices","iam:CreateVirtualMFADevice","iam:EnableMFADevice"],
       "Resource":["arn:aws:iam::*:user/${aws:username}","arn:aws:iam::*:mfa/${aws:username}*","arn:aws:iam::*:mfa/*"]}]}"#;
    World::new()
        .with_user(
            User::new(ACCOUNT, "alice", ALICE_KEY, ALICE_SECRET)
                .with_mfa(ALICE_SERIAL, ALICE_SEED)
                .with_policy(bastion)
                .with_policy(FORCE_MFA),
        )
        .with_role(Role::new(
            PROD,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"sts:AssumeRole"}}"#,
        ))
}

#[test]
fn force_mfa_policy_through_boto3() {
    let emu = Emulator::start(force_mfa_world()).unwrap();
    settle(&emu);
    let script = format!(
        "{PRELUDE}
k = (os.environ['AKID'], os.environ['SECRET'])
lt_sts, lt_iam = sts(*k), iam(*k)
print('gst without mfa', attempt(lambda: lt_sts.get_session_token()))
print('assume with keys', attempt(lambda: lt_sts.assume_role(RoleArn=os.environ['ROLE'], RoleSessionName='alice')))
print('list mfa with keys', attempt(lambda: lt_iam.list_mfa_devices()))
print('list keys with keys', attempt(lambda: lt_iam.list_access_keys()))
try:
    lt_iam.create_access_key()
except ClientError as e:
    print('create key with keys', e.response['Error']['Code'], 'explicit deny' in e.response['Error']['Message'])
s = creds(lt_sts.get_session_token(SerialNumber=os.environ['SERIAL'], TokenCode=os.environ['CODE'])['Credentials'])
print('list keys with mfa', attempt(lambda: iam(*s).list_access_keys()))
print('assume with mfa', attempt(lambda: sts(*s).assume_role(RoleArn=os.environ['ROLE'], RoleSessionName='alice')))
"
    );
    let Some(lines) = boto3(
        &script,
        &[
            ("EMU_URL", emu.endpoint_url()),
            ("AKID", ALICE_KEY.into()),
            ("SECRET", ALICE_SECRET.into()),
            ("SERIAL", ALICE_SERIAL.into()),
            ("CODE", code(&emu, 0)),
            ("ROLE", PROD.into()),
        ],
    ) else {
        return;
    };
    assert_eq!(
        lines,
        [
            "gst without mfa ok",
            "assume with keys AccessDenied",
            "list mfa with keys ok",
            "list keys with keys ok",
            "create key with keys AccessDenied True",
            "list keys with mfa ok",
            "assume with mfa ok",
        ]
    );
}

const HUB: &str = "arn:aws:iam::222222222222:role/Hub";
const SPOKE: &str = "arn:aws:iam::333333333333:role/Spoke";
const ONLY_SPOKE: &str = "arn:aws:iam::111111111111:policy/OnlySpoke";

/// alice (MFA) -> Hub (may assume anything) -> Spoke (trusts Hub).
fn chain_world() -> World {
    let alice = r#"{"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Action":"sts:GetSessionToken","Resource":"*"},
      {"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}"#;
    World::new()
        .with_user(
            User::new(ACCOUNT, "alice", ALICE_KEY, ALICE_SECRET)
                .with_mfa(ALICE_SERIAL, ALICE_SEED)
                .with_policy(alice),
        )
        .with_role(
            Role::new(
                HUB,
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"sts:AssumeRole"}}"#,
            )
            .with_policy(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["sts:AssumeRole","iam:List*"],"Resource":"*"}}"#),
        )
        .with_role(Role::new(
            SPOKE,
            format!(
                r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":{{"AWS":"{HUB}"}},"Action":"sts:AssumeRole"}}}}"#
            ),
        ))
        .with_managed_policy(
            ONLY_SPOKE,
            format!(
                r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"{SPOKE}"}}}}"#
            ),
        )
}

#[test]
fn session_policies_narrow_role_credentials_through_boto3() {
    let emu = Emulator::start(chain_world()).unwrap();
    settle(&emu);
    let script = format!(
        "{PRELUDE}
k = (os.environ['AKID'], os.environ['SECRET'])
s = creds(sts(*k).get_session_token(SerialNumber=os.environ['SERIAL'], TokenCode=os.environ['CODE'])['Credentials'])
mfa = sts(*s)
HUB, SPOKE = os.environ['HUB'], os.environ['SPOKE']
def hub(**kw):
    r = mfa.assume_role(RoleArn=HUB, RoleSessionName='hub', **kw)
    return r, sts(*creds(r['Credentials']))
def to_spoke(c):
    return attempt(lambda: c.assume_role(RoleArn=SPOKE, RoleSessionName='spoke'))
r, full = hub()
print('full', 'PackedPolicySize' in r, to_spoke(full))
r, ro = hub(PolicyArns=[{{'arn': 'arn:aws:iam::aws:policy/ReadOnlyAccess'}}])
print('readonly', r['PackedPolicySize'], to_spoke(ro), ro.get_caller_identity()['Arn'])
r, only = hub(PolicyArns=[{{'arn': os.environ['ONLY_SPOKE']}}])
print('managed', to_spoke(only))
allow_all = {{'Version': '2012-10-17', 'Statement': [{{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}}]}}
r, inline = hub(Policy=json.dumps(allow_all))
print('inline allow all', to_spoke(inline))
deny = dict(allow_all, Statement=allow_all['Statement'] + [{{'Effect': 'Deny', 'Action': 'sts:AssumeRole', 'Resource': SPOKE}}])
r, denied = hub(Policy=json.dumps(deny))
print('inline deny', to_spoke(denied))
r, unknown = hub(PolicyArns=[{{'arn': 'arn:aws:iam::111111111111:policy/Missing'}}])
print('unknown arn', to_spoke(unknown))
for name, kw in [
    ('malformed', dict(Policy='{{\"Version\": ')),
    ('eleven arns', dict(PolicyArns=[{{'arn': 'arn:aws:iam::111111111111:policy/P%d' % i}} for i in range(11)])),
    ('too large', dict(Policy=json.dumps(dict(allow_all, Id='x' * 1900)), PolicyArns=[{{'arn': os.environ['ONLY_SPOKE']}}] * 4)),
]:
    try:
        mfa.assume_role(RoleArn=HUB, RoleSessionName='hub', **kw)
        print(name, 'accepted')
    except ClientError as e:
        print(name, e.response['ResponseMetadata']['HTTPStatusCode'], e.response['Error']['Code'], e.response['Error']['Message'][:60])
"
    );
    let Some(lines) = boto3(
        &script,
        &[
            ("EMU_URL", emu.endpoint_url()),
            ("AKID", ALICE_KEY.into()),
            ("SECRET", ALICE_SECRET.into()),
            ("SERIAL", ALICE_SERIAL.into()),
            ("CODE", code(&emu, 0)),
            ("HUB", HUB.into()),
            ("SPOKE", SPOKE.into()),
            ("ONLY_SPOKE", ONLY_SPOKE.into()),
        ],
    ) else {
        return;
    };
    assert_eq!(
        lines,
        [
            "full False ok",
            "readonly 2 AccessDenied arn:aws:sts::222222222222:assumed-role/Hub/hub",
            "managed ok",
            "inline allow all ok",
            "inline deny AccessDenied",
            "unknown arn AccessDenied",
            "malformed 400 MalformedPolicyDocument The policy is not in the valid JSON format.",
            "eleven arns 400 ValidationError 1 validation error detected: Value '[PolicyDescriptorType(ar",
            "too large 400 PackedPolicyTooLarge Packed policy consumes 106% of allotted space, please use sm",
        ]
    );
}

#[test]
fn session_policy_never_grants_more_than_the_role() {
    // Hub's own policies allow sts:AssumeRole and iam:List*; a session
    // policy allowing everything does not add iam:CreateAccessKey.
    let emu = Emulator::start(chain_world()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let s = mfa_session(&emu).await;
        let hub = session_client(&emu, &s)
            .assume_role()
            .role_arn(HUB)
            .role_session_name("hub")
            .policy(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#)
            .send()
            .await
            .unwrap();
        // The SDK marks the field deprecated; STS still sends it.
        #[allow(deprecated)]
        let packed = hub.packed_policy_size();
        assert!(packed.is_some());
        let c = hub.credentials.unwrap();
        let creds = (c.access_key_id(), c.secret_access_key(), Some(c.session_token()));
        let r = iam(&emu, creds, "CreateAccessKey&UserName=alice");
        assert_eq!(r.status, 403, "{}", r.body);
        assert_eq!(r.tag("Code").as_deref(), Some("AccessDenied"));
        assert!(
            r.body.contains("because no identity-based policy allows"),
            "{}",
            r.body
        );

        // The role allows iam:List*; a session narrowed to GetCallerIdentity
        // may not, and AWS names the session policy.
        let assume = |policy: Option<&'static str>| {
            session_client(&emu, &s)
                .assume_role()
                .role_arn(HUB)
                .role_session_name("hub")
                .set_policy(policy.map(str::to_string))
                .send()
        };
        // Unnarrowed, IAM authorises the call, then finds no user alice in
        // the role's account (404); narrowed, the session policy refuses.
        for (policy, status) in [
            (None, 404),
            (
                Some(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*"}}"#),
                403,
            ),
        ] {
            let c = assume(policy).await.unwrap().credentials.unwrap();
            let creds = (c.access_key_id(), c.secret_access_key(), Some(c.session_token()));
            let r = iam(&emu, creds, "ListAccessKeys&UserName=alice");
            assert_eq!(r.status, status, "{}", r.body);
            if status == 403 {
                assert!(
                    r.body.contains("because no session policy allows the iam:ListAccessKeys action"),
                    "{}",
                    r.body
                );
            }
        }
    });
}

/// A role in account 222222222222 trusting account 111111111111 (and the
/// Hub role) when `condition` holds.
fn conditional_role(i: usize, condition: &str) -> Role {
    Role::new(
        format!("arn:aws:iam::222222222222:role/C{i}"),
        format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Principal":{{"AWS":["111111111111","{HUB}"]}},"Action":"sts:AssumeRole","Condition":{condition}}}}}"#
        ),
    )
}

/// Which global keys each kind of caller brings, as AWS sets them: (condition,
/// long-term keys without a code, MFA session, role session).
const KEYS_BY_CALLER: &[(&str, bool, bool, bool)] = &[
    // aws:MultiFactorAuthPresent: absent for long-term keys, "true" for an
    // MFA session, carried into the role session made from it.
    (
        r#"{"Null":{"aws:MultiFactorAuthPresent":"true"}}"#,
        true,
        false,
        false,
    ),
    (
        r#"{"Bool":{"aws:MultiFactorAuthPresent":"true"}}"#,
        false,
        true,
        true,
    ),
    (
        r#"{"NumericLessThan":{"aws:MultiFactorAuthAge":"3600"}}"#,
        false,
        true,
        true,
    ),
    // aws:username only for IAM users (and their GetSessionToken sessions).
    (
        r#"{"StringEquals":{"aws:username":"alice"}}"#,
        true,
        true,
        false,
    ),
    (r#"{"Null":{"aws:username":"true"}}"#, false, false, true),
    // aws:PrincipalArn: the user, or the role (not the session).
    (
        r#"{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111111111111:user/alice"}}"#,
        true,
        true,
        false,
    ),
    (
        r#"{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::222222222222:role/Hub"}}"#,
        false,
        false,
        true,
    ),
    (
        r#"{"StringEquals":{"aws:PrincipalType":"AssumedRole"}}"#,
        false,
        false,
        true,
    ),
    (
        r#"{"StringLike":{"aws:userid":"AROA*:hub"}}"#,
        false,
        false,
        true,
    ),
    (
        r#"{"StringLike":{"aws:userid":"AIDA*"}}"#,
        true,
        true,
        false,
    ),
    (
        r#"{"StringEquals":{"aws:PrincipalAccount":"111111111111"}}"#,
        true,
        true,
        false,
    ),
    // aws:TokenIssueTime only for temporary credentials.
    (
        r#"{"Null":{"aws:TokenIssueTime":"false"}}"#,
        false,
        true,
        true,
    ),
    // sts:RoleSessionName on every AssumeRole.
    (
        r#"{"StringEquals":{"sts:RoleSessionName":"probe"}}"#,
        true,
        true,
        true,
    ),
];

#[tokio::test]
async fn global_keys_per_kind_of_caller() {
    let mut world = chain_world();
    // Long-term keys may assume roles here (the chain world wants MFA).
    world.users[0].policies.push(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::222222222222:role/C*"}}"#.into(),
    );
    for (i, (condition, ..)) in KEYS_BY_CALLER.iter().enumerate() {
        world = world.with_role(conditional_role(i, condition));
    }
    let emu = Emulator::start(world).unwrap();
    let s = mfa_session(&emu).await;
    let mfa = session_client(&emu, &s);
    let hub = mfa
        .assume_role()
        .role_arn(HUB)
        .role_session_name("hub")
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    let callers = [
        ("long-term keys", alice(&emu)),
        ("MFA session", mfa),
        ("role session", session_client(&emu, &hub)),
    ];
    for (i, (condition, keys, session, role)) in KEYS_BY_CALLER.iter().enumerate() {
        for ((what, client), expected) in callers.iter().zip([keys, session, role]) {
            let r = client
                .assume_role()
                .role_arn(format!("arn:aws:iam::222222222222:role/C{i}"))
                .role_session_name("probe")
                .send()
                .await;
            assert_eq!(r.is_ok(), *expected, "{condition} for {what}: {r:?}");
        }
    }
}

#[tokio::test]
async fn username_variable_in_an_assume_role_resource() {
    // The issue's case: `role/${aws:username}-*` admits alice's own roles.
    let trust = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"sts:AssumeRole"}}"#;
    let world = World::new()
        .with_user(
            User::new(ACCOUNT, "alice", ALICE_KEY, ALICE_SECRET)
                .with_mfa(ALICE_SERIAL, ALICE_SEED)
                .with_policy(r#"{"Version":"2012-10-17","Statement":[
                  {"Effect":"Allow","Action":"sts:GetSessionToken","Resource":"*"},
                  {"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::*:role/${aws:username}-*",
                   "Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}"#),
        )
        .with_role(Role::new("arn:aws:iam::222222222222:role/alice-admin", trust))
        .with_role(Role::new("arn:aws:iam::222222222222:role/bob-admin", trust));
    let emu = Emulator::start(world).unwrap();
    let s = mfa_session(&emu).await;
    let c = session_client(&emu, &s);
    for (role, allowed) in [("alice-admin", true), ("bob-admin", false)] {
        let r = c
            .assume_role()
            .role_arn(format!("arn:aws:iam::222222222222:role/{role}"))
            .role_session_name("alice")
            .send()
            .await;
        assert_eq!(r.is_ok(), allowed, "{role}: {r:?}");
    }
}
