//! Where the bastion's long-term key lives: the AWS credentials file
//! (`key_store = "aws-files"`, the default) or the OS keyring
//! (`key_store = "keyring"`), which then also holds the MFA session.
//!
//! Role credentials stay in the file cache either way: the cache hit must
//! stay one small file read, never a D-Bus round trip or an unlock prompt.
//! So with the keyring the role cache is keyed by the profile, not the key
//! id ([`KeySource::key_tag`]), and every key change mfacli makes clears
//! the role cache ([`forget_role_cache`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::aws_files::AwsFiles;
use crate::cache::Cache;
use crate::env::Env;
use crate::error::UserError;
use crate::plan::Sources;
use crate::secret::{LongTermKeys, Secret};
use crate::types::InvalidValue;

#[cfg(target_os = "linux")]
mod kernel;
pub(crate) mod manage;

/// The service name of the long-term key entries (`mfacli:PROFILE`).
pub(crate) const SERVICE: &str = "mfacli";
/// The service name of the MFA session entries (`mfacli-session:PROFILE`).
pub(crate) const SESSION_SERVICE: &str = "mfacli-session";
/// The environment variable that picks the keyring backend.
pub(crate) const KEYRING_ENV: &str = "MFACLI_KEYRING";

/// `[bastion] key_store`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum KeyStoreKind {
    #[default]
    AwsFiles,
    Keyring,
}

impl FromStr for KeyStoreKind {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        match s {
            "aws-files" => Ok(Self::AwsFiles),
            "keyring" => Ok(Self::Keyring),
            _ => Err(InvalidValue(format!(
                "`{s}` is not a key store; use \"keyring\" or \"aws-files\""
            ))),
        }
    }
}

/// A keyring backend (`[bastion] keyring`, `$MFACLI_KEYRING`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    /// The macOS login Keychain.
    Keychain,
    /// The freedesktop Secret Service (GNOME Keyring, KWallet, KeePassXC).
    SecretService,
    /// The Linux kernel keyring: the user's persistent keyring.
    Keyutils,
    /// keyring-core's in-memory mock store (unit tests).
    #[cfg(test)]
    Mock,
}

impl Backend {
    pub(crate) const NAMES: [&'static str; 3] = ["keychain", "secret-service", "keyutils"];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Keychain => "keychain",
            Self::SecretService => "secret-service",
            Self::Keyutils => "keyutils",
            #[cfg(test)]
            Self::Mock => "mock",
        }
    }

    /// What a person calls it, for messages.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Keychain => "the macOS Keychain",
            Self::SecretService => "the Secret Service (D-Bus)",
            Self::Keyutils => "the kernel keyring (keyutils)",
            #[cfg(test)]
            Self::Mock => "the mock keyring",
        }
    }

    /// `$MFACLI_KEYRING` > `[bastion] keyring` > the platform's own:
    /// the Keychain on macOS; on Linux the Secret Service when there is a
    /// session bus, else the kernel keyring (SSH sessions, servers, WSL).
    pub(crate) fn choose(configured: Option<Backend>, env: &Env) -> Result<Backend, UserError> {
        if let Some(v) = env.text(KEYRING_ENV)?.filter(|v| !v.is_empty()) {
            return v
                .parse()
                .map_err(|e: InvalidValue| UserError::new(format!("${KEYRING_ENV}: {e}")));
        }
        if let Some(b) = configured {
            return Ok(b);
        }
        if cfg!(target_os = "macos") {
            Ok(Self::Keychain)
        } else if env
            .lossy("DBUS_SESSION_BUS_ADDRESS")
            .is_some_and(|a| !a.is_empty())
        {
            Ok(Self::SecretService)
        } else {
            Ok(Self::Keyutils)
        }
    }
}

impl FromStr for Backend {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        match s {
            "keychain" => Ok(Self::Keychain),
            "secret-service" => Ok(Self::SecretService),
            "keyutils" => Ok(Self::Keyutils),
            _ => Err(InvalidValue(format!(
                "`{s}` is not a keyring backend; use one of {}",
                Self::NAMES.join(", ")
            ))),
        }
    }
}

