//! Consumers nobody here wrote, against `exec --server` and `serve`: the
//! AWS CLI v2 (Debian's `awscli`, 2.9) and the Rust SDK's container
//! credentials provider (`aws_config::ecs::EcsCredentialsProvider`). Each
//! fetches the role's credentials from mfacli's server and calls
//! GetCallerIdentity on the emulator with them.
//!
//! The Rust client is this test binary itself, re-run with
//! `MFACLI_RUST_SDK_CLIENT=1` and the filter `consumers::rust_sdk_client`:
//! the SDK reads the process environment, which only a child can own.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::util::*;

const CLIENT_FLAG: &str = "MFACLI_RUST_SDK_CLIENT";

/// Not a test on its own: the Rust SDK client when re-run as a child.
/// Prints `RUST_SDK_OK <arn>` or `RUST_SDK_ERR <error>`.
#[test]
fn rust_sdk_client() {
    if std::env::var_os(CLIENT_FLAG).is_none() {
        return;
    }
    use aws_credential_types::provider::ProvideCredentials;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let result: Result<String, String> = rt.block_on(async {
        let http = aws_smithy_http_client::Builder::new().build_http();
        let pc = aws_config::provider_config::ProviderConfig::without_region()
            .with_http_client(http.clone());
        let provider = aws_config::ecs::EcsCredentialsProvider::builder()
            .configure(&pc)
            .build();
        let creds = provider
            .provide_credentials()
            .await
            .map_err(|e| format!("ecs provider: {e:?}"))?;
        if !creds.access_key_id().starts_with("ASIA") || creds.expiry().is_none() {
            return Err(format!("odd credentials: {}", creds.access_key_id()));
        }
        let conf = aws_sdk_sts::Config::builder()
            .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
            .region(aws_sdk_sts::config::Region::new("eu-west-1"))
            .endpoint_url(std::env::var("AWS_ENDPOINT_URL_STS").unwrap())
            .credentials_provider(provider)
            .http_client(http)
            .build();
        let out = aws_sdk_sts::Client::from_conf(conf)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| format!("GetCallerIdentity: {e:?}"))?;
        Ok(out.arn().unwrap_or_default().to_owned())
    });
    match result {
        Ok(arn) => println!("RUST_SDK_OK {arn}"),
        Err(e) => println!("RUST_SDK_ERR {}", e.replace('\n', " ")),
    }
}

/// The command line that re-runs this binary as the Rust SDK client.
fn rust_client_args() -> Vec<String> {
    vec![
        std::env::current_exe().unwrap().display().to_string(),
        "--exact".into(),
        "consumers::rust_sdk_client".into(),
        "--nocapture".into(),
        "--test-threads=1".into(),
    ]
}

/// The client's verdict line (libtest prints the test name before it).
fn rust_result(out: &str) -> String {
    out.lines()
        .find_map(|l| l.find("RUST_SDK_").map(|i| l[i..].to_owned()))
        .unwrap_or_else(|| format!("no verdict from the Rust SDK client:\n{out}"))
}

/// Debian's AWS CLI v2, or a skip (a failure in CI).
fn aws_v2() -> Option<&'static str> {
    let aws = "/usr/bin/aws";
    let v2 = Path::new(aws).is_file()
        && Command::new(aws)
            .arg("--version")
            .output()
            .is_ok_and(|o| stdout(&o).starts_with("aws-cli/2."));
    if !v2 {
        assert!(
            std::env::var_os("CI").is_none(),
            "the AWS CLI v2 (Debian's awscli) is required in CI (.ci/run installs it)"
        );
        eprintln!("skipped: no AWS CLI v2 at {aws}");
        return None;
    }
    Some(aws)
}

/// CLI 2.9 ignores AWS_ENDPOINT_URL_STS, so the endpoint goes on the
/// command line.
const AWS_V2_CALL: &str = "\"$AWS_V2\" --endpoint-url \"$AWS_ENDPOINT_URL_STS\" --region eu-west-1 sts get-caller-identity --query Arn --output text";

#[test]
fn exec_server_serves_the_aws_cli_v2_and_the_rust_sdk() {
    let Some(aws) = aws_v2() else { return };
    let h = Home::new();
    let script = format!(
        "echo \"AWS_V2 $({AWS_V2_CALL} 2>&1)\"; {}",
        rust_client_args()
            .iter()
            .map(|a| format!("'{a}'"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let out = h
        .std_mfacli()
        .env("AWS_V2", aws)
        .env(CLIENT_FLAG, "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(["exec", "--server", "prod", "--", "sh", "-c", &script])
        .output()
        .unwrap();
    let o = stdout(&out);
    assert!(out.status.success(), "{o}\n{}", stderr(&out));
    assert!(
        o.lines()
            .any(|l| l == format!("AWS_V2 {PROD_ROLE_SESSION}")),
        "aws cli v2:\n{o}"
    );
    assert_eq!(
        rust_result(&o),
        format!("RUST_SDK_OK {PROD_ROLE_SESSION}"),
        "{o}"
    );
    assert_eq!(h.counts(), (1, 1), "one code, one AssumeRole for both");
    assert_eq!(h.emu().count("GetCallerIdentity"), 2);
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_serves_the_aws_cli_v2_and_the_rust_sdk() {
    let Some(aws) = aws_v2() else { return };
    let h = Home::new();
    let mut serve = Killed(
        h.std_mfacli()
            .env("SHELL", "/bin/bash")
            .args(["serve", "prod"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut uri = String::new();
    let mut token = String::new();
    for line in BufReader::new(serve.0.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(v) = line.strip_prefix("export AWS_CONTAINER_CREDENTIALS_FULL_URI=") {
            uri = v.trim_matches('\'').to_owned();
        } else if let Some(v) = line.strip_prefix("export AWS_CONTAINER_AUTHORIZATION_TOKEN=") {
            token = v.trim_matches('\'').to_owned();
            break;
        }
    }
    assert!(uri.starts_with("http://127.0.0.1:") && token.len() >= 32);
    let client = |program: &str, args: &[String]| {
        let o = h
            .command(program)
            .env_remove("MFACLI_TOTP_SECRET")
            .env("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri)
            .env("AWS_CONTAINER_AUTHORIZATION_TOKEN", &token)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_V2", aws)
            .env(CLIENT_FLAG, "1")
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
    };
    let o = client("sh", &["-c".into(), AWS_V2_CALL.into()]);
    assert_eq!(o.trim(), PROD_ROLE_SESSION, "aws cli v2");
    let args = rust_client_args();
    let o = client(&args[0], &args[1..]);
    assert_eq!(
        rust_result(&o),
        format!("RUST_SDK_OK {PROD_ROLE_SESSION}"),
        "{o}"
    );
    assert_eq!(h.counts(), (1, 1));
    assert_eq!(h.emu().count("GetCallerIdentity"), 2);
}
