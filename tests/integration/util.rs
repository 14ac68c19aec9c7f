//! A throwaway HOME with the bastion setup, and the STS emulator it talks to.

use std::ffi::OsString;
use std::os::fd::FromRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use sts_emulator::{Emulator, World};

// The demo identity is declared once, by the emulator.
pub use sts_emulator::demo::{ALICE_KEY, ALICE_SECRET, ALICE_SEED as SEED, ALICE_SERIAL as SERIAL};
pub const PROD_ROLE_SESSION: &str = "arn:aws:sts::222222222222:assumed-role/PowerUser/alice";

pub const CONFIG: &str = r#"
[bastion]
profile = "bastion"
mfa_serial = "arn:aws:iam::111111111111:mfa/alice"
session_duration = "12h"
region = "eu-west-1"

[targets.prod]
role_arn = "arn:aws:iam::222222222222:role/PowerUser"
region = "eu-central-1"

[targets.staging]
account = "333333333333"
role = "PowerUser"

[targets.audit]
role_arn = "arn:aws:iam::444444444444:role/Auditor"
external_id = "audit-42"

[targets.untrusting]
role_arn = "arn:aws:iam::555555555555:role/Untrusting"

[targets.long]
role_arn = "arn:aws:iam::222222222222:role/PowerUser"
duration = "2h"
session_name = "alice-long"
"#;