/// Why a keyring call failed, before it becomes a [`UserError`].
#[derive(Debug)]
pub(crate) enum VaultError {
    /// The store is there but refused access: locked, prompt dismissed.
    Locked(String),
    /// No store to talk to (no daemon, no bus, not on this platform).
    Unavailable(String),
    /// Anything else the store reported.
    Failed(String),
    /// No answer within the timeout (an unlock dialog nobody answers).
    Timeout(Duration),
}

/// One keyring's three operations on `(service, name)` entries.
pub(crate) trait Vault: Send + Sync {
    fn get(&self, service: &str, name: &str) -> Result<Option<Vec<u8>>, VaultError>;
    /// `expires_in`: seconds until the backend may forget the entry (the
    /// kernel keyring honours it; the others keep the entry, which carries
    /// its own expiry).
    fn set(
        &self,
        service: &str,
        name: &str,
        secret: &[u8],
        expires_in: Option<u64>,
    ) -> Result<(), VaultError>;
    /// `false`: there was nothing to delete.
    fn delete(&self, service: &str, name: &str) -> Result<bool, VaultError>;
}

/// A keyring-core store (Secret Service, Keychain, mock).
struct CoreVault {
    store: Arc<keyring_core::CredentialStore>,
    /// Label the entries `service:name` (the Secret Service shows labels).
    labels: bool,
}

impl CoreVault {
    fn entry(&self, service: &str, name: &str) -> Result<keyring_core::Entry, VaultError> {
        let label = format!("{service}:{name}");
        let mut mods = HashMap::new();
        if self.labels {
            mods.insert("label", label.as_str());
        }
        if mods.is_empty() {
            keyring_core::Entry::new_in_store(&self.store, service, name)
        } else {
            keyring_core::Entry::new_in_store_with_modifiers(&self.store, service, name, &mods)
        }
        .map_err(core_error)
    }
}

fn core_error(e: keyring_core::Error) -> VaultError {
    use keyring_core::Error as E;
    let text = e.to_string();
    // No bus, or nothing on it that provides the Secret Service.
    let absent = ["Failed to connect", "ServiceUnknown", "not provided by any"];
    if absent.iter().any(|a| text.contains(a)) {
        return VaultError::Unavailable(text);
    }
    match e {
        E::NoStorageAccess(_) => {
            if text.to_ascii_lowercase().contains("lock")
                || text.to_ascii_lowercase().contains("dismiss")
                || text.to_ascii_lowercase().contains("prompt")
            {
                VaultError::Locked(text)
            } else {
                VaultError::Unavailable(text)
            }
        }
        _ => VaultError::Failed(text),
    }
}

impl Vault for CoreVault {
    fn get(&self, service: &str, name: &str) -> Result<Option<Vec<u8>>, VaultError> {
        match self.entry(service, name)?.get_secret() {
            Ok(s) => Ok(Some(s)),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(core_error(e)),
        }
    }

    fn set(
        &self,
        service: &str,
        name: &str,
        secret: &[u8],
        _: Option<u64>,
    ) -> Result<(), VaultError> {
        self.entry(service, name)?
            .set_secret(secret)
            .map_err(core_error)
    }

    fn delete(&self, service: &str, name: &str) -> Result<bool, VaultError> {
        match self.entry(service, name)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring_core::Error::NoEntry) => Ok(false),
            Err(e) => Err(core_error(e)),
        }
    }
}

/// A connected keyring: every call runs on a worker thread and is given up
/// after `timeout`, so a backend that never answers (a D-Bus peer stuck on
/// an unlock dialog nobody sees) is an error, not a hang.
#[derive(Clone)]
pub(crate) struct Keyring {
    pub(crate) backend: Backend,
    timeout: Duration,
    vault: Arc<dyn Vault>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("backend", &self.backend)
            .finish()
    }
}

/// The stored form of the long-term key.
#[derive(Serialize, Deserialize)]
struct StoredKeys {
    access_key_id: String,
    secret_access_key: Secret,
}

