//! The expression language of a policy pack: its public, closed AST and its parser.
//!
//! Conditions and amounts in a pack are small typed expressions over person, household and
//! group facts and parameters. The AST is deliberately simple so that the batch monitor can
//! compile the same expressions to DataFusion expressions:
//!
//! - literals: `true`, `false`, integers (`60`), decimals (`0.4`), code words (`partial`);
//! - names: facts (`age`, `income`), parameters (`std`), parameter tables (`money_months.dibao`,
//!   `tekun_care_share[care_level]`);
//! - `not`, `and`, `or`; comparisons `< <= > >= == !=`; `x in [a, b]`;
//! - arithmetic `+ - *` (no division: per-capita comparisons multiply, `income < std * n`);
//! - aggregates over a collection of persons: `any(C, e)`, `all(C, e)`, `count(C)`,
//!   `count(C, e)`, `sum(C, e)`, with `C` one of [`Collection`];
//! - functions: `min(a, b)`, `max(a, b)`, `has(codes, code)`, `subset(codes, list)`,
//!   `sum_le(list, money)`, `any_gt(list, money)`, `assets_pass(C, level)`, `signal(code)`.
//!
//! Numbers are exact decimals (`value / 10^scale`, see [`Num`]): money is integer fen, a ratio
//! times money stays exact, and an amount is rounded half up to the fen once, at the end.
//! After [`crate::check`] every `Name` is replaced by a resolved node ([`Expr::Fact`],
//! [`Expr::Param`], [`Expr::Code`]).

use serde::Serialize;

/// An exact decimal number: `v / 10^scale`. Money is fen with scale 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Num {
    /// The scaled value.
    pub v: i128,
    /// The number of decimal places.
    pub scale: u8,
}

const MAX_SCALE: u8 = 18;

fn pow10(n: u8) -> i128 {
    const POWERS: [i128; 39] = {
        let mut p = [1i128; 39];
        let mut i = 1;
        while i < 39 {
            p[i] = p[i - 1] * 10;
            i += 1;
        }
        p
    };
    match POWERS.get(n as usize) {
        Some(p) => *p,
        None => i128::MAX,
    }
}

impl Num {
    /// An integer.
    pub const fn int(v: i64) -> Num {
        Num {
            v: v as i128,
            scale: 0,
        }
    }

    fn rescale(self, scale: u8) -> i128 {
        if scale == self.scale {
            self.v
        } else if scale > self.scale {
            self.v.saturating_mul(pow10(scale - self.scale))
        } else {
            self.v / pow10(self.scale - scale)
        }
    }

    /// Sum.
    pub fn plus(self, o: Num) -> Num {
        if self.scale == o.scale {
            return Num {
                v: self.v.saturating_add(o.v),
                scale: self.scale,
            };
        }
        let s = self.scale.max(o.scale);
        Num {
            v: self.rescale(s).saturating_add(o.rescale(s)),
            scale: s,
        }
    }

    /// Difference.
    pub fn minus(self, o: Num) -> Num {
        if self.scale == o.scale {
            return Num {
                v: self.v.saturating_sub(o.v),
                scale: self.scale,
            };
        }
        let s = self.scale.max(o.scale);
        Num {
            v: self.rescale(s).saturating_sub(o.rescale(s)),
            scale: s,
        }
    }

    /// Product (scales add; beyond 18 places the value is cut to 18).
    pub fn times(self, o: Num) -> Num {
        // Two factors within i64 (the usual case) cannot overflow i128: the plain product is
        // the saturating one, without the overflow check of a full i128 multiplication.
        let v = match (i64::try_from(self.v), i64::try_from(o.v)) {
            (Ok(a), Ok(b)) => i128::from(a) * i128::from(b),
            _ => self.v.saturating_mul(o.v),
        };
        let n = Num {
            v,
            scale: self.scale.saturating_add(o.scale),
        };
        if n.scale > MAX_SCALE {
            Num {
                v: n.rescale(MAX_SCALE),
                scale: MAX_SCALE,
            }
        } else {
            n
        }
    }

