//! From person facts to results: persons are grouped into households with the relatives and
//! spell holders each evaluation reads (`policy::eval::HouseholdInput`), the pack is evaluated on
//! every household on all cores, and the outcomes become the rows of the result files.

use domain::{Date, PersonStatus, Progress};
use policy::eval::{Evaluation, HouseholdInput, HouseholdView, Options, Outcome, evaluate_view};
use policy::facts::PersonFacts;
use policy::pack::Pack;

use crate::assemble::{NOBODY, PersonIndex};
use crate::output::{AnomalyRow, HouseholdRow, PersonRow, RecommendationRow, Results, WarningRow};

/// Positions of persons by a number (another person's position, a household's number), in
/// one array: the persons of number `k` are `list[start[k]..start[k + 1]]`.
struct ByPerson {
    start: Vec<u32>,
    list: Vec<u32>,
}

impl ByPerson {
    /// From (number, person) pairs below `numbers`, each number's persons in the order given.
    fn of(numbers: usize, pairs: &[(u32, u32)]) -> ByPerson {
        let mut start = vec![0u32; numbers + 1];
        for &(k, _) in pairs {
            start[k as usize + 1] += 1;
        }
        for k in 0..numbers {
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
    /// The households: population households and households only named by spells.
    households: Households,
    /// Person → persons who name them as father or mother.
    children: ByPerson,
    /// Person → persons who name them as spouse.
    spouses_of: ByPerson,
}

/// Every household ID, numbered in text order (the order of the results), with its members
/// and the holders of spells naming it: arrays read in order while the households are
/// evaluated in order, where a hash map per ID and a vector per household were a cache miss
/// each, and four million allocations.
struct Households {
    /// Where each household's ID is written, by number: (person, [`NOBODY`]) for a
    /// population household, (person, spell) for one named by a spell.
    at: Vec<(u32, u32)>,
    /// Household number → the positions of its members, ascending.
    members: ByPerson,
    /// Household number → holders of running spells naming it who live elsewhere.
    spell_holders: ByPerson,
    /// Household ID → number.
    numbers: hashbrown::HashTable<u32>,
    /// The household numbers in the order the households were first seen: the population's
    /// in the order of their first person, then those only spells name — the order in which
    /// evaluating them reads the persons' facts front to back ([`evaluate_all`]).
    first_seen: Vec<u32>,
}

/// Where a household ID goes in [`Households::numbers`].
fn text_hash(text: &[u8]) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(text)
}

/// The population's households numbered as first seen, with their members: what only the
/// population's rows decide, found while the rest of the facts are still being read
/// ([`Households`] adds the households that only spells name, then puts them in ID order).
pub(crate) struct Members {
    /// Where each household's ID is written, by number (see [`Households::at`]).
    at: Vec<(u32, u32)>,
    /// Household ID → number.
    numbers: hashbrown::HashTable<u32>,
    /// (household number, person), in person order.
    member_of: Vec<(u32, u32)>,
}

impl Members {
    /// The number of a household ID, numbering it when it is new.
    fn number(&mut self, persons: &[PersonFacts], id: &[u8], here: (u32, u32)) -> u32 {
        let hash = text_hash(id);
        let at = &mut self.at;
        if let Some(&n) = self.numbers.find(hash, |&n| {
            Households::bytes_at(persons, at[n as usize]) == id
        }) {
            return n;
        }
        let n = at.len() as u32;
        at.push(here);
        self.numbers.insert_unique(hash, n, |&n| {
            text_hash(Households::bytes_at(persons, at[n as usize]))
        });
        n
    }

    /// The households of the persons' own household IDs.
    pub(crate) fn of(persons: &[PersonFacts]) -> Members {
        let mut members = Members {
            at: Vec::new(),
            numbers: hashbrown::HashTable::new(),
            member_of: Vec::with_capacity(persons.len()),
        };
        // a household's members are usually listed together: the previous person's
        // household is compared first, and only a new one is looked up
        let mut previous: Option<(&[u8], u32)> = None;
        for (i, p) in persons.iter().enumerate() {
            let i = i as u32;
            let id = p.household_id.as_bytes();
            let own = match previous {
                Some((previous, n)) if previous == id => n,
                _ => members.number(persons, id, (i, NOBODY)),
            };
            previous = Some((id, own));
            members.member_of.push((own, i));
        }
        members
    }

