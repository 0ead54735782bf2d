//! Rules compiled once, when a pack is loaded, into closures over typed values.
//!
//! The tree-walking interpreter of [`super::Env::eval`] returns a tagged [`super::Value`] for
//! every node and decides the node's kind at each visit. Here the kind of every node is known
//! from the checked pack, so each node becomes a closure that returns a plain `bool`, [`Num`],
//! code index, code set or money list, and the children it calls are already of the right kind.
//! The meaning is the interpreter's, node for node; `Pack::interpreted` gives the same pack
//! without compiled code so that tests can compare the two on any household.

use std::sync::Arc;

use domain::Fen;

use super::{Env, Frame};
use crate::expr::{Aggregate, BinOp, Collection, Expr, FactKind, Func, Num, ParamKey};
use crate::facts::{
    BASE_FACTS, Domain, GROUP_FACTS, HOUSEHOLD_FACTS, PERSON_STATE_FACTS, PersonFacts, Type,
};
use crate::pack::{ParamDecl, Rule};

/// `$make!(read)` for the reader of a base whole-number or money fact of a person (by name),
/// so that each fact gets its own closure reading the field directly; `None` for other facts.
macro_rules! int_fact {
    ($name:expr, $make:ident) => {
        match $name {
            "age" => Some($make!(|f: &PersonFacts| f.age)),
            "disability_grade" => Some($make!(|f: &PersonFacts| i64::from(f.disability_grade))),
            "recent_disability_grade" => Some($make!(|f: &PersonFacts| i64::from(
                f.recent_disability_grade
            ))),
            "employment_months_ago" => Some($make!(|f: &PersonFacts| f.employment_months_ago)),
            "job_start_months_ago" => Some($make!(|f: &PersonFacts| f.job_start_months_ago)),
            "utility_arrears_months" => Some($make!(|f: &PersonFacts| f.utility_arrears_months)),
            "utility_months_ago" => Some($make!(|f: &PersonFacts| f.utility_months_ago)),
            "electricity_months_ago" => Some($make!(|f: &PersonFacts| f.electricity_months_ago)),
            other => money_fact!(other, $make),
        }
    };
}

/// `$make!(read)` for the reader of a base money fact of a person (by name), in fen: the
/// facts of [`super::MONEY_FACTS`]; `None` for other facts.
macro_rules! money_fact {
    ($name:expr, $make:ident) => {
        match $name {
            "income" => Some($make!(|f: &PersonFacts| f.income.0)),
            "financial_assets" => Some($make!(|f: &PersonFacts| f.financial_assets.0)),
            "tuition" => Some($make!(|f: &PersonFacts| f.tuition.0)),
            "medical_oop_12m" => Some($make!(|f: &PersonFacts| f.medical_oop_12m.0)),
            _ => None,
        }
    };
}

/// `$build(slice, args…)` for a collection whose persons are a slice ([`SliceOf`]), so that
/// the aggregate is compiled for that collection; `$otherwise` for the other collections.
macro_rules! in_slice {
    ($over:expr, $build:ident ( $($arg:expr),* ), $otherwise:expr) => {
        match $over {
            Collection::Members => $build(InMembers, $($arg),*),
            Collection::NonTekun => $build(InNonTekun, $($arg),*),
            Collection::Group => $build(InGroup, $($arg),*),
            Collection::Obligors => $build(InObligors, $($arg),*),
            Collection::Parents => $build(InParents, $($arg),*),
            Collection::OtherNonTekun | Collection::Myself => $otherwise,
        }
    };
}

type Fun<T> = Box<dyn for<'a, 'f> Fn(&Env<'a>, &Frame<'f>) -> T + Send + Sync>;
type ListFun = Box<dyn for<'a, 'f> Fn(&Env<'a>, &Frame<'f>) -> &'a [Fen] + Send + Sync>;

/// A rule's compiled form: a condition or an amount.
pub(crate) enum Node {
    Bool(Fun<bool>),
    Num(Fun<Num>),
}

/// The compiled form of a rule, attached to it when its pack is loaded. Empty for a rule built
/// by hand or a pack asked to be interpreted; such rules are evaluated by the interpreter.
#[derive(Clone, Default)]
pub struct Code(pub(crate) Option<Arc<Node>>);

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Code(compiled)"
        } else {
            "Code(interpreted)"
        })
    }
}

/// Two rules are equal when their expressions are; the compiled form follows from those.
impl PartialEq for Code {
    fn eq(&self, _: &Code) -> bool {
        true
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_unit()
    }
}

/// The kinds of value an expression can have.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Bool,
    Num,
    Code,
    Codes,
    List,
    Other,
}

fn kind(ty: Type) -> Kind {
    match ty {
        Type::Bool => Kind::Bool,
        Type::Int | Type::Money | Type::Ratio | Type::Area | Type::Energy => Kind::Num,
        Type::Code(_) => Kind::Code,
        Type::Codes(_) => Kind::Codes,
        Type::MoneyList => Kind::List,
    }
}

/// What the compiler needs to know of the pack: the types of derived facts and parameters.
pub(crate) struct Types {
    derived: Vec<Type>,
    params: Vec<(Type, Option<Domain>)>,
}

impl Types {
    pub(crate) fn new(derived: &[Rule], params: &[ParamDecl]) -> Types {
        Types {
            derived: derived.iter().map(|r| r.ty).collect(),
            params: params
                .iter()
                .map(|p| (p.unit.value_type(), p.keys))
                .collect(),
        }
    }