/// A throwaway HOME and the STS server it talks to. [`Home::new`] is the
/// bastion setup most tests want; [`Home::builder`] varies it.
pub struct Home {
    dir: tempfile::TempDir,
    sts: Sts,
    config: PathBuf,
    cache: PathBuf,
    /// Every process's whole environment but the STS endpoint: a test may
    /// replace the emulator (see [`Home::emu_mut`]).
    env: Vec<(&'static str, OsString)>,
}

/// Where a HOME's STS calls go.
enum Sts {
    Emulator(Emulator),
    /// moto, or an address nothing answers on.
    External(String),
}

/// How a [`Home`] is set up; it starts as [`Home::new`]'s.
pub struct HomeBuilder {
    credentials: Option<String>,
    aws_config: Option<String>,
    config: Option<String>,
    config_path: Option<&'static str>,
    sts: Option<Sts>,
    code: Option<(&'static str, String)>,
    aws_file_vars: bool,
    cache_dir: Option<&'static str>,
    path_dirs: Vec<PathBuf>,
    env: Vec<(&'static str, String)>,
}

impl HomeBuilder {
    /// `~/.aws/credentials` (mode 0600), or none.
    pub fn credentials(mut self, text: Option<&str>) -> Self {
        self.credentials = text.map(str::to_owned);
        self
    }

    /// `~/.aws/config`.
    pub fn aws_config(mut self, text: &str) -> Self {
        self.aws_config = Some(text.to_owned());
        self
    }

    /// mfacli's config, or none (as before `mfacli init`).
    pub fn config(mut self, text: Option<&str>) -> Self {
        self.config = text.map(str::to_owned);
        self
    }

    /// Keeps mfacli's config at `rel` under HOME, named by MFACLI_CONFIG,
    /// instead of at the XDG default.
    pub fn config_path(mut self, rel: &'static str) -> Self {
        self.config_path = Some(rel);
        self
    }

    /// Serves STS from `emu` instead of an emulator of the demo world.
    pub fn emulator(mut self, emu: Emulator) -> Self {
        self.sts = Some(Sts::Emulator(emu));
        self
    }

    /// Sends STS calls to `url` (moto, or nothing); no emulator runs.
    pub fn endpoint(mut self, url: &str) -> Self {
        self.sts = Some(Sts::External(url.to_owned()));
        self
    }

    /// The variable mfacli takes MFA codes from, and its value; or none.
    pub fn code(mut self, code: Option<(&'static str, &str)>) -> Self {
        self.code = code.map(|(var, value)| (var, value.to_owned()));
        self
    }

    /// Names the AWS files in AWS_SHARED_CREDENTIALS_FILE and
    /// AWS_CONFIG_FILE rather than leaving them to the HOME default.
    pub fn aws_file_vars(mut self) -> Self {
        self.aws_file_vars = true;
        self
    }

    /// Keeps mfacli's cache at `rel` under HOME, named by MFACLI_CACHE_DIR.
    pub fn cache_dir(mut self, rel: &'static str) -> Self {
        self.cache_dir = Some(rel);
        self
    }

    /// Puts `dir` on PATH, ahead of the inherited PATH and after the
    /// directories added before it.
    pub fn path_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.path_dirs.push(dir.into());
        self
    }

    /// One more environment variable.
    pub fn env(mut self, name: &'static str, value: &str) -> Self {
        self.env.push((name, value.to_owned()));
        self
    }

    pub fn build(self) -> Home {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path();
        let config = home.join(self.config_path.unwrap_or(".config/mfacli/config.toml"));
        let cache = home.join(self.cache_dir.unwrap_or(".cache/mfacli"));
        if let Some(text) = &self.credentials {
            write_private(&home.join(".aws/credentials"), text);
        }
        if let Some(text) = &self.aws_config {
            write(&home.join(".aws/config"), text);
        }
        if let Some(text) = &self.config {
            write(&config, text);
        }

        let inherited = std::env::var_os("PATH").unwrap_or_default();
        let path = self
            .path_dirs
            .into_iter()
            .chain(std::env::split_paths(&inherited));
        let mut env = vec![
            ("PATH", std::env::join_paths(path).unwrap()),
            ("HOME", home.into()),
            ("MFACLI_NON_INTERACTIVE", "1".into()),
        ];
        env.extend(self.code.map(|(var, value)| (var, value.into())));
        if self.config_path.is_some() {
            env.push(("MFACLI_CONFIG", config.clone().into()));
        }
        if self.cache_dir.is_some() {
            env.push(("MFACLI_CACHE_DIR", cache.clone().into()));
        }
        if self.aws_file_vars {
            env.push((
                "AWS_SHARED_CREDENTIALS_FILE",
                home.join(".aws/credentials").into(),
            ));
            env.push(("AWS_CONFIG_FILE", home.join(".aws/config").into()));
        }
        env.extend(self.env.into_iter().map(|(k, v)| (k, v.into())));

        let sts = self
            .sts
            .unwrap_or_else(|| Sts::Emulator(Emulator::start(World::demo()).unwrap()));
        Home {
            dir,
            sts,
            config,
            cache,
            env,
        }
    }
}

/// Writes `text` to `path`, making its directory.
fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// [`write`], then `chmod 600`, as for a credentials file.
pub fn write_private(path: &Path, text: &str) {
    write(path, text);
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

impl Home {
    /// Alice's bastion keys and [`CONFIG`] at the default paths, a demo
    /// world emulator, and alice's TOTP seed.
    pub fn builder() -> HomeBuilder {
        HomeBuilder {
            credentials: Some(format!(
                "# my bastion keys\n[bastion]\naws_access_key_id = {ALICE_KEY}\naws_secret_access_key = {ALICE_SECRET}\n"
            )),
            aws_config: None,
            config: Some(CONFIG.to_owned()),
            config_path: None,
            sts: None,
            code: Some(("MFACLI_TOTP_SECRET", SEED.to_owned())),
            aws_file_vars: false,
            cache_dir: None,
            path_dirs: Vec::new(),
            env: Vec::new(),
        }
    }

    pub fn new() -> Self {
        Self::builder().build()
    }

    pub fn with_credentials(credentials: &str) -> Self {
        Self::builder().credentials(Some(credentials)).build()
    }

    /// A HOME like [`Home::new`] whose emulator serves `world`.
    pub fn with_world(world: World) -> Self {
        Self::builder()
            .emulator(Emulator::start(world).unwrap())
            .build()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The emulator; a HOME built with [`HomeBuilder::endpoint`] has none.
    pub fn emu(&self) -> &Emulator {
        match &self.sts {
            Sts::Emulator(emu) => emu,
            Sts::External(url) => panic!("this HOME's STS is {url}, not an emulator"),
        }
    }

    /// For a test that restarts the emulator.
    pub fn emu_mut(&mut self) -> &mut Emulator {
        match &mut self.sts {
            Sts::Emulator(emu) => emu,
            Sts::External(url) => panic!("this HOME's STS is {url}, not an emulator"),
        }
    }

    pub fn credentials(&self) -> PathBuf {
        self.path().join(".aws/credentials")
    }

    pub fn aws_config(&self) -> PathBuf {
        self.path().join(".aws/config")
    }

    /// mfacli's config file.
    pub fn config(&self) -> PathBuf {
        self.config.clone()
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.cache.clone()
    }

    pub fn write_config(&self, text: &str) {
        std::fs::write(&self.config, text).unwrap();
    }

    /// `mfacli` with a clean environment: only this HOME, its STS, its MFA
    /// code source, and no terminal prompts.
    pub fn mfacli(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::from_std(self.std_mfacli());
        c.timeout(CHILD_TIMEOUT);
        c
    }

    pub fn std_mfacli(&self) -> Command {
        self.command(env!("CARGO_BIN_EXE_mfacli"))
    }

    /// Any program (a shell, faketime, script…) with the environment
    /// `mfacli()` gets and nothing else, in HOME.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let sts = match &self.sts {
            Sts::Emulator(emu) => emu.endpoint_url(),
            Sts::External(url) => url.clone(),
        };
        let mut c = Command::new(program);
        c.env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("AWS_ENDPOINT_URL_STS", sts)
            .current_dir(self.path());
        c
    }

    /// The TOTP code the emulator accepts now, `steps` steps ahead.
    pub fn code(&self, steps: i64) -> String {
        let t = self.emu().now().timestamp() + steps * 30;
        mfacli::mfa::totp::Seed::decode(SEED, "test")
            .unwrap()
            .code_at(t as u64)
            .as_str()
            .to_owned()
    }

    pub fn counts(&self) -> (usize, usize) {
        (
            self.emu().count("GetSessionToken"),
            self.emu().count("AssumeRole"),
        )
    }

    /// Every file under HOME except the cache, as text.
    pub fn files_outside_cache(&self) -> Vec<(PathBuf, String)> {
        let mut out = Vec::new();
        walk(self.path(), &mut |p| {
            if !p.starts_with(self.cache_dir()) {
                out.push((
                    p.to_owned(),
                    String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned(),
                ));
            }
        });
        out
    }
}

pub fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, f);
        } else {
            f(&p);
        }
    }
}