    /// Compares exactly.
    pub fn cmp_num(self, o: Num) -> std::cmp::Ordering {
        if self.scale == o.scale {
            return self.v.cmp(&o.v);
        }
        let s = self.scale.max(o.scale);
        self.rescale(s).cmp(&o.rescale(s))
    }

    /// Rounds half up (away from zero for the half) to an integer.
    pub fn round(self) -> i64 {
        if self.scale == 0 {
            return clamp_i64(self.v);
        }
        let d = pow10(self.scale);
        let q = self.v / d;
        let r = self.v % d;
        let q = if r.saturating_mul(2) >= d {
            q + 1
        } else if r.saturating_mul(-2) >= d {
            q - 1
        } else {
            q
        };
        clamp_i64(q)
    }

    /// Parses a plain decimal literal (`12`, `0.45`).
    pub fn parse(text: &str) -> Option<Num> {
        let (int, frac) = match text.split_once('.') {
            Some((i, f)) => (i, f),
            None => (text, ""),
        };
        if int.is_empty()
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || frac.len() > 6
            || int.len() > 15
        {
            return None;
        }
        let digits = format!("{int}{frac}");
        Some(Num {
            v: digits.parse().ok()?,
            scale: frac.len() as u8,
        })
    }
}

fn clamp_i64(v: i128) -> i64 {
    v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

impl std::fmt::Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.scale == 0 {
            return write!(f, "{}", self.v);
        }
        let d = pow10(self.scale);
        let sign = if self.v < 0 { "-" } else { "" };
        let a = self.v.unsigned_abs();
        let d = d.unsigned_abs();
        let frac = format!("{:0width$}", a % d, width = self.scale as usize);
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            write!(f, "{sign}{}", a / d)
        } else {
            write!(f, "{sign}{}.{frac}", a / d)
        }
    }
}

/// A collection of persons an aggregate ranges over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Collection {
    /// The living members of the household.
    Members,
    /// The living members who are not tekun (H′).
    NonTekun,
    /// The group whose assets are tested (asset reasons only).
    Group,
    /// The current person's obligors (法定义务人), living.
    Obligors,
    /// The current person's linked parents present in the data, whatever their status.
    Parents,
    /// The other members of H′ besides the current person.
    OtherNonTekun,
    /// The current person alone (for `assets_pass(self, dibao)`).
    Myself,
}

impl Collection {
    /// Every collection with its name in the pack.
    pub const ALL: &'static [(Collection, &'static str)] = &[
        (Collection::Members, "members"),
        (Collection::NonTekun, "non_tekun"),
        (Collection::Group, "group"),
        (Collection::Obligors, "obligors"),
        (Collection::Parents, "parents"),
        (Collection::OtherNonTekun, "other_non_tekun"),
        (Collection::Myself, "self"),
    ];

    /// The name in the pack.
    pub fn name(self) -> &'static str {
        Collection::ALL
            .iter()
            .find(|(c, _)| *c == self)
            .map(|(_, n)| *n)
            .unwrap_or("?")
    }

    /// Looks a name up.
    pub fn from_name(name: &str) -> Option<Collection> {
        Collection::ALL
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(c, _)| *c)
    }

    /// Whether the collection needs a current person.
    pub fn needs_person(self) -> bool {
        matches!(
            self,
            Collection::Obligors
                | Collection::Parents
                | Collection::OtherNonTekun
                | Collection::Myself
        )
    }
}

/// Aggregate functions over a collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    /// True when the body holds for some person.
    Any,
    /// True when the body holds for every person (true on an empty collection).
    All,
    /// The number of persons (for whom the body holds, when given).
    Count,
    /// The sum of the body over the persons.
    Sum,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `and`
    And,
    /// `or`
    Or,
}

