//! `kagi backup` and `kagi restore`: a consistent copy of a live server's data directory, and a
//! new data directory made from one.
//!
//! A backup is a directory with the data directory's layout: `kagi.db` (a snapshot taken with
//! SQLite's `VACUUM INTO` while the server runs: one read transaction, so one consistent state),
//! the key and credential files (`kagi.key`, `root-password`, `root-credentials`,
//! `ecr/registry-token.key`), and the blob objects under `ecr/blobs`. Blobs are copied in two
//! passes around the snapshot (everything before it, then what appeared meanwhile), so every
//! object the snapshot names is in the backup unless it was deleted in the moment between the
//! snapshot and the second pass; the backup is then checked as `kagi serve --check` checks a
//! data directory, and a damaged backup is reported (exit 1), never left looking whole.
//! Secrets keep their 0600 mode and directories are 0700.
//!
//! With `--database-url`, the state is in PostgreSQL and (with `--blob-store`) the bucket:
//! back those up with their own tools (`pg_dump`, a bucket copy); README says how.

use crate::files::write_private_file;
use anyhow::{Context, Result, bail};
use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The files of a data directory a backup holds besides `kagi.db` and the blobs.
const KEY_FILES: [&str; 4] = [
    "kagi.key",
    "root-password",
    "root-credentials",
    "ecr/registry-token.key",
];

const USAGE: &str = "\
usage: kagi backup [--data-dir DIR] --to BACKUP
       kagi restore --from BACKUP [--data-dir DIR]

backup   copies a data directory (the server may be running) into BACKUP, which must not
         exist: a consistent snapshot of kagi.db, the key files and every image blob; then
         checks the copy (exit 1 if it is damaged)
restore  makes the data directory DIR (which must not exist or be empty) from BACKUP and
         checks it; then `kagi serve --data-dir DIR` serves everything the backup held

  --data-dir DIR   default $XDG_DATA_HOME/kagi or ~/.local/share/kagi

With --database-url (PostgreSQL) back up the database with pg_dump and the bucket with its
own tools instead.";

struct Args {
    data_dir: PathBuf,
    other: PathBuf,
}

fn parse(args: &[OsString], other_flag: &str) -> Result<Option<Args>> {
    let mut data_dir = None;
    let mut other = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let a = a.to_str().context("arguments must be UTF-8")?;
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
            _ => (a, None),
        };
        let mut value = || -> Result<PathBuf> {
            match &inline {
                Some(v) => Ok(PathBuf::from(v)),
                None => it
                    .next()
                    .map(PathBuf::from)
                    .with_context(|| format!("{flag} needs a value")),
            }
        };
        match flag {
            "-h" | "--help" | "help" => return Ok(None),
            "--data-dir" => data_dir = Some(value()?),
            f if f == other_flag => other = Some(value()?),
            other => bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    let other = other.with_context(|| format!("{other_flag} is required\n\n{USAGE}"))?;
    let data_dir = match data_dir {
        Some(d) => d,
        None => crate::default_data_dir()?,
    };
    Ok(Some(Args { data_dir, other }))
}