    fn kind_of(&self, e: &Expr) -> Kind {
        match e {
            Expr::Bool(_) => Kind::Bool,
            Expr::Num(_) => Kind::Num,
            Expr::Code { .. } => Kind::Code,
            Expr::List(_) => Kind::Other,
            Expr::Name(_) | Expr::Collection(_) => Kind::Other,
            Expr::Fact { kind: k, id, .. } => {
                let i = *id as usize;
                let ty = match k {
                    FactKind::PersonBase => BASE_FACTS.get(i).map(|f| f.1),
                    FactKind::PersonDerived => self.derived.get(i).copied(),
                    FactKind::PersonState => PERSON_STATE_FACTS.get(i).map(|f| f.1),
                    FactKind::Household => HOUSEHOLD_FACTS.get(i).map(|f| f.1),
                    FactKind::Group => GROUP_FACTS.get(i).map(|f| f.1),
                    FactKind::Relation => Some(Type::Bool),
                };
                ty.map_or(Kind::Other, kind)
            }
            Expr::Param { id, key, .. } => match (self.params.get(*id as usize), key) {
                (Some(_), Some(_)) => Kind::Num,
                (Some((ty, _)), None) => kind(*ty),
                (None, _) => Kind::Other,
            },
            Expr::Not(_) | Expr::In { .. } => Kind::Bool,
            Expr::Neg(_) => Kind::Num,
            Expr::Binary { op, .. } => match op {
                BinOp::Add | BinOp::Sub | BinOp::Mul => Kind::Num,
                _ => Kind::Bool,
            },
            Expr::Aggregate { func, .. } => match func {
                Aggregate::Any | Aggregate::All => Kind::Bool,
                Aggregate::Count | Aggregate::Sum => Kind::Num,
            },
            Expr::Call { func, .. } => match func {
                Func::Min | Func::Max | Func::SumLe => Kind::Num,
                _ => Kind::Bool,
            },
        }
    }

    /// Compiles a rule's expression as a condition or an amount, by the rule's type.
    pub(crate) fn rule(&self, rule: &Rule) -> Code {
        let node = match self.kind_of(&rule.expr) {
            Kind::Bool => Node::Bool(self.boolean(&rule.expr)),
            Kind::Num => Node::Num(self.num(&rule.expr)),
            _ => return Code(None),
        };
        Code(Some(Arc::new(node)))
    }