impl BinOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::And => "and",
            BinOp::Or => "or",
        }
    }
}

/// Named functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Func {
    /// `min(a, b)`: the smaller of two numbers of the same type.
    Min,
    /// `max(a, b)`: the larger.
    Max,
    /// `has(codes, code)`: the code set contains the code.
    Has,
    /// `subset(codes, list)`: every code of the set is in the list (a codes parameter or `[..]`).
    Subset,
    /// `sum_le(list, limit)`: sum of the money amounts of the list at or below the limit.
    SumLe,
    /// `any_gt(list, limit)`: some amount of the list is above the limit.
    AnyGt,
    /// `assets_pass(C, level)`: no asset reason holds for the group C at the level.
    AssetsPass,
    /// `signal(code)`: the signal fired in this household.
    Signal,
    /// `overlaps(codes, list)`: the code set contains a code of the list.
    Overlaps,
}

impl Func {
    /// Looks a function name up.
    pub fn from_name(name: &str) -> Option<Func> {
        Some(match name {
            "min" => Func::Min,
            "max" => Func::Max,
            "has" => Func::Has,
            "subset" => Func::Subset,
            "sum_le" => Func::SumLe,
            "any_gt" => Func::AnyGt,
            "assets_pass" => Func::AssetsPass,
            "signal" => Func::Signal,
            "overlaps" => Func::Overlaps,
            _ => return None,
        })
    }
}

/// Where a fact's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FactKind {
    /// A base fact of the current person ([`crate::facts::PersonFacts`]).
    PersonBase,
    /// A derived person fact defined in the pack (index into its derived facts).
    PersonDerived,
    /// A fact of the household computed by the evaluator (tier, dibao_amount, …).
    Household,
    /// A fact of the group under an asset test.
    Group,
    /// A relation of the current person to the person outside the aggregate.
    Relation,
    /// A per-person result the evaluator has decided (tekun, amounts).
    PersonState,
}

/// A parameter key: a fixed code (`money_months.dibao`) or a code-valued expression
/// (`tekun_care_share[care_level]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamKey {
    /// A fixed key.
    Fixed(String),
    /// A key computed from a code-valued expression.
    Dynamic(Box<Expr>),
}

/// An expression of the pack.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expr {
    /// `true` / `false`.
    Bool(bool),
    /// A number literal.
    Num(Num),
    /// A name before checking.
    Name(String),
    /// A code word, resolved: its domain and interned index.
    Code {
        /// The code domain (`care_level`, `program`, …).
        domain: String,
        /// The word.
        value: String,
        /// Interned index.
        id: u16,
    },
    /// A fact.
    Fact {
        /// Its name.
        name: String,
        /// Where it comes from.
        kind: FactKind,
        /// Index within its kind.
        id: u16,
    },
    /// A parameter, optionally keyed.
    Param {
        /// Its name.
        name: String,
        /// Index in the pack's parameter list.
        id: u16,
        /// The key, for table parameters.
        key: Option<ParamKey>,
    },
    /// A list of code words (`[employed, flexible]`).
    List(Vec<Expr>),
    /// `not e`.
    Not(Box<Expr>),
    /// `- e`.
    Neg(Box<Expr>),
    /// A binary operation.
    Binary {
        /// The operator.
        op: BinOp,
        /// Left.
        lhs: Box<Expr>,
        /// Right.
        rhs: Box<Expr>,
    },
    /// `e in [a, b]` or `e in list_param`.
    In {
        /// The value.
        value: Box<Expr>,
        /// The list.
        list: Box<Expr>,
    },
    /// An aggregate over a collection.
    Aggregate {
        /// The function.
        func: Aggregate,
        /// The persons.
        over: Collection,
        /// The body, evaluated per person (absent for a plain `count(C)`).
        body: Option<Box<Expr>>,
    },
    /// A function call.
    Call {
        /// The function.
        func: Func,
        /// Its arguments; `assets_pass` takes `Expr::Name(collection)`-resolved first argument as
        /// [`Expr::Collection`].
        args: Vec<Expr>,
    },
    /// A collection used as a function argument (`assets_pass(members, dibao)`).
    Collection(Collection),
}

