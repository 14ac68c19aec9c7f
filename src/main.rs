fn main() {
    std::process::exit(mfacli::main());
}
