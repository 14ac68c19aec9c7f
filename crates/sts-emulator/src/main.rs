//! `sts-emulator`: serve a world file (or the demo world) on 127.0.0.1.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::ExitCode;

use sts_emulator::{Emulator, SigningRegion, World};

const USAGE: &str = "\
sts-emulator: a strict local AWS STS emulator (GetSessionToken, AssumeRole,
GetCallerIdentity) with SigV4 verification, IAM policy evaluation and TOTP MFA.

USAGE:
    sts-emulator [--world FILE.toml|FILE.json] [--port N] [--offset-secs N]
                 [--signing-region REGION|host|any]
                 [--tls-cert CHAIN.pem --tls-key KEY.pem]
                 [--exit-on-stdin-eof] [--print-demo-world]

OPTIONS:
    --world FILE          World to serve (TOML, or JSON if the file ends in .json).
                          Without it the built-in demo world is served.
    --port N              Port on 127.0.0.1 (default: a free port).
    --offset-secs N       Start the emulator clock N seconds away from real time
                          (negative allowed), e.g. to exercise clock-skew handling.
    --signing-region R    Accept only SigV4 signatures scoped to region R, as the
                          endpoint sts.R.amazonaws.com does; `host`: the region
                          the Host header names (sts.R.amazonaws.com, and
                          sts.amazonaws.com = us-east-1; other hosts: any);
                          `any` (default): every region. A wrong region gets
                          403 SignatureDoesNotMatch, as from AWS.
    --tls-cert FILE       Serve HTTPS with this PEM certificate chain (leaf
                          first); needs --tls-key FILE (PEM private key). E.g. a
                          certificate for sts.eu-west-1.amazonaws.com from a
                          throwaway CA given to clients in AWS_CA_BUNDLE.
    --exit-on-stdin-eof   Exit when standard input reaches end of file (lets a
                          parent process stop the emulator by closing a pipe).
    --print-demo-world    Print the demo world file and exit.
    -h, --help            Print this help.
    -V, --version         Print the version.

On start one line is printed to stdout:
    sts-emulator listening on http://127.0.0.1:PORT   (https:// with --tls-cert)
then one line per request goes to stderr (action, access key id, status, error
code; never secrets or MFA codes). Stop it with Ctrl-C or SIGTERM.

USING IT:
    export AWS_ACCESS_KEY_ID=AKIAALICE0EXAMPLE001
    export AWS_SECRET_ACCESS_KEY=aliceSECRETkey0000000000000000EXAMPLE001
    AWS_ENDPOINT_URL_STS=http://127.0.0.1:PORT aws sts get-caller-identity

    The demo user alice's MFA device uses the base32 seed
    JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP (add it to any authenticator app).

SEVERAL MFA DEVICES (up to 8 per user, as IAM allows):
    A user's first device is [users.mfa]; more are [[users.mfa_devices]]
    tables, each with its own serial and seed (and its own record of used
    codes), e.g. after the [users.mfa] table of a user:

        [[users.mfa_devices]]
        serial = \"arn:aws:iam::111111111111:mfa/alice-ci-2\"
        seed = \"NVTGCY3MNEWWIZLNN4WWIZLWNFRWKLJS\"

    GetSessionToken and AssumeRole accept a code from the device named by
    SerialNumber, for the current 30 s step or an adjacent one, once per device.

IAM (same port, SigV4 service iam, Version=2010-05-08):
    CreateAccessKey, UpdateAccessKey, DeleteAccessKey, ListAccessKeys,
    ListMFADevices, CreateVirtualMFADevice, EnableMFADevice; authorised by
    the user's identity policies (deny by default; ${aws:username} and
    aws:MultiFactorAuthPresent supported). A user's key may carry its IAM
    CreateDate: access_key_created = \"2026-01-01T00:00:00Z\".

