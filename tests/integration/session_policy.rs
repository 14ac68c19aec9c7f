//! Session policies (`--policy-arn`, `--policy`, `policy_arns`, `policy`,
//! `from`): bad input is refused before any STS call, with the flag, file
//! or key named; a policy from stdin works and keys the cache by content.
//! What STS receives is checked against moto (interop.rs) and the chain's
//! fake STS (src/chain/tests.rs).

use std::io::Write;
use std::process::Stdio;

use crate::util::*;

const RO: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";

fn refused(h: &Home, args: &[&str], needle: &str) {
    let before = h.counts();
    let o = h.mfacli().args(args).assert().code(1);
    let err = stderr(o.get_output());
    assert!(err.contains(needle), "{args:?}: {err}");
    assert!(!err.contains("panicked") && !err.contains("Some("), "{err}");
    assert_eq!(h.counts(), before, "{args:?}: no STS call");
}

#[test]
fn bad_session_policies_are_refused_before_any_sts_call_naming_the_source() {
    let h = Home::new();
    let dir = h.path();
    std::fs::write(dir.join("broken.json"), "{ \"Statement\": [").unwrap();
    std::fs::write(dir.join("list.json"), "[]").unwrap();
    std::fs::write(dir.join("empty.json"), "{\"Version\": \"2012-10-17\"}").unwrap();
    let big = format!(
        "{{\"Statement\": {{\"Effect\": \"Allow\", \"Action\": \"s3:GetObject\", \"Resource\": \"arn:aws:s3:::{}/*\"}}}}",
        "b".repeat(2100)
    );
    std::fs::write(dir.join("big.json"), big).unwrap();
    let many: Vec<String> = (0..11)
        .flat_map(|i| {
            [
                "--policy-arn".to_owned(),
                format!("arn:aws:iam::aws:policy/P{i}"),
            ]
        })
        .collect();
    let mut eleven = vec!["env", "prod"];
    eleven.extend(many.iter().map(String::as_str));

    refused(
        &h,
        &["env", "prod", "--policy-arn", "ReadOnlyAccess"],
        "--policy-arn: 'ReadOnlyAccess' is not a policy ARN",
    );
    refused(
        &h,
        &[
            "credential-process",
            "prod",
            "--policy-arn",
            "arn:aws:iam::aws:role/X",
        ],
        "--policy-arn: 'arn:aws:iam::aws:role/X' is not a policy ARN",
    );
    refused(
        &h,
        &eleven,
        "11 policy ARNs given; AssumeRole takes at most 10",
    );
    refused(
        &h,
        &["exec", "prod", "--policy", "missing.json", "--", "true"],
        "missing.json does not exist",
    );
    refused(
        &h,
        &["assume", "prod", "--policy", "broken.json"],
        "--policy broken.json: not valid JSON",
    );
    refused(
        &h,
        &["env", "prod", "--policy", "list.json"],
        "--policy list.json: a session policy is a JSON object",
    );
    refused(
        &h,
        &["env", "prod", "--policy", "empty.json"],
        "--policy empty.json: the policy has no \"Statement\"",
    );
    refused(
        &h,
        &["env", "prod", "--policy", "big.json"],
        "STS takes at most 2048",
    );
    refused(&h, &["env", "prod", "--policy", "."], "it is a directory");
    refused(
        &h,
        &["env", "--bastion", "--policy-arn", RO],
        "--bastion has no role",
    );
    refused(
        &h,
        &[
            "exec",
            "prod",
            "--server",
            "--policy",
            "broken.json",
            "--",
            "true",
        ],
        "not valid JSON",
    );
    refused(
        &h,
        &["serve", "prod", "--policy", "broken.json"],
        "not valid JSON",
    );
    refused(
        &h,
        &["console", "prod", "--print", "--policy-arn", "x"],
        "--policy-arn: 'x' is not a policy ARN",
    );

    // The same checks for the config's keys, named as keys.
    let config = std::fs::read_to_string(h.config()).unwrap();
    h.write_config(&format!(
        "{config}\n[targets.prod-x]\nfrom = \"prod\"\npolicy = \"{}\"\n",
        dir.join("broken.json").display()
    ));
    refused(
        &h,
        &["env", "prod-x"],
        "[targets.prod-x] policy: not valid JSON",
    );
    h.write_config(&format!(
        "{config}\n[targets.prod-x]\nfrom = \"prdo\"\npolicy_arns = [\"{RO}\"]\n"
    ));
    refused(
        &h,
        &["env", "prod"],
        "[targets.prod-x] from = \"prdo\": there is no [targets.prdo]",
    );
}