    /// The households with those only spells name, and the holders of spells naming a
    /// household other than their own, renumbered in ID order. `persons` are the persons
    /// numbered, their own household IDs unchanged since.
    fn households(mut self, persons: &[PersonFacts]) -> Households {
        let mut holders: Vec<(u32, u32)> = Vec::new();
        let mut named: Vec<u32> = Vec::new();
        for (i, p) in persons.iter().enumerate() {
            if p.running.is_empty() {
                continue;
            }
            let i = i as u32;
            let id = p.household_id.as_bytes();
            named.clear();
            for (j, spell) in p.running.iter().enumerate() {
                if spell.household_id.as_bytes() != id {
                    named.push(self.number(persons, spell.household_id.as_bytes(), (i, j as u32)));
                }
            }
            named.sort_unstable();
            named.dedup();
            holders.extend(named.iter().map(|&h| (h, i)));
        }
        let Members {
            at,
            mut numbers,
            mut member_of,
        } = self;
        // renumbered in ID order
        let texts: Vec<&[u8]> = at
            .iter()
            .map(|&a| Households::bytes_at(persons, a))
            .collect();
        let order = text_order(&texts);
        drop(texts);
        let mut rank = vec![0u32; order.len()];
        for (r, &k) in order.iter().enumerate() {
            rank[k as usize] = r as u32;
        }
        for pair in member_of.iter_mut().chain(holders.iter_mut()) {
            pair.0 = rank[pair.0 as usize];
        }
        for n in numbers.iter_mut() {
            *n = rank[*n as usize];
        }
        let at: Vec<(u32, u32)> = order.iter().map(|&k| at[k as usize]).collect();
        Households {
            members: ByPerson::of(at.len(), &member_of),
            spell_holders: ByPerson::of(at.len(), &holders),
            at,
            numbers,
            first_seen: rank,
        }
    }
}

impl Households {
    /// The ID written at `(person, spell)`.
    fn id_at(persons: &[PersonFacts], at: (u32, u32)) -> &str {
        std::str::from_utf8(Self::bytes_at(persons, at)).unwrap_or_default()
    }

    /// The bytes of the ID written at `(person, spell)` (compared and hashed as they are:
    /// millions of times while the households are numbered).
    fn bytes_at(persons: &[PersonFacts], (person, spell): (u32, u32)) -> &[u8] {
        let p = &persons[person as usize];
        if spell == NOBODY {
            p.household_id.as_bytes()
        } else {
            p.running[spell as usize].household_id.as_bytes()
        }
    }

    /// The number of the household with this ID.
    fn number(&self, persons: &[PersonFacts], id: &str) -> Option<u32> {
        self.numbers
            .find(text_hash(id.as_bytes()), |&n| {
                Self::bytes_at(persons, self.at[n as usize]) == id.as_bytes()
            })
            .copied()
    }
}

/// What the population's rows alone decide for the registry: its households numbered with
/// their members, and each person's spouse, father and mother as positions. A run finds them
/// while linkage and the other feeds' reductions are still at work (looking up thirty million
/// relatives' IDs and numbering three million households took most of the grouping stage).
pub(crate) struct Early {
    members: Members,
    /// Each person's spouse, father and mother as positions ([`NOBODY`] when not there).
    links: Vec<[u32; 3]>,
}

impl Early {
    /// The households and links of the persons (their household, spouse and parent IDs read).
    pub(crate) fn of(persons: &[PersonFacts], by_id: &PersonIndex) -> Early {
        fn id(key: &Option<policy::facts::PersonKey>) -> Option<&[u8]> {
            key.as_ref().map(|k| k.0.as_bytes())
        }
        let links = || {
            // a block of persons at a time: the look-ups' inputs (an ID and its number, 24
            // bytes a link) for everyone at once were 700 MB beside a registry of ten million
            let mut links: Vec<[u32; 3]> = Vec::with_capacity(persons.len());
            for block in persons.chunks(1 << 16) {
                let positions = by_id.first_of_all(
                    persons,
                    block
                        .iter()
                        .flat_map(|p| [id(&p.spouse), id(&p.father), id(&p.mother)]),
                );
                links.extend(positions.chunks_exact(3).map(|k| [k[0], k[1], k[2]]));
            }
            links
        };
        if persons.len() < 4096 {
            return Early {
                members: Members::of(persons),
                links: links(),
            };
        }
        std::thread::scope(|s| {
            let members = s.spawn(|| Members::of(persons));
            let links = links();
            Early {
                members: members
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e)),
                links,
            }
        })
    }
}

