//! The upgrade image: what `tools/build-image` ships as `upgrade.img` and
//! what a slot of the flash holds, byte for byte (the upgrade writes the
//! file to the inactive slot unchanged; the boot script reads the header
//! from the slot's first sector to find the kernel and the initramfs, the
//! first stage finds the squashfs root at `rootfs_off` of the slot).
//!
//! Header, one 4096-byte block, integers little-endian (U-Boot's `setexpr.l
//! NAME *ADDR` reads them as they are on aarch64):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `CPEIMG01` |
//! | 8 | 4 | header size (4096) |
//! | 12 | 4 | total size: header and payloads, the file's length |
//! | 16 | 4+4 | kernel offset, size (an arm64 `Image`, gzip'd) |
//! | 24 | 4+4 | initramfs offset, size (the first stage) |
//! | 32 | 4+4 | root offset, size (squashfs) |
//! | 48 | 32 | board name, NUL padded |
//! | 80 | 64 | version, NUL padded |
//! | 144 | 32 | SHA-256 of the whole file with these 32 bytes zeroed |
//!
//! Payloads start at 4096-byte boundaries (whole sectors for the boot
//! script, whole pages for the loop device). The hash covers the header
//! too, so a flipped bit in the board or version is caught like one in the
//! kernel.

use sha2::{Digest, Sha256};
use std::fmt;

/// The magic at offset 0.
pub const MAGIC: &[u8; 8] = b"CPEIMG01";
/// Header size, and the alignment of every payload.
pub const HEADER_SIZE: usize = 4096;
const BOARD_AT: usize = 48;
const BOARD_LEN: usize = 32;
const VERSION_AT: usize = 80;
const VERSION_LEN: usize = 64;
const HASH_AT: usize = 144;

/// One payload: where it is in the image and how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Part {
    /// Byte offset from the start of the image.
    pub offset: u32,
    /// Length in bytes.
    pub size: u32,
}

/// A parsed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Bytes of the whole image.
    pub total_size: u32,
    /// The gzip'd kernel.
    pub kernel: Part,
    /// The first-stage initramfs.
    pub initrd: Part,
    /// The squashfs root.
    pub rootfs: Part,
    /// The board this image is for (`board/<name>`).
    pub board: String,
    /// The image's version (the source revision unless given).
    pub version: String,
    /// SHA-256 the header claims.
    pub sha256: [u8; 32],
}

/// Why an image is refused. Each names the evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageError {
    /// No `CPEIMG01` at the start: not an upgrade image at all.
    NotAnImage,
    /// Fewer bytes than the header or than the header's total size.
    Truncated { have: u64, need: u64 },
    /// More bytes than the header's total size.
    TrailingData { have: u64, total: u64 },
    /// A payload outside the image, unaligned, or overlapping another.
    BadLayout(String),
    /// Built for another board.
    WrongBoard { image: String, this: String },
    /// The content is not what was built.
    BadHash { expected: String, computed: String },
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::NotAnImage => write!(f, "not a cpe upgrade image (no CPEIMG01 header)"),
            ImageError::Truncated { have, need } => {
                write!(f, "image truncated: {have} bytes, the header says {need}")
            }
            ImageError::TrailingData { have, total } => write!(
                f,
                "image has {have} bytes, the header says {total}: trailing data"
            ),
            ImageError::BadLayout(why) => write!(f, "image header invalid: {why}"),
            ImageError::WrongBoard { image, this } => {
                write!(f, "image is for board {image}, this router is {this}")
            }
            ImageError::BadHash { expected, computed } => write!(
                f,
                "image corrupt: SHA-256 {computed}, the header says {expected}"
            ),
        }
    }
}