pub fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

pub fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The other local user of the attacker tests (issue 25): uid and gid.
pub const ATTACKER: u32 = 65534;

/// `program` as uid/gid [`ATTACKER`] with no supplementary groups, nothing
/// of the environment but PATH, in `/` (the victim's HOME is not the
/// attacker's); None (a skip) without setpriv, or when the tests do not run
/// as root (only root can become another user).
pub fn as_attacker(program: &str) -> Option<Command> {
    if !have("setpriv") {
        return None;
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        skip("the tests do not run as root", "CI runs them as root");
        return None;
    }
    let mut c = Command::new("setpriv");
    c.args([
        &format!("--reuid={ATTACKER}"),
        &format!("--regid={ATTACKER}"),
        "--clear-groups",
        program,
    ])
    .env_clear()
    .env("PATH", "/usr/bin:/bin")
    .current_dir("/");
    Some(c)
}

/// Is `prog` on PATH? A missing tool fails the test unless skips are
/// allowed (see [`skip`]).
pub fn have(prog: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {prog}"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        skip(&format!("{prog} is not installed"), ".ci/run installs it");
    }
    found
}

/// A prerequisite is missing: a failure unless `MFACLI_ALLOW_SKIP=1`, when
/// the test prints "skipped: …" and returns. Each skip is also appended
/// to the file `$MFACLI_SKIP_LOG` names, which scripts/test.sh counts.
pub fn skip(what: &str, fix: &str) {
    let test = std::thread::current().name().unwrap_or("?").to_owned();
    assert!(
        std::env::var_os("MFACLI_ALLOW_SKIP").is_some_and(|v| v == "1"),
        "{test}: {what} ({fix}); set MFACLI_ALLOW_SKIP=1 to skip instead"
    );
    eprintln!("skipped: {test}: {what} ({fix})");
    if let Some(log) = std::env::var_os("MFACLI_SKIP_LOG").filter(|v| !v.is_empty()) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap_or_else(|e| panic!("MFACLI_SKIP_LOG {}: {e}", Path::new(&log).display()));
        writeln!(f, "{test}: {what}").unwrap();
    }
}

/// Parses credential_process JSON.
pub fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

/// Whether a failed run printed nothing on stdout but the statement that
/// fails the caller's `eval` (`env`, `assume --export`): no credentials, no
/// exports.
pub fn printed_only_a_failure(o: &std::process::Output) -> bool {
    let out = String::from_utf8_lossy(&o.stdout);
    out.lines().all(|l| {
        l.starts_with("# mfacli could not get credentials")
            || l == "false"
            || l == "throw 'mfacli could not get credentials (see the error above)'"
    })
}