impl Registry {
    /// Indexes the persons.
    pub fn new(persons: Vec<PersonFacts>) -> Registry {
        let by_id = PersonIndex::new(&persons);
        Registry::with_ids(persons, by_id)
    }

    /// Indexes the persons, given their index by ID.
    pub fn with_ids(persons: Vec<PersonFacts>, by_id: PersonIndex) -> Registry {
        let early = Early::of(&persons, &by_id);
        Registry::with_early(persons, early)
    }

    /// Indexes the persons, given what their population rows decide ([`Early::of`] of the same
    /// persons, whose household, spouse and parent IDs have not changed since).
    pub(crate) fn with_early(persons: Vec<PersonFacts>, early: Early) -> Registry {
        let Early { members, links } = early;
        // The households (with the holders of spells naming others) and the relatives of a
        // city are indexed on two threads: nothing else runs in this stage. (The registry of
        // one household's persons, on a cluster's executor, is indexed on its own thread.)
        let (households, (children, spouses_of)) = if persons.len() < 4096 {
            (
                members.households(&persons),
                Self::relatives(persons.len(), &links),
            )
        } else {
            std::thread::scope(|s| {
                let households = s.spawn(|| members.households(&persons));
                let relatives = Self::relatives(persons.len(), &links);
                let households = households
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e));
                (households, relatives)
            })
        };
        Registry {
            persons,
            links,
            households,
            children,
            spouses_of,
        }
    }

    /// The children and the spouses naming each of `n` persons, from their links.
    fn relatives(n: usize, links: &[[u32; 3]]) -> (ByPerson, ByPerson) {
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
        (ByPerson::of(n, &children), ByPerson::of(n, &spouses_of))
    }

    /// Every household id, in text order: population households and households only named
    /// by spells.
    #[cfg(test)]
    fn household_ids(&self) -> Vec<&str> {
        (0..self.household_count())
            .map(|n| self.household_id(n))
            .collect()
    }

    /// Whether a household of this ID is in the registry (as a population household or one
    /// named by a spell).
    pub fn has_household(&self, household_id: &str) -> bool {
        self.households
            .number(&self.persons, household_id)
            .is_some()
    }

    /// The number of households.
    fn household_count(&self) -> u32 {
        self.households.at.len() as u32
    }

    /// The ID of household number `n`.
    fn household_id(&self, n: u32) -> &str {
        Households::id_at(&self.persons, self.households.at[n as usize])
    }

    /// Living members of household number `n`.
    fn living_members(&self, n: u32) -> usize {
        self.households
            .members
            .get(n)
            .iter()
            .filter(|&&i| self.persons[i as usize].status == PersonStatus::Normal)
            .count()
    }

    /// The evaluator's input for one household (its persons copied).
    pub fn input(&self, household_id: &str) -> HouseholdInput {
        let mut others = Vec::new();
        let members = match self.households.number(&self.persons, household_id) {
            Some(n) => self.related(n, &mut others),
            None => &[],
        };
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

    /// Fills `members` and `others` with the persons of household number `n`, borrowed
    /// (`positions` is room for the others' positions, reused from household to household).
    fn view<'a>(
        &'a self,
        n: u32,
        members: &mut Vec<&'a PersonFacts>,
        others: &mut Vec<&'a PersonFacts>,
        positions: &mut Vec<u32>,
    ) {
        let m = self.related(n, positions);
        members.clear();
        members.extend(m.iter().map(|&i| &self.persons[i as usize]));
        others.clear();
        others.extend(positions.iter().map(|&i| &self.persons[i as usize]));
    }

    /// The members of household number `n`, and into `others` its others in registry order,
    /// each once: relatives in other households and holders of spells naming it. (The members
    /// are in registry order, as the registry was read; sorted arrays rather than sets, since
    /// a household has a handful of persons and three million of them are evaluated.)
    fn related(&self, n: u32, others: &mut Vec<u32>) -> &[u32] {
        let members = self.households.members.get(n);
        others.clear();
        for &m in members {
            others.extend(self.links[m as usize].iter().filter(|&&j| j != NOBODY));
            others.extend_from_slice(self.children.get(m));
            others.extend_from_slice(self.spouses_of.get(m));
        }
        others.extend_from_slice(self.households.spell_holders.get(n));
        others.sort_unstable();
        others.dedup();
        others.retain(|j| members.binary_search(j).is_err());
        members
    }
}