    fn boolean(&self, e: &Expr) -> Fun<bool> {
        if self.kind_of(e) != Kind::Bool {
            return Box::new(|_, _| false);
        }
        match e {
            Expr::Bool(b) => {
                let b = *b;
                Box::new(move |_, _| b)
            }
            Expr::Fact { kind: k, id, .. } => match k {
                FactKind::PersonBase => {
                    let read: fn(&PersonFacts) -> bool = match base_name(*id) {
                        "student" => |f| f.student,
                        "major_12m" => |f| f.major_12m,
                        "major_recent" => |f| f.major_recent,
                        "major_before_recent" => |f| f.major_before_recent,
                        "chronic_12m" => |f| f.chronic_12m,
                        "nonresidential_property" => |f| f.nonresidential_property,
                        "property_recent" => |f| f.property_recent,
                        "business_recent" => |f| f.business_recent,
                        "status_recent" => |f| f.status_recent,
                        _ => |_| false,
                    };
                    Box::new(move |env, fr| fr.person.is_some_and(|p| read(env.people[p])))
                }
                FactKind::PersonDerived => {
                    let id = *id as usize;
                    Box::new(move |env, fr| {
                        fr.person
                            .is_some_and(|p| env.derived_of(p, id).is_some_and(|v| v.truth()))
                    })
                }
                FactKind::PersonState => match *id {
                    0 => Box::new(|env, fr| fr.person.is_some_and(|p| env.tekun[p])),
                    2 => Box::new(|env, fr| fr.person.is_some_and(|p| env.single[p])),
                    _ => Box::new(|_, _| false),
                },
                FactKind::Relation => {
                    let id = *id;
                    Box::new(move |env, fr| env.relation(id, fr))
                }
                _ => Box::new(|_, _| false),
            },
            Expr::Not(x) => {
                // `not has(…)`, `not subset(…)`, `not overlaps(…)`: one node testing the negation.
                if let Expr::Call {
                    func: func @ (Func::Has | Func::Subset | Func::Overlaps),
                    args,
                } = &**x
                {
                    return self.code_test(*func, args, true);
                }
                let x = self.boolean(x);
                Box::new(move |env, fr| !x(env, fr))
            }
            Expr::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs),
            Expr::In { value, list } => {
                if self.kind_of(value) != Kind::Code {
                    return Box::new(|_, _| false);
                }
                let value = self.code(value);
                let list = self.code_set(list);
                Box::new(move |env, fr| {
                    let c = value(env, fr);
                    list(env, fr) & (1 << (c & 63)) != 0
                })
            }
            Expr::Aggregate { func, over, body } => {
                let over = *over;
                let Some(body) = body.as_deref().map(|b| self.boolean(b)) else {
                    // `any(C)` and `all(C)` without a body: the interpreter's value.
                    return match func {
                        Aggregate::All => {
                            Box::new(move |env, fr| env.persons(over, fr).next().is_none())
                        }
                        _ => Box::new(|_, _| false),
                    };
                };
                match func {
                    Aggregate::Any => in_slice!(
                        over,
                        any_in(body),
                        Box::new(move |env, fr| {
                            env.persons(over, fr).any(|p| body(env, &fr.inner(p)))
                        })
                    ),
                    _ => in_slice!(
                        over,
                        all_in(body),
                        Box::new(move |env, fr| {
                            env.persons(over, fr).all(|p| body(env, &fr.inner(p)))
                        })
                    ),
                }
            }
            Expr::Call { func, args } => self.call_bool(*func, args),
            _ => Box::new(|_, _| false),
        }
    }

    fn binary(&self, op: BinOp, lhs: &Expr, rhs: &Expr) -> Fun<bool> {
        if matches!(op, BinOp::And | BinOp::Or) {
            // A chain `a and b and c …` is one node over its operands, left to right.
            let mut parts = Vec::new();
            self.chain(op, lhs, &mut parts);
            self.chain(op, rhs, &mut parts);
            let and = op == BinOp::And;
            let mut parts = parts.into_iter();
            return match (parts.next(), parts.next(), parts.next(), parts.len()) {
                (Some(a), Some(b), None, _) => {
                    if and {
                        Box::new(move |env, fr| a(env, fr) && b(env, fr))
                    } else {
                        Box::new(move |env, fr| a(env, fr) || b(env, fr))
                    }
                }
                (Some(a), Some(b), Some(c), 0) => {
                    if and {
                        Box::new(move |env, fr| a(env, fr) && b(env, fr) && c(env, fr))
                    } else {
                        Box::new(move |env, fr| a(env, fr) || b(env, fr) || c(env, fr))
                    }
                }
                (Some(a), Some(b), Some(c), _) => {
                    let all: Box<[Fun<bool>]> = [a, b, c].into_iter().chain(parts).collect();
                    if and {
                        Box::new(move |env, fr| all.iter().all(|f| f(env, fr)))
                    } else {
                        Box::new(move |env, fr| all.iter().any(|f| f(env, fr)))
                    }
                }
                // A chain has at least two operands.
                _ => Box::new(move |_, _| and),
            };
        }
        let (lk, rk) = (self.kind_of(lhs), self.kind_of(rhs));
        if matches!(op, BinOp::Eq | BinOp::Ne) {
            let ne = op == BinOp::Ne;
            return match (lk, rk) {
                (Kind::Num, Kind::Num) => {
                    let (l, r) = (self.operand(lhs), self.operand(rhs));
                    Box::new(move |env, fr| l.get(env, fr).cmp_num(r.get(env, fr)).is_eq() != ne)
                }
                (Kind::Bool, Kind::Bool) => {
                    let (l, r) = (self.boolean(lhs), self.boolean(rhs));
                    Box::new(move |env, fr| (l(env, fr) == r(env, fr)) != ne)
                }
                (Kind::Code, Kind::Code) => {
                    // A constant on either side is the usual case (`tier == dibao`).
                    if let Expr::Code { id, .. } = rhs {
                        let (l, c) = (self.code(lhs), *id);
                        Box::new(move |env, fr| (l(env, fr) == c) != ne)
                    } else {
                        let (l, r) = (self.code(lhs), self.code(rhs));
                        Box::new(move |env, fr| (l(env, fr) == r(env, fr)) != ne)
                    }
                }
                _ => Box::new(move |_, _| ne),
            };
        }
        let test = Accept::of(op);
        // A person's whole-number fact against a whole-number constant (`age >= 60`) is one
        // closure reading the field.
        if let (
            Expr::Fact {
                kind: FactKind::PersonBase,
                id,
                ..
            },
            Expr::Num(Num { v, scale: 0 }),
        ) = (lhs, rhs)
        {
            let v = *v;
            macro_rules! compare {
                ($read:expr) => {{
                    let f: Fun<bool> = Box::new(move |env, fr| match fr.person {
                        Some(p) => test.holds(i128::from($read(env.people[p])).cmp(&v)),
                        None => test.holds(0.cmp(&v)),
                    });
                    f
                }};
            }
            if let Some(f) = int_fact!(base_name(*id), compare) {
                return f;
            }
        }
        // A whole-number constant on the right is compared without rescaling.
        if let Expr::Num(Num { v, scale: 0 }) = rhs
            && lk == Kind::Num
        {
            let (l, v) = (self.operand(lhs), *v);
            return Box::new(move |env, fr| {
                let a = l.get(env, fr);
                test.holds(if a.scale == 0 {
                    a.v.cmp(&v)
                } else {
                    a.cmp_num(Num { v, scale: 0 })
                })
            });
        }
        let (l, r) = (self.operand(lhs), self.operand(rhs));
        Box::new(move |env, fr| test.holds(l.get(env, fr).cmp_num(r.get(env, fr))))
    }

    /// `has`, `subset` or `overlaps`, or its negation when `neg`.
    fn code_test(&self, func: Func, args: &[Expr], neg: bool) -> Fun<bool> {
        let kind_at = |i: usize| args.get(i).map_or(Kind::Other, |a| self.kind_of(a));
        match func {
            Func::Has => {
                if kind_at(0) != Kind::Codes || kind_at(1) != Kind::Code {
                    return Box::new(move |_, _| neg);
                }
                let set = self.codes_operand(&args[0]);
                if let Expr::Code { id, .. } = &args[1] {
                    let bit = 1u64 << (id & 63);
                    return Box::new(move |env, fr| (set.get(env, fr) & bit != 0) != neg);
                }
                let code = self.code(&args[1]);
                Box::new(move |env, fr| {
                    (set.get(env, fr) & (1 << (code(env, fr) & 63)) != 0) != neg
                })
            }
            Func::Subset | Func::Overlaps => {
                if kind_at(0) != Kind::Codes {
                    return Box::new(move |_, _| neg);
                }
                let set = self.codes_operand(&args[0]);
                let list = match args.get(1) {
                    Some(l) => self.code_set_operand(l),
                    None => Codes::Const(0),
                };
                if func == Func::Subset {
                    Box::new(move |env, fr| (set.get(env, fr) & !list.get(env, fr) == 0) != neg)
                } else {
                    Box::new(move |env, fr| (set.get(env, fr) & list.get(env, fr) != 0) != neg)
                }
            }
            _ => Box::new(move |_, _| neg),
        }
    }

    /// A code set operand as [`Types::codes`] compiles it, read in place for the usual facts.
    fn codes_operand(&self, e: &Expr) -> Codes {
        if self.kind_of(e) != Kind::Codes {
            return Codes::Const(0);
        }
        match e {
            Expr::Fact {
                kind: FactKind::PersonBase,
                id,
                ..
            } => match base_name(*id) {
                "running" => Codes::Running,
                "running_at_death" => Codes::RunningAtDeath,
                "active_vehicle_types" => Codes::Vehicles,
                "recent_vehicle_types" => Codes::RecentVehicles,
                _ => Codes::Const(0),
            },
            Expr::Fact {
                kind: FactKind::Household,
                id: 0,
                ..
            } => Codes::RunningPrograms,
            _ => Codes::Other(self.codes(e)),
        }
    }

    /// A code set operand as [`Types::code_set`] compiles it: a list of code words is one
    /// constant mask.
    fn code_set_operand(&self, e: &Expr) -> Codes {
        if let Expr::List(items) = e {
            let constant = items
                .iter()
                .all(|i| matches!(i, Expr::Code { .. }) || self.kind_of(i) != Kind::Code);
            if !constant {
                return Codes::Other(self.code_set(e));
            }
            return Codes::Const(items.iter().fold(0u64, |m, i| match i {
                Expr::Code { id, .. } => m | (1 << (id & 63)),
                _ => m,
            }));
        }
        self.codes_operand(e)
    }

    /// The operands of a chain of one boolean operator, left to right.
    fn chain(&self, op: BinOp, e: &Expr, parts: &mut Vec<Fun<bool>>) {
        match e {
            Expr::Binary { op: o, lhs, rhs } if *o == op => {
                self.chain(op, lhs, parts);
                self.chain(op, rhs, parts);
            }
            _ => parts.push(self.boolean(e)),
        }
    }

    /// A number operand, read in place when it is a constant, a plain parameter, or a count or
    /// money total of the members or of H′.
    fn operand(&self, e: &Expr) -> Operand {
        if self.kind_of(e) != Kind::Num {
            return Operand::Const(Num::int(0));
        }
        match e {
            Expr::Num(n) => Operand::Const(*n),
            Expr::Param { id, key: None, .. } => Operand::Param(*id as usize),
            Expr::Aggregate {
                func: Aggregate::Count,
                over,
                body: None,
            } => match over {
                Collection::Members => Operand::MemberCount,
                Collection::NonTekun => Operand::NonTekunCount,
                _ => Operand::Other(self.num(e)),
            },
            Expr::Aggregate {
                func: Aggregate::Sum,
                over,
                body: Some(b),
            } => {
                let slot = match &**b {
                    Expr::Fact {
                        kind: FactKind::PersonBase,
                        id,
                        ..
                    } => super::money_slot(*id),
                    _ => None,
                };
                match (over, slot) {
                    (Collection::Members, Some(s)) => Operand::MemberSum(s),
                    (Collection::NonTekun, Some(s)) => Operand::NonTekunSum(s),
                    _ => Operand::Other(self.num(e)),
                }
            }
            _ => Operand::Other(self.num(e)),
        }
    }

    fn call_bool(&self, func: Func, args: &[Expr]) -> Fun<bool> {
        let kind_at = |i: usize| args.get(i).map_or(Kind::Other, |a| self.kind_of(a));
        match func {
            Func::Has | Func::Subset | Func::Overlaps => self.code_test(func, args, false),
            Func::AnyGt => {
                if kind_at(0) != Kind::List {
                    return Box::new(|_, _| false);
                }
                let list = self.list(&args[0]);
                let limit = self.num_arg(args, 1);
                Box::new(move |env, fr| {
                    let limit = limit(env, fr);
                    list(env, fr)
                        .iter()
                        .any(|f| Num::int(f.0).cmp_num(limit).is_gt())
                })
            }
            Func::AssetsPass => {
                let (Some(Expr::Collection(c)), Some(level)) = (args.first(), args.get(1)) else {
                    return Box::new(|_, _| false);
                };
                if self.kind_of(level) != Kind::Code {
                    return Box::new(|_, _| false);
                }
                let (c, level) = (*c, self.code(level));
                Box::new(move |env, fr| env.assets_pass(c, fr, level(env, fr)))
            }
            Func::Signal => match args.first() {
                Some(Expr::Code { id, .. }) => {
                    let id = *id as usize;
                    Box::new(move |env, _| env.fired.get(id).copied().unwrap_or(false))
                }
                _ => Box::new(|_, _| false),
            },
            Func::Min | Func::Max | Func::SumLe => Box::new(|_, _| false),
        }
    }

    fn num_arg(&self, args: &[Expr], i: usize) -> Fun<Num> {
        match args.get(i) {
            Some(a) => self.num(a),
            None => Box::new(|_, _| Num::int(0)),
        }
    }

    fn num(&self, e: &Expr) -> Fun<Num> {
        if self.kind_of(e) != Kind::Num {
            return Box::new(|_, _| Num::int(0));
        }
        match e {
            Expr::Num(n) => {
                let n = *n;
                Box::new(move |_, _| n)
            }
            Expr::Fact { kind: k, id, .. } => self.num_fact(*k, *id),
            Expr::Param { id, key, .. } => {
                let id = *id as usize;
                match key {
                    None => Box::new(move |env, _| match env.params.get(id) {
                        Some(crate::pack::Resolved::Num(n)) => *n,
                        _ => Num::int(0),
                    }),
                    Some(ParamKey::Fixed(word)) => {
                        let index = self
                            .params
                            .get(id)
                            .and_then(|(_, keys)| *keys)
                            .and_then(|d| d.index(word));
                        Box::new(move |env, _| table(env, id, index))
                    }
                    Some(ParamKey::Dynamic(x)) => {
                        if self.kind_of(x) != Kind::Code {
                            return Box::new(move |env, _| table(env, id, None));
                        }
                        let x = self.code(x);
                        Box::new(move |env, fr| table(env, id, Some(x(env, fr))))
                    }
                }
            }
            Expr::Neg(x) => {
                let x = self.num(x);
                Box::new(move |env, fr| Num::int(0).minus(x(env, fr)))
            }
            Expr::Binary { op, lhs, rhs } => {
                let (l, r) = (self.operand(lhs), self.operand(rhs));
                match op {
                    BinOp::Add => Box::new(move |env, fr| l.get(env, fr).plus(r.get(env, fr))),
                    BinOp::Sub => Box::new(move |env, fr| l.get(env, fr).minus(r.get(env, fr))),
                    _ => Box::new(move |env, fr| l.get(env, fr).times(r.get(env, fr))),
                }
            }
            Expr::Aggregate { func, over, body } => {
                let over = *over;
                match (func, body.as_deref()) {
                    (Aggregate::Count, None) => match over {
                        Collection::Members => Box::new(|env, _| Num::int(env.living.len() as i64)),
                        Collection::NonTekun => {
                            Box::new(|env, _| Num::int(env.non_tekun.len() as i64))
                        }
                        _ => {
                            Box::new(move |env, fr| Num::int(env.persons(over, fr).count() as i64))
                        }
                    },
                    (Aggregate::Count, Some(b)) => {
                        let b = self.boolean(b);
                        in_slice!(
                            over,
                            count_in(b),
                            Box::new(move |env, fr| {
                                Num::int(
                                    env.persons(over, fr)
                                        .filter(|&p| b(env, &fr.inner(p)))
                                        .count() as i64,
                                )
                            })
                        )
                    }
                    (_, None) => Box::new(|_, _| Num::int(0)),
                    (_, Some(b)) => {
                        // A sum of one base money fact (`sum(members, income)`) reads it directly,
                        // or reads the total kept for the members and for H′.
                        if let Expr::Fact {
                            kind: FactKind::PersonBase,
                            id,
                            ..
                        } = b
                        {
                            let slot = super::money_slot(*id);
                            match (over, slot) {
                                (Collection::Members, Some(s)) => {
                                    return Box::new(move |env, _| Num {
                                        v: env.member_sums[s],
                                        scale: 0,
                                    });
                                }
                                (Collection::NonTekun, Some(s)) => {
                                    return Box::new(move |env, _| Num {
                                        v: env.non_tekun_sums[s],
                                        scale: 0,
                                    });
                                }
                                _ => {}
                            }
                            macro_rules! sum {
                                ($read:expr) => {{
                                    let read = $read;
                                    let f: Fun<Num> = in_slice!(
                                        over,
                                        sum_field_in(read),
                                        Box::new(move |env, fr| {
                                            let total =
                                                env.persons(over, fr).fold(0i128, |acc, p| {
                                                    acc.saturating_add(i128::from(read(
                                                        env.people[p],
                                                    )))
                                                });
                                            Num { v: total, scale: 0 }
                                        })
                                    );
                                    f
                                }};
                            }
                            if let Some(f) = money_fact!(base_name(*id), sum) {
                                return f;
                            }
                        }
                        let b = self.num(b);
                        in_slice!(
                            over,
                            sum_in(b),
                            Box::new(move |env, fr| {
                                env.persons(over, fr)
                                    .fold(Num::int(0), |acc, p| acc.plus(b(env, &fr.inner(p))))
                            })
                        )
                    }
                }
            }
            Expr::Call { func, args } => match func {
                Func::Min | Func::Max => {
                    let (a, b) = (self.num_arg(args, 0), self.num_arg(args, 1));
                    let min = *func == Func::Min;
                    Box::new(move |env, fr| {
                        let (a, b) = (a(env, fr), b(env, fr));
                        if a.cmp_num(b).is_le() == min { a } else { b }
                    })
                }
                Func::SumLe => {
                    if args.first().map(|a| self.kind_of(a)) != Some(Kind::List) {
                        return Box::new(|_, _| Num::int(0));
                    }
                    let list = self.list(&args[0]);
                    let limit = self.num_arg(args, 1);
                    Box::new(move |env, fr| {
                        let limit = limit(env, fr);
                        list(env, fr).iter().fold(Num::int(0), |acc, f| {
                            if Num::int(f.0).cmp_num(limit).is_le() {
                                acc.plus(Num::int(f.0))
                            } else {
                                acc
                            }
                        })
                    })
                }
                _ => Box::new(|_, _| Num::int(0)),
            },
            _ => Box::new(|_, _| Num::int(0)),
        }
    }

    fn num_fact(&self, k: FactKind, id: u16) -> Fun<Num> {
        match k {
            FactKind::PersonBase => {
                macro_rules! money {
                    ($read:expr) => {{
                        let f: Fun<Num> = Box::new(move |env, fr| {
                            fr.person.map_or(Num::int(0), |p| Num {
                                v: i128::from($read(env.people[p])),
                                scale: 0,
                            })
                        });
                        f
                    }};
                }
                if let Some(f) = money_fact!(base_name(id), money) {
                    return f;
                }
                let read: fn(&PersonFacts) -> Num = match base_name(id) {
                    "age" => |f| Num::int(f.age),
                    "disability_grade" => |f| Num::int(i64::from(f.disability_grade)),
                    "recent_disability_grade" => |f| Num::int(i64::from(f.recent_disability_grade)),
                    "employment_months_ago" => |f| Num::int(f.employment_months_ago),
                    "job_start_months_ago" => |f| Num::int(f.job_start_months_ago),
                    "utility_arrears_months" => |f| Num::int(f.utility_arrears_months),
                    "utility_months_ago" => |f| Num::int(f.utility_months_ago),
                    "electricity_kwh" => |f| Num {
                        v: i128::from(f.electricity_centi_kwh),
                        scale: 2,
                    },
                    "electricity_months_ago" => |f| Num::int(f.electricity_months_ago),
                    _ => |_| Num::int(0),
                };
                Box::new(move |env, fr| fr.person.map_or(Num::int(0), |p| read(env.people[p])))
            }
            FactKind::PersonDerived => {
                let id = id as usize;
                Box::new(move |env, fr| {
                    fr.person
                        .and_then(|p| env.derived_of(p, id))
                        .map_or(Num::int(0), |v| v.num())
                })
            }
            FactKind::PersonState => match id {
                1 => Box::new(|env, fr| {
                    fr.person
                        .map_or(Num::int(0), |p| Num::int(env.tekun_amount[p]))
                }),
                3 => Box::new(|env, fr| {
                    fr.person
                        .map_or(Num::int(0), |p| Num::int(env.single_amount[p]))
                }),
                _ => Box::new(|_, _| Num::int(0)),
            },
            FactKind::Household => match id {
                2 => Box::new(|env, _| Num::int(env.dibao_amount)),
                3 => Box::new(|env, _| {
                    Num::int(env.living.iter().filter(|&&i| env.tekun[i]).count() as i64)
                }),
                4 => Box::new(|env, _| {
                    Num::int(env.living.iter().filter(|&&i| env.single[i]).count() as i64)
                }),
                _ => Box::new(|_, _| Num::int(0)),
            },
            FactKind::Group => match id {
                1 => Box::new(|env, fr| Num::int(env.homes(fr.group.unwrap_or(&[])).0)),
                2 => Box::new(|env, fr| Num {
                    v: env.homes(fr.group.unwrap_or(&[])).1,
                    scale: 2,
                }),
                _ => Box::new(|_, _| Num::int(0)),
            },
            FactKind::Relation => Box::new(|_, _| Num::int(0)),
        }
    }

    fn code(&self, e: &Expr) -> Fun<u16> {
        if self.kind_of(e) != Kind::Code {
            return Box::new(|_, _| u16::MAX);
        }
        match e {
            Expr::Code { id, .. } => {
                let id = *id;
                Box::new(move |_, _| id)
            }
            Expr::Fact { kind: k, id, .. } => match k {
                FactKind::PersonBase => {
                    let slot = super::code_slot(*id);
                    Box::new(move |env, fr| match (fr.person, slot) {
                        (Some(p), Some(s)) => env.cache[p].codes[s],
                        _ => u16::MAX,
                    })
                }
                FactKind::PersonDerived => {
                    let id = *id as usize;
                    Box::new(
                        move |env, fr| match fr.person.and_then(|p| env.derived_of(p, id)) {
                            Some(super::Value::Code(c)) => *c,
                            _ => u16::MAX,
                        },
                    )
                }
                FactKind::Household => match *id {
                    1 => Box::new(|env, _| env.tier),
                    5 => Box::new(|env, _| env.level),
                    _ => Box::new(|_, _| u16::MAX),
                },
                FactKind::Group => Box::new(|_, fr| fr.level),
                _ => Box::new(|_, _| u16::MAX),
            },
            _ => Box::new(|_, _| u16::MAX),
        }
    }

    /// A code set: a list of code words (constant), a codes fact or a codes parameter.
    fn code_set(&self, e: &Expr) -> Fun<u64> {
        if let Expr::List(items) = e {
            let mut constant = 0u64;
            let mut dynamic = Vec::new();
            for item in items {
                match item {
                    Expr::Code { id, .. } => constant |= 1 << (id & 63),
                    other if self.kind_of(other) == Kind::Code => dynamic.push(self.code(other)),
                    _ => {}
                }
            }
            if dynamic.is_empty() {
                return Box::new(move |_, _| constant);
            }
            return Box::new(move |env, fr| {
                dynamic.iter().fold(constant, |m, c| {
                    let c = c(env, fr);
                    if c == u16::MAX {
                        m
                    } else {
                        m | (1 << (c & 63))
                    }
                })
            });
        }
        self.codes(e)
    }

    fn codes(&self, e: &Expr) -> Fun<u64> {
        if self.kind_of(e) != Kind::Codes {
            return Box::new(|_, _| 0);
        }
        match e {
            Expr::Fact {
                kind: FactKind::PersonBase,
                id,
                ..
            } => {
                let read: fn(&super::Cache) -> u64 = match base_name(*id) {
                    "running" => |c| c.running,
                    "running_at_death" => |c| c.running_at_death,
                    "active_vehicle_types" => |c| c.vehicles,
                    "recent_vehicle_types" => |c| c.recent_vehicles,
                    _ => |_| 0,
                };
                Box::new(move |env, fr| fr.person.map_or(0, |p| read(&env.cache[p])))
            }
            Expr::Fact {
                kind: FactKind::Household,
                id: 0,
                ..
            } => Box::new(|env, _| env.running_programs),
            Expr::Fact {
                kind: FactKind::PersonDerived,
                id,
                ..
            } => {
                let id = *id as usize;
                Box::new(
                    move |env, fr| match fr.person.and_then(|p| env.derived_of(p, id)) {
                        Some(super::Value::Codes(c)) => *c,
                        _ => 0,
                    },
                )
            }
            Expr::Param { id, key: None, .. } => {
                let id = *id as usize;
                Box::new(move |env, _| match env.params.get(id) {
                    Some(crate::pack::Resolved::Codes(c)) => *c,
                    _ => 0,
                })
            }
            _ => Box::new(|_, _| 0),
        }
    }

    fn list(&self, e: &Expr) -> ListFun {
        match e {
            Expr::Fact {
                kind: FactKind::PersonBase,
                id,
                ..
            } if base_name(*id) == "business_capitals" => Box::new(|env, fr| {
                fr.person
                    .map_or(&[][..], |p| &env.people[p].business_capitals[..])
            }),
            _ => Box::new(|_, _| &[][..]),
        }
    }
}

