//! The packet-set engine agrees with a brute-force bitset oracle on random
//! small inputs: union, intersection, difference (with holes), emptiness,
//! equality, witnesses and coverage.

use hwc::ir::dim::{self, Dim};
use hwc::space::algebra::{BoxAlgebra, SetAlgebra};
use hwc::space::brute::BruteAlgebra;
use hwc::space::CBox;
use proptest::prelude::*;

const K: u128 = 5;

/// Dimensions wide enough for coordinates `0..=K`.
const DIMS: [Dim; 11] = [
    Dim::Iif,
    Dim::Oif,
    Dim::Src,
    Dim::Dst,
    Dim::Proto,
    Dim::Sport,
    Dim::Dport,
    Dim::IcmpType,
    Dim::IcmpCode,
    Dim::Uid,
    Dim::Gid,
];

#[derive(Debug, Clone)]
enum Expr {
    Base(usize),
    Union(Box<Expr>, Box<Expr>),
    Inter(Box<Expr>, Box<Expr>),
    Diff(Box<Expr>, Box<Expr>),
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = (0usize..4).prop_map(Expr::Base);
    leaf.prop_recursive(4, 16, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::Union(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::Inter(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| Expr::Diff(Box::new(a), Box::new(b))),
        ]
    })
}

fn eval<A: SetAlgebra>(a: &A, bases: &[A::Set], e: &Expr) -> A::Set {
    match e {
        Expr::Base(i) => bases[*i].clone(),
        Expr::Union(x, y) => a.union(&eval(a, bases, x), &eval(a, bases, y)),
        Expr::Inter(x, y) => a.intersect(&eval(a, bases, x), &eval(a, bases, y)),
        Expr::Diff(x, y) => a.difference(&eval(a, bases, x), &eval(a, bases, y)),
    }
}

/// A box constrained in the chosen dimensions (full in the others). An
/// interval `lo..=hi` with `hi == K` means "from lo up to the maximum".
fn boxes(ndims: usize) -> impl Strategy<Value = Vec<Vec<(u128, u128)>>> {
    let iv = (0..=K, 0..=K).prop_map(|(a, b)| (a.min(b), a.max(b)));
    prop::collection::vec(prop::collection::vec(iv, ndims), 0..5)
}

fn to_cbox(dims: &[Dim], ivs: &[(u128, u128)]) -> CBox {
    let mut b = CBox::full();
    for (&d, &(lo, hi)) in dims.iter().zip(ivs) {
        let hi = if hi == K { dim::max(d) } else { hi };
        b = b.with(d, lo, hi);
    }
    b
}

/// Per base set, per box, per chosen dimension: an interval.
type Raw = Vec<Vec<Vec<(u128, u128)>>>;

fn case() -> impl Strategy<Value = (Vec<Dim>, Raw, Expr, Expr)> {
    (1usize..=3)
        .prop_flat_map(|n| {
            (
                prop::sample::subsequence(DIMS.to_vec(), n),
                prop::collection::vec(boxes(n), 4),
                expr(),
                expr(),
            )
        })
        .prop_map(|(d, b, e1, e2)| (d, b, e1, e2))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn engine_agrees_with_brute_force((dims, raw, e1, e2) in case()) {
        let base: Vec<Vec<CBox>> = raw.iter().map(|bs| bs.iter().map(|b| to_cbox(&dims, b)).collect()).collect();
        let all: Vec<CBox> = base.iter().flatten().copied().collect();
        let eng = BoxAlgebra::new(&all);
        let bru = BruteAlgebra::new(&dims, K);
        let eb: Vec<_> = base.iter().map(|b| eng.set_of(b)).collect();
        let bb: Vec<_> = base.iter().map(|b| bru.set_of(b)).collect();
        let (x1, y1) = (eval(&eng, &eb, &e1), eval(&bru, &bb, &e1));
        let (x2, y2) = (eval(&eng, &eb, &e2), eval(&bru, &bb, &e2));
        // Membership of every point of the domain.
        for p in bru.points() {
            prop_assert_eq!(eng.contains(&x1, &p), bru.contains(&y1, &p), "point {:?}", p);
        }
        prop_assert_eq!(eng.is_empty(&x1), bru.is_empty(&y1));
        prop_assert_eq!(eng.equal(&x1, &x2), bru.equal(&y1, &y2));
        if let Some(w) = eng.witness(&x1) {
            prop_assert!(bru.contains(&y1, &w), "witness {:?} not in the set", w);
            prop_assert!(eng.contains(&x1, &w));
        }
        let d = eng.difference(&x1, &x2);
        prop_assert_eq!(eng.is_empty(&d), bru.is_empty(&bru.difference(&y1, &y2)));
        if let Some(w) = eng.witness(&d) {
            prop_assert!(bru.contains(&y1, &w) && !bru.contains(&y2, &w));
        }
    }

    #[test]
    fn coverage_agrees_with_brute_force(
        (dims, raw) in (1usize..=4).prop_flat_map(|n| (prop::sample::subsequence(DIMS.to_vec(), n), prop::collection::vec(boxes(n), 2)))
    ) {
        let q: Vec<CBox> = raw[0].iter().map(|b| to_cbox(&dims, b)).collect();
        let by: Vec<CBox> = raw[1].iter().map(|b| to_cbox(&dims, b)).collect();
        let all: Vec<CBox> = q.iter().chain(by.iter()).copied().collect();
        let eng = BoxAlgebra::new(&all);
        let bru = BruteAlgebra::new(&dims, K);
        for qb in &q {
            prop_assert_eq!(eng.covered(qb, &by), bru.covered(qb, &by), "query {:?}", qb);
        }
    }
}

#[test]
fn many_disjoint_tiles_cover_exactly() {
    // A 20 × 20 grid of unit tiles covers the square; without one tile it does not.
    let dims = [Dim::Sport, Dim::Dport];
    let mut tiles = Vec::new();
    for x in 0..20u128 {
        for y in 0..20u128 {
            tiles.push(CBox::full().with(dims[0], x, x).with(dims[1], y, y));
        }
    }
    let q = CBox::full().with(dims[0], 0, 19).with(dims[1], 0, 19);
    let mut all = tiles.clone();
    all.push(q);
    let eng = BoxAlgebra::new(&all);
    assert!(eng.covered(&q, &tiles));
    let mut holed = tiles.clone();
    holed.remove(7 * 20 + 13);
    assert!(!eng.covered(&q, &holed));
    let s = eng.difference(&eng.set_of(&[q]), &eng.set_of(&holed));
    let w = eng.witness(&s).expect("the missing tile");
    assert_eq!((w[dims[0] as usize], w[dims[1] as usize]), (7, 13));
}