/// The positions of `texts` in text order (equal texts in position order), comparing a copy
/// of each text's first 24 bytes kept beside its position — as three big-endian words, which
/// compare as the bytes do — and the whole texts only on a tie: millions of comparisons
/// through scattered strings are mostly cache misses. Many texts are sorted in two halves on
/// two cores, then merged (a second on one core for a city's three million households).
pub(crate) fn text_order<S: AsRef<[u8]> + Sync>(texts: &[S]) -> Vec<u32> {
    let mut keyed: Vec<([u64; 3], u32)> = texts
        .iter()
        .enumerate()
        .map(|(k, t)| {
            let t = t.as_ref();
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
    let order = |(ka, a): &([u64; 3], u32), (kb, b): &([u64; 3], u32)| {
        ka.cmp(kb)
            .then_with(|| texts[*a as usize].as_ref().cmp(texts[*b as usize].as_ref()))
            .then(a.cmp(b))
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if keyed.len() < 1 << 16 || cores < 2 {
        keyed.sort_unstable_by(order);
        return keyed.into_iter().map(|(_, k)| k).collect();
    }
    let half = keyed.len() / 2;
    let (low, high) = keyed.split_at_mut(half);
    std::thread::scope(|s| {
        let sorted = s.spawn(|| low.sort_unstable_by(order));
        high.sort_unstable_by(order);
        sorted
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
    });
    // no two keys are equal (positions differ): the merge is the one order
    let (low, high) = keyed.split_at(half);
    let mut merged = Vec::with_capacity(keyed.len());
    let (mut i, mut j) = (0, 0);
    while i < low.len() && j < high.len() {
        if order(&high[j], &low[i]).is_lt() {
            merged.push(high[j].1);
            j += 1;
        } else {
            merged.push(low[i].1);
            i += 1;
        }
    }
    merged.extend(low[i..].iter().chain(&high[j..]).map(|(_, k)| *k));
    merged
}

/// The outcome of one household, or why there is none.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) enum Decided {
    /// Evaluated.
    Done(Box<Screened>),
    /// No parameter set covers the household's region (and it has living members).
    Uncovered,
    /// Nothing to report (no living member, no finding).
    Nothing,
}

/// What one household's evaluation puts into the result files: its row (only when it has
/// living members) with its persons and package, and its findings. The same whether the
/// household was evaluated here or by the pack's function on a cluster's executor, which
/// sends it back as it is.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Screened {
    pub household: Option<HouseholdRow>,
    pub persons: Vec<PersonRow>,
    pub recommendations: Vec<RecommendationRow>,
    pub anomalies: Vec<AnomalyRow>,
    pub warnings: Vec<WarningRow>,
}

impl Screened {
    /// The rows of an outcome.
    fn of(o: Outcome) -> Screened {
        let anomalies = o
            .anomalies
            .into_iter()
            .map(|a| AnomalyRow {
                kind: a.kind,
                program: a.program,
                household_id: a.household_id,
                person_id: a.person.map(|p| p.0.to_string()),
                reasons: a.reasons,
            })
            .collect();
        let warnings = o
            .signals
            .into_iter()
            .map(|s| WarningRow {
                household_id: o.household_id.clone(),
                person_id: s.person.map(|p| p.0.to_string()),
                signal: s.signal,
                level: s.level,
            })
            .collect();
        if o.size == 0 {
            return Screened {
                anomalies,
                warnings,
                ..Screened::default()
            };
        }
        let persons = o
            .persons
            .into_iter()
            .map(|p| PersonRow {
                person_id: p.person.0.to_string(),
                household_id: o.household_id.clone(),
                status: p.status,
                amount: p.amount,
                care_level: p.care_level,
            })
            .collect();
        let mut recommendations: Vec<RecommendationRow> = o
            .packages
            .into_iter()
            .map(|r| RecommendationRow {
                household_id: o.household_id.clone(),
                kind: r.kind,
                item: r.item,
                amount: r.amount,
                reason: r.reason,
            })
            .collect();
        // In the file's order (by kind and item within the household), here on the thread
        // that evaluated the household: sorting the rows of three million households after
        // the evaluation, out of the pack's order, took over half a second.
        recommendations.sort_by(|a, b| (&a.kind, &a.item).cmp(&(&b.kind, &b.item)));
        Screened {
            household: Some(HouseholdRow {
                region_code: o.region.into(),
                size: u32::try_from(o.size).unwrap_or(u32::MAX),
                tekun_members: u32::try_from(o.tekun_members).unwrap_or(u32::MAX),
                per_capita_income: o.per_capita_income,
                tier: o.tier.into(),
                dibao_amount: o.dibao_amount,
                score: u32::try_from(o.score.max(0)).unwrap_or(u32::MAX),
                level: o.level.into(),
                tags: o.tags,
                household_id: o.household_id.into(),
            }),
            persons,
            recommendations,
            anomalies,
            warnings,
        }
    }

    /// Whether the household is flagged: a tier, an anomaly or a warning.
    pub(crate) fn flagged(&self) -> bool {
        self.household.as_ref().is_some_and(|h| h.tier != "none")
            || !self.anomalies.is_empty()
            || !self.warnings.is_empty()
    }
}

/// Room a thread reuses from household to household.
#[derive(Default)]
pub(crate) struct Scratch<'a> {
    members: Vec<&'a PersonFacts>,
    others: Vec<&'a PersonFacts>,
    positions: Vec<u32>,
}

