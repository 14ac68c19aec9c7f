use super::*;

fn mock() -> Keyring {
    Keyring::open(Backend::Mock, Duration::from_secs(5)).unwrap()
}

fn keys() -> LongTermKeys {
    LongTermKeys {
        access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
        secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    }
}

#[test]
fn keys_round_trip_and_remove() {
    let k = mock();
    assert!(k.keys("bastion").unwrap().is_none());
    k.set_keys("bastion", &keys()).unwrap();
    let back = k.keys("bastion").unwrap().unwrap();
    assert_eq!(back.access_key_id, "AKIAIOSFODNN7EXAMPLE");
    assert_eq!(back.secret_access_key, keys().secret_access_key);
    assert!(k.remove("bastion").unwrap());
    assert!(!k.remove("bastion").unwrap());
}

/// A vault that fails every call the way a backend does.
struct Failing(fn() -> VaultError);

impl Vault for Failing {
    fn get(&self, _: &str, _: &str) -> Result<Option<Vec<u8>>, VaultError> {
        Err((self.0)())
    }
    fn set(&self, _: &str, _: &str, _: &[u8], _: Option<u64>) -> Result<(), VaultError> {
        Err((self.0)())
    }
    fn delete(&self, _: &str, _: &str) -> Result<bool, VaultError> {
        Err((self.0)())
    }
}

/// A vault that never answers (an unlock dialog nobody sees).
struct Stuck;

impl Vault for Stuck {
    fn get(&self, _: &str, _: &str) -> Result<Option<Vec<u8>>, VaultError> {
        std::thread::sleep(Duration::from_secs(3600));
        Ok(None)
    }
    fn set(&self, _: &str, _: &str, _: &[u8], _: Option<u64>) -> Result<(), VaultError> {
        std::thread::sleep(Duration::from_secs(3600));
        Ok(())
    }
    fn delete(&self, _: &str, _: &str) -> Result<bool, VaultError> {
        std::thread::sleep(Duration::from_secs(3600));
        Ok(false)
    }
}

#[test]
fn a_backend_that_never_answers_is_an_error_within_the_timeout() {
    let k = Keyring::with_vault(
        Backend::SecretService,
        Duration::from_millis(200),
        Arc::new(Stuck),
    );
    let started = std::time::Instant::now();
    let e = k.keys("bastion").unwrap_err().to_string();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        e.contains("Secret Service") && e.contains("did not answer"),
        "{e}"
    );
    assert!(e.contains("key_store = \"aws-files\""), "{e}");
}

#[test]
fn each_failure_names_the_backend_and_a_fix() {
    type Make = fn() -> VaultError;
    let cases: [(Make, &str); 3] = [
        (
            || VaultError::Locked("collection is locked".into()),
            "unlock",
        ),
        (
            || VaultError::Unavailable("no bus".into()),
            MFACLI_KEYRING_HINT,
        ),
        (|| VaultError::Failed("boom".into()), "another backend"),
    ];
    for (make, fix) in cases {
        let k = Keyring::with_vault(
            Backend::Keyutils,
            Duration::from_secs(5),
            Arc::new(Failing(make)),
        );
        let e = k.set_keys("bastion", &keys()).unwrap_err().to_string();
        assert!(e.contains("kernel keyring"), "{e}");
        assert!(e.contains(fix), "{e}");
        assert!(!e.contains("EXAMPLEKEY"), "{e}");
        assert_eq!(e.lines().count(), 2, "one message and one hint: {e}");
    }
}

const MFACLI_KEYRING_HINT: &str = "MFACLI_KEYRING";

#[test]
fn the_mock_store_reports_its_errors_as_keyring_errors() {
    let store = keyring_core::mock::Store::new().unwrap();
    let vault = CoreVault {
        store: store.clone(),
        labels: false,
    };
    let entry = vault.entry(SERVICE, "bastion").unwrap();
    let cred: &keyring_core::mock::Cred = entry.as_any().downcast_ref().unwrap();
    cred.set_error(keyring_core::Error::NoStorageAccess(
        "the collection is locked".into(),
    ));
    let e = vault.get(SERVICE, "bastion").unwrap_err();
    assert!(matches!(e, VaultError::Locked(_)), "{e:?}");
}

#[test]
fn an_entry_deleted_by_hand_says_how_to_store_it_again() {
    let src = KeyringKeys::with(mock());
    let e = src.long_term_keys("bastion").unwrap_err().to_string();
    assert!(e.contains("no key for profile 'bastion'"), "{e}");
    assert!(e.contains("mfacli keys add --profile bastion"), "{e}");
}

#[test]
fn a_key_is_read_once_per_run() {
    let k = mock();
    k.set_keys("bastion", &keys()).unwrap();
    let src = KeyringKeys::with(k.clone());
    src.long_term_keys("bastion").unwrap();
    // Gone from the store, still served from this run's read.
    k.remove("bastion").unwrap();
    assert!(src.long_term_keys("bastion").is_ok());
    assert_eq!(src.key_tag("bastion").unwrap(), "keyring:bastion");
}

#[test]
fn key_ids_are_masked_like_aws_configure_list() {
    assert_eq!(mask_key_id("AKIAIOSFODNN7EXAMPLE"), "****************MPLE");
    assert_eq!(mask_key_id("ab"), "****ab");
}

#[test]
fn names_parse() {
    assert_eq!(
        "keyring".parse::<KeyStoreKind>().unwrap(),
        KeyStoreKind::Keyring
    );
    assert_eq!(
        "aws-files".parse::<KeyStoreKind>().unwrap(),
        KeyStoreKind::AwsFiles
    );
    assert!("file"
        .parse::<KeyStoreKind>()
        .unwrap_err()
        .0
        .contains("aws-files"));
    for n in Backend::NAMES {
        assert_eq!(n.parse::<Backend>().unwrap().name(), n);
    }
    assert!("kwallet"
        .parse::<Backend>()
        .unwrap_err()
        .0
        .contains("secret-service"));
}

#[test]
fn the_config_keys_default_to_the_aws_files_and_bad_values_name_the_key() {
    let parse = |t: &str| crate::config::Config::parse(t, std::path::Path::new("/c.toml"));
    let c = parse("[bastion]\nprofile = \"b\"\n").unwrap();
    assert_eq!(c.bastion.key_store, KeyStoreKind::AwsFiles);
    assert_eq!(c.bastion.keyring, None);
    let c = parse("[bastion]\nkey_store = \"keyring\"\nkeyring = \"keyutils\"\n").unwrap();
    assert_eq!(c.bastion.key_store, KeyStoreKind::Keyring);
    assert_eq!(c.bastion.keyring, Some(Backend::Keyutils));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let e = parse("[bastion]\nkey_store = \"file\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("/c.toml: [bastion] key_store") && e.contains("aws-files"),
        "{e}"
    );
    let e = parse("[bastion]\nkeyring = \"kwallet\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("/c.toml: [bastion] keyring") && e.contains("secret-service"),
        "{e}"
    );
}
