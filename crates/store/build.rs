fn main() {
    // Re-embed the migrations when they change.
    println!("cargo:rerun-if-changed=migrations");
}