impl Registry {
    /// The outcome of household number `n`.
    pub(crate) fn decide<'a>(
        &'a self,
        n: u32,
        pack: &Pack,
        as_of: Date,
        scratch: &mut Scratch<'a>,
    ) -> Decided {
        let id = self.household_id(n);
        self.view(
            n,
            &mut scratch.members,
            &mut scratch.others,
            &mut scratch.positions,
        );
        let view = HouseholdView {
            household_id: id,
            members: &scratch.members,
            others: &scratch.others,
        };
        match evaluate_view(pack, view, as_of, Options { explain: false }) {
            Evaluation::Done(o) => Decided::Done(Box::new(Screened::of(*o))),
            Evaluation::Uncovered { .. } => {
                if self.living_members(n) > 0 {
                    Decided::Uncovered
                } else {
                    Decided::Nothing
                }
            }
        }
    }

    /// The outcome of the household with this ID ([`Decided::Nothing`] when it is not in the
    /// registry).
    pub(crate) fn decide_id(&self, id: &str, pack: &Pack, as_of: Date) -> Decided {
        match self.households.number(&self.persons, id) {
            Some(n) => self.decide(n, pack, as_of, &mut Scratch::default()),
            None => Decided::Nothing,
        }
    }

    /// Every step of the outcome of the household with this ID.
    pub(crate) fn explanation(
        &self,
        id: &str,
        pack: &Pack,
        as_of: Date,
    ) -> Option<policy::Explanation> {
        let options = Options { explain: true };
        match policy::eval::evaluate(pack, &self.input(id), as_of, options) {
            Evaluation::Done(o) => Some(crate::merged_explanation(&o)),
            Evaluation::Uncovered { .. } => None,
        }
    }
}