impl Keyring {
    /// Connects to `backend`, within `timeout`.
    pub(crate) fn open(backend: Backend, timeout: Duration) -> Result<Self, UserError> {
        let vault = bounded(backend, timeout, move || open_vault(backend))
            .map_err(|e| vault_error(backend, e, "open"))?;
        Ok(Self {
            backend,
            timeout,
            vault,
        })
    }

    /// A keyring over a given vault (tests).
    #[cfg(test)]
    pub(crate) fn with_vault(backend: Backend, timeout: Duration, vault: Arc<dyn Vault>) -> Self {
        Self {
            backend,
            timeout,
            vault,
        }
    }

    fn call<T: Send + 'static>(
        &self,
        what: &str,
        f: impl FnOnce(&dyn Vault) -> Result<T, VaultError> + Send + 'static,
    ) -> Result<T, UserError> {
        let vault = Arc::clone(&self.vault);
        bounded(self.backend, self.timeout, move || f(vault.as_ref()))
            .map_err(|e| vault_error(self.backend, e, what))
    }

    /// The long-term key of `profile`, `None` when there is no entry.
    pub(crate) fn keys(&self, profile: &str) -> Result<Option<LongTermKeys>, UserError> {
        let name = profile.to_owned();
        let bytes = self.call("read the key from", move |v| v.get(SERVICE, &name))?;
        let Some(bytes) = bytes.map(zeroize::Zeroizing::new) else {
            return Ok(None);
        };
        let stored: StoredKeys = serde_json::from_slice(&bytes).map_err(|_| {
            UserError::new(format!(
                "the entry {SERVICE}:{profile} in {} is not a key mfacli wrote",
                self.backend.label()
            ))
            .hint(format!(
                "store the key again: `mfacli keys add --profile {profile}`"
            ))
        })?;
        Ok(Some(LongTermKeys {
            access_key_id: stored.access_key_id,
            secret_access_key: stored.secret_access_key,
        }))
    }

    /// Stores the long-term key of `profile`, replacing any earlier one.
    pub(crate) fn set_keys(&self, profile: &str, keys: &LongTermKeys) -> Result<(), UserError> {
        let bytes = zeroize::Zeroizing::new(
            serde_json::to_vec(&StoredKeys {
                access_key_id: keys.access_key_id.clone(),
                secret_access_key: keys.secret_access_key.clone(),
            })
            .map_err(|e| UserError::new(format!("the key could not be encoded: {e}")))?,
        );
        let name = profile.to_owned();
        self.call("store the key in", move |v| {
            v.set(SERVICE, &name, &bytes, None)
        })
    }

    /// Deletes `profile`'s key and MFA session; `false` if no key was there.
    pub(crate) fn remove(&self, profile: &str) -> Result<bool, UserError> {
        let name = profile.to_owned();
        self.call("delete the key from", move |v| {
            let _ = v.delete(SESSION_SERVICE, &name);
            v.delete(SERVICE, &name)
        })
    }

    /// The MFA session entry of `profile` (JSON), if any.
    pub(crate) fn session(&self, profile: &str) -> Result<Option<Vec<u8>>, UserError> {
        let name = profile.to_owned();
        self.call("read the MFA session from", move |v| {
            v.get(SESSION_SERVICE, &name)
        })
    }

    /// Stores the MFA session entry, to be forgotten after `expires_in` s.
    pub(crate) fn set_session(
        &self,
        profile: &str,
        entry: Vec<u8>,
        expires_in: u64,
    ) -> Result<(), UserError> {
        let name = profile.to_owned();
        let entry = zeroize::Zeroizing::new(entry);
        self.call("store the MFA session in", move |v| {
            v.set(SESSION_SERVICE, &name, &entry, Some(expires_in))
        })
    }

    pub(crate) fn remove_session(&self, profile: &str) -> Result<bool, UserError> {
        let name = profile.to_owned();
        self.call("delete the MFA session from", move |v| {
            v.delete(SESSION_SERVICE, &name)
        })
    }
}