/// The name of a base fact.
fn base_name(id: u16) -> &'static str {
    BASE_FACTS.get(id as usize).map_or("", |f| f.0)
}

/// A number operand of a compiled comparison or arithmetic node: the common leaves are read
/// in place (the same values as their compiled closures give), other expressions are called.
enum Operand {
    /// A constant.
    Const(Num),
    /// A parameter without key.
    Param(usize),
    /// The total of a base money fact over the members ([`super::MONEY_FACTS`] slot).
    MemberSum(usize),
    /// The same over H′.
    NonTekunSum(usize),
    /// `count(members)`.
    MemberCount,
    /// `count(non_tekun)`.
    NonTekunCount,
    /// Any other number expression.
    Other(Fun<Num>),
}

impl Operand {
    #[inline(always)]
    fn get(&self, env: &Env<'_>, fr: &Frame<'_>) -> Num {
        match self {
            Operand::Const(n) => *n,
            Operand::Param(id) => match env.params.get(*id) {
                Some(crate::pack::Resolved::Num(n)) => *n,
                _ => Num::int(0),
            },
            Operand::MemberSum(s) => Num {
                v: env.member_sums[*s],
                scale: 0,
            },
            Operand::NonTekunSum(s) => Num {
                v: env.non_tekun_sums[*s],
                scale: 0,
            },
            Operand::MemberCount => Num::int(env.living.len() as i64),
            Operand::NonTekunCount => Num::int(env.non_tekun.len() as i64),
            Operand::Other(f) => f(env, fr),
        }
    }
}

