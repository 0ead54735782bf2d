//! The type checker of pack expressions: resolves every name to a fact, a parameter or a code
//! word, and gives each expression its type, or a plain message saying what is wrong.

use crate::expr::{Aggregate, BinOp, Collection, Expr, FactKind, Func, ParamKey};
use crate::facts::{
    BASE_FACTS, Domain, GROUP_FACTS, HOUSEHOLD_FACTS, PERSON_STATE_FACTS, RELATION_FACTS, Stage,
    Type,
};
use crate::pack::{ParamDecl, Unit};

/// What an expression may read where it is written.
#[derive(Debug, Clone, Copy)]
pub struct Scope {
    /// A current person exists.
    pub person: bool,
    /// Inside an aggregate started from a person (relations to the outer person allowed).
    pub outer: bool,
    /// A group under an asset test exists.
    pub group: bool,
    /// What the evaluator knows already.
    pub stage: Stage,
}

/// The names the checker resolves against.
pub struct Names<'a> {
    /// Base facts the pack declares (indices into [`BASE_FACTS`]).
    pub declared: &'a [u16],
    /// Derived person facts defined so far, with types.
    pub derived: &'a [(String, Type)],
    /// Parameters.
    pub params: &'a [ParamDecl],
    /// Signal codes.
    pub signals: &'a [String],
}