/// Runs `f` on a worker thread and waits at most `timeout` for it. The
/// kernel keyring is a system call that never waits for a person, and its
/// possession rules follow the calling thread's credentials (a keyring a
/// worker thread links is not the main thread's): it runs here.
fn bounded<T: Send + 'static>(
    backend: Backend,
    timeout: Duration,
    f: impl FnOnce() -> Result<T, VaultError> + Send + 'static,
) -> Result<T, VaultError> {
    if backend == Backend::Keyutils {
        return f();
    }
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("keyring".into())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .map_err(|e| VaultError::Failed(format!("no thread for the keyring call: {e}")))?;
    match rx.recv_timeout(timeout) {
        Ok(r) => r,
        // The thread stays blocked in the backend; the process exits soon.
        Err(mpsc::RecvTimeoutError::Timeout) => Err(VaultError::Timeout(timeout)),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err(VaultError::Failed("the keyring call stopped".into()))
        }
    }
}

fn open_vault(backend: Backend) -> Result<Arc<dyn Vault>, VaultError> {
    match backend {
        #[cfg(target_os = "linux")]
        Backend::Keyutils => Ok(Arc::new(kernel::KernelVault::open()?)),
        #[cfg(target_os = "linux")]
        Backend::SecretService => {
            let store = dbus_secret_service_keyring_store::Store::new().map_err(core_error)?;
            Ok(Arc::new(CoreVault {
                store,
                labels: true,
            }))
        }
        #[cfg(target_os = "macos")]
        Backend::Keychain => {
            let store = apple_native_keyring_store::keychain::Store::new().map_err(core_error)?;
            Ok(Arc::new(CoreVault {
                store,
                labels: false,
            }))
        }
        #[cfg(test)]
        Backend::Mock => {
            let store = keyring_core::mock::Store::new().map_err(core_error)?;
            Ok(Arc::new(CoreVault {
                store,
                labels: false,
            }))
        }
        #[allow(unreachable_patterns)]
        other => Err(VaultError::Unavailable(format!(
            "{} is not available on this platform",
            other.label()
        ))),
    }
}

/// One screen: what failed, in which backend, and the ways out.
pub(crate) fn vault_error(backend: Backend, e: VaultError, what: &str) -> UserError {
    let label = backend.label();
    let out = "or keep the key in ~/.aws/credentials: key_store = \"aws-files\" in [bastion] of the mfacli config";
    match e {
        VaultError::Locked(d) => UserError::new(format!(
            "could not {what} {label}: it is locked or the unlock was dismissed ({d})"
        ))
        .hint(format!(
            "unlock the keyring (log in to the desktop session, or `gnome-keyring-daemon --unlock`), then run the command again; {out}"
        )),
        VaultError::Unavailable(d) => UserError::new(format!(
            "could not {what} {label}: no such keyring is running ({d})"
        ))
        .hint(format!(
            "pick another backend with {KEYRING_ENV} or [bastion] keyring = one of {}; {out}",
            Backend::NAMES.join(", ")
        )),
        VaultError::Failed(d) => UserError::new(format!("could not {what} {label}: {d}"))
            .hint(format!(
                "pick another backend with {KEYRING_ENV} or [bastion] keyring; {out}"
            )),
        VaultError::Timeout(t) => UserError::new(format!(
            "{label} did not answer within {}s (could not {what} it); an unlock dialog may be waiting where nobody sees it",
            t.as_secs()
        ))
        .hint(format!(
            "unlock the keyring and run again, raise --lock-timeout, or pick another backend with {KEYRING_ENV}; {out}"
        )),
    }
}

/// Where the chain reads the bastion's long-term key.
pub(crate) trait KeySource {
    /// What names the key in role cache entries, found without reading a
    /// secret store: the cache hit must not touch the keyring.
    fn key_tag(&self, profile: &str) -> Result<String, UserError>;
    /// The key itself (read once per run).
    fn long_term_keys(&self, profile: &str) -> Result<LongTermKeys, UserError>;
    /// The keyring that holds the MFA session, when it is not in the file cache.
    fn session_keyring(&self) -> Result<Option<&Keyring>, UserError> {
        Ok(None)
    }
}

impl<T: KeySource + ?Sized> KeySource for &T {
    fn key_tag(&self, profile: &str) -> Result<String, UserError> {
        (**self).key_tag(profile)
    }
    fn long_term_keys(&self, profile: &str) -> Result<LongTermKeys, UserError> {
        (**self).long_term_keys(profile)
    }
    fn session_keyring(&self) -> Result<Option<&Keyring>, UserError> {
        (**self).session_keyring()
    }
}