#[test]
fn a_policy_from_stdin_narrows_and_keys_the_cache_by_its_content() {
    let h = Home::new();
    let run = |policy: &str| {
        let mut child = h
            .std_mfacli()
            .args(["credential-process", "prod", "--policy", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(policy.as_bytes())
            .unwrap();
        let o = output_bounded(child, "credential-process --policy -");
        assert!(o.status.success(), "{}", stderr(&o));
        json(&stdout(&o))["AccessKeyId"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let s3 = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}"#;
    let first = run(s3);
    assert_eq!(h.counts().1, 1);
    // Reformatted, the same policy: the cached credentials.
    let again = run(&s3.replace(", ", ",\n    "));
    assert_eq!(again, first);
    assert_eq!(h.counts().1, 1);
    // Another policy, or none: other credentials.
    let other = run(&s3.replace("s3:Get*", "s3:List*"));
    assert_ne!(other, first);
    let full = h
        .mfacli()
        .args(["credential-process", "prod"])
        .assert()
        .success();
    assert_ne!(
        json(&stdout(full.get_output()))["AccessKeyId"]
            .as_str()
            .unwrap(),
        first
    );
    assert_eq!(h.counts().1, 3);
    let list = h.mfacli().arg("list").assert().success();
    let list = stdout(list.get_output());
    assert_eq!(
        list.matches("also cached, narrowed by inline policy sha256:")
            .count(),
        2,
        "{list}"
    );
}

/// `console` narrows too: a cached full credential is not used for a
/// narrowed sign-in, and `--duration` (direct AssumeRole) takes the flags.
#[test]
fn console_signs_in_with_narrowed_credentials_of_its_own() {
    let h = Home::new();
    h.mfacli().args(["env", "prod"]).assert().success();
    assert_eq!(h.counts(), (1, 1));
    let federation = format!("{}/federation", h.emu().endpoint_url());
    for (extra, roles) in [(&[][..], 2), (&["--duration", "2h"][..], 3)] {
        let o = h
            .mfacli()
            .env("MFACLI_FEDERATION_URL", &federation)
            .args(["console", "prod", "--print", "--policy-arn", RO])
            .args(extra)
            .assert()
            .success();
        assert!(stdout(o.get_output()).starts_with(&federation), "{extra:?}");
        assert_eq!(h.counts().1, roles, "{extra:?}: a new AssumeRole");
    }
    // The narrowed chained credentials were cached apart from the full ones.
    h.mfacli()
        .env("MFACLI_FEDERATION_URL", &federation)
        .args(["console", "prod", "--print", "--policy-arn", RO])
        .assert()
        .success();
    h.mfacli().args(["env", "prod"]).assert().success();
    assert_eq!(h.counts().1, 3);
}

/// The emulator enforces the narrowing mfacli asks for (issue 26): from
/// prod's full credentials boto3 makes a chained AssumeRole into a role
/// that trusts PowerUser; from the read-only variant (`from = "prod"` with
/// ReadOnlyAccess), from `--policy-arn` and from an inline policy with an
/// explicit deny, the same call is refused. The full and narrowed
/// credentials are cached apart, and `whoami` names the narrowing.
#[test]
fn the_emulator_refuses_what_the_narrowed_credentials_may_not_do() {
    const SPOKE: &str = "arn:aws:iam::222222222222:role/Spoke";
    let Some(bin) = venv_bin() else {
        return;
    };
    let mut world = sts_emulator::World::demo();
    world.roles.push(sts_emulator::world::Role::new(
        SPOKE,
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:role/PowerUser"},"Action":"sts:AssumeRole"}}"#,
    ));
    let h = Home::builder()
        .emulator(sts_emulator::Emulator::start(world).unwrap())
        .config(Some(&format!(
            "{CONFIG}\n[targets.prod-ro]\nfrom = \"prod\"\npolicy_arns = [\"{RO}\"]\n"
        )))
        .build();
    std::fs::write(
        h.path().join("deny.json"),
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"*","Resource":"*"}},{{"Effect":"Deny","Action":"sts:AssumeRole","Resource":"{SPOKE}"}}]}}"#
        ),
    )
    .unwrap();
    let chained = |args: &[&str]| {
        let mut c = h.mfacli();
        c.env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .arg("exec")
            .args(args)
            .args(["--", "python", "-c"])
            .arg(
                "import boto3, sys\n\
                 try:\n    boto3.client('sts').assume_role(RoleArn=sys.argv[1], RoleSessionName='spoke'); print('ok')\n\
                 except Exception as e:\n    print(e.response['Error']['Code'])",
            )
            .arg(SPOKE);
        let o = c.output().unwrap();
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        stdout(&o).trim().to_owned()
    };
    assert_eq!(chained(&["prod"]), "ok", "the full role may");
    assert_eq!(chained(&["prod-ro"]), "AccessDenied");
    assert_eq!(chained(&["prod", "--policy-arn", RO]), "AccessDenied");
    assert_eq!(chained(&["prod", "--policy", "deny.json"]), "AccessDenied");
    assert_eq!(
        chained(&["prod"]),
        "ok",
        "the full credentials, cached apart"
    );
    // One code; four role credentials from mfacli (the last run reused the
    // first's), plus the two chained calls that were allowed.
    assert_eq!(h.counts(), (1, 6));

    let who = h.mfacli().args(["whoami", "prod-ro"]).assert().success();
    let who = stdout(who.get_output());
    assert!(who.contains(RO), "{who}");
}