/// A code set operand of a compiled test: constants and the usual facts are read in place.
enum Codes {
    /// A constant set.
    Const(u64),
    /// The person's `running`.
    Running,
    /// The person's `running_at_death`.
    RunningAtDeath,
    /// The person's `active_vehicle_types`.
    Vehicles,
    /// The person's `recent_vehicle_types`.
    RecentVehicles,
    /// The household's `running_programs`.
    RunningPrograms,
    /// Any other code set expression.
    Other(Fun<u64>),
}

impl Codes {
    #[inline(always)]
    fn get(&self, env: &Env<'_>, fr: &Frame<'_>) -> u64 {
        let cache = |read: fn(&super::Cache) -> u64| fr.person.map_or(0, |p| read(&env.cache[p]));
        match self {
            Codes::Const(c) => *c,
            Codes::Running => cache(|c| c.running),
            Codes::RunningAtDeath => cache(|c| c.running_at_death),
            Codes::Vehicles => cache(|c| c.vehicles),
            Codes::RecentVehicles => cache(|c| c.recent_vehicles),
            Codes::RunningPrograms => env.running_programs,
            Codes::Other(f) => f(env, fr),
        }
    }
}

/// The orderings a comparison accepts, as bits (less, equal, greater), so that a compiled
/// comparison tests its ordering without calling through a pointer.
#[derive(Clone, Copy)]
struct Accept(u8);

