//! Joins `src/js/*.js` (in file-name order) into the runtime's one JS source.
//! The pieces are consecutive parts of one function body (`00-prelude.js`
//! opens it, `99-dispatch.js` closes it), so they share one scope; the split
//! only keeps each web API in its own file.

use std::{env, fs, path::PathBuf};

fn main() {
    let dir = PathBuf::from("src/js");
    println!("cargo::rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("src/js exists")
        .map(|e| e.expect("readable src/js entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "js"))
        .collect();
    files.sort();
    let mut out = String::new();
    for f in &files {
        println!("cargo::rerun-if-changed={}", f.display());
        out.push_str(&fs::read_to_string(f).expect("readable JS source"));
    }
    let dest = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR is set")).join("runtime.js");
    fs::write(dest, out).expect("OUT_DIR is writable");
}
