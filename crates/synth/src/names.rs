//! Chinese personal names: surnames weighted roughly by frequency (with double surnames and the
//! polyphonic 单 曾 解 that trip up pinyin-based matching), given names from gendered pools with
//! the very common ones (伟, 芳, 秀英 …) over-represented, and the spelling variants record
//! linkage has to cope with: homophone characters and traditional script.

use crate::Rng64;
use domain::Gender;

/// Surnames with relative weights.
const SURNAMES: &[(&str, u32)] = &[
    ("王", 72),
    ("李", 70),
    ("张", 68),
    ("刘", 52),
    ("陈", 45),
    ("杨", 32),
    ("黄", 24),
    ("赵", 21),
    ("吴", 20),
    ("周", 19),
    ("徐", 15),
    ("孙", 14),
    ("马", 13),
    ("朱", 13),
    ("胡", 12),
    ("郭", 12),
    ("何", 11),
    ("高", 10),
    ("林", 10),
    ("罗", 10),
    ("郑", 9),
    ("梁", 9),
    ("谢", 8),
    ("宋", 7),
    ("唐", 7),
    ("许", 6),
    ("韩", 6),
    ("冯", 6),
    ("邓", 6),
    ("曹", 5),
    ("彭", 5),
    ("曾", 5),
    ("肖", 5),
    ("田", 5),
    ("董", 5),
    ("袁", 4),
    ("潘", 4),
    ("于", 4),
    ("蒋", 4),
    ("蔡", 4),
    ("余", 4),
    ("杜", 4),
    ("叶", 4),
    ("程", 4),
    ("苏", 3),
    ("魏", 3),
    ("吕", 3),
    ("丁", 3),
    ("任", 3),
    ("沈", 3),
    ("姚", 3),
    ("卢", 3),
    ("姜", 3),
    ("崔", 3),
    ("钟", 3),
    ("谭", 3),
    ("陆", 3),
    ("汪", 3),
    ("范", 3),
    ("金", 3),
    ("石", 3),
    ("廖", 2),
    ("贾", 2),
    ("夏", 2),
    ("韦", 2),
    ("付", 2),
    ("方", 2),
    ("白", 2),
    ("邹", 2),
    ("孟", 2),
    ("熊", 2),
    ("秦", 2),
    ("邱", 2),
    ("江", 2),
    ("尹", 2),
    ("薛", 2),
    ("段", 2),
    ("雷", 2),
    ("侯", 2),
    ("龙", 2),
    ("史", 2),
    ("单", 2),
    ("解", 1),
    ("覃", 1),
    ("区", 1),
    ("欧阳", 1),
    ("司马", 1),
    ("诸葛", 1),
    ("上官", 1),
];

const MALE_COMMON: &[&str] = &[
    "伟", "强", "磊", "军", "勇", "杰", "涛", "明", "超", "刚", "平", "辉",
];
const FEMALE_COMMON: &[&str] = &[
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "秀英", "桂英", "玲", "燕",
];
const MALE_CHARS: &[&str] = &[
    "建", "国", "华", "志", "文", "海", "林", "斌", "波", "鹏", "宇", "浩", "俊", "峰", "龙", "东",
    "军", "伟", "明", "强", "晨", "博", "子", "涵", "睿", "泽", "宏", "德", "福", "成", "永", "庆",
];
const FEMALE_CHARS: &[&str] = &[
    "丽", "红", "梅", "兰", "凤", "霞", "萍", "芬", "琳", "婷", "雪", "慧", "欣", "怡", "悦", "佳",
    "静", "敏", "秀", "英", "玉", "春", "云", "月", "晓", "思", "雨", "涵", "琪", "颖", "倩", "华",
];

/// Homophones a clerk typing by pinyin may pick instead.
const HOMOPHONES: &[(char, char)] = &[
    ('伟', '玮'),
    ('芳', '方'),
    ('静', '晶'),
    ('丽', '莉'),
    ('明', '铭'),
    ('军', '君'),
    ('杰', '洁'),
    ('华', '桦'),
    ('红', '宏'),
    ('建', '健'),
    ('国', '果'),
    ('英', '瑛'),
    ('林', '琳'),
    ('玲', '琳'),
    ('文', '雯'),
    ('海', '凯'),
    ('梅', '玫'),
    ('峰', '锋'),
    ('波', '博'),
    ('云', '芸'),
    ('燕', '艳'),
    ('秀', '绣'),
    ('志', '智'),
    ('东', '冬'),
    ('萍', '平'),
    ('霞', '侠'),
    ('涛', '滔'),
];