impl Accept {
    fn of(op: BinOp) -> Accept {
        Accept(match op {
            BinOp::Lt => 0b001,
            BinOp::Le => 0b011,
            BinOp::Gt => 0b100,
            _ => 0b110,
        })
    }

    fn holds(self, o: std::cmp::Ordering) -> bool {
        // Less, Equal and Greater are -1, 0 and 1: bits 0, 1 and 2.
        (self.0 >> (o as i8 + 1)) & 1 != 0
    }
}

fn table(env: &Env<'_>, id: usize, index: Option<u16>) -> Num {
    match (env.params.get(id), index) {
        (Some(crate::pack::Resolved::Table(t)), Some(i)) => {
            t.get(i as usize).copied().unwrap_or(Num::int(0))
        }
        _ => Num::int(0),
    }
}

impl<'a> Env<'a> {
    /// The persons of a collection in a frame, without allocating.
    fn persons<'s>(&'s self, c: Collection, fr: &Frame<'s>) -> Persons<'s> {
        let none: &[usize] = &[];
        match c {
            Collection::Members => Persons::Slice(self.living.iter()),
            Collection::NonTekun => Persons::Slice(self.non_tekun.iter()),
            Collection::Group => Persons::Slice(fr.group.unwrap_or(none).iter()),
            Collection::Obligors => {
                Persons::Slice(fr.person.map_or(none, |p| self.obligors_of(p)).iter())
            }
            Collection::Parents => {
                Persons::Slice(fr.person.map_or(none, |p| self.parents_of(p)).iter())
            }
            Collection::OtherNonTekun => Persons::Except(self.non_tekun.iter(), fr.person),
            Collection::Myself => Persons::One(fr.person),
        }
    }
}