impl Names<'_> {
    fn known(&self, name: &str, scope: Scope) -> bool {
        let mut probe = Expr::Name(name.to_owned());
        self.resolve(&mut probe, scope, None).is_ok()
    }

    fn resolve(&self, e: &mut Expr, scope: Scope, hint: Option<Type>) -> Result<Type, String> {
        let Expr::Name(name) = e else {
            return Err("internal: not a name".into());
        };
        let name = name.clone();
        // Where a code is expected, a word of its domain is that code (`has(running, tekun)`).
        if let Some(Type::Code(d)) = hint
            && let Some(id) = d.index(&name)
        {
            *e = Expr::Code {
                domain: d.name().to_owned(),
                value: name,
                id,
            };
            return Ok(Type::Code(d));
        }
        if scope.person {
            if let Some(i) = BASE_FACTS.iter().position(|f| f.0 == name) {
                if !self.declared.contains(&(i as u16)) {
                    return Err(format!("fact `{name}` is not declared in `facts`"));
                }
                *e = Expr::Fact {
                    name,
                    kind: FactKind::PersonBase,
                    id: i as u16,
                };
                return Ok(BASE_FACTS[i].1);
            }
            if let Some(i) = self.derived.iter().position(|f| f.0 == name) {
                let ty = self.derived[i].1;
                *e = Expr::Fact {
                    name,
                    kind: FactKind::PersonDerived,
                    id: i as u16,
                };
                return Ok(ty);
            }
            if let Some(i) = PERSON_STATE_FACTS.iter().position(|f| f.0 == name) {
                let (_, ty, stage, _) = PERSON_STATE_FACTS[i];
                if stage > scope.stage {
                    return Err(format!("`{name}` is not decided yet where this rule runs"));
                }
                *e = Expr::Fact {
                    name,
                    kind: FactKind::PersonState,
                    id: i as u16,
                };
                return Ok(ty);
            }
        }
        if scope.outer
            && let Some(i) = RELATION_FACTS.iter().position(|f| f.0 == name)
        {
            *e = Expr::Fact {
                name,
                kind: FactKind::Relation,
                id: i as u16,
            };
            return Ok(Type::Bool);
        }
        if scope.group
            && let Some(i) = GROUP_FACTS.iter().position(|f| f.0 == name)
        {
            let ty = GROUP_FACTS[i].1;
            *e = Expr::Fact {
                name,
                kind: FactKind::Group,
                id: i as u16,
            };
            return Ok(ty);
        }
        if let Some(i) = HOUSEHOLD_FACTS.iter().position(|f| f.0 == name) {
            let (_, ty, stage, _) = HOUSEHOLD_FACTS[i];
            if stage > scope.stage {
                return Err(format!("`{name}` is not decided yet where this rule runs"));
            }
            *e = Expr::Fact {
                name,
                kind: FactKind::Household,
                id: i as u16,
            };
            return Ok(ty);
        }
        if let Some(i) = self.params.iter().position(|p| p.name == name) {
            let p = &self.params[i];
            if p.keys.is_some() {
                return Err(format!(
                    "parameter `{name}` is a table: write `{name}.KEY` or `{name}[EXPR]`"
                ));
            }
            let ty = p.unit.value_type();
            *e = Expr::Param {
                name,
                id: i as u16,
                key: None,
            };
            return Ok(ty);
        }
        if let Some(Type::Code(d)) = hint {
            return match d.index(&name) {
                Some(id) => {
                    *e = Expr::Code {
                        domain: d.name().to_owned(),
                        value: name,
                        id,
                    };
                    Ok(Type::Code(d))
                }
                None => Err(format!(
                    "`{name}` is not a {} code (one of: {})",
                    d.name(),
                    d.words().join(", ")
                )),
            };
        }
        if scope.person || scope.group {
            Err(format!("unknown fact or parameter `{name}`"))
        } else if BASE_FACTS.iter().any(|f| f.0 == name) {
            Err(format!(
                "`{name}` is a person fact; here it needs an aggregate such as any(members, …)"
            ))
        } else {
            Err(format!("unknown fact or parameter `{name}`"))
        }
    }

    /// Checks an expression in a scope, resolving its names; returns its type.
    pub fn check(&self, e: &mut Expr, scope: Scope, hint: Option<Type>) -> Result<Type, String> {
        match e {
            Expr::Bool(_) => Ok(Type::Bool),
            Expr::Num(n) => Ok(if n.scale == 0 { Type::Int } else { Type::Ratio }),
            Expr::Name(_) => self.resolve(e, scope, hint),
            Expr::Code { .. } | Expr::Fact { .. } => Err("internal: already checked".into()),
            Expr::Collection(c) => Err(format!("collection `{}` used as a value", c.name())),
            Expr::Param { name, id, key } => {
                let Some(i) = self.params.iter().position(|p| p.name == *name) else {
                    return Err(format!("unknown parameter `{name}`"));
                };
                let p = &self.params[i];
                *id = i as u16;
                let Some(domain) = p.keys else {
                    return Err(format!("parameter `{name}` is not a table"));
                };
                match key {
                    Some(ParamKey::Fixed(k)) => {
                        if domain.index(k).is_none() {
                            return Err(format!(
                                "`{k}` is not a key of `{name}` (one of: {})",
                                domain.words().join(", ")
                            ));
                        }
                    }
                    Some(ParamKey::Dynamic(k)) => {
                        let t = self.check(k, scope, Some(Type::Code(domain)))?;
                        if t != Type::Code(domain) {
                            return Err(format!(
                                "the key of `{name}` must be a {} code, not {}",
                                domain.name(),
                                t.name()
                            ));
                        }
                    }
                    None => return Err(format!("parameter `{name}` needs a key")),
                }
                Ok(p.unit.value_type())
            }
            Expr::List(_) => Err("a list is only allowed after `in` or in subset/overlaps".into()),
            Expr::Not(x) => {
                expect(self.check(x, scope, None)?, Type::Bool, "`not`")?;
                Ok(Type::Bool)
            }
            Expr::Neg(x) => {
                let t = self.check(x, scope, None)?;
                if is_number(t) {
                    Ok(t)
                } else {
                    Err(format!("cannot negate {}", t.name()))
                }
            }
            Expr::Binary { op, lhs, rhs } => {
                let op = *op;
                let (l, r) = if matches!(**lhs, Expr::Name(ref n) if !self.known(n, scope)) {
                    let r = self.check(rhs, scope, None)?;
                    let l = self.check(lhs, scope, Some(r))?;
                    (l, r)
                } else {
                    let l = self.check(lhs, scope, None)?;
                    let r = self.check(rhs, scope, Some(l))?;
                    (l, r)
                };
                let (l, r) = literal_adapts(lhs, rhs, l, r);
                binary_type(op, l, r)
            }
            Expr::In { value, list } => {
                let t = self.check(value, scope, None)?;
                let Type::Code(d) = t else {
                    return Err(format!("`in` needs a code on its left, not {}", t.name()));
                };
                self.check_code_list(list, scope, d)?;
                Ok(Type::Bool)
            }
            Expr::Aggregate { func, over, body } => {
                self.check_collection(*over, scope)?;
                let inner = Scope {
                    person: true,
                    outer: scope.person,
                    group: false,
                    stage: scope.stage,
                };
                match (func, body) {
                    (Aggregate::Count, None) => Ok(Type::Int),
                    (Aggregate::Sum, Some(b)) => {
                        let t = self.check(b, inner, None)?;
                        if is_number(t) {
                            Ok(t)
                        } else {
                            Err(format!("`sum` needs a number, not {}", t.name()))
                        }
                    }
                    (f, Some(b)) => {
                        expect(self.check(b, inner, None)?, Type::Bool, "the condition")?;
                        Ok(if *f == Aggregate::Count {
                            Type::Int
                        } else {
                            Type::Bool
                        })
                    }
                    (_, None) => Err("aggregate without an expression".into()),
                }
            }
            Expr::Call { func, args } => self.check_call(*func, args, scope),
        }
    }

    fn check_collection(&self, c: Collection, scope: Scope) -> Result<(), String> {
        if c.needs_person() && !scope.person {
            return Err(format!("`{}` needs a current person", c.name()));
        }
        if c == Collection::Group && !scope.group {
            return Err("`group` is only known in asset reasons".into());
        }
        if matches!(c, Collection::NonTekun | Collection::OtherNonTekun)
            && scope.stage < Stage::Tekun
        {
            return Err(format!(
                "`{}` is not decided yet where this rule runs",
                c.name()
            ));
        }
        Ok(())
    }

    fn check_code_list(&self, list: &mut Expr, scope: Scope, d: Domain) -> Result<(), String> {
        match list {
            Expr::List(items) => {
                for item in items {
                    let t = self.check(item, scope, Some(Type::Code(d)))?;
                    if t != Type::Code(d) {
                        return Err(format!("list items must be {} codes", d.name()));
                    }
                }
                Ok(())
            }
            other => {
                let t = self.check(other, scope, None)?;
                if t == Type::Codes(d) {
                    Ok(())
                } else {
                    Err(format!(
                        "expected a list of {} codes, found {}",
                        d.name(),
                        t.name()
                    ))
                }
            }
        }
    }

    fn check_call(&self, func: Func, args: &mut [Expr], scope: Scope) -> Result<Type, String> {
        let arity = match func {
            Func::Signal => 1,
            _ => 2,
        };
        if args.len() != arity {
            return Err(format!("`{func:?}` takes {arity} argument(s)").to_lowercase());
        }
        match func {
            Func::Min | Func::Max => {
                let a = self.check(&mut args[0], scope, None)?;
                let b = self.check(&mut args[1], scope, None)?;
                let (a, b) = literal_adapts(&args[0], &args[1], a, b);
                if a == b && is_number(a) {
                    Ok(a)
                } else {
                    Err(format!(
                        "min/max need two numbers of one type, found {} and {}",
                        a.name(),
                        b.name()
                    ))
                }
            }
            Func::Has => {
                let a = self.check(&mut args[0], scope, None)?;
                let Type::Codes(d) = a else {
                    return Err(format!("`has` needs a code set first, found {}", a.name()));
                };
                let b = self.check(&mut args[1], scope, Some(Type::Code(d)))?;
                expect(b, Type::Code(d), "the second argument of `has`")?;
                Ok(Type::Bool)
            }
            Func::Subset | Func::Overlaps => {
                let a = self.check(&mut args[0], scope, None)?;
                let Type::Codes(d) = a else {
                    return Err(format!("needs a code set first, found {}", a.name()));
                };
                self.check_code_list(&mut args[1], scope, d)?;
                Ok(Type::Bool)
            }
            Func::SumLe | Func::AnyGt => {
                let a = self.check(&mut args[0], scope, None)?;
                expect(a, Type::MoneyList, "the first argument")?;
                let b = self.check(&mut args[1], scope, None)?;
                expect(b, Type::Money, "the limit")?;
                Ok(if func == Func::SumLe {
                    Type::Money
                } else {
                    Type::Bool
                })
            }
            Func::AssetsPass => {
                let Expr::Collection(c) = args[0] else {
                    return Err("`assets_pass` needs a collection first".into());
                };
                self.check_collection(c, scope)?;
                let t = self.check(&mut args[1], scope, Some(Type::Code(Domain::AssetLevel)))?;
                expect(
                    t,
                    Type::Code(Domain::AssetLevel),
                    "the level of `assets_pass`",
                )?;
                Ok(Type::Bool)
            }
            Func::Signal => {
                if scope.stage < Stage::Level {
                    return Err("signals are not decided yet where this rule runs".into());
                }
                let Expr::Name(n) = &args[0] else {
                    return Err("`signal` needs a signal code".into());
                };
                let Some(i) = self.signals.iter().position(|s| s == n) else {
                    return Err(format!("`{n}` is not a signal of the pack"));
                };
                args[0] = Expr::Code {
                    domain: "signal".into(),
                    value: n.clone(),
                    id: i as u16,
                };
                Ok(Type::Bool)
            }
        }
    }
}

