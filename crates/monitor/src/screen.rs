//! From person facts to results: persons are grouped into households with the relatives and
//! spell holders each evaluation reads (`policy::eval::HouseholdInput`), the pack is evaluated on
//! every household on all cores, and the outcomes become the rows of the result files.

use rustc_hash::FxHashMap;
use std::collections::BTreeSet;

use domain::{Date, PersonStatus, Progress};
use policy::eval::{Evaluation, HouseholdInput, HouseholdView, Options, Outcome, evaluate_view};
use policy::facts::PersonFacts;
use policy::pack::Pack;

use crate::assemble::PersonIndex;
use crate::output::{AnomalyRow, HouseholdRow, PersonRow, RecommendationRow, Results, WarningRow};

/// Positions of persons by a text key (a household ID).
type ByKey = FxHashMap<String, Vec<u32>>;
/// No person: a link that names nobody in the registry.
const NOBODY: u32 = u32::MAX;

/// Positions of persons by the position of another person, in one array: the persons of
/// position `k` are `list[start[k]..start[k + 1]]`.
struct ByPerson {
    start: Vec<u32>,
    list: Vec<u32>,
}

impl ByPerson {
    /// From (person, other) pairs, each person's others in the order given.
    fn of(persons: usize, pairs: &[(u32, u32)]) -> ByPerson {
        let mut start = vec![0u32; persons + 1];
        for &(k, _) in pairs {
            start[k as usize + 1] += 1;
        }
        for k in 0..persons {
            start[k + 1] += start[k];
        }
        let mut next = start.clone();
        let mut list = vec![0u32; pairs.len()];
        for &(k, other) in pairs {
            list[next[k as usize] as usize] = other;
            next[k as usize] += 1;
        }
        ByPerson { start, list }
    }

    fn get(&self, k: u32) -> &[u32] {
        let k = k as usize;
        match (self.start.get(k), self.start.get(k + 1)) {
            (Some(&a), Some(&b)) => &self.list[a as usize..b as usize],
            _ => &[],
        }
    }
}

/// Who is who: indexes over every person of the population snapshot.
pub(crate) struct Registry {
    /// Every person (every status).
    pub persons: Vec<PersonFacts>,
    /// Each person's spouse, father and mother as positions ([`NOBODY`] when not in the
    /// registry), looked up once.
    links: Vec<[u32; 3]>,
    /// Household id → persons whose population household is it (every status).
    households: ByKey,
    /// Person → persons who name them as father or mother.
    children: ByPerson,
    /// Person → persons who name them as spouse.
    spouses_of: ByPerson,
    /// Household id → holders of running spells naming it who live elsewhere.
    spell_holders: ByKey,
}

impl Registry {
    /// Indexes the persons.
    pub fn new(persons: Vec<PersonFacts>) -> Registry {
        let by_id = PersonIndex::new(&persons);
        Registry::with_ids(persons, by_id)
    }

