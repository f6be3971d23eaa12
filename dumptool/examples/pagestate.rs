//! Prints the reader's view of some pfns of a dump (debugging aid).
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut a = std::env::args().skip(1);
    let d = dumptool::dump::Dump::open(a.next().ok_or("DUMP")?)?;
    let mut hist = std::collections::BTreeMap::new();
    for p in 0..d.max_pfn() {
        *hist
            .entry(format!("{:?}", d.phys().page_state(p)))
            .or_insert(0u64) += 1;
    }
    println!("{hist:?}");
    for p in a {
        let p = u64::from_str_radix(p.trim_start_matches("0x"), 16)?;
        println!("{p:#x}: {:?}", d.phys().page_state(p));
    }
    Ok(())
}