CONSOLE FEDERATION (same port):
    GET /federation?Action=getSigninToken&Session=JSON[&SessionDuration=N]
    GET /federation?Action=login&Issuer=X&Destination=URL&SigninToken=T
    A valid login redirects to /console?session=ID, a page that shows the
    assumed-role ARN, the account and the session time left.

WORLD FILE FORMAT (this is the demo world):
";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("sts-emulator: {message}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Default)]
struct Options {
    world: Option<String>,
    port: u16,
    offset_secs: i64,
    signing_region: SigningRegion,
    tls_cert: Option<String>,
    tls_key: Option<String>,
    exit_on_stdin_eof: bool,
}

/// The flag's value: inline (`--flag=value`) or the next argument.
fn value(
    inline: Option<String>,
    args: &mut impl Iterator<Item = String>,
    flag: &str,
) -> Result<String, String> {
    inline
        .or_else(|| args.next())
        .ok_or_else(|| format!("{flag} needs a value"))
}

fn parse_args() -> Result<Option<Options>, String> {
    let mut opts = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        // Accept both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut take = || value(inline.clone(), &mut args, &flag);
        match flag.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}{}", World::demo_toml());
                return Ok(None);
            }
            "-V" | "--version" => {
                println!("sts-emulator {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            "--print-demo-world" => {
                print!("{}", World::demo_toml());
                return Ok(None);
            }
            "--world" => opts.world = Some(take()?),
            "--port" => {
                let v = take()?;
                opts.port = v
                    .parse()
                    .map_err(|_| format!("--port: invalid port {v:?}"))?;
            }
            "--offset-secs" => {
                let v = take()?;
                opts.offset_secs = v
                    .parse()
                    .map_err(|_| format!("--offset-secs: invalid number {v:?}"))?;
            }
            "--signing-region" => {
                let v = take()?;
                opts.signing_region = match v.as_str() {
                    "any" => SigningRegion::Any,
                    "host" => SigningRegion::FromHost,
                    r if !r.is_empty()
                        && r.bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') =>
                    {
                        SigningRegion::Fixed(r.to_string())
                    }
                    _ => return Err(format!("--signing-region: invalid region {v:?}")),
                };
            }
            "--tls-cert" => opts.tls_cert = Some(take()?),
            "--tls-key" => opts.tls_key = Some(take()?),
            "--exit-on-stdin-eof" => opts.exit_on_stdin_eof = true,
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    if opts.tls_cert.is_some() != opts.tls_key.is_some() {
        return Err("--tls-cert and --tls-key go together".into());
    }
    Ok(Some(opts))
}

fn load_world(path: &str) -> Result<World, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let parsed = if path.to_ascii_lowercase().ends_with(".json") {
        World::from_json(&text)
    } else {
        World::from_toml(&text)
    };
    parsed.map_err(|e| format!("{path}: {e}"))
}

fn run() -> Result<(), String> {
    let Some(opts) = parse_args()? else {
        return Ok(());
    };
    let world = match &opts.world {
        Some(path) => load_world(path)?,
        None => World::demo(),
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], opts.port));
    let emu = match (&opts.tls_cert, &opts.tls_key) {
        (Some(cert), Some(key)) => {
            let read = |path: &str| std::fs::read(path).map_err(|e| format!("{path}: {e}"));
            Emulator::start_tls_on(world, addr, &read(cert)?, &read(key)?)
        }
        _ => Emulator::start_on(world, addr),
    }
    .map_err(|e| e.to_string())?;
    emu.set_offset_secs(opts.offset_secs);
    emu.set_signing_region(opts.signing_region);
    emu.set_stderr_logging(true);

    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "sts-emulator listening on {}", emu.endpoint_url())
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("stdout: {e}"))?;
    drop(stdout);

    if opts.exit_on_stdin_eof {
        let mut sink = [0u8; 256];
        let mut stdin = std::io::stdin().lock();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        emu.stop();
    } else {
        // SIGINT/SIGTERM end the process with their default action; nothing
        // needs flushing, so no handler is installed.
        loop {
            std::thread::park();
        }
    }
    Ok(())
}
