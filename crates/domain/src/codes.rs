//! The code lists of the exchange contract (exchange.md §2), each with its canonical English
//! word and the Chinese aliases departments write. Parsing is case-insensitive for the English
//! words; `as_str` gives the canonical word that the lake and every output use.

use std::fmt;

macro_rules! code_list {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $canonical:literal $(| $alias:literal)* ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in the order of the contract.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The canonical English word.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $canonical),+ }
            }

            /// The Chinese and other aliases accepted besides the canonical word.
            pub const fn aliases(self) -> &'static [&'static str] {
                match self { $($name::$variant => &[$($alias),*]),+ }
            }

            /// Parses the canonical word (any case) or an alias. The input is expected to be
            /// normalised already.
            pub fn parse(text: &str) -> Option<$name> {
                $(
                    if text.eq_ignore_ascii_case($canonical) $(|| text == $alias)* {
                        return Some($name::$variant);
                    }
                )+
                None
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::parse(&text).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        concat!("unknown ", stringify!($name), " code {:?}"),
                        text
                    ))
                })
            }
        }
    };
}

code_list! {
    /// 性别 (GB/T 2261.1: 1 male, 2 female).
    Gender {
        /// 男.
        Male = "male" | "男" | "1",
        /// 女.
        Female = "female" | "女" | "2",
    }
}

code_list! {
    /// 与户主关系: a person's relation to the head of the household.
    Relation {
        /// 户主.
        Head = "head" | "户主",
        /// 配偶.
        Spouse = "spouse" | "配偶",
        /// 子女.
        Child = "child" | "子女" | "子" | "女",
        /// 父母.
        Parent = "parent" | "父母" | "父亲" | "母亲",
        /// 祖父母.
        Grandparent = "grandparent" | "祖父母",
        /// 孙子女.
        Grandchild = "grandchild" | "孙子女",
        /// 兄弟姐妹.
        Sibling = "sibling" | "兄弟姐妹",
        /// 其他.
        Other = "other" | "其他",
    }
}

code_list! {
    /// 人口状态 in the household registry.
    PersonStatus {
        /// 正常: a living resident.
        Normal = "normal" | "正常",
        /// 死亡.
        Deceased = "deceased" | "死亡",
        /// 迁出.
        Emigrated = "emigrated" | "迁出",
    }
}

code_list! {
    /// 救助项目: the assistance programs.
    Program {
        /// 最低生活保障 (低保).
        Dibao = "dibao" | "低保" | "最低生活保障",
        /// 特困人员救助供养 (特困).
        Tekun = "tekun" | "特困" | "特困供养",
        /// 低保边缘.
        Marginal = "marginal" | "低保边缘",
        /// 刚性支出困难.
        RigidExpense = "rigid_expense" | "刚性支出困难",
        /// 临时救助.
        Temporary = "temporary" | "临时救助",
        /// 医疗救助.
        Medical = "medical" | "医疗救助",
        /// 教育救助.
        Education = "education" | "教育救助",
        /// 住房救助.
        Housing = "housing" | "住房救助",
        /// 就业救助.
        Employment = "employment" | "就业救助",
    }
}

code_list! {
    /// 残疾类别.
    DisabilityCategory {
        /// 视力残疾.
        Visual = "visual" | "视力" | "视力残疾",
        /// 听力残疾.
        Hearing = "hearing" | "听力" | "听力残疾",
        /// 言语残疾.
        Speech = "speech" | "言语" | "言语残疾",
        /// 肢体残疾.
        Physical = "physical" | "肢体" | "肢体残疾",
        /// 智力残疾.
        Intellectual = "intellectual" | "智力" | "智力残疾",
        /// 精神残疾.
        Mental = "mental" | "精神" | "精神残疾",
        /// 多重残疾.
        Multiple = "multiple" | "多重" | "多重残疾",
    }
}

code_list! {
    /// 残疾等级: 1 is the most severe.
    DisabilityGrade {
        /// 一级.
        One = "1" | "一级" | "一" | "1级",
        /// 二级.
        Two = "2" | "二级" | "二" | "2级",
        /// 三级.
        Three = "3" | "三级" | "三" | "3级",
        /// 四级.
        Four = "4" | "四级" | "四" | "4级",
    }
}

impl DisabilityGrade {
    /// The grade as a number, 1 (most severe) to 4.
    pub const fn number(self) -> u8 {
        match self {
            DisabilityGrade::One => 1,
            DisabilityGrade::Two => 2,
            DisabilityGrade::Three => 3,
            DisabilityGrade::Four => 4,
        }
    }
}

code_list! {
    /// 就业状态.
    EmploymentStatus {
        /// 就业.
        Employed = "employed" | "就业",
        /// 灵活就业.
        Flexible = "flexible" | "灵活就业",
        /// 登记失业.
        Unemployed = "unemployed" | "登记失业" | "失业",
        /// 退休.
        Retired = "retired" | "退休",
        /// 无.
        None = "none" | "无",
    }
}

code_list! {
    /// 就诊类型 of a medical settlement.
    MedicalKind {
        /// 门诊.
        Outpatient = "outpatient" | "门诊",
        /// 住院.
        Inpatient = "inpatient" | "住院",
        /// 门诊慢特病.
        Chronic = "chronic" | "门诊慢特病",
        /// 大病.
        Major = "major" | "大病",
    }
}

code_list! {
    /// 不动产用途.
    PropertyUsage {
        /// 住宅.
        Residential = "residential" | "住宅",
        /// 商业.
        Commercial = "commercial" | "商业",
        /// 工业.
        Industrial = "industrial" | "工业",
        /// 其他.
        Other = "other" | "其他",
    }
}