impl std::fmt::Display for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expr::Bool(b) => write!(f, "{b}"),
            Expr::Num(n) => write!(f, "{n}"),
            Expr::Name(n) => f.write_str(n),
            Expr::Code { value, .. } => f.write_str(value),
            Expr::Fact { name, .. } => f.write_str(name),
            Expr::Param { name, key, .. } => match key {
                None => f.write_str(name),
                Some(ParamKey::Fixed(k)) => write!(f, "{name}.{k}"),
                Some(ParamKey::Dynamic(k)) => write!(f, "{name}[{k}]"),
            },
            Expr::List(items) => {
                f.write_str("[")?;
                for (i, x) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{x}")?;
                }
                f.write_str("]")
            }
            Expr::Not(e) => write!(f, "not {e}"),
            Expr::Neg(e) => write!(f, "-{e}"),
            Expr::Binary { op, lhs, rhs } => {
                let wrap =
                    |e: &Expr| matches!(e, Expr::Binary { op: o, .. } if prec(*o) < prec(*op));
                let l = if wrap(lhs) {
                    format!("({lhs})")
                } else {
                    lhs.to_string()
                };
                let r = if wrap(rhs)
                    || matches!(**rhs, Expr::Binary { op: o, .. } if prec(o) == prec(*op) && matches!(op, BinOp::Sub))
                {
                    format!("({rhs})")
                } else {
                    rhs.to_string()
                };
                write!(f, "{l} {} {r}", op.symbol())
            }
            Expr::In { value, list } => write!(f, "{value} in {list}"),
            Expr::Aggregate { func, over, body } => {
                let name = match func {
                    Aggregate::Any => "any",
                    Aggregate::All => "all",
                    Aggregate::Count => "count",
                    Aggregate::Sum => "sum",
                };
                match body {
                    Some(b) => write!(f, "{name}({}, {b})", over.name()),
                    None => write!(f, "{name}({})", over.name()),
                }
            }
            Expr::Call { func, args } => {
                let name = serde_json::to_value(func)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                write!(f, "{name}(")?;
                for (i, x) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{x}")?;
                }
                f.write_str(")")
            }
            Expr::Collection(c) => f.write_str(c.name()),
        }
    }
}

fn prec(op: BinOp) -> u8 {
    match op {
        BinOp::Or => 1,
        BinOp::And => 2,
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq | BinOp::Ne => 3,
        BinOp::Add | BinOp::Sub => 4,
        BinOp::Mul => 5,
    }
}

/// A syntax error in an expression, at a character offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Character offset in the expression.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(String),
    Ident(String),
    Sym(&'static str),
}

fn lex(text: &str) -> Result<Vec<(usize, Tok)>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let s = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            out.push((s, Tok::Num(chars[s..i].iter().collect())));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let s = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push((s, Tok::Ident(chars[s..i].iter().collect())));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let sym = match two.as_str() {
                "<=" => Some("<="),
                ">=" => Some(">="),
                "==" => Some("=="),
                "!=" => Some("!="),
                _ => None,
            };
            if let Some(sym) = sym {
                out.push((i, Tok::Sym(sym)));
                i += 2;
                continue;
            }
            let sym = match c {
                '<' => "<",
                '>' => ">",
                '+' => "+",
                '-' => "-",
                '*' => "*",
                '(' => "(",
                ')' => ")",
                '[' => "[",
                ']' => "]",
                ',' => ",",
                '.' => ".",
                _ => {
                    return Err(ParseError {
                        offset: i,
                        message: format!("unexpected character {c:?}"),
                    });
                }
            };
            out.push((i, Tok::Sym(sym)));
            i += 1;
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    end: usize,
}