/// Evaluates every household of the registry and turns the outcomes into result rows and
/// counts, in household order (as one thread evaluating the households in ID order would give
/// them).
///
/// The households are evaluated in the order they were first seen ([`Households::first_seen`]),
/// each thread one contiguous part: their persons' facts are then read front to back, where
/// evaluating them in ID order jumped to another place among a city's gigabytes of facts for
/// every household (a quarter of the screening's time at ten million persons; the rows' texts,
/// made in that order, are then read out of order when the files are written, which gives back
/// much of it at that size — docs/benchmarks.md). Each thread gathers its own rows as it goes
/// (turning three million outcomes into rows one after another, after the evaluation, took a
/// second and a half at ten million persons), and the rows of each table are then put into
/// household order in place.
pub(crate) fn evaluate_all(
    registry: &Registry,
    pack: &Pack,
    as_of: Date,
    threads: usize,
    progress: &dyn Progress,
) -> Results {
    let count = registry.household_count();
    progress.stage("screening households", u64::from(count));
    let threads = threads.max(1) as u32;
    let chunk = count.div_ceil(threads).max(1) as usize;
    let first_seen = &registry.households.first_seen;
    let parts: Vec<(Results, Groups)> = std::thread::scope(|scope| {
        let handles: Vec<_> = first_seen
            .chunks(chunk)
            .enumerate()
            .map(|(t, part)| {
                let first = t == 0;
                scope.spawn(move || {
                    let mut rows = Results::default();
                    // the first part's table is kept, with room for every household, and
                    // the others are appended to it when they come in household order
                    rows.households
                        .reserve(if first { count as usize } else { part.len() });
                    let mut groups = Groups::default();
                    let mut scratch = Scratch::default();
                    for (k, &n) in part.iter().enumerate() {
                        let before = (rows.persons.len(), rows.recommendations.len());
                        let household =
                            gather(registry.decide(n, pack, as_of, &mut scratch), &mut rows);
                        groups.add(n, household, before, &rows);
                        if k % 4096 == 4095 {
                            progress.inc(4096);
                        }
                    }
                    (rows, groups)
                })
            })
            .collect();
        crate::joined(handles)
    });
    progress.finish();
    let mut results = Results::default();
    let mut households = Vec::with_capacity(parts.len());
    let mut persons = Vec::with_capacity(parts.len());
    let mut recommendations = Vec::with_capacity(parts.len());
    let mut groups = Vec::with_capacity(parts.len());
    for (mut part, part_groups) in parts {
        households.push(std::mem::take(&mut part.households));
        persons.push(std::mem::take(&mut part.persons));
        recommendations.push(std::mem::take(&mut part.recommendations));
        groups.push(part_groups);
        results.anomalies.append(&mut part.anomalies);
        results.warnings.append(&mut part.warnings);
        let (all, this) = (&mut results.summary, part.summary);
        all.households += this.households;
        all.households_without_parameters += this.households_without_parameters;
        for (tier, n) in this.tiers {
            *all.tiers.entry(tier).or_default() += n;
        }
    }
    let count = count as usize;
    let household_runs: Vec<&[(u32, u32)]> = groups.iter().map(|g| &g.households[..]).collect();
    let person_runs: Vec<&[(u32, u32)]> = groups.iter().map(|g| &g.persons[..]).collect();
    let recommendation_runs: Vec<&[(u32, u32)]> =
        groups.iter().map(|g| &g.recommendations[..]).collect();
    std::thread::scope(|s| {
        let households = s.spawn(|| in_household_order(&mut households, &household_runs, count));
        let recommendations =
            s.spawn(|| in_household_order(&mut recommendations, &recommendation_runs, count));
        results.persons = in_household_order(&mut persons, &person_runs, count);
        // anomalies and warnings are put in their order, with their duplicates, by `settle`,
        // while the larger tables are put in household order
        settle(&mut results);
        results.households = households
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        results.recommendations = recommendations
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
    });
    results
}

/// Which household each run of rows of a table came from, in the order they were gathered:
/// (household number, rows), for the households that gave the table rows.
#[derive(Default)]
struct Groups {
    households: Vec<(u32, u32)>,
    persons: Vec<(u32, u32)>,
    recommendations: Vec<(u32, u32)>,
}

impl Groups {
    /// Notes the rows household `n` added to `rows` since the tables had `before` rows
    /// (persons, recommendations); `household` whether it gave a household row.
    fn add(&mut self, n: u32, household: bool, before: (usize, usize), rows: &Results) {
        if household {
            self.households.push((n, 1));
        }
        let added = |now: usize, before: usize| (now - before) as u32;
        let persons = added(rows.persons.len(), before.0);
        if persons > 0 {
            self.persons.push((n, persons));
        }
        let recommendations = added(rows.recommendations.len(), before.1);
        if recommendations > 0 {
            self.recommendations.push((n, recommendations));
        }
    }
}

