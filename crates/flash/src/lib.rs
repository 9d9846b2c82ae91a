//! Firmware on flash for boards that boot through U-Boot from two slots:
//! the boot environment (a U-Boot env block, two copies), the upgrade
//! image (header, SHA-256), and the commands on top of them: `cpe upgrade`,
//! `cpe factory-reset`, `cpe boot-ok`, `cpe fw-printenv`/`fw-setenv`, and
//! `cpe image pack|info` for the build. See docs/image.md ("Upgrade").

pub mod device;
pub mod env;
pub mod health;
pub mod image;
pub mod ops;

pub use ops::{console_main, main};
