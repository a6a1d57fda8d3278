//! Headers as they cross into and out of the guest (`headers` of
//! `http-request` and `http-response` in wit/types.wit): lower-case names
//! and their values alternating, separated by NUL; "" when there are none.
//! One string crosses the boundary instead of two per header, and a message
//! that one instance hands on to another passes through the host unsplit.

/// The wire's form of `pairs` (names already lower-case, as hyper's are).
/// A pair whose name or value holds a NUL, which HTTP allows in neither, is
/// left out rather than let it split into two.
pub fn join<N: AsRef<str>, V: AsRef<str>>(pairs: impl IntoIterator<Item = (N, V)>) -> String {
    let mut out = String::new();
    for (name, value) in pairs {
        let (name, value) = (name.as_ref(), value.as_ref());
        if name.contains('\0') || value.contains('\0') {
            continue;
        }
        if !out.is_empty() {
            out.push('\0');
        }
        out.push_str(name);
        out.push('\0');
        out.push_str(value);
    }
    out
}

/// The pairs of the wire's form `raw`, in order (a name left without a
/// value at the end is dropped).
pub fn pairs(raw: &str) -> impl Iterator<Item = (&str, &str)> {
    let mut parts = (!raw.is_empty()).then(|| raw.split('\0')).into_iter().flatten();
    std::iter::from_fn(move || Some((parts.next()?, parts.next()?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_round_trip_with_empty_values_and_repeated_names() {
        let given = [("accept", "a"), ("x-empty", ""), ("accept", "b"), ("set-cookie", "k=v; Path=/")];
        let raw = join(given);
        assert_eq!(raw, "accept\0a\0x-empty\0\0accept\0b\0set-cookie\0k=v; Path=/");
        assert_eq!(pairs(&raw).collect::<Vec<_>>(), given);
        assert_eq!(join(std::iter::empty::<(&str, &str)>()), "");
        assert_eq!(pairs("").count(), 0);
    }

    #[test]
    fn a_nul_cannot_split_a_pair_and_a_dangling_name_is_dropped() {
        assert_eq!(join([("a", "1"), ("x", "evil\0injected\0yes"), ("b", "2")]), "a\01\0b\02");
        assert_eq!(pairs("a\01\0dangling").collect::<Vec<_>>(), [("a", "1")]);
    }
}