/// How long any child a test runs may take before it is killed.
pub const CHILD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// `output()` and `status()` for a std `Command`, bounded by
/// [`CHILD_TIMEOUT`]: a hung child is killed and fails the test instead of
/// hanging the suite. (assert_cmd's `Command` has its own `timeout`.)
pub trait Bounded {
    fn run_bounded(&mut self) -> std::io::Result<std::process::Output>;
    fn status_bounded(&mut self) -> std::io::Result<std::process::ExitStatus>;
}

impl Bounded for Command {
    fn run_bounded(&mut self) -> std::io::Result<std::process::Output> {
        use std::process::Stdio;
        let child = self
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        Ok(output_bounded(child, &describe(self)))
    }

    fn status_bounded(&mut self) -> std::io::Result<std::process::ExitStatus> {
        let mut child = self.spawn()?;
        wait_bounded(&mut child, &describe(self))
    }
}

/// A command line, for messages.
pub fn describe(c: &Command) -> String {
    format!(
        "{:?} {:?}",
        c.get_program(),
        c.get_args().collect::<Vec<_>>()
    )
}

/// `child.wait_with_output()`, bounded by [`CHILD_TIMEOUT`]: whatever
/// stdout and stderr were piped are collected.
pub fn output_bounded(mut child: std::process::Child, what: &str) -> std::process::Output {
    use std::io::Read;
    fn read(r: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut b = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut b);
            }
            b
        })
    }
    let out = read(child.stdout.take());
    let err = read(child.stderr.take());
    let status = wait_bounded(&mut child, what).unwrap();
    std::process::Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Waits for `child` at most [`CHILD_TIMEOUT`], else kills it and panics.