/// The persons of a collection.
enum Persons<'s> {
    Slice(std::slice::Iter<'s, usize>),
    Except(std::slice::Iter<'s, usize>, Option<usize>),
    One(Option<usize>),
}

impl Iterator for Persons<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        match self {
            Persons::Slice(it) => it.next().copied(),
            Persons::Except(it, skip) => it.by_ref().copied().find(|&i| Some(i) != *skip),
            Persons::One(p) => p.take(),
        }
    }
}

impl Frame<'_> {
    /// The frame of a person inside an aggregate over a collection.
    fn inner(&self, p: usize) -> Frame<'_> {
        Frame {
            person: Some(p),
            outer: self.person,
            group: None,
            level: self.level,
        }
    }
}

/// A collection whose persons are a slice of the environment or of the frame: an aggregate
/// compiled for it walks the slice directly.
trait SliceOf: Copy + Send + Sync + 'static {
    fn slice<'r>(self, env: &'r Env<'_>, fr: &'r Frame<'_>) -> &'r [usize];
}

/// The living members.
#[derive(Clone, Copy)]
struct InMembers;

/// H′: the living members who are not tekun.
#[derive(Clone, Copy)]
struct InNonTekun;

/// The group of an asset rule.
#[derive(Clone, Copy)]
struct InGroup;