/// Parses an expression. Names stay [`Expr::Name`] until checked.
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    let toks = lex(text)?;
    let mut p = Parser {
        toks,
        pos: 0,
        end: text.chars().count(),
    };
    let e = p.or()?;
    if p.pos < p.toks.len() {
        return Err(p.err("unexpected text after the expression"));
    }
    Ok(e)
}

impl Parser {
    fn offset(&self) -> usize {
        self.toks.get(self.pos).map(|t| t.0).unwrap_or(self.end)
    }
    fn err(&self, message: &str) -> ParseError {
        ParseError {
            offset: self.offset(),
            message: message.to_owned(),
        }
    }
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.1)
    }
    fn eat_sym(&mut self, s: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Sym(x)) if *x == s) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn eat_word(&mut self, w: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Ident(x)) if x == w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, s: &str) -> Result<(), ParseError> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            Err(self.err(&format!("expected `{s}`")))
        }
    }
    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut e = self.and()?;
        while self.eat_word("or") {
            let r = self.and()?;
            e = bin(BinOp::Or, e, r);
        }
        Ok(e)
    }
    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut e = self.not()?;
        while self.eat_word("and") {
            let r = self.not()?;
            e = bin(BinOp::And, e, r);
        }
        Ok(e)
    }
    fn not(&mut self) -> Result<Expr, ParseError> {
        if self.eat_word("not") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.cmp()
    }
    fn cmp(&mut self) -> Result<Expr, ParseError> {
        let l = self.add()?;
        if self.eat_word("in") {
            let list = self.add()?;
            return Ok(Expr::In {
                value: Box::new(l),
                list: Box::new(list),
            });
        }
        for (s, op) in [
            ("<=", BinOp::Le),
            (">=", BinOp::Ge),
            ("<", BinOp::Lt),
            (">", BinOp::Gt),
            ("==", BinOp::Eq),
            ("!=", BinOp::Ne),
        ] {
            if self.eat_sym(s) {
                let r = self.add()?;
                return Ok(bin(op, l, r));
            }
        }
        Ok(l)
    }
    fn add(&mut self) -> Result<Expr, ParseError> {
        let mut e = self.mul()?;
        loop {
            if self.eat_sym("+") {
                let r = self.mul()?;
                e = bin(BinOp::Add, e, r);
            } else if self.eat_sym("-") {
                let r = self.mul()?;
                e = bin(BinOp::Sub, e, r);
            } else {
                return Ok(e);
            }
        }
    }
    fn mul(&mut self) -> Result<Expr, ParseError> {
        let mut e = self.unary()?;
        while self.eat_sym("*") {
            let r = self.unary()?;
            e = bin(BinOp::Mul, e, r);
        }
        Ok(e)
    }
    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.eat_sym("-") {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.primary()
    }
    fn primary(&mut self) -> Result<Expr, ParseError> {
        let Some(tok) = self.peek().cloned() else {
            return Err(self.err("expected a value"));
        };
        match tok {
            Tok::Num(text) => {
                let n = Num::parse(&text).ok_or_else(|| self.err("not a number"))?;
                self.pos += 1;
                Ok(Expr::Num(n))
            }
            Tok::Sym("(") => {
                self.pos += 1;
                let e = self.or()?;
                self.expect(")")?;
                Ok(e)
            }
            Tok::Sym("[") => {
                self.pos += 1;
                let mut items = Vec::new();
                if !self.eat_sym("]") {
                    loop {
                        items.push(self.or()?);
                        if self.eat_sym("]") {
                            break;
                        }
                        self.expect(",")?;
                    }
                }
                Ok(Expr::List(items))
            }
            Tok::Ident(name) => {
                self.pos += 1;
                match name.as_str() {
                    "true" => return Ok(Expr::Bool(true)),
                    "false" => return Ok(Expr::Bool(false)),
                    _ => {}
                }
                if self.eat_sym("(") {
                    return self.call(&name);
                }
                if self.eat_sym(".") {
                    let Some(Tok::Ident(key)) = self.peek().cloned() else {
                        return Err(self.err("expected a key after `.`"));
                    };
                    self.pos += 1;
                    return Ok(Expr::Param {
                        name,
                        id: 0,
                        key: Some(ParamKey::Fixed(key)),
                    });
                }
                if self.eat_sym("[") {
                    let key = self.or()?;
                    self.expect("]")?;
                    return Ok(Expr::Param {
                        name,
                        id: 0,
                        key: Some(ParamKey::Dynamic(Box::new(key))),
                    });
                }
                Ok(Expr::Name(name))
            }
            Tok::Sym(s) => Err(self.err(&format!("unexpected `{s}`"))),
        }
    }
    fn call(&mut self, name: &str) -> Result<Expr, ParseError> {
        let mut args = Vec::new();
        if !self.eat_sym(")") {
            loop {
                args.push(self.or()?);
                if self.eat_sym(")") {
                    break;
                }
                self.expect(",")?;
            }
        }
        let agg = match name {
            "any" => Some(Aggregate::Any),
            "all" => Some(Aggregate::All),
            "count" => Some(Aggregate::Count),
            "sum" => Some(Aggregate::Sum),
            _ => None,
        };
        if let Some(func) = agg {
            let mut it = args.into_iter();
            let over = match it.next() {
                Some(Expr::Name(c)) => Collection::from_name(&c)
                    .ok_or_else(|| self.err(&format!("`{c}` is not a collection")))?,
                _ => return Err(self.err(&format!("`{name}` needs a collection first"))),
            };
            let body = it.next().map(Box::new);
            if it.next().is_some() {
                return Err(self.err(&format!("`{name}` takes at most two arguments")));
            }
            if body.is_none() && func != Aggregate::Count {
                return Err(self.err(&format!("`{name}` needs an expression")));
            }
            return Ok(Expr::Aggregate { func, over, body });
        }
        let func =
            Func::from_name(name).ok_or_else(|| self.err(&format!("unknown function `{name}`")))?;
        let args = args
            .into_iter()
            .map(|a| match a {
                Expr::Name(n)
                    if Collection::from_name(&n).is_some() && func == Func::AssetsPass =>
                {
                    Collection::from_name(&n).map_or(Expr::Name(n), Expr::Collection)
                }
                other => other,
            })
            .collect();
        Ok(Expr::Call { func, args })
    }
}

