//! Injected file-system and database faults, for the fault tests (issue 7): debug builds only.
//!
//! Root can write anywhere and a test cannot fill a real disk, so the tests name the faults
//! instead: `KRAVFLYT_FAULTS` points to a text file with one fault per line,
//! `<path fragment> <ENOSPC|EACCES|EROFS|EIO>`. Every place that writes a file (claiming into
//! `work/`, moving to `archive/` or `rejected/`, writing to `outbox/`) and every write
//! transaction on the database asks [`check`] first; a path containing the fragment fails with
//! that error, as the real disk would. The file is read on every check, so a test clears a
//! fault by editing or removing it while the daemon runs. Release builds never read it.

use std::path::Path;

/// The environment variable naming the fault file.
pub const FAULTS_VAR: &str = "KRAVFLYT_FAULTS";

/// The injected error for `path`, if a fault names it.
pub fn check(path: &Path) -> std::io::Result<()> {
    if !cfg!(debug_assertions) {
        return Ok(());
    }
    let Some(file) = std::env::var_os(FAULTS_VAR) else {
        return Ok(());
    };
    let Ok(spec) = std::fs::read_to_string(file) else {
        return Ok(());
    };
    let path = path.to_string_lossy();
    for line in spec.lines() {
        let mut words = line.split_whitespace();
        let (Some(fragment), Some(errno)) = (words.next(), words.next()) else {
            continue;
        };
        if !path.contains(fragment) {
            continue;
        }
        let code = match errno {
            "ENOSPC" => 28,
            "EACCES" => 13,
            "EROFS" => 30,
            _ => 5, // EIO
        };
        return Err(std::io::Error::from_raw_os_error(code));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_path_fails_with_the_named_error_and_others_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().join("faults");
        std::fs::write(&spec, "/outbox/nordlys/ ENOSPC\n").unwrap();
        // SAFETY: this is the only test in this binary that sets the variable.
        unsafe { std::env::set_var(FAULTS_VAR, &spec) };
        let full = check(Path::new("/var/x/outbox/nordlys/receipt-a.csv")).unwrap_err();
        assert_eq!(full.raw_os_error(), Some(28));
        assert!(check(Path::new("/var/x/outbox/bank/receipt-a.csv")).is_ok());
        std::fs::remove_file(&spec).unwrap();
        assert!(check(Path::new("/var/x/outbox/nordlys/receipt-a.csv")).is_ok());
        unsafe { std::env::remove_var(FAULTS_VAR) };
    }
}
