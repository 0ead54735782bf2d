//! Turning scored pairs into decisions: one-to-one or many-to-one assignment in link mode,
//! clusters in dedupe mode (pairs above the threshold join clusters, best first, while the
//! joined cluster stays coherent).

/// How decided pairs are restricted in link mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignment {
    /// Each record on either side is linked at most once (both lists free of duplicates).
    OneToOne,
    /// Each left record is linked to at most one right record (its best); a right record
    /// may receive many (feed rows → persons of the register).
    ManyToOne,
    /// Every pair above the threshold.
    All,
}

/// Picks pairs (indexes into `pairs`) under the assignment, best weight first; only pairs
/// whose weight is at least `min_weight`.
pub(crate) fn assign(
    pairs: &[(u32, u32, f32)],
    min_weight: f32,
    assignment: Assignment,
) -> Vec<usize> {
    let mut order: Vec<usize> = (0..pairs.len())
        .filter(|&k| pairs[k].2 >= min_weight)
        .collect();
    if assignment == Assignment::All {
        return order;
    }
    order.sort_by(|&x, &y| {
        pairs[y]
            .2
            .total_cmp(&pairs[x].2)
            .then(pairs[x].0.cmp(&pairs[y].0))
            .then(pairs[x].1.cmp(&pairs[y].1))
    });
    let left_max = pairs.iter().map(|p| p.0 as usize + 1).max().unwrap_or(0);
    let right_max = pairs.iter().map(|p| p.1 as usize + 1).max().unwrap_or(0);
    let mut left_used = vec![false; left_max];
    let mut right_used = vec![false; right_max];
    let mut out = Vec::new();
    for k in order {
        let (i, j, _) = pairs[k];
        if left_used[i as usize] {
            continue;
        }
        if assignment == Assignment::OneToOne && right_used[j as usize] {
            continue;
        }
        left_used[i as usize] = true;
        right_used[j as usize] = true;
        out.push(k);
    }
    out
}

/// Clusters of the records joined by the given pairs, taken in the given order (best first):
/// a cluster id per record (the smallest record index of its cluster).
///
/// Two clusters are joined only when they stay coherent:
/// - when each holds a valid identity number, and different ones, they are never joined: one
///   person has one valid resident ID, so such a join could only chain two people through a
///   third record;
/// - `weight_of(a, b)` gives the match weight of a scored pair (`None` when the pair was not a
///   candidate): the mean match probability over the scored pairs across the two clusters must
///   reach `min_probability` (average linkage). One good pair does not join two people
///   through a third record: a brother linked to his sister's record by a noisy pair stays
///   apart when his own records and hers disagree.
pub(crate) fn clusters(
    n: usize,
    pairs: impl Iterator<Item = (u32, u32)>,
    identity: &[Option<u64>],
    weight_of: impl Fn(u32, u32) -> Option<f32>,
    min_probability: f64,
) -> Vec<u32> {
    let mut parent: Vec<u32> = (0..n as u32).collect();
    let mut held: Vec<Option<u64>> = (0..n).map(|i| identity.get(i).copied().flatten()).collect();
    // members of each cluster, kept at its root
    let mut members: Vec<Vec<u32>> = (0..n as u32).map(|i| vec![i]).collect();
    fn find(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            let up = parent[parent[x as usize] as usize];
            parent[x as usize] = up;
            x = up;
        }
        x
    }
    for (a, b) in pairs {
        let ra = find(&mut parent, a);
        let rb = find(&mut parent, b);
        if ra == rb {
            continue;
        }
        let (x, y) = (held[ra as usize], held[rb as usize]);
        if x.is_some() && y.is_some() && x != y {
            continue;
        }
        let (ma, mb) = (&members[ra as usize], &members[rb as usize]);
        if ma.len() > 1 || mb.len() > 1 {
            let (mut sum, mut count) = (0.0, 0u32);
            for &p in ma {
                for &q in mb {
                    if let Some(w) = weight_of(p.min(q), p.max(q)) {
                        sum += crate::model::probability(f64::from(w));
                        count += 1;
                    }
                }
            }
            if count > 0 && sum / f64::from(count) < min_probability {
                continue;
            }
        }
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        parent[hi as usize] = lo;
        held[lo as usize] = x.or(y);
        let moved = std::mem::take(&mut members[hi as usize]);
        members[lo as usize].extend(moved);
    }
    (0..n as u32).map(|x| find(&mut parent, x)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_to_one_keeps_the_best_pair() {
        let pairs = vec![
            (0, 0, 5.0),
            (0, 1, 9.0),
            (1, 1, 8.0),
            (1, 0, 1.0),
            (2, 2, -3.0),
        ];
        let picked = assign(&pairs, 0.0, Assignment::OneToOne);
        let mut got: Vec<_> = picked.iter().map(|&k| (pairs[k].0, pairs[k].1)).collect();
        got.sort();
        assert_eq!(got, vec![(0, 1), (1, 0)]);
        let picked = assign(&pairs, 0.0, Assignment::ManyToOne);
        let mut got: Vec<_> = picked.iter().map(|&k| (pairs[k].0, pairs[k].1)).collect();
        got.sort();
        assert_eq!(got, vec![(0, 1), (1, 1)]);
        assert_eq!(assign(&pairs, 0.0, Assignment::All).len(), 4);
    }

    #[test]
    fn clusters_are_connected_components() {
        let none = |_: u32, _: u32| None;
        let c = clusters(5, [(0, 3), (3, 4)].into_iter(), &[], none, 0.5);
        assert_eq!(c, vec![0, 1, 2, 0, 0]);
        // 0 and 4 hold different valid IDs: 3 joins the first, and 4 stays apart
        let c = clusters(
            5,
            [(0, 3), (3, 4)].into_iter(),
            &[Some(1), None, None, None, Some(2)],
            none,
            0.5,
        );
        assert_eq!(c, vec![0, 1, 2, 0, 4]);
    }

    #[test]
    fn a_weak_link_does_not_chain_two_people() {
        // 0-1 and 2-3 are two people's record pairs; 1-2 is a noisy pair above the
        // threshold, but 0-2, 0-3 and 1-3 say they are different people
        let weights = [
            ((0, 1), 10.0),
            ((2, 3), 10.0),
            ((1, 2), 1.0),
            ((0, 2), -8.0),
            ((0, 3), -9.0),
            ((1, 3), -2.0),
        ];
        let weight = |a: u32, b: u32| {
            weights
                .iter()
                .find(|(p, _)| *p == (a, b))
                .map(|(_, w)| *w as f32)
        };
        let order = [(0, 1), (2, 3), (1, 2)];
        let c = clusters(4, order.into_iter(), &[], weight, 0.5);
        assert_eq!(c, vec![0, 0, 2, 2]);
        // where the other pairs agree as well, the clusters are joined
        let agree = |a: u32, b: u32| weight(a, b).map(|w| w.abs());
        let c = clusters(4, order.into_iter(), &[], agree, 0.5);
        assert_eq!(c, vec![0, 0, 0, 0]);
    }
}