/// The obligors of the frame's person.
#[derive(Clone, Copy)]
struct InObligors;

/// The parents of the frame's person.
#[derive(Clone, Copy)]
struct InParents;

impl SliceOf for InMembers {
    fn slice<'r>(self, env: &'r Env<'_>, _: &'r Frame<'_>) -> &'r [usize] {
        &env.living
    }
}

impl SliceOf for InNonTekun {
    fn slice<'r>(self, env: &'r Env<'_>, _: &'r Frame<'_>) -> &'r [usize] {
        &env.non_tekun
    }
}

impl SliceOf for InGroup {
    fn slice<'r>(self, _: &'r Env<'_>, fr: &'r Frame<'_>) -> &'r [usize] {
        fr.group.unwrap_or(&[])
    }
}

impl SliceOf for InObligors {
    fn slice<'r>(self, env: &'r Env<'_>, fr: &'r Frame<'_>) -> &'r [usize] {
        fr.person.map_or(&[], |p| env.obligors_of(p))
    }
}

impl SliceOf for InParents {
    fn slice<'r>(self, env: &'r Env<'_>, fr: &'r Frame<'_>) -> &'r [usize] {
        fr.person.map_or(&[], |p| env.parents_of(p))
    }
}

/// `any(C, body)` over a slice collection.
fn any_in<S: SliceOf>(c: S, body: Fun<bool>) -> Fun<bool> {
    Box::new(move |env, fr| c.slice(env, fr).iter().any(|&p| body(env, &fr.inner(p))))
}

/// `all(C, body)` over a slice collection.
fn all_in<S: SliceOf>(c: S, body: Fun<bool>) -> Fun<bool> {
    Box::new(move |env, fr| c.slice(env, fr).iter().all(|&p| body(env, &fr.inner(p))))
}

/// `count(C, body)` over a slice collection.
fn count_in<S: SliceOf>(c: S, body: Fun<bool>) -> Fun<Num> {
    Box::new(move |env, fr| {
        Num::int(
            c.slice(env, fr)
                .iter()
                .filter(|&&p| body(env, &fr.inner(p)))
                .count() as i64,
        )
    })
}

/// `sum(C, body)` over a slice collection.
fn sum_in<S: SliceOf>(c: S, body: Fun<Num>) -> Fun<Num> {
    Box::new(move |env, fr| {
        c.slice(env, fr)
            .iter()
            .fold(Num::int(0), |acc, &p| acc.plus(body(env, &fr.inner(p))))
    })
}

/// `sum(C, fact)` of a base money fact over a slice collection, reading the field directly.
fn sum_field_in<S, R>(c: S, read: R) -> Fun<Num>
where
    S: SliceOf,
    R: Fn(&PersonFacts) -> i64 + Copy + Send + Sync + 'static,
{
    Box::new(move |env, fr| {
        let total = c.slice(env, fr).iter().fold(0i128, |acc, &p| {
            acc.saturating_add(i128::from(read(env.people[p])))
        });
        Num { v: total, scale: 0 }
    })
}
