//! The Linux kernel keyring: entries live in the user's persistent keyring
//! (`keyctl get_persistent @s`), shared by every login session of the user,
//! in kernel memory only, gone at reboot. No daemon, no password prompt.
//!
//! linux-keyutils-keyring-store searches the *session* keyring, which a new
//! SSH login does not share, and cannot give an entry a timeout; so this
//! backend talks to the persistent keyring through linux-keyutils directly.

use linux_keyutils::{KeyError, KeyRing, KeyRingIdentifier};

use super::{Vault, VaultError};

pub(super) struct KernelVault {
    ring: KeyRing,
}

fn err(what: &str, e: KeyError) -> VaultError {
    match e {
        KeyError::AccessDenied | KeyError::PermissionDenied => {
            VaultError::Locked(format!("{what}: access denied ({e})"))
        }
        KeyError::OperationNotSupported => VaultError::Unavailable(format!(
            "{what}: the kernel refused the keyctl call ({e}; a container's seccomp profile may block it)"
        )),
        _ => VaultError::Failed(format!("{what}: {e}")),
    }
}

impl KernelVault {
    pub(super) fn open() -> Result<Self, VaultError> {
        // The persistent keyring, linked into this process's own keyring so
        // the process possesses it (write and search need possession; the
        // default `_uid_ses` session keyring of a container refuses links);
        // the user keyring where the kernel has no persistent keyrings.
        let ring = KeyRing::get_persistent(KeyRingIdentifier::Process)
            .or_else(|_| KeyRing::from_special_id(KeyRingIdentifier::User, true))
            .map_err(|e| err("the user's persistent keyring", e))?;
        Ok(Self { ring })
    }

    fn find(&self, desc: &str) -> Result<Option<linux_keyutils::Key>, VaultError> {
        match self.ring.search(desc) {
            Ok(k) => Ok(Some(k)),
            Err(KeyError::KeyDoesNotExist | KeyError::KeyExpired | KeyError::KeyRevoked) => {
                Ok(None)
            }
            Err(e) => Err(err(&format!("searching {desc}"), e)),
        }
    }
}

fn description(service: &str, name: &str) -> String {
    format!("{service}:{name}")
}

impl Vault for KernelVault {
    fn get(&self, service: &str, name: &str) -> Result<Option<Vec<u8>>, VaultError> {
        let desc = description(service, name);
        let Some(key) = self.find(&desc)? else {
            return Ok(None);
        };
        match key.read_to_vec() {
            Ok(v) => Ok(Some(v)),
            Err(KeyError::KeyExpired | KeyError::KeyRevoked | KeyError::KeyDoesNotExist) => {
                Ok(None)
            }
            Err(e) => Err(err(&format!("reading {desc}"), e)),
        }
    }

    fn set(
        &self,
        service: &str,
        name: &str,
        secret: &[u8],
        expires_in: Option<u64>,
    ) -> Result<(), VaultError> {
        let desc = description(service, name);
        // add_key replaces the payload of an existing key of that name.
        let key = self
            .ring
            .add_key(&desc, secret)
            .map_err(|e| err(&format!("storing {desc}"), e))?;
        // 0 clears a timeout an earlier value of the entry had.
        let secs = expires_in.map_or(0, |s| usize::try_from(s.max(1)).unwrap_or(usize::MAX));
        key.set_timeout(secs)
            .map_err(|e| err(&format!("setting the timeout of {desc}"), e))
    }

    fn delete(&self, service: &str, name: &str) -> Result<bool, VaultError> {
        let desc = description(service, name);
        let Some(key) = self.find(&desc)? else {
            return Ok(false);
        };
        // Unlinked and gone: invalidate, not just unlink from this ring.
        key.invalidate()
            .map_err(|e| err(&format!("deleting {desc}"), e))?;
        Ok(true)
    }
}