fn main_of(
    name: &str,
    args: &[OsString],
    flag: &str,
    run: fn(&Path, &Path) -> Result<Report>,
) -> ExitCode {
    let a = match parse(args, flag) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("kagi {name}: {e:#}");
            return ExitCode::from(2);
        }
    };
    let (from, to) = if name == "backup" {
        (&a.data_dir, &a.other)
    } else {
        (&a.other, &a.data_dir)
    };
    match run(from, to) {
        Ok(r) if r.problems.is_empty() => {
            println!(
                "kagi {name}: {} → {}: the store and {} blob object(s) ({} bytes), checked",
                from.display(),
                to.display(),
                r.objects,
                r.bytes
            );
            ExitCode::SUCCESS
        }
        Ok(r) => {
            for p in &r.problems {
                eprintln!("damage: {p}");
            }
            eprintln!(
                "kagi {name}: {} is damaged ({} problem(s)); run it again",
                to.display(),
                r.problems.len()
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("kagi {name}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `kagi backup`.
pub fn backup_main(args: &[OsString]) -> ExitCode {
    main_of("backup", args, "--to", backup)
}

/// `kagi restore`.
pub fn restore_main(args: &[OsString]) -> ExitCode {
    main_of("restore", args, "--from", restore)
}

/// What a backup or restore copied, and what the check of the result found.
#[derive(Debug, Default)]
pub struct Report {
    pub objects: usize,
    pub bytes: u64,
    pub problems: Vec<String>,
}

/// Copies the objects under `from` (a blob directory) to `to` that `done` does not hold yet;
/// each file is written under a temporary name, synced and renamed.
fn copy_objects(from: &Path, to: &Path, done: &mut HashSet<String>, r: &mut Report) -> Result<()> {
    let listed = kagi_ecr::blobs::BlobStore::list(&kagi_ecr::blobs::FileBlobs::at(from))?;
    for o in listed {
        if done.contains(&o.key) {
            continue;
        }
        let src = from.join(&o.key);
        let dst = to.join(&o.key);
        let tmp = dst.with_extension("copying");
        crate::create_private_dir(dst.parent().expect("an object has a directory"))?;
        match std::fs::copy(&src, &tmp) {
            Ok(n) => {
                std::fs::File::open(&tmp)?.sync_all()?;
                std::fs::rename(&tmp, &dst)?;
                r.bytes += n;
                r.objects += 1;
                done.insert(o.key);
            }
            // Collected since it was listed: it is no one's any more.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("copying {}", src.display())),
        }
    }
    Ok(())
}

fn copy_key_files(from: &Path, to: &Path) -> Result<()> {
    for f in KEY_FILES {
        match std::fs::read(from.join(f)) {
            Ok(bytes) => {
                crate::create_private_dir(to.join(f).parent().expect("a file has a directory"))?;
                write_private_file(&to.join(f), &bytes)?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("reading {}", from.join(f).display())),
        }
    }
    Ok(())
}

/// The damage `kagi serve --check` finds in the data directory `dir`.
fn check(dir: &Path) -> Result<Vec<String>> {
    crate::check_store(&crate::ServerConfig {
        data_dir: Some(dir.to_path_buf()),
        ..crate::ServerConfig::in_memory()
    })
}

/// Backs the data directory `data` up into `to` (which must not exist).
pub fn backup(data: &Path, to: &Path) -> Result<Report> {
    let db = data.join("kagi.db");
    if !db.exists() {
        bail!("{} does not exist: nothing to back up", db.display());
    }
    if to.exists() {
        bail!(
            "{} exists: a backup goes into a new directory",
            to.display()
        );
    }
    crate::create_private_dir(to)?;
    let mut r = Report::default();
    let mut done = HashSet::new();
    let (blobs, to_blobs) = (data.join("ecr/blobs"), to.join("ecr/blobs"));
    // Pass 1: the bulk of the blobs, before the snapshot.
    copy_objects(&blobs, &to_blobs, &mut done, &mut r)?;
    // The snapshot: one read transaction of the live database.
    // (Made 0644 by SQLite, inside the 0700 backup directory, then narrowed.)
    let snapshot = to.join("kagi.db");
    crate::store::sqlite::SqliteStore::snapshot(&db, &snapshot)?;
    std::fs::set_permissions(
        &snapshot,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )?;
    // Pass 2: what appeared before the snapshot was taken.
    copy_objects(&blobs, &to_blobs, &mut done, &mut r)?;
    copy_key_files(data, to)?;
    r.problems = check(to)?;
    Ok(r)
}

/// Makes the data directory `data` (absent or empty) from the backup `from`.
pub fn restore(from: &Path, data: &Path) -> Result<Report> {
    if !from.join("kagi.db").exists() {
        bail!("{} holds no kagi.db: not a backup", from.display());
    }
    if data.exists() && std::fs::read_dir(data)?.next().is_some() {
        bail!(
            "{} is not empty: restore into a new data directory",
            data.display()
        );
    }
    crate::create_private_dir(data)?;
    let mut r = Report::default();
    copy_objects(
        &from.join("ecr/blobs"),
        &data.join("ecr/blobs"),
        &mut HashSet::new(),
        &mut r,
    )?;
    let db = std::fs::read(from.join("kagi.db"))?;
    write_private_file(&data.join("kagi.db"), &db)?;
    copy_key_files(from, data)?;
    r.problems = check(data)?;
    Ok(r)
}
