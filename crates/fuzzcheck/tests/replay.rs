//! Every committed seed (`fuzz/seeds/TARGET/*`) through its target's check, on stable, in every
//! test run: the fuzz corpora's regression run. A seed directory without a target (or a target
//! without seeds) fails, so the two cannot drift apart.

use std::path::Path;

#[test]
fn every_committed_seed_passes_its_targets_check() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
    let mut dirs: Vec<String> = std::fs::read_dir(&seeds)
        .expect("fuzz/seeds")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let targets: Vec<&str> = kagi_fuzzcheck::TARGETS.iter().map(|(n, _)| *n).collect();
    assert_eq!(dirs, targets, "fuzz/seeds has one directory per target");
    let mut replayed = 0;
    for (name, check) in kagi_fuzzcheck::TARGETS {
        let mut files: Vec<_> = std::fs::read_dir(seeds.join(name))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{name} has no seeds");
        for f in files {
            let data = std::fs::read(&f).unwrap();
            // A panic names the seed (the check's own message says which invariant).
            eprintln!("{name}: {}", f.display());
            check(&data);
            replayed += 1;
        }
    }
    eprintln!("{replayed} seeds replayed");
}
