//! A strict, local AWS STS emulator for tests and demos.
//!
//! It speaks the real STS Query API (version 2011-06-15) over HTTP (or HTTPS
//! with a certificate you give it), so the AWS SDKs, botocore and the AWS CLI
//! work against it through an endpoint URL. Unlike a permissive mock it enforces what AWS enforces: SigV4
//! signatures, session tokens and expiry, IAM identity and trust policies,
//! TOTP MFA with replay protection, duration limits and role chaining. The
//! same port serves the IAM subset a bastion user needs for itself (access
//! keys, virtual MFA devices) and the console federation endpoint.
//!
//! ```no_run
//! use sts_emulator::{Emulator, World};
//! let emu = Emulator::start(World::demo()).unwrap();
//! println!("AWS_ENDPOINT_URL_STS={}", emu.endpoint_url());
//! ```

pub mod demo;
pub mod policy;
pub mod server;
pub mod world;

mod clock;
mod federation;
mod http;
mod iam;
mod issued;
mod sigv4;
mod sts;
mod totp;
mod xml;

pub use iam::AccessKeyInfo;
pub use issued::{IssuedSecret, SecretKind};
pub use server::{Emulator, Fault, RequestRecord, StartError};
pub use sts::SigningRegion;
pub use world::{ManagedPolicy, MfaDevice, Role, User, World, WorldError, MAX_MFA_DEVICES};