/// A literal 0 takes the numeric type of the other side (`income > 0`); other amounts belong in
/// parameters, with their units.
fn literal_adapts(lhs: &Expr, rhs: &Expr, l: Type, r: Type) -> (Type, Type) {
    let lit = |e: &Expr| matches!(e, Expr::Num(n) if n.v == 0);
    if lit(lhs) && is_number(r) {
        (r, r)
    } else if lit(rhs) && is_number(l) {
        (l, l)
    } else {
        (l, r)
    }
}

fn is_number(t: Type) -> bool {
    matches!(
        t,
        Type::Int | Type::Money | Type::Ratio | Type::Area | Type::Energy
    )
}

fn expect(found: Type, want: Type, what: &str) -> Result<(), String> {
    if found == want {
        Ok(())
    } else {
        Err(format!(
            "{what} must be {}, not {}",
            want.name(),
            found.name()
        ))
    }
}

fn binary_type(op: BinOp, l: Type, r: Type) -> Result<Type, String> {
    let mismatch = || {
        Err(format!(
            "`{}` cannot combine {} and {}",
            op.symbol(),
            l.name(),
            r.name()
        ))
    };
    match op {
        BinOp::And | BinOp::Or => {
            if l == Type::Bool && r == Type::Bool {
                Ok(Type::Bool)
            } else {
                mismatch()
            }
        }
        BinOp::Add | BinOp::Sub => {
            if l == r && is_number(l) {
                Ok(l)
            } else {
                mismatch()
            }
        }
        BinOp::Mul => match (l, r) {
            (Type::Int, x) | (x, Type::Int) if is_number(x) => Ok(x),
            (Type::Ratio, x) | (x, Type::Ratio) if is_number(x) => Ok(x),
            _ => mismatch(),
        },
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            let ok = (l == r && is_number(l))
                || matches!((l, r), (Type::Int, Type::Ratio) | (Type::Ratio, Type::Int));
            if ok { Ok(Type::Bool) } else { mismatch() }
        }
        BinOp::Eq | BinOp::Ne => {
            let ok = l == r && !matches!(l, Type::Codes(_) | Type::MoneyList)
                || matches!((l, r), (Type::Int, Type::Ratio) | (Type::Ratio, Type::Int));
            if ok { Ok(Type::Bool) } else { mismatch() }
        }
    }
}

impl Unit {
    /// The expression type of a parameter with this unit.
    pub fn value_type(self) -> Type {
        match self {
            Unit::Yuan | Unit::Fen => Type::Money,
            Unit::Ratio => Type::Ratio,
            Unit::Months | Unit::Days | Unit::Count => Type::Int,
            Unit::SquareMetres => Type::Area,
            Unit::Kwh => Type::Energy,
            Unit::Codes(d) => Type::Codes(d),
        }
    }
}