pub fn wait_bounded(
    child: &mut std::process::Child,
    what: &str,
) -> std::io::Result<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + CHILD_TIMEOUT;
    loop {
        if let Some(s) = child.try_wait()? {
            return Ok(s);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {CHILD_TIMEOUT:?}; killed");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// What `mfacli ARGS` prints in an empty HOME with a cleared environment:
/// for commands that need no setup (`policy`, `completions`).
pub fn bare_mfacli_stdout(args: &[&str]) -> String {
    let home = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::cargo_bin("mfacli")
        .unwrap()
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("MFACLI_NON_INTERACTIVE", "1")
        .timeout(CHILD_TIMEOUT)
        .args(args)
        .assert()
        .success();
    stdout(out.get_output())
}

/// `sts get-caller-identity` printing only the caller's ARN: the AWS CLI
/// arguments every consumer test runs.
pub const CALLER_ARN_ARGS: &[&str] = &[
    "sts",
    "get-caller-identity",
    "--query",
    "Arn",
    "--output",
    "text",
];

/// How a faked process's clock moves: a fixed libfaketime spec (`+3300s`,
/// or `@2026-11-28 12:00:28` to start there), or a timestamp file the test
/// rewrites while the process runs.
#[derive(Clone, Copy)]
pub enum FakeClock<'a> {
    Spec(&'a str),
    File(&'a Path),
}

/// libfaketime's preload library (`/usr/lib/<triplet>/faketime/`), or a
/// skip where the faketime package is not installed.
pub fn libfaketime() -> Option<PathBuf> {
    let lib = std::fs::read_dir("/usr/lib")
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .map(|d| d.path().join("faketime/libfaketime.so.1"))
        .find(|p| p.is_file());
    if lib.is_none() {
        skip("libfaketime is not installed", ".ci/run installs faketime");
    }
    lib
}

/// Runs `c` under libfaketime through `LD_PRELOAD`, never through the
/// `faketime` wrapper: the wrapper (and libfaketime 0.9.10 itself, when
/// `FAKETIME_SHARED` is unset) creates `/dev/shm/sem.faketime_sem_<pid>`
/// exclusively, so a stale entry left by a killed process fails every later
/// process that gets that PID. Here each process opens the one pair this
/// test binary owns ([`FakeTimeShared`]) and creates nothing.
/// The monotonic clock stays real (mfacli's timeouts and locks use it).
pub fn fake_clock(c: &mut Command, clock: FakeClock<'_>) {
    let lib = libfaketime().expect("the caller checked libfaketime()");
    c.env("LD_PRELOAD", lib)
        .env("FAKETIME_SHARED", FakeTimeShared::get().env_value())
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .env("TZ", "UTC");
    match clock {
        FakeClock::Spec(spec) => {
            c.env("FAKETIME", spec)
                .env_remove("FAKETIME_TIMESTAMP_FILE");
        }
        FakeClock::File(file) => {
            c.env("FAKETIME_TIMESTAMP_FILE", file)
                .env("FAKETIME_NO_CACHE", "1")
                .env_remove("FAKETIME");
        }
    }
}

/// `mfacli` under libfaketime, its clock moved by the same spec the test
/// gives the emulator. None (skip) where libfaketime is not installed.
pub fn faked_mfacli(h: &Home, spec: &str) -> Option<assert_cmd::Command> {
    libfaketime()?;
    let mut c = h.std_mfacli();
    fake_clock(&mut c, FakeClock::Spec(spec));
    let mut c = assert_cmd::Command::from_std(c);
    c.timeout(CHILD_TIMEOUT);
    Some(c)
}

/// The semaphore and shared-memory pair libfaketime syncs through, created
/// once per test binary under a name of its own and removed when the binary
/// exits. Processes given it in `FAKETIME_SHARED` only open it, so a faked
/// process killed at its time bound leaves nothing in /dev/shm.
pub struct FakeTimeShared {
    sem: String,
    shm: String,
}

impl FakeTimeShared {
    pub fn get() -> &'static FakeTimeShared {
        static SHARED: std::sync::OnceLock<FakeTimeShared> = std::sync::OnceLock::new();
        SHARED.get_or_init(|| {
            let pair = FakeTimeShared::create(&format!("mfacli_tests_{}", std::process::id()));
            extern "C" fn remove_at_exit() {
                if let Some(pair) = SHARED.get() {
                    pair.remove();
                }
            }
            // SAFETY: registers a plain function; it runs once at exit.
            unsafe { libc::atexit(remove_at_exit) };
            pair
        })
    }

    fn create(base: &str) -> FakeTimeShared {
        use std::ffi::CString;
        let pair = FakeTimeShared {
            sem: format!("/{base}_sem"),
            shm: format!("/{base}_shm"),
        };
        // A pair of this name is a leftover of a killed run with our PID.
        pair.remove();
        let sem = CString::new(pair.sem.as_str()).unwrap();
        let shm = CString::new(pair.shm.as_str()).unwrap();
        // SAFETY: FFI with valid C strings; every result is checked.
        unsafe {
            let s = libc::sem_open(sem.as_ptr(), libc::O_CREAT | libc::O_EXCL, 0o600, 1);
            assert!(
                s != libc::SEM_FAILED,
                "sem_open {}: {}",
                pair.sem,
                std::io::Error::last_os_error()
            );
            libc::sem_close(s);
            let fd = libc::shm_open(
                shm.as_ptr(),
                libc::O_CREAT | libc::O_EXCL | libc::O_RDWR,
                0o600,
            );
            assert!(
                fd >= 0,
                "shm_open {}: {}",
                pair.shm,
                std::io::Error::last_os_error()
            );
            // libfaketime's ft_shared_s: two u64 counters, then the start
            // times (timespecs), whose tv_nsec of -1 means "not set yet",
            // as libfaketime's own ft_shm_create writes them.
            let mut init = [0i64; 10];
            for i in [3, 5, 7, 9] {
                init[i] = -1;
            }
            let bytes = std::slice::from_raw_parts(init.as_ptr().cast::<u8>(), 80);
            let mut f = std::fs::File::from_raw_fd(fd);
            std::io::Write::write_all(&mut f, bytes).unwrap();
            f.set_len(4096).unwrap();
        }
        pair
    }

    fn remove(&self) {
        use std::ffi::CString;
        let sem = CString::new(self.sem.as_str()).unwrap();
        let shm = CString::new(self.shm.as_str()).unwrap();
        // SAFETY: FFI with valid C strings; a missing name is not an error here.
        unsafe {
            libc::sem_unlink(sem.as_ptr());
            libc::shm_unlink(shm.as_ptr());
        }
    }

    /// `FAKETIME_SHARED`'s format: "<semaphore> <shared memory>".
    pub fn env_value(&self) -> String {
        format!("{} {}", self.sem, self.shm)
    }
}

/// The test venv's bin directory (python with boto3, the AWS CLI v1), or a
/// skip: scripts/test.sh makes it, MFACLI_TEST_VENV points elsewhere.
pub fn venv_bin() -> Option<PathBuf> {
    let dir = std::env::var_os("MFACLI_TEST_VENV")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv"));
    let bin = dir.join("bin");
    if bin.join("python").is_file() && bin.join("aws").is_file() {
        return Some(bin);
    }
    skip(
        &format!("no test venv at {}", dir.display()),
        "the test venv (boto3, awscli): scripts/test.sh makes it",
    );
    None
}