    /// Indexes the persons, given their index by ID.
    pub fn with_ids(persons: Vec<PersonFacts>, by_id: PersonIndex) -> Registry {
        // Hash maps with a fast hash (the keys are the registry's own IDs; the order of the
        // results comes from `household_ids`): ordered maps and SipHash took most of this stage.
        // A key is copied only when it is first seen. The households (with the holders of
        // spells naming others) and the relatives are indexed on two threads: nothing else
        // runs in this stage.
        let ((households, spell_holders), (links, children, spouses_of)) =
            std::thread::scope(|s| {
                let households = s.spawn(|| Self::households(&persons));
                let relatives = Self::relatives(&persons, &by_id);
                let households = households
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e));
                (households, relatives)
            });
        Registry {
            persons,
            links,
            households,
            children,
            spouses_of,
            spell_holders,
        }
    }

    /// The members of every household, and the persons with spells naming other households.
    fn households(persons: &[PersonFacts]) -> (ByKey, ByKey) {
        let mut households = ByKey::default();
        let mut spell_holders = ByKey::default();
        for (i, p) in persons.iter().enumerate() {
            let i = i as u32;
            match households.get_mut(&p.household_id) {
                Some(members) => members.push(i),
                None => {
                    households.insert(p.household_id.clone(), vec![i]);
                }
            }
            let named: BTreeSet<&str> = p
                .running
                .iter()
                .map(|s| s.household_id.as_str())
                .filter(|h| *h != p.household_id)
                .collect();
            for h in named {
                match spell_holders.get_mut(h) {
                    Some(holders) => holders.push(i),
                    None => {
                        spell_holders.insert(h.to_string(), vec![i]);
                    }
                }
            }
        }
        (households, spell_holders)
    }

    /// Each person's links as positions, and the children and the spouses naming each person.
    fn relatives(
        persons: &[PersonFacts],
        by_id: &PersonIndex,
    ) -> (Vec<[u32; 3]>, ByPerson, ByPerson) {
        let position = |key: &Option<policy::facts::PersonKey>| {
            key.as_ref()
                .and_then(|k| by_id.first(persons, &k.0))
                .map_or(NOBODY, |j| j as u32)
        };
        let links: Vec<[u32; 3]> = persons
            .iter()
            .map(|p| {
                [
                    position(&p.spouse),
                    position(&p.father),
                    position(&p.mother),
                ]
            })
            .collect();
        let mut children = Vec::new();
        let mut spouses_of = Vec::new();
        for (i, &[spouse, father, mother]) in links.iter().enumerate() {
            let i = i as u32;
            for parent in [father, mother] {
                if parent != NOBODY {
                    children.push((parent, i));
                }
            }
            if spouse != NOBODY {
                spouses_of.push((spouse, i));
            }
        }
        let n = persons.len();
        (
            links,
            ByPerson::of(n, &children),
            ByPerson::of(n, &spouses_of),
        )
    }

    /// Every household id: population households and households only named by spells.
    pub fn household_ids(&self) -> Vec<&str> {
        let ids: Vec<&str> = self
            .households
            .keys()
            .chain(self.spell_holders.keys())
            .map(String::as_str)
            .collect();
        let mut sorted: Vec<&str> = text_order(&ids)
            .into_iter()
            .map(|k| ids[k as usize])
            .collect();
        sorted.dedup();
        sorted
    }

    /// Living members of a household.
    pub fn living_members(&self, household_id: &str) -> usize {
        self.households.get(household_id).map_or(0, |m| {
            m.iter()
                .filter(|&&i| self.persons[i as usize].status == PersonStatus::Normal)
                .count()
        })
    }

    /// The evaluator's input for one household (its persons copied).
    pub fn input(&self, household_id: &str) -> HouseholdInput {
        let mut others = Vec::new();
        let members = self.related(household_id, &mut others);
        HouseholdInput {
            household_id: household_id.to_string(),
            members: members
                .iter()
                .map(|&i| self.persons[i as usize].clone())
                .collect(),
            others: others
                .into_iter()
                .map(|i| self.persons[i as usize].clone())
                .collect(),
        }
    }

    /// Fills `members` and `others` with one household's persons, borrowed (`positions` is
    /// room for the others' positions, reused from household to household).
    pub fn view<'a>(
        &'a self,
        household_id: &str,
        members: &mut Vec<&'a PersonFacts>,
        others: &mut Vec<&'a PersonFacts>,
        positions: &mut Vec<u32>,
    ) {
        let m = self.related(household_id, positions);
        members.clear();
        members.extend(m.iter().map(|&i| &self.persons[i as usize]));
        others.clear();
        others.extend(positions.iter().map(|&i| &self.persons[i as usize]));
    }

    /// A household's members, and into `others` its others in registry order, each once:
    /// relatives in other households and holders of spells naming it. (The members are in
    /// registry order, as the registry was read; sorted arrays rather than sets, since a
    /// household has a handful of persons and three million of them are evaluated.)
    fn related(&self, household_id: &str, others: &mut Vec<u32>) -> &[u32] {
        let members: &[u32] = self.households.get(household_id).map_or(&[], Vec::as_slice);
        others.clear();
        for &m in members {
            others.extend(self.links[m as usize].iter().filter(|&&j| j != NOBODY));
            others.extend_from_slice(self.children.get(m));
            others.extend_from_slice(self.spouses_of.get(m));
        }
        if let Some(holders) = self.spell_holders.get(household_id) {
            others.extend_from_slice(holders);
        }
        others.sort_unstable();
        others.dedup();
        others.retain(|j| members.binary_search(j).is_err());
        members
    }
}

/// The positions of `texts` in text order (equal texts in position order), comparing a copy
/// of each text's first 24 bytes kept beside its position — as three big-endian words, which
/// compare as the bytes do — and the whole texts only on a tie: millions of comparisons
/// through scattered strings are mostly cache misses.
pub(crate) fn text_order<S: AsRef<str>>(texts: &[S]) -> Vec<u32> {
    let mut keyed: Vec<([u64; 3], u32)> = texts
        .iter()
        .enumerate()
        .map(|(k, t)| {
            let t = t.as_ref().as_bytes();
            let mut bytes = [0u8; 24];
            let n = t.len().min(24);
            bytes[..n].copy_from_slice(&t[..n]);
            let mut key = [0u64; 3];
            for (word, chunk) in key.iter_mut().zip(bytes.chunks_exact(8)) {
                let mut w = [0u8; 8];
                w.copy_from_slice(chunk);
                *word = u64::from_be_bytes(w);
            }
            (key, k as u32)
        })
        .collect();
    keyed.sort_unstable_by(|(ka, a), (kb, b)| {
        ka.cmp(kb)
            .then_with(|| texts[*a as usize].as_ref().cmp(texts[*b as usize].as_ref()))
            .then(a.cmp(b))
    });
    keyed.into_iter().map(|(_, k)| k).collect()
}

/// The outcome of one household, or why there is none.
pub(crate) enum Decided {
    /// Evaluated.
    Done(Box<Outcome>),
    /// No parameter set covers the household's region (and it has living members).
    Uncovered,
    /// Nothing to report (no living member, no finding).
    Nothing,
}