/// The rows of the parts, each of which came in runs of one household each as its `runs` say
/// (household number, rows), in the order of the households' numbers (each household's rows
/// in the order they came). Each run is moved once, into a table filled front to back: moving
/// every row around the cycles of the permutation in place was two scattered rows per step,
/// after the parts had been copied into one table. Households screened in the order of their
/// numbers already (a population listed by household ID) are the parts one after the other,
/// appended to the first.
fn in_household_order<T: Default>(
    parts: &mut [Vec<T>],
    runs: &[&[(u32, u32)]],
    count: usize,
) -> Vec<T> {
    let numbers = || runs.iter().flat_map(|r| r.iter()).map(|&(n, _)| n);
    if numbers().zip(numbers().skip(1)).all(|(a, b)| a < b) {
        // the first part's table grows (in place when it has the room) by the others'
        let mut rows = parts.first_mut().map(std::mem::take).unwrap_or_default();
        let rest = parts.get_mut(1..).unwrap_or_default();
        rows.reserve(rest.iter().map(Vec::len).sum());
        for part in rest {
            rows.append(part);
        }
        return rows;
    }
    // where each household's run is: (part, first row, rows)
    let mut at = vec![(0u32, 0u32, 0u32); count];
    let mut total = 0;
    for (p, part_runs) in runs.iter().enumerate() {
        let mut from = 0u32;
        for &(n, len) in part_runs.iter() {
            at[n as usize] = (p as u32, from, len);
            from += len;
        }
        total += from as usize;
    }
    let mut rows = Vec::with_capacity(total);
    for &(p, from, len) in &at {
        if len > 0 {
            let (from, to) = (from as usize, (from + len) as usize);
            rows.extend(parts[p as usize][from..to].iter_mut().map(std::mem::take));
        }
    }
    rows
}

/// Turns the outcomes into result rows and counts.
pub(crate) fn collect(decided: Vec<Decided>, results: &mut Results) {
    for d in decided {
        gather(d, results);
    }
    settle(results);
}

/// Adds the rows of one household's outcome, and counts its tier; whether it had a household
/// row.
fn gather(decided: Decided, results: &mut Results) -> bool {
    let s = match decided {
        Decided::Done(s) => *s,
        Decided::Uncovered => {
            results.summary.households_without_parameters += 1;
            return false;
        }
        Decided::Nothing => return false,
    };
    results.anomalies.extend(s.anomalies);
    results.warnings.extend(s.warnings);
    if let Some(h) = s.household {
        results.persons.extend(s.persons);
        results.recommendations.extend(s.recommendations);
        // the tier's text is copied for its first household only
        match results.summary.tiers.get_mut(h.tier.as_str()) {
            Some(n) => *n += 1,
            None => {
                results.summary.tiers.insert(h.tier.to_string(), 1);
            }
        }
        results.summary.households += 1;
        results.households.push(h);
        true
    } else {
        false
    }
}