impl KeySource for AwsFiles {
    fn key_tag(&self, profile: &str) -> Result<String, UserError> {
        Ok(self.long_term_keys(profile)?.access_key_id)
    }
    fn long_term_keys(&self, profile: &str) -> Result<LongTermKeys, UserError> {
        AwsFiles::long_term_keys(self, profile)
    }
}

/// The keyring as a key source: connected on first use, each key read
/// once, so a keyring that asks to be unlocked asks once per run.
pub(crate) struct KeyringKeys {
    backend: Backend,
    timeout: Duration,
    keyring: std::cell::OnceCell<Keyring>,
    read: RefCell<HashMap<String, LongTermKeys>>,
}

impl KeyringKeys {
    pub(crate) fn new(backend: Backend, timeout: Duration) -> Self {
        Self {
            backend,
            timeout,
            keyring: std::cell::OnceCell::new(),
            read: RefCell::new(HashMap::new()),
        }
    }

    /// A key source over an open keyring (tests).
    #[cfg(test)]
    pub(crate) fn with(keyring: Keyring) -> Self {
        let s = Self::new(keyring.backend, keyring.timeout);
        let _ = s.keyring.set(keyring);
        s
    }

    pub(crate) fn keyring(&self) -> Result<&Keyring, UserError> {
        if let Some(k) = self.keyring.get() {
            return Ok(k);
        }
        let k = Keyring::open(self.backend, self.timeout)?;
        Ok(self.keyring.get_or_init(|| k))
    }
}

impl KeySource for KeyringKeys {
    fn key_tag(&self, profile: &str) -> Result<String, UserError> {
        Ok(format!("keyring:{profile}"))
    }

    fn long_term_keys(&self, profile: &str) -> Result<LongTermKeys, UserError> {
        if let Some(k) = self.read.borrow().get(profile) {
            return Ok(k.clone());
        }
        let keyring = self.keyring()?;
        let keys = keyring.keys(profile)?.ok_or_else(|| {
            UserError::new(format!(
                "no key for profile '{profile}' in {} (key_store = \"keyring\"); it may have been deleted by hand, or stored in another backend ([bastion] keyring, ${KEYRING_ENV})",
                keyring.backend.label()
            ))
            .hint(format!(
                "store it: `mfacli keys add --profile {profile}` (or `mfacli keys import --profile {profile}` from ~/.aws/credentials); or set key_store = \"aws-files\" in [bastion]"
            ))
        })?;
        self.read
            .borrow_mut()
            .insert(profile.to_owned(), keys.clone());
        Ok(keys)
    }

    fn session_keyring(&self) -> Result<Option<&Keyring>, UserError> {
        self.keyring().map(Some)
    }
}

/// The bastion keys' source the config names: the AWS files, or the
/// keyring (connected only when a key or session is really needed).
pub(crate) fn key_source(sources: &Sources) -> Result<Box<dyn KeySource + '_>, UserError> {
    match sources.bastion().key_store {
        KeyStoreKind::AwsFiles => Ok(Box::new(&sources.aws)),
        KeyStoreKind::Keyring => Ok(Box::new(KeyringKeys::new(
            Backend::choose(sources.bastion().keyring, &sources.env)?,
            sources.lock_timeout(),
        ))),
    }
}

/// Deletes every cached role credential: they are keyed by the profile, not
/// the key, when the key is in the keyring, so a changed key must not find
/// them. The cost is one AssumeRole per target (through the MFA session).
pub(crate) fn forget_role_cache(cache: &Cache) {
    for name in cache.entries("role-") {
        let _ = cache.remove(&name);
    }
}

/// The key id as `aws configure list` masks it: the last four characters.
pub(crate) fn mask_key_id(id: &str) -> String {
    let n = id.chars().count();
    let tail: String = id.chars().skip(n.saturating_sub(4)).collect();
    format!("{}{tail}", "*".repeat(n.saturating_sub(4).max(4)))
}

#[cfg(test)]
mod tests;
