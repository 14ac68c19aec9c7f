//! `exec --server` whatever `[default]` holds (issue 25, item 4): the SDKs
//! read a profile before the container endpoint, so keys or a
//! `credential_process` in `[default]` made the command run as that
//! identity instead of the target role. Each consumer (boto3, AWS CLI v1,
//! AWS CLI v2, the JavaScript SDK v3) must be the target role, and the
//! user's other settings must still reach the command.

use std::path::{Path, PathBuf};

use crate::util::*;

/// alice's bastion user: who a hostile `[default]` would make the command.
const BASTION_USER: &str = "arn:aws:iam::111111111111:user/alice";

/// The JavaScript SDK v3 client (`tests/js`, installed by scripts/test.sh
/// with `npm ci`), or a skip.
fn js_client() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    if !have("node") {
        return None;
    }
    if !dir.join("node_modules/@aws-sdk/client-sts").is_dir() {
        skip(
            "the JavaScript SDK is not installed in tests/js",
            "scripts/test.sh runs `npm ci --prefix tests/js`",
        );
        return None;
    }
    Some(dir.join("caller.js"))
}

/// Debian's AWS CLI v2 (2.9), or a skip.
fn aws_v2() -> Option<&'static str> {
    let aws = "/usr/bin/aws";
    let v2 = std::process::Command::new(aws)
        .arg("--version")
        .output()
        .is_ok_and(|o| stdout(&o).starts_with("aws-cli/2."));
    if !v2 {
        skip("no AWS CLI v2 at /usr/bin/aws", ".ci/run installs awscli");
        return None;
    }
    Some(aws)
}

/// Each consumer prints `NAME ARN` (or `NAME-error …`). The endpoint is
/// given explicitly: CLI 2.9 ignores AWS_ENDPOINT_URL_STS.
const CONSUMERS: &str = r#"
python -c 'import os, boto3; print("boto3", boto3.client("sts", endpoint_url=os.environ["AWS_ENDPOINT_URL_STS"], region_name="eu-west-1").get_caller_identity()["Arn"])' 2>&1 | tail -1
echo "aws-v1 $(aws --endpoint-url "$AWS_ENDPOINT_URL_STS" --region eu-west-1 sts get-caller-identity --query Arn --output text 2>&1)"
echo "aws-v2 $("$AWS_V2" --endpoint-url "$AWS_ENDPOINT_URL_STS" --region eu-west-1 sts get-caller-identity --query Arn --output text 2>&1)"
node "$JS_CLIENT"
echo "output $(aws configure get output)"
echo "other-region $(aws configure get region --profile other)"
"#;

/// A credential_process printing alice's bastion keys.
fn process_script(home: &Path) -> String {
    let path = home.join("default-creds.sh");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\nprintf '{{\"Version\":1,\"AccessKeyId\":\"{ALICE_KEY}\",\"SecretAccessKey\":\"{ALICE_SECRET}\"}}'\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &path,
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755),
    )
    .unwrap();
    path.display().to_string()
}

