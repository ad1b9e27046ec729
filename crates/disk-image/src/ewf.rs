//! E01 (Expert Witness Format, EnCase) images, through the `ewf` crate: [`E01`].

use std::io;
use std::path::Path;

use ntfs_source::ReadAt;

use crate::ImageError;

/// The EWF v1 segment signature, "EVF" 09 0D 0A FF 00 (libewf "Expert Witness Compression
/// Format specification", section 2.1.1), and the EWF2 one, "EVF2" 0D 0A 81 00 (section 3).
pub(crate) const SIGNATURES: [&[u8; 8]; 2] = [b"EVF\x09\x0d\x0a\xff\x00", b"EVF2\x0d\x0a\x81\x00"];

/// An E01 image (every segment: `.E01`, `.E02`, … found beside the first) read as the disk
/// it holds. Chunks are inflated on demand and kept in the `ewf` crate's bounded cache; its
/// chunk table is paged (`open_lazy`), so memory does not grow with the image.
pub struct E01 {
    reader: ewf::EwfReader,
    name: String,
}

impl std::fmt::Debug for E01 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("E01")
            .field("name", &self.name)
            .field("size", &self.reader.total_size())
            .finish_non_exhaustive()
    }
}

impl E01 {
    /// Opens the image whose first segment is `path`.
    pub fn open(path: &Path) -> Result<Self, ImageError> {
        let name = path.display().to_string();
        let reader = ewf::EwfReader::open_lazy(path).map_err(|e| ImageError::Ewf {
            path: name.clone(),
            message: e.to_string(),
        })?;
        Ok(Self { reader, name })
    }

    /// An image from segments already in memory, in order (`name` in messages).
    pub fn from_segments(
        segments: Vec<std::sync::Arc<[u8]>>,
        name: &str,
    ) -> Result<Self, ImageError> {
        let sources = segments.into_iter().map(ewf::SegmentSource::Mem).collect();
        let reader =
            ewf::EwfReader::open_lazy_from_sources(sources).map_err(|e| ImageError::Ewf {
                path: name.to_owned(),
                message: e.to_string(),
            })?;
        Ok(Self {
            reader,
            name: name.to_owned(),
        })
    }
}

impl ReadAt for E01 {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let error = |message: String| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                ImageError::Ewf {
                    path: self.name.clone(),
                    message: format!("reading at {offset:#x}: {message}"),
                },
            )
        };
        // The `ewf` crate (0.4.10) panics on some damaged chunk tables (an index into an empty
        // table: our fuzz target's `regressions/e01/crash-empty-chunk-table`). Until it is
        // fixed there, a panic inside it is this image's read error, not the process's end.
        let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.reader.read_at(buf, offset)
        }));
        match read {
            Ok(result) => result.map_err(|e| error(e.to_string())),
            Err(_) => Err(error(
                "the E01 reader failed on a damaged chunk table".to_owned(),
            )),
        }
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.reader.total_size())
    }
}
