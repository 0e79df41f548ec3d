fn main() {
    println!("wiretale");
}