impl std::error::Error for ImageError {}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn text(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// Lower-case hex of a digest.
pub fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

impl Header {
    /// Parses and checks the header's own consistency (not the hash).
    pub fn parse(b: &[u8]) -> Result<Header, ImageError> {
        if b.len() < MAGIC.len() || &b[..MAGIC.len()] != MAGIC {
            return Err(ImageError::NotAnImage);
        }
        if b.len() < HEADER_SIZE {
            return Err(ImageError::Truncated {
                have: b.len() as u64,
                need: HEADER_SIZE as u64,
            });
        }
        if le32(b, 8) as usize != HEADER_SIZE {
            return Err(ImageError::BadLayout(format!(
                "header size {} (expected {HEADER_SIZE})",
                le32(b, 8)
            )));
        }
        let part = |at| Part {
            offset: le32(b, at),
            size: le32(b, at + 4),
        };
        let mut sha256 = [0u8; 32];
        sha256.copy_from_slice(&b[HASH_AT..HASH_AT + 32]);
        let h = Header {
            total_size: le32(b, 12),
            kernel: part(16),
            initrd: part(24),
            rootfs: part(32),
            board: text(&b[BOARD_AT..BOARD_AT + BOARD_LEN]),
            version: text(&b[VERSION_AT..VERSION_AT + VERSION_LEN]),
            sha256,
        };
        let mut end = HEADER_SIZE as u64;
        for (name, p) in [
            ("kernel", h.kernel),
            ("initramfs", h.initrd),
            ("root", h.rootfs),
        ] {
            let (off, size) = (u64::from(p.offset), u64::from(p.size));
            if size == 0 || off % HEADER_SIZE as u64 != 0 || off < end {
                return Err(ImageError::BadLayout(format!(
                    "{name} at {off} ({size} bytes) is empty, unaligned or overlaps"
                )));
            }
            end = off + size;
        }
        if end > u64::from(h.total_size) {
            return Err(ImageError::BadLayout(format!(
                "payloads end at {end}, beyond the total size {}",
                h.total_size
            )));
        }
        Ok(h)
    }
}

/// Streaming verification: feed the whole file in order with
/// [`Verifier::update`], then [`Verifier::finish`]. Memory stays at one
/// header, whatever the image's size (a router has little RAM).
pub struct Verifier {
    head: Vec<u8>,
    hasher: Sha256,
    seen: u64,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier {
            head: Vec::with_capacity(HEADER_SIZE),
            hasher: Sha256::new(),
            seen: 0,
        }
    }
}

impl Verifier {
    /// The next bytes of the image.
    pub fn update(&mut self, mut data: &[u8]) {
        self.seen += data.len() as u64;
        if self.head.len() < HEADER_SIZE {
            let take = data.len().min(HEADER_SIZE - self.head.len());
            self.head.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.head.len() == HEADER_SIZE {
                let mut zeroed = self.head.clone();
                zeroed[HASH_AT..HASH_AT + 32].fill(0);
                self.hasher.update(&zeroed);
            }
        }
        self.hasher.update(data);
    }

    /// The header, if the image is whole, for `board`, and its hash right.
    pub fn finish(self, board: &str) -> Result<Header, ImageError> {
        let h = Header::parse(&self.head)?;
        let total = u64::from(h.total_size);
        if self.seen < total {
            return Err(ImageError::Truncated {
                have: self.seen,
                need: total,
            });
        }
        if self.seen > total {
            return Err(ImageError::TrailingData {
                have: self.seen,
                total,
            });
        }
        let computed: [u8; 32] = self.hasher.finalize().into();
        if computed != h.sha256 {
            return Err(ImageError::BadHash {
                expected: hex(&h.sha256),
                computed: hex(&computed),
            });
        }
        if h.board != board {
            return Err(ImageError::WrongBoard {
                image: h.board,
                this: board.to_string(),
            });
        }
        Ok(h)
    }
}

/// Verifies a whole image in memory.
pub fn verify(image: &[u8], board: &str) -> Result<Header, ImageError> {
    let mut v = Verifier::default();
    v.update(image);
    v.finish(board)
}