/// Simplified characters and their traditional forms.
const TRADITIONAL: &[(char, char)] = &[
    ('张', '張'),
    ('刘', '劉'),
    ('陈', '陳'),
    ('杨', '楊'),
    ('黄', '黃'),
    ('赵', '趙'),
    ('吴', '吳'),
    ('孙', '孫'),
    ('马', '馬'),
    ('郑', '鄭'),
    ('谢', '謝'),
    ('韩', '韓'),
    ('冯', '馮'),
    ('邓', '鄧'),
    ('罗', '羅'),
    ('许', '許'),
    ('叶', '葉'),
    ('苏', '蘇'),
    ('钟', '鍾'),
    ('陆', '陸'),
    ('伟', '偉'),
    ('军', '軍'),
    ('华', '華'),
    ('丽', '麗'),
    ('红', '紅'),
    ('国', '國'),
    ('强', '強'),
    ('云', '雲'),
    ('兰', '蘭'),
    ('凤', '鳳'),
    ('龙', '龍'),
    ('东', '東'),
    ('辉', '輝'),
    ('刚', '剛'),
    ('杰', '傑'),
    ('涛', '濤'),
    ('娟', '娟'),
    ('鹏', '鵬'),
    ('庆', '慶'),
    ('宏', '宏'),
    ('梅', '梅'),
    ('晓', '曉'),
    ('慧', '慧'),
    ('颖', '穎'),
    ('凤', '鳳'),
];

fn surname_total() -> u32 {
    SURNAMES.iter().map(|(_, w)| w).sum()
}

/// A surname drawn by frequency.
pub fn surname(rng: &mut Rng64) -> &'static str {
    let mut pick = rng.below(u64::from(surname_total())) as u32;
    for (s, w) in SURNAMES {
        if pick < *w {
            return s;
        }
        pick -= w;
    }
    SURNAMES[0].0
}

/// A given name of one or two characters; one in five is one of the very common names.
pub fn given_name(rng: &mut Rng64, gender: Gender) -> String {
    let (common, chars) = match gender {
        Gender::Male => (MALE_COMMON, MALE_CHARS),
        Gender::Female => (FEMALE_COMMON, FEMALE_CHARS),
    };
    if rng.chance(0.2) {
        return common[rng.below(common.len() as u64) as usize].to_string();
    }
    let first = chars[rng.below(chars.len() as u64) as usize];
    if rng.chance(0.25) {
        return first.to_string();
    }
    let second = chars[rng.below(chars.len() as u64) as usize];
    format!("{first}{second}")
}

/// How a name is spelled differently in a department's extract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameVariant {
    /// A homophone character in the given name.
    Homophone,
    /// Traditional script.
    Traditional,
}

/// The name with one homophone substituted, or in traditional script. Returns `None` when the
/// name has no character the variant applies to.
pub fn variant(name: &str, kind: NameVariant) -> Option<String> {
    match kind {
        NameVariant::Homophone => {
            // Replace the last character that has a homophone (given names, not surnames).
            let chars: Vec<char> = name.chars().collect();
            let pos = (1..chars.len())
                .rev()
                .find(|&i| HOMOPHONES.iter().any(|(a, _)| *a == chars[i]))?;
            let replacement = HOMOPHONES.iter().find(|(a, _)| *a == chars[pos])?.1;
            let mut out = chars;
            out[pos] = replacement;
            Some(out.into_iter().collect())
        }
        NameVariant::Traditional => {
            let out: String = name
                .chars()
                .map(|c| {
                    TRADITIONAL
                        .iter()
                        .find(|(s, _)| *s == c)
                        .map_or(c, |(_, t)| *t)
                })
                .collect();
            (out != name).then_some(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_two_to_four_chinese_characters() {
        let mut rng = Rng64::new(7);
        for i in 0..2000 {
            let g = if i % 2 == 0 {
                Gender::Male
            } else {
                Gender::Female
            };
            let name = format!("{}{}", surname(&mut rng), given_name(&mut rng, g));
            let n = name.chars().count();
            assert!((2..=4).contains(&n), "{n}");
            assert!(name.chars().all(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)));
        }
    }

    #[test]
    fn variants_change_the_spelling_but_not_the_length() {
        assert_eq!(
            variant("王伟", NameVariant::Homophone).as_deref(),
            Some("王玮")
        );
        assert_eq!(
            variant("张伟", NameVariant::Traditional).as_deref(),
            Some("張偉")
        );
        assert_eq!(variant("王", NameVariant::Homophone), None);
    }
}