/// What a HOME holds: a description, the credentials file, the config file
/// and one more file under HOME (name, text).
type Case<'a> = (&'a str, String, String, Option<(&'a str, String)>);

#[test]
fn the_command_is_the_target_role_whatever_default_holds() {
    let (Some(bin), Some(v2), Some(js)) = (venv_bin(), aws_v2(), js_client()) else {
        return;
    };
    let bastion = format!(
        "[bastion]\naws_access_key_id = {ALICE_KEY}\naws_secret_access_key = {ALICE_SECRET}\n"
    );
    let keys = format!("aws_access_key_id = {ALICE_KEY}\naws_secret_access_key = {ALICE_SECRET}\n");
    let settings = "region = eu-west-1\noutput = text\n";
    let other = "[profile other]\nregion = ap-south-1\n";
    // (what [default] holds, credentials file, config file with
    // `CREDENTIAL_PROCESS` standing for the script's path, another file
    // under HOME botocore reads before the container endpoint)
    let boto = format!("[Credentials]\n{keys}");
    let ec2_file = format!("AWSAccessKeyId={ALICE_KEY}\nAWSSecretKey={ALICE_SECRET}\n");
    let plain_config = format!("[default]\n{settings}\n{other}");
    let cases: Vec<Case> = vec![
        (
            "keys in [default] of the credentials file",
            format!("[default]\n{keys}\n{bastion}"),
            plain_config.clone(),
            None,
        ),
        (
            "keys in [default] of the config file",
            bastion.clone(),
            format!("[default]\n{settings}{keys}\n{other}"),
            None,
        ),
        (
            "a credential_process in [default] of the config file",
            bastion.clone(),
            format!("[default]\n{settings}credential_process = CREDENTIAL_PROCESS\n\n{other}"),
            None,
        ),
        (
            "a credential_process in [profile default] and keys in the credentials file",
            format!("{bastion}\n[default]\n{keys}"),
            format!(
                "[profile default]\n{settings}credential_process = CREDENTIAL_PROCESS\n\n{other}"
            ),
            None,
        ),
        (
            "keys in boto2's ~/.boto",
            bastion.clone(),
            plain_config.clone(),
            Some((".boto", boto)),
        ),
        (
            "keys in the file AWS_CREDENTIAL_FILE names",
            bastion.clone(),
            plain_config.clone(),
            Some(("ec2-credentials", ec2_file)),
        ),
    ];
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut failures = Vec::new();
    for (what, credentials, config, extra) in &cases {
        let mut b = Home::builder().credentials(Some(credentials));
        if matches!(extra, Some(("ec2-credentials", _))) {
            b = b.env("AWS_CREDENTIAL_FILE", "~/ec2-credentials");
        }
        let h = b.build();
        if let Some((name, text)) = extra {
            write_private(&h.path().join(name), text);
        }
        let config = config.replace("CREDENTIAL_PROCESS", &process_script(h.path()));
        std::fs::create_dir_all(h.path().join(".aws")).unwrap();
        std::fs::write(h.aws_config(), &config).unwrap();
        // Without mfacli, [default] is who the consumers are.
        let plain = h
            .command("sh")
            .env("PATH", &path)
            .env("AWS_V2", v2)
            .env("JS_CLIENT", &js)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .args(["-c", "aws --endpoint-url \"$AWS_ENDPOINT_URL_STS\" --region eu-west-1 sts get-caller-identity --query Arn --output text"])
            .run_bounded()
            .unwrap();
        assert_eq!(
            stdout(&plain).trim(),
            BASTION_USER,
            "{what}: the hostile [default] works outside mfacli: {}",
            stderr(&plain)
        );
        let out = h
            .std_mfacli()
            .env("PATH", &path)
            .env("AWS_V2", v2)
            .env("JS_CLIENT", &js)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .args(["exec", "--server", "prod", "--", "sh", "-c", CONSUMERS])
            .run_bounded()
            .unwrap();
        let o = stdout(&out);
        for consumer in ["boto3", "aws-v1", "aws-v2", "js"] {
            let line = format!("{consumer} {PROD_ROLE_SESSION}");
            if !o.lines().any(|l| l == line) {
                failures.push(format!(
                    "{what}: {consumer} is not the role:\n{o}{}",
                    stderr(&out)
                ));
            }
        }
        // The user's settings: [default]'s output, another profile's region.
        for line in ["output text", "other-region ap-south-1"] {
            if !o.lines().any(|l| l == line) {
                failures.push(format!("{what}: no '{line}':\n{o}"));
            }
        }
        assert!(out.status.success(), "{what}: {}", stderr(&out));
        let leftovers: Vec<_> = std::fs::read_dir(h.cache_dir())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("exec-"))
            .collect();
        assert!(
            leftovers.is_empty(),
            "{what}: the child's config stays behind"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n---\n"));
}

#[test]
fn a_profile_named_like_the_childs_is_refused_before_anything_runs() {
    let h = Home::builder()
        .aws_config("[profile mfacli-exec]\nregion = eu-west-1\n")
        .build();
    let out = h
        .std_mfacli()
        .args(["exec", "--server", "prod", "--", "sh", "-c", "echo ran"])
        .run_bounded()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).is_empty(), "the command did not run");
    let e = stderr(&out);
    assert!(
        e.contains("already have a profile named 'mfacli-exec'") && e.contains("hint: rename"),
        "{e}"
    );
    assert_eq!(h.counts(), (0, 0), "refused before any STS call");
}