/// Writes a finding that both households of a duplicate report once (the findings in their
/// own order, as a set would hold them), and counts the findings.
fn settle(results: &mut Results) {
    results.anomalies.sort_unstable();
    results.anomalies.dedup();
    results.warnings.sort_unstable();
    results.warnings.dedup();
    for a in &results.anomalies {
        *results.summary.anomalies.entry(a.kind.clone()).or_default() += 1;
    }
    for w in &results.warnings {
        *results.summary.signals.entry(w.level.clone()).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::{Registry, in_household_order, text_order};
    use domain::Program;
    use policy::facts::{PersonFacts, PersonKey, RunningSpell};

    fn person(id: &str, household: &str) -> PersonFacts {
        PersonFacts {
            id: PersonKey(id.into()),
            household_id: household.into(),
            ..PersonFacts::default()
        }
    }

    fn spell(program: Program, household: &str) -> RunningSpell {
        RunningSpell {
            program,
            household_id: household.into(),
        }
    }

    #[test]
    fn households_with_their_relatives_and_the_holders_of_spells_naming_them() {
        let mut p2 = person("p2", "H1");
        p2.spouse = Some(PersonKey("p1".into()));
        let mut p3 = person("p3", "H2");
        // a household known only from a spell, and another named by two spells
        p3.running = Box::new([
            spell(Program::Dibao, "H0"),
            spell(Program::Dibao, "H1"),
            spell(Program::Tekun, "H1"),
            spell(Program::Medical, "H2"),
        ]);
        let mut p4 = person("p4", "H1");
        p4.father = Some(PersonKey("p3".into()));
        let registry = Registry::new(vec![person("p1", "H2"), p2, p3, p4]);
        assert_eq!(registry.household_ids(), ["H0", "H1", "H2"]);
        let ids = |persons: &[PersonFacts]| -> Vec<String> {
            persons.iter().map(|p| p.id.0.to_string()).collect()
        };
        let h0 = registry.input("H0");
        assert!(h0.members.is_empty());
        assert_eq!(ids(&h0.others), ["p3"]);
        let h1 = registry.input("H1");
        assert_eq!(ids(&h1.members), ["p2", "p4"]);
        assert_eq!(
            ids(&h1.others),
            ["p1", "p3"],
            "a spouse, a father, a spell holder"
        );
        let h2 = registry.input("H2");
        assert_eq!(ids(&h2.members), ["p1", "p3"]);
        assert_eq!(
            ids(&h2.others),
            ["p2", "p4"],
            "the one naming a spouse, a child"
        );
        assert!(registry.has_household("H0"));
        assert!(!registry.has_household("H9"));
        assert!(registry.input("H9").members.is_empty());
    }

    #[test]
    fn rows_gathered_in_another_order_are_put_in_household_order() {
        // households 0 … 9 evaluated in this order, with 0 … 3 rows each (none for some)
        // on two threads: the first evaluated the first five, the second the rest
        let evaluated = [7u32, 2, 9, 0, 4, 8, 1, 6, 3, 5];
        let mut parts = vec![Vec::new(), Vec::new()];
        let mut runs = [Vec::new(), Vec::new()];
        for (k, &n) in evaluated.iter().enumerate() {
            let len = (n * 7 + 3) % 4;
            parts[k / 5].extend((0..len).map(|i| (n, i)));
            if len > 0 {
                runs[k / 5].push((n, len));
            }
        }
        let mut expected: Vec<(u32, u32)> = parts.concat();
        expected.sort();
        assert_ne!(parts.concat(), expected);
        let runs: Vec<&[(u32, u32)]> = runs.iter().map(Vec::as_slice).collect();
        let rows = in_household_order(&mut parts, &runs, evaluated.len());
        assert_eq!(rows, expected);
    }

    #[test]
    fn rows_gathered_in_household_order_are_the_parts_one_after_the_other() {
        // households 0 … 9 evaluated in order on two threads; the last gave no rows, and the
        // rows of a household are not in any order of their own
        let mut parts = vec![Vec::new(), Vec::new()];
        let mut runs = [Vec::new(), Vec::new()];
        for n in 0..9u32 {
            let len = (n * 7 + 3) % 4;
            parts[n as usize / 5].extend((0..len).rev().map(|i| (n, i)));
            if len > 0 {
                runs[n as usize / 5].push((n, len));
            }
        }
        let expected: Vec<(u32, u32)> = parts.concat();
        let runs: Vec<&[(u32, u32)]> = runs.iter().map(Vec::as_slice).collect();
        let rows = in_household_order(&mut parts, &runs, 10);
        assert_eq!(rows, expected);
        assert!(parts.iter().all(Vec::is_empty));
    }

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

    #[test]
    fn many_texts_sorted_in_halves_and_merged_are_in_text_order() {
        // IDs in scattered order, repeats, texts sharing their first 24 bytes, short ones
        let texts: Vec<String> = (0..150_000u64)
            .map(|n| {
                let m = (n * 7919) % 100_003;
                match m % 5 {
                    0 => format!("a household with a long shared prefix {m}"),
                    1 => format!("{}", m % 977),
                    _ => format!("9901{:014}", m),
                }
            })
            .collect();
        let order = text_order(&texts);
        let mut expected: Vec<u32> = (0..texts.len() as u32).collect();
        expected.sort_by_key(|&k| &texts[k as usize]);
        assert_eq!(order, expected);
    }
}