/// Builds an image from its parts (`cpe image pack`, used by
/// `tools/build-image` and the tests).
pub fn pack(
    board: &str,
    version: &str,
    kernel: &[u8],
    initrd: &[u8],
    rootfs: &[u8],
) -> Result<Vec<u8>, String> {
    if board.len() >= BOARD_LEN || board.contains('\0') {
        return Err(format!(
            "board name {board:?} longer than {}",
            BOARD_LEN - 1
        ));
    }
    if version.len() >= VERSION_LEN || version.contains('\0') {
        return Err(format!(
            "version {version:?} longer than {}",
            VERSION_LEN - 1
        ));
    }
    let align = |n: usize| n.div_ceil(HEADER_SIZE) * HEADER_SIZE;
    let mut img = vec![0u8; HEADER_SIZE];
    let mut fields = Vec::new();
    for payload in [kernel, initrd, rootfs] {
        if payload.is_empty() {
            return Err("empty payload".into());
        }
        img.resize(align(img.len()), 0);
        let offset = u32::try_from(img.len()).map_err(|_| "image over 4 GiB")?;
        let size = u32::try_from(payload.len()).map_err(|_| "payload over 4 GiB")?;
        fields.push((offset, size));
        img.extend_from_slice(payload);
    }
    let total = u32::try_from(img.len()).map_err(|_| "image over 4 GiB")?;
    img[..8].copy_from_slice(MAGIC);
    img[8..12].copy_from_slice(&(HEADER_SIZE as u32).to_le_bytes());
    img[12..16].copy_from_slice(&total.to_le_bytes());
    for (i, (off, size)) in fields.iter().enumerate() {
        img[16 + 8 * i..20 + 8 * i].copy_from_slice(&off.to_le_bytes());
        img[20 + 8 * i..24 + 8 * i].copy_from_slice(&size.to_le_bytes());
    }
    img[BOARD_AT..BOARD_AT + board.len()].copy_from_slice(board.as_bytes());
    img[VERSION_AT..VERSION_AT + version.len()].copy_from_slice(version.as_bytes());
    let digest: [u8; 32] = Sha256::digest(&img).into();
    img[HASH_AT..HASH_AT + 32].copy_from_slice(&digest);
    Ok(img)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOARD: &str = "qemu-aarch64-virt";

    fn sample() -> Vec<u8> {
        pack(BOARD, "v2-test", &[1u8; 5000], &[2u8; 100], &[3u8; 9000]).unwrap()
    }

    #[test]
    fn sha256_known_answer() {
        // FIPS 180-2 appendix B.1: "abc".
        assert_eq!(
            hex(&Sha256::digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn good_image_verifies_in_any_chunking() {
        let img = sample();
        let h = verify(&img, BOARD).unwrap();
        assert_eq!(h.version, "v2-test");
        assert_eq!(h.board, BOARD);
        assert_eq!(
            h.kernel,
            Part {
                offset: 4096,
                size: 5000
            }
        );
        assert_eq!(
            h.initrd,
            Part {
                offset: 12288,
                size: 100
            }
        );
        assert_eq!(
            h.rootfs,
            Part {
                offset: 16384,
                size: 9000
            }
        );
        assert_eq!(h.total_size as usize, img.len());
        assert_eq!(&img[16384..16384 + 9000], &[3u8; 9000][..]);
        for chunk in [1, 7, 4095, 4096, 4097, 65536] {
            let mut v = Verifier::default();
            img.chunks(chunk).for_each(|c| v.update(c));
            assert_eq!(v.finish(BOARD).unwrap(), h, "chunk {chunk}");
        }
    }

    #[test]
    fn wrong_board_is_refused() {
        let img = pack("qemu-armv7-virt", "v2", b"k", b"i", b"r").unwrap();
        assert_eq!(
            verify(&img, BOARD),
            Err(ImageError::WrongBoard {
                image: "qemu-armv7-virt".into(),
                this: BOARD.into()
            })
        );
    }

    #[test]
    fn truncated_image_is_refused() {
        let img = sample();
        for cut in [0, 3, 100, HEADER_SIZE - 1, HEADER_SIZE, img.len() - 1] {
            let e = verify(&img[..cut], BOARD).unwrap_err();
            assert!(
                matches!(e, ImageError::Truncated { .. } | ImageError::NotAnImage),
                "cut at {cut}: {e}"
            );
        }
        let mut long = img.clone();
        long.push(0);
        assert!(matches!(
            verify(&long, BOARD),
            Err(ImageError::TrailingData { .. })
        ));
    }

    #[test]
    fn any_changed_byte_fails_the_hash() {
        let img = sample();
        // The version, the board, the kernel, the root's last byte.
        for at in [80, 48, 4096, 16384 + 8999] {
            let mut bad = img.clone();
            bad[at] ^= 0x20;
            let e = verify(&bad, BOARD).unwrap_err();
            assert!(matches!(e, ImageError::BadHash { .. }), "byte {at}: {e}");
        }
    }

    #[test]
    fn not_an_image_and_bad_layouts() {
        assert_eq!(verify(b"hello", BOARD), Err(ImageError::NotAnImage));
        let mut img = sample();
        // kernel offset 4097: unaligned.
        img[16..20].copy_from_slice(&4097u32.to_le_bytes());
        assert!(matches!(Header::parse(&img), Err(ImageError::BadLayout(_))));
        let mut img = sample();
        // root beyond the total size.
        img[36..40].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(Header::parse(&img), Err(ImageError::BadLayout(_))));
        assert!(pack(BOARD, &"v".repeat(64), b"k", b"i", b"r").is_err());
        assert!(pack(BOARD, "v", b"", b"i", b"r").is_err());
    }
}