/// Evaluates every household on `threads` threads, in household-id order.
pub(crate) fn evaluate_all(
    registry: &Registry,
    pack: &Pack,
    as_of: Date,
    threads: usize,
    progress: &dyn Progress,
) -> Vec<Decided> {
    let ids = registry.household_ids();
    progress.stage("screening households", ids.len() as u64);
    let threads = threads.max(1);
    let chunk = ids.len().div_ceil(threads).max(1);
    let mut out: Vec<Vec<Decided>> = Vec::new();
    std::thread::scope(|scope| {
        let handles: Vec<_> = ids
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let mut decided = Vec::with_capacity(part.len());
                    let (mut members, mut others, mut positions) =
                        (Vec::new(), Vec::new(), Vec::new());
                    for (k, id) in part.iter().enumerate() {
                        registry.view(id, &mut members, &mut others, &mut positions);
                        let view = HouseholdView {
                            household_id: id,
                            members: &members,
                            others: &others,
                        };
                        let d = match evaluate_view(pack, view, as_of, Options { explain: false }) {
                            Evaluation::Done(o) => Decided::Done(o),
                            Evaluation::Uncovered { .. } => {
                                if registry.living_members(id) > 0 {
                                    Decided::Uncovered
                                } else {
                                    Decided::Nothing
                                }
                            }
                        };
                        decided.push(d);
                        if k % 4096 == 4095 {
                            progress.inc(4096);
                        }
                    }
                    decided
                })
            })
            .collect();
        for h in handles {
            match h.join() {
                Ok(d) => out.push(d),
                Err(_) => out.push(Vec::new()),
            }
        }
    });
    progress.finish();
    out.into_iter().flatten().collect()
}

/// An anomaly row as a sortable key: kind, program, household, person, reasons.
type AnomalyKey = (String, String, String, Option<String>, Vec<String>);

/// Turns the outcomes into result rows and counts.
pub(crate) fn collect(decided: Vec<Decided>, results: &mut Results) {
    let mut anomalies: BTreeSet<AnomalyKey> = BTreeSet::new();
    let mut warnings: BTreeSet<(String, Option<String>, String, String)> = BTreeSet::new();
    for d in decided {
        let o = match d {
            Decided::Done(o) => o,
            Decided::Uncovered => {
                results.summary.households_without_parameters += 1;
                continue;
            }
            Decided::Nothing => continue,
        };
        for a in &o.anomalies {
            anomalies.insert((
                a.kind.clone(),
                a.program.clone(),
                a.household_id.clone(),
                a.person.as_ref().map(|p| p.0.clone()),
                a.reasons.clone(),
            ));
        }
        for s in &o.signals {
            warnings.insert((
                o.household_id.clone(),
                s.person.as_ref().map(|p| p.0.clone()),
                s.signal.clone(),
                s.level.clone(),
            ));
        }
        if o.size == 0 {
            continue;
        }
        for p in &o.persons {
            results.persons.push(PersonRow {
                person_id: p.person.0.clone(),
                household_id: o.household_id.clone(),
                status: p.status.clone(),
                amount: p.amount,
                care_level: p.care_level.clone(),
            });
        }
        for r in &o.packages {
            results.recommendations.push(RecommendationRow {
                household_id: o.household_id.clone(),
                kind: r.kind.clone(),
                item: r.item.clone(),
                amount: r.amount,
                reason: r.reason.clone(),
            });
        }
        *results.summary.tiers.entry(o.tier.clone()).or_default() += 1;
        results.summary.households += 1;
        results.households.push(HouseholdRow {
            household_id: o.household_id.clone(),
            region_code: o.region.clone(),
            size: u32::try_from(o.size).unwrap_or(u32::MAX),
            tekun_members: u32::try_from(o.tekun_members).unwrap_or(u32::MAX),
            per_capita_income: o.per_capita_income,
            tier: o.tier.clone(),
            dibao_amount: o.dibao_amount,
            score: u32::try_from(o.score.max(0)).unwrap_or(u32::MAX),
            level: o.level.clone(),
            tags: o.tags.clone(),
        });
    }
    for (kind, program, household_id, person_id, reasons) in anomalies {
        *results.summary.anomalies.entry(kind.clone()).or_default() += 1;
        results.anomalies.push(AnomalyRow {
            kind,
            program,
            household_id,
            person_id,
            reasons,
        });
    }
    for (household_id, person_id, signal, level) in warnings {
        *results.summary.signals.entry(level.clone()).or_default() += 1;
        results.warnings.push(WarningRow {
            household_id,
            person_id,
            signal,
            level,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::text_order;

    #[test]
    fn text_order_is_the_order_of_the_texts() {
        let texts = [
            "11010119900307001X",
            "110101199003070011",
            "",
            "1101011990030700",
            "a text longer than twenty-four bytes, 2",
            "a text longer than twenty-four bytes, 1",
            "110101199003070011",
            "王伟",
            "~",
            "11010119900307001",
        ];
        let order = text_order(&texts);
        let mut expected: Vec<u32> = (0..texts.len() as u32).collect();
        // a stable sort: equal texts stay in position order
        expected.sort_by_key(|&k| texts[k as usize]);
        assert_eq!(order, expected);
    }
}
