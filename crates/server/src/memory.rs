//! Handing freed memory back to the system.
//!
//! glibc's allocator keeps freed memory in per-thread arenas for the next allocation:
//! - a large block (an argon2 hash's 19 MiB) is mmapped at first, but once freed glibc raises
//!   its mmap threshold and takes later ones from the arena of whichever blocking thread runs
//!   the hash, so 300 sign-ups left ~20 MiB in each of dozens of arenas (677 MB);
//! - a large 3MF parse frees millions of small blocks that stay in the arena for good.
//!
//! A fixed mmap threshold keeps large blocks mmapped (returned when freed), and
//! `malloc_trim` after a large parse returns the free pages of every arena.

/// Blocks of at least this size are mmapped, so freeing one returns it to the system.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 1024 * 1024;

/// Sets the allocator up to give large blocks back when they are freed (glibc; elsewhere
/// the allocator decides). Called once at start.
pub fn give_back_large_blocks() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes a tuning parameter of the allocator; a fixed threshold
    // also turns off glibc's dynamic raising of it.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}

/// Returns freed heap memory to the system (glibc); elsewhere the allocator decides.
pub fn give_back_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free pages of the allocator's own arenas.
    unsafe {
        libc::malloc_trim(0);
    }
}