code_list! {
    /// 车辆类型.
    VehicleType {
        /// 小型汽车.
        Car = "car" | "小型汽车",
        /// 货车.
        Truck = "truck" | "货车",
        /// 摩托车.
        Motorcycle = "motorcycle" | "摩托车",
        /// 农用车.
        Agricultural = "agricultural" | "农用车",
        /// 残疾人专用车.
        Disability = "disability" | "残疾人专用车",
        /// 其他.
        Other = "other" | "其他",
    }
}

code_list! {
    /// A person's role in a registered business.
    BusinessRole {
        /// 法定代表人.
        LegalRep = "legal_rep" | "法定代表人",
        /// 股东.
        Shareholder = "shareholder" | "股东",
        /// 个体工商户经营者.
        SoleProprietor = "sole_proprietor" | "个体工商户经营者",
    }
}

code_list! {
    /// 登记状态 of a business.
    BusinessStatus {
        /// 存续.
        Active = "active" | "存续",
        /// 注销 or 吊销.
        Cancelled = "cancelled" | "注销" | "吊销",
    }
}

code_list! {
    /// 学段.
    EducationLevel {
        /// 学前.
        Preschool = "preschool" | "学前",
        /// 小学.
        Primary = "primary" | "小学",
        /// 初中.
        Junior = "junior" | "初中",
        /// 高中.
        Senior = "senior" | "高中",
        /// 中职.
        Vocational = "vocational" | "中职",
        /// 高等教育.
        Higher = "higher" | "高等教育",
    }
}

code_list! {
    /// 收入类型 of means-test findings. Wages come from the employment feed only.
    IncomeKind {
        /// 经营净收入 (farming included).
        Business = "business" | "经营净收入",
        /// 财产净收入.
        Property = "property" | "财产净收入",
        /// 转移净收入.
        Transfer = "transfer" | "转移净收入",
        /// 赡养扶养抚养费.
        Support = "support" | "赡养扶养抚养费",
        /// 其他.
        Other = "other" | "其他",
        /// 不计入收入的补贴: recorded, never counted.
        Exempt = "exempt" | "不计入收入的补贴",
    }
}

code_list! {
    /// 自理能力 as assessed.
    SelfCare {
        /// 全自理.
        Full = "full" | "全自理",
        /// 半失能.
        Partial = "partial" | "半失能",
        /// 全失能.
        None = "none" | "全失能",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_any_case_and_aliases() {
        assert_eq!(Gender::parse("MALE"), Some(Gender::Male));
        assert_eq!(Gender::parse("女"), Some(Gender::Female));
        assert_eq!(Gender::parse("1"), Some(Gender::Male));
        assert_eq!(Gender::parse("3"), None);
        assert_eq!(Relation::parse("子"), Some(Relation::Child));
        assert_eq!(Relation::parse("母亲"), Some(Relation::Parent));
        assert_eq!(Program::parse("最低生活保障"), Some(Program::Dibao));
        assert_eq!(Program::parse("Rigid_Expense"), Some(Program::RigidExpense));
        assert_eq!(
            DisabilityGrade::parse("三级").map(DisabilityGrade::number),
            Some(3)
        );
        assert_eq!(
            BusinessStatus::parse("吊销"),
            Some(BusinessStatus::Cancelled)
        );
        assert_eq!(SelfCare::parse("全失能"), Some(SelfCare::None));
        assert_eq!(EmploymentStatus::parse(""), None);
    }

    #[test]
    fn every_canonical_word_round_trips() {
        fn check<T: Copy + PartialEq + std::fmt::Debug>(
            all: &[T],
            as_str: fn(T) -> &'static str,
            parse: fn(&str) -> Option<T>,
        ) {
            for &v in all {
                assert_eq!(parse(as_str(v)), Some(v));
                assert_eq!(parse(&as_str(v).to_uppercase()), Some(v));
            }
        }
        check(Gender::ALL, Gender::as_str, Gender::parse);
        check(Relation::ALL, Relation::as_str, Relation::parse);
        check(PersonStatus::ALL, PersonStatus::as_str, PersonStatus::parse);
        check(Program::ALL, Program::as_str, Program::parse);
        check(
            DisabilityCategory::ALL,
            DisabilityCategory::as_str,
            DisabilityCategory::parse,
        );
        check(
            DisabilityGrade::ALL,
            DisabilityGrade::as_str,
            DisabilityGrade::parse,
        );
        check(
            EmploymentStatus::ALL,
            EmploymentStatus::as_str,
            EmploymentStatus::parse,
        );
        check(MedicalKind::ALL, MedicalKind::as_str, MedicalKind::parse);
        check(
            PropertyUsage::ALL,
            PropertyUsage::as_str,
            PropertyUsage::parse,
        );
        check(VehicleType::ALL, VehicleType::as_str, VehicleType::parse);
        check(BusinessRole::ALL, BusinessRole::as_str, BusinessRole::parse);
        check(
            BusinessStatus::ALL,
            BusinessStatus::as_str,
            BusinessStatus::parse,
        );
        check(
            EducationLevel::ALL,
            EducationLevel::as_str,
            EducationLevel::parse,
        );
        check(IncomeKind::ALL, IncomeKind::as_str, IncomeKind::parse);
        check(SelfCare::ALL, SelfCare::as_str, SelfCare::parse);
    }

    #[test]
    fn aliases_are_unique_within_a_list() {
        let mut seen = std::collections::HashSet::new();
        for p in Program::ALL {
            for a in p.aliases() {
                assert!(seen.insert(*a), "{a}");
            }
        }
    }
}