fn bin(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
    Expr::Binary {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence() {
        let e = parse("a + b * 2 < c and not d or e").unwrap();
        let Expr::Binary {
            op: BinOp::Or, lhs, ..
        } = e
        else {
            panic!("or at the top")
        };
        assert!(matches!(*lhs, Expr::Binary { op: BinOp::And, .. }));
    }

    #[test]
    fn params_and_aggregates() {
        let e =
            parse("sum(non_tekun, income) < money_months.dibao * std * count(non_tekun)").unwrap();
        assert!(matches!(e, Expr::Binary { op: BinOp::Lt, .. }));
        let e = parse("tekun_care_share[care_level]").unwrap();
        assert!(matches!(
            e,
            Expr::Param {
                key: Some(ParamKey::Dynamic(_)),
                ..
            }
        ));
        assert!(parse("any(nobody, x)").is_err());
        assert!(parse("a < ").is_err());
        assert!(parse("a $ b").is_err());
    }

    #[test]
    fn num_rounding_is_half_up_once() {
        let r = Num::parse("0.4").unwrap();
        let x = Num::int(12345).times(r); // 4938.0
        assert_eq!(x.round(), 4938);
        let y = Num::int(5).times(Num::parse("0.5").unwrap());
        assert_eq!(y.round(), 3);
        assert_eq!(Num::parse("1.30").unwrap().to_string(), "1.3");
        assert_eq!(Num::int(-5).times(Num::parse("0.5").unwrap()).round(), -3);
    }
}
