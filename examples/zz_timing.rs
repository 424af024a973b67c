use std::time::Instant;
fn main() {
    for shape in hwc::testgen::Shape::ALL {
        let text = hwc::testgen::generate(shape, 10_000, 1);
        let (p, d) = hwc::sema::load_source(
            std::path::Path::new("g.hw"),
            &text,
            &hwc::source::MemoryLoader::default(),
            &mut hwc::source::SourceMap::new(),
        );
        let Some(p) = p else {
            eprintln!("{d:?}");
            continue;
        };
        for target in [
            hwc::backend::Target::Iptables,
            hwc::backend::Target::Nftables,
        ] {
            let t = Instant::now();
            let arts = hwc::backend::compile(&p, None, target).unwrap();
            let e = t.elapsed();
            let t = Instant::now();
            let r = hwc::backend::validate::validate(&p, &arts);
            eprintln!(
                "{} {:?}: emit {:?} validate {:?} {:?}",
                shape.name(),
                target,
                e,
                t.elapsed(),
                r.map(|_| ()).map_err(|f| f.to_string())
            );
        }
    }
}
